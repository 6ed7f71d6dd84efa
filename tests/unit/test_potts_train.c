/* Tests for training machines with a Potts visible layer (docs/potts.md):
 * the CD, PCD and EXACT estimators, sample weights in the data term, the
 * trainer, model files and checkpoints.
 *
 * References computed here: the model statistics <sigma_ic h_j>, <sigma_ic>
 * and <h_j> by the test's own enumeration of every (v, h) pair of a small
 * machine in long double; the data term from the test's own sigmoid of the
 * gathered hidden fields; the exact log-likelihood from the same
 * enumeration. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "potts_ref.h"

/* The data term of B rows (weights w, NULL for 1 each): weighted means of
 * sigma_ic E[h_j|v], sigma_ic and E[h_j|v]. */
static void data_term(const params *p, size_t B, const double *V, const double *w, double *vh,
                      double *va, double *ha)
{
    memset(vh, 0, NA * p->nh * sizeof(double));
    memset(va, 0, NA * sizeof(double));
    memset(ha, 0, p->nh * sizeof(double));
    double sum = 0;
    for (size_t r = 0; r < B; r++)
        sum += w ? w[r] : 1.0;
    for (size_t r = 0; r < B; r++) {
        const double *v = V + r * N;
        double wr = (w ? w[r] : 1.0) / sum;
        for (size_t j = 0; j < p->nh; j++) {
            double x = p->b[j];
            for (int i = 0; i < N; i++)
                x += p->W[(i * Q + (int)v[i]) * p->nh + j];
            double hj = 1.0 / (1.0 + exp(-x));
            ha[j] += wr * hj;
            for (int i = 0; i < N; i++)
                vh[(i * Q + (int)v[i]) * p->nh + j] += wr * hj;
        }
        for (int i = 0; i < N; i++)
            va[i * Q + (int)v[i]] += wr;
    }
}

/* Compare the gradient g with data - model within tol. */
static void check_gradient(rbm_context *ctx, const rbm_gradient *g, const params *p, size_t B,
                           const double *V, const model_stats *ms, double tol, const char *what)
{
    double dvh[NA * MAXH], dva[NA], dha[MAXH];
    data_term(p, B, V, NULL, dvh, dva, dha);
    double gW[NA * MAXH], ga[NA], gb[MAXH];
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, gW, NA * p->nh));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, ga, NA));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, gb, p->nh));
    char msg[100];
    for (size_t k = 0; k < NA * p->nh; k++) {
        snprintf(msg, sizeof msg, "%s dW[%zu]", what, k);
        rbm_assert_close(gW[k], dvh[k] - ms->vh[k], 0, tol, msg);
    }
    for (size_t k = 0; k < NA; k++) {
        snprintf(msg, sizeof msg, "%s da[%zu]", what, k);
        rbm_assert_close(ga[k], dva[k] - ms->v[k], 0, tol, msg);
    }
    for (size_t j = 0; j < p->nh; j++) {
        snprintf(msg, sizeof msg, "%s db[%zu]", what, j);
        rbm_assert_close(gb[j], dha[j] - ms->h[j], 0, tol, msg);
    }
}

static void random_batch(size_t B, double *V)
{
    for (size_t k = 0; k < B * N; k++)
        V[k] = (double)(r_u64() % Q);
}

/* EXACT: both enumerated layers (hidden for nh = 2: 4 < 27 states;
 * visible for nh = 6: 27 < 64), both precisions. */
