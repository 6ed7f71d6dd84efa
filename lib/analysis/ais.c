/* librbm — ais: annealed importance sampling of log Z (docs/theory.md §8),
 * forward from a factorised base machine, or reverse from exact samples,
 * data rows or base samples at beta = 1. */
#include "analysis/metrics.h"
#include "core/shuffle.h"
#include "data/dataset.h"
#include "model/enumerate.h"
#include "model/gauss_gauss.h"
#include "model/machine.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

struct rbm_ais {
    rbm_context *ctx;
    const rbm_machine *m;
    rbm_rng rng;
    size_t R, burn_in;
    size_t exact_units; /* exact reverse starts up to this many units */
    double *betas;
    size_t K; /* number of betas */
    double *aA; /* base visible biases (nvw: q per site for Potts) */
    double log_za;
    const rbm_dataset *data; /* reverse chains start from its rows when set */
    rbm_progress_fn progress;
    void *puser;
    /* work (R rows) */
    double *V, *Hf, *Hs, *Fv, *lw;
    /* per temperature step k (K - 1 values, step k-1 goes from betas[k-1]
     * to betas[k]): the variance of the log-weight increment across runs,
     * summed over the runs made since the schedule was set (vsum), and
     * the running sums of the current run (dsum, dsq) */
    double *vsum, *dsum, *dsq;
    size_t n_var; /* runs summed into vsum */
    /* the last run: effective sample size and variance of log w */
    int ran;
    double ess, lwvar;
};

static void ais_release_work(rbm_ais *a)
{
    double **bufs[] = {&a->V, &a->Hf, &a->Hs, &a->Fv, &a->lw};
    for (size_t i = 0; i < 5; i++) {
        rbm__free(a->ctx, *bufs[i]);
        *bufs[i] = NULL;
    }
}

void rbm_ais_free(rbm_ais *a)
{
    if (!a)
        return;
    ais_release_work(a);
    rbm__free(a->ctx, a->betas);
    rbm__free(a->ctx, a->vsum);
    rbm__free(a->ctx, a->aA);
    rbm__free(a->ctx, a);
}

static void ais_base_log_z(rbm_ais *a)
{
    const rbm_machine *m = a->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    double lz = 0;
    if (mv->vk == RBM_UNIT_POTTS)
        lz = rbm__potts_lse_sum(mv->nv, mv->nq, a->aA);
    for (size_t i = 0; i < mv->nv && mv->vk != RBM_UNIT_POTTS; i++)
        lz += rbm__unit_logpart(mv->vk, mv->sigma_v, a->aA[i]);
    lz += (double)mv->nh * rbm__unit_logpart(mv->hk, mv->sigma_h, 0.0);
    a->log_za = lz;
}

/* Make b (K values, allocated by the caller) the schedule with fresh step
 * statistics; frees b on failure. */
static rbm_status install_schedule(rbm_ais *a, double *b, size_t K)
{
    double *v;
    rbm_status st = rbm__xcalloc(a->ctx, 3 * (K - 1), sizeof(double), &v, "AIS step statistics");
    if (st) {
        rbm__free(a->ctx, b);
        return st;
    }
    rbm__free(a->ctx, a->betas);
    rbm__free(a->ctx, a->vsum);
    a->betas = b;
    a->K = K;
    a->vsum = v;
    a->dsum = v + (K - 1);
    a->dsq = v + 2 * (K - 1);
    a->n_var = 0;
    return RBM_OK;
}

static rbm_status set_schedule_default(rbm_ais *a)
{
    size_t K = 500 + 4000 + 10000 + 1;
    double *b;
    rbm_status st = rbm__xcalloc(a->ctx, K, sizeof(double), &b, "AIS schedule");
    if (st)
        return st;
    size_t k = 0;
    for (size_t i = 0; i < 500; i++)
        b[k++] = 1e-3 * (double)i;
    for (size_t i = 0; i < 4000; i++)
        b[k++] = 0.5 + 1e-4 * (double)i;
    for (size_t i = 0; i < 10000; i++)
        b[k++] = 0.9 + 1e-5 * (double)i;
    b[k++] = 1.0;
    return install_schedule(a, b, K);
}

