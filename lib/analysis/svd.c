/* librbm — the spectral view of W: SVD, projections, projected gradient,
 * Marchenko-Pastur bulk, mode tracking, PCA initialisation (docs/theory.md §2.2,
 * §5.1, §6). */
#include "core/internal.h"

#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <lapacke.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of a dataset converted to double per block (rbm_svd_project_dataset). */
#define DATA_BLOCK 256
/* Bulk estimate: modes above (1 + margin) * edge are outside, margin =
 * max(BULK_MARGIN, Tracy-Widom term) (see svd.h). */
#define BULK_MARGIN 0.02
#define BULK_MAX_ITER 50
/* Sign convention: entries within this relative distance of the largest
 * magnitude count as ties (the lowest index wins). */
#define SIGN_TIE_RTOL 1e-12

struct rbm_svd {
    rbm_context *ctx;
    size_t nv, nh, r;
    double *w;  /* r, descending */
    double *U;  /* nv x r row-major, u^alpha in column alpha */
    double *V;  /* nh x r row-major */
    double *A;  /* nv x nh scratch (destroyed by LAPACK) */
    double *Vt; /* r x nh: v^alpha in row alpha (LAPACK output) */
    double *work;
    lapack_int lwork;
    lapack_int *iwork; /* 8 r */
};

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

/* Report an error recorded in another object's context (possibly the same
 * context: the message is copied first). */
static rbm_status forward_error(rbm_context *ctx, rbm_status st, const rbm_context *from,
                                const char *what)
{
    char msg[RBM__ERRBUF];
    snprintf(msg, sizeof msg, "%s", rbm_context_last_error(from));
    return rbm__fail(ctx, st, "%s: %s", what, msg);
}

/* Whether column `col` of X (n x ld, row-major) must be flipped for the
 * sign convention: its entry of largest magnitude (the first one within a
 * relative SIGN_TIE_RTOL of it) must be positive. */
static bool sign_fix_needed(const double *X, size_t n, size_t ld, size_t col)
{
    double big = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(X[i * ld + col]);
        if (a > big)
            big = a;
    }
    double thr = big * (1.0 - SIGN_TIE_RTOL);
    for (size_t i = 0; i < n; i++)
        if (fabs(X[i * ld + col]) >= thr)
            return X[i * ld + col] < 0;
    return false;
}

static void flip_column(double *X, size_t n, size_t ld, size_t col)
{
    for (size_t i = 0; i < n; i++)
        X[i * ld + col] = -X[i * ld + col];
}

static bool blas_int_ok(size_t n)
{
    return n <= (size_t)INT_MAX;
}

/* ------------------------------------------------------------------------ */
/* decomposition                                                            */

void rbm_svd_free(rbm_svd *s)
{
    if (!s)
        return;
    rbm_context *ctx = s->ctx;
    rbm__free(ctx, s->w);
    rbm__free(ctx, s->U);
    rbm__free(ctx, s->V);
    rbm__free(ctx, s->A);
    rbm__free(ctx, s->Vt);
    rbm__free(ctx, s->work);
    rbm__free(ctx, s->iwork);
    rbm__free(ctx, s);
}

/* Allocate an rbm_svd for m's shape with its LAPACK workspace (no
 * decomposition yet). */
