/* librbm — thermodynamics of the RBM ensemble and the phase diagram
 * (docs/theory.md §5).
 *
 * The ensemble ("direct model", §5.1): +-1 spins on both layers, zero
 * fields, temperature T = 1/beta, kappa = N_h / N_v, L = sqrt(N_v N_h),
 *   W = sum_{alpha=1}^{K} w_alpha u^alpha (v^alpha)^T + R,
 *   R_ij iid N(0, sigma^2 / L),
 *   u_i^alpha = ut_i^alpha / sqrt(N_v), v_j^alpha = vt_j^alpha / sqrt(N_h),
 * with the components ut, vt iid from a "component law" of mean 0 and
 * variance 1 (one law per layer): Rademacher (+-1, kurtosis 1), Gaussian
 * (kurtosis 3), Laplace (kurtosis 6), sparse ternary (0 with probability
 * 1 - p, +-1/sqrt(p) with probability p/2 each, kurtosis 1/p).
 *
 * Replica-symmetric quenched mean field (§5.3). With
 *   H_v = beta kappa^{1/2}  sum_g w_g ut^g mbar_g + beta sigma kappa^{1/4}  sqrt(qbar) z
 *   H_h = beta kappa^{-1/2} sum_g w_g vt^g m_g    + beta sigma kappa^{-1/4} sqrt(q) z
 * (z ~ N(0,1)) the order parameters solve
 *   m_a = E[ut^a tanh H_v], q = E[tanh^2 H_v], mbar_a = E[vt^a tanh H_h],
 *   qbar = E[tanh^2 H_h],
 * and the free energy per L is f with
 *   -beta f = -beta sum_a w_a m_a mbar_a + (beta^2 sigma^2 / 2)(1 - q)(1 - qbar)
 *             + kappa^{-1/2} E ln 2cosh H_v + kappa^{1/2} E ln 2cosh H_h.
 * The solver iterates the equations (visible side, then hidden side, each
 * damped: x <- (1 - d) x + d F(x)) until no order parameter moves by more
 * than the tolerance. Expectations are exact up to the quadrature
 * tolerance: the Gaussian z by adaptive Gauss-Kronrod (7/15 points) on
 * [-38.5, 38.5] (never a fixed Gauss-Hermite rule, which is wrong at low T);
 * Rademacher and ternary components by enumerating the 2^K / 3^K sign
 * patterns of the modes with a non-zero field (halved by the +- symmetry);
 * Gaussian components in closed form (Stein's lemma: a 1-D integral for any
 * K); Laplace components as Gaussian scale mixtures (ut = sqrt(V) g,
 * V ~ Exp(1)) by nested adaptive quadrature over the V of every mode with a
 * non-zero field. Limits: K <= RBM_ENSEMBLE_MAX_MODES; Laplace cost grows
 * like (~10^2)^k for k magnetised modes (k = 3 takes minutes per solve).
 *
 * Phases (§5.4): paramagnetic (m = q = 0), ferromagnetic (some m_a != 0),
 * spin glass (m = 0, q > 0). Within RS:
 *   P-F   beta w_1 = 1          (for w_1 > sigma, any kappa and law),
 *   P-SG  beta sigma = 1        (for w_1 < sigma, any kappa),
 *   F-SG  beta^2 w_1^2 (1 - q)(1 - qbar) = 1 with the pure-SG (q, qbar);
 *         w_c(T -> 0) = sigma sqrt(pi/2).
 * A ferromagnetic state is compositional (§5.5) when its magnetisation is
 * shared by several modes; the Landau criterion near T_c for equal modes is
 *   kappa (K_u - 3) + (K_v - 3) > 0.
 *
 * A trained machine on the diagram (§5.1): rbm_ensemble_from_machine
 * estimates sigma from the Marchenko-Pastur bulk of W's spectrum, takes the
 * modes outside it as the strong modes (their singular values de-biased by
 * inverting the rectangular BBP formula), measures the kurtosis of their
 * components and builds the matching ensemble at T = 1.
 *
 * THREAD SAFETY: an rbm_ensemble belongs to its context's threading domain.
 * The rbm_phase_line_* functions and the name/kurtosis helpers are pure and
 * may be called from any thread. */
