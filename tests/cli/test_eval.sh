#!/bin/sh
# Black-box tests of 'rbm eval'.
# usage: sh tests/cli/test_eval.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh).
CLI_TEST=test_eval.sh
. "$(dirname "$0")/cli_common.sh"

# --- models and data ------------------------------------------------------------
make_data_files "$tmp"
# a small bernoulli model on the 12-column CSV (4 hidden units: exact is cheap)
train_bits_model "$tmp/e.rbm" "$tmp/bits.csv"
model="$tmp/small model.rbm"
train_small_model "$model"

# --- rbm eval: log Z, log-likelihood, pseudo-likelihood ------------------------
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
# convergence evidence: the easy 4-hidden model converges, with its keys
run eval "$tmp/e.rbm" --data "$tmp/bits.csv" --method ais --runs 100 --betas 3000 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" \
    'all(k in d for k in ("converged", "ais_ess", "ais_ess_reverse", "ais_log_weight_variance",
        "ais_log_weight_variance_reverse", "ais_bracket_width", "ais_tolerance", "ais_base",
        "ais_reverse_start"))' \
    'd["converged"] is True and d["ais_tolerance"] == 1' \
    '10 <= d["ais_ess"] <= 100 and 10 <= d["ais_ess_reverse"] <= 100' \
    'd["ais_log_weight_variance"] >= 0 and abs(d["ais_bracket_width"] - (d["log_z_reverse"] - d["log_z"])) < 1e-9' \
    'd["ais_reverse_start"] == "exact" and d["ais_reverse_burn_in"] == 0 and d["ais_base"] == "data"' \
    >"$tmp/py" 2>&1; then
    ok "eval --method ais: convergence evidence of an easy model (converged, ESS, Var(log w))"
else
    fail "eval ais evidence (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# the adaptive schedule: a tolerance that cannot be met forces refinement
# rounds 50 -> 99 -> 197 temperatures (the budget stops the fourth)
run eval "$tmp/e.rbm" --data "$tmp/bits.csv" --method ais --betas 50 --adaptive 300 \
    --ais-tolerance 1e-9 --no-pl --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["ais_betas"] == 197 and d["ais_schedule"] == "adapted"' \
    'd["converged"] is False and d["pseudo_likelihood"] is None' \
    '"--no-pl" in d["pseudo_likelihood_note"]' >"$tmp/py" 2>&1 &&
    grep -q 'adapting the schedule to 99 temperatures' "$tmp/err" &&
    grep -q 'adapting the schedule to 197 temperatures' "$tmp/err" &&
    grep -q 'warning: AIS has not converged' "$tmp/err"; then
    ok "eval --adaptive refines the schedule while not converged; --no-pl skips the pseudo-likelihood"
else
    fail "eval --adaptive (status $rc) $(cat "$tmp/py" "$tmp/err" 2>/dev/null | tail -5)"
fi
expect_error 2 "eval --ais-tolerance with --method exact" eval "$tmp/e.rbm" --data "$tmp/bits.csv" \
    --method exact --ais-tolerance 0.5
expect_error 2 "eval --ais-base bogus" eval "$tmp/e.rbm" --method ais --ais-base bogus
expect_error 1 "eval --exact-start-units beyond 30" eval "$tmp/e.rbm" --data "$tmp/bits.csv" \
    --method ais --betas 10 --exact-start-units 31
# data provenance: a model trained on the synthetic data of seed 3 is
# evaluated on that data by default (note on stderr), --data-seed overrides
run train --epochs 1 --n-hidden 6 --seed 3 --quiet --out "$tmp/p3.rbm"
run eval "$tmp/p3.rbm" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["data_seed"] == 3 and d["data"] == "synthetic"' \
    >"$tmp/py" 2>&1 && grep -q "note: data from the model's provenance: synthetic, seed 3" "$tmp/err"; then
    ok "eval uses the data provenance recorded by train (seed 3)"
else
    fail "eval provenance (status $rc) $(cat "$tmp/py" "$tmp/err" 2>/dev/null)"
fi
run eval "$tmp/p3.rbm" --data-seed 1 --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["data_seed"] == 1' >"$tmp/py" 2>&1 &&
    ! grep -q "provenance" "$tmp/err"; then
    ok "eval --data-seed overrides the provenance"
else
    fail "eval provenance override (status $rc) $(cat "$tmp/py" "$tmp/err" 2>/dev/null)"
fi
# the reported case: an ising-ising machine with 20 hidden units trained on
# the synthetic data, exact log Z known. With the data's base rate (the old
# default) reverse AIS from exact starts is several nats high with small
# reported errors; with the uniform base (the ising default now) it is much
# closer, and both runs are flagged as not converged.
run train --visible ising --hidden ising --n-hidden 20 --seed 1 --quiet --no-report \
    --out "$tmp/i20.rbm"
run eval "$tmp/i20.rbm" --method exact --no-pl --json --quiet
cp "$tmp/out" "$tmp/i20.exact.json"
run eval "$tmp/i20.rbm" --method ais --ais-base data --no-pl --json --quiet
cp "$tmp/out" "$tmp/i20.data.json"
run eval "$tmp/i20.rbm" --method ais --no-pl --json
if [ "$rc" -eq 0 ] && grep -q 'warning: AIS has not converged' "$tmp/err" &&
    "$PY" - "$tmp/i20.exact.json" "$tmp/i20.data.json" "$tmp/out" >"$tmp/py" 2>&1 <<'PYEOF'
