/* librbm — estimator_pt: parallel tempering as a gradient estimator
 * (RBM_ESTIMATOR_PT). A temperature ladder (tempering.h) of persistent
 * replicas follows the machine: every call rebuilds the rungs from the
 * current parameters, runs k PT sweeps, optionally re-spaces the betas
 * every RBM_ESTIMATOR_RETUNE_EVERY calls (keeping R), and subtracts the
 * beta = 1 replicas' <v E[h|v]^T>, <v>, <E[h|v]> in float64. */
#include "core/internal.h"
#include "core/seed.h"
#include "train/estimator_impl.h"
#include "train/gradient_impl.h"
#include "train/tempering.h"

#include <string.h>

static rbm_status pt_init(rbm_estimator *e, size_t n_chains, uint64_t seed)
{
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    rbm__pt_state *p = &e->u.pt;
    size_t nc = n_chains ? n_chains : e->max_batch, nch;
    size_t R = e->replicas ? e->replicas : RBM_ESTIMATOR_PT_DEFAULT_REPLICAS;
    rbm_status st = rbm_tempering_new(e->m, R, NULL, nc,
                                      rbm__seed_mix(seed, RBM__STREAM_ESTIMATOR_CHAINS), &p->pt);
    if (st || (st = rbm__tempering_saved_new(p->pt, &p->undo)))
        return st;
    if (!rbm__mul_ok(nc, mv->nh, &nch))
        return rbm__fail(e->ctx, RBM_ERR_TOO_LARGE, "%zu chains overflow", nc);
    p->calls = 0;
    return rbm__xcalloc(e->ctx, nch, sizeof(double), &p->h_mean, "PT chain means");
}

static void pt_release(rbm_estimator *e)
{
    rbm__pt_state *p = &e->u.pt;
    rbm__tempering_saved_free(e->ctx, p->undo);
    rbm_tempering_free(p->pt);
    rbm__free(e->ctx, p->h_mean);
}

static rbm_status pt_negative(rbm_estimator *e, size_t B, const void *v, rbm_gradient *g)
{
    (void)B;
    (void)v;
    rbm__pt_state *p = &e->u.pt;
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    rbm__tempering_save(p->pt, p->undo);
    p->calls_prev = p->calls;
    p->saved = true;
    rbm_tempering_refresh(p->pt);
    if (e->retune && p->calls > 0 && p->calls % e->retune == 0)
        rbm__tempering_respace(p->pt);
    rbm_tempering_run(p->pt, e->k);
    p->calls++;
    const size_t R = rbm_tempering_replica_count(p->pt), n = rbm_tempering_chain_count(p->pt);
    const double *cv, *fh;
    rbm__tempering_chains(p->pt, R - 1, &cv, &fh);
    const rbm__kern *K = &rbm__kern_f64;
    K->mean(mv->hk, mv->sigma_h, n * mv->nh, fh, p->h_mean);
    const double inv = 1.0 / (double)n;
    K->outer(n, mv->nv, mv->nh, -inv, cv, p->h_mean, 1.0, g->dW);
    K->colsum(n, mv->nv, -inv, cv, 1.0, g->da);
    K->colsum(n, mv->nh, -inv, p->h_mean, 1.0, g->db);
    return RBM_OK;
}

static void pt_commit(rbm_estimator *e)
{
    e->u.pt.saved = false;
}

static void pt_rollback(rbm_estimator *e)
{
    rbm__pt_state *p = &e->u.pt;
    if (!p->saved)
        return;
    rbm__tempering_restore(p->pt, p->undo);
    p->calls = p->calls_prev;
    p->saved = false;
}

const rbm__estimator_ops rbm__estimator_pt_ops = {
    .k_counts = "PT sweeps",
    .chains_are = "chains per replica",
    .init = pt_init,
    .release = pt_release,
    .negative_f64 = pt_negative,
    .commit = pt_commit,
    .rollback = pt_rollback,
};

/* ---------------- checkpoint part ---------------- */

void rbm__estimator_pt_write_state(const rbm_estimator *e, rbm__wbuf *w)
{
    rbm__wbuf_u64(w, e->retune);
    rbm__wbuf_u64(w, e->u.pt.calls);
    rbm__tempering_write_state(e->u.pt.pt, w);
}

/* The tuning period, the call count and the replicas; a ladder of another
 * shape than the estimator's (REPLICAS / CHAINS set before the save) is
 * rebuilt to the stored shape first. */
rbm_status rbm__estimator_pt_read_state(rbm_estimator *e, rbm__ckpt_in *in)
{
    uint64_t retune = rbm__rbuf_u64(&in->r), calls = rbm__rbuf_u64(&in->r), R, n;
    if (in->r.short_read || retune > INT32_MAX)
        return rbm__ckpt_bad(in, "training state: invalid PT retune period");
    rbm_status st = rbm__tempering_peek_shape(in, &R, &n);
    if (st)
        return st;
    /* the states the block claims must be in the file before anything is
     * allocated for them (R <= 1024 and n < 2^31, so the products fit) */
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    double need = (double)R * (double)n * (8.0 * (double)(mv->nv + 2 * mv->nh) + 20.0);
    if (need > (double)rbm__rbuf_left(&in->r))
        return rbm__ckpt_bad(in, "training state truncated: %llu x %llu tempering chains need "
                             "%.0f bytes, %zu are left", (unsigned long long)R,
                             (unsigned long long)n, need, rbm__rbuf_left(&in->r));
    rbm_tempering *pt = e->u.pt.pt;
    if (R != rbm_tempering_replica_count(pt) || n != rbm_tempering_chain_count(pt)) {
        rbm__pt_state old = e->u.pt;
        size_t old_r = e->replicas;
        e->replicas = (size_t)R;
        memset(&e->u.pt, 0, sizeof e->u.pt);
        if ((st = pt_init(e, (size_t)n, e->seed))) {
            pt_release(e);
            e->u.pt = old;
            e->replicas = old_r;
            return st;
        }
        e->chains = (size_t)n;
        rbm__pt_state fresh = e->u.pt;
        e->u.pt = old;
        pt_release(e);
        e->u.pt = fresh;
    }
    e->retune = (size_t)retune;
    e->u.pt.calls = calls;
    return rbm__tempering_read_state(e->u.pt.pt, in);
}
