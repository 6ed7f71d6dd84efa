/* librbm — datasets: rows of visible configurations.
 *
 * A dataset is an M x D matrix (M rows = samples, D columns = visible units),
 * stored in one of the rbm_dtype element types. Values are used as they are:
 * a uint8 image dataset holds 0..255 until transformed (rbm_dataset_transform).
 * Sources: caller memory (copied or borrowed), IDX files (plain or gzip, as
 * distributed for MNIST / Fashion-MNIST), CSV, NPY (v1/v2/v3, C order,
 * u1/f4/f8 little- or big-endian), and the synthetic cluster generator of
 * docs/theory.md §7.
 *
 * Every loader reads regular files only (a FIFO, device or directory gives
 * RBM_ERR_IO naming the file type, and never blocks) and validates sizes
 * before allocating: a header claiming more data than the file holds (for
 * gzip: more than deflate can decode from its size), or a file holding
 * bytes after the data, gives RBM_ERR_BAD_FORMAT; a product of sizes that
 * overflows, or a decoded size above the context's data size limit
 * (rbm_context_set_max_data_bytes), gives RBM_ERR_TOO_LARGE. The data buffer
 * is allocated once at its final size (CSV: grown by doubling, within the
 * limit). A failed load returns no dataset. Float input containing NaN or
 * infinity gives RBM_ERR_NOT_FINITE (with row and column in the detail).
 * File content quoted in a message has control bytes and bytes >= 0x80
 * escaped as \xNN.
 *
 * THREAD SAFETY: a dataset belongs to its context's threading domain; const
 * functions may run concurrently with each other. A borrowed buffer must
 * stay valid and unmodified for the dataset's lifetime. */
#ifndef RBM_DATASET_H
#define RBM_DATASET_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether rbm_dataset_from_memory copies the caller's buffer or keeps a
 * pointer to it. */
typedef enum rbm_ownership {
    RBM_COPY = 0,
    RBM_BORROW = 1
} rbm_ownership;

/* Elementwise transforms (rbm_dataset_transform). */
typedef enum rbm_transform {
    RBM_TRANSFORM_BINARIZE = 0,   /* x > threshold ? 1 : 0                       */
    RBM_TRANSFORM_SCALE01 = 1,    /* (x - min) / (max - min) over the whole data;
                                     uint8 data is divided by 255; constant data
                                     maps to 0                                   */
    RBM_TRANSFORM_TO_ISING = 2,   /* 2x - 1 (expects values in [0,1])            */
    RBM_TRANSFORM_BINARIZE_ISING = 3 /* x > threshold ? +1 : -1                  */
} rbm_transform;

/* Wrap or copy rows x cols elements of type dtype (row-major). With
 * RBM_BORROW the buffer must outlive the dataset. Float data is checked for
 * NaN/Inf. Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (rows or cols 0,
 * unknown dtype/ownership), RBM_ERR_TOO_LARGE, RBM_ERR_NOT_FINITE,
 * RBM_ERR_NO_MEMORY. The caller owns *out. */
RBM_API rbm_status rbm_dataset_from_memory(rbm_context *ctx, const void *data, rbm_dtype dtype,
                                           size_t rows, size_t cols, rbm_ownership ownership,
                                           rbm_dataset **out);

/* Load an IDX file (magic 0x00 0x00 type ndim, big-endian dims), plain or
 * gzip-compressed (detected from the content, not the name). The first
 * dimension is the rows; the others are flattened into columns (an image
 * file of n x 28 x 28 gives 784 columns and image shape 28 x 28). Element
 * type ubyte is kept as uint8; float and double are loaded as such; signed
 * and int types are converted to float64.
 * Errors: RBM_ERR_NULL, RBM_ERR_IO (cannot open/read, with the OS reason),
 * RBM_ERR_BAD_FORMAT (wrong magic, unknown type, ndim 0, truncated, trailing
 * bytes after the data, corrupt gzip), RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY,
 * RBM_ERR_NOT_FINITE. */
RBM_API rbm_status rbm_dataset_load_idx(rbm_context *ctx, const char *path, rbm_dataset **out);

/* Load a CSV file of numbers (plain or gzip, told from the content): comma separated, blank lines ignored, every
 * row with the same number of fields, values float64 (C locale). The first
 * non-blank line is a header when none of its fields is a number; a row
 * with some numbers and a bad field is an error (as
 * rbm_dataset_load_csv_ex with RBM_CSV_HEADER_AUTO).
 * Errors: RBM_ERR_IO, RBM_ERR_BAD_FORMAT (with line and field),
 * RBM_ERR_TOO_LARGE (the values exceed the context's data size limit),
 * others as above. */
