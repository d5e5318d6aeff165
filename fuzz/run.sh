#!/usr/bin/env bash
# Short coverage-guided fuzz run of every target, for CI and for local use.
#
#   fuzz/run.sh [seconds-per-target] [target...]
#
# Default: 20 s per target, all targets. 0 seconds replays the corpus only (every seed and
# every earlier finding runs once, no mutation): a quick regression check.
# Works on a stable toolchain: cargo-fuzz's instrumentation flags (-Cpasses=sancov-module,
# -Cllvm-args=...) are stable, and `-s none` avoids -Zsanitizer, the only nightly-only one.
# cargo-fuzz is installed if missing (about 40 s on 2 cores); the first build of the targets
# takes 3-5 minutes, later ones are incremental.
#
# Environment:
#   FUZZ_SANITIZER   none (default) or address (needs RUSTC_BOOTSTRAP=1, set automatically)
#   FUZZ_JOBS        parallel libFuzzer workers per target (default 1)
#   FUZZ_MAX_LEN     -max_len for libFuzzer (default: from the corpus)
#
# Exit status: 0 when no target crashed, 1 otherwise; crashing inputs are in
# fuzz/artifacts/<target>/ and the command to replay each one is printed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

secs="${1:-20}"
shift || true
all_targets=(sse_decoder observe translate_request translate_stream translate_response config error_parse admission)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
sanitizer="${FUZZ_SANITIZER:-none}"
jobs="${FUZZ_JOBS:-1}"
cargo_fuzz_version="0.13.2"

if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
    echo "usage: fuzz/run.sh [seconds-per-target] [target...]" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "--- installing cargo-fuzz $cargo_fuzz_version"
    start=$(date +%s)
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
    echo "--- cargo-fuzz installed in $(( $(date +%s) - start )) s"
fi

if [ "$sanitizer" != none ]; then
    # -Zsanitizer is nightly-only; the stable compiler accepts it with RUSTC_BOOTSTRAP.
    export RUSTC_BOOTSTRAP=1
fi

echo "--- building fuzz targets (sanitizer: $sanitizer)"
start=$(date +%s)
if [ "$#" -eq 0 ]; then
    cargo fuzz build -s "$sanitizer"   # every target in one cargo invocation
else
    for t in "${targets[@]}"; do cargo fuzz build -s "$sanitizer" "$t"; done
fi
echo "--- built in $(( $(date +%s) - start )) s"

failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    if [ -n "${FUZZ_MAX_LEN:-}" ]; then
        args+=(-max_len="$FUZZ_MAX_LEN")
    elif [ "$t" = sse_decoder ]; then
        args+=(-max_len=16384)   # byte-at-a-time pushes: long inputs only slow it down
    fi
    if [ "$secs" -eq 0 ]; then
        args+=(-runs=0)
    else
        args+=(-max_total_time="$secs")
        [ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
    fi
    echo "--- $t (${secs}s)"
    log="$(mktemp)"
    # Wall-clock guard: loading a large corpus counts too, and a hang must not stall CI.
    set +e
    timeout --kill-after=10 "$(( secs + 120 ))" \
        cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" -- "${args[@]}" >"$log" 2>&1
    rc=$?
    set -e
    grep -E '^#[0-9]+\s+(INITED|DONE)|^Done |stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added' "$log" || true
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        echo "!!! $t FAILED (exit $rc)"
        grep -E 'panicked at|^thread|invalid|Test unit written|SUMMARY|timeout' "$log" | head -20 || true
        sed -n '/panicked at/,/SUMMARY/p' "$log" | head -60
        for a in artifacts/"$t"/*; do
            [ -f "$a" ] && echo "    replay: (cd fuzz && cargo fuzz run -s $sanitizer $t $a)"
        done
    fi
    eps=$(grep -Eo 'stat::average_exec_per_sec:\s*[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    cov=$(grep -E '^#[0-9]+\s+DONE' "$log" | grep -Eo 'cov: [0-9]+' | tail -1 || true)
    summary+=("$(printf '%-20s %8s exec/s  %s  %s' "$t" "$eps" "${cov:-}" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)")")
    rm -f "$log"
done

echo "--- summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found failures in: ${failed[*]}" >&2
    exit 1
fi
