/* Tests of the Gibbs sampler (sampler.h) against exact marginals computed by
 * brute-force enumeration in the test itself. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The independent reference (ref_rbm, t_normal, enumeration): reference.h. */
#include "reference.h"

/* ---------------------------------------------------------------------------
 * Statistics helpers
 * ------------------------------------------------------------------------- */

/* Run n_chains independent chains for `steps` sweeps from random starts and
 * compare the histogram of the final states of `layer` with the exact
 * distribution (Pearson chi-square at upper-tail probability alpha). One
 * sample per chain, so the samples are independent. */
static void check_gibbs_layer(const ref_rbm *r, rbm_precision prec, rbm_layer layer,
                              size_t n_chains, size_t steps, double alpha, uint64_t seed)
{
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    RBM_OKAY(ctx, rbm_machine_set_precision(m, prec));
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, n_chains, seed, &s));
    assert_int_equal(rbm_sampler_chain_count(s), n_chains);
    RBM_OKAY(ctx, rbm_sampler_run(s, steps));

    size_t n = layer == RBM_LAYER_VISIBLE ? r->nv : r->nh;
    rbm_unit_kind k = layer == RBM_LAYER_VISIBLE ? r->vk : r->hk;
    double *states = malloc(n_chains * n * sizeof(double));
    assert_non_null(states);
    if (layer == RBM_LAYER_VISIBLE) RBM_OKAY(ctx, rbm_sampler_get_visible(s, states, n_chains * n));
    else RBM_OKAY(ctx, rbm_sampler_get_hidden(s, states, n_chains * n));

    size_t nb = (size_t)1 << n;
    size_t *count = calloc(nb, sizeof(size_t));
    double *p = malloc(nb * sizeof(double));
    assert_true(count && p);
    for (size_t c = 0; c < n_chains; c++) count[ref_config_index(k, n, states + c * n)]++;
    ref_exact_layer_probs(r, layer, p);

    double df = 0.0;
    double stat = ref_chi2_stat(nb, p, count, n_chains, &df);
    double crit = ref_chi2_critical(df, alpha);
    print_message("# %s-%s %s layer, %s: chi2 = %.2f, df = %.0f, critical(%.0e) = %.2f\n",
                  rbm_unit_kind_name(r->vk), rbm_unit_kind_name(r->hk),
                  layer == RBM_LAYER_VISIBLE ? "visible" : "hidden",
                  prec == RBM_PRECISION_FLOAT32 ? "float32" : "float64", stat, df, alpha, crit);
    if (!(stat < crit))
        fail_msg("Gibbs histogram does not match the exact distribution: chi2 %.3f >= %.3f (df %.0f)",
                 stat, crit, df);

    free(count);
    free(p);
    free(states);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The chi-square machinery itself must be able to reject: a histogram drawn
 * from a slightly different distribution is refused. */
static void test_chi2_helper_rejects(void **state)
{
    (void)state;
    /* Wilson-Hilferty against known tables: chi2(0.001; 10) = 29.588,
     * chi2(0.001; 31) = 61.098. */
    rbm_assert_close(ref_chi2_critical(10, 1e-3), 29.588, 1e-2, 0, "WH critical df=10");
    rbm_assert_close(ref_chi2_critical(31, 1e-3), 61.098, 3e-3, 0, "WH critical df=31");
    double p[4] = {0.1, 0.2, 0.3, 0.4};
    size_t good[4] = {1000, 2000, 3000, 4000};
    size_t bad[4] = {1200, 2000, 2800, 4000};
    double df;
    assert_true(ref_chi2_stat(4, p, good, 10000, &df) < ref_chi2_critical(3, 1e-3));
    assert_true(df == 3.0);
    assert_true(ref_chi2_stat(4, p, bad, 10000, &df) > ref_chi2_critical(3, 1e-3));
}

/* ---------------------------------------------------------------------------
 * Gibbs marginals vs exact marginals
 * ------------------------------------------------------------------------- */
#define GIBBS_CHAINS 20000
#define GIBBS_STEPS 200

/* One machine (random parameters, sigma of a Gaussian layer) whose Gibbs
 * marginals are checked on the visible layer (seed vis_seed) and, when
 * hid_seed != 0, on the hidden layer. */
typedef struct gibbs_case {
    size_t nv, nh;
    rbm_unit_kind vk, hk;
    uint64_t seed;
    double wstd, bstd, sigma;
    rbm_precision prec;
    double alpha;
    uint64_t vis_seed, hid_seed;
} gibbs_case;

