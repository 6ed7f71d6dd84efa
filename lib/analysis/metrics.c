/* librbm — exact log Z, AIS, pseudo-likelihood, reconstruction error. */
#include "core/internal.h"
#include "core/shuffle.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#define ROW_BLOCK 256

/* ---------------- exact log Z ---------------- */

typedef struct {
    const rbm_machine *m;
    int layer;            /* 1: enumerate hidden, 0: visible */
    size_t n, o;          /* enumerated / other layer sizes */
    const double *cols;   /* n x o: coupling of enumerated unit u to other units */
    const double *ebias, *obias;
    rbm_unit_kind ok;
    double osig, lo;
    uint64_t states;
    double *F;            /* per part: o fields */
    double *M, *Z;        /* per part results */
    double *lws;          /* optional: log weight of every state, by Gray index */
} enum_job;

static void fields_from_scratch(const enum_job *J, uint64_t g, double *F, double *edot)
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

static void enum_part(void *arg, size_t part, size_t parts)
{
    enum_job *J = arg;
    uint64_t t0 = J->states / parts * part, t1 = part + 1 == parts ? J->states : J->states / parts * (part + 1);
    double *F = J->F + part * J->o;
    double M = -INFINITY, Z = 0, edot = 0;
    const double span = 1.0 - J->lo;
    for (uint64_t t = t0; t < t1; t++) {
        uint64_t g = t ^ (t >> 1);
        if (t == t0 || ((t - t0) & 4095) == 0) {
            fields_from_scratch(J, g, F, &edot);
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

static rbm_status gauss_gauss_log_z(const rbm_machine *m, double *log_z)
{
    rbm_status st = rbm__machine_check_normalizable(m, m->W, m->sigma_v, m->sigma_h);
    if (st)
        return st;
    size_t nv = m->nv, nh = m->nh, n = nv + nh;
    double *P, *x;
    if ((st = rbm__xcalloc(m->ctx, n * n, sizeof(double), &P, "precision matrix")))
        return st;
    if ((st = rbm__xcalloc(m->ctx, n, sizeof(double), &x, "workspace"))) {
        rbm__free(m->ctx, P);
        return st;
    }
    for (size_t i = 0; i < nv; i++) {
        P[i * n + i] = 1.0 / (m->sigma_v * m->sigma_v);
        for (size_t j = 0; j < nh; j++) {
            P[i * n + nv + j] = -m->W[i * nh + j];
            P[(nv + j) * n + i] = -m->W[i * nh + j];
        }
        x[i] = m->a[i];
    }
    for (size_t j = 0; j < nh; j++) {
        P[(nv + j) * n + nv + j] = 1.0 / (m->sigma_h * m->sigma_h);
        x[nv + j] = m->b[j];
    }
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, P, (lapack_int)n);
    double quad = 0, logdet = 0;
    if (info == 0) {
        for (size_t i = 0; i < n; i++)
            logdet += 2.0 * log(P[i * n + i]);
        /* solve L y = x: quad = |y|^2 = x^T P^{-1} x */
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, P, (int)n, x, 1);
        for (size_t i = 0; i < n; i++)
            quad += x[i] * x[i];
    }
    rbm__free(m->ctx, P);
    rbm__free(m->ctx, x);
    if (info != 0)
        return rbm__fail(m->ctx, RBM_ERR_NOT_NORMALIZABLE,
                         "Gauss-Gauss precision matrix is not positive definite (LAPACK info %d)",
                         (int)info);
    *log_z = 0.5 * (double)n * log(2.0 * 3.14159265358979323846) - 0.5 * logdet + 0.5 * quad;
    return RBM_OK;
}

/* Enumerate every state of the discrete `layer` (0 visible, 1 hidden) in
 * Gray-code order over the context's threads: returns log Z and, when lws
 * is non-NULL (2^n values), the log weight of state t of the Gray sequence
 * (state bits g = t ^ (t >> 1)) at lws[t]. */
static rbm_status enumerate(const rbm_machine *m, int layer, double *lws, double *log_z)
{
    enum_job J = {.m = m, .layer = layer, .lws = lws};
    J.n = layer ? m->nh : m->nv;
    J.o = layer ? m->nv : m->nh;
    J.ebias = layer ? m->b : m->a;
    J.obias = layer ? m->a : m->b;
    J.ok = layer ? m->vk : m->hk;
    J.osig = layer ? m->sigma_v : m->sigma_h;
    J.lo = (layer ? m->hk : m->vk) == RBM_UNIT_ISING ? -1.0 : 0.0;
    J.states = (uint64_t)1 << J.n;
    size_t parts = rbm__threads(m->ctx);
    if (J.states < 8192)
        parts = 1;
    if (parts > 64)
        parts = 64;
    double *cols = NULL, *buf;
    rbm_status st;
    if ((st = rbm__xcalloc(m->ctx, parts * (J.o + 2), sizeof(double), &buf, "enumeration")))
        return st;
    if (layer) { /* hidden enumerated: columns of W, stored contiguously */
        if ((st = rbm__xcalloc(m->ctx, m->nv * m->nh, sizeof(double), &cols, "enumeration"))) {
            rbm__free(m->ctx, buf);
            return st;
        }
        for (size_t i = 0; i < m->nv; i++)
            for (size_t j = 0; j < m->nh; j++)
                cols[j * m->nv + i] = m->W[i * m->nh + j];
        J.cols = cols;
    } else {
        J.cols = m->W;
    }
    J.F = buf;
    J.M = buf + parts * J.o;
    J.Z = J.M + parts;
    rbm__parallel(m->ctx, parts, enum_part, &J);
    double M = -INFINITY;
    for (size_t p = 0; p < parts; p++)
        if (J.M[p] > M)
            M = J.M[p];
    double Z = 0;
    for (size_t p = 0; p < parts; p++)
        if (J.Z[p] > 0)
            Z += J.Z[p] * exp(J.M[p] - M);
    rbm__free(m->ctx, cols);
    rbm__free(m->ctx, buf);
    double lz = M + log(Z);
    if (!isfinite(lz))
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "exact log Z is not finite");
    *log_z = lz;
    return RBM_OK;
}