static void test_exact_gradient(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nhs[2] = {2, 6};
    for (int c = 0; c < 2; c++)
        for (int prec = 0; prec < 2; prec++) {
            params p;
            random_params(&p, nhs[c], 21 + (uint64_t)c, 0.7);
            rbm_machine *m = potts_machine(ctx, &p);
            if (prec) { /* the float32 mirror's values are the reference */
                RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
                params_of(ctx, m, &p);
            }
            model_stats ms;
            enumerate_model(&p, &ms);
            enum { B = 7 };
            double V[B * N];
            random_batch(B, V);
            rbm_estimator *e;
            rbm_gradient *g;
            RBM_OKAY(ctx, rbm_estimator_new(m, RBM_ESTIMATOR_EXACT, B, 5, &e));
            RBM_OKAY(ctx, rbm_gradient_new(m, &g));
            RBM_OKAY(ctx, rbm_estimator_compute(e, B, V, B * N, g));
            check_gradient(ctx, g, &p, B, V, &ms, prec ? 2e-6 : 1e-12,
                           prec ? "exact float32" : "exact float64");
            /* a value that is not a state is refused, the gradient unchanged */
            double gW0[NA * MAXH], gW1[NA * MAXH];
            RBM_OKAY(ctx, rbm_gradient_get_weights(g, gW0, NA * p.nh));
            V[4] = 3;
            RBM_CHECK(ctx, rbm_estimator_compute(e, B, V, B * N, g), RBM_ERR_INVALID_ARGUMENT);
            V[4] = 1.5;
            RBM_CHECK(ctx, rbm_estimator_compute(e, B, V, B * N, g), RBM_ERR_INVALID_ARGUMENT);
            RBM_OKAY(ctx, rbm_gradient_get_weights(g, gW1, NA * p.nh));
            assert_memory_equal(gW0, gW1, NA * p.nh * sizeof(double));
            rbm_gradient_free(g);
            rbm_estimator_free(e);
            rbm_machine_free(m);
        }
    rbm_context_free(ctx);
}

/* CD-k and PCD-k with many chains and k sweeps: the model term within a
 * few standard errors of the enumerated one. */
static void test_gibbs_gradients(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    for (int prec = 0; prec < 2; prec++)
        for (int kind = 0; kind < 2; kind++) {
            params p;
            random_params(&p, 2, 31, 0.6);
            rbm_machine *m = potts_machine(ctx, &p);
            if (prec) {
                RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
                params_of(ctx, m, &p);
            }
            model_stats ms;
            enumerate_model(&p, &ms);
            enum { B = 20000 };
            double *V = xzalloc(B * N * sizeof(double));
            random_batch(B, V);
            rbm_estimator *e;
            rbm_gradient *g;
            RBM_OKAY(ctx, rbm_test_estimator(m, kind ? RBM_ESTIMATOR_PCD : RBM_ESTIMATOR_CD, 20,
                                             B, B, 7 + (uint64_t)prec, &e));
            RBM_OKAY(ctx, rbm_gradient_new(m, &g));
            RBM_OKAY(ctx, rbm_estimator_compute(e, B, V, B * N, g));
            /* standard error of a mean of B values in [0, 1]: <= 0.5/sqrt(B) */
            check_gradient(ctx, g, &p, B, V, &ms, 5 * 0.5 / sqrt((double)B) + 1e-5,
                           kind ? "PCD-20" : "CD-20");
            free(V);
            rbm_gradient_free(g);
            rbm_estimator_free(e);
            rbm_machine_free(m);
        }
    rbm_context_free(ctx);
}

/* Exact samples of p(v) by inverse CDF over the enumerated table. */

/* PCD training on exact samples of a planted machine raises the exact
 * log-likelihood of the data towards the planted machine's. */
static void test_pcd_training_raises_ll(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params planted;
    enum { R = 4000 };
    uint8_t *X = planted_samples(41, 1.5, R, &planted);
    double ll_planted = mean_ll(&planted, R, X);
    for (int prec = 0; prec < 2; prec++) {
        rbm_dataset *d = categorical(ctx, X, R);
        rbm_machine *m;
        RBM_OKAY(ctx, rbm_machine_new_potts(ctx, N, Q, 2, RBM_UNIT_BERNOULLI, &m));
        if (prec)
            RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
        params p0;
        params_of(ctx, m, &p0);
        double ll0 = mean_ll(&p0, R, X); /* W = a = b = 0: uniform, -N log Q */
        rbm_assert_close(ll0, -N * log((double)Q), 1e-12, 1e-12, "LL of the zero machine");
        rbm_trainer *t;
        RBM_OKAY(ctx, rbm_trainer_new(m, d, 100, 3, &t));
        RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 5));
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.05));
        RBM_OKAY(ctx, rbm_trainer_run_epochs(t, 30));
        params p1;
        params_of(ctx, m, &p1);
        double ll1 = mean_ll(&p1, R, X);
        /* most of the gap to the planted model is closed */
        if (!(ll1 > ll0 + 0.7 * (ll_planted - ll0)))
            fail_msg("precision %d: LL %g -> %g, planted %g", prec, ll0, ll1, ll_planted);
        double rec = rbm_trainer_reconstruction_error(t);
        assert_true(rec >= 0 && rec < 2);
        /* centring is not defined for Potts layers */
        RBM_CHECK(ctx, rbm_trainer_set_int(t, RBM_TRAINER_CENTERED, 1), RBM_ERR_UNSUPPORTED);
        rbm_trainer_free(t);
        rbm_machine_free(m);
        rbm_dataset_free(d);
    }
    free(X);
    rbm_context_free(ctx);
}

