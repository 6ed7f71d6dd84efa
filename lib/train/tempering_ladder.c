/* librbm — tempering_ladder: the automatic ladder (beta placement), the
 * choice of models of a trajectory ladder, the undo copy and the checkpoint
 * part of a tempering sampler (docs/theory.md §10; log Z from the ladder is
 * in tempering_log_z.c). */
#include "core/internal.h"
#include "train/checkpoint.h"
#include "train/tempering.h"
#include "train/tempering_impl.h"
#include "train/tempering_ops.h"

#include <math.h>
#include <string.h>

/* ---------------- rebuilding the ladder ---------------- */

/* Replace the state of t by one with R2 rungs whose chains come from old
 * rungs src[0..R2): for a temperature ladder at betas2 (rungs made anew),
 * for a trajectory by moving the old rung machines src[i] (strictly
 * increasing). Walkers and statistics restart. On failure t is unchanged. */
static rbm_status rebuild(rbm_tempering *t, size_t R2, const size_t *src, const double *betas2)
{
    rbm_tempering nt = *t;
    nt.rung = NULL, nt.beta = NULL, nt.v = NULL, nt.h = NULL, nt.fh = NULL;
    nt.walker = NULL, nt.wphase = NULL, nt.wstart = NULL, nt.acc = NULL, nt.prop = NULL;
    nt.psum = NULL, nt.fv = NULL, nt.xu = NULL, nt.xd = NULL, nt.Fs = NULL, nt.Fx = NULL;
    nt.wf = NULL, nt.wr = NULL, nt.bscratch = NULL;
    rbm_status st = rbm__tempering_alloc_state(&nt, R2, betas2 != NULL);
    if (!st && betas2) {
        memcpy(nt.beta, betas2, R2 * sizeof(double));
        st = rbm__tempering_build_rungs(&nt);
    }
    if (st) {
        rbm__tempering_free_state(&nt);
        return st;
    }
    const size_t n = t->n, nv = t->nv, nh = t->nh;
    for (size_t i = 0; i < R2; i++) {
        memcpy(nt.v + i * n * nv, t->v + src[i] * n * nv, n * nv * sizeof(double));
        memcpy(nt.h + i * n * nh, t->h + src[i] * n * nh, n * nh * sizeof(double));
        if (!betas2) { /* move the machine: the old state must not free it */
            nt.rung[i] = t->rung[src[i]];
            t->rung[src[i]] = NULL;
        }
    }
    if (!betas2)
        rbm__tempering_update_log_z0(&nt);
    rbm__tempering_own_fields(&nt);
    rbm__tempering_reset_walkers(&nt);
    rbm__tempering_free_state(t);
    *t = nt;
    return RBM_OK;
}

/* Mean acceptance probability of pair r in the current statistics. */
static double mean_acceptance(const rbm_tempering *t, size_t r)
{
    return t->prop[r] ? t->psum[r] / (double)t->prop[r] : NAN;
}

/* R2 betas at equal steps of the cumulative rejection of the current
 * ladder (piecewise linear in beta) into out. */
static void place_betas(const rbm_tempering *t, size_t R2, double *out)
{
    const size_t R = t->R;
    double total = 0;
    for (size_t r = 0; r + 1 < R; r++)
        total += fmax(1 - mean_acceptance(t, r), 1e-9);
    out[0] = 0;
    size_t k = 0;
    double below = 0; /* cumulative rejection at beta_k */
    for (size_t i = 1; i + 1 < R2; i++) {
        double y = total * (double)i / (double)(R2 - 1);
        double step = fmax(1 - mean_acceptance(t, k), 1e-9);
        while (k + 2 < R && below + step < y) {
            below += step;
            k++;
            step = fmax(1 - mean_acceptance(t, k), 1e-9);
        }
        double f = fmin(fmax((y - below) / step, 0), 1);
        out[i] = t->beta[k] + f * (t->beta[k + 1] - t->beta[k]);
        if (!(out[i] > out[i - 1])) /* keep them strictly increasing */
            out[i] = nextafter(out[i - 1], 2.0);
    }
    out[R2 - 1] = 1;
}

static bool all_proposed(const rbm_tempering *t)
{
    for (size_t r = 0; r + 1 < t->R; r++)
        if (t->prop[r] == 0)
            return false;
    return true;
}

