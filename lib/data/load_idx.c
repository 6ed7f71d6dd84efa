/* librbm — load_idx: IDX files (as distributed for MNIST), plain or gzip.
 *
 * zlib reads both forms: a plain file passes through gzread unchanged
 * (gzdirect). The header is magic 0x00 0x00, an element type code, the
 * number of dimensions and the big-endian dimensions; the first dimension
 * is the rows, the others are flattened into columns. The payload goes into
 * one buffer, sized from the file when its size is known (a plain regular
 * file, checked against the header before allocating), otherwise started
 * small and grown as data arrives, so that a hostile header cannot make a
 * small or compressed input allocate much. Element types other than
 * unsigned byte, float and double become float64. */
#include "core/bytes.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"
#include "data/load.h"

#include <errno.h>
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

/* Read up to len bytes. Returns Z_OK with *got < len only at the end of the
 * data (or a truncated gzip stream), or a zlib error code. */
static int gz_read_some(gzFile gz, uint8_t *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int n = gzread(gz, buf + *got, (unsigned)want);
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

static rbm_status gz_fail(rbm_context *ctx, gzFile gz, int zerr, int saved_errno, const char *path)
{
    char why[128];
    int dummy;
    const char *msg = gzerror(gz, &dummy);
    switch (zerr) {
    case Z_ERRNO:
        rbm__errno_text(saved_errno, why, sizeof why);
        return rbm__fail(ctx, RBM_ERR_IO, "idx file %s: read failed: %s", path, why);
    case Z_MEM_ERROR:
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "idx file %s: zlib is out of memory", path);
    default:
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "idx file %s: corrupt gzip data: %s", path,
                         msg && *msg ? msg : "unknown zlib error");
    }
}

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
    int zerr = gz_read_some(gz, head, 4, &got);
    if (zerr != Z_OK)
        return gz_fail(ctx, gz, zerr, errno, path);
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
    int zerr = gz_read_some(gz, dimbytes, 4 * ndim, &got);
    if (zerr != Z_OK)
        return gz_fail(ctx, gz, zerr, errno, path);
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
    size_t kept = type->size == 1 || type->code == 0x0D || type->code == 0x0E ? type->size
                                                                                : sizeof(double);
    size_t out_bytes = 0;
    if (rbm__dataset_size(ctx, hd->rows, hd->cols, type->size, &hd->total, "idx file") ||
        rbm__dataset_size(ctx, hd->rows, hd->cols, kept, &out_bytes, "idx file"))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "idx file %s: header says %zu rows x %zu columns of %zu-byte %s, which "
                         "exceeds the size limit",
                         path, hd->rows, hd->cols, type->size, type->name);
    hd->row_bytes = hd->cols * type->size;
    hd->header_bytes = 4 + 4 * ndim;
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* payload                                                                   */
/* ------------------------------------------------------------------------ */

/* The first buffer size: the whole payload for a plain regular file (whose
 * size is checked against the header first), else a small multiple of the
 * file size, grown later as data arrives. */
static rbm_status idx_first_capacity(rbm_context *ctx, const char *path, const idx_header *hd,
                                     const struct stat *sb, bool direct, size_t *cap)
{
    if (direct && S_ISREG(sb->st_mode)) {
        size_t avail = (uintmax_t)sb->st_size > hd->header_bytes
                           ? (size_t)((uintmax_t)sb->st_size - hd->header_bytes)
                           : 0;
        if (avail < hd->total)
            return idx_truncated(ctx, path, hd, avail);
        *cap = hd->total;
        return RBM_OK;
    }
    /* a small multiple of the compressed size: a hostile header cannot make
     * a small file allocate much */
    *cap = RBM__DS_GROW_START;
    if (S_ISREG(sb->st_mode) && (uintmax_t)sb->st_size < RBM__DS_MAX_BYTES / 4 &&
        4 * (size_t)sb->st_size > *cap)
        *cap = 4 * (size_t)sb->st_size;
    if (*cap > hd->total)
        *cap = hd->total;
    return RBM_OK;
}

/* Read the hd->total payload bytes into *out, starting with a buffer of cap
 * bytes that doubles while more data is announced and arrives. */
static rbm_status idx_read_payload(rbm_context *ctx, gzFile gz, const char *path,
                                   const idx_header *hd, size_t cap, uint8_t **out)
{
    rbm_status st;
    uint8_t *raw = rbm__data_alloc(ctx, cap, "idx file", &st);
    if (!raw)
        return st;
    size_t have = 0;
    for (;;) {
        size_t got = 0;
        errno = 0;
        int zerr = gz_read_some(gz, raw + have, cap - have, &got);
        have += got;
        if (zerr != Z_OK && zerr != Z_BUF_ERROR) { /* Z_BUF_ERROR: gzip stream cut short */
            st = gz_fail(ctx, gz, zerr, errno, path);
            break;
        }
        if (zerr == Z_BUF_ERROR || have < cap) {
            st = idx_truncated(ctx, path, hd, have);
            break;
        }
        if (have == hd->total) {
            *out = raw;
            return RBM_OK;
        }
        size_t ncap = cap > hd->total / 2 ? hd->total : 2 * cap;
        uint8_t *nraw = rbm__data_regrow(ctx, raw, have, ncap, "idx file", &st);
        if (!nraw)
            break;
        raw = nraw;
        cap = ncap;
    }
    rbm__free(ctx, raw);
    return st;
}

