/* librbm — mf_solver: the mean-field solver object (naive, TAP2, TAP3), its
 * settings, the iteration to a fixed point and Gamma, its derivatives and
 * the unit variances at a given state (docs/theory.md §4). */
#include "analysis/mf_impl.h"
#include "core/params.h"

#include <math.h>
#include <string.h>

/* How far from 1 the state probabilities of a Potts site may sum. */
#define POTTS_SUM_TOLERANCE 1e-9

const char *rbm_mf_method_name(rbm_mf_method method)
{
    switch (method) {
    case RBM_MF_NAIVE: return "naive";
    case RBM_MF_TAP2: return "tap2";
    case RBM_MF_TAP3: return "tap3";
    }
    return NULL;
}

rbm_status rbm_mf_method_parse(const char *name, rbm_mf_method *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    static const struct {
        const char *n;
        rbm_mf_method m;
    } names[] = {{"naive", RBM_MF_NAIVE}, {"mf", RBM_MF_NAIVE}, {"tap2", RBM_MF_TAP2},
                 {"tap", RBM_MF_TAP2},    {"tap3", RBM_MF_TAP3}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].n) == 0) {
            *out = names[i].m;
            return RBM_OK;
        }
    return RBM_ERR_INVALID_ARGUMENT;
}

rbm_status rbm_mf_new(const rbm_machine *m, rbm_mf_method method, rbm_mf **out)
{
    const rbm__machine_view *view = rbm__machine_view_of(m);
    if (out)
        *out = NULL;
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = view->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_mf_new: out is NULL");
    if (method != RBM_MF_NAIVE && method != RBM_MF_TAP2 && method != RBM_MF_TAP3)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "unknown mean-field method %d",
                         (int)method);
    if (method != RBM_MF_NAIVE && !rbm__mf_discrete(view->vk) && !rbm__mf_discrete(view->hk))
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "TAP needs a discrete layer (Gauss-Gauss: use naive MF, exact there)");
    if (view->nvw > (size_t)INT32_MAX || view->nh > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "layer too large for BLAS");
    rbm_mf *s;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *s, &s, "mean-field solver");
    if (st)
        return st;
    s->ctx = ctx;
    s->m = m;
    s->method = method;
    s->damping = 0.5;
    s->tol = 1e-10;
    s->max_iter = 5000;
    s->dedup = 1e-4;
    s->stab_tol = 1e-9;
    s->lin_resp = 1;
    if ((st = rbm__mf_eq_init(ctx, m, rbm__mf_order_of_method(method), 1, false, &s->eq))) {
        rbm__free(ctx, s);
        return st;
    }
    *out = s;
    return RBM_OK;
}

void rbm_mf_free(rbm_mf *s)
{
    if (!s)
        return;
    rbm__mf_eq_free(s->ctx, &s->eq);
    rbm__free(s->ctx, s);
}

rbm_mf_method rbm_mf_method_of(const rbm_mf *s)
{
    return s ? s->method : RBM_MF_NAIVE;
}

static const rbm__param_spec mf_specs[] = {
    {RBM_MF_DAMPING, "RBM_MF_DAMPING", RBM__PARAM_REAL, 0, 1, true, false},
    {RBM_MF_TOLERANCE, "RBM_MF_TOLERANCE", RBM__PARAM_REAL, 0, INFINITY, true, true},
    {RBM_MF_DEDUP_DISTANCE, "RBM_MF_DEDUP_DISTANCE", RBM__PARAM_REAL, 0, INFINITY, true, true},
    {RBM_MF_STABILITY_TOLERANCE, "RBM_MF_STABILITY_TOLERANCE", RBM__PARAM_REAL, -INFINITY,
     INFINITY, true, true},
    {RBM_MF_MAX_ITERATIONS, "RBM_MF_MAX_ITERATIONS", RBM__PARAM_INT, 1, 1e9, false, false},
    {RBM_MF_LINEAR_RESPONSE, "RBM_MF_LINEAR_RESPONSE", RBM__PARAM_BOOL, 0, 1, false, false},
};

