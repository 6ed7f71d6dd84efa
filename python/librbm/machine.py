"""Machines: shapes, unit kinds, parameters, energies, free energies,
conditionals, sampling, conversion, model files and pickling."""
from __future__ import annotations

import os
import tempfile
from typing import Optional, Tuple, Union

import numpy as np

from . import errors
from ._binding import check, ffi, lib
from .base import (ArrayLike, Context, Layer, Precision, Rng, UnitKind, _batch, _ctx, _dp,
                   _Handle, _out, _rng_for, _squeeze, _u64)
from .data import Dataset, _dataset


class Machine(_Handle):
    """An RBM: ``n_visible`` x ``n_hidden`` couplings W, biases a (visible)
    and b (hidden), one unit kind per layer ("bernoulli", "ising",
    "gaussian"), and sigma per Gaussian layer. Energies and free energies
    are in nats (beta = 1), as in include/rbm/machine.h.

    Pickles through its model file bytes (``to_bytes``)."""

    def __init__(self, n_visible: int, n_hidden: int, visible: Union[str, UnitKind] = "bernoulli",
                 hidden: Union[str, UnitKind] = "bernoulli", *,
                 context: Optional[Context] = None,
                 precision: Union[None, str, Precision] = None) -> None:
        if int(n_visible) < 0 or int(n_hidden) < 0:
            raise errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                              "RBM_ERR_INVALID_ARGUMENT",
                                              f"sizes must be >= 1, got {n_visible} x {n_hidden}")
        ctx = _ctx(context)
        out = ffi.new("rbm_machine **")
        check(lib.rbm_machine_new(ctx.ptr, int(n_visible), int(n_hidden),
                                  UnitKind.coerce(visible), UnitKind.coerce(hidden), out), ctx.ptr)
        self._adopt(out[0], ctx)
        if precision is not None:
            self.precision = precision

    @classmethod
    def potts(cls, n_sites: int, n_states: int, n_hidden: int,
              hidden: Union[str, UnitKind] = "bernoulli", *,
              context: Optional[Context] = None) -> "Machine":
        """A machine with a Potts visible layer: ``n_sites`` sites of
        ``n_states`` states (visible configurations are state indices, shape
        (batch, n_sites)); W has shape (n_sites * n_states, n_hidden), row
        i * q + c for site i in state c (include/rbm/machine.h)."""
        if min(int(n_sites), int(n_states), int(n_hidden)) < 0:
            raise errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                              "RBM_ERR_INVALID_ARGUMENT", "sizes must be >= 0")
        ctx = _ctx(context)
        out = ffi.new("rbm_machine **")
        check(lib.rbm_machine_new_potts(ctx.ptr, int(n_sites), int(n_states), int(n_hidden),
                                        UnitKind.coerce(hidden), out), ctx.ptr)
        return cls._wrap(out[0], ctx)

    @property
    def n_states(self) -> int:
        """q of a Potts visible layer, 0 otherwise."""
        return int(lib.rbm_machine_n_states(self.ptr, 0))

    @property
    def weight_rows(self) -> int:
        """Rows of W and length of a: n_visible, or n_sites * q (Potts)."""
        return int(lib.rbm_machine_weight_rows(self.ptr))

    def set_gauge(self, gauge: str = "zero_sum") -> float:
        """Bring a Potts machine to the "zero_sum" or "first_state" gauge;
        p(v) is unchanged. Returns the shift with log Z(before) = log
        Z(after) + shift."""
        g = {"zero_sum": lib.RBM_GAUGE_ZERO_SUM, "first_state": lib.RBM_GAUGE_FIRST_STATE}
        if gauge not in g:
            raise errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                              "RBM_ERR_INVALID_ARGUMENT", f"unknown gauge {gauge!r}")
        shift = ffi.new("double *")
        self._check(lib.rbm_machine_set_gauge(self.ptr, g[gauge], shift))
        return float(shift[0])

    def _adopt(self, ptr, ctx: Context) -> None:
        self.context = ctx
        self._init_handle(ptr, lib.rbm_machine_free, [ctx], ctx.ptr)

    @classmethod
    def _wrap(cls, ptr, ctx: Context) -> "Machine":
        m = cls.__new__(cls)
        m._adopt(ptr, ctx)
        return m

    # -- shape and kinds
    @property
    def n_visible(self) -> int:
        return int(lib.rbm_machine_n_visible(self.ptr))

    @property
    def n_hidden(self) -> int:
        return int(lib.rbm_machine_n_hidden(self.ptr))

    @property
    def shape(self) -> Tuple[int, int]:
        return (self.n_visible, self.n_hidden)

    @property
    def visible(self) -> UnitKind:
        return UnitKind(lib.rbm_machine_unit_kind(self.ptr, 0))

    @property
    def hidden(self) -> UnitKind:
        return UnitKind(lib.rbm_machine_unit_kind(self.ptr, 1))

    def sigma(self, layer: Union[str, Layer]) -> float:
        return float(lib.rbm_machine_sigma(self.ptr, Layer.coerce(layer)))

    def set_sigma(self, layer: Union[str, Layer], sigma: float) -> None:
        self._check(lib.rbm_machine_set_sigma(self.ptr, Layer.coerce(layer), float(sigma)))

    @property
    def provenance(self) -> Optional[str]:
        """Free-form text on where the training data came from, saved with
        the machine (None when there is none); assign a str (at most 65536
        bytes) or None to remove it."""
        p = lib.rbm_machine_provenance(self.ptr)
        return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")

    @provenance.setter
    def provenance(self, text: Optional[str]) -> None:
        self._check(lib.rbm_machine_set_provenance(
            self.ptr, ffi.NULL if text is None else text.encode("utf-8")))

    @property
    def sigma_visible(self) -> float:
        """Standard deviation of a Gaussian visible layer."""
        return self.sigma(Layer.VISIBLE)

    @sigma_visible.setter
    def sigma_visible(self, s: float) -> None:
        self.set_sigma(Layer.VISIBLE, s)

    @property
    def sigma_hidden(self) -> float:
        """Standard deviation of a Gaussian hidden layer."""
        return self.sigma(Layer.HIDDEN)

    @sigma_hidden.setter
    def sigma_hidden(self, s: float) -> None:
        self.set_sigma(Layer.HIDDEN, s)

    @property
    def precision(self) -> Precision:
        """Arithmetic of the training kernels ("float64" or "float32")."""
        return Precision(lib.rbm_machine_precision(self.ptr))

    @precision.setter
    def precision(self, p: Union[str, Precision]) -> None:
        self._check(lib.rbm_machine_set_precision(self.ptr, Precision.coerce(p)))

    # -- parameters
    @property
    def weights(self) -> np.ndarray:
        """W, shape (n_visible, n_hidden) (a copy; assign to set)."""
        return self._get(lib.rbm_machine_get_weights, (self.weight_rows, self.n_hidden))

    @weights.setter
    def weights(self, w: ArrayLike) -> None:
        self._set(lib.rbm_machine_set_weights, w, (self.weight_rows, self.n_hidden), "weights")

    @property
    def visible_bias(self) -> np.ndarray:
        """a, shape (n_visible,)."""
        return self._get(lib.rbm_machine_get_visible_bias, (self.weight_rows,))

    @visible_bias.setter
    def visible_bias(self, a: ArrayLike) -> None:
        self._set(lib.rbm_machine_set_visible_bias, a, (self.weight_rows,), "visible_bias")

    @property
    def hidden_bias(self) -> np.ndarray:
        """b, shape (n_hidden,)."""
        return self._get(lib.rbm_machine_get_hidden_bias, (self.n_hidden,))

    @hidden_bias.setter
    def hidden_bias(self, b: ArrayLike) -> None:
        self._set(lib.rbm_machine_set_hidden_bias, b, (self.n_hidden,), "hidden_bias")

    def init_zero(self) -> None:
        self._check(lib.rbm_machine_init_zero(self.ptr))

    def init_normal(self, std: float = 0.01, seed: int = 0) -> None:
        """w_ij ~ N(0, std^2) from a fresh Rng(seed); a = b = 0."""
        self._check(lib.rbm_machine_init_normal(self.ptr, float(std), _u64(seed)))

    def init_visible_bias_from_data(self, data: Union["Dataset", ArrayLike]) -> None:
        ds = _dataset(data, self.context)
        self._check(lib.rbm_machine_init_visible_bias_from_data(self.ptr, ds.ptr))

    def init_pca(self, data: Union["Dataset", ArrayLike], n_modes: int, scale: float) -> None:
        """W's first modes set to scale * (top principal directions of data)."""
        ds = _dataset(data, self.context)
        self._check(lib.rbm_machine_init_pca(self.ptr, ds.ptr, int(n_modes), float(scale)))

    # -- energies and conditionals
    def energy(self, v: ArrayLike, h: ArrayLike) -> Union[float, np.ndarray]:
        """E(v, h) for a batch of joint configurations: shape (batch,)."""
        va, nb, single = _batch(v, "v")
        ha, _, _ = _batch(h, "h")
        out = np.empty(nb)
        self._check(lib.rbm_machine_energy(self.ptr, nb, _dp(va), va.size, _dp(ha), ha.size,
                                           _dp(out), nb))
        return _squeeze(out, single)

    def _batch_call(self, fn, x: ArrayLike, name: str, n_out: int):
        a, nb, single = _batch(x, name)
        out = _out(nb, n_out, single)
        self._check(fn(self.ptr, nb, _dp(a), a.size, _dp(out), out.size))
        return _squeeze(out, single)

    def free_energy(self, v: ArrayLike) -> Union[float, np.ndarray]:
        """F(v) (hidden layer summed out), p(v) = exp(-F(v)) / Z: (batch,)."""
        return self._batch_call(lib.rbm_machine_free_energy, v, "v", 0)

    def free_energy_hidden(self, h: ArrayLike) -> Union[float, np.ndarray]:
        """F_h(h) (visible layer summed out): (batch,)."""
        return self._batch_call(lib.rbm_machine_free_energy_hidden, h, "h", 0)

    def hidden_mean(self, v: ArrayLike) -> np.ndarray:
        """E[h | v]: (batch, n_hidden)."""
        return self._batch_call(lib.rbm_machine_hidden_mean, v, "v", self.n_hidden)

    def visible_mean(self, h: ArrayLike) -> np.ndarray:
        """E[v | h]: (batch, n_visible); for Potts the probabilities
        p(v_i = c | h), (batch, n_sites * q)."""
        return self._batch_call(lib.rbm_machine_visible_mean, h, "h", self.weight_rows)

    def _sample(self, fn, x, rng, name, n_out):
        r = _rng_for(rng, self)
        a, nb, single = _batch(x, name)
        out = _out(nb, n_out, single)
        self._check(fn(self.ptr, r.ptr, nb, _dp(a), a.size, _dp(out), out.size))
        return _squeeze(out, single)

    def sample_hidden(self, v: ArrayLike, rng: Union[None, int, Rng] = None) -> np.ndarray:
        """h ~ p(h | v) with ``rng`` (an Rng, or a seed): (batch, n_hidden)."""
        return self._sample(lib.rbm_machine_sample_hidden, v, rng, "v", self.n_hidden)

    def sample_visible(self, h: ArrayLike, rng: Union[None, int, Rng] = None) -> np.ndarray:
        """v ~ p(v | h): (batch, n_visible)."""
        return self._sample(lib.rbm_machine_sample_visible, h, rng, "h", self.n_visible)

    # -- copies, conversion, files
    def copy(self) -> "Machine":
        """Deep copy (same context)."""
        out = ffi.new("rbm_machine **")
        self._check(lib.rbm_machine_clone(self.ptr, out))
        return Machine._wrap(out[0], self.context)

    clone = copy

    def convert(self, to: Union[str, UnitKind]) -> Tuple["Machine", float]:
        """The equivalent machine with Bernoulli layers made Ising (or the
        reverse), and the shift log Z_self - log Z_new."""
        out = ffi.new("rbm_machine **")
        shift = ffi.new("double *")
        self._check(lib.rbm_machine_convert(self.ptr, UnitKind.coerce(to), out, shift))
        return Machine._wrap(out[0], self.context), float(shift[0])

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the librbm model file (atomic replace)."""
        self._check(lib.rbm_machine_save(self.ptr, os.fsencode(path)))

    @classmethod
    def load(cls, path: Union[str, os.PathLike], context: Optional[Context] = None) -> "Machine":
        ctx = _ctx(context)
        out = ffi.new("rbm_machine **")
        check(lib.rbm_machine_load(ctx.ptr, os.fsencode(path), out), ctx.ptr)
        return cls._wrap(out[0], ctx)

    def to_bytes(self) -> bytes:
        """The model file's bytes (through a temporary file)."""
        with tempfile.TemporaryDirectory(prefix="librbm-") as d:
            p = os.path.join(d, "model.rbm")
            self.save(p)
            with open(p, "rb") as fh:
                return fh.read()

    @classmethod
    def from_bytes(cls, data: bytes, context: Optional[Context] = None) -> "Machine":
        with tempfile.TemporaryDirectory(prefix="librbm-") as d:
            p = os.path.join(d, "model.rbm")
            with open(p, "wb") as fh:
                fh.write(data)
            return cls.load(p, context)

    def __reduce__(self):
        return (Machine.from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        if self.closed:
            return "<librbm.Machine closed>"
        return (f"<librbm.Machine {self.n_visible}x{self.n_hidden} "
                f"{self.visible.name.lower()}/{self.hidden.name.lower()} "
                f"{self.precision.name.lower()}>")
