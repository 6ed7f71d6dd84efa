/* Tests of gradient objects (gradient.h): copies in and out, scale and axpy
 * against hand-computed values, refusals, and a gradient built by the
 * caller from exact statistics (enumerated in the test) against the EXACT
 * estimator's. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

enum { NV = 3, NH = 2, NW = NV * NH };

static rbm_machine *small_machine(rbm_context *ctx, size_t nv, size_t nh)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    return m;
}

static void set_all(rbm_context *ctx, rbm_gradient *g, const double *w, const double *a,
                    const double *b)
{
    RBM_OKAY(ctx, rbm_gradient_set_weights(g, w, NW));
    RBM_OKAY(ctx, rbm_gradient_set_visible_bias(g, a, NV));
    RBM_OKAY(ctx, rbm_gradient_set_hidden_bias(g, b, NH));
}

static void get_all(rbm_context *ctx, const rbm_gradient *g, double *w, double *a, double *b)
{
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, w, NW));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, a, NV));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, b, NH));
}

static void test_set_get_round_trip(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = small_machine(ctx, NV, NH);
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    const double w[NW] = {1.5, -2.25, 0.0, -0.0, 1e-300, 3e300};
    const double a[NV] = {0.125, -7.0, 4.0};
    const double b[NH] = {-1e-9, 2.5};
    set_all(ctx, g, w, a, b);
    double w2[NW], a2[NV], b2[NH];
    get_all(ctx, g, w2, a2, b2);
    assert_memory_equal(w, w2, sizeof w); /* bit for bit, -0.0 included */
    assert_memory_equal(a, a2, sizeof a);
    assert_memory_equal(b, b2, sizeof b);
    /* the caller's buffer is not kept */
    double wc[NW];
    memcpy(wc, w, sizeof wc);
    RBM_OKAY(ctx, rbm_gradient_set_weights(g, wc, NW));
    wc[0] = 99.0;
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, w2, NW));
    assert_true(w2[0] == 1.5);
    /* zero */
    RBM_OKAY(ctx, rbm_gradient_zero(g));
    get_all(ctx, g, w2, a2, b2);
    for (int k = 0; k < NW; k++) assert_true(w2[k] == 0.0);
    for (int i = 0; i < NV; i++) assert_true(a2[i] == 0.0);
    for (int j = 0; j < NH; j++) assert_true(b2[j] == 0.0);
    rbm_gradient_free(g);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_scale_axpy_values(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = small_machine(ctx, NV, NH);
    rbm_gradient *x = NULL, *y = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &x));
    RBM_OKAY(ctx, rbm_gradient_new(m, &y));
    const double xw[NW] = {1, 2, 3, 4, 5, 6}, xa[NV] = {-1, 0.5, 2}, xb[NH] = {8, -4};
    const double yw[NW] = {0.5, 0.25, -1, 0, 2, -3}, ya[NV] = {1, 1, 1}, yb[NH] = {0, 0.75};
    set_all(ctx, x, xw, xa, xb);
    set_all(ctx, y, yw, ya, yb);

    /* scale: x = -0.5 x (exact in binary) */
    RBM_OKAY(ctx, rbm_gradient_scale(x, -0.5));
    double w[NW], a[NV], b[NH];
    get_all(ctx, x, w, a, b);
    const double sw[NW] = {-0.5, -1, -1.5, -2, -2.5, -3}, sa[NV] = {0.5, -0.25, -1},
                 sb[NH] = {-4, 2};
    assert_memory_equal(w, sw, sizeof w);
    assert_memory_equal(a, sa, sizeof a);
    assert_memory_equal(b, sb, sizeof b);

    /* axpy: y = y + 2 x with x = sw, sa, sb */
    RBM_OKAY(ctx, rbm_gradient_axpy(y, 2.0, x));
    get_all(ctx, y, w, a, b);
    const double aw[NW] = {-0.5, -1.75, -4, -4, -3, -9}, aa[NV] = {2, 0.5, -1}, ab[NH] = {-8, 4.75};
    assert_memory_equal(w, aw, sizeof w);
    assert_memory_equal(a, aa, sizeof a);
    assert_memory_equal(b, ab, sizeof b);
    /* x is only read */
    get_all(ctx, x, w, a, b);
    assert_memory_equal(w, sw, sizeof w);

    /* y = y + (-1) y: zero; aliasing is allowed */
    RBM_OKAY(ctx, rbm_gradient_axpy(y, -1.0, y));
    get_all(ctx, y, w, a, b);
    for (int k = 0; k < NW; k++) assert_true(w[k] == 0.0);
    for (int i = 0; i < NV; i++) assert_true(a[i] == 0.0);
    for (int j = 0; j < NH; j++) assert_true(b[j] == 0.0);
    rbm_gradient_free(x);
    rbm_gradient_free(y);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The gradient's values, for "unchanged after a refusal". */
