/* librbm — gradient (private): the arrays of a gradient for code outside
 * train/ that computes into or reads them (the EMF negative phase, the SVD
 * projection of a gradient), so that only train/ needs the layout of
 * struct rbm_gradient. */
#ifndef RBM_TRAIN_GRADIENT_H
#define RBM_TRAIN_GRADIENT_H

#include "core/internal.h"

/* dW (nv x nh, row-major), da (nv) and db (nh) of g, borrowed; any of the
 * out pointers may be NULL. */
void rbm__gradient_arrays(rbm_gradient *g, double **dW, double **da, double **db);
/* Shape of g: *nv x *nh weights. */
void rbm__gradient_shape(const rbm_gradient *g, size_t *nv, size_t *nh);
/* The same arrays, read-only. */
void rbm__gradient_const_arrays(const rbm_gradient *g, const double **dW, const double **da,
                                const double **db);

/* max |x| over dW, da and db; +Inf when any element is NaN or infinite. */
double rbm__gradient_max_abs(const rbm_gradient *g);
/* dst = src (same shape, not checked). */
void rbm__gradient_copy(rbm_gradient *dst, const rbm_gradient *src);

#endif /* RBM_TRAIN_GRADIENT_H */
