#!/bin/sh
# Black-box tests of 'rbm sample'.
# usage: sh tests/cli/test_sample.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh).
CLI_TEST=test_sample.sh
. "$(dirname "$0")/cli_common.sh"

# --- models and data ------------------------------------------------------------
make_data_files "$tmp"
train_bits_model "$tmp/e.rbm" "$tmp/bits.csv"
model="$tmp/small model.rbm"
train_small_model "$model"
# a corrupted model: one byte of the parameters changed (the CRC catches it)
cp "$tmp/e.rbm" "$tmp/bad.rbm"
printf 'X' | dd of="$tmp/bad.rbm" bs=1 seek=130 conv=notrunc 2>/dev/null
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
mkfifo "$tmp/fifo.txt"
expect_message 1 "sample --out FIFO" "cannot save the samples to '$tmp/fifo.txt': it is a FIFO, not a regular file" \
    sample "$tmp/e.rbm" -n 3 --steps 5 --out "$tmp/fifo.txt" --quiet
[ -p "$tmp/fifo.txt" ] && ok "sample: the FIFO is still a FIFO" || fail "sample replaced the FIFO"
left=
for f in "$tmp"/*.tmp.* "$tmp"/sd/*.tmp.* "$tmp"/*.rbm-tmp.* "$tmp"/sd/*.rbm-tmp.*; do
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

# the NPY file byte for byte: format 1.0, '<f8', C order, the header padded
# with spaces to 64 bytes, the values of the text file of the same chains
run sample "$tmp/e.rbm" -n 7 --steps 50 --out "$tmp/b.npy" --quiet
run sample "$tmp/e.rbm" -n 7 --steps 50 --out "$tmp/b.txt" --quiet
if [ "$rc" -eq 0 ] && "$PY" - "$tmp/b.txt" "$tmp/b.npy" >"$tmp/py" 2>&1 <<'EOF'
import struct, sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1])]
d = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (len(rows), len(rows[0]))
n = (10 + len(d) + 1 + 63) // 64 * 64 - 10
want = b"\x93NUMPY\x01\x00" + struct.pack("<H", n) + (d.ljust(n - 1) + "\n").encode()
want += b"".join(struct.pack("<d", x) for r in rows for x in r)
got = open(sys.argv[2], "rb").read()
sys.exit(0 if got == want else "NPY differs: %d vs %d bytes" % (len(got), len(want)))
EOF
then
    ok "sample: the NPY file is exactly the float64 C-order NPY 1.0 of the samples"
else
    fail "sample NPY bytes (status $rc) $(cat "$tmp/py" 2>/dev/null)"
fi

# --- Fashion-MNIST (skipped when the Debian data set is absent) ------------------
if [ -r "$FASHION" ] && train_fashion_model "$tmp/fm.rbm"; then
    # 784 units: 28 x 28 images; 9 chains from data rows in a 3 x 3 grid of 88 x 88 pixels
    run sample "$tmp/fm.rbm" -n 9 --steps 10 --data fashion-mnist --out "$tmp/fm.png" --json --quiet
    if [ "$rc" -eq 0 ] && check_json "$tmp/out" 'd["image_height"] == 28 and d["image_width"] == 28' \
        >"$tmp/py" 2>&1 && file "$tmp/fm.png" | grep -q 'PNG image data, 88 x 88'; then
        ok "fashion-mnist sample: $(file -b "$tmp/fm.png")"
    else
        fail "fashion-mnist sample (status $rc) $(cat "$tmp/py" 2>/dev/null)"
    fi
else
    echo "ok - fashion-mnist sample # SKIP $FASHION not installed"
fi

finish
