#!/bin/sh
# One command for the training benchmark: librbm f32/f64, a PyTorch loop, scikit-learn's
# BernoulliRBM f32/f64 and the CBLAS GEMM bound, one table per thread
# configuration (see bench/run.py).
# Needs Debian's python3-sklearn and python3-torch.
set -e
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/run.py "$@"