static rbm_status ais_alloc_work(rbm_ais *a)
{
    ais_release_work(a);
    const rbm_machine *m = a->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_status st;
    if ((st = rbm__xcalloc(a->ctx, a->R * mv->nv, sizeof(double), &a->V, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R * mv->nh, sizeof(double), &a->Hf, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R * mv->nh, sizeof(double), &a->Hs, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R * mv->nvw, sizeof(double), &a->Fv, "AIS states")) ||
        (st = rbm__xcalloc(a->ctx, a->R, sizeof(double), &a->lw, "AIS weights")))
        ais_release_work(a);
    return st;
}

rbm_status rbm_ais_new(const rbm_machine *m, uint64_t seed, rbm_ais **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (out)
        *out = NULL;
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "rbm_ais_new: out is NULL");
    if (rbm__gauss_gauss(m))
        return rbm__fail(mv->ctx, RBM_ERR_UNSUPPORTED,
                         "AIS is not needed for Gauss-Gauss machines: use rbm_exact_log_z");
    rbm_ais *a;
    rbm_status st = rbm__xcalloc(mv->ctx, 1, sizeof *a, &a, "AIS");
    if (st)
        return st;
    a->ctx = mv->ctx;
    a->m = m;
    a->R = 100;
    a->burn_in = 1000;
    a->exact_units = RBM_AIS_EXACT_START_UNITS;
    rbm__rng_init(&a->rng, mv->ctx, seed);
    if ((st = rbm__xcalloc(mv->ctx, mv->nvw, sizeof(double), &a->aA, "AIS base")) ||
        (st = set_schedule_default(a)) || (st = ais_alloc_work(a))) {
        rbm_ais_free(a);
        return st;
    }
    ais_base_log_z(a);
    *out = a;
    return RBM_OK;
}

rbm_status rbm_ais_set_runs(rbm_ais *a, size_t n_runs)
{
    if (!a)
        return RBM_ERR_NULL;
    if (n_runs < 2 || n_runs > (size_t)INT32_MAX)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT, "AIS needs 2..2^31-1 runs (got %zu)",
                         n_runs);
    size_t old = a->R;
    a->R = n_runs;
    rbm_status st = ais_alloc_work(a);
    if (st) {
        a->R = old;
        ais_alloc_work(a);
    }
    return st;
}

rbm_status rbm_ais_set_schedule(rbm_ais *a, const double *betas, size_t n)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!betas)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "schedule is NULL");
    if (n < 2)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT, "schedule needs >= 2 temperatures");
    if (betas[0] != 0.0 || betas[n - 1] != 1.0)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "schedule must start at beta = 0 and end at beta = 1 (got %g and %g)",
                         betas[0], betas[n - 1]);
    for (size_t k = 1; k < n; k++)
        if (!(betas[k] > betas[k - 1]))
            return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                             "schedule must increase strictly: betas[%zu] = %g after %g", k,
                             betas[k], betas[k - 1]);
    double *b;
    rbm_status st = rbm__xcalloc(a->ctx, n, sizeof(double), &b, "AIS schedule");
    if (st)
        return st;
    memcpy(b, betas, n * sizeof(double));
    return install_schedule(a, b, n);
}

rbm_status rbm_ais_set_uniform_schedule(rbm_ais *a, size_t n)
{
    if (!a)
        return RBM_ERR_NULL;
    if (n < 2)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT, "schedule needs >= 2 temperatures");
    double *b;
    rbm_status st = rbm__xcalloc(a->ctx, n, sizeof(double), &b, "AIS schedule");
    if (st)
        return st;
    for (size_t k = 0; k < n; k++)
        b[k] = (double)k / (double)(n - 1);
    b[n - 1] = 1.0;
    return install_schedule(a, b, n);
}

