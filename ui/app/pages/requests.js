// Requests: the log as a live table. The first page follows /api/live (new rows appear without a
// reload); the feed pauses while the tab is hidden or the user pages back, and resumes from the
// last event it saw. Lists carry no bodies; the detail page loads them.
import { html, useEffect, useRef, useState } from '../lib.js';
import { get, follow, qs } from '../api.js';
import { t, fmt } from '../i18n.js';
import { Failed, StatusChip, Chain } from '../ui.js';
import { useFilters, RangePicker, FilterBar } from '../filters.js';
import { go, href } from '../router.js';

const PAGE = 50;

export function Requests() {
  const f = useFilters('24h');
  const cursor = f.params.get('cursor') || '';
  const key = JSON.stringify(f.api) + cursor;
  const [page, setPage] = useState({ records: undefined, next: null, error: null });
  const [fresh, setFresh] = useState(new Set());
  const [feed, setFeed] = useState('paused');
  const [hidden, setHidden] = useState(document.hidden);
  const [stack, setStack] = useState([]); // cursors of the pages before this one
  const lastId = useRef(null);
  const followed = useRef(false); // the feed ran before (a resume, not the first start)
  const [reloads, setReloads] = useState(0);

  // The page.
  useEffect(() => {
    let live = true;
    setPage((p) => ({ ...p, error: null }));
    get('/api/requests', { ...f.api, limit: PAGE, cursor })
      .then((d) => { if (live) setPage({ records: d.records, next: d.next_cursor, error: null }); })
      .catch((error) => { if (live) setPage({ records: [], next: null, error }); });
    return () => { live = false; };
  }, [key, reloads]);

  useEffect(() => {
    const on = () => setHidden(document.hidden);
    document.addEventListener('visibilitychange', on);
    return () => document.removeEventListener('visibilitychange', on);
  }, []);

  // The live feed: first page only, tab visible. New and updated rows are merged in.
  const following = !cursor && !hidden && page.records !== undefined && !page.error;
  useEffect(() => {
    if (!following) {
      setFeed(cursor ? 'paged' : 'paused');
      return undefined;
    }
    // Resuming: the server replays what was missed after the last event id; without one (a
    // feed that sent no ids yet), the first page is read again instead.
    if (followed.current && !lastId.current) setReloads((n) => n + 1);
    followed.current = true;
    const { q, ...filters } = f.api; // the feed has no free-text search; rows are filtered below
    const s = follow('/api/live' + qs(filters), {
      lastEventId: lastId.current,
      onState: (st) => setFeed(st === 'open' ? 'live' : st === 'closed' ? 'paused' : 'retrying'),
      onEvent: (name, data, id) => {
        if (id) lastId.current = id;
        if (name !== 'request' || !data || !data.id) return;
        if (q && !matchesText(data, q)) return;
        setPage((p) => {
          const records = p.records || [];
          const at = records.findIndex((r) => r.id === data.id);
          let next;
          if (at >= 0) {
            next = records.slice();
            next[at] = data;
          } else {
            next = [data, ...records];
            if (next.length > PAGE * 4) next = next.slice(0, PAGE * 4);
          }
          return { ...p, records: next };
        });
        setFresh((s0) => new Set(s0).add(data.id));
      },
    });
    return () => s.close();
  }, [following, JSON.stringify(f.api)]);

  const older = () => {
    setStack([...stack, cursor]);
    f.set({ cursor: page.next });
  };
  const newer = () => {
    const prev = stack.slice(0, -1);
    const c = stack[stack.length - 1] || '';
    setStack(prev);
    f.set({ cursor: c });
  };
  const exportQs = (format) => '/api/export' + qs({ ...f.api, format });

  return html`
    <div class="page-head">
      <h1>${t('requests.title')}</h1>
      <span class=${'chip ' + (feed === 'live' ? 'ok' : feed === 'retrying' ? 'warn' : '')} id="feed-state">
        <span class=${'dot ' + (feed === 'live' ? 'live' : '')}></span>${t('feed.' + feed)}</span>
      <span class="spacer"></span>
      <a class="btn small" href=${exportQs('csv')} download>CSV</a>
      <a class="btn small" href=${exportQs('json')} download>JSON</a>
      <a class="btn small" href=${exportQs('ndjson')} download>NDJSON</a>
      <a class="btn small" href=${'/api/report' + qs({ ...f.api, format: 'html' })} target="_blank" rel="noopener">${t('requests.report')}</a>
      <a class="btn small" href=${'/api/report' + qs({ ...f.api, format: 'markdown' })} download="switchboard-report.md">${t('requests.report_md')}</a>
    </div>
    <${RangePicker} f=${f} />
    <${FilterBar} f=${f} search=${true} />
    ${page.error ? html`<${Failed} error=${page.error} />` : null}
    <div class="card">
      ${page.records === undefined ? html`<div class="empty">${t('common.loading')}</div>`
        : page.records.length === 0 ? html`<div class="empty">${t('requests.none')}</div>`
        : html`<${Table} records=${page.records} fresh=${fresh} />`}
      <div class="pager">
        ${cursor ? html`<button type="button" onClick=${newer}>${t('requests.newer')}</button>` : null}
        ${page.next ? html`<button type="button" onClick=${older}>${t('requests.older')}</button>` : null}
      </div>
    </div>`;
}

