/* librbm — estimator: the public estimator API and the dispatch to the
 * estimator families (estimator_impl.h): CD-k and PCD-k
 * (estimator_gibbs.c), EXACT (estimator_exact.c), naive MF / TAP2 / TAP3
 * (estimator_mf_ops.c). */
#include "core/internal.h"
#include "core/params.h"
#include "train/gradient.h"
#include "train/gradient_impl.h"
#include "core/seed.h"
#include "train/checkpoint.h"
#include "train/estimator.h"
#include "train/estimator_impl.h"
#include "train/sampler.h"

#include <math.h>
#include <string.h>

/* The operations of a kind, NULL for an unknown kind. */
static const rbm__estimator_ops *ops_of(rbm_estimator_kind kind)
{
    switch (kind) {
    case RBM_ESTIMATOR_CD: return &rbm__estimator_cd_ops;
    case RBM_ESTIMATOR_PCD: return &rbm__estimator_pcd_ops;
    case RBM_ESTIMATOR_EXACT: return &rbm__estimator_exact_ops;
    case RBM_ESTIMATOR_MF:
    case RBM_ESTIMATOR_TAP2:
    case RBM_ESTIMATOR_TAP3: return &rbm__estimator_emf_ops;
    case RBM_ESTIMATOR_PT: return &rbm__estimator_pt_ops;
    }
    return NULL;
}

const char *rbm_estimator_kind_name(rbm_estimator_kind kind)
{
    switch (kind) {
    case RBM_ESTIMATOR_CD: return "cd";
    case RBM_ESTIMATOR_PCD: return "pcd";
    case RBM_ESTIMATOR_EXACT: return "exact";
    case RBM_ESTIMATOR_MF: return "mf";
    case RBM_ESTIMATOR_TAP2: return "tap2";
    case RBM_ESTIMATOR_TAP3: return "tap3";
    case RBM_ESTIMATOR_PT: return "pt";
    }
    return NULL;
}

rbm_status rbm_estimator_kind_parse(const char *name, rbm_estimator_kind *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    for (int k = 0; k <= RBM_ESTIMATOR_PT; k++)
        if (strcmp(name, rbm_estimator_kind_name((rbm_estimator_kind)k)) == 0) {
            *out = (rbm_estimator_kind)k;
            return RBM_OK;
        }
    if (strcmp(name, "tap") == 0) {
        *out = RBM_ESTIMATOR_TAP2;
        return RBM_OK;
    }
    return RBM_ERR_INVALID_ARGUMENT;
}

void rbm_estimator_free(rbm_estimator *e)
{
    if (!e)
        return;
    rbm_context *ctx = e->ctx;
    e->ops->release(e);
    rbm__free(ctx, e->vin);
    rbm__free(ctx, e->ph);
    rbm__free(ctx, e->phw);
    rbm__free(ctx, e->bwn);
    rbm__free(ctx, e->gw);
    rbm_gradient_free(e->gs);
    rbm__free(ctx, e);
}

/* The checks of rbm_estimator_new that need no allocation. */
static rbm_status check_new(const rbm_machine *m, rbm_estimator_kind kind,
                            const rbm__estimator_ops *ops, size_t k, size_t max_batch)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_context *ctx = mv->ctx;
    if (!ops)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "unknown estimator kind %d", (int)kind);
    if (ops->k_counts && k == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s needs k >= 1 %s",
                         rbm_estimator_kind_name(kind), ops->k_counts);
    if (k > (size_t)INT32_MAX) /* the bounds of RBM_ESTIMATOR_K */
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "k = %zu exceeds the limit %d of %s", k,
                         INT32_MAX, rbm_estimator_kind_name(kind));
    if (mv->vk == RBM_UNIT_POTTS && kind != RBM_ESTIMATOR_CD && kind != RBM_ESTIMATOR_PCD &&
        kind != RBM_ESTIMATOR_EXACT && kind != RBM_ESTIMATOR_MF && kind != RBM_ESTIMATOR_TAP2)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "the %s estimator does not support a Potts visible layer yet (cd, pcd, "
                         "exact, mf and tap2 do)",
                         rbm_estimator_kind_name(kind));
    if (max_batch == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "max_batch must be >= 1");
    if (max_batch > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "max_batch %zu exceeds the BLAS limit",
                         max_batch);
    size_t bv, bh;
    if (!rbm__mul_ok(max_batch, mv->nvw, &bv) || !rbm__mul_ok(max_batch, mv->nh, &bh))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "batch of %zu rows overflows", max_batch);
    return RBM_OK;
}

