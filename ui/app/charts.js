// Charts: uPlot (canvas) for time series; everything else is plain SVG or CSS made here.
import { html, useEffect, useRef } from './lib.js';
import { cssVar } from './theme.js';
import { lang, fmt, t } from './i18n.js';
import { theme } from './theme.js';

export const PALETTE = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6', '--c7', '--c8'];

// A uPlot chart sized to its container. `series`: [{label, values, color (a --c var), axis: 0|1,
// bars?: bool, fmt?: (v) => string}], `x`: seconds since the epoch.
export function TimeChart({ x, series, height = 240, yFmt = [fmt.compact, fmt.compact], id, step = 0 }) {
  const ref = useRef(null);
  const themeName = theme.value;
  const language = lang.value;
  useEffect(() => {
    const el = ref.current;
    const UPlot = window.uPlot;
    if (!el || !UPlot) return undefined;
    const text = cssVar('--muted');
    const grid = cssVar('--border');
    // A value axis as wide as its longest label needs ("$0.0003"), and at least `min`.
    const fit = (min) => (u, values) => Math.max(min, values ? Math.max(0, ...values.map((v) => String(v).length)) * 7 + 16 : min);
    const axes = [
      { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
      { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: fit(56),
        values: (u, vals) => vals.map((v) => yFmt[0](v)) },
    ];
    // Day buckets: a tick per day (or per few days), never the hours between them.
    if (step >= 86400) axes[0].incrs = [1, 2, 7, 14, 28, 91, 182, 364].map((d) => d * 86400);
    // Bars at the edges need half a bucket of room on each side.
    const scales = { x: { time: true, range: step ? (u, min, max) => [min - step / 2, max + step / 2] : undefined } };
    if (series.some((s) => s.axis === 1)) {
      axes.push({ side: 1, stroke: text, grid: { show: false }, ticks: { stroke: grid, width: 1 }, size: fit(66), scale: 'y2',
        values: (u, vals) => vals.map((v) => yFmt[1](v)) });
      scales.y2 = { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };
    }
    scales.y = { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] };
    const opts = {
      width: Math.max(200, el.clientWidth),
      height,
      scales,
      axes,
      legend: { show: true, live: false },
      // The time axis's range on the element (its labels are drawn on the canvas), in seconds.
      hooks: { setScale: [(u, key) => { if (key === 'x') showRange(u); }] },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: t('chart.time'), value: (u, v) => (v == null ? '' : fmt.dateTime(new Date(v * 1000))) },
        ...series.map((s) => {
          const color = cssVar(s.color);
          const out = {
            label: s.label,
            stroke: color,
            width: 2,
            scale: s.axis === 1 ? 'y2' : 'y',
            value: (u, v) => (v == null ? '—' : (s.fmt || fmt.num)(v)),
            points: { show: x.length < 40 },
          };
          if (s.bars) {
            out.fill = color + '55';
            out.paths = UPlot.paths.bars({ size: [0.7, 40] });
            out.points = { show: false };
          }
          return out;
        }),
      ],
    };
    function showRange(u) {
      el.dataset.xMin = String(u.scales.x.min);
      el.dataset.xMax = String(u.scales.x.max);
    }
    const plot = new UPlot(opts, [x, ...series.map((s) => s.values)], el);
    showRange(plot);
    // Resize on the next frame, and only when the width changed: resizing inside the observer's
    // callback would change the layout it observes ("ResizeObserver loop" errors).
    let width = opts.width;
    let frame = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        const w = Math.max(200, el.clientWidth);
        if (w !== width) { width = w; plot.setSize({ width: w, height }); }
      });
    });
    ro.observe(el);
    return () => { ro.disconnect(); cancelAnimationFrame(frame); plot.destroy(); };
  }, [x, series, height, themeName, language]);
  return html`<div class="chart" ref=${ref} data-chart=${id}></div>`;
}

