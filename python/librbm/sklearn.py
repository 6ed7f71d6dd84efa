"""scikit-learn estimators over librbm.

:class:`BernoulliRBM` is a drop-in for ``sklearn.neural_network.BernoulliRBM``:
the same parameters (n_components, learning_rate, batch_size, n_iter,
verbose, random_state), attributes (components_, intercept_visible_,
intercept_hidden_, h_samples_, n_features_in_) and methods (fit,
partial_fit, transform, gibbs, score_samples, fit_transform), and the same
algorithm: PCD-1 with ``batch_size`` persistent chains, minibatches taken in
order, plain SGD on the mean gradient, W ~ N(0, 0.01^2) and zero biases at
the start. The arithmetic runs in C (one estimator call and one update call
per minibatch).

:class:`RBM` is the general estimator: unit kinds per layer, the gradient
estimator (cd, pcd, exact, mf, tap2, tap3, pt), the optimiser (sgd, momentum,
adam), weight decay, precision, driven by librbm's trainer (shuffled
minibatches, whole epochs in one C call).

``score_samples`` (both): log-likelihood proxies per sample, in nats,
  method="pseudo"      (BernoulliRBM's default) the exact pseudo-likelihood
                       sum_i log p(v_i | v_-i) over every visible unit, i.e.
                       sum_i log sigmoid(F(v with unit i flipped) - F(v)).
                       scikit-learn's BernoulliRBM instead flips ONE random
                       unit per sample and multiplies by n_features: an
                       unbiased but noisy estimate of the same quantity;
  method="stochastic"  scikit-learn's one-flip estimate (random_state);
  method="exact"       log p(v) = -F(v) - log Z with log Z exact (enumeration
                       of the smaller layer, which must have at most 30
                       units; 20 or fewer is fast);
  method="auto"        (RBM's default) "exact" when the smaller layer has at
                       most 20 units, otherwise "pseudo".
Values v outside {0, 1} are flipped as 1 - v (as scikit-learn does).

Both pickle through the model file bytes (librbm.Machine pickles that way).
"""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .analysis import exact_log_z
from .base import Rng, UnitKind
from .machine import Machine
from .training import Estimator, Trainer

__all__ = ["BernoulliRBM", "RBM"]

_SEED_MAX = 2 ** 31 - 1


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else X


