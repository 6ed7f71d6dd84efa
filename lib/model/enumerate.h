/* librbm — enumerate (private): exact statistics of a machine by summing
 * over every state of one discrete layer, the other layer summed or
 * integrated out analytically (docs/theory.md §1.3).
 *
 * With the enumerated layer s (n units; its caller, the exact estimator,
 * enumerates at most RBM_EXACT_MAX_UNITS) and the other layer of kind
 * k_o, the marginal weight of a state is
 *   log w(s) = c.s + sum_q Lambda_o(d_q + (W^T s or W s)_q),
 * c, d the biases of the enumerated and the other layer. States go in
 * chunks of up to 1024 through one matrix product each, and the weights are
 * summed with a running maximum (log-sum-exp), so no weight overflows. */
#ifndef RBM_MODEL_ENUMERATE_H
#define RBM_MODEL_ENUMERATE_H

#include "core/internal.h"

/* The layer to enumerate: the smaller discrete (Bernoulli or Ising) layer
 * with at most max_units units, the hidden one when both have the same
 * size. Returns false -- none -- when neither layer qualifies (*layer is
 * then left as it was). */
bool rbm__enum_pick_layer(const rbm_machine *m, size_t max_units, rbm_layer *layer);

/* Workspace of rbm__exact_stats for one machine and layer: chunk states
 * (chunk x n), their fields on the other layer (chunk x o) and weights. */
typedef struct rbm__enum_ws {
    size_t chunk;
    double *S, *F, *lw;
} rbm__enum_ws;

/* Allocate / release the workspace (free accepts a zeroed or failed one). */
rbm_status rbm__enum_ws_init(rbm_context *ctx, const rbm_machine *m, rbm_layer layer,
                             rbm__enum_ws *ws);
void rbm__enum_ws_free(rbm_context *ctx, rbm__enum_ws *ws);

/* log Z into *log_z (when non-NULL) and, when vh is non-NULL, the model
 * statistics <v h^T> (nv x nh) into vh, <v> into v and <h> into h, by
 * enumerating `layer` with the workspace ws made for it. No allocation.
 * Errors: RBM_ERR_NUMERICAL (a non-finite weight). */
rbm_status rbm__exact_stats(const rbm_machine *m, rbm_layer layer, rbm__enum_ws *ws,
                            double *log_z, double *vh, double *v, double *h);

/* One enumeration: the machine seen from the enumerated layer. */
typedef struct rbm__enum_view {
    const rbm_machine *m;
    bool hid;                  /* the hidden layer is enumerated */
    size_t n, o;               /* enumerated / other layer sizes */
    rbm_unit_kind ok;          /* other layer's kind */
    double osig;               /* and its sigma */
    const double *ebias, *obias;
    double lo;                 /* value of a 0 bit: -1 (Ising) or 0 */
} rbm__enum_view;
rbm__enum_view rbm__enum_view_of(const rbm_machine *m, rbm_layer layer);
/* The couplings of enumerated unit u to the other layer's units at
 * *cols + u o: W itself for an enumerated visible layer, else W transposed
 * into a new allocation *mem (to free; NULL when none was needed).
 * Errors: RBM_ERR_NO_MEMORY. */
rbm_status rbm__enum_columns(const rbm_machine *m, const rbm__enum_view *V, double **mem,
                             const double **cols);

/* log Z of m into *log_z by enumerating every state of the discrete
 * `layer` in blocks (enumerate_block.c): the states are split into their
 * low b bits (b <= RBM__ENUM_LOW_BITS, a table of 2^b partial fields y and
 * their exponentials made once) and their high bits (a group of 16 states
 * at a time, fields x from scratch), so a block's log weights are
 *   c.s + sum_q Lambda(x_q + y_q) = linear terms + sum_q log(beta_q + alpha_q e^y_q)
 * (Bernoulli; Ising as softplus(2z) - z; Gaussian as (x + y)^2), a
 * product of positive factors renormalised by powers of two: one
 * multiply-add and one multiply per state and other unit, no exp or log.
 * The groups are split over the context's threads and their partial sums
 * reduced in a fixed order, so the result is the same bits for every
 * thread count. Error bound: docs/likelihoods.md ("Exact log Z").
 * Allocates O(2^b o + threads 16 o). Errors: RBM_ERR_NO_MEMORY,
 * RBM_ERR_NUMERICAL (a log weight or log Z not finite). */
#define RBM__ENUM_LOW_BITS 8
rbm_status rbm__enum_log_z(const rbm_machine *m, rbm_layer layer, double *log_z);

/* log Z of m into *log_z by enumerating every state of the discrete
 * `layer` in Gray-code order: consecutive states differ in one unit, so the
 * other layer's fields move by one column of W (recomputed from scratch
 * every 4096 states against drift), split over the context's threads.
 * O(o) per state; the exact samples below use it (the Gray index orders
 * the states), and it is the reference the blocked enumeration is tested
 * against. When lws is non-NULL (2^n values) the log weight of state t of the
 * Gray sequence (state bits t ^ (t >> 1)) is stored at lws[t]. Allocates
 * O(threads x o) (+ n x o for an enumerated hidden layer).
 * Errors: RBM_ERR_NO_MEMORY, RBM_ERR_NUMERICAL (log Z not finite). */
rbm_status rbm__enum_log_z_gray(const rbm_machine *m, rbm_layer layer, double *lws,
                                double *log_z);

/* R exact samples of the visible layer into V (R x nv), for a machine with a
 * small discrete `layer` (as chosen by rbm__enum_pick_layer): the
 * enumerated state is drawn from its exact marginal by inverse-CDF sampling;
 * for an enumerated hidden layer v then follows p(v | h). Up to
 * RBM__ENUM_TABLE_UNITS units a table of 2^n cumulative weights is built
 * (one pass, allocates 2^n doubles); beyond, the samples are located by
 * streaming: a (threaded) pass for log Z, then R sorted uniforms found in a
 * second, sequential Gray-code pass (O(R) memory, about 2^n O(other layer)
 * time). Errors: RBM_ERR_NO_MEMORY, RBM_ERR_NUMERICAL. */
#define RBM__ENUM_TABLE_UNITS 20
rbm_status rbm__enum_visible_samples(const rbm_machine *m, rbm_layer layer, rbm_rng *rng,
                                     size_t R, double *V);

/* ---- Potts visible layers (enumerate_potts.c) ----
 * The layer to enumerate for a machine with a Potts visible layer: the
 * hidden layer when discrete with at most max_bits units, the visible one
 * when q^N <= 2^max_bits; of two candidates the one with fewer states.
 * false when neither qualifies. */
bool rbm__potts_enum_pick(const rbm_machine *m, size_t max_bits, rbm_layer *layer);
/* Doubles of workspace rbm__potts_exact_stats needs. */
size_t rbm__potts_enum_ws_len(const rbm_machine *m);
/* log Z (when log_z is non-NULL) and, when vh is non-NULL, the model
 * statistics <sigma h^T> ((N*q) x nh), <sigma> (N*q) and <h> (nh) of the
 * one-hot visible encoding sigma, by enumerating `layer` (as picked above);
 * ws has rbm__potts_enum_ws_len doubles. No allocation.
 * Errors: RBM_ERR_NUMERICAL (a log weight not finite). */
rbm_status rbm__potts_exact_stats(const rbm_machine *m, rbm_layer layer, double *ws,
                                  double *log_z, double *vh, double *v, double *h);

#endif /* RBM_MODEL_ENUMERATE_H */
