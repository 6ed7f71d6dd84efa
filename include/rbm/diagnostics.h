/* librbm — mixing diagnostics of Markov chains (docs/theory.md §11,
 * docs/sampling.md).
 *
 * The integrated autocorrelation time of a scalar observable x_t of a
 * stationary chain is
 *   tau_int = 1 + 2 sum_{t >= 1} rho(t),
 * rho the normalised autocorrelation, so that the variance of the mean of n
 * consecutive values is about tau_int Var(x) / n and the effective sample
 * size is ESS = n / tau_int. (Sokal's tau is half of this one; his
 * ESS = n / (2 tau) is the same number.) For an AR(1) process with
 * coefficient phi, tau_int = (1 + phi) / (1 - phi).
 *
 * The sum is cut by Sokal's automatic window: the smallest M with
 * M >= c max(tau(M), 1), tau(M) = 1 + 2 sum_{t=1..M} rho(t) (c = 5 is
 * usual; the max keeps anticorrelated chains, tau < 1, from stopping at
 * M = 1).
 *
 * THREAD SAFETY: pure functions on caller arrays; any thread. */
#ifndef RBM_DIAGNOSTICS_H
#define RBM_DIAGNOSTICS_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tau_int and ESS of n_series independent chains of one observable
 * recorded over n_steps steps: x is n_steps x n_series, row-major (x[t *
 * n_series + c] is chain c at step t). Each chain is centred on its own
 * mean; the autocovariances are averaged over chains before normalising
 * (so chains in different modes do not fake a long time). c: window
 * constant (> 0, usually 5). tau (>= 0; may be below 1 for anticorrelated
 * chains), ess = n_steps * n_series / tau, window = the M chosen; any of
 * them may be NULL. When no M < n_steps satisfies the window rule the chain
 * is too short: RBM_ERR_NOT_CONVERGED, with the outputs set from M =
 * n_steps - 1 (a lower bound of tau). A window that closes on an estimate
 * tau <= 0 (a short periodic or strongly anticorrelated series) is also
 * RBM_ERR_NOT_CONVERGED, outputs set. A constant series has tau = 1.
 * ctx receives the error detail (and provides the allocator for n_series
 * doubles of scratch).
 * Errors: RBM_ERR_NULL (ctx, x), RBM_ERR_INVALID_ARGUMENT (n_steps < 2,
 * n_series 0, c not > 0), RBM_ERR_NOT_FINITE (x), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NOT_CONVERGED. */
RBM_API rbm_status rbm_autocorr_time(rbm_context *ctx, const double *x, size_t n_steps,
                                     size_t n_series, double c, double *tau, double *ess,
                                     size_t *window);

#ifdef __cplusplus
}
#endif
#endif /* RBM_DIAGNOSTICS_H */
