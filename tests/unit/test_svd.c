/* Tests for svd.h (docs/theory.md §0.2, §2.2, §5.1, §6.4, §9 items 3, 8, 12, 13).
 *
 * References are computed here, independently of lib/svd.c:
 *   - a one-sided Jacobi (Hestenes) SVD written in this file, used for the
 *     singular values and vectors of small matrices, for finite differences
 *     of the SVD, and (on the covariance, which is symmetric positive
 *     semi-definite) for the data's principal directions;
 *   - covariances, projections and products by plain double loops;
 *   - the Marchenko-Pastur edge and the rectangular BBP outlier formula of
 *     §5.1 on matrices generated here;
 *   - exact gradients from the library's EXACT estimator (itself tested in
 *     test_estimator) as inputs of the projected-gradient formulas, compared
 *     with finite differences of the Jacobi SVD (§9 item 3) and with the
 *     linear-regime prediction of §6.4 (§9 item 8).
 * Random numbers come from a generator written here (splitmix64 +
 * Box-Muller). */
#include "testutil.h"
#include "reference.h" /* ref_rotate */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* test-local helpers (random numbers: r_seed, r_unif, r_norm of testutil.h) */

static double *dalloc(size_t n)
{
    return xzalloc(n * sizeof(double));
}

static void expect_error(rbm_context *ctx, rbm_status got, rbm_status want, const char *what)
{
    if (got != want)
        fail_msg("%s: got %s, expected %s (%s)", what, rbm_status_name(got), rbm_status_name(want),
                 rbm_context_last_error(ctx));
    if (rbm_context_last_status(ctx) != want)
        fail_msg("%s: last status %s, expected %s", what,
                 rbm_status_name(rbm_context_last_status(ctx)), rbm_status_name(want));
    if (strlen(rbm_context_last_error(ctx)) == 0)
        fail_msg("%s: empty error detail", what);
    rbm_context_clear_error(ctx);
}

static double max_abs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* A machine (Ising, so always normalisable) with weights W. */
static rbm_machine *machine_with(rbm_context *ctx, size_t nv, size_t nh, const double *W)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_ISING, RBM_UNIT_ISING, &m));
    if (W)
        RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
    return m;
}

/* ---------------------------------------------------------------------- */
/* reference SVD: one-sided Jacobi                                          */

/* B (m x n row-major, m >= n) is overwritten; on return s (n, descending),
 * Uo (m x n, columns = left vectors) and Vo (n x n, columns = right
 * vectors) with B_in = Uo diag(s) Vo^T. */
static void jacobi_tall(size_t m, size_t n, double *B, double *s, double *Uo, double *Vo)
{
    double *V = dalloc(n * n);
    for (size_t i = 0; i < n; i++)
        V[i * n + i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        int rotated = 0;
        for (size_t p = 0; p + 1 < n; p++) {
            for (size_t q = p + 1; q < n; q++) {
                double al = 0, be = 0, ga = 0;
                for (size_t i = 0; i < m; i++) {
                    al += B[i * n + p] * B[i * n + p];
                    be += B[i * n + q] * B[i * n + q];
                    ga += B[i * n + p] * B[i * n + q];
                }
                if (fabs(ga) <= 1e-15 * sqrt(al * be) || ga == 0)
                    continue;
                rotated = 1;
                double zeta = (be - al) / (2 * ga);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1 + zeta * zeta));
                double c = 1 / sqrt(1 + t * t), sn = c * t;
                ref_rotate(B + p, B + q, m, n, c, sn);
                ref_rotate(V + p, V + q, n, n, c, sn);
            }
        }
        if (!rotated)
            break;
    }
    /* norms, order */
    size_t *ord = xzalloc(n * sizeof *ord);
    double *nrm = dalloc(n);
    for (size_t a = 0; a < n; a++) {
        double t = 0;
        for (size_t i = 0; i < m; i++)
            t += B[i * n + a] * B[i * n + a];
        nrm[a] = sqrt(t);
        ord[a] = a;
    }
    for (size_t a = 0; a < n; a++) /* selection sort, descending */
        for (size_t b = a + 1; b < n; b++)
            if (nrm[ord[b]] > nrm[ord[a]]) {
                size_t tmp = ord[a];
                ord[a] = ord[b];
                ord[b] = tmp;
            }
    for (size_t a = 0; a < n; a++) {
        size_t src = ord[a];
        s[a] = nrm[src];
        for (size_t i = 0; i < m; i++)
            Uo[i * n + a] = nrm[src] > 0 ? B[i * n + src] / nrm[src] : 0;
        for (size_t i = 0; i < n; i++)
            Vo[i * n + a] = V[i * n + src];
    }
    free(ord);
    free(nrm);
    free(V);
}

/* SVD of W (nv x nh): w (r), U (nv x r), V (nh x r), r = min. */
static void ref_svd(size_t nv, size_t nh, const double *W, double *w, double *U, double *V)
{
    if (nv >= nh) {
        double *B = dalloc(nv * nh);
        memcpy(B, W, nv * nh * sizeof(double));
        jacobi_tall(nv, nh, B, w, U, V);
        free(B);
    } else {
        double *B = dalloc(nv * nh);
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++)
                B[j * nv + i] = W[i * nh + j];
        jacobi_tall(nh, nv, B, w, V, U);
        free(B);
    }
}

/* Flip column a of X (n x r) and Y (m x r) if X's column disagrees in sign
 * with column a of Ref (n x r). */
static void align_signs(size_t n, size_t m, size_t r, double *X, double *Y, const double *Ref)
{
    for (size_t a = 0; a < r; a++) {
        double d = 0;
        for (size_t i = 0; i < n; i++)
            d += X[i * r + a] * Ref[i * r + a];
        if (d < 0) {
            for (size_t i = 0; i < n; i++)
                X[i * r + a] = -X[i * r + a];
            for (size_t j = 0; j < m; j++)
                Y[j * r + a] = -Y[j * r + a];
        }
    }
}

/* Sign convention of svd.h: the entry of largest magnitude is positive,
 * the lowest index winning a (relative 1e-12) tie. */
static int sign_convention_ok(const double *X, size_t n, size_t ld, size_t col)
{
    double big = 0;
    for (size_t i = 0; i < n; i++)
        big = fmax(big, fabs(X[i * ld + col]));
    for (size_t i = 0; i < n; i++)
        if (fabs(X[i * ld + col]) >= big * (1 - 1e-12))
            return X[i * ld + col] > 0;
    return 0;
}

/* Library decomposition copied out. */
typedef struct {
    size_t nv, nh, r;
    double *w, *U, *V;
} dec;

static dec get_dec(rbm_context *ctx, const rbm_svd *s, size_t nv, size_t nh)
{
    dec d = {nv, nh, rbm_svd_rank(s), NULL, NULL, NULL};
    assert_int_equal(d.r, nv < nh ? nv : nh);
    d.w = dalloc(d.r);
    d.U = dalloc(nv * d.r);
    d.V = dalloc(nh * d.r);
    RBM_OKAY(ctx, rbm_svd_get_singular_values(s, d.w, d.r));
    RBM_OKAY(ctx, rbm_svd_get_left_vectors(s, d.U, nv * d.r));
    RBM_OKAY(ctx, rbm_svd_get_right_vectors(s, d.V, nh * d.r));
    return d;
}

static void dec_free(dec *d)
{
    free(d->w);
    free(d->U);
    free(d->V);
}

/* ---------------------------------------------------------------------- */
/* decomposition                                                          */

static void check_decomposition(rbm_context *ctx, size_t nv, size_t nh, const double *W)
{
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    dec d = get_dec(ctx, s, nv, nh);
    size_t r = d.r;
    double scale = fmax(1.0, max_abs(W, nv * nh));
    char what[128];

    /* descending, non-negative */
    for (size_t a = 0; a < r; a++) {
        assert_true(d.w[a] >= 0);
        if (a)
            assert_true(d.w[a] <= d.w[a - 1]);
    }
    /* reconstruction sum_a w_a u^a v^aT = W */
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double acc = 0;
            for (size_t a = 0; a < r; a++)
                acc += d.w[a] * d.U[i * r + a] * d.V[j * r + a];
            snprintf(what, sizeof what, "%zux%zu reconstruction W[%zu,%zu]", nv, nh, i, j);
            rbm_assert_close(acc, W[i * nh + j], 0, 1e-12 * scale, what);
        }
    /* orthonormality */
    for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) {
            double uu = 0, vv = 0;
            for (size_t i = 0; i < nv; i++)
                uu += d.U[i * r + a] * d.U[i * r + b];
            for (size_t j = 0; j < nh; j++)
                vv += d.V[j * r + a] * d.V[j * r + b];
            rbm_assert_close(uu, a == b ? 1.0 : 0.0, 0, 1e-12, "U^T U");
            rbm_assert_close(vv, a == b ? 1.0 : 0.0, 0, 1e-12, "V^T V");
        }
    /* sign convention and W v = w u */
    for (size_t a = 0; a < r; a++) {
        if (!sign_convention_ok(d.U, nv, r, a))
            fail_msg("%zux%zu: mode %zu violates the sign convention", nv, nh, a);
        for (size_t i = 0; i < nv; i++) {
            double acc = 0;
            for (size_t j = 0; j < nh; j++)
                acc += W[i * nh + j] * d.V[j * r + a];
            rbm_assert_close(acc, d.w[a] * d.U[i * r + a], 0, 1e-12 * scale, "W v = w u");
        }
    }
    /* against the Jacobi reference */
    double *rw = dalloc(r), *rU = dalloc(nv * r), *rV = dalloc(nh * r);
    ref_svd(nv, nh, W, rw, rU, rV);
    for (size_t a = 0; a < r; a++)
        rbm_assert_close(d.w[a], rw[a], 0, 1e-12 * scale, "singular value vs Jacobi");
    align_signs(nv, nh, r, rU, rV, d.U);
    for (size_t a = 0; a < r; a++) {
        /* vectors are defined when the singular value is isolated */
        double gap = INFINITY;
        if (a > 0)
            gap = fmin(gap, rw[a - 1] - rw[a]);
        if (a + 1 < r)
            gap = fmin(gap, rw[a] - rw[a + 1]);
        if (gap < 1e-3 * rw[0] || rw[a] < 1e-6 * rw[0])
            continue;
        for (size_t i = 0; i < nv; i++)
            rbm_assert_close(d.U[i * r + a], rU[i * r + a], 0, 1e-9, "u vs Jacobi");
        for (size_t j = 0; j < nh; j++)
            rbm_assert_close(d.V[j * r + a], rV[j * r + a], 0, 1e-9, "v vs Jacobi");
    }
    free(rw);
    free(rU);
    free(rV);
    dec_free(&d);
    rbm_svd_free(s);
    rbm_machine_free(m);
}

