/* librbm — test_compat_0_1: checkpoints written by librbm 0.1.0 itself
 * (tests/data/checkpoints/v0_1, made by make_v0_1.c there against the 0.1.0
 * library) load in this version, save back to the same bytes, and continue
 * exactly as 0.1 continued them: four more steps from the step-9 file give
 * byte for byte the step-13 file 0.1 wrote. Steps 10-13 stay inside one
 * epoch, so the comparison covers the estimators, samplers, particles,
 * optimisers and rng streams of 0.2 against 0.1, and not the epoch shuffle
 * (which 0.2 changed to the one unbiased Fisher-Yates); the exact
 * estimator's run is compared to rounding, not bytes, since 0.2's
 * log-partition sums round differently. The byte comparison assumes the arithmetic of the platform that wrote the files (x86-64
 * Debian 12, its default BLAS and libm). */
#include "testutil.h"

#include <rbm/rbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct compat {
    const char *name;
    rbm_unit_kind vk;
    rbm_estimator_kind est;
    rbm_optimizer opt;
    rbm_precision prec;
} compat;

/* make_v0_1.c's runs[] (the hidden kind and k are read from the files). */
static const compat runs[] = {
    {"pcd", RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_ADAM, RBM_PRECISION_FLOAT32},
    {"cd", RBM_UNIT_GAUSSIAN, RBM_ESTIMATOR_CD, RBM_OPTIMIZER_MOMENTUM, RBM_PRECISION_FLOAT64},
    {"exact", RBM_UNIT_ISING, RBM_ESTIMATOR_EXACT, RBM_OPTIMIZER_SGD, RBM_PRECISION_FLOAT64},
    {"tap2", RBM_UNIT_ISING, RBM_ESTIMATOR_TAP2, RBM_OPTIMIZER_MOMENTUM, RBM_PRECISION_FLOAT64},
    {"tap3", RBM_UNIT_ISING, RBM_ESTIMATOR_TAP3, RBM_OPTIMIZER_ADAM, RBM_PRECISION_FLOAT64},
    {"mf", RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_MF, RBM_OPTIMIZER_SGD, RBM_PRECISION_FLOAT32},
};

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    unsigned char *b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Fails naming the first differing byte. */
static void assert_same_bytes(const char *what, const char *expected, const char *got)
{
    size_t ne, ng;
    unsigned char *e = slurp(expected, &ne), *g = slurp(got, &ng);
    size_t n = ne < ng ? ne : ng, i = 0;
    while (i < n && e[i] == g[i])
        i++;
    free(e);
    free(g);
    if (ne != ng || i < n)
        fail_msg("%s: %s and %s differ (sizes %zu and %zu, first difference at byte %zu)", what,
                 expected, got, ne, ng, i);
}

static void compat_case(const compat *c)
{
    rbm_context *ctx = rbm_test_context();
    RBM_OKAY(ctx, rbm_context_set_threads(ctx, 1));
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, c->vk, 11, &d));
    char at9[1024], at13[1024], dir[] = "/tmp/rbm-compat-XXXXXX", again[256], later[256];
    snprintf(at9, sizeof at9, "%s/checkpoints/v0_1/%s_9.ckpt", RBM_TEST_DATA, c->name);
    snprintf(at13, sizeof at13, "%s/checkpoints/v0_1/%s_13.ckpt", RBM_TEST_DATA, c->name);
    assert_non_null(mkdtemp(dir));
    snprintf(again, sizeof again, "%s/again.ckpt", dir);
    snprintf(later, sizeof later, "%s/later.ckpt", dir);

    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, at9, d, &m, &t));
    assert_int_equal(rbm_trainer_step_count(t), 9);
    assert_int_equal(rbm_trainer_epoch_count(t), 1);
    assert_int_equal(rbm_trainer_batch_index(t), 2);
    assert_int_equal(rbm_trainer_batches_per_epoch(t), 7);
    assert_int_equal(rbm_trainer_optimizer(t), c->opt);
    assert_int_equal(rbm_machine_precision(m), c->prec);
    assert_int_equal(rbm_machine_n_visible(m), 12);
    assert_int_equal(rbm_machine_n_hidden(m), 6);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, again));
    assert_same_bytes("re-saved after loading", at9, again);

    for (int i = 0; i < 4; i++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK)
            fail_msg("%s: step %d after loading: %s (%s)", c->name, 10 + i, rbm_status_name(st),
                     rbm_context_last_error(ctx));
    }
    assert_int_equal(rbm_trainer_step_count(t), 13);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, later));
    if (c->est != RBM_ESTIMATOR_EXACT) {
        assert_same_bytes("4 steps after the step-9 checkpoint vs 0.1's step 13", at13, later);
    } else {
        /* 0.2 sums the log-partitions of exact enumeration differently
         * (numeric/logpart.c: products of 1 + e^-|x| under one log, with
         * FMA), so its exact gradients differ from 0.1's in the last bits:
         * the parameters after four steps agree to rounding, not bytes. */
        rbm_machine *m13 = NULL;
        rbm_trainer *t13 = NULL;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, at13, d, &m13, &t13));
        assert_int_equal(rbm_trainer_step_count(t13), 13);
        double w[72], w13[72], a[12], a13[12], b[6], b13[6];
        RBM_OKAY(ctx, rbm_machine_get_weights(m, w, 72));
        RBM_OKAY(ctx, rbm_machine_get_weights(m13, w13, 72));
        RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, a, 12));
        RBM_OKAY(ctx, rbm_machine_get_visible_bias(m13, a13, 12));
        RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, b, 6));
        RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m13, b13, 6));
        for (int i = 0; i < 72; i++)
            rbm_assert_close(w[i], w13[i], 1e-12, 1e-15, "W after 4 exact steps vs 0.1");
        for (int i = 0; i < 12; i++)
            rbm_assert_close(a[i], a13[i], 1e-12, 1e-15, "a after 4 exact steps vs 0.1");
        for (int i = 0; i < 6; i++)
            rbm_assert_close(b[i], b13[i], 1e-12, 1e-15, "b after 4 exact steps vs 0.1");
        rbm_trainer_free(t13);
        rbm_machine_free(m13);
    }

    unlink(again);
    unlink(later);
    rmdir(dir);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* The estimator kind of every file is the one make_v0_1.c chose. */
static void test_kinds(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        rbm_dataset *d = NULL;
        RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, runs[i].vk, 11, &d));
        char path[1024];
        snprintf(path, sizeof path, "%s/checkpoints/v0_1/%s_13.ckpt", RBM_TEST_DATA,
                 runs[i].name);
        rbm_machine *m = NULL;
        rbm_trainer *t = NULL;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t));
        assert_int_equal(rbm_trainer_step_count(t), 13);
        assert_int_equal(rbm_estimator_kind_of(rbm_trainer_estimator(t)), runs[i].est);
        rbm_trainer_free(t);
        rbm_machine_free(m);
        rbm_dataset_free(d);
    }
    rbm_context_free(ctx);
}

#define CASE(i, n)                                                                            \
    static void test_continue_##n(void **state)                                               \
    {                                                                                         \
        (void)state;                                                                          \
        compat_case(&runs[i]);                                                                \
    }
CASE(0, pcd)
CASE(1, cd)
CASE(2, exact)
CASE(3, tap2)
CASE(4, tap3)
CASE(5, mf)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),         cmocka_unit_test(test_continue_pcd),
        cmocka_unit_test(test_continue_cd),   cmocka_unit_test(test_continue_exact),
        cmocka_unit_test(test_continue_tap2), cmocka_unit_test(test_continue_tap3),
        cmocka_unit_test(test_continue_mf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
