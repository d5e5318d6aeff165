// The language and theme switches (in the top bar and on the sign-in page).
import { html } from './lib.js';
import { t, lang, setLang } from './i18n.js';
import { theme, setTheme } from './theme.js';

export function LangSwitch() {
  const other = lang.value === 'zh' ? 'en' : 'zh';
  return html`<button type="button" class="small" id="lang-switch" title=${t('settings.language')}
    onClick=${() => setLang(other)}>${other === 'zh' ? '中文' : 'English'}</button>`;
}

export function ThemeSwitch() {
  const order = ['system', 'light', 'dark'];
  const next = order[(order.indexOf(theme.value) + 1) % order.length];
  const icon = { system: '◐', light: '☀', dark: '☾' }[theme.value];
  return html`<button type="button" class="small" id="theme-switch" title=${t('theme.' + theme.value)}
    aria-label=${t('settings.theme') + ': ' + t('theme.' + theme.value)}
    onClick=${() => setTheme(next)}>${icon} <span class="theme-name">${t('theme.' + theme.value)}</span></button>`;
}

