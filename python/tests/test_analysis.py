"""Metrics, AIS, SVD, mode tracking, the Gauss-Gauss dynamics, mean field
and the ensemble phase diagram, each against an independent NumPy
computation (or a second method of the library where noted)."""
import numpy as np
import pytest

import librbm
import reference as ref


def sig(x):
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------- metrics

def test_likelihood_metrics_against_numpy():
    m = ref.random_machine(librbm, 8, 5, seed=4)
    W, a, b = m.weights, m.visible_bias, m.hidden_bias
    X = (np.random.default_rng(1).random((40, 8)) > 0.5).astype(float)
    F = ref.free_energy(W, a, b, X, "bernoulli")
    logz = ref.log_z(W, a, b, "bernoulli", "bernoulli")
    assert librbm.mean_free_energy(m, X) == pytest.approx(F.mean(), rel=1e-12)
    assert librbm.log_likelihood(m, X, 3.0) == pytest.approx(-F.mean() - 3.0, rel=1e-12)
    ll, lz = librbm.exact_log_likelihood(m, X)
    assert lz == pytest.approx(logz, rel=1e-12) and ll == pytest.approx(-F.mean() - logz)
    pl = np.zeros(len(X))
    for i in range(8):
        Xf = X.copy()
        Xf[:, i] = 1 - X[:, i]
        pl -= np.logaddexp(0, F - ref.free_energy(W, a, b, Xf, "bernoulli"))
    assert librbm.pseudo_log_likelihood(m, X) == pytest.approx(pl.mean(), rel=1e-11)
    rec = sig(a + sig(b + X @ W) @ W.T)
    assert librbm.reconstruction_error(m, X) == pytest.approx(((X - rec) ** 2).mean(), rel=1e-11)
    Y = X[::-1, ::-1].copy()
    gap = ref.free_energy(W, a, b, Y, "bernoulli").mean() - F.mean()
    assert librbm.free_energy_gap(m, X, Y) == pytest.approx(gap, rel=1e-10, abs=1e-12)


def test_ais_brackets_exact_log_z():
    m = ref.random_machine(librbm, 14, 8, scale=0.4, seed=2)
    exact = librbm.exact_log_z(m)
    ais = librbm.AIS(m, seed=3, runs=100, n_betas=2000)
    fwd = ais.run()
    rev = ais.run(reverse=True)
    assert fwd.stderr > 0 and rev.stderr > 0
    assert abs(fwd.log_z - exact) < 4 * fwd.stderr + 0.02
    assert abs(rev.log_z - exact) < 4 * rev.stderr + 0.02
    assert ais.base_log_z == pytest.approx((14 + 8) * np.log(2))   # uniform base: W = a = b = 0
    # the progress callback reaches 1 and can cancel
    seen = []
    ais.set_runs(4)
    ais.run(progress=lambda f: seen.append(f))
    assert seen and seen[-1] == pytest.approx(1.0)
    assert ais.run(progress=lambda f: f > 0.3).stopped

    def boom(f):
        raise KeyError("progress")
    with pytest.raises(KeyError):
        ais.run(progress=boom)


# ---------------------------------------------------------------- svd

