/* librbm — params: enum-keyed tunables described by a table.
 *
 * Every module that has tunables (trainer, estimator, mean-field solver,
 * ensemble) keeps one table of rbm__param_spec, one row per key. Keys of a
 * module live in its own block of 100 (trainer 100-199, estimator 200-299,
 * mean field 300-399, ensemble 400-499): real-valued keys in the first half
 * of the block, integer and boolean keys in the second. These functions do
 * the checking for every setter, getter and bounds query, so that a foreign
 * key, a real set through the integer setter (or the reverse) and a value
 * out of bounds are refused the same way everywhere, with a message naming
 * the key and the bounds. */
#ifndef RBM_CORE_PARAMS_H
#define RBM_CORE_PARAMS_H

#include "core/internal.h"

typedef enum rbm__param_type {
    RBM__PARAM_REAL = 0,
    RBM__PARAM_INT = 1,  /* integer in [lo, hi] */
    RBM__PARAM_BOOL = 2, /* 0 or 1 */
} rbm__param_type;

typedef struct rbm__param_spec {
    int32_t key;
    const char *name;     /* "RBM_TRAINER_LEARNING_RATE" */
    rbm__param_type type;
    double lo, hi;        /* bounds (infinite when unbounded) */
    bool lo_open, hi_open; /* true: the bound itself is excluded */
} rbm__param_spec;

/* The module a table belongs to, for messages and foreign-key checks. */
typedef struct rbm__param_table {
    const char *module;  /* "trainer", for messages */
    const char *api;     /* "rbm_trainer": prefix of its set_real / set_int */
    int32_t first;       /* first key of the module's block (100, 200, ...) */
    const rbm__param_spec *specs;
    size_t n;
} rbm__param_table;

/* The row of key, or NULL (with RBM_ERR_INVALID_ARGUMENT in ctx, naming the
 * calling function fn and, for a key of another module's block, that module)
 * when the table has no such key. */
const rbm__param_spec *rbm__param_lookup(rbm_context *ctx, const rbm__param_table *t,
                                         const char *fn, int32_t key, rbm_status *st);

/* The row of key in *spec when its type matches type (RBM__PARAM_REAL for
 * the real setter/getter, anything else for the integer ones); otherwise
 * RBM_ERR_INVALID_ARGUMENT naming the key and the function to use (setter:
 * whether fn is a setter, for that message). */
rbm_status rbm__param_typed(rbm_context *ctx, const rbm__param_table *t, const char *fn,
                            int32_t key, rbm__param_type type, bool setter,
                            const rbm__param_spec **spec);

/* The checks of a getter fn of the given type: out must not be NULL
 * (RBM_ERR_NULL, "fn: out is NULL"), then as rbm__param_typed. */
rbm_status rbm__param_get_check(rbm_context *ctx, const rbm__param_table *t, const char *fn,
                                int32_t key, rbm__param_type type, const void *out);

/* Check that v may be stored under key through a setter of the given type
 * (RBM__PARAM_REAL for set_real; RBM__PARAM_INT for set_int, which also
 * accepts boolean keys). Returns the row in *spec. Errors (message in ctx):
 * RBM_ERR_INVALID_ARGUMENT for an unknown or foreign key, a key of the other
 * type, NaN, or a value outside the bounds (the bounds are in the message). */
rbm_status rbm__param_check(rbm_context *ctx, const rbm__param_table *t, const char *fn,
                            int32_t key, rbm__param_type setter, double v,
                            const rbm__param_spec **spec);

/* Bounds of key, for the public rbm_<module>_param_bounds. RBM_ERR_NULL
 * when out is NULL, RBM_ERR_INVALID_ARGUMENT for a key the table does not
 * have (these functions take no handle, so nothing is recorded). */
rbm_status rbm__param_bounds(const rbm__param_table *t, int32_t key, rbm_param_bounds *out);

#endif /* RBM_CORE_PARAMS_H */
