/* librbm — Potts machines: the constructor, gauges, and the batch energies
 * and conditionals of a Potts visible layer (docs/potts.md). */
#include "core/internal.h"
#include "model/machine.h"
#include "model/machine_impl.h"

#include <math.h>
#include <string.h>

#define POTTS_BLOCK 4096 /* rows per field block: fits a BLAS int for any machine */

rbm_status rbm_machine_new_potts(rbm_context *ctx, size_t n_sites, size_t n_states,
                                 size_t n_hidden, rbm_unit_kind hidden, rbm_machine **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_new_potts: out is NULL");
    if (n_sites == 0 || n_hidden == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "machine sizes must be >= 1 (got %zu sites, %zu hidden)", n_sites,
                         n_hidden);
    if (n_states < 2 || n_states > 255)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "a Potts site has 2..255 states (got %zu)", n_states);
    if (hidden == RBM_UNIT_POTTS)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "Potts hidden units are not supported: the hidden layer must be "
                         "bernoulli, ising or gaussian");
    if (!rbm__unit_kind_valid(hidden))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "unknown hidden unit kind %d",
                         (int)hidden);
    return rbm__machine_alloc(ctx, n_sites, n_states, n_hidden, RBM_UNIT_POTTS, hidden, out);
}

size_t rbm_machine_n_states(const rbm_machine *m, rbm_layer layer)
{
    if (!m || layer != RBM_LAYER_VISIBLE || m->vk != RBM_UNIT_POTTS)
        return 0;
    return m->nq;
}

size_t rbm_machine_weight_rows(const rbm_machine *m)
{
    return m ? m->nvw : 0;
}

/* Reference value of the q numbers x[0], x[stride], ...: their mean (zero
 * sum) or the first (first state). */
static double gauge_ref(rbm_gauge g, size_t q, const double *x, size_t stride)
{
    if (g == RBM_GAUGE_FIRST_STATE)
        return x[0];
    double s = 0;
    for (size_t c = 0; c < q; c++)
        s += x[c * stride];
    return s / (double)q;
}

/* W'_icj = W_icj - r_ij, a'_ic = a_ic - s_i, b'_j = b_j + sum_i r_ij with r,
 * s the gauge references: E' = E + sum_i s_i for every (v, h), so p(v, h)
 * is unchanged and log Z = log Z' + sum_i s_i. */
rbm_status rbm_machine_set_gauge(rbm_machine *m, rbm_gauge gauge, double *log_z_shift)
{
    if (!m)
        return RBM_ERR_NULL;
    if (m->vk != RBM_UNIT_POTTS)
        return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_machine_set_gauge: the visible layer is %s, not potts",
                         rbm_unit_kind_name(m->vk));
    if (gauge != RBM_GAUGE_ZERO_SUM && gauge != RBM_GAUGE_FIRST_STATE)
        return rbm__fail(m->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown gauge %d", (int)gauge);
    size_t q = m->nq, nh = m->nh, nw = m->nvw * nh;
    double *buf;
    rbm_status st = rbm__xcalloc(m->ctx, nw + m->nvw + nh, sizeof(double), &buf, "gauge");
    if (st)
        return st;
    double *W = buf, *a = W + nw, *b = a + m->nvw, C = 0;
    memcpy(W, m->W, nw * sizeof(double));
    memcpy(a, m->a, m->nvw * sizeof(double));
    memcpy(b, m->b, nh * sizeof(double));
    for (size_t i = 0; i < m->nv; i++) {
        double *Wi = W + i * q * nh, *ai = a + i * q;
        for (size_t j = 0; j < nh; j++) {
            double r = gauge_ref(gauge, q, Wi + j, nh);
            for (size_t c = 0; c < q; c++)
                Wi[c * nh + j] -= r;
            b[j] += r;
        }
        double s = gauge_ref(gauge, q, ai, 1);
        for (size_t c = 0; c < q; c++)
            ai[c] -= s;
        C += s;
    }
    if (!isfinite(C))
        st = rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "gauge change overflows double");
    if (!st && !(st = rbm__machine_check_params(m->ctx, m->prec, buf, nw + m->nvw + nh,
                                                "gauged parameters"))) {
        memcpy(m->W, W, nw * sizeof(double));
        memcpy(m->a, a, m->nvw * sizeof(double));
        memcpy(m->b, b, nh * sizeof(double));
        rbm__machine_sync(m);
        if (log_z_shift)
            *log_z_shift = C;
    }
    rbm__free(m->ctx, buf);
    return st;
}

