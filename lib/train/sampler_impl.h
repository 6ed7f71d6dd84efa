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
    /* Undo (estimator-owned samplers only, rbm__sampler_enable_undo): the
     * states before the last tentative sweep and its rng. */
    void *v_prev, *h_prev;
    rbm_rng rng_prev;
    bool pending;  /* a tentative sweep awaits commit or rollback */
};

#endif /* RBM_TRAIN_SAMPLER_IMPL_H */
