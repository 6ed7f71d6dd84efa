/* Tests for the metrics of machines with a Potts visible layer
 * (docs/potts.md): exact log Z and log-likelihood, the pseudo-likelihood,
 * AIS from the weighted site frequencies, and the weighted data averages.
 *
 * References computed here (tests/common/potts_ref.c): log Z and p(v) by
 * enumerating every (v, h) pair in long double; log p(v_i | v_-i) as
 * log p(v) - log sum_c p(v with v_i = c) from that table; the site
 * frequencies counted by the test. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "potts_ref.h"

/* Exact log Z, both enumerated layers (nh = 2: the hidden one; nh = 6: the
 * visible one), and the exact (weighted) log-likelihood. */
static void test_exact_log_z_and_ll(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nhs[2] = {2, 6};
    for (int c = 0; c < 2; c++) {
        params p;
        random_params(&p, nhs[c], 81 + (uint64_t)c, 0.9);
        rbm_machine *m = potts_machine(ctx, &p);
        model_stats ms;
        enumerate_model(&p, &ms);
        double lz;
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
        rbm_assert_close(lz, (double)ms.log_z, 1e-13, 1e-13, "exact log Z");
        enum { R = 5 };
        const uint8_t X[R * N] = {0, 1, 2, 2, 2, 2, 1, 0, 0, 0, 0, 1, 2, 1, 0};
        const double w[R] = {0.5, 2, 1, 0, 3};
        rbm_dataset *d = categorical(ctx, X, R);
        double ll, ll_ref = mean_ll(&p, R, X), wll = 0, wsum = 0;
        RBM_OKAY(ctx, rbm_exact_log_likelihood(m, d, &ll, NULL));
        rbm_assert_close(ll, ll_ref, 1e-12, 1e-12, "exact log-likelihood");
        for (size_t r = 0; r < R; r++) {
            wll += w[r] * log(ms.pv[code_of(X + r * N)]);
            wsum += w[r];
        }
        RBM_OKAY(ctx, rbm_dataset_set_weights(d, w, R));
        RBM_OKAY(ctx, rbm_exact_log_likelihood(m, d, &ll, NULL));
        rbm_assert_close(ll, wll / wsum, 1e-12, 1e-12, "weighted exact log-likelihood");
        rbm_dataset_free(d);
        rbm_machine_free(m);
    }
    rbm_context_free(ctx);
}

/* log p(v_i | v_-i) summed over sites, mean (and weighted mean) over rows */
static double ref_pll(const model_stats *ms, size_t R, const uint8_t *X, const double *w)
{
    double acc = 0, wsum = 0;
    for (size_t r = 0; r < R; r++) {
        uint8_t x[N];
        memcpy(x, X + r * N, N);
        double row = 0;
        for (int i = 0; i < N; i++) {
            double z = 0;
            uint8_t keep = x[i];
            for (uint8_t c = 0; c < Q; c++) {
                x[i] = c;
                z += ms->pv[code_of(x)];
            }
            x[i] = keep;
            row += log(ms->pv[code_of(x)] / z);
        }
        double wr = w ? w[r] : 1.0;
        acc += wr * row;
        wsum += wr;
    }
    return acc / wsum;
}

static void test_pseudo_likelihood(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params p;
    random_params(&p, 3, 91, 1.1);
    rbm_machine *m = potts_machine(ctx, &p);
    model_stats ms;
    enumerate_model(&p, &ms);
    enum { R = 40 };
    uint8_t X[R * N];
    r_seed(92);
    for (size_t k = 0; k < R * N; k++)
        X[k] = (uint8_t)(r_u64() % Q);
    double w[R];
    for (size_t r = 0; r < R; r++)
        w[r] = (double)(r % 4);
    rbm_dataset *d = categorical(ctx, X, R);
    double pll;
    RBM_OKAY(ctx, rbm_pseudo_log_likelihood(m, d, &pll));
    rbm_assert_close(pll, ref_pll(&ms, R, X, NULL), 1e-12, 1e-12, "pseudo-likelihood");
    RBM_OKAY(ctx, rbm_dataset_set_weights(d, w, R));
    RBM_OKAY(ctx, rbm_pseudo_log_likelihood(m, d, &pll));
    rbm_assert_close(pll, ref_pll(&ms, R, X, w), 1e-12, 1e-12, "weighted pseudo-likelihood");
    rbm_dataset_free(d);
    /* values that are not states */
    const double bad[2 * N] = {0, 1, 2, 0, 3, 1};
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, bad, RBM_DTYPE_FLOAT64, 2, N, RBM_COPY, &d));
    RBM_CHECK(ctx, rbm_pseudo_log_likelihood(m, d, &pll), RBM_ERR_OUT_OF_RANGE);
    rbm_dataset_free(d);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The base of AIS and the visible-bias init are the weighted site
 * frequencies with the pseudo-count: with W = 0 and a = those fields the
 * machine is the base times 2^nh, so AIS is exact with zero variance. */
