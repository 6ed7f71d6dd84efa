#!/bin/sh
# Black-box tests of 'rbm phase'.
# usage: sh tests/cli/test_phase.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh).
CLI_TEST=test_phase.sh
. "$(dirname "$0")/cli_common.sh"

# --- rbm phase --------------------------------------------------------------------
phase_check() {
    what=$1
    shift
    run phase "$@" --json
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
        'all(k in d for k in ("phase", "m", "q", "qbar", "w_c"))' "$PHASE_EXPR" >"$tmp/py" 2>&1; then
        ok "phase $*: $what ($(tr -d '\n ' <"$tmp/out" | grep -o '"phase":"[a-z_]*"'))"
    else
        fail "phase $*: $what (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
}
PHASE_EXPR='d["phase"] == "paramagnetic" and d["q"] < 1e-6 and max(abs(x) for x in d["m"]) < 1e-6 and abs(d["w_c"] - 2.0) < 1e-9'
phase_check "paramagnetic for T > max(sigma, w); w_c = T" --w 0.8 --sigma 0.5 --temperature 2
PHASE_EXPR='d["phase"] == "ferromagnetic" and d["m"][0] > 0.1 and abs(d["w_c"] - 1.0) < 1e-9'
phase_check "ferromagnetic for sigma < T < w" --w 1.5 --sigma 0.5 --temperature 1.0
PHASE_EXPR='d["phase"] == "spin_glass" and d["q"] > 0.1 and max(abs(x) for x in d["m"]) < 1e-6 and d["w_c"] > 1'
phase_check "spin glass for T < sigma and a small w" --w 0.2 --sigma 1 --temperature 0.5
PHASE_EXPR='abs(d["w_c"] - 1.5) < 1e-9 and d["phase"] == "paramagnetic"'
phase_check "w_c = T for T >= sigma" --w 1.0 --sigma 1.5 --temperature 1.5 --kappa 4
PHASE_EXPR='d["phase"] == "ferromagnetic" and abs(d["w_c"] - 1.0646) < 1e-3 and d["kappa"] == 1'
phase_check "the default point" --law rademacher
PHASE_EXPR='d["phase"] == "ferromagnetic" and len(d["m"]) == 2 and d["law"] == "ternary"'
phase_check "two modes, ternary components" --w 1.5 --w 1.2 --sigma 0.3 --temperature 0.8 --law ternary --sparsity 0.5
run phase
if [ "$rc" -eq 0 ] && grep -q '^phase  *ferromagnetic' "$tmp/out" && grep -q '^q ' "$tmp/out" &&
    grep -q '^lines ' "$tmp/out"; then
    ok "phase report with the defaults"
else
    fail "phase report (status $rc)"
fi
expect_error 2 "phase --kappa 0" phase --kappa 0
expect_error 2 "phase --temperature 0" phase --temperature 0
expect_error 2 "phase --sigma -1" phase --sigma -1
expect_error 2 "phase --w nan" phase --w nan
expect_error 2 "phase --law cauchy" phase --law cauchy
expect_error 2 "phase --sparsity without ternary" phase --sparsity 0.5
expect_error 2 "phase --sparsity 2" phase --law ternary --sparsity 2
expect_error 2 "phase: too many modes" phase --w 1 --w 1 --w 1 --w 1 --w 1 --w 1 --w 1 --w 1 --w 1
expect_error 2 "phase stray argument" phase 1.5

# the messages of the table-driven option parser
expect_message 2 "phase unknown option" \
    "unknown option '--bogus' for 'rbm phase' (see 'rbm help phase')" phase --bogus
expect_message 2 "phase --kappa without a value" "option '--kappa' requires a value" phase --kappa
expect_message 2 "phase --w without a value" "option '--w' requires a value" phase --w
expect_message 2 "phase --w followed by an option" \
    "option '--w' requires a value (got option '--json')" phase --w --json
expect_message 2 "phase --law without a value" "option '--law' requires a value" phase --law
expect_message 2 "phase --kappa 0: the message" "invalid value '0' for --kappa: must be greater than 0" \
    phase --kappa 0
expect_message 2 "phase --temperature=abc: the message" \
    "invalid value 'abc' for --temperature: not a number" phase --temperature=abc