rbm_status rbm_exact_log_z(const rbm_machine *m, double *log_z)
{
    if (!m)
        return RBM_ERR_NULL;
    if (!log_z)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "log_z is NULL");
    if (m->vk == RBM_UNIT_GAUSSIAN && m->hk == RBM_UNIT_GAUSSIAN)
        return gauss_gauss_log_z(m, log_z);
    int layer = rbm__enum_layer(m, RBM_EXACT_LOG_Z_MAX_UNITS);
    if (layer < 0)
        return rbm__fail(m->ctx, RBM_ERR_UNSUPPORTED,
                         "exact log Z needs a discrete layer of at most %d units (machine has %zu "
                         "%s visible and %zu %s hidden units); use AIS",
                         RBM_EXACT_LOG_Z_MAX_UNITS, m->nv, rbm_unit_kind_name(m->vk), m->nh,
                         rbm_unit_kind_name(m->hk));
    return enumerate(m, layer, NULL, log_z);
}

/* R exact samples of the visible layer (R x nv into V) by enumerating the
 * small discrete `layer`: the state is drawn from its exact marginal by
 * inverse-CDF sampling; for an enumerated hidden layer v then follows
 * p(v | h). */
static rbm_status exact_visible_samples(const rbm_machine *m, int layer, rbm_rng *rng, size_t R,
                                        double *V)
{
    size_t n = layer ? m->nh : m->nv;
    uint64_t states = (uint64_t)1 << n;
    double *cdf, lz;
    rbm_status st = rbm__xcalloc(m->ctx, (size_t)states, sizeof(double), &cdf, "exact samples");
    if (st)
        return st;
    if ((st = enumerate(m, layer, cdf, &lz))) {
        rbm__free(m->ctx, cdf);
        return st;
    }
    double acc = 0;
    for (uint64_t t = 0; t < states; t++) {
        acc += exp(cdf[t] - lz);
        cdf[t] = acc;
    }
    double lo = (layer ? m->hk : m->vk) == RBM_UNIT_ISING ? -1.0 : 0.0;
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
        double *v = V + r * m->nv;
        if (!layer) {
            for (size_t i = 0; i < m->nv; i++)
                v[i] = (g >> i) & 1 ? 1.0 : lo;
            continue;
        }
        for (size_t i = 0; i < m->nv; i++) {
            double f = m->a[i];
            for (size_t j = 0; j < m->nh; j++)
                f += m->W[i * m->nh + j] * ((g >> j) & 1 ? 1.0 : lo);
            v[i] = rbm__unit_sample(m->vk, m->sigma_v, f, rng);
        }
    }
    rbm__free(m->ctx, cdf);
    return RBM_OK;
}

