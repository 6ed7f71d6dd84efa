/* librbm — tempering: replica-exchange (parallel tempering) sampler over a
 * ladder of rung machines; creation, sweeps, swaps, statistics
 * (docs/theory.md §10). Ladder tuning, model selection, BAR log Z and the
 * checkpoint part are in tempering_ladder.c. */
#include "core/internal.h"
#include "model/machine.h"
#include "train/tempering.h"
#include "train/tempering_impl.h"
#include "train/tempering_ops.h"

#include <math.h>
#include <string.h>

static const rbm__kern *K64 = &rbm__kern_f64;

/* ---------------- rungs ---------------- */

/* Exact log Z of an independent-site machine (W = 0) with biases a, b. */
static double independent_log_z(const rbm_tempering *t, const double *a, const double *b)
{
    double lz = 0;
    for (size_t i = 0; i < t->nv; i++)
        lz += rbm__unit_logpart(t->vk, t->sigma_v, a[i]);
    for (size_t j = 0; j < t->nh; j++)
        lz += rbm__unit_logpart(t->hk, t->sigma_h, b[j]);
    return lz;
}

/* Rung parameters of a temperature ladder: beta W, beta b,
 * (1 - beta) a_base + beta a. */
void rbm__tempering_set_rung(rbm_tempering *t, rbm_machine *rung, double beta)
{
    const rbm__machine_view *mv = rbm__machine_view_of(t->m);
    double *W, *a, *b;
    rbm__machine_params_mut(rung, &W, &a, &b);
    const size_t nw = t->nv * t->nh;
    for (size_t x = 0; x < nw; x++)
        W[x] = beta * mv->W[x];
    for (size_t i = 0; i < t->nv; i++)
        a[i] = (1 - beta) * t->abase[i] + beta * mv->a[i];
    for (size_t j = 0; j < t->nh; j++)
        b[j] = beta * mv->b[j];
    rbm__machine_sync(rung);
}

/* A float64 machine of the ladder's shape, kinds and sigmas. */
rbm_status rbm__tempering_new_rung(rbm_tempering *t, rbm_machine **out)
{
    rbm_machine *r;
    rbm_status st = rbm_machine_new(t->ctx, t->nv, t->nh, t->vk, t->hk, &r);
    if (st)
        return st;
    if ((t->vk == RBM_UNIT_GAUSSIAN &&
         (st = rbm_machine_set_sigma(r, RBM_LAYER_VISIBLE, t->sigma_v))) ||
        (t->hk == RBM_UNIT_GAUSSIAN &&
         (st = rbm_machine_set_sigma(r, RBM_LAYER_HIDDEN, t->sigma_h)))) {
        rbm_machine_free(r);
        return st;
    }
    *out = r;
    return RBM_OK;
}

void rbm__tempering_update_log_z0(rbm_tempering *t)
{
    const rbm__machine_view *r0 = rbm__machine_view_of(t->rung[0]);
    t->log_z0 = independent_log_z(t, r0->a, r0->b);
}

/* ---------------- allocation ---------------- */

void rbm__tempering_free_state(rbm_tempering *t)
{
    rbm_context *ctx = t->ctx;
    if (t->rung)
        for (size_t r = 0; r < t->R; r++)
            rbm_machine_free(t->rung[r]);
    void *bufs[] = {t->rung, t->beta, t->v,  t->h,  t->fh, t->walker, t->wphase,
                    t->wstart, t->acc, t->prop, t->psum, t->fv, t->xu, t->xd,
                    t->Fs,   t->Fx,  t->wf, t->wr, t->bscratch};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rbm__free(ctx, bufs[i]);
}

void rbm_tempering_free(rbm_tempering *t)
{
    if (!t)
        return;
    rbm__tempering_free_state(t);
    rbm__free(t->ctx, t->abase);
    rbm__free(t->ctx, t);
}

/* Every R- and n-sized buffer of t (fields NULL before), zeroed. The rung
 * machines are not made here. */
