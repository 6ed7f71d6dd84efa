/* Tests for the spectral view of a Potts machine (svd.h, docs/potts.md
 * "Spectral view").
 *
 * Reference: an exact construction. The test draws orthonormal columns U0
 * ((N q) x K) and V0 (N_h x K) by its own Gram-Schmidt and sets
 * W = U0 diag(w0) V0^T with distinct w0, so the singular values are w0 and
 * the left singular vectors are the columns of U0 up to sign; the per-site
 * norms and per-state weights are then computed from U0 by the test's own
 * loops, and projections of states by the dense one-hot product. */
#include "testutil.h"
#include "reference.h" /* ref_random_orthonormal */

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 4, Q = 3, NH = 5, K = 3, NR = N * Q };

static void test_site_norms_exact(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double w0[K] = {3.0, 1.7, 0.6};
    double U0[NR * K], V0[NH * K], W[NR * NH] = {0};
    r_seed(131);
    ref_random_orthonormal(NR, K, U0);
    ref_random_orthonormal(NH, K, V0);
    for (size_t r = 0; r < NR; r++)
        for (size_t j = 0; j < NH; j++)
            for (size_t a = 0; a < K; a++)
                W[r * NH + j] += U0[r * K + a] * w0[a] * V0[j * K + a];
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, N, Q, NH, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NR * NH));
    rbm_svd *s;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    size_t r = rbm_svd_rank(s), ns = 0, nq = 0;
    assert_int_equal(r, NH); /* min(N q, N_h) */
    RBM_OKAY(ctx, rbm_svd_site_shape(s, &ns, &nq));
    assert_int_equal(ns, N);
    assert_int_equal(nq, Q);
    double w[NH], U[NR * NH];
    RBM_OKAY(ctx, rbm_svd_get_singular_values(s, w, NH));
    RBM_OKAY(ctx, rbm_svd_get_left_vectors(s, U, NR * NH));
    for (size_t a = 0; a < K; a++)
        rbm_assert_close(w[a], w0[a], 1e-12, 1e-12, "singular value");
    for (size_t a = K; a < NH; a++)
        rbm_assert_close(w[a], 0, 0, 1e-12, "zero singular value");
    double norms[K * N], ref_sign[K];
    RBM_OKAY(ctx, rbm_svd_site_norms(s, K, norms, K * N));
    for (size_t a = 0; a < K; a++) {
        double dot = 0;
        for (size_t t = 0; t < NR; t++)
            dot += U[t * NH + a] * U0[t * K + a];
        rbm_assert_close(fabs(dot), 1, 0, 1e-12, "left vector = planted column up to sign");
        ref_sign[a] = dot > 0 ? 1 : -1;
        double total = 0;
        for (size_t i = 0; i < N; i++) {
            double acc = 0;
            for (size_t c = 0; c < Q; c++)
                acc += U0[(i * Q + c) * K + a] * U0[(i * Q + c) * K + a];
            rbm_assert_close(norms[a * N + i], sqrt(acc), 1e-11, 1e-13, "site norm");
            total += norms[a * N + i] * norms[a * N + i];
        }
        rbm_assert_close(total, 1, 1e-12, 0, "site norms squared sum to 1");
        double logo[NR];
        RBM_OKAY(ctx, rbm_svd_site_weights(s, a, logo, NR));
        for (size_t t = 0; t < NR; t++)
            rbm_assert_close(logo[t], ref_sign[a] * U0[t * K + a], 1e-11, 1e-13,
                             "per-state weight");
    }
    /* projections of states: the one-hot product with the planted vectors */
    const double v[2 * N] = {0, 2, 1, 1, 2, 2, 0, 1};
    double proj[2 * K];
    RBM_OKAY(ctx, rbm_svd_project_visible(s, 2, v, 2 * N, K, proj, 2 * K));
    for (size_t b = 0; b < 2; b++)
        for (size_t a = 0; a < K; a++) {
            double ref = 0;
            for (size_t i = 0; i < N; i++)
                for (size_t c = 0; c < Q; c++)
                    ref += (v[b * N + i] == (double)c) * ref_sign[a] * U0[(i * Q + c) * K + a];
            rbm_assert_close(proj[b * K + a], ref, 1e-11, 1e-13, "one-hot projection");
        }
    /* a dataset of the same rows projects the same */
    rbm_dataset *d;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, v, RBM_DTYPE_FLOAT64, 2, N, RBM_COPY, &d));
    double pd[2 * K];
    RBM_OKAY(ctx, rbm_svd_project_dataset(s, d, K, pd, 2 * K));
    for (size_t t = 0; t < 2 * K; t++)
        rbm_assert_close(pd[t], proj[t], 1e-14, 1e-14, "dataset projection");
    /* refusals */
    const double bad[N] = {0, 3, 1, 1};
    RBM_CHECK(ctx, rbm_svd_project_visible(s, 1, bad, N, K, proj, K), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_svd_site_norms(s, 0, norms, 0), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_svd_site_norms(s, NH + 1, norms, K * N), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_svd_site_norms(s, K, norms, K * N - 1), RBM_ERR_SHAPE);
    double logo[NR];
    RBM_CHECK(ctx, rbm_svd_site_weights(s, NH, logo, NR), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_svd_site_weights(s, 0, logo, NR - 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_svd_site_weights(NULL, 0, logo, NR), RBM_ERR_NULL);
    double ov[4];
    RBM_CHECK(ctx, rbm_svd_pca_overlaps(s, d, 2, ov, 4, NULL, 0), RBM_ERR_UNSUPPORTED);
    rbm_dataset_free(d);
    /* update follows a new W; a machine of another q is refused */
    for (size_t t = 0; t < NR * NH; t++)
        W[t] *= 2;
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NR * NH));
    RBM_OKAY(ctx, rbm_svd_update(s, m));
    RBM_OKAY(ctx, rbm_svd_get_singular_values(s, w, NH));
    rbm_assert_close(w[0], 2 * w0[0], 1e-12, 0, "updated singular value");
    rbm_machine *m2;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, NR / 2, 2, NH, RBM_UNIT_BERNOULLI, &m2));
    RBM_CHECK(ctx, rbm_svd_update(s, m2), RBM_ERR_SHAPE);
    rbm_machine_free(m2);
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* An ordinary machine: q = 1 and the site norms are |u_i^alpha|. */
static void test_site_norms_binary(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    double W[18];
    r_seed(7);
    for (size_t t = 0; t < 18; t++)
        W[t] = r_norm();
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, 18));
    rbm_svd *s;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    size_t ns, nq;
    RBM_OKAY(ctx, rbm_svd_site_shape(s, &ns, &nq));
    assert_int_equal(ns, 6);
    assert_int_equal(nq, 1);
    double U[18], norms[18];
    RBM_OKAY(ctx, rbm_svd_get_left_vectors(s, U, 18));
    RBM_OKAY(ctx, rbm_svd_site_norms(s, 3, norms, 18));
    for (size_t a = 0; a < 3; a++)
        for (size_t i = 0; i < 6; i++)
            assert_true(norms[a * 6 + i] == fabs(U[i * 3 + a]));
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_norms_exact),
        cmocka_unit_test(test_site_norms_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