static rbm_status svd_alloc(const rbm_machine *m, rbm_svd **out)
{
    rbm_context *ctx = m->ctx;
    size_t nv = m->nv, nh = m->nh, r = nv < nh ? nv : nh, nw, nu, nvv, ni;
    /* the machine guarantees nv, nh <= INT_MAX and nv * nh * 8 fits */
    if (!rbm__mul_ok(nv, nh, &nw) || !rbm__mul_ok(nv, r, &nu) || !rbm__mul_ok(nh, r, &nvv) ||
        !rbm__mul_ok(r, 8, &ni) || ni > (size_t)INT_MAX || !blas_int_ok(nv) || !blas_int_ok(nh))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "SVD of a %zu x %zu matrix is too large", nv,
                         nh);
    rbm_svd *s;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *s, &s, "svd");
    if (st)
        return st;
    s->ctx = ctx;
    s->nv = nv;
    s->nh = nh;
    s->r = r;
    if ((st = rbm__xcalloc(ctx, r, sizeof(double), &s->w, "singular values")) ||
        (st = rbm__xcalloc(ctx, nu, sizeof(double), &s->U, "left singular vectors")) ||
        (st = rbm__xcalloc(ctx, nvv, sizeof(double), &s->V, "right singular vectors")) ||
        (st = rbm__xcalloc(ctx, nvv, sizeof(double), &s->Vt, "svd workspace")) ||
        (st = rbm__xcalloc(ctx, nw, sizeof(double), &s->A, "svd workspace")) ||
        (st = rbm__xcalloc(ctx, ni, sizeof(lapack_int), &s->iwork, "svd workspace"))) {
        rbm_svd_free(s);
        return st;
    }
    /* Workspace query. LAPACK is called column-major on the row-major W,
     * i.e. on W^T (nh x nv): W^T = V S U^T, so LAPACK's left factor is V
     * (stored as r rows of length nh) and its VT is U^T, whose column-major
     * r x nv layout is exactly row-major U (nv x r). */
    double q = 0;
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', (lapack_int)nh, (lapack_int)nv,
                                          s->A, (lapack_int)nh, s->w, s->Vt, (lapack_int)nh, s->U,
                                          (lapack_int)r, &q, -1, s->iwork);
    if (info != 0 || !(q >= 1)) {
        rbm_svd_free(s);
        return rbm__fail(ctx, RBM_ERR_NUMERICAL,
                         "LAPACK dgesdd workspace query failed (info %d) for a %zu x %zu matrix",
                         (int)info, nv, nh);
    }
    if (q > (double)INT_MAX) {
        rbm_svd_free(s);
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "LAPACK dgesdd needs %.0f workspace elements (more than a LAPACK int)",
                         q);
    }
    s->lwork = (lapack_int)q;
    if ((st = rbm__xcalloc(ctx, (size_t)s->lwork, sizeof(double), &s->work, "svd workspace"))) {
        rbm_svd_free(s);
        return st;
    }
    *out = s;
    return RBM_OK;
}

/* Decompose W (nv x nh, row-major) into s; no allocation. */
static rbm_status svd_compute(rbm_svd *s, const double *W)
{
    size_t nv = s->nv, nh = s->nh, r = s->r;
    rbm_status st = rbm__check_finite(s->ctx, W, nv * nh, "weights");
    if (st)
        return st;
    memcpy(s->A, W, nv * nh * sizeof(double));
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', (lapack_int)nh, (lapack_int)nv,
                                          s->A, (lapack_int)nh, s->w, s->Vt, (lapack_int)nh, s->U,
                                          (lapack_int)r, s->work, s->lwork, s->iwork);
    if (info != 0)
        return rbm__fail(s->ctx, RBM_ERR_NUMERICAL,
                         "LAPACK dgesdd failed on the %zu x %zu weights (info %d%s)", nv, nh,
                         (int)info, info > 0 ? ": no convergence" : "");
    for (size_t a = 0; a < r; a++) {
        const double *src = s->Vt + a * nh;
        for (size_t j = 0; j < nh; j++)
            s->V[j * r + a] = src[j];
    }
    for (size_t a = 0; a < r; a++) {
        if (sign_fix_needed(s->U, nv, r, a)) {
            flip_column(s->U, nv, r, a);
            flip_column(s->V, nh, r, a);
        }
    }
    return RBM_OK;
}

rbm_status rbm_svd_new(const rbm_machine *m, rbm_svd **out)
{
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "rbm_svd_new: out is NULL");
    *out = NULL;
    rbm_svd *s;
    rbm_status st = svd_alloc(m, &s);
    if (st)
        return st;
    if ((st = svd_compute(s, m->W))) {
        rbm_svd_free(s);
        return st;
    }
    *out = s;
    return RBM_OK;
}

rbm_status rbm_svd_update(rbm_svd *s, const rbm_machine *m)
{
    if (!s)
        return RBM_ERR_NULL;
    if (!m)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "rbm_svd_update: machine is NULL");
    if (m->nv != s->nv || m->nh != s->nh)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_update: machine is %zu x %zu, the decomposition was made for "
                         "%zu x %zu",
                         m->nv, m->nh, s->nv, s->nh);
    return svd_compute(s, m->W);
}

size_t rbm_svd_rank(const rbm_svd *s)
{
    return s ? s->r : 0;
}