static void test_site_frequency_base(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { R = 7 };
    const uint8_t X[R * N] = {0, 1, 2, 2, 2, 2, 1, 0, 0, 0, 0, 1, 2, 1, 0, 1, 1, 1, 0, 2, 2};
    const double w[R] = {0.5, 2, 1, 0, 3, 1, 0.25};
    rbm_dataset *d = categorical(ctx, X, R);
    RBM_OKAY(ctx, rbm_dataset_set_weights(d, w, R));
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, N, Q, 2, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_visible_bias_from_data(m, d));
    double a[NA], wsum = 0, lz_ref = 2 * log(2.0);
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, a, NA));
    for (size_t r = 0; r < R; r++)
        wsum += w[r];
    const double lam = RBM_POTTS_PSEUDO_COUNT;
    for (int i = 0; i < N; i++) {
        double f[Q] = {0}, lf[Q], mean = 0, z = 0;
        for (size_t r = 0; r < R; r++)
            f[X[r * N + i]] += w[r];
        for (int c = 0; c < Q; c++) {
            lf[c] = log((1 - lam) * f[c] / wsum + lam / Q);
            mean += lf[c] / Q;
        }
        for (int c = 0; c < Q; c++) {
            rbm_assert_close(a[i * Q + c], lf[c] - mean, 1e-14, 1e-14, "weighted site field");
            z += exp(a[i * Q + c]);
        }
        lz_ref += log(z);
    }
    rbm_ais *ais;
    RBM_OKAY(ctx, rbm_ais_new(m, 5, &ais));
    RBM_OKAY(ctx, rbm_ais_set_base_from_data(ais, d));
    RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 50));
    /* the base's log Z counts its free hidden units: 2 log 2 */
    rbm_assert_close(rbm_ais_base_log_z(ais), lz_ref, 1e-13, 1e-13, "AIS base log Z");
    double lz, se;
    RBM_OKAY(ctx, rbm_ais_run(ais, 0, &lz, &se));
    rbm_assert_close(lz, lz_ref, 1e-12, 1e-12, "AIS log Z, model = base");
    double exact;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &exact));
    rbm_assert_close(exact, lz_ref, 1e-12, 1e-12, "exact log Z of the independent-site model");
    rbm_ais_free(ais);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* AIS forward and reverse on a coupled machine: within 4 standard errors
 * (plus 0.005 for the bias of log of a mean) of the exact log Z. */
static void test_ais_coupled(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params planted;
    enum { R = 2000 };
    uint8_t *X = planted_samples(101, 1.3, R, &planted);
    rbm_machine *m = potts_machine(ctx, &planted);
    rbm_dataset *d = categorical(ctx, X, R);
    double exact;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &exact));
    for (int reverse = 0; reverse < 2; reverse++) {
        rbm_ais *ais;
        RBM_OKAY(ctx, rbm_ais_new(m, 11 + (uint64_t)reverse, &ais));
        RBM_OKAY(ctx, rbm_ais_set_base_from_data(ais, d));
        RBM_OKAY(ctx, rbm_ais_set_runs(ais, 200));
        RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 2000));
        RBM_OKAY(ctx, rbm_ais_set_reverse_burn_in(ais, 200));
        assert_int_equal(rbm_ais_reverse_start_is_exact(ais), 0);
        double lz, se;
        RBM_OKAY(ctx, rbm_ais_run(ais, reverse, &lz, &se));
        if (!(fabs(lz - exact) <= 4 * se + 0.005))
            fail_msg("%s AIS: log Z %g +- %g, exact %g", reverse ? "reverse" : "forward", lz, se,
                     exact);
        rbm_ais_free(ais);
    }
    rbm_dataset_free(d);
    rbm_machine_free(m);
    free(X);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_log_z_and_ll),
        cmocka_unit_test(test_pseudo_likelihood),
        cmocka_unit_test(test_site_frequency_base),
        cmocka_unit_test(test_ais_coupled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