def test_svd_against_numpy():
    m = ref.random_machine(librbm, 9, 6, seed=5)
    W = m.weights
    s = librbm.SVD(m)
    U, w, Vt = np.linalg.svd(W, full_matrices=False)
    np.testing.assert_allclose(s.singular_values, w, rtol=1e-12)
    Us, Vs = s.left_vectors, s.right_vectors
    np.testing.assert_allclose(np.abs(Us), np.abs(U), atol=1e-10)
    np.testing.assert_allclose(Us * s.singular_values @ Vs.T, W, atol=1e-12)
    # sign convention: the largest-magnitude entry of each u is positive
    assert np.all(Us[np.abs(Us).argmax(0), np.arange(6)] > 0)
    x = np.random.default_rng(0).random((5, 9))
    np.testing.assert_allclose(s.project_visible(x, 3), x @ Us[:, :3], atol=1e-12)
    h = np.random.default_rng(1).random((4, 6))
    np.testing.assert_allclose(s.project_hidden(h), h @ Vs, atol=1e-12)
    np.testing.assert_allclose(s.project_dataset(x, 2), x @ Us[:, :2], atol=1e-12)
    g = librbm.Gradient(m)
    dW = np.random.default_rng(2).normal(size=(9, 6))
    g.weights = dW
    pg = s.project_gradient(g, 3)
    np.testing.assert_allclose(pg.G, Us[:, :3].T @ dW @ Vs[:, :3], atol=1e-12)
    np.testing.assert_allclose(pg.omega_v, -pg.omega_v.T, atol=1e-12)
    data = np.random.default_rng(3).normal(size=(300, 9))
    ov, eig = s.pca_overlaps(data, 3)
    ev, evec = np.linalg.eigh(np.cov(data.T, bias=True))
    np.testing.assert_allclose(eig, ev[::-1][:3], rtol=1e-10)
    np.testing.assert_allclose(ov, np.abs(Us[:, :3].T @ evec[:, ::-1][:, :3]), atol=1e-9)
    m.init_zero()
    s.update(m)
    assert s.bulk() == librbm.Bulk(0.0, 0.0, 0)


