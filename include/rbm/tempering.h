/* librbm — parallel tempering: replica exchange over a ladder of machines,
 * its tuning, and log Z from the ladder (docs/theory.md §10,
 * docs/sampling.md).
 *
 * A tempering sampler holds R replicas ("rungs") r = 0..R-1 of n chains
 * each. Every rung is an ordinary RBM p_r(v, h) with the unit kinds, sigmas
 * and shape of the machine; the top rung R-1 is the target. Two ladders:
 *
 *   temperature  (rbm_tempering_new) rung r is the machine at inverse
 *                temperature beta_r, 0 = beta_0 < ... < beta_{R-1} = 1:
 *                   W_r = beta_r W,  b_r = beta_r b,
 *                   a_r = (1 - beta_r) a_base + beta_r a,
 *                with a_base the visible biases of a base model (zero by
 *                default: then p_r is exp(-beta_r E) exactly for Bernoulli
 *                and Ising layers). This is the family of intermediate
 *                distributions of AIS (metrics.h) and is normalisable for
 *                every unit pair, Gaussian layers included, since the
 *                confinements are not scaled. beta_0 = 0 is the
 *                independent-site base model, sampled exactly by one sweep.
 *   trajectory   (rbm_tempering_new_models, PTT) rung 0 is the first model
 *                with W = 0 (its biases kept: an independent-site model,
 *                sampled exactly), rungs 1..n_models the given models in
 *                order (e.g. the machines saved along a training run, the
 *                last one the target). The models are copied.
 *
 * One PT sweep (rbm_tempering_run) is, on every rung, h ~ p_r(h|v) then
 * v ~ p_r(v|h), followed by replica-exchange proposals between neighbour
 * rungs: the even pairs (0,1), (2,3), ... after even sweeps, the odd pairs
 * after odd sweeps (deterministic even-odd scheme). The visible states of
 * chain c of rungs r and r+1 are exchanged with probability
 *   min(1, exp(F_r(v_r) + F_{r+1}(v_{r+1}) - F_r(v_{r+1}) - F_{r+1}(v_r))),
 * F_r the free energy of rung r (machine.h). Fields of the sweep are reused:
 * on a temperature ladder the field of v under rung s is (beta_s/beta_r)
 * times its field under rung r, so a swap costs O(n N_h) per pair and no
 * matrix product (except for the beta = 0 rung, one product per sweep).
 *
 * Every chain slot carries a walker label; walker w started on rung
 * w / n_chains. A round trip of a walker is a visit to rung 0, then to rung
 * R-1, then to rung 0 again; the sampler counts them and their length in
 * sweeps.
 *
 * Arithmetic is float64 whatever the machine's precision. The sampler owns
 * one rbm_rng seeded at creation: equal machines, seeds and calls give
 * bit-identical chains (same BLAS and thread count, see sampler.h).
 *
 * THREAD SAFETY: a tempering sampler belongs to its context's threading
 * domain; it must not run concurrently with changes to its machine. */
#ifndef RBM_TEMPERING_H
#define RBM_TEMPERING_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most rungs a ladder may have (creation, tuning). */
#define RBM_TEMPERING_MAX_REPLICAS 1024

/* Create a temperature ladder for machine m (borrowed; it must outlive the
 * sampler) with n_replicas rungs of n_chains chains. betas: n_replicas
 * values, strictly increasing, the first exactly 0 (the independent model,
 * whose log Z is exact), the last exactly 1; NULL for
 * evenly spaced beta_r = r / (R - 1). Chains start from exact samples of
 * the beta = 0 model (independent units). The rungs follow later changes of
 * m only after rbm_tempering_refresh.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (n_replicas < 2 or above
 * RBM_TEMPERING_MAX_REPLICAS, n_chains 0, betas not as required),
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. The caller owns *out (NULL on
 * failure). */
RBM_API rbm_status rbm_tempering_new(rbm_machine *m, size_t n_replicas, const double *betas,
                                     size_t n_chains, uint64_t seed, rbm_tempering **out);

