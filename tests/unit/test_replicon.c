/* Tests for rbm_ensemble_replicon (phase.h; docs/theory.md §5.4, docs/phase.md).
 *
 * References computed here, independently of lib/analysis/phase_rs.c:
 *   - the paramagnet's closed form lambda_AT = (sigma / T)^4, every law;
 *   - lambda_AT = (sigma/T)^4 E[sech^4 H_v] E[sech^4 H_h] at the library's
 *     own RS solution (m, mbar, q, qbar), with the averages over the
 *     components done here by the definition of each law: sums over the
 *     Rademacher / ternary values (2 ternary modes: the 9 patterns), and for
 *     Gaussian and Laplace components a 2-D composite Simpson rule over the
 *     component's density and z (the library collapses the Gaussian case by
 *     Stein's lemma and writes Laplace as a scale mixture; neither is used);
 *   - kappa = 1, Rademacher: the SK model (J0 = w, J = sigma), whose RS
 *     equations and AT condition (beta J)^2 E sech^4 = 1 are solved here by
 *     a plain iteration and bisection; the library's AT temperature (its
 *     phase + replicon, bisected here) must be SK's. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQRT2PI 2.50662827463100050242

/* composite Simpson on [a, b] with n (even) intervals of f(x) */
typedef double (*fun1)(double x, const void *arg);

static double simpson(fun1 f, const void *arg, double a, double b, int n)
{
    double h = (b - a) / n, s = f(a, arg) + f(b, arg);
    for (int k = 1; k < n; k++)
        s += (k % 2 ? 4 : 2) * f(a + h * k, arg);
    return s * h / 3;
}

typedef struct {
    double c, B; /* E_z g(c + B z) */
    int tanh2;   /* 0: sech^4, 1: tanh^2, 2: tanh */
} zarg;

static double z_integrand(double z, const void *v)
{
    const zarg *a = v;
    double x = a->c + a->B * z, t = tanh(x);
    double g = a->tanh2 == 2 ? t : a->tanh2 ? t * t : (1 - t * t) * (1 - t * t);
    return g * exp(-0.5 * z * z) / SQRT2PI;
}

/* E_z sech^4(c + B z) (or tanh^2, tanh), z ~ N(0, 1) */
static double ez(double c, double B, int what)
{
    zarg a = {c, B, what};
    return simpson(z_integrand, &a, -12, 12, 2400);
}

/* E over the component x of one mode (law, sparsity p) of E_z sech^4(A x + B z). */
typedef struct {
    double A, B;
    int laplace;
} xarg;

static double x_integrand(double x, const void *v)
{
    const xarg *a = v;
    double dens = a->laplace ? exp(-sqrt(2.0) * fabs(x)) / sqrt(2.0) : exp(-0.5 * x * x) / SQRT2PI;
    return dens * ez(a->A * x, a->B, 0);
}

static double esech4_law(rbm_component_law law, double p, double A, double B)
{
    switch (law) {
    case RBM_LAW_RADEMACHER:
        return 0.5 * (ez(A, B, 0) + ez(-A, B, 0));
    case RBM_LAW_TERNARY: {
        double amp = 1 / sqrt(p);
        return (1 - p) * ez(0, B, 0) + 0.5 * p * (ez(amp * A, B, 0) + ez(-amp * A, B, 0));
    }
    case RBM_LAW_GAUSSIAN: {
        xarg a = {A, B, 0};
        return simpson(x_integrand, &a, -10, 10, 400);
    }
    case RBM_LAW_LAPLACE: {
        xarg a = {A, B, 1};
        /* the density has a kink at 0: integrate each side */
        return simpson(x_integrand, &a, -30, 0, 600) + simpson(x_integrand, &a, 0, 30, 600);
    }
    }
    return NAN;
}

static const struct {
    rbm_component_law law;
    double p;
} LAWS[] = {{RBM_LAW_RADEMACHER, 1},
            {RBM_LAW_GAUSSIAN, 1},
            {RBM_LAW_LAPLACE, 1},
            {RBM_LAW_TERNARY, 0.3}};

/* ---------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double w = 1.5, lambda = -7;
    rbm_ensemble *e = rbm_test_ensemble(ctx, 1, 1, 0.5, &w, 1, RBM_LAW_RADEMACHER, 1);
    assert_int_equal(rbm_ensemble_replicon(NULL, &lambda), RBM_ERR_NULL);
    assert_int_equal(rbm_ensemble_replicon(e, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_ensemble_replicon(e, &lambda), RBM_ERR_STATE);
    assert_true(lambda == -7);
    assert_non_null(strstr(rbm_context_last_error(ctx), "no solution"));
    RBM_OKAY(ctx, rbm_ensemble_phase(e, NULL, NULL, NULL));
    RBM_OKAY(ctx, rbm_ensemble_replicon(e, &lambda));
    /* a change discards the solution, and the replicon with it */
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, 0.6));
    assert_int_equal(rbm_ensemble_replicon(e, &lambda), RBM_ERR_STATE);
    rbm_ensemble_free(e);
    rbm_context_free(ctx);
}

