"""Datasets: zero-copy borrowing, copies, lifetimes, files, statistics."""
import gc
import gzip
import struct

import numpy as np
import pytest

import librbm


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_borrow_is_zero_copy(dtype):
    a = (np.arange(12) % 2).astype(dtype).reshape(4, 3)
    d = librbm.Dataset(a)
    assert d.borrowed is a and d.dtype == np.dtype(dtype)
    a[0, 0] = 1  # visible through the dataset: it reads the caller's memory
    assert d.to_numpy()[0, 0] == 1


def test_copy_for_other_layouts_and_types():
    base = np.arange(24.0).reshape(4, 6)
    d = librbm.Dataset(base[:, ::2])           # not contiguous: private copy
    assert d.borrowed is not None and not np.shares_memory(d.borrowed, base)
    np.testing.assert_array_equal(d.to_numpy(), base[:, ::2])
    di = librbm.Dataset(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert di.dtype == np.float64
    db = librbm.Dataset(np.ones((2, 2), dtype=bool))
    assert db.dtype == np.uint8
    c = np.ones((3, 3))
    dc = librbm.Dataset(c, copy=True)
    c[:] = 0
    assert dc.borrowed is None and dc.to_numpy().sum() == 9


def test_borrowed_array_outlives_caller_reference():
    d = librbm.Dataset(np.full((50, 4), 0.25))
    gc.collect()
    np.testing.assert_array_equal(d.mean(), np.full(4, 0.25))


def test_statistics_against_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    d = librbm.Dataset(x)
    np.testing.assert_allclose(d.mean(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(d.covariance(), np.cov(x.T, bias=True), rtol=1e-10, atol=1e-14)
    assert d.range() == (x.min(), x.max())
    b = librbm.Dataset(x).binarize(0.0).to_numpy()
    np.testing.assert_array_equal(b, (x > 0).astype(float))
    s = d.scale01().to_numpy()
    np.testing.assert_allclose(s, (x - x.min()) / (x.max() - x.min()), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(d.slice(10, 5).to_numpy(), x[10:15])


def test_files(tmp_path):
    x = (np.random.default_rng(1).random((7, 4)) > 0.5).astype(np.float64)
    d = librbm.Dataset(x)
    d.save_npy(tmp_path / "x.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), x)
    np.testing.assert_array_equal(librbm.Dataset.load(tmp_path / "x.npy").to_numpy(), x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", header="a,b,c,d", comments="")
    dc = librbm.Dataset.load(tmp_path / "x.csv")
    assert dc.header_rows == 1
    np.testing.assert_array_equal(dc.to_numpy(), x)
    img = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    with gzip.open(tmp_path / "t-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 3, 2, 2) + img.tobytes())
    di = librbm.Dataset.load(tmp_path / "t-ubyte.gz")
    assert di.dtype == np.uint8 and di.image_shape == (2, 2)
    np.testing.assert_array_equal(di.to_numpy(), img.reshape(3, 4))
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00" + b"garbage")
    with pytest.raises(librbm.FormatError):
        librbm.Dataset.load(tmp_path / "bad.npy")


def test_synthetic_and_batches():
    a = librbm.Dataset.synthetic(300, n_dims=20, seed=4)
    b = librbm.Dataset.synthetic(300, n_dims=20, seed=4)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert a.shape == (300, 20) and set(np.unique(a.to_numpy())) <= {0.0, 1.0}
    it = a.batches(64, shuffle=True, seed=2)
    assert it.batches_per_epoch == 5
    rows = np.concatenate(list(it))
    assert rows.shape == (300, 20)
    # one epoch visits every row once: same multiset of rows
    key = lambda r: sorted(map(tuple, r))  # noqa: E731
    assert key(rows) == key(a.to_numpy())
