/* librbm — the spectral view of W (docs/theory.md §0.2, §2.2, §5.1, §6).
 *
 * W = sum_alpha w_alpha u^alpha (v^alpha)^T with r = min(N_v, N_h) modes,
 * w_1 >= w_2 >= ... >= 0, |u^alpha| = |v^alpha| = 1 (LAPACK dgesdd).
 * Sign convention (fixed so that results are reproducible): the entry of
 * largest magnitude of each u^alpha is positive (entries within a relative
 * 1e-12 of the largest magnitude tie, and the lowest index wins a tie);
 * v^alpha carries the matching sign so that W v^alpha = w_alpha u^alpha.
 * Vectors of (nearly) degenerate singular values, in particular inside the
 * noise bulk and for w_alpha = 0, are only defined up to a rotation of
 * their subspace.
 *
 * Arrays: U is N_v x r row-major with u^alpha in column alpha
 * (U[i*r + alpha]); V is N_h x r likewise. Projections of a batch of B
 * states onto the first K modes are B x K row-major.
 *
 * The noise bulk (§5.1): the random part of W, entries of variance
 * sigma^2 / sqrt(N_v N_h), has singular values below the Marchenko-Pastur
 * edge sigma (kappa^{1/4} + kappa^{-1/4}), kappa = N_h / N_v. The library
 * estimates sigma from the modes inside the bulk and reports how many
 * modes lie outside. Starting with every mode in the bulk, it iterates to a
 * fixed point (at most 50 iterations):
 *   sigma^2 = sum_{bulk} w_alpha^2 / (sqrt(N_v N_h) * r_bulk / r),
 *   edge = sigma (kappa^{1/4} + kappa^{-1/4}),
 *   outside = the modes with w_alpha > (1 + margin) * edge,
 * with margin = max(2%, m_TW), m_TW = 1.01 (N_v^{-1/2} + N_h^{-1/2})^{1/3} /
 * (N_v^{1/2} + N_h^{1/2}): the 99th percentile of the Tracy-Widom
 * fluctuation of the largest noise singular value, relative to the edge
 * (7.5% at 30 x 20, 3% at 100 x 100, below 2% from about 180 x 180 on).
 * The smallest mode always stays in the bulk (so the bulk is never empty),
 * and W = 0 gives sigma = edge = 0 and no mode outside.
 *
 * Potts visible layers (docs/potts.md): W is the (N q) x N_h array of the
 * one-hot encoding, so N_v above means N q (the rows of W: u^alpha has N q
 * entries, row i*q + c for site i in state c, and the bulk is that of an
 * (N q) x N_h matrix), while a visible state is N state indices: the
 * projections of states and datasets take B x N indices and gather
 * s_alpha = sum_i u^alpha_{i, v_i}. The decomposition is of W as stored:
 * it depends on the gauge (rbm_machine_set_gauge), and per-site offsets
 * shared by all states of a site appear as modes; the zero-sum gauge
 * removes them and is the one to read modes in. The PCA overlaps and the
 * significance census refuse a Potts decomposition (RBM_ERR_UNSUPPORTED).
 *
 * THREAD SAFETY: an rbm_svd or a tracker belongs to its context's threading
 * domain; const functions on one rbm_svd may run concurrently. */
#ifndef RBM_SVD_H
#define RBM_SVD_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif


/* Decompose the current W of m into a new rbm_svd (owned by the caller;
 * independent of m afterwards). Errors: RBM_ERR_NULL, RBM_ERR_NUMERICAL
 * (LAPACK failure), RBM_ERR_NOT_FINITE, RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_svd_new(const rbm_machine *m, rbm_svd **out);

/* Recompute for the current W of m (same shape as at creation; no
 * allocation: the LAPACK workspace is allocated by rbm_svd_new).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_NUMERICAL, RBM_ERR_NOT_FINITE.
 * On error the decomposition's contents are unspecified. */
RBM_API rbm_status rbm_svd_update(rbm_svd *s, const rbm_machine *m);
RBM_API void rbm_svd_free(rbm_svd *s);

/* r = min(N_v, N_h); 0 for NULL. */
RBM_API size_t rbm_svd_rank(const rbm_svd *s);

/* Copy w (r values, descending), U (N_v x r) or V (N_h x r). */
RBM_API rbm_status rbm_svd_get_singular_values(const rbm_svd *s, double *w, size_t len);
RBM_API rbm_status rbm_svd_get_left_vectors(const rbm_svd *s, double *U, size_t len);
RBM_API rbm_status rbm_svd_get_right_vectors(const rbm_svd *s, double *V, size_t len);

