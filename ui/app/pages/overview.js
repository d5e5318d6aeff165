// Overview: the figures of a range, all following the filters in the URL.
import { html, useMemo } from '../lib.js';
import { get } from '../api.js';
import { t, fmt } from '../i18n.js';
import { useLoad, Loaded, Kpi, Failed } from '../ui.js';
import { useFilters, RangePicker, FilterBar, timeZone } from '../filters.js';
import { TimeChart, Heatmap, StackedBars } from '../charts.js';
import { Link } from '../router.js';

const tokens = (x) => x.input_tokens + x.output_tokens + x.cache_creation_input_tokens + x.cache_read_input_tokens;

export function Overview() {
  const f = useFilters('7d');
  const key = JSON.stringify(f.api);
  const bucket = f.span() > 3 * 86400e3 ? 'day' : 'hour';
  const stats = useLoad(() => get('/api/stats', f.api), [key]);
  const series = useLoad(() => get('/api/stats/timeseries', { ...f.api, bucket, tz: timeZone }), [key, bucket]);
  const byModel = useLoad(() => get('/api/stats/breakdown', { ...f.api, by: 'model' }), [key]);
  const failovers = useLoad(() => get('/api/stats/failovers', f.api), [key]);
  const cache = useLoad(() => get('/api/stats/cache', { ...f.api, bucket, tz: timeZone }), [key, bucket]);
  // The heatmap is always the last year: it follows the filters but not the range.
  const { from: _f, to: _t, ...rest } = f.api;
  const heatKey = JSON.stringify(rest);
  const heat = useLoad(() => get('/api/stats/heatmap', { ...rest, tz: timeZone }), [heatKey]);

  return html`
    <div class="page-head">
      <h1>${t('overview.title')}</h1>
      <span class="spacer"></span>
      <button type="button" class="small" onClick=${f.refresh}>${t('common.refresh')}</button>
    </div>
    <${RangePicker} f=${f} />
    <${FilterBar} f=${f} />
    <${Loaded} state=${stats}>${(s) => html`<${Figures} s=${s} />`}<//>
    <div class="grid">
      <section class="card" id="trend">
        <div class="card-head"><h2>${t(bucket === 'day' ? 'overview.trend_daily' : 'overview.trend_hourly')}</h2></div>
        <${Loaded} state=${series} empty=${(d) => !d.buckets || d.buckets.length === 0}>${(d) => html`<${Trend} d=${d} />`}<//>
      </section>
      <section class="card" id="tokens-by-kind">
        <div class="card-head"><h2>${t('overview.tokens_by_kind')}</h2></div>
        <${Loaded} state=${stats} empty=${(s) => tokens(s) === 0}>${(s) => html`<${TokenKinds} s=${s} />`}<//>
      </section>
    </div>
    <div class="grid">
      <section class="card" id="by-model">
        <div class="card-head"><h2>${t('overview.by_model')}</h2></div>
        <${Loaded} state=${byModel} empty=${(d) => !d.rows || d.rows.length === 0}>${(d) => html`<${ByModel} rows=${d.rows} />`}<//>
      </section>
      <section class="card" id="failovers">
        <div class="card-head"><h2>${t('overview.failovers')}</h2></div>
        <${Loaded} state=${failovers}>${(d) => html`<${Failovers} d=${d} />`}<//>
      </section>
    </div>
    <section class="card" id="cache">
      <div class="card-head"><h2>${t('overview.cache')}</h2><span class="muted small">${t('overview.cache_note')}</span></div>
      <${Loaded} state=${cache}>${(d) => html`<${CacheRatio} d=${d} />`}<//>
    </section>
    <section class="card" id="heatmap">
      <div class="card-head"><h2>${t('overview.heatmap')}</h2></div>
      <${Loaded} state=${heat}>${(d) => html`<${Year} d=${d} />`}<//>
    </section>`;
}

