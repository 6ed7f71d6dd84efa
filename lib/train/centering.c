/* librbm — centering: the centred gradient (Montavon & Mueller 2012;
 * Melchior, Fischer & Wiskott 2016) in the uncentred parameters
 * (docs/theory.md §12).
 *
 * With offsets mu (visible) and lambda (hidden), the centred machine's
 * energy -(v - mu)^T W (h - lambda) - a_c.(v - mu) - b_c.(h - lambda) is the
 * ordinary machine with a = a_c - W lambda, b = b_c - W^T mu. Its ascent
 * direction, from the ordinary one (gW, ga, gb), is
 *   gW' = gW - mu gb^T - ga lambda^T,  ga_c = ga,  gb_c = gb,
 * and a step on (W, a_c, b_c) is, on the stored (W, a, b),
 *   dW = gW',  da = ga - gW' lambda,  db = gb - gW'^T mu.
 * The offsets follow mu <- (1 - nu) mu + nu (<v>_data + <v>_model)/2 and
 * likewise lambda with <E[h|v]>_data and <h>_model = <E[h|v]>_data - gb,
 * nu the rate, after every successful step (set outright by the first);
 * changing an offset does not change the stored machine. */
#include "core/internal.h"
#include "train/centering.h"
#include "train/gradient_impl.h"

#include <string.h>

rbm_status rbm__centering_init(rbm_context *ctx, size_t nv, size_t nh, rbm__centering *c)
{
    memset(c, 0, sizeof *c);
    c->rate = 0.01;
    c->nv = nv;
    c->nh = nh;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, nv, sizeof(double), &c->mu, "centering offsets")) ||
        (st = rbm__xcalloc(ctx, nh, sizeof(double), &c->lam, "centering offsets")) ||
        (st = rbm__xcalloc(ctx, nv, sizeof(double), &c->mu_next, "centering offsets")) ||
        (st = rbm__xcalloc(ctx, nh, sizeof(double), &c->lam_next, "centering offsets")) ||
        (st = rbm__xcalloc(ctx, nv, sizeof(double), &c->dv, "centering means")) ||
        (st = rbm__xcalloc(ctx, nh, sizeof(double), &c->dh, "centering means")))
        return st;
    return RBM_OK;
}

void rbm__centering_free(rbm_context *ctx, rbm__centering *c)
{
    double *bufs[] = {c->mu, c->lam, c->mu_next, c->lam_next, c->dv, c->dh};
    for (size_t i = 0; i < 6; i++)
        rbm__free(ctx, bufs[i]);
}

/* target = mean of data and model means; next = (1 - nu) cur + nu target,
 * or target itself before the first step. */
static void next_offsets(const rbm__centering *c, size_t n, const double *cur, const double *dmean,
                         const double *g, double *next)
{
    for (size_t i = 0; i < n; i++) {
        double target = dmean[i] - 0.5 * g[i];
        next[i] = c->started ? (1 - c->rate) * cur[i] + c->rate * target : target;
    }
}

void rbm__centering_apply(rbm__centering *c, const rbm__kern *K, size_t n, const void *v,
                          const void *ph, rbm_gradient *g)
{
    const size_t nv = c->nv, nh = c->nh;
    K->colsum(n, nv, 1.0 / (double)n, v, 0.0, c->dv);
    K->colsum(n, nh, 1.0 / (double)n, ph, 0.0, c->dh);
    next_offsets(c, nv, c->mu, c->dv, g->da, c->mu_next);
    next_offsets(c, nh, c->lam, c->dh, g->db, c->lam_next);
    /* before the first step the offsets in use are the first targets */
    const double *mu = c->started ? c->mu : c->mu_next;
    const double *lam = c->started ? c->lam : c->lam_next;
    double *W = g->dW;
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++)
            W[i * nh + j] -= mu[i] * g->db[j] + g->da[i] * lam[j];
    for (size_t i = 0; i < nv; i++) {
        double s = 0;
        for (size_t j = 0; j < nh; j++)
            s += W[i * nh + j] * lam[j];
        g->da[i] -= s;
    }
    for (size_t j = 0; j < nh; j++) {
        double s = 0;
        for (size_t i = 0; i < nv; i++)
            s += W[i * nh + j] * mu[i];
        g->db[j] -= s;
    }
}

void rbm__centering_commit(rbm__centering *c)
{
    memcpy(c->mu, c->mu_next, c->nv * sizeof(double));
    memcpy(c->lam, c->lam_next, c->nh * sizeof(double));
    c->started = true;
}

void rbm__centering_write_state(const rbm__centering *c, rbm__wbuf *w)
{
    rbm__wbuf_f64(w, c->rate);
    rbm__wbuf_u32(w, c->started ? 1 : 0);
    rbm__wbuf_f64s(w, c->mu, c->nv);
    rbm__wbuf_f64s(w, c->lam, c->nh);
}

rbm_status rbm__centering_read_state(rbm__centering *c, rbm__ckpt_in *in)
{
    double rate = rbm__rbuf_f64(&in->r);
    uint32_t started = rbm__rbuf_u32(&in->r);
    if (in->r.short_read || !(rate > 0 && rate <= 1) || started > 1)
        return rbm__ckpt_bad(in, "training state: invalid centering rate or flag");
    rbm_status st;
    if ((st = rbm__ckpt_get_f64s(in, c->mu, c->nv, "visible offset")) ||
        (st = rbm__ckpt_get_f64s(in, c->lam, c->nh, "hidden offset")))
        return st;
    c->on = true;
    c->rate = rate;
    c->started = started != 0;
    return RBM_OK;
}
