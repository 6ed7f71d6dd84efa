/* librbm — trainer: one minibatch per step through an estimator and an
 * optimiser (optimizer.c), over seeded shuffled epochs. */
#include "core/internal.h"
#include "data/dataset.h"
#include "train/gradient.h"
#include "train/gradient_impl.h"
#include "core/seed.h"
#include "core/shuffle.h"
#include "train/estimator.h"
#include "train/optimizer.h"
#include "train/trainer_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void rbm_trainer_free(rbm_trainer *t)
{
    if (!t)
        return;
    rbm_context *ctx = t->ctx;
    rbm_estimator_free(t->est);
    rbm_gradient_free(t->g);
    rbm__optimizer_free(t->opt);
    rbm__free(ctx, t->perm);
    rbm__free(ctx, t->vbatch);
    rbm__free(ctx, t->rec);
    rbm__free(ctx, t->bw);
    rbm__centering_free(ctx, &t->center);
    rbm__workers_free(ctx, &t->wk);
    rbm__free(ctx, t);
}

/* Check that every data value lies in the visible units' support. */
static rbm_status validate_data(rbm_trainer *t)
{
    const rbm_dataset *d = t->data;
    const rbm_machine *m = t->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (rbm__dataset_cols(d) != mv->nv)
        return rbm__fail(t->ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         rbm__dataset_cols(d), mv->nv);
    double lo, hi;
    if (mv->vk == RBM_UNIT_POTTS)
        return rbm__dataset_check_states(d, mv->nq, t->ctx, "rbm_trainer_new");
    switch (mv->vk) {
    case RBM_UNIT_BERNOULLI: lo = 0; hi = 1; break;
    case RBM_UNIT_ISING: lo = -1; hi = 1; break;
    default: lo = -INFINITY; hi = INFINITY; break;
    }
    for (size_t r = 0; r < rbm__dataset_rows(d); r++)
        for (size_t c = 0; c < rbm__dataset_cols(d); c++) {
            double x = rbm__dataset_at(d, r, c);
            if (!isfinite(x))
                return rbm__fail(t->ctx, RBM_ERR_NOT_FINITE, "dataset value at row %zu column %zu is %s",
                                 r, c, isnan(x) ? "NaN" : "infinite");
            if (x < lo || x > hi)
                return rbm__fail(t->ctx, RBM_ERR_OUT_OF_RANGE,
                                 "dataset value %g at row %zu column %zu is outside [%g, %g] "
                                 "expected by %s visible units (transform the data first, e.g. "
                                 "RBM_TRANSFORM_SCALE01 or RBM_TRANSFORM_BINARIZE)",
                                 x, r, c, lo, hi, rbm_unit_kind_name(mv->vk));
        }
    return RBM_OK;
}

/* The public face of the seed derivation, with the stream trainer.h names
 * for the estimator of a trainer. */
_Static_assert(RBM_SEED_STREAM_TRAINER_ESTIMATOR == RBM__STREAM_TRAINER_ESTIMATOR,
               "trainer.h and core/seed.h disagree on the estimator's stream");

uint64_t rbm_seed_derive(uint64_t seed, uint64_t stream)
{
    return rbm__seed_mix(seed, stream);
}

rbm_status rbm_trainer_set_estimator(rbm_trainer *t, rbm_estimator_kind kind, size_t k)
{
    if (!t)
        return RBM_ERR_NULL;
    return rbm__workers_set_estimator(t, kind, k);
}

rbm_status rbm_trainer_set_optimizer(rbm_trainer *t, rbm_optimizer opt)
{
    if (!t)
        return RBM_ERR_NULL;
    return rbm__optimizer_set_kind(t->opt, opt);
}

