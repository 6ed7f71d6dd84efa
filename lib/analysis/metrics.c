/* librbm — metrics: exact log Z (Gray-code enumeration of the smaller
 * discrete layer, or the Gauss-Gauss closed form), exact samples of the
 * visible layer, and the dataset-wide quantities: mean free energy,
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

/* ---------------- Gray-code enumeration ----------------
 * Every state of the enumerated layer in Gray-code order, so consecutive
 * states differ in one unit and the other layer's fields are updated by
 * one column (recomputed from scratch every 4096 states against drift),
 * split over the context's threads. */

typedef struct {
    const rbm_machine *m;
    size_t n, o;          /* enumerated / other layer sizes */
    const double *cols;   /* n x o: coupling of enumerated unit u to other units */
    const double *ebias, *obias;
    rbm_unit_kind ok;
    double osig, lo;
    uint64_t states;
    double *F;            /* per part: o fields */
    double *M, *Z;        /* per part results */
    double *lws;          /* optional: log weight of every state, by Gray index */
} gray_job;

static void gray_fields_from_scratch(const gray_job *J, uint64_t g, double *F, double *edot)
{
    memcpy(F, J->obias, J->o * sizeof(double));
    double e = 0;
    for (size_t u = 0; u < J->n; u++) {
        double s = (g >> u) & 1 ? 1.0 : J->lo;
        e += J->ebias[u] * s;
        if (s != 0) {
            const double *c = J->cols + u * J->o;
            for (size_t q = 0; q < J->o; q++)
                F[q] += s * c[q];
        }
    }
    *edot = e;
}

static void gray_part(void *arg, size_t part, size_t parts)
{
    gray_job *J = arg;
    uint64_t t0 = J->states / parts * part;
    uint64_t t1 = part + 1 == parts ? J->states : J->states / parts * (part + 1);
    double *F = J->F + part * J->o;
    double M = -INFINITY, Z = 0, edot = 0;
    const double span = 1.0 - J->lo;
    for (uint64_t t = t0; t < t1; t++) {
        uint64_t g = t ^ (t >> 1);
        if (t == t0 || ((t - t0) & 4095) == 0) {
            gray_fields_from_scratch(J, g, F, &edot);
        } else {
            /* Gray code: state t differs from t-1 in bit ctz(t) */
            unsigned u = (unsigned)__builtin_ctzll(t);
            double delta = (g >> u) & 1 ? span : -span;
            const double *c = J->cols + (size_t)u * J->o;
            for (size_t q = 0; q < J->o; q++)
                F[q] += delta * c[q];
            edot += J->ebias[u] * delta;
        }
        double lw = edot + rbm__logpart_sum(J->ok, J->osig, J->o, F, 1.0);
        if (J->lws)
            J->lws[t] = lw;
        if (lw > M) {
            Z = Z * exp(M - lw) + 1.0;
            M = lw;
        } else {
            Z += exp(lw - M);
        }
    }
    J->M[part] = M;
    J->Z[part] = Z;
}

/* Enumerate every state of the discrete `layer` in
 * Gray-code order over the context's threads: returns log Z and, when lws
 * is non-NULL (2^n values), the log weight of state t of the Gray sequence
 * (state bits g = t ^ (t >> 1)) at lws[t]. */