static void run_gibbs_cases(const gibbs_case *cases, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        const gibbs_case *gc = &cases[c];
        ref_rbm *r = ref_new(gc->nv, gc->nh, gc->vk, gc->hk);
        ref_randomize(r, gc->seed, gc->wstd, gc->bstd);
        if (gc->vk == RBM_UNIT_GAUSSIAN) r->sv = gc->sigma;
        if (gc->hk == RBM_UNIT_GAUSSIAN) r->sh = gc->sigma;
        check_gibbs_layer(r, gc->prec, RBM_LAYER_VISIBLE, GIBBS_CHAINS, GIBBS_STEPS, gc->alpha, gc->vis_seed);
        if (gc->hid_seed)
            check_gibbs_layer(r, gc->prec, RBM_LAYER_HIDDEN, GIBBS_CHAINS, GIBBS_STEPS, gc->alpha,
                              gc->hid_seed);
        ref_free(r);
    }
}
#define RUN_GIBBS_CASES(...)                                                                  \
    do {                                                                                      \
        static const gibbs_case cases_[] = {__VA_ARGS__};                                     \
        run_gibbs_cases(cases_, sizeof cases_ / sizeof cases_[0]);                            \
    } while (0)
#define F64 RBM_PRECISION_FLOAT64
#define F32 RBM_PRECISION_FLOAT32

static void test_gibbs_bernoulli(void **state)
{
    (void)state;
    RUN_GIBBS_CASES({5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 11, 0.8, 0.5, 1.0, F64, 1e-3, 101, 102});
}

static void test_gibbs_ising(void **state)
{
    (void)state;
    RUN_GIBBS_CASES({5, 4, RBM_UNIT_ISING, RBM_UNIT_ISING, 12, 0.4, 0.3, 1.0, F64, 1e-3, 103, 104});
}

static void test_gibbs_mixed_kinds(void **state)
{
    (void)state;
    RUN_GIBBS_CASES({5, 4, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 13, 0.6, 0.4, 1.0, F64, 1e-3, 105, 0},
                    {5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, 14, 0.4, 0.4, 1.0, F64, 1e-3, 106, 0});
}

/* Gaussian hidden units (Hopfield marginal, docs/theory.md §1.6). */
static void test_gibbs_gaussian_hidden(void **state)
{
    (void)state;
    RUN_GIBBS_CASES({5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, 15, 0.4, 0.3, 0.9, F64, 1e-3, 107, 0},
                    {5, 4, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, 16, 0.25, 0.3, 1.2, F64, 1e-3, 108, 0});
}

/* Gaussian visible units: the hidden marginal p(h) = exp(-F_h(h))/Z. */
static void test_gibbs_gaussian_visible(void **state)
{
    (void)state;
    ref_rbm *r = ref_new(4, 5, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 17, 0.5, 0.5);
    r->sv = 0.8;
    check_gibbs_layer(r, RBM_PRECISION_FLOAT64, RBM_LAYER_HIDDEN, GIBBS_CHAINS, GIBBS_STEPS, 1e-3, 109);

    /* and the visible means: E[v] = sum_h p(h) sigma_v^2 (a + W h) */
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_sampler *s = NULL;
    const size_t nc = 20000;
    RBM_OKAY(ctx, rbm_sampler_new(m, nc, 110, &s));
    RBM_OKAY(ctx, rbm_sampler_run(s, GIBBS_STEPS));
    double *v = malloc(nc * r->nv * sizeof(double));
    assert_non_null(v);
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, nc * r->nv));
    double p[32], h[5], ev[4] = {0}, ev2[4] = {0};
    ref_exact_layer_probs(r, RBM_LAYER_HIDDEN, p);
    for (uint64_t idx = 0; idx < 32; idx++) {
        ref_state(r->hk, r->nh, idx, h);
        for (size_t i = 0; i < r->nv; i++) {
            double x = r->a[i];
            for (size_t j = 0; j < r->nh; j++) x += r->W[i * r->nh + j] * h[j];
            double mu = r->sv * r->sv * x;
            ev[i] += p[idx] * mu;
            ev2[i] += p[idx] * (mu * mu + r->sv * r->sv);
        }
    }
    for (size_t i = 0; i < r->nv; i++) {
        double mean = 0.0;
        for (size_t c = 0; c < nc; c++) mean += v[c * r->nv + i];
        mean /= (double)nc;
        double sd = sqrt(ev2[i] - ev[i] * ev[i]);
        char what[64];
        snprintf(what, sizeof what, "Gaussian visible mean of unit %zu", i);
        rbm_assert_close(mean, ev[i], 0.0, 5.0 * sd / sqrt((double)nc), what);
    }
    free(v);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    ref_free(r);
}

