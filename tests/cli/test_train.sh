#!/bin/sh
# Black-box tests of 'rbm train'.
# usage: sh tests/cli/test_train.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh).
CLI_TEST=test_train.sh
. "$(dirname "$0")/cli_common.sh"

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
# the plot of the counts draws the census column of the history beside the MP count
gp="$tmp/default/rbm-model.plots/plots.gp"
ncol=$(head -n 1 "$tmp/default/rbm-model.plots/spectrum.csv" | tr ',' '\n' | grep -n '^n_significant$' | cut -d: -f1)
if [ -n "$ncol" ] && grep -q "spectrum.csv\" skip 1 using (\$1/bpe):$ncol with steps .*title \"significant\"" "$gp" &&
    grep -q 'using ($1/bpe):3 with steps .*title "outside the bulk"' "$gp"; then
    ok "default run: the plot of the counts shows the census (column $ncol, n_significant) and the MP count"
else
    fail "default run: census not in the plot script (column '$ncol') $(grep -n 'with steps' "$gp" 2>&1)"
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
# --track-every: records inside the epoch (100 minibatches per epoch), the
# census in the last column and the JSON; early on it agrees with the MP count
run train --epochs 1 --n-hidden 12 --track-every 10 --json --quiet --out "$tmp/te.rbm"
csv="$tmp/te.rbm.spectrum.csv"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["spectrum_records"] == 11' \
    'isinstance(d["n_significant_modes"], int) and d["n_significant_modes"] <= d["n_modes_outside_bulk"]' \
    >"$tmp/py" 2>&1 && head -n 1 "$csv" | grep -q '^step,edge,n_outside,w0,.*,w11,n_significant$' &&
    [ "$(cut -d, -f1 "$csv" | tr '\n' ' ')" = "step 0 10 20 30 40 50 60 70 80 90 100 " ] &&
    [ "$(sed -n 3p "$csv" | cut -d, -f3)" = "$(sed -n 3p "$csv" | awk -F, '{print $NF}')" ]; then
    ok "train --track-every 10: 11 records, n_significant column, census = MP count at step 10"
else
    fail "train --track-every (status $rc) $(cat "$tmp/py" 2>/dev/null) $(cut -c1-60 "$csv" 2>&1 | head -4)"
fi
expect_error 2 "train --track-every 0" train --track-every 0
# gauss-gauss: the exact (closed-form) estimator and the sigmas
run train --visible gaussian --hidden gaussian --estimator exact --epochs 2 --sigma-v 0.8 \
    --sigma-h 0.5 --json --quiet --out "$tmp/gg.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["estimator"] == "exact" and d["sigma_v"] == 0.8' \
    'd["sigma_h"] == 0.5 and d["visible"] == "gaussian" and d["hidden"] == "gaussian"' \
    >"$tmp/py" 2>&1; then
    ok "train gauss-gauss --estimator exact --sigma-v 0.8 --sigma-h 0.5"
else
    fail "train gauss-gauss exact (status $rc) $(cat "$tmp/py" "$tmp/err" 2>/dev/null | tail -3)"
fi
expect_error 2 "train --sigma-v on an ising layer" train --visible ising --sigma-v 2 --epochs 1
expect_error 2 "train --sigma-h 0" train --visible gaussian --hidden gaussian --sigma-h 0
# --track-fixed-points: TAP states at every record; at W(0) ~ 0.01 N(0,1)
# the paramagnetic solution is the only one
run train --epochs 2 --n-hidden 12 --track-fixed-points --json --quiet --out "$tmp/fp.rbm"
fcsv="$tmp/fp.rbm.fixed_points.csv"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["fixed_points_history"].endswith("fp.rbm.fixed_points.csv")' \
    'len(d["n_fixed_points_per_record"]) == d["spectrum_records"] == 3' \
    'd["n_fixed_points_per_record"][0] == 1 and all(n >= 1 for n in d["n_fixed_points_per_record"])' \
    >"$tmp/py" 2>&1 && [ "$(head -n 1 "$fcsv")" = "step,n_fixed_points,n_stable" ] &&
    [ "$(wc -l <"$fcsv")" -eq 4 ] && [ "$(sed -n 2p "$fcsv")" = "0,1,1" ]; then
    ok "train --track-fixed-points: MODEL.fixed_points.csv and the JSON ($(tail -n 1 "$fcsv"))"
