// Claude Code: how Claude Code on this machine reaches the gateway (the settings `switchboard
// setup claude` wrote), the profile in force (switched in one click: the next request follows
// it), MCP servers in their three scopes, skills, and Claude Code sessions with their cost.
// Everything goes through the documented admin and query APIs; secrets arrive masked and a
// masked value sent back means "unchanged".
import { html, useState } from '../lib.js';
import { get, post, put, del } from '../api.js';
import { t, fmt } from '../i18n.js';
import { route, setParams, Link } from '../router.js';
import { useLoad, Loaded, Failed, toast } from '../ui.js';

const enc = encodeURIComponent;

export function Claude() {
  const project = route.value.params.get('project') || '';
  return html`
    <div class="page-head"><h1>${t('claude.title')}</h1></div>
    <${SettingsStatus} />
    <${Profiles} />
    <${ProjectPicker} project=${project} />
    <${Mcp} project=${project} />
    <${Skills} project=${project} />
    <${Sessions} />`;
}

// ---- settings ---------------------------------------------------------------------------

function SettingsStatus() {
  const state = useLoad(() => get('/api/admin/claude/settings'), []);
  return html`<section class="card" id="claude-settings">
    <div class="card-head"><h2>${t('claude.settings')}</h2><span class="spacer"></span>
      <button type="button" class="small" onClick=${state.reload}>${t('common.refresh')}</button></div>
    <${Loaded} state=${state}>${(s) => html`<div>
      <p class="small"><code class="mono break">${s.path}</code>${' '}
        ${!s.exists ? html`<span class="chip" data-setup="missing">${t('claude.no_file')}</span>`
          : s.set_up ? html`<span class="chip ok" data-setup="yes">${t('claude.set_up')}</span>`
          : html`<span class="chip warn" data-setup="no">${t('claude.not_set_up')}</span>`}</p>
      ${s.problem ? html`<div class="error-box" role="alert">${s.problem}</div>` : null}
      ${s.keys.length ? html`<div class="table-wrap"><table class="data cards claude-keys">
        <thead><tr><th>${t('claude.key')}</th><th>${t('claude.value')}</th><th>${t('claude.state')}</th></tr></thead>
        <tbody>${s.keys.map((k) => html`<tr data-setting=${k.key}>
          <td data-label=${t('claude.key')}><code class="mono">${k.key}</code></td>
          <td data-label=${t('claude.value')} class="mono break">${k.value === null ? html`<span class="muted">${t('claude.absent')}</span>` : k.value}</td>
          <td data-label=${t('claude.state')}>${!k.managed ? html`<span class="chip">${t('claude.not_managed')}</span>`
            : k.ours ? html`<span class="chip ok">${t('claude.ours')}</span>` : html`<span class="chip warn">${t('claude.changed')}</span>`}</td>
        </tr>`)}</tbody></table></div>` : null}
      ${s.warnings.map((w) => html`<div class="notice small">${w}</div>`)}
      <p class="muted small">${t('claude.settings_help')}</p>
    </div>`}<//>
  </section>`;
}

// ---- profiles ---------------------------------------------------------------------------

function Profiles() {
  const state = useLoad(() => get('/api/admin/profiles'), []);
  const [busy, setBusy] = useState(false);
  const use = async (name, version) => {
    setBusy(true);
    try {
      await put('/api/admin/profiles/active', { profile: name, version });
      toast(name ? t('claude.profile_used', { name }) : t('claude.profile_none_used'));
      state.reload();
    } catch (e) {
      toast(e.message, 'err');
      state.reload();
    } finally { setBusy(false); }
  };
  return html`<section class="card" id="profiles">
    <div class="card-head"><h2>${t('claude.profiles')}</h2><span class="spacer"></span>
      <button type="button" class="small" onClick=${state.reload}>${t('common.refresh')}</button></div>
    <${Loaded} state=${state}>${(d) => d.profiles.length === 0
      ? html`<div class="notice">${t('claude.no_profiles')}</div>`
      : html`<div>
      <div class="profiles">${d.profiles.map((p) => html`<div class=${'profile' + (p.active ? ' active' : '')} data-profile=${p.name}>
        <div class="profile-head"><strong>${p.name}</strong>
          ${p.active ? html`<span class="chip ok" data-in-force=${p.name}>${t('claude.in_force')}</span>` : null}
          <span class="spacer"></span>
          ${p.active ? null : html`<button type="button" class="small primary" data-use=${p.name} disabled=${busy}
            onClick=${() => use(p.name, d.version)}>${t('claude.use')}</button>`}</div>
        <div class="small"><span class="muted">${t('claude.endpoints')}: </span>
          <span class="chain">${p.endpoints.map((e, i) => html`${i > 0 ? html`<span class="arrow">→</span>` : null}<span class=${'hop' + (p.disabled_endpoints.includes(e) ? ' err' : '')}>${e}</span>`)}</span></div>
        ${p.models.length ? html`<div class="small"><span class="muted">${t('claude.models')}: </span>
          ${p.models.map((m) => html`<span class="mono small map">${m.pattern} → ${m.target}</span>`)}</div>` : null}
      </div>`)}</div>
      ${d.active ? html`<div class="form-actions"><button type="button" class="small" id="no-profile" disabled=${busy}
        onClick=${() => use(null, d.version)}>${t('claude.use_none')}</button></div>` : null}
      <p class="muted small">${t('claude.profiles_help')}</p></div>`}<//>
  </section>`;
}