/* ---------------- dataset-wide quantities ---------------- */

static rbm_status check_data(const rbm_machine *m, const rbm_dataset *d, const char *what)
{
    if (!d)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "%s dataset is NULL", what);
    if (d->cols != m->nv)
        return rbm__fail(m->ctx, RBM_ERR_SHAPE, "%s dataset has %zu columns, machine expects %zu",
                         what, d->cols, m->nv);
    return RBM_OK;
}

rbm_status rbm_mean_free_energy(const rbm_machine *m, const rbm_dataset *data, double *out)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st = check_data(m, data, "the");
    if (st)
        return st;
    if (!out)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "output is NULL");
    double *v, *f;
    if ((st = rbm__xcalloc(m->ctx, ROW_BLOCK * m->nv, sizeof(double), &v, "workspace")))
        return st;
    if ((st = rbm__xcalloc(m->ctx, ROW_BLOCK, sizeof(double), &f, "workspace"))) {
        rbm__free(m->ctx, v);
        return st;
    }
    long double acc = 0;
    for (size_t r0 = 0; r0 < data->rows && !st; r0 += ROW_BLOCK) {
        size_t n = data->rows - r0 < ROW_BLOCK ? data->rows - r0 : ROW_BLOCK;
        rbm__dataset_fetch(data, NULL, r0, n, false, v);
        st = rbm_machine_free_energy(m, n, v, n * m->nv, f);
        for (size_t r = 0; r < n && !st; r++)
            acc += f[r];
    }
    rbm__free(m->ctx, v);
    rbm__free(m->ctx, f);
    if (st)
        return st;
    double mean = (double)(acc / (long double)data->rows);
    if (!isfinite(mean))
        return rbm__fail(m->ctx, RBM_ERR_NOT_FINITE,
                         "mean free energy of the data is not finite (data values too large for "
                         "the machine?)");
    *out = mean;
    return RBM_OK;
}

