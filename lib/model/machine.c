/* librbm — machines: parameters, energies, conditionals, conversion. */
#include "core/internal.h"
#include "model/machine.h"
#include "model/machine_impl.h"

#include <lapacke.h>
#include <limits.h>
#include <float.h>
#include <math.h>
#include <string.h>

#define CHECK_M(m)                                                                             \
    do {                                                                                       \
        if (!(m))                                                                              \
            return RBM_ERR_NULL;                                                               \
    } while (0)

static void machine_release(rbm_machine *m)
{
    rbm_context *ctx = m->ctx;
    rbm__free(ctx, m->W);
    rbm__free(ctx, m->a);
    rbm__free(ctx, m->b);
    rbm__free(ctx, m->Wf);
    rbm__free(ctx, m->af);
    rbm__free(ctx, m->bf);
    rbm__free(ctx, m->provenance);
    rbm__free(ctx, m);
}

void rbm_machine_free(rbm_machine *m)
{
    if (m)
        machine_release(m);
}

static rbm_status alloc_mirror(rbm_machine *m)
{
    rbm_status st;
    if ((st = rbm__xcalloc(m->ctx, m->nvw * m->nh, sizeof(float), &m->Wf, "float32 weights")) ||
        (st = rbm__xcalloc(m->ctx, m->nvw, sizeof(float), &m->af, "float32 visible bias")) ||
        (st = rbm__xcalloc(m->ctx, m->nh, sizeof(float), &m->bf, "float32 hidden bias")))
        return st;
    return RBM_OK;
}

rbm_status rbm__machine_alloc(rbm_context *ctx, size_t n_visible, size_t n_states,
                              size_t n_hidden, rbm_unit_kind visible, rbm_unit_kind hidden,
                              rbm_machine **out)
{
    size_t nvw, nw;
    if (!rbm__mul_ok(n_visible, n_states, &nvw) || !rbm__mul_ok(nvw, n_hidden, &nw) ||
        !rbm__mul_ok(nw, sizeof(double), &nw) || nvw > INT_MAX || n_hidden > INT_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "machine of %zu (x %zu states) x %zu units is too large (sizes must fit "
                         "a BLAS int and the weight matrix must fit in memory)",
                         n_visible, n_states, n_hidden);
    rbm_machine *m;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *m, &m, "machine");
    if (st)
        return st;
    m->ctx = ctx;
    m->nv = n_visible;
    m->nq = n_states;
    m->nvw = nvw;
    m->nh = n_hidden;
    m->vk = visible;
    m->hk = hidden;
    m->sigma_v = m->sigma_h = 1.0;
    m->prec = RBM_PRECISION_FLOAT64;
    if ((st = rbm__xcalloc(ctx, nvw * n_hidden, sizeof(double), &m->W, "weights")) ||
        (st = rbm__xcalloc(ctx, nvw, sizeof(double), &m->a, "visible bias")) ||
        (st = rbm__xcalloc(ctx, n_hidden, sizeof(double), &m->b, "hidden bias"))) {
        machine_release(m);
        return st;
    }
    rbm__machine_publish(m);
    *out = m;
    return RBM_OK;
}

rbm_status rbm_machine_new(rbm_context *ctx, size_t n_visible, size_t n_hidden,
                           rbm_unit_kind visible, rbm_unit_kind hidden, rbm_machine **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_new: out is NULL");
    if (n_visible == 0 || n_hidden == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "machine sizes must be >= 1 (got %zu visible, %zu hidden)", n_visible,
                         n_hidden);
    if (visible == RBM_UNIT_POTTS || hidden == RBM_UNIT_POTTS)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "a Potts layer needs its number of states: use rbm_machine_new_potts");
    if (!rbm__unit_kind_valid(visible) || !rbm__unit_kind_valid(hidden))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "unknown unit kind (visible %d, hidden %d)",
                         (int)visible, (int)hidden);
    return rbm__machine_alloc(ctx, n_visible, 1, n_hidden, visible, hidden, out);
}

const rbm__machine_view *rbm__machine_view_of(const rbm_machine *m)
{
    return m ? &m->view : NULL;
}

void rbm__machine_params_mut(rbm_machine *m, double **W, double **a, double **b)
{
    if (W)
        *W = m->W;
    if (a)
        *a = m->a;
    if (b)
        *b = m->b;
}

