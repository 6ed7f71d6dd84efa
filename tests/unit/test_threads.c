/* Two contexts on two threads (run under ThreadSanitizer in CI).
 *
 * The threading contract: a context and everything made from it are used by
 * one thread at a time, and different contexts run concurrently. Each thread
 * here builds its own context, data, machine and PCD trainer, trains, and
 * computes an exact log Z with two threads of its own; the results must be
 * bit-identical to the same work done alone on the main thread, and the
 * sanitizer must see no race. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"

enum { NV = 16, NH = 8, ROWS = 400, BATCH = 20, EPOCHS = 3 };

typedef struct {
    uint64_t seed;
    rbm_precision prec;
    rbm_status st;
    double W[NV * NH];
    double log_z;
} job;

static void *train_one(void *arg)
{
    job *j = arg;
    rbm_context *ctx = NULL;
    rbm_dataset *ds = NULL;
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    rbm_status st = rbm_context_new(&ctx);
    if (!st)
        st = rbm_context_set_threads(ctx, 2);
    if (!st)
        st = rbm_dataset_synthetic(ctx, ROWS, 0, 0, NV, 0.3, RBM_UNIT_BERNOULLI, j->seed, &ds);
    if (!st)
        st = rbm_machine_new(ctx, NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m);
    if (!st)
        st = rbm_machine_set_precision(m, j->prec);
    if (!st)
        st = rbm_machine_init_normal(m, 0.01, j->seed + 1);
    if (!st)
        st = rbm_trainer_new(m, ds, BATCH, j->seed + 2, &t);
    if (!st)
        st = rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 1);
    if (!st)
        st = rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.05);
    if (!st)
        st = rbm_trainer_run_epochs(t, EPOCHS);
    if (!st)
        st = rbm_machine_get_weights(m, j->W, NV * NH);
    if (!st)
        st = rbm_exact_log_z(m, &j->log_z);
    j->st = st;
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
    return NULL;
}

static void test_two_contexts_two_threads(void **state)
{
    (void)state;
    const rbm_precision precs[2] = {RBM_PRECISION_FLOAT64, RBM_PRECISION_FLOAT32};
    for (int p = 0; p < 2; p++) {
        job alone[2] = {{.seed = 11, .prec = precs[p]}, {.seed = 23, .prec = precs[p]}};
        job both[2] = {alone[0], alone[1]};
        train_one(&alone[0]);
        train_one(&alone[1]);
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, train_one, &both[i]), 0);
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(alone[i].st, RBM_OK);
            assert_int_equal(both[i].st, RBM_OK);
            /* BLAS may split a product differently when two threads compete
             * for cores only if its thread count changes; it does not here. */
            assert_memory_equal(alone[i].W, both[i].W, sizeof alone[i].W);
            assert_memory_equal(&alone[i].log_z, &both[i].log_z, sizeof(double));
        }
        /* the two runs differ from each other: each thread did its own work */
        assert_true(memcmp(alone[0].W, alone[1].W, sizeof alone[0].W) != 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_contexts_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
