/* Tests of the mixing diagnostics (diagnostics.h): the integrated
 * autocorrelation time of AR(1) processes with known tau = (1+phi)/(1-phi),
 * and of a Gibbs chain of a small machine whose tau is computed exactly
 * from its transition matrix (enumeration). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

static void test_ar1(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double phis[] = {0.0, 0.5, 0.9, -0.5};
    const size_t T = 100000, S = 4;
    double *x = xzalloc(T * S * sizeof(double));
    for (size_t k = 0; k < sizeof phis / sizeof phis[0]; k++) {
        double phi = phis[k];
        r_seed(100 + k);
        for (size_t c = 0; c < S; c++) {
            double y = r_norm() / sqrt(1 - phi * phi); /* stationary start */
            for (size_t t = 0; t < T; t++) {
                y = phi * y + r_norm();
                x[t * S + c] = y;
            }
        }
        double tau, ess, want = (1 + phi) / (1 - phi);
        size_t M;
        RBM_OKAY(ctx, rbm_autocorr_time(ctx, x, T, S, 5.0, &tau, &ess, &M));
        print_message("# AR(1) phi %.2f: tau %.3f (exact %.3f), ESS %.0f, window %zu\n", phi,
                      tau, want, ess, M);
        rbm_assert_close(tau, want, 0.08, 0.02, "AR(1) tau_int");
        rbm_assert_close(ess, (double)(T * S) / tau, 1e-12, 0, "ESS = n / tau");
    }
    free(x);
    rbm_context_free(ctx);
}

/* Exact tau of f(v) = sum_i v_i for the visible Gibbs chain of r:
 * T(v'|v) = sum_h p(h|v) p(v'|h), tau = 1 + 2 sum_{t>=1} rho(t). */
static double exact_gibbs_tau(const ref_rbm *r)
{
    const size_t nv = r->nv, nh = r->nh, NV = (size_t)1 << nv, NH = (size_t)1 << nh;
    double *T = xzalloc(NV * NV * sizeof(double)), *pi = xzalloc(NV * sizeof(double));
    double *f = xzalloc(NV * sizeof(double)), *g = xzalloc(NV * sizeof(double));
    double *g2 = xzalloc(NV * sizeof(double));
    double v[16], h[16];
    ref_exact_layer_probs(r, RBM_LAYER_VISIBLE, pi);
    for (size_t a = 0; a < NV; a++) {
        ref_state(r->vk, nv, a, v);
        f[a] = 0;
        for (size_t i = 0; i < nv; i++)
            f[a] += v[i];
        for (size_t hb = 0; hb < NH; hb++) {
            ref_state(r->hk, nh, hb, h);
            double ph = 1; /* p(h|v) for Bernoulli hidden units */
            for (size_t j = 0; j < nh; j++) {
                double u = r->b[j];
                for (size_t i = 0; i < nv; i++)
                    u += v[i] * r->W[i * nh + j];
                double p1 = 1 / (1 + exp(-u));
                ph *= h[j] > 0.5 ? p1 : 1 - p1;
            }
            for (size_t b = 0; b < NV; b++) {
                double w[16], pv = 1;
                ref_state(r->vk, nv, b, w);
                for (size_t i = 0; i < nv; i++) {
                    double u = r->a[i];
                    for (size_t j = 0; j < nh; j++)
                        u += r->W[i * nh + j] * h[j];
                    double p1 = 1 / (1 + exp(-u));
                    pv *= w[i] > 0.5 ? p1 : 1 - p1;
                }
                T[a * NV + b] += ph * pv;
            }
        }
    }
    double mean = 0, var = 0;
    for (size_t a = 0; a < NV; a++)
        mean += pi[a] * f[a];
    for (size_t a = 0; a < NV; a++) {
        g[a] = f[a] - mean;
        var += pi[a] * g[a] * g[a];
    }
    double *fc = xzalloc(NV * sizeof(double));
    memcpy(fc, g, NV * sizeof(double));
    double tau = 1;
    for (int t = 1; t < 100000; t++) { /* g <- T g, rho(t) = <fc, T^t fc>_pi / var */
        for (size_t a = 0; a < NV; a++) {
            g2[a] = 0;
            for (size_t b = 0; b < NV; b++)
                g2[a] += T[a * NV + b] * g[b];
        }
        memcpy(g, g2, NV * sizeof(double));
        double rho = 0;
        for (size_t a = 0; a < NV; a++)
            rho += pi[a] * fc[a] * g[a];
        rho /= var;
        tau += 2 * rho;
        if (fabs(rho) < 1e-14)
            break;
    }
    free(T), free(pi), free(f), free(g), free(g2), free(fc);
    return tau;
}