/* float32 kernels: the same chi-square test (looser level). */
static void test_gibbs_float32(void **state)
{
    (void)state;
    RUN_GIBBS_CASES({5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 18, 0.8, 0.5, 1.0, F32, 1e-4, 111, 0},
                    {5, 4, RBM_UNIT_ISING, RBM_UNIT_ISING, 19, 0.4, 0.3, 1.0, F32, 1e-4, 112, 0},
                    {5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, 20, 0.4, 0.3, 1.0, F32, 1e-4, 113, 0});
}

/* A machine whose Gibbs distribution is wrong for the exact reference must be
 * rejected: sample from one machine, test against another with a slightly
 * different bias. Shows the test has power. */
static void test_gibbs_detects_wrong_distribution(void **state)
{
    (void)state;
    ref_rbm *r = ref_new(5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 11, 0.8, 0.5);
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, GIBBS_CHAINS, 121, &s));
    RBM_OKAY(ctx, rbm_sampler_run(s, GIBBS_STEPS));
    double *v = malloc(GIBBS_CHAINS * 5 * sizeof(double));
    assert_non_null(v);
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, GIBBS_CHAINS * 5));
    size_t count[32] = {0};
    for (size_t c = 0; c < GIBBS_CHAINS; c++) count[ref_config_index(r->vk, 5, v + c * 5)]++;
    r->a[2] += 0.15; /* the reference is now a different machine */
    double p[32], df;
    ref_exact_layer_probs(r, RBM_LAYER_VISIBLE, p);
    double stat = ref_chi2_stat(32, p, count, GIBBS_CHAINS, &df);
    assert_true(stat > ref_chi2_critical(df, 1e-3));
    free(v);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    ref_free(r);
}

/* ---------------------------------------------------------------------------
 * Determinism, state access, initialisation
 * ------------------------------------------------------------------------- */

static void run_and_read(rbm_context *ctx, rbm_machine *m, size_t nc, uint64_t seed, size_t steps,
                         double *v, double *h)
{
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, nc, seed, &s));
    RBM_OKAY(ctx, rbm_sampler_run(s, steps));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, nc * rbm_machine_n_visible(m)));
    RBM_OKAY(ctx, rbm_sampler_get_hidden(s, h, nc * rbm_machine_n_hidden(m)));
    rbm_sampler_free(s);
}

static void check_determinism(rbm_unit_kind vk, rbm_unit_kind hk, rbm_precision prec)
{
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(7, 6, vk, hk);
    ref_randomize(r, 31, 0.3, 0.3);
    rbm_machine *m = ref_to_machine(ctx, r);
    RBM_OKAY(ctx, rbm_machine_set_precision(m, prec));
    const size_t nc = 64, nvs = nc * 7, nhs = nc * 6;
    double *v1 = malloc(nvs * sizeof(double)), *v2 = malloc(nvs * sizeof(double));
    double *h1 = malloc(nhs * sizeof(double)), *h2 = malloc(nhs * sizeof(double));
    assert_true(v1 && v2 && h1 && h2);
    run_and_read(ctx, m, nc, 4242, 25, v1, h1);
    run_and_read(ctx, m, nc, 4242, 25, v2, h2);
    assert_memory_equal(v1, v2, nvs * sizeof(double));
    assert_memory_equal(h1, h2, nhs * sizeof(double));
    run_and_read(ctx, m, nc, 4243, 25, v2, h2);
    assert_true(memcmp(v1, v2, nvs * sizeof(double)) != 0);
    assert_true(memcmp(h1, h2, nhs * sizeof(double)) != 0);
    free(v1);
    free(v2);
    free(h1);
    free(h2);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

static void test_same_seed_identical(void **state)
{
    (void)state;
    check_determinism(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_PRECISION_FLOAT64);
    check_determinism(RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_PRECISION_FLOAT64);
    check_determinism(RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, RBM_PRECISION_FLOAT64);
    check_determinism(RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, RBM_PRECISION_FLOAT64);
    check_determinism(RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_PRECISION_FLOAT32);
}

/* The sampler's generator is exposed: restoring its saved state and the
 * visible states replays the chains bit for bit. */
static void test_rng_state_replay(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(5, 4, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN);
    ref_randomize(r, 35, 0.3, 0.3);
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, 16, 11, &s));
    RBM_OKAY(ctx, rbm_sampler_run(s, 3));
    double v0[80], v1[80], v2[80], h1[64], h2[64];
    uint8_t st[RBM_RNG_STATE_BYTES];
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v0, 80));
    RBM_OKAY(ctx, rbm_rng_get_state(rbm_sampler_rng(s), st, sizeof st));
    RBM_OKAY(ctx, rbm_sampler_set_visible(s, v0, 80));
    RBM_OKAY(ctx, rbm_sampler_run(s, 7));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v1, 80));
    RBM_OKAY(ctx, rbm_sampler_get_hidden(s, h1, 64));
    RBM_OKAY(ctx, rbm_rng_set_state(rbm_sampler_rng(s), st, sizeof st));
    RBM_OKAY(ctx, rbm_sampler_set_visible(s, v0, 80));
    RBM_OKAY(ctx, rbm_sampler_run(s, 7));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v2, 80));
    RBM_OKAY(ctx, rbm_sampler_get_hidden(s, h2, 64));
    assert_memory_equal(v1, v2, sizeof v1);
    assert_memory_equal(h1, h2, sizeof h1);
    assert_true(memcmp(v0, v1, sizeof v0) != 0);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

