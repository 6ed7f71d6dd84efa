/* Tests of the adaptive Gauss-Kronrod integrator (numeric/quadrature.h)
 * against closed forms: polynomials, the Gaussian over a wide interval against sqrt(pi) erf, a
 * vector integrand whose components are integrated together, an integrand
 * that needs refinement, nested integration, and the failure modes. */
#include "testutil.h"

#include "numeric/quadrature.h" /* white-box: an internal integrator */

#include <math.h>

#define SQRT_PI 1.77245385090551602729816748334115

/* out[r] = x^(r + p0) for r < nf */
typedef struct {
    size_t nf;
    int p0;
    size_t calls;
} powers_ctx;

static void powers(double x, double *out, void *vctx)
{
    powers_ctx *c = vctx;
    c->calls++;
    for (size_t r = 0; r < c->nf; r++)
        out[r] = pow(x, (double)(c->p0 + (int)r));
}

/* int_0^1 x^n = 1/(n+1): the 15-point Kronrod rule is exact for n <= 22,
 * the embedded 7-point Gauss rule for n <= 13, so up to there the error
 * estimate vanishes and one segment is enough. */
static void test_polynomials(void **state)
{
    (void)state;
    const double brk[2] = {0, 1};
    for (int n = 0; n <= 20; n++) {
        powers_ctx c = {1, n, 0};
        double out = NAN;
        assert_true(rbm__quad(powers, &c, 1, brk, 2, 1e-14, &out));
        rbm_assert_close(out, 1.0 / (n + 1), 1e-14, 0, "int_0^1 x^n");
        if (n <= 13)
            assert_int_equal(c.calls, 15); /* one segment, no refinement */
    }
}

static void gaussian(double x, double *out, void *ctx)
{
    (void)ctx;
    out[0] = exp(-x * x);
}

/* int_{-a}^{a} exp(-x^2) = sqrt(pi) erf(a), with and without inner breaks */
static void test_gaussian_wide(void **state)
{
    (void)state;
    const double a[] = {1.0, 3.0, 10.0, 38.5};
    for (size_t k = 0; k < 4; k++) {
        const double brk[2] = {-a[k], a[k]};
        double out = NAN;
        assert_true(rbm__quad(gaussian, NULL, 1, brk, 2, 1e-13, &out));
        rbm_assert_close(out, SQRT_PI * erf(a[k]), 1e-12, 0, "Gaussian integral");
        const double brk5[5] = {-a[k], -1, 0, 1, a[k]};
        assert_true(rbm__quad(gaussian, NULL, 1, brk5, 5, 1e-13, &out));
        rbm_assert_close(out, SQRT_PI * erf(a[k]), 1e-12, 0, "Gaussian integral, breaks");
    }
}

/* [cos x, sin x, x^2, exp x] over [0, 2]: one call integrates all four */
static void vec4(double x, double *out, void *ctx)
{
    (void)ctx;
    out[0] = cos(x);
    out[1] = sin(x);
    out[2] = x * x;
    out[3] = exp(x);
}

static void test_vector_integrand(void **state)
{
    (void)state;
    const double brk[3] = {0, 0.5, 2};
    double out[4];
    assert_true(rbm__quad(vec4, NULL, 4, brk, 3, 1e-13, out));
    rbm_assert_close(out[0], sin(2.0), 1e-13, 1e-15, "int cos");
    rbm_assert_close(out[1], 1.0 - cos(2.0), 1e-13, 1e-15, "int sin");
    rbm_assert_close(out[2], 8.0 / 3.0, 1e-13, 0, "int x^2");
    rbm_assert_close(out[3], exp(2.0) - 1.0, 1e-13, 0, "int exp");
}

/* sqrt(x) on [0, 1] is not smooth at 0: refinement must reach 2/3 */
static void root(double x, double *out, void *vctx)
{
    size_t *calls = vctx;
    (*calls)++;
    out[0] = sqrt(x);
}

static void test_refinement(void **state)
{
    (void)state;
    const double brk[2] = {0, 1};
    size_t calls = 0;
    double out;
    assert_true(rbm__quad(root, &calls, 1, brk, 2, 1e-12, &out));
    rbm_assert_close(out, 2.0 / 3.0, 1e-11, 0, "int sqrt");
    assert_true(calls > 15); /* more than one segment */
    assert_int_equal(calls % 15, 0);
}

/* int_0^1 int_0^1 (x + y) dy dx = 1, the inner integral inside the
 * integrand (the segments live on the stack) */
static void inner(double y, double *out, void *vctx)
{
    out[0] = *(const double *)vctx + y;
}

static void outer(double x, double *out, void *ctx)
{
    (void)ctx;
    const double brk[2] = {0, 1};
    assert_true(rbm__quad(inner, &x, 1, brk, 2, 1e-14, out));
}

static void test_nested(void **state)
{
    (void)state;
    const double brk[2] = {0, 1};
    double out;
    assert_true(rbm__quad(outer, NULL, 1, brk, 2, 1e-14, &out));
    rbm_assert_close(out, 1.0, 1e-14, 0, "double integral");
}

/* 1/sqrt(x) near 0: the error estimate cannot reach an absurd tolerance
 * within the segment budget; the best estimate is still returned */
static void singular(double x, double *out, void *ctx)
{
    (void)ctx;
    out[0] = 1.0 / sqrt(x + 1e-300);
}

static void test_failures(void **state)
{
    (void)state;
    const double brk[2] = {0, 1};
    double out = NAN;
    assert_false(rbm__quad(singular, NULL, 1, brk, 2, 1e-300, &out));
    assert_true(isfinite(out) && out > 1.0 && out < 2.0); /* the integral is 2 */
    /* empty and degenerate partitions integrate to 0 */
    const double same[3] = {1, 1, 1};
    out = NAN;
    assert_true(rbm__quad(gaussian, NULL, 1, same, 3, 1e-12, &out));
    assert_true(out == 0.0);
    /* component counts outside 1..RBM__QUAD_MAX_NF */
    powers_ctx c = {RBM__QUAD_MAX_NF + 1, 0, 0};
    double big[RBM__QUAD_MAX_NF + 1];
    assert_false(rbm__quad(powers, &c, RBM__QUAD_MAX_NF + 1, brk, 2, 1e-12, big));
    assert_false(rbm__quad(powers, &c, 0, brk, 2, 1e-12, big));
    assert_int_equal(c.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_polynomials),      cmocka_unit_test(test_gaussian_wide),
        cmocka_unit_test(test_vector_integrand), cmocka_unit_test(test_refinement),
        cmocka_unit_test(test_nested),           cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