expect_message 2 "phase --sigma -1: the message" "invalid value '-1' for --sigma: must not be negative" \
    phase --sigma -1
expect_message 2 "phase --w inf: the message" "invalid value 'inf' for --w: must be a finite number" \
    phase --w inf
expect_message 2 "phase --sparsity 2: the message" "invalid value '2' for --sparsity: must be in (0, 1]" \
    phase --law ternary --sparsity 2
expect_message 2 "phase --law cauchy: the message" \
    "unknown law 'cauchy' for --law (expected rademacher, gaussian, laplace or ternary)" phase --law cauchy
expect_message 2 "phase: too many modes, the message" "too many --w values (at most 8 modes)" \
    phase --w 1 --w 1 --w 1 --w 1 --w 1 --w 1 --w 1 --w 1 --w 1
expect_message 2 "phase stray argument: the message" \
    "unexpected argument '1.5' for 'rbm phase' (see 'rbm help phase')" phase 1.5
PHASE_EXPR='d["w"] == [1.5, 1.2] and d["law"] == "ternary" and d["sparsity"] == 0.25 and d["kappa"] == 2'
phase_check "--w=, --law=, --sparsity= and --kappa= spellings" --w=1.5 --w=1.2 --law=ternary --sparsity=0.25 --kappa=2


# --grid: the diagram over (T, w), its lines and the de Almeida-Thouless line
run phase --grid "$tmp/pg" --grid-points 12 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["grid_points"] == 144' \
    'd["n_paramagnetic"] + d["n_ferromagnetic"] + d["n_spin_glass"] == 144' \
    'min(d["n_paramagnetic"], d["n_ferromagnetic"], d["n_spin_glass"]) > 0' \
    'd["at_line_points"] == 12' >"$tmp/py" 2>&1 &&
    [ -s "$tmp/pg/phase_grid.csv" ] && [ -s "$tmp/pg/lines.csv" ] && [ -s "$tmp/pg/phase_diagram.gp" ] &&
    "$PY" - "$tmp/pg" >>"$tmp/py" 2>&1 <<'PYEOF'
import csv, sys
d = sys.argv[1]
at = [(float(r["w"]), float(r["T_AT"])) for r in csv.DictReader(open(d + "/at_line.csv"))]
# w <= sigma: the AT line is the P-SG line T = sigma; above, it falls inside the F phase
assert all(abs(t - 1) < 1e-12 for w, t in at if w <= 1), at
hi = [t for w, t in at if w > 1]
assert hi and all(0 < t < 1 for t in hi) and hi == sorted(hi, reverse=True), hi
grid = list(csv.DictReader(open(d + "/phase_grid.csv")))
# the P-F line T = w for T > sigma: points well above it are P, well below F
for r in grid:
    T, w, ph = float(r["T"]), float(r["w"]), int(r["phase"])
    if T > 1.05 and w < T - 0.2:
        assert ph == 0, r
    if T > 1.05 and w > T + 0.2:
        assert ph == 1, r
    if T < 0.95 and w < 0.9:
        assert ph == 2, r
print("AT line", " ".join("%.3f" % t for t in hi))
PYEOF
then
    ok "phase --grid: phases on both sides of the lines, AT line from the triple point down ($(tail -n 1 "$tmp/py"))"
else
    fail "phase --grid (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# The AT line against references computed here (kappa 1, sigma 1). Rademacher
# components: the SK model (J0 = w, J = sigma), RS ferromagnet iterated and
# beta^2 E sech^4 = 1 bisected. Gaussian components (not Rademacher-only any
# more): by Stein's lemma the symmetric RS ferromagnet has q = 1 - T/w and
# H ~ N(0, s^2) with E tanh^2(s z) = q, so lambda_AT = (E sech^4(s z) / T^2)^2.
run phase --grid "$tmp/pgg" --grid-points 12 --law gaussian --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["at_line_points"] == 12' >"$tmp/py" 2>&1 &&
    grep -q "de Almeida-Thouless" "$tmp/pgg/phase_diagram.gp" &&
    "$PY" - "$tmp/pg" "$tmp/pgg" >>"$tmp/py" 2>&1 <<'PYEOF'