/* Create a trajectory ladder (PTT) over n_models >= 1 models (copied; the
 * caller keeps ownership of its machines and may free them, but each copy
 * lives in the context of its model, so every model's context must outlive
 * the ladder; the ladder reports errors to models[0]'s context): R =
 * n_models + 1 rungs, rung 0
 * the independent-site model of models[0]. All models must have the shape,
 * unit kinds and sigmas of models[0] (RBM_ERR_SHAPE /
 * RBM_ERR_INVALID_ARGUMENT naming the model otherwise).
 * Errors also: RBM_ERR_NULL (models or an entry), RBM_ERR_INVALID_ARGUMENT
 * (n_models 0 -- returned without a message, there being no machine to
 * take a context from -- or too many, n_chains 0), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_tempering_new_models(const rbm_machine *const *models, size_t n_models,
                                            size_t n_chains, uint64_t seed,
                                            rbm_tempering **out);
RBM_API void rbm_tempering_free(rbm_tempering *t);

RBM_API size_t rbm_tempering_replica_count(const rbm_tempering *t);
RBM_API size_t rbm_tempering_chain_count(const rbm_tempering *t);

/* The betas of a temperature ladder (R values). Errors: RBM_ERR_NULL,
 * RBM_ERR_SHAPE (len != R), RBM_ERR_UNSUPPORTED (trajectory ladder). */
RBM_API rbm_status rbm_tempering_get_betas(const rbm_tempering *t, double *out, size_t len);

/* Visible biases of the base model of a temperature ladder (N_v values,
 * e.g. the data's base rates as in AIS: logit of the column means for
 * Bernoulli units); the rungs are rebuilt, chains kept. Errors:
 * RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_NOT_FINITE, RBM_ERR_UNSUPPORTED
 * (trajectory ladder). */
RBM_API rbm_status rbm_tempering_set_base_bias(rbm_tempering *t, const double *a, size_t len);

/* Rebuild the rungs of a temperature ladder from the machine's current
 * parameters (chains kept). A trajectory ladder has nothing to refresh.
 * Errors: RBM_ERR_NULL. */
RBM_API rbm_status rbm_tempering_refresh(rbm_tempering *t);

/* n_sweeps PT sweeps (Gibbs on every rung, then one round of swaps).
 * Errors: RBM_ERR_NULL. */
RBM_API rbm_status rbm_tempering_run(rbm_tempering *t, size_t n_sweeps);

/* States of rung r: visible (n_chains x N_v) and hidden (n_chains x N_h,
 * the last h drawn). walkers: n_chains labels (see above).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (r >= R), RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_tempering_get_visible(const rbm_tempering *t, size_t r, double *out,
                                             size_t len);
RBM_API rbm_status rbm_tempering_get_hidden(const rbm_tempering *t, size_t r, double *out,
                                            size_t len);
RBM_API rbm_status rbm_tempering_get_walkers(const rbm_tempering *t, size_t r, uint64_t *out,
                                             size_t len);

/* Exchange statistics since creation or the last rbm_tempering_reset_stats:
 * acceptance: R - 1 values, the fraction of accepted swap proposals of pair
 * (r, r+1) (NaN when none was proposed); round_trips: completed round trips
 * of all walkers; mean_trip: their mean length in sweeps (NaN when none).
 * Any out pointer of swap_stats may be NULL. Errors: RBM_ERR_NULL (t),
 * RBM_ERR_SHAPE (len != R - 1 with acceptance non-NULL). */
RBM_API rbm_status rbm_tempering_swap_stats(const rbm_tempering *t, double *acceptance,
                                            size_t len, uint64_t *round_trips,
                                            double *mean_trip);
RBM_API rbm_status rbm_tempering_reset_stats(rbm_tempering *t);

/* Automatic ladder (temperature ladders). Repeats up to `rounds` times:
 * run sweeps_per_round sweeps, measure every pair's mean acceptance
 * probability A_r = <min(1, exp(Delta))>, and place the betas at equal
 * steps of the cumulative rejection sum_r (1 - A_r) (piecewise linear in
 * beta), with as many rungs as needed for each step to reach the target
 * acceptance (at most max_replicas; max_replicas = 0 keeps R fixed). It
 * stops early when every pair reaches target. Chains of a new rung start
 * from those of the nearest old rung. The statistics are reset.
 * *reached (may be NULL): 1 if every pair's measured mean acceptance in the
 * last round was >= target. target in (0, 1), default choice 0.3.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (target, rounds 0,
 * sweeps_per_round 0, max_replicas 1 or above the maximum),
 * RBM_ERR_UNSUPPORTED (trajectory ladder), RBM_ERR_NO_MEMORY (the ladder
 * is then that of the last completed round; the chains have moved by the
 * sweeps already run). An invalid argument changes nothing. */
