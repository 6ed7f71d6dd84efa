/* Tests for naive mean field and TAP2 on Potts visible layers
 * (meanfield.h, docs/theory.md §4.7).
 *
 * The references are computed here: exact marginals p(v_i = c), <h_j> and
 * log Z by enumerating the q^N visible configurations of small machines
 * (each hidden unit summed out in closed form), a q = 2 Potts machine mapped
 * to the Bernoulli machine with the same distribution, and finite
 * differences of Gamma. */
#include "mf_potts_ref.h"
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double mag, logz; /* Euclidean norm of the magnetisation errors (both layers); |log Z error| */
} errs_t;

static errs_t errors_at(rbm_context *ctx, const pmodel *p, rbm_mf_method method, double eps)
{
    rbm_machine *m = mfp_machine(ctx, p, eps);
    rbm_mf *s = NULL;
    RBM_OKAY(ctx, rbm_mf_new(m, method, &s));
    double mv[MAXW], mh[MAXH];
    double g = mfp_solve(ctx, s, p, mv, mh);
    mfp_exact e;
    mfp_enumerate(p, eps, &e);
    double lz = 0;
    if (p->hk != RBM_UNIT_GAUSSIAN) { /* the library's exact log Z agrees with ours */
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
        rbm_assert_close(lz, e.log_z, 1e-12, 1e-12, "exact log Z vs enumeration");
    }
    errs_t r = {0, fabs(-g - e.log_z)};
    for (size_t k = 0; k < p->n * p->q; k++)
        r.mag += (mv[k] - e.pv[k]) * (mv[k] - e.pv[k]);
    for (size_t j = 0; j < p->nh; j++)
        r.mag += (mh[j] - e.mh[j]) * (mh[j] - e.mh[j]);
    r.mag = sqrt(r.mag);
    rbm_mf_free(s);
    rbm_machine_free(m);
    return r;
}

/* Error ratios when the couplings are halved, from eps to eps/2, over six
 * random machines of 4 sites, 3 states and 3 hidden units (fields of scale
 * 1.5, 0.5 with a Gaussian hidden layer); every ratio must lie in [lo, hi]
 * (magnetisations) and [lo_z, hi_z] (log Z). Measured (eps 0.05 naive,
 * 0.025 TAP2 Bernoulli, 0.05 TAP2 Gaussian): naive 3.85-4.36 (both
 * hidden kinds, magnetisations and log Z), TAP2 Bernoulli 7.6-8.3
 * (magnetisations) and 6.9-8.3 (log Z), TAP2 Gaussian 15.5-16.9 and
 * 16.1-16.3. At larger eps the fourth-order terms still compete with the
 * small third-order ones of TAP2 (Bernoulli) and the log Z error changes
 * sign, so the ratios there say nothing about the order. */
static void check_order(rbm_unit_kind hk, rbm_mf_method method, double eps, double lo,
                        double hi, double lo_z, double hi_z, const char *name)
{
    rbm_context *ctx = rbm_test_context();
    for (uint64_t seed = 1; seed <= 6; seed++) {
        pmodel p;
        double fs = hk == RBM_UNIT_GAUSSIAN ? 0.5 : 1.5;
        mfp_random_model(&p, 4, 3, 3, hk, seed, fs);
        errs_t e1 = errors_at(ctx, &p, method, eps), e2 = errors_at(ctx, &p, method, eps / 2);
        double rm = e1.mag / e2.mag, rz = e1.logz / e2.logz;
        print_message("# %s seed %d: eps %g mag err %.3e -> %.3e (ratio %.2f), log Z err "
                      "%.3e -> %.3e (ratio %.2f)\n",
                      name, (int)seed, eps, e1.mag, e2.mag, rm, e1.logz, e2.logz, rz);
        if (!(rm >= lo && rm <= hi))
            fail_msg("%s seed %d: magnetisation error ratio %g outside [%g, %g]", name,
                     (int)seed, rm, lo, hi);
        if (!(rz >= lo_z && rz <= hi_z))
            fail_msg("%s seed %d: log Z error ratio %g outside [%g, %g]", name, (int)seed, rz,
                     lo_z, hi_z);
    }
    rbm_context_free(ctx);
}

