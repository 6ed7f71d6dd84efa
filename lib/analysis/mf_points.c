/* librbm — mf_points: the mean-field fixed points reached from many starts
 * (given, random or data rows), merged when closer than the dedup distance,
 * classified by the smallest eigenvalue of the scaled Hessian of Gamma and
 * sorted by Gamma; their TAP estimate of log Z (docs/theory.md §4.5). */
#include "analysis/lapack_calls.h"
#include "analysis/mf_impl.h"
#include "core/shuffle.h"
#include "data/dataset.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void rbm_mf_points_free(rbm_mf_points *p)
{
    if (!p)
        return;
    rbm_context *ctx = p->ctx;
    rbm__free(ctx, p->mv);
    rbm__free(ctx, p->mh);
    rbm__free(ctx, p->gamma);
    rbm__free(ctx, p->mineig);
    rbm__free(ctx, p->mult);
    rbm__free(ctx, p->stable);
    rbm__free(ctx, p);
}

static rbm_status points_alloc(rbm_context *ctx, const rbm__machine_view *view, size_t cap,
                               rbm_mf_points **out)
{
    const size_t nv = view->nvw, nh = view->nh;
    rbm_mf_points *p;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *p, &p, "fixed points");
    if (st)
        return st;
    p->ctx = ctx;
    p->nv = nv;
    p->nh = nh;
    p->nq = view->nq;
    size_t cv, chh;
    if (!rbm__mul_ok(cap, nv, &cv) || !rbm__mul_ok(cap, nh, &chh)) {
        rbm_mf_points_free(p);
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", cap);
    }
    if ((st = rbm__xcalloc(ctx, cv, sizeof(double), &p->mv, "fixed points")) ||
        (st = rbm__xcalloc(ctx, chh, sizeof(double), &p->mh, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(double), &p->gamma, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(double), &p->mineig, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(size_t), &p->mult, "fixed points")) ||
        (st = rbm__xcalloc(ctx, cap, sizeof(int), &p->stable, "fixed points"))) {
        rbm_mf_points_free(p);
        return st;
    }
    *out = p;
    return RBM_OK;
}

/* The Hessian buffers of a search: H (N x N, N = nvw + nh) and, for a
 * Potts visible layer, the reduced matrix R (nr x nr) with its map and
 * scales (docs/theory.md §4.7); eig: N; ws: rbm__mf_hessian_ws_len. */
typedef struct hess_bufs {
    double *H, *R, *eig, *ws, *scale;
    size_t *map;
} hess_bufs;

/* Smallest eigenvalue of the scaled Hessian at (mv, mh) (Potts: of its
 * scaled restriction to the simplexes' tangent space). */
static rbm_status min_eigenvalue(rbm_mf *s, const double *mv, const double *mh,
                                 const hess_bufs *hb, double *out)
{
    const rbm__machine_view *view = rbm__machine_view_of(s->m);
    const bool potts = view->vk == RBM_UNIT_POTTS;
    size_t N = potts ? view->nv * (view->nq - 1) + view->nh : view->nv + view->nh;
    rbm_status st = rbm__mf_hessian(&s->eq, mv, mh, !potts, hb->H, hb->ws);
    if (st)
        return st;
    double *H = hb->H;
    if (potts) {
        rbm__mf_potts_reduce(&s->eq, mv, hb->H, hb->R, hb->map, hb->scale);
        H = hb->R;
    }
    double *eig = hb->eig;
    lapack_int info = rbm__lapack_sym_eigenvalues(N, H, eig);
    if (info != 0)
        return rbm__fail(s->ctx, RBM_ERR_NUMERICAL, "LAPACKE_dsyev failed (info %d)", (int)info);
    *out = eig[0];
    return RBM_OK;
}

/* Index of the point within the dedup distance of (mv, mh) (mean absolute
 * difference per unit), or p->count when there is none. */