static const rbm__param_table mf_params = {"mean-field solver", "rbm_mf", 300, mf_specs,
                                           sizeof mf_specs / sizeof mf_specs[0]};

/* The real-valued slot of a real key, or NULL. */
static double *real_slot(rbm_mf *s, rbm_mf_param key)
{
    switch (key) {
    case RBM_MF_DAMPING: return &s->damping;
    case RBM_MF_TOLERANCE: return &s->tol;
    case RBM_MF_DEDUP_DISTANCE: return &s->dedup;
    case RBM_MF_STABILITY_TOLERANCE: return &s->stab_tol;
    case RBM_MF_MAX_ITERATIONS:
    case RBM_MF_LINEAR_RESPONSE: break;
    }
    return NULL;
}

rbm_status rbm_mf_set_real(rbm_mf *s, rbm_mf_param key, double v)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(s->ctx, &mf_params, "rbm_mf_set_real", (int32_t)key,
                                     RBM__PARAM_REAL, v, &spec);
    if (st)
        return st;
    *real_slot(s, key) = v;
    return RBM_OK;
}

rbm_status rbm_mf_get_real(const rbm_mf *s, rbm_mf_param key, double *out)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = rbm__param_get_check(s->ctx, &mf_params, "rbm_mf_get_real",
                                         (int32_t)key, RBM__PARAM_REAL, out);
    if (st)
        return st;
    *out = *real_slot((rbm_mf *)s, key);
    return RBM_OK;
}

rbm_status rbm_mf_set_int(rbm_mf *s, rbm_mf_param key, int64_t v)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(s->ctx, &mf_params, "rbm_mf_set_int", (int32_t)key,
                                     RBM__PARAM_INT, (double)v, &spec);
    if (st)
        return st;
    if (key == RBM_MF_MAX_ITERATIONS)
        s->max_iter = (size_t)v;
    else
        s->lin_resp = (int)v;
    return RBM_OK;
}

rbm_status rbm_mf_get_int(const rbm_mf *s, rbm_mf_param key, int64_t *out)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = rbm__param_get_check(s->ctx, &mf_params, "rbm_mf_get_int",
                                         (int32_t)key, RBM__PARAM_INT, out);
    if (st)
        return st;
    *out = key == RBM_MF_MAX_ITERATIONS ? (int64_t)s->max_iter : (int64_t)s->lin_resp;
    return RBM_OK;
}

rbm_status rbm_mf_param_bounds(rbm_mf_param key, rbm_param_bounds *out)
{
    return rbm__param_bounds(&mf_params, (int32_t)key, out);
}

rbm_status rbm__mf_check_mags(rbm_context *ctx, rbm_unit_kind k, const double *x, size_t n,
                              bool interior, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        bool ok = isfinite(v);
        if (ok && k == RBM_UNIT_ISING)
            ok = interior ? (v > -1 && v < 1) : (v >= -1 && v <= 1);
        else if (ok && (k == RBM_UNIT_BERNOULLI || k == RBM_UNIT_POTTS))
            ok = interior ? (v > 0 && v < 1) : (v >= 0 && v <= 1);
        if (!ok)
            return rbm__fail(ctx, isfinite(v) ? RBM_ERR_OUT_OF_RANGE : RBM_ERR_NOT_FINITE,
                             "%s[%zu] = %g is outside the %s range of %s units", what, i, v,
                             interior ? "open" : "closed", rbm_unit_kind_name(k));
    }
    return RBM_OK;
}