function Figures({ s }) {
  const lat = s.latency_ms || {};
  const ttfb = s.ttfb_ms || {};
  const p = (x) => `p50 ${fmt.ms(x.p50)} · p95 ${fmt.ms(x.p95)} · p99 ${fmt.ms(x.p99)}`;
  return html`<div class="kpis" id="kpis">
    <${Kpi} id="requests" label=${t('kpi.requests')} value=${fmt.num(s.requests)} sub=${t('kpi.errors', { n: fmt.num(s.errors) })} />
    <${Kpi} id="success" label=${t('kpi.success_rate')} value=${fmt.pct(s.success_rate)} sub=${t('kpi.ok', { n: fmt.num(s.ok) })} />
    <${Kpi} id="cost" label=${t('kpi.cost')} value=${fmt.usd(s.cost_usd)}
      sub=${s.unknown_cost_requests ? t('kpi.unknown_cost', { n: fmt.num(s.unknown_cost_requests) }) : t('kpi.per_request', { v: fmt.usd(s.requests ? s.cost_usd / s.requests : 0) })} />
    <${Kpi} id="tokens" label=${t('kpi.tokens')} value=${fmt.compact(tokens(s))}
      sub=${`${t('tok.input')} ${fmt.compact(s.input_tokens)} · ${t('tok.output')} ${fmt.compact(s.output_tokens)}`} />
    <${Kpi} id="cache-hit" label=${t('kpi.cache_hit')} value=${fmt.pct(s.cache_hit_ratio)} sub=${t('kpi.cache_read', { n: fmt.compact(s.cache_read_input_tokens) })} />
    <${Kpi} id="latency" label=${t('kpi.latency')} value=${fmt.ms(lat.p50)} sub=${p(lat)} />
    <${Kpi} id="ttfb" label=${t('kpi.ttfb')} value=${fmt.ms(ttfb.p50)} sub=${p(ttfb)} />
  </div>`;
}

function Trend({ d }) {
  const data = useMemo(() => {
    const x = d.buckets.map((b) => Date.parse(b.start) / 1000);
    return {
      x,
      series: [
        { label: t('kpi.requests'), values: d.buckets.map((b) => b.requests), color: '--c1', bars: true },
        { label: t('kpi.errors_short'), values: d.buckets.map((b) => b.errors), color: '--c6' },
        { label: t('kpi.cost'), values: d.buckets.map((b) => b.cost_usd), color: '--c3', axis: 1, fmt: fmt.usd },
      ],
    };
  }, [d, t('kpi.requests')]);
  return html`<${TimeChart} id="trend" x=${data.x} series=${data.series} yFmt=${[fmt.compact, fmt.usd]} step=${d.bucket === 'day' ? 86400 : 3600} />`;
}

function TokenKinds({ s }) {
  const kinds = [
    [t('tok.input'), s.input_tokens],
    [t('tok.output'), s.output_tokens],
    [t('tok.cache_write'), s.cache_creation_input_tokens],
    [t('tok.cache_read'), s.cache_read_input_tokens],
  ];
  const total = tokens(s) || 1;
  return html`<div class="hbar" data-figure="token-kinds">
    ${kinds.map(([label, v], i) => html`
      <div class="name">${label}</div>
      <div class="track"><span class=${'sw' + (i + 1)} style=${{ width: (100 * v) / total + '%' }}></span></div>
      <div class="val" data-kind=${i}>${fmt.num(v)} · ${fmt.pct(v / total, 0)}</div>`)}
  </div>`;
}

function ByModel({ rows }) {
  const top = rows.slice(0, 12);
  const parts = [
    { label: t('tok.input'), fmt: fmt.num },
    { label: t('tok.output'), fmt: fmt.num },
    { label: t('tok.cache_write'), fmt: fmt.num },
    { label: t('tok.cache_read'), fmt: fmt.num },
  ];
  const tokenRows = top.map((r) => ({
    name: r.key || t('common.none'),
    parts: [r.input_tokens, r.output_tokens, r.cache_creation_input_tokens, r.cache_read_input_tokens],
    label: fmt.compact(tokens(r)),
  }));
  const byCost = [...top].sort((a, b) => b.cost_usd - a.cost_usd);
  const maxCost = Math.max(1e-9, ...byCost.map((r) => r.cost_usd));
  return html`
    <h3>${t('overview.tokens')}</h3>
    <${StackedBars} rows=${tokenRows} parts=${parts} />
    <h3>${t('kpi.cost')}</h3>
    <div class="hbar" data-figure="cost-by-model">
      ${byCost.map((r, i) => html`
        <div class="name" title=${r.key}>${r.key || t('common.none')}</div>
        <div class="track"><span class=${'sw' + ((i % 8) + 1)} style=${{ width: (100 * r.cost_usd) / maxCost + '%' }}></span></div>
        <div class="val">${fmt.usd(r.cost_usd)}${r.unknown_cost_requests ? ' *' : ''}</div>`)}
    </div>
    ${byCost.some((r) => r.unknown_cost_requests) ? html`<p class="muted small">* ${t('overview.unknown_price')}</p>` : null}`;
}

