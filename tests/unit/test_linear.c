/* Tests of the Gauss-Gauss (linear) RBM (linear.h) and of the EXACT
 * estimator's Gauss-Gauss closed form: docs/theory.md §9 items 1, 2 and 4, the
 * gradient against the EXACT estimator and against finite differences of the
 * exact Gaussian log-likelihood, the model covariance against the SVD form of
 * §1.5, stochastic training against the closed-form fixed points, and bad
 * input.
 *
 * References are independent of librbm's arithmetic: the test has its own
 * Jacobi eigensolver, one-sided Jacobi SVD, Cholesky factorisation and a
 * plain Euler integrator, written from docs/theory.md §1.5 and §3. */
#include "testutil.h"

#include "model/machine.h" /* white-box: a machine outside the normalisable region */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic random numbers (splitmix64, Box-Muller: t_normal, t_unif,
 * seeded through t_sm_state) from the independent reference. */
#include "reference.h"

static double *dalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    assert_non_null(p);
    return p;
}

/* ---------------------------------------------------------------------------
 * Small dense linear algebra (row-major), written for the tests
 * ------------------------------------------------------------------------- */

/* C (n x m) = A (n x k) B (k x m), with optional transposes given by the
 * strides: A[i,l] = A[i*ar + l*ac]. */
static void mm(size_t n, size_t k, size_t m, const double *A, size_t ar, size_t ac,
               const double *B, size_t br, size_t bc, double *C)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double s = 0;
            for (size_t l = 0; l < k; l++)
                s += A[i * ar + l * ac] * B[l * br + j * bc];
            C[i * m + j] = s;
        }
}

/* Cyclic Jacobi eigen-decomposition of the symmetric n x n matrix S:
 * eigenvalues descending in ev, eigenvectors in the columns of V. */
static void jacobi_eig(size_t n, const double *S, double *ev, double *V)
{
    double *A = dalloc(n * n);
    memcpy(A, S, n * n * sizeof(double));
    for (size_t i = 0; i < n * n; i++)
        V[i] = 0;
    for (size_t i = 0; i < n; i++)
        V[i * n + i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, tot = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                tot += A[i * n + j] * A[i * n + j];
                if (i != j)
                    off += A[i * n + j] * A[i * n + j];
            }
        if (off <= 1e-32 * tot)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0)
                    continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                ref_rotate(A + p, A + q, n, n, c, s); /* columns p, q */
                ref_rotate(A + p * n, A + q * n, n, 1, c, s); /* rows p, q */
                ref_rotate(V + p, V + q, n, n, c, s);
            }
    }
    for (size_t i = 0; i < n; i++)
        ev[i] = A[i * n + i];
    for (size_t i = 0; i < n; i++) { /* selection sort, descending */
        size_t b = i;
        for (size_t j = i + 1; j < n; j++)
            if (ev[j] > ev[b])
                b = j;
        if (b != i) {
            double t = ev[i];
            ev[i] = ev[b];
            ev[b] = t;
            for (size_t k = 0; k < n; k++) {
                t = V[k * n + i];
                V[k * n + i] = V[k * n + b];
                V[k * n + b] = t;
            }
        }
    }
    free(A);
}

/* One-sided Jacobi SVD of W (nv x nh, nv >= nh): w descending (nh values),
 * U (nv x nh) and V (nh x nh) with singular vectors in columns, W v = w u.
 * High relative accuracy for small singular values. */
static void jacobi_svd(size_t nv, size_t nh, const double *W, double *w, double *U, double *V)
{
    assert_true(nv >= nh);
    memcpy(U, W, nv * nh * sizeof(double));
    for (size_t i = 0; i < nh * nh; i++)
        V[i] = 0;
    for (size_t i = 0; i < nh; i++)
        V[i * nh + i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        int rotated = 0;
        for (size_t p = 0; p < nh; p++)
            for (size_t q = p + 1; q < nh; q++) {
                double al = 0, be = 0, ga = 0;
                for (size_t i = 0; i < nv; i++) {
                    al += U[i * nh + p] * U[i * nh + p];
                    be += U[i * nh + q] * U[i * nh + q];
                    ga += U[i * nh + p] * U[i * nh + q];
                }
                if (fabs(ga) <= 1e-17 * sqrt(al * be) || ga == 0)
                    continue;
                rotated = 1;
                double zeta = (be - al) / (2 * ga);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1 + zeta * zeta));
                double c = 1 / sqrt(1 + t * t), s = c * t;
                ref_rotate(U + p, U + q, nv, nh, c, s);
                ref_rotate(V + p, V + q, nh, nh, c, s);
            }
        if (!rotated)
            break;
    }
    for (size_t a = 0; a < nh; a++) {
        double s = 0;
        for (size_t i = 0; i < nv; i++)
            s += U[i * nh + a] * U[i * nh + a];
        w[a] = sqrt(s);
    }
    for (size_t a = 0; a < nh; a++) { /* sort descending */
        size_t b = a;
        for (size_t j = a + 1; j < nh; j++)
            if (w[j] > w[b])
                b = j;
        if (b != a) {
            double t = w[a];
            w[a] = w[b];
            w[b] = t;
            for (size_t i = 0; i < nv; i++) {
                t = U[i * nh + a];
                U[i * nh + a] = U[i * nh + b];
                U[i * nh + b] = t;
            }
            for (size_t i = 0; i < nh; i++) {
                t = V[i * nh + a];
                V[i * nh + a] = V[i * nh + b];
                V[i * nh + b] = t;
            }
        }
    }
    for (size_t a = 0; a < nh; a++)
        if (w[a] > 0)
            for (size_t i = 0; i < nv; i++)
                U[i * nh + a] /= w[a];
}

/* Singular values only (any shape). */
static void svals(size_t nv, size_t nh, const double *W, double *w)
{
    size_t r = nv < nh ? nv : nh, R = nv < nh ? nh : nv;
    double *Wt = dalloc(nv * nh), *U = dalloc(nv * nh), *V = dalloc(r * r);
    if (nv >= nh) {
        memcpy(Wt, W, nv * nh * sizeof(double));
    } else {
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++)
                Wt[j * nv + i] = W[i * nh + j];
    }
    jacobi_svd(R, r, Wt, w, U, V);
    free(Wt);
    free(U);
    free(V);
}

/* Cholesky A = L L^T (n x n); false when not positive definite. */
static int cholesky(size_t n, const double *A, double *L)
{
    memset(L, 0, n * n * sizeof(double));
    for (size_t j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= L[j * n + k] * L[j * n + k];
        if (!(d > 0))
            return 0;
        L[j * n + j] = sqrt(d);
        for (size_t i = j + 1; i < n; i++) {
            double s = A[i * n + j];
            for (size_t k = 0; k < j; k++)
                s -= L[i * n + k] * L[j * n + k];
            L[i * n + j] = s / L[j * n + j];
        }
    }
    return 1;
}

/* Inverse of the SPD matrix A (n x n) by Cholesky; also log det A. */
static int spd_inverse(size_t n, const double *A, double *Ainv, double *logdet)
{
    double *L = dalloc(n * n), *x = dalloc(n);
    if (!cholesky(n, A, L)) {
        free(L);
        free(x);
        return 0;
    }
    double ld = 0;
    for (size_t i = 0; i < n; i++)
        ld += 2 * log(L[i * n + i]);
    for (size_t c = 0; c < n; c++) {
        for (size_t i = 0; i < n; i++) { /* L y = e_c */
            double s = i == c ? 1.0 : 0.0;
            for (size_t k = 0; k < i; k++)
                s -= L[i * n + k] * x[k];
            x[i] = s / L[i * n + i];
        }
        for (size_t i = n; i-- > 0;) { /* L^T z = y */
            double s = x[i];
            for (size_t k = i + 1; k < n; k++)
                s -= L[k * n + i] * x[k];
            x[i] = s / L[i * n + i];
        }
        for (size_t i = 0; i < n; i++)
            Ainv[i * n + c] = x[i];
    }
    if (logdet)
        *logdet = ld;
    free(L);
    free(x);
    return 1;
}

