/* Tests of <rbm/archive.h>: the training archive round trip, torn tails
 * (every cut of the last record, a kill -9 of a process appending), corrupt
 * records, hostile files, the appender's lock, checkpoints that resume a
 * run bit for bit, and the log-spaced schedule (the updates rbms 0.2.1 saved
 * in tests/data/interop/ for a 300-update run). */
#include "testutil.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define tmp_path rbm_test_tmp_path
#define tmpdir rbm_test_tmpdir()

static int setup_dir(void **state)
{
    (void)state;
    return rbm_test_tmpdir_new("archive");
}

static int teardown_dir(void **state)
{
    (void)state;
    return rbm_test_tmpdir_remove();
}

/* A rank-one machine W = s u v^T (u, v unit vectors): its only nonzero
 * singular value is s. */
static rbm_machine *rank_one(rbm_context *ctx, size_t nv, size_t nh, double s, rbm_unit_kind vk)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, vk, RBM_UNIT_BERNOULLI, &m));
    double *W = xzalloc(nv * nh * sizeof *W);
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++)
            W[i * nh + j] = s * (1.0 / sqrt((double)nv)) * (((i + j) % 2) ? -1.0 : 1.0) /
                            sqrt((double)nh);
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
    free(W);
    return m;
}

#define assert_same_machine rbm_assert_same_machine

static void test_roundtrip(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = tmp_path("run.rbma");
    rbm_archive *a = NULL;
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &a));
    assert_int_equal(rbm_archive_count(a), 0);
    RBM_OKAY(ctx, rbm_archive_set_config(a, "lr=0.01\n"));
    RBM_OKAY(ctx, rbm_archive_set_config(a, "estimator=pcd\nk=10\n"));
    rbm_machine *m1 = rank_one(ctx, 7, 4, 2.5, RBM_UNIT_BERNOULLI);
    rbm_machine *m2 = rank_one(ctx, 5, 9, 0.75, RBM_UNIT_GAUSSIAN);
    RBM_OKAY(ctx, rbm_machine_set_sigma(m2, RBM_LAYER_VISIBLE, 0.3));
    double b[9] = {1, -2, 3, -4, 5, -6, 7, -8, 1.0 / 3.0};
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m2, b, 9));
    RBM_OKAY(ctx, rbm_machine_set_precision(m2, RBM_PRECISION_FLOAT32));
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m1, 1, 0.5));
    double sv[3] = {3, 2, 1};
    RBM_OKAY(ctx, rbm_archive_append_spectrum(a, 2, sv, 3));
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m2, 30, 7.25));
    rbm_archive_free(a);

    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a));
    assert_int_equal(rbm_archive_count(a), 2);
    assert_int_equal(rbm_archive_ignored_bytes(a), 0);
    uint64_t step;
    double secs;
    RBM_OKAY(ctx, rbm_archive_info(a, 1, &step, &secs));
    assert_int_equal(step, 30);
    assert_true(secs == 7.25);
    rbm_machine *back = NULL;
    RBM_OKAY(ctx, rbm_archive_load_machine(a, 0, &back));
    assert_same_machine(m1, back);
    rbm_machine_free(back);
    RBM_OKAY(ctx, rbm_archive_load_machine(a, 1, &back));
    assert_same_machine(m2, back);
    rbm_machine_free(back);
    /* spectra: one per model plus the one appended; a rank-one W has one
     * nonzero singular value, s */
    assert_int_equal(rbm_archive_spectrum_count(a), 3);
    size_t n;
    double got[5];
    RBM_OKAY(ctx, rbm_archive_spectrum_info(a, 0, &step, &n));
    assert_int_equal(step, 1);
    assert_int_equal(n, 4);
    RBM_OKAY(ctx, rbm_archive_get_spectrum(a, 0, got, 4));
    rbm_assert_close(got[0], 2.5, 1e-13, 0, "s of model 1");
    assert_true(fabs(got[1]) < 1e-12);
    RBM_OKAY(ctx, rbm_archive_get_spectrum(a, 1, got, 3));
    assert_memory_equal(got, sv, sizeof sv);
    RBM_OKAY(ctx, rbm_archive_spectrum_info(a, 2, &step, &n));
    assert_int_equal(n, 5);
    RBM_OKAY(ctx, rbm_archive_get_spectrum(a, 2, got, 5));
    rbm_assert_close(got[0], 0.75, 1e-13, 0, "s of model 2");
    RBM_CHECK(ctx, rbm_archive_get_spectrum(a, 2, got, 4), RBM_ERR_SHAPE);
    char cfg[64];
    size_t len;
    RBM_OKAY(ctx, rbm_archive_get_config(a, cfg, sizeof cfg, &len));
    assert_string_equal(cfg, "estimator=pcd\nk=10\n");
    assert_int_equal(len, strlen(cfg));
    RBM_OKAY(ctx, rbm_archive_get_config(a, cfg, 4, &len));
    assert_string_equal(cfg, "est");
    /* read-only */
    RBM_CHECK(ctx, rbm_archive_append_machine(a, m1, 2, 0), RBM_ERR_STATE);
    RBM_CHECK(ctx, rbm_archive_load_machine(a, 2, &back), RBM_ERR_INVALID_ARGUMENT);
    assert_null(back);
    rbm_archive_free(a);
    rbm_machine_free(m1), rbm_machine_free(m2);
    rbm_context_free(ctx);
}

