/* Reference computations for tests of Potts machines: a small machine of
 * N = 3 sites with Q = 3 states and up to MAXH hidden Bernoulli units,
 * with every statistic computed by enumerating all Q^N x 2^nh pairs in long
 * double, straight from the energy's definition. */
#ifndef RBM_TEST_POTTS_REF_H
#define RBM_TEST_POTTS_REF_H

#include <stdint.h>
#include <rbm/rbm.h>

enum { N = 3, Q = 3, NA = N * Q, NVS = 27 /* Q^N */, MAXH = 6 };

typedef struct {
    size_t nh;
    double W[NA * MAXH], a[NA], b[MAXH];
} params;

/* Gaussian parameters of the given scale, seeded. */
void random_params(params *p, size_t nh, uint64_t seed, double scale);
/* A machine with these parameters (Bernoulli hidden), and back. */
rbm_machine *potts_machine(rbm_context *ctx, const params *p);
void params_of(rbm_context *ctx, const rbm_machine *m, params *p);
/* Configuration number code (base Q, site 0 first) into v. */
void state_of(int code, double *v);
/* -E(v, h), bit j of hbits the state of hidden unit j. */
long double neg_energy(const params *p, const double *v, unsigned hbits);

typedef struct {
    long double log_z;
    double vh[NA * MAXH], v[NA], h[MAXH]; /* <sigma h^T>, <sigma>, <h> */
    double pv[NVS];                       /* p(v) by configuration number */
} model_stats;
void enumerate_model(const params *p, model_stats *s);

/* R exact samples of p(v) (R x N states). */
void exact_samples(const model_stats *ms, size_t R, uint8_t *out);
/* R exact samples of a random planted machine (2 hidden units), malloc'd. */
uint8_t *planted_samples(uint64_t seed, double scale, size_t R, params *planted);
/* Mean exact log-likelihood of the R rows X (R x N states). */
double mean_ll(const params *p, size_t R, const uint8_t *X);
/* A categorical dataset of the R rows X (alphabet "ACG"). */
rbm_dataset *categorical(rbm_context *ctx, const uint8_t *X, size_t R);
/* The configuration number of row x. */
int code_of(const uint8_t *x);

#endif
