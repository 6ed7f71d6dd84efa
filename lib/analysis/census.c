/* librbm — census: which modes of W are significant (docs/spectral.md,
 * "A census that holds after training"). The data side is a permutation
 * parallel analysis of the data covariance (each column shuffled on its
 * own: marginals kept, correlations destroyed), which fixes the data's
 * significant principal subspace E_k; a mode of W is significant when it
 * is outside the Marchenko-Pastur bulk and more than half of its left
 * singular vector lies in E_k. */
#include "analysis/lapack_calls.h"
#include "analysis/svd_impl.h"
#include "core/shuffle.h"
#include "data/dataset.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* The covariance of at most CENSUS_FLOPS / N^2 rows (but at least 2 N and
 * at most all of them) is analysed: the cost is (n_null + 1) such
 * covariances. */
#define CENSUS_FLOPS 1e9
/* A mode needs more than this share of |u|^2 in the significant subspace. */
#define CENSUS_MIN_OVERLAP 0.5

struct rbm_census {
    rbm_context *ctx;
    size_t nv;
    size_t rows;     /* rows analysed */
    size_t k;        /* significant principal components */
    size_t n_null;
    double *eig;     /* nv: data covariance eigenvalues, descending */
    double *thr;     /* nv: per rank, the largest null eigenvalue of that rank */
    double *E;       /* nv x k row-major: the significant principal directions */
};

void rbm_census_free(rbm_census *c)
{
    if (!c)
        return;
    rbm_context *ctx = c->ctx;
    rbm__free(ctx, c->eig);
    rbm__free(ctx, c->thr);
    rbm__free(ctx, c->E);
    rbm__free(ctx, c);
}

/* Upper triangle of X^T X / n for the centred n x N matrix X, into C (full
 * symmetric copy). */
static void covariance_of(const double *X, size_t n, size_t N, double *C)
{
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)N, (int)n, 1.0 / (double)n, X,
                (int)N, 0.0, C, (int)N);
}

/* All eigenvalues of the N x N matrix C (destroyed), descending. */
static rbm_status eigenvalues_desc(rbm_context *ctx, size_t N, double *C, double *ev)
{
    lapack_int info = rbm__lapack_sym_eigenvalues(N, C, ev);
    if (info != 0)
        return rbm__fail(ctx, RBM_ERR_NUMERICAL,
                         "rbm_census_new: LAPACK dsyev failed on the %zu x %zu covariance (info "
                         "%d)",
                         N, N, (int)info);
    for (size_t i = 0; i < N / 2; i++) {
        double t = ev[i];
        ev[i] = ev[N - 1 - i];
        ev[N - 1 - i] = t;
    }
    return RBM_OK;
}

/* Every column of X (n x N) permuted independently. */
static void shuffle_columns(rbm_rng *rng, double *X, size_t n, size_t N, size_t *perm,
                            double *col)
{
    for (size_t j = 0; j < N; j++) {
        rbm__shuffle(rng, perm, n);
        for (size_t i = 0; i < n; i++)
            col[i] = X[perm[i] * N + j];
        for (size_t i = 0; i < n; i++)
            X[i * N + j] = col[i];
    }
}

/* The analysed rows of data, centred: every stride-th row. */
static void fetch_centred(const rbm_dataset *data, size_t rows, size_t n, size_t N, size_t *idx,
                          double *X)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = (size_t)((double)i * (double)rows / (double)n);
    rbm__dataset_fetch(data, idx, 0, n, false, X);
    for (size_t j = 0; j < N; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++)
            m += X[i * N + j];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            X[i * N + j] -= m;
    }
}

/* k = the leading ranks whose data eigenvalue exceeds every null one of
 * that rank; then E = the top k eigenvectors of C (destroyed). */
static rbm_status significant_subspace(rbm_census *c, double *C, double *work)
{
    size_t N = c->nv, k = 0;
    while (k < N && c->eig[k] > c->thr[k])
        k++;
    c->k = k;
    if (k == 0)
        return RBM_OK;
    rbm_status st = rbm__xcalloc(c->ctx, N * k, sizeof(double), &c->E, "census subspace");
    if (st)
        return st;
    lapack_int *isuppz = NULL;
    if ((st = rbm__xcalloc(c->ctx, 2 * k, sizeof(lapack_int), &isuppz, "census workspace")))
        return st;
    lapack_int found = 0;
    lapack_int info = rbm__lapack_sym_top(N, C, k, &found, work, c->E, isuppz);
    rbm__free(c->ctx, isuppz);
    if (info != 0 || (size_t)found != k)
        return rbm__fail(c->ctx, RBM_ERR_NUMERICAL,
                         "rbm_census_new: LAPACK dsyevr failed on the %zu x %zu covariance "
                         "(info %d)",
                         N, N, (int)info);
    return RBM_OK;
}

