/* librbm — machine (private): the parameter mutator for writers outside
 * lib/model, and the largest singular value of W and the Gauss-Gauss
 * normalisability check with a caller-owned workspace, for code that checks
 * on every step and must not allocate (the optimiser, rbm_gradient_apply).
 * The read-only view and the allocating forms are in core/internal.h. */
#ifndef RBM_MODEL_MACHINE_H
#define RBM_MODEL_MACHINE_H

#include "core/internal.h"

/* The writable double-precision parameters of m (W: nv x nh row-major, a:
 * nv, b: nh); an out pointer may be NULL. For the code outside lib/model that
 * updates parameters in place (the optimiser, rbm_gradient_apply, the
 * trainer's undo, analysis that sets W): the caller must call
 * rbm__machine_sync after writing, and must have checked a Gauss-Gauss
 * machine's new W with rbm__machine_check_normalizable(_ws) first. */
void rbm__machine_params_mut(rbm_machine *m, double **W, double **a, double **b);

/* Workspace for one shape nv x nh: a column-major copy of W, the singular
 * values, and LAPACK's work array of the size its workspace query asked
 * for once, at init. */
typedef struct rbm__singular_ws {
    size_t nv, nh;
    double *a;    /* nv * nh */
    double *s;    /* min(nv, nh) */
    double *work; /* lwork */
    size_t lwork;
} rbm__singular_ws;

/* Allocate the workspace for m's shape. Errors: RBM_ERR_NO_MEMORY,
 * RBM_ERR_TOO_LARGE, RBM_ERR_NUMERICAL (the workspace query failed). */
rbm_status rbm__singular_ws_init(const rbm_machine *m, rbm__singular_ws *ws);
/* Release it (accepts a zeroed or failed one). */
void rbm__singular_ws_free(rbm_context *ctx, rbm__singular_ws *ws);

/* As rbm__machine_top_singular and rbm__machine_check_normalizable
 * (bit-identical results), with ws made for m's shape: no allocation. */
rbm_status rbm__machine_top_singular_ws(const rbm_machine *m, const double *W,
                                        rbm__singular_ws *ws, double *out);
rbm_status rbm__machine_check_normalizable_ws(const rbm_machine *m, const double *W,
                                              double sigma_v, double sigma_h,
                                              rbm__singular_ws *ws);

/* A zeroed machine of n_visible units with n_states (1 for scalar kinds)
 * states each and n_hidden hidden units; kinds not checked. Errors:
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
rbm_status rbm__machine_alloc(rbm_context *ctx, size_t n_visible, size_t n_states,
                              size_t n_hidden, rbm_unit_kind visible, rbm_unit_kind hidden,
                              rbm_machine **out);

/* The batch functions of machine.h for a Potts visible layer
 * (machine_potts.c), same contracts; given / to_hidden as in machine.c. */
rbm_status rbm__potts_energy(const rbm_machine *m, size_t batch, const double *v, size_t v_len,
                             const double *h, size_t h_len, double *out, size_t out_len);
rbm_status rbm__potts_free_energy(const rbm_machine *m, int given, size_t batch, const double *x,
                                  size_t x_len, double *out, size_t out_len);
rbm_status rbm__potts_conditional(const rbm_machine *m, rbm_rng *rng, int to_hidden,
                                  size_t batch, const double *x, size_t x_len, double *out,
                                  size_t out_len);
rbm_status rbm__potts_bias_from_data(rbm_machine *m, const rbm_dataset *data);
/* The independent-site fields of the weighted site frequencies of data (N
 * = nv sites of q states; regularised by RBM_POTTS_PSEUDO_COUNT; docs/potts.md)
 * into out (nv * q, written only on success). Errors: RBM_ERR_SHAPE,
 * RBM_ERR_INVALID_ARGUMENT (no rows, a value that is not a state),
 * RBM_ERR_NO_MEMORY. */
rbm_status rbm__potts_site_fields(rbm_context *ctx, const rbm_dataset *data, size_t nv, size_t q,
                                  double *out);

#endif /* RBM_MODEL_MACHINE_H */
