#!/usr/bin/python3
"""A tight PyTorch CPU loop of the librbm benchmark problem.

One epoch of PCD-1 on Fashion-MNIST binarised at 127 into {0,1}: N_h = 500,
batch 100, SGD with learning rate 0.01, W ~ N(0, 0.01^2), zero biases, as
many persistent chains as the batch (bench_train's librbm run). Per minibatch
the five products of the step, written with preallocated buffers and
in-place/out= operations so that the loop allocates nothing:

  ph  = s(V W + b)                 positive hidden means of the data
  vn ~ p(v | h_chain)  (field h_chain W^T + a)
  phn = s(vn W + b),  h_chain ~ Bernoulli(phn)
  W  += lr/B (V^T ph - vn^T phn),  a, b likewise

(the positive and negative statistics use the hidden means, as librbm's PCD
estimator does). Only the loop is timed. torch.set_num_threads(--threads)
when --threads > 0 (else OMP_NUM_THREADS, else torch's default). After the
last repeat the mean-field reconstruction error over the first --recon-rows
rows is computed in float64 (bench/peer_common.py), as for the other rows.

Prints one JSON object per measurement on stdout, progress on stderr.
Uses Debian's python3-torch: run with /usr/bin/python3.
"""
import json
import os
import sys
import time

import numpy as np
import torch

from peer_common import load_idx_images, median, problem_arguments, recon_error


def one_epoch(X, nh, bs, lr, nbatches, seed, dt):
    """Train one (possibly shortened) epoch; return (wall s, CPU s, W, a, b)."""
    gen = torch.Generator().manual_seed(seed)
    rows, nv = X.shape
    W = torch.randn(nv, nh, generator=gen, dtype=dt).mul_(0.01)
    a = torch.zeros(nv, dtype=dt)
    b = torch.zeros(nh, dtype=dt)
    v = torch.empty(bs, nv, dtype=dt)
    ph = torch.empty(bs, nh, dtype=dt)
    vn = torch.empty(bs, nv, dtype=dt)
    pv = torch.empty(bs, nv, dtype=dt)
    phn = torch.empty(bs, nh, dtype=dt)
    hc = torch.empty(bs, nh, dtype=dt)
    torch.bernoulli(torch.full((bs, nh), 0.5, dtype=dt), generator=gen, out=hc)
    perm = torch.randperm(rows, generator=gen)
    step = lr / bs
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for i in range(nbatches):
            idx = perm[i * bs:(i + 1) * bs]
            n = idx.shape[0]
            vb, phb = v[:n], ph[:n]
            torch.index_select(X, 0, idx, out=vb)
            torch.addmm(b, vb, W, out=phb)
            phb.sigmoid_()
            torch.addmm(a, hc, W.t(), out=pv)
            pv.sigmoid_()
            torch.bernoulli(pv, generator=gen, out=vn)
            torch.addmm(b, vn, W, out=phn)
            phn.sigmoid_()
            torch.bernoulli(phn, generator=gen, out=hc)
            W.addmm_(vb.t(), phb, alpha=lr / n)
            W.addmm_(vn.t(), phn, alpha=-step)
            a.add_(vb.sum(0), alpha=lr / n).sub_(vn.sum(0), alpha=step)
            b.add_(phb.sum(0), alpha=lr / n).sub_(phn.sum(0), alpha=step)
    return time.perf_counter() - t0, time.process_time() - c0, W, a, b


def main():
    ap = problem_arguments(__doc__)
    ap.add_argument("--batches", type=int, default=0, help="minibatches to run; 0: one epoch")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    threads = args.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    X8 = load_idx_images(args.data)
    per_epoch = -(-X8.shape[0] // args.batch)
    nb = args.batches if 0 < args.batches < per_epoch else per_epoch
    print(f"torch_rbm: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"data {X8.shape[0]} x {X8.shape[1]}, {nb} minibatches", file=sys.stderr)
    print(json.dumps({"name": "torch-info", "torch": torch.__version__,
                      "threads": torch.get_num_threads()}), flush=True)
    dtypes = {"f32": [torch.float32], "f64": [torch.float64],
              "both": [torch.float32, torch.float64]}[args.precision]
    Xb = X8 > args.threshold
    for dt in dtypes:
        X = torch.from_numpy(np.ascontiguousarray(Xb)).to(dt)
        pname = str(dt).split(".")[-1]
        times, cpu = [], []
        # warm-up: thread pool and code paths, outside the clock
        one_epoch(X, args.hidden, args.batch, args.lr, 2, args.seed, dt)
        for r in range(args.repeat):
            t, c, W, a, b = one_epoch(X, args.hidden, args.batch, args.lr, nb, args.seed + r, dt)
            times.append(t)
            cpu.append(c)
            print(f"  torch {pname}: {nb} steps {t:.3f} s", file=sys.stderr)
        rows = args.recon_rows if 0 < args.recon_rows < X.shape[0] else X.shape[0]
        err = recon_error(W.numpy(), a.numpy(), b.numpy(), Xb, rows)
        W0 = torch.randn(X.shape[1], args.hidden, generator=torch.Generator().manual_seed(
            args.seed + args.repeat - 1), dtype=torch.float64).mul_(0.01)
        err0 = recon_error(W0.numpy(), np.zeros(X.shape[1]), np.zeros(args.hidden), Xb, rows)
        print(f"  torch {pname}: reconstruction error {err:.5f} (at init {err0:.5f})",
              file=sys.stderr)
        if not err < err0:
            sys.exit("torch_rbm: reconstruction error did not decrease: the loop is broken")
        print(json.dumps({"name": "torch", "precision": pname, "batches": nb,
                          "seconds": min(times), "seconds_median": median(times),
                          "seconds_all": times, "cpu_seconds": min(cpu),
                          "cpu_seconds_median": median(cpu), "recon_error": err,
                          "recon_rows": rows, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
