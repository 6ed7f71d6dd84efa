/* librbm — archive: the training archive, an append-only file of framed
 * records (models, spectra, configuration, checkpoints; <rbm/archive.h>,
 * docs/file-format.md "Training archive").
 *
 * File: "RBMARCH1", u32 version (1), u32 CRC-32 of the 12 bytes before it;
 * then records: tag[4], u32 flags (0), u64 payload length, payload, u32
 * CRC-32 of tag..payload. Little-endian (core/bytes.h). */
#include "core/bytes.h"
#include "core/file_in.h"
#include "core/file_out.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "RBMARCH1"
#define VERSION 1u
#define HEADER_BYTES 16u
#define FRAME_BYTES 20u      /* record header 16 + CRC 4 */
#define MODEL_FIXED 64u      /* fixed part of a MODL payload */
#define CONFIG_MAX (1u << 20)

/* One record: where its payload is and what the index needs of it. */
typedef struct rec {
    uint64_t off, len; /* payload offset and length */
    uint64_t step;
    double seconds;    /* MODL */
    uint64_t n;        /* SPEC: values */
} rec;

typedef struct rec_list {
    rec *r;
    size_t n, cap;
} rec_list;

struct rbm_archive {
    rbm_context *ctx;
    int fd;
    unsigned flags;
    char path[RBM__PATH_MAX];
    uint64_t end;     /* offset after the last valid record */
    uint64_t ignored; /* torn tail found at open */
    rec_list models, spectra, ckpts;
    rec config;       /* the last CONF record (len 0: none) */
};

/* ---- I/O helpers ---- */

static rbm_status path_fail(rbm_context *ctx, const char *path, const char *what)
{
    char why[128];
    rbm__errno_text(errno ? errno : EIO, why, sizeof why);
    return rbm__fail(ctx, RBM_ERR_IO, "archive %s: %s: %s", path, what, why);
}

static rbm_status os_fail(const rbm_archive *a, const char *what)
{
    return path_fail(a->ctx, a->path, what);
}

/* n bytes at off of fd; *short_read when the file ends first. */
static rbm_status read_fd(rbm_context *ctx, int fd, const char *path, uint64_t off, void *p,
                          size_t n, int *short_read)
{
    unsigned char *b = p;
    *short_read = 0;
    while (n) {
        ssize_t k = pread(fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return path_fail(ctx, path, "read failed");
        if (k == 0) {
            *short_read = 1;
            return RBM_OK;
        }
        b += k, n -= (size_t)k, off += (uint64_t)k;
    }
    return RBM_OK;
}

static rbm_status read_at(const rbm_archive *a, uint64_t off, void *p, size_t n, int *short_read)
{
    return read_fd(a->ctx, a->fd, a->path, off, p, n, short_read);
}

static rbm_status write_all(rbm_archive *a, uint64_t off, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t k = pwrite(a->fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return os_fail(a, "write failed");
        b += k, n -= (size_t)k, off += (uint64_t)k;
    }
    return RBM_OK;
}

static rbm_status list_add(rbm_archive *a, rec_list *l, rec r)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        rec *p = rbm__alloc(a->ctx, cap * sizeof *p);
        if (!p)
            return rbm__fail(a->ctx, RBM_ERR_NO_MEMORY, "archive %s: cannot grow the index",
                             a->path);
        if (l->n)
            memcpy(p, l->r, l->n * sizeof *p);
        rbm__free(a->ctx, l->r);
        l->r = p;
        l->cap = cap;
    }
    l->r[l->n++] = r;
    return RBM_OK;
}

/* ---- index ---- */

/* Checks of a MODL payload's fixed part: sizes consistent with len. */
static bool model_sizes_ok(const unsigned char *p, uint64_t len)
{
    uint64_t nv = rbm__get_u64(p + 32), nh = rbm__get_u64(p + 40);
    size_t w, t;
    return nv >= 1 && nh >= 1 && nv <= SIZE_MAX && nh <= SIZE_MAX &&
           rbm__mul_ok((size_t)nv, (size_t)nh, &w) && !__builtin_add_overflow(w, nv + nh, &t) &&
           t <= (SIZE_MAX - MODEL_FIXED) / 8 && len == MODEL_FIXED + 8 * (uint64_t)t;
}

