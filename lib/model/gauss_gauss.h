/* librbm — gauss_gauss: the closed forms of a Gauss-Gauss machine
 * (docs/theory.md §1.5): the Cholesky factor of the inverse model
 * covariance, the model covariance and statistics, and log Z. */
#ifndef RBM_MODEL_GAUSS_GAUSS_H
#define RBM_MODEL_GAUSS_GAUSS_H

#include "core/internal.h"

static inline bool rbm__gauss_gauss(const rbm_machine *m)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    return mv->vk == RBM_UNIT_GAUSSIAN && mv->hk == RBM_UNIT_GAUSSIAN;
}

/* L (nv x nv, row-major lower) = the Cholesky factor of the inverse model
 * covariance M = sigma_v^{-2} I - sigma_h^2 W W^T (W: nv x nh). False when M
 * is not positive definite, i.e. when sigma_v^2 sigma_h^2 w_1^2 >= 1. */
bool rbm__gauss_gauss_cholesky(size_t nv, size_t nh, double sigma_v, double sigma_h,
                               const double *W, double *L);
/* X (nv x k, row-major, in place) <- M^{-1} X with M = L L^T. */
void rbm__gauss_gauss_solve(size_t nv, size_t k, const double *L, double *X);
/* RBM_ERR_NOT_NORMALIZABLE for weights W of m, with sigma_v^2 sigma_h^2 w_1^2
 * and w_1 in the message after "where: ". */
rbm_status rbm__gauss_gauss_not_normalizable(const rbm_machine *m, const double *W,
                                             const char *where);

/* The model covariance C = M^{-1} (nv x nv, symmetric) into out; L: nv x nv
 * scratch. Errors (reported as "where"): RBM_ERR_NOT_NORMALIZABLE,
 * RBM_ERR_NUMERICAL. */
rbm_status rbm__gauss_gauss_covariance(const rbm_machine *m, double *L, double *out,
                                       const char *where);

/* Model statistics from the joint Gaussian: precision
 * P = [[I/sigma_v^2, -W], [-W^T, I/sigma_h^2]], mean mu = P^{-1} (a; b);
 * vh = <v h^T> = (P^{-1})_{vh} + mu_v mu_h^T (nv x nh), v = mu_v, h = mu_h.
 * ws holds rbm__gauss_gauss_ws_len(m) doubles; no allocation (except in the
 * error path). RBM_ERR_NOT_NORMALIZABLE when sigma_v^2 sigma_h^2 w_1^2 >= 1. */
size_t rbm__gauss_gauss_ws_len(const rbm_machine *m);
rbm_status rbm__gauss_gauss_stats(const rbm_machine *m, double *ws, double *vh, double *v,
                                  double *h);

/* log Z = (N/2) log 2 pi - (1/2) log det P + (1/2) (a; b)^T P^{-1} (a; b),
 * N = nv + nh. Errors: RBM_ERR_NOT_NORMALIZABLE, RBM_ERR_NO_MEMORY. */
rbm_status rbm__gauss_gauss_log_z(const rbm_machine *m, double *log_z);

#endif /* RBM_MODEL_GAUSS_GAUSS_H */
