#!/bin/sh
# Black-box tests of 'rbm spectrum'.
# usage: sh tests/cli/test_spectrum.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh).
CLI_TEST=test_spectrum.sh
. "$(dirname "$0")/cli_common.sh"

# the model of 'rbm train' with no arguments (100 x 50)
mkdir "$tmp/default"
train_default_model "$tmp/default/rbm-model.rbm"

# --- rbm spectrum -------------------------------------------------------------
dmodel="$tmp/default/rbm-model.rbm"
run spectrum "$dmodel" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
    'all(k in d for k in ("singular_values", "bulk_edge", "n_modes_outside_bulk", "sigma",
        "pca_overlaps", "pca_eigenvalues"))' \
    'len(d["singular_values"]) == 50 and d["singular_values"] == sorted(d["singular_values"], reverse=True)' \
    'd["bulk_edge"] > 0 and d["sigma"] > 0 and d["n_modes_outside_bulk"] >= 1' \
    'all(w > d["bulk_edge"] for w in d["singular_values"][:d["n_modes_outside_bulk"]])' \
    'sum(w > d["bulk_edge"] for w in d["singular_values"]) >= d["n_modes_outside_bulk"]' \
    'sum(w > 1.1 * d["bulk_edge"] for w in d["singular_values"]) <= d["n_modes_outside_bulk"]' \
    'len(d["pca_overlaps"]) == 5 and all(len(r) == 5 for r in d["pca_overlaps"])' \
    'all(0 <= x <= 1 + 1e-12 for r in d["pca_overlaps"] for x in r)' \
    'all(sum(x * x for x in r) <= 1 + 1e-9 for r in d["pca_overlaps"])' \
    'max(d["pca_overlaps"][0]) > 0.5' >"$tmp/py" 2>&1; then
    ok "spectrum --json: singular values, bulk edge, modes outside consistent with the edge, PCA overlaps ($(grep -E '"(bulk_edge|n_modes_outside_bulk)"' "$tmp/out" | tr -d '\n '))"
else
    fail "spectrum --json (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# the census: significant modes, per-mode evidence
if check_json "$tmp/out" \
    'all(k in d for k in ("n_significant_modes", "n_data_components", "modes"))' \
    'len(d["modes"]) == 50 and all(set(m) == {"w", "outside_bulk", "subspace_overlap", "significant"} for m in d["modes"])' \
    'all(m["outside_bulk"] and m["subspace_overlap"] > 0.5 for m in d["modes"] if m["significant"])' \
    'sum(m["significant"] for m in d["modes"]) == d["n_significant_modes"]' \
    'sum(m["outside_bulk"] for m in d["modes"]) == d["n_modes_outside_bulk"]' \
    'all(0 <= m["subspace_overlap"] <= 1 + 1e-12 for m in d["modes"])' \
    '8 <= d["n_data_components"] <= 11 and 8 <= d["n_significant_modes"] <= 11' \
    'd["n_significant_modes"] <= 2 * d["n_data_components"]' >"$tmp/py" 2>&1; then
    ok "spectrum --json: the census ($(grep -E '"(n_significant_modes|n_data_components)"' "$tmp/out" | tr -d '\n '))"
else
    fail "spectrum census $(cat "$tmp/py" 2>/dev/null)"
fi
# The census acceptance case (docs/spectral.md): 20 epochs of a 100 x 50 ising machine for
# training seeds 1, 2, 3 (the data of each seed comes from the model's
# provenance). The Marchenko-Pastur count then counts grown noise (>= 20 modes);
# the census must count 9-11 significant modes, within one of each other, and
# only modes whose direction lies mostly in the data's significant subspace.
census_counts=""
for s in 1 2 3; do
    setup_model "20-epoch model, seed $s" train --visible ising --hidden ising --n-hidden 50 \
        --epochs 20 --seed "$s" --no-report --quiet --out "$tmp/census-$s.rbm"
    run spectrum "$tmp/census-$s.rbm" --json
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
        '9 <= d["n_significant_modes"] <= 11' \
        'd["n_modes_outside_bulk"] >= 20' \
        'all(m["subspace_overlap"] > 0.5 for m in d["modes"] if m["significant"])' \
        'sum(m["subspace_overlap"] > 0.5 and m["outside_bulk"] for m in d["modes"]) == d["n_significant_modes"]' \
        >"$tmp/py" 2>&1; then
        census_counts="$census_counts $("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%d/%d" % (d["n_significant_modes"], d["n_modes_outside_bulk"]))' "$tmp/out")"
        ok "trained-census case, seed $s: census 9-11 while MP counts >= 20"
    else
        fail "trained-census case, seed $s (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