/* naive MF: errors O(w^2) (ratio 4); TAP2: O(w^3) (ratio 8); with a
 * Gaussian hidden layer the third cumulant vanishes and TAP2 errors are
 * O(w^4) (ratio 16). */
typedef struct {
    rbm_unit_kind hk;
    rbm_mf_method method;
    double eps, lo, hi, lo_z, hi_z;
    const char *name;
} order_case;

static const order_case order_cases[] = {
    {RBM_UNIT_BERNOULLI, RBM_MF_NAIVE, 0.05, 3.5, 4.5, 3.5, 4.5, "naive/bernoulli"},
    {RBM_UNIT_BERNOULLI, RBM_MF_TAP2, 0.025, 7.0, 9.0, 6.5, 9.0, "tap2/bernoulli"},
    {RBM_UNIT_GAUSSIAN, RBM_MF_NAIVE, 0.05, 3.5, 4.5, 3.5, 4.5, "naive/gaussian"},
    {RBM_UNIT_GAUSSIAN, RBM_MF_TAP2, 0.05, 14.5, 17.5, 14.5, 17.5, "tap2/gaussian"},
};

static void test_order(void **state)
{
    const order_case *c = *state;
    check_order(c->hk, c->method, c->eps, c->lo, c->hi, c->lo_z, c->hi_z, c->name);
}

/* q = 2: a Potts machine in a random gauge and the Bernoulli machine with
 * w = W_1 - W_0, a = a_1 - a_0, b' = b + sum_i W_i0 have the same p(v), and
 * their Gammas agree up to the constant sum_i a_i0 at every point; so do
 * the fixed points and, by the chain rule, the weight derivatives. */
