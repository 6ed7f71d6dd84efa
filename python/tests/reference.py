"""Independent NumPy references for the tests: energies, free energies,
conditionals and log Z by brute-force enumeration, written from the formulas
of docs/theory.md §1 and nothing of librbm."""
import itertools

import numpy as np

VALUES = {"bernoulli": (0.0, 1.0), "ising": (-1.0, 1.0)}


def log_partition(kind, x):
    """Lambda(x) = log sum_s exp(s x) over the unit's values."""
    if kind == "bernoulli":
        return np.logaddexp(0.0, x)
    if kind == "ising":
        return np.logaddexp(x, -x)
    raise ValueError(kind)


def mean(kind, x):
    if kind == "bernoulli":
        return 1.0 / (1.0 + np.exp(-x))
    if kind == "ising":
        return np.tanh(x)
    raise ValueError(kind)


def energy(W, a, b, v, h):
    return -np.einsum("bi,ij,bj->b", v, W, h) - v @ a - h @ b


def free_energy(W, a, b, v, hidden):
    return -v @ a - log_partition(hidden, b + v @ W).sum(axis=1)


def free_energy_hidden(W, a, b, h, visible):
    return -h @ b - log_partition(visible, a + h @ W.T).sum(axis=1)


def states(kind, n):
    return np.array(list(itertools.product(VALUES[kind], repeat=n)), dtype=float)


def log_z(W, a, b, visible, hidden):
    v = states(visible, W.shape[0])
    f = free_energy(W, a, b, v, hidden)
    return np.logaddexp.reduce(-f)


def random_machine(librbm, nv, nh, visible="bernoulli", hidden="bernoulli", scale=0.5, seed=0):
    rng = np.random.default_rng(seed)
    m = librbm.Machine(nv, nh, visible, hidden)
    m.weights = rng.normal(0, scale, (nv, nh))
    m.visible_bias = rng.normal(0, scale, nv)
    m.hidden_bias = rng.normal(0, scale, nh)
    return m
