#!/usr/bin/env bash
# Run the real Claude Code CLI (`claude -p`) once against a gateway, fully offline and
# non-interactive, in a throwaway HOME and working directory.
#
# Usage: tests/clients/claude_cli.sh [extra claude args...]
#
# Env:
#   SWITCHBOARD_URL       gateway base URL, becomes ANTHROPIC_BASE_URL (required)
#   SWITCHBOARD_MODEL     passed as --model (optional; the CLI's default is claude-opus-5-5)
#   SWITCHBOARD_API_KEY   dummy key (default: sk-switchboard-test)
#   SWITCHBOARD_AUTH      x-api-key (default: ANTHROPIC_API_KEY) | bearer (ANTHROPIC_AUTH_TOKEN) | both
#   CLAUDE_SCENARIO       basic (default) | tool
#                           basic: prompt "Say hello in one short sentence."
#                           tool:  prompt "TOOL: run the shell command `echo sb-tool-ok` with the Bash
#                                  tool and report its output." and --allowedTools Bash, so the CLI
#                                  runs the Bash tool without asking and sends a tool_result back
#   CLAUDE_PROMPT         overrides the scenario's prompt
#   CLAUDE_OUTPUT_FORMAT  json (default; one JSON line) | text | stream-json
#   CLAUDE_EXPECT         if set, the CLI stdout must contain this substring, else exit 1
#   CLAUDE_TIMEOUT        seconds before the CLI is killed (default: 120; exit 124 then)
#   CLAUDE_BIN            path to claude (default: <repo>/.tools/npm/bin/claude, then PATH)
#   CLAUDE_KEEP_HOME=1    keep the temp HOME (path printed on stderr) for inspection
#   CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK  default 1 here (strict streaming); 0 = CLI default
#   CLAUDE_CODE_MAX_RETRIES                    default 0 here (fail fast); unset in the CLI = 10
#   Passed through when set: API_TIMEOUT_MS CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS
#     CLAUDE_CODE_DISABLE_THINKING ENABLE_TOOL_SEARCH MAX_THINKING_TOKENS ANTHROPIC_CUSTOM_HEADERS
#
# stdout: exactly what the CLI printed (for json: one line with "type":"result", "result",
#         "is_error", "num_turns", "usage", "permission_denials", ...).
# stderr: the CLI's stderr plus one "[claude_cli] ..." summary line.
# Exit:   the CLI's exit status (0 ok, 1 CLI error such as "API Error: ..."), 124 on timeout,
#         1 if the json result has "is_error": true or CLAUDE_EXPECT is missing, 2 on setup error.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ -z "${SWITCHBOARD_URL:-}" ]]; then
  echo "[claude_cli] SWITCHBOARD_URL is not set" >&2
  exit 2
fi

CLAUDE="${CLAUDE_BIN:-}"
if [[ -z "$CLAUDE" ]]; then
  if [[ -x "$ROOT/.tools/npm/bin/claude" ]]; then
    CLAUDE="$ROOT/.tools/npm/bin/claude"
  else
    CLAUDE="$(command -v claude || true)"
  fi
fi
if [[ -z "$CLAUDE" || ! -x "$CLAUDE" ]]; then
  echo "[claude_cli] claude not found: run scripts/setup-test-deps.sh" >&2
  exit 2
fi

SCENARIO="${CLAUDE_SCENARIO:-basic}"
FORMAT="${CLAUDE_OUTPUT_FORMAT:-json}"
TIMEOUT="${CLAUDE_TIMEOUT:-120}"
KEY="${SWITCHBOARD_API_KEY:-sk-switchboard-test}"
AUTH="${SWITCHBOARD_AUTH:-x-api-key}"

ARGS=(-p --output-format "$FORMAT")
[[ "$FORMAT" == "stream-json" ]] && ARGS+=(--verbose)   # the CLI requires --verbose for stream-json in -p
case "$SCENARIO" in
  basic)
    PROMPT="${CLAUDE_PROMPT:-Say hello in one short sentence.}"
    ;;
  tool)
    PROMPT="${CLAUDE_PROMPT:-TOOL: run the shell command \`echo sb-tool-ok\` with the Bash tool and report its output.}"
    # Pre-approve Bash so -p never needs a permission prompt. (--dangerously-skip-permissions and
    # --permission-mode bypassPermissions refuse to run as root unless IS_SANDBOX=1.)
    ARGS+=(--allowedTools Bash)
    ;;
  *)
    echo "[claude_cli] unknown CLAUDE_SCENARIO=$SCENARIO (basic|tool)" >&2
    exit 2
    ;;
