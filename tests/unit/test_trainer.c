/* Tests of the trainer (trainer.h): determinism, epoch bookkeeping, the
 * update rules of SGD / momentum / Adam with weight decay against closed
 * forms, likelihood gains measured by exact enumeration in the test, the
 * observer, external gradients (rbm_trainer_apply_gradient), the
 * no-allocation promise of the step loop, and bad input. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The independent reference (ref_rbm, t_normal, enumeration): reference.h. */
#include "reference.h"

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static double *dataset_rows(rbm_context *ctx, const rbm_dataset *ds)
{
    size_t M = rbm_dataset_rows(ds), D = rbm_dataset_cols(ds);
    double *x = malloc(M * D * sizeof(double));
    assert_non_null(x);
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, M, x, M * D));
    return x;
}

static rbm_dataset *random_dataset(rbm_context *ctx, rbm_unit_kind k, size_t M, size_t D, uint64_t seed)
{
    double *x = malloc(M * D * sizeof(double));
    assert_non_null(x);
    t_sm_state = seed;
    for (size_t q = 0; q < M * D; q++)
        x[q] = k == RBM_UNIT_GAUSSIAN ? t_normal() : ref_bitval(k, t_unif() < 0.6);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, M, D, RBM_COPY, &ds));
    free(x);
    return ds;
}

/* Exact mean log-likelihood of the whole dataset under m. */
static double exact_ll(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *ds)
{
    ref_rbm *r = ref_new(rbm_machine_n_visible(m), rbm_machine_n_hidden(m),
                         rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN));
    r->sv = rbm_machine_sigma(m, RBM_LAYER_VISIBLE);
    r->sh = rbm_machine_sigma(m, RBM_LAYER_HIDDEN);
    ref_from_machine(ctx, r, m);
    double *x = dataset_rows(ctx, ds);
    double ll = ref_mean_ll(r, rbm_dataset_rows(ds), x);
    free(x);
    ref_free(r);
    return ll;
}

/* Mean log-likelihood of the best factorised (independent units) model of
 * discrete data: sum_i [p_i log p_i + (1-p_i) log(1-p_i)], p_i the frequency
 * of the "up" value. An RBM with W = 0 can do exactly this and no better. */
static double independent_ll(rbm_context *ctx, const rbm_dataset *ds)
{
    size_t M = rbm_dataset_rows(ds), D = rbm_dataset_cols(ds);
    double *x = dataset_rows(ctx, ds);
    double ll = 0.0;
    for (size_t i = 0; i < D; i++) {
        double p = 0.0;
        for (size_t mu = 0; mu < M; mu++) p += (x[mu * D + i] > 0.0) ? 1.0 : 0.0;
        p /= (double)M;
        if (p > 0.0) ll += p * log(p);
        if (p < 1.0) ll += (1.0 - p) * log(1.0 - p);
    }
    free(x);
    return ll;
}

static void read_params(rbm_context *ctx, const rbm_machine *m, double *W, double *a, double *b)
{
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, nv * nh));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, a, nv));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, b, nh));
}

/* Exact gradient of the mean log-likelihood of all rows of ds under m,
 * by a separate EXACT estimator. */
static void full_exact_gradient(rbm_context *ctx, rbm_machine *m, const rbm_dataset *ds, double *gW, double *ga,
                                double *gb)
{
    size_t M = rbm_dataset_rows(ds), nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    double *x = dataset_rows(ctx, ds);
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 1, 0, M, 1, &e));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, x, M * nv, g));
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, gW, nv * nh));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, ga, nv));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, gb, nh));
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    free(x);
}

static double sgn(double x) { return (x > 0) - (x < 0); }

/* A trainer step that is expected to succeed (OK or DONE). */
static rbm_status step_ok(rbm_context *ctx, rbm_trainer *t)
{
    rbm_status st = rbm_trainer_step(t);
    if (st != RBM_OK && st != RBM_DONE)
        fail_msg("rbm_trainer_step returned %s (%s)", rbm_status_name(st), rbm_context_last_error(ctx));
    return st;
}

/* ---------------------------------------------------------------------------
 * Determinism and bookkeeping
 * ------------------------------------------------------------------------- */
static void run_steps(rbm_context *ctx, rbm_machine *m, const rbm_dataset *ds, uint64_t seed, rbm_optimizer opt,
                      rbm_estimator_kind kind, size_t nsteps)
{
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 16, seed, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, kind, 1));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, opt));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.05));
    for (size_t s = 0; s < nsteps; s++) step_ok(ctx, t);
    assert_int_equal(rbm_trainer_step_count(t), nsteps);
    rbm_trainer_free(t);
}

static void check_seed_determinism(rbm_unit_kind vk, rbm_unit_kind hk, rbm_optimizer opt, rbm_estimator_kind kind,
                                   rbm_precision prec)
{
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 10, nh = 6;
    rbm_dataset *ds = random_dataset(ctx, vk, 100, nv, 21);
    rbm_machine *m[3] = {NULL, NULL, NULL};
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, vk, hk, &m[0]));
    RBM_OKAY(ctx, rbm_machine_init_normal(m[0], 0.1, 5));
    RBM_OKAY(ctx, rbm_machine_set_precision(m[0], prec));
    RBM_OKAY(ctx, rbm_machine_clone(m[0], &m[1]));
    RBM_OKAY(ctx, rbm_machine_clone(m[0], &m[2]));
    run_steps(ctx, m[0], ds, 99, opt, kind, 100);
    run_steps(ctx, m[1], ds, 99, opt, kind, 100);
    run_steps(ctx, m[2], ds, 98, opt, kind, 100);
    double W[3][60], a[3][10], b[3][6];
    for (int q = 0; q < 3; q++) read_params(ctx, m[q], W[q], a[q], b[q]);
    assert_memory_equal(W[0], W[1], sizeof W[0]);
    assert_memory_equal(a[0], a[1], sizeof a[0]);
    assert_memory_equal(b[0], b[1], sizeof b[0]);
    assert_true(memcmp(W[0], W[2], sizeof W[0]) != 0);
    for (int q = 0; q < 3; q++) rbm_machine_free(m[q]);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

static void test_same_seed_identical(void **state)
{
    (void)state;
    check_seed_determinism(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_OPTIMIZER_SGD, RBM_ESTIMATOR_PCD,
                           RBM_PRECISION_FLOAT64);
    check_seed_determinism(RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_OPTIMIZER_MOMENTUM, RBM_ESTIMATOR_CD,
                           RBM_PRECISION_FLOAT64);
    check_seed_determinism(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_OPTIMIZER_ADAM, RBM_ESTIMATOR_PCD,
                           RBM_PRECISION_FLOAT32);
    /* EXACT is deterministic given the batch order: the seed still changes
     * the shuffling, hence the result */
    check_seed_determinism(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_OPTIMIZER_SGD, RBM_ESTIMATOR_EXACT,
                           RBM_PRECISION_FLOAT64);
}

