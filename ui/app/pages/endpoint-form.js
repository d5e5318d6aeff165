// The form to add or edit an endpoint. A key typed here goes to the API, which stores it in the
// encrypted secret store and writes only a `secret:NAME` reference to the file; it is never
// shown again (the list shows it masked).
import { html, useState } from '../lib.js';
import { t } from '../i18n.js';
import { Failed } from '../ui.js';

const KINDS = ['anthropic', 'openai', 'gemini'];

export function EndpointForm({ initial, onSave, onCancel }) {
  const editing = !!initial;
  const [v, setV] = useState({
    name: (initial && initial.name) || '',
    kind: (initial && initial.kind) || 'anthropic',
    base_url: (initial && initial.base_url) || '',
    api_key: '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const field = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    // A new endpoint gets every field; an edit sends only what changed (the rest of its table
    // stays as written in the file).
    const body = {};
    if (!editing) body.name = v.name.trim();
    if (!editing || v.kind !== initial.kind) body.kind = v.kind;
    if (!editing || v.base_url.trim() !== initial.base_url) body.base_url = v.base_url.trim();
    if (v.api_key) body.api_key = v.api_key;
    try {
      await onSave(body);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="endpoint-form" onSubmit=${submit} autocomplete="off">
    <div class="form-grid">
      <label class="field">${t('ep.name')}
        <input name="name" required pattern="[A-Za-z0-9_.\\-]+" value=${v.name} readOnly=${editing} onInput=${field('name')} /></label>
      <label class="field">${t('ep.kind')}
        <select name="kind" value=${v.kind} onChange=${field('kind')}>${KINDS.map((k) => html`<option value=${k}>${k}</option>`)}</select></label>
      <label class="field">${t('ep.base_url')}
        <input name="base_url" type="url" required placeholder="https://api.anthropic.com" value=${v.base_url} onInput=${field('base_url')} /></label>
      <label class="field">${t('ep.api_key')}
        <input name="api_key" type="password" autocomplete="new-password" placeholder=${editing ? t('ep.key_unchanged') : t('ep.key_optional')}
          value=${v.api_key} onInput=${field('api_key')} /></label>
    </div>
    <p class="muted small">${t('ep.key_note')}</p>
    <${Failed} error=${error} />
    <div class="form-actions">
      <button type="submit" class="primary" disabled=${busy}>${t('common.save')}</button>
      <button type="button" onClick=${onCancel}>${t('common.cancel')}</button>
    </div>
  </form>`;
}