static rbm_status census_check(const rbm_dataset *data, size_t n_null, rbm_census **out)
{
    if (out)
        *out = NULL;
    if (!data || !out)
        return data ? rbm__fail(rbm__dataset_ctx(data), RBM_ERR_NULL, "rbm_census_new: out is NULL")
                    : RBM_ERR_NULL;
    rbm_context *ctx = rbm__dataset_ctx(data);
    size_t N = rbm__dataset_cols(data), rows = rbm__dataset_rows(data);
    if (n_null == 0 || n_null > 10000)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_census_new: n_null must be in 1..10000 (got %zu)", n_null);
    if (rows < 2)
        return rbm__fail(ctx, RBM_ERR_SHAPE, "rbm_census_new: the data need at least 2 rows (has %zu)",
                         rows);
    size_t NN;
    if (!rbm__mul_ok(N, N, &NN) || NN > ((size_t)1 << 31) / sizeof(double) || !rbm__blas_int_ok(N))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "rbm_census_new: the covariance of %zu columns is too large", N);
    return RBM_OK;
}

rbm_status rbm_census_new(const rbm_dataset *data, size_t n_null, uint64_t seed,
                          rbm_census **out)
{
    rbm_status st = census_check(data, n_null, out);
    if (st)
        return st;
    rbm_context *ctx = rbm__dataset_ctx(data);
    size_t N = rbm__dataset_cols(data), rows = rbm__dataset_rows(data);
    double cap = floor(CENSUS_FLOPS / ((double)N * (double)N));
    size_t n = cap < (double)(2 * N) ? 2 * N : cap > (double)rows ? rows : (size_t)cap;
    if (n > rows)
        n = rows;
    size_t nX;
    if (!rbm__mul_ok(n, N, &nX) || n > (size_t)INT_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "rbm_census_new: %zu x %zu rows are too large",
                         n, N);
    rbm_census *c = NULL;
    double *X = NULL, *C = NULL, *ev = NULL, *col = NULL;
    size_t *idx = NULL;
    if ((st = rbm__xcalloc(ctx, 1, sizeof *c, &c, "census")))
        return st;
    c->ctx = ctx;
    c->nv = N;
    c->rows = n;
    c->n_null = n_null;
    if ((st = rbm__xcalloc(ctx, N, sizeof(double), &c->eig, "census")) ||
        (st = rbm__xcalloc(ctx, N, sizeof(double), &c->thr, "census")) ||
        (st = rbm__xcalloc(ctx, nX, sizeof(double), &X, "census rows")) ||
        (st = rbm__xcalloc(ctx, N * N, sizeof(double), &C, "census covariance")) ||
        (st = rbm__xcalloc(ctx, N, sizeof(double), &ev, "census")) ||
        (st = rbm__xcalloc(ctx, n, sizeof(double), &col, "census")) ||
        (st = rbm__xcalloc(ctx, n, sizeof(size_t), &idx, "census")))
        goto done;
    fetch_centred(data, rows, n, N, idx, X);
    if ((st = rbm__check_finite(ctx, X, nX, "rbm_census_new: data")))
        goto done;
    covariance_of(X, n, N, C);
    if ((st = eigenvalues_desc(ctx, N, C, c->eig)))
        goto done;
    rbm_rng rng;
    rbm__rng_init(&rng, ctx, seed);
    for (size_t t = 0; t < n_null; t++) {
        shuffle_columns(&rng, X, n, N, idx, col);
        covariance_of(X, n, N, C);
        if ((st = eigenvalues_desc(ctx, N, C, ev)))
            goto done;
        for (size_t j = 0; j < N; j++)
            if (t == 0 || ev[j] > c->thr[j])
                c->thr[j] = ev[j];
    }
    /* the data covariance again (X is shuffled now: refetch) */
    fetch_centred(data, rows, n, N, idx, X);
    covariance_of(X, n, N, C);
    st = significant_subspace(c, C, ev);
done:
    rbm__free(ctx, X);
    rbm__free(ctx, C);
    rbm__free(ctx, ev);
    rbm__free(ctx, col);
    rbm__free(ctx, idx);
    if (st)
        rbm_census_free(c);
    else
        *out = c;
    return st;
}

size_t rbm_census_n_components(const rbm_census *c)
{
    return c ? c->k : 0;
}

size_t rbm_census_cols(const rbm_census *c)
{
    return c ? c->nv : 0;
}

size_t rbm_census_rows(const rbm_census *c)
{
    return c ? c->rows : 0;
}

rbm_status rbm_census_get_eigenvalues(const rbm_census *c, double *eig, double *null_max,
                                      size_t len)
{
    if (!c)
        return RBM_ERR_NULL;
    rbm_status st;
    if (eig && (st = rbm__check_array(c->ctx, eig, len, c->nv, "rbm_census_get_eigenvalues: eig")))
        return st;
    if (null_max && (st = rbm__check_array(c->ctx, null_max, len, c->nv,
                                           "rbm_census_get_eigenvalues: null_max")))
        return st;
    if (eig)
        memcpy(eig, c->eig, c->nv * sizeof(double));
    if (null_max)
        memcpy(null_max, c->thr, c->nv * sizeof(double));
    return RBM_OK;
}