/* The per-site view of u^alpha (any machine; q = 1 unless the visible layer
 * is Potts, and then the entries below are |u^alpha_i| and u^alpha_i).
 * rbm_svd_site_shape: N (visible units or sites) and q (states per unit);
 *   either output may be NULL.
 * rbm_svd_site_norms: out (n_modes x N, out[alpha*N + i]) receives
 *   ||u^alpha_i|| = sqrt(sum_c (u^alpha_{i,c})^2), the weight of site i in
 *   mode alpha (sum_i ||u^alpha_i||^2 = 1).
 * rbm_svd_site_weights: out (N x q, out[i*q + c]) receives u^alpha_{i,c}
 *   of mode alpha = `mode` (0-based): the per-state values of a sequence
 *   logo of the mode (w_alpha u^alpha_{i,c} is its share of W).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (out_len), RBM_ERR_INVALID_ARGUMENT
 * (n_modes 0 or > r, mode >= r). */
RBM_API rbm_status rbm_svd_site_shape(const rbm_svd *s, size_t *n_sites, size_t *n_states);
RBM_API rbm_status rbm_svd_site_norms(const rbm_svd *s, size_t n_modes, double *out, size_t len);
RBM_API rbm_status rbm_svd_site_weights(const rbm_svd *s, size_t mode, double *out, size_t len);

/* Projections s_alpha = u^alpha . x of B visible states x (B x N_v) onto the
 * first n_modes modes (out: B x n_modes), and sigma_alpha = v^alpha . h of
 * hidden states (B x N_h). batch 0 is allowed (nothing to do). For a Potts
 * decomposition x is B x N state indices (RBM_ERR_INVALID_ARGUMENT, naming
 * the element, for a value that is not a state in 0..q-1).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_INVALID_ARGUMENT (n_modes 0
 * or > r), RBM_ERR_NOT_FINITE, RBM_ERR_TOO_LARGE. */
RBM_API rbm_status rbm_svd_project_visible(const rbm_svd *s, size_t batch, const double *x,
                                           size_t x_len, size_t n_modes, double *out,
                                           size_t out_len);
RBM_API rbm_status rbm_svd_project_hidden(const rbm_svd *s, size_t batch, const double *h,
                                          size_t h_len, size_t n_modes, double *out,
                                          size_t out_len);

/* Projections of every row of a dataset (rows x n_modes; the dataset's
 * values as stored, e.g. 0..255 for raw uint8 images). Errors: RBM_ERR_NULL,
 * RBM_ERR_SHAPE (columns != N_v, out_len), RBM_ERR_INVALID_ARGUMENT,
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_svd_project_dataset(const rbm_svd *s, const rbm_dataset *data,
                                           size_t n_modes, double *out, size_t out_len);

/* Overlaps |u^alpha . e_beta| between the first n_modes left singular
 * vectors and the top n_modes principal directions e_beta of the data
 * (eigenvectors of its centred covariance, descending eigenvalues);
 * out is n_modes x n_modes (alpha rows, beta columns). eigenvalues, if not
 * NULL, receives the top n_modes covariance eigenvalues (eig_len must then
 * be n_modes). The covariance is rbm_dataset_covariance (N_v x N_v).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_INVALID_ARGUMENT,
 * RBM_ERR_NUMERICAL, RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_svd_pca_overlaps(const rbm_svd *s, const rbm_dataset *data,
                                        size_t n_modes, double *out, size_t out_len,
                                        double *eigenvalues, size_t eig_len);

/* The projected gradient of a gradient estimate g (any estimator) on the
 * first K = n_modes modes (docs/theory.md §2.2):
 *   G (K x K)        G[a*K+b] = u^a . dW v^b      (dw_a/dt = G[a*K+a])
 *   omega_v (K x K)  (w_a G_ba + w_b G_ab) / (w_a^2 - w_b^2)  (a != b; 0 on the diagonal)
 *   omega_h (K x K)  (w_a G_ab + w_b G_ba) / (w_a^2 - w_b^2)
 * Omega^v_ab = u^b . du^a/dt and Omega^h_ab = v^b . dv^a/dt for a flow
 * dW/dt = dW: both antisymmetric (exactly, as computed). Pairs with
 * |w_a - w_b| <= tol * w_1 are degenerate: their omega entries are NaN
 * (undefined); tol must be finite and >= 0. omega_v / omega_h may be NULL
 * (their lengths are then ignored); G may not.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (lengths, gradient of another shape),
 * RBM_ERR_INVALID_ARGUMENT (n_modes, tol), RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_svd_project_gradient(const rbm_svd *s, const rbm_gradient *g,
                                            size_t n_modes, double tol, double *G, size_t G_len,
                                            double *omega_v, size_t ov_len, double *omega_h,
                                            size_t oh_len);

/* Marchenko-Pastur analysis (see above): estimated noise sigma, bulk edge
 * and number of modes outside the bulk. Any output may be NULL. */
