/* Reference helpers for the tests of mean field on Potts visible layers
 * (test_meanfield_potts*.c): small Potts machines with Gaussian parameters,
 * the exact marginals and log Z by enumerating the q^N visible
 * configurations (each hidden unit summed out in closed form), and the
 * library's solver run from the uniform start. */
#ifndef RBM_TEST_MF_POTTS_REF_H
#define RBM_TEST_MF_POTTS_REF_H

#include <stddef.h>
#include <stdint.h>
#include <rbm/rbm.h>

enum { MAXN = 5, MAXQ = 3, MAXW = MAXN * MAXQ, MAXH = 4 };

typedef struct {
    size_t n, q, nh;
    rbm_unit_kind hk;
    double W[MAXW * MAXH], a[MAXW], b[MAXH];
} pmodel;

/* Independent Gaussian couplings of unit scale and fields of scale fs. */
void mfp_random_model(pmodel *p, size_t n, size_t q, size_t nh, rbm_unit_kind hk, uint64_t seed,
                      double fs);
/* The machine of p with couplings eps W. */
rbm_machine *mfp_machine(rbm_context *ctx, const pmodel *p, double eps);
/* log partition of one hidden unit in field x (sigma = 1; Bernoulli or
 * Gaussian) and its mean (also Ising). */
double mfp_hid_logpart(rbm_unit_kind k, double x);
double mfp_hid_mean(rbm_unit_kind k, double x);

typedef struct {
    double log_z;
    double pv[MAXW], mh[MAXH]; /* p(v_i = c), <h_j> */
} mfp_exact;
/* Enumerate the q^N configurations of p with couplings eps W. */
void mfp_enumerate(const pmodel *p, double eps, mfp_exact *e);
/* Solve from the uniform start (then once more from the result with a
 * neutral hidden start); returns Gamma, the magnetisations in mv (N q), mh. */
double mfp_solve(rbm_context *ctx, rbm_mf *s, const pmodel *p, double *mv, double *mh);
/* A random interior point: site distributions and hidden means. */
void mfp_random_point(const pmodel *p, double *mv, double *mh);
/* Gamma at (mv, mh). */
double mfp_gamma(rbm_context *ctx, rbm_mf *s, const pmodel *p, const double *mv,
                 const double *mh);

/* Subtract from x (N q entries) the mean over each site's states: the
 * projection on the tangent space of the simplexes. */
void mfp_site_center(const pmodel *p, double *x);
/* A random direction d (N q + N_h: visible then hidden) that keeps every
 * site on its simplex. */
void mfp_direction(const pmodel *p, double *d);
/* x = mv + t d_v, y = mh + t d_h. */
void mfp_shift(const pmodel *p, const double *mv, const double *mh, const double *d, double t,
               double *x, double *y);

/* A context, a random model (mfp_random_model), its machine with couplings
 * eps W and a solver of `method` for it. */
typedef struct {
    rbm_context *ctx;
    pmodel p;
    rbm_machine *m;
    rbm_mf *s;
} mfp_fixture;
void mfp_fixture_new(mfp_fixture *f, size_t n, size_t q, size_t nh, rbm_unit_kind hk,
                     uint64_t seed, double fs, double eps, rbm_mf_method method);
void mfp_fixture_free(mfp_fixture *f);

#endif
