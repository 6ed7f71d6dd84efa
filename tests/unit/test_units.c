/* Tests for the unit kinds (units.h, docs/theory.md §1.1).
 *
 * References computed here: the closed forms of the §1.1 table evaluated in
 * long double in overflow-free forms; the identities mean = Lambda' and
 * variance = mean' checked by central differences of the library's own
 * outputs; sample frequencies and moments within 5 standard errors. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rbm_unit_kind kinds[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
static const char *const kind_names[3] = {"bernoulli", "ising", "gaussian"};

/* ---- long double references (docs/theory.md §1.1 table) ---- */

static long double ref_softplus(long double x)
{
    return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x));
}

static long double ref_log2cosh(long double x)
{
    long double ax = fabsl(x);
    return ax + log1pl(expl(-2 * ax)); /* 2 cosh x = e^|x| (1 + e^-2|x|) */
}

static long double ref_sigm(long double x)
{
    return x >= 0 ? 1 / (1 + expl(-x)) : expl(x) / (1 + expl(x));
}

static long double ref_logpart(rbm_unit_kind k, long double s, long double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return ref_softplus(x);
    case RBM_UNIT_ISING: return ref_log2cosh(x);
    default: return s * s * x * x / 2 + 0.5L * logl(2 * 3.14159265358979323846264338327950288L * s * s);
    }
}

static long double ref_mean(rbm_unit_kind k, long double s, long double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return ref_sigm(x);
    case RBM_UNIT_ISING: return tanhl(x);
    default: return s * s * x;
    }
}

static long double ref_var(rbm_unit_kind k, long double s, long double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return ref_sigm(x) * ref_sigm(-x);
    case RBM_UNIT_ISING: {
        long double c = coshl(x);
        return 1 / (c * c);
    }
    default: return s * s;
    }
}

/* ---- helpers ---- */

static void eval1(rbm_unit_kind k, double s, double x, double *mean, double *var, double *lp)
{
    rbm_status st = rbm_unit_eval(k, s, 1, &x, mean, 1, var, 1, lp, 1);
    if (st != RBM_OK)
        fail_msg("rbm_unit_eval(%s, sigma %g, x %g) returned %s", kind_names[k], s, x,
                 rbm_status_name(st));
}

static double lp1(rbm_unit_kind k, double s, double x)
{
    double v;
    eval1(k, s, x, NULL, NULL, &v);
    return v;
}

static double mean1(rbm_unit_kind k, double s, double x)
{
    double v;
    eval1(k, s, x, &v, NULL, NULL);
    return v;
}

static void close_msg(double got, double want, double rtol, double atol, const char *what,
                      rbm_unit_kind k, double s, double x)
{
    double tol = atol + rtol * fabs(want);
    if (!(fabs(got - want) <= tol))
        fail_msg("%s %s at sigma %g, x %.17g: got %.17g, expected %.17g (diff %.3g > %.3g)",
                 kind_names[k], what, s, x, got, want, fabs(got - want), tol);
}

/* ---- names ---- */

static void test_kind_names(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        const char *n = rbm_unit_kind_name(kinds[i]);
        assert_non_null(n);
        assert_string_equal(n, kind_names[i]);
        rbm_unit_kind k = (rbm_unit_kind)99;
        assert_int_equal(rbm_unit_kind_parse(n, &k), RBM_OK);
        assert_int_equal(k, kinds[i]);
    }
    assert_string_equal(rbm_unit_kind_name(RBM_UNIT_POTTS), "potts");
    assert_null(rbm_unit_kind_name((rbm_unit_kind)4));
    assert_null(rbm_unit_kind_name((rbm_unit_kind)-1));
    rbm_unit_kind k = RBM_UNIT_ISING;
    const char *bad[] = {"Bernoulli", "ISING", "gauss", "", "bernoulli ", " ising", "binary"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rbm_unit_kind_parse(bad[i], &k) != RBM_ERR_INVALID_ARGUMENT)
            fail_msg("parsing \"%s\" did not give RBM_ERR_INVALID_ARGUMENT", bad[i]);
    assert_int_equal(rbm_unit_kind_parse(NULL, &k), RBM_ERR_NULL);
    assert_int_equal(rbm_unit_kind_parse("ising", NULL), RBM_ERR_NULL);
}

/* ---- closed forms ---- */

