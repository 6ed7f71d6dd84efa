/* librbm — datasets: memory, IDX (plain/gzip), CSV, NPY, synthetic clusters,
 * transforms, statistics and minibatch iteration. */
#include "core/bytes.h"
#include "core/internal.h"
#include "core/shuffle.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Largest single buffer a dataset may use (as rbm__xcalloc). */
#define DS_MAX_BYTES (SIZE_MAX >> 2)
/* First allocation when the data size cannot be checked against the file
 * (gzip, pipes): the buffer then doubles as data actually arrives. */
#define DS_GROW_START ((size_t)1 << 20)

struct rbm_batch_iter {
    rbm_context *ctx;
    const rbm_dataset *ds;
    size_t batch;
    size_t nbatches;
    size_t pos; /* rows of the current epoch already delivered */
    int shuffle;
    int drop_last;
    size_t *perm;
    struct rbm_rng rng;
};

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */
/* ------------------------------------------------------------------------ */

static size_t dtype_size(rbm_dtype t)
{
    switch (t) {
    case RBM_DTYPE_UINT8: return 1;
    case RBM_DTYPE_FLOAT32: return 4;
    case RBM_DTYPE_FLOAT64: return 8;
    }
    return 0;
}

uint32_t rbm__dataset_fingerprint(const rbm_dataset *ds)
{
    return rbm__crc32(0, ds->data, ds->rows * ds->cols * dtype_size(ds->dtype));
}

static const char *dtype_name(rbm_dtype t)
{
    switch (t) {
    case RBM_DTYPE_UINT8: return "uint8";
    case RBM_DTYPE_FLOAT32: return "float32";
    case RBM_DTYPE_FLOAT64: return "float64";
    }
    return "unknown";
}

static bool host_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap_bytes(void *p, size_t n, size_t width)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++, b += width)
        for (size_t k = 0; k < width / 2; k++) {
            uint8_t t = b[k];
            b[k] = b[width - 1 - k];
            b[width - 1 - k] = t;
        }
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void os_reason(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
}

/* Report the first NaN/Inf of a rows x cols float array. */
static rbm_status check_finite_data(rbm_context *ctx, const void *data, rbm_dtype dtype,
                                    size_t rows, size_t cols, const char *what)
{
    size_t n = rows * cols;
    size_t bad = n;
    double v = 0.0;
    if (dtype == RBM_DTYPE_FLOAT32) {
        const float *x = data;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i])) {
                bad = i;
                v = x[i];
                break;
            }
    } else if (dtype == RBM_DTYPE_FLOAT64) {
        const double *x = data;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i])) {
                bad = i;
                v = x[i];
                break;
            }
    }
    if (bad == n)
        return RBM_OK;
    return rbm__fail(ctx, RBM_ERR_NOT_FINITE, "%s: value at row %zu, column %zu is %s", what,
                     bad / cols, bad % cols, isnan(v) ? "NaN" : "infinite");
}

/* Wrap data into a new dataset. Takes ownership of `owned` (freed on
 * failure). */
static rbm_status ds_make(rbm_context *ctx, size_t rows, size_t cols, rbm_dtype dtype,
                          void *owned, const void *data, rbm_dataset **out)
{
    rbm_dataset *ds;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *ds, &ds, "dataset");
    if (st) {
        rbm__free(ctx, owned);
        return st;
    }
    ds->ctx = ctx;
    ds->rows = rows;
    ds->cols = cols;
    ds->dtype = dtype;
    ds->owned = owned;
    ds->data = owned ? owned : data;
    ds->img_h = 0;
    ds->img_w = 0;
    *out = ds;
    return RBM_OK;
}

/* rows x cols x elem bytes, or RBM_ERR_TOO_LARGE. */
static rbm_status data_bytes(rbm_context *ctx, size_t rows, size_t cols, size_t elem,
                             size_t *bytes, const char *what)
{
    size_t n;
    if (!rbm__mul_ok(rows, cols, &n) || !rbm__mul_ok(n, elem, bytes) || *bytes > DS_MAX_BYTES)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "%s: %zu rows x %zu columns x %zu bytes exceeds the size limit", what, rows,
                         cols, elem);
    return RBM_OK;
}

