/* Tests for the fixed-point search on Potts visible layers and for the MF
 * and TAP2 estimators and trainer on them (meanfield.h, estimator.h,
 * docs/theory.md §4.7). References: the Bernoulli twin of a q = 2 machine,
 * the solver's own fixed point, the data term computed here, and finite
 * differences of the re-solved log Z_TAP (mf_potts_ref.h). */
#include "mf_potts_ref.h"
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* q = 2: the fixed-point search on a Potts machine in a random gauge and on
 * its Bernoulli twin (as in check_q2), from the same starts, finds the same
 * points, with Gammas shifted by sum_i a_i0, the same stability and the
 * same smallest eigenvalue (the Potts restriction to the simplexes, scaled
 * by sqrt(m (1 - m)), is the Bernoulli scaled Hessian). A nearly
 * symmetric machine with couplings strong enough for two states. */
static void check_points_q2(rbm_unit_kind hk, rbm_mf_method method, double eps,
                            bool symmetric)
{
    rbm_context *ctx = rbm_test_context();
    /* the Bernoulli twin: the +-1 machine J = eps s t^T (+ noise) written in
     * {0,1} visible units (w = 4J or 2J, biases making it symmetric under
     * the spin flip), a small field breaking the tie of the two states */
    double w[12], a[4], b[3] = {0}, shift = 0;
    r_seed_offset(13, 5);
    double sv[4], tv[3];
    for (size_t i = 0; i < 4; i++)
        sv[i] = r_unif() < 0.5 ? -1.0 : 1.0, a[i] = symmetric ? 0.0 : 0.05 * r_norm();
    for (size_t j = 0; j < 3; j++)
        tv[j] = r_unif() < 0.5 ? -1.0 : 1.0;
    const double f = hk == RBM_UNIT_ISING ? 2.0 : 4.0;
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++) {
            double J = eps * (sv[i] * tv[j] + 0.2 * r_norm());
            w[i * 3 + j] = f * J;
            a[i] -= hk == RBM_UNIT_ISING ? 0.0 : 2.0 * J;
            b[j] -= hk == RBM_UNIT_ISING ? J : 2.0 * J;
        }
    /* the Potts machine in a random gauge: W_1 - W_0 = w, a_1 - a_0 = a,
     * b + sum_i W_i0 = b' */
    pmodel p = {.n = 4, .q = 2, .nh = 3, .hk = hk};
    for (size_t j = 0; j < 3; j++)
        p.b[j] = b[j];
    for (size_t i = 0; i < 4; i++) {
        p.a[2 * i] = r_norm();
        p.a[2 * i + 1] = p.a[2 * i] + a[i];
        shift += p.a[2 * i];
        for (size_t j = 0; j < 3; j++) {
            p.W[2 * i * 3 + j] = r_norm();
            p.W[(2 * i + 1) * 3 + j] = p.W[2 * i * 3 + j] + w[i * 3 + j];
            p.b[j] -= p.W[2 * i * 3 + j];
        }
    }
    rbm_machine *pm = mfp_machine(ctx, &p, 1.0), *bm = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 3, RBM_UNIT_BERNOULLI, hk, &bm));
    RBM_OKAY(ctx, rbm_machine_set_weights(bm, w, 12));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(bm, a, 4));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(bm, b, 3));
    enum { S = 17 };
    double vb[S * 4], vp[S * 8];
    for (size_t r = 0; r < S; r++) /* every corner of {0,1}^4, then the centre */
        for (size_t i = 0; i < 4; i++) {
            vb[r * 4 + i] = r < 16 ? (double)((r >> i) & 1) : 0.5;
            vp[r * 8 + 2 * i + 1] = vb[r * 4 + i];
            vp[r * 8 + 2 * i] = 1 - vb[r * 4 + i];
        }
    rbm_mf *ps = NULL, *bs = NULL;
    RBM_OKAY(ctx, rbm_mf_new(pm, method, &ps));
    RBM_OKAY(ctx, rbm_mf_new(bm, method, &bs));
    rbm_mf_points *pp = NULL, *bp = NULL;
    RBM_OKAY(ctx, rbm_mf_fixed_points(ps, S, vp, S * 8, NULL, 0, &pp));
    RBM_OKAY(ctx, rbm_mf_fixed_points(bs, S, vb, S * 4, NULL, 0, &bp));
    size_t n = rbm_mf_points_count(pp), n_unstable = 0;
    assert_int_equal(n, rbm_mf_points_count(bp));
    assert_int_equal(rbm_mf_points_failed_count(pp), rbm_mf_points_failed_count(bp));
    for (size_t k = 0; k < n; k++) {
        double gp, gb, ep, eb, mvp[8], mvb[4], best = INFINITY;
        size_t mp, mb, kb = 0;
        int sp, sb;
        RBM_OKAY(ctx, rbm_mf_points_get_magnetizations(pp, k, mvp, 8, NULL, 0));
        for (size_t l = 0; l < n; l++) { /* its twin: the closest Bernoulli point (ties of
                                            symmetric states may sort either way) */
            RBM_OKAY(ctx, rbm_mf_points_get_magnetizations(bp, l, mvb, 4, NULL, 0));
            double dist = 0;
            for (size_t i = 0; i < 4; i++)
                dist += fabs(mvp[2 * i + 1] - mvb[i]);
            if (dist < best)
                best = dist, kb = l;
        }
        assert_true(best < 4e-9);
        RBM_OKAY(ctx, rbm_mf_points_properties(pp, k, &gp, &mp, &sp, &ep));
        RBM_OKAY(ctx, rbm_mf_points_properties(bp, kb, &gb, &mb, &sb, &eb));
        rbm_assert_close(gp, gb - shift, 1e-10, 1e-10, "q = 2 point Gamma");
        rbm_assert_close(ep, eb, 1e-7, 1e-9, "q = 2 smallest scaled eigenvalue");
        assert_int_equal(sp, sb);
        assert_int_equal(mp, mb);
        n_unstable += !sp;
    }
    print_message("# q = 2 %s: %zu points, %zu unstable\n", rbm_mf_method_name(method), n,
                  n_unstable);
    assert_true(n >= 2);
    if (symmetric && method == RBM_MF_NAIVE) /* the centre is a fixed point, a saddle */
        assert_int_equal(n_unstable, 1);
    double lp, lb;
    RBM_OKAY(ctx, rbm_mf_points_log_z(pp, &lp, NULL, NULL));
    RBM_OKAY(ctx, rbm_mf_points_log_z(bp, &lb, NULL, NULL));
    rbm_assert_close(lp, lb + shift, 1e-10, 1e-10, "q = 2 TAP log Z over the states");
    rbm_mf_points_free(pp);
    rbm_mf_points_free(bp);
    rbm_mf_free(ps);
    rbm_mf_free(bs);
    rbm_machine_free(pm);
    rbm_machine_free(bm);
    rbm_context_free(ctx);
}

