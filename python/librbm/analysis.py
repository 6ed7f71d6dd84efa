"""Analysis: likelihoods (exact log Z, AIS, pseudo-likelihood), the spectral
view of W (SVD, projections, mode tracking, Marchenko-Pastur bulk) and the
Gauss-Gauss dynamics. Mean field / TAP is in librbm.meanfield, the phase
diagram in librbm.phase.

Every function reads a :class:`~librbm.Machine` (and data) and returns
floats, NumPy arrays or small frozen dataclasses. Long computations (exact
log Z, AIS, fixed-point searches, diagrams, integrations) release the GIL.
Log-likelihoods are in nats (log densities for Gaussian visible units) and
are means over the rows of the data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np

from ._binding import check, ffi, lib, raise_for
from .base import ArrayLike, Context, _batch, _dp, _f64, _Handle, _u64
from .data import Dataset, _dataset
from .machine import Machine
from .training import Gradient


def _d(fn, *args, ctx) -> float:
    out = ffi.new("double *")
    check(fn(*args, out), ctx)
    return float(out[0])


def exact_log_z(machine: Machine) -> float:
    """log Z by enumerating the smaller discrete layer (<= 30 units), or the
    closed form of a Gauss-Gauss machine."""
    return _d(lib.rbm_exact_log_z, machine.ptr, ctx=machine._ctxp)


def mean_free_energy(machine: Machine, data: Union[Dataset, ArrayLike]) -> float:
    """<F(v)> over the rows of data."""
    ds = _dataset(data, machine.context)
    return _d(lib.rbm_mean_free_energy, machine.ptr, ds.ptr, ctx=machine._ctxp)


def log_likelihood(machine: Machine, data: Union[Dataset, ArrayLike], log_z: float) -> float:
    """Mean log-likelihood -<F(v)> - log_z for a given (estimated) log Z."""
    ds = _dataset(data, machine.context)
    return _d(lib.rbm_log_likelihood, machine.ptr, ds.ptr, float(log_z), ctx=machine._ctxp)


def exact_log_likelihood(machine: Machine, data: Union[Dataset, ArrayLike]) -> Tuple[float, float]:
    """(mean log-likelihood, log Z), both exact."""
    ds = _dataset(data, machine.context)
    ll = ffi.new("double *")
    lz = ffi.new("double *")
    check(lib.rbm_exact_log_likelihood(machine.ptr, ds.ptr, ll, lz), machine._ctxp)
    return float(ll[0]), float(lz[0])


def pseudo_log_likelihood(machine: Machine, data: Union[Dataset, ArrayLike]) -> float:
    """Mean exact log pseudo-likelihood sum_i log p(v_i | v_-i) (every unit,
    no random flip; binary data)."""
    ds = _dataset(data, machine.context)
    return _d(lib.rbm_pseudo_log_likelihood, machine.ptr, ds.ptr, ctx=machine._ctxp)


def reconstruction_error(machine: Machine, data: Union[Dataset, ArrayLike]) -> float:
    """Mean squared mean-field reconstruction error."""
    ds = _dataset(data, machine.context)
    return _d(lib.rbm_reconstruction_error, machine.ptr, ds.ptr, ctx=machine._ctxp)


def free_energy_gap(machine: Machine, train: Union[Dataset, ArrayLike],
                    heldout: Union[Dataset, ArrayLike]) -> float:
    """<F>_heldout - <F>_train."""
    a = _dataset(train, machine.context)
    b = _dataset(heldout, machine.context)
    return _d(lib.rbm_free_energy_gap, machine.ptr, a.ptr, b.ptr, ctx=machine._ctxp)


def _progress_cb(owner, fn: Optional[Callable[[float], Any]]):
    """A C progress trampoline: fn(fraction) returning True cancels; an
    exception cancels and is kept in owner._exc."""
    if fn is None:
        return ffi.NULL

    @ffi.callback("rbm_progress_fn")
    def _progress(user, fraction):
        try:
            return 1 if fn(float(fraction)) else 0
        except BaseException as exc:
            owner._exc = exc
            return 1

    return _progress


@dataclass(frozen=True)
class AISResult:
    """log Z estimate of an AIS run, its delta-method standard error, and
    whether a progress callback cancelled it."""
    log_z: float
    stderr: float
    stopped: bool = False


@dataclass(frozen=True)
class AISDiagnostics:
    """Convergence evidence of an AIS run: ess = (sum w)^2 / sum w^2 in
    [1, runs]; log_weight_var = Var(log w) across runs (nats^2)."""
    ess: float
    log_weight_var: float


@dataclass(frozen=True)
class AdaptiveAISResult:
    """The last forward/reverse pair of AIS.run_adaptive (nats)."""
    log_z_fwd: float
    se_fwd: float
    log_z_rev: float
    se_rev: float
    converged: bool
    stopped: bool


def ais_bracket_converged(log_z_fwd: float, se_fwd: float, ess_fwd: float, log_z_rev: float,
                          se_rev: float, ess_rev: float, runs: int, tol: float) -> bool:
    """Whether a forward/reverse AIS pair has converged: 0 <= reverse -
    forward <= tol up to -2 sqrt(se_fwd^2 + se_rev^2), both ESS >=
    AIS_MIN_ESS_FRACTION * runs."""
    return bool(lib.rbm_ais_bracket_converged(float(log_z_fwd), float(se_fwd), float(ess_fwd),
                                              float(log_z_rev), float(se_rev), float(ess_rev),
                                              int(runs), float(tol)))


AIS_MIN_ESS_FRACTION: float = 0.1
"""RBM_AIS_MIN_ESS_FRACTION of metrics.h (a float macro, which cffi does not
read; test_census checks it against the header)."""


class AIS(_Handle):
    """Annealed importance sampling of log Z (forward: a lower bound in
    expectation; reverse: an upper bound from equilibrated chains)."""

    def __init__(self, machine: Machine, seed: int = 0, runs: Optional[int] = None,
                 n_betas: Optional[int] = None, base_data: Union[None, Dataset, ArrayLike] = None,
                 reverse_burn_in: Optional[int] = None) -> None:
        out = ffi.new("rbm_ais **")
        check(lib.rbm_ais_new(machine.ptr, _u64(seed), out), machine._ctxp)
        self.machine = machine
        self.context = machine.context
        self._exc = None
        self._cb = None
        self._base = None
        self._init_handle(out[0], lib.rbm_ais_free, [machine], machine._ctxp)
        if runs is not None:
            self.set_runs(runs)
        if n_betas is not None:
            self.set_uniform_schedule(n_betas)
        if base_data is not None:
            self.set_base_from_data(base_data)
        if reverse_burn_in is not None:
            self._check(lib.rbm_ais_set_reverse_burn_in(self.ptr, int(reverse_burn_in)))

    def set_runs(self, n: int) -> None:
        self._check(lib.rbm_ais_set_runs(self.ptr, int(n)))

    def set_schedule(self, betas: ArrayLike) -> None:
        b = _f64(betas).reshape(-1)
        self._check(lib.rbm_ais_set_schedule(self.ptr, _dp(b), b.size))

    def set_uniform_schedule(self, n: int) -> None:
        self._check(lib.rbm_ais_set_uniform_schedule(self.ptr, int(n)))

    def set_base_from_data(self, data: Union[None, Dataset, ArrayLike]) -> None:
        ds = None if data is None else _dataset(data, self.context)
        self._check(lib.rbm_ais_set_base_from_data(self.ptr, ffi.NULL if ds is None else ds.ptr))
        self._base = ds  # the estimator reads it again in reverse runs

    def set_reverse_burn_in(self, sweeps: int) -> None:
        self._check(lib.rbm_ais_set_reverse_burn_in(self.ptr, int(sweeps)))

    @property
    def base_log_z(self) -> float:
        return float(lib.rbm_ais_base_log_z(self.ptr))

    def set_base_biases(self, biases: Optional[ArrayLike] = None) -> None:
        """Base visible biases (n_visible,) given directly, or None for the
        machine's own a (the path then anneals only W and b)."""
        if biases is None:
            self._check(lib.rbm_ais_set_base_biases(self.ptr, ffi.NULL, 0))
            return
        b = _f64(biases).reshape(-1)
        self._check(lib.rbm_ais_set_base_biases(self.ptr, _dp(b), b.size))

    def set_exact_start_units(self, units: int) -> None:
        """Largest discrete layer enumerated for exact reverse starts (0:
        always burn in)."""
        self._check(lib.rbm_ais_set_exact_start_units(self.ptr, int(units)))

    @property
    def reverse_start_is_exact(self) -> bool:
        """Whether reverse runs start from exact samples."""
        return bool(lib.rbm_ais_reverse_start_is_exact(self.ptr))

    def diagnostics(self) -> AISDiagnostics:
        """Convergence evidence of the last run (StateError before one)."""
        ess = ffi.new("double *")
        var = ffi.new("double *")
        self._check(lib.rbm_ais_diagnostics(self.ptr, ess, var))
        return AISDiagnostics(float(ess[0]), float(var[0]))

    @property
    def schedule(self) -> np.ndarray:
        """The current inverse temperatures (n_betas,)."""
        return self._get(lib.rbm_ais_get_schedule, (int(lib.rbm_ais_schedule_length(self.ptr)),))

    def step_variance(self) -> np.ndarray:
        """(n_betas - 1,) variance across runs of the log-weight increment
        of each temperature step, averaged over the runs made with this
        schedule (StateError before one)."""
        return self._get(lib.rbm_ais_get_step_variance,
                         (int(lib.rbm_ais_schedule_length(self.ptr)) - 1,))

    def adapt_schedule(self, n: int) -> None:
        """Replace the schedule by n temperatures at equal increments of the
        thermodynamic length of the runs made with the current one."""
        self._check(lib.rbm_ais_adapt_schedule(self.ptr, int(n)))

    def run_adaptive(self, tol: float = 0.1, max_betas: int = 100000) -> AdaptiveAISResult:
        """Forward and reverse AIS, doubling and re-placing the schedule
        until the pair converges (ais_bracket_converged with tol) or the
        schedule would exceed max_betas."""
        out = ffi.new("double[4]")
        conv = ffi.new("int32_t *")
        st = self._check(lib.rbm_ais_run_adaptive(self.ptr, float(tol), int(max_betas), out,
                                                  out + 1, out + 2, out + 3, conv))
        return AdaptiveAISResult(float(out[0]), float(out[1]), float(out[2]), float(out[3]),
                                 bool(conv[0]), st == lib.RBM_STOPPED)

    def run(self, reverse: bool = False,
            progress: Optional[Callable[[float], Any]] = None) -> AISResult:
        """Run AIS: log Z estimate and its delta-method standard error.
        ``progress(fraction)`` returning True cancels (stopped=True)."""
        cb = _progress_cb(self, progress)
        self._check(lib.rbm_ais_set_progress(self.ptr, cb, ffi.NULL))
        lz = ffi.new("double *")
        se = ffi.new("double *")
        try:
            st = lib.rbm_ais_run(self.ptr, 1 if reverse else 0, lz, se)
        finally:
            lib.rbm_ais_set_progress(self.ptr, ffi.NULL, ffi.NULL)
        exc, self._exc = self._exc, None
        if exc is not None:
            raise exc
        self._check(st)
        return AISResult(float(lz[0]), float(se[0]), st == lib.RBM_STOPPED)