static void *ds_alloc(rbm_context *ctx, size_t bytes, const char *what, rbm_status *st)
{
    void *p = rbm__alloc(ctx, bytes);
    if (!p)
        *st = rbm__fail(ctx, RBM_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", what, bytes);
    else
        *st = RBM_OK;
    return p;
}

/* ------------------------------------------------------------------------ */
/* element access                                                            */
/* ------------------------------------------------------------------------ */

double rbm__dataset_at(const rbm_dataset *ds, size_t r, size_t c)
{
    size_t i = r * ds->cols + c;
    switch (ds->dtype) {
    case RBM_DTYPE_UINT8: return (double)((const uint8_t *)ds->data)[i];
    case RBM_DTYPE_FLOAT32: return (double)((const float *)ds->data)[i];
    case RBM_DTYPE_FLOAT64: return ((const double *)ds->data)[i];
    }
    return 0.0;
}

static void row_to_f64(const rbm_dataset *ds, size_t r, double *out)
{
    size_t D = ds->cols;
    size_t off = r * D;
    switch (ds->dtype) {
    case RBM_DTYPE_UINT8: {
        const uint8_t *x = (const uint8_t *)ds->data + off;
        for (size_t j = 0; j < D; j++)
            out[j] = (double)x[j];
        break;
    }
    case RBM_DTYPE_FLOAT32: {
        const float *x = (const float *)ds->data + off;
        for (size_t j = 0; j < D; j++)
            out[j] = (double)x[j];
        break;
    }
    case RBM_DTYPE_FLOAT64:
        memcpy(out, (const double *)ds->data + off, D * sizeof(double));
        break;
    }
}

static void row_to_f32(const rbm_dataset *ds, size_t r, float *out)
{
    size_t D = ds->cols;
    size_t off = r * D;
    switch (ds->dtype) {
    case RBM_DTYPE_UINT8: {
        const uint8_t *x = (const uint8_t *)ds->data + off;
        for (size_t j = 0; j < D; j++)
            out[j] = (float)x[j];
        break;
    }
    case RBM_DTYPE_FLOAT32:
        memcpy(out, (const float *)ds->data + off, D * sizeof(float));
        break;
    case RBM_DTYPE_FLOAT64: {
        const double *x = (const double *)ds->data + off;
        for (size_t j = 0; j < D; j++)
            out[j] = (float)x[j];
        break;
    }
    }
}

void rbm__dataset_fetch(const rbm_dataset *ds, const size_t *idx, size_t start, size_t n,
                        bool as_f32, void *out)
{
    size_t D = ds->cols;
    for (size_t i = 0; i < n; i++) {
        size_t r = idx ? idx[i] : start + i;
        if (as_f32)
            row_to_f32(ds, r, (float *)out + i * D);
        else
            row_to_f64(ds, r, (double *)out + i * D);
    }
}

/* ------------------------------------------------------------------------ */
/* from memory, free, queries                                                */
/* ------------------------------------------------------------------------ */

rbm_status rbm_dataset_from_memory(rbm_context *ctx, const void *data, rbm_dtype dtype,
                                   size_t rows, size_t cols, rbm_ownership ownership,
                                   rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_from_memory: out is NULL");
    if (!data)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_from_memory: data is NULL");
    if (rows == 0 || cols == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_from_memory: %zu rows x %zu columns; both must be > 0", rows,
                         cols);
    size_t elem = dtype_size(dtype);
    if (elem == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_from_memory: unknown dtype %d", (int)dtype);
    if (ownership != RBM_COPY && ownership != RBM_BORROW)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_from_memory: unknown ownership %d", (int)ownership);
    size_t bytes = 0;
    rbm_status st = data_bytes(ctx, rows, cols, elem, &bytes, "rbm_dataset_from_memory");
    if (st)
        return st;
    st = check_finite_data(ctx, data, dtype, rows, cols, "rbm_dataset_from_memory");
    if (st)
        return st;
    void *owned = NULL;
    if (ownership == RBM_COPY) {
        owned = ds_alloc(ctx, bytes, "rbm_dataset_from_memory", &st);
        if (!owned)
            return st;
        memcpy(owned, data, bytes);
    }
    return ds_make(ctx, rows, cols, dtype, owned, data, out);
}

void rbm_dataset_free(rbm_dataset *ds)
{
    if (!ds)
        return;
    rbm_context *ctx = ds->ctx;
    rbm__free(ctx, ds->owned);
    rbm__free(ctx, ds);
}

size_t rbm_dataset_rows(const rbm_dataset *ds)
{
    return ds ? ds->rows : 0;
}

size_t rbm_dataset_cols(const rbm_dataset *ds)
{
    return ds ? ds->cols : 0;
}

rbm_dtype rbm_dataset_dtype(const rbm_dataset *ds)
{
    return ds ? ds->dtype : (rbm_dtype)0;
}

void rbm_dataset_image_shape(const rbm_dataset *ds, size_t *height, size_t *width)
{
    if (height)
        *height = ds ? ds->img_h : 0;
    if (width)
        *width = ds ? ds->img_w : 0;
}

rbm_status rbm_dataset_set_image_shape(rbm_dataset *ds, size_t height, size_t width)
{
    if (!ds)
        return RBM_ERR_NULL;
    size_t n;
    if (!rbm__mul_ok(height, width, &n) || n != ds->cols)
        return rbm__fail(ds->ctx, RBM_ERR_SHAPE,
                         "image shape %zu x %zu does not match the dataset's %zu columns", height,
                         width, ds->cols);
    ds->img_h = height;
    ds->img_w = width;
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* IDX                                                                       */
/* ------------------------------------------------------------------------ */

/* Read up to len bytes. Returns Z_OK with *got < len only at the end of the
 * data (or a truncated gzip stream), or a zlib error code. */
static int gz_read_some(gzFile gz, uint8_t *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int n = gzread(gz, buf + *got, (unsigned)want);
        if (n < 0) {
            int err = Z_ERRNO;
            gzerror(gz, &err);
            return err == Z_OK ? Z_ERRNO : err;
        }
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return Z_OK;
}

static rbm_status gz_fail(rbm_context *ctx, gzFile gz, int zerr, int saved_errno, const char *path)
{
    char why[128];
    int dummy;
    const char *msg = gzerror(gz, &dummy);
    switch (zerr) {
    case Z_ERRNO:
        os_reason(saved_errno, why, sizeof why);
        return rbm__fail(ctx, RBM_ERR_IO, "idx file %s: read failed: %s", path, why);
    case Z_MEM_ERROR:
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "idx file %s: zlib is out of memory", path);
    default:
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "idx file %s: corrupt gzip data: %s", path,
                         msg && *msg ? msg : "unknown zlib error");
    }
}

typedef struct idx_type {
    uint8_t code;
    size_t size;
    const char *name;
} idx_type;

static const idx_type idx_types[] = {
    {0x08, 1, "unsigned byte"}, {0x09, 1, "signed byte"}, {0x0B, 2, "short"},
    {0x0C, 4, "int"},           {0x0D, 4, "float"},       {0x0E, 8, "double"},
};

/* Convert the raw big-endian IDX payload (n elements) to the dataset type. */
static rbm_status idx_convert(rbm_context *ctx, const char *path, uint8_t code, uint8_t *raw,
                              size_t n, size_t rows, size_t cols, void **data, rbm_dtype *dtype)
{
    rbm_status st;
    bool little = host_little_endian();
    switch (code) {
    case 0x08:
        *data = raw;
        *dtype = RBM_DTYPE_UINT8;
        return RBM_OK;
    case 0x0D:
        if (little)
            swap_bytes(raw, n, 4);
        *data = raw;
        *dtype = RBM_DTYPE_FLOAT32;
        break;
    case 0x0E:
        if (little)
            swap_bytes(raw, n, 8);
        *data = raw;
        *dtype = RBM_DTYPE_FLOAT64;
        break;
    default: {
        double *d = ds_alloc(ctx, n * sizeof(double), "idx file", &st);
        if (!d) {
            rbm__free(ctx, raw);
            return st;
        }
        for (size_t i = 0; i < n; i++) {
            if (code == 0x09) {
                d[i] = (double)(int8_t)raw[i];
            } else if (code == 0x0B) {
                const uint8_t *p = raw + 2 * i;
                d[i] = (double)(int16_t)(uint16_t)(((unsigned)p[0] << 8) | p[1]);
            } else {
                d[i] = (double)(int32_t)be32(raw + 4 * i);
            }
        }
        rbm__free(ctx, raw);
        *data = d;
        *dtype = RBM_DTYPE_FLOAT64;
        return RBM_OK;
    }
    }
    char what[64 + 256];
    snprintf(what, sizeof what, "idx file %s", path);
    st = check_finite_data(ctx, *data, *dtype, rows, cols, what);
    if (st) {
        rbm__free(ctx, raw);
        *data = NULL;
    }
    return st;
}

rbm_status rbm_dataset_load_idx(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out || !path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load_idx: %s is NULL",
                         !out ? "out" : "path");

    char why[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        os_reason(errno, why, sizeof why);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot open idx file %s: %s", path, why);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        os_reason(errno, why, sizeof why);
        close(fd);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot stat idx file %s: %s", path, why);
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot read idx file %s: it is a directory", path);
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "idx file %s: cannot set up the reader", path);
    }
    gzbuffer(gz, 1u << 17);

    rbm_status st = RBM_OK;
    uint8_t *raw = NULL;
    size_t got = 0;
    int zerr;

    uint8_t head[4];
    errno = 0;
    zerr = gz_read_some(gz, head, 4, &got);
    if (zerr != Z_OK) {
        st = gz_fail(ctx, gz, zerr, errno, path);
        goto done;
    }
    if (got < 4) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "idx file %s: truncated: %zu bytes, an idx header needs at least 4", path,
                       got);
        goto done;
    }
    if (head[0] != 0 || head[1] != 0) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "idx file %s: wrong magic: first bytes are 0x%02x 0x%02x, expected 0x00 0x00",
                       path, head[0], head[1]);
        goto done;
    }
    const idx_type *type = NULL;
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if (idx_types[i].code == head[2])
            type = &idx_types[i];
    if (!type) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "idx file %s: unknown element type code 0x%02x (expected 0x08, 0x09, 0x0b, "
                       "0x0c, 0x0d or 0x0e)",
                       path, head[2]);
        goto done;
    }
    size_t ndim = head[3];
    if (ndim == 0) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "idx file %s: header declares 0 dimensions (need at least 1)", path);
        goto done;
    }
    uint8_t dimbytes[4 * 255];
    errno = 0;
    zerr = gz_read_some(gz, dimbytes, 4 * ndim, &got);
    if (zerr != Z_OK) {
        st = gz_fail(ctx, gz, zerr, errno, path);
        goto done;
    }
    if (got < 4 * ndim) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "idx file %s: truncated header: %zu dimensions declared, file ends after %zu "
                       "of them",
                       path, ndim, got / 4);
        goto done;
    }
    size_t dims[255];
    for (size_t k = 0; k < ndim; k++) {
        dims[k] = (size_t)be32(dimbytes + 4 * k);
        if (dims[k] == 0) {
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                           "idx file %s: dimension %zu of %zu is 0 (empty data set)", path, k + 1,
                           ndim);
            goto done;
        }
    }
    size_t rows = dims[0], cols = 1;
    for (size_t k = 1; k < ndim; k++)
        if (!rbm__mul_ok(cols, dims[k], &cols)) {
            st = rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                           "idx file %s: the product of the dimensions overflows", path);
            goto done;
        }
    size_t total = 0, row_bytes, out_bytes = 0;
    st = data_bytes(ctx, rows, cols, type->size, &total, "idx file");
    if (!st)
        st = data_bytes(ctx, rows, cols, type->size == 1 || type->code == 0x0D || type->code == 0x0E
                                              ? type->size
                                              : sizeof(double),
                        &out_bytes, "idx file");
    if (st) {
        rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                  "idx file %s: header says %zu rows x %zu columns of %zu-byte %s, which exceeds "
                  "the size limit",
                  path, rows, cols, type->size, type->name);
        goto done;
    }
    row_bytes = cols * type->size;
    size_t header_bytes = 4 + 4 * ndim;

    bool direct = gzdirect(gz) != 0;
    size_t cap;
    if (direct && S_ISREG(sb.st_mode)) {
        /* plain file: the size is known, check it before allocating */
        size_t avail = (uintmax_t)sb.st_size > header_bytes
                           ? (size_t)((uintmax_t)sb.st_size - header_bytes)
                           : 0;
        if (avail < total) {
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                           "idx file %s: truncated: header says %zu rows of %zu bytes, file ends "
                           "after %zu rows",
                           path, rows, row_bytes, avail / row_bytes);
            goto done;
        }
        cap = total;
    } else {
        /* start from a small multiple of the compressed size (a hostile
         * header cannot make a small file allocate much), then grow */
        cap = DS_GROW_START;
        if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size < DS_MAX_BYTES / 4 &&
            4 * (size_t)sb.st_size > cap)
            cap = 4 * (size_t)sb.st_size;
        if (cap > total)
            cap = total;
    }
    raw = ds_alloc(ctx, cap, "idx file", &st);
    if (!raw)
        goto done;
    size_t have = 0;
    for (;;) {
        errno = 0;
        zerr = gz_read_some(gz, raw + have, cap - have, &got);
        have += got;
        if (zerr != Z_OK && zerr != Z_BUF_ERROR) { /* Z_BUF_ERROR: gzip stream cut short */
            st = gz_fail(ctx, gz, zerr, errno, path);
            goto done;
        }
        if (zerr == Z_BUF_ERROR || have < cap) {
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                           "idx file %s: truncated: header says %zu rows of %zu bytes, file ends "
                           "after %zu rows",
                           path, rows, row_bytes, have / row_bytes);
            goto done;
        }
        if (have == total)
            break;
        /* more data announced and the buffer is full: grow as it arrives */
        size_t ncap = cap > total / 2 ? total : 2 * cap;
        uint8_t *nraw = ds_alloc(ctx, ncap, "idx file", &st);
        if (!nraw)
            goto done;
        memcpy(nraw, raw, have);
        rbm__free(ctx, raw);
        raw = nraw;
        cap = ncap;
    }
    if (!direct) {
        /* read past the data so that zlib checks the gzip trailer (CRC) */
        uint8_t extra;
        int n = gzread(gz, &extra, 1);
        int e = Z_OK;
        gzerror(gz, &e);
        if (n < 0 || (n == 0 && e != Z_OK)) {
            if (e == Z_BUF_ERROR)
                st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                               "idx file %s: truncated gzip stream (the data is complete but the "
                               "gzip trailer is missing)",
                               path);
            else
                st = gz_fail(ctx, gz, e == Z_OK ? Z_ERRNO : e, errno, path);
            goto done;
        }
    }

    void *data = NULL;
    rbm_dtype dtype = RBM_DTYPE_UINT8;
    st = idx_convert(ctx, path, type->code, raw, rows * cols, rows, cols, &data, &dtype);
    raw = NULL; /* consumed (freed on error) */
    if (st)
        goto done;
    rbm_dataset *ds = NULL;
    st = ds_make(ctx, rows, cols, dtype, data, NULL, &ds);
    if (st)
        goto done;
    if (ndim == 3) {
        ds->img_h = dims[1];
        ds->img_w = dims[2];
    }
    *out = ds;

