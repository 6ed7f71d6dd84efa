/* librbm — trainers: optimiser, weight decay, one minibatch per step.
 *
 * A trainer owns a gradient estimator and an optimiser state and iterates
 * over a dataset in seeded shuffled minibatches. The caller drives it:
 *
 *     while ((st = rbm_trainer_step(t)) == RBM_OK) { ... }   // one epoch
 *     if (st != RBM_DONE) handle error
 *
 * rbm_trainer_step() performs exactly one parameter update and returns
 * RBM_OK, or RBM_DONE when that update used the last minibatch of an epoch.
 * After construction and after every configuration call, the step loop does
 * no heap allocation.
 *
 * Update rule for a parameter theta with gradient estimate g (ascent):
 *   d = g - l2 * theta - l1 * sign(theta)      (decay on W only)
 *   SGD:       theta += lr * d
 *   momentum:  u = mu * u + lr * d; theta += u
 *   Adam:      m = b1 m + (1-b1) d; s = b2 s + (1-b2) d^2;
 *              theta += lr * (m / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps)
 *
 * Defaults: estimator PCD-1, optimiser SGD, learning rate 0.01, momentum
 * 0.9, Adam b1 0.9 b2 0.999 eps 1e-8, l1 = l2 = 0, reconstruction error
 * computed every step (RBM_TRAINER_MONITOR_EVERY = 1).
 *
 * Sample weights (rbm_dataset_set_weights): the data term of a minibatch is
 * its rows' mean weighted by w_r / (sum of the batch's weights), and the
 * whole gradient is then scaled by (sum of the batch's weights) / (B x the
 * dataset's mean weight), so that its expectation over the batches is the
 * gradient of sum_s w_s log p(v_s) / sum_s w_s (docs/sequences.md). An
 * unweighted dataset is trained exactly as before.
 *
 * Potts visible layers (docs/potts.md): the data must hold states 0..q-1
 * (else RBM_ERR_OUT_OF_RANGE); CD, PCD and EXACT estimators; the
 * reconstruction error is the mean over sites of sum_c (sigma_ic - p_ic)^2;
 * RBM_TRAINER_CENTERED is refused (RBM_ERR_UNSUPPORTED).
 *
 * Reproducing a trainer with the building blocks. A trainer made with
 * rbm_trainer_new(m, data, B, seed, &t) and rbm_trainer_set_estimator(t,
 * kind, k) takes its minibatches in the order of
 *     rbm_batch_iter_new(data, B, RBM_BATCH_SHUFFLE, seed, &it)
 *                                       (shuffled, the last short batch kept)
 * (one fresh row order per epoch, drawn by an rng seeded with seed) and
 * estimates each gradient exactly like
 *     rbm_estimator_new(m, kind, B,
 *                       rbm_seed_derive(seed, RBM_SEED_STREAM_TRAINER_ESTIMATOR),
 *                       &e);
 *     rbm_estimator_set_int(e, RBM_ESTIMATOR_K, k);    (not for EXACT)
 * (B chains or particles, batches of up to B rows). With SGD and
 * l1 = l2 = 0, each rbm_trainer_step is then bit for bit
 *     rbm_batch_iter_next(it, v, B * N_v, &rows);
 *     rbm_estimator_compute(e, rows, v, rows * N_v, g);
 *     rbm_gradient_apply(g, m, learning_rate);
 * in either precision. For the other optimisers, or decay, feed the
 * gradient to rbm_trainer_apply_gradient instead of rbm_gradient_apply.
 *
 * THREAD SAFETY: a trainer belongs to its context's threading domain and
 * must not run concurrently with other use of its machine or dataset. */
#ifndef RBM_TRAINER_H
#define RBM_TRAINER_H

#include "common.h"
#include "status.h"
#include "estimator.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The stream of the trainer's seed that seeds its estimator (rng.h,
 * rbm_seed_derive). */
#define RBM_SEED_STREAM_TRAINER_ESTIMATOR 6

typedef enum rbm_optimizer {
    RBM_OPTIMIZER_SGD = 0,
    RBM_OPTIMIZER_MOMENTUM = 1,
    RBM_OPTIMIZER_ADAM = 2
} rbm_optimizer;

/* Tunables of a trainer (keys 100-199; see rbm_param_bounds in common.h)
 * with their bounds and defaults. Real keys, set with rbm_trainer_set_real: */
