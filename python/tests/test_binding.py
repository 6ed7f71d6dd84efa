"""Loading, the generated declarations, and the mapping of every status
group to its exception (each triggered by a real failing C call)."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import librbm
from librbm._binding import ffi, lib, raise_for

_cffi = __import__("cffi").FFI()
_cffi.cdef("void *malloc(size_t); void free(void *);")
lib_c = _cffi.dlopen(None)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_cdef_matches_headers():
    gen = os.path.join(ROOT, "python", "gen_cdef.py")
    r = subprocess.run([sys.executable, gen, "--check", ROOT], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_exported_symbol_is_declared():
    # lib/librbm.map lists the ABI; every name in it must be callable here.
    with open(os.path.join(ROOT, "lib", "librbm.map"), encoding="utf-8") as fh:
        names = [w.strip().rstrip(";") for w in fh.read().split()
                 if w.strip().rstrip(";").startswith("rbm_")]
    assert len(names) > 150
    missing = [n for n in names if not hasattr(lib, n)]
    assert missing == []


def test_library_and_version():
    assert os.path.exists(librbm.library_path) or librbm.library_path == "librbm.so.0"
    assert librbm.version() == "0.2.0"
    assert librbm.version_number() == 200
    assert librbm.status_name(102) == "RBM_ERR_SHAPE"


def test_env_override_is_used(tmp_path):
    code = "import librbm; print(librbm.library_path)"
    env = dict(os.environ, LIBRBM_LIBRARY=os.environ.get("LIBRBM_LIBRARY", ""))
    if not env["LIBRBM_LIBRARY"]:
        pytest.skip("no LIBRBM_LIBRARY in this run")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=os.path.join(ROOT, "python"))
    assert r.stdout.strip() == env["LIBRBM_LIBRARY"]


def _raises(exc_type, name, fn, detail=None):
    with pytest.raises(exc_type) as info:
        fn()
    e = info.value
    assert isinstance(e, librbm.Error)
    assert e.name == name and e.status == getattr(lib, name)
    if detail is not None:
        assert detail in e.detail, e.detail
    return e


def test_null():
    e = _raises(librbm.NullError, "RBM_ERR_NULL",
                lambda: raise_for(lib.rbm_context_new(ffi.NULL)))
    assert isinstance(e, ValueError)


def test_invalid_argument():
    e = _raises(librbm.InvalidArgumentError, "RBM_ERR_INVALID_ARGUMENT",
                lambda: librbm.Machine(0, 3))
    assert isinstance(e, ValueError)


def test_shape_detail():
    m = librbm.Machine(784, 10)
    d = librbm.Dataset(np.zeros((20, 783)))
    e = _raises(librbm.ShapeError, "RBM_ERR_SHAPE", lambda: librbm.Trainer(m, d, 10),
                "dataset has 783 columns, machine expects 784")
    assert isinstance(e, ValueError)
    assert str(e) == "RBM_ERR_SHAPE: dataset has 783 columns, machine expects 784"


def test_not_finite():
    m = librbm.Machine(3, 2)
    w = np.zeros((3, 2))
    w[1, 1] = np.nan
    _raises(librbm.NotFiniteError, "RBM_ERR_NOT_FINITE", lambda: setattr(m, "weights", w))
    assert np.all(m.weights == 0)  # unchanged


def test_out_of_range():
    m = librbm.Machine(3, 2)
    d = librbm.Dataset(np.full((4, 3), 2.0))
    _raises(librbm.OutOfRangeError, "RBM_ERR_OUT_OF_RANGE", lambda: librbm.Trainer(m, d, 2))


def test_unsupported():
    m = librbm.Machine(40, 40)
    e = _raises(librbm.UnsupportedError, "RBM_ERR_UNSUPPORTED", lambda: librbm.exact_log_z(m))
    assert isinstance(e, NotImplementedError)


def test_too_large():
    e = _raises(librbm.TooLargeError, "RBM_ERR_TOO_LARGE",
                lambda: librbm.Machine(1 << 40, 1 << 40))
    assert isinstance(e, OverflowError)


def test_state():
    m = librbm.Machine(4, 3)
    s = librbm.Sampler(m, 2)
    m.precision = "float32"
    _raises(librbm.StateError, "RBM_ERR_STATE", lambda: s.run(1))


def test_no_memory():
    # a context whose allocator fails once the context itself exists
    budget = [1]

    @ffi.callback("rbm_alloc_fn")
    def alloc(user, size):
        if budget[0] <= 0:
            return ffi.NULL
        budget[0] -= 1
        return ffi.cast("void *", int(_cffi.cast("uintptr_t", lib_c.malloc(size))))

    @ffi.callback("rbm_free_fn")
    def free(user, ptr):
        lib_c.free(_cffi.cast("void *", int(ffi.cast("uintptr_t", ptr))))

    out = ffi.new("rbm_context **")
    raise_for(lib.rbm_context_new_with_allocator(alloc, free, ffi.NULL, out))
    try:
        m = ffi.new("rbm_machine **")
        st = lib.rbm_machine_new(out[0], 4, 3, 0, 0, m)
        e = _raises(librbm.NoMemoryError, "RBM_ERR_NO_MEMORY", lambda: raise_for(st, out[0]))
        assert isinstance(e, MemoryError)
    finally:
        lib.rbm_context_free(out[0])


def test_io(tmp_path):
    e = _raises(librbm.IOError, "RBM_ERR_IO",
                lambda: librbm.Machine.load(tmp_path / "missing.rbm"), "missing.rbm")
    assert isinstance(e, OSError)


def test_bad_format(tmp_path):
    p = tmp_path / "junk.rbm"
    p.write_bytes(b"not a model file at all" * 4)
    e = _raises(librbm.FormatError, "RBM_ERR_BAD_FORMAT", lambda: librbm.Machine.load(p))
    assert isinstance(e, ValueError)


def test_not_normalizable():
    m = librbm.Machine(3, 2, "gaussian", "gaussian")
    e = _raises(librbm.NotNormalizableError, "RBM_ERR_NOT_NORMALIZABLE",
                lambda: setattr(m, "weights", np.full((3, 2), 2.0)))
    assert isinstance(e, librbm.NumericalError) and isinstance(e, ArithmeticError)


def test_not_converged():
    e = librbm.Ensemble([2.0], temperature=0.5, max_iterations=1, tolerance=1e-14)
    _raises(librbm.NotConvergedError, "RBM_ERR_NOT_CONVERGED", lambda: e.solve([0.5], [0.5]))


def test_numerical():
    m = librbm.Machine(2, 2, "gaussian", "bernoulli")
    _raises(librbm.NumericalError, "RBM_ERR_NUMERICAL",
            lambda: m.free_energy(np.full((1, 2), 1e200)))


def test_internal_and_unknown():
    _raises(librbm.InternalError, "RBM_ERR_INTERNAL", lambda: raise_for(900))
    with pytest.raises(librbm.InternalError):
        raise_for(777)


def test_exceptions_pickle():
    e = librbm.ShapeError(102, "RBM_ERR_SHAPE", "x has 3 elements, expected 4")
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is librbm.ShapeError and e2.detail == e.detail


def test_context_settings_and_log(caplog):
    import logging
    ctx = librbm.Context(threads=1, logger="librbm.test", log_level=logging.DEBUG)
    assert ctx.threads == 1 and ctx.effective_threads == 1
    ctx.max_data_bytes = 1 << 20
    assert ctx.max_data_bytes == 1 << 20
    with caplog.at_level(logging.DEBUG, logger="librbm.test"):
        with pytest.raises(librbm.InvalidArgumentError):
            librbm.Machine(0, 1, context=ctx)
    assert ctx.last_status == lib.RBM_ERR_INVALID_ARGUMENT
    assert any(r.levelno == logging.ERROR and ctx.last_error in r.getMessage()
               for r in caplog.records)
    ctx.clear_error()
    assert ctx.last_error == ""
    ctx.set_logger(None)


def test_closing_order_is_safe():
    ctx = librbm.Context()
    m = librbm.Machine(5, 3, context=ctx)
    s = librbm.Sampler(m, 4, seed=1)
    ctx.close()          # deferred: the machine is open
    m.close()            # deferred: the sampler is open
    assert ctx.closed and m.closed
    s.run(2)             # still valid
    assert s.visible.shape == (4, 5)
    s.close()            # releases sampler, machine, context in that order
    assert ctx._ptr is None and m._ptr is None
    with pytest.raises(ValueError):
        m.n_visible


def test_machine_outlives_context_reference():
    import gc
    m = librbm.Machine(4, 2, context=librbm.Context())
    gc.collect()
    assert m.n_visible == 4 and m.context.threads == 0
    with librbm.Machine(3, 3) as m2:
        assert m2.n_hidden == 3
    assert m2.closed


def test_enum_names_match_the_library():
    pairs = [(librbm.UnitKind, lib.rbm_unit_kind_name, lib.rbm_unit_kind_parse, "rbm_unit_kind *"),
             (librbm.EstimatorKind, lib.rbm_estimator_kind_name, lib.rbm_estimator_kind_parse,
              "rbm_estimator_kind *"),
             (librbm.Optimizer, lib.rbm_optimizer_name, lib.rbm_optimizer_parse, "rbm_optimizer *"),
             (librbm.MFMethod, lib.rbm_mf_method_name, lib.rbm_mf_method_parse, "rbm_mf_method *"),
             (librbm.ComponentLaw, lib.rbm_component_law_name, lib.rbm_component_law_parse,
              "rbm_component_law *")]
    for enum, name_fn, parse_fn, ctype in pairs:
        for member in enum:
            name = ffi.string(name_fn(member)).decode()
            assert name == member.name.lower()
            out = ffi.new(ctype)
            assert parse_fn(name.encode(), out) == 0 and out[0] == member
            assert enum.coerce(name) is member
    for member in librbm.Phase:
        want = member.name.lower()
        assert ffi.string(lib.rbm_phase_name(member)).decode() == want
    assert librbm.EstimatorKind.coerce("tap") is librbm.EstimatorKind.TAP2
    with pytest.raises(librbm.InvalidArgumentError, match="expected one of"):
        librbm.UnitKind.coerce("softmax")


def test_borrowed_accessors():
    ctx = librbm.Context()
    m = librbm.Machine(3, 2, context=ctx)
    assert lib.rbm_machine_context(m.ptr) == ctx.ptr
    d = librbm.Dataset([[0.0, 1.0, 1.0]], context=ctx)
    assert lib.rbm_dataset_context(d.ptr) == ctx.ptr
    t = librbm.Trainer(m, d, 1)
    assert lib.rbm_trainer_machine(t.ptr) == m.ptr


def test_public_api_is_annotated_and_documented():
    """Item of docs/python.md: every public function and method carries type
    annotations (parameters and return) and every public class a docstring."""
    import ast
    pkg = os.path.join(ROOT, "python", "librbm")
    missing = []
    for name in sorted(os.listdir(pkg)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(pkg, name), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                if ast.get_docstring(node) is None and not any(
                        isinstance(b, ast.Name) and b.id.endswith("Enum") for b in node.bases):
                    missing.append(f"{name}: class {node.name} has no docstring")
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            args = node.args.args + node.args.kwonlyargs
            unannotated = [a.arg for a in args if a.annotation is None
                           and a.arg not in ("self", "cls")]
            if node.returns is None:
                unannotated.append("return")
            if unannotated:
                missing.append(f"{name}:{node.lineno} {node.name}: {unannotated}")
    assert missing == []
