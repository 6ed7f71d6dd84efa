"""Parallel tempering, BAR log Z, the PT estimator, the centred-gradient
trainer keys and rbm_autocorr_time against independent NumPy references
(enumeration of small machines, AR(1) closed forms)."""
import math

import numpy as np
import pytest

import librbm
import reference as ref


def bimodal_machine(nv=5, nh=3, seed=3, scale=1.6):
    """A small Bernoulli machine with strong couplings (several modes)."""
    return ref.random_machine(librbm, nv, nh, scale=scale, seed=seed)


def exact_visible_probs(m):
    v = ref.states("bernoulli", m.n_visible)
    f = ref.free_energy(m.weights, m.visible_bias, m.hidden_bias, v, "bernoulli")
    logp = -f - np.logaddexp.reduce(-f)
    return v, np.exp(logp)


def state_index(v):
    """Index of a {0,1} row in ref.states order (first unit most significant)."""
    n = v.shape[1]
    return (v.astype(np.int64) * (1 << np.arange(n - 1, -1, -1))).sum(axis=1)


def tv_bound(p, n, fail_prob=1e-6):
    """A bound on the total-variation distance between p and the empirical
    law of n i.i.d. draws that holds with probability >= 1 - fail_prob:
    E[TV] <= 1/2 sum_x sqrt(p_x (1 - p_x) / n) (Jensen), and TV is a
    function of the n draws with bounded differences 1/n, so McDiarmid gives
    P(TV > E[TV] + t) <= exp(-2 n t^2)."""
    mean_bound = 0.5 * np.sqrt(p * (1 - p) / n).sum()
    return mean_bound + math.sqrt(math.log(1 / fail_prob) / (2 * n))


def empirical(v, n_states):
    return np.bincount(state_index(v), minlength=n_states) / len(v)


def test_pt_samples_match_exact_marginals():
    m = bimodal_machine()
    states, p = exact_visible_probs(m)
    n = 4000
    t = librbm.Tempering(m, n_replicas=6, n_chains=n, seed=11)
    assert t.n_replicas == 6 and t.n_chains == n and not t.is_trajectory
    np.testing.assert_allclose(t.betas, np.linspace(0, 1, 6), atol=1e-15)
    t.run(300)
    v = t.visible(-1)
    assert v.shape == (n, m.n_visible)
    assert set(np.unique(v)) <= {0.0, 1.0}
    # Chains of one slot index never exchange with other slots, so the n
    # chains of the top rung are independent draws.
    bound = tv_bound(p, n)
    tv = 0.5 * np.abs(empirical(v, len(p)) - p).sum()
    assert tv < bound
    # the test has teeth: the beta = 0 rung (independent units) is far away
    v0 = t.visible(0)
    assert 0.5 * np.abs(empirical(v0, len(p)) - p).sum() > 2 * bound
    # rung 0 is beta = 0 with the default base biases a_base = 0: uniform
    p0 = np.full(len(p), 1 / len(p))
    assert 0.5 * np.abs(empirical(v0, len(p)) - p0).sum() < tv_bound(p0, n)
    assert t.base_log_z == pytest.approx((m.n_visible + m.n_hidden) * math.log(2), rel=1e-12)
    h = t.hidden(-1)
    assert h.shape == (n, m.n_hidden)
    w = np.concatenate([t.walkers(r) for r in range(t.n_replicas)])
    assert w.dtype == np.uint64
    assert np.array_equal(np.sort(w), np.arange(6 * n, dtype=np.uint64))
    s = t.swap_stats()
    assert s.acceptance.shape == (5,)
    assert np.all((s.acceptance > 0) & (s.acceptance <= 1))
    assert s.round_trips > 0 and s.mean_trip > 0
    t.reset_stats()
    s = t.swap_stats()
    assert s.round_trips == 0 and np.all(np.isnan(s.acceptance)) and math.isnan(s.mean_trip)


def test_same_seed_same_chains_and_refresh_follows_machine():
    m = bimodal_machine()
    t1 = librbm.Tempering(m, 4, n_chains=50, seed=5)
    t2 = librbm.Tempering(m, betas=[0.0, 0.3, 0.6, 1.0], n_chains=50, seed=5)
    t1.run(10)
    t2.run(10)
    t3 = librbm.Tempering(m, 4, n_chains=50, seed=5)
    t3.run(10)
    assert np.array_equal(t1.visible(), t3.visible())
    np.testing.assert_array_equal(t2.betas, [0.0, 0.3, 0.6, 1.0])
    # after refresh the top rung samples the changed machine: with huge
    # positive visible biases every unit is on.
    m.visible_bias = np.full(m.n_visible, 40.0)
    t1.refresh()
    t1.run(3)
    assert np.all(t1.visible(-1) == 1.0)


