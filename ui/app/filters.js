// The filters every view shares, kept in the URL (`?range=7d&model=…`) so a view can be shared.
// They map one to one onto the query API's filters (docs/api.md): from, to, status, outcome,
// model, endpoint, client_key, session, stream, q.
import { html, useMemo, useState, useEffect } from './lib.js';
import { route, setParams } from './router.js';
import { get } from './api.js';
import { t, fmt } from './i18n.js';
import { Seg } from './ui.js';

export const PRESETS = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3, '90d': 90 * 86400e3 };
const KEYS = ['status', 'outcome', 'model', 'endpoint', 'client_key', 'session', 'stream', 'q'];
export const OUTCOMES = ['ok', 'estimated', 'partial', 'client_closed', 'client_error', 'upstream_error', 'exhausted', 'rejected'];

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

// The filters of the current URL: `{range, from, to, api}` where `api` is what to send.
// `now` is taken when the URL changes (and on `refresh`), so a preset range is stable while
// the view is shown.
export function useFilters(defaultRange) {
  const search = route.value.params.toString();
  const [tick, setTick] = useState(0);
  const f = useMemo(() => {
    const p = new URLSearchParams(search);
    const range = p.get('range') || (p.get('from') ? 'custom' : defaultRange);
    const api = {};
    let from = null;
    let to = null;
    if (range === 'custom') {
      from = p.get('from');
      to = p.get('to');
    } else {
      const now = Date.now();
      from = new Date(now - (PRESETS[range] || PRESETS[defaultRange])).toISOString();
    }
    if (from) api.from = from;
    if (to) api.to = to;
    for (const k of KEYS) if (p.get(k)) api[k] = p.get(k);
    return { range, from, to, api, params: p };
  }, [search, tick]);
  f.refresh = () => setTick((x) => x + 1);
  f.set = (changes) => {
    const next = Object.fromEntries(f.params.entries());
    Object.assign(next, changes);
    for (const [k, v] of Object.entries(changes)) if (v === '' || v === null || v === undefined) delete next[k];
    setParams(next);
  };
  // Milliseconds covered (for choosing a bucket width).
  f.span = () => (f.to ? Date.parse(f.to) : Date.now()) - (f.from ? Date.parse(f.from) : Date.now() - PRESETS['7d']);
  return f;
}

// Datetime-local inputs speak local time without a zone; the API speaks RFC 3339.
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(v) {
  return v ? new Date(v).toISOString() : '';
}

export function RangePicker({ f }) {
  const options = ['24h', '7d', '30d', '90d', 'custom'].map((r) => [r, t('range.' + r)]);
  const pick = (r) => {
    if (r === 'custom') {
      const now = Date.now();
      f.set({ range: 'custom', from: new Date(now - PRESETS['7d']).toISOString(), to: new Date(now).toISOString() });
    } else {
      f.set({ range: r, from: '', to: '' });
    }
  };
  return html`<div class="toolbar range-picker">
    <${Seg} value=${f.range} options=${options} onChange=${pick} label=${t('range.label')} />
    ${f.range === 'custom' ? html`
      <label class="check small">${t('range.from')}
        <input type="datetime-local" value=${toLocalInput(f.from)} onChange=${(e) => f.set({ from: fromLocalInput(e.target.value) })} /></label>
      <label class="check small">${t('range.to')}
        <input type="datetime-local" value=${toLocalInput(f.to)} onChange=${(e) => f.set({ to: fromLocalInput(e.target.value) })} /></label>` : null}
    <span class="muted small">${t('range.zone', { tz: timeZone })}</span>
  </div>`;
}

// Facet values come from the breakdown (rollups), never from the log itself.
function useFacet(by, f) {
  const [rows, setRows] = useState([]);
  const key = JSON.stringify({ from: f.api.from, to: f.api.to });
  useEffect(() => {
    let live = true;
    get('/api/stats/breakdown', { by, from: f.api.from, to: f.api.to })
      .then((d) => { if (live) setRows((d.rows || []).filter((r) => r.key)); })
      .catch(() => { if (live) setRows([]); });
    return () => { live = false; };
  }, [by, key]);
  return rows;
}

export function FilterBar({ f, search = false, children }) {
  const models = useFacet('model', f);
  const endpoints = useFacet('endpoint', f);
  const a = f.api;
  const [q, setQ] = useState(a.q || '');
  useEffect(() => setQ(a.q || ''), [a.q]);
  const select = (name, values, label) => html`
    <select name=${name} aria-label=${label} value=${a[name] || ''} onChange=${(e) => f.set({ [name]: e.target.value, cursor: '' })}>
      <option value="">${label}: ${t('filter.all')}</option>
      ${values.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
      ${a[name] && !values.some(([v]) => v === a[name]) ? html`<option value=${a[name]}>${a[name]}</option>` : null}
    </select>`;
  const facet = (rows) => rows.map((r) => [r.key, `${r.key} (${fmt.num(r.requests)})`]);
  const active = ['status', 'outcome', 'model', 'endpoint', 'client_key', 'session', 'stream', 'q'].some((k) => a[k]);
  return html`<div class="toolbar filters">
    ${search ? html`<form class="grow toolbar" role="search" onSubmit=${(e) => { e.preventDefault(); f.set({ q, cursor: '' }); }}>
      <input type="search" name="q" placeholder=${t('filter.search')} value=${q} onInput=${(e) => setQ(e.target.value)} />
      <button type="submit">${t('filter.search_button')}</button>
    </form>` : null}
    ${select('model', facet(models), t('filter.model'))}
    ${select('endpoint', facet(endpoints), t('filter.endpoint'))}
    ${select('status', [['2xx', '2xx'], ['4xx', '4xx'], ['5xx', '5xx']], t('filter.status'))}
    ${select('outcome', OUTCOMES.map((o) => [o, t('outcome.' + o)]), t('filter.outcome'))}
    ${select('stream', [['true', t('filter.streamed')], ['false', t('filter.not_streamed')]], t('filter.stream'))}
    ${a.session ? html`<span class="chip info session-chip" id="session-filter" title=${a.session}>${t('filter.session')}: <span class="mono ellipsis">${a.session}</span>
      <button type="button" class="link" aria-label=${t('filter.clear')} onClick=${() => f.set({ session: '', cursor: '' })}>×</button></span>` : null}
    ${active ? html`<button type="button" class="link" onClick=${() => f.set({ status: '', outcome: '', model: '', endpoint: '', client_key: '', session: '', stream: '', q: '', cursor: '' })}>${t('filter.clear')}</button>` : null}
    ${children}
  </div>`;
}
