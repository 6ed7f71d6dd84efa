/* Tests for planted Potts machines and datasets drawn from chains
 * (rbm_machine_new_planted_potts, rbm_sampler_draw_dataset; docs/potts.md
 * "Planted alignments").
 *
 * References: the construction itself, checked entry by entry from W read
 * back (supports, values +-w/sqrt(2S), zero-sum sites) with the singular
 * values against the strengths; for the sampler, the exact p(v) of a small
 * planted machine computed here by the test's own enumeration of the q^N
 * configurations (F(v) with the hidden units summed out by hand), against
 * which the counts of the drawn rows are compared by a chi-square; for
 * training, the planted machine itself: the learned modes are compared with
 * the planted singular vectors and the learned exact log-likelihood with
 * the planted one. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the construction ---- */

static void test_planted_machine(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { N = 12, Q = 5, K = 3, S = 3, NR = N * Q };
    const double w[K] = {3.0, 4.0, 2.0}; /* any order */
    rbm_machine *m, *m2, *m3;
    RBM_OKAY(ctx, rbm_machine_new_planted_potts(ctx, N, Q, w, K, S, 0.8, RBM_UNIT_ISING, 9, &m));
    assert_int_equal(rbm_machine_n_visible(m), N);
    assert_int_equal(rbm_machine_n_hidden(m), K);
    assert_int_equal(rbm_machine_n_states(m, RBM_LAYER_VISIBLE), Q);
    assert_int_equal(rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN), RBM_UNIT_ISING);
    double W[NR * K], a[NR], b[K];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, NR * K));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, a, NR));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, b, K));
    int owner[N];
    size_t sites_of[K] = {0};
    for (size_t i = 0; i < N; i++) {
        owner[i] = -1;
        for (size_t k = 0; k < K; k++) {
            size_t plus = 0, minus = 0;
            double sum = 0;
            for (size_t c = 0; c < Q; c++) {
                double x = W[(i * Q + c) * K + k];
                sum += x;
                if (x == 0)
                    continue;
                rbm_assert_close(fabs(x), w[k] / sqrt(2.0 * S), 1e-15, 0, "|W| on a mode site");
                x > 0 ? plus++ : minus++;
            }
            assert_true(fabs(sum) < 1e-15); /* zero-sum gauge */
            if (plus + minus == 0)
                continue;
            assert_int_equal(plus, 1); /* one state A_i and one state B_i */
            assert_int_equal(minus, 1);
            assert_int_equal(owner[i], -1); /* disjoint supports */
            owner[i] = (int)k;
            sites_of[k]++;
        }
        double asum = 0, aabs = 0;
        for (size_t c = 0; c < Q; c++) {
            asum += a[i * Q + c];
            aabs += fabs(a[i * Q + c]);
        }
        assert_true(fabs(asum) < 1e-12);
        if (owner[i] >= 0)
            assert_true(aabs == 0); /* no field on mode sites */
        else
            assert_true(aabs > 0.1); /* background fields elsewhere */
    }
    for (size_t k = 0; k < K; k++) {
        assert_int_equal(sites_of[k], S);
        assert_true(b[k] == 0);
    }
    /* the singular values are the strengths */
    rbm_svd *sv;
    RBM_OKAY(ctx, rbm_svd_new(m, &sv));
    double sing[K];
    RBM_OKAY(ctx, rbm_svd_get_singular_values(sv, sing, K));
    rbm_assert_close(sing[0], 4.0, 1e-13, 0, "w_1");
    rbm_assert_close(sing[1], 3.0, 1e-13, 0, "w_2");
    rbm_assert_close(sing[2], 2.0, 1e-13, 0, "w_3");
    rbm_svd_free(sv);
    /* seeded: the same arguments give the same machine, another seed not */
    RBM_OKAY(ctx, rbm_machine_new_planted_potts(ctx, N, Q, w, K, S, 0.8, RBM_UNIT_ISING, 9, &m2));
    rbm_assert_same_machine(m, m2);
    RBM_OKAY(ctx, rbm_machine_new_planted_potts(ctx, N, Q, w, K, S, 0.8, RBM_UNIT_ISING, 10, &m3));
    double W3[NR * K];
    RBM_OKAY(ctx, rbm_machine_get_weights(m3, W3, NR * K));
    assert_true(memcmp(W, W3, sizeof W) != 0);
    const char *prov = rbm_machine_provenance(m);
    assert_non_null(prov);
    assert_non_null(strstr(prov, "source=planted-potts"));
    assert_non_null(strstr(prov, "seed=9\n"));
    rbm_machine_free(m);
    rbm_machine_free(m2);
    rbm_machine_free(m3);
    rbm_context_free(ctx);
}