static void test_closed_forms(void **state)
{
    (void)state;
    const double xs[] = {-40, -12.5, -5, -1, -0.3, -1e-9, 0, 1e-9, 0.3, 1, 2.5, 5, 12.5, 40};
    const double sigmas[] = {0.25, 0.8, 1.0, 1.3, 3.0};
    for (int ki = 0; ki < 3; ki++) {
        rbm_unit_kind k = kinds[ki];
        for (size_t si = 0; si < (k == RBM_UNIT_GAUSSIAN ? 5u : 1u); si++) {
            double s = k == RBM_UNIT_GAUSSIAN ? sigmas[si] : 1.0;
            for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
                double x = xs[i], m, v, lp;
                eval1(k, s, x, &m, &v, &lp);
                close_msg(lp, (double)ref_logpart(k, s, x), 1e-14, 1e-300, "log-partition", k,
                          s, x);
                close_msg(m, (double)ref_mean(k, s, x), 1e-14, 1e-16, "mean", k, s, x);
                /* f(1-f) and 1-f^2 lose relative accuracy when f is within an
                 * ulp of its bound: absolute tolerance 1e-15 */
                close_msg(v, (double)ref_var(k, s, x), 1e-12, 1e-15, "variance", k, s, x);
            }
        }
    }
    /* a few values by hand: softplus(0) = log 2, log 2cosh 0 = log 2,
     * sigm(0) = 1/2, Gaussian Lambda(0) = log(2 pi sigma^2)/2 */
    assert_true(fabs(lp1(RBM_UNIT_BERNOULLI, 1, 0) - 0.69314718055994531) < 1e-15);
    assert_true(fabs(lp1(RBM_UNIT_ISING, 1, 0) - 0.69314718055994531) < 1e-15);
    assert_true(fabs(mean1(RBM_UNIT_BERNOULLI, 1, 0) - 0.5) < 1e-16);
    assert_true(fabs(lp1(RBM_UNIT_GAUSSIAN, 1, 0) - 0.91893853320467274) < 1e-15);
    /* sigma of discrete units is ignored, whatever it is */
    double x = 0.7;
    assert_true(lp1(RBM_UNIT_ISING, NAN, x) == lp1(RBM_UNIT_ISING, 1, x));
    assert_true(mean1(RBM_UNIT_BERNOULLI, -3, x) == mean1(RBM_UNIT_BERNOULLI, 1, x));
}

/* mean = dLambda/dx and variance = dmean/dx, by central differences of the
 * library's own outputs (h = 1e-5: truncation ~h^2 |f'''|, rounding
 * ~1e-16 |f| / h). */
static void test_derivative_identities(void **state)
{
    (void)state;
    const double hstep = 1e-5;
    const double sigmas[] = {0.5, 1.0, 2.3};
    for (int ki = 0; ki < 3; ki++) {
        rbm_unit_kind k = kinds[ki];
        for (size_t si = 0; si < (k == RBM_UNIT_GAUSSIAN ? 3u : 1u); si++) {
            double s = k == RBM_UNIT_GAUSSIAN ? sigmas[si] : 1.0;
            for (double x = -8.0; x <= 8.0; x += 0.37) {
                double m, v;
                eval1(k, s, x, &m, &v, NULL);
                double lplus = lp1(k, s, x + hstep), lminus = lp1(k, s, x - hstep);
                double dl = (lplus - lminus) / (2 * hstep);
                double tol = 1e-8 * (1 + fabs(lplus) + fabs(m));
                close_msg(m, dl, 0, tol, "mean vs dLambda/dx", k, s, x);
                double mplus = mean1(k, s, x + hstep), mminus = mean1(k, s, x - hstep);
                double dm = (mplus - mminus) / (2 * hstep);
                close_msg(v, dm, 0, 1e-8 * (1 + fabs(mplus) + fabs(v)), "variance vs dmean/dx",
                          k, s, x);
                /* the mean is inside the support, the variance positive */
                assert_true(v > 0);
            }
        }
    }
}

