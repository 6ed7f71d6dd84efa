/* librbm — estimator_emf: the persistent magnetisation particles of the
 * MF/TAP2/TAP3 (EMF) gradient estimators (docs/theory.md §4.6). */
#ifndef RBM_TRAIN_ESTIMATOR_EMF_H
#define RBM_TRAIN_ESTIMATOR_EMF_H

#include "core/internal.h"
#include "model/mf_equations.h"

/* n persistent magnetisation particles; order 1 naive MF, 2 TAP2, 3 TAP3.
 * On the first call to negative() the particles start at the rows of the
 * batch v (compute type of kern K; rows cycled) with m^h = E[h|v]; every
 * call runs `iters` damped alternating iterations on each particle, then
 * subtracts (1/n) sum over particles of d log Z_TAP / d theta
 * (docs/theory.md §4.6) from g (dW, da, db). No allocation after _new. */
typedef struct rbm__mf_emf rbm__mf_emf;
rbm_status rbm__mf_emf_new(const rbm_machine *m, rbm__mf_order order, size_t n_particles,
                           rbm__mf_emf **out);
void rbm__mf_emf_free(rbm__mf_emf *p);
rbm_status rbm__mf_emf_negative(rbm__mf_emf *p, size_t batch, const void *v, const rbm__kern *K,
                                size_t iters, double damping, rbm_gradient *g);
/* negative() moves the particles tentatively: commit keeps the move,
 * rollback restores the particles (and whether they were started) as they
 * were before it, bit for bit. No allocation. */
void rbm__mf_emf_commit(rbm__mf_emf *p);
void rbm__mf_emf_rollback(rbm__mf_emf *p);
/* Particle state, for checkpoints: number of particles, whether they have
 * been started (false before the first negative() call), and the arrays
 * m^v (n x nv) and m^h (n x nh), writable (set ready after writing them). */
size_t rbm__mf_emf_particles(const rbm__mf_emf *p);
bool rbm__mf_emf_ready(const rbm__mf_emf *p);
void rbm__mf_emf_set_ready(rbm__mf_emf *p, bool ready);
double *rbm__mf_emf_visible(rbm__mf_emf *p);
double *rbm__mf_emf_hidden(rbm__mf_emf *p);

#endif /* RBM_TRAIN_ESTIMATOR_EMF_H */
