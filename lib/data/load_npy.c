/* librbm — load_npy: NPY files (format versions 1.0, 2.0, 3.0).
 *
 * An NPY file is the magic "\x93NUMPY", a version, the length of a header
 * that is a Python dictionary literal with the keys 'descr', 'fortran_order'
 * and 'shape', and the array's bytes. Accepted: 1-D (one row) and 2-D
 * C-order arrays of u1, f4 or f8 in either byte order; every key exactly
 * once. Only regular files are read: the data size from the header must
 * equal what the file holds after the header (checked, like the context's
 * data size limit, before allocating), and the payload is read into one
 * buffer allocated at its final size. */
#include "core/bytes.h"
#include "core/file_in.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"
#include "data/load.h"

#include <errno.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* header dictionary                                                         */
/* ------------------------------------------------------------------------ */

typedef struct npy_header {
    char descr[16];
    bool have_descr, have_fortran, have_shape;
    bool fortran;
    size_t ndim;
    size_t shape[8];
} npy_header;

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Parse a quoted Python string into buf; returns the position after it. */
static const char *parse_pystr(const char *p, char *buf, size_t cap)
{
    char q = *p;
    if (q != '\'' && q != '"')
        return NULL;
    p++;
    size_t n = 0;
    while (*p && *p != q) {
        if (n + 1 >= cap)
            return NULL;
        buf[n++] = *p++;
    }
    if (*p != q)
        return NULL;
    buf[n] = '\0';
    return p + 1;
}

/* The value of 'shape' at *pp, a tuple of non-negative integers: the first
 * entries into hd->shape, their count into hd->ndim. Advances *pp past the
 * tuple; returns NULL or a description of the problem. */
static const char *npy_parse_shape(const char **pp, npy_header *hd)
{
    const char *p = *pp;
    if (*p != '(')
        return "'shape' is not a tuple";
    p = skip_ws(p + 1);
    while (*p != ')') {
        if (*p < '0' || *p > '9')
            return "'shape' holds something other than non-negative integers";
        size_t v = 0;
        while (*p >= '0' && *p <= '9') {
            if (!rbm__mul_ok(v, 10, &v) || __builtin_add_overflow(v, (size_t)(*p - '0'), &v))
                return "a 'shape' entry overflows";
            p++;
        }
        if (*p == 'L') /* Python 2 long suffix */
            p++;
        if (hd->ndim < sizeof hd->shape / sizeof hd->shape[0])
            hd->shape[hd->ndim] = v;
        hd->ndim++;
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != ')')
            return "'shape' tuple is malformed";
    }
    *pp = p + 1;
    hd->have_shape = true;
    return NULL;
}

/* The value of key at *pp into hd; advances *pp past it. Returns NULL or a
 * description of the problem. */
static const char *npy_parse_value(const char *key, const char **pp, npy_header *hd)
{
    const char *p = *pp;
    if ((strcmp(key, "descr") == 0 && hd->have_descr) ||
        (strcmp(key, "fortran_order") == 0 && hd->have_fortran) ||
        (strcmp(key, "shape") == 0 && hd->have_shape))
        return "header has a key twice";
    if (strcmp(key, "descr") == 0) {
        p = parse_pystr(p, hd->descr, sizeof hd->descr);
        if (!p)
            return "'descr' is not a simple dtype string";
        hd->have_descr = true;
    } else if (strcmp(key, "fortran_order") == 0) {
        if (strncmp(p, "True", 4) == 0) {
            hd->fortran = true;
            p += 4;
        } else if (strncmp(p, "False", 5) == 0) {
            hd->fortran = false;
            p += 5;
        } else {
            return "'fortran_order' is neither True nor False";
        }
        hd->have_fortran = true;
    } else if (strcmp(key, "shape") == 0) {
        return npy_parse_shape(pp, hd);
    } else {
        return "header has a key other than 'descr', 'fortran_order' and 'shape'";
    }
    *pp = p;
    return NULL;
}

/* Returns NULL on success or a description of the problem. */
static const char *npy_parse_header(const char *h, npy_header *hd, char *dup, size_t dupcap)
{
    memset(hd, 0, sizeof *hd);
    const char *p = skip_ws(h);
    if (*p != '{')
        return "header is not a dictionary";
    p = skip_ws(p + 1);
    while (*p != '}') {
        char key[32];
        p = parse_pystr(p, key, sizeof key);
        if (!p)
            return "expected a quoted key in the header dictionary";
        p = skip_ws(p);
        if (*p != ':')
            return "expected ':' after a key in the header dictionary";
        p = skip_ws(p + 1);
        const char *problem = npy_parse_value(key, &p, hd);
        if (problem) {
            if (strcmp(problem, "header has a key twice") == 0) {
                snprintf(dup, dupcap, "header has the key '%s' twice", key);
                return dup;
            }
            return problem;
        }
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != '}')
            return "header dictionary is malformed (expected ',' or '}')";
    }
    if (!hd->have_descr)
        return "header has no 'descr'";
    if (!hd->have_fortran)
        return "header has no 'fortran_order'";
    if (!hd->have_shape)
        return "header has no 'shape'";
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* reading                                                                   */
/* ------------------------------------------------------------------------ */