/* Random orthonormal n x n matrix (columns), Gram-Schmidt applied twice. */
static void random_orthonormal(size_t n, double *Q)
{
    for (size_t i = 0; i < n * n; i++)
        Q[i] = t_normal();
    for (size_t c = 0; c < n; c++)
        for (int pass = 0; pass < 2; pass++) {
            for (size_t p = 0; p < c; p++) {
                double d = 0;
                for (size_t i = 0; i < n; i++)
                    d += Q[i * n + c] * Q[i * n + p];
                for (size_t i = 0; i < n; i++)
                    Q[i * n + c] -= d * Q[i * n + p];
            }
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += Q[i * n + c] * Q[i * n + c];
            s = sqrt(s);
            for (size_t i = 0; i < n; i++)
                Q[i * n + c] /= s;
        }
}

/* C = Q diag(lam) Q^T */
static void covariance_from(size_t n, const double *Q, const double *lam, double *C)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++)
                s += Q[i * n + k] * lam[k] * Q[j * n + k];
            C[i * n + j] = s;
        }
    for (size_t i = 0; i < n; i++) /* exactly symmetric */
        for (size_t j = 0; j < i; j++)
            C[i * n + j] = C[j * n + i];
}

/* Reference model covariance (sigma_v^{-2} I - sigma_h^2 W W^T)^{-1}. */
static int ref_model_cov(size_t nv, size_t nh, double sv2, double sh2, const double *W,
                         double *Cm)
{
    double *M = dalloc(nv * nv);
    mm(nv, nh, nv, W, nh, 1, W, 1, nh, M);
    for (size_t i = 0; i < nv * nv; i++)
        M[i] *= -sh2;
    for (size_t i = 0; i < nv; i++)
        M[i * nv + i] += 1.0 / sv2;
    int ok = spd_inverse(nv, M, Cm, NULL);
    free(M);
    return ok;
}

/* Reference flow dW = sh2 (C - C_model) W. */
static void ref_flow(size_t nv, size_t nh, double sv2, double sh2, const double *C,
                     const double *W, double *dW)
{
    double *Cm = dalloc(nv * nv), *D = dalloc(nv * nv);
    assert_true(ref_model_cov(nv, nh, sv2, sh2, W, Cm));
    for (size_t i = 0; i < nv * nv; i++)
        D[i] = sh2 * (C[i] - Cm[i]);
    mm(nv, nv, nh, D, nv, 1, W, nh, 1, dW);
    free(Cm);
    free(D);
}

/* Mean exact log-likelihood of B rows X (B x nv) under a Gauss-Gauss
 * machine, from F(v) and the closed-form log Z of the joint Gaussian:
 *   F(v) = |v|^2/(2 sv2) - a.v - sum_j [sh2 (b + W^T v)_j^2 / 2 + log(2 pi sh2)/2]
 *   log Z = (n/2) log 2 pi - (1/2) log det P + (1/2) (a;b)^T P^{-1} (a;b). */
static double ref_loglik(size_t nv, size_t nh, double sv2, double sh2, const double *W,
                         const double *a, const double *b, size_t B, const double *X)
{
    size_t n = nv + nh;
    double *P = dalloc(n * n), *Pi = dalloc(n * n), ld;
    for (size_t i = 0; i < nv; i++) {
        P[i * n + i] = 1 / sv2;
        for (size_t j = 0; j < nh; j++)
            P[i * n + nv + j] = P[(nv + j) * n + i] = -W[i * nh + j];
    }
    for (size_t j = 0; j < nh; j++)
        P[(nv + j) * n + nv + j] = 1 / sh2;
    assert_true(spd_inverse(n, P, Pi, &ld));
    double quad = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            double xi = i < nv ? a[i] : b[i - nv], xk = k < nv ? a[k] : b[k - nv];
            quad += xi * Pi[i * n + k] * xk;
        }
    double logz = 0.5 * (double)n * log(2 * T_PI) - 0.5 * ld + 0.5 * quad;
    double sf = 0;
    for (size_t r = 0; r < B; r++) {
        const double *v = X + r * nv;
        double f = 0;
        for (size_t i = 0; i < nv; i++)
            f += v[i] * v[i] / (2 * sv2) - a[i] * v[i];
        for (size_t j = 0; j < nh; j++) {
            double x = b[j];
            for (size_t i = 0; i < nv; i++)
                x += v[i] * W[i * nh + j];
            f -= 0.5 * sh2 * x * x + 0.5 * log(2 * T_PI * sh2);
        }
        sf += f;
    }
    free(P);
    free(Pi);
    return -sf / (double)B - logz;
}

/* A Gauss-Gauss machine with the given sigmas^2 and weights. */
static rbm_machine *gg_machine(rbm_context *ctx, size_t nv, size_t nh, double sv2, double sh2,
                               const double *W)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, &m));
    RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, sqrt(sv2)));
    RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, sqrt(sh2)));
    if (W)
        RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
    return m;
}

/* The docs/theory.md §9 item 1 setting. */
#define I1_NV 12
#define I1_NH 5
static const double I1_LAMBDA[I1_NV] = {6, 4, 3, 2, 1.5, 1.2, 0.9, 0.8, 0.7, 0.5, 0.4, 0.3};
static const double I1_WSTAR[I1_NH] = {1.020621, 0.968246, 0.912871, 0.790569, 0.645497};
#define I1_SV2 1.0
#define I1_SH2 0.8

typedef struct item1 {
    double Q[I1_NV * I1_NV], C[I1_NV * I1_NV], W0[I1_NV * I1_NH];
} item1;

static void item1_setup(item1 *s, uint64_t seed)
{
    t_sm_state = seed;
    random_orthonormal(I1_NV, s->Q);
    covariance_from(I1_NV, s->Q, I1_LAMBDA, s->C);
    for (size_t i = 0; i < I1_NV * I1_NH; i++)
        s->W0[i] = 0.01 * t_normal();
}

/* ---------------------------------------------------------------------------
 * Fixed points
 * ------------------------------------------------------------------------- */
static void test_fixed_points(void **state)
{
    (void)state;
    double w[I1_NV];
    assert_int_equal(rbm_linear_fixed_points(I1_LAMBDA, I1_NV, 1.0, sqrt(0.8), w, I1_NV), RBM_OK);
    for (size_t a = 0; a < I1_NH; a++)
        rbm_assert_close(w[a], I1_WSTAR[a], 0, 1e-6, "w* vs docs/theory.md §9 item 1");
    /* lambda = 1.2 is above threshold too (n_+ = 6 > N_h = 5) */
    rbm_assert_close(w[5], sqrt(0.2 / (0.8 * 1.2)), 1e-14, 0, "w* for lambda = 1.2");
    for (size_t a = 6; a < I1_NV; a++)
        assert_true(w[a] == 0.0); /* below threshold */
    const double at_threshold = 1.0;
    assert_int_equal(rbm_linear_fixed_points(&at_threshold, 1, 1.0, 2.0, w, 1), RBM_OK);
    assert_true(w[0] == 0.0);
    /* any order, other sigmas: w*^2 = 1/(sv2 sh2) - 1/(sh2 lambda) */
    const double lam[] = {0.1, 9.0, 0.5, 0.5000001, 3.0};
    double sv = 0.7, sh = 1.3, w2[5];
    assert_int_equal(rbm_linear_fixed_points(lam, 5, sv, sh, w2, 5), RBM_OK);
    for (size_t a = 0; a < 5; a++) {
        double sv2 = sv * sv, sh2 = sh * sh;
        double want = lam[a] > sv2 ? sqrt(1 / (sv2 * sh2) - 1 / (sh2 * lam[a])) : 0.0;
        rbm_assert_close(w2[a], want, 1e-12, 1e-300, "w* formula");
        assert_true(w2[a] < 1 / (sv * sh));
    }
    /* bad input */
    assert_int_equal(rbm_linear_fixed_points(NULL, 5, sv, sh, w2, 5), RBM_ERR_NULL);
    assert_int_equal(rbm_linear_fixed_points(lam, 5, sv, sh, NULL, 0), RBM_ERR_NULL);
    assert_int_equal(rbm_linear_fixed_points(NULL, 0, sv, sh, NULL, 0), RBM_OK);
    assert_int_equal(rbm_linear_fixed_points(lam, 5, 0.0, sh, w2, 5), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_fixed_points(lam, 5, sv, -1.0, w2, 5), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_fixed_points(lam, 5, NAN, sh, w2, 5), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_fixed_points(lam, 5, sv, INFINITY, w2, 5),
                     RBM_ERR_INVALID_ARGUMENT);
    const double badl[] = {1.0, -0.5}, nanl[] = {NAN, 1.0};
    assert_int_equal(rbm_linear_fixed_points(badl, 2, sv, sh, w2, 2), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_fixed_points(nanl, 2, sv, sh, w2, 2), RBM_ERR_INVALID_ARGUMENT);
    /* w_star_len must be n exactly; a wrong one writes nothing */
    const size_t bad_len[] = {0, 4, 6};
    for (size_t t = 0; t < 3; t++) {
        double w3[6] = {-3, -3, -3, -3, -3, -3};
        assert_int_equal(rbm_linear_fixed_points(lam, 5, sv, sh, w3, bad_len[t]), RBM_ERR_SHAPE);
        for (size_t a = 0; a < 6; a++)
            assert_true(w3[a] == -3);
    }
}

