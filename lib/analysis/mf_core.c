/* librbm — mf_core: the TAP free energy Gamma of one magnetisation state, its
 * gradient, Hessian and explicit weight derivative (docs/theory.md §4).
 * Formulas: see include/rbm/meanfield.h. The self-consistency equations
 * themselves are model/mf_equations.c. */
#include "analysis/mf_impl.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define LOG_2PI_E 2.8378770664093454835606594728112 /* log(2 pi e) */

/* p log p with 0 log 0 = 0 */
static double xlogx(double p)
{
    return p > 0 ? p * log(p) : 0.0;
}

/* entropy of a discrete unit with mean m */
static double unit_entropy(rbm_unit_kind k, double m)
{
    double p = k == RBM_UNIT_ISING ? 0.5 * (1.0 + m) : m;
    return -xlogx(p) - xlogx(1.0 - p);
}

/* f^{-1}(m) = -S'(m): atanh or logit */
static double unit_inverse(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? atanh(m) : log(m) - log1p(-m);
}

rbm_status rbm__mf_gamma(rbm__mf_eq *q, const double *mv, const double *mh, double *gamma)
{
    const rbm_machine *m = q->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    rbm_status st = rbm__mf_eq_stats(q, mv, mh);
    if (st)
        return st;
    double mg = 0.0; /* -Gamma */
    for (size_t l = 0; l < 2; l++) {
        const bool hid = l == 1;
        rbm_unit_kind k = hid ? view->hk : view->vk;
        size_t n = hid ? view->nh : view->nvw;
        const double *mx = hid ? mh : mv;
        const double *cc = q->side[hid ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE].c;
        const double *bias = hid ? view->b : view->a;
        double sg = hid ? view->sigma_h : view->sigma_v, s2 = sg * sg;
        for (size_t i = 0; i < n; i++) {
            if (k == RBM_UNIT_POTTS)
                mg -= xlogx(mx[i]); /* the site entropies -sum_c m_ic log m_ic */
            else if (rbm__mf_discrete(k))
                mg += unit_entropy(k, mx[i]);
            else
                mg += 0.5 * (LOG_2PI_E + log(cc[i])) - (mx[i] * mx[i] + cc[i]) / (2.0 * s2);
            mg += bias[i] * mx[i];
        }
    }
    const rbm__mf_side *vis = &q->side[RBM_LAYER_VISIBLE];
    rbm__mf_eq_fields(q, RBM_LAYER_VISIBLE, mh); /* fv = a + W mh */
    for (size_t i = 0; i < view->nvw; i++)
        mg += mv[i] * (vis->f[i] - view->a[i]);
    if (q->order >= RBM__MF_TAP2 && view->vk == RBM_UNIT_POTTS) {
        /* (1/2) sum_j c_j sum_i Var_{m_i}(W_i.j) (docs/theory.md §4.7) */
        const rbm__mf_side *hs = &q->side[RBM_LAYER_HIDDEN];
        rbm__mf_eq_reaction(q, RBM_LAYER_HIDDEN);
        for (size_t j = 0; j < view->nh; j++)
            mg += 0.5 * hs->c[j] * hs->S[j];
    } else if (q->order >= RBM__MF_TAP2) {
        rbm__mf_eq_reaction(q, RBM_LAYER_VISIBLE); /* Sv = W2 ch, Tv = W3 kh */
        for (size_t i = 0; i < view->nv; i++) {
            mg += 0.5 * vis->c[i] * vis->S[i];
            if (q->order >= RBM__MF_TAP3)
                mg += vis->k3[i] * vis->T[i] / 6.0;
        }
    }
    if (!isfinite(mg))
        return rbm__fail(view->ctx, RBM_ERR_NUMERICAL, "Gamma is not finite");
    *gamma = -mg;
    return RBM_OK;
}

/* dGamma/dm of a Potts visible layer (fields and reaction sums current):
 * log m_ic - f_ic - S_ic / 2, projected on the tangent space of the
 * simplexes (the mean over the states of each site subtracted), where the
 * constraint sum_c m_ic = 1 leaves the derivative defined. */
