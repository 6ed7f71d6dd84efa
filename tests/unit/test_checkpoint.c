/* Checkpoints: resume bit for bit (in a new process), validation of the
 * training-state section, and the fixtures of tests/data/checkpoints (files
 * written by an earlier build: the on-disk layout must not change). */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    rbm_unit_kind vk, hk;
    rbm_estimator_kind est;
    rbm_optimizer opt;
    rbm_precision prec;
} config;

static rbm_dataset *make_data(rbm_context *ctx, rbm_unit_kind vk)
{
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 250, 0, 0, 20, 0.1, vk, 11, &d));
    return d;
}

static void make_run(rbm_context *ctx, const config *c, rbm_dataset *d, rbm_machine **m,
                     rbm_trainer **t)
{
    RBM_OKAY(ctx, rbm_machine_new(ctx, 20, 6, c->vk, c->hk, m));
    RBM_OKAY(ctx, rbm_machine_set_precision(*m, c->prec));
    RBM_OKAY(ctx, rbm_machine_init_normal(*m, 0.05, 3));
    RBM_OKAY(ctx, rbm_trainer_new(*m, d, 32, 77, t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(*t, c->est, 2));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(*t, c->opt));
    RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_LEARNING_RATE, 0.02));
    RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_L2, 1e-4));
}

static void steps(rbm_context *ctx, rbm_trainer *t, int n)
{
    for (int i = 0; i < n; i++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE)
            fail_msg("step %d: %s (%s)", i, rbm_status_name(st), rbm_context_last_error(ctx));
    }
}

static void params(rbm_context *ctx, const rbm_machine *m, double *out)
{
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    RBM_OKAY(ctx, rbm_machine_get_weights(m, out, nv * nh));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, out + nv * nh, nv));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, out + nv * nh + nv, nh));
}

/* 2N steps straight vs N steps, checkpoint, a child process loads it and
 * runs N more steps and saves the model; the parameters must be identical
 * bit for bit. N = 13 crosses an epoch boundary (8 batches per epoch). */
static void resume_case(const config *c)
{
    enum { N = 13, P = 20 * 6 + 20 + 6 };
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = make_data(ctx, c->vk);
    rbm_machine *m;
    rbm_trainer *t;
    make_run(ctx, c, d, &m, &t);
    steps(ctx, t, 2 * N);
    double straight[P];
    params(ctx, m, straight);
    rbm_trainer_free(t);
    rbm_machine_free(m);

    char dir[] = "/tmp/rbm-ckpt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ck[256], out[256];
    snprintf(ck, sizeof ck, "%s/run.ckpt", dir);
    snprintf(out, sizeof out, "%s/final.rbm", dir);
    make_run(ctx, c, d, &m, &t);
    steps(ctx, t, N);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, ck));
    rbm_trainer_free(t);
    rbm_machine_free(m);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* a new process: nothing shared but the file and the data */
        rbm_context *c2 = NULL;
        rbm_dataset *d2 = NULL;
        rbm_machine *m2 = NULL;
        rbm_trainer *t2 = NULL;
        int ok = rbm_context_new(&c2) == RBM_OK &&
                 rbm_dataset_synthetic(c2, 250, 0, 0, 20, 0.1, c->vk, 11, &d2) == RBM_OK &&
                 rbm_trainer_load_checkpoint(c2, ck, d2, &m2, &t2) == RBM_OK;
        for (int i = 0; ok && i < N; i++) {
            rbm_status st = rbm_trainer_step(t2);
            ok = st == RBM_OK || st == RBM_DONE;
        }
        ok = ok && rbm_trainer_step_count(t2) == 2 * N && rbm_machine_save(m2, out) == RBM_OK;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    RBM_OKAY(ctx, rbm_machine_load(ctx, out, &m));
    double resumed[P];
    params(ctx, m, resumed);
    for (int i = 0; i < P; i++)
        if (memcmp(&straight[i], &resumed[i], sizeof(double)) != 0)
            fail_msg("parameter %d differs after resume: %.17g vs %.17g", i, straight[i],
                     resumed[i]);
    /* The checkpoint also reads as a plain model file. */
    rbm_machine *plain = NULL;
    RBM_OKAY(ctx, rbm_machine_load(ctx, ck, &plain));
    assert_int_equal(rbm_machine_precision(plain), c->prec);
    rbm_machine_free(plain);
    rbm_machine_free(m);
    unlink(ck);
    unlink(out);
    rmdir(dir);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_resume_pcd_sgd(void **state)
{
    (void)state;
    config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_SGD,
                RBM_PRECISION_FLOAT64};
    resume_case(&c);
}

