/* librbm — the Gauss-Gauss (linear) RBM: model covariance, exact gradient
 * flow, its adaptive Dormand-Prince integration, closed-form fixed points,
 * the implicit trajectory of one aligned mode (docs/theory.md §1.5, §3), and the
 * closed-form model statistics used by the EXACT estimator.
 *
 * Linear algebra: M = sigma_v^{-2} I - sigma_h^2 W W^T is the inverse model
 * covariance. It is built in the lower triangle of a row-major array, which
 * is the upper triangle of the same array read column-major, so LAPACK's
 * column-major dpotrf('U') factors it in place without the transposed copy
 * (and the malloc) of LAPACKE's row-major path; the result read row-major is
 * the lower Cholesky factor L with M = L L^T. dpotrf failing is the
 * normalisability test (M positive definite iff sigma_v^2 sigma_h^2 w_1^2 < 1). */
#include "core/internal.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

static bool is_gauss_gauss(const rbm_machine *m)
{
    return m->vk == RBM_UNIT_GAUSSIAN && m->hk == RBM_UNIT_GAUSSIAN;
}

static rbm_status check_gauss_gauss(const rbm_machine *m, const char *fn)
{
    if (!is_gauss_gauss(m))
        return rbm__fail(m->ctx, RBM_ERR_UNSUPPORTED,
                         "%s needs a Gauss-Gauss machine (this one has %s visible and %s hidden "
                         "units)",
                         fn, rbm_unit_kind_name(m->vk), rbm_unit_kind_name(m->hk));
    return RBM_OK;
}

/* L (nv x nv, row-major lower) = Cholesky factor of sigma_v^{-2} I -
 * sigma_h^2 W W^T. False when that matrix is not positive definite. */
static bool precision_cholesky(size_t nv, size_t nh, double sv, double sh, const double *W,
                               double *L)
{
    memset(L, 0, nv * nv * sizeof(double));
    const double d = 1.0 / (sv * sv);
    for (size_t i = 0; i < nv; i++)
        L[i * nv + i] = d;
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)nv, (int)nh, -(sh * sh), W, (int)nh,
                1.0, L, (int)nv);
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)nv, L, (lapack_int)nv);
    return info == 0;
}

/* X (nv x k, row-major, in place) <- M^{-1} X with M = L L^T. */
static void cholesky_solve(size_t nv, size_t k, const double *L, double *X)
{
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)nv, (int)k,
                1.0, L, (int)nv, X, (int)k);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)nv, (int)k,
                1.0, L, (int)nv, X, (int)k);
}

static rbm_status not_normalizable(const rbm_machine *m, const double *W, const char *where)
{
    double w1 = NAN;
    if (rbm__machine_top_singular(m, W, &w1) != RBM_OK)
        w1 = NAN;
    double s2 = m->sigma_v * m->sigma_v * m->sigma_h * m->sigma_h;
    return rbm__fail(m->ctx, RBM_ERR_NOT_NORMALIZABLE,
                     "%s: Gauss-Gauss machine is not normalisable (sigma_v^2 sigma_h^2 w_1^2 = "
                     "%.6g, w_1 = %.6g)",
                     where, s2 * w1 * w1, w1);
}

/* ---------------- closed-form model statistics (EXACT estimator) ---------------- */

size_t rbm__gauss_gauss_ws_len(const rbm_machine *m)
{
    return m->nv * m->nv;
}

rbm_status rbm__gauss_gauss_stats(const rbm_machine *m, double *ws, double *vh, double *v,
                                  double *h)
{
    /* Joint precision P = [[I/sv^2, -W], [-W^T, I/sh^2]], Sigma = P^{-1},
     * mu = Sigma (a; b). By the Schur complement on the hidden block:
     *   Sigma_vv = C_model = M^{-1},  Sigma_vh = sh^2 M^{-1} W,
     *   mu_v = M^{-1} (a + sh^2 W b),  mu_h = sh^2 (b + W^T mu_v),
     *   <v h^T> = Sigma_vh + mu_v mu_h^T. */
    const size_t nv = m->nv, nh = m->nh;
    const double sh2 = m->sigma_h * m->sigma_h;
    if (!precision_cholesky(nv, nh, m->sigma_v, m->sigma_h, m->W, ws))
        return not_normalizable(m, m->W, "exact Gauss-Gauss statistics");
    memcpy(v, m->a, nv * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nv, (int)nh, sh2, m->W, (int)nh, m->b, 1, 1.0, v,
                1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)nv, ws, (int)nv, v, 1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)nv, ws, (int)nv, v, 1);
    memcpy(h, m->b, nh * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)nv, (int)nh, 1.0, m->W, (int)nh, v, 1, 1.0, h, 1);
    cblas_dscal((int)nh, sh2, h, 1);
    memcpy(vh, m->W, nv * nh * sizeof(double));
    cholesky_solve(nv, nh, ws, vh);
    cblas_dscal((int)(nv * nh), sh2, vh, 1);
    cblas_dger(CblasRowMajor, (int)nv, (int)nh, 1.0, v, 1, h, 1, vh, (int)nh);
    return RBM_OK;
}

