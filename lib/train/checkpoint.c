/* librbm — checkpoint: rbm_trainer_save_checkpoint / load_checkpoint, the
 * TRNS section of a model file (docs/file-format.md, version 1).
 *
 * The section is a flat sequence of fields in a fixed order; this file owns
 * the trainer's fields (shapes, dataset fingerprint, batch size, seed,
 * counters, trainer rng, row order) and hands every other field to the
 * object that owns it: the estimator (kind and k, its rng, the PCD chains
 * through the sampler, the MF/TAP particles) and the optimiser (kind and
 * tunables, Adam's powers, the moments). */
#include "core/bytes.h"
#include "core/internal.h"
#include "data/dataset.h"
#include "train/checkpoint.h"
#include "train/estimator.h"
#include "train/optimizer.h"
#include "train/trainer_impl.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#define TRNS_VERSION 1u          /* without centring */
#define TRNS_VERSION_CENTERED 2u /* version 1 + the centring block at the end */
#define TRNS_VERSION_WORKERS 3u  /* version 1 + the worker count after the seed and
                                    the states of workers 1..P-1 at the end */
static const char tag_trns[4] = {'T', 'R', 'N', 'S'};

/* ---------------- the shared pieces (checkpoint.h) ---------------- */

rbm_status rbm__ckpt_bad(rbm__ckpt_in *in, const char *fmt, ...)
{
    char msg[RBM__ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rbm__fail(in->ctx, RBM_ERR_BAD_FORMAT, "%s: %s", in->path, msg);
}

void rbm__ckpt_put_rng(rbm__wbuf *w, const rbm_rng *rng)
{
    uint8_t st[RBM_RNG_STATE_BYTES];
    rbm_rng_get_state(rng, st, sizeof st);
    rbm__wbuf_put(w, st, sizeof st);
}

rbm_status rbm__ckpt_get_rng(rbm__ckpt_in *in, rbm_rng *rng, const char *what)
{
    const unsigned char *q = rbm__rbuf_take(&in->r, RBM_RNG_STATE_BYTES);
    if (!q)
        return rbm__ckpt_bad(in, "training state truncated at %s", what);
    if (rbm_rng_set_state(rng, q, RBM_RNG_STATE_BYTES) != RBM_OK)
        return rbm__ckpt_bad(in, "training state: invalid %s", what);
    return RBM_OK;
}

/* The next f64, or RBM_ERR_BAD_FORMAT naming what[i] when it is missing or
 * not finite. */
static rbm_status get_f64(rbm__ckpt_in *in, double *x, const char *what, size_t i)
{
    *x = rbm__rbuf_f64(&in->r);
    if (!isfinite(*x) || in->r.short_read)
        return rbm__ckpt_bad(in, "training state: %s[%zu] is %s", what, i,
                             in->r.short_read ? "missing (truncated)" : "not finite");
    return RBM_OK;
}

rbm_status rbm__ckpt_get_f64s(rbm__ckpt_in *in, double *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        rbm_status st = get_f64(in, &x[i], what, i);
        if (st)
            return st;
    }
    return RBM_OK;
}

void rbm__ckpt_put_reals(rbm__wbuf *w, const rbm__kern *K, const void *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d;
        K->to_f64(1, (const char *)x + i * K->elem, &d);
        rbm__wbuf_f64(w, d);
    }
}

rbm_status rbm__ckpt_get_reals(rbm__ckpt_in *in, const rbm__kern *K, void *x, size_t n,
                               const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double d;
        rbm_status st = get_f64(in, &d, what, i);
        if (st)
            return st;
        /* A float32 run keeps these in float: a larger value would become
         * Inf there, and the state could not be saved back. */
        if (K->elem == sizeof(float) && !(fabs(d) <= FLT_MAX))
            return rbm__ckpt_bad(in, "training state: %s[%zu] = %g is beyond the float32 range",
                                 what, i, d);
        K->from_f64(1, &d, (char *)x + i * K->elem);
    }
    return RBM_OK;
}

/* ---------------- writing ---------------- */