rbm_status rbm_ais_set_base_from_data(rbm_ais *a, const rbm_dataset *data)
{
    if (!a)
        return RBM_ERR_NULL;
    const rbm_machine *m = a->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (!data) {
        memset(a->aA, 0, mv->nvw * sizeof(double));
        a->data = NULL;
        ais_base_log_z(a);
        return RBM_OK;
    }
    rbm_status st = rbm__metrics_check_data(m, data, "base");
    if (st)
        return st;
    if (mv->vk == RBM_UNIT_POTTS) { /* weighted site frequencies, pseudo-count */
        if ((st = rbm__potts_site_fields(a->ctx, data, mv->nv, mv->nq, a->aA)))
            return st;
        a->data = data;
        ais_base_log_z(a);
        return RBM_OK;
    }
    if ((st = rbm_dataset_mean(data, a->aA, mv->nv)))
        return rbm__fail(a->ctx, st, "cannot compute data means: %s",
                         rbm_context_last_error(rbm__dataset_ctx(data)));
    for (size_t i = 0; i < mv->nv; i++) {
        double p = a->aA[i];
        switch (mv->vk) {
        case RBM_UNIT_BERNOULLI:
            p = fmin(fmax(p, 1e-3), 1 - 1e-3);
            a->aA[i] = log(p / (1 - p));
            break;
        case RBM_UNIT_ISING:
            p = fmin(fmax(p, -1 + 2e-3), 1 - 2e-3);
            a->aA[i] = atanh(p);
            break;
        default:
            a->aA[i] = p / (mv->sigma_v * mv->sigma_v);
            break;
        }
    }
    a->data = data;
    ais_base_log_z(a);
    return RBM_OK;
}

rbm_status rbm_ais_set_base_biases(rbm_ais *a, const double *biases, size_t len)
{
    if (!a)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(a->m);
    const double *src = biases ? biases : mv->a;
    rbm_status st;
    if (biases && (st = rbm__check_array(a->ctx, biases, len, mv->nvw,
                                         "rbm_ais_set_base_biases: biases")))
        return st;
    if ((st = rbm__check_finite(a->ctx, src, mv->nvw, "rbm_ais_set_base_biases: biases")))
        return st;
    memcpy(a->aA, src, mv->nvw * sizeof(double));
    ais_base_log_z(a);
    return RBM_OK;
}

rbm_status rbm_ais_set_reverse_burn_in(rbm_ais *a, size_t sweeps)
{
    if (!a)
        return RBM_ERR_NULL;
    a->burn_in = sweeps;
    return RBM_OK;
}

rbm_status rbm_ais_set_exact_start_units(rbm_ais *a, size_t units)
{
    if (!a)
        return RBM_ERR_NULL;
    if (units > RBM_EXACT_LOG_Z_MAX_UNITS)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "exact reverse starts enumerate at most %d units (got %zu)",
                         RBM_EXACT_LOG_Z_MAX_UNITS, units);
    a->exact_units = units;
    return RBM_OK;
}

int32_t rbm_ais_reverse_start_is_exact(const rbm_ais *a)
{
    rbm_layer layer;
    return a && a->exact_units > 0 && rbm__machine_view_of(a->m)->vk != RBM_UNIT_POTTS &&
           rbm__enum_pick_layer(a->m, a->exact_units, &layer);
}

rbm_status rbm_ais_set_progress(rbm_ais *a, rbm_progress_fn fn, void *user)
{
    if (!a)
        return RBM_ERR_NULL;
    a->progress = fn;
    a->puser = user;
    return RBM_OK;
}

double rbm_ais_base_log_z(const rbm_ais *a)
{
    return a ? a->log_za : NAN;
}

/* Hidden fields Hf = V W + b for the R states. */
static void ais_hidden_field(rbm_ais *a)
{
    rbm__kern_f64.hidden_field(rbm__machine_view_of(a->m), a->R, a->V, a->Hf);
}

