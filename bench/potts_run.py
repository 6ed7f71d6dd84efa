#!/usr/bin/python3
"""Potts benchmark: one PCD-1 epoch on a 10^4 x 100-site alignment, librbm
against NumPy and PyTorch loops, in one run.

The alignment: 10000 sequences of 100 sites, q = 21, sampled from a planted
Potts RBM by bench_potts (rbm_machine_new_planted_potts +
rbm_sampler_draw_dataset) and written to an NPY file that every program
reads. The problem: N_h = 200 Bernoulli hidden units, batch 100, PCD-1,
SGD with learning rate 0.01, one epoch (100 minibatches). Rows:
  librbm        bench/bench_potts.c (the trainer, public API)
  bound         the visible-field GEMM of the chains alone (bench_potts.c):
                the one dense product a one-hot step keeps
  numpy-dense   bench/potts_peers.py: one-hot matrices and products
  numpy-gather  the same with gathers and sparse scatter-adds
  torch-dense   PyTorch, one-hot matrices
  torch-gather  PyTorch, index_select / index_add_
each in float32 and float64, for each configuration:
  1    one thread everywhere, process CPU time (robust to other load)
  all  every CPU, wall time.
Each measurement runs in its own process; the table shows the best of
--repeat runs (see bench/run.py for the idle-machine logic it shares).

Usage: bench/potts_run.py [--repeat R] [--configs 1,all] [--batches N]
                          [--bench-exe PATH] [--markdown] [--json]
--batches N runs N minibatches instead of the epoch (the smoke test
bench_potts_smoke does). Builds build-bench/ (meson, release) unless
--bench-exe is given. Exit status 0, 1 when a row is missing.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import (BUILD, PY, ROOT, configurations, fmt, log, machine_info,  # noqa: E402
                 print_cells, ratio, run_child, wait_idle)

PEERS = ("numpy-dense", "numpy-gather", "torch-dense", "torch-gather")
PROGRAMS = ("librbm", "bound") + PEERS


def build():
    if not os.path.isdir(os.path.join(BUILD, "meson-info")):
        r = subprocess.run(["meson", "setup", BUILD, "--buildtype=release", "-Dtests=false",
                            "-Dtools=false"], cwd=ROOT, stdout=sys.stderr)
        if r.returncode != 0:
            sys.exit("potts_run: meson setup failed")
    r = subprocess.run(["ninja", "-C", BUILD, "bench/bench_potts"], cwd=ROOT, stdout=sys.stderr)
    exe = os.path.join(BUILD, "bench", "bench_potts")
    if r.returncode != 0 or not os.path.exists(exe):
        sys.exit("potts_run: bench_potts did not build")
    return exe


def jobs(exe, data, args, threads):
    smoke = ["--batches", str(args.batches)] if args.batches else []
    out = []
    for prec, p in (("float32", "f32"), ("float64", "f64")):
        for what in ("librbm", "bound"):
            out.append(([what], prec, [exe, "--data", data, "--what", what, "--precision", p,
                                       "--threads", str(threads), "--repeat", "1"] + smoke))
        if os.path.exists(PY):
            out.append((list(PEERS), prec,
                        [PY, os.path.join(ROOT, "bench", "potts_peers.py"), "--data", data,
                         "--precision", p, "--threads", str(threads)] + smoke))
    return out


def measure(job_list, env, args, tkey, info):
    best = {}
    for _ in range(args.repeat):
        for names, prec, cmd in job_list:
            if args.wait_idle > 0:
                wait_idle(args.wait_idle, args.max_other)
            rc, recs, others = run_child(cmd, env)
            for x in recs:
                if x.get("name") in ("torch-info", "numpy-info"):
                    info.setdefault(x["name"], x)
            if rc != 0:
                log(f"potts_run: {' '.join(names)} {prec} failed (exit {rc})")
            for x in recs:
                if x.get("name") in names and x.get("precision") == prec:
                    key = (x["name"], prec)
                    t = x[tkey]
                    log(f"potts_run: {x['name']:12s} {prec}: {x['seconds']:.3f} s wall, "
                        f"{x['cpu_seconds']:.3f} s CPU"
                        + (f" (others used {others:.2f} CPUs)" if others > args.max_other
                           else ""))
                    if key not in best or t < best[key][0]:
                        best[key] = (t, others > args.max_other, x)
    return best


def table(best, threads, tkey, args):
    head = ["precision"] + [f"{n} (s)" for n in PROGRAMS] + \
           ["librbm / bound"] + [f"{n} / librbm" for n in PEERS]
    rows, recs = [], []
    for prec in ("float32", "float64"):
        t = {n: best.get((n, prec), (None, False, None)) for n in PROGRAMS}
        cells = [prec] + [fmt(t[n][0], ".3f") + ("*" if t[n][1] else "") for n in PROGRAMS]
        cells.append(fmt(ratio(t["librbm"][0], t["bound"][0])))
        cells += [fmt(ratio(t[n][0], t["librbm"][0])) for n in PEERS]
        rows.append(cells)
        recs.append({"precision": prec, "threads": threads, "time": tkey,
                     **{n: t[n][0] for n in PROGRAMS},
                     **{f"{n}_over_librbm": ratio(t[n][0], t["librbm"][0]) for n in PEERS}})
    print(f"\n{threads} thread(s); " + ("process CPU time" if tkey == "cpu_seconds"
                                       else "wall time"))
    print_cells(head, rows, args.markdown)
    if any(v[1] for v in best.values()):
        print(f"* other processes used more than {args.max_other} CPUs during the best run")
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--configs", default="1,all")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cpu-time", action="store_true")
    ap.add_argument("--batches", type=int, default=0)
    ap.add_argument("--wait-idle", type=float, default=0)
    ap.add_argument("--max-other", type=float, default=0.15)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bench-exe")
    ap.add_argument("--rows", type=int, default=10000)
    args = ap.parse_args()

    exe = os.path.abspath(args.bench_exe) if args.bench_exe else build()
    info = machine_info()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "planted.npy")
        r = subprocess.run([exe, "--what", "none", "--rows", str(args.rows), "--write-data",
                            data], cwd=ROOT, stdout=sys.stderr)
        if r.returncode != 0:
            sys.exit("potts_run: bench_potts could not write the alignment")
        epoch = f"{args.batches} minibatches" if args.batches else "one epoch"
        print(f"Potts PCD-1, {epoch}: planted alignment {args.rows} x 100, q = 21, "
              f"N_h = 200, batch 100, lr 0.01; best of {args.repeat}")
        print(f"Machine: {info['nproc']} CPUs, {info['cpu']}; "
              f"{info.get('openblas_package', 'OpenBLAS version unknown')}"
              + (f"; librbm {info['librbm_source']}" if "librbm_source" in info else ""))
        recs = []
        for threads, tkey in configurations(args, info["nproc"] or 1):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads),
                       OMP_NUM_THREADS=str(threads))
            best = measure(jobs(exe, data, args, threads), env, args, tkey, info)
            recs += table(best, threads, tkey, args)
    peers = [f"numpy {info['numpy-info']['numpy']}"] if "numpy-info" in info else []
    if "torch-info" in info:
        peers.append(f"torch {info['torch-info']['torch']}")
    if peers:
        print("Peers: " + ", ".join(peers))
    if args.json:
        print(json.dumps({"machine": info, "rows": recs}, indent=1))
    need = ("librbm", "bound") + (PEERS[:2] if os.path.exists(PY) else ()) + \
        (PEERS[2:] if "torch-info" in info else ())
    return 1 if any(r[n] is None for r in recs for n in need) else 0


if __name__ == "__main__":
    sys.exit(main())
