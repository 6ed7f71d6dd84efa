/* fault_shim.c — test-only LD_PRELOAD shim: makes the k-th call of
 * open/write/pwrite/fsync/fdatasync/close/rename fail with a chosen errno.
 *
 * Nothing is counted until the test program arms the shim; the program finds
 * the controls with dlsym(RTLD_DEFAULT, "rbm_fault_arm") and so works only
 * under LD_PRELOAD of this module (tests/meson.build sets it):
 *   rbm_fault_arm(k, err)  count calls from now on; the k-th (1-based) fails
 *                          with errno err (a failed close still closes)
 *   rbm_fault_disarm()     stop counting; returns the number of calls seen
 *   rbm_fault_hit()        name of the call that was made to fail, or NULL
 *   rbm_fault_renamed()    1 when a rename succeeded before the failure
 *   rbm_fault_created()    path of the last file opened with O_CREAT while
 *                          armed ("" if none) */
/* Both the plain and the 64-bit names are defined: the build's
 * _FILE_OFFSET_BITS=64 would rename the plain ones to the 64-bit ones. */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

void rbm_fault_arm(long k, int err);
long rbm_fault_disarm(void);
const char *rbm_fault_hit(void);
int rbm_fault_renamed(void);
const char *rbm_fault_created(void);

static int armed;
static long calls, fail_at;
static int fail_err;
static const char *hit;
static int renamed;
static char created[4200];

void rbm_fault_arm(long k, int err)
{
    calls = 0;
    fail_at = k;
    fail_err = err;
    hit = NULL;
    renamed = 0;
    created[0] = '\0';
    armed = 1;
}

long rbm_fault_disarm(void)
{
    armed = 0;
    return calls;
}

const char *rbm_fault_hit(void)
{
    return hit;
}

int rbm_fault_renamed(void)
{
    return renamed;
}

const char *rbm_fault_created(void)
{
    return created;
}

/* 1 when this call is to fail (errno is then set). */
static int inject(const char *name)
{
    if (!armed)
        return 0;
    if (++calls != fail_at)
        return 0;
    hit = name;
    errno = fail_err;
    return 1;
}

#define REAL(type, name, args) \
    static type(*real_##name) args; \
    if (!real_##name) \
        *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *p, size_t n)
{
    REAL(ssize_t, write, (int, const void *, size_t));
    if (inject("write"))
        return -1;
    return real_write(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t at)
{
    REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
    if (inject("pwrite"))
        return -1;
    return real_pwrite(fd, p, n, at);
}

ssize_t pwrite64(int fd, const void *p, size_t n, off64_t at)
{
    REAL(ssize_t, pwrite64, (int, const void *, size_t, off64_t));
    if (inject("pwrite"))
        return -1;
    return real_pwrite64(fd, p, n, at);
}

int fsync(int fd)
{
    REAL(int, fsync, (int));
    if (inject("fsync"))
        return -1;
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(int, fdatasync, (int));
    if (inject("fdatasync"))
        return -1;
    return real_fdatasync(fd);
}

int close(int fd)
{
    REAL(int, close, (int));
    if (inject("close")) {
        int e = errno;
        real_close(fd); /* Linux: the descriptor is gone even when close fails */
        errno = e;
        return -1;
    }
    return real_close(fd);
}

int rename(const char *from, const char *to)
{
    REAL(int, rename, (const char *, const char *));
    if (inject("rename"))
        return -1;
    int rc = real_rename(from, to);
    if (rc == 0 && armed)
        renamed = 1;
    return rc;
}

static int open_common(const char *name, const char *path, int flags, mode_t mode)
{
    REAL(int, open64, (const char *, int, ...));
    if (inject(name))
        return -1;
    int fd = real_open64(path, flags, mode);
    if (fd >= 0 && armed && (flags & O_CREAT))
        snprintf(created, sizeof created, "%s", path);
    return fd;
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return open_common("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return open_common("open", path, flags, mode);
}
