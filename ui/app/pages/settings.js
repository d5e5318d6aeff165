// Settings: audit and retention, log file, price overrides; the config file (view, download);
// admin users and sessions; secrets; language and theme.
import { html, useState } from '../lib.js';
import { api, get, post, put, del, session } from '../api.js';
import { t, fmt, lang, setLang } from '../i18n.js';
import { theme, setTheme } from '../theme.js';
import { useLoad, Loaded, Failed, Seg, toast } from '../ui.js';

export function Settings() {
  return html`
    <div class="page-head"><h1>${t('settings.title')}</h1></div>
    <div class="grid start">
      <${Appearance} />
      <${Gateway} />
    </div>
    <${Config} />
    <div class="grid start">
      <${Users} />
      <${Sessions} />
    </div>
    <${Secrets} />
    <p class="muted small"><a href="/ui/licenses" target="_blank" rel="noopener">${t('settings.licenses')}</a></p>`;
}

function Appearance() {
  return html`<section class="card" id="appearance">
    <h2>${t('settings.appearance')}</h2>
    <div class="form-grid">
      <div class="field"><span class="muted small">${t('settings.language')}</span>
        <${Seg} value=${lang.value} options=${[['en', 'English'], ['zh', '简体中文']]} onChange=${setLang} label=${t('settings.language')} /></div>
      <div class="field"><span class="muted small">${t('settings.theme')}</span>
        <${Seg} value=${theme.value} options=${['system', 'light', 'dark'].map((v) => [v, t('theme.' + v)])} onChange=${setTheme} label=${t('settings.theme')} /></div>
    </div>
  </section>`;
}

// Audit, retention, log file and price overrides (GET|PUT /api/admin/settings).
function Gateway() {
  const state = useLoad(() => get('/api/admin/settings'), []);
  return html`<section class="card" id="gateway-settings">
    <h2>${t('settings.gateway')}</h2>
    <${Loaded} state=${state}>${(s) => html`<${GatewayForm} s=${s} onSaved=${state.reload} />`}<//>
  </section>`;
}

const PRICE_FIELDS = ['input', 'output', 'cache_write', 'cache_read'];

function GatewayForm({ s, onSaved }) {
  const audit = s.audit || {};
  const log = s.log_file || {};
  const [v, setV] = useState({
    audit: audit.enabled ?? true,
    retention: audit.retention || '',
    log: log.enabled ?? false,
    dir: log.dir || '',
    prices: (s.pricing || []).map((p) => ({ ...p })),
  });
  const [error, setError] = useState(null);
  const price = (i, k, val) => setV({ ...v, prices: v.prices.map((p, j) => (j === i ? { ...p, [k]: val } : p)) });
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    const pricing = v.prices.filter((p) => p.pattern).map((p) => {
      const out = { pattern: p.pattern };
      for (const k of [...PRICE_FIELDS, 'cache_write_1h']) {
        if (p[k] !== '' && p[k] != null) out[k] = Number(p[k]);
      }
      return out;
    });
    const body = {
      audit: { enabled: v.audit, retention: v.retention || null },
      log_file: { enabled: v.log, dir: v.dir || null },
      pricing,
    };
    try {
      await api('PUT', '/api/admin/settings', { body, headers: s.version ? { 'if-match': `"${s.version}"` } : {} });
      toast(t('common.saved'));
      onSaved();
    } catch (err) { setError(err); }
  };
  return html`<form onSubmit=${save}>
    <div class="form-grid">
      <label class="check"><input type="checkbox" name="audit" checked=${v.audit} onChange=${(e) => setV({ ...v, audit: e.target.checked })} />${t('settings.audit')}</label>
      <label class="field">${t('settings.retention')}<input name="retention" value=${v.retention} placeholder="14d" onInput=${(e) => setV({ ...v, retention: e.target.value })} /></label>
      <label class="check"><input type="checkbox" name="log_file" checked=${v.log} onChange=${(e) => setV({ ...v, log: e.target.checked })} />${t('settings.log_file')}</label>
      <label class="field">${t('settings.log_dir')}<input name="log_dir" value=${v.dir} placeholder="~/.switchboard/logs" onInput=${(e) => setV({ ...v, dir: e.target.value })} /></label>
    </div>
    <h3>${t('settings.pricing')}</h3>
    ${v.prices.length === 0 ? html`<p class="muted small">${t('settings.no_prices')}</p>` : html`<div class="table-wrap"><table class="data cards prices">
      <thead><tr><th>${t('settings.price_model')}</th>${PRICE_FIELDS.map((k) => html`<th class="num">${t('settings.price_' + k)}</th>`)}<th></th></tr></thead>
      <tbody>${v.prices.map((p, i) => html`<tr>
        <td data-label=${t('settings.price_model')}><input aria-label=${t('settings.price_model')} value=${p.pattern || ''} placeholder="claude-sonnet-4*" onInput=${(e) => price(i, 'pattern', e.target.value)} /></td>
        ${PRICE_FIELDS.map((k) => html`<td data-label=${t('settings.price_' + k)} class="num"><input aria-label=${t('settings.price_' + k)} class="price" inputmode="decimal" value=${p[k] ?? ''} onInput=${(e) => price(i, k, e.target.value)} /></td>`)}
        <td class="right"><button type="button" class="small" aria-label=${t('common.remove')} onClick=${() => setV({ ...v, prices: v.prices.filter((_, j) => j !== i) })}>✕</button></td></tr>`)}</tbody>
    </table></div>`}
    ${v.prices.length ? html`<p class="muted small">${t('settings.pricing_note')}</p>` : null}
    <${Failed} error=${error} />
    <div class="form-actions">
      <button type="button" class="small" onClick=${() => setV({ ...v, prices: [...v.prices, { pattern: '' }] })}>${t('settings.add_price')}</button>
      <span class="grow"></span>
      <button type="submit" class="primary">${t('common.save')}</button>
    </div>
  </form>`;
}

