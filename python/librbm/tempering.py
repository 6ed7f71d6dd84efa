"""Parallel tempering (include/rbm/tempering.h) and mixing diagnostics
(include/rbm/diagnostics.h).

A :class:`Tempering` sampler holds R rungs ("replicas") of ``n_chains``
chains each; the top rung R-1 is the target machine. Two ladders:

* temperature (``Tempering(machine, ...)``): rung r is the machine at
  inverse temperature beta_r, 0 = beta_0 < ... < beta_{R-1} = 1, with
  W_r = beta_r W, b_r = beta_r b, a_r = (1 - beta_r) a_base + beta_r a;
* trajectory (``Tempering.from_models(models, ...)``, PTT): rung 0 is the
  first model with W = 0, rungs 1..n the given models (copied).

One sweep is Gibbs on every rung then replica exchange between even or odd
neighbour pairs (docs/theory.md §10). Rungs are indexed 0..R-1; a negative
index counts from the top (-1 is the target). Arithmetic is float64.
Equal machines, seeds and calls give bit-identical chains.

:func:`autocorr_time` is the integrated autocorrelation time with Sokal's
window, tau_int = 1 + 2 sum_t rho(t) (AR(1): (1 + phi) / (1 - phi)).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from . import errors
from ._binding import check, ffi, lib
from .base import ArrayLike, Context, Rng, _ctx, _dp, _f64, _Handle, _shape_error, _u64
from .machine import Machine

MAX_REPLICAS: int = lib.RBM_TEMPERING_MAX_REPLICAS
"""Most rungs a ladder may have (creation, tuning)."""


def _invalid(msg: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                       "RBM_ERR_INVALID_ARGUMENT", msg)


@dataclass(frozen=True)
class SwapStats:
    """Replica-exchange statistics since creation or ``reset_stats()``.

    acceptance: (R - 1,) fraction of accepted swaps of pair (r, r+1), NaN
    where none was proposed; round_trips: completed round trips (rung 0 ->
    rung R-1 -> rung 0) of all walkers; mean_trip: their mean length in
    sweeps (NaN when none)."""
    acceptance: np.ndarray
    round_trips: int
    mean_trip: float


@dataclass(frozen=True)
class TemperingLogZ:
    """log Z of the top rung from the ladder (Bennett acceptance ratio).

    log_z, stderr (nats), exp_fwd / exp_rev: the forward and reverse
    exponential-average (Zwanzig) estimates, exp_fwd_stderr /
    exp_rev_stderr their errors. Every error is a jackknife over groups of
    chains (each chain index is an independent Markov chain of the ladder);
    NaN with one chain."""
    log_z: float
    stderr: float
    exp_fwd: float
    exp_rev: float
    exp_fwd_stderr: float
    exp_rev_stderr: float


@dataclass(frozen=True)
class AutocorrTime:
    """Integrated autocorrelation time of an observable.

    tau: tau_int (below 1 for anticorrelated chains); ess: effective
    sample size n_steps * n_series / tau; window: Sokal's cut M; converged:
    False when no M < n_steps met the window rule (tau is then a lower
    bound from M = n_steps - 1) or when the window closed on an estimate
    tau <= 0 (a short periodic or strongly anticorrelated series: the
    numbers are then meaningless)."""
    tau: float
    ess: float
    window: int
    converged: bool


class Tempering(_Handle):
    """A parallel-tempering sampler over a temperature ladder of ``machine``
    (borrowed: the rungs follow its later changes after ``refresh()``).

    ``betas``: R strictly increasing values from exactly 0 to exactly 1, or
    None for ``n_replicas`` evenly spaced ones (default 10). Chains start
    from exact samples of the beta = 0 (independent-unit) model.
    Errors: InvalidArgumentError (R < 2 or above MAX_REPLICAS, n_chains 0,
    betas not as required), ShapeError (betas not 1-D or its length not
    n_replicas)."""

    def __init__(self, machine: Machine, n_replicas: Optional[int] = None,
                 betas: Optional[ArrayLike] = None, n_chains: int = 100, seed: int = 0) -> None:
        bp = ffi.NULL
        keep = None
        if betas is not None:
            keep = _f64(betas)
            if keep.ndim != 1:
                raise _shape_error(f"betas must be 1-D, got shape {keep.shape}")
            if n_replicas is not None and int(n_replicas) != keep.size:
                raise _shape_error(f"betas has {keep.size} values, n_replicas is {n_replicas}")
            n_replicas = keep.size
            bp = _dp(keep)
        elif n_replicas is None:
            n_replicas = 10
        out = ffi.new("rbm_tempering **")
        check(lib.rbm_tempering_new(machine.ptr, int(n_replicas), bp, int(n_chains), _u64(seed),
                                    out), machine._ctxp)
        self._adopt(out[0], machine, machine, False, None, lib.rbm_tempering_free, [machine])

    def _adopt(self, ptr, machine: Optional[Machine], first: Machine, trajectory: bool,
               owner: Optional[_Handle], free_fn, parents: list) -> None:
        self.machine: Optional[Machine] = machine
        self.context = first.context
        self._shape = first.shape
        self._trajectory = trajectory
        self._owner = owner
        self._init_handle(ptr, free_fn, parents, first._ctxp)

    @classmethod
    def from_models(cls, models: Sequence[Machine], n_chains: int = 100,
                    seed: int = 0) -> "Tempering":
        """A trajectory ladder (PTT) over ``models`` (copied, the copies in
        their models' contexts, which the ladder keeps alive; e.g. the
        machines saved along a training run, the target last): R =
        len(models) + 1 rungs, rung 0 the independent-site model of
        models[0]. All models need the shape, unit kinds and sigmas of
        models[0] (ShapeError / InvalidArgumentError otherwise)."""
        models = list(models)
        if not models:
            raise _invalid("from_models needs at least one model")
        ptrs = ffi.new("rbm_machine *[]", [m.ptr for m in models])
        out = ffi.new("rbm_tempering **")
        first = models[0]
        check(lib.rbm_tempering_new_models(ffi.cast("const rbm_machine *const *", ptrs),
                                           len(models), int(n_chains), _u64(seed), out),
              first._ctxp)
        t = cls.__new__(cls)
        # the copies are clones, each in its model's context (rbm_machine_clone):
        # every one of those contexts must outlive the ladder
        ctxs = list({id(m.context): m.context for m in models}.values())
        t._adopt(out[0], None, first, True, None, lib.rbm_tempering_free, ctxs)
        return t

    @classmethod
    def _borrowed(cls, ptr, estimator: _Handle, machine: Machine) -> "Tempering":
        t = cls.__new__(cls)
        t._adopt(ptr, machine, machine, False, estimator, None, [estimator])
        return t

    @property
    def ptr(self) -> Any:
        """The C handle; ValueError once closed or, for the ladder of a PT
        estimator, once the estimator has replaced it (REPLICAS / CHAINS
        set)."""
        p = _Handle.ptr.fget(self)
        if self._owner is not None and lib.rbm_estimator_tempering(self._owner.ptr) != p:
            raise ValueError("the estimator's ladder was replaced; get estimator.tempering again")
        return p

    # -- shape
    @property
    def n_replicas(self) -> int:
        """Rungs R (changes with ``tune(max_replicas=...)`` and
        ``select_models``)."""
        return int(lib.rbm_tempering_replica_count(self.ptr))

    @property
    def n_chains(self) -> int:
        return int(lib.rbm_tempering_chain_count(self.ptr))

    @property
    def is_trajectory(self) -> bool:
        """True for a trajectory (PTT) ladder."""
        return self._trajectory

    @property
    def betas(self) -> np.ndarray:
        """(R,) inverse temperatures of a temperature ladder
        (UnsupportedError for a trajectory ladder)."""
        return self._get(lib.rbm_tempering_get_betas, (self.n_replicas,))

    @property
    def base_log_z(self) -> float:
        """Exact log Z of rung 0 (independent units), nats."""
        return float(lib.rbm_tempering_base_log_z(self.ptr))

    @property
    def rng(self) -> Rng:
        """The sampler's generator (borrowed)."""
        return Rng._borrowed(lib.rbm_tempering_rng(self.ptr), self)

    # -- configuration
    def set_base_bias(self, a: ArrayLike) -> None:
        """Visible biases (n_visible,) of the base model of a temperature
        ladder (e.g. logit of the data's column means); rungs rebuilt,
        chains kept."""
        self._set(lib.rbm_tempering_set_base_bias, a, (self._shape[0],), "base bias")

    def refresh(self) -> None:
        """Rebuild the rungs from the machine's current parameters."""
        self._check(lib.rbm_tempering_refresh(self.ptr))

    # -- running
    def run(self, n_sweeps: int = 1) -> None:
        """n_sweeps PT sweeps (GIL released)."""
        self._check(lib.rbm_tempering_run(self.ptr, int(n_sweeps)))

    def _rung(self, r: int) -> int:
        R = self.n_replicas
        r = int(r)
        if r < 0:
            r += R
        if r < 0 or r >= R:
            raise _invalid(f"rung {r - R if r < 0 else r} out of range for {R} rungs")
        return r

    def visible(self, r: int = -1) -> np.ndarray:
        """Visible states of rung r, (n_chains, n_visible)."""
        return self._get(lambda p, o, n: lib.rbm_tempering_get_visible(p, self._rung(r), o, n),
                         (self.n_chains, self._shape[0]))

    def hidden(self, r: int = -1) -> np.ndarray:
        """Hidden states of rung r (the last h drawn), (n_chains, n_hidden)."""
        return self._get(lambda p, o, n: lib.rbm_tempering_get_hidden(p, self._rung(r), o, n),
                         (self.n_chains, self._shape[1]))

    def walkers(self, r: int = -1) -> np.ndarray:
        """Walker labels (n_chains,) uint64 of rung r; walker w started on
        rung w // n_chains."""
        out = np.empty(self.n_chains, dtype=np.uint64)
        self._check(lib.rbm_tempering_get_walkers(self.ptr, self._rung(r),
                                                  ffi.cast("uint64_t *", ffi.from_buffer(out)),
                                                  out.size))
        return out

    # -- statistics
    def swap_stats(self) -> SwapStats:
        """Exchange statistics since creation or the last reset_stats()."""
        acc = np.empty(self.n_replicas - 1)
        trips = ffi.new("uint64_t *")
        mean = ffi.new("double *")
        self._check(lib.rbm_tempering_swap_stats(self.ptr, _dp(acc), acc.size, trips, mean))
        return SwapStats(acc, int(trips[0]), float(mean[0]))

    def reset_stats(self) -> None:
        self._check(lib.rbm_tempering_reset_stats(self.ptr))

    def tune(self, target: float = 0.3, max_replicas: int = 0, rounds: int = 10,
             sweeps_per_round: int = 100) -> bool:
        """Automatic ladder (temperature ladders): re-place the betas at
        equal steps of the cumulative rejection, with up to max_replicas
        rungs (0 keeps R), for up to ``rounds`` rounds of
        sweeps_per_round sweeps. Returns True if every pair's mean
        acceptance in the last round reached ``target`` (in (0, 1)).
        Statistics are reset. UnsupportedError on a trajectory ladder."""
        reached = ffi.new("int32_t *")
        self._check(lib.rbm_tempering_tune(self.ptr, float(target), int(max_replicas),
                                           int(rounds), int(sweeps_per_round), reached))
        return bool(reached[0])

    def select_models(self, target: float = 0.3, sweeps: int = 100) -> np.ndarray:
        """Reduce a trajectory ladder to the rungs needed for a mean
        acceptance >= target between kept neighbours (after ``sweeps``
        sweeps); returns the kept old rung indices (int64; 0 is the
        independent model, i >= 1 is models[i-1]). UnsupportedError on a
        temperature ladder."""
        R = self.n_replicas
        keep = ffi.new("size_t[]", R)
        n = ffi.new("size_t *")
        self._check(lib.rbm_tempering_select_models(self.ptr, float(target), int(sweeps), keep,
                                                    R, n))
        return np.array([keep[i] for i in range(n[0])], dtype=np.int64)

    def log_z(self, n_sweeps: int = 200) -> TemperingLogZ:
        """log Z of the top rung by BAR along the ladder over n_sweeps
        (>= 2) further sweeps (GIL released)."""
        lz = ffi.new("double[6]")
        self._check(lib.rbm_tempering_log_z_estimates(self.ptr, int(n_sweeps), lz, lz + 1, lz + 2,
                                                      lz + 3, lz + 4, lz + 5))
        return TemperingLogZ(float(lz[0]), float(lz[1]), float(lz[2]), float(lz[4]),
                             float(lz[3]), float(lz[5]))


