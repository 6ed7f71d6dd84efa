/* librbm — metrics: what the analysis files use of metrics.c. */
#ifndef RBM_ANALYSIS_METRICS_H
#define RBM_ANALYSIS_METRICS_H

#include "core/internal.h"

/* d is non-NULL and has m's visible width ("what" names it in the error). */
rbm_status rbm__metrics_check_data(const rbm_machine *m, const rbm_dataset *d, const char *what);

#endif /* RBM_ANALYSIS_METRICS_H */
