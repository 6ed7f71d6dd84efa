/* librbm — metrics: exact log Z (the enumeration of model/enumerate.c or
 * the Gauss-Gauss closed form) and the dataset-wide quantities: mean free energy,
 * log-likelihood, pseudo-likelihood, reconstruction error, free-energy gap
 * (docs/theory.md §1.3, §8). */
#include "analysis/metrics.h"
#include "data/dataset.h"
#include "model/enumerate.h"
#include "model/gauss_gauss.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define ROW_BLOCK 256

/* ---------------- exact log Z and exact samples ---------------- */

rbm_status rbm_exact_log_z(const rbm_machine *m, double *log_z)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    if (!log_z)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "log_z is NULL");
    if (mv->vk == RBM_UNIT_POTTS)
        return rbm__potts_exact_log_z(m, log_z);
    if (rbm__gauss_gauss(m))
        return rbm__gauss_gauss_log_z(m, log_z);
    rbm_layer layer;
    if (!rbm__enum_pick_layer(m, RBM_EXACT_LOG_Z_MAX_UNITS, &layer))
        return rbm__fail(mv->ctx, RBM_ERR_UNSUPPORTED,
                         "exact log Z needs a discrete layer of at most %d units (machine has %zu "
                         "%s visible and %zu %s hidden units); use AIS",
                         RBM_EXACT_LOG_Z_MAX_UNITS, mv->nv, rbm_unit_kind_name(mv->vk), mv->nh,
                         rbm_unit_kind_name(mv->hk));
    return rbm__enum_log_z(m, layer, log_z);
}

/* ---------------- dataset-wide quantities ---------------- */

rbm_status rbm__metrics_check_data(const rbm_machine *m, const rbm_dataset *d, const char *what)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!d)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "%s dataset is NULL", what);
    if (rbm__dataset_cols(d) != mv->nv)
        return rbm__fail(mv->ctx, RBM_ERR_SHAPE, "%s dataset has %zu columns, machine expects %zu",
                         what, rbm__dataset_cols(d), mv->nv);
    return RBM_OK;
}

/* The checks every dataset-wide quantity starts with: m, the dataset
 * (shape) and the output, in that order. */
static rbm_status metrics_begin(const rbm_machine *m, const rbm_dataset *data, const void *out)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st = rbm__metrics_check_data(m, data, "the");
    if (st)
        return st;
    if (!out)
        return rbm__fail(rbm__machine_view_of(m)->ctx, RBM_ERR_NULL, "output is NULL");
    return RBM_OK;
}

rbm_status rbm_mean_free_energy(const rbm_machine *m, const rbm_dataset *data, double *out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_status st = metrics_begin(m, data, out);
    if (st)
        return st;
    double *v, *f;
    if ((st = rbm__xcalloc(mv->ctx, ROW_BLOCK * mv->nv, sizeof(double), &v, "workspace")))
        return st;
    if ((st = rbm__xcalloc(mv->ctx, ROW_BLOCK, sizeof(double), &f, "workspace"))) {
        rbm__free(mv->ctx, v);
        return st;
    }
    long double acc = 0;
    const size_t rows = rbm__dataset_rows(data);
    for (size_t r0 = 0; r0 < rows && !st; r0 += ROW_BLOCK) {
        size_t n = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
        rbm__dataset_fetch(data, NULL, r0, n, false, v);
        st = rbm_machine_free_energy(m, n, v, n * mv->nv, f, n);
        for (size_t r = 0; r < n && !st; r++)
            acc += (long double)rbm__dataset_weight(data, r0 + r) * f[r];
    }
    rbm__free(mv->ctx, v);
    rbm__free(mv->ctx, f);
    if (st && st != RBM_ERR_NUMERICAL) /* NUMERICAL: a row's free energy overflows */
        return st;
    double mean = (double)(acc / (long double)rbm__dataset_weight_sum(data));
    if (st || !isfinite(mean))
        return rbm__fail(mv->ctx, RBM_ERR_NOT_FINITE,
                         "mean free energy of the data is not finite (data values too large for "
                         "the machine?)");
    *out = mean;
    return RBM_OK;
}

rbm_status rbm_log_likelihood(const rbm_machine *m, const rbm_dataset *data, double log_z,
                              double *out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "rbm_log_likelihood: out is NULL");
    if (!isfinite(log_z))
        return rbm__fail(mv->ctx, RBM_ERR_NOT_FINITE, "log Z is not finite");
    double f;
    rbm_status st = rbm_mean_free_energy(m, data, &f);
    if (st)
        return st;
    *out = -f - log_z;
    return RBM_OK;
}