/* Overflow-free evaluation at large fields. */
static void test_stability(void **state)
{
    (void)state;
    const double big[] = {1e3, 1e30, 1e300, DBL_MAX};
    for (size_t i = 0; i < 4; i++) {
        for (int sign = -1; sign <= 1; sign += 2) {
            double x = sign * big[i];
            double m, v, lp;
            /* Bernoulli: softplus(x) = x for x >> 0, 0 for x << 0 */
            eval1(RBM_UNIT_BERNOULLI, 1, x, &m, &v, &lp);
            assert_true(isfinite(lp) && isfinite(m) && isfinite(v));
            if (sign > 0) {
                close_msg(lp, x, 1e-12, 0, "log-partition", RBM_UNIT_BERNOULLI, 1, x);
                close_msg(m, 1.0, 0, 1e-15, "mean", RBM_UNIT_BERNOULLI, 1, x);
            } else {
                close_msg(lp, 0.0, 0, 1e-300, "log-partition", RBM_UNIT_BERNOULLI, 1, x);
                close_msg(m, 0.0, 0, 1e-300, "mean", RBM_UNIT_BERNOULLI, 1, x);
            }
            assert_true(m >= 0.0 && m <= 1.0);
            assert_true(v >= 0.0 && v <= 1e-300);
            /* Ising: log 2cosh x = |x| */
            eval1(RBM_UNIT_ISING, 1, x, &m, &v, &lp);
            assert_true(isfinite(lp) && isfinite(m) && isfinite(v));
            close_msg(lp, fabs(x), 1e-12, 0, "log-partition", RBM_UNIT_ISING, 1, x);
            close_msg(m, (double)sign, 0, 1e-15, "mean", RBM_UNIT_ISING, 1, x);
            assert_true(m >= -1.0 && m <= 1.0);
            assert_true(v >= 0.0 && v <= 1e-300);
            /* Gaussian (overflows only beyond |x| ~ 1e154 sigma^-1) */
            if (big[i] <= 1e30) {
                eval1(RBM_UNIT_GAUSSIAN, 0.7, x, &m, &v, &lp);
                assert_true(isfinite(lp) && isfinite(m) && isfinite(v));
                close_msg(lp, (double)ref_logpart(RBM_UNIT_GAUSSIAN, 0.7, x), 1e-14, 0,
                          "log-partition", RBM_UNIT_GAUSSIAN, 0.7, x);
                close_msg(m, 0.49 * x, 1e-14, 0, "mean", RBM_UNIT_GAUSSIAN, 0.7, x);
            }
        }
    }
    /* the values the specification names: softplus(1000) = 1000 and
     * log 2cosh(-1000) = 1000 within 1e-12 relative */
    close_msg(lp1(RBM_UNIT_BERNOULLI, 1, 1000), 1000, 1e-12, 0, "log-partition",
              RBM_UNIT_BERNOULLI, 1, 1000);
    close_msg(lp1(RBM_UNIT_ISING, 1, -1000), 1000, 1e-12, 0, "log-partition", RBM_UNIT_ISING,
              1, -1000);
    /* moderately large fields where the correction term still matters:
     * softplus(36) = 36 + e^-36, log2cosh(20) = 20 + log1p(e^-40) */
    close_msg(lp1(RBM_UNIT_BERNOULLI, 1, -36), (double)expl(-36), 1e-12, 0, "log-partition",
              RBM_UNIT_BERNOULLI, 1, -36);
    close_msg(lp1(RBM_UNIT_BERNOULLI, 1, -700), (double)expl(-700), 1e-12, 0, "log-partition",
              RBM_UNIT_BERNOULLI, 1, -700);
    close_msg(mean1(RBM_UNIT_BERNOULLI, 1, -700), (double)expl(-700), 1e-12, 0, "mean",
              RBM_UNIT_BERNOULLI, 1, -700);
}

static void test_vector_and_aliasing(void **state)
{
    (void)state;
    enum { N = 37 };
    double f[N], m[N], v[N], lp[N], buf[N];
    for (int i = 0; i < N; i++)
        f[i] = -9.0 + 0.5 * i;
    for (int ki = 0; ki < 3; ki++) {
        rbm_unit_kind k = kinds[ki];
        double s = 1.7;
        assert_int_equal(rbm_unit_eval(k, s, N, f, m, N, v, N, lp, N), RBM_OK);
        for (int i = 0; i < N; i++) {
            double m1, v1, l1;
            eval1(k, s, f[i], &m1, &v1, &l1);
            assert_true(m[i] == m1 && v[i] == v1 && lp[i] == l1);
        }
        /* each output may alias the field */
        memcpy(buf, f, sizeof f);
        assert_int_equal(rbm_unit_eval(k, s, N, buf, buf, N, NULL, 0, NULL, 0), RBM_OK);
        assert_memory_equal(buf, m, sizeof m);
        memcpy(buf, f, sizeof f);
        assert_int_equal(rbm_unit_eval(k, s, N, buf, NULL, 0, buf, N, NULL, 0), RBM_OK);
        assert_memory_equal(buf, v, sizeof v);
        memcpy(buf, f, sizeof f);
        assert_int_equal(rbm_unit_eval(k, s, N, buf, NULL, 0, NULL, 0, buf, N), RBM_OK);
        assert_memory_equal(buf, lp, sizeof lp);
        /* nothing requested, zero units */
        assert_int_equal(rbm_unit_eval(k, s, N, f, NULL, 0, NULL, 0, NULL, 0), RBM_OK);
        assert_int_equal(rbm_unit_eval(k, s, 0, NULL, NULL, 0, NULL, 0, NULL, 0), RBM_OK);
    }
}