rbm_status rbm__tempering_alloc_state(rbm_tempering *t, size_t R, bool betas)
{
    rbm_context *ctx = t->ctx;
    size_t n = t->n, Rn, Rnv, Rnh, nv = t->nv, nh = t->nh;
    if (!rbm__mul_ok(R, n, &Rn) || !rbm__mul_ok(Rn, nv, &Rnv) || !rbm__mul_ok(Rn, nh, &Rnh) ||
        !rbm__mul_ok(n, nv > nh ? nv : nh, &(size_t){0}))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu replicas of %zu chains overflow", R, n);
    rbm_status st;
    if ((st = rbm__xcalloc(ctx, R, sizeof *t->rung, &t->rung, "tempering rungs")) ||
        (betas && (st = rbm__xcalloc(ctx, R, sizeof(double), &t->beta, "tempering betas"))) ||
        (st = rbm__xcalloc(ctx, Rnv, sizeof(double), &t->v, "tempering chains")) ||
        (st = rbm__xcalloc(ctx, Rnh, sizeof(double), &t->h, "tempering chains")) ||
        (st = rbm__xcalloc(ctx, Rnh, sizeof(double), &t->fh, "tempering chains")) ||
        (st = rbm__xcalloc(ctx, Rn, sizeof(uint64_t), &t->walker, "tempering walkers")) ||
        (st = rbm__xcalloc(ctx, Rn, 1, &t->wphase, "tempering walkers")) ||
        (st = rbm__xcalloc(ctx, Rn, sizeof(uint64_t), &t->wstart, "tempering walkers")) ||
        (st = rbm__xcalloc(ctx, R, sizeof(uint64_t), &t->acc, "tempering statistics")) ||
        (st = rbm__xcalloc(ctx, R, sizeof(uint64_t), &t->prop, "tempering statistics")) ||
        (st = rbm__xcalloc(ctx, R, sizeof(double), &t->psum, "tempering statistics")) ||
        (st = rbm__xcalloc(ctx, n * nv, sizeof(double), &t->fv, "tempering scratch")) ||
        (st = rbm__xcalloc(ctx, n * nh, sizeof(double), &t->xu, "tempering scratch")) ||
        (st = rbm__xcalloc(ctx, n * nh, sizeof(double), &t->xd, "tempering scratch")) ||
        (st = rbm__xcalloc(ctx, n, sizeof(double), &t->Fs, "tempering scratch")) ||
        (st = rbm__xcalloc(ctx, n, sizeof(double), &t->Fx, "tempering scratch")) ||
        (st = rbm__xcalloc(ctx, n, sizeof(double), &t->wf, "tempering scratch")) ||
        (st = rbm__xcalloc(ctx, n, sizeof(double), &t->wr, "tempering scratch")) ||
        (st = rbm__xcalloc(ctx, R, sizeof(double), &t->bscratch, "tempering scratch")))
        return st;
    t->R = R;
    return RBM_OK;
}

/* Walker labels r * n + c, phases from the rung they start on. */
void rbm__tempering_reset_walkers(rbm_tempering *t)
{
    const size_t Rn = t->R * t->n;
    for (size_t x = 0; x < Rn; x++) {
        t->walker[x] = x;
        t->wphase[x] = x < t->n ? WALK_FROM_BOTTOM : WALK_NONE;
        t->wstart[x] = t->sweeps;
    }
}

/* fh of rung r's chains from their v (one matrix product). */
static void own_field(rbm_tempering *t, size_t r)
{
    K64->hidden_field(rbm__machine_view_of(t->rung[r]), t->n, t->v + r * t->n * t->nv,
                      t->fh + r * t->n * t->nh);
}

/* Every chain from an exact sample of rung 0 (independent units), then its
 * own field. */
static void start_chains(rbm_tempering *t)
{
    const rbm__machine_view *r0 = rbm__machine_view_of(t->rung[0]);
    const size_t n = t->n, nv = t->nv;
    for (size_t r = 0; r < t->R; r++) {
        double *v = t->v + r * n * nv;
        for (size_t c = 0; c < n; c++)
            memcpy(v + c * nv, r0->a, nv * sizeof(double));
        K64->sample(t->vk, t->sigma_v, n * nv, v, v, &t->rng);
        own_field(t, r);
    }
}

/* The common fields of a new sampler. */
static rbm_status make(rbm_context *ctx, const rbm__machine_view *mv, size_t n_chains,
                       uint64_t seed, rbm_tempering **out)
{
    if (n_chains == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "tempering needs >= 1 chain per replica");
    if (n_chains > (size_t)INT32_MAX)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu chains exceed the BLAS limit", n_chains);
    rbm_tempering *t;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *t, &t, "tempering sampler");
    if (st)
        return st;
    t->ctx = ctx;
    t->n = n_chains;
    t->nv = mv->nv;
    t->nh = mv->nh;
    t->vk = mv->vk;
    t->hk = mv->hk;
    t->sigma_v = mv->sigma_v;
    t->sigma_h = mv->sigma_h;
    rbm__rng_init(&t->rng, ctx, seed);
    *out = t;
    return RBM_OK;
}

