/* Tests of the Dormand-Prince 5(4) integrator (numeric/ode_dp45.h) against
 * exact solutions: exponential decay and a harmonic oscillator within the
 * tolerance, exact landing on output times, steps rejected by the error
 * control and by the domain of the right-hand side, and step-size underflow
 * at a blow-up and at the edge of the domain. */
#include "testutil.h"

#include "numeric/ode_dp45.h" /* white-box: an internal integrator */

#include <math.h>
#include <stdlib.h>

#define TWO_PI 6.28318530717958647692528676655901

typedef struct {
    double lambda; /* decay rate, or angular frequency */
    size_t calls;
} rhs_ctx;

static bool decay(void *user, double t, const double *y, double *dy)
{
    (void)t;
    rhs_ctx *c = user;
    c->calls++;
    dy[0] = -c->lambda * y[0];
    return true;
}

/* x'' = -w^2 x as (x, v) */
static bool oscillator(void *user, double t, const double *y, double *dy)
{
    (void)t;
    rhs_ctx *c = user;
    c->calls++;
    dy[0] = y[1];
    dy[1] = -c->lambda * c->lambda * y[0];
    return true;
}

static double *workspace(size_t n)
{
    return xzalloc(rbm__dp45_ws_len(n) * sizeof(double));
}

/* y' = -2 y, y(0) = 1, at t = 0.25, 0.5, ..., 4 against exp(-2 t) */
static void test_exponential_decay(void **state)
{
    (void)state;
    rhs_ctx c = {2.0, 0};
    double *ws = workspace(1), y0 = 1.0;
    rbm__dp45 S;
    const double rtol = 1e-8, atol = 1e-12;
    assert_true(rbm__dp45_start(&S, 1, 0.0, &y0, decay, &c, rtol, atol, ws));
    assert_int_equal(c.calls, 1);
    rbm__dp45_initial_step(&S, 4.0);
    assert_true(S.h > 0 && S.h <= 4.0);
    for (int k = 1; k <= 16; k++) {
        double target = 0.25 * k;
        while (S.t < target)
            assert_int_equal(rbm__dp45_step(&S, target), RBM__DP45_OK);
        assert_true(S.t == target); /* landed exactly */
        double exact = exp(-2.0 * target);
        if (fabs(S.y[0] - exact) > 10 * (atol + rtol * exact))
            fail_msg("t = %g: y = %.17g, exact %.17g", target, S.y[0], exact);
    }
    assert_true(S.accepted >= 16);
    free(ws);
}

/* x(0) = 1, v(0) = 0, w = 3, over 5 periods: x = cos(w t), v = -w sin(w t) */
static void test_harmonic_oscillator(void **state)
{
    (void)state;
    rhs_ctx c = {3.0, 0};
    double *ws = workspace(2), y0[2] = {1.0, 0.0};
    rbm__dp45 S;
    const double rtol = 1e-9, atol = 1e-12, T = 5 * TWO_PI / 3.0;
    assert_true(rbm__dp45_start(&S, 2, 0.0, y0, oscillator, &c, rtol, atol, ws));
    rbm__dp45_initial_step(&S, T);
    size_t steps = 0;
    while (S.t < T) {
        assert_int_equal(rbm__dp45_step(&S, T), RBM__DP45_OK);
        steps++;
        double x = cos(3.0 * S.t), v = -3.0 * sin(3.0 * S.t);
        /* the global error grows about linearly over the periods */
        double tol = 100 * (atol + rtol * 3.0);
        if (fabs(S.y[0] - x) > tol || fabs(S.y[1] - v) > 3 * tol)
            fail_msg("t = %g: (%.17g, %.17g), exact (%.17g, %.17g)", S.t, S.y[0], S.y[1], x, v);
    }
    assert_true(S.t == T);
    assert_int_equal(S.accepted, steps);
    /* energy x^2 + v^2 / w^2 = 1 */
    rbm_assert_close(S.y[0] * S.y[0] + S.y[1] * S.y[1] / 9.0, 1.0, 1e-7, 0, "energy");
    /* FSAL: 6 new evaluations per trial, 1 at the start, 1 for the first step */
    assert_int_equal(c.calls, 1 + 1 + 6 * (S.accepted + S.rejected));
    free(ws);
}

