/* librbm — sampler_impl: the layout of a sampler (sampler.c only). */
#ifndef RBM_TRAIN_SAMPLER_IMPL_H
#define RBM_TRAIN_SAMPLER_IMPL_H

#include "core/internal.h"

struct rbm_sampler {
    rbm_context *ctx;
    rbm_machine *m;
    const rbm__kern *k;
    rbm_precision prec;
    size_t n;
    rbm_rng rng;
    void *v, *h;   /* chain states, real, n x nv and n x nh */
    void *fv, *fh; /* fields: fh is the hidden field of the current v */
};

#endif /* RBM_TRAIN_SAMPLER_IMPL_H */