// ---- the project ------------------------------------------------------------------------

function ProjectPicker({ project }) {
  const [v, setV] = useState(project);
  const apply = (e) => {
    e.preventDefault();
    const next = Object.fromEntries(route.value.params.entries());
    next.project = v.trim();
    setParams(next);
  };
  return html`<section class="card" id="claude-project">
    <form class="toolbar" onSubmit=${apply}>
      <label class="field grow">${t('claude.project')}
        <input name="project" value=${v} placeholder="/home/me/src/app" onInput=${(e) => setV(e.target.value)} /></label>
      <button type="submit">${t('claude.project_apply')}</button>
    </form>
    <p class="muted small">${t('claude.project_help')}</p>
  </section>`;
}

// ---- MCP servers ------------------------------------------------------------------------

const SCOPES = ['user', 'local', 'project'];

// Lines `K=V` (env) or `Name: value` (headers) ⇄ an object.
function pairsText(obj, sep) {
  return Object.entries(obj || {}).map(([k, v]) => `${k}${sep}${v}`).join('\n');
}
function pairsObject(text, sep) {
  const out = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(sep.trim());
    if (!line.trim() || at < 0) continue;
    out[line.slice(0, at).trim()] = line.slice(at + sep.trim().length).trim();
  }
  return out;
}

function formOf(s) {
  const e = (s && s.entry) || {};
  return {
    scope: s ? s.scope : 'user',
    name: s ? s.name : '',
    type: e.url ? (e.type || 'http') : 'stdio',
    command: e.command || '',
    args: (e.args || []).join('\n'),
    env: pairsText(e.env, '='),
    url: e.url || '',
    headers: pairsText(e.headers, ': '),
  };
}

// The entry's fields as the form holds them. Editing (`was`: the entry as shown), fields of the
// other transport are removed (null), so switching from stdio to http leaves no stale
// `command`; an explicit `"type": "stdio"` stays.
function entryOf(v, was) {
  // An empty list or map is written only where the entry already had the field.
  const field = (entry, key, value, empty) => {
    if (!empty || (was && was[key] !== undefined)) entry[key] = value;
    else if (was) entry[key] = null;
  };
  if (v.type === 'stdio') {
    const entry = { command: v.command.trim() };
    const args = v.args.split('\n').map((a) => a.trim()).filter(Boolean);
    const env = pairsObject(v.env, '=');
    field(entry, 'args', args, args.length === 0);
    field(entry, 'env', env, Object.keys(env).length === 0);
    if (was) {
      Object.assign(entry, { url: null, headers: null });
      if (was.type && was.type !== 'stdio') entry.type = null;
    }
    return entry;
  }
  const entry = { type: v.type, url: v.url.trim() };
  const headers = pairsObject(v.headers, ': ');
  field(entry, 'headers', headers, Object.keys(headers).length === 0);
  if (was) Object.assign(entry, { command: null, args: null, env: null });
  return entry;
}

