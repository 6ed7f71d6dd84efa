/* librbm — ode_dp45: the adaptive Dormand-Prince 5(4) integrator (see
 * ode_dp45.h). The 5th-order solution is propagated (local extrapolation)
 * and its last stage is the first of the next step (FSAL); the error is the
 * difference with the embedded 4th-order solution, measured in the scaled
 * RMS norm with weights atol + rtol max(|y|, |y_new|). */
#include "numeric/ode_dp45.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* Butcher tableau of Dormand & Prince (1980), the 5th-order solution (FSAL)
 * and the error weights e = b5 - b4. */
static const double DP_A21 = 1.0 / 5.0;
static const double DP_A31 = 3.0 / 40.0, DP_A32 = 9.0 / 40.0;
static const double DP_A41 = 44.0 / 45.0, DP_A42 = -56.0 / 15.0, DP_A43 = 32.0 / 9.0;
static const double DP_A51 = 19372.0 / 6561.0, DP_A52 = -25360.0 / 2187.0,
                    DP_A53 = 64448.0 / 6561.0, DP_A54 = -212.0 / 729.0;
static const double DP_A61 = 9017.0 / 3168.0, DP_A62 = -355.0 / 33.0, DP_A63 = 46732.0 / 5247.0,
                    DP_A64 = 49.0 / 176.0, DP_A65 = -5103.0 / 18656.0;
static const double DP_B1 = 35.0 / 384.0, DP_B3 = 500.0 / 1113.0, DP_B4 = 125.0 / 192.0,
                    DP_B5 = -2187.0 / 6784.0, DP_B6 = 11.0 / 84.0;
static const double DP_E1 = 71.0 / 57600.0, DP_E3 = -71.0 / 16695.0, DP_E4 = 71.0 / 1920.0,
                    DP_E5 = -17253.0 / 339200.0, DP_E6 = 22.0 / 525.0, DP_E7 = -1.0 / 40.0;
/* the stage times c_s (stage s = 1..6 of the trial; c_7 = 1) */
static const double DP_C[6] = {1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0};

/* Step-size control (Hairer, Norsett & Wanner, Solving ODEs I, §II.4):
 * h_new = h * min(FAC_MAX, max(FAC_MIN, SAFETY * err^(-1/5))), no growth
 * right after a rejection. */
#define DP_SAFETY 0.9
#define DP_FAC_MIN 0.2
#define DP_FAC_MAX 10.0
/* Step shrink factor when a stage point is outside the domain. */
#define DP_FAC_DOMAIN 0.25

size_t rbm__dp45_ws_len(size_t n)
{
    return 11 * n;
}

bool rbm__dp45_start(rbm__dp45 *S, size_t n, double t0, const double *y0, rbm__ode_rhs f,
                     void *user, double rtol, double atol, double *ws)
{
    *S = (rbm__dp45){.n = n, .rtol = rtol, .atol = atol, .f = f, .user = user, .t = t0};
    double *p = ws;
    S->y = p, p += n;
    S->yn = p, p += n;
    S->yt = p, p += n;
    for (int j = 0; j < 7; j++)
        S->k[j] = p, p += n;
    S->err = p;
    memcpy(S->y, y0, n * sizeof(double));
    return f(user, t0, S->y, S->k[0]);
}

/* Scaled RMS norm of v with weights atol + rtol |y|. */
static double scaled_norm(const rbm__dp45 *S, const double *v, const double *y)
{
    double s = 0;
    for (size_t i = 0; i < S->n; i++) {
        double q = v[i] / (S->atol + S->rtol * fabs(y[i]));
        s += q * q;
    }
    return sqrt(s / (double)S->n);
}

void rbm__dp45_initial_step(rbm__dp45 *S, double span)
{
    double d0 = scaled_norm(S, S->y, S->y), d1 = scaled_norm(S, S->k[0], S->y);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    if (h0 > span)
        h0 = span;
    for (int tries = 0; tries < 60; tries++) {
        for (size_t i = 0; i < S->n; i++)
            S->yt[i] = S->y[i] + h0 * S->k[0][i];
        if (S->f(S->user, S->t + h0, S->yt, S->k[1]))
            break;
        h0 *= DP_FAC_DOMAIN;
    }
    for (size_t i = 0; i < S->n; i++)
        S->err[i] = S->k[1][i] - S->k[0][i];
    double d2 = scaled_norm(S, S->err, S->y) / h0;
    double dm = fmax(d1, d2);
    double h1 = dm <= 1e-15 ? fmax(1e-6, h0 * 1e-3) : pow(0.01 / dm, 0.2);
    double h = fmin(100.0 * h0, h1);
    S->h = h > span ? span : h;
}

