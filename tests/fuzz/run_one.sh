#!/bin/bash
# One libFuzzer target, as a meson test of build-fuzz (tests/fuzz/meson.build).
#
#   run_one.sh replay EXE NAME CORPUS DICT ARTIFACTS
#       run every file of CORPUS through EXE once (-runs=0); CORPUS is not
#       written to.
#   run_one.sh fuzz EXE NAME CORPUS DICT ARTIFACTS
#       fuzz for $RBM_FUZZ_TIME seconds (exit 77 = skipped when unset or 0)
#       from a fresh copy of CORPUS in ARTIFACTS/corpus/NAME, so the
#       repository's corpus stays as it is; new inputs stay in that copy.
#
# A crash, leak, sanitizer report, out-of-memory (> 2048 MB) or an input
# that runs > 10 s exits non-zero; libFuzzer writes that input to
# ARTIFACTS/NAME-crash-<sha1> (or -leak-, -oom-, -timeout-). The libFuzzer
# log is ARTIFACTS/NAME.<mode>.log; its closing figures are printed as one
# line "NAME: execs N, exec/s N, cov N, ft N, corpus N" and kept in
# ARTIFACTS/NAME.<mode>.stats.
set -uo pipefail

mode=$1 exe=$2 name=$3 corpus=$4 dict=$5 artifacts=$6
mkdir -p "$artifacts"
log="$artifacts/$name.$mode.log"
common=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        "-artifact_prefix=$artifacts/$name-" "-dict=$dict")

case "$mode" in
    replay)
        "$exe" "${common[@]}" -runs=0 "$corpus" > "$log" 2>&1
        rc=$?
        ;;
    fuzz)
        t=${RBM_FUZZ_TIME:-0}
        if [ "$t" = 0 ]; then
            echo "$name: RBM_FUZZ_TIME unset or 0: not fuzzing"
            exit 77
        fi
        scratch="$artifacts/corpus/$name"
        rm -rf "$scratch"
        mkdir -p "$scratch"
        cp "$corpus"/* "$scratch"/
        "$exe" "${common[@]}" "-max_total_time=$t" "$scratch" > "$log" 2>&1
        rc=$?
        ;;
    *)
        echo "usage: run_one.sh replay|fuzz EXE NAME CORPUS DICT ARTIFACTS" >&2
        exit 2
        ;;
esac

# libFuzzer's closing lines: "#N DONE cov: C ft: F corp: K/..." and
# "stat::number_of_executed_units: N", "stat::average_exec_per_sec: N".
stat() { sed -n "s/^stat::$1: *\\([0-9]*\\).*/\\1/p" "$log" | tail -n 1; }
field() { grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n "s/.* $1: *\\([0-9]*\\).*/\\1/p"; }
line="$name: execs $(stat number_of_executed_units), exec/s $(stat average_exec_per_sec),"
line+=" cov $(field cov), ft $(field ft), corpus $(field corp)"
echo "$line" | tee "$artifacts/$name.$mode.stats"
if [ "$rc" -ne 0 ]; then
    echo "$name ($mode): libFuzzer exited with $rc; log $log; artifacts:" >&2
    ls "$artifacts" | grep -E "^$name-(crash|leak|oom|timeout|slow-unit)-" >&2
    tail -n 60 "$log" >&2
    exit 1
fi
exit 0
