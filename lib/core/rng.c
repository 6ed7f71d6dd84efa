/* librbm — xoshiro256** seeded by splitmix64; Marsaglia polar normals. */
#include "core/bytes.h"
#include "core/internal.h"
#include "core/seed.h"

#include <math.h>
#include <string.h>

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rbm__rng_seed(rbm_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = rbm__seed_mix(seed, (uint64_t)i + 1);
    r->has_spare = 0;
    r->spare = 0.0;
}

void rbm__rng_init(rbm_rng *r, rbm_context *ctx, uint64_t seed)
{
    r->ctx = ctx;
    rbm__rng_seed(r, seed);
}

uint64_t rbm__rng_next(rbm_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rbm__rng_uniform(rbm_rng *r)
{
    return (double)(rbm__rng_next(r) >> 11) * 0x1.0p-53;
}

double rbm__rng_normal(rbm_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, q;
    do {
        u = 2.0 * rbm__rng_uniform(r) - 1.0;
        v = 2.0 * rbm__rng_uniform(r) - 1.0;
        q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    double f = sqrt(-2.0 * log(q) / q);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

rbm_status rbm_rng_new(rbm_context *ctx, uint64_t seed, rbm_rng **out)
{
    if (!out)
        return ctx ? rbm__fail(ctx, RBM_ERR_NULL, "rbm_rng_new: out is NULL") : RBM_ERR_NULL;
    *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    rbm_rng *r;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *r, &r, "rng");
    if (st)
        return st;
    rbm__rng_init(r, ctx, seed);
    *out = r;
    return RBM_OK;
}

void rbm_rng_free(rbm_rng *rng)
{
    if (rng)
        rbm__free(rng->ctx, rng);
}

rbm_status rbm_rng_seed(rbm_rng *rng, uint64_t seed)
{
    if (!rng)
        return RBM_ERR_NULL;
    rbm__rng_seed(rng, seed);
    return RBM_OK;
}

uint64_t rbm_rng_next_u64(rbm_rng *rng)
{
    return rng ? rbm__rng_next(rng) : 0;
}

double rbm_rng_uniform(rbm_rng *rng)
{
    return rng ? rbm__rng_uniform(rng) : 0.0;
}

double rbm_rng_normal(rbm_rng *rng)
{
    return rng ? rbm__rng_normal(rng) : 0.0;
}

rbm_status rbm_rng_get_state(const rbm_rng *rng, uint8_t *buf, size_t len)
{
    if (!rng)
        return RBM_ERR_NULL;
    if (!buf)
        return rbm__fail(rng->ctx, RBM_ERR_NULL, "rbm_rng_get_state: buf is NULL");
    if (len < RBM_RNG_STATE_BYTES)
        return rbm__fail(rng->ctx, RBM_ERR_SHAPE, "rng state buffer has %zu bytes, needs %d", len,
                         RBM_RNG_STATE_BYTES);
    for (int i = 0; i < 4; i++)
        rbm__put_u64(buf + 8 * i, rng->s[i]);
    uint64_t bits;
    memcpy(&bits, &rng->spare, sizeof bits);
    rbm__put_u64(buf + 32, rng->has_spare ? 1u : 0u);
    rbm__put_u64(buf + 40, bits);
    return RBM_OK;
}

rbm_status rbm_rng_set_state(rbm_rng *rng, const uint8_t *buf, size_t len)
{
    if (!rng)
        return RBM_ERR_NULL;
    if (!buf)
        return rbm__fail(rng->ctx, RBM_ERR_NULL, "rbm_rng_set_state: buf is NULL");
    if (len < RBM_RNG_STATE_BYTES)
        return rbm__fail(rng->ctx, RBM_ERR_SHAPE, "rng state buffer has %zu bytes, needs %d", len,
                         RBM_RNG_STATE_BYTES);
    uint64_t s[4];
    for (int i = 0; i < 4; i++)
        s[i] = rbm__get_u64(buf + 8 * i);
    uint64_t flag = rbm__get_u64(buf + 32);
    if ((s[0] | s[1] | s[2] | s[3]) == 0 || flag > 1)
        return rbm__fail(rng->ctx, RBM_ERR_BAD_FORMAT,
                         "rng state is invalid (all-zero generator state or bad spare flag)");
    uint64_t bits = rbm__get_u64(buf + 40);
    double spare;
    memcpy(&spare, &bits, sizeof spare);
    if (flag && !isfinite(spare))
        return rbm__fail(rng->ctx, RBM_ERR_BAD_FORMAT,
                         "rng state is invalid (its cached normal deviate is not finite)");
    memcpy(rng->s, s, sizeof s);
    rng->has_spare = (int)flag;
    rng->spare = spare;
    return RBM_OK;
}