else
    fail "train --track-fixed-points (status $rc) $(cat "$tmp/py" "$fcsv" 2>/dev/null)"
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
# --track-fixed-points with the report: the TAP states over training in the
# counts panel, from a copy of the history in the plots directory
run train --epochs 2 --n-hidden 8 --quiet --track-fixed-points --plots "$tmp/fpplots" \
    --out "$tmp/fpp.rbm"
if [ "$rc" -eq 0 ] && cmp -s "$tmp/fpplots/tap_states.csv" "$tmp/fpp.rbm.fixed_points.csv" &&
    [ "$(wc -l <"$tmp/fpplots/tap_states.csv")" -eq 4 ] &&
    grep -q '"tap_states.csv" skip 1 using ($1/bpe):2 with steps .*title "TAP states"' \
        "$tmp/fpplots/plots.gp" && ! grep -q tap_states "$tmp/myplots/plots.gp"; then
    ok "train --track-fixed-points: the TAP states over training in the plot ($(tail -n 1 "$tmp/fpplots/tap_states.csv"))"
else
    fail "train --track-fixed-points plot (status $rc) $(ls "$tmp/fpplots" 2>&1 | tr '\n' ' ')"
fi
expect_error 2 "--plots with --json" train --json --plots "$tmp/x"
expect_error 2 "--plots with --no-report" train --no-report --plots "$tmp/x"
expect_error 2 "empty --plots" train --plots=


# --- training on files --------------------------------------------------------
# {0,1} CSV with a header: used as it is by bernoulli units, mapped to +-1 for ising
make_data_files "$tmp"
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
# --- hostile data files: the size limit, CSV header modes, FIFOs ---------------
# bits.csv is 300 x 12 float64 = 28800 bytes
run train --data "$tmp/bits.csv" --epochs 1 --n-hidden 4 --max-data-bytes 20K --json --quiet \
    --out "$tmp/lim.rbm"
check_error 1 "--max-data-bytes 20K refuses 28800 bytes of CSV data"
if grep -q "data size limit of 20480 bytes" "$tmp/err"; then
    ok "the limit error names the limit in bytes"
else
    fail "the limit error does not name 20480 bytes"
fi
run train --data "$tmp/bits.csv" --epochs 1 --n-hidden 4 --batch 30 --max-data-bytes 28800 \
    --json --quiet --out "$tmp/lim.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_samples"] == 300' >"$tmp/py" 2>&1; then
    ok "--max-data-bytes equal to the data size loads it"
else
    fail "--max-data-bytes 28800 (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
if [ -f "$tmp/lim.rbm" ]; then
    run eval "$tmp/lim.rbm" --data "$tmp/bits.csv" --max-data-bytes 1k --json
    check_error 1 "eval --max-data-bytes 1k refuses the data"
fi
expect_error 2 "--max-data-bytes with an unknown suffix" train --max-data-bytes 3X
expect_error 2 "--max-data-bytes negative" train --max-data-bytes -1
run train --data "$tmp/bits.csv" --csv-header no --epochs 1 --n-hidden 4 --json --quiet \
    --out "$tmp/h.rbm"
check_error 1 "--csv-header no reads the header as data" \
    "cannot load data from '$tmp/bits.csv': csv file $tmp/bits.csv: line 1, field 1: \"c0\" is not a number (RBM_ERR_BAD_FORMAT)"
run train --data "$tmp/bits.csv" --csv-header yes --epochs 1 --n-hidden 4 --batch 30 --json \
    --quiet --out "$tmp/h.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_samples"] == 300' >"$tmp/py" 2>&1; then
    ok "--csv-header yes skips the header"
else
    fail "--csv-header yes (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
tail -n +2 "$tmp/bits.csv" >"$tmp/nohead.csv"
run train --data "$tmp/nohead.csv" --csv-header yes --epochs 1 --n-hidden 4 --batch 30 --json \
    --quiet --out "$tmp/h.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_samples"] == 299' >"$tmp/py" 2>&1; then
    ok "--csv-header yes skips a numeric first line"
else
    fail "--csv-header yes on numeric data (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
expect_error 2 "--csv-header with an unknown mode" train --csv-header maybe
mkfifo "$tmp/fifo.csv"
timeout 30 "$RBM" train --data "$tmp/fifo.csv" --epochs 1 >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
check_error 1 "--data on a FIFO without a writer fails at once" \
    "cannot load data from '$tmp/fifo.csv': csv file $tmp/fifo.csv is not a regular file (FIFO) (RBM_ERR_IO)"