typedef enum rbm_trainer_param {
    RBM_TRAINER_LEARNING_RATE = 100, /* > 0, finite              (0.01)  */
    RBM_TRAINER_MOMENTUM = 101,      /* [0, 1)                   (0.9)   */
    RBM_TRAINER_ADAM_BETA1 = 102,    /* [0, 1)                   (0.9)   */
    RBM_TRAINER_ADAM_BETA2 = 103,    /* [0, 1)                   (0.999) */
    RBM_TRAINER_ADAM_EPSILON = 104,  /* > 0, finite              (1e-8)  */
    RBM_TRAINER_L1 = 105,            /* >= 0, finite             (0)     */
    RBM_TRAINER_L2 = 106,            /* >= 0, finite             (0)     */
    RBM_TRAINER_CENTERING_RATE = 107, /* (0, 1]: rate nu of the centring
                                        offsets' running means (0.01)      */
    /* the integer key, set with rbm_trainer_set_int: */
    RBM_TRAINER_MONITOR_EVERY = 150, /* reconstruction error every that many
                                        steps, 0: never; in [0, 2^31 - 1] (1).
                                        The error of a minibatch v is
                                        mean_{rows,units} (v - E[v | h])^2 with
                                        h = E[h|v] (mean-field reconstruction) */
    RBM_TRAINER_CENTERED = 151       /* boolean (0): the centred gradient
                                        (Melchior, Fischer & Wiskott 2016),
                                        below                              */
} rbm_trainer_param;

/* The centred gradient (RBM_TRAINER_CENTERED = 1; docs/theory.md §12). With
 * offsets mu (N_v) and lambda (N_h) the estimator's direction (gW, ga, gb)
 * becomes, in the stored uncentred parameters,
 *   gW' = gW - mu gb^T - ga lambda^T,
 *   ga' = ga - gW' lambda,  gb' = gb - gW'^T mu,
 * which is a step of the centred machine -(v-mu)^T W (h-lambda) - ... mapped
 * back to W, a, b (saved models stay ordinary RBMs). After every successful
 * step the offsets move to (1 - nu) mu + nu m_v, m_v the mean of the
 * batch's <v>_data and the model's <v> = <v>_data - ga (likewise lambda with
 * E[h|v] and gb); the first step sets them to m_v, m_h. g' = 0 exactly when
 * g = 0, so the fixed points are those of the plain gradient. The optimiser
 * (and rbm_trainer_gradient) sees g'. rbm_trainer_apply_gradient does not
 * centre. Offsets, rate and flag are saved in checkpoints. */

/* Names ("sgd", "momentum", "adam") and parsing. */
RBM_API const char *rbm_optimizer_name(rbm_optimizer opt);
RBM_API rbm_status rbm_optimizer_parse(const char *name, rbm_optimizer *out);

/* Create a trainer for machine m on data (both borrowed; they must outlive
 * it) with minibatches of batch_size rows (the last one of an epoch may be
 * smaller) shuffled with seed, which also seeds the estimator.
 * The dataset is validated once here: its columns must equal N_v
 * (RBM_ERR_SHAPE) and its values must lie in the support of the visible
 * units: [0,1] for Bernoulli (fractional values are used as probabilities),
 * [-1,1] for Ising (RBM_ERR_OUT_OF_RANGE with row, column and value).
 * Errors also: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (batch_size 0 or
 * larger than the rows), RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_trainer_new(rbm_machine *m, const rbm_dataset *data, size_t batch_size,
                                   uint64_t seed, rbm_trainer **out);
RBM_API void rbm_trainer_free(rbm_trainer *t);

/* Replace the estimator (fresh chains, seeded from the trainer's seed).
 * Errors: as rbm_estimator_new. */
RBM_API rbm_status rbm_trainer_set_estimator(rbm_trainer *t, rbm_estimator_kind kind, size_t k);

/* Choose the optimiser; its moment buffers are reset to zero.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_trainer_set_optimizer(rbm_trainer *t, rbm_optimizer opt);

/* Set / get a tunable: real keys with *_real, the integer key with *_int.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (unknown key, a key of
 * another module such as RBM_MF_DAMPING, a key of the other type, or a
 * value out of its bounds; the detail names the key and its bounds). A
 * refused set changes nothing. The estimator's keys (estimator.h) are set
 * on rbm_trainer_estimator(t). */
RBM_API rbm_status rbm_trainer_set_real(rbm_trainer *t, rbm_trainer_param key, double value);
RBM_API rbm_status rbm_trainer_get_real(const rbm_trainer *t, rbm_trainer_param key, double *out);
RBM_API rbm_status rbm_trainer_set_int(rbm_trainer *t, rbm_trainer_param key, int64_t value);
RBM_API rbm_status rbm_trainer_get_int(const rbm_trainer *t, rbm_trainer_param key,
                                       int64_t *out);
/* Bounds and type of a key (no handle; thread-safe). Errors: RBM_ERR_NULL
 * (out), RBM_ERR_INVALID_ARGUMENT (not a trainer key). */
RBM_API rbm_status rbm_trainer_param_bounds(rbm_trainer_param key, rbm_param_bounds *out);

/* Install (fn != NULL) or remove the observer. */
RBM_API rbm_status rbm_trainer_set_observer(rbm_trainer *t, rbm_observer_fn fn, void *user);

