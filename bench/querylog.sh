#!/usr/bin/env bash
# The query API on a large request log (issue: "with 1,000,000 logged requests, the stats and
# first page of the list answer in under 200 ms on SQLite"): builds bench-querylog in release
# mode, generates the log once (kept in bench/out/querylog, ~1 minute for 1M rows), serves it with
# the real gateway on loopback and prints the table (also bench/out/querylog/table.md).
#
#   bench/querylog.sh                 # 1,000,000 requests
#   bench/querylog.sh --rows 100000   # smaller, to try it out
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
(cd "$BENCH" && cargo build --release --quiet --bin bench-querylog)
exec "$CARGO_TARGET_DIR/release/bench-querylog" --dir "$BENCH/out/querylog" "$@"
