/* librbm — mean-field equations: the naive, TAP2 and TAP3 self-consistency
 * equations of a machine for n magnetisation states at once (docs/theory.md §4).
 *
 * One implementation serves the analysis solver (one state, products as
 * matrix-vector BLAS calls) and the EMF estimator's particles (n states,
 * products as one matrix-matrix call over all of them). Each layer's arrays
 * hold n rows; the magnetisations themselves belong to the caller and are
 * passed in (mv: n x nv, mh: n x nh). */
#ifndef RBM_MODEL_MF_EQUATIONS_H
#define RBM_MODEL_MF_EQUATIONS_H

#include "core/internal.h"

#include <math.h>

/* ---- one unit of mean m ---- */

static inline bool rbm__mf_discrete(rbm_unit_kind k)
{
    return k != RBM_UNIT_GAUSSIAN;
}
/* variance c(m) and c'(m) */
static inline double rbm__mf_c(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? 1.0 - m * m : m - m * m;
}
static inline double rbm__mf_c1(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? -2.0 * m : 1.0 - 2.0 * m;
}
/* third cumulant k3(m), k3'(m), k3''(m) */
static inline double rbm__mf_k3(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? -2.0 * m * (1.0 - m * m) : m * (1.0 - m) * (1.0 - 2.0 * m);
}
static inline double rbm__mf_k3d1(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? -2.0 + 6.0 * m * m : 1.0 - 6.0 * m + 6.0 * m * m;
}
static inline double rbm__mf_k3d2(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? 12.0 * m : -6.0 + 12.0 * m;
}
/* mean of a unit in field x (s2 = sigma^2 of a Gaussian unit) */
static inline double rbm__mf_mean(rbm_unit_kind k, double s2, double x)
{
    switch (k) {
    case RBM_UNIT_ISING: return tanh(x);
    case RBM_UNIT_BERNOULLI: return rbm__sigmoid(x);
    default: return s2 * x;
    }
}

/* ---- n states ---- */

/* The order of the expansion of the free energy; ordered, so "TAP2 or
 * higher" is order >= RBM__MF_TAP2. */
typedef enum rbm__mf_order {
    RBM__MF_NAIVE = 1, /* naive mean field */
    RBM__MF_TAP2 = 2,  /* TAP, second order */
    RBM__MF_TAP3 = 3   /* TAP, third order */
} rbm__mf_order;

/* The order of an analysis method (rbm_mf_method). */
rbm__mf_order rbm__mf_order_of_method(rbm_mf_method method);

/* One layer's arrays for the n states (n x N_layer each; a Potts visible
 * layer has N_layer = N q entries, one per site and state, row i q + c).
 * They are the outputs of the functions below: the callers read them and
 * never write them. */
typedef struct rbm__mf_side {
    double *c, *k3; /* variances c and third cumulants k3 of the layer's units */
    double *S, *T;  /* reaction sums S = w^2 c, T = w^3 k3 of the other layer */
    double *f;      /* fields: bias + W m of the other layer */
} rbm__mf_side;
/* A Potts visible layer (docs/theory.md §4.7) has no variance per entry:
 * its c holds the magnetisations m_ic themselves (the weights of w^2 in the
 * hidden reaction sum), k3 and T are zero (no TAP3), and
 *   hidden S_j   = sum_i Var_{m_i}(W_i.j) = sum_ic m_ic W_icj^2 - sum_i wbar_ij^2,
 *   visible S_ic = sum_j c_j dVar_{m_i}(W_i.j)/dm_ic
 *                = sum_j c_j W_icj^2 - 2 sum_j W_icj c_j wbar_ij,
 * with wbar_ij = sum_c m_ic W_icj, so that the update is
 * m_i. = softmax_c(f_ic + S_ic / 2). */

typedef struct rbm__mf_eq {
    const rbm_machine *m;
    rbm__mf_order order;
    size_t n;               /* states */
    bool batched;           /* matrix-matrix products over the n states; else n == 1 and
                               matrix-vector products */
    double *W2, *W3;        /* w^2 (order >= 2), w^3 (order >= 3), nvw x nh */
    rbm__mf_side side[2];   /* indexed by rbm_layer */
    size_t nq;              /* states per visible site: q (Potts), else 1 */
    double *wbar;           /* Potts, order >= 2: n x nv x nh, wbar_ij = sum_c m_ic W_icj */
    double *wbar2;          /* Potts, order >= 2: n x nh, sum_i wbar_ij^2 */
    double *y;              /* Potts, order >= 2: n x nh scratch */
    double *block;          /* the single allocation */
} rbm__mf_eq;

static inline rbm_layer rbm__layer_other(rbm_layer l)
{
    return l == RBM_LAYER_VISIBLE ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
}

/* Workspace for n states of m at `order`. Errors: RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY; RBM_ERR_UNSUPPORTED for TAP3 of a Potts visible
 * layer. */
rbm_status rbm__mf_eq_init(rbm_context *ctx, const rbm_machine *m, rbm__mf_order order, size_t n,
                           bool batched, rbm__mf_eq *q);
void rbm__mf_eq_free(rbm_context *ctx, rbm__mf_eq *q);
/* w^2 and w^3 from the machine's current W (call after W changed). */
void rbm__mf_eq_prepare(rbm__mf_eq *q);
/* S (and T at order 3) of `layer` from the other layer's c and k3;
 * nothing at naive order. */
void rbm__mf_eq_reaction(rbm__mf_eq *q, rbm_layer layer);
/* Fields of `layer`: bias + W m_other. */
void rbm__mf_eq_fields(rbm__mf_eq *q, rbm_layer layer, const double *mother);
/* c and k3 of both layers at (mv, mh): discrete layers first, then the
 * Gaussian ones, whose TAP variance needs the other layer's c.
 * RBM_ERR_NUMERICAL when a Gaussian TAP variance does not exist. */
rbm_status rbm__mf_eq_stats(rbm__mf_eq *q, const double *mv, const double *mh);
/* Damped update mx += lambda (F(mx) - mx) of `layer` from the other layer
 * (whose c and k3 are current). Returns the undamped residual
 * max |F(m) - m|, or NaN at the first non-finite unit (the units from there
 * on are left as they were). */
double rbm__mf_eq_update(rbm__mf_eq *q, rbm_layer layer, double *mx, const double *mother,
                         double lambda);
/* One alternating sweep: hidden update, stats, visible update, stats.
 * *resid = the larger residual of the two updates, NaN if one was not
 * finite. Errors: those of rbm__mf_eq_stats. */
rbm_status rbm__mf_eq_sweep(rbm__mf_eq *q, double *mv, double *mh, double lambda,
                            double *resid);
/* Hidden start E[h | v = mv] (naive conditional mean). */
void rbm__mf_eq_hidden_start(rbm__mf_eq *q, const double *mv, double *mh);
/* Potts visible layer, order >= 2 (wbar and the hidden c current):
 * dw_icj -= scale * sum_r m_r,ic c_rj wbar_rij over the n states (dw: nvw x
 * nh). With it, -dGamma/dW = MV^T MH + W o (MV^T CH) + this term, MV^T CH
 * being the generic c_v^T c_h product (c_v = m for a Potts layer). */
void rbm__mf_eq_potts_weight_term(rbm__mf_eq *q, const double *mv, double scale, double *dw);

#endif /* RBM_MODEL_MF_EQUATIONS_H */
