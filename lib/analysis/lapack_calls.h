/* librbm — lapack_calls: the LAPACK routines analysis/ uses, in one place.
 * Each is one LAPACKE call and returns LAPACK's info (0 on success). */
#ifndef RBM_ANALYSIS_LAPACK_CALLS_H
#define RBM_ANALYSIS_LAPACK_CALLS_H

#include <lapacke.h>
#include <stdbool.h>
#include <stddef.h>

/* Singular values s (r = min(nv, nh), descending) of the row-major nv x nh
 * matrix A (destroyed), and with `vectors` the thin factors. LAPACK dgesdd
 * runs column-major on the same array, i.e. on A^T (nh x nv) = V S U^T: its
 * left factor is V, stored as r rows of length nh in Vt, and its VT is U^T,
 * whose column-major r x nv layout is exactly row-major U (nv x r). Without
 * vectors, Vt and U are not referenced (pass NULL). lwork = -1 queries the
 * workspace size into work[0]; iwork holds 8 r ints (may be NULL then). */
lapack_int rbm__lapack_svd(bool vectors, size_t nv, size_t nh, double *A, double *s, double *Vt,
                           double *U, double *work, lapack_int lwork, lapack_int *iwork);

/* Eigenvalues (ascending) of the symmetric row-major N x N matrix H (its
 * upper triangle is read; H is destroyed). */
lapack_int rbm__lapack_sym_eigenvalues(size_t N, double *H, double *eig);

/* The K largest eigenvalues (ascending, into ev) and eigenvectors (Z, n x K
 * row-major, column k for ev[k]) of the symmetric row-major n x n matrix C
 * (upper triangle; destroyed); *found receives how many were found;
 * isuppz holds 2 K ints. */
lapack_int rbm__lapack_sym_top(size_t n, double *C, size_t K, lapack_int *found, double *ev,
                               double *Z, lapack_int *isuppz);

/* H (row-major N x N, symmetric positive definite, upper triangle) <- the
 * upper triangle of its inverse, through the Cholesky factor. Non-zero
 * when H is not positive definite (H is then partly overwritten). */
lapack_int rbm__lapack_spd_inverse(size_t N, double *H);

#endif /* RBM_ANALYSIS_LAPACK_CALLS_H */
