/* librbm — precision-generic kernels. Included by kernels_f32.c and
 * kernels_f64.c with REAL, SUFFIX, GEMM, MW/MA/MB (machine parameter arrays
 * in that precision) and the scalar helpers defined. */
#include "core/internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define K(name) CAT(name, SUFFIX)

static void K(hidden_field)(const rbm__machine_view *m, size_t B, const void *Xv, void *Hv)
{
    const REAL *X = Xv;
    REAL *H = Hv;
    const REAL *b = MB(m);
    for (size_t r = 0; r < B; r++)
        memcpy(H + r * m->nh, b, m->nh * sizeof(REAL));
    if (m->vk == RBM_UNIT_POTTS) { /* one-hot input: a gather-sum of N rows of W */
        const REAL *W = MW(m);
        for (size_t r = 0; r < B; r++) {
            REAL *h = H + r * m->nh;
            const REAL *x = X + r * m->nv;
            for (size_t i = 0; i < m->nv; i++)
                AXPY(m->nh, (REAL)1, W + (i * m->nq + (size_t)x[i]) * m->nh, h);
        }
        return;
    }
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)m->nh, (int)m->nv, (REAL)1, X,
         (int)m->nv, MW(m), (int)m->nh, (REAL)1, H, (int)m->nh);
}

static void K(visible_field)(const rbm__machine_view *m, size_t B, const void *Yv, void *Fv)
{
    const REAL *Y = Yv;
    REAL *F = Fv;
    const REAL *a = MA(m);
    for (size_t r = 0; r < B; r++)
        memcpy(F + r * m->nvw, a, m->nvw * sizeof(REAL));
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)m->nvw, (int)m->nh, (REAL)1, Y,
         (int)m->nh, MW(m), (int)m->nh, (REAL)1, F, (int)m->nvw);
}

static void K(mean)(rbm_unit_kind k, double sigma, size_t n, const void *fv, void *ov)
{
    const REAL *f = fv;
    REAL *o = ov;
    switch (k) {
    case RBM_UNIT_BERNOULLI:
        SIGMOID_ARRAY(n, f, (REAL)1, o);
        break;
    case RBM_UNIT_ISING: /* tanh x = 2 sigm(2x) - 1 */
        SIGMOID_ARRAY(n, f, (REAL)2, o);
        for (size_t i = 0; i < n; i++)
            o[i] = (REAL)2 * o[i] - (REAL)1;
        break;
    case RBM_UNIT_GAUSSIAN: {
        REAL s2 = (REAL)(sigma * sigma);
        for (size_t i = 0; i < n; i++)
            o[i] = s2 * f[i];
        break;
    }
    case RBM_UNIT_POTTS: break; /* q fields per unit: visible_mean */
    }
}

static void K(sample)(rbm_unit_kind k, double sigma, size_t n, const void *fv, void *ov,
                      rbm_rng *rng)
{
    const REAL *f = fv;
    REAL *o = ov;
    switch (k) {
    case RBM_UNIT_BERNOULLI: /* probabilities first (vectorised), then the draws */
        SIGMOID_ARRAY(n, f, (REAL)1, o);
        for (size_t i = 0; i < n; i++)
            o[i] = (REAL)rbm__rng_uniform(rng) < o[i] ? (REAL)1 : (REAL)0;
        break;
    case RBM_UNIT_ISING: /* P(+1) = sigm(2x) */
        SIGMOID_ARRAY(n, f, (REAL)2, o);
        for (size_t i = 0; i < n; i++)
            o[i] = (REAL)rbm__rng_uniform(rng) < o[i] ? (REAL)1 : (REAL)-1;
        break;
    case RBM_UNIT_GAUSSIAN: {
        double s2 = sigma * sigma;
        for (size_t i = 0; i < n; i++)
            o[i] = (REAL)(s2 * (double)f[i] + sigma * rbm__rng_normal(rng));
        break;
    }
    case RBM_UNIT_POTTS: break; /* q fields per unit: visible_sample */
    }
}

static void K(outer)(size_t B, size_t nv, size_t nh, double alpha, const void *Xv, const void *Yv,
                     double beta, void *Gv)
{
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)nh, (int)B, (REAL)alpha,
         (const REAL *)Xv, (int)nv, (const REAL *)Yv, (int)nh, (REAL)beta, (REAL *)Gv, (int)nh);
}

static void K(colsum)(size_t B, size_t n, double alpha, const void *Xv, double beta, double *out)
{
    const REAL *X = Xv;
    for (size_t j = 0; j < n; j++)
        out[j] = beta == 0.0 ? 0.0 : out[j] * beta; /* beta 0 ignores out (NaN too), as BLAS */
    for (size_t r = 0; r < B; r++) {
        const REAL *row = X + r * n;
        for (size_t j = 0; j < n; j++)
            out[j] += alpha * (double)row[j];
    }
}

