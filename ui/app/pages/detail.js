// One request: what happened (attempt waterfall, stream timeline), what it cost, every body the
// audit captured, and Replay.
import { html, useState, useMemo } from '../lib.js';
import { get, post } from '../api.js';
import { t, fmt } from '../i18n.js';
import { useLoad, Loaded, StatusChip, Chain, Failed, copy } from '../ui.js';
import { Link } from '../router.js';
import { Waterfall } from '../waterfall.js';
import { Timeline, events, isToken } from '../timeline.js';
import { Body } from '../json.js';

export function Detail({ id }) {
  const state = useLoad(() => get('/api/requests/' + id), [id]);
  return html`
    <div class="page-head">
      <${Link} to="/requests">← ${t('nav.requests')}<//>
      <span class="spacer"></span>
    </div>
    <${Loaded} state=${state}>${(d) => html`<${Request} d=${d} />`}<//>`;
}

function Request({ d }) {
  const audit = d.audit || [];
  const streamed = useMemo(() => {
    const client = audit.find((a) => a.kind === 'client_response' && a.chunks && a.chunks.length);
    if (client) return { chunks: client.chunks, from: 'client' };
    const up = [...audit].reverse().find((a) => a.kind === 'upstream_response' && a.chunks && a.chunks.length);
    return up ? { chunks: up.chunks, from: 'upstream' } : null;
  }, [d]);
  return html`
    <div class="page-head">
      <h1 class="break">${d.requested_model || d.path}</h1>
      <${StatusChip} status=${d.status} outcome=${d.outcome} />
      ${d.replay_of ? html`<${Link} to=${'/requests/' + d.replay_of} class="chip info">${t('detail.replay_of')}<//>` : null}
      <span class="spacer"></span>
      <button type="button" class="small" onClick=${() => copy(d.id)} title=${d.id}>${t('detail.copy_id')}</button>
    </div>
    <div class="grid">
      <section class="card" id="summary">
        <h2>${t('detail.summary')}</h2>
        <dl class="kv">
          <dt>${t('detail.started')}</dt><dd>${fmt.dateTime(d.started_at)}</dd>
          <dt>${t('detail.route')}</dt><dd><span class="mono">${d.method} ${d.path}</span> · ${d.client_dialect}${d.stream ? ' · SSE' : ''}</dd>
          <dt>${t('col.model')}</dt><dd>${d.requested_model || '—'}${d.routed_model && d.routed_model !== d.requested_model ? ' → ' + d.routed_model : ''}</dd>
          <dt>${t('col.endpoint')}</dt><dd>${d.attempts && d.attempts.length > 1 ? html`<${Chain} attempts=${d.attempts} />` : d.endpoint || '—'}</dd>
          <dt>${t('col.latency')}</dt><dd>${fmt.ms(d.latency_ms)} · ${t('col.ttfb')} ${fmt.ms(d.ttfb_ms)}</dd>
          <dt>${t('detail.stop_reason')}</dt><dd>${d.stop_reason || '—'}</dd>
          ${d.error ? html`<dt>${t('detail.error')}</dt><dd class="break">${d.error}</dd>` : null}
          <dt>${t('detail.client')}</dt><dd class="break">${[d.client_addr, d.client_key, d.user_agent].filter(Boolean).join(' · ') || '—'}</dd>
          ${d.session_id ? html`<dt>${t('detail.session')}</dt><dd class="mono break">${d.session_id}</dd>` : null}
          <dt>${t('detail.size')}</dt><dd>${fmt.bytes(d.request_bytes)} ↑ · ${fmt.bytes(d.response_bytes)} ↓</dd>
          <dt>ID</dt><dd class="mono break">${d.id}</dd>
        </dl>
      </section>
      <section class="card" id="tokens">
        <h2>${t('detail.tokens_cost')}</h2>
        <${Tokens} d=${d} />
      </section>
    </div>
    <section class="card" id="attempts">
      <div class="card-head"><h2>${t('detail.waterfall')}</h2><span class="muted small">${t((d.attempts || []).length === 1 ? 'detail.attempt' : 'detail.attempts', { n: (d.attempts || []).length })}</span></div>
      <${Waterfall} record=${d} />
    </section>
    ${streamed ? html`<section class="card" id="stream">
      <div class="card-head"><h2>${t('detail.timeline')}</h2><span class="muted small">${t(streamed.from === 'client' ? 'tl.from_client' : 'tl.from_upstream')}</span></div>
      <${Timeline} chunks=${streamed.chunks} ttfb=${d.ttfb_ms} />
    </section>` : null}
    <section class="card" id="bodies">
      <h2>${t('detail.bodies')}</h2>
      ${audit.length === 0 ? html`<div class="notice">${t('detail.no_audit')}</div>` : html`<${Bodies} d=${d} audit=${audit} />`}
    </section>
    <${Replay} d=${d} />`;
}

function Tokens({ d }) {
  const kinds = [
    ['tok.input', d.input_tokens],
    ['tok.output', d.output_tokens],
    ['tok.cache_write', d.cache_creation_input_tokens],
    ['tok.cache_read', d.cache_read_input_tokens],
  ];
  const total = kinds.reduce((a, [, v]) => a + v, 0);
  return html`<div>
    <div class="hbar">
      ${kinds.map(([k, v], i) => html`<div class="name">${t(k)}</div>
        <div class="track"><span class=${'sw' + (i + 1)} style=${{ width: (100 * v) / Math.max(1, total) + '%' }}></span></div>
        <div class="val" data-tokens=${k}>${fmt.num(v)}</div>`)}
    </div>
    <dl class="kv" style=${{ marginTop: '12px' }}>
      <dt>${t('detail.total_tokens')}</dt><dd>${fmt.num(total)}</dd>
      <dt>${t('kpi.cost')}</dt><dd id="cost">${d.cost_usd == null ? t('detail.unknown_price') : fmt.usd(d.cost_usd)}</dd>
      ${d.cost_usd != null && total > 0 ? html`<dt>${t('detail.per_mtok')}</dt><dd>${fmt.usd((d.cost_usd * 1e6) / total)}</dd>` : null}
    </dl>
  </div>`;
}

// Bodies in the order they happened. A translated hop (its forwarded URL is not the client's
// path, or its dialect differs) is shown beside the client's side.
function Bodies({ d, audit }) {
  const client = audit.find((a) => a.kind === 'client_request');
  const clientResp = audit.find((a) => a.kind === 'client_response');
  const attempts = [...new Set(audit.filter((a) => a.attempt != null).map((a) => a.attempt))].sort((a, b) => a - b);
  const translated = (a) => a && a.url && !a.url.split('?')[0].endsWith(d.path);
  return html`<div>
    ${client ? html`<${Block} entry=${client} title=${t('body.client_request')} open=${true} />` : null}
    ${attempts.map((n) => {
      const req = audit.find((a) => a.kind === 'upstream_request' && a.attempt === n);
      const resp = audit.find((a) => a.kind === 'upstream_response' && a.attempt === n);
      const ep = (req && req.endpoint) || (resp && resp.endpoint) || '';
      const label = t('body.attempt', { n: n + 1, ep });
      if (translated(req) && client) {
        return html`<details class="body-block" open><summary>${label} <span class="chip info">${t('body.translated')}</span></summary>
          <div class="content sbs">
            <div><h3>${t('body.client_request')}</h3><${Body} text=${client.body} /></div>
            <div><h3>${t('body.forwarded')} ${req.url ? html`<span class="mono muted">${req.url}</span>` : null}</h3><${Body} text=${req.body} /></div>
            ${resp ? html`<div><h3>${t('body.upstream_response')} ${resp.status ?? ''}</h3><${Payload} entry=${resp} /></div>` : null}
            ${resp && clientResp ? html`<div><h3>${t('body.client_response')}</h3><${Payload} entry=${clientResp} /></div>` : null}
          </div></details>`;
      }
      return html`
        ${req ? html`<${Block} entry=${req} title=${label + ' · ' + t('body.forwarded')} />` : null}
        ${resp ? html`<${Block} entry=${resp} title=${label + ' · ' + t('body.upstream_response')} />` : null}`;
    })}
    ${clientResp ? html`<${Block} entry=${clientResp} title=${t('body.client_response')} />` : null}
  </div>`;
}

function Block({ entry, title, open = false }) {
  return html`<details class="body-block" open=${open} data-kind=${entry.kind}>
    <summary>${title}
      ${entry.status ? html`<span class=${'chip ' + (entry.status < 300 ? 'ok' : 'err')}>${entry.status}</span>` : null}
      ${entry.url ? html`<span class="mono muted small break">${entry.method || ''} ${entry.url}</span>` : null}
      ${entry.truncated ? html`<span class="chip warn">${t('body.truncated')}</span>` : null}
      ${entry.note ? html`<span class="muted small">${entry.note}</span>` : null}
    </summary>
    <div class="content">
      ${entry.headers && entry.headers.length ? html`<details class="headers"><summary class="muted small">${t('body.headers', { n: entry.headers.length })}</summary>
        <pre class="text small">${entry.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}</pre></details>` : null}
      <${Payload} entry=${entry} />
    </div>
  </details>`;
}

// A whole body as JSON or text; a stream as its events.
function Payload({ entry }) {
  if (entry.chunks && entry.chunks.length) {
    const evs = events(entry.chunks);
    return html`<div class="json">${evs.map((e) => html`<div class=${isToken(e) ? '' : 'muted'}><span class="p">${fmt.ms(e.at)} </span><span class="k">${e.name}</span> <span class="s">${e.data}</span></div>`)}</div>`;
  }
  return html`<${Body} text=${entry.body} />`;
}

// Replay: the logged request sent again, to its endpoint or another, and the two answers side
// by side.
function Replay({ d }) {
  const endpoints = useLoad(() => get('/api/admin/endpoints'), []);
  const names = useMemo(() => {
    const list = ((endpoints.data && endpoints.data.endpoints) || []).map((e) => e.name);
    for (const a of d.attempts || []) if (!list.includes(a.endpoint)) list.push(a.endpoint);
    return list;
  }, [endpoints.data, d]);
  const [endpoint, setEndpoint] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const target = endpoint || d.endpoint || names[0] || '';
  async function run() {
    setBusy(true);
    setError(null);
    try {
      setResult(await post(`/api/admin/requests/${d.id}/replay`, { endpoint: target }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return html`<section class="card" id="replay">
    <div class="card-head"><h2>${t('replay.title')}</h2><span class="muted small">${t('replay.note')}</span></div>
    <div class="toolbar">
      <label class="check">${t('replay.to')}
        <select name="replay-endpoint" value=${target} onChange=${(e) => setEndpoint(e.target.value)}>
          ${names.map((n) => html`<option value=${n}>${n}</option>`)}
        </select></label>
      <button type="button" class="primary" id="replay-run" disabled=${busy || !target} onClick=${run}>${busy ? t('replay.running') : t('replay.run')}</button>
    </div>
    <${Failed} error=${error} />
    ${result ? html`<div class="sbs" id="replay-result">
      <${Answer} title=${t('replay.original')} a=${result.original} />
      <${Answer} title=${t('replay.replayed', { ep: result.endpoint || target })} a=${result} />
    </div>` : null}
  </section>`;
}

function Answer({ title, a }) {
  if (!a) return null;
  return html`<div class="card" data-answer=${title}>
    <div class="card-head"><h2>${title}</h2>
      ${a.status ? html`<span class=${'chip ' + (a.status < 300 ? 'ok' : 'err')}>${a.status}</span>` : null}
      ${a.request_id ? html`<${Link} to=${'/requests/' + a.request_id} class="small">${t('replay.open')}<//>` : null}</div>
    <dl class="kv">
      <dt>${t('col.endpoint')}</dt><dd>${a.endpoint || '—'}${a.model ? ' · ' + a.model : ''}</dd>
      <dt>${t('col.tokens')}</dt><dd>${t('tok.input')} ${fmt.num(a.input_tokens)} · ${t('tok.output')} ${fmt.num(a.output_tokens)}</dd>
      <dt>${t('kpi.cost')}</dt><dd>${fmt.usd(a.cost_usd)}</dd>
      <dt>${t('replay.ttft')}</dt><dd>${fmt.ms(a.ttft_ms)}</dd>
      <dt>${t('detail.stop_reason')}</dt><dd>${a.stop_reason || '—'}</dd>
      ${a.error ? html`<dt>${t('detail.error')}</dt><dd class="break">${a.error}</dd>` : null}
    </dl>
    <h3>${t('replay.text')}</h3>
    <pre class="text answer-text">${a.text ?? ''}</pre>
  </div>`;
}
