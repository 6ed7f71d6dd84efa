/* librbm — persistent Gibbs chains.
 *
 * A sampler holds n_chains chains of a machine, each a joint state (v, h)
 * in which h was drawn from p(h|v) under the machine's parameters at the
 * time. One Gibbs step is the sweep v ~ p(v|h), then h ~ p(h|v). The chains
 * see the machine's current parameters at every step (the machine is
 * borrowed, not copied). Arithmetic follows the machine's precision at the
 * time the sampler was created.
 *
 * Each sampler owns an rbm_rng (see rng.h for the algorithm), seeded at
 * creation: the same machine, seed and calls give bit-identical chains as
 * long as the BLAS library and its thread count are the same (OpenBLAS sums
 * matrix products in a different order with another thread count, in float32
 * and float64 alike; see docs/concepts.md, "Reproducibility").
 *
 * THREAD SAFETY: a sampler belongs to its context's threading domain; it
 * must not run concurrently with changes to its machine. */
#ifndef RBM_SAMPLER_H
#define RBM_SAMPLER_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create n_chains chains started from random states: each visible unit
 * uniform on {0,1} / {-1,+1}, N(0, sigma_v^2) for Gaussian units, uniform
 * on the q states of a Potts site (a chain's visible state is then N state
 * indices; set_visible checks each is an integer in 0..q-1); then
 * h ~ p(h|v). Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (n_chains 0),
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. The caller owns *out; the machine
 * must outlive it. */
RBM_API rbm_status rbm_sampler_new(rbm_machine *m, size_t n_chains, uint64_t seed,
                                   rbm_sampler **out);
RBM_API void rbm_sampler_free(rbm_sampler *s);

RBM_API size_t rbm_sampler_chain_count(const rbm_sampler *s);

/* Restart every chain from a random state (as at creation). */
RBM_API rbm_status rbm_sampler_init_random(rbm_sampler *s);

/* Restart chain c from row r_c of data, with the rows r_c drawn uniformly
 * with replacement using the sampler's rng; then h ~ p(h|v).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (columns != n_visible). */
RBM_API rbm_status rbm_sampler_init_from_data(rbm_sampler *s, const rbm_dataset *data);

/* Run k Gibbs steps on every chain. k = 0 does nothing.
 * Errors: RBM_ERR_NULL, RBM_ERR_STATE (machine precision changed since the
 * sampler was created). */
RBM_API rbm_status rbm_sampler_run(rbm_sampler *s, size_t k);

/* Read the chains' visible (n_chains x N_v) or hidden (n_chains x N_h)
 * states. Errors: RBM_ERR_NULL, RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_sampler_get_visible(const rbm_sampler *s, double *out, size_t len);
RBM_API rbm_status rbm_sampler_get_hidden(const rbm_sampler *s, double *out, size_t len);

/* Set the visible states of all chains (n_chains x N_v); hidden states are
 * then drawn from p(h|v). Values are not projected onto the support.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_NOT_FINITE. */
RBM_API rbm_status rbm_sampler_set_visible(rbm_sampler *s, const double *v, size_t len);

/* Draw a dataset of n_rows visible samples from the chains (e.g. a
 * synthetic alignment from rbm_machine_new_planted_potts, docs/potts.md):
 * burn_in Gibbs steps on every chain, then the chains' visible states are
 * taken as rows (chain order), thin steps between takes, until n_rows rows
 * are stored; the last take may use only the first chains. Rows from one
 * chain are correlated unless thin exceeds its mixing time; one chain per
 * row (n_chains = n_rows) gives independent rows, whose quality rests on
 * burn_in alone. Types: Potts states as a categorical uint8 dataset (q =
 * the machine's, no alphabet: add one with rbm_dataset_set_categories),
 * Bernoulli {0,1} as uint8, Ising +-1 as float32, Gaussian values as
 * float64. The chains are left where the last take found them; the same
 * sampler seed and calls give the same dataset (as rbm_sampler_run).
 * The caller owns *out (NULL on error).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (n_rows 0; n_rows >
 * n_chains with thin 0), RBM_ERR_STATE (as rbm_sampler_run),
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY; on error no chain has moved. */
RBM_API rbm_status rbm_sampler_draw_dataset(rbm_sampler *s, size_t n_rows, size_t burn_in,
                                            size_t thin, rbm_dataset **out);

/* The sampler's generator (borrowed; valid while the sampler lives), e.g.
 * to save or restore its state with rbm_rng_get_state/set_state. */
RBM_API rbm_rng *rbm_sampler_rng(rbm_sampler *s);

#ifdef __cplusplus
}
#endif
#endif /* RBM_SAMPLER_H */