/* ---------------------------------------------------------------------------
 * docs/theory.md §9 item 1: convergence to the fixed point
 * ------------------------------------------------------------------------- */
static int count_calls(void *user, double fraction)
{
    double *last = user;
    assert_true(fraction >= last[0] && fraction <= 1.0);
    last[0] = fraction;
    last[1] += 1;
    return 0;
}

static void test_item1_fixed_point(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    item1 s;
    item1_setup(&s, 11);
    rbm_machine *m = gg_machine(ctx, I1_NV, I1_NH, I1_SV2, I1_SH2, s.W0);
    const size_t n_out = 41;
    const double T = 400.0;
    double times[41], wout[41 * I1_NH], prog[2] = {0, 0};
    RBM_OKAY(ctx, rbm_linear_integrate(m, s.C, I1_NV * I1_NV, T, 1e-10, 1e-12, n_out, times, n_out,
                                       wout, n_out * I1_NH, count_calls, prog));
    assert_true(prog[1] >= 2 && prog[0] == 1.0);
    double W[I1_NV * I1_NH], w[I1_NH], U[I1_NV * I1_NH], V[I1_NH * I1_NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, I1_NV * I1_NH));
    jacobi_svd(I1_NV, I1_NH, W, w, U, V);
    /* recorded outputs: times and singular values (first at t = 0, last at T) */
    double w0[I1_NH];
    svals(I1_NV, I1_NH, s.W0, w0);
    for (size_t k = 0; k < n_out; k++)
        rbm_assert_close(times[k], T * (double)k / (double)(n_out - 1), 1e-15, 0, "output time");
    for (size_t a = 0; a < I1_NH; a++) {
        rbm_assert_close(wout[a], w0[a], 1e-12, 0, "recorded w at t = 0");
        rbm_assert_close(wout[(n_out - 1) * I1_NH + a], w[a], 1e-12, 0, "recorded w at T");
    }
    /* singular values -> the closed form, and equal rbm_linear_fixed_points */
    double ws[I1_NV];
    assert_int_equal(rbm_linear_fixed_points(I1_LAMBDA, I1_NV, 1.0, sqrt(I1_SH2), ws, I1_NV),
                     RBM_OK);
    double max_dw = 0, max_align = 0, max_proj = 0;
    double Cm[I1_NV * I1_NV], Cm_ref[I1_NV * I1_NV];
    RBM_OKAY(ctx, rbm_linear_model_covariance(m, Cm, I1_NV * I1_NV));
    assert_true(ref_model_cov(I1_NV, I1_NH, I1_SV2, I1_SH2, W, Cm_ref));
    for (size_t i = 0; i < I1_NV * I1_NV; i++)
        rbm_assert_close(Cm[i], Cm_ref[i], 1e-12, 1e-12, "model covariance vs reference");
    for (size_t a = 0; a < I1_NH; a++) {
        rbm_assert_close(w[a], I1_WSTAR[a], 0, 1e-6, "w_a(T) vs theory.md value");
        rbm_assert_close(w[a], ws[a], 0, 1e-9, "w_a(T) vs rbm_linear_fixed_points");
        max_dw = fmax(max_dw, fabs(w[a] - ws[a]));
        double d = 0, q = 0;
        for (size_t i = 0; i < I1_NV; i++)
            d += U[i * I1_NH + a] * s.Q[i * I1_NV + a];
        rbm_assert_close(fabs(d), 1.0, 0, 1e-6, "|u^a . e_a|");
        max_align = fmax(max_align, 1 - fabs(d));
        for (size_t i = 0; i < I1_NV; i++)
            for (size_t j = 0; j < I1_NV; j++)
                q += U[i * I1_NH + a] * Cm[i * I1_NV + j] * U[j * I1_NH + a];
        rbm_assert_close(q, I1_LAMBDA[a], 1e-6, 0, "u^aT C_model u^a vs lambda_a");
        max_proj = fmax(max_proj, fabs(q / I1_LAMBDA[a] - 1));
    }
    /* probabilistic PCA: the learned C_model has eigenvalues lambda_1..5 then sigma_v^2 */
    double ev[I1_NV], EV[I1_NV * I1_NV];
    jacobi_eig(I1_NV, Cm, ev, EV);
    for (size_t a = 0; a < I1_NV; a++)
        rbm_assert_close(ev[a], a < I1_NH ? I1_LAMBDA[a] : I1_SV2, 1e-6, 0, "C_model spectrum");
    print_message("# item 1: max |w - w*| = %.2e, max 1-|u.e| = %.2e, max |uCu/lambda - 1| = %.2e\n",
                  max_dw, max_align, max_proj);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The adaptive integrator against plain Euler (dt = 0.01 and 0.005) at
 * t = 15, in the middle of the growth phase. Euler's global error is
 * first order, E(dt) - W(t) = K dt + O(dt^2), so E(dt) - E(dt/2) estimates
 * half of the error of E(dt) and the Richardson value 2 E(dt/2) - E(dt) is
 * second-order accurate: the integrator must match the Richardson value to a
 * small fraction of |E(dt) - E(dt/2)|, and its distance to E(dt) must be
 * about 2 |E(dt) - E(dt/2)|. */
static void euler(const item1 *s, double T, double dt, double *W)
{
    size_t n = I1_NV * I1_NH, steps = (size_t)llround(T / dt);
    double dW[I1_NV * I1_NH];
    memcpy(W, s->W0, n * sizeof(double));
    for (size_t k = 0; k < steps; k++) {
        ref_flow(I1_NV, I1_NH, I1_SV2, I1_SH2, s->C, W, dW);
        for (size_t i = 0; i < n; i++)
            W[i] += dt * dW[i];
    }
}

static double fro(size_t n, const double *a, const double *b, double cb)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - cb * b[i];
        s += d * d;
    }
    return sqrt(s);
}

static void test_item1_euler(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    item1 s;
    item1_setup(&s, 11);
    const size_t n = I1_NV * I1_NH;
    const double T = 15.0;
    rbm_machine *m = gg_machine(ctx, I1_NV, I1_NH, I1_SV2, I1_SH2, s.W0);
    RBM_OKAY(ctx, rbm_linear_integrate(m, s.C, I1_NV * I1_NV, T, 1e-11, 1e-13, 0, NULL, 0, NULL, 0,
                                       NULL, NULL));
    double Wrk[I1_NV * I1_NH], E1[I1_NV * I1_NH], E2[I1_NV * I1_NH], R[I1_NV * I1_NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, Wrk, n));
    euler(&s, T, 0.01, E1);
    euler(&s, T, 0.005, E2);
    for (size_t i = 0; i < n; i++)
        R[i] = 2 * E2[i] - E1[i];
    double d12 = fro(n, E1, E2, 1), drk1 = fro(n, Wrk, E1, 1), drkR = fro(n, Wrk, R, 1);
    double nrm = fro(n, Wrk, Wrk, 0);
    print_message("# Euler check at t = %g: |W| = %.4f, |E(.01)-E(.005)| = %.3e, |RK-E(.01)| = "
                  "%.3e, |RK-Richardson| = %.3e\n",
                  T, nrm, d12, drk1, drkR);
    assert_true(d12 > 1e-6 * nrm); /* the check has teeth: Euler is visibly off */
    assert_true(drk1 > 1.6 * d12 && drk1 < 2.4 * d12);
    assert_true(drkR < 0.1 * d12);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * docs/theory.md §9 item 2: sub-threshold modes decay as exp(-sh2 (sv2 - lambda) t)
 * ------------------------------------------------------------------------- */

