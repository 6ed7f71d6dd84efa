/* librbm — autocorr: integrated autocorrelation time with Sokal's
 * automatic window (docs/theory.md §11). */
#include "core/internal.h"
#include "numeric/autocorr.h"

#include <math.h>

/* Autocovariance at lag t, averaged over the series, of x centred by mean. */
static double autocov(const double *x, const double *mean, size_t T, size_t S, size_t t)
{
    double acc = 0;
    for (size_t s = t; s < T; s++) {
        const double *a = x + s * S, *b = x + (s - t) * S;
        for (size_t c = 0; c < S; c++)
            acc += (a[c] - mean[c]) * (b[c] - mean[c]);
    }
    return acc / ((double)(T - t) * (double)S);
}

bool rbm__tau_int(const double *x, size_t T, size_t S, double c, double *mean, double *tau,
                  size_t *window)
{
    for (size_t k = 0; k < S; k++)
        mean[k] = 0;
    for (size_t s = 0; s < T; s++)
        for (size_t k = 0; k < S; k++)
            mean[k] += x[s * S + k];
    for (size_t k = 0; k < S; k++)
        mean[k] /= (double)T;
    double c0 = autocov(x, mean, T, S, 0);
    if (!(c0 > 0)) { /* constant chains: independent draws of one value */
        *tau = 1;
        *window = 0;
        return true;
    }
    double t_m = 1;
    for (size_t M = 1; M < T; M++) {
        t_m += 2 * autocov(x, mean, T, S, M) / c0;
        if ((double)M >= c * fmax(t_m, 1.0)) {
            *tau = t_m;
            *window = M;
            return true;
        }
    }
    *tau = t_m;
    *window = T - 1;
    return false;
}

rbm_status rbm_autocorr_time(rbm_context *ctx, const double *x, size_t n_steps, size_t n_series,
                             double c, double *tau, double *ess, size_t *window)
{
    if (!ctx)
        return RBM_ERR_NULL;
    if (!x)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_autocorr_time: x is NULL");
    if (n_steps < 2 || n_series == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_autocorr_time: need >= 2 steps and >= 1 series (got %zu x %zu)",
                         n_steps, n_series);
    if (!(c > 0) || !isfinite(c))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_autocorr_time: window constant c = %g must be > 0 and finite", c);
    size_t total;
    if (!rbm__mul_ok(n_steps, n_series, &total))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "rbm_autocorr_time: %zu x %zu overflows",
                         n_steps, n_series);
    rbm_status st = rbm__check_finite(ctx, x, total, "series");
    if (st)
        return st;
    double *mean;
    if ((st = rbm__xcalloc(ctx, n_series, sizeof(double), &mean, "series means")))
        return st;
    double t;
    size_t M;
    bool ok = rbm__tau_int(x, n_steps, n_series, c, mean, &t, &M);
    rbm__free(ctx, mean);
    if (tau)
        *tau = t;
    if (ess)
        *ess = (double)total / t;
    if (window)
        *window = M;
    if (ok && !(t > 0))
        return rbm__fail(ctx, RBM_ERR_NOT_CONVERGED,
                         "rbm_autocorr_time: the windowed estimate tau = %g at M = %zu is not "
                         "positive: %zu steps of a periodic or strongly anticorrelated series "
                         "are too few",
                         t, M, n_steps);
    if (!ok)
        return rbm__fail(ctx, RBM_ERR_NOT_CONVERGED,
                         "rbm_autocorr_time: %zu steps are too few for the window rule "
                         "(tau >= %g at M = %zu)", n_steps, t, M);
    return RBM_OK;
}