void rbm__machine_sync(rbm_machine *m)
{
    if (m->prec != RBM_PRECISION_FLOAT32 || !m->Wf)
        return;
    size_t n = m->nvw * m->nh;
    for (size_t i = 0; i < n; i++)
        m->Wf[i] = (float)m->W[i];
    for (size_t i = 0; i < m->nvw; i++)
        m->af[i] = (float)m->a[i];
    for (size_t j = 0; j < m->nh; j++)
        m->bf[j] = (float)m->b[j];
}

rbm_status rbm_machine_clone(const rbm_machine *m, rbm_machine **out)
{
    if (out)
        *out = NULL;
    CHECK_M(m);
    if (!out)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "rbm_machine_clone: out is NULL");
    rbm_machine *c;
    rbm_status st = rbm__machine_alloc(m->ctx, m->nv, m->nq, m->nh, m->vk, m->hk, &c);
    if (st)
        return st;
    memcpy(c->W, m->W, m->nvw * m->nh * sizeof(double));
    memcpy(c->a, m->a, m->nvw * sizeof(double));
    memcpy(c->b, m->b, m->nh * sizeof(double));
    c->sigma_v = m->sigma_v;
    c->sigma_h = m->sigma_h;
    if (m->provenance && (st = rbm_machine_set_provenance(c, m->provenance))) {
        rbm_machine_free(c);
        return st;
    }
    if (m->prec == RBM_PRECISION_FLOAT32) {
        if ((st = rbm_machine_set_precision(c, RBM_PRECISION_FLOAT32))) {
            rbm_machine_free(c);
            return st;
        }
    }
    *out = c;
    return RBM_OK;
}

size_t rbm_machine_n_visible(const rbm_machine *m)
{
    return m ? m->nv : 0;
}

size_t rbm_machine_n_hidden(const rbm_machine *m)
{
    return m ? m->nh : 0;
}

rbm_unit_kind rbm_machine_unit_kind(const rbm_machine *m, rbm_layer layer)
{
    if (!m)
        return RBM_UNIT_BERNOULLI;
    return layer == RBM_LAYER_HIDDEN ? m->hk : m->vk;
}

rbm_context *rbm_machine_context(const rbm_machine *m)
{
    return m ? m->ctx : NULL;
}

double rbm_machine_sigma(const rbm_machine *m, rbm_layer layer)
{
    if (!m)
        return NAN;
    return layer == RBM_LAYER_HIDDEN ? m->sigma_h : m->sigma_v;
}

/* ---- top singular value and normalisability, with a workspace ----
 * The computation is LAPACK dgesvd (no vectors) of the nv x nh matrix W,
 * handed to LAPACK column-major with the optimal lwork from its workspace
 * query: exactly the call LAPACKE_dgesvd makes for a row-major W, without
 * LAPACKE's allocations. rbm__machine_top_singular and
 * rbm__machine_check_normalizable (core/internal.h) make a workspace for
 * one call; per-step callers keep one (model/machine.h). */

void rbm__singular_ws_free(rbm_context *ctx, rbm__singular_ws *ws)
{
    rbm__free(ctx, ws->a);
    rbm__free(ctx, ws->s);
    rbm__free(ctx, ws->work);
    memset(ws, 0, sizeof *ws);
}

rbm_status rbm__singular_ws_init(const rbm_machine *m, rbm__singular_ws *ws)
{
    memset(ws, 0, sizeof *ws);
    size_t nv = m->nvw, nh = m->nh, r = nv < nh ? nv : nh;
    if (nv > (size_t)INT32_MAX || nh > (size_t)INT32_MAX)
        return rbm__fail(m->ctx, RBM_ERR_TOO_LARGE, "%zu x %zu weights exceed the LAPACK limit",
                         nv, nh);
    ws->nv = nv;
    ws->nh = nh;
    double query = 0.0;
    rbm_status st;
    if ((st = rbm__xcalloc(m->ctx, nv * nh, sizeof(double), &ws->a, "svd workspace")) ||
        (st = rbm__xcalloc(m->ctx, r, sizeof(double), &ws->s, "svd workspace")))
        goto fail;
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'N', (lapack_int)nv,
                                          (lapack_int)nh, ws->a, (lapack_int)nv, ws->s, NULL, 1,
                                          NULL, 1, &query, -1);
    if (info != 0 || !(query >= 1.0)) {
        st = rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "LAPACK dgesvd workspace query failed (info %d)",
                       (int)info);
        goto fail;
    }
    ws->lwork = (size_t)(lapack_int)query;
    if ((st = rbm__xcalloc(m->ctx, ws->lwork, sizeof(double), &ws->work, "svd workspace")))
        goto fail;
    return RBM_OK;