/* Size of the file at path. */
static off_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static void test_every_torn_tail(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = tmp_path("torn.rbma");
    rbm_archive *a = NULL;
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &a));
    rbm_machine *m = rank_one(ctx, 3, 2, 1.0, RBM_UNIT_ISING);
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m, 1, 0));
    rbm_archive_free(a);
    off_t good = file_size(path);
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &a));
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m, 2, 0));
    rbm_archive_free(a);
    off_t full = file_size(path);
    size_t len;
    unsigned char *bytes = rbm_test_read_file(path, &len);
    /* every cut inside the second model and its spectrum record */
    for (off_t cut = good; cut < full; cut++) {
        FILE *f = fopen(path, "wb");
        fwrite(bytes, 1, (size_t)cut, f);
        fclose(f);
        RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a));
        /* the second model survives only with its record complete */
        size_t c = rbm_archive_count(a);
        assert_true(c == 1 || c == 2);
        assert_true(rbm_archive_ignored_bytes(a) <= (uint64_t)(cut - good));
        rbm_machine *back = NULL;
        RBM_OKAY(ctx, rbm_archive_load_machine(a, c - 1, &back));
        assert_same_machine(m, back);
        rbm_machine_free(back);
        rbm_archive_free(a);
    }
    /* a corrupt byte in the first record ends the archive there */
    bytes[40] ^= 0x10;
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, len, f);
    fclose(f);
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a));
    assert_int_equal(rbm_archive_count(a), 0);
    assert_int_equal(rbm_archive_ignored_bytes(a), len - 16);
    rbm_archive_free(a);
    /* append after a torn tail: the tail is cut off, the new record readable */
    f = fopen(path, "wb");
    bytes[40] ^= 0x10;
    fwrite(bytes, 1, (size_t)good + 11, f);
    fclose(f);
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &a));
    assert_int_equal(rbm_archive_ignored_bytes(a), 11);
    assert_int_equal(file_size(path), good);
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m, 3, 1));
    rbm_archive_free(a);
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a));
    assert_int_equal(rbm_archive_count(a), 2);
    uint64_t step;
    RBM_OKAY(ctx, rbm_archive_info(a, 1, &step, NULL));
    assert_int_equal(step, 3);
    rbm_archive_free(a);
    free(bytes);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The machine a child appends at step s: W ~ N(0, 1) with seed s. */
static rbm_machine *machine_at(rbm_context *ctx, uint64_t s)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 40, 30, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 1.0, s));
    return m;
}

