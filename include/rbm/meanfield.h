/* librbm — naive mean field and TAP: solvers, fixed points, free energies,
 * and a learning-dynamics integrator driven by TAP states
 * (docs/theory.md §4, §6.3, §6.6).
 *
 * Magnetisations m^v (N_v) and m^h (N_h) are the means of the units. For
 * each unit the variance c and third cumulant k3 are functions of m:
 *   Bernoulli  c = m - m^2        k3 = m (1 - m)(1 - 2 m)
 *   Ising      c = 1 - m^2        k3 = -2 m (1 - m^2)
 *   Gaussian   c = 1 / (1/sigma^2 - S)  (S the reaction sum below; S = 0 for
 *              naive MF, so c = sigma^2)            k3 = 0
 * The Gibbs free energy (minus the log partition function) at fixed
 * magnetisations, expanded in W (Plefka), is
 *   -Gamma = sum_units H(m, c) + a.m^v + b.m^h + m^v' W m^h
 *            + [TAP2, TAP3] (1/2) sum_ij w_ij^2 c_i c_j
 *            + [TAP3]       (1/6) sum_ij w_ij^3 k3_i k3_j
 * where H is the binary entropy for discrete units and, for a Gaussian unit,
 * (1/2) log(2 pi e c) - (m^2 + c) / (2 sigma^2). The TAP3 term is the
 * derived one (docs/theory.md §4.3: for Bernoulli units it is
 * (2/3) w^3 (m_i - m_i^2)(1/2 - m_i)(m_j - m_j^2)(1/2 - m_j)).
 * Stationarity gives the fixed-point equations, for a discrete unit
 *   m_i = f( a_i + sum_j w_ij m_j + (1/2) c'(m_i) S_i + (1/6) k3'(m_i) T_i ),
 *   S_i = sum_j w_ij^2 c_j,  T_i = sum_j w_ij^3 k3_j   (TAP terms only),
 * f = sigm (Bernoulli) or tanh (Ising); for a Gaussian unit the mean is the
 * naive one, m_i = sigma^2 (a_i + sum_j w_ij m_j), only its variance changes
 * (docs/theory.md §4.4), and the TAP3 term vanishes (k3 = 0).
 * Hidden units likewise. At a fixed point log Z_TAP = -Gamma.
 *
 * Supported machines: Bernoulli and Ising units on either layer, and one
 * Gaussian layer (visible or hidden). Gauss-Gauss machines are supported by
 * naive MF only (whose means are exact there); TAP2/TAP3 on them give
 * RBM_ERR_UNSUPPORTED. TAP on a Gaussian layer needs S_i < 1/sigma^2 for every
 * Gaussian unit (RBM_ERR_NUMERICAL otherwise).
 *
 * Potts visible layer (docs/theory.md §4.7, docs/potts.md): naive MF and
 * TAP2 with any hidden kind. The visible magnetisations are the N q
 * probabilities m_ic = p(v_i = c), row i q + c (the layout of a), each
 * site's q values in [0, 1] summing to 1 (within 1e-9; otherwise
 * RBM_ERR_OUT_OF_RANGE naming the site). With wbar_ij = sum_c m_ic W_icj
 * and V_ij = sum_c m_ic W_icj^2 - wbar_ij^2 (the variance of W_i.j under
 * m_i):
 *   -Gamma = sum_i S(m_i) + sum_j S_h(m_j) + a.m + b.m^h + sum_icj W_icj m_ic m_j
 *            + [TAP2] (1/2) sum_ij c_j V_ij,      S(m_i) = -sum_c m_ic log m_ic,
 *   m_ic = softmax_c( a_ic + sum_j W_icj m_j
 *                     + [TAP2] (1/2) sum_j c_j (W_icj^2 - 2 W_icj wbar_ij) ),
 *   m_j  = f( b_j + sum_ic W_icj m_ic + [TAP2] (1/2) c'(m_j) sum_i V_ij ).
 * For q = 2 these are the Bernoulli equations (tested). Potts lengths:
 * mv, gv and cv have N q entries (so do the visible rows of starts and
 * points), dw (N q) x N_h, the Hessian (N q + N_h)^2. rbm_mf_gradient
 * returns dGamma/dm projected on the simplexes (the mean over each site's
 * states subtracted); rbm_mf_variances the indicator variances
 * m_ic (1 - m_ic); rbm_mf_hessian the second derivatives in the N q entries
 * taken as independent. Stability is decided on that Hessian restricted to
 * the simplexes' tangent space (each site's most probable state
 * eliminated), scaled by sqrt(m_ic (1 - m_ic)) and sqrt(c_j)
 * (docs/theory.md §4.7); the dedup distance averages over the N q + N_h
 * entries. Random starts draw a uniform state per site (one-hot); data
 * starts are rows of states (RBM_ERR_INVALID_ARGUMENT for a value that is
 * not a state), one-hot. rbm_mf_points_project gives sum_ic m_ic
 * u^alpha_{i,c}. TAP3 (rbm_mf_new) and rbm_mf_dynamics_step refuse a Potts
 * visible layer with RBM_ERR_UNSUPPORTED.
 *
 * Solver (docs/theory.md §4.5): alternating damped updates, hidden from the
 * current visible then visible from the new hidden,
 *   m <- (1 - lambda) m + lambda F(m),
 * until the residual max |F(m) - m| over both layers (before damping) is
 * below the tolerance, or the iteration cap (one iteration = both layers)
 * is reached. Defaults: lambda = 0.5, tolerance 1e-10, cap 5000.
 *
 * Fixed points: rbm_mf_fixed_points() runs the solver from many starts
 * (random, data rows, or caller-given magnetisations), merges converged
 * results whose mean absolute distance
 *   (sum_i |m_i^v - m_i'^v| + sum_j |m_j^h - m_j'^h|) / (N_v + N_h)
 * is below RBM_MF_DEDUP_DISTANCE (default 1e-4), and classifies each
 * distinct point: stable when the Hessian of Gamma with respect to the
 * N_v + N_h magnetisations is positive definite. The Hessian includes every
 * term of the chosen Gamma (naive, TAP2 and TAP3 alike: the TAP3 Hessian is
 * the exact second derivative of the TAP3 Gamma above; with a Gaussian layer
 * the variances c are eliminated at their optimum, which couples the units
 * of the other layer). Definiteness is decided on the congruent matrix
 * D^{1/2} Hess D^{1/2}, D = diag(c) (Sylvester's law of inertia), whose
 * eigenvalues (LAPACKE_dsyev) stay well scaled near saturation; a point is
 * stable when its smallest eigenvalue exceeds
 * RBM_MF_STABILITY_TOLERANCE (default 1e-9). Points are sorted by
 * increasing Gamma.
 *
 * TAP estimate of log Z: log sum_omega exp(-Gamma_omega) over the distinct
 * stable fixed points omega (each counted once, whatever its multiplicity:
 * the states' partition functions are added), and the single-state estimate
 * -min_omega Gamma_omega. If no distinct point is stable, all distinct
 * converged points are used instead (rbm_mf_points_log_z says how many).
 *
 * Arrays are double, row-major, with their lengths, as elsewhere.
 * Magnetisations passed in must lie in the units' range ([0,1] Bernoulli,
 * [-1,1] Ising): RBM_ERR_OUT_OF_RANGE otherwise, RBM_ERR_NOT_FINITE for
 * NaN or infinity.
 *
 * THREAD SAFETY: an rbm_mf and its rbm_mf_points belong to the machine's
 * context's threading domain; the solver reads the machine's current
 * parameters at every call and must not run concurrently with a change of
 * them. */