static void test_eval_errors(void **state)
{
    (void)state;
    double x[3] = {0.1, -0.2, 0.3}, out[3];
    const double bad_sigma[] = {0.0, -0.0, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_sigma / sizeof bad_sigma[0]; i++) {
        if (rbm_unit_eval(RBM_UNIT_GAUSSIAN, bad_sigma[i], 3, x, out, 3, NULL, 0, NULL, 0) !=
            RBM_ERR_INVALID_ARGUMENT)
            fail_msg("Gaussian sigma %g accepted by rbm_unit_eval", bad_sigma[i]);
        rbm_context *ctx = rbm_test_context();
        rbm_rng *rng = NULL;
        RBM_OKAY(ctx, rbm_rng_new(ctx, 1, &rng));
        if (rbm_unit_sample(RBM_UNIT_GAUSSIAN, bad_sigma[i], 3, x, rng, out, 3) !=
            RBM_ERR_INVALID_ARGUMENT)
            fail_msg("Gaussian sigma %g accepted by rbm_unit_sample", bad_sigma[i]);
        rbm_rng_free(rng);
        rbm_context_free(ctx);
    }
    /* discrete kinds ignore sigma */
    assert_int_equal(rbm_unit_eval(RBM_UNIT_BERNOULLI, NAN, 3, x, out, 3, NULL, 0, NULL, 0),
                     RBM_OK);
    assert_int_equal(rbm_unit_eval(RBM_UNIT_ISING, -1.0, 3, x, out, 3, NULL, 0, NULL, 0), RBM_OK);

    const double bad_field[] = {NAN, INFINITY, -INFINITY};
    for (int ki = 0; ki < 3; ki++)
        for (size_t i = 0; i < 3; i++) {
            x[1] = bad_field[i];
            if (rbm_unit_eval(kinds[ki], 1.0, 3, x, out, 3, out, 3, out, 3) != RBM_ERR_NOT_FINITE)
                fail_msg("%s: field %g did not give RBM_ERR_NOT_FINITE", kind_names[ki],
                         bad_field[i]);
            x[1] = -0.2;
        }
    assert_int_equal(rbm_unit_eval((rbm_unit_kind)3, 1.0, 3, x, out, 3, NULL, 0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_unit_eval((rbm_unit_kind)-1, 1.0, 3, x, out, 3, NULL, 0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_unit_eval(RBM_UNIT_ISING, 1.0, 3, NULL, out, 3, NULL, 0, NULL, 0),
                     RBM_ERR_NULL);
}

static void test_sample_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 1, &rng));
    double x[3] = {0.1, -0.2, 0.3}, out[3];
    for (int ki = 0; ki < 3; ki++) {
        assert_int_equal(rbm_unit_sample(kinds[ki], 1.0, 3, x, NULL, out, 3), RBM_ERR_NULL);
        assert_int_equal(rbm_unit_sample(kinds[ki], 1.0, 3, x, rng, NULL, 3), RBM_ERR_NULL);
        assert_int_equal(rbm_unit_sample(kinds[ki], 1.0, 3, NULL, rng, out, 3), RBM_ERR_NULL);
        x[2] = NAN;
        assert_int_equal(rbm_unit_sample(kinds[ki], 1.0, 3, x, rng, out, 3), RBM_ERR_NOT_FINITE);
        x[2] = -INFINITY;
        assert_int_equal(rbm_unit_sample(kinds[ki], 1.0, 3, x, rng, out, 3), RBM_ERR_NOT_FINITE);
        x[2] = 0.3;
    }
    assert_int_equal(rbm_unit_sample((rbm_unit_kind)7, 1.0, 3, x, rng, out, 3),
                     RBM_ERR_INVALID_ARGUMENT);
    rbm_rng_free(rng);
    rbm_context_free(ctx);
}

