/* librbm — workers: data-parallel training (trainer.h, "Data-parallel
 * training"): the partition of rows and minibatches over P workers, their
 * estimators, the exchange of one step through the caller's collective (or
 * the same sum over virtual workers), and the workers' checkpoint part. */
#include "core/internal.h"
#include "core/seed.h"
#include "core/shuffle.h"
#include "data/dataset.h"
#include "train/estimator.h"
#include "train/gradient_impl.h"
#include "train/trainer_impl.h"
#include "train/workers.h"

#include <math.h>
#include <string.h>

/* floor(r total / P); r total fits (checked when P is set). */
static size_t part(size_t total, size_t P, size_t r)
{
    return (size_t)((uint64_t)r * (uint64_t)total / (uint64_t)P);
}

size_t rbm__workers_nbatches(size_t rows, size_t batch, size_t P)
{
    size_t most = 0;
    for (size_t r = 0; r < P; r++) {
        size_t nr = part(rows, P, r + 1) - part(rows, P, r);
        size_t br = part(batch, P, r + 1) - part(batch, P, r);
        size_t nb = (nr + br - 1) / br;
        if (nb > most)
            most = nb;
    }
    return most;
}

/* Worker r's rows of minibatch b: idx[0..*n) (indices of the data). */
static void slice(const rbm_trainer *t, size_t r, size_t b, const size_t **idx, size_t *n)
{
    const size_t P = t->wk.n, N = rbm__dataset_rows(t->data);
    size_t start = part(N, P, r), nr = part(N, P, r + 1) - start;
    size_t br = part(t->B, P, r + 1) - part(t->B, P, r);
    size_t lo = b * br;
    *idx = t->perm + start + (lo < nr ? lo : nr);
    *n = lo >= nr ? 0 : (nr - lo < br ? nr - lo : br);
}

void rbm__workers_shuffle(rbm_trainer *t)
{
    const size_t P = t->wk.n, N = rbm__dataset_rows(t->data);
    for (size_t r = 0; r < P; r++) {
        size_t start = part(N, P, r), nr = part(N, P, r + 1) - start;
        rbm__shuffle(&t->rng, t->perm + start, nr);
        if (start)
            for (size_t i = 0; i < nr; i++)
                t->perm[start + i] += start;
    }
}

bool rbm__workers_order_valid(const rbm_trainer *t)
{
    const size_t P = t->wk.n, N = rbm__dataset_rows(t->data);
    for (size_t r = 0; r < P; r++)
        for (size_t i = part(N, P, r); i < part(N, P, r + 1); i++)
            if (t->perm[i] < part(N, P, r) || t->perm[i] >= part(N, P, r + 1))
                return false;
    return true;
}

bool rbm__workers_active(const rbm_trainer *t)
{
    return t->wk.n > 1 || t->wk.remote;
}

static uint64_t worker_seed(uint64_t seed, size_t r)
{
    if (r == 0)
        return rbm__seed_mix(seed, RBM__STREAM_TRAINER_ESTIMATOR);
    return rbm__seed_mix(rbm__seed_mix(seed, RBM__STREAM_TRAINER_WORKER), r);
}

_Static_assert(RBM_SEED_STREAM_TRAINER_WORKER == RBM__STREAM_TRAINER_WORKER,
               "trainer.h and core/seed.h disagree on the workers' stream");

/* The estimator of local worker i (0: t->est). */
static rbm_estimator *local_est(const rbm_trainer *t, size_t i)
{
    return i == 0 ? t->est : t->wk.more[i - 1];
}

static size_t local_count(const rbm__workers *W)
{
    return W->remote ? 1 : W->n;
}

static void free_estimators(rbm_estimator **e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rbm_estimator_free(e[i]);
}

/* Fresh estimators of kind and k for workers first .. first+count-1 of P
 * into e[0..count); all or nothing. */
static rbm_status make_estimators(const rbm_trainer *t, size_t P, size_t first, size_t count,
                                  rbm_estimator_kind kind, size_t k, rbm_estimator **e)
{
    for (size_t i = 0; i < count; i++) {
        size_t r = first + i;
        size_t br = part(t->B, P, r + 1) - part(t->B, P, r);
        rbm_status st = rbm__estimator_create(t->m, kind, k, br, br, worker_seed(t->seed, r), &e[i]);
        if (st) {
            free_estimators(e, i);
            return st;
        }
    }
    return RBM_OK;
}