static void test_decomposition(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const size_t shapes[][2] = {{13, 7}, {7, 13}, {9, 9}, {1, 5}, {5, 1}, {40, 25}};
    r_seed(11);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t nv = shapes[k][0], nh = shapes[k][1];
        double *W = dalloc(nv * nh);
        for (size_t i = 0; i < nv * nh; i++)
            W[i] = r_norm() * (k + 1);
        check_decomposition(ctx, nv, nh, W);
        free(W);
    }
    /* rank-deficient: rank 2 in 8 x 6 */
    {
        size_t nv = 8, nh = 6;
        double *W = dalloc(nv * nh), *x = dalloc(nv * 2), *y = dalloc(nh * 2);
        for (size_t i = 0; i < nv * 2; i++)
            x[i] = r_norm();
        for (size_t i = 0; i < nh * 2; i++)
            y[i] = r_norm();
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++)
                W[i * nh + j] = x[i * 2] * y[j * 2] + x[i * 2 + 1] * y[j * 2 + 1];
        check_decomposition(ctx, nv, nh, W);
        rbm_machine *m = machine_with(ctx, nv, nh, W);
        rbm_svd *s = NULL;
        RBM_OKAY(ctx, rbm_svd_new(m, &s));
        double w[6];
        RBM_OKAY(ctx, rbm_svd_get_singular_values(s, w, 6));
        for (size_t a = 2; a < 6; a++)
            assert_true(w[a] < 1e-12 * w[0]);
        rbm_svd_free(s);
        rbm_machine_free(m);
        free(W);
        free(x);
        free(y);
    }
    rbm_context_free(ctx);
}

/* Sign convention on exact ties: W = (1, -1)^T and (-1, 1)^T. */
static void test_sign_convention_tie(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    for (int k = 0; k < 2; k++) {
        double W[2] = {k ? -1.0 : 1.0, k ? 1.0 : -1.0};
        rbm_machine *m = machine_with(ctx, 2, 1, W);
        rbm_svd *s = NULL;
        RBM_OKAY(ctx, rbm_svd_new(m, &s));
        double w[1], U[2], V[1];
        RBM_OKAY(ctx, rbm_svd_get_singular_values(s, w, 1));
        RBM_OKAY(ctx, rbm_svd_get_left_vectors(s, U, 2));
        RBM_OKAY(ctx, rbm_svd_get_right_vectors(s, V, 1));
        rbm_assert_close(w[0], sqrt(2.0), 1e-15, 0, "tie: w");
        rbm_assert_close(U[0], sqrt(0.5), 1e-15, 0, "tie: u_0 (lowest index positive)");
        rbm_assert_close(U[1], -sqrt(0.5), 1e-15, 0, "tie: u_1");
        rbm_assert_close(V[0], k ? -1.0 : 1.0, 1e-15, 0, "tie: v carries the sign");
        rbm_svd_free(s);
        rbm_machine_free(m);
    }
    /* a column whose largest entry is negative gets flipped */
    double W3[3] = {0.1, -2.0, 0.5};
    rbm_machine *m = machine_with(ctx, 3, 1, W3);
    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    double U[3], V[1];
    RBM_OKAY(ctx, rbm_svd_get_left_vectors(s, U, 3));
    RBM_OKAY(ctx, rbm_svd_get_right_vectors(s, V, 1));
    assert_true(U[1] > 0);
    assert_true(V[0] < 0);
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* rbm_svd_update follows the machine; W = 0 gives w = 0 and an empty bulk. */
static void test_update_and_zero(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    size_t nv = 6, nh = 4;
    rbm_machine *m = machine_with(ctx, nv, nh, NULL);
    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    double w[4], sigma = -1, edge = -1;
    size_t nout = 99;
    RBM_OKAY(ctx, rbm_svd_get_singular_values(s, w, 4));
    for (int a = 0; a < 4; a++)
        assert_true(w[a] == 0.0);
    RBM_OKAY(ctx, rbm_svd_bulk(s, &sigma, &edge, &nout));
    assert_true(sigma == 0.0 && edge == 0.0);
    assert_int_equal(nout, 0);
    RBM_OKAY(ctx, rbm_svd_bulk(s, NULL, NULL, NULL));

    r_seed(5);
    double W[24];
    for (int i = 0; i < 24; i++)
        W[i] = r_norm();
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, 24));
    RBM_OKAY(ctx, rbm_svd_update(s, m));
    double rw[4], rU[24], rV[16];
    ref_svd(nv, nh, W, rw, rU, rV);
    RBM_OKAY(ctx, rbm_svd_get_singular_values(s, w, 4));
    for (int a = 0; a < 4; a++)
        rbm_assert_close(w[a], rw[a], 1e-13, 1e-14, "updated singular values");

    /* another shape cannot be used */
    rbm_machine *other = machine_with(ctx, 4, 6, NULL);
    expect_error(ctx, rbm_svd_update(s, other), RBM_ERR_SHAPE, "update with another shape");
    expect_error(ctx, rbm_svd_update(s, NULL), RBM_ERR_NULL, "update with NULL machine");
    rbm_machine_free(other);
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* projections                                                            */

static void test_projections(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 11, nh = 7, B = 5, K = 4, M = 300;
    r_seed(21);
    double *W = dalloc(nv * nh);
    for (size_t i = 0; i < nv * nh; i++)
        W[i] = r_norm();
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    dec d = get_dec(ctx, s, nv, nh);
    size_t r = d.r;

    double *x = dalloc(B * nv), *h = dalloc(B * nh), *out = dalloc(B * r);
    for (size_t i = 0; i < B * nv; i++)
        x[i] = r_norm();
    for (size_t i = 0; i < B * nh; i++)
        h[i] = r_unif() < 0.5 ? -1.0 : 1.0;
    for (size_t k = 1; k <= r; k += (k == 1 ? K - 1 : r - K)) {
        RBM_OKAY(ctx, rbm_svd_project_visible(s, B, x, B * nv, k, out, B * k));
        for (size_t b = 0; b < B; b++)
            for (size_t a = 0; a < k; a++) {
                double acc = 0;
                for (size_t i = 0; i < nv; i++)
                    acc += d.U[i * r + a] * x[b * nv + i];
                rbm_assert_close(out[b * k + a], acc, 0, 1e-12, "s_alpha = u.x");
            }
        RBM_OKAY(ctx, rbm_svd_project_hidden(s, B, h, B * nh, k, out, B * k));
        for (size_t b = 0; b < B; b++)
            for (size_t a = 0; a < k; a++) {
                double acc = 0;
                for (size_t j = 0; j < nh; j++)
                    acc += d.V[j * r + a] * h[b * nh + j];
                rbm_assert_close(out[b * k + a], acc, 0, 1e-12, "sigma_alpha = v.h");
            }
    }
    /* batch 0 is a no-op */
    RBM_OKAY(ctx, rbm_svd_project_visible(s, 0, x, 0, K, out, 0));

    /* dataset projection, in blocks (M > one block), float64 and uint8 data */
    double *data = dalloc(M * nv);
    unsigned char *data8 = xzalloc(M * nv);
    for (size_t i = 0; i < M * nv; i++) {
        data8[i] = (unsigned char)(r_u64() % 256);
        data[i] = r_norm();
    }
    for (int kind = 0; kind < 2; kind++) {
        rbm_dataset *ds = NULL;
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, kind ? (const void *)data8 : (const void *)data,
                                              kind ? RBM_DTYPE_UINT8 : RBM_DTYPE_FLOAT64, M, nv,
                                              RBM_COPY, &ds));
        double *po = dalloc(M * K);
        RBM_OKAY(ctx, rbm_svd_project_dataset(s, ds, K, po, M * K));
        for (size_t mu = 0; mu < M; mu++)
            for (size_t a = 0; a < K; a++) {
                double acc = 0;
                for (size_t i = 0; i < nv; i++)
                    acc += d.U[i * r + a] *
                           (kind ? (double)data8[mu * nv + i] : data[mu * nv + i]);
                rbm_assert_close(po[mu * K + a], acc, 0, 1e-12 * (kind ? 255 : 1),
                                 "dataset projection");
            }
        expect_error(ctx, rbm_svd_project_dataset(s, ds, K, po, M * K - 1), RBM_ERR_SHAPE,
                     "dataset projection buffer length");
        expect_error(ctx, rbm_svd_project_dataset(s, ds, r + 1, po, M * (r + 1)),
                     RBM_ERR_INVALID_ARGUMENT, "dataset projection n_modes > r");
        free(po);
        rbm_dataset_free(ds);
    }

    /* errors */
    expect_error(ctx, rbm_svd_project_visible(s, B, x, B * nv - 1, K, out, B * K), RBM_ERR_SHAPE,
                 "visible: wrong x length");
    expect_error(ctx, rbm_svd_project_visible(s, B, x, B * nv, K, out, B * K + 1), RBM_ERR_SHAPE,
                 "visible: wrong out length");
    expect_error(ctx, rbm_svd_project_visible(s, B, x, B * nv, 0, out, 0),
                 RBM_ERR_INVALID_ARGUMENT, "visible: n_modes 0");
    expect_error(ctx, rbm_svd_project_visible(s, B, x, B * nv, r + 1, out, B * (r + 1)),
                 RBM_ERR_INVALID_ARGUMENT, "visible: n_modes > r");
    expect_error(ctx, rbm_svd_project_visible(s, B, NULL, B * nv, K, out, B * K), RBM_ERR_NULL,
                 "visible: NULL x");
    expect_error(ctx, rbm_svd_project_visible(s, B, x, B * nv, K, NULL, B * K), RBM_ERR_NULL,
                 "visible: NULL out");
    expect_error(ctx, rbm_svd_project_hidden(s, B, h, B * nh + 1, K, out, B * K), RBM_ERR_SHAPE,
                 "hidden: wrong h length");
    expect_error(ctx, rbm_svd_project_hidden(s, B, h, B * nh, r + 1, out, B * (r + 1)),
                 RBM_ERR_INVALID_ARGUMENT, "hidden: n_modes > r");
    x[3] = NAN;
    expect_error(ctx, rbm_svd_project_visible(s, B, x, B * nv, K, out, B * K), RBM_ERR_NOT_FINITE,
                 "visible: NaN state");
    h[2] = INFINITY;
    expect_error(ctx, rbm_svd_project_hidden(s, B, h, B * nh, K, out, B * K), RBM_ERR_NOT_FINITE,
                 "hidden: infinite state");
    assert_int_equal(rbm_svd_project_visible(NULL, B, x, B * nv, K, out, B * K), RBM_ERR_NULL);
    assert_int_equal(rbm_svd_project_hidden(NULL, B, h, B * nh, K, out, B * K), RBM_ERR_NULL);
    assert_int_equal(rbm_svd_project_dataset(NULL, NULL, K, out, 0), RBM_ERR_NULL);
    expect_error(ctx, rbm_svd_project_dataset(s, NULL, K, out, B * K), RBM_ERR_NULL,
                 "dataset: NULL");
    {
        rbm_dataset *wrong = NULL;
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, data, RBM_DTYPE_FLOAT64, 10, nv - 1, RBM_COPY,
                                              &wrong));
        double po[40];
        expect_error(ctx, rbm_svd_project_dataset(s, wrong, K, po, 40), RBM_ERR_SHAPE,
                     "dataset: wrong columns");
        rbm_dataset_free(wrong);
    }

    free(data);
    free(data8);
    free(x);
    free(h);
    free(out);
    free(W);
    dec_free(&d);
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* projected gradient (§2.2, §9 item 3)                                    */

/* Exact gradient of an Ising machine with random parameters on random data;
 * returns g (caller frees) and its dW in dW. */
static rbm_gradient *exact_gradient(rbm_context *ctx, rbm_machine *m, size_t M,
                                    const double *data, double *dW)
{
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 1, 0, M, 7, &e));
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, M, data, M * nv, g));
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, dW, nv * nh));
    rbm_estimator_free(e);
    return g;
}

/* Column p of the flow of the singular vectors B (n x r, columns), from
 * t = dW-term / w_p: pred_i = t_i - sum_q (B_q . t) B_iq + sum_{q != p}
 * Omega_pq B_iq against dB[i * r + p]. */