rbm_status rbm_trainer_new(rbm_machine *m, const rbm_dataset *data, size_t batch_size, uint64_t seed,
                           rbm_trainer **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (out)
        *out = NULL;
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = mv->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_trainer_new: out is NULL");
    if (!data)
        return rbm__fail(ctx, RBM_ERR_NULL, "dataset is NULL");
    if (batch_size == 0 || batch_size > rbm__dataset_rows(data))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "batch size %zu must be between 1 and the %zu rows of the dataset",
                         batch_size, rbm__dataset_rows(data));
    rbm_trainer *t;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *t, &t, "trainer");
    if (st)
        return st;
    t->ctx = ctx;
    t->m = m;
    t->data = data;
    t->B = batch_size;
    t->prec = mv->prec;
    t->nbatches = (rbm__dataset_rows(data) + batch_size - 1) / batch_size;
    t->mean_w = rbm__dataset_weight_sum(data) / (double)rbm__dataset_rows(data);
    t->seed = seed;
    t->monitor_every = 1;
    t->recon = NAN;
    t->wk.n = 1;
    rbm__rng_init(&t->rng, ctx, seed);
    size_t el = rbm__kern_for(mv->prec)->elem;
    if ((st = validate_data(t)) ||
        (st = rbm__xcalloc(ctx, rbm__dataset_rows(data), sizeof(size_t), &t->perm,
                           "row permutation")) ||
        (st = rbm__xcalloc(ctx, batch_size * mv->nv, el, &t->vbatch, "minibatch")) ||
        (st = rbm__xcalloc(ctx, batch_size * mv->nvw, el, &t->rec, "reconstruction")) ||
        (rbm__dataset_weights(data) &&
         (st = rbm__xcalloc(ctx, batch_size, sizeof(double), &t->bw, "batch weights"))) ||
        (st = rbm_gradient_new(m, &t->g)) ||
        (st = rbm__centering_init(ctx, mv->nv, mv->nh, &t->center)) ||
        (st = rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 1)) ||
        (st = rbm__optimizer_new(m, &t->opt))) {
        rbm_trainer_free(t);
        return st;
    }
    rbm__workers_shuffle(t);
    *out = t;
    return RBM_OK;
}

rbm_status rbm_trainer_set_real(rbm_trainer *t, rbm_trainer_param key, double value)
{
    if (!t)
        return RBM_ERR_NULL;
    if (key != RBM_TRAINER_CENTERING_RATE)
        return rbm__optimizer_set_real(t->opt, key, value);
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(t->ctx, &rbm__trainer_params, "rbm_trainer_set_real",
                                     (int32_t)key, RBM__PARAM_REAL, value, &spec);
    if (!st)
        t->center.rate = value;
    return st;
}

rbm_status rbm_trainer_get_real(const rbm_trainer *t, rbm_trainer_param key, double *out)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "rbm_trainer_get_real: out is NULL");
    if (key == RBM_TRAINER_CENTERING_RATE) {
        *out = t->center.rate;
        return RBM_OK;
    }
    return rbm__optimizer_get_real(t->opt, key, out);
}

rbm_status rbm_trainer_set_int(rbm_trainer *t, rbm_trainer_param key, int64_t value)
{
    if (!t)
        return RBM_ERR_NULL;
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(t->ctx, &rbm__trainer_params, "rbm_trainer_set_int",
                                     (int32_t)key, RBM__PARAM_INT, (double)value, &spec);
    if (st)
        return st;
    if (key == RBM_TRAINER_CENTERED && value && rbm__machine_view_of(t->m)->vk == RBM_UNIT_POTTS)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED,
                         "RBM_TRAINER_CENTERED: the centred gradient is not defined for a Potts "
                         "visible layer");
    if (key == RBM_TRAINER_CENTERED && value && t->wk.n > 1)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED,
                         "RBM_TRAINER_CENTERED: the centred gradient needs the whole minibatch on "
                         "one worker (%zu workers)", t->wk.n);
    if (key == RBM_TRAINER_CENTERED)
        t->center.on = value != 0;
    else
        t->monitor_every = (size_t)value;
    return RBM_OK;
}

