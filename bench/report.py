"""Renders bench/out/results.json as the Markdown tables of docs/benchmarks.md.

`python3 bench/report.py [bench/out/results.json]` re-renders without re-running.
"""
import json
import sys
from pathlib import Path

PASS = ["direct", "nginx", "switchboard-noaudit", "switchboard", "switchboard-nolog", "litellm", "ccr", "portkey"]
TR = ["switchboard-tr", "litellm-tr", "ccr-tr", "portkey-tr"]
TITLE = {"direct": "mock direct", "nginx": "nginx (floor)", "switchboard": "Switchboard, defaults (log on, audit on)",
         "switchboard-nolog": "Switchboard, log off (audit capture on, not stored)",
         "switchboard-noaudit": "Switchboard, log on, audit off",  "litellm": "LiteLLM", "ccr": "claude-code-router",
         "portkey": "Portkey", "switchboard-tr": "Switchboard (log on, audit off)", "litellm-tr": "LiteLLM",
         "ccr-tr": "claude-code-router", "portkey-tr": "Portkey"}


def g(d, *path):
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def by_run(results):
    out = {}
    for r in results:
        out.setdefault(r["run"], {})[r["target"]] = r
    return out


def fmt(v, unit=""):
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    if abs(v) >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def rng(vals, unit=""):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None, "–"
    lo, hi = min(vals), max(vals)
    if fmt(lo) == fmt(hi):
        return (lo + hi) / 2, fmt(lo, unit)
    return (lo + hi) / 2, f"{fmt(lo)}–{fmt(hi, unit)}"


# Metrics: (label, function(run_map, target) -> value, unit, whether to show the ratio to nginx)
def lat(key, q, field="latency_us"):
    return lambda rm, t: g(rm.get(t), key, field, q)


def added(key, q, field="latency_us", base_key=None):
    def f(rm, t):
        v = g(rm.get(t), key, field, q)
        b = g(rm.get("direct"), base_key or key, field, q)
        return None if v is None or b is None else v - b
    return f


def cpu(key):
    return lambda rm, t: g(rm.get(t), key, "cpu", "cpu_us_per_req")


def val(key, field, scale=1.0):
    def f(rm, t):
        v = g(rm.get(t), key, field) if field else g(rm.get(t), key)
        return None if v is None else v * scale
    return f


MIB = 1 / 1024
PASS_METRICS = [
    ("added latency p50, c=1 (µs)", added("json_c1", "p50"), True),
    ("added latency p90, c=1 (µs)", added("json_c1", "p90"), True),
    ("added latency p99, c=1 (µs)", added("json_c1", "p99"), True),
    ("CPU per request, c=1 (µs)", cpu("json_c1"), True),
    ("CPU per request, c=1, schedstat cross-check (µs)", lambda rm, t: g(rm.get(t), "json_c1", "cpu", "sched_us_per_req"), True),
    ("CPU per request, c=64 (µs)", cpu("json_c64"), True),
    ("throughput, c=64 (req/s, one core for all)", val("json_c64", "rps"), True),
    ("latency p99, c=512 (ms)", lambda rm, t: (lambda v: v and v / 1000)(g(rm.get(t), "json_c512", "latency_us", "p99")), True),
    ("errors at c=512", val("json_c512", "errors"), False),
    ("200 KiB Claude Code request, added p50 (µs)", added("cc200k_c1", "p50"), True),
    ("200 KiB Claude Code request, CPU per request (µs)", cpu("cc200k_c1"), True),
    ("stream: added time to first token p50 (µs)", added("stream_c1", "p50", "ttft_us"), True),
    ("stream: added per-event delay p50 (µs)", added("stream_c1", "p50", "event_delay_us"), True),
    ("stream: added per-event delay p99 (µs)", added("stream_c1", "p99", "event_delay_us"), True),
    ("stream: per-event delay max (µs)", lat("stream_c1", "max", "event_delay_us"), False),
    ("stream: CPU per request, 12 events (µs)", cpu("stream_c1"), True),
    ("stream, 12 events unpaced: CPU per request (µs)", cpu("stream_burst_c1"), True),
    ("RSS idle (MiB)", val("rss_idle_kb", None, MIB), True),
    ("peak RSS after c=512 load (MiB)", val("hwm_load_kb", None, MIB), True),
    ("1,000 open streams: peak RSS, after the rows above (MiB)", val("streams1000", "rss_peak_kb", MIB), True),
    ("1,000 open streams: peak RSS, fresh process (MiB)", val("streams1000_fresh", "rss_peak_kb", MIB), True),
    ("1,000 open streams: completed / errors", None, False),
    ("1,000 open streams: per-event delay p99 (ms)", lambda rm, t: (lambda v: v and v / 1000)(g(rm.get(t), "streams1000", "event_delay_us", "p99")), True),
]
TR_METRICS = [
    ("added latency p50, JSON, c=1 (µs)", added("json_c1", "p50"), True),
    ("added latency p99, JSON, c=1 (µs)", added("json_c1", "p99"), True),
    ("CPU per request, JSON (µs)", cpu("json_c1"), True),
    ("stream: added time to first token p50 (µs)", added("stream_c1", "p50", "ttft_us"), True),
    ("stream: added per-event delay p99 (µs)", added("stream_c1", "p99", "event_delay_us"), True),
    ("stream: CPU per request, 12 chunks (µs)", cpu("stream_c1"), True),
    ("stream: CPU per request, schedstat cross-check (µs)", lambda rm, t: g(rm.get(t), "stream_c1", "cpu", "sched_us_per_req"), True),
    ("stream, 12 chunks unpaced: CPU per request (µs)", cpu("stream_burst_c1"), True),
    ("RSS idle (MiB)", val("rss_idle_kb", None, MIB), True),
]


