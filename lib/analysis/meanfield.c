/* librbm — naive mean field and TAP (docs/theory.md §4, §6.3): solvers, fixed
 * points, Gamma and its derivatives, the EMF estimator's negative phase and
 * the TAP-driven learning dynamics. Formulas: see include/rbm/meanfield.h. */
#include "core/internal.h"
#include "core/shuffle.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#define LOG_2PI_E 2.8378770664093454835606594728112 /* log(2 pi e) */
#define LOG_2PI 1.8378770664093454835606594728112   /* log(2 pi) */

/* ---------------- one unit ---------------- */

static inline bool disc(rbm_unit_kind k)
{
    return k != RBM_UNIT_GAUSSIAN;
}

/* variance c(m), its derivatives, third cumulant k3(m) and derivatives */
static inline double u_c(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? 1.0 - m * m : m - m * m;
}
static inline double u_c1(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? -2.0 * m : 1.0 - 2.0 * m;
}
static inline double u_k3(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? -2.0 * m * (1.0 - m * m) : m * (1.0 - m) * (1.0 - 2.0 * m);
}
static inline double u_k3d1(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? -2.0 + 6.0 * m * m : 1.0 - 6.0 * m + 6.0 * m * m;
}
static inline double u_k3d2(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? 12.0 * m : -6.0 + 12.0 * m;
}
/* entropy of a discrete unit with mean m (0 log 0 = 0) */
static double xlogx(double p)
{
    return p > 0 ? p * log(p) : 0.0;
}
static inline double u_entropy(rbm_unit_kind k, double m)
{
    double p = k == RBM_UNIT_ISING ? 0.5 * (1.0 + m) : m;
    return -xlogx(p) - xlogx(1.0 - p);
}
/* f^{-1}(m) = -S'(m): logit or atanh */
static inline double u_inv(rbm_unit_kind k, double m)
{
    return k == RBM_UNIT_ISING ? atanh(m) : log(m) - log1p(-m);
}
static inline double u_mean(rbm_unit_kind k, double s2, double x)
{
    switch (k) {
    case RBM_UNIT_ISING: return tanh(x);
    case RBM_UNIT_BERNOULLI: return rbm__sigmoid(x);
    default: return s2 * x;
    }
}

/* ---------------- the core: layers, stats, updates ---------------- */

typedef struct mf_core {
    const rbm_machine *m;
    int order; /* 1 naive, 2 TAP2, 3 TAP3 */
    size_t nv, nh;
    double *W2, *W3;          /* w^2, w^3 (nv x nh) */
    double *cv, *ch, *kv, *kh; /* variances, third cumulants */
    double *Sv, *Sh, *Tv, *Th; /* reaction sums */
    double *fv, *fh;          /* fields */
    double *block;            /* the single allocation */
} mf_core;

static rbm_status core_init(rbm_context *ctx, const rbm_machine *m, int order, mf_core *c)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->order = order;
    c->nv = m->nv;
    c->nh = m->nh;
    size_t nvh, n = 0;
    if (!rbm__mul_ok(m->nv, m->nh, &nvh))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu x %zu couplings overflow", m->nv, m->nh);
    size_t mats = order >= 3 ? 2 : order == 2 ? 1 : 0;
    size_t per = 5 * (m->nv + m->nh);
    if (nvh > (SIZE_MAX / sizeof(double) - per) / (mats ? mats : 1))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "mean-field workspace overflows");
    n = mats * nvh + per;
    rbm_status st = rbm__xcalloc(ctx, n, sizeof(double), &c->block, "mean-field workspace");
    if (st)
        return st;
    double *p = c->block;
    if (mats >= 1) {
        c->W2 = p;
        p += nvh;
    }
    if (mats >= 2) {
        c->W3 = p;
        p += nvh;
    }
    c->cv = p, p += c->nv;
    c->kv = p, p += c->nv;
    c->Sv = p, p += c->nv;
    c->Tv = p, p += c->nv;
    c->fv = p, p += c->nv;
    c->ch = p, p += c->nh;
    c->kh = p, p += c->nh;
    c->Sh = p, p += c->nh;
    c->Th = p, p += c->nh;
    c->fh = p;
    return RBM_OK;
}

static void core_free(rbm_context *ctx, mf_core *c)
{
    rbm__free(ctx, c->block);
    c->block = NULL;
}

/* w^2 and w^3 from the machine's current W */
static void core_prepare(mf_core *c)
{
    size_t n = c->nv * c->nh;
    const double *W = c->m->W;
    if (c->W2)
        for (size_t i = 0; i < n; i++)
            c->W2[i] = W[i] * W[i];
    if (c->W3)
        for (size_t i = 0; i < n; i++)
            c->W3[i] = W[i] * W[i] * W[i];
}

/* S and T of layer `layer` from the other layer's c and k3 */
static void core_reaction(mf_core *c, int layer)
{
    const int nv = (int)c->nv, nh = (int)c->nh;
    if (c->order < 2)
        return;
    if (layer == 0) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, nv, nh, 1.0, c->W2, nh, c->ch, 1, 0.0, c->Sv, 1);
        if (c->order >= 3)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, nv, nh, 1.0, c->W3, nh, c->kh, 1, 0.0, c->Tv,
                        1);
    } else {
        cblas_dgemv(CblasRowMajor, CblasTrans, nv, nh, 1.0, c->W2, nh, c->cv, 1, 0.0, c->Sh, 1);
        if (c->order >= 3)
            cblas_dgemv(CblasRowMajor, CblasTrans, nv, nh, 1.0, c->W3, nh, c->kv, 1, 0.0, c->Th,
                        1);
    }
}

/* c and k3 of one layer at magnetisations mx (Gaussian: from the other
 * layer's c, which must be current). Returns false when a Gaussian TAP
 * variance does not exist (S >= 1/sigma^2). */
/* Unit variances c and TAP3 factors k of n units of one layer when no
 * reaction term is needed: discrete units (c, k from the magnetisation) or
 * Gaussian units at naive order (c = sigma^2, k = 0). Returns false when a
 * Gaussian layer at TAP2/TAP3 order needs the reaction-dependent variance. */
static bool layer_stats_simple(rbm_unit_kind k, double sigma, int order, size_t n,
                               const double *mx, double *cc, double *kk)
{
    if (disc(k)) {
        for (size_t i = 0; i < n; i++) {
            cc[i] = u_c(k, mx[i]);
            kk[i] = order >= 3 ? u_k3(k, mx[i]) : 0.0;
        }
        return true;
    }
    memset(kk, 0, n * sizeof(double));
    if (order < 2) {
        for (size_t i = 0; i < n; i++)
            cc[i] = sigma * sigma;
        return true;
    }
    return false;
}

static bool core_layer_stats(mf_core *c, int layer, const double *mx)
{
    const rbm_machine *m = c->m;
    rbm_unit_kind k = layer ? m->hk : m->vk;
    size_t n = layer ? c->nh : c->nv;
    double *cc = layer ? c->ch : c->cv, *kk = layer ? c->kh : c->kv;
    double sg = layer ? m->sigma_h : m->sigma_v, s2 = sg * sg;
    if (layer_stats_simple(k, sg, c->order, n, mx, cc, kk))
        return true;
    core_reaction(c, layer);
    const double *S = layer ? c->Sh : c->Sv;
    for (size_t i = 0; i < n; i++) {
        double prec = 1.0 / s2 - S[i];
        if (!(prec > 0))
            return false;
        cc[i] = 1.0 / prec;
    }
    return true;
}

static rbm_status core_stats(mf_core *c, const double *mv, const double *mh)
{
    const rbm_machine *m = c->m;
    bool ok = true;
    if (disc(m->vk))
        ok = ok && core_layer_stats(c, 0, mv);
    if (disc(m->hk))
        ok = ok && core_layer_stats(c, 1, mh);
    if (!disc(m->vk))
        ok = ok && core_layer_stats(c, 0, mv);
    if (!disc(m->hk))
        ok = ok && core_layer_stats(c, 1, mh);
    if (!ok)
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL,
                         "the TAP variance of a Gaussian unit does not exist "
                         "(sum_j w_ij^2 c_j >= 1/sigma^2)");
    return RBM_OK;
}

