#!/bin/sh
# Black-box tests of the rbm command-line program.
# usage: sh tests/test_cli.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed.
set -u

RBM=${1:?usage: test_cli.sh path/to/rbm}
case $RBM in
/*) ;;
*) RBM=$(pwd)/$RBM ;;
esac
PY=/usr/bin/python3
FASHION=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rbm-cli-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Keep runs short and quiet from the BLAS side on busy machines.
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export OPENBLAS_NUM_THREADS

failed=0
passed=0
ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}
fail() {
    failed=$((failed + 1))
    echo "not ok - $1"
    if [ -s "$tmp/err" ]; then
        sed 's/^/#   stderr: /' "$tmp/err" | head -n 20
    fi
}

# run ARGS...: runs rbm with stdout in $tmp/out, stderr in $tmp/err, status in $rc
run() {
    "$RBM" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
}

# check_json FILE PYTHON-EXPR...: FILE must hold exactly one JSON object (no
# NaN/Infinity literals) for which every expression over d is true.
check_json() {
    f=$1
    shift
    "$PY" - "$f" "$@" <<'EOF'
import json, sys
def no_constants(c):
    raise ValueError("non-JSON constant " + c)
with open(sys.argv[1]) as fh:
    text = fh.read()
d = json.loads(text, parse_constant=no_constants)
if not isinstance(d, dict):
    sys.exit("not a JSON object")
for expr in sys.argv[2:]:
    if not eval(expr, {"d": d, "math": __import__("math")}):
        sys.exit("false: " + expr + "\n" + text)
EOF
}

# expect_error STATUS DESCRIPTION ARGS...: rbm fails with STATUS, nothing on
# stdout, exactly one line "rbm: error: ..." on stderr.
expect_error() {
    want=$1
    what=$2
    shift 2
    run "$@"
    if [ "$rc" -ne "$want" ]; then
        fail "$what: exit status $rc, expected $want"
    elif [ -s "$tmp/out" ]; then
        fail "$what: unexpected output on stdout"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q '^rbm: error: ' "$tmp/err"; then
        fail "$what: stderr is not one 'rbm: error:' line"
    else
        ok "$what (exit $want: $(cat "$tmp/err"))"
    fi
}

# --- version and help ----------------------------------------------------
run --version
if [ "$rc" -eq 0 ] && grep -Eq '^rbm [0-9]+\.[0-9]+\.[0-9]+' "$tmp/out"; then
    ok "--version prints the version: $(cat "$tmp/out")"
else
    fail "--version (status $rc)"
fi

for h in help --help -h; do
    run "$h"
    if [ "$rc" -eq 0 ] && grep -q 'train' "$tmp/out" && [ ! -s "$tmp/err" ]; then
        ok "rbm $h lists the commands"
    else
        fail "rbm $h (status $rc)"
    fi
done
run help train
if [ "$rc" -eq 0 ] && grep -q -- '--n-hidden' "$tmp/out" && grep -q -- '--json' "$tmp/out"; then
    ok "rbm help train documents the options"
else
    fail "rbm help train (status $rc)"
fi
run train --help
if [ "$rc" -eq 0 ] && grep -q -- '--estimator' "$tmp/out"; then
    ok "rbm train --help"
else
    fail "rbm train --help (status $rc)"
fi
for c in eval sample spectrum analyze; do
    run help "$c"
    if [ "$rc" -eq 0 ] && grep -q "usage: rbm $c MODEL" "$tmp/out" && grep -q -- '--json' "$tmp/out"; then
        ok "rbm help $c"
    else
        fail "rbm help $c (status $rc)"
    fi
    run "$c" --help
    if [ "$rc" -eq 0 ] && grep -q "usage: rbm $c MODEL" "$tmp/out"; then
        ok "rbm $c --help"
    else
        fail "rbm $c --help (status $rc)"
    fi
done
run help
if grep -q '^  eval ' "$tmp/out" && grep -q '^  sample ' "$tmp/out" &&
    grep -q '^  spectrum ' "$tmp/out" && grep -q '^  analyze ' "$tmp/out" &&
    grep -q '^  phase ' "$tmp/out"; then
    ok "rbm help lists eval, sample, spectrum, analyze and phase"
else
    fail "rbm help does not list every command"
fi
run help phase
if [ "$rc" -eq 0 ] && grep -q 'usage: rbm phase' "$tmp/out" && grep -q -- '--temperature' "$tmp/out"; then
    ok "rbm help phase"
else
    fail "rbm help phase (status $rc)"
fi
run train --help
if [ "$rc" -eq 0 ] && grep -q -- '--track-spectrum' "$tmp/out" && grep -q -- '--no-report' "$tmp/out" &&
    grep -q -- '--plots DIR' "$tmp/out"; then
    ok "rbm train --help documents --track-spectrum, --no-report and --plots"
else
    fail "rbm train --help: report options (status $rc)"
fi

# --- a small run with --json ----------------------------------------------
model="$tmp/small model.rbm"
run train --epochs 2 --n-hidden 16 --json --out "$model"
if [ "$rc" -ne 0 ]; then
    fail "train --epochs 2 --json: exit status $rc"
elif check_json "$tmp/out" \
    'all(k in d for k in ("epochs", "seconds", "samples_per_second", "reconstruction_error",
        "n_visible", "n_hidden", "visible", "hidden", "estimator", "k", "batch",
        "learning_rate", "data", "model_path", "seed", "precision"))' \
    'd["epochs"] == 2 and d["n_hidden"] == 16 and d["n_visible"] == 100' \
    'd["seconds"] > 0 and d["samples_per_second"] > 0' \
    'isinstance(d["reconstruction_error"], float) and d["reconstruction_error"] >= 0' \
    'd["data"] == "synthetic" and d["visible"] == "ising" and d["estimator"] == "pcd"' \
    'd["model_path"].endswith("small model.rbm")' >"$tmp/py" 2>&1; then
    ok "train --json prints one JSON object with the required keys"
else
    fail "train --json output: $(cat "$tmp/py")"
fi
if [ -s "$model" ]; then
    ok "train saves a non-empty model file"
else
    fail "model file missing or empty"
fi
# stderr is not a terminal here: plain progress lines, one per epoch, no '\r'
if grep -q '^epoch 1/2 ' "$tmp/err" && grep -q '^epoch 2/2 ' "$tmp/err" &&
    grep -q 'samples/s' "$tmp/err" && ! grep -q "$(printf '\r')" "$tmp/err"; then
    ok "non-terminal stderr gets one plain progress line per epoch"
else
    fail "plain progress lines on stderr"
fi

# --quiet: nothing on stderr
run train --epochs 1 --n-hidden 8 --json --quiet --out "$tmp/q.rbm"
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] && check_json "$tmp/out" 'd["epochs"] == 1'; then
    ok "--quiet --json: JSON on stdout, nothing on stderr"
else
    fail "--quiet --json (status $rc)"
fi

# same seed => same model file
run train --epochs 1 --n-hidden 8 --quiet --seed 7 --out "$tmp/s1.rbm"
run train --epochs 1 --n-hidden 8 --quiet --seed 7 --out "$tmp/s2.rbm"
if cmp -s "$tmp/s1.rbm" "$tmp/s2.rbm"; then
    ok "the same --seed gives an identical model file"
else
    fail "same --seed gave different model files"
fi

# --- the default run (no arguments) in an empty directory -----------------
mkdir "$tmp/default"
(cd "$tmp/default" && "$RBM" train >"$tmp/out" 2>"$tmp/err" </dev/null)
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$tmp/default/rbm-model.rbm" ] &&
    grep -q 'rbm-model.rbm' "$tmp/out" && grep -q 'samples/s' "$tmp/out" &&
    grep -q 'recon' "$tmp/out"; then
    ok "rbm train with no arguments: report and ./rbm-model.rbm"
    sed 's/^/#   /' "$tmp/out"
else
    fail "default run (status $rc)"
fi
# the main job's spectral and thermodynamic report, the history and the plots
if [ "$rc" -eq 0 ] && grep -q '^-- spectral and thermodynamic report' "$tmp/out" &&
    grep -q '^spectrum .*outside the bulk' "$tmp/out" && grep -q '^TAP states  [0-9]* distinct' "$tmp/out" &&
    grep -q '^log Z       TAP [0-9]' "$tmp/out" && grep -q '^phase       [a-z_]* at T = 1' "$tmp/out" &&
    grep -q '^PCA ' "$tmp/out" && grep -q '^plots ' "$tmp/out"; then
    ok "default run: spectral and thermodynamic report (spectrum, PCA, TAP states, log Z, phase, plots)"
else
    fail "default run: report missing"
fi
csv="$tmp/default/rbm-model.rbm.spectrum.csv"
if [ -s "$csv" ] && head -n 1 "$csv" | grep -q '^step,edge,n_outside,w0,w1' &&
    [ "$(wc -l <"$csv")" -eq 52 ]; then
    ok "default run: spectrum history rbm-model.rbm.spectrum.csv (header + 51 records)"
else
    fail "default run: spectrum history missing or wrong length"
fi
if command -v gnuplot >/dev/null 2>&1; then
    pngs_ok=1
    for png in spectrum.png fixed_points.png; do
        f="$tmp/default/rbm-model.plots/$png"
        if ! "$PY" -c 'import sys
sys.exit(open(sys.argv[1], "rb").read(8) != b"\x89PNG\r\n\x1a\n")' "$f" 2>/dev/null; then
            pngs_ok=0
        fi
    done
    if [ "$pngs_ok" -eq 1 ] && grep -q 'rbm-model.plots/spectrum.png' "$tmp/out"; then
        ok "default run: PNG plots in rbm-model.plots/ (spectrum.png, fixed_points.png)"
    else
        fail "default run: plots missing ($(ls "$tmp/default/rbm-model.plots" 2>&1 | tr '\n' ' '))"
    fi
else
    if grep -q '^plots .*gnuplot not found' "$tmp/out"; then
        ok "default run: no gnuplot, the report says the plots were skipped"
    else
        fail "default run without gnuplot: no note about the plots"
    fi
fi

# --- other unit kinds and estimators (one short epoch each) -------------------
for args in "--visible bernoulli" "--visible gaussian" "--hidden gaussian" \
    "--estimator cd -k 2" "--estimator exact --n-hidden 6" "--estimator tap" "--estimator mf" \
    "--estimator tap3 -k 2" "--optimizer adam --lr 0.001" \
    "--optimizer momentum --l2 0.0001" "--precision float32"; do
    # shellcheck disable=SC2086
    run train $args --epochs 1 --n-hidden 8 --batch 50 --json --quiet --out "$tmp/v.rbm"
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["epochs"] == 1' 'd["samples_per_second"] > 0' \
        >"$tmp/py" 2>&1; then
        ok "train $args"
    else
        fail "train $args (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
done

# --estimator tap: the estimator's name in the JSON
run train --estimator tap --epochs 2 --n-hidden 8 --json --quiet --out "$tmp/tap.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["estimator"] == "tap2" and d["epochs"] == 2' \
    >"$tmp/py" 2>&1; then
    ok "train --estimator tap (TAP2 EMF estimator)"
else
    fail "train --estimator tap (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi

# --- --track-spectrum: history beside the model, summary in the JSON ----------
run train --epochs 3 --n-hidden 12 --track-spectrum --json --quiet --out "$tmp/tr.rbm"
csv="$tmp/tr.rbm.spectrum.csv"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["spectrum_history"].endswith("tr.rbm.spectrum.csv")' \
    'isinstance(d["n_modes_outside_bulk"], int) and d["n_modes_outside_bulk"] >= 0' \
    'd["spectrum_records"] == 4 and len(d["top_singular_values"]) == 12' \
    'd["top_singular_values"] == sorted(d["top_singular_values"], reverse=True)' \
    'd["bulk_edge"] > 0' >"$tmp/py" 2>&1 &&
    [ -s "$csv" ] && head -n 1 "$csv" | grep -q '^step,edge,n_outside,w0,w1' &&
    [ "$(wc -l <"$csv")" -eq 5 ] && [ "$(sed -n 2p "$csv" | cut -d, -f1)" = 0 ]; then
    ok "train --track-spectrum: MODEL.spectrum.csv with a header and epochs + 1 rows; JSON summary"
else
    fail "train --track-spectrum (status $rc) $(cat "$tmp/py" 2>/dev/null) $(head -c 300 "$csv" 2>&1)"
fi
run train --epochs 1 --n-hidden 8 --json --quiet --out "$tmp/nt.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["spectrum_history"] is None' \
    'd["n_modes_outside_bulk"] is None' >"$tmp/py" 2>&1 && [ ! -e "$tmp/nt.rbm.spectrum.csv" ]; then
    ok "train --json without --track-spectrum: no history"
else
    fail "train --json without --track-spectrum (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# --no-report: the short report only, no plots; --plots DIR elsewhere
run train --epochs 1 --n-hidden 8 --quiet --no-report --out "$tmp/nr.rbm"
if [ "$rc" -eq 0 ] && ! grep -q 'spectral and thermodynamic' "$tmp/out" && [ ! -e "$tmp/nr.plots" ] &&
    grep -q '^model ' "$tmp/out"; then
    ok "train --no-report: no report, no plots"
else
    fail "train --no-report (status $rc)"
fi
run train --epochs 2 --n-hidden 8 --quiet --plots "$tmp/myplots" --out "$tmp/pl.rbm"
if [ "$rc" -eq 0 ] && grep -q '^TAP states' "$tmp/out" && [ -s "$tmp/myplots/plots.gp" ] &&
    [ -s "$tmp/myplots/spectrum.csv" ] && [ ! -e "$tmp/pl.plots" ] && [ -s "$tmp/pl.rbm.spectrum.csv" ]; then
    ok "train --plots DIR: report, plot data and script in DIR"
else
    fail "train --plots DIR (status $rc)"
fi
expect_error 2 "--plots with --json" train --json --plots "$tmp/x"
expect_error 2 "--plots with --no-report" train --no-report --plots "$tmp/x"
expect_error 2 "empty --plots" train --plots=

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

# --- training on files --------------------------------------------------------
# {0,1} CSV with a header: used as it is by bernoulli units, mapped to +-1 for ising
"$PY" - "$tmp/bits.csv" "$tmp/pixels.csv" <<'EOF'
import random, sys
r = random.Random(3)
with open(sys.argv[1], "w") as f:
    f.write(",".join("c%d" % j for j in range(12)) + "\n")
    for i in range(300):
        proto = i % 3
        f.write(",".join(str(int((j // 4 == proto) ^ (r.random() < 0.1))) for j in range(12)) + "\n")
with open(sys.argv[2], "w") as f:
    for i in range(200):
        f.write(",".join(str(r.randrange(256)) for j in range(20)) + "\n")
EOF
run train --data "$tmp/bits.csv" --epochs 3 --n-hidden 4 --batch 30 --json --out "$tmp/f.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_visible"] == 12 and d["n_samples"] == 300' \
    'd["transform"] == "none" and d["visible"] == "bernoulli"' >"$tmp/py" 2>&1; then
    ok "train on a {0,1} CSV file"
else
    fail "train on a CSV file (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run train --data "$tmp/bits.csv" --visible ising --epochs 1 --n-hidden 4 --batch 30 --json --out "$tmp/f.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["transform"] == "to_ising"' >"$tmp/py" 2>&1; then
    ok "{0,1} data for ising units is mapped to +-1"
else
    fail "{0,1} data with --visible ising (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run train --data "$tmp/pixels.csv" --epochs 1 --n-hidden 4 --json --quiet --out "$tmp/f.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["transform"].startswith("binarize>")' \
    'd["batch"] == 100' >"$tmp/py" 2>&1; then
    ok "0..255 data for bernoulli units is binarised"
else
    fail "0..255 CSV (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# fewer rows than the default batch: the batch becomes the whole data set
printf '0,1,1\n1,0,1\n0,0,1\n' >"$tmp/tiny.csv"
run train --data "$tmp/tiny.csv" --epochs 2 --n-hidden 2 --json --quiet --out "$tmp/f.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["batch"] == 3 and d["steps"] == 2' >"$tmp/py" 2>&1; then
    ok "a 3-row data set trains with batch 3"
else
    fail "3-row CSV (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# NPY (when NumPy is there): probabilities in [0,1] are used as they are
if "$PY" -c 'import numpy' 2>/dev/null; then
    "$PY" -c 'import numpy as np, sys
np.save(sys.argv[1], np.random.default_rng(0).random((200, 30)).astype(np.float32))' "$tmp/p.npy"
    run train --data "$tmp/p.npy" --epochs 1 --n-hidden 5 --batch 20 --json --quiet --out "$tmp/f.rbm"
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_visible"] == 30 and d["transform"] == "none"' \
        >"$tmp/py" 2>&1; then
        ok "train on an NPY file of probabilities"
    else
        fail "NPY file (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
else
    echo "ok - NPY file # SKIP NumPy not available"
fi
printf '0.5,nan\n1,0\n' >"$tmp/nan.csv"
expect_error 1 "NaN in a CSV file" train --data "$tmp/nan.csv" --epochs 1
printf '1,2\n3,x\n' >"$tmp/bad.csv"
expect_error 1 "malformed CSV file" train --data "$tmp/bad.csv" --epochs 1
printf 'not an idx file' >"$tmp/bad-ubyte"
expect_error 1 "malformed IDX file" train --data "$tmp/bad-ubyte" --epochs 1
expect_error 1 "missing data file" train --data "$tmp/does-not-exist.csv"
expect_error 1 "unknown data file type" train --data "$tmp/bits.txt"
expect_error 1 "output directory missing" train --epochs 1 --out "$tmp/no/such/dir/m.rbm"
expect_error 1 "output path is a directory" train --epochs 1 --out "$tmp"

# --- usage errors: exit status 2 ----------------------------------------------
expect_error 2 "no command" 
expect_error 2 "unknown command" frobnicate
expect_error 2 "unknown option" train --bogus
expect_error 2 "missing value" train --epochs
expect_error 2 "option as value" train --out --json
expect_error 2 "non-numeric --epochs" train --epochs abc
expect_error 2 "trailing junk" train --epochs 5x
expect_error 2 "negative --epochs" train --epochs -1
expect_error 2 "zero --epochs" train --epochs 0
expect_error 2 "--n-hidden 0" train --n-hidden 0
expect_error 2 "fractional -k" train -k 1.5
expect_error 2 "overflowing --seed" train --seed 99999999999999999999999
expect_error 2 "overflowing --batch" train --batch 999999999999999999999999999
expect_error 2 "unknown unit kind" train --visible potts
expect_error 2 "unknown hidden kind" train --hidden Ising
expect_error 2 "unknown estimator" train --estimator tap4
expect_error 2 "unknown optimizer" train --optimizer rmsprop
expect_error 2 "unknown precision" train --precision float16
expect_error 2 "NaN --lr" train --lr nan
expect_error 2 "infinite --lr" train --lr 1e999
expect_error 2 "negative --lr" train --lr -0.1
expect_error 2 "negative --l2" train --l2 -1
expect_error 2 "empty --out" train --out=
expect_error 2 "stray argument" train data.csv
expect_error 2 "batch larger than the data" train --batch 10001
expect_error 2 "exact with too many hidden units" train --estimator exact --n-hidden 50

# --- rbm eval: log Z, log-likelihood, pseudo-likelihood ------------------------
# a small bernoulli model on the 12-column CSV (4 hidden units: exact is cheap)
run train --data "$tmp/bits.csv" --epochs 30 --n-hidden 4 --batch 30 --lr 0.1 --json --quiet \
    --out "$tmp/e.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'len(d["log_likelihood_per_epoch"]) == 30' \
    'd["log_likelihood"] == d["log_likelihood_per_epoch"][-1] and d["log_likelihood"] < 0' \
    'd["log_likelihood_per_epoch"][-1] > d["log_likelihood_per_epoch"][0]' >"$tmp/py" 2>&1; then
    ok "train: exact log-likelihood per epoch for a small model ($(grep '"log_likelihood"' "$tmp/out" | tr -d ' \n'))"
else
    fail "train log_likelihood_per_epoch (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run eval "$tmp/e.rbm" --data "$tmp/bits.csv" --method exact --json
cp "$tmp/out" "$tmp/exact.json"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
    'all(k in d for k in ("method", "log_z", "log_z_stderr", "log_likelihood",
        "pseudo_likelihood", "n_rows", "seconds"))' \
    'd["method"] == "exact" and d["log_z_stderr"] == 0 and d["n_rows"] == 300' \
    'd["log_likelihood"] <= 0 and d["pseudo_likelihood"] <= 0' >"$tmp/py" 2>&1; then
    ok "eval --method exact --json: keys, log-likelihood <= 0 on binary data"
else
    fail "eval --method exact (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# an independent log Z and log-likelihood: the model file read by a reader
# written from docs/file-format.md, the 2^4 hidden states enumerated in Python
if "$PY" - "$tmp/e.rbm" "$tmp/bits.csv" "$tmp/exact.json" >"$tmp/py" 2>&1 <<'EOF'
import itertools, json, math, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89RBM\r\n\x1a\n"
count = struct.unpack_from("<I", data, 12)[0]
off, model, params = 24, None, None
for _ in range(count):
    tag = data[off:off + 4]
    flags, length, _res, crc = struct.unpack_from("<IQII", data, off + 4)
    body = data[off + 24:off + 24 + length]
    assert zlib.crc32(body, zlib.crc32(data[off:off + 20])) == crc
    if tag == b"MODL":
        model = struct.unpack_from("<QQIIddI", body)
    elif tag == b"PARM":
        params = struct.unpack_from("<%dd" % (length // 8), body)
    off += 24 + length
nv, nh, vk, hk = model[:4]
assert (nv, nh, vk, hk) == (12, 4, 0, 0)
W = [params[i * nh:(i + 1) * nh] for i in range(nv)]
a = params[nv * nh:nv * nh + nv]
b = params[nv * nh + nv:]
def softplus(x):
    return max(x, 0) + math.log1p(math.exp(-abs(x)))
terms = []
for h in itertools.product((0, 1), repeat=nh):
    terms.append(sum(bj * hj for bj, hj in zip(b, h)) +
                 sum(softplus(a[i] + sum(W[i][j] * h[j] for j in range(nh))) for i in range(nv)))
m = max(terms)
log_z = m + math.log(sum(math.exp(t - m) for t in terms))
rows = [list(map(float, l.split(","))) for l in open(sys.argv[2]).read().split("\n")[1:] if l]
def free_energy(v):
    return -sum(ai * vi for ai, vi in zip(a, v)) - sum(
        softplus(b[j] + sum(v[i] * W[i][j] for i in range(nv))) for j in range(nh))
ll = -sum(free_energy(v) for v in rows) / len(rows) - log_z
d = json.load(open(sys.argv[3]))
print("python log Z %.12f, rbm %.12f; log-lik %.12f, rbm %.12f" % (log_z, d["log_z"], ll, d["log_likelihood"]))
sys.exit(0 if abs(log_z - d["log_z"]) < 1e-9 and abs(ll - d["log_likelihood"]) < 1e-9 else 1)
EOF
then
    ok "eval exact log Z and log-likelihood match an independent computation: $(cat "$tmp/py")"
else
    fail "independent log Z check: $(cat "$tmp/py")"
fi
run eval "$tmp/e.rbm" --data "$tmp/bits.csv" --method ais --runs 100 --betas 3000 --json
if [ "$rc" -eq 0 ] && grep -q '^AIS forward' "$tmp/err" && grep -q '^AIS reverse' "$tmp/err" &&
    "$PY" - "$tmp/exact.json" "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[2]))
for k in ("method", "log_z", "log_z_stderr", "log_likelihood", "pseudo_likelihood",
          "log_z_reverse", "log_z_reverse_stderr", "n_rows", "seconds"):
    assert k in a, k
assert a["method"] == "ais" and a["log_z_stderr"] > 0 and a["log_z_reverse_stderr"] > 0
print("exact %.5f, AIS forward %.5f +- %.5f, reverse %.5f +- %.5f" % (
    e["log_z"], a["log_z"], a["log_z_stderr"], a["log_z_reverse"], a["log_z_reverse_stderr"]))
for est, se in ((a["log_z"], a["log_z_stderr"]), (a["log_z_reverse"], a["log_z_reverse_stderr"])):
    diff = abs(est - e["log_z"])
    assert diff < 0.05 and diff < 5 * se + 1e-9, (est, se)
assert abs(a["pseudo_likelihood"] - e["pseudo_likelihood"]) < 1e-12
EOF
then
    ok "eval --method ais agrees with exact (< 0.05 nats, < 5 stderr): $(cat "$tmp/py")"
else
    fail "eval ais vs exact (status $rc): $(cat "$tmp/py" 2>/dev/null)"
fi
# the report; the default method of a small model is exact
run eval "$tmp/e.rbm" --data "$tmp/bits.csv"
if [ "$rc" -eq 0 ] && grep -q '^log Z ' "$tmp/out" && grep -q '^method *exact' "$tmp/out" &&
    grep -q '^pseudo-lik' "$tmp/out" && grep -q '^log-lik' "$tmp/out"; then
    ok "eval report (default method exact for 4 hidden units)"
else
    fail "eval report (status $rc)"
fi
# default data: the synthetic data of the model's visible kind (100 ising units)
run eval "$model" --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["data"] == "synthetic" and d["n_rows"] == 10000' \
    'd["method"] == "exact" and d["log_likelihood"] < 0' >"$tmp/py" 2>&1; then
    ok "eval on the default synthetic data"
else
    fail "eval default data (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# gaussian visible units: log densities, no pseudo-likelihood (with a note)
run train --visible gaussian --epochs 1 --n-hidden 6 --quiet --out "$tmp/g.rbm"
run eval "$tmp/g.rbm" --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["pseudo_likelihood"] is None' \
    '"gaussian" in d["pseudo_likelihood_note"] and d["visible"] == "gaussian"' \
    'isinstance(d["log_likelihood"], float)' >"$tmp/py" 2>&1; then
    ok "eval of a gaussian-visible model skips the pseudo-likelihood with a note"
else
    fail "eval gaussian (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# AIS is the default when the smaller discrete layer has more than 24 units
run train --epochs 1 --n-hidden 40 --quiet --out "$tmp/big.rbm"
run eval "$tmp/big.rbm" --runs 10 --betas 200 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["method"] == "ais" and d["ais_runs"] == 10' \
    'd["log_z_reverse"] is not None' >"$tmp/py" 2>&1; then
    ok "eval of a 100 x 40 model uses AIS"
else
    fail "eval 100 x 40 (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
expect_error 2 "eval without a model" eval
expect_error 2 "eval with two models" eval "$tmp/e.rbm" "$tmp/e.rbm"
expect_error 2 "eval unknown method" eval "$tmp/e.rbm" --method tap
expect_error 2 "eval --runs 1" eval "$tmp/e.rbm" --runs 1
expect_error 2 "eval --betas x" eval "$tmp/e.rbm" --betas x
expect_error 2 "eval --method exact --runs" eval "$tmp/e.rbm" --method exact --runs 10
expect_error 2 "eval --method exact beyond 30 units" eval "$tmp/big.rbm" --method exact
expect_error 2 "eval unknown option" eval "$tmp/e.rbm" --bogus
expect_error 1 "eval: data with the wrong number of columns" eval "$tmp/e.rbm" --data "$tmp/pixels.csv"
expect_error 1 "eval: missing model" eval "$tmp/no-such-model.rbm"
if grep -q 'RBM_ERR_IO' "$tmp/err"; then
    ok "missing model: the library detail is shown"
else
    fail "missing model: no library detail"
fi
# a corrupted model: one byte of the parameters changed (the CRC catches it)
cp "$tmp/e.rbm" "$tmp/bad.rbm"
printf 'X' | dd of="$tmp/bad.rbm" bs=1 seek=130 conv=notrunc 2>/dev/null
expect_error 1 "eval: corrupted model" eval "$tmp/bad.rbm"
if grep -q 'RBM_ERR_BAD_FORMAT' "$tmp/err" && grep -q 'bad.rbm' "$tmp/err"; then
    ok "corrupted model: the library detail is shown"
else
    fail "corrupted model: no library detail"
fi
head -c 100 "$tmp/e.rbm" >"$tmp/trunc.rbm"
expect_error 1 "eval: truncated model" eval "$tmp/trunc.rbm"
expect_error 1 "sample: corrupted model" sample "$tmp/bad.rbm"

# --- rbm sample ------------------------------------------------------------------
# 100 visible units: a 10 x 10 image; 16 chains in a 4 x 4 grid of 45 x 45 pixels
run sample "$model" -n 16 --steps 20 --out "$tmp/s.png" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["format"] == "png" and d["n"] == 16' \
    'd["png_width"] == 45 and d["png_height"] == 45' >"$tmp/py" 2>&1 &&
    file "$tmp/s.png" | grep -q 'PNG image data, 45 x 45, 8-bit grayscale' &&
    "$PY" -c 'import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR"
w, h = struct.unpack(">II", b[16:24])
sys.exit(0 if (w, h) == (45, 45) else 1)' "$tmp/s.png"; then
    ok "sample: PNG grid of 10 x 10 images ($(file -b "$tmp/s.png"))"
else
    fail "sample PNG (status $rc) $(cat "$tmp/py" 2>/dev/null) $(file "$tmp/s.png" 2>&1)"
fi
if "$PY" -c 'import PIL' 2>/dev/null; then
    if "$PY" -c 'from PIL import Image; import sys
im = Image.open(sys.argv[1]); im.load()
sys.exit(0 if im.size == (45, 45) and im.mode == "L" else 1)' "$tmp/s.png"; then
        ok "sample: Pillow decodes the PNG"
    else
        fail "sample: Pillow cannot decode the PNG"
    fi
fi
# 12 visible units (not a square): NPY by default, N x N_v float64
mkdir "$tmp/sd"
(cd "$tmp/sd" && "$RBM" sample "$tmp/e.rbm" -n 7 --steps 50 --json >"$tmp/out" 2>"$tmp/err" </dev/null)
rc=$?
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["format"] == "npy" and d["shape"] == [7, 12]' \
    >"$tmp/py" 2>&1 && [ -s "$tmp/sd/rbm-samples.npy" ]; then
    ok "sample: a 12-unit model writes ./rbm-samples.npy by default"
else
    fail "sample default NPY (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
if "$PY" -c 'import numpy' 2>/dev/null; then
    run sample "$tmp/e.rbm" -n 7 --steps 50 --out "$tmp/s.npy" --quiet
    if [ "$rc" -eq 0 ] && "$PY" -c 'import numpy as np, sys
x = np.load(sys.argv[1])
ok = x.shape == (7, 12) and x.dtype == np.float64 and set(np.unique(x)) <= {0.0, 1.0}
sys.exit(0 if ok else 1)' "$tmp/s.npy"; then
        ok "sample: NPY parses with NumPy to 7 x 12 float64 states in {0,1}"
    else
        fail "sample NPY with NumPy (status $rc)"
    fi
    run sample "$tmp/e.rbm" -n 5 --steps 3 --means --out "$tmp/m.npy" --quiet
    if [ "$rc" -eq 0 ] && "$PY" -c 'import numpy as np, sys
x = np.load(sys.argv[1])
sys.exit(0 if x.shape == (5, 12) and ((x > 0) & (x < 1)).all() else 1)' "$tmp/m.npy"; then
        ok "sample --means: NPY of probabilities"
    else
        fail "sample --means (status $rc)"
    fi
else
    echo "ok - sample NPY with NumPy # SKIP NumPy not available"
fi
run sample "$tmp/e.rbm" -n 7 --steps 50 --out "$tmp/s2.npy" --quiet
if cmp -s "$tmp/s.npy" "$tmp/s2.npy" 2>/dev/null || [ ! -e "$tmp/s.npy" ]; then
    ok "sample: the same seed gives the same samples"
else
    fail "sample: same seed, different samples"
fi
run sample "$tmp/e.rbm" -n 3 --steps 5 --out "$tmp/s.txt" --data "$tmp/bits.csv" --quiet
if [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/s.txt")" -eq 3 ] &&
    [ "$(head -n 1 "$tmp/s.txt" | wc -w)" -eq 12 ]; then
    ok "sample: text file, one sample per line (chains started from data)"
else
    fail "sample text (status $rc)"
fi
left=
for f in "$tmp"/*.tmp.* "$tmp"/sd/*.tmp.*; do
    [ -e "$f" ] && left="$left $f"
done
if [ -n "$left" ]; then
    fail "temporary files left behind:$left"
else
    ok "no temporary files left behind"
fi
expect_error 2 "sample: PNG of a non-image model" sample "$tmp/e.rbm" --out "$tmp/x.png"
expect_error 2 "sample: unknown output type" sample "$tmp/e.rbm" --out "$tmp/x.jpg"
expect_error 2 "sample -n 0" sample "$tmp/e.rbm" -n 0
expect_error 2 "sample -n too large" sample "$tmp/e.rbm" -n 1000001
expect_error 2 "sample --steps -1" sample "$tmp/e.rbm" --steps -1
expect_error 2 "sample --steps 1.5" sample "$tmp/e.rbm" --steps 1.5
expect_error 2 "sample without a model" sample -n 4
expect_error 1 "sample: missing model" sample "$tmp/no-such-model.rbm"
expect_error 1 "sample: output directory missing" sample "$tmp/e.rbm" --out "$tmp/no/dir/s.npy"

# --- checkpoints: 4 epochs straight = 2 epochs, checkpoint, resume to 4 ------------
run train --epochs 4 --n-hidden 8 --quiet --seed 5 --out "$tmp/straight.rbm"
run train --epochs 2 --n-hidden 8 --quiet --seed 5 --checkpoint-every 2 --json --out "$tmp/half.rbm"
if [ "$rc" -eq 0 ] && [ -s "$tmp/half.rbm.ckpt" ] &&
    check_json "$tmp/out" 'd["checkpoint_path"].endswith("half.rbm.ckpt")' >"$tmp/py" 2>&1; then
    ok "train --checkpoint-every writes MODEL.ckpt"
else
    fail "checkpoint written (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run train --resume "$tmp/half.rbm.ckpt" --epochs 4 --seed 5 --json --out "$tmp/resumed.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["epochs"] == 4 and d["start_epoch"] == 2' \
    'd["resumed_from"].endswith("half.rbm.ckpt") and len(d["reconstruction_error_history"]) == 2' \
    >"$tmp/py" 2>&1 && grep -q '^epoch 3/4 ' "$tmp/err" && cmp -s "$tmp/straight.rbm" "$tmp/resumed.rbm"; then
    ok "resume: 2 + 2 epochs give a byte-identical model to 4 epochs"
else
    fail "resume bit for bit (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# a checkpoint is a model file for model readers
run eval "$tmp/half.rbm.ckpt" --json --quiet --data-seed 5
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_hidden"] == 8' >"$tmp/py" 2>&1; then
    ok "eval reads a checkpoint as a model"
else
    fail "eval of a checkpoint (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
expect_error 1 "resume on other data (another --seed)" train --resume "$tmp/half.rbm.ckpt" --epochs 4 --seed 6 --out "$tmp/r2.rbm"
expect_error 1 "resume from a model file" train --resume "$tmp/straight.rbm" --epochs 6 --seed 5 --out "$tmp/r2.rbm"
expect_error 1 "resume from a missing file" train --resume "$tmp/none.ckpt" --out "$tmp/r2.rbm"
expect_error 2 "resume with a machine option" train --resume "$tmp/half.rbm.ckpt" --n-hidden 9 --out "$tmp/r2.rbm"
expect_error 2 "resume with nothing left to do" train --resume "$tmp/half.rbm.ckpt" --epochs 2 --seed 5 --out "$tmp/r2.rbm"
expect_error 2 "--checkpoint-every 0" train --checkpoint-every 0
expect_error 2 "--log-likelihood on a 100 x 40 model" train --n-hidden 40 --log-likelihood
run train --epochs 1 --n-hidden 20 --json --quiet --out "$tmp/n.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["log_likelihood"] is None' \
    'd["log_likelihood_per_epoch"] == []' >"$tmp/py" 2>&1; then
    ok "no log-likelihood when it is not cheap (20 hidden units)"
else
    fail "log_likelihood null (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi

# --- Fashion-MNIST, one epoch (skipped when the Debian data set is absent) ------
if [ -r "$FASHION" ]; then
    run train --data fashion-mnist --epochs 1 --n-hidden 16 --batch 100 --precision float32 \
        --json --out "$tmp/fm.rbm"
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
        'd["n_visible"] == 784 and d["n_samples"] == 60000' \
        'd["transform"] == "binarize>127" and d["visible"] == "bernoulli"' \
        'd["samples_per_second"] > 0 and d["reconstruction_error"] < 0.25' >"$tmp/py" 2>&1; then
        ok "fashion-mnist, one epoch: $(grep -E '"(seconds|samples_per_second)"' "$tmp/out" | tr -d '\n ')"
    else
        fail "fashion-mnist (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
    # 16 hidden units: exact log Z by enumeration of 2^16 states
    run eval "$tmp/fm.rbm" --data fashion-mnist --method exact --json --quiet
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_rows"] == 60000 and d["n_visible"] == 784' \
        'd["log_likelihood"] < 0 and d["pseudo_likelihood"] < 0' >"$tmp/py" 2>&1; then
        ok "fashion-mnist eval exact: $(grep -E '"(log_z|log_likelihood|seconds)"' "$tmp/out" | tr -d '\n ')"
    else
        fail "fashion-mnist eval (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
    # 784 units: 28 x 28 images; 9 chains from data rows in a 3 x 3 grid of 88 x 88 pixels
    run sample "$tmp/fm.rbm" -n 9 --steps 10 --data fashion-mnist --out "$tmp/fm.png" --json --quiet
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["image_height"] == 28 and d["image_width"] == 28' \
        >"$tmp/py" 2>&1 && file "$tmp/fm.png" | grep -q 'PNG image data, 88 x 88'; then
        ok "fashion-mnist sample: $(file -b "$tmp/fm.png")"
    else
        fail "fashion-mnist sample (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
else
    echo "ok - fashion-mnist # SKIP $FASHION not installed"
fi

# --- live progress on a terminal (util-linux script gives a pseudo-terminal) --
if command -v script >/dev/null 2>&1 && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
    script -qec "'$RBM' train --epochs 3 --n-hidden 16 --out '$tmp/tty.rbm'" /dev/null \
        </dev/null >"$tmp/tty" 2>&1
    rc=$?
    # a redraw is a carriage return that is not the terminal's CR of a CR-LF
    if [ "$rc" -eq 0 ] && "$PY" - "$tmp/tty" <<'EOF'
import re, sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
ok = re.search(r"\r(?!\n)epoch +\d+/3 batch", t) and "samples/s" in t and "ETA" in t and "[" in t
sys.exit(0 if ok else 1)
EOF
    then
        ok "terminal: one progress line redrawn after a carriage return (bar, samples/s, ETA)"
    else
        fail "terminal progress display (status $rc): $(tr '\r' '|' <"$tmp/tty" | head -c 400)"
    fi
else
    echo "ok - terminal progress display # SKIP script(1) not available"
fi

# --- interruption: SIGTERM stops, saves, exits 143 ------------------------------
# (SIGINT is ignored by background jobs of a script, and rbm keeps it so.)
"$RBM" train --epochs 1000 --n-hidden 8 --json --quiet --out "$tmp/int.rbm" \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!
sleep 2
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
if [ "$rc" -eq 143 ] && [ -s "$tmp/int.rbm" ] &&
    check_json "$tmp/out" 'd["interrupted"] is True and d["signal"] == "SIGTERM"' \
        'd["epochs"] < 1000' >"$tmp/py" 2>&1; then
    ok "SIGTERM stops training, saves the model and exits 143"
else
    fail "SIGTERM handling (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi

# SIGTERM during a run with --checkpoint-every: a mid-epoch checkpoint that
# resumes bit for bit (compared with an uninterrupted run of the same length)
"$RBM" train --epochs 150 --n-hidden 20 --seed 9 --checkpoint-every 1000 --json \
    --out "$tmp/int9.rbm" >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!
sleep 2
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
if [ "$rc" -eq 143 ] && [ -s "$tmp/int9.rbm.ckpt" ]; then
    run train --epochs 150 --n-hidden 20 --seed 9 --quiet --out "$tmp/full9.rbm"
    run train --resume "$tmp/int9.rbm.ckpt" --epochs 150 --seed 9 --quiet --out "$tmp/res9.rbm"
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/full9.rbm" "$tmp/res9.rbm"; then
        ok "SIGTERM writes a mid-epoch checkpoint; resuming it is bit for bit"
    else
        fail "resume after SIGTERM (status $rc)"
    fi
else
    echo "ok - mid-epoch checkpoint # SKIP the run was not interrupted mid-way (status $rc)"
fi
# SIGTERM during AIS: exit 143, nothing on stdout
"$RBM" eval "$tmp/big.rbm" --method ais --json >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!
sleep 1
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
if [ "$rc" -eq 143 ] && [ ! -s "$tmp/out" ]; then
    ok "SIGTERM stops AIS: exit 143, nothing on stdout"
else
    fail "SIGTERM during AIS (status $rc)"
fi

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
