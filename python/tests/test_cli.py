"""Round trips between Python and the rbm program: a model trained in Python
is evaluated by `rbm eval`, a model trained by `rbm train` is evaluated and
continued in Python, and the numbers agree."""
import json
import subprocess

import numpy as np
import pytest

import librbm


def run(exe, *args):
    r = subprocess.run([exe, *map(str, args), "--json"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def data(tmp_path):
    x = librbm.Dataset.synthetic(400, n_dims=16, seed=3).to_numpy()
    p = tmp_path / "data.npy"
    np.save(p, x)
    return x, p


def test_python_model_evaluated_by_cli(rbm_exe, data, tmp_path):
    x, p = data
    m = librbm.Machine(16, 7)
    m.init_normal(0.05, 1)
    librbm.Trainer(m, x, 40, seed=2, learning_rate=0.05).run_epochs(5)
    m.save(tmp_path / "py.rbm")
    out = run(rbm_exe, "eval", tmp_path / "py.rbm", "--data", p, "--method", "exact")
    ll, lz = librbm.exact_log_likelihood(m, x)
    assert out["log_z"] == pytest.approx(lz, rel=1e-12)
    assert out["log_likelihood"] == pytest.approx(ll, rel=1e-12)
    assert out["pseudo_likelihood"] == pytest.approx(librbm.pseudo_log_likelihood(m, x),
                                                     rel=1e-12)


def test_cli_model_evaluated_in_python(rbm_exe, data, tmp_path):
    x, p = data
    out = run(rbm_exe, "train", "--data", p, "--visible", "bernoulli", "--n-hidden", 5,
              "--epochs", 3, "--batch", 40, "--seed", 4, "--out", tmp_path / "cli.rbm",
              "--no-plots")
    m = librbm.Machine.load(tmp_path / "cli.rbm")
    assert m.shape == (16, 5) and m.visible == librbm.UnitKind.BERNOULLI
    ll, _ = librbm.exact_log_likelihood(m, x)
    assert out["log_likelihood"] == pytest.approx(ll, rel=1e-10)
    # and the CLI's own evaluation of it agrees with Python's sklearn view
    from librbm.sklearn import RBM
    est = RBM(n_components=5)
    est.machine_ = m
    est.n_features_in_ = 16
    assert est.score_samples(x, method="exact").mean() == pytest.approx(ll, rel=1e-10)


def test_cli_ais_agrees_with_python_exact(rbm_exe, data, tmp_path):
    """rbm eval's AIS of a CLI model brackets Python's exact log Z."""
    x, p = data
    run(rbm_exe, "train", "--data", p, "--visible", "bernoulli", "--n-hidden", 5, "--epochs", 2,
        "--batch", 40, "--seed", 4, "--out", tmp_path / "cli.rbm", "--no-plots")
    cli = librbm.Machine.load(tmp_path / "cli.rbm")
    out = run(rbm_exe, "eval", tmp_path / "cli.rbm", "--data", p, "--method", "ais", "--runs", 20,
              "--betas", 500)
    exact = librbm.exact_log_z(cli)
    assert abs(out["log_z"] - exact) < 0.1