/* fields of layer `layer`: bias + W m_other */
static void core_fields(mf_core *c, int layer, const double *mother)
{
    const rbm_machine *m = c->m;
    const int nv = (int)c->nv, nh = (int)c->nh;
    if (layer == 0) {
        memcpy(c->fv, m->a, c->nv * sizeof(double));
        cblas_dgemv(CblasRowMajor, CblasNoTrans, nv, nh, 1.0, m->W, nh, mother, 1, 1.0, c->fv, 1);
    } else {
        memcpy(c->fh, m->b, c->nh * sizeof(double));
        cblas_dgemv(CblasRowMajor, CblasTrans, nv, nh, 1.0, m->W, nh, mother, 1, 1.0, c->fh, 1);
    }
}

/* Damped update of layer `layer` from the other layer (whose c, k3 are
 * current); returns the undamped residual max |F(m) - m| (NaN if not
 * finite). */
static double core_update(mf_core *c, int layer, double *mx, const double *mother, double lambda)
{
    const rbm_machine *m = c->m;
    rbm_unit_kind k = layer ? m->hk : m->vk;
    size_t n = layer ? c->nh : c->nv;
    double sg = layer ? m->sigma_h : m->sigma_v, s2 = sg * sg;
    core_fields(c, layer, mother);
    const double *f = layer ? c->fh : c->fv, *S = layer ? c->Sh : c->Sv,
                 *T = layer ? c->Th : c->Tv;
    if (disc(k))
        core_reaction(c, layer);
    double r = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = f[i];
        if (disc(k)) {
            if (c->order >= 2)
                x += 0.5 * u_c1(k, mx[i]) * S[i];
            if (c->order >= 3)
                x += u_k3d1(k, mx[i]) * T[i] / 6.0;
        }
        double nw = u_mean(k, s2, x), d = nw - mx[i];
        if (!isfinite(d))
            return NAN;
        if (fabs(d) > r)
            r = fabs(d);
        mx[i] += lambda * d;
    }
    return r;
}

/* hidden start E[h | v = mv] (naive conditional mean) */
static void core_hidden_start(mf_core *c, const double *mv, double *mh)
{
    const rbm_machine *m = c->m;
    core_fields(c, 1, mv);
    double s2 = m->sigma_h * m->sigma_h;
    for (size_t j = 0; j < c->nh; j++)
        mh[j] = u_mean(m->hk, s2, c->fh[j]);
}

/* iterate to a fixed point; RBM_OK, RBM_ERR_NOT_CONVERGED or an error */
static rbm_status core_solve(mf_core *c, double *mv, double *mh, double lambda, double tol,
                             size_t max_iter, size_t *iters, double *resid)
{
    rbm_status st = core_stats(c, mv, mh);
    size_t it = 0;
    double r = INFINITY;
    while (!st && it < max_iter) {
        it++;
        double r1 = core_update(c, 1, mh, mv, lambda);
        if ((st = core_stats(c, mv, mh)))
            break;
        double r2 = core_update(c, 0, mv, mh, lambda);
        if ((st = core_stats(c, mv, mh)))
            break;
        if (!isfinite(r1) || !isfinite(r2)) {
            st = rbm__fail(c->m->ctx, RBM_ERR_NUMERICAL,
                           "mean-field iteration produced a non-finite magnetisation");
            break;
        }
        r = r1 > r2 ? r1 : r2;
        if (r < tol)
            break;
    }
    if (iters)
        *iters = it;
    if (resid)
        *resid = r;
    if (st)
        return st;
    return r < tol ? RBM_OK : RBM_ERR_NOT_CONVERGED;
}

/* Gamma at (mv, mh) */
static rbm_status core_gamma(mf_core *c, const double *mv, const double *mh, double *gamma)
{
    const rbm_machine *m = c->m;
    rbm_status st = core_stats(c, mv, mh);
    if (st)
        return st;
    double mg = 0.0; /* -Gamma */
    for (int layer = 0; layer < 2; layer++) {
        rbm_unit_kind k = layer ? m->hk : m->vk;
        size_t n = layer ? c->nh : c->nv;
        const double *mx = layer ? mh : mv, *cc = layer ? c->ch : c->cv;
        const double *bias = layer ? m->b : m->a;
        double sg = layer ? m->sigma_h : m->sigma_v, s2 = sg * sg;
        for (size_t i = 0; i < n; i++) {
            if (disc(k))
                mg += u_entropy(k, mx[i]);
            else
                mg += 0.5 * (LOG_2PI_E + log(cc[i])) - (mx[i] * mx[i] + cc[i]) / (2.0 * s2);
            mg += bias[i] * mx[i];
        }
    }
    core_fields(c, 0, mh); /* fv = a + W mh */
    for (size_t i = 0; i < c->nv; i++)
        mg += mv[i] * (c->fv[i] - m->a[i]);
    if (c->order >= 2) {
        core_reaction(c, 0); /* Sv = W2 ch, Tv = W3 kh */
        for (size_t i = 0; i < c->nv; i++) {
            mg += 0.5 * c->cv[i] * c->Sv[i];
            if (c->order >= 3)
                mg += c->kv[i] * c->Tv[i] / 6.0;
        }
    }
    if (!isfinite(mg))
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "Gamma is not finite");
    *gamma = -mg;
    return RBM_OK;
}

/* dGamma/dm; discrete magnetisations strictly inside their range */
static rbm_status core_gradient(mf_core *c, const double *mv, const double *mh, double *gv,
                                double *gh)
{
    const rbm_machine *m = c->m;
    rbm_status st = core_stats(c, mv, mh);
    if (st)
        return st;
    for (int layer = 0; layer < 2; layer++) {
        rbm_unit_kind k = layer ? m->hk : m->vk;
        size_t n = layer ? c->nh : c->nv;
        const double *mx = layer ? mh : mv;
        double *g = layer ? gh : gv;
        double sg = layer ? m->sigma_h : m->sigma_v, s2 = sg * sg;
        core_fields(c, layer, layer ? mv : mh);
        if (disc(k))
            core_reaction(c, layer);
        const double *f = layer ? c->fh : c->fv, *S = layer ? c->Sh : c->Sv,
                     *T = layer ? c->Th : c->Tv;
        for (size_t i = 0; i < n; i++) {
            if (!disc(k)) {
                g[i] = mx[i] / s2 - f[i];
                continue;
            }
            double x = u_inv(k, mx[i]) - f[i];
            if (c->order >= 2)
                x -= 0.5 * u_c1(k, mx[i]) * S[i];
            if (c->order >= 3)
                x -= u_k3d1(k, mx[i]) * T[i] / 6.0;
            g[i] = x;
        }
    }
    return RBM_OK;
}

/* Hessian of Gamma (N x N, N = nv + nh). scaled: D^{1/2} H D^{1/2} with
 * D = diag(c) (discrete) or sigma^2 (Gaussian). A Gaussian layer under TAP
 * couples the units of the other layer (ws: ng x nd scratch). */
