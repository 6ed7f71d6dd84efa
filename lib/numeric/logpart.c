/* librbm — vectorised sums of unit log-partitions.
 *
 * Exact enumeration, AIS, free energies and pseudo-likelihood spend their
 * time summing Lambda(x) = softplus(x) or log(2 cosh x) over long arrays.
 * libm's exp and log1p are scalar calls, so the loops below use their own
 * branch-free double-precision exp (numeric/vec4d.h) and log; the compiler
 * vectorises them, and target_clones adds an AVX2 version chosen at load
 * time. Lambda(x) = lin(x) + log(1 + e(x)) with e in (0, 1], so a sum of n
 * terms takes n exps but only one log per 512 terms and lane: the factors
 * 1 + e_i are multiplied (a product of 512 factors in (1, 2] cannot
 * overflow) and the log of the product is taken once. The error per term
 * stays below 1e-15 absolute: the rounding of 1 + e (<= 1.1e-16), the
 * relative rounding of the product (<= 2^-53 per factor) and of exp (2e-17)
 * (measured against long double: tests/unit/test_vecmath.c). */
#include "core/internal.h"

#include <math.h>
#include <stdint.h>

/* The polynomials are chains of multiply-adds: let the compiler fuse them
 * (FMA in the AVX2 clone, about 2x faster; the default clone has no FMA and
 * rounds each step, so the two clones may differ in the last bits of a
 * sum). c_std=c11 turns contraction off by default; only this file turns it
 * on, so the training kernels of vecmath.c keep their arithmetic. */
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include "numeric/vec4d.h"

/* 2 atanh(s) = log f for s = (f-1)/(f+1), f in [sqrt(1/2), sqrt(2)):
 * |s| < 0.172, by its series to s^23. */
static inline __attribute__((always_inline)) v4d vlog_reduced(v4d f)
{
    v4d s = (f - 1.0) / (f + 1.0), s2 = s * s;
    v4d p = vsplat(1.0 / 23);
    p = p * s2 + 1.0 / 21;
    p = p * s2 + 1.0 / 19;
    p = p * s2 + 1.0 / 17;
    p = p * s2 + 1.0 / 15;
    p = p * s2 + 1.0 / 13;
    p = p * s2 + 1.0 / 11;
    p = p * s2 + 1.0 / 9;
    p = p * s2 + 1.0 / 7;
    p = p * s2 + 1.0 / 5;
    p = p * s2 + 1.0 / 3;
    p = p * s2 + 1.0;
    return 2.0 * s * p;
}

/* log1p(y) for y in [0, 1]: z = 1 + y in [1, 2]; z = 2^e f with f in
 * [sqrt(1/2), sqrt(2)); the rounding of 1 + y is added back. */
static inline __attribute__((always_inline)) v4d vlog1p_unit(v4d y)
{
    v4d z = 1.0 + y;
    v4i big = z > 1.4142135623730951;
    v4d e = vselect(big, vsplat(1.0), vsplat(0.0));
    v4d f = z * (1.0 - 0.5 * e);
    /* (y - (z-1)) / z: the numerator is below 1.2e-16, so 1/z on [1, 2] is
     * replaced by the chord 1.5 - z/2 (relative error < 13%, absolute
     * error < 2e-17) to save a division */
    v4d corr = (y - (z - 1.0)) * (1.5 - 0.5 * z);
    return e * LN2_HI + (vlog_reduced(f) + (e * LN2_LO + corr));
}

/* log z for z a positive normal number: z = 2^e f, f in [sqrt(1/2), sqrt(2)). */
static inline __attribute__((always_inline)) v4d vlog_pos(v4d z)
{
    v4i bits = (v4i)z;
    v4i ex = (bits >> 52) - 1023;
    v4d f = (v4d)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL); /* [1,2) */
    v4i big = f > 1.4142135623730951;
    f = vselect(big, f * 0.5, f);
    v4d e = (v4d){(double)ex[0], (double)ex[1], (double)ex[2], (double)ex[3]};
    e = vselect(big, e + 1.0, e);
    return e * LN2_HI + (vlog_reduced(f) + e * LN2_LO);
}

/* Lambda(x) = lin(x) + log(1 + e(x)) for four fields: Bernoulli
 * lin = max(x, 0), e = exp(-|x|); Ising lin = |x|, e = exp(-2|x|). */
static inline __attribute__((always_inline)) void vlin_exp(int ising, v4d x, v4d *lin, v4d *e)
{
    v4d a = vselect(x < 0.0, -x, x);
    v4d t = vmax(ising ? -2.0 * a : -a, vsplat(-700.0));
    *lin = ising ? a : vmax(x, vsplat(0.0));
    *e = vexp_neg(t);
}

static inline __attribute__((always_inline)) v4d vlogpart(int ising, v4d x)
{
    v4d lin, e;
    vlin_exp(ising, x, &lin, &e);
    return lin + vlog1p_unit(e);
}

