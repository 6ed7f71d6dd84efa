/* librbm — load_idx: IDX files (as distributed for MNIST), plain or gzip.
 *
 * zlib reads both forms: a plain file passes through gzread unchanged
 * (gzdirect). The header is magic 0x00 0x00, an element type code, the
 * number of dimensions and the big-endian dimensions; the first dimension
 * is the rows, the others are flattened into columns. Element types other
 * than unsigned byte, float and double become float64.
 *
 * The data size follows from the header alone (overflow-checked). Before
 * anything large is allocated it is checked against the context's data size
 * limit and against what the file can hold: exactly the file's remaining
 * bytes for a plain file, at most the deflate bound (1032 decoded bytes per
 * compressed byte) for a gzip file. Then the dataset's buffer is allocated
 * once, at its final size, and the payload is streamed into it (converted
 * types are read into its tail and widened in place); a stream that ends
 * early, or has bytes after the data, is refused. */
#include "core/bytes.h"
#include "core/file_in.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"
#include "data/load.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef struct idx_type {
    uint8_t code;
    size_t size;
    const char *name;
} idx_type;

static const idx_type idx_types[] = {
    {0x08, 1, "unsigned byte"}, {0x09, 1, "signed byte"}, {0x0B, 2, "short"},
    {0x0C, 4, "int"},           {0x0D, 4, "float"},       {0x0E, 8, "double"},
};

/* What the header says. */
typedef struct idx_header {
    const idx_type *type;
    size_t ndim;
    size_t dims[255];
    size_t rows, cols;
    size_t total;     /* payload bytes */
    size_t kept;      /* bytes of one element as loaded */
    size_t out_bytes; /* bytes of the dataset: rows x cols x kept */
    size_t row_bytes; /* payload bytes of one row */
    size_t header_bytes;
} idx_header;

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ------------------------------------------------------------------------ */
/* reading through zlib                                                      */
/* ------------------------------------------------------------------------ */

/* The payload ended after `bytes` bytes. */
static rbm_status idx_truncated(rbm_context *ctx, const char *path, const idx_header *hd,
                                size_t bytes)
{
    return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                     "idx file %s: truncated: header says %zu rows of %zu bytes, file ends after "
                     "%zu rows",
                     path, hd->rows, hd->row_bytes, bytes / hd->row_bytes);
}

/* ------------------------------------------------------------------------ */
/* header                                                                    */
/* ------------------------------------------------------------------------ */

/* The first four bytes: magic, element type, number of dimensions. */
static rbm_status idx_read_magic(rbm_context *ctx, gzFile gz, const char *path, idx_header *hd)
{
    uint8_t head[4];
    size_t got = 0;
    errno = 0;
    int zerr = rbm__gz_read_some(gz, head, 4, &got);
    if (zerr != Z_OK)
        return rbm__gz_fail(ctx, gz, zerr, errno, "idx", path);
    if (got < 4)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "idx file %s: truncated: %zu bytes, an idx header needs at least 4", path,
                         got);
    if (head[0] != 0 || head[1] != 0)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "idx file %s: wrong magic: first bytes are 0x%02x 0x%02x, expected 0x00 "
                         "0x00",
                         path, head[0], head[1]);
    hd->type = NULL;
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if (idx_types[i].code == head[2])
            hd->type = &idx_types[i];
    if (!hd->type)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "idx file %s: unknown element type code 0x%02x (expected 0x08, 0x09, "
                         "0x0b, 0x0c, 0x0d or 0x0e)",
                         path, head[2]);
    hd->ndim = head[3];
    if (hd->ndim == 0)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "idx file %s: header declares 0 dimensions (need at least 1)", path);
    return RBM_OK;
}

