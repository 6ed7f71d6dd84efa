/* librbm — file_out: atomic replacement of an output file. */
#include "core/file_out.h"

#include "core/bytes.h"
#include "core/seed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

rbm_status rbm__io_fail(rbm_context *ctx, int err, const char *what, const char *path)
{
    char msg[160];
    rbm__errno_text(err, msg, sizeof msg);
    return rbm__fail(ctx, RBM_ERR_IO, "%s '%s': %s", what, path, msg);
}

/* Open a new file "<path>.tmp.XXXXXX" exclusively (mode 0666 less the umask).
 * Returns the descriptor, or -1 with *err set. */
static int create_temp(const char *path, char *tmp, size_t cap, int *err)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)getpid() * 0x9E3779B97F4A7C15u ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 64; attempt++) {
        uint64_t z = rbm__seed_mix(x, (uint64_t)attempt + 1);
        char suffix[7];
        for (int i = 0; i < 6; i++) {
            suffix[i] = alphabet[z % (sizeof alphabet - 1)];
            z /= sizeof alphabet - 1;
        }
        suffix[6] = '\0';
        snprintf(tmp, cap, "%s.tmp.%s", path, suffix);
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

/* Make the rename durable: fsync the directory holding path (best effort). */
static void sync_parent_dir(const char *path)
{
    char dir[RBM__PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t len = (size_t)(slash - path);
        if (len >= sizeof dir)
            return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
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
    w->tmp[0] = '\0';
    if (!*path)
        return rbm__io_fail(ctx, ENOENT, "cannot save to", path);
    if (strlen(path) + sizeof ".tmp.XXXXXX" > sizeof w->tmp)
        return rbm__io_fail(ctx, ENAMETOOLONG, "cannot save to", path);
    int err = 0;
    w->fd = create_temp(path, w->tmp, sizeof w->tmp, &err);
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
    if (!err && rename(w->tmp, path) != 0) {
        err = errno;
        what = "cannot rename temporary file over";
    }
    if (err) {
        unlink(w->tmp);
        return rbm__io_fail(ctx, err, what, path);
    }
    sync_parent_dir(path);
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