#ifndef RBM_PHASE_H
#define RBM_PHASE_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif


/* Largest number of strong modes K. */
#define RBM_ENSEMBLE_MAX_MODES 8

typedef enum rbm_phase {
    RBM_PHASE_PARAMAGNETIC = 0,
    RBM_PHASE_FERROMAGNETIC = 1,
    RBM_PHASE_SPIN_GLASS = 2
} rbm_phase;

/* Law of the components ut (visible) or vt (hidden) of the strong modes. */
typedef enum rbm_component_law {
    RBM_LAW_RADEMACHER = 0, /* +-1                                         */
    RBM_LAW_GAUSSIAN = 1,   /* N(0, 1)                                     */
    RBM_LAW_LAPLACE = 2,    /* density exp(-sqrt(2)|x|)/sqrt(2)           */
    RBM_LAW_TERNARY = 3     /* 0 w.p. 1-p, +-1/sqrt(p) w.p. p/2, 0<p<=1 */
} rbm_component_law;

/* Settings (keys 400-499; see rbm_param_bounds in common.h), with defaults.
 * Real keys, set with rbm_ensemble_set_real: */
typedef enum rbm_ensemble_param {
    RBM_ENSEMBLE_KAPPA = 400,          /* N_h / N_v, > 0                 (1)      */
    RBM_ENSEMBLE_SIGMA = 401,          /* noise sigma, >= 0              (1)      */
    RBM_ENSEMBLE_TEMPERATURE = 402,    /* T = 1/beta, > 0                (1)      */
    RBM_ENSEMBLE_DAMPING = 403,        /* d in (0, 1]                    (1)      */
    RBM_ENSEMBLE_TOLERANCE = 404,      /* fixed-point tolerance, > 0     (1e-12)  */
    RBM_ENSEMBLE_QUAD_TOLERANCE = 405, /* absolute quadrature error, > 0 (1e-12)  */
    RBM_ENSEMBLE_M_THRESHOLD = 406,    /* max|m_a| above it: magnetised  (1e-6)   */
    RBM_ENSEMBLE_Q_THRESHOLD = 407,    /* q above it: frozen (spin glass) (1e-6)  */
    /* the integer key, set with rbm_ensemble_set_int: */
    RBM_ENSEMBLE_MAX_ITERATIONS = 450  /* integer in [1, 1e9]            (100000) */
} rbm_ensemble_param;

/* Axis of a phase diagram other than w. */
typedef enum rbm_diagram_axis {
    RBM_DIAGRAM_TEMPERATURE = 0, /* grid over (T, w), sigma fixed */
    RBM_DIAGRAM_SIGMA = 1        /* grid over (sigma, w), T fixed */
} rbm_diagram_axis;

/* "paramagnetic", "ferromagnetic", "spin_glass"; "unknown" otherwise. */
RBM_API const char *rbm_phase_name(rbm_phase phase);

/* "rademacher", "gaussian", "laplace", "ternary"; parse accepts the same
 * names. Parse errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT. */
RBM_API const char *rbm_component_law_name(rbm_component_law law);
RBM_API rbm_status rbm_component_law_parse(const char *name, rbm_component_law *out);

/* Kurtosis E x^4 of a law (sparsity p is used by TERNARY only: 1/p); NaN
 * for an unknown law or p outside (0, 1]. */
RBM_API double rbm_component_law_kurtosis(rbm_component_law law, double sparsity);

/* ---- transition lines (pure functions, quadrature tolerance 1e-12) ---- */

/* P-F line: at temperature T the ferromagnet appears at w_c = T. It exists
 * for T >= sigma. Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (sigma < 0,
 * T <= 0, not finite, or T < sigma). */
