/* librbm — enumerate: exact log Z, model statistics and exact samples by
 * enumerating one discrete layer (model/enumerate.h has the method). */
#include "core/internal.h"
#include "model/enumerate.h"
#include "model/machine_impl.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool rbm__enum_pick_layer(const rbm_machine *m, size_t max_units, rbm_layer *layer)
{
    bool vd = m->vk != RBM_UNIT_GAUSSIAN && m->nv <= max_units;
    bool hd = m->hk != RBM_UNIT_GAUSSIAN && m->nh <= max_units;
    if (!vd && !hd)
        return false;
    if (vd && hd)
        *layer = m->nv < m->nh ? RBM_LAYER_VISIBLE : RBM_LAYER_HIDDEN;
    else
        *layer = hd ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
    return true;
}

rbm_status rbm__enum_ws_init(rbm_context *ctx, const rbm_machine *m, rbm_layer layer,
                             rbm__enum_ws *ws)
{
    memset(ws, 0, sizeof *ws);
    const bool hid = layer == RBM_LAYER_HIDDEN;
    size_t n = hid ? m->nh : m->nv, o = hid ? m->nv : m->nh;
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

rbm__enum_view rbm__enum_view_of(const rbm_machine *m, rbm_layer layer)
{
    const bool hid = layer == RBM_LAYER_HIDDEN;
    rbm__enum_view V = {
        .m = m,
        .hid = hid,
        .n = hid ? m->nh : m->nv,
        .o = hid ? m->nv : m->nh,
        .ok = hid ? m->vk : m->hk,
        .osig = hid ? m->sigma_v : m->sigma_h,
        .ebias = hid ? m->b : m->a,
        .obias = hid ? m->a : m->b,
        .lo = (hid ? m->hk : m->vk) == RBM_UNIT_ISING ? -1.0 : 0.0,
    };
    return V;
}

rbm_status rbm__enum_columns(const rbm_machine *m, const rbm__enum_view *V, double **mem,
                             const double **cols)
{
    *mem = NULL;
    if (!V->hid) { /* visible enumerated: the rows of W */
        *cols = m->W;
        return RBM_OK;
    }
    /* hidden enumerated: columns of W, stored contiguously */
    rbm_status st = rbm__xcalloc(m->ctx, m->nv * m->nh, sizeof(double), mem, "enumeration");
    if (st)
        return st;
    for (size_t i = 0; i < m->nv; i++)
        for (size_t j = 0; j < m->nh; j++)
            (*mem)[j * m->nv + i] = m->W[i * m->nh + j];
    *cols = *mem;
    return RBM_OK;
}

/* States t0 .. t0+c-1 into ws->S and their fields on the other layer into
 * ws->F; returns the largest log weight of the chunk, with the log weights
 * in ws->lw. */
static double chunk_log_weights(const rbm__enum_view *V, rbm__enum_ws *ws, uint64_t t0, size_t c)
{
    const rbm_machine *m = V->m;
    const size_t n = V->n, o = V->o, nv = m->nv, nh = m->nh;
    for (size_t r = 0; r < c; r++) {
        uint64_t t = t0 + r;
        double *s = ws->S + r * n;
        for (size_t u = 0; u < n; u++)
            s[u] = (t >> u) & 1 ? 1.0 : V->lo;
        memcpy(ws->F + r * o, V->obias, o * sizeof(double));
    }
    if (V->hid)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c, (int)nv, (int)nh, 1.0, ws->S,
                    (int)nh, m->W, (int)nh, 1.0, ws->F, (int)nv);
    else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c, (int)nh, (int)nv, 1.0,
                    ws->S, (int)nv, m->W, (int)nh, 1.0, ws->F, (int)nh);
    double cm = -INFINITY;
    for (size_t r = 0; r < c; r++) {
        const double *s = ws->S + r * n, *f = ws->F + r * o;
        double lw = 0;
        for (size_t u = 0; u < n; u++)
            lw += V->ebias[u] * s[u];
        lw += rbm__logpart_sum(V->ok, V->osig, o, f, 1.0);
        ws->lw[r] = lw;
        if (lw > cm)
            cm = lw;
    }
    return cm;
}

/* Add the chunk's weights exp(lw - M) to *zacc and, with stats, its
 * weighted states and other-layer means to the accumulators. */
