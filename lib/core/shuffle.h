/* librbm — shuffle: the one way to draw an index and the one Fisher–Yates.
 *
 * Every random row draw and every permutation in the library goes through
 * these two, so public building blocks (rbm_batch_iter) and the trainer give
 * the same minibatches for the same seed. */
#ifndef RBM_CORE_SHUFFLE_H
#define RBM_CORE_SHUFFLE_H

#include "core/internal.h"

/* Unbiased integer in [0, n), n >= 1: one or more draws of r. */
size_t rbm__rng_index(rbm_rng *r, size_t n);

/* perm[0..n) = a uniformly random permutation of 0..n-1: reset to the
 * identity, then Fisher–Yates from the top with rbm__rng_index. The result
 * depends only on the state of r, not on what perm held. */
void rbm__shuffle(rbm_rng *r, size_t *perm, size_t n);

#endif /* RBM_CORE_SHUFFLE_H */
