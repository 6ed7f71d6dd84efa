/* Every allocation failure is reported as RBM_ERR_NO_MEMORY, leaks nothing
 * and changes nothing: for each scenario below, the k-th allocation through
 * the context's allocator fails, for every k until the scenario needs fewer
 * than k allocations. After each run every block handed out has been given
 * back (a live count kept by the allocator), the status is RBM_ERR_NO_MEMORY
 * whenever the failure was hit (and RBM_OK otherwise), and the objects the
 * scenario changes are as they were where the API promises it. Training
 * steps must not allocate at all. The total number of failure points is
 * printed (docs/reliability.md quotes it). */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fa {
    long count;   /* allocations while armed */
    long fail_at; /* the armed allocation that fails (1-based) */
    long live;    /* blocks handed out and not yet freed */
    bool armed, hit;
} fa;

static void *fa_alloc(void *user, size_t size)
{
    fa *f = user;
    if (f->armed && ++f->count == f->fail_at) {
        f->hit = true;
        return NULL;
    }
    void *p = malloc(size ? size : 1);
    if (p)
        f->live++;
    return p;
}

static void fa_free(void *user, void *p)
{
    fa *f = user;
    if (p) {
        f->live--;
        free(p);
    }
}

static char dir[64];
static long total_sites;

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* A scenario: unarmed set-up, then the calls under test with f->armed set
 * (stopping at the first error, which it returns), then unarmed checks and
 * clean-up of everything it made. */
typedef rbm_status (*scenario_fn)(rbm_context *ctx, fa *f, const void *arg);

static void run(const char *name, scenario_fn fn, const void *arg)
{
    long k;
    for (k = 1;; k++) {
        fa f = {.fail_at = k};
        rbm_context *ctx = NULL;
        assert_int_equal(rbm_context_new_with_allocator(fa_alloc, fa_free, &f, &ctx), RBM_OK);
        rbm_status st = fn(ctx, &f, arg);
        const char *msg = rbm_context_last_error(ctx);
        char detail[256];
        snprintf(detail, sizeof detail, "%s", msg ? msg : "");
        rbm_context_free(ctx);
        if (f.live != 0)
            fail_msg("%s: failing allocation %ld leaks %ld blocks", name, k, f.live);
        if (!f.hit) {
            if (st != RBM_OK)
                fail_msg("%s: without a failure: %s (%s)", name, rbm_status_name(st), detail);
            break;
        }
        if (st != RBM_ERR_NO_MEMORY)
            fail_msg("%s: failing allocation %ld of the scenario gives %s (%s), not "
                     "RBM_ERR_NO_MEMORY",
                     name, k, rbm_status_name(st), detail);
        if (!detail[0])
            fail_msg("%s: failing allocation %ld: no detail", name, k);
        if (k > 200000)
            fail_msg("%s: more than 200000 allocations", name);
    }
    printf("# %s: %ld allocation failure points\n", name, k - 1);
    total_sites += k - 1;
}

#define ARMED(f, call)                                                                      \
    do {                                                                                    \
        (f)->armed = true;                                                                  \
        st = (call);                                                                        \
        (f)->armed = false;                                                                 \
    } while (0)

/* ---------------- scenarios ---------------- */

static rbm_status load_model(rbm_context *ctx, fa *f, const void *arg)
{
    (void)arg;
    rbm_machine *m = NULL;
    rbm_status st;
    ARMED(f, rbm_machine_load(ctx, RBM_TEST_DATA "/models/ising_bernoulli_12x6_f32.rbm", &m));
    assert_true(st == RBM_OK ? m != NULL : m == NULL);
    rbm_machine_free(m);
    return st;
}

static rbm_status load_datasets(rbm_context *ctx, fa *f, const void *arg)
{
    (void)arg;
    char csv[128], npy[128], idx[128];
    path_in(csv, sizeof csv, "d.csv");
    path_in(npy, sizeof npy, "d.npy");
    path_in(idx, sizeof idx, "d.idx");
    const char *paths[3] = {csv, npy, idx};
    rbm_status st = RBM_OK;
    for (int i = 0; i < 3 && st == RBM_OK; i++) {
        rbm_dataset *d = NULL;
        ARMED(f, rbm_dataset_load(ctx, paths[i], &d));
        assert_true(st == RBM_OK ? d != NULL : d == NULL);
        rbm_dataset_free(d);
    }
    return st;
}

