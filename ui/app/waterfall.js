// The attempt waterfall: one lane per attempt on one time axis (ms after the request arrived).
// A bar starts when the attempt was sent; where the server knows them, its parts are the wait
// for the upstream's first byte and the stream after it. Under each bar: why the router did
// what it did next.
import { html } from './lib.js';
import { t, fmt } from './i18n.js';
import { statusClass } from './ui.js';

export function Waterfall({ record }) {
  const attempts = record.attempts || [];
  if (attempts.length === 0) return html`<div class="empty">${t('detail.no_attempts')}</div>`;
  // Offsets: as logged, else laid end to end (older records have no offsets).
  let cursor = 0;
  const rows = attempts.map((a, i) => {
    const start = a.offset_ms ?? cursor;
    const dur = Math.max(a.latency_ms || 0, (a.first_byte_ms || 0) + (a.stream_ms || 0));
    cursor = start + dur;
    return { a, i, start, dur, estimated: a.offset_ms == null };
  });
  const span = Math.max(1, record.latency_ms || 0, ...rows.map((r) => r.start + r.dur));
  const pct = (ms) => Math.min(100, (100 * ms) / span);
  return html`<div class="wf" id="waterfall" data-attempts=${attempts.length}>
    ${rows.map(({ a, i, start, dur }) => {
      const ok = a.disposition === 'ok';
      const cls = ok ? 'ok' : 'err';
      const parts = [];
      if (a.first_byte_ms != null) {
        parts.push(html`<span class="seg-first" title=${t('wf.first_byte') + ': ' + fmt.ms(a.first_byte_ms)}
          style=${{ flex: String(Math.max(a.first_byte_ms, 0.5)) }}></span>`);
        if (a.stream_ms) {
          parts.push(html`<span class="seg-stream" title=${t('wf.stream') + ': ' + fmt.ms(a.stream_ms)}
            style=${{ flex: String(a.stream_ms) }}></span>`);
        } else if (dur > a.first_byte_ms) {
          parts.push(html`<span class="seg-all" style=${{ flex: String(dur - a.first_byte_ms) }}></span>`);
        }
      } else {
        parts.push(html`<span class="seg-all"></span>`);
      }
      return html`
        <div class="who" data-attempt=${i}>
          <div class="wf-ep">${i + 1}. ${a.endpoint}</div>
          <div><span class=${'chip ' + (ok ? 'ok' : statusClass(a.status))}>${a.status ?? t('wf.no_status')}</span>
            ${a.error_class ? html` <span class="muted small">${a.error_class}</span>` : null}</div>
        </div>
        <div>
          <div class="lane" title=${`${fmt.ms(start)} → ${fmt.ms(start + dur)}`}>
            <div class=${'bar ' + cls} style=${{ left: pct(start) + '%', width: Math.max(0.6, pct(dur)) + '%' }}>${parts}</div>
          </div>
          <div class="why">${fmt.ms(start)} + ${fmt.ms(dur)}${a.model ? ' · ' + a.model : ''} — ${t('disp.' + a.disposition)}${a.error ? html`: <span class="break">${a.error}</span>` : null}</div>
        </div>`;
    })}
    <div class="wf-axis"><span>0</span><span>${fmt.ms(span / 2)}</span><span>${fmt.ms(span)}</span></div>
  </div>
  <div class="legend">
    <span><i class="sw3"></i>${t('wf.first_byte')}</span><span><i class="sw2"></i>${t('wf.stream')}</span>
    ${rows.some((r) => r.estimated) ? html`<span>${t('wf.estimated')}</span>` : null}
  </div>`;
}
