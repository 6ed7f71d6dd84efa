/* librbm — trainers: minibatches, optimisers, weight decay. */
#include "core/bytes.h"
#include "core/internal.h"
#include "core/seed.h"
#include "core/shuffle.h"

#include <math.h>
#include <string.h>

struct rbm_trainer {
    rbm_context *ctx;
    rbm_machine *m;
    const rbm_dataset *data;
    rbm_precision prec;
    size_t B, nbatches;
    uint64_t seed;
    rbm_rng rng; /* shuffling */
    rbm_estimator *est;
    rbm_gradient *g;
    rbm_optimizer opt;
    double lr, mom, b1, b2, eps, l1, l2;
    double *uW, *ua, *ub; /* momentum velocity / Adam first moment */
    double *sW, *sa, *sb; /* Adam second moment */
    double b1t, b2t;      /* b1^t, b2^t */
    double maxu;          /* max |u| after the last momentum update */
    double *candW;        /* Gauss-Gauss: candidate weights before the bound check */
    size_t monitor_every;
    rbm_observer_fn obs;
    void *obs_user;
    uint64_t steps, epochs;
    size_t batch_idx;
    size_t *perm;
    void *vbatch, *rec; /* B x nv compute type */
    double recon;
};

const char *rbm_optimizer_name(rbm_optimizer opt)
{
    switch (opt) {
    case RBM_OPTIMIZER_SGD: return "sgd";
    case RBM_OPTIMIZER_MOMENTUM: return "momentum";
    case RBM_OPTIMIZER_ADAM: return "adam";
    }
    return NULL;
}

rbm_status rbm_optimizer_parse(const char *name, rbm_optimizer *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    for (int k = 0; k <= RBM_OPTIMIZER_ADAM; k++)
        if (strcmp(name, rbm_optimizer_name((rbm_optimizer)k)) == 0) {
            *out = (rbm_optimizer)k;
            return RBM_OK;
        }
    return RBM_ERR_INVALID_ARGUMENT;
}

void rbm_trainer_free(rbm_trainer *t)
{
    if (!t)
        return;
    rbm_context *ctx = t->ctx;
    rbm_estimator_free(t->est);
    rbm_gradient_free(t->g);
    void *bufs[] = {t->uW, t->ua, t->ub, t->sW, t->sa, t->sb, t->candW, t->perm, t->vbatch, t->rec};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rbm__free(ctx, bufs[i]);
    rbm__free(ctx, t);
}

/* Check that every data value lies in the visible units' support. */
static rbm_status validate_data(rbm_trainer *t)
{
    const rbm_dataset *d = t->data;
    const rbm_machine *m = t->m;
    if (d->cols != m->nv)
        return rbm__fail(t->ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         d->cols, m->nv);
    double lo, hi;
    switch (m->vk) {
    case RBM_UNIT_BERNOULLI: lo = 0; hi = 1; break;
    case RBM_UNIT_ISING: lo = -1; hi = 1; break;
    default: lo = -INFINITY; hi = INFINITY; break;
    }
    for (size_t r = 0; r < d->rows; r++)
        for (size_t c = 0; c < d->cols; c++) {
            double x = rbm__dataset_at(d, r, c);
            if (!isfinite(x))
                return rbm__fail(t->ctx, RBM_ERR_NOT_FINITE, "dataset value at row %zu column %zu is %s",
                                 r, c, isnan(x) ? "NaN" : "infinite");
            if (x < lo || x > hi)
                return rbm__fail(t->ctx, RBM_ERR_OUT_OF_RANGE,
                                 "dataset value %g at row %zu column %zu is outside [%g, %g] "
                                 "expected by %s visible units (transform the data first, e.g. "
                                 "RBM_TRANSFORM_SCALE01 or RBM_TRANSFORM_BINARIZE)",
                                 x, r, c, lo, hi, rbm_unit_kind_name(m->vk));
        }
    return RBM_OK;
}

static void shuffle(rbm_trainer *t)
{
    rbm__shuffle(&t->rng, t->perm, t->data->rows);
}

rbm_status rbm_trainer_set_estimator(rbm_trainer *t, rbm_estimator_kind kind, size_t k)
{
    if (!t)
        return RBM_ERR_NULL;
    rbm_estimator *e;
    rbm_status st = rbm_estimator_new(t->m, kind, k, t->B, t->B, rbm__seed_mix(t->seed, RBM__STREAM_TRAINER_ESTIMATOR), &e);
    if (st)
        return st;
    rbm_estimator_free(t->est);
    t->est = e;
    return RBM_OK;
}