/* Read past the data so that zlib checks the gzip trailer (CRC). */
static rbm_status idx_check_trailer(rbm_context *ctx, gzFile gz, const char *path)
{
    uint8_t extra;
    int n = gzread(gz, &extra, 1);
    int e = Z_OK;
    gzerror(gz, &e);
    if (n >= 0 && !(n == 0 && e != Z_OK))
        return RBM_OK;
    if (e == Z_BUF_ERROR)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "idx file %s: truncated gzip stream (the data is complete but the gzip "
                         "trailer is missing)",
                         path);
    return gz_fail(ctx, gz, e == Z_OK ? Z_ERRNO : e, errno, path);
}

/* ------------------------------------------------------------------------ */
/* conversion                                                                */
/* ------------------------------------------------------------------------ */

/* Convert the raw big-endian IDX payload (n elements) to the dataset type.
 * Consumes raw: *data is raw itself or a new buffer, and raw is freed on
 * failure. */
static rbm_status idx_convert(rbm_context *ctx, const char *path, uint8_t code, uint8_t *raw,
                              size_t n, size_t rows, size_t cols, void **data, rbm_dtype *dtype)
{
    rbm_status st;
    bool little = rbm__host_little_endian();
    switch (code) {
    case 0x08:
        *data = raw;
        *dtype = RBM_DTYPE_UINT8;
        return RBM_OK;
    case 0x0D:
        if (little)
            rbm__swap_bytes(raw, n, 4);
        *data = raw;
        *dtype = RBM_DTYPE_FLOAT32;
        break;
    case 0x0E:
        if (little)
            rbm__swap_bytes(raw, n, 8);
        *data = raw;
        *dtype = RBM_DTYPE_FLOAT64;
        break;
    default: {
        double *d = rbm__data_alloc(ctx, n * sizeof(double), "idx file", &st);
        if (!d) {
            rbm__free(ctx, raw);
            return st;
        }
        for (size_t i = 0; i < n; i++) {
            if (code == 0x09) {
                d[i] = (double)(int8_t)raw[i];
            } else if (code == 0x0B) {
                const uint8_t *p = raw + 2 * i;
                d[i] = (double)(int16_t)(uint16_t)(((unsigned)p[0] << 8) | p[1]);
            } else {
                d[i] = (double)(int32_t)be32(raw + 4 * i);
            }
        }
        rbm__free(ctx, raw);
        *data = d;
        *dtype = RBM_DTYPE_FLOAT64;
        return RBM_OK;
    }
    }
    char what[64 + 256];
    snprintf(what, sizeof what, "idx file %s", path);
    st = rbm__dataset_check_finite(ctx, *data, *dtype, rows, cols, what);
    if (st) {
        rbm__free(ctx, raw);
        *data = NULL;
    }
    return st;
}

/* The dataset over the payload (consumed), with the image shape of a file
 * of n x height x width. */
static rbm_status idx_make(rbm_context *ctx, const char *path, const idx_header *hd, uint8_t *raw,
                           rbm_dataset **out)
{
    void *data = NULL;
    rbm_dtype dtype = RBM_DTYPE_UINT8;
    rbm_status st = idx_convert(ctx, path, hd->type->code, raw, hd->rows * hd->cols, hd->rows,
                                hd->cols, &data, &dtype);
    if (st)
        return st;
    rbm_dataset *ds = NULL;
    st = rbm__dataset_wrap(ctx, hd->rows, hd->cols, dtype, data, NULL, &ds);
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
    uint8_t *raw = NULL;
    size_t cap = 0;
    bool direct = false;
    st = idx_read_magic(ctx, gz, path, &hd);
    if (!st)
        st = idx_read_dims(ctx, gz, path, &hd);
    if (!st) {
        direct = gzdirect(gz) != 0;
        st = idx_first_capacity(ctx, path, &hd, &sb, direct, &cap);
    }
    if (!st)
        st = idx_read_payload(ctx, gz, path, &hd, cap, &raw);
    if (!st && !direct)
        st = idx_check_trailer(ctx, gz, path);
    if (!st)
        st = idx_make(ctx, path, &hd, raw, out);
    else
        rbm__free(ctx, raw);
    gzclose(gz);
    return st;
}
