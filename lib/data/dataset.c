/* librbm — dataset: the M x D matrix of visible configurations, its life
 * cycle (from caller memory, free), queries and element reads.
 *
 * A dataset owns its elements (owned == data) or borrows the caller's buffer
 * (owned == NULL). Every constructor of lib/data ends in rbm__dataset_wrap. */
#include "core/bytes.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* element types and reads                                                   */
/* ------------------------------------------------------------------------ */

size_t rbm__dtype_size(rbm_dtype t)
{
    switch (t) {
    case RBM_DTYPE_UINT8: return 1;
    case RBM_DTYPE_FLOAT32: return 4;
    case RBM_DTYPE_FLOAT64: return 8;
    }
    return 0;
}

const char *rbm__dtype_name(rbm_dtype t)
{
    switch (t) {
    case RBM_DTYPE_UINT8: return "uint8";
    case RBM_DTYPE_FLOAT32: return "float32";
    case RBM_DTYPE_FLOAT64: return "float64";
    }
    return "unknown";
}

void rbm__elems_convert(const void *src, rbm_dtype dtype, size_t first, size_t n, bool as_f32,
                        void *out)
{
    if (dtype == (as_f32 ? RBM_DTYPE_FLOAT32 : RBM_DTYPE_FLOAT64)) {
        size_t w = rbm__dtype_size(dtype);
        memcpy(out, (const uint8_t *)src + first * w, n * w);
    } else if (as_f32) {
        float *o = out;
        for (size_t i = 0; i < n; i++)
            o[i] = (float)rbm__elem_value(src, dtype, first + i);
    } else {
        double *o = out;
        for (size_t i = 0; i < n; i++)
            o[i] = rbm__elem_value(src, dtype, first + i);
    }
}

double rbm__dataset_at(const rbm_dataset *ds, size_t r, size_t c)
{
    return rbm__elem_value(ds->data, ds->dtype, r * ds->cols + c);
}

void rbm__dataset_fetch(const rbm_dataset *ds, const size_t *idx, size_t start, size_t n,
                        bool as_f32, void *out)
{
    size_t D = ds->cols;
    if (!idx) {
        rbm__elems_convert(ds->data, ds->dtype, start * D, n * D, as_f32, out);
        return;
    }
    size_t row_bytes = D * (as_f32 ? sizeof(float) : sizeof(double));
    for (size_t i = 0; i < n; i++)
        rbm__elems_convert(ds->data, ds->dtype, idx[i] * D, D, as_f32,
                           (uint8_t *)out + i * row_bytes);
}

/* The CRC continued over the weights when the dataset has any, so a
 * checkpoint notices changed weights; an unweighted dataset keeps the
 * fingerprint it had before weights existed. */
static uint32_t crc_weights(const rbm_dataset *ds, uint32_t crc)
{
    return ds->weights ? rbm__crc32(crc, ds->weights, ds->rows * sizeof(double)) : crc;
}

uint32_t rbm__dataset_fingerprint(const rbm_dataset *ds)
{
    return crc_weights(ds, rbm__crc32(0, ds->data, ds->rows * ds->cols * rbm__dtype_size(ds->dtype)));
}

uint32_t rbm__dataset_fingerprint_as(const rbm_dataset *ds, rbm_dtype as)
{
    if (as == ds->dtype || (as != RBM_DTYPE_FLOAT32 && as != RBM_DTYPE_FLOAT64))
        return rbm__dataset_fingerprint(ds);
    double buf[1024]; /* 8 KiB: 1024 doubles or 2048 floats */
    const bool f32 = as == RBM_DTYPE_FLOAT32;
    const size_t chunk = f32 ? 2048 : 1024, n = ds->rows * ds->cols;
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i += chunk) {
        size_t c = n - i < chunk ? n - i : chunk;
        rbm__elems_convert(ds->data, ds->dtype, i, c, f32, buf);
        crc = rbm__crc32(crc, buf, c * (f32 ? sizeof(float) : sizeof(double)));
    }
    return crc_weights(ds, crc);
}

rbm_context *rbm__dataset_ctx(const rbm_dataset *ds)
{
    return ds->ctx;
}

size_t rbm__dataset_rows(const rbm_dataset *ds)
{
    return ds->rows;
}

size_t rbm__dataset_cols(const rbm_dataset *ds)
{
    return ds->cols;
}

rbm_dtype rbm__dataset_dtype(const rbm_dataset *ds)
{
    return ds->dtype;
}

double rbm__dataset_weight(const rbm_dataset *ds, size_t r)
{
    return ds->weights ? ds->weights[r] : 1.0;
}

double rbm__dataset_weight_sum(const rbm_dataset *ds)
{
    return ds->weight_sum;
}

const double *rbm__dataset_weights(const rbm_dataset *ds)
{
    return ds->weights;
}

uint32_t rbm__dataset_n_states(const rbm_dataset *ds)
{
    return ds->n_states;
}

/* ------------------------------------------------------------------------ */
/* checks and construction, shared by every constructor of lib/data          */
/* ------------------------------------------------------------------------ */

