"""Sample weights, categorical datasets and sequence reweighting, checked
against NumPy."""
import numpy as np
import pytest

import librbm


def test_weighted_statistics_match_numpy():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 5))
    w = rng.uniform(0.0, 3.0, size=30)
    d = librbm.Dataset(x)
    assert d.weights is None and d.weight_sum == 30
    d.weights = w
    np.testing.assert_allclose(d.weights, w, rtol=0, atol=0)
    assert d.weight_sum == pytest.approx(w.sum(), rel=1e-15)
    np.testing.assert_allclose(d.mean(), np.average(x, axis=0, weights=w), rtol=1e-13)
    np.testing.assert_allclose(d.covariance(), np.cov(x.T, aweights=w, bias=True), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_array_equal(d.slice(3, 4).weights, w[3:7])
    d.weights = None
    assert d.weights is None


def test_bad_weights_refused():
    d = librbm.Dataset(np.zeros((3, 2)))
    with pytest.raises(librbm.errors.NotFiniteError):
        d.weights = [1.0, float("nan"), 1.0]
    with pytest.raises(librbm.errors.InvalidArgumentError):
        d.weights = [1.0, -1.0, 1.0]
    with pytest.raises(librbm.errors.ShapeError):
        d.weights = [1.0, 1.0]
    assert d.weights is None


def test_sequence_weights_match_numpy():
    rng = np.random.default_rng(5)
    anc = rng.integers(0, 21, size=(4, 50))
    pick = rng.integers(0, 4, size=120)
    v = anc[pick].copy()
    mut = rng.uniform(size=v.shape) < rng.uniform(0, 0.5, size=(120, 1))
    v[mut] = rng.integers(0, 21, size=mut.sum())
    v = v.astype(np.uint8)
    d = librbm.Dataset(v)
    d.set_categories(21, "-ACDEFGHIKLMNPQRSTVWY")
    assert d.n_states == 21 and d.alphabet == "-ACDEFGHIKLMNPQRSTVWY"
    ident = (v[:, None, :] == v[None, :, :]).mean(axis=2)
    for theta in (0.0, 0.5, 0.8, 1.0):
        ref = 1.0 / (ident >= theta).sum(axis=1)
        np.testing.assert_array_equal(d.sequence_weights(theta), ref)
    with pytest.raises(librbm.errors.InvalidArgumentError):
        d.sequence_weights(1.5)
