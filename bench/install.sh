#!/usr/bin/env bash
# Installs what the benchmark needs, non-interactively and idempotently:
#   wrk + nginx (Debian), LiteLLM proxy (PyPI, venv at bench/.venv),
#   claude-code-router and Portkey gateway (npm, prefix bench/.tools).
# A peer that fails to install is recorded in bench/out/install.log and skipped by run.sh.
set -u
BENCH="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$BENCH/out" "$BENCH/.tools"
LOG="$BENCH/out/install.log"
: > "$LOG"
note() { echo "[install] $*" | tee -a "$LOG" >&2; }

export DEBIAN_FRONTEND=noninteractive
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  note "apt-get install wrk nginx-light"
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk nginx-light) >>"$LOG" 2>&1 \
    || note "apt-get failed (wrk/nginx unavailable)"
fi
# Debian starts nginx on :80 when it is installed; the bench runs its own instance.
if command -v systemctl >/dev/null; then systemctl stop nginx >/dev/null 2>&1 || true; fi
[ -f /run/nginx.pid ] && kill "$(cat /run/nginx.pid)" 2>/dev/null || true

if [ ! -x "$BENCH/.venv/bin/litellm" ]; then
  note "pip install litellm[proxy] into bench/.venv"
  (python3 -m venv "$BENCH/.venv" && "$BENCH/.venv/bin/pip" install -q 'litellm[proxy]') >>"$LOG" 2>&1 \
    || note "litellm install failed"
fi

if [ ! -e "$BENCH/.tools/node_modules/@musistudio/claude-code-router/package.json" ] \
   || [ ! -e "$BENCH/.tools/node_modules/@portkey-ai/gateway/package.json" ]; then
  note "npm install @musistudio/claude-code-router @portkey-ai/gateway into bench/.tools"
  (cd "$BENCH/.tools" && [ -f package.json ] || echo '{"name":"bench-tools","private":true}' > "$BENCH/.tools/package.json"
   cd "$BENCH/.tools" && npm install --no-audit --no-fund --loglevel=error @musistudio/claude-code-router @portkey-ai/gateway) >>"$LOG" 2>&1 \
    || note "npm install failed"
fi
note "done"