void rbm__tempering_respace(rbm_tempering *t)
{
    if (!t->beta || !all_proposed(t))
        return;
    place_betas(t, t->R, t->bscratch);
    memcpy(t->beta, t->bscratch, t->R * sizeof(double));
    for (size_t r = 0; r < t->R; r++)
        rbm__tempering_set_rung(t, t->rung[r], t->beta[r]);
    rbm__tempering_update_log_z0(t);
    rbm__tempering_own_fields(t);
    rbm_tempering_reset_stats(t);
}

/* ---------------- automatic ladder ---------------- */

static bool measure(rbm_tempering *t, size_t sweeps, double target)
{
    rbm_tempering_reset_stats(t);
    for (size_t s = 0; s < sweeps; s++)
        rbm__tempering_sweep(t);
    for (size_t r = 0; r + 1 < t->R; r++)
        if (!(mean_acceptance(t, r) >= target))
            return false;
    return true;
}

/* The betas of the next round into a new array (caller frees) and their
 * number: as many rungs as make each step of cumulative rejection at most
 * 1 - target (max_r = 0: the same number). */
static rbm_status next_betas(rbm_tempering *t, double target, size_t max_r, double **out,
                             size_t *R2)
{
    double total = 0;
    for (size_t r = 0; r + 1 < t->R; r++)
        total += fmax(1 - mean_acceptance(t, r), 1e-9);
    size_t want = t->R;
    if (max_r) {
        double need = ceil(total / (1 - target)) + 1;
        want = need > (double)max_r ? max_r : need < 2 ? 2 : (size_t)need;
    }
    rbm_status st = rbm__xcalloc(t->ctx, want, sizeof(double), out, "tempering betas");
    if (st)
        return st;
    place_betas(t, want, *out);
    *R2 = want;
    return RBM_OK;
}

/* For each new beta the old rung nearest to it. */
static void nearest_rungs(const rbm_tempering *t, const double *b2, size_t R2, size_t *src)
{
    size_t k = 0;
    for (size_t i = 0; i < R2; i++) {
        while (k + 1 < t->R && fabs(t->beta[k + 1] - b2[i]) <= fabs(t->beta[k] - b2[i]))
            k++;
        src[i] = k;
    }
}

rbm_status rbm_tempering_tune(rbm_tempering *t, double target, size_t max_replicas,
                              size_t rounds, size_t sweeps_per_round, int32_t *reached)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!t->beta)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_tempering_tune places betas; a trajectory ladder chooses models "
                         "(rbm_tempering_select_models)");
    if (!(target > 0 && target < 1) || rounds == 0 || sweeps_per_round == 0 ||
        max_replicas == 1 || max_replicas > RBM_TEMPERING_MAX_REPLICAS)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_tempering_tune: target %g must be in (0, 1), rounds %zu and sweeps "
                         "%zu >= 1, max_replicas %zu 0 or 2..%d",
                         target, rounds, sweeps_per_round, max_replicas,
                         RBM_TEMPERING_MAX_REPLICAS);
    bool ok = false;
    for (size_t round = 0; round < rounds; round++) {
        if ((ok = measure(t, sweeps_per_round, target)) || round + 1 == rounds)
            break;
        double *b2;
        size_t R2, *src;
        rbm_status st = next_betas(t, target, max_replicas, &b2, &R2);
        if (st)
            return st;
        if ((st = rbm__xcalloc(t->ctx, R2, sizeof(size_t), &src, "tempering rungs"))) {
            rbm__free(t->ctx, b2);
            return st;
        }
        nearest_rungs(t, b2, R2, src);
        st = rebuild(t, R2, src, b2);
        rbm__free(t->ctx, b2);
        rbm__free(t->ctx, src);
        if (st)
            return st;
    }
    rbm_tempering_reset_stats(t);
    if (reached)
        *reached = ok ? 1 : 0;
    return RBM_OK;
}

/* ---------------- choosing the models of a trajectory ---------------- */

