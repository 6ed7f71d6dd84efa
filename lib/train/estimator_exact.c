/* librbm — estimator_exact: the EXACT estimator, model statistics computed
 * exactly: by enumerating the states of the smaller discrete layer (at most
 * RBM_EXACT_MAX_UNITS units), or for a Gauss-Gauss machine by the closed
 * form of the joint Gaussian (rbm__gauss_gauss_stats, docs/theory.md §1.5). */
#include "core/internal.h"
#include "train/gradient_impl.h"
#include "model/enumerate.h"
#include "model/gauss_gauss.h"
#include "train/estimator_impl.h"

static rbm_status exact_init(rbm_estimator *e, size_t n_chains, uint64_t seed)
{
    (void)n_chains;
    (void)seed;
    rbm__exact_state *x = &e->u.exact;
    const rbm_machine *m = e->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_status st;
    if (mv->vk == RBM_UNIT_POTTS) {
        if (!rbm__potts_enum_pick(m, RBM_EXACT_MAX_UNITS, &x->layer))
            return rbm__fail(e->ctx, RBM_ERR_UNSUPPORTED,
                             "exact gradient of a Potts machine needs q^N <= 2^%d visible "
                             "configurations or a discrete hidden layer of at most %d units "
                             "(machine has %zu sites of %zu states and %zu %s hidden units)",
                             RBM_EXACT_MAX_UNITS, RBM_EXACT_MAX_UNITS, mv->nv, mv->nq, mv->nh,
                             rbm_unit_kind_name(mv->hk));
        x->method = RBM__EXACT_POTTS;
        st = rbm__xcalloc(e->ctx, rbm__potts_enum_ws_len(m), sizeof(double), &x->gg_ws,
                          "Potts enumeration workspace");
    } else if (mv->vk == RBM_UNIT_GAUSSIAN && mv->hk == RBM_UNIT_GAUSSIAN) {
        x->method = RBM__EXACT_GAUSS_GAUSS;
        st = rbm__xcalloc(e->ctx, rbm__gauss_gauss_ws_len(m), sizeof(double), &x->gg_ws,
                          "Gauss-Gauss workspace");
    } else {
        if (!rbm__enum_pick_layer(m, RBM_EXACT_MAX_UNITS, &x->layer))
            return rbm__fail(e->ctx, RBM_ERR_UNSUPPORTED,
                             "exact gradient needs a discrete layer of at most %d units (machine "
                             "has %zu %s visible and %zu %s hidden units)",
                             RBM_EXACT_MAX_UNITS, mv->nv, rbm_unit_kind_name(mv->vk), mv->nh,
                             rbm_unit_kind_name(mv->hk));
        x->method = RBM__EXACT_ENUMERATE;
        st = rbm__enum_ws_init(e->ctx, m, x->layer, &x->ws);
    }
    if (st ||
        (st = rbm__xcalloc(e->ctx, mv->nvw * mv->nh, sizeof(double), &x->vh,
                           "model statistics")) ||
        (st = rbm__xcalloc(e->ctx, mv->nvw, sizeof(double), &x->v, "model statistics")) ||
        (st = rbm__xcalloc(e->ctx, mv->nh, sizeof(double), &x->h, "model statistics")))
        return st;
    return RBM_OK;
}

static void exact_release(rbm_estimator *e)
{
    rbm__exact_state *x = &e->u.exact;
    rbm__free(e->ctx, x->gg_ws);
    rbm__enum_ws_free(e->ctx, &x->ws);
    rbm__free(e->ctx, x->vh);
    rbm__free(e->ctx, x->v);
    rbm__free(e->ctx, x->h);
}

static rbm_status exact_negative(rbm_estimator *e, size_t B, const void *v, rbm_gradient *g)
{
    (void)B;
    (void)v;
    rbm__exact_state *x = &e->u.exact;
    const rbm_machine *m = e->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_status st = RBM_OK;
    switch (x->method) {
    case RBM__EXACT_GAUSS_GAUSS:
        st = rbm__gauss_gauss_stats(m, x->gg_ws, x->vh, x->v, x->h);
        break;
    case RBM__EXACT_ENUMERATE:
        st = rbm__exact_stats(m, x->layer, &x->ws, NULL, x->vh, x->v, x->h);
        break;
    case RBM__EXACT_POTTS:
        st = rbm__potts_exact_stats(m, x->layer, x->gg_ws, NULL, x->vh, x->v, x->h);
        break;
    }
    if (st)
        return st;
    for (size_t i = 0; i < mv->nvw * mv->nh; i++)
        g->dW[i] -= x->vh[i];
    for (size_t i = 0; i < mv->nvw; i++)
        g->da[i] -= x->v[i];
    for (size_t j = 0; j < mv->nh; j++)
        g->db[j] -= x->h[j];
    return RBM_OK;
}

const rbm__estimator_ops rbm__estimator_exact_ops = {
    .k_counts = NULL, /* k is ignored */
    .init = exact_init,
    .release = exact_release,
    .negative_f64 = exact_negative,
};
