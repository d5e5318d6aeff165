// The dashboard's entry: the shell (navigation, language, theme, sign-out) around the pages.
import { html, render, useEffect } from './lib.js';
import { route, Link, go } from './router.js';
import { session, refreshSession, post } from './api.js';
import { t, lang } from './i18n.js';
import { LangSwitch, ThemeSwitch } from './switches.js';
import { Toasts, toast } from './ui.js';
import { SignIn } from './pages/signin.js';
import { Overview } from './pages/overview.js';
import { Requests } from './pages/requests.js';
import { Detail } from './pages/detail.js';
import { Endpoints } from './pages/endpoints.js';
import { Settings } from './pages/settings.js';
import { Keys } from './pages/keys.js';
import { Claude } from './pages/claude.js';

// The navigation. Pages to come (pools) add a row here. `member`: shown to members
// too (the page shows them only their own data); the others are the admins'.
const NAV = [
  { path: '/', key: 'nav.overview', page: Overview },
  { path: '/requests', key: 'nav.requests', page: Requests },
  { path: '/endpoints', key: 'nav.endpoints', page: Endpoints },
  { path: '/keys', key: 'nav.keys', page: Keys, member: true },
  { path: '/claude', key: 'nav.claude', page: Claude },
  { path: '/settings', key: 'nav.settings', page: Settings },
];

const isMember = () => session.value && session.value.user && session.value.user.role !== 'admin';
const nav = () => NAV.filter((n) => n.member || !isMember());

function pageFor(path) {
  const m = path.match(/^\/requests\/([0-9a-fA-F-]{36})$/);
  if (m && !isMember()) return { page: Detail, active: '/requests', props: { id: m[1] } };
  // A member's home is their keys.
  if (path === '/' && isMember()) return { page: Keys, active: '/keys', props: {} };
  const item = nav().find((n) => n.path === path);
  if (item) return { page: item.page, active: item.path, props: {} };
  return { page: NotFound, active: null, props: {} };
}

function NotFound() {
  return html`<div class="card"><h1>${t('common.not_found')}</h1>
    <p><${Link} to="/">${t('nav.overview')}<//></p></div>`;
}

async function signOut() {
  try {
    await post('/api/admin/logout');
  } catch (e) {
    toast(e.message, 'err');
  }
  session.value = null;
  go('/');
}

function Shell() {
  const { page: Page, active, props } = pageFor(route.value.path);
  useEffect(() => {
    document.title = 'Switchboard · ' + (active ? t(NAV.find((n) => n.path === active).key) : '');
  }, [active, lang.value]);
  return html`
    <header class="top">
      <${Link} to="/" class="brand"><img src="/ui/favicon.svg" alt="" />Switchboard<//>
      <nav class="nav" aria-label=${t('nav.label')}>
        ${nav().map((n) => html`<${Link} to=${n.path} class=${n.path === active ? 'active' : ''}>${t(n.key)}<//>`)}
      </nav>
      <div class="tools">
        <${LangSwitch} />
        <${ThemeSwitch} />
        <button type="button" class="small" id="sign-out" title=${session.value.user.name} onClick=${signOut}>${t('nav.sign_out')}</button>
      </div>
    </header>
    <main id="page" data-page=${active || 'none'}>
      <${Page} ...${props} />
    </main>`;
}

function App() {
  useEffect(() => { refreshSession().catch((e) => toast(e.message, 'err')); }, []);
  let body;
  if (session.value === undefined) body = html`<p class="boot">Switchboard</p>`;
  else if (session.value === null) body = html`<${SignIn} />`;
  else body = html`<${Shell} />`;
  return html`${body}<${Toasts} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
