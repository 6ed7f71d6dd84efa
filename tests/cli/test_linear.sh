#!/bin/sh
# Black-box tests of 'rbm linear' (the gauss-gauss learning dynamics).
# usage: sh tests/cli/test_linear.sh path/to/rbm
CLI_TEST=test_linear.sh
. "$(dirname "$0")/cli_common.sh"

# the flow reaches the closed-form fixed points, recomputed here from the
# reported eigenvalues: w* = sqrt((l - sv^2) / (sv^2 sh^2 l)) for l > sv^2
for sig in "1 1 60" "0.8 0.7 300"; do
    set -- $sig
    run linear --time "$3" --records 4 --sigma-v "$1" --sigma-h "$2" --json --quiet
    if [ "$rc" -eq 0 ] && "$PY" - "$tmp/out" "$1" "$2" "$3" >"$tmp/py" 2>&1 <<'PYEOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
sv, sh = float(sys.argv[2]), float(sys.argv[3])
assert d["sigma_v"] == sv and d["sigma_h"] == sh
lam = d["eigenvalues"]
assert lam == sorted(lam, reverse=True) and len(lam) == 5
ws = [math.sqrt((l - sv * sv) / (sv * sv * sh * sh * l)) if l > sv * sv else 0.0 for l in lam]
assert all(abs(a - b) < 1e-12 for a, b in zip(ws, d["fixed_points"])), (ws, d["fixed_points"])
assert len(d["times"]) == 4 and d["times"][-1] == float(sys.argv[4]) and len(d["singular_values"]) == 4
w_end = d["singular_values"][-1]
grown = [a for a in range(5) if ws[a] > 0]
assert len(grown) >= 1
for a in range(5):
    if ws[a] > 0:
        assert abs(w_end[a] - ws[a]) < 1e-3 * ws[a], (a, w_end[a], ws[a])
    else:
        assert w_end[a] < 0.01, (a, w_end[a])
assert d["singular_values"][0][0] < 0.2  # from W(0) = 0.01 N(0, 1)
print("%d modes at w* within 0.1%%: %s" % (len(grown), " ".join("%.5f" % w_end[a] for a in grown)))
PYEOF
    then
        ok "linear --sigma-v $1 --sigma-h $2: the flow ends at the closed-form fixed points ($(cat "$tmp/py"))"
    else
        fail "linear $1 $2 (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
done
run linear --time 4 --records 3
if [ "$rc" -eq 0 ] && grep -q '^flow ' "$tmp/out" && grep -q '^fixed pts' "$tmp/out"; then
    ok "linear report"
else
    fail "linear report (status $rc)"
fi
expect_error 2 "linear --records 1" linear --records 1
expect_error 2 "linear --sigma-v 0" linear --sigma-v 0
expect_error 2 "linear unknown option" linear --bogus
expect_error 2 "linear: not normalisable W(0)" linear --init 5
finish
