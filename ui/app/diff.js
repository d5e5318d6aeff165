// A unified diff as text, lines coloured by their first character; or two texts compared line
// by line when no diff was given.
import { html } from './lib.js';
import { t } from './i18n.js';

export function lineDiff(a, b) {
  // Longest common subsequence over lines: small files (a config), so O(n·m) is fine.
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push(' ' + x[i]); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) { out.push('-' + x[i]); i++; } else { out.push('+' + y[j]); j++; }
  }
  while (i < n) out.push('-' + x[i++]);
  while (j < m) out.push('+' + y[j++]);
  return out.join('\n');
}

export function Diff({ text, before, after }) {
  let body = text;
  if (body == null && before != null && after != null) {
    const s = (v) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));
    body = lineDiff(s(before), s(after));
  }
  if (body == null || body === '') return html`<p class="muted">${t('diff.none')}</p>`;
  const lines = body.split('\n');
  return html`<pre class="diff">${lines.map((l) => {
    const c = l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : 'ctx';
    return html`<span class=${c}>${l || ' '}</span>`;
  })}</pre>`;
}
