#!/usr/bin/python3
"""Data-parallel scaling of 'rbm train' on Fashion-MNIST (docs/scaling.md).

    scaling.py --rbm build/tools/rbm [--epochs 1] [--repeat 2]

Runs, on the Fashion-MNIST benchmark problem (784 x 500 Bernoulli RBM,
PCD-1, batch 100, SGD; the first --rows images, so an epoch is short), one
process with 1 and with 2 BLAS threads,
--workers 2 (virtual) with 1 thread, and 'mpirun -np 2 ... --mpi' with one
BLAS thread per rank, then the same MPI run with the simulated networks of
the cost model (RBM_MPI_SIMULATE_NETWORK, a sleep per exchange in
tools/cli_mpi.c). Prints the throughputs, the measured and predicted cost
of each simulated network, and the cost model's node counts at which
communication reaches 10% of a step. Wall and CPU time (of all processes)
per step; the --repeat runs are interleaved and their median is kept.
"""
import argparse
import json
import gzip
import os
import resource
import statistics
import subprocess
import sys
import tempfile

NV, NH, BATCH, ROWS = 784, 500, 100, 60000
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
NETWORKS = [  # name, latency (s per message), bandwidth (bytes/s)
    ("100 Mb/s", 100e-6, 12.5e6),
    ("1 GbE", 50e-6, 125e6),
]
MODEL_ONLY = [("10 GbE", 20e-6, 1.25e9), ("InfiniBand HDR 100", 2e-6, 12.5e9)]


def exchanged_doubles(P):
    """The doubles of one step's allreduce (trainer.h)."""
    return NV * NH + NV + NH + 1 + P


def comm_seconds(P, alpha, beta):
    """Ordered reduce-scatter + allgather: 2(P-1) messages, 2(P-1)/P of the buffer."""
    if P == 1:
        return 0.0
    return 2 * (P - 1) * alpha + 2 * (P - 1) / P * 8 * exchanged_doubles(P) / beta


def nodes_at_10_percent(t1, alpha, beta, batch=BATCH):
    """Smallest P with comm >= 10% of the step, the compute t1 (1 worker, this
    batch) split evenly: comm(P) >= (t1 / P + comm(P)) / 10."""
    for P in range(2, 1 << 20):
        if P > batch:
            return None  # every worker needs a row of each minibatch
        c = comm_seconds(P, alpha, beta)
        if c >= 0.1 * (t1 / P + c):
            return P
    return None


def subset(path, rows):
    """The first rows images of Fashion-MNIST as a uint8 NPY file (the same
    problem, fewer steps)."""
    import numpy as np
    with gzip.open(FASHION, "rb") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, NV)
    np.save(path, x[:rows])


def run1(cmd, env, epochs):
    """Training wall seconds, CPU seconds of all processes, steps."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd + ["--epochs", str(epochs)], env=env, check=True,
                         capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    d = json.loads(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return d["seconds"], cpu, d["steps"]


def run(cmd, env_extra, epochs):
    """Wall and CPU (all processes) seconds per step: the difference of a
    run of 3 epochs and one of 1, so start-up (MPI, data) drops out."""
    env = dict(os.environ, **env_extra)
    w1, c1, s1 = run1(cmd, env, epochs)
    w3, c3, s3 = run1(cmd, env, 3 * epochs)
    return (w3 - w1) / (s3 - s1), (c3 - c1) / (s3 - s1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rbm", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--rows", type=int, default=6000,
                    help="first rows of Fashion-MNIST used (default 6000: 60 steps an epoch)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rbm-scaling-")
    data = os.path.join(tmp, "fashion.npy")
    subset(data, a.rows)
    base = [a.rbm, "train", "--data", data, "--batch",
            str(BATCH), "--n-hidden", str(NH), "--no-report", "--json", "--quiet", "--out",
            os.path.join(tmp, "m.rbm")]
    mpi = ["mpirun", "-np", "2", "--oversubscribe"]
    if os.geteuid() == 0:
        mpi.append("--allow-run-as-root")
    one = {"OPENBLAS_NUM_THREADS": "1"}
    two = {"OPENBLAS_NUM_THREADS": "2"}
    mpienv = dict(one, OMPI_MCA_btl_vader_single_copy_mechanism="none")
    configs = [
        ("1 process, 1 BLAS thread", base, one),
        ("1 process, 2 BLAS threads", base, two),
        ("--workers 2 (virtual), 1 thread", base + ["--workers", "2"], one),
        ("mpirun -np 2 --mpi, 1 thread per rank", mpi + base + ["--mpi"], mpienv),
    ]
    for name, alpha, beta in NETWORKS:
        configs.append(("mpirun -np 2, simulated " + name, mpi + base + ["--mpi"],
                        dict(mpienv, RBM_MPI_SIMULATE_NETWORK="%g,%g" % (alpha, beta))))
    print("load average before: %.1f %.1f %.1f" % os.getloadavg())
    wall = {c[0]: [] for c in configs}
    cpu = {c[0]: [] for c in configs}
    for _ in range(a.repeat):  # interleaved, so that the load drifts alike
        for name, cmd, env in configs:
            w, c = run(cmd, env, a.epochs)
            wall[name].append(w)
            cpu[name].append(c)
    med = {k: statistics.median(v) for k, v in wall.items()}
    print("| configuration | wall ms per step (min, median) | CPU ms per step, all processes |")
    print("|---|---:|---:|")
    for name, _, _ in configs:
        print("| %s | %.1f, %.1f | %.1f |" % (name, min(wall[name]) * 1e3, med[name] * 1e3,
                                           statistics.median(cpu[name]) * 1e3))
    t_mpi = med[configs[3][0]]
    print()
    print("| simulated network (2 ranks) | predicted +ms per step | measured +ms (median) |")
    print("|---|---:|---:|")
    for name, alpha, beta in NETWORKS:
        print("| %s (%g us, %g GB/s) | %.2f | %.1f |"
              % (name, alpha * 1e6, beta / 1e9, comm_seconds(2, alpha, beta) * 1e3,
                 (med["mpirun -np 2, simulated " + name] - t_mpi) * 1e3))
    t1 = statistics.median(cpu[configs[0][0]])  # the compute of one step, 1 worker
    print()
    print("bytes exchanged per step and rank: 8 x %d = %.2f MB (P = 2); t1 = %.1f ms"
          % (exchanged_doubles(2), 8 * exchanged_doubles(2) / 1e6, t1 * 1e3))
    print("| network | share at P = 2 | P at 10%%, batch %d | batch 1000 |" % BATCH)
    print("|---|---:|---:|---:|")
    for name, alpha, beta in NETWORKS + MODEL_ONLY:
        c2 = comm_seconds(2, alpha, beta)
        print("| %s | %.0f%% | %s | %s |" % (name, 100 * c2 / (t1 / 2 + c2),
                                           nodes_at_10_percent(t1, alpha, beta),
                                           nodes_at_10_percent(10 * t1, alpha, beta, 1000)))
    print("load average after: %.1f %.1f %.1f" % os.getloadavg())

if __name__ == "__main__":
    main()
