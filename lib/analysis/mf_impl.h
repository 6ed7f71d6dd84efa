/* librbm — mf_impl: the mean-field solver and fixed-point set, shared by the
 * mf_*.c files of analysis/ only. */
#ifndef RBM_ANALYSIS_MF_IMPL_H
#define RBM_ANALYSIS_MF_IMPL_H

#include "core/internal.h"
#include "model/mf_equations.h"

struct rbm_mf {
    rbm_context *ctx;
    const rbm_machine *m;
    rbm_mf_method method;
    double damping, tol, dedup, stab_tol;
    size_t max_iter;
    int lin_resp;
    rbm__mf_eq eq; /* the equations of one state */
};

struct rbm_mf_points {
    rbm_context *ctx;
    size_t nv, nh, count, n_starts, n_failed; /* nv: entries of a visible row (N q, Potts) */
    size_t nq;                                /* states per visible unit (1 unless Potts) */
    double *mv, *mh, *gamma, *mineig; /* one row / value per point (room for n_starts) */
    size_t *mult;
    int *stable;
};

/* ---- mf_core.c: Gamma and its derivatives at one state (q->n == 1) ---- */
/* Gamma(mv, mh), the TAP free energy. */
rbm_status rbm__mf_gamma(rbm__mf_eq *q, const double *mv, const double *mh, double *gamma);
/* dGamma/dm; discrete magnetisations strictly inside their range. */
rbm_status rbm__mf_gamma_gradient(rbm__mf_eq *q, const double *mv, const double *mh, double *gv,
                                  double *gh);
/* Hessian of Gamma (N x N, N = nv + nh). scaled: D^{1/2} H D^{1/2} with
 * D = diag(c) (discrete) or sigma^2 (Gaussian). ws: rbm__mf_hessian_ws_len(m)
 * doubles, whose first N receive the scales D (visible then hidden). */
rbm_status rbm__mf_hessian(rbm__mf_eq *q, const double *mv, const double *mh, bool scaled,
                           double *H, double *ws);
size_t rbm__mf_hessian_ws_len(const rbm_machine *m);
/* Potts visible layer: the Hessian H (unscaled, N q + N_h square, from
 * rbm__mf_hessian) restricted to the tangent space of the simplexes and
 * scaled, into R (nr x nr, nr = N (q - 1) + N_h): each site's most probable
 * state is eliminated (dm_ir = -sum_{c != r} dm_ic), the other states'
 * coordinates are scaled by sqrt(m_ic (1 - m_ic)) and the hidden ones by
 * sqrt(c_j) (sigma for a Gaussian unit). Stability: R positive definite.
 * map: 2 nr, scale: nr scratch. The stats of q must be current. */
void rbm__mf_potts_reduce(const rbm__mf_eq *q, const double *mv, const double *H, double *R,
                          size_t *map, double *scale);
/* dw += scale * (-dGamma/dW) at (mv, mh); the stats of q must be current. */
void rbm__mf_weight_gradient(rbm__mf_eq *q, const double *mv, const double *mh, double scale,
                             double *dw);

/* ---- mf_solver.c ---- */
/* Iterate from (mv, mh) to a fixed point with the solver's settings (w^2,
 * w^3 must be prepared): RBM_OK, RBM_ERR_NOT_CONVERGED or an error. */
rbm_status rbm__mf_iterate(rbm_mf *s, double *mv, double *mh, size_t *iters, double *resid);
/* Magnetisations in the units' range; interior: strictly inside. Potts
 * entries are probabilities ([0, 1]); rbm__mf_check_visible also checks
 * that the states of every Potts site sum to 1 (rows of nvw entries). */
rbm_status rbm__mf_check_mags(rbm_context *ctx, rbm_unit_kind k, const double *x, size_t n,
                              bool interior, const char *what);
rbm_status rbm__mf_check_visible(const rbm_mf *s, const double *x, size_t rows, bool interior,
                                 const char *what);
/* RBM_ERR_UNSUPPORTED (naming fn) for a Potts visible layer: the TAP
 * learning dynamics (docs/theory.md §4.7). */
rbm_status rbm__mf_refuse_potts(const rbm_mf *s, const char *fn);

#endif /* RBM_ANALYSIS_MF_IMPL_H */