static void potts_gradient(const rbm__mf_eq *q, const double *mv, double *g)
{
    const rbm__machine_view *view = rbm__machine_view_of(q->m);
    const rbm__mf_side *vs = &q->side[RBM_LAYER_VISIBLE];
    const size_t nq = view->nq;
    for (size_t i = 0; i < view->nv; i++) {
        double mean = 0.0;
        for (size_t c = i * nq; c < (i + 1) * nq; c++) {
            double x = log(mv[c]) - vs->f[c];
            if (q->order >= RBM__MF_TAP2)
                x -= 0.5 * vs->S[c];
            g[c] = x;
            mean += x;
        }
        mean /= (double)nq;
        for (size_t c = i * nq; c < (i + 1) * nq; c++)
            g[c] -= mean;
    }
}

rbm_status rbm__mf_gamma_gradient(rbm__mf_eq *q, const double *mv, const double *mh, double *gv,
                                  double *gh)
{
    const rbm_machine *m = q->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    rbm_status st = rbm__mf_eq_stats(q, mv, mh);
    if (st)
        return st;
    for (size_t l = 0; l < 2; l++) {
        const bool hid = l == 1;
        const rbm_layer layer = hid ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
        rbm_unit_kind k = hid ? view->hk : view->vk;
        size_t n = hid ? view->nh : view->nv;
        const double *mx = hid ? mh : mv;
        double *g = hid ? gh : gv;
        double sg = rbm__sigma(m, layer), s2 = sg * sg;
        rbm__mf_eq_fields(q, layer, hid ? mv : mh);
        if (rbm__mf_discrete(k))
            rbm__mf_eq_reaction(q, layer);
        const double *f = q->side[layer].f, *S = q->side[layer].S, *T = q->side[layer].T;
        if (k == RBM_UNIT_POTTS) {
            potts_gradient(q, mv, g);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!rbm__mf_discrete(k)) {
                g[i] = mx[i] / s2 - f[i];
                continue;
            }
            double x = unit_inverse(k, mx[i]) - f[i];
            if (q->order >= RBM__MF_TAP2)
                x -= 0.5 * rbm__mf_c1(k, mx[i]) * S[i];
            if (q->order >= RBM__MF_TAP3)
                x -= rbm__mf_k3d1(k, mx[i]) * T[i] / 6.0;
            g[i] = x;
        }
    }
    return RBM_OK;
}

/* Diagonal of the Hessian; the scale of every unit (c, or sigma^2 for a
 * Gaussian unit) goes to D (N: visible then hidden). */
static void hessian_diagonal(const rbm__mf_eq *q, const double *mv, const double *mh,
                             bool scaled, double *H, double *D)
{
    const rbm_machine *m = q->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    const size_t nv = view->nv, nh = view->nh, N = nv + nh;
    for (size_t l = 0; l < 2; l++) {
        const bool hid = l == 1;
        const rbm__mf_side *sd = &q->side[hid ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE];
        rbm_unit_kind k = hid ? view->hk : view->vk;
        size_t n = hid ? nh : nv, off = hid ? nv : 0;
        const double *mx = hid ? mh : mv, *cc = sd->c, *S = sd->S, *T = sd->T;
        double *dd = D + off;
        double sg = hid ? view->sigma_h : view->sigma_v, s2 = sg * sg;
        for (size_t i = 0; i < n; i++) {
            double hd;
            if (rbm__mf_discrete(k)) {
                double extra = 0.0;
                if (q->order >= RBM__MF_TAP2)
                    extra += 0.5 * (-2.0) * S[i];
                if (q->order >= RBM__MF_TAP3)
                    extra += rbm__mf_k3d2(k, mx[i]) * T[i] / 6.0;
                dd[i] = cc[i];
                hd = scaled ? 1.0 - cc[i] * extra : 1.0 / cc[i] - extra;
            } else {
                dd[i] = s2;
                hd = scaled ? 1.0 : 1.0 / s2;
            }
            H[(off + i) * N + off + i] = hd;
        }
    }
}

