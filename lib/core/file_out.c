/* librbm — file_out: atomic replacement of an output file. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "core/file_in.h"
#include "core/file_out.h"

#include "core/bytes.h"
#include "core/seed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char tmp_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

rbm_status rbm__io_fail(rbm_context *ctx, int err, const char *what, const char *path)
{
    char msg[160];
    rbm__errno_text(err, msg, sizeof msg);
    return rbm__fail(ctx, RBM_ERR_IO, "%s '%s': %s", what, path, msg);
}

/* Decide what saving to path replaces: path itself (absent or a regular
 * file) or the regular file a symbolic link at path names (its realpath),
 * into target. Anything else is refused with RBM_ERR_IO. */
static rbm_status resolve_target(rbm_context *ctx, const char *path, char *target, size_t cap)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno != ENOENT)
            return rbm__io_fail(ctx, errno, "cannot save to", path);
        snprintf(target, cap, "%s", path); /* a new file (or its directory is missing) */
        return RBM_OK;
    }
    if (S_ISREG(sb.st_mode)) {
        snprintf(target, cap, "%s", path);
        return RBM_OK;
    }
    if (!S_ISLNK(sb.st_mode))
        return rbm__fail(ctx, RBM_ERR_IO,
                         "cannot save to '%s': it is a %s, not a regular file (only a "
                         "regular file is replaced)",
                         path, rbm__file_type_name((unsigned)sb.st_mode));
    if (stat(path, &sb) != 0)
        return rbm__fail(ctx, RBM_ERR_IO,
                         "cannot save to '%s': it is a symbolic link to a missing file (only a "
                         "regular file, or a link to one, is replaced)",
                         path);
    if (!S_ISREG(sb.st_mode))
        return rbm__fail(ctx, RBM_ERR_IO,
                         "cannot save to '%s': it is a symbolic link to a %s, not to a regular "
                         "file (only a regular file is replaced)",
                         path, rbm__file_type_name((unsigned)sb.st_mode));
    char real[PATH_MAX];
    if (!realpath(path, real))
        return rbm__io_fail(ctx, errno, "cannot resolve the symbolic link", path);
    if (strlen(real) >= cap)
        return rbm__io_fail(ctx, ENAMETOOLONG, "cannot save to", path);
    snprintf(target, cap, "%s", real);
    return RBM_OK;
}

/* Split target into its directory (into dir) and its last component. */
static const char *split_dir(const char *target, char *dir, size_t cap)
{
    const char *slash = strrchr(target, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        return target;
    }
    if (slash == target) {
        snprintf(dir, cap, "/");
        return slash + 1;
    }
    size_t len = (size_t)(slash - target);
    if (len >= cap)
        return NULL;
    memcpy(dir, target, len);
    dir[len] = '\0';
    return slash + 1;
}

/* The pid in name when name is exactly "<base>.rbm-tmp.<pid>.<6 alnum>",
 * else 0. */
static long temp_pid(const char *name, const char *base)
{
    size_t bl = strlen(base), ml = sizeof RBM__TMP_MARK - 1;
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, RBM__TMP_MARK, ml) != 0)
        return 0;
    const char *p = name + bl + ml;
    long pid = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 10) {
        pid = pid * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || name[bl + ml] == '0' || *p != '.')
        return 0;
    p++;
    for (int i = 0; i < 6; i++)
        if (!p[i] || !strchr(tmp_alphabet, p[i]))
            return 0;
    return p[6] == '\0' && pid <= INT_MAX ? pid : 0;
}

size_t rbm__fout_remove_stale(const char *target)
{
    char dir[RBM__PATH_MAX];
    const char *base = split_dir(target, dir, sizeof dir);
    if (!base || !*base)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = temp_pid(e->d_name, base);
        if (pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or not ours to signal: keep */
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

/* Open a new file "<target>.rbm-tmp.<pid>.XXXXXX" exclusively (mode 0666
 * less the umask). Returns the descriptor, or -1 with *err set. */
static int create_temp(const char *target, char *tmp, size_t cap, int *err)
{
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    long pid = (long)getpid();
    uint64_t x = (uint64_t)pid * 0x9E3779B97F4A7C15u ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 64; attempt++) {
        uint64_t z = rbm__seed_mix(x, (uint64_t)attempt + 1);
        char suffix[7];
        for (int i = 0; i < 6; i++) {
            suffix[i] = tmp_alphabet[z % (sizeof tmp_alphabet - 1)];
            z /= sizeof tmp_alphabet - 1;
        }
        suffix[6] = '\0';
        snprintf(tmp, cap, "%s" RBM__TMP_MARK "%ld.%s", target, pid, suffix);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            *err = errno;
            return -1;
        }
    }
    *err = EEXIST;
    return -1;
}