rbm_status rbm_log_likelihood(const rbm_machine *m, const rbm_dataset *data, double log_z,
                              double *out)
{
    if (!m)
        return RBM_ERR_NULL;
    if (!isfinite(log_z))
        return rbm__fail(m->ctx, RBM_ERR_NOT_FINITE, "log Z is not finite");
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
    if (!m)
        return RBM_ERR_NULL;
    if (!mean_ll)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "mean_ll is NULL");
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
    size_t nv = m->nv, nh = m->nh, rows = J->d->rows;
    size_t r0 = rows / parts * part, r1 = part + 1 == parts ? rows : rows / parts * (part + 1);
    double *H = J->work + part * (2 * nh + nv), *lam = H + nh, *v = lam + nh;
    long double acc = 0;
    for (size_t r = r0; r < r1; r++) {
        rbm__dataset_fetch(J->d, NULL, r, 1, false, v);
        memcpy(H, m->b, nh * sizeof(double));
        for (size_t i = 0; i < nv; i++)
            if (v[i] != 0)
                cblas_daxpy((int)nh, v[i], m->W + i * nh, 1, H, 1);
        double sum_lam = rbm__logpart_sum(m->hk, m->sigma_h, nh, H, 1.0);
        double *Hf = lam; /* hidden field after flipping unit i */
        for (size_t i = 0; i < nv; i++) {
            double delta = (v[i] == J->hi ? J->lo : J->hi) - v[i];
            const double *w = m->W + i * nh;
            for (size_t j = 0; j < nh; j++)
                Hf[j] = H[j] + delta * w[j];
            double dl = rbm__logpart_sum(m->hk, m->sigma_h, nh, Hf, 1.0) - sum_lam;
            /* F(v') - F(v) = -a_i delta - dl ; log p(v_i|rest) = -softplus(F(v) - F(v')) */
            double dF = -m->a[i] * delta - dl;
            acc -= rbm__softplus(-dF);
        }
    }
    J->acc[part] = acc;
}

rbm_status rbm_pseudo_log_likelihood(const rbm_machine *m, const rbm_dataset *data, double *mean_pll)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st = check_data(m, data, "the");
    if (st)
        return st;
    if (!mean_pll)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "output is NULL");
    if (m->vk == RBM_UNIT_GAUSSIAN)
        return rbm__fail(m->ctx, RBM_ERR_UNSUPPORTED,
                         "pseudo-likelihood needs discrete visible units (machine has gaussian)");
    double lo = m->vk == RBM_UNIT_ISING ? -1.0 : 0.0, hi = 1.0;
    for (size_t r = 0; r < data->rows; r++)
        for (size_t c = 0; c < data->cols; c++) {
            double x = rbm__dataset_at(data, r, c);
            if (x != lo && x != hi)
                return rbm__fail(m->ctx, RBM_ERR_OUT_OF_RANGE,
                                 "pseudo-likelihood needs values in {%g, %g}: row %zu column %zu "
                                 "is %g",
                                 lo, hi, r, c, x);
        }
    size_t parts = rbm__threads(m->ctx);
    if (parts > data->rows)
        parts = data->rows;
    if (parts > 64)
        parts = 64;
    pl_job J = {.m = m, .d = data, .lo = lo, .hi = hi};
    if ((st = rbm__xcalloc(m->ctx, parts * (2 * m->nh + m->nv), sizeof(double), &J.work,
                           "workspace")))
        return st;
    if ((st = rbm__xcalloc(m->ctx, parts, sizeof(long double), &J.acc, "workspace"))) {
        rbm__free(m->ctx, J.work);
        return st;
    }
    rbm__parallel(m->ctx, parts, pl_part, &J);
    long double acc = 0;
    for (size_t p = 0; p < parts; p++)
        acc += J.acc[p];
    rbm__free(m->ctx, J.work);
    rbm__free(m->ctx, J.acc);
    *mean_pll = (double)(acc / (long double)data->rows);
    return RBM_OK;
}

