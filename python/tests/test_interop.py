"""Training archives, rbms archives and HDF5 data sets, against NumPy and
h5py (Debian's python3-h5py) as the independent readers."""
import math

import numpy as np
import pytest

import librbm
import reference as ref


def test_training_archive_roundtrip(tmp_path):
    p = tmp_path / "run.rbma"
    data = librbm.Dataset.synthetic(100, n_dims=12, seed=1)
    m = ref.random_machine(librbm, 12, 5, seed=2)
    t = librbm.Trainer(m, data, 20, seed=3)
    with librbm.Archive(p, "a") as a:
        a.config = "rbm train --n-hidden 5"
        a.append_machine(m, 0, 0.0)
        t.run_epochs(1)
        a.append_machine(m, t.step_count, 1.5)
        a.append_spectrum(7, [3.0, 2.0, 1.0])
        a.append_checkpoint(t)
    a = librbm.Archive(p)
    assert len(a) == 2 and a.info(1) == (5, 1.5) and a.ignored_bytes == 0
    np.testing.assert_array_equal(a.load_machine(1).weights, m.weights)
    step, sv = a.spectrum(1)
    assert step == 5
    np.testing.assert_allclose(sv, np.linalg.svd(m.weights, compute_uv=False), rtol=1e-12)
    assert a.n_spectra == 3 and a.spectrum(2) == (7, pytest.approx([3.0, 2.0, 1.0]))
    assert a.config == "rbm train --n-hidden 5"
    assert a.checkpoints() == (1, 5)
    a.extract_checkpoint(tmp_path / "c.rbm")
    t2 = librbm.Trainer.load_checkpoint(tmp_path / "c.rbm", data)
    t.run_epochs(1)
    t2.run_epochs(1)
    np.testing.assert_array_equal(t.machine.weights, t2.machine.weights)
    with pytest.raises(librbm.StateError):
        a.append_spectrum(8, [1.0])                    # opened read-only


def test_log_schedule():
    for total, n in [(1000, 5), (10, 20), (12345, 50)]:
        want = sorted({math.floor(10 ** (k * math.log10(total) / (n - 1))) for k in range(n)})
        got = librbm.log_schedule(total, n)
        # floor(10^x) at exact powers may differ by rounding of log10: compare as sets
        assert got[0] == 1 and got[-1] == total
        assert len(set(got) ^ set(want)) <= 2, (list(got), want)


needs_hdf5 = pytest.mark.skipif(not librbm.hdf5_available(), reason="librbm built without HDF5")


@needs_hdf5
def test_rbms_archive_roundtrip(tmp_path):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "rbms.h5"
    ms = [ref.random_machine(librbm, 8, 4, seed=s) for s in (1, 2)]
    chains = (np.random.default_rng(0).random((6, 8)) > 0.5).astype(float)
    librbm.rbms_save(p, ms, [10, 20], chains, times=[1.0, 2.0], float32=False)
    ups, times, model_type = librbm.rbms_list(p)
    assert list(ups) == [10, 20] and list(times) == [1.0, 2.0] and model_type == "BBRBM"
    back = librbm.load_rbms(p)                        # the last update
    np.testing.assert_array_equal(back.weights, ms[1].weights)
    np.testing.assert_array_equal(librbm.load_rbms(p, 10).hidden_bias, ms[0].hidden_bias)
    with h5py.File(p, "r") as f:                        # read back independently
        np.testing.assert_array_equal(f["update_20/params/weight_matrix"][()], ms[1].weights)
        np.testing.assert_array_equal(f["parallel_chains"][()], chains)
    np.testing.assert_array_equal(librbm.rbms_load_chains(p).to_numpy(), chains)
    s = librbm.rbms_load_sampler(p, back, seed=1)
    np.testing.assert_array_equal(s.visible, chains)
    s.run(1)


@needs_hdf5
def test_hdf5_dataset(tmp_path):
    h5py = pytest.importorskip("h5py")
    x = np.random.default_rng(0).random((7, 5)).astype(np.float32)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f.create_dataset("samples", data=x)
        f.create_dataset("g/bytes", data=(x > 0.5).astype(np.uint8), compression="gzip")
    d = librbm.load_hdf5(tmp_path / "d.h5")
    assert d.dtype == np.float32
    np.testing.assert_array_equal(d.to_numpy(), x.astype(np.float64))
    b = librbm.load_hdf5(tmp_path / "d.h5", "/g/bytes")
    assert b.dtype == np.uint8 and b.to_numpy().sum() == (x > 0.5).sum()
    with pytest.raises(librbm.FormatError):
        librbm.load_hdf5(tmp_path / "d.h5", "/missing")