static void check_vector_flow(size_t n, size_t r, size_t p, size_t K, const double *t,
                              const double *B, const double *O, const double *dB, const char *what)
{
    double d_s = 0;
    for (size_t i = 0; i < n; i++)
        d_s = fmax(d_s, fabs(dB[i * r + p]));
    for (size_t i = 0; i < n; i++) {
        double pred = t[i];
        for (size_t q = 0; q < r; q++) {
            double proj = 0;
            for (size_t k = 0; k < n; k++)
                proj += B[k * r + q] * t[k];
            pred -= proj * B[i * r + q];
            if (q != p)
                pred += O[p * K + q] * B[i * r + q];
        }
        rbm_assert_close(pred, dB[i * r + p], 1e-4, 1e-4 * d_s, what);
    }
}

static void check_gradient_fd(rbm_context *ctx, size_t nv, size_t nh, uint64_t seed)
{
    r_seed(seed);
    const size_t M = 40, r = nv < nh ? nv : nh;
    double *W = dalloc(nv * nh), *dW = dalloc(nv * nh), *data = dalloc(M * nv);
    double *a = dalloc(nv), *b = dalloc(nh);
    for (size_t i = 0; i < nv * nh; i++)
        W[i] = 0.5 * r_norm();
    for (size_t i = 0; i < nv; i++)
        a[i] = 0.3 * r_norm();
    for (size_t j = 0; j < nh; j++)
        b[j] = 0.3 * r_norm();
    for (size_t i = 0; i < M * nv; i++)
        data[i] = r_unif() < 0.6 ? 1.0 : -1.0;
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, nv));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, nh));
    rbm_gradient *g = exact_gradient(ctx, m, M, data, dW);
    assert_true(max_abs(dW, nv * nh) > 1e-3);

    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    dec d = get_dec(ctx, s, nv, nh);
    const size_t K = r;
    double *G = dalloc(K * K), *Ov = dalloc(K * K), *Oh = dalloc(K * K);
    RBM_OKAY(ctx, rbm_svd_project_gradient(s, g, K, 1e-8, G, K * K, Ov, K * K, Oh, K * K));

    /* G against direct products u^a . dW v^b */
    for (size_t p = 0; p < K; p++)
        for (size_t q = 0; q < K; q++) {
            double acc = 0;
            for (size_t i = 0; i < nv; i++)
                for (size_t j = 0; j < nh; j++)
                    acc += d.U[i * r + p] * dW[i * nh + j] * d.V[j * r + q];
            rbm_assert_close(G[p * K + q], acc, 0, 1e-12 * max_abs(dW, nv * nh), "G_ab");
        }
    /* antisymmetry (exact by construction: tolerance 1e-12 as §9 item 3) */
    for (size_t p = 0; p < K; p++) {
        assert_true(Ov[p * K + p] == 0.0 && Oh[p * K + p] == 0.0);
        for (size_t q = 0; q < K; q++) {
            rbm_assert_close(Ov[p * K + q], -Ov[q * K + p], 0, 1e-12, "Omega^v antisymmetric");
            rbm_assert_close(Oh[p * K + q], -Oh[q * K + p], 0, 1e-12, "Omega^h antisymmetric");
        }
    }

    /* central finite differences of the Jacobi SVD of W +- eps dW */
    const double eps = 1e-6;
    double *Wp = dalloc(nv * nh), *Wm = dalloc(nv * nh);
    double *w0 = dalloc(r), *U0 = dalloc(nv * r), *V0 = dalloc(nh * r);
    double *wp = dalloc(r), *Up = dalloc(nv * r), *Vp = dalloc(nh * r);
    double *wm = dalloc(r), *Um = dalloc(nv * r), *Vm = dalloc(nh * r);
    for (size_t i = 0; i < nv * nh; i++) {
        Wp[i] = W[i] + eps * dW[i];
        Wm[i] = W[i] - eps * dW[i];
    }
    ref_svd(nv, nh, W, w0, U0, V0);
    ref_svd(nv, nh, Wp, wp, Up, Vp);
    ref_svd(nv, nh, Wm, wm, Um, Vm);
    align_signs(nv, nh, r, U0, V0, d.U); /* the library's signs */
    align_signs(nv, nh, r, Up, Vp, U0);
    align_signs(nv, nh, r, Um, Vm, U0);
    double *dw = dalloc(r), *du = dalloc(nv * r), *dv = dalloc(nh * r);
    for (size_t p = 0; p < r; p++)
        dw[p] = (wp[p] - wm[p]) / (2 * eps);
    for (size_t i = 0; i < nv * r; i++)
        du[i] = (Up[i] - Um[i]) / (2 * eps);
    for (size_t i = 0; i < nh * r; i++)
        dv[i] = (Vp[i] - Vm[i]) / (2 * eps);
    double dws = max_abs(dw, r), oscale = fmax(max_abs(Ov, K * K), max_abs(Oh, K * K));
    char what[128];
    for (size_t p = 0; p < K; p++) {
        snprintf(what, sizeof what, "%zux%zu dw_%zu/dt = G_aa vs finite differences", nv, nh, p);
        rbm_assert_close(G[p * K + p], dw[p], 1e-4, 1e-4 * dws, what);
        for (size_t q = 0; q < K; q++) {
            if (p == q)
                continue;
            double fv = 0, fh = 0;
            for (size_t i = 0; i < nv; i++)
                fv += U0[i * r + q] * du[i * r + p];
            for (size_t j = 0; j < nh; j++)
                fh += V0[j * r + q] * dv[j * r + p];
            snprintf(what, sizeof what, "%zux%zu Omega^v[%zu,%zu] vs u^b.du^a", nv, nh, p, q);
            rbm_assert_close(Ov[p * K + q], fv, 1e-4, 1e-4 * oscale, what);
            snprintf(what, sizeof what, "%zux%zu Omega^h[%zu,%zu] vs v^b.dv^a", nv, nh, p, q);
            rbm_assert_close(Oh[p * K + q], fh, 1e-4, 1e-4 * oscale, what);
        }
    }
    /* whole du^a/dt = sum_b Omega^v_ab u^b + (I - P_U) dW v^a / w_a, and
     * likewise dv^a/dt (§2.2) */
    double *t1 = dalloc(nv), *t2 = dalloc(nh);
    for (size_t p = 0; p < r; p++) {
        for (size_t i = 0; i < nv; i++) {
            double acc = 0;
            for (size_t j = 0; j < nh; j++)
                acc += dW[i * nh + j] * d.V[j * r + p];
            t1[i] = acc / d.w[p];
        }
        for (size_t j = 0; j < nh; j++) {
            double acc = 0;
            for (size_t i = 0; i < nv; i++)
                acc += dW[i * nh + j] * d.U[i * r + p];
            t2[j] = acc / d.w[p];
        }
        check_vector_flow(nv, r, p, K, t1, d.U, Ov, du, "du^a/dt");
        check_vector_flow(nh, r, p, K, t2, d.V, Oh, dv, "dv^a/dt");
    }

    /* fewer modes: the leading block, omegas optional */
    if (K > 2) {
        size_t k2 = K - 1;
        double *G2 = dalloc(k2 * k2), *O2 = dalloc(k2 * k2);
        RBM_OKAY(ctx, rbm_svd_project_gradient(s, g, k2, 1e-8, G2, k2 * k2, NULL, 0, O2, k2 * k2));
        for (size_t p = 0; p < k2; p++)
            for (size_t q = 0; q < k2; q++) {
                /* BLAS may round differently for another size */
                rbm_assert_close(G2[p * k2 + q], G[p * K + q], 1e-12, 1e-15, "leading block of G");
                rbm_assert_close(O2[p * k2 + q], Oh[p * K + q], 1e-10, 1e-12 * oscale,
                                 "leading block of Omega^h");
            }
        free(G2);
        free(O2);
    }

    free(t1);
    free(t2);
    free(dw);
    free(du);
    free(dv);
    free(Wp);
    free(Wm);
    free(w0);
    free(U0);
    free(V0);
    free(wp);
    free(Up);
    free(Vp);
    free(wm);
    free(Um);
    free(Vm);
    free(G);
    free(Ov);
    free(Oh);
    dec_free(&d);
    rbm_svd_free(s);
    rbm_gradient_free(g);
    rbm_machine_free(m);
    free(W);
    free(dW);
    free(data);
    free(a);
    free(b);
}

static void test_gradient_finite_differences(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    check_gradient_fd(ctx, 9, 6, 31);
    check_gradient_fd(ctx, 5, 8, 32);
    check_gradient_fd(ctx, 7, 7, 33);
    rbm_context_free(ctx);
}

/* Degenerate pairs give NaN; W = U diag(3, 2, 2, 1) V^T. */
static void test_gradient_degenerate(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 6, nh = 4, r = 4, M = 20;
    r_seed(41);
    double Uq[24], Vq[16], W[24], dW[24], data[M * 6];
    const double sv[4] = {3, 2, 2, 1};
    ref_random_orthonormal(nv, r, Uq);
    ref_random_orthonormal(nh, r, Vq);
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double acc = 0;
            for (size_t a = 0; a < r; a++)
                acc += sv[a] * Uq[i * r + a] * Vq[j * r + a];
            W[i * nh + j] = acc;
        }
    for (size_t i = 0; i < M * nv; i++)
        data[i] = r_unif() < 0.5 ? 1.0 : -1.0;
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    rbm_gradient *g = exact_gradient(ctx, m, M, data, dW);
    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    double G[16], Ov[16], Oh[16];
    RBM_OKAY(ctx, rbm_svd_project_gradient(s, g, 4, 1e-9, G, 16, Ov, 16, Oh, 16));
    for (size_t p = 0; p < 4; p++)
        for (size_t q = 0; q < 4; q++) {
            int degenerate = p != q && (p == 1 || p == 2) && (q == 1 || q == 2);
            if (degenerate) {
                assert_true(isnan(Ov[p * 4 + q]) && isnan(Oh[p * 4 + q]));
            } else {
                assert_true(isfinite(Ov[p * 4 + q]) && isfinite(Oh[p * 4 + q]));
            }
        }
    /* a large tolerance makes every off-diagonal pair degenerate */
    RBM_OKAY(ctx, rbm_svd_project_gradient(s, g, 4, 1.0, G, 16, Ov, 16, Oh, 16));
    for (size_t p = 0; p < 4; p++)
        for (size_t q = 0; q < 4; q++)
            assert_true(p == q ? Ov[p * 4 + q] == 0.0 : isnan(Ov[p * 4 + q]));

    /* errors */
    expect_error(ctx, rbm_svd_project_gradient(s, g, 4, -1.0, G, 16, Ov, 16, Oh, 16),
                 RBM_ERR_INVALID_ARGUMENT, "negative tol");
    expect_error(ctx, rbm_svd_project_gradient(s, g, 4, NAN, G, 16, Ov, 16, Oh, 16),
                 RBM_ERR_INVALID_ARGUMENT, "NaN tol");
    expect_error(ctx, rbm_svd_project_gradient(s, g, 0, 1e-9, G, 0, NULL, 0, NULL, 0),
                 RBM_ERR_INVALID_ARGUMENT, "n_modes 0");
    expect_error(ctx, rbm_svd_project_gradient(s, g, 5, 1e-9, G, 25, NULL, 0, NULL, 0),
                 RBM_ERR_INVALID_ARGUMENT, "n_modes > r");
    expect_error(ctx, rbm_svd_project_gradient(s, g, 4, 1e-9, G, 15, NULL, 0, NULL, 0),
                 RBM_ERR_SHAPE, "G length");
    expect_error(ctx, rbm_svd_project_gradient(s, g, 4, 1e-9, G, 16, Ov, 9, NULL, 0),
                 RBM_ERR_SHAPE, "omega_v length");
    expect_error(ctx, rbm_svd_project_gradient(s, g, 4, 1e-9, G, 16, NULL, 0, Oh, 17),
                 RBM_ERR_SHAPE, "omega_h length");
    expect_error(ctx, rbm_svd_project_gradient(s, g, 4, 1e-9, NULL, 16, NULL, 0, NULL, 0),
                 RBM_ERR_NULL, "NULL G");
    expect_error(ctx, rbm_svd_project_gradient(s, NULL, 4, 1e-9, G, 16, NULL, 0, NULL, 0),
                 RBM_ERR_NULL, "NULL gradient");
    assert_int_equal(rbm_svd_project_gradient(NULL, g, 4, 1e-9, G, 16, NULL, 0, NULL, 0),
                     RBM_ERR_NULL);
    {
        rbm_machine *other = machine_with(ctx, 4, 6, NULL);
        rbm_gradient *g2 = NULL;
        RBM_OKAY(ctx, rbm_gradient_new(other, &g2));
        expect_error(ctx, rbm_svd_project_gradient(s, g2, 4, 1e-9, G, 16, NULL, 0, NULL, 0),
                     RBM_ERR_SHAPE, "gradient of another shape");
        rbm_gradient_free(g2);
        rbm_machine_free(other);
    }
    rbm_svd_free(s);
    rbm_gradient_free(g);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* §9 item 8: linear regime, Ising N_v = 8, N_h = 4, W = 1e-3 N(0,1), zero
 * biases, +-1 data: G_aa = w_a (<s_a^2>_data - 1) to 1e-3 relative. */