class _RBMBase(TransformerMixin, BaseEstimator):
    """Shared parts: the fitted machine in ``machine_``, parameters exposed
    as scikit-learn attributes, transform, gibbs, score_samples."""

    def _check_input(self, X, reset: bool):
        X = self._validate_data(X, accept_sparse="csr", dtype=(np.float64, np.float32),
                                reset=reset)
        if reset:   # float32 input trains in float32, as scikit-learn keeps the dtype
            self._float32 = X.dtype == np.float32
        return np.ascontiguousarray(_dense(X), dtype=np.float64)

    # -- the parameters of the fitted machine, as scikit-learn names them
    def _machine(self) -> Machine:
        m = self.__dict__.get("machine_")
        if m is None:
            raise AttributeError("this estimator is not fitted yet")
        return m

    @property
    def components_(self) -> np.ndarray:
        """W^T, shape (n_components, n_features) (a copy; assign to set)."""
        return self._machine().weights.T.copy()

    @components_.setter
    def components_(self, value: Any) -> None:
        self._machine().weights = np.asarray(value, dtype=np.float64).T

    @property
    def intercept_hidden_(self) -> np.ndarray:
        """Hidden biases b, shape (n_components,)."""
        return self._machine().hidden_bias

    @intercept_hidden_.setter
    def intercept_hidden_(self, value: Any) -> None:
        self._machine().hidden_bias = value

    @property
    def intercept_visible_(self) -> np.ndarray:
        """Visible biases a, shape (n_features,)."""
        return self._machine().visible_bias

    @intercept_visible_.setter
    def intercept_visible_(self, value: Any) -> None:
        self._machine().visible_bias = value

    def transform(self, X: Any) -> np.ndarray:
        """E[h | v] for each row: shape (n_samples, n_components)."""
        check_is_fitted(self, "machine_")
        X = self._check_input(X, reset=False)
        return np.atleast_2d(self.machine_.hidden_mean(X)).reshape(len(X), -1)

    def gibbs(self, v: Any) -> np.ndarray:
        """One Gibbs step from v: h ~ p(h | v), then v' ~ p(v | h).
        Bernoulli visible units give a bool array (as scikit-learn)."""
        check_is_fitted(self, "machine_")
        v = self._check_input(v, reset=False)
        self.random_state_ = check_random_state(self.random_state_)
        rng = Rng(int(self.random_state_.randint(_SEED_MAX)), self.machine_.context)
        h = self.machine_.sample_hidden(v, rng)
        out = np.atleast_2d(self.machine_.sample_visible(h, rng)).reshape(v.shape)
        return out > 0.5 if self.machine_.visible == UnitKind.BERNOULLI else out

    def _pseudo(self, v: np.ndarray) -> np.ndarray:
        m = self.machine_
        f = np.atleast_1d(m.free_energy(v))
        total = np.zeros(len(v))
        low, high = (0.0, 1.0) if m.visible == UnitKind.BERNOULLI else (-1.0, 1.0)
        for i in range(v.shape[1]):
            w = v.copy()
            w[:, i] = low + high - w[:, i]
            # log p(v_i | v_-i) = -log(1 + exp(F(v) - F(v flipped)))
            total -= np.logaddexp(0.0, f - np.atleast_1d(m.free_energy(w)))
        return total

    def score_samples(self, X: Any, method: Optional[str] = None) -> np.ndarray:
        """Per-sample log-likelihood proxy in nats (see the module docstring
        for the methods): shape (n_samples,)."""
        check_is_fitted(self, "machine_")
        v = self._check_input(X, reset=False)
        m = self.machine_
        method = method or self._default_score
        if method == "auto":
            small = min(m.n_visible if m.visible != UnitKind.GAUSSIAN else 10 ** 9,
                        m.n_hidden if m.hidden != UnitKind.GAUSSIAN else 10 ** 9)
            both_gauss = m.visible == UnitKind.GAUSSIAN and m.hidden == UnitKind.GAUSSIAN
            method = "exact" if small <= 20 or both_gauss else "pseudo"
        if method == "exact":
            return -np.atleast_1d(m.free_energy(v)) - exact_log_z(m)
        if method == "pseudo":
            return self._pseudo(v)
        if method == "stochastic":
            self.random_state_ = check_random_state(self.random_state_)
            rs = self.random_state_
            idx = (np.arange(v.shape[0]), rs.randint(0, v.shape[1], v.shape[0]))
            w = v.copy()
            low_high = 1.0 if m.visible == UnitKind.BERNOULLI else 0.0
            w[idx] = low_high - w[idx]
            f, fw = np.atleast_1d(m.free_energy(v)), np.atleast_1d(m.free_energy(w))
            return -v.shape[1] * np.logaddexp(0.0, f - fw)
        raise ValueError(f"method must be 'pseudo', 'stochastic', 'exact' or 'auto', "
                         f"not {method!r}")

    def __getstate__(self):
        state = super().__getstate__()
        if isinstance(self.__dict__.get("_estimator"), Estimator):
            state["_h_samples"] = self.h_samples_
        # C objects: the chains are rebuilt from h_samples_ when needed
        state.pop("_estimator", None)
        state.pop("_grad", None)
        return state


