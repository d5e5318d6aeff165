// Keys & users: client keys (made and shown once with a copy button, revoked, their limits
// edited), and usage with what is left of each budget per key, user and team over time. An
// admin sees and changes everything; a member sees their own keys and usage, and changes nothing.
import { html, useState, useMemo } from '../lib.js';
import { get, post, put, session } from '../api.js';
import { t, fmt } from '../i18n.js';
import { useLoad, Loaded, Failed, Seg, toast, copy } from '../ui.js';
import { TimeChart, PALETTE } from '../charts.js';

const isAdmin = () => session.value && session.value.user && session.value.user.role === 'admin';
const list = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
const num = (s) => (s === '' || s == null ? undefined : Number(s));

export function Keys() {
  const keys = useLoad(() => get('/api/admin/keys'), []);
  const [made, setMade] = useState(null);
  return html`
    <div class="page-head"><h1>${t('keys.title')}</h1></div>
    ${made ? html`<${ShownOnce} made=${made} onClose=${() => setMade(null)} />` : null}
    ${isAdmin() ? html`<${Create} onMade=${(k) => { setMade(k); keys.reload(); }} />` : null}
    <section class="card" id="keys">
      <div class="card-head"><h2>${t('keys.list')}</h2><span class="spacer"></span>
        <button type="button" class="small" onClick=${keys.reload}>${t('common.refresh')}</button></div>
      <${Loaded} state=${keys} empty=${(d) => d.keys.length === 0}>${(d) => html`<${KeyTable} keys=${d.keys} onChanged=${keys.reload} />`}<//>
    </section>
    <${Usage} />`;
}

// The key itself, once: whoever closes this box will not see it again.
function ShownOnce({ made, onClose }) {
  return html`<section class="card shown-once" id="new-key" role="status">
    <h2>${t('keys.made', { name: made.name })}</h2>
    <p>${t('keys.once')}</p>
    <div class="key-row"><code class="mono break" id="new-key-value">${made.key}</code>
      <button type="button" class="small primary" id="copy-key" onClick=${() => copy(made.key)}>${t('keys.copy')}</button></div>
    <p class="muted small">${t('keys.use')}</p>
    <div class="form-actions"><span class="grow"></span><button type="button" id="close-new-key" onClick=${onClose}>${t('keys.done')}</button></div>
  </section>`;
}

const EMPTY = { name: '', user: '', team: '', models: '', clients: '', endpoints: '', rpm: '', tpm: '', concurrency: '', budgets: '', expires_in: '' };

function limitsOf(v) {
  const l = {
    models: list(v.models), clients: list(v.clients), endpoints: list(v.endpoints),
    rpm: num(v.rpm), tpm: num(v.tpm), concurrency: num(v.concurrency), budgets: list(v.budgets),
  };
  for (const k of Object.keys(l)) {
    if (l[k] === undefined || (Array.isArray(l[k]) && l[k].length === 0)) delete l[k];
  }
  return l;
}

function LimitFields({ v, set }) {
  const f = (k, label, ph, mode) => html`<label class="field">${label}<input name=${k} value=${v[k]} placeholder=${ph} inputmode=${mode || 'text'} onInput=${(e) => set({ ...v, [k]: e.target.value })} /></label>`;
  return html`
    ${f('models', t('keys.models'), 'claude-sonnet-*, claude-haiku-*')}
    ${f('clients', t('keys.clients'), 'claude-cli/*')}
    ${f('endpoints', t('keys.endpoints'), 'anthropic')}
    ${f('rpm', t('keys.rpm'), '60', 'numeric')}
    ${f('tpm', t('keys.tpm'), '200000', 'numeric')}
    ${f('concurrency', t('keys.concurrency'), '4', 'numeric')}
    ${f('budgets', t('keys.budgets'), '5usd/day, opus:10usd/week')}`;
}

function Create({ onMade }) {
  const [v, setV] = useState(EMPTY);
  const [error, setError] = useState(null);
  const users = useLoad(() => get('/api/admin/users'), []);
  const teams = useLoad(() => get('/api/admin/teams'), []);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const body = { name: v.name.trim(), limits: limitsOf(v) };
    if (v.user) body.user = v.user;
    if (v.team) body.team = v.team;
    if (v.expires_in.trim()) body.expires_in = v.expires_in.trim();
    try {
      const made = await post('/api/admin/keys', body);
      setV(EMPTY);
      onMade(made);
    } catch (err) { setError(err); }
  };
  const names = (s, k) => (s.data && s.data[k] ? s.data[k].map((x) => x.name) : []);
  return html`<section class="card" id="create-key">
    <h2>${t('keys.create')}</h2>
    <form onSubmit=${submit}>
      <div class="form-grid">
        <label class="field">${t('keys.name')}<input name="name" required value=${v.name} placeholder="alice-laptop" onInput=${(e) => setV({ ...v, name: e.target.value })} /></label>
        <label class="field">${t('keys.user')}<select name="user" value=${v.user} onChange=${(e) => setV({ ...v, user: e.target.value })}>
          <option value="">${t('keys.me')}</option>
          ${names(users, 'users').map((n) => html`<option value=${n}>${n}</option>`)}
        </select></label>
        <label class="field">${t('keys.team')}<select name="team" value=${v.team} onChange=${(e) => setV({ ...v, team: e.target.value })}>
          <option value="">${t('common.none')}</option>
          ${names(teams, 'teams').map((n) => html`<option value=${n}>${n}</option>`)}
        </select></label>
        <label class="field">${t('keys.expires')}<input name="expires_in" value=${v.expires_in} placeholder="90d" onInput=${(e) => setV({ ...v, expires_in: e.target.value })} /></label>
        <${LimitFields} v=${v} set=${setV} />
      </div>
      <p class="muted small">${t('keys.budget_help')}</p>
      <${Failed} error=${error} />
      <div class="form-actions"><span class="grow"></span><button type="submit" class="primary" id="make-key">${t('keys.make')}</button></div>
    </form>
  </section>`;
}

