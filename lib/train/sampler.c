/* librbm — sampler: persistent Gibbs chains. */
#include "core/internal.h"
#include "core/shuffle.h"
#include "data/dataset.h"
#include "train/checkpoint.h"
#include "train/sampler.h"
#include "train/sampler_impl.h"

#include <math.h>
#include <string.h>

void rbm__gibbs(const rbm_machine *m, const rbm__kern *k, rbm_rng *rng, size_t n,
                const void *h_in, void *v, void *h, void *fv, void *fh, size_t sweeps)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    for (size_t t = 0; t < sweeps; t++) {
        k->visible_field(mv, n, t == 0 ? h_in : h, fv);
        k->visible_sample(mv, n, fv, v, rng);
        k->hidden_field(mv, n, v, fh);
        k->sample(mv->hk, mv->sigma_h, n * mv->nh, fh, h, rng);
    }
}

void rbm_sampler_free(rbm_sampler *s)
{
    if (!s)
        return;
    rbm__free(s->ctx, s->v);
    rbm__free(s->ctx, s->h);
    rbm__free(s->ctx, s->fv);
    rbm__free(s->ctx, s->fh);
    rbm__free(s->ctx, s->v_prev);
    rbm__free(s->ctx, s->h_prev);
    rbm__free(s->ctx, s);
}

/* h ~ p(h|v) for the current v. */
static void resample_hidden(rbm_sampler *s)
{
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    s->k->hidden_field(mv, s->n, s->v, s->fh);
    s->k->sample(mv->hk, mv->sigma_h, s->n * mv->nh, s->fh, s->h, &s->rng);
}

static void random_visible(rbm_sampler *s)
{
    const rbm_machine *m = s->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    size_t total = s->n * mv->nv;
    for (size_t i = 0; i < total; i++) {
        double x;
        switch (mv->vk) {
        case RBM_UNIT_POTTS: x = (double)rbm__rng_index(&s->rng, mv->nq); break;
        case RBM_UNIT_BERNOULLI: x = rbm__rng_uniform(&s->rng) < 0.5 ? 1.0 : 0.0; break;
        case RBM_UNIT_ISING: x = rbm__rng_uniform(&s->rng) < 0.5 ? 1.0 : -1.0; break;
        default: x = mv->sigma_v * rbm__rng_normal(&s->rng); break;
        }
        s->k->from_f64(1, &x, (char *)s->v + i * s->k->elem);
    }
}

/* For a Potts visible layer: every chain value a state in 0..q-1 (what the
 * field gathers rely on), checked on values from outside (a checkpoint). */
static rbm_status check_potts_chains(const rbm_sampler *s, const char *what)
{
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    if (mv->vk != RBM_UNIT_POTTS)
        return RBM_OK;
    for (size_t i = 0; i < s->n * mv->nv; i++) {
        double x;
        s->k->to_f64(1, (const char *)s->v + i * s->k->elem, &x);
        rbm_status st = rbm__potts_check_states(s->ctx, &x, 1, mv->nq, what);
        if (st)
            return st;
    }
    return RBM_OK;
}

rbm_status rbm_sampler_new(rbm_machine *m, size_t n_chains, uint64_t seed, rbm_sampler **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (out)
        *out = NULL;
    if (!m)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(mv->ctx, RBM_ERR_NULL, "rbm_sampler_new: out is NULL");
    if (n_chains == 0)
        return rbm__fail(mv->ctx, RBM_ERR_INVALID_ARGUMENT, "number of chains must be >= 1");
    if (n_chains > (size_t)INT32_MAX)
        return rbm__fail(mv->ctx, RBM_ERR_TOO_LARGE, "%zu chains exceed the BLAS limit", n_chains);
    rbm_sampler *s;
    rbm_status st = rbm__xcalloc(mv->ctx, 1, sizeof *s, &s, "sampler");
    if (st)
        return st;
    s->ctx = mv->ctx;
    s->m = m;
    s->prec = mv->prec;
    s->k = rbm__kern_for(mv->prec);
    s->n = n_chains;
    rbm__rng_init(&s->rng, mv->ctx, seed);
    size_t nvn, nhn, nfv;
    if (!rbm__mul_ok(n_chains, mv->nv, &nvn) || !rbm__mul_ok(n_chains, mv->nh, &nhn) ||
        !rbm__mul_ok(n_chains, mv->nvw, &nfv)) {
        rbm_sampler_free(s);
        return rbm__fail(mv->ctx, RBM_ERR_TOO_LARGE, "%zu chains of this machine overflow",
                         n_chains);
    }
    if ((st = rbm__xcalloc(mv->ctx, nvn, s->k->elem, &s->v, "chain states")) ||
        (st = rbm__xcalloc(mv->ctx, nhn, s->k->elem, &s->h, "chain states")) ||
        (st = rbm__xcalloc(mv->ctx, nfv, s->k->elem, &s->fv, "chain fields")) ||
        (st = rbm__xcalloc(mv->ctx, nhn, s->k->elem, &s->fh, "chain fields"))) {
        rbm_sampler_free(s);
        return st;
    }
    random_visible(s);
    resample_hidden(s);
    *out = s;
    return RBM_OK;
}