static void expect_values(rbm_context *ctx, const rbm_gradient *g, const double *w,
                          const double *a, const double *b)
{
    double w2[NW], a2[NV], b2[NH];
    get_all(ctx, g, w2, a2, b2);
    assert_memory_equal(w, w2, sizeof w2);
    assert_memory_equal(a, a2, sizeof a2);
    assert_memory_equal(b, b2, sizeof b2);
}

static void expect_detail(rbm_context *ctx, const char *needle)
{
    const char *msg = rbm_context_last_error(ctx);
    if (!strstr(msg, needle))
        fail_msg("detail \"%s\" does not mention \"%s\"", msg, needle);
}

static void test_refusals(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = small_machine(ctx, NV, NH), *other = small_machine(ctx, NV, NH + 1);
    rbm_gradient *g = NULL, *go = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_gradient_new(other, &go));
    const double w[NW] = {1, 2, 3, 4, 5, 6}, a[NV] = {7, 8, 9}, b[NH] = {10, 11};
    set_all(ctx, g, w, a, b);

    /* NaN / infinity: refused with the index, nothing changed */
    double bad[NW];
    memcpy(bad, w, sizeof bad);
    bad[4] = NAN;
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_gradient_set_weights(g, bad, NW), RBM_ERR_NOT_FINITE);
    expect_detail(ctx, "[4]");
    double bada[NV] = {0, INFINITY, 0}, badb[NH] = {-INFINITY, 0};
    RBM_CHECK(ctx, rbm_gradient_set_visible_bias(g, bada, NV), RBM_ERR_NOT_FINITE);
    expect_detail(ctx, "[1]");
    RBM_CHECK(ctx, rbm_gradient_set_hidden_bias(g, badb, NH), RBM_ERR_NOT_FINITE);
    expect_detail(ctx, "[0]");
    expect_values(ctx, g, w, a, b);

    /* lengths */
    RBM_CHECK(ctx, rbm_gradient_set_weights(g, w, NW - 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_gradient_set_visible_bias(g, a, NV + 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_gradient_set_hidden_bias(g, b, 0), RBM_ERR_SHAPE);
    expect_values(ctx, g, w, a, b);

    /* NULL */
    RBM_CHECK(ctx, rbm_gradient_set_weights(NULL, w, NW), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_gradient_set_visible_bias(NULL, a, NV), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_gradient_set_hidden_bias(NULL, b, NH), RBM_ERR_NULL);
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_gradient_set_weights(g, NULL, NW), RBM_ERR_NULL);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    RBM_CHECK(ctx, rbm_gradient_scale(NULL, 2.0), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_gradient_axpy(NULL, 1.0, g), RBM_ERR_NULL);
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_gradient_axpy(g, 1.0, NULL), RBM_ERR_NULL);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);

    /* a NULL argument next to a handle leaves a detail in the context */
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_gradient_apply(g, NULL, 1.0), RBM_ERR_NULL);
    expect_detail(ctx, "machine is NULL");
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_gradient_apply(NULL, m, 1.0), RBM_ERR_NULL);
    expect_detail(ctx, "gradient is NULL");
    RBM_CHECK(ctx, rbm_gradient_apply(NULL, NULL, 1.0), RBM_ERR_NULL);
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_gradient_get_hidden_bias(g, NULL, NH), RBM_ERR_NULL);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);

    /* scale / axpy: non-finite alpha, shapes */
    RBM_CHECK(ctx, rbm_gradient_scale(g, NAN), RBM_ERR_NOT_FINITE);
    RBM_CHECK(ctx, rbm_gradient_scale(g, -INFINITY), RBM_ERR_NOT_FINITE);
    RBM_CHECK(ctx, rbm_gradient_axpy(g, INFINITY, g), RBM_ERR_NOT_FINITE);
    rbm_context_clear_error(ctx);
    RBM_CHECK(ctx, rbm_gradient_axpy(g, 1.0, go), RBM_ERR_SHAPE);
    expect_detail(ctx, "3 x 3");
    RBM_CHECK(ctx, rbm_gradient_axpy(go, 1.0, g), RBM_ERR_SHAPE);
    expect_values(ctx, g, w, a, b);

    rbm_gradient_free(g);
    rbm_gradient_free(go);
    rbm_machine_free(m);
    rbm_machine_free(other);
    rbm_context_free(ctx);
}

