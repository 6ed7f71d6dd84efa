/* librbm — weights: the sample weights of a dataset (set, read, their sum)
 * and the declaration that a uint8 dataset is categorical (q states, an
 * alphabet). Every data average of the library reads them through
 * rbm__dataset_weight / rbm__dataset_weight_sum. */
#include "data/dataset.h"
#include "data/dataset_impl.h"

#include <math.h>
#include <string.h>

rbm_status rbm__dataset_put_weights(rbm_dataset *ds, const double *w, const char *fn)
{
    rbm_context *ctx = ds->ctx;
    double sum = 0.0;
    for (size_t r = 0; r < ds->rows; r++) {
        if (!isfinite(w[r]) || w[r] < 0.0)
            return rbm__fail(ctx, isfinite(w[r]) ? RBM_ERR_INVALID_ARGUMENT : RBM_ERR_NOT_FINITE,
                             "%s: weight of row %zu is %g; weights must be finite and >= 0", fn, r,
                             w[r]);
        sum += w[r];
    }
    if (!(sum > 0.0) || !isfinite(sum))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: the %zu weights sum to %g; the sum must be finite and > 0", fn,
                         ds->rows, sum);
    double *copy;
    rbm_status st = rbm__xcalloc(ctx, ds->rows, sizeof(double), &copy, fn);
    if (st)
        return st;
    memcpy(copy, w, ds->rows * sizeof(double));
    rbm__free(ctx, ds->weights);
    ds->weights = copy;
    ds->weight_sum = sum;
    return RBM_OK;
}

rbm_status rbm_dataset_set_weights(rbm_dataset *ds, const double *w, size_t n)
{
    if (!ds)
        return RBM_ERR_NULL;
    if (!w) {
        if (n != 0)
            return rbm__fail(ds->ctx, RBM_ERR_NULL,
                             "rbm_dataset_set_weights: w is NULL with n = %zu (n = 0 removes the "
                             "weights)",
                             n);
        rbm__free(ds->ctx, ds->weights);
        ds->weights = NULL;
        ds->weight_sum = (double)ds->rows;
        return RBM_OK;
    }
    if (n != ds->rows)
        return rbm__fail(ds->ctx, RBM_ERR_SHAPE,
                         "rbm_dataset_set_weights: %zu weights for a dataset of %zu rows", n,
                         ds->rows);
    return rbm__dataset_put_weights(ds, w, "rbm_dataset_set_weights");
}

rbm_status rbm_dataset_get_weights(const rbm_dataset *ds, double *out, size_t len)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(ds->ctx, out, len, ds->rows, "rbm_dataset_get_weights: out");
    if (st)
        return st;
    for (size_t r = 0; r < ds->rows; r++)
        out[r] = rbm__dataset_weight(ds, r);
    return RBM_OK;
}

int rbm_dataset_has_weights(const rbm_dataset *ds)
{
    return ds && ds->weights ? 1 : 0;
}

double rbm_dataset_weight_sum(const rbm_dataset *ds)
{
    return ds ? ds->weight_sum : 0.0;
}

/* ------------------------------------------------------------------------ */
/* categorical datasets                                                      */
/* ------------------------------------------------------------------------ */

rbm_status rbm__alphabet_check(rbm_context *ctx, const char *fn, size_t n_states,
                               const char *alphabet)
{
    if (n_states < 2 || n_states > 255)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s: %zu states; q must be in [2, 255]", fn,
                         n_states);
    if (!alphabet)
        return RBM_OK;
    size_t len = strlen(alphabet);
    if (len != n_states)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: alphabet \"%.40s\" has %zu symbols for %zu states", fn, alphabet, len,
                         n_states);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)alphabet[i];
        if (c <= 0x20 || c >= 0x7f || memchr(alphabet, c, i))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "%s: alphabet symbol %zu (0x%02x) is %s", fn, i, c,
                             c <= 0x20 || c >= 0x7f ? "not a printable ASCII character"
                                                    : "repeated");
    }
    return RBM_OK;
}

rbm_status rbm_dataset_set_categories(rbm_dataset *ds, uint32_t n_states, const char *alphabet)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    const char *fn = "rbm_dataset_set_categories";
    if (ds->dtype != RBM_DTYPE_UINT8)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: the dataset holds %s; a categorical dataset holds uint8 state "
                         "indices",
                         fn, rbm__dtype_name(ds->dtype));
    rbm_status st = rbm__alphabet_check(ctx, fn, n_states, alphabet);
    if (st)
        return st;
    const uint8_t *v = ds->data;
    size_t n = ds->rows * ds->cols;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= n_states)
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "%s: value %u at row %zu, column %zu is not a state in [0, %u)", fn,
                             (unsigned)v[i], i / ds->cols, i % ds->cols, (unsigned)n_states);
    ds->n_states = n_states;
    memset(ds->alphabet, 0, sizeof ds->alphabet);
    if (alphabet)
        memcpy(ds->alphabet, alphabet, n_states);
    return RBM_OK;
}

uint32_t rbm_dataset_n_states(const rbm_dataset *ds)
{
    return ds ? ds->n_states : 0;
}

const char *rbm_dataset_alphabet(const rbm_dataset *ds)
{
    return ds && ds->alphabet[0] ? ds->alphabet : NULL;
}

rbm_status rbm__dataset_check_states(const rbm_dataset *ds, size_t q, rbm_context *ctx,
                                     const char *what)
{
    if (ds->n_states >= 2 && ds->n_states <= q) /* checked when declared */
        return RBM_OK;
    for (size_t r = 0; r < ds->rows; r++)
        for (size_t c = 0; c < ds->cols; c++) {
            double x = rbm__dataset_at(ds, r, c);
            if (!(x >= 0 && x < (double)q && x == floor(x)))
                return rbm__fail(ctx, RBM_ERR_OUT_OF_RANGE,
                                 "%s: dataset value %g at row %zu column %zu is not a Potts "
                                 "state in {0..%zu}",
                                 what, x, r, c, q - 1);
        }
    return RBM_OK;
}
