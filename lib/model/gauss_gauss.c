/* librbm — gauss_gauss: the closed forms of a Gauss-Gauss machine
 * (docs/theory.md §1.5).
 *
 * M = sigma_v^{-2} I - sigma_h^2 W W^T is the inverse model covariance. It
 * is built in the lower triangle of a row-major array, which is the upper
 * triangle of the same array read column-major, so LAPACK's column-major
 * dpotrf('U') factors it in place without the transposed copy (and the
 * malloc) of LAPACKE's row-major path; the result read row-major is the
 * lower Cholesky factor L with M = L L^T. dpotrf failing is the
 * normalisability test (M positive definite iff sigma_v^2 sigma_h^2
 * w_1^2 < 1). */
#include "model/gauss_gauss.h"
#include "model/machine_impl.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

bool rbm__gauss_gauss_cholesky(size_t nv, size_t nh, double sv, double sh, const double *W,
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

void rbm__gauss_gauss_solve(size_t nv, size_t k, const double *L, double *X)
{
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)nv, (int)k,
                1.0, L, (int)nv, X, (int)k);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)nv, (int)k,
                1.0, L, (int)nv, X, (int)k);
}

rbm_status rbm__gauss_gauss_not_normalizable(const rbm_machine *m, const double *W,
                                             const char *where)
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

rbm_status rbm__gauss_gauss_covariance(const rbm_machine *m, double *L, double *out,
                                       const char *where)
{
    const size_t nv = m->nv;
    if (!rbm__gauss_gauss_cholesky(nv, m->nh, m->sigma_v, m->sigma_h, m->W, L))
        return rbm__gauss_gauss_not_normalizable(m, m->W, where);
    lapack_int info = LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', (lapack_int)nv, L, (lapack_int)nv);
    if (info != 0)
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "LAPACK dpotri failed (info %d)", (int)info);
    /* the inverse is in the row-major lower triangle */
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j <= i; j++)
            out[i * nv + j] = out[j * nv + i] = L[i * nv + j];
    return RBM_OK;
}

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
    if (!rbm__gauss_gauss_cholesky(nv, nh, m->sigma_v, m->sigma_h, m->W, ws))
        return rbm__gauss_gauss_not_normalizable(m, m->W, "exact Gauss-Gauss statistics");
    memcpy(v, m->a, nv * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nv, (int)nh, sh2, m->W, (int)nh, m->b, 1, 1.0, v,
                1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)nv, ws, (int)nv, v, 1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)nv, ws, (int)nv, v, 1);
    memcpy(h, m->b, nh * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)nv, (int)nh, 1.0, m->W, (int)nh, v, 1, 1.0, h, 1);
    cblas_dscal((int)nh, sh2, h, 1);
    memcpy(vh, m->W, nv * nh * sizeof(double));
    rbm__gauss_gauss_solve(nv, nh, ws, vh);
    cblas_dscal((int)(nv * nh), sh2, vh, 1);
    cblas_dger(CblasRowMajor, (int)nv, (int)nh, 1.0, v, 1, h, 1, vh, (int)nh);
    return RBM_OK;
}

rbm_status rbm__gauss_gauss_log_z(const rbm_machine *m, double *log_z)
{
    rbm_status st = rbm__machine_check_normalizable(m, m->W, m->sigma_v, m->sigma_h);
    if (st)
        return st;
    size_t nv = m->nv, nh = m->nh, n = nv + nh;
    double *P, *x;
    if ((st = rbm__xcalloc(m->ctx, n * n, sizeof(double), &P, "precision matrix")))
        return st;
    if ((st = rbm__xcalloc(m->ctx, n, sizeof(double), &x, "workspace"))) {
        rbm__free(m->ctx, P);
        return st;
    }
    for (size_t i = 0; i < nv; i++) {
        P[i * n + i] = 1.0 / (m->sigma_v * m->sigma_v);
        for (size_t j = 0; j < nh; j++) {
            P[i * n + nv + j] = -m->W[i * nh + j];
            P[(nv + j) * n + i] = -m->W[i * nh + j];
        }
        x[i] = m->a[i];
    }
    for (size_t j = 0; j < nh; j++) {
        P[(nv + j) * n + nv + j] = 1.0 / (m->sigma_h * m->sigma_h);
        x[nv + j] = m->b[j];
    }
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, P, (lapack_int)n);
    double quad = 0, logdet = 0;
    if (info == 0) {
        for (size_t i = 0; i < n; i++)
            logdet += 2.0 * log(P[i * n + i]);
        /* solve L y = x: quad = |y|^2 = x^T P^{-1} x */
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, P, (int)n, x, 1);
        for (size_t i = 0; i < n; i++)
            quad += x[i] * x[i];
    }
    rbm__free(m->ctx, P);
    rbm__free(m->ctx, x);
    if (info != 0)
        return rbm__fail(m->ctx, RBM_ERR_NOT_NORMALIZABLE,
                         "Gauss-Gauss precision matrix is not positive definite (LAPACK info %d)",
                         (int)info);
    *log_z = 0.5 * (double)n * log(2.0 * 3.14159265358979323846) - 0.5 * logdet + 0.5 * quad;
    return RBM_OK;
}
