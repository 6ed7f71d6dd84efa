/* White-box tests of the vectorised log-partition sums (numeric/vecmath.c):
 * rbm__logpart_sum against long double sums of the closed forms over
 * arrays of every length class (below one vector, around the 512-factor
 * product blocks of each lane, several blocks) and field ranges from 1e-8
 * to 700, with the scale argument, and at the overflow edge; and the fused
 * Gray-code step rbm__logpart_sum_update. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_match_long_double),
        cmocka_unit_test(test_product_blocks_do_not_overflow),
        cmocka_unit_test(test_fused_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
