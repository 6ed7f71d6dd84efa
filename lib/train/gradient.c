/* librbm — gradient: the three parameter-shaped arrays dW, da, db, their
 * copies in and out, the linear-algebra steps (scale, axpy) a caller needs to
 * build one from its own statistics, and the plain ascent step. */
#include "core/internal.h"
#include "train/gradient_impl.h"
#include "model/machine.h"
#include "train/gradient.h"

#include <math.h>
#include <string.h>

/* What rbm_gradient_apply needs to check the Gauss-Gauss bound without
 * allocating: the candidate weights and the SVD workspace, for the shape of
 * the Gauss-Gauss machine the gradient was made from. */
struct rbm__gradient_scratch {
    double *candW;
    rbm__singular_ws sws;
};

static void scratch_free(rbm_context *ctx, struct rbm__gradient_scratch *gg)
{
    if (!gg)
        return;
    rbm__free(ctx, gg->candW);
    rbm__singular_ws_free(ctx, &gg->sws);
    rbm__free(ctx, gg);
}

static rbm_status scratch_new(const rbm_machine *m, struct rbm__gradient_scratch **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    struct rbm__gradient_scratch *gg;
    rbm_status st = rbm__xcalloc(mv->ctx, 1, sizeof *gg, &gg, "gradient scratch");
    if (st)
        return st;
    if ((st = rbm__xcalloc(mv->ctx, mv->nvw * mv->nh, sizeof(double), &gg->candW,
                           "candidate weights")) ||
        (st = rbm__singular_ws_init(m, &gg->sws))) {
        scratch_free(mv->ctx, gg);
        return st;
    }
    *out = gg;
    return RBM_OK;
}

rbm_status rbm_gradient_new(const rbm_machine *m, rbm_gradient **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (out)
        *out = NULL;
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "rbm_gradient_new: out is NULL");
    rbm_gradient *g;
    rbm_status st = rbm__xcalloc(mv->ctx, 1, sizeof *g, &g, "gradient");
    if (st)
        return st;
    g->ctx = mv->ctx;
    g->nv = mv->nvw;
    g->nh = mv->nh;
    if ((st = rbm__xcalloc(mv->ctx, mv->nvw * mv->nh, sizeof(double), &g->dW, "gradient")) ||
        (st = rbm__xcalloc(mv->ctx, mv->nvw, sizeof(double), &g->da, "gradient")) ||
        (st = rbm__xcalloc(mv->ctx, mv->nh, sizeof(double), &g->db, "gradient")) ||
        (mv->vk == RBM_UNIT_GAUSSIAN && mv->hk == RBM_UNIT_GAUSSIAN &&
         (st = scratch_new(m, &g->gg)))) {
        rbm_gradient_free(g);
        return st;
    }
    *out = g;
    return RBM_OK;
}

void rbm_gradient_free(rbm_gradient *g)
{
    if (!g)
        return;
    rbm__free(g->ctx, g->dW);
    rbm__free(g->ctx, g->da);
    rbm__free(g->ctx, g->db);
    scratch_free(g->ctx, g->gg);
    rbm__free(g->ctx, g);
}

rbm_status rbm_gradient_zero(rbm_gradient *g)
{
    if (!g)
        return RBM_ERR_NULL;
    memset(g->dW, 0, g->nv * g->nh * sizeof(double));
    memset(g->da, 0, g->nv * sizeof(double));
    memset(g->db, 0, g->nh * sizeof(double));
    return RBM_OK;
}

void rbm__gradient_arrays(rbm_gradient *g, double **dW, double **da, double **db)
{
    if (dW)
        *dW = g->dW;
    if (da)
        *da = g->da;
    if (db)
        *db = g->db;
}

void rbm__gradient_shape(const rbm_gradient *g, size_t *nv, size_t *nh)
{
    *nv = g->nv;
    *nh = g->nh;
}

void rbm__gradient_const_arrays(const rbm_gradient *g, const double **dW, const double **da,
                                const double **db)
{
    if (dW)
        *dW = g->dW;
    if (da)
        *da = g->da;
    if (db)
        *db = g->db;
}