done:
    rbm__free(ctx, raw);
    gzclose(gz);
    return st;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */
/* ------------------------------------------------------------------------ */

typedef struct line_reader {
    rbm_context *ctx;
    FILE *f;
    const char *path;
    char *buf;
    size_t cap, len, pos;
    bool eof;
} line_reader;

/* Next line (without its '\n' and any '\r'), NUL-terminated in the reader's
 * buffer. Returns RBM_OK with *line set, RBM_DONE at the end, or an error. */
static rbm_status next_line(line_reader *lr, char **line, size_t *linelen)
{
    for (;;) {
        char *start = lr->buf + lr->pos;
        size_t avail = lr->len - lr->pos;
        char *nl = avail ? memchr(start, '\n', avail) : NULL;
        if (nl || (lr->eof && avail > 0)) {
            size_t n = nl ? (size_t)(nl - start) : avail;
            lr->pos += nl ? n + 1 : n;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            start[n] = '\0'; /* buf has one spare byte beyond len */
            *line = start;
            *linelen = n;
            return RBM_OK;
        }
        if (lr->eof)
            return RBM_DONE;
        /* move the partial line to the front, grow if full, read more */
        if (lr->pos > 0) {
            memmove(lr->buf, start, avail);
            lr->len = avail;
            lr->pos = 0;
        }
        if (lr->len + 1 >= lr->cap) {
            if (lr->cap > DS_MAX_BYTES / 2)
                return rbm__fail(lr->ctx, RBM_ERR_TOO_LARGE, "csv file %s: line too long",
                                 lr->path);
            size_t ncap = lr->cap * 2;
            rbm_status st;
            char *nb = ds_alloc(lr->ctx, ncap, "csv file", &st);
            if (!nb)
                return st;
            memcpy(nb, lr->buf, lr->len);
            rbm__free(lr->ctx, lr->buf);
            lr->buf = nb;
            lr->cap = ncap;
        }
        size_t n = fread(lr->buf + lr->len, 1, lr->cap - 1 - lr->len, lr->f);
        lr->len += n;
        if (n == 0) {
            if (ferror(lr->f)) {
                char why[128];
                os_reason(errno, why, sizeof why);
                return rbm__fail(lr->ctx, RBM_ERR_IO, "csv file %s: read failed: %s", lr->path,
                                 why);
            }
            lr->eof = true;
        }
    }
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parse one field [s, e) (e is writable, used as terminator). */
static bool parse_field(char *s, char *e, double *v)
{
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if (s == e)
        return false;
    char save = *e;
    *e = '\0';
    char *end;
    *v = strtod(s, &end);
    *e = save;
    return end == e;
}

/* Parse a line's fields into vals (at most maxf; *nf = number of fields).
 * Returns the 1-based index of the first bad field, or 0. */
static size_t parse_line(char *line, size_t len, double *vals, size_t maxf, size_t *nf,
                         char **bad_s, size_t *bad_len)
{
    size_t k = 0;
    char *p = line, *end = line + len;
    for (;;) {
        char *c = memchr(p, ',', (size_t)(end - p));
        char *fe = c ? c : end;
        double v;
        if (!parse_field(p, fe, &v)) {
            *bad_s = p;
            *bad_len = (size_t)(fe - p);
            *nf = k + 1;
            return k + 1;
        }
        if (k < maxf)
            vals[k] = v;
        k++;
        if (!c)
            break;
        p = c + 1;
    }
    *nf = k;
    return 0;
}

static size_t count_fields(const char *line, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += line[i] == ',';
    return n;
}

static bool line_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_blank(line[i]))
            return false;
    return true;
}