/* RBM_ERR_IO with the OS reason, for a read that failed (ferror). */
static rbm_status npy_read_error(rbm_context *ctx, const char *path)
{
    char why[128];
    rbm__errno_text(errno, why, sizeof why);
    return rbm__fail(ctx, RBM_ERR_IO, "npy file %s: read failed: %s", path, why);
}

/* Magic, version and header length: *hlen, and *data_off where the array's
 * bytes start. fsize is the file size (UINTMAX_MAX when unknown). */
static rbm_status npy_read_preamble(rbm_context *ctx, FILE *f, const char *path, uintmax_t fsize,
                                    size_t *hlen, size_t *data_off)
{
    uint8_t pre[12];
    size_t n = fread(pre, 1, 8, f);
    if (n < 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        if (ferror(f))
            return npy_read_error(ctx, path);
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "npy file %s: not an NPY file (missing the \\x93NUMPY magic)", path);
    }
    unsigned major = pre[6], minor = pre[7];
    size_t lenbytes = major == 1 ? 2 : (major == 2 || major == 3) ? 4 : 0;
    if (!lenbytes)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "npy file %s: format version %u.%u is not supported (1.0, 2.0, 3.0)", path,
                         major, minor);
    if (fread(pre + 8, 1, lenbytes, f) != lenbytes)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: truncated in the preamble", path);
    *hlen = lenbytes == 4 ? rbm__get_u32(pre + 8) : rbm__get_u16(pre + 8);
    *data_off = 8 + lenbytes + *hlen;
    if ((uintmax_t)*data_off > fsize)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "npy file %s: truncated: header length %zu, file has only %ju bytes", path,
                         *hlen, fsize);
    if (*hlen > ((size_t)1 << 24))
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: header length %zu is implausible",
                         path, *hlen);
    return RBM_OK;
}

/* The hlen bytes of header text, parsed into hd. */
static rbm_status npy_read_header(rbm_context *ctx, FILE *f, const char *path, size_t hlen,
                                  npy_header *hd)
{
    rbm_status st;
    char what[300];
    snprintf(what, sizeof what, "npy file %s: header", path);
    char *hbuf = rbm__data_alloc(ctx, hlen + 1, what, &st);
    if (!hbuf)
        return st;
    const char *problem = NULL;
    char dup[64];
    if (fread(hbuf, 1, hlen, f) != hlen) {
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: truncated in the header", path);
    } else {
        hbuf[hlen] = '\0';
        if (strlen(hbuf) != hlen)
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: header contains a NUL byte",
                           path);
        else if ((problem = npy_parse_header(hbuf, hd, dup, sizeof dup)) != NULL)
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: %s", path, problem);
    }
    rbm__free(ctx, hbuf);
    return st;
}

/* rows x cols of a C-order 1-D (one row) or 2-D array, both > 0. */
static rbm_status npy_array_shape(rbm_context *ctx, const char *path, const npy_header *hd,
                                  size_t *rows, size_t *cols)
{
    if (hd->fortran)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "npy file %s: fortran_order is True; only C-order arrays are supported "
                         "(save with np.ascontiguousarray)",
                         path);
    if (hd->ndim != 1 && hd->ndim != 2)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "npy file %s: array has %zu dimensions; only 1-D and 2-D are supported",
                         path, hd->ndim);
    *rows = hd->ndim == 1 ? 1 : hd->shape[0];
    *cols = hd->ndim == 1 ? hd->shape[0] : hd->shape[1];
    if (*rows == 0 || *cols == 0)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "npy file %s: array is empty (%zu x %zu)", path,
                         *rows, *cols);
    return RBM_OK;
}

/* The dataset type of descr (byte order + kind + size) and whether its bytes
 * need swapping on this host. */
static rbm_status npy_dtype(rbm_context *ctx, const char *path, const char *d, rbm_dtype *dtype,
                            bool *swap)
{
    *swap = false;
    if (strlen(d) == 3 && strchr("<>|=", d[0]) && strcmp(d + 1, "u1") == 0) {
        *dtype = RBM_DTYPE_UINT8;
        return RBM_OK;
    }
    if (strlen(d) == 3 && strchr("<>=", d[0]) &&
        (strcmp(d + 1, "f4") == 0 || strcmp(d + 1, "f8") == 0)) {
        bool little = rbm__host_little_endian();
        *dtype = d[2] == '4' ? RBM_DTYPE_FLOAT32 : RBM_DTYPE_FLOAT64;
        *swap = (d[0] == '<' && !little) || (d[0] == '>' && little);
        return RBM_OK;
    }
    char q[64];
    rbm__quote_bytes(d, strlen(d), q, sizeof q);
    return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                     "npy file %s: dtype '%s' is not supported (u1, f4 or f8, either byte order)",
                     path, q);
}