rbm_status rbm__estimator_create(rbm_machine *m, rbm_estimator_kind kind, size_t k,
                                 size_t n_chains, size_t max_batch, uint64_t seed,
                                 rbm_estimator **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_context *ctx = mv->ctx;
    const rbm__estimator_ops *ops = ops_of(kind);
    rbm_status st = check_new(m, kind, ops, k, max_batch);
    if (st)
        return st;
    rbm_estimator *e;
    if ((st = rbm__xcalloc(ctx, 1, sizeof *e, &e, "estimator")))
        return st;
    e->ctx = ctx;
    e->m = m;
    e->kind = kind;
    e->ops = ops;
    e->k = k;
    e->chains = n_chains;
    e->seed = seed;
    e->max_batch = max_batch;
    e->prec = mv->prec;
    e->kern = rbm__kern_for(mv->prec);
    rbm__rng_init(&e->rng, ctx, rbm__seed_mix(seed, RBM__STREAM_ESTIMATOR_RNG));
    size_t el = e->kern->elem;
    if ((st = rbm__xcalloc(ctx, max_batch * mv->nv, el, &e->vin, "estimator batch")) ||
        (st = rbm__xcalloc(ctx, max_batch * mv->nh, el, &e->ph, "estimator batch")) ||
        (st = rbm__xcalloc(ctx, max_batch * mv->nh, el, &e->phw, "estimator batch")) ||
        (st = rbm__xcalloc(ctx, max_batch, sizeof(double), &e->bwn, "batch weights")) ||
        (mv->prec == RBM_PRECISION_FLOAT32 &&
         (st = rbm__xcalloc(ctx, mv->nvw * mv->nh, el, &e->gw, "gradient scratch"))) ||
        (st = ops->init(e, n_chains, seed))) {
        rbm_estimator_free(e);
        return st;
    }
    *out = e;
    return RBM_OK;
}

rbm_status rbm_estimator_new(rbm_machine *m, rbm_estimator_kind kind, size_t max_batch,
                             uint64_t seed, rbm_estimator **out)
{
    if (out)
        *out = NULL;
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(rbm__machine_view_of(m)->ctx, RBM_ERR_NULL,
                         "rbm_estimator_new: out is NULL");
    rbm_estimator *e;
    rbm_status st = rbm__estimator_create(m, kind, 1, 0, max_batch, seed, &e);
    if (st)
        return st;
    if ((st = rbm_gradient_new(m, &e->gs))) {
        rbm_estimator_free(e);
        return st;
    }
    *out = e;
    return RBM_OK;
}

rbm_estimator_kind rbm_estimator_kind_of(const rbm_estimator *e)
{
    return e ? e->kind : RBM_ESTIMATOR_CD;
}

/* ---------------- tunable keys ---------------- */

static const rbm__param_spec estimator_specs[] = {
    {RBM_ESTIMATOR_K, "RBM_ESTIMATOR_K", RBM__PARAM_INT, 1, INT32_MAX, false, false},
    {RBM_ESTIMATOR_CHAINS, "RBM_ESTIMATOR_CHAINS", RBM__PARAM_INT, 0, INT32_MAX, false, false},
    {RBM_ESTIMATOR_REPLICAS, "RBM_ESTIMATOR_REPLICAS", RBM__PARAM_INT, 0,
     RBM_TEMPERING_MAX_REPLICAS, false, false},
    {RBM_ESTIMATOR_RETUNE_EVERY, "RBM_ESTIMATOR_RETUNE_EVERY", RBM__PARAM_INT, 0, INT32_MAX,
     false, false},
};

static const rbm__param_table estimator_params = {
    "estimator", "rbm_estimator", 200, estimator_specs,
    sizeof estimator_specs / sizeof estimator_specs[0]};

/* Fresh chains or particles: n (0: max_batch) and, for PT, `replicas`,
 * seeded as at creation. The new family state is built beside the old one,
 * so a failure leaves the estimator as it was. */
static rbm_status set_chains(rbm_estimator *e, size_t n, size_t replicas)
{
    rbm_estimator fresh = *e;
    memset(&fresh.u, 0, sizeof fresh.u);
    fresh.replicas = replicas;
    rbm_status st = e->ops->init(&fresh, n, e->seed);
    if (st) {
        e->ops->release(&fresh);
        return st;
    }
    e->ops->release(e);
    e->u = fresh.u;
    e->chains = n;
    e->replicas = replicas;
    return RBM_OK;
}