function Config() {
  const state = useLoad(() => get('/api/admin/config'), []);
  const [open, setOpen] = useState(false);
  return html`<section class="card" id="config">
    <div class="card-head"><h2>${t('settings.config')}</h2><span class="spacer"></span>
      <a class="btn small" href="/api/admin/config/download" download>${t('settings.download')}</a>
      <button type="button" class="small" onClick=${() => setOpen(!open)}>${open ? t('settings.hide') : t('settings.show')}</button></div>
    <${Loaded} state=${state}>${(c) => html`<div>
      <p class="muted small">${c.path ? html`<span class="mono break">${c.path}</span> · ` : null}${t("settings.version")}: <span class="mono break">${String(c.version ?? "—").slice(0, 12)}</span></p>
      ${open ? html`<pre class="text mono config-text">${c.text ?? ''}</pre>` : null}
    </div>`}<//>
  </section>`;
}

function Users() {
  const state = useLoad(() => get('/api/admin/users'), []);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const add = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await post('/api/admin/users', { name, password, role: 'admin' });
      setName(''); setPassword('');
      toast(t('users.added', { name }));
      state.reload();
    } catch (err) { setError(err); }
  };
  const remove = async (u) => {
    if (!window.confirm(t('users.confirm_remove', { name: u.name }))) return;
    try { await del('/api/admin/users/' + encodeURIComponent(u.name)); state.reload(); } catch (err) { toast(err.message, 'err'); }
  };
  const passwd = async (u) => {
    const p = window.prompt(t('users.new_password', { name: u.name }));
    if (!p) return;
    try { await put(`/api/admin/users/${encodeURIComponent(u.name)}/password`, { password: p }); toast(t('users.password_set')); } catch (err) { toast(err.message, 'err'); }
  };
  return html`<section class="card" id="users">
    <h2>${t('users.title')}</h2>
    <${Loaded} state=${state}>${(d) => html`<div class="table-wrap"><table class="data cards">
      <thead><tr><th>${t('users.name')}</th><th>${t('users.role')}</th><th>${t('users.password')}</th><th></th></tr></thead>
      <tbody>${(d.users || []).map((u) => html`<tr>
        <td data-label=${t('users.name')}><strong>${u.name}</strong>${session.value && session.value.user.name === u.name ? html` <span class="chip info">${t('users.you')}</span>` : null}</td>
        <td data-label=${t('users.role')}>${u.role}</td>
        <td data-label=${t('users.password')}>${u.has_password ? t('common.yes') : t('users.link_only')}</td>
        <td class="right"><button type="button" class="small" onClick=${() => passwd(u)}>${t('users.set_password')}</button>
          <button type="button" class="small danger" onClick=${() => remove(u)}>${t('common.remove')}</button></td></tr>`)}</tbody>
    </table></div>`}<//>
    <h3>${t('users.add')}</h3>
    <form class="toolbar" onSubmit=${add} autocomplete="off">
      <input name="new-user" required placeholder=${t('users.name')} value=${name} onInput=${(e) => setName(e.target.value)} />
      <input name="new-password" type="password" required minLength="8" autocomplete="new-password" placeholder=${t('users.password')} value=${password} onInput=${(e) => setPassword(e.target.value)} />
      <button type="submit">${t('users.add')}</button>
    </form>
    <${Failed} error=${error} />
  </section>`;
}

