/* librbm — the Gauss-Gauss (linear) RBM: exact learning dynamics
 * (docs/theory.md §3; every formula there is verified).
 *
 * Model: Gaussian visible (sigma_v) and hidden (sigma_h) units, no biases
 * in the dynamics below (centred data), E = |s|^2/(2 sigma_v^2) +
 * |h|^2/(2 sigma_h^2) - s^T W h. With C the data covariance (N_v x N_v,
 * row-major, symmetric):
 *   C_model = (sigma_v^{-2} I - sigma_h^2 W W^T)^{-1}
 *   dW/dt   = sigma_h^2 (C - C_model) W
 *   dw_a/dt = sigma_h^2 w_a (<s_a^2> - sigma_v^2 / (1 - sigma_v^2 sigma_h^2 w_a^2))
 * Fixed points: w_a = 0 or w_a^2 = (lambda_a - sigma_v^2)/(sigma_v^2 sigma_h^2
 * lambda_a) for eigenvalues lambda_a > sigma_v^2 of C (threshold).
 * The functions taking a machine use its W and sigmas and ignore its biases
 * (with biases at their optimum the same flow holds with C the centred
 * covariance, docs/theory.md §3.3). C must be symmetric: entries differing from
 * their transpose by more than 1e-10 max|C| give RBM_ERR_INVALID_ARGUMENT.
 * The EXACT gradient estimator (estimator.h) uses the closed form of the
 * joint Gaussian for Gauss-Gauss machines, biases included.
 *
 * THREAD SAFETY: functions without a handle are pure; those taking a machine
 * follow machine.h. */
#ifndef RBM_LINEAR_H
#define RBM_LINEAR_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Model covariance of the visible layer of a Gauss-Gauss machine (N_v x N_v).
 * Errors: RBM_ERR_NULL, RBM_ERR_UNSUPPORTED (not Gauss-Gauss), RBM_ERR_SHAPE,
 * RBM_ERR_NOT_NORMALIZABLE. */
RBM_API rbm_status rbm_linear_model_covariance(const rbm_machine *m, double *out, size_t len);

/* Exact gradient-flow direction dW/dt = sigma_h^2 (C - C_model) W for data
 * covariance C (N_v x N_v); dW is N_v x N_h. Errors: as above plus
 * RBM_ERR_NOT_FINITE (C), RBM_ERR_INVALID_ARGUMENT (C not symmetric). */
RBM_API rbm_status rbm_linear_gradient(const rbm_machine *m, const double *C, size_t c_len,
                                       double *dW, size_t dw_len);

/* Integrate dW/dt from the machine's current W to time t_end with an
 * adaptive embedded Runge-Kutta 5(4) (Dormand-Prince) method under relative
 * / absolute tolerances rtol, atol; the machine's W is replaced by W(t_end).
 * When n_out > 0, the singular values of W at n_out equally spaced times
 * t_k = k t_end / (n_out - 1) (k = 0..n_out-1; n_out = 1 records t_end) are
 * written to w_out (n_out x r, r = min(N_v, N_h); LAPACK dgesdd, descending)
 * and the times to times (n_out values, times_len must be n_out; times may
 * be NULL, then times_len is ignored); w_out may be NULL when n_out = 0.
 * Steps are shortened to land exactly on the output times. Step control:
 * error norm sqrt(mean_i (e_i / (atol + rtol max(|W_i|, |W_i'|)))^2) <= 1,
 * new step h * min(10, max(0.2, 0.9 err^(-1/5))) (no growth right after a
 * rejection). Every stage point is checked for normalisability (Cholesky of
 * C_model^{-1}); a step whose stage leaves the region is retried 4x
 * shorter. progress (may be NULL; t_end > 0) is called after every accepted step with
 * t / t_end (and with 1 at the end); a non-zero return stops the
 * integration: the machine then holds W at the time reached, outputs not
 * reached are left unchanged, and RBM_STOPPED is returned. On error the
 * machine is unchanged. The integration is in double whatever the
 * machine's precision. The method is explicit: near the fixed point its
 * step is limited by stability to about 3.3 / r, r = 2 sigma_h^2 lambda_1
 * (lambda_1 - sigma_v^2) / sigma_v^2 the fastest relaxation rate (docs/theory.md
 * §3.4), so the cost grows linearly with t_end once converged (N_v = 12,
 * N_h = 5, r = 48: about 15 steps per unit of time, 40 us per step).
 * Errors: RBM_ERR_NULL, RBM_ERR_UNSUPPORTED, RBM_ERR_SHAPE (c_len, w_len
 * or times_len not the expected length; the detail names it),
 * RBM_ERR_NOT_FINITE (C), RBM_ERR_INVALID_ARGUMENT (t_end < 0 or not
 * finite, tolerances <= 0 or not finite, C not symmetric),
 * RBM_ERR_NOT_NORMALIZABLE (W, or the trajectory left the normalisable
 * region), RBM_ERR_NOT_CONVERGED (step size underflow), RBM_ERR_NUMERICAL
 * (LAPACK failure), RBM_ERR_NO_MEMORY, RBM_STOPPED. */
