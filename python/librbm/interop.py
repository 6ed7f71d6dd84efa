"""Files shared with other software: librbm's training archives
(include/rbm/archive.h) and, when librbm was built with HDF5, the archives of
the `rbms` package and HDF5 data sets (include/rbm/interop.h,
docs/interop.md). Without HDF5 the rbms/HDF5 functions raise
UnsupportedError; ``hdf5_available()`` says which build this is."""
from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ._binding import check, ffi, lib
from .base import ArrayLike, Context, _ctx, _dp, _f64, _Handle, _u64
from .data import Dataset
from .machine import Machine
from .training import Sampler, Trainer

RBMS_LAST = 0xFFFFFFFFFFFFFFFF  # RBM_RBMS_LAST: the last saved update


def hdf5_available() -> bool:
    """True when this librbm was built with HDF5."""
    return bool(lib.rbm_hdf5_available())


def rbms_list(path: Union[str, os.PathLike],
              context: Optional[Context] = None) -> Tuple[np.ndarray, np.ndarray, str]:
    """(update numbers (uint64, ascending), their times in seconds (NaN when
    absent), the model type) of an rbms archive."""
    ctx = _ctx(context)
    p = os.fsencode(path)
    n = ffi.new("size_t *")
    check(lib.rbm_rbms_list(ctx.ptr, p, ffi.NULL, ffi.NULL, 0, n, ffi.NULL, 0), ctx.ptr)
    ups = np.empty(n[0], dtype=np.uint64)
    times = np.empty(n[0])
    mt = ffi.new("char[]", 256)
    check(lib.rbm_rbms_list(ctx.ptr, p, ffi.cast("uint64_t *", ffi.from_buffer(ups)), _dp(times),
                            n[0], n, mt, 256), ctx.ptr)
    return ups, times, ffi.string(mt).decode()


def load_rbms(path: Union[str, os.PathLike], update: Optional[int] = None,
              context: Optional[Context] = None) -> Machine:
    """The machine saved at ``update`` (None: the last one) of an rbms archive."""
    ctx = _ctx(context)
    out = ffi.new("rbm_machine **")
    check(lib.rbm_machine_load_rbms(ctx.ptr, os.fsencode(path),
                                    RBMS_LAST if update is None else _u64(update), out), ctx.ptr)
    return Machine._wrap(out[0], ctx)


def rbms_load_chains(path: Union[str, os.PathLike],
                     context: Optional[Context] = None) -> Dataset:
    """The persistent chains (parallel_chains, n_chains x N_v) of an rbms archive."""
    ctx = _ctx(context)
    out = ffi.new("rbm_dataset **")
    check(lib.rbm_rbms_load_chains(ctx.ptr, os.fsencode(path), out), ctx.ptr)
    return Dataset._wrap(out[0], ctx)


def rbms_load_sampler(path: Union[str, os.PathLike], machine: Machine, seed: int = 0) -> Sampler:
    """A Sampler for machine continuing the rbms run's persistent chains."""
    out = ffi.new("rbm_sampler **")
    check(lib.rbm_rbms_load_sampler(machine.context.ptr, os.fsencode(path), machine.ptr,
                                    _u64(seed), out), machine._ctxp)
    s = Sampler.__new__(Sampler)
    s.machine, s._shape, s.context = machine, machine.shape, machine.context
    s._init_handle(out[0], lib.rbm_sampler_free, [machine], machine._ctxp)
    return s


def rbms_save(path: Union[str, os.PathLike], models: Sequence[Machine], updates: Sequence[int],
              chains: ArrayLike, times: Optional[Sequence[float]] = None, batch_size: int = 100,
              gibbs_steps: int = 1, learning_rate: float = 0.01, float32: bool = True) -> None:
    """Write an rbms 0.2 archive of the machines (checkpoints update_N),
    with the persistent chains (n_chains, N_v) and hyperparameters."""
    if not models:
        raise ValueError("rbms_save needs at least one machine")
    ms = ffi.new("rbm_machine *[]", [m.ptr for m in models])
    ups = np.ascontiguousarray(updates, dtype=np.uint64)
    tm = None if times is None else _f64(times)
    c = np.atleast_2d(_f64(chains))
    check(lib.rbm_rbms_save(ffi.cast("const rbm_machine *const *", ms),
                            ffi.cast("uint64_t *", ffi.from_buffer(ups)), _dp(tm), len(models),
                            _dp(c), c.shape[0], c.size, int(batch_size), int(gibbs_steps),
                            float(learning_rate), 1 if float32 else 0, os.fsencode(path)),
          models[0]._ctxp)


def load_hdf5(path: Union[str, os.PathLike], dataset: Optional[str] = None,
              context: Optional[Context] = None) -> Dataset:
    """A 2-D numeric HDF5 dataset ("/group/name"; None: "samples", the rbms
    convention) as a Dataset."""
    ctx = _ctx(context)
    out = ffi.new("rbm_dataset **")
    check(lib.rbm_dataset_load_hdf5(ctx.ptr, os.fsencode(path),
                                    ffi.NULL if dataset is None else dataset.encode(), out),
          ctx.ptr)
    return Dataset._wrap(out[0], ctx)