static void check_q2(rbm_unit_kind hk, rbm_mf_method method)
{
    rbm_context *ctx = rbm_test_context();
    pmodel p;
    mfp_random_model(&p, 4, 2, 3, hk, 11, 0.7);
    const double eps = hk == RBM_UNIT_GAUSSIAN ? 0.3 : 0.8;
    rbm_machine *pm = mfp_machine(ctx, &p, eps), *bm = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 3, RBM_UNIT_BERNOULLI, hk, &bm));
    double w[12], a[4], b[3], shift = 0;
    for (size_t j = 0; j < 3; j++)
        b[j] = p.b[j];
    for (size_t i = 0; i < 4; i++) {
        a[i] = p.a[2 * i + 1] - p.a[2 * i];
        shift += p.a[2 * i];
        for (size_t j = 0; j < 3; j++) {
            w[i * 3 + j] = eps * (p.W[(2 * i + 1) * 3 + j] - p.W[2 * i * 3 + j]);
            b[j] += eps * p.W[2 * i * 3 + j];
        }
    }
    RBM_OKAY(ctx, rbm_machine_set_weights(bm, w, 12));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(bm, a, 4));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(bm, b, 3));
    rbm_mf *ps = NULL, *bs = NULL;
    RBM_OKAY(ctx, rbm_mf_new(pm, method, &ps));
    RBM_OKAY(ctx, rbm_mf_new(bm, method, &bs));
    /* the same Gamma at random points */
    double mv[8], mh[3], mb[4];
    for (int t = 0; t < 5; t++) {
        mfp_random_point(&p, mv, mh);
        for (size_t i = 0; i < 4; i++)
            mb[i] = mv[2 * i + 1];
        double gp = mfp_gamma(ctx, ps, &p, mv, mh), gb;
        RBM_OKAY(ctx, rbm_mf_free_energy(bs, mb, 4, mh, 3, &gb));
        rbm_assert_close(gp, gb - shift, 1e-12, 1e-12, "q = 2 Gamma vs Bernoulli Gamma");
    }
    /* the same fixed point */
    double gp = mfp_solve(ctx, ps, &p, mv, mh), mhb[3], gb;
    for (size_t i = 0; i < 4; i++)
        mb[i] = 0.5;
    for (size_t j = 0; j < 3; j++)
        mhb[j] = hk == RBM_UNIT_GAUSSIAN ? 0.0 : 0.5;
    RBM_OKAY(ctx, rbm_mf_solve(bs, mb, 4, mhb, 3, NULL, NULL));
    RBM_OKAY(ctx, rbm_mf_free_energy(bs, mb, 4, mhb, 3, &gb));
    rbm_assert_close(gp, gb - shift, 1e-10, 1e-10, "q = 2 Gamma at the fixed point");
    for (size_t i = 0; i < 4; i++) {
        rbm_assert_close(mv[2 * i + 1], mb[i], 0, 1e-9, "q = 2 visible magnetisation");
        rbm_assert_close(mv[2 * i] + mv[2 * i + 1], 1.0, 0, 1e-12, "site sum");
    }
    for (size_t j = 0; j < 3; j++)
        rbm_assert_close(mh[j], mhb[j], 0, 1e-9, "q = 2 hidden magnetisation");
    /* weight derivatives: row i1 = dw_ij, row i0 = m_j - dw_ij */
    double dwp[24], dwb[12];
    RBM_OKAY(ctx, rbm_mf_weight_gradient(ps, mv, 8, mh, 3, dwp, 24));
    RBM_OKAY(ctx, rbm_mf_weight_gradient(bs, mb, 4, mhb, 3, dwb, 12));
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++) {
            rbm_assert_close(dwp[(2 * i + 1) * 3 + j], dwb[i * 3 + j], 0, 1e-9, "dW row i1");
            rbm_assert_close(dwp[2 * i * 3 + j], mhb[j] - dwb[i * 3 + j], 0, 1e-9, "dW row i0");
        }
    rbm_mf_free(ps);
    rbm_mf_free(bs);
    rbm_machine_free(pm);
    rbm_machine_free(bm);
    rbm_context_free(ctx);
}

static void test_q2_is_bernoulli(void **state)
{
    (void)state;
    check_q2(RBM_UNIT_BERNOULLI, RBM_MF_NAIVE);
    check_q2(RBM_UNIT_BERNOULLI, RBM_MF_TAP2);
    check_q2(RBM_UNIT_GAUSSIAN, RBM_MF_NAIVE);
    check_q2(RBM_UNIT_GAUSSIAN, RBM_MF_TAP2);
}

/* dGamma/dm against central differences of Gamma along directions that
 * keep every site on its simplex; -dGamma/dW against differences in W at
 * fixed magnetisations; the gradient vanishes at a fixed point. */