/* Enter a verified record into the index. */
static rbm_status index_record(rbm_archive *a, const unsigned char tag[4],
                               const unsigned char *head, rec r, uint64_t at)
{
    if (memcmp(tag, "MODL", 4) == 0) {
        if (r.len < MODEL_FIXED || !model_sizes_ok(head, r.len))
            return rbm__fail(a->ctx, RBM_ERR_BAD_FORMAT,
                             "archive %s: model record at offset %" PRIu64 " has inconsistent "
                             "sizes",
                             a->path, at);
        r.step = rbm__get_u64(head);
        r.seconds = rbm__get_f64(head + 8);
        return list_add(a, &a->models, r);
    }
    if (memcmp(tag, "SPEC", 4) == 0) {
        if (r.len < 16 || (r.len - 16) / 8 != rbm__get_u64(head + 8) || (r.len - 16) % 8 ||
            rbm__get_u64(head + 8) == 0)
            return rbm__fail(a->ctx, RBM_ERR_BAD_FORMAT,
                             "archive %s: spectrum record at offset %" PRIu64
                             " has inconsistent sizes",
                             a->path, at);
        r.step = rbm__get_u64(head);
        r.n = rbm__get_u64(head + 8);
        return list_add(a, &a->spectra, r);
    }
    if (memcmp(tag, "CKPT", 4) == 0) {
        if (r.len < 8)
            return rbm__fail(a->ctx, RBM_ERR_BAD_FORMAT,
                             "archive %s: checkpoint record at offset %" PRIu64 " is empty",
                             a->path, at);
        r.step = rbm__get_u64(head);
        return list_add(a, &a->ckpts, r);
    }
    if (memcmp(tag, "CONF", 4) == 0)
        a->config = r;
    return RBM_OK; /* unknown tags: records of later versions, skipped */
}

/* Verify the record at `at` (CRC over frame and payload, read in chunks).
 * *valid = 0 for a torn or corrupt record. head receives the payload's
 * first bytes (up to MODEL_FIXED). */
static rbm_status verify_record(rbm_archive *a, uint64_t at, uint64_t size, int *valid,
                                unsigned char tag[4], rec *r, unsigned char *head)
{
    unsigned char fr[16], buf[65536];
    int sr;
    *valid = 0;
    if (size - at < FRAME_BYTES)
        return RBM_OK;
    rbm_status st = read_at(a, at, fr, sizeof fr, &sr);
    if (st || sr)
        return st;
    uint64_t len = rbm__get_u64(fr + 8);
    if (len > size - at - FRAME_BYTES || rbm__get_u32(fr + 4) != 0)
        return RBM_OK;
    uint32_t crc = rbm__crc32(0, fr, sizeof fr);
    memset(head, 0, MODEL_FIXED);
    for (uint64_t done = 0; done < len;) {
        size_t k = len - done < sizeof buf ? (size_t)(len - done) : sizeof buf;
        if ((st = read_at(a, at + 16 + done, buf, k, &sr)) != RBM_OK || sr)
            return st;
        if (done < MODEL_FIXED)
            memcpy(head + done, buf, k < MODEL_FIXED - done ? k : MODEL_FIXED - done);
        crc = rbm__crc32(crc, buf, k);
        done += k;
    }
    unsigned char c[4];
    if ((st = read_at(a, at + 16 + len, c, 4, &sr)) != RBM_OK || sr)
        return st;
    if (rbm__get_u32(c) != crc)
        return RBM_OK;
    memcpy(tag, fr, 4);
    *r = (rec){.off = at + 16, .len = len};
    *valid = 1;
    return RBM_OK;
}

static rbm_status scan(rbm_archive *a, uint64_t size)
{
    uint64_t at = HEADER_BYTES;
    for (;;) {
        int valid;
        unsigned char tag[4], head[MODEL_FIXED];
        rec r;
        rbm_status st = verify_record(a, at, size, &valid, tag, &r, head);
        if (st)
            return st;
        if (!valid)
            break;
        if ((st = index_record(a, tag, head, r, at)) != RBM_OK)
            return st;
        at = r.off + r.len + 4;
    }
    a->end = at;
    a->ignored = size - at;
    return RBM_OK;
}