fail:
    rbm__singular_ws_free(m->ctx, ws);
    return st;
}

rbm_status rbm__machine_top_singular_ws(const rbm_machine *m, const double *W,
                                        rbm__singular_ws *ws, double *out)
{
    const size_t nv = ws->nv, nh = ws->nh;
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double x = W[i * nh + j];
            if (isnan(x)) /* LAPACKE's NaN check of argument 6 */
                return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "LAPACK dgesvd failed (info %d)", -6);
            ws->a[j * nv + i] = x;
        }
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'N', (lapack_int)nv,
                                          (lapack_int)nh, ws->a, (lapack_int)nv, ws->s, NULL, 1,
                                          NULL, 1, ws->work, (lapack_int)ws->lwork);
    if (info != 0)
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "LAPACK dgesvd failed (info %d)", (int)info);
    *out = ws->s[0];
    return RBM_OK;
}

rbm_status rbm__machine_check_normalizable_ws(const rbm_machine *m, const double *W,
                                              double sigma_v, double sigma_h,
                                              rbm__singular_ws *ws)
{
    if (m->vk != RBM_UNIT_GAUSSIAN || m->hk != RBM_UNIT_GAUSSIAN)
        return RBM_OK;
    double w1;
    rbm_status st = rbm__machine_top_singular_ws(m, W, ws, &w1);
    if (st)
        return st;
    double g = sigma_v * sigma_v * sigma_h * sigma_h * w1 * w1;
    if (!(g < 1.0))
        return rbm__fail(m->ctx, RBM_ERR_NOT_NORMALIZABLE,
                         "Gauss-Gauss machine is not normalisable: sigma_v^2 sigma_h^2 w_1^2 = "
                         "%.6g >= 1 (top singular value w_1 = %.6g)",
                         g, w1);
    return RBM_OK;
}

rbm_status rbm__machine_top_singular(const rbm_machine *m, const double *W, double *out)
{
    rbm__singular_ws ws;
    rbm_status st = rbm__singular_ws_init(m, &ws);
    if (!st)
        st = rbm__machine_top_singular_ws(m, W, &ws, out);
    rbm__singular_ws_free(m->ctx, &ws);
    return st;
}

rbm_status rbm__machine_check_normalizable(const rbm_machine *m, const double *W, double sigma_v,
                                           double sigma_h)
{
    if (m->vk != RBM_UNIT_GAUSSIAN || m->hk != RBM_UNIT_GAUSSIAN)
        return RBM_OK;
    rbm__singular_ws ws;
    rbm_status st = rbm__singular_ws_init(m, &ws);
    if (!st)
        st = rbm__machine_check_normalizable_ws(m, W, sigma_v, sigma_h, &ws);
    rbm__singular_ws_free(m->ctx, &ws);
    return st;
}

/* ---- end of the workspace block ---- */

/* RBM_ERR_INVALID_ARGUMENT unless sigma of `layer` lies in the accepted range
 * of precision prec (rbm__sigma_range). */
static rbm_status check_sigma(const rbm_machine *m, rbm_layer layer, double sigma,
                              rbm_precision prec)
{
    if (rbm__sigma_ok(sigma, prec))
        return RBM_OK;
    double lo, hi;
    rbm__sigma_range(prec, &lo, &hi);
    bool f32 = prec == RBM_PRECISION_FLOAT32;
    return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT,
                     "sigma_%s = %g is outside the accepted range [%.17g, %.17g] (2^-%d to 2^%d) "
                     "of a %s machine: sigma^2 and 1/sigma^2 must be finite",
                     layer == RBM_LAYER_HIDDEN ? "h" : "v", sigma, lo, hi, f32 ? 63 : 511,
                     f32 ? 63 : 511, f32 ? "float32" : "float64");
}