RBM_API rbm_status rbm_phase_line_pf(double sigma, double temperature, double *w_c);

/* P-SG line: T_c = sigma, for w_1 <= sigma. Errors: RBM_ERR_NULL,
 * RBM_ERR_INVALID_ARGUMENT (sigma <= 0, w_1 < 0, not finite, w_1 > sigma). */
RBM_API rbm_status rbm_phase_line_psg(double sigma, double w1, double *t_c);

/* F-SG RS line: the w_c at which the ferromagnet appears at (kappa, sigma,
 * T), beta^2 w_c^2 (1-q)(1-qbar) = 1 with the pure-SG overlaps (q, qbar),
 * which are returned too (q and qbar may be NULL). For T >= sigma (or
 * sigma = 0) the SG solution is q = qbar = 0 and w_c = T, the P-F line; T = 0
 * gives the limit q = qbar = 1, w_c = sigma sqrt(pi/2). Any law, any K.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (kappa <= 0, sigma < 0,
 * T < 0, not finite), RBM_ERR_NOT_CONVERGED. */
RBM_API rbm_status rbm_phase_line_fsg(double kappa, double sigma, double temperature,
                                      double *w_c, double *q, double *qbar);

/* ---- the ensemble ---- */

/* A new ensemble with the defaults above, K = 1 mode of strength 0 and
 * Rademacher components on both layers. Errors: RBM_ERR_NULL,
 * RBM_ERR_NO_MEMORY. The caller owns *out. */
RBM_API rbm_status rbm_ensemble_new(rbm_context *ctx, rbm_ensemble **out);
RBM_API void rbm_ensemble_free(rbm_ensemble *e);

/* Settings by key: real keys with *_real, the integer key with *_int.
 * Setting KAPPA, SIGMA or TEMPERATURE discards the current solution.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (unknown key, a key of
 * another module, a key of the other type, or a value outside its domain;
 * the detail names the key and its bounds; nothing changes). */
RBM_API rbm_status rbm_ensemble_set_real(rbm_ensemble *e, rbm_ensemble_param key, double value);
RBM_API rbm_status rbm_ensemble_get_real(const rbm_ensemble *e, rbm_ensemble_param key,
                                         double *out);
RBM_API rbm_status rbm_ensemble_set_int(rbm_ensemble *e, rbm_ensemble_param key, int64_t value);
RBM_API rbm_status rbm_ensemble_get_int(const rbm_ensemble *e, rbm_ensemble_param key,
                                        int64_t *out);
/* Bounds and type of a key (no handle; thread-safe). Errors: RBM_ERR_NULL
 * (out), RBM_ERR_INVALID_ARGUMENT (not an ensemble key). */
RBM_API rbm_status rbm_ensemble_param_bounds(rbm_ensemble_param key, rbm_param_bounds *out);

/* Strong modes w_1..w_K (k in [1, RBM_ENSEMBLE_MAX_MODES], each finite and
 * >= 0; any order). Setting them discards the current solution.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT, RBM_ERR_NOT_FINITE. */
RBM_API rbm_status rbm_ensemble_set_modes(rbm_ensemble *e, const double *w, size_t k);
RBM_API size_t rbm_ensemble_mode_count(const rbm_ensemble *e); /* 0 for NULL */
/* Copy the K strengths (len must be K). */
RBM_API rbm_status rbm_ensemble_get_modes(const rbm_ensemble *e, double *w, size_t len);

/* Component law of a layer (RBM_LAYER_VISIBLE: ut, RBM_LAYER_HIDDEN: vt);
 * sparsity is p for TERNARY (in (0, 1]) and ignored otherwise.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT. */
RBM_API rbm_status rbm_ensemble_set_law(rbm_ensemble *e, rbm_layer layer, rbm_component_law law,
                                        double sparsity);
RBM_API rbm_status rbm_ensemble_law(const rbm_ensemble *e, rbm_layer layer, rbm_component_law *law,
                                    double *sparsity);