RBM_API rbm_status rbm_linear_integrate(rbm_machine *m, const double *C, size_t c_len, double t_end,
                                        double rtol, double atol, size_t n_out, double *times,
                                        size_t times_len, double *w_out, size_t w_len,
                                        int (*progress)(void *user, double fraction), void *user);

/* Fixed-point singular values for covariance eigenvalues lambda[0..n)
 * (any order): w_star[a] = sqrt((lambda_a - sigma_v^2)/(sigma_v^2 sigma_h^2
 * lambda_a)) when lambda_a > sigma_v^2, else 0. w_star receives n values
 * (w_star_len must be n). There is no context, so errors carry no detail
 * message. On error w_star is unchanged.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (w_star_len != n),
 * RBM_ERR_INVALID_ARGUMENT (sigmas not finite > 0, lambda negative or not
 * finite). */
RBM_API rbm_status rbm_linear_fixed_points(const double *lambda, size_t n, double sigma_v,
                                           double sigma_h, double *w_star, size_t w_star_len);

/* One aligned mode (docs/theory.md §3.4): w(t) for eigenvalue lambda from w(0) =
 * w0 > 0, by solving the implicit closed form
 *   ln x - (sigma_v^2/lambda) ln|A - lambda c x| = const + 2 sigma_h^2 A t,
 * x = w^2, c = sigma_v^2 sigma_h^2, A = lambda - sigma_v^2, with a bracketed
 * 1-D root finder (relative accuracy 1e-13). The root is bracketed between
 * x0 and the end point of the motion, which is monotone: x* = A/(lambda c)
 * when A > 0 (from below or above), 0 when A <= 0 (exponential decay at
 * rate 2 sigma_h^2 |A| in x for A < 0). The equation is solved in ln x,
 * divided by A and rewritten with log1p so that it stays accurate as
 * A -> 0; at A = 0 (lambda = sigma_v^2) it is its limit, the exact solution
 * of the algebraic decay,
 *   1/x + c ln x = 1/x0 + c ln x0 + 2 sigma_h^2 lambda c t
 * (x ~ 1/(2 sigma_h^2 lambda c t) at late times). t = 0 returns w0.
 * Working in ln x, any w0 > 0 is accepted (w0^2 may underflow); a result
 * below the double range is 0.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (lambda, sigmas or w0 not
 * finite and > 0, t < 0 or not finite, w0 >= 1/(sigma_v sigma_h), i.e.
 * outside the normalisable range), RBM_ERR_NUMERICAL (no bracket found:
 * not expected). */
RBM_API rbm_status rbm_linear_mode_trajectory(double lambda, double sigma_v, double sigma_h,
                                              double w0, double t, double *w_t);

#ifdef __cplusplus
}
#endif
#endif /* RBM_LINEAR_H */