static rbm_status core_hessian(mf_core *c, const double *mv, const double *mh, bool scaled,
                               double *H, double *ws)
{
    const rbm_machine *m = c->m;
    const size_t nv = c->nv, nh = c->nh, N = nv + nh;
    rbm_status st = core_stats(c, mv, mh);
    if (st)
        return st;
    core_reaction(c, 0);
    core_reaction(c, 1);
    memset(H, 0, N * N * sizeof(double));
    /* per unit: d (scale), c' and k3' of its own magnetisation, diagonal */
    double *d = c->fv, *dh = c->fh; /* reuse field buffers for the scales */
    for (int layer = 0; layer < 2; layer++) {
        rbm_unit_kind k = layer ? m->hk : m->vk;
        size_t n = layer ? nh : nv, off = layer ? nv : 0;
        const double *mx = layer ? mh : mv, *cc = layer ? c->ch : c->cv;
        const double *S = layer ? c->Sh : c->Sv, *T = layer ? c->Th : c->Tv;
        double *dd = layer ? dh : d;
        double sg = layer ? m->sigma_h : m->sigma_v, s2 = sg * sg;
        for (size_t i = 0; i < n; i++) {
            double hd;
            if (disc(k)) {
                double extra = 0.0;
                if (c->order >= 2)
                    extra += 0.5 * (-2.0) * S[i];
                if (c->order >= 3)
                    extra += u_k3d2(k, mx[i]) * T[i] / 6.0;
                dd[i] = cc[i];
                hd = scaled ? 1.0 - cc[i] * extra : 1.0 / cc[i] - extra;
            } else {
                dd[i] = s2;
                hd = scaled ? 1.0 : 1.0 / s2;
            }
            H[(off + i) * N + off + i] = hd;
        }
    }
    for (size_t i = 0; i < nv; i++) {
        double c1i = disc(m->vk) ? u_c1(m->vk, mv[i]) : 0.0;
        double k1i = disc(m->vk) && c->order >= 3 ? u_k3d1(m->vk, mv[i]) : 0.0;
        for (size_t j = 0; j < nh; j++) {
            double w = m->W[i * nh + j];
            double c1j = disc(m->hk) ? u_c1(m->hk, mh[j]) : 0.0;
            double x = -w;
            if (c->order >= 2)
                x -= 0.5 * w * w * c1i * c1j;
            if (c->order >= 3)
                x -= w * w * w * k1i * (disc(m->hk) ? u_k3d1(m->hk, mh[j]) : 0.0) / 6.0;
            if (scaled)
                x *= sqrt(d[i] * dh[j]);
            H[i * N + nv + j] = x;
            H[(nv + j) * N + i] = x;
        }
    }
    if (c->order >= 2 && disc(m->vk) != disc(m->hk)) {
        /* Gaussian layer g, discrete layer q: H_qq' -= (1/2) c'_q c'_q'
         * sum_g c_g^2 w_gq^2 w_gq'^2 */
        int gl = disc(m->vk) ? 1 : 0;
        size_t ng = gl ? nh : nv, nq = gl ? nv : nh, qoff = gl ? 0 : nv;
        const double *cg = gl ? c->ch : c->cv, *mq = gl ? mv : mh;
        rbm_unit_kind qk = gl ? m->vk : m->hk;
        const double *dq = gl ? d : dh;
        for (size_t g = 0; g < ng; g++)
            for (size_t q = 0; q < nq; q++) {
                double w2 = gl ? c->W2[q * nh + g] : c->W2[g * nh + q];
                ws[g * nq + q] = cg[g] * w2;
            }
        double *B = ws + ng * nq; /* nq x nq */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nq, (int)nq, (int)ng, 1.0, ws,
                    (int)nq, ws, (int)nq, 0.0, B, (int)nq);
        for (size_t q = 0; q < nq; q++)
            for (size_t r = 0; r < nq; r++) {
                double x = 0.5 * u_c1(qk, mq[q]) * u_c1(qk, mq[r]) * B[q * nq + r];
                if (scaled)
                    x *= sqrt(dq[q] * dq[r]);
                H[(qoff + q) * N + qoff + r] -= x;
            }
    }
    for (size_t i = 0; i < N * N; i++)
        if (!isfinite(H[i]))
            return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "Hessian of Gamma is not finite");
    return RBM_OK;
}

static size_t hessian_ws_len(const rbm_machine *m)
{
    size_t ng = 0, nq = 0;
    if (!disc(m->vk) && disc(m->hk))
        ng = m->nv, nq = m->nh;
    else if (disc(m->vk) && !disc(m->hk))
        ng = m->nh, nq = m->nv;
    return ng * nq + nq * nq + 1;
}

/* -dGamma/dW (explicit) at (mv, mh) with current stats: dw = scale *
 * (...) + beta * dw; the core's stats must be current. */
static void core_weight_grad(mf_core *c, const double *mv, const double *mh, double scale,
                             double *dw)
{
    const size_t nv = c->nv, nh = c->nh;
    const double *W = c->m->W;
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double w = W[i * nh + j];
            double x = mv[i] * mh[j];
            if (c->order >= 2)
                x += w * c->cv[i] * c->ch[j];
            if (c->order >= 3)
                x += 0.5 * w * w * c->kv[i] * c->kh[j];
            dw[i * nh + j] += scale * x;
        }
}

/* ---------------- public solver ---------------- */

struct rbm_mf {
    rbm_context *ctx;
    const rbm_machine *m;
    rbm_mf_method method;
    double damping, tol, dedup, stab_tol;
    size_t max_iter;
    int lin_resp;
    mf_core core;
};

struct rbm_mf_points {
    rbm_context *ctx;
    size_t nv, nh, count, n_starts, n_failed;
    double *mv, *mh, *gamma, *mineig;
    size_t *mult;
    int *stable;
};

const char *rbm_mf_method_name(rbm_mf_method method)
{
    switch (method) {
    case RBM_MF_NAIVE: return "naive";
    case RBM_MF_TAP2: return "tap2";
    case RBM_MF_TAP3: return "tap3";
    }
    return NULL;
}

rbm_status rbm_mf_method_parse(const char *name, rbm_mf_method *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    static const struct {
        const char *n;
        rbm_mf_method m;
    } names[] = {{"naive", RBM_MF_NAIVE}, {"mf", RBM_MF_NAIVE}, {"tap2", RBM_MF_TAP2},
                 {"tap", RBM_MF_TAP2},    {"tap3", RBM_MF_TAP3}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].n) == 0) {
            *out = names[i].m;
            return RBM_OK;
        }
    return RBM_ERR_INVALID_ARGUMENT;
}

rbm_status rbm_mf_new(const rbm_machine *m, rbm_mf_method method, rbm_mf **out)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = m->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_mf_new: out is NULL");
    *out = NULL;
    if (method != RBM_MF_NAIVE && method != RBM_MF_TAP2 && method != RBM_MF_TAP3)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "unknown mean-field method %d",
                         (int)method);
    if (method != RBM_MF_NAIVE && !disc(m->vk) && !disc(m->hk))
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "TAP needs a discrete layer (Gauss-Gauss: use naive MF, exact there)");
    if (m->nv > (size_t)INT32_MAX || m->nh > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "layer too large for BLAS");
    rbm_mf *s;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *s, &s, "mean-field solver");
    if (st)
        return st;
    s->ctx = ctx;
    s->m = m;
    s->method = method;
    s->damping = 0.5;
    s->tol = 1e-10;
    s->max_iter = 5000;
    s->dedup = 1e-4;
    s->stab_tol = 1e-9;
    s->lin_resp = 1;
    if ((st = core_init(ctx, m, (int)method + 1, &s->core))) {
        rbm__free(ctx, s);
        return st;
    }
    *out = s;
    return RBM_OK;
}

void rbm_mf_free(rbm_mf *s)
{
    if (!s)
        return;
    core_free(s->ctx, &s->core);
    rbm__free(s->ctx, s);
}

rbm_mf_method rbm_mf_get_method(const rbm_mf *s)
{
    return s ? s->method : RBM_MF_NAIVE;
}

