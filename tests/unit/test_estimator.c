/* Tests of the gradient estimators (estimator.h): the EXACT gradient against
 * finite differences of the log-likelihood computed by enumeration in the
 * test, the linear regime of docs/theory.md §6.4, CD/PCD against the exact
 * gradient within Monte Carlo error, closed-form CD cases, and bad input. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The independent reference (ref_rbm, t_normal, enumeration): reference.h. */
#include "reference.h"

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

/* A gradient read out of librbm. */
typedef struct grad3 {
    double *W, *a, *b;
} grad3;

static grad3 grad3_new(size_t nv, size_t nh)
{
    grad3 g;
    g.W = calloc(nv * nh, sizeof(double));
    g.a = calloc(nv, sizeof(double));
    g.b = calloc(nh, sizeof(double));
    assert_true(g.W && g.a && g.b);
    return g;
}
static void grad3_free(grad3 *g)
{
    free(g->W);
    free(g->a);
    free(g->b);
}
static void grad3_read(rbm_context *ctx, const rbm_gradient *g, size_t nv, size_t nh, grad3 *out)
{
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, out->W, nv * nh));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, out->a, nv));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, out->b, nh));
}

/* Random data in the support of the visible units. */
static double *make_data(const ref_rbm *r, size_t M, uint64_t seed)
{
    double *d = malloc(M * r->nv * sizeof(double));
    assert_non_null(d);
    t_sm_state = seed;
    for (size_t k = 0; k < M * r->nv; k++) {
        if (r->vk == RBM_UNIT_GAUSSIAN) d[k] = 0.7 + t_normal();
        else d[k] = ref_bitval(r->vk, t_unif() < 0.65);
    }
    return d;
}

/* Data from two prototypes with a fraction `flip` of units flipped: strongly
 * correlated, so the gradient is far from zero. */
static double *make_proto_data(const ref_rbm *r, size_t M, double flip, uint64_t seed)
{
    double *d = malloc(M * r->nv * sizeof(double));
    assert_non_null(d);
    t_sm_state = seed;
    for (size_t mu = 0; mu < M; mu++) {
        int proto = (int)(mu % 2);
        for (size_t i = 0; i < r->nv; i++) {
            int bit = proto ? (i < r->nv / 2) : (int)(i % 2);
            if (t_unif() < flip) bit = !bit;
            d[mu * r->nv + i] = ref_bitval(r->vk, bit);
        }
    }
    return d;
}

/* Central finite difference of the reference mean log-likelihood with
 * respect to *theta (a parameter inside r). */
static double fd_ll(ref_rbm *r, double *theta, size_t M, const double *data, double h)
{
    double t0 = *theta;
    *theta = t0 + h;
    double lp = ref_mean_ll(r, M, data);
    *theta = t0 - h;
    double lm = ref_mean_ll(r, M, data);
    *theta = t0;
    return (lp - lm) / (2.0 * h);
}

/* EXACT gradient == finite differences (docs/theory.md §9 item 7). */
static void check_exact_vs_fd(ref_rbm *r, size_t M, uint64_t data_seed)
{
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_data(r, M, data_seed);
    rbm_estimator *e = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 1, 0, M, 1, &e));
    assert_int_equal(rbm_estimator_kind_of(e), RBM_ESTIMATOR_EXACT);
    assert_null(rbm_estimator_sampler(e));
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * r->nv, g));
    grad3 G = grad3_new(r->nv, r->nh);
    grad3_read(ctx, g, r->nv, r->nh, &G);

    /* FD tolerance: relative 1e-6; absolute floor from the rounding of the
     * log-likelihood difference, ~ eps |Lik| / h. */
    const double h = 1e-5;
    double ll = ref_mean_ll(r, M, data);
    double atol = 50.0 * 2.2e-16 * (fabs(ll) + 1.0) / h;
    char what[96];
    double gmax = 0.0;
    for (size_t k = 0; k < r->nv * r->nh; k++) {
        double fd = fd_ll(r, &r->W[k], M, data, h);
        snprintf(what, sizeof what, "%s-%s dLik/dW[%zu]", rbm_unit_kind_name(r->vk),
                 rbm_unit_kind_name(r->hk), k);
        rbm_assert_close(G.W[k], fd, 1e-6, atol, what);
        if (fabs(fd) > gmax) gmax = fabs(fd);
    }
    for (size_t i = 0; i < r->nv; i++) {
        double fd = fd_ll(r, &r->a[i], M, data, h);
        snprintf(what, sizeof what, "%s-%s dLik/da[%zu]", rbm_unit_kind_name(r->vk),
                 rbm_unit_kind_name(r->hk), i);
        rbm_assert_close(G.a[i], fd, 1e-6, atol, what);
    }
    for (size_t j = 0; j < r->nh; j++) {
        double fd = fd_ll(r, &r->b[j], M, data, h);
        snprintf(what, sizeof what, "%s-%s dLik/db[%zu]", rbm_unit_kind_name(r->vk),
                 rbm_unit_kind_name(r->hk), j);
        rbm_assert_close(G.b[j], fd, 1e-6, atol, what);
    }
    /* the test is not vacuous: the gradient is well above the tolerance */
    assert_true(gmax > 1e3 * atol);

    /* compute() overwrites g: a second call gives the same values */
    grad3 G2 = grad3_new(r->nv, r->nh);
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * r->nv, g));
    grad3_read(ctx, g, r->nv, r->nh, &G2);
    for (size_t k = 0; k < r->nv * r->nh; k++) rbm_assert_close(G2.W[k], G.W[k], 1e-12, 1e-15, "repeat");

    grad3_free(&G);
    grad3_free(&G2);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    free(data);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* One finite-difference case: random parameters (seed, wstd, bstd), sigma of
 * the Gaussian layer if any, M rows of data from data_seed. */