/* Least-squares slope of y against x. */
static double slope(size_t n, const double *x, const double *y)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    return sxy / sxx;
}

static void test_item2_decay(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { NV = 6, NH = 4 };
    const double lam[NV] = {3.0, 2.0, 0.7, 0.5, 0.4, 0.3}; /* n_+ = 2 < N_h = 4 */
    const double sv2 = 1.0, sh2 = 0.8;
    double Q[NV * NV], C[NV * NV];
    t_sm_state = 202;
    random_orthonormal(NV, Q);
    covariance_from(NV, Q, lam, C);

    /* (a) W0 = 0.05 e_3 r^T aligned with a sub-threshold eigenvector: one mode,
     * decay rate sh2 (sv2 - lambda_3) up to the relative correction
     * sv2 c w^2/(sv2 - lambda_3) < 0.7%. Rounding puts ~1e-18 into the
     * growing directions e_1, e_2 (rate sh2 (3 - 1) = 1.6), which reach 1e-11
     * by t = 10 and would be visible beyond t ~ 20: fit over [0, 10]. */
    double W[NV * NH], r[NH] = {0.5, -0.5, 0.5, 0.5};
    for (size_t i = 0; i < NV; i++)
        for (size_t j = 0; j < NH; j++)
            W[i * NH + j] = 0.05 * Q[i * NV + 2] * r[j];
    rbm_machine *m = gg_machine(ctx, NV, NH, sv2, sh2, W);
    enum { NOUT = 21 };
    double times[NOUT], wout[NOUT * NH], lw[NOUT];
    RBM_OKAY(ctx, rbm_linear_integrate(m, C, NV * NV, 10.0, 1e-11, 1e-16, NOUT, times, NOUT, wout,
                                       NOUT * NH, NULL, NULL));
    for (size_t k = 0; k < NOUT; k++)
        lw[k] = log(wout[k * NH]);
    double rate = -sh2 * (sv2 - lam[2]);
    double got = slope(NOUT, times, lw);
    print_message("# item 2 aligned: log-slope %.6f, predicted %.6f\n", got, rate);
    rbm_assert_close(got, rate, 0.01, 0, "aligned sub-threshold decay rate");
    for (size_t k = 0; k < NOUT; k++)
        for (size_t a = 1; a < NH; a++)
            assert_true(wout[k * NH + a] < 1e-9); /* stays rank one */
    rbm_machine_free(m);

    /* (b) random small W0: the two top modes grow to their fixed points; the
     * other two singular values decay at the rates of lambda_3 and lambda_4 */
    t_sm_state = 303;
    for (size_t i = 0; i < NV * NH; i++)
        W[i] = 0.01 * t_normal();
    m = gg_machine(ctx, NV, NH, sv2, sh2, W);
    enum { NOUT2 = 61 };
    double t2[NOUT2], w2[NOUT2 * NH];
    RBM_OKAY(ctx, rbm_linear_integrate(m, C, NV * NV, 60.0, 1e-12, 1e-22, NOUT2, t2, NOUT2, w2,
                                       NOUT2 * NH, NULL, NULL));
    double ws[NV];
    assert_int_equal(rbm_linear_fixed_points(lam, NV, 1.0, sqrt(sh2), ws, NV), RBM_OK);
    for (size_t a = 0; a < 2; a++)
        rbm_assert_close(w2[(NOUT2 - 1) * NH + a], ws[a], 0, 1e-9, "top modes at w*");
    /* fit over t in [30, 60] */
    double tt[31], l3[31], l4[31];
    for (size_t k = 0; k < 31; k++) {
        tt[k] = t2[30 + k];
        l3[k] = log(w2[(30 + k) * NH + 2]);
        l4[k] = log(w2[(30 + k) * NH + 3]);
    }
    double s3 = slope(31, tt, l3), s4 = slope(31, tt, l4);
    double p3 = -sh2 * (sv2 - lam[2]), p4 = -sh2 * (sv2 - lam[3]);
    print_message("# item 2 random: slopes %.6f %.6f, predicted %.6f %.6f (w3(60) = %.2e)\n", s3,
                  s4, p3, p4, w2[(NOUT2 - 1) * NH + 2]);
    rbm_assert_close(s3, p3, 0.01, 0, "third mode decay rate");
    rbm_assert_close(s4, p4, 0.01, 0, "fourth mode decay rate");
    /* the library's recorded values agree with the test's own SVD of W(60) */
    double Wend[NV * NH], wend[NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, Wend, NV * NH));
    svals(NV, NH, Wend, wend);
    for (size_t a = 0; a < NH; a++)
        /* LAPACK's error is absolute, ~eps |W|; the Jacobi SVD is relatively accurate */
        rbm_assert_close(w2[(NOUT2 - 1) * NH + a], wend[a], 1e-12, 1e-14, "recorded w vs Jacobi SVD");
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * docs/theory.md §9 item 4: one aligned mode, implicit closed form
 * ------------------------------------------------------------------------- */
static double invariant(double w, double t, double lam, double sv2, double sh2)
{
    double c = sv2 * sh2, A = lam - sv2, x = w * w;
    return log(x) - (sv2 / lam) * log(fabs(A - lam * c * x)) - 2 * sh2 * A * t;
}

/* Integrate an aligned mode (1 x 1 machine, or W = w0 e_1 r^T in a 4 x 3
 * machine with C having e_1 as eigenvector) and return the singular value
 * at NOUT times in [0, T]. */
static void aligned_run(rbm_context *ctx, int embedded, double lam, double sv2, double sh2,
                        double w0, double T, size_t nout, double *times, double *w, double rtol)
{
    size_t nv = embedded ? 4 : 1, nh = embedded ? 3 : 1, r = nh;
    double *C = dalloc(nv * nv), *W = dalloc(nv * nh), *Q = dalloc(nv * nv);
    double *all = dalloc(nout * r);
    if (embedded) {
        const double rest[3] = {0.4, 0.3, 0.2}; /* below sigma_v^2 = 0.5: decaying */
        double l4[4] = {lam, rest[0], rest[1], rest[2]};
        t_sm_state = 404;
        random_orthonormal(nv, Q);
        covariance_from(nv, Q, l4, C);
        const double rv[3] = {0.6, 0.0, -0.8};
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++)
                W[i * nh + j] = w0 * Q[i * nv + 0] * rv[j];
    } else {
        C[0] = lam;
        W[0] = w0;
    }
    rbm_machine *m = gg_machine(ctx, nv, nh, sv2, sh2, W);
    RBM_OKAY(ctx, rbm_linear_integrate(m, C, nv * nv, T, rtol, 1e-20, nout, times, nout, all,
                                       nout * r, NULL, NULL));
    for (size_t k = 0; k < nout; k++) {
        if (!embedded) {
            w[k] = all[k];
            continue;
        }
        /* the aligned mode is the one that is not the other (decaying or
         * growing) ones: it is the only nonzero singular value, W stays rank 1 */
        w[k] = all[k * r];
        assert_true(all[k * r + 1] < 1e-12 * all[k * r]);
    }
    rbm_machine_free(m);
    free(C);
    free(W);
    free(Q);
    free(all);
}