/* k = 0 leaves the chains unchanged. */
static void test_run_zero_steps(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 32, 0.5, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, 10, 5, &s));
    double v1[50], v2[50], h1[40], h2[40];
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v1, 50));
    RBM_OKAY(ctx, rbm_sampler_get_hidden(s, h1, 40));
    RBM_OKAY(ctx, rbm_sampler_run(s, 0));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v2, 50));
    RBM_OKAY(ctx, rbm_sampler_get_hidden(s, h2, 40));
    assert_memory_equal(v1, v2, sizeof v1);
    assert_memory_equal(h1, h2, sizeof h1);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

/* set_visible / get_visible round trip (values are not projected), and the
 * hidden states drawn by set_visible follow p(h|v). */
static void test_set_get_visible(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 33, 0.7, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    const size_t nc = 20000;
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, nc, 6, &s));
    double *v = malloc(nc * 5 * sizeof(double)), *v2 = malloc(nc * 5 * sizeof(double));
    double *h = malloc(nc * 4 * sizeof(double));
    assert_true(v && v2 && h);
    /* round trip with values outside the support: kept as they are */
    t_sm_state = 77;
    for (size_t k = 0; k < nc * 5; k++) v[k] = t_unif();
    RBM_OKAY(ctx, rbm_sampler_set_visible(s, v, nc * 5));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v2, nc * 5));
    assert_memory_equal(v, v2, nc * 5 * sizeof(double));

    /* every chain at the same v: hidden frequencies match sigm(b + W^T v) */
    const double v0[5] = {1, 0, 1, 1, 0};
    for (size_t c = 0; c < nc; c++) memcpy(v + c * 5, v0, sizeof v0);
    RBM_OKAY(ctx, rbm_sampler_set_visible(s, v, nc * 5));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v2, nc * 5));
    assert_memory_equal(v, v2, nc * 5 * sizeof(double));
    RBM_OKAY(ctx, rbm_sampler_get_hidden(s, h, nc * 4));
    for (size_t j = 0; j < 4; j++) {
        double x = r->b[j];
        for (size_t i = 0; i < 5; i++) x += v0[i] * r->W[i * 4 + j];
        double p = ref_mean(RBM_UNIT_BERNOULLI, 1.0, x);
        double f = 0.0;
        for (size_t c = 0; c < nc; c++) {
            double hv = h[c * 4 + j];
            assert_true(hv == 0.0 || hv == 1.0);
            f += hv;
        }
        f /= (double)nc;
        rbm_assert_close(f, p, 0.0, 5.0 * sqrt(p * (1 - p) / (double)nc), "P(h_j=1|v) after set_visible");
    }
    free(v);
    free(v2);
    free(h);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

/* Random initial states: uniform on the discrete support, N(0, sigma_v^2)
 * for Gaussian visible units; init_random restarts them. */
