/* Tunable keys of the trainer, estimator, mean-field solver and ensemble:
 * every key's bounds query agrees with what its setter accepts and
 * refuses (at the bounds themselves and one step outside), a refused set
 * changes nothing, a key of the other type is refused with the function to
 * use, and a key of another module is refused by every setter and getter
 * with a message naming the module it belongs to. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One module seen through uniform wrappers. */
typedef struct module {
    const char *name;  /* as in the foreign-key message: "a <name> setting" */
    void *h;
    rbm_status (*set_real)(void *h, int32_t key, double v);
    rbm_status (*get_real)(void *h, int32_t key, double *v);
    rbm_status (*set_int)(void *h, int32_t key, int64_t v);
    rbm_status (*get_int)(void *h, int32_t key, int64_t *v);
    rbm_status (*bounds)(int32_t key, rbm_param_bounds *b);
    const int32_t *keys;
    size_t n_keys;
} module;

#define WRAP(mod, type, enumt)                                                                \
    static rbm_status mod##_sr(void *h, int32_t k, double v)                                  \
    {                                                                                         \
        return rbm_##mod##_set_real((type *)h, (enumt)k, v);                                  \
    }                                                                                         \
    static rbm_status mod##_gr(void *h, int32_t k, double *v)                                 \
    {                                                                                         \
        return rbm_##mod##_get_real((type *)h, (enumt)k, v);                                  \
    }                                                                                         \
    static rbm_status mod##_si(void *h, int32_t k, int64_t v)                                 \
    {                                                                                         \
        return rbm_##mod##_set_int((type *)h, (enumt)k, v);                                   \
    }                                                                                         \
    static rbm_status mod##_gi(void *h, int32_t k, int64_t *v)                                \
    {                                                                                         \
        return rbm_##mod##_get_int((type *)h, (enumt)k, v);                                   \
    }                                                                                         \
    static rbm_status mod##_b(int32_t k, rbm_param_bounds *b)                                 \
    {                                                                                         \
        return rbm_##mod##_param_bounds((enumt)k, b);                                         \
    }

WRAP(trainer, rbm_trainer, rbm_trainer_param)
WRAP(mf, rbm_mf, rbm_mf_param)
WRAP(ensemble, rbm_ensemble, rbm_ensemble_param)

/* The estimator has integer keys only: its real accessors do not exist. */
static rbm_status estimator_si(void *h, int32_t k, int64_t v)
{
    return rbm_estimator_set_int((rbm_estimator *)h, (rbm_estimator_param)k, v);
}
static rbm_status estimator_gi(void *h, int32_t k, int64_t *v)
{
    return rbm_estimator_get_int((rbm_estimator *)h, (rbm_estimator_param)k, v);
}
static rbm_status estimator_b(int32_t k, rbm_param_bounds *b)
{
    return rbm_estimator_param_bounds((rbm_estimator_param)k, b);
}

static const int32_t trainer_keys[] = {
    RBM_TRAINER_LEARNING_RATE, RBM_TRAINER_MOMENTUM, RBM_TRAINER_ADAM_BETA1,
    RBM_TRAINER_ADAM_BETA2,    RBM_TRAINER_ADAM_EPSILON, RBM_TRAINER_L1,
    RBM_TRAINER_L2,            RBM_TRAINER_MONITOR_EVERY};
static const int32_t estimator_keys[] = {RBM_ESTIMATOR_K, RBM_ESTIMATOR_CHAINS};
static const int32_t mf_keys[] = {RBM_MF_DAMPING,        RBM_MF_TOLERANCE,
                                  RBM_MF_DEDUP_DISTANCE, RBM_MF_STABILITY_TOLERANCE,
                                  RBM_MF_MAX_ITERATIONS, RBM_MF_LINEAR_RESPONSE};
