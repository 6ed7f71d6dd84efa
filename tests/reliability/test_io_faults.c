/* test_io_faults.c — every save path (model, checkpoint, NPY) against an
 * injected failure of each system call it makes.
 *
 * Runs under LD_PRELOAD of fault_shim.c (tests/meson.build), which makes the
 * k-th open/write/pwrite/fsync/close/rename after rbm_fault_arm fail with
 * ENOSPC or EIO. For every k through a save of new content over an old file:
 * a failure before the rename returns RBM_ERR_IO with a message naming the
 * target and the system's reason, and the old file is byte-identical; a
 * failure after the rename (the directory's fsync, best effort) returns
 * RBM_OK with the new content; in every case the directory holds the target
 * only (no temporary). The loop ends at the first k the save does not reach,
 * so every call of the save is failed once. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static void (*fault_arm)(long, int);
static long (*fault_disarm)(void);
static const char *(*fault_hit)(void);
static int (*fault_renamed)(void);
static const char *(*fault_created)(void);

static int find_shim(void **state)
{
    (void)state;
    *(void **)&fault_arm = dlsym(RTLD_DEFAULT, "rbm_fault_arm");
    *(void **)&fault_disarm = dlsym(RTLD_DEFAULT, "rbm_fault_disarm");
    *(void **)&fault_hit = dlsym(RTLD_DEFAULT, "rbm_fault_hit");
    *(void **)&fault_renamed = dlsym(RTLD_DEFAULT, "rbm_fault_renamed");
    *(void **)&fault_created = dlsym(RTLD_DEFAULT, "rbm_fault_created");
    if (!fault_arm || !fault_disarm || !fault_hit || !fault_renamed || !fault_created) {
        fprintf(stderr, "test_io_faults must run with LD_PRELOAD=librbm_fault_shim.so\n");
        return -1;
    }
    return 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    tbuf b = {0};
    unsigned char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        tbuf_put(&b, chunk, k);
    fclose(f);
    *len = b.n;
    return b.p;
}

static void assert_content(const char *path, const unsigned char *want, size_t n, const char *what)
{
    size_t len = 0;
    unsigned char *got = slurp(path, &len);
    if (len != n || memcmp(got, want, n) != 0)
        fail_msg("%s: '%s' differs (%zu bytes, expected %zu)", what, path, len, n);
    free(got);
}

/* Entries of dir other than ".", ".." and keep. */
static int stray_entries(const char *dir, const char *keep, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, keep))
            continue;
        if (n++ == 0)
            snprintf(first, cap, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* What is saved: an old and a new object of one kind. */
typedef rbm_status (*save_fn)(const void *obj, const char *path);

static rbm_status save_model(const void *m, const char *p)
{
    return rbm_machine_save(m, p);
}
static rbm_status save_ckpt(const void *t, const char *p)
{
    return rbm_trainer_save_checkpoint(t, p);
}
static rbm_status save_npy(const void *d, const char *p)
{
    return rbm_dataset_save_npy(d, p);
}

/* The failure loop for one kind and one errno; returns the number of
 * failure points (calls the save makes). */
static long fault_loop(rbm_context *ctx, const char *kind, save_fn save, const void *old_obj,
                       const void *new_obj, int err)
{
    char dir[] = "/tmp/rbm-faults.XXXXXX", refdir[] = "/tmp/rbm-faults-ref.XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(refdir));
    char target[256], ref_old[256], ref_new[256];
    snprintf(target, sizeof target, "%s/target.bin", dir);
    snprintf(ref_old, sizeof ref_old, "%s/old.bin", refdir);
    snprintf(ref_new, sizeof ref_new, "%s/new.bin", refdir);
    RBM_OKAY(ctx, save(old_obj, ref_old));
    RBM_OKAY(ctx, save(new_obj, ref_new));
    size_t n_old, n_new;
    unsigned char *old_b = slurp(ref_old, &n_old), *new_b = slurp(ref_new, &n_new);
    assert_true(n_old != n_new || memcmp(old_b, new_b, n_old) != 0);

    char reason[128];
    snprintf(reason, sizeof reason, "%s", strerror(err));
    long k, after_rename = 0;
    char ops[128] = "";
    for (k = 1;; k++) {
        RBM_OKAY(ctx, save(old_obj, target));
        assert_content(target, old_b, n_old, "restored old file");
        fault_arm(k, err);
        rbm_status st = save(new_obj, target);
        fault_disarm();
        const char *hit = fault_hit();
        char stray[256] = "";
        if (stray_entries(dir, "target.bin", stray, sizeof stray) != 0)
            fail_msg("%s, %s at call %ld (%s): '%s' left in the directory", kind, reason, k,
                     hit ? hit : "none", stray);
        if (!hit) { /* the save made fewer than k calls: done */
            RBM_OKAY(ctx, st);
            assert_content(target, new_b, n_new, "save without a failure");
            break;
        }
        if (!strstr(ops, hit) && strlen(ops) + strlen(hit) + 2 < sizeof ops) {
            strcat(ops, *ops ? " " : "");
            strcat(ops, hit);
        }
        if (fault_renamed()) { /* past the point of no return: the new file is in place */
            after_rename++;
            RBM_OKAY(ctx, st);
            assert_content(target, new_b, n_new, "failure after the rename");
            continue;
        }
        if (st != RBM_ERR_IO)
            fail_msg("%s, %s at call %ld (%s): returned %s (%s)", kind, reason, k, hit,
                     rbm_status_name(st), rbm_context_last_error(ctx));
        const char *msg = rbm_context_last_error(ctx);
        if (!strstr(msg, target) || !strstr(msg, reason))
            fail_msg("%s, %s at call %ld (%s): message '%s' lacks the path or the reason", kind,
                     reason, k, hit, msg);
        assert_content(target, old_b, n_old, "old file after a failed save");
    }
    long points = k - 1;
    /* the temporary follows the documented pattern */
    const char *created = fault_created();
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s.rbm-tmp.%ld.", target, (long)getpid());
    if (strncmp(created, prefix, strlen(prefix)) != 0 || strlen(created) != strlen(prefix) + 6)
        fail_msg("%s: temporary '%s' is not '%sXXXXXX'", kind, created, prefix);
    printf("# %s, %s: %ld failure points (%ld after the rename), calls failed: %s\n", kind,
           reason, points, after_rename, ops);
    assert_true(strstr(ops, "open") && strstr(ops, "write") && strstr(ops, "fsync") &&
                strstr(ops, "close") && strstr(ops, "rename"));
    free(old_b);
    free(new_b);
    unlink(target);
    unlink(ref_old);
    unlink(ref_new);
    rmdir(dir);
    rmdir(refdir);
    return points;
}

static long total_points;

static rbm_machine *model(rbm_context *ctx, uint64_t seed)
{
    rbm_machine *m = NULL;
    /* 64 x 40 doubles: more than one 8 KiB write */
    RBM_OKAY(ctx, rbm_machine_new(ctx, 64, 40, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, seed));
    return m;
}

static void test_model_save(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *a = model(ctx, 1), *b = model(ctx, 2);
    int errs[] = {ENOSPC, EIO};
    for (int i = 0; i < 2; i++)
        total_points += fault_loop(ctx, "model save", save_model, a, b, errs[i]);
    rbm_machine_free(a);
    rbm_machine_free(b);
    rbm_context_free(ctx);
}

static void test_checkpoint_save(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 200, 0, 0, 64, 0.1, RBM_UNIT_BERNOULLI, 3, &d));
    rbm_machine *m = model(ctx, 4);
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, d, 20, 5, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 1));
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, 1));
    /* the old content: a checkpoint after epoch 1, in a file of its own */
    char old_path[] = "/tmp/rbm-faults-old.XXXXXX";
    int fd = mkstemp(old_path);
    assert_true(fd >= 0);
    close(fd);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, old_path));
    rbm_machine *m1 = NULL;
    rbm_trainer *t1 = NULL;
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, old_path, d, &m1, &t1));
    unlink(old_path);
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, 1));
    int errs[] = {ENOSPC, EIO};
    for (int i = 0; i < 2; i++)
        total_points += fault_loop(ctx, "checkpoint save", save_ckpt, t1, t, errs[i]);
    rbm_trainer_free(t1);
    rbm_machine_free(m1);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_npy_save(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *a = NULL, *b = NULL;
    /* 150 x 64 doubles: ten 8 KiB writes */
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 150, 0, 0, 64, 0.1, RBM_UNIT_BERNOULLI, 1, &a));
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 150, 0, 0, 64, 0.1, RBM_UNIT_BERNOULLI, 2, &b));
    int errs[] = {ENOSPC, EIO};
    for (int i = 0; i < 2; i++)
        total_points += fault_loop(ctx, "NPY save", save_npy, a, b, errs[i]);
    rbm_dataset_free(a);
    rbm_dataset_free(b);
    rbm_context_free(ctx);
}

static int report(void **state)
{
    (void)state;
    printf("# %ld injected failure points in all\n", total_points);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_save),
        cmocka_unit_test(test_checkpoint_save),
        cmocka_unit_test(test_npy_save),
    };
    return cmocka_run_group_tests(tests, find_shim, report);
}