function Sessions() {
  const state = useLoad(() => get('/api/admin/sessions'), []);
  const revoke = async (s) => {
    try { await del('/api/admin/sessions/' + encodeURIComponent(s.id)); state.reload(); } catch (err) { toast(err.message, 'err'); }
  };
  const others = async () => {
    try { const r = await post('/api/admin/sessions/revoke-others'); toast(t('sessions.revoked', { n: r.revoked })); state.reload(); } catch (err) { toast(err.message, 'err'); }
  };
  return html`<section class="card" id="sessions">
    <div class="card-head"><h2>${t('sessions.title')}</h2><span class="spacer"></span>
      <button type="button" class="small" onClick=${others}>${t('sessions.revoke_others')}</button></div>
    <${Loaded} state=${state}>${(d) => html`<div class="table-wrap"><table class="data cards">
      <thead><tr><th>${t('users.name')}</th><th>${t('sessions.client')}</th><th>${t('sessions.last_seen')}</th><th></th></tr></thead>
      <tbody>${(d.sessions || []).map((s) => html`<tr>
        <td data-label=${t('users.name')}>${s.user || '—'}${s.current ? html` <span class="chip info">${t('sessions.this')}</span>` : null}</td>
        <td data-label=${t('sessions.client')}><span class="small break">${s.client_addr || ''} ${shortAgent(s.user_agent)}</span></td>
        <td data-label=${t('sessions.last_seen')}>${fmt.ago(s.last_seen_at)}</td>
        <td class="right">${s.current ? null : html`<button type="button" class="small danger" onClick=${() => revoke(s)}>${t('sessions.revoke')}</button>`}</td></tr>`)}</tbody>
    </table></div>`}<//>
  </section>`;
}

function shortAgent(ua) {
  if (!ua) return '';
  const m = ua.match(/(Chrome|Chromium|Firefox|Safari|Edg|curl)\/[\d.]+/);
  return m ? m[0] : ua.slice(0, 40);
}

function Secrets() {
  const state = useLoad(() => get('/api/admin/secrets'), []);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await put('/api/admin/secrets/' + encodeURIComponent(name), { value });
      setValue('');
      toast(t('secrets.saved', { name }));
      setName('');
      state.reload();
    } catch (err) { setError(err); }
  };
  const remove = async (s) => {
    if (!window.confirm(t('secrets.confirm_delete', { name: s.name }))) return;
    try { await del('/api/admin/secrets/' + encodeURIComponent(s.name)); state.reload(); } catch (err) { toast(err.message, 'err'); }
  };
  return html`<section class="card" id="secrets">
    <h2>${t('secrets.title')}</h2>
    <p class="muted small">${t('secrets.note')}</p>
    <${Loaded} state=${state}>${(d) => (d.secrets || []).length === 0 ? html`<div class="empty">${t('secrets.none')}</div>` : html`<div class="table-wrap"><table class="data cards">
      <thead><tr><th>${t('secrets.name')}</th><th>${t('secrets.value')}</th><th>${t('secrets.updated')}</th><th></th></tr></thead>
      <tbody>${d.secrets.map((s) => html`<tr>
        <td data-label=${t('secrets.name')} class="mono">${s.name}</td>
        <td data-label=${t('secrets.value')} class="mono">${s.masked}</td>
        <td data-label=${t('secrets.updated')}>${fmt.ago(s.updated_at)}</td>
        <td class="right"><button type="button" class="small danger" onClick=${() => remove(s)}>${t('common.remove')}</button></td></tr>`)}</tbody>
    </table></div>`}<//>
    <form class="toolbar" onSubmit=${save} autocomplete="off">
      <input name="secret-name" required pattern="[A-Za-z0-9_.\\-]+" placeholder=${t('secrets.name')} value=${name} onInput=${(e) => setName(e.target.value)} />
      <input name="secret-value" type="password" required autocomplete="new-password" placeholder=${t('secrets.value')} value=${value} onInput=${(e) => setValue(e.target.value)} />
      <button type="submit">${t('secrets.set')}</button>
    </form>
    <${Failed} error=${error} />
  </section>`;
}
