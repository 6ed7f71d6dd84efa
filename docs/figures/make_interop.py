#!/usr/bin/env python3
"""The figures of docs/interop.md's worked example, from the rbms 0.2.1
archive in tests/data/interop/ and the output of the rbm program.

    /usr/bin/python3 docs/figures/make_interop.py build/tools/rbm

writes docs/figures/interop_spectrum_history.png (rbm spectrum --history,
drawn by the program's gnuplot script) and interop_fixed_points.png (the
training rows and the TAP fixed points of update 300 projected on the first
two singular vectors of W; rbm analyze --json, matplotlib)."""
import gzip, json, os, shutil, subprocess, sys, tempfile

import h5py
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

rbm = os.path.abspath(sys.argv[1])
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
fixture = os.path.join(root, "tests/data/interop/rbms-0.2.1_bbrbm_fmnist5k_h20.h5")
out = os.path.join(root, "docs/figures")
tmp = tempfile.mkdtemp()
raw = np.frombuffer(gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
                    .read(), np.uint8, offset=16).reshape(-1, 784)
X = (raw[:5000] > 127).astype(np.uint8)
with h5py.File(os.path.join(tmp, "fm5k.h5"), "w") as f:
    f["samples"] = X

subprocess.run([rbm, "spectrum", "--history", fixture, "--plots", os.path.join(tmp, "h"), "--json"],
               check=True, stdout=subprocess.DEVNULL)
shutil.copy(os.path.join(tmp, "h", "spectrum_history.png"),
            os.path.join(out, "interop_spectrum_history.png"))

a = json.loads(subprocess.run([rbm, "analyze", fixture, "--data", os.path.join(tmp, "fm5k.h5"),
                               "--json", "--quiet"], check=True, capture_output=True).stdout)
W = h5py.File(fixture, "r")["update_300/params/weight_matrix"][()].astype(np.float64)
U, s, _ = np.linalg.svd(W, full_matrices=False)
# librbm's sign convention (lib/analysis/svd.c): the largest entry of u_a is positive
U = U * np.sign(U[np.abs(U).argmax(axis=0), np.arange(U.shape[1])])
P = X @ U[:, :2]
plt.figure(figsize=(7, 5.5))
plt.scatter(P[:, 0], P[:, 1], s=3, alpha=0.3, c="#1f77b4", label="training rows (5000)")
for k, fp in enumerate(a["fixed_points"]):
    p = fp["projections"]
    plt.scatter([p[0]], [p[1]], marker="*", s=400, c="#d62728" if k == 0 else "#ff7f0e",
                edgecolors="black",
                label=f"TAP fixed point {k + 1}: Gamma = {fp['gamma']:.3f}, {fp['multiplicity']} starts")
plt.xlabel("u_1 . v")
plt.ylabel("u_2 . v")
plt.title("rbms 0.2.1 BBRBM, Fashion-MNIST, update 300: data and TAP2 fixed points\n"
          f"on the first two singular vectors of W (w_1 = {s[0]:.2f}, w_2 = {s[1]:.3f})")
plt.legend(loc="best", fontsize=8)
plt.tight_layout()
plt.savefig(os.path.join(out, "interop_fixed_points.png"), dpi=110)
shutil.rmtree(tmp)
print("wrote interop_spectrum_history.png, interop_fixed_points.png")