/* The common start of a file loader: argument checks (*out cleared), then
 * open path for reading as a stream, refusing directories. *sb receives the
 * file's status. `kind` names the format in messages ("csv", "npy"). */
static rbm_status open_data_file(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                                 const char *kind, FILE **out, struct stat *sb)
{
    if (dsout)
        *dsout = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!dsout || !path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load_%s: %s is NULL", kind,
                         !dsout ? "out" : "path");
    char why[128];
    FILE *f = fopen(path, "rb");
    if (!f) {
        os_reason(errno, why, sizeof why);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot open %s file %s: %s", kind, path, why);
    }
    if (fstat(fileno(f), sb) != 0) {
        os_reason(errno, why, sizeof why);
        fclose(f);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot stat %s file %s: %s", kind, path, why);
    }
    if (S_ISDIR(sb->st_mode)) {
        fclose(f);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot read %s file %s: it is a directory", kind, path);
    }
    *out = f;
    return RBM_OK;
}

rbm_status rbm_dataset_load_csv(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    FILE *f;
    struct stat sb;
    rbm_status st = open_data_file(ctx, path, out, "csv", &f, &sb);
    if (st)
        return st;

    line_reader lr = {ctx, f, path, NULL, 1u << 16, 0, 0, false};
    double *vals = NULL;
    size_t vcap = 0, nvals = 0, rows = 0, cols = 0, lineno = 0, cols_line = 0;
    bool first = true;
    /* numbers always use '.', whatever LC_NUMERIC the program has set */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old_loc = cloc ? uselocale(cloc) : (locale_t)0;
    lr.buf = ds_alloc(ctx, lr.cap, "csv file", &st);
    if (!lr.buf)
        goto done;

    for (;;) {
        char *line = NULL;
        size_t len = 0;
        st = next_line(&lr, &line, &len);
        if (st == RBM_DONE) {
            st = RBM_OK;
            break;
        }
        if (st)
            goto done;
        lineno++;
        if (line_blank(line, len))
            continue;
        size_t nf = count_fields(line, len);
        if (cols != 0 && nf != cols) {
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                           "csv file %s: line %zu has %zu fields, expected %zu (as on line %zu)",
                           path, lineno, nf, cols, cols_line);
            goto done;
        }
        /* room for nf more values */
        if (vcap - nvals < nf) {
            size_t need;
            if (__builtin_add_overflow(nvals, nf, &need) || need > DS_MAX_BYTES / sizeof(double)) {
                st = rbm__fail(ctx, RBM_ERR_TOO_LARGE, "csv file %s: too many values (line %zu)",
                               path, lineno);
                goto done;
            }
            size_t ncap = vcap ? vcap : 4096;
            while (ncap < need)
                ncap = ncap > DS_MAX_BYTES / sizeof(double) / 2 ? need : 2 * ncap;
            double *nv = ds_alloc(ctx, ncap * sizeof(double), "csv file", &st);
            if (!nv)
                goto done;
            if (nvals)
                memcpy(nv, vals, nvals * sizeof(double));
            rbm__free(ctx, vals);
            vals = nv;
            vcap = ncap;
        }
        char *bad_s = NULL;
        size_t bad_len = 0, got;
        size_t bad = parse_line(line, len, vals + nvals, nf, &got, &bad_s, &bad_len);
        if (bad) {
            if (first) { /* a header line */
                first = false;
                continue;
            }
            while (bad_len > 0 && is_blank(*bad_s)) {
                bad_s++;
                bad_len--;
            }
            while (bad_len > 0 && is_blank(bad_s[bad_len - 1]))
                bad_len--;
            if (bad_len == 0)
                st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "csv file %s: line %zu, field %zu is empty",
                               path, lineno, bad);
            else
                st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                               "csv file %s: line %zu, field %zu: \"%.*s\" is not a number", path,
                               lineno, bad, (int)(bad_len > 40 ? 40 : bad_len), bad_s);
            goto done;
        }
        first = false;
        for (size_t j = 0; j < nf; j++)
            if (!isfinite(vals[nvals + j])) {
                st = rbm__fail(ctx, RBM_ERR_NOT_FINITE,
                               "csv file %s: line %zu (row %zu), field %zu is %s", path, lineno,
                               rows, j + 1, isnan(vals[nvals + j]) ? "NaN" : "infinite");
                goto done;
            }
        if (cols == 0) {
            cols = nf;
            cols_line = lineno;
        }
        nvals += nf;
        rows++;
    }
    if (rows == 0) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "csv file %s: no data rows", path);
        goto done;
    }
    st = ds_make(ctx, rows, cols, RBM_DTYPE_FLOAT64, vals, NULL, out);
    vals = NULL;

done:
    if (cloc) {
        uselocale(old_loc);
        freelocale(cloc);
    }
    rbm__free(ctx, vals);
    rbm__free(ctx, lr.buf);
    fclose(f);
    return st;
}

/* ------------------------------------------------------------------------ */
/* NPY                                                                       */
/* ------------------------------------------------------------------------ */