/* Output lengths must equal n exactly: RBM_ERR_SHAPE otherwise, with no
 * output written (and, for sampling, no deviate drawn and a detail naming
 * out with the expected and given lengths). */
static void test_output_lengths(void **state)
{
    (void)state;
    double x[3] = {0.1, -0.2, 0.3};
    double mean[4], var[4], lp[4];
    const size_t bad_len[] = {0, 2, 4};
    for (int ki = 0; ki < 3; ki++)
        for (size_t t = 0; t < 3; t++)
            for (int which = 0; which < 3; which++) {
                for (int i = 0; i < 4; i++)
                    mean[i] = var[i] = lp[i] = 42.0;
                size_t ml = which == 0 ? bad_len[t] : 3, vl = which == 1 ? bad_len[t] : 3,
                       ll = which == 2 ? bad_len[t] : 3;
                rbm_status st = rbm_unit_eval(kinds[ki], 1.0, 3, x, mean, ml, var, vl, lp, ll);
                if (st != RBM_ERR_SHAPE)
                    fail_msg("%s: output %d with length %zu gave %s", kind_names[ki], which,
                             bad_len[t], rbm_status_name(st));
                for (int i = 0; i < 4; i++)
                    assert_true(mean[i] == 42.0 && var[i] == 42.0 && lp[i] == 42.0);
            }
    /* a NULL output ignores its length; the others are computed */
    for (int i = 0; i < 4; i++)
        mean[i] = 42.0;
    assert_int_equal(rbm_unit_eval(RBM_UNIT_BERNOULLI, 1.0, 3, x, mean, 3, NULL, 99, NULL, 7),
                     RBM_OK);
    for (int i = 0; i < 3; i++)
        rbm_assert_close(mean[i], 1.0 / (1.0 + exp(-x[i])), 1e-15, 0, "Bernoulli mean");
    assert_true(mean[3] == 42.0);

    rbm_context *ctx = rbm_test_context();
    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 5, &rng));
    uint8_t before[RBM_RNG_STATE_BYTES], after[RBM_RNG_STATE_BYTES];
    RBM_OKAY(ctx, rbm_rng_get_state(rng, before, sizeof before));
    for (size_t t = 0; t < 3; t++) {
        double out[4] = {42.0, 42.0, 42.0, 42.0};
        rbm_context_clear_error(ctx);
        assert_int_equal(rbm_unit_sample(RBM_UNIT_GAUSSIAN, 1.0, 3, x, rng, out, bad_len[t]),
                         RBM_ERR_SHAPE);
        char want[64];
        snprintf(want, sizeof want, "out has %zu elements, expected 3", bad_len[t]);
        if (!strstr(rbm_context_last_error(ctx), want))
            fail_msg("detail \"%s\" lacks \"%s\"", rbm_context_last_error(ctx), want);
        for (int i = 0; i < 4; i++)
            assert_true(out[i] == 42.0);
    }
    RBM_OKAY(ctx, rbm_rng_get_state(rng, after, sizeof after));
    assert_memory_equal(before, after, sizeof before);
    rbm_rng_free(rng);
    rbm_context_free(ctx);
}

/* Sampling: frequencies of discrete units match P(1) = sigm(x) (Bernoulli)
 * and P(+1) = sigm(2x) (Ising); Gaussian samples have mean sigma^2 x and
 * variance sigma^2. Tolerances: 5 standard errors. */