size_t rbm_sampler_chain_count(const rbm_sampler *s)
{
    return s ? s->n : 0;
}

static rbm_status check_state(const rbm_sampler *s)
{
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    if (mv->prec != s->prec)
        return rbm__fail(s->ctx, RBM_ERR_STATE,
                         "machine precision changed since the sampler was created");
    return RBM_OK;
}

rbm_status rbm_sampler_init_random(rbm_sampler *s)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = check_state(s);
    if (st)
        return st;
    random_visible(s);
    resample_hidden(s);
    return RBM_OK;
}

rbm_status rbm_sampler_init_from_data(rbm_sampler *s, const rbm_dataset *data)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    if (!data)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "dataset is NULL");
    rbm_status st = check_state(s);
    if (st)
        return st;
    if (rbm__dataset_cols(data) != mv->nv)
        return rbm__fail(s->ctx, RBM_ERR_SHAPE, "dataset has %zu columns, machine expects %zu",
                         rbm__dataset_cols(data), mv->nv);
    size_t *idx;
    if ((st = rbm__xcalloc(s->ctx, s->n, sizeof(size_t), &idx, "row indices")))
        return st;
    rbm_rng rng = s->rng; /* kept only when the rows are accepted */
    for (size_t c = 0; c < s->n; c++)
        idx[c] = rbm__rng_index(&rng, rbm__dataset_rows(data));
    for (size_t c = 0; c < s->n && mv->vk == RBM_UNIT_POTTS; c++)
        for (size_t i = 0; i < mv->nv; i++) {
            double x = rbm__dataset_at(data, idx[c], i);
            if ((st = rbm__potts_check_states(s->ctx, &x, 1, mv->nq, "dataset value"))) {
                rbm__free(s->ctx, idx);
                return st;
            }
        }
    s->rng = rng;
    rbm__dataset_fetch(data, idx, 0, s->n, s->prec == RBM_PRECISION_FLOAT32, s->v);
    rbm__free(s->ctx, idx);
    resample_hidden(s);
    return RBM_OK;
}

rbm_status rbm_sampler_run(rbm_sampler *s, size_t k)
{
    if (!s)
        return RBM_ERR_NULL;
    rbm_status st = check_state(s);
    if (st)
        return st;
    rbm__sampler_sweep(s, k);
    return RBM_OK;
}

rbm_status rbm_sampler_get_visible(const rbm_sampler *s, double *out, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    rbm_status st = rbm__check_array(s->ctx, out, len, s->n * mv->nv, "visible state buffer");
    if (st)
        return st;
    s->k->to_f64(len, s->v, out);
    return RBM_OK;
}

rbm_status rbm_sampler_get_hidden(const rbm_sampler *s, double *out, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    rbm_status st = rbm__check_array(s->ctx, out, len, s->n * mv->nh, "hidden state buffer");
    if (st)
        return st;
    s->k->to_f64(len, s->h, out);
    return RBM_OK;
}

rbm_status rbm_sampler_set_visible(rbm_sampler *s, const double *v, size_t len)
{
    if (!s)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    rbm_status st;
    if ((st = check_state(s)) ||
        (st = rbm__check_array(s->ctx, v, len, s->n * mv->nv, "visible states")) ||
        (st = rbm__check_finite(s->ctx, v, len, "visible states")) ||
        (mv->vk == RBM_UNIT_POTTS &&
         (st = rbm__potts_check_states(s->ctx, v, len, mv->nq, "visible states"))))
        return st;
    s->k->from_f64(len, v, s->v);
    resample_hidden(s);
    return RBM_OK;
}

rbm_rng *rbm_sampler_rng(rbm_sampler *s)
{
    return s ? &s->rng : NULL;
}

void rbm__sampler_sweep(rbm_sampler *s, size_t k)
{
    rbm__gibbs(s->m, s->k, &s->rng, s->n, s->h, s->v, s->h, s->fv, s->fh, k);
}

rbm_status rbm__sampler_enable_undo(rbm_sampler *s)
{
    if (s->v_prev)
        return RBM_OK;
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    void *v2, *h2;
    rbm_status st = rbm__xcalloc(s->ctx, s->n * mv->nv, s->k->elem, &v2, "chain states");
    if (st)
        return st;
    if ((st = rbm__xcalloc(s->ctx, s->n * mv->nh, s->k->elem, &h2, "chain states"))) {
        rbm__free(s->ctx, v2);
        return st;
    }
    s->v_prev = v2;
    s->h_prev = h2;
    return RBM_OK;
}

