#!/usr/bin/env python3
"""Runs the Switchboard benchmark: mock upstream, nginx floor, Switchboard and its peers, one
after another on one pinned core, and prints the results table.

Called by bench/run.sh after the build and installs. Standard library only.
Every load is bounded in count and wall time; every server started here is stopped here (by the
process group id it was started with). Loopback only.

Environment: RUNS (default 2), CORE (default 0), QUICK=1 (smaller counts, for trying it out),
TARGETS (comma list to restrict, e.g. "direct,nginx,switchboard"), BENCH_PORT_BASE (default
18000: the mock's port; the targets' are above it).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", "/work/target-bench"))
BIN = TARGET_DIR / "release"
CORE = os.environ.get("CORE", "0")
RUNS = int(os.environ.get("RUNS", "2"))
QUICK = os.environ.get("QUICK") == "1"
ONLY = [t for t in os.environ.get("TARGETS", "").split(",") if t]

# BENCH_PORT_BASE moves every port (default 18000), so two checkouts can run the bench at once.
_BASE = int(os.environ.get("BENCH_PORT_BASE", "18000"))
MOCK_PORT = _BASE
PORTS = {name: _BASE + off for name, off in {
    "nginx": 100, "switchboard": 200, "switchboard-nolog": 210, "switchboard-tr": 220,
    "switchboard-noaudit": 230, "litellm": 300, "litellm-tr": 310, "ccr": 400, "ccr-tr": 410,
    "portkey": 500, "portkey-tr": 510, "switchboard-key": 240, "switchboard-keys1000": 250}.items()}
# Switchboard with client keys (the request path alone, as switchboard-nolog): one key with two
# limits (a rate and a budget) that the requests use, among this many keys.
KEY_TARGETS = {"switchboard-key": 1, "switchboard-keys1000": 1000}

N = {  # request counts (QUICK divides them)
    "c1": 4000, "c64": 12000, "c512": 12000, "cc": 1500, "stream": 400, "streams": 1000,
}
if QUICK:
    N = {k: max(50, v // 8) for k, v in N.items()}
    N["streams"] = 200


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def pin(cmd):
    return ["taskset", "-c", CORE] + cmd


# ------------------------------------------------------------------------------------ fixtures

def make_fixtures():
    OUT.mkdir(exist_ok=True)
    small = {"model": "claude-opus-5-5", "max_tokens": 256,
             "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}
    (OUT / "small.json").write_text(json.dumps(small))
    (OUT / "small-stream.json").write_text(json.dumps({**small, "stream": True}))
    tr = {**small, "model": "bench-openai"}
    (OUT / "tr.json").write_text(json.dumps(tr))
    (OUT / "tr-stream.json").write_text(json.dumps({**tr, "stream": True}))
    # Claude Code request (captured from Claude Code 2.1, bench/fixtures) grown to ~200 KiB with
    # a longer system prompt and more tools, as long sessions with many MCP tools look.
    cc = json.loads((BENCH / "fixtures" / "claude-code-request.json").read_text())
    cc["stream"] = False
    para = ("When working in this repository, follow the conventions in CONTRIBUTING and the "
            "style guide; prefer small, reviewable changes; run the test suite before "
            "declaring a task done; never commit secrets; explain non-obvious decisions in "
            "comments that say why, not what. ")
    tools = list(cc.get("tools", []))
    i = 0
    while len(json.dumps(cc).encode()) < 160 * 1024 and tools:
        t = json.loads(json.dumps(tools[i % len(tools)]))
        t["name"] = f"mcp__bench_{i}__{t.get('name', 'tool')}"
        cc["tools"].append(t)
        i += 1
    need = 200 * 1024 - len(json.dumps(cc).encode())
    if need > 0:
        text = (para * (need // len(para) + 1))[:need - 40]
        cc["system"].append({"type": "text", "text": text})
    data = json.dumps(cc).encode()
    (OUT / "cc-200k.json").write_bytes(data)
    hdrs = [line for line in (BENCH / "fixtures" / "claude-code-headers.txt").read_text().splitlines()
            if line.strip()]
    log(f"fixtures: claude-code body {len(data)} bytes, {len(cc['tools'])} tools")
    return hdrs


# ------------------------------------------------------------------------------------ processes

class Proc:
    def __init__(self, name, cmd, env=None, cwd=None, log_name=None):
        self.name = name
        f = open(OUT / f"{log_name or name}.log", "wb")
        self.p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=8)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(timeout=5)


def post(url, body, headers, timeout=10):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"content-type": "application/json", **headers})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wait_ready(url, body, headers, proc, limit=90):
    deadline = time.time() + limit
    last = None
    while time.time() < deadline:
        if proc is not None and not proc.alive():
            return f"exited (see bench/out/{proc.name}.log)"
        try:
            st, b = post(url, body, headers, timeout=10)
            if st == 200:
                return None
            last = f"HTTP {st}: {b[:200]!r}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}: {e.read()[:300]!r}"
        except Exception as e:  # noqa: BLE001 - any failure means "not ready yet"
            last = str(e)
        time.sleep(0.5)
    return f"not ready after {limit}s: {last}"


def start_mock(label, pinned=True):
    """Starts the mock upstream and waits until it answers; exits if it does not."""
    cmd = [str(BIN / "bench-mock"), "--listen", f"127.0.0.1:{MOCK_PORT}"]
    mock = Proc(label, pin(cmd) if pinned else cmd)
    err = wait_ready(f"http://127.0.0.1:{MOCK_PORT}/v1/messages", b"{}", {}, mock, limit=10)
    if err:
        mock.stop()
        sys.exit(f"mock did not start: {err}")
    return mock


def start_ready(name, work, body, wrap=None, limit=120, data=None):
    """`start_target`, then `wait_ready` with the request in file `body`: (proc or None, messages
    URL, request headers with AUTH, error). A target that does not get ready is stopped."""
    proc, base, hdrs, err = start_target(name, work, wrap=wrap, data=data)
    if err:
        return None, None, [], err
    url = f"{base}/v1/messages"
    # A target with a client key of its own sends it instead of the shared one.
    headers = hdrs if any(h.startswith("x-api-key:") for h in hdrs) else hdrs + AUTH
    err = wait_ready(url, Path(body).read_bytes(), dict(h.split(": ", 1) for h in headers), proc, limit=limit)
    if err and proc:
        proc.stop()
    return proc, url, headers, err


def rss_kb(pid, key="VmRSS:"):
    total = 0
    for p in tree(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith(key):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                s = open(f"/proc/{d}/stat").read()
                pp = int(s[s.rfind(")") + 2:].split()[1])
                kids.setdefault(pp, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, i = [root], 0
    while i < len(out):
        out += kids.get(out[i], [])
        i += 1
    return out


def mock_config(**kv):
    q = "&".join(f"{k}={v}" for k, v in kv.items())
    post(f"http://127.0.0.1:{MOCK_PORT}/_mock/config?{q}", b"", {})


def load(mode, url, body, pid, label, headers=(), **kw):
    cmd = pin([str(BIN / "bench-load"), mode, "--url", url, "--body", str(body), "--label", label])
    if pid:
        cmd += ["--pid", str(pid)]
    for h in headers:
        cmd += ["-H", h]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=int(kw.get("max_secs", 60)) + 60)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"load generator failed: {r.stderr[-300:]}"}


# ------------------------------------------------------------------------------------ targets

def write(path, text):
    path.write_text(text)
    return path


def start_target(name, work, wrap=None, data=None):
    """Starts a target; returns (proc or None, url_base, extra headers, error). `wrap` replaces
    the pinning prefix of a Switchboard target's command (bench/callgrind.py runs it under
    valgrind); `data` is a Switchboard data directory to start on as it is (by default a fresh
    one)."""
    port = PORTS.get(name)
    mock = f"http://127.0.0.1:{MOCK_PORT}"
    if name == "direct":
        return None, mock, [], None
    if name == "nginx":
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            return None, None, [], "nginx not installed"
        conf = write(work / "nginx.conf", f"""