def test_base_bias_changes_rung_zero():
    m = bimodal_machine()
    t = librbm.Tempering(m, 3, n_chains=2000, seed=1)
    base = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    t.set_base_bias(base)
    t.run(2)
    v0 = t.visible(0)
    p = 1 / (1 + np.exp(-base))
    # base log Z: independent visible units with biases `base`, free hidden
    assert t.base_log_z == pytest.approx(np.logaddexp(0, base).sum() + 3 * math.log(2),
                                         rel=1e-12)
    se = np.sqrt(p * (1 - p) / 2000)
    assert np.all(np.abs(v0.mean(0) - p) < 5 * se)
    with pytest.raises(librbm.ShapeError):
        t.set_base_bias(np.zeros(4))
    with pytest.raises(librbm.NotFiniteError):
        t.set_base_bias([0, 0, np.nan, 0, 0])


def test_bar_log_z_matches_enumeration():
    m = bimodal_machine()
    exact = ref.log_z(m.weights, m.visible_bias, m.hidden_bias, "bernoulli", "bernoulli")
    t = librbm.Tempering(m, 8, n_chains=200, seed=7)
    t.run(50)
    r = t.log_z(200)
    assert r.stderr > 0
    assert abs(r.log_z - exact) < 3 * r.stderr
    # the stderr is informative (not a huge number that always passes)
    assert r.stderr < 0.1
    assert abs(r.exp_fwd - exact) < 0.5 and abs(r.exp_rev - exact) < 0.5
    # the exponential averages carry their own (jackknife) errors
    assert 0 < r.exp_fwd_stderr < 0.5 and 0 < r.exp_rev_stderr < 0.5
    assert abs(r.exp_fwd - exact) < 4 * r.exp_fwd_stderr
    assert abs(r.exp_rev - exact) < 4 * r.exp_rev_stderr


def test_tune_places_an_increasing_ladder():
    m = bimodal_machine(scale=2.0)
    t = librbm.Tempering(m, 3, n_chains=100, seed=2)
    reached = t.tune(target=0.5, max_replicas=20, rounds=10, sweeps_per_round=100)
    b = t.betas
    assert b[0] == 0.0 and b[-1] == 1.0 and np.all(np.diff(b) > 0)
    assert len(b) == t.n_replicas
    assert reached and t.n_replicas > 3  # 3 rungs are too few at this coupling
    t.run(200)
    # measured again on fresh sweeps: at the target up to sampling noise
    # (100 chains x 100 proposals per pair: the standard error is < 0.01)
    assert np.all(t.swap_stats().acceptance > 0.45)
    with pytest.raises(librbm.InvalidArgumentError):
        t.tune(target=1.5)
    with pytest.raises(librbm.InvalidArgumentError):
        t.tune(max_replicas=1)
    assert np.array_equal(t.betas, b)  # an invalid argument changes nothing


def test_trajectory_ladder_and_model_selection():
    base = bimodal_machine()
    models = []
    for s in np.linspace(0.1, 1.0, 10):
        mm = librbm.Machine(5, 3)
        mm.weights = s * base.weights
        mm.visible_bias = base.visible_bias
        mm.hidden_bias = base.hidden_bias
        models.append(mm)
    t = librbm.Tempering.from_models(models, n_chains=2000, seed=3)
    assert t.is_trajectory and t.n_replicas == 11
    with pytest.raises(librbm.UnsupportedError):
        t.betas
    with pytest.raises(librbm.UnsupportedError):
        t.tune()
    with pytest.raises(librbm.UnsupportedError):
        t.set_base_bias(np.zeros(5))
    del models  # copied: the ladder does not need them
    t.run(200)
    _, p = exact_visible_probs(base)
    assert 0.5 * np.abs(empirical(t.visible(-1), len(p)) - p).sum() < tv_bound(p, 2000)
    keep = t.select_models(target=0.3, sweeps=50)
    assert keep[0] == 0 and keep[-1] == 10 and np.all(np.diff(keep) > 0)
    assert t.n_replicas == len(keep) < 11
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.Tempering.from_models([])
    other = librbm.Machine(4, 3)
    with pytest.raises(librbm.ShapeError):
        librbm.Tempering.from_models([base, other])


