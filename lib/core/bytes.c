/* librbm — bytes: CRC-32, errno text, growable buffer, input cursor. */
#include "core/bytes.h"

#include <stdio.h>
#include <zlib.h>

uint32_t rbm__crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *q = p;
    uLong c = crc;
    while (n > 0) {
        uInt piece = n > 0x40000000u ? 0x40000000u : (uInt)n;
        c = crc32(c, q, piece);
        q += piece;
        n -= piece;
    }
    return (uint32_t)c;
}

void rbm__errno_text(int err, char *buf, size_t cap)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *s = strerror_r(err, buf, cap);
    if (s != buf)
        snprintf(buf, cap, "%s", s);
#else
    if (strerror_r(err, buf, cap) != 0)
        snprintf(buf, cap, "error %d", err);
#endif
}

void rbm__wbuf_init(rbm__wbuf *b, rbm_context *ctx)
{
    *b = (rbm__wbuf){ctx, NULL, 0, 0, RBM_OK};
}

void rbm__wbuf_free(rbm__wbuf *b)
{
    rbm__free(b->ctx, b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Room for n more bytes: grow geometrically (x2, from 256). */
static bool wbuf_reserve(rbm__wbuf *b, size_t n)
{
    if (b->st)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t need;
    if (__builtin_add_overflow(b->len, n, &need)) {
        b->st = rbm__fail(b->ctx, RBM_ERR_TOO_LARGE, "buffer of more than SIZE_MAX bytes");
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
    unsigned char *q = rbm__alloc(b->ctx, cap);
    if (!q) {
        b->st = rbm__fail(b->ctx, RBM_ERR_NO_MEMORY, "cannot allocate %zu bytes", cap);
        return false;
    }
    if (b->len)
        memcpy(q, b->p, b->len);
    rbm__free(b->ctx, b->p);
    b->p = q;
    b->cap = cap;
    return true;
}

void rbm__wbuf_put(rbm__wbuf *b, const void *p, size_t n)
{
    if (n == 0 || !wbuf_reserve(b, n))
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void rbm__wbuf_u32(rbm__wbuf *b, uint32_t v)
{
    unsigned char q[4];
    rbm__put_u32(q, v);
    rbm__wbuf_put(b, q, sizeof q);
}

void rbm__wbuf_u64(rbm__wbuf *b, uint64_t v)
{
    unsigned char q[8];
    rbm__put_u64(q, v);
    rbm__wbuf_put(b, q, sizeof q);
}

void rbm__wbuf_f64(rbm__wbuf *b, double x)
{
    unsigned char q[8];
    rbm__put_f64(q, x);
    rbm__wbuf_put(b, q, sizeof q);
}

void rbm__wbuf_f64s(rbm__wbuf *b, const double *x, size_t n)
{
    size_t bytes;
    if (!rbm__mul_ok(n, 8, &bytes)) {
        if (!b->st)
            b->st = rbm__fail(b->ctx, RBM_ERR_TOO_LARGE, "buffer of more than SIZE_MAX bytes");
        return;
    }
    if (!wbuf_reserve(b, bytes))
        return;
    for (size_t i = 0; i < n; i++)
        rbm__put_f64(b->p + b->len + 8 * i, x[i]);
    b->len += bytes;
}

const unsigned char *rbm__rbuf_take(rbm__rbuf *r, size_t n)
{
    if (r->short_read || r->len - r->off < n) {
        r->short_read = true;
        return NULL;
    }
    const unsigned char *q = r->p + r->off;
    r->off += n;
    return q;
}

uint32_t rbm__rbuf_u32(rbm__rbuf *r)
{
    const unsigned char *q = rbm__rbuf_take(r, 4);
    return q ? rbm__get_u32(q) : 0;
}

uint64_t rbm__rbuf_u64(rbm__rbuf *r)
{
    const unsigned char *q = rbm__rbuf_take(r, 8);
    return q ? rbm__get_u64(q) : 0;
}

double rbm__rbuf_f64(rbm__rbuf *r)
{
    const unsigned char *q = rbm__rbuf_take(r, 8);
    return q ? rbm__get_f64(q) : 0.0;
}