rbm_status rbm_exact_log_likelihood(const rbm_machine *m, const rbm_dataset *data, double *mean_ll,
                                    double *log_z)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    if (!mean_ll)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "mean_ll is NULL");
    double lz;
    rbm_status st = rbm_exact_log_z(m, &lz);
    if (st)
        return st;
    if ((st = rbm_log_likelihood(m, data, lz, mean_ll)))
        return st;
    if (log_z)
        *log_z = lz;
    return RBM_OK;
}

typedef struct {
    const rbm_machine *m;
    const rbm_dataset *d;
    double lo, hi;
    double *work; /* per part: see pl_part (direct) and pl_fast_part */
    long double *acc;
    /* fast path: Gp = exp(span W), Gm = exp(-span W), chunk per visible site */
    const double *Gp, *Gm;
    const size_t *chunk;
} pl_job;

/* log p(v_i | v_-i) from the free-energy change of flipping unit i:
 * F(v') - F(v) = -a_i delta - dl, log p = -softplus(F(v) - F(v')). */
static double pl_term(double a_i, double delta, double dl)
{
    return -rbm__softplus(a_i * delta + dl);
}

/* Direct path: for each row, the hidden fields after each flip and their
 * log-partition sums (N_v N_h exp/log per row). Any hidden kind. */
static void pl_part(void *arg, size_t part, size_t parts)
{
    pl_job *J = arg;
    const rbm_machine *m = J->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    size_t nv = mv->nv, nh = mv->nh, rows = rbm__dataset_rows(J->d);
    size_t r0 = rows / parts * part, r1 = part + 1 == parts ? rows : rows / parts * (part + 1);
    double *H = J->work + part * (2 * nh + nv), *lam = H + nh, *v = lam + nh;
    long double acc = 0;
    for (size_t r = r0; r < r1; r++) {
        rbm__dataset_fetch(J->d, NULL, r, 1, false, v);
        memcpy(H, mv->b, nh * sizeof(double));
        for (size_t i = 0; i < nv; i++)
            if (v[i] != 0)
                cblas_daxpy((int)nh, v[i], mv->W + i * nh, 1, H, 1);
        double sum_lam = rbm__logpart_sum(mv->hk, mv->sigma_h, nh, H, 1.0);
        double *Hf = lam; /* hidden field after flipping unit i */
        long double row_pl = 0;
        for (size_t i = 0; i < nv; i++) {
            double delta = (v[i] == J->hi ? J->lo : J->hi) - v[i];
            const double *w = mv->W + i * nh;
            for (size_t j = 0; j < nh; j++)
                Hf[j] = H[j] + delta * w[j];
            double dl = rbm__logpart_sum(mv->hk, mv->sigma_h, nh, Hf, 1.0) - sum_lam;
            row_pl += pl_term(mv->a[i], delta, dl);
        }
        acc += (long double)rbm__dataset_weight(J->d, r) * row_pl;
    }
    J->acc[part] = acc;
}

/* Fast path for Bernoulli and Ising hidden units, PL_ROWS rows at a time. The
 * change of a hidden log-partition when the field moves by d = delta w_ij
 * is a log of positive terms (no cancellation):
 *   Bernoulli  log(1 + e^(x+d)) - log(1 + e^x) = log(sigm(-x) + sigm(x) e^d)
 *   Ising      log cosh(x+d) - log cosh x = log(sigm(2x) e^d + sigm(-2x) e^-d)
 * and e^(+-span w_ij) is a property of the machine (Gp, Gm), so a flip
 * costs N_h multiply-adds and N_h / (4 chunk) logs instead of N_h exps and
 * logs; the product over j is renormalised by a log every chunk factors. */
/* 16 rows share each pass over Gp, Gm (1 byte of G traffic per term) */
enum { PL_ROWS = 16 };