/* Exact model statistics of a small discrete machine by enumerating every
 * joint state (v, h) with the reference parameters: p(v, h) ~ exp(-E),
 * E = -v.W h - a.v - b.h. */
static void ref_model_stats(const ref_rbm *r, double *vh, double *v, double *h)
{
    size_t nv = r->nv, nh = r->nh;
    double sv[16], sh[16], Z = 0.0, shift = -INFINITY;
    memset(vh, 0, nv * nh * sizeof(double));
    memset(v, 0, nv * sizeof(double));
    memset(h, 0, nh * sizeof(double));
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t iv = 0; iv < ((uint64_t)1 << nv); iv++)
            for (uint64_t ih = 0; ih < ((uint64_t)1 << nh); ih++) {
                ref_state(r->vk, nv, iv, sv);
                ref_state(r->hk, nh, ih, sh);
                double neg_e = 0.0;
                for (size_t i = 0; i < nv; i++) {
                    neg_e += r->a[i] * sv[i];
                    for (size_t j = 0; j < nh; j++) neg_e += sv[i] * r->W[i * nh + j] * sh[j];
                }
                for (size_t j = 0; j < nh; j++) neg_e += r->b[j] * sh[j];
                if (pass == 0) { /* the largest exponent, for a stable sum */
                    shift = fmax(shift, neg_e);
                    continue;
                }
                double p = exp(neg_e - shift);
                Z += p;
                for (size_t i = 0; i < nv; i++) {
                    v[i] += p * sv[i];
                    for (size_t j = 0; j < nh; j++) vh[i * nh + j] += p * sv[i] * sh[j];
                }
                for (size_t j = 0; j < nh; j++) h[j] += p * sh[j];
            }
    for (size_t k = 0; k < nv * nh; k++) vh[k] /= Z;
    for (size_t i = 0; i < nv; i++) v[i] /= Z;
    for (size_t j = 0; j < nh; j++) h[j] /= Z;
}

/* Data statistics of a minibatch: <v E[h|v]>, <v>, <E[h|v]>. */
static void ref_data_stats(const ref_rbm *r, size_t M, const double *data, double *vh, double *v,
                           double *h)
{
    size_t nv = r->nv, nh = r->nh;
    memset(vh, 0, nv * nh * sizeof(double));
    memset(v, 0, nv * sizeof(double));
    memset(h, 0, nh * sizeof(double));
    for (size_t mu = 0; mu < M; mu++) {
        const double *x = data + mu * nv;
        for (size_t j = 0; j < nh; j++) {
            double field = r->b[j];
            for (size_t i = 0; i < nv; i++) field += x[i] * r->W[i * nh + j];
            double hm = ref_mean(r->hk, r->sh, field);
            h[j] += hm / (double)M;
            for (size_t i = 0; i < nv; i++) vh[i * nh + j] += x[i] * hm / (double)M;
        }
        for (size_t i = 0; i < nv; i++) v[i] += x[i] / (double)M;
    }
}

