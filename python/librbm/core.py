"""Contexts, random numbers, units, machines, datasets, samplers, gradients,
estimators and trainers: the training half of librbm over its C ABI.

Arrays go in as anything ``numpy.asarray`` accepts and come back as new
float64 NumPy arrays (row-major, shapes as in the C headers: W is
(n_visible, n_hidden), a batch of visible states (batch, n_visible)). A 1-D
input where a batch is expected is one row, and the result then has the
batch axis dropped.

Lifetimes: every object keeps a reference to the objects it was made from
(a machine to its context, a trainer to its machine and dataset, a dataset
to a borrowed array), so garbage collection never frees a parent first.
``close()`` (or a ``with`` block) releases the C handle at once; closing a
parent that still has open children defers its release until the last
child is closed.

Threads: a context and the objects made from it are one threading domain
(use them from one thread at a time); objects made without an explicit
``context=`` get a fresh context of their own, so two machines made that way
may be trained from two threads at once. The GIL is released during every C
call.
"""
from __future__ import annotations

import enum
import logging
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import errors
from ._binding import check, ffi, lib, raise_for

ArrayLike = Any


# ---------------------------------------------------------------- enums


class _NamedEnum(enum.IntEnum):
    @classmethod
    def coerce(cls, value: Union[str, int, "enum.IntEnum"]) -> "_NamedEnum":
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_")
            for member in cls:
                if member.name.lower() == key:
                    return member
            aliases = getattr(cls, "_aliases", lambda: {})()
            if key in aliases:
                return cls(aliases[key])
            names = ", ".join(m.name.lower() for m in cls)
            raise errors.InvalidArgumentError(
                lib.RBM_ERR_INVALID_ARGUMENT, "RBM_ERR_INVALID_ARGUMENT",
                f"unknown {cls.__name__} {value!r} (expected one of {names})")
        try:
            return cls(int(value))
        except ValueError:
            raise errors.InvalidArgumentError(
                lib.RBM_ERR_INVALID_ARGUMENT, "RBM_ERR_INVALID_ARGUMENT",
                f"unknown {cls.__name__} {value!r}") from None


class Status(_NamedEnum):
    """Non-error outcomes of a call (errors raise instead)."""
    OK = 0
    DONE = 1      #: an epoch ended with this step
    STOPPED = 2   #: an observer or progress callback asked to stop


_STATUSES = (Status.OK, Status.DONE, Status.STOPPED)


class UnitKind(_NamedEnum):
    BERNOULLI = 0  #: {0, 1}
    ISING = 1      #: {-1, +1}
    GAUSSIAN = 2   #: real, confinement x^2 / (2 sigma^2)


class Layer(_NamedEnum):
    VISIBLE = 0
    HIDDEN = 1


class Precision(_NamedEnum):
    FLOAT64 = 0
    FLOAT32 = 1


class Transform(_NamedEnum):
    BINARIZE = 0
    SCALE01 = 1
    TO_ISING = 2
    BINARIZE_ISING = 3


class EstimatorKind(_NamedEnum):
    CD = 0
    PCD = 1
    EXACT = 2
    MF = 3
    TAP2 = 4
    TAP3 = 5

    @staticmethod
    def _aliases():
        return {"tap": 4}


class Optimizer(_NamedEnum):
    SGD = 0
    MOMENTUM = 1
    ADAM = 2


_DTYPES = {np.dtype(np.uint8): 0, np.dtype(np.float32): 1, np.dtype(np.float64): 2}
_DTYPE_OF = {0: np.dtype(np.uint8), 1: np.dtype(np.float32), 2: np.dtype(np.float64)}


@dataclass(frozen=True)
class ParamBounds:
    """Bounds of a tunable key (rbm_param_bounds)."""
    lo: float
    hi: float
    lo_open: bool
    hi_open: bool
    is_integer: bool
    is_boolean: bool


def _bounds(fn, key: int) -> ParamBounds:
    out = ffi.new("rbm_param_bounds *")
    check(fn(key, out))
    return ParamBounds(out.lo, out.hi, bool(out.lo_open), bool(out.hi_open),
                       bool(out.is_integer), bool(out.is_boolean))


# ---------------------------------------------------------------- helpers


def _shape_error(msg: str) -> errors.ShapeError:
    return errors.ShapeError(lib.RBM_ERR_SHAPE, "RBM_ERR_SHAPE", msg)