static rbm_status check_header(rbm_archive *a, uint64_t size)
{
    unsigned char h[HEADER_BYTES];
    int sr = 1;
    rbm_status st = size >= HEADER_BYTES ? read_at(a, 0, h, sizeof h, &sr) : RBM_OK;
    if (st)
        return st;
    if (sr || memcmp(h, MAGIC, 8) != 0 || rbm__get_u32(h + 12) != rbm__crc32(0, h, 12))
        return rbm__fail(a->ctx, RBM_ERR_BAD_FORMAT, "%s is not a librbm training archive",
                         a->path);
    if (rbm__get_u32(h + 8) != VERSION)
        return rbm__fail(a->ctx, RBM_ERR_BAD_FORMAT,
                         "archive %s has version %" PRIu32 ", this librbm reads version %u",
                         a->path, rbm__get_u32(h + 8), VERSION);
    return RBM_OK;
}

/* Open (or create, with APPEND) the file and take the appender's lock. */
static rbm_status open_file(rbm_archive *a, struct stat *sb)
{
    if (!(a->flags & RBM_ARCHIVE_APPEND))
        return rbm__fin_open(a->ctx, a->path, "archive", &a->fd, sb);
    a->fd = open(a->path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0666);
    if (a->fd < 0)
        return os_fail(a, "cannot open for append");
    if (fstat(a->fd, sb) != 0)
        return os_fail(a, "cannot stat");
    if (!S_ISREG(sb->st_mode))
        return rbm__fail(a->ctx, RBM_ERR_IO, "archive %s is not a regular file (%s)", a->path,
                         rbm__file_type_name((unsigned)sb->st_mode));
    int fl = fcntl(a->fd, F_GETFL);
    if (fl < 0 || fcntl(a->fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        return os_fail(a, "cannot open for append");
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(a->fd, F_SETLK, &lk) != 0)
        return rbm__fail(a->ctx, RBM_ERR_IO,
                         "archive %s is in use: another process has it open for append",
                         a->path);
    return RBM_OK;
}

rbm_status rbm_archive_open(rbm_context *ctx, const char *path, unsigned flags, rbm_archive **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!path || !out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_archive_open: %s is NULL", !path ? "path" : "out");
    if (flags & ~RBM_ARCHIVE_APPEND)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "rbm_archive_open: unknown flags 0x%x",
                         flags);
    if (strlen(path) >= RBM__PATH_MAX - 64)
        return rbm__fail(ctx, RBM_ERR_IO, "rbm_archive_open: path is too long");
    rbm_archive *a = rbm__calloc(ctx, 1, sizeof *a);
    if (!a)
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "rbm_archive_open: out of memory");
    a->ctx = ctx;
    a->fd = -1;
    a->flags = flags;
    memcpy(a->path, path, strlen(path) + 1);
    struct stat sb;
    rbm_status st = open_file(a, &sb);
    uint64_t size = st ? 0 : (uint64_t)sb.st_size;
    if (!st && size == 0 && (flags & RBM_ARCHIVE_APPEND)) {
        unsigned char h[HEADER_BYTES];
        memcpy(h, MAGIC, 8);
        rbm__put_u32(h + 8, VERSION);
        rbm__put_u32(h + 12, rbm__crc32(0, h, 12));
        st = write_all(a, 0, h, sizeof h);
        if (!st && fsync(a->fd) != 0)
            st = os_fail(a, "sync failed");
        size = HEADER_BYTES;
    }
    if (!st)
        st = check_header(a, size);
    if (!st)
        st = scan(a, size);
    if (!st && a->ignored && (flags & RBM_ARCHIVE_APPEND) && ftruncate(a->fd, (off_t)a->end) != 0)
        st = os_fail(a, "cannot cut off the torn tail");
    if (st) {
        rbm_archive_free(a);
        return st;
    }
    *out = a;
    return RBM_OK;
}

void rbm_archive_free(rbm_archive *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    rbm__free(a->ctx, a->models.r);
    rbm__free(a->ctx, a->spectra.r);
    rbm__free(a->ctx, a->ckpts.r);
    rbm__free(a->ctx, a);
}

uint64_t rbm_archive_ignored_bytes(const rbm_archive *a)
{
    return a ? a->ignored : 0;
}

/* ---- appending ---- */

/* Append one record (tag, payload) with one write and a data sync; on
 * failure the file is cut back (best effort) and the index is unchanged. */
