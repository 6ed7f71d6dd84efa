"""Samplers, estimators, gradients and trainers: the exact gradient against
NumPy enumeration, the trainer against its documented building blocks (bit
for bit), observer callbacks and their exceptions, checkpoints."""
import numpy as np
import pytest

import librbm
import reference as ref


def exact_gradient(W, a, b, v):
    """Likelihood gradient by enumeration of the visible layer (Bernoulli)."""
    vs = ref.states("bernoulli", W.shape[0])
    f = ref.free_energy(W, a, b, vs, "bernoulli")
    p = np.exp(-f - np.logaddexp.reduce(-f))
    hm = ref.mean("bernoulli", b + vs @ W)
    hd = ref.mean("bernoulli", b + v @ W)
    dW = v.T @ hd / len(v) - (vs * p[:, None]).T @ hm
    return dW, v.mean(0) - p @ vs, hd.mean(0) - p @ hm


def test_exact_estimator_against_enumeration():
    m = ref.random_machine(librbm, 6, 4, seed=1)
    v = (np.random.default_rng(2).random((10, 6)) > 0.5).astype(float)
    g = librbm.Estimator(m, "exact", max_batch=10).compute(v)
    dW, da, db = exact_gradient(m.weights, m.visible_bias, m.hidden_bias, v)
    np.testing.assert_allclose(g.weights, dW, atol=1e-12)
    np.testing.assert_allclose(g.visible_bias, da, atol=1e-12)
    np.testing.assert_allclose(g.hidden_bias, db, atol=1e-12)


def test_gradient_from_samples_matches_cd_statistics():
    m = ref.random_machine(librbm, 6, 4, seed=3)
    rng = np.random.default_rng(0)
    v = (rng.random((8, 6)) > 0.5).astype(float)
    vm = (rng.random((8, 6)) > 0.5).astype(float)
    g = librbm.Gradient.from_samples(m, v, vm)
    W, b = m.weights, m.hidden_bias
    hd, hm = ref.mean("bernoulli", b + v @ W), ref.mean("bernoulli", b + vm @ W)
    np.testing.assert_allclose(g.weights, v.T @ hd / 8 - vm.T @ hm / 8, atol=1e-13)
    np.testing.assert_allclose(g.hidden_bias, hd.mean(0) - hm.mean(0), atol=1e-13)
    w0 = m.weights
    g.apply(m, 0.5)
    np.testing.assert_allclose(m.weights, w0 + 0.5 * g.weights, atol=1e-15)
    g2 = librbm.Gradient(m)
    g2.axpy(2.0, g)
    g2.scale(0.25)
    np.testing.assert_allclose(g2.weights, 0.5 * g.weights, atol=1e-15)
    with pytest.raises(librbm.NotFiniteError):
        g2.scale(np.nan)


def test_trainer_equals_building_blocks_bit_for_bit():
    data = librbm.Dataset.synthetic(230, n_dims=12, seed=5)
    m1 = librbm.Machine(12, 5)
    m1.init_normal(0.1, 2)
    m2 = m1.copy()
    t = librbm.Trainer(m1, data, 50, seed=9, estimator="pcd", k=2, learning_rate=0.05)
    it = data.batches(50, shuffle=True, seed=9)
    e = librbm.Estimator(m2, "pcd", 50, librbm.seed_derive(9, 6), k=2)
    g = librbm.Gradient(m2)
    statuses = []
    for _ in range(2 * it.batches_per_epoch):
        statuses.append(t.step())
        batch, _ = it.next_batch()
        e.compute(batch, g)
        g.apply(m2, 0.05)
    np.testing.assert_array_equal(m1.weights, m2.weights)
    np.testing.assert_array_equal(m1.hidden_bias, m2.hidden_bias)
    assert statuses.count(librbm.Status.DONE) == 2 and t.epoch_count == 2
    assert t.step_count == 10 and t.learning_rate == 0.05
    np.testing.assert_array_equal(t.gradient.weights, g.weights)
    assert t.estimator.kind == librbm.EstimatorKind.PCD and t.estimator.k == 2
    assert t.estimator.sampler.n_chains == 50


