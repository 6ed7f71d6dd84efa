/* Tests for what a save may replace and what it leaves behind, for every
 * save path (rbm_machine_save, rbm_trainer_save_checkpoint,
 * rbm_dataset_save_npy, rbm_mode_tracker_write_csv):
 *  - a target that exists and is not a regular file (FIFO, directory,
 *    socket, character device made with mknod in a scratch directory when
 *    root, a symbolic link to one of these, a dangling link) is refused with
 *    RBM_ERR_IO naming it and its type, and is still there afterwards;
 *  - a symbolic link to a regular file is followed (the file gets the new
 *    content, the link stays a link);
 *  - stale temporaries "<target>.rbm-tmp.<pid>.XXXXXX" of dead processes
 *    are removed by the next save to that target, live ones and look-alikes
 *    are kept;
 *  - a read-only (0555) or untraversable directory gives RBM_ERR_IO with
 *    EACCES's reason, the old file intact and no temporary (as root, in a
 *    child that has dropped to uid/gid 65534, since root ignores modes). */
#define _XOPEN_SOURCE 700 /* mknod, S_IFMT */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/rbm-test-file-out-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read '%s': %s", path, strerror(errno));
    tbuf b = {0};
    unsigned char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        tbuf_put(&b, chunk, k);
    fclose(f);
    *len = b.n;
    return b.p;
}

/* Names in g_dir containing part. */
static int count_names(const char *part)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

/* ---- the objects saved ---- */

typedef struct objs {
    rbm_context *ctx;
    rbm_dataset *data;
    rbm_machine *m, *m2;
    rbm_trainer *t;
    rbm_mode_tracker *tracker;
} objs;

static void objs_make(objs *o)
{
    o->ctx = rbm_test_context();
    rbm_context *ctx = o->ctx;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 60, 0, 0, 10, 0.1, RBM_UNIT_BERNOULLI, 3, &o->data));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 10, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &o->m));
    RBM_OKAY(ctx, rbm_machine_init_normal(o->m, 0.1, 1));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 10, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &o->m2));
    RBM_OKAY(ctx, rbm_machine_init_normal(o->m2, 0.1, 2));
    RBM_OKAY(ctx, rbm_trainer_new(o->m2, o->data, 20, 5, &o->t));
    RBM_OKAY(ctx, rbm_mode_tracker_new(o->m, 4, &o->tracker));
    RBM_OKAY(ctx, rbm_mode_tracker_record(o->tracker, 0));
}

static void objs_free(objs *o)
{
    rbm_mode_tracker_free(o->tracker);
    rbm_trainer_free(o->t);
    rbm_machine_free(o->m2);
    rbm_machine_free(o->m);
    rbm_dataset_free(o->data);
    rbm_context_free(o->ctx);
}

enum { SAVE_MODEL, SAVE_CKPT, SAVE_NPY, SAVE_CSV, N_SAVES };
static const char *const save_names[N_SAVES] = {"rbm_machine_save", "rbm_trainer_save_checkpoint",
                                                "rbm_dataset_save_npy",
                                                "rbm_mode_tracker_write_csv"};

static rbm_status save_kind(const objs *o, int kind, const char *path)
{
    switch (kind) {
    case SAVE_MODEL:
        return rbm_machine_save(o->m, path);
    case SAVE_CKPT:
        return rbm_trainer_save_checkpoint(o->t, path);
    case SAVE_NPY:
        return rbm_dataset_save_npy(o->data, path);
    default:
        return rbm_mode_tracker_write_csv(o->tracker, path);
    }
}

/* Every save to path is refused with RBM_ERR_IO naming path and type, and
 * path keeps its file type (mode bits of lstat). */
static void expect_refused(const objs *o, const char *path, const char *type)
{
    struct stat before, after;
    assert_int_equal(lstat(path, &before), 0);
    for (int kind = 0; kind < N_SAVES; kind++) {
        rbm_status st = save_kind(o, kind, path);
        const char *msg = rbm_context_last_error(o->ctx);
        if (st != RBM_ERR_IO)
            fail_msg("%s to a %s: %s (%s), expected RBM_ERR_IO", save_names[kind], type,
                     rbm_status_name(st), msg);
        if (!strstr(msg, path) || !strstr(msg, type))
            fail_msg("%s to a %s: message '%s' lacks the path or the type", save_names[kind],
                     type, msg);
        assert_int_equal(lstat(path, &after), 0);
        if ((after.st_mode & S_IFMT) != (before.st_mode & S_IFMT) || after.st_ino != before.st_ino)
            fail_msg("%s replaced the %s '%s'", save_names[kind], type, path);
    }
    assert_int_equal(count_names(".rbm-tmp."), 0);
}