def errors_of(results, t):
    e = [r.get("error") for r in results if r["target"] == t and r.get("error")]
    e += ["streaming rows: " + r["stream_error"] for r in results if r["target"] == t and r.get("stream_error")]
    return e


def table(results, targets, metrics, nginx_name="nginx"):
    runs = by_run(results)
    present = [t for t in targets if any(r["target"] == t for r in results)]
    if not present:
        return "(no target of this section was in the run: see `TARGETS`)", []
    head = "| metric | " + " | ".join(TITLE.get(t, t) for t in present) + " |"
    lines = [head, "|---|" + "---|" * len(present)]
    for label, f, ratio in metrics:
        cells = []
        for t in present:
            if f is None:  # streams completed / errors
                vals = [(g(rm.get(t), "streams1000", "ok"), g(rm.get(t), "streams1000", "errors"))
                        for rm in runs.values() if rm.get(t)]
                vals = [f"{a}/{b}" for a, b in vals if a is not None]
                cells.append(", ".join(vals) if vals else "–")
                continue
            if t == "direct" and label.startswith(("added", "stream: added", "200 KiB Claude Code request, added")):
                cells.append("(baseline)")
                continue
            vals = [f(rm, t) for rm in runs.values()]
            mid, text = rng(vals)
            if ratio and mid is not None and t not in (nginx_name, "direct"):
                nv = [f(rm, nginx_name) for rm in runs.values()]
                nmid, _ = rng(nv)
                if nmid:
                    text += f" ({mid / nmid:.1f}×)"
            cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    notes = []
    for t in present:
        errs = errors_of(results, t)
        if errs:
            notes.append(f"- **{TITLE.get(t, t)}** ({t}): not measured — {errs[0]}")
    return "\n".join(lines), notes