static size_t find_duplicate(const rbm_mf *s, const rbm_mf_points *p, const double *mv,
                             const double *mh)
{
    const size_t nv = p->nv, nh = p->nh, N = nv + nh;
    size_t k;
    for (k = 0; k < p->count; k++) {
        const double *qv = p->mv + k * nv, *qh = p->mh + k * nh;
        double dist = 0;
        for (size_t i = 0; i < nv; i++)
            dist += fabs(mv[i] - qv[i]);
        for (size_t j = 0; j < nh; j++)
            dist += fabs(mh[j] - qh[j]);
        if (dist / (double)N < s->dedup)
            break;
    }
    return k;
}

/* Solve from every start (mv0 rows; mh0 rows or NULL: E[h|v]) and keep the
 * distinct fixed points with their multiplicities; starts that do not
 * converge or become non-finite are counted as failed. mv, mh: scratch. */
static rbm_status solve_starts(rbm_mf *s, size_t n, const double *mv0, const double *mh0,
                               rbm_mf_points *p, double *mv, double *mh)
{
    const size_t nv = p->nv, nh = p->nh;
    p->n_starts = n;
    for (size_t r = 0; r < n; r++) {
        memcpy(mv, mv0 + r * nv, nv * sizeof(double));
        if (mh0)
            memcpy(mh, mh0 + r * nh, nh * sizeof(double));
        else
            rbm__mf_eq_hidden_start(&s->eq, mv, mh);
        rbm_status st = rbm__mf_iterate(s, mv, mh, NULL, NULL);
        if (st == RBM_ERR_NOT_CONVERGED || st == RBM_ERR_NUMERICAL) {
            p->n_failed++;
            continue;
        }
        if (st)
            return st;
        size_t k = find_duplicate(s, p, mv, mh);
        if (k < p->count) {
            p->mult[k]++;
            continue;
        }
        memcpy(p->mv + k * nv, mv, nv * sizeof(double));
        memcpy(p->mh + k * nh, mh, nh * sizeof(double));
        p->mult[k] = 1;
        p->count++;
    }
    rbm_context_clear_error(s->ctx);
    return RBM_OK;
}

/* Gamma, the smallest eigenvalue of the scaled Hessian and stability of
 * every point. */
static rbm_status classify_points(rbm_mf *s, rbm_mf_points *p, const hess_bufs *hb)
{
    rbm_status st;
    for (size_t k = 0; k < p->count; k++) {
        const double *qv = p->mv + k * p->nv, *qh = p->mh + k * p->nh;
        if ((st = rbm__mf_gamma(&s->eq, qv, qh, &p->gamma[k])) ||
            (st = min_eigenvalue(s, qv, qh, hb, &p->mineig[k])))
            return st;
        p->stable[k] = p->mineig[k] > s->stab_tol;
    }
    return RBM_OK;
}

static void swap_rows(double *x, size_t len, size_t a, size_t b, double *tmp)
{
    memcpy(tmp, x + a * len, len * sizeof(double));
    memcpy(x + a * len, x + b * len, len * sizeof(double));
    memcpy(x + b * len, tmp, len * sizeof(double));
}

/* Order the points by Gamma (a stable insertion sort of a permutation;
 * counts are small), then apply the permutation in place by swaps: slot k
 * receives point perm[k], following where earlier swaps moved it. mv, mh:
 * one row of scratch each. */
static void sort_points(rbm_mf_points *p, size_t *perm, double *mv, double *mh)
{
    for (size_t k = 0; k < p->count; k++) {
        size_t q = k;
        while (q > 0 && p->gamma[perm[q - 1]] > p->gamma[k]) {
            perm[q] = perm[q - 1];
            q--;
        }
        perm[q] = k;
    }
    for (size_t k = 0; k < p->count; k++) {
        size_t src = perm[k];
        while (src < k)
            src = perm[src];
        if (src == k)
            continue;
        swap_rows(p->mv, p->nv, k, src, mv);
        swap_rows(p->mh, p->nh, k, src, mh);
        double t = p->gamma[k];
        p->gamma[k] = p->gamma[src];
        p->gamma[src] = t;
        t = p->mineig[k];
        p->mineig[k] = p->mineig[src];
        p->mineig[src] = t;
        size_t u = p->mult[k];
        p->mult[k] = p->mult[src];
        p->mult[src] = u;
        int sb = p->stable[k];
        p->stable[k] = p->stable[src];
        p->stable[src] = sb;
    }
}