rbm_status rbm_machine_set_sigma(rbm_machine *m, rbm_layer layer, double sigma)
{
    CHECK_M(m);
    if (layer != RBM_LAYER_VISIBLE && layer != RBM_LAYER_HIDDEN)
        return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown layer %d", (int)layer);
    rbm_status st0 = check_sigma(m, layer, sigma, m->prec);
    if (st0)
        return st0;
    double sv = layer == RBM_LAYER_VISIBLE ? sigma : m->sigma_v;
    double sh = layer == RBM_LAYER_HIDDEN ? sigma : m->sigma_h;
    rbm_status st = rbm__machine_check_normalizable(m, m->W, sv, sh);
    if (st)
        return st;
    m->sigma_v = sv;
    m->sigma_h = sh;
    return RBM_OK;
}

rbm_status rbm__machine_check_params(rbm_context *ctx, rbm_precision prec, const double *x,
                                     size_t n, const char *what)
{
    rbm_status st = rbm__check_finite(ctx, x, n, what);
    if (st)
        return st;
    if (prec != RBM_PRECISION_FLOAT32)
        return RBM_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite((float)x[i]))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "%s[%zu] = %g is beyond the float32 range (|x| <= %g) of this "
                             "float32 machine",
                             what, i, x[i], (double)FLT_MAX);
    return RBM_OK;
}

rbm_status rbm_machine_set_precision(rbm_machine *m, rbm_precision precision)
{
    CHECK_M(m);
    if (precision != RBM_PRECISION_FLOAT32 && precision != RBM_PRECISION_FLOAT64)
        return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown precision %d", (int)precision);
    rbm_status sst;
    if ((sst = check_sigma(m, RBM_LAYER_VISIBLE, m->sigma_v, precision)) ||
        (sst = check_sigma(m, RBM_LAYER_HIDDEN, m->sigma_h, precision)))
        return sst;
    if (precision == RBM_PRECISION_FLOAT32 &&
        ((sst = rbm__machine_check_params(m->ctx, precision, m->W, m->nvw * m->nh, "weights")) ||
         (sst = rbm__machine_check_params(m->ctx, precision, m->a, m->nvw, "visible bias")) ||
         (sst = rbm__machine_check_params(m->ctx, precision, m->b, m->nh, "hidden bias"))))
        return sst;
    if (precision == RBM_PRECISION_FLOAT32 && !m->Wf) {
        rbm_status st = alloc_mirror(m);
        if (st) {
            rbm__free(m->ctx, m->Wf);
            rbm__free(m->ctx, m->af);
            rbm__free(m->ctx, m->bf);
            m->Wf = NULL;
            m->af = m->bf = NULL;
            return st;
        }
        rbm__machine_publish(m);
    }
    m->prec = precision;
    rbm__machine_sync(m);
    return RBM_OK;
}

rbm_precision rbm_machine_precision(const rbm_machine *m)
{
    return m ? m->prec : RBM_PRECISION_FLOAT64;
}