done
# stable across seeds: the three counts (significant/MP) within one of each other
if "$PY" -c '
import sys
c = [int(x.split("/")[0]) for x in sys.argv[1:]]
sys.exit(len(c) != 3 or max(c) - min(c) > 1)' $census_counts; then
    ok "trained-census case: census stable across training seeds (significant/MP:$census_counts)"
else
    fail "trained-census case: census across seeds (significant/MP:$census_counts)"
fi
# Early in training the census agrees with the MP count (docs/spectral.md,
# "Validity window"): the first epoch of the same three runs (the same
# trajectory: same seeds), recorded every 10 of its 100 steps. While the
# modes leave the bulk one after another (steps 10-30) the two counts are
# equal; through the epoch the MP count leads by at most 2 (the BBP band and
# the component the permutation null shadows); by the end of the epoch the
# census has its final value (within 1 of the 20-epoch count) while the MP
# count has not yet started to count grown noise (>= 10 more after 20 epochs).
for s in 1 2 3; do
    setup_model "1-epoch tracked model, seed $s" train --visible ising --hidden ising \
        --n-hidden 50 --epochs 1 --seed "$s" --track-every 10 --no-report --quiet \
        --out "$tmp/early-$s.rbm" || continue
    run spectrum "$tmp/census-$s.rbm" --json
    cp "$tmp/out" "$tmp/late-$s.json"
    if [ "$rc" -eq 0 ] && "$PY" - "$tmp/early-$s.rbm.spectrum.csv" "$tmp/late-$s.json" \
        >"$tmp/py" 2>&1 <<'PYEOF'; then
import csv, json, sys
rows = [(int(r["step"]), int(r["n_outside"]), int(r["n_significant"]))
        for r in csv.DictReader(open(sys.argv[1]))]
late = json.load(open(sys.argv[2]))
print(" ".join("%d:%d/%d" % r for r in rows))
assert [r[0] for r in rows] == list(range(0, 101, 10)), rows
assert rows[0][1:] == (0, 0), rows[0]                       # W(0): all bulk
assert all(mp == c for st, mp, c in rows if st <= 30), rows  # modes leaving one by one
assert all(0 <= mp - c <= 2 for st, mp, c in rows), rows
assert rows[1][1] >= 3 and rows[3][1] >= 6, rows             # and they do leave
final = rows[-1][2]
assert abs(final - late["n_significant_modes"]) <= 1, (final, late["n_significant_modes"])
assert late["n_modes_outside_bulk"] - late["n_significant_modes"] >= 10
PYEOF
        ok "census early in training, seed $s: = MP count to step 30, within 2 through epoch 1 ($(tail -n 1 "$tmp/py"))"
    else
        fail "census early in training, seed $s (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
done
# --compare: reproducibility of modes across training seeds on the same data
# (6 planted +-1 clusters, 15% flips, written here by NumPy). The significant
# modes must lie in the other runs' significant span (share > 0.9), the modes
# inside the bulk must not (< 0.1); a model compared with itself reproduces
# exactly its own significant span (share 1 there, 0 beyond).
"$PY" -c '
import sys, numpy as np
r = np.random.default_rng(5)
C = r.choice([-1.0, 1.0], size=(6, 100))
lab = r.integers(0, 6, 4000)
np.save(sys.argv[1], C[lab] * np.where(r.random((4000, 100)) < 0.15, -1.0, 1.0))' "$tmp/clusters.npy"
for s in 1 2 3; do
    setup_model "cluster model, seed $s" train --data "$tmp/clusters.npy" --visible ising \
        --hidden ising --n-hidden 30 --epochs 10 --seed "$s" --no-report --quiet \
        --out "$tmp/cl-$s.rbm"
done
run spectrum "$tmp/cl-1.rbm" --compare "$tmp/cl-2.rbm" --compare "$tmp/cl-3.rbm" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
    'len(d["compared"]) == 2 and all(c["n_significant_modes"] >= 1 for c in d["compared"])' \
    'd["n_significant_modes"] >= 4 and d["n_reproducible_modes"] == d["n_significant_modes"]' \
    'all(m["reproducibility"] > 0.9 for m in d["modes"] if m["significant"])' \
    'all(m["reproducibility"] < 0.1 for m in d["modes"] if not m["outside_bulk"])' \
    'all(0 <= m["best_overlap"] <= 1 and m["best_overlap"] ** 2 <= 1 + 1e-12 for m in d["modes"])' \
    >"$tmp/py" 2>&1; then
    ok "spectrum --compare: significant modes reproduced across seeds ($(grep -E '^ *"n_(significant|reproducible)_modes"' "$tmp/out" | tr -d '\n '))"
