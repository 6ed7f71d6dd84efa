/* librbm — model files: rbm_machine_save / rbm_machine_load.
 *
 * The byte layout is specified in docs/file-format.md; this file follows it
 * field by field. Everything on disk is little-endian and written byte by
 * byte, so the host's byte order never matters. A file is a 24-byte header
 * followed by a sequence of sections, each a 24-byte section header (tag,
 * flags, payload length, CRC-32) and its payload. */
#include "core/bytes.h"
#include "core/file_in.h"
#include "core/file_out.h"
#include "core/internal.h"
#include "model/machine_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

_Static_assert(sizeof(double) == 8, "librbm files store IEEE-754 binary64 values");

#define IO_MAGIC_LEN 8
static const unsigned char io_magic[IO_MAGIC_LEN] = {0x89, 'R', 'B', 'M', 0x0D, 0x0A, 0x1A, 0x0A};

enum {
    IO_MAJOR = 1,
    IO_MINOR = 0,       /* machines with scalar unit kinds */
    IO_MINOR_POTTS = 1, /* a Potts visible layer: q in the model section */
    IO_HEADER_BYTES = 24,
    IO_SECTION_BYTES = 24, /* section header */
    IO_MODEL_BYTES = 48,   /* payload of the 'model' section */
    IO_CHUNK = 8192,       /* I/O buffer, a multiple of 8 */
};

#define IO_FLAG_REQUIRED 0x1u

static const unsigned char tag_model[4] = {'M', 'O', 'D', 'L'};
static const unsigned char tag_params[4] = {'P', 'A', 'R', 'M'};
static const unsigned char tag_prov[4] = {'P', 'R', 'O', 'V'};

/* Printable name of a section tag: the known names, else the tag itself with
 * non-printable bytes shown as '?'. buf needs 5 bytes. */
static const char *section_name(const unsigned char tag[4], char *buf)
{
    if (memcmp(tag, tag_model, 4) == 0)
        return "model";
    if (memcmp(tag, tag_params, 4) == 0)
        return "params";
    if (memcmp(tag, tag_prov, 4) == 0)
        return "provenance";
    for (int i = 0; i < 4; i++)
        buf[i] = (tag[i] >= 0x20 && tag[i] < 0x7F && tag[i] != '\'') ? (char)tag[i] : '?';
    buf[4] = '\0';
    return buf;
}

/* ===================================================================== */
/*                                 save                                  */
/* ===================================================================== */

/* A model file being written: the atomic output file plus the running CRC
 * of the open section. */
typedef struct writer {
    rbm__fout out;
    uint32_t crc;    /* running CRC-32 of the open section */
    uint64_t crc_at; /* file offset of the open section's CRC field */
} writer;

static void w_bytes(writer *w, const unsigned char *p, size_t n)
{
    rbm__fout_write(&w->out, p, n);
}

/* Payload bytes: written and added to the section's CRC. */
static void w_payload(writer *w, const unsigned char *p, size_t n)
{
    w->crc = rbm__crc32(w->crc, p, n);
    w_bytes(w, p, n);
}

static void w_section_begin(writer *w, const unsigned char tag[4], uint32_t flags, uint64_t len)
{
    unsigned char h[IO_SECTION_BYTES];
    memcpy(h, tag, 4);
    rbm__put_u32(h + 4, flags);
    rbm__put_u64(h + 8, len);
    rbm__put_u32(h + 16, 0);          /* reserved */
    rbm__put_u32(h + 20, 0);          /* CRC, patched by w_section_end */
    w->crc = rbm__crc32(0, h, 20); /* the CRC covers header bytes 0..19 */
    w->crc_at = rbm__fout_tell(&w->out) + 20;
    w_bytes(w, h, sizeof h);
}

/* Write the section's CRC into its header. */
static void w_section_end(writer *w)
{
    unsigned char c[4];
    rbm__put_u32(c, w->crc);
    rbm__fout_patch(&w->out, c, sizeof c, w->crc_at);
}

/* Encode n doubles as binary64 little-endian payload. */
static void w_doubles(writer *w, const double *x, size_t n)
{
    unsigned char chunk[IO_CHUNK];
    const size_t per = sizeof chunk / 8;
    while (n > 0 && w->out.err == 0) {
        size_t take = n < per ? n : per;
        for (size_t i = 0; i < take; i++)
            rbm__put_f64(chunk + 8 * i, x[i]);
        w_payload(w, chunk, 8 * take);
        x += take;
        n -= take;
    }
}

