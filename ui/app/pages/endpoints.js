// Endpoints: live state, recent error rate and latency; add, edit, delete, enable, disable,
// reorder (with a preview of the file change), test connection, and the model map with a tester.
// Every write carries the config version it was made against (`If-Match`); when the file
// changed underneath, the server refuses with the diff and the page offers to reload.
import { html, useState, useEffect, useRef } from '../lib.js';
import { api, get, post } from '../api.js';
import { t, fmt } from '../i18n.js';
import { useLoad, Loaded, Failed, toast } from '../ui.js';
import { EndpointForm } from './endpoint-form.js';
import { Diff } from '../diff.js';

// A write made against the version of the file the page shows (`If-Match`); a 409 (the file
// changed underneath) comes back as {conflict} for the page to show with its diff.
export async function write(method, path, body, version) {
  try {
    return { ok: await api(method, path, { body, headers: version ? { 'if-match': `"${version}"` } : {} }) };
  } catch (e) {
    if (e.status === 409) return { conflict: e };
    throw e;
  }
}

export function Endpoints() {
  const list = useLoad(() => get('/api/admin/endpoints'), []);
  const [adding, setAdding] = useState(false);
  const [conflict, setConflict] = useState(null);
  const [order, setOrder] = useState(null); // a proposed order, not yet saved
  const [preview, setPreview] = useState(null);

  // The page follows external edits of the file: it reloads every 10 s while visible and idle.
  const idle = !adding && !order && !conflict;
  useEffect(() => {
    if (!idle) return undefined;
    const timer = setInterval(() => { if (!document.hidden) list.reload(); }, 10000);
    return () => clearInterval(timer);
  }, [idle, list.reload]);

  const endpoints = (list.data && list.data.endpoints) || [];
  const version = list.data && list.data.version;
  const names = order || endpoints.map((e) => e.name);
  const byName = new Map(endpoints.map((e) => [e.name, e]));

  const done = (r, message) => {
    if (r.conflict) { setConflict(r.conflict); return false; }
    if (message) toast(message);
    list.reload();
    return true;
  };

  async function proposeOrder(next) {
    setOrder(next);
    setPreview(null);
    try {
      const r = await write('PUT', '/api/admin/endpoints/order', { order: next, dry_run: true }, version);
      if (r.conflict) setConflict(r.conflict);
      else setPreview(r.ok);
    } catch (e) {
      setPreview({ error: e });
    }
  }
  async function saveOrder() {
    const r = await write('PUT', '/api/admin/endpoints/order', { order }, version);
    if (done(r, t('ep.order_saved'))) { setOrder(null); setPreview(null); }
  }

  return html`
    <div class="page-head">
      <h1>${t('endpoints.title')}</h1>
      <span class="spacer"></span>
      <button type="button" class="primary" id="add-endpoint" onClick=${() => setAdding(true)}>${t('ep.add')}</button>
    </div>
    ${conflict ? html`<${Conflict} e=${conflict} onReload=${() => { setConflict(null); setOrder(null); setPreview(null); list.reload(); }} />` : null}
    ${adding ? html`<div class="card" id="endpoint-form-card"><h2>${t('ep.add')}</h2>
      <${EndpointForm} onCancel=${() => setAdding(false)}
        onSave=${async (body) => { const r = await write('POST', '/api/admin/endpoints', body, version); if (done(r, t('ep.added', { name: body.name }))) setAdding(false); }} />
    </div>` : null}
    ${order ? html`<div class="order-preview" id="order-preview">
      <h2>${t('ep.order_preview')}</h2>
      <p>${order.map((n, i) => html`${i ? ' → ' : ''}<strong>${n}</strong>`)}</p>
      ${preview && preview.error ? html`<${Failed} error=${preview.error} />` : preview ? html`<${Diff} text=${preview.diff} before=${preview.before} after=${preview.after} />` : html`<p class="muted">${t('common.loading')}</p>`}
      <div class="form-actions">
        <button type="button" class="primary" id="order-save" disabled=${!preview || preview.error} onClick=${saveOrder}>${t('ep.order_save')}</button>
        <button type="button" onClick=${() => { setOrder(null); setPreview(null); }}>${t('common.cancel')}</button>
      </div>
    </div>` : null}
    <${Loaded} state=${list} empty=${(d) => !d.endpoints || d.endpoints.length === 0}>${() => html`
      <${Reorderable} names=${names} onMove=${proposeOrder}>
        ${(name, handle) => html`<${Endpoint} e=${byName.get(name)} version=${version} handle=${handle} onChanged=${done} />`}
      <//>`}<//>
    <${Resolver} />`;
}

function Conflict({ e, onReload }) {
  const body = e.body || {};
  const diff = (body.error && body.error.diff) || body.diff;
  return html`<div class="card" id="conflict" role="alert">
    <h2>${t('ep.conflict')}</h2>
    <p>${e.message}</p>
    ${diff ? html`<${Diff} text=${diff} />` : null}
    <div class="form-actions"><button type="button" class="primary" onClick=${onReload}>${t('ep.reload')}</button></div>
  </div>`;
}

// A list reordered by dragging the grip (mouse) or the ↑/↓ buttons (keyboard, touch).
function Reorderable({ names, onMove, children }) {
  const [dragging, setDragging] = useState(null);
  const [over, setOver] = useState(null);
  const move = (from, to) => {
    if (from === to || to < 0 || to >= names.length) return;
    const next = names.slice();
    const [x] = next.splice(from, 1);
    next.splice(to, 0, x);
    onMove(next);
  };
  return html`<div class="ep-list" id="endpoint-list">${names.map((name, i) => {
    const handle = {
      index: i,
      count: names.length,
      up: () => move(i, i - 1),
      down: () => move(i, i + 1),
      dragProps: {
        draggable: true,
        onDragStart: (e) => { setDragging(i); e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', name); },
        onDragEnd: () => { setDragging(null); setOver(null); },
      },
    };
    return html`<div key=${name} data-endpoint=${name}
      class=${(dragging === i ? 'dragging ' : '') + (over === i && dragging !== null && dragging !== i ? 'drop-target' : '')}
      onDragOver=${(e) => { if (dragging !== null) { e.preventDefault(); setOver(i); } }}
      onDrop=${(e) => { e.preventDefault(); if (dragging !== null) move(dragging, i); setDragging(null); setOver(null); }}>
      ${children(name, handle)}
    </div>`;
  })}</div>`;
}

// The gateway's words (healthy, degraded, cooling_down, disabled) as the page shows them.
function stateOf(e) {
  if (e.enabled === false || e.state === 'disabled') return ['disabled', ''];
  if (e.state === 'cooling_down') return ['cooling', 'warn'];
  if (e.state === 'degraded') return ['failing', 'err'];
  return ['healthy', 'ok'];
}

function Endpoint({ e, version, handle, onChanged }) {
  const [panel, setPanel] = useState(null); // 'edit' | 'models' | 'test'
  const [busy, setBusy] = useState(false);
  if (!e) return null;
  const [state, cls] = stateOf(e);
  const until = e.cooldown_until;
  const recent = e.recent || {};
  const act = async (fn) => {
    setBusy(true);
    try { await fn(); } catch (err) { toast(err.message, 'err'); } finally { setBusy(false); }
  };
  const toggle = () => act(async () => {
    const path = `/api/admin/endpoints/${encodeURIComponent(e.name)}/${e.enabled === false ? 'enable' : 'disable'}`;
    onChanged(await write('POST', path, undefined, version), t(e.enabled === false ? 'ep.enabled' : 'ep.disabled', { name: e.name }));
  });
  const remove = () => {
    if (!window.confirm(t('ep.confirm_delete', { name: e.name }))) return;
    act(async () => onChanged(await write('DELETE', `/api/admin/endpoints/${encodeURIComponent(e.name)}`, undefined, version), t('ep.deleted', { name: e.name })));
  };
  return html`<div class="ep">
    <div class="ep-head">
      <span class="grip" title=${t('ep.drag')} ...${handle.dragProps}>⋮⋮</span>
      <span class="muted num">${handle.index + 1}</span>
      <span class="name">${e.name}</span>
      <span class=${'chip ' + cls} data-state=${state}><span class=${'dot ' + cls}></span>${t('state.' + state)}${until && state === 'cooling' ? ' · ' + t('state.until', { at: fmt.time(until) }) : ''}</span>
      <span class="chip">${e.preset || e.kind || ''}</span>
      <span class="spacer"></span>
      <button type="button" class="small" aria-label=${t('ep.up')} disabled=${handle.index === 0} onClick=${handle.up}>↑</button>
      <button type="button" class="small" aria-label=${t('ep.down')} disabled=${handle.index === handle.count - 1} onClick=${handle.down}>↓</button>
    </div>
    <div class="ep-meta">
      <span class="mono break">${e.base_url}</span>
      ${e.api_key ? html`<span>${t('ep.key')}: <span class="mono">${e.api_key}</span></span>` : null}
      <span>${t('ep.error_rate')}: ${fmt.pct(recent.error_rate)}</span>
      <span>${t('ep.latency')}: ${fmt.ms(recent.latency_p50_ms)}</span>
      <span>${t('ep.recent_requests')}: ${fmt.num(recent.attempts)}</span>
      ${e.reason && state !== 'healthy' ? html`<span class="break">${e.reason}</span>` : null}
    </div>
    <div class="ep-actions">
      <button type="button" class="small" data-action="test" disabled=${busy} onClick=${() => setPanel(panel === 'test' ? null : 'test')}>${t('ep.test')}</button>
      <button type="button" class="small" data-action="edit" onClick=${() => setPanel(panel === 'edit' ? null : 'edit')}>${t('ep.edit')}</button>
      <button type="button" class="small" data-action="models" onClick=${() => setPanel(panel === 'models' ? null : 'models')}>${t('ep.models')}</button>
      <button type="button" class="small" data-action="toggle" disabled=${busy} onClick=${toggle}>${t(e.enabled === false ? 'ep.enable' : 'ep.disable')}</button>
      <button type="button" class="small danger" data-action="delete" disabled=${busy} onClick=${remove}>${t('ep.delete')}</button>
    </div>
    ${panel === 'test' ? html`<div class="ep-panel"><${TestConnection} name=${e.name} /></div>` : null}
    ${panel === 'edit' ? html`<div class="ep-panel"><${EndpointForm} initial=${e} onCancel=${() => setPanel(null)}
      onSave=${async (body) => { if (onChanged(await write('PUT', `/api/admin/endpoints/${encodeURIComponent(e.name)}`, body, version), t('ep.saved', { name: e.name }))) setPanel(null); }} /></div>` : null}
    ${panel === 'models' ? html`<div class="ep-panel"><${ModelMap} e=${e} version=${version} onChanged=${onChanged} onDone=${() => setPanel(null)} /></div>` : null}
  </div>`;
}

function TestConnection({ name }) {
  const [state, setState] = useState({ running: true });
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    post(`/api/admin/endpoints/${encodeURIComponent(name)}/test`, {})
      .then((r) => setState({ r }), (error) => setState({ error }));
  }, [name]);
  if (state.running) return html`<p class="muted">${t('ep.testing')}</p>`;
  if (state.error) return html`<div class="test-result"><${Failed} error=${state.error} /></div>`;
  const r = state.r || {};
  const ok = r.ok ?? (r.status >= 200 && r.status < 300);
  return html`<div class=${'test-result ' + (ok ? 'ok-box' : 'error-box')} data-ok=${String(ok)}>
    <strong>${ok ? t('ep.test_ok') : t('ep.test_failed')}</strong>
    ${r.status != null ? html` · ${t('col.status')} ${r.status}` : null}
    ${r.latency_ms != null ? html` · ${fmt.ms(r.latency_ms)}` : null}
    ${r.model ? html` · ${r.model}` : null}
    ${r.error ? html`<div class="break">${typeof r.error === 'string' ? r.error : JSON.stringify(r.error)}</div>` : null}
    ${r.answer || r.text ? html`<div>${t('ep.answer')}: <span class="break">${r.answer || r.text}</span></div>` : null}
  </div>`;
}

// The endpoint's model map: rules in order (`pattern` → `target`; a family name such as
// `sonnet` or an exact model id), saved as a whole.
function ModelMap({ e, version, onChanged, onDone }) {
  const [rows, setRows] = useState((e.models || []).map((r) => [r.pattern, r.target]));
  const set = (i, k, v) => setRows(rows.map((r, j) => (j === i ? (k === 0 ? [v, r[1]] : [r[0], v]) : r)));
  const save = async () => {
    const models = rows.filter(([k, v]) => k && v).map(([pattern, target]) => ({ pattern, target }));
    try {
      if (onChanged(await write('PUT', `/api/admin/endpoints/${encodeURIComponent(e.name)}`, { models }, version), t('ep.saved', { name: e.name }))) onDone();
    } catch (err) { toast(err.message, 'err'); }
  };
  return html`<div class="model-map">
    <p class="muted small">${t('ep.models_note')}</p>
    ${rows.map(([k, v], i) => html`<div class="map-row">
      <input aria-label=${t('ep.model_from')} placeholder="sonnet" value=${k} onInput=${(ev) => set(i, 0, ev.target.value)} />
      <span class="muted">→</span>
      <input aria-label=${t('ep.model_to')} placeholder="deepseek-chat" value=${v} onInput=${(ev) => set(i, 1, ev.target.value)} />
      <button type="button" class="small" aria-label=${t('common.remove')} onClick=${() => setRows(rows.filter((_, j) => j !== i))}>✕</button>
    </div>`)}
    <div class="form-actions">
      <button type="button" class="small" onClick=${() => setRows([...rows, ['', '']])}>${t('ep.add_mapping')}</button>
      <span class="grow"></span>
      <button type="button" class="primary" onClick=${save}>${t('common.save')}</button>
      <button type="button" onClick=${onDone}>${t('common.cancel')}</button>
    </div>
  </div>`;
}

// "claude-sonnet-4-5 → ?": which endpoint gets which model, in order.
function Resolver() {
  const [model, setModel] = useState('claude-sonnet-4-5');
  const [r, setR] = useState(null);
  const [error, setError] = useState(null);
  const run = async (ev) => {
    ev.preventDefault();
    setError(null);
    try { setR(await post('/api/admin/models/resolve', { model })); } catch (e) { setR(null); setError(e); }
  };
  return html`<section class="card" id="resolver">
    <h2>${t('ep.resolver')}</h2>
    <form class="toolbar" onSubmit=${run}>
      <input name="model" aria-label=${t('ep.model_from')} value=${model} onInput=${(e) => setModel(e.target.value)} />
      <span class="muted">→ ?</span>
      <button type="submit">${t('ep.resolve')}</button>
    </form>
    <${Failed} error=${error} />
    ${r ? html`<ol class="resolve-result">${(r.endpoints || []).map((x) => html`<li class=${x.enabled === false ? 'muted' : ''}>
      <strong>${x.endpoint}</strong> → <span class="mono">${x.model}</span>
      <span class="muted small"> ${x.rule ? t('ep.by_rule', { pattern: x.rule.pattern, how: t('match.' + x.rule.match) }) : t('ep.unmapped')}${x.enabled === false ? ' · ' + t('state.disabled') : ''}</span></li>`)}</ol>` : null}
  </section>`;
}