static rbm_status alloc_moments(rbm_trainer *t, double **W, double **a, double **b)
{
    rbm_status st;
    if ((st = rbm__xcalloc(t->ctx, t->m->nv * t->m->nh, sizeof(double), W, "optimiser state")) ||
        (st = rbm__xcalloc(t->ctx, t->m->nv, sizeof(double), a, "optimiser state")) ||
        (st = rbm__xcalloc(t->ctx, t->m->nh, sizeof(double), b, "optimiser state")))
        return st;
    return RBM_OK;
}

static void free_moments(rbm_trainer *t)
{
    double **all[] = {&t->uW, &t->ua, &t->ub, &t->sW, &t->sa, &t->sb};
    for (size_t i = 0; i < 6; i++) {
        rbm__free(t->ctx, *all[i]);
        *all[i] = NULL;
    }
}

rbm_status rbm_trainer_set_optimizer(rbm_trainer *t, rbm_optimizer opt)
{
    if (!t)
        return RBM_ERR_NULL;
    if (opt != RBM_OPTIMIZER_SGD && opt != RBM_OPTIMIZER_MOMENTUM && opt != RBM_OPTIMIZER_ADAM)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown optimiser %d", (int)opt);
    free_moments(t);
    rbm_status st = RBM_OK;
    if (opt != RBM_OPTIMIZER_SGD)
        st = alloc_moments(t, &t->uW, &t->ua, &t->ub);
    if (!st && opt == RBM_OPTIMIZER_ADAM)
        st = alloc_moments(t, &t->sW, &t->sa, &t->sb);
    if (st) {
        free_moments(t);
        t->opt = RBM_OPTIMIZER_SGD;
        return st;
    }
    t->opt = opt;
    t->b1t = t->b2t = 1.0;
    t->maxu = 0.0;
    return RBM_OK;
}

rbm_status rbm_trainer_new(rbm_machine *m, const rbm_dataset *data, size_t batch_size, uint64_t seed,
                           rbm_trainer **out)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = m->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_trainer_new: out is NULL");
    *out = NULL;
    if (!data)
        return rbm__fail(ctx, RBM_ERR_NULL, "dataset is NULL");
    if (batch_size == 0 || batch_size > data->rows)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "batch size %zu must be between 1 and the %zu rows of the dataset",
                         batch_size, data->rows);
    rbm_trainer *t;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *t, &t, "trainer");
    if (st)
        return st;
    t->ctx = ctx;
    t->m = m;
    t->data = data;
    t->B = batch_size;
    t->prec = m->prec;
    t->nbatches = (data->rows + batch_size - 1) / batch_size;
    t->seed = seed;
    t->lr = 0.01;
    t->mom = 0.9;
    t->b1 = 0.9;
    t->b2 = 0.999;
    t->eps = 1e-8;
    t->monitor_every = 1;
    t->recon = NAN;
    t->b1t = t->b2t = 1.0;
    rbm__rng_init(&t->rng, ctx, seed);
    size_t el = rbm__kern_for(m->prec)->elem;
    if ((st = validate_data(t)) ||
        (st = rbm__xcalloc(ctx, data->rows, sizeof(size_t), &t->perm, "row permutation")) ||
        (st = rbm__xcalloc(ctx, batch_size * m->nv, el, &t->vbatch, "minibatch")) ||
        (st = rbm__xcalloc(ctx, batch_size * m->nv, el, &t->rec, "reconstruction")) ||
        (st = rbm_gradient_new(m, &t->g)) ||
        (st = rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 1)))
        goto fail;
    if (m->vk == RBM_UNIT_GAUSSIAN && m->hk == RBM_UNIT_GAUSSIAN &&
        (st = rbm__xcalloc(ctx, m->nv * m->nh, sizeof(double), &t->candW, "candidate weights")))
        goto fail;
    shuffle(t);
    *out = t;
    return RBM_OK;
fail:
    rbm_trainer_free(t);
    return st;
}

rbm_status rbm_trainer_set_real(rbm_trainer *t, rbm_trainer_param key, double value)
{
    if (!t)
        return RBM_ERR_NULL;
    double *slot;
    double lo, hi;
    int lo_open, hi_open;
    switch (key) {
    case RBM_PARAM_LEARNING_RATE: slot = &t->lr; lo = 0; hi = INFINITY; lo_open = 1; hi_open = 1; break;
    case RBM_PARAM_MOMENTUM: slot = &t->mom; lo = 0; hi = 1; lo_open = 0; hi_open = 1; break;
    case RBM_PARAM_ADAM_BETA1: slot = &t->b1; lo = 0; hi = 1; lo_open = 0; hi_open = 1; break;
    case RBM_PARAM_ADAM_BETA2: slot = &t->b2; lo = 0; hi = 1; lo_open = 0; hi_open = 1; break;
    case RBM_PARAM_ADAM_EPSILON: slot = &t->eps; lo = 0; hi = INFINITY; lo_open = 1; hi_open = 1; break;
    case RBM_PARAM_L1: slot = &t->l1; lo = 0; hi = INFINITY; lo_open = 0; hi_open = 1; break;
    case RBM_PARAM_L2: slot = &t->l2; lo = 0; hi = INFINITY; lo_open = 0; hi_open = 1; break;
    default:
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown trainer parameter %d", (int)key);
    }
    bool ok = isfinite(value) && (lo_open ? value > lo : value >= lo) &&
              (hi_open ? value < hi : value <= hi);
    if (!ok)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "trainer parameter %d: value %g outside %c%g, %g%c", (int)key, value,
                         lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    *slot = value;
    return RBM_OK;
}

