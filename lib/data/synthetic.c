/* librbm — synthetic: the cluster generator of docs/theory.md §7.
 *
 * K centres c_k ~ N(0, I_d) in d dimensions and an orthonormal embedding E
 * (D x d, Gram-Schmidt of a Gaussian matrix) are drawn first; each sample
 * is then x = E (c_k + noise * xi) with k uniform and xi ~ N(0, I_d),
 * stored as x itself (Gaussian units), (x_i > 0) (Bernoulli) or sign(x_i)
 * with 0 -> +1 (Ising). Everything comes from one rbm_rng, in that order. */
#include "core/shuffle.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"

#include <math.h>

/* Orthonormalise the d columns of E (n x d, row-major) in place by modified
 * Gram-Schmidt (two passes); a column that becomes numerically dependent is
 * redrawn from rng. Returns false if that keeps failing. */
static bool orthonormalize(double *E, size_t n, size_t d, rbm_rng *rng)
{
    for (size_t j = 0; j < d; j++) {
        int attempt = 0;
        for (;;) {
            double norm0 = 0.0;
            for (size_t i = 0; i < n; i++)
                norm0 += E[i * d + j] * E[i * d + j];
            norm0 = sqrt(norm0);
            for (int pass = 0; pass < 2; pass++)
                for (size_t q = 0; q < j; q++) {
                    double dot = 0.0;
                    for (size_t i = 0; i < n; i++)
                        dot += E[i * d + q] * E[i * d + j];
                    for (size_t i = 0; i < n; i++)
                        E[i * d + j] -= dot * E[i * d + q];
                }
            double norm = 0.0;
            for (size_t i = 0; i < n; i++)
                norm += E[i * d + j] * E[i * d + j];
            norm = sqrt(norm);
            if (norm > 1e-8 * norm0 && norm > 1e-300) {
                for (size_t i = 0; i < n; i++)
                    E[i * d + j] /= norm;
                break;
            }
            if (++attempt > 100)
                return false;
            for (size_t i = 0; i < n; i++)
                E[i * d + j] = rbm__rng_normal(rng);
        }
    }
    return true;
}

/* The generator's shape: K centres in d dimensions embedded in D. */
typedef struct clusters {
    size_t K, d, D;
    double noise;
    rbm_unit_kind kind;
    double *C; /* K x d centres */
    double *E; /* D x d embedding */
    double *z; /* d: one sample before embedding */
} clusters;

/* The arguments' errors (the defaults already applied to K, d, D). */
static rbm_status check_args(rbm_context *ctx, size_t n_samples, const clusters *g)
{
    if (n_samples == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "rbm_dataset_synthetic: n_samples is 0");
    if (!isfinite(g->noise) || g->noise < 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_synthetic: noise %g must be finite and >= 0", g->noise);
    if (g->d > g->D)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_synthetic: intrinsic_dim %zu exceeds n_dims %zu", g->d, g->D);
    if (g->kind != RBM_UNIT_BERNOULLI && g->kind != RBM_UNIT_ISING &&
        g->kind != RBM_UNIT_GAUSSIAN)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_synthetic: unknown unit kind %d", (int)g->kind);
    return RBM_OK;
}

/* n_samples rows of D values into data (float64 for Gaussian units, else
 * float32), drawn after the centres and the embedding. */
static void draw_samples(clusters *g, rbm_rng *rng, size_t n_samples, void *data)
{
    size_t d = g->d, D = g->D;
    for (size_t s = 0; s < n_samples; s++) {
        const double *c = g->C + rbm__rng_index(rng, g->K) * d;
        for (size_t j = 0; j < d; j++)
            g->z[j] = c[j] + g->noise * rbm__rng_normal(rng);
        for (size_t i = 0; i < D; i++) {
            const double *e = g->E + i * d;
            double x = 0.0;
            for (size_t j = 0; j < d; j++)
                x += e[j] * g->z[j];
            size_t at = s * D + i;
            if (g->kind == RBM_UNIT_GAUSSIAN)
                ((double *)data)[at] = x;
            else if (g->kind == RBM_UNIT_BERNOULLI)
                ((float *)data)[at] = x > 0.0 ? 1.0f : 0.0f;
            else
                ((float *)data)[at] = x >= 0.0 ? 1.0f : -1.0f;
        }
    }
}

rbm_status rbm_dataset_synthetic(rbm_context *ctx, size_t n_samples, size_t n_clusters,
                                 size_t intrinsic_dim, size_t n_dims, double noise,
                                 rbm_unit_kind kind, uint64_t seed, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_synthetic: out is NULL");
    clusters g = {n_clusters ? n_clusters : 11, intrinsic_dim ? intrinsic_dim : 5,
                  n_dims ? n_dims : 100, noise, kind, NULL, NULL, NULL};
    rbm_status st = check_args(ctx, n_samples, &g);
    if (st)
        return st;
    rbm_dtype dtype = kind == RBM_UNIT_GAUSSIAN ? RBM_DTYPE_FLOAT64 : RBM_DTYPE_FLOAT32;
    size_t bytes = 0, cbytes = 0, ebytes = 0;
    st = rbm__dataset_size(ctx, n_samples, g.D, rbm__dtype_size(dtype), &bytes,
                           "rbm_dataset_synthetic");
    if (!st)
        st = rbm__dataset_size(ctx, g.K, g.d, sizeof(double), &cbytes,
                               "rbm_dataset_synthetic: centres");
    if (!st)
        st = rbm__dataset_size(ctx, g.D, g.d, sizeof(double), &ebytes,
                               "rbm_dataset_synthetic: embedding");
    if (st)
        return st;

    void *data = NULL;
    g.C = rbm__data_alloc(ctx, cbytes, "rbm_dataset_synthetic", &st);
    if (g.C)
        g.E = rbm__data_alloc(ctx, ebytes, "rbm_dataset_synthetic", &st);
    if (g.E)
        g.z = rbm__data_alloc(ctx, g.d * sizeof(double), "rbm_dataset_synthetic", &st);
    if (g.z)
        data = rbm__data_alloc(ctx, bytes, "rbm_dataset_synthetic", &st);
    if (data) {
        struct rbm_rng rng;
        rbm__rng_init(&rng, ctx, seed);
        for (size_t i = 0; i < g.K * g.d; i++)
            g.C[i] = rbm__rng_normal(&rng);
        for (size_t i = 0; i < g.D * g.d; i++)
            g.E[i] = rbm__rng_normal(&rng);
        if (orthonormalize(g.E, g.D, g.d, &rng)) {
            draw_samples(&g, &rng, n_samples, data);
            st = rbm__dataset_wrap(ctx, n_samples, g.D, dtype, data, NULL, out);
            data = NULL;
        } else {
            st = rbm__fail(ctx, RBM_ERR_NUMERICAL,
                           "rbm_dataset_synthetic: could not build an orthonormal embedding");
        }
    }
    rbm__free(ctx, data);
    rbm__free(ctx, g.z);
    rbm__free(ctx, g.E);
    rbm__free(ctx, g.C);
    return st;
}
