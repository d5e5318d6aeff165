"""Shared helpers for the client-compat scripts in tests/clients/.

Every script runs ONE scenario against a running gateway and prints exactly one line of JSON
to stdout:

    {"client": "<script>", "ok": true|false, "elapsed_ms": N, "checks": {...}, "details": {...},
     "error": null|"<message>"}

Exit status: 0 when every check passed, 1 otherwise (including config errors and exceptions).
Diagnostics (tracebacks) go to stderr.

Environment:
    SWITCHBOARD_URL          gateway base URL, e.g. http://127.0.0.1:8080 (required)
    SWITCHBOARD_MODEL        model name to request (default depends on the script)
    SWITCHBOARD_API_KEY      key sent to the gateway (default: sk-switchboard-test)
    SWITCHBOARD_AUTH         anthropic scripts: "sdk" (default: the SDK's own choice; anthropic 2.12.0
                             sends `Authorization: Bearer`), "x-api-key" (force `x-api-key`), "bearer"
    SWITCHBOARD_TIMEOUT      per-request timeout in seconds (default: 60)
    SWITCHBOARD_MAX_RETRIES  SDK retries (default: 0, so every request is visible upstream)
"""
import json
import os
import sys
import time
import traceback


class CheckFailed(Exception):
    pass


class Scenario:
    def __init__(self, client_name, default_model):
        self.client = client_name
        self.started = time.monotonic()
        self.checks = {}
        self.details = {}
        self.url = os.environ.get("SWITCHBOARD_URL", "").rstrip("/")
        self.model = os.environ.get("SWITCHBOARD_MODEL") or default_model
        self.api_key = os.environ.get("SWITCHBOARD_API_KEY") or "sk-switchboard-test"
        self.auth = (os.environ.get("SWITCHBOARD_AUTH") or "sdk").lower()
        self.timeout = float(os.environ.get("SWITCHBOARD_TIMEOUT") or 60)
        self.max_retries = int(os.environ.get("SWITCHBOARD_MAX_RETRIES") or 0)
        self.details["model"] = self.model
        self.details["url"] = self.url

    def check(self, name, cond, info=None):
        """Record a named check; raise on failure so the scenario stops at the first problem."""
        self.checks[name] = bool(cond)
        if not cond:
            msg = f"check failed: {name}"
            if info is not None:
                msg += f" ({info})"
            raise CheckFailed(msg)

    def finish(self, error=None):
        ok = error is None and all(self.checks.values())
        out = {
            "client": self.client,
            "ok": ok,
            "elapsed_ms": int((time.monotonic() - self.started) * 1000),
            "checks": self.checks,
            "details": self.details,
            "error": error,
        }
        sys.stdout.write(json.dumps(out, default=str, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        return 0 if ok else 1

    def run(self, fn):
        if not self.url:
            return self.finish("SWITCHBOARD_URL is not set")
        try:
            fn(self)
        except CheckFailed as e:
            return self.finish(str(e))
        except Exception as e:  # SDK errors, connection errors, bad shapes
            traceback.print_exc(file=sys.stderr)
            return self.finish(f"{type(e).__name__}: {e}")
        return self.finish()


def short(s, n=200):
    s = "" if s is None else str(s)
    return s if len(s) <= n else s[:n] + "..."


def collapse(seq):
    """['a','b','b','b','c'] -> ['a','b*3','c'] (keeps logged event lists short)."""
    out = []
    for x in seq:
        if out and out[-1][0] == x:
            out[-1][1] += 1
        else:
            out.append([x, 1])
    return [x if n == 1 else f"{x}*{n}" for x, n in out]


def missing_sdk(path, err):
    """Report a missing SDK as a normal failed result (one JSON line, exit 1)."""
    name = os.path.splitext(os.path.basename(sys.argv[0] or path))[0]
    sys.stdout.write(json.dumps({"client": name, "ok": False, "elapsed_ms": 0, "checks": {}, "details": {},
                                 "error": f"{err}; run scripts/setup-test-deps.sh and use .venv/bin/python"}) + "\n")
    sys.exit(1)
