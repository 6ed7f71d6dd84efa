/* Sample weights and sequence reweighting: validation, weighted statistics
 * equal to duplicated rows, weights through slices, transforms and
 * checkpoints, and the reweighting against a naive O(n^2 L) count. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rbm_dataset *u8_dataset(rbm_context *ctx, const uint8_t *v, size_t rows, size_t cols)
{
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, v, RBM_DTYPE_UINT8, rows, cols, RBM_COPY, &ds));
    return ds;
}

static void test_set_weights_validation(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const uint8_t v[6] = {0, 1, 1, 0, 1, 1};
    rbm_dataset *ds = u8_dataset(ctx, v, 3, 2);
    assert_int_equal(rbm_dataset_has_weights(ds), 0);
    assert_true(rbm_dataset_weight_sum(ds) == 3.0);
    double bad_nan[3] = {1, NAN, 1}, bad_neg[3] = {1, -0.5, 1}, zero[3] = {0, 0, 0};
    double huge[3] = {1e308, 1e308, 1e308}, ok[3] = {0.5, 0, 2};
    RBM_CHECK(ctx, rbm_dataset_set_weights(ds, bad_nan, 3), RBM_ERR_NOT_FINITE);
    assert_non_null(strstr(rbm_context_last_error(ctx), "row 1"));
    RBM_CHECK(ctx, rbm_dataset_set_weights(ds, bad_neg, 3), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_set_weights(ds, zero, 3), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_set_weights(ds, huge, 3), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_set_weights(ds, ok, 2), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_dataset_set_weights(ds, NULL, 3), RBM_ERR_NULL);
    /* every failure left the dataset unweighted */
    assert_int_equal(rbm_dataset_has_weights(ds), 0);
    RBM_OKAY(ctx, rbm_dataset_set_weights(ds, ok, 3));
    assert_int_equal(rbm_dataset_has_weights(ds), 1);
    assert_true(rbm_dataset_weight_sum(ds) == 2.5);
    RBM_CHECK(ctx, rbm_dataset_set_weights(ds, bad_neg, 3), RBM_ERR_INVALID_ARGUMENT);
    double got[3];
    RBM_OKAY(ctx, rbm_dataset_get_weights(ds, got, 3));
    assert_memory_equal(got, ok, sizeof ok); /* the failed call kept the old weights */
    RBM_CHECK(ctx, rbm_dataset_get_weights(ds, got, 2), RBM_ERR_SHAPE);
    RBM_OKAY(ctx, rbm_dataset_set_weights(ds, NULL, 0));
    assert_int_equal(rbm_dataset_has_weights(ds), 0);
    RBM_OKAY(ctx, rbm_dataset_get_weights(ds, got, 3));
    assert_true(got[0] == 1.0 && got[1] == 1.0 && got[2] == 1.0);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* Integer weights {2, 1, 3, 1} give the statistics of the dataset with the
 * rows repeated that many times. */
static void test_weighted_stats_equal_duplicates(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { R = 4, C = 3 };
    const double x[R * C] = {0.5, -1, 2, 3, 0.25, -2, 1, 1, 1, -0.75, 4, 0};
    const double w[R] = {2, 1, 3, 1};
    double dup[7 * C];
    size_t k = 0;
    for (size_t r = 0; r < R; r++)
        for (int c = 0; c < (int)w[r]; c++, k++)
            memcpy(dup + k * C, x + r * C, sizeof(double) * C);
    rbm_dataset *a = NULL, *b = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, R, C, RBM_COPY, &a));
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, dup, RBM_DTYPE_FLOAT64, 7, C, RBM_COPY, &b));
    RBM_OKAY(ctx, rbm_dataset_set_weights(a, w, R));
    assert_true(rbm_dataset_weight_sum(a) == 7.0);
    double ma[C], mb[C], ca[C * C], cb[C * C];
    RBM_OKAY(ctx, rbm_dataset_mean(a, ma, C));
    RBM_OKAY(ctx, rbm_dataset_mean(b, mb, C));
    RBM_OKAY(ctx, rbm_dataset_covariance(a, ca, C * C));
    RBM_OKAY(ctx, rbm_dataset_covariance(b, cb, C * C));
    for (size_t i = 0; i < C; i++)
        rbm_assert_close(ma[i], mb[i], 1e-14, 1e-15, "weighted mean");
    for (size_t i = 0; i < C * C; i++)
        rbm_assert_close(ca[i], cb[i], 1e-13, 1e-14, "weighted covariance");
    /* and the unweighted statistics differ (the test can fail) */
    RBM_OKAY(ctx, rbm_dataset_set_weights(a, NULL, 0));
    RBM_OKAY(ctx, rbm_dataset_mean(a, ma, C));
    assert_true(fabs(ma[0] - mb[0]) > 1e-3);
    rbm_dataset_free(a);
    rbm_dataset_free(b);
    rbm_context_free(ctx);
}