static double stored_sigma(double s)
{
    /* The sigma of a discrete layer is unused; keep the file valid whatever
     * it holds (readers require a finite positive value). */
    return (isfinite(s) && s > 0) ? s : 1.0;
}

static void write_machine(writer *w, const rbm_machine *m, const char *extra_tag,
                          const unsigned char *extra, size_t extra_len)
{
    unsigned char h[IO_HEADER_BYTES];
    memcpy(h, io_magic, IO_MAGIC_LEN);
    rbm__put_u16(h + 8, IO_MAJOR);
    rbm__put_u16(h + 10, m->vk == RBM_UNIT_POTTS ? IO_MINOR_POTTS : IO_MINOR);
    size_t plen = m->provenance ? strlen(m->provenance) : 0;
    rbm__put_u32(h + 12, 2 + (plen > 0) + (extra_tag != NULL)); /* section count */
    rbm__put_u32(h + 16, 0); /* flags */
    rbm__put_u32(h + 20, rbm__crc32(0, h, 20));
    w_bytes(w, h, sizeof h);

    unsigned char p[IO_MODEL_BYTES];
    rbm__put_u64(p + 0, (uint64_t)m->nv);
    rbm__put_u64(p + 8, (uint64_t)m->nh);
    rbm__put_u32(p + 16, (uint32_t)m->vk);
    rbm__put_u32(p + 20, (uint32_t)m->hk);
    rbm__put_f64(p + 24, stored_sigma(m->sigma_v));
    rbm__put_f64(p + 32, stored_sigma(m->sigma_h));
    rbm__put_u32(p + 40, (uint32_t)m->prec);
    rbm__put_u32(p + 44, m->vk == RBM_UNIT_POTTS ? (uint32_t)m->nq : 0); /* 0: reserved */
    w_section_begin(w, tag_model, IO_FLAG_REQUIRED, sizeof p);
    w_payload(w, p, sizeof p);
    w_section_end(w);

    /* The machine exists in memory, so these products cannot overflow. */
    uint64_t count = (uint64_t)m->nvw * m->nh + m->nvw + m->nh;
    w_section_begin(w, tag_params, IO_FLAG_REQUIRED, 8 * count);
    w_doubles(w, m->W, m->nvw * m->nh);
    w_doubles(w, m->a, m->nvw);
    w_doubles(w, m->b, m->nh);
    w_section_end(w);

    if (plen > 0) { /* optional: the data's provenance */
        w_section_begin(w, tag_prov, 0, plen);
        w_payload(w, (const unsigned char *)m->provenance, plen);
        w_section_end(w);
    }
    if (extra_tag) { /* an optional section (training state) */
        w_section_begin(w, (const unsigned char *)extra_tag, 0, extra_len);
        w_payload(w, extra, extra_len);
        w_section_end(w);
    }
}