class BernoulliRBM(_RBMBase):
    """Drop-in for sklearn.neural_network.BernoulliRBM (same parameters,
    attributes and methods; PCD-1), computed by librbm.

    Parameters
    ----------
    n_components : int, default 256     hidden units
    learning_rate : float, default 0.1  SGD step on the mean gradient
    batch_size : int, default 10        minibatch size = persistent chains
    n_iter : int, default 10            passes over the data in fit
    verbose : int, default 0            print the pseudo-likelihood per pass
    random_state : int, RandomState or None
    """

    _default_score = "pseudo"

    def __init__(self, n_components: int = 256, *, learning_rate: float = 0.1,
                 batch_size: int = 10, n_iter: int = 10, verbose: int = 0,
                 random_state: Any = None) -> None:
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state

    @property
    def h_samples_(self) -> np.ndarray:
        """Hidden states of the persistent chains, (batch_size, n_components)."""
        est = self.__dict__.get("_estimator")
        if est is None:
            h = self.__dict__.get("_h_samples")
            if h is None:
                raise AttributeError("this estimator is not fitted yet")
            return h
        return est.sampler.hidden

    def _start(self, n_features: int, rs) -> None:
        m = Machine(n_features, int(self.n_components),
                    precision="float32" if self.__dict__.get("_float32") else "float64")
        m.weights = rs.normal(0, 0.01, (int(self.n_components), n_features)).T
        self.machine_ = m
        self._h_samples = np.zeros((int(self.batch_size), int(self.n_components)))
        self._estimator = None

    def _chains(self, rs) -> Estimator:
        est = self.__dict__.get("_estimator")
        if est is None:
            est = Estimator(self.machine_, "pcd", max_batch=int(self.batch_size),
                            seed=int(rs.randint(_SEED_MAX)), k=1, chains=int(self.batch_size))
            # continue the chains from their hidden states, as scikit-learn
            # starts every negative phase from h_samples_
            rng = Rng(int(rs.randint(_SEED_MAX)), self.machine_.context)
            est.sampler.visible = self.machine_.sample_visible(self._h_samples, rng)
            self._estimator = est
        return est

    def _fit_batch(self, est: Estimator, v: np.ndarray) -> None:
        g = est.compute(v, self.__dict__.get("_grad"))
        self._grad = g
        g.apply(self.machine_, float(self.learning_rate))

    def partial_fit(self, X: Any, y: Any = None) -> "BernoulliRBM":
        """PCD-1 updates on X: one update when X has at most batch_size rows
        (as scikit-learn, which takes all of X as one minibatch), otherwise
        one per batch_size rows (the persistent chains hold batch_size
        states)."""
        first = not hasattr(self, "machine_")
        X = self._check_input(X, reset=first)
        self.random_state_ = check_random_state(
            self.random_state if first else self.__dict__.get("random_state_",
                                                               self.random_state))
        if first:
            self._start(X.shape[1], self.random_state_)
        est = self._chains(self.random_state_)
        if len(X) > est.chains:   # the estimator takes at most batch_size rows
            for s in range(0, len(X), int(self.batch_size)):
                self._fit_batch(est, X[s:s + int(self.batch_size)])
        else:
            self._fit_batch(est, X)
        return self

    def fit(self, X: Any, y: Any = None) -> "BernoulliRBM":
        """Train from scratch: n_iter passes of PCD-1 over X in batches."""
        X = self._check_input(X, reset=True)
        self.random_state_ = rs = check_random_state(self.random_state)
        self._grad = None
        self._start(X.shape[1], rs)
        est = self._chains(rs)
        n = X.shape[0]
        n_batches = int(np.ceil(n / self.batch_size))
        # scikit-learn's gen_even_slices(n_batches * batch_size, n_batches, n)
        bounds = np.linspace(0, n_batches * self.batch_size, n_batches + 1).astype(int)
        bounds = np.minimum(bounds, n)
        for it in range(1, int(self.n_iter) + 1):
            t0 = time.time()
            for s, e in zip(bounds[:-1], bounds[1:]):
                if e > s:
                    self._fit_batch(est, X[s:e])
            if self.verbose:
                print(f"[{type(self).__name__}] Iteration {it}, pseudo-likelihood = "
                      f"{self.score_samples(X).mean():.2f}, time = {time.time() - t0:.2f}s")
        return self

    def _more_tags(self):
        return {"preserves_dtype": [np.float64]}