import csv, sys
import numpy as np
z = np.linspace(-12, 12, 4801)
wz = np.full(z.size, 2.0); wz[1::2] = 4.0; wz[0] = wz[-1] = 1.0
wz *= (z[1] - z[0]) / 3 * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
E = lambda f: float(np.dot(wz, f))
def bisect(f, a, b, n=50):  # f(a) > 0 > f(b)
    for _ in range(n):
        m = 0.5 * (a + b)
        a, b = (m, b) if f(m) > 0 else (a, m)
    return 0.5 * (a + b)
def sk_excess(T, w):
    b, m, q = 1 / T, 1.0, 1.0
    for _ in range(20000):
        t = np.tanh(b * (w * m + np.sqrt(q) * z))
        nm, nq = E(t), E(t * t)
        done = abs(nm - m) + abs(nq - q) < 1e-14
        m, q = nm, nq
        if done:
            break
    t = np.tanh(b * (w * m + np.sqrt(q) * z))
    return b * b * E((1 - t * t) ** 2) - 1
def gauss_excess(T, w):
    q = 1 - T / w
    s = bisect(lambda s: q - E(np.tanh(s * z) ** 2), 1e-6, 1e3, 80)
    assert s * s * T * T > q  # m^2 = (s^2 T^2 - q) / w^2 > 0: a ferromagnet
    t = np.tanh(s * z)
    return (E((1 - t * t) ** 2) / T ** 2) ** 2 - 1
out = []
for d, ex in ((sys.argv[1], sk_excess), (sys.argv[2], gauss_excess)):
    at = [(float(r["w"]), float(r["T_AT"])) for r in csv.DictReader(open(d + "/at_line.csv"))]
    assert all(abs(t - 1) < 1e-12 for w, t in at if w <= 1), at
    hi = [(w, t) for w, t in at if w > 1]
    assert len(hi) == 6, hi
    for w, t in hi:
        ref = bisect(lambda T: ex(T, w), 0.05, 0.999)
        assert abs(t - ref) < 2e-5, (d, w, t, ref)
    out.append(" ".join("%.4f" % t for w, t in hi))
print("T_AT at w = 1.09 ... 2: SK/rademacher %s; gaussian %s" % tuple(out))
PYEOF
then
    ok "phase --grid: AT line = SK's (rademacher) and the gaussian closed form ($(tail -n 1 "$tmp/py"))"
else
    fail "phase --grid AT line references (status $rc) $(tail -n 5 "$tmp/py" 2>/dev/null)"
fi
expect_error 2 "phase --grid-points 2" phase --grid "$tmp/pg2" --grid-points 2
# the (sigma, w) diagram at T = 1: the same physics by the scaling of the RS
# equations (phases depend on T/sigma and w/sigma only)
run phase --grid "$tmp/ps" --grid-axis sigma --temperature 1 --grid-points 8 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["grid_axis"] == "sigma" and d["grid_points"] == 64' \
    'min(d["n_paramagnetic"], d["n_ferromagnetic"], d["n_spin_glass"]) > 0' >"$tmp/py" 2>&1 &&
    "$PY" - "$tmp/ps" >>"$tmp/py" 2>&1 <<'PYEOF'
import csv, sys
at = [(float(r["w"]), float(r["sigma_AT"])) for r in csv.DictReader(open(sys.argv[1] + "/at_line.csv"))]
assert all(abs(s - 1) < 1e-12 for w, s in at if w <= 1), at
hi = [s for w, s in at if w > 1]
assert hi and all(s > 1 for s in hi) and hi == sorted(hi), hi
for r in csv.DictReader(open(sys.argv[1] + "/phase_grid.csv")):
    sg, w, ph = float(r["sigma"]), float(r["w"]), int(r["phase"])
    if sg < 0.9 and w < 0.8:
        assert ph == 0, r
    if sg < 0.9 and w > 1.2:
        assert ph == 1, r
PYEOF
then
    ok "phase --grid --grid-axis sigma: the (sigma, w) diagram and its AT line"
else
    fail "phase --grid-axis sigma (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
expect_error 2 "phase --grid-axis bogus" phase --grid "$tmp/pg3" --grid-axis bogus

finish