static void pl_fast_part(void *arg, size_t part, size_t parts)
{
    pl_job *J = arg;
    const rbm__machine_view *mv = rbm__machine_view_of(J->m);
    const rbm__kern *K = &rbm__kern_f64;
    size_t nv = mv->nv, nh = mv->nh, rows = rbm__dataset_rows(J->d);
    size_t r0 = rows / parts * part, r1 = part + 1 == parts ? rows : rows / parts * (part + 1);
    double *v = J->work + part * PL_ROWS * (nv + 3 * nh), *H = v + PL_ROWS * nv,
           *al = H + PL_ROWS * nh, *be = al + PL_ROWS * nh;
    const int ising = mv->hk == RBM_UNIT_ISING;
    const double sc = ising ? 2.0 : 1.0, span = J->hi - J->lo;
    long double acc = 0;
    for (size_t rb = r0; rb < r1; rb += PL_ROWS) {
        size_t n = r1 - rb < PL_ROWS ? r1 - rb : PL_ROWS;
        rbm__dataset_fetch(J->d, NULL, rb, n, false, v);
        for (size_t r = n; r < PL_ROWS; r++) /* pad with copies of the first row */
            memcpy(v + r * nv, v, nv * sizeof(double));
        K->hidden_field(mv, PL_ROWS, v, H);
        rbm__sigmoid_d(PL_ROWS * nh, H, sc, al);
        rbm__sigmoid_d(PL_ROWS * nh, H, -sc, be);
        const double *alpha[PL_ROWS], *beta[PL_ROWS];
        for (size_t r = 0; r < PL_ROWS; r++) {
            alpha[r] = al + r * nh;
            beta[r] = be + r * nh;
        }
        for (size_t i = 0; i < nv; i++) {
            const double *G[PL_ROWS], *Gi[PL_ROWS];
            double delta[PL_ROWS], dl[PL_ROWS];
            for (size_t r = 0; r < PL_ROWS; r++) {
                bool up = v[r * nv + i] != J->hi; /* the flip moves v_i up by span */
                delta[r] = up ? span : -span;
                G[r] = (up ? J->Gp : J->Gm) + i * nh;
                Gi[r] = (up ? J->Gm : J->Gp) + i * nh;
            }
            for (size_t r = 0; r < PL_ROWS; r += 4)
                rbm__log_mix_sums4(ising, nh, G + r, Gi + r, alpha + r, beta + r, J->chunk[i],
                                   dl + r);
            for (size_t r = 0; r < n; r++)
                acc += (long double)rbm__dataset_weight(J->d, rb + r) *
                       pl_term(mv->a[i], delta[r], dl[r]);
        }
    }
    J->acc[part] = acc;
}

/* Sets up the fast path (Gp, Gm, chunk in J, one allocation in *mem) when it
 * applies: discrete hidden units and every factor e^(span |w|) below e^350;
 * *fast false otherwise (the direct path is used). RBM_ERR_TOO_LARGE /
 * RBM_ERR_NO_MEMORY when the 2 N_v N_h doubles cannot be had. */
static rbm_status pl_fast_setup(pl_job *J, void **mem, bool *fast)
{
    const rbm__machine_view *mv = rbm__machine_view_of(J->m);
    size_t nv = mv->nv, nh = mv->nh;
    *mem = NULL;
    *fast = false;
    if (mv->hk == RBM_UNIT_GAUSSIAN)
        return RBM_OK;
    double span = J->hi - J->lo;
    for (size_t i = 0; i < nv; i++)
        if (!(span * rbm__max_abs(nh, mv->W + i * nh) <= 350.0))
            return RBM_OK;
    /* Gp, Gm (nv nh doubles each) and chunk (nv sizes, in double slots) */
    _Static_assert(sizeof(size_t) <= sizeof(double), "chunk sizes fit double slots");
    if (nh > (SIZE_MAX / sizeof(double) - nv) / nv / 2)
        return rbm__fail(mv->ctx, RBM_ERR_TOO_LARGE,
                         "pseudo-likelihood tables for %zu x %zu weights overflow size_t", nv, nh);
    double *Gp;
    rbm_status st = rbm__xcalloc(mv->ctx, 2 * nv * nh + nv, sizeof(double), &Gp,
                                 "pseudo-likelihood tables");
    if (st)
        return st;
    double *Gm = Gp + nv * nh;
    size_t *chunk = (size_t *)(Gm + nv * nh);
    for (size_t i = 0; i < nv; i++) {
        /* each factor lies in [e^-c, e^c]; a product of chunk factors in e^+-700 */
        double c = span * rbm__max_abs(nh, mv->W + i * nh);
        double ch = c > 0 ? floor(700.0 / c) : 1e9;
        chunk[i] = ch >= 1e9 ? (size_t)1e9 : (size_t)ch;
        for (size_t j = 0; j < nh; j++) {
            double x = span * mv->W[i * nh + j];
            Gp[i * nh + j] = exp(x);
            Gm[i * nh + j] = exp(-x);
        }
    }
    J->Gp = Gp;
    J->Gm = Gm;
    J->chunk = chunk;
    *mem = Gp;
    *fast = true;
    return RBM_OK;
}

