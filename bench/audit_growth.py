#!/usr/bin/env python3
"""What audit costs on disk: a 100-turn Claude Code conversation through a default gateway (log
and audit on), and small requests.

    (cd bench && cargo build --release --bins)   # or bench/run.sh, which builds them
    python3 bench/audit_growth.py                # prints the table, writes bench/out/audit_growth.json
    TURNS=30 python3 bench/audit_growth.py       # shorter
    TEXT=random python3 bench/audit_growth.py    # text that does not compress

Conversation: the recorded Claude Code request (bench/fixtures) streamed; each turn appends the
previous answer as an assistant message and a new user message of ~1.9 KiB of prose-like text
(words drawn from a fixed vocabulary by a seeded generator; TEXT=random: random letters), with
Claude Code's `cache_control` marker moved to the new last user block, so the request grows by
~3.8 KiB a turn. The upstream is a mock in this script answering a stream of ~1.9 KiB of new text
in 20 deltas. New bytes per turn = the request's growth + the response body's bytes. Stored bytes
per turn = growth of the database's used pages (page_count - freelist_count, read through a
second connection, so the WAL's committed pages count) between turn 10 and the last, per turn;
dbstat splits it by table and index. The data directory's files are measured after a
`wal_checkpoint(TRUNCATE)` at both points. Small requests: 500 non-streaming requests of ~120 bytes,
answered with ~300 bytes, on a fresh gateway: used bytes per request.

Loopback only; bounded counts; every process started is stopped.
"""
import http.server
import json
import os
import random
import sqlite3
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

TURNS = int(os.environ.get("TURNS", "100"))
RANDOM_TEXT = os.environ.get("TEXT") == "random"
SMALL = int(os.environ.get("SMALL", "500"))
WORDS = ("the parser should retry when a stream ends early so we log it and move on before the "
         "next request arrives with its tools context cache tokens budget model endpoint failover "
         "answer question file test build error warning function module crate trait struct enum "
         "value field method call return result option vector string bytes header body chunk "
         "hash index table query page cursor limit offset order group count sum average").split()


def text(seed, n):
    rng = random.Random(seed)
    if RANDOM_TEXT:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ") for _ in range(n))
    out = []
    size = 0
    while size < n:
        w = rng.choice(WORDS)
        if rng.random() < 0.08:
            w += "."
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