typedef struct fd_case {
    size_t nv, nh;
    rbm_unit_kind vk, hk;
    uint64_t seed;
    double wstd, bstd, sigma;
    size_t M;
    uint64_t data_seed;
} fd_case;

static void run_fd_cases(const fd_case *cases, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        const fd_case *fc = &cases[c];
        ref_rbm *r = ref_new(fc->nv, fc->nh, fc->vk, fc->hk);
        ref_randomize(r, fc->seed, fc->wstd, fc->bstd);
        if (fc->vk == RBM_UNIT_GAUSSIAN) r->sv = fc->sigma;
        if (fc->hk == RBM_UNIT_GAUSSIAN) r->sh = fc->sigma;
        check_exact_vs_fd(r, fc->M, fc->data_seed);
        ref_free(r);
    }
}
#define RUN_FD_CASES(...)                                                                     \
    do {                                                                                      \
        static const fd_case cases_[] = {__VA_ARGS__};                                        \
        run_fd_cases(cases_, sizeof cases_ / sizeof cases_[0]);                               \
    } while (0)

static void test_exact_fd_bernoulli(void **state)
{
    (void)state;
    RUN_FD_CASES({6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 1, 0.6, 0.5, 1.0, 12, 101});
}

static void test_exact_fd_ising(void **state)
{
    (void)state;
    RUN_FD_CASES({6, 4, RBM_UNIT_ISING, RBM_UNIT_ISING, 2, 0.4, 0.3, 1.0, 12, 102},
                 {5, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, 3, 0.4, 0.3, 1.0, 9, 103});
}

static void test_exact_fd_gaussian_visible(void **state)
{
    (void)state;
    RUN_FD_CASES({4, 5, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, 4, 0.4, 0.3, 0.9, 10, 104},
                 {3, 4, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING, 5, 0.5, 0.3, 1.3, 10, 105});
}

/* Visible layer smaller than the hidden one: the estimator enumerates the
 * visible layer. Also the case where only the visible layer is discrete. */
static void test_exact_fd_visible_smaller(void **state)
{
    (void)state;
    RUN_FD_CASES({4, 7, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 6, 0.5, 0.5, 1.0, 11, 106},
                 {3, 6, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 7, 0.5, 0.5, 1.0, 11, 107},
                 {5, 3, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, 8, 0.3, 0.3, 0.8, 11, 108},
                 {6, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, 9, 0.4, 0.3, 1.1, 11, 109});
}

/* One gradient of M rows by a fresh estimator (kind, k, n_chains, seed),
 * read into out; the estimator and gradient are freed. */
static void estimate_once(rbm_context *ctx, rbm_machine *m, rbm_estimator_kind kind, size_t k,
                          size_t n_chains, size_t M, uint64_t seed, const double *data, grad3 *out)
{
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, kind, k, n_chains, M, seed, &e));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * nv, g));
    grad3_read(ctx, g, nv, nh, out);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
}

/* float32 kernels: the EXACT gradient agrees with the float64 one to float
 * accuracy. */
static void test_exact_float32(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(7, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 10, 0.6, 0.5);
    const size_t M = 16;
    double *data = make_proto_data(r, M, 0.1, 110);
    grad3 G64 = grad3_new(7, 5), G32 = grad3_new(7, 5);
    for (int pass = 0; pass < 2; pass++) {
        rbm_machine *m = ref_to_machine(ctx, r);
        RBM_OKAY(ctx, rbm_machine_set_precision(m, pass ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64));
        estimate_once(ctx, m, RBM_ESTIMATOR_EXACT, 1, 0, M, 1, data, pass ? &G32 : &G64);
        rbm_machine_free(m);
    }
    double gmax = 0;
    for (size_t k = 0; k < 35; k++) gmax = fmax(gmax, fabs(G64.W[k]));
    for (size_t k = 0; k < 35; k++) rbm_assert_close(G32.W[k], G64.W[k], 1e-4, 1e-5 * gmax, "float32 dW");
    for (size_t i = 0; i < 7; i++) rbm_assert_close(G32.a[i], G64.a[i], 1e-4, 1e-5, "float32 da");
    for (size_t j = 0; j < 5; j++) rbm_assert_close(G32.b[j], G64.b[j], 1e-4, 1e-5, "float32 db");
    grad3_free(&G64);
    grad3_free(&G32);
    free(data);
    ref_free(r);
    rbm_context_free(ctx);
}

