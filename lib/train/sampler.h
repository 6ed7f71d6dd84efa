/* librbm — sampler (private): Gibbs sweeps in the machine's compute type,
 * the access an estimator needs to a sampler's chains, and their part of a
 * checkpoint. */
#ifndef RBM_TRAIN_SAMPLER_H
#define RBM_TRAIN_SAMPLER_H

#include "core/internal.h"
#include "train/checkpoint.h"

/* k Gibbs sweeps v ~ p(v|h), h ~ p(h|v) on n states in the machine's compute
 * type, starting from the hidden states h_in (which may be h itself) and
 * writing the states to v and h; on return fh holds the hidden field of the
 * final v. */
void rbm__gibbs(const rbm_machine *m, const rbm__kern *k, rbm_rng *rng, size_t n,
                const void *h_in, void *v, void *h, void *fv, void *fh, size_t sweeps);

/* k sweeps of the sampler's chains (no precision check, no allocation). */
void rbm__sampler_sweep(rbm_sampler *s, size_t k);

/* A sampler that can take back its last sweep: allocates a second set of
 * chain states. Errors: RBM_ERR_NO_MEMORY (the sampler is unchanged). */
rbm_status rbm__sampler_enable_undo(rbm_sampler *s);
/* k sweeps into the second set of states, which become the chains; the
 * previous states and rng are kept until commit (forget them) or rollback
 * (restore them bit for bit). No allocation. Needs enable_undo. */
void rbm__sampler_sweep_tentative(rbm_sampler *s, size_t k);
void rbm__sampler_commit(rbm_sampler *s);
void rbm__sampler_rollback(rbm_sampler *s);

/* The chains, borrowed: their number, the visible states (n x nv) and the
 * hidden field of those states (n x nh), in the compute type. */
void rbm__sampler_chains(const rbm_sampler *s, size_t *n, const void **v, const void **fh);

/* Checkpoint part of the chains: their rng, then the visible and hidden
 * states (n x nv, n x nh) as f64. The reader restores them into a sampler
 * with the same number of chains. */
void rbm__sampler_write_state(const rbm_sampler *s, rbm__wbuf *w);
rbm_status rbm__sampler_read_state(rbm_sampler *s, rbm__ckpt_in *in);

#endif /* RBM_TRAIN_SAMPLER_H */