/* ---------------- model covariance and gradient ---------------- */

rbm_status rbm_linear_model_covariance(const rbm_machine *m, double *out, size_t len)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_gauss_gauss(m, "rbm_linear_model_covariance")) ||
        (st = rbm__check_array(m->ctx, out, len, m->nv * m->nv, "covariance buffer")))
        return st;
    const size_t nv = m->nv;
    double *L;
    if ((st = rbm__xcalloc(m->ctx, nv * nv, sizeof(double), &L, "covariance workspace")))
        return st;
    if (!precision_cholesky(nv, m->nh, m->sigma_v, m->sigma_h, m->W, L)) {
        st = not_normalizable(m, m->W, "rbm_linear_model_covariance");
        rbm__free(m->ctx, L);
        return st;
    }
    lapack_int info = LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', (lapack_int)nv, L, (lapack_int)nv);
    if (info != 0) {
        rbm__free(m->ctx, L);
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "LAPACK dpotri failed (info %d)", (int)info);
    }
    /* the inverse is in the row-major lower triangle */
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j <= i; j++)
            out[i * nv + j] = out[j * nv + i] = L[i * nv + j];
    rbm__free(m->ctx, L);
    return RBM_OK;
}

/* Validate a data covariance: length, finiteness, symmetry. */
static rbm_status check_covariance(const rbm_machine *m, const double *C, size_t c_len)
{
    const size_t nv = m->nv;
    rbm_status st;
    if ((st = rbm__check_array(m->ctx, C, c_len, nv * nv, "covariance C")) ||
        (st = rbm__check_finite(m->ctx, C, c_len, "covariance C")))
        return st;
    double big = 0;
    for (size_t i = 0; i < nv * nv; i++)
        big = fmax(big, fabs(C[i]));
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < i; j++)
            if (fabs(C[i * nv + j] - C[j * nv + i]) > 1e-10 * big)
                return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT,
                                 "covariance C is not symmetric: C[%zu,%zu] = %.17g, C[%zu,%zu] = "
                                 "%.17g",
                                 i, j, C[i * nv + j], j, i, C[j * nv + i]);
    return RBM_OK;
}

/* The flow f(W) = sigma_h^2 (C W - M^{-1} W) with scratch L (nv x nv) and X
 * (nv x nh). False when W is not normalisable. */
typedef struct flow_ctx {
    size_t nv, nh;
    double sv, sh;
    const double *C;
    double *L, *X;
} flow_ctx;

static bool flow_eval(const flow_ctx *F, const double *W, double *dW)
{
    const size_t nv = F->nv, nh = F->nh, n = nv * nh;
    if (!precision_cholesky(nv, nh, F->sv, F->sh, W, F->L))
        return false;
    memcpy(F->X, W, n * sizeof(double));
    cholesky_solve(nv, nh, F->L, F->X);
    const double sh2 = F->sh * F->sh;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nv, (int)nh, (int)nv, sh2, F->C,
                (int)nv, W, (int)nh, 0.0, dW, (int)nh);
    cblas_daxpy((int)n, -sh2, F->X, 1, dW, 1);
    return true;
}

rbm_status rbm_linear_gradient(const rbm_machine *m, const double *C, size_t c_len, double *dW,
                               size_t dw_len)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_gauss_gauss(m, "rbm_linear_gradient")) ||
        (st = check_covariance(m, C, c_len)) ||
        (st = rbm__check_array(m->ctx, dW, dw_len, m->nv * m->nh, "gradient buffer dW")))
        return st;
    const size_t nv = m->nv, nh = m->nh;
    double *buf;
    if ((st = rbm__xcalloc(m->ctx, nv * nv + nv * nh, sizeof(double), &buf, "gradient workspace")))
        return st;
    flow_ctx F = {nv, nh, m->sigma_v, m->sigma_h, C, buf, buf + nv * nv};
    if (!flow_eval(&F, m->W, dW))
        st = not_normalizable(m, m->W, "rbm_linear_gradient");
    rbm__free(m->ctx, buf);
    return st;
}