rbm_status rbm_trainer_get_real(const rbm_trainer *t, rbm_trainer_param key, double *out)
{
    if (!t || !out)
        return RBM_ERR_NULL;
    switch (key) {
    case RBM_PARAM_LEARNING_RATE: *out = t->lr; break;
    case RBM_PARAM_MOMENTUM: *out = t->mom; break;
    case RBM_PARAM_ADAM_BETA1: *out = t->b1; break;
    case RBM_PARAM_ADAM_BETA2: *out = t->b2; break;
    case RBM_PARAM_ADAM_EPSILON: *out = t->eps; break;
    case RBM_PARAM_L1: *out = t->l1; break;
    case RBM_PARAM_L2: *out = t->l2; break;
    default:
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown trainer parameter %d", (int)key);
    }
    return RBM_OK;
}

rbm_status rbm_trainer_set_monitor_every(rbm_trainer *t, size_t every)
{
    if (!t)
        return RBM_ERR_NULL;
    t->monitor_every = every;
    return RBM_OK;
}

rbm_status rbm_trainer_set_observer(rbm_trainer *t, rbm_observer_fn fn, void *user)
{
    if (!t)
        return RBM_ERR_NULL;
    t->obs = fn;
    t->obs_user = user;
    return RBM_OK;
}

static inline double sgn(double x)
{
    return (double)((x > 0) - (x < 0));
}

/* theta[i] += update of direction d[i] = g[i] - l2 theta - l1 sign(theta).
 * With dry set, nothing is stored and the return value says whether every
 * new parameter and moment would be finite. */
static bool update(const rbm_trainer *t, size_t n, double *theta, const double *g, double *u,
                   double *s, double l1, double l2, double c1, double c2, bool dry)
{
    if (!dry && t->opt == RBM_OPTIMIZER_SGD) {
        rbm__sgd_update(n, theta, g, t->lr, l1, l2);
        return true;
    }
    double acc = 0.0; /* NaN/Inf in any candidate makes acc NaN */
    for (size_t i = 0; i < n; i++) {
        double d = g[i] - l2 * theta[i] - l1 * sgn(theta[i]);
        double th, ui = 0, si = 0;
        switch (t->opt) {
        case RBM_OPTIMIZER_SGD:
            th = theta[i] + t->lr * d;
            break;
        case RBM_OPTIMIZER_MOMENTUM:
            ui = t->mom * u[i] + t->lr * d;
            th = theta[i] + ui;
            break;
        default: /* Adam */
            ui = t->b1 * u[i] + (1 - t->b1) * d;
            si = t->b2 * s[i] + (1 - t->b2) * d * d;
            th = theta[i] + t->lr * (ui / c1) / (sqrt(si / c2) + t->eps);
            break;
        }
        if (dry) {
            acc += (th + ui + si) * 0.0;
            continue;
        }
        theta[i] = th;
        if (t->opt != RBM_OPTIMIZER_SGD)
            u[i] = ui;
        if (t->opt == RBM_OPTIMIZER_ADAM)
            s[i] = si;
    }
    return acc == 0.0;
}

/* max |x| over a parameter-shaped triple (W, a, b); +Inf if any is not finite */
static double max_abs_params(const rbm_machine *m, const double *W, const double *a,
                             const double *b)
{
    return fmax(rbm__max_abs(m->nv * m->nh, W), fmax(rbm__max_abs(m->nv, a), rbm__max_abs(m->nh, b)));
}

/* A cheap bound proving that the in-place update cannot overflow; when it
 * fails the step is first computed dry (update(..., dry = true)). For Adam
 * with b1^2 < b2, |m_t| <= sqrt(s_t) (1-b1)/sqrt((1-b2)(1 - b1^2/b2)) by
 * Cauchy-Schwarz on the two moving averages. */
static bool update_provably_finite(const rbm_trainer *t, double maxg, double c1, double c2)
{
    const rbm_machine *m = t->m;
    double maxth = max_abs_params(m, m->W, m->a, m->b);
    double dmax = maxg + t->l2 * maxth + t->l1;
    double step;
    switch (t->opt) {
    case RBM_OPTIMIZER_SGD:
        step = t->lr * dmax;
        break;
    case RBM_OPTIMIZER_MOMENTUM:
        step = t->mom * t->maxu + t->lr * dmax;
        break;
    default:
        if (t->b1 * t->b1 >= t->b2)
            return false;
        step = t->lr * (1 - t->b1) / sqrt((1 - t->b2) * (1 - t->b1 * t->b1 / t->b2)) * sqrt(c2) / c1;
        if (!(dmax < 1e150)) /* d^2 must not overflow */
            return false;
        break;
    }
    return isfinite(step) && maxth + step < 1e300;
}

