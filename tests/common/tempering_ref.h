/* Machines and trajectories shared by the tempering tests
 * (tests/unit/test_tempering*.c), built through the public API. */
#ifndef RBM_TEST_TEMPERING_REF_H
#define RBM_TEST_TEMPERING_REF_H

#include <stddef.h>
#include <stdint.h>
#include <rbm/rbm.h>

#include "reference.h"

/* A random machine small enough to enumerate: W ~ N(0, wstd^2), biases
 * N(0, 0.5^2), seeded. */
ref_rbm *random_ref(size_t nv, size_t nh, rbm_unit_kind vk, rbm_unit_kind hk, uint64_t seed,
                    double wstd);

/* Two-mode Ising machine: one hidden unit coupled with w to every visible
 * unit, zero biases. p(v) ~ cosh(w sum_i v_i): the modes are v = +1...1 and
 * -1...-1, separated by a barrier of about log cosh(w nv) nats. */
ref_rbm *bimodal_ref(size_t nv, double w);

/* Two-prototype Bernoulli data (alternating bits and their complement)
 * with 5% flips: the data of the bimodal problem. */
rbm_dataset *two_mode_data(rbm_context *ctx, size_t rows, size_t nv, uint64_t seed);

/* Train an nv x nh Bernoulli machine with the exact gradient on
 * two_mode_data and keep copies (caller frees) at steps 0, 1, 2, 4, ...,
 * 2^(K-2) in models[0..K). Returns K. */
size_t train_trajectory(rbm_context *ctx, size_t nv, size_t nh, rbm_machine **models, size_t K);

#endif