static void test_resume_pcd_adam_f32_ising(void **state)
{
    (void)state;
    config c = {RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_ADAM,
                RBM_PRECISION_FLOAT32};
    resume_case(&c);
}

static void test_resume_cd_momentum_gauss_hidden(void **state)
{
    (void)state;
    config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, RBM_ESTIMATOR_CD, RBM_OPTIMIZER_MOMENTUM,
                RBM_PRECISION_FLOAT64};
    resume_case(&c);
}

static void test_resume_exact(void **state)
{
    (void)state;
    config c = {RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_EXACT, RBM_OPTIMIZER_ADAM,
                RBM_PRECISION_FLOAT64};
    resume_case(&c);
}

static void test_resume_tap2(void **state)
{
    (void)state;
    config c = {RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_ESTIMATOR_TAP2, RBM_OPTIMIZER_MOMENTUM,
                RBM_PRECISION_FLOAT64};
    resume_case(&c);
}

/* A checkpoint made on binarised data held as float32 (what
 * rbm_dataset_transform gave before 0.2) resumes on the same values held as
 * uint8 (what it gives now), and the run continues bit for bit as on the
 * float32 data; uint8 data with one value changed is refused. */
static void test_resume_on_narrower_dtype(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *syn = make_data(ctx, RBM_UNIT_BERNOULLI), *d8 = NULL, *d32 = NULL, *bad = NULL;
    size_t rows = rbm_dataset_rows(syn), cols = rbm_dataset_cols(syn);
    double *v = malloc(rows * cols * sizeof *v);
    float *f = malloc(rows * cols * sizeof *f);
    uint8_t *u = malloc(rows * cols);
    assert_true(v && f && u);
    RBM_OKAY(ctx, rbm_dataset_get_rows(syn, 0, rows, v, rows * cols));
    for (size_t i = 0; i < rows * cols; i++) {
        f[i] = (float)v[i];
        u[i] = (uint8_t)v[i];
    }
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, f, RBM_DTYPE_FLOAT32, rows, cols, RBM_COPY, &d32));
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, u, RBM_DTYPE_UINT8, rows, cols, RBM_COPY, &d8));
    u[7] ^= 1;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, u, RBM_DTYPE_UINT8, rows, cols, RBM_COPY, &bad));
    const config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD,
                      RBM_OPTIMIZER_ADAM, RBM_PRECISION_FLOAT32};
    rbm_machine *m = NULL, *m32 = NULL, *m8 = NULL, *mb = NULL;
    rbm_trainer *t = NULL, *t32 = NULL, *t8 = NULL, *tb = NULL;
    make_run(ctx, &c, d32, &m, &t);
    steps(ctx, t, 5);
    char path[] = "/tmp/rbm-narrow-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, path));
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d32, &m32, &t32));
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d8, &m8, &t8));
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, bad, &mb, &tb), RBM_ERR_SHAPE);
    assert_null(mb);
    assert_null(tb);
    steps(ctx, t32, 9);
    steps(ctx, t8, 9);
    enum { P = 20 * 6 + 20 + 6 };
    double p32[P], p8[P];
    params(ctx, m32, p32);
    params(ctx, m8, p8);
    assert_memory_equal(p32, p8, sizeof p32);
    unlink(path);
    rbm_trainer_free(t);
    rbm_trainer_free(t32);
    rbm_trainer_free(t8);
    rbm_machine_free(m);
    rbm_machine_free(m32);
    rbm_machine_free(m8);
    rbm_dataset_free(syn);
    rbm_dataset_free(d8);
    rbm_dataset_free(d32);
    rbm_dataset_free(bad);
    free(v);
    free(f);
    free(u);
    rbm_context_free(ctx);
}

static size_t file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return (size_t)n;
}

