"""The RBM ensemble and its replica-symmetric phase diagram (docs/theory.md
§5): transition lines, the RS solution, phases, diagrams, and a trained
machine placed on the diagram."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import errors
from ._binding import check, ffi, lib, raise_for
from .base import (ArrayLike, Layer, _NamedEnum, _Tunables, _ctx, _dp, _f64, _Handle,
                   _real_property)
from .machine import Machine


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
    """An RS solution: magnetisations per mode, overlaps, free energy per L."""
    m: np.ndarray
    mbar: np.ndarray
    q: float
    qbar: float
    free_energy: float


@dataclass(frozen=True)
class PhaseResult:
    """The phase at the current settings, the mixing of the selected state
    and whether the solve converged."""
    phase: Phase
    mixing: float
    compositional: bool
    converged: bool


@dataclass(frozen=True)
class Diagram:
    """A phase diagram on a (w1, x) grid: codes of Phase, max |m_a| and q."""
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

    def replicon(self) -> float:
        """The replicon (de Almeida-Thouless) eigenvalue of the current
        solution; the RS solution is stable below 1 (rbm_ensemble_replicon)."""
        lam = ffi.new("double *")
        self._check(lib.rbm_ensemble_replicon(self.ptr, lam))
        return float(lam[0])

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
    """A trained machine on the ensemble's phase diagram (rbm_machine_phase)."""
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
