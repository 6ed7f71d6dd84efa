#!/usr/bin/python3
"""librbm training benchmark: one command, one run, one table per configuration.

Trains one epoch of Fashion-MNIST (60000 x 784, binarised at 127 into {0,1},
N_h = 500, batch 100, PCD-1, learning rate 0.01) with
  * librbm in float32 and float64       (bench/bench_train.c, public API),
  * a tight PyTorch CPU loop, both      (bench/torch_rbm.py, Debian's
    python3-torch),
  * scikit-learn's BernoulliRBM, both   (bench/sklearn_rbm.py, Debian's
    python3-sklearn),
  * the same five CBLAS GEMMs per minibatch alone, sgemm and dgemm (the
    bound, also in bench_train.c),
and prints a table of times, ratios to the bound and ratios of each peer to
librbm, for each configuration:
  1    one thread everywhere (OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = 1,
       librbm's context threads, torch.set_num_threads), process CPU time
       (user + system): barely disturbed by other load on the machine;
  all  every CPU (the same settings = nproc), wall time.

Each measurement runs in its own process, round-robin over the eight
(program, precision) pairs, --repeat times. Before each one the script waits
(up to --wait-idle s) for the machine to be idle, and it measures how much
CPU other processes used while it ran; a measurement during which others
used more than --max-other CPUs is "disturbed" and is retried (up to
--retries times per pair). The table shows the best undisturbed time of
each pair (or the best disturbed one, flagged with *, if there is none).

Usage: bench/run.sh [--repeat R] [--configs 1,all] [--batches N] [--json]
                    [--markdown] [--wait-idle S] [--bench-exe PATH]
--batches N runs N minibatches instead of the epoch (a smoke run: the
meson test bench_smoke does this). Builds librbm and bench_train in
build-bench/ (meson, release) unless --bench-exe is given. If librbm does
not build, the GEMM bound is compiled by hand and the librbm rows are
reported as missing. Exit status 0, 1 when a row is missing, 77 when the
data set is not installed.
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
            "-lopenblas", "-lm", "-ldl"], stdout=sys.stderr)
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


PROGRAMS = ("librbm", "gemm", "torch", "sklearn")
PEER_SCRIPTS = {"torch": "torch_rbm.py", "sklearn": "sklearn_rbm.py"}


def jobs_for(exe, with_librbm, args, threads):
    """The (program, precision, command) triples of one configuration."""
    jobs = []
    smoke = ["--batches", str(args.batches)] if args.batches else []
    recon = ["--recon-rows", str(args.recon_rows)]
    for prec, p in (("float32", "f32"), ("float64", "f64")):
        for name in PROGRAMS:
            if name in ("librbm", "gemm"):
                if name == "librbm" and not with_librbm:
                    continue
                cmd = [exe, "--data", args.data, "--what", name, "--precision", p,
                       "--threads", str(threads)] + smoke + (recon if name == "librbm" else [])
            elif os.path.exists(PY):
                cmd = [PY, os.path.join("bench", PEER_SCRIPTS[name]), "--data", args.data,
                       "--precision", p] + smoke + recon
                if name == "torch":
                    cmd += ["--threads", str(threads)]
            else:
                continue
            jobs.append((name, prec, cmd))
    return jobs


def measure(jobs, env, args, tkey, info):
    """Run the jobs round-robin until each has --repeat undisturbed runs (or
    has used its retries); return {(name, prec): [(time, others, record)]}."""
    runs = {(n, pr): [] for n, pr, _ in jobs}
    failed = set()

    def wanted(key):
        clean = sum(1 for r in runs[key] if r[1] <= args.max_other)
        return (key not in failed and clean < args.repeat
                and len(runs[key]) < args.repeat + args.retries)

    while True:
        todo = [j for j in jobs if wanted(j[:2])]
        if not todo:
            return runs
        for name, prec, cmd in todo:
            key = (name, prec)
            if args.wait_idle > 0:
                wait_idle(args.wait_idle, args.max_other)
            rc, recs, others = run_child(cmd, env)
            rec = next((x for x in recs if x.get("name") == name
                        and x.get("precision") == prec), None)
            for x in recs:
                if x.get("name") in ("sklearn-info", "torch-info"):
                    info.setdefault(x["name"], x)
            if rc != 0 or rec is None:
                log(f"run: {name} {prec} failed (exit {rc})")
                failed.add(key)
                continue
            disturbed = others > args.max_other
            runs[key].append((rec[tkey], others, rec))
            log(f"run: {name:7s} {prec}: {rec['seconds']:.3f} s wall, {rec['cpu_seconds']:.3f} s CPU"
                + (f"  (others used {others:.2f} CPUs: disturbed)" if disturbed else ""))


def best(runs, name, prec, max_other):
    """(best time, median, all disturbed?, record of the best) of one pair."""
    rs = runs.get((name, prec)) or []
    if not rs:
        return None, None, True, None
    clean = [r for r in rs if r[1] <= max_other]
    pool = clean or rs
    r = min(pool, key=lambda x: x[0])
    secs = sorted(x[0] for x in pool)
    med = secs[len(secs) // 2] if len(secs) % 2 else 0.5 * (
        secs[len(secs) // 2 - 1] + secs[len(secs) // 2])
    return r[0], med, not clean, r[2]


def table_rows(runs, args, threads, tkey):
    rows = []
    for prec in ("float32", "float64"):
        row = {"precision": prec, "threads": threads, "time": tkey, "disturbed": {}}
        for name in PROGRAMS:
            t, med, dist, rec = best(runs, name, prec, args.max_other)
            row[name], row[name + "_median"], row["disturbed"][name] = t, med, dist
            if name != "gemm":
                row["recon_" + name] = rec["recon_error"] if rec else None
            if name == "librbm":
                row["recon_librbm_init"] = rec["recon_error_init"] if rec else None
                row["recon_rows"] = rec["recon_rows"] if rec else None
            if name == "gemm":
                row["gemm_gflops"] = rec["gflops"] if rec else None
        row["gemm_bound"] = row["gemm"]
        for name in ("librbm", "torch", "sklearn"):
            row[name + "_over_bound"] = ratio(row[name], row["gemm"])
        for peer in ("torch", "sklearn"):
            row[peer + "_over_librbm"] = ratio(row[peer], row["librbm"])
        rows.append(row)
    return rows


def print_cells(head, table, markdown):
    """A table of strings: Markdown, or right-aligned columns."""
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for t in table:
            print("| " + " | ".join(t) + " |")
    else:
        w = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
        print("  ".join(h.rjust(w[i]) for i, h in enumerate(head)))
        for t in table:
            print("  ".join(c.rjust(w[i]) for i, c in enumerate(t)))


def print_table(rows, args, title):
    def tcell(r, name):
        v = fmt(r[name], ".3f")
        return v + ("*" if r[name] is not None and r["disturbed"][name] else "")

    head = ["precision", "GEMM bound (s)", "librbm (s)", "torch (s)", "sklearn (s)",
            "librbm / bound", "torch / bound", "sklearn / bound", "torch / librbm",
            "sklearn / librbm", "recon librbm", "recon torch", "recon sklearn"]
    table = [[r["precision"], tcell(r, "gemm"), tcell(r, "librbm"), tcell(r, "torch"),
              tcell(r, "sklearn"), fmt(r["librbm_over_bound"]), fmt(r["torch_over_bound"]),
              fmt(r["sklearn_over_bound"]), fmt(r["torch_over_librbm"]),
              fmt(r["sklearn_over_librbm"]), fmt(r["recon_librbm"], ".4f"),
              fmt(r["recon_torch"], ".4f"), fmt(r["recon_sklearn"], ".4f")] for r in rows]
    print(title)
    print_cells(head, table, args.markdown)
    print("medians (s): " + "; ".join(
        f"{r['precision']}: " + ", ".join(f"{n} {fmt(r[n + '_median'])}" for n in PROGRAMS)
        for r in rows))
    if any(any(r["disturbed"].values()) for r in rows):
        print(f"* no run without other load (> {args.max_other} CPUs used by other "
              "processes): timing disturbed")


def configurations(args, nproc):
    """(threads, time key) of each configuration to run."""
    if args.threads > 0:
        return [(args.threads, "cpu_seconds" if args.cpu_time else "seconds")]
    out = []
    for c in args.configs.split(","):
        c = c.strip()
        if c == "1":
            out.append((1, "cpu_seconds"))
        elif c == "all":
            out.append((nproc, "seconds"))
        elif c:
            sys.exit(f"run: unknown configuration {c!r} (1 or all)")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="undisturbed runs per measurement")
    ap.add_argument("--retries", type=int, default=4,
                    help="extra runs allowed per measurement when disturbed")
    ap.add_argument("--wait-idle", type=float, default=60,
                    help="wait up to this many seconds for an idle machine before each run")
    ap.add_argument("--max-other", type=float, default=0.15,
                    help="CPUs other processes may use during a run before it is disturbed")
    ap.add_argument("--configs", default="1,all",
                    help="comma-separated configurations: 1 (one thread everywhere, process "
                         "CPU time) and all (every CPU, wall time)")
    ap.add_argument("--threads", type=int, default=0,
                    help="instead of --configs: this many threads everywhere (wall time unless "
                         "--cpu-time)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="with --threads: tabulate process CPU time instead of wall time")
    ap.add_argument("--batches", type=int, default=0,
                    help="run only this many minibatches in every program (smoke runs); "
                         "0: one epoch")
    ap.add_argument("--recon-rows", type=int, default=10000,
                    help="rows of the reconstruction-error check (0: all)")
    ap.add_argument("--json", action="store_true", help="also print all results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--bench-exe", help="use this bench_train instead of building build-bench/")
    args = ap.parse_args()

    if args.bench_exe:
        exe, with_librbm = os.path.abspath(args.bench_exe), True
    else:
        exe, with_librbm = build()
    if not os.path.exists(args.data):
        log(f"run: {args.data} not found (Debian: apt-get install dataset-fashion-mnist)")
        return 77
    info = machine_info()
    log(f"run: {info['nproc']} CPUs, {info['cpu']}, {info.get('openblas_package', 'OpenBLAS ?')}")
    if info["openblas_env"]:
        log(f"run: environment {info['openblas_env']} (overridden per configuration)")
    if not os.path.exists(PY):
        log(f"run: {PY} not found; no torch or sklearn rows")

    epoch = (f"{args.batches} minibatches (smoke run) of" if args.batches else "One epoch of")
    print(f"{epoch} Fashion-MNIST 60000 x 784 (binarised at 127), N_h = 500, batch 100, "
          f"PCD-1, lr 0.01; best of {args.repeat} undisturbed run(s)")
    print(f"Machine: {info['nproc']} CPUs, {info['cpu']}; "
          f"{info.get('openblas_package', 'OpenBLAS version unknown')}"
          + (f"; librbm {info['librbm_source']}" if "librbm_source" in info else ""))
    all_rows, all_runs = [], {}
    for threads, tkey in configurations(args, info["nproc"] or 1):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
        runs = measure(jobs_for(exe, with_librbm, args, threads), env, args, tkey, info)
        rows = table_rows(runs, args, threads, tkey)
        all_rows += rows
        all_runs.update({f"{k[0]} {k[1]} threads={threads}":
                         [{"seconds": s, "others_cpus": round(o, 3)} for s, o, _ in v]
                         for k, v in runs.items()})
        print_table(rows, args, f"\n{threads} thread(s) (BLAS, OpenMP, librbm context, torch); "
                    + ("process CPU time" if tkey == "cpu_seconds" else "wall time"))
    peers = []
    sk = info.get("sklearn-info")
    if sk:
        blas = [b for b in (sk.get("blas") or []) if b.get("internal_api") == "openblas"]
        peers.append(f"scikit-learn {sk['sklearn']}, numpy {sk['numpy']}"
                     + (f" (OpenBLAS {blas[0]['version']}, {blas[0]['architecture']} kernel)"
                        if blas else ""))
    if info.get("torch-info"):
        peers.append(f"torch {info['torch-info']['torch']}")
    if peers:
        print("Peers: " + "; ".join(peers))
    init = next((r for r in all_rows if r["recon_librbm_init"] is not None), None)
    if init is not None:
        print(f"reconstruction error at initialisation: {init['recon_librbm_init']:.4f} "
              f"(mean-field, first {init['recon_rows']} rows; lower after training = "
              "the trainer learns)")
    if not with_librbm:
        print("librbm rows missing: the library did not build")
    if args.json:
        print(json.dumps({"machine": info, "rows": all_rows, "runs": all_runs}, indent=1))
    need = ["librbm", "gemm"] + (["torch", "sklearn"] if os.path.exists(PY) else [])
    missing = any(r[k] is None for r in all_rows for k in need)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
