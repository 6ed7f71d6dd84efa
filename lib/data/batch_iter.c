/* librbm — batch_iter: minibatch iteration over a dataset's rows.
 *
 * Every row is visited once per epoch, in file order or in a permutation
 * drawn afresh from the iterator's own rng at the start of each epoch (the
 * same rbm__shuffle that rbm_trainer_step uses). */
#include "core/shuffle.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"

#include <inttypes.h>

struct rbm_batch_iter {
    rbm_context *ctx;
    const rbm_dataset *ds;
    size_t batch;
    size_t nbatches;
    size_t pos; /* rows of the current epoch already delivered */
    int shuffle;
    int drop_last;
    size_t *perm;
    struct rbm_rng rng;
};

rbm_status rbm_batch_iter_new(const rbm_dataset *ds, size_t batch_size, uint32_t flags,
                              uint64_t seed, rbm_batch_iter **out)
{
    if (out)
        *out = NULL;
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_batch_iter_new: out is NULL");
    const uint32_t known = RBM_BATCH_SHUFFLE | RBM_BATCH_DROP_LAST;
    if (flags & ~known)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_batch_iter_new: unknown flag bits 0x%" PRIx32
                         " (known: RBM_BATCH_SHUFFLE | RBM_BATCH_DROP_LAST = 0x%" PRIx32 ")",
                         flags & ~known, known);
    const int shuffle = (flags & RBM_BATCH_SHUFFLE) != 0;
    const int drop_last = (flags & RBM_BATCH_DROP_LAST) != 0;
    if (batch_size == 0 || batch_size > ds->rows)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_batch_iter_new: batch size %zu must be in [1, %zu] (the rows)",
                         batch_size, ds->rows);
    size_t tmp;
    if (!rbm__mul_ok(batch_size, ds->cols, &tmp))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "rbm_batch_iter_new: batch of %zu x %zu values overflows", batch_size,
                         ds->cols);
    rbm_batch_iter *it;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *it, &it, "batch iterator");
    if (st)
        return st;
    st = rbm__xcalloc(ctx, ds->rows, sizeof(size_t), &it->perm, "batch iterator");
    if (st) {
        rbm__free(ctx, it);
        return st;
    }
    for (size_t i = 0; i < ds->rows; i++)
        it->perm[i] = i;
    it->ctx = ctx;
    it->ds = ds;
    it->batch = batch_size;
    it->shuffle = shuffle != 0;
    it->drop_last = drop_last != 0;
    it->nbatches = drop_last ? ds->rows / batch_size
                             : ds->rows / batch_size + (ds->rows % batch_size != 0);
    it->pos = 0;
    rbm__rng_init(&it->rng, ctx, seed);
    *out = it;
    return RBM_OK;
}

rbm_status rbm_batch_iter_next(rbm_batch_iter *it, double *out, size_t out_len, size_t *rows)
{
    if (!it)
        return RBM_ERR_NULL;
    if (!out || !rows)
        return rbm__fail(it->ctx, RBM_ERR_NULL, "rbm_batch_iter_next: %s is NULL",
                         !out ? "out" : "rows");
    size_t M = it->ds->rows, D = it->ds->cols;
    if (out_len < it->batch * D)
        return rbm__fail(it->ctx, RBM_ERR_SHAPE,
                         "rbm_batch_iter_next: out has %zu elements, a batch of %zu x %zu needs %zu",
                         out_len, it->batch, D, it->batch * D);
    if (it->pos == 0 && it->shuffle) {
        /* a fresh permutation once per epoch, as rbm_trainer_step makes */
        rbm__shuffle(&it->rng, it->perm, M);
    }
    size_t n = M - it->pos < it->batch ? M - it->pos : it->batch;
    rbm__dataset_fetch(it->ds, it->perm + it->pos, 0, n, false, out);
    it->pos += n;
    *rows = n;
    size_t left = M - it->pos;
    if (left == 0 || (it->drop_last && left < it->batch)) {
        it->pos = 0;
        return RBM_DONE;
    }
    return RBM_OK;
}

size_t rbm_batch_iter_batches_per_epoch(const rbm_batch_iter *it)
{
    return it ? it->nbatches : 0;
}

void rbm_batch_iter_free(rbm_batch_iter *it)
{
    if (!it)
        return;
    rbm_context *ctx = it->ctx;
    rbm__free(ctx, it->perm);
    rbm__free(ctx, it);
}