function Mcp({ project }) {
  const state = useLoad(() => get('/api/admin/claude/mcp', { project }), [project]);
  const [editing, setEditing] = useState(null);
  const path = (s, tail = '') => `/api/admin/claude/mcp/${s.scope}/${enc(s.name)}${tail}` + (project ? `?project=${enc(project)}` : '');
  const act = async (what, s) => {
    try {
      if (what === 'remove') {
        if (!window.confirm(t('claude.confirm_remove', { name: s.name }))) return;
        await del(path(s));
      } else {
        await post(path(s, '/' + what));
      }
      toast(t('claude.mcp_' + what + 'd', { name: s.name }));
      state.reload();
    } catch (e) { toast(e.message, 'err'); }
  };
  return html`<section class="card" id="mcp">
    <div class="card-head"><h2>${t('claude.mcp')}</h2><span class="spacer"></span>
      <button type="button" class="small" onClick=${state.reload}>${t('common.refresh')}</button></div>
    <${Loaded} state=${state}>${(d) => d.servers.length === 0 ? html`<div class="empty">${t('claude.no_mcp')}</div>` : html`<div class="table-wrap"><table class="data cards mcp">
      <thead><tr><th>${t('claude.name')}</th><th>${t('claude.scope')}</th><th>${t('claude.target')}</th><th>${t('claude.state')}</th><th></th></tr></thead>
      <tbody>${d.servers.map((s) => {
        const on = s.status === 'enabled';
        const id = s.scope + '/' + s.name;
        return html`<tr data-mcp=${id} data-status=${s.status}>
          <td data-label=${t('claude.name')}><strong>${s.name}</strong></td>
          <td data-label=${t('claude.scope')}>${t('claude.scope_' + s.scope)}${s.shadowed_by ? html`<div class="small muted">${t('claude.shadowed', { scope: t('claude.scope_' + s.shadowed_by) })}</div>` : null}</td>
          <td data-label=${t('claude.target')}><div class="mono small break">${s.transport ? s.transport + ' · ' : ''}${s.target}</div>
            ${s.problem ? html`<div class="small err-text">${s.problem}</div>` : null}</td>
          <td data-label=${t('claude.state')}><span class=${'chip ' + (on ? 'ok' : s.status === 'needs_approval' ? 'warn' : '')}>${t('claude.status_' + s.status)}</span></td>
          <td class="right">
            <button type="button" class="small" data-edit=${id} onClick=${() => setEditing(editing === id ? null : id)}>${t('claude.edit')}</button>
            <button type="button" class="small" data-toggle=${id} onClick=${() => act(on ? 'disable' : 'enable', s)}>${on ? t('claude.disable') : t('claude.enable')}</button>
            <button type="button" class="small danger" data-remove=${id} onClick=${() => act('remove', s)}>${t('common.remove')}</button></td>
        </tr>
        ${editing === id ? html`<tr class="edit-row"><td colspan="5"><${McpForm} server=${s} project=${project} onDone=${() => { setEditing(null); state.reload(); }} /></td></tr>` : null}`;
      })}</tbody></table></div>`}<//>
    <details class="add-form" id="mcp-add"><summary>${t('claude.mcp_add')}</summary>
      <${McpForm} project=${project} onDone=${state.reload} /></details>
  </section>`;
}