rbm_status rbm_reconstruction_error(const rbm_machine *m, const rbm_dataset *data, double *out)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st = check_data(m, data, "the");
    if (st)
        return st;
    if (!out)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "output is NULL");
    const rbm__kern *K = &rbm__kern_f64;
    double *v, *h, *r;
    if ((st = rbm__xcalloc(m->ctx, ROW_BLOCK * m->nv, sizeof(double), &v, "workspace")))
        return st;
    if ((st = rbm__xcalloc(m->ctx, ROW_BLOCK * m->nh, sizeof(double), &h, "workspace"))) {
        rbm__free(m->ctx, v);
        return st;
    }
    if ((st = rbm__xcalloc(m->ctx, ROW_BLOCK * m->nv, sizeof(double), &r, "workspace"))) {
        rbm__free(m->ctx, v);
        rbm__free(m->ctx, h);
        return st;
    }
    long double acc = 0;
    for (size_t r0 = 0; r0 < data->rows; r0 += ROW_BLOCK) {
        size_t n = data->rows - r0 < ROW_BLOCK ? data->rows - r0 : ROW_BLOCK;
        rbm__dataset_fetch(data, NULL, r0, n, false, v);
        K->hidden_field(m, n, v, h);
        K->mean(m->hk, m->sigma_h, n * m->nh, h, h);
        K->visible_field(m, n, h, r);
        K->mean(m->vk, m->sigma_v, n * m->nv, r, r);
        acc += (long double)K->msd(n * m->nv, v, r) * (long double)n;
    }
    rbm__free(m->ctx, v);
    rbm__free(m->ctx, h);
    rbm__free(m->ctx, r);
    double err = (double)(acc / (long double)data->rows);
    if (!isfinite(err))
        return rbm__fail(m->ctx, RBM_ERR_NOT_FINITE, "reconstruction error is not finite");
    *out = err;
    return RBM_OK;
}

rbm_status rbm_free_energy_gap(const rbm_machine *m, const rbm_dataset *train,
                               const rbm_dataset *heldout, double *gap)
{
    if (!m)
        return RBM_ERR_NULL;
    if (!gap)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "output is NULL");
    double ft, fh;
    rbm_status st;
    if ((st = check_data(m, train, "training")) || (st = check_data(m, heldout, "held-out")) ||
        (st = rbm_mean_free_energy(m, train, &ft)) || (st = rbm_mean_free_energy(m, heldout, &fh)))
        return st;
    *gap = fh - ft;
    return RBM_OK;
}

/* ---------------- AIS ---------------- */

struct rbm_ais {
    rbm_context *ctx;
    const rbm_machine *m;
    rbm_rng rng;
    size_t R, burn_in;
    double *betas;
    size_t K; /* number of betas */
    double *aA; /* base visible biases */
    double log_za;
    const rbm_dataset *data; /* reverse chains start from its rows when set */
    rbm_progress_fn progress;
    void *puser;
    /* work (R rows) */
    double *V, *Hf, *Hs, *Fv, *lw;
};

static void ais_release_work(rbm_ais *a)
{
    double **bufs[] = {&a->V, &a->Hf, &a->Hs, &a->Fv, &a->lw};
    for (size_t i = 0; i < 5; i++) {
        rbm__free(a->ctx, *bufs[i]);
        *bufs[i] = NULL;
    }
}

void rbm_ais_free(rbm_ais *a)
{
    if (!a)
        return;
    ais_release_work(a);
    rbm__free(a->ctx, a->betas);
    rbm__free(a->ctx, a->aA);
    rbm__free(a->ctx, a);
}

static void ais_base_log_z(rbm_ais *a)
{
    const rbm_machine *m = a->m;
    double lz = 0;
    for (size_t i = 0; i < m->nv; i++)
        lz += rbm__unit_logpart(m->vk, m->sigma_v, a->aA[i]);
    lz += (double)m->nh * rbm__unit_logpart(m->hk, m->sigma_h, 0.0);
    a->log_za = lz;
}

static rbm_status set_schedule_default(rbm_ais *a)
{
    size_t K = 500 + 4000 + 10000 + 1;
    double *b;
    rbm_status st = rbm__xcalloc(a->ctx, K, sizeof(double), &b, "AIS schedule");
    if (st)
        return st;
    size_t k = 0;
    for (size_t i = 0; i < 500; i++)
        b[k++] = 1e-3 * (double)i;
    for (size_t i = 0; i < 4000; i++)
        b[k++] = 0.5 + 1e-4 * (double)i;
    for (size_t i = 0; i < 10000; i++)
        b[k++] = 0.9 + 1e-5 * (double)i;
    b[k++] = 1.0;
    rbm__free(a->ctx, a->betas);
    a->betas = b;
    a->K = K;
    return RBM_OK;
}