static void test_linear_regime_item8(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 8, nh = 4, r = 4, M = 500;
    r_seed(81);
    double W[32], dW[32];
    for (size_t i = 0; i < nv * nh; i++)
        W[i] = 1e-3 * r_norm();
    /* correlated +-1 data: three patterns, each spin flipped with prob 0.15,
     * and one anti-aligned pair of units */
    double pat[3][8];
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < nv; i++)
            pat[k][i] = r_unif() < 0.5 ? 1.0 : -1.0;
    double *data = dalloc(M * nv);
    for (size_t mu = 0; mu < M; mu++) {
        int k = (int)(r_u64() % 3);
        for (size_t i = 0; i < nv; i++)
            data[mu * nv + i] = pat[k][i] * (r_unif() < 0.15 ? -1.0 : 1.0);
    }
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    rbm_gradient *g = exact_gradient(ctx, m, M, data, dW);

    /* the exact gradient is (C_data - I) W to a relative 1e-4 */
    double C[64];
    for (size_t i = 0; i < nv; i++)
        for (size_t k = 0; k < nv; k++) {
            double acc = 0;
            for (size_t mu = 0; mu < M; mu++)
                acc += data[mu * nv + i] * data[mu * nv + k];
            C[i * nv + k] = acc / (double)M - (i == k ? 1.0 : 0.0);
        }
    double lin[32];
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double acc = 0;
            for (size_t k = 0; k < nv; k++)
                acc += C[i * nv + k] * W[k * nh + j];
            lin[i * nh + j] = acc;
        }
    double ls = max_abs(lin, 32);
    for (size_t i = 0; i < 32; i++)
        rbm_assert_close(dW[i], lin[i], 0, 1e-4 * ls, "exact gradient vs (C - I) W");

    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    dec d = get_dec(ctx, s, nv, nh);
    double G[16], Ov[16], Oh[16];
    RBM_OKAY(ctx, rbm_svd_project_gradient(s, g, r, 1e-6, G, 16, Ov, 16, Oh, 16));
    for (size_t a = 0; a < r; a++) {
        double s2 = 0;
        for (size_t mu = 0; mu < M; mu++) {
            double sa = 0;
            for (size_t i = 0; i < nv; i++)
                sa += d.U[i * r + a] * data[mu * nv + i];
            s2 += sa * sa;
        }
        s2 /= (double)M;
        double pred = d.w[a] * (s2 - 1.0);
        /* the prediction must not be accidentally small for the check to
         * mean anything */
        assert_true(fabs(s2 - 1.0) > 0.05);
        char what[96];
        print_message("# item 8: mode %zu: G_aa %.6e, w_a(<s_a^2> - 1) %.6e (rel %.1e)\n", a,
                      G[a * 4 + a], pred, fabs(G[a * 4 + a] / pred - 1));
        snprintf(what, sizeof what, "G_%zu%zu vs w_a(<s_a^2> - 1) (<s_a^2> = %.3f)", a, a, s2);
        rbm_assert_close(G[a * 4 + a], pred, 1e-3, 0, what);
    }
    dec_free(&d);
    rbm_svd_free(s);
    rbm_gradient_free(g);
    rbm_machine_free(m);
    free(data);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* Marchenko-Pastur bulk and BBP outliers (§5.1, §9 items 12, 13)          */

/* W = sum_k w_k u^k v^kT + R, R_ij ~ N(0, sigma^2 / sqrt(nv nh)), with the
 * given u^k (Uin, nv x K) or random ones; fresh random v^k. The planted u^k
 * into Uout (nv x K) when not NULL. */
static double *spiked_with(size_t nv, size_t nh, double sigma, const double *w, size_t K,
                           const double *Uin, double *Uout)
{
    double *W = dalloc(nv * nh);
    double sd = sigma / sqrt(sqrt((double)nv * (double)nh));
    for (size_t i = 0; i < nv * nh; i++)
        W[i] = sd * r_norm();
    if (K) {
        double *U = dalloc(nv * K), *V = dalloc(nh * K);
        if (Uin)
            memcpy(U, Uin, nv * K * sizeof *U);
        else
            ref_random_orthonormal(nv, K, U);
        ref_random_orthonormal(nh, K, V);
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++) {
                double acc = 0;
                for (size_t k = 0; k < K; k++)
                    acc += w[k] * U[i * K + k] * V[j * K + k];
                W[i * nh + j] += acc;
            }
        if (Uout)
            memcpy(Uout, U, nv * K * sizeof *U);
        free(U);
        free(V);
    }
    return W;
}

static double *spiked_u(size_t nv, size_t nh, double sigma, const double *w, size_t K,
                        double *Uout)
{
    return spiked_with(nv, nh, sigma, w, K, NULL, Uout);
}

static double *spiked(size_t nv, size_t nh, double sigma, const double *w, size_t K)
{
    return spiked_u(nv, nh, sigma, w, K, NULL);
}

static double mp_edge(size_t nv, size_t nh, double sigma)
{
    double kappa = (double)nh / (double)nv;
    return sigma * (pow(kappa, 0.25) + pow(kappa, -0.25));
}

static double bbp(size_t nv, size_t nh, double sigma, double w)
{
    double k2 = sqrt((double)nh / (double)nv), s2 = sigma * sigma;
    return sqrt((w * w + s2 * k2) * (w * w + s2 / k2)) / w;
}

static void check_spiked(rbm_context *ctx, size_t nv, size_t nh, const double *w, size_t K,
                         size_t n_above)
{
    const double sigma = 1.0;
    double *W = spiked(nv, nh, sigma, w, K);
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    size_t r = rbm_svd_rank(s);
    double *sv = dalloc(r);
    RBM_OKAY(ctx, rbm_svd_get_singular_values(s, sv, r));
    double edge_true = mp_edge(nv, nh, sigma);
    char what[128];
    for (size_t k = 0; k < n_above; k++) {
        print_message("# %zux%zu: outlier w = %.2f: s = %.4f, BBP %.4f (%+.2f%%)\n", nv, nh, w[k],
                      sv[k], bbp(nv, nh, sigma, w[k]),
                      100 * (sv[k] / bbp(nv, nh, sigma, w[k]) - 1));
        snprintf(what, sizeof what, "%zux%zu BBP outlier w = %g", nv, nh, w[k]);
        rbm_assert_close(sv[k], bbp(nv, nh, sigma, w[k]), 0.03, 0, what);
    }
    /* the next singular value (a sub-threshold mode or pure noise) sticks
     * to the bulk edge: within 3% with modes, within 2% for pure noise */
    snprintf(what, sizeof what, "%zux%zu first value inside the bulk", nv, nh);
    rbm_assert_close(sv[n_above], edge_true, K ? 0.03 : 0.02, 0, what);
    double sg, edge;
    size_t nout;
    RBM_OKAY(ctx, rbm_svd_bulk(s, &sg, &edge, &nout));
    print_message("# %zux%zu: first bulk value %.4f vs edge %.4f (%+.2f%%); estimated sigma "
                  "%.4f (true 1), %zu mode(s) outside\n",
                  nv, nh, sv[n_above], edge_true, 100 * (sv[n_above] / edge_true - 1), sg, nout);
    snprintf(what, sizeof what, "%zux%zu estimated noise sigma", nv, nh);
    rbm_assert_close(sg, sigma, 0.03, 0, what);
    rbm_assert_close(edge, mp_edge(nv, nh, sg), 1e-12, 0, "edge from sigma");
    assert_int_equal(nout, n_above);
    free(sv);
    rbm_svd_free(s);
    rbm_machine_free(m);
    free(W);
}

static void test_bbp_square(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    r_seed(131);
    /* three outliers and one sub-threshold mode (w = 0.6 < sigma) */
    const double w[4] = {3.0, 2.2, 1.6, 0.6};
    check_spiked(ctx, 1000, 1000, w, 4, 3);
    /* pure noise: s_max at the edge 2 sigma within 2% (§9 item 12) */
    check_spiked(ctx, 800, 800, NULL, 0, 0);
    rbm_context_free(ctx);
}

static void test_bbp_rectangular(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    r_seed(132);
    /* kappa = 4 at N_v = 500 */
    const double w[3] = {2.5, 1.7, 0.6};
    check_spiked(ctx, 500, 2000, w, 3, 2);
    check_spiked(ctx, 500, 2000, NULL, 0, 0);
    /* kappa = 1/4: the formulas are symmetric under nv <-> nh */
    const double w2[2] = {2.0, 0.5};
    check_spiked(ctx, 1200, 300, w2, 2, 1);
    rbm_context_free(ctx);
}

/* Pure noise in small matrices stays inside the bulk: the margin grows
 * with the Tracy-Widom fluctuations of the largest singular value (a fixed
 * 2% margin counts a noise mode outside in ~3.5% of 30 x 20 draws). */
static void test_bulk_small_noise(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const size_t shapes[][2] = {{30, 20}, {20, 30}, {12, 12}};
    for (size_t k = 0; k < 3; k++) {
        size_t nv = shapes[k][0], nh = shapes[k][1], outside = 0;
        rbm_machine *m = machine_with(ctx, nv, nh, NULL);
        rbm_svd *s = NULL;
        RBM_OKAY(ctx, rbm_svd_new(m, &s));
        for (uint64_t seed = 1; seed <= 400; seed++) {
            RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.05, seed));
            RBM_OKAY(ctx, rbm_svd_update(s, m));
            size_t nout;
            RBM_OKAY(ctx, rbm_svd_bulk(s, NULL, NULL, &nout));
            outside += nout > 0;
        }
        if (outside > 4)
            fail_msg("%zux%zu pure noise: %zu of 400 draws have modes outside the bulk", nv, nh,
                     outside);
        rbm_svd_free(s);
        rbm_machine_free(m);
    }
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* PCA overlaps and PCA initialisation                                    */

