"""The significant-mode census (svd.h), AIS convergence evidence and the
adaptive schedule (metrics.h), machine provenance, against NumPy
references: eigenvalues by numpy.linalg, overlaps by projection, planted
low-rank data and couplings, log Z by enumeration."""
import math
import os
import re

import numpy as np
import pytest

import librbm
import reference as ref

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def planted_data(n_rows=3000, nv=30, k=3, seed=0):
    """Gaussian data with k strong principal directions (orthonormal columns
    of A) over isotropic noise of variance 1."""
    rng = np.random.default_rng(seed)
    A, _ = np.linalg.qr(rng.normal(size=(nv, k)))
    scales = np.array([6.0, 4.0, 3.0])[:k]
    X = (rng.normal(size=(n_rows, k)) * scales) @ A.T + rng.normal(size=(n_rows, nv))
    return X, A


def test_census_counts_the_planted_subspace():
    X, A = planted_data()
    c = librbm.Census(X, n_null=19, seed=1)
    assert c.cols == 30 and c.rows == 3000
    eig, null = c.eigenvalues()
    ref_eig = np.sort(np.linalg.eigvalsh(np.cov(X, rowvar=False, ddof=1)))[::-1]
    ref0 = np.sort(np.linalg.eigvalsh(np.cov(X, rowvar=False, ddof=0)))[::-1]
    # the covariance is the centred one (1/(n-1) or 1/n: both are checked
    # against NumPy, one must match to 1e-9)
    assert np.allclose(eig, ref_eig, rtol=1e-9) or np.allclose(eig, ref0, rtol=1e-9)
    # k is the number of leading ranks above the null's largest eigenvalue
    above = eig > null
    k = int(np.argmin(above)) if not above.all() else len(eig)
    assert c.n_components == k == 3
    assert null[0] < eig[2] and np.all(np.diff(null) <= 1e-12) and null[-1] > 0
    # a different seed permutes differently but counts the same
    assert librbm.Census(X, n_null=19, seed=2).n_components == 3
    # pure noise: nothing significant at rank 1 (fails with prob. 1/20 per
    # seed; the seed is fixed)
    noise = np.random.default_rng(5).normal(size=(3000, 30))
    assert librbm.Census(noise, n_null=19, seed=3).n_components <= 1


def test_svd_significance_on_a_planted_low_rank_w():
    X, A = planted_data()
    rng = np.random.default_rng(7)
    nv, nh = 30, 20
    B, _ = np.linalg.qr(rng.normal(size=(nh, 4)))
    # three spikes along the data's principal directions and one along a
    # direction orthogonal to them (outside the bulk, but not data structure)
    off = rng.normal(size=nv)
    off -= A @ (A.T @ off)
    off /= np.linalg.norm(off)
    X4 = np.column_stack([A, off])
    W = X4 @ np.diag([3.0, 2.5, 2.0, 2.8]) @ B.T + rng.normal(0, 0.02, (nv, nh))
    m = librbm.Machine(nv, nh)
    m.weights = W
    svd = librbm.SVD(m)
    census = librbm.Census(X, n_null=19, seed=1)
    sig = svd.significance(census)
    # reference: q = |P_k u|^2 with P_k from NumPy's eigenvectors of the
    # data covariance and u from numpy.linalg.svd
    _, vecs = np.linalg.eigh(np.cov(X, rowvar=False))
    Ek = vecs[:, ::-1][:, :census.n_components]
    U, S, _ = np.linalg.svd(W, full_matrices=False)
    q = ((Ek.T @ U) ** 2).sum(0)
    np.testing.assert_allclose(sig.overlap, q, atol=1e-8)
    n_out = svd.bulk().n_outside
    assert n_out == 4
    want = (np.arange(len(q)) < n_out) & (q > 0.5)
    np.testing.assert_array_equal(sig.significant, want)
    assert sig.n_significant == int(want.sum()) == 3
    # the orthogonal spike (second largest, s = 2.8) is outside but not significant
    assert not sig.significant[1] and sig.overlap[1] < 0.01
    # the tracker counts the same at every record
    tr = librbm.ModeTracker(m, 5)
    tr.set_census(census)
    tr.record(0)
    assert tr.significant(0) == 3
    with pytest.raises(librbm.StateError):
        tr.set_census(None)
    with pytest.raises(librbm.InvalidArgumentError):
        tr.significant(1)
    plain = librbm.ModeTracker(m, 5)
    plain.record(0)
    with pytest.raises(librbm.StateError):
        plain.significant(0)
    # wrong width
    with pytest.raises(librbm.ShapeError):
        svd.significance(librbm.Census(X[:, :10], n_null=3))


def test_census_errors():
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.Census(np.zeros((10, 3)), n_null=0)
    with pytest.raises(librbm.ShapeError):
        librbm.Census(np.zeros((1, 3)))
    x = np.random.default_rng(0).normal(size=(10, 3))
    x[2, 1] = np.inf
    with pytest.raises(librbm.NotFiniteError):
        librbm.Census(x)


# ---------------------------------------------------------------- AIS


def small_machine():
    return ref.random_machine(librbm, 8, 6, scale=0.8, seed=2)