rbm_status rbm_svd_singular_values(const rbm_svd *s, double *w, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(s->ctx, w, len, s->r, "singular value buffer");
    if (st)
        return st;
    memcpy(w, s->w, s->r * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_svd_left_vectors(const rbm_svd *s, double *U, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(s->ctx, U, len, s->nv * s->r, "left vector buffer");
    if (st)
        return st;
    memcpy(U, s->U, s->nv * s->r * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_svd_right_vectors(const rbm_svd *s, double *V, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(s->ctx, V, len, s->nh * s->r, "right vector buffer");
    if (st)
        return st;
    memcpy(V, s->V, s->nh * s->r * sizeof(double));
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* projections                                                              */

static rbm_status check_modes(const rbm_svd *s, size_t n_modes, const char *what)
{
    if (n_modes == 0 || n_modes > s->r)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: n_modes must be in [1, %zu] (the rank min(N_v, N_h)), got %zu",
                         what, s->r, n_modes);
    return RBM_OK;
}

/* out (B x K) = X (B x n) Y[:, :K] with Y n x r row-major. */
static void project_rows(size_t B, size_t n, const double *X, const double *Y, size_t r, size_t K,
                         double *out)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)K, (int)n, 1.0, X,
                (int)n, Y, (int)r, 0.0, out, (int)K);
}

static rbm_status project_layer(const rbm_svd *s, const double *Y, size_t width, size_t batch,
                                const double *x, size_t x_len, size_t n_modes, double *out,
                                size_t out_len, const char *what)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_modes(s, n_modes, what)))
        return st;
    size_t nx, no;
    if (!rbm__mul_ok(batch, width, &nx) || !rbm__mul_ok(batch, n_modes, &no) ||
        !blas_int_ok(batch))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%s: batch of %zu states is too large", what,
                         batch);
    if ((st = rbm__check_array(s->ctx, x, x_len, nx, "states")) ||
        (st = rbm__check_array(s->ctx, out, out_len, no, "projection buffer")) ||
        (st = rbm__check_finite(s->ctx, x, nx, "states")))
        return st;
    if (batch == 0)
        return RBM_OK;
    project_rows(batch, width, x, Y, s->r, n_modes, out);
    return RBM_OK;
}

rbm_status rbm_svd_project_visible(const rbm_svd *s, size_t batch, const double *x, size_t x_len,
                                   size_t n_modes, double *out, size_t out_len)
{
    if (!s)
        return RBM_ERR_NULL;
    return project_layer(s, s->U, s->nv, batch, x, x_len, n_modes, out, out_len,
                         "rbm_svd_project_visible");
}

rbm_status rbm_svd_project_hidden(const rbm_svd *s, size_t batch, const double *h, size_t h_len,
                                  size_t n_modes, double *out, size_t out_len)
{
    if (!s)
        return RBM_ERR_NULL;
    return project_layer(s, s->V, s->nh, batch, h, h_len, n_modes, out, out_len,
                         "rbm_svd_project_hidden");
}

rbm_status rbm_svd_project_dataset(const rbm_svd *s, const rbm_dataset *data, size_t n_modes,
                                   double *out, size_t out_len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st;
    if (!data)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "rbm_svd_project_dataset: dataset is NULL");
    if ((st = check_modes(s, n_modes, "rbm_svd_project_dataset")))
        return st;
    if (data->cols != s->nv)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_project_dataset: dataset has %zu columns, W has %zu rows "
                         "(visible units)",
                         data->cols, s->nv);
    size_t no;
    if (!rbm__mul_ok(data->rows, n_modes, &no))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE,
                         "rbm_svd_project_dataset: %zu rows x %zu modes overflows", data->rows,
                         n_modes);
    if ((st = rbm__check_array(s->ctx, out, out_len, no, "projection buffer")))
        return st;
    size_t block = data->rows < DATA_BLOCK ? data->rows : DATA_BLOCK;
    double *buf;
    if ((st = rbm__xcalloc(s->ctx, block * s->nv, sizeof(double), &buf, "dataset rows")))
        return st;
    for (size_t start = 0; start < data->rows; start += block) {
        size_t n = data->rows - start < block ? data->rows - start : block;
        rbm__dataset_fetch(data, NULL, start, n, false, buf);
        project_rows(n, s->nv, buf, s->U, s->r, n_modes, out + start * n_modes);
    }
    rbm__free(s->ctx, buf);
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* principal directions of a dataset                                        */

/* Top K eigenpairs of the data's centred covariance: E (nv x K, row-major,
 * column beta = e_beta, descending eigenvalues, sign convention of the
 * singular vectors) and lam (K values, may be NULL). */