/* The dimensions, then rows, columns and the payload size they imply. */
static rbm_status idx_read_dims(rbm_context *ctx, gzFile gz, const char *path, idx_header *hd)
{
    size_t ndim = hd->ndim, got = 0;
    uint8_t dimbytes[4 * 255];
    errno = 0;
    int zerr = rbm__gz_read_some(gz, dimbytes, 4 * ndim, &got);
    if (zerr != Z_OK)
        return rbm__gz_fail(ctx, gz, zerr, errno, "idx", path);
    if (got < 4 * ndim)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "idx file %s: truncated header: %zu dimensions declared, file ends after "
                         "%zu of them",
                         path, ndim, got / 4);
    for (size_t k = 0; k < ndim; k++) {
        hd->dims[k] = (size_t)be32(dimbytes + 4 * k);
        if (hd->dims[k] == 0)
            return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                             "idx file %s: dimension %zu of %zu is 0 (empty data set)", path, k + 1,
                             ndim);
    }
    hd->rows = hd->dims[0];
    hd->cols = 1;
    for (size_t k = 1; k < ndim; k++)
        if (!rbm__mul_ok(hd->cols, hd->dims[k], &hd->cols))
            return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                             "idx file %s: the product of the dimensions overflows", path);
    const idx_type *type = hd->type;
    hd->kept = type->code == 0x08 ? 1 : type->code == 0x0D ? 4 : sizeof(double);
    size_t n;
    if (!rbm__mul_ok(hd->rows, hd->cols, &n) || !rbm__mul_ok(n, type->size, &hd->total) ||
        !rbm__mul_ok(n, hd->kept, &hd->out_bytes))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "idx file %s: header says %zu rows x %zu columns of %zu-byte %s, whose "
                         "size overflows",
                         path, hd->rows, hd->cols, type->size, type->name);
    hd->row_bytes = hd->cols * type->size;
    hd->header_bytes = 4 + 4 * ndim;
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* payload                                                                   */
/* ------------------------------------------------------------------------ */

/* Refuse, before allocating, a header claiming more than the file can hold:
 * a plain file must hold exactly the header and the payload; a gzip file
 * cannot decode to more than the deflate bound of its size. */
static rbm_status idx_check_file_size(rbm_context *ctx, const char *path, const idx_header *hd,
                                      const struct stat *sb, bool direct)
{
    uintmax_t fsize = (uintmax_t)sb->st_size;
    if (direct) {
        uintmax_t avail = fsize > hd->header_bytes ? fsize - hd->header_bytes : 0;
        if (avail < hd->total)
            return idx_truncated(ctx, path, hd, (size_t)avail);
        if (avail > hd->total)
            return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                             "idx file %s: %ju trailing bytes after the data (header says %zu "
                             "rows x %zu columns of %s)",
                             path, avail - hd->total, hd->rows, hd->cols, hd->type->name);
        return RBM_OK;
    }
    /* deflate emits at least one bit per 258-byte match: no stream decodes
     * to more than 1032 times its size (plus the gzip framing's slack) */
    uintmax_t bound = fsize < UINTMAX_MAX / 1032 ? 1032 * fsize + 4096 : UINTMAX_MAX;
    if ((uintmax_t)hd->total + hd->header_bytes > bound)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "idx file %s: header says %zu rows x %zu columns of %s (%zu bytes), but "
                         "a gzip file of %ju bytes decodes to at most %ju bytes",
                         path, hd->rows, hd->cols, hd->type->name, hd->total, fsize, bound);
    return RBM_OK;
}

/* The context's data size limit against the dataset the header implies. */
static rbm_status idx_check_limit(rbm_context *ctx, const char *path, const idx_header *hd)
{
    char claim[160];
    snprintf(claim, sizeof claim, "the header's %zu rows x %zu columns of %s (loaded as %s)",
             hd->rows, hd->cols, hd->type->name,
             hd->kept == 1 ? "uint8" : hd->kept == 4 ? "float32" : "float64");
    return rbm__data_check_limit(ctx, "idx", path, hd->out_bytes, claim);
}

/* Stream the hd->total payload bytes into buf. */
static rbm_status idx_read_payload(rbm_context *ctx, gzFile gz, const char *path,
                                   const idx_header *hd, uint8_t *buf)
{
    size_t got = 0;
    errno = 0;
    int zerr = rbm__gz_read_some(gz, buf, hd->total, &got);
    if (zerr == Z_BUF_ERROR || (zerr == Z_OK && got < hd->total)) /* stream cut short */
        return idx_truncated(ctx, path, hd, got);
    if (zerr != Z_OK)
        return rbm__gz_fail(ctx, gz, zerr, errno, "idx", path);
    return RBM_OK;
}

/* Read past the data: it must end there, and zlib checks the gzip trailer
 * (CRC, length) on the way. Counts trailing bytes up to a bound. */
static rbm_status idx_check_end(rbm_context *ctx, gzFile gz, const char *path)
{
    uint8_t scratch[4096];
    uint64_t extra = 0;
    const uint64_t count_max = (uint64_t)1 << 26;
    for (;;) {
        int n = gzread(gz, scratch, sizeof scratch);
        int e = Z_OK;
        gzerror(gz, &e);
        if (n < 0 || (n == 0 && e != Z_OK)) {
            if (e == Z_BUF_ERROR)
                return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                                 "idx file %s: truncated gzip stream (the data is complete but "
                                 "the gzip trailer is missing)",
                                 path);
            return rbm__gz_fail(ctx, gz, e == Z_OK ? Z_ERRNO : e, errno, "idx", path);
        }
        if (n == 0)
            break;
        extra += (uint64_t)n;
        if (extra >= count_max)
            return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                             "idx file %s: at least %" PRIu64 " trailing bytes after the data",
                             path, extra);
    }
    if (extra)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "idx file %s: %" PRIu64
                         " trailing bytes after the data", path, extra);
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* conversion                                                                */
/* ------------------------------------------------------------------------ */