/* The paramagnet: H = 0 on both layers, lambda_AT = (sigma / T)^4, any law
 * and kappa; and from rbm_ensemble_solve as well as rbm_ensemble_phase. */
static void test_paramagnet(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    for (size_t l = 0; l < sizeof LAWS / sizeof LAWS[0]; l++) {
        double w = 0.5, lambda;
        rbm_phase ph;
        rbm_ensemble *e = rbm_test_ensemble(ctx, 0.3, 0.8, 1.1, &w, 1, LAWS[l].law, LAWS[l].p);
        RBM_OKAY(ctx, rbm_ensemble_phase(e, &ph, NULL, NULL));
        assert_int_equal(ph, RBM_PHASE_PARAMAGNETIC);
        RBM_OKAY(ctx, rbm_ensemble_replicon(e, &lambda));
        rbm_assert_close(lambda, pow(0.8 / 1.1, 4), 1e-12, 0, "paramagnet lambda_AT");
        RBM_OKAY(ctx, rbm_ensemble_solve(e, NULL, 0, NULL, 0, 0, 0));
        RBM_OKAY(ctx, rbm_ensemble_replicon(e, &lambda));
        rbm_assert_close(lambda, pow(0.8 / 1.1, 4), 1e-12, 0, "paramagnet lambda_AT");
        rbm_ensemble_free(e);
    }
    rbm_context_free(ctx);
}

/* lambda_AT at the library's RS solution against the averages over each law
 * done here, in the ferromagnet (kappa 1/2: H_v and H_h differ) and in the
 * spin glass (m = 0: law-free, > 1 below T = sigma). */
static void test_laws_against_definition(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double kappa = 0.5, sigma = 1, T = 0.45, w = 1.6;
    for (size_t l = 0; l < sizeof LAWS / sizeof LAWS[0]; l++) {
        double m, mbar, q, qbar, lambda;
        rbm_phase ph;
        rbm_ensemble *e = rbm_test_ensemble(ctx, kappa, sigma, T, &w, 1, LAWS[l].law, LAWS[l].p);
        RBM_OKAY(ctx, rbm_ensemble_phase(e, &ph, NULL, NULL));
        assert_int_equal(ph, RBM_PHASE_FERROMAGNETIC);
        RBM_OKAY(ctx, rbm_ensemble_get_solution(e, &m, 1, &mbar, 1, &q, &qbar, NULL));
        RBM_OKAY(ctx, rbm_ensemble_replicon(e, &lambda));
        double beta = 1 / T, rk = sqrt(kappa), qk = sqrt(rk);
        double sv = esech4_law(LAWS[l].law, LAWS[l].p, beta * rk * w * mbar,
                               beta * sigma * qk * sqrt(qbar));
        double sh = esech4_law(LAWS[l].law, LAWS[l].p, beta * w * m / rk,
                               beta * sigma * sqrt(q) / qk);
        double ref = pow(sigma / T, 4) * sv * sh;
        print_message("# %-10s m %.4f mbar %.4f q %.4f qbar %.4f: lambda_AT %.8f, here %.8f\n",
                      rbm_component_law_name(LAWS[l].law), m, mbar, q, qbar, lambda, ref);
        assert_true(fabs(m) > 0.3 && fabs(mbar) > 0.3);
        rbm_assert_close(lambda, ref, 2e-7, 0, "lambda_AT");
        rbm_ensemble_free(e);
    }
    /* the pure spin glass: m = 0 (w = 0.5 < sigma at T = 0.6) */
    double lsg[4];
    for (size_t l = 0; l < sizeof LAWS / sizeof LAWS[0]; l++) {
        double w0 = 0.5, q, qbar;
        rbm_phase ph;
        rbm_ensemble *e = rbm_test_ensemble(ctx, kappa, sigma, 0.6, &w0, 1, LAWS[l].law, LAWS[l].p);
        RBM_OKAY(ctx, rbm_ensemble_phase(e, &ph, NULL, NULL));
        assert_int_equal(ph, RBM_PHASE_SPIN_GLASS);
        RBM_OKAY(ctx, rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, &q, &qbar, NULL));
        RBM_OKAY(ctx, rbm_ensemble_replicon(e, &lsg[l]));
        double ref = pow(sigma / 0.6, 4) * ez(0, sigma / 0.6 * pow(kappa, 0.25) * sqrt(qbar), 0) *
                     ez(0, sigma / 0.6 * pow(kappa, -0.25) * sqrt(q), 0);
        rbm_assert_close(lsg[l], ref, 1e-8, 0, "spin-glass lambda_AT");
        assert_true(lsg[l] > 1.01); /* RS spin glass: unstable, as in SK */
        rbm_assert_close(lsg[l], lsg[0], 1e-10, 0, "law-free spin-glass lambda_AT");
        rbm_ensemble_free(e);
    }
    rbm_context_free(ctx);
}