static void test_gibbs_chain(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    /* two hidden units each coupled strongly to every visible unit: the
     * chain lingers in the all-on and all-off states */
    ref_rbm *r = ref_new(4, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    for (size_t i = 0; i < 4; i++) {
        r->a[i] = -1.5;
        for (size_t j = 0; j < 2; j++)
            r->W[i * 2 + j] = 1.6;
    }
    r->b[0] = r->b[1] = -3.2;
    double want = exact_gibbs_tau(r);
    rbm_machine *m = ref_to_machine(ctx, r);
    const size_t S = 64, T = 20000;
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, S, 9, &s));
    RBM_OKAY(ctx, rbm_sampler_run(s, 200));
    double *x = xzalloc(T * S * sizeof(double)), *V = xzalloc(S * 4 * sizeof(double));
    for (size_t t = 0; t < T; t++) {
        RBM_OKAY(ctx, rbm_sampler_run(s, 1));
        RBM_OKAY(ctx, rbm_sampler_get_visible(s, V, S * 4));
        for (size_t c = 0; c < S; c++)
            x[t * S + c] = V[c * 4] + V[c * 4 + 1] + V[c * 4 + 2] + V[c * 4 + 3];
    }
    double tau;
    RBM_OKAY(ctx, rbm_autocorr_time(ctx, x, T, S, 5.0, &tau, NULL, NULL));
    print_message("# Gibbs chain 4x2: tau %.3f, exact from the transition matrix %.3f\n", tau,
                  want);
    assert_true(want > 2);
    rbm_assert_close(tau, want, 0.05, 0, "Gibbs tau_int");
    free(x);
    free(V);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

static void test_bad_input(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double x[6] = {1, 2, 3, 4, 5, 6}, tau = -1;
    assert_int_equal(rbm_autocorr_time(NULL, x, 3, 2, 5, &tau, NULL, NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, NULL, 3, 2, 5, &tau, NULL, NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, x, 1, 2, 5, &tau, NULL, NULL),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, x, 3, 0, 5, &tau, NULL, NULL),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, x, 3, 2, 0, &tau, NULL, NULL),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, x, 3, 2, NAN, &tau, NULL, NULL),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, x, SIZE_MAX, 2, 5, &tau, NULL, NULL),
              RBM_ERR_TOO_LARGE);
    assert_true(tau == -1);
    x[3] = INFINITY;
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, x, 3, 2, 5, &tau, NULL, NULL), RBM_ERR_NOT_FINITE);
    /* a constant series: tau 1 */
    double c[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    RBM_OKAY(ctx, rbm_autocorr_time(ctx, c, 8, 1, 5, &tau, NULL, NULL));
    assert_true(tau == 1);
    /* a trend: too short for the window rule */
    double lin[4] = {0, 1, 2, 3};
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, lin, 4, 1, 5, &tau, NULL, NULL),
              RBM_ERR_NOT_CONVERGED);
    /* ten steps of a sine of period 3: the window closes at M = 5 on the
     * negative estimate tau(5) = -0.817 (computed by hand from the same
     * formula): refused, tau set */
    double sine[10];
    for (int t = 0; t < 10; t++)
        sine[t] = sin(2.0943951023931953 * t);
    tau = 0;
    RBM_CHECK(ctx, rbm_autocorr_time(ctx, sine, 10, 1, 5, &tau, NULL, NULL),
              RBM_ERR_NOT_CONVERGED);
    rbm_assert_close(tau, -0.8174603174603177, 1e-12, 0, "tau of the short sine");
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ar1),
        cmocka_unit_test(test_gibbs_chain),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
