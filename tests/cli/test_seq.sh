#!/bin/sh
# Black-box tests of the rbm program on sequence alignments (--visible potts):
# train, eval, sample and spectrum on the real alignments of Debian's
# hmmer-examples, checked against an independent parse of the files in
# Python (states, unknown symbols, sequence weights by brute force).
# usage: sh tests/cli/test_seq.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh). Skipped
# (exit 77) without hmmer-examples or NumPy.
CLI_TEST=test_seq.sh
. "$(dirname "$0")/cli_common.sh"

EX=/usr/share/doc/hmmer/examples
FN3=$EX/tutorial/fn3.sto
MADE1=$EX/tutorial/MADE1.sto
PKINASE=$EX/tutorial/Pkinase.sto
RRM=$EX/testsuite/RRM_1.sto.gz
ALITEST=$EX/testsuite/20aa-alitest.sto
for f in "$FN3" "$MADE1" "$PKINASE" "$RRM" "$ALITEST"; do
    if [ ! -r "$f" ]; then
        echo "# skipped: $f missing (Debian package hmmer-examples)"
        exit 77
    fi
done
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "# skipped: NumPy missing"
    exit 77
fi

# ref.py FILE ALPHABET THETA: the alignment parsed here (Stockholm, gz or not;
# lowercase read as uppercase, '.' as '-', other unknown symbols as '-') as
# JSON {"rows", "cols", "unknown", "m_eff", "freq"} with M_eff the brute-force
# sum of 1 / #{identity >= THETA} (THETA 0: none) and freq the weighted site
# frequencies (L x q).
cat >"$tmp/ref.py" <<'PYEOF'
import gzip, json, sys
import numpy as np
path, alphabet, theta = sys.argv[1], sys.argv[2], float(sys.argv[3])
opener = gzip.open if path.endswith(".gz") else open
seqs, order = {}, []
with opener(path, "rt") as f:
    for line in f:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line == "//":
            break
        name, s = line.split()
        if name not in seqs:
            order.append(name)
            seqs[name] = ""
        seqs[name] += s
unknown = 0
rows = []
for name in order:
    states = []
    for ch in seqs[name]:
        c = ch.upper() if ch.islower() and ch not in alphabet else ch
        if c == "." and "." not in alphabet:
            c = "-"
        if c not in alphabet:
            unknown += 1
            c = "-"
        states.append(alphabet.index(c))
    rows.append(states)
x = np.array(rows)
M, L = x.shape
if theta > 0:
    ident = (x[:, None, :] == x[None, :, :]).mean(axis=2)
    w = 1.0 / (ident >= theta - 1e-12).sum(axis=1)
else:
    w = np.ones(M)
q = len(alphabet)
freq = np.zeros((L, q))
for r in range(M):
    freq[np.arange(L), x[r]] += w[r]
freq /= w.sum()
print(json.dumps({"rows": M, "cols": L, "unknown": unknown, "m_eff": float(w.sum()),
                  "freq": freq.tolist()}))
PYEOF
PROTEIN=-ACDEFGHIKLMNPQRSTVWY
DNA=-ACGT

# check_against REF JSON WHAT EXPR...: the JSON output of rbm (d) and the
# reference (r) satisfy every expression.
check_against() {
    ref=$1
    out=$2
    what=$3
    shift 3
    if "$PY" - "$ref" "$out" "$@" >"$tmp/py" 2>&1 <<'PYEOF'
import json, math, sys
r = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
for e in sys.argv[3:]:
    if not eval(e, {"d": d, "r": r, "math": math}):
        sys.exit("false: %s (rbm: %s)" % (e, {k: v for k, v in d.items() if not isinstance(v, list)}))
PYEOF
    then
        ok "$what"
    else
        fail "$what: $(cat "$tmp/py")"
    fi
}

# --- train: reading, alphabets, reweighting -------------------------------------
"$PY" "$tmp/ref.py" "$MADE1" "$DNA" 0.8 >"$tmp/made1.ref"
run train --data "$MADE1" --visible potts --alphabet dna --epochs 1 --n-hidden 4 --json --quiet \
    --out "$tmp/made1.rbm"
