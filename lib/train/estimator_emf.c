/* librbm — estimator_emf: the negative phase of the MF/TAP2/TAP3 (EMF)
 * gradient estimators (docs/theory.md §4.6): n persistent magnetisation
 * particles iterated with the mean-field equations of model/mf_equations.c,
 * all particles at once (their fields and reaction sums are matrix
 * products, n x N_v by N_v x N_h). */
#include "train/estimator_emf.h"
#include "train/gradient_impl.h"

#include "model/mf_equations.h"

#include <cblas.h>
#include <string.h>

struct rbm__mf_emf {
    rbm_context *ctx;
    const rbm_machine *m;
    size_t n;
    rbm__mf_order order;
    bool ready;
    double *mv, *mh; /* n x nvw, n x nh persistent magnetisations */
    /* Undo: the particles before the negative phase awaiting commit. */
    double *mv_prev, *mh_prev;
    bool ready_prev, pending;
    double *C;       /* nvw x nh: a sum over particles (c_v c_h^T or k3_v k3_h^T) */
    double *block;   /* mv, mh, mv_prev, mh_prev and C */
    rbm__mf_eq eq;   /* the equations of the n particles */
};

rbm_status rbm__mf_emf_new(const rbm_machine *m, rbm__mf_order order, size_t n_particles,
                           rbm__mf_emf **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_context *ctx = mv->ctx;
    *out = NULL;
    if (order >= RBM__MF_TAP2 && !rbm__mf_discrete(mv->vk) && !rbm__mf_discrete(mv->hk))
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "TAP estimators need a discrete layer (Gauss-Gauss: use naive MF)");
    if (mv->nvw > (size_t)INT32_MAX || mv->nh > (size_t)INT32_MAX ||
        n_particles > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "sizes too large for BLAS");
    size_t lvh, nvh;
    if (!rbm__mul_ok(n_particles, 2 * (mv->nvw + mv->nh), &lvh) ||
        !rbm__mul_ok(mv->nvw, mv->nh, &nvh) || lvh > SIZE_MAX - nvh ||
        lvh + nvh > SIZE_MAX / sizeof(double))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu particles overflow", n_particles);
    rbm__mf_emf *p;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *p, &p, "mean-field particles");
    if (st)
        return st;
    p->ctx = ctx;
    p->m = m;
    p->n = n_particles;
    p->order = order;
    if ((st = rbm__xcalloc(ctx, lvh + nvh, sizeof(double), &p->block, "mean-field particles")) ||
        (st = rbm__mf_eq_init(ctx, m, order, n_particles, true, &p->eq))) {
        rbm__mf_emf_free(p);
        return st;
    }
    p->mv = p->block;
    p->mh = p->mv + n_particles * mv->nvw;
    p->mv_prev = p->mh + n_particles * mv->nh;
    p->mh_prev = p->mv_prev + n_particles * mv->nvw;
    p->C = p->mh_prev + n_particles * mv->nh;
    *out = p;
    return RBM_OK;
}

void rbm__mf_emf_free(rbm__mf_emf *p)
{
    if (!p)
        return;
    rbm_context *ctx = p->ctx;
    rbm__mf_eq_free(ctx, &p->eq);
    rbm__free(ctx, p->block);
    rbm__free(ctx, p);
}

/* First call: the particles start at the minibatch rows (cycled, clamped to
 * the units' range; the one-hot indicators of a Potts row), hidden
 * magnetisations at E[h|v]. */
static void start_particles(rbm__mf_emf *p, size_t B, const void *v, const rbm__kern *K)
{
    const rbm_machine *m = p->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const size_t nv = mv->nv;
    for (size_t r = 0; r < p->n; r++) {
        double *x = p->mv + r * mv->nvw;
        K->to_f64(nv, (const char *)v + (r % B) * nv * K->elem, x);
        if (mv->vk == RBM_UNIT_POTTS)
            rbm__potts_one_hot_in_place(x, nv, mv->nq);
        for (size_t i = 0; i < nv; i++) {
            if (mv->vk == RBM_UNIT_ISING)
                x[i] = x[i] < -1 ? -1 : x[i] > 1 ? 1 : x[i];
            else if (mv->vk == RBM_UNIT_BERNOULLI)
                x[i] = x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i];
        }
    }
    rbm__mf_eq_hidden_start(&p->eq, p->mv, p->mh);
    p->ready = true;
}

