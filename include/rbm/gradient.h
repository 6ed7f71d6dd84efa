/* librbm — gradients: the ascent direction of the log-likelihood
 * (docs/theory.md §2.1).
 *
 * A gradient holds three arrays shaped like a machine's parameters:
 *   dW (N_v x N_h, row-major: element i*N_h + j for visible i, hidden j),
 *   da (N_v), db (N_h),
 * all double whatever the machine's precision. An estimator (estimator.h)
 * fills one from a minibatch; a caller may also build one from statistics
 * of its own (an external sampler, a quantum annealer, an analytic
 * formula):
 *
 *     rbm_gradient_set_weights(g, vh_data, nv * nh);      // <v h^T>_data
 *     rbm_gradient_new(m, &neg);
 *     rbm_gradient_set_weights(neg, vh_model, nv * nh);   // <v h^T>_model
 *     ... biases likewise ...
 *     rbm_gradient_axpy(g, -1.0, neg);                    // data - model
 *     rbm_gradient_apply(g, m, lr);        // or rbm_trainer_apply_gradient
 *
 * Values are in the units of the parameters per unit learning rate: a step
 * theta += lr * g is gradient ascent on the mean log-likelihood.
 *
 * A gradient is made for a shape, not for one machine: it can be applied to
 * any machine with the same N_v and N_h. For a machine with a Potts visible
 * layer (N sites, q states; docs/potts.md) N_v below reads as the N*q rows
 * of W: dW is (N*q) x N_h and da has N*q values, indexed as W and a.
 *
 * THREAD SAFETY: a gradient belongs to its context's threading domain (the
 * context of the machine it was made from). */
#ifndef RBM_GRADIENT_H
#define RBM_GRADIENT_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A zero gradient shaped like m (m is only read; the gradient does not keep
 * it). The caller owns *out and releases it with rbm_gradient_free().
 * Errors: RBM_ERR_NULL, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_gradient_new(const rbm_machine *m, rbm_gradient **out);
/* Release a gradient. NULL is a no-op. */
RBM_API void rbm_gradient_free(rbm_gradient *g);
/* Set every component to 0. Errors: RBM_ERR_NULL. */
RBM_API rbm_status rbm_gradient_zero(rbm_gradient *g);

/* Copy the components out into caller buffers of len elements: W needs
 * N_v*N_h (row-major), a N_v, b N_h.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (len differs). */
RBM_API rbm_status rbm_gradient_get_weights(const rbm_gradient *g, double *w, size_t len);
RBM_API rbm_status rbm_gradient_get_visible_bias(const rbm_gradient *g, double *a, size_t len);
RBM_API rbm_status rbm_gradient_get_hidden_bias(const rbm_gradient *g, double *b, size_t len);

/* Copy one component in from a caller buffer of len elements (W: N_v*N_h
 * row-major, a: N_v, b: N_h); the buffer is not kept. Every value must be
 * finite. On error the gradient is unchanged.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (len differs), RBM_ERR_NOT_FINITE
 * (NaN or infinity, with its index in the detail). */
RBM_API rbm_status rbm_gradient_set_weights(rbm_gradient *g, const double *w, size_t len);
RBM_API rbm_status rbm_gradient_set_visible_bias(rbm_gradient *g, const double *a, size_t len);
RBM_API rbm_status rbm_gradient_set_hidden_bias(rbm_gradient *g, const double *b, size_t len);

/* g = alpha * g, every component. Errors: RBM_ERR_NULL, RBM_ERR_NOT_FINITE
 * (alpha NaN or infinite; g unchanged). A finite alpha may still overflow
 * large components to infinity: rbm_trainer_apply_gradient refuses such a
 * gradient. */
RBM_API rbm_status rbm_gradient_scale(rbm_gradient *g, double alpha);

/* y = y + alpha * x, every component (x and y may be the same gradient).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (x and y made for different shapes),
 * RBM_ERR_NOT_FINITE (alpha); y is unchanged on error. */
RBM_API rbm_status rbm_gradient_axpy(rbm_gradient *y, double alpha, const rbm_gradient *x);

/* Plain gradient-ascent update: theta += step * g for W, a and b of m (no
 * decay, no moments: for those use rbm_trainer_apply_gradient). For a
 * Gauss-Gauss machine the new W is first checked against the
 * normalisability bound, in scratch space that g holds when it was made from
 * a Gauss-Gauss machine: then, as for every other machine, no allocation
 * (a gradient made from another kind of machine of the same shape gets
 * temporary scratch space). The scratch space makes this a write to g for
 * thread safety: do not apply one gradient from two threads at once.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (g made for another shape),
 * RBM_ERR_NOT_FINITE (step), RBM_ERR_NOT_NORMALIZABLE (Gauss-Gauss result;
 * the machine is then unchanged), RBM_ERR_NO_MEMORY (only in the temporary
 * case). */
RBM_API rbm_status rbm_gradient_apply(const rbm_gradient *g, rbm_machine *m, double step);

#ifdef __cplusplus
}
#endif
#endif /* RBM_GRADIENT_H */
