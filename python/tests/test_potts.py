"""Potts machines against NumPy: one-hot energies, free energies, softmax
conditionals and the gauge, by enumeration of a small model."""
import itertools

import numpy as np
import pytest

import librbm

N, Q, NH = 3, 4, 2


def onehot(v):
    x = np.zeros((v.shape[0], N * Q))
    for i in range(N):
        x[np.arange(v.shape[0]), i * Q + v[:, i].astype(int)] = 1
    return x


def machine(seed):
    rng = np.random.default_rng(seed)
    m = librbm.Machine.potts(N, Q, NH, "bernoulli")
    m.weights = rng.normal(size=(N * Q, NH))
    m.visible_bias = rng.normal(size=N * Q)
    m.hidden_bias = rng.normal(size=NH)
    return m


def all_states():
    return np.array(list(itertools.product(range(Q), repeat=N)), dtype=float)


def test_shapes_and_kinds():
    m = machine(1)
    assert (m.n_visible, m.n_states, m.weight_rows) == (N, Q, N * Q)
    assert m.visible == librbm.UnitKind.POTTS
    assert m.weights.shape == (N * Q, NH)


def test_free_energy_and_conditionals_match_numpy():
    m = machine(2)
    W, a, b = m.weights, m.visible_bias, m.hidden_bias
    V = all_states()
    X = onehot(V)
    want = -X @ a - np.logaddexp(0, b + X @ W).sum(axis=1)
    np.testing.assert_allclose(m.free_energy(V), want, rtol=1e-12)
    h = np.array([[1.0, 0.0], [0.0, 1.0]])
    f = (a + h @ W.T).reshape(2, N, Q)
    p = np.exp(f - f.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    np.testing.assert_allclose(m.visible_mean(h), p.reshape(2, N * Q), rtol=1e-12)
    s = m.sample_visible(np.repeat(h[:1], 4000, axis=0), rng=3)
    assert s.shape == (4000, N) and set(np.unique(s)) <= set(range(Q))
    freq = np.array([[np.mean(s[:, i] == c) for c in range(Q)] for i in range(N)])
    assert np.abs(freq - p[0]).max() < 5 * np.sqrt(0.25 / 4000)


@pytest.mark.parametrize("gauge", ["zero_sum", "first_state"])
def test_gauge_keeps_p_of_v(gauge):
    m = machine(4)
    V = all_states()
    f0 = m.free_energy(V)
    lz0 = np.logaddexp.reduce(-f0)
    shift = m.set_gauge(gauge)
    f1 = m.free_energy(V)
    lz1 = np.logaddexp.reduce(-f1)
    np.testing.assert_allclose(-f1 - lz1, -f0 - lz0, atol=1e-12)
    assert lz0 == pytest.approx(lz1 + shift, abs=1e-12)
    W = m.weights.reshape(N, Q, NH)
    if gauge == "zero_sum":
        np.testing.assert_allclose(W.sum(axis=1), 0, atol=1e-14)
    else:
        assert np.all(W[:, 0, :] == 0)


def test_refusals():
    with pytest.raises(librbm.errors.InvalidArgumentError):
        librbm.Machine.potts(3, 1, 2)
    with pytest.raises(librbm.errors.InvalidArgumentError):
        librbm.Machine.potts(3, 4, 2, "potts")
    m = machine(5)
    with pytest.raises(librbm.errors.InvalidArgumentError):
        m.free_energy(np.array([[0.0, 4.0, 1.0]]))