def test_ais_evidence_and_schedule():
    m = small_machine()
    exact = ref.log_z(m.weights, m.visible_bias, m.hidden_bias, "bernoulli", "bernoulli")
    ais = librbm.AIS(m, seed=3, runs=200, n_betas=500)
    with pytest.raises(librbm.StateError):
        ais.diagnostics()
    with pytest.raises(librbm.StateError):
        ais.step_variance()
    np.testing.assert_allclose(ais.schedule, np.linspace(0, 1, 500), atol=1e-12)
    r = ais.run()
    d = ais.diagnostics()
    assert 1 <= d.ess <= 200 and d.log_weight_var >= 0
    # a well-converged run: ESS a large share of the runs, small Var(log w),
    # and the estimate within its error of the exact value
    assert d.ess > 100 and d.log_weight_var < 0.5
    assert abs(r.log_z - exact) < 4 * r.stderr
    v = ais.step_variance()
    assert v.shape == (499,) and np.all(v >= 0)
    ais.adapt_schedule(300)
    b = ais.schedule
    assert b.shape == (300,) and b[0] == 0 and b[-1] == 1 and np.all(np.diff(b) > 0)
    # reference placement from metrics.h: equal increments of the cumulative
    # length sum_k sqrt(Var_k) plus a uniform tenth of the total, piecewise
    # linear in beta over the old schedule
    old = np.linspace(0, 1, 500)
    step = np.sqrt(v) + 0.1 * np.sqrt(v).sum() / len(v)
    cum = np.concatenate([[0.0], np.cumsum(step)])
    want = np.interp(np.linspace(0, cum[-1], 300), cum, old)
    np.testing.assert_allclose(b, want, atol=1e-12)
    with pytest.raises(librbm.InvalidArgumentError):
        ais.adapt_schedule(1)


def test_ais_run_adaptive_brackets_exact_log_z():
    m = small_machine()
    exact = ref.log_z(m.weights, m.visible_bias, m.hidden_bias, "bernoulli", "bernoulli")
    ais = librbm.AIS(m, seed=4, runs=100, n_betas=50)
    assert ais.reverse_start_is_exact  # 6 hidden units: enumerated
    r = ais.run_adaptive(tol=0.05, max_betas=20000)
    assert r.converged and not r.stopped
    assert r.log_z_fwd - 4 * r.se_fwd < exact < r.log_z_rev + 4 * r.se_rev
    assert r.log_z_rev - r.log_z_fwd <= 0.05
    assert len(ais.schedule) >= 50
    ais.set_exact_start_units(0)
    assert not ais.reverse_start_is_exact
    with pytest.raises(librbm.InvalidArgumentError):
        ais.run_adaptive(tol=-1.0)


def test_ais_base_biases_set_the_base_log_z():
    m = small_machine()
    ais = librbm.AIS(m, seed=1, runs=10, n_betas=10)
    a = np.linspace(-1, 1, 8)
    ais.set_base_biases(a)
    # the base: independent visible units with biases a, free hidden units
    assert ais.base_log_z == pytest.approx(np.logaddexp(0, a).sum() + 6 * math.log(2), rel=1e-12)
    ais.set_base_biases(None)
    assert ais.base_log_z == pytest.approx(
        np.logaddexp(0, m.visible_bias).sum() + 6 * math.log(2), rel=1e-12)
    with pytest.raises(librbm.ShapeError):
        ais.set_base_biases(np.zeros(7))
    with pytest.raises(librbm.NotFiniteError):
        ais.set_base_biases(np.full(8, np.nan))


def bracket_rule(fwd, sef, essf, rev, ser, essr, runs, tol):
    """metrics.h's rule, written from the header."""
    vals = (fwd, sef, essf, rev, ser, essr, tol)
    if not all(math.isfinite(x) for x in vals) or tol < 0 or runs < 2:
        return False
    width = rev - fwd
    floor = librbm.AIS_MIN_ESS_FRACTION * runs
    return (width <= tol and width >= -2 * math.hypot(sef, ser)
            and essf >= floor and essr >= floor)


def test_bracket_converged_matches_the_rule():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        fwd = rng.normal(10, 0.1)
        args = (fwd, abs(rng.normal(0, 0.02)), rng.uniform(0, 100), fwd + rng.normal(0, 0.1),
                abs(rng.normal(0, 0.02)), rng.uniform(0, 100), int(rng.integers(0, 100)),
                rng.choice([0.05, 0.1, -1.0]))
        assert librbm.ais_bracket_converged(*args) == bracket_rule(*args), args
    assert not librbm.ais_bracket_converged(np.nan, 0, 50, 1, 0, 50, 100, 1.0)
    # the Python constant is the header's macro
    with open(os.path.join(ROOT, "include", "rbm", "metrics.h"), encoding="utf-8") as fh:
        macro = re.search(r"#define RBM_AIS_MIN_ESS_FRACTION\s+([0-9.eE+-]+)", fh.read())
    assert float(macro.group(1)) == librbm.AIS_MIN_ESS_FRACTION


# ---------------------------------------------------------------- provenance


def test_provenance_round_trips(tmp_path):
    m = small_machine()
    assert m.provenance is None
    m.provenance = "source=synthetic\nseed=3\n"
    assert m.provenance == "source=synthetic\nseed=3\n"
    p = tmp_path / "m.rbm"
    m.save(p)
    assert librbm.Machine.load(p).provenance == "source=synthetic\nseed=3\n"
    assert m.copy().provenance == m.provenance
    m.provenance = None
    assert m.provenance is None
    with pytest.raises(librbm.TooLargeError):
        m.provenance = "x" * 65537
    assert m.provenance is None  # a failing call changes nothing
