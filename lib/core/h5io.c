/* librbm — h5io: open/close sections around libhdf5 (lock, silenced errors,
 * path checks) and the typed reads and writes the HDF5 formats share. */
#include "core/h5io.h"

#include "core/file_in.h"

rbm_status rbm__h5_unsupported(rbm_context *ctx, const char *fn)
{
    return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                     "%s: librbm was built without HDF5 (meson option hdf5)", fn);
}

#ifdef RBM_HAVE_HDF5
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* Debian's libhdf5 is not thread-safe: one HDF5 section at a time. */
static pthread_mutex_t h5_lock = PTHREAD_MUTEX_INITIALIZER;

static void section_begin(rbm_context *ctx, const char *path, const char *what, rbm__h5 *h)
{
    pthread_mutex_lock(&h5_lock);
    h->ctx = ctx;
    h->file = H5I_INVALID_HID;
    h->path = path;
    h->what = what;
    h->locked = 1;
    h->old_fn = NULL;
    h->old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &h->old_fn, &h->old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Open (create != 0: create, truncating) path with H5F_CLOSE_STRONG into
 * h->file; H5I_INVALID_HID on failure. */
static void open_strong(rbm__h5 *h, const char *path, int create)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        h->file = create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                         : H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
}

rbm_status rbm__h5_open(rbm_context *ctx, const char *path, const char *what, rbm__h5 *h)
{
    int fd;
    struct stat sb;
    h->locked = 0;
    h->file = H5I_INVALID_HID;
    rbm_status st = rbm__fin_open(ctx, path, what, &fd, &sb);
    if (st)
        return st;
    close(fd);
    section_begin(ctx, path, what, h);
    if (H5Fis_hdf5(path) <= 0) {
        rbm__h5_close(h);
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "%s %s is not an HDF5 file", what, path);
    }
    open_strong(h, path, 0);
    if (h->file < 0) {
        rbm__h5_close(h);
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "%s %s: libhdf5 cannot open it", what, path);
    }
    return RBM_OK;
}

rbm_status rbm__h5_create(rbm_context *ctx, const char *path, const char *what, rbm__h5 *h)
{
    section_begin(ctx, path, what, h);
    open_strong(h, path, 1);
    if (h->file < 0) {
        rbm__h5_close(h);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot create %s %s (libhdf5)", what, path);
    }
    return RBM_OK;
}

rbm_status rbm__h5_close(rbm__h5 *h)
{
    rbm_status st = RBM_OK;
    if (!h->locked)
        return st;
    if (h->file >= 0 && H5Fclose(h->file) < 0)
        st = rbm__fail(h->ctx, RBM_ERR_IO, "%s %s: closing the file failed", h->what, h->path);
    h->file = H5I_INVALID_HID;
    H5Eset_auto2(H5E_DEFAULT, h->old_fn, h->old_data);
    h->locked = 0;
    pthread_mutex_unlock(&h5_lock);
    return st;
}

bool rbm__h5_exists(rbm__h5 *h, hid_t loc, const char *name)
{
    /* H5Lexists checks only the last link: walk the path one link at a time */
    char part[512];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof part)
        return false;
    memcpy(part, name, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (part[i] != '/' && part[i] != '\0')
            continue;
        char keep = part[i];
        part[i] = '\0';
        htri_t e = (i == 1 && part[0] == '/') ? 1 : H5Lexists(loc, part, H5P_DEFAULT);
        if (e > 0 && H5Oexists_by_name(loc, part, H5P_DEFAULT) <= 0)
            e = 0;
        part[i] = keep;
        if (e <= 0)
            return false;
    }
    return true;
}

static size_t mem_size(rbm__h5_mem m)
{
    return m == RBM__H5_U8 ? 1 : m == RBM__H5_F32 ? 4 : 8;
}

static hid_t mem_type(rbm__h5_mem m)
{
    return m == RBM__H5_U8 ? H5T_NATIVE_UINT8 : m == RBM__H5_F32 ? H5T_NATIVE_FLOAT
                                                                 : H5T_NATIVE_DOUBLE;
}