/* Make the rename durable: fsync the directory holding target (best
 * effort: the new file is in place whatever this returns). */
static void sync_parent_dir(const char *target)
{
    char dir[RBM__PATH_MAX];
    if (!split_dir(target, dir, sizeof dir))
        return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fsync(fd);
    close(fd);
}

rbm_status rbm__fout_open(rbm_context *ctx, const char *path, rbm__fout *w)
{
    w->fd = -1;
    w->err = 0;
    w->off = 0;
    w->n = 0;
    w->target[0] = '\0';
    w->tmp[0] = '\0';
    if (!*path)
        return rbm__io_fail(ctx, ENOENT, "cannot save to", path);
    if (strlen(path) >= sizeof w->target)
        return rbm__io_fail(ctx, ENAMETOOLONG, "cannot save to", path);
    rbm_status st = resolve_target(ctx, path, w->target, sizeof w->target);
    if (st != RBM_OK)
        return st;
    size_t stale = rbm__fout_remove_stale(w->target);
    if (stale > 0)
        rbm__log(ctx, RBM_LOG_INFO, "removed %zu stale temporar%s of '%s'", stale,
                 stale == 1 ? "y" : "ies", path);
    int err = 0;
    w->fd = create_temp(w->target, w->tmp, sizeof w->tmp, &err);
    if (w->fd < 0)
        return rbm__io_fail(ctx, err, "cannot create temporary file for", path);
    return RBM_OK;
}
static void fout_flush(rbm__fout *w)
{
    size_t done = 0;
    while (w->err == 0 && done < w->n) {
        ssize_t k = write(w->fd, w->buf + done, w->n - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
        } else if (k == 0) {
            w->err = EIO;
        } else {
            done += (size_t)k;
        }
    }
    w->off += w->n;
    w->n = 0;
}

void rbm__fout_write(rbm__fout *w, const void *p, size_t n)
{
    const unsigned char *q = p;
    while (n > 0 && w->err == 0) {
        size_t room = sizeof w->buf - w->n;
        size_t take = n < room ? n : room;
        memcpy(w->buf + w->n, q, take);
        w->n += take;
        q += take;
        n -= take;
        if (w->n == sizeof w->buf)
            fout_flush(w);
    }
}

void rbm__fout_patch(rbm__fout *w, const void *p, size_t n, uint64_t at)
{
    fout_flush(w);
    if (w->err)
        return;
    for (;;) {
        ssize_t k = pwrite(w->fd, p, n, (off_t)at);
        if (k == (ssize_t)n)
            return;
        if (k < 0 && errno == EINTR)
            continue;
        w->err = k < 0 ? errno : EIO;
        return;
    }
}

rbm_status rbm__fout_commit(rbm_context *ctx, rbm__fout *w, const char *path)
{
    fout_flush(w);
    int err = w->err;
    const char *what = "cannot write";
    if (!err && fsync(w->fd) != 0) {
        err = errno;
        what = "cannot flush";
    }
    if (close(w->fd) != 0 && !err) {
        err = errno;
        what = "cannot close";
    }
    w->fd = -1;
    if (!err) {
        /* Something may have appeared at the target since open. */
        struct stat sb;
        if (lstat(w->target, &sb) == 0 && !S_ISREG(sb.st_mode)) {
            unlink(w->tmp);
            return rbm__fail(ctx, RBM_ERR_IO,
                             "cannot save to '%s': it is now a %s, not a regular file (only a "
                             "regular file is replaced)",
                             path, rbm__file_type_name((unsigned)sb.st_mode));
        }
    }
    if (!err && rename(w->tmp, w->target) != 0) {
        err = errno;
        what = "cannot rename temporary file over";
    }
    if (err) {
        unlink(w->tmp);
        return rbm__io_fail(ctx, err, what, path);
    }
    sync_parent_dir(w->target);
    return RBM_OK;
}

void rbm__fout_abort(rbm__fout *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
    }
    w->fd = -1;
}
