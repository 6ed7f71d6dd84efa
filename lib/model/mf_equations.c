/* librbm — mean-field equations: fields, reaction sums, unit statistics and
 * the damped alternating update of n magnetisation states (docs/theory.md §4).
 *
 * Every sum over the other layer is one BLAS product: out = A M with A the
 * n x N_other rows of a per-unit quantity (m, c or k3) and M one of W, w^2,
 * w^3 (transposed for the visible layer). */
#include "model/mf_equations.h"
#include "model/machine_impl.h"

#include <cblas.h>
#include <string.h>

#define MF_MAX_STATES 255 /* the largest q of a Potts layer (machine.h) */

rbm__mf_order rbm__mf_order_of_method(rbm_mf_method method)
{
    switch (method) {
    case RBM_MF_TAP2: return RBM__MF_TAP2;
    case RBM_MF_TAP3: return RBM__MF_TAP3;
    default: return RBM__MF_NAIVE;
    }
}

rbm_status rbm__mf_eq_init(rbm_context *ctx, const rbm_machine *m, rbm__mf_order order, size_t n,
                           bool batched, rbm__mf_eq *q)
{
    memset(q, 0, sizeof *q);
    q->m = m;
    q->order = order;
    q->n = n;
    q->batched = batched;
    q->nq = m->nq;
    const bool potts = m->vk == RBM_UNIT_POTTS;
    if (potts && order >= RBM__MF_TAP3)
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "TAP3 is not available for a Potts visible layer (naive MF and TAP2 "
                         "are; docs/theory.md section 4.7)");
    size_t nvh, lvh, per, extra = 0;
    if (!rbm__mul_ok(m->nvw, m->nh, &nvh))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu x %zu couplings overflow", m->nvw, m->nh);
    size_t mats = order >= RBM__MF_TAP3 ? 2 : order == RBM__MF_TAP2 ? 1 : 0;
    bool big = !rbm__mul_ok(n, m->nvw + m->nh, &lvh) || !rbm__mul_ok(lvh, 5, &per);
    if (!big && potts && order >= RBM__MF_TAP2) { /* wbar (n nv nh), wbar2 and y (n nh each) */
        size_t sites, hid2;
        big = !rbm__mul_ok(n, m->nv * m->nh, &sites) || !rbm__mul_ok(n, 2 * m->nh, &hid2) ||
              sites > SIZE_MAX - hid2;
        extra = big ? 0 : sites + hid2;
    }
    if (big || per > SIZE_MAX / sizeof(double) - extra ||
        nvh > (SIZE_MAX / sizeof(double) - per - extra) / (mats ? mats : 1))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "mean-field workspace overflows");
    rbm_status st = rbm__xcalloc(ctx, mats * nvh + per + extra, sizeof(double), &q->block,
                                 "mean-field workspace");
    if (st)
        return st;
    double *p = q->block;
    if (mats >= 1) {
        q->W2 = p;
        p += nvh;
    }
    if (mats >= 2) {
        q->W3 = p;
        p += nvh;
    }
    const rbm_layer layers[2] = {RBM_LAYER_VISIBLE, RBM_LAYER_HIDDEN};
    for (size_t l = 0; l < 2; l++) {
        rbm__mf_side *sd = &q->side[layers[l]];
        const size_t len = n * (layers[l] == RBM_LAYER_HIDDEN ? m->nh : m->nvw);
        double **arrays[] = {&sd->c, &sd->k3, &sd->S, &sd->T, &sd->f};
        for (size_t k = 0; k < 5; k++) {
            *arrays[k] = p;
            p += len;
        }
    }
    if (extra) {
        q->wbar = p;
        q->wbar2 = q->wbar + n * m->nv * m->nh;
        q->y = q->wbar2 + n * m->nh;
    }
    return RBM_OK;
}

void rbm__mf_eq_free(rbm_context *ctx, rbm__mf_eq *q)
{
    rbm__free(ctx, q->block);
    q->block = NULL;
}

void rbm__mf_eq_prepare(rbm__mf_eq *q)
{
    size_t n = q->m->nvw * q->m->nh;
    const double *W = q->m->W;
    if (q->W2)
        for (size_t i = 0; i < n; i++)
            q->W2[i] = W[i] * W[i];
    if (q->W3)
        for (size_t i = 0; i < n; i++)
            q->W3[i] = W[i] * W[i] * W[i];
}

