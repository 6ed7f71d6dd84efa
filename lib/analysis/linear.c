/* librbm — linear: the Gauss-Gauss (linear) RBM (docs/theory.md §1.5, §3):
 * model covariance, the exact gradient flow and its adaptive integration,
 * closed-form fixed points, and the implicit trajectory of one aligned
 * mode. The closed forms themselves are model/gauss_gauss.c; the
 * integrator is numeric/ode_dp45.c. */
#include "analysis/lapack_calls.h"
#include "core/internal.h"
#include "model/gauss_gauss.h"
#include "model/machine.h"
#include "numeric/ode_dp45.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static rbm_status check_gauss_gauss(const rbm_machine *m, const char *fn)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!rbm__gauss_gauss(m))
        return rbm__fail(mv->ctx, RBM_ERR_UNSUPPORTED,
                         "%s needs a Gauss-Gauss machine (this one has %s visible and %s hidden "
                         "units)",
                         fn, rbm_unit_kind_name(mv->vk), rbm_unit_kind_name(mv->hk));
    return RBM_OK;
}

/* ---------------- model covariance and gradient ---------------- */

rbm_status rbm_linear_model_covariance(const rbm_machine *m, double *out, size_t len)
{
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_linear_model_covariance");
    if (potts_st)
        return potts_st;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_gauss_gauss(m, "rbm_linear_model_covariance")) ||
        (st = rbm__check_array(mv->ctx, out, len, mv->nv * mv->nv, "covariance buffer")))
        return st;
    double *L;
    if ((st = rbm__xcalloc(mv->ctx, mv->nv * mv->nv, sizeof(double), &L, "covariance workspace")))
        return st;
    st = rbm__gauss_gauss_covariance(m, L, out, "rbm_linear_model_covariance");
    rbm__free(mv->ctx, L);
    return st;
}

/* Validate a data covariance: length, finiteness, symmetry. */
static rbm_status check_covariance(const rbm_machine *m, const double *C, size_t c_len)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const size_t nv = mv->nv;
    rbm_status st;
    if ((st = rbm__check_array(mv->ctx, C, c_len, nv * nv, "covariance C")) ||
        (st = rbm__check_finite(mv->ctx, C, c_len, "covariance C")))
        return st;
    double big = 0;
    for (size_t i = 0; i < nv * nv; i++)
        big = fmax(big, fabs(C[i]));
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < i; j++)
            if (fabs(C[i * nv + j] - C[j * nv + i]) > 1e-10 * big)
                return rbm__fail(mv->ctx, RBM_ERR_INVALID_ARGUMENT,
                                 "covariance C is not symmetric: C[%zu,%zu] = %.17g, C[%zu,%zu] = "
                                 "%.17g",
                                 i, j, C[i * nv + j], j, i, C[j * nv + i]);
    return RBM_OK;
}

/* The flow f(W) = sigma_h^2 (C W - M^{-1} W) with scratch L (nv x nv) and X
 * (nv x nh). */
typedef struct flow_ctx {
    size_t nv, nh;
    double sv, sh;
    const double *C;
    double *L, *X;
} flow_ctx;

/* dW = f(W); false when W is not normalisable (an rbm__ode_rhs: the flow
 * does not depend on t). */
static bool flow_eval(void *user, double t, const double *W, double *dW)
{
    (void)t;
    const flow_ctx *F = user;
    const size_t nv = F->nv, nh = F->nh, n = nv * nh;
    if (!rbm__gauss_gauss_cholesky(nv, nh, F->sv, F->sh, W, F->L))
        return false;
    memcpy(F->X, W, n * sizeof(double));
    rbm__gauss_gauss_solve(nv, nh, F->L, F->X);
    const double sh2 = F->sh * F->sh;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nv, (int)nh, (int)nv, sh2, F->C,
                (int)nv, W, (int)nh, 0.0, dW, (int)nh);
    cblas_daxpy((int)n, -sh2, F->X, 1, dW, 1);
    return true;
}