static rbm_status create_objects(rbm_context *ctx, fa *f, const void *arg)
{
    (void)arg;
    rbm_machine *m = NULL, *c = NULL, *conv = NULL;
    rbm_gradient *g = NULL;
    rbm_sampler *s = NULL;
    rbm_dataset *d = NULL;
    rbm_batch_iter *it = NULL;
    rbm_estimator *e[6] = {0};
    double shift;
    rbm_status st;
    ARMED(f, rbm_machine_new(ctx, 9, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, &m));
    if (!st)
        ARMED(f, rbm_machine_clone(m, &c));
    if (!st)
        ARMED(f, rbm_machine_convert(m, RBM_UNIT_ISING, &conv, &shift));
    if (!st) {
        ARMED(f, rbm_machine_set_precision(c, RBM_PRECISION_FLOAT32));
        /* refused: the clone keeps its precision */
        assert_int_equal(rbm_machine_precision(c),
                         st ? RBM_PRECISION_FLOAT64 : RBM_PRECISION_FLOAT32);
    }
    if (!st)
        ARMED(f, rbm_gradient_new(c, &g));
    if (!st)
        ARMED(f, rbm_sampler_new(c, 7, 3, &s));
    for (int k = 0; k < 6 && !st; k++)
        ARMED(f, rbm_estimator_new(c, (rbm_estimator_kind)k, 4, 5, &e[k]));
    if (!st)
        ARMED(f, rbm_dataset_synthetic(ctx, 30, 3, 2, 9, 0.1, RBM_UNIT_BERNOULLI, 4, &d));
    if (!st)
        ARMED(f, rbm_batch_iter_new(d, 4, RBM_BATCH_SHUFFLE, 3, &it));
    if (!st && e[1]) { /* new chains are built beside the old: a failure keeps them */
        double before[4 * 9], after[4 * 9];
        RBM_OKAY(ctx, rbm_sampler_get_visible(rbm_estimator_sampler(e[1]), before, 4 * 9));
        ARMED(f, rbm_estimator_set_int(e[1], RBM_ESTIMATOR_CHAINS, 6));
        if (st) {
            RBM_OKAY(ctx, rbm_sampler_get_visible(rbm_estimator_sampler(e[1]), after, 4 * 9));
            assert_memory_equal(before, after, sizeof before);
        }
    }
    rbm_batch_iter_free(it);
    rbm_dataset_free(d);
    for (int k = 0; k < 6; k++)
        rbm_estimator_free(e[k]);
    rbm_sampler_free(s);
    rbm_gradient_free(g);
    rbm_machine_free(conv);
    rbm_machine_free(c);
    rbm_machine_free(m);
    return st;
}

typedef struct train_case {
    rbm_estimator_kind est;
    rbm_unit_kind vk, hk;
    rbm_precision prec;
} train_case;

/* Trainer creation, estimator and optimiser choice under injection; then
 * steps, which must allocate nothing; then checkpoint save over an old
 * checkpoint (a failure keeps the old bytes) and load. */
static rbm_status train_and_checkpoint(rbm_context *ctx, fa *f, const void *arg)
{
    const train_case *tc = arg;
    rbm_dataset *d = NULL;
    rbm_machine *m = NULL, *m2 = NULL;
    rbm_trainer *t = NULL, *t2 = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 24, 3, 2, 6, 0.1, tc->vk, 4, &d));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 4, tc->vk, tc->hk, &m));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, tc->prec));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, 2));
    rbm_status st;
    ARMED(f, rbm_trainer_new(m, d, 8, 5, &t));
    if (!st) {
        const rbm_estimator *before = rbm_trainer_estimator(t);
        const rbm_estimator_kind kind0 = rbm_estimator_kind_of(before);
        ARMED(f, rbm_trainer_set_estimator(t, tc->est, 2));
        if (st) { /* refused: the trainer keeps its estimator */
            assert_ptr_equal(rbm_trainer_estimator(t), before);
            assert_int_equal(rbm_estimator_kind_of(before), kind0);
        }
    }
    if (!st)
        ARMED(f, rbm_trainer_set_optimizer(t, RBM_OPTIMIZER_ADAM));
    if (!st) {
        long before = f->count;
        f->armed = true;
        for (int i = 0; i < 5 && !st; i++) {
            st = rbm_trainer_step(t);
            if (st == RBM_DONE)
                st = RBM_OK;
        }
        f->armed = false;
        if (f->count != before)
            fail_msg("%s: %ld allocations in 5 training steps", rbm_estimator_kind_name(tc->est),
                     f->count - before);
        assert_int_equal(st, RBM_OK);
    }
    char path[128];
    path_in(path, sizeof path, "t.ckpt");
    if (!st) {
        f->armed = false;
        RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, path)); /* the old file */
        size_t n0, n1;
        unsigned char *old = rbm_test_read_file(path, &n0);
        rbm_status sst = rbm_trainer_step(t);
        assert_true(sst == RBM_OK || sst == RBM_DONE);
        ARMED(f, rbm_trainer_save_checkpoint(t, path));
        if (st) {
            unsigned char *now = rbm_test_read_file(path, &n1);
            assert_int_equal(n0, n1);
            assert_memory_equal(old, now, n0);
            free(now);
        }
        free(old);
    }
    if (!st) {
        ARMED(f, rbm_trainer_load_checkpoint(ctx, path, d, &m2, &t2));
        assert_true(st == RBM_OK ? m2 && t2 : !m2 && !t2);
    }
    rbm_trainer_free(t2);
    rbm_machine_free(m2);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    return st;
}