rbm_status rbm__tempering_check_betas(rbm_context *ctx, const double *betas, size_t R)
{
    if (betas[0] != 0.0 || betas[R - 1] != 1.0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "betas must run from exactly 0 to exactly 1 (got %g .. %g)", betas[0],
                         betas[R - 1]);
    for (size_t r = 1; r < R; r++)
        if (!(betas[r] > betas[r - 1]))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "betas must increase strictly (beta[%zu] = %g, beta[%zu] = %g)",
                             r - 1, betas[r - 1], r, betas[r]);
    return RBM_OK;
}

/* Rung machines of a temperature ladder from t->beta. */
rbm_status rbm__tempering_build_rungs(rbm_tempering *t)
{
    for (size_t r = 0; r < t->R; r++) {
        rbm_status st = rbm__tempering_new_rung(t, &t->rung[r]);
        if (st)
            return st;
        rbm__tempering_set_rung(t, t->rung[r], t->beta[r]);
    }
    rbm__tempering_update_log_z0(t);
    return RBM_OK;
}

rbm_status rbm_tempering_new(rbm_machine *m, size_t n_replicas, const double *betas,
                             size_t n_chains, uint64_t seed, rbm_tempering **out)
{
    if (out)
        *out = NULL;
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_tempering_new");
    if (potts_st)
        return potts_st;
    if (!m)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm_context *ctx = mv->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_tempering_new: out is NULL");
    if (n_replicas < 2 || n_replicas > RBM_TEMPERING_MAX_REPLICAS)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%zu replicas: need 2..%d", n_replicas,
                         RBM_TEMPERING_MAX_REPLICAS);
    rbm_status st;
    if (betas && (st = rbm__tempering_check_betas(ctx, betas, n_replicas)))
        return st;
    rbm_tempering *t;
    if ((st = make(ctx, mv, n_chains, seed, &t)))
        return st;
    t->m = m;
    if ((st = rbm__xcalloc(ctx, t->nv, sizeof(double), &t->abase, "base biases")) ||
        (st = rbm__tempering_alloc_state(t, n_replicas, true))) {
        rbm_tempering_free(t);
        return st;
    }
    for (size_t r = 0; r < n_replicas; r++)
        t->beta[r] = betas ? betas[r] : (double)r / (double)(n_replicas - 1);
    t->beta[n_replicas - 1] = 1.0;
    if ((st = rbm__tempering_build_rungs(t))) {
        rbm_tempering_free(t);
        return st;
    }
    start_chains(t);
    rbm__tempering_reset_walkers(t);
    *out = t;
    return RBM_OK;
}

static rbm_status check_models(rbm_context *ctx, const rbm_machine *const *models, size_t n)
{
    const rbm__machine_view *m0 = rbm__machine_view_of(models[0]);
    for (size_t i = 1; i < n; i++) {
        if (!models[i])
            return rbm__fail(ctx, RBM_ERR_NULL, "models[%zu] is NULL", i);
        const rbm__machine_view *mi = rbm__machine_view_of(models[i]);
        if (mi->nv != m0->nv || mi->nh != m0->nh)
            return rbm__fail(ctx, RBM_ERR_SHAPE, "models[%zu] is %zu x %zu, models[0] %zu x %zu",
                             i, mi->nv, mi->nh, m0->nv, m0->nh);
        if (mi->vk != m0->vk || mi->hk != m0->hk ||
            (m0->vk == RBM_UNIT_GAUSSIAN && mi->sigma_v != m0->sigma_v) ||
            (m0->hk == RBM_UNIT_GAUSSIAN && mi->sigma_h != m0->sigma_h))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "models[%zu] has other unit kinds or sigmas than models[0]", i);
    }
    return RBM_OK;
}