static rbm_status ais_alloc_work(rbm_ais *a)
{
    ais_release_work(a);
    const rbm_machine *m = a->m;
    rbm_status st;
    if ((st = rbm__xcalloc(a->ctx, a->R * m->nv, sizeof(double), &a->V, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R * m->nh, sizeof(double), &a->Hf, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R * m->nh, sizeof(double), &a->Hs, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R * m->nv, sizeof(double), &a->Fv, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R, sizeof(double), &a->lw, "AIS weights")))
        ais_release_work(a);
    return st;
}

rbm_status rbm_ais_new(const rbm_machine *m, uint64_t seed, rbm_ais **out)
{
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "rbm_ais_new: out is NULL");
    *out = NULL;
    if (m->vk == RBM_UNIT_GAUSSIAN && m->hk == RBM_UNIT_GAUSSIAN)
        return rbm__fail(m->ctx, RBM_ERR_UNSUPPORTED,
                         "AIS is not needed for Gauss-Gauss machines: use rbm_exact_log_z");
    rbm_ais *a;
    rbm_status st = rbm__xcalloc(m->ctx, 1, sizeof *a, &a, "AIS");
    if (st)
        return st;
    a->ctx = m->ctx;
    a->m = m;
    a->R = 100;
    a->burn_in = 1000;
    rbm__rng_init(&a->rng, m->ctx, seed);
    if ((st = rbm__xcalloc(m->ctx, m->nv, sizeof(double), &a->aA, "AIS base")) ||
        (st = set_schedule_default(a)) || (st = ais_alloc_work(a))) {
        rbm_ais_free(a);
        return st;
    }
    ais_base_log_z(a);
    *out = a;
    return RBM_OK;
}

rbm_status rbm_ais_set_runs(rbm_ais *a, size_t n_runs)
{
    if (!a)
        return RBM_ERR_NULL;
    if (n_runs < 2 || n_runs > (size_t)INT32_MAX)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT, "AIS needs 2..2^31-1 runs (got %zu)",
                         n_runs);
    size_t old = a->R;
    a->R = n_runs;
    rbm_status st = ais_alloc_work(a);
    if (st) {
        a->R = old;
        ais_alloc_work(a);
    }
    return st;
}

rbm_status rbm_ais_set_schedule(rbm_ais *a, const double *betas, size_t n)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!betas)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "schedule is NULL");
    if (n < 2)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT, "schedule needs >= 2 temperatures");
    if (betas[0] != 0.0 || betas[n - 1] != 1.0)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "schedule must start at beta = 0 and end at beta = 1 (got %g and %g)",
                         betas[0], betas[n - 1]);
    for (size_t k = 1; k < n; k++)
        if (!(betas[k] > betas[k - 1]))
            return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                             "schedule must increase strictly: betas[%zu] = %g after %g", k,
                             betas[k], betas[k - 1]);
    double *b;
    rbm_status st = rbm__xcalloc(a->ctx, n, sizeof(double), &b, "AIS schedule");
    if (st)
        return st;
    memcpy(b, betas, n * sizeof(double));
    rbm__free(a->ctx, a->betas);
    a->betas = b;
    a->K = n;
    return RBM_OK;
}

rbm_status rbm_ais_set_uniform_schedule(rbm_ais *a, size_t n)
{
    if (!a)
        return RBM_ERR_NULL;
    if (n < 2)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT, "schedule needs >= 2 temperatures");
    double *b;
    rbm_status st = rbm__xcalloc(a->ctx, n, sizeof(double), &b, "AIS schedule");
    if (st)
        return st;
    for (size_t k = 0; k < n; k++)
        b[k] = (double)k / (double)(n - 1);
    b[n - 1] = 1.0;
    rbm__free(a->ctx, a->betas);
    a->betas = b;
    a->K = n;
    return RBM_OK;
}