static void swap_states(rbm_sampler *s)
{
    void *t = s->v;
    s->v = s->v_prev;
    s->v_prev = t;
    t = s->h;
    s->h = s->h_prev;
    s->h_prev = t;
}

void rbm__sampler_sweep_tentative(rbm_sampler *s, size_t k)
{
    if (k == 0)
        return;
    s->rng_prev = s->rng;
    swap_states(s); /* the chains are now the spare set; *_prev the states to keep */
    rbm__gibbs(s->m, s->k, &s->rng, s->n, s->h_prev, s->v, s->h, s->fv, s->fh, k);
    s->pending = true;
}

void rbm__sampler_commit(rbm_sampler *s)
{
    s->pending = false;
}

void rbm__sampler_rollback(rbm_sampler *s)
{
    if (!s->pending)
        return;
    swap_states(s);
    s->rng = s->rng_prev;
    s->pending = false;
}

void rbm__sampler_chains(const rbm_sampler *s, size_t *n, const void **v, const void **fh)
{
    *n = s->n;
    *v = s->v;
    *fh = s->fh;
}

/* ---------------- checkpoints: rng, then v and h as f64 ---------------- */

void rbm__sampler_write_state(const rbm_sampler *s, rbm__wbuf *w)
{
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    rbm__ckpt_put_rng(w, &s->rng);
    rbm__ckpt_put_reals(w, s->k, s->v, s->n * mv->nv);
    rbm__ckpt_put_reals(w, s->k, s->h, s->n * mv->nh);
}

rbm_status rbm__sampler_read_state(rbm_sampler *s, rbm__ckpt_in *in)
{
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    rbm_status st;
    if ((st = rbm__ckpt_get_rng(in, &s->rng, "chain rng")) ||
        (st = rbm__ckpt_get_reals(in, s->k, s->v, s->n * mv->nv, "chain visible state")) ||
        (st = rbm__ckpt_get_reals(in, s->k, s->h, s->n * mv->nh, "chain hidden state")) ||
        (st = check_potts_chains(s, "chain visible state")))
        return st;
    return RBM_OK;
}

/* ---------------- a dataset of chain samples ---------------- */

/* The dataset type of a visible layer's samples: states and {0,1} as
 * uint8, +-1 as float32, Gaussian values as float64 (all exact). */
static rbm_dtype sample_dtype(rbm_unit_kind k)
{
    switch (k) {
    case RBM_UNIT_POTTS:
    case RBM_UNIT_BERNOULLI: return RBM_DTYPE_UINT8;
    case RBM_UNIT_ISING: return RBM_DTYPE_FLOAT32;
    default: return RBM_DTYPE_FLOAT64;
    }
}

/* Rows first .. first+n-1 of the dataset storage `out` (dtype) from the
 * first n chains' visible states. */
static void store_chains(const rbm_sampler *s, rbm_dtype dtype, size_t first, size_t n, void *out)
{
    size_t nv = rbm__machine_view_of(s->m)->nv;
    for (size_t e = 0; e < n * nv; e++) {
        double x;
        s->k->to_f64(1, (const char *)s->v + e * s->k->elem, &x);
        size_t at = first * nv + e;
        switch (dtype) {
        case RBM_DTYPE_UINT8: ((uint8_t *)out)[at] = (uint8_t)x; break;
        case RBM_DTYPE_FLOAT32: ((float *)out)[at] = (float)x; break;
        case RBM_DTYPE_FLOAT64: ((double *)out)[at] = x; break;
        }
    }
}

rbm_status rbm_sampler_draw_dataset(rbm_sampler *s, size_t n_rows, size_t burn_in, size_t thin,
                                    rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!s)
        return RBM_ERR_NULL;
    const char *fn = "rbm_sampler_draw_dataset";
    if (!out)
        return rbm__fail(s->ctx, RBM_ERR_NULL, "%s: out is NULL", fn);
    if (n_rows == 0)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT, "%s: n_rows is 0", fn);
    if (n_rows > s->n && thin == 0)
        return rbm__fail(s->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: %zu rows from %zu chains need thin >= 1 sweeps between takes", fn,
                         n_rows, s->n);
    const rbm__machine_view *mv = rbm__machine_view_of(s->m);
    rbm_dtype dtype = sample_dtype(mv->vk);
    rbm_status st = check_state(s);
    void *data;
    rbm_dataset *ds;
    if (st || (st = rbm__dataset_new_zeroed(s->ctx, n_rows, mv->nv, dtype,
                                            mv->vk == RBM_UNIT_POTTS ? (uint32_t)mv->nq : 0,
                                            &data, &ds)))
        return st;
    rbm__sampler_sweep(s, burn_in);
    for (size_t done = 0;;) {
        size_t take = n_rows - done < s->n ? n_rows - done : s->n;
        store_chains(s, dtype, done, take, data);
        if ((done += take) == n_rows)
            break;
        rbm__sampler_sweep(s, thin);
    }
    *out = ds;
    return RBM_OK;
}
