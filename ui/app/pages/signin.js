// Sign-in: a password form for admins with one; the local user gets a one-time link from
// `switchboard ui` instead (GET /ui/login?token=… sets the cookie and comes back here).
import { html, useState } from '../lib.js';
import { session, api } from '../api.js';
import { t } from '../i18n.js';
import { LangSwitch, ThemeSwitch } from '../switches.js';

export function SignIn() {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      session.value = await api('POST', '/api/admin/login', { body: { name, password } });
    } catch (err) {
      if (err.status === 401) setError(t('signin.wrong'));
      else if (err.status === 429) {
        const after = Number(err.headers && err.headers.get('retry-after')) || 0;
        setError(t('signin.throttled', { s: after }));
      } else setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return html`<div class="signin-corner"><${LangSwitch} /><${ThemeSwitch} /></div>
    <div class="signin" id="signin">
      <div class="card">
        <h1><img src="/ui/favicon.svg" alt="" width="24" height="24" />Switchboard</h1>
        <form onSubmit=${submit}>
          <label class="field">${t('signin.name')}
            <input name="name" autocomplete="username" required value=${name} onInput=${(e) => setName(e.target.value)} />
          </label>
          <label class="field">${t('signin.password')}
            <input name="password" type="password" autocomplete="current-password" required value=${password}
              onInput=${(e) => setPassword(e.target.value)} />
          </label>
          ${error ? html`<div class="error-box" role="alert">${error}</div>` : null}
          <button class="primary" type="submit" disabled=${busy}>${t('signin.submit')}</button>
        </form>
        <p class="hint">${t('signin.hint_before')}<code>switchboard ui</code>${t('signin.hint_after')}</p>
      </div>
    </div>`;
}
