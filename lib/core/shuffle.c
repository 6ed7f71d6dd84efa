/* librbm — shuffle: unbiased index draws and Fisher–Yates. */
#include "core/shuffle.h"

size_t rbm__rng_index(rbm_rng *r, size_t n)
{
    uint64_t un = (uint64_t)n;
    uint64_t limit = -un % un; /* 2^64 mod n: reject the first `limit` values */
    uint64_t x;
    do
        x = rbm__rng_next(r);
    while (x < limit);
    return (size_t)(x % un);
}

void rbm__shuffle(rbm_rng *r, size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = rbm__rng_index(r, i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