/* out (n x N_layer) = A (n x N_other) M_{other, layer} + beta out, M nvw x nh. */
static void eq_prod(const rbm__mf_eq *q, rbm_layer layer, const double *A, const double *M,
                    double beta, double *out)
{
    const int n = (int)q->n, nv = (int)q->m->nvw, nh = (int)q->m->nh;
    const bool hid = layer == RBM_LAYER_HIDDEN;
    if (!q->batched) {
        cblas_dgemv(CblasRowMajor, hid ? CblasTrans : CblasNoTrans, nv, nh, 1.0, M, nh, A, 1,
                    beta, out, 1);
    } else if (hid) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nh, nv, 1.0, A, nv, M, nh, beta,
                    out, nh);
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nv, nh, 1.0, A, nh, M, nh, beta,
                    out, nv);
    }
}

/* y (n x nh) = c_h o wbar_i. for site i, every state. */
static void potts_y(rbm__mf_eq *q, size_t i)
{
    const size_t n = q->n, nv = q->m->nv, nh = q->m->nh;
    const double *ch = q->side[RBM_LAYER_HIDDEN].c;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < nh; j++)
            q->y[r * nh + j] = ch[r * nh + j] * q->wbar[(r * nv + i) * nh + j];
}

/* Potts visible layer: S_ic -= 2 sum_j W_icj c_j wbar_ij (y = c o wbar_i, one
 * site at a time, for all n states in one product). */
static void potts_visible_reaction(rbm__mf_eq *q)
{
    const rbm_machine *m = q->m;
    const size_t n = q->n, nv = m->nv, nh = m->nh, nq = q->nq;
    double *S = q->side[RBM_LAYER_VISIBLE].S;
    for (size_t i = 0; i < nv; i++) {
        potts_y(q, i);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nq, (int)nh, -2.0, q->y,
                    (int)nh, m->W + i * nq * nh, (int)nh, 1.0, S + i * nq, (int)m->nvw);
    }
}

/* S of `layer` from the other layer's c (c = m for a Potts visible layer),
 * corrected for a Potts visible layer as in mf_equations.h. */
static void reaction_sum(rbm__mf_eq *q, rbm_layer layer, double *S)
{
    eq_prod(q, layer, q->side[rbm__layer_other(layer)].c, q->W2, 0.0, S);
    if (!q->wbar)
        return;
    if (layer == RBM_LAYER_HIDDEN) {
        for (size_t k = 0; k < q->n * q->m->nh; k++)
            S[k] -= q->wbar2[k];
    } else {
        potts_visible_reaction(q);
    }
}

void rbm__mf_eq_reaction(rbm__mf_eq *q, rbm_layer layer)
{
    if (q->order < RBM__MF_TAP2)
        return;
    const rbm__mf_side *o = &q->side[rbm__layer_other(layer)];
    reaction_sum(q, layer, q->side[layer].S);
    if (q->order >= RBM__MF_TAP3)
        eq_prod(q, layer, o->k3, q->W3, 0.0, q->side[layer].T);
}

void rbm__mf_eq_potts_weight_term(rbm__mf_eq *q, const double *mv, double scale, double *dw)
{
    const rbm_machine *m = q->m;
    const size_t n = q->n, nv = m->nv, nh = m->nh, nq = q->nq;
    for (size_t i = 0; i < nv; i++) {
        potts_y(q, i);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nq, (int)nh, (int)n, -scale,
                    mv + i * nq, (int)m->nvw, q->y, (int)nh, 1.0, dw + i * nq * nh, (int)nh);
    }
}

void rbm__mf_eq_fields(rbm__mf_eq *q, rbm_layer layer, const double *mother)
{
    const rbm_machine *m = q->m;
    const bool hid = layer == RBM_LAYER_HIDDEN;
    const size_t nx = hid ? m->nh : m->nvw;
    const double *bias = hid ? m->b : m->a;
    double *f = q->side[layer].f;
    for (size_t r = 0; r < q->n; r++)
        memcpy(f + r * nx, bias, nx * sizeof(double));
    eq_prod(q, layer, mother, m->W, 1.0, f);
}

