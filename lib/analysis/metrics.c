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
    if (rbm__gauss_gauss(m))
        return rbm__gauss_gauss_log_z(m, log_z);
    rbm_layer layer;
    if (!rbm__enum_pick_layer(m, RBM_EXACT_LOG_Z_MAX_UNITS, &layer))
        return rbm__fail(mv->ctx, RBM_ERR_UNSUPPORTED,
                         "exact log Z needs a discrete layer of at most %d units (machine has %zu "
                         "%s visible and %zu %s hidden units); use AIS",
                         RBM_EXACT_LOG_Z_MAX_UNITS, mv->nv, rbm_unit_kind_name(mv->vk), mv->nh,
                         rbm_unit_kind_name(mv->hk));
    return rbm__enum_log_z(m, layer, NULL, log_z);
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
            acc += f[r];
    }
    rbm__free(mv->ctx, v);
    rbm__free(mv->ctx, f);
    if (st && st != RBM_ERR_NUMERICAL) /* NUMERICAL: a row's free energy overflows */
        return st;
    double mean = (double)(acc / (long double)rows);
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
    double *work; /* per part: nh + nh + nv */
    long double *acc;
} pl_job;

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
        for (size_t i = 0; i < nv; i++) {
            double delta = (v[i] == J->hi ? J->lo : J->hi) - v[i];
            const double *w = mv->W + i * nh;
            for (size_t j = 0; j < nh; j++)
                Hf[j] = H[j] + delta * w[j];
            double dl = rbm__logpart_sum(mv->hk, mv->sigma_h, nh, Hf, 1.0) - sum_lam;
            /* F(v') - F(v) = -a_i delta - dl ; log p(v_i|rest) = -softplus(F(v) - F(v')) */
            double dF = -mv->a[i] * delta - dl;
            acc -= rbm__softplus(-dF);
        }
    }
    J->acc[part] = acc;
}

rbm_status rbm_pseudo_log_likelihood(const rbm_machine *m, const rbm_dataset *data,
                                     double *mean_pll)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_status st = metrics_begin(m, data, mean_pll);
    if (st)
        return st;
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
    if ((st = rbm__xcalloc(mv->ctx, parts * (2 * mv->nh + mv->nv), sizeof(double), &J.work,
                           "workspace")))
        return st;
    if ((st = rbm__xcalloc(mv->ctx, parts, sizeof(long double), &J.acc, "workspace"))) {
        rbm__free(mv->ctx, J.work);
        return st;
    }
    rbm__parallel(mv->ctx, parts, pl_part, &J);
    long double acc = 0;
    for (size_t p = 0; p < parts; p++)
        acc += J.acc[p];
    rbm__free(mv->ctx, J.work);
    rbm__free(mv->ctx, J.acc);
    *mean_pll = (double)(acc / (long double)rbm__dataset_rows(data));
    return RBM_OK;
}

rbm_status rbm_reconstruction_error(const rbm_machine *m, const rbm_dataset *data, double *out)
{
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
