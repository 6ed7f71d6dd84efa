/* librbm — tempering_log_z: log Z of the top rung from the ladder, by
 * Bennett's acceptance ratio and the two exponential averages, with
 * standard errors from a jackknife over independent chain columns
 * (docs/theory.md §10).
 *
 * Why columns: a swap exchanges the states of chain c of rungs r and r+1,
 * never of different chains, so the R states of column c form one Markov
 * chain, independent of every other column (own random draws, own start).
 * Consecutive sweeps of a column are correlated, and so are the pairs of one
 * column; deleting whole columns keeps both correlations inside each
 * jackknife replicate, which an error from per-sample variances does not. */
#include "core/internal.h"
#include "train/tempering.h"
#include "train/tempering_impl.h"
#include "train/tempering_ops.h"

#include <math.h>
#include <string.h>

/* Most jackknife groups of chains (delete-one-group jackknife; with fewer
 * chains every chain is a group). */
#define JK_GROUPS 32

/* log mean exp(-x) of n values. */
static double log_mean_exp_neg(const double *x, size_t n)
{
    double mx = -INFINITY, acc = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, -x[i]);
    for (size_t i = 0; i < n; i++)
        acc += exp(-x[i] - mx);
    return mx + log(acc / (double)n);
}

/* The work values of one pair: T sweeps x n chains per direction, sample
 * (s, c) at s n + c; chain c is in jackknife group grp[c]. */
typedef struct {
    const double *wF, *wR;
    size_t T, n;
    const size_t *grp;
} pair_work;

/* Bennett's equation sum_F f(wF - D) = sum_R f(-wR - D), f(x) = 1/(1 + e^x)
 * (equal sample sizes: M = 0), over the samples whose chain is not in group
 * `skip` (skip = JK_GROUPS: all). Returns the left side minus the right,
 * which increases with D; *slope its derivative. */
static double bar_gap(const pair_work *p, size_t skip, double D, double *slope)
{
    double g = 0, d = 0;
    for (size_t s = 0; s < p->T; s++) {
        const double *f = p->wF + s * p->n, *r = p->wR + s * p->n;
        for (size_t c = 0; c < p->n; c++) {
            if (p->grp[c] == skip)
                continue;
            double u = rbm__sigmoid(D - f[c]), v = rbm__sigmoid(-r[c] - D);
            g += u - v;
            d += u * (1 - u) + v * (1 - v);
        }
    }
    if (slope)
        *slope = d;
    return g;
}

