/* librbm — svd: the spectral view of W (docs/theory.md §2.2, §5.1): its SVD
 * with a sign convention, projections of states and datasets onto the
 * modes, the projected gradient and the rotation rates of the modes, and
 * the Marchenko-Pastur bulk estimate. */
#include "analysis/lapack_calls.h"
#include "analysis/svd_impl.h"
#include "data/dataset.h"
#include "train/gradient.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
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

/* ------------------------------------------------------------------------ */
/* sign convention                                                          */

bool rbm__svd_sign_fix_needed(const double *X, size_t n, size_t ld, size_t col)
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

void rbm__svd_flip_column(double *X, size_t n, size_t ld, size_t col)
{
    for (size_t i = 0; i < n; i++)
        X[i * ld + col] = -X[i * ld + col];
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

rbm_status rbm__svd_alloc(const rbm_machine *m, rbm_svd **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_context *ctx = mv->ctx;
    size_t nv = mv->nvw, nh = mv->nh, r = nv < nh ? nv : nh, nw, nu, nvv, ni;
    /* the machine guarantees nv, nh <= INT_MAX and nv * nh * 8 fits */
    if (!rbm__mul_ok(nv, nh, &nw) || !rbm__mul_ok(nv, r, &nu) || !rbm__mul_ok(nh, r, &nvv) ||
        !rbm__mul_ok(r, 8, &ni) || ni > (size_t)INT_MAX || !rbm__blas_int_ok(nv) ||
        !rbm__blas_int_ok(nh))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "SVD of a %zu x %zu matrix is too large", nv,
                         nh);
    rbm_svd *s;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *s, &s, "svd");
    if (st)
        return st;
    s->ctx = ctx;
    s->nv = nv;
    s->nsites = mv->nv;
    s->nq = mv->nq;
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
    /* workspace query (the layout of the factors: see rbm__lapack_svd) */
    double q = 0;
    lapack_int info = rbm__lapack_svd(true, nv, nh, s->A, s->w, s->Vt, s->U, &q, -1, s->iwork);
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

rbm_status rbm__svd_compute(rbm_svd *s, const double *W)
{
    size_t nv = s->nv, nh = s->nh, r = s->r;
    rbm_status st = rbm__check_finite(s->ctx, W, nv * nh, "weights");
    if (st)
        return st;
    memcpy(s->A, W, nv * nh * sizeof(double));
    lapack_int info =
        rbm__lapack_svd(true, nv, nh, s->A, s->w, s->Vt, s->U, s->work, s->lwork, s->iwork);
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
        if (rbm__svd_sign_fix_needed(s->U, nv, r, a)) {
            rbm__svd_flip_column(s->U, nv, r, a);
            rbm__svd_flip_column(s->V, nh, r, a);
        }
    }
    return RBM_OK;
}

rbm_status rbm_svd_new(const rbm_machine *m, rbm_svd **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (out)
        *out = NULL;
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "rbm_svd_new: out is NULL");
    rbm_svd *s;
    rbm_status st = rbm__svd_alloc(m, &s);
    if (st)
        return st;
    if ((st = rbm__svd_compute(s, mv->W))) {
        rbm_svd_free(s);
        return st;
    }
    *out = s;
    return RBM_OK;
}

rbm_status rbm_svd_update(rbm_svd *s, const rbm_machine *m)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!s)
        return RBM_ERR_NULL;
    if (!m)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "rbm_svd_update: machine is NULL");
    if (mv->nvw != s->nv || mv->nh != s->nh || mv->nq != s->nq)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_update: machine's W is %zu x %zu (%zu states per visible "
                         "unit), the decomposition was made for %zu x %zu (%zu)",
                         mv->nvw, mv->nh, mv->nq, s->nv, s->nh, s->nq);
    return rbm__svd_compute(s, mv->W);
}

size_t rbm_svd_rank(const rbm_svd *s)
{
    return s ? s->r : 0;
}

rbm_status rbm_svd_get_singular_values(const rbm_svd *s, double *w, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(s->ctx, w, len, s->r, "singular value buffer");
    if (st)
        return st;
    memcpy(w, s->w, s->r * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_svd_get_left_vectors(const rbm_svd *s, double *U, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(s->ctx, U, len, s->nv * s->r, "left vector buffer");
    if (st)
        return st;
    memcpy(U, s->U, s->nv * s->r * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_svd_get_right_vectors(const rbm_svd *s, double *V, size_t len)
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

rbm_status rbm__svd_check_dataset(const rbm_svd *s, const rbm_dataset *data, size_t n_modes,
                                  const char *what)
{
    rbm_status st;
    if (!data)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "%s: dataset is NULL", what);
    if ((st = check_modes(s, n_modes, what)))
        return st;
    if (rbm__dataset_cols(data) != s->nsites)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "%s: dataset has %zu columns, the machine has %zu visible units", what,
                         rbm__dataset_cols(data), s->nsites);
    return RBM_OK;
}

/* out (B x K) = X (B x n) Y[:, :K] with Y n x r row-major. */
static void project_rows(size_t B, size_t n, const double *X, const double *Y, size_t r, size_t K,
                         double *out)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)K, (int)n, 1.0, X,
                (int)n, Y, (int)r, 0.0, out, (int)K);
}

