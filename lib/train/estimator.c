/* librbm — estimators: CD-k, PCD-k, exact enumeration, naive MF / TAP2 /
 * TAP3 (EMF, negative phase in meanfield.c). */
#include "core/internal.h"
#include "core/seed.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

struct rbm_estimator {
    rbm_context *ctx;
    rbm_machine *m;
    rbm_estimator_kind kind;
    size_t k, max_batch;
    rbm_precision prec;
    const rbm__kern *kern;
    rbm_rng rng;
    rbm_sampler *chains; /* PCD */
    void *vin;           /* max_batch x nv: input converted to the compute type */
    void *ph;            /* max_batch x nh: E[h|v] of the data */
    void *cv, *ch, *cfv, *cfh; /* CD chains (max_batch rows) */
    void *nh_mean;       /* PCD: n_chains x nh, E[h|v] of the chains */
    void *gw;            /* nv x nh scratch in float32 (NULL for float64) */
    int enum_layer;      /* EXACT: enumerated layer, or -2 for the Gauss-Gauss closed form */
    double *gg_ws;       /* EXACT Gauss-Gauss: rbm__gauss_gauss_stats workspace */
    rbm__enum_ws ws;
    double *mvh, *mv, *mh; /* EXACT model statistics */
    rbm__mf_emf *mf;     /* MF, TAP2, TAP3: persistent magnetisations */
};

/* Damping of the EMF estimators' fixed-point iterations (docs/theory.md §4.5). */
#define EMF_DAMPING 0.5

static bool is_mf_kind(rbm_estimator_kind kind)
{
    return kind == RBM_ESTIMATOR_MF || kind == RBM_ESTIMATOR_TAP2 || kind == RBM_ESTIMATOR_TAP3;
}

/* ---------------- exact enumeration ---------------- */

int rbm__enum_layer(const rbm_machine *m, size_t max_units)
{
    bool vd = m->vk != RBM_UNIT_GAUSSIAN && m->nv <= max_units;
    bool hd = m->hk != RBM_UNIT_GAUSSIAN && m->nh <= max_units;
    if (vd && hd)
        return m->nv < m->nh ? 0 : 1;
    if (hd)
        return 1;
    if (vd)
        return 0;
    return -1;
}

rbm_status rbm__enum_ws_init(rbm_context *ctx, const rbm_machine *m, int layer, rbm__enum_ws *ws)
{
    memset(ws, 0, sizeof *ws);
    size_t n = layer ? m->nh : m->nv, o = layer ? m->nv : m->nh;
    size_t states = (size_t)1 << n;
    ws->chunk = states < 1024 ? states : 1024;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, ws->chunk * n, sizeof(double), &ws->S, "enumeration states")) ||
        (st = rbm__xcalloc(ctx, ws->chunk * o, sizeof(double), &ws->F, "enumeration fields")) ||
        (st = rbm__xcalloc(ctx, ws->chunk, sizeof(double), &ws->lw, "enumeration weights"))) {
        rbm__enum_ws_free(ctx, ws);
        return st;
    }
    return RBM_OK;
}

void rbm__enum_ws_free(rbm_context *ctx, rbm__enum_ws *ws)
{
    rbm__free(ctx, ws->S);
    rbm__free(ctx, ws->F);
    rbm__free(ctx, ws->lw);
    memset(ws, 0, sizeof *ws);
}

