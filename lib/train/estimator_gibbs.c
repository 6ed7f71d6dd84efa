/* librbm — estimator_gibbs: the Gibbs-chain estimators CD-k (chains started
 * at the minibatch) and PCD-k (persistent chains, a sampler). Both subtract
 * the chains' <v E[h|v]^T>, <v>, <E[h|v]> (Rao-Blackwell) in the machine's
 * compute type. */
#include "core/internal.h"
#include "train/gradient_impl.h"
#include "core/seed.h"
#include "train/estimator_impl.h"
#include "train/sampler.h"

/* G -= (1/n) onehot(v)^T hmean, da -= mean of onehot(v), db -= mean of
 * hmean, over n chains (onehot(v) = v for a scalar visible kind). */
static void subtract_chains(const rbm_estimator *e, size_t n, const void *v, const void *hmean,
                            void *G, rbm_gradient *g)
{
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    const rbm__kern *K = e->kern;
    const double inv = 1.0 / (double)n;
    K->visible_outer(mv, n, -inv, v, hmean, 1.0, G);
    K->visible_colsum(mv, n, -inv, v, 1.0, g->da);
    K->colsum(n, mv->nh, -inv, hmean, 1.0, g->db);
}

/* ---------------- CD-k ---------------- */

static rbm_status cd_init(rbm_estimator *e, size_t n_chains, uint64_t seed)
{
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    (void)n_chains;
    (void)seed;
    rbm__cd_state *c = &e->u.cd;
    /* v holds nv values a row, its field fv nvw (q per site for Potts) */
    const size_t bv = e->max_batch * mv->nv, bvw = e->max_batch * mv->nvw;
    const size_t bh = e->max_batch * mv->nh;
    const size_t el = e->kern->elem;
    rbm_status st;
    if ((st = rbm__xcalloc(e->ctx, bv, el, &c->v, "CD chains")) ||
        (st = rbm__xcalloc(e->ctx, bh, el, &c->h, "CD chains")) ||
        (st = rbm__xcalloc(e->ctx, bvw, el, &c->fv, "CD chains")) ||
        (st = rbm__xcalloc(e->ctx, bh, el, &c->fh, "CD chains")))
        return st;
    return RBM_OK;
}

static void cd_release(rbm_estimator *e)
{
    rbm__cd_state *c = &e->u.cd;
    rbm__free(e->ctx, c->v);
    rbm__free(e->ctx, c->h);
    rbm__free(e->ctx, c->fv);
    rbm__free(e->ctx, c->fh);
}

/* E[h|v] of the data, and h0 ~ p(h|v) to start the chains from. */
static void cd_positive(rbm_estimator *e, size_t B, const void *v)
{
    rbm__cd_state *c = &e->u.cd;
    const rbm_machine *m = e->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const rbm__kern *K = e->kern;
    K->hidden_field(mv, B, v, c->fh);
    K->mean(mv->hk, mv->sigma_h, B * mv->nh, c->fh, e->ph);
    K->sample(mv->hk, mv->sigma_h, B * mv->nh, c->fh, c->h, &e->rng);
}

static void cd_negative(rbm_estimator *e, size_t B, void *G, rbm_gradient *g)
{
    rbm__cd_state *c = &e->u.cd;
    const rbm_machine *m = e->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm__gibbs(m, e->kern, &e->rng, B, c->h, c->v, c->h, c->fv, c->fh, e->k);
    e->kern->mean(mv->hk, mv->sigma_h, B * mv->nh, c->fh, c->fh);
    subtract_chains(e, B, c->v, c->fh, G, g);
}

const rbm__estimator_ops rbm__estimator_cd_ops = {
    .k_counts = "Gibbs sweeps",
    .init = cd_init,
    .release = cd_release,
    .positive = cd_positive,
    .negative_real = cd_negative,
};

/* ---------------- PCD-k ---------------- */

static rbm_status pcd_init(rbm_estimator *e, size_t n_chains, uint64_t seed)
{
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    rbm__pcd_state *p = &e->u.pcd;
    size_t nc = n_chains ? n_chains : e->max_batch, nch;
    rbm_status st = rbm_sampler_new(e->m, nc, rbm__seed_mix(seed, RBM__STREAM_ESTIMATOR_CHAINS),
                                    &p->chains);
    if (st || (st = rbm__sampler_enable_undo(p->chains)))
        return st;
    if (!rbm__mul_ok(nc, mv->nh, &nch))
        return rbm__fail(e->ctx, RBM_ERR_TOO_LARGE, "%zu chains overflow", nc);
    return rbm__xcalloc(e->ctx, nch, e->kern->elem, &p->h_mean, "PCD chain means");
}

static void pcd_release(rbm_estimator *e)
{
    rbm_sampler_free(e->u.pcd.chains);
    rbm__free(e->ctx, e->u.pcd.h_mean);
}

static void pcd_negative(rbm_estimator *e, size_t B, void *G, rbm_gradient *g)
{
    (void)B;
    rbm__pcd_state *p = &e->u.pcd;
    const rbm_machine *m = e->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm__sampler_sweep_tentative(p->chains, e->k);
    size_t n;
    const void *v, *fh;
    rbm__sampler_chains(p->chains, &n, &v, &fh);
    e->kern->mean(mv->hk, mv->sigma_h, n * mv->nh, fh, p->h_mean);
    subtract_chains(e, n, v, p->h_mean, G, g);
}

static void pcd_commit(rbm_estimator *e)
{
    rbm__sampler_commit(e->u.pcd.chains);
}

static void pcd_rollback(rbm_estimator *e)
{
    rbm__sampler_rollback(e->u.pcd.chains);
}

const rbm__estimator_ops rbm__estimator_pcd_ops = {
    .k_counts = "Gibbs sweeps",
    .chains_are = "persistent chains",
    .init = pcd_init,
    .release = pcd_release,
    .negative_real = pcd_negative,
    .commit = pcd_commit,
    .rollback = pcd_rollback,
};
