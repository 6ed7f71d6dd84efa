/* librbm — workers (private): the data-parallel workers of a trainer
 * (trainer.h, "Data-parallel training"): the partition of rows and
 * minibatches, the workers' estimators, the exchange of one step, and the
 * workers' part of a checkpoint. Used by trainer.c and checkpoint.c. */
#ifndef RBM_TRAIN_WORKERS_H
#define RBM_TRAIN_WORKERS_H

#include "core/bytes.h"
#include "core/internal.h"
#include "train/checkpoint.h"

#include <rbm/trainer.h>

typedef struct rbm__workers {
    size_t n;                /* P >= 1 (1: the plain trainer) */
    size_t rank;             /* the one local worker when remote, else 0 */
    bool remote;             /* a collective is installed: only worker `rank` is here */
    rbm_collective_ops ops;  /* valid when remote */
    void *user;
    rbm_estimator_kind kind; /* the estimator every worker is made with */
    size_t k;
    rbm_estimator **more;    /* virtual workers 1..n-1 (n - 1 entries), or NULL */
    rbm_gradient *gw;        /* one worker's gradient, when n > 1 or remote */
    double *buf;             /* the exchange buffer, len doubles, likewise */
    size_t len;
    unsigned char *ran;      /* per local worker: estimated in the current step */
} rbm__workers;

void rbm__workers_free(rbm_context *ctx, rbm__workers *w);

/* true when steps go through the worker path (P > 1 or a collective). */
bool rbm__workers_active(const rbm_trainer *t);

/* Minibatches per epoch of the partition of rows over P workers. */
size_t rbm__workers_nbatches(size_t rows, size_t batch, size_t P);

/* The epoch's row order: one permutation per worker's block (P = 1: the
 * plain trainer's shuffle). */
void rbm__workers_shuffle(rbm_trainer *t);

/* Replace every local worker's estimator (t->est included) by a fresh one
 * of kind and k; all or nothing. */
rbm_status rbm__workers_set_estimator(rbm_trainer *t, rbm_estimator_kind kind, size_t k);

/* The minibatch's gradient, summed over the workers, into t->g (and its
 * reconstruction error into *recon on a monitored step). The local
 * estimators move tentatively: end with rbm__workers_end. */
rbm_status rbm__workers_estimate(rbm_trainer *t, bool monitor, double *recon);
/* Commit (keep) or roll back the local estimators that ran in this step. */
void rbm__workers_end(rbm_trainer *t, bool keep);

/* One worker's estimate (trainer.c): the rows idx[0..n) of the data, with
 * estimator e, into g (weighted as trainer.h says), and the reconstruction
 * error into *recon when monitor. The estimator moves tentatively. */
rbm_status rbm__trainer_estimate(rbm_trainer *t, rbm_estimator *e, const size_t *idx, size_t n,
                                 rbm_gradient *g, bool monitor, double *recon);

/* ---- checkpoint (TRNS version 3, docs/file-format.md) ----
 * The state of the workers 1..P-1 (each: estimator rng, estimator state) in
 * rank order, after the plain fields. Written from the virtual workers, or,
 * with a collective, from the bytes gathered from every worker (collective:
 * every worker calls it; only worker 0's w receives the bytes). */
rbm_status rbm__workers_write_state(const rbm_trainer *t, rbm__wbuf *w);
/* Make the P virtual workers of a trainer being restored (no reshuffle),
 * before its configuration is applied. */
rbm_status rbm__workers_restore(rbm_trainer *t, size_t P);
rbm_status rbm__workers_read_state(rbm_trainer *t, rbm__ckpt_in *in);
/* Every block's entries of the row order lie in the block. */
bool rbm__workers_order_valid(const rbm_trainer *t);
/* With a collective: the same status on every worker, worker 0's (a
 * failed exchange gives RBM_ERR_COLLECTIVE). */
rbm_status rbm__workers_agree(const rbm_trainer *t, rbm_status st);

#endif /* RBM_TRAIN_WORKERS_H */