static void check_epochs(size_t M, size_t B)
{
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, M, 5, 22);
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 5, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, B, 1, &t));
    const size_t bpe = (M + B - 1) / B;
    assert_int_equal(rbm_trainer_batches_per_epoch(t), bpe);
    assert_int_equal(rbm_trainer_batch_size(t), B);
    assert_int_equal(rbm_trainer_step_count(t), 0);
    assert_int_equal(rbm_trainer_epoch_count(t), 0);
    assert_int_equal(rbm_trainer_batch_index(t), 0);
    assert_true(rbm_trainer_machine(t) == m);
    for (size_t ep = 0; ep < 3; ep++) {
        for (size_t s = 1; s <= bpe; s++) {
            rbm_status st = rbm_trainer_step(t);
            RBM_CHECK(ctx, st, s == bpe ? RBM_DONE : RBM_OK);
            assert_int_equal(rbm_trainer_step_count(t), ep * bpe + s);
            if (s < bpe) {
                assert_int_equal(rbm_trainer_epoch_count(t), ep);
                assert_int_equal(rbm_trainer_batch_index(t), s);
            }
        }
        assert_int_equal(rbm_trainer_epoch_count(t), ep + 1);
        size_t bi = rbm_trainer_batch_index(t);
        assert_true(bi == 0 || bi == bpe);
    }
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, 2));
    assert_int_equal(rbm_trainer_epoch_count(t), 5);
    assert_int_equal(rbm_trainer_step_count(t), 5 * bpe);
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, 0));
    assert_int_equal(rbm_trainer_step_count(t), 5 * bpe);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

static void test_epoch_bookkeeping(void **state)
{
    (void)state;
    check_epochs(103, 10); /* 11 batches, last one of 3 rows */
    check_epochs(100, 10); /* exactly 10 */
    check_epochs(7, 7);    /* one batch: every step ends an epoch */
    check_epochs(9, 4);
}

/* Every row is used exactly once per epoch, the last batch holding the
 * remainder: with EXACT and a negligible learning rate the model term is the
 * same at every step, so sum_k n_k g_k / M over the batches of one epoch
 * equals the gradient of the whole dataset (the data term is linear in the
 * rows). */
static void test_epoch_covers_every_row(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 5, nh = 3, M = 23, B = 5;
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, M, nv, 32);
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 33, 0.5, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    double fW[15], fa[5], fb[3];
    full_exact_gradient(ctx, m, ds, fW, fa, fb);
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, B, 4, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 1e-13));
    const size_t bpe = rbm_trainer_batches_per_epoch(t);
    assert_int_equal(bpe, 5);
    for (int ep = 0; ep < 2; ep++) {
        double sW[15] = {0}, sa[5] = {0}, sb[3] = {0}, gW[15], ga[5], gb[3];
        for (size_t k = 0; k < bpe; k++) {
            rbm_status st = step_ok(ctx, t);
            assert_int_equal(st, k + 1 == bpe ? RBM_DONE : RBM_OK);
            double nk = (double)(k + 1 == bpe ? M - B * (bpe - 1) : B);
            const rbm_gradient *g = rbm_trainer_gradient(t);
            RBM_OKAY(ctx, rbm_gradient_get_weights(g, gW, 15));
            RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, ga, 5));
            RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, gb, 3));
            for (size_t q = 0; q < 15; q++) sW[q] += nk * gW[q] / (double)M;
            for (size_t q = 0; q < 5; q++) sa[q] += nk * ga[q] / (double)M;
            for (size_t q = 0; q < 3; q++) sb[q] += nk * gb[q] / (double)M;
        }
        for (size_t q = 0; q < 15; q++) rbm_assert_close(sW[q], fW[q], 1e-9, 1e-11, "epoch sum of dW");
        for (size_t q = 0; q < 5; q++) rbm_assert_close(sa[q], fa[q], 1e-9, 1e-11, "epoch sum of da");
        for (size_t q = 0; q < 3; q++) rbm_assert_close(sb[q], fb[q], 1e-9, 1e-11, "epoch sum of db");
    }
    rbm_trainer_free(t);
    rbm_machine_free(m);
    ref_free(r);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

static void test_defaults_and_names(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, 20, 4, 23);
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 5, 1, &t));
    double v = 0;
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_LEARNING_RATE, &v));
    assert_true(v == 0.01);
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_MOMENTUM, &v));
    assert_true(v == 0.9);
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_ADAM_BETA1, &v));
    assert_true(v == 0.9);
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_ADAM_BETA2, &v));
    assert_true(v == 0.999);
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_ADAM_EPSILON, &v));
    assert_true(v == 1e-8);
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_L1, &v));
    assert_true(v == 0.0);
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_L2, &v));
    assert_true(v == 0.0);
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_L2, 0.25));
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_L2, &v));
    assert_true(v == 0.25);
    rbm_estimator *e = rbm_trainer_estimator(t);
    assert_non_null(e);
    assert_int_equal(rbm_estimator_kind_of(e), RBM_ESTIMATOR_PCD);
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1));
    assert_int_equal(rbm_estimator_kind_of(rbm_trainer_estimator(t)), RBM_ESTIMATOR_EXACT);
    assert_true(isnan(rbm_trainer_reconstruction_error(t)));

    assert_string_equal(rbm_optimizer_name(RBM_OPTIMIZER_SGD), "sgd");
    assert_string_equal(rbm_optimizer_name(RBM_OPTIMIZER_MOMENTUM), "momentum");
    assert_string_equal(rbm_optimizer_name(RBM_OPTIMIZER_ADAM), "adam");
    assert_null(rbm_optimizer_name((rbm_optimizer)17));
    rbm_optimizer o = RBM_OPTIMIZER_SGD;
    RBM_OKAY(ctx, rbm_optimizer_parse("adam", &o));
    assert_int_equal(o, RBM_OPTIMIZER_ADAM);
    RBM_OKAY(ctx, rbm_optimizer_parse("momentum", &o));
    assert_int_equal(o, RBM_OPTIMIZER_MOMENTUM);
    RBM_CHECK(ctx, rbm_optimizer_parse("rmsprop", &o), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_optimizer_parse(NULL, &o), RBM_ERR_NULL);
    rbm_trainer_free(t);
    rbm_trainer_free(NULL);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Update rules against closed forms (EXACT estimator, batch = whole data, so
 * the gradient is deterministic whatever the shuffling)
 * ------------------------------------------------------------------------- */
enum { UNV = 6, UNH = 4, UM = 16 };

typedef struct upd_fixture {
    rbm_context *ctx;
    rbm_dataset *ds;
    rbm_machine *m;
    rbm_trainer *t;
} upd_fixture;