typedef struct npy_header {
    char descr[16];
    bool have_descr, have_fortran, have_shape;
    bool fortran;
    size_t ndim;
    size_t shape[8];
} npy_header;

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Parse a quoted Python string into buf; returns the position after it. */
static const char *parse_pystr(const char *p, char *buf, size_t cap)
{
    char q = *p;
    if (q != '\'' && q != '"')
        return NULL;
    p++;
    size_t n = 0;
    while (*p && *p != q) {
        if (n + 1 >= cap)
            return NULL;
        buf[n++] = *p++;
    }
    if (*p != q)
        return NULL;
    buf[n] = '\0';
    return p + 1;
}

/* Returns NULL on success or a description of the problem. */
static const char *npy_parse_header(const char *h, npy_header *hd)
{
    memset(hd, 0, sizeof *hd);
    const char *p = skip_ws(h);
    if (*p != '{')
        return "header is not a dictionary";
    p = skip_ws(p + 1);
    while (*p != '}') {
        char key[32];
        p = parse_pystr(p, key, sizeof key);
        if (!p)
            return "expected a quoted key in the header dictionary";
        p = skip_ws(p);
        if (*p != ':')
            return "expected ':' after a key in the header dictionary";
        p = skip_ws(p + 1);
        if (strcmp(key, "descr") == 0) {
            p = parse_pystr(p, hd->descr, sizeof hd->descr);
            if (!p)
                return "'descr' is not a simple dtype string";
            hd->have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (strncmp(p, "True", 4) == 0) {
                hd->fortran = true;
                p += 4;
            } else if (strncmp(p, "False", 5) == 0) {
                hd->fortran = false;
                p += 5;
            } else {
                return "'fortran_order' is neither True nor False";
            }
            hd->have_fortran = true;
        } else if (strcmp(key, "shape") == 0) {
            if (*p != '(')
                return "'shape' is not a tuple";
            p = skip_ws(p + 1);
            while (*p != ')') {
                if (*p < '0' || *p > '9')
                    return "'shape' holds something other than non-negative integers";
                size_t v = 0;
                while (*p >= '0' && *p <= '9') {
                    if (!rbm__mul_ok(v, 10, &v) || __builtin_add_overflow(v, (size_t)(*p - '0'), &v))
                        return "a 'shape' entry overflows";
                    p++;
                }
                if (*p == 'L') /* Python 2 long suffix */
                    p++;
                if (hd->ndim < sizeof hd->shape / sizeof hd->shape[0])
                    hd->shape[hd->ndim] = v;
                hd->ndim++;
                p = skip_ws(p);
                if (*p == ',')
                    p = skip_ws(p + 1);
                else if (*p != ')')
                    return "'shape' tuple is malformed";
            }
            p++;
            hd->have_shape = true;
        } else {
            return "header has a key other than 'descr', 'fortran_order' and 'shape'";
        }
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != '}')
            return "header dictionary is malformed (expected ',' or '}')";
    }
    if (!hd->have_descr)
        return "header has no 'descr'";
    if (!hd->have_fortran)
        return "header has no 'fortran_order'";
    if (!hd->have_shape)
        return "header has no 'shape'";
    return NULL;
}

rbm_status rbm_dataset_load_npy(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    FILE *f;
    struct stat sb;
    rbm_status st = open_data_file(ctx, path, out, "npy", &f, &sb);
    if (st)
        return st;
    bool regular = S_ISREG(sb.st_mode);
    uintmax_t fsize = regular ? (uintmax_t)sb.st_size : UINTMAX_MAX;

    char why[128];
    char *hbuf = NULL;
    uint8_t *raw = NULL;
    uint8_t pre[12];
    size_t n = fread(pre, 1, 8, f);
    if (n < 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        if (ferror(f)) {
            os_reason(errno, why, sizeof why);
            st = rbm__fail(ctx, RBM_ERR_IO, "npy file %s: read failed: %s", path, why);
        } else {
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                           "npy file %s: not an NPY file (missing the \\x93NUMPY magic)", path);
        }
        goto done;
    }
    unsigned major = pre[6], minor = pre[7];
    size_t lenbytes = major == 1 ? 2 : (major == 2 || major == 3) ? 4 : 0;
    if (!lenbytes) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "npy file %s: format version %u.%u is not supported (1.0, 2.0, 3.0)", path,
                       major, minor);
        goto done;
    }
    if (fread(pre + 8, 1, lenbytes, f) != lenbytes) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: truncated in the preamble", path);
        goto done;
    }
    size_t hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    if (lenbytes == 4)
        hlen |= ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24);
    size_t data_off = 8 + lenbytes + hlen;
    if ((uintmax_t)data_off > fsize) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "npy file %s: truncated: header length %zu, file has only %ju bytes", path,
                       hlen, fsize);
        goto done;
    }
    if (hlen > ((size_t)1 << 24)) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: header length %zu is implausible",
                       path, hlen);
        goto done;
    }
    hbuf = ds_alloc(ctx, hlen + 1, "npy header", &st);
    if (!hbuf)
        goto done;
    if (fread(hbuf, 1, hlen, f) != hlen) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: truncated in the header", path);
        goto done;
    }
    hbuf[hlen] = '\0';
    if (strlen(hbuf) != hlen) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: header contains a NUL byte", path);
        goto done;
    }
    npy_header hd;
    const char *problem = npy_parse_header(hbuf, &hd);
    if (problem) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: %s", path, problem);
        goto done;
    }
    if (hd.fortran) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "npy file %s: fortran_order is True; only C-order arrays are supported "
                       "(save with np.ascontiguousarray)",
                       path);
        goto done;
    }
    if (hd.ndim != 1 && hd.ndim != 2) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "npy file %s: array has %zu dimensions; only 1-D and 2-D are supported",
                       path, hd.ndim);
        goto done;
    }
    size_t rows = hd.ndim == 1 ? 1 : hd.shape[0];
    size_t cols = hd.ndim == 1 ? hd.shape[0] : hd.shape[1];
    if (rows == 0 || cols == 0) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: array is empty (%zu x %zu)", path,
                       rows, cols);
        goto done;
    }
    /* dtype: byte order + kind + size */
    const char *d = hd.descr;
    rbm_dtype dtype;
    bool swap = false;
    if (strlen(d) == 3 && strchr("<>|=", d[0]) && strcmp(d + 1, "u1") == 0) {
        dtype = RBM_DTYPE_UINT8;
    } else if (strlen(d) == 3 && strchr("<>=", d[0]) && (strcmp(d + 1, "f4") == 0 ||
                                                        strcmp(d + 1, "f8") == 0)) {
        dtype = d[2] == '4' ? RBM_DTYPE_FLOAT32 : RBM_DTYPE_FLOAT64;
        swap = (d[0] == '<' && !host_little_endian()) || (d[0] == '>' && host_little_endian());
    } else {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "npy file %s: dtype '%s' is not supported (u1, f4 or f8, either byte order)",
                       path, d);
        goto done;
    }
    size_t elem = dtype_size(dtype), total = 0;
    st = data_bytes(ctx, rows, cols, elem, &total, "npy file");
    if (st) {
        rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                  "npy file %s: shape %zu x %zu of %s exceeds the size limit", path, rows, cols,
                  dtype_name(dtype));
        goto done;
    }
    if (fsize - (uintmax_t)data_off < (uintmax_t)total) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "npy file %s: truncated: header says %zu x %zu %s (%zu bytes of data), "
                       "file has %ju",
                       path, rows, cols, dtype_name(dtype), total, fsize - (uintmax_t)data_off);
        goto done;
    }
    /* regular file: size checked above; otherwise grow as data arrives */
    size_t cap = regular || total < DS_GROW_START ? total : DS_GROW_START;
    raw = ds_alloc(ctx, cap, "npy file", &st);
    if (!raw)
        goto done;
    n = 0;
    for (;;) {
        n += fread(raw + n, 1, cap - n, f);
        if (n < cap || cap == total)
            break;
        size_t ncap = cap > total / 2 ? total : 2 * cap;
        uint8_t *nraw = ds_alloc(ctx, ncap, "npy file", &st);
        if (!nraw)
            goto done;
        memcpy(nraw, raw, n);
        rbm__free(ctx, raw);
        raw = nraw;
        cap = ncap;
    }
    if (n != total) {
        if (ferror(f)) {
            os_reason(errno, why, sizeof why);
            st = rbm__fail(ctx, RBM_ERR_IO, "npy file %s: read failed: %s", path, why);
        } else {
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                           "npy file %s: truncated: header says %zu bytes of data, file has %zu",
                           path, total, n);
        }
        goto done;
    }
    if (swap)
        swap_bytes(raw, rows * cols, elem);
    char what[300];
    snprintf(what, sizeof what, "npy file %s", path);
    st = check_finite_data(ctx, raw, dtype, rows, cols, what);
    if (st)
        goto done;
    st = ds_make(ctx, rows, cols, dtype, raw, NULL, out);
    raw = NULL;

