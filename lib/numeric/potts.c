/* librbm — the Potts unit law: log-sum-exp, softmax and draws over q states
 * (docs/potts.md; docs/theory.md §1.1 for the scalar kinds). */
#include "core/internal.h"

#include <math.h>
#include <string.h>

/* log sum_c exp(x_c) as max + log sum_c exp(x_c - max): every term of the
 * sum lies in (0, 1] and one is 1, so the sum lies in [1, q] and neither
 * overflows nor underflows to 0 for finite fields. */
double rbm__potts_lse(size_t q, const double *x)
{
    double mx = x[0];
    for (size_t c = 1; c < q; c++)
        mx = x[c] > mx ? x[c] : mx;
    double s = 0;
    for (size_t c = 0; c < q; c++)
        s += exp(x[c] - mx);
    return mx + log(s);
}

float rbm__potts_lsef(size_t q, const float *x)
{
    float mx = x[0];
    for (size_t c = 1; c < q; c++)
        mx = x[c] > mx ? x[c] : mx;
    float s = 0;
    for (size_t c = 0; c < q; c++)
        s += expf(x[c] - mx);
    return mx + logf(s);
}

double rbm__potts_lse_sum(size_t n_sites, size_t q, const double *x)
{
    double acc = 0;
    for (size_t i = 0; i < n_sites; i++)
        acc += rbm__potts_lse(q, x + i * q);
    return acc;
}

void rbm__potts_softmax(size_t q, const double *x, double *p)
{
    double mx = x[0];
    for (size_t c = 1; c < q; c++)
        mx = x[c] > mx ? x[c] : mx;
    double s = 0;
    for (size_t c = 0; c < q; c++)
        s += p[c] = exp(x[c] - mx);
    for (size_t c = 0; c < q; c++)
        p[c] /= s;
}

void rbm__potts_softmaxf(size_t q, const float *x, float *p)
{
    float mx = x[0];
    for (size_t c = 1; c < q; c++)
        mx = x[c] > mx ? x[c] : mx;
    float s = 0;
    for (size_t c = 0; c < q; c++)
        s += p[c] = expf(x[c] - mx);
    for (size_t c = 0; c < q; c++)
        p[c] /= s;
}

/* Inverse-CDF draw with one uniform u in [0, 1): the first state whose
 * cumulative weight exceeds u * total (the last state if rounding leaves
 * none). Weights exp(x_c - max) as in rbm__potts_lse. */
size_t rbm__potts_draw(size_t q, const double *x, double u)
{
    double mx = x[0];
    for (size_t c = 1; c < q; c++)
        mx = x[c] > mx ? x[c] : mx;
    double s = 0;
    for (size_t c = 0; c < q; c++)
        s += exp(x[c] - mx);
    double t = u * s, cum = 0;
    for (size_t c = 0; c + 1 < q; c++) {
        cum += exp(x[c] - mx);
        if (t < cum)
            return c;
    }
    return q - 1;
}

size_t rbm__potts_drawf(size_t q, const float *x, double u)
{
    float mx = x[0];
    for (size_t c = 1; c < q; c++)
        mx = x[c] > mx ? x[c] : mx;
    float s = 0;
    for (size_t c = 0; c < q; c++)
        s += expf(x[c] - mx);
    float t = (float)u * s, cum = 0;
    for (size_t c = 0; c + 1 < q; c++) {
        cum += expf(x[c] - mx);
        if (t < cum)
            return c;
    }
    return q - 1;
}

rbm_status rbm__potts_check_states(rbm_context *ctx, const double *x, size_t n, size_t q,
                                   const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!(x[i] >= 0 && x[i] < (double)q && x[i] == floor(x[i])))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "%s: element %zu is %g, not a Potts state in {0..%zu}", what, i, x[i],
                             q - 1);
    return RBM_OK;
}

void rbm__potts_one_hot_in_place(double *x, size_t n, size_t q)
{
    for (size_t i = n; i-- > 0;) {
        size_t c = (size_t)x[i];
        memset(x + i * q, 0, q * sizeof(double));
        x[i * q + c] = 1.0;
    }
}