def test_mode_tracker_and_bulk(tmp_path):
    rng = np.random.default_rng(0)
    nv, nh = 200, 100
    noise = rng.normal(0, 1 / np.sqrt(np.sqrt(nv * nh)), (nv, nh))   # sigma = 1
    u, v = rng.normal(size=nv), rng.normal(size=nh)
    m = librbm.Machine(nv, nh)
    m.weights = noise + 4 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    b = librbm.SVD(m).bulk()
    kappa = nh / nv
    assert b.n_outside == 1
    assert b.sigma == pytest.approx(1.0, rel=0.1)
    assert b.edge == pytest.approx(b.sigma * (kappa ** 0.25 + kappa ** -0.25), rel=1e-12)
    t = librbm.ModeTracker(m, 3)
    t.record(0)
    m.weights = m.weights * 1.5
    t.record(10)
    steps, w, edge, nout = t.records()
    assert list(steps) == [0, 10]
    np.testing.assert_allclose(w[1], 1.5 * w[0], rtol=1e-9)
    t.write_csv(tmp_path / "modes.csv")
    csv = np.loadtxt(tmp_path / "modes.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(csv[:, 3:], w, rtol=1e-15)


def test_init_pca():
    data = np.random.default_rng(0).normal(size=(500, 6)) * np.array([5, 3, 1, 1, 1, 1])
    m = librbm.Machine(6, 4, "gaussian", "bernoulli")
    m.init_pca(data, 2, 0.1)
    W = m.weights
    assert np.allclose(W[:, 2:], 0) and abs(abs(W[0, 0]) - 0.1) < 0.01


# ---------------------------------------------------------------- linear

def gauss_machine(nv, nh, scale, sv=1.0, sh=1.0, seed=0):
    m = librbm.Machine(nv, nh, "gaussian", "gaussian")
    m.sigma_visible, m.sigma_hidden = sv, sh
    m.weights = np.random.default_rng(seed).normal(0, scale, (nv, nh))
    return m


def test_linear_closed_forms():
    m = gauss_machine(5, 3, 0.1, sv=0.9, sh=1.1)
    W = m.weights
    Cm = np.linalg.inv(np.eye(5) / 0.81 - 1.21 * W @ W.T)
    np.testing.assert_allclose(librbm.linear_model_covariance(m), Cm, rtol=1e-10)
    C = np.cov(np.random.default_rng(1).normal(size=(400, 5)).T, bias=True)
    np.testing.assert_allclose(librbm.linear_gradient(m, C), 1.21 * (C - Cm) @ W, rtol=1e-9,
                               atol=1e-12)
    lam = np.array([3.0, 0.5, 1.2])
    want = np.where(lam > 0.81, np.sqrt(np.clip(lam - 0.81, 0, None) / (0.81 * 1.21 * lam)), 0)
    np.testing.assert_allclose(librbm.linear_fixed_points(lam, 0.9, 1.1), want, rtol=1e-13)
    with pytest.raises(librbm.InvalidArgumentError):
        librbm.linear_fixed_points([-1.0])


def test_linear_integration_matches_mode_closed_form():
    # W aligned with the eigenvectors of a diagonal C: every mode follows
    # the one-mode closed form (a second, independent method)
    lam = np.array([4.0, 2.0, 0.5])
    C = np.diag(np.concatenate([lam, [0.3, 0.2]]))
    m = librbm.Machine(5, 3, "gaussian", "gaussian")
    w0 = np.array([0.1, 0.05, 0.2])
    W = np.zeros((5, 3))
    W[[0, 1, 2], [0, 1, 2]] = w0
    m.weights = W
    traj = librbm.linear_integrate(m, C, 2.0, n_out=5, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj.times, np.linspace(0, 2, 5))
    for k, t in enumerate(traj.times):
        want = sorted((librbm.linear_mode_trajectory(l, w, t) for l, w in zip(lam, w0)),
                      reverse=True)
        np.testing.assert_allclose(traj.singular_values[k], want, rtol=1e-6)
    assert librbm.linear_mode_trajectory(4.0, 0.1, 0.0) == 0.1
    assert librbm.linear_mode_trajectory(4.0, 0.1, 200.0) == pytest.approx(
        librbm.linear_fixed_points([4.0])[0], rel=1e-9)


# ---------------------------------------------------------------- mean field

def entropy(m):
    return -(m * np.log(m) + (1 - m) * np.log(1 - m))


def test_naive_and_tap_free_energy_formulas():
    m = ref.random_machine(librbm, 6, 4, scale=0.3, seed=7)
    W, a, b = m.weights, m.visible_bias, m.hidden_bias
    rng = np.random.default_rng(0)
    mv, mh = rng.uniform(0.1, 0.9, 6), rng.uniform(0.1, 0.9, 4)
    naive = -(entropy(mv).sum() + entropy(mh).sum() + a @ mv + b @ mh + mv @ W @ mh)
    cv, ch = mv - mv ** 2, mh - mh ** 2
    tap2 = naive - 0.5 * (cv @ (W ** 2) @ ch)
    assert librbm.MeanField(m, "naive").free_energy(mv, mh) == pytest.approx(naive, rel=1e-12)
    s = librbm.MeanField(m, "tap2")
    assert s.free_energy(mv, mh) == pytest.approx(tap2, rel=1e-12)
    np.testing.assert_allclose(s.variances(mv, mh)[0], cv, rtol=1e-13)
    np.testing.assert_allclose(s.weight_gradient(mv, mh), np.outer(mv, mh) + W * np.outer(cv, ch),
                               rtol=1e-12)
    # gradient and Hessian against central finite differences of Gamma
    gv, gh = s.gradient(mv, mh)
    eps = 1e-6
    fd = [(s.free_energy(mv + eps * e, mh) - s.free_energy(mv - eps * e, mh)) / (2 * eps)
          for e in np.eye(6)]
    np.testing.assert_allclose(gv, fd, rtol=1e-6, atol=1e-8)
    H = s.hessian(mv, mh)
    e0 = np.eye(6)[0]
    col = (np.concatenate(s.gradient(mv + eps * e0, mh)) -
           np.concatenate(s.gradient(mv - eps * e0, mh))) / (2 * eps)
    np.testing.assert_allclose(H[:, 0], col, rtol=1e-5, atol=1e-7)


def test_fixed_points_and_tap_log_z():
    m = ref.random_machine(librbm, 10, 6, scale=0.15, seed=8)
    W, a, b = m.weights, m.visible_bias, m.hidden_bias
    s = librbm.MeanField(m, "naive")
    sol = s.solve(np.full(10, 0.5))
    assert sol.converged and sol.residual < 1e-9
    np.testing.assert_allclose(sol.mv, sig(a + W @ sol.mh), atol=1e-9)
    np.testing.assert_allclose(sol.mh, sig(b + W.T @ sol.mv), atol=1e-9)
    tap = librbm.MeanField(m, "tap2")
    pts = tap.fixed_points_random(20, seed=1)
    assert len(pts) == 1 and pts.n_starts == 20 and pts[0].stable   # weak couplings: one state
    lz, best, used = pts.log_z()
    exact = librbm.exact_log_z(m)
    # TAP2 is exact to second order in W: the error is far below the naive one
    naive_lz = s.fixed_points_random(5, seed=1).log_z()[0]
    assert abs(lz - exact) < 0.25 * abs(naive_lz - exact) and abs(lz - exact) < 0.02
    assert pts.visible.shape == (1, 10) and pts.hidden.shape == (1, 6)
    pv, ph = pts.project(librbm.SVD(m), 2)
    np.testing.assert_allclose(pv, pts.visible @ librbm.SVD(m).left_vectors[:, :2], atol=1e-12)
    pd = tap.fixed_points_data(np.eye(10), 10)
    assert len(pd) >= 1
    pc = tap.fixed_points(np.full((2, 10), 0.5))
    assert len(pc) == 1 and pc[0].multiplicity == 2
    not_conv = librbm.MeanField(m, "naive", max_iterations=1).solve(np.full(10, 0.5))
    assert not not_conv.converged


def test_mf_dynamics_step_moves_w():
    m = ref.random_machine(librbm, 10, 4, scale=0.05, seed=1, visible="ising", hidden="ising")
    s = librbm.MeanField(m, "tap2")
    data = librbm.Dataset.synthetic(100, n_dims=10, kind="ising", seed=2)
    w0 = m.weights
    assert s.dynamics_step(data, 20, 0.1) >= 1
    assert not np.allclose(m.weights, w0)


# ---------------------------------------------------------------- phase

def test_phase_lines_and_rs_solution():
    assert librbm.phase_line_pf(0.5, 1.3) == pytest.approx(1.3)
    assert librbm.phase_line_psg(0.8, 0.5) == pytest.approx(0.8)
    wc, q, qb = librbm.phase_line_fsg(1.0, 1.0, 0.0)
    assert wc == pytest.approx(np.sqrt(np.pi / 2), rel=1e-8) and q == qb == 1.0
    wc, q, qb = librbm.phase_line_fsg(1.0, 0.5, 1.0)
    assert wc == pytest.approx(1.0) and q == 0 and qb == 0
    # sigma = 0, kappa = 1, one Rademacher mode: m = tanh(w mbar), mbar = tanh(w m)
    e = librbm.Ensemble([1.5], sigma=0.0, temperature=1.0)
    sol = e.solve([1.0], [1.0], 1.0, 1.0)
    mm = 1.0
    for _ in range(10000):
        mm = np.tanh(1.5 * np.tanh(1.5 * mm))
    assert sol.m[0] == pytest.approx(mm, abs=1e-9) and sol.mbar[0] == pytest.approx(mm, abs=1e-9)
    assert e.phase().phase == librbm.Phase.FERROMAGNETIC
    e.modes = [0.5]
    assert e.phase().phase == librbm.Phase.PARAMAGNETIC
    e.sigma = 2.0
    e.modes = [0.5]
    assert e.phase().phase == librbm.Phase.SPIN_GLASS
    assert librbm.component_law_kurtosis("laplace") == pytest.approx(6.0)
    e.set_law("visible", "ternary", 0.25)
    assert e.law("visible") == (librbm.ComponentLaw.TERNARY, 0.25)
    # replicon: the paramagnet's (sigma/T)^4, and a Gaussian-law ferromagnet
    # against its Stein form (kappa 1: H ~ N(0, s^2), E tanh^2(s z) = q)
    e = librbm.Ensemble([0.5], sigma=0.8, temperature=1.1)
    assert e.phase().phase == librbm.Phase.PARAMAGNETIC
    assert e.replicon() == pytest.approx((0.8 / 1.1) ** 4, rel=1e-12)
    e = librbm.Ensemble([1.6], sigma=1.0, temperature=0.5)
    e.set_law("visible", "gaussian")
    e.set_law("hidden", "gaussian")
    assert e.phase().phase == librbm.Phase.FERROMAGNETIC
    sol = e.solution()
    s = np.sqrt((1.6 * sol.mbar[0]) ** 2 + sol.qbar) / 0.5
    z, dz = np.linspace(-12, 12, 24001, retstep=True)
    es4 = np.sum(np.cosh(s * z) ** -4 * np.exp(-z * z / 2)) * dz / np.sqrt(2 * np.pi)
    assert e.replicon() == pytest.approx(es4 ** 2 / 0.5 ** 4, rel=1e-8)
    e.modes = [1.2]
    with pytest.raises(librbm.StateError):
        e.replicon()
    d = librbm.Ensemble([1.0], sigma=0.0).diagram("temperature", [0.5, 2.0], [0.2, 3.0])
    # P-F line w_c = T: (T=0.5, w=3) and (T=2, w=3) ferro; (T=0.5, w=0.2), (T=2, w=0.2) para
    np.testing.assert_array_equal(d.phase, [[0, 0], [1, 1]])


def test_machine_on_the_diagram():
    rng = np.random.default_rng(0)
    nv, nh = 200, 200
    m = librbm.Machine(nv, nh, "ising", "ising")
    u = rng.choice([-1.0, 1.0], nv) / np.sqrt(nv)
    v = rng.choice([-1.0, 1.0], nh) / np.sqrt(nh)
    m.weights = rng.normal(0, 0.5 / np.sqrt(np.sqrt(nv * nh)), (nv, nh)) + 3 * np.outer(u, v)
    r = librbm.machine_phase(m)
    assert r.phase == librbm.Phase.FERROMAGNETIC and len(r.modes) == 1
    assert r.sigma == pytest.approx(0.5, rel=0.15) and r.modes[0] == pytest.approx(3, rel=0.1)
    assert r.kurtosis[0] < 2   # Rademacher components
    e = librbm.Ensemble.from_machine(m)
    assert e.kappa == pytest.approx(1.0) and e.modes[0] == pytest.approx(r.modes[0])


def test_remaining_wrappers():
    # AIS: an explicit schedule equal to the uniform one gives the same estimate
    m = ref.random_machine(librbm, 10, 6, scale=0.3, seed=9)
    a1 = librbm.AIS(m, seed=5, runs=10, n_betas=300).run()
    ais = librbm.AIS(m, seed=5, runs=10)
    ais.set_schedule(np.linspace(0, 1, 300))
    ais.set_reverse_burn_in(10)
    a2 = ais.run()
    assert a2.log_z == pytest.approx(a1.log_z, abs=1e-9) and not a2.stopped
    with pytest.raises(librbm.InvalidArgumentError):
        ais.set_schedule([0.0, 0.7, 0.5, 1.0])
    # ensemble: the kurtosis criterion is kappa (K_u - 3) + (K_v - 3)
    e = librbm.Ensemble([1.2], kappa=2.0)
    e.set_law("visible", "laplace")
    e.set_law("hidden", "ternary", 0.5)
    want = 2.0 * (librbm.component_law_kurtosis("laplace") - 3) + \
        (librbm.component_law_kurtosis("ternary", 0.5) - 3)
    assert e.kurtosis_criterion() == pytest.approx(want, rel=1e-12)
    assert want == pytest.approx(2 * 3 + (2 - 3))
    e.solve([0.5], [0.5], 0.5, 0.5)
    assert e.iteration_count > 0 and e.solution().q >= 0
    assert np.isnan(e.machine_kurtosis("visible"))      # not built from a machine
    assert librbm.Ensemble.param_bounds(400).lo_open
    assert librbm.MeanField.param_bounds(350).is_integer


def test_dataset_formats_and_limits(tmp_path):
    x = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "x.data", x)                    # numpy adds .npy
    p = tmp_path / "x.data.npy"
    np.testing.assert_array_equal(librbm.Dataset.load(p, format="npy").to_numpy(), x)
    np.savetxt(tmp_path / "x.txt", x, delimiter=",")
    d = librbm.Dataset.load(tmp_path / "x.txt", format="csv", csv_header=False)
    assert d.header_rows == 0 and d.shape == (4, 3)
    d = librbm.Dataset.load(tmp_path / "x.txt", csv_header=True)
    assert d.header_rows == 1 and d.rows == 3          # the first line skipped as a header
    ctx = librbm.Context()
    ctx.max_data_bytes = 64                            # 4 x 3 doubles = 96 bytes
    with pytest.raises(librbm.TooLargeError, match="64"):
        librbm.Dataset.load(p, ctx)
    r = librbm.Rng(3)
    z = r.normal(20000)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