done:
    rbm__free(ctx, raw);
    rbm__free(ctx, hbuf);
    fclose(f);
    return st;
}

/* ------------------------------------------------------------------------ */
/* load by name                                                              */
/* ------------------------------------------------------------------------ */

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (m > n)
        return false;
    s += n - m;
    for (size_t i = 0; i < m; i++) {
        char a = s[i], b = suffix[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

static bool contains_ci(const char *s, const char *needle)
{
    size_t m = strlen(needle);
    for (; *s; s++) {
        size_t i = 0;
        for (; i < m; i++) {
            char a = s[i];
            if (!a)
                return false;
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (a != needle[i])
                break;
        }
        if (i == m)
            return true;
    }
    return false;
}

rbm_status rbm_dataset_load(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out || !path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load: %s is NULL", !out ? "out" : "path");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (contains_ci(base, ".idx") || ends_with_ci(base, "-ubyte") || ends_with_ci(base, "-ubyte.gz"))
        return rbm_dataset_load_idx(ctx, path, out);
    if (ends_with_ci(base, ".csv"))
        return rbm_dataset_load_csv(ctx, path, out);
    if (ends_with_ci(base, ".npy"))
        return rbm_dataset_load_npy(ctx, path, out);
    return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                     "cannot tell the format of %s from its name: expected *.idx*, *-ubyte, "
                     "*-ubyte.gz (IDX), *.csv (CSV) or *.npy (NPY)",
                     path);
}

/* ------------------------------------------------------------------------ */
/* synthetic clusters (docs/theory.md §7)                                        */
/* ------------------------------------------------------------------------ */

/* Orthonormalise the d columns of E (n x d, row-major) in place by modified
 * Gram-Schmidt (two passes); a column that becomes numerically dependent is
 * redrawn from rng. Returns false if that keeps failing. */
static bool orthonormalize(double *E, size_t n, size_t d, rbm_rng *rng)
{
    for (size_t j = 0; j < d; j++) {
        int attempt = 0;
        for (;;) {
            double norm0 = 0.0;
            for (size_t i = 0; i < n; i++)
                norm0 += E[i * d + j] * E[i * d + j];
            norm0 = sqrt(norm0);
            for (int pass = 0; pass < 2; pass++)
                for (size_t q = 0; q < j; q++) {
                    double dot = 0.0;
                    for (size_t i = 0; i < n; i++)
                        dot += E[i * d + q] * E[i * d + j];
                    for (size_t i = 0; i < n; i++)
                        E[i * d + j] -= dot * E[i * d + q];
                }
            double norm = 0.0;
            for (size_t i = 0; i < n; i++)
                norm += E[i * d + j] * E[i * d + j];
            norm = sqrt(norm);
            if (norm > 1e-8 * norm0 && norm > 1e-300) {
                for (size_t i = 0; i < n; i++)
                    E[i * d + j] /= norm;
                break;
            }
            if (++attempt > 100)
                return false;
            for (size_t i = 0; i < n; i++)
                E[i * d + j] = rbm__rng_normal(rng);
        }
    }
    return true;
}

rbm_status rbm_dataset_synthetic(rbm_context *ctx, size_t n_samples, size_t n_clusters,
                                 size_t intrinsic_dim, size_t n_dims, double noise,
                                 rbm_unit_kind kind, uint64_t seed, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_synthetic: out is NULL");
    size_t K = n_clusters ? n_clusters : 11;
    size_t d = intrinsic_dim ? intrinsic_dim : 5;
    size_t D = n_dims ? n_dims : 100;
    if (n_samples == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "rbm_dataset_synthetic: n_samples is 0");
    if (!isfinite(noise) || noise < 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_synthetic: noise %g must be finite and >= 0", noise);
    if (d > D)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_synthetic: intrinsic_dim %zu exceeds n_dims %zu", d, D);
    if (kind != RBM_UNIT_BERNOULLI && kind != RBM_UNIT_ISING && kind != RBM_UNIT_GAUSSIAN)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_synthetic: unknown unit kind %d", (int)kind);
    rbm_dtype dtype = kind == RBM_UNIT_GAUSSIAN ? RBM_DTYPE_FLOAT64 : RBM_DTYPE_FLOAT32;
    size_t bytes = 0, cbytes = 0, ebytes = 0;
    rbm_status st = data_bytes(ctx, n_samples, D, dtype_size(dtype), &bytes,
                               "rbm_dataset_synthetic");
    if (!st)
        st = data_bytes(ctx, K, d, sizeof(double), &cbytes, "rbm_dataset_synthetic: centres");
    if (!st)
        st = data_bytes(ctx, D, d, sizeof(double), &ebytes, "rbm_dataset_synthetic: embedding");
    if (st)
        return st;

    double *C = NULL, *E = NULL, *z = NULL;
    void *data = NULL;
    C = ds_alloc(ctx, cbytes, "rbm_dataset_synthetic", &st);
    if (C)
        E = ds_alloc(ctx, ebytes, "rbm_dataset_synthetic", &st);
    if (E)
        z = ds_alloc(ctx, d * sizeof(double), "rbm_dataset_synthetic", &st);
    if (z)
        data = ds_alloc(ctx, bytes, "rbm_dataset_synthetic", &st);
    if (!data)
        goto done;

    struct rbm_rng rng;
    rbm__rng_init(&rng, ctx, seed);
    for (size_t i = 0; i < K * d; i++)
        C[i] = rbm__rng_normal(&rng);
    for (size_t i = 0; i < D * d; i++)
        E[i] = rbm__rng_normal(&rng);
    if (!orthonormalize(E, D, d, &rng)) {
        st = rbm__fail(ctx, RBM_ERR_NUMERICAL,
                       "rbm_dataset_synthetic: could not build an orthonormal embedding");
        goto done;
    }
    for (size_t s = 0; s < n_samples; s++) {
        const double *c = C + rbm__rng_index(&rng, K) * d;
        for (size_t j = 0; j < d; j++)
            z[j] = c[j] + noise * rbm__rng_normal(&rng);
        for (size_t i = 0; i < D; i++) {
            const double *e = E + i * d;
            double x = 0.0;
            for (size_t j = 0; j < d; j++)
                x += e[j] * z[j];
            size_t at = s * D + i;
            if (kind == RBM_UNIT_GAUSSIAN)
                ((double *)data)[at] = x;
            else if (kind == RBM_UNIT_BERNOULLI)
                ((float *)data)[at] = x > 0.0 ? 1.0f : 0.0f;
            else
                ((float *)data)[at] = x >= 0.0 ? 1.0f : -1.0f;
        }
    }
    st = ds_make(ctx, n_samples, D, dtype, data, NULL, out);
    data = NULL;

done:
    rbm__free(ctx, data);
    rbm__free(ctx, z);
    rbm__free(ctx, E);
    rbm__free(ctx, C);
    return st;
}

/* ------------------------------------------------------------------------ */
/* transforms, slices, rows, statistics                                      */
/* ------------------------------------------------------------------------ */

static void data_range(const rbm_dataset *ds, double *mn, double *mx)
{
    size_t n = ds->rows * ds->cols;
    double lo = INFINITY, hi = -INFINITY;
    switch (ds->dtype) {
    case RBM_DTYPE_UINT8: {
        const uint8_t *x = ds->data;
        uint8_t l = 255, h = 0;
        for (size_t i = 0; i < n; i++) {
            if (x[i] < l)
                l = x[i];
            if (x[i] > h)
                h = x[i];
        }
        lo = l;
        hi = h;
        break;
    }
    case RBM_DTYPE_FLOAT32: {
        const float *x = ds->data;
        for (size_t i = 0; i < n; i++) {
            if (x[i] < lo)
                lo = x[i];
            if (x[i] > hi)
                hi = x[i];
        }
        break;
    }
    case RBM_DTYPE_FLOAT64: {
        const double *x = ds->data;
        for (size_t i = 0; i < n; i++) {
            if (x[i] < lo)
                lo = x[i];
            if (x[i] > hi)
                hi = x[i];
        }
        break;
    }
    }
    *mn = lo;
    *mx = hi;
}

rbm_status rbm_dataset_transform(const rbm_dataset *ds, rbm_transform transform, double threshold,
                                 rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_transform: out is NULL");
    bool binarize = transform == RBM_TRANSFORM_BINARIZE || transform == RBM_TRANSFORM_BINARIZE_ISING;
    if (!binarize && transform != RBM_TRANSFORM_SCALE01 && transform != RBM_TRANSFORM_TO_ISING)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_transform: unknown transform %d", (int)transform);
    if (binarize && !isfinite(threshold))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_transform: threshold %g is not finite", threshold);
    rbm_dtype odt = ds->dtype == RBM_DTYPE_FLOAT64 ? RBM_DTYPE_FLOAT64 : RBM_DTYPE_FLOAT32;
    size_t n = ds->rows * ds->cols;
    size_t bytes = 0;
    rbm_status st = data_bytes(ctx, ds->rows, ds->cols, dtype_size(odt), &bytes,
                               "rbm_dataset_transform");
    if (st)
        return st;
    void *data = ds_alloc(ctx, bytes, "rbm_dataset_transform", &st);
    if (!data)
        return st;
    /* SCALE01 works on halves so that hi - lo cannot overflow */
    double half_lo = 0.0, half_span = 0.0;
    if (transform == RBM_TRANSFORM_SCALE01 && ds->dtype != RBM_DTYPE_UINT8) {
        double lo, hi;
        data_range(ds, &lo, &hi);
        half_lo = 0.5 * lo;
        half_span = 0.5 * hi - 0.5 * lo;
    }
    for (size_t i = 0; i < n; i++) {
        double x = rbm__dataset_at(ds, i / ds->cols, i % ds->cols), y;
        switch (transform) {
        case RBM_TRANSFORM_BINARIZE: y = x > threshold ? 1.0 : 0.0; break;
        case RBM_TRANSFORM_SCALE01:
            if (ds->dtype == RBM_DTYPE_UINT8)
                y = x / 255.0;
            else
                y = half_span > 0.0 ? (0.5 * x - half_lo) / half_span : 0.0;
            break;
        case RBM_TRANSFORM_TO_ISING: y = 2.0 * x - 1.0; break;
        default: y = x > threshold ? 1.0 : -1.0; break;
        }
        if (odt == RBM_DTYPE_FLOAT64)
            ((double *)data)[i] = y;
        else
            ((float *)data)[i] = (float)y;
    }
    rbm_dataset *r = NULL;
    st = ds_make(ctx, ds->rows, ds->cols, odt, data, NULL, &r);
    if (st)
        return st;
    r->img_h = ds->img_h;
    r->img_w = ds->img_w;
    *out = r;
    return RBM_OK;
}

static rbm_status check_range(const rbm_dataset *ds, size_t start, size_t count, const char *fn)
{
    if (count == 0 || start >= ds->rows || count > ds->rows - start)
        return rbm__fail(ds->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: rows [%zu, %zu + %zu) are not a non-empty range within the %zu rows",
                         fn, start, start, count, ds->rows);
    return RBM_OK;
}

rbm_status rbm_dataset_slice(const rbm_dataset *ds, size_t start, size_t count, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_slice: out is NULL");
    rbm_status st = check_range(ds, start, count, "rbm_dataset_slice");
    if (st)
        return st;
    size_t elem = dtype_size(ds->dtype);
    size_t bytes = count * ds->cols * elem;
    void *data = ds_alloc(ctx, bytes, "rbm_dataset_slice", &st);
    if (!data)
        return st;
    memcpy(data, (const uint8_t *)ds->data + start * ds->cols * elem, bytes);
    rbm_dataset *r = NULL;
    st = ds_make(ctx, count, ds->cols, ds->dtype, data, NULL, &r);
    if (st)
        return st;
    r->img_h = ds->img_h;
    r->img_w = ds->img_w;
    *out = r;
    return RBM_OK;
}

rbm_status rbm_dataset_get_rows(const rbm_dataset *ds, size_t start, size_t count, double *out,
                                size_t out_len)
{
    if (!ds)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ds->ctx, RBM_ERR_NULL, "rbm_dataset_get_rows: out is NULL");
    rbm_status st = check_range(ds, start, count, "rbm_dataset_get_rows");
    if (st)
        return st;
    size_t need = count * ds->cols;
    if (out_len < need)
        return rbm__fail(ds->ctx, RBM_ERR_SHAPE,
                         "rbm_dataset_get_rows: out has %zu elements, %zu rows x %zu columns need "
                         "%zu",
                         out_len, count, ds->cols, need);
    rbm__dataset_fetch(ds, NULL, start, count, false, out);
    return RBM_OK;
}

rbm_status rbm_dataset_range(const rbm_dataset *ds, double *min, double *max)
{
    if (!ds)
        return RBM_ERR_NULL;
    double lo, hi;
    data_range(ds, &lo, &hi);
    if (min)
        *min = lo;
    if (max)
        *max = hi;
    return RBM_OK;
}

rbm_status rbm_dataset_mean(const rbm_dataset *ds, double *out, size_t len)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(ds->ctx, out, len, ds->cols, "rbm_dataset_mean: out");
    if (st)
        return st;
    size_t D = ds->cols;
    double *row;
    st = rbm__xcalloc(ds->ctx, D, sizeof(double), &row, "rbm_dataset_mean");
    if (st)
        return st;
    memset(out, 0, D * sizeof(double));
    for (size_t r = 0; r < ds->rows; r++) {
        row_to_f64(ds, r, row);
        for (size_t j = 0; j < D; j++)
            out[j] += row[j];
    }
    for (size_t j = 0; j < D; j++)
        out[j] /= (double)ds->rows;
    rbm__free(ds->ctx, row);
    return RBM_OK;
}