static void check_derivatives(rbm_unit_kind hk, rbm_mf_method method)
{
    mfp_fixture f;
    mfp_fixture_new(&f, 3, 3, 2, hk, 5, 0.6, hk == RBM_UNIT_GAUSSIAN ? 0.3 : 0.7, method);
    rbm_context *ctx = f.ctx;
    const pmodel p = f.p;
    rbm_machine *m = f.m;
    rbm_mf *s = f.s;
    const double h = 1e-5;
    const size_t nw = p.n * p.q;
    double mv[MAXW], mh[MAXH], gv[MAXW], gh[MAXH], d[MAXW + MAXH], x[MAXW], y[MAXH];
    mfp_random_point(&p, mv, mh);
    RBM_OKAY(ctx, rbm_mf_gradient(s, mv, nw, mh, p.nh, gv, nw, gh, p.nh));
    for (size_t i = 0; i < p.n; i++) {
        double sum = 0;
        for (size_t c = 0; c < p.q; c++)
            sum += gv[i * p.q + c];
        rbm_assert_close(sum, 0, 0, 1e-12, "projected gradient sums to 0 over a site");
    }
    for (int t = 0; t < 4; t++) {
        mfp_direction(&p, d);
        double g[2], dot = 0;
        for (int sgn = 0; sgn < 2; sgn++) {
            mfp_shift(&p, mv, mh, d, sgn ? -h : h, x, y);
            g[sgn] = mfp_gamma(ctx, s, &p, x, y);
        }
        for (size_t k = 0; k < nw; k++)
            dot += gv[k] * d[k];
        for (size_t j = 0; j < p.nh; j++)
            dot += gh[j] * d[nw + j];
        rbm_assert_close((g[0] - g[1]) / (2 * h), dot, 1e-6, 1e-7, "dGamma/dm . d");
    }
    /* -dGamma/dW at fixed magnetisations */
    double dw[MAXW * MAXH], W[MAXW * MAXH];
    RBM_OKAY(ctx, rbm_mf_weight_gradient(s, mv, nw, mh, p.nh, dw, nw * p.nh));
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, nw * p.nh));
    for (size_t k = 0; k < nw * p.nh; k++) {
        double g[2], w0 = W[k];
        for (int sgn = 0; sgn < 2; sgn++) {
            W[k] = w0 + (sgn ? -h : h);
            RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nw * p.nh));
            g[sgn] = mfp_gamma(ctx, s, &p, mv, mh);
        }
        W[k] = w0;
        RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nw * p.nh));
        rbm_assert_close(-(g[0] - g[1]) / (2 * h), dw[k], 1e-6, 1e-7, "-dGamma/dW");
    }
    /* at the fixed point */
    mfp_solve(ctx, s, &p, mv, mh);
    RBM_OKAY(ctx, rbm_mf_gradient(s, mv, nw, mh, p.nh, gv, nw, gh, p.nh));
    for (size_t k = 0; k < nw; k++)
        rbm_assert_close(gv[k], 0, 0, 1e-8, "visible gradient at the fixed point");
    for (size_t j = 0; j < p.nh; j++)
        rbm_assert_close(gh[j], 0, 0, 1e-8, "hidden gradient at the fixed point");
    /* indicator variances m (1 - m) */
    double cv[MAXW];
    RBM_OKAY(ctx, rbm_mf_variances(s, mv, nw, mh, p.nh, cv, nw, NULL, 0));
    for (size_t k = 0; k < nw; k++)
        rbm_assert_close(cv[k], mv[k] * (1 - mv[k]), 1e-15, 0, "indicator variance");
    mfp_fixture_free(&f);
}

static void test_derivatives(void **state)
{
    (void)state;
    check_derivatives(RBM_UNIT_BERNOULLI, RBM_MF_NAIVE);
    check_derivatives(RBM_UNIT_BERNOULLI, RBM_MF_TAP2);
    check_derivatives(RBM_UNIT_ISING, RBM_MF_TAP2);
    check_derivatives(RBM_UNIT_GAUSSIAN, RBM_MF_NAIVE);
    check_derivatives(RBM_UNIT_GAUSSIAN, RBM_MF_TAP2);
}

/* A gauge change shifts Gamma by the log Z shift and leaves the fixed
 * point where it was. */
