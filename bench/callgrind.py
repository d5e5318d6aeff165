#!/usr/bin/env python3
"""Instructions per request, counted by callgrind: the benchmark figure that does not move with
the machine's load (the same binary, inputs and environment give the same count), used to find
and check hot-path savings on VMs where wall-clock CPU time is noisy and `perf` has no counters.

    (cd bench && cargo build --release --bins)     # or bench/run.sh, which builds them
    python3 bench/callgrind.py                     # every scenario, prints the table
    SCENARIOS=json python3 bench/callgrind.py      # a subset (keys below: json, stream-audit, cc…)

For each scenario it starts the mock natively and Switchboard (bench-gateway, log to SQLite)
under `valgrind --tool=callgrind`, sends warm-up requests, zeroes the counters, sends the
measured requests at concurrency 1, waits for the log writer to commit them, dumps, and divides
the process's total instructions by the requests. The dumps are kept in bench/out/callgrind/
(`callgrind_annotate --inclusive=yes FILE` lists where the instructions go). Loopback only;
bounded counts; every process started is stopped.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

OUT = bench.OUT / "callgrind"
# (key, description, target in bench.py, body, mock chunks, requests)
SCENARIOS = [
    ("json-audit", "small JSON request, Anthropic passthrough, audit on (the default)", "switchboard", "small.json", 10, 2000),
    ("stream-audit", "12-event stream, Anthropic passthrough, audit on (the default)", "switchboard", "small-stream.json", 10, 400),
    ("json", "small JSON request, Anthropic passthrough", "switchboard-noaudit", "small.json", 10, 2000),
    ("stream", "12-event stream, Anthropic passthrough", "switchboard-noaudit", "small-stream.json", 10, 400),
    ("translate", "12-event stream, Anthropic in, OpenAI upstream", "switchboard-tr", "tr-stream.json", 10, 400),
    ("cc-audit", "200 KiB Claude Code request, Anthropic passthrough, audit on (the default)", "switchboard", "cc-200k.json", 10, 100),
    ("cc", "200 KiB Claude Code request, Anthropic passthrough", "switchboard-noaudit", "cc-200k.json", 10, 100),
    # The request path alone: the log writer discards what it gets, so no database work (whose
    # batching varies with the machine's load) is counted. Counts repeat to within a few hundred
    # instructions even on a busy machine: the figure to compare request-path changes by.
    ("json-nolog", "small JSON request, request path alone (audit captured, log discarded)", "switchboard-nolog", "small.json", 10, 2000),
    ("stream-nolog", "12-event stream, request path alone (audit captured, log discarded)", "switchboard-nolog", "small-stream.json", 10, 400),
    # Client keys on the request path: json-nolog with a key carrying two limits (a rate and a
    # budget), alone and among 1,000 keys. Compare with json-nolog.
    ("json-key", "small JSON request, request path alone, a client key with two limits", "switchboard-key", "small.json", 10, 2000),
    ("json-keys1000", "small JSON request, request path alone, the same key among 1,000", "switchboard-keys1000", "small.json", 10, 2000),
]


def total_ir(dump):
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {dump}")


def measure(key, target, body, chunks, requests, work):
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob(f"{key}.out*"):
        old.unlink()
    wrap = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={OUT / key}.out",
            "--dump-instr=no", "--collect-atstart=yes"]
    bench.mock_config(chunks=chunks, interval_us=0, latency_us=0)
    proc, url, headers, err = bench.start_ready(target, work, bench.OUT / body, wrap=wrap)
    if err:
        raise SystemExit(f"{target}: {err}")
    try:
        load = [str(bench.BIN / "bench-load"), "run", "--url", url, "--body", str(bench.OUT / body),
                "--concurrency", "1", "--max-secs", "300"]
        for h in headers:
            load += ["-H", h]
        subprocess.run(load + ["--requests", "200", "--warmup", "0"], check=True, capture_output=True)
        time.sleep(2)  # the warm-up's log batches are committed before counting starts
        subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True, capture_output=True)
        r = subprocess.run(load + ["--requests", str(requests), "--warmup", "0"], check=True,
                           capture_output=True, text=True)
        ok = bench.json.loads(r.stdout.strip().splitlines()[-1]).get("ok")
        time.sleep(2)  # the log writer commits the measured requests' rows
        subprocess.run(["callgrind_control", "--dump", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.stop()
    # `--dump` wrote the measured window to KEY.out.1; KEY.out (written at exit) is the shutdown.
    measured = OUT / f"{key}.out.1"
    if not measured.exists():
        raise SystemExit(f"no callgrind dump {measured}")
    return total_ir(measured), ok, measured


def main():
    only = [s for s in os.environ.get("SCENARIOS", "").split(",") if s]
    bench.make_fixtures()
    work = bench.OUT / "work"
    work.mkdir(exist_ok=True)
    mock = bench.start_mock("mock-callgrind", pinned=False)
    rows = []
    try:
        for key, desc, target, body, chunks, n in SCENARIOS:
            if only and key not in only:
                continue
            bench.log(f"callgrind: {desc} ({n} requests)")
            ir, ok, dump = measure(key, target, body, chunks, n, work)
            rows.append((desc, ok, ir, dump))
            bench.log(f"  {ir / max(ok or n, 1):,.0f} instructions per request ({dump.name})")
    finally:
        mock.stop()
    print("| scenario (log on) | requests | instructions per request |")
    print("|---|---|---|")
    for desc, ok, ir, dump in rows:
        print(f"| {desc} | {ok} | {ir / max(ok or 1, 1) / 1000:.1f}k |")


if __name__ == "__main__":
    main()
