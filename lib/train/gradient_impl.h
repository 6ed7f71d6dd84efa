/* librbm — gradient_impl: the layout of struct rbm_gradient, for the files of
 * train/ only; other folders use train/gradient.h. */
#ifndef RBM_TRAIN_GRADIENT_IMPL_H
#define RBM_TRAIN_GRADIENT_IMPL_H

#include "core/internal.h"

struct rbm_gradient {
    rbm_context *ctx;
    size_t nv, nh; /* nv: rows of W (the machine's nvw: N*q for Potts) */
    double *dW, *da, *db; /* nv x nh row-major, nv, nh */
    struct rbm__gradient_scratch *gg; /* Gauss-Gauss apply scratch, or NULL */
};

#endif /* RBM_TRAIN_GRADIENT_IMPL_H */