TARGETS = [  # (label, metric fn, target µs/MiB, worst-of-runs)
    ("added latency p50 ≤ 100 µs", added("json_c1", "p50"), 100),
    ("added latency p99 ≤ 250 µs", added("json_c1", "p99"), 250),
    ("CPU per request ≤ 60 µs (passthrough, c=1)", cpu("json_c1"), 60),
    ("added time to first token ≤ 300 µs", added("stream_c1", "p50", "ttft_us"), 300),
    ("every SSE event forwarded within 200 µs (added p99)", added("stream_c1", "p99", "event_delay_us"), 200),
    ("200 KiB request adds ≤ 600 µs (p50)", added("cc200k_c1", "p50"), 600),
    ("RSS idle ≤ 15 MiB", val("rss_idle_kb", None, MIB), 15),
    ("RSS with 1,000 open streams ≤ 60 MiB (fresh process)", val("streams1000_fresh", "rss_peak_kb", MIB), 60),
    ("RSS with 1,000 open streams ≤ 60 MiB (after c=512 and the 200 KiB requests)", val("streams1000", "rss_peak_kb", MIB), 60),
]


def target_check(results):
    runs = by_run(results)
    lines = ["| target | measured (runs) | verdict |", "|---|---|---|"]
    main = "switchboard-noaudit" if any(r["target"] == "switchboard-noaudit" and not r.get("error") for r in results) else "switchboard"
    checks = [(l, f, lim, main) for l, f, lim in TARGETS]
    checks.append(("CPU per request ≤ 150 µs (Anthropic → OpenAI, streaming, 12 events paced 1 ms)", cpu("stream_c1"), 150, "switchboard-tr"))
    checks.append(("CPU per request ≤ 150 µs (Anthropic → OpenAI, streaming, 12 events unpaced)", cpu("stream_burst_c1"), 150, "switchboard-tr"))
    for label, f, lim, t in checks:
        # Translation rows read the translated target but the passthrough `direct` baseline.
        vals = [f(rm, t) for rm in runs.values() if rm.get(t)]
        vals = [v for v in vals if v is not None]
        if not vals:
            lines.append(f"| {label} | – | not measured |")
            continue
        _, text = rng(vals)
        worst = max(vals)
        best = min(vals)
        if worst <= lim:
            verdict = "met"
        elif best <= lim:
            verdict = f"met in {sum(v <= lim for v in vals)} of {len(vals)} runs (worst {fmt(worst)}, {worst / lim:.1f}× the target)"
        else:
            by = fmt(best - lim) if fmt(best) == fmt(worst) else f"{fmt(best - lim)}–{fmt(worst - lim)}"
            verdict = f"**missed** by {by} ({best / lim:.1f}×" + ("" if fmt(best) == fmt(worst) else f"–{worst / lim:.1f}×") + " the target)"
        lines.append(f"| {label} | {text} | {verdict} |")
    lines.append(f"| (checked on: `{main}`) | | |")
    return "\n".join(lines)


# Issue 20's goals, as ratios to nginx in the same run: (label, metric fn, target, max ratio).
RATIO_GOALS = [
    ("CPU per request, c=1", cpu("json_c1"), "switchboard", 2.0),
    ("CPU per request, c=64", cpu("json_c64"), "switchboard", 2.0),
    ("added latency p50, c=1", added("json_c1", "p50"), "switchboard", 2.0),
    ("added latency p99, c=1", added("json_c1", "p99"), "switchboard", 2.0),
    ("200 KiB Claude Code request, added p50", added("cc200k_c1", "p50"), "switchboard", 2.0),
    ("200 KiB Claude Code request, CPU", cpu("cc200k_c1"), "switchboard", 2.0),
    ("1,000 open streams, peak RSS (fresh process)", val("streams1000_fresh", "rss_peak_kb", MIB), "switchboard", 2.0),
    ("CPU per request, c=1, log on, audit off", cpu("json_c1"), "switchboard-noaudit", 1.5),
    ("stream, 12 events paced: CPU, Anthropic → OpenAI (against nginx's paced passthrough)", cpu("stream_c1"), "switchboard-tr", 2.0),
]