rbm_status rbm_mf_set_real(rbm_mf *s, rbm_mf_param key, double v)
{
    if (!s)
        return RBM_ERR_NULL;
    switch (key) {
    case RBM_MF_PARAM_DAMPING:
        if (!(v > 0 && v <= 1))
            return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "damping %g not in (0, 1]", v);
        s->damping = v;
        return RBM_OK;
    case RBM_MF_PARAM_TOLERANCE:
        if (!(v > 0 && isfinite(v)))
            return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "tolerance %g not in (0, inf)", v);
        s->tol = v;
        return RBM_OK;
    case RBM_MF_PARAM_MAX_ITERATIONS:
        if (!(v >= 1 && v <= 1e9 && v == floor(v)))
            return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                             "max iterations %g not an integer in [1, 1e9]", v);
        s->max_iter = (size_t)v;
        return RBM_OK;
    case RBM_MF_PARAM_DEDUP_DISTANCE:
        if (!(v > 0 && isfinite(v)))
            return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                             "dedup distance %g not in (0, inf)", v);
        s->dedup = v;
        return RBM_OK;
    case RBM_MF_PARAM_STABILITY_TOLERANCE:
        if (!isfinite(v))
            return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                             "stability tolerance must be finite");
        s->stab_tol = v;
        return RBM_OK;
    case RBM_MF_PARAM_LINEAR_RESPONSE:
        if (!(v == 0 || v == 1))
            return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "linear response flag %g not 0 or 1",
                             v);
        s->lin_resp = (int)v;
        return RBM_OK;
    }
    return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown mean-field parameter %d",
                     (int)key);
}

rbm_status rbm_mf_get_real(const rbm_mf *s, rbm_mf_param key, double *out)
{
    if (!s || !out)
        return RBM_ERR_NULL;
    switch (key) {
    case RBM_MF_PARAM_DAMPING: *out = s->damping; return RBM_OK;
    case RBM_MF_PARAM_TOLERANCE: *out = s->tol; return RBM_OK;
    case RBM_MF_PARAM_MAX_ITERATIONS: *out = (double)s->max_iter; return RBM_OK;
    case RBM_MF_PARAM_DEDUP_DISTANCE: *out = s->dedup; return RBM_OK;
    case RBM_MF_PARAM_STABILITY_TOLERANCE: *out = s->stab_tol; return RBM_OK;
    case RBM_MF_PARAM_LINEAR_RESPONSE: *out = (double)s->lin_resp; return RBM_OK;
    }
    return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown mean-field parameter %d",
                     (int)key);
}

/* magnetisations in the units' range; interior: strictly inside */
static rbm_status check_mags(rbm_context *ctx, rbm_unit_kind k, const double *x, size_t n,
                             bool interior, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        bool ok = isfinite(v);
        if (ok && k == RBM_UNIT_ISING)
            ok = interior ? (v > -1 && v < 1) : (v >= -1 && v <= 1);
        else if (ok && k == RBM_UNIT_BERNOULLI)
            ok = interior ? (v > 0 && v < 1) : (v >= 0 && v <= 1);
        if (!ok)
            return rbm__fail(ctx, isfinite(v) ? RBM_ERR_OUT_OF_RANGE : RBM_ERR_NOT_FINITE,
                             "%s[%zu] = %g is outside the %s range of %s units", what, i, v,
                             interior ? "open" : "closed", rbm_unit_kind_name(k));
    }
    return RBM_OK;
}

static rbm_status check_pair(const rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                             size_t mh_len, bool interior)
{
    const rbm_machine *m = s->m;
    rbm_status st;
    if ((st = rbm__check_array(s->ctx, mv, mv_len, m->nv, "visible magnetisations")) ||
        (st = rbm__check_array(s->ctx, mh, mh_len, m->nh, "hidden magnetisations")) ||
        (st = check_mags(s->ctx, m->vk, mv, m->nv, interior, "visible magnetisations")) ||
        (st = check_mags(s->ctx, m->hk, mh, m->nh, interior, "hidden magnetisations")))
        return st;
    return RBM_OK;
}

rbm_status rbm_mf_solve(rbm_mf *s, double *mv, size_t mv_len, double *mh, size_t mh_len,
                        size_t *iterations, double *residual)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm_machine *m = s->m;
    rbm_status st;
    if ((st = rbm__check_array(s->ctx, mv, mv_len, m->nv, "visible magnetisations")) ||
        (st = check_mags(s->ctx, m->vk, mv, m->nv, false, "visible magnetisations")))
        return st;
    if (iterations)
        *iterations = 0;
    if (residual)
        *residual = INFINITY;
    double *own = NULL;
    if (mh || mh_len) {
        if ((st = rbm__check_array(s->ctx, mh, mh_len, m->nh, "hidden magnetisations")) ||
            (st = check_mags(s->ctx, m->hk, mh, m->nh, false, "hidden magnetisations")))
            return st;
    } else {
        if ((st = rbm__xcalloc(s->ctx, m->nh, sizeof(double), &own, "hidden magnetisations")))
            return st;
        mh = own;
    }
    core_prepare(&s->core);
    if (own)
        core_hidden_start(&s->core, mv, mh);
    size_t it = 0;
    double res = INFINITY;
    st = core_solve(&s->core, mv, mh, s->damping, s->tol, s->max_iter, &it, &res);
    if (iterations)
        *iterations = it;
    if (residual)
        *residual = res;
    if (st == RBM_ERR_NOT_CONVERGED)
        rbm__fail(s->ctx, st,
                  "mean field did not converge in %zu iterations (residual %g, tolerance %g)",
                  it, res, s->tol);
    rbm__free(s->ctx, own);
    return st;
}

rbm_status rbm_mf_free_energy(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                              size_t mh_len, double *gamma)
{
    if (!s)
        return RBM_ERR_NULL;
    if (!gamma)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "gamma is NULL");
    rbm_status st = check_pair(s, mv, mv_len, mh, mh_len, false);
    if (st)
        return st;
    core_prepare(&s->core);
    return core_gamma(&s->core, mv, mh, gamma);
}

rbm_status rbm_mf_gradient(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                           size_t mh_len, double *gv, size_t gv_len, double *gh, size_t gh_len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, true)) ||
        (st = rbm__check_array(s->ctx, gv, gv_len, s->m->nv, "visible gradient")) ||
        (st = rbm__check_array(s->ctx, gh, gh_len, s->m->nh, "hidden gradient")))
        return st;
    core_prepare(&s->core);
    return core_gradient(&s->core, mv, mh, gv, gh);
}

rbm_status rbm_mf_hessian(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                          size_t mh_len, double *hess, size_t hess_len)
{
    if (!s)
        return RBM_ERR_NULL;
    size_t N = s->m->nv + s->m->nh, NN;
    if (!rbm__mul_ok(N, N, &NN))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "Hessian size overflows");
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, true)) ||
        (st = rbm__check_array(s->ctx, hess, hess_len, NN, "Hessian")))
        return st;
    double *ws;
    if ((st = rbm__xcalloc(s->ctx, hessian_ws_len(s->m), sizeof(double), &ws, "Hessian scratch")))
        return st;
    core_prepare(&s->core);
    st = core_hessian(&s->core, mv, mh, false, hess, ws);
    rbm__free(s->ctx, ws);
    return st;
}

rbm_status rbm_mf_variances(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                            size_t mh_len, double *cv, size_t cv_len, double *ch, size_t ch_len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, false)) ||
        (cv && (st = rbm__check_array(s->ctx, cv, cv_len, s->m->nv, "visible variances"))) ||
        (ch && (st = rbm__check_array(s->ctx, ch, ch_len, s->m->nh, "hidden variances"))))
        return st;
    mf_core *c = &s->core;
    core_prepare(c);
    if ((st = core_stats(c, mv, mh)))
        return st;
    if (cv)
        memcpy(cv, c->cv, s->m->nv * sizeof(double));
    if (ch)
        memcpy(ch, c->ch, s->m->nh * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_mf_weight_gradient(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                                  size_t mh_len, double *dw, size_t dw_len)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, false)) ||
        (st = rbm__check_array(s->ctx, dw, dw_len, s->m->nv * s->m->nh, "weight gradient")))
        return st;
    core_prepare(&s->core);
    if ((st = core_stats(&s->core, mv, mh)))
        return st;
    memset(dw, 0, dw_len * sizeof(double));
    core_weight_grad(&s->core, mv, mh, 1.0, dw);
    return RBM_OK;
}

