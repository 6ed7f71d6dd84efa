/* librbm — svd_potts: the per-site view of the left singular vectors of W
 * for visible layers of q states per unit (docs/potts.md "Spectral view"):
 * row i*q + c of U belongs to site i in state c. */
#include "analysis/svd_impl.h"

#include <math.h>

rbm_status rbm_svd_site_shape(const rbm_svd *s, size_t *n_sites, size_t *n_states)
{
    if (!s)
        return RBM_ERR_NULL;
    if (n_sites)
        *n_sites = s->nsites;
    if (n_states)
        *n_states = s->nq;
    return RBM_OK;
}

rbm_status rbm_svd_site_norms(const rbm_svd *s, size_t n_modes, double *out, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    if (n_modes == 0 || n_modes > s->r)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_svd_site_norms: n_modes must be in [1, %zu] (the rank), got %zu",
                         s->r, n_modes);
    const size_t N = s->nsites, q = s->nq, r = s->r;
    /* n_modes <= r and N <= nv: n_modes * N <= r * nv, which was allocated */
    rbm_status st = rbm__check_array(s->ctx, out, len, n_modes * N, "rbm_svd_site_norms: out");
    if (st)
        return st;
    for (size_t a = 0; a < n_modes; a++)
        for (size_t i = 0; i < N; i++) {
            double acc = 0;
            for (size_t c = 0; c < q; c++) {
                double u = s->U[(i * q + c) * r + a];
                acc += u * u;
            }
            out[a * N + i] = sqrt(acc);
        }
    return RBM_OK;
}

rbm_status rbm_svd_site_weights(const rbm_svd *s, size_t mode, double *out, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    if (mode >= s->r)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_svd_site_weights: mode must be below the rank %zu, got %zu", s->r,
                         mode);
    rbm_status st = rbm__check_array(s->ctx, out, len, s->nv, "rbm_svd_site_weights: out");
    if (st)
        return st;
    for (size_t k = 0; k < s->nv; k++)
        out[k] = s->U[k * s->r + mode];
    return RBM_OK;
}