rbm_status rbm_linear_gradient(const rbm_machine *m, const double *C, size_t c_len, double *dW,
                               size_t dw_len)
{
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_linear_gradient");
    if (potts_st)
        return potts_st;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st;
    if ((st = check_gauss_gauss(m, "rbm_linear_gradient")) ||
        (st = check_covariance(m, C, c_len)) ||
        (st = rbm__check_array(mv->ctx, dW, dw_len, mv->nv * mv->nh, "gradient buffer dW")))
        return st;
    const size_t nv = mv->nv, nh = mv->nh;
    double *buf;
    if ((st = rbm__xcalloc(mv->ctx, nv * nv + nv * nh, sizeof(double), &buf, "gradient workspace")))
        return st;
    flow_ctx F = {nv, nh, mv->sigma_v, mv->sigma_h, C, buf, buf + nv * nv};
    if (!flow_eval(&F, 0.0, mv->W, dW))
        st = rbm__gauss_gauss_not_normalizable(m, mv->W, "rbm_linear_gradient");
    rbm__free(mv->ctx, buf);
    return st;
}

/* ---------------- integration of the flow ---------------- */

/* One integration: the flow, its stepper, and the singular values recorded
 * at the n_out output times k t_end / (n_out - 1) (t_end alone when
 * n_out == 1). */
typedef struct integ {
    rbm_machine *m;
    flow_ctx F;
    rbm__dp45 S;
    double t_end;
    size_t n_out, k_out, r; /* outputs, outputs done, values per output */
    double *times, *w_out;
    double *copy, *sv; /* dgesdd input copy (nv x nh), its values (r) */
    double *work;      /* dgesdd workspace */
    lapack_int lwork, *iwork;
    double *buf; /* every double of the workspace but work */
} integ;

static rbm_status check_integrate_args(const rbm_machine *m, const double *C, size_t c_len,
                                       double t_end, double rtol, double atol, size_t n_out,
                                       const double *times, size_t times_len, const double *w_out,
                                       size_t w_len)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_context *ctx = mv->ctx;
    rbm_status st;
    if ((st = check_gauss_gauss(m, "rbm_linear_integrate")) || (st = check_covariance(m, C, c_len)))
        return st;
    if (!(isfinite(t_end) && t_end >= 0))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "t_end must be finite and >= 0 (got %g)",
                         t_end);
    if (!(isfinite(rtol) && rtol > 0) || !(isfinite(atol) && atol > 0))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "tolerances must be finite and > 0 (rtol %g, atol %g)", rtol, atol);
    const size_t r = mv->nv < mv->nh ? mv->nv : mv->nh;
    size_t n_w = 0;
    if (!rbm__mul_ok(n_out, r, &n_w))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu outputs of %zu values overflow", n_out, r);
    if (n_out > 0 && (st = rbm__check_array(ctx, w_out, w_len, n_w, "singular value output")))
        return st;
    if (times && (st = rbm__check_array(ctx, times, times_len, n_out, "times")))
        return st;
    return RBM_OK;
}

/* Workspace: L, X of the flow, the stepper's, the SVD copy and values; the
 * dgesdd workspace when there are outputs. */
static rbm_status integ_alloc(integ *ig, const double *C)
{
    rbm_machine *m = ig->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_context *ctx = mv->ctx;
    const size_t nv = mv->nv, nh = mv->nh, n = nv * nh, r = ig->r;
    size_t total;
    if (!rbm__mul_ok(n, 13, &total) || total > SIZE_MAX - nv * nv - r)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "integration workspace overflows");
    total += nv * nv + r;
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, total, sizeof(double), &ig->buf, "integration workspace")))
        return st;
    double *p = ig->buf;
    ig->F = (flow_ctx){nv, nh, mv->sigma_v, mv->sigma_h, C, p, p + nv * nv};
    ig->copy = p + nv * nv + n + rbm__dp45_ws_len(n);
    ig->sv = ig->copy + n;
    if (ig->n_out == 0)
        return RBM_OK;
    double q = 0;
    lapack_int info = rbm__lapack_svd(false, nv, nh, ig->copy, ig->sv, NULL, NULL, &q, -1, NULL);
    if (info != 0)
        return rbm__fail(ctx, RBM_ERR_NUMERICAL, "LAPACK dgesdd workspace query failed");
    ig->lwork = (lapack_int)q + 1;
    if ((st = rbm__xcalloc(ctx, (size_t)ig->lwork, sizeof(double), &ig->work, "SVD workspace")) ||
        (st = rbm__xcalloc(ctx, 8 * r, sizeof(lapack_int), &ig->iwork, "SVD workspace")))
        return st;
    return RBM_OK;
}