/* ---------------- fixed points ---------------- */

void rbm_mf_points_free(rbm_mf_points *p)
{
    if (!p)
        return;
    rbm_context *ctx = p->ctx;
    rbm__free(ctx, p->mv);
    rbm__free(ctx, p->mh);
    rbm__free(ctx, p->gamma);
    rbm__free(ctx, p->mineig);
    rbm__free(ctx, p->mult);
    rbm__free(ctx, p->stable);
    rbm__free(ctx, p);
}

static rbm_status points_alloc(rbm_context *ctx, size_t nv, size_t nh, size_t cap,
                               rbm_mf_points **out)
{
    rbm_mf_points *p;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *p, &p, "fixed points");
    if (st)
        return st;
    p->ctx = ctx;
    p->nv = nv;
    p->nh = nh;
    size_t cv, chh;
    if (!rbm__mul_ok(cap, nv, &cv) || !rbm__mul_ok(cap, nh, &chh)) {
        rbm_mf_points_free(p);
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", cap);
    }
    if ((st = rbm__xcalloc(ctx, cv, sizeof(double), &p->mv, "fixed points")) ||
        (st = rbm__xcalloc(ctx, chh, sizeof(double), &p->mh, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(double), &p->gamma, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(double), &p->mineig, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(size_t), &p->mult, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(int), &p->stable, "fixed points"))) {
        rbm_mf_points_free(p);
        return st;
    }
    *out = p;
    return RBM_OK;
}

/* Smallest eigenvalue of the scaled Hessian at (mv, mh). H: N*N, eig: N. */
static rbm_status min_eigenvalue(rbm_mf *s, const double *mv, const double *mh, double *H,
                                 double *eig, double *ws, double *out)
{
    size_t N = s->m->nv + s->m->nh;
    rbm_status st = core_hessian(&s->core, mv, mh, true, H, ws);
    if (st)
        return st;
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)N, H, (lapack_int)N,
                                    eig);
    if (info != 0)
        return rbm__fail(s->ctx, RBM_ERR_NUMERICAL, "LAPACKE_dsyev failed (info %d)", (int)info);
    *out = eig[0];
    return RBM_OK;
}

/* Solve from n starts (mv0 rows; mh0 rows or NULL), dedup, classify, sort. */
static rbm_status find_points(rbm_mf *s, size_t n, const double *mv0, const double *mh0,
                              rbm_mf_points **out)
{
    rbm_context *ctx = s->ctx;
    const rbm_machine *m = s->m;
    const size_t nv = m->nv, nh = m->nh, N = nv + nh;
    rbm_mf_points *p = NULL;
    double *mv = NULL, *mh = NULL, *H = NULL, *eig = NULL, *ws = NULL;
    size_t *perm = NULL;
    size_t NN;
    rbm_status st;
    if (!rbm__mul_ok(N, N, &NN))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "Hessian size overflows");
    if ((st = points_alloc(ctx, nv, nh, n, &p)) ||
        (st = rbm__xcalloc(ctx, nv, sizeof(double), &mv, "magnetisations")) ||
        (st = rbm__xcalloc(ctx, nh, sizeof(double), &mh, "magnetisations")) ||
        (st = rbm__xcalloc(ctx, NN, sizeof(double), &H, "Hessian")) ||
        (st = rbm__xcalloc(ctx, N, sizeof(double), &eig, "Hessian eigenvalues")) ||
        (st = rbm__xcalloc(ctx, hessian_ws_len(m), sizeof(double), &ws, "Hessian scratch")) ||
        (st = rbm__xcalloc(ctx, n, sizeof(size_t), &perm, "fixed points")))
        goto done;
    core_prepare(&s->core);
    p->n_starts = n;
    for (size_t r = 0; r < n; r++) {
        memcpy(mv, mv0 + r * nv, nv * sizeof(double));
        if (mh0)
            memcpy(mh, mh0 + r * nh, nh * sizeof(double));
        else
            core_hidden_start(&s->core, mv, mh);
        st = core_solve(&s->core, mv, mh, s->damping, s->tol, s->max_iter, NULL, NULL);
        if (st == RBM_ERR_NOT_CONVERGED || st == RBM_ERR_NUMERICAL) {
            p->n_failed++;
            st = RBM_OK;
            continue;
        }
        if (st)
            goto done;
        size_t k;
        for (k = 0; k < p->count; k++) {
            const double *qv = p->mv + k * nv, *qh = p->mh + k * nh;
            double dist = 0;
            for (size_t i = 0; i < nv; i++)
                dist += fabs(mv[i] - qv[i]);
            for (size_t j = 0; j < nh; j++)
                dist += fabs(mh[j] - qh[j]);
            if (dist / (double)N < s->dedup)
                break;
        }
        if (k < p->count) {
            p->mult[k]++;
            continue;
        }
        memcpy(p->mv + k * nv, mv, nv * sizeof(double));
        memcpy(p->mh + k * nh, mh, nh * sizeof(double));
        p->mult[k] = 1;
        p->count++;
    }
    rbm_context_clear_error(ctx);
    for (size_t k = 0; k < p->count; k++) {
        const double *qv = p->mv + k * nv, *qh = p->mh + k * nh;
        if ((st = core_gamma(&s->core, qv, qh, &p->gamma[k])) ||
            (st = min_eigenvalue(s, qv, qh, H, eig, ws, &p->mineig[k])))
            goto done;
        p->stable[k] = p->mineig[k] > s->stab_tol;
    }
    /* sort by Gamma (insertion sort of a permutation; counts are small) */
    for (size_t k = 0; k < p->count; k++) {
        size_t q = k;
        while (q > 0 && p->gamma[perm[q - 1]] > p->gamma[k]) {
            perm[q] = perm[q - 1];
            q--;
        }
        perm[q] = k;
    }
    {
        /* apply the permutation in place by swaps (slot k receives point
         * perm[k], following where earlier swaps moved it) */
        for (size_t k = 0; k < p->count; k++) {
            size_t src = perm[k];
            /* follow cycles: move point src to slot k */
            while (src < k)
                src = perm[src];
            if (src == k)
                continue;
            memcpy(mv, p->mv + k * nv, nv * sizeof(double));
            memcpy(p->mv + k * nv, p->mv + src * nv, nv * sizeof(double));
            memcpy(p->mv + src * nv, mv, nv * sizeof(double));
            memcpy(mh, p->mh + k * nh, nh * sizeof(double));
            memcpy(p->mh + k * nh, p->mh + src * nh, nh * sizeof(double));
            memcpy(p->mh + src * nh, mh, nh * sizeof(double));
            double t = p->gamma[k];
            p->gamma[k] = p->gamma[src];
            p->gamma[src] = t;
            t = p->mineig[k];
            p->mineig[k] = p->mineig[src];
            p->mineig[src] = t;
            size_t u = p->mult[k];
            p->mult[k] = p->mult[src];
            p->mult[src] = u;
            int sb = p->stable[k];
            p->stable[k] = p->stable[src];
            p->stable[src] = sb;
        }
    }
done:
    rbm__free(ctx, mv);
    rbm__free(ctx, mh);
    rbm__free(ctx, H);
    rbm__free(ctx, eig);
    rbm__free(ctx, ws);
    rbm__free(ctx, perm);
    if (st) {
        rbm_mf_points_free(p);
        return st;
    }
    *out = p;
    return RBM_OK;
}