/* F[(r * R + s) * n + c] = F_s(v of chain c of rung r), every pair. */
static void all_free_energies(rbm_tempering *t, double *F)
{
    const size_t R = t->R, n = t->n, nv = t->nv, nh = t->nh;
    for (size_t r = 0; r < R; r++) {
        const double *v = t->v + r * n * nv;
        for (size_t s = 0; s < R; s++) {
            rbm__kern_f64.hidden_field(rbm__machine_view_of(t->rung[s]), n, v, t->xu);
            for (size_t c = 0; c < n; c++)
                F[(r * R + s) * n + c] =
                    rbm__tempering_free_energy(t, s, v + c * nv, t->xu + c * nh);
        }
    }
}

/* Greedy choice from the pair acceptances A (R x R, upper triangle). */
static size_t choose(const double *A, size_t R, double target, size_t *keep)
{
    size_t nk = 0, r = 0;
    keep[nk++] = 0;
    while (r + 1 < R) {
        size_t next = r + 1;
        for (size_t s = r + 1; s < R; s++)
            if (A[r * R + s] >= target)
                next = s;
        keep[nk++] = next;
        r = next;
    }
    return nk;
}

rbm_status rbm_tempering_select_models(rbm_tempering *t, double target, size_t sweeps,
                                       size_t *keep, size_t keep_len, size_t *n_kept)
{
    if (!t)
        return RBM_ERR_NULL;
    if (t->beta)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_tempering_select_models needs a trajectory ladder");
    if (!(target > 0 && target < 1) || sweeps == 0)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_tempering_select_models: target %g must be in (0, 1), sweeps >= 1",
                         target);
    const size_t R = t->R, n = t->n;
    if (keep && keep_len < R)
        return rbm__fail(t->ctx, RBM_ERR_SHAPE, "keep holds %zu entries, the ladder has %zu rungs",
                         keep_len, R);
    double *F, *A;
    size_t *k2;
    rbm_status st;
    if ((st = rbm__xcalloc(t->ctx, R * R * n, sizeof(double), &F, "pair free energies")))
        return st;
    if ((st = rbm__xcalloc(t->ctx, R * R, sizeof(double), &A, "pair acceptances")) ||
        (st = rbm__xcalloc(t->ctx, R, sizeof(size_t), &k2, "kept rungs"))) {
        rbm__free(t->ctx, F);
        rbm__free(t->ctx, A);
        return st;
    }
    for (size_t s = 0; s < sweeps; s++) {
        rbm__tempering_sweep(t);
        all_free_energies(t, F);
        for (size_t a = 0; a < R; a++)
            for (size_t b = a + 1; b < R; b++)
                for (size_t c = 0; c < n; c++) {
                    double d = F[(a * R + a) * n + c] + F[(b * R + b) * n + c] -
                               F[(b * R + a) * n + c] - F[(a * R + b) * n + c];
                    A[a * R + b] += (d >= 0 ? 1.0 : exp(d)) / (double)(sweeps * n);
                }
    }
    size_t nk = choose(A, R, target, k2);
    st = rebuild(t, nk, k2, NULL);
    if (!st) {
        if (keep)
            memcpy(keep, k2, nk * sizeof(size_t));
        if (n_kept)
            *n_kept = nk;
    }
    rbm__free(t->ctx, F);
    rbm__free(t->ctx, A);
    rbm__free(t->ctx, k2);
    return st;
}

/* ---------------- undo copy ---------------- */

struct rbm__tempering_saved {
    size_t R, n;
    double *v, *h, *fh, *beta, *psum;
    uint64_t *walker, *wstart, *acc, *prop;
    uint8_t *wphase;
    rbm_rng rng;
    uint64_t sweeps, trips;
    double trip_sum, log_z0;
};

void rbm__tempering_saved_free(rbm_context *ctx, rbm__tempering_saved *s)
{
    if (!s)
        return;
    void *bufs[] = {s->v, s->h, s->fh, s->beta, s->psum, s->walker, s->wstart,
                    s->acc, s->prop, s->wphase};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rbm__free(ctx, bufs[i]);
    rbm__free(ctx, s);
}