/* Free what the usual set-up of a test allocated. */
static void free_setup(rbm_context *ctx, rbm_machine *m, ref_rbm *r, double *data)
{
    free(data);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

/* docs/theory.md §9 item 8 / §6.4: Ising, zero biases, small W: dW ~ (C_data - I) W,
 * da = <s>_data exactly (the model is symmetric), db ~ W^T <s>_data. */
static void test_linear_regime(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 8, nh = 4, M = 40;
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_ISING, RBM_UNIT_ISING);
    t_sm_state = 2024;
    for (size_t k = 0; k < nv * nh; k++) r->W[k] = 1e-3 * t_normal();
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_proto_data(r, M, 0.15, 111);
    grad3 G = grad3_new(nv, nh);
    estimate_once(ctx, m, RBM_ESTIMATOR_EXACT, 1, 0, M, 1, data, &G);

    double C[64] = {0}, mean[8] = {0};
    for (size_t mu = 0; mu < M; mu++)
        for (size_t i = 0; i < nv; i++) {
            mean[i] += data[mu * nv + i] / (double)M;
            for (size_t k = 0; k < nv; k++) C[i * nv + k] += data[mu * nv + i] * data[mu * nv + k] / (double)M;
        }
    double num = 0, den = 0;
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double pred = 0;
            for (size_t k = 0; k < nv; k++) pred += (C[i * nv + k] - (i == k)) * r->W[k * nh + j];
            num += (G.W[i * nh + j] - pred) * (G.W[i * nh + j] - pred);
            den += pred * pred;
        }
    double rel = sqrt(num / den);
    print_message("# linear regime: |dW - (C-I)W| / |(C-I)W| = %.3g (|(C-I)W| = %.3g)\n", rel, sqrt(den));
    assert_true(den > 1e-8); /* (C - I) W is not negligible */
    assert_true(rel < 1e-4);
    for (size_t i = 0; i < nv; i++) rbm_assert_close(G.a[i], mean[i], 0.0, 1e-12, "da = <s>_data");
    for (size_t j = 0; j < nh; j++) {
        double pred = 0;
        for (size_t i = 0; i < nv; i++) pred += r->W[i * nh + j] * mean[i];
        rbm_assert_close(G.b[j], pred, 1e-4, 1e-9, "db = W^T <s>_data");
    }
    grad3_free(&G);
    free_setup(ctx, m, r, data);
}

/* Monte Carlo estimators against the exact gradient. The statistics averaged
 * in the model term (v_i E[h_j|v], v_i, E[h_j|v]) lie in [0,1] (Bernoulli)
 * or [-1,1] (Ising), so each has standard deviation at most sd_max = 1/2 or
 * 1; with n independent samples the error of each component is below
 * 5 sd_max / sqrt(n) except with probability ~6e-7 per component. Calls are
 * separated by >= 50 sweeps of a weakly coupled machine (|W| ~ 0.3), far
 * beyond its mixing time, so they are treated as independent. */
static void compare_mc(const grad3 *mc, const grad3 *ex, size_t nv, size_t nh, double n_samples,
                       double sd_max, double frob_tol, const char *name)
{
    double tol = 5.0 * sd_max / sqrt(n_samples);
    double num = 0, den = 0, worst = 0;
    char what[96];
    for (size_t k = 0; k < nv * nh; k++) {
        snprintf(what, sizeof what, "%s dW[%zu]", name, k);
        rbm_assert_close(mc->W[k], ex->W[k], 0.0, tol, what);
        num += (mc->W[k] - ex->W[k]) * (mc->W[k] - ex->W[k]);
        den += ex->W[k] * ex->W[k];
        worst = fmax(worst, fabs(mc->W[k] - ex->W[k]));
    }
    for (size_t i = 0; i < nv; i++) {
        snprintf(what, sizeof what, "%s da[%zu]", name, i);
        rbm_assert_close(mc->a[i], ex->a[i], 0.0, tol, what);
    }
    for (size_t j = 0; j < nh; j++) {
        snprintf(what, sizeof what, "%s db[%zu]", name, j);
        rbm_assert_close(mc->b[j], ex->b[j], 0.0, tol, what);
    }
    double rel = sqrt(num / den);
    print_message("# %s: relative error of dW %.4f (|dW| = %.3f, worst component %.4f, tol %.4f)\n", name,
                  rel, sqrt(den), worst, tol);
    assert_true(rel < frob_tol);
}

static void exact_gradient(rbm_context *ctx, rbm_machine *m, size_t M, const double *data, grad3 *out)
{
    estimate_once(ctx, m, RBM_ESTIMATOR_EXACT, 1, 0, M, 1, data, out);
}