static void test_points_q2(void **state)
{
    (void)state;
    check_points_q2(RBM_UNIT_BERNOULLI, RBM_MF_NAIVE, 1.0, false);
    check_points_q2(RBM_UNIT_BERNOULLI, RBM_MF_TAP2, 1.0, false);
    check_points_q2(RBM_UNIT_ISING, RBM_MF_TAP2, 1.0, false);
    check_points_q2(RBM_UNIT_ISING, RBM_MF_NAIVE, 1.0, true);
    check_points_q2(RBM_UNIT_BERNOULLI, RBM_MF_TAP2, 1.0, true);
}

/* Fixed points from data rows and from random states at weak coupling: one
 * stable point, the solver's, whose TAP log Z is -Gamma; its projection on
 * the SVD modes is sum_ic m_ic u^alpha_{i,c}. */
static void test_points_weak(void **state)
{
    (void)state;
    mfp_fixture f;
    mfp_fixture_new(&f, 4, 3, 3, RBM_UNIT_BERNOULLI, 17, 1.0, 0.3, RBM_MF_TAP2);
    rbm_context *ctx = f.ctx;
    const pmodel p = f.p;
    rbm_mf *s = f.s;
    double mv[12], mh[3];
    double g = mfp_solve(ctx, s, &p, mv, mh);
    uint8_t rows[5 * 4] = {0, 1, 2, 0, 2, 2, 1, 1, 1, 0, 0, 2, 2, 1, 0, 1, 0, 0, 0, 0};
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, rows, RBM_DTYPE_UINT8, 5, 4, RBM_COPY, &d));
    RBM_OKAY(ctx, rbm_dataset_set_categories(d, 3, "ACG"));
    rbm_mf_points *pts[2] = {NULL, NULL};
    RBM_OKAY(ctx, rbm_mf_fixed_points_data(s, d, 5, 1, &pts[0]));
    RBM_OKAY(ctx, rbm_mf_fixed_points_random(s, 6, 2, &pts[1]));
    rbm_svd *svd = NULL;
    RBM_OKAY(ctx, rbm_svd_new(f.m, &svd));
    for (int t = 0; t < 2; t++) {
        assert_int_equal(rbm_mf_points_count(pts[t]), 1);
        double gk, ev, pm[12], lz, pv[2], u[12];
        int stable;
        size_t mult;
        RBM_OKAY(ctx, rbm_mf_points_properties(pts[t], 0, &gk, &mult, &stable, &ev));
        assert_true(stable && ev > 0);
        assert_int_equal(mult, t ? 6 : 5);
        rbm_assert_close(gk, g, 1e-12, 1e-10, "the one point is the solver's");
        RBM_OKAY(ctx, rbm_mf_points_get_magnetizations(pts[t], 0, pm, 12, NULL, 0));
        for (size_t k = 0; k < 12; k++)
            rbm_assert_close(pm[k], mv[k], 0, 1e-8, "point magnetisations");
        RBM_OKAY(ctx, rbm_mf_points_log_z(pts[t], &lz, NULL, NULL));
        rbm_assert_close(lz, -g, 1e-12, 1e-10, "TAP log Z of one state");
        RBM_OKAY(ctx, rbm_mf_points_project(pts[t], svd, 2, pv, 2, NULL, 0));
        for (size_t al = 0; al < 2; al++) {
            RBM_OKAY(ctx, rbm_svd_site_weights(svd, al, u, 12));
            double want = 0;
            for (size_t k = 0; k < 12; k++)
                want += pm[k] * u[k];
            rbm_assert_close(pv[al], want, 1e-12, 1e-12, "projection on mode alpha");
        }
        rbm_mf_points_free(pts[t]);
    }
    rbm_svd_free(svd);
    rbm_dataset_free(d);
    mfp_fixture_free(&f);
}