typedef struct {
    size_t M, nv;
    double *x;   /* M x nv */
    double *E;   /* nv x nv: principal directions in columns, descending */
    double *lam; /* nv eigenvalues, descending */
} pca_ref;

/* Data x = sum_k sqrt(l_k) z_k q_k + mean (random orthonormal q), with the
 * reference covariance (loops) and its eigenvectors (Jacobi). */
static pca_ref make_pca_data(size_t M, size_t nv, uint64_t seed)
{
    r_seed(seed);
    pca_ref R = {M, nv, dalloc(M * nv), dalloc(nv * nv), dalloc(nv)};
    double *Q = dalloc(nv * nv), *mean = dalloc(nv), *C = dalloc(nv * nv), *Vt = dalloc(nv * nv);
    ref_random_orthonormal(nv, nv, Q);
    for (size_t i = 0; i < nv; i++)
        mean[i] = r_norm();
    for (size_t mu = 0; mu < M; mu++)
        for (size_t k = 0; k < nv; k++) {
            double amp = sqrt(9.0 / (1.0 + 0.8 * (double)k * (double)k)) * r_norm();
            for (size_t i = 0; i < nv; i++)
                R.x[mu * nv + i] += amp * Q[i * nv + k];
        }
    for (size_t mu = 0; mu < M; mu++)
        for (size_t i = 0; i < nv; i++)
            R.x[mu * nv + i] += mean[i];
    /* covariance: mean-centred, divided by M */
    double *mu_ = dalloc(nv);
    for (size_t mu = 0; mu < M; mu++)
        for (size_t i = 0; i < nv; i++)
            mu_[i] += R.x[mu * nv + i] / (double)M;
    for (size_t i = 0; i < nv; i++)
        for (size_t k = 0; k < nv; k++) {
            double acc = 0;
            for (size_t mu = 0; mu < M; mu++)
                acc += (R.x[mu * nv + i] - mu_[i]) * (R.x[mu * nv + k] - mu_[k]);
            C[i * nv + k] = acc / (double)M;
        }
    ref_svd(nv, nv, C, R.lam, R.E, Vt);
    for (size_t a = 0; a + 1 < 7 && a + 1 < nv; a++)
        assert_true(R.lam[a] - R.lam[a + 1] > 0.01 * R.lam[0]); /* well separated */
    free(Q);
    free(mean);
    free(C);
    free(Vt);
    free(mu_);
    return R;
}

static void pca_free(pca_ref *R)
{
    free(R->x);
    free(R->E);
    free(R->lam);
}

static void test_pca_overlaps(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 12, nh = 6, M = 3000, K = 4;
    pca_ref R = make_pca_data(M, nv, 61);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, R.x, RBM_DTYPE_FLOAT64, M, nv, RBM_COPY, &ds));

    /* W = sum_a c_a e_a f_a^T from the data's own principal directions */
    double W[72] = {0};
    const double c[4] = {5, 4, 3, 2};
    for (size_t i = 0; i < nv; i++)
        for (size_t a = 0; a < K; a++)
            W[i * nh + (a + 2) % nh] += c[a] * R.E[i * nv + a];
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    rbm_svd *s = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    double ov[16], lam[4];
    RBM_OKAY(ctx, rbm_svd_pca_overlaps(s, ds, K, ov, 16, lam, 4));
    for (size_t a = 0; a < K; a++) {
        rbm_assert_close(lam[a], R.lam[a], 1e-10, 0, "covariance eigenvalue");
        for (size_t b = 0; b < K; b++)
            rbm_assert_close(ov[a * K + b], a == b ? 1.0 : 0.0, 0, 1e-9, "PCA overlap");
    }
    RBM_OKAY(ctx, rbm_svd_pca_overlaps(s, ds, K, ov, 16, NULL, 0));

    /* random W: overlaps equal |u^a . e_b| with the reference directions */
    r_seed(62);
    for (size_t i = 0; i < nv * nh; i++)
        W[i] = r_norm();
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
    RBM_OKAY(ctx, rbm_svd_update(s, m));
    dec d = get_dec(ctx, s, nv, nh);
    double ov6[36];
    RBM_OKAY(ctx, rbm_svd_pca_overlaps(s, ds, 6, ov6, 36, NULL, 0));
    for (size_t a = 0; a < 6; a++)
        for (size_t b = 0; b < 6; b++) {
            double acc = 0;
            for (size_t i = 0; i < nv; i++)
                acc += d.U[i * 6 + a] * R.E[i * nv + b];
            rbm_assert_close(ov6[a * 6 + b], fabs(acc), 0, 1e-9, "overlap of a random W");
        }

    /* errors */
    expect_error(ctx, rbm_svd_pca_overlaps(s, ds, 0, ov, 0, NULL, 0), RBM_ERR_INVALID_ARGUMENT,
                 "overlaps: n_modes 0");
    expect_error(ctx, rbm_svd_pca_overlaps(s, ds, 7, ov6, 49, NULL, 0), RBM_ERR_INVALID_ARGUMENT,
                 "overlaps: n_modes > r");
    expect_error(ctx, rbm_svd_pca_overlaps(s, ds, K, ov, 15, NULL, 0), RBM_ERR_SHAPE,
                 "overlaps: out length");
    expect_error(ctx, rbm_svd_pca_overlaps(s, ds, K, ov, 16, lam, 3), RBM_ERR_SHAPE,
                 "overlaps: eigenvalue length");
    expect_error(ctx, rbm_svd_pca_overlaps(s, ds, K, NULL, 16, NULL, 0), RBM_ERR_NULL,
                 "overlaps: NULL out");
    expect_error(ctx, rbm_svd_pca_overlaps(s, NULL, K, ov, 16, NULL, 0), RBM_ERR_NULL,
                 "overlaps: NULL data");
    assert_int_equal(rbm_svd_pca_overlaps(NULL, ds, K, ov, 16, NULL, 0), RBM_ERR_NULL);
    {
        rbm_dataset *wrong = NULL;
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, R.x, RBM_DTYPE_FLOAT64, 10, nv - 1, RBM_COPY,
                                              &wrong));
        expect_error(ctx, rbm_svd_pca_overlaps(s, wrong, K, ov, 16, NULL, 0), RBM_ERR_SHAPE,
                     "overlaps: wrong columns");
        rbm_dataset_free(wrong);
    }
    dec_free(&d);
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    pca_free(&R);
    rbm_context_free(ctx);
}

static void test_init_pca(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 12, nh = 6, M = 3000;
    pca_ref R = make_pca_data(M, nv, 71);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, R.x, RBM_DTYPE_FLOAT64, M, nv, RBM_COPY, &ds));
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 1.0, 3));
    double a0[12], b0[6], a1[12], b1[6], W[72];
    for (size_t i = 0; i < nv; i++)
        a0[i] = 0.1 * (double)i;
    for (size_t j = 0; j < nh; j++)
        b0[j] = -0.2 * (double)j;
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a0, nv));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b0, nh));

    static const size_t nmodes[] = {3, 1, 6, 100};
    for (size_t t = 0; t < 4; t++) {
        size_t K = nmodes[t] < nh ? nmodes[t] : nh;
        RBM_OKAY(ctx, rbm_machine_init_pca(m, ds, nmodes[t], 0.25));
        RBM_OKAY(ctx, rbm_machine_get_weights(m, W, 72));
        for (size_t a = 0; a < nh; a++) {
            if (a < K) {
                /* column a is +-0.25 e_a, with the sign convention */
                double dot = 0;
                for (size_t i = 0; i < nv; i++)
                    dot += W[i * nh + a] * R.E[i * nv + a];
                double sg = dot < 0 ? -1.0 : 1.0;
                for (size_t i = 0; i < nv; i++)
                    rbm_assert_close(W[i * nh + a], sg * 0.25 * R.E[i * nv + a], 0, 1e-10,
                                     "init_pca column = scale e_a");
                if (!sign_convention_ok(W, nv, nh, a))
                    fail_msg("init_pca: column %zu violates the sign convention", a);
            } else {
                for (size_t i = 0; i < nv; i++)
                    assert_true(W[i * nh + a] == 0.0);
            }
        }
        /* biases are untouched */
        RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, a1, nv));
        RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, b1, nh));
        assert_memory_equal(a0, a1, sizeof a0);
        assert_memory_equal(b0, b1, sizeof b0);
        if (K == 1) {
            /* then the SVD is unique: u^1 = +-e_1 */
            rbm_svd *s = NULL;
            RBM_OKAY(ctx, rbm_svd_new(m, &s));
            dec d = get_dec(ctx, s, nv, nh);
            rbm_assert_close(d.w[0], 0.25, 1e-12, 0, "init_pca: w_1 = scale");
            for (size_t i = 0; i < nv; i++)
                rbm_assert_close(fabs(d.U[i * 6]), fabs(R.E[i * nv]), 0, 1e-10,
                                 "init_pca: u^1 = +-e_1");
            double ov[1];
            RBM_OKAY(ctx, rbm_svd_pca_overlaps(s, ds, 1, ov, 1, NULL, 0));
            rbm_assert_close(ov[0], 1.0, 0, 1e-10, "init_pca: overlap 1");
            dec_free(&d);
            rbm_svd_free(s);
        } else {
            /* the SVD's first K left vectors span e_1..e_K */
            rbm_svd *s = NULL;
            RBM_OKAY(ctx, rbm_svd_new(m, &s));
            dec d = get_dec(ctx, s, nv, nh);
            for (size_t a = 0; a < K; a++) {
                double in_span = 0;
                for (size_t b = 0; b < K; b++) {
                    double dot = 0;
                    for (size_t i = 0; i < nv; i++)
                        dot += d.U[i * 6 + a] * R.E[i * nv + b];
                    in_span += dot * dot;
                }
                rbm_assert_close(in_span, 1.0, 0, 1e-10, "init_pca: u^a in span(e_1..e_K)");
            }
            dec_free(&d);
            rbm_svd_free(s);
        }
    }

    /* errors: nothing changes */
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, 72));
    double W2[72];
    expect_error(ctx, rbm_machine_init_pca(m, ds, 0, 0.25), RBM_ERR_INVALID_ARGUMENT,
                 "init_pca: n_modes 0");
    expect_error(ctx, rbm_machine_init_pca(m, ds, 2, NAN), RBM_ERR_INVALID_ARGUMENT,
                 "init_pca: NaN scale");
    expect_error(ctx, rbm_machine_init_pca(m, NULL, 2, 1.0), RBM_ERR_NULL, "init_pca: NULL data");
    assert_int_equal(rbm_machine_init_pca(NULL, ds, 2, 1.0), RBM_ERR_NULL);
    {
        rbm_dataset *wrong = NULL;
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, R.x, RBM_DTYPE_FLOAT64, 10, nv - 1, RBM_COPY,
                                              &wrong));
        expect_error(ctx, rbm_machine_init_pca(m, wrong, 2, 1.0), RBM_ERR_SHAPE,
                     "init_pca: wrong columns");
        rbm_dataset_free(wrong);
    }
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W2, 72));
    assert_memory_equal(W, W2, sizeof W);
    /* a Gauss-Gauss machine refuses a scale that breaks normalisability */
    {
        rbm_machine *gg = NULL;
        RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, &gg));
        RBM_OKAY(ctx, rbm_machine_init_pca(gg, ds, 2, 0.5));
        expect_error(ctx, rbm_machine_init_pca(gg, ds, 2, 1.5), RBM_ERR_NOT_NORMALIZABLE,
                     "init_pca: Gauss-Gauss bound");
        RBM_OKAY(ctx, rbm_machine_get_weights(gg, W2, 72));
        rbm_svd *s = NULL;
        RBM_OKAY(ctx, rbm_svd_new(gg, &s));
        double w[6];
        RBM_OKAY(ctx, rbm_svd_get_singular_values(s, w, 6));
        rbm_assert_close(w[0], 0.5, 1e-12, 0, "Gauss-Gauss unchanged after refusal");
        rbm_svd_free(s);
        rbm_machine_free(gg);
    }
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    pca_free(&R);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* mode tracker                                                           */