static const int32_t ensemble_keys[] = {
    RBM_ENSEMBLE_KAPPA,          RBM_ENSEMBLE_SIGMA,       RBM_ENSEMBLE_TEMPERATURE,
    RBM_ENSEMBLE_DAMPING,        RBM_ENSEMBLE_TOLERANCE,   RBM_ENSEMBLE_QUAD_TOLERANCE,
    RBM_ENSEMBLE_M_THRESHOLD,    RBM_ENSEMBLE_Q_THRESHOLD, RBM_ENSEMBLE_MAX_ITERATIONS};

typedef struct world {
    rbm_context *ctx;
    rbm_machine *m;
    rbm_dataset *ds;
    double *rows;
    module mods[4];
} world;

enum { NV = 6, NH = 4, ROWS = 12, BATCH = 4 };

static void world_new(world *w)
{
    memset(w, 0, sizeof *w);
    w->ctx = rbm_test_context();
    RBM_OKAY(w->ctx, rbm_machine_new(w->ctx, NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI,
                                     &w->m));
    w->rows = xzalloc(ROWS * NV * sizeof(double));
    for (size_t i = 0; i < ROWS * NV; i++)
        w->rows[i] = (double)((i * 7 + i / 5) % 2);
    RBM_OKAY(w->ctx, rbm_dataset_from_memory(w->ctx, w->rows, RBM_DTYPE_FLOAT64, ROWS, NV,
                                             RBM_BORROW, &w->ds));
    rbm_trainer *t = NULL;
    rbm_estimator *e = NULL;
    rbm_mf *s = NULL;
    rbm_ensemble *en = NULL;
    RBM_OKAY(w->ctx, rbm_trainer_new(w->m, w->ds, BATCH, 1, &t));
    RBM_OKAY(w->ctx, rbm_estimator_new(w->m, RBM_ESTIMATOR_PCD, BATCH, 2, &e));
    RBM_OKAY(w->ctx, rbm_mf_new(w->m, RBM_MF_TAP2, &s));
    RBM_OKAY(w->ctx, rbm_ensemble_new(w->ctx, &en));
    w->mods[0] = (module){"trainer", t, trainer_sr, trainer_gr, trainer_si, trainer_gi,
                          trainer_b, trainer_keys, sizeof trainer_keys / sizeof(int32_t)};
    w->mods[1] = (module){"estimator", e, NULL, NULL, estimator_si, estimator_gi,
                          estimator_b, estimator_keys, sizeof estimator_keys / sizeof(int32_t)};
    w->mods[2] = (module){"mean-field solver", s, mf_sr, mf_gr, mf_si, mf_gi, mf_b, mf_keys,
                          sizeof mf_keys / sizeof(int32_t)};
    w->mods[3] = (module){"ensemble", en, ensemble_sr, ensemble_gr, ensemble_si, ensemble_gi,
                          ensemble_b, ensemble_keys, sizeof ensemble_keys / sizeof(int32_t)};
}

static void world_free(world *w)
{
    rbm_trainer_free(w->mods[0].h);
    rbm_estimator_free(w->mods[1].h);
    rbm_mf_free(w->mods[2].h);
    rbm_ensemble_free(w->mods[3].h);
    rbm_dataset_free(w->ds);
    rbm_machine_free(w->m);
    free(w->rows);
    rbm_context_free(w->ctx);
}

/* The stored value of key as a double, whatever its type. */
static double value_of(const world *w, const module *md, int32_t key, bool is_int)
{
    if (is_int) {
        int64_t v = -12345;
        RBM_OKAY(w->ctx, md->get_int(md->h, key, &v));
        return (double)v;
    }
    double v = NAN;
    RBM_OKAY(w->ctx, md->get_real(md->h, key, &v));
    return v;
}

/* Set through the setter of the key's type; the status. */
static rbm_status set_any(const module *md, int32_t key, bool is_int, double v)
{
    return is_int ? md->set_int(md->h, key, (int64_t)v) : md->set_real(md->h, key, v);
}

/* v must be accepted (and then read back exactly) or refused (and nothing
 * changes), as the bounds say. */