rbm_status rbm_trainer_get_int(const rbm_trainer *t, rbm_trainer_param key, int64_t *out)
{
    if (!t)
        return RBM_ERR_NULL;
    rbm_status st = rbm__param_get_check(t->ctx, &rbm__trainer_params, "rbm_trainer_get_int",
                                         (int32_t)key, RBM__PARAM_INT, out);
    if (st)
        return st;
    *out = key == RBM_TRAINER_CENTERED ? (int64_t)t->center.on : (int64_t)t->monitor_every;
    return RBM_OK;
}

rbm_status rbm_trainer_param_bounds(rbm_trainer_param key, rbm_param_bounds *out)
{
    return rbm__param_bounds(&rbm__trainer_params, (int32_t)key, out);
}

rbm_status rbm_trainer_set_observer(rbm_trainer *t, rbm_observer_fn fn, void *user)
{
    if (!t)
        return RBM_ERR_NULL;
    t->obs = fn;
    t->obs_user = user;
    return RBM_OK;
}

/* max |g| of t->g, or RBM_ERR_NUMERICAL when it is not finite. */
static rbm_status gradient_bound(rbm_trainer *t, const char *what, double *maxg)
{
    *maxg = rbm__gradient_max_abs(t->g);
    if (!isfinite(*maxg)) {
        const rbm__machine_view *mv = rbm__machine_view_of(t->m);
        double maxp = fmax(rbm__max_abs(mv->nvw * mv->nh, mv->W),
                           fmax(rbm__max_abs(mv->nvw, mv->a), rbm__max_abs(mv->nh, mv->b)));
        return rbm__fail(t->ctx, RBM_ERR_NUMERICAL,
                         "%s at step %llu is not finite (largest |parameter| %g: the machine's "
                         "fields overflow; a smaller learning rate helps only before that); "
                         "parameters, optimiser state, chains and rng streams left as they were",
                         what, (unsigned long long)t->steps, maxp);
    }
    return RBM_OK;
}

/* The Potts reconstruction error: the mean over the n x N sites of
 * sum_c (onehot(v)_c - p_c)^2, p the reconstruction's state probabilities. */
static double potts_recon(const rbm__kern *K, const rbm__machine_view *mv, size_t n,
                          const void *v, const void *p)
{
    const size_t q = mv->nq, el = K->elem;
    double acc = 0;
    for (size_t s = 0; s < n * mv->nv; s++) {
        double x;
        K->to_f64(1, (const char *)v + s * el, &x);
        for (size_t c = 0; c < q; c++) {
            double pc;
            K->to_f64(1, (const char *)p + (s * q + c) * el, &pc);
            double d = (c == (size_t)x ? 1.0 : 0.0) - pc;
            acc += d * d;
        }
    }
    return acc / (double)(n * mv->nv);
}

rbm_status rbm__trainer_estimate(rbm_trainer *t, rbm_estimator *e, const size_t *idx, size_t n,
                                 rbm_gradient *g, bool monitor, double *recon)
{
    const rbm__machine_view *mv = rbm__machine_view_of(t->m);
    const rbm__kern *K = rbm__kern_for(mv->prec);
    rbm__dataset_fetch(t->data, idx, 0, n, mv->prec == RBM_PRECISION_FLOAT32, t->vbatch);
    double wfrac = 1;
    if (t->bw) { /* docs/sequences.md: weighted minibatches */
        double sum = 0;
        for (size_t r = 0; r < n; r++)
            sum += t->bw[r] = rbm__dataset_weight(t->data, idx[r]);
        wfrac = sum / ((double)n * t->mean_w);
        if (sum == 0) /* no weight: the data term is 0, the whole gradient scaled to 0 below */
            for (size_t r = 0; r < n; r++)
                t->bw[r] = 1;
    }
    rbm__estimator_set_batch_weights(e, t->bw);
    rbm_status st = rbm__estimator_compute_real(e, n, t->vbatch, g);
    rbm__estimator_set_batch_weights(e, NULL);
    if (st) { /* the estimator's own message, with what the step kept */
        char why[200];
        snprintf(why, sizeof why, "%s", rbm_context_last_error(t->ctx));
        return rbm__fail(t->ctx, st,
                         "step %llu refused: %s; parameters, optimiser state, chains and rng "
                         "streams left as they were",
                         (unsigned long long)t->steps, why);
    }
    if (wfrac != 1)
        rbm_gradient_scale(g, wfrac);
    if (monitor) {
        K->visible_field(mv, n, rbm__estimator_positive_hidden(e), t->rec);
        K->visible_mean(mv, n, t->rec, t->rec);
        *recon = mv->vk == RBM_UNIT_POTTS ? potts_recon(K, mv, n, t->vbatch, t->rec)
                                          : K->msd(n * mv->nv, t->vbatch, t->rec);
    }
    return RBM_OK;
}