static rbm_status top_principal(rbm_context *ctx, const rbm_dataset *data, size_t nv, size_t K,
                                double *E, double *lam)
{
    size_t nc;
    if (!rbm__mul_ok(nv, nv, &nc) || !rbm__mul_ok(nc, sizeof(double), &nc) || !blas_int_ok(nv))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "covariance of %zu columns is too large", nv);
    double *C = NULL, *ev = NULL, *Z = NULL;
    lapack_int *isuppz = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, nv * nv, sizeof(double), &C, "covariance")) ||
        (st = rbm__xcalloc(ctx, nv, sizeof(double), &ev, "eigenvalues")) ||
        (st = rbm__xcalloc(ctx, nv * K, sizeof(double), &Z, "eigenvectors")) ||
        (st = rbm__xcalloc(ctx, 2 * K, sizeof(lapack_int), &isuppz, "eigen workspace")))
        goto done;
    if ((st = rbm_dataset_covariance(data, C, nv * nv))) {
        st = forward_error(ctx, st, data->ctx, "cannot compute the data covariance");
        goto done;
    }
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int)nv, C,
                                     (lapack_int)nv, 0.0, 0.0, (lapack_int)(nv - K + 1),
                                     (lapack_int)nv, 0.0, &found, ev, Z, (lapack_int)K, isuppz);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR) {
        st = rbm__fail(ctx, RBM_ERR_NO_MEMORY, "out of memory in LAPACK dsyevr (%zu x %zu)", nv,
                       nv);
        goto done;
    }
    if (info != 0 || (size_t)found != K) {
        st = rbm__fail(ctx, RBM_ERR_NUMERICAL,
                       "LAPACK dsyevr failed on the %zu x %zu data covariance (info %d, %d of "
                       "%zu eigenvalues found)",
                       nv, nv, (int)info, (int)found, K);
        goto done;
    }
    /* dsyevr returns ascending eigenvalues: reverse */
    for (size_t b = 0; b < K; b++) {
        size_t src = K - 1 - b;
        for (size_t i = 0; i < nv; i++)
            E[i * K + b] = Z[i * K + src];
        if (lam)
            lam[b] = ev[src];
        if (sign_fix_needed(E, nv, K, b))
            flip_column(E, nv, K, b);
    }
    st = RBM_OK;
done:
    rbm__free(ctx, C);
    rbm__free(ctx, ev);
    rbm__free(ctx, Z);
    rbm__free(ctx, isuppz);
    return st;
}

rbm_status rbm_svd_pca_overlaps(const rbm_svd *s, const rbm_dataset *data, size_t n_modes,
                                double *out, size_t out_len, double *eigenvalues, size_t eig_len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st;
    if (!data)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "rbm_svd_pca_overlaps: dataset is NULL");
    if ((st = check_modes(s, n_modes, "rbm_svd_pca_overlaps")))
        return st;
    if (data->cols != s->nv)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_pca_overlaps: dataset has %zu columns, W has %zu rows "
                         "(visible units)",
                         data->cols, s->nv);
    size_t K = n_modes;
    if ((st = rbm__check_array(s->ctx, out, out_len, K * K, "overlap buffer")))
        return st;
    if (eigenvalues && (st = rbm__check_array(s->ctx, eigenvalues, eig_len, K,
                                              "eigenvalue buffer")))
        return st;
    double *E, *lam;
    if ((st = rbm__xcalloc(s->ctx, s->nv * K + K, sizeof(double), &E, "principal directions")))
        return st;
    lam = E + s->nv * K;
    if ((st = top_principal(s->ctx, data, s->nv, K, E, lam)))
        goto done;
    /* out = |U_K^T E| */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)K, (int)s->nv, 1.0, s->U,
                (int)s->r, E, (int)K, 0.0, out, (int)K);
    for (size_t i = 0; i < K * K; i++)
        out[i] = fabs(out[i]);
    if (eigenvalues)
        memcpy(eigenvalues, lam, K * sizeof(double));
done:
    rbm__free(s->ctx, E);
    return st;
}

/* ------------------------------------------------------------------------ */
/* projected gradient                                                       */