if [ "$rc" -eq 0 ]; then
    check_against "$tmp/made1.ref" "$tmp/out" \
        "train MADE1.sto --alphabet dna: shape, q, unknown symbols and M_eff as parsed here" \
        'd["visible"] == "potts" and d["n_states"] == 5 and d["alphabet"] == "-ACGT"' \
        'd["n_samples"] == r["rows"] and d["n_visible"] == r["cols"]' \
        'd["unknown_symbols"] == r["unknown"]' \
        'd["reweight_theta"] == 0.8 and abs(d["effective_sequences"] - r["m_eff"]) < 1e-9 * r["rows"]' \
        'r["m_eff"] < 2'
else
    fail "train MADE1.sto (exit $rc)"
fi

# gzip, no --visible: an alignment makes the visible layer potts; theta 0.5
"$PY" "$tmp/ref.py" "$RRM" "$PROTEIN" 0.5 >"$tmp/rrm.ref"
run train --data "$RRM" --reweight 0.5 --epochs 1 --n-hidden 4 --json --quiet --out "$tmp/rrm.rbm"
if [ "$rc" -eq 0 ]; then
    check_against "$tmp/rrm.ref" "$tmp/out" \
        "train RRM_1.sto.gz (no --visible) --reweight 0.5: potts, M_eff as brute force" \
        'd["visible"] == "potts" and d["hidden"] == "bernoulli" and d["n_states"] == 21' \
        'd["n_samples"] == r["rows"] == 79 and d["n_visible"] == r["cols"] == 80' \
        'abs(d["effective_sequences"] - r["m_eff"]) < 1e-9 * r["rows"] and r["m_eff"] < r["rows"]'
else
    fail "train RRM_1.sto.gz (exit $rc)"
fi
run train --data "$RRM" --no-reweight --epochs 1 --n-hidden 4 --json --quiet --out "$tmp/rrm1.rbm"
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["effective_sequences"] == 79' \
    'd["reweight_theta"] is None' >"$tmp/py" 2>&1; then
    ok "train --no-reweight: every sequence weighs 1"
else
    fail "train --no-reweight (exit $rc) $(cat "$tmp/py")"
fi

# unknown symbols: counted as gaps, refused with --strict-symbols
"$PY" "$tmp/ref.py" "$ALITEST" "$PROTEIN" 0 >"$tmp/ali.ref"
run train --data "$ALITEST" --visible potts --epochs 1 --n-hidden 2 --json --quiet \
    --out "$tmp/ali.rbm"
if [ "$rc" -eq 0 ]; then
    check_against "$tmp/ali.ref" "$tmp/out" \
        "train 20aa-alitest.sto: the unknown symbols counted as parsed here" \
        'd["unknown_symbols"] == r["unknown"] > 0'
else
    fail "train 20aa-alitest.sto (exit $rc)"
fi
run train --data "$ALITEST" --visible potts --strict-symbols --epochs 1 --quiet --no-report \
    --out "$tmp/ali2.rbm"
if [ "$rc" -eq 1 ] && grep -q "symbol 'X' is not in the alphabet" "$tmp/err"; then
    ok "train --strict-symbols refuses the unknown symbol, naming it (exit 1)"
else
    fail "train --strict-symbols (exit $rc)"
fi

# wrong combinations: usage errors (exit 2)
expect_message 2 "train --visible potts on synthetic data" \
    "potts visible units read an alignment (--data FILE.fasta or FILE.sto, docs/sequences.md), not synthetic" \
    train --visible potts --quiet
expect_error 2 "train on an alignment with --visible ising" \
    train --data "$FN3" --visible ising --quiet
expect_error 2 "train --hidden potts" train --data "$FN3" --hidden potts --quiet
expect_error 2 "train --alphabet with image data" train --alphabet dna --visible bernoulli --quiet
expect_error 2 "train --reweight with --no-reweight" \
    train --data "$FN3" --reweight 0.7 --no-reweight --quiet