static void test_sampling_statistics(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 20240601, &rng));
    const double fields[] = {-3.0, -0.8, 0.0, 0.25, 1.1, 4.0};
    enum { NF = 6, REP = 40000, N = NF * REP };
    double *f = malloc(N * sizeof *f), *out = malloc(N * sizeof *out);
    assert_non_null(f);
    assert_non_null(out);
    for (int r = 0; r < REP; r++)
        for (int j = 0; j < NF; j++)
            f[r * NF + j] = fields[j];
    for (int ki = 0; ki < 3; ki++) {
        rbm_unit_kind k = kinds[ki];
        double s = 1.3;
        RBM_OKAY(ctx, rbm_unit_sample(k, s, N, f, rng, out, N));
        for (int j = 0; j < NF; j++) {
            long double s1 = 0, s2 = 0;
            for (int r = 0; r < REP; r++) {
                double y = out[r * NF + j];
                if (k == RBM_UNIT_BERNOULLI && !(y == 0.0 || y == 1.0))
                    fail_msg("Bernoulli sample %.17g", y);
                if (k == RBM_UNIT_ISING && !(y == -1.0 || y == 1.0))
                    fail_msg("Ising sample %.17g", y);
                if (!isfinite(y))
                    fail_msg("sample not finite");
                s1 += y;
                s2 += (long double)y * y;
            }
            double mean = (double)(s1 / REP);
            double want = (double)ref_mean(k, s, fields[j]);
            double var = (double)ref_var(k, s, fields[j]);
            double se = sqrt(var / REP);
            if (k != RBM_UNIT_GAUSSIAN && se == 0)
                se = 1.0 / REP;
            if (!(fabs(mean - want) <= 5 * se))
                fail_msg("%s sample mean at field %g: %.6f, expected %.6f +- 5 x %.2g",
                         kind_names[k], fields[j], mean, want, se);
            if (k == RBM_UNIT_ISING) {
                /* P(+1) = sigm(2x) */
                double p = (mean + 1) / 2, pw = (double)ref_sigm(2.0L * fields[j]);
                assert_true(fabs(p - pw) <= 5 * sqrt(pw * (1 - pw) / REP) + 1e-12);
            }
            if (k == RBM_UNIT_GAUSSIAN) {
                double ev = (double)(s2 / REP) - mean * mean;
                /* Var of the sample variance of a normal: 2 sigma^4 / n */
                if (!(fabs(ev - s * s) <= 5 * s * s * sqrt(2.0 / REP)))
                    fail_msg("Gaussian sample variance at field %g: %.6f, expected %.6f",
                             fields[j], ev, s * s);
            }
        }
    }
    free(f);
    free(out);
    rbm_rng_free(rng);
    rbm_context_free(ctx);
}

/* One uniform (discrete) or one normal (Gaussian) deviate per unit, in index
 * order: after sampling n units, the generator is where a twin generator is
 * after n uniforms / n normals. Output may alias the field. */
static void test_sampling_deviates_and_aliasing(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { N = 101 };
    double f[N], out[N], buf[N];
    for (int i = 0; i < N; i++)
        f[i] = 0.05 * (i - 50);
    for (int ki = 0; ki < 3; ki++) {
        rbm_unit_kind k = kinds[ki];
        rbm_rng *a = NULL, *b = NULL, *c = NULL;
        RBM_OKAY(ctx, rbm_rng_new(ctx, 77, &a));
        RBM_OKAY(ctx, rbm_rng_new(ctx, 77, &b));
        RBM_OKAY(ctx, rbm_rng_new(ctx, 77, &c));
        RBM_OKAY(ctx, rbm_unit_sample(k, 0.9, N, f, a, out, N));
        for (int i = 0; i < N; i++) {
            if (k == RBM_UNIT_GAUSSIAN)
                (void)rbm_rng_normal(b);
            else
                (void)rbm_rng_uniform(b);
        }
        for (int i = 0; i < 5; i++) {
            double x = rbm_rng_normal(a), y = rbm_rng_normal(b);
            if (x != y)
                fail_msg("%s: sampling %d units did not use %d deviates", kind_names[k], N, N);
        }
        /* aliasing gives the same values */
        memcpy(buf, f, sizeof f);
        RBM_OKAY(ctx, rbm_unit_sample(k, 0.9, N, buf, c, buf, N));
        assert_memory_equal(buf, out, sizeof out);
        rbm_rng_free(a);
        rbm_rng_free(b);
        rbm_rng_free(c);
    }
    rbm_context_free(ctx);
}

/* Extreme fields sample the certain outcome. */
static void test_sampling_extremes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 5, &rng));
    enum { N = 1000 };
    double f[N], out[N];
    for (int i = 0; i < N; i++)
        f[i] = (i % 2 ? 1 : -1) * (i % 4 < 2 ? 1e3 : 1e30);
    RBM_OKAY(ctx, rbm_unit_sample(RBM_UNIT_BERNOULLI, 1, N, f, rng, out, N));
    for (int i = 0; i < N; i++)
        assert_true(out[i] == (f[i] > 0 ? 1.0 : 0.0));
    RBM_OKAY(ctx, rbm_unit_sample(RBM_UNIT_ISING, 1, N, f, rng, out, N));
    for (int i = 0; i < N; i++)
        assert_true(out[i] == (f[i] > 0 ? 1.0 : -1.0));
    rbm_rng_free(rng);
    rbm_context_free(ctx);
}