/* A caller builds data - model from exact statistics of its own; the result
 * equals the EXACT estimator's gradient on the same minibatch. */
static void test_caller_built_equals_exact(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { V = 6, H = 4, M = 9 };
    ref_rbm *r = ref_new(V, H, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 4242, 0.4, 0.3);
    rbm_machine *m = ref_to_machine(ctx, r);
    double data[M * V];
    t_sm_state = 99;
    for (size_t k = 0; k < M * V; k++) data[k] = ref_bitval(r->vk, t_unif() < 0.6);

    double dvh[V * H], dv[V], dh[H], mvh[V * H], mv[V], mh[H];
    ref_data_stats(r, M, data, dvh, dv, dh);
    ref_model_stats(r, mvh, mv, mh);
    rbm_gradient *g = NULL, *neg = NULL, *ge = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_gradient_new(m, &neg));
    RBM_OKAY(ctx, rbm_gradient_new(m, &ge));
    RBM_OKAY(ctx, rbm_gradient_set_weights(g, dvh, V * H));
    RBM_OKAY(ctx, rbm_gradient_set_visible_bias(g, dv, V));
    RBM_OKAY(ctx, rbm_gradient_set_hidden_bias(g, dh, H));
    RBM_OKAY(ctx, rbm_gradient_set_weights(neg, mvh, V * H));
    RBM_OKAY(ctx, rbm_gradient_set_visible_bias(neg, mv, V));
    RBM_OKAY(ctx, rbm_gradient_set_hidden_bias(neg, mh, H));
    RBM_OKAY(ctx, rbm_gradient_axpy(g, -1.0, neg));

    rbm_estimator *e = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 1, 0, M, 1, &e));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * V, ge));
    double w1[V * H], w2[V * H], a1[V], a2[V], b1[H], b2[H];
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, w1, V * H));
    RBM_OKAY(ctx, rbm_gradient_get_weights(ge, w2, V * H));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, a1, V));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(ge, a2, V));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, b1, H));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(ge, b2, H));
    for (size_t k = 0; k < V * H; k++) rbm_assert_close(w1[k], w2[k], 0.0, 1e-12, "dW");
    for (size_t i = 0; i < V; i++) rbm_assert_close(a1[i], a2[i], 0.0, 1e-12, "da");
    for (size_t j = 0; j < H; j++) rbm_assert_close(b1[j], b2[j], 0.0, 1e-12, "db");
    /* and the gradient is far from zero, so the comparison means something */
    double mx = 0.0;
    for (size_t k = 0; k < V * H; k++) mx = fmax(mx, fabs(w2[k]));
    assert_true(mx > 1e-2);

    /* the caller's gradient drives rbm_gradient_apply like the estimator's */
    rbm_machine *m2 = ref_to_machine(ctx, r);
    RBM_OKAY(ctx, rbm_gradient_apply(g, m, 0.1));
    RBM_OKAY(ctx, rbm_gradient_apply(ge, m2, 0.1));
    double p1[V * H], p2[V * H];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, p1, V * H));
    RBM_OKAY(ctx, rbm_machine_get_weights(m2, p2, V * H));
    for (size_t k = 0; k < V * H; k++) rbm_assert_close(p1[k], p2[k], 0.0, 1e-13, "W after apply");

    rbm_estimator_free(e);
    rbm_gradient_free(g);
    rbm_gradient_free(neg);
    rbm_gradient_free(ge);
    rbm_machine_free(m);
    rbm_machine_free(m2);
    ref_free(r);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_round_trip),
        cmocka_unit_test(test_scale_axpy_values),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_caller_built_equals_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
