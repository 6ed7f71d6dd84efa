/* librbm — centering (private): the centred gradient of Melchior, Fischer
 * and Wiskott (2016), expressed in the uncentred parameters
 * (docs/theory.md §12), for the trainer. */
#ifndef RBM_TRAIN_CENTERING_H
#define RBM_TRAIN_CENTERING_H

#include "core/internal.h"
#include "train/checkpoint.h"

typedef struct rbm__centering {
    bool on;          /* RBM_TRAINER_CENTERED */
    bool started;     /* offsets set by a first successful step */
    double rate;      /* RBM_TRAINER_CENTERING_RATE */
    size_t nv, nh;
    double *mu, *lam;           /* offsets in use (nv, nh) */
    double *mu_next, *lam_next; /* offsets after the step awaiting commit */
    double *dv, *dh;            /* scratch: data means of the batch */
} rbm__centering;

rbm_status rbm__centering_init(rbm_context *ctx, size_t nv, size_t nh, rbm__centering *c);
void rbm__centering_free(rbm_context *ctx, rbm__centering *c);

/* Transform the ascent direction g (data minus model statistics of the
 * batch of n rows v, with E[h|v] ph, compute type of K) into the centred
 * one with the offsets in use, and prepare the next offsets (committed by
 * rbm__centering_commit when the step succeeds). No allocation. */
void rbm__centering_apply(rbm__centering *c, const rbm__kern *K, size_t n, const void *v,
                          const void *ph, rbm_gradient *g);
void rbm__centering_commit(rbm__centering *c);

/* Checkpoint block (TRNS version 2): f64 rate, u32 started, mu, lam. */
void rbm__centering_write_state(const rbm__centering *c, rbm__wbuf *w);
rbm_status rbm__centering_read_state(rbm__centering *c, rbm__ckpt_in *in);

#endif /* RBM_TRAIN_CENTERING_H */