static void check_pcd_converges(rbm_unit_kind kind, uint64_t seed)
{
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 8, nh = 5, M = 30, chains = 2000, k = 50, calls = 20;
    ref_rbm *r = ref_new(nv, nh, kind, kind);
    ref_randomize(r, seed, kind == RBM_UNIT_ISING ? 0.2 : 0.3, 0.3);
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_proto_data(r, M, 0.1, seed + 1);
    grad3 ex = grad3_new(nv, nh), one = grad3_new(nv, nh), avg = grad3_new(nv, nh);
    exact_gradient(ctx, m, M, data, &ex);

    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_PCD, k, chains, M, seed + 2, &e));
    assert_non_null(rbm_estimator_sampler(e));
    assert_int_equal(rbm_sampler_chain_count(rbm_estimator_sampler(e)), chains);
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * nv, g)); /* burn-in */
    for (size_t c = 0; c < calls; c++) {
        RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * nv, g));
        grad3_read(ctx, g, nv, nh, &one);
        for (size_t q = 0; q < nv * nh; q++) avg.W[q] += one.W[q] / (double)calls;
        for (size_t i = 0; i < nv; i++) avg.a[i] += one.a[i] / (double)calls;
        for (size_t j = 0; j < nh; j++) avg.b[j] += one.b[j] / (double)calls;
    }
    compare_mc(&avg, &ex, nv, nh, (double)(chains * calls), kind == RBM_UNIT_ISING ? 1.0 : 0.5, 0.05,
               kind == RBM_UNIT_ISING ? "PCD-50 Ising" : "PCD-50 Bernoulli");
    grad3_free(&ex);
    grad3_free(&one);
    grad3_free(&avg);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    free_setup(ctx, m, r, data);
}

static void test_pcd_approaches_exact(void **state)
{
    (void)state;
    check_pcd_converges(RBM_UNIT_BERNOULLI, 300);
    check_pcd_converges(RBM_UNIT_ISING, 310);
}

/* CD-k with large k: chains start at the minibatch (20 distinct rows, each
 * repeated 100 times, so the data term equals that of the 20 rows) and
 * equilibrate. */
static void test_cd_large_k_approaches_exact(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 8, nh = 5, M = 20, rep = 100, k = 100, calls = 10;
    const size_t B = M * rep;
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 320, 0.3, 0.3);
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_proto_data(r, M, 0.1, 321);
    double *batch = malloc(B * nv * sizeof(double));
    assert_non_null(batch);
    for (size_t q = 0; q < rep; q++) memcpy(batch + q * M * nv, data, M * nv * sizeof(double));
    grad3 ex = grad3_new(nv, nh), one = grad3_new(nv, nh), avg = grad3_new(nv, nh);
    exact_gradient(ctx, m, M, data, &ex);

    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_CD, k, 0, B, 322, &e));
    assert_null(rbm_estimator_sampler(e));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    for (size_t c = 0; c < calls; c++) {
        RBM_OKAY(ctx, rbm_estimator_compute(e, B, batch, B * nv, g));
        grad3_read(ctx, g, nv, nh, &one);
        for (size_t q = 0; q < nv * nh; q++) avg.W[q] += one.W[q] / (double)calls;
        for (size_t i = 0; i < nv; i++) avg.a[i] += one.a[i] / (double)calls;
        for (size_t j = 0; j < nh; j++) avg.b[j] += one.b[j] / (double)calls;
    }
    compare_mc(&avg, &ex, nv, nh, (double)(B * calls), 0.5, 0.05, "CD-100");

    /* For information: CD-1 (biased towards the data) on the same batch. */
    rbm_estimator *e1 = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_CD, 1, 0, B, 323, &e1));
    RBM_OKAY(ctx, rbm_estimator_compute(e1, B, batch, B * nv, g));
    grad3_read(ctx, g, nv, nh, &one);
    double num = 0, den = 0;
    for (size_t q = 0; q < nv * nh; q++) {
        num += (one.W[q] - ex.W[q]) * (one.W[q] - ex.W[q]);
        den += ex.W[q] * ex.W[q];
    }
    print_message("# CD-1: relative error of dW %.4f\n", sqrt(num / den));
    rbm_estimator_free(e1);

    grad3_free(&ex);
    grad3_free(&one);
    grad3_free(&avg);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    free(batch);
    free_setup(ctx, m, r, data);
}

/* Closed-form CD/PCD: with visible biases of +-50 every sampled visible
 * state is the pattern sign(a) (P(other value) < 1e-20, below the 2^-53
 * resolution of a uniform deviate), whatever the hidden state. Then the
 * negative statistics are deterministic, and
 *   dW_ij = <v_i f(b + W^T v)_j>_data - p_i f(b + W^T p)_j,
 *   da_i = <v_i>_data - p_i,  db_j = <f(b + W^T v)_j>_data - f(b + W^T p)_j
 * with p the pattern and f the hidden mean: this checks the data term
 * <v E[h|v]>_data and the Rao-Blackwellised model term exactly. */