/* The analysis modules on a small trained-looking machine. */
static rbm_status analysis(rbm_context *ctx, fa *f, const void *arg)
{
    (void)arg;
    rbm_dataset *d = NULL, *d2 = NULL;
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 40, 3, 2, 10, 0.1, RBM_UNIT_BERNOULLI, 4, &d));
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 20, 3, 2, 10, 0.1, RBM_UNIT_BERNOULLI, 5, &d2));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 10, 6, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.3, 2));
    rbm_svd *s = NULL;
    rbm_mode_tracker *mt = NULL;
    rbm_ais *ais = NULL;
    rbm_mf *mf = NULL;
    rbm_mf_points *pts = NULL;
    rbm_ensemble *ens = NULL;
    double x, y;
    size_t nu;
    rbm_status st;
    ARMED(f, rbm_svd_new(m, &s));
    if (!st)
        ARMED(f, rbm_svd_update(s, m));
    if (!st)
        ARMED(f, rbm_mode_tracker_new(m, 3, &mt));
    if (!st)
        ARMED(f, rbm_mode_tracker_record(mt, 1));
    if (!st)
        ARMED(f, rbm_exact_log_z(m, &x));
    if (!st)
        ARMED(f, rbm_pseudo_log_likelihood(m, d, &x));
    if (!st)
        ARMED(f, rbm_reconstruction_error(m, d, &x));
    if (!st)
        ARMED(f, rbm_free_energy_gap(m, d, d2, &x));
    if (!st)
        ARMED(f, rbm_ais_new(m, 3, &ais));
    if (!st)
        ARMED(f, rbm_ais_set_runs(ais, 4));
    if (!st)
        ARMED(f, rbm_ais_set_uniform_schedule(ais, 20));
    if (!st)
        ARMED(f, rbm_ais_set_base_from_data(ais, d));
    if (!st)
        ARMED(f, rbm_ais_run(ais, 0, &x, &y));
    if (!st)
        ARMED(f, rbm_mf_new(m, RBM_MF_TAP2, &mf));
    if (!st)
        ARMED(f, rbm_mf_fixed_points_random(mf, 3, 7, &pts));
    if (!st)
        ARMED(f, rbm_mf_points_log_z(pts, &x, &y, &nu));
    if (!st)
        ARMED(f, rbm_ensemble_from_machine(m, 3, &ens));
    rbm_ensemble_free(ens);
    rbm_mf_points_free(pts);
    rbm_mf_free(mf);
    rbm_ais_free(ais);
    rbm_mode_tracker_free(mt);
    rbm_svd_free(s);
    rbm_machine_free(m);
    rbm_dataset_free(d2);
    rbm_dataset_free(d);
    return st;
}

/* ---------------- tests ---------------- */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rbm-faults-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    /* the data files of load_datasets, written with the plain allocator */
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    char p[128];
    if (rbm_dataset_synthetic(ctx, 12, 3, 2, 5, 0.1, RBM_UNIT_BERNOULLI, 4, &d))
        return -1;
    path_in(p, sizeof p, "d.npy");
    if (rbm_dataset_save_npy(d, p))
        return -1;
    rbm_dataset_free(d);
    rbm_context_free(ctx);
    path_in(p, sizeof p, "d.csv");
    FILE *c = fopen(p, "w");
    fprintf(c, "a,b,c\n1,0,1\n0,1,0\n1,1,0\n");
    fclose(c);
    path_in(p, sizeof p, "d.idx");
    FILE *x = fopen(p, "wb");
    const unsigned char hdr[] = {0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    fwrite(hdr, 1, sizeof hdr, x);
    for (int i = 0; i < 12; i++)
        fputc(i * 20, x);
    fclose(x);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    printf("# %ld allocation failure points in all\n", total_sites);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_loaders(void **state)
{
    (void)state;
    run("model load", load_model, NULL);
    run("dataset loads", load_datasets, NULL);
}

static void test_constructors(void **state)
{
    (void)state;
    run("constructors", create_objects, NULL);
}

static void test_training_and_checkpoints(void **state)
{
    (void)state;
    const rbm_estimator_kind kinds[] = {RBM_ESTIMATOR_CD,  RBM_ESTIMATOR_PCD,
                                        RBM_ESTIMATOR_EXACT, RBM_ESTIMATOR_MF,
                                        RBM_ESTIMATOR_TAP2, RBM_ESTIMATOR_TAP3};
    for (int k = 0; k < 6; k++)
        for (int p = 0; p < 2; p++) {
            train_case tc = {kinds[k], RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI,
                             p ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64};
            char name[64];
            snprintf(name, sizeof name, "train+checkpoint %s %s", rbm_estimator_kind_name(kinds[k]),
                     p ? "f32" : "f64");
            run(name, train_and_checkpoint, &tc);
        }
    train_case gg = {RBM_ESTIMATOR_PCD, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN,
                     RBM_PRECISION_FLOAT64};
    run("train+checkpoint pcd gauss-gauss", train_and_checkpoint, &gg);
    train_case ge = {RBM_ESTIMATOR_EXACT, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN,
                     RBM_PRECISION_FLOAT64};
    run("train+checkpoint exact gauss-gauss", train_and_checkpoint, &ge);
}

static void test_analysis(void **state)
{
    (void)state;
    run("analysis", analysis, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loaders),
        cmocka_unit_test(test_constructors),
        cmocka_unit_test(test_training_and_checkpoints),
        cmocka_unit_test(test_analysis),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
