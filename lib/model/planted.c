/* librbm — planted: a Potts machine with a few known modes, the source of
 * synthetic alignments (docs/potts.md, "Planted alignments").
 *
 * Mode alpha owns S sites (disjoint between modes) and, at each of them,
 * two distinct states A_i and B_i; its left singular vector is
 *   u^alpha_{i,A_i} = +1/sqrt(2S),  u^alpha_{i,B_i} = -1/sqrt(2S),
 * zero elsewhere, so every site sums to zero (the zero-sum gauge) and the
 * u^alpha are orthonormal because their supports are disjoint. With the
 * hidden unit alpha as the right singular vector,
 *   W = sum_alpha w_alpha u^alpha e_alpha^T
 * has the singular values w_alpha. The sites no mode owns get independent
 * zero-sum fields a_ic = g (x_ic - mean_c x_ic), x ~ N(0, 1) (the
 * conserved and variable columns of an alignment); the mode sites get no
 * field, so an Ising hidden layer (b = 0) leaves p(v) symmetric under
 * A_i <-> B_i on each mode's sites. Everything is drawn from one rng seeded
 * with seed: the permutation of the sites, then A_i, B_i site by site, then
 * the fields. */
#include "core/internal.h"
#include "core/shuffle.h"
#include "model/machine.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static rbm_status check_planted(rbm_context *ctx, size_t n_sites, const double *strengths,
                                size_t n_modes, size_t sites_per_mode, double background)
{
    const char *fn = "rbm_machine_new_planted_potts";
    if (!strengths)
        return rbm__fail(ctx, RBM_ERR_NULL, "%s: strengths is NULL", fn);
    if (n_modes == 0 || sites_per_mode == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: n_modes (%zu) and sites_per_mode (%zu) must be >= 1", fn, n_modes,
                         sites_per_mode);
    size_t used;
    if (!rbm__mul_ok(n_modes, sites_per_mode, &used) || used > n_sites)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: %zu modes of %zu sites need more than the %zu sites (the modes' "
                         "sites are disjoint)",
                         fn, n_modes, sites_per_mode, n_sites);
    for (size_t k = 0; k < n_modes; k++)
        if (!(isfinite(strengths[k]) && strengths[k] > 0 && strengths[k] <= 1e6))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "%s: strengths[%zu] = %g is not in (0, 1e6]", fn, k, strengths[k]);
    if (!(isfinite(background) && background >= 0 && background <= 1e6))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s: background %g is not in [0, 1e6]", fn,
                         background);
    return RBM_OK;
}

/* W, a of the planted machine (see the top of the file) into the zeroed
 * W ((N q) x K) and a (N q); perm is N scratch indices. */
static void plant(size_t N, size_t q, size_t K, size_t S, const double *w, double background,
                  uint64_t seed, size_t *perm, double *W, double *a)
{
    rbm_rng rng;
    rbm__rng_init(&rng, NULL, seed);
    rbm__shuffle(&rng, perm, N);
    double u = 1.0 / sqrt(2.0 * (double)S);
    for (size_t k = 0; k < K; k++)
        for (size_t s = 0; s < S; s++) {
            size_t i = perm[k * S + s];
            size_t A = rbm__rng_index(&rng, q), B = rbm__rng_index(&rng, q - 1);
            B += B >= A; /* uniform over the other q - 1 states */
            W[(i * q + A) * K + k] = w[k] * u;
            W[(i * q + B) * K + k] = -w[k] * u;
        }
    for (size_t s = K * S; s < N; s++) {
        double *ai = a + perm[s] * q, mean = 0;
        for (size_t c = 0; c < q; c++)
            mean += ai[c] = background * rbm__rng_normal(&rng);
        mean /= (double)q;
        for (size_t c = 0; c < q; c++)
            ai[c] -= mean;
    }
}

rbm_status rbm_machine_new_planted_potts(rbm_context *ctx, size_t n_sites, size_t n_states,
                                         const double *strengths, size_t n_modes,
                                         size_t sites_per_mode, double background,
                                         rbm_unit_kind hidden, uint64_t seed, rbm_machine **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_machine_new_planted_potts: out is NULL");
    rbm_machine *m;
    rbm_status st = check_planted(ctx, n_sites, strengths, n_modes, sites_per_mode, background);
    if (st || (st = rbm_machine_new_potts(ctx, n_sites, n_states, n_modes, hidden, &m)))
        return st;
    size_t *perm;
    if ((st = rbm__xcalloc(ctx, n_sites, sizeof *perm, &perm, "planted sites"))) {
        rbm_machine_free(m);
        return st;
    }
    double *W, *a;
    rbm__machine_params_mut(m, &W, &a, NULL);
    plant(n_sites, n_states, n_modes, sites_per_mode, strengths, background, seed, perm, W, a);
    rbm__free(ctx, perm);
    rbm__machine_sync(m);
    char text[200];
    snprintf(text, sizeof text,
             "source=planted-potts\nsites=%zu\nstates=%zu\nmodes=%zu\nsites_per_mode=%zu\n"
             "background=%.17g\nseed=%llu\n",
             n_sites, n_states, n_modes, sites_per_mode, background, (unsigned long long)seed);
    if ((st = rbm_machine_set_provenance(m, text))) {
        rbm_machine_free(m);
        return st;
    }
    *out = m;
    return RBM_OK;
}