/* The visible-hidden blocks d^2 Gamma / dm_i dm_j. */
static void hessian_coupling(const rbm__mf_eq *q, const double *mv, const double *mh,
                             bool scaled, double *H, const double *D)
{
    const rbm_machine *m = q->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    const size_t nv = view->nv, nh = view->nh, N = nv + nh;
    const double *d = D, *dh = D + nv;
    const bool dv = rbm__mf_discrete(view->vk), dhk = rbm__mf_discrete(view->hk);
    for (size_t i = 0; i < nv; i++) {
        double c1i = dv ? rbm__mf_c1(view->vk, mv[i]) : 0.0;
        double k1i = dv && q->order >= RBM__MF_TAP3 ? rbm__mf_k3d1(view->vk, mv[i]) : 0.0;
        for (size_t j = 0; j < nh; j++) {
            double w = view->W[i * nh + j];
            double c1j = dhk ? rbm__mf_c1(view->hk, mh[j]) : 0.0;
            double x = -w;
            if (q->order >= RBM__MF_TAP2)
                x -= 0.5 * w * w * c1i * c1j;
            if (q->order >= RBM__MF_TAP3)
                x -= w * w * w * k1i * (dhk ? rbm__mf_k3d1(view->hk, mh[j]) : 0.0) / 6.0;
            if (scaled)
                x *= sqrt(d[i] * dh[j]);
            H[i * N + nv + j] = x;
            H[(nv + j) * N + i] = x;
        }
    }
}

/* A Gaussian layer g under TAP couples the units of the discrete layer q:
 * H_qq' -= (1/2) c'_q c'_q' sum_g c_g^2 w_gq^2 w_gq'^2 (ws: ng x nq + nq x nq). */
static void hessian_gaussian_reaction(const rbm__mf_eq *q, const double *mv, const double *mh,
                                      bool scaled, double *H, const double *D, double *ws)
{
    const rbm_machine *m = q->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    const size_t nv = view->nv, nh = view->nh, N = nv + nh;
    const bool gl = rbm__mf_discrete(view->vk); /* the Gaussian layer is the hidden one */
    size_t ng = gl ? nh : nv, nq = gl ? nv : nh, qoff = gl ? 0 : nv;
    const double *cg = q->side[gl ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE].c, *mq = gl ? mv : mh;
    rbm_unit_kind qk = gl ? view->vk : view->hk;
    const double *dq = D + qoff;
    for (size_t g = 0; g < ng; g++)
        for (size_t u = 0; u < nq; u++) {
            double w2 = gl ? q->W2[u * nh + g] : q->W2[g * nh + u];
            ws[g * nq + u] = cg[g] * w2;
        }
    double *B = ws + ng * nq; /* nq x nq */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nq, (int)nq, (int)ng, 1.0, ws,
                (int)nq, ws, (int)nq, 0.0, B, (int)nq);
    for (size_t u = 0; u < nq; u++)
        for (size_t r = 0; r < nq; r++) {
            double x = 0.5 * rbm__mf_c1(qk, mq[u]) * rbm__mf_c1(qk, mq[r]) * B[u * nq + r];
            if (scaled)
                x *= sqrt(dq[u] * dq[r]);
            H[(qoff + u) * N + qoff + r] -= x;
        }
}

/* A Gaussian hidden layer g under TAP couples all Potts entries:
 * H_ic,i'c' -= (1/2) sum_g c_g^2 D_icg D_i'c'g, D_icg = dS_g/dm_ic =
 * W_icg^2 - 2 W_icg wbar_ig (ws: nh x nvw + nvw x nvw). */