static rbm_status append_record(rbm_archive *a, const char *tag, const rbm__wbuf *payload,
                                rec *out)
{
    if (!(a->flags & RBM_ARCHIVE_APPEND))
        return rbm__fail(a->ctx, RBM_ERR_STATE, "archive %s was opened read-only", a->path);
    rbm__wbuf w;
    rbm__wbuf_init(&w, a->ctx);
    rbm__wbuf_put(&w, tag, 4);
    rbm__wbuf_u32(&w, 0);
    rbm__wbuf_u64(&w, payload->len);
    rbm__wbuf_put(&w, payload->p, payload->len);
    rbm__wbuf_u32(&w, w.st ? 0 : rbm__crc32(0, w.p, w.len));
    rbm_status st = w.st;
    if (!st)
        st = write_all(a, a->end, w.p, w.len);
    if (!st && fdatasync(a->fd) != 0)
        st = os_fail(a, "sync failed");
    if (st) {
        if (ftruncate(a->fd, (off_t)a->end) != 0) {
            /* the torn record stays on disk; readers and the next open skip it */
        }
    } else {
        *out = (rec){.off = a->end + 16, .len = payload->len};
        a->end += w.len;
    }
    rbm__wbuf_free(&w);
    return st;
}

static rbm_status append_spectrum(rbm_archive *a, uint64_t step, const double *sv, size_t n)
{
    rbm__wbuf p;
    rbm__wbuf_init(&p, a->ctx);
    rbm__wbuf_u64(&p, step);
    rbm__wbuf_u64(&p, n);
    rbm__wbuf_f64s(&p, sv, n);
    rec r;
    rbm_status st = p.st ? p.st : append_record(a, "SPEC", &p, &r);
    rbm__wbuf_free(&p);
    if (!st) {
        r.step = step;
        r.n = n;
        st = list_add(a, &a->spectra, r);
    }
    return st;
}

rbm_status rbm_archive_append_spectrum(rbm_archive *a, uint64_t step, const double *sv, size_t n)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!sv || n == 0)
        return rbm__fail(a->ctx, !sv ? RBM_ERR_NULL : RBM_ERR_INVALID_ARGUMENT,
                         "rbm_archive_append_spectrum: %s", !sv ? "sv is NULL" : "n is 0");
    rbm_status st = rbm__check_finite(a->ctx, sv, n, "singular value");
    for (size_t i = 0; !st && i < n; i++)
        if (sv[i] < 0)
            st = rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                           "rbm_archive_append_spectrum: sv[%zu] = %g is negative", i, sv[i]);
    return st ? st : append_spectrum(a, step, sv, n);
}

/* The singular values of m's W into a new array (*n of them). */
static rbm_status singular_values(rbm_archive *a, const rbm_machine *m, double **out, size_t *n)
{
    rbm_svd *s = NULL;
    rbm_status st = rbm_svd_new(m, &s);
    *n = rbm_svd_rank(s);
    *out = NULL;
    if (!st)
        st = rbm__xcalloc(a->ctx, *n, sizeof **out, out, "archive spectrum");
    if (!st)
        st = rbm_svd_get_singular_values(s, *out, *n);
    rbm_svd_free(s);
    return st;
}

rbm_status rbm_archive_append_machine(rbm_archive *a, const rbm_machine *m, uint64_t step,
                                      double seconds)
{
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_archive_append_machine");
    if (potts_st)
        return potts_st;
    if (!a)
        return RBM_ERR_NULL;
    if (!m)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "rbm_archive_append_machine: m is NULL");
    if (!(a->flags & RBM_ARCHIVE_APPEND))
        return rbm__fail(a->ctx, RBM_ERR_STATE, "archive %s was opened read-only", a->path);
    if (!isfinite(seconds) || seconds < 0)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_archive_append_machine: seconds = %g", seconds);
    const rbm__machine_view *v = rbm__machine_view_of(m);
    double *sv;
    size_t nsv;
    rbm_status st = singular_values(a, m, &sv, &nsv);
    rbm__wbuf p;
    rbm__wbuf_init(&p, a->ctx);
    rbm__wbuf_u64(&p, step);
    rbm__wbuf_f64(&p, seconds);
    rbm__wbuf_u32(&p, (uint32_t)v->vk);
    rbm__wbuf_u32(&p, (uint32_t)v->hk);
    rbm__wbuf_u32(&p, (uint32_t)v->prec);
    rbm__wbuf_u32(&p, 0);
    rbm__wbuf_u64(&p, v->nv);
    rbm__wbuf_u64(&p, v->nh);
    rbm__wbuf_f64(&p, v->sigma_v);
    rbm__wbuf_f64(&p, v->sigma_h);
    rbm__wbuf_f64s(&p, v->W, v->nv * v->nh);
    rbm__wbuf_f64s(&p, v->a, v->nv);
    rbm__wbuf_f64s(&p, v->b, v->nh);
    rec r;
    if (!st)
        st = p.st ? p.st : append_record(a, "MODL", &p, &r);
    rbm__wbuf_free(&p);
    if (!st) {
        r.step = step;
        r.seconds = seconds;
        st = list_add(a, &a->models, r);
    }
    if (!st)
        st = append_spectrum(a, step, sv, nsv);
    rbm__free(a->ctx, sv);
    return st;
}