static void test_planted_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double w[2] = {1.0, 2.0};
    rbm_machine *m = (rbm_machine *)ctx; /* reset to NULL on every error */
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(NULL, 5, 3, w, 2, 2, 0, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_NULL);
    assert_null(m);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, NULL, 2, 2, 0, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 2, 0, RBM_UNIT_ISING, 1, NULL),
              RBM_ERR_NULL);
    /* 2 modes of 3 sites do not fit in 5 sites */
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 3, 0, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "disjoint"));
    RBM_CHECK(ctx,
              rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, SIZE_MAX / 2 + 1, 0, RBM_UNIT_ISING,
                                            1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 0, 2, 0, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 0, 0, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    const double bad[4][2] = {{1.0, 0.0}, {1.0, -1.0}, {1.0, NAN}, {INFINITY, 1.0}};
    for (int k = 0; k < 4; k++)
        RBM_CHECK(ctx,
                  rbm_machine_new_planted_potts(ctx, 5, 3, bad[k], 2, 2, 0, RBM_UNIT_ISING, 1, &m),
                  RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 2, -1, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 2, NAN, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 1, w, 2, 2, 0, RBM_UNIT_ISING, 1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 2, 0, RBM_UNIT_POTTS, 1, &m),
              RBM_ERR_INVALID_ARGUMENT);
    assert_null(m);
    /* every discrete or Gaussian hidden kind is accepted */
    RBM_OKAY(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 2, 0, RBM_UNIT_BERNOULLI, 1, &m));
    rbm_machine_free(m);
    RBM_OKAY(ctx, rbm_machine_new_planted_potts(ctx, 5, 3, w, 2, 2, 0, RBM_UNIT_GAUSSIAN, 1, &m));
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---- drawing datasets ---- */

enum { SN = 3, SQ = 3, SC = 27 }; /* the small model: 3 sites, 3 states */

/* The exact p(v) of a small Potts machine with Ising hidden units, by the
 * test's own sum: F(v) = -sum_i a_{i v_i} - sum_j log 2cosh(b_j + x_j(v)). */
static void exact_pv(rbm_context *ctx, const rbm_machine *m, double *p)
{
    size_t nh = rbm_machine_n_hidden(m);
    double W[SN * SQ * 4], a[SN * SQ], b[4];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, SN * SQ * nh));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, a, SN * SQ));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, b, nh));
    double z = 0;
    for (int t = 0; t < SC; t++) {
        int v[SN] = {t % SQ, t / SQ % SQ, t / (SQ * SQ)};
        double lw = 0;
        for (int i = 0; i < SN; i++)
            lw += a[i * SQ + v[i]];
        for (size_t j = 0; j < nh; j++) {
            double x = b[j];
            for (int i = 0; i < SN; i++)
                x += W[(i * SQ + v[i]) * nh + j];
            lw += log(2 * cosh(x));
        }
        z += p[t] = exp(lw);
    }
    for (int t = 0; t < SC; t++)
        p[t] /= z;
}

/* Pearson's chi-square of the rows of d (all SC configurations) against p. */
static double chi_square(rbm_context *ctx, const rbm_dataset *d, const double *p)
{
    size_t R = rbm_dataset_rows(d);
    double *V = xzalloc(R * SN * sizeof(double)), n[SC] = {0}, chi = 0;
    RBM_OKAY(ctx, rbm_dataset_get_rows(d, 0, R, V, R * SN));
    for (size_t r = 0; r < R; r++)
        n[(int)V[r * SN] + SQ * (int)V[r * SN + 1] + SQ * SQ * (int)V[r * SN + 2]]++;
    for (int t = 0; t < SC; t++)
        chi += (n[t] - (double)R * p[t]) * (n[t] - (double)R * p[t]) / ((double)R * p[t]);
    free(V);
    return chi;
}