static rbm_status get_array(const rbm_machine *m, const double *src, size_t n, double *dst,
                            size_t len, const char *what)
{
    CHECK_M(m);
    rbm_status st = rbm__check_array(m->ctx, dst, len, n, what);
    if (st)
        return st;
    memcpy(dst, src, n * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_machine_get_weights(const rbm_machine *m, double *w, size_t len)
{
    CHECK_M(m);
    return get_array(m, m->W, m->nvw * m->nh, w, len, "weight buffer");
}

rbm_status rbm_machine_get_visible_bias(const rbm_machine *m, double *a, size_t len)
{
    CHECK_M(m);
    return get_array(m, m->a, m->nvw, a, len, "visible bias buffer");
}

rbm_status rbm_machine_get_hidden_bias(const rbm_machine *m, double *b, size_t len)
{
    CHECK_M(m);
    return get_array(m, m->b, m->nh, b, len, "hidden bias buffer");
}

rbm_status rbm_machine_set_weights(rbm_machine *m, const double *w, size_t len)
{
    CHECK_M(m);
    rbm_status st;
    if ((st = rbm__check_array(m->ctx, w, len, m->nvw * m->nh, "weights")) ||
        (st = rbm__machine_check_params(m->ctx, m->prec, w, len, "weights")) ||
        (st = rbm__machine_check_normalizable(m, w, m->sigma_v, m->sigma_h)))
        return st;
    memcpy(m->W, w, len * sizeof(double));
    rbm__machine_sync(m);
    return RBM_OK;
}

static rbm_status set_bias(rbm_machine *m, double *dst, size_t n, const double *src, size_t len,
                           const char *what)
{
    rbm_status st;
    if ((st = rbm__check_array(m->ctx, src, len, n, what)) ||
        (st = rbm__machine_check_params(m->ctx, m->prec, src, len, what)))
        return st;
    memcpy(dst, src, n * sizeof(double));
    rbm__machine_sync(m);
    return RBM_OK;
}

rbm_status rbm_machine_set_visible_bias(rbm_machine *m, const double *a, size_t len)
{
    CHECK_M(m);
    return set_bias(m, m->a, m->nvw, a, len, "visible bias");
}

rbm_status rbm_machine_set_hidden_bias(rbm_machine *m, const double *b, size_t len)
{
    CHECK_M(m);
    return set_bias(m, m->b, m->nh, b, len, "hidden bias");
}

rbm_status rbm_machine_init_zero(rbm_machine *m)
{
    CHECK_M(m);
    memset(m->W, 0, m->nvw * m->nh * sizeof(double));
    memset(m->a, 0, m->nvw * sizeof(double));
    memset(m->b, 0, m->nh * sizeof(double));
    rbm__machine_sync(m);
    return RBM_OK;
}

rbm_status rbm_machine_init_normal(rbm_machine *m, double std, uint64_t seed)
{
    CHECK_M(m);
    if (!(isfinite(std) && std >= 0))
        return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "initial weight std must be finite and >= 0 (got %g)", std);
    size_t n = m->nvw * m->nh;
    double *w;
    rbm_status st = rbm__xcalloc(m->ctx, n, sizeof(double), &w, "initial weights");
    if (st)
        return st;
    rbm_rng rng;
    rbm__rng_init(&rng, m->ctx, seed);
    for (size_t i = 0; i < n; i++)
        w[i] = std * rbm__rng_normal(&rng);
    st = rbm__machine_check_normalizable(m, w, m->sigma_v, m->sigma_h);
    if (!st) {
        memcpy(m->W, w, n * sizeof(double));
        memset(m->a, 0, m->nvw * sizeof(double));
        memset(m->b, 0, m->nh * sizeof(double));
        rbm__machine_sync(m);
    }
    rbm__free(m->ctx, w);
    return st;
}

rbm_status rbm_machine_init_visible_bias_from_data(rbm_machine *m, const rbm_dataset *data)
{
    CHECK_M(m);
    if (!data)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "dataset is NULL");
    if (m->vk == RBM_UNIT_POTTS)
        return rbm__potts_bias_from_data(m, data);
    if (rbm_dataset_cols(data) != m->nv)
        return rbm__fail(m->ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         rbm_dataset_cols(data), m->nv);
    double *mean;
    rbm_status st = rbm__xcalloc(m->ctx, m->nv, sizeof(double), &mean, "data means");
    if (st)
        return st;
    st = rbm_dataset_mean(data, mean, m->nv);
    if (st) {
        rbm__free(m->ctx, mean);
        return rbm__fail(m->ctx, st, "cannot compute data means: %s",
                         rbm_context_last_error(rbm_dataset_context(data)));
    }
    for (size_t i = 0; i < m->nv; i++) {
        double p = mean[i], a;
        switch (m->vk) {
        case RBM_UNIT_BERNOULLI:
            p = fmin(fmax(p, 1e-3), 1 - 1e-3);
            a = log(p / (1 - p));
            break;
        case RBM_UNIT_ISING:
            p = fmin(fmax(p, -1 + 2e-3), 1 - 2e-3);
            a = atanh(p);
            break;
        default:
            a = p / (m->sigma_v * m->sigma_v);
            break;
        }
        m->a[i] = a;
    }
    rbm__free(m->ctx, mean);
    rbm__machine_sync(m);
    return RBM_OK;
}

/* ---- batch evaluations in double ---- */

