#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rbm_assert_close(double a, double b, double rtol, double atol, const char *what)
{
    double tol = atol + rtol * fabs(b);
    if (!(fabs(a - b) <= tol))
        fail_msg("%s: got %.17g, expected %.17g (|diff| %.3g > tol %.3g)", what, a, b,
                 fabs(a - b), tol);
}

rbm_context *rbm_test_context(void)
{
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK || !ctx)
        fail_msg("cannot create a context");
    return ctx;
}

static uint64_t g_rs = 1;

void r_seed_offset(uint64_t s, uint64_t c)
{
    g_rs = s * UINT64_C(0x2545F4914F6CDD1D) + c;
}

void r_set_state(uint64_t s)
{
    g_rs = s;
}

void r_seed(uint64_t s)
{
    r_seed_offset(s, 12345);
}

uint64_t r_u64(void)
{
    uint64_t z = (g_rs += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double r_unif(void)
{
    return ((double)(r_u64() >> 11) + 0.5) / 9007199254740992.0;
}

double r_norm(void)
{
    double u1 = r_unif(), u2 = r_unif();
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void *xzalloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p)
        fail_msg("test: out of memory");
    return p;
}

void tbuf_put(tbuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

rbm_status rbm_test_estimator(rbm_machine *m, rbm_estimator_kind kind, size_t k, size_t chains,
                              size_t max_batch, uint64_t seed, rbm_estimator **out)
{
    rbm_status st = rbm_estimator_new(m, kind, max_batch, seed, out);
    if (st)
        return st;
    if ((k > 0 && (st = rbm_estimator_set_int(*out, RBM_ESTIMATOR_K, (int64_t)k)) != RBM_OK) ||
        (chains > 0 && kind != RBM_ESTIMATOR_CD && kind != RBM_ESTIMATOR_EXACT &&
         (st = rbm_estimator_set_int(*out, RBM_ESTIMATOR_CHAINS, (int64_t)chains)) != RBM_OK)) {
        rbm_estimator_free(*out);
        *out = NULL;
    }
    return st;
}

uint32_t rbm_test_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

unsigned char *rbm_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

void rbm_test_steps(rbm_context *ctx, rbm_trainer *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE)
            fail_msg("step %zu: %s (%s)", i, rbm_status_name(st), rbm_context_last_error(ctx));
    }
}