static void test_init_random(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nc = 20000;
    double *v = malloc(nc * 3 * sizeof(double));
    assert_non_null(v);

    /* Ising with a strong bias: after running, chains are mostly +1; after
     * init_random they are uniform again. */
    ref_rbm *r = ref_new(3, 2, RBM_UNIT_ISING, RBM_UNIT_ISING);
    r->a[0] = r->a[1] = r->a[2] = 3.0;
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, nc, 7, &s));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, nc * 3));
    for (size_t i = 0; i < 3; i++) {
        double mean = 0;
        for (size_t c = 0; c < nc; c++) {
            assert_true(v[c * 3 + i] == 1.0 || v[c * 3 + i] == -1.0);
            mean += v[c * 3 + i];
        }
        rbm_assert_close(mean / (double)nc, 0.0, 0.0, 5.0 / sqrt((double)nc), "random Ising start mean");
    }
    RBM_OKAY(ctx, rbm_sampler_run(s, 3));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, nc * 3));
    double mean = 0;
    for (size_t c = 0; c < nc; c++) mean += v[c * 3];
    rbm_assert_close(mean / (double)nc, tanh(3.0), 0.0, 5.0 * sqrt((1 - tanh(3.0) * tanh(3.0)) / (double)nc),
                     "Ising mean tanh(a) with W = 0");
    RBM_OKAY(ctx, rbm_sampler_init_random(s));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, nc * 3));
    mean = 0;
    for (size_t c = 0; c < nc; c++) mean += v[c * 3];
    rbm_assert_close(mean / (double)nc, 0.0, 0.0, 5.0 / sqrt((double)nc), "Ising mean after init_random");
    rbm_sampler_free(s);
    rbm_machine_free(m);
    ref_free(r);

    /* Gaussian visible, sigma_v = 2 */
    r = ref_new(3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI);
    r->sv = 2.0;
    m = ref_to_machine(ctx, r);
    RBM_OKAY(ctx, rbm_sampler_new(m, nc, 8, &s));
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, nc * 3));
    for (size_t i = 0; i < 3; i++) {
        double s1 = 0, s2 = 0;
        for (size_t c = 0; c < nc; c++) {
            s1 += v[c * 3 + i];
            s2 += v[c * 3 + i] * v[c * 3 + i];
        }
        s1 /= (double)nc;
        s2 /= (double)nc;
        rbm_assert_close(s1, 0.0, 0.0, 5.0 * 2.0 / sqrt((double)nc), "Gaussian random start mean");
        rbm_assert_close(s2, 4.0, 0.0, 5.0 * 4.0 * sqrt(2.0 / (double)nc), "Gaussian random start variance");
    }
    rbm_sampler_free(s);
    rbm_machine_free(m);
    ref_free(r);
    free(v);
    rbm_context_free(ctx);
}

/* init_from_data: every chain's visible state is one of the data rows, the
 * rows are drawn uniformly, and the hidden states lie in the support. */
static void test_init_from_data(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(6, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    ref_randomize(r, 34, 0.5, 0.5);
    rbm_machine *m = ref_to_machine(ctx, r);
    enum { ROWS = 7, NC = 7000 };
    double rows[ROWS * 6];
    for (size_t k = 0; k < ROWS; k++)
        for (size_t i = 0; i < 6; i++) rows[k * 6 + i] = (double)(((k + 1) * 37 >> i) & 1u); /* distinct */
    for (size_t k = 0; k < ROWS; k++)
        for (size_t l = 0; l < k; l++) assert_true(memcmp(rows + k * 6, rows + l * 6, 6 * sizeof(double)) != 0);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, rows, RBM_DTYPE_FLOAT64, ROWS, 6, RBM_COPY, &ds));
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, NC, 9, &s));
    RBM_OKAY(ctx, rbm_sampler_init_from_data(s, ds));
    double *v = malloc(NC * 6 * sizeof(double)), *h = malloc(NC * 3 * sizeof(double));
    assert_true(v && h);
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, NC * 6));
    RBM_OKAY(ctx, rbm_sampler_get_hidden(s, h, NC * 3));
    size_t count[ROWS] = {0};
    for (size_t c = 0; c < NC; c++) {
        size_t k = 0;
        while (k < ROWS && memcmp(v + c * 6, rows + k * 6, 6 * sizeof(double)) != 0) k++;
        if (k == ROWS) fail_msg("chain %zu does not start from a data row", c);
        count[k]++;
        for (size_t j = 0; j < 3; j++) assert_true(h[c * 3 + j] == 0.0 || h[c * 3 + j] == 1.0);
    }
    double p[ROWS], df;
    for (size_t k = 0; k < ROWS; k++) p[k] = 1.0 / ROWS;
    double stat = ref_chi2_stat(ROWS, p, count, NC, &df);
    assert_true(stat < ref_chi2_critical(df, 1e-3));

    /* wrong columns */
    rbm_dataset *bad = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, rows, RBM_DTYPE_FLOAT64, 6, 7, RBM_COPY, &bad));
    RBM_CHECK(ctx, rbm_sampler_init_from_data(s, bad), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_sampler_init_from_data(s, NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_init_from_data(NULL, ds), RBM_ERR_NULL);
    rbm_dataset_free(bad);

    free(v);
    free(h);
    rbm_sampler_free(s);
    rbm_dataset_free(ds);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

/* The chains follow parameter changes of the borrowed machine. */
static void test_sees_parameter_changes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    rbm_machine *m = ref_to_machine(ctx, r);
    const size_t nc = 4000;
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, nc, 10, &s));
    double a[4] = {40, 40, -40, -40};
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, 4));
    RBM_OKAY(ctx, rbm_sampler_run(s, 1));
    double *v = malloc(nc * 4 * sizeof(double));
    assert_non_null(v);
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, nc * 4));
    for (size_t c = 0; c < nc; c++) {
        assert_true(v[c * 4] == 1.0 && v[c * 4 + 1] == 1.0);
        assert_true(v[c * 4 + 2] == 0.0 && v[c * 4 + 3] == 0.0);
    }
    free(v);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------------- */