/* Integer sample weights in one full batch equal duplicated rows; the
 * weighted EXACT gradient equals the weighted data term minus the model. */
static void test_weighted_data_term(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { R = 6 };
    const uint8_t X[R * N] = {0, 1, 2, 1, 1, 0, 2, 2, 2, 0, 0, 1, 1, 2, 0, 2, 0, 1};
    const double w[R] = {1, 3, 0, 2, 1, 1};
    uint8_t Xd[8 * N];
    size_t n = 0;
    for (size_t r = 0; r < R; r++)
        for (int k = 0; k < (int)w[r]; k++, n++)
            memcpy(Xd + n * N, X + r * N, N);
    params p;
    random_params(&p, 2, 51, 0.5);
    rbm_machine *mw = potts_machine(ctx, &p), *md = potts_machine(ctx, &p);
    rbm_dataset *dw = categorical(ctx, X, R), *dd = categorical(ctx, Xd, n);
    RBM_OKAY(ctx, rbm_dataset_set_weights(dw, w, R));
    rbm_trainer *tw, *td;
    RBM_OKAY(ctx, rbm_trainer_new(mw, dw, R, 1, &tw));
    RBM_OKAY(ctx, rbm_trainer_new(md, dd, n, 1, &td));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(tw, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(td, RBM_ESTIMATOR_EXACT, 1));
    RBM_CHECK(ctx, rbm_trainer_step(tw), RBM_DONE);
    RBM_CHECK(ctx, rbm_trainer_step(td), RBM_DONE);
    /* the weighted gradient against the test's own weighted data term */
    model_stats ms;
    enumerate_model(&p, &ms);
    double V[R * N];
    for (size_t k = 0; k < R * N; k++)
        V[k] = X[k];
    double dvh[NA * MAXH], dva[NA], dha[MAXH], gW[NA * MAXH], ga[NA], gb[MAXH];
    data_term(&p, R, V, w, dvh, dva, dha);
    const rbm_gradient *g = rbm_trainer_gradient(tw);
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, gW, NA * 2));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, ga, NA));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, gb, 2));
    for (size_t k = 0; k < NA * 2; k++)
        rbm_assert_close(gW[k], dvh[k] - ms.vh[k], 0, 1e-12, "weighted dW");
    for (size_t k = 0; k < NA; k++)
        rbm_assert_close(ga[k], dva[k] - ms.v[k], 0, 1e-12, "weighted da");
    for (size_t j = 0; j < 2; j++)
        rbm_assert_close(gb[j], dha[j] - ms.h[j], 0, 1e-12, "weighted db");
    /* and the machines after one step agree with the duplicated rows */
    params pw, pd;
    params_of(ctx, mw, &pw);
    params_of(ctx, md, &pd);
    for (size_t k = 0; k < NA * 2; k++)
        rbm_assert_close(pw.W[k], pd.W[k], 0, 1e-14, "weights vs duplicated rows");
    rbm_trainer_free(tw);
    rbm_trainer_free(td);
    rbm_dataset_free(dw);
    rbm_dataset_free(dd);
    rbm_machine_free(mw);
    rbm_machine_free(md);
    rbm_context_free(ctx);
}

/* A model file round-trips a Potts machine bit for bit (both precisions);
 * a checkpoint resumes PCD training bit-identically. */