rbm_status rbm_archive_set_config(rbm_archive *a, const char *text)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!text)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "rbm_archive_set_config: text is NULL");
    size_t n = strlen(text);
    if (n > CONFIG_MAX)
        return rbm__fail(a->ctx, RBM_ERR_TOO_LARGE,
                         "rbm_archive_set_config: %zu bytes, at most %u", n, CONFIG_MAX);
    rbm__wbuf p;
    rbm__wbuf_init(&p, a->ctx);
    rbm__wbuf_put(&p, text, n);
    rec r;
    rbm_status st = p.st ? p.st : append_record(a, "CONF", &p, &r);
    rbm__wbuf_free(&p);
    if (!st)
        a->config = r;
    return st;
}

/* ---- reading ---- */

size_t rbm_archive_count(const rbm_archive *a)
{
    return a ? a->models.n : 0;
}

size_t rbm_archive_spectrum_count(const rbm_archive *a)
{
    return a ? a->spectra.n : 0;
}

static rbm_status check_index(const rbm_archive *a, size_t i, size_t n, const char *fn)
{
    if (i >= n)
        return rbm__fail(a->ctx, RBM_ERR_INVALID_ARGUMENT, "%s: index %zu, the archive has %zu",
                         fn, i, n);
    return RBM_OK;
}

rbm_status rbm_archive_info(const rbm_archive *a, size_t i, uint64_t *step, double *seconds)
{
    if (!a)
        return RBM_ERR_NULL;
    rbm_status st = check_index(a, i, a->models.n, "rbm_archive_info");
    if (st)
        return st;
    if (step)
        *step = a->models.r[i].step;
    if (seconds)
        *seconds = a->models.r[i].seconds;
    return RBM_OK;
}

rbm_status rbm_archive_spectrum_info(const rbm_archive *a, size_t i, uint64_t *step,
                                     size_t *n_values)
{
    if (!a)
        return RBM_ERR_NULL;
    rbm_status st = check_index(a, i, a->spectra.n, "rbm_archive_spectrum_info");
    if (st)
        return st;
    if (step)
        *step = a->spectra.r[i].step;
    if (n_values)
        *n_values = (size_t)a->spectra.r[i].n;
    return RBM_OK;
}

/* The payload of r, re-verified against its CRC, in a new buffer. */
static rbm_status read_payload(const rbm_archive *a, const rec *r, unsigned char **out)
{
    *out = NULL;
    unsigned char *b = NULL, fr[16], c[4];
    if (r->len > SIZE_MAX - 1)
        return rbm__fail(a->ctx, RBM_ERR_TOO_LARGE, "archive %s: record too large", a->path);
    rbm_status st = rbm__xcalloc(a->ctx, (size_t)r->len + 1, 1, &b, "archive record");
    int s1 = 0, s2 = 0, s3 = 0;
    if (!st)
        st = read_at(a, r->off - 16, fr, 16, &s1);
    if (!st)
        st = read_at(a, r->off, b, (size_t)r->len, &s2);
    if (!st)
        st = read_at(a, r->off + r->len, c, 4, &s3);
    if (!st && (s1 || s2 || s3 ||
                rbm__crc32(rbm__crc32(0, fr, 16), b, (size_t)r->len) != rbm__get_u32(c)))
        st = rbm__fail(a->ctx, RBM_ERR_BAD_FORMAT,
                       "archive %s: the record at offset %" PRIu64 " changed since it was opened",
                       a->path, r->off - 16);
    if (st) {
        rbm__free(a->ctx, b);
        return st;
    }
    *out = b;
    return RBM_OK;
}