/* W(t) = w1(t) u1 v1^T + w2(t) u2 v2^T + w3 u3 v3^T + noise, w1 decreasing
 * and w2 increasing through each other (never equal at a record); w3 = 0.5
 * stays below both. */
static void crossing_weights(size_t nv, size_t nh, const double *U, const double *V, double w1,
                             double w2, double noise, double *W)
{
    const double w[3] = {w1, w2, 0.5};
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double acc = 0;
            for (size_t k = 0; k < 3; k++)
                acc += w[k] * U[i * 3 + k] * V[j * 3 + k];
            W[i * nh + j] = acc + noise * r_norm();
        }
}

static void test_tracker_crossing(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 30, nh = 20, T = 41;
    const double noise = 1e-3;
    r_seed(91);
    double U[90], V[60], W[600];
    ref_random_orthonormal(nv, 3, U);
    ref_random_orthonormal(nh, 3, V);
    rbm_machine *m = machine_with(ctx, nv, nh, NULL);
    rbm_mode_tracker *t1 = NULL, *t2 = NULL, *t3 = NULL;
    RBM_OKAY(ctx, rbm_mode_tracker_new(m, 1, &t1));
    RBM_OKAY(ctx, rbm_mode_tracker_new(m, 2, &t2));
    RBM_OKAY(ctx, rbm_mode_tracker_new(m, 3, &t3));
    assert_int_equal(rbm_mode_tracker_mode_count(t2), 2);
    assert_int_equal(rbm_mode_tracker_record_count(t2), 0);
    double w1s[41], w2s[41], edges[41];
    size_t nouts[41];
    int crossed = 0;
    for (size_t t = 0; t < T; t++) {
        double w1 = 3.0 - 0.05 * (double)t, w2 = 1.05 + 0.05 * (double)t;
        w1s[t] = w1;
        w2s[t] = w2;
        crossed |= w2 > w1;
        crossing_weights(nv, nh, U, V, w1, w2, noise, W);
        RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
        RBM_OKAY(ctx, rbm_mode_tracker_record(t1, 100 * t + 7));
        RBM_OKAY(ctx, rbm_mode_tracker_record(t2, 100 * t + 7));
        RBM_OKAY(ctx, rbm_mode_tracker_record(t3, 100 * t + 7));
        /* the record's bulk is the one of the decomposition of W */
        rbm_svd *s = NULL;
        RBM_OKAY(ctx, rbm_svd_new(m, &s));
        RBM_OKAY(ctx, rbm_svd_bulk(s, NULL, &edges[t], &nouts[t]));
        rbm_svd_free(s);
    }
    assert_true(crossed);
    assert_int_equal(rbm_mode_tracker_record_count(t2), T);
    /* identities are kept: identity 0 is u1 throughout, identity 1 is u2; an
     * index-based tracker would swap them after the crossing */
    for (size_t t = 0; t < T; t++) {
        uint64_t step = 0;
        double w[3], edge = -1;
        size_t nout = 99;
        char what[96];
        RBM_OKAY(ctx, rbm_mode_tracker_get_record(t2, t, &step, w, 2, &edge, &nout));
        assert_int_equal(step, 100 * t + 7);
        snprintf(what, sizeof what, "record %zu: identity 0 follows u1", t);
        rbm_assert_close(w[0], w1s[t], 0, 0.01, what);
        snprintf(what, sizeof what, "record %zu: identity 1 follows u2", t);
        rbm_assert_close(w[1], w2s[t], 0, 0.01, what);
        assert_true(edge == edges[t]);
        assert_int_equal(nout, nouts[t]);
        assert_true(nout >= 3 && edge > 0 && edge < 0.1);
        RBM_OKAY(ctx, rbm_mode_tracker_get_record(t1, t, NULL, w, 1, NULL, NULL));
        snprintf(what, sizeof what, "record %zu: 1 tracked mode follows u1", t);
        rbm_assert_close(w[0], w1s[t], 0, 0.01, what);
        RBM_OKAY(ctx, rbm_mode_tracker_get_record(t3, t, NULL, w, 3, NULL, NULL));
        rbm_assert_close(w[0], w1s[t], 0, 0.01, "3 tracked: identity 0");
        rbm_assert_close(w[1], w2s[t], 0, 0.01, "3 tracked: identity 1");
        rbm_assert_close(w[2], 0.5, 0, 0.01, "3 tracked: identity 2");
    }

    /* CSV output parses back to the same records */
    char path[] = "/tmp/rbm_test_svd_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    RBM_OKAY(ctx, rbm_mode_tracker_write_csv(t2, path));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,edge,n_outside,w0,w1\n");
    size_t rows = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        unsigned long long step = strtoull(p, &end, 10);
        assert_true(end != p && *end == ',');
        p = end + 1;
        double edge = strtod(p, &end);
        assert_true(end != p && *end == ',');
        p = end + 1;
        unsigned long long nout = strtoull(p, &end, 10);
        assert_true(end != p && *end == ',');
        p = end + 1;
        double w0 = strtod(p, &end);
        assert_true(end != p && *end == ',');
        p = end + 1;
        double w1 = strtod(p, &end);
        assert_true(end != p && *end == '\n');
        uint64_t gstep;
        double gw[2], gedge;
        size_t gnout;
        RBM_OKAY(ctx, rbm_mode_tracker_get_record(t2, rows, &gstep, gw, 2, &gedge, &gnout));
        assert_int_equal(step, gstep);
        assert_true(edge == gedge && w0 == gw[0] && w1 == gw[1]);
        assert_int_equal(nout, gnout);
        rows++;
    }
    assert_int_equal(rows, T);
    fclose(f);
    unlink(path);

    /* errors */
    double w[2];
    expect_error(ctx, rbm_mode_tracker_get_record(t2, T, NULL, NULL, 0, NULL, NULL),
                 RBM_ERR_INVALID_ARGUMENT, "get: record out of range");
    expect_error(ctx, rbm_mode_tracker_get_record(t2, 0, NULL, w, 1, NULL, NULL), RBM_ERR_SHAPE,
                 "get: w length");
    RBM_OKAY(ctx, rbm_mode_tracker_get_record(t2, 0, NULL, NULL, 0, NULL, NULL));
    expect_error(ctx, rbm_mode_tracker_write_csv(t2, "/nonexistent-dir/x/spectrum.csv"),
                 RBM_ERR_IO, "write_csv: bad path");
    expect_error(ctx, rbm_mode_tracker_write_csv(t2, NULL), RBM_ERR_NULL, "write_csv: NULL path");
    assert_int_equal(rbm_mode_tracker_write_csv(NULL, path), RBM_ERR_NULL);
    assert_int_equal(rbm_mode_tracker_record(NULL, 0), RBM_ERR_NULL);
    assert_int_equal(rbm_mode_tracker_get_record(NULL, 0, NULL, NULL, 0, NULL, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_mode_tracker_record_count(NULL), 0);
    assert_int_equal(rbm_mode_tracker_mode_count(NULL), 0);
    rbm_mode_tracker *bad = NULL;
    expect_error(ctx, rbm_mode_tracker_new(m, 0, &bad), RBM_ERR_INVALID_ARGUMENT,
                 "tracker: n_modes 0");
    expect_error(ctx, rbm_mode_tracker_new(m, 21, &bad), RBM_ERR_INVALID_ARGUMENT,
                 "tracker: n_modes > r");
    assert_null(bad);
    expect_error(ctx, rbm_mode_tracker_new(m, 2, NULL), RBM_ERR_NULL, "tracker: NULL out");
    assert_int_equal(rbm_mode_tracker_new(NULL, 2, &bad), RBM_ERR_NULL);
    rbm_mode_tracker_free(NULL);

    rbm_mode_tracker_free(t1);
    rbm_mode_tracker_free(t2);
    rbm_mode_tracker_free(t3);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* A tracked identity that falls below an untracked mode is still followed;
 * the mode that takes its index is not mistaken for it. */
static void test_tracker_below_boundary(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 16, nh = 12;
    r_seed(95);
    double U[48], V[36], W[192];
    ref_random_orthonormal(nv, 3, U);
    ref_random_orthonormal(nh, 3, V);
    rbm_machine *m = machine_with(ctx, nv, nh, NULL);
    rbm_mode_tracker *t = NULL;
    RBM_OKAY(ctx, rbm_mode_tracker_new(m, 1, &t));
    /* identity 0 = u1 starts on top, ends below u2 (w2 = 2 fixed) */
    const double w1s[5] = {3.0, 2.5, 1.5, 1.0, 0.8};
    for (size_t k = 0; k < 5; k++) {
        crossing_weights(nv, nh, U, V, w1s[k], 2.0, 1e-4, W);
        RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
        RBM_OKAY(ctx, rbm_mode_tracker_record(t, k));
    }
    for (size_t k = 0; k < 5; k++) {
        double w[1];
        RBM_OKAY(ctx, rbm_mode_tracker_get_record(t, k, NULL, w, 1, NULL, NULL));
        rbm_assert_close(w[0], w1s[k], 0, 1e-3, "identity 0 below an untracked mode");
    }
    rbm_mode_tracker_free(t);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* allocation failures                                                    */

typedef struct {
    long budget; /* allocations left; < 0: unlimited */
    long live;   /* outstanding blocks */
} alloc_state;

static void *counting_alloc(void *user, size_t size)
{
    alloc_state *a = user;
    if (a->budget == 0)
        return NULL;
    if (a->budget > 0)
        a->budget--;
    void *p = malloc(size ? size : 1);
    if (p)
        a->live++;
    return p;
}

static void counting_free(void *user, void *p)
{
    alloc_state *a = user;
    if (p) {
        a->live--;
        free(p);
    }
}

/* Every allocation of the svd functions may fail: the result is then
 * RBM_ERR_NO_MEMORY, nothing leaks, and the objects stay usable. */
static void test_allocation_failures(void **state)
{
    (void)state;
    alloc_state A = {-1, 0};
    rbm_context *ctx = NULL;
    assert_int_equal(rbm_context_new_with_allocator(counting_alloc, counting_free, &A, &ctx),
                     RBM_OK);
    const size_t nv = 9, nh = 6, M = 50;
    r_seed(77);
    double W[54], x[450];
    for (size_t i = 0; i < nv * nh; i++)
        W[i] = r_norm();
    for (size_t i = 0; i < M * nv; i++)
        x[i] = r_norm();
    rbm_machine *m = machine_with(ctx, nv, nh, W);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, M, nv, RBM_COPY, &ds));
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    long base = A.live;
    int failures = 0;
    for (int what = 0; what < 6; what++) {
        for (long budget = 0;; budget++) {
            A.budget = budget;
            rbm_svd *s = NULL;
            rbm_mode_tracker *t = NULL;
            rbm_status st = RBM_OK;
            double out[36], G[36], ov[36];
            switch (what) {
            case 0:
                st = rbm_svd_new(m, &s);
                break;
            case 1:
                st = rbm_mode_tracker_new(m, 3, &t);
                for (int k = 0; k < 40 && st == RBM_OK; k++)
                    st = rbm_mode_tracker_record(t, (uint64_t)k);
                break;
            case 2:
            case 3:
            case 4:
                A.budget = -1;
                RBM_OKAY(ctx, rbm_svd_new(m, &s));
                A.budget = budget;
                if (what == 2)
                    st = rbm_svd_pca_overlaps(s, ds, 6, out, 36, NULL, 0);
                else if (what == 3)
                    st = rbm_svd_project_gradient(s, g, 6, 1e-9, G, 36, ov, 36, NULL, 0);
                else {
                    double proj[300]; /* M x 6 */
                    st = rbm_svd_project_dataset(s, ds, 6, proj, M * 6);
                }
                break;
            default:
                st = rbm_machine_init_pca(m, ds, 3, 0.5);
                break;
            }
            A.budget = -1;
            if (st != RBM_OK && st != RBM_ERR_NO_MEMORY)
                fail_msg("case %d, budget %ld: %s (%s)", what, budget, rbm_status_name(st),
                         rbm_context_last_error(ctx));
            if (st == RBM_OK && what == 1)
                assert_int_equal(rbm_mode_tracker_record_count(t), 40);
            if (st == RBM_ERR_NO_MEMORY && t) {
                /* the tracker stays usable after a failed record */
                size_t n = rbm_mode_tracker_record_count(t);
                RBM_OKAY(ctx, rbm_mode_tracker_record(t, 999));
                assert_int_equal(rbm_mode_tracker_record_count(t), n + 1);
            }
            rbm_mode_tracker_free(t);
            rbm_svd_free(s);
            assert_int_equal(A.live, base);
            if (st == RBM_OK)
                break;
            failures++;
            rbm_context_clear_error(ctx);
        }
    }
    assert_true(failures > 10);
    rbm_gradient_free(g);
    rbm_dataset_free(ds);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    assert_int_equal(A.live, 0);
}