/* The total bytes of the array into *out: one buffer of the final size
 * (the file was checked to hold exactly that much). */
static rbm_status npy_read_payload(rbm_context *ctx, FILE *f, const char *path, size_t total,
                                   uint8_t **out)
{
    rbm_status st;
    char what[300];
    snprintf(what, sizeof what, "npy file %s", path);
    uint8_t *raw = rbm__data_alloc(ctx, total, what, &st);
    if (!raw)
        return st;
    size_t n = fread(raw, 1, total, f);
    if (n == total) {
        *out = raw;
        return RBM_OK;
    }
    if (ferror(f))
        st = npy_read_error(ctx, path);
    else /* the file shrank after it was checked */
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "npy file %s: truncated: header says %zu bytes of data, file has %zu", path,
                       total, n);
    rbm__free(ctx, raw);
    return st;
}

/* ------------------------------------------------------------------------ */
/* the loader                                                                */
/* ------------------------------------------------------------------------ */

/* Header and array layout: rows, cols, dtype, swap, and the payload size
 * checked against what the file holds. */
typedef struct npy_layout {
    size_t rows, cols, total;
    rbm_dtype dtype;
    bool swap;
} npy_layout;

static rbm_status npy_read_layout(rbm_context *ctx, FILE *f, const char *path, uintmax_t fsize,
                                  npy_layout *lo)
{
    size_t hlen = 0, data_off = 0;
    npy_header hd;
    rbm_status st = npy_read_preamble(ctx, f, path, fsize, &hlen, &data_off);
    if (!st)
        st = npy_read_header(ctx, f, path, hlen, &hd);
    if (!st)
        st = npy_array_shape(ctx, path, &hd, &lo->rows, &lo->cols);
    if (!st)
        st = npy_dtype(ctx, path, hd.descr, &lo->dtype, &lo->swap);
    if (st)
        return st;
    const char *tname = rbm__dtype_name(lo->dtype);
    size_t n;
    if (!rbm__mul_ok(lo->rows, lo->cols, &n) ||
        !rbm__mul_ok(n, rbm__dtype_size(lo->dtype), &lo->total))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "npy file %s: shape %zu x %zu of %s overflows the size limit", path,
                         lo->rows, lo->cols, tname);
    uintmax_t avail = fsize - (uintmax_t)data_off;
    if (avail < (uintmax_t)lo->total)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "npy file %s: truncated: header says %zu x %zu %s (%zu bytes of data), "
                         "file has %ju",
                         path, lo->rows, lo->cols, tname, lo->total, avail);
    if (avail > (uintmax_t)lo->total)
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "npy file %s: %ju trailing bytes after the data (header says %zu x %zu "
                         "%s, %zu bytes)",
                         path, avail - (uintmax_t)lo->total, lo->rows, lo->cols, tname, lo->total);
    char claim[128];
    snprintf(claim, sizeof claim, "the header's %zu x %zu array of %s", lo->rows, lo->cols, tname);
    return rbm__data_check_limit(ctx, "npy", path, lo->total, claim);
}

rbm_status rbm_dataset_load_npy(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    FILE *f;
    struct stat sb;
    rbm_status st = rbm__data_open_stream(ctx, path, out, "npy", &f, &sb);
    if (st)
        return st;
    uintmax_t fsize = (uintmax_t)sb.st_size;

    npy_layout lo = {0, 0, 0, RBM_DTYPE_UINT8, false};
    uint8_t *raw = NULL;
    st = npy_read_layout(ctx, f, path, fsize, &lo);
    if (!st)
        st = npy_read_payload(ctx, f, path, lo.total, &raw);
    if (!st) {
        if (lo.swap)
            rbm__swap_bytes(raw, lo.rows * lo.cols, rbm__dtype_size(lo.dtype));
        char what[300];
        snprintf(what, sizeof what, "npy file %s", path);
        st = rbm__dataset_check_finite(ctx, raw, lo.dtype, lo.rows, lo.cols, what);
    }
    if (!st) {
        st = rbm__dataset_wrap(ctx, lo.rows, lo.cols, lo.dtype, raw, NULL, out);
        raw = NULL;
    }
    rbm__free(ctx, raw);
    fclose(f);
    return rbm__fin_name_error(ctx, st, "npy file", path);
}