daemon off; master_process off; worker_processes 1; error_log {work}/nginx-error.log warn;
pid {work}/nginx.pid;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-body; proxy_temp_path {work}/nginx-proxy;
  client_max_body_size 64m; client_body_buffer_size 1m;
  upstream mock {{ server 127.0.0.1:{MOCK_PORT}; keepalive 1024; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096; keepalive_requests 1000000;
    location / {{
      proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_read_timeout 600s;
    }}
  }}
}}
""")
        return Proc(name, pin([nginx, "-c", str(conf), "-p", str(work)])), f"http://127.0.0.1:{port}", [], None
    if name.startswith("switchboard"):
        tr = name == "switchboard-tr"
        ep = (f'kind = "openai"\nbase_url = "{mock}/v1"\napi_key = "sk-bench"\n'
              f'[endpoints.models]\n"*" = "gpt-bench"\n') if tr else \
             f'kind = "anthropic"\nbase_url = "{mock}"\n'
        conf = write(work / f"{name}.toml", f"""
[server]
listen = "127.0.0.1:{port}"
[[endpoints]]
name = "mock"
{ep}
[routing]
max_retries = 0
failure_cooldown = "0s"
[admin]
metrics = "open"                # the scripts read /metrics (idle_memory.py) without signing in
""" + ("[audit]\nenabled = false\n" if name in ("switchboard-noaudit", "switchboard-tr") else ""))
        if data is None:
            data = work / f"{name}-data"
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir()
        logmode = "off" if name in ("switchboard-nolog", *KEY_TARGETS) else "sqlite"
        cmd = [str(BIN / "bench-gateway"), "--config", str(conf), "--data-dir", str(data),
               "--log", logmode]
        if name in KEY_TARGETS:
            cmd += ["--client-keys", str(KEY_TARGETS[name])]
        env = {**os.environ, "RUST_LOG": "warn", "SWITCHBOARD_HOME": str(data)}
        cmd = wrap + cmd if wrap else pin(cmd)
        proc = Proc(name, cmd, env=env)
        if name in KEY_TARGETS:
            # The gateway writes its first key once every key is in force.
            keyfile = data / "bench.key"
            deadline = time.time() + 900
            while not keyfile.exists() and time.time() < deadline:
                time.sleep(0.2)
            if not keyfile.exists():
                proc.stop()
                return None, None, [], "bench.key never appeared"
            return proc, f"http://127.0.0.1:{port}", [f"x-api-key: {keyfile.read_text().strip()}"], None
        return proc, f"http://127.0.0.1:{port}", [], None
    if name.startswith("litellm"):
        exe = BENCH / ".venv" / "bin" / "litellm"
        if not exe.exists():
            return None, None, [], "litellm[proxy] did not install (see bench/out/install.log)"
        conf = write(work / f"{name}.yaml", f"""