/* Wrong dataset, model file instead of checkpoint, truncations. */
static void test_checkpoint_validation(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_ADAM,
                RBM_PRECISION_FLOAT64};
    rbm_dataset *d = make_data(ctx, c.vk);
    rbm_machine *m;
    rbm_trainer *t;
    make_run(ctx, &c, d, &m, &t);
    steps(ctx, t, 5);
    char dir[] = "/tmp/rbm-ckpt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ck[256], model[256], cut[256];
    snprintf(ck, sizeof ck, "%s/a.ckpt", dir);
    snprintf(model, sizeof model, "%s/a.rbm", dir);
    snprintf(cut, sizeof cut, "%s/cut.ckpt", dir);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, ck));
    RBM_OKAY(ctx, rbm_machine_save(m, model));

    rbm_machine *m2 = NULL;
    rbm_trainer *t2 = NULL;
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, model, d, &m2, &t2), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "not a checkpoint"));
    assert_null(m2);
    assert_null(t2);

    rbm_dataset *other = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 250, 0, 0, 20, 0.1, c.vk, 12, &other));
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, ck, other, &m2, &t2), RBM_ERR_SHAPE);
    assert_non_null(strstr(rbm_context_last_error(ctx), "different dataset"));

    /* Every truncation fails cleanly. */
    size_t n = file_size(ck);
    FILE *f = fopen(ck, "rb");
    assert_non_null(f);
    unsigned char *bytes = malloc(n);
    assert_int_equal(fread(bytes, 1, n, f), n);
    fclose(f);
    for (size_t cutlen = 0; cutlen < n; cutlen += (cutlen < 256 ? 1 : 97)) {
        FILE *g = fopen(cut, "wb");
        fwrite(bytes, 1, cutlen, g);
        fclose(g);
        rbm_status st = rbm_trainer_load_checkpoint(ctx, cut, d, &m2, &t2);
        if (st != RBM_ERR_BAD_FORMAT)
            fail_msg("truncation at %zu of %zu: %s", cutlen, n, rbm_status_name(st));
    }
    free(bytes);

    /* Success path sanity: counters and configuration restored. */
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, ck, d, &m2, &t2));
    assert_int_equal(rbm_trainer_step_count(t2), 5);
    assert_int_equal(rbm_trainer_batch_index(t2), 5);
    assert_int_equal(rbm_trainer_optimizer(t2), c.opt);
    assert_int_equal(rbm_estimator_kind_of(rbm_trainer_estimator(t2)), c.est);
    int64_t k = 0;
    RBM_OKAY(ctx, rbm_estimator_get_int(rbm_trainer_estimator(t2), RBM_ESTIMATOR_K, &k));
    assert_true(k == 2);
    assert_int_equal(rbm_trainer_optimizer(NULL), RBM_OPTIMIZER_SGD);
    assert_int_equal(rbm_estimator_get_int(NULL, RBM_ESTIMATOR_K, &k), RBM_ERR_NULL);
    rbm_trainer_free(t2);
    rbm_machine_free(m2);

    unlink(ck);
    unlink(model);
    unlink(cut);
    rmdir(dir);
    rbm_dataset_free(other);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------------
 * Fixtures: the .ckpt files of tests/data/checkpoints were written by `test_checkpoint
 * --make-fixtures DIR` (make_fixtures below) with the library of the commit
 * that added them; tests/data/checkpoints/README.md has the recipe. A
 * fixture must load, re-save to the same bytes, and continue exactly as the
 * same run made in memory.
 * ------------------------------------------------------------------------- */
typedef struct fixture {
    const char *file;
    rbm_unit_kind vk, hk;
    rbm_estimator_kind est;
    size_t k;
    rbm_optimizer opt;
    rbm_precision prec;
} fixture;

static const fixture fixtures[] = {
    {"pcd.ckpt", RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, 2, RBM_OPTIMIZER_ADAM,
     RBM_PRECISION_FLOAT32},
    {"cd.ckpt", RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_CD, 1,
     RBM_OPTIMIZER_MOMENTUM, RBM_PRECISION_FLOAT64},
    {"exact.ckpt", RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_EXACT, 1, RBM_OPTIMIZER_SGD,
     RBM_PRECISION_FLOAT64},
    {"tap2.ckpt", RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_ESTIMATOR_TAP2, 3, RBM_OPTIMIZER_MOMENTUM,
     RBM_PRECISION_FLOAT64},
};

/* 100 rows in batches of 16: 7 minibatches per epoch (the last of 4 rows);
 * the fixtures are saved after 9 steps, in the second epoch. */
enum { FIX_ROWS = 100, FIX_NV = 12, FIX_NH = 6, FIX_BATCH = 16, FIX_STEPS = 9, FIX_MORE = 6 };
enum { FIX_P = FIX_NV * FIX_NH + FIX_NV + FIX_NH };

static rbm_dataset *fixture_data(rbm_context *ctx, const fixture *f)
{
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, FIX_ROWS, 0, 0, FIX_NV, 0.1, f->vk, 11, &d));
    return d;
}

