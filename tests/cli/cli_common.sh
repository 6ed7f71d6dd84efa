# Shared part of the black-box tests of the rbm program, sourced by
# tests/cli/test_<command>.sh after setting CLI_TEST to the script's name:
#
#     CLI_TEST=test_train.sh
#     . "$(dirname "$0")/cli_common.sh"
#
# The script's first argument is the rbm program. Each script prints one
# line per check ("ok - ..." / "not ok - ...") and ends with `finish`, which
# prints "# N passed, N failed" and exits non-zero if any check failed.
# Models and data that several scripts use are made by the helpers at the
# end (each script builds what it needs, in its own temporary directory).
set -u

RBM=${1:?usage: $CLI_TEST path/to/rbm}
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
finish() {
    echo "# $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
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
    "$PY" - "$f" "$@" <<'PYEOF'
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
PYEOF
}

# check_error STATUS DESCRIPTION [MESSAGE]: the last run failed with STATUS,
# printed nothing on stdout and exactly one line "rbm: error: ..." on stderr
# (with MESSAGE: exactly "rbm: error: MESSAGE").
check_error() {
    if [ "$rc" -ne "$1" ]; then
        fail "$2: exit status $rc, expected $1"
    elif [ -s "$tmp/out" ]; then
        fail "$2: unexpected output on stdout"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q '^rbm: error: ' "$tmp/err"; then
        fail "$2: stderr is not one 'rbm: error:' line"
    elif [ $# -ge 3 ] && [ "$(cat "$tmp/err")" != "rbm: error: $3" ]; then
        fail "$2: stderr is not 'rbm: error: $3'"
    else
        ok "$2 (exit $1: $(cat "$tmp/err"))"
    fi
}

# expect_error STATUS DESCRIPTION ARGS...: rbm ARGS fails as check_error says.
expect_error() {
    want=$1
    what=$2
    shift 2
    run "$@"
    check_error "$want" "$what"
}

# expect_message STATUS DESCRIPTION MESSAGE ARGS...: the same, and the line on
# stderr is exactly "rbm: error: MESSAGE".
expect_message() {
    want=$1
    what=$2
    message=$3
    shift 3
    run "$@"
    check_error "$want" "$what" "$message"
}

# ---- data and models used by several scripts ---------------------------------

# make_data_files DIR: DIR/bits.csv (300 rows of 12 {0,1} columns with a
# header, 3 prototypes with 10% noise) and DIR/pixels.csv (200 rows of 20
# values in 0..255).
make_data_files() {
    "$PY" - "$1/bits.csv" "$1/pixels.csv" <<'PYEOF'
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
PYEOF
}

# setup_model WHAT ARGS...: rbm ARGS (a training run) must succeed; a
# failure is reported as a failed check.
setup_model() {
    what=$1
    shift
    if ! "$RBM" "$@" >"$tmp/setup.out" 2>"$tmp/setup.err" </dev/null; then
        fail "setup: $what ($(head -c 300 "$tmp/setup.err"))"
        return 1
    fi
}

# train_small_model PATH: 100 ising visible x 16 hidden, 2 epochs on the
# synthetic data.
train_small_model() {
    setup_model "small model" train --epochs 2 --n-hidden 16 --json --quiet --out "$1"
}

# train_default_model PATH: the model of 'rbm train' with no arguments (100
# x 50, 50 epochs on the synthetic data; the report does not change it).
train_default_model() {
    setup_model "default model" train --no-report --quiet --out "$1"
}

# train_bits_model PATH CSV: 12 bernoulli visible x 4 hidden on bits.csv.
train_bits_model() {
    setup_model "model of bits.csv" train --data "$2" --epochs 30 --n-hidden 4 --batch 30 \
        --lr 0.1 --json --quiet --out "$1"
}

# train_big_model PATH: 100 x 40, one epoch (log Z needs AIS).
train_big_model() {
    setup_model "100 x 40 model" train --epochs 1 --n-hidden 40 --no-report --quiet --out "$1"
}

# train_fashion_model PATH: one epoch on Fashion-MNIST, 16 hidden units.
train_fashion_model() {
    setup_model "fashion-mnist model" train --data fashion-mnist --epochs 1 --n-hidden 16 \
        --batch 100 --precision float32 --json --quiet --out "$1"
}
