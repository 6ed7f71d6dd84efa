/* librbm — file_out: an output file replaced atomically.
 *
 * rbm__fout_open creates "<path>.tmp.XXXXXX" exclusively next to the target;
 * writes are buffered and latch the first errno (err), so a format writer is
 * a flat sequence of writes; rbm__fout_commit flushes, fsyncs, closes and
 * renames the temporary over the target (then fsyncs the directory), or on
 * any failure removes the temporary and reports RBM_ERR_IO with the path and
 * the system's reason. Readers of the target therefore see the old file or
 * the complete new one, never a partial file. */
#ifndef RBM_CORE_FILE_OUT_H
#define RBM_CORE_FILE_OUT_H

#include "core/internal.h"

enum { RBM__FOUT_CHUNK = 8192, RBM__PATH_MAX = 4096 };

typedef struct rbm__fout {
    int fd;          /* the temporary, -1 when not open */
    int err;         /* errno of the first failure, 0 while all is well */
    uint64_t off;    /* file offset of buf[0] */
    size_t n;        /* bytes pending in buf */
    char tmp[RBM__PATH_MAX + 16]; /* name of the temporary */
    unsigned char buf[RBM__FOUT_CHUNK];
} rbm__fout;

/* Start replacing path. On failure (empty or over-long path, directory not
 * writable, ...) returns RBM_ERR_IO with "cannot create temporary file for
 * '<path>': <reason>" in ctx, and w is not open. */
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
/* Finish: on success the file at path is the new content. Always closes w
 * and leaves no temporary behind. */
rbm_status rbm__fout_commit(rbm_context *ctx, rbm__fout *w, const char *path);
/* Give up: close and remove the temporary (the target is untouched). */
void rbm__fout_abort(rbm__fout *w);

/* RBM_ERR_IO "<what> '<path>': <strerror(err)>" into ctx. */
rbm_status rbm__io_fail(rbm_context *ctx, int err, const char *what, const char *path);

#endif /* RBM_CORE_FILE_OUT_H */