static void chunk_accumulate(const rbm__enum_view *V, rbm__enum_ws *ws, size_t c, double M,
                             double *zacc, double *vh, double *v, double *h)
{
    const size_t n = V->n, o = V->o, nv = V->m->nv, nh = V->m->nh;
    double *A_e = V->hid ? h : v, *A_o = V->hid ? v : h;
    for (size_t r = 0; r < c; r++) {
        double w = exp(ws->lw[r] - M);
        ws->lw[r] = w;
        *zacc += w;
        if (vh) {
            double *f = ws->F + r * o;
            const double *s = ws->S + r * n;
            for (size_t q = 0; q < o; q++) {
                f[q] = w * rbm__unit_mean(V->ok, V->osig, f[q]);
                A_o[q] += f[q];
            }
            for (size_t u = 0; u < n; u++)
                A_e[u] += w * s[u];
        }
    }
    if (!vh)
        return;
    if (V->hid) /* vh += Y^T S, Y = F (c x nv), S (c x nh) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)nh, (int)c, 1.0, ws->F,
                    (int)nv, ws->S, (int)nh, 1.0, vh, (int)nh);
    else /* vh += S^T Y, S (c x nv), Y (c x nh) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)nh, (int)c, 1.0, ws->S,
                    (int)nv, ws->F, (int)nh, 1.0, vh, (int)nh);
}

static void scale_stats(const rbm_machine *m, double alpha, double *vh, double *v, double *h)
{
    cblas_dscal((int)(m->nv * m->nh), alpha, vh, 1);
    cblas_dscal((int)m->nv, alpha, v, 1);
    cblas_dscal((int)m->nh, alpha, h, 1);
}

rbm_status rbm__exact_stats(const rbm_machine *m, rbm_layer layer, rbm__enum_ws *ws,
                            double *log_z, double *vh, double *v, double *h)
{
    const rbm__enum_view V = rbm__enum_view_of(m, layer);
    const uint64_t states = (uint64_t)1 << V.n;
    const size_t C = ws->chunk;
    double M = -INFINITY, zacc = 0.0;
    if (vh) {
        memset(vh, 0, m->nv * m->nh * sizeof(double));
        memset(v, 0, m->nv * sizeof(double));
        memset(h, 0, m->nh * sizeof(double));
    }
    for (uint64_t t0 = 0; t0 < states; t0 += C) {
        size_t c = (size_t)((states - t0) < C ? (states - t0) : C);
        double cm = chunk_log_weights(&V, ws, t0, c);
        if (!isfinite(cm))
            return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "enumeration produced a non-finite weight");
        if (cm > M) { /* a new running maximum: rescale what was summed so far */
            double sc = isfinite(M) ? exp(M - cm) : 0.0;
            zacc *= sc;
            if (vh && sc != 1.0)
                scale_stats(m, sc, vh, v, h);
            M = cm;
        }
        chunk_accumulate(&V, ws, c, M, &zacc, vh, v, h);
    }
    if (log_z)
        *log_z = M + log(zacc);
    if (vh)
        scale_stats(m, 1.0 / zacc, vh, v, h);
    return RBM_OK;
}

/* ---------------- Gray-code enumeration ----------------
 * Every state of the enumerated layer in Gray-code order, so consecutive
 * states differ in one unit and the other layer's fields are updated by
 * one column (recomputed from scratch every 4096 states against drift),
 * split over the context's threads. */

typedef struct {
    rbm__enum_view V;
    const double *cols;   /* n x o: coupling of enumerated unit u to other units */
    uint64_t states;
    double *F;            /* per part: o fields */
    double *M, *Z;        /* per part results */
    double *lws;          /* optional: log weight of every state, by Gray index */
    /* optional (one part only): sorted thresholds thr[0..n_thr) in (0, 1);
     * the Gray index at which the running sum of exp(lw - lz) first
     * exceeds thr[k] goes to picked[k] */
    const double *thr;
    size_t n_thr, next_thr;
    uint64_t *picked;
    double lz, acc;
} gray_job;

