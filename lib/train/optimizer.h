/* librbm — optimizer (private): a trainer's update rule (trainer.h): SGD,
 * momentum or Adam with weight decay on W, the proof or dry run that an
 * update stays finite, the Gauss-Gauss normalisability check, and the
 * optimiser's parts of a checkpoint. */
#ifndef RBM_TRAIN_OPTIMIZER_H
#define RBM_TRAIN_OPTIMIZER_H

#include "core/internal.h"
#include "core/params.h"
#include "train/checkpoint.h"

typedef struct rbm__optimizer rbm__optimizer;

/* An SGD optimiser with the default tunables (trainer.h) for machine m
 * (borrowed). Errors: RBM_ERR_NO_MEMORY. */
rbm_status rbm__optimizer_new(rbm_machine *m, rbm__optimizer **out);
void rbm__optimizer_free(rbm__optimizer *o);

/* Switch to kind with fresh zero moments (b1^t = b2^t = 1). On error the
 * optimiser is left as SGD. Errors: RBM_ERR_INVALID_ARGUMENT,
 * RBM_ERR_NO_MEMORY. */
rbm_status rbm__optimizer_set_kind(rbm__optimizer *o, rbm_optimizer kind);
rbm_optimizer rbm__optimizer_kind(const rbm__optimizer *o);

/* The trainer's keys (trainer.h): the optimiser's seven real tunables and
 * the trainer's own RBM_TRAINER_MONITOR_EVERY. */
extern const rbm__param_table rbm__trainer_params;

/* The real tunables, as rbm_trainer_set_real / get_real (out not NULL):
 * every check of rbm__param_check, message in the context. */
rbm_status rbm__optimizer_set_real(rbm__optimizer *o, rbm_trainer_param key, double value);
rbm_status rbm__optimizer_get_real(const rbm__optimizer *o, rbm_trainer_param key, double *out);

/* One update of the machine's parameters with gradient g, whose largest
 * magnitude maxg is finite; step numbers the update in error details.
 * Errors: RBM_ERR_NUMERICAL (the update would overflow; nothing changed),
 * RBM_ERR_NOT_NORMALIZABLE (Gauss-Gauss; parameters unchanged, moments
 * advanced). No allocation. */
rbm_status rbm__optimizer_step(rbm__optimizer *o, const rbm_gradient *g, double maxg,
                               uint64_t step);

/* ---- checkpoint parts (docs/file-format.md, TRNS) ----
 * config: u32 kind, then 7 f64 tunables in rbm_trainer_param order;
 * powers: f64 b1^t, f64 b2^t; state: u32 first moments present [W, a, b],
 * u32 second moments present [W, a, b]. Config and powers are read into a
 * config and applied together by rbm__optimizer_restore. */
typedef struct rbm__optimizer_config {
    uint32_t kind;
    double reals[7];
    double b1t, b2t;
} rbm__optimizer_config;
void rbm__optimizer_write_config(const rbm__optimizer *o, rbm__wbuf *w);
void rbm__optimizer_write_powers(const rbm__optimizer *o, rbm__wbuf *w);
void rbm__optimizer_write_state(const rbm__optimizer *o, rbm__wbuf *w);
void rbm__optimizer_read_config(rbm__ckpt_in *in, rbm__optimizer_config *c);
void rbm__optimizer_read_powers(rbm__ckpt_in *in, rbm__optimizer_config *c);
/* Errors: RBM_ERR_NO_MEMORY, RBM_ERR_BAD_FORMAT (an invalid field). */
rbm_status rbm__optimizer_restore(rbm__optimizer *o, const rbm__optimizer_config *c,
                                  rbm__ckpt_in *in);
rbm_status rbm__optimizer_read_state(rbm__optimizer *o, rbm__ckpt_in *in);

#endif /* RBM_TRAIN_OPTIMIZER_H */