static void upd_setup(upd_fixture *f, rbm_optimizer opt, double lr, double l1, double l2)
{
    f->ctx = rbm_test_context();
    f->ds = random_dataset(f->ctx, RBM_UNIT_BERNOULLI, UM, UNV, 24);
    ref_rbm *r = ref_new(UNV, UNH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 25, 0.5, 0.5);
    f->m = ref_to_machine(f->ctx, r);
    ref_free(r);
    RBM_OKAY(f->ctx, rbm_trainer_new(f->m, f->ds, UM, 3, &f->t));
    RBM_OKAY(f->ctx, rbm_trainer_set_estimator(f->t, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(f->ctx, rbm_trainer_set_optimizer(f->t, opt));
    RBM_OKAY(f->ctx, rbm_trainer_set_real(f->t, RBM_TRAINER_LEARNING_RATE, lr));
    RBM_OKAY(f->ctx, rbm_trainer_set_real(f->t, RBM_TRAINER_L1, l1));
    RBM_OKAY(f->ctx, rbm_trainer_set_real(f->t, RBM_TRAINER_L2, l2));
    assert_int_equal(rbm_trainer_batches_per_epoch(f->t), 1);
}

static void upd_teardown(upd_fixture *f)
{
    rbm_trainer_free(f->t);
    rbm_machine_free(f->m);
    rbm_dataset_free(f->ds);
    rbm_context_free(f->ctx);
}

/* Direction d = g - l2 theta - l1 sign(theta) on W, d = g on biases; all
 * parameters concatenated as (W, a, b). */
#define UNP (UNV * UNH + UNV + UNH)
static void upd_direction(upd_fixture *f, double l1, double l2, double *theta, double *d)
{
    read_params(f->ctx, f->m, theta, theta + UNV * UNH, theta + UNV * UNH + UNV);
    full_exact_gradient(f->ctx, f->m, f->ds, d, d + UNV * UNH, d + UNV * UNH + UNV);
    for (size_t k = 0; k < UNV * UNH; k++) d[k] += -l2 * theta[k] - l1 * sgn(theta[k]);
}

static void upd_compare(upd_fixture *f, const double *expect, const char *what)
{
    double got[UNP];
    read_params(f->ctx, f->m, got, got + UNV * UNH, got + UNV * UNH + UNV);
    char buf[96];
    for (size_t k = 0; k < UNP; k++) {
        snprintf(buf, sizeof buf, "%s: parameter %zu", what, k);
        rbm_assert_close(got[k], expect[k], 1e-12, 1e-14, buf);
    }
}

static void test_sgd_decay_closed_form(void **state)
{
    (void)state;
    const double lr = 0.1, l1 = 0.05, l2 = 0.3;
    upd_fixture f;
    upd_setup(&f, RBM_OPTIMIZER_SGD, lr, l1, l2);
    double theta[UNP], d[UNP], expect[UNP];
    for (int s = 0; s < 3; s++) {
        upd_direction(&f, l1, l2, theta, d);
        for (size_t k = 0; k < UNP; k++) expect[k] = theta[k] + lr * d[k];
        RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
        upd_compare(&f, expect, "SGD with L1/L2");
    }
    upd_teardown(&f);

    /* pure L2 shrinkage: W' = W + lr (g - l2 W) with l2 dominating g */
    upd_setup(&f, RBM_OPTIMIZER_SGD, 0.5, 0.0, 1.5);
    upd_direction(&f, 0.0, 1.5, theta, d);
    for (size_t k = 0; k < UNP; k++) expect[k] = theta[k] + 0.5 * d[k];
    RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
    upd_compare(&f, expect, "SGD with large L2");
    double wn0 = 0, wn1 = 0;
    for (size_t k = 0; k < UNV * UNH; k++) {
        wn0 += theta[k] * theta[k];
        wn1 += expect[k] * expect[k];
    }
    assert_true(wn1 < 0.5 * wn0); /* the weights shrank */
    upd_teardown(&f);
}

static void test_trainer_gradient_is_estimate(void **state)
{
    (void)state;
    upd_fixture f;
    upd_setup(&f, RBM_OPTIMIZER_SGD, 0.1, 0.02, 0.2);
    double theta[UNP], g[UNP], got[UNP];
    read_params(f.ctx, f.m, theta, theta + UNV * UNH, theta + UNV * UNH + UNV);
    full_exact_gradient(f.ctx, f.m, f.ds, g, g + UNV * UNH, g + UNV * UNH + UNV);
    RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
    const rbm_gradient *tg = rbm_trainer_gradient(f.t);
    assert_non_null(tg);
    RBM_OKAY(f.ctx, rbm_gradient_get_weights(tg, got, UNV * UNH));
    RBM_OKAY(f.ctx, rbm_gradient_get_visible_bias(tg, got + UNV * UNH, UNV));
    RBM_OKAY(f.ctx, rbm_gradient_get_hidden_bias(tg, got + UNV * UNH + UNV, UNH));
    for (size_t k = 0; k < UNP; k++) rbm_assert_close(got[k], g[k], 1e-12, 1e-14, "trainer gradient = estimate");
    upd_teardown(&f);
}

static void test_momentum_closed_form(void **state)
{
    (void)state;
    const double lr = 0.07, mu = 0.8, l2 = 0.1;
    upd_fixture f;
    upd_setup(&f, RBM_OPTIMIZER_MOMENTUM, lr, 0.0, l2);
    RBM_OKAY(f.ctx, rbm_trainer_set_real(f.t, RBM_TRAINER_MOMENTUM, mu));
    double theta[UNP], d[UNP], u[UNP] = {0}, expect[UNP];
    for (int s = 0; s < 4; s++) {
        upd_direction(&f, 0.0, l2, theta, d);
        for (size_t k = 0; k < UNP; k++) {
            u[k] = mu * u[k] + lr * d[k];
            expect[k] = theta[k] + u[k];
        }
        RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
        upd_compare(&f, expect, "momentum");
    }
    /* set_optimizer resets the velocity: the next step is a plain lr d */
    RBM_OKAY(f.ctx, rbm_trainer_set_optimizer(f.t, RBM_OPTIMIZER_MOMENTUM));
    upd_direction(&f, 0.0, l2, theta, d);
    for (size_t k = 0; k < UNP; k++) expect[k] = theta[k] + lr * d[k];
    RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
    upd_compare(&f, expect, "momentum after reset");
    upd_teardown(&f);
}

static void test_adam_closed_form(void **state)
{
    (void)state;
    const double lr = 0.02, b1 = 0.8, b2 = 0.95, eps = 1e-3, l2 = 0.05;
    upd_fixture f;
    upd_setup(&f, RBM_OPTIMIZER_ADAM, lr, 0.0, l2);
    RBM_OKAY(f.ctx, rbm_trainer_set_real(f.t, RBM_TRAINER_ADAM_BETA1, b1));
    RBM_OKAY(f.ctx, rbm_trainer_set_real(f.t, RBM_TRAINER_ADAM_BETA2, b2));
    RBM_OKAY(f.ctx, rbm_trainer_set_real(f.t, RBM_TRAINER_ADAM_EPSILON, eps));
    double theta[UNP], d[UNP], mm[UNP] = {0}, ss[UNP] = {0}, expect[UNP];

    /* first step: m/(1-b1) = d and s/(1-b2) = d^2, so the step is
     * lr d / (|d| + eps) */
    upd_direction(&f, 0.0, l2, theta, d);
    for (size_t k = 0; k < UNP; k++) expect[k] = theta[k] + lr * d[k] / (fabs(d[k]) + eps);
    RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
    upd_compare(&f, expect, "Adam first step");
    for (size_t k = 0; k < UNP; k++) {
        mm[k] = (1 - b1) * d[k];
        ss[k] = (1 - b2) * d[k] * d[k];
    }
    /* later steps: the general rule with bias corrections 1 - b^t */
    for (int t = 2; t <= 4; t++) {
        upd_direction(&f, 0.0, l2, theta, d);
        for (size_t k = 0; k < UNP; k++) {
            mm[k] = b1 * mm[k] + (1 - b1) * d[k];
            ss[k] = b2 * ss[k] + (1 - b2) * d[k] * d[k];
            double mh = mm[k] / (1 - pow(b1, t)), sh = ss[k] / (1 - pow(b2, t));
            expect[k] = theta[k] + lr * mh / (sqrt(sh) + eps);
        }
        RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
        upd_compare(&f, expect, "Adam later step");
    }
    upd_teardown(&f);

    /* default hyper-parameters, first step = lr d / (|d| + 1e-8) */
    upd_setup(&f, RBM_OPTIMIZER_ADAM, lr, 0.0, 0.0);
    upd_direction(&f, 0.0, 0.0, theta, d);
    for (size_t k = 0; k < UNP; k++) expect[k] = theta[k] + lr * d[k] / (fabs(d[k]) + 1e-8);
    RBM_CHECK(f.ctx, rbm_trainer_step(f.t), RBM_DONE);
    upd_compare(&f, expect, "Adam first step, defaults");
    upd_teardown(&f);
}

/* ---------------------------------------------------------------------------
 * Learning: the exact log-likelihood rises
 * ------------------------------------------------------------------------- */
typedef struct ll_result {
    double ll0, ll1, ll_indep, rec_first, rec_last;
    double W[12 * 6]; /* final weights */
} ll_result;

static ll_result train_ll(rbm_unit_kind kind, rbm_estimator_kind est, size_t k, rbm_optimizer opt, double lr,
                          rbm_precision prec, size_t epochs)
{
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 500, 4, 3, 12, 0.4, kind, 2024, &ds));
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 12, 6, kind, kind, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.01, 7));
    RBM_OKAY(ctx, rbm_machine_init_visible_bias_from_data(m, ds));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, prec));
    ll_result res;
    res.ll_indep = independent_ll(ctx, ds);
    res.ll0 = exact_ll(ctx, m, ds);
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 25, 11, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, est, k));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, opt));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, lr));
    size_t bpe = rbm_trainer_batches_per_epoch(t);
    res.rec_first = 0;
    res.rec_last = 0;
    for (size_t ep = 0; ep < epochs; ep++) {
        for (size_t s = 0; s < bpe; s++) {
            rbm_status st = step_ok(ctx, t);
            assert_int_equal(st, s + 1 == bpe ? RBM_DONE : RBM_OK);
            double rec = rbm_trainer_reconstruction_error(t);
            assert_true(isfinite(rec) && rec >= 0.0);
            if (ep == 0) res.rec_first += rec / (double)bpe;
            if (ep + 1 == epochs) res.rec_last += rec / (double)bpe;
        }
    }
    res.ll1 = exact_ll(ctx, m, ds);
    RBM_OKAY(ctx, rbm_machine_get_weights(m, res.W, 12 * 6));
    print_message("# %s %s-%zu %s lr=%g %s: LL %.4f -> %.4f (independent model %.4f); rec. error %.4f -> %.4f\n",
                  rbm_unit_kind_name(kind), rbm_estimator_kind_name(est), k, rbm_optimizer_name(opt), lr,
                  prec == RBM_PRECISION_FLOAT32 ? "float32" : "float64", res.ll0, res.ll1, res.ll_indep,
                  res.rec_first, res.rec_last);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
    return res;
}

