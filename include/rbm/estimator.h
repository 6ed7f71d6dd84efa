/* librbm — gradient estimators (docs/theory.md §2.1).
 *
 * An estimator fills a gradient (gradient.h) with the ascent direction of
 * the mean log-likelihood of a minibatch, dLik/dW (N_v x N_h row-major),
 * dLik/da (N_v), dLik/db (N_h):
 *   dW = <v E[h|v]>_data - <v h>_model,  da = <v>_data - <v>_model,
 *   db = <E[h|v]>_data - <h>_model,
 * data averages taken over the minibatch. Estimators differ in the model
 * term:
 *   CD-k   chains start at the minibatch and run k Gibbs sweeps;
 *   PCD-k  persistent chains (as many as the minibatch size unless set),
 *          k sweeps per call;
 *   EXACT  enumeration of the smaller discrete layer (at most 24 units);
 *          for Gauss-Gauss machines the closed form of the joint Gaussian
 *          (docs/theory.md §1.5): with precision P = [[I/sigma_v^2, -W],
 *          [-W^T, I/sigma_h^2]] and mean mu = P^{-1} (a; b),
 *          <v h^T> = (P^{-1})_{vh} + mu_v mu_h^T, <v> = mu_v, <h> = mu_h
 *          (see linear.h);
 *   MF, TAP2, TAP3  (EMF, docs/theory.md §4.6; meanfield.h) persistent
 *          magnetisation particles (n_chains, as for PCD), started at the
 *          first minibatch's rows (cycled) with m^h = E[h|v]; each call runs
 *          k damped (0.5) alternating fixed-point iterations per particle,
 *          and the model term is the mean over particles of
 *          d log Z_TAP/d theta: m^v m^h^T [+ w_ij c_i c_j (TAP2, TAP3)
 *          + (1/2) w_ij^2 k3_i k3_j (TAP3)], m^v, m^h (c, k3: variance and
 *          third cumulant of each unit, see meanfield.h). Supported for
 *          Bernoulli/Ising layers and one Gaussian layer (MF also on
 *          Gauss-Gauss machines).
 *   PT     parallel tempering (tempering.h): a temperature ladder of
 *          RBM_ESTIMATOR_REPLICAS replicas (default 10, betas evenly spaced
 *          from 0 to 1) of RBM_ESTIMATOR_CHAINS chains each, persistent
 *          across calls; each call rebuilds the rungs from the machine's
 *          current parameters, runs k PT sweeps (Gibbs on every replica,
 *          then replica exchange between neighbours), and the model term is
 *          that of the beta = 1 replica's chains. With
 *          RBM_ESTIMATOR_RETUNE_EVERY = K > 0 the betas are re-placed every
 *          K calls from the swap acceptances measured since the last
 *          placement (rbm_tempering_tune's rule with R fixed, so no
 *          allocation). PT computes in float64 whatever the precision.
 * Potts visible layers (docs/potts.md): CD, PCD, EXACT, MF and TAP2 (TAP3
 * and PT: RBM_ERR_INVALID_ARGUMENT). MF/TAP2 particles hold the N*q site
 * probabilities m_ic, start at the one-hot rows, and their model term is
 * m_ic m_j [+ c_j m_ic (W_icj - sum_c' m_ic' W_ic'j) for TAP2]
 * (docs/theory.md §4.7). v in the formulas above reads as the
 * one-hot encoding sigma_ic = [v_i = c], so dW is (N*q) x N_h and da has
 * N*q values; a minibatch holds N state indices per row (each checked to be
 * an integer in 0..q-1, RBM_ERR_INVALID_ARGUMENT). EXACT enumerates the
 * 2^N_h hidden states (discrete hidden layer, N_h <= RBM_EXACT_MAX_UNITS)
 * or the q^N visible configurations (q^N <= 2^RBM_EXACT_MAX_UNITS),
 * whichever are fewer.
 * Negative statistics of CD/PCD/PT use the last visible state and E[h|v]
 * (Rao-Blackwell).
 *
 * THREAD SAFETY: estimators and gradients belong to their context's
 * threading domain. */
#ifndef RBM_ESTIMATOR_H
#define RBM_ESTIMATOR_H

#include "common.h"
#include "gradient.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rbm_estimator_kind {
    RBM_ESTIMATOR_CD = 0,
    RBM_ESTIMATOR_PCD = 1,
    RBM_ESTIMATOR_EXACT = 2,
    RBM_ESTIMATOR_MF = 3,   /* naive mean field (EMF, first order) */
    RBM_ESTIMATOR_TAP2 = 4, /* TAP, second order (EMF of Gabrie et al.) */
    RBM_ESTIMATOR_TAP3 = 5, /* TAP, third order (the derived TAP3 field) */
    RBM_ESTIMATOR_PT = 6    /* parallel tempering (tempering.h) */
} rbm_estimator_kind;

/* Largest layer the EXACT estimator enumerates. */
#define RBM_EXACT_MAX_UNITS 24

/* Replicas of a PT estimator unless RBM_ESTIMATOR_REPLICAS is set. */
#define RBM_ESTIMATOR_PT_DEFAULT_REPLICAS 10

/* Name ("cd", "pcd", "exact", "mf", "tap2", "tap3", "pt") or NULL; parse the
 * same names, and "tap" for TAP2. */
RBM_API const char *rbm_estimator_kind_name(rbm_estimator_kind kind);
RBM_API rbm_status rbm_estimator_kind_parse(const char *name, rbm_estimator_kind *out);

