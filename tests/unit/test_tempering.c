/* Tests of parallel tempering (tempering.h): samples against exact
 * marginals by enumeration (chi-square, fixed seeds), a strongly bimodal
 * machine on which plain Gibbs stays in one mode, log Z by BAR against
 * exact log Z, the automatic ladder, trajectory ladders (PTT) built from a
 * training run, determinism and bad input. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reference.h"
#include "tempering_ref.h"

/* Chi-square of the n visible states in V (n x nv) against the exact
 * marginal of r; fails above the critical value at alpha. */
static void check_visible_histogram(const ref_rbm *r, const double *V, size_t n, double alpha,
                                    const char *what)
{
    size_t nb = (size_t)1 << r->nv;
    size_t *count = xzalloc(nb * sizeof(size_t));
    double *p = xzalloc(nb * sizeof(double));
    for (size_t c = 0; c < n; c++)
        count[ref_config_index(r->vk, r->nv, V + c * r->nv)]++;
    ref_exact_layer_probs(r, RBM_LAYER_VISIBLE, p);
    double df = 0, stat = ref_chi2_stat(nb, p, count, n, &df);
    double crit = ref_chi2_critical(df, alpha);
    print_message("# %s: chi2 = %.2f, df = %.0f, critical = %.2f\n", what, stat, df, crit);
    if (!(stat < crit))
        fail_msg("%s: histogram differs from the exact marginal (chi2 %.2f >= %.2f)", what, stat,
                 crit);
    free(count);
    free(p);
}

/* PT samples of the top rung match the exact marginal: final states of
 * independent chain slots, for a random and for the bimodal machine. */
static void sample_and_check(const ref_rbm *r, size_t R, size_t n, size_t sweeps, uint64_t seed,
                             const char *what)
{
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_tempering *t = NULL;
    RBM_OKAY(ctx, rbm_tempering_new(m, R, NULL, n, seed, &t));
    RBM_OKAY(ctx, rbm_tempering_run(t, sweeps));
    double *V = xzalloc(n * r->nv * sizeof(double));
    RBM_OKAY(ctx, rbm_tempering_get_visible(t, R - 1, V, n * r->nv));
    check_visible_histogram(r, V, n, 1e-3, what);
    free(V);
    rbm_tempering_free(t);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_pt_matches_exact_random(void **state)
{
    (void)state;
    ref_rbm *r = random_ref(6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 11, 1.0);
    sample_and_check(r, 4, 3000, 60, 5, "PT bernoulli 6x4");
    ref_free(r);
    r = random_ref(5, 3, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, 12, 0.6);
    sample_and_check(r, 4, 3000, 60, 6, "PT ising-gaussian 5x3");
    ref_free(r);
}

/* Mode of each chain slot (sign of sum v), and the number of changes of
 * mode between consecutive sweeps. */
static size_t mode_changes(const double *V, int *mode, size_t n, size_t nv)
{
    size_t changes = 0;
    for (size_t c = 0; c < n; c++) {
        double s = 0;
        for (size_t i = 0; i < nv; i++)
            s += V[c * nv + i];
        int md = s > 0 ? 1 : s < 0 ? -1 : 0;
        if (md != 0 && mode[c] != 0 && md != mode[c])
            changes++;
        if (md != 0)
            mode[c] = md;
    }
    return changes;
}

/* The bimodal machine: plain Gibbs chains do not switch mode in 10^4
 * sweeps, PT chains switch often, and PT's samples match the exact
 * marginal (which puts half the mass in each mode). */
static void test_bimodal_gibbs_vs_pt(void **state)
{
    (void)state;
    const size_t nv = 10, n = 20, sweeps = 10000;
    ref_rbm *r = bimodal_ref(nv, 2.0);
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    double *V = xzalloc(n * nv * sizeof(double));
    int *mode = xzalloc(n * sizeof(int));

    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, n, 3, &s));
    size_t gibbs = 0;
    for (size_t k = 0; k < sweeps; k++) {
        RBM_OKAY(ctx, rbm_sampler_run(s, 1));
        RBM_OKAY(ctx, rbm_sampler_get_visible(s, V, n * nv));
        gibbs += mode_changes(V, mode, n, nv);
    }
    rbm_sampler_free(s);

    memset(mode, 0, n * sizeof(int));
    rbm_tempering *t = NULL;
    RBM_OKAY(ctx, rbm_tempering_new(m, 16, NULL, n, 3, &t));
    size_t pt = 0;
    for (size_t k = 0; k < sweeps; k++) {
        RBM_OKAY(ctx, rbm_tempering_run(t, 1));
        RBM_OKAY(ctx, rbm_tempering_get_visible(t, 15, V, n * nv));
        pt += mode_changes(V, mode, n, nv);
    }
    double acc[15];
    uint64_t trips = 0;
    double trip_len = 0;
    RBM_OKAY(ctx, rbm_tempering_swap_stats(t, acc, 15, &trips, &trip_len));
    print_message("# bimodal w = 2, nv = 10: mode switches per 1e4 sweeps per chain: Gibbs "
                  "%.2f, PT(16) %.2f; round trips %llu (mean %.1f sweeps)\n",
                  (double)gibbs / (double)n, (double)pt / (double)n, (unsigned long long)trips,
                  trip_len);
    assert_int_equal(gibbs, 0);
    assert_true(pt > 50 * n);
    assert_true(trips > 10 * n);
    rbm_tempering_free(t);

    /* exact marginal with many independent slots */
    const size_t big = 4000;
    double *W = xzalloc(big * nv * sizeof(double));
    RBM_OKAY(ctx, rbm_tempering_new(m, 16, NULL, big, 4, &t));
    RBM_OKAY(ctx, rbm_tempering_run(t, 300));
    RBM_OKAY(ctx, rbm_tempering_get_visible(t, 15, W, big * nv));
    check_visible_histogram(r, W, big, 1e-3, "PT bimodal ising 10x1 (w = 2)");
    rbm_tempering_free(t);
    free(W);
    free(V);
    free(mode);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    ref_free(r);
}

