/* librbm — file_out: an output file replaced atomically.
 *
 * rbm__fout_open checks the target, removes stale temporaries of it, and
 * creates a temporary exclusively next to it; writes are buffered and latch
 * the first errno (err), so a format writer is a flat sequence of writes;
 * rbm__fout_commit flushes, fsyncs, closes and renames the temporary over
 * the target (then fsyncs the directory, best effort), or on any failure
 * removes the temporary and reports RBM_ERR_IO with the path and the
 * system's reason. Readers of the target therefore see the old file or the
 * complete new one, never a partial file.
 *
 * Targets. Only a regular file is replaced. A directory, FIFO, character or
 * block device or socket at the path is refused (RBM_ERR_IO "cannot save to
 * '<path>': it is a <type>, not a regular file") before anything is
 * created, and again just before the rename. A symbolic link is followed:
 * when it names a regular file, that file (its realpath) is replaced and the
 * link stays; a dangling link, or one naming anything else, is refused.
 *
 * Temporaries are named "<target>.rbm-tmp.<pid>.<six of [A-Za-z0-9]>"
 * (pid: decimal, of the saving process) in the target's directory. A save
 * first removes the temporaries of its own target left by processes that no
 * longer exist (kill(pid, 0) fails with ESRCH): only names of exactly this
 * form, for exactly this target, in that directory; a temporary whose pid is
 * alive (or not ours to signal) is kept. Pids are of this host's pid
 * namespace: a directory shared between hosts or pid namespaces may see a
 * live writer's temporary removed, and that writer's save then fails with
 * RBM_ERR_IO (its target is untouched). */
#ifndef RBM_CORE_FILE_OUT_H
#define RBM_CORE_FILE_OUT_H

#include "core/internal.h"

enum { RBM__FOUT_CHUNK = 8192, RBM__PATH_MAX = 4096 };

#define RBM__TMP_MARK ".rbm-tmp."

typedef struct rbm__fout {
    int fd;          /* the temporary, -1 when not open */
    int err;         /* errno of the first failure, 0 while all is well */
    uint64_t off;    /* file offset of buf[0] */
    size_t n;        /* bytes pending in buf */
    char target[RBM__PATH_MAX];   /* the file replaced (path, or a link's realpath) */
    char tmp[RBM__PATH_MAX + 40]; /* name of the temporary */
    unsigned char buf[RBM__FOUT_CHUNK];
} rbm__fout;

/* Start replacing path. On failure (empty or over-long path, a target that
 * is not a regular file, directory not writable, ...) returns RBM_ERR_IO
 * with the path and the reason in ctx, and w is not open. */
rbm_status rbm__fout_open(rbm_context *ctx, const char *path, rbm__fout *w);
/* Append n bytes (buffered). */
void rbm__fout_write(rbm__fout *w, const void *p, size_t n);
/* Offset at which the next rbm__fout_write lands. */
static inline uint64_t rbm__fout_tell(const rbm__fout *w)
{
    return w->off + w->n;
}
/* Overwrite n bytes already written at offset at (flushes first). */
void rbm__fout_patch(rbm__fout *w, const void *p, size_t n, uint64_t at);
/* Finish: on success the file at path (w->target) is the new content.
 * Always closes w and leaves no temporary behind. path names the target in
 * messages. */
rbm_status rbm__fout_commit(rbm_context *ctx, rbm__fout *w, const char *path);
/* Give up: close and remove the temporary (the target is untouched). */
void rbm__fout_abort(rbm__fout *w);

/* Remove the stale temporaries of target (see above); returns how many were
 * removed. Best effort: unreadable directories are skipped. */
size_t rbm__fout_remove_stale(const char *target);

/* RBM_ERR_IO "<what> '<path>': <strerror(err)>" into ctx. */
rbm_status rbm__io_fail(rbm_context *ctx, int err, const char *what, const char *path);

#endif /* RBM_CORE_FILE_OUT_H */
