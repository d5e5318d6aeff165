#!/usr/bin/env python3
"""Idle memory on a large database, after a maintenance run (issue 20: a gateway restarted on a
big database idled at 83-85 MiB, 14-17 on a fresh one, because the maintenance job's scan at
start filled the read connections' page caches and kept them).

    (cd bench && cargo build --release --bins)   # or bench/run.sh, which builds them
    python3 bench/idle_memory.py                 # 1,000,000 requests with audit data
    ROWS=100000 python3 bench/idle_memory.py     # smaller, to try it out

`bench-bigdb` generates the database once (bench/out/bigdb, ~1 GiB for 1M requests: each with
the audit data of the bench's small request and its prompt text, over the last 15 days, so one
day of it is past the default 14-day audit retention). Each run copies it, starts a default
gateway (log and audit on) on the copy, waits for the maintenance run it does at start (the
`switchboard_audit_stored_bytes` gauge is set at its end), then reads the gateway's RSS 5, 6 and
7 s later. A fresh gateway's idle RSS is read beside it. Loopback only; every process started is
stopped.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

ROWS = int(os.environ.get("ROWS", "1000000"))
DB = bench.OUT / "bigdb"


def audit_gauge(base):
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("switchboard_audit_stored_bytes "):
                return int(float(line.split()[1]))
    return 0


def idle(work, data, maintenance=True):
    t0 = time.time()
    proc, url, _, err = bench.start_ready("switchboard", work, bench.OUT / "small.json", data=data)
    if err:
        raise SystemExit(f"switchboard: {err}")
    base = url.rsplit("/v1/", 1)[0]
    try:
        started = bench.rss_kb(proc.pid)
        deadline = time.time() + 900
        while maintenance and audit_gauge(base) == 0 and time.time() < deadline:
            time.sleep(0.5)
        maint_s = time.time() - t0
        samples = []
        time.sleep(5)
        for _ in range(3):
            samples.append(bench.rss_kb(proc.pid))
            time.sleep(1)
        return {"rss_kb": samples, "rss_at_start_kb": started, "maintenance_done_after_s": maint_s,
                "audit_bytes": audit_gauge(base)}
    finally:
        proc.stop()


def main():
    bench.make_fixtures()
    work = bench.OUT / "work"
    work.mkdir(exist_ok=True)
    subprocess.run([str(bench.BIN / "bench-bigdb"), "--rows", str(ROWS), "--dir", str(DB)], check=True)
    mock = bench.start_mock("mock-idle", pinned=False)
    try:
        fresh = idle(work, None, maintenance=False)
        data = work / "bigdb-run"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        shutil.copy(DB / "switchboard.db", data / "switchboard.db")
        size = (data / "switchboard.db").stat().st_size
        big = idle(work, data)
        after = (data / "switchboard.db").stat().st_size
    finally:
        mock.stop()
    out = {"rows": ROWS, "db_bytes": size, "db_bytes_after": after, "fresh": fresh, "big": big}
    (bench.OUT / "idle_memory.json").write_text(json.dumps(out, indent=1))
    mib = lambda kb: f"{kb / 1024:.1f}"  # noqa: E731
    print(f"| idle RSS (MiB), default gateway (log and audit on) | measured |")
    print("|---|---|")
    print(f"| fresh data directory | {mib(min(fresh['rss_kb']))}–{mib(max(fresh['rss_kb']))} |")
    print(f"| {ROWS:,} requests ({size / 2**20:.0f} MiB database), after the maintenance run "
          f"({big['maintenance_done_after_s']:.0f} s after start) | "
          f"{mib(min(big['rss_kb']))}–{mib(max(big['rss_kb']))} |")


if __name__ == "__main__":
    main()