static void test_model_file_and_resume(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    assert_int_equal(rbm_test_tmpdir_new("potts-train"), 0);
    params planted;
    enum { R = 300 };
    uint8_t *X = planted_samples(61, 1.2, R, &planted);
    for (int prec = 0; prec < 2; prec++) {
        rbm_machine *m = potts_machine(ctx, &planted), *l;
        if (prec)
            RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
        const char *path = rbm_test_tmp_path("m.rbm");
        RBM_OKAY(ctx, rbm_machine_save(m, path));
        RBM_OKAY(ctx, rbm_machine_load(ctx, path, &l));
        assert_int_equal(rbm_machine_n_states(l, RBM_LAYER_VISIBLE), Q);
        assert_int_equal(rbm_machine_precision(l), rbm_machine_precision(m));
        rbm_assert_same_machine(m, l);
        rbm_machine_free(l);

        rbm_dataset *d = categorical(ctx, X, R);
        rbm_trainer *t;
        RBM_OKAY(ctx, rbm_trainer_new(m, d, 32, 9, &t));
        RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 2));
        RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, RBM_OPTIMIZER_ADAM));
        rbm_test_steps(ctx, t, 15); /* mid-epoch */
        const char *ck = rbm_test_tmp_path("ck.rbm");
        RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, ck));
        rbm_test_steps(ctx, t, 25);
        rbm_machine *m2;
        rbm_trainer *t2;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, ck, d, &m2, &t2));
        assert_int_equal(rbm_machine_n_states(m2, RBM_LAYER_VISIBLE), Q);
        rbm_test_steps(ctx, t2, 25);
        params a, b;
        params_of(ctx, m, &a);
        params_of(ctx, m2, &b);
        assert_memory_equal(a.W, b.W, NA * 2 * sizeof(double));
        assert_memory_equal(a.a, b.a, NA * sizeof(double));
        assert_memory_equal(a.b, b.b, 2 * sizeof(double));
        assert_int_equal(rbm_trainer_step_count(t), rbm_trainer_step_count(t2));
        rbm_trainer_free(t2);
        rbm_machine_free(m2);
        rbm_trainer_free(t);
        rbm_dataset_free(d);
        rbm_machine_free(m);
    }
    free(X);
    rbm_test_tmpdir_remove();
    rbm_context_free(ctx);
}

/* Potts states are checked at every door: sampler states, the trainer's
 * data; TAP3 and PT estimators refuse (MF and TAP2:
 * test_meanfield_potts_points.c). */
static void test_refusals(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params p;
    random_params(&p, 2, 71, 0.5);
    rbm_machine *m = potts_machine(ctx, &p);
    rbm_sampler *s;
    RBM_OKAY(ctx, rbm_sampler_new(m, 4, 1, &s));
    double v[4 * N] = {0, 1, 2, 2, 1, 0, 0, 0, 0, 1, 1, 1};
    RBM_OKAY(ctx, rbm_sampler_set_visible(s, v, 4 * N));
    RBM_OKAY(ctx, rbm_sampler_run(s, 3));
    double out[4 * N];
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, out, 4 * N));
    for (size_t k = 0; k < 4 * N; k++)
        assert_true(out[k] == 0 || out[k] == 1 || out[k] == 2);
    v[5] = 3;
    RBM_CHECK(ctx, rbm_sampler_set_visible(s, v, 4 * N), RBM_ERR_INVALID_ARGUMENT);
    rbm_sampler_free(s);
    rbm_estimator *e = NULL;
    const rbm_estimator_kind no[] = {RBM_ESTIMATOR_TAP3, RBM_ESTIMATOR_PT};
    for (size_t k = 0; k < sizeof no / sizeof no[0]; k++) {
        RBM_CHECK(ctx, rbm_estimator_new(m, no[k], 4, 1, &e), RBM_ERR_INVALID_ARGUMENT);
        assert_null(e);
    }
    const double bad[2 * N] = {0, 1, 2, 0, 5, 1};
    rbm_dataset *d;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, bad, RBM_DTYPE_FLOAT64, 2, N, RBM_COPY, &d));
    rbm_trainer *t = NULL;
    RBM_CHECK(ctx, rbm_trainer_new(m, d, 2, 1, &t), RBM_ERR_OUT_OF_RANGE);
    assert_null(t);
    rbm_dataset_free(d);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_gradient),
        cmocka_unit_test(test_gibbs_gradients),
        cmocka_unit_test(test_pcd_training_raises_ll),
        cmocka_unit_test(test_weighted_data_term),
        cmocka_unit_test(test_model_file_and_resume),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