function limitsText(l) {
  const parts = [];
  if (l.rpm) parts.push(t('keys.rpm_short', { n: fmt.num(l.rpm) }));
  if (l.tpm) parts.push(t('keys.tpm_short', { n: fmt.num(l.tpm) }));
  if (l.concurrency) parts.push(t('keys.at_once', { n: l.concurrency }));
  for (const k of ['models', 'clients', 'endpoints']) if (l[k] && l[k].length) parts.push(t('keys.limit_list', { what: t('keys.' + k), list: l[k].join(', ') }));
  return parts.join(' · ');
}

function amount(unit, x) {
  return unit === 'usd' ? fmt.usd(x) : `${fmt.compact(x)} ${t('keys.tokens')}`;
}

// One budget: what is spent of it, as a bar, and when a used-up one frees up.
function BudgetBar({ b }) {
  const share = b.limit > 0 ? Math.min(1, b.spent / b.limit) : 0;
  const cls = b.exhausted ? 'err' : share > 0.8 ? 'warn' : 'ok';
  return html`<div class="budget" data-budget=${b.budget} data-scope=${b.scope}>
    <div class="budget-head"><span class="mono small">${b.scope === 'key' ? '' : b.scope + ' ' + b.name + ' · '}${b.budget}</span>
      <span class="small">${amount(b.unit, b.spent)} / ${amount(b.unit, b.limit)}</span></div>
    <div class=${'meter ' + cls}><span ref=${(el) => { if (el) el.style.width = (share * 100).toFixed(1) + '%'; }}></span></div>
    ${b.exhausted ? html`<div class="small err-text">${t('keys.frees_at', { at: fmt.when(b.frees_at) })}</div>`
      : html`<div class="small muted">${t('keys.left', { n: amount(b.unit, b.remaining) })}</div>`}
  </div>`;
}

function KeyTable({ keys, onChanged }) {
  const [editing, setEditing] = useState(null);
  const revoke = async (k) => {
    if (!window.confirm(t('keys.confirm_revoke', { name: k.name }))) return;
    try {
      await post(`/api/admin/keys/${encodeURIComponent(k.name)}/revoke`);
      toast(t('keys.revoked', { name: k.name }));
      onChanged();
    } catch (e) { toast(e.message, 'err'); }
  };
  return html`<div class="table-wrap"><table class="data cards keys">
    <thead><tr><th>${t('keys.name')}</th><th>${t('keys.user')}</th><th>${t('keys.state')}</th><th>${t('keys.last_used')}</th><th>${t('keys.limits')}</th><th>${t('keys.budgets')}</th><th></th></tr></thead>
    <tbody>${keys.map((k) => html`<tr data-key=${k.name} class=${k.state}>
      <td data-label=${t('keys.name')}><div><strong>${k.name}</strong><div class="mono small muted">${k.hint}</div></div></td>
      <td data-label=${t('keys.user')}><div>${k.user || '—'}${k.team ? html`<div class="small muted">${t('keys.team')}: ${k.team}</div>` : null}</div></td>
      <td data-label=${t('keys.state')}><div><span class=${'chip ' + (k.state === 'active' ? 'ok' : 'err')} data-state=${k.state}>${t('keys.state_' + k.state)}</span>
        ${k.expires_at ? html`<div class="small muted">${t('keys.expires_on', { at: fmt.when(k.expires_at) })}</div>` : null}</div></td>
      <td data-label=${t('keys.last_used')}><div>${k.last_used_at ? fmt.ago(k.last_used_at) : t('keys.never')}
        ${k.since_start ? html`<div class="small muted">${fmt.num(k.since_start.requests)} · ${fmt.usd(k.since_start.cost_usd)}</div>` : null}</div></td>
      <td data-label=${t('keys.limits')} class="small">${limitsText(k.limits || {}) || '—'}</td>
      <td data-label=${t('keys.budgets')}><div class="budgets">${(k.budgets || []).map((b) => html`<${BudgetBar} b=${b} />`)}</div></td>
      <td class="right">${isAdmin() && k.state === 'active' ? html`
        <button type="button" class="small" data-edit=${k.name} onClick=${() => setEditing(editing === k.name ? null : k.name)}>${t('keys.edit')}</button>
        <button type="button" class="small danger" data-revoke=${k.name} onClick=${() => revoke(k)}>${t('keys.revoke')}</button>` : null}</td>
    </tr>
    ${editing === k.name ? html`<tr class="edit-row"><td colspan="7"><${EditLimits} k=${k} onDone=${() => { setEditing(null); onChanged(); }} /></td></tr>` : null}`)}</tbody>
  </table></div>`;
}