/* out (B x K): s_alpha = sum_i U[i*q + x_i, alpha] for B rows x of N Potts
 * states (the one-hot product without the one-hot vector). */
static void project_potts(const rbm_svd *s, size_t B, const double *x, size_t K, double *out)
{
    const size_t N = s->nsites, q = s->nq, r = s->r;
    for (size_t b = 0; b < B; b++) {
        double *o = out + b * K;
        memset(o, 0, K * sizeof(double));
        for (size_t i = 0; i < N; i++) {
            const double *u = s->U + (i * q + (size_t)x[b * N + i]) * r;
            for (size_t a = 0; a < K; a++)
                o[a] += u[a];
        }
    }
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
        !rbm__blas_int_ok(batch))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%s: batch of %zu states is too large", what,
                         batch);
    if ((st = rbm__check_array(s->ctx, x, x_len, nx, "states")) ||
        (st = rbm__check_array(s->ctx, out, out_len, no, "projection buffer")) ||
        (st = rbm__check_finite(s->ctx, x, nx, "states")))
        return st;
    if (batch == 0)
        return RBM_OK;
    if (Y == s->U && s->nq > 1) {
        if ((st = rbm__potts_check_states(s->ctx, x, nx, s->nq, what)))
            return st;
        project_potts(s, batch, x, n_modes, out);
        return RBM_OK;
    }
    project_rows(batch, width, x, Y, s->r, n_modes, out);
    return RBM_OK;
}

rbm_status rbm_svd_project_visible(const rbm_svd *s, size_t batch, const double *x, size_t x_len,
                                   size_t n_modes, double *out, size_t out_len)
{
    if (!s)
        return RBM_ERR_NULL;
    return project_layer(s, s->U, s->nsites, batch, x, x_len, n_modes, out, out_len,
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
    rbm_status st = rbm__svd_check_dataset(s, data, n_modes, "rbm_svd_project_dataset");
    if (st)
        return st;
    size_t no;
    const size_t nrows = rbm__dataset_rows(data);
    if (!rbm__mul_ok(nrows, n_modes, &no))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE,
                         "rbm_svd_project_dataset: %zu rows x %zu modes overflows", nrows,
                         n_modes);
    if ((st = rbm__check_array(s->ctx, out, out_len, no, "projection buffer")))
        return st;
    size_t block = nrows < DATA_BLOCK ? nrows : DATA_BLOCK;
    double *buf;
    if ((st = rbm__xcalloc(s->ctx, block * s->nsites, sizeof(double), &buf, "dataset rows")))
        return st;
    for (size_t start = 0; start < nrows; start += block) {
        size_t n = nrows - start < block ? nrows - start : block;
        rbm__dataset_fetch(data, NULL, start, n, false, buf);
        if (s->nq > 1) {
            if ((st = rbm__potts_check_states(s->ctx, buf, n * s->nsites, s->nq,
                                              "rbm_svd_project_dataset")))
                break;
            project_potts(s, n, buf, n_modes, out + start * n_modes);
        } else {
            project_rows(n, s->nv, buf, s->U, s->r, n_modes, out + start * n_modes);
        }
    }
    rbm__free(s->ctx, buf);
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
    size_t gnv, gnh;
    const double *dW;
    rbm__gradient_shape(g, &gnv, &gnh);
    rbm__gradient_const_arrays(g, &dW, NULL, NULL);
    if (gnv != s->nv || gnh != s->nh)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_project_gradient: gradient is %zu x %zu, the decomposition is "
                         "%zu x %zu",
                         gnv, gnh, s->nv, s->nh);
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
                dW, (int)s->nh, s->V, (int)s->r, 0.0, T, (int)K);
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

void rbm__svd_bulk(const double *w, size_t r, size_t nv, size_t nh, double *sigma_out,
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
    rbm__svd_bulk(s->w, s->r, s->nv, s->nh, &sg, &e, &n);
    if (sigma)
        *sigma = sg;
    if (edge)
        *edge = e;
    if (n_outside)
        *n_outside = n;
    return RBM_OK;
}