rbm_status rbm_svd_project_gradient(const rbm_svd *s, const rbm_gradient *g, size_t n_modes,
                                    double tol, double *G, size_t G_len, double *omega_v,
                                    size_t ov_len, double *omega_h, size_t oh_len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st;
    if (!g)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "rbm_svd_project_gradient: gradient is NULL");
    if ((st = check_modes(s, n_modes, "rbm_svd_project_gradient")))
        return st;
    if (g->nv != s->nv || g->nh != s->nh)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_project_gradient: gradient is %zu x %zu, the decomposition is "
                         "%zu x %zu",
                         g->nv, g->nh, s->nv, s->nh);
    if (!(isfinite(tol) && tol >= 0))
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_svd_project_gradient: tol must be finite and >= 0 (got %g)", tol);
    size_t K = n_modes;
    if ((st = rbm__check_array(s->ctx, G, G_len, K * K, "G buffer")) ||
        (omega_v && (st = rbm__check_array(s->ctx, omega_v, ov_len, K * K, "omega_v buffer"))) ||
        (omega_h && (st = rbm__check_array(s->ctx, omega_h, oh_len, K * K, "omega_h buffer"))))
        return st;
    double *T;
    if ((st = rbm__xcalloc(s->ctx, s->nv * K, sizeof(double), &T, "projection workspace")))
        return st;
    /* T = dW V_K (nv x K), G = U_K^T T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->nv, (int)K, (int)s->nh, 1.0,
                g->dW, (int)s->nh, s->V, (int)s->r, 0.0, T, (int)K);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)K, (int)s->nv, 1.0, s->U,
                (int)s->r, T, (int)K, 0.0, G, (int)K);
    rbm__free(s->ctx, T);
    const double *w = s->w;
    double thr = tol * w[0];
    for (size_t a = 0; a < K; a++) {
        for (size_t b = 0; b < K; b++) {
            double ov = 0, oh = 0;
            if (a != b) {
                if (fabs(w[a] - w[b]) <= thr) {
                    ov = oh = NAN;
                } else {
                    /* (w_a^2 - w_b^2) as a product: exact antisymmetry */
                    double den = (w[a] - w[b]) * (w[a] + w[b]);
                    ov = (w[a] * G[b * K + a] + w[b] * G[a * K + b]) / den;
                    oh = (w[a] * G[a * K + b] + w[b] * G[b * K + a]) / den;
                }
            }
            if (omega_v)
                omega_v[a * K + b] = ov;
            if (omega_h)
                omega_h[a * K + b] = oh;
        }
    }
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Marchenko-Pastur bulk                                                    */

static void bulk_estimate(const double *w, size_t r, size_t nv, size_t nh, double *sigma_out,
                          double *edge_out, size_t *nout_out)
{
    double L = sqrt((double)nv) * sqrt((double)nh);
    double kappa = (double)nh / (double)nv;
    double c = pow(kappa, 0.25) + pow(kappa, -0.25);
    /* 99th percentile of TW1 (2.02) times the relative standard deviation of
     * the largest noise singular value, half that of the largest eigenvalue
     * of R R^T: (nv^-1/2 + nh^-1/2)^(1/3) / (nv^1/2 + nh^1/2) */
    double sv = sqrt((double)nv), sh = sqrt((double)nh);
    double tw = 1.01 * cbrt(1.0 / sv + 1.0 / sh) / (sv + sh);
    double margin = tw > BULK_MARGIN ? tw : BULK_MARGIN;
    size_t n_out = 0, count = 0;
    double sigma = 0, edge = 0;
    for (int it = 0; it < BULK_MAX_ITER; it++) {
        size_t rb = r - n_out;
        if (rb == 0) {
            sigma = 0;
        } else {
            double sum = 0;
            for (size_t a = r; a-- > n_out;) /* smallest first */
                sum += w[a] * w[a];
            sigma = sqrt(sum * ((double)r / (double)rb) / L);
        }
        edge = c * sigma;
        count = 0;
        while (count < r && w[count] > (1.0 + margin) * edge)
            count++;
        if (count == n_out)
            break;
        n_out = count;
    }
    *sigma_out = sigma;
    *edge_out = edge;
    *nout_out = count;
}