function matchesText(r, q) {
  const needle = q.toLowerCase();
  return [r.error, r.requested_model, r.routed_model, r.endpoint].some((v) => v && v.toLowerCase().includes(needle));
}

function tokensOf(r) {
  return r.input_tokens + r.output_tokens + r.cache_creation_input_tokens + r.cache_read_input_tokens;
}

function Table({ records, fresh }) {
  const open = (e, id) => {
    if (e.target.closest('a') || e.metaKey || e.ctrlKey) return;
    go('/requests/' + id);
  };
  return html`<div class="table-wrap"><table class="data cards" id="requests-table">
    <thead><tr>
      <th>${t('col.time')}</th><th>${t('col.model')}</th><th>${t('col.endpoint')}</th><th>${t('col.status')}</th>
      <th class="num">${t('col.latency')}</th><th class="num">${t('col.ttfb')}</th><th class="num">${t('col.tokens')}</th><th class="num">${t('col.cost')}</th>
    </tr></thead>
    <tbody>${records.map((r) => html`
      <tr key=${r.id} class=${'clickable' + (fresh.has(r.id) ? ' fresh' : '')} data-id=${r.id} onClick=${(e) => open(e, r.id)}>
        <td data-label=${t('col.time')} class="nowrap"><a href=${href('/requests/' + r.id)} title=${fmt.dateTime(r.started_at)}
          onClick=${(e) => { e.preventDefault(); go('/requests/' + r.id); }}>${fmt.when(r.started_at)}</a>
          ${r.stream ? html` <span class="chip small" title=${t('filter.streamed')}>SSE</span>` : null}
          ${r.replay_of ? html` <span class="chip info small">${t('requests.replay')}</span>` : null}</td>
        <td data-label=${t('col.model')}><span class="break">${r.requested_model || '—'}</span>
          ${r.routed_model && r.routed_model !== r.requested_model ? html`<span class="muted small"> → ${r.routed_model}</span>` : null}</td>
        <td data-label=${t('col.endpoint')}>${r.attempts && r.attempts.length > 1 ? html`<${Chain} attempts=${r.attempts} />` : (r.endpoint || '—')}</td>
        <td data-label=${t('col.status')}><${StatusChip} status=${r.status} outcome=${r.outcome} /></td>
        <td data-label=${t('col.latency')} class="num">${fmt.ms(r.latency_ms)}</td>
        <td data-label=${t('col.ttfb')} class="num">${fmt.ms(r.ttfb_ms)}</td>
        <td data-label=${t('col.tokens')} class="num" title=${`${t('tok.input')} ${r.input_tokens} · ${t('tok.output')} ${r.output_tokens} · ${t('tok.cache_write')} ${r.cache_creation_input_tokens} · ${t('tok.cache_read')} ${r.cache_read_input_tokens}`}>${fmt.compact(tokensOf(r))}</td>
        <td data-label=${t('col.cost')} class="num">${fmt.usd(r.cost_usd)}</td>
      </tr>`)}</tbody>
  </table></div>`;
}
