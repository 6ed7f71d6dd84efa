/* White-box tests of the vectorised log-partition sums (numeric/vecmath.c):
 * rbm__logpart_sum against long double sums of the closed forms over
 * arrays of every length class (below one vector, around the 512-factor
 * product blocks of each lane, several blocks) and field ranges from 1e-8
 * to 700, with the scale argument, and at the overflow edge; and the fused
 * Gray-code step rbm__logpart_sum_update; the one-hot kernels of Potts
 * layers: rbm__axpy_f/_d bit for bit against the scalar loop, and the site
 * draws rbm__potts_draw_sites_f/_d against an inverse CDF of the test's
 * own (long double) softmax. */
#include "testutil.h"

#include "core/internal.h" /* white-box: rbm__logpart_sum */

#include <math.h>
#include <stdlib.h>

static long double ref_term(rbm_unit_kind k, long double x)
{
    long double a = fabsl(x);
    if (k == RBM_UNIT_ISING)
        return a + log1pl(expl(-2 * a));
    return (x > 0 ? x : 0) + log1pl(expl(-a));
}

/* Uniform on [-1, 1] from a fixed LCG, so the arrays do not depend on libc. */
static double unit_uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1p-52 - 1.0;
}

/* The error allowed: 1e-15 per term (the documented per-term bound) plus
 * the bound of recursive summation over the four lanes and their final
 * combination, (n/4 + 3) u sum |term| with u = 2^-53. */
static void check_sum(rbm_unit_kind k, size_t n, const double *x, double scale)
{
    long double ref = 0, mag = 0;
    for (size_t i = 0; i < n; i++) {
        long double t = ref_term(k, (long double)scale * x[i]);
        ref += t;
        mag += fabsl(t);
    }
    double got = rbm__logpart_sum(k, 1.0, n, x, scale);
    double tol = 1e-15 * (double)n + ((double)n / 4 + 3) * 0x1p-53 * (double)mag;
    if (!(fabs(got - (double)ref) <= tol))
        fail_msg("%s n=%zu scale=%g: sum %.17g, long double %.17Lg (error %.3g > %.3g)",
                 k == RBM_UNIT_ISING ? "ising" : "bernoulli", n, scale, got, ref,
                 fabs(got - (double)ref), tol);
}

static void test_sums_match_long_double(void **state)
{
    (void)state;
    const size_t lengths[] = {1, 2, 3, 4, 5, 7, 8, 9, 100, 784, 2047, 2048, 2049, 2051,
                              4096, 5000, 10007};
    const double ranges[] = {1e-8, 1e-3, 0.5, 3, 20, 40, 200, 700};
    const double scales[] = {1.0, 0.37, -2.0};
    uint64_t seed = 12345;
    double *x = malloc(10007 * sizeof *x);
    assert_non_null(x);
    for (int ki = 0; ki < 2; ki++) {
        rbm_unit_kind k = ki ? RBM_UNIT_ISING : RBM_UNIT_BERNOULLI;
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
            for (size_t ri = 0; ri < sizeof ranges / sizeof ranges[0]; ri++) {
                size_t n = lengths[li];
                for (size_t i = 0; i < n; i++)
                    x[i] = ranges[ri] * unit_uniform(&seed);
                for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
                    check_sum(k, n, x, scales[si]);
            }
    }
    free(x);
}

/* All factors at their largest (x = 0: 1 + e = 2 in every term) for many
 * blocks: the product of a block is 2^512 and must not overflow; the sum is
 * n log 2 (Bernoulli) exactly up to rounding. Mixed with huge fields (e
 * underflows to ~0, the factor is 1). */
static void test_product_blocks_do_not_overflow(void **state)
{
    (void)state;
    size_t n = 3 * 4 * 512 + 13;
    double *x = calloc(n, sizeof *x);
    assert_non_null(x);
    double got = rbm__logpart_sum(RBM_UNIT_BERNOULLI, 1.0, n, x, 1.0);
    rbm_assert_close(got, (double)n * log(2.0), 1e-15, 0, "n log 2");
    got = rbm__logpart_sum(RBM_UNIT_ISING, 1.0, n, x, 1.0);
    rbm_assert_close(got, (double)n * log(2.0), 1e-15, 0, "ising n log 2");
    for (size_t i = 0; i < n; i += 2)
        x[i] = 1e300;
    check_sum(RBM_UNIT_BERNOULLI, n, x, 1.0);
    check_sum(RBM_UNIT_ISING, n, x, 1.0);
    for (size_t i = 0; i < n; i += 2)
        x[i] = -1e300;
    check_sum(RBM_UNIT_BERNOULLI, n, x, 1.0);
    free(x);
}

/* The fused Gray-code step: x += delta col, stored, and the sum of the
 * updated fields, for every kind (the Gaussian one against its closed form
 * 0.5 sigma^2 sum x^2 + n/2 log(2 pi sigma^2)). */