#ifndef RBM_MEANFIELD_H
#define RBM_MEANFIELD_H

#include "common.h"
#include "status.h"
#include "svd.h"

#ifdef __cplusplus
extern "C" {
#endif


/* Order of the expansion of Gamma in W. */
typedef enum rbm_mf_method {
    RBM_MF_NAIVE = 0, /* first order: naive mean field              */
    RBM_MF_TAP2 = 1,  /* second order: Onsager reaction term       */
    RBM_MF_TAP3 = 2   /* third order (the derived TAP3 of §4.3)     */
} rbm_mf_method;

/* Tunables of a solver (keys 300-399; see rbm_param_bounds in common.h).
 * Real keys, set with rbm_mf_set_real: */
typedef enum rbm_mf_param {
    RBM_MF_DAMPING = 300,             /* lambda in (0, 1], default 0.5            */
    RBM_MF_TOLERANCE = 301,           /* > 0, default 1e-10                       */
    RBM_MF_DEDUP_DISTANCE = 302,      /* > 0, default 1e-4                        */
    RBM_MF_STABILITY_TOLERANCE = 303, /* finite, default 1e-9                     */
    /* integer and boolean keys, set with rbm_mf_set_int: */
    RBM_MF_MAX_ITERATIONS = 350,      /* integer in [1, 1e9], default 5000        */
    RBM_MF_LINEAR_RESPONSE = 351      /* boolean, default 1: paramagnetic model
                                         term of rbm_mf_dynamics_step (below)     */
} rbm_mf_param;

/* Name ("naive", "tap2", "tap3") or NULL; parse accepts those and "mf"
 * (naive) and "tap" (TAP2). Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT. */
RBM_API const char *rbm_mf_method_name(rbm_mf_method method);
RBM_API rbm_status rbm_mf_method_parse(const char *name, rbm_mf_method *out);

/* A solver for machine m (borrowed; must outlive the solver).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (unknown method),
 * RBM_ERR_UNSUPPORTED (TAP on a Gauss-Gauss machine, TAP3 on a Potts
 * visible layer), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_mf_new(const rbm_machine *m, rbm_mf_method method, rbm_mf **out);
RBM_API void rbm_mf_free(rbm_mf *s);
RBM_API rbm_mf_method rbm_mf_method_of(const rbm_mf *s);

/* Set / get a tunable: real keys with *_real, integer and boolean keys with
 * *_int. Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (unknown key, a key
 * of another module, a key of the other type, or a value out of bounds; the
 * detail names the key and its bounds). A refused set changes nothing. */
RBM_API rbm_status rbm_mf_set_real(rbm_mf *s, rbm_mf_param key, double value);
RBM_API rbm_status rbm_mf_get_real(const rbm_mf *s, rbm_mf_param key, double *out);
RBM_API rbm_status rbm_mf_set_int(rbm_mf *s, rbm_mf_param key, int64_t value);
RBM_API rbm_status rbm_mf_get_int(const rbm_mf *s, rbm_mf_param key, int64_t *out);
/* Bounds and type of a key (no handle needed; thread-safe). Errors:
 * RBM_ERR_NULL (out), RBM_ERR_INVALID_ARGUMENT (not a mean-field key). */
RBM_API rbm_status rbm_mf_param_bounds(rbm_mf_param key, rbm_param_bounds *out);

/* Iterate to a fixed point from the start (mv, mh), overwritten with the
 * result (the last iterate when not converged). mh may be NULL (with
 * mh_len 0): the hidden start is then E[h | v = mv] and the result is not
 * returned. iterations and residual (each may be NULL) receive the number of
 * iterations done and the final residual max |F(m) - m|.
 * Returns RBM_OK when converged, RBM_ERR_NOT_CONVERGED when the cap was
 * reached (outputs are still written). Errors also: RBM_ERR_NULL,
 * RBM_ERR_SHAPE, RBM_ERR_OUT_OF_RANGE, RBM_ERR_NUMERICAL (non-finite
 * iterate, or a Gaussian TAP variance that does not exist). */
RBM_API rbm_status rbm_mf_solve(rbm_mf *s, double *mv, size_t mv_len, double *mh, size_t mh_len,
                                size_t *iterations, double *residual);

/* Gamma(m) (TAP free energy at any admissible magnetisations; at a fixed
 * point log Z_TAP = -Gamma). Errors: RBM_ERR_NULL, RBM_ERR_SHAPE,
 * RBM_ERR_OUT_OF_RANGE, RBM_ERR_NUMERICAL. */
RBM_API rbm_status rbm_mf_free_energy(rbm_mf *s, const double *mv, size_t mv_len,
                                      const double *mh, size_t mh_len, double *gamma);

/* Gradient dGamma/dm (gv: N_v, gh: N_h); zero at a fixed point. Discrete
 * magnetisations must be strictly inside their range. Errors as
 * rbm_mf_free_energy. */
RBM_API rbm_status rbm_mf_gradient(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                                   size_t mh_len, double *gv, size_t gv_len, double *gh,
                                   size_t gh_len);

/* Hessian d^2 Gamma / dm dm' ((N_v + N_h)^2, visible units first; Potts:
 * (N q + N_h)^2, see above). Errors as rbm_mf_gradient, plus
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_mf_hessian(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                                  size_t mh_len, double *hess, size_t hess_len);

/* Variances c of the units at (mv, mh) as in the table above (cv: N_v,
 * ch: N_h; either may be NULL). For Gaussian units these are the TAP
 * variances. Errors as rbm_mf_free_energy. */
RBM_API rbm_status rbm_mf_variances(rbm_mf *s, const double *mv, size_t mv_len, const double *mh,
                                    size_t mh_len, double *cv, size_t cv_len, double *ch,
                                    size_t ch_len);

/* d log Z_TAP / dw_ij = -dGamma/dw_ij at fixed magnetisations (explicit
 * dependence; at a fixed point the total derivative):
 *   m_i m_j + [TAP] w_ij c_i c_j + [TAP3] (1/2) w_ij^2 k3_i k3_j
 * (dw: N_v x N_h). Errors as rbm_mf_free_energy. */
RBM_API rbm_status rbm_mf_weight_gradient(rbm_mf *s, const double *mv, size_t mv_len,
                                          const double *mh, size_t mh_len, double *dw,
                                          size_t dw_len);

/* ---- many starts ----
 * Run the solver from n_starts starts and collect the distinct converged
 * fixed points (see the header comment). Starts:
 *   rbm_mf_fixed_points       caller-given visible magnetisations mv0
 *                             (n_starts x N_v) and optional hidden ones mh0
 *                             (n_starts x N_h, or NULL: E[h | mv0]);
 *   rbm_mf_fixed_points_random  visible starts drawn with seed: uniform {0,1}
 *                             (Bernoulli), uniform {-1,+1} (Ising),
 *                             N(0, sigma^2) (Gaussian);
 *   rbm_mf_fixed_points_data  rows of data as visible starts: every row
 *                             once when n_starts >= rows, otherwise n_starts
 *                             distinct rows drawn with seed.
 * Starts that do not converge are counted, not kept. Returns RBM_OK even
 * when no start converged (count 0). Errors: RBM_ERR_NULL, RBM_ERR_SHAPE,
 * RBM_ERR_INVALID_ARGUMENT (n_starts 0), RBM_ERR_OUT_OF_RANGE,
 * RBM_ERR_NUMERICAL, RBM_ERR_NO_MEMORY. The caller owns *out. */
RBM_API rbm_status rbm_mf_fixed_points(rbm_mf *s, size_t n_starts, const double *mv0,
                                       size_t mv0_len, const double *mh0, size_t mh0_len,
                                       rbm_mf_points **out);
RBM_API rbm_status rbm_mf_fixed_points_random(rbm_mf *s, size_t n_starts, uint64_t seed,
                                              rbm_mf_points **out);
RBM_API rbm_status rbm_mf_fixed_points_data(rbm_mf *s, const rbm_dataset *data, size_t n_starts,
                                            uint64_t seed, rbm_mf_points **out);
RBM_API void rbm_mf_points_free(rbm_mf_points *p);

/* Number of distinct fixed points (0 for NULL); starts run and starts that
 * did not converge. */
RBM_API size_t rbm_mf_points_count(const rbm_mf_points *p);
RBM_API size_t rbm_mf_points_start_count(const rbm_mf_points *p);
RBM_API size_t rbm_mf_points_failed_count(const rbm_mf_points *p);

/* Point k (0 = lowest Gamma): its Gamma, multiplicity (number of starts that
 * reached it), stability (1 stable, 0 not) and the smallest eigenvalue of
 * its scaled Hessian (see above). Any output may be NULL.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (k >= count). */
RBM_API rbm_status rbm_mf_points_properties(const rbm_mf_points *p, size_t k, double *gamma,
                                            size_t *multiplicity, int *stable,
                                            double *min_eigenvalue);

/* Magnetisations of point k (mv: N_v, mh: N_h; either may be NULL), or of
 * all points at once (count x N_v and count x N_h, row k = point k; ready
 * for rbm_svd_project_visible / _hidden). Errors: RBM_ERR_NULL,
 * RBM_ERR_SHAPE, RBM_ERR_INVALID_ARGUMENT. */
RBM_API rbm_status rbm_mf_points_get_magnetizations(const rbm_mf_points *p, size_t k, double *mv,
                                                    size_t mv_len, double *mh, size_t mh_len);
RBM_API rbm_status rbm_mf_points_get_all_visible(const rbm_mf_points *p, double *mv, size_t len);
RBM_API rbm_status rbm_mf_points_get_all_hidden(const rbm_mf_points *p, double *mh, size_t len);

/* Projections of every point on the first n_modes singular modes of W
 * (svd: rbm_svd_new of the same machine): pv (count x n_modes) receives
 * u^alpha . m^v and ph (count x n_modes) v^alpha . m^h; either may be NULL.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (lengths, or svd of another shape),
 * RBM_ERR_INVALID_ARGUMENT (n_modes 0 or above the rank), RBM_ERR_STATE
 * (no point), RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_mf_points_project(const rbm_mf_points *p, const rbm_svd *svd,
                                         size_t n_modes, double *pv, size_t pv_len, double *ph,
                                         size_t ph_len);

/* TAP estimates of log Z: log_z = log sum exp(-Gamma) over the distinct
 * stable points (all distinct points if none is stable), best = -min Gamma
 * over the same set; n_used receives the size of that set. Any output may
 * be NULL. Errors: RBM_ERR_NULL, RBM_ERR_STATE (no converged point). */
RBM_API rbm_status rbm_mf_points_log_z(const rbm_mf_points *p, double *log_z, double *best,
                                       size_t *n_used);

/* ---- learning dynamics driven by TAP states (docs/theory.md §6.1-6.3, §6.6) ----
 * One explicit Euler step of  dW/dt = G_data - G_model  for the couplings of
 * m (biases are kept fixed):
 *   G_data  = <v E[h|v]>_data over every row of data (exact);
 *   G_model = sum_omega p_omega m^v_omega (m^h_omega)^T over the distinct
 *             stable fixed points omega found by s from n_starts data rows
 *             (seeded by seed as in rbm_mf_fixed_points_data), with
 *             p_omega proportional to exp(-Gamma_omega) [these weights are
 *             RECALLED from the papers, not verified];
 *   when a single state is found (the paramagnetic case: no
 *   symmetry-broken, magnetised states), G_model is instead, with
 *   RBM_MF_LINEAR_RESPONSE = 1 (default), the linear response of that
 *   state, m^v (m^h)^T + [Hess^{-1}]_{vh}, the connected correlation given
 *   by the inverse Hessian of Gamma (for +-1 units, zero biases and m = 0
 *   this is, per mode, w / ((1 + S^v)(1 + S^h) - w^2), w/(1 - w^2) for
 *   naive MF, as in docs/theory.md §6.3; it diverges at the paramagnetic
 *   instability, so this dynamics cannot leave the paramagnetic phase
 *   through it: modes stop just below the threshold unless magnetised
 *   states are found), or with RBM_MF_LINEAR_RESPONSE = 0 the
 *   explicit derivative d log Z_TAP/dW at that state (rbm_mf_weight_gradient:
 *   m^v m^h^T + w_ij c_i c_j for TAP2; W itself at m = 0 for +-1 units),
 *   which lets the modes grow through the threshold. (If the single state
 *   is not stable, its Hessian has no inverse and only m^v (m^h)^T is
 *   used.)
 * Then W += dt (G_data - G_model). s must have been made for m.
 * n_states (may be NULL) receives the number of states used (1 in the
 * paramagnetic case). Errors: RBM_ERR_UNSUPPORTED (a Potts visible
 * layer), RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (s
 * made for another machine, dt not finite and > 0, n_starts 0),
 * RBM_ERR_SHAPE, RBM_ERR_NOT_CONVERGED (no start converged; W unchanged),
 * RBM_ERR_NUMERICAL, RBM_ERR_NOT_NORMALIZABLE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_mf_dynamics_step(rbm_mf *s, rbm_machine *m, const rbm_dataset *data,
                                        size_t n_starts, uint64_t seed, double dt,
                                        size_t *n_states);

#ifdef __cplusplus
}
#endif
#endif /* RBM_MEANFIELD_H */
