/* librbm — metrics_potts: exact log Z and the pseudo-likelihood of a machine
 * with a Potts visible layer (docs/potts.md).
 *
 * Pseudo-likelihood: with H = b + sum_k W_{k v_k} the hidden field of a row,
 * setting site i to state c moves it to H - W_{i v_i} + W_{i c}, so
 *   -F(v^(i<-c)) = a_ic + sum_j Lambda_h(H_j - W_{i v_i, j} + W_{i c, j})
 * (up to terms that do not depend on c) and
 *   log p(v_i | v_-i) = -F(v) - log sum_c exp(-F(v^(i<-c))),
 * N q N_h log-partitions per row. */
#include "analysis/metrics.h"
#include "data/dataset.h"
#include "model/enumerate.h"

#include <math.h>
#include <string.h>

rbm_status rbm__potts_exact_log_z(const rbm_machine *m, double *log_z)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_layer layer;
    if (!rbm__potts_enum_pick(m, RBM_EXACT_LOG_Z_MAX_UNITS, &layer))
        return rbm__fail(mv->ctx, RBM_ERR_UNSUPPORTED,
                         "exact log Z of a Potts machine needs q^N <= 2^%d visible configurations "
                         "or a discrete hidden layer of at most %d units (machine has %zu sites "
                         "of %zu states and %zu %s hidden units); use AIS",
                         RBM_EXACT_LOG_Z_MAX_UNITS, RBM_EXACT_LOG_Z_MAX_UNITS, mv->nv, mv->nq,
                         mv->nh, rbm_unit_kind_name(mv->hk));
    double *ws;
    rbm_status st = rbm__xcalloc(mv->ctx, rbm__potts_enum_ws_len(m), sizeof(double), &ws,
                                 "enumeration workspace");
    if (st)
        return st;
    st = rbm__potts_exact_stats(m, layer, ws, log_z, NULL, NULL, NULL);
    rbm__free(mv->ctx, ws);
    return st;
}

typedef struct {
    const rbm_machine *m;
    const rbm_dataset *d;
    double *work;      /* per part: nv + 2 nh + nq doubles */
    long double *acc;  /* per part: sum over its rows of w_r sum_i log p(v_i | v_-i) */
} potts_pl_job;

static void potts_pl_part(void *arg, size_t part, size_t parts)
{
    potts_pl_job *J = arg;
    const rbm__machine_view *mv = rbm__machine_view_of(J->m);
    const size_t nv = mv->nv, nh = mv->nh, q = mv->nq, rows = rbm__dataset_rows(J->d);
    size_t r0 = rows / parts * part, r1 = part + 1 == parts ? rows : rows / parts * (part + 1);
    double *v = J->work + part * (nv + 2 * nh + q), *H = v + nv, *Hc = H + nh, *lp = Hc + nh;
    long double acc = 0;
    for (size_t r = r0; r < r1; r++) {
        rbm__dataset_fetch(J->d, NULL, r, 1, false, v);
        memcpy(H, mv->b, nh * sizeof(double));
        for (size_t i = 0; i < nv; i++) {
            const double *row = mv->W + (i * q + (size_t)v[i]) * nh;
            for (size_t j = 0; j < nh; j++)
                H[j] += row[j];
        }
        double row_pl = 0;
        for (size_t i = 0; i < nv; i++) {
            const size_t vi = (size_t)v[i];
            const double *wv = mv->W + (i * q + vi) * nh;
            for (size_t c = 0; c < q; c++) {
                const double *wc = mv->W + (i * q + c) * nh;
                for (size_t j = 0; j < nh; j++)
                    Hc[j] = H[j] - wv[j] + wc[j];
                lp[c] = mv->a[i * q + c] + rbm__logpart_sum(mv->hk, mv->sigma_h, nh, Hc, 1.0);
            }
            row_pl += lp[vi] - rbm__potts_lse(q, lp);
        }
        acc += (long double)rbm__dataset_weight(J->d, r) * row_pl;
    }
    J->acc[part] = acc;
}

rbm_status rbm__potts_pseudo_log_likelihood(const rbm_machine *m, const rbm_dataset *data,
                                            double *mean_pll)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const size_t rows = rbm__dataset_rows(data);
    rbm_status st = rbm__dataset_check_states(data, mv->nq, mv->ctx, "pseudo-likelihood");
    if (st)
        return st;
    size_t parts = rbm__threads(mv->ctx);
    parts = parts > rows ? rows : parts > 64 ? 64 : parts;
    potts_pl_job J = {.m = m, .d = data};
    if ((st = rbm__xcalloc(mv->ctx, parts * (mv->nv + 2 * mv->nh + mv->nq), sizeof(double),
                           &J.work, "workspace")))
        return st;
    if ((st = rbm__xcalloc(mv->ctx, parts, sizeof(long double), &J.acc, "workspace"))) {
        rbm__free(mv->ctx, J.work);
        return st;
    }
    rbm__parallel(mv->ctx, parts, potts_pl_part, &J);
    long double acc = 0;
    for (size_t p = 0; p < parts; p++)
        acc += J.acc[p];
    rbm__free(mv->ctx, J.work);
    rbm__free(mv->ctx, J.acc);
    double pll = (double)(acc / (long double)rbm__dataset_weight_sum(data));
    if (!isfinite(pll))
        return rbm__fail(mv->ctx, RBM_ERR_NOT_FINITE, "pseudo-likelihood is not finite");
    *mean_pll = pll;
    return RBM_OK;
}