/* Rung 0: models[0] with W = 0; rung i: a float64 copy of models[i-1]. */
static rbm_status copy_models(rbm_tempering *t, const rbm_machine *const *models)
{
    rbm_status st;
    const rbm__machine_view *m0 = rbm__machine_view_of(models[0]);
    if ((st = rbm__tempering_new_rung(t, &t->rung[0])) ||
        (st = rbm_machine_set_visible_bias(t->rung[0], m0->a, t->nv)) ||
        (st = rbm_machine_set_hidden_bias(t->rung[0], m0->b, t->nh)))
        return st;
    for (size_t r = 1; r < t->R; r++)
        if ((st = rbm_machine_clone(models[r - 1], &t->rung[r])) ||
            (st = rbm_machine_set_precision(t->rung[r], RBM_PRECISION_FLOAT64)))
            return st;
    rbm__tempering_update_log_z0(t);
    return RBM_OK;
}

rbm_status rbm_tempering_new_models(const rbm_machine *const *models, size_t n_models,
                                    size_t n_chains, uint64_t seed, rbm_tempering **out)
{
    if (out)
        *out = NULL;
    if (!models)
        return RBM_ERR_NULL;
    if (n_models == 0) /* no machine, hence no context for a message */
        return RBM_ERR_INVALID_ARGUMENT;
    if (!models[0])
        return RBM_ERR_NULL;
    rbm_status potts_st = rbm__refuse_potts(models[0], "rbm_tempering_new_models");
    if (potts_st) /* the models share models[0]'s kinds (checked below) */
        return potts_st;
    const rbm__machine_view *m0 = rbm__machine_view_of(models[0]);
    rbm_context *ctx = m0->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_tempering_new_models: out is NULL");
    if (n_models >= RBM_TEMPERING_MAX_REPLICAS)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%zu models: at most %d", n_models,
                         RBM_TEMPERING_MAX_REPLICAS - 1);
    rbm_status st = check_models(ctx, models, n_models);
    if (st)
        return st;
    rbm_tempering *t;
    if ((st = make(ctx, m0, n_chains, seed, &t)))
        return st;
    if ((st = rbm__tempering_alloc_state(t, n_models + 1, false)) ||
        (st = copy_models(t, models))) {
        rbm_tempering_free(t);
        return st;
    }
    start_chains(t);
    rbm__tempering_reset_walkers(t);
    *out = t;
    return RBM_OK;
}

/* ---------------- sweeps and swaps ---------------- */

/* One Gibbs sweep of rung r: h ~ p(h | fh), v ~ p(v | h), fh of the new v. */
static void gibbs(rbm_tempering *t, size_t r)
{
    const rbm__machine_view *mv = rbm__machine_view_of(t->rung[r]);
    const size_t n = t->n;
    double *v = t->v + r * n * t->nv, *h = t->h + r * n * t->nh, *fh = t->fh + r * n * t->nh;
    K64->sample(t->hk, t->sigma_h, n * t->nh, fh, h, &t->rng);
    K64->visible_field(mv, n, h, t->fv);
    K64->sample(t->vk, t->sigma_v, n * t->nv, t->fv, v, &t->rng);
    K64->hidden_field(mv, n, v, fh);
}

/* Free energy of v under rung s whose hidden field of v is x, without the
 * confinement sum_i phi_v(v_i), which is the same on every rung:
 * -a_s.v - sum_j Lambda_h(x_j). */
double rbm__tempering_free_energy(const rbm_tempering *t, size_t s, const double *v,
                                  const double *x)
{
    const rbm__machine_view *mv = rbm__machine_view_of(t->rung[s]);
    double f = 0;
    for (size_t i = 0; i < t->nv; i++)
        f -= mv->a[i] * v[i];
    return f - rbm__logpart_sum(t->hk, t->sigma_h, t->nh, x, 1.0);
}

/* Hidden fields of rung `from`'s chains under rung `to` into x: scaled from
 * the own fields on a temperature ladder (beta_from > 0), else one product. */
static void cross_field(rbm_tempering *t, size_t from, size_t to, double *x)
{
    const size_t nn = t->n * t->nh;
    const double *own = t->fh + from * nn;
    if (t->beta && t->beta[from] > 0) {
        const double s = t->beta[to] / t->beta[from];
        for (size_t q = 0; q < nn; q++)
            x[q] = s * own[q];
    } else {
        K64->hidden_field(rbm__machine_view_of(t->rung[to]), t->n, t->v + from * t->n * t->nv,
                          x);
    }
}