static void test_item4_closed_form(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double sv2 = 0.5, sh2 = 2.0, lam = 1.7, w0 = 1e-3;
    const double c = sv2 * sh2, A = lam - sv2, winf = 0.840168050417;
    enum { NOUT = 201 };
    double times[NOUT], w[NOUT];
    for (int embedded = 0; embedded < 2; embedded++) {
        aligned_run(ctx, embedded, lam, sv2, sh2, w0, 5.0, NOUT, times, w, 1e-13);
        double I0 = invariant(w0, 0, lam, sv2, sh2), maxdev = 0, maxtraj = 0;
        size_t checked = 0;
        for (size_t k = 0; k < NOUT; k++) {
            double d = fabs(A - lam * c * w[k] * w[k]);
            /* The invariant amplifies an error dw by 2 dw/w + 2 (sv2/lambda)
             * lambda c w dw / d; with |dw| <= 1e-12 w (integration at rtol
             * 1e-13), keeping that below 1e-8 needs d >= 2.5e-4 * c w^2. */
            if (d > 2.5e-4 * c * w[k] * w[k]) {
                double dev = fabs(invariant(w[k], times[k], lam, sv2, sh2) - I0);
                maxdev = fmax(maxdev, dev);
                if (dev > 1e-8)
                    fail_msg("invariant drifts by %.3g at t = %g (w = %.15g)", dev, times[k], w[k]);
                checked++;
            }
            double wt;
            assert_int_equal(rbm_linear_mode_trajectory(lam, sqrt(sv2), sqrt(sh2), w0, times[k], &wt),
                             RBM_OK);
            maxtraj = fmax(maxtraj, fabs(wt - w[k]));
            rbm_assert_close(wt, w[k], 0, 1e-8, "closed-form trajectory vs integrator");
        }
        assert_true(checked > NOUT / 2);
        rbm_assert_close(w[NOUT - 1], winf, 0, 1e-11, "w(inf)");
        print_message("# item 4 (%s): invariant drift %.2e over %zu points, |closed form - "
                      "integrator| <= %.2e, w(5) = %.12f\n",
                      embedded ? "4x3 aligned" : "1x1", maxdev, checked, maxtraj, w[NOUT - 1]);
    }
    double wf;
    assert_int_equal(rbm_linear_fixed_points(&lam, 1, sqrt(sv2), sqrt(sh2), &wf, 1), RBM_OK);
    rbm_assert_close(wf, winf, 0, 1e-12, "w(inf) from rbm_linear_fixed_points");
    double wt;
    assert_int_equal(rbm_linear_mode_trajectory(lam, sqrt(sv2), sqrt(sh2), w0, 1e6, &wt), RBM_OK);
    rbm_assert_close(wt, sqrt(A / (lam * c)), 1e-14, 0, "closed form at t = 1e6");
    rbm_assert_close(wt, winf, 0, 5e-13, "closed form at t = 1e6 vs the 12-digit value");
    rbm_context_free(ctx);
}

/* The closed form against the integrator in the other regimes: start above
 * the fixed point, A < 0 (exponential decay), A = 0 (algebraic decay,
 * w^2 ~ 1/(2 sh2 lambda c t)), A tiny. */
static void test_mode_trajectory_regimes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    struct {
        double lam, sv2, sh2, w0, T;
    } cases[] = {
        {1.7, 0.5, 2.0, 0.99, 5.0},       /* above w* = 0.84, below 1/(sv sh) = 1 */
        {0.3, 1.0, 0.8, 0.5, 20.0},       /* A < 0 */
        {1.0, 1.0, 0.8, 0.7, 200.0},      /* A = 0 */
        {1.0 + 1e-9, 1.0, 0.8, 0.7, 50.0}, /* A tiny > 0 */
        {1.0 - 1e-9, 1.0, 0.8, 0.7, 50.0}, /* A tiny < 0 */
        {6.0, 1.0, 0.8, 0.01, 30.0},      /* item 1, top mode */
    };
    enum { NOUT = 11 };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        double times[NOUT], w[NOUT], maxd = 0;
        aligned_run(ctx, 0, cases[ci].lam, cases[ci].sv2, cases[ci].sh2, cases[ci].w0,
                    cases[ci].T, NOUT, times, w, 1e-13);
        for (size_t k = 0; k < NOUT; k++) {
            double wt;
            assert_int_equal(rbm_linear_mode_trajectory(cases[ci].lam, sqrt(cases[ci].sv2),
                                                        sqrt(cases[ci].sh2), cases[ci].w0, times[k],
                                                        &wt),
                             RBM_OK);
            maxd = fmax(maxd, fabs(wt / w[k] - 1));
            rbm_assert_close(wt, w[k], 1e-9, 0, "closed form vs integrator");
        }
        print_message("# trajectory case %zu: max relative difference %.2e\n", ci, maxd);
    }
    /* A = 0: the algebraic law w^2 (2 sh2 lambda c t) -> 1 as t -> infinity
     * (corrections of relative order log(t)/t) */
    double wt, sv2 = 1.0, sh2 = 0.8, t = 1e9;
    assert_int_equal(rbm_linear_mode_trajectory(1.0, 1.0, sqrt(sh2), 0.7, t, &wt), RBM_OK);
    rbm_assert_close(wt * wt * 2 * sh2 * 1.0 * sv2 * sh2 * t, 1.0, 1e-6, 0, "algebraic decay");
    /* A < 0, long times: w ~ K exp(-sh2 |A| t); ratio of two times */
    double wa, wb;
    assert_int_equal(rbm_linear_mode_trajectory(0.3, 1.0, sqrt(sh2), 0.5, 100.0, &wa), RBM_OK);
    assert_int_equal(rbm_linear_mode_trajectory(0.3, 1.0, sqrt(sh2), 0.5, 200.0, &wb), RBM_OK);
    rbm_assert_close(log(wb / wa) / 100.0, -sh2 * 0.7, 1e-9, 0, "exponential decay rate");
    /* tiny w0 (w0^2 underflows): the early-time law w = w0 exp(sh2 A t) is
     * then exact to double precision */
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1.0, 1.0, 1e-200, 10.0, &wt), RBM_OK);
    rbm_assert_close(wt, 1e-200 * exp(0.7 * 10.0), 1e-13, 0, "growth from w0 = 1e-200");
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1.0, 1.0, 1e-200, 2000.0, &wt), RBM_OK);
    rbm_assert_close(wt, sqrt(0.7 / 1.7), 1e-13, 0, "w0 = 1e-200 reaches w*");
    /* A < 0 at huge t: w underflows to 0 */
    assert_int_equal(rbm_linear_mode_trajectory(0.3, 1.0, 1.0, 0.5, 1e300, &wt), RBM_OK);
    assert_true(wt == 0.0);
    /* t = 0 returns w0; w0 at the fixed point stays */
    assert_int_equal(rbm_linear_mode_trajectory(1.7, sqrt(0.5), sqrt(2.0), 0.3, 0.0, &wt), RBM_OK);
    assert_true(wt == 0.3);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, sqrt(0.5), sqrt(2.0), 0.840168050417, 7.0,
                                                &wt),
                     RBM_OK);
    rbm_assert_close(wt, 0.840168050417, 1e-12, 0, "fixed point stays");
    /* bad input */
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1, 1, 0.5, 1, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_linear_mode_trajectory(0.0, 1, 1, 0.5, 1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(-1, 1, 1, 0.5, 1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 0, 1, 0.5, 1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1, NAN, 0.5, 1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1, 1, 0.0, 1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1, 1, -0.2, 1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1, 1, 0.5, -1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1, 1, 0.5, INFINITY, &wt),
                     RBM_ERR_INVALID_ARGUMENT);
    /* w0 >= 1/(sigma_v sigma_h): not normalisable */
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 1, 1, 1.0, 1, &wt), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_linear_mode_trajectory(1.7, 0.5, 2.0, 1.01, 1, &wt),
                     RBM_ERR_INVALID_ARGUMENT);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Gradient: against the EXACT estimator and finite differences
 * ------------------------------------------------------------------------- */

/* 2 N_v rows +-sqrt(N_v lambda_k) q_k: mean zero, second moment exactly C. */
static double *exact_moment_batch(size_t nv, const double *Q, const double *lam)
{
    double *X = dalloc(2 * nv * nv);
    for (size_t k = 0; k < nv; k++) {
        double s = sqrt((double)nv * lam[k]);
        for (size_t i = 0; i < nv; i++) {
            X[(2 * k) * nv + i] = s * Q[i * nv + k];
            X[(2 * k + 1) * nv + i] = -s * Q[i * nv + k];
        }
    }
    return X;
}