static void check_cd_closed_form_prec(rbm_unit_kind vk, rbm_unit_kind hk, rbm_estimator_kind kind, size_t k,
                                      size_t n_chains, rbm_precision prec)
{
    /* float32 kernels: float rounding of fields and means (~1e-7 relative) */
    const double rtol = prec == RBM_PRECISION_FLOAT32 ? 1e-5 : 1e-12;
    const double atol = prec == RBM_PRECISION_FLOAT32 ? 1e-6 : 1e-13;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 6, nh = 4, M = 9;
    ref_rbm *r = ref_new(nv, nh, vk, hk);
    ref_randomize(r, 330, 0.5, 0.5);
    double pat[6];
    for (size_t i = 0; i < nv; i++) {
        int bit = (i % 3) != 1;
        r->a[i] = bit ? 50.0 : -50.0;
        pat[i] = ref_bitval(vk, bit);
    }
    rbm_machine *m = ref_to_machine(ctx, r);
    RBM_OKAY(ctx, rbm_machine_set_precision(m, prec));
    double *data = make_data(r, M, 331);
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, kind, k, n_chains, M, 332, &e));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    grad3 G = grad3_new(nv, nh);
    for (int call = 0; call < 2; call++) {
        RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * nv, g));
        grad3_read(ctx, g, nv, nh, &G);
        double fp[4];
        for (size_t j = 0; j < nh; j++) {
            double x = r->b[j];
            for (size_t i = 0; i < nv; i++) x += pat[i] * r->W[i * nh + j];
            fp[j] = ref_mean(hk, r->sh, x);
        }
        double dW[24] = {0}, da[6] = {0}, db[4] = {0};
        for (size_t mu = 0; mu < M; mu++) {
            const double *v = data + mu * nv;
            for (size_t j = 0; j < nh; j++) {
                double x = r->b[j];
                for (size_t i = 0; i < nv; i++) x += v[i] * r->W[i * nh + j];
                double f = ref_mean(hk, r->sh, x);
                db[j] += f / (double)M;
                for (size_t i = 0; i < nv; i++) dW[i * nh + j] += v[i] * f / (double)M;
            }
            for (size_t i = 0; i < nv; i++) da[i] += v[i] / (double)M;
        }
        char what[96];
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++) {
                snprintf(what, sizeof what, "%s-%zu dW[%zu,%zu] closed form", rbm_estimator_kind_name(kind), k, i, j);
                rbm_assert_close(G.W[i * nh + j], dW[i * nh + j] - pat[i] * fp[j], rtol, atol, what);
            }
        for (size_t i = 0; i < nv; i++) {
            snprintf(what, sizeof what, "%s-%zu da[%zu] closed form", rbm_estimator_kind_name(kind), k, i);
            rbm_assert_close(G.a[i], da[i] - pat[i], rtol, atol, what);
        }
        for (size_t j = 0; j < nh; j++) {
            snprintf(what, sizeof what, "%s-%zu db[%zu] closed form", rbm_estimator_kind_name(kind), k, j);
            rbm_assert_close(G.b[j], db[j] - fp[j], rtol, atol, what);
        }
    }
    grad3_free(&G);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    free_setup(ctx, m, r, data);
}

static void check_cd_closed_form(rbm_unit_kind vk, rbm_unit_kind hk, rbm_estimator_kind kind, size_t k,
                                 size_t n_chains)
{
    check_cd_closed_form_prec(vk, hk, kind, k, n_chains, RBM_PRECISION_FLOAT64);
}

static void test_cd_pcd_closed_form(void **state)
{
    (void)state;
    check_cd_closed_form(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_CD, 1, 0);
    check_cd_closed_form(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_CD, 3, 0);
    check_cd_closed_form(RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_ESTIMATOR_CD, 1, 0);
    check_cd_closed_form(RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_CD, 2, 0);
    check_cd_closed_form(RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, RBM_ESTIMATOR_CD, 1, 0);
    check_cd_closed_form(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, 0);
    check_cd_closed_form(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 1, 7);
    check_cd_closed_form(RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_ESTIMATOR_PCD, 2, 13);
    check_cd_closed_form_prec(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_CD, 1, 0, RBM_PRECISION_FLOAT32);
    check_cd_closed_form_prec(RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 2, 5, RBM_PRECISION_FLOAT32);
}

/* CD chains start at the minibatch: in a two-mode Ising machine (N_h = 1,
 * w = 3, zero biases) chains started at the all-(+1) data stay in that mode
 * for one sweep (they leave it with probability ~ 2 sigm(-6) per unit), so
 * CD-1 gives da_i = 1 - <v_i> ~ 0.005, while the exact gradient is
 * da_i = <v_i>_data - 0 = 1 (the model is symmetric under s -> -s). */
static void test_cd_starts_at_data(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 4, nh = 1, M = 400;
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_ISING, RBM_UNIT_ISING);
    for (size_t i = 0; i < nv; i++) r->W[i] = 3.0;
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = malloc(M * nv * sizeof(double));
    assert_non_null(data);
    for (size_t k = 0; k < M * nv; k++) data[k] = 1.0;
    grad3 G = grad3_new(nv, nh);
    exact_gradient(ctx, m, M, data, &G);
    for (size_t i = 0; i < nv; i++) rbm_assert_close(G.a[i], 1.0, 0.0, 1e-12, "exact da, symmetric model");
    estimate_once(ctx, m, RBM_ESTIMATOR_CD, 1, 0, M, 5, data, &G);
    /* <v_i> after one sweep = 1 - 2 sigm(-6) + O(1e-10); binomial error of
     * M = 400 chains on the flip frequency */
    double pf = 1.0 / (1.0 + exp(6.0));
    for (size_t i = 0; i < nv; i++)
        rbm_assert_close(G.a[i], 2.0 * pf, 0.0, 2.0 * 5.0 * sqrt(pf / (double)M) + 1e-9, "CD-1 da near 0");
    grad3_free(&G);
    free_setup(ctx, m, r, data);
}