class RBM(_RBMBase):
    """A general RBM estimator over librbm's trainer.

    Parameters
    ----------
    n_components : int, default 256        hidden units
    visible, hidden : "bernoulli" | "ising" | "gaussian"  unit kinds
    estimator : "cd" | "pcd" | "exact" | "mf" | "tap2" | "tap3" | "pt", default "pcd"
    k : int, default 1                     sweeps / iterations per estimate
    centered : bool, default False         the centred gradient (trainer.h)
    optimizer : "sgd" | "momentum" | "adam", default "sgd"
    learning_rate : float, default 0.01
    momentum : float, default 0.9          (optimizer="momentum")
    l1, l2 : float, default 0              weight decay on W
    batch_size : int, default 100
    n_iter : int, default 10               epochs
    precision : "float64" | "float32"      arithmetic of the training kernels
    sigma_visible, sigma_hidden : float    standard deviations of Gaussian layers
    init_std : float, default 0.01         W ~ N(0, init_std^2)
    init_visible_bias : "data" | "zero"    a from the data means, or zero
    random_state, verbose : as scikit-learn

    Discrete visible units need data in their support ([0, 1] for
    Bernoulli, [-1, 1] for Ising): other values raise
    librbm.OutOfRangeError (a ValueError).
    """

    _default_score = "auto"

    def __init__(self, n_components: int = 256, *, visible: str = "bernoulli",
                 hidden: str = "bernoulli", estimator: str = "pcd", k: int = 1,
                 centered: bool = False, optimizer: str = "sgd",
                 learning_rate: float = 0.01, momentum: float = 0.9,
                 l1: float = 0.0, l2: float = 0.0, batch_size: int = 100, n_iter: int = 10,
                 precision: str = "float64", sigma_visible: float = 1.0,
                 sigma_hidden: float = 1.0, init_std: float = 0.01,
                 init_visible_bias: str = "data", random_state: Any = None,
                 verbose: int = 0) -> None:
        self.n_components = n_components
        self.visible = visible
        self.hidden = hidden
        self.estimator = estimator
        self.k = k
        self.centered = centered
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.l1 = l1
        self.l2 = l2
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.precision = precision
        self.sigma_visible = sigma_visible
        self.sigma_hidden = sigma_hidden
        self.init_std = init_std
        self.init_visible_bias = init_visible_bias
        self.random_state = random_state
        self.verbose = verbose

    def _new_trainer(self, X: np.ndarray, rs) -> None:
        m = Machine(X.shape[1], int(self.n_components), self.visible, self.hidden)
        if m.visible == UnitKind.GAUSSIAN:
            m.sigma_visible = self.sigma_visible
        if m.hidden == UnitKind.GAUSSIAN:
            m.sigma_hidden = self.sigma_hidden
        m.precision = self.precision
        m.init_normal(float(self.init_std), int(rs.randint(_SEED_MAX)))
        if self.init_visible_bias == "data":
            m.init_visible_bias_from_data(X)
        elif self.init_visible_bias != "zero":
            raise ValueError(f"init_visible_bias must be 'data' or 'zero', not "
                             f"{self.init_visible_bias!r}")
        self.machine_ = m
        self._make_trainer(X, rs)

    def _make_trainer(self, X: np.ndarray, rs) -> Trainer:
        bs = max(1, min(int(self.batch_size), len(X)))
        t = Trainer(self.machine_, X, bs, seed=int(rs.randint(_SEED_MAX)),
                    estimator=self.estimator, k=int(self.k), optimizer=self.optimizer,
                    learning_rate=float(self.learning_rate), l1=float(self.l1),
                    l2=float(self.l2), monitor_every=1 if self.verbose else 0,
                    centered=bool(self.centered))
        if t.optimizer.name.lower() == "momentum":
            t.momentum = float(self.momentum)
        self._estimator = t
        return t

    def fit(self, X: Any, y: Any = None) -> "RBM":
        """Train from scratch for n_iter epochs (one C call per epoch)."""
        X = self._check_input(X, reset=True)
        self.random_state_ = rs = check_random_state(self.random_state)
        self._new_trainer(X, rs)
        t = self._estimator
        for it in range(1, int(self.n_iter) + 1):
            t0 = time.time()
            t.run_epochs(1)
            if self.verbose:
                print(f"[RBM] Epoch {it}, reconstruction error = "
                      f"{t.reconstruction_error:.4f}, time = {time.time() - t0:.2f}s")
        self.n_steps_ = t.step_count
        return self

    def partial_fit(self, X: Any, y: Any = None) -> "RBM":
        """One pass over X (a new trainer on X continuing the same machine;
        optimiser moments and chains start afresh for each call)."""
        first = not hasattr(self, "machine_")
        X = self._check_input(X, reset=first)
        self.random_state_ = check_random_state(
            self.random_state if first else self.random_state_)
        if first:
            self._new_trainer(X, self.random_state_)
        else:
            self._make_trainer(X, self.random_state_)
        self._estimator.run_epochs(1)
        self.n_steps_ = getattr(self, "n_steps_", 0) + self._estimator.step_count
        return self
