"""The base of the binding: enums, array helpers, handle ownership (the
parent/child release order of every object), tunable keys, contexts,
random numbers and unit laws.

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
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple, Union

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
    POTTS = 3      #: one of q states per site (visible layer; Machine.potts)


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
    PT = 6  #: parallel tempering (librbm.tempering)

    @staticmethod
    def _aliases():
        return {"tap": 4, "tempering": 6}


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
            if free_fn is None:  # a view of part of p: p can invalidate it
                if "_views" not in p.__dict__:
                    p._views = weakref.WeakSet()
                p._views.add(self)

    def _invalidate_views(self, kind: Optional[type] = None) -> None:
        """Close the borrowed views of this handle (of one class, or all)
        whose C object this handle's last call freed: using them afterwards
        raises ValueError instead of reaching freed memory."""
        for v in list(self.__dict__.get("_views", ())):
            if kind is None or isinstance(v, kind):
                v._invalidate_views()
                v._closed = True
                v._ptr = None
                v._detach()

    @property
    def ptr(self) -> Any:
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
        self._detach()

    def _detach(self) -> None:
        """Stop counting as a child of the parents (releasing a closed one
        whose last child this was)."""
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

    def _get(self, fn, shape: Tuple[int, ...]) -> np.ndarray:
        """A new float64 array of `shape` filled by fn(handle, out, len)."""
        out = np.empty(shape)
        self._check(fn(self.ptr, _dp(out), out.size))
        return out

    def _set(self, fn, value: ArrayLike, shape: Tuple[int, ...], name: str) -> None:
        """fn(handle, value, len) with value as float64 of `shape` (a flat
        array of the right size is reshaped)."""
        a = _f64(value)
        shape = tuple(shape)
        if a.shape != shape and a.ndim == 1 and a.size == int(np.prod(shape)):
            a = a.reshape(shape)
        if a.shape != shape:
            raise _shape_error(f"{name} has shape {a.shape}, "
                               f"{type(self).__name__.lower()} expects {shape}")
        self._check(fn(self.ptr, _dp(a), a.size))


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


def _key_property(key: int, doc: str, integer: bool) -> property:
    """An attribute read and written through get_real / set_real (or
    get_int / set_int when ``integer``) of one key."""
    def get(self: _Tunables) -> Union[int, float]:
        return self.get_int(key) if integer else self.get_real(key)

    def set_(self: _Tunables, value: Union[int, float]) -> None:
        if integer:
            self.set_int(key, int(value))
        else:
            self.set_real(key, float(value))

    return property(get, set_, doc=doc)


def _real_property(key: int, doc: str) -> property:
    """A float attribute read and written through get_real / set_real."""
    return _key_property(key, doc, False)


def _int_property(key: int, doc: str) -> property:
    """An int attribute read and written through get_int / set_int."""
    return _key_property(key, doc, True)



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