static void gray_fields_from_scratch(const gray_job *J, uint64_t g, double *F, double *edot)
{
    memcpy(F, J->V.obias, J->V.o * sizeof(double));
    double e = 0;
    for (size_t u = 0; u < J->V.n; u++) {
        double s = (g >> u) & 1 ? 1.0 : J->V.lo;
        e += J->V.ebias[u] * s;
        if (s != 0) {
            const double *c = J->cols + u * J->V.o;
            for (size_t q = 0; q < J->V.o; q++)
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
    double *F = J->F + part * J->V.o;
    double M = -INFINITY, Z = 0, edot = 0;
    const double span = 1.0 - J->V.lo;
    for (uint64_t t = t0; t < t1; t++) {
        uint64_t g = t ^ (t >> 1);
        double lp;
        if (t == t0 || ((t - t0) & 4095) == 0) {
            gray_fields_from_scratch(J, g, F, &edot);
            lp = rbm__logpart_sum(J->V.ok, J->V.osig, J->V.o, F, 1.0);
        } else {
            /* Gray code: state t differs from t-1 in bit ctz(t); the column
             * update and the log-partition sum are one pass over F */
            unsigned u = (unsigned)__builtin_ctzll(t);
            double delta = (g >> u) & 1 ? span : -span;
            const double *c = J->cols + (size_t)u * J->V.o;
            lp = rbm__logpart_sum_update(J->V.ok, J->V.osig, J->V.o, F, delta, c);
            edot += J->V.ebias[u] * delta;
        }
        double lw = edot + lp;
        if (J->lws)
            J->lws[t] = lw;
        if (J->thr) {
            J->acc += exp(lw - J->lz);
            while (J->next_thr < J->n_thr && J->thr[J->next_thr] < J->acc)
                J->picked[J->next_thr++] = t;
        }
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

/* Run the Gray-code pass of J (V, lws and the thresholds set) on `parts`
 * parts (0: the context's threads) into *log_z. */
static rbm_status gray_run(const rbm_machine *m, gray_job *Jp, size_t parts, double *log_z)
{
    gray_job J = *Jp;
    J.states = (uint64_t)1 << J.V.n;
    if (parts == 0)
        parts = rbm__threads(m->ctx);
    if (J.states < 8192)
        parts = 1;
    if (parts > 64)
        parts = 64;
    double *cols, *buf;
    rbm_status st;
    if ((st = rbm__xcalloc(m->ctx, parts * (J.V.o + 2), sizeof(double), &buf, "enumeration")))
        return st;
    if ((st = rbm__enum_columns(m, &J.V, &cols, &J.cols))) {
        rbm__free(m->ctx, buf);
        return st;
    }
    J.F = buf;
    J.M = buf + parts * J.V.o;
    J.Z = J.M + parts;
    rbm__parallel(m->ctx, parts, gray_part, &J);
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
    Jp->next_thr = J.next_thr;
    if (!isfinite(lz))
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "exact log Z is not finite");
    *log_z = lz;
    return RBM_OK;
}

rbm_status rbm__enum_log_z_gray(const rbm_machine *m, rbm_layer layer, double *lws,
                                double *log_z)
{
    gray_job J = {.V = rbm__enum_view_of(m, layer), .lws = lws};
    return gray_run(m, &J, 0, log_z);
}

/* Visible sample r of V from the enumerated state at Gray index t. */
static void emit_sample(const rbm_machine *m, const rbm__enum_view *E, uint64_t t, rbm_rng *rng,
                        double *v)
{
    uint64_t g = t ^ (t >> 1);
    if (!E->hid) {
        for (size_t i = 0; i < m->nv; i++)
            v[i] = (g >> i) & 1 ? 1.0 : E->lo;
        return;
    }
    for (size_t i = 0; i < m->nv; i++) {
        double f = m->a[i];
        for (size_t j = 0; j < m->nh; j++)
            f += m->W[i * m->nh + j] * ((g >> j) & 1 ? 1.0 : E->lo);
        v[i] = rbm__unit_sample(m->vk, m->sigma_v, f, rng);
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Streaming inverse-CDF sampling: log Z by a (parallel) Gray pass, then R
 * sorted uniforms located by a second, sequential pass. O(R) memory. */
static rbm_status stream_samples(const rbm_machine *m, rbm_layer layer, rbm_rng *rng, size_t R,
                                 double *V)
{
    const rbm__enum_view E = rbm__enum_view_of(m, layer);
    double *thr;
    uint64_t *picked;
    rbm_status st;
    if ((st = rbm__xcalloc(m->ctx, R, sizeof *thr, &thr, "exact samples")))
        return st;
    if ((st = rbm__xcalloc(m->ctx, R, sizeof *picked, &picked, "exact samples"))) {
        rbm__free(m->ctx, thr);
        return st;
    }
    gray_job J = {.V = E};
    double lz;
    if ((st = gray_run(m, &J, 0, &lz)))
        goto done;
    for (size_t r = 0; r < R; r++)
        thr[r] = rbm__rng_uniform(rng);
    qsort(thr, R, sizeof *thr, cmp_double);
    J.thr = thr;
    J.n_thr = R;
    J.picked = picked;
    J.lz = lz;
    double lz2;
    if ((st = gray_run(m, &J, 1, &lz2)))
        goto done;
    /* rounding can leave the total a little below 1: the last state */
    for (size_t r = J.next_thr; r < R; r++)
        picked[r] = ((uint64_t)1 << E.n) - 1;
    for (size_t r = 0; r < R; r++)
        emit_sample(m, &E, picked[r], rng, V + r * m->nv);
done:
    rbm__free(m->ctx, thr);
    rbm__free(m->ctx, picked);
    return st;
}

/* ---------------- exact samples ---------------- */

rbm_status rbm__enum_visible_samples(const rbm_machine *m, rbm_layer layer, rbm_rng *rng,
                                      size_t R, double *V)
{
    const rbm__enum_view E = rbm__enum_view_of(m, layer);
    if (E.n > RBM__ENUM_TABLE_UNITS)
        return stream_samples(m, layer, rng, R, V);
    uint64_t states = (uint64_t)1 << E.n;
    double *cdf, lz;
    rbm_status st = rbm__xcalloc(m->ctx, (size_t)states, sizeof(double), &cdf, "exact samples");
    if (st)
        return st;
    if ((st = rbm__enum_log_z_gray(m, layer, cdf, &lz))) {
        rbm__free(m->ctx, cdf);
        return st;
    }
    double acc = 0;
    for (uint64_t t = 0; t < states; t++) {
        acc += exp(cdf[t] - lz);
        cdf[t] = acc;
    }
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
        emit_sample(m, &E, a, rng, V + r * m->nv);
    }
    rbm__free(m->ctx, cdf);
    return RBM_OK;
}
