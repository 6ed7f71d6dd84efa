/* librbm — pca: the principal directions of a dataset (the top eigenpairs of
 * its covariance), their overlaps with the modes of W, and the PCA
 * initialisation of W (docs/theory.md §6). */
#include "analysis/lapack_calls.h"
#include "analysis/svd_impl.h"
#include "data/dataset.h"
#include "model/machine.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Report an error recorded in another object's context (possibly the same
 * context: the message is copied first). */
static rbm_status forward_error(rbm_context *ctx, rbm_status st, const rbm_context *from,
                                const char *what)
{
    char msg[RBM__ERRBUF];
    snprintf(msg, sizeof msg, "%s", rbm_context_last_error(from));
    return rbm__fail(ctx, st, "%s: %s", what, msg);
}

/* Top K eigenpairs of the data's centred covariance: E (nv x K, row-major,
 * column beta = e_beta, descending eigenvalues, sign convention of the
 * singular vectors) and lam (K values, may be NULL). */
static rbm_status top_principal(rbm_context *ctx, const rbm_dataset *data, size_t nv, size_t K,
                                double *E, double *lam)
{
    size_t nc;
    if (!rbm__mul_ok(nv, nv, &nc) || !rbm__mul_ok(nc, sizeof(double), &nc) || !rbm__blas_int_ok(nv))
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
        st = forward_error(ctx, st, rbm__dataset_ctx(data), "cannot compute the data covariance");
        goto done;
    }
    lapack_int found = 0;
    lapack_int info = rbm__lapack_sym_top(nv, C, K, &found, ev, Z, isuppz);
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
        if (rbm__svd_sign_fix_needed(E, nv, K, b))
            rbm__svd_flip_column(E, nv, K, b);
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
    if (s->nq > 1)
        return rbm__fail(s->ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_svd_pca_overlaps: not available for a Potts visible layer (the "
                         "principal directions are of the data columns, not of the one-hot "
                         "encoding)");
    rbm_status st = rbm__svd_check_dataset(s, data, n_modes, "rbm_svd_pca_overlaps");
    if (st)
        return st;
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

rbm_status rbm_machine_init_pca(rbm_machine *m, const rbm_dataset *data, size_t n_modes,
                                double scale)
{
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_machine_init_pca");
    if (potts_st)
        return potts_st;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = mv->ctx;
    if (!data)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_init_pca: dataset is NULL");
    if (rbm__dataset_cols(data) != mv->nv)
        return rbm__fail(ctx, RBM_ERR_SHAPE,
                         "rbm_machine_init_pca: dataset has %zu columns, machine has %zu visible "
                         "units",
                         rbm__dataset_cols(data), mv->nv);
    if (n_modes == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "rbm_machine_init_pca: n_modes is 0");
    if (!isfinite(scale))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_machine_init_pca: scale must be finite (got %g)", scale);
    size_t r = mv->nv < mv->nh ? mv->nv : mv->nh;
    size_t K = n_modes < r ? n_modes : r, nv = mv->nv, nh = mv->nh;
    double *E = NULL, *W = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, nv * K, sizeof(double), &E, "principal directions")) ||
        (st = rbm__xcalloc(ctx, nv * nh, sizeof(double), &W, "initial weights")) ||
        (st = top_principal(ctx, data, nv, K, E, NULL)))
        goto done;
    for (size_t i = 0; i < nv; i++)
        for (size_t a = 0; a < K; a++)
            W[i * nh + a] = scale * E[i * K + a];
    if ((st = rbm__machine_check_normalizable(m, W, mv->sigma_v, mv->sigma_h)))
        goto done;
    double *Wm;
    rbm__machine_params_mut(m, &Wm, NULL, NULL);
    memcpy(Wm, W, nv * nh * sizeof(double));
    rbm__machine_sync(m);
done:
    rbm__free(ctx, E);
    rbm__free(ctx, W);
    return st;
}
