/* librbm — trainers: minibatches, optimisers, weight decay. */
#include "internal.h"

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
    size_t n = t->data->rows;
    for (size_t i = 0; i < n; i++)
        t->perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rbm__rng_uniform(&t->rng) * (double)(i + 1));
        if (j > i)
            j = i;
        size_t tmp = t->perm[i];
        t->perm[i] = t->perm[j];
        t->perm[j] = tmp;
    }
}

rbm_status rbm_trainer_set_estimator(rbm_trainer *t, rbm_estimator_kind kind, size_t k)
{
    if (!t)
        return RBM_ERR_NULL;
    rbm_estimator *e;
    rbm_status st = rbm_estimator_new(t->m, kind, k, t->B, t->B, t->seed ^ 0x5eed5eed5eedULL, &e);
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

/* theta[i] += update of direction d[i] = g[i] - l2 theta - l1 sign(theta). */
static void update(const rbm_trainer *t, size_t n, double *theta, const double *g, double *u,
                   double *s, double l1, double l2, double c1, double c2)
{
    switch (t->opt) {
    case RBM_OPTIMIZER_SGD:
        for (size_t i = 0; i < n; i++)
            theta[i] += t->lr * (g[i] - l2 * theta[i] - l1 * sgn(theta[i]));
        break;
    case RBM_OPTIMIZER_MOMENTUM:
        for (size_t i = 0; i < n; i++) {
            u[i] = t->mom * u[i] + t->lr * (g[i] - l2 * theta[i] - l1 * sgn(theta[i]));
            theta[i] += u[i];
        }
        break;
    case RBM_OPTIMIZER_ADAM:
        for (size_t i = 0; i < n; i++) {
            double d = g[i] - l2 * theta[i] - l1 * sgn(theta[i]);
            u[i] = t->b1 * u[i] + (1 - t->b1) * d;
            s[i] = t->b2 * s[i] + (1 - t->b2) * d * d;
            theta[i] += t->lr * (u[i] / c1) / (sqrt(s[i] / c2) + t->eps);
        }
        break;
    }
}

static bool gradient_finite(const rbm_gradient *g)
{
    double acc = 0;
    size_t n = g->nv * g->nh;
    for (size_t i = 0; i < n; i++)
        acc += g->dW[i] * 0.0;
    for (size_t i = 0; i < g->nv; i++)
        acc += g->da[i] * 0.0;
    for (size_t j = 0; j < g->nh; j++)
        acc += g->db[j] * 0.0;
    return acc == 0.0; /* NaN or Inf anywhere makes acc NaN */
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
    if (st)
        return st;
    if (!gradient_finite(t->g))
        return rbm__fail(t->ctx, RBM_ERR_NUMERICAL,
                         "gradient estimate at step %llu is not finite; parameters left unchanged "
                         "(lower the learning rate?)",
                         (unsigned long long)t->steps);
    if (t->monitor_every && t->steps % t->monitor_every == 0) {
        K->visible_field(m, n, rbm__estimator_positive_hidden(t->est), t->rec);
        K->mean(m->vk, m->sigma_v, n * m->nv, t->rec, t->rec);
        t->recon = K->msd(n * m->nv, t->vbatch, t->rec);
    }
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
    /* Momentum/Adam state is updated even if a Gauss-Gauss bound check fails
     * below; the parameters themselves are then left unchanged. */
    update(t, nw, W, t->g->dW, t->uW, t->sW, t->l1, t->l2, c1, c2);
    if (t->candW) {
        st = rbm__machine_check_normalizable(m, W, m->sigma_v, m->sigma_h);
        if (st)
            return st;
        memcpy(m->W, W, nw * sizeof(double));
    }
    update(t, m->nv, m->a, t->g->da, t->ua, t->sa, 0, 0, c1, c2);
    update(t, m->nh, m->b, t->g->db, t->ub, t->sb, 0, 0, c1, c2);
    rbm__machine_sync(m);

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

rbm_estimator *rbm_trainer_estimator(rbm_trainer *t)
{
    return t ? t->est : NULL;
}