static rbm_status decode_machine(const rbm_archive *a, const unsigned char *p, rbm_machine **out)
{
    rbm__rbuf in = rbm__rbuf_of(p + 16, MODEL_FIXED - 16);
    uint32_t vk = rbm__rbuf_u32(&in), hk = rbm__rbuf_u32(&in), prec = rbm__rbuf_u32(&in);
    (void)rbm__rbuf_u32(&in);
    size_t nv = (size_t)rbm__rbuf_u64(&in), nh = (size_t)rbm__rbuf_u64(&in);
    double sv = rbm__rbuf_f64(&in), sh = rbm__rbuf_f64(&in);
    size_t nw = nv * nh; /* checked at open (model_sizes_ok) */
    double *x = NULL;
    rbm_status st = rbm__xcalloc(a->ctx, nw + nv + nh, sizeof *x, &x, "archive model");
    for (size_t i = 0; !st && i < nw + nv + nh; i++)
        x[i] = rbm__get_f64(p + MODEL_FIXED + 8 * i);
    rbm_machine *m = NULL;
    if (!st)
        st = rbm_machine_new(a->ctx, nv, nh, (rbm_unit_kind)vk, (rbm_unit_kind)hk, &m);
    if (!st)
        st = rbm_machine_set_precision(m, (rbm_precision)prec);
    if (!st && vk == RBM_UNIT_GAUSSIAN)
        st = rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, sv);
    if (!st && hk == RBM_UNIT_GAUSSIAN)
        st = rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, sh);
    if (!st)
        st = rbm_machine_set_weights(m, x, nw);
    if (!st)
        st = rbm_machine_set_visible_bias(m, x + nw, nv);
    if (!st)
        st = rbm_machine_set_hidden_bias(m, x + nw + nv, nh);
    rbm__free(a->ctx, x);
    if (st) {
        rbm_machine_free(m);
        return rbm__fin_name_error(a->ctx, st, "archive", a->path);
    }
    *out = m;
    return RBM_OK;
}

rbm_status rbm_archive_load_machine(const rbm_archive *a, size_t i, rbm_machine **out)
{
    if (out)
        *out = NULL;
    if (!a || !out)
        return a ? rbm__fail(a->ctx, RBM_ERR_NULL, "rbm_archive_load_machine: out is NULL")
                 : RBM_ERR_NULL;
    rbm_status st = check_index(a, i, a->models.n, "rbm_archive_load_machine");
    unsigned char *p = NULL;
    if (!st)
        st = read_payload(a, &a->models.r[i], &p);
    if (!st)
        st = decode_machine(a, p, out);
    rbm__free(a->ctx, p);
    return st;
}

rbm_status rbm_archive_get_spectrum(const rbm_archive *a, size_t i, double *out, size_t len)
{
    if (!a)
        return RBM_ERR_NULL;
    rbm_status st = check_index(a, i, a->spectra.n, "rbm_archive_get_spectrum");
    if (!st)
        st = rbm__check_array(a->ctx, out, len, (size_t)a->spectra.r[i].n, "spectrum");
    unsigned char *p = NULL;
    if (!st)
        st = read_payload(a, &a->spectra.r[i], &p);
    for (size_t k = 0; !st && k < len; k++)
        out[k] = rbm__get_f64(p + 16 + 8 * k);
    rbm__free(a->ctx, p);
    return st;
}

rbm_status rbm_archive_get_config(const rbm_archive *a, char *buf, size_t cap, size_t *len)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!buf && cap)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "rbm_archive_get_config: buf is NULL");
    unsigned char *p = NULL;
    rbm_status st = a->config.len ? read_payload(a, &a->config, &p) : RBM_OK;
    if (st)
        return st;
    size_t n = (size_t)a->config.len, k = cap ? (n < cap ? n : cap - 1) : 0;
    if (cap) {
        if (k)
            memcpy(buf, p, k);
        buf[k] = '\0';
    }
    if (len)
        *len = n;
    rbm__free(a->ctx, p);
    return RBM_OK;
}

/* ---- checkpoints ---- */

