/* librbm — seed: the one seed derivation.
 *
 * rbm__seed_mix(seed, stream) is the splitmix64 output for position `stream`
 * of the sequence started at `seed`: the finaliser applied to
 * seed + stream * 0x9e3779b97f4a7c15. Streams 1, 2, ... of one seed are
 * statistically independent 64-bit seeds; rbm_rng seeding (rng.c) uses
 * streams 1..4 for its four state words, and every object that seeds a child
 * (trainer -> estimator, estimator -> sampler) names its stream below, so no
 * two children of one seed share a sequence. */
#ifndef RBM_CORE_SEED_H
#define RBM_CORE_SEED_H

#include <stdint.h>

enum rbm__seed_stream {
    RBM__STREAM_ESTIMATOR_RNG = 1,  /* estimator's own rng (CD/MF starts) */
    RBM__STREAM_ESTIMATOR_CHAINS = 2, /* persistent chains of a PCD estimator */
    /* seed of the trainer's estimator; the trainer's own rng is seeded with
     * the seed itself, whose state words are streams 1..4 */
    RBM__STREAM_TRAINER_ESTIMATOR = 6,
    /* workers 1..P-1 of a data-parallel trainer: stream r of this stream's
     * seed seeds worker r's estimator (trainer.h) */
    RBM__STREAM_TRAINER_WORKER = 7,
};

static inline uint64_t rbm__seed_mix(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + stream * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif /* RBM_CORE_SEED_H */