/* The initial machine (W ~ 0, biases from the data means) is essentially
 * the best independent model; a trained RBM must capture correlations and
 * beat it clearly. */
static void check_learns(ll_result r, double min_gain)
{
    assert_true(fabs(r.ll0 - r.ll_indep) < 0.05);
    if (!(r.ll1 > r.ll0 + min_gain))
        fail_msg("log-likelihood rose from %.4f to %.4f only (wanted +%.2f)", r.ll0, r.ll1, min_gain);
    assert_true(r.ll1 > r.ll_indep + min_gain);
}

static void test_learns_sgd(void **state)
{
    (void)state;
    check_learns(train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_SGD, 0.3, RBM_PRECISION_FLOAT64, 20), 2.0);
    check_learns(train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_EXACT, 1, RBM_OPTIMIZER_SGD, 0.3, RBM_PRECISION_FLOAT64, 20), 2.0);
    check_learns(train_ll(RBM_UNIT_ISING, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_SGD, 0.1, RBM_PRECISION_FLOAT64, 20), 2.0);
    check_learns(train_ll(RBM_UNIT_ISING, RBM_ESTIMATOR_EXACT, 1, RBM_OPTIMIZER_SGD, 0.1, RBM_PRECISION_FLOAT64, 20), 2.0);
}

static void test_learns_momentum(void **state)
{
    (void)state;
    check_learns(train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_MOMENTUM, 0.03, RBM_PRECISION_FLOAT64, 20), 2.0);
    check_learns(train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_EXACT, 1, RBM_OPTIMIZER_MOMENTUM, 0.03, RBM_PRECISION_FLOAT64, 20), 2.0);
    check_learns(train_ll(RBM_UNIT_ISING, RBM_ESTIMATOR_CD, 1, RBM_OPTIMIZER_MOMENTUM, 0.01, RBM_PRECISION_FLOAT64, 20), 2.0);
}

static void test_learns_adam(void **state)
{
    (void)state;
    check_learns(train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_ADAM, 0.01, RBM_PRECISION_FLOAT64, 20), 2.0);
    check_learns(train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_EXACT, 1, RBM_OPTIMIZER_ADAM, 0.01, RBM_PRECISION_FLOAT64, 20), 2.0);
    check_learns(train_ll(RBM_UNIT_ISING, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_ADAM, 0.01, RBM_PRECISION_FLOAT64, 20), 2.0);
}

static void test_learns_float32(void **state)
{
    (void)state;
    ll_result r32 = train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_SGD, 0.3, RBM_PRECISION_FLOAT32, 20);
    check_learns(r32, 2.0);
    /* the float32 kernels are really used: the run is not bit-identical to
     * the float64 one, yet lands at the same likelihood */
    ll_result r64 = train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_SGD, 0.3, RBM_PRECISION_FLOAT64, 20);
    assert_true(memcmp(r32.W, r64.W, sizeof r32.W) != 0);
    rbm_assert_close(r32.ll1, r64.ll1, 0.0, 0.1, "float32 vs float64 final log-likelihood");
    check_learns(train_ll(RBM_UNIT_ISING, RBM_ESTIMATOR_EXACT, 1, RBM_OPTIMIZER_ADAM, 0.01, RBM_PRECISION_FLOAT32, 20), 2.0);
}

/* ---------------------------------------------------------------------------
 * Reconstruction error
 * ------------------------------------------------------------------------- */

/* Definition check: one step with a tiny learning rate on the whole data;
 * the reported error equals mean (v - E[v|h])^2 with h = E[h|v], computed
 * here from the parameters (which move by ~1e-10 only). */
static void test_reconstruction_error_definition(void **state)
{
    (void)state;
    rbm_unit_kind kinds[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
    for (int q = 0; q < 3; q++) {
        rbm_context *ctx = rbm_test_context();
        const size_t nv = 6, nh = 4, M = 30;
        rbm_dataset *ds = random_dataset(ctx, kinds[q], M, nv, 26);
        ref_rbm *r = ref_new(nv, nh, kinds[q], RBM_UNIT_BERNOULLI);
        ref_randomize(r, 27, 0.5, 0.5);
        r->sv = 0.9;
        rbm_machine *m = ref_to_machine(ctx, r);
        rbm_trainer *t = NULL;
        RBM_OKAY(ctx, rbm_trainer_new(m, ds, M, 1, &t));
        RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1));
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 1e-10));
        assert_true(isnan(rbm_trainer_reconstruction_error(t)));
        RBM_CHECK(ctx, rbm_trainer_step(t), RBM_DONE);
        double *x = dataset_rows(ctx, ds), err = 0.0;
        for (size_t mu = 0; mu < M; mu++) {
            const double *v = x + mu * nv;
            double h[4];
            for (size_t j = 0; j < nh; j++) {
                double f = r->b[j];
                for (size_t i = 0; i < nv; i++) f += v[i] * r->W[i * nh + j];
                h[j] = ref_mean(r->hk, r->sh, f);
            }
            for (size_t i = 0; i < nv; i++) {
                double f = r->a[i];
                for (size_t j = 0; j < nh; j++) f += r->W[i * nh + j] * h[j];
                double dv = v[i] - ref_mean(r->vk, r->sv, f);
                err += dv * dv;
            }
        }
        err /= (double)(M * nv);
        rbm_assert_close(rbm_trainer_reconstruction_error(t), err, 1e-6, 0.0, "reconstruction error");
        free(x);
        rbm_trainer_free(t);
        rbm_machine_free(m);
        ref_free(r);
        rbm_dataset_free(ds);
        rbm_context_free(ctx);
    }
}

