"""librbm: Restricted Boltzmann Machines over the librbm C library.

NumPy arrays in and out, exceptions for errors (:class:`Error` and its
subclasses), the GIL released during C calls, and scikit-learn estimators in
:mod:`librbm.sklearn`. See docs/python.md.
"""
from ._binding import library_path, status_message, status_name
from .errors import (Error, FormatError, InternalError, InvalidArgumentError, IOError,
                     NoMemoryError, NotConvergedError, NotFiniteError, NotNormalizableError,
                     NullError, NumericalError, OutOfRangeError, ShapeError, StateError,
                     TooLargeError, UnsupportedError)
from .core import (BatchIterator, Context, Dataset, Estimator, EstimatorKind, Gradient, Layer,
                   Machine, Optimizer, ParamBounds, Precision, Rng, Sampler, Status, Trainer,
                   Transform, UnitKind, UnitValues, seed_derive, unit_eval, unit_sample, version,
                   version_number)
from .analysis import (AIS, SVD, ComponentLaw, Ensemble, FixedPoint, FixedPoints, MeanField,
                       MFMethod, ModeTracker, Phase, PhaseResult, exact_log_likelihood,
                       exact_log_z, free_energy_gap, linear_fixed_points, linear_gradient,
                       linear_integrate, linear_mode_trajectory, linear_model_covariance,
                       log_likelihood, machine_phase, mean_free_energy, phase_line_fsg,
                       phase_line_pf, phase_line_psg, pseudo_log_likelihood,
                       reconstruction_error)

__version__ = "0.2.0"

__all__ = [n for n in dir() if not n.startswith("_")]