def test_invalid_ladders_raise():
    m = bimodal_machine()
    with pytest.raises(librbm.InvalidArgumentError, match="."):
        librbm.Tempering(m, 1)
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.Tempering(m, betas=[0.1, 0.5, 1.0])
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.Tempering(m, betas=[0.0, 0.5, 0.9])
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.Tempering(m, betas=[0.0, 0.6, 0.5, 1.0])
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.Tempering(m, librbm.MAX_REPLICAS + 1)
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.Tempering(m, 3, n_chains=0)
    with pytest.raises(librbm.ShapeError):
        librbm.Tempering(m, betas=[[0.0, 1.0]])
    with pytest.raises(librbm.ShapeError):
        librbm.Tempering(m, 4, betas=[0.0, 1.0])
    t = librbm.Tempering(m, 3, n_chains=4)
    with pytest.raises(librbm.InvalidArgumentError):
        t.visible(3)
    with pytest.raises(librbm.InvalidArgumentError):
        t.hidden(-4)
    with pytest.raises(librbm.InvalidArgumentError):
        t.log_z(1)
    with pytest.raises(librbm.UnsupportedError):
        t.select_models()
    t.close()
    with pytest.raises(ValueError):
        t.run()


# ---------------------------------------------------------------- autocorr


def ar1(phi, n_steps, n_series, seed):
    rng = np.random.default_rng(seed)
    x = np.empty((n_steps, n_series))
    x[0] = rng.normal(0, 1 / math.sqrt(1 - phi * phi), n_series)
    e = rng.normal(size=(n_steps, n_series))
    for t in range(1, n_steps):
        x[t] = phi * x[t - 1] + e[t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.6, 0.9, -0.5])
def test_autocorr_time_of_ar1(phi):
    n_steps, n_series = 20000, 4
    x = ar1(phi, n_steps, n_series, seed=int(100 * (phi + 1)))
    r = librbm.autocorr_time(x, 5.0)
    tau = (1 + phi) / (1 - phi)
    assert r.converged and r.window >= 1
    # Sokal's variance of the windowed estimate, var(tau) ~ 2(2M+1)/N tau^2
    # (N the values pooled over chains), plus the truncation bias
    # 2 sum_{t > M} phi^t, bounded by 2 |phi|^(M+1) / (1 - |phi|).
    n = n_steps * n_series
    sd = math.sqrt(2 * (2 * r.window + 1) / n) * max(tau, 1.0)
    bias = 2 * abs(phi) ** (r.window + 1) / (1 - abs(phi))
    assert abs(r.tau - tau) < 5 * sd + bias
    assert r.ess == pytest.approx(n / r.tau, rel=1e-12)


def numpy_tau(x, c):
    """Sokal's windowed tau_int in NumPy: autocovariances at lag t averaged
    over the chains (each centred on its own mean), normalised by T - t."""
    T = x.shape[0]
    y = x - x.mean(0)
    g = np.array([(y[t:] * y[:T - t]).mean() for t in range(T)])
    tau = 1.0
    for M in range(1, T):
        tau += 2 * g[M] / g[0]
        if M >= c * max(tau, 1.0):
            return tau, M, True
    return tau, T - 1, False


@pytest.mark.parametrize("seed,n_steps,n_series,c", [(1, 300, 3, 5.0), (2, 40, 1, 3.0),
                                                     (3, 1000, 2, 8.0), (4, 25, 2, 10.0)])
def test_autocorr_time_matches_numpy(seed, n_steps, n_series, c):
    rng = np.random.default_rng(seed)
    x = ar1(0.7, n_steps, n_series, seed) + rng.normal(0, 0.3, (n_steps, n_series))
    tau, M, ok = numpy_tau(x, c)
    r = librbm.autocorr_time(x, c, strict=False)
    assert r.tau == pytest.approx(tau, rel=1e-10, abs=1e-12)
    assert r.window == M and r.converged == ok
    assert r.ess == pytest.approx(n_steps * n_series / tau, rel=1e-10)