static void test_reconstruction_error_decreases(void **state)
{
    (void)state;
    ll_result r = train_ll(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, RBM_OPTIMIZER_SGD, 0.1, RBM_PRECISION_FLOAT64, 15);
    assert_true(r.rec_last < 0.8 * r.rec_first);

    /* monitoring off: never computed */
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, 20, 4, 28);
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 5, 1, &t));
    RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 0));
    for (int s = 0; s < 6; s++) step_ok(ctx, t);
    assert_true(isnan(rbm_trainer_reconstruction_error(t)));
    RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 1));
    step_ok(ctx, t);
    assert_true(isfinite(rbm_trainer_reconstruction_error(t)));
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Observer
 * ------------------------------------------------------------------------- */
typedef struct obs_state {
    int calls;
    int stop_at;
    uint64_t last_steps;
    int bad;
} obs_state;

static int observer(void *user, const rbm_trainer *t)
{
    obs_state *o = user;
    o->calls++;
    o->last_steps = rbm_trainer_step_count(t);
    if (o->last_steps != (uint64_t)o->calls) o->bad = 1;
    return o->calls == o->stop_at;
}

static void test_observer(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, 40, 5, 29);
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 5, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, 1));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 4, 1, &t)); /* 10 batches per epoch */
    obs_state o = {0, 5, 0, 0};
    RBM_OKAY(ctx, rbm_trainer_set_observer(t, observer, &o));
    for (int s = 1; s <= 4; s++) RBM_CHECK(ctx, rbm_trainer_step(t), RBM_OK);
    double W0[15], W1[15], a[5], b[3];
    read_params(ctx, m, W0, a, b);
    RBM_CHECK(ctx, rbm_trainer_step(t), RBM_STOPPED);
    read_params(ctx, m, W1, a, b);
    assert_true(memcmp(W0, W1, sizeof W0) != 0); /* the stopped update is kept */
    assert_int_equal(o.calls, 5);
    assert_int_equal(rbm_trainer_step_count(t), 5);
    RBM_CHECK(ctx, rbm_trainer_step(t), RBM_OK);
    assert_int_equal(o.calls, 6);
    assert_false(o.bad);

    /* run_epochs reports the stop */
    o.stop_at = 8;
    RBM_CHECK(ctx, rbm_trainer_run_epochs(t, 3), RBM_STOPPED);
    assert_int_equal(o.calls, 8);
    assert_int_equal(rbm_trainer_step_count(t), 8);

    /* removed: no more calls */
    RBM_OKAY(ctx, rbm_trainer_set_observer(t, NULL, NULL));
    step_ok(ctx, t);
    assert_int_equal(o.calls, 8);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * External gradients: rbm_trainer_apply_gradient
 * ------------------------------------------------------------------------- */

/* A trainer fed each step's gradient of a twin trainer follows it bit for
 * bit (same optimiser, moments, decay), without consuming minibatches. */
static void check_apply_follows_step(rbm_optimizer opt, rbm_unit_kind vk, rbm_unit_kind hk)
{
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 6, nh = 4;
    rbm_dataset *ds = random_dataset(ctx, vk, 40, nv, 77);
    rbm_machine *ma = NULL, *mb = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, vk, hk, &ma));
    RBM_OKAY(ctx, rbm_machine_init_normal(ma, 0.1, 8));
    RBM_OKAY(ctx, rbm_machine_clone(ma, &mb));
    rbm_trainer *ta = NULL, *tb = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(ma, ds, 8, 5, &ta));
    RBM_OKAY(ctx, rbm_trainer_new(mb, ds, 8, 6, &tb));
    rbm_trainer *both[2] = {ta, tb};
    for (int q = 0; q < 2; q++) {
        RBM_OKAY(ctx, rbm_trainer_set_optimizer(both[q], opt));
        RBM_OKAY(ctx, rbm_trainer_set_real(both[q], RBM_TRAINER_LEARNING_RATE, 0.03));
        RBM_OKAY(ctx, rbm_trainer_set_real(both[q], RBM_TRAINER_L1, 1e-3));
        RBM_OKAY(ctx, rbm_trainer_set_real(both[q], RBM_TRAINER_L2, 1e-2));
    }
    double Wa[24], aa[6], ba[4], Wb[24], ab[6], bb[4];
    for (int s = 0; s < 12; s++) {
        step_ok(ctx, ta);
        RBM_OKAY(ctx, rbm_trainer_apply_gradient(tb, rbm_trainer_gradient(ta)));
        read_params(ctx, ma, Wa, aa, ba);
        read_params(ctx, mb, Wb, ab, bb);
        assert_memory_equal(Wa, Wb, sizeof Wa);
        assert_memory_equal(aa, ab, sizeof aa);
        assert_memory_equal(ba, bb, sizeof ba);
    }
    assert_int_equal(rbm_trainer_step_count(tb), 12);
    assert_int_equal(rbm_trainer_batch_index(tb), 0);
    assert_int_equal(rbm_trainer_epoch_count(tb), 0);
    /* the applied gradient is the trainer's most recent one */
    double g1[24], g2[24];
    RBM_OKAY(ctx, rbm_gradient_get_weights(rbm_trainer_gradient(ta), g1, 24));
    RBM_OKAY(ctx, rbm_gradient_get_weights(rbm_trainer_gradient(tb), g2, 24));
    assert_memory_equal(g1, g2, sizeof g1);
    rbm_trainer_free(ta);
    rbm_trainer_free(tb);
    rbm_machine_free(ma);
    rbm_machine_free(mb);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