def _f64(x: ArrayLike) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _dp(a: Optional[np.ndarray]):
    """A double* into a float64 C-contiguous array (NULL for None)."""
    if a is None:
        return ffi.NULL
    return ffi.cast("double *", ffi.from_buffer(a))


def _batch(x: ArrayLike, name: str) -> Tuple[np.ndarray, int, bool]:
    """A float64 2-D C-contiguous batch, its row count, and whether the
    input was a single 1-D row."""
    a = _f64(x)
    if a.ndim == 1:
        return a.reshape(1, -1), 1, True
    if a.ndim != 2:
        raise _shape_error(f"{name} must be 1-D or 2-D, got {a.ndim}-D with shape {a.shape}")
    return a, a.shape[0], False


def _out(batch: int, n: int, single: bool) -> np.ndarray:
    return np.empty((batch, n) if n else (batch,), dtype=np.float64)


def _squeeze(out: np.ndarray, single: bool) -> Any:
    if not single:
        return out
    return out[0] if out.ndim > 1 else float(out[0])


def _str(p) -> Optional[str]:
    return None if p == ffi.NULL else ffi.string(p).decode()


def _u64(seed: int) -> int:
    return int(seed) & 0xFFFFFFFFFFFFFFFF


class _Handle:
    """Owner of one C handle. Children (objects made from this one) are
    counted; closing a handle with open children only marks it closed, and
    the C object is released with its last child."""

    _ptr: Any = None
    _closed = True

    def _init_handle(self, ptr, free_fn, parents: Sequence[Optional["_Handle"]], ctxp) -> None:
        self._ptr = ptr
        self._free_fn = free_fn
        self._ctxp = ctxp
        self._children = 0
        self._closed = False
        self._parents = [p for p in parents if p is not None]
        for p in self._parents:
            p._children += 1

    @property
    def ptr(self):
        """The C handle (for other bindings); ValueError once closed."""
        if self._closed:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._ptr

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the C object (deferred while objects made from it are
        open). Idempotent."""
        self._closed = True
        self._release()

    def _release(self) -> None:
        if self._ptr is None or self._children > 0:
            return
        ptr, self._ptr = self._ptr, None
        if self._free_fn is not None:
            self._free_fn(ptr)
        parents, self._parents = self._parents, []
        for p in parents:
            p._children -= 1
            if p._closed:
                p._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def _check(self, status: int) -> int:
        return check(status, self._ctxp)


class _Tunables:
    """get_real / set_real / get_int / set_int / param_bounds over the C
    functions <prefix>_get_real, ... of one module (keys of common.h's
    rbm_param_bounds scheme); ``_tunable_prefix`` names the module."""

    _tunable_prefix = ""

    def _fn(self, what: str):
        return getattr(lib, f"{self._tunable_prefix}_{what}")

    def get_real(self, key: int) -> float:
        out = ffi.new("double *")
        self._check(self._fn("get_real")(self.ptr, int(key), out))
        return float(out[0])

    def set_real(self, key: int, value: float) -> None:
        self._check(self._fn("set_real")(self.ptr, int(key), float(value)))

    def get_int(self, key: int) -> int:
        out = ffi.new("int64_t *")
        self._check(self._fn("get_int")(self.ptr, int(key), out))
        return int(out[0])

    def set_int(self, key: int, value: int) -> None:
        self._check(self._fn("set_int")(self.ptr, int(key), int(value)))

    @classmethod
    def param_bounds(cls, key: int) -> ParamBounds:
        """Bounds and type of a key of this module."""
        return _bounds(getattr(lib, f"{cls._tunable_prefix}_param_bounds"), key)


# ---------------------------------------------------------------- context

_LOG_LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}


class Context(_Handle):
    """The root of librbm objects: thread count, log callback, last error.

    ``threads``: threads for librbm's own parallel loops (exact enumeration,
    pseudo-likelihood, phase diagrams), 0 = all online processors.
    ``logger``: a ``logging.Logger`` (or a name) receiving the library's
    messages up to ``log_level`` (``logging`` levels), or None."""

    def __init__(self, threads: Optional[int] = None,
                 logger: Union[None, str, logging.Logger] = None,
                 log_level: int = logging.INFO) -> None:
        out = ffi.new("rbm_context **")
        check(lib.rbm_context_new(out))
        self._init_handle(out[0], lib.rbm_context_free, [], out[0])
        self._log_cb = None
        if threads is not None:
            self.threads = threads
        if logger is not None:
            self.set_logger(logger, log_level)

    @property
    def threads(self) -> int:
        return int(lib.rbm_context_threads(self.ptr))

    @threads.setter
    def threads(self, n: int) -> None:
        if int(n) < 0:
            raise errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                              "RBM_ERR_INVALID_ARGUMENT",
                                              f"threads must be >= 0, got {n}")
        self._check(lib.rbm_context_set_threads(self.ptr, int(n)))

    @property
    def effective_threads(self) -> int:
        return int(lib.rbm_context_effective_threads(self.ptr))

    @property
    def max_data_bytes(self) -> int:
        """Largest dataset (decoded bytes) the file loaders build; 0: none."""
        return int(lib.rbm_context_max_data_bytes(self.ptr))

    @max_data_bytes.setter
    def max_data_bytes(self, n: int) -> None:
        self._check(lib.rbm_context_set_max_data_bytes(self.ptr, int(n)))

    @property
    def last_error(self) -> str:
        return ffi.string(lib.rbm_context_last_error(self.ptr)).decode("utf-8", "replace")

    @property
    def last_status(self) -> int:
        return int(lib.rbm_context_last_status(self.ptr))

    def clear_error(self) -> None:
        lib.rbm_context_clear_error(self.ptr)

    def set_logger(self, logger: Union[None, str, logging.Logger, Callable[[int, str], None]],
                   level: int = logging.INFO) -> None:
        """Send the library's log lines to a ``logging.Logger`` (or a name,
        or a callable ``fn(logging_level, message)``); None removes it."""
        if logger is None:
            self._check(lib.rbm_context_set_log(self.ptr, ffi.NULL, ffi.NULL, 0))
            self._log_cb = None
            return
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        emit = logger.log if isinstance(logger, logging.Logger) else logger
        max_level = 3 if level <= logging.DEBUG else 2 if level <= logging.INFO else \
            1 if level <= logging.WARNING else 0

        @ffi.callback("rbm_log_fn")
        def _log(user, lvl, message):
            try:
                emit(_LOG_LEVELS.get(int(lvl), logging.DEBUG),
                     ffi.string(message).decode("utf-8", "replace"))
            except Exception:  # a log line must never break the C call
                pass

        self._check(lib.rbm_context_set_log(self.ptr, _log, ffi.NULL, max_level))
        self._log_cb = _log


def _ctx(context: Optional[Context]) -> Context:
    return context if context is not None else Context()


def version() -> str:
    """Version string of the loaded library ("0.2.0")."""
    return ffi.string(lib.rbm_version_string()).decode()


def version_number() -> int:
    return int(lib.rbm_version_number())


# ---------------------------------------------------------------- rng


class Rng(_Handle):
    """xoshiro256** generator (include/rbm/rng.h): same seed, same stream
    on every platform."""

    def __init__(self, seed: int = 0, context: Optional[Context] = None) -> None:
        ctx = _ctx(context)
        out = ffi.new("rbm_rng **")
        check(lib.rbm_rng_new(ctx.ptr, _u64(seed), out), ctx.ptr)
        self.context = ctx
        self._init_handle(out[0], lib.rbm_rng_free, [ctx], ctx.ptr)

    @classmethod
    def _borrowed(cls, ptr, owner: _Handle) -> "Rng":
        r = cls.__new__(cls)
        r.context = getattr(owner, "context", None)
        r._owner = owner
        r._init_handle(ptr, None, [owner], owner._ctxp)
        return r

    def seed(self, seed: int) -> None:
        self._check(lib.rbm_rng_seed(self.ptr, _u64(seed)))

    def next_u64(self) -> int:
        return int(lib.rbm_rng_next_u64(self.ptr))

    def uniform(self, n: Optional[int] = None) -> Union[float, np.ndarray]:
        """One uniform in [0, 1), or an array of n of them."""
        if n is None:
            return float(lib.rbm_rng_uniform(self.ptr))
        return np.array([lib.rbm_rng_uniform(self.ptr) for _ in range(int(n))])

    def normal(self, n: Optional[int] = None) -> Union[float, np.ndarray]:
        if n is None:
            return float(lib.rbm_rng_normal(self.ptr))
        return np.array([lib.rbm_rng_normal(self.ptr) for _ in range(int(n))])

    @property
    def state(self) -> bytes:
        """The complete state (48 bytes, portable)."""
        buf = ffi.new("uint8_t[]", lib.RBM_RNG_STATE_BYTES)
        self._check(lib.rbm_rng_get_state(self.ptr, buf, lib.RBM_RNG_STATE_BYTES))
        return bytes(ffi.buffer(buf))

    @state.setter
    def state(self, value: bytes) -> None:
        value = bytes(value)
        self._check(lib.rbm_rng_set_state(self.ptr, ffi.from_buffer(value), len(value)))


def seed_derive(seed: int, stream: int) -> int:
    """The seed of stream ``stream`` derived from ``seed`` (splitmix64)."""
    return int(lib.rbm_seed_derive(_u64(seed), _u64(stream)))


def _rng_for(rng: Union[None, int, Rng], owner: _Handle) -> Rng:
    if isinstance(rng, Rng):
        return rng
    return Rng(0 if rng is None else rng, getattr(owner, "context", None))


# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class UnitValues:
    """Per-unit mean, variance and log-partition Lambda(x) in fields x."""
    mean: np.ndarray
    variance: np.ndarray
    log_partition: np.ndarray


def unit_eval(kind: Union[str, UnitKind], field: ArrayLike, sigma: float = 1.0) -> UnitValues:
    """Mean, variance and log-partition of one unit kind at the given fields
    (any shape; results have the same shape)."""
    x = _f64(field)
    flat = x.reshape(-1)
    n = flat.size
    mean, var, lp = (np.empty(n) for _ in range(3))
    raise_for(lib.rbm_unit_eval(UnitKind.coerce(kind), float(sigma), n, _dp(flat), _dp(mean), n,
                                _dp(var), n, _dp(lp), n))
    return UnitValues(mean.reshape(x.shape), var.reshape(x.shape), lp.reshape(x.shape))


def unit_sample(kind: Union[str, UnitKind], field: ArrayLike, rng: Rng,
                sigma: float = 1.0) -> np.ndarray:
    """One sample per unit from the unit law in its field (same shape)."""
    x = _f64(field)
    flat = x.reshape(-1)
    out = np.empty(flat.size)
    check(lib.rbm_unit_sample(UnitKind.coerce(kind), float(sigma), flat.size, _dp(flat),
                              rng.ptr, _dp(out), flat.size), rng._ctxp)
    return out.reshape(x.shape)


# ---------------------------------------------------------------- machine


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
    def _get(self, fn, shape) -> np.ndarray:
        out = np.empty(shape)
        self._check(fn(self.ptr, _dp(out), out.size))
        return out

    def _set(self, fn, value: ArrayLike, shape, name: str) -> None:
        a = _f64(value)
        if a.shape != shape and a.size == int(np.prod(shape)) and a.ndim != len(shape):
            a = a.reshape(shape)
        if a.shape != shape:
            raise _shape_error(f"{name} has shape {a.shape}, machine expects {shape}")
        self._check(fn(self.ptr, _dp(a), a.size))

    @property
    def weights(self) -> np.ndarray:
        """W, shape (n_visible, n_hidden) (a copy; assign to set)."""
        return self._get(lib.rbm_machine_get_weights, self.shape)

    @weights.setter
    def weights(self, w: ArrayLike) -> None:
        self._set(lib.rbm_machine_set_weights, w, self.shape, "weights")

    @property
    def visible_bias(self) -> np.ndarray:
        """a, shape (n_visible,)."""
        return self._get(lib.rbm_machine_get_visible_bias, (self.n_visible,))

    @visible_bias.setter
    def visible_bias(self, a: ArrayLike) -> None:
        self._set(lib.rbm_machine_set_visible_bias, a, (self.n_visible,), "visible_bias")

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
        """E[v | h]: (batch, n_visible)."""
        return self._batch_call(lib.rbm_machine_visible_mean, h, "h", self.n_visible)

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


# ---------------------------------------------------------------- dataset


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


# ---------------------------------------------------------------- sampler


class Sampler(_Handle):
    """Persistent Gibbs chains of a machine (the machine is borrowed: the
    chains see its current parameters)."""

    def __init__(self, machine: Machine, n_chains: int, seed: int = 0) -> None:
        out = ffi.new("rbm_sampler **")
        check(lib.rbm_sampler_new(machine.ptr, int(n_chains), _u64(seed), out), machine._ctxp)
        self.machine = machine
        self._shape = machine.shape
        self.context = machine.context
        self._init_handle(out[0], lib.rbm_sampler_free, [machine], machine._ctxp)

    @classmethod
    def _borrowed(cls, ptr, owner: _Handle, machine: Machine) -> "Sampler":
        s = cls.__new__(cls)
        s.machine = machine
        s._shape = machine.shape
        s.context = machine.context
        s._owner = owner
        s._init_handle(ptr, None, [owner], owner._ctxp)
        return s

    @property
    def n_chains(self) -> int:
        return int(lib.rbm_sampler_chain_count(self.ptr))

    def init_random(self) -> None:
        self._check(lib.rbm_sampler_init_random(self.ptr))

    def init_from_data(self, data: Union[Dataset, ArrayLike]) -> None:
        ds = _dataset(data, self.context)
        self._check(lib.rbm_sampler_init_from_data(self.ptr, ds.ptr))

    def run(self, k: int = 1) -> None:
        """k Gibbs sweeps (v | h, then h | v) on every chain."""
        self._check(lib.rbm_sampler_run(self.ptr, int(k)))

    @property
    def visible(self) -> np.ndarray:
        """Visible states, (n_chains, n_visible); assign to set them."""
        out = np.empty((self.n_chains, self._shape[0]))
        self._check(lib.rbm_sampler_get_visible(self.ptr, _dp(out), out.size))
        return out

    @visible.setter
    def visible(self, v: ArrayLike) -> None:
        a = _f64(v)
        self._check(lib.rbm_sampler_set_visible(self.ptr, _dp(a), a.size))

    @property
    def hidden(self) -> np.ndarray:
        out = np.empty((self.n_chains, self._shape[1]))
        self._check(lib.rbm_sampler_get_hidden(self.ptr, _dp(out), out.size))
        return out

    @property
    def rng(self) -> Rng:
        return Rng._borrowed(lib.rbm_sampler_rng(self.ptr), self)


# ---------------------------------------------------------------- gradient


class Gradient(_Handle):
    """dLik/dW (n_visible, n_hidden), dLik/da, dLik/db of one machine shape."""

    def __init__(self, machine: Machine) -> None:
        out = ffi.new("rbm_gradient **")
        check(lib.rbm_gradient_new(machine.ptr, out), machine._ctxp)
        self._shape = machine.shape
        self.context = machine.context
        self._init_handle(out[0], lib.rbm_gradient_free, [machine.context], machine._ctxp)

    @classmethod
    def _borrowed(cls, ptr, owner: _Handle, shape) -> "Gradient":
        g = cls.__new__(cls)
        g._shape = shape
        g.context = getattr(owner, "context", None)
        g._init_handle(ptr, None, [owner], owner._ctxp)
        return g

    @classmethod
    def from_arrays(cls, machine: Machine, weights: ArrayLike, visible_bias: ArrayLike,
                    hidden_bias: ArrayLike) -> "Gradient":
        g = cls(machine)
        g.weights = weights
        g.visible_bias = visible_bias
        g.hidden_bias = hidden_bias
        return g

    @classmethod
    def from_samples(cls, machine: Machine, data: ArrayLike, model_visible: ArrayLike,
                     model_hidden: Optional[ArrayLike] = None) -> "Gradient":
        """The likelihood gradient from caller samples:
        dW = <v E[h|v]>_data - <v h>_model, da = <v>_data - <v>_model,
        db = <E[h|v]>_data - <h>_model. ``model_hidden`` None uses
        E[h | v_model] (Rao-Blackwell, as the library's estimators do)."""
        vd, _, _ = _batch(data, "data")
        vm, _, _ = _batch(model_visible, "model_visible")
        hd = np.atleast_2d(machine.hidden_mean(vd))
        hm = np.atleast_2d(machine.hidden_mean(vm) if model_hidden is None
                           else _batch(model_hidden, "model_hidden")[0])
        if hm.shape[0] != vm.shape[0]:
            raise _shape_error(f"model_hidden has {hm.shape[0]} rows, model_visible "
                               f"{vm.shape[0]}")
        return cls.from_arrays(machine, vd.T @ hd / len(vd) - vm.T @ hm / len(vm),
                               vd.mean(0) - vm.mean(0), hd.mean(0) - hm.mean(0))

    def zero(self) -> None:
        self._check(lib.rbm_gradient_zero(self.ptr))

    def _get(self, fn, shape):
        out = np.empty(shape)
        self._check(fn(self.ptr, _dp(out), out.size))
        return out

    def _set(self, fn, value, shape, name):
        a = _f64(value)
        if a.shape != tuple(shape):
            raise _shape_error(f"{name} has shape {a.shape}, gradient expects {tuple(shape)}")
        self._check(fn(self.ptr, _dp(a), a.size))

    @property
    def weights(self) -> np.ndarray:
        """dW, (n_visible, n_hidden) (a copy; assign to set)."""
        return self._get(lib.rbm_gradient_get_weights, self._shape)

    @weights.setter
    def weights(self, v: ArrayLike) -> None:
        self._set(lib.rbm_gradient_set_weights, v, self._shape, "weights")

    @property
    def visible_bias(self) -> np.ndarray:
        """da, (n_visible,)."""
        return self._get(lib.rbm_gradient_get_visible_bias, (self._shape[0],))

    @visible_bias.setter
    def visible_bias(self, v: ArrayLike) -> None:
        self._set(lib.rbm_gradient_set_visible_bias, v, (self._shape[0],), "visible_bias")

    @property
    def hidden_bias(self) -> np.ndarray:
        """db, (n_hidden,)."""
        return self._get(lib.rbm_gradient_get_hidden_bias, (self._shape[1],))

    @hidden_bias.setter
    def hidden_bias(self, v: ArrayLike) -> None:
        self._set(lib.rbm_gradient_set_hidden_bias, v, (self._shape[1],), "hidden_bias")

    def scale(self, alpha: float) -> None:
        self._check(lib.rbm_gradient_scale(self.ptr, float(alpha)))

    def axpy(self, alpha: float, x: "Gradient") -> None:
        """self += alpha * x."""
        self._check(lib.rbm_gradient_axpy(self.ptr, float(alpha), x.ptr))

    def apply(self, machine: Machine, step: float) -> None:
        """theta += step * g on the machine's W, a, b (plain ascent)."""
        check(lib.rbm_gradient_apply(self.ptr, machine.ptr, float(step)), machine._ctxp)


# ---------------------------------------------------------------- estimator


class Estimator(_Tunables, _Handle):
    """A gradient estimator (CD-k, PCD-k, exact, MF, TAP2, TAP3) for a
    machine; ``compute(v)`` estimates the gradient on a minibatch."""

    _tunable_prefix = "rbm_estimator"

    def __init__(self, machine: Machine, kind: Union[str, EstimatorKind] = "pcd",
                 max_batch: int = 100, seed: int = 0, k: Optional[int] = None,
                 chains: Optional[int] = None) -> None:
        out = ffi.new("rbm_estimator **")
        check(lib.rbm_estimator_new(machine.ptr, EstimatorKind.coerce(kind), int(max_batch),
                                    _u64(seed), out), machine._ctxp)
        self.machine = machine
        self.context = machine.context
        self._init_handle(out[0], lib.rbm_estimator_free, [machine], machine._ctxp)
        if k is not None:
            self.k = k
        if chains is not None:
            self.chains = chains

    @classmethod
    def _borrowed(cls, ptr, owner: _Handle, machine: Machine) -> "Estimator":
        e = cls.__new__(cls)
        e.machine = machine
        e.context = machine.context
        e._owner = owner
        e._init_handle(ptr, None, [owner], owner._ctxp)
        return e

    @property
    def kind(self) -> EstimatorKind:
        return EstimatorKind(lib.rbm_estimator_kind_of(self.ptr))

    @property
    def k(self) -> int:
        """Gibbs sweeps (CD/PCD) or fixed-point iterations (MF/TAP) per call."""
        return self.get_int(lib.RBM_ESTIMATOR_K)

    @k.setter
    def k(self, v: int) -> None:
        self.set_int(lib.RBM_ESTIMATOR_K, v)

    @property
    def chains(self) -> int:
        """Persistent chains or particles in use (set 0: max_batch)."""
        return self.get_int(lib.RBM_ESTIMATOR_CHAINS)

    @chains.setter
    def chains(self, v: int) -> None:
        self.set_int(lib.RBM_ESTIMATOR_CHAINS, v)

    def compute(self, v: ArrayLike, gradient: Optional[Gradient] = None) -> Gradient:
        """Estimate the gradient on the minibatch v (batch, n_visible) into
        ``gradient`` (a new one when None); returns it."""
        a, nb, _ = _batch(v, "v")
        g = gradient if gradient is not None else Gradient(self.machine)
        self._check(lib.rbm_estimator_compute(self.ptr, nb, _dp(a), a.size, g.ptr))
        return g

    @property
    def sampler(self) -> Optional[Sampler]:
        """The persistent chains of a PCD estimator (None for other kinds)."""
        p = lib.rbm_estimator_sampler(self.ptr)
        return None if p == ffi.NULL else Sampler._borrowed(p, self, self.machine)


# ---------------------------------------------------------------- trainer

_TRAINER_REAL = {
    "learning_rate": 100, "momentum": 101, "adam_beta1": 102, "adam_beta2": 103,
    "adam_epsilon": 104, "l1": 105, "l2": 106,
}


class Trainer(_Tunables, _Handle):
    """Optimiser + estimator over shuffled minibatches of a dataset.

    ``step()`` makes one update and returns Status.OK, Status.DONE (the step
    ended an epoch) or Status.STOPPED (the observer asked to stop);
    ``run_epochs(n)`` runs whole epochs. Both release the GIL while C runs.
    ``observer``: a callable ``fn(trainer) -> bool | None`` called after
    every step (return True to stop); an exception raised in it stops the
    run and is re-raised by step()/run_epochs() after the C call returns."""

    _tunable_prefix = "rbm_trainer"

    def __init__(self, machine: Machine, data: Union[Dataset, ArrayLike], batch_size: int = 100,
                 seed: int = 0, *, estimator: Union[str, EstimatorKind, None] = None,
                 k: int = 1, optimizer: Union[str, Optimizer, None] = None,
                 learning_rate: Optional[float] = None, momentum: Optional[float] = None,
                 l1: Optional[float] = None, l2: Optional[float] = None,
                 monitor_every: Optional[int] = None,
                 observer: Optional[Callable[["Trainer"], Any]] = None) -> None:
        ds = _dataset(data, machine.context)
        out = ffi.new("rbm_trainer **")
        check(lib.rbm_trainer_new(machine.ptr, ds.ptr, int(batch_size), _u64(seed), out),
              machine._ctxp)
        self._setup(out[0], machine, ds)
        if estimator is not None or k != 1:
            self.set_estimator(estimator if estimator is not None else "pcd", k)
        if optimizer is not None:
            self.optimizer = optimizer
        for name, value in (("learning_rate", learning_rate), ("momentum", momentum),
                            ("l1", l1), ("l2", l2)):
            if value is not None:
                setattr(self, name, value)
        if monitor_every is not None:
            self.monitor_every = monitor_every
        if observer is not None:
            self.set_observer(observer)

    def _setup(self, ptr, machine: Machine, ds: Dataset) -> None:
        self.machine = machine
        self._shape = machine.shape
        self.data = ds
        self.context = machine.context
        self._observer = None
        self._observer_cb = None
        self._exc: Optional[BaseException] = None
        self._init_handle(ptr, lib.rbm_trainer_free, [machine, ds], machine._ctxp)

    # -- configuration
    def set_estimator(self, kind: Union[str, EstimatorKind], k: int = 1) -> None:
        self._check(lib.rbm_trainer_set_estimator(self.ptr, EstimatorKind.coerce(kind), int(k)))

    @property
    def optimizer(self) -> Optimizer:
        return Optimizer(lib.rbm_trainer_optimizer(self.ptr))

    @optimizer.setter
    def optimizer(self, opt: Union[str, Optimizer]) -> None:
        self._check(lib.rbm_trainer_set_optimizer(self.ptr, Optimizer.coerce(opt)))

    @property
    def monitor_every(self) -> int:
        """Reconstruction error every that many steps (0: never)."""
        return self.get_int(lib.RBM_TRAINER_MONITOR_EVERY)

    @monitor_every.setter
    def monitor_every(self, v: int) -> None:
        self.set_int(lib.RBM_TRAINER_MONITOR_EVERY, v)

    def set_observer(self, fn: Optional[Callable[["Trainer"], Any]]) -> None:
        if fn is None:
            self._check(lib.rbm_trainer_set_observer(self.ptr, ffi.NULL, ffi.NULL))
            self._observer = self._observer_cb = None
            return

        @ffi.callback("rbm_observer_fn")
        def _observe(user, t):
            try:
                return 1 if fn(self) else 0
            except BaseException as exc:  # re-raised after the C call
                self._exc = exc
                return 1

        self._check(lib.rbm_trainer_set_observer(self.ptr, _observe, ffi.NULL))
        self._observer, self._observer_cb = fn, _observe

    # -- running
    def _finish(self, st: int) -> Status:
        if self._exc is not None:
            exc, self._exc = self._exc, None
            raise exc
        if st < 100:
            return _STATUSES[st]
        return Status(self._check(st))

    def step(self) -> Status:
        """One minibatch update: Status.OK, DONE (epoch ended) or STOPPED."""
        return self._finish(lib.rbm_trainer_step(self.ptr))

    def run_epochs(self, n_epochs: int = 1) -> Status:
        """Run n_epochs more epochs: Status.OK or STOPPED."""
        return self._finish(lib.rbm_trainer_run_epochs(self.ptr, int(n_epochs)))

    def apply_gradient(self, g: Gradient) -> None:
        """One optimiser update with a caller-supplied gradient."""
        self._check(lib.rbm_trainer_apply_gradient(self.ptr, g.ptr))

    # -- checkpoints
    def save_checkpoint(self, path: Union[str, os.PathLike]) -> None:
        self._check(lib.rbm_trainer_save_checkpoint(self.ptr, os.fsencode(path)))

    @classmethod
    def load_checkpoint(cls, path: Union[str, os.PathLike], data: Union[Dataset, ArrayLike],
                        context: Optional[Context] = None) -> "Trainer":
        """Resume a checkpointed run on the same data; the new machine is
        ``trainer.machine``."""
        ctx = _ctx(context)
        ds = _dataset(data, ctx)
        mo = ffi.new("rbm_machine **")
        to = ffi.new("rbm_trainer **")
        check(lib.rbm_trainer_load_checkpoint(ctx.ptr, os.fsencode(path), ds.ptr, mo, to), ctx.ptr)
        t = cls.__new__(cls)
        t._setup(to[0], Machine._wrap(mo[0], ctx), ds)
        return t

    # -- queries
    @property
    def step_count(self) -> int:
        """Updates done (steps and apply_gradient calls)."""
        return int(lib.rbm_trainer_step_count(self.ptr))

    @property
    def epoch_count(self) -> int:
        """Epochs completed."""
        return int(lib.rbm_trainer_epoch_count(self.ptr))

    @property
    def batch_index(self) -> int:
        """Minibatches done in the current epoch."""
        return int(lib.rbm_trainer_batch_index(self.ptr))

    @property
    def batches_per_epoch(self) -> int:
        return int(lib.rbm_trainer_batches_per_epoch(self.ptr))

    @property
    def batch_size(self) -> int:
        return int(lib.rbm_trainer_batch_size(self.ptr))

    @property
    def reconstruction_error(self) -> float:
        """Of the most recent monitored step (NaN before one)."""
        return float(lib.rbm_trainer_reconstruction_error(self.ptr))

    @property
    def gradient(self) -> Gradient:
        """The gradient of the most recent step (a view owned by the trainer)."""
        return Gradient._borrowed(lib.rbm_trainer_gradient(self.ptr), self, self._shape)

    @property
    def estimator(self) -> Estimator:
        return Estimator._borrowed(lib.rbm_trainer_estimator(self.ptr), self, self.machine)


def _real_property(key: int, doc: str) -> property:
    """A float attribute read and written through get_real / set_real."""
    def get(self: _Tunables) -> float:
        return self.get_real(key)

    def set_(self: _Tunables, value: float) -> None:
        self.set_real(key, value)

    return property(get, set_, doc=doc)


for _name, _key in _TRAINER_REAL.items():
    setattr(Trainer, _name, _real_property(_key, f"The trainer's {_name} (key {_key})."))
del _name, _key
