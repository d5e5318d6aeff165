// The dashboard is a client of the documented admin and query APIs, and of nothing else.
// - The session cookie (HttpOnly, SameSite=Strict) rides every request on its own.
// - Every state-changing call carries the session's CSRF token in `x-csrf-token`.
// - A 401 after sign-in means the session ended: the app goes back to the sign-in page.
import { signal } from './lib.js';

// undefined: not asked yet; null: signed out; else {user: {name, role}, via, csrf_token}.
export const session = signal(undefined);

export class ApiError extends Error {
  constructor(status, type, message, body, headers) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.type = type;
    this.body = body;
    this.headers = headers;
  }
}

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

const SIGN_IN_ROUTES = new Set(['/api/admin/session', '/api/admin/login']);

export async function api(method, path, { body, headers = {}, raw = false } = {}) {
  const h = { accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = session.value && session.value.csrf_token;
    if (token) h['x-csrf-token'] = token;
  }
  let payload;
  if (body !== undefined) {
    h['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin' });
  if (res.status === 401 && !SIGN_IN_ROUTES.has(path.split('?')[0]) && session.value) {
    session.value = null;
  }
  if (!res.ok) {
    let doc = null;
    try { doc = await res.json(); } catch { /* not JSON */ }
    const err = doc && doc.error;
    throw new ApiError(res.status, err && err.type, err && err.message, doc, res.headers);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const ct = res.headers.get('content-type') || '';
  return ct.includes('json') ? res.json() : res.text();
}

export const get = (path, params) => api('GET', path + qs(params));
export const post = (path, body, opts) => api('POST', path, { body, ...opts });
export const put = (path, body, opts) => api('PUT', path, { body, ...opts });
export const del = (path, opts) => api('DELETE', path, opts);

export async function refreshSession() {
  try {
    session.value = await api('GET', '/api/admin/session');
  } catch (e) {
    if (e.status === 401) session.value = null;
    else throw e;
  }
}

// Server-Sent Events over fetch, so that a resumed feed can send `Last-Event-ID` (EventSource
// cannot set headers). `onEvent(name, data, id)`; returns `{close()}`. Reconnects after a
// dropped connection with a growing delay, from the last id seen.
export function follow(path, { onEvent, onState, lastEventId } = {}) {
  let ctl = null;
  let closed = false;
  let lastId = lastEventId || null;
  let delay = 1000;
  let timer = 0;

  async function run() {
    ctl = new AbortController();
    const headers = { accept: 'text/event-stream' };
    if (lastId) headers['last-event-id'] = lastId;
    try {
      const res = await fetch(path, { headers, signal: ctl.signal, credentials: 'same-origin' });
      if (res.status === 401) { session.value = null; return; }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState && onState('open');
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, '\n');
        let at;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          let name = 'message';
          const data = [];
          let id = null;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let v = colon < 0 ? '' : line.slice(colon + 1);
            if (v.startsWith(' ')) v = v.slice(1);
            if (field === 'event') name = v;
            else if (field === 'data') data.push(v);
            else if (field === 'id') id = v;
          }
          if (id !== null) lastId = id;
          if (data.length) {
            let parsed;
            try { parsed = JSON.parse(data.join('\n')); } catch { parsed = data.join('\n'); }
            onEvent && onEvent(name, parsed, id);
          }
        }
      }
    } catch (e) {
      if (closed || (e && e.name === 'AbortError')) return;
    }
    if (closed) return;
    onState && onState('retrying');
    timer = setTimeout(run, delay);
    delay = Math.min(delay * 2, 30000);
  }

  run();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (ctl) ctl.abort();
      onState && onState('closed');
    },
    get lastId() { return lastId; },
  };
}