rbm_status rbm__tempering_saved_new(const rbm_tempering *t, rbm__tempering_saved **out)
{
    rbm_context *ctx = t->ctx;
    rbm__tempering_saved *s;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *s, &s, "tempering undo copy");
    if (st)
        return st;
    const size_t Rn = t->R * t->n;
    s->R = t->R;
    s->n = t->n;
    if ((st = rbm__xcalloc(ctx, Rn * t->nv, sizeof(double), &s->v, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, Rn * t->nh, sizeof(double), &s->h, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, Rn * t->nh, sizeof(double), &s->fh, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, t->R, sizeof(double), &s->beta, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, t->R, sizeof(double), &s->psum, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, Rn, sizeof(uint64_t), &s->walker, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, Rn, sizeof(uint64_t), &s->wstart, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, t->R, sizeof(uint64_t), &s->acc, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, t->R, sizeof(uint64_t), &s->prop, "tempering undo copy")) ||
        (st = rbm__xcalloc(ctx, Rn, 1, &s->wphase, "tempering undo copy"))) {
        rbm__tempering_saved_free(ctx, s);
        return st;
    }
    *out = s;
    return RBM_OK;
}

/* Copy the mutable state between t and s (to_saved: t -> s). */
static void transfer(rbm_tempering *t, rbm__tempering_saved *s, bool to_saved)
{
    const size_t Rn = t->R * t->n, R = t->R;
#define XFER(field, count, elem)                                                                   \
    do {                                                                                       \
        if (to_saved)                                                                          \
            memcpy(s->field, t->field, (count) * (elem));                                      \
        else                                                                                   \
            memcpy(t->field, s->field, (count) * (elem));                                      \
    } while (0)
    XFER(v, Rn * t->nv, sizeof(double));
    XFER(h, Rn * t->nh, sizeof(double));
    XFER(fh, Rn * t->nh, sizeof(double));
    if (t->beta)
        XFER(beta, R, sizeof(double));
    XFER(psum, R, sizeof(double));
    XFER(walker, Rn, sizeof(uint64_t));
    XFER(wstart, Rn, sizeof(uint64_t));
    XFER(acc, R, sizeof(uint64_t));
    XFER(prop, R, sizeof(uint64_t));
    XFER(wphase, Rn, 1);
#undef XFER
    if (to_saved) {
        s->rng = t->rng, s->sweeps = t->sweeps, s->trips = t->trips;
        s->trip_sum = t->trip_sum, s->log_z0 = t->log_z0;
    } else {
        t->rng = s->rng, t->sweeps = s->sweeps, t->trips = s->trips;
        t->trip_sum = s->trip_sum, t->log_z0 = s->log_z0;
    }
}

void rbm__tempering_save(const rbm_tempering *t, rbm__tempering_saved *s)
{
    transfer((rbm_tempering *)t, s, true);
}

void rbm__tempering_restore(rbm_tempering *t, const rbm__tempering_saved *s)
{
    transfer(t, (rbm__tempering_saved *)s, false);
    if (t->beta)
        for (size_t r = 0; r < t->R; r++)
            rbm__tempering_set_rung(t, t->rung[r], t->beta[r]);
}

/* ---------------- checkpoint part ---------------- */

void rbm__tempering_write_state(const rbm_tempering *t, rbm__wbuf *w)
{
    const size_t R = t->R, n = t->n, Rn = R * n;
    rbm__wbuf_u64(w, R);
    rbm__wbuf_u64(w, n);
    rbm__wbuf_f64s(w, t->beta, R);
    rbm__wbuf_u64(w, t->sweeps);
    rbm__ckpt_put_rng(w, &t->rng);
    rbm__wbuf_f64s(w, t->v, Rn * t->nv);
    rbm__wbuf_f64s(w, t->h, Rn * t->nh);
    rbm__wbuf_f64s(w, t->fh, Rn * t->nh);
    for (size_t x = 0; x < Rn; x++)
        rbm__wbuf_u64(w, t->walker[x]);
    for (size_t x = 0; x < Rn; x++) {
        rbm__wbuf_u32(w, t->wphase[x]);
        rbm__wbuf_u64(w, t->wstart[x]);
    }
    for (size_t r = 0; r + 1 < R; r++) {
        rbm__wbuf_u64(w, t->acc[r]);
        rbm__wbuf_u64(w, t->prop[r]);
        rbm__wbuf_f64(w, t->psum[r]);
    }
    rbm__wbuf_u64(w, t->trips);
    rbm__wbuf_f64(w, t->trip_sum);
}