/* Two modes of a mixed state: sparse ternary components (p = 1/4, kurtosis
 * 4 > 3: mixtures of equal modes are the stable states, docs/theory.md §5.5)
 * and the 9 patterns of (x_1, x_2) in {0, +-2}^2. */
static void test_two_modes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double kappa = 2, sigma = 1, T = 0.5, w[2] = {1.7, 1.6}, p = 0.25;
    rbm_ensemble *e = rbm_test_ensemble(ctx, kappa, sigma, T, w, 2, RBM_LAW_TERNARY, p);
    const double m0[2] = {0.6, 0.5};
    RBM_OKAY(ctx, rbm_ensemble_solve(e, m0, 2, m0, 2, 0.8, 0.8));
    double m[2], mbar[2], q, qbar, lambda;
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, m, 2, mbar, 2, &q, &qbar, NULL));
    RBM_OKAY(ctx, rbm_ensemble_replicon(e, &lambda));
    double beta = 1 / T, rk = sqrt(kappa), qk = sqrt(rk), sv = 0, sh = 0;
    const double xs[3] = {0, 2, -2}, px[3] = {1 - p, p / 2, p / 2};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double av = beta * rk * (w[0] * mbar[0] * xs[i] + w[1] * mbar[1] * xs[j]);
            double ah = beta / rk * (w[0] * m[0] * xs[i] + w[1] * m[1] * xs[j]);
            sv += px[i] * px[j] * ez(av, beta * sigma * qk * sqrt(qbar), 0);
            sh += px[i] * px[j] * ez(ah, beta * sigma * sqrt(q) / qk, 0);
        }
    double ref = pow(sigma / T, 4) * sv * sh;
    print_message("# two modes m = (%.4f, %.4f): lambda_AT %.8f, here %.8f\n", m[0], m[1], lambda,
                  ref);
    assert_true(fabs(m[0]) > 0.1 && fabs(m[1]) > 0.1);
    rbm_assert_close(lambda, ref, 2e-7, 0, "lambda_AT");
    rbm_ensemble_free(e);
    rbm_context_free(ctx);
}

/* SK (kappa = 1, Rademacher, J0 = w, J = sigma = 1): the RS ferromagnet
 * m = E tanh(beta (w m + sqrt(q) z)), q = E tanh^2(...), iterated here from
 * m = q = 1, and its AT excess (beta)^2 E sech^4 - 1. */
static double sk_at_excess(double T, double w)
{
    double beta = 1 / T, m = 1, q = 1;
    for (int it = 0; it < 5000; it++) {
        double nm = ez(beta * w * m, beta * sqrt(q), 2);
        double nq = ez(beta * w * m, beta * sqrt(q), 1);
        double d = fabs(nm - m) + fabs(nq - q);
        m = nm;
        q = nq;
        if (d < 1e-13)
            break;
    }
    return beta * beta * ez(beta * w * m, beta * sqrt(q), 0) - 1;
}

static double lib_at_excess(rbm_context *ctx, rbm_ensemble *e, double T)
{
    double lambda;
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, T));
    RBM_OKAY(ctx, rbm_ensemble_phase(e, NULL, NULL, NULL));
    RBM_OKAY(ctx, rbm_ensemble_replicon(e, &lambda));
    return lambda - 1;
}

static void test_sk_at_line(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double ws[3] = {1.2, 1.5, 2.0};
    double prev = 2;
    for (int k = 0; k < 3; k++) {
        double w = ws[k];
        rbm_ensemble *e = rbm_test_ensemble(ctx, 1, 1, 0.5, &w, 1, RBM_LAW_RADEMACHER, 1);
        /* stable (excess < 0) at T = 0.95, unstable at T = 0.05 */
        double a = 0.05, b = 0.95, sa = 0.05, sb = 0.95;
        assert_true(sk_at_excess(a, w) > 0 && sk_at_excess(b, w) < 0);
        assert_true(lib_at_excess(ctx, e, a) > 0 && lib_at_excess(ctx, e, b) < 0);
        for (int i = 0; i < 40; i++) {
            double mid = 0.5 * (a + b), ms = 0.5 * (sa + sb);
            if (lib_at_excess(ctx, e, mid) > 0)
                a = mid;
            else
                b = mid;
            if (sk_at_excess(ms, w) > 0)
                sa = ms;
            else
                sb = ms;
        }
        double t_lib = 0.5 * (a + b), t_sk = 0.5 * (sa + sb);
        print_message("# SK AT line at J0 = %.1f: T_AT %.8f (library), %.8f (SK here)\n", w, t_lib,
                      t_sk);
        rbm_assert_close(t_lib, t_sk, 0, 1e-6, "T_AT against SK");
        assert_true(t_lib < prev && t_lib < 1); /* below T = sigma, falling with w */
        prev = t_lib;
        rbm_ensemble_free(e);
    }
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_paramagnet),
        cmocka_unit_test(test_laws_against_definition),
        cmocka_unit_test(test_two_modes),
        cmocka_unit_test(test_sk_at_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