/* One chain per row, and few chains thinned, both against the exact p(v). */
static void test_draw_matches_exact(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double w[1] = {2.5};
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new_planted_potts(ctx, SN, SQ, w, 1, 2, 1.0, RBM_UNIT_ISING, 4, &m));
    double p[SC];
    exact_pv(ctx, m, p);
    enum { R = 40000 };
    rbm_sampler *s;
    rbm_dataset *d;
    RBM_OKAY(ctx, rbm_sampler_new(m, R, 5, &s));
    RBM_OKAY(ctx, rbm_sampler_draw_dataset(s, R, 30, 1, &d));
    assert_int_equal(rbm_dataset_rows(d), R);
    assert_int_equal(rbm_dataset_cols(d), SN);
    assert_int_equal(rbm_dataset_dtype(d), RBM_DTYPE_UINT8);
    assert_int_equal(rbm_dataset_n_states(d), SQ);
    assert_null(rbm_dataset_alphabet(d));
    /* 26 degrees of freedom: mean 26, sd 7.2; measured 31.3 */
    double chi = chi_square(ctx, d, p);
    if (!(chi < 26 + 6 * 7.2))
        fail_msg("independent chains: chi-square %g with 26 degrees of freedom", chi);
    rbm_dataset_free(d);
    rbm_sampler_free(s);
    /* 200 chains, 200 takes 5 sweeps apart: correlated rows, a looser bound
     * (measured 31.6) */
    RBM_OKAY(ctx, rbm_sampler_new(m, 200, 6, &s));
    RBM_OKAY(ctx, rbm_sampler_draw_dataset(s, R, 50, 5, &d));
    chi = chi_square(ctx, d, p);
    if (!(chi < 2 * (26 + 6 * 7.2)))
        fail_msg("thinned chains: chi-square %g with 26 degrees of freedom", chi);
    rbm_dataset_free(d);
    rbm_sampler_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The types of each visible kind; errors leave the chains where they were. */
static void test_draw_types_and_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const rbm_unit_kind kinds[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
    const rbm_dtype types[3] = {RBM_DTYPE_UINT8, RBM_DTYPE_FLOAT32, RBM_DTYPE_FLOAT64};
    for (int k = 0; k < 3; k++) {
        rbm_machine *m;
        RBM_OKAY(ctx, rbm_machine_new(ctx, 4, 2, kinds[k], RBM_UNIT_BERNOULLI, &m));
        RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.5, 3));
        rbm_sampler *s;
        RBM_OKAY(ctx, rbm_sampler_new(m, 3, 7, &s));
        rbm_dataset *d;
        RBM_OKAY(ctx, rbm_sampler_draw_dataset(s, 7, 2, 1, &d)); /* takes of 3, 3, 1 */
        assert_int_equal(rbm_dataset_dtype(d), types[k]);
        assert_int_equal(rbm_dataset_n_states(d), 0);
        /* the last take: the first chain's current state */
        double last[4], v[3 * 4];
        RBM_OKAY(ctx, rbm_dataset_get_rows(d, 6, 1, last, 4));
        RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, 12));
        assert_memory_equal(last, v, sizeof last);
        rbm_dataset_free(d);
        /* errors */
        d = (rbm_dataset *)ctx;
        RBM_CHECK(ctx, rbm_sampler_draw_dataset(s, 0, 2, 1, &d), RBM_ERR_INVALID_ARGUMENT);
        assert_null(d);
        RBM_CHECK(ctx, rbm_sampler_draw_dataset(s, 4, 2, 0, &d), RBM_ERR_INVALID_ARGUMENT);
        RBM_CHECK(ctx, rbm_sampler_draw_dataset(s, 4, 2, 1, NULL), RBM_ERR_NULL);
        RBM_CHECK(ctx, rbm_sampler_draw_dataset(NULL, 4, 2, 1, &d), RBM_ERR_NULL);
        RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
        RBM_CHECK(ctx, rbm_sampler_draw_dataset(s, 3, 2, 0, &d), RBM_ERR_STATE);
        double v2[3 * 4];
        RBM_OKAY(ctx, rbm_sampler_get_visible(s, v2, 12));
        assert_memory_equal(v, v2, sizeof v);
        /* thin 0 is fine when one take suffices */
        rbm_sampler_free(s);
        RBM_OKAY(ctx, rbm_sampler_new(m, 3, 7, &s));
        RBM_OKAY(ctx, rbm_sampler_draw_dataset(s, 3, 0, 0, &d));
        rbm_dataset_free(d);
        rbm_sampler_free(s);
        rbm_machine_free(m);
    }
    rbm_context_free(ctx);
}

/* ---- recovery: training on a planted alignment finds the planted modes ---- */

enum { PN = 20, PQ = 21, PK = 3, PS = 6, PM = 5000 };

