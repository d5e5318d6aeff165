// The stream timeline: each SSE event of what the client received (else of the upstream's
// answer) at its arrival time, the gaps between them, stalls marked, and the first byte against
// the first token.
import { html, useMemo, useState } from './lib.js';
import { t, fmt } from './i18n.js';

// A gap this long between two events is a stall.
export const STALL_MS = 1000;

// Splits chunks into events: `[{at, name, data}]`. A chunk may hold several events or part of
// one; an event belongs to the chunk its last line arrived in.
export function events(chunks) {
  const out = [];
  let buf = '';
  for (const c of chunks) {
    buf += c.data.replace(/\r\n?/g, '\n');
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      let name = '';
      const data = [];
      let comment = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comment = true;
        else if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trim());
      }
      if (!name && data.length === 0 && !comment) continue;
      const joined = data.join('\n');
      if (!name) name = comment && data.length === 0 ? ': comment' : joined === '[DONE]' ? '[DONE]' : 'data';
      out.push({ at: c.offset_ms, name, data: joined });
    }
  }
  return out;
}

// The first event that carries content (text, thinking, tool input) in either dialect.
export function isToken(e) {
  if (e.name === 'content_block_delta') return true;
  if (e.name === 'data' && e.data.includes('"choices"')) {
    try {
      const d = JSON.parse(e.data);
      const delta = d.choices && d.choices[0] && d.choices[0].delta;
      return !!(delta && (delta.content || delta.tool_calls || delta.reasoning_content));
    } catch { return false; }
  }
  return false;
}

export function Timeline({ chunks, ttfb }) {
  const evs = useMemo(() => events(chunks), [chunks]);
  const [all, setAll] = useState(false);
  if (evs.length === 0) return html`<div class="empty">${t('tl.none')}</div>`;
  const first = evs[0].at;
  const firstToken = evs.find(isToken);
  const end = Math.max(1, evs[evs.length - 1].at);
  const gaps = evs.map((e, i) => (i === 0 ? e.at : e.at - evs[i - 1].at));
  const stalls = evs.map((e, i) => i > 0 && gaps[i] >= STALL_MS).filter(Boolean).length;
  const maxGap = Math.max(...gaps.slice(1), 0);
  const W = 1000;
  const x = (ms) => 10 + (980 * ms) / end;
  const shown = all ? evs : evs.slice(0, 200);
  return html`<div class="tl" id="timeline" data-events=${evs.length} data-stalls=${stalls}>
    <div class="kpis">
      <div class="kpi"><div class="label">${t('tl.events')}</div><div class="value">${fmt.num(evs.length)}</div></div>
      <div class="kpi"><div class="label">${t('tl.first_byte')}</div><div class="value">${fmt.ms(ttfb ?? first)}</div></div>
      <div class="kpi"><div class="label">${t('tl.first_token')}</div><div class="value" id="first-token">${firstToken ? fmt.ms(firstToken.at) : '—'}</div></div>
      <div class="kpi"><div class="label">${t('tl.longest_gap')}</div><div class="value">${fmt.ms(maxGap)}</div>
        <div class="sub">${t('tl.stalls', { n: stalls, s: fmt.ms(STALL_MS) })}</div></div>
    </div>
    <svg viewBox=${`0 0 ${W} 74`} preserveAspectRatio="none" role="img" aria-label=${t('detail.timeline')}>
      ${evs.map((e, i) => (i > 0 && gaps[i] >= STALL_MS ? html`<rect class="stall" x=${x(evs[i - 1].at)} y="8" width=${Math.max(1, x(e.at) - x(evs[i - 1].at))} height="40" />` : null))}
      <line class="base" x1="10" x2="990" y1="48" y2="48" />
      ${evs.map((e) => html`<line class=${'tick' + (e === firstToken ? ' first-token' : e.name.startsWith(':') || e.name === 'ping' ? ' meta' : '')} x1=${x(e.at)} x2=${x(e.at)} y1="14" y2="48"><title>${fmt.ms(e.at)} ${e.name}</title></line>`)}
      <line class="fb" x1=${x(ttfb ?? first)} x2=${x(ttfb ?? first)} y1="4" y2="52" />
      <text x="10" y="68">0</text>
      <text x="990" y="68" text-anchor="end">${fmt.ms(end)}</text>
    </svg>
    <div class="legend"><span><i class="sw7"></i>${t('tl.first_byte')}</span><span><i class="sw3"></i>${t('tl.first_token')}</span>
      <span><i class="sw1"></i>${t('tl.event')}</span><span><i class="stall-sw"></i>${t('tl.stall', { s: fmt.ms(STALL_MS) })}</span></div>
    <div class="tl-events table-wrap">
      <table class="data"><thead><tr><th class="num">#</th><th class="num">${t('tl.at')}</th><th class="num">${t('tl.gap')}</th><th>${t('tl.event')}</th><th class="num">${t('tl.size')}</th></tr></thead>
      <tbody>${shown.map((e, i) => html`<tr class=${i > 0 && gaps[i] >= STALL_MS ? 'stall' : ''}>
        <td class="num">${i + 1}</td><td class="num">${fmt.ms(e.at)}</td><td class="num">${i === 0 ? '' : '+' + fmt.ms(gaps[i])}</td>
        <td>${e.name}${e === firstToken ? html` <span class="chip warn small">${t('tl.first_token')}</span>` : null}</td>
        <td class="num">${fmt.bytes(e.data.length)}</td></tr>`)}</tbody></table>
      ${evs.length > shown.length ? html`<button type="button" class="small" onClick=${() => setAll(true)}>${t('tl.show_all', { n: evs.length })}</button>` : null}
    </div>
  </div>`;
}
