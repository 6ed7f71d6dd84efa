/* librbm — bytes: the one little-endian codec, CRC-32, a growable output
 * buffer and an input cursor, both with a sticky error so that format code
 * reads straight down and checks once.
 *
 * Every file format of the library (model files, checkpoints, the rng state,
 * NPY) encodes through these; nothing else packs integers by hand. */
#ifndef RBM_CORE_BYTES_H
#define RBM_CORE_BYTES_H

#include "core/internal.h"

#include <string.h>

/* ---- little-endian codec: p points at (at least) the encoded width ---- */

static inline void rbm__put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xFFu);
    p[1] = (unsigned char)(v >> 8);
}

static inline void rbm__put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xFFu);
}

static inline void rbm__put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xFFu);
}

/* IEEE-754 binary64, bit for bit (NaN payloads included). */
static inline void rbm__put_f64(unsigned char *p, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    rbm__put_u64(p, bits);
}

static inline uint16_t rbm__get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t rbm__get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t rbm__get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline double rbm__get_f64(const unsigned char *p)
{
    uint64_t bits = rbm__get_u64(p);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* ---- CRC-32 (zlib's polynomial), for any length ----
 * rbm__crc32(0, p, n) starts a new checksum; pass the previous value to
 * continue one. zlib's own crc32 takes a 32-bit length: this feeds it in
 * pieces. */
uint32_t rbm__crc32(uint32_t crc, const void *p, size_t n);

/* ---- errno as text: "No space left on device" into buf (cap bytes) ---- */
void rbm__errno_text(int err, char *buf, size_t cap);

/* ---- growable output buffer with a sticky error ----
 * Puts append; the first allocation failure latches st (RBM_ERR_NO_MEMORY,
 * with a message in ctx) and every later put is a no-op, so a writer is a
 * flat sequence of puts followed by one check of st. Memory comes from the
 * context's allocator; rbm__wbuf_free releases it (also after a failure). */
typedef struct rbm__wbuf {
    rbm_context *ctx;
    unsigned char *p; /* len bytes written, cap allocated */
    size_t len, cap;
    rbm_status st;    /* RBM_OK while every put has succeeded */
} rbm__wbuf;

void rbm__wbuf_init(rbm__wbuf *b, rbm_context *ctx);
void rbm__wbuf_free(rbm__wbuf *b);
void rbm__wbuf_put(rbm__wbuf *b, const void *p, size_t n);
void rbm__wbuf_u32(rbm__wbuf *b, uint32_t v);
void rbm__wbuf_u64(rbm__wbuf *b, uint64_t v);
void rbm__wbuf_f64(rbm__wbuf *b, double x);
void rbm__wbuf_f64s(rbm__wbuf *b, const double *x, size_t n);

/* ---- input cursor with a sticky short read ----
 * Reads past the end return zeros and set short_read; check it once after a
 * group of reads. */
typedef struct rbm__rbuf {
    const unsigned char *p;
    size_t len, off;
    bool short_read;
} rbm__rbuf;

static inline rbm__rbuf rbm__rbuf_of(const unsigned char *p, size_t len)
{
    return (rbm__rbuf){p, len, 0, false};
}

/* The next n bytes, or NULL (and short_read) when fewer remain. */
const unsigned char *rbm__rbuf_take(rbm__rbuf *r, size_t n);
uint32_t rbm__rbuf_u32(rbm__rbuf *r);
uint64_t rbm__rbuf_u64(rbm__rbuf *r);
double rbm__rbuf_f64(rbm__rbuf *r);
static inline size_t rbm__rbuf_left(const rbm__rbuf *r)
{
    return r->len - r->off;
}

#endif /* RBM_CORE_BYTES_H */