rbm_status rbm_svd_bulk(const rbm_svd *s, double *sigma, double *edge, size_t *n_outside)
{
    if (!s)
        return RBM_ERR_NULL;
    double sg, e;
    size_t n;
    bulk_estimate(s->w, s->r, s->nv, s->nh, &sg, &e, &n);
    if (sigma)
        *sigma = sg;
    if (edge)
        *edge = e;
    if (n_outside)
        *n_outside = n;
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* mode tracker                                                             */

struct rbm_mode_tracker {
    rbm_context *ctx;
    const rbm_machine *m;
    size_t K;  /* tracked identities */
    size_t Kc; /* candidate new modes matched against them */
    rbm_svd *svd;
    double *Uid;   /* nv x K: u of each identity at the last record */
    double *O;     /* K x Kc |overlaps| */
    size_t *match; /* K: new mode of each identity */
    size_t *best;  /* K + Kc: best partner of each identity / new mode */
    unsigned char *used; /* Kc + K flags */
    /* records */
    size_t n, cap;
    uint64_t *steps;
    double *edges;
    size_t *nouts;
    double *ws; /* cap x K */
};

void rbm_mode_tracker_free(rbm_mode_tracker *t)
{
    if (!t)
        return;
    rbm_context *ctx = t->ctx;
    rbm_svd_free(t->svd);
    rbm__free(ctx, t->Uid);
    rbm__free(ctx, t->O);
    rbm__free(ctx, t->best);
    rbm__free(ctx, t->match);
    rbm__free(ctx, t->used);
    rbm__free(ctx, t->steps);
    rbm__free(ctx, t->edges);
    rbm__free(ctx, t->nouts);
    rbm__free(ctx, t->ws);
    rbm__free(ctx, t);
}

rbm_status rbm_mode_tracker_new(const rbm_machine *m, size_t n_modes, rbm_mode_tracker **out)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = m->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_mode_tracker_new: out is NULL");
    *out = NULL;
    size_t r = m->nv < m->nh ? m->nv : m->nh;
    if (n_modes == 0 || n_modes > r)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_mode_tracker_new: n_modes must be in [1, %zu] (the rank min(N_v, "
                         "N_h)), got %zu",
                         r, n_modes);
    size_t K = n_modes, Kc = 2 * K < r ? 2 * K : r, nu, np;
    if (!rbm__mul_ok(m->nv, K, &nu) || !rbm__mul_ok(K, Kc, &np))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "mode tracker of %zu modes is too large", K);
    rbm_mode_tracker *t;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *t, &t, "mode tracker");
    if (st)
        return st;
    t->ctx = ctx;
    t->m = m;
    t->K = K;
    t->Kc = Kc;
    if ((st = svd_alloc(m, &t->svd)) ||
        (st = rbm__xcalloc(ctx, nu, sizeof(double), &t->Uid, "mode tracker vectors")) ||
        (st = rbm__xcalloc(ctx, np, sizeof(double), &t->O, "mode tracker overlaps")) ||
        (st = rbm__xcalloc(ctx, K, sizeof(size_t), &t->match, "mode tracker workspace")) ||
        (st = rbm__xcalloc(ctx, K + Kc, sizeof(size_t), &t->best, "mode tracker workspace")) ||
        (st = rbm__xcalloc(ctx, Kc + K, 1, &t->used, "mode tracker workspace"))) {
        rbm_mode_tracker_free(t);
        return st;
    }
    *out = t;
    return RBM_OK;
}

/* Make room for one more record (storage grows geometrically). */
static rbm_status tracker_reserve(rbm_mode_tracker *t)
{
    if (t->n < t->cap)
        return RBM_OK;
    size_t cap = t->cap ? 2 * t->cap : 16, nw;
    if (cap <= t->cap || !rbm__mul_ok(cap, t->K, &nw) ||
        !rbm__mul_ok(nw, sizeof(double), &nw) || !rbm__mul_ok(cap, sizeof(uint64_t), &nw))
        return rbm__fail(t->ctx, RBM_ERR_TOO_LARGE, "mode tracker: too many records (%zu)",
                         t->n);
    uint64_t *steps = NULL;
    double *edges = NULL, *ws = NULL;
    size_t *nouts = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(t->ctx, cap, sizeof *steps, &steps, "mode tracker records")) ||
        (st = rbm__xcalloc(t->ctx, cap, sizeof *edges, &edges, "mode tracker records")) ||
        (st = rbm__xcalloc(t->ctx, cap, sizeof *nouts, &nouts, "mode tracker records")) ||
        (st = rbm__xcalloc(t->ctx, cap * t->K, sizeof *ws, &ws, "mode tracker records"))) {
        rbm__free(t->ctx, steps);
        rbm__free(t->ctx, edges);
        rbm__free(t->ctx, nouts);
        rbm__free(t->ctx, ws);
        return st;
    }
    if (t->n) {
        memcpy(steps, t->steps, t->n * sizeof *steps);
        memcpy(edges, t->edges, t->n * sizeof *edges);
        memcpy(nouts, t->nouts, t->n * sizeof *nouts);
        memcpy(ws, t->ws, t->n * t->K * sizeof *ws);
    }
    rbm__free(t->ctx, t->steps);
    rbm__free(t->ctx, t->edges);
    rbm__free(t->ctx, t->nouts);
    rbm__free(t->ctx, t->ws);
    t->steps = steps;
    t->edges = edges;
    t->nouts = nouts;
    t->ws = ws;
    t->cap = cap;
    return RBM_OK;
}

