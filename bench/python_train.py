#!/usr/bin/python3
"""librbm from Python against librbm from C and the Python peers, in one run.

The training benchmark of docs/performance.md: one epoch of Fashion-MNIST
(60000 x 784, binarised at 127 into {0,1}), N_h = 500, batch 100, PCD-1,
SGD with learning rate 0.01, W ~ N(0, 0.01^2), in float32 (or --precision
f64). Variants, each timed in its own fresh process, round-robin, --repeat
times; the table shows the best time of each:

  c          bench/bench_train (the C program of docs/performance.md): the
             loop of 600 rbm_trainer_step() calls
  py-step    librbm.Trainer from Python, one trainer.step() call per minibatch
             (600 Python -> C calls)
  py-epoch   librbm.Trainer.run_epochs(1): the whole epoch in one call
  dropin     librbm.sklearn.BernoulliRBM, the scikit-learn drop-in (same
             parameters as below; two C calls per minibatch)
  sklearn    sklearn.neural_network.BernoulliRBM(n_components=500,
             batch_size=100, learning_rate=0.01, n_iter=1).fit (Debian's
             python3-sklearn; bench/sklearn_rbm.py)
  torch      bench/torch_rbm.py: a tight PyTorch CPU loop of the same PCD-1
             (Debian's python3-torch); fails when torch is not installed

Only the training loop is timed (data loading and set-up are not). Ratios
are to the C time. Usage:

  bench/python_train.py [--repeat R] [--precision f32|f64] [--threads N] [--build DIR] [--json]

--threads N sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS (and torch's
thread count) to N in every measured process; with N = 1 the process CPU
times (second column group) are a measure that other load on the machine
barely disturbs (docs/performance.md, section A').

DIR (default build) holds lib/librbm.so and bench/bench_train
(nice ninja -C build bench/bench_train). Use /usr/bin/python3.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
VARIANTS = ["c", "py-step", "py-epoch", "dropin", "sklearn", "torch"]


def worker(variant, precision, data_path):
    """Run one measurement in this process; print one JSON line."""
    import numpy as np
    if variant in ("py-step", "py-epoch"):
        sys.path.insert(0, os.path.join(ROOT, "python"))
        import librbm
        ctx = librbm.Context()
        data = librbm.Dataset.load(data_path, ctx).binarize(127)
        m = librbm.Machine(data.cols, 500, context=ctx)
        m.init_normal(0.01, 1234)
        m.precision = "float32" if precision == "f32" else "float64"
        t = librbm.Trainer(m, data, 100, seed=1234, estimator="pcd", k=1, learning_rate=0.01,
                           monitor_every=0)
        t0, c0 = time.perf_counter(), time.process_time()
        if variant == "py-step":
            while t.step() != librbm.Status.DONE:
                pass
        else:
            t.run_epochs(1)
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        err = librbm.reconstruction_error(m, data.slice(0, 10000))
        return {"seconds": sec, "cpu_seconds": cpu, "steps": t.step_count, "recon_error": err}
    if variant == "dropin":
        sys.path.insert(0, os.path.join(ROOT, "python"))
        import librbm
        from librbm.sklearn import BernoulliRBM
        x = librbm.Dataset.load(data_path).binarize(127).to_numpy()
        x = x.astype(np.float32 if precision == "f32" else np.float64)
        rbm = BernoulliRBM(n_components=500, batch_size=100, learning_rate=0.01, n_iter=1,
                           random_state=1234)
        t0, c0 = time.perf_counter(), time.process_time()
        rbm.fit(x)
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        err = librbm.reconstruction_error(rbm.machine_, x[:10000])
        return {"seconds": sec, "cpu_seconds": cpu, "recon_error": err}
    raise SystemExit(f"unknown worker variant {variant}")


def measure(variant, args):
    env = dict(os.environ, LIBRBM_LIBRARY=os.path.join(args.build, "lib", "librbm.so"))
    if args.threads:
        env.update(OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    if variant == "c":
        cmd = [os.path.join(args.build, "bench", "bench_train"), "--data", DATA, "--what",
               "librbm", "--precision", args.precision]
    elif variant in ("sklearn", "torch"):
        cmd = ["/usr/bin/python3", os.path.join(ROOT, "bench", variant + "_rbm.py"),
               "--precision", args.precision]
        if variant == "torch" and args.threads:
            cmd += ["--threads", str(args.threads)]
    else:
        cmd = ["/usr/bin/python3", os.path.abspath(__file__), "--worker", variant, "--precision",
               args.precision]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    lines = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip().startswith("{")]
    if variant in ("c", "sklearn", "torch"):
        lines = [ln for ln in lines if ln.get("name", "librbm") in ("librbm", "sklearn", "torch")]
    return lines[-1] if lines else {"error": "no output"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--precision", choices=["f32", "f64"], default="f32")
    p.add_argument("--threads", type=int, default=0, help="0: the libraries' defaults")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--worker", choices=VARIANTS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.precision, DATA)))
        return
    runs = {v: [] for v in VARIANTS}
    cpus = {v: [] for v in VARIANTS}
    notes = {}
    for rep in range(args.repeat):
        for v in VARIANTS:
            res = measure(v, args)
            if "seconds" in res:
                runs[v].append(res["seconds"])
                if "cpu_seconds" in res:
                    cpus[v].append(res["cpu_seconds"])
                notes[v] = res
            else:
                notes.setdefault(v, res)
            print(f"  round {rep + 1}: {v}: {res.get('seconds', res)}", file=sys.stderr,
                  flush=True)
    best = {v: min(t) for v, t in runs.items() if t}
    best_cpu = {v: min(t) for v, t in cpus.items() if t}
    c = best.get("c")
    c_cpu = best_cpu.get("c")
    out = {"precision": args.precision, "repeat": args.repeat, "threads": args.threads,
           "best_seconds": best,
           "all_seconds": runs, "ratio_to_c": {v: t / c for v, t in best.items()} if c else {},
           "best_cpu_seconds": best_cpu, "all_cpu_seconds": cpus,
           "cpu_ratio_to_c": {v: t / c_cpu for v, t in best_cpu.items()} if c_cpu else {},
           "recon_error": {v: n.get("recon_error") for v, n in notes.items()},
           "notes": {v: n for v, n in notes.items() if "seconds" not in n},
           "nproc": os.cpu_count(), "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"one epoch, Fashion-MNIST, N_h 500, batch 100, PCD-1, {args.precision}, "
          f"best of {args.repeat}")
    print(f"{'variant':10} {'seconds':>8} {'/ C':>6} {'CPU s':>8} {'/ C':>6} {'recon. error':>13}")
    for v in VARIANTS:
        if v in best:
            ratio = f"{best[v] / c:6.2f}" if c else "     -"
            cs = best_cpu.get(v)
            cr = f"{cs / c_cpu:6.2f}" if cs and c_cpu else "     -"
            cs = f"{cs:8.3f}" if cs else "       -"
            err = out["recon_error"].get(v)
            print(f"{v:10} {best[v]:8.3f} {ratio} {cs} {cr} "
                  f"{err if err is None else round(err, 5):>13}")
        else:
            print(f"{v:10} {'-':>8}        {notes.get(v)}")


if __name__ == "__main__":
    main()