/* log p*_beta1(v) - log p*_beta0(v) for every run, added to lw (sign +1) or
 * subtracted (sign -1), for temperature step `step` (from betas[step] to
 * betas[step + 1]), whose increment statistics it accumulates. Needs Hf
 * of the current V. */
static void ais_weight(rbm_ais *a, size_t step, double beta1, double beta0, double sign)
{
    const rbm_machine *m = a->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    size_t nv = mv->nv, nh = mv->nh;
    double db = beta1 - beta0;
    for (size_t r = 0; r < a->R; r++) {
        const double *v = a->V + r * nv, *h = a->Hf + r * nh;
        double d = 0;
        if (mv->vk == RBM_UNIT_POTTS)
            for (size_t i = 0; i < nv; i++) {
                size_t k = i * mv->nq + (size_t)v[i];
                d += db * (mv->a[k] - a->aA[k]);
            }
        else
            for (size_t i = 0; i < nv; i++)
                d += db * (mv->a[i] - a->aA[i]) * v[i];
        d += rbm__logpart_sum(mv->hk, mv->sigma_h, nh, h, beta1) -
             rbm__logpart_sum(mv->hk, mv->sigma_h, nh, h, beta0);
        a->lw[r] += sign * d;
        a->dsum[step] += d;
        a->dsq[step] += d * d;
    }
}

/* One transition leaving p_beta invariant: h ~ p_beta(h|v) (field beta*Hf,
 * Hf must be current), then v ~ p_beta(v|h). */
static void ais_transition(rbm_ais *a, double beta)
{
    const rbm_machine *m = a->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    size_t nv = mv->nv, nh = mv->nh, R = a->R;
    for (size_t x = 0; x < R * nh; x++)
        a->Hs[x] = rbm__unit_sample(mv->hk, mv->sigma_h, beta * a->Hf[x], &a->rng);
    /* Fv = Hs W^T (no bias), then field (1-beta) aA + beta (a + Fv) */
    const size_t nvw = mv->nvw;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)R, (int)nvw, (int)nh, 1.0, a->Hs,
                (int)nh, mv->W, (int)nh, 0.0, a->Fv, (int)nvw);
    if (mv->vk == RBM_UNIT_POTTS) { /* each site from its softmax, in place in Fv */
        for (size_t r = 0; r < R; r++)
            for (size_t i = 0; i < nv; i++) {
                double *f = a->Fv + r * nvw + i * mv->nq;
                for (size_t c = 0; c < mv->nq; c++) {
                    size_t k = i * mv->nq + c;
                    f[c] = (1 - beta) * a->aA[k] + beta * (mv->a[k] + f[c]);
                }
                a->V[r * nv + i] =
                    (double)rbm__potts_draw(mv->nq, f, rbm__rng_uniform(&a->rng));
            }
        return;
    }
    for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < nv; i++) {
            double f = (1 - beta) * a->aA[i] + beta * (mv->a[i] + a->Fv[r * nv + i]);
            a->V[r * nv + i] = rbm__unit_sample(mv->vk, mv->sigma_v, f, &a->rng);
        }
}

static int ais_report(rbm_ais *a, size_t done, size_t total)
{
    if (!a->progress)
        return 0;
    size_t every = total / 100 ? total / 100 : 1;
    if (done % every != 0 && done != total)
        return 0;
    return a->progress(a->puser, (double)done / (double)total);
}

/* The R states drawn from the factorised base. */
static void base_samples(rbm_ais *a)
{
    const rbm__machine_view *mv = rbm__machine_view_of(a->m);
    const size_t nv = mv->nv, q = mv->nq;
    for (size_t x = 0; x < a->R * nv; x++)
        a->V[x] = mv->vk == RBM_UNIT_POTTS
                      ? (double)rbm__potts_draw(q, a->aA + (x % nv) * q,
                                                rbm__rng_uniform(&a->rng))
                      : rbm__unit_sample(mv->vk, mv->sigma_v, a->aA[x % nv], &a->rng);
}