/* Greedy maximum-|overlap| matching of the K identities (Uid) against the
 * first Kc new modes (svd->U): t->match[id] = new mode. Pairs are ordered
 * by |overlap| (descending), then identity, then mode (ascending), a total
 * order. Greedy matching takes the pairs in that order, skipping those whose
 * identity or mode is taken; for distinct weights this equals repeatedly
 * taking every pair that is the best of both its row and its column among
 * the free ones (a locally dominant pair is in the greedy matching, and the
 * best remaining pair always is locally dominant). Each round costs one
 * scan of the free part of O, and no K x Kc sort is needed. */
static void tracker_match(rbm_mode_tracker *t)
{
    const size_t K = t->K, Kc = t->Kc, nv = t->svd->nv, r = t->svd->r;
    unsigned char *mode_used = t->used, *id_done = t->used + Kc;
    size_t *best_mode = t->best, *best_id = t->best + K;
    double *O = t->O;
    memset(t->used, 0, Kc + K);
    /* O = |Uid^T U_Kc| */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)Kc, (int)nv, 1.0, t->Uid,
                (int)K, t->svd->U, (int)r, 0.0, O, (int)Kc);
    for (size_t i = 0; i < K * Kc; i++)
        O[i] = fabs(O[i]);
    size_t left = K;
    while (left > 0) {
        /* best free mode of each free identity (ties: lower mode) */
        for (size_t id = 0; id < K; id++) {
            if (id_done[id])
                continue;
            const double *row = O + id * Kc;
            size_t bm = Kc;
            for (size_t b = 0; b < Kc; b++)
                if (!mode_used[b] && (bm == Kc || row[b] > row[bm]))
                    bm = b;
            best_mode[id] = bm;
        }
        /* best free identity of each free mode (ties: lower identity) */
        for (size_t b = 0; b < Kc; b++)
            best_id[b] = K;
        for (size_t id = 0; id < K; id++) {
            if (id_done[id])
                continue;
            const double *row = O + id * Kc;
            for (size_t b = 0; b < Kc; b++)
                if (!mode_used[b] && (best_id[b] == K || row[b] > O[best_id[b] * Kc + b]))
                    best_id[b] = id;
        }
        /* take the mutually best pairs */
        for (size_t id = 0; id < K; id++) {
            if (id_done[id])
                continue;
            size_t b = best_mode[id];
            if (best_id[b] == id) {
                t->match[id] = b;
                id_done[id] = 1;
                mode_used[b] = 1;
                left--;
            }
        }
    }
}

rbm_status rbm_mode_tracker_record(rbm_mode_tracker *t, uint64_t step)
{
    if (!t)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = tracker_reserve(t)) || (st = svd_compute(t->svd, t->m->W)))
        return st;
    const rbm_svd *s = t->svd;
    const size_t K = t->K, nv = s->nv, r = s->r;
    if (t->n == 0) {
        for (size_t id = 0; id < K; id++)
            t->match[id] = id;
    } else {
        tracker_match(t);
    }
    double *wrec = t->ws + t->n * K;
    for (size_t id = 0; id < K; id++) {
        size_t a = t->match[id];
        wrec[id] = s->w[a];
        for (size_t i = 0; i < nv; i++)
            t->Uid[i * K + id] = s->U[i * r + a];
    }
    double sigma;
    bulk_estimate(s->w, r, s->nv, s->nh, &sigma, &t->edges[t->n], &t->nouts[t->n]);
    t->steps[t->n] = step;
    t->n++;
    return RBM_OK;
}

size_t rbm_mode_tracker_records(const rbm_mode_tracker *t)
{
    return t ? t->n : 0;
}

size_t rbm_mode_tracker_n_modes(const rbm_mode_tracker *t)
{
    return t ? t->K : 0;
}

