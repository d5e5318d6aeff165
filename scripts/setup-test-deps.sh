#!/usr/bin/env bash
# Install the real clients that the client-compat tests drive against a running gateway:
#   - .venv/        Python venv with the official `anthropic` and `openai` SDKs + pytest (pinned)
#   - .tools/npm/   local npm prefix with `@anthropic-ai/claude-code` (pinned) -> .tools/npm/bin/claude
#   - Debian's `chromium`, `chromium-driver` and a CJK font (`fonts-wqy-zenhei`) for the dashboard's
#     browser test (crates/server/tests/dashboard.rs), with apt-get when missing (root only)
#
# Idempotent and non-interactive (safe under CI=true with no stdin). When everything is already
# installed at the pinned versions it only runs a few version checks (well under a second or two).
# Needs only the package registries (PyPI, npm). Exit status is non-zero on a real failure.
#
# Usage: scripts/setup-test-deps.sh [--python-only | --node-only | --browser-only] [--force]
# Env:   PYTHON (default: python3), NPM (default: npm)
set -euo pipefail

# ---- pinned versions (bump deliberately; see docs/testing-clients.md) ----
ANTHROPIC_SDK_VERSION="2.12.0"
OPENAI_SDK_VERSION="3.54.0"
PYTEST_VERSION="9.2.0"
CLAUDE_CODE_VERSION="2.1.330"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
NPM_PREFIX="$ROOT/.tools/npm"
CLAUDE_BIN="$NPM_PREFIX/bin/claude"
PYTHON="${PYTHON:-python3}"
NPM="${NPM:-npm}"

DO_PY=1
DO_NODE=1
DO_BROWSER=1
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --python-only) DO_NODE=0; DO_BROWSER=0 ;;
    --node-only) DO_PY=0; DO_BROWSER=0 ;;
    --browser-only) DO_PY=0; DO_NODE=0 ;;
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup-test-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[setup-test-deps] $*"; }
die() { echo "[setup-test-deps] ERROR: $*" >&2; exit 1; }

export CI="${CI:-true}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
export npm_config_fund=false
export npm_config_audit=false
export npm_config_update_notifier=false
export npm_config_loglevel=error

# ---------------------------------------------------------------- Python
setup_python() {
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (need Python >= 3.9)"
  if [[ $FORCE == 1 && -d "$VENV" ]]; then
    log "--force: removing $VENV"
    rm -rf "$VENV"
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv at .venv/ with $("$PYTHON" --version 2>&1)"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
      # Debian's python3 without ensurepip: install python3-venv if we can (guarded).
      if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "python venv module unusable; installing python3-venv with apt-get"
        rm -rf "$VENV"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$PYTHON" -m venv "$VENV" || die "could not create venv at $VENV"
      else
        die "could not create venv at $VENV ('$PYTHON -m venv' failed)"
      fi
    fi
  fi
  local want have
  want="anthropic=$ANTHROPIC_SDK_VERSION openai=$OPENAI_SDK_VERSION pytest=$PYTEST_VERSION"
  have="$("$VENV/bin/python" - <<'EOF' 2>/dev/null || true
from importlib.metadata import version, PackageNotFoundError
out = []
for n in ("anthropic", "openai", "pytest"):
    try:
        out.append(f"{n}={version(n)}")
    except PackageNotFoundError:
        out.append(f"{n}=missing")
print(" ".join(out))
EOF
)"
  if [[ "$have" == "$want" ]]; then
    log "python: ok ($have)"
    return 0
  fi
  log "python: installing $want (had: ${have:-nothing})"
  "$VENV/bin/python" -m pip install -q \
    "anthropic==$ANTHROPIC_SDK_VERSION" \
    "openai==$OPENAI_SDK_VERSION" \
    "pytest==$PYTEST_VERSION" \
    || die "pip install failed"
  "$VENV/bin/python" -c "import anthropic, openai, pytest; print('[setup-test-deps] python: anthropic', anthropic.__version__, '| openai', openai.__version__, '| pytest', pytest.__version__)" \
    || die "SDK import check failed"
}

