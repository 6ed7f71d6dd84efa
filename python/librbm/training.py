"""Training: persistent Gibbs samplers, gradients (also from caller
samples), gradient estimators and trainers with observer callbacks and
checkpoints."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import numpy as np

from ._binding import check, ffi, lib
from .base import (ArrayLike, Context, EstimatorKind, Optimizer, Rng, Status, _STATUSES,
                   _Tunables, _batch, _ctx, _dp, _f64, _Handle, _int_property, _real_property,
                   _shape_error, _u64)
from .data import Dataset, _dataset
from .machine import Machine

if TYPE_CHECKING:
    from .tempering import Tempering


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
    """A gradient estimator (CD-k, PCD-k, exact, MF, TAP2, TAP3, PT) for a
    machine; ``compute(v)`` estimates the gradient on a minibatch.

    PT: a temperature ladder of ``replicas`` rungs (default 10, evenly
    spaced betas) of ``chains`` chains, k PT sweeps per call, the model
    term from the beta = 1 rung; ``retune_every`` K > 0 re-places the betas
    every K calls. ``tempering`` is the ladder (librbm.tempering)."""

    _tunable_prefix = "rbm_estimator"

    def __init__(self, machine: Machine, kind: Union[str, EstimatorKind] = "pcd",
                 max_batch: int = 100, seed: int = 0, k: Optional[int] = None,
                 chains: Optional[int] = None, replicas: Optional[int] = None,
                 retune_every: Optional[int] = None) -> None:
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
        if replicas is not None:
            self.replicas = replicas
        if retune_every is not None:
            self.retune_every = retune_every

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

    replicas = _int_property(
        lib.RBM_ESTIMATOR_REPLICAS,
        "PT only: rungs of the ladder (set 0: the default 10; setting it rebuilds the "
        "ladder, and an earlier ``tempering`` view goes stale).")
    retune_every = _int_property(
        lib.RBM_ESTIMATOR_RETUNE_EVERY,
        "PT only: re-place the betas every that many calls (0: never).")

    @property
    def tempering(self) -> Optional["Tempering"]:
        """The ladder of a PT estimator (a view: swap statistics, chains;
        running it moves the estimator's state), None for other kinds."""
        from .tempering import Tempering
        p = lib.rbm_estimator_tempering(self.ptr)
        return None if p == ffi.NULL else Tempering._borrowed(p, self, self.machine)

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
    "adam_epsilon": 104, "l1": 105, "l2": 106, "centering_rate": 107,
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
                 monitor_every: Optional[int] = None, centered: Optional[bool] = None,
                 centering_rate: Optional[float] = None,
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
        if centering_rate is not None:
            self.centering_rate = centering_rate
        if centered is not None:
            self.centered = centered
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
        """Replace the trainer's estimator (kind, k sweeps). The C call frees
        the old estimator: Estimator views taken from ``trainer.estimator``
        before are closed (ValueError on use)."""
        self._check(lib.rbm_trainer_set_estimator(self.ptr, EstimatorKind.coerce(kind), int(k)))
        self._invalidate_views(Estimator)

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

    @property
    def centered(self) -> bool:
        """The centred gradient (Melchior, Fischer & Wiskott 2016; offsets
        move at ``centering_rate``, default 0.01); off by default."""
        return bool(self.get_int(lib.RBM_TRAINER_CENTERED))

    @centered.setter
    def centered(self, v: bool) -> None:
        self.set_int(lib.RBM_TRAINER_CENTERED, 1 if v else 0)

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


for _name, _key in _TRAINER_REAL.items():
    setattr(Trainer, _name, _real_property(_key, f"The trainer's {_name} (key {_key})."))
del _name, _key