/* Forward runs: v from the base, then the weight of every temperature step
 * with a transition at each intermediate beta. */
static rbm_status ais_forward(rbm_ais *a)
{
    const size_t K = a->K;
    const double *beta = a->betas;
    base_samples(a);
    for (size_t k = 1; k < K; k++) {
        ais_hidden_field(a);
        ais_weight(a, k - 1, beta[k], beta[k - 1], +1.0);
        if (k + 1 < K)
            ais_transition(a, beta[k]);
        if (ais_report(a, k, K - 1))
            return RBM_STOPPED;
    }
    return RBM_OK;
}

/* Chains at p_1 for the reverse runs: exact samples when a discrete layer
 * has at most RBM_AIS_EXACT_START_UNITS units (no burn-in then); otherwise
 * data rows (if a base dataset is set) or base samples, to be burnt in.
 * *burn: the burn-in sweeps still needed. */
static rbm_status ais_reverse_start(rbm_ais *a, size_t *burn)
{
    const rbm_machine *m = a->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const size_t nv = mv->nv, R = a->R;
    rbm_layer layer;
    *burn = a->burn_in;
    if (rbm_ais_reverse_start_is_exact(a) && rbm__enum_pick_layer(m, a->exact_units, &layer)) {
        *burn = 0;
        return rbm__enum_visible_samples(m, layer, &a->rng, R, a->V);
    }
    if (a->data) {
        for (size_t r = 0; r < R; r++) {
            size_t row = rbm__rng_index(&a->rng, rbm__dataset_rows(a->data));
            rbm__dataset_fetch(a->data, NULL, row, 1, false, a->V + r * nv);
        }
    } else {
        base_samples(a);
    }
    return RBM_OK;
}

/* Reverse runs: chains at p_1, burn-in sweeps at beta = 1, then the
 * temperature steps from beta = 1 down to the base. */
static rbm_status ais_reverse(rbm_ais *a)
{
    const size_t K = a->K;
    const double *beta = a->betas;
    size_t burn;
    rbm_status st = ais_reverse_start(a, &burn);
    if (st)
        return st;
    size_t total = burn + K - 1;
    for (size_t s = 0; s < burn; s++) {
        ais_hidden_field(a);
        ais_transition(a, 1.0);
        if (ais_report(a, s + 1, total))
            return RBM_STOPPED;
    }
    for (size_t k = K - 1; k >= 1; k--) {
        ais_hidden_field(a);
        ais_weight(a, k - 1, beta[k], beta[k - 1], -1.0);
        if (k - 1 >= 1)
            ais_transition(a, beta[k - 1]);
        if (ais_report(a, burn + (K - k), total))
            return RBM_STOPPED;
    }
    return RBM_OK;
}

/* The convergence evidence of the run just made: ESS from the scaled
 * weight sums, the variance of log w, and the step variances added to
 * vsum. */
static void ais_finish_diagnostics(rbm_ais *a, double s1, double s2)
{
    const size_t R = a->R;
    double m = 0, q = 0;
    for (size_t r = 0; r < R; r++)
        m += a->lw[r];
    m /= (double)R;
    for (size_t r = 0; r < R; r++)
        q += (a->lw[r] - m) * (a->lw[r] - m);
    a->lwvar = q / (double)(R - 1);
    a->ess = s1 * s1 / s2;
    for (size_t k = 0; k + 1 < a->K; k++) {
        double mk = a->dsum[k] / (double)R;
        double vk = (a->dsq[k] - (double)R * mk * mk) / (double)(R - 1);
        a->vsum[k] += vk > 0 ? vk : 0;
    }
    a->n_var++;
    a->ran = 1;
}

