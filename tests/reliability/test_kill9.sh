#!/bin/sh
# test_kill9.sh RBM CKPT_CHECK — kill -9 a checkpointing `rbm train` at 20
# random moments (seeded), resuming after each kill, and check that
#  (i)   every checkpoint left on disk loads (ckpt_check: all CRCs),
#  (ii)  the final model after all the resumes is byte-identical to the model
#        of an uninterrupted run,
#  (iii) no temporary (*.rbm-tmp.*) is left at the end.
# The kill moments are drawn (Python's random, seed KILL_SEED, default 7)
# uniformly in [0.3, 1.5] x T / (KILLS + 2) after each start, T the wall time
# of the uninterrupted run: the test adapts to the load of the machine, and
# the kills (about 0.8 T in all, less the start-up of each run) land inside
# the run, early ones before the first checkpoint too. When a kill lands after the last checkpoint but before the
# model is written, `rbm train --resume` has nothing left to do (exit 2), and
# the model is exported from the checkpoint (rbm_machine_save of its machine,
# what rbm train would have written).
set -u
RBM=${1:?usage: test_kill9.sh path/to/rbm path/to/ckpt_check}
CHECK=${2:?usage: test_kill9.sh path/to/rbm path/to/ckpt_check}
PY=/usr/bin/python3
KILLS=${KILLS:-20}
SEED=${KILL_SEED:-7}
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rbm-kill9.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s.%N)
failed=0
fail() {
    failed=$((failed + 1))
    echo "not ok - $1"
}

common="--seed 3 --quiet --no-report --checkpoint-every 1 --epochs 60"
train="train $common --n-hidden 12"
resume="train $common --resume"
# shellcheck disable=SC2086
t0=$(date +%s.%N)
"$RBM" $train --out "$tmp/ref.rbm" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
t1=$(date +%s.%N)
T=$("$PY" -c "print(max(0.2, $t1 - $t0))")
echo "# uninterrupted run: ${T} s"

delays=$("$PY" -c "
import random
random.seed($SEED)
print(' '.join('%.3f' % (random.uniform(0.3, 1.5) * $T / ($KILLS + 2)) for _ in range($KILLS)))")

run=$tmp/run.rbm
ckpt=$run.ckpt
kills=0
resumes=0
checked=0
in_save=0
for d in $delays; do
    if [ -e "$ckpt" ]; then
        # shellcheck disable=SC2086
        "$RBM" $resume "$ckpt" --out "$run" >/dev/null 2>"$tmp/err" &
        resumes=$((resumes + 1))
    else
        # shellcheck disable=SC2086
        "$RBM" $train --out "$run" >/dev/null 2>"$tmp/err" &
    fi
    pid=$!
    sleep "$d"
    kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
    rc=$?
    if ls "$tmp" | grep -q 'tmp\.'; then
        in_save=$((in_save + 1))
    fi
    if [ "$rc" -eq 2 ] && grep -q "has completed" "$tmp/err"; then
        : # the checkpoint already holds every epoch
    elif [ "$rc" -ne 137 ] && [ "$rc" -ne 0 ]; then
        fail "run before kill $kills exited $rc: $(cat "$tmp/err")"
    fi
    # (i) what is on disk loads
    for f in "$ckpt" "$run"; do
        if [ -e "$f" ]; then
            "$CHECK" load "$f" 2>"$tmp/cerr" || fail "after a kill at ${d}s: $(cat "$tmp/cerr")"
            checked=$((checked + 1))
        fi
    done
done
echo "# $kills SIGKILLs, $resumes resumes, $checked checkpoint/model loads checked"
echo "# kills after which a temporary was on disk (removed by a later save): $in_save"
left=$(ls "$tmp" | grep -c 'tmp\.' || true)
echo "# temporaries left by the kills before the final run: $left"

# finish the run
if [ -e "$ckpt" ]; then
    # shellcheck disable=SC2086
    "$RBM" $resume "$ckpt" --out "$run" >/dev/null 2>"$tmp/err"
    rc=$?
else
    # shellcheck disable=SC2086
    "$RBM" $train --out "$run" >/dev/null 2>"$tmp/err"
    rc=$?
fi
if [ "$rc" -eq 2 ] && grep -q "has completed" "$tmp/err"; then
    echo "# the last checkpoint was complete: model exported from it"
    "$CHECK" export "$ckpt" "$run" || fail "export of the final checkpoint"
elif [ "$rc" -ne 0 ]; then
    fail "final run exited $rc: $(cat "$tmp/err")"
fi
"$CHECK" load "$ckpt" "$run" 2>"$tmp/cerr" || fail "final files: $(cat "$tmp/cerr")"
# (ii) byte-identical to the uninterrupted run
if cmp -s "$tmp/ref.rbm" "$run"; then
    echo "ok - the model after $kills kills and $resumes resumes is byte-identical to the uninterrupted run"
else
    fail "the model after the kills differs from the uninterrupted run"
fi
# (iii) no temporaries
# anything but the expected files counts, whatever its name
left=$(ls "$tmp" | grep -v -x -e ref.rbm -e ref.rbm.ckpt -e run.rbm -e run.rbm.ckpt -e err -e cerr || true)
if [ -z "$left" ]; then
    echo "ok - no temporaries left"
else
    fail "temporaries left: $left"
fi
end=$(date +%s.%N)
echo "# total $("$PY" -c "print('%.1f' % ($end - $start))") s"
[ "$failed" -eq 0 ]
