"""Naive mean field, TAP2 and TAP3 (docs/theory.md §4): the solver, the
free energy Gamma with its gradient and Hessian, fixed points from many
starts with their stability, TAP estimates of log Z, and the TAP-driven
learning dynamics. Long searches release the GIL."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

from ._binding import check, ffi, lib
from .analysis import SVD
from .base import (ArrayLike, UnitKind, _NamedEnum, _Tunables, _batch, _dp, _f64, _Handle, _u64,
                   unit_eval)
from .data import Dataset, _dataset
from .machine import Machine


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
    """Result of one fixed-point iteration from a start."""
    mv: np.ndarray
    mh: np.ndarray
    iterations: int
    residual: float
    converged: bool


class FixedPoints(_Handle):
    """The distinct converged fixed points of a search, sorted by Gamma."""

    def _adopt(self, ptr, solver: "MeanField") -> None:
        self._nv, self._nh = solver.machine.weight_rows, solver.machine.n_hidden
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

    def _hidden_start(self, mv: np.ndarray) -> np.ndarray:
        m = self.machine
        if m.visible != UnitKind.POTTS:
            return m.hidden_mean(mv)
        # Potts: mv holds probabilities, not states; E[h] in the mean field
        field = m.hidden_bias + mv @ m.weights
        return unit_eval(m.hidden, field, m.sigma_hidden).mean

    def solve(self, mv: ArrayLike, mh: Optional[ArrayLike] = None) -> Solution:
        """Iterate from (mv, mh) (mh None: E[h | mv]) to a fixed point;
        converged=False when the iteration cap was reached. For a Potts
        visible layer mv holds the n_sites * q probabilities m_ic = p(v_i =
        c), each site's summing to 1 (docs/theory.md §4.7)."""
        a = _f64(mv).reshape(-1).copy()
        # the C default start for mh is E[h | mv]: pass it explicitly so that
        # the hidden result comes back too
        b = (self._hidden_start(a) if mh is None else _f64(mh)).reshape(-1).copy()
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
        """d log Z_TAP / dW at fixed magnetisations, (weight_rows, N_h)."""
        a, b = self._m(mv, mh)
        out = np.empty((self.machine.weight_rows, self.machine.n_hidden))
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
