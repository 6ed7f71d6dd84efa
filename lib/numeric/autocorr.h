/* librbm — autocorr (private): the windowed integrated autocorrelation time
 * on caller memory, for rbm_autocorr_time and the BAR error of the
 * tempering sampler. */
#ifndef RBM_NUMERIC_AUTOCORR_H
#define RBM_NUMERIC_AUTOCORR_H

#include "core/internal.h"

/* tau_int = 1 + 2 sum_{t<=M} rho(t) of T x S series x (row-major, S chains,
 * autocovariances averaged over chains), with M the smallest lag >= c
 * max(tau(M), 1); mean: S doubles of scratch. Returns false when no M < T
 * qualifies (then *tau is the value at M = T - 1). No allocation. */
bool rbm__tau_int(const double *x, size_t T, size_t S, double c, double *mean, double *tau,
                  size_t *window);

#endif /* RBM_NUMERIC_AUTOCORR_H */
