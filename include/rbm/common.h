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
typedef struct rbm_census rbm_census;             /* svd.h       */
typedef struct rbm_mf rbm_mf;                     /* meanfield.h */
typedef struct rbm_mf_points rbm_mf_points;       /* meanfield.h */
typedef struct rbm_ensemble rbm_ensemble;         /* phase.h     */
typedef struct rbm_tempering rbm_tempering;       /* tempering.h */

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

/* Bounds of a tunable key, as returned by rbm_trainer_param_bounds,
 * rbm_estimator_param_bounds, rbm_mf_param_bounds and
 * rbm_ensemble_param_bounds (the zstd ZSTD_cParam_getBounds idea).
 *
 * Keys of each module live in their own block of 100 (trainer 100-199,
 * estimator 200-299, mean-field solver 300-399, ensemble 400-499), real
 * keys in the first half of the block (set with *_set_real), integer and
 * boolean keys in the second half (set with *_set_int; a boolean is 0 or
 * 1). A setter refuses a key of another module, a key of the other type and
 * a value outside these bounds, each with RBM_ERR_INVALID_ARGUMENT and a
 * message naming the key. */
typedef struct rbm_param_bounds {
    double lo, hi;      /* lowest and highest value; -/+INFINITY when unbounded */
    int32_t lo_open;    /* 1: lo itself is excluded (value > lo)                */
    int32_t hi_open;    /* 1: hi itself is excluded (value < hi)                */
    int32_t is_integer; /* 1: an integer or boolean key, set with *_set_int      */
    int32_t is_boolean; /* 1: a boolean key (0 or 1)                            */
} rbm_param_bounds;

/* Unit kinds, usable on either layer (docs/theory.md §1.1). */
typedef enum rbm_unit_kind {
    RBM_UNIT_BERNOULLI = 0, /* values in {0,1}                          */
    RBM_UNIT_ISING = 1,     /* values in {-1,+1}                        */
    RBM_UNIT_GAUSSIAN = 2,  /* real values, confinement x^2/(2 sigma^2) */
    RBM_UNIT_POTTS = 3      /* categorical: one of q states per site (visible layer
                             * only; docs/potts.md, rbm_machine_new_potts) */
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