function McpForm({ server, project, onDone }) {
  const [v, setV] = useState(formOf(server));
  const [error, setError] = useState(null);
  const set = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      if (server) {
        await put(`/api/admin/claude/mcp/${server.scope}/${enc(server.name)}` + (project ? `?project=${enc(project)}` : ''), { entry: entryOf(v, server.entry) });
        toast(t('common.saved'));
      } else {
        const body = { scope: v.scope, name: v.name.trim(), entry: entryOf(v, null) };
        if (project) body.project = project;
        await post('/api/admin/claude/mcp', body);
        toast(t('claude.mcp_added', { name: body.name }));
        setV(formOf(null));
      }
      onDone();
    } catch (err) { setError(err); }
  };
  const stdio = v.type === 'stdio';
  return html`<form class="mcp-form" onSubmit=${submit}>
    <div class="form-grid">
      ${server ? null : html`
        <label class="field">${t('claude.scope')}<select name="scope" value=${v.scope} onChange=${set('scope')}>
          ${SCOPES.map((s) => html`<option value=${s}>${t('claude.scope_' + s)}</option>`)}</select></label>
        <label class="field">${t('claude.name')}<input name="name" required value=${v.name} placeholder="github" onInput=${set('name')} /></label>`}
      <label class="field">${t('claude.transport')}<select name="type" value=${v.type} onChange=${set('type')}>
        ${['stdio', 'http', 'sse', 'ws'].map((x) => html`<option value=${x}>${x}</option>`)}</select></label>
      ${stdio ? html`
        <label class="field">${t('claude.command')}<input name="command" required value=${v.command} placeholder="npx" onInput=${set('command')} /></label>
        <label class="field">${t('claude.args')}<textarea name="args" rows="3" value=${v.args} placeholder="-y\n@modelcontextprotocol/server-filesystem" onInput=${set('args')}></textarea></label>
        <label class="field">${t('claude.env')}<textarea name="env" rows="3" value=${v.env} placeholder="API_TOKEN=…" onInput=${set('env')}></textarea></label>`
      : html`
        <label class="field">${t('claude.url')}<input name="url" required value=${v.url} placeholder="https://mcp.example/mcp" onInput=${set('url')} /></label>
        <label class="field">${t('claude.headers')}<textarea name="headers" rows="3" value=${v.headers} placeholder="Authorization: Bearer …" onInput=${set('headers')}></textarea></label>`}
    </div>
    <p class="muted small">${server ? t('claude.mcp_edit_help') : t('claude.mcp_add_help')}</p>
    <${Failed} error=${error} />
    <div class="form-actions"><span class="grow"></span>
      ${server ? html`<button type="button" onClick=${onDone}>${t('common.cancel')}</button>` : null}
      <button type="submit" class="primary" id=${server ? 'mcp-save' : 'mcp-create'}>${server ? t('common.save') : t('claude.add')}</button></div>
  </form>`;
}

// ---- skills -----------------------------------------------------------------------------

function Skills({ project }) {
  const state = useLoad(() => get('/api/admin/claude/skills', { project }), [project]);
  const q = project ? `?project=${enc(project)}` : '';
  const act = async (what, s) => {
    const path = `/api/admin/claude/skills/${s.scope}/${enc(s.name)}`;
    try {
      if (what === 'remove') {
        if (!window.confirm(t(s.record ? 'claude.confirm_remove' : 'claude.confirm_remove_foreign', { name: s.name }))) return;
        await del(path + q + (s.record ? '' : (q ? '&' : '?') + 'force=true'));
        toast(t('claude.skill_removed', { name: s.name }));
      } else {
        const u = await post(path + '/update' + q, {});
        const n = u.changes.added.length + u.changes.removed.length + u.changes.modified.length;
        toast(n ? t('claude.skill_updated', { name: s.name, n }) : t('claude.skill_current', { name: s.name }));
      }
      state.reload();
    } catch (e) { toast(e.message, 'err'); }
  };
  return html`<section class="card" id="skills">
    <div class="card-head"><h2>${t('claude.skills')}</h2><span class="spacer"></span>
      <button type="button" class="small" onClick=${state.reload}>${t('common.refresh')}</button></div>
    <${Loaded} state=${state}>${(d) => d.skills.length === 0 ? html`<div class="empty">${t('claude.no_skills')}</div>` : html`<div class="table-wrap"><table class="data cards skills">
      <thead><tr><th>${t('claude.name')}</th><th>${t('claude.scope')}</th><th>${t('claude.description')}</th><th>${t('claude.source')}</th><th></th></tr></thead>
      <tbody>${d.skills.map((s) => html`<tr data-skill=${s.name}>
        <td data-label=${t('claude.name')}><strong class="mono">/${s.name}</strong></td>
        <td data-label=${t('claude.scope')}>${t('claude.scope_' + s.scope)}</td>
        <td data-label=${t('claude.description')}><div>${s.meta ? s.meta.description : ''}
          ${s.problems.map((p) => html`<div class="small err-text">${p}</div>`)}
          ${s.local_changes ? html`<div><span class="chip warn">${t('claude.local_changes')}</span></div>` : null}</div></td>
        <td data-label=${t('claude.source')}><div class="mono small break">${s.record ? s.record.source.location : html`<span class="muted">${t('claude.not_ours')}</span>`}</div></td>
        <td class="right">
          ${s.record ? html`<button type="button" class="small" data-update=${s.name} onClick=${() => act('update', s)}>${t('claude.update')}</button>` : null}
          <button type="button" class="small danger" data-remove-skill=${s.name} onClick=${() => act('remove', s)}>${t('common.remove')}</button></td>
      </tr>`)}</tbody></table></div>`}<//>
    <details class="add-form" id="skill-add"><summary>${t('claude.skill_install')}</summary>
      <${SkillForm} project=${project} onDone=${state.reload} /></details>
  </section>`;
}

