/* Independent reference for the cmocka tests (no librbm arithmetic): a copy
 * of the parameters of a machine, a test-local random number generator, and
 * brute-force enumeration written from docs/theory.md §1.1-§1.3. The tests
 * compare the library against these; they must not call into the library's
 * numerical code (only the machine setters/getters, to exchange parameters). */
#ifndef RBM_TEST_REFERENCE_H
#define RBM_TEST_REFERENCE_H

#include "testutil.h"

#ifndef T_PI
#define T_PI 3.14159265358979323846
/* Plane (Jacobi/Givens) rotation of two strided vectors, element k at
 * x[k * inc] and y[k * inc], k < n: (x, y) <- (c x - s y, s x + c y). */
void ref_rotate(double *x, double *y, size_t n, size_t inc, double c, double s);
/* n random orthonormal vectors of R^d (columns of Q, d x n row-major):
 * Gram-Schmidt (twice) of Gaussian vectors drawn with r_norm (testutil.h). */
void ref_random_orthonormal(size_t d, size_t n, double *Q);

#endif

typedef struct ref_rbm {
    size_t nv, nh;
    rbm_unit_kind vk, hk;
    double sv, sh; /* sigma of Gaussian layers */
    double *W, *a, *b;
} ref_rbm;

/* splitmix64 + Box-Muller; seed by assigning t_sm_state. */
extern uint64_t t_sm_state;
uint64_t t_next(void);
double t_unif(void);
double t_normal(void);

/* Per-unit log-partition Lambda, mean and phi of a unit kind. */
double ref_lambda(rbm_unit_kind k, double sigma, double x);
double ref_mean(rbm_unit_kind k, double sigma, double x);
double ref_phi(rbm_unit_kind k, double sigma, double x);
/* Unit value of bit `bit` for a discrete kind. */
double ref_bitval(rbm_unit_kind k, int bit);
/* x[i] = unit value of bit i of idx. */
void ref_state(rbm_unit_kind k, size_t n, uint64_t idx, double *x);

ref_rbm *ref_new(size_t nv, size_t nh, rbm_unit_kind vk, rbm_unit_kind hk);
void ref_free(ref_rbm *r);
void ref_randomize(ref_rbm *r, uint64_t seed, double wstd, double bstd);
/* Build a librbm machine holding the parameters of r. */
rbm_machine *ref_to_machine(rbm_context *ctx, const ref_rbm *r);
/* Copy the parameters of m into r (shapes must agree). */
void ref_from_machine(rbm_context *ctx, ref_rbm *r, const rbm_machine *m);

/* F(v) = -a.v + sum phi_v(v_i) - sum_j Lambda_h(b_j + (W^T v)_j) */
double ref_free_energy_v(const ref_rbm *r, const double *v);
/* F_h(h) = -b.h + sum phi_h(h_j) - sum_i Lambda_v(a_i + (W h)_i) */
double ref_free_energy_h(const ref_rbm *r, const double *h);
/* log Z by enumerating a discrete layer: visible when `layer` is
 * RBM_LAYER_VISIBLE, hidden otherwise. */
double ref_log_z_layer(const ref_rbm *r, rbm_layer layer);
double ref_log_z(const ref_rbm *r);
/* Mean log-likelihood of M rows: mean(-F(v)) - log Z. */
double ref_mean_ll(const ref_rbm *r, size_t M, const double *data);

/* Plane (Jacobi/Givens) rotation of two strided vectors, element k at
 * x[k * inc] and y[k * inc], k < n: (x, y) <- (c x - s y, s x + c y). */
void ref_rotate(double *x, double *y, size_t n, size_t inc, double c, double s);


/* Statistics of samples against exact distributions (tests of samplers). */
/* z with P(Z > z) = alpha for a standard normal Z. */
double ref_upper_normal_quantile(double alpha);
/* Chi-square critical value for df degrees of freedom at upper-tail
 * probability alpha (Wilson-Hilferty). */
double ref_chi2_critical(double df, double alpha);
/* Pearson chi-square of counts against probabilities p over nb bins (bins
 * with expected count < 5 pooled); *df receives the degrees of freedom. */
double ref_chi2_stat(size_t nb, const double *p, const size_t *count, size_t n, double *df);
/* Index (bit i = unit i) of a discrete configuration; fails the test for a
 * value outside the support. */
uint64_t ref_config_index(rbm_unit_kind k, size_t n, const double *x);
/* Exact distribution of a discrete layer (2^n states) from its free energy. */
void ref_exact_layer_probs(const ref_rbm *r, rbm_layer layer, double *p);

#endif
