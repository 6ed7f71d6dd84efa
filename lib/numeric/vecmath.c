/* librbm — vectorisable sums of unit log-partitions.
 *
 * Exact enumeration, AIS and pseudo-likelihood spend their time summing
 * Lambda(x) = softplus(x) or log(2 cosh x) over long arrays. libm's exp and
 * log1p are scalar calls, so the loops below use their own branch-free
 * double-precision exp (on [-700, 0]) and log (on [1, 2]); the compiler
 * vectorises them, and target_clones adds an AVX2 version chosen at load
 * time. Absolute error per term is below 1e-15 (measured against libm over
 * |x| in [1e-8, 3e3]). */
#include "core/internal.h"

#include <math.h>
#include <stdint.h>

/* Not under ThreadSanitizer: the ifunc resolvers of target_clones run while
 * the library is relocated, before the TSan runtime is initialised, and
 * crash the program at load. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define RBM__CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RBM__CLONES
#endif

/* Four doubles at a time with GCC vector extensions: the AVX2 clone maps
 * them to ymm registers, the default one to pairs of SSE2 registers. */
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));

static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e+00;

static inline __attribute__((always_inline)) v4d vsplat(double x)
{
    return (v4d){x, x, x, x};
}

static inline __attribute__((always_inline)) v4d vselect(v4i mask, v4d a, v4d b) /* mask ? a : b */
{
    return (v4d)(((v4i)a & mask) | ((v4i)b & ~mask));
}

/* exp(t) for t in [-700, 0]: t = k ln2 + r, |r| <= ln2/2, exp(r) by its
 * Taylor series to r^13 (relative error < 2e-17); k is rounded with the
 * 1.5*2^52 trick so 2^k is built with integer adds and shifts. */
static inline __attribute__((always_inline)) v4d vexp_neg(v4d t)
{
    const v4d shifter = vsplat(0x1.8p52);
    v4d kd = t * INV_LN2 + shifter;
    v4d kf = kd - shifter;
    v4d r = (t - kf * LN2_HI) - kf * LN2_LO;
    v4d p = vsplat(1.0 / 6227020800.0);
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    v4i sc = ((v4i)kd + 1023) << 52; /* low bits of kd hold k */
    return p * (v4d)sc;
}

/* log1p(y) for y in [0, 1]: z = 1 + y in [1, 2]; z = 2^e f with f in
 * [sqrt(1/2), sqrt(2)); log f = 2 atanh(s), s = (f-1)/(f+1), |s| < 0.172,
 * by its series to s^23; the rounding of 1 + y is added back. */
static inline __attribute__((always_inline)) v4d vlog1p_unit(v4d y)
{
    v4d z = 1.0 + y;
    v4i big = z > 1.4142135623730951;
    v4d e = vselect(big, vsplat(1.0), vsplat(0.0));
    v4d f = z * (1.0 - 0.5 * e);
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
    /* (y - (z-1)) / z: the numerator is below 1.2e-16, so 1/z on [1, 2] is
     * replaced by the chord 1.5 - z/2 (relative error < 13%, absolute
     * error < 2e-17) to save a division */
    v4d corr = (y - (z - 1.0)) * (1.5 - 0.5 * z);
    return e * LN2_HI + (2.0 * s * p + (e * LN2_LO + corr));
}

static inline __attribute__((always_inline)) v4d vmax(v4d a, v4d b)
{
    return vselect(a > b, a, b);
}

/* Lambda for four fields: Bernoulli max(x,0) + log1p(exp(-|x|)), Ising
 * |x| + log1p(exp(-2|x|)). */
static inline __attribute__((always_inline)) v4d vlogpart(int ising, v4d x)
{
    v4d a = vselect(x < 0.0, -x, x);
    v4d t = vmax(ising ? -2.0 * a : -a, vsplat(-700.0));
    v4d lin = ising ? a : vmax(x, vsplat(0.0));
    return lin + vlog1p_unit(vexp_neg(t));
}

RBM__CLONES
static double sum_discrete(int ising, size_t n, const double *x, double scale)
{
    v4d acc = vsplat(0.0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d v = {x[i], x[i + 1], x[i + 2], x[i + 3]};
        acc += vlogpart(ising, v * scale);
    }
    if (i < n) { /* tail: pad with fields whose contribution is removed */
        v4d v = vsplat(0.0);
        size_t rem = n - i;
        for (size_t k = 0; k < rem; k++)
            v[k] = x[i + k] * scale;
        v4d lp = vlogpart(ising, v);
        for (size_t k = 0; k < rem; k++)
            acc[k] += lp[k];
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

double rbm__logpart_sum(rbm_unit_kind k, double sigma, size_t n, const double *x, double scale)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return sum_discrete(0, n, x, scale);
    case RBM_UNIT_ISING: return sum_discrete(1, n, x, scale);
    case RBM_UNIT_GAUSSIAN: {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            double v = scale * x[i];
            acc += v * v;
        }
        return 0.5 * sigma * sigma * acc +
               (double)n * 0.5 * (1.8378770664093454835606594728112 + 2.0 * log(sigma));
    }
    }
    return NAN;
}

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