/* ---- the visible layer of any kind: B rows of fields (B x nvw) ---- */

/* Means: B x nv for a scalar kind; for Potts the B x nvw probabilities
 * p(v_i = c) (softmax per site). out may alias field. */
static void K(visible_mean)(const rbm__machine_view *m, size_t B, const void *fv, void *ov)
{
    if (m->vk != RBM_UNIT_POTTS) {
        K(mean)(m->vk, m->sigma_v, B * m->nv, fv, ov);
        return;
    }
    const REAL *f = fv;
    REAL *o = ov;
    for (size_t s = 0; s < B * m->nv; s++)
        POTTS_SOFTMAX(m->nq, f + s * m->nq, o + s * m->nq);
}

/* Samples: B x nv values (Potts: state indices, one uniform per site in
 * site order, drawn for blocks of up to 256 sites at a time). out may alias
 * field: site s is written after its q fields are read, and s <= s * q. */
static void K(visible_sample)(const rbm__machine_view *m, size_t B, const void *fv, void *ov,
                              rbm_rng *rng)
{
    if (m->vk != RBM_UNIT_POTTS) {
        K(sample)(m->vk, m->sigma_v, B * m->nv, fv, ov, rng);
        return;
    }
    const REAL *f = fv;
    REAL *o = ov;
    double u[256];
    for (size_t s = 0, n = B * m->nv; s < n; s += 256) {
        size_t k = n - s < 256 ? n - s : 256;
        for (size_t t = 0; t < k; t++)
            u[t] = rbm__rng_uniform(rng);
        POTTS_DRAW_SITES(k, m->nq, f + s * m->nq, u, o + s);
    }
}

/* G (nvw x nh) = alpha * onehot(X)^T Y + beta * G for B visible rows X
 * (B x nv) and Y (B x nh): a scatter-add of alpha Y_r into the rows
 * i*q + x_ri for Potts; the GEMM of outer otherwise. */
static void K(visible_outer)(const rbm__machine_view *m, size_t B, double alpha, const void *Xv,
                             const void *Yv, double beta, void *Gv)
{
    if (m->vk != RBM_UNIT_POTTS) {
        K(outer)(B, m->nv, m->nh, alpha, Xv, Yv, beta, Gv);
        return;
    }
    const REAL *X = Xv, *Y = Yv;
    REAL *G = Gv;
    size_t n = m->nvw * m->nh;
    for (size_t k = 0; k < n; k++)
        G[k] = beta == 0.0 ? (REAL)0 : (REAL)(beta * (double)G[k]); /* as BLAS */
    for (size_t r = 0; r < B; r++) {
        const REAL *y = Y + r * m->nh;
        for (size_t i = 0; i < m->nv; i++)
            AXPY(m->nh, (REAL)alpha, y, G + (i * m->nq + (size_t)X[r * m->nv + i]) * m->nh);
    }
}

/* out (nvw doubles) = alpha * column sums of onehot(X) + beta * out. */
static void K(visible_colsum)(const rbm__machine_view *m, size_t B, double alpha, const void *Xv,
                              double beta, double *out)
{
    if (m->vk != RBM_UNIT_POTTS) {
        K(colsum)(B, m->nv, alpha, Xv, beta, out);
        return;
    }
    const REAL *X = Xv;
    for (size_t k = 0; k < m->nvw; k++)
        out[k] = beta == 0.0 ? 0.0 : out[k] * beta;
    for (size_t r = 0; r < B; r++)
        for (size_t i = 0; i < m->nv; i++)
            out[i * m->nq + (size_t)X[r * m->nv + i]] += alpha;
}

static void K(from_f64)(size_t n, const double *src, void *dst)
{
    REAL *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = (REAL)src[i];
}

static void K(to_f64)(size_t n, const void *src, double *dst)
{
    const REAL *s = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = (double)s[i];
}

static double K(msd)(size_t n, const void *xv, const void *yv)
{
    const REAL *x = xv, *y = yv;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)y[i];
        acc += d * d;
    }
    return n ? acc / (double)n : 0.0;
}

static bool K(all_finite)(size_t n, const void *xv)
{
    const REAL *x = xv;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

const rbm__kern K(rbm__kern) = {
    .elem = sizeof(REAL),
    .hidden_field = K(hidden_field),
    .visible_field = K(visible_field),
    .mean = K(mean),
    .sample = K(sample),
    .outer = K(outer),
    .colsum = K(colsum),
    .visible_mean = K(visible_mean),
    .visible_sample = K(visible_sample),
    .visible_outer = K(visible_outer),
    .visible_colsum = K(visible_colsum),
    .from_f64 = K(from_f64),
    .to_f64 = K(to_f64),
    .msd = K(msd),
    .all_finite = K(all_finite),
};