void rbm__workers_free(rbm_context *ctx, rbm__workers *W)
{
    if (W->more)
        free_estimators(W->more, W->n - 1);
    rbm__free(ctx, W->more);
    rbm_gradient_free(W->gw);
    rbm__free(ctx, W->buf);
    rbm__free(ctx, W->ran);
    memset(W, 0, sizeof *W);
}

/* The exchange buffer's length for P workers: gradient, error, statuses. */
static size_t exchange_len(const rbm_trainer *t, size_t P)
{
    const rbm__machine_view *mv = rbm__machine_view_of(t->m);
    return mv->nvw * mv->nh + mv->nvw + mv->nh + 1 + P;
}

/* Scratch of the worker path for P workers (gw, buf, ran) into W. */
static rbm_status make_scratch(const rbm_trainer *t, size_t P, rbm__workers *W)
{
    rbm_status st;
    W->len = exchange_len(t, P);
    if ((st = rbm_gradient_new(t->m, &W->gw)) ||
        (st = rbm__xcalloc(t->ctx, W->len, sizeof(double), &W->buf, "worker exchange")) ||
        (st = rbm__xcalloc(t->ctx, P, 1, &W->ran, "worker flags"))) {
        rbm_gradient_free(W->gw);
        rbm__free(t->ctx, W->buf);
        W->gw = NULL;
        W->buf = NULL;
        return st;
    }
    return RBM_OK;
}

rbm_status rbm__workers_set_estimator(rbm_trainer *t, rbm_estimator_kind kind, size_t k)
{
    rbm__workers *W = &t->wk;
    const size_t P = W->n ? W->n : 1, nloc = W->remote ? 1 : P;
    rbm_estimator *one, **e = &one;
    rbm_status st;
    if (nloc > 1 && (st = rbm__xcalloc(t->ctx, nloc, sizeof *e, &e, "worker estimators")))
        return st;
    if ((st = make_estimators(t, P, W->remote ? W->rank : 0, nloc, kind, k, e))) {
        if (e != &one)
            rbm__free(t->ctx, e);
        return st;
    }
    rbm_estimator_free(t->est);
    t->est = e[0];
    for (size_t i = 1; i < nloc; i++) {
        rbm_estimator_free(W->more[i - 1]);
        W->more[i - 1] = e[i];
    }
    if (e != &one)
        rbm__free(t->ctx, e);
    W->kind = kind;
    W->k = k;
    return RBM_OK;
}

/* Switch to P virtual workers (fresh estimators); reshuffle or not. */
static rbm_status configure(rbm_trainer *t, size_t P, bool reshuffle)
{
    rbm__workers *W = &t->wk, nw = {.n = P, .kind = W->kind, .k = W->k};
    const size_t N = rbm__dataset_rows(t->data);
    size_t tmp;
    if (!rbm__mul_ok(P, N, &tmp) || !rbm__mul_ok(P, t->B, &tmp) || P > SIZE_MAX / sizeof(void *))
        return rbm__fail(t->ctx, RBM_ERR_TOO_LARGE, "%zu workers overflow", P);
    rbm_estimator *first;
    rbm_status st = make_estimators(t, P, 0, 1, W->kind, W->k, &first);
    if (st)
        return st;
    if (P > 1 && !(st = rbm__xcalloc(t->ctx, P - 1, sizeof *nw.more, &nw.more, "workers"))) {
        if (!(st = make_estimators(t, P, 1, P - 1, W->kind, W->k, nw.more)) &&
            (st = make_scratch(t, P, &nw)))
            free_estimators(nw.more, P - 1);
    }
    if (st) {
        rbm__free(t->ctx, nw.more);
        rbm_estimator_free(first);
        return st;
    }
    rbm__workers_free(t->ctx, W);
    rbm_estimator_free(t->est);
    t->est = first;
    *W = nw;
    t->nbatches = rbm__workers_nbatches(N, t->B, P);
    if (reshuffle)
        rbm__workers_shuffle(t);
    return RBM_OK;
}