RBM_API rbm_status rbm_dataset_load_csv(rbm_context *ctx, const char *path, rbm_dataset **out);

/* Header handling of rbm_dataset_load_csv_ex (flags; at most one of the
 * two bits). */
typedef enum rbm_csv_flag {
    RBM_CSV_HEADER_AUTO = 0,     /* the first non-blank line is a header when
                                    none of its fields is a number          */
    RBM_CSV_HEADER_YES = 1u << 0, /* the first non-blank line is a header,
                                    skipped whatever it holds               */
    RBM_CSV_HEADER_NO = 1u << 1  /* no header: every line must be numbers */
} rbm_csv_flag;

/* rbm_dataset_load_csv with an explicit header mode. How many lines were
 * skipped as a header (0 or 1) is rbm_dataset_header_rows(*out).
 * Errors: as rbm_dataset_load_csv, and RBM_ERR_INVALID_ARGUMENT (unknown
 * flag bits, or both RBM_CSV_HEADER_YES and RBM_CSV_HEADER_NO). */
RBM_API rbm_status rbm_dataset_load_csv_ex(rbm_context *ctx, const char *path, uint32_t flags,
                                           rbm_dataset **out);

/* Load a 1-D or 2-D NPY array (1-D gives one row). dtypes u1, f4, f8 in
 * either byte order; fortran_order must be False; each header key once.
 * Errors: as rbm_dataset_load_idx (a duplicate key, truncation or trailing
 * bytes give RBM_ERR_BAD_FORMAT). */
RBM_API rbm_status rbm_dataset_load_npy(rbm_context *ctx, const char *path, rbm_dataset **out);

/* Load by file name: *.idx*, *-ubyte, *-ubyte.gz -> IDX; *.csv -> CSV;
 * *.npy -> NPY; the alignment names of rbm_dataset_load_alignment (*.fasta,
 * *.sto, ...) -> that reader with the protein alphabet and no flags
 * (alignment.h); otherwise RBM_ERR_BAD_FORMAT naming the accepted forms. */
RBM_API rbm_status rbm_dataset_load(rbm_context *ctx, const char *path, rbm_dataset **out);

/* Save ds as a 2-D NPY file (format 1.0, dtype '<f8', C order): rows x cols
 * float64 values whatever the element type (uint8 and float32 values are
 * exact in float64), so rbm_dataset_load_npy reads back the same values.
 * The file is replaced atomically: written to a temporary in the same
 * directory ("<path>.rbm-tmp.<pid>.XXXXXX", mode 0666 less the umask),
 * synced and renamed over path; on failure the temporary is removed and
 * path is left as it was. Stale temporaries, targets that are not regular
 * files and symbolic links are handled as by rbm_machine_save. Only reads ds; the caller keeps ownership of ds and path.
 * Errors, with the detail in the dataset's context: RBM_ERR_NULL (ds or path
 * NULL), RBM_ERR_IO (cannot create, write, sync or rename, naming the path
 * and the system's reason; path is not a regular file). Thread safety: as the other const functions of
 * a dataset; concurrent saves to one path leave one complete file. */
RBM_API rbm_status rbm_dataset_save_npy(const rbm_dataset *ds, const char *path);

/* Synthetic clusters (docs/theory.md §7): n_clusters centres c_k ~ N(0, I_d) in
 * d = intrinsic_dim dimensions, a random orthonormal embedding E
 * (n_dims x d, Gram-Schmidt of a Gaussian matrix), samples
 * x = E (c_k + noise * xi) with xi ~ N(0, I_d) and k uniform; then
 * kind RBM_UNIT_BERNOULLI stores (x_i > 0) in {0,1}, RBM_UNIT_ISING stores
 * sign(x_i) in {-1,+1} (0 maps to +1), RBM_UNIT_GAUSSIAN stores x itself
 * (float64). Zero for n_clusters, intrinsic_dim or n_dims selects the
 * defaults 11, 5 and 100. Everything is drawn from one rbm_rng seeded with
 * seed, so the same arguments give identical data.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (n_samples 0, noise < 0 or
 * not finite, intrinsic_dim > n_dims, unknown kind), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_dataset_synthetic(rbm_context *ctx, size_t n_samples, size_t n_clusters,
                                         size_t intrinsic_dim, size_t n_dims, double noise,
                                         rbm_unit_kind kind, uint64_t seed, rbm_dataset **out);

/* Apply a transform, producing a new dataset (owned by the caller; the input
 * is unchanged). threshold is used by the BINARIZE transforms only and is
 * compared with the raw values (e.g. 127 for uint8 images, 0.5 after
 * SCALE01). Results are stored in the smallest type that holds them
 * exactly: BINARIZE gives uint8 (0/1, a quarter of float32's memory; until
 * 0.2 it gave float32, and checkpoints made on such data still resume on
 * the uint8 one); the others give float32 (float64 if the input is float64).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (unknown transform,
 * threshold not finite), RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_dataset_transform(const rbm_dataset *ds, rbm_transform transform,
                                         double threshold, rbm_dataset **out);

/* A new dataset holding rows [start, start+count) (copied). Errors:
 * RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (empty or out-of-range slice). */