static rbm_dataset *draw(rbm_context *ctx, rbm_machine *m, uint64_t seed)
{
    rbm_sampler *s;
    rbm_dataset *d;
    RBM_OKAY(ctx, rbm_sampler_new(m, PM, seed, &s));
    RBM_OKAY(ctx, rbm_sampler_draw_dataset(s, PM, 100, 1, &d));
    rbm_sampler_free(s);
    return d;
}

static double exact_ll(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *d)
{
    double ll;
    RBM_OKAY(ctx, rbm_exact_log_likelihood(m, d, &ll, NULL));
    return ll;
}

/* A 20-site, 21-state alignment of 5000 sequences from three modes of
 * strengths 10, 7.5 and 5 (six sites each), an EXACT-gradient Ising RBM of
 * three hidden units trained on it with Adam. Measured (seeds below):
 * |u_learned . u_planted| 0.985, 0.976, 0.916; training LL -53.666 against
 * the planted -53.814 (0.148 above: the fit of about 1600 free parameters
 * to 5000 rows, ~ parameters / 2M = 0.16); held-out LL -54.012 against the
 * planted -53.837 (0.175 below) and -55.922 for the independent-site start,
 * so training closes 92% of that gap. */
static void test_training_recovers_planted_modes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double w[PK] = {10.0, 7.5, 5.0};
    rbm_machine *pl, *m;
    RBM_OKAY(ctx,
             rbm_machine_new_planted_potts(ctx, PN, PQ, w, PK, PS, 1.0, RBM_UNIT_ISING, 7, &pl));
    rbm_dataset *train = draw(ctx, pl, 11), *test = draw(ctx, pl, 12);
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, PN, PQ, PK, RBM_UNIT_ISING, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.01, 3));
    RBM_OKAY(ctx, rbm_machine_init_visible_bias_from_data(m, train));
    double ll_indep = exact_ll(ctx, m, test); /* W = 0.01 noise: independent sites */
    rbm_trainer *t;
    RBM_OKAY(ctx, rbm_trainer_new(m, train, 100, 5, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, RBM_OPTIMIZER_ADAM));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.01));
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, 60));
    rbm_trainer_free(t);
    /* (a) the modes, read in the zero-sum gauge as the planted ones are */
    RBM_OKAY(ctx, rbm_machine_set_gauge(m, RBM_GAUGE_ZERO_SUM, NULL));
    rbm_svd *sp, *sl;
    RBM_OKAY(ctx, rbm_svd_new(pl, &sp));
    RBM_OKAY(ctx, rbm_svd_new(m, &sl));
    double best[PK];
    size_t idx[PK];
    RBM_OKAY(ctx, rbm_svd_mode_overlaps(sp, sl, PK, NULL, 0, best, PK, idx, PK));
    const double min_overlap[PK] = {0.95, 0.93, 0.80};
    for (size_t k = 0; k < PK; k++) {
        if (!(best[k] >= min_overlap[k]))
            fail_msg("planted mode %zu: best overlap %g (learned mode %zu)", k + 1, best[k],
                     idx[k] + 1);
        assert_int_equal(idx[k], k); /* the modes come in the planted order */
    }
    /* (b) exact log-likelihoods against the planted machine's */
    double tr_pl = exact_ll(ctx, pl, train), tr_l = exact_ll(ctx, m, train);
    double te_pl = exact_ll(ctx, pl, test), te_l = exact_ll(ctx, m, test);
    if (!(tr_l > tr_pl - 0.05 && tr_l < tr_pl + 0.5))
        fail_msg("training LL %g, planted %g", tr_l, tr_pl);
    if (!(te_l > te_pl - 0.4 && te_l < te_pl + 0.1))
        fail_msg("held-out LL %g, planted %g", te_l, te_pl);
    if (!(te_l - ll_indep > 0.8 * (te_pl - ll_indep)))
        fail_msg("held-out LL %g closes too little of the gap from %g to %g", te_l, ll_indep,
                 te_pl);
    rbm_svd_free(sp);
    rbm_svd_free(sl);
    rbm_dataset_free(train);
    rbm_dataset_free(test);
    rbm_machine_free(m);
    rbm_machine_free(pl);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_machine),
        cmocka_unit_test(test_planted_errors),
        cmocka_unit_test(test_draw_matches_exact),
        cmocka_unit_test(test_draw_types_and_errors),
        cmocka_unit_test(test_training_recovers_planted_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