expect_error 2 "train --alphabet with a repeated symbol" train --data "$FN3" --alphabet AAC --quiet
expect_error 2 "train --estimator tap3 on a Potts machine" \
    train --data "$FN3" --estimator tap3 --quiet
expect_error 2 "train --track-spectrum on a Potts machine" \
    train --data "$FN3" --track-spectrum --quiet
expect_error 2 "train --reweight 1.5" train --data "$FN3" --reweight 1.5 --quiet
expect_error 1 "train --drop-inserts on Pkinase.sto (ragged once inserts go)" \
    train --data "$PKINASE" --drop-inserts --quiet

# --- the report of a Potts machine ---------------------------------------------
run train --data "$FN3" --epochs 30 --batch 10 --lr 0.05 --n-hidden 8 --out "$tmp/fn3.rbm" \
    --quiet
if [ "$rc" -eq 0 ] && grep -q '^spectrum    w = ' "$tmp/out" &&
    grep -q '^            mode 1 (w ' "$tmp/out" && grep -q '^log Z       exact ' "$tmp/out"; then
    ok "train on fn3.sto: the report has the spectrum, the modes per site and exact log Z"
else
    fail "train fn3.sto report (exit $rc): $(head -c 600 "$tmp/out")"
fi
if "$PY" -c 'import matplotlib' 2>/dev/null; then
    if grep -q "^plots       $tmp/fn3.plots/site_norms.png, $tmp/fn3.plots/logos.png" "$tmp/out" &&
        file "$tmp/fn3.plots/logos.png" | grep -q 'PNG image data' &&
        file "$tmp/fn3.plots/site_norms.png" | grep -q 'PNG image data'; then
        ok "train on fn3.sto: logos.png and site_norms.png ($(file -b "$tmp/fn3.plots/logos.png"))"
    else
        fail "logos: $(grep '^plots' "$tmp/out") $(tail -3 "$tmp/fn3.plots/logos.log" 2>&1)"
    fi
    # the plotted norms are the per-site norms of the decomposition: each mode's sum to 1 in squares
    if "$PY" -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
k = len(rows[0]) - 1
ok = k == 4 and len(rows) == 118 and all(abs(sum(float(r[a + 1]) ** 2 for r in rows[1:]) - 1) < 1e-6
                                       for a in range(k))
sys.exit(0 if ok else 1)' "$tmp/fn3.plots/site_norms.csv"; then
        ok "site_norms.csv: 117 sites x 4 modes, each of unit norm"
    else
        fail "site_norms.csv"
    fi
fi

# --- sample: FASTA in the model's alphabet --------------------------------------
# write_model.py OUT N Q NH ALPHABET SEED [FIELDS.json]: a Potts model file
# written here from docs/file-format.md (version 1.1, W = 0, fields a drawn
# uniformly in [-2, 2] with SEED, or a (N x Q) from FIELDS.json), with the
# alphabet in its provenance; prints a as JSON.
cat >"$tmp/write_model.py" <<'PYEOF'
import json, struct, sys, zlib
import numpy as np
out, n, q, nh, alphabet, seed = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5], int(sys.argv[6])
a = (np.random.default_rng(seed).uniform(-2, 2, (n, q)) if len(sys.argv) < 8
     else np.array(json.load(open(sys.argv[7]))))
def section(tag, payload, required):
    head = tag + struct.pack("<IQI", 1 if required else 0, len(payload), 0)
    return head + struct.pack("<I", zlib.crc32(head + payload)) + payload
model = struct.pack("<QQIIddII", n, nh, 3, 0, 1.0, 1.0, 0, q)
params = np.concatenate([np.zeros(n * q * nh), a.ravel(), np.zeros(nh)]).astype("<f8").tobytes()
prov = ("librbm-provenance 1\nalphabet=%s\n" % alphabet).encode()
body = section(b"MODL", model, 1) + section(b"PARM", params, 1) + section(b"PROV", prov, 0)
head = b"\x89RBM\r\n\x1a\n" + struct.pack("<HHII", 1, 1, 3, 0)
open(out, "wb").write(head + struct.pack("<I", zlib.crc32(head)) + body)
print(json.dumps(a.tolist()))
PYEOF
# fasta.py FILE ALPHABET: the records of a FASTA file as JSON {"n", "lengths",
# "symbols", "freq"} (freq: the site frequencies, L x q).
cat >"$tmp/fasta.py" <<'PYEOF'
import json, sys
import numpy as np
seqs, cur = [], None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith(">"):
        seqs.append("")
    else:
        seqs[-1] += line