/* The optimiser step on the gradient in t->g, whose largest magnitude maxg
 * is finite: the overflow guard, the update of W (through the Gauss-Gauss
 * bound check), a and b, and the moments. */
static rbm_status optimise(rbm_trainer *t, double maxg)
{
    rbm_machine *m = t->m;
    double c1 = 1, c2 = 1;
    if (t->opt == RBM_OPTIMIZER_ADAM) {
        t->b1t *= t->b1;
        t->b2t *= t->b2;
        c1 = 1 - t->b1t;
        c2 = 1 - t->b2t;
    }
    size_t nw = m->nv * m->nh;
    double *W = m->W;
    if (t->candW) {
        memcpy(t->candW, m->W, nw * sizeof(double));
        W = t->candW;
    }
    if (!update_provably_finite(t, maxg, c1, c2) &&
        !(update(t, nw, m->W, t->g->dW, t->uW, t->sW, t->l1, t->l2, c1, c2, true) &&
          update(t, m->nv, m->a, t->g->da, t->ua, t->sa, 0, 0, c1, c2, true) &&
          update(t, m->nh, m->b, t->g->db, t->ub, t->sb, 0, 0, c1, c2, true))) {
        if (t->opt == RBM_OPTIMIZER_ADAM) { /* undo the bias-correction powers */
            t->b1t /= t->b1;
            t->b2t /= t->b2;
        }
        return rbm__fail(t->ctx, RBM_ERR_NUMERICAL,
                         "update at step %llu would overflow (learning rate %g too large?); "
                         "parameters and optimiser state left unchanged",
                         (unsigned long long)t->steps, t->lr);
    }
    /* Gauss-Gauss: the moments advance even if the bound check below refuses
     * the new weights (documented in trainer.h). */
    update(t, nw, W, t->g->dW, t->uW, t->sW, t->l1, t->l2, c1, c2, false);
    if (t->candW) {
        rbm_status st = rbm__machine_check_normalizable(m, W, m->sigma_v, m->sigma_h);
        if (st)
            return st;
        memcpy(m->W, W, nw * sizeof(double));
    }
    update(t, m->nv, m->a, t->g->da, t->ua, t->sa, 0, 0, c1, c2, false);
    update(t, m->nh, m->b, t->g->db, t->ub, t->sb, 0, 0, c1, c2, false);
    if (t->opt == RBM_OPTIMIZER_MOMENTUM)
        t->maxu = max_abs_params(m, t->uW, t->ua, t->ub);
    rbm__machine_sync(m);
    return RBM_OK;
}

/* max |g| of t->g, or RBM_ERR_NUMERICAL when it is not finite. */
static rbm_status gradient_bound(rbm_trainer *t, const char *what, double *maxg)
{
    *maxg = max_abs_params(t->m, t->g->dW, t->g->da, t->g->db);
    if (!isfinite(*maxg))
        return rbm__fail(t->ctx, RBM_ERR_NUMERICAL,
                         "%s at step %llu is not finite; parameters left unchanged "
                         "(lower the learning rate?)",
                         what, (unsigned long long)t->steps);
    return RBM_OK;
}

rbm_status rbm_trainer_step(rbm_trainer *t)
{
    if (!t)
        return RBM_ERR_NULL;
    rbm_machine *m = t->m;
    const rbm__kern *K = rbm__kern_for(m->prec);
    if (m->prec != t->prec)
        return rbm__fail(t->ctx, RBM_ERR_STATE,
                         "machine precision changed since the trainer was created");
    size_t off = t->batch_idx * t->B;
    size_t n = t->data->rows - off < t->B ? t->data->rows - off : t->B;
    rbm__dataset_fetch(t->data, t->perm + off, 0, n, m->prec == RBM_PRECISION_FLOAT32, t->vbatch);
    rbm_status st = rbm__estimator_compute_real(t->est, n, t->vbatch, t->g);
    double maxg;
    if (st || (st = gradient_bound(t, "gradient estimate", &maxg)))
        return st;
    if (t->monitor_every && t->steps % t->monitor_every == 0) {
        K->visible_field(m, n, rbm__estimator_positive_hidden(t->est), t->rec);
        K->mean(m->vk, m->sigma_v, n * m->nv, t->rec, t->rec);
        t->recon = K->msd(n * m->nv, t->vbatch, t->rec);
    }
    if ((st = optimise(t, maxg)))
        return st;
    t->steps++;
    t->batch_idx++;
    rbm_status result = RBM_OK;
    if (t->batch_idx == t->nbatches) {
        t->batch_idx = 0;
        t->epochs++;
        shuffle(t);
        result = RBM_DONE;
    }
    if (t->obs && t->obs(t->obs_user, t) != 0)
        return RBM_STOPPED;
    return result;
}

