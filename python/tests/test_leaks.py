"""No leaks: 10^4 create/use/free cycles of every kind of handle (with
callbacks, borrowed arrays, exceptions and garbage-collected objects)
keep the resident set size flat."""
import gc
import logging
import os

import numpy as np

import librbm


def rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# the library's error lines go to this logger; it keeps nothing (pytest's
# log capture would otherwise store every record and look like a leak)
_log = logging.getLogger("librbm.leaks")
_log.propagate = False
_log.addHandler(logging.NullHandler())


def cycle(i, x):
    with librbm.Context(threads=1, logger="librbm.leaks") as ctx:
        m = librbm.Machine(20, 10, context=ctx)
        m.init_normal(0.1, i)
        d = librbm.Dataset(x, context=ctx)            # borrowed
        t = librbm.Trainer(m, d, 10, seed=i, observer=lambda tr: tr.step_count >= 2)
        t.run_epochs(1)
        s = librbm.Sampler(m, 4, seed=i)
        s.run(1)
        g = t.gradient.weights
        e = librbm.Estimator(m, "cd", 10)
        e.compute(x[:10])
        tp = librbm.Tempering(m, 3, n_chains=2, seed=i)  # ladders, estimator views
        tp.run(1)
        ptt = librbm.Tempering.from_models([m, m], n_chains=2, seed=i)
        ptt.run(1)
        pt = librbm.Estimator(m, "pt", 10, k=1, replicas=3)
        pt.compute(x[:10])
        acc = pt.tempering.swap_stats().acceptance
        librbm.autocorr_time(x[:, :2], strict=False, context=ctx)
        census = librbm.Census(d, n_null=2, seed=i)
        n_sig = librbm.SVD(m).significance(census).n_significant
        try:
            m.free_energy(np.ones((2, 19)))
        except librbm.ShapeError:
            pass
        if i % 2:                                       # explicit close, any order
            m.close()
            t.close()
            s.close()
        # otherwise left to reference counting / the garbage collector
        svd = librbm.SVD(m if not m.closed else t.machine) if not t.closed else None
        del svd, g, tp, ptt, pt, acc, census, n_sig


def test_rss_stays_flat():
    x = (np.random.default_rng(0).random((40, 20)) > 0.5).astype(np.float64)
    for i in range(2000):               # warm up allocator pools and caches
        cycle(i, x)
    gc.collect()
    before = rss_bytes()
    for i in range(10000):
        cycle(i, x)
    gc.collect()
    grown = rss_bytes() - before
    # one leaked machine alone (20 x 10 doubles + biases) would be 2 KiB per
    # cycle, 20 MB over the loop
    assert grown < 3 * 1024 * 1024, f"RSS grew by {grown / 1e6:.1f} MB over 10^4 cycles"