/* ---------------- Dormand-Prince 5(4) integration ---------------- */

/* Butcher tableau of Dormand & Prince (1980), the 5th-order solution (FSAL)
 * and the error weights e = b5 - b4. */
static const double DP_A21 = 1.0 / 5.0;
static const double DP_A31 = 3.0 / 40.0, DP_A32 = 9.0 / 40.0;
static const double DP_A41 = 44.0 / 45.0, DP_A42 = -56.0 / 15.0, DP_A43 = 32.0 / 9.0;
static const double DP_A51 = 19372.0 / 6561.0, DP_A52 = -25360.0 / 2187.0,
                    DP_A53 = 64448.0 / 6561.0, DP_A54 = -212.0 / 729.0;
static const double DP_A61 = 9017.0 / 3168.0, DP_A62 = -355.0 / 33.0, DP_A63 = 46732.0 / 5247.0,
                    DP_A64 = 49.0 / 176.0, DP_A65 = -5103.0 / 18656.0;
static const double DP_B1 = 35.0 / 384.0, DP_B3 = 500.0 / 1113.0, DP_B4 = 125.0 / 192.0,
                    DP_B5 = -2187.0 / 6784.0, DP_B6 = 11.0 / 84.0;
static const double DP_E1 = 71.0 / 57600.0, DP_E3 = -71.0 / 16695.0, DP_E4 = 71.0 / 1920.0,
                    DP_E5 = -17253.0 / 339200.0, DP_E6 = 22.0 / 525.0, DP_E7 = -1.0 / 40.0;

/* Step-size control (Hairer, Norsett & Wanner, Solving ODEs I, §II.4):
 * h_new = h * min(FAC_MAX, max(FAC_MIN, SAFETY * err^(-1/5))), no growth
 * right after a rejection. */
#define DP_SAFETY 0.9
#define DP_FAC_MIN 0.2
#define DP_FAC_MAX 10.0
/* Step shrink factor when a stage point is not normalisable. */
#define DP_FAC_NORM 0.25

typedef struct dp_state {
    flow_ctx F;
    size_t n;
    double rtol, atol;
    double *y, *yn, *yt, *k[7], *err;
} dp_state;

/* Scaled RMS norm of v with weights atol + rtol |y|. */
static double scaled_norm(const dp_state *S, const double *v, const double *y)
{
    double s = 0;
    for (size_t i = 0; i < S->n; i++) {
        double q = v[i] / (S->atol + S->rtol * fabs(y[i]));
        s += q * q;
    }
    return sqrt(s / (double)S->n);
}

/* Starting step (HNW I, §II.4, "starting step size"); k[0] = f(y). */
static double dp_initial_step(dp_state *S, double span)
{
    double d0 = scaled_norm(S, S->y, S->y), d1 = scaled_norm(S, S->k[0], S->y);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    if (h0 > span)
        h0 = span;
    for (int tries = 0; tries < 60; tries++) {
        for (size_t i = 0; i < S->n; i++)
            S->yt[i] = S->y[i] + h0 * S->k[0][i];
        if (flow_eval(&S->F, S->yt, S->k[1]))
            break;
        h0 *= DP_FAC_NORM;
    }
    for (size_t i = 0; i < S->n; i++)
        S->err[i] = S->k[1][i] - S->k[0][i];
    double d2 = scaled_norm(S, S->err, S->y) / h0;
    double dm = fmax(d1, d2);
    double h1 = dm <= 1e-15 ? fmax(1e-6, h0 * 1e-3) : pow(0.01 / dm, 0.2);
    double h = fmin(100.0 * h0, h1);
    return h > span ? span : h;
}

static void lincomb(size_t n, double *out, const double *y, double h, int nk, const double *c,
                    double *const *k)
{
    memcpy(out, y, n * sizeof(double));
    for (int j = 0; j < nk; j++)
        if (c[j] != 0.0)
            cblas_daxpy((int)n, h * c[j], k[j], 1, out, 1);
}