static void test_bad_input(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm *r = ref_new(5, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    rbm_machine *m = ref_to_machine(ctx, r);
    rbm_sampler *s = NULL;
    RBM_CHECK(ctx, rbm_sampler_new(NULL, 10, 1, &s), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_new(m, 10, 1, NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_new(m, 0, 1, &s), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_sampler_new(m, SIZE_MAX / 2, 1, &s), RBM_ERR_TOO_LARGE);
    RBM_OKAY(ctx, rbm_sampler_new(m, 10, 1, &s));
    assert_non_null(rbm_sampler_rng(s));

    double v[50] = {0}, h[40] = {0};
    RBM_CHECK(ctx, rbm_sampler_run(NULL, 1), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_init_random(NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_get_visible(NULL, v, 50), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_get_visible(s, NULL, 50), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_get_visible(s, v, 49), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_sampler_get_visible(s, v, 40), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_sampler_get_hidden(s, h, 50), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_sampler_get_hidden(s, NULL, 40), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_set_visible(NULL, v, 50), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_set_visible(s, NULL, 50), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_sampler_set_visible(s, v, 51), RBM_ERR_SHAPE);

    /* NaN / Inf in set_visible */
    double before[50], after[50];
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, before, 50));
    v[17] = NAN;
    RBM_CHECK(ctx, rbm_sampler_set_visible(s, v, 50), RBM_ERR_NOT_FINITE);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    v[17] = INFINITY;
    RBM_CHECK(ctx, rbm_sampler_set_visible(s, v, 50), RBM_ERR_NOT_FINITE);
    v[17] = -INFINITY;
    RBM_CHECK(ctx, rbm_sampler_set_visible(s, v, 50), RBM_ERR_NOT_FINITE);
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, after, 50));
    assert_memory_equal(before, after, sizeof before);

    /* precision changed after creation -> RBM_ERR_STATE */
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    RBM_CHECK(ctx, rbm_sampler_run(s, 1), RBM_ERR_STATE);
    rbm_sampler_free(s);
    s = NULL;
    RBM_OKAY(ctx, rbm_sampler_new(m, 10, 1, &s));
    RBM_OKAY(ctx, rbm_sampler_run(s, 1));
    rbm_sampler_free(s);
    rbm_sampler_free(NULL);

    rbm_machine_free(m);
    ref_free(r);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chi2_helper_rejects),
        cmocka_unit_test(test_gibbs_bernoulli),
        cmocka_unit_test(test_gibbs_ising),
        cmocka_unit_test(test_gibbs_mixed_kinds),
        cmocka_unit_test(test_gibbs_gaussian_hidden),
        cmocka_unit_test(test_gibbs_gaussian_visible),
        cmocka_unit_test(test_gibbs_float32),
        cmocka_unit_test(test_gibbs_detects_wrong_distribution),
        cmocka_unit_test(test_same_seed_identical),
        cmocka_unit_test(test_run_zero_steps),
        cmocka_unit_test(test_rng_state_replay),
        cmocka_unit_test(test_set_get_visible),
        cmocka_unit_test(test_init_random),
        cmocka_unit_test(test_init_from_data),
        cmocka_unit_test(test_sees_parameter_changes),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