def test_autocorr_time_edges_and_errors():
    r = librbm.autocorr_time(np.ones((10, 2)))
    assert r.tau == 1.0
    # one 1-D chain is accepted
    x = ar1(0.5, 5000, 1, seed=1)[:, 0]
    assert librbm.autocorr_time(x).tau == pytest.approx(3.0, abs=0.6)
    # too short for the window rule (M >= c max(tau, 1) needs M >= 100 with
    # c = 100, and M < 30): strict raises, otherwise a lower bound
    slow = ar1(0.9, 30, 1, seed=2)
    with pytest.raises(librbm.NotConvergedError):
        librbm.autocorr_time(slow, c=100.0)
    r = librbm.autocorr_time(slow, c=100.0, strict=False)
    assert not r.converged and r.window == 29 and r.tau > 1
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.autocorr_time([1.0])
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.autocorr_time(x, c=0.0)
    with pytest.raises(librbm.NotFiniteError):
        librbm.autocorr_time([0.0, np.nan, 1.0])
    with pytest.raises(librbm.ShapeError):
        librbm.autocorr_time(np.zeros((3, 3, 3)))


# ---------------------------------------------------------------- estimator


def exact_model_term(m):
    v, p = exact_visible_probs(m)
    eh = ref.mean("bernoulli", m.hidden_bias + v @ m.weights)
    vh = np.einsum("s,si,sj->sij", p, v, eh)
    return v, p, eh, vh.sum(0), p @ v, p @ eh


def test_pt_estimator_gradient_matches_exact_gradient():
    m = bimodal_machine(nv=5, nh=3, seed=8)
    n = 3000
    e = librbm.Estimator(m, "pt", max_batch=20, seed=4, k=5, chains=n, replicas=6)
    assert e.kind == librbm.EstimatorKind.PT
    assert e.replicas == 6 and e.chains == n and e.retune_every == 0
    data = np.random.default_rng(0).integers(0, 2, (20, 5)).astype(float)
    for _ in range(40):  # burn in: 200 PT sweeps
        g = e.compute(data)
    g = e.compute(data)
    v, p, eh, vh, mv, mh = exact_model_term(m)
    hd = ref.mean("bernoulli", m.hidden_bias + data @ m.weights)
    gw = data.T @ hd / len(data) - vh
    ga = data.mean(0) - mv
    gb = hd.mean(0) - mh
    # the model term is a mean over n independent beta = 1 chains: its
    # standard deviation per entry is that of the statistic under p / sqrt(n)
    sw = np.sqrt(np.einsum("s,si,sj->ij", p, v ** 2, eh ** 2) - vh ** 2) / math.sqrt(n)
    sa = np.sqrt(p @ v ** 2 - mv ** 2) / math.sqrt(n)
    sb = np.sqrt(p @ eh ** 2 - mh ** 2) / math.sqrt(n)
    assert np.all(np.abs(g.weights - gw) < 5 * sw + 1e-12)
    assert np.all(np.abs(g.visible_bias - ga) < 5 * sa + 1e-12)
    assert np.all(np.abs(g.hidden_bias - gb) < 5 * sb + 1e-12)
    # the ladder is exposed and is the estimator's own
    t = e.tempering
    assert t is not None and t.n_replicas == 6 and t.n_chains == n
    np.testing.assert_array_equal(t.visible(-1).shape, (n, 5))
    assert t.swap_stats().acceptance.shape == (5,)
    e.replicas = 4
    with pytest.raises(ValueError, match="replaced"):
        t.n_replicas
    assert e.tempering.n_replicas == 4
    e.retune_every = 3
    assert e.retune_every == 3
    for _ in range(7):
        e.compute(data)
    b = e.tempering.betas
    assert b[0] == 0 and b[-1] == 1 and np.all(np.diff(b) > 0)
    # other kinds have no ladder and refuse the PT keys
    pcd = librbm.Estimator(m, "pcd", max_batch=20)
    assert pcd.tempering is None
    with pytest.raises(librbm.UnsupportedError):
        pcd.retune_every = 2
    with pytest.raises(librbm.InvalidArgumentError):
        e.replicas = 1


def test_pt_trains_a_machine():
    rng = np.random.default_rng(5)
    data = (rng.random((200, 6)) < np.array([0.9, 0.8, 0.1, 0.2, 0.5, 0.7])).astype(float)
    m = librbm.Machine(6, 3)
    m.weights = rng.normal(0, 0.01, (6, 3))
    before = librbm.exact_log_likelihood(m, data)[0]
    t = librbm.Trainer(m, data, 20, seed=1, estimator="pt", k=2, learning_rate=0.05)
    assert t.estimator.kind == librbm.EstimatorKind.PT
    t.run_epochs(20)
    assert librbm.exact_log_likelihood(m, data)[0] > before + 0.5