/* A first step far too large for y' = -50 y is rejected by the error
 * control, and the result is still accurate. */
static void test_error_rejection(void **state)
{
    (void)state;
    rhs_ctx c = {50.0, 0};
    double *ws = workspace(1), y0 = 1.0;
    rbm__dp45 S;
    assert_true(rbm__dp45_start(&S, 1, 0.0, &y0, decay, &c, 1e-8, 1e-14, ws));
    S.h = 1.0;
    while (S.t < 0.2)
        assert_int_equal(rbm__dp45_step(&S, 0.2), RBM__DP45_OK);
    assert_true(S.rejected > 0);
    rbm_assert_close(S.y[0], exp(-10.0), 1e-6, 1e-14, "y(0.2)");
    free(ws);
}

/* y' = 1 defined for y <= 2 only */
static bool ramp(void *user, double t, const double *y, double *dy)
{
    (void)t;
    (void)user;
    if (y[0] > 2.0)
        return false;
    dy[0] = 1.0;
    return true;
}

static void test_domain_rejection(void **state)
{
    (void)state;
    double *ws = workspace(1), y0 = 0.0;
    rbm__dp45 S;
    assert_true(rbm__dp45_start(&S, 1, 0.0, &y0, ramp, NULL, 1e-8, 1e-12, ws));
    S.h = 100.0; /* the stages leave the domain: shrink by 4 and retry */
    assert_int_equal(rbm__dp45_step(&S, 10.0), RBM__DP45_OK);
    assert_int_equal(S.rejected, 2); /* steps 10 and 2.5 are refused */
    assert_true(S.t == 0.625);
    rbm_assert_close(S.y[0], 0.625, 1e-15, 0, "y(0.625)");
    while (S.t < 1.5)
        assert_int_equal(rbm__dp45_step(&S, 1.5), RBM__DP45_OK);
    rbm_assert_close(S.y[0], 1.5, 1e-14, 0, "y(1.5)");
    /* beyond t = 2 the solution leaves the domain: the step size underflows
     * there and the state stays inside */
    rbm__dp45_status st = RBM__DP45_OK;
    while (st == RBM__DP45_OK && S.t < 3.0)
        st = rbm__dp45_step(&S, 3.0);
    assert_int_equal(st, RBM__DP45_LEFT_DOMAIN);
    assert_true(S.t < 2.0 + 1e-9 && S.t > 2.0 - 1e-6);
    assert_true(S.y[0] <= 2.0);
    /* a start outside the domain is refused */
    y0 = 3.0;
    assert_false(rbm__dp45_start(&S, 1, 0.0, &y0, ramp, NULL, 1e-8, 1e-12, ws));
    free(ws);
}

/* y' = y^2, y(0) = 1 blows up at t = 1: the error control drives the step
 * size to underflow there */
static bool blowup(void *user, double t, const double *y, double *dy)
{
    (void)t;
    (void)user;
    dy[0] = y[0] * y[0];
    return true;
}

static void test_underflow(void **state)
{
    (void)state;
    double *ws = workspace(1), y0 = 1.0;
    rbm__dp45 S;
    assert_true(rbm__dp45_start(&S, 1, 0.0, &y0, blowup, NULL, 1e-8, 1e-12, ws));
    rbm__dp45_initial_step(&S, 2.0);
    rbm__dp45_status st = RBM__DP45_OK;
    while (st == RBM__DP45_OK && S.t < 2.0) {
        st = rbm__dp45_step(&S, 2.0);
        if (st == RBM__DP45_OK && S.t < 0.9)
            rbm_assert_close(S.y[0], 1.0 / (1.0 - S.t), 1e-6, 0, "1 / (1 - t)");
    }
    /* the numerical blow-up time is t = 1 within the global error */
    if (st != RBM__DP45_UNDERFLOW || !(fabs(S.t - 1.0) < 1e-6) || !(S.y[0] > 1e6))
        fail_msg("status %d at t = %.17g (y = %g)", (int)st, S.t, S.y[0]);
    free(ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential_decay), cmocka_unit_test(test_harmonic_oscillator),
        cmocka_unit_test(test_error_rejection),   cmocka_unit_test(test_domain_rejection),
        cmocka_unit_test(test_underflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