/* ---------------- copies out and in ---------------- */

static rbm_status gradient_get(const rbm_gradient *g, const double *src, size_t n, double *dst,
                               size_t len, const char *what)
{
    rbm_status st = rbm__check_array(g->ctx, dst, len, n, what);
    if (st)
        return st;
    memcpy(dst, src, n * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_gradient_get_weights(const rbm_gradient *g, double *w, size_t len)
{
    return g ? gradient_get(g, g->dW, g->nv * g->nh, w, len, "weight gradient buffer")
             : RBM_ERR_NULL;
}

rbm_status rbm_gradient_get_visible_bias(const rbm_gradient *g, double *a, size_t len)
{
    return g ? gradient_get(g, g->da, g->nv, a, len, "visible bias gradient buffer")
             : RBM_ERR_NULL;
}

rbm_status rbm_gradient_get_hidden_bias(const rbm_gradient *g, double *b, size_t len)
{
    return g ? gradient_get(g, g->db, g->nh, b, len, "hidden bias gradient buffer")
             : RBM_ERR_NULL;
}

static rbm_status gradient_set(rbm_gradient *g, double *dst, size_t n, const double *src,
                               size_t len, const char *what)
{
    rbm_status st;
    if ((st = rbm__check_array(g->ctx, src, len, n, what)) ||
        (st = rbm__check_finite(g->ctx, src, len, what)))
        return st;
    memcpy(dst, src, n * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_gradient_set_weights(rbm_gradient *g, const double *w, size_t len)
{
    return g ? gradient_set(g, g->dW, g->nv * g->nh, w, len, "weight gradient")
             : RBM_ERR_NULL;
}

rbm_status rbm_gradient_set_visible_bias(rbm_gradient *g, const double *a, size_t len)
{
    return g ? gradient_set(g, g->da, g->nv, a, len, "visible bias gradient") : RBM_ERR_NULL;
}

rbm_status rbm_gradient_set_hidden_bias(rbm_gradient *g, const double *b, size_t len)
{
    return g ? gradient_set(g, g->db, g->nh, b, len, "hidden bias gradient") : RBM_ERR_NULL;
}

/* ---------------- linear algebra ---------------- */

rbm_status rbm_gradient_scale(rbm_gradient *g, double alpha)
{
    if (!g)
        return RBM_ERR_NULL;
    if (!isfinite(alpha))
        return rbm__fail(g->ctx, RBM_ERR_NOT_FINITE, "rbm_gradient_scale: alpha is %s",
                         isnan(alpha) ? "NaN" : "infinite");
    double *parts[3] = {g->dW, g->da, g->db};
    const size_t lens[3] = {g->nv * g->nh, g->nv, g->nh};
    for (size_t p = 0; p < 3; p++)
        for (size_t i = 0; i < lens[p]; i++)
            parts[p][i] *= alpha;
    return RBM_OK;
}

rbm_status rbm_gradient_axpy(rbm_gradient *y, double alpha, const rbm_gradient *x)
{
    if (!y)
        return RBM_ERR_NULL;
    if (!x)
        return rbm__fail(y->ctx, RBM_ERR_NULL, "rbm_gradient_axpy: x is NULL");
    if (x->nv != y->nv || x->nh != y->nh)
        return rbm__fail(y->ctx, RBM_ERR_SHAPE,
                         "rbm_gradient_axpy: x is for a %zu x %zu machine, y for %zu x %zu",
                         x->nv, x->nh, y->nv, y->nh);
    if (!isfinite(alpha))
        return rbm__fail(y->ctx, RBM_ERR_NOT_FINITE, "rbm_gradient_axpy: alpha is %s",
                         isnan(alpha) ? "NaN" : "infinite");
    double *ys[3] = {y->dW, y->da, y->db};
    const double *xs[3] = {x->dW, x->da, x->db};
    const size_t lens[3] = {y->nv * y->nh, y->nv, y->nh};
    for (size_t p = 0; p < 3; p++)
        for (size_t i = 0; i < lens[p]; i++)
            ys[p][i] += alpha * xs[p][i];
    return RBM_OK;
}

/* ---------------- the plain ascent step ---------------- */

/* Gauss-Gauss: W += step dW only if the result passes the normalisability
 * bound, through the gradient's scratch when it was made for such a machine
 * (no allocation), else through a temporary one. */
static rbm_status apply_weights_checked(const rbm_gradient *g, rbm_machine *m, double step)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    struct rbm__gradient_scratch *gg = g->gg, *tmp = NULL;
    rbm_status st;
    if (!gg && (st = scratch_new(m, &tmp)))
        return st;
    if (!gg)
        gg = tmp;
    const size_t n = mv->nvw * mv->nh;
    for (size_t i = 0; i < n; i++)
        gg->candW[i] = mv->W[i] + step * g->dW[i];
    st = rbm__machine_check_normalizable_ws(m, gg->candW, mv->sigma_v, mv->sigma_h, &gg->sws);
    if (!st) {
        double *W;
        rbm__machine_params_mut(m, &W, NULL, NULL);
        memcpy(W, gg->candW, n * sizeof(double));
    }
    scratch_free(mv->ctx, tmp);
    return st;
}

rbm_status rbm_gradient_apply(const rbm_gradient *g, rbm_machine *m, double step)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!g && !m)
        return RBM_ERR_NULL;
    if (!g || !m)
        return rbm__fail(g ? g->ctx : mv->ctx, RBM_ERR_NULL, "rbm_gradient_apply: %s is NULL",
                         g ? "machine" : "gradient");
    if (g->nv != mv->nvw || g->nh != mv->nh)
        return rbm__fail(mv->ctx, RBM_ERR_SHAPE,
                         "gradient is for a %zu x %zu machine, machine is %zu x %zu", g->nv, g->nh,
                         mv->nvw, mv->nh);
    if (!isfinite(step))
        return rbm__fail(mv->ctx, RBM_ERR_NOT_FINITE, "step size is not finite");
    size_t n = mv->nvw * mv->nh;
    double *W, *a, *b;
    rbm__machine_params_mut(m, &W, &a, &b);
    /* Check before writing: every new parameter finite and within the limit. */
    const double lim = rbm__param_limit(mv->prec);
    const double *P[3] = {W, a, b}, *D[3] = {g->dW, g->da, g->db};
    const size_t len[3] = {n, mv->nvw, mv->nh};
    for (size_t part = 0; part < 3; part++)
        for (size_t i = 0; i < len[part]; i++)
            if (!(fabs(P[part][i] + step * D[part][i]) <= lim))
                return rbm__fail(mv->ctx, RBM_ERR_NUMERICAL,
                                 "rbm_gradient_apply: the new %s[%zu] would be %g, beyond the %s "
                                 "parameter limit %g; the machine is unchanged",
                                 part == 0 ? "W" : part == 1 ? "a" : "b", i,
                                 P[part][i] + step * D[part][i],
                                 mv->prec == RBM_PRECISION_FLOAT32 ? "float32" : "float64", lim);
    if (mv->vk == RBM_UNIT_GAUSSIAN && mv->hk == RBM_UNIT_GAUSSIAN) {
        rbm_status st = apply_weights_checked(g, m, step);
        if (st)
            return st;
    } else {
        for (size_t i = 0; i < n; i++)
            W[i] += step * g->dW[i];
    }
    for (size_t i = 0; i < mv->nvw; i++)
        a[i] += step * g->da[i];
    for (size_t j = 0; j < mv->nh; j++)
        b[j] += step * g->db[j];
    rbm__machine_sync(m);
    return RBM_OK;
}

double rbm__gradient_max_abs(const rbm_gradient *g)
{
    return fmax(rbm__max_abs(g->nv * g->nh, g->dW),
                fmax(rbm__max_abs(g->nv, g->da), rbm__max_abs(g->nh, g->db)));
}

void rbm__gradient_copy(rbm_gradient *dst, const rbm_gradient *src)
{
    memcpy(dst->dW, src->dW, src->nv * src->nh * sizeof(double));
    memcpy(dst->da, src->da, src->nv * sizeof(double));
    memcpy(dst->db, src->db, src->nh * sizeof(double));
}