rbm_status rbm_mode_tracker_get(const rbm_mode_tracker *t, size_t k, uint64_t *step, double *w,
                                size_t w_len, double *edge, size_t *n_outside)
{
    if (!t)
        return RBM_ERR_NULL;
    if (k >= t->n)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_mode_tracker_get: record %zu requested, %zu recorded", k, t->n);
    if (w) {
        rbm_status st = rbm__check_array(t->ctx, w, w_len, t->K, "singular value buffer");
        if (st)
            return st;
        memcpy(w, t->ws + k * t->K, t->K * sizeof(double));
    }
    if (step)
        *step = t->steps[k];
    if (edge)
        *edge = t->edges[k];
    if (n_outside)
        *n_outside = t->nouts[k];
    return RBM_OK;
}

/* strerror_r is the XSI (int) or the GNU (char *) variant depending on the
 * feature macros in effect: handle both. */
static void errno_from_int(int rc, char *buf, size_t cap, int err)
{
    if (rc != 0)
        snprintf(buf, cap, "error %d", err);
}

static void errno_from_ptr(const char *m, char *buf, size_t cap, int err)
{
    (void)err;
    if (m != buf)
        snprintf(buf, cap, "%s", m ? m : "unknown error");
}

static void describe_errno(int err, char *buf, size_t cap)
{
    buf[0] = '\0';
    _Generic(strerror_r(err, buf, cap), int: errno_from_int, default: errno_from_ptr)(
        strerror_r(err, buf, cap), buf, cap, err);
}

rbm_status rbm_mode_tracker_write_csv(const rbm_mode_tracker *t, const char *path)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!path)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "rbm_mode_tracker_write_csv: path is NULL");
    char why[160];
    FILE *f = fopen(path, "w");
    if (!f) {
        describe_errno(errno, why, sizeof why);
        return rbm__fail(t->ctx, RBM_ERR_IO, "cannot open %s for writing: %s", path, why);
    }
    /* numbers always use '.', whatever LC_NUMERIC the program has set */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old_loc = cloc ? uselocale(cloc) : (locale_t)0;
    int bad = fprintf(f, "step,edge,n_outside") < 0;
    for (size_t id = 0; id < t->K && !bad; id++)
        bad = fprintf(f, ",w%zu", id) < 0;
    bad = bad || fputc('\n', f) == EOF;
    for (size_t k = 0; k < t->n && !bad; k++) {
        bad = fprintf(f, "%" PRIu64 ",%.17g,%zu", t->steps[k], t->edges[k], t->nouts[k]) < 0;
        const double *w = t->ws + k * t->K;
        for (size_t id = 0; id < t->K && !bad; id++)
            bad = fprintf(f, ",%.17g", w[id]) < 0;
        bad = bad || fputc('\n', f) == EOF;
    }
    int err = bad || ferror(f) ? (errno ? errno : EIO) : 0;
    if (cloc) {
        uselocale(old_loc);
        freelocale(cloc);
    }
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (err) {
        describe_errno(err, why, sizeof why);
        return rbm__fail(t->ctx, RBM_ERR_IO, "cannot write %s: %s", path, why);
    }
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* PCA initialisation                                                       */

rbm_status rbm_machine_init_pca(rbm_machine *m, const rbm_dataset *data, size_t n_modes,
                                double scale)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = m->ctx;
    if (!data)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_init_pca: dataset is NULL");
    if (data->cols != m->nv)
        return rbm__fail(ctx, RBM_ERR_SHAPE,
                         "rbm_machine_init_pca: dataset has %zu columns, machine has %zu visible "
                         "units",
                         data->cols, m->nv);
    if (n_modes == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "rbm_machine_init_pca: n_modes is 0");
    if (!isfinite(scale))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_machine_init_pca: scale must be finite (got %g)", scale);
    size_t r = m->nv < m->nh ? m->nv : m->nh;
    size_t K = n_modes < r ? n_modes : r, nv = m->nv, nh = m->nh;
    double *E = NULL, *W = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, nv * K, sizeof(double), &E, "principal directions")) ||
        (st = rbm__xcalloc(ctx, nv * nh, sizeof(double), &W, "initial weights")) ||
        (st = top_principal(ctx, data, nv, K, E, NULL)))
        goto done;
    for (size_t i = 0; i < nv; i++)
        for (size_t a = 0; a < K; a++)
            W[i * nh + a] = scale * E[i * K + a];
    if ((st = rbm__machine_check_normalizable(m, W, m->sigma_v, m->sigma_h)))
        goto done;
    memcpy(m->W, W, nv * nh * sizeof(double));
    rbm__machine_sync(m);
done:
    rbm__free(ctx, E);
    rbm__free(ctx, W);
    return st;
}