/* Solve from n starts (mv0 rows; mh0 rows or NULL), dedup, classify, sort. */
static rbm_status find_points(rbm_mf *s, size_t n, const double *mv0, const double *mh0,
                              rbm_mf_points **out)
{
    rbm_context *ctx = s->ctx;
    const rbm_machine *m = s->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    const size_t nv = view->nvw, nh = view->nh, N = nv + nh;
    const bool potts = view->vk == RBM_UNIT_POTTS;
    const size_t nr = potts ? view->nv * (view->nq - 1) + nh : 0;
    rbm_mf_points *p = NULL;
    double *mv = NULL, *mh = NULL;
    hess_bufs hb = {0};
    size_t *perm = NULL;
    size_t NN;
    rbm_status st;
    if (!rbm__mul_ok(N, N, &NN))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "Hessian size overflows");
    if ((st = points_alloc(ctx, view, n, &p)) ||
        (st = rbm__xcalloc(ctx, nv, sizeof(double), &mv, "magnetisations")) ||
        (st = rbm__xcalloc(ctx, nh, sizeof(double), &mh, "magnetisations")) ||
        (st = rbm__xcalloc(ctx, NN, sizeof(double), &hb.H, "Hessian")) ||
        (st = rbm__xcalloc(ctx, N, sizeof(double), &hb.eig, "Hessian eigenvalues")) ||
        (st = rbm__xcalloc(ctx, rbm__mf_hessian_ws_len(m), sizeof(double), &hb.ws,
                           "Hessian scratch")) ||
        (potts && ((st = rbm__xcalloc(ctx, nr * nr, sizeof(double), &hb.R, "Hessian")) ||
                   (st = rbm__xcalloc(ctx, nr, sizeof(double), &hb.scale, "Hessian")) ||
                   (st = rbm__xcalloc(ctx, 2 * nr, sizeof(size_t), &hb.map, "Hessian")))) ||
        (st = rbm__xcalloc(ctx, n, sizeof(size_t), &perm, "fixed points")))
        goto done;
    rbm__mf_eq_prepare(&s->eq);
    if ((st = solve_starts(s, n, mv0, mh0, p, mv, mh)) || (st = classify_points(s, p, &hb)))
        goto done;
    sort_points(p, perm, mv, mh);
done:
    rbm__free(ctx, mv);
    rbm__free(ctx, mh);
    rbm__free(ctx, hb.H);
    rbm__free(ctx, hb.R);
    rbm__free(ctx, hb.eig);
    rbm__free(ctx, hb.ws);
    rbm__free(ctx, hb.scale);
    rbm__free(ctx, hb.map);
    rbm__free(ctx, perm);
    if (st) {
        rbm_mf_points_free(p);
        return st;
    }
    *out = p;
    return RBM_OK;
}

/* The checks of every fixed-point entry: out non-NULL (then cleared) and
 * n_starts >= 1. */
static rbm_status check_starts(const rbm_mf *s, size_t n_starts, rbm_mf_points **out)
{
    if (!out)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "out is NULL");
    *out = NULL;
    if (n_starts == 0)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "n_starts must be >= 1");
    return RBM_OK;
}