# ---------------------------------------------------------------- centred


def exact_gradient(m, data):
    """The exact ascent direction (dW, da, db) on a batch, by enumeration,
    and the batch's <E[h|v]>_data."""
    v, p, eh, vh, mv, mh = exact_model_term(m)
    hd = ref.mean("bernoulli", m.hidden_bias + data @ m.weights)
    return (data.T @ hd / len(data) - vh, data.mean(0) - mv, hd.mean(0) - mh), hd.mean(0)


def centre(g, mu, lam):
    """docs/theory.md §12 in the stored parameters."""
    gw, ga, gb = g
    gw2 = gw - np.outer(mu, gb) - np.outer(ga, lam)
    return gw2, ga - gw2 @ lam, gb - gw2.T @ mu


def test_centered_trainer_keys_round_trip_and_centre_the_gradient(tmp_path):
    rng = np.random.default_rng(2)
    data = (rng.random((40, 5)) < 0.7).astype(float)
    m = ref.random_machine(librbm, 5, 3, seed=4)
    nu, lr = 0.25, 0.05
    t = librbm.Trainer(m, data, 40, seed=1, estimator="exact", optimizer="sgd",
                       learning_rate=lr, centered=True, centering_rate=nu)
    assert t.centered is True and t.centering_rate == nu
    b = librbm.Trainer.param_bounds(107)
    assert b.lo == 0 and b.hi == 1 and b.lo_open and not b.hi_open
    assert librbm.Trainer.param_bounds(151).is_boolean
    with pytest.raises(librbm.InvalidArgumentError):
        t.centering_rate = 0.0
    with pytest.raises(librbm.InvalidArgumentError):
        t.centering_rate = 1.5
    assert t.centering_rate == nu  # a refused value changes nothing
    offsets = None
    for step in range(3):
        g, hmean = exact_gradient(m, data)
        target = (data.mean(0) - 0.5 * g[1], hmean - 0.5 * g[2])
        if offsets is None:  # the first step's offsets are its own targets
            offsets = target
        want = centre(g, *offsets)
        W, a, bh = m.weights, m.visible_bias, m.hidden_bias
        t.step()
        got = t.gradient
        np.testing.assert_allclose(got.weights, want[0], atol=1e-10)
        np.testing.assert_allclose(got.visible_bias, want[1], atol=1e-10)
        np.testing.assert_allclose(got.hidden_bias, want[2], atol=1e-10)
        np.testing.assert_allclose(m.weights, W + lr * want[0], atol=1e-12)
        np.testing.assert_allclose(m.visible_bias, a + lr * want[1], atol=1e-12)
        np.testing.assert_allclose(m.hidden_bias, bh + lr * want[2], atol=1e-12)
        # the offsets move toward this step's targets at rate nu
        offsets = tuple((1 - nu) * o + nu * tg for o, tg in zip(offsets, target)) \
            if step > 0 else offsets
    # the centred direction differs from the plain one (the test has teeth)
    assert not np.allclose(centre(g, *offsets)[0], g[0], atol=1e-3)
    ck = tmp_path / "c.ckpt"
    t.save_checkpoint(ck)
    t2 = librbm.Trainer.load_checkpoint(ck, data)
    assert t2.centered is True and t2.centering_rate == nu
    t.step()
    t2.step()
    np.testing.assert_array_equal(t2.machine.weights, m.weights)
    t.centered = False
    assert t.centered is False


def test_sklearn_rbm_with_pt_and_centring():
    from librbm.sklearn import RBM
    rng = np.random.default_rng(9)
    X = (rng.random((300, 6)) < np.array([0.9, 0.8, 0.1, 0.2, 0.5, 0.7])).astype(float)
    r = RBM(n_components=3, estimator="pt", centered=True, k=2, batch_size=30, n_iter=15,
            learning_rate=0.05, random_state=0)
    assert r.get_params()["centered"] is True
    r.fit(X)
    assert r._estimator.centered is True
    assert r._estimator.estimator.kind == librbm.EstimatorKind.PT
    m = r.machine_
    ll = librbm.exact_log_likelihood(m, X)[0]
    # the independent-unit model with the data's means is the best model
    # without couplings; training from it must not fall below it by much and
    # must beat the uniform model clearly
    p = X.mean(0)
    ind = (X * np.log(p) + (1 - X) * np.log(1 - p)).sum(1).mean()
    assert ll > ind - 0.1
    assert ll > -6 * math.log(2) + 1.0