/* The MF and TAP2 estimators on a Potts machine: with enough iterations
 * every particle reaches the (unique, weak-coupling) fixed point, so the
 * gradient is the data term, computed here, minus d log Z_TAP / d theta at
 * that point, which must also equal the finite difference of
 * log Z_TAP = -Gamma(m*(theta)) re-solved at theta +- h (the total
 * derivative, stationarity doing the rest). */
static void check_estimator(rbm_unit_kind hk, rbm_estimator_kind kind, rbm_mf_method method)
{
    rbm_context *ctx = rbm_test_context();
    pmodel p;
    mfp_random_model(&p, 3, 3, 2, hk, 8, 0.6);
    const double eps = hk == RBM_UNIT_GAUSSIAN ? 0.3 : 0.6;
    rbm_machine *m = mfp_machine(ctx, &p, eps);
    const size_t B = 4, nw = p.n * p.q, nwh = nw * p.nh;
    const double v[12] = {0, 1, 2, 2, 2, 0, 1, 1, 1, 0, 2, 1};
    rbm_estimator *e = NULL;
    RBM_OKAY(ctx, rbm_estimator_new(m, kind, B, 1, &e));
    RBM_OKAY(ctx, rbm_estimator_set_int(e, RBM_ESTIMATOR_K, 400));
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, B, v, B * p.n, g));
    double dW[MAXW * MAXH], da[MAXW], db[MAXH];
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, dW, nwh));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, da, nw));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, db, p.nh));
    /* data term: <sigma_ic E[h_j | v]>, <sigma_ic>, <E[h_j | v]> */
    double tW[MAXW * MAXH] = {0}, ta[MAXW] = {0}, tb[MAXH] = {0};
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < p.nh; j++) {
            double x = p.b[j];
            for (size_t i = 0; i < p.n; i++)
                x += eps * p.W[(i * p.q + (size_t)v[r * p.n + i]) * p.nh + j];
            double h = mfp_hid_mean(hk, x) / (double)B;
            tb[j] += h;
            for (size_t i = 0; i < p.n; i++) {
                size_t row = i * p.q + (size_t)v[r * p.n + i];
                tW[row * p.nh + j] += h;
                if (j == 0)
                    ta[row] += 1.0 / (double)B;
            }
        }
    /* model term at the fixed point */
    rbm_mf *s = NULL;
    RBM_OKAY(ctx, rbm_mf_new(m, method, &s));
    double mv[MAXW], mh[MAXH], dw[MAXW * MAXH];
    mfp_solve(ctx, s, &p, mv, mh);
    RBM_OKAY(ctx, rbm_mf_weight_gradient(s, mv, nw, mh, p.nh, dw, nwh));
    for (size_t k = 0; k < nwh; k++)
        rbm_assert_close(dW[k], tW[k] - dw[k], 0, 1e-9, "estimator dW = data - model");
    for (size_t k = 0; k < nw; k++)
        rbm_assert_close(da[k], ta[k] - mv[k], 0, 1e-9, "estimator da = data - model");
    for (size_t j = 0; j < p.nh; j++)
        rbm_assert_close(db[j], tb[j] - mh[j], 0, 1e-9, "estimator db = data - model");
    /* the model term is the total derivative of log Z_TAP */
    double W[MAXW * MAXH];
    const double h = 1e-5;
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, nwh));
    for (size_t k = 0; k < nwh; k += 2) {
        double lz[2], w0 = W[k], x[MAXW], y[MAXH];
        for (int sgn = 0; sgn < 2; sgn++) {
            W[k] = w0 + (sgn ? -h : h);
            RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nwh));
            lz[sgn] = -mfp_solve(ctx, s, &p, x, y);
        }
        W[k] = w0;
        RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nwh));
        rbm_assert_close(tW[k] - dW[k], (lz[0] - lz[1]) / (2 * h), 1e-6, 1e-8,
                         "model term = d log Z_TAP / dW (finite difference)");
    }
    rbm_mf_free(s);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_estimators(void **state)
{
    (void)state;
    check_estimator(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_MF, RBM_MF_NAIVE);
    check_estimator(RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_TAP2, RBM_MF_TAP2);
    check_estimator(RBM_UNIT_ISING, RBM_ESTIMATOR_TAP2, RBM_MF_TAP2);
    check_estimator(RBM_UNIT_GAUSSIAN, RBM_ESTIMATOR_TAP2, RBM_MF_TAP2);
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    rbm_estimator *e = NULL;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, 3, 3, 2, RBM_UNIT_BERNOULLI, &m));
    RBM_CHECK(ctx, rbm_estimator_new(m, RBM_ESTIMATOR_TAP3, 4, 1, &e), RBM_ERR_INVALID_ARGUMENT);
    assert_null(e);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The trainer with the TAP2 estimator on categorical data: a checkpoint
 * taken mid-run (the persistent Potts particles included) resumes bit for
 * bit. */