static void integ_free(integ *ig)
{
    const rbm__machine_view *mv = rbm__machine_view_of(ig->m);
    rbm_context *ctx = mv->ctx;
    rbm__free(ctx, ig->buf);
    rbm__free(ctx, ig->work);
    rbm__free(ctx, ig->iwork);
}

static double out_time(const integ *ig, size_t k)
{
    return ig->n_out == 1 ? ig->t_end : (double)k * ig->t_end / (double)(ig->n_out - 1);
}

/* Record the singular values of W (values only, LAPACK dgesdd) at every
 * output due at or before the stepper's time. */
static rbm_status record_due(integ *ig)
{
    const rbm_machine *m = ig->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    while (ig->k_out < ig->n_out && out_time(ig, ig->k_out) <= ig->S.t) {
        memcpy(ig->copy, ig->S.y, mv->nv * mv->nh * sizeof(double));
        lapack_int info = rbm__lapack_svd(false, mv->nv, mv->nh, ig->copy,
                                          ig->w_out + ig->k_out * ig->r, NULL, NULL, ig->work,
                                          ig->lwork, ig->iwork);
        if (info != 0)
            return rbm__fail(mv->ctx, RBM_ERR_NUMERICAL, "LAPACK dgesdd failed (info %d)",
                             (int)info);
        if (ig->times)
            ig->times[ig->k_out] = out_time(ig, ig->k_out);
        ig->k_out++;
    }
    return RBM_OK;
}

/* Step to t_end through every output time, reporting progress after each
 * step; RBM_STOPPED when the callback asks to stop. */
static rbm_status integ_run(integ *ig, int (*progress)(void *user, double fraction), void *user)
{
    const rbm__machine_view *mv = rbm__machine_view_of(ig->m);
    rbm_context *ctx = mv->ctx;
    const double t_end = ig->t_end;
    rbm_status st;
    while (ig->S.t < t_end) {
        double target = ig->k_out < ig->n_out ? out_time(ig, ig->k_out) : t_end;
        rbm__dp45_status ds = rbm__dp45_step(&ig->S, target);
        if (ds == RBM__DP45_LEFT_DOMAIN)
            return rbm__fail(ctx, RBM_ERR_NOT_NORMALIZABLE,
                             "rbm_linear_integrate: the trajectory leaves the normalisable "
                             "region at t = %.6g (step size underflow)",
                             ig->S.t);
        if (ds != RBM__DP45_OK)
            return rbm__fail(ctx, RBM_ERR_NOT_CONVERGED,
                             "rbm_linear_integrate: step size underflow at t = %.6g", ig->S.t);
        if ((st = record_due(ig)))
            return st;
        if (progress && ig->S.t < t_end && progress(user, ig->S.t / t_end))
            return RBM_STOPPED;
    }
    if (progress && t_end > 0 && progress(user, 1.0))
        return RBM_STOPPED;
    return RBM_OK;
}

rbm_status rbm_linear_integrate(rbm_machine *m, const double *C, size_t c_len, double t_end,
                                double rtol, double atol, size_t n_out, double *times,
                                size_t times_len, double *w_out, size_t w_len,
                                int (*progress)(void *user, double fraction), void *user)
{
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_linear_integrate");
    if (potts_st)
        return potts_st;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!m)
        return RBM_ERR_NULL;
    rbm_status st =
        check_integrate_args(m, C, c_len, t_end, rtol, atol, n_out, times, times_len, w_out, w_len);
    if (st)
        return st;
    const size_t n = mv->nv * mv->nh;
    integ ig = {.m = m, .t_end = t_end, .n_out = n_out, .times = times, .w_out = w_out};
    ig.r = mv->nv < mv->nh ? mv->nv : mv->nh;
    if ((st = integ_alloc(&ig, C)))
        goto done;
    if (!rbm__dp45_start(&ig.S, n, 0.0, mv->W, flow_eval, &ig.F, rtol, atol, ig.F.X + n)) {
        st = rbm__gauss_gauss_not_normalizable(m, ig.S.y, "rbm_linear_integrate");
        goto done;
    }
    if ((st = record_due(&ig)))
        goto done;
    if (t_end > 0)
        rbm__dp45_initial_step(&ig.S, t_end);
    st = integ_run(&ig, progress, user);
    if (st != RBM_OK && st != RBM_STOPPED)
        goto done;
    /* the state reached (also when stopped) becomes the machine's W */
    rbm_status s2 = rbm__machine_check_normalizable(m, ig.S.y, mv->sigma_v, mv->sigma_h);
    if (s2) {
        st = s2;
        goto done;
    }
    double *Wm;
    rbm__machine_params_mut(m, &Wm, NULL, NULL);
    memcpy(Wm, ig.S.y, n * sizeof(double));
    rbm__machine_sync(m);