// A year of days as a calendar (weeks as columns, Monday on top), coloured in five steps by
// quantile of the non-zero days. `days`: Map of 'YYYY-MM-DD' → value.
export function Heatmap({ days, end, valueFmt, label }) {
  const cell = 11;
  const gap = 2;
  const top = 16;
  const left = 26;
  const endDate = new Date(end);
  endDate.setHours(0, 0, 0, 0);
  // Start on the Monday 52 weeks before the current week's Monday.
  const start = new Date(endDate);
  const dow = (start.getDay() + 6) % 7;
  start.setDate(start.getDate() - dow - 52 * 7);
  const values = [...days.values()].filter((v) => v > 0).sort((a, b) => a - b);
  const q = (p) => values[Math.min(values.length - 1, Math.floor(p * values.length))] || 0;
  const cuts = [q(0.25), q(0.5), q(0.75)];
  const level = (v) => (!v ? 0 : v <= cuts[0] ? 1 : v <= cuts[1] ? 2 : v <= cuts[2] ? 3 : 4);
  const rects = [];
  const months = [];
  let lastMonth = -1;
  const d = new Date(start);
  const key = (x) => `${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, '0')}-${String(x.getDate()).padStart(2, '0')}`;
  for (let w = 0; w < 53; w++) {
    for (let r = 0; r < 7; r++) {
      if (d > endDate) break;
      const k = key(d);
      const v = days.get(k) || 0;
      const x = left + w * (cell + gap);
      const y = top + r * (cell + gap);
      rects.push(html`<rect x=${x} y=${y} width=${cell} height=${cell} rx="2" class=${'h' + level(v)} data-day=${k}>
        <title>${fmt.date(d)}: ${valueFmt(v)}</title></rect>`);
      if (r === 0 && d.getMonth() !== lastMonth) {
        lastMonth = d.getMonth();
        if (w < 52) months.push(html`<text x=${x} y="10">${fmt.month(d)}</text>`);
      }
      d.setDate(d.getDate() + 1);
    }
  }
  const width = left + 53 * (cell + gap);
  const height = top + 7 * (cell + gap);
  const weekday = (i) => fmt.weekday(new Date(2024, 0, 1 + i));
  return html`<div class="heat-wrap">
    <svg class="heat" viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${label}>
      ${months}
      <text x="0" y=${top + cell - 2}>${weekday(0)}</text>
      <text x="0" y=${top + 2 * (cell + gap) + cell - 2}>${weekday(2)}</text>
      <text x="0" y=${top + 4 * (cell + gap) + cell - 2}>${weekday(4)}</text>
      ${rects}
    </svg>
    <div class="heat-legend">${t('heat.less')}
      <svg viewBox="0 0 70 10" aria-hidden="true" class="heat">${[0, 1, 2, 3, 4].map((i) => html`<rect x=${i * 14} y="0" width="10" height="10" rx="2" class=${'h' + i} />`)}</svg>
      ${t('heat.more')}</div>
  </div>`;
}

// Horizontal stacked bars: rows of {name, parts: [values], total label}; parts share colours.
export function StackedBars({ rows, parts, max }) {
  const top = max || Math.max(1, ...rows.map((r) => r.parts.reduce((a, b) => a + b, 0)));
  return html`<div>
    <div class="hbar">
      ${rows.map((r) => html`
        <div class="name" title=${r.name}>${r.name}</div>
        <div class="track" title=${parts.map((p, i) => `${p.label}: ${p.fmt(r.parts[i])}`).join('\n')}>
          ${r.parts.map((v, i) => (v > 0 ? html`<span class=${'sw' + (i + 1)} style=${{ width: (100 * v) / top + '%' }}></span>` : null))}
        </div>
        <div class="val">${r.label}</div>`)}
    </div>
    <div class="legend">${parts.map((p, i) => html`<span><i class=${'sw' + (i + 1)}></i>${p.label}</span>`)}</div>
  </div>`;
}