/* Sum of Lambda over n fields as  sum lin_i + log prod (1 + e_i),  e_i in
 * (0, 1]: the products of at most 512 factors in (1, 2] per lane cannot
 * overflow, and one log per lane per block replaces n log1p calls. */
#define PROD_BLOCK 512

/* sum Lambda(scale x_i); with col, first x_i += delta col_i (stored). */
static inline __attribute__((always_inline)) double sum_body(int ising, size_t n, double *x,
                                                             double scale, double delta,
                                                             const double *col)
{
    v4d acc = vsplat(0.0), lg = vsplat(0.0);
    size_t i = 0;
    while (i + 4 <= n) {
        v4d prod = vsplat(1.0);
        size_t end = n - i >= 4 * PROD_BLOCK ? i + 4 * PROD_BLOCK : n;
        for (; i + 4 <= end; i += 4) {
            v4d v = {x[i], x[i + 1], x[i + 2], x[i + 3]}, lin, e;
            if (col) {
                v4d c = {col[i], col[i + 1], col[i + 2], col[i + 3]};
                v += delta * c;
                x[i] = v[0];
                x[i + 1] = v[1];
                x[i + 2] = v[2];
                x[i + 3] = v[3];
            }
            vlin_exp(ising, v * scale, &lin, &e);
            acc += lin;
            prod *= 1.0 + e;
        }
        lg += vlog_pos(prod);
    }
    if (i < n) { /* tail: pad with fields whose contribution is removed */
        v4d v = vsplat(0.0);
        size_t rem = n - i;
        for (size_t k = 0; k < rem; k++) {
            if (col)
                x[i + k] += delta * col[i + k];
            v[k] = x[i + k] * scale;
        }
        v4d lp = vlogpart(ising, v);
        for (size_t k = 0; k < rem; k++)
            acc[k] += lp[k];
    }
    acc += lg;
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

RBM__CLONES
static double sum_discrete(int ising, size_t n, const double *x, double scale)
{
    return sum_body(ising, n, (double *)x, scale, 0.0, NULL); /* x is not written */
}

RBM__CLONES
static double sum_discrete_update(int ising, size_t n, double *x, double delta, const double *col)
{
    return sum_body(ising, n, x, 1.0, delta, col);
}

static double sum_gaussian(double sigma, size_t n, const double *x, double scale)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = scale * x[i];
        acc += v * v;
    }
    return 0.5 * sigma * sigma * acc +
           (double)n * 0.5 * (1.8378770664093454835606594728112 + 2.0 * log(sigma));
}

double rbm__logpart_sum(rbm_unit_kind k, double sigma, size_t n, const double *x, double scale)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return sum_discrete(0, n, x, scale);
    case RBM_UNIT_ISING: return sum_discrete(1, n, x, scale);
    case RBM_UNIT_GAUSSIAN: return sum_gaussian(sigma, n, x, scale);
    case RBM_UNIT_POTTS: break; /* rbm__potts_lse_sum */
    }
    return NAN;
}

double rbm__logpart_sum_update(rbm_unit_kind k, double sigma, size_t n, double *x, double delta,
                               const double *col)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return sum_discrete_update(0, n, x, delta, col);
    case RBM_UNIT_ISING: return sum_discrete_update(1, n, x, delta, col);
    case RBM_UNIT_GAUSSIAN:
        for (size_t i = 0; i < n; i++)
            x[i] += delta * col[i];
        return sum_gaussian(sigma, n, x, 1.0);
    case RBM_UNIT_POTTS: break;
    }
    return NAN;
}

/* ---- pseudo-likelihood: sums of log(alpha G + beta [Ginv]) for 4 rows ---- */

RBM__CLONES
void rbm__log_mix_sums4(int ising, size_t n, const double *const G[4],
                        const double *const Ginv[4], const double *const alpha[4],
                        const double *const beta[4], size_t chunk, double out[4])
{
    for (int r = 0; r < 4; r++) {
        const double *g = G[r], *gi = Ginv[r], *al = alpha[r], *be = beta[r];
        v4d lg = vsplat(0.0);
        size_t j = 0;
        while (j + 4 <= n) {
            v4d prod = vsplat(1.0);
            size_t end = (n - j) / 4 > chunk ? j + 4 * chunk : n;
            for (; j + 4 <= end; j += 4) {
                v4d gv = {g[j], g[j + 1], g[j + 2], g[j + 3]};
                v4d av = {al[j], al[j + 1], al[j + 2], al[j + 3]};
                v4d bv = {be[j], be[j + 1], be[j + 2], be[j + 3]};
                if (ising) {
                    v4d iv = {gi[j], gi[j + 1], gi[j + 2], gi[j + 3]};
                    prod *= av * gv + bv * iv;
                } else {
                    prod *= bv + av * gv;
                }
            }
            lg += vlog_pos(prod);
        }
        double s = (lg[0] + lg[1]) + (lg[2] + lg[3]);
        for (; j < n; j++)
            s += log(ising ? al[j] * g[j] + be[j] * gi[j] : be[j] + al[j] * g[j]);
        out[r] = s;
    }
}

