/* librbm — checkpoint (private): the pieces every object's part of a
 * training-state section (TRNS, docs/file-format.md) is made of.
 *
 * A checkpoint is written by rbm_trainer_save_checkpoint (checkpoint.c) as
 * a flat sequence of fields; each object writes and reads its own fields
 * with its write_state / read_state functions (sampler.c, estimator.c,
 * optimizer.c), so nothing outside a module decodes its bytes. Writers put
 * into an rbm__wbuf (errors are sticky); readers take from an rbm__ckpt_in
 * and return RBM_ERR_BAD_FORMAT, naming the file and the field, for
 * anything invalid. */
#ifndef RBM_TRAIN_CHECKPOINT_H
#define RBM_TRAIN_CHECKPOINT_H

#include "core/bytes.h"
#include "core/internal.h"

/* The training state being read: its cursor, and the context and file name
 * the errors are reported with. */
typedef struct rbm__ckpt_in {
    rbm_context *ctx;
    const char *path;
    rbm__rbuf r;
} rbm__ckpt_in;

/* RBM_ERR_BAD_FORMAT with the detail "<path>: <message>". */
rbm_status rbm__ckpt_bad(rbm__ckpt_in *in, const char *fmt, ...) RBM__PRINTF(2, 3);

/* An rng state (RBM_RNG_STATE_BYTES). */
void rbm__ckpt_put_rng(rbm__wbuf *w, const rbm_rng *rng);
rbm_status rbm__ckpt_get_rng(rbm__ckpt_in *in, rbm_rng *rng, const char *what);

/* n finite f64 into x (what[i] names a bad one). */
rbm_status rbm__ckpt_get_f64s(rbm__ckpt_in *in, double *x, size_t n, const char *what);

/* n values of an array of the compute type of K, stored as f64 (exact for
 * float32); reading checks that each is finite. */
void rbm__ckpt_put_reals(rbm__wbuf *w, const rbm__kern *K, const void *x, size_t n);
rbm_status rbm__ckpt_get_reals(rbm__ckpt_in *in, const rbm__kern *K, void *x, size_t n,
                               const char *what);

#endif /* RBM_TRAIN_CHECKPOINT_H */
