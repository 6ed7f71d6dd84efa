/* librbm — unit kinds (docs/theory.md §1.1).
 *
 * For a unit of kind K in a local field x (the field already includes the
 * bias), with confinement phi(x') (0 for discrete units, x'^2/(2 sigma^2) for
 * Gaussian ones):
 *   log-partition  Lambda(x) = log sum_x' exp(x x' - phi(x'))
 *     Bernoulli: softplus(x) = log(1 + e^x)
 *     Ising:     log(2 cosh x)
 *     Gaussian:  sigma^2 x^2 / 2 + log(2 pi sigma^2) / 2
 *   mean           f(x) = Lambda'(x): sigm(x), tanh(x), sigma^2 x
 *   variance       f'(x): f(1-f), 1-f^2, sigma^2
 * Softplus and log 2cosh are evaluated in overflow-free forms: finite for
 * every finite field in float32 and float64.
 *
 * sigma is the standard deviation of a Gaussian unit and is ignored (may be
 * anything) for the discrete kinds; for Gaussian units it must lie in
 * [2^-511, 2^511] (about 1.49e-154 to 6.70e153), the float64 range of
 * rbm_machine_sigma, so that sigma^2 and 1/sigma^2 are finite.
 *
 * A Potts unit (RBM_UNIT_POTTS, visible layer only) takes one of q states
 * c = 0..q-1 in q fields x_c: p(c) = exp(x_c) / sum_c' exp(x_c'), log-partition
 * log sum_c exp(x_c) (evaluated as max + log sum exp(x_c - max), finite for
 * finite fields in both precisions). Its fields come from a machine
 * (machine.h), so rbm_unit_eval and rbm_unit_sample refuse it.
 *
 * THREAD SAFETY: functions without an rng are pure; those with an rng use it
 * exclusively for the duration of the call. */
#ifndef RBM_UNITS_H
#define RBM_UNITS_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Name of a unit kind ("bernoulli", "ising", "gaussian", "potts"), or NULL for an
 * unknown value. Static storage. */
RBM_API const char *rbm_unit_kind_name(rbm_unit_kind kind);

/* Parse a unit-kind name (case-sensitive, as above). Errors: RBM_ERR_NULL,
 * RBM_ERR_INVALID_ARGUMENT (unknown name). */
RBM_API rbm_status rbm_unit_kind_parse(const char *name, rbm_unit_kind *out);

/* Evaluate n units of one kind at the fields field[0..n) (n is the length
 * of field). Each of mean, variance and log_partition may be NULL (not
 * computed; its length is then ignored); each non-NULL one receives n
 * values and its length (mean_len, variance_len, log_partition_len) must be
 * n. Output arrays may alias field. There is no context, so errors carry no
 * detail message. On error no output is written.
 * Errors: RBM_ERR_NULL (field NULL with n > 0), RBM_ERR_SHAPE (an output
 * length != n), RBM_ERR_INVALID_ARGUMENT (unknown kind, RBM_UNIT_POTTS -- a
 * Potts unit has q fields, see rbm_machine_new_potts --, or Gaussian with
 * sigma outside [2^-511, 2^511]), RBM_ERR_NOT_FINITE (a field is NaN or
 * infinite). */
RBM_API rbm_status rbm_unit_eval(rbm_unit_kind kind, double sigma, size_t n, const double *field,
                                 double *mean, size_t mean_len, double *variance,
                                 size_t variance_len, double *log_partition,
                                 size_t log_partition_len);

/* Draw one sample per unit from the unit law in its field: Bernoulli
 * P(1) = sigm(x); Ising P(+1) = sigm(2x); Gaussian N(sigma^2 x, sigma^2).
 * Writes n values to out (out_len must be n; out may alias field). Uses one
 * uniform (discrete) or one normal (Gaussian) deviate per unit, in index
 * order. On error out and the rng are unchanged; the detail goes to the
 * rng's context.
 * Errors: as rbm_unit_eval, plus RBM_ERR_NULL for rng/out and
 * RBM_ERR_SHAPE (out_len != n). */
RBM_API rbm_status rbm_unit_sample(rbm_unit_kind kind, double sigma, size_t n, const double *field,
                                   rbm_rng *rng, double *out, size_t out_len);

#ifdef __cplusplus
}
#endif
#endif /* RBM_UNITS_H */