rbm_status rbm_trainer_apply_gradient(rbm_trainer *t, const rbm_gradient *g)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!g)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "rbm_trainer_apply_gradient: gradient is NULL");
    rbm_machine *m = t->m;
    if (g->nv != m->nv || g->nh != m->nh)
        return rbm__fail(t->ctx, RBM_ERR_SHAPE,
                         "gradient is for a %zu x %zu machine, machine is %zu x %zu", g->nv, g->nh,
                         m->nv, m->nh);
    if (t->g != g) {
        memcpy(t->g->dW, g->dW, m->nv * m->nh * sizeof(double));
        memcpy(t->g->da, g->da, m->nv * sizeof(double));
        memcpy(t->g->db, g->db, m->nh * sizeof(double));
    }
    double maxg;
    rbm_status st;
    if ((st = gradient_bound(t, "gradient", &maxg)) || (st = optimise(t, maxg)))
        return st;
    t->steps++;
    return RBM_OK;
}

rbm_status rbm_trainer_run_epochs(rbm_trainer *t, size_t n_epochs)
{
    if (!t)
        return RBM_ERR_NULL;
    uint64_t target = t->epochs + n_epochs;
    while (t->epochs < target) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE)
            return st;
    }
    return RBM_OK;
}

uint64_t rbm_trainer_steps(const rbm_trainer *t)
{
    return t ? t->steps : 0;
}

uint64_t rbm_trainer_epochs(const rbm_trainer *t)
{
    return t ? t->epochs : 0;
}

size_t rbm_trainer_batch_index(const rbm_trainer *t)
{
    return t ? t->batch_idx : 0;
}

size_t rbm_trainer_batches_per_epoch(const rbm_trainer *t)
{
    return t ? t->nbatches : 0;
}

size_t rbm_trainer_batch_size(const rbm_trainer *t)
{
    return t ? t->B : 0;
}

double rbm_trainer_reconstruction_error(const rbm_trainer *t)
{
    return t ? t->recon : NAN;
}

const rbm_gradient *rbm_trainer_gradient(const rbm_trainer *t)
{
    return t ? t->g : NULL;
}

rbm_machine *rbm_trainer_machine(const rbm_trainer *t)
{
    return t ? t->m : NULL;
}

rbm_optimizer rbm_trainer_optimizer(const rbm_trainer *t)
{
    return t ? t->opt : RBM_OPTIMIZER_SGD;
}

rbm_estimator *rbm_trainer_estimator(rbm_trainer *t)
{
    return t ? t->est : NULL;
}

/* ---------------- checkpoints ---------------- */

#include <zlib.h>

#define TRNS_VERSION 1u
static const char tag_trns[4] = {'T', 'R', 'N', 'S'};

static void wb_rng(rbm__wbuf *w, const rbm_rng *r)
{
    uint8_t st[RBM_RNG_STATE_BYTES];
    rbm_rng_get_state(r, st, sizeof st);
    rbm__wbuf_put(w, st, sizeof st);
}

/* n values of a compute-type array, stored as binary64 (exact for float). */
static void wb_reals(rbm__wbuf *w, const rbm__kern *K, const void *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d;
        K->to_f64(1, (const char *)x + i * K->elem, &d);
        rbm__wbuf_f64(w, d);
    }
}