static void test_weights_kept_by_slice_and_transform(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const uint8_t v[8] = {0, 1, 2, 1, 0, 0, 2, 2};
    const double w[4] = {0.5, 1.5, 2, 0.25};
    rbm_dataset *ds = u8_dataset(ctx, v, 4, 2), *s = NULL, *t = NULL;
    RBM_OKAY(ctx, rbm_dataset_set_weights(ds, w, 4));
    RBM_OKAY(ctx, rbm_dataset_set_categories(ds, 3, "-AB"));
    RBM_OKAY(ctx, rbm_dataset_slice(ds, 1, 2, &s));
    double got[4];
    RBM_OKAY(ctx, rbm_dataset_get_weights(s, got, 2));
    assert_true(got[0] == 1.5 && got[1] == 2.0);
    assert_true(rbm_dataset_weight_sum(s) == 3.5);
    assert_int_equal(rbm_dataset_n_states(s), 3);
    assert_string_equal(rbm_dataset_alphabet(s), "-AB");
    RBM_OKAY(ctx, rbm_dataset_transform(ds, RBM_TRANSFORM_BINARIZE, 0.5, &t));
    RBM_OKAY(ctx, rbm_dataset_get_weights(t, got, 4));
    assert_memory_equal(got, w, sizeof w);
    assert_int_equal(rbm_dataset_n_states(t), 0); /* 0/1 values are no longer states */
    assert_null(rbm_dataset_alphabet(t));
    rbm_dataset_free(s);
    rbm_dataset_free(t);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

static void test_categories_validation(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const uint8_t v[4] = {0, 3, 1, 2};
    rbm_dataset *ds = u8_dataset(ctx, v, 2, 2), *f = NULL;
    RBM_CHECK(ctx, rbm_dataset_set_categories(ds, 3, NULL), RBM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "row 0, column 1"));
    RBM_CHECK(ctx, rbm_dataset_set_categories(ds, 1, NULL), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_set_categories(ds, 256, NULL), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_set_categories(ds, 4, "ACG"), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_set_categories(ds, 4, "ACGA"), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_set_categories(ds, 4, "AC G"), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_dataset_n_states(ds), 0);
    RBM_OKAY(ctx, rbm_dataset_set_categories(ds, 4, "ACGT"));
    assert_int_equal(rbm_dataset_n_states(ds), 4);
    assert_string_equal(rbm_dataset_alphabet(ds), "ACGT");
    const double x[2] = {0, 1};
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, 1, 2, RBM_COPY, &f));
    RBM_CHECK(ctx, rbm_dataset_set_categories(f, 2, NULL), RBM_ERR_INVALID_ARGUMENT);
    rbm_dataset_free(f);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* The definition itself: for each s, count s' with matches / L >= theta. */
static void naive_weights(const uint8_t *v, size_t n, size_t L, double theta, double *w)
{
    for (size_t s = 0; s < n; s++) {
        size_t c = 0;
        for (size_t t = 0; t < n; t++) {
            size_t m = 0;
            for (size_t k = 0; k < L; k++)
                m += v[s * L + k] == v[t * L + k];
            c += (double)m / (double)L >= theta;
        }
        w[s] = 1.0 / (double)c;
    }
}

/* Families of near-copies of a few ancestors (each site mutated with
 * probability mu), so that every threshold splits pairs non-trivially. */
static uint8_t *family_alignment(size_t n, size_t L, unsigned q, double mu, uint64_t seed)
{
    uint8_t *v = xzalloc(n * L), *anc = xzalloc(5 * L);
    r_seed(seed);
    for (size_t k = 0; k < 5 * L; k++)
        anc[k] = (uint8_t)(r_u64() % q);
    for (size_t s = 0; s < n; s++) {
        size_t a = r_u64() % 5;
        double mus = mu * r_unif() * 2.0;
        for (size_t k = 0; k < L; k++)
            v[s * L + k] = r_unif() < mus ? (uint8_t)(r_u64() % q) : anc[a * L + k];
    }
    free(anc);
    return v;
}

