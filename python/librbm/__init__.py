"""librbm: Restricted Boltzmann Machines over the librbm C library.

NumPy arrays in and out, exceptions for errors (:class:`Error` and its
subclasses), the GIL released during C calls, and scikit-learn estimators in
:mod:`librbm.sklearn`. Modules: base (contexts, rng, units, enums), machine,
data, training, tempering (parallel tempering, autocorrelation
times), analysis (metrics, AIS, SVD, linear), meanfield, phase,
interop (training archives, rbms archives, HDF5).
See docs/python.md.
"""
from ._binding import library_path, status_message, status_name
from .errors import (CollectiveError, Error, FormatError, InternalError, InvalidArgumentError,
                     IOError, NoMemoryError, NotConvergedError, NotFiniteError, NotNormalizableError,
                     NullError, NumericalError, OutOfRangeError, ShapeError, StateError,
                     TooLargeError, UnsupportedError)
from .base import (Context, EstimatorKind, Layer, Optimizer, ParamBounds, Precision, Rng,
                   Status, Transform, UnitKind, UnitValues, seed_derive, unit_eval, unit_sample,
                   version, version_number)
from .data import BatchIterator, Dataset
from .machine import Machine
from .training import Estimator, Gradient, Sampler, Trainer
from .analysis import (AIS, AIS_MIN_ESS_FRACTION, SVD, AdaptiveAISResult, AISDiagnostics,
                       AISResult, Bulk, Census, ModeTracker, ProjectedGradient, Significance,
                       Trajectory, ais_bracket_converged,
                       exact_log_likelihood, exact_log_z, free_energy_gap, linear_fixed_points,
                       linear_gradient, linear_integrate, linear_mode_trajectory,
                       linear_model_covariance, log_likelihood, mean_free_energy,
                       pseudo_log_likelihood, reconstruction_error)
from .tempering import (MAX_REPLICAS, AutocorrTime, SwapStats, Tempering, TemperingLogZ,
                        autocorr_time)
from .meanfield import FixedPoint, FixedPoints, MeanField, MFMethod, Solution
from .phase import (ComponentLaw, Diagram, Ensemble, EnsembleSolution, MachinePhase, Phase,
                    PhaseResult, component_law_kurtosis, machine_phase, phase_line_fsg,
                    phase_line_pf, phase_line_psg)

from .interop import (Archive, hdf5_available, load_hdf5, load_rbms, log_schedule,
                      rbms_list, rbms_load_chains, rbms_load_sampler, rbms_save)

__version__ = "0.2.0"

__all__ = [n for n in dir() if not n.startswith("_")]
