/* librbm — make_v0_1: writes the checkpoints of tests/data/checkpoints/v0_1
 * with librbm 0.1.0 itself. It is written against the 0.1 API (it is NOT
 * part of the build: 0.2 renamed some of these calls) and is kept as the
 * recipe of the fixtures. Build and run it against a 0.1.0 tree (0.1's
 * rbm.h includes "version.h" without its folder, hence the -I of both):
 *
 *   git worktree add /tmp/v01 12217f6 && cd /tmp/v01 && meson setup build && ninja -C build
 *   cc -std=c11 -I/tmp/v01/include -I/tmp/v01/include/rbm -I/tmp/v01/build/include/rbm make_v0_1.c \
 *      -L/tmp/v01/build/lib -Wl,-rpath,/tmp/v01/build/lib -lrbm -o make_v0_1
 *   ./make_v0_1 tests/data/checkpoints/v0_1
 *
 * Each run is saved twice: after 9 steps (<name>_9.ckpt) and after 13 steps
 * (<name>_13.ckpt). 100 rows in batches of 16 make 7 minibatches per epoch,
 * so steps 10-13 stay inside the second epoch: a reader that continues the
 * step-9 file for 4 steps meets no reshuffle and must reproduce the step-13
 * file exactly. */
#include <rbm/rbm.h>
#include <stdio.h>

typedef struct run {
    const char *name;
    rbm_unit_kind vk, hk;
    rbm_estimator_kind est;
    size_t k;
    rbm_optimizer opt;
    rbm_precision prec;
} run;

static const run runs[] = {
    {"pcd", RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 2, RBM_OPTIMIZER_ADAM,
     RBM_PRECISION_FLOAT32},
    {"cd", RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_CD, 1, RBM_OPTIMIZER_MOMENTUM,
     RBM_PRECISION_FLOAT64},
    {"exact", RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_EXACT, 1, RBM_OPTIMIZER_SGD,
     RBM_PRECISION_FLOAT64},
    {"tap2", RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_ESTIMATOR_TAP2, 3, RBM_OPTIMIZER_MOMENTUM,
     RBM_PRECISION_FLOAT64},
    {"tap3", RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_TAP3, 2, RBM_OPTIMIZER_ADAM,
     RBM_PRECISION_FLOAT64},
    {"mf", RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_MF, 2, RBM_OPTIMIZER_SGD,
     RBM_PRECISION_FLOAT32},
};

#define TRY(x)                                                                                \
    do {                                                                                      \
        if ((x) != RBM_OK) {                                                                  \
            fprintf(stderr, "%s: %s\n", #x, rbm_context_last_error(ctx));                    \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

static int one(rbm_context *ctx, const run *r, const char *dir)
{
    rbm_dataset *d = NULL;
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    char path[1024];
    TRY(rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, r->vk, 11, &d));
    TRY(rbm_machine_new(ctx, 12, 6, r->vk, r->hk, &m));
    TRY(rbm_machine_set_precision(m, r->prec));
    TRY(rbm_machine_init_normal(m, 0.05, 3));
    TRY(rbm_trainer_new(m, d, 16, 77, &t));
    TRY(rbm_trainer_set_estimator(t, r->est, r->k));
    TRY(rbm_trainer_set_optimizer(t, r->opt));
    TRY(rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.02));
    TRY(rbm_trainer_set_real(t, RBM_TRAINER_L1, 1e-5));
    TRY(rbm_trainer_set_real(t, RBM_TRAINER_L2, 1e-4));
    for (int step = 1; step <= 13; step++) {
        rbm_status st = rbm_trainer_step(t); /* RBM_DONE ends an epoch */
        if (st != RBM_OK && st != RBM_DONE) {
            fprintf(stderr, "%s step %d: %s\n", r->name, step, rbm_context_last_error(ctx));
            return 1;
        }
        if (step == 9 || step == 13) {
            snprintf(path, sizeof path, "%s/%s_%d.ckpt", dir, r->name, step);
            TRY(rbm_trainer_save_checkpoint(t, path));
            printf("wrote %s\n", path);
        }
    }
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;
    rbm_context_set_threads(ctx, 1);
    printf("librbm %s\n", rbm_version_string());
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        if (one(ctx, &runs[i], argv[1]))
            return 1;
    rbm_context_free(ctx);
    return 0;
}