rbm_status rbm_mf_fixed_points(rbm_mf *s, size_t n_starts, const double *mv0, size_t mv0_len,
                               const double *mh0, size_t mh0_len, rbm_mf_points **out)
{
    if (out)
        *out = NULL;
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = check_starts(s, n_starts, out);
    if (st)
        return st;
    const rbm_machine *m = s->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    size_t lv, lh;
    if (!rbm__mul_ok(n_starts, view->nvw, &lv) || !rbm__mul_ok(n_starts, view->nh, &lh))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", n_starts);
    if ((st = rbm__check_array(s->ctx, mv0, mv0_len, lv, "visible starts")) ||
        (st = rbm__mf_check_visible(s, mv0, n_starts, false, "visible starts")))
        return st;
    if (mh0 || mh0_len) {
        if ((st = rbm__check_array(s->ctx, mh0, mh0_len, lh, "hidden starts")) ||
            (st = rbm__mf_check_mags(s->ctx, view->hk, mh0, lh, false, "hidden starts")))
            return st;
    }
    return find_points(s, n_starts, mv0, mh0, out);
}

rbm_status rbm_mf_fixed_points_random(rbm_mf *s, size_t n_starts, uint64_t seed,
                                      rbm_mf_points **out)
{
    if (out)
        *out = NULL;
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = check_starts(s, n_starts, out);
    if (st)
        return st;
    const rbm_machine *m = s->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    size_t lv, lw;
    if (!rbm__mul_ok(n_starts, view->nv, &lv) || !rbm__mul_ok(n_starts, view->nvw, &lw))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", n_starts);
    double *v;
    if ((st = rbm__xcalloc(s->ctx, lw, sizeof(double), &v, "random starts")))
        return st;
    rbm_rng rng;
    rbm__rng_init(&rng, s->ctx, seed);
    for (size_t i = 0; i < lv; i++) {
        switch (view->vk) {
        case RBM_UNIT_BERNOULLI: v[i] = rbm__rng_uniform(&rng) < 0.5 ? 0.0 : 1.0; break;
        case RBM_UNIT_ISING: v[i] = rbm__rng_uniform(&rng) < 0.5 ? -1.0 : 1.0; break;
        case RBM_UNIT_POTTS: v[i] = (double)rbm__rng_index(&rng, view->nq); break;
        default: v[i] = view->sigma_v * rbm__rng_normal(&rng); break;
        }
    }
    if (view->vk == RBM_UNIT_POTTS) /* a uniform state per site, one-hot */
        rbm__potts_one_hot_in_place(v, lv, view->nq);
    st = find_points(s, n_starts, v, NULL, out);
    rbm__free(s->ctx, v);
    return st;
}

/* visible starts from data rows (all rows when n >= rows) */
static rbm_status data_starts(rbm_mf *s, const rbm_dataset *data, size_t n_starts, uint64_t seed,
                              double **out, size_t *n_out)
{
    const rbm_machine *m = s->m;
    const rbm__machine_view *view = rbm__machine_view_of(m);
    if (rbm__dataset_cols(data) != view->nv)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         rbm__dataset_cols(data), view->nv);
    const size_t nrows = rbm__dataset_rows(data);
    size_t n = n_starts < nrows ? n_starts : nrows, lv, lw;
    if (!rbm__mul_ok(n, view->nv, &lv) || !rbm__mul_ok(n, view->nvw, &lw))
        return rbm__fail(s->ctx, RBM_ERR_TOO_LARGE, "%zu starts overflow", n);
    double *v = NULL;
    size_t *idx = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(s->ctx, lw, sizeof(double), &v, "data starts")))
        return st;
    if (n < nrows) {
        if ((st = rbm__xcalloc(s->ctx, nrows, sizeof(size_t), &idx, "data starts"))) {
            rbm__free(s->ctx, v);
            return st;
        }
        rbm_rng rng;
        rbm__rng_init(&rng, s->ctx, seed);
        rbm__shuffle(&rng, idx, nrows); /* the first n: n distinct rows */
    }
    rbm__dataset_fetch(data, idx, 0, n, false, v);
    rbm__free(s->ctx, idx);
    if (view->vk == RBM_UNIT_POTTS) /* rows of states: their one-hot indicators */
        st = rbm__potts_check_states(s->ctx, v, lv, view->nq, "data starts");
    else if (!(st = rbm__check_finite(s->ctx, v, lv, "data starts")))
        st = rbm__mf_check_mags(s->ctx, view->vk, v, lv, false, "data starts");
    if (st) {
        rbm__free(s->ctx, v);
        return st;
    }
    if (view->vk == RBM_UNIT_POTTS)
        rbm__potts_one_hot_in_place(v, lv, view->nq);
    *out = v;
    *n_out = n;
    return RBM_OK;
}