rbm_status rbm__tempering_peek_shape(rbm__ckpt_in *in, uint64_t *R, uint64_t *n)
{
    rbm__rbuf r = in->r;
    *R = rbm__rbuf_u64(&r);
    *n = rbm__rbuf_u64(&r);
    if (r.short_read)
        return rbm__ckpt_bad(in, "training state truncated at the tempering replicas");
    if (*R < 2 || *R > RBM_TEMPERING_MAX_REPLICAS || *n == 0 || *n > INT32_MAX)
        return rbm__ckpt_bad(in, "training state: %llu tempering replicas of %llu chains",
                             (unsigned long long)*R, (unsigned long long)*n);
    return RBM_OK;
}

/* Walker labels: a permutation of 0..Rn-1, then their phases and starts. */
static rbm_status read_walkers(rbm_tempering *t, rbm__ckpt_in *in)
{
    const size_t Rn = t->R * t->n;
    memset(t->wphase, 0, Rn);
    for (size_t x = 0; x < Rn; x++) {
        uint64_t l = rbm__rbuf_u64(&in->r);
        if (in->r.short_read || l >= Rn || t->wphase[l])
            return rbm__ckpt_bad(in, "training state: tempering walker label %zu is %s", x,
                                 in->r.short_read ? "missing" : "out of range or repeated");
        t->wphase[l] = 1;
        t->walker[x] = l;
    }
    for (size_t x = 0; x < Rn; x++) {
        uint32_t ph = rbm__rbuf_u32(&in->r);
        uint64_t start = rbm__rbuf_u64(&in->r);
        if (in->r.short_read || ph > WALK_AT_TOP || start > t->sweeps)
            return rbm__ckpt_bad(in, "training state: tempering walker %zu has an invalid phase",
                                 x);
        t->wphase[x] = (uint8_t)ph;
        t->wstart[x] = start;
    }
    return RBM_OK;
}

static rbm_status read_stats(rbm_tempering *t, rbm__ckpt_in *in)
{
    for (size_t r = 0; r + 1 < t->R; r++) {
        t->acc[r] = rbm__rbuf_u64(&in->r);
        t->prop[r] = rbm__rbuf_u64(&in->r);
        t->psum[r] = rbm__rbuf_f64(&in->r);
        if (in->r.short_read || t->acc[r] > t->prop[r] || !(t->psum[r] >= 0) ||
            !(t->psum[r] <= (double)t->prop[r]))
            return rbm__ckpt_bad(in, "training state: invalid swap statistics of pair %zu", r);
    }
    t->trips = rbm__rbuf_u64(&in->r);
    t->trip_sum = rbm__rbuf_f64(&in->r);
    if (in->r.short_read || !(t->trip_sum >= 0) || !isfinite(t->trip_sum))
        return rbm__ckpt_bad(in, "training state: invalid round-trip statistics");
    return RBM_OK;
}

rbm_status rbm__tempering_read_state(rbm_tempering *t, rbm__ckpt_in *in)
{
    uint64_t R, n;
    rbm_status st = rbm__tempering_peek_shape(in, &R, &n);
    if (st)
        return st;
    if (R != t->R || n != t->n)
        return rbm__ckpt_bad(in, "training state: %llu x %llu tempering chains, estimator has "
                             "%zu x %zu", (unsigned long long)R, (unsigned long long)n, t->R,
                             t->n);
    rbm__rbuf_take(&in->r, 16);
    const size_t Rn = t->R * t->n;
    if ((st = rbm__ckpt_get_f64s(in, t->beta, t->R, "tempering beta")))
        return st;
    if (rbm__tempering_check_betas(t->ctx, t->beta, t->R))
        return rbm__ckpt_bad(in, "training state: invalid tempering betas");
    t->sweeps = rbm__rbuf_u64(&in->r);
    if ((st = rbm__ckpt_get_rng(in, &t->rng, "tempering rng")) ||
        (st = rbm__ckpt_get_f64s(in, t->v, Rn * t->nv, "tempering visible state")) ||
        (st = rbm__ckpt_get_f64s(in, t->h, Rn * t->nh, "tempering hidden state")) ||
        (st = rbm__ckpt_get_f64s(in, t->fh, Rn * t->nh, "tempering hidden field")) ||
        (st = read_walkers(t, in)) || (st = read_stats(t, in)))
        return st;
    for (size_t r = 0; r < t->R; r++)
        rbm__tempering_set_rung(t, t->rung[r], t->beta[r]);
    rbm__tempering_update_log_z0(t);
    return RBM_OK;
}