RBM_API rbm_status rbm_tempering_tune(rbm_tempering *t, double target, size_t max_replicas,
                                      size_t rounds, size_t sweeps_per_round, int32_t *reached);

/* Automatic choice of the models of a trajectory ladder: runs `sweeps`
 * sweeps on the current ladder, estimates the mean acceptance between
 * every pair of rungs (r, s), r < s, from their chains, then keeps rung 0,
 * and from each kept rung the farthest later rung whose estimated
 * acceptance with it is >= target (the next one if none is), and the last
 * rung. The ladder is reduced to the kept rungs (their chains kept);
 * keep (may be NULL, capacity keep_len >= the old R) receives the kept old
 * rung indices (0 is the independent model, rung i >= 1 is models[i-1]),
 * *n_kept their number. The statistics are reset.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (target, sweeps 0),
 * RBM_ERR_SHAPE (keep_len), RBM_ERR_UNSUPPORTED (temperature ladder),
 * RBM_ERR_NO_MEMORY (the ladder is then unchanged, the chains possibly
 * moved by the sweeps). Argument errors change nothing. */
RBM_API rbm_status rbm_tempering_select_models(rbm_tempering *t, double target, size_t sweeps,
                                               size_t *keep, size_t keep_len, size_t *n_kept);

/* log Z of the top rung from the ladder: runs n_sweeps sweeps and after
 * every sweep takes, for each neighbour pair (r, r+1) and chain, the work
 * values w_F = F_{r+1}(v_r) - F_r(v_r) and w_R = F_r(v_{r+1}) -
 * F_{r+1}(v_{r+1}); solves Bennett's acceptance-ratio equation for
 * Delta f_r = log Z_r - log Z_{r+1} (Bennett 1976) and sums along the
 * ladder from the exact log Z of rung 0 (independent units):
 *   log Z = log Z_0 - sum_r Delta f_r   (*log_z).
 * exp_fwd / exp_rev: the exponential-average (Zwanzig) estimates of log Z,
 * forward (samples of r) and reverse (samples of r+1), as a check.
 * Standard errors (nats): a delete-one-group jackknife over the chains.
 * Chain c of every rung only ever swaps with chain c of the neighbours, so
 * each chain index is an independent Markov chain over the whole ladder;
 * the n chains are cut into G = min(n, 32) contiguous groups (sizes
 * differing by at most one), each estimate is recomputed without each
 * group, and SE^2 = (G-1)/G sum_g (est_g - mean)^2. This accounts for
 * the correlation of consecutive sweeps and between the pairs of a chain;
 * it has G - 1 degrees of freedom, so use n >= 10 chains (with one chain
 * every standard error is NaN). It does not see a bias common to all
 * chains (a ladder not yet at equilibrium, neighbours that do not
 * overlap): check the swap acceptances and that the three estimates
 * agree. Any out pointer except log_z may be NULL. The sampler moves by
 * n_sweeps sweeps (the statistics count them).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (n_sweeps < 2),
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY (2 n n_sweeps doubles are
 * allocated), RBM_ERR_NUMERICAL (an estimate or error is not finite). */
RBM_API rbm_status rbm_tempering_log_z_estimates(rbm_tempering *t, size_t n_sweeps,
                                                 double *log_z, double *log_z_stderr,
                                                 double *exp_fwd, double *exp_fwd_stderr,
                                                 double *exp_rev, double *exp_rev_stderr);

/* rbm_tempering_log_z_estimates without the errors of the exponential
 * averages (same sweeps, same numbers). */
RBM_API rbm_status rbm_tempering_log_z(rbm_tempering *t, size_t n_sweeps, double *log_z,
                                       double *log_z_stderr, double *exp_fwd, double *exp_rev);

/* Exact log Z of rung 0 (the independent-site model). */
RBM_API double rbm_tempering_base_log_z(const rbm_tempering *t);

/* The sampler's generator (borrowed). */
RBM_API rbm_rng *rbm_tempering_rng(rbm_tempering *t);

#ifdef __cplusplus
}
#endif
#endif /* RBM_TEMPERING_H */