static void test_kill9_while_appending(void **state)
{
    (void)state;
    const char *path = tmp_path("kill9.rbma");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        rbm_context *c = NULL;
        rbm_archive *a = NULL;
        if (rbm_context_new(&c) != RBM_OK || rbm_archive_open(c, path, RBM_ARCHIVE_APPEND, &a))
            _exit(3);
        for (uint64_t s = 1;; s++) {
            rbm_machine *m = machine_at(c, s);
            if (rbm_archive_append_machine(a, m, s, (double)s))
                _exit(4);
            rbm_machine_free(m);
        }
    }
    /* let it append a while, then kill it wherever it is */
    rbm_context *ctx = rbm_test_context();
    struct timespec ts = {0, 20 * 1000 * 1000};
    rbm_archive *a = NULL;
    for (int i = 0; i < 500; i++) {
        nanosleep(&ts, NULL);
        if (rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a) == RBM_OK) {
            size_t c = rbm_archive_count(a);
            rbm_archive_free(a);
            if (c >= 5)
                break;
        }
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &a));
    size_t n = rbm_archive_count(a);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        uint64_t step;
        RBM_OKAY(ctx, rbm_archive_info(a, i, &step, NULL));
        assert_int_equal(step, i + 1);
        rbm_machine *back = NULL, *want = machine_at(ctx, step);
        RBM_OKAY(ctx, rbm_archive_load_machine(a, i, &back));
        assert_same_machine(want, back);
        rbm_machine_free(back), rbm_machine_free(want);
    }
    /* and the archive takes more (the resumed run's models) */
    rbm_machine *m = machine_at(ctx, 1000);
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m, 1000, 1.0));
    rbm_archive_free(a);
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a));
    assert_int_equal(rbm_archive_count(a), n + 1);
    assert_int_equal(rbm_archive_ignored_bytes(a), 0);
    rbm_archive_free(a);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_hostile_and_lock(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_archive *a = (rbm_archive *)1;
    const char *path = tmp_path("hostile.rbma");
    FILE *f = fopen(path, "wb");
    fputs("RBMARCH2 not really", f);
    fclose(f);
    RBM_CHECK(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a), RBM_ERR_BAD_FORMAT);
    assert_null(a);
    assert_non_null(strstr(rbm_context_last_error(ctx), "not a librbm training archive"));
    RBM_CHECK(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &a), RBM_ERR_BAD_FORMAT);
    assert_int_equal(file_size(path), 19); /* untouched */
    RBM_CHECK(ctx, rbm_archive_open(ctx, tmpdir, RBM_ARCHIVE_APPEND, &a), RBM_ERR_IO);
    RBM_CHECK(ctx, rbm_archive_open(ctx, tmp_path("missing"), RBM_ARCHIVE_READ, &a), RBM_ERR_IO);
    RBM_CHECK(ctx, rbm_archive_open(ctx, path, 8, &a), RBM_ERR_INVALID_ARGUMENT);
    /* a record with a valid CRC but inconsistent sizes: refused, not trusted */
    const char *p2 = tmp_path("sizes.rbma");
    RBM_OKAY(ctx, rbm_archive_open(ctx, p2, RBM_ARCHIVE_APPEND, &a));
    rbm_machine *m = rank_one(ctx, 3, 2, 1.0, RBM_UNIT_BERNOULLI);
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m, 1, 0));
    rbm_archive_free(a);
    size_t len;
    unsigned char *b = rbm_test_read_file(p2, &len);
    b[16 + 16 + 32] = 200; /* nv of the model record */
    uint32_t crc = rbm_test_crc32(0, b + 16, 16 + 64 + 8 * 11);
    for (int i = 0; i < 4; i++)
        b[16 + 16 + 64 + 8 * 11 + i] = (unsigned char)(crc >> (8 * i));
    f = fopen(p2, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
    RBM_CHECK(ctx, rbm_archive_open(ctx, p2, RBM_ARCHIVE_READ, &a), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "inconsistent sizes"));
    /* a second appender (another process) is refused while one holds it */
    const char *p3 = tmp_path("locked.rbma");
    RBM_OKAY(ctx, rbm_archive_open(ctx, p3, RBM_ARCHIVE_APPEND, &a));
    pid_t pid = fork();
    if (pid == 0) {
        rbm_context *c = NULL;
        rbm_archive *b2 = NULL;
        rbm_context_new(&c);
        rbm_status st = rbm_archive_open(c, p3, RBM_ARCHIVE_APPEND, &b2);
        rbm_status rd = rbm_archive_open(c, p3, RBM_ARCHIVE_READ, &b2);
        _exit(st == RBM_ERR_IO && strstr(rbm_context_last_error(c), "in use") && rd == RBM_OK ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rbm_archive_free(a);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_checkpoint_resumes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 200, 4, 2, 12, 0.1, RBM_UNIT_BERNOULLI, 3, &d));
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 12, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.01, 9));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, d, 20, 17, &t));
    for (int i = 0; i < 15; i++)
        assert_true(rbm_trainer_step(t) <= RBM_DONE);
    const char *path = tmp_path("ckpt.rbma");
    rbm_archive *a = NULL;
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &a));
    uint64_t step = 99;
    assert_int_equal(rbm_archive_checkpoint_count(a, &step), 0);
    assert_int_equal(step, 0);
    RBM_CHECK(ctx, rbm_archive_extract_checkpoint(a, tmp_path("x.ckpt")), RBM_ERR_STATE);
    RBM_OKAY(ctx, rbm_archive_append_machine(a, m, 15, 0.1));
    RBM_OKAY(ctx, rbm_archive_append_checkpoint(a, t));
    rbm_archive_free(a);
    RBM_OKAY(ctx, rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a));
    assert_int_equal(rbm_archive_checkpoint_count(a, &step), 1);
    assert_int_equal(step, 15);
    RBM_OKAY(ctx, rbm_archive_extract_checkpoint(a, tmp_path("x.ckpt")));
    rbm_archive_free(a);
    rbm_machine *m2 = NULL;
    rbm_trainer *t2 = NULL;
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, tmp_path("x.ckpt"), d, &m2, &t2));
    for (int i = 0; i < 12; i++) {
        assert_true(rbm_trainer_step(t) <= RBM_DONE);
        assert_true(rbm_trainer_step(t2) <= RBM_DONE);
    }
    assert_same_machine(m, m2); /* the resumed run continues bit for bit */
    /* no temporary left beside the archive */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.ckpt-%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    rbm_trainer_free(t2), rbm_machine_free(m2);
    rbm_trainer_free(t), rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_log_schedule(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    uint64_t s[16];
    size_t n;
    /* the checkpoints of the rbms 0.2.1 fixture (300 updates, 6 saves) */
    RBM_OKAY(ctx, rbm_archive_log_schedule(ctx, 300, 6, s, 16, &n));
    const uint64_t want[6] = {1, 3, 9, 30, 95, 300};
    assert_int_equal(n, 6);
    assert_memory_equal(s, want, sizeof want);
    /* duplicates of small totals collapse */
    RBM_OKAY(ctx, rbm_archive_log_schedule(ctx, 3, 10, s, 16, &n));
    assert_int_equal(n, 3);
    assert_true(s[0] == 1 && s[1] == 2 && s[2] == 3);
    RBM_OKAY(ctx, rbm_archive_log_schedule(ctx, 100000, 11, NULL, 0, &n));
    assert_int_equal(n, 11);
    RBM_CHECK(ctx, rbm_archive_log_schedule(ctx, 0, 6, s, 16, &n), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_archive_log_schedule(ctx, 10, 1, s, 16, &n), RBM_ERR_INVALID_ARGUMENT);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_every_torn_tail),
        cmocka_unit_test(test_kill9_while_appending),
        cmocka_unit_test(test_hostile_and_lock),
        cmocka_unit_test(test_checkpoint_resumes),
        cmocka_unit_test(test_log_schedule),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