/* c and k3 of the cnt units of one layer when no reaction term is needed:
 * discrete units (from the magnetisation) or Gaussian units at naive order
 * (c = sigma^2, k3 = 0). False for a Gaussian layer at TAP order, whose
 * variance depends on the other layer. */
static bool stats_simple(rbm_unit_kind k, double sigma, rbm__mf_order order, size_t cnt,
                         const double *mx,
                         double *cc, double *kk)
{
    if (rbm__mf_discrete(k)) {
        for (size_t i = 0; i < cnt; i++) {
            cc[i] = rbm__mf_c(k, mx[i]);
            kk[i] = order >= RBM__MF_TAP3 ? rbm__mf_k3(k, mx[i]) : 0.0;
        }
        return true;
    }
    memset(kk, 0, cnt * sizeof(double));
    if (order < RBM__MF_TAP2) {
        for (size_t i = 0; i < cnt; i++)
            cc[i] = sigma * sigma;
        return true;
    }
    return false;
}

/* The statistics of a Potts visible layer (mf_equations.h): c = m, k3 = 0,
 * and at TAP order wbar_ij = sum_c m_ic W_icj and sum_i wbar_ij^2. */
static void potts_stats(rbm__mf_eq *q, const double *mv)
{
    const rbm_machine *m = q->m;
    const size_t n = q->n, nv = m->nv, nh = m->nh, nq = q->nq;
    rbm__mf_side *sd = &q->side[RBM_LAYER_VISIBLE];
    memcpy(sd->c, mv, n * m->nvw * sizeof(double));
    memset(sd->k3, 0, n * m->nvw * sizeof(double));
    if (!q->wbar)
        return;
    for (size_t i = 0; i < nv; i++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)nh, (int)nq, 1.0,
                    mv + i * nq, (int)m->nvw, m->W + i * nq * nh, (int)nh, 0.0,
                    q->wbar + i * nh, (int)(nv * nh));
    for (size_t r = 0; r < n; r++) {
        double *w2 = q->wbar2 + r * nh;
        memset(w2, 0, nh * sizeof(double));
        for (size_t i = 0; i < nv; i++) {
            const double *wb = q->wbar + (r * nv + i) * nh;
            for (size_t j = 0; j < nh; j++)
                w2[j] += wb[j] * wb[j];
        }
    }
}

/* c and k3 of `layer`; a Gaussian TAP layer gets c = 1 / (1/sigma^2 - S).
 * False when that precision is not positive. */
static bool layer_stats(rbm__mf_eq *q, rbm_layer layer, const double *mx)
{
    const rbm_machine *m = q->m;
    const bool hid = layer == RBM_LAYER_HIDDEN;
    rbm_unit_kind k = hid ? m->hk : m->vk;
    size_t cnt = q->n * (hid ? m->nh : m->nv);
    rbm__mf_side *sd = &q->side[layer];
    double *cc = sd->c;
    double sg = rbm__sigma(m, layer), s2 = sg * sg;
    if (k == RBM_UNIT_POTTS) {
        potts_stats(q, mx);
        return true;
    }
    if (stats_simple(k, sg, q->order, cnt, mx, cc, sd->k3))
        return true;
    double *S = sd->S;
    reaction_sum(q, layer, S);
    for (size_t i = 0; i < cnt; i++) {
        double prec = 1.0 / s2 - S[i];
        if (!(prec > 0))
            return false;
        cc[i] = 1.0 / prec;
    }
    return true;
}

rbm_status rbm__mf_eq_stats(rbm__mf_eq *q, const double *mv, const double *mh)
{
    const rbm_machine *m = q->m;
    bool ok = true;
    if (rbm__mf_discrete(m->vk))
        ok = ok && layer_stats(q, RBM_LAYER_VISIBLE, mv);
    if (rbm__mf_discrete(m->hk))
        ok = ok && layer_stats(q, RBM_LAYER_HIDDEN, mh);
    if (!rbm__mf_discrete(m->vk))
        ok = ok && layer_stats(q, RBM_LAYER_VISIBLE, mv);
    if (!rbm__mf_discrete(m->hk))
        ok = ok && layer_stats(q, RBM_LAYER_HIDDEN, mh);
    if (!ok)
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL,
                         "the TAP variance of a Gaussian unit does not exist "
                         "(sum_j w_ij^2 c_j >= 1/sigma^2)");
    return RBM_OK;
}

