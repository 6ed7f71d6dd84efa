#!/usr/bin/python3
"""librbm training benchmark: one command, one run, one table.

Trains one epoch of Fashion-MNIST (60000 x 784, binarised at 127 into {0,1},
N_h = 500, batch 100, PCD-1, learning rate 0.01) with
  * librbm in float32 and float64       (bench/bench_train.c, public API),
  * scikit-learn's BernoulliRBM, both   (bench/sklearn_rbm.py, Debian's
    python3-sklearn),
  * the same five CBLAS GEMMs per minibatch alone, sgemm and dgemm (the
    bound, also in bench_train.c),
and prints a table of times (best of --repeat runs) and ratios.

Usage: bench/run.sh [--repeat R] [--json] [--markdown] [--wait-idle S]
Builds librbm and bench_train in build-bench/ (meson, release) when needed.
If librbm does not build, the GEMM bound is compiled by hand and the librbm
rows are reported as missing.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-bench")
PY = "/usr/bin/python3"  # Debian's python, where python3-sklearn lives


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
            out.append(json.loads(line))
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


def children_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wait_idle(max_wait, ncpu):
    """Wait (at most max_wait s) until other processes use < 0.1 CPU for 3 s."""
    t_end = time.monotonic() + max_wait
    while True:
        b0 = cpu_busy_seconds()
        time.sleep(3)
        busy = (cpu_busy_seconds() - b0) / 3
        if busy < 0.1 or time.monotonic() >= t_end:
            return busy
        log(f"run: machine busy ({busy:.1f} of {ncpu} CPUs in use by others); waiting")


def fmt(x, spec=".2f", missing="—"):
    return missing if x is None else format(x, spec)


def ratio(a, b):
    return a / b if (a is not None and b) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is shown)")
    ap.add_argument("--json", action="store_true", help="also print all results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--wait-idle", type=float, default=120,
                    help="wait up to this many seconds for an idle machine first (0: no)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    args = ap.parse_args()

    exe, with_librbm = build()
    info = machine_info()
    log(f"run: {info['nproc']} CPUs, {info['cpu']}, {info.get('openblas_package', 'OpenBLAS ?')}")
    if info["openblas_env"]:
        log(f"run: environment {info['openblas_env']} (left as it is)")
    if args.wait_idle > 0:
        info["others_busy_cpus_before"] = round(wait_idle(args.wait_idle, info["nproc"]), 2)
    busy0, own0, wall0 = cpu_busy_seconds(), children_cpu_seconds(), time.monotonic()

    results = []
    r = sh([exe, "--data", args.data, "--repeat", str(args.repeat)]
           + ([] if with_librbm else ["--what", "gemm"]),
           stdout=subprocess.PIPE, text=True)
    results += json_lines(r.stdout)
    if r.returncode != 0:
        log(f"run: {os.path.basename(exe)} failed (exit {r.returncode})")

    if os.path.exists(PY):
        r = sh([PY, os.path.join("bench", "sklearn_rbm.py"), "--data", args.data,
                "--repeat", str(args.repeat)], stdout=subprocess.PIPE, text=True)
        results += json_lines(r.stdout)
        if r.returncode != 0:
            log("run: sklearn_rbm.py failed (apt-get install python3-sklearn)")
    else:
        log(f"run: {PY} not found; no sklearn rows")
    wall = time.monotonic() - wall0
    others = (cpu_busy_seconds() - busy0 - (children_cpu_seconds() - own0)) / wall
    info["others_busy_cpus_during"] = round(max(others, 0.0), 2)

    def get(name, prec):
        for x in results:
            if x.get("name") == name and x.get("precision") == prec:
                return x
        return None

    sk_info = next((x for x in results if x.get("name") == "sklearn-info"), None)
    if sk_info:
        blas = [b for b in (sk_info.get("blas") or []) if b.get("internal_api") == "openblas"]
        if blas:
            info["openblas_numpy"] = (f"{blas[0]['version']} ({blas[0]['architecture']} kernel, "
                                      f"{blas[0]['num_threads']} threads)")

    rows = []
    for prec in ("float32", "float64"):
        lib, sk, gm = get("librbm", prec), get("sklearn", prec), get("gemm", prec)
        t_lib = lib["seconds"] if lib else None
        t_sk = sk["seconds"] if sk else None
        t_gm = gm["seconds"] if gm else None
        rows.append({
            "precision": prec, "librbm": t_lib, "sklearn": t_sk, "gemm_bound": t_gm,
            "librbm_over_bound": ratio(t_lib, t_gm), "sklearn_over_librbm": ratio(t_sk, t_lib),
            "sklearn_over_bound": ratio(t_sk, t_gm),
            "librbm_median": lib["seconds_median"] if lib else None,
            "sklearn_median": sk["seconds_median"] if sk else None,
            "gemm_median": gm["seconds_median"] if gm else None,
            "recon_librbm": lib["recon_error"] if lib else None,
            "recon_librbm_init": lib["recon_error_init"] if lib else None,
            "recon_sklearn": sk["recon_error"] if sk else None,
            "gemm_gflops": gm["gflops"] if gm else None,
        })

    head = ["precision", "librbm (s)", "sklearn (s)", "GEMM bound (s)", "librbm / bound",
            "sklearn / librbm", "sklearn / bound", "recon err librbm", "recon err sklearn"]
    table = [[r["precision"], fmt(r["librbm"]), fmt(r["sklearn"]), fmt(r["gemm_bound"]),
              fmt(r["librbm_over_bound"]), fmt(r["sklearn_over_librbm"]),
              fmt(r["sklearn_over_bound"]), fmt(r["recon_librbm"], ".4f"),
              fmt(r["recon_sklearn"], ".4f")] for r in rows]

    print(f"One epoch of Fashion-MNIST 60000 x 784 (binarised at 127), N_h = 500, batch 100, "
          f"PCD-1, lr 0.01; best of {args.repeat} run(s)")
    print(f"Machine: {info['nproc']} CPUs, {info['cpu']}; "
          f"{info.get('openblas_package', 'OpenBLAS version unknown')}"
          + (f"; numpy's OpenBLAS {info['openblas_numpy']}" if "openblas_numpy" in info else ""))
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
    init = next((r["recon_librbm_init"] for r in rows if r["recon_librbm_init"] is not None), None)
    if init is not None:
        print(f"reconstruction error at initialisation: {init:.4f} "
              "(mean-field, all 60000 rows; lower after the epoch = the trainer learns)")
    print(f"other processes used {info['others_busy_cpus_during']:.2f} of {info['nproc']} CPUs "
          "on average during the run" + ("  ** timings disturbed **"
                                         if info["others_busy_cpus_during"] > 0.2 else ""))
    if not with_librbm:
        print("librbm rows missing: the library did not build")
    if args.json:
        print(json.dumps({"machine": info, "rows": rows, "raw": results}, indent=1))
    missing = any(r[k] is None for r in rows for k in ("librbm", "sklearn", "gemm_bound"))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