/* One trial step of size h from S->y (k[0] = f(y)). Returns 0 and *err_norm
 * when every stage was normalisable (yn = 5th-order solution, k[6] = f(yn)),
 * -1 otherwise. */
static int dp_trial(dp_state *S, double h, double *err_norm)
{
    const size_t n = S->n;
    double *const *k = S->k;
    const double r2[] = {DP_A21};
    const double r3[] = {DP_A31, DP_A32};
    const double r4[] = {DP_A41, DP_A42, DP_A43};
    const double r5[] = {DP_A51, DP_A52, DP_A53, DP_A54};
    const double r6[] = {DP_A61, DP_A62, DP_A63, DP_A64, DP_A65};
    const double r7[] = {DP_B1, 0.0, DP_B3, DP_B4, DP_B5, DP_B6};
    const double *rows[] = {r2, r3, r4, r5, r6};
    for (int s = 1; s <= 5; s++) {
        lincomb(n, S->yt, S->y, h, s, rows[s - 1], k);
        if (!flow_eval(&S->F, S->yt, k[s]))
            return -1;
    }
    lincomb(n, S->yn, S->y, h, 6, r7, k);
    if (!flow_eval(&S->F, S->yn, k[6]))
        return -1;
    const double e[] = {DP_E1, 0.0, DP_E3, DP_E4, DP_E5, DP_E6, DP_E7};
    memset(S->err, 0, n * sizeof(double));
    for (int j = 0; j < 7; j++)
        if (e[j] != 0.0)
            cblas_daxpy((int)n, h * e[j], k[j], 1, S->err, 1);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double q = S->err[i] / (S->atol + S->rtol * fmax(fabs(S->y[i]), fabs(S->yn[i])));
        s += q * q;
    }
    *err_norm = sqrt(s / (double)n);
    return 0;
}

/* Singular values of the nv x nh row-major W (= the column-major nh x nv
 * matrix W^T) into s, with LAPACK dgesdd (values only). */
typedef struct svd_ws {
    double *copy, *work;
    lapack_int *iwork;
    lapack_int lwork;
} svd_ws;

static rbm_status singular_values(const rbm_machine *m, svd_ws *ws, const double *W, double *s)
{
    const size_t nv = m->nv, nh = m->nh;
    memcpy(ws->copy, W, nv * nh * sizeof(double));
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'N', (lapack_int)nh, (lapack_int)nv,
                                          ws->copy, (lapack_int)nh, s, NULL, 1, NULL, 1, ws->work,
                                          ws->lwork, ws->iwork);
    if (info != 0)
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "LAPACK dgesdd failed (info %d)", (int)info);
    return RBM_OK;
}

rbm_status rbm_linear_integrate(rbm_machine *m, const double *C, size_t c_len, double t_end,
                                double rtol, double atol, size_t n_out, double *times,
                                double *w_out, size_t w_len,
                                int (*progress)(void *user, double fraction), void *user)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = m->ctx;
    rbm_status st;
    if ((st = check_gauss_gauss(m, "rbm_linear_integrate")) || (st = check_covariance(m, C, c_len)))
        return st;
    if (!(isfinite(t_end) && t_end >= 0))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "t_end must be finite and >= 0 (got %g)",
                         t_end);
    if (!(isfinite(rtol) && rtol > 0) || !(isfinite(atol) && atol > 0))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "tolerances must be finite and > 0 (rtol %g, atol %g)", rtol, atol);
    const size_t nv = m->nv, nh = m->nh, n = nv * nh, r = nv < nh ? nv : nh;
    size_t n_w = 0;
    if (!rbm__mul_ok(n_out, r, &n_w))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu outputs of %zu values overflow", n_out, r);
    if (n_out > 0 && (st = rbm__check_array(ctx, w_out, w_len, n_w, "singular value output")))
        return st;

    /* workspace: L, X, y, yn, yt, k1..k7, err, svd copy, s; gesdd work */
    const size_t n_blocks = 13;
    size_t total;
    if (!rbm__mul_ok(n, n_blocks, &total) || total > SIZE_MAX - nv * nv - r)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "integration workspace overflows");
    total += nv * nv + r;
    double *buf = NULL, *work = NULL;
    lapack_int *iwork = NULL;
    if ((st = rbm__xcalloc(ctx, total, sizeof(double), &buf, "integration workspace")))
        return st;
    dp_state S = {.n = n, .rtol = rtol, .atol = atol};
    double *p = buf;
    S.F = (flow_ctx){nv, nh, m->sigma_v, m->sigma_h, C, p, p + nv * nv};
    p += nv * nv + n;
    S.y = p, p += n;
    S.yn = p, p += n;
    S.yt = p, p += n;
    for (int j = 0; j < 7; j++)
        S.k[j] = p, p += n;
    S.err = p, p += n;
    svd_ws sw = {.copy = p};
    p += n;
    double *sv = p;

    if (n_out > 0) {
        double q = 0;
        lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'N', (lapack_int)nh,
                                              (lapack_int)nv, sw.copy, (lapack_int)nh, sv, NULL, 1,
                                              NULL, 1, &q, -1, NULL);
        sw.lwork = info == 0 ? (lapack_int)q + 1 : 0;
        if (info != 0) {
            st = rbm__fail(ctx, RBM_ERR_NUMERICAL, "LAPACK dgesdd workspace query failed");
            goto done;
        }
        if ((st = rbm__xcalloc(ctx, (size_t)sw.lwork, sizeof(double), &work, "SVD workspace")) ||
            (st = rbm__xcalloc(ctx, 8 * r, sizeof(lapack_int), &iwork, "SVD workspace")))
            goto done;
        sw.work = work;
        sw.iwork = iwork;
    }

    memcpy(S.y, m->W, n * sizeof(double));
    if (!flow_eval(&S.F, S.y, S.k[0])) {
        st = not_normalizable(m, S.y, "rbm_linear_integrate");
        goto done;
    }

    double t = 0;
    size_t k_out = 0;
