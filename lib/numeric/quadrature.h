/* librbm — quadrature: adaptive Gauss-Kronrod 7/15 integration of a
 * vector-valued integrand over a finite interval. */
#ifndef RBM_NUMERIC_QUADRATURE_H
#define RBM_NUMERIC_QUADRATURE_H

#include <stdbool.h>
#include <stddef.h>

/* Components of one integrand at most. */
#define RBM__QUAD_MAX_NF 12
/* Segments of one integral at most (they live on the stack, about 24 KB,
 * so an integrand may itself integrate). */
#define RBM__QUAD_MAX_SEGS 200

/* out[0..nf) = f(x), nf as given to rbm__quad. */
typedef void (*rbm__quad_fn)(double x, double *out, void *ctx);

/* Integrate the nf components of f (1 <= nf <= RBM__QUAD_MAX_NF) over the
 * partition brk[0] <= ... <= brk[nb-1] (nb <= RBM__QUAD_MAX_SEGS + 1; false
 * without writing out otherwise), starting from one 15-point segment per
 * non-empty interval of the partition and bisecting the segment with the
 * largest error until the summed error estimate (the largest component
 * error of each segment, |Kronrod - Gauss|) is at most tol. Returns false
 * when the segment budget ran out first or a segment could not be split
 * with the total still above 1e3 tol; out then holds the best estimate.
 * An empty partition integrates to 0. */
bool rbm__quad(rbm__quad_fn f, void *ctx, size_t nf, const double *brk, size_t nb, double tol,
               double *out);

#endif /* RBM_NUMERIC_QUADRATURE_H */