/* The §5.5 criterion kappa (K_u - 3) + (K_v - 3) of the current laws
 * (> 0: mixtures of equal modes beat pure states near T_c). */
RBM_API rbm_status rbm_ensemble_kurtosis_criterion(const rbm_ensemble *e, double *criterion);

/* Solve the RS equations from a start: m0, mbar0 (K values each, or NULL
 * for zeros) and q0, qbar0 in [0, 1]. The solution (or, on
 * RBM_ERR_NOT_CONVERGED, the last iterate) is kept in e for
 * rbm_ensemble_get_solution. Errors: RBM_ERR_NULL (e), RBM_ERR_SHAPE (a start
 * of length != K), RBM_ERR_INVALID_ARGUMENT (q0, qbar0), RBM_ERR_NOT_FINITE,
 * RBM_ERR_NOT_CONVERGED (iteration cap reached or the quadrature missed its
 * tolerance), RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_ensemble_solve(rbm_ensemble *e, const double *m0, size_t m0_len,
                                      const double *mbar0, size_t mbar0_len, double q0,
                                      double qbar0);

/* The current solution: m and mbar (K values each), q, qbar and the free
 * energy per L, f (see above). Any output may be NULL (then its length is
 * ignored). Errors: RBM_ERR_NULL (e), RBM_ERR_STATE (nothing solved since
 * the last change), RBM_ERR_SHAPE. */
RBM_API rbm_status rbm_ensemble_get_solution(const rbm_ensemble *e, double *m, size_t m_len,
                                             double *mbar, size_t mbar_len, double *q, double *qbar,
                                             double *free_energy);

/* Sweeps used by the last solve (0 before any). */
RBM_API size_t rbm_ensemble_iteration_count(const rbm_ensemble *e);

/* Phase at the current settings. Solves for the pure spin glass (m = 0;
 * q, qbar by a bracketing root search) and for magnetised states from one
 * start per mode (m_a = mbar_a = q = qbar = 1, the other m = 0) and, for
 * K > 1, a mixed start (every m = 1). The ferromagnet is the magnetised
 * solution (max|m_a| > M_THRESHOLD) of lowest free energy (on a tie the
 * earlier start wins, so Gaussian components, whose pure and mixed states
 * are degenerate by rotation invariance, report a pure state); otherwise the
 * phase is SG if q > Q_THRESHOLD, P if not. The selected solution becomes
 * the current one. mixing = second largest |m_a| / largest |m_a| of the
 * selected state (0 unless ferromagnetic with K > 1); compositional = 1
 * when the state is ferromagnetic with mixing > 0.5. Outputs may be NULL.
 * On RBM_ERR_NOT_CONVERGED the outputs are still written from the last
 * iterates. Errors: as rbm_ensemble_solve. */
RBM_API rbm_status rbm_ensemble_phase(rbm_ensemble *e, rbm_phase *phase, double *mixing,
                                      int *compositional);

/* The replicon (de Almeida-Thouless) eigenvalue of the current solution
 * (docs/theory.md §5.4, an approximation by analogy with SK):
 *   lambda_AT = beta^4 sigma^4 E[sech^4 H_v] E[sech^4 H_h],
 * H_v, H_h the fields of the RS equations above at the solution's m, mbar,
 * q, qbar, the expectations over z and over the components of each layer's
 * law (enumerated, in closed form or by quadrature as for the RS
 * equations). The RS solution is stable for lambda_AT < 1; the AT line is
 * where it reaches 1. The paramagnet has lambda_AT = (sigma / T)^4.
 * Nothing is changed in e. Errors: RBM_ERR_NULL, RBM_ERR_STATE (nothing
 * solved since the last change), RBM_ERR_NOT_CONVERGED (a quadrature missed
 * its tolerance; *lambda is still written). */
RBM_API rbm_status rbm_ensemble_replicon(const rbm_ensemble *e, double *lambda);