/* ---------------------------------------------------------------------- */
/* the census: significant modes (docs/spectral.md)                        */

/* M rows x = sum_k l_k g_k U_k + noise * eps (U: nv x K columns, g, eps
 * standard normal), with column scales 1 + (i % 4) / 2 on the noise. */
static rbm_dataset *factor_data(rbm_context *ctx, size_t M, size_t nv, const double *U, size_t K,
                                const double *l, double noise)
{
    double *x = dalloc(M * nv);
    for (size_t r = 0; r < M; r++) {
        for (size_t i = 0; i < nv; i++)
            x[r * nv + i] = noise * (1.0 + (double)(i % 4) / 2) * r_norm();
        for (size_t k = 0; k < K; k++) {
            double g = l[k] * r_norm();
            for (size_t i = 0; i < nv; i++)
                x[r * nv + i] += g * U[i * K + k];
        }
    }
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, M, nv, RBM_COPY, &ds));
    free(x);
    return ds;
}

/* Parallel analysis alone: independent columns of unequal variance have no
 * significant component; K planted factors give exactly K. */
static void test_census_parallel_analysis(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t M = 1500, nv = 60, K = 3;
    const double l[3] = {6.0, 5.0, 4.0};
    double *U = dalloc(nv * K), *eig = dalloc(nv), *thr = dalloc(nv);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        r_seed(700 + seed);
        ref_random_orthonormal(nv, K, U);
        rbm_dataset *iid = factor_data(ctx, M, nv, U, 0, l, 1.0);
        rbm_dataset *fac = factor_data(ctx, M, nv, U, K, l, 1.0);
        rbm_census *c0 = NULL, *c1 = NULL;
        RBM_OKAY(ctx, rbm_census_new(iid, 99, seed, &c0));
        RBM_OKAY(ctx, rbm_census_new(fac, 99, seed, &c1));
        RBM_OKAY(ctx, rbm_census_get_eigenvalues(c1, eig, thr, nv));
        print_message("# census seed %llu: iid %zu components, factors %zu; lambda %.3f %.3f "
                      "%.3f %.3f vs null %.3f %.3f %.3f %.3f\n",
                      (unsigned long long)seed, rbm_census_n_components(c0),
                      rbm_census_n_components(c1), eig[0], eig[1], eig[2], eig[3], thr[0],
                      thr[1], thr[2], thr[3]);
        assert_int_equal(rbm_census_n_components(c0), 0);
        assert_int_equal(rbm_census_n_components(c1), K);
        assert_int_equal(rbm_census_rows(c1), M);
        assert_int_equal(rbm_census_cols(c1), nv);
        /* the null keeps the marginals: for independent columns its
         * eigenvalues lie within the range of the column variances
         * (1 .. 2.5^2) widened by the MP spread (1 +- sqrt(nv / M))^2 */
        double spread = 1 + sqrt((double)nv / (double)M);
        RBM_OKAY(ctx, rbm_census_get_eigenvalues(c0, NULL, thr, nv));
        assert_true(thr[0] < 6.25 * spread * spread);
        assert_true(thr[nv - 1] > 1.0 * (2 - spread) * (2 - spread));
        RBM_OKAY(ctx, rbm_census_get_eigenvalues(c1, NULL, thr, nv));
        for (size_t j = 1; j < nv; j++)
            assert_true(eig[j] <= eig[j - 1] && thr[j] <= thr[j - 1] + 1e-12);
        /* deterministic given the seed */
        rbm_census *c2 = NULL;
        RBM_OKAY(ctx, rbm_census_new(fac, 99, seed, &c2));
        double *thr2 = dalloc(nv);
        RBM_OKAY(ctx, rbm_census_get_eigenvalues(c2, NULL, thr2, nv));
        assert_memory_equal(thr, thr2, nv * sizeof *thr);
        free(thr2);
        rbm_census_free(c2);
        rbm_census_free(c0);
        rbm_census_free(c1);
        rbm_dataset_free(iid);
        rbm_dataset_free(fac);
    }
    free(U);
    free(eig);
    free(thr);
    rbm_context_free(ctx);
}

/* Share of a planted left vector in the data subspace that the SVD
 * recovers, for a spike t = s / sigma above the BBP threshold t = 1
 * (Benaych-Georges & Nadakuditi 2012 in the normalisation of svd.h):
 * q(t) = sqrt(kappa) (t^4 - 1) / (t^2 (1 + sqrt(kappa) t^2)); q = 1/2 at
 * t_half^2 = (1 + sqrt(1 + 8 kappa)) / (2 sqrt(kappa)). */
static double census_t_half(double kappa)
{
    return sqrt((1 + sqrt(1 + 8 * kappa)) / (2 * sqrt(kappa)));
}

/* Planted low rank plus noise: at every noise level the census counts the
 * spikes with t above t_half, none below; only levels with a spike within
 * 25% of t_half (finite-size fluctuations of q, sd 0.04-0.1 at 200 x 100)
 * allow either count. */
static void test_census_planted(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 200, nh = 100, K = 3, M = 2000, r = 100;
    const double s_planted[3] = {8.0, 5.0, 3.0}, l[3] = {6.0, 5.0, 4.0};
    const double sigmas[] = {0.5, 1.0, 1.25, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0};
    const double th = census_t_half((double)nh / (double)nv);
    rbm_assert_close(th, 1.5126948, 1e-6, 0, "t_half(1/2)");
    double *U = dalloc(nv * K), *q = dalloc(r);
    uint8_t sig[100];
    size_t decided = 0, extra = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (size_t n = 0; n < sizeof sigmas / sizeof sigmas[0]; n++) {
            r_seed(900 + 100 * seed + n);
            double *W = spiked_u(nv, nh, sigmas[n], s_planted, K, U);
            rbm_dataset *ds = factor_data(ctx, M, nv, U, K, l, 0.5);
            rbm_machine *m = machine_with(ctx, nv, nh, W);
            rbm_svd *sv = NULL;
            rbm_census *c = NULL;
            RBM_OKAY(ctx, rbm_svd_new(m, &sv));
            RBM_OKAY(ctx, rbm_census_new(ds, 19, seed, &c));
            /* a 5% test per rank: now and then one noise rank more */
            size_t kd = rbm_census_n_components(c);
            assert_true(kd == K || kd == K + 1);
            extra += kd > K;
            size_t count = 0, lo = 0, hi = 0;
            RBM_OKAY(ctx, rbm_svd_significance(sv, c, q, r, sig, r, &count));
            for (size_t k = 0; k < K; k++) {
                double t = s_planted[k] / sigmas[n];
                lo += t > 1.25 * th;
                hi += t > th / 1.25;
            }
            print_message("# planted sigma %.2f: t = %.2f %.2f %.2f, q = %.3f %.3f %.3f %.3f, "
                          "%zu significant (expected %zu..%zu)\n",
                          sigmas[n], s_planted[0] / sigmas[n], s_planted[1] / sigmas[n],
                          s_planted[2] / sigmas[n], q[0], q[1], q[2], q[3], count, lo, hi);
            if (count < lo || count > hi)
                fail_msg("sigma %g seed %llu: %zu significant modes, identifiable %zu..%zu",
                         sigmas[n], (unsigned long long)seed, count, lo, hi);
            decided += lo == hi;
            /* the significant modes are the leading ones */
            for (size_t a = 0; a < r; a++)
                assert_int_equal(sig[a], a < count);
            rbm_census_free(c);
            rbm_svd_free(sv);
            rbm_machine_free(m);
            rbm_dataset_free(ds);
            free(W);
        }
    }
    /* most levels are decided (a count of 3, 2, 1 or 0 is forced) */
    assert_true(decided >= 18);
    assert_true(extra <= 4);
    free(U);
    free(q);
    rbm_context_free(ctx);
}

/* The tracker counts significant modes when it has a census; argument
 * errors of the census functions. */