/* Root of bar_gap by bisection from a bracket grown around guess. */
static double bar_bisect(const pair_work *p, size_t skip, double guess)
{
    double lo = guess - 1, hi = guess + 1;
    for (int i = 0; i < 200 && bar_gap(p, skip, lo, NULL) > 0; i++)
        lo -= (hi - lo);
    for (int i = 0; i < 200 && bar_gap(p, skip, hi, NULL) < 0; i++)
        hi += (hi - lo);
    for (int i = 0; i < 200 && hi - lo > 1e-13 * (1 + fabs(lo)); i++) {
        double mid = 0.5 * (lo + hi);
        if (bar_gap(p, skip, mid, NULL) < 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Root without group `skip`, by Newton's method from the root D of all the
 * samples (a deleted group moves it little; the gap is monotone), falling
 * back to bisection if Newton does not settle. */
static double bar_root_without(const pair_work *p, size_t skip, double D)
{
    double x = D;
    for (int i = 0; i < 50; i++) {
        double slope, g = bar_gap(p, skip, x, &slope);
        double step = g / slope;
        if (!(slope > 0) || !isfinite(step))
            break;
        x -= step;
        if (fabs(step) <= 1e-12 * (1 + fabs(x)))
            return x;
    }
    return bar_bisect(p, skip, D);
}

/* Jackknife variance of G replicates theta[g] (each the estimate without
 * group g): (G - 1)/G sum_g (theta_g - mean)^2. */
static double jackknife_variance(const double *theta, size_t G)
{
    double mean = 0, q = 0;
    for (size_t g = 0; g < G; g++)
        mean += theta[g] / (double)G;
    for (size_t g = 0; g < G; g++)
        q += (theta[g] - mean) * (theta[g] - mean);
    return q * (double)(G - 1) / (double)G;
}

/* Exponential average without each group: x[g] = log mean exp(-w) over the
 * samples of the other groups (forward: Delta f = -x, reverse: Delta f = x).
 * S: G scratch sums. */
static void exp_without(const double *w, size_t T, size_t n, const size_t *grp, size_t G,
                        double *S, double *x)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < T * n; i++)
        mx = fmax(mx, -w[i]);
    memset(S, 0, G * sizeof(double));
    for (size_t s = 0; s < T; s++)
        for (size_t c = 0; c < n; c++)
            S[grp[c]] += exp(-w[s * n + c] - mx);
    for (size_t g = 0; g < G; g++) {
        /* the other groups' sums added one by one, never total - own (a
         * dominant group would cancel) */
        double acc = 0;
        size_t m = 0;
        for (size_t h = 0; h < G; h++)
            if (h != g)
                acc += S[h];
        for (size_t c = 0; c < n; c++)
            m += grp[c] != g;
        x[g] = mx + log(acc / (double)(m * T));
    }
}

/* The estimates from the recorded work values W (pair r, direction d at
 * (2r + d) T n) and their jackknife replicates: est[0..3) = BAR, EXP
 * forward, EXP reverse log Z; var[0..3) their jackknife variances (NaN with
 * one chain). jk: 3 G scratch replicates (zeroed here), S: G scratch. */
static void ladder_estimates(const rbm_tempering *t, const double *W, size_t T,
                             const size_t *grp, size_t G, double *jk, double *S, double *est,
                             double *var)
{
    const size_t P = t->R - 1, n = t->n, per = T * n;
    double *jb = jk, *jf = jk + G, *jr = jk + 2 * G, *x = S + G;
    for (size_t k = 0; k < 3; k++)
        est[k] = t->log_z0;
    for (size_t g = 0; g < 3 * G; g++)
        jk[g] = t->log_z0;
    for (size_t r = 0; r < P; r++) {
        pair_work p = {W + 2 * r * per, W + (2 * r + 1) * per, T, n, grp};
        double fwd = -log_mean_exp_neg(p.wF, per), rev = log_mean_exp_neg(p.wR, per);
        double D = bar_bisect(&p, JK_GROUPS, 0.5 * (fwd + rev));
        est[0] -= D;
        est[1] -= fwd;
        est[2] -= rev;
        if (G < 2)
            continue;
        for (size_t g = 0; g < G; g++)
            jb[g] -= bar_root_without(&p, g, D);
        exp_without(p.wF, T, n, grp, G, S, x);
        for (size_t g = 0; g < G; g++)
            jf[g] += x[g];
        exp_without(p.wR, T, n, grp, G, S, x);
        for (size_t g = 0; g < G; g++)
            jr[g] -= x[g];
    }
    for (size_t k = 0; k < 3; k++)
        var[k] = G < 2 ? NAN : jackknife_variance(jk + k * G, G);
}

rbm_status rbm_tempering_log_z_estimates(rbm_tempering *t, size_t n_sweeps, double *log_z,
                                         double *log_z_stderr, double *exp_fwd,
                                         double *exp_fwd_stderr, double *exp_rev,
                                         double *exp_rev_stderr)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!log_z)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "rbm_tempering_log_z: log_z is NULL");
    if (n_sweeps < 2)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT, "log Z needs >= 2 sweeps");
    const size_t P = t->R - 1, n = t->n, G = n < JK_GROUPS ? n : JK_GROUPS;
    size_t per, all;
    if (!rbm__mul_ok(n_sweeps, n, &per) || !rbm__mul_ok(per, 2 * P, &all))
        return rbm__fail(t->ctx, RBM_ERR_TOO_LARGE, "%zu sweeps of work values overflow",
                         n_sweeps);
    double *W = NULL, *scratch = NULL;
    size_t *grp = NULL;
    rbm_status st = rbm__xcalloc(t->ctx, all, sizeof(double), &W, "work values");
    if (!st)
        st = rbm__xcalloc(t->ctx, 5 * JK_GROUPS, sizeof(double), &scratch, "jackknife sums");
    if (!st)
        st = rbm__xcalloc(t->ctx, n, sizeof(size_t), &grp, "jackknife groups");
    if (st) {
        rbm__free(t->ctx, W);
        rbm__free(t->ctx, scratch);
        return st;
    }
    for (size_t c = 0; c < n; c++) /* contiguous groups, sizes differ by <= 1 */
        grp[c] = c * G / n;
    for (size_t s = 0; s < n_sweeps; s++) {
        rbm__tempering_sweep(t);
        for (size_t r = 0; r < P; r++) {
            rbm__tempering_pair_work(t, r);
            memcpy(W + (2 * r) * per + s * n, t->wf, n * sizeof(double));
            memcpy(W + (2 * r + 1) * per + s * n, t->wr, n * sizeof(double));
        }
    }
    double est[3], var[3];
    ladder_estimates(t, W, n_sweeps, grp, G, scratch, scratch + 3 * JK_GROUPS, est, var);
    rbm__free(t->ctx, W);
    rbm__free(t->ctx, scratch);
    rbm__free(t->ctx, grp);
    if (!isfinite(est[0]) || (G >= 2 && !isfinite(var[0])))
        return rbm__fail(t->ctx, RBM_ERR_NUMERICAL, "log Z from the ladder is not finite");
    double *out[6] = {log_z, log_z_stderr, exp_fwd, exp_fwd_stderr, exp_rev, exp_rev_stderr};
    for (size_t k = 0; k < 3; k++) {
        if (out[2 * k])
            *out[2 * k] = est[k];
        if (out[2 * k + 1])
            *out[2 * k + 1] = sqrt(var[k]);
    }
    return RBM_OK;
}

rbm_status rbm_tempering_log_z(rbm_tempering *t, size_t n_sweeps, double *log_z,
                               double *log_z_stderr, double *exp_fwd, double *exp_rev)
{
    return rbm_tempering_log_z_estimates(t, n_sweeps, log_z, log_z_stderr, exp_fwd, NULL,
                                         exp_rev, NULL);
}
