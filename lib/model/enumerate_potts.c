/* librbm — enumerate_potts: exact log Z and model statistics of a machine
 * with a Potts visible layer (docs/potts.md), by enumerating either the
 * 2^N_h states of a discrete hidden layer (the visible sites summed out:
 * log w(h) = b.h + sum_i log sum_c exp(a_ic + (W h)_ic)) or the q^N visible
 * configurations (the hidden layer summed or integrated out:
 * log w(v) = sum_i a_{i v_i} + sum_j Lambda_h(b_j + sum_i W_{i v_i, j})).
 * Two passes: the largest log weight, then the weights relative to it, so
 * no weight overflows. */
#include "core/internal.h"
#include "model/enumerate.h"
#include "model/machine_impl.h"

#include <math.h>
#include <string.h>

/* q^N, or false when it exceeds limit. */
static bool visible_states(const rbm_machine *m, uint64_t limit, uint64_t *out)
{
    uint64_t n = 1;
    for (size_t i = 0; i < m->nv; i++) {
        if (n > limit / m->nq)
            return false;
        n *= m->nq;
    }
    *out = n;
    return true;
}

bool rbm__potts_enum_pick(const rbm_machine *m, size_t max_bits, rbm_layer *layer)
{
    const uint64_t limit = (uint64_t)1 << max_bits;
    uint64_t nvis;
    bool vd = visible_states(m, limit, &nvis);
    bool hd = m->hk != RBM_UNIT_GAUSSIAN && m->nh <= max_bits;
    if (!vd && !hd)
        return false;
    if (vd && hd)
        *layer = nvis < ((uint64_t)1 << m->nh) ? RBM_LAYER_VISIBLE : RBM_LAYER_HIDDEN;
    else
        *layer = hd ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
    return true;
}

size_t rbm__potts_enum_ws_len(const rbm_machine *m)
{
    return 2 * m->nvw + 2 * m->nh + m->nv;
}

/* The state with index t of the enumerated layer into s (hidden: bit j of t
 * is unit j; visible: the digits of t in base q, site 0 first), and its log
 * weight; the other layer's field into f (nvw values for an enumerated
 * hidden layer, nh for an enumerated visible one). */
static double log_weight(const rbm_machine *m, bool hid, uint64_t t, double *s, double *f)
{
    const size_t nh = m->nh, nvw = m->nvw;
    if (hid) {
        double lo = m->hk == RBM_UNIT_ISING ? -1.0 : 0.0, lw = 0;
        for (size_t j = 0; j < nh; j++) {
            s[j] = (t >> j) & 1 ? 1.0 : lo;
            lw += m->b[j] * s[j];
        }
        for (size_t k = 0; k < nvw; k++) {
            const double *row = m->W + k * nh;
            double x = m->a[k];
            for (size_t j = 0; j < nh; j++)
                x += row[j] * s[j];
            f[k] = x;
        }
        return lw + rbm__potts_lse_sum(m->nv, m->nq, f);
    }
    double lw = 0;
    memcpy(f, m->b, nh * sizeof(double));
    for (size_t i = 0; i < m->nv; i++) {
        size_t c = (size_t)(t % m->nq);
        t /= m->nq;
        s[i] = (double)c;
        lw += m->a[i * m->nq + c];
        const double *row = m->W + (i * m->nq + c) * nh;
        for (size_t j = 0; j < nh; j++)
            f[j] += row[j];
    }
    return lw + rbm__logpart_sum(m->hk, m->sigma_h, nh, f, 1.0);
}

/* Add weight w of the state s (other-layer field f) to the statistics;
 * p is scratch of nvw (hidden) or nh (visible) values. */
static void accumulate(const rbm_machine *m, bool hid, double w, const double *s, const double *f,
                       double *p, double *vh, double *v, double *h)
{
    const size_t nh = m->nh, q = m->nq;
    if (hid) {
        for (size_t i = 0; i < m->nv; i++)
            rbm__potts_softmax(q, f + i * q, p + i * q);
        for (size_t k = 0; k < m->nvw; k++) {
            double wp = w * p[k];
            v[k] += wp;
            for (size_t j = 0; j < nh; j++)
                vh[k * nh + j] += wp * s[j];
        }
        for (size_t j = 0; j < nh; j++)
            h[j] += w * s[j];
        return;
    }
    for (size_t j = 0; j < nh; j++) {
        p[j] = w * rbm__unit_mean(m->hk, m->sigma_h, f[j]);
        h[j] += p[j];
    }
    for (size_t i = 0; i < m->nv; i++) {
        size_t k = i * q + (size_t)s[i];
        v[k] += w;
        for (size_t j = 0; j < nh; j++)
            vh[k * nh + j] += p[j];
    }
}

rbm_status rbm__potts_exact_stats(const rbm_machine *m, rbm_layer layer, double *ws,
                                  double *log_z, double *vh, double *v, double *h)
{
    const bool hid = layer == RBM_LAYER_HIDDEN;
    uint64_t n = (uint64_t)1 << m->nh;
    if (!hid)
        visible_states(m, UINT64_MAX, &n);
    double *f = ws, *p = ws + m->nvw, *s = p + m->nvw + m->nh;
    double M = -INFINITY;
    bool bad = false;
    for (uint64_t t = 0; t < n; t++) {
        double lw = log_weight(m, hid, t, s, f);
        bad |= !isfinite(lw);
        M = lw > M ? lw : M;
    }
    if (bad || !isfinite(M))
        return rbm__fail(m->ctx, RBM_ERR_NUMERICAL,
                         "exact enumeration of the Potts machine: a log weight is %g", M);
    if (vh) {
        memset(vh, 0, m->nvw * m->nh * sizeof(double));
        memset(v, 0, m->nvw * sizeof(double));
        memset(h, 0, m->nh * sizeof(double));
    }
    double z = 0;
    for (uint64_t t = 0; t < n; t++) {
        double w = exp(log_weight(m, hid, t, s, f) - M);
        z += w;
        if (vh)
            accumulate(m, hid, w, s, f, p, vh, v, h);
    }
    if (vh) {
        for (size_t k = 0; k < m->nvw * m->nh; k++)
            vh[k] /= z;
        for (size_t k = 0; k < m->nvw; k++)
            v[k] /= z;
        for (size_t j = 0; j < m->nh; j++)
            h[j] /= z;
    }
    if (log_z)
        *log_z = M + log(z);
    return RBM_OK;
}