static void test_apply_gradient_follows_step(void **state)
{
    (void)state;
    check_apply_follows_step(RBM_OPTIMIZER_SGD, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    check_apply_follows_step(RBM_OPTIMIZER_MOMENTUM, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI);
    check_apply_follows_step(RBM_OPTIMIZER_ADAM, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI);
}

/* The recipe of trainer.h: a batch iterator with the trainer's seed, an
 * estimator seeded with rbm_seed_derive(seed, RBM_SEED_STREAM_TRAINER_ESTIMATOR)
 * and rbm_gradient_apply reproduce rbm_trainer_step with plain SGD bit for
 * bit, gradient by gradient, across epochs. */
static void check_custom_loop(rbm_estimator_kind kind, rbm_precision prec)
{
    rbm_context *ctx = rbm_test_context();
    enum { NV = 8, NH = 5, M = 70, B = 16, STEPS = 17 }; /* 5 batches per epoch, last of 6 */
    const uint64_t seed = 4711;
    const double lr = 0.05;
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, M, NV, 12);
    rbm_machine *m1 = NULL, *m2 = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m1));
    RBM_OKAY(ctx, rbm_machine_init_normal(m1, 0.1, 9));
    RBM_OKAY(ctx, rbm_machine_set_precision(m1, prec));
    RBM_OKAY(ctx, rbm_machine_clone(m1, &m2));
    assert_int_equal(rbm_machine_precision(m2), prec);

    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m1, ds, B, seed, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, kind, 2));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, lr));

    rbm_batch_iter *it = NULL;
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, B, RBM_BATCH_SHUFFLE, seed, &it));
    assert_int_equal(rbm_batch_iter_batches_per_epoch(it), rbm_trainer_batches_per_epoch(t));
    RBM_OKAY(ctx, rbm_test_estimator(m2, kind, 2, B, B,
                                    rbm_seed_derive(seed, RBM_SEED_STREAM_TRAINER_ESTIMATOR), &e));
    RBM_OKAY(ctx, rbm_gradient_new(m2, &g));
    double v[B * NV];
    double g1[NV * NH + NV + NH], g2[NV * NH + NV + NH], p1[NV * NH + NV + NH],
        p2[NV * NH + NV + NH];
    for (int s = 0; s < STEPS; s++) {
        rbm_status st1 = step_ok(ctx, t);
        size_t rows = 0;
        rbm_status st2 = rbm_batch_iter_next(it, v, B * NV, &rows);
        assert_true(st2 == RBM_OK || st2 == RBM_DONE);
        assert_int_equal(st1, st2); /* the epochs end together */
        RBM_OKAY(ctx, rbm_estimator_compute(e, rows, v, rows * NV, g));
        RBM_OKAY(ctx, rbm_gradient_apply(g, m2, lr));
        const rbm_gradient *gt = rbm_trainer_gradient(t);
        RBM_OKAY(ctx, rbm_gradient_get_weights(gt, g1, NV * NH));
        RBM_OKAY(ctx, rbm_gradient_get_visible_bias(gt, g1 + NV * NH, NV));
        RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(gt, g1 + NV * NH + NV, NH));
        RBM_OKAY(ctx, rbm_gradient_get_weights(g, g2, NV * NH));
        RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, g2 + NV * NH, NV));
        RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, g2 + NV * NH + NV, NH));
        if (memcmp(g1, g2, sizeof g1) != 0)
            fail_msg("%s/%s: gradient of step %d differs", rbm_estimator_kind_name(kind),
                     prec ? "float32" : "float64", s);
        read_params(ctx, m1, p1, p1 + NV * NH, p1 + NV * NH + NV);
        read_params(ctx, m2, p2, p2 + NV * NH, p2 + NV * NH + NV);
        if (memcmp(p1, p2, sizeof p1) != 0)
            fail_msg("%s/%s: parameters after step %d differ", rbm_estimator_kind_name(kind),
                     prec ? "float32" : "float64", s);
    }
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    rbm_batch_iter_free(it);
    rbm_trainer_free(t);
    rbm_machine_free(m1);
    rbm_machine_free(m2);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

static void test_custom_loop_reproduces_trainer(void **state)
{
    (void)state;
    const rbm_estimator_kind kinds[4] = {RBM_ESTIMATOR_CD, RBM_ESTIMATOR_PCD, RBM_ESTIMATOR_EXACT,
                                         RBM_ESTIMATOR_TAP2};
    for (int k = 0; k < 4; k++) {
        check_custom_loop(kinds[k], RBM_PRECISION_FLOAT64);
        check_custom_loop(kinds[k], RBM_PRECISION_FLOAT32);
    }
    /* the derivation is splitmix64 at position `stream` */
    assert_true(rbm_seed_derive(0, 0) == 0);
    assert_true(rbm_seed_derive(1234567, 6) != rbm_seed_derive(1234567, 5));
    assert_true(rbm_seed_derive(0, 1) == UINT64_C(0xe220a8397b1dcdaf));
}

static void test_apply_gradient_refusals(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, 10, 4, 30);
    rbm_machine *m = NULL, *other = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, 2));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &other));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 5, 1, &t));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, RBM_OPTIMIZER_ADAM));
    rbm_gradient *g = NULL, *go = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_gradient_new(other, &go));
    RBM_CHECK(ctx, rbm_trainer_apply_gradient(NULL, g), RBM_ERR_NULL);
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_trainer_apply_gradient(t, NULL), RBM_ERR_NULL);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    RBM_CHECK(ctx, rbm_trainer_apply_gradient(t, go), RBM_ERR_SHAPE);
    /* a gradient that overflowed to infinity: refused, nothing changed */
    double w[12], W0[12], a0[4], b0[3], W1[12], a1[4], b1[3];
    for (int k = 0; k < 12; k++) w[k] = 1e300;
    RBM_OKAY(ctx, rbm_gradient_set_weights(g, w, 12));
    RBM_OKAY(ctx, rbm_gradient_scale(g, 1e10));
    read_params(ctx, m, W0, a0, b0);
    RBM_CHECK(ctx, rbm_trainer_apply_gradient(t, g), RBM_ERR_NUMERICAL);
    read_params(ctx, m, W1, a1, b1);
    assert_memory_equal(W0, W1, sizeof W0);
    assert_memory_equal(a0, a1, sizeof a0);
    assert_memory_equal(b0, b1, sizeof b0);
    assert_int_equal(rbm_trainer_step_count(t), 0);
    /* a finite gradient is taken */
    RBM_OKAY(ctx, rbm_gradient_zero(g));
    RBM_OKAY(ctx, rbm_trainer_apply_gradient(t, g));
    assert_int_equal(rbm_trainer_step_count(t), 1);
    rbm_gradient_free(g);
    rbm_gradient_free(go);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_machine_free(other);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * No heap allocation in the step loop
 * ------------------------------------------------------------------------- */
typedef struct alloc_count {
    size_t allocs, frees;
} alloc_count;

static void *count_alloc(void *user, size_t size)
{
    ((alloc_count *)user)->allocs++;
    return malloc(size);
}
static void count_free(void *user, void *p)
{
    if (p) ((alloc_count *)user)->frees++;
    free(p);
}

static int quiet_observer(void *user, const rbm_trainer *t)
{
    (void)t;
    (*(int *)user)++;
    return 0;
}

static bool trainable(rbm_unit_kind vk, rbm_unit_kind hk, rbm_estimator_kind kind)
{
    bool gauss_gauss = vk == RBM_UNIT_GAUSSIAN && hk == RBM_UNIT_GAUSSIAN;
    return !(gauss_gauss && (kind == RBM_ESTIMATOR_TAP2 || kind == RBM_ESTIMATOR_TAP3));
}