alphabet = sys.argv[2]
L = len(seqs[0]) if seqs else 0
freq = np.zeros((L, len(alphabet)))
for s in seqs:
    if len(s) == L and set(s) <= set(alphabet):
        freq[np.arange(L), [alphabet.index(c) for c in s]] += 1
print(json.dumps({"n": len(seqs), "lengths": sorted(set(map(len, seqs))),
                  "symbols": "".join(sorted(set("".join(seqs)))),
                  "freq": (freq / max(len(seqs), 1)).tolist()}))
PYEOF

# W = 0: one Gibbs step draws every site from softmax(a_i); 20000 chains'
# site frequencies within 5 standard errors of it
"$PY" "$tmp/write_model.py" "$tmp/zero.rbm" 6 5 3 -ACGT 11 >"$tmp/zero.a"
run sample "$tmp/zero.rbm" -n 20000 --steps 2 --out "$tmp/zero.fasta" --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["format"] == "fasta" and d["alphabet"] == "-ACGT"' \
    'd["shape"] == [20000, 6]' >"$tmp/py" 2>&1 &&
    "$PY" "$tmp/fasta.py" "$tmp/zero.fasta" -ACGT >"$tmp/zero.freq" &&
    "$PY" - "$tmp/zero.a" "$tmp/zero.freq" >"$tmp/py" 2>&1 <<'PYEOF'
import json, sys
import numpy as np
a = np.array(json.load(open(sys.argv[1])))
f = json.load(open(sys.argv[2]))
p = np.exp(a - a.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)
freq = np.array(f["freq"])
z = np.abs(freq - p) / np.sqrt(p * (1 - p) / f["n"])
assert f["n"] == 20000 and f["lengths"] == [6], f
print("max |z| %.2f" % z.max())
sys.exit(0 if z.max() < 5 else 1)
PYEOF
then
    ok "sample a W = 0 model as FASTA: site frequencies match softmax(a) ($(cat "$tmp/py"))"
else
    fail "sample W = 0 model (exit $rc): $(cat "$tmp/py")"
fi
expect_error 2 "sample --out x.png of a Potts model" sample "$tmp/zero.rbm" --out "$tmp/z.png"
expect_error 2 "sample --means of a Potts model" sample "$tmp/zero.rbm" --means --out "$tmp/z.npy"
expect_error 2 "sample FASTA with an alphabet of the wrong length" \
    sample "$tmp/zero.rbm" --alphabet protein --out "$tmp/z.fasta"
setup_model "ising model" train --epochs 1 --n-hidden 4 --no-report --quiet --out "$tmp/ising.rbm"
expect_error 2 "sample FASTA of an ising model" sample "$tmp/ising.rbm" --out "$tmp/z.fa"

# the trained fn3 model: its samples re-read as an alignment of its shape and alphabet
run sample "$tmp/fn3.rbm" -n 50 --steps 100 --out "$tmp/fn3-samples.fasta" --json --quiet
if [ "$rc" -eq 0 ] && "$PY" "$tmp/fasta.py" "$tmp/fn3-samples.fasta" "$PROTEIN" >"$tmp/fs.json" &&
    check_json "$tmp/fs.json" 'd["n"] == 50 and d["lengths"] == [117]' \
        'set(d["symbols"]) <= set("-ACDEFGHIKLMNPQRSTVWY")' >"$tmp/py" 2>&1; then
    ok "sample the fn3 model: 50 FASTA records of 117 protein symbols"
else
    fail "sample fn3 model (exit $rc): $(cat "$tmp/py")"