rbm_status rbm__dataset_size(rbm_context *ctx, size_t rows, size_t cols, size_t elem,
                             size_t *bytes, const char *what)
{
    size_t n;
    if (!rbm__mul_ok(rows, cols, &n) || !rbm__mul_ok(n, elem, bytes) ||
        *bytes > RBM__DS_MAX_BYTES)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "%s: %zu rows x %zu columns x %zu bytes exceeds the size limit", what, rows,
                         cols, elem);
    return RBM_OK;
}

void *rbm__data_alloc(rbm_context *ctx, size_t bytes, const char *what, rbm_status *st)
{
    void *p = rbm__alloc(ctx, bytes);
    if (!p)
        *st = rbm__fail(ctx, RBM_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", what, bytes);
    else
        *st = RBM_OK;
    return p;
}

rbm_status rbm__dataset_check_finite(rbm_context *ctx, const void *data, rbm_dtype dtype,
                                     size_t rows, size_t cols, const char *what)
{
    if (dtype != RBM_DTYPE_FLOAT32 && dtype != RBM_DTYPE_FLOAT64)
        return RBM_OK;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        double v = rbm__elem_value(data, dtype, i);
        if (!isfinite(v))
            return rbm__fail(ctx, RBM_ERR_NOT_FINITE, "%s: value at row %zu, column %zu is %s",
                             what, i / cols, i % cols, isnan(v) ? "NaN" : "infinite");
    }
    return RBM_OK;
}

rbm_status rbm__dataset_check_rows(const rbm_dataset *ds, size_t start, size_t count,
                                   const char *fn)
{
    if (count == 0 || start >= ds->rows || count > ds->rows - start)
        return rbm__fail(ds->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: rows [%zu, %zu + %zu) are not a non-empty range within the %zu rows",
                         fn, start, start, count, ds->rows);
    return RBM_OK;
}

rbm_status rbm__dataset_wrap(rbm_context *ctx, size_t rows, size_t cols, rbm_dtype dtype,
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
    ds->weight_sum = (double)rows;
    *out = ds;
    return RBM_OK;
}

rbm_status rbm__dataset_new_zeroed(rbm_context *ctx, size_t rows, size_t cols, rbm_dtype dtype,
                                   uint32_t n_states, void **data, rbm_dataset **out)
{
    size_t bytes = 0;
    rbm_status st = rbm__dataset_size(ctx, rows, cols, rbm__dtype_size(dtype), &bytes, "dataset");
    void *buf = NULL;
    if (st || (st = rbm__xcalloc(ctx, bytes ? bytes : 1, 1, &buf, "dataset")) ||
        (st = rbm__dataset_wrap(ctx, rows, cols, dtype, buf, NULL, out)))
        return st;
    (*out)->n_states = n_states;
    *data = buf;
    return RBM_OK;
}

rbm_status rbm__dataset_derive(const rbm_dataset *src, size_t first, size_t rows, rbm_dtype dtype,
                               void *owned, rbm_dataset **out)
{
    rbm_dataset *r = NULL;
    rbm_status st = rbm__dataset_wrap(src->ctx, rows, src->cols, dtype, owned, NULL, &r);
    if (st)
        return st;
    r->img_h = src->img_h;
    r->img_w = src->img_w;
    if (src->weights) {
        st = rbm__dataset_put_weights(r, src->weights + first, "dataset");
        if (st) {
            rbm_dataset_free(r);
            return st;
        }
    }
    *out = r;
    return RBM_OK;
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
    size_t elem = rbm__dtype_size(dtype);
    if (elem == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_from_memory: unknown dtype %d", (int)dtype);
    if (ownership != RBM_COPY && ownership != RBM_BORROW)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_from_memory: unknown ownership %d", (int)ownership);
    size_t bytes = 0;
    rbm_status st = rbm__dataset_size(ctx, rows, cols, elem, &bytes, "rbm_dataset_from_memory");
    if (st)
        return st;
    st = rbm__dataset_check_finite(ctx, data, dtype, rows, cols, "rbm_dataset_from_memory");
    if (st)
        return st;
    void *owned = NULL;
    if (ownership == RBM_COPY) {
        owned = rbm__data_alloc(ctx, bytes, "rbm_dataset_from_memory", &st);
        if (!owned)
            return st;
        memcpy(owned, data, bytes);
    }
    return rbm__dataset_wrap(ctx, rows, cols, dtype, owned, data, out);
}

void rbm_dataset_free(rbm_dataset *ds)
{
    if (!ds)
        return;
    rbm_context *ctx = ds->ctx;
    rbm__free(ctx, ds->owned);
    rbm__free(ctx, ds->weights);
    rbm__free(ctx, ds);
}

size_t rbm_dataset_rows(const rbm_dataset *ds)
{
    return ds ? ds->rows : 0;
}

rbm_context *rbm_dataset_context(const rbm_dataset *ds)
{
    return ds ? ds->ctx : NULL;
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

size_t rbm_dataset_header_rows(const rbm_dataset *ds)
{
    return ds ? ds->header_rows : 0;
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

rbm_status rbm_dataset_get_rows(const rbm_dataset *ds, size_t start, size_t count, double *out,
                                size_t out_len)
{
    if (!ds)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ds->ctx, RBM_ERR_NULL, "rbm_dataset_get_rows: out is NULL");
    rbm_status st = rbm__dataset_check_rows(ds, start, count, "rbm_dataset_get_rows");
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
