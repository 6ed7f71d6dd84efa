/* librbm — dataset_impl: the layout of struct rbm_dataset and how lib/data
 * builds datasets (private to lib/data).
 *
 * Other folders read a dataset through the accessors of data/dataset.h.
 * Every constructor of the folder (from memory, the loaders, the generator,
 * transforms and slices) ends in rbm__dataset_wrap. */
#ifndef RBM_DATA_DATASET_IMPL_H
#define RBM_DATA_DATASET_IMPL_H

#include "data/dataset.h"

struct rbm_dataset {
    rbm_context *ctx;
    size_t rows, cols;
    rbm_dtype dtype;
    const void *data; /* rows x cols elements of dtype */
    void *owned;      /* == data when owned, NULL when borrowed */
    size_t img_h, img_w;
    size_t header_rows; /* lines a CSV loader skipped as a header */
    double *weights;    /* rows sample weights (owned), NULL: every row weighs 1 */
    double weight_sum;  /* sum of weights (rows when weights is NULL) */
    uint32_t n_states;  /* q of a categorical dataset (values 0..q-1, uint8), 0 otherwise */
    char alphabet[256]; /* the n_states symbols of state 0..q-1 and a NUL; "" when unknown */
    uint64_t unknown_symbols; /* symbols an alignment reader mapped to the gap state */
};

/* Largest single buffer a dataset may use (as rbm__xcalloc). */
#define RBM__DS_MAX_BYTES (SIZE_MAX >> 2)

/* rows x cols x elem bytes into *bytes, or RBM_ERR_TOO_LARGE naming what. */
rbm_status rbm__dataset_size(rbm_context *ctx, size_t rows, size_t cols, size_t elem,
                             size_t *bytes, const char *what);
/* rbm__alloc that reports RBM_ERR_NO_MEMORY ("what: cannot allocate N
 * bytes") into ctx and *st; *st is RBM_OK on success. */
void *rbm__data_alloc(rbm_context *ctx, size_t bytes, const char *what, rbm_status *st);

/* RBM_ERR_NOT_FINITE naming the row and column of the first NaN or infinity
 * of a rows x cols array (uint8 data is always finite). */
rbm_status rbm__dataset_check_finite(rbm_context *ctx, const void *data, rbm_dtype dtype,
                                     size_t rows, size_t cols, const char *what);
/* RBM_ERR_INVALID_ARGUMENT unless rows [start, start+count) are a non-empty
 * range within ds; fn names the caller. */
rbm_status rbm__dataset_check_rows(const rbm_dataset *ds, size_t start, size_t count,
                                   const char *fn);

/* A new dataset over rows x cols elements of dtype: owns `owned` when it is
 * not NULL (freed here on failure), else borrows `data`. No image shape. */
rbm_status rbm__dataset_wrap(rbm_context *ctx, size_t rows, size_t cols, rbm_dtype dtype,
                             void *owned, const void *data, rbm_dataset **out);
/* A new dataset owning `owned` (rows x src's columns of dtype), with src's
 * context and image shape and the weights of src's rows [first, first+rows):
 * the result of a transform (first 0, rows all) or slice of src. `owned` is
 * freed on failure. */
rbm_status rbm__dataset_derive(const rbm_dataset *src, size_t first, size_t rows, rbm_dtype dtype,
                               void *owned, rbm_dataset **out);

/* Install a copy of w[0..rows) as ds's weights after checking them (finite,
 * >= 0, a finite positive sum); fn names the caller in messages. On failure
 * ds is unchanged. */
rbm_status rbm__dataset_put_weights(rbm_dataset *ds, const double *w, const char *fn);

/* RBM_ERR_INVALID_ARGUMENT "<fn>: ..." unless 2 <= n_states <= 255 and
 * alphabet (when not NULL) has n_states distinct printable ASCII symbols. */
rbm_status rbm__alphabet_check(rbm_context *ctx, const char *fn, size_t n_states,
                               const char *alphabet);

#endif /* RBM_DATA_DATASET_IMPL_H */