static void test_sequence_weights_vs_naive(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t sizes[][2] = {{300, 77}, {257, 64}, {130, 200}, {1, 5}, {40, 1}};
    const double thetas[] = {0.0, 0.3, 0.5, 0.8, 0.9, 1.0};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        size_t n = sizes[z][0], L = sizes[z][1];
        uint8_t *v = family_alignment(n, L, 21, 0.4, 7 + z);
        rbm_dataset *ds = u8_dataset(ctx, v, n, L);
        double *w = xzalloc(n * sizeof(double)), *ref = xzalloc(n * sizeof(double));
        for (size_t t = 0; t < sizeof thetas / sizeof thetas[0]; t++)
            for (size_t threads = 1; threads <= 3; threads++) {
                RBM_OKAY(ctx, rbm_context_set_threads(ctx, threads));
                RBM_OKAY(ctx, rbm_dataset_sequence_weights(ds, thetas[t], w, n));
                naive_weights(v, n, L, thetas[t], ref);
                for (size_t s = 0; s < n; s++)
                    if (w[s] != ref[s])
                        fail_msg("n %zu L %zu theta %g threads %zu: w[%zu] = %.17g, naive %.17g",
                                 n, L, thetas[t], threads, s, w[s], ref[s]);
            }
        /* theta 0: every pair is similar */
        RBM_OKAY(ctx, rbm_dataset_sequence_weights(ds, 0.0, w, n));
        assert_true(w[0] == 1.0 / (double)n);
        free(w);
        free(ref);
        free(v);
        rbm_dataset_free(ds);
    }
    rbm_context_free(ctx);
}

static void test_sequence_weights_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const uint8_t v[4] = {0, 1, 1, 1};
    rbm_dataset *ds = u8_dataset(ctx, v, 2, 2), *f = NULL;
    double w[2];
    RBM_CHECK(ctx, rbm_dataset_sequence_weights(ds, 1.5, w, 2), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_sequence_weights(ds, NAN, w, 2), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_sequence_weights(ds, 0.8, w, 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_dataset_sequence_weights(ds, 0.8, NULL, 2), RBM_ERR_NULL);
    RBM_OKAY(ctx, rbm_dataset_sequence_weights(ds, 0.5, w, 2));
    assert_true(w[0] == 0.5 && w[1] == 0.5);
    const double x[2] = {0, 1};
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, 1, 2, RBM_COPY, &f));
    RBM_CHECK(ctx, rbm_dataset_sequence_weights(f, 0.8, w, 1), RBM_ERR_INVALID_ARGUMENT);
    rbm_dataset_free(f);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* A checkpoint made on weighted data refuses to resume when the weights
 * changed (or were removed), and resumes on the same weights. */
static void test_checkpoint_detects_weights(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    uint8_t v[40];
    r_seed(3);
    for (size_t i = 0; i < 40; i++)
        v[i] = (uint8_t)(r_u64() & 1);
    rbm_dataset *ds = u8_dataset(ctx, v, 8, 5);
    const double w[8] = {1, 2, 1, 0.5, 1, 1, 3, 1};
    RBM_OKAY(ctx, rbm_dataset_set_weights(ds, w, 8));
    rbm_machine *m = NULL, *m2 = NULL;
    rbm_trainer *t = NULL, *t2 = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 5, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 4, 11, &t));
    rbm_test_steps(ctx, t, 2);
    assert_int_equal(rbm_test_tmpdir_new("weights"), 0);
    const char *path = rbm_test_tmp_path("w.ckpt");
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, path));
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, ds, &m2, &t2));
    rbm_trainer_free(t2);
    rbm_machine_free(m2);
    const double w2[8] = {1, 2, 1, 0.5, 1, 1, 3, 2};
    RBM_OKAY(ctx, rbm_dataset_set_weights(ds, w2, 8));
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, ds, &m2, &t2), RBM_ERR_SHAPE);
    RBM_OKAY(ctx, rbm_dataset_set_weights(ds, NULL, 0));
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, ds, &m2, &t2), RBM_ERR_SHAPE);
    rbm_test_tmpdir_remove();
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_weights_validation),
        cmocka_unit_test(test_weighted_stats_equal_duplicates),
        cmocka_unit_test(test_weights_kept_by_slice_and_transform),
        cmocka_unit_test(test_categories_validation),
        cmocka_unit_test(test_sequence_weights_vs_naive),
        cmocka_unit_test(test_sequence_weights_errors),
        cmocka_unit_test(test_checkpoint_detects_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