/* The run of a fixture, from scratch, up to the step it was saved at. */
static void fixture_run(rbm_context *ctx, const fixture *f, const rbm_dataset *d,
                        rbm_machine **m, rbm_trainer **t)
{
    RBM_OKAY(ctx, rbm_machine_new(ctx, FIX_NV, FIX_NH, f->vk, f->hk, m));
    RBM_OKAY(ctx, rbm_machine_set_precision(*m, f->prec));
    RBM_OKAY(ctx, rbm_machine_init_normal(*m, 0.05, 3));
    RBM_OKAY(ctx, rbm_trainer_new(*m, d, FIX_BATCH, 77, t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(*t, f->est, f->k));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(*t, f->opt));
    RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_LEARNING_RATE, 0.02));
    RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_L1, 1e-5));
    RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_L2, 1e-4));
    steps(ctx, *t, FIX_STEPS);
}

static int make_fixtures(const char *dir)
{
    rbm_context *ctx = rbm_test_context();
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const fixture *f = &fixtures[i];
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, f->file);
        rbm_dataset *d = fixture_data(ctx, f);
        rbm_machine *m;
        rbm_trainer *t;
        fixture_run(ctx, f, d, &m, &t);
        if (rbm_trainer_save_checkpoint(t, path) != RBM_OK) {
            fprintf(stderr, "%s: %s\n", path, rbm_context_last_error(ctx));
            return 1;
        }
        printf("wrote %s\n", path);
        rbm_trainer_free(t);
        rbm_machine_free(m);
        rbm_dataset_free(d);
    }
    rbm_context_free(ctx);
    return 0;
}

static unsigned char *read_file(const char *path, size_t *n)
{
    *n = file_size(path);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *bytes = malloc(*n ? *n : 1);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, *n, f), *n);
    fclose(f);
    return bytes;
}

static bool same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *pa = read_file(a, &na), *pb = read_file(b, &nb);
    bool same = na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

static void fixture_path(const fixture *f, char *path, size_t cap)
{
    snprintf(path, cap, "%s/checkpoints/%s", RBM_TEST_DATA, f->file);
}

/* Load the fixture; saving it again gives the same bytes; it continues
 * exactly like the same run made in memory. */
static void fixture_case(const fixture *f)
{
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = fixture_data(ctx, f);
    char path[1024], dir[] = "/tmp/rbm-fixture-XXXXXX", again[256], fresh[256];
    fixture_path(f, path, sizeof path);
    assert_non_null(mkdtemp(dir));
    snprintf(again, sizeof again, "%s/again.ckpt", dir);
    snprintf(fresh, sizeof fresh, "%s/fresh.ckpt", dir);

    rbm_machine *m1 = NULL, *m2 = NULL;
    rbm_trainer *t1 = NULL, *t2 = NULL;
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m1, &t1));
    assert_int_equal(rbm_trainer_step_count(t1), FIX_STEPS);
    assert_int_equal(rbm_estimator_kind_of(rbm_trainer_estimator(t1)), f->est);
    assert_int_equal(rbm_trainer_optimizer(t1), f->opt);
    assert_int_equal(rbm_machine_precision(m1), f->prec);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t1, again));
    if (!same_file(path, again))
        fail_msg("%s: loading and saving again changed the bytes", f->file);

    fixture_run(ctx, f, d, &m2, &t2);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t2, fresh));
    bool same_arith = same_file(path, fresh);
    steps(ctx, t1, FIX_MORE);
    steps(ctx, t2, FIX_MORE);
    double p1[FIX_P], p2[FIX_P];
    params(ctx, m1, p1);
    params(ctx, m2, p2);
    for (int i = 0; i < FIX_P; i++)
        assert_true(isfinite(p1[i]));
    unlink(again);
    unlink(fresh);
    rmdir(dir);
    rbm_trainer_free(t1);
    rbm_trainer_free(t2);
    rbm_machine_free(m1);
    rbm_machine_free(m2);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
    /* The in-memory run reproduces the fixture bit for bit only where the
     * arithmetic (BLAS kernels, libm, librbm's own vector kernels) is the
     * one that wrote it. Otherwise a deterministic estimator (exact, TAP)
     * still follows the same trajectory to rounding: compared to 1e-10
     * relative. A sampling estimator's draws may flip: not compared. */
    bool deterministic = f->est == RBM_ESTIMATOR_EXACT || f->est == RBM_ESTIMATOR_MF ||
                         f->est == RBM_ESTIMATOR_TAP2 || f->est == RBM_ESTIMATOR_TAP3;
    if (!same_arith && !deterministic) {
        print_message("# %s: this platform's arithmetic differs from the one that wrote the "
                      "fixture; continuation not compared\n", f->file);
        skip();
    }
    for (int i = 0; i < FIX_P; i++) {
        if (same_arith && memcmp(&p1[i], &p2[i], sizeof(double)) != 0)
            fail_msg("%s: parameter %d differs between the loaded fixture and the in-memory "
                     "run after %d more steps: %.17g vs %.17g",
                     f->file, i, FIX_MORE, p1[i], p2[i]);
        if (!(fabs(p1[i] - p2[i]) <= 1e-10 * (fabs(p2[i]) + 1e-3)))
            fail_msg("%s: parameter %d of the loaded fixture and of the in-memory run "
                     "(arithmetic not the fixture's) differ beyond rounding after %d more "
                     "steps: %.17g vs %.17g",
                     f->file, i, FIX_MORE, p1[i], p2[i]);
    }
}