RBM_API rbm_status rbm_svd_bulk(const rbm_svd *s, double *sigma, double *edge,
                                size_t *n_outside);

/* ---- the census: which modes are significant (docs/spectral.md) ----
 * The Marchenko-Pastur count above is valid while the small modes of W are
 * still the random part of §5.1 (at initialisation and through the linear
 * regime); after training they are not, and it counts grown noise. The
 * census adds evidence from the data that holds at every stage:
 *  1. the data's significant principal subspace E_k: the eigenvalues
 *     lambda_1 >= ... of the centred covariance of the data are compared,
 *     rank by rank, with those of n_null copies of the data in which every
 *     column is permuted on its own (marginals kept, correlations
 *     destroyed: permutation parallel analysis); k is the number of leading
 *     ranks whose lambda_j exceeds the largest null eigenvalue of rank j
 *     (a test at level 1/(n_null + 1) per rank);
 *  2. for each mode, q_alpha = |P_k u^alpha|^2, the share of u^alpha in
 *     E_k (0 <= q <= 1; a random direction has q ~ k / N_v);
 *  3. mode alpha is significant when it is outside the bulk
 *     (rbm_svd_bulk) and q_alpha > 1/2: its direction is mostly the data's
 *     structure rather than noise.
 * At most 2k modes can pass (sum_alpha q_alpha <= k). For a planted
 * W = sum s_a x_a y_a^T + noise of the bulk's normalisation, a spike is
 * outside the bulk for s_a > sigma (the BBP threshold), and q > 1/2 from
 * s_a / sigma > t_half(kappa) (docs/spectral.md derives both).
 * The covariance uses at most max(2 N_v, 1e9 / N_v^2) rows (every
 * stride-th row; all of them for 100 columns up to 1e5 rows); the cost is
 * n_null + 1 covariances and symmetric eigenvalue problems of N_v x N_v.
 * The result depends only on the data, n_null and seed. */

/* Run the data side (1.) on data (values as stored; non-finite values are
 * refused) into a new census owned by the caller, in data's context.
 * n_null in 1..10000 (19 gives a 5% test per rank). Errors: RBM_ERR_NULL,
 * RBM_ERR_INVALID_ARGUMENT (n_null), RBM_ERR_SHAPE (fewer than 2 rows),
 * RBM_ERR_NOT_FINITE, RBM_ERR_NUMERICAL (LAPACK), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_census_new(const rbm_dataset *data, size_t n_null, uint64_t seed,
                                  rbm_census **out);
RBM_API void rbm_census_free(rbm_census *c);
/* k, the number of significant principal components (0 for NULL). */
RBM_API size_t rbm_census_n_components(const rbm_census *c);
/* Columns N_v of the data (0 for NULL). */
RBM_API size_t rbm_census_cols(const rbm_census *c);
/* Rows used for the covariances (0 for NULL). */
RBM_API size_t rbm_census_rows(const rbm_census *c);
/* The N_v data eigenvalues (descending) and, per rank, the largest null
 * eigenvalue of that rank; either may be NULL, len must be N_v.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_census_get_eigenvalues(const rbm_census *c, double *eig,
                                              double *null_max, size_t len);

/* Steps 2-3 for the decomposition s: overlap (r values q_alpha, may be
 * NULL), significant (r flags 0/1, may be NULL) and their count (may be
 * NULL). The census must have N_v columns. Errors: RBM_ERR_NULL,
 * RBM_ERR_SHAPE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_svd_significance(const rbm_svd *s, const rbm_census *c, double *overlap,
                                        size_t overlap_len, uint8_t *significant,
                                        size_t sig_len, size_t *n_significant);

/* ---- reproducibility of modes across machines (docs/spectral.md) ----
 * Compare the modes of decomposition a with those of b (another machine
 * with the same visible units: a second training seed, a second chain
 * set). For each mode alpha of a (r_a = rbm_svd_rank(a) values each):
 *   share[alpha]      = sum_{beta < n_b} (u_a^alpha . u_b^beta)^2, the share
 *                       of u_a^alpha in the span of b's first n_b modes
 *                       (0..1; a random direction has about n_b / N_v);
 *   best[alpha]       = max_beta |u_a^alpha . u_b^beta| over all r_b modes;
 *   best_index[alpha] = the beta that attains it (the lowest on a tie).
 * The share is the robust measure: modes of nearly equal w are defined only
 * up to a rotation of their subspace (see the sign convention above), so a
 * reproduced mode of a near-degenerate group can have best well below 1
 * while its share in b's group is near 1. With n_b = b's number of
 * significant modes, share asks "does this mode lie in the significant
 * subspace that the other run found?". Any output may be NULL.
 * Cost: O(N_v r_a r_b), one temporary r_a x r_b array.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (different N_v),
 * RBM_ERR_INVALID_ARGUMENT (n_b not in 1..r_b), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY; the outputs are untouched on error. */