/* W = 0: hidden means do not depend on v, so for CD and PCD
 *   dW_ij = da_i * sigm(b_j) and db_j = 0 (to rounding),
 * and da_i = <v_i>_data - <v_i>_chains with <v_i>_chains ~ sigm(a_i). */
static void test_cd_zero_weights(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 5, nh = 3, M = 4000;
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 340, 0.0, 0.8);
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_data(r, M, 341);
    double mean[5] = {0};
    for (size_t mu = 0; mu < M; mu++)
        for (size_t i = 0; i < nv; i++) mean[i] += data[mu * nv + i] / (double)M;
    grad3 G = grad3_new(nv, nh);
    for (int kind = 0; kind < 2; kind++) {
        estimate_once(ctx, m, kind ? RBM_ESTIMATOR_PCD : RBM_ESTIMATOR_CD, 1, 0, M, 342, data, &G);
        for (size_t i = 0; i < nv; i++) {
            double p = ref_mean(RBM_UNIT_BERNOULLI, 1, r->a[i]);
            rbm_assert_close(G.a[i], mean[i] - p, 0.0, 5.0 * sqrt(p * (1 - p) / (double)M), "da at W = 0");
            for (size_t j = 0; j < nh; j++)
                rbm_assert_close(G.W[i * nh + j], G.a[i] * ref_mean(RBM_UNIT_BERNOULLI, 1, r->b[j]), 1e-10,
                                 1e-12, "dW = da sigm(b) at W = 0");
        }
        for (size_t j = 0; j < nh; j++) rbm_assert_close(G.b[j], 0.0, 0.0, 1e-12, "db = 0 at W = 0");
    }
    grad3_free(&G);
    free_setup(ctx, m, r, data);
}

/* PCD: chains persist across calls (seeded: same seed, same gradients; the
 * chain state advances between calls). n_chains = 0 means max_batch. */
static void test_pcd_persistence_and_seed(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 6, nh = 4, M = 8;
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 350, 0.5, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_data(r, M, 351);
    rbm_estimator *e1 = NULL, *e2 = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_PCD, 1, 0, M, 77, &e1));
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_PCD, 1, 0, M, 77, &e2));
    assert_int_equal(rbm_sampler_chain_count(rbm_estimator_sampler(e1)), M);
    rbm_gradient *g1 = NULL, *g2 = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g1));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g2));
    grad3 A = grad3_new(nv, nh), B = grad3_new(nv, nh);
    double va[48], vb[48];
    for (int c = 0; c < 5; c++) {
        RBM_OKAY(ctx, rbm_sampler_get_visible(rbm_estimator_sampler(e1), va, M * nv));
        RBM_OKAY(ctx, rbm_estimator_compute(e1, M, data, M * nv, g1));
        RBM_OKAY(ctx, rbm_estimator_compute(e2, M, data, M * nv, g2));
        RBM_OKAY(ctx, rbm_sampler_get_visible(rbm_estimator_sampler(e1), vb, M * nv));
        grad3_read(ctx, g1, nv, nh, &A);
        grad3_read(ctx, g2, nv, nh, &B);
        assert_memory_equal(A.W, B.W, nv * nh * sizeof(double));
        assert_memory_equal(A.a, B.a, nv * sizeof(double));
        assert_memory_equal(A.b, B.b, nh * sizeof(double));
        assert_true(memcmp(va, vb, sizeof va) != 0); /* the chains moved */
    }
    rbm_gradient_free(g1);
    rbm_gradient_free(g2);
    rbm_estimator_free(e1);
    rbm_estimator_free(e2);
    grad3_free(&A);
    grad3_free(&B);
    free_setup(ctx, m, r, data);
}

/* ---------------------------------------------------------------------------
 * Gradient objects
 * ------------------------------------------------------------------------- */