static void test_census_tracker_and_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 40, nh = 20, K = 2;
    const double s_planted[2] = {4.0, 2.5}, l[2] = {2.0, 1.5};
    double *U = dalloc(nv * K);
    r_seed(77);
    double *W = spiked_u(nv, nh, 0.3, s_planted, K, U);
    rbm_dataset *ds = factor_data(ctx, 800, nv, U, K, l, 0.5);
    rbm_machine *m = machine_with(ctx, nv, nh, NULL);
    rbm_mode_tracker *t = NULL;
    rbm_census *c = NULL;
    RBM_OKAY(ctx, rbm_census_new(ds, 19, 5, &c));
    RBM_OKAY(ctx, rbm_mode_tracker_new(m, 5, &t));
    size_t n_sig = 99;
    expect_error(ctx, rbm_mode_tracker_get_significant(t, 0, &n_sig), RBM_ERR_STATE,
                 "no census");
    RBM_OKAY(ctx, rbm_mode_tracker_set_census(t, c));
    RBM_OKAY(ctx, rbm_mode_tracker_record(t, 0)); /* W = 0: nothing */
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
    RBM_OKAY(ctx, rbm_mode_tracker_record(t, 10));
    RBM_OKAY(ctx, rbm_mode_tracker_get_significant(t, 0, &n_sig));
    assert_int_equal(n_sig, 0);
    RBM_OKAY(ctx, rbm_mode_tracker_get_significant(t, 1, &n_sig));
    assert_int_equal(n_sig, 2);
    expect_error(ctx, rbm_mode_tracker_get_significant(t, 2, &n_sig), RBM_ERR_INVALID_ARGUMENT,
                 "record out of range");
    expect_error(ctx, rbm_mode_tracker_set_census(t, c), RBM_ERR_STATE, "census after records");
    /* CSV: the last column */
    char path[] = "/tmp/rbm_census_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    RBM_OKAY(ctx, rbm_mode_tracker_write_csv(t, path));
    FILE *f = fopen(path, "r");
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,edge,n_outside,w0,w1,w2,w3,w4,n_significant\n");
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    size_t len = strlen(line);
    assert_true(len > 3 && strcmp(line + len - 3, ",2\n") == 0);
    fclose(f);
    unlink(path);
    /* errors */
    rbm_census *bad = (rbm_census *)1;
    assert_int_equal(rbm_census_new(NULL, 19, 1, &bad), RBM_ERR_NULL);
    assert_null(bad);
    expect_error(ctx, rbm_census_new(ds, 19, 1, NULL), RBM_ERR_NULL, "census out NULL");
    expect_error(ctx, rbm_census_new(ds, 0, 1, &bad), RBM_ERR_INVALID_ARGUMENT, "n_null 0");
    rbm_dataset *one = NULL;
    RBM_OKAY(ctx, rbm_dataset_slice(ds, 0, 1, &one));
    expect_error(ctx, rbm_census_new(one, 19, 1, &bad), RBM_ERR_SHAPE, "one row");
    rbm_dataset_free(one);
    rbm_svd *sv = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m, &sv));
    double q[20], eig[40];
    uint8_t flags[20];
    expect_error(ctx, rbm_svd_significance(sv, NULL, q, 20, flags, 20, NULL), RBM_ERR_NULL,
                 "census NULL");
    expect_error(ctx, rbm_svd_significance(sv, c, q, 19, flags, 20, NULL), RBM_ERR_SHAPE,
                 "overlap length");
    expect_error(ctx, rbm_svd_significance(sv, c, q, 20, flags, 21, NULL), RBM_ERR_SHAPE,
                 "flag length");
    assert_int_equal(rbm_svd_significance(NULL, c, q, 20, flags, 20, NULL), RBM_ERR_NULL);
    expect_error(ctx, rbm_census_get_eigenvalues(c, eig, NULL, 39), RBM_ERR_SHAPE,
                 "eigenvalue length");
    rbm_machine *other = machine_with(ctx, 30, 20, NULL);
    rbm_svd *so = NULL;
    RBM_OKAY(ctx, rbm_svd_new(other, &so));
    expect_error(ctx, rbm_svd_significance(so, c, NULL, 0, NULL, 0, NULL), RBM_ERR_SHAPE,
                 "census of another width");
    rbm_mode_tracker *t2 = NULL;
    RBM_OKAY(ctx, rbm_mode_tracker_new(other, 3, &t2));
    expect_error(ctx, rbm_mode_tracker_set_census(t2, c), RBM_ERR_SHAPE, "tracker width");
    assert_int_equal(rbm_census_n_components(NULL), 0);
    assert_int_equal(rbm_census_rows(NULL), 0);
    assert_int_equal(rbm_census_get_eigenvalues(NULL, eig, NULL, 40), RBM_ERR_NULL);
    rbm_census_free(NULL);
    rbm_mode_tracker_free(t2);
    rbm_svd_free(so);
    rbm_machine_free(other);
    rbm_svd_free(sv);
    rbm_mode_tracker_free(t);
    rbm_census_free(c);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    free(W);
    free(U);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* remaining argument errors                                              */

/* Reproducibility across machines: two machines that share planted visible
 * directions (a near-degenerate pair and two more) but have independent
 * hidden directions and noise, as two training runs on the same data.
 * Reference: plain loops over the left vectors of both decompositions;
 * physics: the planted modes lie in the other's planted span (share near
 * 1, the BBP share q(t) of each side), the noise modes do not (share below
 * n_b / N_v), while the single best overlap of the degenerate pair may be
 * anything from 1/sqrt(2) to 1. */
static void test_mode_overlaps(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 200, nh = 100, K = 4, r = 100;
    const double s_planted[4] = {10.0, 9.9, 8.0, 7.0};
    double *U = dalloc(nv * K), *Ua = dalloc(nv * r), *Ub = dalloc(nv * r);
    double *share = dalloc(r), *best = dalloc(r);
    size_t idx[100];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        r_seed(7000 + seed);
        double *Wa = spiked_u(nv, nh, 1.0, s_planted, K, U);
        double *Wb = spiked_with(nv, nh, 1.0, s_planted, K, U, NULL);
        rbm_machine *ma = machine_with(ctx, nv, nh, Wa), *mb = machine_with(ctx, nv, nh, Wb);
        rbm_svd *a = NULL, *b = NULL;
        RBM_OKAY(ctx, rbm_svd_new(ma, &a));
        RBM_OKAY(ctx, rbm_svd_new(mb, &b));
        RBM_OKAY(ctx, rbm_svd_get_left_vectors(a, Ua, nv * r));
        RBM_OKAY(ctx, rbm_svd_get_left_vectors(b, Ub, nv * r));
        RBM_OKAY(ctx, rbm_svd_mode_overlaps(a, b, K, share, r, best, r, idx, r));
        double noise_max = 0, noise_mean = 0;
        for (size_t al = 0; al < r; al++) {
            double ss = 0, mx = 0;
            size_t arg = 0;
            for (size_t be = 0; be < r; be++) {
                double o = 0;
                for (size_t i = 0; i < nv; i++)
                    o += Ua[i * r + al] * Ub[i * r + be];
                if (be < K)
                    ss += o * o;
                if (fabs(o) > mx) {
                    mx = fabs(o);
                    arg = be;
                }
            }
            rbm_assert_close(share[al], ss, 1e-12, 1e-12, "share vs loops");
            rbm_assert_close(best[al], mx, 1e-12, 1e-12, "best vs loops");
            assert_int_equal(idx[al], arg);
            if (al < K) {
                /* t = s / sigma >= 7 at kappa 1/2: q(t) >= 0.95 per side */
                if (share[al] < 0.85)
                    fail_msg("seed %llu: planted mode %zu has share %.3f in the other's span",
                             (unsigned long long)seed, al, share[al]);
            } else {
                noise_max = share[al] > noise_max ? share[al] : noise_max;
                noise_mean += share[al] / (double)(r - K);
            }
        }
        print_message("# reproducibility seed %llu: planted share %.3f %.3f %.3f %.3f, best %.3f "
                      "%.3f %.3f %.3f; noise share mean %.4f max %.4f\n",
                      (unsigned long long)seed, share[0], share[1], share[2], share[3], best[0],
                      best[1], best[2], best[3], noise_mean, noise_max);
        /* a random direction would have n_b / N_v = 0.02; a noise mode of a is
         * also orthogonal to a's planted modes, which nearly span b's */
        assert_true(noise_mean < 0.01);
        assert_true(noise_max < 0.05);
        /* the isolated planted modes are matched one to one */
        assert_true(best[2] > 0.9 && idx[2] == 2);
        assert_true(best[3] > 0.9 && idx[3] == 3);
        /* errors leave the outputs untouched */
        double keep = share[0];
        expect_error(ctx, rbm_svd_mode_overlaps(a, b, 0, share, r, NULL, 0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT, "n_b 0");
        expect_error(ctx, rbm_svd_mode_overlaps(a, b, r + 1, share, r, NULL, 0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT, "n_b beyond the rank");
        expect_error(ctx, rbm_svd_mode_overlaps(a, b, K, share, r - 1, NULL, 0, NULL, 0),
                     RBM_ERR_SHAPE, "short share");
        expect_error(ctx, rbm_svd_mode_overlaps(a, NULL, K, share, r, NULL, 0, NULL, 0),
                     RBM_ERR_NULL, "NULL b");
        assert_int_equal(rbm_svd_mode_overlaps(NULL, b, K, share, r, NULL, 0, NULL, 0),
                         RBM_ERR_NULL);
        assert_true(share[0] == keep);
        rbm_svd_free(a);
        rbm_svd_free(b);
        rbm_machine_free(ma);
        rbm_machine_free(mb);
        free(Wa);
        free(Wb);
    }
    /* different visible sizes */
    rbm_machine *m1 = machine_with(ctx, 30, 10, NULL), *m2 = machine_with(ctx, 31, 10, NULL);
    rbm_svd *s1 = NULL, *s2 = NULL;
    RBM_OKAY(ctx, rbm_svd_new(m1, &s1));
    RBM_OKAY(ctx, rbm_svd_new(m2, &s2));
    expect_error(ctx, rbm_svd_mode_overlaps(s1, s2, 1, NULL, 0, NULL, 0, NULL, 0), RBM_ERR_SHAPE,
                 "different N_v");
    rbm_svd_free(s1);
    rbm_svd_free(s2);
    rbm_machine_free(m1);
    rbm_machine_free(m2);
    free(U);
    free(Ua);
    free(Ub);
    free(share);
    free(best);
    rbm_context_free(ctx);
}

static void test_bad_input(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = machine_with(ctx, 5, 3, NULL);
    rbm_svd *s = NULL;
    assert_int_equal(rbm_svd_new(NULL, &s), RBM_ERR_NULL);
    expect_error(ctx, rbm_svd_new(m, NULL), RBM_ERR_NULL, "svd_new: NULL out");
    RBM_OKAY(ctx, rbm_svd_new(m, &s));
    assert_int_equal(rbm_svd_rank(s), 3);
    assert_int_equal(rbm_svd_rank(NULL), 0);
    double buf[16];
    expect_error(ctx, rbm_svd_get_singular_values(s, buf, 2), RBM_ERR_SHAPE, "w length");
    expect_error(ctx, rbm_svd_get_singular_values(s, NULL, 3), RBM_ERR_NULL, "w NULL");
    expect_error(ctx, rbm_svd_get_left_vectors(s, buf, 14), RBM_ERR_SHAPE, "U length");
    expect_error(ctx, rbm_svd_get_left_vectors(s, NULL, 15), RBM_ERR_NULL, "U NULL");
    expect_error(ctx, rbm_svd_get_right_vectors(s, buf, 10), RBM_ERR_SHAPE, "V length");
    expect_error(ctx, rbm_svd_get_right_vectors(s, NULL, 9), RBM_ERR_NULL, "V NULL");
    assert_int_equal(rbm_svd_get_singular_values(NULL, buf, 3), RBM_ERR_NULL);
    assert_int_equal(rbm_svd_get_left_vectors(NULL, buf, 15), RBM_ERR_NULL);
    assert_int_equal(rbm_svd_get_right_vectors(NULL, buf, 9), RBM_ERR_NULL);
    assert_int_equal(rbm_svd_update(NULL, m), RBM_ERR_NULL);
    assert_int_equal(rbm_svd_bulk(NULL, NULL, NULL, NULL), RBM_ERR_NULL);
    rbm_svd_free(NULL);
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decomposition),
        cmocka_unit_test(test_sign_convention_tie),
        cmocka_unit_test(test_update_and_zero),
        cmocka_unit_test(test_projections),
        cmocka_unit_test(test_gradient_finite_differences),
        cmocka_unit_test(test_gradient_degenerate),
        cmocka_unit_test(test_linear_regime_item8),
        cmocka_unit_test(test_bbp_square),
        cmocka_unit_test(test_bbp_rectangular),
        cmocka_unit_test(test_bulk_small_noise),
        cmocka_unit_test(test_pca_overlaps),
        cmocka_unit_test(test_init_pca),
        cmocka_unit_test(test_tracker_crossing),
        cmocka_unit_test(test_tracker_below_boundary),
        cmocka_unit_test(test_census_parallel_analysis),
        cmocka_unit_test(test_census_planted),
        cmocka_unit_test(test_census_tracker_and_errors),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_mode_overlaps),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
