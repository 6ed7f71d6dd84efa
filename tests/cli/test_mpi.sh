#!/bin/sh
# Black-box tests of 'rbm train --mpi' and '--workers' (docs/scaling.md):
# P MPI ranks and P virtual workers give the same model and checkpoint
# bytes, one rank is the plain run, and a rank that dies or stops makes the
# others exit non-zero with a message instead of hanging.
# usage: sh tests/cli/test_mpi.sh path/to/rbm
# Skipped (exit 77) when rbm was built without MPI (RBM_MPI=0) or mpirun is
# missing.
CLI_TEST=test_mpi.sh
. "$(dirname "$0")/cli_common.sh"

if [ "${RBM_MPI:-0}" != 1 ] || ! command -v mpirun >/dev/null 2>&1; then
    echo "# SKIP: rbm was built without MPI (or mpirun is missing)"
    exit 77
fi
# Root in a container, 2 cores, no network: allowed explicitly, all local.
OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OMPI_MCA_rmaps_base_oversubscribe=1
OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_rmaps_base_oversubscribe \
    OMPI_MCA_btl_vader_single_copy_mechanism

# mpirun NP ARGS...: rbm train on NP ranks; stdout/stderr/rc as run().
mpi() {
    np=$1
    shift
    mpirun -np "$np" "$RBM" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
}

common="train --n-hidden 12 --epochs 3 --batch 37 --seed 4 --no-report --json --checkpoint-every 1"

# --- P ranks == P virtual workers, byte for byte ----------------------------
for P in 2 3; do
    mpi "$P" $common --out "$tmp/mpi$P.rbm" --mpi
    if [ "$rc" -ne 0 ]; then
        fail "mpirun -np $P train --mpi: exit status $rc"
        continue
    fi
    cp "$tmp/out" "$tmp/mpi$P.json"
    run $common --out "$tmp/virt$P.rbm" --workers "$P"
    if [ "$rc" -ne 0 ]; then
        fail "train --workers $P: exit status $rc"
        continue
    fi
    if cmp -s "$tmp/mpi$P.rbm" "$tmp/virt$P.rbm" && cmp -s "$tmp/mpi$P.rbm.ckpt" "$tmp/virt$P.rbm.ckpt"
    then
        ok "mpirun -np $P --mpi and --workers $P: identical model and checkpoint files"
    else
        fail "mpirun -np $P --mpi and --workers $P: the files differ"
    fi
    if check_json "$tmp/mpi$P.json" "d['workers'] == $P and d['epochs'] == 3" >"$tmp/py" 2>&1 &&
        check_json "$tmp/out" "d['workers'] == $P" >>"$tmp/py" 2>&1; then
        ok "one JSON object from rank 0 only, with workers = $P"
    else
        fail "JSON of the $P-worker runs: $(cat "$tmp/py")"
    fi
done

# --- one rank is the plain run ---------------------------------------------
mpi 1 $common --out "$tmp/mpi1.rbm" --mpi
rc1=$rc
run $common --out "$tmp/plain.rbm"
if [ "$rc1" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s "$tmp/mpi1.rbm" "$tmp/plain.rbm" &&
    cmp -s "$tmp/mpi1.rbm.ckpt" "$tmp/plain.rbm.ckpt"; then
    ok "mpirun -np 1 --mpi equals the plain run (model and checkpoint)"
else
    fail "mpirun -np 1 --mpi vs plain: exit $rc1 / $rc or the files differ"
fi
if cmp -s "$tmp/mpi2.rbm" "$tmp/plain.rbm"; then
    fail "2 workers gave the plain run's model (the partition had no effect)"
else
    ok "2 workers train a different model than 1 (their own chains)"
fi

# --- resume on 2 ranks from the virtual checkpoint (after epoch 3) ----------
run train --resume "$tmp/virt2.rbm.ckpt" --epochs 5 --seed 4 --no-report --json \
    --out "$tmp/virt2b.rbm" --workers 2
rcv=$rc
mpi 2 train --resume "$tmp/virt2.rbm.ckpt" --epochs 5 --seed 4 --no-report --json \
    --out "$tmp/mpi2b.rbm" --mpi
if [ "$rcv" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s "$tmp/mpi2b.rbm" "$tmp/virt2b.rbm"; then
    ok "a checkpoint of 2 workers resumes identically on 2 ranks and 2 virtual workers"
else
    fail "resume on 2 ranks vs 2 virtual workers: exit $rc / $rcv or the models differ"
fi

# --- usage errors ------------------------------------------------------------
run train --workers 2 --mpi --epochs 1
[ "$rc" -eq 2 ] && grep -q "mpirun -np" "$tmp/err" && ok "--workers with --mpi is a usage error" ||
    fail "--workers with --mpi: exit $rc"
run train --workers 2 --centered --epochs 1
[ "$rc" -eq 2 ] && grep -q "centred" "$tmp/err" && ok "--workers 2 --centered is refused" ||
    fail "--workers 2 --centered: exit $rc"

# --- a rank that dies, or stops answering --------------------------------------
# rank_pid RANK: the pid of that rank of the mpirun started last (its children).
rank_pid() {
    for p in $(pgrep -P "$mpirun_pid"); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
            echo "$p"
            return
        fi
    done
}
for sig in KILL STOP; do
    mpirun -np 2 "$RBM" train --n-hidden 12 --epochs 100000 --batch 37 --no-report --quiet \
        --out "$tmp/dead.rbm" --mpi --mpi-timeout 3 >"$tmp/out" 2>"$tmp/err" </dev/null &
    mpirun_pid=$!
    victim=
    for i in $(seq 1 100); do
        victim=$(rank_pid 1)
        [ -n "$victim" ] && break
        sleep 0.2
    done
    sleep 2 # well into training
    start=$(date +%s)
    [ -n "$victim" ] && kill -"$sig" "$victim"
    # the job must end by itself; after 60 s it is a hang
    ( sleep 60; kill -9 "$mpirun_pid" 2>/dev/null ) &
    guard=$!
    wait "$mpirun_pid"
    rc=$?
    kill "$guard" 2>/dev/null
    took=$(( $(date +%s) - start ))
    [ "$sig" = STOP ] && [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
    if [ -z "$victim" ]; then
        fail "SIG$sig: rank 1 not found"
    elif [ "$rc" -ne 0 ] && [ "$took" -lt 60 ] &&
        { [ "$sig" = KILL ] || grep -q "no answer from the other ranks" "$tmp/err"; } &&
        [ -s "$tmp/err" ]; then
        ok "SIG$sig of rank 1: the job ends (exit $rc) in ${took} s with a message"
    else
        fail "SIG$sig of rank 1: exit $rc after ${took} s"
    fi
done

finish
