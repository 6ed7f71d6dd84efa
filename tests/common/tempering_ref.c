/* Machines and trajectories shared by the tempering tests (see
 * tempering_ref.h). */
#include "tempering_ref.h"

#include "testutil.h"


ref_rbm *random_ref(size_t nv, size_t nh, rbm_unit_kind vk, rbm_unit_kind hk, uint64_t seed,
                    double wstd)
{
    ref_rbm *r = ref_new(nv, nh, vk, hk);
    ref_randomize(r, seed, wstd, 0.5);
    return r;
}

ref_rbm *bimodal_ref(size_t nv, double w)
{
    ref_rbm *r = ref_new(nv, 1, RBM_UNIT_ISING, RBM_UNIT_ISING);
    for (size_t i = 0; i < nv; i++) {
        r->W[i] = w;
        r->a[i] = 0;
    }
    r->b[0] = 0;
    return r;
}

/* Prototype 0 is the complement of the alternating pattern (u < 1/2). */
static int two_mode_bit(size_t proto, size_t j)
{
    return (int)(j % 2 == 0) ^ (int)(proto == 0);
}

rbm_dataset *two_mode_data(rbm_context *ctx, size_t rows, size_t nv, uint64_t seed)
{
    return rbm_test_prototype_data(ctx, rows, nv, 2, two_mode_bit, 0.05, seed);
}

size_t train_trajectory(rbm_context *ctx, size_t nv, size_t nh, rbm_machine **models, size_t K)
{
    rbm_dataset *d = two_mode_data(ctx, 500, nv, 3);
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.01, 5));
    rbm_trainer *tr = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, d, 50, 7, &tr));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(tr, RBM_ESTIMATOR_EXACT, 1));
    RBM_OKAY(ctx, rbm_trainer_set_real(tr, RBM_TRAINER_LEARNING_RATE, 0.1));
    size_t kept = 0;
    uint64_t next = 0;
    for (uint64_t step = 0; kept < K; step++) {
        if (step == next) {
            RBM_OKAY(ctx, rbm_machine_clone(m, &models[kept++]));
            next = next ? 2 * next : 1;
        }
        rbm_status st = rbm_trainer_step(tr);
        assert_true(st == RBM_OK || st == RBM_DONE);
    }
    rbm_trainer_free(tr);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    return kept;
}
