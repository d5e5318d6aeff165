// Small shared pieces: loading hooks, toasts, chips, figures.
import { html, signal, useEffect, useState, useRef, useCallback } from './lib.js';
import { t } from './i18n.js';

// Loads `fn()` when `deps` change; `{data, error, loading, reload}`. A 404 from a route the
// server does not have yet shows as "not available", never as made-up data.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const seq = useRef(0);
  const load = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    Promise.resolve()
      .then(fn)
      .then(
        (data) => { if (n === seq.current) setState({ data, error: null, loading: false }); },
        (error) => { if (n === seq.current) setState({ data: undefined, error, loading: false }); },
      );
  }, deps);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

export function Failed({ error }) {
  if (!error) return null;
  // A route the server does not have answers 404 without a JSON error.
  if (error.status === 404 && !error.body) {
    return html`<div class="notice">${t('common.unavailable')}</div>`;
  }
  return html`<div class="error-box" role="alert">${error.message || String(error)}</div>`;
}

// Renders `body(data)` once loaded, a placeholder before, the error after a failure.
export function Loaded({ state, children, empty }) {
  if (state.error) return html`<${Failed} error=${state.error} />`;
  if (state.data === undefined) return html`<div class="empty">${t('common.loading')}</div>`;
  if (empty && empty(state.data)) return html`<div class="empty">${t('common.no_data')}</div>`;
  return children(state.data);
}

export const toasts = signal([]);
let toastSeq = 0;
export function toast(text, kind = '') {
  const id = ++toastSeq;
  toasts.value = [...toasts.value, { id, text, kind }];
  setTimeout(() => { toasts.value = toasts.value.filter((x) => x.id !== id); }, kind === 'err' ? 8000 : 3500);
}
export function Toasts() {
  return html`<div class="toasts" aria-live="polite">
    ${toasts.value.map((x) => html`<div class=${'toast ' + x.kind} key=${x.id}>${x.text}</div>`)}
  </div>`;
}

export function Kpi({ label, value, sub, id }) {
  return html`<div class="kpi" data-kpi=${id}>
    <div class="label">${label}</div>
    <div class="value">${value}</div>
    ${sub ? html`<div class="sub">${sub}</div>` : null}
  </div>`;
}

export function statusClass(status) {
  if (status === null || status === undefined) return 'err';
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429 || (status >= 400 && status < 500)) return 'warn';
  return 'err';
}

export function StatusChip({ status, outcome }) {
  const cls = outcome === 'in_progress' ? 'info' : statusClass(status);
  return html`<span class=${'chip ' + cls}>${status || '—'}${outcome && outcome !== 'ok' ? ' · ' + t('outcome.' + outcome) : ''}</span>`;
}

// The failover chain of one request at a glance: each endpoint tried, with its status.
export function Chain({ attempts }) {
  if (!attempts || attempts.length === 0) return null;
  // Consecutive retries of one endpoint fold into one hop with a count.
  const hops = [];
  for (const a of attempts) {
    const last = hops[hops.length - 1];
    const ok = a.disposition === 'ok';
    if (last && last.endpoint === a.endpoint && !last.ok) {
      last.n += 1; last.status = a.status; last.ok = ok; last.error = a.error;
    } else {
      hops.push({ endpoint: a.endpoint, status: a.status, ok, n: 1, error: a.error });
    }
  }
  const title = attempts.map((a) => `${a.endpoint}: ${a.status ?? a.error ?? '—'} (${a.disposition})`).join('\n');
  return html`<span class="chain" title=${title} data-chain=${hops.length}>
    ${hops.map((hop, i) => html`
      ${i > 0 ? html`<span class="arrow">→</span>` : null}
      <span class=${'hop ' + (hop.ok ? 'ok' : 'err')}>${hop.endpoint}${hop.ok ? '' : ' ' + (hop.status ?? '✕')}${hop.n > 1 ? ' ×' + hop.n : ''}</span>`)}
  </span>`;
}

export function Seg({ value, options, onChange, label }) {
  return html`<div class="seg" role="group" aria-label=${label}>
    ${options.map(([v, text]) => html`<button type="button" class=${v === value ? 'on' : ''} aria-pressed=${v === value}
      onClick=${() => onChange(v)}>${text}</button>`)}
  </div>`;
}

// Copies text (used for ids and config); no clipboard access needed to show it.
export async function copy(text) {
  try { await navigator.clipboard.writeText(text); toast(t('common.copied')); } catch { /* not allowed */ }
}