static void write_state(const rbm_trainer *t, rbm__wbuf *w)
{
    const rbm_machine *m = t->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    const bool workers = t->wk.n > 1;
    rbm__wbuf_u32(w, workers        ? TRNS_VERSION_WORKERS
                     : t->center.on ? TRNS_VERSION_CENTERED
                                    : TRNS_VERSION);
    rbm__wbuf_u64(w, mv->nv);
    rbm__wbuf_u64(w, mv->nh);
    rbm__wbuf_u64(w, rbm__dataset_rows(t->data));
    rbm__wbuf_u64(w, rbm__dataset_cols(t->data));
    rbm__wbuf_u32(w, (uint32_t)rbm__dataset_dtype(t->data));
    rbm__wbuf_u32(w, rbm__dataset_fingerprint(t->data));
    rbm__wbuf_u64(w, t->B);
    rbm__wbuf_u64(w, t->seed);
    if (workers)
        rbm__wbuf_u64(w, t->wk.n);
    rbm__estimator_write_config(t->est, w);
    rbm__optimizer_write_config(t->opt, w);
    rbm__wbuf_u64(w, t->monitor_every);
    rbm__wbuf_u64(w, t->steps);
    rbm__wbuf_u64(w, t->epochs);
    rbm__wbuf_u64(w, t->batch_idx);
    rbm__wbuf_f64(w, t->recon);
    rbm__optimizer_write_powers(t->opt, w);
    rbm__ckpt_put_rng(w, &t->rng);
    rbm__estimator_write_rng(t->est, w);
    for (size_t i = 0; i < rbm__dataset_rows(t->data); i++)
        rbm__wbuf_u64(w, t->perm[i]);
    rbm__optimizer_write_state(t->opt, w);
    rbm__estimator_write_state(t->est, w);
    if (t->center.on)
        rbm__centering_write_state(&t->center, w);
    if (workers) { /* with a collective: every worker takes part, worker 0 gets the bytes */
        rbm_status st = rbm__workers_write_state(t, w);
        if (st && !w->st)
            w->st = st;
    }
}

static rbm_status restore_state(rbm__ckpt_in *in, rbm_machine *m, const rbm_dataset *data,
                                rbm_trainer **out);

/* A checkpoint is written only if it loads back: the state bytes are read
 * by the loader itself into a probe trainer (so no second set of rules can
 * disagree with it). What the public API can still put into a trainer that
 * the loader refuses -- chains driven to Inf through rbm_estimator_sampler,
 * say -- is reported here instead of being found at the next load. */
static rbm_status verify_state(const rbm_trainer *t, const char *path, const unsigned char *p,
                               size_t len)
{
    rbm__ckpt_in in = {t->ctx, path, rbm__rbuf_of(p, len)};
    rbm_trainer *probe = NULL;
    rbm_status st = restore_state(&in, t->m, t->data, &probe);
    rbm_trainer_free(probe);
    if (st == RBM_OK || st == RBM_ERR_NO_MEMORY)
        return st;
    char why[256];
    snprintf(why, sizeof why, "%s", rbm_context_last_error(t->ctx));
    return rbm__fail(t->ctx, RBM_ERR_STATE,
                     "%s: not saved: the training state would not load back (%s)", path, why);
}

rbm_status rbm_trainer_save_checkpoint(const rbm_trainer *t, const char *path)
{
    if (!t)
        return RBM_ERR_NULL;
    /* with a collective, every worker makes every exchange whatever fails */
    const bool writer = !t->wk.remote || t->wk.rank == 0;
    if (!path && !t->wk.remote)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "checkpoint path is NULL");
    rbm__wbuf w;
    rbm__wbuf_init(&w, t->ctx);
    write_state(t, &w);
    rbm_status st = w.st;
    if (!st && writer && !path)
        st = rbm__fail(t->ctx, RBM_ERR_NULL, "checkpoint path is NULL");
    if (!st && writer)
        st = verify_state(t, path, w.p, w.len);
    if (!st && writer)
        st = rbm__io_save(t->m, path, tag_trns, w.p, w.len);
    rbm__wbuf_free(&w);
    return rbm__workers_agree(t, st);
}

/* ---------------- reading ---------------- */

/* The trainer's configuration and counters, read before the trainer is
 * made. */
typedef struct trainer_config {
    uint64_t B, seed, workers, monitor, steps, epochs, batch_idx;
    double recon;
    rbm__estimator_config est;
    rbm__optimizer_config opt;
} trainer_config;

