// Language: plain dictionaries (English, Simplified Chinese), chosen by the user and remembered,
// else from the browser. Numbers, money, dates and durations go through Intl.
import { signal } from './lib.js';
import { en } from './i18n/en.js';
import { zh } from './i18n/zh.js';

export const DICTS = { en, zh };
const KEY = 'switchboard.lang';

function initial() {
  try {
    const v = localStorage.getItem(KEY);
    if (v && DICTS[v]) return v;
  } catch { /* no storage */ }
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export const lang = signal(initial());

function locale() {
  return lang.value === 'zh' ? 'zh-CN' : 'en';
}

function applyLang() {
  document.documentElement.lang = locale();
}
applyLang();

export function setLang(l) {
  lang.value = l;
  try { localStorage.setItem(KEY, l); } catch { /* the choice lasts this page */ }
  applyLang();
}

// `t('key', {name: value})`: the text in the current language; `{name}` is replaced by value.
// A missing key shows the key itself (the browser test checks both dictionaries have every key).
export function t(key, vars) {
  const d = DICTS[lang.value] || en;
  let s = d[key] ?? en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
  return s;
}

const cache = new Map();
function nf(opts) {
  const k = locale() + JSON.stringify(opts);
  let f = cache.get(k);
  if (!f) {
    f = k.includes('"dt"') ? new Intl.DateTimeFormat(locale(), opts.dt) : new Intl.NumberFormat(locale(), opts);
    cache.set(k, f);
  }
  return f;
}

export const fmt = {
  num: (n) => (n == null ? '—' : nf({}).format(n)),
  compact: (n) => (n == null ? '—' : nf({ notation: 'compact', maximumFractionDigits: 1 }).format(n)),
  usd: (n) => {
    if (n == null) return '—';
    const a = Math.abs(n);
    const [min, max] = a === 0 ? [2, 2] : a >= 100 ? [0, 0] : a >= 1 ? [2, 2] : a >= 0.01 ? [2, 3] : [2, 4];
    return nf({ style: 'currency', currency: 'USD', currencyDisplay: 'narrowSymbol', minimumFractionDigits: min, maximumFractionDigits: max }).format(n);
  },
  pct: (r, digits = 1) => (r == null ? '—' : nf({ style: 'percent', maximumFractionDigits: digits }).format(r)),
  ms: (ms) => {
    if (ms == null) return '—';
    if (ms < 1000) return nf({ maximumFractionDigits: 0 }).format(ms) + ' ms';
    if (ms < 60000) return nf({ maximumFractionDigits: 2 }).format(ms / 1000) + ' s';
    return nf({ maximumFractionDigits: 1 }).format(ms / 60000) + ' min';
  },
  bytes: (b) => {
    if (b == null) return '—';
    if (b < 1024) return nf({}).format(b) + ' B';
    if (b < 1048576) return nf({ maximumFractionDigits: 1 }).format(b / 1024) + ' KiB';
    return nf({ maximumFractionDigits: 1 }).format(b / 1048576) + ' MiB';
  },
  dateTime: (d) => (d == null ? '—' : nf({ dt: { dateStyle: 'medium', timeStyle: 'medium' } }).format(new Date(d))),
  time: (d) => (d == null ? '—' : nf({ dt: { hour: '2-digit', minute: '2-digit', second: '2-digit' } }).format(new Date(d))),
  date: (d) => nf({ dt: { dateStyle: 'medium' } }).format(new Date(d)),
  // The time of day for today's instants, else the day and the time.
  when: (d) => {
    if (d == null) return '—';
    const x = new Date(d);
    if (x.toDateString() === new Date().toDateString()) return fmt.time(x);
    return nf({ dt: { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' } }).format(x);
  },
  day: (d) => nf({ dt: { month: 'short', day: 'numeric' } }).format(new Date(d)),
  month: (d) => nf({ dt: { month: 'short' } }).format(new Date(d)),
  weekday: (d) => nf({ dt: { weekday: 'short' } }).format(new Date(d)),
  // "3 min ago" for recent instants, else the date and time.
  ago: (d) => {
    if (d == null) return '—';
    const s = (new Date(d).getTime() - Date.now()) / 1000;
    if (Math.abs(s) > 86400) return fmt.dateTime(d);
    const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
    if (Math.abs(s) < 60) return rtf.format(Math.round(s), 'second');
    if (Math.abs(s) < 3600) return rtf.format(Math.round(s / 60), 'minute');
    return rtf.format(Math.round(s / 3600), 'hour');
  },
};