class Mock(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    turn = 0

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        if not req.get("stream"):
            body = json.dumps({"id": "msg_bench", "type": "message", "role": "assistant",
                               "model": req.get("model", "m"), "content": [{"type": "text", "text": text(7, 200)}],
                               "stop_reason": "end_turn", "usage": {"input_tokens": 12, "output_tokens": 30}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        answer = text(10_000 + Mock.turn, 1900)
        Mock.turn += 1
        events = [("message_start", {"type": "message_start", "message": {
            "id": f"msg_{Mock.turn}", "type": "message", "role": "assistant", "model": req.get("model"),
            "content": [], "stop_reason": None, "usage": {"input_tokens": 5000, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}})]
        step = len(answer) // 20 + 1
        for i in range(0, len(answer), step):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": answer[i:i + step]}}))
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": 480}}),
                   ("message_stop", {"type": "message_stop"})]
        body = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_mock():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", bench.MOCK_PORT), Mock)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def checkpoint(db):
    """Moves the WAL's pages into the database file and truncates the WAL, so the data
    directory's size is the database's (the WAL otherwise holds ~4 MB at its high-water mark)."""
    c = sqlite3.connect(str(db), timeout=10)
    try:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        c.close()


def used(db):
    """Used bytes of the database (committed pages, WAL included), and by table/index."""
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page = c.execute("PRAGMA page_size").fetchone()[0]
        pages = c.execute("PRAGMA page_count").fetchone()[0] - c.execute("PRAGMA freelist_count").fetchone()[0]
        by = dict(c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        return pages * page, by
    finally:
        c.close()


def wait_rows(db, n, limit=30):
    """Until the log writer has committed `n` requests with their audit data."""
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                got = c.execute("SELECT count(*) FROM requests").fetchone()[0]
                tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                audit = "audit_request" if "audit_request" in tables else "audit"
                have = c.execute(f"SELECT count(DISTINCT request_id) FROM {audit}").fetchone()[0]
            finally:
                c.close()
            if got >= n and have >= n:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the writer did not commit {n} requests in {limit}s")


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def answer_text(sse):
    out = []
    for line in sse.decode().split("\n"):
        if line.startswith("data: "):
            d = json.loads(line[6:])
            if d.get("type") == "content_block_delta":
                out.append(d["delta"].get("text", ""))
    return "".join(out)


def conversation(work):
    proc, url, headers, err = bench.start_ready("switchboard", work, bench.OUT / "small.json")
    if err:
        raise SystemExit(f"switchboard: {err}")
    db = work / "switchboard-data" / "switchboard.db"
    hdrs = {"content-type": "application/json", **dict(h.split(": ", 1) for h in headers)}
    for h in (bench.BENCH / "fixtures" / "claude-code-headers.txt").read_text().splitlines():
        if h.strip():
            k, v = h.split(": ", 1)
            hdrs[k] = v
    try:
        wait_rows(db, 1)
        req = json.loads((bench.BENCH / "fixtures" / "claude-code-request.json").read_text())
        req["stream"] = True
        msgs = [m for m in req["messages"] if m.get("role") in ("user", "assistant")]
        req["messages"] = msgs
        marks = []
        new_total = 0
        prev_len = None
        for t in range(TURNS):
            for m in msgs:
                if isinstance(m["content"], list):
                    for b in m["content"]:
                        b.pop("cache_control", None)
            msgs.append({"role": "user", "content": [{"type": "text", "text": text(t, 1900),
                                                      "cache_control": {"type": "ephemeral"}}]})
            body = json.dumps(req).encode()
            sse = post(url, body, hdrs)
            grown = len(body) - prev_len if prev_len is not None else 0
            prev_len = len(body)
            msgs.append({"role": "assistant", "content": [{"type": "text", "text": answer_text(sse)}]})
            new_total += grown + len(sse)
            if t + 1 in (10, TURNS):
                wait_rows(db, t + 2)  # the warm-up request and this turn
                checkpoint(db)
                total, by = used(db)
                marks.append({"turn": t + 1, "new_bytes": new_total, "used": total, "by": by,
                              "request_bytes": len(body), "data_dir": sum(
                                  f.stat().st_size for f in db.parent.iterdir() if f.is_file())})
        a, b = marks[0], marks[-1]
        turns = b["turn"] - a["turn"]
        by = {k: (b["by"].get(k, 0) - a["by"].get(k, 0)) / turns for k in set(a["by"]) | set(b["by"])}
        return {"turns": TURNS, "text": "random" if RANDOM_TEXT else "prose",
                "new_per_turn": (b["new_bytes"] - a["new_bytes"]) / turns,
                "stored_per_turn": (b["used"] - a["used"]) / turns,
                "data_dir_per_turn": (b["data_dir"] - a["data_dir"]) / turns,
                "last_request_bytes": b["request_bytes"], "used_total": b["used"],
                "by_table_per_turn": dict(sorted(by.items(), key=lambda kv: -kv[1]))}
    finally:
        proc.stop()


def small(work):
    proc, url, headers, err = bench.start_ready("switchboard", work, bench.OUT / "small.json")
    if err:
        raise SystemExit(f"switchboard: {err}")
    db = work / "switchboard-data" / "switchboard.db"
    hdrs = {"content-type": "application/json", **dict(h.split(": ", 1) for h in headers)}
    body = (bench.OUT / "small.json").read_bytes()
    try:
        wait_rows(db, 1)
        for _ in range(50):
            post(url, body, hdrs)
        wait_rows(db, 51)
        a, aby = used(db)
        for _ in range(SMALL):
            post(url, body, hdrs)
        wait_rows(db, 51 + SMALL)
        b, bby = used(db)
        by = {k: (bby.get(k, 0) - aby.get(k, 0)) / SMALL for k in set(aby) | set(bby)}
        return {"requests": SMALL, "per_request": (b - a) / SMALL,
                "by_table": dict(sorted(by.items(), key=lambda kv: -kv[1]))}
    finally:
        proc.stop()


def main():
    bench.make_fixtures()
    work = bench.OUT / "work"
    work.mkdir(exist_ok=True)
    srv = start_mock()
    try:
        conv = conversation(work)
        sm = small(work)
    finally:
        srv.shutdown()
    out = {"conversation": conv, "small": sm}
    (bench.OUT / "audit_growth.json").write_text(json.dumps(out, indent=1))
    kib = lambda v: f"{v / 1024:.1f} KiB"  # noqa: E731
    print(f"| {conv['turns']}-turn Claude Code conversation ({conv['text']} text) | per turn |")
    print("|---|---|")
    print(f"| new bytes (request growth + response body) | {kib(conv['new_per_turn'])} |")
    print(f"| stored: database pages used | {kib(conv['stored_per_turn'])} "
          f"({conv['stored_per_turn'] / conv['new_per_turn']:.2f}× the new bytes) |")
    print(f"| data directory (files, after a WAL checkpoint) | {kib(conv['data_dir_per_turn'])} |")
    for k, v in list(conv["by_table_per_turn"].items())[:8]:
        if v:
            print(f"| … of which `{k}` | {kib(v)} |")
    print(f"| last request body | {kib(conv['last_request_bytes'])} |")
    print()
    print(f"| small request (~120 B in, ~300 B out), {sm['requests']} requests | bytes per request |")
    print("|---|---|")
    print(f"| database pages used | {sm['per_request']:.0f} |")
    for k, v in list(sm["by_table"].items())[:10]:
        if v:
            print(f"| … of which `{k}` | {v:.0f} |")


if __name__ == "__main__":
    main()
