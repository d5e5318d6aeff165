// Bodies as collapsible, highlighted JSON, built from text nodes only: a logged prompt holding
// markup is shown as the characters it is, never parsed as HTML.
import { html } from './lib.js';
import { t } from './i18n.js';

const LONG = 400;

function Str({ v, comma }) {
  if (v.length > LONG) {
    return html`<details class="str"><summary><span class="s">"${v.slice(0, 160)}…"</span> <span class="p">${t('json.chars', { n: v.length })}</span></summary><span class="s">"${v}"</span>${comma}</details>`;
  }
  return html`<span class="s">"${v}"</span>${comma}`;
}

// `last`: no comma after it (the comma goes inside a collapsible value, after its bracket).
function Value({ v, depth, last = true }) {
  const comma = last ? null : html`<span class="p">,</span>`;
  if (v === null) return html`<span class="l">null</span>${comma}`;
  if (typeof v === 'string') return html`<${Str} v=${v} comma=${comma} />`;
  if (typeof v === 'number') return html`<span class="n">${String(v)}</span>${comma}`;
  if (typeof v === 'boolean') return html`<span class="l">${String(v)}</span>${comma}`;
  const isArr = Array.isArray(v);
  const entries = isArr ? v.map((x, i) => [i, x]) : Object.entries(v);
  const [open, close] = isArr ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return html`<span class="p">${open}${close}</span>${comma}`;
  const n = entries.length;
  const summary = isArr ? t(n === 1 ? 'json.item' : 'json.items', { n }) : t(n === 1 ? 'json.key' : 'json.keys', { n });
  return html`<details open=${depth < 3 || entries.length <= 3}><summary><span class="p">${open}</span><span class="p small"> ${summary}</span></summary>
    <span class="ind">${entries.map(([k, x], i) => html`<span key=${k}>${isArr ? null : html`<span class="k">"${k}"</span><span class="p">: </span>`}<${Value} v=${x} depth=${depth + 1} last=${i === entries.length - 1} /></span>`)}</span><span class="p">${close}</span>${comma}</details>`;
}

export function JsonView({ value }) {
  return html`<div class="json"><${Value} v=${value} depth=${0} /></div>`;
}

// A body as JSON when it parses, else as text.
export function Body({ text }) {
  if (text == null || text === '') return html`<span class="muted">${t('detail.empty_body')}</span>`;
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return html`<${JsonView} value=${JSON.parse(trimmed)} />`;
    } catch { /* not JSON: shown as text */ }
  }
  return html`<pre class="text">${text}</pre>`;
}