esac
[[ -n "${SWITCHBOARD_MODEL:-}" ]] && ARGS+=(--model "$SWITCHBOARD_MODEL")

TMP_HOME="$(mktemp -d "${TMPDIR:-/tmp}/sb-claude-home.XXXXXX")"
WORKDIR="$TMP_HOME/work"
mkdir -p "$WORKDIR" "$TMP_HOME/.claude"
cleanup() {
  if [[ "${CLAUDE_KEEP_HOME:-0}" == 1 ]]; then
    echo "[claude_cli] kept HOME=$TMP_HOME" >&2
  else
    rm -rf "$TMP_HOME"
  fi
}
trap cleanup EXIT

# Not required by 2.1.330 in -p mode (it runs without any config), but harmless and keeps other
# versions from showing onboarding / trust / API-key-approval prompts.
KEY_TAIL="${KEY: -20}"
cat >"$TMP_HOME/.claude.json" <<EOF
{
  "hasCompletedOnboarding": true,
  "lastOnboardingVersion": "9.9.9",
  "bypassPermissionsModeAccepted": true,
  "customApiKeyResponses": {"approved": ["$KEY_TAIL"], "rejected": []},
  "projects": {"$WORKDIR": {"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}}
}
EOF

# Start from a clean environment: never leak the caller's ANTHROPIC_*/CLAUDE_* settings (or a
# real key) into the CLI, and keep loopback traffic away from any proxy.
ENVV=(
  "PATH=${PATH}"
  "HOME=$TMP_HOME"
  "USER=${USER:-root}"
  "LANG=${LANG:-C.UTF-8}"
  "TERM=dumb"
  "TMPDIR=${TMPDIR:-/tmp}"
  "CI=true"
  "NO_PROXY=127.0.0.1,localhost,::1"
  "no_proxy=127.0.0.1,localhost,::1"
  "ANTHROPIC_BASE_URL=${SWITCHBOARD_URL%/}"
  "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"
  "DISABLE_AUTOUPDATER=1"
  "DISABLE_TELEMETRY=1"
  "DISABLE_ERROR_REPORTING=1"
)
case "$AUTH" in
  bearer) ENVV+=("ANTHROPIC_AUTH_TOKEN=$KEY") ;;
  both) ENVV+=("ANTHROPIC_API_KEY=$KEY" "ANTHROPIC_AUTH_TOKEN=$KEY") ;;
  *) ENVV+=("ANTHROPIC_API_KEY=$KEY") ;;
esac
# Strict defaults for tests (override by setting them in the caller's environment):
#  - CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK=1: a broken SSE stream from the gateway makes the CLI
#    fail ("API Error: Stream ended without receiving any events") instead of silently re-asking
#    with stream:false and succeeding. Set it to 0 to test the real fallback path.
#  - CLAUDE_CODE_MAX_RETRIES=0: an error status fails after one attempt (~1 s) instead of ~3 min of
#    retries (a 400 still makes the CLI try its 6-request degradation ladder).
ENVV+=("CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK=${CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK:-1}")
ENVV+=("CLAUDE_CODE_MAX_RETRIES=${CLAUDE_CODE_MAX_RETRIES:-0}")
# Pass-through knobs a test may want.
for v in API_TIMEOUT_MS CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS CLAUDE_CODE_DISABLE_THINKING ENABLE_TOOL_SEARCH \
         MAX_THINKING_TOKENS ANTHROPIC_CUSTOM_HEADERS; do
  [[ -n "${!v:-}" ]] && ENVV+=("$v=${!v}")
done

OUT="$TMP_HOME/stdout"
START=$(date +%s%N)
(cd "$WORKDIR" && env -i "${ENVV[@]}" timeout -k 5 "$TIMEOUT" "$CLAUDE" "${ARGS[@]}" "$@" -- "$PROMPT" \
  </dev/null >"$OUT")
RC=$?
END=$(date +%s%N)
cat "$OUT"

MSG="rc=$RC"
if [[ $RC == 0 && "$FORMAT" == "json" ]]; then
  if grep -q '"is_error":true' "$OUT"; then
    MSG="$MSG is_error=true"
    RC=1
  fi
fi
if [[ $RC == 0 && -n "${CLAUDE_EXPECT:-}" ]] && ! grep -qF -- "$CLAUDE_EXPECT" "$OUT"; then
  MSG="$MSG expected-substring-missing"
  RC=1
fi
[[ $RC == 124 ]] && MSG="$MSG timeout=${TIMEOUT}s"
echo "[claude_cli] scenario=$SCENARIO format=$FORMAT $MSG elapsed_ms=$(( (END - START) / 1000000 ))" >&2
exit $RC