rbm_status rbm_mf_fixed_points(rbm_mf *s, size_t n_starts, const double *mv0, size_t mv0_len,
                               const double *mh0, size_t mh0_len, rbm_mf_points **out)
{
    if (!s)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "out is NULL");
    *out = NULL;
    const rbm_machine *m = s->m;
    if (n_starts == 0)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "n_starts must be >= 1");
    size_t lv, lh;
    if (!rbm__mul_ok(n_starts, m->nv, &lv) || !rbm__mul_ok(n_starts, m->nh, &lh))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", n_starts);
    rbm_status st;
    if ((st = rbm__check_array(s->ctx, mv0, mv0_len, lv, "visible starts")) ||
        (st = check_mags(s->ctx, m->vk, mv0, lv, false, "visible starts")))
        return st;
    if (mh0 || mh0_len) {
        if ((st = rbm__check_array(s->ctx, mh0, mh0_len, lh, "hidden starts")) ||
            (st = check_mags(s->ctx, m->hk, mh0, lh, false, "hidden starts")))
            return st;
    }
    return find_points(s, n_starts, mv0, mh0, out);
}

rbm_status rbm_mf_fixed_points_random(rbm_mf *s, size_t n_starts, uint64_t seed,
                                      rbm_mf_points **out)
{
    if (!s)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "out is NULL");
    *out = NULL;
    const rbm_machine *m = s->m;
    if (n_starts == 0)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "n_starts must be >= 1");
    size_t lv;
    if (!rbm__mul_ok(n_starts, m->nv, &lv))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", n_starts);
    double *v;
    rbm_status st = rbm__xcalloc(s->ctx, lv, sizeof(double), &v, "random starts");
    if (st)
        return st;
    rbm_rng rng;
    rbm__rng_init(&rng, s->ctx, seed);
    for (size_t i = 0; i < lv; i++) {
        switch (m->vk) {
        case RBM_UNIT_BERNOULLI: v[i] = rbm__rng_uniform(&rng) < 0.5 ? 0.0 : 1.0; break;
        case RBM_UNIT_ISING: v[i] = rbm__rng_uniform(&rng) < 0.5 ? -1.0 : 1.0; break;
        default: v[i] = m->sigma_v * rbm__rng_normal(&rng); break;
        }
    }
    st = find_points(s, n_starts, v, NULL, out);
    rbm__free(s->ctx, v);
    return st;
}

/* visible starts from data rows (all rows when n >= rows) */
static rbm_status data_starts(rbm_mf *s, const rbm_dataset *data, size_t n_starts, uint64_t seed,
                              double **out, size_t *n_out)
{
    const rbm_machine *m = s->m;
    if (data->cols != m->nv)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         data->cols, m->nv);
    size_t n = n_starts < data->rows ? n_starts : data->rows, lv;
    if (!rbm__mul_ok(n, m->nv, &lv))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", n);
    double *v = NULL;
    size_t *idx = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(s->ctx, lv, sizeof(double), &v, "data starts")))
        return st;
    if (n < data->rows) {
        if ((st = rbm__xcalloc(s->ctx, data->rows, sizeof(size_t), &idx, "data starts"))) {
            rbm__free(s->ctx, v);
            return st;
        }
        rbm_rng rng;
        rbm__rng_init(&rng, s->ctx, seed);
        rbm__shuffle(&rng, idx, data->rows); /* the first n: n distinct rows */
    }
    rbm__dataset_fetch(data, idx, 0, n, false, v);
    rbm__free(s->ctx, idx);
    if ((st = rbm__check_finite(s->ctx, v, lv, "data starts")) ||
        (st = check_mags(s->ctx, m->vk, v, lv, false, "data starts"))) {
        rbm__free(s->ctx, v);
        return st;
    }
    *out = v;
    *n_out = n;
    return RBM_OK;
}

rbm_status rbm_mf_fixed_points_data(rbm_mf *s, const rbm_dataset *data, size_t n_starts,
                                    uint64_t seed, rbm_mf_points **out)
{
    if (!s)
        return RBM_ERR_NULL;
    if (!out || !data)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "%s is NULL", out ? "data" : "out");
    *out = NULL;
    if (n_starts == 0)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "n_starts must be >= 1");
    double *v = NULL;
    size_t n = 0;
    rbm_status st = data_starts(s, data, n_starts, seed, &v, &n);
    if (st)
        return st;
    st = find_points(s, n, v, NULL, out);
    rbm__free(s->ctx, v);
    return st;
}

size_t rbm_mf_points_count(const rbm_mf_points *p)
{
    return p ? p->count : 0;
}

size_t rbm_mf_points_n_starts(const rbm_mf_points *p)
{
    return p ? p->n_starts : 0;
}

size_t rbm_mf_points_n_failed(const rbm_mf_points *p)
{
    return p ? p->n_failed : 0;
}

rbm_status rbm_mf_points_get(const rbm_mf_points *p, size_t k, double *gamma,
                             size_t *multiplicity, int *stable, double *min_eigenvalue)
{
    if (!p)
        return RBM_ERR_NULL;
    if (k >= p->count)
        return rbm__fail(p->ctx, RBM_ERR_INVALID_ARGUMENT, "point %zu of %zu", k, p->count);
    if (gamma)
        *gamma = p->gamma[k];
    if (multiplicity)
        *multiplicity = p->mult[k];
    if (stable)
        *stable = p->stable[k];
    if (min_eigenvalue)
        *min_eigenvalue = p->mineig[k];
    return RBM_OK;
}

rbm_status rbm_mf_points_magnetizations(const rbm_mf_points *p, size_t k, double *mv,
                                        size_t mv_len, double *mh, size_t mh_len)
{
    if (!p)
        return RBM_ERR_NULL;
    if (k >= p->count)
        return rbm__fail(p->ctx, RBM_ERR_INVALID_ARGUMENT, "point %zu of %zu", k, p->count);
    rbm_status st;
    if (mv) {
        if ((st = rbm__check_array(p->ctx, mv, mv_len, p->nv, "visible magnetisations")))
            return st;
        memcpy(mv, p->mv + k * p->nv, p->nv * sizeof(double));
    }
    if (mh) {
        if ((st = rbm__check_array(p->ctx, mh, mh_len, p->nh, "hidden magnetisations")))
            return st;
        memcpy(mh, p->mh + k * p->nh, p->nh * sizeof(double));
    }
    return RBM_OK;
}

