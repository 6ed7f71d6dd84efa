/* librbm — params: table-driven checks for enum-keyed tunables. */
#include "core/params.h"

#include <math.h>

static const char *const block_owner[] = {NULL, "trainer", "estimator", "mean-field solver",
                                          "ensemble"};

static const rbm__param_spec *find(const rbm__param_table *t, int32_t key)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->specs[i].key == key)
            return &t->specs[i];
    return NULL;
}

const rbm__param_spec *rbm__param_lookup(rbm_context *ctx, const rbm__param_table *t,
                                         const char *fn, int32_t key, rbm_status *st)
{
    const rbm__param_spec *s = find(t, key);
    if (s) {
        *st = RBM_OK;
        return s;
    }
    int32_t block = key / 100;
    if (key >= 0 && block != t->first / 100 &&
        block < (int32_t)(sizeof block_owner / sizeof block_owner[0]) && block_owner[block])
        *st = rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                        "%s: key %d is a %s setting, not a %s one (%s keys are %d-%d)", fn,
                        (int)key, block_owner[block], t->module, t->module, (int)t->first,
                        (int)t->first + 99);
    else
        *st = rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s: unknown %s key %d (%s keys are %d-%d)",
                        fn, t->module, (int)key, t->module, (int)t->first, (int)t->first + 99);
    return NULL;
}

static bool below(const rbm__param_spec *s, double v)
{
    return s->lo_open ? !(v > s->lo) : !(v >= s->lo);
}

static bool above(const rbm__param_spec *s, double v)
{
    return s->hi_open ? !(v < s->hi) : !(v <= s->hi);
}

rbm_status rbm__param_typed(rbm_context *ctx, const rbm__param_table *t, const char *fn,
                            int32_t key, rbm__param_type type, bool setter,
                            const rbm__param_spec **spec)
{
    rbm_status st;
    const rbm__param_spec *s = rbm__param_lookup(ctx, t, fn, key, &st);
    if (!s)
        return st;
    bool want_int = type != RBM__PARAM_REAL;
    bool is_int = s->type != RBM__PARAM_REAL;
    if (want_int != is_int)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s: %s is %s setting: use %s_%s_%s",
                         fn, s->name, is_int ? "an integer" : "a real-valued", t->api,
                         setter ? "set" : "get", is_int ? "int" : "real");
    *spec = s;
    return RBM_OK;
}

rbm_status rbm__param_get_check(rbm_context *ctx, const rbm__param_table *t, const char *fn,
                                int32_t key, rbm__param_type type, const void *out)
{
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "%s: out is NULL", fn);
    const rbm__param_spec *spec;
    return rbm__param_typed(ctx, t, fn, key, type, false, &spec);
}

rbm_status rbm__param_check(rbm_context *ctx, const rbm__param_table *t, const char *fn,
                            int32_t key, rbm__param_type setter, double v,
                            const rbm__param_spec **spec)
{
    const rbm__param_spec *s;
    rbm_status st = rbm__param_typed(ctx, t, fn, key, setter, true, &s);
    if (st)
        return st;
    if (isnan(v) || below(s, v) || above(s, v))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: %s = %.17g is outside %c%.17g, %.17g%c", fn, s->name, v,
                         s->lo_open ? '(' : '[', s->lo, s->hi, s->hi_open ? ')' : ']');
    *spec = s;
    return RBM_OK;
}

rbm_status rbm__param_bounds(const rbm__param_table *t, int32_t key, rbm_param_bounds *out)
{
    if (!out)
        return RBM_ERR_NULL;
    const rbm__param_spec *s = find(t, key);
    if (!s)
        return RBM_ERR_INVALID_ARGUMENT;
    *out = (rbm_param_bounds){.lo = s->lo,
                              .hi = s->hi,
                              .lo_open = s->lo_open,
                              .hi_open = s->hi_open,
                              .is_integer = s->type != RBM__PARAM_REAL,
                              .is_boolean = s->type == RBM__PARAM_BOOL};
    return RBM_OK;
}
