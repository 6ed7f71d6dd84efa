"""In-tree test set-up: import librbm from python/ and load the build
directory's librbm.so (LIBRBM_LIBRARY), unless LIBRBM_TEST_INSTALLED=1
(then the installed package and its bundled library are tested)."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("RBM_BUILD_ROOT", os.path.join(ROOT, "build"))

if os.environ.get("LIBRBM_TEST_INSTALLED") != "1":
    sys.path.insert(0, os.path.dirname(HERE))
    if "LIBRBM_LIBRARY" not in os.environ:
        cand = os.path.join(BUILD, "lib", "librbm.so")
        if os.path.exists(cand):
            os.environ["LIBRBM_LIBRARY"] = cand


@pytest.fixture
def rbm_exe():
    exe = os.environ.get("RBM_EXE", os.path.join(BUILD, "tools", "rbm"))
    if not os.path.exists(exe):
        pytest.skip(f"the rbm program is not built ({exe})")
    return exe
