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

# --- other unit kinds and estimators (one short epoch each) -------------------
for args in "--visible bernoulli" "--visible gaussian" "--hidden gaussian" \
    "--estimator cd -k 2" "--estimator exact --n-hidden 6" "--optimizer adam --lr 0.001" \
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
expect_error 2 "unknown estimator" train --estimator tap2
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

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