static rbm_status gray_enumerate(const rbm_machine *m, rbm_layer layer, double *lws,
                                 double *log_z)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const bool hid = layer == RBM_LAYER_HIDDEN;
    gray_job J = {.m = m, .lws = lws};
    J.n = hid ? mv->nh : mv->nv;
    J.o = hid ? mv->nv : mv->nh;
    J.ebias = hid ? mv->b : mv->a;
    J.obias = hid ? mv->a : mv->b;
    J.ok = hid ? mv->vk : mv->hk;
    J.osig = hid ? mv->sigma_v : mv->sigma_h;
    J.lo = (hid ? mv->hk : mv->vk) == RBM_UNIT_ISING ? -1.0 : 0.0;
    J.states = (uint64_t)1 << J.n;
    size_t parts = rbm__threads(mv->ctx);
    if (J.states < 8192)
        parts = 1;
    if (parts > 64)
        parts = 64;
    double *cols = NULL, *buf;
    rbm_status st;
    if ((st = rbm__xcalloc(mv->ctx, parts * (J.o + 2), sizeof(double), &buf, "enumeration")))
        return st;
    if (hid) { /* hidden enumerated: columns of W, stored contiguously */
        if ((st = rbm__xcalloc(mv->ctx, mv->nv * mv->nh, sizeof(double), &cols, "enumeration"))) {
            rbm__free(mv->ctx, buf);
            return st;
        }
        for (size_t i = 0; i < mv->nv; i++)
            for (size_t j = 0; j < mv->nh; j++)
                cols[j * mv->nv + i] = mv->W[i * mv->nh + j];
        J.cols = cols;
    } else {
        J.cols = mv->W;
    }
    J.F = buf;
    J.M = buf + parts * J.o;
    J.Z = J.M + parts;
    rbm__parallel(mv->ctx, parts, gray_part, &J);
    double M = -INFINITY;
    for (size_t p = 0; p < parts; p++)
        if (J.M[p] > M)
            M = J.M[p];
    double Z = 0;
    for (size_t p = 0; p < parts; p++)
        if (J.Z[p] > 0)
            Z += J.Z[p] * exp(J.M[p] - M);
    rbm__free(mv->ctx, cols);
    rbm__free(mv->ctx, buf);
    double lz = M + log(Z);
    if (!isfinite(lz))
        return rbm__fail(mv->ctx, RBM_ERR_NUMERICAL, "exact log Z is not finite");
    *log_z = lz;
    return RBM_OK;
}

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
    return gray_enumerate(m, layer, NULL, log_z);
}

rbm_status rbm__exact_visible_samples(const rbm_machine *m, rbm_layer layer, rbm_rng *rng,
                                      size_t R, double *V)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const bool hid = layer == RBM_LAYER_HIDDEN;
    size_t n = hid ? mv->nh : mv->nv;
    uint64_t states = (uint64_t)1 << n;
    double *cdf, lz;
    rbm_status st = rbm__xcalloc(mv->ctx, (size_t)states, sizeof(double), &cdf, "exact samples");
    if (st)
        return st;
    if ((st = gray_enumerate(m, layer, cdf, &lz))) {
        rbm__free(mv->ctx, cdf);
        return st;
    }
    double acc = 0;
    for (uint64_t t = 0; t < states; t++) {
        acc += exp(cdf[t] - lz);
        cdf[t] = acc;
    }
    double lo = (hid ? mv->hk : mv->vk) == RBM_UNIT_ISING ? -1.0 : 0.0;
    for (size_t r = 0; r < R; r++) {
        double u = rbm__rng_uniform(rng) * acc;
        uint64_t a = 0, b = states - 1; /* first t with cdf[t] > u */
        while (a < b) {
            uint64_t mid = a + (b - a) / 2;
            if (cdf[mid] > u)
                b = mid;
            else
                a = mid + 1;
        }
        uint64_t g = a ^ (a >> 1);
        double *v = V + r * mv->nv;
        if (!hid) {
            for (size_t i = 0; i < mv->nv; i++)
                v[i] = (g >> i) & 1 ? 1.0 : lo;
            continue;
        }
        for (size_t i = 0; i < mv->nv; i++) {
            double f = mv->a[i];
            for (size_t j = 0; j < mv->nh; j++)
                f += mv->W[i * mv->nh + j] * ((g >> j) & 1 ? 1.0 : lo);
            v[i] = rbm__unit_sample(mv->vk, mv->sigma_v, f, rng);
        }
    }
    rbm__free(mv->ctx, cdf);
    return RBM_OK;
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

rbm_status rbm_mean_free_energy(const rbm_machine *m, const rbm_dataset *data, double *out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st = rbm__metrics_check_data(m, data, "the");
    if (st)
        return st;
    if (!out)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "output is NULL");
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
    if (st)
        return st;
    double mean = (double)(acc / (long double)rows);
    if (!isfinite(mean))
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
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st = rbm__metrics_check_data(m, data, "the");
    if (st)
        return st;
    if (!mean_pll)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "output is NULL");
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
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st = rbm__metrics_check_data(m, data, "the");
    if (st)
        return st;
    if (!out)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "output is NULL");
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