rbm_status rbm_mf_fixed_points_data(rbm_mf *s, const rbm_dataset *data, size_t n_starts,
                                    uint64_t seed, rbm_mf_points **out)
{
    if (out)
        *out = NULL;
    if (!s)
        return RBM_ERR_NULL;
    if (out && !data)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "data is NULL");
    rbm_status st = check_starts(s, n_starts, out);
    if (st)
        return st;
    double *v = NULL;
    size_t n = 0;
    if ((st = data_starts(s, data, n_starts, seed, &v, &n)))
        return st;
    st = find_points(s, n, v, NULL, out);
    rbm__free(s->ctx, v);
    return st;
}

size_t rbm_mf_points_count(const rbm_mf_points *p)
{
    return p ? p->count : 0;
}

size_t rbm_mf_points_start_count(const rbm_mf_points *p)
{
    return p ? p->n_starts : 0;
}

size_t rbm_mf_points_failed_count(const rbm_mf_points *p)
{
    return p ? p->n_failed : 0;
}

rbm_status rbm_mf_points_properties(const rbm_mf_points *p, size_t k, double *gamma,
                                    size_t *multiplicity, int *stable, double *min_eigenvalue)
{
    if (!p)
        return RBM_ERR_NULL;
    if (k >= p->count)
        return rbm__fail(p->ctx, RBM_ERR_INVALID_ARGUMENT, "point %zu of %zu", k, p->count);
    if (gamma)
        *gamma = p->gamma[k];
    if (multiplicity)
        *multiplicity = p->mult[k];
    if (stable)
        *stable = p->stable[k];
    if (min_eigenvalue)
        *min_eigenvalue = p->mineig[k];
    return RBM_OK;
}

rbm_status rbm_mf_points_get_magnetizations(const rbm_mf_points *p, size_t k, double *mv,
                                            size_t mv_len, double *mh, size_t mh_len)
{
    if (!p)
        return RBM_ERR_NULL;
    if (k >= p->count)
        return rbm__fail(p->ctx, RBM_ERR_INVALID_ARGUMENT, "point %zu of %zu", k, p->count);
    rbm_status st;
    if (mv) {
        if ((st = rbm__check_array(p->ctx, mv, mv_len, p->nv, "visible magnetisations")))
            return st;
        memcpy(mv, p->mv + k * p->nv, p->nv * sizeof(double));
    }
    if (mh) {
        if ((st = rbm__check_array(p->ctx, mh, mh_len, p->nh, "hidden magnetisations")))
            return st;
        memcpy(mh, p->mh + k * p->nh, p->nh * sizeof(double));
    }
    return RBM_OK;
}

