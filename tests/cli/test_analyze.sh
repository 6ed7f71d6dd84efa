#!/bin/sh
# Black-box tests of 'rbm analyze'.
# usage: sh tests/cli/test_analyze.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh).
CLI_TEST=test_analyze.sh
. "$(dirname "$0")/cli_common.sh"

# the model of 'rbm train' with no arguments (100 x 50)
mkdir "$tmp/default"
train_default_model "$tmp/default/rbm-model.rbm"
dmodel="$tmp/default/rbm-model.rbm"

# --- rbm analyze ----------------------------------------------------------------
run analyze "$dmodel" --starts 40 --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
    'all(k in d for k in ("n_fixed_points", "fixed_points", "log_z_tap", "phase", "sigma", "modes"))' \
    'd["n_fixed_points"] >= 1 and len(d["fixed_points"]) == d["n_fixed_points"]' \
    'd["n_random_starts"] == 40 and d["n_data_starts"] == 40 and d["order"] == "tap2"' \
    'all(isinstance(p["gamma"], float) and math.isfinite(p["gamma"]) for p in d["fixed_points"])' \
    'all(p["multiplicity"] >= 1 and isinstance(p["stable"], bool) and len(p["projections"]) == 5
         for p in d["fixed_points"])' \
    'sum(p["multiplicity"] for p in d["fixed_points"]) + d["n_failed"] == d["n_starts"]' \
    '[p["gamma"] for p in d["fixed_points"]] == sorted(p["gamma"] for p in d["fixed_points"])' \
    'd["log_z_tap"] >= -d["fixed_points"][0]["gamma"] - 1e-9' \
    'd["phase"] in ("paramagnetic", "ferromagnetic", "spin_glass") and d["sigma"] > 0' \
    'isinstance(d["modes"], list)' >"$tmp/py" 2>&1; then
    ok "analyze --json: fixed points with finite Gamma, TAP log Z, phase ($(grep -E '"(n_fixed_points|log_z_tap|phase)"' "$tmp/out" | tr -d '\n '))"
else
    fail "analyze --json (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run analyze "$dmodel" --starts 10 --no-data --order mf --modes 2 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["order"] == "naive" and d["n_data_starts"] == 0' \
    'd["data"] is None and d["n_fixed_points"] >= 1' \
    'all(len(p["projections"]) == 2 for p in d["fixed_points"])' >"$tmp/py" 2>&1 && [ ! -s "$tmp/err" ]; then
    ok "analyze --no-data --order mf"
else
    fail "analyze --no-data --order mf (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run analyze "$dmodel" --starts 20 --order tap3
if [ "$rc" -eq 0 ] && grep -q '^fixed pts   [0-9]* distinct tap3' "$tmp/out" && grep -q '^log Z  *TAP' "$tmp/out" &&
    grep -q '^phase ' "$tmp/out"; then
    ok "analyze report (tap3)"
else
    fail "analyze report (status $rc)"
fi
run train --visible gaussian --epochs 1 --n-hidden 6 --json --quiet --out "$tmp/ga.rbm"
run analyze "$tmp/ga.rbm" --starts 5 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["phase"] is None and "phase_note" in d' \
    'd["n_fixed_points"] >= 1' >"$tmp/py" 2>&1; then
    ok "analyze of a gaussian-visible model: fixed points, no phase (with a note)"
else
    fail "analyze gaussian (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run train --visible gaussian --hidden gaussian --epochs 1 --n-hidden 4 --json --quiet --out "$tmp/gg.rbm"
expect_error 2 "analyze --order tap2 of a gauss-gauss model" analyze "$tmp/gg.rbm"
run analyze "$tmp/gg.rbm" --order mf --starts 5 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_fixed_points"] == 1 and d["order"] == "naive"' \
    >"$tmp/py" 2>&1; then
    ok "analyze --order mf of a gauss-gauss model: one fixed point"
else
    fail "analyze gauss-gauss --order mf (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run analyze "$dmodel" --starts 5 --damping 0.2 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["damping"] == 0.2' >"$tmp/py" 2>&1; then
    ok "analyze --damping"
else
    fail "analyze --damping (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
expect_error 2 "analyze --damping 0" analyze "$dmodel" --damping 0
expect_error 2 "analyze --damping 1.5" analyze "$dmodel" --damping 1.5
expect_error 2 "analyze without a model" analyze
expect_error 2 "analyze --order tap4" analyze "$dmodel" --order tap4
expect_error 2 "analyze --starts 0" analyze "$dmodel" --starts 0
expect_error 2 "analyze --modes 0" analyze "$dmodel" --modes 0
expect_error 1 "analyze: missing model" analyze "$tmp/no-such-model.rbm"

# the messages of the table-driven option parser
expect_message 2 "analyze --order tap4: the message" \
    "unknown order 'tap4' for --order (expected mf, tap, tap2 or tap3)" analyze "$dmodel" --order tap4