function EditLimits({ k, onDone }) {
  const l = k.limits || {};
  const join = (x) => (x || []).join(', ');
  const [v, setV] = useState({ models: join(l.models), clients: join(l.clients), endpoints: join(l.endpoints), rpm: l.rpm ?? '', tpm: l.tpm ?? '', concurrency: l.concurrency ?? '', budgets: join(l.budgets) });
  const [error, setError] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await put(`/api/admin/keys/${encodeURIComponent(k.name)}`, { limits: limitsOf(v) });
      toast(t('common.saved'));
      onDone();
    } catch (err) { setError(err); }
  };
  return html`<form class="edit-limits" onSubmit=${save}>
    <div class="form-grid"><${LimitFields} v=${v} set=${setV} /></div>
    <${Failed} error=${error} />
    <div class="form-actions"><span class="grow"></span><button type="button" onClick=${onDone}>${t('common.cancel')}</button>
      <button type="submit" class="primary">${t('common.save')}</button></div>
  </form>`;
}

// Usage per key, user or team over the last week, with what is left of each budget now.
function Usage() {
  const [by, setBy] = useState('key');
  const options = (isAdmin() ? ['key', 'user', 'team'] : ['key', 'user']).map((v) => [v, t('keys.by_' + v)]);
  const days = useMemo(lastWeek, [by]);
  const from = new Date(days[0] * 1000).toISOString();
  const state = useLoad(() => get('/api/admin/usage', { by, from, bucket: 'day' }), [by]);
  return html`<section class="card" id="usage">
    <div class="card-head"><h2>${t('keys.usage')}</h2><span class="spacer"></span>
      <${Seg} value=${by} options=${options} onChange=${setBy} label=${t('keys.usage')} /></div>
    <${Loaded} state=${state} empty=${(d) => d.rows.length === 0}>${(d) => html`<div>
      <${UsageChart} d=${d} days=${days} />
      <div class="table-wrap"><table class="data cards usage">
        <thead><tr><th>${t('keys.by_' + by)}</th><th class="num">${t('keys.requests')}</th><th class="num">${t('keys.tokens')}</th><th class="num">${t('keys.cost')}</th><th>${t('keys.budgets')}</th></tr></thead>
        <tbody>${d.rows.map((r) => html`<tr data-usage=${r.name}>
          <td data-label=${t('keys.by_' + by)}>${r.name}</td>
          <td data-label=${t('keys.requests')} class="num">${fmt.num(r.totals.requests)}</td>
          <td data-label=${t('keys.tokens')} class="num">${fmt.compact(r.totals.input_tokens + r.totals.output_tokens + r.totals.cache_creation_input_tokens)}</td>
          <td data-label=${t('keys.cost')} class="num">${fmt.usd(r.totals.cost_usd)}</td>
          <td data-label=${t('keys.budgets')}><div class="budgets">${r.budgets.map((b) => html`<${BudgetBar} b=${b} />`)}</div></td>
        </tr>`)}</tbody>
      </table></div></div>`}<//>
  </section>`;
}

// The API buckets by UTC day: the last seven of them, today's included, in seconds (uPlot's unit).
const DAY = 86400;
function lastWeek() {
  const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
  return Array.from({ length: 7 }, (_, i) => today - (6 - i) * DAY);
}

// Cost per day of each key, user or team (the first few), every day of the week on the axis,
// a day without requests at zero.
function UsageChart({ d, days }) {
  const data = useMemo(() => {
    const series = (d.series || []).filter((s) => s.totals);
    const names = [...new Set(series.map((s) => s.name))].slice(0, PALETTE.length);
    return {
      x: days,
      series: names.map((n, i) => ({
        label: n,
        color: PALETTE[i],
        fmt: fmt.usd,
        values: days.map((x) => series
          .filter((s) => s.name === n && Date.parse(s.start) / 1000 === x)
          .reduce((sum, s) => sum + (s.totals.cost_usd || 0), 0)),
      })),
    };
  }, [d, days]);
  if (data.series.length === 0) return null;
  return html`<${TimeChart} id="usage-cost" x=${data.x} series=${data.series} yFmt=${[fmt.usd, fmt.usd]} height=${200} step=${DAY} />`;
}