static void test_gradient_apply(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 5, nh = 3, M = 6;
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 360, 0.5, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_data(r, M, 361);
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    grad3 G = grad3_new(nv, nh);
    grad3_read(ctx, g, nv, nh, &G);
    for (size_t k = 0; k < nv * nh; k++) assert_true(G.W[k] == 0.0);
    for (size_t i = 0; i < nv; i++) assert_true(G.a[i] == 0.0);
    for (size_t j = 0; j < nh; j++) assert_true(G.b[j] == 0.0);

    rbm_estimator *e = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 0, 0, M, 1, &e));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * nv, g));
    grad3_read(ctx, g, nv, nh, &G);
    const double step = 0.37;
    RBM_OKAY(ctx, rbm_gradient_apply(g, m, step));
    ref_rbm *r2 = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_from_machine(ctx, r2, m);
    /* theta + step g, to the last bit up to one fused multiply-add */
    for (size_t k = 0; k < nv * nh; k++)
        rbm_assert_close(r2->W[k], r->W[k] + step * G.W[k], 0.0,
                         2.3e-16 * (fabs(r->W[k]) + fabs(step * G.W[k])), "W + step dW");
    for (size_t i = 0; i < nv; i++)
        rbm_assert_close(r2->a[i], r->a[i] + step * G.a[i], 0.0, 2.3e-16 * (fabs(r->a[i]) + fabs(step * G.a[i])),
                         "a + step da");
    for (size_t j = 0; j < nh; j++)
        rbm_assert_close(r2->b[j], r->b[j] + step * G.b[j], 0.0, 2.3e-16 * (fabs(r->b[j]) + fabs(step * G.b[j])),
                         "b + step db");

    /* non-finite step: error, machine unchanged */
    RBM_CHECK(ctx, rbm_gradient_apply(g, m, NAN), RBM_ERR_NOT_FINITE);
    RBM_CHECK(ctx, rbm_gradient_apply(g, m, INFINITY), RBM_ERR_NOT_FINITE);
    ref_rbm *r3 = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_from_machine(ctx, r3, m);
    assert_memory_equal(r2->W, r3->W, nv * nh * sizeof(double));
    assert_memory_equal(r2->a, r3->a, nv * sizeof(double));

    /* zero */
    RBM_OKAY(ctx, rbm_gradient_zero(g));
    grad3_read(ctx, g, nv, nh, &G);
    for (size_t k = 0; k < nv * nh; k++) assert_true(G.W[k] == 0.0);
    for (size_t j = 0; j < nh; j++) assert_true(G.b[j] == 0.0);

    /* shapes */
    RBM_CHECK(ctx, rbm_gradient_get_weights(g, G.W, nv * nh - 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_gradient_get_visible_bias(g, G.a, nv + 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_gradient_get_hidden_bias(g, G.b, nh - 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_gradient_get_weights(NULL, G.W, nv * nh), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_gradient_get_weights(g, NULL, nv * nh), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_gradient_apply(NULL, m, 1.0), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_gradient_apply(g, NULL, 1.0), RBM_ERR_NULL);
    rbm_gradient *g_bad = g; /* not &g: a failed constructor sets *out = NULL */
    RBM_CHECK(ctx, rbm_gradient_new(NULL, &g_bad), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_gradient_new(m, NULL), RBM_ERR_NULL);
    rbm_machine *other = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh + 1, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &other));
    RBM_CHECK(ctx, rbm_gradient_apply(g, other, 1.0), RBM_ERR_SHAPE);
    rbm_estimator *eo = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(other, RBM_ESTIMATOR_EXACT, 1, 0, M, 1, &eo));
    RBM_CHECK(ctx, rbm_estimator_compute(eo, M, data, M * nv, g), RBM_ERR_SHAPE);
    rbm_estimator_free(eo);
    rbm_machine_free(other);

    rbm_gradient_free(NULL);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    grad3_free(&G);
    free(data);
    rbm_machine_free(m);
    ref_free(r);
    ref_free(r2);
    ref_free(r3);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Refusals and bad input
 * ------------------------------------------------------------------------- */
static void expect_exact_refused(rbm_context *ctx, size_t nv, size_t nh, rbm_unit_kind vk, rbm_unit_kind hk,
                                 rbm_status want)
{
    rbm_machine *m = NULL;
    rbm_estimator *e = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, vk, hk, &m));
    RBM_CHECK(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 1, 0, 4, 1, &e), want);
    if (want != RBM_OK) assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    rbm_estimator_free(e);
    rbm_machine_free(m);
}

static void test_exact_limits(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    assert_int_equal(RBM_EXACT_MAX_UNITS, 24);
    expect_exact_refused(ctx, 25, 25, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ERR_UNSUPPORTED);
    expect_exact_refused(ctx, 30, 26, RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_ERR_UNSUPPORTED);
    expect_exact_refused(ctx, 3, 25, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, RBM_ERR_UNSUPPORTED);
    expect_exact_refused(ctx, 25, 2, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, RBM_ERR_UNSUPPORTED);
    /* Gauss-Gauss machines use the closed form of the joint Gaussian at any size
     * (checked against finite differences in tests/test_linear.c) */
    expect_exact_refused(ctx, 2, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, RBM_OK);
    expect_exact_refused(ctx, 40, 30, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, RBM_OK);
    /* the smaller layer decides: 30 x 3 is fine, as is a 24-unit layer */
    expect_exact_refused(ctx, 30, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_OK);
    expect_exact_refused(ctx, 3, 30, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_OK);
    expect_exact_refused(ctx, 26, 24, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_OK);
    rbm_context_free(ctx);
}

