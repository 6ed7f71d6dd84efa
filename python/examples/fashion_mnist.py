#!/usr/bin/python3
"""The worked example of docs/python.md: train an RBM on Fashion-MNIST from
Python, follow the spectrum of W while it learns, find the TAP fixed points
of the trained machine, place it on the phase diagram, and plot it all.

    /usr/bin/python3 python/examples/fashion_mnist.py [--epochs E] [--out DIR]

Writes DIR/python_{spectrum,modes,tap_points,projection}.png (default
docs/figures) and prints the numbers quoted in docs/python.md. About a
minute on one core with the defaults (10000 images, N_h 100, 5 epochs).
"""
import argparse
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

try:
    import librbm
except ImportError:  # running from a source tree without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import librbm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "figures"))
    args = p.parse_args()

    # 1. data: Fashion-MNIST images (uint8) -> {0,1} at 127, first rows
    raw = librbm.Dataset.fashion_mnist("train")
    data = raw.slice(0, args.rows).binarize(127)
    print(f"data: {data.rows} x {data.cols}, density {data.mean().mean():.3f}")

    # 2. a Bernoulli-Bernoulli machine, trained with PCD-1 and momentum
    m = librbm.Machine(data.cols, args.hidden, "bernoulli", "bernoulli", precision="float32")
    m.init_normal(0.01, seed=1)
    m.init_visible_bias_from_data(data)
    # the top of the spectrum every 20 steps (sorted singular values; a
    # librbm.ModeTracker would instead follow mode identities)
    svd = librbm.SVD(m)
    history = [(0, svd.singular_values[:10], svd.bulk().edge)]

    def observe(t):
        if t.step_count % 20 == 0:
            svd.update(m)
            history.append((t.step_count, svd.singular_values[:10], svd.bulk().edge))

    t = librbm.Trainer(m, data, 100, seed=2, estimator="pcd", k=1, optimizer="momentum",
                       learning_rate=0.01, observer=observe)
    t0 = time.perf_counter()
    t.run_epochs(args.epochs)
    print(f"trained {t.step_count} steps in {time.perf_counter() - t0:.1f} s, "
          f"reconstruction error {t.reconstruction_error:.4f}")
    test = librbm.Dataset.fashion_mnist("test").slice(0, 2000).binarize(127)
    print(f"pseudo-log-likelihood train {librbm.pseudo_log_likelihood(m, data):.2f}, "
          f"test {librbm.pseudo_log_likelihood(m, test):.2f} nats")
    ais = librbm.AIS(m, seed=3, runs=50, n_betas=2000, base_data=data).run()
    ll = librbm.log_likelihood(m, test, ais.log_z)
    print(f"AIS log Z = {ais.log_z:.2f} +- {ais.stderr:.2f}; test log-likelihood {ll:.2f} nats")

    # 3. the spectrum: singular values, the Marchenko-Pastur bulk, the modes
    svd.update(m)
    w = svd.singular_values
    bulk = svd.bulk()
    print(f"spectrum: w_1..w_5 = {np.round(w[:5], 2)}, bulk edge {bulk.edge:.2f}, "
          f"{bulk.n_outside} modes outside")
    steps = [h[0] for h in history]
    wt = np.array([h[1] for h in history])
    edge = [h[2] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(steps, wt, lw=1)
    ax[0].plot(steps, edge, "k--", lw=1, label="bulk edge")
    ax[0].set_xlabel("training step")
    ax[0].set_ylabel("singular value $w_\\alpha$")
    ax[0].set_title("the 10 largest singular values while learning")
    ax[0].legend()
    ax[1].bar(np.arange(1, len(w) + 1), w, width=0.8)
    ax[1].axhline(bulk.edge, color="k", ls="--", lw=1)
    ax[1].set_xlabel("mode $\\alpha$")
    ax[1].set_title("spectrum of the trained W")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "python_spectrum.png"), dpi=110)

    U = svd.left_vectors
    fig, ax = plt.subplots(1, 6, figsize=(10, 2))
    for k in range(6):
        ax[k].imshow(U[:, k].reshape(28, 28), cmap="RdBu_r")
        ax[k].set_title(f"$u^{k + 1}$, w={w[k]:.1f}", fontsize=9)
        ax[k].axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "python_modes.png"), dpi=110)

    # 4. TAP fixed points from 300 data starts
    tap = librbm.MeanField(m, "tap2")
    pts = tap.fixed_points_data(data, 300, seed=4)
    stable = [p for p in pts if p.stable]
    lz_tap, best, used = pts.log_z()
    print(f"TAP2: {len(pts)} distinct fixed points ({len(stable)} stable) from "
          f"{pts.n_starts} starts ({pts.n_failed} not converged); log Z_TAP = {lz_tap:.2f}")
    n_show = min(8, len(pts))
    fig, ax = plt.subplots(1, max(n_show, 1), figsize=(10, 1.9), squeeze=False)
    for k in range(n_show):
        ax[0, k].imshow(pts[k].mv.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax[0, k].set_title(f"$\\Gamma$={pts[k].gamma:.0f}" + ("" if pts[k].stable else " (u)"),
                           fontsize=8)
        ax[0, k].axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "python_tap_points.png"), dpi=110)

    proj = svd.project_dataset(test, 2)
    pv, _ = pts.project(svd, 2)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.scatter(proj[:, 0], proj[:, 1], s=2, alpha=0.3, label="test images")
    ax.scatter(pv[:, 0], pv[:, 1], s=40, c="r", marker="x", label="TAP fixed points")
    ax.set_xlabel("$u^1 \\cdot v$")
    ax.set_ylabel("$u^2 \\cdot v$")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "python_projection.png"), dpi=110)

    # 5. the machine on the ensemble's phase diagram
    ph = librbm.machine_phase(m)
    print(f"phase: {ph.phase.name.lower()}, noise sigma {ph.sigma:.3f}, "
          f"{len(ph.modes)} strong modes {np.round(ph.modes, 2)}")


if __name__ == "__main__":
    main()
