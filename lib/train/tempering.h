/* librbm — tempering (private): what the PT estimator needs of a tempering
 * sampler: the top rung's chains, an undo copy of the whole state, and its
 * part of a checkpoint. */
#ifndef RBM_TRAIN_TEMPERING_H
#define RBM_TRAIN_TEMPERING_H

#include "core/internal.h"
#include "train/checkpoint.h"

/* The chains of rung r (borrowed): visible n x nv and the field of each v
 * under rung r (n x nh), float64. */
void rbm__tempering_chains(const rbm_tempering *t, size_t r, const double **v,
                           const double **fh);

/* A copy of the whole mutable state (chains, walkers, rng, counters,
 * statistics, betas) that restore puts back bit for bit. The copy is made
 * for one sampler and its R; restore needs the same R. */
typedef struct rbm__tempering_saved rbm__tempering_saved;
rbm_status rbm__tempering_saved_new(const rbm_tempering *t, rbm__tempering_saved **out);
void rbm__tempering_saved_free(rbm_context *ctx, rbm__tempering_saved *s);
void rbm__tempering_save(const rbm_tempering *t, rbm__tempering_saved *s);
void rbm__tempering_restore(rbm_tempering *t, const rbm__tempering_saved *s);

/* Place the betas of a temperature ladder from the measured mean
 * acceptances of the last statistics, keeping R (no allocation); rungs
 * rebuilt, statistics reset. Does nothing before any proposal. */
void rbm__tempering_respace(rbm_tempering *t);

/* Checkpoint part: u64 R, u64 n, R betas, u64 sweeps, the rng, then per
 * rung v (n x nv), h (n x nh), fh (n x nh), then R n walker labels (u64),
 * per label the phase (u32) and start (u64), R - 1 acc, prop (u64) and
 * psum (f64), trips (u64) and trip_sum (f64). read_state needs a sampler
 * with the same R and n (the estimator rebuilds one first). */
void rbm__tempering_write_state(const rbm_tempering *t, rbm__wbuf *w);
rbm_status rbm__tempering_read_state(rbm_tempering *t, rbm__ckpt_in *in);
/* The R and n a checkpoint holds, read ahead without moving the cursor. */
rbm_status rbm__tempering_peek_shape(rbm__ckpt_in *in, uint64_t *R, uint64_t *n);

#endif /* RBM_TRAIN_TEMPERING_H */