static void potts_gaussian_reaction(const rbm__mf_eq *q, double *H, double *ws)
{
    const rbm__machine_view *view = rbm__machine_view_of(q->m);
    const size_t nw = view->nvw, nh = view->nh, nq = view->nq, N = nw + nh;
    const double *ch = q->side[RBM_LAYER_HIDDEN].c, *W = view->W;
    for (size_t g = 0; g < nh; g++)
        for (size_t u = 0; u < nw; u++) {
            double w = W[u * nh + g], wb = q->wbar[(u / nq) * nh + g];
            ws[g * nw + u] = ch[g] * (w * w - 2.0 * w * wb);
        }
    double *B = ws + nh * nw;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nw, (int)nw, (int)nh, 1.0, ws,
                (int)nw, ws, (int)nw, 0.0, B, (int)nw);
    for (size_t u = 0; u < nw; u++)
        for (size_t r = 0; r < nw; r++)
            H[u * N + r] -= 0.5 * B[u * nw + r];
}

/* The Hessian of Gamma for a Potts visible layer in the N q + N_h
 * magnetisations taken as independent (docs/theory.md §4.7), unscaled:
 *   d2/dm_ic dm_ic' = [c = c'] / m_ic + [TAP2] sum_j c_j W_icj W_ic'j,
 *   d2/dm_ic dm_j   = -W_icj - [TAP2] (1/2) c'(m_j) (W_icj^2 - 2 W_icj wbar_ij),
 *   d2/dm_j^2       = 1/c_j + [TAP2] S_j (1/sigma^2 for a Gaussian unit),
 * and the Gaussian reaction above. Zero between different sites. */
static void potts_hessian(rbm__mf_eq *q, const double *mv, const double *mh, double *H,
                          double *ws)
{
    const rbm__machine_view *view = rbm__machine_view_of(q->m);
    const size_t nw = view->nvw, nh = view->nh, nq = view->nq, N = nw + nh;
    const bool tap = q->order >= RBM__MF_TAP2, gauss = !rbm__mf_discrete(view->hk);
    const rbm__mf_side *hs = &q->side[RBM_LAYER_HIDDEN];
    const double *W = view->W;
    for (size_t u = 0; u < nw; u++) {
        size_t first = u - u % nq;
        for (size_t r = first; r < first + nq; r++) {
            double x = r == u ? 1.0 / mv[u] : 0.0;
            for (size_t j = 0; tap && j < nh; j++)
                x += hs->c[j] * W[u * nh + j] * W[r * nh + j];
            H[u * N + r] = x;
        }
        for (size_t j = 0; j < nh; j++) {
            double w = W[u * nh + j], x = -w;
            if (tap && !gauss)
                x -= 0.5 * rbm__mf_c1(view->hk, mh[j]) *
                     (w * w - 2.0 * w * q->wbar[(u / nq) * nh + j]);
            H[u * N + nw + j] = x;
            H[(nw + j) * N + u] = x;
        }
    }
    double s2 = view->sigma_h * view->sigma_h;
    for (size_t j = 0; j < nh; j++)
        H[(nw + j) * N + nw + j] = gauss ? 1.0 / s2 : 1.0 / hs->c[j] + (tap ? hs->S[j] : 0.0);
    if (tap && gauss)
        potts_gaussian_reaction(q, H, ws);
}