static void test_bad_input(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 5, nh = 3, MB = 10;
    ref_rbm *r = ref_new(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 370, 0.5, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    double *data = make_data(r, MB + 1, 371);
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;

    RBM_CHECK(ctx, rbm_test_estimator(NULL, RBM_ESTIMATOR_CD, 1, 0, MB, 1, &e), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_CD, 1, 0, MB, 1, NULL), RBM_ERR_NULL);
    /* k = 0 is refused by the key's bounds, and the estimator keeps its k */
    const rbm_estimator_kind k0[2] = {RBM_ESTIMATOR_CD, RBM_ESTIMATOR_PCD};
    for (int q = 0; q < 2; q++) {
        RBM_OKAY(ctx, rbm_estimator_new(m, k0[q], MB, 1, &e));
        RBM_CHECK(ctx, rbm_estimator_set_int(e, RBM_ESTIMATOR_K, 0), RBM_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(rbm_context_last_error(ctx), "RBM_ESTIMATOR_K"));
        int64_t k = 0;
        RBM_OKAY(ctx, rbm_estimator_get_int(e, RBM_ESTIMATOR_K, &k));
        assert_true(k == 1);
        rbm_estimator_free(e);
        e = NULL;
    }
    RBM_CHECK(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_CD, 1, 0, 0, 1, &e), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_test_estimator(m, (rbm_estimator_kind)99, 1, 0, MB, 1, &e), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_PCD, 1, SIZE_MAX / 2, MB, 1, &e),
              RBM_ERR_INVALID_ARGUMENT);
    assert_null(e);

    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    const rbm_estimator_kind kinds[3] = {RBM_ESTIMATOR_CD, RBM_ESTIMATOR_PCD, RBM_ESTIMATOR_EXACT};
    for (int q = 0; q < 3; q++) {
        RBM_OKAY(ctx, rbm_test_estimator(m, kinds[q], 1, 0, MB, 1, &e));
        assert_int_equal(rbm_estimator_kind_of(e), kinds[q]);
        RBM_OKAY(ctx, rbm_estimator_compute(e, MB, data, MB * nv, g));
        RBM_OKAY(ctx, rbm_estimator_compute(e, 1, data, nv, g));
        RBM_CHECK(ctx, rbm_estimator_compute(e, MB + 1, data, (MB + 1) * nv, g), RBM_ERR_SHAPE);
        assert_true(strlen(rbm_context_last_error(ctx)) > 0);
        RBM_CHECK(ctx, rbm_estimator_compute(e, 0, data, 0, g), RBM_ERR_SHAPE);
        RBM_CHECK(ctx, rbm_estimator_compute(e, MB, data, MB * nv - 1, g), RBM_ERR_SHAPE);
        RBM_CHECK(ctx, rbm_estimator_compute(NULL, MB, data, MB * nv, g), RBM_ERR_NULL);
        RBM_CHECK(ctx, rbm_estimator_compute(e, MB, NULL, MB * nv, g), RBM_ERR_NULL);
        RBM_CHECK(ctx, rbm_estimator_compute(e, MB, data, MB * nv, NULL), RBM_ERR_NULL);
        double keep = data[7];
        data[7] = NAN;
        RBM_CHECK(ctx, rbm_estimator_compute(e, MB, data, MB * nv, g), RBM_ERR_NOT_FINITE);
        data[7] = INFINITY;
        RBM_CHECK(ctx, rbm_estimator_compute(e, MB, data, MB * nv, g), RBM_ERR_NOT_FINITE);
        data[7] = keep;
        rbm_estimator_free(e);
        e = NULL;
    }
    /* EXACT ignores k */
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 0, 0, MB, 1, &e));
    rbm_estimator_free(e);
    e = NULL;
    /* PCD with explicit chain count */
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_PCD, 2, 37, MB, 1, &e));
    assert_int_equal(rbm_sampler_chain_count(rbm_estimator_sampler(e)), 37);
    RBM_OKAY(ctx, rbm_estimator_compute(e, MB, data, MB * nv, g));
    /* precision changed after creation */
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    RBM_CHECK(ctx, rbm_estimator_compute(e, MB, data, MB * nv, g), RBM_ERR_STATE);
    rbm_estimator_free(e);
    rbm_estimator_free(NULL);
    assert_null(rbm_estimator_sampler(NULL));

    /* names */
    assert_string_equal(rbm_estimator_kind_name(RBM_ESTIMATOR_CD), "cd");
    assert_string_equal(rbm_estimator_kind_name(RBM_ESTIMATOR_PCD), "pcd");
    assert_string_equal(rbm_estimator_kind_name(RBM_ESTIMATOR_EXACT), "exact");
    assert_null(rbm_estimator_kind_name((rbm_estimator_kind)42));
    rbm_estimator_kind kd = RBM_ESTIMATOR_CD;
    RBM_OKAY(ctx, rbm_estimator_kind_parse("pcd", &kd));
    assert_int_equal(kd, RBM_ESTIMATOR_PCD);
    RBM_OKAY(ctx, rbm_estimator_kind_parse("exact", &kd));
    assert_int_equal(kd, RBM_ESTIMATOR_EXACT);
    RBM_CHECK(ctx, rbm_estimator_kind_parse("bogus", &kd), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_estimator_kind_parse(NULL, &kd), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_estimator_kind_parse("cd", NULL), RBM_ERR_NULL);

    rbm_gradient_free(g);
    free_setup(ctx, m, r, data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_fd_bernoulli),
        cmocka_unit_test(test_exact_fd_ising),
        cmocka_unit_test(test_exact_fd_gaussian_visible),
        cmocka_unit_test(test_exact_fd_visible_smaller),
        cmocka_unit_test(test_exact_float32),
        cmocka_unit_test(test_linear_regime),
        cmocka_unit_test(test_pcd_approaches_exact),
        cmocka_unit_test(test_cd_large_k_approaches_exact),
        cmocka_unit_test(test_cd_pcd_closed_form),
        cmocka_unit_test(test_cd_zero_weights),
        cmocka_unit_test(test_cd_starts_at_data),
        cmocka_unit_test(test_pcd_persistence_and_seed),
        cmocka_unit_test(test_gradient_apply),
        cmocka_unit_test(test_exact_limits),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
