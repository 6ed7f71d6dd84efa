"""The README's installation: a venv with Debian's packages
(--system-site-packages), `pip install --no-build-isolation <repo>`, which
has meson-python build librbm.so and bundle it in the package; then
`import librbm` from elsewhere loads the bundled copy (and LIBRBM_LIBRARY
still overrides it)."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHECK = r'''
import os, sys, numpy as np, librbm
from librbm.sklearn import BernoulliRBM
here = os.path.dirname(librbm.__file__)
assert librbm.library_path == os.path.join(here, "librbm.so"), librbm.library_path
assert os.path.exists(librbm.library_path)
x = librbm.Dataset.synthetic(100, n_dims=10, seed=1).to_numpy()
r = BernoulliRBM(n_components=4, n_iter=2, random_state=0).fit(x)
print(librbm.version(), r.transform(x).shape, librbm.exact_log_z(r.machine_) > 0)
'''


def test_pip_install_into_venv(tmp_path):
    if subprocess.run(["/usr/bin/python3", "-c", "import mesonpy, venv"]).returncode != 0:
        pytest.skip("python3-mesonpy / python3-venv not installed")
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        "--no-deps", "-q", ROOT], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("LIBRBM_LIBRARY", "PYTHONPATH")}
    r = subprocess.run([py, "-c", CHECK], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "0.2.0"
    # the environment variable overrides the bundled library
    other = os.environ.get("LIBRBM_LIBRARY")
    if other:
        r = subprocess.run([py, "-c", "import librbm; print(librbm.library_path)"], cwd=tmp_path,
                           env=dict(env, LIBRBM_LIBRARY=other), capture_output=True, text=True)
        assert r.stdout.strip() == other


def test_every_module_is_installed():
    """Every file of python/librbm is listed in python/meson.build's
    install_sources (a module missing there imports in-tree but not from
    the wheel)."""
    with open(os.path.join(ROOT, "python", "meson.build"), encoding="utf-8") as fh:
        listed = fh.read()
    pkg = os.path.join(ROOT, "python", "librbm")
    missing = [n for n in sorted(os.listdir(pkg))
               if n.endswith((".py", ".h", ".typed")) and f"'librbm/{n}'" not in listed]
    assert missing == []