static void test_fused_update(void **state)
{
    (void)state;
    const size_t n = 2051;
    double *x = malloc(n * sizeof *x), *col = malloc(n * sizeof *col),
           *want = malloc(n * sizeof *want);
    assert_true(x && col && want);
    uint64_t seed = 99;
    const rbm_unit_kind kinds[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
    for (int ki = 0; ki < 3; ki++)
        for (int rep = 0; rep < 3; rep++) {
            double delta = rep == 0 ? 1.0 : rep == 1 ? -2.0 : 0.5;
            for (size_t i = 0; i < n; i++) {
                x[i] = 6 * unit_uniform(&seed);
                col[i] = 3 * unit_uniform(&seed);
                want[i] = x[i] + delta * col[i];
            }
            double got = rbm__logpart_sum_update(kinds[ki], 1.3, n, x, delta, col);
            long double ref = 0;
            for (size_t i = 0; i < n; i++) {
                rbm_assert_close(x[i], want[i], 0, 4e-16 * (fabs(x[i]) + fabs(delta * col[i])),
                                 "stored updated field");
                if (kinds[ki] == RBM_UNIT_GAUSSIAN)
                    ref += 0.5L * 1.69L * (long double)want[i] * want[i];
                else
                    ref += ref_term(kinds[ki], want[i]);
            }
            if (kinds[ki] == RBM_UNIT_GAUSSIAN)
                ref += (long double)n * 0.5L * logl(2 * 3.14159265358979323846L * 1.69L);
            rbm_assert_close(got, (double)ref, 1e-13, 0, "fused update and sum");
        }
    free(x);
    free(col);
    free(want);
}

/* y += alpha x for every length class: the scalar loop's bits. */
static void test_axpy(void **state)
{
    (void)state;
    uint64_t s = 5;
    for (size_t n = 0; n < 40; n++) {
        float xf[40] = {0}, yf[40] = {0}, rf[40] = {0};
        double xd[40] = {0}, yd[40] = {0}, rd[40] = {0};
        for (size_t i = 0; i < n; i++) {
            xd[i] = unit_uniform(&s);
            yd[i] = unit_uniform(&s);
            xf[i] = (float)xd[i];
            yf[i] = (float)yd[i];
            rf[i] = yf[i] + 0.3f * xf[i];
            rd[i] = yd[i] + -1.7 * xd[i];
        }
        rbm__axpy_f(n, 0.3f, xf, yf);
        rbm__axpy_d(n, -1.7, xd, yd);
        for (size_t i = 0; i < n; i++) {
            assert_true(yf[i] == rf[i]);
            assert_true(yd[i] == rd[i]);
        }
    }
}

/* The drawn state is the first c with u < P(0..c) of the exact softmax,
 * except where u lies within 1e-5 (float) / 1e-12 (double) of a boundary;
 * q from 2 to 255 (every vector tail), fields up to +-40 and one site with
 * a field 200 below the rest (its weight clamps to 0 in float32). */
static void test_potts_draws(void **state)
{
    (void)state;
    const size_t qs[6] = {2, 3, 8, 21, 33, 255};
    uint64_t s = 11;
    for (int k = 0; k < 6; k++)
        for (int f32 = 0; f32 < 2; f32++) {
            size_t q = qs[k], n = 400;
            double *x = malloc(n * q * sizeof *x), *u = malloc(n * sizeof *u);
            float *xf = malloc(n * q * sizeof *xf), *of = malloc(n * sizeof *of);
            double *od = malloc(n * sizeof *od);
            assert_non_null(x);
            assert_non_null(u);
            assert_non_null(xf);
            assert_non_null(of);
            assert_non_null(od);
            for (size_t i = 0; i < n * q; i++) {
                x[i] = 40 * unit_uniform(&s) * (i % 7 == 0 ? 1 : 0.1);
                xf[i] = (float)x[i];
                if (f32)
                    x[i] = xf[i];
            }
            x[q - 1] -= 200;
            xf[q - 1] = (float)x[q - 1];
            for (size_t i = 0; i < n; i++)
                u[i] = 0.5 * (1 + unit_uniform(&s));
            if (f32)
                rbm__potts_draw_sites_f(n, q, xf, u, of);
            else
                rbm__potts_draw_sites_d(n, q, x, u, od);
            double tol = f32 ? 1e-5 : 1e-12;
            for (size_t i = 0; i < n; i++) {
                const double *f = x + i * q;
                long double mx = f[0], z = 0, cum = 0;
                for (size_t c = 1; c < q; c++)
                    mx = f[c] > mx ? f[c] : mx;
                for (size_t c = 0; c < q; c++)
                    z += expl(f[c] - mx);
                size_t want = q - 1, got = f32 ? (size_t)of[i] : (size_t)od[i];
                int near = 0;
                for (size_t c = 0; c < q; c++) {
                    cum += expl(f[c] - mx) / z;
                    near |= fabsl(cum - u[i]) < tol;
                    if (u[i] < cum && want == q - 1 && c < q - 1) {
                        want = c;
                        break;
                    }
                }
                if (got != want && !near)
                    fail_msg("q %zu %s site %zu: drew %zu, the softmax gives %zu", q,
                             f32 ? "float" : "double", i, got, want);
            }
            free(x);
            free(u);
            free(xf);
            free(of);
            free(od);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_match_long_double),
        cmocka_unit_test(test_product_blocks_do_not_overflow),
        cmocka_unit_test(test_fused_update),
        cmocka_unit_test(test_axpy),
        cmocka_unit_test(test_potts_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
