/* librbm — transform: new datasets derived from one, elementwise
 * (binarise, scale to [0,1], map to Ising values) or as a slice of rows.
 * The result keeps the source's image shape; the source is unchanged. */
#include "data/dataset.h"
#include "data/dataset_impl.h"

#include <math.h>
#include <string.h>

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
    /* The smallest type that holds the results exactly: 0/1 in uint8. */
    rbm_dtype odt = transform == RBM_TRANSFORM_BINARIZE ? RBM_DTYPE_UINT8
                    : ds->dtype == RBM_DTYPE_FLOAT64  ? RBM_DTYPE_FLOAT64
                                                      : RBM_DTYPE_FLOAT32;
    size_t n = ds->rows * ds->cols;
    size_t bytes = 0;
    rbm_status st = rbm__dataset_size(ctx, ds->rows, ds->cols, rbm__dtype_size(odt), &bytes,
                                      "rbm_dataset_transform");
    if (st)
        return st;
    void *data = rbm__data_alloc(ctx, bytes, "rbm_dataset_transform", &st);
    if (!data)
        return st;
    /* SCALE01 works on halves so that hi - lo cannot overflow */
    double half_lo = 0.0, half_span = 0.0;
    if (transform == RBM_TRANSFORM_SCALE01 && ds->dtype != RBM_DTYPE_UINT8) {
        double lo, hi;
        rbm_dataset_range(ds, &lo, &hi);
        half_lo = 0.5 * lo;
        half_span = 0.5 * hi - 0.5 * lo;
    }
    for (size_t i = 0; i < n; i++) {
        double x = rbm__elem_value(ds->data, ds->dtype, i), y;
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
        if (odt == RBM_DTYPE_UINT8)
            ((uint8_t *)data)[i] = (uint8_t)y;
        else if (odt == RBM_DTYPE_FLOAT64)
            ((double *)data)[i] = y;
        else
            ((float *)data)[i] = (float)y;
    }
    return rbm__dataset_derive(ds, 0, ds->rows, odt, data, out);
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
    rbm_status st = rbm__dataset_check_rows(ds, start, count, "rbm_dataset_slice");
    if (st)
        return st;
    size_t elem = rbm__dtype_size(ds->dtype);
    size_t bytes = count * ds->cols * elem;
    void *data = rbm__data_alloc(ctx, bytes, "rbm_dataset_slice", &st);
    if (!data)
        return st;
    memcpy(data, (const uint8_t *)ds->data + start * ds->cols * elem, bytes);
    st = rbm__dataset_derive(ds, start, count, ds->dtype, data, out);
    if (!st) { /* a slice of an alignment is an alignment */
        (*out)->n_states = ds->n_states;
        memcpy((*out)->alphabet, ds->alphabet, sizeof ds->alphabet);
    }
    return st;
}