/* BAR log Z along a temperature ladder agrees with exact log Z within 3
 * standard errors, and the exponential averages are close. */
static void check_log_z(const ref_rbm *r, size_t R, size_t n, size_t sweeps, const char *what)
{
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_tempering *t = NULL;
    RBM_OKAY(ctx, rbm_tempering_new(m, R, NULL, n, 17, &t));
    RBM_OKAY(ctx, rbm_tempering_run(t, 100));
    double lz, se, fwd, rev, exact = ref_log_z(r);
    RBM_OKAY(ctx, rbm_tempering_log_z(t, sweeps, &lz, &se, &fwd, &rev));
    print_message("# %s: log Z BAR %.5f +- %.5f, EXP fwd %.5f, rev %.5f, exact %.5f "
                  "(|d| = %.2f se)\n",
                  what, lz, se, fwd, rev, exact, fabs(lz - exact) / se);
    assert_true(se > 0 && se < 0.05);
    assert_true(fabs(lz - exact) <= 3 * se);
    assert_true(fabs(fwd - exact) < 0.2 && fabs(rev - exact) < 0.2);
    rbm_assert_close(rbm_tempering_base_log_z(t), 0, 0, 1e300, "base log Z finite");
    rbm_tempering_free(t);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_bar_log_z(void **state)
{
    (void)state;
    ref_rbm *r = random_ref(8, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 21, 1.0);
    check_log_z(r, 8, 200, 400, "bernoulli 8x5");
    ref_free(r);
    r = bimodal_ref(10, 2.0);
    check_log_z(r, 16, 200, 400, "bimodal ising 10x1 (w = 2)");
    ref_free(r);
    r = random_ref(6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, 23, 0.5);
    check_log_z(r, 8, 200, 400, "bernoulli-gaussian 6x4");
    ref_free(r);
}

/* The automatic ladder reaches the target acceptance from 3 rungs, and a
 * fresh measurement on the tuned ladder confirms it. */
static void test_tune(void **state)
{
    (void)state;
    ref_rbm *r = bimodal_ref(10, 2.0);
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_tempering *t = NULL;
    RBM_OKAY(ctx, rbm_tempering_new(m, 3, NULL, 100, 8, &t));
    int32_t reached = 0;
    RBM_OKAY(ctx, rbm_tempering_tune(t, 0.3, 64, 8, 200, &reached));
    size_t R = rbm_tempering_replica_count(t);
    assert_int_equal(reached, 1);
    assert_true(R > 3);
    double *beta = xzalloc(R * sizeof(double)), *acc = xzalloc(R * sizeof(double));
    RBM_OKAY(ctx, rbm_tempering_get_betas(t, beta, R));
    assert_true(beta[0] == 0 && beta[R - 1] == 1);
    for (size_t i = 1; i < R; i++)
        assert_true(beta[i] > beta[i - 1]);
    RBM_OKAY(ctx, rbm_tempering_run(t, 1000));
    RBM_OKAY(ctx, rbm_tempering_swap_stats(t, acc, R - 1, NULL, NULL));
    double lo = 1;
    for (size_t i = 0; i + 1 < R; i++)
        lo = fmin(lo, acc[i]);
    print_message("# tuned ladder: %zu rungs, lowest pair acceptance %.3f\n", R, lo);
    assert_true(lo >= 0.25);
    /* fixed R: max_replicas 0 keeps the count */
    RBM_OKAY(ctx, rbm_tempering_tune(t, 0.3, 0, 2, 100, NULL));
    assert_int_equal(rbm_tempering_replica_count(t), R);
    free(beta);
    free(acc);
    rbm_tempering_free(t);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    ref_free(r);
}

/* Equal seeds give identical chains, walkers and statistics; another seed
 * differs. */
static void test_determinism(void **state)
{
    (void)state;
    ref_rbm *r = random_ref(7, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, 31, 1.0);
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    double V[3][5 * 7];
    uint64_t Wk[3][5];
    for (int k = 0; k < 3; k++) {
        rbm_tempering *t = NULL;
        RBM_OKAY(ctx, rbm_tempering_new(m, 4, NULL, 5, k == 2 ? 100 : 99, &t));
        RBM_OKAY(ctx, rbm_tempering_run(t, 57));
        RBM_OKAY(ctx, rbm_tempering_get_visible(t, 3, V[k], 35));
        RBM_OKAY(ctx, rbm_tempering_get_walkers(t, 3, Wk[k], 5));
        rbm_tempering_free(t);
    }
    assert_memory_equal(V[0], V[1], sizeof V[0]);
    assert_memory_equal(Wk[0], Wk[1], sizeof Wk[0]);
    assert_memory_not_equal(V[0], V[2], sizeof V[0]);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    ref_free(r);
}

/* ---------------- trajectory ladders (PTT) ---------------- */

static void test_ptt(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { K = 12, NV = 10, NH = 4 };
    rbm_machine *models[K];
    size_t nm = train_trajectory(ctx, NV, NH, models, K);
    ref_rbm *r = ref_new(NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_from_machine(ctx, r, models[nm - 1]);
    double exact;
    RBM_OKAY(ctx, rbm_exact_log_z(models[nm - 1], &exact));

    rbm_tempering *t = NULL;
    const size_t n = 2000;
    RBM_OKAY(ctx, rbm_tempering_new_models((const rbm_machine *const *)models, nm, n, 41, &t));
    assert_int_equal(rbm_tempering_replica_count(t), nm + 1);
    RBM_OKAY(ctx, rbm_tempering_run(t, 200));
    double *V = xzalloc(n * NV * sizeof(double));
    RBM_OKAY(ctx, rbm_tempering_get_visible(t, nm, V, n * NV));
    check_visible_histogram(r, V, n, 1e-3, "PTT final model 10x4");
    free(V);

    size_t keep[K + 1], nk = 0;
    RBM_OKAY(ctx, rbm_tempering_select_models(t, 0.3, 50, keep, K + 1, &nk));
    print_message("# PTT: kept %zu of %zu rungs:", nk, nm + 1);
    for (size_t i = 0; i < nk; i++)
        print_message(" %zu", keep[i]);
    print_message("\n");
    assert_int_equal(keep[0], 0);
    assert_int_equal(keep[nk - 1], nm);
    assert_int_equal(rbm_tempering_replica_count(t), nk);
    RBM_OKAY(ctx, rbm_tempering_run(t, 400));
    double acc[K + 1];
    RBM_OKAY(ctx, rbm_tempering_swap_stats(t, acc, nk - 1, NULL, NULL));
    for (size_t i = 0; i + 1 < nk; i++) {
        print_message("#   pair %zu: acceptance %.3f\n", i, acc[i]);
        assert_true(acc[i] >= 0.2 || keep[i + 1] == keep[i] + 1);
    }

    double lz, se, fwd, rev;
    RBM_OKAY(ctx, rbm_tempering_log_z(t, 200, &lz, &se, &fwd, &rev));
    print_message("# PTT log Z BAR %.5f +- %.5f (EXP %.4f / %.4f), exact %.5f\n", lz, se, fwd,
                  rev, exact);
    assert_true(se > 0 && se < 0.05);
    assert_true(fabs(lz - exact) <= 3 * se);
    rbm_tempering_free(t);
    for (size_t i = 0; i < nm; i++)
        rbm_machine_free(models[i]);
    ref_free(r);
    rbm_context_free(ctx);
}


/* ---------------- the PT estimator ---------------- */

/* The PT gradient of a small machine agrees with the exact gradient
 * (enumeration) within the Monte Carlo error of many chains. */
static void test_pt_estimator_gradient(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { NV = 10, NH = 1, B = 40 };
    ref_rbm *r = bimodal_ref(NV, 1.0);
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_machine *mb = NULL;
    rbm_machine_convert(m, RBM_UNIT_BERNOULLI, &mb, NULL);
    rbm_dataset *d = two_mode_data(ctx, B, NV, 9);
    double *X = xzalloc(B * NV * sizeof(double));
    RBM_OKAY(ctx, rbm_dataset_get_rows(d, 0, B, X, B * NV));
    rbm_estimator *ex = NULL, *pt = NULL;
    rbm_gradient *ge = NULL, *gp = NULL;
    RBM_OKAY(ctx, rbm_estimator_new(mb, RBM_ESTIMATOR_EXACT, B, 1, &ex));
    RBM_OKAY(ctx, rbm_estimator_new(mb, RBM_ESTIMATOR_PT, B, 2, &pt));
    RBM_OKAY(ctx, rbm_estimator_set_int(pt, RBM_ESTIMATOR_CHAINS, 4000));
    RBM_OKAY(ctx, rbm_estimator_set_int(pt, RBM_ESTIMATOR_REPLICAS, 8));
    RBM_OKAY(ctx, rbm_estimator_set_int(pt, RBM_ESTIMATOR_K, 200));
    int64_t got = 0;
    RBM_OKAY(ctx, rbm_estimator_get_int(pt, RBM_ESTIMATOR_REPLICAS, &got));
    assert_int_equal(got, 8);
    assert_non_null(rbm_estimator_tempering(pt));
    assert_null(rbm_estimator_tempering(ex));
    RBM_OKAY(ctx, rbm_gradient_new(mb, &ge));
    RBM_OKAY(ctx, rbm_gradient_new(mb, &gp));
    RBM_OKAY(ctx, rbm_estimator_compute(ex, B, X, B * NV, ge));
    RBM_OKAY(ctx, rbm_estimator_compute(pt, B, X, B * NV, gp));
    double we[NV * NH], wp[NV * NH], ae[NV], ap[NV];
    RBM_OKAY(ctx, rbm_gradient_get_weights(ge, we, NV * NH));
    RBM_OKAY(ctx, rbm_gradient_get_weights(gp, wp, NV * NH));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(ge, ae, NV));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(gp, ap, NV));
    double worst = 0;
    for (size_t i = 0; i < NV * NH; i++)
        worst = fmax(worst, fabs(we[i] - wp[i]));
    for (size_t i = 0; i < NV; i++)
        worst = fmax(worst, fabs(ae[i] - ap[i]));
    print_message("# PT vs exact gradient (bimodal 10x1, 4000 chains): max |diff| %.4f\n", worst);
    assert_true(worst < 0.04); /* 1/sqrt(4000) = 0.016 per statistic */
    RBM_CHECK(ctx, rbm_estimator_set_int(ex, RBM_ESTIMATOR_REPLICAS, 4), RBM_ERR_UNSUPPORTED);
    RBM_CHECK(ctx, rbm_estimator_set_int(pt, RBM_ESTIMATOR_REPLICAS, 1),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_estimator_set_int(pt, RBM_ESTIMATOR_REPLICAS, 2000),
              RBM_ERR_INVALID_ARGUMENT);
    rbm_gradient_free(ge);
    rbm_gradient_free(gp);
    rbm_estimator_free(ex);
    rbm_estimator_free(pt);
    free(X);
    rbm_dataset_free(d);
    rbm_machine_free(mb);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}


