/* librbm — load: a dataset file by name (rbm_dataset_load), and what the
 * IDX, CSV and NPY readers share: the open prologue, byte order and growing
 * buffers. */
#include "core/bytes.h"
#include "core/file_in.h"
#include "data/alignment_impl.h"
#include "data/load.h"
#include "rbm/alignment.h"

#include <inttypes.h>
#include <stdio.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* shared by the readers                                                     */
/* ------------------------------------------------------------------------ */

rbm_status rbm__data_open(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                          const char *kind, int *fd, struct stat *sb)
{
    if (dsout)
        *dsout = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!dsout || !path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load_%s: %s is NULL", kind,
                         !dsout ? "out" : "path");
    char what[32];
    snprintf(what, sizeof what, "%s file", kind);
    return rbm__fin_open(ctx, path, what, fd, sb);
}

rbm_status rbm__data_open_stream(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                                 const char *kind, FILE **f, struct stat *sb)
{
    int fd;
    rbm_status st = rbm__data_open(ctx, path, dsout, kind, &fd, sb);
    if (st)
        return st;
    *f = fdopen(fd, "rbe");
    if (!*f) {
        char why[128];
        rbm__errno_text(errno, why, sizeof why);
        close(fd);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot open %s file %s: %s", kind, path, why);
    }
    return RBM_OK;
}

rbm_status rbm__data_check_limit(rbm_context *ctx, const char *kind, const char *path,
                                 uint64_t bytes, const char *claim)
{
    uint64_t limit = ctx->max_data_bytes;
    if (limit != 0 && bytes > limit)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "%s file %s: %s is %" PRIu64 " bytes, over the data size limit of %" PRIu64
                         " bytes (rbm_context_set_max_data_bytes)",
                         kind, path, claim, bytes, limit);
    if (bytes > (uint64_t)RBM__DS_MAX_BYTES)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "%s file %s: %s is %" PRIu64 " bytes, more than this process can address",
                         kind, path, claim, bytes);
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* reading through zlib                                                      */
/* ------------------------------------------------------------------------ */

int rbm__gz_read_some(gzFile gz, void *buf, size_t len, size_t *got)
{
    uint8_t *b = buf;
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int n = gzread(gz, b + *got, (unsigned)want);
        if (n < 0) {
            int err = Z_ERRNO;
            gzerror(gz, &err);
            return err == Z_OK ? Z_ERRNO : err;
        }
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return Z_OK;
}

rbm_status rbm__gz_fail(rbm_context *ctx, gzFile gz, int zerr, int saved_errno, const char *kind,
                        const char *path)
{
    char why[128];
    int dummy;
    const char *msg = gzerror(gz, &dummy);
    /* zlib prefixes its message with the name it was given, which for
     * gzdopen is "<fd:N>"; the message names the path instead */
    if (msg && strncmp(msg, "<fd:", 4) == 0) {
        const char *sep = strstr(msg, ">: ");
        if (sep)
            msg = sep + 3;
    }
    switch (zerr) {
    case Z_ERRNO:
        rbm__errno_text(saved_errno, why, sizeof why);
        return rbm__fail(ctx, RBM_ERR_IO, "%s file %s: read failed: %s", kind, path, why);
    case Z_MEM_ERROR:
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "%s file %s: zlib is out of memory", kind, path);
    default:
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "%s file %s: corrupt gzip data: %s", kind, path,
                         msg && *msg ? msg : "unknown zlib error");
    }
}

/* ------------------------------------------------------------------------ */
/* text lines                                                                */
/* ------------------------------------------------------------------------ */

enum { TEXT_FIRST_CAP = 1 << 16 };

rbm_status rbm__text_open(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                          const char *kind, size_t max_line, const char *limit_name,
                          rbm__text_reader *tr)
{
    memset(tr, 0, sizeof *tr);
    int fd;
    struct stat sb;
    rbm_status st = rbm__data_open(ctx, path, dsout, kind, &fd, &sb);
    if (st)
        return st;
    tr->ctx = ctx;
    tr->kind = kind;
    tr->path = path;
    tr->limit_name = limit_name;
    tr->max_line = max_line;
    /* room for the longest line, its newline and the terminating NUL */
    tr->cap = max_line < TEXT_FIRST_CAP ? max_line + 2 : TEXT_FIRST_CAP;
    char what[300];
    snprintf(what, sizeof what, "%s file %s", kind, path);
    tr->buf = rbm__data_alloc(ctx, tr->cap, what, &st);
    if (!tr->buf) {
        close(fd);
        return st;
    }
    tr->gz = gzdopen(fd, "rb");
    if (!tr->gz) {
        close(fd);
        rbm__free(ctx, tr->buf);
        tr->buf = NULL;
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "%s: cannot set up the reader", what);
    }
    gzbuffer(tr->gz, 1u << 17);
    return RBM_OK;
}