static void test_gauge(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    pmodel p;
    mfp_random_model(&p, 4, 3, 3, RBM_UNIT_BERNOULLI, 21, 0.8);
    rbm_machine *m = mfp_machine(ctx, &p, 0.6), *g = NULL;
    RBM_OKAY(ctx, rbm_machine_clone(m, &g));
    double shift = 0;
    RBM_OKAY(ctx, rbm_machine_set_gauge(g, RBM_GAUGE_ZERO_SUM, &shift));
    rbm_mf *s = NULL, *sg = NULL;
    RBM_OKAY(ctx, rbm_mf_new(m, RBM_MF_TAP2, &s));
    RBM_OKAY(ctx, rbm_mf_new(g, RBM_MF_TAP2, &sg));
    double mv[12], mh[3], mv2[12], mh2[3];
    double g1 = mfp_solve(ctx, s, &p, mv, mh), g2 = mfp_solve(ctx, sg, &p, mv2, mh2);
    assert_true(fabs(shift) > 0.1);
    rbm_assert_close(-g1, -g2 + shift, 1e-12, 1e-10,
                     "log Z_TAP(before) = log Z_TAP(after) + shift");
    for (size_t k = 0; k < 12; k++)
        rbm_assert_close(mv[k], mv2[k], 0, 1e-9, "gauge-invariant magnetisations");
    for (size_t j = 0; j < 3; j++)
        rbm_assert_close(mh[j], mh2[j], 0, 1e-9, "gauge-invariant hidden magnetisations");
    rbm_mf_free(s);
    rbm_mf_free(sg);
    rbm_machine_free(m);
    rbm_machine_free(g);
    rbm_context_free(ctx);
}

/* What is refused, and how; a refused call writes nothing. */
static void test_refusals(void **state)
{
    (void)state;
    mfp_fixture f;
    mfp_fixture_new(&f, 3, 3, 2, RBM_UNIT_BERNOULLI, 3, 0.5, 0.5, RBM_MF_TAP2);
    rbm_context *ctx = f.ctx;
    rbm_machine *m = f.m;
    rbm_mf *s = NULL;
    RBM_CHECK(ctx, rbm_mf_new(m, RBM_MF_TAP3, &s), RBM_ERR_UNSUPPORTED);
    assert_null(s);
    s = f.s;
    double mv[9], mh[2] = {0.5, 0.5}, keep[9], H[121] = {0};
    for (size_t k = 0; k < 9; k++)
        mv[k] = 1.0 / 3;
    RBM_CHECK(ctx, rbm_mf_hessian(s, mv, 9, mh, 2, H, 25), RBM_ERR_SHAPE);
    rbm_mf_points *pts = NULL;
    mv[0] = 0.5; /* site 0 sums to 1.1667 */
    RBM_CHECK(ctx, rbm_mf_fixed_points(s, 1, mv, 9, NULL, 0, &pts), RBM_ERR_OUT_OF_RANGE);
    assert_null(pts);
    mv[0] = 1.0 / 3;
    uint8_t rows[3] = {0, 1, 2};
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, rows, RBM_DTYPE_UINT8, 1, 3, RBM_COPY, &d));
    RBM_CHECK(ctx, rbm_mf_dynamics_step(s, m, d, 1, 1, 0.1, NULL), RBM_ERR_UNSUPPORTED);
    assert_non_null(strstr(rbm_context_last_error(ctx), "Potts"));
    uint8_t bad[3] = {0, 3, 2}; /* a start that is not a state (the dataset is not categorical) */
    rbm_dataset *db = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, bad, RBM_DTYPE_UINT8, 1, 3, RBM_COPY, &db));
    RBM_CHECK(ctx, rbm_mf_fixed_points_data(s, db, 1, 1, &pts), RBM_ERR_INVALID_ARGUMENT);
    assert_null(pts);
    rbm_dataset_free(db);
    double g = 0;
    RBM_CHECK(ctx, rbm_mf_free_energy(s, mv, 3, mh, 2, &g), RBM_ERR_SHAPE);
    mv[4] = 0.2; /* site 1 sums to 0.8667 */
    memcpy(keep, mv, sizeof mv);
    RBM_CHECK(ctx, rbm_mf_free_energy(s, mv, 9, mh, 2, &g), RBM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(rbm_context_last_error(ctx), "site 1"));
    RBM_CHECK(ctx, rbm_mf_solve(s, mv, 9, mh, 2, NULL, NULL), RBM_ERR_OUT_OF_RANGE);
    assert_memory_equal(mv, keep, sizeof mv);
    mv[4] = NAN;
    RBM_CHECK(ctx, rbm_mf_solve(s, mv, 9, NULL, 0, NULL, NULL), RBM_ERR_NOT_FINITE);
    mv[4] = 1.0 / 3;
    mv[3] = 0, mv[4] = 1, mv[5] = 0; /* a one-hot site: fine for Gamma, not for the gradient */
    RBM_OKAY(ctx, rbm_mf_free_energy(s, mv, 9, mh, 2, &g));
    double gv[9], gh[2];
    RBM_CHECK(ctx, rbm_mf_gradient(s, mv, 9, mh, 2, gv, 9, gh, 2), RBM_ERR_OUT_OF_RANGE);
    rbm_dataset_free(d);
    mfp_fixture_free(&f);
}