void rbm__mf_potts_reduce(const rbm__mf_eq *q, const double *mv, const double *H, double *R,
                          size_t *map, double *scale)
{
    const rbm__machine_view *view = rbm__machine_view_of(q->m);
    const size_t nw = view->nvw, nh = view->nh, nq = view->nq, N = nw + nh;
    const size_t nr = view->nv * (nq - 1) + nh;
    size_t *full = map, *ref = map + nr; /* reduced coordinate -> entry, its reference (N: none) */
    size_t a = 0;
    for (size_t i = 0; i < view->nv; i++) {
        size_t best = i * nq;
        for (size_t c = i * nq + 1; c < (i + 1) * nq; c++)
            if (mv[c] > mv[best])
                best = c;
        for (size_t c = i * nq; c < (i + 1) * nq; c++)
            if (c != best) {
                full[a] = c;
                ref[a] = best;
                scale[a++] = sqrt(mv[c] * (1.0 - mv[c]));
            }
    }
    double s2 = view->sigma_h * view->sigma_h;
    for (size_t j = 0; j < nh; j++, a++) {
        full[a] = nw + j;
        ref[a] = N;
        scale[a] = sqrt(rbm__mf_discrete(view->hk) ? q->side[RBM_LAYER_HIDDEN].c[j] : s2);
    }
    for (size_t x = 0; x < nr; x++)
        for (size_t y = 0; y < nr; y++) {
            size_t u = full[x], r = full[y], ur = ref[x], rr = ref[y];
            double h = H[u * N + r];
            if (ur < N)
                h -= H[ur * N + r];
            if (rr < N)
                h -= H[u * N + rr];
            if (ur < N && rr < N)
                h += H[ur * N + rr];
            R[x * nr + y] = h * scale[x] * scale[y];
        }
}

rbm_status rbm__mf_hessian(rbm__mf_eq *q, const double *mv, const double *mh, bool scaled,
                           double *H, double *ws)
{
    const rbm_machine *m = q->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    const size_t N = view->nvw + view->nh;
    rbm_status st = rbm__mf_eq_stats(q, mv, mh);
    if (st)
        return st;
    rbm__mf_eq_reaction(q, RBM_LAYER_VISIBLE);
    rbm__mf_eq_reaction(q, RBM_LAYER_HIDDEN);
    double *D = ws; /* then the Gaussian reaction's scratch */
    memset(H, 0, N * N * sizeof(double));
    if (view->vk == RBM_UNIT_POTTS) {
        potts_hessian(q, mv, mh, H, ws);
    } else {
        hessian_diagonal(q, mv, mh, scaled, H, D);
        hessian_coupling(q, mv, mh, scaled, H, D);
    }
    if (view->vk != RBM_UNIT_POTTS && q->order >= RBM__MF_TAP2 &&
        rbm__mf_discrete(view->vk) != rbm__mf_discrete(view->hk))
        hessian_gaussian_reaction(q, mv, mh, scaled, H, D, ws + N);
    for (size_t i = 0; i < N * N; i++)
        if (!isfinite(H[i]))
            return rbm__fail(view->ctx, RBM_ERR_NUMERICAL, "Hessian of Gamma is not finite");
    return RBM_OK;
}

size_t rbm__mf_hessian_ws_len(const rbm_machine *m)
{
    const rbm__machine_view *view = rbm__machine_view_of(m);
    size_t ng = 0, nq = 0;
    if (!rbm__mf_discrete(view->vk) && rbm__mf_discrete(view->hk))
        ng = view->nv, nq = view->nh;
    else if (rbm__mf_discrete(view->vk) && !rbm__mf_discrete(view->hk))
        ng = view->nh, nq = view->nvw;
    return view->nvw + view->nh + ng * nq + nq * nq;
}

void rbm__mf_weight_gradient(rbm__mf_eq *q, const double *mv, const double *mh, double scale,
                             double *dw)
{
    const rbm__machine_view *view = rbm__machine_view_of(q->m);
    const size_t nh = view->nh;
    const double *W = view->W;
    const rbm__mf_side *vs = &q->side[RBM_LAYER_VISIBLE], *hs = &q->side[RBM_LAYER_HIDDEN];
    for (size_t i = 0; i < view->nvw; i++)
        for (size_t j = 0; j < nh; j++) {
            double w = W[i * nh + j];
            double x = mv[i] * mh[j];
            if (q->order >= RBM__MF_TAP2)
                x += w * vs->c[i] * hs->c[j];
            if (q->order >= RBM__MF_TAP3)
                x += 0.5 * w * w * vs->k3[i] * hs->k3[j];
            dw[i * nh + j] += scale * x;
        }
    if (q->order >= RBM__MF_TAP2 && view->vk == RBM_UNIT_POTTS)
        rbm__mf_eq_potts_weight_term(q, mv, scale, dw);
}