# ---------------------------------------------------------------- svd


@dataclass(frozen=True)
class Bulk:
    """Marchenko-Pastur analysis of the spectrum."""
    sigma: float
    edge: float
    n_outside: int


@dataclass(frozen=True)
class ProjectedGradient:
    """A gradient projected on the first K singular modes (svd.h)."""
    G: np.ndarray        #: (K, K), G[a, b] = u^a . dW v^b
    omega_v: np.ndarray  #: (K, K) rotation of the left vectors
    omega_h: np.ndarray  #: (K, K) rotation of the right vectors


class SVD(_Handle):
    """W = sum_a w_a u^a (v^a)^T of a machine (independent of it afterwards;
    ``update`` recomputes). U is (n_visible, r) with u^a in column a, V is
    (n_hidden, r)."""

    def __init__(self, machine: Machine) -> None:
        out = ffi.new("rbm_svd **")
        check(lib.rbm_svd_new(machine.ptr, out), machine._ctxp)
        self._shape = (machine.weight_rows, machine.n_hidden)
        self.context = machine.context
        self._init_handle(out[0], lib.rbm_svd_free, [machine.context], machine._ctxp)

    def update(self, machine: Machine) -> None:
        self._check(lib.rbm_svd_update(self.ptr, machine.ptr))

    @property
    def rank(self) -> int:
        return int(lib.rbm_svd_rank(self.ptr))

    @property
    def singular_values(self) -> np.ndarray:
        """w, (r,), descending."""
        return self._get(lib.rbm_svd_get_singular_values, (self.rank,))

    @property
    def left_vectors(self) -> np.ndarray:
        """U, (n_visible, r); (n_sites * q, r) for a Potts machine."""
        return self._get(lib.rbm_svd_get_left_vectors, (self._shape[0], self.rank))

    @property
    def site_shape(self) -> Tuple[int, int]:
        """(N, q): visible units or Potts sites, and states per site (1
        unless Potts)."""
        n = ffi.new("size_t *")
        q = ffi.new("size_t *")
        self._check(lib.rbm_svd_site_shape(self.ptr, n, q))
        return int(n[0]), int(q[0])

    def site_norms(self, n_modes: Optional[int] = None) -> np.ndarray:
        """||u^a_i|| = sqrt(sum_c u^a_{i,c}^2), (n_modes, N): the weight of
        site i in mode a (each row sums to 1 in squares)."""
        k = self.rank if n_modes is None else int(n_modes)
        out = np.empty((k, self.site_shape[0]))
        self._check(lib.rbm_svd_site_norms(self.ptr, k, _dp(out), out.size))
        return out

    def site_weights(self, mode: int) -> np.ndarray:
        """u^a_{i,c} of mode a = ``mode`` (0-based), (N, q): the letters of
        a sequence logo of the mode."""
        out = np.empty(self.site_shape)
        self._check(lib.rbm_svd_site_weights(self.ptr, int(mode), _dp(out), out.size))
        return out

    @property
    def right_vectors(self) -> np.ndarray:
        """V, (n_hidden, r)."""
        return self._get(lib.rbm_svd_get_right_vectors, (self._shape[1], self.rank))

    def _project(self, fn, x, n_modes, name):
        a, nb, single = _batch(x, name)
        k = self.rank if n_modes is None else int(n_modes)
        out = np.empty((nb, k))
        self._check(fn(self.ptr, nb, _dp(a), a.size, k, _dp(out), out.size))
        return out[0] if single else out

    def project_visible(self, x: ArrayLike, n_modes: Optional[int] = None) -> np.ndarray:
        """s_a = u^a . x for a batch (batch, n_visible) -> (batch, n_modes)."""
        return self._project(lib.rbm_svd_project_visible, x, n_modes, "x")

    def project_hidden(self, h: ArrayLike, n_modes: Optional[int] = None) -> np.ndarray:
        """sigma_a = v^a . h -> (batch, n_modes)."""
        return self._project(lib.rbm_svd_project_hidden, h, n_modes, "h")

    def project_dataset(self, data: Union[Dataset, ArrayLike],
                        n_modes: Optional[int] = None) -> np.ndarray:
        ds = _dataset(data, self.context)
        k = self.rank if n_modes is None else int(n_modes)
        out = np.empty((ds.rows, k))
        self._check(lib.rbm_svd_project_dataset(self.ptr, ds.ptr, k, _dp(out), out.size))
        return out

    def pca_overlaps(self, data: Union[Dataset, ArrayLike],
                     n_modes: int) -> Tuple[np.ndarray, np.ndarray]:
        """(|u^a . e_b| (n_modes, n_modes), top covariance eigenvalues)."""
        ds = _dataset(data, self.context)
        k = int(n_modes)
        out = np.empty((k, k))
        eig = np.empty(k)
        self._check(lib.rbm_svd_pca_overlaps(self.ptr, ds.ptr, k, _dp(out), out.size, _dp(eig),
                                             eig.size))
        return out, eig

    def project_gradient(self, gradient: Gradient, n_modes: int,
                         tol: float = 1e-9) -> ProjectedGradient:
        k = int(n_modes)
        G, ov, oh = (np.empty((k, k)) for _ in range(3))
        self._check(lib.rbm_svd_project_gradient(self.ptr, gradient.ptr, k, float(tol), _dp(G),
                                                 G.size, _dp(ov), ov.size, _dp(oh), oh.size))
        return ProjectedGradient(G, ov, oh)

    def significance(self, census: Census) -> Significance:
        """Which modes are significant against the data's census (its
        columns must be n_visible)."""
        r = self.rank
        q = np.empty(r)
        sig = np.empty(r, dtype=np.uint8)
        n = ffi.new("size_t *")
        self._check(lib.rbm_svd_significance(self.ptr, census.ptr, _dp(q), r,
                                             ffi.cast("uint8_t *", ffi.from_buffer(sig)), r, n))
        return Significance(q, sig.astype(bool), int(n[0]))

    def bulk(self) -> Bulk:
        s = ffi.new("double *")
        e = ffi.new("double *")
        n = ffi.new("size_t *")
        self._check(lib.rbm_svd_bulk(self.ptr, s, e, n))
        return Bulk(float(s[0]), float(e[0]), int(n[0]))