rbm_status rbm_ais_set_base_from_data(rbm_ais *a, const rbm_dataset *data)
{
    if (!a)
        return RBM_ERR_NULL;
    const rbm_machine *m = a->m;
    if (!data) {
        memset(a->aA, 0, m->nv * sizeof(double));
        a->data = NULL;
        ais_base_log_z(a);
        return RBM_OK;
    }
    rbm_status st = check_data(m, data, "base");
    if (st)
        return st;
    if ((st = rbm_dataset_mean(data, a->aA, m->nv)))
        return rbm__fail(a->ctx, st, "cannot compute data means: %s",
                         rbm_context_last_error(data->ctx));
    for (size_t i = 0; i < m->nv; i++) {
        double p = a->aA[i];
        switch (m->vk) {
        case RBM_UNIT_BERNOULLI:
            p = fmin(fmax(p, 1e-3), 1 - 1e-3);
            a->aA[i] = log(p / (1 - p));
            break;
        case RBM_UNIT_ISING:
            p = fmin(fmax(p, -1 + 2e-3), 1 - 2e-3);
            a->aA[i] = atanh(p);
            break;
        default:
            a->aA[i] = p / (m->sigma_v * m->sigma_v);
            break;
        }
    }
    a->data = data;
    ais_base_log_z(a);
    return RBM_OK;
}

rbm_status rbm_ais_set_reverse_burn_in(rbm_ais *a, size_t sweeps)
{
    if (!a)
        return RBM_ERR_NULL;
    a->burn_in = sweeps;
    return RBM_OK;
}

rbm_status rbm_ais_set_progress(rbm_ais *a, rbm_progress_fn fn, void *user)
{
    if (!a)
        return RBM_ERR_NULL;
    a->progress = fn;
    a->puser = user;
    return RBM_OK;
}

double rbm_ais_base_log_z(const rbm_ais *a)
{
    return a ? a->log_za : NAN;
}

/* Hidden fields Hf = V W + b for the R states. */
static void ais_hidden_field(rbm_ais *a)
{
    rbm__kern_f64.hidden_field(a->m, a->R, a->V, a->Hf);
}

/* log p*_beta1(v) - log p*_beta0(v) for every run, added to lw (sign +1) or
 * subtracted (sign -1). Needs Hf of the current V. */
static void ais_weight(rbm_ais *a, double beta1, double beta0, double sign)
{
    const rbm_machine *m = a->m;
    size_t nv = m->nv, nh = m->nh;
    double db = beta1 - beta0;
    for (size_t r = 0; r < a->R; r++) {
        const double *v = a->V + r * nv, *h = a->Hf + r * nh;
        double d = 0;
        for (size_t i = 0; i < nv; i++)
            d += db * (m->a[i] - a->aA[i]) * v[i];
        d += rbm__logpart_sum(m->hk, m->sigma_h, nh, h, beta1) -
             rbm__logpart_sum(m->hk, m->sigma_h, nh, h, beta0);
        a->lw[r] += sign * d;
    }
}

/* One transition leaving p_beta invariant: h ~ p_beta(h|v) (field beta*Hf,
 * Hf must be current), then v ~ p_beta(v|h). */
