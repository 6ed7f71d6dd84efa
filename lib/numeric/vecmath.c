/* librbm — vectorised elementwise kernels of a training step: sigmoid
 * (float64 and float32), max |x|, the plain SGD update, and the one-hot
 * kernels of Potts layers (row adds, site draws). The exp is the
 * branch-free one of numeric/vec4d.h; target_clones adds an AVX2 version
 * chosen at load time. Floating-point contraction stays off here (c_std=c11)
 * so training arithmetic is the same in both clones. */
#include "core/internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "numeric/vec4d.h"

/* ---- elementwise sigmoid and max |x| for the training kernels ---- */

/* sigm(s x) = 1 / (1 + e^{-s x}), computed as e = exp(-|s x|),
 * p = 1/(1+e), and p or e p by the sign: no overflow for any finite x. */
RBM__CLONES
void rbm__sigmoid_d(size_t n, const double *x, double scale, double *out)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d v = {x[i], x[i + 1], x[i + 2], x[i + 3]};
        v = v * scale;
        v4d a = vselect(v < 0.0, -v, v);
        v4d e = vexp_neg(vmax(-a, vsplat(-700.0)));
        v4d p = 1.0 / (1.0 + e);
        v4d r = vselect(v < 0.0, e * p, p);
        out[i] = r[0];
        out[i + 1] = r[1];
        out[i + 2] = r[2];
        out[i + 3] = r[3];
    }
    for (; i < n; i++)
        out[i] = rbm__sigmoid(scale * x[i]);
}

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8f fsplat(float x)
{
    return (v8f){x, x, x, x, x, x, x, x};
}

static inline __attribute__((always_inline)) v8f fselect(v8i mask, v8f a, v8f b)
{
    return (v8f)(((v8i)a & mask) | ((v8i)b & ~mask));
}

/* expf(t) for t in [-87, 0]: 2^k exp(r), |r| <= ln2/2, Taylor to r^7
 * (relative error < 1e-8, below float rounding). */
static inline __attribute__((always_inline)) v8f vexpf_neg(v8f t)
{
    const v8f shifter = fsplat(0x1.8p23f);
    v8f kd = t * 1.44269504f + shifter;
    v8f kf = kd - shifter;
    v8f r = (t - kf * 0.693359375f) - kf * -2.12194440e-4f;
    v8f p = fsplat(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    v8i sc = ((v8i)kd + 127) << 23; /* low bits of kd hold k */
    return p * (v8f)sc;
}

RBM__CLONES
void rbm__sigmoid_f(size_t n, const float *x, float scale, float *out)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f v;
        for (int k = 0; k < 8; k++)
            v[k] = x[i + k];
        v = v * scale;
        v8i neg = v < 0.0f;
        v8f a = fselect(neg, -v, v);
        v8f t = -a;
        t = fselect(t < -87.0f, fsplat(-87.0f), t);
        v8f e = vexpf_neg(t);
        v8f p = 1.0f / (1.0f + e);
        v8f r = fselect(neg, e * p, p);
        for (int k = 0; k < 8; k++)
            out[i + k] = r[k];
    }
    for (; i < n; i++)
        out[i] = rbm__sigmoidf(scale * x[i]);
}

RBM__CLONES
double rbm__max_abs(size_t n, const double *x)
{
    v4d m = vsplat(0.0), z = vsplat(0.0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d v = {x[i], x[i + 1], x[i + 2], x[i + 3]};
        v4d a = vselect(v < 0.0, -v, v);
        m = vmax(a, m);
        z += v * 0.0; /* NaN or Inf anywhere makes z NaN */
    }
    double mx = 0.0, zz = (z[0] + z[1]) + (z[2] + z[3]);
    for (int k = 0; k < 4; k++)
        mx = m[k] > mx ? m[k] : mx;
    for (; i < n; i++) {
        double a = __builtin_fabs(x[i]);
        zz += x[i] * 0.0;
        mx = a > mx ? a : mx;
    }
    return zz == 0.0 ? mx : INFINITY;
}

/* theta[i] += lr (g[i] - l2 theta[i] - l1 sign(theta[i])): the plain SGD
 * update with weight decay, four at a time. */
RBM__CLONES
void rbm__sgd_update(size_t n, double *theta, const double *g, double lr, double l1, double l2)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d th = {theta[i], theta[i + 1], theta[i + 2], theta[i + 3]};
        v4d gv = {g[i], g[i + 1], g[i + 2], g[i + 3]};
        v4d sg = vselect(th > 0.0, vsplat(1.0), vsplat(0.0)) -
                 vselect(th < 0.0, vsplat(1.0), vsplat(0.0));
        v4d r = th + lr * (gv - l2 * th - l1 * sg);
        theta[i] = r[0];
        theta[i + 1] = r[1];
        theta[i + 2] = r[2];
        theta[i + 3] = r[3];
    }
    for (; i < n; i++) {
        double s = (double)((theta[i] > 0) - (theta[i] < 0));
        theta[i] += lr * (g[i] - l2 * theta[i] - l1 * s);
    }
}