rbm_status rbm_mf_points_all_visible(const rbm_mf_points *p, double *mv, size_t len)
{
    if (!p)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(p->ctx, mv, len, p->count * p->nv, "visible magnetisations");
    if (st)
        return st;
    if (len)
        memcpy(mv, p->mv, len * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_mf_points_all_hidden(const rbm_mf_points *p, double *mh, size_t len)
{
    if (!p)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(p->ctx, mh, len, p->count * p->nh, "hidden magnetisations");
    if (st)
        return st;
    if (len)
        memcpy(mh, p->mh, len * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_mf_points_project(const rbm_mf_points *p, const rbm_svd *svd, size_t n_modes,
                                 double *pv, size_t pv_len, double *ph, size_t ph_len)
{
    if (!p)
        return RBM_ERR_NULL;
    if (!svd)
        return rbm__fail(p->ctx, RBM_ERR_NULL, "svd is NULL");
    if (p->count == 0)
        return rbm__fail(p->ctx, RBM_ERR_STATE, "no fixed point to project");
    rbm_status st;
    if (pv && (st = rbm_svd_project_visible(svd, p->count, p->mv, p->count * p->nv, n_modes, pv,
                                            pv_len)))
        return st;
    if (ph && (st = rbm_svd_project_hidden(svd, p->count, p->mh, p->count * p->nh, n_modes, ph,
                                           ph_len)))
        return st;
    return RBM_OK;
}

rbm_status rbm_mf_points_log_z(const rbm_mf_points *p, double *log_z, double *best,
                               size_t *n_used)
{
    if (!p)
        return RBM_ERR_NULL;
    if (p->count == 0)
        return rbm__fail(p->ctx, RBM_ERR_STATE, "no fixed point converged");
    bool any_stable = false;
    for (size_t k = 0; k < p->count; k++)
        any_stable = any_stable || p->stable[k];
    double gmin = INFINITY, acc = 0;
    size_t used = 0;
    for (size_t k = 0; k < p->count; k++)
        if (!any_stable || p->stable[k])
            gmin = p->gamma[k] < gmin ? p->gamma[k] : gmin;
    for (size_t k = 0; k < p->count; k++)
        if (!any_stable || p->stable[k]) {
            acc += exp(-(p->gamma[k] - gmin));
            used++;
        }
    if (log_z)
        *log_z = -gmin + log(acc);
    if (best)
        *best = -gmin;
    if (n_used)
        *n_used = used;
    return RBM_OK;
}

/* ---------------- learning dynamics ---------------- */

rbm_status rbm_mf_dynamics_step(rbm_mf *s, rbm_machine *m, const rbm_dataset *data,
                                size_t n_starts, uint64_t seed, double dt, size_t *n_states)
{
    if (!s || !m)
        return RBM_ERR_NULL;
    rbm_context *ctx = s->ctx;
    if (!data)
        return rbm__fail(ctx, RBM_ERR_NULL, "data is NULL");
    if (s->m != m)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "the solver was made for another machine");
    if (!(dt > 0 && isfinite(dt)))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "dt = %g must be finite and > 0", dt);
    if (n_starts == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "n_starts must be >= 1");
    if (data->cols != m->nv)
        return rbm__fail(ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         data->cols, m->nv);
    const size_t nv = m->nv, nh = m->nh, N = nv + nh, nvh = nv * nh;
    const size_t BLK = 256;
    double *G = NULL, *V = NULL, *Hm = NULL, *Wn = NULL, *H = NULL, *ws = NULL;
    rbm_mf_points *p = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, nvh, sizeof(double), &G, "dynamics")) ||
        (st = rbm__xcalloc(ctx, BLK * nv, sizeof(double), &V, "dynamics")) ||
        (st = rbm__xcalloc(ctx, BLK * nh, sizeof(double), &Hm, "dynamics")) ||
        (st = rbm__xcalloc(ctx, nvh, sizeof(double), &Wn, "dynamics")))
        goto done;
    /* data term <v E[h|v]> */
    const double inv = 1.0 / (double)data->rows;
    for (size_t r0 = 0; r0 < data->rows; r0 += BLK) {
        size_t b = data->rows - r0 < BLK ? data->rows - r0 : BLK;
        rbm__dataset_fetch(data, NULL, r0, b, false, V);
        if ((st = rbm_machine_hidden_mean(m, b, V, b * nv, Hm, b * nh)))
            goto done;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)nh, (int)b, inv, V,
                    (int)nv, Hm, (int)nh, 1.0, G, (int)nh);
    }
    if ((st = rbm_mf_fixed_points_data(s, data, n_starts, seed, &p)))
        goto done;
    if (p->count == 0) {
        st = rbm__fail(ctx, RBM_ERR_NOT_CONVERGED, "no TAP fixed point converged from %zu starts",
                       p->n_starts);
        goto done;
    }
    size_t used = 0;
    double lz = 0;
    (void)rbm_mf_points_log_z(p, &lz, NULL, &used);
    bool any_stable = false;
    for (size_t k = 0; k < p->count; k++)
        any_stable = any_stable || p->stable[k];
    if (used == 1 && !s->lin_resp) {
        /* paramagnetic, explicit d log Z_TAP / dW of the single state */
        size_t k = 0;
        while (any_stable && !p->stable[k])
            k++;
        const double *qv = p->mv + k * nv, *qh = p->mh + k * nh;
        core_prepare(&s->core);
        if ((st = core_stats(&s->core, qv, qh)))
            goto done;
        core_weight_grad(&s->core, qv, qh, -1.0, G);
    } else if (used == 1) {
        /* paramagnetic: linear response of the single state */
        size_t k = 0;
        while (any_stable && !p->stable[k])
            k++;
        const double *qv = p->mv + k * nv, *qh = p->mh + k * nh;
        size_t NN = N * N;
        if ((st = rbm__xcalloc(ctx, NN, sizeof(double), &H, "Hessian")) ||
            (st = rbm__xcalloc(ctx, hessian_ws_len(m), sizeof(double), &ws, "Hessian scratch")))
            goto done;
        core_prepare(&s->core);
        if ((st = core_hessian(&s->core, qv, qh, true, H, ws)))
            goto done;
        /* scales d (core_hessian leaves them in fv / fh) */
        const double *dv = s->core.fv, *dh = s->core.fh;
        lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)N, H, (lapack_int)N);
        if (info == 0)
            info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (lapack_int)N, H, (lapack_int)N);
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++) {
                double x = qv[i] * qh[j];
                if (info == 0) /* upper triangle: row i < column nv + j */
                    x += sqrt(dv[i] * dh[j]) * H[i * N + nv + j];
                G[i * nh + j] -= x;
            }
    } else {
        for (size_t k = 0; k < p->count; k++) {
            if (any_stable && !p->stable[k])
                continue;
            double w = exp(-p->gamma[k] - lz);
            cblas_dger(CblasRowMajor, (int)nv, (int)nh, -w, p->mv + k * nv, 1, p->mh + k * nh, 1,
                       G, (int)nh);
        }
    }
    for (size_t i = 0; i < nvh; i++)
        Wn[i] = m->W[i] + dt * G[i];
    st = rbm_machine_set_weights(m, Wn, nvh);
    if (!st && n_states)
        *n_states = used;
done:
    rbm_mf_points_free(p);
    rbm__free(ctx, G);
    rbm__free(ctx, V);
    rbm__free(ctx, Hm);
    rbm__free(ctx, Wn);
    rbm__free(ctx, H);
    rbm__free(ctx, ws);
    return st;
}

/* ---------------- EMF estimator internals ----------------
 * The same equations as the core above, for n particles at once: fields and
 * reaction sums of all particles are matrix products (n x N_v by N_v x N_h). */

struct rbm__mf_emf {
    rbm_context *ctx;
    const rbm_machine *m;
    size_t n;
    int order;
    bool ready;
    double *mv, *mh;           /* n x nv, n x nh persistent magnetisations */
    double *cv, *ch, *kv, *kh; /* variances, third cumulants */
    double *fv, *fh;           /* fields */
    double *sv, *sh, *tv, *th; /* reaction sums */
    double *W2, *W3, *C;       /* nv x nh */
    double *block;
};

rbm_status rbm__mf_emf_new(const rbm_machine *m, int order, size_t n_particles,
                           rbm__mf_emf **out)
{
    rbm_context *ctx = m->ctx;
    *out = NULL;
    if (order > 1 && !disc(m->vk) && !disc(m->hk))
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "TAP estimators need a discrete layer (Gauss-Gauss: use naive MF)");
    if (m->nv > (size_t)INT32_MAX || m->nh > (size_t)INT32_MAX ||
        n_particles > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "sizes too large for BLAS");
    size_t lvh, nvh, total;
    if (!rbm__mul_ok(n_particles, m->nv + m->nh, &lvh) || !rbm__mul_ok(m->nv, m->nh, &nvh) ||
        !rbm__mul_ok(lvh, 10, &total) || total > SIZE_MAX - 3 * nvh ||
        (total += 3 * nvh) > SIZE_MAX / sizeof(double))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu particles overflow", n_particles);
    rbm__mf_emf *p;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *p, &p, "mean-field particles");
    if (st)
        return st;
    p->ctx = ctx;
    p->m = m;
    p->n = n_particles;
    p->order = order;
    if ((st = rbm__xcalloc(ctx, total, sizeof(double), &p->block, "mean-field particles"))) {
        rbm__free(ctx, p);
        return st;
    }
    size_t lv = n_particles * m->nv, lh = n_particles * m->nh;
    double *q = p->block;
    double **vs[] = {&p->mv, &p->cv, &p->kv, &p->fv, &p->sv, &p->tv};
    double **hs[] = {&p->mh, &p->ch, &p->kh, &p->fh, &p->sh, &p->th};
    for (size_t k = 0; k < 6; k++) {
        *vs[k] = q;
        q += lv;
        *hs[k] = q;
        q += lh;
    }
    p->W2 = q;
    p->W3 = q + nvh;
    p->C = q + 2 * nvh;
    *out = p;
    return RBM_OK;
}