/* 50 steps and 2 epochs of one configuration allocate nothing. */
static void check_no_allocation(rbm_context *ctx, alloc_count *cnt, const rbm_dataset *ds,
                                rbm_unit_kind vk, rbm_unit_kind hk, rbm_estimator_kind kind,
                                rbm_optimizer opt, rbm_precision prec)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 10, 5, vk, hk, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.05, 1));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, prec));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 16, 1, &t)); /* 5 batches, last of 6 rows */
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, kind, 2));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, opt));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.001));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_L1, 1e-4));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_L2, 1e-3));
    RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 1));
    int calls = 0;
    RBM_OKAY(ctx, rbm_trainer_set_observer(t, quiet_observer, &calls));
    assert_true(cnt->allocs > 0); /* the allocator is really used */
    size_t a0 = cnt->allocs, f0 = cnt->frees;
    for (int s = 0; s < 60; s++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE)
            fail_msg("%s-%s/%s/%s/%s: step %d: %s (%s)", rbm_unit_kind_name(vk),
                     rbm_unit_kind_name(hk), rbm_estimator_kind_name(kind),
                     rbm_optimizer_name(opt), prec ? "float32" : "float64", s,
                     rbm_status_name(st), rbm_context_last_error(ctx));
    }
    RBM_OKAY(ctx, rbm_trainer_apply_gradient(t, rbm_trainer_gradient(t)));
    if (cnt->allocs != a0 || cnt->frees != f0)
        fail_msg("%s-%s/%s/%s/%s: %zu allocations and %zu frees during the step loop",
                 rbm_unit_kind_name(vk), rbm_unit_kind_name(hk), rbm_estimator_kind_name(kind),
                 rbm_optimizer_name(opt), prec ? "float32" : "float64", cnt->allocs - a0,
                 cnt->frees - f0);
    assert_int_equal(calls, 60);
    rbm_trainer_free(t);
    rbm_machine_free(m);
}

/* rbm_estimator_compute and rbm_gradient_apply allocate nothing. */
static void check_no_allocation_apply(rbm_context *ctx, alloc_count *cnt, const rbm_dataset *ds,
                                      rbm_unit_kind vk, rbm_unit_kind hk, rbm_precision prec)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 10, 5, vk, hk, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.05, 2));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, prec));
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_PCD, 1, 0, 16, 4, &e));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    double x[16 * 10];
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, 16, x, 16 * 10));
    size_t a0 = cnt->allocs, f0 = cnt->frees;
    for (int s = 0; s < 20; s++) {
        RBM_OKAY(ctx, rbm_estimator_compute(e, 16, x, 16 * 10, g));
        RBM_OKAY(ctx, rbm_gradient_apply(g, m, 0.005));
    }
    if (cnt->allocs != a0 || cnt->frees != f0)
        fail_msg("%s-%s/%s: %zu allocations and %zu frees in compute + rbm_gradient_apply",
                 rbm_unit_kind_name(vk), rbm_unit_kind_name(hk), prec ? "float32" : "float64",
                 cnt->allocs - a0, cnt->frees - f0);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    rbm_machine_free(m);
}

/* Every unit pair, every estimator kind where it is supported, both
 * precisions; optimisers in turn. */
static void test_no_allocation_in_step(void **state)
{
    (void)state;
    alloc_count cnt = {0, 0};
    rbm_context *ctx = NULL;
    RBM_OKAY(ctx, rbm_context_new_with_allocator(count_alloc, count_free, &cnt, &ctx));
    const rbm_unit_kind units[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
    const rbm_optimizer opts[3] = {RBM_OPTIMIZER_SGD, RBM_OPTIMIZER_MOMENTUM, RBM_OPTIMIZER_ADAM};
    const rbm_precision precs[2] = {RBM_PRECISION_FLOAT64, RBM_PRECISION_FLOAT32};
    size_t n = 0;
    for (int v = 0; v < 3; v++) {
        rbm_dataset *ds = NULL;
        RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 70, 3, 3, 10, 0.5, units[v], 3, &ds));
        for (int h = 0; h < 3; h++)
            for (int p = 0; p < 2; p++) {
                for (int k = 0; k <= RBM_ESTIMATOR_TAP3; k++) {
                    rbm_estimator_kind kind = (rbm_estimator_kind)k;
                    if (!trainable(units[v], units[h], kind))
                        continue;
                    check_no_allocation(ctx, &cnt, ds, units[v], units[h], kind, opts[n++ % 3],
                                        precs[p]);
                }
                check_no_allocation_apply(ctx, &cnt, ds, units[v], units[h], precs[p]);
            }
        rbm_dataset_free(ds);
    }
    assert_int_equal(n, 2 * (9 * 6 - 2));
    assert_int_equal(cnt.allocs, cnt.frees + 1); /* only the context itself is left */
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------------- */
static void expect_trainer_refused(rbm_context *ctx, rbm_machine *m, const void *x, rbm_dtype dt, size_t M,
                                   size_t D, rbm_status want)
{
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, dt, M, D, RBM_COPY, &ds));
    rbm_trainer *t = NULL;
    RBM_CHECK(ctx, rbm_trainer_new(m, ds, 2, 1, &t), want);
    if (want != RBM_OK) {
        assert_null(t);
        assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    }
    rbm_trainer_free(t);
    rbm_dataset_free(ds);
}