void rbm__tempering_pair_work(rbm_tempering *t, size_t r)
{
    const size_t n = t->n, nv = t->nv, nh = t->nh;
    cross_field(t, r, r + 1, t->xu);
    cross_field(t, r + 1, r, t->xd);
    const double *v0 = t->v + r * n * nv, *v1 = t->v + (r + 1) * n * nv;
    const double *f0 = t->fh + r * n * nh, *f1 = t->fh + (r + 1) * n * nh;
    for (size_t c = 0; c < n; c++) {
        double F00 = rbm__tempering_free_energy(t, r, v0 + c * nv, f0 + c * nh);
        double F11 = rbm__tempering_free_energy(t, r + 1, v1 + c * nv, f1 + c * nh);
        double F10 = rbm__tempering_free_energy(t, r + 1, v0 + c * nv, t->xu + c * nh);
        double F01 = rbm__tempering_free_energy(t, r, v1 + c * nv, t->xd + c * nh);
        t->wf[c] = F10 - F00; /* forward work: v_r from rung r to r+1 */
        t->wr[c] = F01 - F11; /* reverse work: v_{r+1} from rung r+1 to r */
    }
}

static void swap_rows(double *a, double *b, double *tmp, size_t len)
{
    memcpy(tmp, a, len * sizeof(double));
    memcpy(a, b, len * sizeof(double));
    memcpy(b, tmp, len * sizeof(double));
}

/* Propose the exchange of every chain of rungs r and r+1. */
static void swap_pair(rbm_tempering *t, size_t r)
{
    const size_t n = t->n, nv = t->nv, nh = t->nh;
    rbm__tempering_pair_work(t, r);
    double *v0 = t->v + r * n * nv, *v1 = t->v + (r + 1) * n * nv;
    double *h0 = t->h + r * n * nh, *h1 = t->h + (r + 1) * n * nh;
    double *f0 = t->fh + r * n * nh, *f1 = t->fh + (r + 1) * n * nh;
    uint64_t *w0 = t->walker + r * n, *w1 = t->walker + (r + 1) * n;
    for (size_t c = 0; c < n; c++) {
        double delta = -(t->wf[c] + t->wr[c]); /* F00 + F11 - F10 - F01 */
        double p = delta >= 0 ? 1.0 : exp(delta);
        t->prop[r]++;
        t->psum[r] += p;
        if (!(delta >= 0 || rbm__rng_uniform(&t->rng) < p))
            continue;
        t->acc[r]++;
        swap_rows(v0 + c * nv, v1 + c * nv, t->fv, nv);
        swap_rows(h0 + c * nh, h1 + c * nh, t->fv, nh);
        memcpy(f0 + c * nh, t->xd + c * nh, nh * sizeof(double));
        memcpy(f1 + c * nh, t->xu + c * nh, nh * sizeof(double));
        uint64_t w = w0[c];
        w0[c] = w1[c];
        w1[c] = w;
    }
}

/* Round trips: a walker on rung 0 after the top completes one. */
static void track_walkers(rbm_tempering *t)
{
    const size_t n = t->n;
    for (size_t c = 0; c < n; c++) {
        uint64_t w = t->walker[c];
        if (t->wphase[w] == WALK_AT_TOP) {
            t->trips++;
            t->trip_sum += (double)(t->sweeps - t->wstart[w]);
        }
        if (t->wphase[w] != WALK_FROM_BOTTOM)
            t->wstart[w] = t->sweeps;
        t->wphase[w] = WALK_FROM_BOTTOM;
        w = t->walker[(t->R - 1) * n + c];
        if (t->wphase[w] == WALK_FROM_BOTTOM)
            t->wphase[w] = WALK_AT_TOP;
    }
}

void rbm__tempering_sweep(rbm_tempering *t)
{
    for (size_t r = 0; r < t->R; r++)
        gibbs(t, r);
    for (size_t r = t->sweeps % 2; r + 1 < t->R; r += 2)
        swap_pair(t, r);
    t->sweeps++;
    track_walkers(t);
}

rbm_status rbm_tempering_run(rbm_tempering *t, size_t n_sweeps)
{
    if (!t)
        return RBM_ERR_NULL;
    for (size_t s = 0; s < n_sweeps; s++)
        rbm__tempering_sweep(t);
    return RBM_OK;
}

/* ---------------- queries ---------------- */

size_t rbm_tempering_replica_count(const rbm_tempering *t)
{
    return t ? t->R : 0;
}

size_t rbm_tempering_chain_count(const rbm_tempering *t)
{
    return t ? t->n : 0;
}

