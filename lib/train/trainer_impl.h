/* librbm — trainer_impl: the layout of a trainer (trainer.c, checkpoint.c). */
#ifndef RBM_TRAIN_TRAINER_IMPL_H
#define RBM_TRAIN_TRAINER_IMPL_H

#include "core/internal.h"
#include "train/centering.h"
#include "train/optimizer.h"
#include "train/workers.h"

struct rbm_trainer {
    rbm_context *ctx;
    rbm_machine *m;
    const rbm_dataset *data;
    rbm_precision prec;
    size_t B, nbatches;
    uint64_t seed;
    rbm_rng rng; /* shuffling */
    rbm_estimator *est;
    rbm_gradient *g;
    rbm__optimizer *opt;
    size_t monitor_every;
    rbm_observer_fn obs;
    void *obs_user;
    uint64_t steps, epochs;
    size_t batch_idx;
    size_t *perm;
    void *vbatch, *rec; /* B x nv and B x nvw, compute type */
    double *bw;         /* B: the sample weights of the batch's rows (weighted data only) */
    double mean_w;      /* mean sample weight of the dataset (1 when unweighted) */
    double recon;
    rbm__centering center;
    rbm__workers wk; /* data-parallel workers (workers.c) */
};

#endif /* RBM_TRAIN_TRAINER_IMPL_H */