static rbm_status check_batch(const rbm_machine *m, size_t batch, const double *x, size_t len,
                              size_t width, const char *what)
{
    size_t n;
    if (!rbm__mul_ok(batch, width, &n))
        return rbm__fail(m->ctx, RBM_ERR_TOO_LARGE, "%s: batch %zu x %zu overflows", what, batch,
                         width);
    rbm_status st = rbm__check_array(m->ctx, x, len, n, what);
    if (st)
        return st;
    return rbm__check_finite(m->ctx, x, n, what);
}

/* RBM_ERR_NUMERICAL unless the n results are finite: a value that overflows
 * double is refused, never returned as +-Inf or NaN with RBM_OK. */
static rbm_status check_results(const rbm_machine *m, const double *x, size_t n, size_t width,
                                const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return rbm__fail(m->ctx, RBM_ERR_NUMERICAL,
                             "%s of row %zu is %s: the parameters, sigmas or inputs are too large "
                             "for double",
                             what, i / width, isnan(x[i]) ? "NaN" : "infinite");
    return RBM_OK;
}

rbm_status rbm_machine_energy(const rbm_machine *m, size_t batch, const double *v, size_t v_len,
                              const double *h, size_t h_len, double *out, size_t out_len)
{
    CHECK_M(m);
    if (m->vk == RBM_UNIT_POTTS)
        return rbm__potts_energy(m, batch, v, v_len, h, h_len, out, out_len);
    rbm_status st;
    if ((st = check_batch(m, batch, v, v_len, m->nv, "visible batch")) ||
        (st = check_batch(m, batch, h, h_len, m->nh, "hidden batch")) ||
        (st = rbm__check_array(m->ctx, out, out_len, batch, "out")))
        return st;
    /* f: the fields W h of one row, then the batch energies (out is written
     * only when all are finite) */
    double *f;
    if (batch > SIZE_MAX - m->nv)
        return rbm__fail(m->ctx, RBM_ERR_TOO_LARGE, "energy: batch %zu is too large", batch);
    if ((st = rbm__xcalloc(m->ctx, m->nv + batch, sizeof(double), &f, "workspace")))
        return st;
    double *e_all = f + m->nv;
    for (size_t r = 0; r < batch; r++) {
        const double *vr = v + r * m->nv, *hr = h + r * m->nh;
        for (size_t i = 0; i < m->nv; i++) {
            const double *row = m->W + i * m->nh;
            double acc = 0;
            for (size_t j = 0; j < m->nh; j++)
                acc += row[j] * hr[j];
            f[i] = acc;
        }
        double e = 0;
        for (size_t i = 0; i < m->nv; i++)
            e += -vr[i] * (f[i] + m->a[i]) + rbm__unit_phi(m->vk, m->sigma_v, vr[i]);
        for (size_t j = 0; j < m->nh; j++)
            e += -m->b[j] * hr[j] + rbm__unit_phi(m->hk, m->sigma_h, hr[j]);
        e_all[r] = e;
    }
    if (!(st = check_results(m, e_all, batch, 1, "energy")) && batch > 0) /* out NULL if 0 */
        memcpy(out, e_all, batch * sizeof(double));
    rbm__free(m->ctx, f);
    return st;
}

#define FE_BLOCK 256

/* Free energy of batch states x of the `given` layer (0 visible, 1 hidden),
 * the other layer summed out: F = -bias.x + sum phi(x) - sum Lambda(field).
 * Fields by GEMM in blocks of FE_BLOCK rows. */
