/* librbm — svd_impl: the SVD of W shared by svd.c, mode_tracker.c and pca.c
 * of analysis/ only. */
#ifndef RBM_ANALYSIS_SVD_IMPL_H
#define RBM_ANALYSIS_SVD_IMPL_H

#include "analysis/lapack_calls.h"
#include "core/internal.h"

#include <limits.h>

struct rbm_svd {
    rbm_context *ctx;
    size_t nv, nh, r; /* nv: rows of W (N*q for a Potts visible layer) */
    size_t nsites, nq; /* visible units (sites) and states per unit (1 unless Potts) */
    double *w;  /* r, descending */
    double *U;  /* nv x r row-major, u^alpha in column alpha */
    double *V;  /* nh x r row-major */
    double *A;  /* nv x nh scratch (destroyed by LAPACK) */
    double *Vt; /* r x nh: v^alpha in row alpha (LAPACK output) */
    double *work;
    lapack_int lwork;
    lapack_int *iwork; /* 8 r */
};

static inline bool rbm__blas_int_ok(size_t n)
{
    return n <= (size_t)INT_MAX;
}

/* An rbm_svd for m's shape with its LAPACK workspace (no decomposition yet). */
rbm_status rbm__svd_alloc(const rbm_machine *m, rbm_svd **out);
/* Decompose W (nv x nh, row-major) into s with the sign convention; no
 * allocation. */
rbm_status rbm__svd_compute(rbm_svd *s, const double *W);
/* Whether column col of X (n x ld, row-major) must be flipped for the sign
 * convention: its entry of largest magnitude (the first one within a
 * relative 1e-12 of it) must be positive. */
bool rbm__svd_sign_fix_needed(const double *X, size_t n, size_t ld, size_t col);
void rbm__svd_flip_column(double *X, size_t n, size_t ld, size_t col);
/* A dataset to project: non-NULL, 1 <= n_modes <= rank, nv columns
 * ("what" names the caller in the error). */
rbm_status rbm__svd_check_dataset(const rbm_svd *s, const rbm_dataset *data, size_t n_modes,
                                  const char *what);
/* The Marchenko-Pastur bulk of the r singular values w (descending) of an
 * nv x nh matrix: noise sigma, bulk edge, modes outside. */
void rbm__svd_bulk(const double *w, size_t r, size_t nv, size_t nh, double *sigma_out,
                   double *edge_out, size_t *nout_out);

/* q[a] = |P_k u^a|^2 for the r columns of U (nv x r) (census.c). */
void rbm__census_overlaps(const rbm_census *c, const double *U, size_t r, double *q);
/* Significance flags (may be NULL) and their count: outside the bulk
 * (a < n_outside) and q[a] > 1/2. */
size_t rbm__census_count(const double *q, size_t n_outside, uint8_t *significant, size_t r);

#endif /* RBM_ANALYSIS_SVD_IMPL_H */