static rbm_trainer *pt_trainer(rbm_context *ctx, rbm_dataset *d, rbm_machine **m)
{
    RBM_OKAY(ctx, rbm_machine_new(ctx, 10, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, m));
    RBM_OKAY(ctx, rbm_machine_init_normal(*m, 0.1, 3));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(*m, d, 20, 5, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PT, 2));
    rbm_estimator *e = rbm_trainer_estimator(t);
    RBM_OKAY(ctx, rbm_estimator_set_int(e, RBM_ESTIMATOR_REPLICAS, 5));
    RBM_OKAY(ctx, rbm_estimator_set_int(e, RBM_ESTIMATOR_CHAINS, 7));
    RBM_OKAY(ctx, rbm_estimator_set_int(e, RBM_ESTIMATOR_RETUNE_EVERY, 3));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, RBM_OPTIMIZER_ADAM));
    return t;
}

/* 2N steps straight equal N steps, checkpoint, load, N steps, bit for bit
 * (replicas, chains and retune period other than the defaults); and a
 * refused step leaves the ladder exactly as it was. */
static void test_pt_checkpoint_resume(void **state)
{
    (void)state;
    enum { N = 9, P = 10 * 4 + 10 + 4 };
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = two_mode_data(ctx, 100, 10, 4);
    rbm_machine *m;
    rbm_trainer *t = pt_trainer(ctx, d, &m);
    rbm_test_steps(ctx, t, 2 * N);
    double straight[P], resumed[P];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, straight, 40));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, straight + 40, 10));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, straight + 50, 4));
    rbm_trainer_free(t);
    rbm_machine_free(m);

    char dir[] = "/tmp/rbm-pt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ck[256];
    snprintf(ck, sizeof ck, "%s/pt.ckpt", dir);
    t = pt_trainer(ctx, d, &m);
    rbm_test_steps(ctx, t, N);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, ck));
    rbm_trainer_free(t);
    rbm_machine_free(m);
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, ck, d, &m, &t));
    int64_t R = 0, n = 0, every = 0;
    rbm_estimator *e = rbm_trainer_estimator(t);
    RBM_OKAY(ctx, rbm_estimator_get_int(e, RBM_ESTIMATOR_REPLICAS, &R));
    RBM_OKAY(ctx, rbm_estimator_get_int(e, RBM_ESTIMATOR_CHAINS, &n));
    RBM_OKAY(ctx, rbm_estimator_get_int(e, RBM_ESTIMATOR_RETUNE_EVERY, &every));
    assert_true(R == 5 && n == 7 && every == 3);
    rbm_test_steps(ctx, t, N);
    RBM_OKAY(ctx, rbm_machine_get_weights(m, resumed, 40));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, resumed + 40, 10));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, resumed + 50, 4));
    assert_memory_equal(straight, resumed, sizeof straight);

    /* a refused step: the ladder is restored bit for bit */
    rbm_tempering *pt = rbm_estimator_tempering(e);
    double before[7 * 10 * 5], after[7 * 10 * 5], bb[5], ba[5];
    for (size_t r = 0; r < 5; r++)
        RBM_OKAY(ctx, rbm_tempering_get_visible(pt, r, before + r * 70, 70));
    RBM_OKAY(ctx, rbm_tempering_get_betas(pt, bb, 5));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, RBM_OPTIMIZER_SGD));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 1e305));
    RBM_CHECK(ctx, rbm_trainer_step(t), RBM_ERR_NUMERICAL);
    for (size_t r = 0; r < 5; r++)
        RBM_OKAY(ctx, rbm_tempering_get_visible(pt, r, after + r * 70, 70));
    RBM_OKAY(ctx, rbm_tempering_get_betas(pt, ba, 5));
    assert_memory_equal(before, after, sizeof before);
    assert_memory_equal(bb, ba, sizeof bb);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    remove(ck);
    rmdir(dir);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* ---------------- bad input ---------------- */

