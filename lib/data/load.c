/* librbm — load: a dataset file by name (rbm_dataset_load), and what the
 * IDX, CSV and NPY readers share: the open prologue, byte order and growing
 * buffers. */
#include "core/bytes.h"
#include "core/file_in.h"
#include "data/load.h"

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
    return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                     "cannot tell the format of %s from its name: expected *.idx*, *-ubyte, "
                     "*-ubyte.gz (IDX), *.csv (CSV) or *.npy (NPY)",
                     path);
}