/* g -= (1/n) sum over particles of d log Z_TAP / d theta:
 * dW -= (1/n) [MV^T MH + W o (CV^T CH) + (1/2) W^2 o (KV^T KH)],
 * da -= mean of m^v, db -= mean of m^h. A Potts visible layer (CV = MV)
 * adds the -sum m c wbar part of its reaction term (docs/theory.md §4.7). */
static void subtract_model_term(rbm__mf_emf *p, rbm_gradient *g)
{
    const rbm_machine *m = p->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm__mf_eq *q = &p->eq;
    const size_t nv = mv->nvw, nh = mv->nh, nvh = nv * nh, n = p->n;
    const int inv_ = (int)nv, inh = (int)nh, in = (int)n;
    const double ninv = 1.0 / (double)n;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, inv_, inh, in, -ninv, p->mv, inv_, p->mh,
                inh, 1.0, g->dW, inh);
    const rbm__mf_side *vs = &q->side[RBM_LAYER_VISIBLE], *hs = &q->side[RBM_LAYER_HIDDEN];
    if (p->order >= RBM__MF_TAP2) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, inv_, inh, in, 1.0, vs->c, inv_,
                    hs->c, inh, 0.0, p->C, inh);
        for (size_t i = 0; i < nvh; i++)
            g->dW[i] -= ninv * mv->W[i] * p->C[i];
        if (mv->vk == RBM_UNIT_POTTS)
            rbm__mf_eq_potts_weight_term(q, p->mv, -ninv, g->dW);
    }
    if (p->order >= RBM__MF_TAP3) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, inv_, inh, in, 1.0, vs->k3, inv_,
                    hs->k3, inh, 0.0, p->C, inh);
        for (size_t i = 0; i < nvh; i++)
            g->dW[i] -= 0.5 * ninv * q->W2[i] * p->C[i];
    }
    for (size_t r = 0; r < n; r++) {
        cblas_daxpy(inv_, -ninv, p->mv + r * nv, 1, g->da, 1);
        cblas_daxpy(inh, -ninv, p->mh + r * nh, 1, g->db, 1);
    }
}

static void swap_particles(rbm__mf_emf *p)
{
    double *t = p->mv;
    p->mv = p->mv_prev;
    p->mv_prev = t;
    t = p->mh;
    p->mh = p->mh_prev;
    p->mh_prev = t;
}

rbm_status rbm__mf_emf_negative(rbm__mf_emf *p, size_t B, const void *v, const rbm__kern *K,
                                size_t iters, double damping, rbm_gradient *g)
{
    const rbm__machine_view *view = rbm__machine_view_of(p->m);
    /* Iterate on the spare set, started from the current particles; the
     * current ones become *_prev until commit or rollback. */
    swap_particles(p);
    p->ready_prev = p->ready;
    p->pending = true;
    if (p->ready) {
        memcpy(p->mv, p->mv_prev, p->n * view->nvw * sizeof(double));
        memcpy(p->mh, p->mh_prev, p->n * view->nh * sizeof(double));
    }
    rbm__mf_eq_prepare(&p->eq);
    if (!p->ready)
        start_particles(p, B, v, K);
    rbm_status st = rbm__mf_eq_stats(&p->eq, p->mv, p->mh);
    for (size_t t = 0; !st && t < iters; t++) {
        double resid;
        if ((st = rbm__mf_eq_sweep(&p->eq, p->mv, p->mh, damping, &resid)))
            break;
        if (isnan(resid))
            st = rbm__fail(p->ctx, RBM_ERR_NUMERICAL, "mean-field particles became non-finite");
    }
    if (st)
        return st;
    subtract_model_term(p, g);
    return RBM_OK;
}

void rbm__mf_emf_commit(rbm__mf_emf *p)
{
    p->pending = false;
}

void rbm__mf_emf_rollback(rbm__mf_emf *p)
{
    if (!p->pending)
        return;
    swap_particles(p);
    p->ready = p->ready_prev;
    p->pending = false;
}

size_t rbm__mf_emf_particles(const rbm__mf_emf *p)
{
    return p ? p->n : 0;
}

bool rbm__mf_emf_ready(const rbm__mf_emf *p)
{
    return p && p->ready;
}

void rbm__mf_emf_set_ready(rbm__mf_emf *p, bool ready)
{
    if (p)
        p->ready = ready;
}

double *rbm__mf_emf_visible(rbm__mf_emf *p)
{
    return p ? p->mv : NULL;
}

double *rbm__mf_emf_hidden(rbm__mf_emf *p)
{
    return p ? p->mh : NULL;
}
