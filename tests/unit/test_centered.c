/* Tests of the centred gradient (trainer.h, RBM_TRAINER_CENTERED): the
 * transform itself against a direct computation, the same fixed point as
 * the plain gradient with the exact estimator on a small model, the
 * log-likelihood per step of both (printed), checkpoints of a centred run,
 * and the keys' bounds. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bernoulli rows near three prototypes (10% flips). */
static int three_proto_bit(size_t proto, size_t j)
{
    return (j * 7 + proto * 3) % 5 < 2;
}

static rbm_dataset *make_data(rbm_context *ctx, size_t rows, size_t nv, uint64_t seed)
{
    return rbm_test_prototype_data(ctx, rows, nv, 3, three_proto_bit, 0.1, seed);
}

static rbm_trainer *exact_trainer(rbm_context *ctx, rbm_dataset *d, size_t nh, int centered,
                                  double lr, rbm_machine **m)
{
    size_t nv = rbm_dataset_cols(d);
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, m));
    RBM_OKAY(ctx, rbm_machine_init_normal(*m, 0.1, 2));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(*m, d, rbm_dataset_rows(d), 3, &t)); /* full batch */
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, lr));
    RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_CENTERED, centered));
    RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 0));
    return t;
}


static double exact_ll(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *d)
{
    double ll;
    double lz;
    RBM_OKAY(ctx, rbm_exact_log_likelihood(m, d, &ll, &lz));
    return ll;
}

/* The first centred step against the formula computed here from the plain
 * exact gradient of the same machine and the batch's means. */
static void test_transform(void **state)
{
    (void)state;
    enum { NV = 6, NH = 3, M = 40 };
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = make_data(ctx, M, NV, 1);
    rbm_machine *m = NULL;
    rbm_trainer *t = exact_trainer(ctx, d, NH, 1, 0.1, &m);
    /* the plain gradient and the data means, independently */
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    double X[M * NV], gw[NV * NH], ga[NV], gb[NH], mu[NV] = {0}, lam[NH] = {0}, ph[M * NH];
    RBM_OKAY(ctx, rbm_dataset_get_rows(d, 0, M, X, M * NV));
    RBM_OKAY(ctx, rbm_estimator_new(m, RBM_ESTIMATOR_EXACT, M, 1, &e));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, X, M * NV, g));
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, gw, NV * NH));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, ga, NV));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, gb, NH));
    RBM_OKAY(ctx, rbm_machine_hidden_mean(m, M, X, M * NV, ph, M * NH));
    for (size_t r = 0; r < M; r++) {
        for (size_t i = 0; i < NV; i++)
            mu[i] += X[r * NV + i] / M;
        for (size_t j = 0; j < NH; j++)
            lam[j] += ph[r * NH + j] / M;
    }
    for (size_t i = 0; i < NV; i++)
        mu[i] -= 0.5 * ga[i]; /* mean of data and model */
    for (size_t j = 0; j < NH; j++)
        lam[j] -= 0.5 * gb[j];
    double w2[NV * NH], a2[NV], b2[NH];
    for (size_t i = 0; i < NV; i++)
        for (size_t j = 0; j < NH; j++)
            w2[i * NH + j] = gw[i * NH + j] - mu[i] * gb[j] - ga[i] * lam[j];
    for (size_t i = 0; i < NV; i++) {
        a2[i] = ga[i];
        for (size_t j = 0; j < NH; j++)
            a2[i] -= w2[i * NH + j] * lam[j];
    }
    for (size_t j = 0; j < NH; j++) {
        b2[j] = gb[j];
        for (size_t i = 0; i < NV; i++)
            b2[j] -= w2[i * NH + j] * mu[i];
    }
    rbm_test_steps(ctx, t, 1);
    const rbm_gradient *tg = rbm_trainer_gradient(t);
    double w3[NV * NH], a3[NV], b3[NH];
    RBM_OKAY(ctx, rbm_gradient_get_weights(tg, w3, NV * NH));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(tg, a3, NV));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(tg, b3, NH));
    for (size_t x = 0; x < NV * NH; x++)
        rbm_assert_close(w3[x], w2[x], 1e-10, 1e-12, "centred dW");
    for (size_t i = 0; i < NV; i++)
        rbm_assert_close(a3[i], a2[i], 1e-10, 1e-12, "centred da");
    for (size_t j = 0; j < NH; j++)
        rbm_assert_close(b3[j], b2[j], 1e-10, 1e-12, "centred db");
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* rows sampled from a random 6 x 2 machine (independent chains after a
 * long burn-in): data whose maximum-likelihood machine is finite. */
static rbm_dataset *sampled_data(rbm_context *ctx, size_t rows)
{
    rbm_machine *g = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &g));
    RBM_OKAY(ctx, rbm_machine_init_normal(g, 1.5, 77));
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(g, rows, 78, &s));
    RBM_OKAY(ctx, rbm_sampler_run(s, 500));
    double *X = calloc(rows * 6, sizeof(double));
    assert_non_null(X);
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, X, rows * 6));
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, X, RBM_DTYPE_FLOAT64, rows, 6, RBM_COPY, &d));
    free(X);
    rbm_sampler_free(s);
    rbm_machine_free(g);
    return d;
}

/* Both converge with the exact gradient to the same maximum of the exact
 * log-likelihood; from the plain solution the centred steps stay put, and
 * the log-likelihood after equal numbers of steps is printed (speed-up). */
