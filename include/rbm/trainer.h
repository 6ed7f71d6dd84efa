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
 * normalisability bound), RBM_ERR_STATE, RBM_ERR_COLLECTIVE (the collective
 * of rbm_trainer_set_collective failed). A step that fails changes nothing:
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

/* ---- Data-parallel training: workers and a collective (docs/scaling.md) ----
 *
 * A run can be split over P workers that each estimate the gradient on
 * their share of every minibatch and sum the shares before the one
 * optimiser update that every worker then applies, so that all workers
 * hold the same machine after every step. The library contains no
 * communication code: the caller supplies the sum (MPI, sockets, ...), or
 * lets one trainer simulate all P workers in turn ("virtual workers"),
 * which gives, bit for bit, the same machine, counters and checkpoints as
 * P processes whose collective follows the summation order below.
 *
 * The partition, for N rows, batch size B and P workers (1 <= P <= B):
 *   - worker r owns the contiguous rows [floor(r N / P), floor((r+1) N / P))
 *     and takes B_r = floor((r+1) B / P) - floor(r B / P) >= 1 of them into
 *     each minibatch (so when P does not divide B the later workers take
 *     one row more);
 *   - each epoch, the trainer's rng draws one permutation per worker's rows,
 *     worker 0's first, then worker 1's, ... (rbm__shuffle of each block in
 *     turn; every worker draws all of them, so all agree);
 *   - minibatch b holds, of worker r, rows b B_r .. min(N_r, (b+1) B_r) - 1
 *     of its permutation; an epoch has max_r ceil(N_r / B_r) minibatches,
 *     and a worker whose rows are used up contributes none to the last ones.
 *     For P = 1 this is exactly the plain trainer's order.
 *   - worker r estimates with its own estimator of B_r chains or particles
 *     (kind and k of the trainer; every other estimator tunable at its
 *     default), seeded with rbm_seed_derive(seed,
 *     RBM_SEED_STREAM_TRAINER_ESTIMATOR) for r = 0 (the plain trainer's
 *     seed) and rbm_seed_derive(rbm_seed_derive(seed,
 *     RBM_SEED_STREAM_TRAINER_WORKER), r) for r >= 1;
 *   - with n_r rows of worker r in a minibatch of n = sum n_r rows, worker
 *     r contributes (n_r / n) g_r (a double multiplication of each element,
 *     skipped for a factor of exactly 1), g_r its estimator's gradient on
 *     its rows (sample weights as above, within its rows); the data term of
 *     the sum is the data term of the whole minibatch, the model term the
 *     average of the workers' chains weighted by their row shares (for full
 *     minibatches, the average over all B chains). A worker without rows
 *     contributes zeros and its chains do not move.
 *   - the reconstruction error is sum_r (n_r / n) err_r.
 * The centred gradient (RBM_TRAINER_CENTERED) needs the whole minibatch on
 * one worker: P > 1 and centring refuse each other (RBM_ERR_UNSUPPORTED).
 * Estimator tunables set through rbm_trainer_estimator (e.g. chains,
 * replicas) apply to that one estimator only: leave them at their defaults
 * when P > 1.
 *
 * The exchange of one step is one call of allreduce_sum on a buffer of
 * n = N_v' N_h + N_v' + N_h + 1 + P doubles (N_v' = N_v q for Potts): the
 * worker's weighted gradient (W row-major, a, b), its weighted
 * reconstruction error, and in slot r of the last P its own step status
 * (0, or the rbm_status of a refused estimate), so that every worker
 * refuses a step that one of them could not estimate.
 *
 * allreduce_sum(user, buf, n) must replace buf, on every worker, by the
 * element-wise sum of the P workers' buffers evaluated in rank order,
 *     ((buf_0 + buf_1) + buf_2) + ... + buf_{P-1}
 * in IEEE double arithmetic, starting from buf_0 (not from 0: -0.0 stays
 * -0.0), identical on every worker; return 0 on success, anything else on
 * failure (the step then fails with RBM_ERR_COLLECTIVE and, as every failed
 * step, changes nothing). Virtual workers sum in exactly this order. A
 * reduction tree or MPI_Allreduce does not guarantee the order; an
 * allgather followed by the ordered sum, or a reduce-scatter of fixed chunks
 * each summed in rank order, does (tools/cli_mpi.c).
 *
 * gather(user, send, n, recv) is needed by rbm_trainer_save_checkpoint only
 * (NULL: such a trainer refuses to save, RBM_ERR_UNSUPPORTED): every worker
 * sends the same number n of bytes; worker 0 receives the P sends
 * concatenated in rank order into recv (P n bytes), on the other workers
 * recv is NULL. Returns 0 on success.
 *
 * Both are called from inside rbm_trainer_step / rbm_trainer_save_checkpoint
 * of the calling thread, by every worker at the same step (every worker
 * must call these functions the same number of times), and must not call
 * back into this trainer. */
