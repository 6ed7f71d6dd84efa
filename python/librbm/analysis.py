"""Analysis: likelihoods (exact log Z, AIS, pseudo-likelihood), the spectral
view of W (SVD, projections, mode tracking, Marchenko-Pastur bulk), the
Gauss-Gauss dynamics, naive mean field / TAP (fixed points, Gamma,
stability, TAP log Z) and the phase diagram of the RBM ensemble.

Every function reads a :class:`~librbm.Machine` (and data) and returns
floats, NumPy arrays or small frozen dataclasses. Long computations (exact
log Z, AIS, fixed-point searches, diagrams, integrations) release the GIL.
Log-likelihoods are in nats (log densities for Gaussian visible units) and
are means over the rows of the data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import errors
from ._binding import check, ffi, lib, raise_for
from .core import (ArrayLike, Dataset, Gradient, Layer, Machine, ParamBounds, Status, UnitKind,
                   _NamedEnum, _Tunables, _batch, _real_property, _dataset, _dp, _f64, _Handle, _u64)

# ---------------------------------------------------------------- metrics


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
    log_z: float
    stderr: float
    stopped: bool = False


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
        self._shape = machine.shape
        self.context = machine.context
        self._init_handle(out[0], lib.rbm_svd_free, [machine.context], machine._ctxp)

    def update(self, machine: Machine) -> None:
        self._check(lib.rbm_svd_update(self.ptr, machine.ptr))

    @property
    def rank(self) -> int:
        return int(lib.rbm_svd_rank(self.ptr))

    def _get(self, fn, shape):
        out = np.empty(shape)
        self._check(fn(self.ptr, _dp(out), out.size))
        return out

    @property
    def singular_values(self) -> np.ndarray:
        """w, (r,), descending."""
        return self._get(lib.rbm_svd_get_singular_values, (self.rank,))

    @property
    def left_vectors(self) -> np.ndarray:
        """U, (n_visible, r)."""
        return self._get(lib.rbm_svd_get_left_vectors, (self._shape[0], self.rank))

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

    def bulk(self) -> Bulk:
        s = ffi.new("double *")
        e = ffi.new("double *")
        n = ffi.new("size_t *")
        self._check(lib.rbm_svd_bulk(self.ptr, s, e, n))
        return Bulk(float(s[0]), float(e[0]), int(n[0]))


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


# ---------------------------------------------------------------- mean field


class MFMethod(_NamedEnum):
    NAIVE = 0
    TAP2 = 1
    TAP3 = 2

    @staticmethod
    def _aliases():
        return {"mf": 0, "tap": 1}


@dataclass(frozen=True)
class FixedPoint:
    """One distinct fixed point (magnetisations and properties)."""
    gamma: float
    multiplicity: int
    stable: bool
    min_eigenvalue: float
    mv: np.ndarray
    mh: np.ndarray


@dataclass(frozen=True)
class Solution:
    mv: np.ndarray
    mh: np.ndarray
    iterations: int
    residual: float
    converged: bool


class FixedPoints(_Handle):
    """The distinct converged fixed points of a search, sorted by Gamma."""

    def _adopt(self, ptr, solver: "MeanField") -> None:
        self._nv, self._nh = solver.machine.shape
        self.context = solver.context
        self._init_handle(ptr, lib.rbm_mf_points_free, [solver.context], solver._ctxp)

    def __len__(self) -> int:
        return int(lib.rbm_mf_points_count(self.ptr))

    @property
    def n_starts(self) -> int:
        return int(lib.rbm_mf_points_start_count(self.ptr))

    @property
    def n_failed(self) -> int:
        return int(lib.rbm_mf_points_failed_count(self.ptr))

    def __getitem__(self, k: int) -> FixedPoint:
        n = len(self)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError(f"fixed point {k} of {n}")
        g = ffi.new("double *")
        mult = ffi.new("size_t *")
        stable = ffi.new("int *")
        ev = ffi.new("double *")
        self._check(lib.rbm_mf_points_properties(self.ptr, k, g, mult, stable, ev))
        mv = np.empty(self._nv)
        mh = np.empty(self._nh)
        self._check(lib.rbm_mf_points_get_magnetizations(self.ptr, k, _dp(mv), mv.size, _dp(mh),
                                                         mh.size))
        return FixedPoint(float(g[0]), int(mult[0]), bool(stable[0]), float(ev[0]), mv, mh)

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    @property
    def visible(self) -> np.ndarray:
        """All visible magnetisations, (count, n_visible)."""
        out = np.empty((len(self), self._nv))
        self._check(lib.rbm_mf_points_get_all_visible(self.ptr, _dp(out), out.size))
        return out

    @property
    def hidden(self) -> np.ndarray:
        out = np.empty((len(self), self._nh))
        self._check(lib.rbm_mf_points_get_all_hidden(self.ptr, _dp(out), out.size))
        return out

    def project(self, svd: SVD, n_modes: int) -> Tuple[np.ndarray, np.ndarray]:
        """(u^a . m^v, v^a . m^h), each (count, n_modes)."""
        k = int(n_modes)
        pv = np.empty((len(self), k))
        ph = np.empty((len(self), k))
        self._check(lib.rbm_mf_points_project(self.ptr, svd.ptr, k, _dp(pv), pv.size, _dp(ph),
                                              ph.size))
        return pv, ph

    def log_z(self) -> Tuple[float, float, int]:
        """(log sum exp(-Gamma) over stable points, -min Gamma, points used)."""
        lz = ffi.new("double *")
        best = ffi.new("double *")
        n = ffi.new("size_t *")
        self._check(lib.rbm_mf_points_log_z(self.ptr, lz, best, n))
        return float(lz[0]), float(best[0]), int(n[0])


class MeanField(_Tunables, _Handle):
    """Naive mean-field / TAP2 / TAP3 solver for a machine (borrowed; its
    current parameters are read at every call)."""

    _tunable_prefix = "rbm_mf"

    def __init__(self, machine: Machine, method: Union[str, MFMethod] = "tap2", *,
                 damping: Optional[float] = None, tolerance: Optional[float] = None,
                 max_iterations: Optional[int] = None) -> None:
        out = ffi.new("rbm_mf **")
        check(lib.rbm_mf_new(machine.ptr, MFMethod.coerce(method), out), machine._ctxp)
        self.machine = machine
        self.context = machine.context
        self._init_handle(out[0], lib.rbm_mf_free, [machine], machine._ctxp)
        if damping is not None:
            self.set_real(300, damping)
        if tolerance is not None:
            self.set_real(301, tolerance)
        if max_iterations is not None:
            self.set_int(350, max_iterations)

    @property
    def method(self) -> MFMethod:
        return MFMethod(lib.rbm_mf_method_of(self.ptr))

    def _m(self, mv, mh):
        a = _f64(mv).reshape(-1)
        b = _f64(mh).reshape(-1)
        return a, b

    def solve(self, mv: ArrayLike, mh: Optional[ArrayLike] = None) -> Solution:
        """Iterate from (mv, mh) (mh None: E[h | mv]) to a fixed point;
        converged=False when the iteration cap was reached."""
        a = _f64(mv).reshape(-1).copy()
        # the C default start for mh is E[h | mv]: pass it explicitly so that
        # the hidden result comes back too
        b = (self.machine.hidden_mean(a) if mh is None else _f64(mh)).reshape(-1).copy()
        it = ffi.new("size_t *")
        res = ffi.new("double *")
        st = lib.rbm_mf_solve(self.ptr, _dp(a), a.size, _dp(b), b.size, it, res)
        if st != lib.RBM_ERR_NOT_CONVERGED:
            self._check(st)
        return Solution(a, b, int(it[0]), float(res[0]), st == lib.RBM_OK)

    def free_energy(self, mv: ArrayLike, mh: ArrayLike) -> float:
        """Gamma(m); at a fixed point log Z_TAP = -Gamma."""
        a, b = self._m(mv, mh)
        g = ffi.new("double *")
        self._check(lib.rbm_mf_free_energy(self.ptr, _dp(a), a.size, _dp(b), b.size, g))
        return float(g[0])

    def gradient(self, mv: ArrayLike, mh: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        """dGamma/dm^v, dGamma/dm^h."""
        a, b = self._m(mv, mh)
        gv, gh = np.empty(a.size), np.empty(b.size)
        self._check(lib.rbm_mf_gradient(self.ptr, _dp(a), a.size, _dp(b), b.size, _dp(gv),
                                        gv.size, _dp(gh), gh.size))
        return gv, gh

    def hessian(self, mv: ArrayLike, mh: ArrayLike) -> np.ndarray:
        """d^2 Gamma / dm dm', (N_v + N_h) square, visible units first."""
        a, b = self._m(mv, mh)
        n = a.size + b.size
        out = np.empty((n, n))
        self._check(lib.rbm_mf_hessian(self.ptr, _dp(a), a.size, _dp(b), b.size, _dp(out),
                                       out.size))
        return out

    def variances(self, mv: ArrayLike, mh: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        a, b = self._m(mv, mh)
        cv, ch = np.empty(a.size), np.empty(b.size)
        self._check(lib.rbm_mf_variances(self.ptr, _dp(a), a.size, _dp(b), b.size, _dp(cv),
                                         cv.size, _dp(ch), ch.size))
        return cv, ch

    def weight_gradient(self, mv: ArrayLike, mh: ArrayLike) -> np.ndarray:
        """d log Z_TAP / dW at fixed magnetisations, (N_v, N_h)."""
        a, b = self._m(mv, mh)
        out = np.empty(self.machine.shape)
        self._check(lib.rbm_mf_weight_gradient(self.ptr, _dp(a), a.size, _dp(b), b.size,
                                               _dp(out), out.size))
        return out

    def _points(self, call) -> FixedPoints:
        out = ffi.new("rbm_mf_points **")
        self._check(call(out))
        p = FixedPoints.__new__(FixedPoints)
        p._adopt(out[0], self)
        return p

    def fixed_points(self, starts_visible: ArrayLike,
                     starts_hidden: Optional[ArrayLike] = None) -> FixedPoints:
        """Fixed points from caller starts (n_starts, N_v) [and (n_starts, N_h)]."""
        a, n, _ = _batch(starts_visible, "starts_visible")
        b = None if starts_hidden is None else _batch(starts_hidden, "starts_hidden")[0]
        return self._points(lambda out: lib.rbm_mf_fixed_points(
            self.ptr, n, _dp(a), a.size, _dp(b), 0 if b is None else b.size, out))

    def fixed_points_random(self, n_starts: int, seed: int = 0) -> FixedPoints:
        return self._points(lambda out: lib.rbm_mf_fixed_points_random(
            self.ptr, int(n_starts), _u64(seed), out))

    def fixed_points_data(self, data: Union[Dataset, ArrayLike], n_starts: int,
                          seed: int = 0) -> FixedPoints:
        ds = _dataset(data, self.context)
        return self._points(lambda out: lib.rbm_mf_fixed_points_data(
            self.ptr, ds.ptr, int(n_starts), _u64(seed), out))

    def dynamics_step(self, data: Union[Dataset, ArrayLike], n_starts: int, dt: float,
                      seed: int = 0) -> int:
        """One Euler step of dW/dt = G_data - G_model (TAP states) on the
        solver's machine; returns the number of states used."""
        ds = _dataset(data, self.context)
        n = ffi.new("size_t *")
        self._check(lib.rbm_mf_dynamics_step(self.ptr, self.machine.ptr, ds.ptr, int(n_starts),
                                             _u64(seed), float(dt), n))
        return int(n[0])


# ---------------------------------------------------------------- phase


class Phase(_NamedEnum):
    PARAMAGNETIC = 0
    FERROMAGNETIC = 1
    SPIN_GLASS = 2


class ComponentLaw(_NamedEnum):
    RADEMACHER = 0
    GAUSSIAN = 1
    LAPLACE = 2
    TERNARY = 3


def _two(fn, *args) -> float:
    out = ffi.new("double *")
    raise_for(fn(*args, out))
    return float(out[0])


def phase_line_pf(sigma: float, temperature: float) -> float:
    """w_c of the paramagnet-ferromagnet line (= T, for T >= sigma)."""
    return _two(lib.rbm_phase_line_pf, float(sigma), float(temperature))


def phase_line_psg(sigma: float, w1: float) -> float:
    """T_c of the paramagnet-spin-glass line (= sigma, for w1 <= sigma)."""
    return _two(lib.rbm_phase_line_psg, float(sigma), float(w1))


def phase_line_fsg(kappa: float, sigma: float, temperature: float) -> Tuple[float, float, float]:
    """(w_c, q, qbar) of the RS ferromagnet-spin-glass line."""
    w = ffi.new("double *")
    q = ffi.new("double *")
    qb = ffi.new("double *")
    raise_for(lib.rbm_phase_line_fsg(float(kappa), float(sigma), float(temperature), w, q, qb))
    return float(w[0]), float(q[0]), float(qb[0])


def component_law_kurtosis(law: Union[str, ComponentLaw], sparsity: float = 1.0) -> float:
    return float(lib.rbm_component_law_kurtosis(ComponentLaw.coerce(law), float(sparsity)))


@dataclass(frozen=True)
class EnsembleSolution:
    m: np.ndarray
    mbar: np.ndarray
    q: float
    qbar: float
    free_energy: float


@dataclass(frozen=True)
class PhaseResult:
    phase: Phase
    mixing: float
    compositional: bool
    converged: bool


@dataclass(frozen=True)
class Diagram:
    phase: np.ndarray      #: (len(w1), len(x)) Phase codes
    m: np.ndarray          #: max_a |m_a| of the selected state
    q: np.ndarray
    n_unconverged: int


_ENSEMBLE_REAL = {"kappa": 400, "sigma": 401, "temperature": 402, "damping": 403,
                  "tolerance": 404, "quad_tolerance": 405, "m_threshold": 406,
                  "q_threshold": 407}


class Ensemble(_Tunables, _Handle):
    """The RBM ensemble of docs/theory.md §5 and its replica-symmetric
    solution; settings as attributes (kappa, sigma, temperature, ...)."""

    _tunable_prefix = "rbm_ensemble"

    def __init__(self, modes: Optional[Sequence[float]] = None, *, context=None,
                 **settings: float) -> None:
        from .core import _ctx
        ctx = _ctx(context)
        out = ffi.new("rbm_ensemble **")
        check(lib.rbm_ensemble_new(ctx.ptr, out), ctx.ptr)
        self.context = ctx
        self._init_handle(out[0], lib.rbm_ensemble_free, [ctx], ctx.ptr)
        if modes is not None:
            self.modes = modes
        for k, v in settings.items():
            if k not in _ENSEMBLE_REAL and k != "max_iterations":
                raise TypeError(f"unknown ensemble setting {k!r}")
            setattr(self, k, v)

    @classmethod
    def from_machine(cls, machine: Machine, max_modes: int = 8) -> "Ensemble":
        out = ffi.new("rbm_ensemble **")
        check(lib.rbm_ensemble_from_machine(machine.ptr, int(max_modes), out), machine._ctxp)
        e = cls.__new__(cls)
        e.context = machine.context
        e._init_handle(out[0], lib.rbm_ensemble_free, [machine.context], machine._ctxp)
        return e

    @property
    def max_iterations(self) -> int:
        return self.get_int(lib.RBM_ENSEMBLE_MAX_ITERATIONS)

    @max_iterations.setter
    def max_iterations(self, n: int) -> None:
        self.set_int(lib.RBM_ENSEMBLE_MAX_ITERATIONS, n)

    @property
    def modes(self) -> np.ndarray:
        k = int(lib.rbm_ensemble_mode_count(self.ptr))
        out = np.empty(k)
        self._check(lib.rbm_ensemble_get_modes(self.ptr, _dp(out), k))
        return out

    @modes.setter
    def modes(self, w: Sequence[float]) -> None:
        a = _f64(w).reshape(-1)
        self._check(lib.rbm_ensemble_set_modes(self.ptr, _dp(a), a.size))

    def set_law(self, layer: Union[str, Layer], law: Union[str, ComponentLaw],
                sparsity: float = 1.0) -> None:
        self._check(lib.rbm_ensemble_set_law(self.ptr, Layer.coerce(layer),
                                             ComponentLaw.coerce(law), float(sparsity)))

    def law(self, layer: Union[str, Layer]) -> Tuple[ComponentLaw, float]:
        law = ffi.new("rbm_component_law *")
        p = ffi.new("double *")
        self._check(lib.rbm_ensemble_law(self.ptr, Layer.coerce(layer), law, p))
        return ComponentLaw(law[0]), float(p[0])

    def kurtosis_criterion(self) -> float:
        out = ffi.new("double *")
        self._check(lib.rbm_ensemble_kurtosis_criterion(self.ptr, out))
        return float(out[0])

    def machine_kurtosis(self, layer: Union[str, Layer]) -> float:
        return float(lib.rbm_ensemble_machine_kurtosis(self.ptr, Layer.coerce(layer)))

    def solve(self, m0: Optional[ArrayLike] = None, mbar0: Optional[ArrayLike] = None,
              q0: float = 0.0, qbar0: float = 0.0) -> EnsembleSolution:
        """Solve the RS equations from a start (zeros when None)."""
        a = None if m0 is None else _f64(m0).reshape(-1)
        b = None if mbar0 is None else _f64(mbar0).reshape(-1)
        self._check(lib.rbm_ensemble_solve(self.ptr, _dp(a), 0 if a is None else a.size, _dp(b),
                                           0 if b is None else b.size, float(q0), float(qbar0)))
        return self.solution()

    def solution(self) -> EnsembleSolution:
        k = int(lib.rbm_ensemble_mode_count(self.ptr))
        m, mb = np.empty(k), np.empty(k)
        q, qb, f = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
        self._check(lib.rbm_ensemble_get_solution(self.ptr, _dp(m), k, _dp(mb), k, q, qb, f))
        return EnsembleSolution(m, mb, float(q[0]), float(qb[0]), float(f[0]))

    @property
    def iteration_count(self) -> int:
        return int(lib.rbm_ensemble_iteration_count(self.ptr))

    def phase(self) -> PhaseResult:
        ph = ffi.new("rbm_phase *")
        mix = ffi.new("double *")
        comp = ffi.new("int *")
        st = lib.rbm_ensemble_phase(self.ptr, ph, mix, comp)
        if st != lib.RBM_ERR_NOT_CONVERGED:
            self._check(st)
        return PhaseResult(Phase(ph[0]), float(mix[0]), bool(comp[0]), st == lib.RBM_OK)

    def diagram(self, axis: str, x: ArrayLike, w1: ArrayLike) -> Diagram:
        """Phases on the grid (x, w1), axis "temperature" or "sigma"."""
        ax = {"temperature": 0, "sigma": 1}.get(axis)
        if ax is None:
            raise errors.InvalidArgumentError(lib.RBM_ERR_INVALID_ARGUMENT,
                                              "RBM_ERR_INVALID_ARGUMENT",
                                              f"axis must be 'temperature' or 'sigma', not {axis!r}")
        xs = _f64(x).reshape(-1)
        ws = _f64(w1).reshape(-1)
        n = xs.size * ws.size
        ph = np.empty((ws.size, xs.size), dtype=np.int32)
        m = np.empty((ws.size, xs.size))
        q = np.empty((ws.size, xs.size))
        nu = ffi.new("size_t *")
        self._check(lib.rbm_ensemble_diagram(self.ptr, ax, _dp(xs), xs.size, _dp(ws), ws.size,
                                             ffi.cast("int32_t *", ffi.from_buffer(ph)), n,
                                             _dp(m), n, _dp(q), n, nu))
        return Diagram(ph, m, q, int(nu[0]))


for _name, _key in _ENSEMBLE_REAL.items():
    setattr(Ensemble, _name, _real_property(_key, f"The ensemble's {_name} (key {_key})."))
del _name, _key


@dataclass(frozen=True)
class MachinePhase:
    phase: Phase
    sigma: float
    modes: np.ndarray      #: de-biased strengths of the strong modes
    kurtosis: np.ndarray   #: (visible, hidden)
    compositional: bool


def machine_phase(machine: Machine, max_modes: int = 8) -> MachinePhase:
    """A trained machine placed on the ensemble's phase diagram (T = 1)."""
    ph = ffi.new("rbm_phase *")
    s = ffi.new("double *")
    n = ffi.new("size_t *")
    w = np.zeros(lib.RBM_ENSEMBLE_MAX_MODES)
    k = np.empty(2)
    comp = ffi.new("int *")
    check(lib.rbm_machine_phase(machine.ptr, int(max_modes), ph, s, n, _dp(w), w.size, _dp(k), 2,
                                comp), machine._ctxp)
    return MachinePhase(Phase(ph[0]), float(s[0]), w[: n[0]].copy(), k, bool(comp[0]))