/* ---- the one-hot kernels of Potts layers ---- */

/* y[i] += alpha x[i], eight or four at a time: per element the arithmetic
 * of the scalar loop (one product, one sum, no contraction), so results do
 * not depend on the vector width. */
RBM__CLONES
void rbm__axpy_f(size_t n, float alpha, const float *x, float *y)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f xv, yv;
        for (int k = 0; k < 8; k++) {
            xv[k] = x[i + k];
            yv[k] = y[i + k];
        }
        yv = yv + alpha * xv;
        for (int k = 0; k < 8; k++)
            y[i + k] = yv[k];
    }
    for (; i < n; i++)
        y[i] = y[i] + alpha * x[i];
}

RBM__CLONES
void rbm__axpy_d(size_t n, double alpha, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d xv = {x[i], x[i + 1], x[i + 2], x[i + 3]};
        v4d yv = {y[i], y[i + 1], y[i + 2], y[i + 3]};
        yv = yv + alpha * xv;
        y[i] = yv[0];
        y[i + 1] = yv[1];
        y[i + 2] = yv[2];
        y[i + 3] = yv[3];
    }
    for (; i < n; i++)
        y[i] = y[i] + alpha * x[i];
}

/* Inverse-CDF draws at n sites of q <= 255 states: site s takes the first
 * state whose cumulative weight exceeds u[s] times the total (the last one
 * if rounding leaves none), weights e_c = exp(x_c - max_c x_c) computed
 * once per state, eight (four) at a time with the exps above; t = x - max
 * is clamped at -87 (-700), where the weight is below 1e-37 (1e-304) of the
 * largest; the total is summed over the lanes. out may alias x: site s is
 * written after its fields are read, and s <= s q. */
/* exp(t) of t <= 0 clamped at -87 (float) or -700 (double). */
static inline __attribute__((always_inline)) v8f expf_clamped(v8f t)
{
    return vexpf_neg(fselect(t < -87.0f, fsplat(-87.0f), t));
}

static inline __attribute__((always_inline)) v4d exp_clamped(v4d t)
{
    return vexp_neg(vmax(t, vsplat(-700.0)));
}

/* The body of both draws: REAL fields, VEC vectors of W lanes, EXPV the
 * clamped exp, FLOOR its clamp (the padding lanes, zeroed after the exp). */
#define POTTS_DRAW_SITES(REAL, VEC, W, EXPV, FLOOR)                                           \
    REAL e[256 + W];                                                                           \
    for (size_t s = 0; s < n; s++) {                                                           \
        const REAL *f = x + s * q;                                                             \
        REAL mx = f[0];                                                                        \
        for (size_t c = 1; c < q; c++)                                                         \
            mx = f[c] > mx ? f[c] : mx;                                                        \
        memcpy(e, f, q * sizeof *e);                                                           \
        for (size_t c = q; c % W; c++)                                                         \
            e[c] = mx + FLOOR;                                                                 \
        VEC acc = {0};                                                                         \
        for (size_t c = 0; c < q; c += W) {                                                    \
            VEC t;                                                                             \
            memcpy(&t, e + c, sizeof t);                                                       \
            VEC r = EXPV(t - mx);                                                              \
            for (size_t k = c + W > q ? q - c : W; k < W; k++)                                 \
                r[k] = 0;                                                                      \
            memcpy(e + c, &r, sizeof r);                                                       \
            acc += r;                                                                          \
        }                                                                                      \
        REAL sum = 0;                                                                          \
        for (int k = 0; k < W; k++)                                                            \
            sum += acc[k];                                                                     \
        REAL t = (REAL)u[s] * sum, cum = 0;                                                    \
        size_t c = 0;                                                                          \
        for (; c + 1 < q; c++) {                                                               \
            cum += e[c];                                                                       \
            if (t < cum)                                                                       \
                break;                                                                         \
        }                                                                                      \
        out[s] = (REAL)c;                                                                      \
    }

RBM__CLONES
void rbm__potts_draw_sites_f(size_t n, size_t q, const float *x, const double *u, float *out)
{
    POTTS_DRAW_SITES(float, v8f, 8, expf_clamped, -87.0f)
}

RBM__CLONES
void rbm__potts_draw_sites_d(size_t n, size_t q, const double *x, const double *u, double *out)
{
    POTTS_DRAW_SITES(double, v4d, 4, exp_clamped, -700.0)
}
