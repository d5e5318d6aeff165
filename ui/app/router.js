// Client-side routes under /ui/ (the server answers index.html for any page path there).
// The query string holds the filters, so a view can be shared by its URL.
import { signal, html } from './lib.js';

const BASE = '/ui';

function current() {
  let path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  if (path === '' ) path = '/';
  return { path, params: new URLSearchParams(location.search) };
}

export const route = signal(current());

window.addEventListener('popstate', () => { route.value = current(); });

export function href(path, params) {
  const qs = params ? new URLSearchParams(params).toString() : '';
  return BASE + path + (qs ? '?' + qs : '');
}

export function go(path, params, { replace = false } = {}) {
  const url = href(path, params);
  if (url === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  route.value = current();
  if (!replace) window.scrollTo(0, 0);
}

// Replaces the query string of the current page (filters), keeping the path.
export function setParams(params) {
  const clean = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') clean.set(k, String(v));
  }
  go(route.value.path, clean, { replace: true });
}

// A link that navigates without a reload (modifier clicks open a tab as usual).
export function Link({ to, params, class: cls, children, title }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    go(to, params);
  };
  return html`<a href=${href(to, params)} class=${cls} title=${title} onClick=${onClick}>${children}</a>`;
}
