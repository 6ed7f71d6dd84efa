"""Loading librbm.so through cffi in ABI mode (no compiler at import time).

The declarations are ``_cdef.h``, generated from the public headers by
``python/gen_cdef.py`` (a test checks that it matches them). The library is
found in this order: the path in the environment variable LIBRBM_LIBRARY;
the copy bundled in this package directory (pip install); the system's
librbm.so.0 (an installed librbm). cffi releases the GIL around every C call
and re-acquires it in callbacks.
"""
from __future__ import annotations

import os
from typing import Any, Optional

import cffi

from . import errors

ffi = cffi.FFI()
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "_cdef.h"),
          encoding="utf-8") as _fh:
    ffi.cdef(_fh.read())


def _find_library() -> str:
    env = os.environ.get("LIBRBM_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    bundled = os.path.join(here, "librbm.so")
    if os.path.exists(bundled):
        return bundled
    return "librbm.so.0"


library_path: str = _find_library()
lib = ffi.dlopen(library_path)

OK = lib.RBM_OK
DONE = lib.RBM_DONE
STOPPED = lib.RBM_STOPPED


def _str(p) -> str:
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""


def status_name(status: int) -> str:
    """Symbolic name of a status ("RBM_ERR_SHAPE")."""
    return _str(lib.rbm_status_name(status))


def status_message(status: int) -> str:
    """One-line English description of a status."""
    return _str(lib.rbm_status_message(status))


def raise_for(status: int, ctx: Any = None, detail: Optional[str] = None) -> None:
    """Raise the exception of an error status (>= 100) with the context's
    detail text; return for OK, DONE and STOPPED."""
    if status < 100:
        return
    if detail is None:
        detail = _str(lib.rbm_context_last_error(ctx)) if ctx is not None else ""
        if not detail:
            detail = status_message(status)
    raise errors.error_class(status)(status, status_name(status), detail)


def check(status: int, ctx: Any = None) -> int:
    """raise_for, then return the status (for callers that need DONE)."""
    if status >= 100:
        raise_for(status, ctx)
    return status