model_list:
  - model_name: claude-opus-5-5
    litellm_params:
      model: anthropic/claude-opus-5-5
      api_base: {mock}
      api_key: sk-bench
  - model_name: bench-openai
    litellm_params:
      model: openai/gpt-bench
      api_base: {mock}/v1
      api_key: sk-bench
litellm_settings:
  drop_params: true
  telemetry: false
""")
        # LiteLLM refuses to start without a master key; clients then present it as a bearer.
        env = {**os.environ, "LITELLM_MASTER_KEY": "sk-bench", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
               "LITELLM_TELEMETRY": "False",
               "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true", "NO_PROXY": "*",
               # Anthropic messages for an OpenAI model otherwise go to /v1/responses, which
               # the mock (like most OpenAI-compatible servers) does not serve.
               "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True"}
        env.pop("DATABASE_URL", None)
        cmd = [str(exe), "--config", str(conf), "--host", "127.0.0.1", "--port", str(port),
               "--num_workers", "1"]
        return (Proc(name, pin(cmd), env=env), f"http://127.0.0.1:{port}",
                ["authorization: Bearer sk-bench"], None)
    if name.startswith("ccr"):
        cli = BENCH / ".tools" / "node_modules" / "@musistudio" / "claude-code-router" / "dist" / "cli.js"
        if not cli.exists():
            return None, None, [], "claude-code-router did not install (see bench/out/install.log)"
        home = work / f"{name}-home"
        shutil.rmtree(home, ignore_errors=True)
        (home / ".claude-code-router").mkdir(parents=True)
        if name == "ccr-tr":
            prov = {"name": "mock", "api_base_url": f"{mock}/v1/chat/completions",
                    "api_key": "sk-bench", "models": ["gpt-bench"]}
            route = "mock,gpt-bench"
        else:
            prov = {"name": "mock", "api_base_url": f"{mock}/v1/messages", "api_key": "sk-bench",
                    "models": ["claude-opus-5-5"], "transformer": {"use": ["Anthropic"]}}
            route = "mock,claude-opus-5-5"
        cfg = {"HOST": "127.0.0.1", "PORT": port, "LOG": False, "APIKEY": "", "API_TIMEOUT_MS": 600000,
               "Providers": [prov], "Router": {"default": route}}
        (home / ".claude-code-router" / "config.json").write_text(json.dumps(cfg, indent=1))
        env = {**os.environ, "HOME": str(home), "NODE_ENV": "production"}
        return Proc(name, pin(["node", str(cli), "start"]), env=env, cwd=home), f"http://127.0.0.1:{port}", [], None
    if name.startswith("portkey"):
        srv = BENCH / ".tools" / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
        if not srv.exists():
            return None, None, [], "@portkey-ai/gateway did not install (see bench/out/install.log)"
        env = {**os.environ, "NODE_ENV": "production"}
        provider = "openai" if name == "portkey-tr" else "anthropic"
        hdrs = [f"x-portkey-provider: {provider}", f"x-portkey-custom-host: {mock}/v1",
                "authorization: Bearer sk-bench"]
        return (Proc(name, pin(["node", str(srv), f"--port={port}", "--headless"]), env=env),
                f"http://127.0.0.1:{port}", hdrs, None)
    return None, None, [], f"unknown target {name}"


PASS_TARGETS = ["direct", "nginx", "switchboard-noaudit", "switchboard", "switchboard-nolog", "litellm", "ccr", "portkey"]
TR_TARGETS = ["switchboard-tr", "litellm-tr", "ccr-tr", "portkey-tr"]
AUTH = ["x-api-key: sk-bench"]


def run_target(name, run, work, cc_headers, results):
    translate = name in TR_TARGETS
    proc, base, hdrs, err = start_target(name, work)
    rec = {"target": name, "run": run}
    if err:
        rec["error"] = err
        results.append(rec)
        log(f"{name}: not measured: {err}")
        return
    hdrs = hdrs + AUTH
    url = f"{base}/v1/messages"
    hmap = dict(h.split(": ", 1) for h in hdrs)
    mock_config(chunks=10, interval_us=1000, latency_us=0)
    first_body = (OUT / ("tr.json" if translate else "small.json")).read_bytes()
    err = wait_ready(url, first_body, hmap, proc, limit=120 if proc else 10)
    stream_err = None
    if not err:
        # Streaming must work too, or the stream rows would silently measure errors.
        try:
            sb = (OUT / ("tr-stream.json" if translate else "small-stream.json")).read_bytes()
            st, b = post(url, sb, hmap)
            if b"message_stop" not in b:
                stream_err = f"stream answered without message_stop: {b[:200]!r}"
        except urllib.error.HTTPError as e:
            stream_err = f"streaming request failed: HTTP {e.code}: {e.read()[:200]!r}"
        except Exception as e:  # noqa: BLE001
            stream_err = f"streaming request failed: {e}"
        if stream_err:
            rec["stream_error"] = stream_err
            log(f"{name}: streaming not measured: {stream_err}")
    if err:
        rec["error"] = err
        results.append(rec)
        log(f"{name}: not measured: {err}")
        if proc:
            proc.stop()
        return
    pid = proc.pid if proc else None
    time.sleep(1.0)
    rec["rss_idle_kb"] = rss_kb(pid or mock_pid) if pid else None
    log(f"{name}: ready (pid {pid}), rss idle {rec['rss_idle_kb']} kB")

    def go(key, mode, body, **kw):
        r = load(mode, url, OUT / body, pid or mock_pid, f"{name}/{key}", headers=hdrs + kw.pop("extra", []), **kw)
        rec[key] = r
        lat = (r.get("latency_us") or {})
        log(f"  {key}: ok={r.get('ok')} err={r.get('errors')} p50={lat.get('p50')} p99={lat.get('p99')} "
            f"rps={round(r.get('rps', 0))} cpu/req={(r.get('cpu') or {}).get('cpu_us_per_req')}"
            + (f" ttft50={(r.get('ttft_us') or {}).get('p50')} ev99={(r.get('event_delay_us') or {}).get('p99')}"
               if r.get('event_delay_us') else "") + (f" error={r['error']}" if 'error' in r else ""))

    if translate:
        go("json_c1", "run", "tr.json", requests=N["c1"] // 2, concurrency=1, warmup=200, max_secs=15)
        mock_config(chunks=10, interval_us=1000)
        if not stream_err:
            go("stream_c1", "run", "tr-stream.json", requests=N["stream"], concurrency=1, warmup=20, max_secs=20)
            # The same 12 events unpaced: what the proxy spends on the stream itself, without one
            # wake-up and one write per event (which the paced stream costs even nginx).
            mock_config(chunks=10, interval_us=0)
            go("stream_burst_c1", "run", "tr-stream.json", requests=N["stream"], concurrency=1, warmup=20, max_secs=20)
            mock_config(chunks=10, interval_us=1000)
    else:
        go("json_c1", "run", "small.json", requests=N["c1"], concurrency=1, warmup=300, max_secs=15)
        go("json_c64", "run", "small.json", requests=N["c64"], concurrency=64, warmup=500, max_secs=15)
        go("json_c512", "run", "small.json", requests=N["c512"], concurrency=512, warmup=1024, max_secs=20)
        rec["hwm_load_kb"] = rss_kb(pid or mock_pid, "VmHWM:")
        go("cc200k_c1", "run", "cc-200k.json", requests=N["cc"], concurrency=1, warmup=50, max_secs=15,
           extra=cc_headers)
        mock_config(chunks=10, interval_us=1000)
        if not stream_err:
            go("stream_c1", "run", "small-stream.json", requests=N["stream"], concurrency=1, warmup=20, max_secs=20)
            mock_config(chunks=10, interval_us=0)
            go("stream_burst_c1", "run", "small-stream.json", requests=N["stream"], concurrency=1, warmup=20, max_secs=20)
            # 1,000 concurrent long streams: 50 events 200 ms apart (~10 s each).
            mock_config(chunks=50, interval_us=200000)
            go("streams1000", "streams", "small-stream.json", n=N["streams"], max_secs=45)
        mock_config(chunks=10, interval_us=1000)
        rec["hwm_end_kb"] = rss_kb(pid or mock_pid, "VmHWM:")
        if proc and not stream_err and os.environ.get("FRESH_STREAMS", "1") != "0":
            # The same 1,000 streams in a fresh process: the reading above also holds whatever
            # heap the earlier phases (c=512, the 200 KiB bodies) left behind.
            proc.stop()
            proc, _, _, err = start_target(name, work)
            err = err or wait_ready(url, first_body, hmap, proc, limit=120)
            if err:
                rec["streams1000_fresh"] = {"error": err}
                log(f"{name}: fresh process for 1,000 streams not ready: {err}")
            else:
                pid = proc.pid
                time.sleep(1.0)
                mock_config(chunks=50, interval_us=200000)
                go("streams1000_fresh", "streams", "small-stream.json", n=N["streams"], max_secs=45)
                mock_config(chunks=10, interval_us=1000)
    results.append(rec)
    if proc:
        alive = proc.alive()
        proc.stop()
        if not alive:
            rec["note"] = "exited during the run"


mock_pid = None


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "cpu": cpu,
            "kernel": os.uname().release, "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "load1": os.getloadavg()[0]}


def main():
    global mock_pid
    cc_headers = make_fixtures()
    work = OUT / "work"
    work.mkdir(exist_ok=True)
    targets = [t for t in PASS_TARGETS + TR_TARGETS if not ONLY or t in ONLY]
    results = []
    info = machine()
    log("machine:", info)
    for run in range(1, RUNS + 1):
        mock = start_mock(f"mock-run{run}")
        mock_pid = mock.pid
        try:
            for t in targets:
                log(f"run {run}: {t}")
                run_target(t, run, work, cc_headers, results)
                # Written after every target, so an interrupted run keeps what it measured.
                (OUT / "results.json").write_text(json.dumps({"machine": info, "results": results}, indent=1))
        finally:
            mock.stop()
    info["load1_end"] = os.getloadavg()[0]
    (OUT / "results.json").write_text(json.dumps({"machine": info, "results": results}, indent=1))
    shutil.copy(OUT / "results.json", OUT / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json")
    import report
    text = report.render(info, results)
    (OUT / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    main()