@dataclass(frozen=True)
class Significance:
    """The census of one decomposition: overlap (r,) q_alpha = |P_k
    u^alpha|^2 with the data's significant subspace, significant (r,) bool
    (outside the bulk and q > 1/2), n_significant their count."""
    overlap: np.ndarray
    significant: np.ndarray
    n_significant: int


class Census(_Handle):
    """The data side of the significant-mode census (svd.h): permutation
    parallel analysis of the data's centred covariance against ``n_null``
    column-permuted copies (19: a 5% test per rank). Use it with
    ``SVD.significance`` or ``ModeTracker.set_census``."""

    def __init__(self, data: Union[Dataset, ArrayLike], n_null: int = 19, seed: int = 0,
                 context: Optional[Context] = None) -> None:
        ds = _dataset(data, context)
        out = ffi.new("rbm_census **")
        check(lib.rbm_census_new(ds.ptr, int(n_null), _u64(seed), out), ds._ctxp)
        self.context = ds.context
        self._init_handle(out[0], lib.rbm_census_free, [ds], ds._ctxp)

    @property
    def n_components(self) -> int:
        """k, the number of significant principal components."""
        return int(lib.rbm_census_n_components(self.ptr))

    @property
    def cols(self) -> int:
        return int(lib.rbm_census_cols(self.ptr))

    @property
    def rows(self) -> int:
        """Rows used for the covariances."""
        return int(lib.rbm_census_rows(self.ptr))

    def eigenvalues(self) -> Tuple[np.ndarray, np.ndarray]:
        """(data eigenvalues descending, largest null eigenvalue per rank),
        each (cols,)."""
        e = np.empty(self.cols)
        n = np.empty(self.cols)
        self._check(lib.rbm_census_get_eigenvalues(self.ptr, _dp(e), _dp(n), e.size))
        return e, n