static void test_fixture_pcd(void **state)
{
    (void)state;
    fixture_case(&fixtures[0]);
}

static void test_fixture_cd(void **state)
{
    (void)state;
    fixture_case(&fixtures[1]);
}

static void test_fixture_exact(void **state)
{
    (void)state;
    fixture_case(&fixtures[2]);
}

static void test_fixture_tap2(void **state)
{
    (void)state;
    fixture_case(&fixtures[3]);
}

/* ---------------------------------------------------------------------------
 * Out of memory while loading: every allocation failure is RBM_ERR_NO_MEMORY
 * ------------------------------------------------------------------------- */
typedef struct failing_alloc {
    long countdown; /* allocations left before the failing one; < 0: never fail */
    bool failed;
    size_t live;
} failing_alloc;

static void *fail_alloc(void *user, size_t size)
{
    failing_alloc *f = user;
    if (f->countdown == 0) {
        f->countdown = -1;
        f->failed = true;
        return NULL;
    }
    if (f->countdown > 0)
        f->countdown--;
    void *p = malloc(size);
    if (p)
        f->live++;
    return p;
}

static void fail_free(void *user, void *p)
{
    failing_alloc *f = user;
    if (p)
        f->live--;
    free(p);
}

/* Fail the k-th allocation of a load, for k = 0, 1, ... until a load
 * succeeds untouched: each load gives RBM_OK or RBM_ERR_NO_MEMORY (never
 * BAD_FORMAT), sets both outputs or neither, and leaks nothing. */
static void oom_case(const fixture *f)
{
    failing_alloc fa = {-1, false, 0};
    rbm_context *ctx = NULL;
    RBM_OKAY(ctx, rbm_context_new_with_allocator(fail_alloc, fail_free, &fa, &ctx));
    rbm_dataset *d = fixture_data(ctx, f);
    size_t live0 = fa.live;
    char path[1024];
    fixture_path(f, path, sizeof path);
    for (long k = 0;; k++) {
        fa.countdown = k;
        fa.failed = false;
        rbm_machine *m = NULL;
        rbm_trainer *t = NULL;
        rbm_status st = rbm_trainer_load_checkpoint(ctx, path, d, &m, &t);
        bool failed = fa.failed;
        fa.countdown = -1;
        if (failed && st != RBM_ERR_NO_MEMORY)
            fail_msg("%s: allocation %ld failed and the load returned %s (%s)", f->file, k,
                     rbm_status_name(st), rbm_context_last_error(ctx));
        if (!failed && st != RBM_OK)
            fail_msg("%s: load without a failed allocation returned %s", f->file,
                     rbm_status_name(st));
        assert_true(st == RBM_OK ? m && t : !m && !t);
        if (st == RBM_OK)
            steps(ctx, t, 2);
        rbm_trainer_free(t);
        rbm_machine_free(m);
        if (fa.live != live0)
            fail_msg("%s: allocation %ld failed: %zu blocks leaked", f->file, k,
                     fa.live - live0);
        if (!failed)
            break;
    }
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_load_out_of_memory(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        oom_case(&fixtures[i]);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--make-fixtures") == 0)
        return make_fixtures(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_pcd_sgd),
        cmocka_unit_test(test_resume_pcd_adam_f32_ising),
        cmocka_unit_test(test_resume_cd_momentum_gauss_hidden),
        cmocka_unit_test(test_resume_exact),
        cmocka_unit_test(test_resume_tap2),
        cmocka_unit_test(test_checkpoint_validation),
        cmocka_unit_test(test_resume_on_narrower_dtype),
        cmocka_unit_test(test_fixture_pcd),
        cmocka_unit_test(test_fixture_cd),
        cmocka_unit_test(test_fixture_exact),
        cmocka_unit_test(test_fixture_tap2),
        cmocka_unit_test(test_load_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