rbm_status rbm_trainer_set_workers(rbm_trainer *t, size_t n_workers)
{
    if (!t)
        return RBM_ERR_NULL;
    if (n_workers == 0 || n_workers > t->B)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_trainer_set_workers: %zu workers: expected 1 to the batch size %zu",
                         n_workers, t->B);
    if (n_workers == t->wk.n)
        return RBM_OK;
    if (t->wk.remote)
        return rbm__fail(t->ctx, RBM_ERR_STATE,
                         "rbm_trainer_set_workers: a trainer with a collective keeps its %zu "
                         "workers", t->wk.n);
    if (t->batch_idx != 0)
        return rbm__fail(t->ctx, RBM_ERR_STATE,
                         "rbm_trainer_set_workers: the number of workers changes only at an epoch "
                         "boundary (batch %zu of %zu)", t->batch_idx, t->nbatches);
    if (n_workers > 1 && t->center.on)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_trainer_set_workers: the centred gradient needs the whole minibatch "
                         "on one worker");
    return configure(t, n_workers, true);
}

rbm_status rbm__workers_restore(rbm_trainer *t, size_t P)
{
    return P == t->wk.n ? RBM_OK : configure(t, P, false);
}

size_t rbm_trainer_worker_count(const rbm_trainer *t)
{
    return t ? t->wk.n : 0;
}

rbm_status rbm_trainer_set_collective(rbm_trainer *t, const rbm_collective_ops *ops, void *user,
                                      size_t rank)
{
    if (!t)
        return RBM_ERR_NULL;
    rbm__workers *W = &t->wk;
    if (!ops || !ops->allreduce_sum)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "rbm_trainer_set_collective: %s is NULL",
                         ops ? "ops->allreduce_sum" : "ops");
    if (W->remote)
        return rbm__fail(t->ctx, RBM_ERR_STATE,
                         "rbm_trainer_set_collective: a collective is already installed");
    if (rank >= W->n)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_trainer_set_collective: rank %zu of %zu workers", rank, W->n);
    if (W->n == 1) {
        rbm_status st = make_scratch(t, 1, W);
        if (st)
            return st;
    }
    rbm_estimator *keep = local_est(t, rank);
    for (size_t i = 0; i < W->n; i++)
        if (i != rank)
            rbm_estimator_free(local_est(t, i));
    rbm__free(t->ctx, W->more);
    W->more = NULL;
    t->est = keep;
    W->remote = true;
    W->rank = rank;
    W->ops = *ops;
    W->user = user;
    return RBM_OK;
}

/* ---------------- one step ---------------- */

static size_t grad_len(const rbm_gradient *g)
{
    return g->nv * g->nh + g->nv + g->nh;
}

/* buf[0..grad_len) = g (add: += g), in the order W, a, b. */
static void pack(double *buf, const rbm_gradient *g, bool add)
{
    const double *parts[3] = {g->dW, g->da, g->db};
    const size_t lens[3] = {g->nv * g->nh, g->nv, g->nh};
    for (size_t p = 0; p < 3; p++) {
        if (add)
            for (size_t i = 0; i < lens[p]; i++)
                buf[i] += parts[p][i];
        else
            memcpy(buf, parts[p], lens[p] * sizeof(double));
        buf += lens[p];
    }
}

static void unpack(rbm_gradient *g, const double *buf)
{
    memcpy(g->dW, buf, g->nv * g->nh * sizeof(double));
    memcpy(g->da, buf + g->nv * g->nh, g->nv * sizeof(double));
    memcpy(g->db, buf + g->nv * g->nh + g->nv, g->nh * sizeof(double));
}

/* Local worker i's weighted estimate, packed (i == 0) or added into buf. */
static rbm_status local_estimate(rbm_trainer *t, size_t i, size_t n, bool monitor)
{
    rbm__workers *W = &t->wk;
    const size_t r = W->remote ? W->rank : i, ng = grad_len(W->gw);
    const size_t *idx;
    size_t nr;
    slice(t, r, t->batch_idx, &idx, &nr);
    double rec = 0;
    if (nr == 0) {
        rbm_gradient_zero(W->gw);
    } else {
        W->ran[i] = 1;
        rbm_status st = rbm__trainer_estimate(t, local_est(t, i), idx, nr, W->gw, monitor, &rec);
        if (st)
            return st;
        double s = (double)nr / (double)n;
        if (s != 1) {
            rbm_gradient_scale(W->gw, s);
            rec *= s;
        }
    }
    pack(W->buf, W->gw, i > 0);
    W->buf[ng] = i > 0 ? W->buf[ng] + rec : rec;
    return RBM_OK;
}

