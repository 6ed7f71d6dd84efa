"""Exceptions raised for librbm status codes (include/rbm/status.h).

Every failing C call raises a subclass of :class:`Error` chosen by the
status, carrying ``status`` (the integer), ``name`` ("RBM_ERR_SHAPE") and
``detail`` (the library's message, e.g. "dataset has 783 columns, machine
expects 784"). The subclasses also derive from the matching built-in
exception, so ``except ValueError`` catches a shape error.
"""
from __future__ import annotations

from typing import Dict, Type


class Error(Exception):
    """A librbm call failed. ``status``, ``name`` and ``detail`` say how."""

    status: int
    name: str
    detail: str

    def __init__(self, status: int, name: str, detail: str) -> None:
        self.status = status
        self.name = name
        self.detail = detail
        super().__init__(f"{name}: {detail}" if detail else name)

    def __reduce__(self):
        return (type(self), (self.status, self.name, self.detail))


class NullError(Error, ValueError):
    """RBM_ERR_NULL: a required argument was missing (a closed object)."""


class InvalidArgumentError(Error, ValueError):
    """RBM_ERR_INVALID_ARGUMENT: an argument outside its domain."""


class ShapeError(Error, ValueError):
    """RBM_ERR_SHAPE: sizes of arrays, datasets or machines disagree."""


class NotFiniteError(Error, ValueError):
    """RBM_ERR_NOT_FINITE: NaN or infinity in the input."""


class OutOfRangeError(Error, ValueError):
    """RBM_ERR_OUT_OF_RANGE: data outside the support of the units."""


class UnsupportedError(Error, NotImplementedError):
    """RBM_ERR_UNSUPPORTED: not available for these unit kinds or sizes."""


class TooLargeError(Error, OverflowError):
    """RBM_ERR_TOO_LARGE: a size overflows or exceeds a limit."""


class StateError(Error, RuntimeError):
    """RBM_ERR_STATE: the call is not valid in the object's state."""


class NoMemoryError(Error, MemoryError):
    """RBM_ERR_NO_MEMORY: an allocation failed."""


class IOError(Error, OSError):  # noqa: A001 - the librbm name, also an OSError
    """RBM_ERR_IO: a file could not be opened, read or written."""


class FormatError(Error, ValueError):
    """RBM_ERR_BAD_FORMAT: a file is malformed, truncated or corrupt."""


class NumericalError(Error, ArithmeticError):
    """Numerical failures (status group 400-499)."""


class NotNormalizableError(NumericalError):
    """RBM_ERR_NOT_NORMALIZABLE: a Gaussian model without a finite Z."""


class NotConvergedError(NumericalError):
    """RBM_ERR_NOT_CONVERGED: an iterative method hit its cap."""


class CollectiveError(Error, RuntimeError):
    """RBM_ERR_COLLECTIVE: a collective operation between workers failed."""


class InternalError(Error, RuntimeError):
    """RBM_ERR_INTERNAL (or an unknown status): a librbm bug."""


STATUS_CLASSES: Dict[int, Type[Error]] = {
    100: NullError,
    101: InvalidArgumentError,
    102: ShapeError,
    103: NotFiniteError,
    104: OutOfRangeError,
    105: UnsupportedError,
    106: TooLargeError,
    107: StateError,
    200: NoMemoryError,
    300: IOError,
    301: FormatError,
    400: NotNormalizableError,
    401: NotConvergedError,
    402: NumericalError,
    500: CollectiveError,
    900: InternalError,
}


def error_class(status: int) -> Type[Error]:
    """The exception class for a status (InternalError for unknown ones)."""
    return STATUS_CLASSES.get(status, InternalError)