/* Commit or roll back the estimators that moved in this step. */
static void end_step(rbm_trainer *t, bool keep)
{
    if (rbm__workers_active(t))
        rbm__workers_end(t, keep);
    else if (keep)
        rbm__estimator_commit(t->est);
    else
        rbm__estimator_rollback(t->est);
}

rbm_status rbm_trainer_step(rbm_trainer *t)
{
    if (!t)
        return RBM_ERR_NULL;
    rbm_machine *m = t->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const rbm__kern *K = rbm__kern_for(mv->prec);
    if (mv->prec != t->prec)
        return rbm__fail(t->ctx, RBM_ERR_STATE,
                         "machine precision changed since the trainer was created");
    /* The estimators move their chains tentatively: they are kept only when
     * the whole step succeeds, so a refused step changes nothing. */
    double maxg = 0, recon = t->recon;
    const bool monitor = t->monitor_every && t->steps % t->monitor_every == 0;
    rbm_status st;
    if (rbm__workers_active(t)) {
        st = rbm__workers_estimate(t, monitor, &recon);
    } else {
        size_t off = t->batch_idx * t->B, rows = rbm__dataset_rows(t->data);
        size_t n = rows - off < t->B ? rows - off : t->B;
        st = rbm__trainer_estimate(t, t->est, t->perm + off, n, t->g, monitor, &recon);
        if (!st && t->center.on) {
            if (!(st = gradient_bound(t, "gradient estimate", &maxg)))
                rbm__centering_apply(&t->center, K, n, t->vbatch,
                                     rbm__estimator_positive_hidden(t->est), t->g);
        }
    }
    if (!st)
        st = gradient_bound(t, t->center.on ? "centred gradient" : "gradient estimate", &maxg);
    if (!st)
        st = rbm__optimizer_step(t->opt, t->g, maxg, t->steps);
    if (st) {
        end_step(t, false);
        return st;
    }
    end_step(t, true);
    if (t->center.on)
        rbm__centering_commit(&t->center);
    t->recon = recon;
    t->steps++;
    t->batch_idx++;
    rbm_status result = RBM_OK;
    if (t->batch_idx == t->nbatches) {
        t->batch_idx = 0;
        t->epochs++;
        rbm__workers_shuffle(t);
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
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (g->nv != mv->nvw || g->nh != mv->nh)
        return rbm__fail(t->ctx, RBM_ERR_SHAPE,
                         "gradient is for a %zu x %zu machine, machine is %zu x %zu", g->nv, g->nh,
                         mv->nvw, mv->nh);
    if (t->g != g) {
        memcpy(t->g->dW, g->dW, mv->nvw * mv->nh * sizeof(double));
        memcpy(t->g->da, g->da, mv->nvw * sizeof(double));
        memcpy(t->g->db, g->db, mv->nh * sizeof(double));
    }
    double maxg;
    rbm_status st;
    if ((st = gradient_bound(t, "gradient", &maxg)) ||
        (st = rbm__optimizer_step(t->opt, t->g, maxg, t->steps)))
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

uint64_t rbm_trainer_step_count(const rbm_trainer *t)
{
    return t ? t->steps : 0;
}

uint64_t rbm_trainer_epoch_count(const rbm_trainer *t)
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
    return t ? rbm__optimizer_kind(t->opt) : RBM_OPTIMIZER_SGD;
}

rbm_estimator *rbm_trainer_estimator(rbm_trainer *t)
{
    return t ? t->est : NULL;
}