/* After the exchange: the first worker's refusal, or RBM_OK. */
static rbm_status remote_refusals(rbm_trainer *t, size_t ng)
{
    const double *s = t->wk.buf + ng + 1;
    for (size_t r = 0; r < t->wk.n; r++) {
        if (s[r] == 0)
            continue;
        if (!(s[r] >= 1 && s[r] <= 999 && s[r] == floor(s[r])))
            return rbm__fail(t->ctx, RBM_ERR_COLLECTIVE,
                             "step %llu: the collective returned %g as worker %zu's status",
                             (unsigned long long)t->steps, s[r], r);
        rbm_status st = (rbm_status)(int)s[r];
        return rbm__fail(t->ctx, st,
                         "step %llu refused: worker %zu could not estimate its gradient (%s); "
                         "parameters, optimiser state, chains and rng streams left as they were",
                         (unsigned long long)t->steps, r, rbm_status_name(st));
    }
    return RBM_OK;
}

rbm_status rbm__workers_estimate(rbm_trainer *t, bool monitor, double *recon)
{
    rbm__workers *W = &t->wk;
    const size_t nloc = local_count(W), ng = grad_len(W->gw);
    size_t n = 0;
    for (size_t r = 0; r < W->n; r++) {
        const size_t *idx;
        size_t nr;
        slice(t, r, t->batch_idx, &idx, &nr);
        n += nr;
    }
    memset(W->ran, 0, nloc);
    rbm_status st = RBM_OK;
    for (size_t i = 0; i < nloc && !st; i++)
        st = local_estimate(t, i, n, monitor);
    if (!W->remote) {
        if (st)
            return st;
    } else {
        /* a worker that could not estimate still takes part in the exchange */
        if (st)
            memset(W->buf, 0, (ng + 1) * sizeof(double));
        memset(W->buf + ng + 1, 0, W->n * sizeof(double));
        W->buf[ng + 1 + W->rank] = (double)st;
        int rc = W->ops.allreduce_sum(W->user, W->buf, W->len);
        if (rc != 0)
            return rbm__fail(t->ctx, RBM_ERR_COLLECTIVE,
                             "step %llu: the collective's allreduce_sum failed (returned %d); "
                             "parameters, optimiser state, chains and rng streams left as they "
                             "were", (unsigned long long)t->steps, rc);
        if (st) /* this worker's own message is in the context */
            return st;
        if ((st = remote_refusals(t, ng)))
            return st;
    }
    unpack(t->g, W->buf);
    if (monitor)
        *recon = W->buf[ng];
    return RBM_OK;
}

void rbm__workers_end(rbm_trainer *t, bool keep)
{
    for (size_t i = 0; i < local_count(&t->wk); i++) {
        if (!t->wk.ran[i])
            continue;
        if (keep)
            rbm__estimator_commit(local_est(t, i));
        else
            rbm__estimator_rollback(local_est(t, i));
        t->wk.ran[i] = 0;
    }
}

/* ---------------- checkpoints ---------------- */

/* One allreduce of W->buf[0..n) with a readable failure. */
static rbm_status exchange(const rbm_trainer *t, size_t n, const char *what)
{
    int rc = t->wk.ops.allreduce_sum(t->wk.user, t->wk.buf, n);
    return rc ? rbm__fail(t->ctx, RBM_ERR_COLLECTIVE,
                          "checkpoint: the collective's allreduce_sum failed %s (returned %d)",
                          what, rc)
              : RBM_OK;
}

/* Every worker's flag (slot r: worker r's value) summed; *bad = the first
 * worker with a nonzero flag, or P. */
static rbm_status flags(const rbm_trainer *t, double mine, const char *what, size_t *bad)
{
    const rbm__workers *W = &t->wk;
    memset(W->buf, 0, W->n * sizeof(double));
    W->buf[W->rank] = mine;
    rbm_status st = exchange(t, W->n, what);
    *bad = W->n;
    for (size_t r = 0; r < W->n && !st && *bad == W->n; r++)
        if (W->buf[r] != 0)
            *bad = r;
    return st;
}