/* The dataset's class and size: integers of 1, 2, 4, 8 bytes, floats of 4
 * or 8; *mem resolved from AUTO. */
static rbm_status check_type(rbm__h5 *h, hid_t ds, const char *name, rbm__h5_mem *mem,
                             rbm__h5_array *a)
{
    hid_t t = H5Dget_type(ds);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    size_t sz = t >= 0 ? H5Tget_size(t) : 0;
    H5T_sign_t sign = cls == H5T_INTEGER ? H5Tget_sign(t) : H5T_SGN_ERROR;
    if (t >= 0)
        H5Tclose(t);
    int is_int = cls == H5T_INTEGER && (sz == 1 || sz == 2 || sz == 4 || sz == 8);
    int is_float = cls == H5T_FLOAT && (sz == 4 || sz == 8);
    static const char *const names[] = {"integer", "float", "time", "string", "bitfield",
                                        "opaque", "compound", "reference", "enum",
                                        "variable-length", "array"};
    const char *cname = cls >= 0 && (size_t)cls < sizeof names / sizeof names[0]
                            ? names[cls]
                            : "unknown";
    if (!is_int && !is_float)
        return rbm__fail(h->ctx, RBM_ERR_UNSUPPORTED,
                         "%s %s: dataset '%s' has an unsupported type (%s of %zu bytes); "
                         "expected an integer or float32/float64",
                         h->what, h->path, name, cname, sz);
    a->file_bytes = sz;
    a->file_float = is_float;
    if (*mem == RBM__H5_AUTO)
        *mem = (is_int && sz == 1 && sign == H5T_SGN_NONE) ? RBM__H5_U8
               : (is_float && sz == 4)                     ? RBM__H5_F32
                                                           : RBM__H5_F64;
    return RBM_OK;
}

/* Rank and dimensions, element count and the size limit. */
static rbm_status check_space(rbm__h5 *h, hid_t ds, const char *name, unsigned max_rank,
                              rbm__h5_mem mem, rbm__h5_array *a)
{
    hid_t sp = H5Dget_space(ds);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    H5S_class_t cls = sp >= 0 ? H5Sget_simple_extent_type(sp) : H5S_NO_CLASS;
    hsize_t d[2] = {1, 1};
    if (rank >= 0 && (unsigned)rank <= max_rank && rank <= 2 && cls != H5S_NULL)
        rank = H5Sget_simple_extent_dims(sp, d, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    if (rank < 0 || cls == H5S_NULL)
        return rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: dataset '%s' has no readable shape",
                         h->what, h->path, name);
    if ((unsigned)rank > max_rank)
        return rbm__fail(h->ctx, RBM_ERR_SHAPE,
                         "%s %s: dataset '%s' has rank %d, expected at most %u", h->what,
                         h->path, name, rank, max_rank);
    a->rank = (unsigned)rank;
    uint64_t n = 1;
    for (int i = 0; i < 2; i++) {
        if (d[i] > SIZE_MAX || (d[i] != 0 && n > UINT64_MAX / d[i]))
            return rbm__fail(h->ctx, RBM_ERR_TOO_LARGE,
                             "%s %s: dataset '%s' has %" PRIu64 " x %" PRIu64 " elements",
                             h->what, h->path, name, (uint64_t)d[0], (uint64_t)d[1]);
        a->dims[i] = (size_t)d[i];
        n *= d[i];
    }
    uint64_t limit = h->ctx->max_data_bytes;
    if (n > (uint64_t)(SIZE_MAX >> 4) || (limit != 0 && n * mem_size(mem) > limit))
        return rbm__fail(h->ctx, RBM_ERR_TOO_LARGE,
                         "%s %s: dataset '%s' (%" PRIu64 " x %" PRIu64
                         ") decodes to more than the data size limit of %" PRIu64
                         " bytes (rbm_context_set_max_data_bytes)",
                         h->what, h->path, name, (uint64_t)d[0], (uint64_t)d[1], limit);
    a->n = (size_t)n;
    return RBM_OK;
}