rbm_status rbm__exact_stats(const rbm_machine *m, int layer, rbm__enum_ws *ws, double *log_z,
                            double *vh, double *v, double *h)
{
    const size_t nv = m->nv, nh = m->nh;
    const size_t n = layer ? nh : nv, o = layer ? nv : nh;
    const rbm_unit_kind ek = layer ? m->hk : m->vk, ok = layer ? m->vk : m->hk;
    const double osig = layer ? m->sigma_v : m->sigma_h;
    const double *ebias = layer ? m->b : m->a, *obias = layer ? m->a : m->b;
    const double lo = ek == RBM_UNIT_ISING ? -1.0 : 0.0;
    const bool stats = vh != NULL;
    const uint64_t states = (uint64_t)1 << n;
    const size_t C = ws->chunk;
    double M = -INFINITY, zacc = 0.0;
    double *A_e = layer ? h : v, *A_o = layer ? v : h;
    if (stats) {
        memset(vh, 0, nv * nh * sizeof(double));
        memset(v, 0, nv * sizeof(double));
        memset(h, 0, nh * sizeof(double));
    }
    for (uint64_t t0 = 0; t0 < states; t0 += C) {
        size_t c = (size_t)((states - t0) < C ? (states - t0) : C);
        for (size_t r = 0; r < c; r++) {
            uint64_t t = t0 + r;
            double *s = ws->S + r * n;
            for (size_t u = 0; u < n; u++)
                s[u] = (t >> u) & 1 ? 1.0 : lo;
            memcpy(ws->F + r * o, obias, o * sizeof(double));
        }
        if (layer)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c, (int)nv, (int)nh, 1.0,
                        ws->S, (int)nh, m->W, (int)nh, 1.0, ws->F, (int)nv);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c, (int)nh, (int)nv, 1.0,
                        ws->S, (int)nv, m->W, (int)nh, 1.0, ws->F, (int)nh);
        double cm = -INFINITY;
        for (size_t r = 0; r < c; r++) {
            const double *s = ws->S + r * n, *f = ws->F + r * o;
            double lw = 0;
            for (size_t u = 0; u < n; u++)
                lw += ebias[u] * s[u];
            lw += rbm__logpart_sum(ok, osig, o, f, 1.0);
            ws->lw[r] = lw;
            if (lw > cm)
                cm = lw;
        }
        if (!isfinite(cm))
            return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "enumeration produced a non-finite weight");
        if (cm > M) {
            double sc = isfinite(M) ? exp(M - cm) : 0.0;
            zacc *= sc;
            if (stats && sc != 1.0) {
                cblas_dscal((int)(nv * nh), sc, vh, 1);
                cblas_dscal((int)nv, sc, v, 1);
                cblas_dscal((int)nh, sc, h, 1);
            }
            M = cm;
        }
        for (size_t r = 0; r < c; r++) {
            double w = exp(ws->lw[r] - M);
            ws->lw[r] = w;
            zacc += w;
            if (stats) {
                double *f = ws->F + r * o;
                const double *s = ws->S + r * n;
                for (size_t q = 0; q < o; q++) {
                    f[q] = w * rbm__unit_mean(ok, osig, f[q]);
                    A_o[q] += f[q];
                }
                for (size_t u = 0; u < n; u++)
                    A_e[u] += w * s[u];
            }
        }
        if (stats) {
            if (layer) /* vh += Y^T S, Y = F (c x nv), S (c x nh) */
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)nh, (int)c, 1.0,
                            ws->F, (int)nv, ws->S, (int)nh, 1.0, vh, (int)nh);
            else /* vh += S^T Y, S (c x nv), Y (c x nh) */
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)nh, (int)c, 1.0,
                            ws->S, (int)nv, ws->F, (int)nh, 1.0, vh, (int)nh);
        }
    }
    if (log_z)
        *log_z = M + log(zacc);
    if (stats) {
        double inv = 1.0 / zacc;
        cblas_dscal((int)(nv * nh), inv, vh, 1);
        cblas_dscal((int)nv, inv, v, 1);
        cblas_dscal((int)nh, inv, h, 1);
    }
    return RBM_OK;
}

/* ---------------- estimators ---------------- */

const char *rbm_estimator_kind_name(rbm_estimator_kind kind)
{
    switch (kind) {
    case RBM_ESTIMATOR_CD: return "cd";
    case RBM_ESTIMATOR_PCD: return "pcd";
    case RBM_ESTIMATOR_EXACT: return "exact";
    case RBM_ESTIMATOR_MF: return "mf";
    case RBM_ESTIMATOR_TAP2: return "tap2";
    case RBM_ESTIMATOR_TAP3: return "tap3";
    }
    return NULL;
}

