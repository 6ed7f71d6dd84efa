/* librbm — four doubles at a time: the vector type, select, max and a
 * branch-free exp on [-700, 0], shared by the vectorised loops of
 * numeric/vecmath.c (sigmoid) and numeric/logpart.c (log-partition sums).
 * Everything here is static inline: each including file compiles it under
 * its own floating-point contraction setting. */
#ifndef RBM_NUMERIC_VEC4D_H
#define RBM_NUMERIC_VEC4D_H

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

static inline __attribute__((always_inline)) v4d vmax(v4d a, v4d b)
{
    return vselect(a > b, a, b);
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


#endif
