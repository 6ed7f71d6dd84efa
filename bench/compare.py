#!/usr/bin/python3
"""Side-by-side training speed of this tree and an earlier revision.

Builds bench_train (release) for the working tree in build-bench/ and for a
base revision (default: v0.1.0's commit) in a temporary git worktree, then
runs the two programs alternately on the same data, --repeat times per
(tree, precision), and prints each one's best time and the ratio
current / base. A ratio above 1 + --tolerance is reported as a slowdown and
the exit status is 1.

Usage: bench/compare.py [--base REV] [--repeat R] [--batches N] [--tolerance X]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE_DEFAULT = "12217f6"  # librbm 0.1.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(src, build_dir):
    if not os.path.isdir(os.path.join(build_dir, "meson-info")):
        subprocess.run(["meson", "setup", build_dir, src, "--buildtype=release",
                        "-Dtests=false", "-Dtools=false"], check=True, stdout=sys.stderr)
    subprocess.run(["ninja", "-C", build_dir, "bench/bench_train"], check=True,
                   stdout=sys.stderr)
    return os.path.join(build_dir, "bench", "bench_train")


def run(exe, prec, batches):
    out = subprocess.run([exe, "--what", "librbm", "--precision", prec, "--batches",
                          str(batches)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            if rec.get("name") == "librbm":
                return float(rec["seconds"])
    raise RuntimeError(f"no timing in output of {exe}:\n{out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default=BASE_DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--tolerance", type=float, default=0.05)
    a = ap.parse_args()
    cur = build(ROOT, os.path.join(ROOT, "build-bench"))
    tmp = tempfile.mkdtemp(prefix="rbm-bench-base-")
    wt = os.path.join(tmp, "src")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", wt, a.base], check=True,
                   stdout=sys.stderr)
    try:
        base = build(wt, os.path.join(tmp, "build"))
        best = {}
        for r in range(a.repeat):
            for prec in ("f32", "f64"):
                for name, exe in (("base", base), ("current", cur)):
                    t = run(exe, prec, a.batches)
                    key = (name, prec)
                    best[key] = min(best.get(key, t), t)
                    log(f"repeat {r + 1}/{a.repeat} {name:7s} {prec}: {t:.3f} s")
        slow = False
        print(f"{'precision':9s} {'base (s)':>9s} {'current (s)':>12s} {'ratio':>6s}")
        for prec in ("f32", "f64"):
            b, c = best[("base", prec)], best[("current", prec)]
            ratio = c / b
            slow |= ratio > 1 + a.tolerance
            print(f"{prec:9s} {b:9.3f} {c:12.3f} {ratio:6.3f}")
        print(f"base {a.base}, {a.batches} minibatches of 100, best of {a.repeat}")
        return 1 if slow else 0
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", wt],
                       stdout=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