import json, sys
e, dd, u = (json.load(open(p)) for p in sys.argv[1:4])
lz = e["log_z"]
assert dd["ais_base"] == "data" and u["ais_base"] == "uniform" and u["ais_reverse_start"] == "exact"
rd, ru, fu = dd["log_z_reverse"] - lz, u["log_z_reverse"] - lz, u["log_z"] - lz
print("exact %.4f; reverse error %+.3f (data base, se %.3f) -> %+.3f (uniform, se %.3f); "
      "forward %+.3f" % (lz, rd, dd["log_z_reverse_stderr"], ru, u["log_z_reverse_stderr"], fu))
assert rd > 3 and rd > 10 * dd["log_z_reverse_stderr"]   # the defect: far off, tiny error bar
assert abs(ru) < rd / 2 and abs(fu) < 1.5
assert dd["converged"] is False and u["converged"] is False  # and the evidence says so
PYEOF
then
    ok "eval: the ising reverse-AIS bias comes from the data-rate base ($(cat "$tmp/py"))"
else
    fail "eval ising base (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi
# A machine of the reported class (ising-ising, 20 hidden units, 20 epochs on
# the synthetic data of seed 5: exact log Z about 310). Over AIS seeds 1-5
# with the default (uniform) base and 1-3 with the data's base rate: every
# run either says it has not converged (JSON and the stderr warning) or its
# bracket [forward - 3 se, reverse + 3 se] contains the exact log Z.
run train --visible ising --hidden ising --n-hidden 20 --epochs 20 --seed 5 --quiet --no-report \
    --out "$tmp/h20.rbm"
run eval "$tmp/h20.rbm" --method exact --no-pl --json --quiet
cp "$tmp/out" "$tmp/h20.exact.json"
h20_files=""
for base in uniform data; do
    for s in 1 2 3 4 5; do
        [ "$base" = data ] && [ "$s" -gt 3 ] && continue
        run eval "$tmp/h20.rbm" --method ais --ais-base "$base" --seed "$s" --no-pl --json
        warned=0
        grep -q 'warning: AIS has not converged' "$tmp/err" && warned=1
        cp "$tmp/out" "$tmp/h20.$base.$s.$warned.json"
        h20_files="$h20_files $tmp/h20.$base.$s.$warned.json"
    done
done
if "$PY" - "$tmp/h20.exact.json" $h20_files >"$tmp/py" 2>&1 <<'PYEOF'
import json, os, sys
lz = json.load(open(sys.argv[1]))["log_z"]
assert 300 < lz < 320, lz
cover = {"uniform": [0, 0, 0], "data": [0, 0, 0]}  # forward, reverse within 2 se; converged
for p in sys.argv[2:]:
    base, seed, warned = os.path.basename(p).split(".")[1:4]
    d = json.load(open(p))
    f, sf = d["log_z"] - lz, d["log_z_stderr"]
    r, sr = d["log_z_reverse"] - lz, d["log_z_reverse_stderr"]
    c = cover[base]
    c[0] += abs(f) <= 2 * sf
    c[1] += abs(r) <= 2 * sr
    c[2] += d["converged"]
    assert d["converged"] == (warned == "0"), (p, d["converged"], warned)
    if d["converged"]:
        assert f - 3 * sf <= 0 <= r + 3 * sr, (p, f, sf, r, sr)
    assert d["ais_base"] == base and d["ais_reverse_start"] == "exact"
print("exact %.4f; uniform base: fwd/rev within 2 se %d/%d of 5, converged %d; "
      "data base: %d/%d of 3, converged %d" % ((lz,) + tuple(cover["uniform"]) + tuple(cover["data"])))
PYEOF
then
    ok "eval: AIS on the 20-hidden ising machine is covered by its bracket or flagged ($(cat "$tmp/py"))"
else
    fail "eval: AIS coverage on the 20-hidden ising machine (status $rc) $(cat "$tmp/py" 2>/dev/null)"
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
# the messages of the table-driven option parser
expect_message 2 "eval --method tap: the message" \
    "unknown method 'tap' for --method (expected exact, ais, pt or ptt)" eval "$tmp/e.rbm" --method tap
expect_message 2 "eval --method without a value" "option '--method' requires a value" \
    eval "$tmp/e.rbm" --method
expect_message 2 "eval --runs 1: the message" "invalid value '1' for --runs: must be at least 2" \
    eval "$tmp/e.rbm" --runs 1
expect_message 2 "eval --bogus: the message" \
    "unknown option '--bogus' for 'rbm eval' (see 'rbm help eval')" eval "$tmp/e.rbm" --bogus
run eval "$tmp/e.rbm" --data "$tmp/bits.csv" --method=exact --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["method"] == "exact"' >"$tmp/py" 2>&1; then
    ok "eval --method=exact"
else
    fail "eval --method=exact (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi

# --- Fashion-MNIST (skipped when the Debian data set is absent) ------------------
if [ -r "$FASHION" ] && train_fashion_model "$tmp/fm.rbm"; then
    # 16 hidden units: exact log Z by enumeration of 2^16 states
    run eval "$tmp/fm.rbm" --data fashion-mnist --method exact --json --quiet
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_rows"] == 60000 and d["n_visible"] == 784' \
        'd["log_likelihood"] < 0 and d["pseudo_likelihood"] < 0' >"$tmp/py" 2>&1; then
        ok "fashion-mnist eval exact: $(grep -E '"(log_z|log_likelihood|seconds)"' "$tmp/out" | tr -d '\n ')"
    else
        fail "fashion-mnist eval (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
else
    echo "ok - fashion-mnist eval # SKIP $FASHION not installed"
fi

# --- interruption ----------------------------------------------------------------
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

finish