/* Copy the count x width magnetisations src of every point into out. */
static rbm_status copy_all(const rbm_mf_points *p, const double *src, size_t width, double *out,
                           size_t len, const char *what)
{
    rbm_status st = rbm__check_array(p->ctx, out, len, p->count * width, what);
    if (st)
        return st;
    if (len)
        memcpy(out, src, len * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_mf_points_get_all_visible(const rbm_mf_points *p, double *mv, size_t len)
{
    if (!p)
        return RBM_ERR_NULL;
    return copy_all(p, p->mv, p->nv, mv, len, "visible magnetisations");
}

rbm_status rbm_mf_points_get_all_hidden(const rbm_mf_points *p, double *mh, size_t len)
{
    if (!p)
        return RBM_ERR_NULL;
    return copy_all(p, p->mh, p->nh, mh, len, "hidden magnetisations");
}

/* pv = M U_k for Potts points: the site probabilities (count x N q) on the
 * first k left singular vectors (N q entries each, rbm_svd_get_left_vectors
 * of a decomposition of the same shape). */
static rbm_status project_potts(const rbm_mf_points *p, const rbm_svd *svd, size_t k,
                                double *pv, size_t pv_len)
{
    size_t sites = 0, q = 0, r = rbm_svd_rank(svd), len;
    rbm_status st = rbm_svd_site_shape(svd, &sites, &q);
    if (st)
        return st;
    if (q != p->nq || sites * q != p->nv)
        return rbm__fail(p->ctx, RBM_ERR_SHAPE,
                         "the decomposition is of %zu sites x %zu states, the points have %zu x "
                         "%zu",
                         sites, q, p->nv / p->nq, p->nq);
    if (k == 0 || k > r)
        return rbm__fail(p->ctx, RBM_ERR_INVALID_ARGUMENT, "n_modes = %zu is outside [1, %zu]",
                         k, r);
    if (!rbm__mul_ok(p->count, k, &len) || (st = rbm__check_array(p->ctx, pv, pv_len, len,
                                                                   "visible projections")))
        return st ? st : rbm__fail(p->ctx, RBM_ERR_TOO_LARGE, "projection size overflows");
    double *U;
    if ((st = rbm__xcalloc(p->ctx, p->nv * r, sizeof(double), &U, "left singular vectors")))
        return st;
    if (!(st = rbm_svd_get_left_vectors(svd, U, p->nv * r)))
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->count, (int)k, (int)p->nv,
                    1.0, p->mv, (int)p->nv, U, (int)r, 0.0, pv, (int)k);
    rbm__free(p->ctx, U);
    return st;
}

rbm_status rbm_mf_points_project(const rbm_mf_points *p, const rbm_svd *svd, size_t n_modes,
                                 double *pv, size_t pv_len, double *ph, size_t ph_len)
{
    if (!p)
        return RBM_ERR_NULL;
    if (!svd)
        return rbm__fail(p->ctx, RBM_ERR_NULL, "svd is NULL");
    if (p->count == 0)
        return rbm__fail(p->ctx, RBM_ERR_STATE, "no fixed point to project");
    rbm_status st;
    if (pv && p->nq > 1)
        st = project_potts(p, svd, n_modes, pv, pv_len);
    else if (pv)
        st = rbm_svd_project_visible(svd, p->count, p->mv, p->count * p->nv, n_modes, pv, pv_len);
    if (pv && st)
        return st;
    if (ph && (st = rbm_svd_project_hidden(svd, p->count, p->mh, p->count * p->nh, n_modes, ph,
                                           ph_len)))
        return st;
    return RBM_OK;
}

rbm_status rbm_mf_points_log_z(const rbm_mf_points *p, double *log_z, double *best,
                               size_t *n_used)
{
    if (!p)
        return RBM_ERR_NULL;
    if (p->count == 0)
        return rbm__fail(p->ctx, RBM_ERR_STATE, "no fixed point converged");
    bool any_stable = false;
    for (size_t k = 0; k < p->count; k++)
        any_stable = any_stable || p->stable[k];
    double gmin = INFINITY, acc = 0;
    size_t used = 0;
    for (size_t k = 0; k < p->count; k++)
        if (!any_stable || p->stable[k])
            gmin = p->gamma[k] < gmin ? p->gamma[k] : gmin;
    for (size_t k = 0; k < p->count; k++)
        if (!any_stable || p->stable[k]) {
            acc += exp(-(p->gamma[k] - gmin));
            used++;
        }
    if (log_z)
        *log_z = -gmin + log(acc);
    if (best)
        *best = -gmin;
    if (n_used)
        *n_used = used;
    return RBM_OK;
}