/* The Hessian of Gamma (N q + N_h square, the entries taken as
 * independent) against central differences of the gradient: along a
 * direction d that keeps the sites on their simplexes, the projected
 * gradient moves by P H d (P: the mean over each site's states removed). */
static void check_hessian(rbm_unit_kind hk, rbm_mf_method method)
{
    mfp_fixture f;
    mfp_fixture_new(&f, 3, 3, 2, hk, 9, 0.6, hk == RBM_UNIT_GAUSSIAN ? 0.3 : 0.7, method);
    const pmodel p = f.p;
    const double h = 1e-5;
    const size_t nw = p.n * p.q, N = nw + p.nh;
    double mv[MAXW], mh[MAXH], H[(MAXW + MAXH) * (MAXW + MAXH)];
    mfp_random_point(&p, mv, mh);
    RBM_OKAY(f.ctx, rbm_mf_hessian(f.s, mv, nw, mh, p.nh, H, N * N));
    for (size_t x = 0; x < N; x++)
        for (size_t y = 0; y < x; y++)
            rbm_assert_close(H[x * N + y], H[y * N + x], 0, 1e-13, "symmetric Hessian");
    for (int t = 0; t < 3; t++) {
        double d[MAXW + MAXH], Hd[MAXW + MAXH] = {0}, g[2][MAXW + MAXH];
        mfp_direction(&p, d);
        for (size_t x = 0; x < N; x++)
            for (size_t y = 0; y < N; y++)
                Hd[x] += H[x * N + y] * d[y];
        mfp_site_center(&p, Hd); /* the visible rows, projected */
        for (int sgn = 0; sgn < 2; sgn++) {
            double x[MAXW], y[MAXH];
            mfp_shift(&p, mv, mh, d, sgn ? -h : h, x, y);
            RBM_OKAY(f.ctx, rbm_mf_gradient(f.s, x, nw, y, p.nh, g[sgn], nw, g[sgn] + nw, p.nh));
        }
        for (size_t k = 0; k < N; k++)
            rbm_assert_close((g[0][k] - g[1][k]) / (2 * h), Hd[k], 1e-6, 1e-6,
                             "Hessian . d vs finite difference of the gradient");
    }
    mfp_fixture_free(&f);
}

static void test_hessian(void **state)
{
    (void)state;
    check_hessian(RBM_UNIT_BERNOULLI, RBM_MF_NAIVE);
    check_hessian(RBM_UNIT_BERNOULLI, RBM_MF_TAP2);
    check_hessian(RBM_UNIT_ISING, RBM_MF_TAP2);
    check_hessian(RBM_UNIT_GAUSSIAN, RBM_MF_NAIVE);
    check_hessian(RBM_UNIT_GAUSSIAN, RBM_MF_TAP2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_order, (void *)&order_cases[0]),
        cmocka_unit_test_prestate(test_order, (void *)&order_cases[1]),
        cmocka_unit_test_prestate(test_order, (void *)&order_cases[2]),
        cmocka_unit_test_prestate(test_order, (void *)&order_cases[3]),
        cmocka_unit_test(test_q2_is_bernoulli),
        cmocka_unit_test(test_derivatives),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_hessian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