static void test_non_regular_targets_refused(void **state)
{
    (void)state;
    objs o;
    objs_make(&o);
    char p[400], q[400];

    path_in(p, sizeof p, "fifo");
    assert_int_equal(mkfifo(p, 0644), 0);
    expect_refused(&o, p, "FIFO");

    path_in(p, sizeof p, "dir");
    assert_int_equal(mkdir(p, 0755), 0);
    expect_refused(&o, p, "directory");

    path_in(p, sizeof p, "sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(p) < sizeof sa.sun_path);
    memcpy(sa.sun_path, p, strlen(p) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    expect_refused(&o, p, "socket");
    close(s);

    path_in(p, sizeof p, "null");
    if (geteuid() == 0 && mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        expect_refused(&o, p, "character device");
    } else {
        printf("# character device: skipped (mknod needs root; euid %d)\n", (int)geteuid());
    }

    path_in(p, sizeof p, "link-to-fifo");
    path_in(q, sizeof q, "fifo");
    assert_int_equal(symlink(q, p), 0);
    expect_refused(&o, p, "symbolic link to a FIFO");

    path_in(p, sizeof p, "dangling");
    path_in(q, sizeof q, "missing");
    assert_int_equal(symlink(q, p), 0);
    expect_refused(&o, p, "symbolic link to a missing file");
    assert_int_equal(access(q, F_OK), -1); /* not created through the link either */
    objs_free(&o);
}

static void test_symlink_to_regular_followed(void **state)
{
    (void)state;
    objs o;
    objs_make(&o);
    char file[400], link[400], ref[400];
    path_in(file, sizeof file, "real.bin");
    path_in(link, sizeof link, "link.bin");
    path_in(ref, sizeof ref, "ref.bin");
    assert_int_equal(symlink("real.bin", link), 0); /* relative, as users write them */
    for (int kind = 0; kind < N_SAVES; kind++) {
        FILE *f = fopen(file, "wb");
        assert_non_null(f);
        fputs("old content", f);
        fclose(f);
        RBM_OKAY(o.ctx, save_kind(&o, kind, ref));
        RBM_OKAY(o.ctx, save_kind(&o, kind, link));
        struct stat sb;
        assert_int_equal(lstat(link, &sb), 0);
        if (!S_ISLNK(sb.st_mode))
            fail_msg("%s replaced the link itself", save_names[kind]);
        size_t n1, n2;
        unsigned char *got = slurp(file, &n1), *want = slurp(ref, &n2);
        if (n1 != n2 || memcmp(got, want, n1) != 0)
            fail_msg("%s through a link: the linked file is not the new content",
                     save_names[kind]);
        free(got);
        free(want);
    }
    assert_int_equal(count_names(".rbm-tmp."), 0);
    objs_free(&o);
}

/* A pid that was alive a moment ago and is not now. */
static pid_t dead_pid(void)
{
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0)
        _exit(0);
    int status;
    assert_int_equal(waitpid(c, &status, 0), c);
    assert_int_equal(kill(c, 0), -1);
    assert_int_equal(errno, ESRCH);
    return c;
}

static void touch(const char *name)
{
    char p[500];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("partial", f);
    fclose(f);
}

static int exists(const char *name)
{
    char p[500];
    path_in(p, sizeof p, name);
    return access(p, F_OK) == 0;
}

static void test_stale_temporaries_removed(void **state)
{
    (void)state;
    objs o;
    objs_make(&o);
    char target[400];
    for (int kind = 0; kind < N_SAVES; kind++) {
        path_in(target, sizeof target, "m.out");
        long dead = (long)dead_pid(), live = (long)getppid();
        char stale[80], stale2[80], alive[80], other[80], short6[80], old_style[80], lead0[80];
        snprintf(stale, sizeof stale, "m.out.rbm-tmp.%ld.AbC123", dead);
        snprintf(stale2, sizeof stale2, "m.out.rbm-tmp.%ld.zzzzzz", dead);
        snprintf(alive, sizeof alive, "m.out.rbm-tmp.%ld.XyZ789", live);
        snprintf(other, sizeof other, "n.out.rbm-tmp.%ld.AbC123", dead);  /* another target */
        snprintf(short6, sizeof short6, "m.out.rbm-tmp.%ld.AbC12", dead); /* not the pattern */
        snprintf(old_style, sizeof old_style, "m.out.tmp.AbC123");
        snprintf(lead0, sizeof lead0, "m.out.rbm-tmp.0%ld.AbC123", dead);
        const char *all[] = {stale, stale2, alive, other, short6, old_style, lead0};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            touch(all[i]);
        RBM_OKAY(o.ctx, save_kind(&o, kind, target));
        if (exists(stale) || exists(stale2))
            fail_msg("%s kept a stale temporary of a dead process", save_names[kind]);
        for (size_t i = 2; i < sizeof all / sizeof *all; i++)
            if (!exists(all[i]))
                fail_msg("%s removed '%s', which it must keep", save_names[kind], all[i]);
        for (size_t i = 2; i < sizeof all / sizeof *all; i++) {
            char p[500];
            path_in(p, sizeof p, all[i]);
            unlink(p);
        }
        unlink(target);
    }
    objs_free(&o);
}

/* Save o's model to path in a child running as uid/gid 65534 when root (as
 * ourselves otherwise); *msg gets the detail. */
static rbm_status save_unprivileged(const objs *o, const char *path, char *msg, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(100);
        rbm_status st = rbm_machine_save(o->m, path);
        const char *m = rbm_context_last_error(o->ctx);
        ssize_t w = write(fds[1], m, strlen(m));
        (void)w;
        _exit(st == RBM_ERR_IO ? 1 : st == RBM_OK ? 0 : 2);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], msg, cap - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(c, &status, 0), c);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 100);
    return WEXITSTATUS(status) == 0 ? RBM_OK : WEXITSTATUS(status) == 1 ? RBM_ERR_IO
                                                                         : RBM_ERR_INTERNAL;
}