rbm_status rbm_dataset_covariance(const rbm_dataset *ds, double *out, size_t len)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    size_t D = ds->cols, DD;
    if (!rbm__mul_ok(D, D, &DD) || DD > DS_MAX_BYTES / sizeof(double))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "rbm_dataset_covariance: %zu x %zu matrix exceeds the size limit", D, D);
    if (D > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "rbm_dataset_covariance: %zu columns exceed the BLAS index range", D);
    rbm_status st = rbm__check_array(ctx, out, len, DD, "rbm_dataset_covariance: out");
    if (st)
        return st;
    /* two passes: the mean, then sum over row blocks of (x - mean)(x - mean)^T */
    size_t B = ((size_t)1 << 19) / D;
    if (B < 1)
        B = 1;
    if (B > ds->rows)
        B = ds->rows;
    if (B > (size_t)INT32_MAX)
        B = (size_t)INT32_MAX;
    double *mean = NULL, *blk = NULL;
    st = rbm__xcalloc(ctx, D, sizeof(double), &mean, "rbm_dataset_covariance");
    if (!st)
        st = rbm__xcalloc(ctx, B * D, sizeof(double), &blk, "rbm_dataset_covariance");
    if (st)
        goto done;
    st = rbm_dataset_mean(ds, mean, D);
    if (st)
        goto done;
    memset(out, 0, DD * sizeof(double));
    for (size_t r0 = 0; r0 < ds->rows; r0 += B) {
        size_t nb = ds->rows - r0 < B ? ds->rows - r0 : B;
        rbm__dataset_fetch(ds, NULL, r0, nb, false, blk);
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < D; j++)
                blk[i * D + j] -= mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)D, (int)nb, 1.0, blk, (int)D, 1.0,
                    out, (int)D);
    }
    double inv = 1.0 / (double)ds->rows;
    for (size_t i = 0; i < D; i++)
        for (size_t j = i; j < D; j++) {
            double v = out[i * D + j] * inv;
            out[i * D + j] = v;
            out[j * D + i] = v;
        }
