/* librbm — likelihoods and other training diagnostics (docs/theory.md §1.3,
 * §1.5, §8).
 *
 *   exact log Z      enumeration of the smaller discrete layer (at most
 *                    RBM_EXACT_LOG_Z_MAX_UNITS units) in blocks of states,
 *                    log-sum-exp accumulation, split over the context's
 *                    threads with the same result for every thread count;
 *                    Gauss-Gauss machines in closed form.
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
 * Gauss-Gauss machine uses the closed form of docs/theory.md §1.5. A
 * Potts visible layer (docs/potts.md): the 2^N_h states of a discrete
 * hidden layer (N_h <= RBM_EXACT_LOG_Z_MAX_UNITS) or the q^N visible
 * configurations (q^N <= 2^RBM_EXACT_LOG_Z_MAX_UNITS), whichever are fewer.
 * Exact up to rounding, with the error bound of docs/likelihoods.md
 * ("Exact log Z"); the result does not depend on the context's thread count.
 * Errors: RBM_ERR_NULL, RBM_ERR_UNSUPPORTED (no discrete layer small
 * enough), RBM_ERR_NOT_NORMALIZABLE, RBM_ERR_NUMERICAL, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_exact_log_z(const rbm_machine *m, double *log_z);

/* Sample weights: every data average below (mean free energy,
 * log-likelihood, pseudo-likelihood) is the weighted mean
 * sum_r w_r x_r / sum_r w_r when the dataset has weights
 * (rbm_dataset_set_weights); the reconstruction error is unweighted.
 * Potts visible layers take rows of N state indices. */

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
 * the unit's two values, or over the q states of a Potts site). Discrete
 * visible units only, data exactly in {0,1} (Bernoulli), {-1,+1} (Ising)
 * or {0..q-1} (Potts: N q N_h hidden log-partitions per row).
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
 * the uniform base. A Potts visible layer: the fields of the weighted site
 * frequencies with RBM_POTTS_PSEUDO_COUNT (as
 * rbm_machine_init_visible_bias_from_data sets them; docs/potts.md), and
 * its reverse runs never start from exact samples.
 * Errors: RBM_ERR_SHAPE, RBM_ERR_INVALID_ARGUMENT (Potts data that are not
 * states). */
RBM_API rbm_status rbm_ais_set_base_from_data(rbm_ais *ais, const rbm_dataset *data);

/* Base visible biases given directly (N_v values, N*q for Potts, copied), or, with
 * biases NULL, the machine's own visible biases a: the base is then the
 * machine without couplings and hidden biases, and the path anneals only
 * the couplings (and b). The reverse-start data set of
 * rbm_ais_set_base_from_data is kept. Errors: RBM_ERR_NULL, RBM_ERR_SHAPE,
 * RBM_ERR_NOT_FINITE. */
RBM_API rbm_status rbm_ais_set_base_biases(rbm_ais *ais, const double *biases, size_t len);

/* Reverse AIS needs chains at equilibrium under the machine. When a
 * discrete layer has at most RBM_AIS_EXACT_START_UNITS units they are exact
 * samples (enumeration of that layer; no burn-in). Otherwise they start
 * from data rows (rbm_ais_set_base_from_data) or base samples and run
 * `sweeps` Gibbs sweeps at beta = 1 (default 1000); then the reverse
 * estimate is an upper bound only as far as the chains have mixed. */
#define RBM_AIS_EXACT_START_UNITS 20
RBM_API rbm_status rbm_ais_set_reverse_burn_in(rbm_ais *ais, size_t sweeps);

/* The largest discrete layer enumerated for exact reverse starts (default
 * RBM_AIS_EXACT_START_UNITS, at most RBM_EXACT_LOG_Z_MAX_UNITS; 0: never,
 * always burn in). Up to 20 units a table of 2^n weights is built; beyond,
 * the layer is enumerated in blocks twice (log Z, then the R samples
 * located by streaming: O(R) memory, about twice the time of
 * rbm_exact_log_z, e.g. a few seconds at n = 24 for 100 units on the other
 * side). Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT. */
RBM_API rbm_status rbm_ais_set_exact_start_units(rbm_ais *ais, size_t units);
/* Whether reverse runs start from exact samples with the current setting
 * (0 for NULL). */
RBM_API int32_t rbm_ais_reverse_start_is_exact(const rbm_ais *ais);

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