static void expect(const world *w, const module *md, int32_t key, const rbm_param_bounds *b,
                   double v, bool accept)
{
    bool is_int = b->is_integer != 0;
    double before = value_of(w, md, key, is_int);
    rbm_status st = set_any(md, key, is_int, v);
    if (accept) {
        if (st != RBM_OK)
            fail_msg("%s key %d: %.17g within its bounds refused: %s", md->name, (int)key, v,
                     rbm_context_last_error(w->ctx));
        /* CHAINS = 0 means as many as max_batch, and reads back as that count */
        bool chains0 = md->keys == estimator_keys && key == RBM_ESTIMATOR_CHAINS && v == 0;
        rbm_assert_close(value_of(w, md, key, is_int), chains0 ? BATCH : v, 0, 0,
                         "value read back");
    } else {
        if (st != RBM_ERR_INVALID_ARGUMENT)
            fail_msg("%s key %d: %.17g outside [%g, %g] gave %s", md->name, (int)key, v, b->lo,
                     b->hi, rbm_status_name(st));
        assert_true(strlen(rbm_context_last_error(w->ctx)) > 0);
        rbm_assert_close(value_of(w, md, key, is_int), before, 0, 0, "value after refusal");
    }
}

/* Large integers that would allocate (estimator chains) are not set. */
static bool may_set(const module *md, int32_t key, double v)
{
    return !(md->keys == estimator_keys && key == RBM_ESTIMATOR_CHAINS && v > 64);
}

static void check_edge(const world *w, const module *md, int32_t key,
                       const rbm_param_bounds *b, double edge, int32_t open, double outward)
{
    if (!isfinite(edge)) {
        if (!b->is_integer)
            expect(w, md, key, b, edge, false); /* infinities are never accepted */
        return;
    }
    double step_out = b->is_integer ? edge + outward : nextafter(edge, outward * INFINITY);
    double step_in = b->is_integer ? edge - outward : nextafter(edge, -outward * INFINITY);
    if (open) {
        expect(w, md, key, b, edge, false);
        if (may_set(md, key, step_in))
            expect(w, md, key, b, step_in, true);
    } else if (may_set(md, key, edge)) {
        expect(w, md, key, b, edge, true);
    }
    expect(w, md, key, b, step_out, false);
}

static void test_bounds_match_setters(void **state)
{
    (void)state;
    world w;
    world_new(&w);
    for (size_t i = 0; i < 4; i++) {
        const module *md = &w.mods[i];
        for (size_t j = 0; j < md->n_keys; j++) {
            int32_t key = md->keys[j];
            rbm_param_bounds b;
            RBM_OKAY(w.ctx, md->bounds(key, &b));
            assert_true(b.lo <= b.hi);
            assert_int_equal(md->bounds(key, NULL), RBM_ERR_NULL);
            /* the block layout: reals in the first half, integers in the second */
            assert_true(key / 100 == (int32_t)i + 1);
            assert_int_equal(b.is_integer, key % 100 >= 50);
            if (b.is_boolean)
                assert_true(b.is_integer && b.lo == 0 && b.hi == 1);
            if (!md->set_real)
                assert_true(b.is_integer);
            check_edge(&w, md, key, &b, b.lo, b.lo_open, -1);
            check_edge(&w, md, key, &b, b.hi, b.hi_open, +1);
            if (!b.is_integer) {
                expect(&w, md, key, &b, NAN, false);
                /* the integer accessors refuse a real key, naming the right one */
                int64_t iv;
                assert_int_equal(md->set_int(md->h, key, 1), RBM_ERR_INVALID_ARGUMENT);
                assert_non_null(strstr(rbm_context_last_error(w.ctx), "_set_real"));
                assert_int_equal(md->get_int(md->h, key, &iv), RBM_ERR_INVALID_ARGUMENT);
                assert_non_null(strstr(rbm_context_last_error(w.ctx), "_get_real"));
            } else if (md->set_real) {
                double dv;
                assert_int_equal(md->set_real(md->h, key, 1), RBM_ERR_INVALID_ARGUMENT);
                assert_non_null(strstr(rbm_context_last_error(w.ctx), "_set_int"));
                assert_int_equal(md->get_real(md->h, key, &dv), RBM_ERR_INVALID_ARGUMENT);
                assert_non_null(strstr(rbm_context_last_error(w.ctx), "_get_int"));
            }
        }
        /* a key in the module's own block that does not exist */
        rbm_param_bounds b;
        int32_t missing = (int32_t)(i + 1) * 100 + 49;
        assert_int_equal(md->bounds(missing, &b), RBM_ERR_INVALID_ARGUMENT);
        assert_int_equal(md->set_int(md->h, missing, 1), RBM_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(rbm_context_last_error(w.ctx), "unknown"));
    }
    world_free(&w);
}