/* Visible batch of states: shape, finiteness and range. */
static rbm_status check_states(const rbm_machine *m, size_t batch, const double *v, size_t len,
                               const char *what)
{
    size_t n;
    if (!rbm__mul_ok(batch, m->nv, &n))
        return rbm__fail(m->ctx, RBM_ERR_TOO_LARGE, "%s: batch %zu x %zu overflows", what, batch,
                         m->nv);
    rbm_status st;
    if ((st = rbm__check_array(m->ctx, v, len, n, what)) ||
        (st = rbm__check_finite(m->ctx, v, n, what)))
        return st;
    return rbm__potts_check_states(m->ctx, v, n, m->nq, what);
}

static rbm_status check_hidden(const rbm_machine *m, size_t batch, const double *h, size_t len)
{
    size_t n;
    if (!rbm__mul_ok(batch, m->nh, &n))
        return rbm__fail(m->ctx, RBM_ERR_TOO_LARGE, "hidden batch: %zu x %zu overflows", batch,
                         m->nh);
    rbm_status st = rbm__check_array(m->ctx, h, len, n, "hidden batch");
    return st ? st : rbm__check_finite(m->ctx, h, n, "hidden batch");
}

/* NUMERICAL unless all n results are finite. */
static rbm_status check_out(const rbm_machine *m, const double *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return rbm__fail(m->ctx, RBM_ERR_NUMERICAL,
                             "%s element %zu is not finite: the parameters or inputs are too "
                             "large for double",
                             what, i);
    return RBM_OK;
}

static double bias_dot(const rbm_machine *m, const double *v)
{
    double s = 0;
    for (size_t i = 0; i < m->nv; i++)
        s += m->a[i * m->nq + (size_t)v[i]];
    return s;
}

/* E(v, h) = -sum_i a_{i,v_i} - h.(b + sum_i W_{i v_i, .}) + sum_j phi_h(h_j) */
rbm_status rbm__potts_energy(const rbm_machine *m, size_t batch, const double *v, size_t v_len,
                             const double *h, size_t h_len, double *out, size_t out_len)
{
    rbm_status st;
    if ((st = check_states(m, batch, v, v_len, "visible batch")) ||
        (st = check_hidden(m, batch, h, h_len)) ||
        (st = rbm__check_array(m->ctx, out, out_len, batch, "out")))
        return st;
    double *f;
    if ((st = rbm__xcalloc(m->ctx, m->nh + batch, sizeof(double), &f, "workspace")))
        return st;
    double *e = f + m->nh;
    for (size_t r = 0; r < batch; r++) {
        const double *vr = v + r * m->nv, *hr = h + r * m->nh;
        rbm__kern_f64.hidden_field(&m->view, 1, vr, f);
        double acc = -bias_dot(m, vr);
        for (size_t j = 0; j < m->nh; j++)
            acc += -hr[j] * f[j] + rbm__unit_phi(m->hk, m->sigma_h, hr[j]);
        e[r] = acc;
    }
    if (!(st = check_out(m, e, batch, "energy")) && batch > 0)
        memcpy(out, e, batch * sizeof(double));
    rbm__free(m->ctx, f);
    return st;
}

/* given 0: F(v) = -sum_i a_{i,v_i} - sum_j Lambda_h(b_j + sum_i W_{i v_i, j});
 * given 1: F(h) = -b.h + sum_j phi_h(h_j) - sum_i log sum_c exp(a_ic + (W h)_ic). */
rbm_status rbm__potts_free_energy(const rbm_machine *m, int given, size_t batch, const double *x,
                                  size_t x_len, double *out, size_t out_len)
{
    rbm_status st = given ? check_hidden(m, batch, x, x_len)
                          : check_states(m, batch, x, x_len, "visible batch");
    if (st || (st = rbm__check_array(m->ctx, out, out_len, batch, "out")))
        return st;
    size_t win = given ? m->nh : m->nv, wout = given ? m->nvw : m->nh;
    double *f;
    if ((st = rbm__xcalloc(m->ctx, wout + batch, sizeof(double), &f, "workspace")))
        return st;
    double *fe = f + wout;
    for (size_t r = 0; r < batch; r++) {
        const double *xr = x + r * win;
        if (given) {
            rbm__kern_f64.visible_field(&m->view, 1, xr, f);
            double e = 0;
            for (size_t j = 0; j < m->nh; j++)
                e += -m->b[j] * xr[j] + rbm__unit_phi(m->hk, m->sigma_h, xr[j]);
            fe[r] = e - rbm__potts_lse_sum(m->nv, m->nq, f);
        } else {
            rbm__kern_f64.hidden_field(&m->view, 1, xr, f);
            fe[r] = -bias_dot(m, xr) - rbm__logpart_sum(m->hk, m->sigma_h, m->nh, f, 1.0);
        }
    }
    if (!(st = check_out(m, fe, batch, "free energy")) && batch > 0)
        memcpy(out, fe, batch * sizeof(double));
    rbm__free(m->ctx, f);
    return st;
}

/* to_hidden: out (batch x nh) means or samples given visible states; else
 * the means p(v_i = c | h) (batch x nvw) or sampled states (batch x nv). */