done:
    integ_free(&ig);
    return st;
}

/* ---------------- fixed points ---------------- */

static bool pos_finite(double x)
{
    return isfinite(x) && x > 0;
}

rbm_status rbm_linear_fixed_points(const double *lambda, size_t n, double sigma_v, double sigma_h,
                                   double *w_star, size_t w_star_len)
{
    if (n > 0 && (!lambda || !w_star))
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(NULL, w_star, w_star_len, n, "w_star");
    if (st)
        return st;
    if (!pos_finite(sigma_v) || !pos_finite(sigma_h))
        return RBM_ERR_INVALID_ARGUMENT;
    for (size_t a = 0; a < n; a++)
        if (!(isfinite(lambda[a]) && lambda[a] >= 0))
            return RBM_ERR_INVALID_ARGUMENT;
    const double sv2 = sigma_v * sigma_v, sh2 = sigma_h * sigma_h;
    for (size_t a = 0; a < n; a++) {
        double l = lambda[a];
        /* w^2 = 1/(sv^2 sh^2) - 1/(sh^2 lambda) = (lambda - sv^2)/(sv^2 sh^2 lambda) */
        w_star[a] = l > sv2 ? sqrt((l - sv2) / (sv2 * sh2 * l)) : 0.0;
    }
    return RBM_OK;
}

/* ---------------- one aligned mode: implicit closed form ---------------- */

/* With x = w^2, c = sv^2 sh^2, A = lambda - sv^2, the trajectory solves
 *   g(x) - g(x0) = 2 sh^2 A t,  g(x) = ln x - (sv^2/lambda) ln|A - lambda c x|.
 * Dividing by A and using sv^2/lambda = 1 - A/lambda gives the form used
 * here, which stays accurate as A -> 0 and has the algebraic limit at A = 0:
 *   Phi(x) = -(1/A) ln(1 + A q) + (1/lambda) ln[(A - lambda c x)/(A - lambda c x0)] - 2 sh^2 t,
 *   q = (1/x0 - 1/x) / (lambda c - A/x0),
 * with -(1/A) ln(1 + A q) = -q at A = 0 (then 1/x + c ln x = 1/x0 + c ln x0 +
 * 2 sh^2 lambda c t, x ~ 1/(2 sh^2 lambda c t)). Phi is monotone in x on the
 * side of x0 the mode moves to, Phi(x0) = -2 sh^2 t <= 0, and Phi -> +inf at
 * the end point (x* = A/(lambda c) when A > 0, x -> 0 when A <= 0), so the
 * root is bracketed between x0 and that end point. We solve in y = ln x. */
typedef struct traj {
    double A, lam, c, y0, x0, sh2, t, d0;
} traj;

static double traj_phi(const traj *P, double y)
{
    const double lc = P->lam * P->c;
    /* (A - lambda c x)/(A - lambda c x0): positive on x0's side of x* */
    double ratio = (P->A - lc * exp(y)) / P->d0;
    if (!(ratio > 0))
        return INFINITY; /* at or past the fixed point */
    double lr = log(ratio), term1;
    if (P->A == 0) {
        /* the limit -q = (1/x - 1/x0)/(lambda c) = e^{-y} (1 - x/x0)/(lambda c) */
        double dm = -expm1(y - P->y0);
        term1 = dm == 0 ? 0.0 : exp(-y) * dm / lc;
    } else {
        /* -(1/A) ln(1 + A q), q = (1/x0 - 1/x)/(lambda c - A/x0)
         *                       = (1 - x0/x)/(lambda c x0 - A), and
         * 1 + A q = ratio * x0/x: through log1p(z)/z for small z = A q
         * (accurate as A -> 0), through logs otherwise (z is then often
         * close to -1, where 1 + z would cancel) */
        double q = -expm1(P->y0 - y) / -P->d0;
        double z = P->A * q;
        if (fabs(z) < 0.5)
            term1 = -q * (z == 0 ? 1.0 : log1p(z) / z);
        else
            term1 = -(lr + P->y0 - y) / P->A;
    }
    return term1 + lr / P->lam - 2.0 * P->sh2 * P->t;
}