/* *m += lambda (target - *m), *r = max(*r, |target - *m|) before the step;
 * false (nothing changed) when the difference is not finite. */
static bool damp_step(double *m, double target, double lambda, double *r)
{
    double d = target - *m;
    if (!isfinite(d))
        return false;
    if (fabs(d) > *r)
        *r = fabs(d);
    *m += lambda * d;
    return true;
}

/* The damped update of a Potts visible layer: m_i. <- m_i. + lambda
 * (softmax_c(f_ic + S_ic / 2) - m_i.), site by site; fields and reaction
 * sums current. Residual as rbm__mf_eq_update. */
static double potts_update(rbm__mf_eq *q, double *mx, double lambda)
{
    const size_t nq = q->nq, sites = q->n * q->m->nv;
    const rbm__mf_side *sd = &q->side[RBM_LAYER_VISIBLE];
    double x[MF_MAX_STATES];
    double r = 0.0;
    for (size_t s = 0; s < sites; s++) {
        const double *f = sd->f + s * nq, *S = sd->S + s * nq;
        for (size_t c = 0; c < nq; c++)
            x[c] = q->order >= RBM__MF_TAP2 ? f[c] + 0.5 * S[c] : f[c];
        rbm__potts_softmax(nq, x, x);
        for (size_t c = 0; c < nq; c++)
            if (!damp_step(mx + s * nq + c, x[c], lambda, &r))
                return NAN;
    }
    return r;
}

double rbm__mf_eq_update(rbm__mf_eq *q, rbm_layer layer, double *mx, const double *mother,
                         double lambda)
{
    const rbm_machine *m = q->m;
    const bool hid = layer == RBM_LAYER_HIDDEN;
    rbm_unit_kind k = hid ? m->hk : m->vk;
    if (k == RBM_UNIT_POTTS) {
        rbm__mf_eq_fields(q, layer, mother);
        rbm__mf_eq_reaction(q, layer);
        return potts_update(q, mx, lambda);
    }
    size_t cnt = q->n * (hid ? m->nh : m->nv);
    double sg = rbm__sigma(m, layer), s2 = sg * sg;
    rbm__mf_eq_fields(q, layer, mother);
    const rbm__mf_side *sd = &q->side[layer];
    const double *f = sd->f, *S = sd->S, *T = sd->T;
    bool disc = rbm__mf_discrete(k);
    if (disc)
        rbm__mf_eq_reaction(q, layer);
    double r = 0.0;
    for (size_t i = 0; i < cnt; i++) {
        double x = f[i];
        if (disc) {
            if (q->order >= RBM__MF_TAP2)
                x += 0.5 * rbm__mf_c1(k, mx[i]) * S[i];
            if (q->order >= RBM__MF_TAP3)
                x += rbm__mf_k3d1(k, mx[i]) * T[i] / 6.0;
        }
        if (!damp_step(mx + i, rbm__mf_mean(k, s2, x), lambda, &r))
            return NAN;
    }
    return r;
}

rbm_status rbm__mf_eq_sweep(rbm__mf_eq *q, double *mv, double *mh, double lambda,
                            double *resid)
{
    rbm_status st;
    double r1 = rbm__mf_eq_update(q, RBM_LAYER_HIDDEN, mh, mv, lambda);
    if ((st = rbm__mf_eq_stats(q, mv, mh)))
        return st;
    double r2 = rbm__mf_eq_update(q, RBM_LAYER_VISIBLE, mv, mh, lambda);
    if ((st = rbm__mf_eq_stats(q, mv, mh)))
        return st;
    *resid = !isfinite(r1) || !isfinite(r2) ? NAN : r1 > r2 ? r1 : r2;
    return RBM_OK;
}

void rbm__mf_eq_hidden_start(rbm__mf_eq *q, const double *mv, double *mh)
{
    const rbm_machine *m = q->m;
    rbm__mf_eq_fields(q, RBM_LAYER_HIDDEN, mv);
    double s2 = m->sigma_h * m->sigma_h;
    const double *fh = q->side[RBM_LAYER_HIDDEN].f;
    for (size_t j = 0; j < q->n * m->nh; j++)
        mh[j] = rbm__mf_mean(m->hk, s2, fh[j]);
}