static void test_gradient_vs_exact_estimator(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    item1 s;
    item1_setup(&s, 21);
    const size_t nv = I1_NV, nh = I1_NH, n = nv * nh, B = 2 * nv;
    double W[I1_NV * I1_NH];
    for (size_t i = 0; i < n; i++)
        W[i] = 0.15 * t_normal();
    rbm_machine *m = gg_machine(ctx, nv, nh, I1_SV2, I1_SH2, W);
    double *X = exact_moment_batch(nv, s.Q, I1_LAMBDA);
    /* the batch really has second moment C */
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nv; j++) {
            double acc = 0;
            for (size_t r = 0; r < B; r++)
                acc += X[r * nv + i] * X[r * nv + j];
            rbm_assert_close(acc / (double)B, s.C[i * nv + j], 1e-12, 1e-13, "batch moment");
        }
    double G[I1_NV * I1_NH], Gref[I1_NV * I1_NH], Ge[I1_NV * I1_NH], da[I1_NV], db[I1_NH];
    RBM_OKAY(ctx, rbm_linear_gradient(m, s.C, nv * nv, G, n));
    ref_flow(nv, nh, I1_SV2, I1_SH2, s.C, W, Gref);
    for (size_t i = 0; i < n; i++)
        rbm_assert_close(G[i], Gref[i], 1e-10, 1e-12, "gradient vs reference flow");

    for (int prec = 0; prec < 2; prec++) {
        RBM_OKAY(ctx, rbm_machine_set_precision(m, prec ? RBM_PRECISION_FLOAT32
                                                        : RBM_PRECISION_FLOAT64));
        rbm_estimator *e = NULL;
        rbm_gradient *g = NULL;
        RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 0, 0, B, 5, &e));
        RBM_OKAY(ctx, rbm_gradient_new(m, &g));
        RBM_OKAY(ctx, rbm_estimator_compute(e, B, X, B * nv, g));
        RBM_OKAY(ctx, rbm_gradient_get_weights(g, Ge, n));
        RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, da, nv));
        RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, db, nh));
        double tol = prec ? 2e-5 : 1e-10; /* float32 positive phase */
        double gmax = 0;
        for (size_t i = 0; i < n; i++)
            gmax = fmax(gmax, fabs(G[i]));
        for (size_t i = 0; i < n; i++)
            rbm_assert_close(Ge[i], G[i], 0, tol * fmax(1, gmax), "EXACT estimator vs linear gradient");
        for (size_t i = 0; i < nv; i++)
            rbm_assert_close(da[i], 0, 0, prec ? 1e-5 : 1e-12, "da (centred data, zero biases)");
        for (size_t j = 0; j < nh; j++)
            rbm_assert_close(db[j], 0, 0, prec ? 1e-5 : 1e-12, "db (centred data, zero biases)");
        rbm_gradient_free(g);
        rbm_estimator_free(e);
    }
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT64));

    /* central finite differences of the exact mean log-likelihood of the batch */
    double zero_a[I1_NV] = {0}, zero_b[I1_NH] = {0}, Wp[I1_NV * I1_NH];
    const double h = 1e-5;
    double maxrel = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(Wp, W, sizeof W);
        Wp[i] = W[i] + h;
        double lp = ref_loglik(nv, nh, I1_SV2, I1_SH2, Wp, zero_a, zero_b, B, X);
        Wp[i] = W[i] - h;
        double lm = ref_loglik(nv, nh, I1_SV2, I1_SH2, Wp, zero_a, zero_b, B, X);
        double fd = (lp - lm) / (2 * h);
        maxrel = fmax(maxrel, fabs(fd - G[i]) / fmax(fabs(G[i]), 1e-3));
        rbm_assert_close(G[i], fd, 1e-6, 1e-8, "linear gradient vs finite differences");
    }
    print_message("# gradient vs finite differences: max relative difference %.2e\n", maxrel);
    free(X);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The EXACT estimator with biases: every component against finite
 * differences of the exact log-likelihood of a random batch. */
static void test_exact_estimator_biases(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { NV = 5, NH = 3, B = 7 };
    const double sv2 = 0.8, sh2 = 1.3;
    double W[NV * NH], a[NV], b[NH], X[B * NV];
    t_sm_state = 77;
    for (size_t i = 0; i < NV * NH; i++)
        W[i] = 0.2 * t_normal();
    for (size_t i = 0; i < NV; i++)
        a[i] = 0.5 * t_normal();
    for (size_t j = 0; j < NH; j++)
        b[j] = 0.5 * t_normal();
    for (size_t i = 0; i < B * NV; i++)
        X[i] = 1.0 + t_normal();
    rbm_machine *m = gg_machine(ctx, NV, NH, sv2, sh2, W);
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, NV));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, NH));
    rbm_estimator *e = NULL;
    rbm_gradient *g = NULL;
    RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 1, 0, B, 5, &e));
    assert_int_equal(rbm_estimator_kind_of(e), RBM_ESTIMATOR_EXACT);
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_estimator_compute(e, B, X, B * NV, g));
    double gW[NV * NH], ga[NV], gb[NH];
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, gW, NV * NH));
    RBM_OKAY(ctx, rbm_gradient_get_visible_bias(g, ga, NV));
    RBM_OKAY(ctx, rbm_gradient_get_hidden_bias(g, gb, NH));
    const double h = 1e-5;
    double maxrel = 0;
    double *params[3] = {W, a, b}, *grads[3] = {gW, ga, gb};
    size_t sizes[3] = {NV * NH, NV, NH};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < sizes[p]; i++) {
            double keep = params[p][i];
            params[p][i] = keep + h;
            double lp = ref_loglik(NV, NH, sv2, sh2, W, a, b, B, X);
            params[p][i] = keep - h;
            double lm = ref_loglik(NV, NH, sv2, sh2, W, a, b, B, X);
            params[p][i] = keep;
            double fd = (lp - lm) / (2 * h);
            maxrel = fmax(maxrel, fabs(fd - grads[p][i]) / fmax(fabs(fd), 1e-3));
            rbm_assert_close(grads[p][i], fd, 1e-6, 1e-8, "EXACT Gauss-Gauss vs finite differences");
        }
    print_message("# EXACT Gauss-Gauss estimator with biases vs finite differences: %.2e\n", maxrel);
    rbm_gradient_free(g);
    rbm_estimator_free(e);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Model covariance: the SVD form of docs/theory.md §1.5
 * ------------------------------------------------------------------------- */
static void test_model_covariance(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t shapes[3][2] = {{7, 4}, {3, 6}, {1, 1}};
    for (size_t sc = 0; sc < 3; sc++) {
        size_t nv = shapes[sc][0], nh = shapes[sc][1], r = nv < nh ? nv : nh;
        double sv2 = 0.7, sh2 = 1.6;
        double *W = dalloc(nv * nh), *Cm = dalloc(nv * nv), *Cs = dalloc(nv * nv);
        double *w = dalloc(r), *U = dalloc(nv * nh), *V = dalloc(nh * nh);
        t_sm_state = 500 + sc;
        for (size_t i = 0; i < nv * nh; i++)
            W[i] = t_normal();
        /* scale so that c w_1^2 = 0.95: close to the bound */
        svals(nv, nh, W, w);
        double scale = sqrt(0.95 / (sv2 * sh2)) / w[0];
        for (size_t i = 0; i < nv * nh; i++)
            W[i] *= scale;
        rbm_machine *m = gg_machine(ctx, nv, nh, sv2, sh2, W);
        RBM_OKAY(ctx, rbm_linear_model_covariance(m, Cm, nv * nv));
        /* SVD form: sum_a sv2/(1 - c w_a^2) u u^T + sv2 (I - sum_a u u^T) */
        double *Wt = dalloc(nv * nh), *UU = dalloc(nv * r);
        if (nv >= nh) {
            jacobi_svd(nv, nh, W, w, U, V);
            memcpy(UU, U, nv * r * sizeof(double));
        } else { /* left vectors of W are right vectors of W^T */
            for (size_t i = 0; i < nv; i++)
                for (size_t j = 0; j < nh; j++)
                    Wt[j * nv + i] = W[i * nh + j];
            jacobi_svd(nh, nv, Wt, w, U, V);
            memcpy(UU, V, nv * r * sizeof(double));
        }
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nv; j++) {
                double s = i == j ? sv2 : 0.0;
                for (size_t a = 0; a < r; a++) {
                    double f = sv2 / (1 - sv2 * sh2 * w[a] * w[a]) - sv2;
                    s += f * UU[i * r + a] * UU[j * r + a];
                }
                Cs[i * nv + j] = s;
            }
        for (size_t i = 0; i < nv * nv; i++)
            rbm_assert_close(Cm[i], Cs[i], 1e-10, 1e-12, "model covariance vs SVD form");
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nv; j++)
                assert_true(Cm[i * nv + j] == Cm[j * nv + i]);
        /* the model covariance does not depend on the biases */
        double *a = dalloc(nv), *Cb = dalloc(nv * nv);
        for (size_t i = 0; i < nv; i++)
            a[i] = 3.0 * (double)i - 1.0;
        RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, nv));
        RBM_OKAY(ctx, rbm_linear_model_covariance(m, Cb, nv * nv));
        assert_memory_equal(Cb, Cm, nv * nv * sizeof(double));
        rbm_machine_free(m);
        free(W), free(Cm), free(Cs), free(w), free(U), free(V), free(Wt), free(UU), free(a),
            free(Cb);
    }
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Stochastic training of a Gauss-Gauss machine agrees with the closed form
 * ------------------------------------------------------------------------- */