rbm_status rbm_pseudo_log_likelihood(const rbm_machine *m, const rbm_dataset *data,
                                     double *mean_pll)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_status st = metrics_begin(m, data, mean_pll);
    if (st)
        return st;
    if (mv->vk == RBM_UNIT_POTTS)
        return rbm__potts_pseudo_log_likelihood(m, data, mean_pll);
    if (mv->vk == RBM_UNIT_GAUSSIAN)
        return rbm__fail(mv->ctx, RBM_ERR_UNSUPPORTED,
                         "pseudo-likelihood needs discrete visible units (machine has gaussian)");
    double lo = mv->vk == RBM_UNIT_ISING ? -1.0 : 0.0, hi = 1.0;
    for (size_t r = 0; r < rbm__dataset_rows(data); r++)
        for (size_t c = 0; c < rbm__dataset_cols(data); c++) {
            double x = rbm__dataset_at(data, r, c);
            if (x != lo && x != hi)
                return rbm__fail(mv->ctx, RBM_ERR_OUT_OF_RANGE,
                                 "pseudo-likelihood needs values in {%g, %g}: row %zu column %zu "
                                 "is %g",
                                 lo, hi, r, c, x);
        }
    size_t parts = rbm__threads(mv->ctx);
    if (parts > rbm__dataset_rows(data))
        parts = rbm__dataset_rows(data);
    if (parts > 64)
        parts = 64;
    pl_job J = {.m = m, .d = data, .lo = lo, .hi = hi};
    void *gmem = NULL;
    bool fast = false;
    if ((st = pl_fast_setup(&J, &gmem, &fast)))
        return st;
    size_t per_part = fast ? PL_ROWS * (mv->nv + 3 * mv->nh) : 2 * mv->nh + mv->nv;
    if ((st = rbm__xcalloc(mv->ctx, parts * per_part, sizeof(double), &J.work, "workspace"))) {
        rbm__free(mv->ctx, gmem);
        return st;
    }
    if ((st = rbm__xcalloc(mv->ctx, parts, sizeof(long double), &J.acc, "workspace"))) {
        rbm__free(mv->ctx, J.work);
        rbm__free(mv->ctx, gmem);
        return st;
    }
    rbm__parallel(mv->ctx, parts, fast ? pl_fast_part : pl_part, &J);
    long double acc = 0;
    for (size_t p = 0; p < parts; p++)
        acc += J.acc[p];
    rbm__free(mv->ctx, J.work);
    rbm__free(mv->ctx, J.acc);
    rbm__free(mv->ctx, gmem);
    *mean_pll = (double)(acc / (long double)rbm__dataset_weight_sum(data));
    return RBM_OK;
}

rbm_status rbm_reconstruction_error(const rbm_machine *m, const rbm_dataset *data, double *out)
{
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_reconstruction_error");
    if (potts_st)
        return potts_st;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_status st = metrics_begin(m, data, out);
    if (st)
        return st;
    const rbm__kern *K = &rbm__kern_f64;
    double *v, *h, *r;
    if ((st = rbm__xcalloc(mv->ctx, ROW_BLOCK * mv->nv, sizeof(double), &v, "workspace")))
        return st;
    if ((st = rbm__xcalloc(mv->ctx, ROW_BLOCK * mv->nh, sizeof(double), &h, "workspace"))) {
        rbm__free(mv->ctx, v);
        return st;
    }
    if ((st = rbm__xcalloc(mv->ctx, ROW_BLOCK * mv->nv, sizeof(double), &r, "workspace"))) {
        rbm__free(mv->ctx, v);
        rbm__free(mv->ctx, h);
        return st;
    }
    long double acc = 0;
    const size_t rows = rbm__dataset_rows(data);
    for (size_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
        size_t n = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
        rbm__dataset_fetch(data, NULL, r0, n, false, v);
        K->hidden_field(mv, n, v, h);
        K->mean(mv->hk, mv->sigma_h, n * mv->nh, h, h);
        K->visible_field(mv, n, h, r);
        K->mean(mv->vk, mv->sigma_v, n * mv->nv, r, r);
        acc += (long double)K->msd(n * mv->nv, v, r) * (long double)n;
    }
    rbm__free(mv->ctx, v);
    rbm__free(mv->ctx, h);
    rbm__free(mv->ctx, r);
    double err = (double)(acc / (long double)rows);
    if (!isfinite(err))
        return rbm__fail(mv->ctx, RBM_ERR_NOT_FINITE, "reconstruction error is not finite");
    *out = err;
    return RBM_OK;
}

rbm_status rbm_free_energy_gap(const rbm_machine *m, const rbm_dataset *train,
                               const rbm_dataset *heldout, double *gap)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    if (!gap)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "output is NULL");
    double ft, fh;
    rbm_status st;
    if ((st = rbm__metrics_check_data(m, train, "training")) ||
        (st = rbm__metrics_check_data(m, heldout, "held-out")) ||
        (st = rbm_mean_free_energy(m, train, &ft)) || (st = rbm_mean_free_energy(m, heldout, &fh)))
        return st;
    *gap = fh - ft;
    return RBM_OK;
}
