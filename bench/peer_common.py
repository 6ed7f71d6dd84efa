"""What the Python peers of the training benchmark (bench/sklearn_rbm.py,
bench/torch_rbm.py) share: the IDX reader, the mean-field reconstruction error
that bench_train also prints for librbm, and the median."""
import argparse
import gzip
import struct

import numpy as np

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def load_idx_images(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim < 2:
        raise SystemExit(f"{path}: not an IDX ubyte file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    rows = dims[0]
    cols = int(np.prod(dims[1:]))
    if data.size != rows * cols:
        raise SystemExit(f"{path}: truncated IDX file")
    return data.reshape(rows, cols)


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def recon_error(W, a, b, X, rows):
    """mean (v - s(s(v W + b) W^T + a))^2 over the first `rows` rows of X, in
    float64; W is N_v x N_h, a the visible and b the hidden bias."""
    W, a, b = (np.asarray(t, dtype=np.float64) for t in (W, a, b))
    X = X[:rows]
    acc = 0.0
    for s in range(0, X.shape[0], 5000):
        v = np.asarray(X[s:s + 5000], dtype=np.float64)
        h = sigmoid(v @ W + b)
        r = sigmoid(h @ W.T + a)
        acc += float(((v - r) ** 2).sum())
    return acc / (X.shape[0] * X.shape[1])


def problem_arguments(doc):
    """The argument parser with the options of the benchmark problem that
    every peer script takes (each adds its own)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--threshold", type=float, default=127)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--recon-rows", type=int, default=10000, help="0: all")
    ap.add_argument("--precision", choices=["f32", "f64", "both"], default="both")
    return ap