expect_message 2 "analyze --order without a value" "option '--order' requires a value" \
    analyze "$dmodel" --order
expect_message 2 "analyze --damping 1.5: the message" \
    "invalid value '1.5' for --damping: must be in (0, 1]" analyze "$dmodel" --damping 1.5
run analyze "$dmodel" --starts 5 --no-data --order=tap --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["order"] == "tap2"' >"$tmp/py" 2>&1; then
    ok "analyze --order=tap is tap2"
else
    fail "analyze --order=tap (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi


# --magnetizations: every point's m^v (N_v) and m^h (N_h), inside [-1, 1]
# for ising units; the TAP equations tie them: m^h_j = tanh(b_j + (W^T m^v)_j)
# is not checked here (no W in the JSON), the shapes and ranges are
run analyze "$dmodel" --starts 10 --magnetizations --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'len(d["fixed_points"]) >= 1' \
    'all(len(p["mv"]) == 100 and len(p["mh"]) == 50 for p in d["fixed_points"])' \
    'all(-1 <= x <= 1 for p in d["fixed_points"] for x in p["mv"] + p["mh"])' \
    'max(abs(x) for x in d["fixed_points"][0]["mv"]) > 0.1' >"$tmp/py" 2>&1; then
    ok "analyze --magnetizations lists m^v and m^h of every fixed point"
else
    fail "analyze --magnetizations (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# ... and the listed magnetisations solve the TAP2 equations of the machine
# (docs/theory.md §4.2), with W, a, b read from the training archive by
# tools/rbm_archive.py (no librbm); Gamma is the TAP2 free energy of (m^v,
# m^h) and the projections are u_a . m^v with NumPy's SVD of W (sign: the
# largest entry of u_a positive, svd.h).
root=${RBM_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
setup_model "ising model with an archive" train --visible ising --hidden ising --n-hidden 20 \
    --epochs 3 --no-report --quiet --archive "$tmp/tap.rbma" --out "$tmp/tap.rbm"
run analyze "$tmp/tap.rbm" --starts 10 --modes 3 --magnetizations --json --quiet
if [ "$rc" -eq 0 ] && "$PY" - "$root/tools/rbm_archive.py" "$tmp/tap.rbma" "$tmp/out" \
    >"$tmp/py" 2>&1 <<'PYEOF'; then
import importlib.util, json, sys
import numpy as np
spec = importlib.util.spec_from_file_location("rbm_archive", sys.argv[1])
ra = importlib.util.module_from_spec(spec); spec.loader.exec_module(ra)
M = ra.read(sys.argv[2]).models[-1]
W, a, b = M.W, M.a, M.b
d = json.load(open(sys.argv[3]))
assert d["n_visible"] == W.shape[0] and d["n_hidden"] == W.shape[1] and d["order"] == "tap2"
U, S, Vt = np.linalg.svd(W, full_matrices=False)
for k in range(3):
    if U[np.argmax(np.abs(U[:, k])), k] < 0:
        U[:, k] = -U[:, k]
W2 = W * W
ent = lambda m: -np.sum((1 + m) / 2 * np.log((1 + m) / 2) + (1 - m) / 2 * np.log((1 - m) / 2))
worst = [0.0, 0.0, 0.0]
for p in d["fixed_points"]:
    mv, mh = np.array(p["mv"]), np.array(p["mh"])
    rv = mv - np.tanh(a + W @ mh - mv * (W2 @ (1 - mh * mh)))
    rh = mh - np.tanh(b + W.T @ mv - mh * (W2.T @ (1 - mv * mv)))
    neg_gamma = (ent(mv) + ent(mh) + a @ mv + b @ mh + mv @ W @ mh
                 + 0.5 * (1 - mv * mv) @ W2 @ (1 - mh * mh))
    worst[0] = max(worst[0], np.abs(rv).max(), np.abs(rh).max())
    worst[1] = max(worst[1], abs(-neg_gamma - p["gamma"]) / max(1.0, abs(p["gamma"])))
    worst[2] = max(worst[2], np.abs(U[:, :3].T @ mv - np.array(p["projections"])).max())
assert len(d["fixed_points"]) >= 1 and max(abs(x) for x in d["fixed_points"][0]["mv"]) > 0.1
assert worst[0] < 1e-6 and worst[1] < 1e-9 and worst[2] < 1e-9, worst
print("%d points: TAP2 residual %.1e, Gamma %.1e, projections %.1e" % ((len(d["fixed_points"]),) + tuple(worst)))
PYEOF
    ok "analyze --magnetizations: the points solve the TAP2 equations ($(tail -n 1 "$tmp/py"))"
else
    fail "analyze --magnetizations against the TAP2 equations (status $rc) $(tail -n 5 "$tmp/py" 2>/dev/null)"
fi
run analyze "$dmodel" --starts 5 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'all("mv" not in p for p in d["fixed_points"])' \
    >"$tmp/py" 2>&1; then
    ok "analyze without --magnetizations: projections only"
else
    fail "analyze default keys (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
finish