/* Below this ln x, w = e^{y/2} underflows to 0 in double. */
#define TRAJ_Y_MIN (-3000.0)

rbm_status rbm_linear_mode_trajectory(double lambda, double sigma_v, double sigma_h, double w0,
                                      double t, double *w_t)
{
    if (!w_t)
        return RBM_ERR_NULL;
    if (!pos_finite(lambda) || !pos_finite(sigma_v) || !pos_finite(sigma_h) || !pos_finite(w0) ||
        !(isfinite(t) && t >= 0))
        return RBM_ERR_INVALID_ARGUMENT;
    const double sv2 = sigma_v * sigma_v, sh2 = sigma_h * sigma_h, c = sv2 * sh2;
    const double x0 = w0 * w0; /* may underflow: only used next to O(1) terms */
    if (!(c * x0 < 1.0))
        return RBM_ERR_INVALID_ARGUMENT; /* not normalisable */
    const double A = lambda - sv2;
    if (t == 0) {
        *w_t = w0;
        return RBM_OK;
    }
    const double y0 = 2.0 * log(w0);
    traj P = {.A = A, .lam = lambda, .c = c, .y0 = y0, .x0 = x0, .sh2 = sh2, .t = t};
    P.d0 = A - lambda * c * x0;
    if (P.d0 == 0) { /* at the fixed point */
        *w_t = w0;
        return RBM_OK;
    }
    double ya = y0, fa = traj_phi(&P, ya), yb, fb;
    if (!(fa < 0)) {
        *w_t = w0;
        return RBM_OK;
    }
    if (A > 0) {
        yb = log(A / (lambda * c)); /* Phi = +inf at x* */
        fb = INFINITY;
    } else {
        /* x decays at least as fast as x0 e^{2 sh^2 A t} and as
         * 1/(1/x0 + 2 sh^2 lambda c t): start just below both bounds and
         * step down until Phi > 0 */
        double up = fmin(y0 + 2.0 * sh2 * A * t, y0 - log1p(2.0 * sh2 * lambda * c * t * x0));
        double step = 1.0;
        yb = fmax(fmin(up, y0) - step, TRAJ_Y_MIN);
        fb = traj_phi(&P, yb);
        for (int i = 0; i < 60 && !(fb > 0) && yb > TRAJ_Y_MIN; i++) {
            step *= 2.0;
            yb = fmax(yb - step, TRAJ_Y_MIN);
            fb = traj_phi(&P, yb);
        }
        if (!(fb > 0)) {
            if (yb <= TRAJ_Y_MIN && !isnan(fb)) { /* the root is below: w underflows */
                *w_t = 0.0;
                return RBM_OK;
            }
            return RBM_ERR_NUMERICAL;
        }
    }
    /* Illinois false position with bisection whenever the bracket fails to
     * halve; stop at |ya - yb| <= 2e-14 (relative 2e-14 in x, 1e-14 in w). */
    bool bisect = false;
    int side = 0;
    for (int it = 0; it < 400; it++) {
        double width = fabs(yb - ya);
        if (width <= 2e-14)
            break;
        double ym;
        if (!bisect && isfinite(fa) && isfinite(fb) && fb != fa)
            ym = ya - fa * (yb - ya) / (fb - fa);
        else
            ym = 0.5 * (ya + yb);
        if (!(ym > fmin(ya, yb) && ym < fmax(ya, yb)))
            ym = 0.5 * (ya + yb);
        if (ym == ya || ym == yb)
            break;
        double fm = traj_phi(&P, ym);
        if (fm == 0) {
            ya = yb = ym;
            break;
        }
        if (fm < 0) {
            if (side == -1 && isfinite(fb))
                fb *= 0.5;
            ya = ym;
            fa = fm;
            side = -1;
        } else {
            if (side == 1)
                fa *= 0.5;
            yb = ym;
            fb = fm;
            side = 1;
        }
        bisect = fabs(yb - ya) > 0.5 * width;
    }
    *w_t = exp(0.25 * (ya + yb)); /* w = sqrt(x), y = ln x at the bracket's midpoint */
    return RBM_OK;
}