done:
    rbm__free(ctx, blk);
    rbm__free(ctx, mean);
    return st;
}

/* ------------------------------------------------------------------------ */
/* batch iterator                                                            */
/* ------------------------------------------------------------------------ */

rbm_status rbm_batch_iter_new(const rbm_dataset *ds, size_t batch_size, int shuffle, int drop_last,
                              uint64_t seed, rbm_batch_iter **out)
{
    if (out)
        *out = NULL;
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_batch_iter_new: out is NULL");
    if (batch_size == 0 || batch_size > ds->rows)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_batch_iter_new: batch size %zu must be in [1, %zu] (the rows)",
                         batch_size, ds->rows);
    size_t tmp;
    if (!rbm__mul_ok(batch_size, ds->cols, &tmp))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "rbm_batch_iter_new: batch of %zu x %zu values overflows", batch_size,
                         ds->cols);
    rbm_batch_iter *it;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *it, &it, "batch iterator");
    if (st)
        return st;
    st = rbm__xcalloc(ctx, ds->rows, sizeof(size_t), &it->perm, "batch iterator");
    if (st) {
        rbm__free(ctx, it);
        return st;
    }
    for (size_t i = 0; i < ds->rows; i++)
        it->perm[i] = i;
    it->ctx = ctx;
    it->ds = ds;
    it->batch = batch_size;
    it->shuffle = shuffle != 0;
    it->drop_last = drop_last != 0;
    it->nbatches = drop_last ? ds->rows / batch_size
                             : ds->rows / batch_size + (ds->rows % batch_size != 0);
    it->pos = 0;
    rbm__rng_init(&it->rng, ctx, seed);
    *out = it;
    return RBM_OK;
}

rbm_status rbm_batch_iter_next(rbm_batch_iter *it, double *out, size_t out_len, size_t *rows)
{
    if (!it)
        return RBM_ERR_NULL;
    if (!out || !rows)
        return rbm__fail(it->ctx, RBM_ERR_NULL, "rbm_batch_iter_next: %s is NULL",
                         !out ? "out" : "rows");
    size_t M = it->ds->rows, D = it->ds->cols;
    if (out_len < it->batch * D)
        return rbm__fail(it->ctx, RBM_ERR_SHAPE,
                         "rbm_batch_iter_next: out has %zu elements, a batch of %zu x %zu needs %zu",
                         out_len, it->batch, D, it->batch * D);
    if (it->pos == 0 && it->shuffle) {
        /* a fresh permutation once per epoch, as rbm_trainer_step makes */
        rbm__shuffle(&it->rng, it->perm, M);
    }
    size_t n = M - it->pos < it->batch ? M - it->pos : it->batch;
    rbm__dataset_fetch(it->ds, it->perm + it->pos, 0, n, false, out);
    it->pos += n;
    *rows = n;
    size_t left = M - it->pos;
    if (left == 0 || (it->drop_last && left < it->batch)) {
        it->pos = 0;
        return RBM_DONE;
    }
    return RBM_OK;
}

size_t rbm_batch_iter_batches_per_epoch(const rbm_batch_iter *it)
{
    return it ? it->nbatches : 0;
}

void rbm_batch_iter_free(rbm_batch_iter *it)
{
    if (!it)
        return;
    rbm_context *ctx = it->ctx;
    rbm__free(ctx, it->perm);
    rbm__free(ctx, it);
}
