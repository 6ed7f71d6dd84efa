#!/bin/sh
# Black-box tests of the rbm program with archives (docs/interop.md): the
# rbms 0.2.1 archive of tests/data/interop read by eval/spectrum (--update),
# spectrum --history, train --archive (appended to by a resumed run, read
# back by tools/rbm_archive.py, surviving kill -9), train --init, rbm export
# --format rbms checked with h5py, and --data file.h5[:/group/name].
# usage: sh tests/cli/test_interop.sh path/to/rbm
CLI_TEST=test_interop.sh
. "$(dirname "$0")/cli_common.sh"

root=${RBM_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
fixture="$root/tests/data/interop/rbms-0.2.1_bbrbm_fmnist5k_h20.h5"
reader="$root/tools/rbm_archive.py"

# ---- librbm's training archive (no HDF5 needed) -------------------------------
run train --epochs 3 --n-hidden 6 --archive "$tmp/run.rbma" --archive-saves 6 \
    --checkpoint-every 3 --out "$tmp/run.rbm" --quiet --no-report --json
if [ "$rc" -eq 0 ] && "$PY" - "$reader" "$tmp/run.rbma" "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("rbm_archive", sys.argv[1])
ra = importlib.util.module_from_spec(spec); spec.loader.exec_module(ra)
ar = ra.read(sys.argv[2])
steps = json.load(open(sys.argv[3]))["steps"]
assert steps == 300, steps
# 6 log-spaced saves of 300 steps, as rbms saves them
assert [m.step for m in ar.models] == [1, 3, 9, 30, 95, 300], [m.step for m in ar.models]
assert [s.step for s in ar.spectra] == [1, 3, 9, 30, 95, 300]
assert ar.ignored_bytes == 0 and len(ar.checkpoints) == 1 and ar.checkpoints[0][0] == 300
assert "--archive" in ar.config and "command: rbm train" in ar.config
import numpy as np
for m, s in zip(ar.models, ar.spectra):
    sv = np.linalg.svd(m.W, compute_uv=False)
    assert np.allclose(sv, s.values, rtol=1e-12, atol=1e-14), (sv, s.values)
assert ar.models[-1].W.shape == (100, 6) and ar.models[-1].visible == "ising"
EOF
then
    ok "train --archive: 6 log-spaced models, their spectra (= numpy SVD), config, checkpoint"
else
    fail "train --archive (status $rc) $(cat "$tmp/py")"
fi

# the final model of the archive is the saved model, bit for bit
run spectrum "$tmp/run.rbm" --json
cp "$tmp/out" "$tmp/s_model.json"
run spectrum "$tmp/run.rbma" --json
if [ "$rc" -eq 0 ] && "$PY" -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["singular_values"] == b["singular_values"]' "$tmp/s_model.json" "$tmp/out" 2>"$tmp/py"; then
    ok "spectrum ARCHIVE reads the archive's last model (= the saved model)"
else
    fail "spectrum ARCHIVE (status $rc) $(cat "$tmp/py")"
fi
run spectrum "$tmp/run.rbma" --update 30 --json
if [ "$rc" -eq 0 ] && "$PY" - "$reader" "$tmp/run.rbma" "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import importlib.util, json, sys
import numpy as np
spec = importlib.util.spec_from_file_location("rbm_archive", sys.argv[1])
ra = importlib.util.module_from_spec(spec); spec.loader.exec_module(ra)
m = [m for m in ra.read(sys.argv[2]).models if m.step == 30][0]
d = json.load(open(sys.argv[3]))
assert np.allclose(d["singular_values"], np.linalg.svd(m.W, compute_uv=False), rtol=1e-12)
EOF
then
    ok "spectrum ARCHIVE --update 30: the model saved at step 30"
else
    fail "spectrum --update 30 (status $rc) $(cat "$tmp/py")"
fi
expect_error 1 "spectrum ARCHIVE --update 7 (no model at step 7)" \
    spectrum "$tmp/run.rbma" --update 7
expect_error 2 "--update on a model file" spectrum "$tmp/run.rbm" --update 3

# a resumed run appends to the archive
run train --resume "$tmp/run.rbm.ckpt" --epochs 5 --archive "$tmp/run.rbma" --archive-saves 6 \
    --out "$tmp/run.rbm" --quiet --no-report
if [ "$rc" -eq 0 ] && "$PY" - "$reader" "$tmp/run.rbma" >"$tmp/py" 2>&1 <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("rbm_archive", sys.argv[1])
ra = importlib.util.module_from_spec(spec); spec.loader.exec_module(ra)
ar = ra.read(sys.argv[2])
st = [m.step for m in ar.models]
# the schedule of 500 steps past 300 (314?), and the final model
assert st[:6] == [1, 3, 9, 30, 95, 300] and st[-1] == 500 and len(st) >= 7, st
assert all(a < b for a, b in zip(st, st[1:])), st
assert len(ar.checkpoints) == 2 and ar.checkpoints[-1][0] == 500
assert ar.models[-1].seconds >= ar.models[5].seconds
EOF
then
    ok "train --resume --archive: the resumed run's models appended (steps up to 500)"
else
    fail "resumed archive (status $rc) $(cat "$tmp/py")"
fi

# kill -9 while training with --archive: what was appended stays readable
"$RBM" train --epochs 400 --n-hidden 40 --archive "$tmp/k.rbma" --archive-saves 400 \
    --out "$tmp/k.rbm" --quiet --no-report >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 300 ]; do
    n=$("$PY" -c '
import importlib.util, sys
spec = importlib.util.spec_from_file_location("rbm_archive", sys.argv[1])
ra = importlib.util.module_from_spec(spec); spec.loader.exec_module(ra)
try: print(len(ra.read(sys.argv[2]).models))
except Exception: print(0)' "$reader" "$tmp/k.rbma" 2>/dev/null)
    [ "${n:-0}" -ge 12 ] && break
    sleep 0.1
    i=$((i + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
run spectrum --history "$tmp/k.rbma" --no-plots --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'len(d["history"]) >= 12' \
    'all(a["step"] < b["step"] for a, b in zip(d["history"], d["history"][1:]))' \
    >"$tmp/py" 2>&1; then
    ok "kill -9 during train --archive: $(grep -c '"step"' "$tmp/out") models readable"
else
    fail "kill -9 archive (status $rc) $(cat "$tmp/py")"
fi

# ---- HDF5 -------------------------------------------------------------------
run export "$tmp/run.rbma" "$tmp/probe.h5"
if grep -q "built without HDF5" "$tmp/err"; then
    ok "built without HDF5: export says so ($(cat "$tmp/err"))"
    finish
    exit $?
fi
if ! "$PY" -c 'import h5py' 2>/dev/null; then
    echo "# h5py missing (Debian python3-h5py): the HDF5 checks are skipped"
    finish
    exit $?
fi

# export a librbm archive as an rbms archive: every dataset rbms' loader reads
run export "$tmp/run.rbma" "$tmp/exp.h5" --chains 7 --gibbs 3 --batch 50 --lr 0.02 --json
if [ "$rc" -eq 0 ] && "$PY" - "$reader" "$tmp/run.rbma" "$tmp/exp.h5" >"$tmp/py" 2>&1 <<'EOF'
import importlib.util, sys
import h5py, numpy as np
spec = importlib.util.spec_from_file_location("rbm_archive", sys.argv[1])
ra = importlib.util.module_from_spec(spec); spec.loader.exec_module(ra)
ar = ra.read(sys.argv[2])
f = h5py.File(sys.argv[3], "r")
assert f["model_type"][()].decode() == "IIRBM"          # ising x ising
pc = f["parallel_chains"]
assert pc.shape == (7, 100) and pc.dtype == np.float64 and set(np.unique(pc[()])) <= {-1.0, 1.0}
hp = f["hyperparameters"]
want = {"batch_size": 50, "gibbs_steps": 3, "learning_rate": 0.02, "num_chains": 7,
        "num_hiddens": 6, "num_visibles": 100, "L1": 0.0, "L2": 0.0}
for k, v in want.items():
    assert hp[k][()] == v, (k, hp[k][()])
assert hp["batch_size"].dtype == np.int64 and hp["learning_rate"].dtype == np.float64
ups = sorted(int(k[7:]) for k in f if k.startswith("update_"))
assert ups == [m.step for m in ar.models], ups
for m in ar.models:
    g = f[f"update_{m.step}"]
    for name, x in (("weight_matrix", m.W), ("vbias", m.a), ("hbias", m.b)):
        for d in (g["params"][name], g[name]):
            assert d.dtype == np.float64 and d.shape == x.shape, (name, d.dtype, d.shape)
            assert np.array_equal(d[()], x), name
    assert g["time"][()] == m.seconds and g["time"].dtype == np.float64
    assert g["flags/checkpoint"][()] == True and g["flags/checkpoint"].dtype == np.bool_
EOF
then
    ok "export --format rbms: model_type, parallel_chains, hyperparameters, every update_N (h5py)"
else
    fail "export rbms (status $rc) $(cat "$tmp/py")"
fi
# the exported archive is read back as rbms archive by librbm itself
run spectrum "$tmp/exp.h5" --update 95 --json
if [ "$rc" -eq 0 ] && "$PY" - "$tmp/exp.h5" "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import json, sys
import h5py, numpy as np
W = h5py.File(sys.argv[1], "r")["update_95/params/weight_matrix"][()]
d = json.load(open(sys.argv[2]))
assert d["visible"] == "ising" and d["hidden"] == "ising"
assert np.allclose(d["singular_values"], np.linalg.svd(W, compute_uv=False), rtol=1e-12)
EOF
then
    ok "the exported rbms archive reads back (spectrum --update 95 = numpy SVD of update_95)"
else
    fail "exported archive read back (status $rc) $(cat "$tmp/py")"
fi

# sample and analyze take an rbms archive (and --update) as MODEL
run sample "$fixture" --update 95 -n 6 --steps 2 --out "$tmp/s95.npy" --json
if [ "$rc" -eq 0 ] && "$PY" -c '
import sys, numpy as np
x = np.load(sys.argv[1]); assert x.shape[1] == 784 and x.shape[0] == 6, x.shape
assert set(np.unique(x)) <= {0.0, 1.0}' "$tmp/s95.npy" 2>"$tmp/py"; then
    ok "sample FILE.h5 --update 95: 6 binary samples of 784 units"
else
    fail "sample rbms (status $rc) $(cat "$tmp/py")"
fi
run analyze "$fixture" --update 30 --no-data --starts 10 --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_visible"] == 784 and d["n_hidden"] == 20' \
    'd["n_fixed_points"] >= 1' >"$tmp/py" 2>&1; then
    ok "analyze FILE.h5 --update 30: TAP fixed points of the rbms checkpoint"
else
    fail "analyze rbms (status $rc) $(cat "$tmp/py")"
fi

# the real rbms archive: checkpoints, singular values at an update
run spectrum --history "$fixture" --plots "$tmp/hist" --json
if [ "$rc" -eq 0 ] && "$PY" - "$fixture" "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import json, sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
d = json.load(open(sys.argv[2]))
h = d["history"]
assert [p["step"] for p in h] == [1, 3, 9, 30, 95, 300]
assert d["model_type"] == "BBRBM" and d["format"] == "rbms"
for p in h:
    W = f[f"update_{p['step']}/params/weight_matrix"][()].astype(np.float64)
    assert np.allclose(p["singular_values"], np.linalg.svd(W, compute_uv=False), rtol=1e-10)
    assert p["seconds"] == f[f"update_{p['step']}/time"][()]
# the spectral dynamics: no mode outside the bulk at first, several at the end
assert h[0]["n_modes_outside_bulk"] == 0 and h[-1]["n_modes_outside_bulk"] >= 3
assert d["plot"] and d["plot"].endswith("spectrum_history.png")
EOF
then
    ok "spectrum --history on the rbms 0.2.1 archive: 6 checkpoints, singular values = numpy SVD"
else
    fail "spectrum --history fixture (status $rc) $(cat "$tmp/py")"
fi
if command -v gnuplot >/dev/null 2>&1; then
    if [ -s "$tmp/hist/spectrum_history.png" ]; then
        ok "spectrum --history: spectrum_history.png written"
    else
        fail "spectrum --history: no PNG"
    fi
fi

# --data FILE.h5[:/group/name], and hostile HDF5 data
"$PY" - "$tmp" <<'EOF'
import sys
import h5py, numpy as np
r = np.random.default_rng(4)
x = (r.random((120, 100)) < 0.3) * 2.0 - 1.0   # ising data for the 100-unit model
with h5py.File(sys.argv[1] + "/d.h5", "w") as f:
    f["samples"] = x
    f.create_dataset("g/sub/x", data=x.astype(np.int8), compression="gzip", chunks=(16, 100))
    f["g/cube"] = np.zeros((2, 3, 4))
    f["g/text"] = "hello"
EOF
run eval "$tmp/run.rbm" --data "$tmp/d.h5" --json
cp "$tmp/out" "$tmp/e1.json"
run eval "$tmp/run.rbm" --data "$tmp/d.h5:/g/sub/x" --json
if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_rows"] == 120' >"$tmp/py" 2>&1 &&
    "$PY" -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["log_likelihood"] == b["log_likelihood"] and a["n_rows"] == 120' "$tmp/e1.json" "$tmp/out"; then
    ok "--data file.h5 (samples) and file.h5:/g/sub/x (int8, gzip): the same log-likelihood"
else
    fail "--data h5 (status $rc) $(cat "$tmp/py")"
fi
expect_error 1 "--data file.h5:/g/cube (rank 3)" eval "$tmp/run.rbm" --data "$tmp/d.h5:/g/cube"
expect_error 1 "--data file.h5:/g/text (a string)" eval "$tmp/run.rbm" --data "$tmp/d.h5:/g/text"
expect_error 1 "--data file.h5:/nothing" eval "$tmp/run.rbm" --data "$tmp/d.h5:/nothing"

# train --init from an rbms checkpoint (the run continues from update 95)
if [ -r "$FASHION" ]; then
    "$PY" - "$FASHION" "$tmp/fm5k.h5" <<'EOF'
import gzip, sys
import h5py, numpy as np
raw = np.frombuffer(gzip.open(sys.argv[1]).read(), np.uint8, offset=16).reshape(-1, 784)
with h5py.File(sys.argv[2], "w") as f:
    f["samples"] = (raw[:5000] > 127).astype(np.uint8)   # the fixture's training rows
EOF
    run train --data "$tmp/fm5k.h5" --init "$fixture:95" --epochs 1 --batch 500 -k 10 \
        --out "$tmp/cont.rbm" --no-report --json
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["n_hidden"] == 20' >"$tmp/py" 2>&1 &&
        grep -q "500 persistent chains continue from the parallel_chains" "$tmp/err"; then
        ok "train --init ARCHIVE:95: 784 x 20 from update 95, PCD chains from parallel_chains"
    else
        fail "train --init (status $rc) $(cat "$tmp/py") $(cat "$tmp/err")"
    fi

    # rbm eval reproduces rbms' exact log Z; the mean log-likelihood equals
    # rbms' reference once rbms' softplus cut-off (x >= 10 -> x) is applied
    run eval "$fixture" --data "$tmp/fm5k.h5" --method exact --json
    if [ "$rc" -eq 0 ] && "$PY" - "$fixture" "$tmp/fm5k.h5" "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import json, sys
import h5py, numpy as np
d = json.load(open(sys.argv[3]))
lz, ll = d["log_z"], d["log_likelihood"]
assert abs(lz / 417.673071444077 - 1) < 1e-9, lz
g = h5py.File(sys.argv[1], "r")["update_300"]
W = g["params/weight_matrix"][()].astype(np.float64)
a = g["params/vbias"][()].astype(np.float64)
b = g["hbias"][()].astype(np.float64)
X = h5py.File(sys.argv[2], "r")["samples"][()].astype(np.float64)
x = X @ W + b
exact = (X @ a + np.logaddexp(0, x).sum(1)).mean() - lz
assert abs(ll / exact - 1) < 1e-12, (ll, exact)
cut = np.where(x >= 10, np.log1p(np.exp(-x)), 0).sum(1).mean()
assert abs((ll - cut) / -326.9460532721899 - 1) < 1e-12, ll - cut
assert abs(ll / -326.9460532721899 - 1) > 5e-8      # rbms' reference is cut-off-limited
print(lz, ll, cut)
EOF
    then
        ok "eval of the rbms archive: log Z 417.673071444077 (1e-9); LL exact, rbms' ref = LL - cut-off"
    else
        fail "eval fixture (status $rc) $(cat "$tmp/py")"
    fi
fi
finish