if "$RBM" train --help | grep -q -- "--max-data-bytes N" && "$RBM" eval --help | grep -q -- "--csv-header auto|yes|no"; then
    ok "--help documents --max-data-bytes and --csv-header"
else
    fail "--help lacks --max-data-bytes or --csv-header"
fi

expect_error 2 "stray argument" train data.csv
expect_error 2 "batch larger than the data" train --batch 10001
expect_error 2 "exact with too many hidden units" train --estimator exact --n-hidden 50

# --- outputs that are not regular files are refused, never replaced ----------
mkfifo "$tmp/fifo"
mkdir "$tmp/adir"
ln -s "$tmp/fifo" "$tmp/link-to-fifo"
short="--epochs 1 --n-hidden 4 --quiet --no-report"
# shellcheck disable=SC2086
expect_message 1 "--out FIFO" "cannot save the model to '$tmp/fifo': it is a FIFO, not a regular file" \
    train $short --out "$tmp/fifo"
[ -p "$tmp/fifo" ] && ok "the FIFO is still a FIFO" || fail "the FIFO was replaced"
# shellcheck disable=SC2086
expect_message 1 "--out DIRECTORY" "cannot save the model to '$tmp/adir': it is a directory, not a regular file" \
    train $short --out "$tmp/adir"
# shellcheck disable=SC2086
expect_message 1 "--out link to a FIFO" \
    "cannot save the model to '$tmp/link-to-fifo': it is a symbolic link to a FIFO, not to a regular file" \
    train $short --out "$tmp/link-to-fifo"
[ -L "$tmp/link-to-fifo" ] && [ -p "$tmp/fifo" ] && ok "the link and its FIFO are untouched" ||
    fail "the link or the FIFO was replaced"
if [ "$(id -u)" -eq 0 ] && mknod "$tmp/devnull" c 1 3 2>/dev/null; then
    # shellcheck disable=SC2086
    expect_message 1 "--out character device (made with mknod in the scratch directory)" \
        "cannot save the model to '$tmp/devnull': it is a character device, not a regular file" \
        train $short --out "$tmp/devnull"
    [ -c "$tmp/devnull" ] && ok "the device node is still a device node" || fail "the device node was replaced"
else
    echo "# skip: character device target (mknod needs root)"
fi
mkfifo "$tmp/m.rbm.ckpt"
# shellcheck disable=SC2086
expect_message 1 "--checkpoint-every with MODEL.ckpt a FIFO" \
    "cannot save the checkpoint to '$tmp/m.rbm.ckpt': it is a FIFO, not a regular file" \
    train $short --checkpoint-every 1 --out "$tmp/m.rbm"
[ ! -e "$tmp/m.rbm" ] && ok "nothing trained or saved when MODEL.ckpt is a FIFO" ||
    fail "a model was saved although MODEL.ckpt is a FIFO"
# a link to a regular file is followed: the file gets the model, the link stays
echo old >"$tmp/real.rbm"
ln -s real.rbm "$tmp/link.rbm"
# shellcheck disable=SC2086
run train $short --out "$tmp/link.rbm"
if [ "$rc" -eq 0 ] && [ -L "$tmp/link.rbm" ] && [ "$(head -c 3 "$tmp/real.rbm")" != old ] &&
    "$RBM" eval "$tmp/real.rbm" --json --quiet >/dev/null 2>&1; then
    ok "--out link to a regular file: the file is replaced, the link stays"
else
    fail "--out through a symbolic link (status $rc)"
fi
# a temporary left by a killed run (dead pid) goes at the next save; a live one stays
dead=$(sh -c 'echo $$')
echo partial >"$tmp/s.rbm.rbm-tmp.$dead.AbC123"
echo partial >"$tmp/s.rbm.rbm-tmp.$$.XyZ789"
# shellcheck disable=SC2086
run train $short --out "$tmp/s.rbm"
if [ "$rc" -eq 0 ] && [ ! -e "$tmp/s.rbm.rbm-tmp.$dead.AbC123" ] && [ -e "$tmp/s.rbm.rbm-tmp.$$.XyZ789" ]; then
    ok "a stale temporary of a dead process is removed, a live one kept"
