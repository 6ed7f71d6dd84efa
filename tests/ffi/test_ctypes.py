#!/usr/bin/python3
"""FFI smoke test: drive a small training run through the C ABI with
ctypes + NumPy only (Debian's python3-numpy), the way a Python binding would.

usage: test_ctypes.py PATH/TO/librbm.so

Prints TAP; exits non-zero if any check fails.
"""

import ctypes as C
import sys

import numpy as np

# Status values from include/rbm/status.h (part of the ABI: never reused).
RBM_OK, RBM_DONE = 0, 1
RBM_ERR_SHAPE = 102
RBM_UNIT_BERNOULLI = 0
RBM_DTYPE_UINT8, RBM_DTYPE_FLOAT64 = 0, 2
RBM_COPY, RBM_BORROW = 0, 1
RBM_TRAINER_LEARNING_RATE = 100
RBM_OPTIMIZER_MOMENTUM = 1
RBM_ESTIMATOR_CD = 0

P = C.c_void_p            # every handle is an opaque pointer
PP = C.POINTER(C.c_void_p)
DP = C.POINTER(C.c_double)
SZ = C.c_size_t
ST = C.c_int              # rbm_status (a 32-bit enum)
OBSERVER = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p)

# name: (restype, argtypes). Declaring every prototype matters: ctypes'
# default restype is int, which would truncate returned pointers.
PROTOTYPES = {
    "rbm_version_string": (C.c_char_p, []),
    "rbm_version_number": (C.c_uint32, []),
    "rbm_status_name": (C.c_char_p, [ST]),
    "rbm_context_new": (ST, [PP]),
    "rbm_context_free": (None, [P]),
    "rbm_context_last_error": (C.c_char_p, [P]),
    "rbm_context_last_status": (ST, [P]),
    "rbm_dataset_synthetic": (ST, [P, SZ, SZ, SZ, SZ, C.c_double, C.c_int, C.c_uint64, PP]),
    "rbm_dataset_from_memory": (ST, [P, C.c_void_p, C.c_int, SZ, SZ, C.c_int, PP]),
    "rbm_dataset_rows": (SZ, [P]),
    "rbm_dataset_cols": (SZ, [P]),
    "rbm_dataset_get_rows": (ST, [P, SZ, SZ, DP, SZ]),
    "rbm_dataset_mean": (ST, [P, DP, SZ]),
    "rbm_dataset_free": (None, [P]),
    "rbm_machine_new": (ST, [P, SZ, SZ, C.c_int, C.c_int, PP]),
    "rbm_machine_free": (None, [P]),
    "rbm_machine_init_normal": (ST, [P, C.c_double, C.c_uint64]),
    "rbm_machine_init_visible_bias_from_data": (ST, [P, P]),
    "rbm_machine_get_weights": (ST, [P, DP, SZ]),
    "rbm_machine_set_weights": (ST, [P, DP, SZ]),
    "rbm_machine_get_visible_bias": (ST, [P, DP, SZ]),
    "rbm_machine_get_hidden_bias": (ST, [P, DP, SZ]),
    "rbm_machine_hidden_mean": (ST, [P, SZ, DP, SZ, DP, SZ]),
    "rbm_trainer_new": (ST, [P, P, SZ, C.c_uint64, PP]),
    "rbm_trainer_free": (None, [P]),
    "rbm_trainer_set_estimator": (ST, [P, C.c_int, SZ]),
    "rbm_trainer_set_optimizer": (ST, [P, C.c_int]),
    "rbm_trainer_set_real": (ST, [P, C.c_int, C.c_double]),
    "rbm_trainer_set_observer": (ST, [P, OBSERVER, C.c_void_p]),
    "rbm_trainer_step": (ST, [P]),
    "rbm_trainer_step_count": (C.c_uint64, [P]),
    "rbm_trainer_epoch_count": (C.c_uint64, [P]),
    "rbm_trainer_batches_per_epoch": (SZ, [P]),
    "rbm_trainer_reconstruction_error": (C.c_double, [P]),
}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {what}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - {what}")
            if detail:
                for line in str(detail).splitlines():
                    print(f"# {line}")
        sys.stdout.flush()
        return cond


def load(path):
    lib = C.CDLL(path)
    for name, (res, args) in PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