double rbm_tempering_base_log_z(const rbm_tempering *t)
{
    return t ? t->log_z0 : NAN;
}

rbm_rng *rbm_tempering_rng(rbm_tempering *t)
{
    return t ? &t->rng : NULL;
}

rbm_status rbm_tempering_get_betas(const rbm_tempering *t, double *out, size_t len)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!t->beta)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED, "a trajectory ladder has no betas");
    rbm_status st = rbm__check_array(t->ctx, out, len, t->R, "betas");
    if (!st)
        memcpy(out, t->beta, t->R * sizeof(double));
    return st;
}

static rbm_status get_rows(const rbm_tempering *t, size_t r, const void *src, size_t width,
                           size_t elem, void *out, size_t len, const char *what)
{
    if (!t)
        return RBM_ERR_NULL;
    if (r >= t->R)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT, "replica %zu of %zu", r, t->R);
    rbm_status st = rbm__check_array(t->ctx, out, len, t->n * width, what);
    if (!st)
        memcpy(out, (const char *)src + r * t->n * width * elem, t->n * width * elem);
    return st;
}

rbm_status rbm_tempering_get_visible(const rbm_tempering *t, size_t r, double *out, size_t len)
{
    return get_rows(t, r, t ? t->v : NULL, t ? t->nv : 0, sizeof(double), out, len,
                    "visible state buffer");
}

rbm_status rbm_tempering_get_hidden(const rbm_tempering *t, size_t r, double *out, size_t len)
{
    return get_rows(t, r, t ? t->h : NULL, t ? t->nh : 0, sizeof(double), out, len,
                    "hidden state buffer");
}

rbm_status rbm_tempering_get_walkers(const rbm_tempering *t, size_t r, uint64_t *out,
                                     size_t len)
{
    return get_rows(t, r, t ? t->walker : NULL, 1, sizeof(uint64_t), out, len,
                    "walker buffer");
}

rbm_status rbm_tempering_swap_stats(const rbm_tempering *t, double *acceptance, size_t len,
                                    uint64_t *round_trips, double *mean_trip)
{
    if (!t)
        return RBM_ERR_NULL;
    if (acceptance) {
        rbm_status st = rbm__check_array(t->ctx, acceptance, len, t->R - 1, "acceptance");
        if (st)
            return st;
        for (size_t r = 0; r + 1 < t->R; r++)
            acceptance[r] = t->prop[r] ? (double)t->acc[r] / (double)t->prop[r] : NAN;
    }
    if (round_trips)
        *round_trips = t->trips;
    if (mean_trip)
        *mean_trip = t->trips ? t->trip_sum / (double)t->trips : NAN;
    return RBM_OK;
}

rbm_status rbm_tempering_reset_stats(rbm_tempering *t)
{
    if (!t)
        return RBM_ERR_NULL;
    memset(t->acc, 0, t->R * sizeof(uint64_t));
    memset(t->prop, 0, t->R * sizeof(uint64_t));
    memset(t->psum, 0, t->R * sizeof(double));
    t->trips = 0;
    t->trip_sum = 0;
    return RBM_OK;
}

void rbm__tempering_chains(const rbm_tempering *t, size_t r, const double **v,
                           const double **fh)
{
    *v = t->v + r * t->n * t->nv;
    *fh = t->fh + r * t->n * t->nh;
}

void rbm__tempering_own_fields(rbm_tempering *t)
{
    for (size_t r = 0; r < t->R; r++)
        own_field(t, r);
}

rbm_status rbm_tempering_refresh(rbm_tempering *t)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!t->beta)
        return RBM_OK;
    for (size_t r = 0; r < t->R; r++)
        rbm__tempering_set_rung(t, t->rung[r], t->beta[r]);
    rbm__tempering_update_log_z0(t);
    rbm__tempering_own_fields(t);
    return RBM_OK;
}

rbm_status rbm_tempering_set_base_bias(rbm_tempering *t, const double *a, size_t len)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!t->beta)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED,
                         "a trajectory ladder's base is its first model with W = 0");
    rbm_status st;
    if ((st = rbm__check_array(t->ctx, a, len, t->nv, "base visible biases")) ||
        (st = rbm__check_finite(t->ctx, a, len, "base visible biases")))
        return st;
    memcpy(t->abase, a, len * sizeof(double));
    return rbm_tempering_refresh(t);
}
