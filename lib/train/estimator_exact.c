/* librbm — estimator_exact: the EXACT estimator, model statistics computed
 * exactly: by enumerating the states of the smaller discrete layer (at most
 * RBM_EXACT_MAX_UNITS units), or for a Gauss-Gauss machine by the closed
 * form of the joint Gaussian (rbm__gauss_gauss_stats, docs/theory.md §1.5). */
#include "core/internal.h"
#include "train/estimator_impl.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

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

/* ---------------- the estimator ---------------- */

static rbm_status exact_init(rbm_estimator *e, size_t n_chains, uint64_t seed)
{
    (void)n_chains;
    (void)seed;
    rbm__exact_state *x = &e->u.exact;
    const rbm_machine *m = e->m;
    rbm_status st;
    if (m->vk == RBM_UNIT_GAUSSIAN && m->hk == RBM_UNIT_GAUSSIAN) {
        x->method = RBM__EXACT_GAUSS_GAUSS;
        st = rbm__xcalloc(e->ctx, rbm__gauss_gauss_ws_len(m), sizeof(double), &x->gg_ws,
                          "Gauss-Gauss workspace");
    } else {
        int layer = rbm__enum_layer(m, RBM_EXACT_MAX_UNITS);
        if (layer < 0)
            return rbm__fail(e->ctx, RBM_ERR_UNSUPPORTED,
                             "exact gradient needs a discrete layer of at most %d units (machine "
                             "has %zu %s visible and %zu %s hidden units)",
                             RBM_EXACT_MAX_UNITS, m->nv, rbm_unit_kind_name(m->vk), m->nh,
                             rbm_unit_kind_name(m->hk));
        x->method = RBM__EXACT_ENUMERATE;
        x->layer = layer ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
        st = rbm__enum_ws_init(e->ctx, m, x->layer == RBM_LAYER_HIDDEN, &x->ws);
    }
    if (st ||
        (st = rbm__xcalloc(e->ctx, m->nv * m->nh, sizeof(double), &x->vh, "model statistics")) ||
        (st = rbm__xcalloc(e->ctx, m->nv, sizeof(double), &x->v, "model statistics")) ||
        (st = rbm__xcalloc(e->ctx, m->nh, sizeof(double), &x->h, "model statistics")))
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
    rbm_status st = RBM_OK;
    switch (x->method) {
    case RBM__EXACT_GAUSS_GAUSS:
        st = rbm__gauss_gauss_stats(m, x->gg_ws, x->vh, x->v, x->h);
        break;
    case RBM__EXACT_ENUMERATE:
        st = rbm__exact_stats(m, x->layer == RBM_LAYER_HIDDEN, &x->ws, NULL, x->vh, x->v, x->h);
        break;
    }
    if (st)
        return st;
    for (size_t i = 0; i < m->nv * m->nh; i++)
        g->dW[i] -= x->vh[i];
    for (size_t i = 0; i < m->nv; i++)
        g->da[i] -= x->v[i];
    for (size_t j = 0; j < m->nh; j++)
        g->db[j] -= x->h[j];
    return RBM_OK;
}

const rbm__estimator_ops rbm__estimator_exact_ops = {
    .k_counts = NULL, /* k is ignored */
    .init = exact_init,
    .release = exact_release,
    .negative_f64 = exact_negative,
};