/* The float32 kernels (used through a machine's training precision) at
 * fields of magnitude 1e3 and 1e30: a Gibbs sampler on a machine whose
 * biases dominate every field must land on the certain states, finite and in
 * the support, in float32 as in float64. */
static void test_large_fields_both_precisions(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double scales[2] = {1e3, 1e30};
    const rbm_precision precs[2] = {RBM_PRECISION_FLOAT64, RBM_PRECISION_FLOAT32};
    enum { NV = 3, NH = 2, C = 4 };
    for (int p = 0; p < 2; p++)
        for (int sc = 0; sc < 2; sc++)
            for (int vk = 0; vk < 2; vk++)
                for (int hk = 0; hk < 2; hk++) {
                    double S = scales[sc];
                    double W[NV * NH], a[NV] = {5 * S, -5 * S, 5 * S}, b[NH] = {-5 * S, 5 * S};
                    for (int k = 0; k < NV * NH; k++)
                        W[k] = (k % 3 ? 1 : -1) * S;
                    rbm_machine *m = NULL;
                    RBM_OKAY(ctx, rbm_machine_new(ctx, NV, NH, kinds[vk], kinds[hk], &m));
                    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NV * NH));
                    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, NV));
                    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, NH));
                    RBM_OKAY(ctx, rbm_machine_set_precision(m, precs[p]));
                    rbm_sampler *smp = NULL;
                    RBM_OKAY(ctx, rbm_sampler_new(m, C, 11, &smp));
                    RBM_OKAY(ctx, rbm_sampler_run(smp, 3));
                    double v[C * NV], h[C * NH];
                    RBM_OKAY(ctx, rbm_sampler_get_visible(smp, v, C * NV));
                    RBM_OKAY(ctx, rbm_sampler_get_hidden(smp, h, C * NH));
                    double down_v = kinds[vk] == RBM_UNIT_BERNOULLI ? 0.0 : -1.0;
                    double down_h = kinds[hk] == RBM_UNIT_BERNOULLI ? 0.0 : -1.0;
                    for (int c = 0; c < C; c++) {
                        for (int i = 0; i < NV; i++)
                            if (v[c * NV + i] != (a[i] > 0 ? 1.0 : down_v))
                                fail_msg("%s precision, scale %g, %s/%s: v[%d][%d] = %g",
                                         p ? "float32" : "float64", S, kind_names[vk],
                                         kind_names[hk], c, i, v[c * NV + i]);
                        for (int j = 0; j < NH; j++)
                            if (h[c * NH + j] != (b[j] > 0 ? 1.0 : down_h))
                                fail_msg("%s precision, scale %g, %s/%s: h[%d][%d] = %g",
                                         p ? "float32" : "float64", S, kind_names[vk],
                                         kind_names[hk], c, j, h[c * NH + j]);
                    }
                    rbm_sampler_free(smp);
                    rbm_machine_free(m);
                }
    rbm_context_free(ctx);
}

/* Variances keep their relative accuracy where the unit saturates: at
 * |x| = 5, 20, 100, 300 the exact value is down to e^-600, and a form like
 * p (1 - p) or 1 - tanh^2 loses every digit there. */
static void test_variance_relative_accuracy(void **state)
{
    (void)state;
    const double xs[] = {-300, -100, -20, -5, -0.5, 0, 0.5, 5, 20, 100, 300};
    const rbm_unit_kind discrete[] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
            double v;
            eval1(discrete[k], 1.0, xs[i], NULL, &v, NULL);
            double want = (double)ref_var(discrete[k], 1.0L, xs[i]);
            assert_true(want > 0);
            close_msg(v, want, 1e-13, 0, "variance (relative)", discrete[k], 1.0, xs[i]);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_derivative_identities),
        cmocka_unit_test(test_stability),
        cmocka_unit_test(test_vector_and_aliasing),
        cmocka_unit_test(test_eval_errors),
        cmocka_unit_test(test_sample_errors),
        cmocka_unit_test(test_output_lengths),
        cmocka_unit_test(test_sampling_statistics),
        cmocka_unit_test(test_sampling_deviates_and_aliasing),
        cmocka_unit_test(test_sampling_extremes),
        cmocka_unit_test(test_large_fields_both_precisions),
        cmocka_unit_test(test_variance_relative_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