/* One minibatch update. Returns RBM_OK, RBM_DONE (epoch completed by this
 * step), RBM_STOPPED (observer), or an error: RBM_ERR_NUMERICAL (the
 * gradient estimate or the update would contain NaN/Inf, or the update would
 * move a parameter beyond RBM_TRAIN_PARAM_MAX_F32 / _F64 of machine.h),
 * RBM_ERR_NOT_NORMALIZABLE (a Gauss-Gauss step would cross the
 * normalisability bound), RBM_ERR_STATE. A step that fails changes nothing:
 * parameters, optimiser moments and bias-correction powers, step and batch
 * counters, the row order, the estimator's chains or particles and every rng
 * stream are bit for bit as before the call (the estimator works on a spare
 * copy of its chains and keeps it only when the whole step succeeds), so the
 * caller may lower the learning rate and step again, or checkpoint. */
RBM_API rbm_status rbm_trainer_step(rbm_trainer *t);

/* One optimiser update with a gradient g supplied by the caller (built with
 * rbm_gradient_set_* / rbm_gradient_axpy from an external sampler, or
 * computed by any estimator) in place of the trainer's own estimate: g is
 * copied into the trainer's gradient (rbm_trainer_gradient) and the update
 * rule above runs on it exactly as in rbm_trainer_step (optimiser, moments,
 * decay, overflow guard, Gauss-Gauss bound). It counts as an update in
 * rbm_trainer_step_count but consumes no minibatch (batch index, epoch and row
 * order are unchanged), computes no reconstruction error and does not call
 * the observer. g is only read; no allocation.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (g made for another shape),
 * RBM_ERR_NUMERICAL (g not finite, or the update would overflow or leave the
 * parameter limit), RBM_ERR_NOT_NORMALIZABLE (as for rbm_trainer_step); on
 * error nothing changes. */
RBM_API rbm_status rbm_trainer_apply_gradient(rbm_trainer *t, const rbm_gradient *g);

/* Run whole epochs: calls rbm_trainer_step until n_epochs more epochs have
 * completed. Returns RBM_OK, RBM_STOPPED or the first error. */
RBM_API rbm_status rbm_trainer_run_epochs(rbm_trainer *t, size_t n_epochs);

/* Checkpoints. rbm_trainer_save_checkpoint writes the machine exactly as
 * rbm_machine_save does (so rbm_machine_load reads a checkpoint as a model)
 * plus an optional section 'TRNS' holding the complete training state:
 * configuration (batch size, seed, estimator and k, optimiser and its
 * tunables, monitor period), counters, the epoch's row order, optimiser
 * moments, every rng state, and the persistent chains. The observer is not
 * saved. Atomic like rbm_machine_save (same temporaries, same rule that
 * only a regular file, or a link to one, is replaced). What is written is
 * first read back by the loader in memory, so a checkpoint that would not
 * load is never written (the old file at path, if any, stays). Errors:
 * RBM_ERR_NULL, RBM_ERR_IO, RBM_ERR_NO_MEMORY, RBM_ERR_STATE (the state
 * would not load back, e.g. chains driven to Inf through
 * rbm_estimator_sampler; the detail says which field).
 *
 * rbm_trainer_load_checkpoint creates a machine and a trainer (both owned by
 * the caller; free the trainer first) that continue the saved run bit for
 * bit on data, which must be the dataset the run was trained on (same rows,
 * columns, element type and bytes: checked by a CRC-32 fingerprint,
 * RBM_ERR_SHAPE otherwise). Errors also: RBM_ERR_BAD_FORMAT (not a
 * checkpoint, or an invalid training-state section, with the field in the
 * detail), RBM_ERR_IO, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_trainer_save_checkpoint(const rbm_trainer *t, const char *path);
RBM_API rbm_status rbm_trainer_load_checkpoint(rbm_context *ctx, const char *path,
                                               const rbm_dataset *data, rbm_machine **machine_out,
                                               rbm_trainer **trainer_out);

/* Queries. */
RBM_API uint64_t rbm_trainer_step_count(const rbm_trainer *t);       /* updates done       */
RBM_API uint64_t rbm_trainer_epoch_count(const rbm_trainer *t);      /* epochs completed   */
RBM_API size_t rbm_trainer_batch_index(const rbm_trainer *t);        /* batches done in the
                                                                        current epoch     */
RBM_API size_t rbm_trainer_batches_per_epoch(const rbm_trainer *t);
RBM_API size_t rbm_trainer_batch_size(const rbm_trainer *t);
/* Reconstruction error of the most recent monitored step (NaN before one). */
RBM_API double rbm_trainer_reconstruction_error(const rbm_trainer *t);
/* The gradient estimate used by the most recent step (borrowed). */
RBM_API const rbm_gradient *rbm_trainer_gradient(const rbm_trainer *t);
RBM_API rbm_machine *rbm_trainer_machine(const rbm_trainer *t);
RBM_API rbm_estimator *rbm_trainer_estimator(rbm_trainer *t);
/* The optimiser in use (RBM_OPTIMIZER_SGD for a NULL trainer). */
RBM_API rbm_optimizer rbm_trainer_optimizer(const rbm_trainer *t);

#ifdef __cplusplus
}
#endif
#endif /* RBM_TRAINER_H */
