"""scikit-learn compatibility: sklearn's own estimator checks, the
BernoulliRBM drop-in against sklearn.neural_network.BernoulliRBM, pickling,
score_samples."""
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import librbm  # noqa: E402
from librbm.sklearn import RBM, BernoulliRBM  # noqa: E402


def binary_data(n=200, d=16, seed=0):
    return librbm.Dataset.synthetic(n, n_dims=d, seed=seed).to_numpy()


def test_check_estimator_bernoulli_rbm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(BernoulliRBM(n_components=8, n_iter=3))


def test_check_estimator_general_rbm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(RBM(n_components=6, visible="gaussian", n_iter=2, batch_size=10,
                            learning_rate=0.001))


def test_same_parameters_and_attributes_as_sklearn():
    ours, theirs = BernoulliRBM().get_params(), SkBernoulliRBM().get_params()
    assert ours == theirs
    X = binary_data(100, 12)
    a = BernoulliRBM(n_components=5, n_iter=2, random_state=0).fit(X)
    b = SkBernoulliRBM(n_components=5, n_iter=2, random_state=0).fit(X)
    for name in ["components_", "intercept_visible_", "intercept_hidden_", "h_samples_"]:
        assert getattr(a, name).shape == getattr(b, name).shape, name
    assert a.n_features_in_ == b.n_features_in_ == 12
    assert a.transform(X).shape == b.transform(X).shape == (100, 5)
    assert a.gibbs(X[:3]).dtype == b.gibbs(X[:3]).dtype == bool
    assert a.score_samples(X).shape == (100,)
    assert a.fit_transform(X).shape == (100, 5)
    a.partial_fit(X[:10])


def test_same_learning_as_sklearn():
    """Both learn the synthetic clusters: the exact log-likelihood of the
    two trained models (evaluated by librbm, enumeration of 8 hidden units)
    is within 5% of each other and far above the untrained model's."""
    X = binary_data(600, 20, seed=3)
    ours = BernoulliRBM(n_components=8, n_iter=15, learning_rate=0.05, random_state=1).fit(X)
    sk = SkBernoulliRBM(n_components=8, n_iter=15, learning_rate=0.05, random_state=1).fit(X)
    m = librbm.Machine(20, 8)
    m.weights, m.visible_bias, m.hidden_bias = (sk.components_.T, sk.intercept_visible_,
                                                sk.intercept_hidden_)
    ll_ours = ours.score_samples(X, method="exact").mean()
    ll_sk = -m.free_energy(X).mean() - librbm.exact_log_z(m)
    ll_zero = -20 * np.log(2)
    assert ll_ours > ll_zero + 2 and ll_sk > ll_zero + 2
    assert abs(ll_ours - ll_sk) < 0.05 * abs(ll_sk), (ll_ours, ll_sk)


def test_score_samples_methods():
    X = binary_data(50, 10)
    r = BernoulliRBM(n_components=4, n_iter=5, random_state=0).fit(X)
    m = r.machine_
    # exact log-likelihood: -F(v) - log Z by NumPy enumeration of the visible layer
    import itertools
    vs = np.array(list(itertools.product([0.0, 1.0], repeat=10)))
    W, a, b = m.weights, m.visible_bias, m.hidden_bias
    F = lambda v: -v @ a - np.logaddexp(0, b + v @ W).sum(1)  # noqa: E731
    logz = np.logaddexp.reduce(-F(vs))
    np.testing.assert_allclose(r.score_samples(X, method="exact"), -F(X) - logz, atol=1e-10)
    # exact pseudo-likelihood: each unit's conditional by NumPy, and the C metric's mean
    pl = np.zeros(len(X))
    for i in range(10):
        Xf = X.copy()
        Xf[:, i] = 1 - Xf[:, i]
        pl += -np.logaddexp(0, F(X) - F(Xf))
    np.testing.assert_allclose(r.score_samples(X), pl, atol=1e-10)
    assert r.score_samples(X).mean() == pytest.approx(librbm.pseudo_log_likelihood(m, X),
                                                      abs=1e-10)
    # sklearn's stochastic one-flip estimate: unbiased for the same quantity
    reps = np.mean([r.score_samples(X, method="stochastic") for _ in range(300)], axis=0)
    assert abs(reps.mean() - pl.mean()) < 0.05 * abs(pl.mean())


def test_pickle_roundtrip():
    X = binary_data(80, 10)
    for est in (BernoulliRBM(n_components=4, n_iter=2, random_state=0),
                RBM(n_components=4, n_iter=2, batch_size=20, random_state=0)):
        est.fit(X)
        est2 = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(est.transform(X), est2.transform(X))
        np.testing.assert_array_equal(est.components_, est2.components_)
        est2.partial_fit(X)   # training continues after unpickling


def test_general_rbm_options():
    X = binary_data(200, 12)
    r = RBM(n_components=6, estimator="tap2", optimizer="adam", learning_rate=0.01,
            batch_size=50, n_iter=3, precision="float32", random_state=0).fit(X)
    assert r.machine_.precision == librbm.Precision.FLOAT32
    assert r.n_steps_ == 12
    assert np.isfinite(r.score_samples(X)).all()
    ising = RBM(n_components=4, visible="ising", hidden="ising", n_iter=2, batch_size=20,
                random_state=0).fit(2 * X - 1)
    assert ising.machine_.visible == librbm.UnitKind.ISING
    with pytest.raises(librbm.OutOfRangeError):
        RBM(n_components=3, n_iter=1).fit(X * 3)