/* Version, shapes and the dataset the state was made on. */
static rbm_status read_header(rbm__ckpt_in *in, const rbm_machine *m, const rbm_dataset *data,
                              uint32_t *version_out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm__rbuf *r = &in->r;
    uint32_t version = rbm__rbuf_u32(r);
    if (version != TRNS_VERSION && version != TRNS_VERSION_CENTERED &&
        version != TRNS_VERSION_WORKERS)
        return rbm__ckpt_bad(in, "training state version %u is not supported (expected %u to %u)",
                             version, TRNS_VERSION, TRNS_VERSION_WORKERS);
    *version_out = version;
    uint64_t nv = rbm__rbuf_u64(r), nh = rbm__rbuf_u64(r);
    uint64_t rows = rbm__rbuf_u64(r), cols = rbm__rbuf_u64(r);
    uint32_t dtype = rbm__rbuf_u32(r), fp = rbm__rbuf_u32(r);
    if (r->short_read)
        return rbm__ckpt_bad(in, "training state truncated in its header");
    if (nv != mv->nv || nh != mv->nh)
        return rbm__ckpt_bad(in, "training state is for a %llu x %llu machine, the file's "
                             "machine is %zu x %zu", (unsigned long long)nv,
                             (unsigned long long)nh, mv->nv, mv->nh);
    uint32_t have = rbm__dataset_fingerprint(data);
    const size_t drows = rbm__dataset_rows(data), dcols = rbm__dataset_cols(data);
    const uint32_t ddtype = (uint32_t)rbm__dataset_dtype(data);
    /* The same values in a narrower type (binarised data are uint8 since
     * 0.2, float32 before): the minibatches, and so the run, are the same. */
    bool same_values = rows == drows && cols == dcols && dtype != ddtype &&
                       ddtype == RBM_DTYPE_UINT8 &&
                       (dtype == RBM_DTYPE_FLOAT32 || dtype == RBM_DTYPE_FLOAT64) &&
                       fp == rbm__dataset_fingerprint_as(data, (rbm_dtype)dtype);
    if (!same_values && (rows != drows || cols != dcols || dtype != ddtype || fp != have))
        return rbm__fail(in->ctx, RBM_ERR_SHAPE,
                         "%s: checkpoint was made on a different dataset (%llu x %llu, dtype %u, "
                         "fingerprint %08x; given %zu x %zu, dtype %u, fingerprint %08x)",
                         in->path, (unsigned long long)rows, (unsigned long long)cols, dtype, fp,
                         drows, dcols, (unsigned)ddtype, have);
    return RBM_OK;
}

static rbm_status read_config(rbm__ckpt_in *in, const rbm_dataset *data, uint32_t version,
                              trainer_config *c)
{
    rbm__rbuf *r = &in->r;
    c->B = rbm__rbuf_u64(r);
    c->seed = rbm__rbuf_u64(r);
    c->workers = version == TRNS_VERSION_WORKERS ? rbm__rbuf_u64(r) : 1;
    rbm__estimator_read_config(in, &c->est);
    rbm__optimizer_read_config(in, &c->opt);
    c->monitor = rbm__rbuf_u64(r);
    c->steps = rbm__rbuf_u64(r);
    c->epochs = rbm__rbuf_u64(r);
    c->batch_idx = rbm__rbuf_u64(r);
    c->recon = rbm__rbuf_f64(r);
    rbm__optimizer_read_powers(in, &c->opt);
    if (r->short_read)
        return rbm__ckpt_bad(in, "training state truncated in its configuration");
    if (c->B == 0 || c->B > rbm__dataset_rows(data))
        return rbm__ckpt_bad(in, "training state: batch size %llu invalid for %zu rows",
                             (unsigned long long)c->B, rbm__dataset_rows(data));
    if (c->workers < (version == TRNS_VERSION_WORKERS ? 2 : 1) || c->workers > c->B)
        return rbm__ckpt_bad(in, "training state: %llu workers invalid for batch size %llu",
                             (unsigned long long)c->workers, (unsigned long long)c->B);
    if (c->monitor > INT32_MAX) /* the bounds of RBM_TRAINER_MONITOR_EVERY */
        return rbm__ckpt_bad(in, "training state: monitor interval %llu exceeds %d",
                             (unsigned long long)c->monitor, INT32_MAX);
    if (c->est.k > INT32_MAX) /* the bounds of RBM_ESTIMATOR_K */
        return rbm__ckpt_bad(in, "training state: k = %llu exceeds %d",
                             (unsigned long long)c->est.k, INT32_MAX);
    return RBM_OK;
}

/* The estimator, the optimiser and the counters of c into t. */
static rbm_status apply_config(rbm_trainer *t, const trainer_config *c, rbm__ckpt_in *in)
{
    rbm_status st = rbm_trainer_set_estimator(t, (rbm_estimator_kind)c->est.kind, (size_t)c->est.k);
    if (st == RBM_ERR_NO_MEMORY)
        return st;
    if (st)
        return rbm__ckpt_bad(in, "training state: invalid estimator (%u, k %llu)", c->est.kind,
                             (unsigned long long)c->est.k);
    if ((st = rbm__optimizer_restore(t->opt, &c->opt, in)))
        return st;
    if (c->batch_idx >= t->nbatches)
        return rbm__ckpt_bad(in, "training state: invalid counters (batch %llu of %zu)",
                             (unsigned long long)c->batch_idx, t->nbatches);
    t->monitor_every = (size_t)c->monitor;
    t->steps = c->steps;
    t->epochs = c->epochs;
    t->batch_idx = (size_t)c->batch_idx;
    t->recon = c->recon;
    return RBM_OK;
}

