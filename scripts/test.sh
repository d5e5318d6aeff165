#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
#
#   scripts/test.sh            # everything: deps, fmt, clippy, tests (SQLite + PostgreSQL), real clients, fuzz smoke
#   FUZZ_SECONDS=0 scripts/test.sh   # skip the short fuzz run
#
# What it needs is installed or started here, never by hand:
#   - the Python SDKs and the Claude Code CLI (scripts/setup-test-deps.sh → .venv/, .tools/)
#   - PostgreSQL on 127.0.0.1:5432 (started if it is installed but stopped)
#   - cargo-nextest (installed with cargo if missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "test dependencies (Python SDKs, Claude Code CLI)"
scripts/setup-test-deps.sh

step "PostgreSQL on 127.0.0.1:5432"
export SWITCHBOARD_TEST_POSTGRES_URL="${SWITCHBOARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  # The store suite runs against both backends; a missing server is then a failure, not a skip.
  export SWITCHBOARD_REQUIRE_POSTGRES=1
  echo "PostgreSQL is up: the store suite runs on SQLite and PostgreSQL"
else
  echo "WARNING: PostgreSQL is not reachable on 127.0.0.1:5432; PostgreSQL cases will be skipped" >&2
fi

# Real-client tests fail (instead of skipping) when their clients are missing.
export SWITCHBOARD_REQUIRE_CLIENTS=1

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "cargo nextest run"
cargo nextest run --workspace --no-fail-fast

if [ "${SWITCHBOARD_REQUIRE_POSTGRES:-}" = 1 ]; then
  # The end-to-end log suites (query API, observability, dashboard API, client keys) once more with
  # PostgreSQL as the log store; the store's own suite already ran on both backends above.
  step "query API, observability, dashboard API and client key tests on PostgreSQL"
  SWITCHBOARD_TEST_STORE=postgres cargo nextest run -p switchboard-server \
    --test api --test observability --test dashboard_api --test keys --no-fail-fast
fi

step "doc tests"
cargo test --workspace --doc

FUZZ_SECONDS="${FUZZ_SECONDS:-5}"
if [ "$FUZZ_SECONDS" != "0" ] && [ -x fuzz/run.sh ]; then
  step "fuzz smoke run (${FUZZ_SECONDS}s per target)"
  fuzz/run.sh "$FUZZ_SECONDS"
fi

step "all checks passed"