typedef struct rbm_collective_ops {
    int (*allreduce_sum)(void *user, double *buf, size_t n);
    int (*gather)(void *user, const void *send, size_t n, void *recv);
} rbm_collective_ops;

/* The stream of the trainer's seed from which workers 1..P-1 derive their
 * estimators' seeds (above). */
#define RBM_SEED_STREAM_TRAINER_WORKER 7

/* Split the run over n_workers virtual workers simulated in turn by this
 * trainer (the partition above; 1 = the plain trainer). A new count gives
 * every worker fresh chains and draws the current epoch's row order afresh
 * from the trainer's rng, so it is allowed only at an epoch boundary
 * (batch index 0, e.g. right after creation or after a checkpoint written
 * at the end of an epoch: that is how a run continues on another number of
 * workers); the same count as now changes nothing. Parameters, optimiser
 * state and counters are kept.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (0, or more workers than
 * the batch size), RBM_ERR_STATE (within an epoch, or a collective is
 * installed), RBM_ERR_UNSUPPORTED (P > 1 with the centred gradient),
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY; on error nothing changes. */
RBM_API rbm_status rbm_trainer_set_workers(rbm_trainer *t, size_t n_workers);

/* Make this trainer worker `rank` of its rbm_trainer_worker_count(t)
 * workers, the others running elsewhere and reached through ops (copied;
 * user is borrowed and passed back to every call). The trainer keeps the
 * chains of worker `rank` (fresh, or restored by
 * rbm_trainer_load_checkpoint) and drops the other workers' estimators;
 * from then on every step, and every rbm_trainer_save_checkpoint, is a
 * collective call. Each worker's trainer must be made the same way (same
 * machine, data, batch size, seed, configuration, worker count), with its
 * own rank. This cannot be undone, and the worker count is then fixed.
 * The whole dataset is read by every worker (each estimates on its rows).
 * rbm_trainer_estimator(t) is then worker `rank`'s estimator.
 * Errors: RBM_ERR_NULL (t, ops or ops->allreduce_sum), RBM_ERR_INVALID_ARGUMENT
 * (rank >= worker count), RBM_ERR_STATE (already installed),
 * RBM_ERR_NO_MEMORY; on error nothing changes. */
RBM_API rbm_status rbm_trainer_set_collective(rbm_trainer *t, const rbm_collective_ops *ops,
                                              void *user, size_t rank);

/* The number of workers (1 for the plain trainer; 0 for NULL). */
RBM_API size_t rbm_trainer_worker_count(const rbm_trainer *t);

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
 * With P > 1 workers the state also holds P and every worker's estimator
 * (rng and chains), so a checkpoint of virtual workers and one of P
 * processes are the same bytes. With a collective, saving is a collective
 * call: every worker calls it at the same step; the worker states are
 * gathered to worker 0, which alone writes path (path is ignored, and may
 * be NULL, on the other workers); every worker returns its own failure or
 * else worker 0's status (RBM_ERR_COLLECTIVE if an exchange failed,
 * RBM_ERR_UNSUPPORTED without ops->gather). A checkpoint of P workers loads as a trainer of P virtual
 * workers; rbm_trainer_set_collective then continues one worker's part bit
 * for bit, and rbm_trainer_set_workers at an epoch boundary continues on
 * another worker count (fresh chains, a fresh row order).
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