/* The remote case of rbm__workers_write_state: worker states gathered to
 * worker 0 (three exchanges, made by every worker whatever fails). */
static rbm_status gather_states(const rbm_trainer *t, rbm__wbuf *w)
{
    const rbm__workers *W = &t->wk;
    const size_t P = W->n;
    rbm__wbuf mine;
    rbm__wbuf_init(&mine, t->ctx);
    rbm__estimator_write_rng(t->est, &mine);
    rbm__estimator_write_state(t->est, &mine);
    size_t bad;
    rbm_status st = flags(t, mine.st ? -1.0 : (double)mine.len, "sizing the states", &bad);
    size_t most = 0;
    for (size_t r = 0; r < P && !st; r++)
        most = (size_t)W->buf[r] > most ? (size_t)W->buf[r] : most;
    double *lens = NULL;
    unsigned char *recv = NULL;
    if (!st && bad < P && W->buf[bad] < 0)
        st = rbm__fail(t->ctx, RBM_ERR_NO_MEMORY, "checkpoint: worker %zu could not "
                       "serialise its state", bad);
    rbm_status mem = RBM_OK;
    if (!st) { /* keep the sizes, pad this worker's state, make room at worker 0 */
        mem = rbm__xcalloc(t->ctx, P, sizeof *lens, &lens, "worker state sizes");
        if (!mem)
            memcpy(lens, W->buf, P * sizeof *lens);
        while (!mem && mine.len < most && !mine.st)
            rbm__wbuf_put(&mine, "", 1);
        mem = mem ? mem : mine.st;
        if (!mem && W->rank == 0)
            mem = rbm__xcalloc(t->ctx, P, most ? most : 1, &recv, "gathered worker states");
        if (!(st = flags(t, mem ? 1.0 : 0.0, "before gathering", &bad)) && bad < P)
            st = mem ? mem : rbm__fail(t->ctx, RBM_ERR_NO_MEMORY,
                                       "checkpoint: worker %zu is out of memory", bad);
    }
    if (!st && W->ops.gather(W->user, mine.p, most, recv) != 0)
        st = rbm__fail(t->ctx, RBM_ERR_COLLECTIVE, "checkpoint: the collective's gather failed");
    for (size_t r = 1; r < P && !st && W->rank == 0; r++)
        rbm__wbuf_put(w, recv + r * most, (size_t)lens[r]);
    rbm__free(t->ctx, recv);
    rbm__free(t->ctx, lens);
    rbm__wbuf_free(&mine);
    return st;
}

rbm_status rbm__workers_write_state(const rbm_trainer *t, rbm__wbuf *w)
{
    const rbm__workers *W = &t->wk;
    if (W->remote && !W->ops.gather)
        return rbm__fail(t->ctx, RBM_ERR_UNSUPPORTED,
                         "checkpoint: the collective has no gather, so worker 0 cannot collect "
                         "the other workers' chains");
    if (W->remote)
        return gather_states(t, w);
    for (size_t r = 1; r < W->n; r++) {
        rbm__estimator_write_rng(W->more[r - 1], w);
        rbm__estimator_write_state(W->more[r - 1], w);
    }
    return w->st;
}

rbm_status rbm__workers_read_state(rbm_trainer *t, rbm__ckpt_in *in)
{
    rbm_status st = RBM_OK;
    for (size_t r = 1; r < t->wk.n && !st; r++)
        if (!(st = rbm__estimator_read_rng(t->wk.more[r - 1], in)))
            st = rbm__estimator_read_state(t->wk.more[r - 1], in);
    return st;
}

rbm_status rbm__workers_agree(const rbm_trainer *t, rbm_status st)
{
    const rbm__workers *W = &t->wk;
    if (!W->remote)
        return st;
    double x = W->rank == 0 ? (double)st : 0.0;
    int rc = W->ops.allreduce_sum(W->user, &x, 1);
    if (rc)
        return rbm__fail(t->ctx, RBM_ERR_COLLECTIVE,
                         "checkpoint: the collective's allreduce_sum failed (returned %d)", rc);
    if (W->rank == 0 || st || x == 0) /* worker 0's status, or this worker's own failure */
        return st;
    return rbm__fail(t->ctx, (rbm_status)(int)x, "checkpoint: worker 0 could not write it (%s)",
                     rbm_status_name((rbm_status)(int)x));
}