static void test_bad_data(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *mb = NULL, *mi = NULL, *mg = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &mb));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, &mi));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, &mg));
    double x[12] = {0, 1, 0, 1, 1, 0, 0.5, 0.25, 1, 0, 0, 1};
    expect_trainer_refused(ctx, mb, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_OK); /* fractions are fine */
    x[7] = 2.0;
    expect_trainer_refused(ctx, mb, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_ERR_OUT_OF_RANGE);
    x[7] = -0.1;
    expect_trainer_refused(ctx, mb, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_ERR_OUT_OF_RANGE);
    expect_trainer_refused(ctx, mg, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_OK);
    x[7] = 0.3;
    expect_trainer_refused(ctx, mi, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_OK);
    x[7] = -1.5;
    expect_trainer_refused(ctx, mi, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_ERR_OUT_OF_RANGE);
    x[7] = 250.0;
    expect_trainer_refused(ctx, mg, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_OK);
    float xf[12] = {0, 1, 0, 1, 1, 0, 0, 1, 1, 3, 0, 1};
    expect_trainer_refused(ctx, mb, xf, RBM_DTYPE_FLOAT32, 4, 3, RBM_ERR_OUT_OF_RANGE);
    uint8_t xu[12] = {0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 255, 1}; /* raw uint8 images are not in [0,1] */
    expect_trainer_refused(ctx, mb, xu, RBM_DTYPE_UINT8, 4, 3, RBM_ERR_OUT_OF_RANGE);
    xu[10] = 1;
    expect_trainer_refused(ctx, mb, xu, RBM_DTYPE_UINT8, 4, 3, RBM_OK);
    /* wrong columns */
    expect_trainer_refused(ctx, mb, xu, RBM_DTYPE_UINT8, 3, 4, RBM_ERR_SHAPE);
    expect_trainer_refused(ctx, mb, xu, RBM_DTYPE_UINT8, 6, 2, RBM_ERR_SHAPE);
    /* NaN / Inf never reach the trainer: the dataset refuses them */
    double xn[6] = {0, 1, 0, 1, NAN, 0};
    rbm_dataset *ds = NULL;
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, xn, RBM_DTYPE_FLOAT64, 2, 3, RBM_COPY, &ds), RBM_ERR_NOT_FINITE);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, xn, RBM_DTYPE_FLOAT64, 2, 3, RBM_BORROW, &ds), RBM_ERR_NOT_FINITE);
    xn[4] = INFINITY;
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, xn, RBM_DTYPE_FLOAT64, 2, 3, RBM_COPY, &ds), RBM_ERR_NOT_FINITE);
    float xnf[6] = {0, 1, 0, 1, NAN, 0};
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, xnf, RBM_DTYPE_FLOAT32, 2, 3, RBM_COPY, &ds), RBM_ERR_NOT_FINITE);
    rbm_machine_free(mb);
    rbm_machine_free(mi);
    rbm_machine_free(mg);
    rbm_context_free(ctx);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = random_dataset(ctx, RBM_UNIT_BERNOULLI, 10, 4, 30);
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    rbm_trainer *t = NULL;
    RBM_CHECK(ctx, rbm_trainer_new(NULL, ds, 2, 1, &t), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_new(m, NULL, 2, 1, &t), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_new(m, ds, 2, 1, NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_new(m, ds, 0, 1, &t), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_new(m, ds, 11, 1, &t), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 10, 1, &t));

    const struct {
        rbm_trainer_param key;
        double value;
    } bad[] = {
        {RBM_TRAINER_LEARNING_RATE, 0.0},   {RBM_TRAINER_LEARNING_RATE, -0.1}, {RBM_TRAINER_LEARNING_RATE, NAN},
        {RBM_TRAINER_LEARNING_RATE, INFINITY}, {RBM_TRAINER_MOMENTUM, 1.0},   {RBM_TRAINER_MOMENTUM, -0.01},
        {RBM_TRAINER_MOMENTUM, NAN},        {RBM_TRAINER_ADAM_BETA1, 1.0},     {RBM_TRAINER_ADAM_BETA1, -0.5},
        {RBM_TRAINER_ADAM_BETA2, 1.0},      {RBM_TRAINER_ADAM_BETA2, 2.0},     {RBM_TRAINER_ADAM_EPSILON, 0.0},
        {RBM_TRAINER_ADAM_EPSILON, -1e-8},  {RBM_TRAINER_L1, -1e-3},           {RBM_TRAINER_L1, NAN},
        {RBM_TRAINER_L2, -1.0},             {RBM_TRAINER_L2, INFINITY},        {(rbm_trainer_param)99, 0.5},
    };
    for (size_t q = 0; q < sizeof bad / sizeof bad[0]; q++) {
        rbm_status st = rbm_trainer_set_real(t, bad[q].key, bad[q].value);
        if (st != RBM_ERR_INVALID_ARGUMENT)
            fail_msg("set_real(key %d, %g) returned %s, expected RBM_ERR_INVALID_ARGUMENT", (int)bad[q].key,
                     bad[q].value, rbm_status_name(st));
    }
    double v;
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_MOMENTUM, 0.0));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_ADAM_BETA1, 0.0));
    RBM_CHECK(ctx, rbm_trainer_get_real(t, (rbm_trainer_param)99, &v), RBM_ERR_INVALID_ARGUMENT);
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_trainer_get_real(t, RBM_TRAINER_L2, NULL), RBM_ERR_NULL);
    assert_non_null(strstr(rbm_context_last_error(ctx), "out is NULL"));
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_trainer_save_checkpoint(t, NULL), RBM_ERR_NULL);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    RBM_CHECK(ctx, rbm_trainer_get_real(NULL, RBM_TRAINER_L2, &v), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_set_real(NULL, RBM_TRAINER_L2, 0.1), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_set_optimizer(t, (rbm_optimizer)7), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_set_optimizer(NULL, RBM_OPTIMIZER_SGD), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_CD, 0), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_set_estimator(t, (rbm_estimator_kind)9, 1), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_set_estimator(NULL, RBM_ESTIMATOR_CD, 1), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_set_observer(NULL, NULL, NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_set_int(NULL, RBM_TRAINER_MONITOR_EVERY, 1), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_step(NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_trainer_run_epochs(NULL, 1), RBM_ERR_NULL);
    /* the trainer still works after the refusals */
    RBM_CHECK(ctx, rbm_trainer_step(t), RBM_DONE);
    /* precision changed under the trainer */
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    RBM_CHECK(ctx, rbm_trainer_step(t), RBM_ERR_STATE);
    rbm_trainer_free(t);

    /* EXACT refused for a machine too large to enumerate */
    rbm_machine *big = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 25, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, &big));
    RBM_OKAY(ctx, rbm_trainer_new(big, ds, 5, 1, &t));
    RBM_CHECK(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1), RBM_ERR_UNSUPPORTED);
    rbm_trainer_free(t);
    rbm_machine_free(big);

    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* An update that overflows gives RBM_ERR_NUMERICAL and restores the
 * parameters. Gaussian visible data of 100 give da ~ 100; with a learning
 * rate of 1e307 the update is infinite. */
static void test_numerical_failure_restores(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double x[12];
    for (int q = 0; q < 12; q++) x[q] = 100.0 + q;
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, 4, 3, RBM_COPY, &ds));
    ref_rbm *r = ref_new(3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 31, 0.1, 0.1);
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 4, 1, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 1e307));
    RBM_CHECK(ctx, rbm_trainer_step(t), RBM_ERR_NUMERICAL);
    double W[6], a[3], b[2];
    read_params(ctx, m, W, a, b);
    assert_memory_equal(W, r->W, sizeof W);
    assert_memory_equal(a, r->a, sizeof a);
    assert_memory_equal(b, r->b, sizeof b);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    ref_free(r);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* Gauss-Gauss: a step that crosses sigma_v^2 sigma_h^2 w_1^2 < 1 gives
 * RBM_ERR_NOT_NORMALIZABLE and leaves the parameters unchanged. Data with
 * variance ~100 give dW ~ sigma_h^2 C W ~ 50, so one step of lr = 1 from
 * w = 0.5 lands far beyond the bound w < 1. */
static void test_gauss_gauss_bound_restores(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double x[16];
    for (int q = 0; q < 8; q++) {
        double s = (q % 2) ? 10.0 : -10.0;
        x[2 * q] = s;
        x[2 * q + 1] = s * 0.9;
    }
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, 8, 2, RBM_COPY, &ds));
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 2, 1, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, &m));
    double w0[2] = {0.5, 0.3}, a0[2] = {0.1, -0.1}, b0[1] = {0.2};
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w0, 2));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a0, 2));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b0, 1));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 8, 1, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 1));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 1.0));
    RBM_CHECK(ctx, rbm_trainer_step(t), RBM_ERR_NOT_NORMALIZABLE);
    double W[2], a[2], b[1];
    read_params(ctx, m, W, a, b);
    assert_memory_equal(W, w0, sizeof W);
    assert_memory_equal(a, a0, sizeof a);
    assert_memory_equal(b, b0, sizeof b);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_identical),
        cmocka_unit_test(test_epoch_bookkeeping),
        cmocka_unit_test(test_epoch_covers_every_row),
        cmocka_unit_test(test_defaults_and_names),
        cmocka_unit_test(test_sgd_decay_closed_form),
        cmocka_unit_test(test_trainer_gradient_is_estimate),
        cmocka_unit_test(test_momentum_closed_form),
        cmocka_unit_test(test_adam_closed_form),
        cmocka_unit_test(test_learns_sgd),
        cmocka_unit_test(test_learns_momentum),
        cmocka_unit_test(test_learns_adam),
        cmocka_unit_test(test_learns_float32),
        cmocka_unit_test(test_reconstruction_error_definition),
        cmocka_unit_test(test_reconstruction_error_decreases),
        cmocka_unit_test(test_observer),
        cmocka_unit_test(test_custom_loop_reproduces_trainer),
        cmocka_unit_test(test_apply_gradient_follows_step),
        cmocka_unit_test(test_apply_gradient_refusals),
        cmocka_unit_test(test_no_allocation_in_step),
        cmocka_unit_test(test_bad_data),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_numerical_failure_restores),
        cmocka_unit_test(test_gauss_gauss_bound_restores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
