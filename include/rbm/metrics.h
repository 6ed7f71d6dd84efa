/* librbm — likelihoods and other training diagnostics (docs/theory.md §1.3,
 * §1.5, §8).
 *
 *   exact log Z      enumeration of the smaller discrete layer (at most
 *                    RBM_EXACT_LOG_Z_MAX_UNITS units), Gray-code field updates,
 *                    log-sum-exp accumulation, split over the context's
 *                    threads; Gauss-Gauss machines in closed form.
 *   AIS              annealed importance sampling from a base machine with
 *                    W = 0 (visible biases from data means, or zero) to the
 *                    machine, forward (a stochastic lower bound of log Z in
 *                    expectation) and reverse (an upper bound when the
 *                    starting chains are at equilibrium), with a standard
 *                    error; the two together bracket log Z.
 *   pseudo-likelihood  exact: every unit of every sample (no random flip).
 *
 * Log-likelihoods are in nats; for Gaussian visible units they are log
 * densities. A "mean" is over the dataset's rows.
 *
 * THREAD SAFETY: functions taking a const machine may run concurrently on
 * the same machine as long as nothing modifies it; an rbm_ais handle belongs
 * to its context's threading domain. */
#ifndef RBM_METRICS_H
#define RBM_METRICS_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest discrete layer rbm_exact_log_z enumerates. */
#define RBM_EXACT_LOG_Z_MAX_UNITS 30

/* Exact log Z. Enumerates the smaller discrete layer (at most
 * RBM_EXACT_LOG_Z_MAX_UNITS units); a
 * Gauss-Gauss machine uses the closed form of docs/theory.md §1.5.
 * Errors: RBM_ERR_NULL, RBM_ERR_UNSUPPORTED (no discrete layer small
 * enough), RBM_ERR_NOT_NORMALIZABLE, RBM_ERR_NUMERICAL, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_exact_log_z(const rbm_machine *m, double *log_z);

/* Mean free energy <F(v)>_data of the rows of data (cols == N_v).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_NOT_FINITE (the mean
 * overflows, e.g. huge Gaussian data). */
RBM_API rbm_status rbm_mean_free_energy(const rbm_machine *m, const rbm_dataset *data,
                                        double *out);

/* Mean log-likelihood of data given log Z (exact or estimated):
 * -<F(v)>_data - log_z. */
RBM_API rbm_status rbm_log_likelihood(const rbm_machine *m, const rbm_dataset *data, double log_z,
                                      double *out);

/* Exact mean log-likelihood (rbm_exact_log_z + rbm_log_likelihood); log_z
 * may be NULL. */
RBM_API rbm_status rbm_exact_log_likelihood(const rbm_machine *m, const rbm_dataset *data,
                                            double *mean_ll, double *log_z);

/* Mean over rows of the exact log pseudo-likelihood
 * sum_i log p(v_i | v_{-i}) (all N_v units, each conditional normalised over
 * the unit's two values). Discrete visible units only, data exactly in
 * {0,1} (Bernoulli) or {-1,+1} (Ising).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_UNSUPPORTED (Gaussian
 * visible), RBM_ERR_OUT_OF_RANGE (non-binary data, with row and column). */
RBM_API rbm_status rbm_pseudo_log_likelihood(const rbm_machine *m, const rbm_dataset *data,
                                             double *mean_pll);

/* Mean squared mean-field reconstruction error of data,
 * mean_{rows,units} (v - E[v | h = E[h|v]])^2. Errors: RBM_ERR_NULL,
 * RBM_ERR_SHAPE, RBM_ERR_NOT_FINITE (the result overflows). */
RBM_API rbm_status rbm_reconstruction_error(const rbm_machine *m, const rbm_dataset *data,
                                            double *out);

/* Free-energy gap <F>_heldout - <F>_train (positive and growing values
 * signal overfitting). */
RBM_API rbm_status rbm_free_energy_gap(const rbm_machine *m, const rbm_dataset *train,
                                       const rbm_dataset *heldout, double *gap);

/* ---- AIS ---- */

/* An AIS estimator for machine m (borrowed; must outlive it and not change
 * during a run). Defaults: 100 runs; the schedule of docs/theory.md §8 (0 to 0.5
 * step 1e-3, to 0.9 step 1e-4, to 1 step 1e-5: 14,501 temperatures); base
 * visible biases 0 (uniform base); reverse chains as described at
 * rbm_ais_set_reverse_burn_in. Arithmetic is float64.
 * Errors: RBM_ERR_NULL, RBM_ERR_UNSUPPORTED (Gauss-Gauss machines: use the
 * closed form), RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_ais_new(const rbm_machine *m, uint64_t seed, rbm_ais **out);
RBM_API void rbm_ais_free(rbm_ais *ais);

/* Number of independent runs (>= 2). */
RBM_API rbm_status rbm_ais_set_runs(rbm_ais *ais, size_t n_runs);

/* Inverse temperatures: n >= 2 values, strictly increasing, betas[0] = 0 and
 * betas[n-1] = 1 (copied). Errors: RBM_ERR_INVALID_ARGUMENT naming the
 * offending index. */
RBM_API rbm_status rbm_ais_set_schedule(rbm_ais *ais, const double *betas, size_t n);

/* n >= 2 equally spaced inverse temperatures from 0 to 1. */
RBM_API rbm_status rbm_ais_set_uniform_schedule(rbm_ais *ais, size_t n);

/* Base-rate model from data: visible biases matching the column means
 * (Bernoulli logit, Ising atanh, both clipped to [1e-3, 1-1e-3] in
 * probability; Gaussian mean / sigma_v^2). Also used by reverse AIS to start
 * its chains from data rows (drawn with the AIS rng) unless
 * rbm_ais_set_reverse_burn_in says otherwise. data may be NULL to go back to
 * the uniform base. Errors: RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_ais_set_base_from_data(rbm_ais *ais, const rbm_dataset *data);

/* Reverse AIS needs chains at equilibrium under the machine. When a
 * discrete layer has at most RBM_AIS_EXACT_START_UNITS units they are exact
 * samples (enumeration of that layer; no burn-in). Otherwise they start
 * from data rows (rbm_ais_set_base_from_data) or base samples and run
 * `sweeps` Gibbs sweeps at beta = 1 (default 1000); then the reverse
 * estimate is an upper bound only as far as the chains have mixed. */
#define RBM_AIS_EXACT_START_UNITS 20
RBM_API rbm_status rbm_ais_set_reverse_burn_in(rbm_ais *ais, size_t sweeps);

/* Progress callback (NULL removes it); called about 100 times per run. */
RBM_API rbm_status rbm_ais_set_progress(rbm_ais *ais, rbm_progress_fn fn, void *user);

/* Run AIS. reverse = 0: forward AIS, log Z_hat = log Z_A + log mean(w).
 * reverse != 0: reverse AIS from chains near the model, log Z_hat =
 * log Z_A - log mean(w_rev). stderr receives the delta-method standard error
 * of log Z_hat, std(w) / (sqrt(R) mean(w)). Either output may be NULL.
 * Returns RBM_STOPPED when the progress callback cancels.
 * Errors: RBM_ERR_NULL, RBM_ERR_NUMERICAL, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_ais_run(rbm_ais *ais, int reverse, double *log_z, double *log_z_stderr);

/* log Z of the base model of the last configuration. */
RBM_API double rbm_ais_base_log_z(const rbm_ais *ais);

#ifdef __cplusplus
}
#endif
#endif /* RBM_METRICS_H */
