/* librbm — estimator_mf_ops: the MF, TAP2 and TAP3 estimators (EMF,
 * docs/theory.md §4.6), a thin adapter to the persistent magnetisation
 * particles rbm__mf_emf_* that compute their negative phase. */
#include "core/internal.h"
#include "train/estimator_impl.h"

/* Damping of the EMF estimators' fixed-point iterations (docs/theory.md §4.5). */
#define EMF_DAMPING 0.5

static rbm__mf_order order_of(rbm_estimator_kind kind)
{
    switch (kind) {
    case RBM_ESTIMATOR_TAP2: return RBM__MF_TAP2;
    case RBM_ESTIMATOR_TAP3: return RBM__MF_TAP3;
    default: return RBM__MF_NAIVE;
    }
}

static rbm_status emf_init(rbm_estimator *e, size_t n_chains, uint64_t seed)
{
    (void)seed;
    return rbm__mf_emf_new(e->m, order_of(e->kind), n_chains ? n_chains : e->max_batch,
                           &e->u.emf.particles);
}

static void emf_release(rbm_estimator *e)
{
    rbm__mf_emf_free(e->u.emf.particles);
}

static rbm_status emf_negative(rbm_estimator *e, size_t B, const void *v, rbm_gradient *g)
{
    return rbm__mf_emf_negative(e->u.emf.particles, B, v, e->kern, e->k, EMF_DAMPING, g);
}

static void emf_commit(rbm_estimator *e)
{
    rbm__mf_emf_commit(e->u.emf.particles);
}

static void emf_rollback(rbm_estimator *e)
{
    rbm__mf_emf_rollback(e->u.emf.particles);
}

const rbm__estimator_ops rbm__estimator_emf_ops = {
    .k_counts = "fixed-point iterations",
    .chains_are = "magnetisation particles",
    .init = emf_init,
    .release = emf_release,
    .negative_f64 = emf_negative,
    .commit = emf_commit,
    .rollback = emf_rollback,
};
