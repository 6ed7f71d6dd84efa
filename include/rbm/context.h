/* librbm — context: allocator, log callback, last-error detail.
 *
 * A context is the root of every librbm object: machines, datasets,
 * samplers, estimators and trainers are created from one and report their
 * errors into it. The context must outlive every object created from it.
 *
 * Error detail: every failing call that has a context stores a one-line,
 * specific message ("dataset has 783 columns, machine expects 784") that
 * rbm_context_last_error() returns until the next failing call. Successful
 * calls do not clear it.
 *
 * THREAD SAFETY: a context and every object made from it form one threading
 * domain: use them from one thread at a time. Different contexts (and their
 * objects) may be used concurrently from different threads. */
#ifndef RBM_CONTEXT_H
#define RBM_CONTEXT_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create a context using malloc/free and no logging.
 * Errors: RBM_ERR_NULL (out is NULL), RBM_ERR_NO_MEMORY. *out is set to NULL
 * on failure. The caller owns *out and releases it with rbm_context_free(). */
RBM_API rbm_status rbm_context_new(rbm_context **out);

/* Create a context whose allocations all go through alloc/free_fn.
 * Errors: RBM_ERR_NULL (out, alloc or free_fn NULL), RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_context_new_with_allocator(rbm_alloc_fn alloc, rbm_free_fn free_fn,
                                                  void *user, rbm_context **out);

/* Release a context. NULL is a no-op. Objects created from it must have been
 * freed before. */
RBM_API void rbm_context_free(rbm_context *ctx);

/* Install (or with fn == NULL remove) a log callback receiving messages at
 * levels <= max_level. Errors: RBM_ERR_NULL (ctx), RBM_ERR_INVALID_ARGUMENT
 * (max_level outside the enum). */
RBM_API rbm_status rbm_context_set_log(rbm_context *ctx, rbm_log_fn fn, void *user,
                                       rbm_log_level max_level);

/* Detail of the last error reported into ctx, or "" when none. The string is
 * owned by the context and valid until the next librbm call on it. Returns
 * "" for a NULL ctx. */
RBM_API const char *rbm_context_last_error(const rbm_context *ctx);

/* Status of the last error reported into ctx (RBM_OK when none). */
RBM_API rbm_status rbm_context_last_status(const rbm_context *ctx);

/* Number of threads librbm's own parallel loops (exact enumeration,
 * pseudo-likelihood) may use for work made from this context: n >= 1, or 0
 * for the number of online processors (the default). BLAS threading is
 * configured by the BLAS library itself (e.g. OPENBLAS_NUM_THREADS).
 * Results do not depend on the thread count beyond floating-point
 * summation order of exact enumeration. Errors: RBM_ERR_NULL. */
RBM_API rbm_status rbm_context_set_threads(rbm_context *ctx, size_t n);
/* The setting made by rbm_context_set_threads: 0 (automatic, the default of
 * a new context) or the n given. NULL gives 0. */
RBM_API size_t rbm_context_threads(const rbm_context *ctx);
/* The number of threads the parallel loops will actually use: the setting,
 * or the number of online processors when it is 0 (at least 1). NULL gives 0. */
RBM_API size_t rbm_context_effective_threads(const rbm_context *ctx);

/* Default of rbm_context_max_data_bytes: 8 GiB. Far above the datasets
 * librbm is made for (MNIST as float64 is 0.38 GB) and at or below the memory
 * of the machines that train on it, so that a file whose header claims an
 * absurd size is refused before the loader allocates instead of driving the
 * process into swap or the OOM killer. */
#define RBM_MAX_DATA_BYTES_DEFAULT ((uint64_t)8 << 30)

/* Largest dataset, in bytes of its decoded elements (rows x columns x the
 * element size of the dataset's type, e.g. 8 for values loaded as float64),
 * that the file loaders (rbm_dataset_load*) of this context build. A file
 * whose header (or, for CSV, whose content) implies more is refused with
 * RBM_ERR_TOO_LARGE naming the file, the size and the limit, before the
 * buffer is allocated. 0 means no limit beyond the address space. A new
 * context has RBM_MAX_DATA_BYTES_DEFAULT. Datasets built from memory, the
 * synthetic generator and transforms are not limited. Errors: RBM_ERR_NULL. */
RBM_API rbm_status rbm_context_set_max_data_bytes(rbm_context *ctx, uint64_t max_bytes);
/* The limit set by rbm_context_set_max_data_bytes (0: none). NULL gives 0. */
RBM_API uint64_t rbm_context_max_data_bytes(const rbm_context *ctx);

/* Forget the last error. NULL is a no-op. */
RBM_API void rbm_context_clear_error(rbm_context *ctx);

#ifdef __cplusplus
}
#endif
#endif /* RBM_CONTEXT_H */
