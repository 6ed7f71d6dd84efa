/* librbm — phase_rs: the replica-symmetric mean-field equations of the RBM
 * ensemble on plain parameters, and the phase they give (docs/theory.md §5). */
#ifndef RBM_ANALYSIS_PHASE_RS_H
#define RBM_ANALYSIS_PHASE_RS_H

#include "core/internal.h"

/* The law of the components of a mode (p: ternary sparsity, else 1). */
typedef struct rbm__rs_law {
    rbm_component_law law;
    double p;
} rbm__rs_law;

typedef struct rbm__rs_params {
    double kappa, sigma, T, damping, tol, qtol, m_thr, q_thr;
    size_t max_iter, K;
    double w[RBM_ENSEMBLE_MAX_MODES];
    rbm__rs_law law[2]; /* visible, hidden */
} rbm__rs_params;

typedef struct rbm__rs_solution {
    double m[RBM_ENSEMBLE_MAX_MODES], mbar[RBM_ENSEMBLE_MAX_MODES], q, qbar, f;
    size_t iters;
    bool converged;
} rbm__rs_solution;

typedef struct rbm__rs_phase {
    rbm_phase phase;
    double mixing;
    int compositional;
    rbm__rs_solution sol; /* the lowest free-energy solution (the spin glass one if none) */
    bool converged;
} rbm__rs_phase;

/* Damped iteration of the RS equations from the state in s; true on
 * convergence with every quadrature within its tolerance (*quad_ok: the
 * latter alone). s->f receives the free energy of the last iterate. */
bool rbm__rs_solve(const rbm__rs_params *P, rbm__rs_solution *s, bool *quad_ok);
/* The phase at P: the spin-glass solution and the ferromagnetic solutions
 * from one start per mode (and all modes) compared by free energy. */
void rbm__rs_phase_of(const rbm__rs_params *P, rbm__rs_phase *R);
/* The replicon eigenvalue of s at P, lambda_AT = (sigma/T)^4 E[sech^4 H_v]
 * E[sech^4 H_h] (docs/theory.md §5.4), the expectations over z and the
 * components of each layer's law as in the RS equations; *quad_ok: every
 * quadrature met its tolerance. */
double rbm__rs_replicon(const rbm__rs_params *P, const rbm__rs_solution *s, bool *quad_ok);
/* The two largest |m[g]|. */
void rbm__rs_top2(const double *m, size_t K, double *top, double *second);

#endif /* RBM_ANALYSIS_PHASE_RS_H */