rbm_status rbm__io_save(const rbm_machine *m, const char *path, const char *extra_tag,
                        const unsigned char *extra, size_t extra_len)
{
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = m->ctx;
    if (!path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_save: path is NULL");
    writer w = {.crc = 0, .crc_at = 0};
    rbm_status st = rbm__fout_open(ctx, path, &w.out);
    if (st)
        return st;
    write_machine(&w, m, extra_tag, extra, extra_len);
    return rbm__fout_commit(ctx, &w.out, path);
}

/* ===================================================================== */
/*                                 load                                  */
/* ===================================================================== */

typedef struct reader {
    rbm_context *ctx;
    const char *path;
    int fd;
    uint64_t size; /* file size from fstat */
    uint64_t off;  /* offset of the next byte read() returns */
} reader;

static rbm_status bad(reader *r, const char *fmt, ...) RBM__PRINTF(2, 3);

static rbm_status bad(reader *r, const char *fmt, ...)
{
    char msg[RBM__ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rbm__fail(r->ctx, RBM_ERR_BAD_FORMAT, "%s: %s", r->path, msg);
}

/* Read exactly n bytes at the current offset. Lengths are checked against
 * the file size before every read, so a short read means the file shrank
 * while being read. */
static rbm_status r_read(reader *r, unsigned char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = read(r->fd, p + done, n - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return rbm__io_fail(r->ctx, errno, "cannot read", r->path);
        }
        if (k == 0)
            return bad(r, "truncated: file ended at offset %" PRIu64 " while reading (it shrank "
                          "while being read)", r->off + done);
        done += (size_t)k;
    }
    r->off += n;
    return RBM_OK;
}

/* Model description from the 'model' section. */
typedef struct model_info {
    size_t nv, nh;
    size_t nq, nvw; /* states per visible unit (1 unless Potts), nv * nq */
    rbm_unit_kind vk, hk;
    double sigma_v, sigma_h;
    rbm_precision prec;
    uint64_t params_bytes; /* required payload length of 'params' */
} model_info;

static rbm_status parse_model(reader *r, const unsigned char *p, uint64_t at, model_info *mi)
{
    uint64_t nv = rbm__get_u64(p + 0), nh = rbm__get_u64(p + 8);
    uint32_t vk = rbm__get_u32(p + 16), hk = rbm__get_u32(p + 20);
    double sv = rbm__get_f64(p + 24), sh = rbm__get_f64(p + 32);
    uint32_t prec = rbm__get_u32(p + 40);
    uint32_t nq = vk == RBM_UNIT_POTTS ? rbm__get_u32(p + 44) : 1;

    if (nv == 0)
        return bad(r, "section 'model': n_visible (offset %" PRIu64 ") is 0", at);
    if (nh == 0)
        return bad(r, "section 'model': n_hidden (offset %" PRIu64 ") is 0", at + 8);
    if (vk > RBM_UNIT_POTTS)
        return bad(r, "section 'model': visible unit kind %" PRIu32 " (offset %" PRIu64
                      ") is not 0, 1, 2 or 3", vk, at + 16);
    if (vk == RBM_UNIT_POTTS && (nq < 2 || nq > 255))
        return bad(r, "section 'model': %" PRIu32 " Potts states (offset %" PRIu64
                      ") is not in 2..255", nq, at + 44);
    if (hk > RBM_UNIT_GAUSSIAN)
        return bad(r, "section 'model': hidden unit kind %" PRIu32 " (offset %" PRIu64
                      ") is not 0, 1 or 2", hk, at + 20);
    if (prec > RBM_PRECISION_FLOAT32)
        return bad(r, "section 'model': precision %" PRIu32 " (offset %" PRIu64
                      ") is not 0 or 1", prec, at + 40);
    /* the range rbm_machine_set_sigma accepts for the stored precision */
    double lo, hi;
    rbm__sigma_range((rbm_precision)prec, &lo, &hi);
    if (!rbm__sigma_ok(sv, (rbm_precision)prec))
        return bad(r, "section 'model': sigma_v %g (offset %" PRIu64 ") is outside [%.17g, %.17g]",
                   sv, at + 24, lo, hi);
    if (!rbm__sigma_ok(sh, (rbm_precision)prec))
        return bad(r, "section 'model': sigma_h %g (offset %" PRIu64 ") is outside [%.17g, %.17g]",
                   sh, at + 32, lo, hi);

    /* 8 * (nvw*nh + nvw + nh) bytes of parameters must be representable,
     * nvw = nv * q the rows of W. */
    uint64_t nvw, nw, count, bytes;
    if (nv > SIZE_MAX || nh > SIZE_MAX || __builtin_mul_overflow(nv, (uint64_t)nq, &nvw) ||
        __builtin_mul_overflow(nvw, nh, &nw) ||
        __builtin_add_overflow(nw, nvw, &count) || __builtin_add_overflow(count, nh, &count) ||
        __builtin_mul_overflow(count, (uint64_t)8, &bytes) || bytes > SIZE_MAX)
        return rbm__fail(r->ctx, RBM_ERR_TOO_LARGE,
                         "%s: section 'model': a %" PRIu64 " x %" PRIu64
                         " machine is too large for this host", r->path, nv, nh);

    mi->nv = (size_t)nv;
    mi->nh = (size_t)nh;
    mi->nq = nq;
    mi->nvw = (size_t)nvw;
    mi->vk = (rbm_unit_kind)vk;
    mi->hk = (rbm_unit_kind)hk;
    mi->sigma_v = sv;
    mi->sigma_h = sh;
    mi->prec = (rbm_precision)prec;
    mi->params_bytes = bytes;
    return RBM_OK;
}

static rbm_status check_crc(reader *r, const char *name, uint64_t at, uint32_t stored,
                            uint32_t computed)
{
    if (stored == computed)
        return RBM_OK;
    return bad(r, "checksum mismatch in section '%s' at offset %" PRIu64
                  " (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
               name, at, stored, computed);
}

/* Read the 'params' payload (len bytes at r->off, already checked against
 * the file size and the model) into a new machine. */
static rbm_status load_params(reader *r, const model_info *mi, uint32_t crc, uint32_t stored,
                              uint64_t at, rbm_machine **out)
{
    rbm_machine *m = NULL;
    rbm_status st = mi->vk == RBM_UNIT_POTTS
                        ? rbm_machine_new_potts(r->ctx, mi->nv, mi->nq, mi->nh, mi->hk, &m)
                        : rbm_machine_new(r->ctx, mi->nv, mi->nh, mi->vk, mi->hk, &m);
    if (st != RBM_OK)
        return st;
    *out = m;
    m->sigma_v = mi->sigma_v;
    m->sigma_h = mi->sigma_h;
    if (mi->prec != RBM_PRECISION_FLOAT64) {
        st = rbm_machine_set_precision(m, mi->prec);
        if (st != RBM_OK)
            return st;
    }

    const size_t nw = mi->nvw * mi->nh;
    const size_t total = nw + mi->nvw + mi->nh;
    size_t bad_index = SIZE_MAX;
    double bad_value = 0;
    const bool f32 = mi->prec == RBM_PRECISION_FLOAT32;
    unsigned char chunk[IO_CHUNK];
    size_t k = 0;
    while (k < total) {
        size_t take = total - k < sizeof chunk / 8 ? total - k : sizeof chunk / 8;
        st = r_read(r, chunk, 8 * take);
        if (st != RBM_OK)
            return st;
        crc = rbm__crc32(crc, chunk, 8 * take);
        for (size_t i = 0; i < take; i++, k++) {
            double x = rbm__get_f64(chunk + 8 * i);
            if (!(f32 ? isfinite((float)x) : isfinite(x)) && bad_index == SIZE_MAX) {
                bad_index = k;
                bad_value = x;
            }
            if (k < nw)
                m->W[k] = x;
            else if (k < nw + mi->nvw)
                m->a[k - nw] = x;
            else
                m->b[k - nw - mi->nvw] = x;
        }
    }
    st = check_crc(r, "params", at, stored, crc);
    if (st != RBM_OK)
        return st;
    if (bad_index != SIZE_MAX) {
        const char *arr = bad_index < nw ? "W" : bad_index < nw + mi->nvw ? "a" : "b";
        size_t idx = bad_index < nw ? bad_index
                     : bad_index < nw + mi->nvw ? bad_index - nw
                                                : bad_index - nw - mi->nvw;
        if (isfinite(bad_value))
            return bad(r,
                       "section 'params': %s[%zu] (offset %" PRIu64 ") is %g, beyond the "
                       "float32 range of this float32 model",
                       arr, idx, at + IO_SECTION_BYTES + 8 * (uint64_t)bad_index, bad_value);
        return bad(r, "section 'params': %s[%zu] (offset %" PRIu64 ") is %s", arr, idx,
                   at + IO_SECTION_BYTES + 8 * (uint64_t)bad_index,
                   isnan(bad_value) ? "NaN" : "infinite");
    }
    st = rbm__machine_check_normalizable(m, m->W, m->sigma_v, m->sigma_h);
    if (st != RBM_OK)
        return st;
    rbm__machine_sync(m);
    return RBM_OK;
}

/* Stream over a payload of len bytes, folding it into crc. */
static rbm_status skip_payload(reader *r, uint64_t len, uint32_t *crc)
{
    unsigned char chunk[IO_CHUNK];
    while (len > 0) {
        size_t take = len < sizeof chunk ? (size_t)len : sizeof chunk;
        rbm_status st = r_read(r, chunk, take);
        if (st != RBM_OK)
            return st;
        *crc = rbm__crc32(*crc, chunk, take);
        len -= take;
    }
    return RBM_OK;
}

/* The 24-byte file header: magic, version, CRC; *count the declared number
 * of sections (checked against the file size). */
static rbm_status read_file_header(reader *r, uint32_t *count)
{
    unsigned char h[IO_HEADER_BYTES];
    size_t have = r->size < sizeof h ? (size_t)r->size : sizeof h;
    rbm_status st = r_read(r, h, have);
    if (st != RBM_OK)
        return st;
    size_t cmp = have < IO_MAGIC_LEN ? have : IO_MAGIC_LEN;
    if (memcmp(h, io_magic, cmp) != 0)
        return bad(r, "not a librbm model file (wrong magic at offset 0)");
    if (have < sizeof h)
        return bad(r, "truncated: header needs %d bytes at offset 0, file has %" PRIu64,
                   IO_HEADER_BYTES, r->size);
    unsigned major = rbm__get_u16(h + 8), minor = rbm__get_u16(h + 10);
    if (major != IO_MAJOR)
        return bad(r, "format version %u.%u (offset 8) is not supported; this librbm reads "
                      "version %d.x", major, minor, IO_MAJOR);
    uint32_t crc = rbm__crc32(0, h, 20);
    uint32_t stored = rbm__get_u32(h + 20);
    if (crc != stored)
        return bad(r, "checksum mismatch in the file header (stored 0x%08" PRIx32
                      ", computed 0x%08" PRIx32 ")", stored, crc);
    *count = rbm__get_u32(h + 12);
    if ((uint64_t)*count * IO_SECTION_BYTES > r->size - IO_HEADER_BYTES)
        return bad(r, "truncated: header declares %" PRIu32 " sections, a file of %" PRIu64
                      " bytes has room for at most %" PRIu64, *count, r->size,
                   (r->size - IO_HEADER_BYTES) / IO_SECTION_BYTES);
    return RBM_OK;
}

/* One section being read: its header fields and the CRC of those bytes. */
typedef struct section {
    uint64_t at;     /* file offset of the section header */
    const char *name;
    uint32_t flags;
    uint64_t len;    /* payload bytes */
    uint32_t stored; /* CRC from the header */
    uint32_t crc;    /* CRC of header bytes 0..19, to continue over the payload */
} section;

/* What the sections seen so far have given. */
typedef struct load_state {
    model_info mi;
    bool have_model, have_params, have_prov;
    rbm_machine **out;
    const char *want_tag;
    unsigned char **extra;
    size_t *extra_len;
} load_state;

static rbm_status read_model_section(reader *r, const section *sec, load_state *ls)
{
    if (ls->have_model)
        return bad(r, "second section 'model' at offset %" PRIu64, sec->at);
    if (sec->len != IO_MODEL_BYTES)
        return bad(r, "section 'model' at offset %" PRIu64 " has %" PRIu64 " bytes, expected %d",
                   sec->at, sec->len, IO_MODEL_BYTES);
    unsigned char p[IO_MODEL_BYTES];
    rbm_status st = r_read(r, p, sizeof p);
    if (st == RBM_OK)
        st = check_crc(r, sec->name, sec->at, sec->stored, rbm__crc32(sec->crc, p, sizeof p));
    if (st == RBM_OK)
        st = parse_model(r, p, sec->at + IO_SECTION_BYTES, &ls->mi);
    ls->have_model = st == RBM_OK;
    return st;
}

static rbm_status read_params_section(reader *r, const section *sec, load_state *ls)
{
    if (ls->have_params)
        return bad(r, "second section 'params' at offset %" PRIu64, sec->at);
    if (!ls->have_model)
        return bad(r, "section 'params' at offset %" PRIu64 " comes before section 'model'",
                   sec->at);
    if (sec->len != ls->mi.params_bytes)
        return bad(r, "section 'params' at offset %" PRIu64 " has %" PRIu64
                      " bytes, a %zu x %zu machine needs %" PRIu64,
                   sec->at, sec->len, ls->mi.nv, ls->mi.nh, ls->mi.params_bytes);
    rbm_status st = load_params(r, &ls->mi, sec->crc, sec->stored, sec->at, ls->out);
    ls->have_params = st == RBM_OK;
    return st;
}

/* The optional section the caller asked for: len is already known to fit in
 * the rest of the file. */
/* The payload of sec (len already known to fit in the rest of the file)
 * into a new zeroed buffer of len + 1 bytes (so a text payload is
 * NUL-terminated), CRC checked; *out is NULL on failure. */
static rbm_status read_payload(reader *r, const section *sec, unsigned char **out)
{
    *out = NULL;
    if (sec->len >= SIZE_MAX)
        return rbm__fail(r->ctx, RBM_ERR_TOO_LARGE, "%s: section '%s' is too large", r->path,
                         sec->name);
    size_t len = (size_t)sec->len;
    rbm_status st = rbm__xcalloc(r->ctx, len + 1, 1, out, "file section");
    if (st == RBM_OK)
        st = r_read(r, *out, len);
    if (st == RBM_OK)
        st = check_crc(r, sec->name, sec->at, sec->stored, rbm__crc32(sec->crc, *out, len));
    if (st != RBM_OK) {
        rbm__free(r->ctx, *out);
        *out = NULL;
    }
    return st;
}

static rbm_status read_extra_section(reader *r, const section *sec, load_state *ls)
{
    rbm_status st = read_payload(r, sec, ls->extra);
    if (st == RBM_OK)
        *ls->extra_len = (size_t)sec->len;
    return st;
}

/* The provenance text: at most RBM_PROVENANCE_MAX bytes, no NUL, attached
 * to the machine (which the params section has made). */
static rbm_status read_prov_section(reader *r, const section *sec, load_state *ls)
{
    if (ls->have_prov)
        return bad(r, "second section 'provenance' at offset %" PRIu64, sec->at);
    if (!ls->have_params)
        return bad(r, "section 'provenance' at offset %" PRIu64 " comes before section 'params'",
                   sec->at);
    if (sec->len == 0 || sec->len > RBM_PROVENANCE_MAX)
        return bad(r, "section 'provenance' at offset %" PRIu64 " has %" PRIu64
                      " bytes, expected 1 to %d",
                   sec->at, sec->len, RBM_PROVENANCE_MAX);
    size_t len = (size_t)sec->len;
    unsigned char *bytes;
    rbm_status st = read_payload(r, sec, &bytes);
    if (st)
        return st;
    char *text = (char *)bytes;
    if (strlen(text) != len)
        st = bad(r, "section 'provenance' at offset %" PRIu64 " holds a NUL byte at offset %" PRIu64,
                 sec->at, sec->at + IO_SECTION_BYTES + strlen(text));
    if (st != RBM_OK) {
        rbm__free(r->ctx, text);
        return st;
    }
    rbm__free(r->ctx, (*ls->out)->provenance);
    (*ls->out)->provenance = text;
    ls->have_prov = true;
    return RBM_OK;
}

/* Unknown section: verify it, then skip it unless it is required. */
static rbm_status skip_section(reader *r, const section *sec)
{
    uint32_t crc = sec->crc;
    rbm_status st = skip_payload(r, sec->len, &crc);
    if (st == RBM_OK)
        st = check_crc(r, sec->name, sec->at, sec->stored, crc);
    if (st == RBM_OK && (sec->flags & IO_FLAG_REQUIRED))
        return bad(r, "section '%s' at offset %" PRIu64
                      " is required but not supported by this librbm", sec->name, sec->at);
    return st;
}

/* Section i of count: read its header and dispatch on its tag. */
static rbm_status read_section(reader *r, uint32_t i, uint32_t count, load_state *ls)
{
    section sec = {.at = r->off};
    unsigned char s[IO_SECTION_BYTES];
    if (r->size - sec.at < sizeof s)
        return bad(r, "truncated: header of section %" PRIu32 " of %" PRIu32
                      " needs %d bytes at offset %" PRIu64 ", file has %" PRIu64,
                   i + 1, count, IO_SECTION_BYTES, sec.at, r->size);
    rbm_status st = r_read(r, s, sizeof s);
    if (st != RBM_OK)
        return st;
    char namebuf[5];
    sec.name = section_name(s, namebuf);
    sec.flags = rbm__get_u32(s + 4);
    sec.len = rbm__get_u64(s + 8);
    sec.stored = rbm__get_u32(s + 20);
    sec.crc = rbm__crc32(0, s, 20);
    if (sec.len > r->size - r->off)
        return bad(r, "truncated: section '%s' needs %" PRIu64 " bytes at offset %" PRIu64
                      ", file has %" PRIu64, sec.name, sec.len, r->off, r->size);
    if (memcmp(s, tag_model, 4) == 0)
        return read_model_section(r, &sec, ls);
    if (memcmp(s, tag_params, 4) == 0)
        return read_params_section(r, &sec, ls);
    if (memcmp(s, tag_prov, 4) == 0 && !(sec.flags & IO_FLAG_REQUIRED))
        return read_prov_section(r, &sec, ls);
    if (ls->want_tag && memcmp(s, ls->want_tag, 4) == 0) {
        /* Optional by the format, so that every model reader skips it: with
         * the required bit set, rbm_machine_load would refuse the file. */
        if (sec.flags & IO_FLAG_REQUIRED)
            return bad(r, "section '%s' at offset %" PRIu64 " has the required bit set (flags "
                          "%" PRIu32 "); it must be clear",
                       sec.name, sec.at, sec.flags);
        if (*ls->extra)
            return bad(r, "section '%s' appears a second time (section %" PRIu32 " of %" PRIu32
                          ", offset %" PRIu64 ")",
                       sec.name, i + 1, count, sec.at);
        return read_extra_section(r, &sec, ls);
    }
    return skip_section(r, &sec);
}

static rbm_status load_file(reader *r, rbm_machine **out, const char *want_tag,
                            unsigned char **extra, size_t *extra_len)
{
    uint32_t count = 0;
    rbm_status st = read_file_header(r, &count);
    if (st != RBM_OK)
        return st;
    load_state ls = {.out = out, .want_tag = want_tag, .extra = extra, .extra_len = extra_len};
    for (uint32_t i = 0; i < count; i++)
        if ((st = read_section(r, i, count, &ls)) != RBM_OK)
            return st;
    if (!ls.have_model)
        return bad(r, "missing section 'model'");
    if (!ls.have_params)
        return bad(r, "missing section 'params'");
    if (r->off != r->size)
        return bad(r, "%" PRIu64 " unexpected bytes after the last section (offset %" PRIu64 ")",
                   r->size - r->off, r->off);
    return RBM_OK;
}

rbm_status rbm__io_load(rbm_context *ctx, const char *path, rbm_machine **out,
                        const char *want_tag, unsigned char **extra, size_t *extra_len)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_load: out is NULL");
    if (!path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_load: path is NULL");

    int fd;
    struct stat sb;
    rbm_status ost = rbm__fin_open(ctx, path, "model file", &fd, &sb);
    if (ost)
        return ost;
    reader r = {ctx, path, fd, (uint64_t)sb.st_size, 0};
    rbm_machine *m = NULL;
    if (extra) {
        *extra = NULL;
        *extra_len = 0;
    }
    rbm_status st = load_file(&r, &m, extra ? want_tag : NULL, extra, extra_len);
    close(fd);
    if (st != RBM_OK) {
        rbm__fin_name_error(ctx, st, "model file", path);
        rbm_machine_free(m);
        if (extra) {
            rbm__free(ctx, *extra);
            *extra = NULL;
        }
        return st;
    }
    *out = m;
    return RBM_OK;
}

rbm_status rbm_machine_save(const rbm_machine *m, const char *path)
{
    return rbm__io_save(m, path, NULL, NULL, 0);
}

rbm_status rbm_machine_set_provenance(rbm_machine *m, const char *text)
{
    if (!m)
        return RBM_ERR_NULL;
    char *copy = NULL;
    if (text) {
        size_t len = strlen(text);
        if (len > RBM_PROVENANCE_MAX)
            return rbm__fail(m->ctx, RBM_ERR_TOO_LARGE,
                             "rbm_machine_set_provenance: %zu bytes, at most %d", len,
                             RBM_PROVENANCE_MAX);
        if (len > 0) {
            rbm_status st = rbm__xcalloc(m->ctx, len + 1, 1, &copy, "provenance");
            if (st)
                return st;
            memcpy(copy, text, len);
        }
    }
    rbm__free(m->ctx, m->provenance);
    m->provenance = copy;
    return RBM_OK;
}

const char *rbm_machine_provenance(const rbm_machine *m)
{
    return m ? m->provenance : NULL;
}

rbm_status rbm_machine_load(rbm_context *ctx, const char *path, rbm_machine **out)
{
    return rbm__io_load(ctx, path, out, NULL, NULL, NULL);
}
