/* librbm — random numbers.
 *
 * Algorithm (part of the ABI promise: same seed, same stream, on every
 * platform): xoshiro256** with its 256-bit state filled from the 64-bit seed
 * by four outputs of splitmix64. Uniform doubles take the top 53 bits of one
 * output (u = (x >> 11) * 2^-53, in [0,1)). Normal deviates use the
 * Marsaglia polar method and keep the second deviate for the next call
 * (the cached deviate is part of the state).
 *
 * THREAD SAFETY: an rng is used by one thread at a time (see context.h). */
#ifndef RBM_RNG_H
#define RBM_RNG_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size in bytes of a serialized RNG state (rbm_rng_get_state). */
#define RBM_RNG_STATE_BYTES 48

/* Create a generator seeded with seed. Errors: RBM_ERR_NULL, RBM_ERR_NO_MEMORY.
 * The caller owns *out (rbm_rng_free). */
RBM_API rbm_status rbm_rng_new(rbm_context *ctx, uint64_t seed, rbm_rng **out);
RBM_API void rbm_rng_free(rbm_rng *rng);

/* Restart the stream from seed. */
RBM_API rbm_status rbm_rng_seed(rbm_rng *rng, uint64_t seed);

/* Next raw 64-bit output. rng must not be NULL (returns 0 if it is). */
RBM_API uint64_t rbm_rng_next_u64(rbm_rng *rng);

/* Uniform double in [0,1). Returns 0 for a NULL rng. */
RBM_API double rbm_rng_uniform(rbm_rng *rng);

/* Standard normal deviate. Returns 0 for a NULL rng. */
RBM_API double rbm_rng_normal(rbm_rng *rng);

/* Copy the complete state (RBM_RNG_STATE_BYTES bytes, little-endian, portable
 * across hosts) into buf of capacity len. Errors: RBM_ERR_NULL,
 * RBM_ERR_SHAPE (len < RBM_RNG_STATE_BYTES). */
RBM_API rbm_status rbm_rng_get_state(const rbm_rng *rng, uint8_t *buf, size_t len);

/* Restore a state written by rbm_rng_get_state. Errors: RBM_ERR_NULL,
 * RBM_ERR_SHAPE (len < RBM_RNG_STATE_BYTES), RBM_ERR_BAD_FORMAT (all-zero
 * generator state, which xoshiro cannot leave; a spare flag other than 0/1;
 * a cached normal deviate that is not finite). On error rng is unchanged. */
RBM_API rbm_status rbm_rng_set_state(rbm_rng *rng, const uint8_t *buf, size_t len);

/* The seed of stream `stream` derived from seed: the splitmix64 output at
 * position `stream` of the sequence started at seed, i.e.
 *     z = seed + stream * 0x9e3779b97f4a7c15  (mod 2^64)
 *     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
 *     z = (z ^ (z >> 27)) * 0x94d049bb133111eb
 *     return z ^ (z >> 31)
 * (part of the ABI promise, like the generator). Different streams of one
 * seed give statistically independent seeds. The library seeds the objects
 * it creates this way: rbm_rng_new(ctx, seed) fills its state with streams
 * 1..4 of seed, and a trainer gives its estimator the seed
 * rbm_seed_derive(seed, RBM_SEED_STREAM_TRAINER_ESTIMATOR) (trainer.h), so
 * a custom training loop can reproduce a trainer. A pure function: no
 * context, no state, thread safe. */
RBM_API uint64_t rbm_seed_derive(uint64_t seed, uint64_t stream);

#ifdef __cplusplus
}
#endif
#endif /* RBM_RNG_H */
