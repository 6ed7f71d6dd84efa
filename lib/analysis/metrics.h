/* librbm — metrics: what the analysis files use of metrics.c. */
#ifndef RBM_ANALYSIS_METRICS_H
#define RBM_ANALYSIS_METRICS_H

#include "core/internal.h"

/* d is non-NULL and has m's visible width ("what" names it in the error). */
rbm_status rbm__metrics_check_data(const rbm_machine *m, const rbm_dataset *d, const char *what);

/* Exact log Z and the weighted mean pseudo-log-likelihood of a machine
 * with a Potts visible layer (metrics_potts.c), the contracts of
 * rbm_exact_log_z and rbm_pseudo_log_likelihood (m, data, out checked). */
rbm_status rbm__potts_exact_log_z(const rbm_machine *m, double *log_z);
rbm_status rbm__potts_pseudo_log_likelihood(const rbm_machine *m, const rbm_dataset *data,
                                            double *mean_pll);

#endif /* RBM_ANALYSIS_METRICS_H */