class ModeTracker(_Handle):
    """Singular values of a machine's W recorded at caller-chosen steps,
    with mode identities kept across level crossings."""

    def __init__(self, machine: Machine, n_modes: int) -> None:
        out = ffi.new("rbm_mode_tracker **")
        check(lib.rbm_mode_tracker_new(machine.ptr, int(n_modes), out), machine._ctxp)
        self.machine = machine
        self.context = machine.context
        self._init_handle(out[0], lib.rbm_mode_tracker_free, [machine], machine._ctxp)

    def record(self, step: int) -> None:
        self._check(lib.rbm_mode_tracker_record(self.ptr, _u64(step)))

    @property
    def n_records(self) -> int:
        return int(lib.rbm_mode_tracker_record_count(self.ptr))

    @property
    def n_modes(self) -> int:
        return int(lib.rbm_mode_tracker_mode_count(self.ptr))

    def records(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(steps (R,), w by identity (R, n_modes), edge (R,), n_outside (R,))."""
        r, k = self.n_records, self.n_modes
        steps = np.empty(r, dtype=np.uint64)
        w = np.empty((r, k))
        edge = np.empty(r)
        nout = np.empty(r, dtype=np.int64)
        st = ffi.new("uint64_t *")
        e = ffi.new("double *")
        n = ffi.new("size_t *")
        for i in range(r):
            row = w[i]
            self._check(lib.rbm_mode_tracker_get_record(self.ptr, i, st, _dp(row), k, e, n))
            steps[i], edge[i], nout[i] = st[0], e[0], n[0]
        return steps, w, edge, nout

    def set_census(self, census: Optional[Census]) -> None:
        """Count significant modes at every record against ``census`` (kept
        alive by the tracker; None removes it). Only before the first
        record (StateError after)."""
        self._check(lib.rbm_mode_tracker_set_census(self.ptr,
                                                    ffi.NULL if census is None else census.ptr))
        self._census = census

    def significant(self, k: int) -> int:
        """Significant modes at record k (StateError without a census)."""
        n = ffi.new("size_t *")
        self._check(lib.rbm_mode_tracker_get_significant(self.ptr, int(k), n))
        return int(n[0])

    def write_csv(self, path: Union[str, os.PathLike]) -> None:
        self._check(lib.rbm_mode_tracker_write_csv(self.ptr, os.fsencode(path)))


# ---------------------------------------------------------------- linear


def linear_model_covariance(machine: Machine) -> np.ndarray:
    """C_model = (sigma_v^-2 I - sigma_h^2 W W^T)^-1 of a Gauss-Gauss machine."""
    n = machine.n_visible
    out = np.empty((n, n))
    check(lib.rbm_linear_model_covariance(machine.ptr, _dp(out), out.size), machine._ctxp)
    return out


def linear_gradient(machine: Machine, C: ArrayLike) -> np.ndarray:
    """dW/dt = sigma_h^2 (C - C_model) W for data covariance C."""
    c = _f64(C)
    out = np.empty(machine.shape)
    check(lib.rbm_linear_gradient(machine.ptr, _dp(c), c.size, _dp(out), out.size),
          machine._ctxp)
    return out


@dataclass(frozen=True)
class Trajectory:
    """Output times and singular values of a Gauss-Gauss integration."""
    times: np.ndarray            #: (n_out,)
    singular_values: np.ndarray  #: (n_out, r)
    stopped: bool


def linear_integrate(machine: Machine, C: ArrayLike, t_end: float, n_out: int = 0,
                     rtol: float = 1e-8, atol: float = 1e-10,
                     progress: Optional[Callable[[float], Any]] = None) -> Trajectory:
    """Integrate the exact Gauss-Gauss flow to t_end (Dormand-Prince);
    the machine's W becomes W(t_end)."""
    c = _f64(C)
    r = min(machine.shape)
    n = int(n_out)
    times = np.full(n, np.nan)
    w = np.full((n, r), np.nan)

    class _Owner:
        _exc = None
    owner = _Owner()
    cb = _progress_cb(owner, progress)
    st = lib.rbm_linear_integrate(machine.ptr, _dp(c), c.size, float(t_end), float(rtol),
                                  float(atol), n, _dp(times) if n else ffi.NULL, n,
                                  _dp(w) if n else ffi.NULL, w.size, cb, ffi.NULL)
    if owner._exc is not None:
        raise owner._exc
    check(st, machine._ctxp)
    return Trajectory(times, w, st == lib.RBM_STOPPED)


def linear_fixed_points(eigenvalues: ArrayLike, sigma_v: float = 1.0,
                        sigma_h: float = 1.0) -> np.ndarray:
    """w*_a = sqrt((l_a - s_v^2) / (s_v^2 s_h^2 l_a)) above threshold, else 0."""
    lam = _f64(eigenvalues).reshape(-1)
    out = np.empty(lam.size)
    raise_for(lib.rbm_linear_fixed_points(_dp(lam), lam.size, float(sigma_v), float(sigma_h),
                                          _dp(out), out.size))
    return out


def linear_mode_trajectory(eigenvalue: float, w0: float, t: float, sigma_v: float = 1.0,
                           sigma_h: float = 1.0) -> float:
    """w(t) of one aligned mode from w(0) = w0 (closed form)."""
    out = ffi.new("double *")
    raise_for(lib.rbm_linear_mode_trajectory(float(eigenvalue), float(sigma_v), float(sigma_h),
                                             float(w0), float(t), out))
    return float(out[0])