function Failovers({ d }) {
  const rows = d.transitions || [];
  const total = d.requests_with_failover ?? rows.reduce((a, r) => a + r.count, 0);
  return html`<div>
    <div class="kpis"><${Kpi} id="failovers" label=${t('overview.failover_requests')} value=${fmt.num(total)} /></div>
    ${rows.length === 0 ? html`<div class="empty">${t('overview.no_failovers')}</div>` : html`
      <div class="table-wrap"><table class="data cards">
        <thead><tr><th>${t('overview.from')}</th><th>${t('overview.to')}</th><th>${t('overview.why')}</th><th class="num">${t('overview.count')}</th></tr></thead>
        <tbody>${rows.map((r) => html`<tr>
          <td data-label=${t('overview.from')}><span class="chip err">${r.from}</span></td>
          <td data-label=${t('overview.to')}><span class="chip">${r.to}</span></td>
          <td data-label=${t('overview.why')}>${r.reason}${r.disposition ? html` <span class="muted small">(${t('disp.' + r.disposition)})</span>` : null}</td>
          <td data-label=${t('overview.count')} class="num">${fmt.num(r.count)}</td></tr>`)}</tbody>
      </table></div>`}
    ${d.truncated ? html`<p class="muted small">${t('overview.failovers_truncated', { from: fmt.dateTime(d.covered_from) })}</p>` : null}
    <p class="small"><${Link} to="/requests" params=${{ range: '7d' }}>${t('overview.see_requests')}<//></p>
  </div>`;
}

// The cache hit ratio per endpoint over time. Each provider counts its prompt differently
// (Anthropic reports cache reads apart from input; OpenAI counts cached tokens inside the
// prompt): the server computes each ratio with its endpoint's own denominator.
function CacheRatio({ d }) {
  const data = useMemo(() => {
    const rows = d.rows || [];
    const xs = [...new Set(rows.map((r) => Date.parse(r.start)))].sort((a, b) => a - b);
    const names = [...new Set(rows.map((r) => r.endpoint || ''))];
    const denominators = [...new Set(rows.map((r) => r.denominator).filter(Boolean))];
    const each = denominators.length > 1;
    return {
      note: denominators.length === 1 ? t('cache.' + denominators[0]) : '',
      x: xs.map((v) => v / 1000),
      series: names.slice(0, 8).map((name, i) => {
        const mine = rows.filter((r) => (r.endpoint || '') === name);
        const by = new Map(mine.map((r) => [Date.parse(r.start), r.hit_ratio]));
        const denominator = mine[0] && mine[0].denominator;
        return {
          label: (name || t('common.none')) + (each && denominator ? ` (${t('cache.' + denominator)})` : ''),
          values: xs.map((x) => by.get(x) ?? null),
          color: '--c' + (i + 1),
          fmt: (v) => fmt.pct(v),
        };
      }),
    };
  }, [d, t('common.none')]);
  if (data.x.length === 0) return html`<div class="empty">${t('common.no_data')}</div>`;
  return html`<div>
    <${TimeChart} id="cache" x=${data.x} series=${data.series} yFmt=${[(v) => fmt.pct(v, 0), fmt.pct]} height=${200} />
    ${data.note ? html`<p class="muted small">${t('overview.cache_formula', { f: data.note })}</p>` : null}
  </div>`;
}

function Year({ d }) {
  const days = useMemo(() => {
    const m = new Map();
    for (const r of d.days || []) {
      const day = r.day || r.date;
      const v = r.tokens ?? r.total_tokens ?? tokens({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...r });
      if (day) m.set(day.slice(0, 10), v);
    }
    return m;
  }, [d]);
  const total = [...days.values()].reduce((a, b) => a + b, 0);
  return html`<div>
    <${Heatmap} days=${days} end=${Date.now()} valueFmt=${(v) => t('heat.tokens', { n: fmt.num(v) })} label=${t('overview.heatmap')} />
    <p class="muted small">${t('heat.total', { n: fmt.compact(total), days: fmt.num([...days.values()].filter((v) => v > 0).length) })}</p>
  </div>`;
}