/* Convert, in place, the raw big-endian IDX payload of n elements held in
 * the last n x type-size bytes of buf (hd->out_bytes) to the dataset type.
 * Widening runs front to back: element i is read before its output slot
 * [8i, 8i + 8) is written, and that slot ends at or before where element
 * i + 1 starts, so no unread input is overwritten. */
static void idx_convert(const idx_header *hd, uint8_t *buf, rbm_dtype *dtype)
{
    size_t n = hd->rows * hd->cols;
    bool little = rbm__host_little_endian();
    switch (hd->type->code) {
    case 0x08:
        *dtype = RBM_DTYPE_UINT8;
        return;
    case 0x0D:
        if (little)
            rbm__swap_bytes(buf, n, 4);
        *dtype = RBM_DTYPE_FLOAT32;
        return;
    case 0x0E:
        if (little)
            rbm__swap_bytes(buf, n, 8);
        *dtype = RBM_DTYPE_FLOAT64;
        return;
    default:
        break;
    }
    const uint8_t *raw = buf + (hd->out_bytes - hd->total);
    uint8_t code = hd->type->code;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (code == 0x09) {
            v = (double)(int8_t)raw[i];
        } else if (code == 0x0B) {
            const uint8_t *p = raw + 2 * i;
            v = (double)(int16_t)(uint16_t)(((unsigned)p[0] << 8) | p[1]);
        } else {
            v = (double)(int32_t)be32(raw + 4 * i);
        }
        memcpy(buf + 8 * i, &v, sizeof v);
    }
    *dtype = RBM_DTYPE_FLOAT64;
}

/* The dataset over buf (consumed), with the image shape of a file of
 * n x height x width. */
static rbm_status idx_make(rbm_context *ctx, const char *path, const idx_header *hd, uint8_t *buf,
                           rbm_dataset **out)
{
    rbm_dtype dtype = RBM_DTYPE_UINT8;
    idx_convert(hd, buf, &dtype);
    char what[64 + 256];
    snprintf(what, sizeof what, "idx file %s", path);
    rbm_status st = rbm__dataset_check_finite(ctx, buf, dtype, hd->rows, hd->cols, what);
    if (st) {
        rbm__free(ctx, buf);
        return st;
    }
    rbm_dataset *ds = NULL;
    st = rbm__dataset_wrap(ctx, hd->rows, hd->cols, dtype, buf, NULL, &ds);
    if (st)
        return st;
    if (hd->ndim == 3) {
        ds->img_h = hd->dims[1];
        ds->img_w = hd->dims[2];
    }
    *out = ds;
    return RBM_OK;
}

rbm_status rbm_dataset_load_idx(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    int fd;
    struct stat sb;
    rbm_status st = rbm__data_open(ctx, path, out, "idx", &fd, &sb);
    if (st)
        return st;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "idx file %s: cannot set up the reader", path);
    }
    gzbuffer(gz, 1u << 17);

    idx_header hd;
    memset(&hd, 0, sizeof hd);
    uint8_t *buf = NULL;
    bool direct = false;
    st = idx_read_magic(ctx, gz, path, &hd);
    if (!st)
        st = idx_read_dims(ctx, gz, path, &hd);
    if (!st) {
        direct = gzdirect(gz) != 0;
        st = idx_check_file_size(ctx, path, &hd, &sb, direct);
    }
    if (!st)
        st = idx_check_limit(ctx, path, &hd);
    if (!st) {
        char what[64 + 256];
        snprintf(what, sizeof what, "idx file %s", path);
        buf = rbm__data_alloc(ctx, hd.out_bytes, what, &st);
    }
    if (!st)
        st = idx_read_payload(ctx, gz, path, &hd, buf + (hd.out_bytes - hd.total));
    if (!st)
        st = idx_check_end(ctx, gz, path);
    if (!st) {
        st = idx_make(ctx, path, &hd, buf, out);
        buf = NULL;
    }
    rbm__free(ctx, buf);
    gzclose(gz);
    return rbm__fin_name_error(ctx, st, "idx file", path);
}
