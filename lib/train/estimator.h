/* librbm — estimator (private): what the trainer needs of an estimator
 * beyond the public API: the gradient of a batch already in the compute
 * type, the data's E[h|v] for the reconstruction error, and the
 * estimator's parts of a checkpoint. */
#ifndef RBM_TRAIN_ESTIMATOR_H
#define RBM_TRAIN_ESTIMATOR_H

#include "core/internal.h"
#include "train/checkpoint.h"

/* rbm_estimator_new with k and the chain count given (m and out not NULL):
 * the trainer's and the checkpoint's way of making one. Errors as
 * rbm_estimator_new, and RBM_ERR_INVALID_ARGUMENT for k = 0 on a kind that
 * counts k. */
rbm_status rbm__estimator_create(rbm_machine *m, rbm_estimator_kind kind, size_t k,
                                 size_t n_chains, size_t max_batch, uint64_t seed,
                                 rbm_estimator **out);

/* Estimate the gradient from a batch already in the machine's compute type
 * (batch <= max_batch, not checked). The persistent state (rng, chains,
 * particles) moves tentatively: the caller ends every call, successful or
 * not, with rbm__estimator_commit (keep the move) or rbm__estimator_rollback
 * (the state as before the call, bit for bit). Errors: RBM_ERR_STATE,
 * RBM_ERR_SHAPE, those of the negative phase (RBM_ERR_NUMERICAL,
 * RBM_ERR_NOT_NORMALIZABLE). */
rbm_status rbm__estimator_compute_real(rbm_estimator *e, size_t batch, const void *v,
                                       rbm_gradient *g);
/* Sample weights of the rows of the batches given to compute from now on
 * (batch values, borrowed: the caller keeps them valid and current; sum > 0
 * is the caller's check), or NULL for unweighted batches. The data term is
 * then the batch mean weighted by w_r / sum_r w_r. */
void rbm__estimator_set_batch_weights(rbm_estimator *e, const double *w);
void rbm__estimator_commit(rbm_estimator *e);
void rbm__estimator_rollback(rbm_estimator *e);

/* E[h|v] of the last batch given to compute (batch x nh, compute type). */
const void *rbm__estimator_positive_hidden(const rbm_estimator *e);

/* ---- checkpoint parts (docs/file-format.md, TRNS) ----
 * config: u32 kind, u64 k. Read into a config that the trainer applies
 * with rbm_trainer_set_estimator. */
typedef struct rbm__estimator_config {
    uint32_t kind;
    uint64_t k;
} rbm__estimator_config;
void rbm__estimator_write_config(const rbm_estimator *e, rbm__wbuf *w);
void rbm__estimator_read_config(rbm__ckpt_in *in, rbm__estimator_config *c);
/* rng: the estimator's generator. */
void rbm__estimator_write_rng(const rbm_estimator *e, rbm__wbuf *w);
rbm_status rbm__estimator_read_rng(rbm_estimator *e, rbm__ckpt_in *in);
/* state: u64 persistent chains (0 unless PCD) and the chains
 * (rbm__sampler_write_state); u64 magnetisation particles (0 unless
 * MF/TAP), and if any, u32 started and, when started, m^v and m^h; for PT
 * only, then the ladder (rbm__estimator_pt_write_state). */
void rbm__estimator_write_state(const rbm_estimator *e, rbm__wbuf *w);
rbm_status rbm__estimator_read_state(rbm_estimator *e, rbm__ckpt_in *in);

#endif /* RBM_TRAIN_ESTIMATOR_H */
