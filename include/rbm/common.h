/* librbm — common definitions: export macro, every handle and callback
 * typedef, shared enums. Included by every public header.
 *
 * FFI note: this header uses only <stddef.h> and <stdint.h>. Define RBM_CFFI
 * before running the preprocessor to get a cdef-clean declaration list
 * (cc -E -P -DRBM_CFFI include/rbm/rbm.h). */
#ifndef RBM_COMMON_H
#define RBM_COMMON_H

#ifndef RBM_CFFI
#include <stddef.h>
#include <stdint.h>
#endif

#ifndef RBM_API
#if defined(__GNUC__) && !defined(RBM_CFFI)
#define RBM_API __attribute__((visibility("default")))
#else
#define RBM_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles. Every handle is created by rbm_<type>_new*() and released
 * by rbm_<type>_free(), which accepts NULL. */
typedef struct rbm_context rbm_context;
typedef struct rbm_rng rbm_rng;
typedef struct rbm_machine rbm_machine;
typedef struct rbm_dataset rbm_dataset;
typedef struct rbm_batch_iter rbm_batch_iter;
typedef struct rbm_sampler rbm_sampler;
typedef struct rbm_gradient rbm_gradient;
typedef struct rbm_estimator rbm_estimator;
typedef struct rbm_trainer rbm_trainer;
typedef struct rbm_ais rbm_ais;                   /* metrics.h   */
typedef struct rbm_svd rbm_svd;                   /* svd.h       */
typedef struct rbm_mode_tracker rbm_mode_tracker; /* svd.h       */
typedef struct rbm_mf rbm_mf;                     /* meanfield.h */
typedef struct rbm_mf_points rbm_mf_points;       /* meanfield.h */
typedef struct rbm_ensemble rbm_ensemble;         /* phase.h     */

/* Log levels, in increasing verbosity (context.h). */
typedef enum rbm_log_level {
    RBM_LOG_ERROR = 0,
    RBM_LOG_WARNING = 1,
    RBM_LOG_INFO = 2,
    RBM_LOG_DEBUG = 3
} rbm_log_level;

/* ---- callbacks: every one receives the user pointer given with it ---- */

/* Allocation (rbm_context_new_with_allocator). alloc must return memory
 * aligned for any object type (as malloc does) or NULL on failure; free must
 * accept what alloc returned. */
typedef void *(*rbm_alloc_fn)(void *user, size_t size);
typedef void (*rbm_free_fn)(void *user, void *ptr);

/* Log callback (rbm_context_set_log): a NUL-terminated line without trailing
 * newline, valid only during the call. */
typedef void (*rbm_log_fn)(void *user, rbm_log_level level, const char *message);

/* Progress of a long computation (AIS, Gauss-Gauss integration, ...):
 * fraction in [0,1]. Return 0 to continue, non-zero to cancel (the
 * computation then returns RBM_STOPPED). */
typedef int (*rbm_progress_fn)(void *user, double fraction);

/* Observer called after every successful trainer step with the trainer
 * (read-only use: the query functions of trainer.h). Return 0 to continue;
 * any other value makes rbm_trainer_step() return RBM_STOPPED (the update
 * itself is kept). */
typedef int (*rbm_observer_fn)(void *user, const rbm_trainer *t);

/* Unit kinds, usable on either layer (docs/theory.md §1.1). */
typedef enum rbm_unit_kind {
    RBM_UNIT_BERNOULLI = 0, /* values in {0,1}                          */
    RBM_UNIT_ISING = 1,     /* values in {-1,+1}                        */
    RBM_UNIT_GAUSSIAN = 2   /* real values, confinement x^2/(2 sigma^2) */
} rbm_unit_kind;

/* The two layers of a machine. */
typedef enum rbm_layer {
    RBM_LAYER_VISIBLE = 0,
    RBM_LAYER_HIDDEN = 1
} rbm_layer;

/* Element type of caller-supplied data. */
typedef enum rbm_dtype {
    RBM_DTYPE_UINT8 = 0,
    RBM_DTYPE_FLOAT32 = 1,
    RBM_DTYPE_FLOAT64 = 2
} rbm_dtype;

/* Arithmetic used by the heavy kernels of a machine (matrix products,
 * elementwise sampling during training). Parameters are always stored and
 * exchanged as double. */
typedef enum rbm_precision {
    RBM_PRECISION_FLOAT64 = 0,
    RBM_PRECISION_FLOAT32 = 1
} rbm_precision;

#ifdef __cplusplus
}
#endif
#endif /* RBM_COMMON_H */