static void test_same_fixed_point(void **state)
{
    (void)state;
    enum { NV = 6, NH = 2, M = 400 };
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = sampled_data(ctx, M);
    rbm_machine *mp = NULL, *mc = NULL;
    rbm_trainer *tp = exact_trainer(ctx, d, NH, 0, 0.2, &mp);
    rbm_trainer *tc = exact_trainer(ctx, d, NH, 1, 0.2, &mc);
    size_t done = 0;
    const size_t marks[] = {10, 100, 1000, 5000, 30000, 100000};
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
        rbm_test_steps(ctx, tp, marks[k] - done);
        rbm_test_steps(ctx, tc, marks[k] - done);
        done = marks[k];
        print_message("# exact-gradient LL after %5zu steps: plain %.6f, centred %.6f\n", done,
                      exact_ll(ctx, mp, d), exact_ll(ctx, mc, d));
    }
    double lp = exact_ll(ctx, mp, d), lc = exact_ll(ctx, mc, d);
    rbm_assert_close(lc, lp, 0, 1e-4, "centred and plain reach the same log-likelihood");
    /* gradient norms at both end points are ~0 */
    double gmax[2];
    const rbm_trainer *ts[2] = {tp, tc};
    for (int k = 0; k < 2; k++) {
        double w[NV * NH];
        RBM_OKAY(ctx, rbm_gradient_get_weights(rbm_trainer_gradient(ts[k]), w, NV * NH));
        gmax[k] = 0;
        for (size_t x = 0; x < NV * NH; x++)
            gmax[k] = fmax(gmax[k], fabs(w[x]));
    }
    print_message("# final |dW|max: plain %.2e, centred %.2e\n", gmax[0], gmax[1]);
    assert_true(gmax[0] < 1e-3 && gmax[1] < 1e-3);
    /* centred steps from the plain solution barely move it */
    double w0[NV * NH], w1[NV * NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(mp, w0, NV * NH));
    RBM_OKAY(ctx, rbm_trainer_set_int(tp, RBM_TRAINER_CENTERED, 1));
    rbm_test_steps(ctx, tp, 200);
    RBM_OKAY(ctx, rbm_machine_get_weights(mp, w1, NV * NH));
    double moved = 0;
    for (size_t x = 0; x < NV * NH; x++)
        moved = fmax(moved, fabs(w1[x] - w0[x]));
    print_message("# centred steps from the plain fixed point move W by %.2e\n", moved);
    assert_true(moved < 1e-2);
    rbm_assert_close(exact_ll(ctx, mp, d), lp, 0, 1e-5, "LL stays at the fixed point");
    rbm_trainer_free(tp);
    rbm_trainer_free(tc);
    rbm_machine_free(mp);
    rbm_machine_free(mc);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* A centred PCD run resumes from a checkpoint bit for bit. */
static void test_checkpoint(void **state)
{
    (void)state;
    enum { NV = 8, NH = 4, N = 11 };
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = make_data(ctx, 64, NV, 3);
    double straight[NV * NH], resumed[NV * NH];
    rbm_machine *m;
    rbm_trainer *t;
    for (int pass = 0; pass < 2; pass++) {
        RBM_OKAY(ctx, rbm_machine_new(ctx, NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
        RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, 2));
        RBM_OKAY(ctx, rbm_trainer_new(m, d, 16, 3, &t));
        RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_CENTERED, 1));
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_CENTERING_RATE, 0.05));
        rbm_test_steps(ctx, t, pass == 0 ? 2 * N : N);
        if (pass == 0) {
            RBM_OKAY(ctx, rbm_machine_get_weights(m, straight, NV * NH));
            rbm_trainer_free(t);
            rbm_machine_free(m);
        }
    }
    char dir[] = "/tmp/rbm-centred-XXXXXX", ck[256];
    assert_non_null(mkdtemp(dir));
    snprintf(ck, sizeof ck, "%s/c.ckpt", dir);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, ck));
    rbm_trainer_free(t);
    rbm_machine_free(m);
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, ck, d, &m, &t));
    int64_t on = 0;
    double rate = 0;
    RBM_OKAY(ctx, rbm_trainer_get_int(t, RBM_TRAINER_CENTERED, &on));
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_CENTERING_RATE, &rate));
    assert_true(on == 1 && rate == 0.05);
    rbm_test_steps(ctx, t, N);
    RBM_OKAY(ctx, rbm_machine_get_weights(m, resumed, NV * NH));
    assert_memory_equal(straight, resumed, sizeof straight);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    remove(ck);
    rmdir(dir);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_keys(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = make_data(ctx, 10, 4, 4);
    rbm_machine *m = NULL;
    rbm_trainer *t = exact_trainer(ctx, d, 2, 0, 0.1, &m);
    double rate = 0;
    int64_t on = 1;
    RBM_OKAY(ctx, rbm_trainer_get_real(t, RBM_TRAINER_CENTERING_RATE, &rate));
    RBM_OKAY(ctx, rbm_trainer_get_int(t, RBM_TRAINER_CENTERED, &on));
    assert_true(rate == 0.01 && on == 0);
    RBM_CHECK(ctx, rbm_trainer_set_real(t, RBM_TRAINER_CENTERING_RATE, 0), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_set_real(t, RBM_TRAINER_CENTERING_RATE, 1.5),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_set_real(t, RBM_TRAINER_CENTERING_RATE, NAN),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_set_int(t, RBM_TRAINER_CENTERED, 2), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_trainer_set_real(t, RBM_TRAINER_CENTERED, 1), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_CENTERING_RATE, 1));
    rbm_param_bounds b;
    RBM_OKAY(ctx, rbm_trainer_param_bounds(RBM_TRAINER_CENTERED, &b));
    assert_true(b.is_boolean == 1 && b.lo == 0 && b.hi == 1);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transform),
        cmocka_unit_test(test_same_fixed_point),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