def test_observer_stop_and_exception():
    data = librbm.Dataset.synthetic(100, n_dims=8, seed=1)
    m = librbm.Machine(8, 3)
    seen = []
    t = librbm.Trainer(m, data, 10, observer=lambda tr: seen.append(tr.step_count) or
                       tr.step_count == 4)
    assert t.run_epochs(3) == librbm.Status.STOPPED
    assert seen == [1, 2, 3, 4] and t.step_count == 4

    class Boom(Exception):
        pass

    def bad(tr):
        if tr.step_count == 6:
            raise Boom("from the observer")

    t.set_observer(bad)
    with pytest.raises(Boom, match="from the observer"):
        t.run_epochs(1)
    assert t.step_count == 6          # the step that raised is kept, the run stopped
    t.set_observer(None)
    assert t.run_epochs(1) == librbm.Status.OK and t.epoch_count >= 1


def test_optimizers_and_params():
    data = librbm.Dataset.synthetic(60, n_dims=6, seed=1)
    t = librbm.Trainer(librbm.Machine(6, 2), data, 20, optimizer="adam", l2=1e-3,
                       monitor_every=0)
    assert t.optimizer == librbm.Optimizer.ADAM and t.l2 == 1e-3 and t.monitor_every == 0
    b = librbm.Trainer.param_bounds(100)
    assert b.lo == 0 and b.lo_open and not b.is_integer
    with pytest.raises(librbm.InvalidArgumentError, match="LEARNING_RATE"):
        t.learning_rate = -1
    t.run_epochs(1)
    assert np.isnan(t.reconstruction_error)
    g = librbm.Gradient(t.machine)
    g.weights = np.ones((6, 2))
    s = t.step_count
    t.apply_gradient(g)
    assert t.step_count == s + 1


def test_checkpoint_resume_is_bit_identical(tmp_path):
    x = librbm.Dataset.synthetic(120, n_dims=10, seed=2).to_numpy()
    m = librbm.Machine(10, 4)
    m.init_normal(0.05, 1)
    t = librbm.Trainer(m, x, 20, seed=3, optimizer="momentum")
    t.run_epochs(1)
    t.save_checkpoint(tmp_path / "c.rbm")
    t.run_epochs(2)
    t2 = librbm.Trainer.load_checkpoint(tmp_path / "c.rbm", x)
    assert t2.epoch_count == 1 and t2.optimizer == librbm.Optimizer.MOMENTUM
    t2.run_epochs(2)
    np.testing.assert_array_equal(t.machine.weights, t2.machine.weights)
    # a checkpoint is a model file too
    assert librbm.Machine.load(tmp_path / "c.rbm").shape == (10, 4)
    with pytest.raises(librbm.ShapeError):
        librbm.Trainer.load_checkpoint(tmp_path / "c.rbm", x[:100])


def test_sampler_chains():
    m = ref.random_machine(librbm, 5, 3, seed=4)
    s = librbm.Sampler(m, 6, seed=1)
    s.visible = np.ones((6, 5))
    np.testing.assert_array_equal(s.visible, np.ones((6, 5)))
    s.run(3)
    assert set(np.unique(s.visible)) <= {0.0, 1.0} and s.hidden.shape == (6, 3)
    st = s.rng.state
    s.run(2)
    v1 = s.visible
    s2 = librbm.Sampler(m, 6, seed=1)
    s2.visible = np.ones((6, 5))
    s2.run(5)
    np.testing.assert_array_equal(v1, s2.visible)
    assert len(st) == 48
    s.init_from_data(np.zeros((3, 5)))
    assert not s.visible.any()


def test_estimator_view_closed_when_trainer_replaces_it():
    """rbm_trainer_set_estimator frees the old estimator: a view taken
    before (and the chains view under it) must refuse use, not read freed
    memory; a view taken after works, and a refused replacement keeps the
    old view usable."""
    data = librbm.Dataset.synthetic(100, n_dims=8, seed=1)
    m = librbm.Machine(8, 4)
    m.init_normal(0.1, 1)
    t = librbm.Trainer(m, data, 20, seed=2, estimator="pcd", k=1)
    old = t.estimator
    chains = old.sampler
    assert old.kind == librbm.EstimatorKind.PCD and chains is not None
    with pytest.raises(librbm.Error):
        t.set_estimator("pcd", 0)  # k = 0 is refused: nothing replaced
    assert old.k == 1 and not old.closed
    t.set_estimator("cd", 3)
    assert old.closed and chains.closed
    with pytest.raises(ValueError):
        old.kind
    with pytest.raises(ValueError):
        chains.n_chains
    new = t.estimator
    assert new.kind == librbm.EstimatorKind.CD and new.k == 3
    t.step()
    t.close()
    m.close()