RBM_API rbm_status rbm_dataset_slice(const rbm_dataset *ds, size_t start, size_t count,
                                     rbm_dataset **out);

/* Release a dataset; NULL is a no-op. */
RBM_API void rbm_dataset_free(rbm_dataset *ds);

/* Queries (0 for NULL). image_shape writes the image height and width when
 * the source had them (IDX with 3 dims, or set by the caller), 0 and 0
 * otherwise; either pointer may be NULL. */
RBM_API size_t rbm_dataset_rows(const rbm_dataset *ds);
/* The context the dataset was made from (borrowed), NULL for NULL. */
RBM_API rbm_context *rbm_dataset_context(const rbm_dataset *ds);
RBM_API size_t rbm_dataset_cols(const rbm_dataset *ds);
RBM_API rbm_dtype rbm_dataset_dtype(const rbm_dataset *ds);
RBM_API void rbm_dataset_image_shape(const rbm_dataset *ds, size_t *height, size_t *width);
/* Lines the CSV loader skipped as a header (0 or 1); 0 for a dataset from
 * any other source (and for slices and transforms) and for NULL. */
RBM_API size_t rbm_dataset_header_rows(const rbm_dataset *ds);

/* Declare the rows to be height x width images (height*width must equal
 * cols). Errors: RBM_ERR_NULL, RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_dataset_set_image_shape(rbm_dataset *ds, size_t height, size_t width);

/* Copy count rows starting at start into out (count x cols doubles).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (range), RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_dataset_get_rows(const rbm_dataset *ds, size_t start, size_t count,
                                        double *out, size_t out_len);

/* Smallest and largest value in the dataset. Either pointer may be NULL. */
RBM_API rbm_status rbm_dataset_range(const rbm_dataset *ds, double *min, double *max);

/* Sample weights. A dataset may carry one weight w_r >= 0 per row (none:
 * every row weighs 1); sum_r w_r is the effective number of samples M_eff.
 * The statistics of this header (rbm_dataset_mean, rbm_dataset_covariance)
 * are weighted means sum_r w_r f(x_r) / sum_r w_r. NOT YET weighted: the
 * data term of the gradient estimators, the log-likelihood and
 * pseudo-likelihood, the AIS base rates and the visible-bias
 * initialisation (docs/sequences.md lists what is and is not weighted).
 * Weights are kept by rbm_dataset_slice (the slice's rows) and
 * rbm_dataset_transform, and are part of the dataset fingerprint of
 * checkpoints (an unweighted dataset has the fingerprint it always had), so
 * resuming a checkpoint on changed weights is refused with RBM_ERR_SHAPE.
 *
 * rbm_dataset_set_weights copies w[0..n) (n == rows) into ds; w = NULL with
 * n = 0 removes the weights. Errors (ds unchanged): RBM_ERR_NULL (w NULL
 * with n > 0), RBM_ERR_SHAPE (n != rows), RBM_ERR_NOT_FINITE (a NaN or
 * infinite weight, naming the row), RBM_ERR_INVALID_ARGUMENT (a negative
 * weight, or the weights sum to 0 or overflow), RBM_ERR_NO_MEMORY.
 * Not thread safe with any other use of ds. */
RBM_API rbm_status rbm_dataset_set_weights(rbm_dataset *ds, const double *w, size_t n);
/* The rows weights into out (1.0 each for an unweighted dataset).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (len < rows). */
RBM_API rbm_status rbm_dataset_get_weights(const rbm_dataset *ds, double *out, size_t len);
/* 1 when ds carries weights, 0 otherwise (and for NULL). */
RBM_API int rbm_dataset_has_weights(const rbm_dataset *ds);
/* The sum of the weights, the effective number of samples M_eff (the rows
 * for an unweighted dataset, 0 for NULL). */
RBM_API double rbm_dataset_weight_sum(const rbm_dataset *ds);