static void test_foreign_keys_refused(void **state)
{
    (void)state;
    world w;
    world_new(&w);
    for (size_t i = 0; i < 4; i++)
        for (size_t o = 0; o < 4; o++) {
            if (o == i)
                continue;
            const module *md = &w.mods[i], *other = &w.mods[o];
            for (size_t j = 0; j < other->n_keys; j++) {
                int32_t key = other->keys[j];
                char want[64];
                snprintf(want, sizeof want, "is a %s setting", other->name);
                rbm_param_bounds b;
                assert_int_equal(md->bounds(key, &b), RBM_ERR_INVALID_ARGUMENT);
                int64_t iv;
                double dv;
                assert_int_equal(md->set_int(md->h, key, 1), RBM_ERR_INVALID_ARGUMENT);
                assert_non_null(strstr(rbm_context_last_error(w.ctx), want));
                assert_int_equal(md->get_int(md->h, key, &iv), RBM_ERR_INVALID_ARGUMENT);
                assert_non_null(strstr(rbm_context_last_error(w.ctx), want));
                if (md->set_real) {
                    assert_int_equal(md->set_real(md->h, key, 0.5), RBM_ERR_INVALID_ARGUMENT);
                    assert_non_null(strstr(rbm_context_last_error(w.ctx), want));
                    assert_int_equal(md->get_real(md->h, key, &dv), RBM_ERR_INVALID_ARGUMENT);
                    assert_non_null(strstr(rbm_context_last_error(w.ctx), want));
                }
            }
        }
    /* the case that motivated all this: 0.1 took RBM_MF_PARAM_DAMPING (0) for
     * the learning rate */
    rbm_trainer *t = w.mods[0].h;
    assert_int_equal(rbm_trainer_set_real(t, (rbm_trainer_param)RBM_MF_DAMPING, 0.5),
                     RBM_ERR_INVALID_ARGUMENT);
    double lr = 0;
    RBM_OKAY(w.ctx, rbm_trainer_get_real(t, RBM_TRAINER_LEARNING_RATE, &lr));
    assert_true(lr == 0.01);
    /* the old 0-based keys mean nothing to any module */
    assert_int_equal(rbm_trainer_set_real(t, (rbm_trainer_param)0, 0.5), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_mf_set_real(w.mods[2].h, (rbm_mf_param)0, 0.5), RBM_ERR_INVALID_ARGUMENT);
    world_free(&w);
}

/* The bounds the headers document, written out independently of the
 * library's tables: {key, lo, hi, lo_open, hi_open, is_integer}. */
