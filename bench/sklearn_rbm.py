#!/usr/bin/python3
"""scikit-learn's BernoulliRBM on the librbm benchmark problem.

One epoch (n_iter=1) of Fashion-MNIST binarised at 127 into {0,1},
n_components=500, batch_size=100, learning_rate=0.01 (sklearn's training is
PCD-1), in float32 and float64. Only fit() is timed. After the last repeat
the mean-field reconstruction error mean (v - E[v | E[h|v]])^2 over the first
--recon-rows rows (default 10000) is computed in float64, the quantity
bench_train prints for librbm.

Prints one JSON object per measurement on stdout and progress on stderr.
Uses Debian's python3-sklearn: run with /usr/bin/python3.
"""
import json
import sys
import time

import numpy as np
from sklearn import __version__ as sklearn_version
from sklearn.neural_network import BernoulliRBM

from peer_common import load_idx_images, median, problem_arguments, recon_error


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [
        {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                               "threading_layer", "filepath")}
        for d in threadpool_info()
    ]


def main():
    ap = problem_arguments(__doc__)
    ap.add_argument("--batches", type=int, default=0,
                    help="train on the first N minibatches' rows only (smoke runs); 0: all")
    args = ap.parse_args()

    X8 = load_idx_images(args.data)
    if args.batches > 0:
        X8 = X8[:args.batches * args.batch]
    Xb = X8 > args.threshold
    print(f"sklearn_rbm: sklearn {sklearn_version}, numpy {np.__version__}, "
          f"data {X8.shape[0]} x {X8.shape[1]}, density {Xb.mean():.4f}", file=sys.stderr)
    print(json.dumps({"name": "sklearn-info", "sklearn": sklearn_version,
                      "numpy": np.__version__, "blas": blas_info()}), flush=True)

    dtypes = {"f32": [np.float32], "f64": [np.float64],
              "both": [np.float32, np.float64]}[args.precision]
    for dt in dtypes:
        X = np.ascontiguousarray(Xb, dtype=dt)
        pname = np.dtype(dt).name
        times = []
        cpu = []
        rbm = None
        for r in range(args.repeat):
            rbm = BernoulliRBM(n_components=args.hidden, batch_size=args.batch,
                               learning_rate=args.lr, n_iter=1,
                               random_state=args.seed + r, verbose=0)
            t0, c0 = time.perf_counter(), time.process_time()
            rbm.fit(X)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            print(f"  sklearn {pname}: fit {times[-1]:.3f} s", file=sys.stderr)
        assert rbm.components_.dtype == dt, "sklearn changed the dtype"
        rows = args.recon_rows if 0 < args.recon_rows < X.shape[0] else X.shape[0]
        err = recon_error(rbm.components_.T, rbm.intercept_visible_, rbm.intercept_hidden_, X,
                          rows)
        print(f"  sklearn {pname}: reconstruction error {err:.5f}", file=sys.stderr)
        print(json.dumps({"name": "sklearn", "precision": pname,
                          "batches": -(-X.shape[0] // args.batch),
                          "seconds": min(times), "seconds_median": median(times),
                          "seconds_all": times, "cpu_seconds": min(cpu),
                          "cpu_seconds_median": median(cpu),
                          "recon_error": err,
                          "recon_rows": rows}), flush=True)


if __name__ == "__main__":
    main()