fi
run eval "$tmp/fn3.rbm" --data "$tmp/fn3-samples.fasta" --no-reweight --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_rows"] == 50 and d["n_visible"] == 117' \
    'd["n_states"] == 21 and d["alphabet"] == "-ACDEFGHIKLMNPQRSTVWY"' \
    'd["method"] == "exact" and d["log_likelihood"] < 0' >"$tmp/py" 2>&1; then
    ok "eval reads the sampled FASTA back with the model's alphabet (50 x 117, q = 21)"
else
    fail "eval of the sampled FASTA (exit $rc): $(cat "$tmp/py")"
fi

# --- eval: exact and AIS log-likelihoods against the independent-site model --------
# the independent-site model of fn3: W = 0, a = log f (weighted site
# frequencies with rbm's pseudo-count 1e-3); its log-likelihood in closed form
"$PY" "$tmp/ref.py" "$FN3" "$PROTEIN" 0.8 >"$tmp/fn3.ref"
"$PY" - "$tmp/fn3.ref" "$tmp/fn3.fields" "$tmp/fn3.ll" <<'PYEOF'
import json, sys
import numpy as np
r = json.load(open(sys.argv[1]))
f = 0.999 * np.array(r["freq"]) + 1e-3 / 21
json.dump((np.log(f) - np.log(f).mean(axis=1, keepdims=True)).tolist(), open(sys.argv[2], "w"))
# weighted mean of sum_i log f_i(v_i) = sum_i sum_c freq_ic log f_ic
open(sys.argv[3], "w").write(repr(float((np.array(r["freq"]) * np.log(f)).sum())))
PYEOF
"$PY" "$tmp/write_model.py" "$tmp/ind.rbm" 117 21 1 "$PROTEIN" 0 "$tmp/fn3.fields" >/dev/null
ll_ind=$(cat "$tmp/fn3.ll")
run eval "$tmp/ind.rbm" --data "$FN3" --method exact --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" "abs(d['log_likelihood'] - ($ll_ind)) < 1e-6" \
    "d['effective_sequences'] == 98" >"$tmp/py" 2>&1; then
    ok "eval --method exact of the independent-site model: log-likelihood $ll_ind as in closed form"
else
    fail "eval independent-site model (exit $rc): $(cat "$tmp/py")"
fi
run eval "$tmp/fn3.rbm" --method exact --json --quiet
if [ "$rc" -eq 0 ] && cp "$tmp/out" "$tmp/fn3.exact" &&
    check_json "$tmp/out" "d['log_likelihood'] > ($ll_ind) + 1" >"$tmp/py" 2>&1; then
    ok "the trained Potts RBM (8 hidden) beats the independent-site model: exact log-likelihood $("$PY" -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["log_likelihood"])' "$tmp/out") > $ll_ind"
else
    fail "trained vs independent (exit $rc): $(cat "$tmp/py")"
fi
run eval "$tmp/fn3.rbm" --method ais --runs 16 --json --quiet
if [ "$rc" -eq 0 ] && "$PY" - "$tmp/fn3.exact" "$tmp/out" >"$tmp/py" 2>&1 <<'PYEOF'
import json, sys
e, a = (json.load(open(p)) for p in sys.argv[1:3])
d = abs(a["log_z"] - e["log_z"])
print("AIS log Z %.4f +- %.4f, exact %.4f" % (a["log_z"], a["log_z_stderr"], e["log_z"]))
sys.exit(0 if d < 4 * a["log_z_stderr"] + 0.05 else 1)
PYEOF
then
    ok "eval --method ais on the fn3 model agrees with exact log Z ($(cat "$tmp/py"))"
else
    fail "AIS vs exact (exit $rc): $(cat "$tmp/py")"
fi
run spectrum "$tmp/fn3.rbm" --json --quiet
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["rank"] == 8 and len(d["singular_values"]) == 8' \
    'abs(d["kappa"] - 8 / (117 * 21)) < 1e-12 and d["pca_modes"] == 0' >"$tmp/py" 2>&1; then
    ok "spectrum of a Potts model: 8 modes of a 2457 x 8 W, no PCA overlaps"
else
    fail "spectrum of a Potts model (exit $rc): $(cat "$tmp/py")"
fi

finish