static void test_stochastic_training(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    item1 s;
    item1_setup(&s, 11);
    const size_t nv = I1_NV, nh = I1_NH, M = 20000;
    /* x = Q diag(sqrt(lambda)) z, z ~ N(0, I) */
    double *X = dalloc(M * nv);
    t_sm_state = 9090;
    for (size_t r = 0; r < M; r++) {
        double z[I1_NV];
        for (size_t k = 0; k < nv; k++)
            z[k] = sqrt(I1_LAMBDA[k]) * t_normal();
        for (size_t i = 0; i < nv; i++) {
            double acc = 0;
            for (size_t k = 0; k < nv; k++)
                acc += s.Q[i * nv + k] * z[k];
            X[r * nv + i] = acc;
        }
    }
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, X, RBM_DTYPE_FLOAT64, M, nv, RBM_BORROW, &ds));
    double Cov[I1_NV * I1_NV], lam_hat[I1_NV], E[I1_NV * I1_NV];
    RBM_OKAY(ctx, rbm_dataset_covariance(ds, Cov, nv * nv));
    jacobi_eig(nv, Cov, lam_hat, E);

    rbm_machine *m = gg_machine(ctx, nv, nh, I1_SV2, I1_SH2, s.W0);
    rbm_machine *ode = gg_machine(ctx, nv, nh, I1_SV2, I1_SH2, s.W0);
    rbm_trainer *t = NULL;
    const size_t batch = 500;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, batch, 31, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 0));
    /* two phases: lr 0.05 for t = 60, then lr 0.005 for t = 20 (less SGD noise) */
    const double lr1 = 0.05, lr2 = 0.005;
    const size_t epochs1 = 30, epochs2 = 100; /* 40 batches per epoch */
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, lr1));
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, epochs1));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, lr2));
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, epochs2));
    double T = (lr1 * (double)epochs1 + lr2 * (double)epochs2) * (double)(M / batch);
    RBM_OKAY(ctx, rbm_linear_integrate(ode, Cov, nv * nv, T, 1e-9, 1e-12, 0, NULL, 0, NULL, 0, NULL,
                                       NULL));
    double W[I1_NV * I1_NH], Wo[I1_NV * I1_NH], w[I1_NH], wo[I1_NH], ws[I1_NV], wh[I1_NV];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, nv * nh));
    RBM_OKAY(ctx, rbm_machine_get_weights(ode, Wo, nv * nh));
    svals(nv, nh, W, w);
    svals(nv, nh, Wo, wo);
    assert_int_equal(rbm_linear_fixed_points(I1_LAMBDA, nv, 1.0, sqrt(I1_SH2), ws, nv), RBM_OK);
    assert_int_equal(rbm_linear_fixed_points(lam_hat, nv, 1.0, sqrt(I1_SH2), wh, nv), RBM_OK);
    double d_true = 0, d_hat = 0, d_ode = 0;
    for (size_t a = 0; a < nh; a++) {
        d_true = fmax(d_true, fabs(w[a] / ws[a] - 1));
        d_hat = fmax(d_hat, fabs(w[a] / wh[a] - 1));
        d_ode = fmax(d_ode, fabs(w[a] / wo[a] - 1));
    }
    print_message("# stochastic training (t = %g): trained w = %.4f %.4f %.4f %.4f %.4f\n", T, w[0],
                  w[1], w[2], w[3], w[4]);
    print_message("#   max relative difference: vs w*(C) %.2e, vs w*(sample Cov) %.2e, vs ODE on "
                  "sample Cov %.2e\n",
                  d_true, d_hat, d_ode);
    /* Sampling error of the eigenvalues with M = 20000: ~lambda sqrt(2/M) = 1%,
     * i.e. <= 2.2% on w* for lambda = 1.5 (3 sigma). SGD noise: batch 500,
     * final lr 0.005, spread of w ~ 0.3%. */
    for (size_t a = 0; a < nh; a++) {
        rbm_assert_close(w[a], ws[a], 0.05, 0, "trained w vs closed-form fixed point of C");
        rbm_assert_close(w[a], wh[a], 0.01, 0, "trained w vs fixed point of the sample covariance");
        rbm_assert_close(w[a], wo[a], 0.01, 0, "trained w vs ODE on the sample covariance");
    }
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_machine_free(ode);
    rbm_dataset_free(ds);
    free(X);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */
static int stop_now(void *user, double fraction)
{
    (void)fraction;
    int *calls = user;
    ++*calls;
    return 1;
}