def current_table(results, growth=None, idle=None):
    """One table: every goal of issue 20 with the figure, the floor, the verdict."""
    runs = by_run(results)
    lines = ["| figure | target | Switchboard | nginx (floor) | ratio | verdict |", "|---|---|---|---|---|---|"]
    for label, f, t, lim in RATIO_GOALS:
        vals = [f(rm, t) for rm in runs.values() if rm.get(t)]
        nv = [f(rm, "nginx") for rm in runs.values() if rm.get("nginx")]
        vals = [v for v in vals if v is not None]
        nv = [v for v in nv if v is not None]
        if not vals or not nv:
            lines.append(f"| {label} | ≤ {lim}× nginx | – | – | – | not measured |")
            continue
        mid, text = rng(vals)
        nmid, ntext = rng(nv)
        if not nmid:
            # The floor's figure rounded to nothing (QUICK runs count too few CPU ticks).
            lines.append(f"| {label} | ≤ {lim}× nginx | {text} | {ntext} | – | not measured (nginx 0) |")
            continue
        worst = max(vals) / nmid
        ratio = mid / nmid
        verdict = "met" if worst <= lim else ("**missed**" if min(vals) / nmid > lim else "met in some runs")
        lines.append(f"| {label} | ≤ {lim}× nginx | {text} | {ntext} | {ratio:.1f}× | {verdict} |")
    vals = [cpu("stream_burst_c1")(rm, "switchboard-tr") for rm in runs.values() if rm.get("switchboard-tr")]
    vals = [v for v in vals if v is not None]
    if vals:
        _, text = rng(vals)
        lines.append(f"| stream, 12 events unpaced: CPU, Anthropic → OpenAI (µs) | ≤ 150 µs | {text} | – | – | "
                     + ("met" if max(vals) <= 150 else "**missed**") + " |")
    if growth:
        c = growth["conversation"]
        r = c["stored_per_turn"] / c["new_per_turn"]
        lines.append(f"| audit storage per turn, {c['turns']}-turn Claude Code conversation ({c['text']} text) | "
                     f"≤ 2× the new bytes | {c['stored_per_turn'] / 1024:.1f} KiB stored per turn | "
                     f"{c['new_per_turn'] / 1024:.1f} KiB new | {r:.2f}× | {'met' if r <= 2 else '**missed**'} |")
        sm = growth["small"]["per_request"]
        lines.append(f"| small request: log row + audit data | ≤ 1 KiB | {sm:.0f} B | – | – | "
                     f"{'met' if sm <= 1024 else '**missed**'} |")
    if idle:
        kb = max(idle["big"]["rss_kb"])
        lines.append(f"| idle RSS, {idle['rows']:,} requests, after a maintenance run (MiB) | ≤ 20 MiB | "
                     f"{min(idle['big']['rss_kb']) / 1024:.1f}–{kb / 1024:.1f} | – | – | "
                     f"{'met' if kb <= 20 * 1024 else '**missed**'} |")
    return "\n".join(lines)


def render(info, results):
    t1, n1 = table(results, PASS, PASS_METRICS)
    t2, n2 = table(results, TR, TR_METRICS)
    runs = sorted({r["run"] for r in results})
    extra = {}
    for name in ("audit_growth", "idle_memory"):
        p = Path(__file__).parent / "out" / f"{name}.json"
        extra[name] = json.loads(p.read_text()) if p.exists() else None
    out = [
        "### The goals (issue 20)",
        "",
        current_table(results, extra["audit_growth"], extra["idle_memory"]),
        "",
        f"Machine: {info.get('nproc')} cores ({info.get('cpu')}), kernel {info.get('kernel')}, "
        f"{info.get('time')}; load average {info.get('load1'):.2f} at start, "
        f"{info.get('load1_end', 0):.2f} at end. Runs: {len(runs)}; each cell is the range over runs, "
        "(×) the ratio of its midpoint to nginx's.",
        "",
        "### Anthropic passthrough (`POST /v1/messages`)",
        "",
        t1,
        "",
        *n1,
        "",
        "### Translation: Anthropic in, OpenAI Chat Completions upstream",
        "",
        "Added figures are against the mock answered directly (Anthropic, same run); ratios are to "
        "nginx's passthrough figures (nginx does not translate).",
        "",
        t2,
        "",
        *n2,
        "",
        "### Switchboard against the targets (passthrough, logging on)",
        "",
        target_check(results),
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    p = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out" / "results.json")
    d = json.loads(p.read_text())
    print(render(d["machine"], d["results"]))
