// Light and dark themes: the system's choice until the user picks one, then that, remembered.
import { signal } from './lib.js';

const KEY = 'switchboard.theme';

function stored() {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch { return 'system'; }
}

export const theme = signal(stored());

function apply(v) {
  if (v === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = v;
}
apply(theme.value);

export function setTheme(v) {
  theme.value = v;
  try {
    if (v === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, v);
  } catch { /* storage refused: the choice lasts this page */ }
  apply(v);
  window.dispatchEvent(new Event('themechange'));
}

// The resolved theme (for charts that need colours as values).
export function dark() {
  if (theme.value !== 'system') return theme.value === 'dark';
  return window.matchMedia('(prefers-color-scheme: dark)').matches;
}

// A CSS custom property's current value (for uPlot, which draws on a canvas).
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
