/* librbm — h5io: the one way the library talks to libhdf5 (docs/interop.md).
 *
 * Every HDF5 section of the library runs between rbm__h5_open/_create and
 * rbm__h5_close, which
 *   - hold one process-wide mutex: Debian's libhdf5 is built without its
 *     thread-safe option, so no two threads may be inside libhdf5 at once
 *     (HDF5 calls of librbm are serialised, whatever the context);
 *   - silence libhdf5's own error printing (H5Eset_auto2, process-global,
 *     saved and restored around the section: the library never prints);
 *   - check the path as every reader does (core/file_in.h: a regular file,
 *     never blocking on a FIFO) before H5Fis_hdf5 / H5Fopen;
 *   - open files with H5F_CLOSE_STRONG, so that closing the file closes
 *     every object a failed read left open.
 *
 * Without HDF5 (meson option hdf5 disabled or libhdf5 not found) only
 * rbm__h5_unsupported exists: RBM_ERR_UNSUPPORTED with the message
 * "librbm was built without HDF5 (meson option hdf5)". */
#ifndef RBM_CORE_H5IO_H
#define RBM_CORE_H5IO_H

#include "core/internal.h"

/* RBM_ERR_UNSUPPORTED "<fn>: librbm was built without HDF5 (meson option
 * hdf5)". */
rbm_status rbm__h5_unsupported(rbm_context *ctx, const char *fn);

#ifdef RBM_HAVE_HDF5
#include <hdf5.h>

/* An open HDF5 file and the error handler it replaced. */
typedef struct rbm__h5 {
    rbm_context *ctx;
    hid_t file;          /* H5I_INVALID_HID when not open */
    const char *path;    /* for messages */
    const char *what;    /* "rbms archive", "hdf5 file" */
    H5E_auto2_t old_fn;  /* the handler to restore */
    void *old_data;
    int locked;
} rbm__h5;

/* Open path read-only. Errors: RBM_ERR_IO (missing, not a regular file),
 * RBM_ERR_BAD_FORMAT ("<what> <path> is not an HDF5 file"). On error the
 * section is already closed (no rbm__h5_close needed, but it is harmless). */
rbm_status rbm__h5_open(rbm_context *ctx, const char *path, const char *what, rbm__h5 *h);
/* Create (truncate) path for writing; the caller has checked the target. */
rbm_status rbm__h5_create(rbm_context *ctx, const char *path, const char *what, rbm__h5 *h);
/* Close the file (if open), restore the error handler, release the lock.
 * Returns RBM_ERR_IO when closing a file being written failed. */
rbm_status rbm__h5_close(rbm__h5 *h);

/* The object at `name` (an absolute or relative path of links) exists, every
 * link on the way included. */
bool rbm__h5_exists(rbm__h5 *h, hid_t loc, const char *name);

/* What a numeric dataset is read into. AUTO: uint8 for unsigned integers of
 * one byte, float32 for floats of at most 4 bytes, float64 otherwise. */
typedef enum { RBM__H5_AUTO, RBM__H5_U8, RBM__H5_F32, RBM__H5_F64 } rbm__h5_mem;

/* A numeric dataset read whole. */
typedef struct rbm__h5_array {
    unsigned rank;      /* 0 (scalar), 1 or 2 */
    size_t dims[2];     /* unused dimensions are 1 */
    size_t n;           /* elements */
    rbm__h5_mem mem;    /* U8, F32 or F64 */
    size_t file_bytes;  /* size of one element in the file */
    int file_float;     /* the file type is a float (else an integer) */
    void *data;         /* n elements of mem, from the context's allocator */
} rbm__h5_array;

/* Read the dataset at `name` under loc, of rank <= max_rank, whose type is
 * an integer (1, 2, 4 or 8 bytes) or a float (4 or 8 bytes), into a new
 * array of `mem` (AUTO: see above). The decoded size is checked against the
 * context's data limit (rbm_context_set_max_data_bytes) before anything is
 * allocated. Errors (message naming what, the path and `name`):
 * RBM_ERR_BAD_FORMAT (missing, not a dataset, unreadable), RBM_ERR_SHAPE
 * (rank), RBM_ERR_UNSUPPORTED (type class or size), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY, RBM_ERR_NOT_FINITE (NaN/Inf for float data). */
rbm_status rbm__h5_read_numeric(rbm__h5 *h, hid_t loc, const char *name, unsigned max_rank,
                                rbm__h5_mem mem, rbm__h5_array *out);
/* A scalar (or one-element) numeric dataset as a double. */
rbm_status rbm__h5_read_scalar(rbm__h5 *h, hid_t loc, const char *name, double *out);
/* A scalar string dataset (fixed or variable length, ASCII or UTF-8) into
 * buf (cap bytes, NUL-terminated; longer strings give RBM_ERR_BAD_FORMAT). */
rbm_status rbm__h5_read_string(rbm__h5 *h, hid_t loc, const char *name, char *buf, size_t cap);

/* Writers (the file must come from rbm__h5_create). Each creates `name`
 * under loc; the first failure is latched in h (rbm__h5_close reports it). */
typedef struct rbm__h5w {
    rbm__h5 *h;
    rbm_status st; /* RBM_OK while every write succeeded */
} rbm__h5w;
hid_t rbm__h5w_group(rbm__h5w *w, hid_t loc, const char *name);
/* A rank-1 (d1 == 0) or rank-2 array of doubles stored as float32 (f32) or
 * float64. */
void rbm__h5w_reals(rbm__h5w *w, hid_t loc, const char *name, const double *x, size_t d0,
                    size_t d1, int f32);
void rbm__h5w_i64(rbm__h5w *w, hid_t loc, const char *name, int64_t v);
void rbm__h5w_f64(rbm__h5w *w, hid_t loc, const char *name, double v);
void rbm__h5w_bool(rbm__h5w *w, hid_t loc, const char *name, int v);
/* A scalar variable-length UTF-8 string, as h5py writes a str. */
void rbm__h5w_string(rbm__h5w *w, hid_t loc, const char *name, const char *s);
void rbm__h5w_close_group(rbm__h5w *w, hid_t g);
#endif /* RBM_HAVE_HDF5 */

#endif /* RBM_CORE_H5IO_H */
