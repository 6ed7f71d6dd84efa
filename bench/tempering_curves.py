#!/usr/bin/python3
"""Exact log-likelihood per epoch of training runs with the rbm program:
PT vs PCD on the synthetic clustered data, and the centred vs the plain
gradient on binarised Fashion-MNIST (N_h = 16, where 'rbm train' computes
the exact log-likelihood after every epoch). Plots both with matplotlib.

usage: bench/tempering_curves.py RBM OUTDIR [--epochs-synthetic E] [--epochs-fashion E]

Writes OUTDIR/tempering_curves.json (the curves and wall times) and
OUTDIR/tempering_training.png.
"""
import json
import os
import subprocess
import sys


def train(rbm, outdir, name, args):
    model = os.path.join(outdir, name + ".rbm")
    cmd = [rbm, "train", "--json", "--quiet", "--no-plots", "--no-report", "--out", model] + args
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    return {"args": args, "log_likelihood_per_epoch": d["log_likelihood_per_epoch"],
            "seconds": d["seconds"]}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rbm, outdir = sys.argv[1], sys.argv[2]
    es = int(sys.argv[sys.argv.index("--epochs-synthetic") + 1]) \
        if "--epochs-synthetic" in sys.argv else 20
    ef = int(sys.argv[sys.argv.index("--epochs-fashion") + 1]) \
        if "--epochs-fashion" in sys.argv else 5
    os.makedirs(outdir, exist_ok=True)
    common_s = ["--n-hidden", "16", "--epochs", str(es), "--lr", "0.01", "-k", "1"]
    common_f = ["--data", "fashion-mnist", "--n-hidden", "16", "--epochs", str(ef),
                "--lr", "0.01"]
    runs = {
        "synthetic PCD-1": train(rbm, outdir, "syn_pcd", common_s + ["--estimator", "pcd"]),
        "synthetic PT (10 replicas)": train(rbm, outdir, "syn_pt",
                                            common_s + ["--estimator", "pt", "--replicas", "10"]),
        "fashion PCD-1 plain": train(rbm, outdir, "fm_plain", common_f),
        "fashion PCD-1 centred": train(rbm, outdir, "fm_centred", common_f + ["--centered"]),
    }
    with open(os.path.join(outdir, "tempering_curves.json"), "w") as f:
        json.dump(runs, f, indent=1)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, prefix, title in [(axes[0], "synthetic", "synthetic clusters, 100 Ising x 16"),
                              (axes[1], "fashion", "Fashion-MNIST (binarised), 784 x 16")]:
        for name, r in runs.items():
            if name.startswith(prefix):
                ll = r["log_likelihood_per_epoch"]
                ax.plot(range(1, len(ll) + 1), ll, marker="o",
                        label="%s (%.0f s)" % (name[len(prefix) + 1:], r["seconds"]))
        ax.set_xlabel("epoch")
        ax.set_ylabel("exact mean log-likelihood (nats)")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "tempering_training.png"), dpi=100)
    for name, r in runs.items():
        print("%-28s %7.1f s  LL per epoch: %s" % (name, r["seconds"], " ".join(
            "%.3f" % x for x in r["log_likelihood_per_epoch"])))


if __name__ == "__main__":
    main()