#define OUT_TIME(k) (n_out == 1 ? t_end : (double)(k) * t_end / (double)(n_out - 1))
    /* record every output due at time 0 */
    while (k_out < n_out && OUT_TIME(k_out) <= 0) {
        if ((st = singular_values(m, &sw, S.y, w_out + k_out * r)))
            goto done;
        if (times)
            times[k_out] = OUT_TIME(k_out);
        k_out++;
    }
    double h = t_end > 0 ? dp_initial_step(&S, t_end) : 0;
    bool last_fail_norm = false;
    while (t < t_end) {
        const double target = k_out < n_out ? OUT_TIME(k_out) : t_end;
        bool rejected = false;
        for (;;) {
            if (!(h >= 16.0 * DBL_EPSILON * fmax(fabs(t), 1e-300)) || !isfinite(h)) {
                if (last_fail_norm)
                    st = rbm__fail(ctx, RBM_ERR_NOT_NORMALIZABLE,
                                   "rbm_linear_integrate: the trajectory leaves the normalisable "
                                   "region at t = %.6g (step size underflow)",
                                   t);
                else
                    st = rbm__fail(ctx, RBM_ERR_NOT_CONVERGED,
                                   "rbm_linear_integrate: step size underflow at t = %.6g", t);
                goto done;
            }
            bool clipped = t + h >= target - 1e-14 * fabs(target);
            double hs = clipped ? target - t : h;
            double en;
            if (dp_trial(&S, hs, &en) != 0) {
                last_fail_norm = true;
                h = hs * DP_FAC_NORM;
                rejected = true;
                continue;
            }
            last_fail_norm = false;
            if (!(en <= 1.0)) { /* also NaN */
                double fac = isfinite(en) ? fmax(DP_FAC_MIN, DP_SAFETY * pow(en, -0.2)) : DP_FAC_MIN;
                h = hs * fmin(1.0, fac);
                rejected = true;
                continue;
            }
            double fac = en > 0 ? DP_SAFETY * pow(en, -0.2) : DP_FAC_MAX;
            fac = fmax(DP_FAC_MIN, fmin(rejected ? 1.0 : DP_FAC_MAX, fac));
            double h_next = hs * fac;
            t = clipped ? target : t + hs;
            double *tmp = S.y;
            S.y = S.yn;
            S.yn = tmp;
            tmp = S.k[0];
            S.k[0] = S.k[6];
            S.k[6] = tmp;
            /* a step shortened to land on an output time does not shrink the next one */
            h = clipped && h > h_next ? h : h_next;
            break;
        }
        while (k_out < n_out && OUT_TIME(k_out) <= t) {
            if ((st = singular_values(m, &sw, S.y, w_out + k_out * r)))
                goto done;
            if (times)
                times[k_out] = OUT_TIME(k_out);
            k_out++;
        }
        if (progress && t < t_end && progress(user, t / t_end)) {
            st = RBM_STOPPED;
            break;
        }
    }