static void test_documented_bounds(void **state)
{
    (void)state;
    const double I = INFINITY, I32 = 2147483647.0;
    const struct {
        int32_t key;
        double lo, hi;
        int lo_open, hi_open, is_int;
        rbm_status (*bounds)(int32_t, rbm_param_bounds *);
    } doc[] = {
        {RBM_TRAINER_LEARNING_RATE, 0, I, 1, 1, 0, trainer_b},
        {RBM_TRAINER_MOMENTUM, 0, 1, 0, 1, 0, trainer_b},
        {RBM_TRAINER_ADAM_BETA1, 0, 1, 0, 1, 0, trainer_b},
        {RBM_TRAINER_ADAM_BETA2, 0, 1, 0, 1, 0, trainer_b},
        {RBM_TRAINER_ADAM_EPSILON, 0, I, 1, 1, 0, trainer_b},
        {RBM_TRAINER_L1, 0, I, 0, 1, 0, trainer_b},
        {RBM_TRAINER_L2, 0, I, 0, 1, 0, trainer_b},
        {RBM_TRAINER_MONITOR_EVERY, 0, I32, 0, 0, 1, trainer_b},
        {RBM_ESTIMATOR_K, 1, I32, 0, 0, 1, estimator_b},
        {RBM_ESTIMATOR_CHAINS, 0, I32, 0, 0, 1, estimator_b},
        {RBM_MF_DAMPING, 0, 1, 1, 0, 0, mf_b},
        {RBM_MF_TOLERANCE, 0, I, 1, 1, 0, mf_b},
        {RBM_MF_DEDUP_DISTANCE, 0, I, 1, 1, 0, mf_b},
        {RBM_MF_STABILITY_TOLERANCE, -I, I, 1, 1, 0, mf_b},
        {RBM_MF_MAX_ITERATIONS, 1, 1e9, 0, 0, 1, mf_b},
        {RBM_MF_LINEAR_RESPONSE, 0, 1, 0, 0, 1, mf_b},
        {RBM_ENSEMBLE_KAPPA, 0, I, 1, 1, 0, ensemble_b},
        {RBM_ENSEMBLE_SIGMA, 0, I, 0, 1, 0, ensemble_b},
        {RBM_ENSEMBLE_TEMPERATURE, 0, I, 1, 1, 0, ensemble_b},
        {RBM_ENSEMBLE_DAMPING, 0, 1, 1, 0, 0, ensemble_b},
        {RBM_ENSEMBLE_TOLERANCE, 0, I, 1, 1, 0, ensemble_b},
        {RBM_ENSEMBLE_QUAD_TOLERANCE, 0, I, 1, 1, 0, ensemble_b},
        {RBM_ENSEMBLE_M_THRESHOLD, 0, I, 1, 1, 0, ensemble_b},
        {RBM_ENSEMBLE_Q_THRESHOLD, 0, I, 1, 1, 0, ensemble_b},
        {RBM_ENSEMBLE_MAX_ITERATIONS, 1, 1e9, 0, 0, 1, ensemble_b},
    };
    for (size_t i = 0; i < sizeof doc / sizeof doc[0]; i++) {
        rbm_param_bounds b;
        assert_int_equal(doc[i].bounds(doc[i].key, &b), RBM_OK);
        if (b.lo != doc[i].lo || b.hi != doc[i].hi || b.lo_open != doc[i].lo_open ||
            b.hi_open != doc[i].hi_open || b.is_integer != doc[i].is_int)
            fail_msg("key %d: bounds %c%g, %g%c int %d, documented %c%g, %g%c int %d",
                     (int)doc[i].key, b.lo_open ? '(' : '[', b.lo, b.hi, b.hi_open ? ')' : ']',
                     b.is_integer, doc[i].lo_open ? '(' : '[', doc[i].lo, doc[i].hi,
                     doc[i].hi_open ? ')' : ']', doc[i].is_int);
    }
}

/* Defaults documented in the headers. */
static void test_defaults(void **state)
{
    (void)state;
    world w;
    world_new(&w);
    int64_t iv = -1;
    double dv = NAN;
    RBM_OKAY(w.ctx, rbm_trainer_get_int(w.mods[0].h, RBM_TRAINER_MONITOR_EVERY, &iv));
    assert_true(iv == 1);
    RBM_OKAY(w.ctx, rbm_trainer_get_real(w.mods[0].h, RBM_TRAINER_ADAM_BETA2, &dv));
    assert_true(dv == 0.999);
    RBM_OKAY(w.ctx, rbm_estimator_get_int(w.mods[1].h, RBM_ESTIMATOR_K, &iv));
    assert_true(iv == 1);
    RBM_OKAY(w.ctx, rbm_estimator_get_int(w.mods[1].h, RBM_ESTIMATOR_CHAINS, &iv));
    assert_true(iv == BATCH);
    RBM_OKAY(w.ctx, rbm_mf_get_int(w.mods[2].h, RBM_MF_MAX_ITERATIONS, &iv));
    assert_true(iv == 5000);
    RBM_OKAY(w.ctx, rbm_mf_get_int(w.mods[2].h, RBM_MF_LINEAR_RESPONSE, &iv));
    assert_true(iv == 1);
    RBM_OKAY(w.ctx, rbm_ensemble_get_int(w.mods[3].h, RBM_ENSEMBLE_MAX_ITERATIONS, &iv));
    assert_true(iv == 100000);
    world_free(&w);
}

