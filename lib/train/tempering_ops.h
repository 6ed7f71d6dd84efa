/* librbm — tempering_ops (private): the pieces tempering.c shares with
 * tempering_ladder.c (tuning, model selection, BAR, checkpoint part). */
#ifndef RBM_TRAIN_TEMPERING_OPS_H
#define RBM_TRAIN_TEMPERING_OPS_H

#include "core/internal.h"

/* Rung machine of a temperature ladder at beta (parameters written). */
void rbm__tempering_set_rung(rbm_tempering *t, rbm_machine *rung, double beta);
/* A float64 machine of the ladder's shape, kinds and sigmas, zero parameters. */
rbm_status rbm__tempering_new_rung(rbm_tempering *t, rbm_machine **out);
/* Make t->R rung machines from t->beta (temperature ladder) and log Z_0. */
rbm_status rbm__tempering_build_rungs(rbm_tempering *t);
void rbm__tempering_update_log_z0(rbm_tempering *t);
/* Allocate every R- and n-sized buffer (the fields must be NULL); sets t->R. */
rbm_status rbm__tempering_alloc_state(rbm_tempering *t, size_t R, bool betas);
/* Free them (and the rung machines) without freeing t. */
void rbm__tempering_free_state(rbm_tempering *t);
rbm_status rbm__tempering_check_betas(rbm_context *ctx, const double *betas, size_t R);
void rbm__tempering_reset_walkers(rbm_tempering *t);
/* fh of every rung's chains from their v. */
void rbm__tempering_own_fields(rbm_tempering *t);
/* One PT sweep: Gibbs on every rung, swaps, walker tracking. */
void rbm__tempering_sweep(rbm_tempering *t);
/* Work values of pair (r, r+1) for every chain into t->wf, t->wr (and the
 * cross fields into t->xu, t->xd). */
void rbm__tempering_pair_work(rbm_tempering *t, size_t r);
/* F_s(v) without the confinement term, from the field x of v under rung s. */
double rbm__tempering_free_energy(const rbm_tempering *t, size_t s, const double *v,
                                  const double *x);

#endif /* RBM_TRAIN_TEMPERING_OPS_H */