/* Integer tunables of an estimator (keys 200-299, rbm_estimator_set_int;
 * see rbm_param_bounds in common.h):
 *   RBM_ESTIMATOR_K       Gibbs sweeps per call (CD, PCD) or damped
 *                         fixed-point iterations per call (MF, TAP2, TAP3),
 *                         in [1, 2^31 - 1], default 1; EXACT keeps and
 *                         ignores it.
 *   RBM_ESTIMATOR_CHAINS  persistent chains (PCD) or magnetisation particles
 *                         (MF, TAP2, TAP3), in [0, 2^31 - 1], 0 meaning
 *                         max_batch (the default); get_int reads the count in
 *                         use. Setting it replaces the chains by fresh ones,
 *                         seeded as at creation, so an estimator made and
 *                         then given K and CHAINS is the same, bit for bit,
 *                         whatever the order of the two calls. CD and EXACT
 *                         keep no chains (RBM_ERR_UNSUPPORTED; get_int reads 0).
 *                         For PT: chains per replica.
 *   RBM_ESTIMATOR_REPLICAS   PT only: replicas of the ladder, in [0, 1024],
 *                         0 meaning RBM_ESTIMATOR_PT_DEFAULT_REPLICAS, 1
 *                         refused; setting it replaces the ladder by a fresh
 *                         one, as CHAINS does. get_int reads the count in use.
 *   RBM_ESTIMATOR_RETUNE_EVERY  PT only: re-place the betas every that many
 *                         calls, in [0, 2^31 - 1], 0 never (default). Other
 *                         kinds: RBM_ERR_UNSUPPORTED (get_int reads 0). */
typedef enum rbm_estimator_param {
    RBM_ESTIMATOR_K = 250,
    RBM_ESTIMATOR_CHAINS = 251,
    RBM_ESTIMATOR_REPLICAS = 252,
    RBM_ESTIMATOR_RETUNE_EVERY = 253
} rbm_estimator_param;

/* Create an estimator for machine m (borrowed; must outlive it) with k = 1
 * and as many chains/particles as max_batch; change them with
 * rbm_estimator_set_int. PCD chains start from random states
 * (rbm_sampler_new); MF/TAP particles at the first minibatch's rows.
 * max_batch: largest minibatch compute() will receive (buffers are
 * allocated here, never during compute()).
 * seed: seeds the estimator's rng (chains and sampling).
 * The caller owns *out (rbm_estimator_free); *out is NULL on failure.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (max_batch = 0, unknown
 * kind), RBM_ERR_UNSUPPORTED (EXACT when neither layer is discrete with
 * <= RBM_EXACT_MAX_UNITS units and the machine is not Gauss-Gauss;
 * TAP2/TAP3 on a Gauss-Gauss machine), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_estimator_new(rbm_machine *m, rbm_estimator_kind kind, size_t max_batch,
                                     uint64_t seed, rbm_estimator **out);
RBM_API void rbm_estimator_free(rbm_estimator *e);
/* The kind (RBM_ESTIMATOR_CD for a NULL estimator). */
RBM_API rbm_estimator_kind rbm_estimator_kind_of(const rbm_estimator *e);

/* Set / get an integer tunable (above). Errors: RBM_ERR_NULL,
 * RBM_ERR_INVALID_ARGUMENT (unknown key, a key of another module, value out
 * of bounds; the detail names the key and its bounds), RBM_ERR_UNSUPPORTED
 * (CHAINS on CD or EXACT), and for CHAINS RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. A refused set leaves the estimator unchanged. */
RBM_API rbm_status rbm_estimator_set_int(rbm_estimator *e, rbm_estimator_param key,
                                         int64_t value);
RBM_API rbm_status rbm_estimator_get_int(const rbm_estimator *e, rbm_estimator_param key,
                                         int64_t *out);
/* Bounds of a key (no handle; thread-safe). Errors: RBM_ERR_NULL (out),
 * RBM_ERR_INVALID_ARGUMENT (not an estimator key). */
RBM_API rbm_status rbm_estimator_param_bounds(rbm_estimator_param key, rbm_param_bounds *out);

/* Estimate the gradient on a minibatch v (batch x N_v doubles) into g
 * (overwritten on success only). A successful call advances the persistent
 * chains or particles and the rng; a failed one leaves the estimator and g
 * bit for bit as they were. Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (batch 0 or >
 * max_batch, lengths, g made for another shape), RBM_ERR_NOT_FINITE (v),
 * RBM_ERR_NUMERICAL (the estimate is not finite), RBM_ERR_STATE (machine
 * precision changed since creation). */
RBM_API rbm_status rbm_estimator_compute(rbm_estimator *e, size_t batch, const double *v,
                                         size_t v_len, rbm_gradient *g);

/* The persistent chains of a PCD estimator (borrowed; valid while the
 * estimator lives), NULL for the other kinds. */
RBM_API rbm_sampler *rbm_estimator_sampler(rbm_estimator *e);

/* The ladder of a PT estimator (borrowed; valid until the estimator is
 * freed or its REPLICAS / CHAINS are set), NULL for the other kinds. Use it
 * to read swap statistics and chains; running or tuning it directly moves
 * the estimator's state like a call of compute would. */
RBM_API rbm_tempering *rbm_estimator_tempering(rbm_estimator *e);

#ifdef __cplusplus
}
#endif
#endif /* RBM_ESTIMATOR_H */