rbm_status rbm__mf_check_visible(const rbm_mf *s, const double *x, size_t rows, bool interior,
                                 const char *what)
{
    const rbm__machine_view *view = rbm__machine_view_of(s->m);
    rbm_status st = rbm__mf_check_mags(s->ctx, view->vk, x, rows * view->nvw, interior, what);
    if (st || view->vk != RBM_UNIT_POTTS)
        return st;
    const size_t q = view->nq;
    for (size_t site = 0; site < rows * view->nv; site++) {
        double sum = 0.0;
        for (size_t c = 0; c < q; c++)
            sum += x[site * q + c];
        if (!(fabs(sum - 1.0) <= POTTS_SUM_TOLERANCE))
            return rbm__fail(s->ctx, RBM_ERR_OUT_OF_RANGE,
                             "%s: the %zu states of Potts site %zu (row %zu) sum to %.17g, not 1",
                             what, q, site % view->nv, site / view->nv, sum);
    }
    return RBM_OK;
}

rbm_status rbm__mf_refuse_potts(const rbm_mf *s, const char *fn)
{
    const rbm__machine_view *view = rbm__machine_view_of(s->m);
    if (view->vk != RBM_UNIT_POTTS)
        return RBM_OK;
    return rbm__fail(s->ctx, RBM_ERR_UNSUPPORTED,
                     "%s: not available for a Potts visible layer (the solver, Gamma, its "
                     "derivatives and the fixed-point search are)",
                     fn);
}

static rbm_status check_pair(const rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                             size_t mh_len, bool interior)
{
    const rbm_machine *m = s->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    rbm_status st;
    if ((st = rbm__check_array(s->ctx, mv, mv_len, view->nvw, "visible magnetisations")) ||
        (st = rbm__check_array(s->ctx, mh, mh_len, view->nh, "hidden magnetisations")) ||
        (st = rbm__mf_check_visible(s, mv, 1, interior, "visible magnetisations")) ||
        (st = rbm__mf_check_mags(s->ctx, view->hk, mh, view->nh, interior,
                                 "hidden magnetisations")))
        return st;
    return RBM_OK;
}

rbm_status rbm__mf_iterate(rbm_mf *s, double *mv, double *mh, size_t *iters, double *resid)
{
    rbm_status st = rbm__mf_eq_stats(&s->eq, mv, mh);
    size_t it = 0;
    double r = INFINITY;
    while (!st && it < s->max_iter) {
        it++;
        double r12;
        if ((st = rbm__mf_eq_sweep(&s->eq, mv, mh, s->damping, &r12)))
            break;
        if (!isfinite(r12)) {
            st = rbm__fail(s->ctx, RBM_ERR_NUMERICAL,
                           "mean-field iteration produced a non-finite magnetisation");
            break;
        }
        r = r12;
        if (r < s->tol)
            break;
    }
    if (iters)
        *iters = it;
    if (resid)
        *resid = r;
    if (st)
        return st;
    return r < s->tol ? RBM_OK : RBM_ERR_NOT_CONVERGED;
}

rbm_status rbm_mf_solve(rbm_mf *s, double *mv, size_t mv_len, double *mh, size_t mh_len,
                        size_t *iterations, double *residual)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm_machine *m = s->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    rbm_status st;
    if ((st = rbm__check_array(s->ctx, mv, mv_len, view->nvw, "visible magnetisations")) ||
        (st = rbm__mf_check_visible(s, mv, 1, false, "visible magnetisations")))
        return st;
    if (iterations)
        *iterations = 0;
    if (residual)
        *residual = INFINITY;
    double *own = NULL;
    if (mh || mh_len) {
        if ((st = rbm__check_array(s->ctx, mh, mh_len, view->nh, "hidden magnetisations")) ||
            (st = rbm__mf_check_mags(s->ctx, view->hk, mh, view->nh, false,
                                     "hidden magnetisations")))
            return st;
    } else {
        if ((st = rbm__xcalloc(s->ctx, view->nh, sizeof(double), &own, "hidden magnetisations")))
            return st;
        mh = own;
    }
    rbm__mf_eq_prepare(&s->eq);
    if (own)
        rbm__mf_eq_hidden_start(&s->eq, mv, mh);
    size_t it = 0;
    double res = INFINITY;
    st = rbm__mf_iterate(s, mv, mh, &it, &res);
    if (iterations)
        *iterations = it;
    if (residual)
        *residual = res;
    if (st == RBM_ERR_NOT_CONVERGED)
        rbm__fail(s->ctx, st,
                  "mean field did not converge in %zu iterations (residual %g, tolerance %g)",
                  it, res, s->tol);
    rbm__free(s->ctx, own);
    return st;
}