/* ---- AIS convergence evidence (docs/likelihoods.md) ----
 * The standard error of rbm_ais_run is the delta-method error of the
 * sample mean of the importance weights: honest only when the weights are
 * not heavy-tailed, i.e. when the estimate has converged. The evidence
 * that says whether it has:
 *   ESS = (sum w)^2 / sum w^2 in [1, R]: the number of runs that carry the
 *       estimate (ESS near 1: one run dominates and the error is void);
 *   Var(log w) across runs: for log-normal weights the bias of
 *       log mean(w) is about Var(log w) / 2 when R is well below
 *       exp(Var(log w)), so a variance of more than a few nats^2 means
 *       the estimate is still moving with R;
 *   the bracket: forward AIS is a stochastic lower bound and reverse AIS
 *       (from chains at equilibrium) an upper bound; both converge to
 *       log Z, so the width reverse - forward is a direct measure of what
 *       is left.
 * The evidence of the last rbm_ais_run (ess, log_weight_var; either may be
 * NULL). Errors: RBM_ERR_NULL, RBM_ERR_STATE (no completed run). */
RBM_API rbm_status rbm_ais_diagnostics(const rbm_ais *ais, double *ess, double *log_weight_var);

/* Number of inverse temperatures of the current schedule (0 for NULL),
 * and a copy of them (len must be that number). */
RBM_API size_t rbm_ais_schedule_length(const rbm_ais *ais);
RBM_API rbm_status rbm_ais_get_schedule(const rbm_ais *ais, double *betas, size_t len);

/* Per temperature step k (from betas[k] to betas[k+1]; len = schedule
 * length - 1): the variance across runs of the log-weight increment,
 * averaged over the runs (either direction) made since the schedule was
 * set. Where it concentrates, the schedule is too coarse. Errors:
 * RBM_ERR_NULL, RBM_ERR_STATE (no run with this schedule), RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_ais_get_step_variance(const rbm_ais *ais, double *var, size_t len);

/* Whether a forward/reverse pair has converged: reverse - forward is at
 * most tol nats and not below -2 sqrt(se_fwd^2 + se_rev^2) (an inverted
 * bracket beyond the errors means one of them is off), and both ESS are at
 * least RBM_AIS_MIN_ESS_FRACTION * runs. 1 or 0 (0 for non-finite input,
 * tol < 0 or runs < 2). Pure function, thread-safe. */
#define RBM_AIS_MIN_ESS_FRACTION 0.1
RBM_API int32_t rbm_ais_bracket_converged(double log_z_fwd, double se_fwd, double ess_fwd,
                                          double log_z_rev, double se_rev, double ess_rev,
                                          size_t runs, double tol);

/* Replace the schedule by n temperatures (2..RBM_AIS_MAX_BETAS) placed
 * where the step variances of the runs made with the current schedule
 * concentrate: equal increments of the thermodynamic length
 * sum_k sqrt(Var_k) (+ a uniform tenth of it, so no interval is left
 * empty). For AIS with steps dbeta, Var(log w) ~ sum dbeta^2 V(beta),
 * which for a fixed number of steps is smallest with dbeta ~ V^{-1/2}.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT, RBM_ERR_STATE (no run
 * with the current schedule), RBM_ERR_NUMERICAL, RBM_ERR_NO_MEMORY. */
#define RBM_AIS_MAX_BETAS 100000000
RBM_API rbm_status rbm_ais_adapt_schedule(rbm_ais *ais, size_t n);

/* Forward and reverse AIS with the current schedule; while the pair has not
 * converged (rbm_ais_bracket_converged with tol) and a schedule of
 * 2K - 1 temperatures fits in max_betas, adapt the schedule to 2K - 1
 * temperatures (rbm_ais_adapt_schedule on the runs of the last pair) and
 * run the pair again. The results of the last pair; the final schedule
 * stays set. Any output may be NULL. Errors: those of rbm_ais_run and
 * rbm_ais_adapt_schedule, RBM_ERR_INVALID_ARGUMENT (tol, max_betas);
 * RBM_STOPPED when the progress callback cancels. */
RBM_API rbm_status rbm_ais_run_adaptive(rbm_ais *ais, double tol, size_t max_betas,
                                        double *log_z_fwd, double *se_fwd, double *log_z_rev,
                                        double *se_rev, int32_t *converged);

#ifdef __cplusplus
}
#endif
#endif /* RBM_METRICS_H */
