#!/usr/bin/env bash
# One command: builds the bench harness (mock upstream, load generator, gateway launcher) in
# release mode, installs the floor and the peers (wrk/nginx from Debian, LiteLLM from PyPI,
# claude-code-router and Portkey from npm), runs every scenario against every target on one
# pinned core, and prints the table (also written to bench/out/table.md, raw numbers to
# bench/out/results.json).
#
#   bench/run.sh                 # full run, 2 runs (about 30 minutes on 2 cores, peers included)
#   RUNS=3 bench/run.sh          # more runs
#   QUICK=1 RUNS=1 bench/run.sh  # smaller counts, to try it out
#   TARGETS=direct,nginx,switchboard bench/run.sh
#   SKIP_INSTALL=1 bench/run.sh  # use what is installed
#   EXTRA=0 bench/run.sh         # without the audit-growth and idle-memory scenarios
#
# Loopback only; every load is bounded in count and time; every process started is stopped.
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
mkdir -p "$BENCH/out"

command -v taskset >/dev/null || { apt-get install -y -qq util-linux >/dev/null; }
if [ "${SKIP_INSTALL:-0}" != 1 ]; then "$BENCH/install.sh"; fi

echo "[bench] cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
(cd "$BENCH" && cargo build --release --quiet --bins)

# 1,000 streams need ~3,000 descriptors across the load generator, gateway and mock.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The audit-growth and idle-memory scenarios first (their JSON goes into the table bench.py
# prints); EXTRA=0 skips them.
if [ "${EXTRA:-1}" != 0 ]; then
  python3 "$BENCH/audit_growth.py"
  python3 "$BENCH/idle_memory.py"
fi
exec python3 "$BENCH/bench.py"