#undef OUT_TIME
    if (st == RBM_OK && progress && t_end > 0 && progress(user, 1.0))
        st = RBM_STOPPED;
    {
        rbm_status s2 = rbm__machine_check_normalizable(m, S.y, m->sigma_v, m->sigma_h);
        if (s2) {
            st = s2;
            goto done;
        }
    }
    memcpy(m->W, S.y, n * sizeof(double));
    rbm__machine_sync(m);
done:
    rbm__free(ctx, buf);
    rbm__free(ctx, work);
    rbm__free(ctx, iwork);
    return st;
}

/* ---------------- fixed points ---------------- */

static bool pos_finite(double x)
{
    return isfinite(x) && x > 0;
}

rbm_status rbm_linear_fixed_points(size_t n, const double *lambda, double sigma_v, double sigma_h,
                                   double *w_star)
{
    if (n > 0 && (!lambda || !w_star))
        return RBM_ERR_NULL;
    if (!pos_finite(sigma_v) || !pos_finite(sigma_h))
        return RBM_ERR_INVALID_ARGUMENT;
    for (size_t a = 0; a < n; a++)
        if (!(isfinite(lambda[a]) && lambda[a] >= 0))
            return RBM_ERR_INVALID_ARGUMENT;
    const double sv2 = sigma_v * sigma_v, sh2 = sigma_h * sigma_h;
    for (size_t a = 0; a < n; a++) {
        double l = lambda[a];
        /* w^2 = 1/(sv^2 sh^2) - 1/(sh^2 lambda) = (lambda - sv^2)/(sv^2 sh^2 lambda) */
        w_star[a] = l > sv2 ? sqrt((l - sv2) / (sv2 * sh2 * l)) : 0.0;
    }
    return RBM_OK;
}

/* ---------------- one aligned mode: implicit closed form ---------------- */

/* With x = w^2, c = sv^2 sh^2, A = lambda - sv^2, the trajectory solves
 *   g(x) - g(x0) = 2 sh^2 A t,  g(x) = ln x - (sv^2/lambda) ln|A - lambda c x|.
 * Dividing by A and using sv^2/lambda = 1 - A/lambda gives the form used
 * here, which stays accurate as A -> 0 and has the algebraic limit at A = 0:
 *   Phi(x) = -(1/A) ln(1 + A q) + (1/lambda) ln[(A - lambda c x)/(A - lambda c x0)] - 2 sh^2 t,
 *   q = (1/x0 - 1/x) / (lambda c - A/x0),
 * with -(1/A) ln(1 + A q) = -q at A = 0 (then 1/x + c ln x = 1/x0 + c ln x0 +
 * 2 sh^2 lambda c t, x ~ 1/(2 sh^2 lambda c t)). Phi is monotone in x on the
 * side of x0 the mode moves to, Phi(x0) = -2 sh^2 t <= 0, and Phi -> +inf at
 * the end point (x* = A/(lambda c) when A > 0, x -> 0 when A <= 0), so the
 * root is bracketed between x0 and that end point. We solve in y = ln x. */
typedef struct traj {
    double A, lam, c, y0, x0, sh2, t, d0;
} traj;

static double traj_phi(const traj *P, double y)
{
    const double lc = P->lam * P->c;
    /* (A - lambda c x)/(A - lambda c x0): positive on x0's side of x* */
    double ratio = (P->A - lc * exp(y)) / P->d0;
    if (!(ratio > 0))
        return INFINITY; /* at or past the fixed point */
    double lr = log(ratio), term1;
    if (P->A == 0) {
        /* the limit -q = (1/x - 1/x0)/(lambda c) = e^{-y} (1 - x/x0)/(lambda c) */
        double dm = -expm1(y - P->y0);
        term1 = dm == 0 ? 0.0 : exp(-y) * dm / lc;
    } else {
        /* -(1/A) ln(1 + A q), q = (1/x0 - 1/x)/(lambda c - A/x0)
         *                       = (1 - x0/x)/(lambda c x0 - A), and
         * 1 + A q = ratio * x0/x: through log1p(z)/z for small z = A q
         * (accurate as A -> 0), through logs otherwise (z is then often
         * close to -1, where 1 + z would cancel) */
        double q = -expm1(P->y0 - y) / -P->d0;
        double z = P->A * q;
        if (fabs(z) < 0.5)
            term1 = -q * (z == 0 ? 1.0 : log1p(z) / z);
        else
            term1 = -(lr + P->y0 - y) / P->A;
    }
    return term1 + lr / P->lam - 2.0 * P->sh2 * P->t;
}