void rbm__text_close(rbm__text_reader *tr)
{
    if (tr->gz)
        gzclose(tr->gz);
    tr->gz = NULL;
    if (tr->buf)
        rbm__free(tr->ctx, tr->buf);
    tr->buf = NULL;
}

/* Make room for more input: move the unread part to the front, and double
 * the buffer (up to max_line + 2 bytes) when it is full. */
static rbm_status text_make_room(rbm__text_reader *tr)
{
    size_t avail = tr->len - tr->pos;
    if (tr->pos > 0) {
        memmove(tr->buf, tr->buf + tr->pos, avail);
        tr->len = avail;
        tr->pos = 0;
    }
    if (tr->len + 1 < tr->cap)
        return RBM_OK;
    size_t max = tr->max_line + 2;
    if (tr->cap >= max)
        return rbm__fail(tr->ctx, RBM_ERR_TOO_LARGE,
                         "%s file %s: line %zu is longer than %zu bytes (%s)", tr->kind, tr->path,
                         tr->lineno + 1, tr->max_line, tr->limit_name);
    size_t ncap = tr->cap > max / 2 ? max : 2 * tr->cap;
    char what[300];
    snprintf(what, sizeof what, "%s file %s", tr->kind, tr->path);
    rbm_status st;
    char *nb = rbm__data_alloc(tr->ctx, ncap, what, &st);
    if (!nb)
        return st;
    memcpy(nb, tr->buf, tr->len);
    rbm__free(tr->ctx, tr->buf);
    tr->buf = nb;
    tr->cap = ncap;
    return RBM_OK;
}

rbm_status rbm__text_next_line(rbm__text_reader *tr, char **line, size_t *len)
{
    for (;;) {
        char *start = tr->buf + tr->pos;
        size_t avail = tr->len - tr->pos;
        char *nl = avail ? memchr(start, '\n', avail) : NULL;
        if (nl || (tr->eof && avail > 0)) {
            size_t n = nl ? (size_t)(nl - start) : avail;
            if (n > tr->max_line)
                return rbm__fail(tr->ctx, RBM_ERR_TOO_LARGE,
                                 "%s file %s: line %zu is longer than %zu bytes (%s)", tr->kind,
                                 tr->path, tr->lineno + 1, tr->max_line, tr->limit_name);
            tr->pos += nl ? n + 1 : n;
            tr->lineno++;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            start[n] = '\0'; /* the buffer keeps one spare byte beyond len */
            *line = start;
            *len = n;
            return RBM_OK;
        }
        if (tr->eof)
            return RBM_DONE;
        rbm_status st = text_make_room(tr);
        if (st)
            return st;
        size_t got;
        int zerr = rbm__gz_read_some(tr->gz, tr->buf + tr->len, tr->cap - 1 - tr->len, &got);
        if (zerr != Z_OK)
            return rbm__gz_fail(tr->ctx, tr->gz, zerr, errno, tr->kind, tr->path);
        tr->len += got;
        if (got == 0)
            tr->eof = true;
    }
}

bool rbm__host_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

void rbm__swap_bytes(void *p, size_t n, size_t width)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++, b += width)
        for (size_t k = 0; k < width / 2; k++) {
            uint8_t t = b[k];
            b[k] = b[width - 1 - k];
            b[width - 1 - k] = t;
        }
}

/* ------------------------------------------------------------------------ */
/* load by name                                                              */
/* ------------------------------------------------------------------------ */

static char lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (m > n)
        return false;
    s += n - m;
    for (size_t i = 0; i < m; i++)
        if (lower_ascii(s[i]) != suffix[i])
            return false;
    return true;
}

static bool contains_ci(const char *s, const char *needle)
{
    size_t m = strlen(needle);
    for (; *s; s++) {
        size_t i = 0;
        for (; i < m; i++) {
            if (!s[i])
                return false;
            if (lower_ascii(s[i]) != needle[i])
                break;
        }
        if (i == m)
            return true;
    }
    return false;
}

rbm_status rbm_dataset_load(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out || !path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load: %s is NULL", !out ? "out" : "path");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (contains_ci(base, ".idx") || ends_with_ci(base, "-ubyte") || ends_with_ci(base, "-ubyte.gz"))
        return rbm_dataset_load_idx(ctx, path, out);
    if (ends_with_ci(base, ".csv"))
        return rbm_dataset_load_csv(ctx, path, out);
    if (ends_with_ci(base, ".npy"))
        return rbm_dataset_load_npy(ctx, path, out);
    if (rbm__alignment_name(base))
        return rbm_dataset_load_alignment(ctx, path, NULL, 0, out);
    return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                     "cannot tell the format of %s from its name: expected *.idx*, *-ubyte, "
                     "*-ubyte.gz (IDX), *.csv (CSV), *.npy (NPY) or an alignment (*.fasta, "
                     "*.fa, *.a2m, *.sto, ... and their .gz; alignment.h)",
                     path);
}