else
    fail "spectrum --compare (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run spectrum "$tmp/cl-1.rbm" --compare "$tmp/cl-1.rbm" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
    'all(abs(m["reproducibility"] - (1 if a < d["compared"][0]["n_significant_modes"] else 0)) < 1e-9 for a, m in enumerate(d["modes"]))' \
    'all(abs(m["best_overlap"] - 1) < 1e-9 for m in d["modes"])' >"$tmp/py" 2>&1; then
    ok "spectrum --compare with itself: share 1 in its own significant span, 0 beyond"
else
    fail "spectrum --compare with itself (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run spectrum "$tmp/cl-1.rbm" --compare "$tmp/cl-2.rbm" --quiet
if [ "$rc" -eq 0 ] && grep -q '^reproduced ' "$tmp/out"; then
    ok "spectrum --compare report"
else
    fail "spectrum --compare report (status $rc)"
fi
expect_error 1 "spectrum --compare: missing model" spectrum "$tmp/cl-1.rbm" --data "$tmp/clusters.npy" --compare "$tmp/none.rbm"
printf '0,1,1\n1,0,1\n1,1,0\n0,0,1\n' >"$tmp/three4.csv"
setup_model "3-unit model" train --data "$tmp/three4.csv" --n-hidden 2 --epochs 1 --batch 2 --quiet --no-report --out "$tmp/three.rbm"
expect_message 1 "spectrum --compare: different visible units" \
    "--compare $tmp/three.rbm: 3 visible units, the model has 100" \
    spectrum "$tmp/cl-1.rbm" --data "$tmp/clusters.npy" --compare "$tmp/three.rbm"
expect_message 2 "spectrum --compare empty" "empty value for --compare (expected a file)" \
    spectrum "$tmp/cl-1.rbm" --compare=
run spectrum "$dmodel" --modes 3
if [ "$rc" -eq 0 ] && grep -q '^bulk  *Marchenko-Pastur edge' "$tmp/out" && grep -q '^outside ' "$tmp/out" &&
    grep -q '^PCA ' "$tmp/out"; then
    ok "spectrum report"
else
    fail "spectrum report (status $rc)"
fi
expect_error 2 "spectrum without a model" spectrum
expect_error 2 "spectrum --modes 0" spectrum "$dmodel" --modes 0
expect_error 2 "spectrum --modes beyond the rank" spectrum "$dmodel" --modes 51
expect_error 2 "spectrum unknown option" spectrum "$dmodel" --bogus
expect_error 1 "spectrum: missing model" spectrum "$tmp/no-such-model.rbm"
printf '0,1,1\n1,0,1\n' >"$tmp/three.csv"
expect_error 1 "spectrum: data with the wrong number of columns" spectrum "$dmodel" --data "$tmp/three.csv"

# the messages of the table-driven option parser
expect_message 2 "spectrum unknown option: the message" \
    "unknown option '--bogus' for 'rbm spectrum' (see 'rbm help spectrum')" spectrum "$dmodel" --bogus
expect_message 2 "spectrum --modes without a value" "option '--modes' requires a value" \
    spectrum "$dmodel" --modes
expect_message 2 "spectrum --modes followed by an option" \
    "option '--modes' requires a value (got option '--json')" spectrum "$dmodel" --modes --json
expect_message 2 "spectrum --modes 0: the message" "invalid value '0' for --modes: must be at least 1" \
    spectrum "$dmodel" --modes 0
expect_message 2 "spectrum --modes=x: the message" "invalid value 'x' for --modes: not a whole number" \
    spectrum "$dmodel" --modes=x
expect_message 2 "spectrum --modes beyond the rank: the message" \
    "--modes 51 is more than the model's 50 modes (min(N_v, N_h))" spectrum "$dmodel" --modes 51
expect_message 2 "spectrum --data-seed -1: the message" \
    "invalid value '-1' for --data-seed: must not be negative" spectrum "$dmodel" --data-seed -1
expect_message 2 "spectrum with two models" \
    "unexpected argument '$dmodel' for 'rbm spectrum' (one MODEL only; see 'rbm help spectrum')" \
    spectrum "$dmodel" "$dmodel"
expect_message 2 "spectrum empty --data" \
    "empty value for --data (expected synthetic, fashion-mnist or a file)" spectrum "$dmodel" --data=
run spectrum "$dmodel" --modes=2 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["pca_modes"] == 2' >"$tmp/py" 2>&1; then
    ok "spectrum --modes=2"
else
    fail "spectrum --modes=2 (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi


finish
