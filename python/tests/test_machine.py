"""Machines and units against NumPy references (tests/reference.py)."""
import pickle

import numpy as np
import pytest

import librbm
import reference as ref

KINDS = ["bernoulli", "ising"]


@pytest.mark.parametrize("vk", KINDS)
@pytest.mark.parametrize("hk", KINDS)
def test_energies_free_energies_conditionals(vk, hk):
    m = ref.random_machine(librbm, 7, 5, vk, hk, seed=3)
    W, a, b = m.weights, m.visible_bias, m.hidden_bias
    rng = np.random.default_rng(1)
    v = rng.choice(ref.VALUES[vk], (9, 7))
    h = rng.choice(ref.VALUES[hk], (9, 5))
    np.testing.assert_allclose(m.energy(v, h), ref.energy(W, a, b, v, h), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.free_energy(v), ref.free_energy(W, a, b, v, hk), rtol=1e-12)
    np.testing.assert_allclose(m.free_energy_hidden(h), ref.free_energy_hidden(W, a, b, h, vk),
                               rtol=1e-12)
    np.testing.assert_allclose(m.hidden_mean(v), ref.mean(hk, b + v @ W), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.visible_mean(h), ref.mean(vk, a + h @ W.T), rtol=1e-12,
                               atol=1e-15)
    # a single row gives a scalar / a 1-D result
    assert isinstance(m.free_energy(v[0]), float)
    assert m.hidden_mean(v[0]).shape == (5,)


@pytest.mark.parametrize("vk", KINDS)
@pytest.mark.parametrize("hk", KINDS)
def test_exact_log_z_by_enumeration(vk, hk):
    m = ref.random_machine(librbm, 9, 6, vk, hk, scale=0.7, seed=5)
    want = ref.log_z(m.weights, m.visible_bias, m.hidden_bias, vk, hk)
    assert librbm.exact_log_z(m) == pytest.approx(want, rel=1e-12)


def test_convert_keeps_the_distribution():
    m = ref.random_machine(librbm, 6, 4, "bernoulli", "bernoulli", seed=2)
    mi, shift = m.convert("ising")
    assert mi.visible == librbm.UnitKind.ISING and mi.hidden == librbm.UnitKind.ISING
    lz, lzi = librbm.exact_log_z(m), librbm.exact_log_z(mi)
    assert lz == pytest.approx(lzi + shift, rel=1e-12)
    v = ref.states("bernoulli", 6)
    np.testing.assert_allclose(-m.free_energy(v) - lz, -mi.free_energy(2 * v - 1) - lzi,
                               atol=1e-11)


def test_sampling_matches_conditional_means():
    m = ref.random_machine(librbm, 5, 4, seed=7)
    v = np.tile(np.array([1, 0, 1, 1, 0.0]), (20000, 1))
    rng = librbm.Rng(11, m.context)
    h = m.sample_hidden(v, rng)
    assert set(np.unique(h)) <= {0.0, 1.0}
    p = m.hidden_mean(v[0])
    # 5 sigma of a binomial mean
    assert np.all(np.abs(h.mean(0) - p) < 5 * np.sqrt(p * (1 - p) / len(v)))
    vs = m.sample_visible(h[:3], 4)
    assert vs.shape == (3, 5)
    # same seed, same draws
    np.testing.assert_array_equal(m.sample_hidden(v[:50], 3), m.sample_hidden(v[:50], 3))


def test_parameters_roundtrip_and_validation():
    m = librbm.Machine(4, 3, "gaussian", "bernoulli", precision="float32")
    assert m.precision == librbm.Precision.FLOAT32
    m.sigma_visible = 0.5
    assert m.sigma_visible == 0.5
    w = np.arange(12.0).reshape(4, 3) / 10
    m.weights = w
    np.testing.assert_array_equal(m.weights, w)
    with pytest.raises(librbm.ShapeError):
        m.visible_bias = np.zeros(3)
    with pytest.raises(librbm.InvalidArgumentError):
        m.set_sigma("visible", -1.0)
    m.init_normal(0.1, seed=4)
    w1 = m.weights
    m.init_normal(0.1, seed=4)
    np.testing.assert_array_equal(w1, m.weights)
    assert abs(w1.std() - 0.1) < 0.08
    m.init_zero()
    assert not m.weights.any()


def test_gaussian_free_energy_reference():
    m = librbm.Machine(3, 2, "gaussian", "bernoulli")
    m.sigma_visible = 0.8
    rng = np.random.default_rng(0)
    W, a, b = rng.normal(0, 0.3, (3, 2)), rng.normal(size=3), rng.normal(size=2)
    m.weights, m.visible_bias, m.hidden_bias = W, a, b
    v = rng.normal(size=(5, 3))
    want = -v @ a + (v ** 2).sum(1) / (2 * 0.8 ** 2) - np.logaddexp(0, b + v @ W).sum(1)
    np.testing.assert_allclose(m.free_energy(v), want, rtol=1e-12)
    np.testing.assert_allclose(m.visible_mean(np.array([[1.0, 0.0]])),
                               [0.8 ** 2 * (a + W[:, 0])], rtol=1e-12)


def test_save_load_bytes_pickle(tmp_path):
    m = ref.random_machine(librbm, 6, 3, "ising", "bernoulli", seed=9)
    m.save(tmp_path / "m.rbm")
    m2 = librbm.Machine.load(tmp_path / "m.rbm")
    np.testing.assert_array_equal(m.weights, m2.weights)
    m3 = pickle.loads(pickle.dumps(m))
    assert m3.visible == librbm.UnitKind.ISING
    np.testing.assert_array_equal(m.hidden_bias, m3.hidden_bias)
    assert m.to_bytes() == m3.to_bytes()
    c = m.copy()
    c.weights = np.zeros((6, 3))
    assert m.weights.any()


def test_units():
    x = np.linspace(-3, 3, 13)
    u = librbm.unit_eval("ising", x)
    np.testing.assert_allclose(u.mean, np.tanh(x), rtol=1e-13)
    np.testing.assert_allclose(u.variance, 1 - np.tanh(x) ** 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(u.log_partition, np.logaddexp(x, -x), rtol=1e-13)
    g = librbm.unit_eval("gaussian", x, sigma=2.0)
    np.testing.assert_allclose(g.mean, 4 * x, rtol=1e-13)
    np.testing.assert_allclose(g.log_partition,
                               4 * x ** 2 / 2 + 0.5 * np.log(2 * np.pi * 4), rtol=1e-12)
    r = librbm.Rng(5)
    s = librbm.unit_sample("bernoulli", np.zeros(40000), r)
    assert abs(s.mean() - 0.5) < 0.01
    with pytest.raises(librbm.NotFiniteError):
        librbm.unit_eval("bernoulli", [np.inf])


def test_rng_stream_and_state():
    r = librbm.Rng(42)
    st = r.state
    a = [r.next_u64() for _ in range(3)]
    r.state = st
    assert [r.next_u64() for _ in range(3)] == a
    # splitmix64, the formula of rng.h
    seed, stream = 7, 3
    z = (seed + stream * 0x9E3779B97F4A7C15) % 2 ** 64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2 ** 64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2 ** 64
    assert librbm.seed_derive(seed, stream) == z ^ (z >> 31)
    u = r.uniform(1000)
    assert u.min() >= 0 and u.max() < 1
    with pytest.raises(librbm.FormatError):
        r.state = bytes(48)