/* Phase diagram: for every grid point (x[ix], w1[iw]) set the axis
 * quantity (T or sigma) to x[ix] and scale the modes so that the largest is
 * w1[iw] (relative strengths kept; all equal to w1[iw] if every mode is 0),
 * then proceed as rbm_ensemble_phase. Outputs are nw x nx row-major (index
 * iw * nx + ix): phase codes, and optionally (NULL allowed) max_a |m_a| and q
 * of the selected state. The ensemble's settings are unchanged afterwards
 * and its current solution is discarded. Grid points are shared among the
 * context's threads. n_unconverged (may be NULL) receives the number of
 * points where a solve hit its cap; they are still classified from the
 * last iterates. Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (empty
 * grid, an x outside the axis domain, a w1 < 0), RBM_ERR_NOT_FINITE,
 * RBM_ERR_SHAPE, RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_ensemble_diagram(rbm_ensemble *e, rbm_diagram_axis axis, const double *x,
                                        size_t nx, const double *w1, size_t nw, int32_t *phase,
                                        size_t phase_len, double *m, size_t m_len, double *q,
                                        size_t q_len, size_t *n_unconverged);

/* ---- a trained machine on the diagram ----
 * Build the ensemble matching machine mach at T = 1: kappa = N_h / N_v;
 * Bernoulli layers are first mapped to +-1 (docs/theory.md §1.4, W -> W/2 per
 * Bernoulli layer; biases are ignored: the ensemble has zero fields);
 * sigma = the Marchenko-Pastur bulk estimate of rbm_svd_bulk; the strong
 * modes are the singular values above the bulk edge (at most max_modes, at
 * most RBM_ENSEMBLE_MAX_MODES; none gives one mode of strength 0), each
 * de-biased by inverting s = sqrt((w^2 + sigma^2 kappa^{1/2})(w^2 + sigma^2
 * kappa^{-1/2})) / w; the component laws follow the mean kurtosis K of the
 * strong modes' scaled components (N_v sum_i u_i^4, N_h sum_j v_j^4),
 * corrected for the noise mixed into each observed singular vector (squared
 * overlap a^2 with the planted vector from the rectangular spiked model;
 * K = (K_obs - 6 a^2 (1-a^2) - 3 (1-a^2)^2) / a^4 when a^2 >= 1/4):
 * Rademacher if K < 2, Gaussian if 2 <= K <= 4, ternary with p = 1/K if
 * K > 4. Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (max_modes 0),
 * RBM_ERR_UNSUPPORTED (a Gaussian layer), RBM_ERR_NUMERICAL,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_ensemble_from_machine(const rbm_machine *mach, size_t max_modes,
                                             rbm_ensemble **out);

/* Estimated kurtosis of the strong modes' components of the machine an
 * ensemble was built from, noise-corrected as above (NaN for an ensemble
 * not built from a machine or without strong modes). */
RBM_API double rbm_ensemble_machine_kurtosis(const rbm_ensemble *e, rbm_layer layer);

/* One call: rbm_ensemble_from_machine + rbm_ensemble_phase at T = 1.
 * Outputs (each may be NULL): the phase, the noise sigma, the number of
 * strong modes n_modes and their de-biased strengths (w: w_len values,
 * entries past n_modes set to 0), the estimated kurtosis of the components
 * (kurtosis: 2 values, visible then hidden, as rbm_ensemble_machine_kurtosis) and the compositional flag of
 * rbm_ensemble_phase. Errors: as the two calls, RBM_ERR_SHAPE (w_len or
 * kurtosis_len too small). */
RBM_API rbm_status rbm_machine_phase(const rbm_machine *mach, size_t max_modes, rbm_phase *phase,
                                     double *sigma, size_t *n_modes, double *w, size_t w_len,
                                     double *kurtosis, size_t kurtosis_len, int *compositional);

#ifdef __cplusplus
}
#endif
#endif /* RBM_PHASE_H */