void rbm__mf_emf_free(rbm__mf_emf *p)
{
    if (!p)
        return;
    rbm_context *ctx = p->ctx;
    rbm__free(ctx, p->block);
    rbm__free(ctx, p);
}

/* out (n x nx) = A (n x ny) . M_xy, where M is nv x nh (x the visible layer:
 * M^T) */
static void emf_prod(const rbm__mf_emf *p, int layer, const double *A, const double *M,
                     double beta, double *out)
{
    const int n = (int)p->n, nv = (int)p->m->nv, nh = (int)p->m->nh;
    if (layer == 1) /* out (n x nh) = A (n x nv) M */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nh, nv, 1.0, A, nv, M, nh, beta,
                    out, nh);
    else /* out (n x nv) = A (n x nh) M^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nv, nh, 1.0, A, nh, M, nh, beta,
                    out, nv);
}

static bool emf_layer_stats(rbm__mf_emf *p, int layer)
{
    const rbm_machine *m = p->m;
    rbm_unit_kind k = layer ? m->hk : m->vk;
    size_t cnt = p->n * (layer ? m->nh : m->nv);
    const double *mx = layer ? p->mh : p->mv;
    double *cc = layer ? p->ch : p->cv, *kk = layer ? p->kh : p->kv;
    double sg = layer ? m->sigma_h : m->sigma_v, s2 = sg * sg;
    if (layer_stats_simple(k, sg, p->order, cnt, mx, cc, kk))
        return true;
    double *S = layer ? p->sh : p->sv;
    emf_prod(p, layer, layer ? p->cv : p->ch, p->W2, 0.0, S);
    for (size_t i = 0; i < cnt; i++) {
        double prec = 1.0 / s2 - S[i];
        if (!(prec > 0))
            return false;
        cc[i] = 1.0 / prec;
    }
    return true;
}

static rbm_status emf_stats(rbm__mf_emf *p)
{
    const rbm_machine *m = p->m;
    bool ok = true;
    if (disc(m->vk))
        ok = ok && emf_layer_stats(p, 0);
    if (disc(m->hk))
        ok = ok && emf_layer_stats(p, 1);
    if (!disc(m->vk))
        ok = ok && emf_layer_stats(p, 0);
    if (!disc(m->hk))
        ok = ok && emf_layer_stats(p, 1);
    if (!ok)
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL,
                         "the TAP variance of a Gaussian unit does not exist "
                         "(sum_j w_ij^2 c_j >= 1/sigma^2)");
    return RBM_OK;
}

/* damped update of one layer of every particle; false if not finite */
static bool emf_update(rbm__mf_emf *p, int layer, double lambda)
{
    const rbm_machine *m = p->m;
    rbm_unit_kind k = layer ? m->hk : m->vk;
    const size_t nx = layer ? m->nh : m->nv, n = p->n;
    double sg = layer ? m->sigma_h : m->sigma_v, s2 = sg * sg;
    double *mx = layer ? p->mh : p->mv, *F = layer ? p->fh : p->fv;
    double *S = layer ? p->sh : p->sv, *T = layer ? p->th : p->tv;
    const double *bias = layer ? m->b : m->a;
    for (size_t r = 0; r < n; r++)
        memcpy(F + r * nx, bias, nx * sizeof(double));
    emf_prod(p, layer, layer ? p->mv : p->mh, m->W, 1.0, F);
    bool react = disc(k) && p->order >= 2;
    if (react) {
        emf_prod(p, layer, layer ? p->cv : p->ch, p->W2, 0.0, S);
        if (p->order >= 3)
            emf_prod(p, layer, layer ? p->kv : p->kh, p->W3, 0.0, T);
    }
    bool ok = true;
    for (size_t i = 0; i < n * nx; i++) {
        double x = F[i];
        if (react) {
            x += 0.5 * u_c1(k, mx[i]) * S[i];
            if (p->order >= 3)
                x += u_k3d1(k, mx[i]) * T[i] / 6.0;
        }
        double d = u_mean(k, s2, x) - mx[i];
        ok = ok && isfinite(d);
        mx[i] += lambda * d;
    }
    return ok;
}

rbm_status rbm__mf_emf_negative(rbm__mf_emf *p, size_t B, const void *v, const rbm__kern *K,
                                size_t iters, double damping, rbm_gradient *g)
{
    const rbm_machine *m = p->m;
    const size_t nv = m->nv, nh = m->nh, nvh = nv * nh, n = p->n;
    const int inv_ = (int)nv, inh = (int)nh, in = (int)n;
    for (size_t i = 0; i < nvh; i++) {
        double w = m->W[i];
        p->W2[i] = w * w;
        p->W3[i] = w * w * w;
    }
    if (!p->ready) {
        /* first call: particles start at the minibatch rows (cycled), hidden
         * at E[h|v] */
        for (size_t r = 0; r < n; r++) {
            double *x = p->mv + r * nv;
            K->to_f64(nv, (const char *)v + (r % B) * nv * K->elem, x);
            for (size_t i = 0; i < nv; i++) {
                if (m->vk == RBM_UNIT_ISING)
                    x[i] = x[i] < -1 ? -1 : x[i] > 1 ? 1 : x[i];
                else if (m->vk == RBM_UNIT_BERNOULLI)
                    x[i] = x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i];
            }
        }
        for (size_t r = 0; r < n; r++)
            memcpy(p->fh + r * nh, m->b, nh * sizeof(double));
        emf_prod(p, 1, p->mv, m->W, 1.0, p->fh);
        double s2 = m->sigma_h * m->sigma_h;
        for (size_t i = 0; i < n * nh; i++)
            p->mh[i] = u_mean(m->hk, s2, p->fh[i]);
        p->ready = true;
    }
    rbm_status st = emf_stats(p);
    for (size_t t = 0; !st && t < iters; t++) {
        bool ok = emf_update(p, 1, damping);
        if ((st = emf_stats(p)))
            break;
        ok = emf_update(p, 0, damping) && ok;
        if ((st = emf_stats(p)))
            break;
        if (!ok)
            st = rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "mean-field particles became non-finite");
    }
    if (st)
        return st;
    const double ninv = 1.0 / (double)n;
    /* dW -= (1/n) [MV^T MH + W o (CV^T CH) + (1/2) W^2 o (KV^T KH)] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, inv_, inh, in, -ninv, p->mv, inv_, p->mh,
                inh, 1.0, g->dW, inh);
    if (p->order >= 2) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, inv_, inh, in, 1.0, p->cv, inv_,
                    p->ch, inh, 0.0, p->C, inh);
        for (size_t i = 0; i < nvh; i++)
            g->dW[i] -= ninv * m->W[i] * p->C[i];
    }
    if (p->order >= 3) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, inv_, inh, in, 1.0, p->kv, inv_,
                    p->kh, inh, 0.0, p->C, inh);
        for (size_t i = 0; i < nvh; i++)
            g->dW[i] -= 0.5 * ninv * p->W2[i] * p->C[i];
    }
    for (size_t r = 0; r < n; r++) {
        cblas_daxpy(inv_, -ninv, p->mv + r * nv, 1, g->da, 1);
        cblas_daxpy(inh, -ninv, p->mh + r * nh, 1, g->db, 1);
    }
    return RBM_OK;
}

size_t rbm__mf_emf_particles(const rbm__mf_emf *p)
{
    return p ? p->n : 0;
}

bool rbm__mf_emf_ready(const rbm__mf_emf *p)
{
    return p && p->ready;
}

void rbm__mf_emf_set_ready(rbm__mf_emf *p, bool ready)
{
    if (p)
        p->ready = ready;
}

double *rbm__mf_emf_visible(rbm__mf_emf *p)
{
    return p ? p->mv : NULL;
}

double *rbm__mf_emf_hidden(rbm__mf_emf *p)
{
    return p ? p->mh : NULL;
}