RBM_API rbm_status rbm_svd_mode_overlaps(const rbm_svd *a, const rbm_svd *b, size_t n_b,
                                         double *share, size_t share_len, double *best,
                                         size_t best_len, size_t *best_index, size_t index_len);

/* ---- mode tracking during training ----
 * A tracker records the spectrum of a machine's W at the steps the caller
 * chooses (rbm_mode_tracker_record), keeping each mode's identity across
 * level crossings by matching left singular vectors between consecutive
 * records: mode identities are assigned by a greedy maximum-|overlap|
 * matching of the new u's against the previous ones (the identity of a
 * mode is the index it had at the first record). It tracks the first
 * n_modes modes: identities are matched against the first min(r, 2 n_modes)
 * new modes, so an identity that falls a little below the tracked range is
 * still followed. Each record stores the step, w of each tracked identity,
 * the bulk edge and the number of modes outside the bulk (rbm_svd_bulk on
 * the whole spectrum).
 * The tracker borrows m (which must outlive it) and reads its W at each
 * record; the SVD workspace is allocated here, the record storage grows
 * geometrically in record(). One record costs one SVD of W plus
 * O(N_v n_modes^2) for the matching. rbm_mode_tracker_new errors:
 * RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (n_modes 0 or > r),
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_mode_tracker_new(const rbm_machine *m, size_t n_modes,
                                        rbm_mode_tracker **out);
RBM_API void rbm_mode_tracker_free(rbm_mode_tracker *t);

/* Decompose W now and append a record for `step` (any caller-chosen
 * counter, e.g. rbm_trainer_step_count). On error no record is added.
 * Errors: RBM_ERR_NULL, RBM_ERR_NUMERICAL, RBM_ERR_NOT_FINITE,
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_mode_tracker_record(rbm_mode_tracker *t, uint64_t step);

/* Number of records so far and tracked modes. */
RBM_API size_t rbm_mode_tracker_record_count(const rbm_mode_tracker *t);
RBM_API size_t rbm_mode_tracker_mode_count(const rbm_mode_tracker *t);

/* Record k: step, singular values by identity (n_modes values: out[id] is
 * the singular value of the mode with identity id), bulk edge and number of
 * modes outside. Any output may be NULL. Errors: RBM_ERR_NULL,
 * RBM_ERR_INVALID_ARGUMENT (k out of range), RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_mode_tracker_get_record(const rbm_mode_tracker *t, size_t k, uint64_t *step,
                                               double *w, size_t w_len, double *edge,
                                               size_t *n_outside);

/* Count significant modes at every record (rbm_svd_significance against
 * c, which is borrowed and must outlive the tracker; NULL removes it).
 * Only before the first record. Costs O(N_v r k) more per record.
 * Errors: RBM_ERR_NULL, RBM_ERR_STATE (records exist), RBM_ERR_SHAPE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_mode_tracker_set_census(rbm_mode_tracker *t, const rbm_census *c);
/* The number of significant modes at record k. Errors: RBM_ERR_NULL,
 * RBM_ERR_STATE (no census), RBM_ERR_INVALID_ARGUMENT (k). */
RBM_API rbm_status rbm_mode_tracker_get_significant(const rbm_mode_tracker *t, size_t k,
                                                    size_t *n_significant);

/* Write all records as CSV (header "step,edge,n_outside,w0,w1,...", with
 * a last column n_significant when the tracker has a census; one
 * line per record, numbers with '.' whatever the locale, doubles with 17
 * significant digits). The file is replaced atomically, as by
 * rbm_machine_save (a failed write leaves any previous file intact; only a
 * regular file is replaced). Errors: RBM_ERR_NULL, RBM_ERR_IO. */
RBM_API rbm_status rbm_mode_tracker_write_csv(const rbm_mode_tracker *t, const char *path);

/* PCA initialisation: set W's first min(r, n_modes) modes to
 * scale * e_alpha (f^alpha)^T where e_alpha are the data's top principal
 * directions and f^alpha are the first unit vectors of the hidden space
 * (column alpha of W is scale * e_alpha, e_alpha with the sign convention
 * above); the remaining entries are zero. n_modes larger than r is clamped
 * to r; biases and sigmas are left unchanged; on error W is unchanged.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (dataset columns != N_v),
 * RBM_ERR_INVALID_ARGUMENT (n_modes 0, scale not finite),
 * RBM_ERR_NOT_NORMALIZABLE, RBM_ERR_NUMERICAL, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_machine_init_pca(rbm_machine *m, const rbm_dataset *data, size_t n_modes,
                                        double scale);

#ifdef __cplusplus
}
#endif
#endif /* RBM_SVD_H */