static void test_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { NV = 3, NH = 2 };
    double C[NV * NV] = {2, 0.1, 0, 0.1, 1.5, 0, 0, 0, 0.5}, W[NV * NH] = {0.1, 0, 0, 0.2, 0, 0};
    double out[NV * NV], dW[NV * NH], wout[4 * NH], times[4];
    rbm_machine *m = gg_machine(ctx, NV, NH, 1.0, 1.0, W);

    /* NULL machine */
    assert_int_equal(rbm_linear_model_covariance(NULL, out, NV * NV), RBM_ERR_NULL);
    assert_int_equal(rbm_linear_gradient(NULL, C, NV * NV, dW, NV * NH), RBM_ERR_NULL);
    assert_int_equal(
        rbm_linear_integrate(NULL, C, NV * NV, 1, 1e-6, 1e-9, 0, NULL, 0, NULL, 0, NULL, NULL),
        RBM_ERR_NULL);
    /* buffers */
    RBM_CHECK(ctx, rbm_linear_model_covariance(m, NULL, NV * NV), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_linear_model_covariance(m, out, NV * NV - 1), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_linear_gradient(m, NULL, NV * NV, dW, NV * NH), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_linear_gradient(m, C, NV * NV + 1, dW, NV * NH), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_linear_gradient(m, C, NV * NV, NULL, NV * NH), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_linear_gradient(m, C, NV * NV, dW, NV * NH + 1), RBM_ERR_SHAPE);
    RBM_CHECK(
        ctx,
        rbm_linear_integrate(m, C, NV * NV, 1, 1e-6, 1e-9, 4, times, 4, NULL, 4 * NH, NULL, NULL),
        RBM_ERR_NULL);
    RBM_CHECK(
        ctx,
        rbm_linear_integrate(m, C, NV * NV, 1, 1e-6, 1e-9, 4, times, 4, wout, 3 * NH, NULL, NULL),
        RBM_ERR_SHAPE);
    /* times_len must be n_out exactly (times non-NULL): nothing is written,
     * the machine keeps its W, the detail names times */
    const size_t bad_times_len[] = {0, 3, 5};
    for (size_t t = 0; t < 3; t++) {
        double tt[5] = {-1, -1, -1, -1, -1}, ww[4 * NH], Wnow[NV * NH];
        for (size_t i = 0; i < 4 * NH; i++)
            ww[i] = -1;
        rbm_context_clear_error(ctx);
        RBM_CHECK(ctx,
                  rbm_linear_integrate(m, C, NV * NV, 1, 1e-6, 1e-9, 4, tt, bad_times_len[t], ww,
                                       4 * NH, NULL, NULL),
                  RBM_ERR_SHAPE);
        char want[64];
        snprintf(want, sizeof want, "times has %zu elements, expected 4", bad_times_len[t]);
        if (!strstr(rbm_context_last_error(ctx), want))
            fail_msg("detail \"%s\" lacks \"%s\"", rbm_context_last_error(ctx), want);
        for (size_t i = 0; i < 5; i++)
            assert_true(tt[i] == -1);
        for (size_t i = 0; i < 4 * NH; i++)
            assert_true(ww[i] == -1);
        RBM_OKAY(ctx, rbm_machine_get_weights(m, Wnow, NV * NH));
        assert_memory_equal(Wnow, W, sizeof W);
    }
    /* times NULL: its length is ignored */
    RBM_OKAY(ctx, rbm_linear_integrate(m, C, NV * NV, 0.0, 1e-6, 1e-9, 4, NULL, 17, wout, 4 * NH,
                                       NULL, NULL));
    /* covariance: not finite, not symmetric */
    double Cb[NV * NV];
    memcpy(Cb, C, sizeof C);
    Cb[4] = NAN;
    RBM_CHECK(ctx, rbm_linear_gradient(m, Cb, NV * NV, dW, NV * NH), RBM_ERR_NOT_FINITE);
    RBM_CHECK(ctx,
              rbm_linear_integrate(m, Cb, NV * NV, 1, 1e-6, 1e-9, 0, NULL, 0, NULL, 0, NULL, NULL),
              RBM_ERR_NOT_FINITE);
    memcpy(Cb, C, sizeof C);
    Cb[1] = 0.2;
    RBM_CHECK(ctx, rbm_linear_gradient(m, Cb, NV * NV, dW, NV * NH), RBM_ERR_INVALID_ARGUMENT);
    /* integration arguments */
    const double bad_t[] = {-1.0, NAN, INFINITY};
    for (size_t i = 0; i < 3; i++)
        RBM_CHECK(ctx,
                  rbm_linear_integrate(m, C, NV * NV, bad_t[i], 1e-6, 1e-9, 0, NULL, 0, NULL, 0,
                                       NULL, NULL),
                  RBM_ERR_INVALID_ARGUMENT);
    const double bad_tol[] = {0.0, -1e-6, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        RBM_CHECK(ctx,
                  rbm_linear_integrate(m, C, NV * NV, 1, bad_tol[i], 1e-9, 0, NULL, 0, NULL, 0,
                                       NULL, NULL),
                  RBM_ERR_INVALID_ARGUMENT);
        RBM_CHECK(ctx,
                  rbm_linear_integrate(m, C, NV * NV, 1, 1e-6, bad_tol[i], 0, NULL, 0, NULL, 0,
                                       NULL, NULL),
                  RBM_ERR_INVALID_ARGUMENT);
    }
    /* nothing changed by the refusals */
    double Wnow[NV * NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, Wnow, NV * NH));
    assert_memory_equal(Wnow, W, sizeof W);

    /* t_end = 0: W unchanged, every output at t = 0; n_out = 1 records t_end */
    RBM_OKAY(ctx, rbm_linear_integrate(m, C, NV * NV, 0.0, 1e-6, 1e-9, 4, times, 4, wout, 4 * NH,
                                       NULL, NULL));
    RBM_OKAY(ctx, rbm_machine_get_weights(m, Wnow, NV * NH));
    assert_memory_equal(Wnow, W, sizeof W);
    for (size_t k = 0; k < 4; k++) {
        assert_true(times[k] == 0.0);
        rbm_assert_close(wout[k * NH], 0.2, 1e-14, 0, "w_1 at t = 0");
        rbm_assert_close(wout[k * NH + 1], 0.1, 1e-14, 0, "w_2 at t = 0");
    }
    RBM_OKAY(ctx, rbm_linear_integrate(m, C, NV * NV, 0.5, 1e-6, 1e-9, 1, times, 1, wout, NH, NULL,
                                       NULL));
    assert_true(times[0] == 0.5);
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NV * NH));

    /* progress asking to stop: RBM_STOPPED, W advanced part of the way */
    int calls = 0;
    RBM_CHECK(ctx,
              rbm_linear_integrate(m, C, NV * NV, 100.0, 1e-8, 1e-10, 0, NULL, 0, NULL, 0, stop_now,
                                   &calls),
              RBM_STOPPED);
    assert_int_equal(calls, 1);
    RBM_OKAY(ctx, rbm_machine_get_weights(m, Wnow, NV * NH));
    assert_memory_not_equal(Wnow, W, sizeof W);
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NV * NH));

    /* W = 0 is a fixed point */
    double Z[NV * NH] = {0};
    RBM_OKAY(ctx, rbm_machine_set_weights(m, Z, NV * NH));
    RBM_OKAY(ctx, rbm_linear_integrate(m, C, NV * NV, 50.0, 1e-8, 1e-10, 0, NULL, 0, NULL, 0, NULL,
                                       NULL));
    RBM_OKAY(ctx, rbm_machine_get_weights(m, Wnow, NV * NH));
    assert_memory_equal(Wnow, Z, sizeof Z);
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NV * NH));

    /* not normalisable: the setters refuse such a W, so place one directly */
    double *mW;
    rbm__machine_params_mut(m, &mW, NULL, NULL);
    double keep = mW[0];
    mW[0] = 1.5; /* sigma_v^2 sigma_h^2 w_1^2 >= 2.25 */
    RBM_CHECK(ctx, rbm_linear_model_covariance(m, out, NV * NV), RBM_ERR_NOT_NORMALIZABLE);
    RBM_CHECK(ctx, rbm_linear_gradient(m, C, NV * NV, dW, NV * NH), RBM_ERR_NOT_NORMALIZABLE);
    RBM_CHECK(ctx,
              rbm_linear_integrate(m, C, NV * NV, 1.0, 1e-6, 1e-9, 0, NULL, 0, NULL, 0, NULL, NULL),
              RBM_ERR_NOT_NORMALIZABLE);
    assert_true(mW[0] == 1.5); /* unchanged on error */
    {
        rbm_estimator *e = NULL;
        rbm_gradient *g = NULL;
        double v[NV] = {0.1, 0.2, 0.3};
        RBM_OKAY(ctx, rbm_test_estimator(m, RBM_ESTIMATOR_EXACT, 1, 0, 1, 1, &e));
        RBM_OKAY(ctx, rbm_gradient_new(m, &g));
        RBM_CHECK(ctx, rbm_estimator_compute(e, 1, v, NV, g), RBM_ERR_NOT_NORMALIZABLE);
        rbm_gradient_free(g);
        rbm_estimator_free(e);
    }
    mW[0] = 1.0; /* exactly on the bound (w_1 = 1, sigmas 1) */
    RBM_CHECK(ctx, rbm_linear_model_covariance(m, out, NV * NV), RBM_ERR_NOT_NORMALIZABLE);
    mW[0] = keep;
    RBM_OKAY(ctx, rbm_linear_model_covariance(m, out, NV * NV));

    /* not Gauss-Gauss */
    const rbm_unit_kind kinds[][2] = {{RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI},
                                      {RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI},
                                      {RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN}};
    for (size_t k = 0; k < 3; k++) {
        rbm_machine *o = NULL;
        RBM_OKAY(ctx, rbm_machine_new(ctx, NV, NH, kinds[k][0], kinds[k][1], &o));
        RBM_CHECK(ctx, rbm_linear_model_covariance(o, out, NV * NV), RBM_ERR_UNSUPPORTED);
        RBM_CHECK(ctx, rbm_linear_gradient(o, C, NV * NV, dW, NV * NH), RBM_ERR_UNSUPPORTED);
        RBM_CHECK(
            ctx,
            rbm_linear_integrate(o, C, NV * NV, 1.0, 1e-6, 1e-9, 0, NULL, 0, NULL, 0, NULL, NULL),
            RBM_ERR_UNSUPPORTED);
        assert_true(strlen(rbm_context_last_error(ctx)) > 0);
        rbm_machine_free(o);
    }
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_points),
        cmocka_unit_test(test_item1_fixed_point),
        cmocka_unit_test(test_item1_euler),
        cmocka_unit_test(test_item2_decay),
        cmocka_unit_test(test_item4_closed_form),
        cmocka_unit_test(test_mode_trajectory_regimes),
        cmocka_unit_test(test_gradient_vs_exact_estimator),
        cmocka_unit_test(test_exact_estimator_biases),
        cmocka_unit_test(test_model_covariance),
        cmocka_unit_test(test_stochastic_training),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
