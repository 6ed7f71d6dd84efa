/* librbm — metrics: what ais.c uses of metrics.c. */
#ifndef RBM_ANALYSIS_METRICS_H
#define RBM_ANALYSIS_METRICS_H

#include "core/internal.h"

/* R exact samples of the visible layer (R x nv into V) by enumerating the
 * small discrete `layer` (as chosen by rbm__enum_pick_layer): the
 * state is drawn from its exact marginal by inverse-CDF sampling; for an
 * enumerated hidden layer v then follows p(v | h). Errors: RBM_ERR_NO_MEMORY,
 * RBM_ERR_NUMERICAL. */
rbm_status rbm__exact_visible_samples(const rbm_machine *m, rbm_layer layer, rbm_rng *rng,
                                      size_t R, double *V);

/* d is non-NULL and has m's visible width ("what" names it in the error). */
rbm_status rbm__metrics_check_data(const rbm_machine *m, const rbm_dataset *d, const char *what);

#endif /* RBM_ANALYSIS_METRICS_H */