rbm_status rbm_estimator_kind_parse(const char *name, rbm_estimator_kind *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    for (int k = 0; k <= RBM_ESTIMATOR_TAP3; k++)
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
    rbm_sampler_free(e->chains);
    rbm__mf_emf_free(e->mf);
    void *bufs[] = {e->vin, e->ph, e->cv, e->ch, e->cfv, e->cfh, e->nh_mean, e->gw,
                    e->mvh, e->mv, e->mh, e->gg_ws};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rbm__free(ctx, bufs[i]);
    rbm__enum_ws_free(ctx, &e->ws);
    rbm__free(ctx, e);
}

rbm_status rbm_estimator_new(rbm_machine *m, rbm_estimator_kind kind, size_t k, size_t n_chains,
                             size_t max_batch, uint64_t seed, rbm_estimator **out)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = m->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_estimator_new: out is NULL");
    *out = NULL;
    if (kind != RBM_ESTIMATOR_CD && kind != RBM_ESTIMATOR_PCD && kind != RBM_ESTIMATOR_EXACT &&
        !is_mf_kind(kind))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "unknown estimator kind %d", (int)kind);
    if (kind != RBM_ESTIMATOR_EXACT && k == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s needs k >= 1 %s",
                         rbm_estimator_kind_name(kind),
                         is_mf_kind(kind) ? "fixed-point iterations" : "Gibbs sweeps");
    if (max_batch == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "max_batch must be >= 1");
    if (max_batch > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "max_batch %zu exceeds the BLAS limit",
                         max_batch);
    int layer = -1;
    if (kind == RBM_ESTIMATOR_EXACT && m->vk == RBM_UNIT_GAUSSIAN && m->hk == RBM_UNIT_GAUSSIAN) {
        layer = -2; /* closed form of the joint Gaussian (linear.c) */
    } else if (kind == RBM_ESTIMATOR_EXACT) {
        layer = rbm__enum_layer(m, RBM_EXACT_MAX_UNITS);
        if (layer < 0)
            return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                             "exact gradient needs a discrete layer of at most %d units (machine "
                             "has %zu %s visible and %zu %s hidden units)",
                             RBM_EXACT_MAX_UNITS, m->nv, rbm_unit_kind_name(m->vk), m->nh,
                             rbm_unit_kind_name(m->hk));
    }
    size_t bv, bh;
    if (!rbm__mul_ok(max_batch, m->nv, &bv) || !rbm__mul_ok(max_batch, m->nh, &bh))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "batch of %zu rows overflows", max_batch);
    rbm_estimator *e;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *e, &e, "estimator");
    if (st)
        return st;
    e->ctx = ctx;
    e->m = m;
    e->kind = kind;
    e->k = k;
    e->max_batch = max_batch;
    e->prec = m->prec;
    e->kern = rbm__kern_for(m->prec);
    e->enum_layer = layer;
    rbm__rng_init(&e->rng, ctx, rbm__seed_mix(seed, RBM__STREAM_ESTIMATOR_RNG));
    size_t el = e->kern->elem;
    if ((st = rbm__xcalloc(ctx, bv, el, &e->vin, "estimator batch")) ||
        (st = rbm__xcalloc(ctx, bh, el, &e->ph, "estimator batch")))
        goto fail;
    if (m->prec == RBM_PRECISION_FLOAT32 &&
        (st = rbm__xcalloc(ctx, m->nv * m->nh, el, &e->gw, "gradient scratch")))
        goto fail;
    switch (kind) {
    case RBM_ESTIMATOR_CD:
        if ((st = rbm__xcalloc(ctx, bv, el, &e->cv, "CD chains")) ||
            (st = rbm__xcalloc(ctx, bh, el, &e->ch, "CD chains")) ||
            (st = rbm__xcalloc(ctx, bv, el, &e->cfv, "CD chains")) ||
            (st = rbm__xcalloc(ctx, bh, el, &e->cfh, "CD chains")))
            goto fail;
        break;
    case RBM_ESTIMATOR_PCD: {
        size_t nc = n_chains ? n_chains : max_batch, nch;
        if ((st = rbm_sampler_new(m, nc, rbm__seed_mix(seed, RBM__STREAM_ESTIMATOR_CHAINS), &e->chains)))
            goto fail;
        if (!rbm__mul_ok(nc, m->nh, &nch)) {
            st = rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu chains overflow", nc);
            goto fail;
        }
        if ((st = rbm__xcalloc(ctx, nch, el, &e->nh_mean, "PCD chain means")))
            goto fail;
        break;
    }
    case RBM_ESTIMATOR_EXACT:
        if ((layer == -2 ? (st = rbm__xcalloc(ctx, rbm__gauss_gauss_ws_len(m), sizeof(double),
                                              &e->gg_ws, "Gauss-Gauss workspace"))
                         : (st = rbm__enum_ws_init(ctx, m, layer, &e->ws))) ||
            (st = rbm__xcalloc(ctx, m->nv * m->nh, sizeof(double), &e->mvh, "model statistics")) ||
            (st = rbm__xcalloc(ctx, m->nv, sizeof(double), &e->mv, "model statistics")) ||
            (st = rbm__xcalloc(ctx, m->nh, sizeof(double), &e->mh, "model statistics")))
            goto fail;
        break;
    case RBM_ESTIMATOR_MF:
    case RBM_ESTIMATOR_TAP2:
    case RBM_ESTIMATOR_TAP3:
        if ((st = rbm__mf_emf_new(m, (int)kind - (int)RBM_ESTIMATOR_MF + 1,
                                  n_chains ? n_chains : max_batch, &e->mf)))
            goto fail;
        break;
    }
    *out = e;
    return RBM_OK;