def dptr(a):
    """Pointer to the first element of a C-contiguous float64 array."""
    assert a.dtype == np.float64 and a.flags["C_CONTIGUOUS"]
    return a.ctypes.data_as(DP)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def recon_error(v, w, a, b):
    """Mean-field reconstruction error of Bernoulli-Bernoulli units, computed
    independently of the library: v -> E[h|v] -> E[v|h]."""
    h = sigmoid(v @ w + b)
    vr = sigmoid(h @ w.T + a)
    return float(np.mean((v - vr) ** 2))


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    lib = load(argv[1])
    t = Tap()
    handles = []  # (free function, handle), released in reverse order

    def new(fn, *args, free):
        out = C.c_void_p()
        st = fn(*args, C.byref(out))
        if st == RBM_OK:
            handles.append((free, out))
        return st, out

    def err(ctx):
        return (lib.rbm_context_last_error(ctx) or b"").decode("utf-8", "replace")

    try:
        ver = lib.rbm_version_string().decode()
        num = lib.rbm_version_number()
        major, minor, patch = (int(x) for x in ver.split(".")[:3])
        t.check(num == major * 10000 + minor * 100 + patch,
                f"version {ver} matches rbm_version_number() {num}")

        ctx = C.c_void_p()
        st = lib.rbm_context_new(C.byref(ctx))
        if not t.check(st == RBM_OK and ctx.value, "rbm_context_new"):
            return 1
        handles.append((lib.rbm_context_free, ctx))

        # --- data: synthetic clusters, copied out into NumPy, then wrapped
        # again without copying (RBM_BORROW) --------------------------------
        n_rows, nv, nh = 600, 100, 24
        st, syn = new(lib.rbm_dataset_synthetic, ctx, n_rows, 0, 0, nv, 0.5,
                      RBM_UNIT_BERNOULLI, 3, free=lib.rbm_dataset_free)
        if not t.check(st == RBM_OK, "rbm_dataset_synthetic", err(ctx)):
            return 1
        t.check(lib.rbm_dataset_rows(syn) == n_rows and lib.rbm_dataset_cols(syn) == nv,
                f"synthetic dataset is {n_rows} x {nv}")
        data = np.empty((n_rows, nv), dtype=np.float64)
        st = lib.rbm_dataset_get_rows(syn, 0, n_rows, dptr(data), data.size)
        t.check(st == RBM_OK and set(np.unique(data)) <= {0.0, 1.0},
                "rows read into a NumPy array are binary", err(ctx))

        st, ds = new(lib.rbm_dataset_from_memory, ctx, data.ctypes.data_as(C.c_void_p),
                     RBM_DTYPE_FLOAT64, n_rows, nv, RBM_BORROW, free=lib.rbm_dataset_free)
        t.check(st == RBM_OK, "rbm_dataset_from_memory(float64, RBM_BORROW)", err(ctx))
        mean = np.empty(nv)
        st = lib.rbm_dataset_mean(ds, dptr(mean), nv)
        t.check(st == RBM_OK and np.allclose(mean, data.mean(axis=0), atol=1e-12),
                "dataset mean equals numpy mean", f"status {st}: {err(ctx)}")

        u8 = (data * 255).astype(np.uint8)
        st, ds8 = new(lib.rbm_dataset_from_memory, ctx, u8.ctypes.data_as(C.c_void_p),
                      RBM_DTYPE_UINT8, n_rows, nv, RBM_COPY, free=lib.rbm_dataset_free)
        t.check(st == RBM_OK, "rbm_dataset_from_memory(uint8, RBM_COPY)", err(ctx))

        # --- machine -------------------------------------------------------
        st, m = new(lib.rbm_machine_new, ctx, nv, nh, RBM_UNIT_BERNOULLI,
                    RBM_UNIT_BERNOULLI, free=lib.rbm_machine_free)
        if not t.check(st == RBM_OK, "rbm_machine_new", err(ctx)):
            return 1
        st = lib.rbm_machine_init_normal(m, 0.01, 7)
        st2 = lib.rbm_machine_init_visible_bias_from_data(m, ds)
        t.check(st == RBM_OK and st2 == RBM_OK, "machine initialised", err(ctx))

        def params():
            w = np.empty((nv, nh))
            a = np.empty(nv)
            b = np.empty(nh)
            ok = (lib.rbm_machine_get_weights(m, dptr(w), w.size) == RBM_OK
                  and lib.rbm_machine_get_visible_bias(m, dptr(a), a.size) == RBM_OK
                  and lib.rbm_machine_get_hidden_bias(m, dptr(b), b.size) == RBM_OK)
            return ok, w, a, b

        ok, w0, a0, b0 = params()
        t.check(ok and abs(w0.std() - 0.01) < 0.002 and np.all(b0 == 0),
                f"initial weights read into NumPy (std {w0.std():.4f})")

        # E[h|v] from the library agrees with the same formula in NumPy
        # (checks the row-major W layout).
        hm = np.empty((n_rows, nh))
        st = lib.rbm_machine_hidden_mean(m, n_rows, dptr(data), data.size, dptr(hm), hm.size)
        t.check(st == RBM_OK and np.allclose(hm, sigmoid(data @ w0 + b0), atol=1e-10),
                "rbm_machine_hidden_mean equals sigm(v W + b) (row-major W)", err(ctx))

        # --- error path: wrong shape --------------------------------------
        st = lib.rbm_machine_set_weights(m, dptr(w0), w0.size - 1)
        msg = err(ctx)
        t.check(st == RBM_ERR_SHAPE, f"wrong length gives RBM_ERR_SHAPE ({st})")
        t.check(len(msg) > 0, f"last error is specific: '{msg}'")
        t.check(lib.rbm_status_name(st) == b"RBM_ERR_SHAPE", "rbm_status_name(102)")
        t.check(lib.rbm_context_last_status(ctx) == RBM_ERR_SHAPE, "rbm_context_last_status")

        narrow = np.ascontiguousarray(data[:, : nv - 1])
        st, dn = new(lib.rbm_dataset_from_memory, ctx, narrow.ctypes.data_as(C.c_void_p),
                     RBM_DTYPE_FLOAT64, n_rows, nv - 1, RBM_BORROW, free=lib.rbm_dataset_free)
        out = C.c_void_p()
        st = lib.rbm_trainer_new(m, dn, 20, 1, C.byref(out))
        if st == RBM_OK:
            handles.append((lib.rbm_trainer_free, out))
        t.check(st == RBM_ERR_SHAPE and not out.value,
                f"trainer on a {nv - 1}-column dataset: RBM_ERR_SHAPE, "
                f"'{err(ctx)}'")

        # --- training: step until RBM_DONE, a few epochs -------------------
        st, tr = new(lib.rbm_trainer_new, m, ds, 20, 11, free=lib.rbm_trainer_free)
        if not t.check(st == RBM_OK, "rbm_trainer_new", err(ctx)):
            return 1
        st = lib.rbm_trainer_set_estimator(tr, RBM_ESTIMATOR_CD, 1)
        st |= lib.rbm_trainer_set_optimizer(tr, RBM_OPTIMIZER_MOMENTUM)
        st |= lib.rbm_trainer_set_real(tr, RBM_TRAINER_LEARNING_RATE, 0.02)
        t.check(st == RBM_OK, "trainer configured (CD-1, momentum, lr 0.02)", err(ctx))

        calls = [0]

        def on_step(user, trainer):
            calls[0] += 1
            return 0

        observer = OBSERVER(on_step)  # keep a reference while installed
        t.check(lib.rbm_trainer_set_observer(tr, observer, None) == RBM_OK,
                "observer installed (Python callback)")

        batches = lib.rbm_trainer_batches_per_epoch(tr)
        epochs, bad, first = 5, None, None
        for e in range(epochs):
            steps = 0
            while True:
                st = lib.rbm_trainer_step(tr)
                steps += 1
                if first is None:
                    first = lib.rbm_trainer_reconstruction_error(tr)
                if st != RBM_OK:
                    break
            if st != RBM_DONE or steps != batches:
                bad = f"epoch {e}: status {st} after {steps}/{batches} steps: {err(ctx)}"
                break
        last = lib.rbm_trainer_reconstruction_error(tr)
        t.check(bad is None and lib.rbm_trainer_epoch_count(tr) == epochs,
                f"{epochs} epochs of {batches} steps, each ending with RBM_DONE", bad)
        t.check(calls[0] == lib.rbm_trainer_step_count(tr) == epochs * batches,
                f"observer called once per step ({calls[0]})")
        t.check(np.isfinite(first) and np.isfinite(last) and last < first,
                f"trainer's minibatch reconstruction error decreased {first:.4f} -> {last:.4f}")

        ok, w1, a1, b1 = params()
        t.check(ok and np.all(np.isfinite(w1)) and not np.array_equal(w0, w1),
                "trained weights read back, finite and changed")
        e0, e1 = recon_error(data, w0, a0, b0), recon_error(data, w1, a1, b1)
        t.check(e1 < e0, f"NumPy reconstruction error on all data decreased {e0:.4f} -> {e1:.4f}")
    finally:
        for free, h in reversed(handles):
            free(h)

    print(f"1..{t.n}")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