/* CHAINS and K: effective on the estimator, independent of the order they
 * are set in, refused where a kind has no chains. */
static void test_estimator_keys(void **state)
{
    (void)state;
    world w;
    world_new(&w);
    rbm_estimator *a = NULL, *b = NULL, *cd = NULL;
    RBM_OKAY(w.ctx, rbm_estimator_new(w.m, RBM_ESTIMATOR_PCD, BATCH, 9, &a));
    RBM_OKAY(w.ctx, rbm_estimator_new(w.m, RBM_ESTIMATOR_PCD, BATCH, 9, &b));
    RBM_OKAY(w.ctx, rbm_estimator_set_int(a, RBM_ESTIMATOR_K, 3));
    RBM_OKAY(w.ctx, rbm_estimator_set_int(a, RBM_ESTIMATOR_CHAINS, 7));
    RBM_OKAY(w.ctx, rbm_estimator_set_int(b, RBM_ESTIMATOR_CHAINS, 7));
    RBM_OKAY(w.ctx, rbm_estimator_set_int(b, RBM_ESTIMATOR_K, 3));
    assert_int_equal(rbm_sampler_chain_count(rbm_estimator_sampler(a)), 7);
    rbm_gradient *ga = NULL, *gb = NULL;
    RBM_OKAY(w.ctx, rbm_gradient_new(w.m, &ga));
    RBM_OKAY(w.ctx, rbm_gradient_new(w.m, &gb));
    double Wa[NV * NH], Wb[NV * NH];
    for (int step = 0; step < 3; step++) {
        RBM_OKAY(w.ctx, rbm_estimator_compute(a, BATCH, w.rows, BATCH * NV, ga));
        RBM_OKAY(w.ctx, rbm_estimator_compute(b, BATCH, w.rows, BATCH * NV, gb));
    }
    RBM_OKAY(w.ctx, rbm_gradient_get_weights(ga, Wa, NV * NH));
    RBM_OKAY(w.ctx, rbm_gradient_get_weights(gb, Wb, NV * NH));
    assert_memory_equal(Wa, Wb, sizeof Wa);
    /* a refused chain count leaves the chains as they were */
    assert_int_equal(rbm_estimator_set_int(a, RBM_ESTIMATOR_CHAINS, -1), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_sampler_chain_count(rbm_estimator_sampler(a)), 7);
    /* CD and EXACT keep no chains; EXACT keeps k and ignores it */
    RBM_OKAY(w.ctx, rbm_estimator_new(w.m, RBM_ESTIMATOR_CD, BATCH, 9, &cd));
    assert_int_equal(rbm_estimator_set_int(cd, RBM_ESTIMATOR_CHAINS, 3), RBM_ERR_UNSUPPORTED);
    assert_non_null(strstr(rbm_context_last_error(w.ctx), "no persistent chains"));
    int64_t n = -1;
    RBM_OKAY(w.ctx, rbm_estimator_get_int(cd, RBM_ESTIMATOR_CHAINS, &n));
    assert_true(n == 0);
    rbm_estimator_free(cd);
    rbm_gradient_free(ga);
    rbm_gradient_free(gb);
    rbm_estimator_free(a);
    rbm_estimator_free(b);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_match_setters),
        cmocka_unit_test(test_foreign_keys_refused),
        cmocka_unit_test(test_documented_bounds),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_estimator_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