static rbm_status check_values(rbm__h5 *h, const char *name, const rbm__h5_array *a)
{
    for (size_t i = 0; i < a->n; i++) {
        double x = a->mem == RBM__H5_F32 ? (double)((const float *)a->data)[i]
                   : a->mem == RBM__H5_F64 ? ((const double *)a->data)[i]
                                           : 0.0;
        if (!isfinite(x))
            return rbm__fail(h->ctx, RBM_ERR_NOT_FINITE,
                             "%s %s: dataset '%s' has a NaN or infinity at element %zu",
                             h->what, h->path, name, i);
    }
    return RBM_OK;
}

/* Open the dataset at name: RBM_ERR_BAD_FORMAT when missing or not a
 * dataset. */
static rbm_status open_dataset(rbm__h5 *h, hid_t loc, const char *name, hid_t *ds)
{
    *ds = H5I_INVALID_HID;
    if (!rbm__h5_exists(h, loc, name))
        return rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: no dataset '%s'", h->what, h->path,
                         name);
    *ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (*ds < 0)
        return rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: '%s' is not a dataset", h->what,
                         h->path, name);
    return RBM_OK;
}

rbm_status rbm__h5_read_numeric(rbm__h5 *h, hid_t loc, const char *name, unsigned max_rank,
                                rbm__h5_mem mem, rbm__h5_array *out)
{
    memset(out, 0, sizeof *out);
    hid_t ds;
    rbm_status st0 = open_dataset(h, loc, name, &ds);
    if (st0)
        return st0;
    rbm__h5_array a = {0};
    rbm_status st = check_type(h, ds, name, &mem, &a);
    if (!st)
        st = check_space(h, ds, name, max_rank, mem, &a);
    if (!st) {
        a.mem = mem;
        a.data = rbm__alloc(h->ctx, a.n ? a.n * mem_size(mem) : 1);
        if (!a.data)
            st = rbm__fail(h->ctx, RBM_ERR_NO_MEMORY, "%s %s: cannot allocate %zu bytes for '%s'",
                           h->what, h->path, a.n * mem_size(mem), name);
    }
    if (!st && a.n && H5Dread(ds, mem_type(mem), H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data) < 0)
        st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: cannot read dataset '%s'", h->what,
                       h->path, name);
    if (!st && a.file_float)
        st = check_values(h, name, &a);
    H5Dclose(ds);
    if (st) {
        rbm__free(h->ctx, a.data);
        return st;
    }
    *out = a;
    return RBM_OK;
}

rbm_status rbm__h5_read_scalar(rbm__h5 *h, hid_t loc, const char *name, double *out)
{
    rbm__h5_array a;
    rbm_status st = rbm__h5_read_numeric(h, loc, name, 1, RBM__H5_F64, &a);
    if (st)
        return st;
    if (a.n != 1)
        st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: '%s' has %zu elements, expected one",
                       h->what, h->path, name, a.n);
    else
        *out = ((const double *)a.data)[0];
    rbm__free(h->ctx, a.data);
    return st;
}

/* Read the string of ds (type ft) into buf. */
static rbm_status read_string_of(rbm__h5 *h, hid_t ds, hid_t ft, const char *name, char *buf,
                                 size_t cap)
{
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (mt < 0)
        return rbm__fail(h->ctx, RBM_ERR_NO_MEMORY, "%s %s: libhdf5 type", h->what, h->path);
    /* the memory type must have the file type's character set, or libhdf5
     * refuses the conversion (h5py writes UTF-8) */
    H5Tset_cset(mt, H5Tget_cset(ft));
    rbm_status st = RBM_OK;
    if (H5Tis_variable_str(ft) > 0) {
        char *s = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0 || !s)
            st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: cannot read string '%s'", h->what,
                           h->path, name);
        else if (strlen(s) >= cap)
            st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: string '%s' is longer than %zu",
                           h->what, h->path, name, cap - 1);
        else
            memcpy(buf, s, strlen(s) + 1);
        if (s)
            H5free_memory(s);
    } else {
        size_t sz = H5Tget_size(ft);
        char tmp[1024];
        if (sz == 0 || sz >= cap || sz >= sizeof tmp) {
            st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT,
                           "%s %s: string '%s' has %zu bytes, at most %zu expected", h->what,
                           h->path, name, sz, cap - 1);
        } else {
            H5Tset_size(mt, sz);
            if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0)
                st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: cannot read string '%s'",
                               h->what, h->path, name);
            else {
                tmp[sz] = '\0';
                memcpy(buf, tmp, strlen(tmp) + 1);
            }
        }
    }
    H5Tclose(mt);
    return st;
}

