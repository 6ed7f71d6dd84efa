/* librbm — stats: the statistics of a dataset, computed in double: value
 * range, column means and the centred covariance (weighted averages when
 * the dataset carries sample weights). */
#include "data/dataset.h"
#include "data/dataset_impl.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

rbm_status rbm_dataset_range(const rbm_dataset *ds, double *min, double *max)
{
    if (!ds)
        return RBM_ERR_NULL;
    size_t n = ds->rows * ds->cols;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = rbm__elem_value(ds->data, ds->dtype, i);
        if (x < lo)
            lo = x;
        if (x > hi)
            hi = x;
    }
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
        rbm__dataset_fetch(ds, NULL, r, 1, false, row);
        double w = rbm__dataset_weight(ds, r);
        for (size_t j = 0; j < D; j++)
            out[j] += w * row[j];
    }
    for (size_t j = 0; j < D; j++)
        out[j] /= ds->weight_sum;
    rbm__free(ds->ctx, row);
    return RBM_OK;
}

rbm_status rbm_dataset_covariance(const rbm_dataset *ds, double *out, size_t len)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    size_t D = ds->cols, DD;
    if (!rbm__mul_ok(D, D, &DD) || DD > RBM__DS_MAX_BYTES / sizeof(double))
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
        for (size_t i = 0; i < nb; i++) {
            double sw = sqrt(rbm__dataset_weight(ds, r0 + i)); /* row i enters w_i x x^T */
            for (size_t j = 0; j < D; j++)
                blk[i * D + j] = sw * (blk[i * D + j] - mean[j]);
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)D, (int)nb, 1.0, blk, (int)D, 1.0,
                    out, (int)D);
    }
    double inv = 1.0 / ds->weight_sum;
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
