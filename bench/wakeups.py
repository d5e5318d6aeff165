#!/usr/bin/env python3
"""Paced streams: CPU, sleeps and preemptions per stream, for each target: what a stream whose
events arrive 1 ms apart costs a proxy on one core, beside what it costs the mock that writes them.

    (cd bench && cargo build --release --bins)            # or bench/run.sh, which builds them
    python3 bench/wakeups.py                              # 200 streams: direct nginx switchboard-noaudit switchboard-tr
    N=400 python3 bench/wakeups.py nginx switchboard-tr   # other counts or targets (bench.py's names)

For each target it starts the mock and the target as bench.py does (pinned to one core), sends 50
warm-up streams of 12 events 1 ms apart at concurrency 1, then N measured ones, and reads the
proxy's and the mock's `voluntary_ctxt_switches` (sleeps) and `nonvoluntary_ctxt_switches`
(preemptions) summed over /proc/PID/task/*/status before and after. CPU per stream is bench-load's
schedstat figure. Loopback only; bounded counts; every process started is stopped.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def switches(pid):
    vol = invol = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                vol += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                invol += int(line.split()[1])
    return vol, invol


def main():
    n = int(os.environ.get("N", "200"))
    targets = sys.argv[1:] or ["direct", "nginx", "switchboard-noaudit", "switchboard-tr"]
    work = bench.OUT / "wakeups"
    work.mkdir(parents=True, exist_ok=True)
    bench.make_fixtures()
    mock = bench.start_mock("mock-wakeups")
    bench.mock_pid = mock.pid
    print("| per stream of 12 events 1 ms apart | CPU (µs) | proxy sleeps | proxy preempted "
          "| mock sleeps | mock preempted |")
    print("|---|---|---|---|---|---|")
    try:
        for name in targets:
            body = bench.OUT / ("tr-stream.json" if name.endswith("-tr") else "small-stream.json")
            proc, url, headers, err = bench.start_ready(name, work, body, limit=60)
            if err:
                print(f"| {name} | not measured: {err} | | | | |")
                continue
            try:
                bench.mock_config(chunks=10, interval_us=1000, latency_us=0)
                pid = proc.pid if proc else mock.pid
                bench.load("run", url, body, pid, f"{name}/warm", headers=headers, requests=50,
                           concurrency=1, max_secs=20)
                p0, m0 = switches(pid), switches(mock.pid)
                r = bench.load("run", url, body, pid, name, headers=headers, requests=n,
                               concurrency=1, max_secs=60)
                p1, m1 = switches(pid), switches(mock.pid)
                cpu = (r.get("cpu") or {}).get("sched_us_per_req")
                cells = [f"{cpu:.0f}" if cpu is not None else "–"]
                if proc:
                    cells += [f"{(p1[0] - p0[0]) / n:.1f}", f"{(p1[1] - p0[1]) / n:.1f}"]
                else:  # direct: the proxy is the mock
                    cells += ["–", "–"]
                cells += [f"{(m1[0] - m0[0]) / n:.1f}", f"{(m1[1] - m0[1]) / n:.1f}"]
                print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
            finally:
                if proc:
                    proc.stop()
    finally:
        mock.stop()


if __name__ == "__main__":
    main()
