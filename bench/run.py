#!/usr/bin/python3
"""librbm training benchmark: one command, one run, one table.

Trains one epoch of Fashion-MNIST (60000 x 784, binarised at 127 into {0,1},
N_h = 500, batch 100, PCD-1, learning rate 0.01) with
  * librbm in float32 and float64       (bench/bench_train.c, public API),
  * scikit-learn's BernoulliRBM, both   (bench/sklearn_rbm.py, Debian's
    python3-sklearn),
  * the same five CBLAS GEMMs per minibatch alone, sgemm and dgemm (the
    bound, also in bench_train.c),
and prints a table of times and ratios.

Each measurement runs in its own process, round-robin over the six
(program, precision) pairs, --repeat times. Before each one the script waits
(up to --wait-idle s) for the machine to be idle, and it measures how much
CPU other processes used while it ran; a measurement during which others
used more than --max-other CPUs is "disturbed" and is retried (up to
--retries times per pair). The table shows the best undisturbed time of
each pair (or the best disturbed one, flagged with *, if there is none).

Usage: bench/run.sh [--repeat R] [--json] [--markdown] [--wait-idle S]
Builds librbm and bench_train in build-bench/ (meson, release) when needed.
If librbm does not build, the GEMM bound is compiled by hand and the librbm
rows are reported as missing.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-bench")
PY = "/usr/bin/python3"  # Debian's python, where python3-sklearn lives
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, **kw)


def build():
    """Return (path of the benchmark program, whether it includes librbm)."""
    if not os.path.isdir(os.path.join(BUILD, "meson-info")):
        # tests and tools are not needed here: fewer files that can break setup
        r = sh(["meson", "setup", BUILD, "--buildtype=release", "-Dtests=false",
                "-Dtools=false"], stdout=sys.stderr)
        if r.returncode != 0:
            log("run: meson setup failed")
    if os.path.isdir(os.path.join(BUILD, "meson-info")):
        r = sh(["ninja", "-C", BUILD, "bench/bench_train"], stdout=sys.stderr)
        exe = os.path.join(BUILD, "bench", "bench_train")
        if r.returncode == 0 and os.path.exists(exe):
            return exe, True
    log("run: librbm/bench_train did not build; timing the GEMM bound only")
    os.makedirs(BUILD, exist_ok=True)
    exe = os.path.join(BUILD, "bench_gemm_only")
    cc = os.environ.get("CC", "cc")
    r = sh([cc, "-O2", "-std=c11", "-DBENCH_GEMM_ONLY", "bench/bench_train.c", "-o", exe,
            "-lopenblas", "-lm"], stdout=sys.stderr)
    if r.returncode != 0:
        sys.exit("run: cannot compile the GEMM bound either")
    return exe, False


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def machine_info():
    info = {"nproc": os.cpu_count(), "cpu": None, "kernel": platform.release(),
            "openblas_env": {k: os.environ[k] for k in
                             ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                              "OMP_NUM_THREADS") if k in os.environ}}
    try:
        r = subprocess.run(["nproc"], capture_output=True, text=True)
        info["nproc"] = int(r.stdout.strip())
    except (OSError, ValueError):
        pass
    r = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        info["librbm_source"] = r.stdout.strip()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if shutil.which("dpkg-query"):
        for pkg in ("libopenblas0-pthread", "libopenblas0-openmp", "libopenblas0-serial"):
            r = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", pkg],
                               capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.startswith("install ok installed"):
                info["openblas_package"] = f"{pkg} {r.stdout.split()[-1]}"
                break
    return info


def cpu_busy_seconds():
    """Busy CPU-seconds of the whole machine so far (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / hz


def wait_idle(max_wait, threshold):
    """Wait (at most max_wait s) until other processes use < threshold CPUs for 2 s.
    Returns the CPUs in use in the last window."""
    t_end = time.monotonic() + max_wait
    said = False
    while True:
        b0 = cpu_busy_seconds()
        time.sleep(2)
        busy = (cpu_busy_seconds() - b0) / 2
        if busy < threshold or time.monotonic() >= t_end:
            return busy
        if not said:
            log(f"run: machine busy ({busy:.1f} CPUs in use by others); waiting")
            said = True


def run_child(cmd, env=None):
    b0, t0 = cpu_busy_seconds(), time.monotonic()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    own = ru.ru_utime + ru.ru_stime
    others = max(0.0, (cpu_busy_seconds() - b0 - own) / wall) if wall > 0 else 0.0
    return p.returncode, json_lines(out), others


def fmt(x, spec=".2f", missing="—"):
    return missing if x is None else format(x, spec)


def ratio(a, b):
    return a / b if (a is not None and b) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="undisturbed runs per measurement")
    ap.add_argument("--retries", type=int, default=4,
                    help="extra runs allowed per measurement when disturbed")
    ap.add_argument("--wait-idle", type=float, default=60,
                    help="wait up to this many seconds for an idle machine before each run")
    ap.add_argument("--max-other", type=float, default=0.15,
                    help="CPUs other processes may use during a run before it is disturbed")
    ap.add_argument("--threads", type=int, default=0,
                    help="BLAS threads for every program (OPENBLAS_NUM_THREADS; 0: default)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="tabulate process CPU time (user + system) instead of wall time; "
                         "meaningful with --threads 1 on a loaded machine")
    ap.add_argument("--json", action="store_true", help="also print all results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--data", default=DATA)
    args = ap.parse_args()

    exe, with_librbm = build()
    info = machine_info()
    log(f"run: {info['nproc']} CPUs, {info['cpu']}, {info.get('openblas_package', 'OpenBLAS ?')}")
    if info["openblas_env"]:
        log(f"run: environment {info['openblas_env']} (left as it is)")

    env = None
    if args.threads > 0:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
        info["blas_threads"] = args.threads
    tkey = "cpu_seconds" if args.cpu_time else "seconds"
    jobs = []
    for prec, p in (("float32", "f32"), ("float64", "f64")):
        if with_librbm:
            jobs.append(("librbm", prec, [exe, "--data", args.data, "--what", "librbm",
                                          "--precision", p]))
        jobs.append(("gemm", prec, [exe, "--data", args.data, "--what", "gemm",
                                    "--precision", p]))
        if os.path.exists(PY):
            jobs.append(("sklearn", prec, [PY, os.path.join("bench", "sklearn_rbm.py"),
                                           "--data", args.data, "--precision", p]))
    if not os.path.exists(PY):
        log(f"run: {PY} not found; no sklearn rows")

    runs = {(n, pr): [] for n, pr, _ in jobs}  # list of (seconds, others, record)
    failed = set()
    sk_info = None

    def wanted(key):
        clean = sum(1 for r in runs[key] if r[1] <= args.max_other)
        return (key not in failed and clean < args.repeat
                and len(runs[key]) < args.repeat + args.retries)

    while True:
        todo = [j for j in jobs if wanted(j[:2])]
        if not todo:
            break
        for name, prec, cmd in todo:
            key = (name, prec)
            if args.wait_idle > 0:
                wait_idle(args.wait_idle, args.max_other)
            rc, recs, others = run_child(cmd, env)
            rec = next((x for x in recs if x.get("name") == name
                        and x.get("precision") == prec), None)
            if name == "sklearn" and sk_info is None:
                sk_info = next((x for x in recs if x.get("name") == "sklearn-info"), None)
            if rc != 0 or rec is None:
                log(f"run: {name} {prec} failed (exit {rc})")
                failed.add(key)
                continue
            disturbed = others > args.max_other
            runs[key].append((rec[tkey], others, rec))
            log(f"run: {name:7s} {prec}: {rec['seconds']:.3f} s wall, {rec['cpu_seconds']:.3f} s CPU"
                + (f"  (others used {others:.2f} CPUs: disturbed)" if disturbed else ""))

    def best(name, prec):
        rs = runs.get((name, prec)) or []
        if not rs:
            return None, None, True, None
        clean = [r for r in rs if r[1] <= args.max_other]
        pool = clean or rs
        r = min(pool, key=lambda x: x[0])
        secs = sorted(x[0] for x in pool)
        med = secs[len(secs) // 2] if len(secs) % 2 else 0.5 * (
            secs[len(secs) // 2 - 1] + secs[len(secs) // 2])
        return r[0], med, not clean, r[2]

    if sk_info:
        blas = [b for b in (sk_info.get("blas") or []) if b.get("internal_api") == "openblas"]
        if blas:
            info["openblas_numpy"] = (f"{blas[0]['version']} ({blas[0]['architecture']} kernel, "
                                      f"{blas[0]['num_threads']} threads)")

    rows = []
    for prec in ("float32", "float64"):
        t_lib, m_lib, d_lib, lib = best("librbm", prec)
        t_sk, m_sk, d_sk, sk = best("sklearn", prec)
        t_gm, m_gm, d_gm, gm = best("gemm", prec)
        rows.append({
            "precision": prec, "librbm": t_lib, "sklearn": t_sk, "gemm_bound": t_gm,
            "librbm_over_bound": ratio(t_lib, t_gm), "sklearn_over_librbm": ratio(t_sk, t_lib),
            "sklearn_over_bound": ratio(t_sk, t_gm),
            "librbm_median": m_lib, "sklearn_median": m_sk, "gemm_median": m_gm,
            "disturbed": {"librbm": d_lib, "sklearn": d_sk, "gemm": d_gm},
            "recon_librbm": lib["recon_error"] if lib else None,
            "recon_librbm_init": lib["recon_error_init"] if lib else None,
            "recon_rows": lib["recon_rows"] if lib else None,
            "recon_sklearn": sk["recon_error"] if sk else None,
            "gemm_gflops": gm["gflops"] if gm else None,
        })

    def tcell(r, key, name):
        v = fmt(r[key])
        return v + ("*" if r[key] is not None and r["disturbed"][name] else "")

    head = ["precision", "librbm (s)", "sklearn (s)", "GEMM bound (s)", "librbm / bound",
            "sklearn / librbm", "sklearn / bound", "recon err librbm", "recon err sklearn"]
    table = [[r["precision"], tcell(r, "librbm", "librbm"), tcell(r, "sklearn", "sklearn"),
              tcell(r, "gemm_bound", "gemm"), fmt(r["librbm_over_bound"]),
              fmt(r["sklearn_over_librbm"]), fmt(r["sklearn_over_bound"]),
              fmt(r["recon_librbm"], ".4f"), fmt(r["recon_sklearn"], ".4f")] for r in rows]

    print(f"One epoch of Fashion-MNIST 60000 x 784 (binarised at 127), N_h = 500, batch 100, "
          f"PCD-1, lr 0.01; best of {args.repeat} undisturbed run(s); "
          + ("process CPU time" if args.cpu_time else "wall time")
          + (f"; {args.threads} BLAS thread(s)" if args.threads > 0 else "; default BLAS threads"))
    print(f"Machine: {info['nproc']} CPUs, {info['cpu']}; "
          f"{info.get('openblas_package', 'OpenBLAS version unknown')}"
          + (f"; numpy's OpenBLAS {info['openblas_numpy']}" if "openblas_numpy" in info else "")
          + (f"; librbm {info['librbm_source']}" if "librbm_source" in info else ""))
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for t in table:
            print("| " + " | ".join(t) + " |")
    else:
        w = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
        print("  ".join(h.rjust(w[i]) for i, h in enumerate(head)))
        for t in table:
            print("  ".join(c.rjust(w[i]) for i, c in enumerate(t)))
    print("medians (s): " + "; ".join(
        f"{r['precision']}: librbm {fmt(r['librbm_median'])}, sklearn {fmt(r['sklearn_median'])}, "
        f"GEMM {fmt(r['gemm_median'])}" for r in rows))
    init = next((r for r in rows if r["recon_librbm_init"] is not None), None)
    if init is not None:
        print(f"reconstruction error at initialisation: {init['recon_librbm_init']:.4f} "
              f"(mean-field, first {init['recon_rows']} rows; lower after the epoch = "
              "the trainer learns)")
    if any(any(r["disturbed"].values()) for r in rows):
        print(f"* no run without other load (> {args.max_other} CPUs used by other "
              "processes): timing disturbed")
    if not with_librbm:
        print("librbm rows missing: the library did not build")
    if args.json:
        print(json.dumps({"machine": info, "rows": rows,
                          "runs": {f"{k[0]} {k[1]}": [{"seconds": s, "others_cpus": round(o, 3)}
                                                      for s, o, _ in v]
                                   for k, v in runs.items()}}, indent=1))
    missing = any(r[k] is None for r in rows for k in ("librbm", "sklearn", "gemm_bound"))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