def autocorr_time(x: ArrayLike, c: float = 5.0, *, strict: bool = True,
                  context: Optional[Context] = None) -> AutocorrTime:
    """tau_int, ESS and window of an observable recorded along chains.

    x: (n_steps,) one chain or (n_steps, n_series) independent chains (each
    centred on its own mean; autocovariances averaged over chains). c: the
    window constant (> 0, usually 5). A chain too short for the window rule
    raises NotConvergedError, or with ``strict=False`` returns the lower
    bound with ``converged=False``. Errors: InvalidArgumentError (n_steps <
    2, no series, c <= 0), NotFiniteError, ShapeError (x not 1-D/2-D)."""
    a = _f64(x)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise _shape_error(f"x must be 1-D or 2-D, got shape {a.shape}")
    ctx = _ctx(context)
    tau = ffi.new("double *")
    ess = ffi.new("double *")
    win = ffi.new("size_t *")
    st = lib.rbm_autocorr_time(ctx.ptr, _dp(a), a.shape[0], a.shape[1], float(c), tau, ess, win)
    converged = st != lib.RBM_ERR_NOT_CONVERGED
    if converged or strict:
        check(st, ctx.ptr)
    return AutocorrTime(float(tau[0]), float(ess[0]), int(win[0]), converged)
