#!/bin/sh
# Black-box tests of parallel tempering, the mixing diagnostics and the
# centred gradient in the rbm program: 'rbm sample --pt/--diagnostics',
# 'rbm eval --method pt', 'rbm train --estimator pt --replicas R --centered'.
# usage: sh tests/cli/test_tempering.sh path/to/rbm
CLI_TEST=test_tempering.sh
. "$(dirname "$0")/cli_common.sh"

make_data_files "$tmp"
train_bits_model "$tmp/e.rbm" "$tmp/bits.csv"

# --- sample --pt --diagnostics ----------------------------------------------------
run sample "$tmp/e.rbm" -n 40 --steps 400 --pt 5 --diagnostics --out "$tmp/s.npy" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["sampler"] == "pt" and d["replicas"] == 5' \
    'len(d["swap_acceptance"]) == 4 and all(0 <= a <= 1 for a in d["swap_acceptance"])' \
    'd["round_trips"] >= 1' 'd["tau_int"]["free_energy"] > 0' 'd["tap_basins"] >= 0' \
    'abs(d["ess"]["free_energy"] - 40 * 400 / d["tau_int"]["free_energy"]) < 1e-6 * d["ess"]["free_energy"]' \
    >"$tmp/py" 2>&1; then
    ok "sample --pt --diagnostics: swap acceptances, round trips, tau_int, ESS in the JSON"
else
    fail "sample --pt --diagnostics (status $rc) $(cat "$tmp/py" "$tmp/err")"
fi
# the samples are the top replica's: values in {0, 1}, shape 40 x 12
if "$PY" -c 'import numpy, sys
x = numpy.load(sys.argv[1]); sys.exit(0 if x.shape == (40, 12) and set(numpy.unique(x)) <= {0.0, 1.0} else 1)' "$tmp/s.npy"; then
    ok "sample --pt: 40 x 12 binary samples"
else
    fail "sample --pt: samples"
fi
run sample "$tmp/e.rbm" -n 20 --steps 200 --diagnostics --out "$tmp/g.npy"
if [ "$rc" -eq 0 ] && grep -q '^tau_int     free_energy' "$tmp/out" && grep -q 'mode_1' "$tmp/out"; then
    ok "sample --diagnostics (Gibbs): tau_int lines in the report"
else
    fail "sample --diagnostics report (status $rc) $(cat "$tmp/out" "$tmp/err")"
fi
expect_error 2 "sample: --pt 1 refused" sample "$tmp/e.rbm" --pt 1 --out "$tmp/x.npy"

# --- eval --method pt agrees with exact log Z --------------------------------------
run eval "$tmp/e.rbm" --data "$tmp/bits.csv" --method exact --json
exact=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_z"])' "$tmp/out")
run eval "$tmp/e.rbm" --data "$tmp/bits.csv" --method pt --runs 100 --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["method"] == "pt" and d["log_z_stderr"] > 0' \
    "abs(d['log_z'] - $exact) <= 3 * d['log_z_stderr'] + 1e-3" 'd["pt_replicas"] >= 2' \
    >"$tmp/py" 2>&1; then
    ok "eval --method pt: BAR log Z within 3 stderr of exact $exact"
else
    fail "eval --method pt (status $rc) $(cat "$tmp/py" "$tmp/err")"
fi
expect_error 2 "eval: --betas with --method pt" eval "$tmp/e.rbm" --method pt --betas 10

# --- train --estimator pt --replicas --centered -------------------------------------
run train --data "$tmp/bits.csv" --estimator pt --replicas 4 --centered --n-hidden 4 \
    --epochs 3 --batch 30 --lr 0.05 --json --quiet --no-plots --out "$tmp/pt.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["estimator"] == "pt" and d["centered"] == True' \
    >"$tmp/py" 2>&1 && [ -s "$tmp/pt.rbm" ]; then
    ok "train --estimator pt --replicas 4 --centered"
else
    fail "train pt (status $rc) $(cat "$tmp/py" "$tmp/err")"
fi
expect_error 2 "train: --replicas with pcd" train --data "$tmp/bits.csv" --estimator pcd \
    --replicas 4 --epochs 1 --quiet --out "$tmp/x.rbm"
# --- PTT from a training archive --------------------------------------------------
run train --data "$tmp/bits.csv" --n-hidden 4 --epochs 30 --batch 30 --lr 0.1 --quiet \
    --no-plots --no-report --archive "$tmp/traj.rbma" --archive-saves 60 --out "$tmp/traj.rbm"
run eval "$tmp/traj.rbma" --data "$tmp/bits.csv" --method exact --json
exact=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_z"])' "$tmp/out")
run eval "$tmp/traj.rbma" --data "$tmp/bits.csv" --method ptt --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["method"] == "ptt" and d["log_z_stderr"] > 0' \
    "abs(d['log_z'] - $exact) <= 3 * d['log_z_stderr'] + 1e-3" >"$tmp/py" 2>&1; then
    ok "eval --method ptt: BAR along the archive's models within 3 stderr of exact $exact"
else
    fail "eval --method ptt (status $rc) $(cat "$tmp/py" "$tmp/err")"
fi
run sample "$tmp/traj.rbma" --ptt -n 30 --steps 200 --out "$tmp/p.npy" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["sampler"] == "ptt" and d["ptt_archive_models"] >= 2' \
    'd["replicas"] >= 2' >"$tmp/py" 2>&1; then
    ok "sample --ptt: samples along the archive's models"
else
    fail "sample --ptt (status $rc) $(cat "$tmp/py" "$tmp/err")"
fi
# --archive-every-epoch adds the end of every epoch to the log-spaced saves
for every in "" --archive-every-epoch; do
    rm -f "$tmp/ep.rbma"
    run train --data "$tmp/bits.csv" --n-hidden 4 --epochs 6 --batch 30 --lr 0.1 --quiet \
        --no-plots --no-report --archive "$tmp/ep.rbma" --archive-saves 2 $every --out "$tmp/ep.rbm"
    run sample "$tmp/ep.rbma" --ptt -n 10 --steps 20 --out "$tmp/p.npy" --json
    n=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ptt_archive_models"])' "$tmp/out")
    if [ -n "$every" ]; then models_epoch=$n; else models=$n; fi
done
# a short run: every tau_int is positive or null (no estimate), never negative
run sample "$tmp/ep.rbma" --ptt -n 10 --steps 20 --diagnostics --out "$tmp/p.npy" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
    'all(t is None or t > 0 for t in d["tau_int"].values())' \
    'all((e is None) == (t is None) for e, t in zip(d["ess"].values(), d["tau_int"].values()))' \
    >"$tmp/py" 2>&1; then
    ok "sample --diagnostics on 20 sweeps: tau_int positive or null"
else
    fail "sample --diagnostics short run (status $rc) $(cat "$tmp/py" "$tmp/out")"
fi
if [ "${models_epoch:-0}" -ge 6 ] && [ "${models_epoch:-0}" -gt "${models:-99}" ]; then
    ok "train --archive-every-epoch: $models_epoch models saved (log-spaced alone: $models)"
else
    fail "train --archive-every-epoch: ${models_epoch:-?} models, without it ${models:-?}"
fi
expect_error 2 "sample: --ptt on a model file" sample "$tmp/e.rbm" --ptt --out "$tmp/x.npy"
finish