/* The row order of the epoch: a permutation of the rows. */
static rbm_status read_row_order(rbm_trainer *t, rbm__ckpt_in *in)
{
    const size_t rows = rbm__dataset_rows(t->data);
    for (size_t i = 0; i < rows; i++) {
        uint64_t v = rbm__rbuf_u64(&in->r);
        if (in->r.short_read || v >= rows)
            return rbm__ckpt_bad(in, "training state: row order entry %zu is %s", i,
                                 in->r.short_read ? "missing (truncated)" : "out of range");
        t->perm[i] = (size_t)v;
    }
    if (!rbm__workers_order_valid(t))
        return rbm__ckpt_bad(in, "training state: row order mixes the workers' rows");
    uint64_t *seen;
    rbm_status st = rbm__xcalloc(t->ctx, (rows + 63) / 64, sizeof(uint64_t), &seen,
                                 "permutation check");
    if (st)
        return st;
    bool dup = false;
    for (size_t i = 0; i < rows && !dup; i++) {
        size_t v = t->perm[i];
        dup = seen[v / 64] >> (v % 64) & 1;
        seen[v / 64] |= (uint64_t)1 << (v % 64);
    }
    rbm__free(t->ctx, seen);
    return dup ? rbm__ckpt_bad(in, "training state: row order is not a permutation") : RBM_OK;
}

/* Everything after the configuration, in file order, then nothing more. */
static rbm_status read_states(rbm_trainer *t, rbm__ckpt_in *in, uint32_t version)
{
    rbm_status st;
    if ((st = rbm__ckpt_get_rng(in, &t->rng, "trainer rng")) ||
        (st = rbm__estimator_read_rng(t->est, in)) || (st = read_row_order(t, in)) ||
        (st = rbm__optimizer_read_state(t->opt, in)) ||
        (st = rbm__estimator_read_state(t->est, in)) ||
        (version == TRNS_VERSION_CENTERED && (st = rbm__centering_read_state(&t->center, in))) ||
        (st = rbm__workers_read_state(t, in)))
        return st;
    if (version == TRNS_VERSION_CENTERED && rbm__machine_view_of(t->m)->vk == RBM_UNIT_POTTS)
        return rbm__ckpt_bad(in, "training state: a centred gradient on a Potts machine");
    if (rbm__rbuf_left(&in->r) != 0)
        return rbm__ckpt_bad(in, "training state has %zu unexpected trailing bytes",
                             rbm__rbuf_left(&in->r));
    return RBM_OK;
}

static rbm_status restore_state(rbm__ckpt_in *in, rbm_machine *m, const rbm_dataset *data,
                                rbm_trainer **out)
{
    *out = NULL;
    trainer_config c;
    uint32_t version = 0;
    rbm_status st;
    if ((st = read_header(in, m, data, &version)) || (st = read_config(in, data, version, &c)))
        return st;
    rbm_trainer *t = NULL;
    if ((st = rbm_trainer_new(m, data, (size_t)c.B, c.seed, &t)))
        return st;
    if ((st = rbm__workers_restore(t, (size_t)c.workers)) || (st = apply_config(t, &c, in)) || (st = read_states(t, in, version))) {
        rbm_trainer_free(t);
        return st;
    }
    *out = t;
    return RBM_OK;
}

rbm_status rbm_trainer_load_checkpoint(rbm_context *ctx, const char *path, const rbm_dataset *data,
                                       rbm_machine **machine_out, rbm_trainer **trainer_out)
{
    if (machine_out)
        *machine_out = NULL;
    if (trainer_out)
        *trainer_out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!path || !data || !machine_out || !trainer_out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_trainer_load_checkpoint: NULL argument");
    *machine_out = NULL;
    *trainer_out = NULL;
    rbm_machine *m = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    rbm_status st = rbm__io_load(ctx, path, &m, tag_trns, &buf, &len);
    if (st)
        return st;
    if (!buf) {
        rbm_machine_free(m);
        return rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                         "%s: no training state: this is a model file, not a checkpoint", path);
    }
    rbm__ckpt_in in = {ctx, path, rbm__rbuf_of(buf, len)};
    rbm_trainer *t = NULL;
    st = restore_state(&in, m, data, &t);
    rbm__free(ctx, buf);
    if (st) {
        rbm_machine_free(m);
        return st;
    }
    *machine_out = m;
    *trainer_out = t;
    return RBM_OK;
}
