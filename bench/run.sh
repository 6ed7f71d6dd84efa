#!/bin/sh
# One command for the training benchmark: librbm f32/f64, scikit-learn's
# BernoulliRBM f32/f64 and the CBLAS GEMM bound, one table (see bench/run.py).
# Needs Debian's python3-sklearn (apt-get install -y python3-sklearn).
set -e
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/run.py "$@"