rbm_status rbm_mf_free_energy(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                              size_t mh_len, double *gamma)
{
    if (!s)
        return RBM_ERR_NULL;
    if (!gamma)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "gamma is NULL");
    rbm_status st = check_pair(s, mv, mv_len, mh, mh_len, false);
    if (st)
        return st;
    rbm__mf_eq_prepare(&s->eq);
    return rbm__mf_gamma(&s->eq, mv, mh, gamma);
}

rbm_status rbm_mf_gradient(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                           size_t mh_len, double *gv, size_t gv_len, double *gh, size_t gh_len)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *view = rbm__machine_view_of(s->m);
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, true)) ||
        (st = rbm__check_array(s->ctx, gv, gv_len, view->nvw, "visible gradient")) ||
        (st = rbm__check_array(s->ctx, gh, gh_len, view->nh, "hidden gradient")))
        return st;
    rbm__mf_eq_prepare(&s->eq);
    return rbm__mf_gamma_gradient(&s->eq, mv, mh, gv, gh);
}

rbm_status rbm_mf_hessian(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                          size_t mh_len, double *hess, size_t hess_len)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *view = rbm__machine_view_of(s->m);
    size_t N = view->nvw + view->nh, NN;
    if (!rbm__mul_ok(N, N, &NN))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "Hessian size overflows");
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, true)) ||
        (st = rbm__check_array(s->ctx, hess, hess_len, NN, "Hessian")))
        return st;
    double *ws;
    if ((st = rbm__xcalloc(s->ctx, rbm__mf_hessian_ws_len(s->m), sizeof(double), &ws,
                           "Hessian scratch")))
        return st;
    rbm__mf_eq_prepare(&s->eq);
    st = rbm__mf_hessian(&s->eq, mv, mh, false, hess, ws);
    rbm__free(s->ctx, ws);
    return st;
}

rbm_status rbm_mf_variances(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                            size_t mh_len, double *cv, size_t cv_len, double *ch, size_t ch_len)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *view = rbm__machine_view_of(s->m);
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, false)) ||
        (cv && (st = rbm__check_array(s->ctx, cv, cv_len, view->nvw, "visible variances"))) ||
        (ch && (st = rbm__check_array(s->ctx, ch, ch_len, view->nh, "hidden variances"))))
        return st;
    rbm__mf_eq *q = &s->eq;
    rbm__mf_eq_prepare(q);
    if ((st = rbm__mf_eq_stats(q, mv, mh)))
        return st;
    if (cv && view->vk == RBM_UNIT_POTTS) /* the variance of the indicator [v_i = c] */
        for (size_t i = 0; i < view->nvw; i++)
            cv[i] = mv[i] * (1.0 - mv[i]);
    else if (cv)
        memcpy(cv, q->side[RBM_LAYER_VISIBLE].c, view->nv * sizeof(double));
    if (ch)
        memcpy(ch, q->side[RBM_LAYER_HIDDEN].c, view->nh * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_mf_weight_gradient(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                                  size_t mh_len, double *dw, size_t dw_len)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *view = rbm__machine_view_of(s->m);
    rbm_status st;
    if ((st = check_pair(s, mv, mv_len, mh, mh_len, false)) ||
        (st = rbm__check_array(s->ctx, dw, dw_len, view->nvw * view->nh, "weight gradient")))
        return st;
    rbm__mf_eq_prepare(&s->eq);
    if ((st = rbm__mf_eq_stats(&s->eq, mv, mh)))
        return st;
    memset(dw, 0, dw_len * sizeof(double));
    rbm__mf_weight_gradient(&s->eq, mv, mh, 1.0, dw);
    return RBM_OK;
}