/* The PT-only keys. */
static rbm_status set_pt_key(rbm_estimator *e, rbm_estimator_param key, int64_t value)
{
    if (e->ops != &rbm__estimator_pt_ops)
        return rbm__fail(e->ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_estimator_set_int: %s applies to PT estimators only, not %s",
                         key == RBM_ESTIMATOR_REPLICAS ? "RBM_ESTIMATOR_REPLICAS"
                                                       : "RBM_ESTIMATOR_RETUNE_EVERY",
                         rbm_estimator_kind_name(e->kind));
    if (key == RBM_ESTIMATOR_RETUNE_EVERY) {
        e->retune = (size_t)value;
        return RBM_OK;
    }
    if (value == 1)
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "RBM_ESTIMATOR_REPLICAS = 1: a ladder needs 2 or more replicas");
    return set_chains(e, e->chains, (size_t)value);
}

rbm_status rbm_estimator_set_int(rbm_estimator *e, rbm_estimator_param key, int64_t value)
{
    if (!e)
        return RBM_ERR_NULL;
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(e->ctx, &estimator_params, "rbm_estimator_set_int",
                                     (int32_t)key, RBM__PARAM_INT, (double)value, &spec);
    if (st)
        return st;
    const char *kind = rbm_estimator_kind_name(e->kind);
    if (key == RBM_ESTIMATOR_K) {
        e->k = (size_t)value; /* EXACT keeps it and ignores it */
        return RBM_OK;
    }
    if (key == RBM_ESTIMATOR_REPLICAS || key == RBM_ESTIMATOR_RETUNE_EVERY)
        return set_pt_key(e, key, value);
    if (!e->ops->chains_are)
        return rbm__fail(e->ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_estimator_set_int: %s estimators keep no persistent chains", kind);
    return set_chains(e, (size_t)value, e->replicas);
}

rbm_status rbm_estimator_get_int(const rbm_estimator *e, rbm_estimator_param key, int64_t *out)
{
    if (!e)
        return RBM_ERR_NULL;
    rbm_status st = rbm__param_get_check(e->ctx, &estimator_params, "rbm_estimator_get_int",
                                         (int32_t)key, RBM__PARAM_INT, out);
    if (st)
        return st;
    bool pt = e->ops == &rbm__estimator_pt_ops;
    if (key == RBM_ESTIMATOR_K)
        *out = (int64_t)e->k;
    else if (key == RBM_ESTIMATOR_REPLICAS)
        *out = pt ? (int64_t)rbm_tempering_replica_count(e->u.pt.pt) : 0;
    else if (key == RBM_ESTIMATOR_RETUNE_EVERY)
        *out = pt ? (int64_t)e->retune : 0;
    else
        *out = !e->ops->chains_are ? 0 : (int64_t)(e->chains ? e->chains : e->max_batch);
    return RBM_OK;
}

rbm_status rbm_estimator_param_bounds(rbm_estimator_param key, rbm_param_bounds *out)
{
    return rbm__param_bounds(&estimator_params, (int32_t)key, out);
}

rbm_sampler *rbm_estimator_sampler(rbm_estimator *e)
{
    return e && e->ops == &rbm__estimator_pcd_ops ? e->u.pcd.chains : NULL;
}

rbm_tempering *rbm_estimator_tempering(rbm_estimator *e)
{
    return e && e->ops == &rbm__estimator_pt_ops ? e->u.pt.pt : NULL;
}

/* The particles of an MF/TAP2/TAP3 estimator, NULL for the other kinds. */
static rbm__mf_emf *particles_of(const rbm_estimator *e)
{
    return e->ops == &rbm__estimator_emf_ops ? e->u.emf.particles : NULL;
}

const void *rbm__estimator_positive_hidden(const rbm_estimator *e)
{
    return e->ph;
}

void rbm__estimator_set_batch_weights(rbm_estimator *e, const double *w)
{
    e->bw = w;
}

/* Row r of the B x n real array X times s[r], into Y. */
static void scale_rows(const rbm__kern *K, size_t B, size_t n, const double *s, const void *Xv,
                       void *Yv)
{
    if (K->elem == sizeof(float)) {
        const float *X = Xv;
        float *Y = Yv;
        for (size_t r = 0; r < B; r++)
            for (size_t j = 0; j < n; j++)
                Y[r * n + j] = (float)s[r] * X[r * n + j];
    } else {
        const double *X = Xv;
        double *Y = Yv;
        for (size_t r = 0; r < B; r++)
            for (size_t j = 0; j < n; j++)
                Y[r * n + j] = s[r] * X[r * n + j];
    }
}

/* The data term with sample weights e->bw (B values, sum > 0): the batch
 * mean weighted by w_r / sum_r w_r; e->phw holds the weighted E[h|v]. */
static void weighted_data_term(rbm_estimator *e, size_t B, const void *v, void *G,
                               rbm_gradient *g)
{
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    const rbm__kern *K = e->kern;
    double sum = 0;
    for (size_t r = 0; r < B; r++)
        sum += e->bw[r];
    double *wn = e->bwn;
    for (size_t r = 0; r < B; r++)
        wn[r] = e->bw[r] / sum;
    scale_rows(K, B, mv->nh, wn, e->ph, e->phw);
    K->visible_outer(mv, B, 1.0, v, e->phw, 0.0, G);
    const char *row = v;
    for (size_t r = 0; r < B; r++)
        K->visible_colsum(mv, 1, wn[r], row + r * mv->nv * K->elem, r ? 1.0 : 0.0, g->da);
    K->colsum(B, mv->nh, 1.0, e->phw, 0.0, g->db);
}

/* e->ph = E[h|v]; G = <onehot(v) ph^T>, g->da = <onehot(v)>, g->db = <ph>
 * over the batch (weighted when batch weights are set). */
static void positive_phase(rbm_estimator *e, size_t B, const void *v, void *G, rbm_gradient *g)
{
    const rbm_machine *m = e->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const rbm__kern *K = e->kern;
    const double inv = 1.0 / (double)B;
    if (e->ops->positive) {
        e->ops->positive(e, B, v);
    } else {
        K->hidden_field(mv, B, v, e->ph);
        K->mean(mv->hk, mv->sigma_h, B * mv->nh, e->ph, e->ph);
    }
    if (e->bw) {
        weighted_data_term(e, B, v, G, g);
        return;
    }
    K->visible_outer(mv, B, inv, v, e->ph, 0.0, G);
    K->visible_colsum(mv, B, inv, v, 0.0, g->da);
    K->colsum(B, mv->nh, inv, e->ph, 0.0, g->db);
}

rbm_status rbm__estimator_compute_real(rbm_estimator *e, size_t B, const void *v, rbm_gradient *g)
{
    const rbm_machine *m = e->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (mv->prec != e->prec)
        return rbm__fail(e->ctx, RBM_ERR_STATE,
                         "machine precision changed since the estimator was created");
    if (g->nv != mv->nvw || g->nh != mv->nh)
        return rbm__fail(e->ctx, RBM_ERR_SHAPE,
                         "gradient is for a %zu x %zu machine, machine is %zu x %zu", g->nv, g->nh,
                         mv->nvw, mv->nh);
    /* The real-typed weight accumulator: the gradient itself in float64. */
    void *G = e->gw ? e->gw : (void *)g->dW;
    e->rng_prev = e->rng;
    e->pending = true;
    positive_phase(e, B, v, G, g);
    if (e->ops->negative_real)
        e->ops->negative_real(e, B, G, g);
    if (e->gw)
        e->kern->to_f64(mv->nvw * mv->nh, e->gw, g->dW);
    return e->ops->negative_f64 ? e->ops->negative_f64(e, B, v, g) : RBM_OK;
}

rbm_status rbm_estimator_compute(rbm_estimator *e, size_t batch, const double *v, size_t v_len,
                                 rbm_gradient *g)
{
    if (!e)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    if (!g)
        return rbm__fail(e->ctx, RBM_ERR_NULL, "gradient is NULL");
    if (batch == 0 || batch > e->max_batch)
        return rbm__fail(e->ctx, RBM_ERR_SHAPE, "batch of %zu rows; this estimator takes 1..%zu",
                         batch, e->max_batch);
    rbm_status st;
    if ((st = rbm__check_array(e->ctx, v, v_len, batch * mv->nv, "minibatch")) ||
        (st = rbm__check_finite(e->ctx, v, v_len, "minibatch")) ||
        (mv->vk == RBM_UNIT_POTTS &&
         (st = rbm__potts_check_states(e->ctx, v, v_len, mv->nq, "minibatch"))))
        return st;
    if (g->nv != mv->nvw || g->nh != mv->nh)
        return rbm__fail(e->ctx, RBM_ERR_SHAPE,
                         "gradient is for a %zu x %zu machine, machine is %zu x %zu", g->nv, g->nh,
                         mv->nvw, mv->nh);
    e->kern->from_f64(v_len, v, e->vin);
    st = rbm__estimator_compute_real(e, batch, e->vin, e->gs);
    if (!st && !isfinite(rbm__gradient_max_abs(e->gs)))
        st = rbm__fail(e->ctx, RBM_ERR_NUMERICAL,
                       "the gradient estimate is not finite; the estimator and the gradient are "
                       "left as they were");
    if (st) {
        rbm__estimator_rollback(e);
        return st;
    }
    rbm__estimator_commit(e);
    rbm__gradient_copy(g, e->gs);
    return RBM_OK;
}

void rbm__estimator_commit(rbm_estimator *e)
{
    if (!e->pending)
        return;
    if (e->ops->commit)
        e->ops->commit(e);
    e->pending = false;
}

void rbm__estimator_rollback(rbm_estimator *e)
{
    if (!e->pending)
        return;
    if (e->ops->rollback)
        e->ops->rollback(e);
    e->rng = e->rng_prev;
    e->pending = false;
}

/* ---------------- checkpoints ---------------- */

void rbm__estimator_write_config(const rbm_estimator *e, rbm__wbuf *w)
{
    rbm__wbuf_u32(w, (uint32_t)e->kind);
    rbm__wbuf_u64(w, e->k);
}

void rbm__estimator_read_config(rbm__ckpt_in *in, rbm__estimator_config *c)
{
    c->kind = rbm__rbuf_u32(&in->r);
    c->k = rbm__rbuf_u64(&in->r);
}

void rbm__estimator_write_rng(const rbm_estimator *e, rbm__wbuf *w)
{
    rbm__ckpt_put_rng(w, &e->rng);
}

rbm_status rbm__estimator_read_rng(rbm_estimator *e, rbm__ckpt_in *in)
{
    return rbm__ckpt_get_rng(in, &e->rng, "estimator rng");
}

static void write_particles(rbm__mf_emf *mf, size_t nv, size_t nh, rbm__wbuf *w)
{
    size_t np = mf ? rbm__mf_emf_particles(mf) : 0;
    rbm__wbuf_u64(w, np);
    if (!mf)
        return;
    bool ready = rbm__mf_emf_ready(mf);
    rbm__wbuf_u32(w, ready ? 1 : 0);
    if (ready) {
        rbm__wbuf_f64s(w, rbm__mf_emf_visible(mf), np * nv);
        rbm__wbuf_f64s(w, rbm__mf_emf_hidden(mf), np * nh);
    }
}

static rbm_status read_particles(rbm__mf_emf *mf, size_t nv, size_t nh, rbm__ckpt_in *in)
{
    size_t have = mf ? rbm__mf_emf_particles(mf) : 0;
    uint64_t np = rbm__rbuf_u64(&in->r);
    if (in->r.short_read || np != have)
        return rbm__ckpt_bad(in, "training state: %llu mean-field particles, estimator has %zu",
                             (unsigned long long)np, have);
    if (!mf)
        return RBM_OK;
    uint32_t ready = rbm__rbuf_u32(&in->r);
    if (in->r.short_read || ready > 1)
        return rbm__ckpt_bad(in, "training state: invalid mean-field particle flag");
    rbm_status st;
    if (ready &&
        ((st = rbm__ckpt_get_f64s(in, rbm__mf_emf_visible(mf), have * nv,
                                  "visible magnetisation")) ||
         (st = rbm__ckpt_get_f64s(in, rbm__mf_emf_hidden(mf), have * nh, "hidden magnetisation"))))
        return st;
    rbm__mf_emf_set_ready(mf, ready != 0);
    return RBM_OK;
}

void rbm__estimator_write_state(const rbm_estimator *e, rbm__wbuf *w)
{
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    const rbm_sampler *s = e->ops == &rbm__estimator_pcd_ops ? e->u.pcd.chains : NULL;
    rbm__wbuf_u64(w, s ? rbm_sampler_chain_count(s) : 0);
    if (s)
        rbm__sampler_write_state(s, w);
    write_particles(particles_of(e), mv->nvw, mv->nh, w);
    if (e->ops == &rbm__estimator_pt_ops)
        rbm__estimator_pt_write_state(e, w);
}

rbm_status rbm__estimator_read_state(rbm_estimator *e, rbm__ckpt_in *in)
{
    const rbm__machine_view *mv = rbm__machine_view_of(e->m);
    rbm_sampler *s = rbm_estimator_sampler(e);
    size_t have = rbm_sampler_chain_count(s);
    uint64_t nchains = rbm__rbuf_u64(&in->r);
    if (nchains != have)
        return rbm__ckpt_bad(in, "training state: %llu persistent chains, estimator has %zu",
                             (unsigned long long)nchains, have);
    rbm_status st;
    if (s && (st = rbm__sampler_read_state(s, in)))
        return st;
    if ((st = read_particles(particles_of(e), mv->nvw, mv->nh, in)))
        return st;
    return e->ops == &rbm__estimator_pt_ops ? rbm__estimator_pt_read_state(e, in) : RBM_OK;
}
