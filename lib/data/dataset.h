/* librbm — dataset: the element types and a read-only view of a dataset, for
 * lib/data and the layers after it (train, analysis). The layout of struct
 * rbm_dataset is in data/dataset_impl.h, known to lib/data only; other folders
 * read a dataset through the accessors below.
 *
 * Elements are stored as one of the rbm_dtype types; everything that reads
 * them as numbers goes through rbm__elem_value or rbm__elems_convert, so a
 * uint8, float32 or float64 value reads the same everywhere. */
#ifndef RBM_DATA_DATASET_H
#define RBM_DATA_DATASET_H

#include "core/internal.h"

/* Bytes of one element of type t; 0 for a value that is no rbm_dtype. */
size_t rbm__dtype_size(rbm_dtype t);
/* "uint8", "float32", "float64", or "unknown". */
const char *rbm__dtype_name(rbm_dtype t);

/* Element i of src, an array of dtype elements, as double (exact for every
 * dtype); 0.0 for an unknown dtype. */
static inline double rbm__elem_value(const void *src, rbm_dtype dtype, size_t i)
{
    switch (dtype) {
    case RBM_DTYPE_UINT8: return (double)((const uint8_t *)src)[i];
    case RBM_DTYPE_FLOAT32: return (double)((const float *)src)[i];
    case RBM_DTYPE_FLOAT64: return ((const double *)src)[i];
    }
    return 0.0;
}

/* Elements first .. first+n-1 of src (dtype elements) into out as float
 * (as_f32) or double: a value that the output type holds exactly is kept
 * exactly, float64 becomes float32 by rounding to nearest. */
void rbm__elems_convert(const void *src, rbm_dtype dtype, size_t first, size_t n, bool as_f32,
                        void *out);

/* Copy rows idx[0..n) (or rows start..start+n when idx is NULL) into out as
 * float (as_f32) or double, row-major n x cols. */
void rbm__dataset_fetch(const rbm_dataset *ds, const size_t *idx, size_t start, size_t n,
                        bool as_f32, void *out);
/* Value at (r, c) as double. */
double rbm__dataset_at(const rbm_dataset *ds, size_t r, size_t c);
/* CRC-32 of the stored elements (shape and dtype are not included): tells a
 * checkpoint whether it is resumed on the same data. */
uint32_t rbm__dataset_fingerprint(const rbm_dataset *ds);
/* The fingerprint the elements would have if stored as `as` (float32 or
 * float64): a checkpoint made when a dataset was held in a wider type (0.1
 * and early 0.2 kept binarised data as float32) matches the same values
 * held as uint8. RBM_DTYPE_UINT8 or ds's own dtype: rbm__dataset_fingerprint. */
uint32_t rbm__dataset_fingerprint_as(const rbm_dataset *ds, rbm_dtype as);

/* Read-only accessors (ds must not be NULL). */
rbm_context *rbm__dataset_ctx(const rbm_dataset *ds);
size_t rbm__dataset_rows(const rbm_dataset *ds);
size_t rbm__dataset_cols(const rbm_dataset *ds);
rbm_dtype rbm__dataset_dtype(const rbm_dataset *ds);
/* Weight of row r (1 when the dataset has no weights) and the sum of all
 * weights (the rows when it has none). Every data average of the library is
 * sum_r w_r f(x_r) / sum_r w_r. */
double rbm__dataset_weight(const rbm_dataset *ds, size_t r);
double rbm__dataset_weight_sum(const rbm_dataset *ds);
/* The weight array (rows values), NULL when every row weighs 1. */
const double *rbm__dataset_weights(const rbm_dataset *ds);
/* Every value of ds a Potts state in 0..q-1 (immediate for a categorical
 * dataset of at most q states), else RBM_ERR_OUT_OF_RANGE naming `what`,
 * the value, row and column (in ctx). */
rbm_status rbm__dataset_check_states(const rbm_dataset *ds, size_t q, rbm_context *ctx,
                                     const char *what);
/* q of a categorical dataset, 0 otherwise. */
uint32_t rbm__dataset_n_states(const rbm_dataset *ds);

/* A new dataset owning rows x cols zeroed elements of dtype, for a
 * generator outside lib/data (rbm_sampler_draw_dataset) that fills *data
 * before it hands the dataset out; n_states > 0 declares it categorical
 * with that q (no alphabet), which the values written must respect.
 * Errors: RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY (nothing allocated then). */
rbm_status rbm__dataset_new_zeroed(rbm_context *ctx, size_t rows, size_t cols, rbm_dtype dtype,
                                   uint32_t n_states, void **data, rbm_dataset **out);

#endif /* RBM_DATA_DATASET_H */