/* out = y + h sum_j c[j] k[j] over the nk first stages */
static void lincomb(size_t n, double *out, const double *y, double h, int nk, const double *c,
                    double *const *k)
{
    memcpy(out, y, n * sizeof(double));
    for (int j = 0; j < nk; j++)
        if (c[j] != 0.0)
            cblas_daxpy((int)n, h * c[j], k[j], 1, out, 1);
}

/* One trial step of size h from S->y (k[0] = f(t, y)). Returns true and
 * *err_norm when every stage was inside the domain (yn = 5th-order
 * solution, k[6] = f(t + h, yn)), false otherwise. */
static bool dp_trial(rbm__dp45 *S, double h, double *err_norm)
{
    const size_t n = S->n;
    double *const *k = S->k;
    const double r2[] = {DP_A21};
    const double r3[] = {DP_A31, DP_A32};
    const double r4[] = {DP_A41, DP_A42, DP_A43};
    const double r5[] = {DP_A51, DP_A52, DP_A53, DP_A54};
    const double r6[] = {DP_A61, DP_A62, DP_A63, DP_A64, DP_A65};
    const double r7[] = {DP_B1, 0.0, DP_B3, DP_B4, DP_B5, DP_B6};
    const double *rows[] = {r2, r3, r4, r5, r6};
    for (int s = 1; s <= 5; s++) {
        lincomb(n, S->yt, S->y, h, s, rows[s - 1], k);
        if (!S->f(S->user, S->t + DP_C[s - 1] * h, S->yt, k[s]))
            return false;
    }
    lincomb(n, S->yn, S->y, h, 6, r7, k);
    if (!S->f(S->user, S->t + h, S->yn, k[6]))
        return false;
    const double e[] = {DP_E1, 0.0, DP_E3, DP_E4, DP_E5, DP_E6, DP_E7};
    memset(S->err, 0, n * sizeof(double));
    for (int j = 0; j < 7; j++)
        if (e[j] != 0.0)
            cblas_daxpy((int)n, h * e[j], k[j], 1, S->err, 1);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double q = S->err[i] / (S->atol + S->rtol * fmax(fabs(S->y[i]), fabs(S->yn[i])));
        s += q * q;
    }
    *err_norm = sqrt(s / (double)n);
    return true;
}

/* Take the trial solution: t += hs (or t = target), y <-> yn, k[0] <-> k[6]. */
static void dp_accept(rbm__dp45 *S, double t_new)
{
    S->t = t_new;
    double *tmp = S->y;
    S->y = S->yn;
    S->yn = tmp;
    tmp = S->k[0];
    S->k[0] = S->k[6];
    S->k[6] = tmp;
    S->accepted++;
}

rbm__dp45_status rbm__dp45_step(rbm__dp45 *S, double target)
{
    bool rejected = false, left_domain = false;
    double h = S->h;
    for (;;) {
        if (!(h >= 16.0 * DBL_EPSILON * fmax(fabs(S->t), 1e-300)) || !isfinite(h)) {
            S->h = h;
            return left_domain ? RBM__DP45_LEFT_DOMAIN : RBM__DP45_UNDERFLOW;
        }
        bool clipped = S->t + h >= target - 1e-14 * fabs(target);
        double hs = clipped ? target - S->t : h;
        double en;
        if (!dp_trial(S, hs, &en)) {
            left_domain = true;
            h = hs * DP_FAC_DOMAIN;
            rejected = true;
            S->rejected++;
            continue;
        }
        left_domain = false;
        if (!(en <= 1.0)) { /* also NaN */
            double fac = isfinite(en) ? fmax(DP_FAC_MIN, DP_SAFETY * pow(en, -0.2)) : DP_FAC_MIN;
            h = hs * fmin(1.0, fac);
            rejected = true;
            S->rejected++;
            continue;
        }
        double fac = en > 0 ? DP_SAFETY * pow(en, -0.2) : DP_FAC_MAX;
        fac = fmax(DP_FAC_MIN, fmin(rejected ? 1.0 : DP_FAC_MAX, fac));
        double h_next = hs * fac;
        dp_accept(S, clipped ? target : S->t + hs);
        /* a step shortened to land on the target does not shrink the next one */
        S->h = clipped && h > h_next ? h : h_next;
        return RBM__DP45_OK;
    }
}