/* Below this ln x, w = e^{y/2} underflows to 0 in double. */
#define TRAJ_Y_MIN (-3000.0)

rbm_status rbm_linear_mode_trajectory(double lambda, double sigma_v, double sigma_h, double w0,
                                      double t, double *w_t)
{
    if (!w_t)
        return RBM_ERR_NULL;
    if (!pos_finite(lambda) || !pos_finite(sigma_v) || !pos_finite(sigma_h) || !pos_finite(w0) ||
        !(isfinite(t) && t >= 0))
        return RBM_ERR_INVALID_ARGUMENT;
    const double sv2 = sigma_v * sigma_v, sh2 = sigma_h * sigma_h, c = sv2 * sh2;
    const double x0 = w0 * w0; /* may underflow: only used next to O(1) terms */
    if (!(c * x0 < 1.0))
        return RBM_ERR_INVALID_ARGUMENT; /* not normalisable */
    const double A = lambda - sv2;
    if (t == 0) {
        *w_t = w0;
        return RBM_OK;
    }
    const double y0 = 2.0 * log(w0);
    traj P = {.A = A, .lam = lambda, .c = c, .y0 = y0, .x0 = x0, .sh2 = sh2, .t = t};
    P.d0 = A - lambda * c * x0;
    if (P.d0 == 0) { /* at the fixed point */
        *w_t = w0;
        return RBM_OK;
    }
    double ya = y0, fa = traj_phi(&P, ya), yb, fb;
    if (!(fa < 0)) {
        *w_t = w0;
        return RBM_OK;
    }
    if (A > 0) {
        yb = log(A / (lambda * c)); /* Phi = +inf at x* */
        fb = INFINITY;
    } else {
        /* x decays at least as fast as x0 e^{2 sh^2 A t} and as
         * 1/(1/x0 + 2 sh^2 lambda c t): start just below both bounds and
         * step down until Phi > 0 */
        double up = fmin(y0 + 2.0 * sh2 * A * t, y0 - log1p(2.0 * sh2 * lambda * c * t * x0));
        double step = 1.0;
        yb = fmax(fmin(up, y0) - step, TRAJ_Y_MIN);
        fb = traj_phi(&P, yb);
        for (int i = 0; i < 60 && !(fb > 0) && yb > TRAJ_Y_MIN; i++) {
            step *= 2.0;
            yb = fmax(yb - step, TRAJ_Y_MIN);
            fb = traj_phi(&P, yb);
        }
        if (!(fb > 0)) {
            if (yb <= TRAJ_Y_MIN && !isnan(fb)) { /* the root is below: w underflows */
                *w_t = 0.0;
                return RBM_OK;
            }
            return RBM_ERR_NUMERICAL;
        }
    }
    /* Illinois false position with bisection whenever the bracket fails to
     * halve; stop at |ya - yb| <= 2e-14 (relative 2e-14 in x, 1e-14 in w). */
    bool bisect = false;
    int side = 0;
    for (int it = 0; it < 400; it++) {
        double width = fabs(yb - ya);
        if (width <= 2e-14)
            break;
        double ym;
        if (!bisect && isfinite(fa) && isfinite(fb) && fb != fa)
            ym = ya - fa * (yb - ya) / (fb - fa);
        else
            ym = 0.5 * (ya + yb);
        if (!(ym > fmin(ya, yb) && ym < fmax(ya, yb)))
            ym = 0.5 * (ya + yb);
        if (ym == ya || ym == yb)
            break;
        double fm = traj_phi(&P, ym);
        if (fm == 0) {
            ya = yb = ym;
            break;
        }
        if (fm < 0) {
            if (side == -1 && isfinite(fb))
                fb *= 0.5;
            ya = ym;
            fa = fm;
            side = -1;
        } else {
            if (side == 1)
                fa *= 0.5;
            yb = ym;
            fb = fm;
            side = 1;
        }
        bisect = fabs(yb - ya) > 0.5 * width;
    }
    *w_t = exp(0.25 * (ya + yb)); /* w = sqrt(x), y = ln x at the bracket's midpoint */
    return RBM_OK;
}
