/* librbm — mf_dynamics: one Euler step of the TAP-driven learning dynamics,
 * W += dt (<v h^T>_data - <v h^T>_TAP) (docs/theory.md §6.3). The data term
 * uses E[h|v] over every row; the model term comes from the TAP fixed points
 * reached from data rows: the Boltzmann mixture of the stable states, or for
 * a single state its linear response (or, with linear response off, the
 * explicit derivative of its log Z_TAP). */
#include "analysis/lapack_calls.h"
#include "analysis/mf_impl.h"
#include "data/dataset.h"

#include <cblas.h>
#include <math.h>

/* Rows of the dataset converted per block for the data term. */
#define DATA_BLOCK 256

/* G += <v E[h|v]>_data (G: nv x nh). */
static rbm_status data_term(rbm_machine *m, const rbm_dataset *data, double *G)
{
    const rbm__machine_view *view = rbm__machine_view_of(m);
    rbm_context *ctx = view->ctx;
    const size_t nv = view->nv, nh = view->nh;
    double *V = NULL, *Hm = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, DATA_BLOCK * nv, sizeof(double), &V, "dynamics")) ||
        (st = rbm__xcalloc(ctx, DATA_BLOCK * nh, sizeof(double), &Hm, "dynamics")))
        goto done;
    const size_t rows = rbm__dataset_rows(data);
    const double inv = 1.0 / (double)rows;
    for (size_t r0 = 0; r0 < rows; r0 += DATA_BLOCK) {
        size_t b = rows - r0 < DATA_BLOCK ? rows - r0 : DATA_BLOCK;
        rbm__dataset_fetch(data, NULL, r0, b, false, V);
        if ((st = rbm_machine_hidden_mean(m, b, V, b * nv, Hm, b * nh)))
            goto done;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)nh, (int)b, inv, V,
                    (int)nv, Hm, (int)nh, 1.0, G, (int)nh);
    }
done:
    rbm__free(ctx, V);
    rbm__free(ctx, Hm);
    return st;
}

/* G -= <v h^T> of state k by the explicit derivative of its log Z_TAP. */
static rbm_status model_term_explicit(rbm_mf *s, const rbm_mf_points *p, size_t k, double *G)
{
    const double *qv = p->mv + k * p->nv, *qh = p->mh + k * p->nh;
    rbm__mf_eq_prepare(&s->eq);
    rbm_status st = rbm__mf_eq_stats(&s->eq, qv, qh);
    if (st)
        return st;
    rbm__mf_weight_gradient(&s->eq, qv, qh, -1.0, G);
    return RBM_OK;
}

/* G -= <v h^T> of state k by linear response: m_v m_h^T + the visible-hidden
 * block of the inverse Hessian of Gamma (scaled back); the correlation is
 * left out when the Hessian is not positive definite. */
static rbm_status model_term_response(rbm_mf *s, const rbm_mf_points *p, size_t k, double *G)
{
    rbm_context *ctx = s->ctx;
    const size_t nv = p->nv, nh = p->nh, N = nv + nh;
    const double *qv = p->mv + k * nv, *qh = p->mh + k * nh;
    double *H = NULL, *ws = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, N * N, sizeof(double), &H, "Hessian")) ||
        (st = rbm__xcalloc(ctx, rbm__mf_hessian_ws_len(s->m), sizeof(double), &ws,
                           "Hessian scratch")))
        goto done;
    rbm__mf_eq_prepare(&s->eq);
    if ((st = rbm__mf_hessian(&s->eq, qv, qh, true, H, ws)))
        goto done;
    const double *dv = ws, *dh = ws + nv; /* the scales D */
    lapack_int info = rbm__lapack_spd_inverse(N, H);
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double x = qv[i] * qh[j];
            if (info == 0) /* upper triangle: row i < column nv + j */
                x += sqrt(dv[i] * dh[j]) * H[i * N + nv + j];
            G[i * nh + j] -= x;
        }
done:
    rbm__free(ctx, H);
    rbm__free(ctx, ws);
    return st;
}