static void write_state(const rbm_trainer *t, rbm__wbuf *w)
{
    const rbm_machine *m = t->m;
    size_t nw = m->nv * m->nh;
    rbm__wbuf_u32(w, TRNS_VERSION);
    rbm__wbuf_u64(w, m->nv);
    rbm__wbuf_u64(w, m->nh);
    rbm__wbuf_u64(w, t->data->rows);
    rbm__wbuf_u64(w, t->data->cols);
    rbm__wbuf_u32(w, (uint32_t)t->data->dtype);
    rbm__wbuf_u32(w, rbm__dataset_fingerprint(t->data));
    rbm__wbuf_u64(w, t->B);
    rbm__wbuf_u64(w, t->seed);
    rbm__wbuf_u32(w, (uint32_t)rbm_estimator_get_kind(t->est));
    rbm__wbuf_u64(w, rbm__estimator_k(t->est));
    rbm__wbuf_u32(w, (uint32_t)t->opt);
    const double reals[] = {t->lr, t->mom, t->b1, t->b2, t->eps, t->l1, t->l2};
    rbm__wbuf_f64s(w, reals, 7);
    rbm__wbuf_u64(w, t->monitor_every);
    rbm__wbuf_u64(w, t->steps);
    rbm__wbuf_u64(w, t->epochs);
    rbm__wbuf_u64(w, t->batch_idx);
    rbm__wbuf_f64(w, t->recon);
    rbm__wbuf_f64(w, t->b1t);
    rbm__wbuf_f64(w, t->b2t);
    wb_rng(w, &t->rng);
    wb_rng(w, rbm__estimator_rng(t->est));
    for (size_t i = 0; i < t->data->rows; i++)
        rbm__wbuf_u64(w, t->perm[i]);
    rbm__wbuf_u32(w, t->uW ? 1 : 0);
    if (t->uW) {
        rbm__wbuf_f64s(w, t->uW, nw);
        rbm__wbuf_f64s(w, t->ua, m->nv);
        rbm__wbuf_f64s(w, t->ub, m->nh);
    }
    rbm__wbuf_u32(w, t->sW ? 1 : 0);
    if (t->sW) {
        rbm__wbuf_f64s(w, t->sW, nw);
        rbm__wbuf_f64s(w, t->sa, m->nv);
        rbm__wbuf_f64s(w, t->sb, m->nh);
    }
    const rbm_sampler *s = rbm_estimator_sampler(t->est);
    rbm__wbuf_u64(w, s ? s->n : 0);
    if (s) {
        wb_rng(w, &s->rng);
        wb_reals(w, s->k, s->v, s->n * m->nv);
        wb_reals(w, s->k, s->h, s->n * m->nh);
    }
    /* MF/TAP estimators: persistent magnetisations */
    rbm__mf_emf *mf = rbm__estimator_mf(t->est);
    size_t np = mf ? rbm__mf_emf_particles(mf) : 0;
    rbm__wbuf_u64(w, np);
    if (mf) {
        bool ready = rbm__mf_emf_ready(mf);
        rbm__wbuf_u32(w, ready ? 1 : 0);
        if (ready) {
            rbm__wbuf_f64s(w, rbm__mf_emf_visible(mf), np * m->nv);
            rbm__wbuf_f64s(w, rbm__mf_emf_hidden(mf), np * m->nh);
        }
    }
}

rbm_status rbm_trainer_save_checkpoint(const rbm_trainer *t, const char *path)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!path)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "checkpoint path is NULL");
    rbm__wbuf w;
    rbm__wbuf_init(&w, t->ctx);
    write_state(t, &w);
    rbm_status st = w.st ? w.st : rbm__io_save(t->m, path, tag_trns, w.p, w.len);
    rbm__wbuf_free(&w);
    return st;
}

#define CKPT_BAD(...) rbm__fail(ctx, RBM_ERR_BAD_FORMAT, __VA_ARGS__)

static rbm_status read_rng(rbm_context *ctx, rbm__rbuf *r, rbm_rng *rng, const char *path,
                           const char *what)
{
    const unsigned char *q = rbm__rbuf_take(r, RBM_RNG_STATE_BYTES);
    if (!q)
        return CKPT_BAD("%s: training state truncated at %s", path, what);
    if (rbm_rng_set_state(rng, q, RBM_RNG_STATE_BYTES) != RBM_OK)
        return CKPT_BAD("%s: training state: invalid %s", path, what);
    return RBM_OK;
}

static rbm_status read_f64s(rbm_context *ctx, rbm__rbuf *r, double *x, size_t n, const char *path,
                            const char *what)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = rbm__rbuf_f64(r);
        if (!isfinite(x[i]) || r->short_read)
            return CKPT_BAD("%s: training state: %s[%zu] is %s", path, what, i,
                            r->short_read ? "missing (truncated)" : "not finite");
    }
    return RBM_OK;
}