static void test_bad_input(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL, *g = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 5, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &g));
    rbm_tempering *t = (rbm_tempering *)1;
    assert_int_equal(rbm_tempering_new(NULL, 3, NULL, 2, 1, &t), RBM_ERR_NULL);
    assert_null(t);
    RBM_CHECK(ctx, rbm_tempering_new(m, 1, NULL, 2, 1, &t), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_tempering_new(m, 3, NULL, 0, 1, &t), RBM_ERR_INVALID_ARGUMENT);
    const double bad1[3] = {0.1, 0.5, 1}, bad2[3] = {0, 0.5, 0.5}, bad3[3] = {0, NAN, 1};
    RBM_CHECK(ctx, rbm_tempering_new(m, 3, bad1, 2, 1, &t), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_tempering_new(m, 3, bad2, 2, 1, &t), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_tempering_new(m, 3, bad3, 2, 1, &t), RBM_ERR_INVALID_ARGUMENT);
    const rbm_machine *pair[2] = {m, g};
    RBM_CHECK(ctx, rbm_tempering_new_models(pair, 2, 2, 1, &t), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_tempering_new_models(pair, 0, 2, 1, &t), RBM_ERR_INVALID_ARGUMENT);

    RBM_OKAY(ctx, rbm_tempering_new(m, 3, NULL, 2, 1, &t));
    double buf[16];
    uint64_t wl[2];
    RBM_CHECK(ctx, rbm_tempering_get_visible(t, 3, buf, 8), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_tempering_get_visible(t, 0, buf, 7), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_tempering_get_walkers(t, 0, wl, 3), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_tempering_swap_stats(t, buf, 3, NULL, NULL), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_tempering_tune(t, 1.5, 8, 2, 10, NULL), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_tempering_tune(t, 0.3, 1, 2, 10, NULL), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_tempering_select_models(t, 0.3, 10, NULL, 0, NULL), RBM_ERR_UNSUPPORTED);
    RBM_CHECK(ctx, rbm_tempering_log_z(t, 1, buf, NULL, NULL, NULL), RBM_ERR_INVALID_ARGUMENT);
    buf[0] = NAN;
    RBM_CHECK(ctx, rbm_tempering_set_base_bias(t, buf, 4), RBM_ERR_NOT_FINITE);
    /* a refused call leaves the chains as they were */
    double before[8], after[8];
    RBM_OKAY(ctx, rbm_tempering_get_visible(t, 2, before, 8));
    RBM_CHECK(ctx, rbm_tempering_tune(t, 0, 8, 2, 10, NULL), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_tempering_get_visible(t, 2, after, 8));
    assert_memory_equal(before, after, sizeof before);
    rbm_tempering_free(t);

    const rbm_machine *one[1] = {m};
    RBM_OKAY(ctx, rbm_tempering_new_models(one, 1, 2, 1, &t));
    RBM_CHECK(ctx, rbm_tempering_tune(t, 0.3, 8, 2, 10, NULL), RBM_ERR_UNSUPPORTED);
    RBM_CHECK(ctx, rbm_tempering_get_betas(t, buf, 2), RBM_ERR_UNSUPPORTED);
    size_t keep[1];
    RBM_CHECK(ctx, rbm_tempering_select_models(t, 0.3, 10, keep, 1, NULL), RBM_ERR_SHAPE);
    rbm_tempering_free(t);
    rbm_tempering_free(NULL);
    rbm_machine_free(m);
    rbm_machine_free(g);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pt_matches_exact_random),
        cmocka_unit_test(test_bimodal_gibbs_vs_pt),
        cmocka_unit_test(test_bar_log_z),
        cmocka_unit_test(test_tune),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_ptt),
        cmocka_unit_test(test_pt_estimator_gradient),
        cmocka_unit_test(test_pt_checkpoint_resume),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