else
    fail "stale temporaries (status $rc): $(ls "$tmp" | grep rbm-tmp | tr '\n' ' ')"
fi
rm -f "$tmp/s.rbm.rbm-tmp.$$.XyZ789"

# --- parameters outside the sane range: a warning, exit status 0 ---------------
# max |parameter| of a model file, read independently of librbm (docs/file-format.md:
# 24-byte header, sections of a 24-byte header + payload, PARM = float64 W, a, b)
max_abs_param() {
    "$PY" - "$1" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 12)[0]
off = 24
for _ in range(n):
    tag = d[off:off + 4]
    ln = struct.unpack_from("<Q", d, off + 8)[0]
    if tag == b"PARM":
        v = struct.unpack_from("<%dd" % (ln // 8), d, off + 24)
        print("%.6g" % max(abs(x) for x in v))
    off += 24 + ln
PYEOF
}
run train --lr 1e5 --epochs 1 --n-hidden 4 --quiet --json --no-report --out "$tmp/lr.rbm"
big=$(max_abs_param "$tmp/lr.rbm")
if [ "$rc" -eq 0 ] && "$PY" -c "import sys; sys.exit(not float('$big') > 1e3)" &&
    [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
    grep -q "^rbm: warning: the trained parameters leave the sane range |W|, |a|, |b| <= 1000 (max |W| = " "$tmp/err"; then
    ok "--lr 1e5: exit 0, max |parameter| $big, one warning line on stderr"
else
    fail "--lr 1e5 warning (status $rc, max |parameter| $big)"
fi
# --lr 1e300 would move the weights beyond the float64 training limit (1e300):
# the step is refused, the run fails with the reason, and no model is written
run train --lr 1e300 --epochs 1 --n-hidden 4 --quiet --json --no-report --out "$tmp/lr300.rbm"
if [ "$rc" -eq 1 ] && [ ! -e "$tmp/lr300.rbm" ] &&
    grep -q "leave the float64 parameter limit 1e+300" "$tmp/err"; then
    ok "--lr 1e300: exit 1, the step refused at the float64 parameter limit, no model"
else
    fail "--lr 1e300 (status $rc): $(cat "$tmp/err")"
fi
run train --epochs 2 --n-hidden 4 --quiet --json --no-report --out "$tmp/lr2.rbm"
small=$(max_abs_param "$tmp/lr2.rbm")
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] && "$PY" -c "import sys; sys.exit(not float('$small') <= 1e3)"; then
    ok "default --lr: max |parameter| $small, no warning"
else
    fail "no warning inside the sane range (status $rc, max |parameter| $small)"
fi

# --- the exact log-likelihood per epoch of a small model -----------------------
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

# a resumed run reports the k and the optimiser of the run it continues (as
# the library reads them from the checkpoint)
run train --epochs 2 --n-hidden 8 --seed 5 --estimator cd -k 3 --optimizer adam --lr 0.002 \
    --checkpoint-every 1 --json --quiet --out "$tmp/ck.rbm"
cp "$tmp/out" "$tmp/ck.json"
run train --resume "$tmp/ck.rbm.ckpt" --epochs 3 --seed 5 --json --quiet --out "$tmp/ckr.rbm"
if [ "$rc" -eq 0 ] && "$PY" - "$tmp/ck.json" "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
assert a["k"] == 3 and a["optimizer"] == "adam" and a["estimator"] == "cd", a
for key in ("estimator", "k", "optimizer", "learning_rate", "l2", "batch", "n_hidden"):
    assert a[key] == b[key], (key, a[key], b[key])
assert b["start_epoch"] == 2 and b["epochs"] == 3
EOF
then
    ok "resume: the resumed run reports the checkpoint's estimator CD-3 and optimizer adam"
else
    fail "resume reports k and optimizer (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
run train --resume "$tmp/ck.rbm.ckpt" --epochs 3 --seed 5 --no-report --quiet --out "$tmp/ckr2.rbm"
if [ "$rc" -eq 0 ] && grep -q '^estimator   CD-3, adam lr 0.002, batch 100, seed 5$' "$tmp/out"; then
    ok "resume: the report's estimator line is the original run's (CD-3, adam)"
else
    fail "resume report estimator line (status $rc): $(grep '^estimator' "$tmp/out")"
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

finish