static void test_trainer_resume(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    assert_int_equal(rbm_test_tmpdir_new("mf-potts"), 0);
    enum { R = 40 };
    uint8_t X[R * 4];
    r_seed_offset(3, 99);
    for (size_t k = 0; k < R * 4; k++)
        X[k] = (uint8_t)(r_u64() % 3);
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, X, RBM_DTYPE_UINT8, R, 4, RBM_COPY, &d));
    RBM_OKAY(ctx, rbm_dataset_set_categories(d, 3, "ACG"));
    pmodel p;
    mfp_random_model(&p, 4, 3, 3, RBM_UNIT_BERNOULLI, 2, 0.3);
    rbm_machine *m = mfp_machine(ctx, &p, 0.2), *m2 = NULL;
    rbm_trainer *t = NULL, *t2 = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, d, 8, 5, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_TAP2, 3));
    rbm_test_steps(ctx, t, 7); /* mid-epoch */
    const char *ck = rbm_test_tmp_path("ck.rbm");
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, ck));
    rbm_test_steps(ctx, t, 9);
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, ck, d, &m2, &t2));
    rbm_test_steps(ctx, t2, 9);
    double w1[MAXW * MAXH], w2[MAXW * MAXH], a1[MAXW], a2[MAXW];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, w1, 36));
    RBM_OKAY(ctx, rbm_machine_get_weights(m2, w2, 36));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, a1, 12));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m2, a2, 12));
    assert_memory_equal(w1, w2, 36 * sizeof(double));
    assert_memory_equal(a1, a2, 12 * sizeof(double));
    rbm_trainer_free(t2);
    rbm_machine_free(m2);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_test_tmpdir_remove();
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_q2),
        cmocka_unit_test(test_points_weak),
        cmocka_unit_test(test_estimators),
        cmocka_unit_test(test_trainer_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
