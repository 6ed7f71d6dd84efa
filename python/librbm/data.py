"""Datasets (from NumPy arrays, borrowed or copied; IDX, CSV and NPY files;
the synthetic clusters) and minibatch iterators."""
from __future__ import annotations

import os
from typing import Iterator, Optional, Tuple, Union

import numpy as np

from . import errors
from ._binding import check, ffi, lib
from .base import (ArrayLike, Context, Transform, UnitKind, _ctx, _DTYPES, _DTYPE_OF, _dp,
                   _Handle, _shape_error, _u64)


class Dataset(_Handle):
    """Rows of visible configurations (M x D), from a NumPy array, a file or
    the synthetic generator.

    ``Dataset(array)``: uint8, float32 and float64 C-contiguous 2-D arrays
    are borrowed without copying (the dataset keeps a reference to the
    array, so it cannot be freed under it; do not modify it while the
    dataset lives); other dtypes or layouts are converted to a private
    float64 (or the same dtype) copy. ``copy=True`` always copies (in C).
    A 1-D array is one row."""

    def __init__(self, data: ArrayLike, *, copy: bool = False,
                 context: Optional[Context] = None) -> None:
        ctx = _ctx(context)
        a = np.asarray(data)
        if a.ndim == 1:
            a = a.reshape(1, -1)
        if a.ndim != 2:
            raise _shape_error(f"a dataset needs a 2-D array, got shape {a.shape}")
        if a.dtype == np.bool_:
            a = a.astype(np.uint8)
        elif a.dtype not in _DTYPES:
            a = a.astype(np.float64)
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        out = ffi.new("rbm_dataset **")
        own = lib.RBM_COPY if copy else lib.RBM_BORROW
        buf = ffi.from_buffer(a) if a.size else ffi.NULL
        check(lib.rbm_dataset_from_memory(ctx.ptr, buf, _DTYPES[a.dtype], a.shape[0], a.shape[1],
                                          own, out), ctx.ptr)
        self._array = None if copy else a
        self._adopt(out[0], ctx)

    def _adopt(self, ptr, ctx: Context) -> None:
        self.context = ctx
        self._init_handle(ptr, lib.rbm_dataset_free, [ctx], ctx.ptr)

    @classmethod
    def _wrap(cls, ptr, ctx: Context) -> "Dataset":
        d = cls.__new__(cls)
        d._array = None
        d._adopt(ptr, ctx)
        return d

    @property
    def borrowed(self) -> Optional[np.ndarray]:
        """The array the dataset reads in place (None for copies)."""
        return self._array

    @classmethod
    def load(cls, path: Union[str, os.PathLike], context: Optional[Context] = None,
             format: Optional[str] = None, csv_header: Optional[bool] = None) -> "Dataset":
        """Load an IDX (.gz), CSV or NPY file. ``format`` ("idx", "csv",
        "npy") overrides the choice by name; ``csv_header`` True/False forces
        the header mode of a CSV file (None: automatic)."""
        ctx = _ctx(context)
        out = ffi.new("rbm_dataset **")
        p = os.fsencode(path)
        if csv_header is not None or format == "csv":
            flags = 0 if csv_header is None else (1 if csv_header else 2)
            st = lib.rbm_dataset_load_csv_ex(ctx.ptr, p, flags, out)
        elif format is None:
            st = lib.rbm_dataset_load(ctx.ptr, p, out)
        elif format == "idx":
            st = lib.rbm_dataset_load_idx(ctx.ptr, p, out)
        elif format == "npy":
            st = lib.rbm_dataset_load_npy(ctx.ptr, p, out)
        else:
            raise errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                              "RBM_ERR_INVALID_ARGUMENT",
                                              f"unknown format {format!r} (idx, csv or npy)")
        check(st, ctx.ptr)
        return cls._wrap(out[0], ctx)

    @classmethod
    def load_alignment(cls, path: Union[str, os.PathLike], alphabet: Optional[str] = None,
                       format: Optional[str] = None, strict: bool = False,
                       drop_inserts: bool = False,
                       context: Optional[Context] = None) -> "Dataset":
        """Read an aligned FASTA or Stockholm file (plain or .gz) as a
        categorical uint8 dataset of M sequences x L columns
        (include/rbm/alignment.h, docs/sequences.md). ``alphabet``: "protein"
        (the default, 21 states, gap first), "dna", "rna" or the symbols
        themselves. ``format``: "fasta" or "stockholm" (None: by name, then
        content). ``strict``: an unknown symbol is an error instead of a
        gap; ``drop_inserts``: lowercase letters and '.' are removed (A2M)."""
        readers = {None: lib.rbm_dataset_load_alignment, "fasta": lib.rbm_dataset_load_fasta,
                   "stockholm": lib.rbm_dataset_load_stockholm}
        if format not in readers:
            raise errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                              "RBM_ERR_INVALID_ARGUMENT",
                                              f"unknown format {format!r} (fasta or stockholm)")
        flags = (lib.RBM_ALIGNMENT_STRICT_SYMBOLS if strict else 0) | \
            (lib.RBM_ALIGNMENT_DROP_INSERTS if drop_inserts else 0)
        ctx = _ctx(context)
        out = ffi.new("rbm_dataset **")
        a = ffi.NULL if alphabet is None else alphabet.encode("ascii")
        check(readers[format](ctx.ptr, os.fsencode(path), a, flags, out), ctx.ptr)
        return cls._wrap(out[0], ctx)

    @property
    def unknown_symbols(self) -> int:
        """How many unknown symbols the alignment reader mapped to the gap."""
        return int(lib.rbm_alignment_unknown_symbols(self.ptr))

    def save_fasta(self, path: Union[str, os.PathLike], prefix: Optional[str] = None) -> None:
        """Write the rows of a categorical dataset with an alphabet as FASTA
        (records ">prefix1", ">prefix2", ...; prefix None: "seq")."""
        pre = ffi.NULL if prefix is None else prefix.encode("ascii")
        self._check(lib.rbm_dataset_save_fasta(self.ptr, os.fsencode(path), pre))

    @classmethod
    def synthetic(cls, n_samples: int, n_clusters: int = 0, intrinsic_dim: int = 0,
                  n_dims: int = 0, noise: float = 0.1, kind: Union[str, UnitKind] = "bernoulli",
                  seed: int = 0, context: Optional[Context] = None) -> "Dataset":
        """Clusters in a low-dimensional space embedded in n_dims dimensions
        (docs/theory.md §7); 0 selects the defaults 11, 5, 100."""
        ctx = _ctx(context)
        out = ffi.new("rbm_dataset **")
        check(lib.rbm_dataset_synthetic(ctx.ptr, int(n_samples), int(n_clusters),
                                        int(intrinsic_dim), int(n_dims), float(noise),
                                        UnitKind.coerce(kind), _u64(seed), out), ctx.ptr)
        return cls._wrap(out[0], ctx)

    @classmethod
    def fashion_mnist(cls, split: str = "train",
                      root: str = "/usr/share/datasets/fashion-mnist",
                      context: Optional[Context] = None) -> "Dataset":
        """Debian's dataset-fashion-mnist images (uint8 0..255, 784 columns)."""
        prefix = "train" if split == "train" else "t10k"
        return cls.load(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"), context)

    @property
    def rows(self) -> int:
        return int(lib.rbm_dataset_rows(self.ptr))

    @property
    def cols(self) -> int:
        return int(lib.rbm_dataset_cols(self.ptr))

    @property
    def shape(self) -> Tuple[int, int]:
        return (self.rows, self.cols)

    def __len__(self) -> int:
        return self.rows

    @property
    def dtype(self) -> np.dtype:
        return _DTYPE_OF[int(lib.rbm_dataset_dtype(self.ptr))]

    @property
    def image_shape(self) -> Optional[Tuple[int, int]]:
        h = ffi.new("size_t *")
        w = ffi.new("size_t *")
        lib.rbm_dataset_image_shape(self.ptr, h, w)
        return (int(h[0]), int(w[0])) if h[0] else None

    @image_shape.setter
    def image_shape(self, hw: Tuple[int, int]) -> None:
        self._check(lib.rbm_dataset_set_image_shape(self.ptr, int(hw[0]), int(hw[1])))

    @property
    def header_rows(self) -> int:
        return int(lib.rbm_dataset_header_rows(self.ptr))

    def to_numpy(self, start: int = 0, count: Optional[int] = None) -> np.ndarray:
        """Rows [start, start+count) as float64, shape (count, cols)."""
        if count is None:
            count = self.rows - int(start)
        out = np.empty((max(int(count), 0), self.cols))
        self._check(lib.rbm_dataset_get_rows(self.ptr, int(start), int(count), _dp(out), out.size))
        return out

    def __array__(self, dtype=None):
        a = self.to_numpy()
        return a if dtype is None else a.astype(dtype)

    def transform(self, kind: Union[str, Transform], threshold: float = 0.5) -> "Dataset":
        out = ffi.new("rbm_dataset **")
        self._check(lib.rbm_dataset_transform(self.ptr, Transform.coerce(kind), float(threshold),
                                              out))
        return Dataset._wrap(out[0], self.context)

    def binarize(self, threshold: float = 0.5) -> "Dataset":
        return self.transform(Transform.BINARIZE, threshold)

    def scale01(self) -> "Dataset":
        return self.transform(Transform.SCALE01)

    def to_ising(self) -> "Dataset":
        return self.transform(Transform.TO_ISING)

    def slice(self, start: int, count: int) -> "Dataset":
        out = ffi.new("rbm_dataset **")
        self._check(lib.rbm_dataset_slice(self.ptr, int(start), int(count), out))
        return Dataset._wrap(out[0], self.context)

    def range(self) -> Tuple[float, float]:
        lo = ffi.new("double *")
        hi = ffi.new("double *")
        self._check(lib.rbm_dataset_range(self.ptr, lo, hi))
        return float(lo[0]), float(hi[0])

    def mean(self) -> np.ndarray:
        out = np.empty(self.cols)
        self._check(lib.rbm_dataset_mean(self.ptr, _dp(out), out.size))
        return out

    def covariance(self) -> np.ndarray:
        """Centred covariance divided by M: (cols, cols)."""
        out = np.empty((self.cols, self.cols))
        self._check(lib.rbm_dataset_covariance(self.ptr, _dp(out), out.size))
        return out

    @property
    def weights(self) -> Optional[np.ndarray]:
        """The sample weights (a copy, shape (rows,)), None when every row
        weighs 1. Assign an array of rows finite weights >= 0 (not all 0) to
        weight every data average (statistics, gradients, likelihoods), or
        None to remove them."""
        if not lib.rbm_dataset_has_weights(self.ptr):
            return None
        out = np.empty(self.rows)
        self._check(lib.rbm_dataset_get_weights(self.ptr, _dp(out), out.size))
        return out

    @weights.setter
    def weights(self, w: Optional[ArrayLike]) -> None:
        if w is None:
            self._check(lib.rbm_dataset_set_weights(self.ptr, ffi.NULL, 0))
            return
        a = np.ascontiguousarray(np.asarray(w, dtype=np.float64).reshape(-1))
        self._check(lib.rbm_dataset_set_weights(self.ptr, _dp(a), a.size))

    @property
    def weight_sum(self) -> float:
        """Sum of the weights: the effective number of samples M_eff (the
        rows when unweighted)."""
        return float(lib.rbm_dataset_weight_sum(self.ptr))

    @property
    def n_states(self) -> int:
        """q of a categorical dataset (an alignment), 0 otherwise."""
        return int(lib.rbm_dataset_n_states(self.ptr))

    @property
    def alphabet(self) -> Optional[str]:
        """The q state symbols of a categorical dataset, None when unknown."""
        p = lib.rbm_dataset_alphabet(self.ptr)
        return None if p == ffi.NULL else ffi.string(p).decode("ascii")

    def set_categories(self, n_states: int, alphabet: Optional[str] = None) -> None:
        """Declare a uint8 dataset categorical: values are states 0..q-1,
        optionally named by one symbol each."""
        a = ffi.NULL if alphabet is None else alphabet.encode("ascii")
        self._check(lib.rbm_dataset_set_categories(self.ptr, int(n_states), a))

    def sequence_weights(self, theta: float = 0.8) -> np.ndarray:
        """w_s = 1 / #{s': identity(s, s') >= theta} (s included) of a uint8
        dataset; identity = fraction of equal positions. Not installed:
        assign the result to ``weights``."""
        out = np.empty(self.rows)
        self._check(lib.rbm_dataset_sequence_weights(self.ptr, float(theta), _dp(out), out.size))
        return out

    def save_npy(self, path: Union[str, os.PathLike]) -> None:
        self._check(lib.rbm_dataset_save_npy(self.ptr, os.fsencode(path)))

    def batches(self, batch_size: int, shuffle: bool = False, drop_last: bool = False,
                seed: int = 0) -> "BatchIterator":
        return BatchIterator(self, batch_size, shuffle, drop_last, seed)

    def __repr__(self) -> str:
        if self.closed:
            return "<librbm.Dataset closed>"
        return f"<librbm.Dataset {self.rows}x{self.cols} {self.dtype}>"


def _dataset(data: Union[Dataset, ArrayLike], context: Optional[Context]) -> Dataset:
    if isinstance(data, Dataset):
        return data
    return Dataset(data, context=context)


class BatchIterator(_Handle):
    """Minibatches of a dataset (rbm_batch_iter). Iterating yields the
    batches of one epoch as (rows, cols) float64 arrays; ``next_batch()``
    returns (batch, epoch_ended)."""

    def __init__(self, data: Dataset, batch_size: int, shuffle: bool = False,
                 drop_last: bool = False, seed: int = 0) -> None:
        flags = (1 if shuffle else 0) | (2 if drop_last else 0)
        out = ffi.new("rbm_batch_iter **")
        check(lib.rbm_batch_iter_new(data.ptr, int(batch_size), flags, _u64(seed), out),
              data._ctxp)
        self.data = data
        self._bs = int(batch_size)
        self._buf = np.empty((self._bs, data.cols))
        self._init_handle(out[0], lib.rbm_batch_iter_free, [data], data._ctxp)

    @property
    def batches_per_epoch(self) -> int:
        return int(lib.rbm_batch_iter_batches_per_epoch(self.ptr))

    def next_batch(self) -> Tuple[np.ndarray, bool]:
        rows = ffi.new("size_t *")
        st = self._check(lib.rbm_batch_iter_next(self.ptr, _dp(self._buf), self._buf.size, rows))
        return self._buf[: rows[0]].copy(), st == lib.RBM_DONE

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            b, done = self.next_batch()
            yield b
            if done:
                return