rbm_status rbm_ais_run(rbm_ais *a, int reverse, double *log_z, double *log_z_stderr)
{
    if (!a)
        return RBM_ERR_NULL;
    const size_t R = a->R;
    memset(a->lw, 0, R * sizeof(double));
    memset(a->dsum, 0, 2 * (a->K - 1) * sizeof(double));
    a->ran = 0;
    rbm_status st = reverse ? ais_reverse(a) : ais_forward(a);
    if (st)
        return st;
    double M = -INFINITY;
    for (size_t r = 0; r < R; r++)
        if (a->lw[r] > M)
            M = a->lw[r];
    if (!isfinite(M))
        return rbm__fail(a->ctx, RBM_ERR_NUMERICAL, "AIS importance weights are not finite");
    double s1 = 0, s2 = 0;
    for (size_t r = 0; r < R; r++) {
        double w = exp(a->lw[r] - M);
        s1 += w;
        s2 += w * w;
    }
    double mean = s1 / (double)R;
    double var = s2 / (double)R - mean * mean;
    if (var < 0)
        var = 0;
    double lmean = M + log(mean);
    double se = sqrt(var * (double)R / (double)(R - 1) / (double)R) / mean;
    ais_finish_diagnostics(a, s1, s2);
    if (log_z)
        *log_z = reverse ? a->log_za - lmean : a->log_za + lmean;
    if (log_z_stderr)
        *log_z_stderr = se;
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* convergence evidence and the adaptive schedule                           */

rbm_status rbm_ais_diagnostics(const rbm_ais *a, double *ess, double *log_weight_var)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!a->ran)
        return rbm__fail(a->ctx, RBM_ERR_STATE, "rbm_ais_diagnostics: no completed AIS run");
    if (ess)
        *ess = a->ess;
    if (log_weight_var)
        *log_weight_var = a->lwvar;
    return RBM_OK;
}

size_t rbm_ais_schedule_length(const rbm_ais *a)
{
    return a ? a->K : 0;
}