void rbm__census_overlaps(const rbm_census *c, const double *U, size_t r, double *q)
{
    for (size_t a = 0; a < r; a++) {
        double sum = 0;
        for (size_t b = 0; b < c->k; b++) {
            double d = 0;
            for (size_t i = 0; i < c->nv; i++)
                d += U[i * r + a] * c->E[i * c->k + b];
            sum += d * d;
        }
        q[a] = sum;
    }
}

size_t rbm__census_count(const double *q, size_t n_outside, uint8_t *significant, size_t r)
{
    size_t n = 0;
    for (size_t a = 0; a < r; a++) {
        bool sig = a < n_outside && q[a] > CENSUS_MIN_OVERLAP;
        if (significant)
            significant[a] = sig;
        n += sig;
    }
    return n;
}

rbm_status rbm_svd_significance(const rbm_svd *s, const rbm_census *c, double *overlap,
                                size_t overlap_len, uint8_t *significant, size_t sig_len,
                                size_t *n_significant)
{
    if (!s)
        return RBM_ERR_NULL;
    if (!c)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "rbm_svd_significance: census is NULL");
    if (s->nq > 1)
        return rbm__fail(s->ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_svd_significance: not available for a Potts visible layer (the "
                         "census is of real-valued data columns)");
    if (c->nv != s->nv)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_significance: the census has %zu columns, W has %zu visible "
                         "units",
                         c->nv, s->nv);
    rbm_status st;
    if (overlap && (st = rbm__check_array(s->ctx, overlap, overlap_len, s->r,
                                          "rbm_svd_significance: overlap")))
        return st;
    if (significant && (st = rbm__check_array(s->ctx, significant, sig_len, s->r,
                                              "rbm_svd_significance: significant")))
        return st;
    double *q;
    if ((st = rbm__xcalloc(s->ctx, s->r, sizeof(double), &q, "significance")))
        return st;
    rbm__census_overlaps(c, s->U, s->r, q);
    double sigma, edge;
    size_t n_out;
    rbm__svd_bulk(s->w, s->r, s->nv, s->nh, &sigma, &edge, &n_out);
    size_t n = rbm__census_count(q, n_out, significant, s->r);
    if (overlap)
        memcpy(overlap, q, s->r * sizeof(double));
    if (n_significant)
        *n_significant = n;
    rbm__free(s->ctx, q);
    return RBM_OK;
}

/* ---- reproducibility of modes across decompositions ---- */

rbm_status rbm_svd_mode_overlaps(const rbm_svd *a, const rbm_svd *b, size_t n_b, double *share,
                                 size_t share_len, double *best, size_t best_len,
                                 size_t *best_index, size_t index_len)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!b)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "rbm_svd_mode_overlaps: second decomposition is NULL");
    if (b->nv != a->nv)
        return rbm__fail(a->ctx, RBM_ERR_SHAPE,
                         "rbm_svd_mode_overlaps: the decompositions have %zu and %zu visible "
                         "units",
                         a->nv, b->nv);
    if (n_b < 1 || n_b > b->r)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_svd_mode_overlaps: n_b = %zu, must be in 1..%zu (the second "
                         "decomposition's rank)",
                         n_b, b->r);
    rbm_status st;
    if (share && (st = rbm__check_array(a->ctx, share, share_len, a->r,
                                        "rbm_svd_mode_overlaps: share")))
        return st;
    if (best && (st = rbm__check_array(a->ctx, best, best_len, a->r,
                                       "rbm_svd_mode_overlaps: best")))
        return st;
    if (best_index && (st = rbm__check_array(a->ctx, best_index, index_len, a->r,
                                             "rbm_svd_mode_overlaps: best_index")))
        return st;
    if (!rbm__blas_int_ok(a->nv) || !rbm__blas_int_ok(a->r) || !rbm__blas_int_ok(b->r))
        return rbm__fail(a->ctx, RBM_ERR_TOO_LARGE, "rbm_svd_mode_overlaps: too large for BLAS");
    size_t n;
    if (!rbm__mul_ok(a->r, b->r, &n))
        return rbm__fail(a->ctx, RBM_ERR_TOO_LARGE, "rbm_svd_mode_overlaps: %zu x %zu overlaps",
                         a->r, b->r);
    double *O;
    if ((st = rbm__xcalloc(a->ctx, n, sizeof(double), &O, "mode overlaps")))
        return st;
    /* O = U_a^T U_b (r_a x r_b): O[i*r_b + j] = u_a^i . u_b^j */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)a->r, (int)b->r, (int)a->nv, 1.0,
                a->U, (int)a->r, b->U, (int)b->r, 0.0, O, (int)b->r);
    for (size_t i = 0; i < a->r; i++) {
        const double *row = O + i * b->r;
        double ss = 0, mx = -1;
        size_t arg = 0;
        for (size_t j = 0; j < b->r; j++) {
            if (j < n_b)
                ss += row[j] * row[j];
            if (fabs(row[j]) > mx) {
                mx = fabs(row[j]);
                arg = j;
            }
        }
        if (share)
            share[i] = ss > 1 ? 1 : ss;
        if (best)
            best[i] = mx > 1 ? 1 : mx;
        if (best_index)
            best_index[i] = arg;
    }
    rbm__free(a->ctx, O);
    return RBM_OK;
}
