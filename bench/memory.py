#!/usr/bin/env python3
"""The gateway's RSS through the 1,000-streams phase, sampled every 50 ms: where the bench's peak
comes from (the streams opening, or the streams held), and what an earlier burst leaves behind.

    (cd bench && cargo build --release --bins)   # or bench/run.sh, which builds them
    python3 bench/memory.py                      # fresh process, then after the burst
    BURST=0 python3 bench/memory.py              # fresh process only
    MASSIF=1 python3 bench/memory.py             # under valgrind's massif (a glibc build)

It starts the mock and one Switchboard target of bench.py (TARGET, default switchboard-noaudit),
optionally runs the bench's earlier phases first (c=64 and c=512 small requests, the 200 KiB
requests, the c=1 streams; a quarter of the counts under massif), then opens 1,000 streams of 50
events 200 ms apart (20 events a second apart under massif) and prints RSS when they are all
open, the steady level, the peak and when it came, and the RSS profile's steps. Under massif it
takes detailed snapshots (`vgdb ... detailed_snapshot`) before the streams and while they are
open, into bench/out/memory/; `ms_print FILE` reads them. A build whose global allocator is
jemalloc shows massif nothing: build the bench gateway without its `#[global_allocator]` for
that. Loopback only; bounded counts; every process started is stopped.
"""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

OUT = bench.OUT / "memory"
MASSIF = os.environ.get("MASSIF") == "1"
TARGET = os.environ.get("TARGET", "switchboard-noaudit")


def mib(kb):
    return f"{kb / 1024:.1f} MiB"


def measure(burst, work):
    tag = "burst" if burst else "fresh"
    wrap = None
    if MASSIF:
        wrap = ["valgrind", "--tool=massif", "--threshold=0.3", f"--massif-out-file={OUT / tag}.massif"]
    bench.mock_config(chunks=10, interval_us=1000, latency_us=0)
    proc, url, headers, err = bench.start_ready(TARGET, work, bench.OUT / "small.json", wrap=wrap)
    if err:
        raise SystemExit(f"{TARGET}: {err}")
    try:
        time.sleep(1.0)
        pid = proc.pid
        print(f"{tag}: idle {mib(bench.rss_kb(pid))}", flush=True)

        def go(mode, body, **kw):
            r = bench.load(mode, url, bench.OUT / body, pid, f"{TARGET}/{tag}", headers=headers, **kw)
            if r.get("error") or r.get("errors"):
                print(f"  {mode} {body}: {r.get('errors')} errors {r.get('error', '')}", flush=True)
            return r

        s = 4 if MASSIF else 1
        if burst:
            go("run", "small.json", requests=bench.N["c64"] // s, concurrency=64, warmup=100, max_secs=60)
            go("run", "small.json", requests=bench.N["c512"] // s, concurrency=512, warmup=512, max_secs=90)
            go("run", "cc-200k.json", requests=bench.N["cc"] // s, concurrency=1, warmup=10, max_secs=60)
            bench.mock_config(chunks=10, interval_us=0)
            go("run", "small-stream.json", requests=bench.N["stream"] // s, concurrency=1, warmup=10, max_secs=60)
            time.sleep(3)
            print(f"{tag}: before the streams {mib(bench.rss_kb(pid))}", flush=True)
        if MASSIF:
            subprocess.run(["vgdb", f"--pid={pid}", "detailed_snapshot", str(OUT / f"{tag}-before.snapshot")],
                           capture_output=True)
            bench.mock_config(chunks=20, interval_us=1_000_000)
        else:
            bench.mock_config(chunks=50, interval_us=200_000)
        samples = []
        stop = threading.Event()

        def sample():
            t0 = time.monotonic()
            while not stop.is_set():
                samples.append((time.monotonic() - t0, bench.rss_kb(pid)))
                if MASSIF and len(samples) == 240:  # 12 s in: every stream open
                    subprocess.run(["vgdb", f"--pid={pid}", "detailed_snapshot",
                                    str(OUT / f"{tag}-streams.snapshot")], capture_output=True)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        r = go("streams", "small-stream.json", n=bench.N["streams"], max_secs=90)
        stop.set()
        sampler.join()
    finally:
        bench.mock_config(chunks=10, interval_us=1000)
        proc.stop()
    peak_t, peak = max(samples, key=lambda x: x[1])
    open_s = r.get("all_open_after_s") or 0
    held = [kb for t, kb in samples if open_s + 2 <= t <= open_s + 8]
    print(f"{tag}: {r.get('ok')} streams completed; all open after {open_s:.2f} s at "
          f"{mib(r.get('rss_all_open_kb') or 0)}; held {mib(min(held))}–{mib(max(held))} "
          f"(2–8 s after); peak {mib(peak)} at {peak_t:.2f} s", flush=True)
    last = 0
    for t, kb in samples:
        if abs(kb - last) >= 1024:
            print(f"  {t:6.2f} s  {mib(kb)}")
            last = kb


def main():
    bench.make_fixtures()
    OUT.mkdir(parents=True, exist_ok=True)
    work = bench.OUT / "work"
    work.mkdir(exist_ok=True)
    mock = bench.start_mock("mock-memory", pinned=False)
    try:
        measure(False, work)
        if os.environ.get("BURST", "1") != "0":
            measure(True, work)
    finally:
        mock.stop()


if __name__ == "__main__":
    main()