rbm_status rbm__potts_conditional(const rbm_machine *m, rbm_rng *rng, int to_hidden,
                                  size_t batch, const double *x, size_t x_len, double *out,
                                  size_t out_len)
{
    rbm_status st = to_hidden ? check_states(m, batch, x, x_len, "visible batch")
                              : check_hidden(m, batch, x, x_len);
    if (st)
        return st;
    size_t wout = to_hidden ? m->nh : (rng ? m->nv : m->nvw);
    if ((st = rbm__check_array(m->ctx, out, out_len, batch * wout, "output buffer")))
        return st;
    rbm_rng saved = rng ? *rng : (rbm_rng){0}; /* a refused sample leaves rng as it was */
    if (to_hidden) {
        rbm__kern_f64.hidden_field(&m->view, batch, x, out);
        for (size_t i = 0; i < batch * m->nh; i++)
            out[i] = rng ? rbm__unit_sample(m->hk, m->sigma_h, out[i], rng)
                         : rbm__unit_mean(m->hk, m->sigma_h, out[i]);
    } else if (!rng) {
        for (size_t r0 = 0; r0 < batch; r0 += POTTS_BLOCK) {
            size_t n = batch - r0 < POTTS_BLOCK ? batch - r0 : POTTS_BLOCK;
            double *o = out + r0 * m->nvw;
            rbm__kern_f64.visible_field(&m->view, n, x + r0 * m->nh, o);
            rbm__kern_f64.visible_mean(&m->view, n, o, o);
        }
    } else {
        double *f;
        if ((st = rbm__xcalloc(m->ctx, m->nvw, sizeof(double), &f, "workspace")))
            return st;
        for (size_t r = 0; r < batch; r++) {
            rbm__kern_f64.visible_field(&m->view, 1, x + r * m->nh, f);
            rbm__kern_f64.visible_sample(&m->view, 1, f, out + r * m->nv, rng);
        }
        rbm__free(m->ctx, f);
    }
    st = check_out(m, out, batch * wout, rng ? "sample" : "conditional mean");
    if (st && rng)
        *rng = saved;
    return st;
}

/* out_ic = log f_ic - mean_c log f_ic, f_ic = (1 - lambda) n_ic / n + lambda / q
 * with lambda = RBM_POTTS_PSEUDO_COUNT and n_ic the (weighted) count of
 * state c at site i: the fields of the independent-site model whose
 * marginals are the regularised site frequencies. */
rbm_status rbm__potts_site_fields(rbm_context *ctx, const rbm_dataset *data, size_t nv, size_t q,
                                  double *out)
{
    size_t rows = rbm_dataset_rows(data);
    if (rbm_dataset_cols(data) != nv)
        return rbm__fail(ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu sites",
                         rbm_dataset_cols(data), nv);
    if (rows == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "dataset has no rows");
    const bool weighted = rbm_dataset_has_weights(data);
    double *cnt;
    rbm_status st = rbm__xcalloc(ctx, nv * q + nv + (weighted ? rows : 0), sizeof(double), &cnt,
                                 "site counts");
    if (st)
        return st;
    double *row = cnt + nv * q, *w = weighted ? row + nv : NULL;
    if (w && (st = rbm_dataset_get_weights(data, w, rows)))
        st = rbm__fail(ctx, st, "cannot read the weights: %s",
                       rbm_context_last_error(rbm_dataset_context(data)));
    for (size_t r = 0; r < rows && !st; r++) {
        if ((st = rbm_dataset_get_rows(data, r, 1, row, nv))) {
            st = rbm__fail(ctx, st, "cannot read the dataset: %s",
                           rbm_context_last_error(rbm_dataset_context(data)));
            break;
        }
        if ((st = rbm__potts_check_states(ctx, row, nv, q, "dataset row")))
            break;
        for (size_t i = 0; i < nv; i++)
            cnt[i * q + (size_t)row[i]] += w ? w[r] : 1.0;
    }
    if (!st) {
        double lam = RBM_POTTS_PSEUDO_COUNT, n = rbm_dataset_weight_sum(data);
        for (size_t i = 0; i < nv; i++) {
            double *ci = cnt + i * q, mean = 0;
            for (size_t c = 0; c < q; c++)
                mean += ci[c] = log((1 - lam) * ci[c] / n + lam / (double)q);
            mean /= (double)q;
            for (size_t c = 0; c < q; c++)
                out[i * q + c] = ci[c] - mean;
        }
    }
    rbm__free(ctx, cnt);
    return st;
}

rbm_status rbm__potts_bias_from_data(rbm_machine *m, const rbm_dataset *data)
{
    rbm_status st = rbm__potts_site_fields(m->ctx, data, m->nv, m->nq, m->a);
    if (!st)
        rbm__machine_sync(m);
    return st;
}