function SkillForm({ project, onDone }) {
  const empty = { source: '', ref: '', path: '', scope: 'user' };
  const [v, setV] = useState(empty);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const body = { source: v.source.trim(), scope: v.scope };
      if (v.ref.trim()) body.ref = v.ref.trim();
      if (v.path.trim()) body.path = v.path.trim();
      if (project) body.project = project;
      const r = await post('/api/admin/claude/skills', body);
      toast(t('claude.skill_installed', { name: r.installed.map((x) => x.name).join(', ') }));
      setV(empty);
      onDone();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return html`<form class="skill-form" onSubmit=${submit}>
    <div class="form-grid">
      <label class="field">${t('claude.source')}<input name="source" required value=${v.source} placeholder="https://github.com/owner/skills.git" onInput=${set('source')} /></label>
      <label class="field">${t('claude.ref')}<input name="ref" value=${v.ref} placeholder="main" onInput=${set('ref')} /></label>
      <label class="field">${t('claude.subdir')}<input name="path" value=${v.path} placeholder="skills/pdf" onInput=${set('path')} /></label>
      <label class="field">${t('claude.scope')}<select name="scope" value=${v.scope} onChange=${set('scope')}>
        ${['user', 'project'].map((s) => html`<option value=${s}>${t('claude.scope_' + s)}</option>`)}</select></label>
    </div>
    <p class="muted small">${t('claude.skill_help')}</p>
    <${Failed} error=${error} />
    <div class="form-actions"><span class="grow"></span>
      <button type="submit" class="primary" id="skill-create" disabled=${busy}>${t('claude.install')}</button></div>
  </form>`;
}

// ---- sessions ---------------------------------------------------------------------------

function Sessions() {
  const state = useLoad(() => get('/api/stats/breakdown', {
    by: 'session', limit: 50, from: new Date(Date.now() - 30 * 86400e3).toISOString(),
  }), []);
  return html`<section class="card" id="sessions">
    <div class="card-head"><h2>${t('claude.sessions')}</h2><span class="muted small">${t('claude.sessions_range')}</span>
      <span class="spacer"></span>
      <button type="button" class="small" onClick=${state.reload}>${t('common.refresh')}</button></div>
    <${Loaded} state=${state}>${(d) => d.rows.length === 0 ? html`<div class="empty">${t('claude.no_sessions')}</div>` : html`<div class="table-wrap"><table class="data cards sessions">
      <thead><tr><th>${t('claude.session')}</th><th class="num">${t('claude.requests')}</th><th class="num">${t('claude.tokens')}</th>
        <th class="num">${t('claude.cost')}</th><th>${t('claude.first_seen')}</th><th>${t('claude.last_seen')}</th></tr></thead>
      <tbody>${d.rows.map((r) => html`<tr data-session=${r.key}>
        <td data-label=${t('claude.session')}><${Link} to="/requests" params=${{ session: r.key, range: '30d' }} class="mono small break">${r.key}<//></td>
        <td data-label=${t('claude.requests')} class="num">${fmt.num(r.requests)}${r.errors ? html` <span class="chip err">${t('claude.errors', { n: fmt.num(r.errors) })}</span>` : null}</td>
        <td data-label=${t('claude.tokens')} class="num" title=${t('claude.tokens_title', { input: fmt.num(r.input_tokens), output: fmt.num(r.output_tokens), read: fmt.num(r.cache_read_input_tokens), write: fmt.num(r.cache_creation_input_tokens) })}>
          ${fmt.compact(r.input_tokens + r.output_tokens + r.cache_creation_input_tokens + r.cache_read_input_tokens)}</td>
        <td data-label=${t('claude.cost')} class="num">${fmt.usd(r.cost_usd)}</td>
        <td data-label=${t('claude.first_seen')}>${fmt.when(r.first_seen)}</td>
        <td data-label=${t('claude.last_seen')}>${fmt.ago(r.last_seen)}</td>
      </tr>`)}</tbody></table></div>`}<//>
  </section>`;
}