def log_schedule(total_steps: int, n_saves: int) -> np.ndarray:
    """Log-spaced save steps of a run, as rbms saves them (uint64, ascending)."""
    ctx = Context()
    n = ffi.new("size_t *")
    check(lib.rbm_archive_log_schedule(ctx.ptr, _u64(total_steps), int(n_saves), ffi.NULL, 0, n),
          ctx.ptr)
    out = np.empty(n[0], dtype=np.uint64)
    check(lib.rbm_archive_log_schedule(ctx.ptr, _u64(total_steps), int(n_saves),
                                       ffi.cast("uint64_t *", ffi.from_buffer(out)), n[0], n),
          ctx.ptr)
    return out


class Archive(_Handle):
    """librbm's training archive: models, spectra, configuration and
    checkpoints of a run in one append-only file. ``mode`` "r" reads an
    existing archive, "a" appends (creating it when missing)."""

    def __init__(self, path: Union[str, os.PathLike], mode: str = "r",
                 context: Optional[Context] = None) -> None:
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', not {mode!r}")
        ctx = _ctx(context)
        out = ffi.new("rbm_archive **")
        check(lib.rbm_archive_open(ctx.ptr, os.fsencode(path), 0 if mode == "r" else 1, out),
              ctx.ptr)
        self.context = ctx
        self._init_handle(out[0], lib.rbm_archive_free, [ctx], ctx.ptr)

    @property
    def ignored_bytes(self) -> int:
        """Bytes of a torn last record skipped at open."""
        return int(lib.rbm_archive_ignored_bytes(self.ptr))

    def __len__(self) -> int:
        return int(lib.rbm_archive_count(self.ptr))

    def info(self, i: int) -> Tuple[int, float]:
        """(training step, training seconds) of model i."""
        st = ffi.new("uint64_t *")
        sec = ffi.new("double *")
        self._check(lib.rbm_archive_info(self.ptr, int(i), st, sec))
        return int(st[0]), float(sec[0])

    def load_machine(self, i: int) -> Machine:
        out = ffi.new("rbm_machine **")
        self._check(lib.rbm_archive_load_machine(self.ptr, int(i), out))
        return Machine._wrap(out[0], self.context)

    def append_machine(self, machine: Machine, step: int, seconds: float = 0.0) -> None:
        """Append machine (and the spectrum of its W) at training step ``step``."""
        self._check(lib.rbm_archive_append_machine(self.ptr, machine.ptr, _u64(step),
                                                   float(seconds)))

    @property
    def n_spectra(self) -> int:
        return int(lib.rbm_archive_spectrum_count(self.ptr))

    def spectrum(self, i: int) -> Tuple[int, np.ndarray]:
        """(step, singular values descending) of spectrum i."""
        st = ffi.new("uint64_t *")
        n = ffi.new("size_t *")
        self._check(lib.rbm_archive_spectrum_info(self.ptr, int(i), st, n))
        out = np.empty(n[0])
        self._check(lib.rbm_archive_get_spectrum(self.ptr, int(i), _dp(out), out.size))
        return int(st[0]), out

    def append_spectrum(self, step: int, singular_values: ArrayLike) -> None:
        sv = _f64(singular_values).reshape(-1)
        self._check(lib.rbm_archive_append_spectrum(self.ptr, _u64(step), _dp(sv), sv.size))

    @property
    def config(self) -> str:
        """The last configuration text appended ("" when none); assign to append one."""
        n = ffi.new("size_t *")
        self._check(lib.rbm_archive_get_config(self.ptr, ffi.NULL, 0, n))
        buf = ffi.new("char[]", n[0] + 1)
        self._check(lib.rbm_archive_get_config(self.ptr, buf, n[0] + 1, n))
        return ffi.string(buf).decode("utf-8", "replace")

    @config.setter
    def config(self, text: str) -> None:
        self._check(lib.rbm_archive_set_config(self.ptr, text.encode()))

    def append_checkpoint(self, trainer: Trainer) -> None:
        """Append the complete training state of trainer."""
        self._check(lib.rbm_archive_append_checkpoint(self.ptr, trainer.ptr))

    def checkpoints(self) -> Tuple[int, int]:
        """(number of checkpoints, step of the last one)."""
        st = ffi.new("uint64_t *")
        n = lib.rbm_archive_checkpoint_count(self.ptr, st)
        return int(n), int(st[0])

    def extract_checkpoint(self, path: Union[str, os.PathLike]) -> None:
        """Write the last checkpoint to path (for Trainer.load_checkpoint)."""
        self._check(lib.rbm_archive_extract_checkpoint(self.ptr, os.fsencode(path)))