/* G -= sum_k p_k m_v^k m_h^k^T over the states used (the stable ones when
 * there are any), p_k = exp(-Gamma_k - log Z_TAP). */
static void model_term_mixture(const rbm_mf_points *p, bool any_stable, double log_z, double *G)
{
    const size_t nv = p->nv, nh = p->nh;
    for (size_t k = 0; k < p->count; k++) {
        if (any_stable && !p->stable[k])
            continue;
        double w = exp(-p->gamma[k] - log_z);
        cblas_dger(CblasRowMajor, (int)nv, (int)nh, -w, p->mv + k * nv, 1, p->mh + k * nh, 1, G,
                   (int)nh);
    }
}

/* G -= <v h^T>_TAP from the fixed points p; *used = states used. */
static rbm_status model_term(rbm_mf *s, const rbm_mf_points *p, double *G, size_t *used)
{
    double lz = 0;
    (void)rbm_mf_points_log_z(p, &lz, NULL, used);
    bool any_stable = false;
    for (size_t k = 0; k < p->count; k++)
        any_stable = any_stable || p->stable[k];
    if (*used != 1) {
        model_term_mixture(p, any_stable, lz, G);
        return RBM_OK;
    }
    size_t k = 0; /* the single state: the stable one, or the only one */
    while (any_stable && !p->stable[k])
        k++;
    return s->lin_resp ? model_term_response(s, p, k, G) : model_term_explicit(s, p, k, G);
}

static rbm_status check_step(const rbm_mf *s, const rbm_machine *m, const rbm_dataset *data,
                             size_t n_starts, double dt)
{
    const rbm__machine_view *view = rbm__machine_view_of(m);
    rbm_context *ctx = s->ctx;
    if (!data)
        return rbm__fail(ctx, RBM_ERR_NULL, "data is NULL");
    if (s->m != m)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "the solver was made for another machine");
    rbm_status st = rbm__mf_refuse_potts(s, "rbm_mf_dynamics_step");
    if (st)
        return st;
    if (!(dt > 0 && isfinite(dt)))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "dt = %g must be finite and > 0", dt);
    if (n_starts == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "n_starts must be >= 1");
    if (rbm__dataset_cols(data) != view->nv)
        return rbm__fail(ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         rbm__dataset_cols(data), view->nv);
    return RBM_OK;
}

rbm_status rbm_mf_dynamics_step(rbm_mf *s, rbm_machine *m, const rbm_dataset *data,
                                size_t n_starts, uint64_t seed, double dt, size_t *n_states)
{
    const rbm__machine_view *view = rbm__machine_view_of(m);
    if (!s || !m)
        return RBM_ERR_NULL;
    rbm_status st = check_step(s, m, data, n_starts, dt);
    if (st)
        return st;
    rbm_context *ctx = s->ctx;
    const size_t nvh = view->nv * view->nh;
    double *G = NULL, *Wn = NULL;
    rbm_mf_points *p = NULL;
    size_t used = 0;
    if ((st = rbm__xcalloc(ctx, nvh, sizeof(double), &G, "dynamics")) ||
        (st = rbm__xcalloc(ctx, nvh, sizeof(double), &Wn, "dynamics")) ||
        (st = data_term(m, data, G)) ||
        (st = rbm_mf_fixed_points_data(s, data, n_starts, seed, &p)))
        goto done;
    if (p->count == 0) {
        st = rbm__fail(ctx, RBM_ERR_NOT_CONVERGED, "no TAP fixed point converged from %zu starts",
                       p->n_starts);
        goto done;
    }
    if ((st = model_term(s, p, G, &used)))
        goto done;
    for (size_t i = 0; i < nvh; i++)
        Wn[i] = view->W[i] + dt * G[i];
    st = rbm_machine_set_weights(m, Wn, nvh);
    if (!st && n_states)
        *n_states = used;
done:
    rbm_mf_points_free(p);
    rbm__free(ctx, G);
    rbm__free(ctx, Wn);
    return st;
}