static rbm_status restore_state(rbm_context *ctx, const char *path, rbm__rbuf *r, rbm_machine *m,
                                const rbm_dataset *data, rbm_trainer **out)
{
    *out = NULL;
    uint32_t version = rbm__rbuf_u32(r);
    if (version != TRNS_VERSION)
        return CKPT_BAD("%s: training state version %u is not supported (expected %u)", path,
                        version, TRNS_VERSION);
    uint64_t nv = rbm__rbuf_u64(r), nh = rbm__rbuf_u64(r), rows = rbm__rbuf_u64(r), cols = rbm__rbuf_u64(r);
    uint32_t dtype = rbm__rbuf_u32(r), fp = rbm__rbuf_u32(r);
    if (r->short_read)
        return CKPT_BAD("%s: training state truncated in its header", path);
    if (nv != m->nv || nh != m->nh)
        return CKPT_BAD("%s: training state is for a %llu x %llu machine, the file's machine is "
                        "%zu x %zu", path, (unsigned long long)nv, (unsigned long long)nh, m->nv,
                        m->nh);
    if (rows != data->rows || cols != data->cols || dtype != (uint32_t)data->dtype ||
        fp != rbm__dataset_fingerprint(data))
        return rbm__fail(ctx, RBM_ERR_SHAPE,
                         "%s: checkpoint was made on a different dataset (%llu x %llu, dtype %u, "
                         "fingerprint %08x; given %zu x %zu, dtype %u, fingerprint %08x)",
                         path, (unsigned long long)rows, (unsigned long long)cols, dtype, fp,
                         data->rows, data->cols, (unsigned)data->dtype, rbm__dataset_fingerprint(data));
    uint64_t B = rbm__rbuf_u64(r), seed = rbm__rbuf_u64(r);
    uint32_t ekind = rbm__rbuf_u32(r);
    uint64_t k = rbm__rbuf_u64(r);
    uint32_t opt = rbm__rbuf_u32(r);
    double reals[7];
    for (int i = 0; i < 7; i++)
        reals[i] = rbm__rbuf_f64(r);
    uint64_t monitor = rbm__rbuf_u64(r), steps = rbm__rbuf_u64(r), epochs = rbm__rbuf_u64(r), bidx = rbm__rbuf_u64(r);
    double recon = rbm__rbuf_f64(r), b1t = rbm__rbuf_f64(r), b2t = rbm__rbuf_f64(r);
    if (r->short_read)
        return CKPT_BAD("%s: training state truncated in its configuration", path);
    if (B == 0 || B > data->rows)
        return CKPT_BAD("%s: training state: batch size %llu invalid for %zu rows", path,
                        (unsigned long long)B, data->rows);
    rbm_trainer *t = NULL;
    rbm_status st = rbm_trainer_new(m, data, (size_t)B, seed, &t);
    if (st)
        return st;
    const rbm_trainer_param keys[7] = {RBM_PARAM_LEARNING_RATE, RBM_PARAM_MOMENTUM,
                                       RBM_PARAM_ADAM_BETA1, RBM_PARAM_ADAM_BETA2,
                                       RBM_PARAM_ADAM_EPSILON, RBM_PARAM_L1, RBM_PARAM_L2};
    if (rbm_trainer_set_estimator(t, (rbm_estimator_kind)ekind, (size_t)k) != RBM_OK ||
        rbm_trainer_set_optimizer(t, (rbm_optimizer)opt) != RBM_OK) {
        st = CKPT_BAD("%s: training state: invalid estimator (%u, k %llu) or optimiser (%u)", path,
                      ekind, (unsigned long long)k, opt);
        goto fail;
    }
    for (int i = 0; i < 7; i++)
        if (rbm_trainer_set_real(t, keys[i], reals[i]) != RBM_OK) {
            st = CKPT_BAD("%s: training state: tunable %d has invalid value %g", path, i,
                          reals[i]);
            goto fail;
        }
    if (bidx >= t->nbatches || !(isfinite(b1t) && isfinite(b2t) && b1t > 0 && b1t <= 1 &&
                                 b2t > 0 && b2t <= 1)) {
        st = CKPT_BAD("%s: training state: invalid counters (batch %llu of %zu)", path,
                      (unsigned long long)bidx, t->nbatches);
        goto fail;
    }
    t->monitor_every = (size_t)monitor;
    t->steps = steps;
    t->epochs = epochs;
    t->batch_idx = (size_t)bidx;
    t->recon = recon;
    t->b1t = b1t;
    t->b2t = b2t;
    t->maxu = INFINITY; /* unknown until the next momentum update: dry-run first */
    if ((st = read_rng(ctx, r, &t->rng, path, "trainer rng")) ||
        (st = read_rng(ctx, r, rbm__estimator_rng(t->est), path, "estimator rng")))
        goto fail;
    /* the stored row order must be a permutation of the rows */
    for (size_t i = 0; i < data->rows; i++) {
        uint64_t v = rbm__rbuf_u64(r);
        if (r->short_read || v >= data->rows) {
            st = CKPT_BAD("%s: training state: row order entry %zu is %s", path, i,
                          r->short_read ? "missing (truncated)" : "out of range");
            goto fail;
        }
        t->perm[i] = (size_t)v;
    }
    {
        size_t words = (data->rows + 63) / 64;
        uint64_t *seen;
        if ((st = rbm__xcalloc(ctx, words, sizeof(uint64_t), &seen, "permutation check")))
            goto fail;
        bool dup = false;
        for (size_t i = 0; i < data->rows && !dup; i++) {
            size_t v = t->perm[i];
            if (seen[v / 64] >> (v % 64) & 1)
                dup = true;
            seen[v / 64] |= (uint64_t)1 << (v % 64);
        }
        rbm__free(ctx, seen);
        if (dup) {
            st = CKPT_BAD("%s: training state: row order is not a permutation", path);
            goto fail;
        }
    }
    size_t nw = m->nv * m->nh;
    uint32_t has_u = rbm__rbuf_u32(r);
    if (has_u != (t->uW ? 1u : 0u)) {
        st = CKPT_BAD("%s: training state: optimiser moments do not match the optimiser", path);
        goto fail;
    }
    if (has_u && ((st = read_f64s(ctx, r, t->uW, nw, path, "first moment W")) ||
                  (st = read_f64s(ctx, r, t->ua, m->nv, path, "first moment a")) ||
                  (st = read_f64s(ctx, r, t->ub, m->nh, path, "first moment b"))))
        goto fail;
    uint32_t has_s = rbm__rbuf_u32(r);
    if (has_s != (t->sW ? 1u : 0u)) {
        st = CKPT_BAD("%s: training state: optimiser moments do not match the optimiser", path);
        goto fail;
    }
    if (has_s && ((st = read_f64s(ctx, r, t->sW, nw, path, "second moment W")) ||
                  (st = read_f64s(ctx, r, t->sa, m->nv, path, "second moment a")) ||
                  (st = read_f64s(ctx, r, t->sb, m->nh, path, "second moment b"))))
        goto fail;
    rbm_sampler *s = rbm_estimator_sampler(t->est);
    uint64_t nchains = rbm__rbuf_u64(r);
    if (nchains != (s ? s->n : 0)) {
        st = CKPT_BAD("%s: training state: %llu persistent chains, estimator has %zu", path,
                      (unsigned long long)nchains, s ? s->n : (size_t)0);
        goto fail;
    }
    if (s) {
        if ((st = read_rng(ctx, r, &s->rng, path, "chain rng")))
            goto fail;
        size_t nvn = s->n * m->nv, nhn = s->n * m->nh;
        for (size_t pass = 0; pass < 2; pass++) {
            size_t n = pass ? nhn : nvn;
            void *dst = pass ? s->h : s->v;
            for (size_t i = 0; i < n; i++) {
                double x = rbm__rbuf_f64(r);
                if (r->short_read || !isfinite(x)) {
                    st = CKPT_BAD("%s: training state: chain %s state %zu is %s", path,
                                  pass ? "hidden" : "visible", i,
                                  r->short_read ? "missing (truncated)" : "not finite");
                    goto fail;
                }
                s->k->from_f64(1, &x, (char *)dst + i * s->k->elem);
            }
        }
    }
    rbm__mf_emf *mf = rbm__estimator_mf(t->est);
    uint64_t np = rbm__rbuf_u64(r);
    if (r->short_read || np != (mf ? rbm__mf_emf_particles(mf) : 0)) {
        st = CKPT_BAD("%s: training state: %llu mean-field particles, estimator has %zu", path,
                      (unsigned long long)np, mf ? rbm__mf_emf_particles(mf) : (size_t)0);
        goto fail;
    }
    if (mf) {
        uint32_t ready = rbm__rbuf_u32(r);
        if (r->short_read || ready > 1) {
            st = CKPT_BAD("%s: training state: invalid mean-field particle flag", path);
            goto fail;
        }
        if (ready && ((st = read_f64s(ctx, r, rbm__mf_emf_visible(mf), (size_t)np * m->nv, path,
                                      "visible magnetisation")) ||
                      (st = read_f64s(ctx, r, rbm__mf_emf_hidden(mf), (size_t)np * m->nh, path,
                                      "hidden magnetisation"))))
            goto fail;
        rbm__mf_emf_set_ready(mf, ready != 0);
    }
    if (r->off != r->len) {
        st = CKPT_BAD("%s: training state has %zu unexpected trailing bytes", path,
                      r->len - r->off);
        goto fail;
    }
    *out = t;
    return RBM_OK;
fail:
    rbm_trainer_free(t);
    return st;
}

rbm_status rbm_trainer_load_checkpoint(rbm_context *ctx, const char *path, const rbm_dataset *data,
                                       rbm_machine **machine_out, rbm_trainer **trainer_out)
{
    if (!ctx)
        return RBM_ERR_NULL;
    if (!path || !data || !machine_out || !trainer_out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_trainer_load_checkpoint: NULL argument");
    *machine_out = NULL;
    *trainer_out = NULL;
    rbm_machine *m = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    rbm_status st = rbm__io_load(ctx, path, &m, tag_trns, &buf, &len);
    if (st)
        return st;
    if (!buf) {
        rbm_machine_free(m);
        return CKPT_BAD("%s: no training state: this is a model file, not a checkpoint", path);
    }
    rbm__rbuf r = rbm__rbuf_of(buf, len);
    rbm_trainer *t = NULL;
    st = restore_state(ctx, path, &r, m, data, &t);
    rbm__free(ctx, buf);
    if (st) {
        rbm_machine_free(m);
        return st;
    }
    *machine_out = m;
    *trainer_out = t;
    return RBM_OK;
}