static void test_permission_denied(void **state)
{
    (void)state;
    objs o;
    objs_make(&o);
    if (geteuid() == 0)
        printf("# running as root: the saves run in a child with uid/gid 65534\n");
    const char *modes[] = {"read-only directory (0555)", "untraversable directory (0000)"};
    mode_t bits[] = {0555, 0000};
    for (int i = 0; i < 2; i++) {
        char sub[400], target[450];
        snprintf(sub, sizeof sub, "%s/ro%d", g_dir, i);
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(target, sizeof target, "%s/model.rbm", sub);
        RBM_OKAY(o.ctx, rbm_machine_save(o.m2, target)); /* the old file */
        size_t n_old;
        unsigned char *old_b = slurp(target, &n_old);
        assert_int_equal(chmod(g_dir, 0755), 0); /* the scratch dir is 0700 (mkdtemp) */
        assert_int_equal(chmod(sub, bits[i]), 0);
        char msg[600];
        rbm_status st = save_unprivileged(&o, target, msg, sizeof msg);
        assert_int_equal(chmod(sub, 0755), 0);
        if (st != RBM_ERR_IO || !strstr(msg, target) || !strstr(msg, strerror(EACCES)))
            fail_msg("save into a %s: %s, '%s' (expected RBM_ERR_IO, the path and '%s')",
                     modes[i], rbm_status_name(st), msg, strerror(EACCES));
        size_t n_now;
        unsigned char *now = slurp(target, &n_now);
        assert_true(n_now == n_old && memcmp(now, old_b, n_old) == 0);
        free(now);
        free(old_b);
        DIR *d = opendir(sub);
        assert_non_null(d);
        struct dirent *e;
        int stray = 0;
        while ((e = readdir(d)) != NULL)
            stray += strstr(e->d_name, ".rbm-tmp.") != NULL;
        closedir(d);
        assert_int_equal(stray, 0);
        printf("# %s: %s\n", modes[i], msg);
    }
    assert_int_equal(chmod(g_dir, 0700), 0);
    objs_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_regular_targets_refused),
        cmocka_unit_test(test_symlink_to_regular_followed),
        cmocka_unit_test(test_stale_temporaries_removed),
        cmocka_unit_test(test_permission_denied),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