rbm_status rbm__h5_read_string(rbm__h5 *h, hid_t loc, const char *name, char *buf, size_t cap)
{
    hid_t ds;
    rbm_status st0 = open_dataset(h, loc, name, &ds);
    if (st0)
        return st0;
    hid_t ft = H5Dget_type(ds), sp = H5Dget_space(ds);
    hssize_t npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    rbm_status st;
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING)
        st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: '%s' is not a string", h->what,
                       h->path, name);
    else if (npts != 1)
        st = rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: '%s' is not a scalar string",
                       h->what, h->path, name);
    else
        st = read_string_of(h, ds, ft, name, buf, cap);
    if (ft >= 0)
        H5Tclose(ft);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

/* ---- writers ---- */

static void wfail(rbm__h5w *w, const char *name)
{
    if (w->st == RBM_OK)
        w->st = rbm__fail(w->h->ctx, RBM_ERR_IO, "%s %s: cannot write '%s' (libhdf5)",
                          w->h->what, w->h->path, name);
}

hid_t rbm__h5w_group(rbm__h5w *w, hid_t loc, const char *name)
{
    if (w->st)
        return H5I_INVALID_HID;
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        wfail(w, name);
    return g;
}

void rbm__h5w_close_group(rbm__h5w *w, hid_t g)
{
    if (g >= 0 && H5Gclose(g) < 0)
        wfail(w, "group");
}

/* Write n elements of memory type mt from p as a dataset of file type ft
 * and shape (rank 0..2). */
static void write_data(rbm__h5w *w, hid_t loc, const char *name, hid_t ft, hid_t mt, int rank,
                       const hsize_t *dims, const void *p)
{
    if (w->st)
        return;
    hid_t sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    hid_t ds = sp >= 0 ? H5Dcreate2(loc, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                       : H5I_INVALID_HID;
    if (ds < 0 || H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, p) < 0)
        wfail(w, name);
    if (ds >= 0)
        H5Dclose(ds);
    if (sp >= 0)
        H5Sclose(sp);
}

void rbm__h5w_reals(rbm__h5w *w, hid_t loc, const char *name, const double *x, size_t d0,
                    size_t d1, int f32)
{
    hsize_t dims[2] = {d0, d1};
    write_data(w, loc, name, f32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
               d1 ? 2 : 1, dims, x);
}

void rbm__h5w_i64(rbm__h5w *w, hid_t loc, const char *name, int64_t v)
{
    write_data(w, loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &v);
}

void rbm__h5w_f64(rbm__h5w *w, hid_t loc, const char *name, double v)
{
    write_data(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

void rbm__h5w_bool(rbm__h5w *w, hid_t loc, const char *name, int v)
{
    /* h5py's bool: an enum over int8 with FALSE = 0, TRUE = 1 */
    if (w->st)
        return;
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t f = 0, tr = 1, val = v ? 1 : 0;
    if (t < 0 || H5Tenum_insert(t, "FALSE", &f) < 0 || H5Tenum_insert(t, "TRUE", &tr) < 0)
        wfail(w, name);
    else
        write_data(w, loc, name, t, t, 0, NULL, &val);
    if (t >= 0)
        H5Tclose(t);
}

void rbm__h5w_string(rbm__h5w *w, hid_t loc, const char *name, const char *s)
{
    if (w->st)
        return;
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        wfail(w, name);
    else
        write_data(w, loc, name, t, t, 0, NULL, &s);
    if (t >= 0)
        H5Tclose(t);
}
#endif /* RBM_HAVE_HDF5 */
