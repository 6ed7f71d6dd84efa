#!/bin/bash
# librbm fuzzing: build the libFuzzer targets, replay the seed corpora, fuzz.
#
#   tests/fuzz/run.sh [--time SECONDS] [--jobs N] [--build DIR]
#
#   --time S   seconds of fuzzing per target (default $RBM_FUZZ_TIME, else 60);
#              0 only replays the corpora. A longer run: --time 3600
#              (8 targets, 2 at a time: 4 hours on 2 CPUs).
#   --jobs N   targets fuzzed at once (default 2)
#   --build D  build directory (default build-fuzz, beside the sources)
#
# 1. sets up D with clang: -Dfuzz=true -Db_sanitize=address,undefined
#    -Db_lundef=false -Dtools=false -Dbench=false -Dtests=false (CC=clang);
# 2. meson test -C D, suites
#      fuzz:       every file of tests/fuzz/corpus/<target>/ once (-runs=0);
#      fuzz-timed: each target for S seconds (-max_total_time=S
#                  -rss_limit_mb=2048 -timeout=10) from a scratch copy of its
#                  corpus in D/artifacts/corpus/<target>, so the repository
#                  stays clean;
# 3. prints per target: execs, exec/s, cov and ft (libFuzzer's closing
#    figures), and exits non-zero on any crash, leak, sanitizer report,
#    out-of-memory or timeout; the input that caused it is in
#    D/artifacts/<target>-crash-* (or -leak-, -oom-, -timeout-), the log in
#    D/artifacts/<target>.{replay,fuzz}.log. Replay an artifact with
#    D/tests/fuzz/<target> D/artifacts/<file>.
#
# Needs clang and libFuzzer (Debian: clang libclang-rt-14-dev libfuzzer-14-dev;
# `bash tools/setup.sh deps-fuzz` installs them). CI runs it from .ci/run.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
time=${RBM_FUZZ_TIME:-60}
jobs=2
build=$root/build-fuzz
while [ $# -gt 0 ]; do
    case "$1" in
        --time) time=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        *) sed -n '2,30s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
    esac
done
case "$time" in ''|*[!0-9]*) echo "run.sh: --time needs a whole number of seconds" >&2; exit 2 ;; esac
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac

say() { printf '==> %s\n' "$*" >&2; }

if [ ! -f "$build/build.ninja" ]; then
    if [ -d "$build/meson-private" ]; then rm -rf "$build"; fi
    say "meson setup $build (clang, fuzz, address+undefined sanitizers)"
    CC=clang meson setup "$build" "$root" --buildtype=debugoptimized -Dwerror=true \
        -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dtools=false -Dbench=false -Dtests=false || exit 1
fi
say "building the fuzz targets in $build"
ninja -C "$build" || exit 1

rm -rf "$build/artifacts"
mkdir -p "$build/artifacts"
rm -f "$build/meson-logs/testlog.json"
say "replaying tests/fuzz/corpus/, then fuzzing each target for $time s, $jobs at a time"
rc=0
RBM_FUZZ_TIME=$time meson test -C "$build" --no-rebuild --num-processes "$jobs" \
    --print-errorlogs --suite fuzz --suite fuzz-timed < /dev/null || rc=1

say "replay figures (one run of every corpus file)"
cat "$build"/artifacts/*.replay.stats 2> /dev/null
if [ "$time" != 0 ]; then
    say "fuzzing figures ($time s per target)"
    cat "$build"/artifacts/*.fuzz.stats 2> /dev/null
fi
found=$(cd "$build/artifacts" && ls | grep -E -- '-(crash|leak|oom|timeout|slow-unit)-' || true)
if [ -n "$found" ]; then
    say "inputs that failed (in $build/artifacts/):"
    printf '  %s\n' $found >&2
    rc=1
fi
[ $rc -eq 0 ] && say "fuzzing: no crash, leak or timeout" || say "fuzzing: FAILED"
exit $rc