static rbm_status free_energy_of(const rbm_machine *m, int given, size_t batch, const double *x,
                                 size_t x_len, double *out, size_t out_len)
{
    CHECK_M(m);
    if (m->vk == RBM_UNIT_POTTS)
        return rbm__potts_free_energy(m, given, batch, x, x_len, out, out_len);
    size_t win = given ? m->nh : m->nv, wout = given ? m->nv : m->nh;
    const double *bias = given ? m->b : m->a;
    rbm_unit_kind kin = given ? m->hk : m->vk, kout = given ? m->vk : m->hk;
    double sin = given ? m->sigma_h : m->sigma_v, sout = given ? m->sigma_v : m->sigma_h;
    rbm_status st;
    if ((st = check_batch(m, batch, x, x_len, win, given ? "hidden batch" : "visible batch")) ||
        (st = rbm__check_array(m->ctx, out, out_len, batch, "out")))
        return st;
    /* f: the fields of one block, then the batch free energies (out is
     * written only when all are finite) */
    double *f;
    size_t rows = batch < FE_BLOCK ? batch : FE_BLOCK, nf = (rows ? rows : 1) * wout;
    if (batch > SIZE_MAX - nf)
        return rbm__fail(m->ctx, RBM_ERR_TOO_LARGE, "free energy: batch %zu is too large", batch);
    if ((st = rbm__xcalloc(m->ctx, nf + batch, sizeof(double), &f, "workspace")))
        return st;
    double *fe = f + nf;
    for (size_t r0 = 0; r0 < batch; r0 += FE_BLOCK) {
        size_t n = batch - r0 < FE_BLOCK ? batch - r0 : FE_BLOCK;
        const double *xb = x + r0 * win;
        if (given)
            rbm__kern_f64.visible_field(&m->view, n, xb, f);
        else
            rbm__kern_f64.hidden_field(&m->view, n, xb, f);
        for (size_t r = 0; r < n; r++) {
            const double *xr = xb + r * win;
            double e = 0;
            for (size_t i = 0; i < win; i++)
                e += -bias[i] * xr[i] + rbm__unit_phi(kin, sin, xr[i]);
            fe[r0 + r] = e - rbm__logpart_sum(kout, sout, wout, f + r * wout, 1.0);
        }
    }
    if (!(st = check_results(m, fe, batch, 1, "free energy")) && batch > 0) /* out NULL if 0 */
        memcpy(out, fe, batch * sizeof(double));
    rbm__free(m->ctx, f);
    return st;
}

rbm_status rbm_machine_free_energy(const rbm_machine *m, size_t batch, const double *v,
                                   size_t v_len, double *out, size_t out_len)
{
    return free_energy_of(m, 0, batch, v, v_len, out, out_len);
}

rbm_status rbm_machine_free_energy_hidden(const rbm_machine *m, size_t batch, const double *h,
                                          size_t h_len, double *out, size_t out_len)
{
    return free_energy_of(m, 1, batch, h, h_len, out, out_len);
}

/* Shared body of the four conditional functions. to_hidden selects the
 * direction; rng == NULL gives means. */
static rbm_status conditional(const rbm_machine *m, rbm_rng *rng, int to_hidden, size_t batch,
                              const double *x, size_t x_len, double *out, size_t out_len)
{
    CHECK_M(m);
    if (m->vk == RBM_UNIT_POTTS)
        return rbm__potts_conditional(m, rng, to_hidden, batch, x, x_len, out, out_len);
    size_t win = to_hidden ? m->nv : m->nh, wout = to_hidden ? m->nh : m->nv;
    rbm_unit_kind k = to_hidden ? m->hk : m->vk;
    double sigma = to_hidden ? m->sigma_h : m->sigma_v;
    rbm_status st;
    if ((st = check_batch(m, batch, x, x_len, win, to_hidden ? "visible batch" : "hidden batch")))
        return st;
    if ((st = rbm__check_array(m->ctx, out, out_len, batch * wout, "output buffer")))
        return st;
    /* fields straight into out (by GEMM, in blocks that fit a BLAS int),
     * then the unit law in place, row by row and unit by unit */
    for (size_t r0 = 0; r0 < batch; r0 += FE_BLOCK * 256) {
        size_t n = batch - r0 < FE_BLOCK * 256 ? batch - r0 : FE_BLOCK * 256;
        if (to_hidden)
            rbm__kern_f64.hidden_field(&m->view, n, x + r0 * win, out + r0 * wout);
        else
            rbm__kern_f64.visible_field(&m->view, n, x + r0 * win, out + r0 * wout);
    }
    rbm_rng saved = rng ? *rng : (rbm_rng){0}; /* a refused sample leaves rng as it was */
    double *o = out;
    for (size_t i = 0; i < batch * wout; i++)
        o[i] = rng ? rbm__unit_sample(k, sigma, o[i], rng) : rbm__unit_mean(k, sigma, o[i]);
    st = check_results(m, out, batch * wout, wout, rng ? "sample" : "conditional mean");
    if (st && rng)
        *rng = saved;
    return st;
}