fail:
    rbm_estimator_free(e);
    return st;
}

size_t rbm_estimator_get_k(const rbm_estimator *e)
{
    return e ? e->k : 0;
}

rbm_estimator_kind rbm_estimator_get_kind(const rbm_estimator *e)
{
    return e ? e->kind : RBM_ESTIMATOR_CD;
}

rbm_sampler *rbm_estimator_sampler(rbm_estimator *e)
{
    return e ? e->chains : NULL;
}

size_t rbm__estimator_k(const rbm_estimator *e)
{
    return e->k;
}

rbm_rng *rbm__estimator_rng(rbm_estimator *e)
{
    return &e->rng;
}

rbm__mf_emf *rbm__estimator_mf(rbm_estimator *e)
{
    return e ? e->mf : NULL;
}

const void *rbm__estimator_positive_hidden(const rbm_estimator *e)
{
    return e->ph;
}

rbm_status rbm__estimator_compute_real(rbm_estimator *e, size_t B, const void *v, rbm_gradient *g)
{
    rbm_machine *m = e->m;
    const rbm__kern *K = e->kern;
    const size_t nv = m->nv, nh = m->nh;
    if (m->prec != e->prec)
        return rbm__fail(e->ctx, RBM_ERR_STATE,
                         "machine precision changed since the estimator was created");
    if (g->nv != nv || g->nh != nh)
        return rbm__fail(e->ctx, RBM_ERR_SHAPE,
                         "gradient is for a %zu x %zu machine, machine is %zu x %zu", g->nv, g->nh,
                         nv, nh);
    /* The real-typed weight accumulator: the gradient itself in float64. */
    void *G = e->gw ? e->gw : (void *)g->dW;
    const double inv = 1.0 / (double)B;

    /* positive phase: field, then E[h|v]; CD also samples h0 from the field */
    if (e->kind == RBM_ESTIMATOR_CD) {
        K->hidden_field(m, B, v, e->cfh);
        K->mean(m->hk, m->sigma_h, B * nh, e->cfh, e->ph);
        K->sample(m->hk, m->sigma_h, B * nh, e->cfh, e->ch, &e->rng);
    } else {
        K->hidden_field(m, B, v, e->ph);
        K->mean(m->hk, m->sigma_h, B * nh, e->ph, e->ph);
    }
    K->outer(B, nv, nh, inv, v, e->ph, 0.0, G);
    K->colsum(B, nv, inv, v, 0.0, g->da);
    K->colsum(B, nh, inv, e->ph, 0.0, g->db);

    /* negative phase */
    switch (e->kind) {
    case RBM_ESTIMATOR_CD:
        rbm__gibbs(m, K, &e->rng, B, e->cv, e->ch, e->cfv, e->cfh, e->k);
        K->mean(m->hk, m->sigma_h, B * nh, e->cfh, e->cfh);
        K->outer(B, nv, nh, -inv, e->cv, e->cfh, 1.0, G);
        K->colsum(B, nv, -inv, e->cv, 1.0, g->da);
        K->colsum(B, nh, -inv, e->cfh, 1.0, g->db);
        break;
    case RBM_ESTIMATOR_PCD: {
        rbm_sampler *s = e->chains;
        size_t n = s->n;
        double ninv = 1.0 / (double)n;
        rbm__gibbs(m, K, &s->rng, n, s->v, s->h, s->fv, s->fh, e->k);
        K->mean(m->hk, m->sigma_h, n * nh, s->fh, e->nh_mean);
        K->outer(n, nv, nh, -ninv, s->v, e->nh_mean, 1.0, G);
        K->colsum(n, nv, -ninv, s->v, 1.0, g->da);
        K->colsum(n, nh, -ninv, e->nh_mean, 1.0, g->db);
        break;
    }
    case RBM_ESTIMATOR_EXACT: {
        rbm_status st =
            e->enum_layer == -2
                ? rbm__gauss_gauss_stats(m, e->gg_ws, e->mvh, e->mv, e->mh)
                : rbm__exact_stats(m, e->enum_layer, &e->ws, NULL, e->mvh, e->mv, e->mh);
        if (st)
            return st;
        if (e->gw)
            K->to_f64(nv * nh, e->gw, g->dW);
        for (size_t i = 0; i < nv * nh; i++)
            g->dW[i] -= e->mvh[i];
        for (size_t i = 0; i < nv; i++)
            g->da[i] -= e->mv[i];
        for (size_t j = 0; j < nh; j++)
            g->db[j] -= e->mh[j];
        return RBM_OK;
    }
    case RBM_ESTIMATOR_MF:
    case RBM_ESTIMATOR_TAP2:
    case RBM_ESTIMATOR_TAP3:
        if (e->gw)
            K->to_f64(nv * nh, e->gw, g->dW);
        return rbm__mf_emf_negative(e->mf, B, v, K, e->k, EMF_DAMPING, g);
    }
    if (e->gw)
        K->to_f64(nv * nh, e->gw, g->dW);
    return RBM_OK;
}

rbm_status rbm_estimator_compute(rbm_estimator *e, size_t batch, const double *v, size_t v_len,
                                 rbm_gradient *g)
{
    if (!e)
        return RBM_ERR_NULL;
    if (!g)
        return rbm__fail(e->ctx, RBM_ERR_NULL, "gradient is NULL");
    if (batch == 0 || batch > e->max_batch)
        return rbm__fail(e->ctx, RBM_ERR_SHAPE, "batch of %zu rows; this estimator takes 1..%zu",
                         batch, e->max_batch);
    rbm_status st;
    if ((st = rbm__check_array(e->ctx, v, v_len, batch * e->m->nv, "minibatch")) ||
        (st = rbm__check_finite(e->ctx, v, v_len, "minibatch")))
        return st;
    e->kern->from_f64(v_len, v, e->vin);
    return rbm__estimator_compute_real(e, batch, e->vin, g);
}