rbm_status rbm_ais_get_schedule(const rbm_ais *a, double *betas, size_t len)
{
    if (!a)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(a->ctx, betas, len, a->K, "rbm_ais_get_schedule: betas");
    if (st)
        return st;
    memcpy(betas, a->betas, a->K * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_ais_get_step_variance(const rbm_ais *a, double *var, size_t len)
{
    if (!a)
        return RBM_ERR_NULL;
    if (a->n_var == 0)
        return rbm__fail(a->ctx, RBM_ERR_STATE,
                         "rbm_ais_get_step_variance: no AIS run with the current schedule");
    rbm_status st =
        rbm__check_array(a->ctx, var, len, a->K - 1, "rbm_ais_get_step_variance: var");
    if (st)
        return st;
    for (size_t k = 0; k + 1 < a->K; k++)
        var[k] = a->vsum[k] / (double)a->n_var;
    return RBM_OK;
}

int32_t rbm_ais_bracket_converged(double log_z_fwd, double se_fwd, double ess_fwd,
                                  double log_z_rev, double se_rev, double ess_rev, size_t runs,
                                  double tol)
{
    if (!isfinite(log_z_fwd) || !isfinite(log_z_rev) || !isfinite(se_fwd) ||
        !isfinite(se_rev) || !(tol >= 0) || runs < 2)
        return 0;
    double se = sqrt(se_fwd * se_fwd + se_rev * se_rev);
    double width = log_z_rev - log_z_fwd;
    double ess_min = RBM_AIS_MIN_ESS_FRACTION * (double)runs;
    return width >= -2 * se && width <= tol && ess_fwd >= ess_min && ess_rev >= ess_min;
}

rbm_status rbm_ais_adapt_schedule(rbm_ais *a, size_t n)
{
    if (!a)
        return RBM_ERR_NULL;
    if (n < 2 || n > RBM_AIS_MAX_BETAS)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_ais_adapt_schedule: n must be in 2..%d (got %zu)",
                         RBM_AIS_MAX_BETAS, n);
    if (a->n_var == 0)
        return rbm__fail(a->ctx, RBM_ERR_STATE,
                         "rbm_ais_adapt_schedule: no AIS run with the current schedule");
    const size_t S = a->K - 1;
    /* thermodynamic length per step: sqrt(Var_k) = sqrt(V(beta)) dbeta,
     * plus a uniform tenth so that no interval is left empty */
    double total = 0;
    for (size_t k = 0; k < S; k++)
        total += sqrt(a->vsum[k] / (double)a->n_var);
    if (!isfinite(total))
        return rbm__fail(a->ctx, RBM_ERR_NUMERICAL,
                         "rbm_ais_adapt_schedule: the step variances are not finite");
    double floor_density = total > 0 ? 0.1 * total : 1.0;
    double *b;
    rbm_status st = rbm__xcalloc(a->ctx, n, sizeof(double), &b, "AIS schedule");
    if (st)
        return st;
    double Ltot = total + floor_density, acc = 0;
    size_t k = 0, j = 1;
    b[0] = 0.0;
    for (; k < S && j + 1 < n; k++) {
        double b0 = a->betas[k], b1 = a->betas[k + 1];
        double len = sqrt(a->vsum[k] / (double)a->n_var) + floor_density * (b1 - b0);
        while (j + 1 < n && (double)j * Ltot / (double)(n - 1) <= acc + len) {
            double f = len > 0 ? ((double)j * Ltot / (double)(n - 1) - acc) / len : 1.0;
            double x = b0 + f * (b1 - b0);
            /* strictly increasing, inside (0, 1) */
            double lo = nextafter(b[j - 1], 2.0);
            b[j++] = x > lo ? x : lo;
        }
        acc += len;
    }
    while (j + 1 < n) { /* rounding left targets: spread them up to 1 */
        b[j] = b[j - 1] + (1.0 - b[j - 1]) / (double)(n - j);
        j++;
    }
    b[n - 1] = 1.0;
    for (size_t i = 1; i < n; i++)
        if (!(b[i] > b[i - 1])) {
            rbm__free(a->ctx, b);
            return rbm__fail(a->ctx, RBM_ERR_NUMERICAL,
                             "rbm_ais_adapt_schedule: %zu temperatures cannot resolve the "
                             "variance profile",
                             n);
        }
    return install_schedule(a, b, n);
}

/* Forward then reverse with the current schedule, and their diagnostics. */
static rbm_status run_pair(rbm_ais *a, double out[6])
{
    rbm_status st;
    if ((st = rbm_ais_run(a, 0, &out[0], &out[1])))
        return st;
    out[2] = a->ess;
    if ((st = rbm_ais_run(a, 1, &out[3], &out[4])))
        return st;
    out[5] = a->ess;
    return RBM_OK;
}

rbm_status rbm_ais_run_adaptive(rbm_ais *a, double tol, size_t max_betas, double *log_z_fwd,
                                double *se_fwd, double *log_z_rev, double *se_rev,
                                int32_t *converged)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!(tol >= 0) || !isfinite(tol))
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_ais_run_adaptive: tol must be finite and >= 0 (got %g)", tol);
    if (max_betas < 2 || max_betas > RBM_AIS_MAX_BETAS)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_ais_run_adaptive: max_betas must be in 2..%d (got %zu)",
                         RBM_AIS_MAX_BETAS, max_betas);
    double r[6];
    rbm_status st = run_pair(a, r);
    int32_t ok = st ? 0 : rbm_ais_bracket_converged(r[0], r[1], r[2], r[3], r[4], r[5], a->R, tol);
    while (!st && !ok && 2 * a->K - 1 <= max_betas) {
        if ((st = rbm_ais_adapt_schedule(a, 2 * a->K - 1)) || (st = run_pair(a, r)))
            break;
        ok = rbm_ais_bracket_converged(r[0], r[1], r[2], r[3], r[4], r[5], a->R, tol);
    }
    if (st)
        return st;
    if (log_z_fwd)
        *log_z_fwd = r[0];
    if (se_fwd)
        *se_fwd = r[1];
    if (log_z_rev)
        *log_z_rev = r[3];
    if (se_rev)
        *se_rev = r[4];
    if (converged)
        *converged = ok;
    return RBM_OK;
}