rbm_status rbm_machine_hidden_mean(const rbm_machine *m, size_t batch, const double *v,
                                   size_t v_len, double *out, size_t out_len)
{
    return conditional(m, NULL, 1, batch, v, v_len, out, out_len);
}

rbm_status rbm_machine_visible_mean(const rbm_machine *m, size_t batch, const double *h,
                                    size_t h_len, double *out, size_t out_len)
{
    return conditional(m, NULL, 0, batch, h, h_len, out, out_len);
}

rbm_status rbm_machine_sample_hidden(const rbm_machine *m, rbm_rng *rng, size_t batch,
                                     const double *v, size_t v_len, double *out, size_t out_len)
{
    CHECK_M(m);
    if (!rng)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "rng is NULL");
    return conditional(m, rng, 1, batch, v, v_len, out, out_len);
}

rbm_status rbm_machine_sample_visible(const rbm_machine *m, rbm_rng *rng, size_t batch,
                                      const double *h, size_t h_len, double *out, size_t out_len)
{
    CHECK_M(m);
    if (!rng)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "rng is NULL");
    return conditional(m, rng, 0, batch, h, h_len, out, out_len);
}

/* Bernoulli <-> Ising. A converted layer's old variable x relates to the new
 * one y by x = alpha + beta y: Bernoulli -> Ising x = (1 + s)/2, Ising ->
 * Bernoulli s = 2x - 1. Substituting in -E = v W h + a.v + b.h gives
 * W' = beta_v beta_h W, a'_i = beta_v (a_i + alpha_h sum_j w_ij),
 * b'_j = beta_h (b_j + alpha_v sum_i w_ij) and the constant
 * C = alpha_v alpha_h sum W + alpha_v sum a + alpha_h sum b, so that
 * log Z = log Z' + C. */
rbm_status rbm_machine_convert(const rbm_machine *m, rbm_unit_kind to, rbm_machine **out,
                               double *log_z_shift)
{
    if (out)
        *out = NULL;
    CHECK_M(m);
    if (!out)
        return rbm__fail(m->ctx, RBM_ERR_NULL, "rbm_machine_convert: out is NULL");
    if (m->vk == RBM_UNIT_POTTS)
        return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_machine_convert: a Potts layer has no Bernoulli/Ising form "
                         "(its gauge is changed by rbm_machine_set_gauge)");
    if (to != RBM_UNIT_BERNOULLI && to != RBM_UNIT_ISING)
        return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "conversion target must be bernoulli or ising (got %d)", (int)to);
    rbm_unit_kind from = to == RBM_UNIT_ISING ? RBM_UNIT_BERNOULLI : RBM_UNIT_ISING;
    double al = to == RBM_UNIT_ISING ? 0.5 : -1.0, be = to == RBM_UNIT_ISING ? 0.5 : 2.0;
    bool cv = m->vk == from, ch = m->hk == from;
    double av = cv ? al : 0.0, bv = cv ? be : 1.0, ah = ch ? al : 0.0, bh = ch ? be : 1.0;
    rbm_machine *c;
    rbm_status st = rbm_machine_new(m->ctx, m->nv, m->nh, cv ? to : m->vk, ch ? to : m->hk, &c);
    if (st)
        return st;
    c->sigma_v = m->sigma_v;
    c->sigma_h = m->sigma_h;
    double C = 0;
    for (size_t j = 0; j < m->nh; j++)
        c->b[j] = m->b[j];
    for (size_t i = 0; i < m->nv; i++) {
        const double *row = m->W + i * m->nh;
        double rs = 0;
        for (size_t j = 0; j < m->nh; j++) {
            rs += row[j];
            c->W[i * m->nh + j] = bv * bh * row[j];
            c->b[j] += av * row[j];
        }
        c->a[i] = bv * (m->a[i] + ah * rs);
        C += av * ah * rs + av * m->a[i];
    }
    for (size_t j = 0; j < m->nh; j++) {
        C += ah * m->b[j];
        c->b[j] *= bh;
    }
    if (m->prec == RBM_PRECISION_FLOAT32 && (st = rbm_machine_set_precision(c, m->prec))) {
        rbm_machine_free(c);
        return st;
    }
    if (log_z_shift)
        *log_z_shift = C;
    *out = c;
    return RBM_OK;
}