# ---------------------------------------------------------------- Claude Code CLI
claude_version_ok() {
  # `claude --version` prints e.g. "2.1.330 (Claude Code)". It runs offline (no network needed).
  [[ -x "$CLAUDE_BIN" ]] || return 1
  local v
  v="$(HOME="${TMPDIR:-/tmp}" DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
       timeout 30 "$CLAUDE_BIN" --version </dev/null 2>/dev/null | head -n1)" || return 1
  [[ "$v" == "$CLAUDE_CODE_VERSION"* ]]
}

setup_node() {
  command -v node >/dev/null 2>&1 || die "node not found (need Node >= 18 + npm)"
  command -v "$NPM" >/dev/null 2>&1 || die "$NPM not found"
  if [[ $FORCE == 0 ]] && claude_version_ok; then
    log "claude-code: ok ($CLAUDE_BIN = $CLAUDE_CODE_VERSION)"
    return 0
  fi
  log "claude-code: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into .tools/npm (~110 MB download, ~380 MB on disk)"
  mkdir -p "$NPM_PREFIX"
  # The package declares engines.node >= 22; on Node 20 npm only warns (EBADENGINE), and the
  # native binary it ships does not use Node at all. Keep engine-strict off explicitly.
  # The postinstall (install.cjs) copies the native binary from the platform optional dependency
  # (@anthropic-ai/claude-code-linux-x64 etc.) over the bin/claude.exe placeholder: optional deps
  # must NOT be omitted. No download happens outside the npm registry.
  "$NPM" install --global --prefix "$NPM_PREFIX" --engine-strict=false --include=optional \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" </dev/null \
    || die "npm install @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION failed"
  if ! claude_version_ok; then
    # If a future npm skipped the install script, run it ourselves (it only copies/links a file).
    local pkg="$NPM_PREFIX/lib/node_modules/@anthropic-ai/claude-code"
    if [[ -f "$pkg/install.cjs" ]]; then
      log "claude-code: 'claude --version' failed; running the package's install.cjs manually"
      (cd "$pkg" && node install.cjs) || true
    fi
  fi
  claude_version_ok || die "installed claude-code but '$CLAUDE_BIN --version' does not report $CLAUDE_CODE_VERSION"
  log "claude-code: ok ($CLAUDE_BIN = $CLAUDE_CODE_VERSION)"
}

# ---------------------------------------------------------------- Chromium for the dashboard test
# Debian's own packages (no browser download): the browser, its WebDriver, and a CJK font so the
# Chinese screenshots show characters, not boxes. Without root or apt-get this only reports what
# is missing; the test then skips, or fails under SWITCHBOARD_REQUIRE_CLIENTS=1 (CI).
browser_missing() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || [[ -x /usr/lib/chromium/chromedriver ]] || missing+=(chromium-driver)
  if command -v fc-list >/dev/null 2>&1; then
    fc-list :lang=zh family 2>/dev/null | grep -q . || missing+=(fonts-wqy-zenhei)
  else
    [[ -d /usr/share/fonts/truetype/wqy ]] || missing+=(fonts-wqy-zenhei)
  fi
  echo "${missing[*]:-}"
}

setup_browser() {
  local missing
  missing="$(browser_missing)"
  if [[ -z "$missing" ]]; then
    log "browser: ok ($(chromium --version 2>/dev/null | head -n1))"
    return 0
  fi
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "browser: missing $missing (install them with apt-get as root; the dashboard test skips without them)"
    return 0
  fi
  log "browser: installing $missing with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
    || die "apt-get update failed"
  # shellcheck disable=SC2086 # the package names are words
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
    || die "apt-get install $missing failed"
  missing="$(browser_missing)"
  [[ -z "$missing" ]] || die "still missing after apt-get: $missing"
  log "browser: ok ($(chromium --version 2>/dev/null | head -n1))"
}

[[ $DO_PY == 1 ]] && setup_python
[[ $DO_NODE == 1 ]] && setup_node
[[ $DO_BROWSER == 1 ]] && setup_browser
log "done. python: $VENV/bin/python  claude: $CLAUDE_BIN"
