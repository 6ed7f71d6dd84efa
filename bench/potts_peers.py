#!/usr/bin/python3
"""NumPy and PyTorch CPU loops of the Potts benchmark (bench/potts_run.py).

One epoch of PCD-1 of a Potts RBM (N sites x q states -> N_h Bernoulli
hidden units) on the alignment that bench_potts wrote (NPY of state
indices), with the algorithm of librbm's trainer: batch B, as many
persistent chains as the batch, SGD with learning rate lr, W ~ N(0, 0.01^2),
a = the site-frequency fields (pseudo-count 1e-3, zero sum), b = 0. Per
minibatch:

  ph  = s(b + x(V))                   hidden means of the data
  field = a + h_chain W^T             (B x N q), softmax per site,
  vn ~ p(v | h_chain)                 one uniform per site, inverse CDF
  phn = s(b + x(vn)),  h_chain ~ Bernoulli(phn)
  W  += lr/B (sigma(V)^T ph - sigma(vn)^T phn),  a, b likewise

with x(v) = sum_i W_{i v_i} the hidden field and sigma the one-hot
encoding. Two ways to write the one-hot parts, each in NumPy and PyTorch:
  dense   sigma(V) as a B x (N q) 0/1 matrix and matrix products (how a
          direct port of an RBM to categorical data is written, e.g. with
          one-hot tensors): x(V) = sigma(V) W and sigma(V)^T ph are
          N q N_h per row;
  gather  x(V) as a gather-sum of N rows of W, the statistics as
          scatter-adds into those rows (N N_h per row, what librbm does;
          in NumPy as products with SciPy's sparse one-hot matrices).
The visible field h W^T is a dense product in both. Only the loop is
timed. Prints one JSON object per measurement (name numpy-dense,
numpy-gather, torch-dense or torch-gather) on stdout; the free-energy gap
of bench_potts (data rows against site-shuffled rows) before and after must
grow, or the script fails.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def site_fields(X, q, lam=1e-3):
    n, N = X.shape
    f = np.zeros((N, q))
    for c in range(q):
        f[:, c] = (X == c).sum(0)
    f = (1 - lam) * f / n + lam / q
    la = np.log(f)
    return (la - la.mean(1, keepdims=True)).reshape(-1)


def free_energy_gap(W, a, b, X, q, rows):
    """<F(shuffled)> - <F(data)> as in bench_potts.c (in float64)."""
    W, a, b = (np.asarray(t, dtype=np.float64) for t in (W, a, b))
    X = X[:rows].astype(np.int64)
    N = X.shape[1]
    src = (np.arange(rows)[:, None] + 1 + 37 * np.arange(N)[None, :]) % rows
    Xs = X[src, np.arange(N)[None, :]]
    idx = np.arange(N) * q

    def F(V):
        x = W[V + idx].sum(1) + b
        return -a[V + idx].sum(1) - np.logaddexp(0, x).sum(1)

    return float(F(Xs).mean() - F(X).mean())


def onehot_csr(rows, nq, dt):
    """The B x nq one-hot matrix of B rows of N active indices, as CSR."""
    import scipy.sparse
    B, N = rows.shape
    return scipy.sparse.csr_matrix((np.ones(B * N, dtype=dt), rows.reshape(-1),
                                    np.arange(0, B * N + 1, N)), shape=(B, nq))


def numpy_epoch(X, q, nh, bs, lr, nb, seed, dt, dense):
    rng = np.random.default_rng(seed)
    rows, N = X.shape
    nq = N * q
    W = (0.01 * rng.standard_normal((nq, nh))).astype(dt)
    a = site_fields(X, q).astype(dt)
    b = np.zeros(nh, dtype=dt)
    idx = np.arange(N) * q
    hc = (rng.random((bs, nh)) < 0.5).astype(dt)
    perm = rng.permutation(rows)
    eye = np.eye(q, dtype=dt)
    W0, a0 = W.copy(), a.copy()
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(nb):
        V = X[perm[k * bs:(k + 1) * bs]]
        n = V.shape[0]
        if dense:
            S = eye[V].reshape(n, nq)
            ph = 1 / (1 + np.exp(-(S @ W + b)))
        else:
            rows_d = V + idx
            ph = 1 / (1 + np.exp(-(W[rows_d].sum(1) + b)))
        f = (hc @ W.T + a).reshape(bs, N, q)
        p = np.exp(f - f.max(2, keepdims=True))
        cum = np.cumsum(p, 2)
        u = rng.random((bs, N, 1), dtype=dt) * cum[:, :, -1:]
        vn = np.minimum((cum < u).sum(2), q - 1)
        if dense:
            Sn = eye[vn].reshape(bs, nq)
            phn = 1 / (1 + np.exp(-(Sn @ W + b)))
            W += (lr / n) * (S.T @ ph) - (lr / bs) * (Sn.T @ phn)
            a += (lr / n) * S.sum(0) - (lr / bs) * Sn.sum(0)
        else:
            rows_n = vn + idx
            phn = 1 / (1 + np.exp(-(W[rows_n].sum(1) + b)))
            # the scatter-adds as products with a sparse one-hot matrix (SciPy's
            # CSR kernels: N N_h per row; np.add.at is far slower)
            Sd = onehot_csr(rows_d, nq, dt)
            Sn = onehot_csr(rows_n, nq, dt)
            W += (lr / n) * (Sd.T @ ph) - (lr / bs) * (Sn.T @ phn)
            a += (lr / n) * np.bincount(rows_d.reshape(-1), minlength=nq) \
                - (lr / bs) * np.bincount(rows_n.reshape(-1), minlength=nq)
        hc = (rng.random((bs, nh), dtype=dt) < phn).astype(dt)
        b += (lr / n) * ph.sum(0) - (lr / bs) * phn.sum(0)
    return time.perf_counter() - t0, time.process_time() - c0, (W0, a0), (W, a, b)


def torch_epoch(X, q, nh, bs, lr, nb, seed, dt, dense):
    import torch
    gen = torch.Generator().manual_seed(seed)
    rows, N = X.shape
    nq = N * q
    Xt = torch.from_numpy(X.astype(np.int64))
    W = torch.randn(nq, nh, generator=gen, dtype=dt).mul_(0.01)
    a = torch.from_numpy(site_fields(X, q)).to(dt)
    b = torch.zeros(nh, dtype=dt)
    idx = torch.arange(N) * q
    hc = torch.bernoulli(torch.full((bs, nh), 0.5, dtype=dt), generator=gen)
    perm = torch.randperm(rows, generator=gen)
    W0, a0 = W.clone(), a.clone()
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for k in range(nb):
            V = Xt[perm[k * bs:(k + 1) * bs]]
            n = V.shape[0]
            rows_d = (V + idx).reshape(-1)
            if dense:
                S = torch.zeros(n, nq, dtype=dt)
                S.view(-1).index_fill_(0, rows_d + torch.arange(n).repeat_interleave(N) * nq, 1)
                ph = torch.sigmoid(torch.addmm(b, S, W))
            else:
                ph = torch.sigmoid(W.index_select(0, rows_d).view(n, N, nh).sum(1) + b)
            f = torch.addmm(a, hc, W.t()).view(bs, N, q)
            p = torch.exp(f - f.amax(2, keepdim=True))
            cum = torch.cumsum(p, 2)
            u = torch.rand(bs, N, 1, generator=gen, dtype=dt) * cum[:, :, -1:]
            vn = (cum < u).sum(2).clamp_(max=q - 1)
            rows_n = (vn + idx).reshape(-1)
            if dense:
                Sn = torch.zeros(bs, nq, dtype=dt)
                Sn.view(-1).index_fill_(0, rows_n + torch.arange(bs).repeat_interleave(N) * nq, 1)
                phn = torch.sigmoid(torch.addmm(b, Sn, W))
                W.addmm_(S.t(), ph, alpha=lr / n)
                W.addmm_(Sn.t(), phn, alpha=-lr / bs)
                a.add_(S.sum(0), alpha=lr / n).sub_(Sn.sum(0), alpha=lr / bs)
            else:
                phn = torch.sigmoid(W.index_select(0, rows_n).view(bs, N, nh).sum(1) + b)
                W.index_add_(0, rows_d, ph.repeat_interleave(N, 0), alpha=lr / n)
                W.index_add_(0, rows_n, phn.repeat_interleave(N, 0), alpha=-lr / bs)
                a.index_add_(0, rows_d, torch.full((n * N,), lr / n, dtype=dt))
                a.index_add_(0, rows_n, torch.full((bs * N,), -lr / bs, dtype=dt))
            hc = torch.bernoulli(phn, generator=gen)
            b.add_(ph.sum(0), alpha=lr / n).sub_(phn.sum(0), alpha=lr / bs)
    return (time.perf_counter() - t0, time.process_time() - c0, (W0.numpy(), a0.numpy()),
            (W.numpy(), a.numpy(), b.numpy()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="NPY of state indices (bench_potts)")
    ap.add_argument("--states", type=int, default=21)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batches", type=int, default=0, help="0: one epoch")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", choices=["f32", "f64", "both"], default="both")
    ap.add_argument("--what", default="numpy-dense,numpy-gather,torch-dense,torch-gather")
    args = ap.parse_args()

    X = np.load(args.data).astype(np.uint8)
    q = args.states
    per_epoch = -(-X.shape[0] // args.batch)
    nb = args.batches if 0 < args.batches < per_epoch else per_epoch
    gap_rows = min(2000, X.shape[0])
    names = [w.strip() for w in args.what.split(",") if w.strip()]
    if any(n.startswith("torch") for n in names):
        try:
            import torch
        except ImportError:
            print("potts_peers: no torch (Debian: python3-torch): no torch rows", file=sys.stderr)
            names = [n for n in names if not n.startswith("torch")]
    if any(n.startswith("torch") for n in names):
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        print(json.dumps({"name": "torch-info", "torch": torch.__version__,
                          "threads": torch.get_num_threads()}), flush=True)
    print(json.dumps({"name": "numpy-info", "numpy": np.__version__}), flush=True)
    precs = {"f32": ["float32"], "f64": ["float64"], "both": ["float32", "float64"]}
    for pname in precs[args.precision]:
        for name in names:
            lib, kind = name.split("-")
            dense = kind == "dense"
            if lib == "torch":
                import torch
                dt = getattr(torch, pname)
                run = torch_epoch
            else:
                dt = np.dtype(pname)
                run = numpy_epoch
            run(X, q, args.hidden, args.batch, args.lr, 2, args.seed, dt, dense)  # warm-up
            times, cpus = [], []
            for r in range(args.repeat):
                t, c, init, final = run(X, q, args.hidden, args.batch, args.lr, nb,
                                        args.seed + r, dt, dense)
                times.append(t)
                cpus.append(c)
                print(f"  {name} {pname}: {nb} steps {t:.3f} s wall, {c:.3f} s CPU",
                      file=sys.stderr)
            g0 = free_energy_gap(init[0], init[1], np.zeros(args.hidden), X, q, gap_rows)
            g1 = free_energy_gap(*final, X, q, gap_rows)
            print(f"  {name} {pname}: free-energy gap {g1:.5f} (at init {g0:.5f})",
                  file=sys.stderr)
            if not g1 > g0:
                sys.exit(f"potts_peers: {name}: the free-energy gap did not grow: broken loop")
            times.sort()
            cpus.sort()
            print(json.dumps({"name": name, "precision": pname, "batches": nb,
                              "seconds": times[0], "seconds_median": times[len(times) // 2],
                              "cpu_seconds": cpus[0],
                              "cpu_seconds_median": cpus[len(cpus) // 2],
                              "gap": g1, "gap_init": g0}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