/* ---- blocked enumeration (model/enumerate_block.c) ----
 * A log-partition sum over fields x + y, with x fixed for a group of states
 * and y one of a table, as a log of a product of positive factors
 * (Bernoulli: 1 + e^(x+y) = e^max(x,0) (beta + alpha e^y), alpha =
 * e^min(x,0), beta = e^-max(x,0)): no exp and no log per term. */

/* p = 2^e m with m in [1, 2) for a positive normal p: m returned, e added
 * to *ex (exact: a power-of-two rescaling). */
static inline __attribute__((always_inline)) v4d vsplit_exp(v4d p, v4d *ex)
{
    v4i bits = (v4i)p;
    v4i e = ((bits >> 52) & 0x7ff) - 1023;
    *ex += __builtin_convertvector(e, v4d);
    return (v4d)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);
}

/* log(2^ex p) for a positive normal p. */
static inline __attribute__((always_inline)) v4d vlog_scaled(v4d p, v4d ex)
{
    p = vsplit_exp(p, &ex);
    v4i big = p > 1.4142135623730951;
    p = vselect(big, p * 0.5, p);
    ex = vselect(big, ex + 1.0, ex);
    return ex * LN2_HI + (vlog_reduced(p) + ex * LN2_LO);
}

static inline __attribute__((always_inline)) v4d vload(const double *p)
{
    v4d v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

RBM__CLONES
double rbm__softplus_factors(size_t n, const double *x, double clamp, double *alpha, double *beta)
{
    v4d lin = vsplat(0.0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d v = vload(x + i);
        v4d pos = vmax(v, vsplat(0.0)), neg = v - pos; /* max(x, 0), min(x, 0) */
        lin += pos;
        v4d a = vexp_neg(vmax(neg, vsplat(-clamp))), b = vexp_neg(vmax(-pos, vsplat(-clamp)));
        __builtin_memcpy(alpha + i, &a, sizeof a);
        __builtin_memcpy(beta + i, &b, sizeof b);
    }
    double s = (lin[0] + lin[1]) + (lin[2] + lin[3]);
    for (; i < n; i++) {
        double pos = x[i] > 0 ? x[i] : 0.0, neg = x[i] - pos;
        s += pos;
        alpha[i] = exp(neg > -clamp ? neg : -clamp);
        beta[i] = exp(-pos > -clamp ? -pos : -clamp);
    }
    return s;
}

/* Four rows h0..h0+3 against one strip of 8 table columns. */
static inline __attribute__((always_inline)) void block_tile(int gaussian, size_t o,
                                                             const double *alpha,
                                                             const double *beta,
                                                             const double *t, size_t chunk,
                                                             double *out, size_t ldo)
{
    v4d p[4][2], ex[4][2];
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 2; k++) {
            p[r][k] = vsplat(gaussian ? 0.0 : 1.0);
            ex[r][k] = vsplat(0.0);
        }
    size_t q = 0;
    while (q < o) {
        size_t end = o - q > chunk ? q + chunk : o;
        for (; q < end; q++) {
            v4d t0 = vload(t + q * 8), t1 = vload(t + q * 8 + 4);
            for (int r = 0; r < 4; r++) {
                double a = alpha[r * o + q];
                if (gaussian) {
                    v4d z0 = t0 + a, z1 = t1 + a;
                    p[r][0] += z0 * z0;
                    p[r][1] += z1 * z1;
                } else {
                    double b = beta[r * o + q];
                    p[r][0] *= b + a * t0;
                    p[r][1] *= b + a * t1;
                }
            }
        }
        if (!gaussian)
            for (int r = 0; r < 4; r++)
                for (int k = 0; k < 2; k++)
                    p[r][k] = vsplit_exp(p[r][k], &ex[r][k]);
    }
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 2; k++) {
            v4d v = gaussian ? p[r][k] : vlog_scaled(p[r][k], ex[r][k]);
            __builtin_memcpy(out + r * ldo + 4 * k, &v, sizeof v);
        }
}

RBM__CLONES
void rbm__logpart_block(int gaussian, size_t o, size_t rows, const double *alpha,
                        const double *beta, size_t strips, const double *T, size_t chunk,
                        double *out)
{
    const size_t ldo = 8 * strips;
    for (size_t s = 0; s < strips; s++)
        for (size_t h = 0; h < rows; h += 4)
            block_tile(gaussian, o, alpha + h * o, beta + h * o, T + s * o * 8, chunk,
                       out + h * ldo + s * 8, ldo);
}

RBM__CLONES
double rbm__exp_sum_shifted(size_t n, const double *x, double M)
{
    v4d acc = vsplat(0.0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        acc += vexp_neg(vmax(vload(x + i) - M, vsplat(-700.0)));
    double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < n; i++)
        s += exp(x[i] - M);
    return s;
}