static void ais_transition(rbm_ais *a, double beta)
{
    const rbm_machine *m = a->m;
    size_t nv = m->nv, nh = m->nh, R = a->R;
    for (size_t x = 0; x < R * nh; x++)
        a->Hs[x] = rbm__unit_sample(m->hk, m->sigma_h, beta * a->Hf[x], &a->rng);
    /* Fv = Hs W^T (no bias), then field (1-beta) aA + beta (a + Fv) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)R, (int)nv, (int)nh, 1.0, a->Hs,
                (int)nh, m->W, (int)nh, 0.0, a->Fv, (int)nv);
    for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < nv; i++) {
            double f = (1 - beta) * a->aA[i] + beta * (m->a[i] + a->Fv[r * nv + i]);
            a->V[r * nv + i] = rbm__unit_sample(m->vk, m->sigma_v, f, &a->rng);
        }
}

static int ais_report(rbm_ais *a, size_t done, size_t total)
{
    if (!a->progress)
        return 0;
    size_t every = total / 100 ? total / 100 : 1;
    if (done % every != 0 && done != total)
        return 0;
    return a->progress(a->puser, (double)done / (double)total);
}

rbm_status rbm_ais_run(rbm_ais *a, int reverse, double *log_z, double *log_z_stderr)
{
    if (!a)
        return RBM_ERR_NULL;
    const rbm_machine *m = a->m;
    size_t nv = m->nv, R = a->R, K = a->K;
    const double *beta = a->betas;
    memset(a->lw, 0, R * sizeof(double));
    if (!reverse) {
        for (size_t x = 0; x < R * nv; x++)
            a->V[x] = rbm__unit_sample(m->vk, m->sigma_v, a->aA[x % nv], &a->rng);
        for (size_t k = 1; k < K; k++) {
            ais_hidden_field(a);
            ais_weight(a, beta[k], beta[k - 1], +1.0);
            if (k + 1 < K)
                ais_transition(a, beta[k]);
            if (ais_report(a, k, K - 1))
                return RBM_STOPPED;
        }
    } else {
        /* chains at p_1: exact samples when a discrete layer has at most
         * RBM_AIS_EXACT_START_UNITS units; otherwise data rows (if a base
         * dataset is set) or base samples, then burn_in sweeps at beta = 1 */
        int layer = rbm__enum_layer(m, RBM_AIS_EXACT_START_UNITS);
        size_t burn = a->burn_in;
        if (layer >= 0) {
            rbm_status st = exact_visible_samples(m, layer, &a->rng, R, a->V);
            if (st)
                return st;
            burn = 0;
        } else if (a->data) {
            for (size_t r = 0; r < R; r++) {
                size_t row = rbm__rng_index(&a->rng, a->data->rows);
                rbm__dataset_fetch(a->data, NULL, row, 1, false, a->V + r * nv);
            }
        } else {
            for (size_t x = 0; x < R * nv; x++)
                a->V[x] = rbm__unit_sample(m->vk, m->sigma_v, a->aA[x % nv], &a->rng);
        }
        size_t total = burn + K - 1;
        for (size_t s = 0; s < burn; s++) {
            ais_hidden_field(a);
            ais_transition(a, 1.0);
            if (ais_report(a, s + 1, total))
                return RBM_STOPPED;
        }
        for (size_t k = K - 1; k >= 1; k--) {
            ais_hidden_field(a);
            ais_weight(a, beta[k], beta[k - 1], -1.0);
            if (k - 1 >= 1)
                ais_transition(a, beta[k - 1]);
            if (ais_report(a, burn + (K - k), total))
                return RBM_STOPPED;
        }
    }
    double M = -INFINITY;
    for (size_t r = 0; r < R; r++)
        if (a->lw[r] > M)
            M = a->lw[r];
    if (!isfinite(M))
        return rbm__fail(a->ctx, RBM_ERR_NUMERICAL, "AIS importance weights are not finite");
    double s1 = 0, s2 = 0;
    for (size_t r = 0; r < R; r++) {
        double w = exp(a->lw[r] - M);
        s1 += w;
        s2 += w * w;
    }
    double mean = s1 / (double)R;
    double var = s2 / (double)R - mean * mean;
    if (var < 0)
        var = 0;
    double lmean = M + log(mean);
    double se = sqrt(var * (double)R / (double)(R - 1) / (double)R) / mean;
    if (log_z)
        *log_z = reverse ? a->log_za - lmean : a->log_za + lmean;
    if (log_z_stderr)
        *log_z_stderr = se;
    return RBM_OK;
}
