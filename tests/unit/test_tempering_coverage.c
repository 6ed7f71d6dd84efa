/* Coverage of the standard errors of log Z from a tempering ladder
 * (rbm_tempering_log_z_estimates, docs/sampling.md): on machines whose
 * exact log Z is known by enumeration (tests/common/reference.c, not
 * lib/), BAR and both exponential averages over SEEDS independent seeds,
 * counting how often |estimate - exact| <= 2 SE (nominal 95%) and <= 1 SE
 * (nominal 68%).
 *
 * The panel: a random Bernoulli machine on a temperature ladder, the
 * strongly two-mode Ising machine (w = 2 on 10 units, a barrier of about 19
 * nats; the top-rung chains change mode only through the ladder, so the
 * work values of consecutive sweeps are strongly correlated), and a
 * trajectory ladder (PTT) over the models of a training run on two-mode
 * data. Short runs (40 chains, 200 recorded sweeps) keep the correlations
 * visible.
 *
 * What is asserted, per machine and estimate, over SEEDS = 40 seeds:
 *   - at least 32 (80%) within 2 SE. The jackknife over G = 32 groups of
 *     chains has 31 degrees of freedom, so its nominal coverage at 2 SE is
 *     P(|t_31| <= 2) = 0.946; at that rate, P(fewer than 32 of 40) =
 *     2.3e-4 (binomial), a negligible false-alarm rate;
 *   - at most 37 (92.5%) within 1 SE: an error inflated to be safe fails
 *     here (nominal 0.675; P(more than 37 of 40) = 4e-5);
 *   - the estimates are unbiased at the scale of the errors: the mean of
 *     (estimate - exact) over the seeds is within 4 of its own standard
 *     error (SE over seeds).
 * The measured rates are printed. */
#include "reference.h"
#include "tempering_ref.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEDS 40
#define CHAINS 40
#define BURN 100
#define SWEEPS 200

enum { BAR, EXP_FWD, EXP_REV, N_EST };
static const char *const EST_NAME[N_EST] = {"BAR", "EXP forward", "EXP reverse"};

/* A ladder to sample: a temperature ladder of R rungs on m, or (models
 * non-NULL) a trajectory ladder over n_models models. */
typedef struct {
    const char *name;
    rbm_machine *m;
    size_t R;
    const rbm_machine *const *models;
    size_t n_models;
    double exact;
} ladder_case;

static void check_coverage(rbm_context *ctx, const ladder_case *lc)
{
    size_t in2[N_EST] = {0}, in1[N_EST] = {0};
    double sum[N_EST] = {0}, sq[N_EST] = {0}, se_mean[N_EST] = {0};
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        rbm_tempering *t = NULL;
        if (lc->models)
            RBM_OKAY(ctx, rbm_tempering_new_models(lc->models, lc->n_models, CHAINS, seed, &t));
        else
            RBM_OKAY(ctx, rbm_tempering_new(lc->m, lc->R, NULL, CHAINS, seed, &t));
        RBM_OKAY(ctx, rbm_tempering_run(t, BURN));
        double x[N_EST], se[N_EST];
        RBM_OKAY(ctx, rbm_tempering_log_z_estimates(t, SWEEPS, &x[BAR], &se[BAR], &x[EXP_FWD],
                                                    &se[EXP_FWD], &x[EXP_REV], &se[EXP_REV]));
        rbm_tempering_free(t);
        for (int k = 0; k < N_EST; k++) {
            double d = x[k] - lc->exact;
            assert_true(se[k] > 0 && isfinite(se[k]));
            in2[k] += fabs(d) <= 2 * se[k];
            in1[k] += fabs(d) <= se[k];
            sum[k] += d;
            sq[k] += d * d;
            se_mean[k] += se[k] / SEEDS;
        }
    }
    for (int k = 0; k < N_EST; k++) {
        double mean = sum[k] / SEEDS, sd = sqrt(fmax(sq[k] / SEEDS - mean * mean, 0));
        double sem = sd / sqrt(SEEDS - 1.0);
        print_message("# %-34s %-11s within 2 SE %2zu/%d, within 1 SE %2zu/%d; mean error "
                      "%+.5f +- %.5f, spread %.5f, mean SE %.5f\n",
                      lc->name, EST_NAME[k], in2[k], SEEDS, in1[k], SEEDS, mean, sem, sd,
                      se_mean[k]);
        if (in2[k] < 32)
            fail_msg("%s, %s: only %zu of %d seeds within 2 SE", lc->name, EST_NAME[k], in2[k],
                     SEEDS);
        if (in1[k] > 37)
            fail_msg("%s, %s: %zu of %d seeds within 1 SE (errors inflated)", lc->name,
                     EST_NAME[k], in1[k], SEEDS);
        if (!(fabs(mean) <= 4 * sem))
            fail_msg("%s, %s: mean error %g beyond 4 x %g", lc->name, EST_NAME[k], mean, sem);
    }
}

static void check_ref(const ref_rbm *r, size_t R, const char *name)
{
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    ladder_case lc = {name, m, R, NULL, 0, ref_log_z(r)};
    check_coverage(ctx, &lc);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_coverage_random(void **state)
{
    (void)state;
    ref_rbm *r = random_ref(8, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 21, 1.0);
    check_ref(r, 8, "bernoulli 8x5, 8 rungs");
    ref_free(r);
}

static void test_coverage_bimodal(void **state)
{
    (void)state;
    ref_rbm *r = bimodal_ref(10, 2.0);
    check_ref(r, 16, "two-mode ising 10x1 w=2, 16 rungs");
    ref_free(r);
}

static void test_coverage_ptt(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { K = 12 };
    rbm_machine *models[K];
    size_t nm = train_trajectory(ctx, 10, 4, models, K);
    double exact;
    RBM_OKAY(ctx, rbm_exact_log_z(models[nm - 1], &exact));
    ladder_case lc = {"PTT, 12 models of a 10x4 run", NULL, 0,
                      (const rbm_machine *const *)models, nm, exact};
    check_coverage(ctx, &lc);
    for (size_t i = 0; i < nm; i++)
        rbm_machine_free(models[i]);
    rbm_context_free(ctx);
}

/* With one chain there is nothing to jackknife: NaN errors, finite
 * estimates; NULL error pointers are allowed. */
static void test_one_chain(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = random_ref(4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 2, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_tempering *t = NULL;
    RBM_OKAY(ctx, rbm_tempering_new(m, 4, NULL, 1, 3, &t));
    double lz, se, f, fse, rv, rse;
    RBM_OKAY(ctx, rbm_tempering_log_z_estimates(t, 50, &lz, &se, &f, &fse, &rv, &rse));
    assert_true(isfinite(lz) && isfinite(f) && isfinite(rv));
    assert_true(isnan(se) && isnan(fse) && isnan(rse));
    RBM_OKAY(ctx, rbm_tempering_log_z_estimates(t, 50, &lz, NULL, NULL, NULL, NULL, NULL));
    RBM_CHECK(ctx, rbm_tempering_log_z_estimates(t, 50, NULL, &se, NULL, NULL, NULL, NULL),
              RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_tempering_log_z_estimates(t, 1, &lz, NULL, NULL, NULL, NULL, NULL),
              RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_tempering_log_z_estimates(NULL, 50, &lz, NULL, NULL, NULL, NULL, NULL),
                     RBM_ERR_NULL);
    rbm_tempering_free(t);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coverage_random),
        cmocka_unit_test(test_coverage_bimodal),
        cmocka_unit_test(test_coverage_ptt),
        cmocka_unit_test(test_one_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