/* Categorical data (Potts visible units). A categorical dataset stores one
 * state index c in [0, q) per site as uint8 (the N columns are the sites),
 * with q = rbm_dataset_n_states() and, when known, one printable symbol per
 * state (rbm_dataset_alphabet(): a string of q characters, symbol of state
 * c at position c). The alignment loaders (alignment.h) make categorical
 * datasets; rbm_dataset_set_categories declares one made from memory.
 * It checks that ds holds uint8 values below n_states (2 <= n_states <=
 * 255) and that alphabet, when not NULL, has n_states distinct printable
 * ASCII symbols (copied). Slices keep the declaration; transforms drop it.
 * Errors (ds unchanged): RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (q out of
 * range, dtype not uint8, a value >= q naming row and column, a bad
 * alphabet). Not thread safe with any other use of ds. */
RBM_API rbm_status rbm_dataset_set_categories(rbm_dataset *ds, uint32_t n_states,
                                              const char *alphabet);
/* q of a categorical dataset; 0 for other datasets and NULL. */
RBM_API uint32_t rbm_dataset_n_states(const rbm_dataset *ds);
/* The q state symbols of a categorical dataset (owned by ds, valid while it
 * lives), NULL when unknown, for other datasets and for NULL. */
RBM_API const char *rbm_dataset_alphabet(const rbm_dataset *ds);

/* Sequence reweighting for phylogenetic redundancy: out[s] = 1 / n_s with
 * n_s = #{s' : identity(s, s') >= theta}, s' = s included, identity = the
 * fraction of the cols positions where rows s and s' hold the same value
 * (a gap is a state like any other: two gaps match). theta = 0.8 is the
 * usual choice. sum(out) is the effective number of sequences M_eff. The
 * weights are computed, not installed: pass them to rbm_dataset_set_weights.
 * Cost: all rows^2 / 2 pairs are compared with vector compares that stop
 * once a pair cannot reach theta, on the context's threads
 * (rbm_context_set_threads); docs/performance.md gives the measured time
 * for 10^5 sequences of 300 sites. Any uint8 dataset (alignments, binarised
 * data) can be reweighted.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (len < rows), RBM_ERR_INVALID_ARGUMENT
 * (theta not in [0, 1], dtype not uint8), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. Reads ds only (const; may run concurrently with other
 * const uses). */
RBM_API rbm_status rbm_dataset_sequence_weights(const rbm_dataset *ds, double theta, double *out,
                                                size_t len);

/* Column means (cols values) and the centred covariance
 * Cov = <x x^T> - <x><x>^T (cols x cols), computed in double; both are
 * weighted averages when the dataset has weights (divided by the weight
 * sum; by M without weights).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_dataset_mean(const rbm_dataset *ds, double *out, size_t len);
RBM_API rbm_status rbm_dataset_covariance(const rbm_dataset *ds, double *out, size_t len);

/* Flags of rbm_batch_iter_new, combined with |. */
typedef enum rbm_batch_flag {
    RBM_BATCH_SHUFFLE = 1u << 0,  /* visit rows in an order drawn anew every epoch */
    RBM_BATCH_DROP_LAST = 1u << 1 /* skip the short last batch of an epoch */
} rbm_batch_flag;

/* Minibatch iteration. An iterator visits every row once per epoch in an
 * order drawn from its own rng (seeded with seed) when flags has
 * RBM_BATCH_SHUFFLE, in file order otherwise. The last batch of an epoch
 * holds the remaining rows % batch_size rows, or is skipped when flags has
 * RBM_BATCH_DROP_LAST. flags = 0: file order, short last batch kept.
 * rbm_batch_iter_next copies the next batch (rows x cols doubles) into out
 * (capacity out_len >= batch_size * cols) and stores its row count in *rows;
 * it returns RBM_OK, or RBM_DONE after delivering the last batch of an epoch
 * (the next call starts a new epoch with a new order).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (batch_size 0 or larger
 * than the rows, or a bit of flags that is not an rbm_batch_flag; the
 * detail gives the unknown bits), RBM_ERR_SHAPE (out_len too small). The
 * iterator borrows the
 * dataset, which must outlive it. */
RBM_API rbm_status rbm_batch_iter_new(const rbm_dataset *ds, size_t batch_size, uint32_t flags,
                                      uint64_t seed, rbm_batch_iter **out);
RBM_API rbm_status rbm_batch_iter_next(rbm_batch_iter *it, double *out, size_t out_len,
                                       size_t *rows);
RBM_API size_t rbm_batch_iter_batches_per_epoch(const rbm_batch_iter *it);
RBM_API void rbm_batch_iter_free(rbm_batch_iter *it);

#ifdef __cplusplus
}
#endif
#endif /* RBM_DATASET_H */