size_t rbm_archive_checkpoint_count(const rbm_archive *a, uint64_t *step)
{
    if (step)
        *step = a && a->ckpts.n ? a->ckpts.r[a->ckpts.n - 1].step : 0;
    return a ? a->ckpts.n : 0;
}

rbm_status rbm_archive_append_checkpoint(rbm_archive *a, const rbm_trainer *t)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!t)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "rbm_archive_append_checkpoint: t is NULL");
    if (!(a->flags & RBM_ARCHIVE_APPEND))
        return rbm__fail(a->ctx, RBM_ERR_STATE, "archive %s was opened read-only", a->path);
    char tmp[RBM__PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.ckpt-%ld", a->path, (long)getpid());
    rbm_status st = rbm_trainer_save_checkpoint(t, tmp);
    if (st)
        return st;
    size_t n = 0;
    unsigned char *bytes = NULL;
    int fd = -1;
    struct stat sb;
    st = rbm__fin_open(a->ctx, tmp, "checkpoint", &fd, &sb);
    if (!st && (uint64_t)sb.st_size > SIZE_MAX / 2)
        st = rbm__fail(a->ctx, RBM_ERR_TOO_LARGE, "checkpoint %s is too large", tmp);
    if (!st) {
        n = (size_t)sb.st_size;
        st = rbm__xcalloc(a->ctx, n + 1, 1, &bytes, "checkpoint");
    }
    if (!st) {
        int sr;
        st = read_fd(a->ctx, fd, tmp, 0, bytes, n, &sr);
        if (!st && sr)
            st = rbm__fail(a->ctx, RBM_ERR_IO, "checkpoint %s shrank while read", tmp);
    }
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    uint64_t step = rbm_trainer_step_count(t);
    rbm__wbuf p;
    rbm__wbuf_init(&p, a->ctx);
    rbm__wbuf_u64(&p, step);
    rbm__wbuf_put(&p, bytes, n);
    rec r;
    if (!st)
        st = p.st ? p.st : append_record(a, "CKPT", &p, &r);
    rbm__wbuf_free(&p);
    rbm__free(a->ctx, bytes);
    if (!st) {
        r.step = step;
        st = list_add(a, &a->ckpts, r);
    }
    return st;
}

rbm_status rbm_archive_extract_checkpoint(const rbm_archive *a, const char *path)
{
    if (!a)
        return RBM_ERR_NULL;
    if (!path)
        return rbm__fail(a->ctx, RBM_ERR_NULL, "rbm_archive_extract_checkpoint: path is NULL");
    if (a->ckpts.n == 0)
        return rbm__fail(a->ctx, RBM_ERR_STATE, "archive %s holds no checkpoint", a->path);
    unsigned char *p = NULL;
    const rec *r = &a->ckpts.r[a->ckpts.n - 1];
    rbm_status st = read_payload(a, r, &p);
    if (st)
        return st;
    rbm__fout w;
    st = rbm__fout_open(a->ctx, path, &w);
    if (!st) {
        rbm__fout_write(&w, p + 8, (size_t)r->len - 8);
        st = rbm__fout_commit(a->ctx, &w, path);
    }
    rbm__free(a->ctx, p);
    return st;
}

/* ---- schedule ---- */

rbm_status rbm_archive_log_schedule(rbm_context *ctx, uint64_t total_steps, size_t n_saves,
                                    uint64_t *steps, size_t cap, size_t *count)
{
    if (!ctx)
        return RBM_ERR_NULL;
    if (!count || (!steps && cap))
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_archive_log_schedule: %s is NULL",
                         !count ? "count" : "steps");
    if (total_steps == 0 || n_saves < 2)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_archive_log_schedule: total_steps %" PRIu64 " and n_saves %zu "
                         "(need >= 1 and >= 2)",
                         total_steps, n_saves);
    size_t n = 0;
    uint64_t last = 0;
    double lt = log10((double)total_steps);
    for (size_t k = 0; k < n_saves; k++) {
        uint64_t s = k + 1 == n_saves ? total_steps
                                      : (uint64_t)floor(pow(10.0, lt * (double)k /
                                                                      (double)(n_saves - 1)));
        if (s < 1)
            s = 1;
        if (s > total_steps)
            s = total_steps;
        if (n && s <= last)
            continue;
        if (n < cap)
            steps[n] = s;
        n++;
        last = s;
    }
    *count = n;
    return RBM_OK;
}
