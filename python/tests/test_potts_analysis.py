"""Potts machines in the analysis modules, against NumPy: naive mean field
and TAP2 (docs/theory.md §4.7) iterated here from the equations, exact
marginals by enumeration, the SVD's per-site view, and alignments read from
files written here."""
import gzip
import itertools

import numpy as np
import pytest

import librbm

N, Q, NH = 4, 3, 3
PROTEIN = "-ACDEFGHIKLMNPQRSTVWY"


def machine(seed, scale, hidden="bernoulli"):
    rng = np.random.default_rng(seed)
    m = librbm.Machine.potts(N, Q, NH, hidden)
    m.weights = scale * rng.normal(size=(N * Q, NH))
    m.visible_bias = rng.normal(size=N * Q)
    m.hidden_bias = 0.5 * rng.normal(size=NH)
    return m


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_mean_field(W, a, b, tap, iters=20000, damping=0.5):
    """Naive MF (tap False) or TAP2 for Bernoulli hidden units, alternating
    damped updates as the library does, written from the equations with the
    (W_icj - wbar_ij)^2 form of the visible reaction term."""
    Wr = W.reshape(N, Q, NH)
    mv = np.full(N * Q, 1.0 / Q)
    mh = sigmoid(b + mv @ W)
    for _ in range(iters):
        M = mv.reshape(N, Q)
        wbar = np.einsum("ic,icj->ij", M, Wr)
        S_h = (np.einsum("ic,icj->ij", M, Wr ** 2) - wbar ** 2).sum(axis=0)
        xh = b + mv @ W + (0.5 * (1 - 2 * mh) * S_h if tap else 0)
        new_h = sigmoid(xh)
        mh = mh + damping * (new_h - mh)
        ch = mh - mh ** 2
        xv = (a + W @ mh).reshape(N, Q)
        if tap:
            xv = xv + 0.5 * np.einsum("j,icj->ic", ch, (Wr - wbar[:, None, :]) ** 2)
        p = np.exp(xv - xv.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        new_v = p.reshape(-1)
        step = max(np.abs(new_v - mv).max(), np.abs(new_h - mh).max() / damping)
        mv = mv + damping * (new_v - mv)
        if step < 1e-13:
            break
    M = mv.reshape(N, Q)
    wbar = np.einsum("ic,icj->ij", M, Wr)
    V = np.einsum("ic,icj->ij", M, Wr ** 2) - wbar ** 2
    ch = mh - mh ** 2
    entropy = -(mv * np.log(mv)).sum() - (mh * np.log(mh) + (1 - mh) * np.log(1 - mh)).sum()
    reaction = 0.5 * (ch * V.sum(axis=0)).sum() if tap else 0
    minus_gamma = entropy + a @ mv + b @ mh + mv @ W @ mh + reaction
    return mv, mh, -minus_gamma


def exact_marginals(m):
    W, a, b = m.weights, m.visible_bias, m.hidden_bias
    V = np.array(list(itertools.product(range(Q), repeat=N)))
    X = np.zeros((len(V), N * Q))
    for i in range(N):
        X[np.arange(len(V)), i * Q + V[:, i]] = 1
    lw = X @ a + np.logaddexp(0, b + X @ W).sum(axis=1)
    p = np.exp(lw - lw.max())
    log_z = lw.max() + np.log(p.sum())
    p /= p.sum()
    return p @ X, p @ sigmoid(b + X @ W), log_z


@pytest.mark.parametrize("method,tap", [("naive", False), ("tap2", True)])
def test_mean_field_matches_numpy(method, tap):
    m = machine(3, 0.5)
    s = librbm.MeanField(m, method)
    sol = s.solve(np.full(N * Q, 1.0 / Q))
    assert sol.converged and sol.mv.shape == (N * Q,) and sol.mh.shape == (NH,)
    mv, mh, gamma = np_mean_field(m.weights, m.visible_bias, m.hidden_bias, tap)
    np.testing.assert_allclose(sol.mv, mv, atol=1e-9)
    np.testing.assert_allclose(sol.mh, mh, atol=1e-9)
    np.testing.assert_allclose(sol.mv.reshape(N, Q).sum(axis=1), 1, atol=1e-12)
    assert s.free_energy(sol.mv, sol.mh) == pytest.approx(gamma, abs=1e-9)
    gv, gh = s.gradient(sol.mv, sol.mh)
    assert np.abs(gv).max() < 1e-8 and np.abs(gh).max() < 1e-8
    dw = s.weight_gradient(sol.mv, sol.mh)
    assert dw.shape == (N * Q, NH)
    if not tap:
        np.testing.assert_allclose(dw, np.outer(sol.mv, sol.mh), atol=1e-14)


def test_tap2_beats_naive_against_exact_marginals():
    m = machine(5, 0.3)
    pv, ph, log_z = exact_marginals(m)
    assert log_z == pytest.approx(librbm.exact_log_z(m), abs=1e-10)
    err = {}
    for method in ("naive", "tap2"):
        s = librbm.MeanField(m, method)
        sol = s.solve(np.full(N * Q, 1.0 / Q))
        err[method] = (np.abs(sol.mv - pv).max(), abs(-s.free_energy(sol.mv, sol.mh) - log_z))
    assert err["tap2"][0] < err["naive"][0] / 5
    assert err["tap2"][1] < err["naive"][1] / 5


def test_fixed_points_of_a_potts_machine():
    m = machine(9, 0.3)
    s = librbm.MeanField(m, "tap2")
    sol = s.solve(np.full(N * Q, 1.0 / Q))
    pts = s.fixed_points_random(5, seed=3)
    assert len(pts) == 1 and pts.visible.shape == (1, N * Q)
    (p,) = list(pts)
    assert p.stable and p.multiplicity == 5
    np.testing.assert_allclose(p.mv, sol.mv, atol=1e-8)
    assert pts.log_z()[0] == pytest.approx(-s.free_energy(sol.mv, sol.mh), abs=1e-9)
    # on the tangent space of the simplexes the Hessian is positive definite
    H = s.hessian(sol.mv, sol.mh)
    T = np.zeros((N * Q + NH, N * (Q - 1) + NH))
    for i in range(N):
        for c in range(1, Q):
            T[i * Q + c, i * (Q - 1) + c - 1] = 1
            T[i * Q, i * (Q - 1) + c - 1] = -1
    T[N * Q:, N * (Q - 1):] = np.eye(NH)
    assert np.linalg.eigvalsh(T.T @ H @ T).min() > 0
    svd = librbm.SVD(m)
    pv, _ = pts.project(svd, 2)
    want = [(p.mv * svd.site_weights(a).reshape(-1)).sum() for a in range(2)]
    np.testing.assert_allclose(pv[0], want, atol=1e-12)


def test_potts_refusals_in_mean_field():
    m = machine(1, 0.3)
    with pytest.raises(librbm.errors.UnsupportedError):
        librbm.MeanField(m, "tap3")
    s = librbm.MeanField(m, "tap2")
    with pytest.raises(librbm.errors.UnsupportedError):
        s.dynamics_step(np.zeros((2, N)), 2, 0.1)
    bad = np.full(N * Q, 0.3)  # sites sum to 0.9
    with pytest.raises(librbm.errors.OutOfRangeError):
        s.free_energy(bad, np.full(NH, 0.5))


def test_svd_site_view_matches_numpy():
    m = machine(7, 1.0)
    svd = librbm.SVD(m)
    assert svd.site_shape == (N, Q)
    U, w, _ = np.linalg.svd(m.weights, full_matrices=False)
    np.testing.assert_allclose(svd.singular_values, w, rtol=1e-12)
    assert svd.left_vectors.shape == (N * Q, NH)
    k = 2
    want = np.linalg.norm(U[:, :k].reshape(N, Q, k), axis=1).T
    np.testing.assert_allclose(svd.site_norms(k), want, atol=1e-12)
    np.testing.assert_allclose((svd.site_norms() ** 2).sum(axis=1), 1, atol=1e-12)
    logo = svd.site_weights(0)
    ref = U[:, 0].reshape(N, Q)
    sign = np.sign((logo * ref).sum())
    np.testing.assert_allclose(logo, sign * ref, atol=1e-12)


def states_of(seqs, alphabet=PROTEIN):
    return np.array([[alphabet.index(c) for c in s] for s in seqs], dtype=np.uint8)


def test_alignments_from_files(tmp_path):
    fasta = tmp_path / "a.fasta"
    fasta.write_text(">s1 first\nACD-\nY\n>s2\nacdKX\n>s3\nW-WW\nV\n")
    d = librbm.Dataset.load_alignment(fasta)
    assert d.shape == (3, 5) and d.n_states == 21 and d.alphabet == PROTEIN
    want = states_of(["ACD-Y", "ACDK-", "W-WWV"])
    np.testing.assert_array_equal(d.to_numpy(), want)
    assert d.unknown_symbols == 1
    with pytest.raises(librbm.errors.FormatError):
        librbm.Dataset.load_alignment(fasta, strict=True)
    sto = tmp_path / "b.sto.gz"
    with gzip.open(sto, "wt") as f:
        f.write("# STOCKHOLM 1.0\n#=GF ID test\ns1 AC-\ns2 GGT\n\ns1 TT\ns2 A-\n//\n")
    e = librbm.Dataset.load_alignment(sto, alphabet="dna")
    np.testing.assert_array_equal(e.to_numpy(), states_of(["AC-TT", "GGTA-"], "-ACGT"))
    out = tmp_path / "c.fa"
    e.save_fasta(out, prefix="x")
    assert out.read_text().split() == [">x1", "AC-TT", ">x2", "GGTA-"]
    back = librbm.Dataset.load_alignment(out, alphabet="dna", format="fasta")
    np.testing.assert_array_equal(back.to_numpy(), e.to_numpy())
    with pytest.raises(librbm.errors.InvalidArgumentError):
        librbm.Dataset.load_alignment(out, format="clustal")
    # an alignment trains a Potts machine's mean field directly
    m = librbm.Machine.potts(5, 5, 2, "bernoulli")
    m.init_visible_bias_from_data(e)
    sol = librbm.MeanField(m, "naive").solve(np.full(25, 0.2))
    freq = (1 - 1e-3) * np.array([[np.mean(e.to_numpy()[:, i] == c) for c in range(5)]
                                  for i in range(5)]) + 1e-3 / 5
    np.testing.assert_allclose(sol.mv.reshape(5, 5), freq, atol=1e-9)
