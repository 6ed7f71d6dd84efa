/* librbm — mode_tracker: the top modes of W followed through training, by
 * identity (greedy maximum-overlap matching of each record's singular
 * vectors to the previous ones), with the bulk edge of every record and a
 * CSV export (docs/theory.md §6). */
#include "analysis/svd_impl.h"
#include "core/bytes.h"
#include "core/file_out.h"

#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct rbm_mode_tracker {
    rbm_context *ctx;
    const rbm_machine *m;
    size_t K;  /* tracked identities */
    size_t Kc; /* candidate new modes matched against them */
    rbm_svd *svd;
    double *Uid;   /* nv x K: u of each identity at the last record */
    double *O;     /* K x Kc |overlaps| */
    size_t *match; /* K: new mode of each identity */
    size_t *best;  /* K + Kc: best partner of each identity / new mode */
    unsigned char *used; /* Kc + K flags */
    /* records */
    size_t n, cap;
    uint64_t *steps;
    double *edges;
    size_t *nouts;
    double *ws; /* cap x K */
    /* census (rbm_mode_tracker_set_census; borrowed), NULL if none */
    const rbm_census *census;
    double *q;      /* r: subspace overlaps of the current record */
    size_t *nsigs;  /* cap: significant modes per record */
};

void rbm_mode_tracker_free(rbm_mode_tracker *t)
{
    if (!t)
        return;
    rbm_context *ctx = t->ctx;
    rbm_svd_free(t->svd);
    rbm__free(ctx, t->Uid);
    rbm__free(ctx, t->O);
    rbm__free(ctx, t->best);
    rbm__free(ctx, t->match);
    rbm__free(ctx, t->used);
    rbm__free(ctx, t->steps);
    rbm__free(ctx, t->edges);
    rbm__free(ctx, t->nouts);
    rbm__free(ctx, t->ws);
    rbm__free(ctx, t->q);
    rbm__free(ctx, t->nsigs);
    rbm__free(ctx, t);
}

rbm_status rbm_mode_tracker_new(const rbm_machine *m, size_t n_modes, rbm_mode_tracker **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    if (out)
        *out = NULL;
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_mode_tracker_new");
    if (potts_st)
        return potts_st;
    if (!m)
        return RBM_ERR_NULL;
    rbm_context *ctx = mv->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_mode_tracker_new: out is NULL");
    size_t r = mv->nv < mv->nh ? mv->nv : mv->nh;
    if (n_modes == 0 || n_modes > r)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_mode_tracker_new: n_modes must be in [1, %zu] (the rank min(N_v, "
                         "N_h)), got %zu",
                         r, n_modes);
    size_t K = n_modes, Kc = 2 * K < r ? 2 * K : r, nu, np;
    if (!rbm__mul_ok(mv->nv, K, &nu) || !rbm__mul_ok(K, Kc, &np))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "mode tracker of %zu modes is too large", K);
    rbm_mode_tracker *t;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *t, &t, "mode tracker");
    if (st)
        return st;
    t->ctx = ctx;
    t->m = m;
    t->K = K;
    t->Kc = Kc;
    if ((st = rbm__svd_alloc(m, &t->svd)) ||
        (st = rbm__xcalloc(ctx, nu, sizeof(double), &t->Uid, "mode tracker vectors")) ||
        (st = rbm__xcalloc(ctx, np, sizeof(double), &t->O, "mode tracker overlaps")) ||
        (st = rbm__xcalloc(ctx, K, sizeof(size_t), &t->match, "mode tracker workspace")) ||
        (st = rbm__xcalloc(ctx, K + Kc, sizeof(size_t), &t->best, "mode tracker workspace")) ||
        (st = rbm__xcalloc(ctx, Kc + K, 1, &t->used, "mode tracker workspace"))) {
        rbm_mode_tracker_free(t);
        return st;
    }
    *out = t;
    return RBM_OK;
}

/* Make room for one more record (storage grows geometrically). */
static rbm_status tracker_reserve(rbm_mode_tracker *t)
{
    if (t->n < t->cap)
        return RBM_OK;
    size_t cap = t->cap ? 2 * t->cap : 16, nw;
    if (cap <= t->cap || !rbm__mul_ok(cap, t->K, &nw) ||
        !rbm__mul_ok(nw, sizeof(double), &nw) || !rbm__mul_ok(cap, sizeof(uint64_t), &nw))
        return rbm__fail(t->ctx, RBM_ERR_TOO_LARGE, "mode tracker: too many records (%zu)",
                         t->n);
    uint64_t *steps = NULL;
    double *edges = NULL, *ws = NULL;
    size_t *nouts = NULL, *nsigs = NULL;
    rbm_status st;
    if ((st = rbm__xcalloc(t->ctx, cap, sizeof *nsigs, &nsigs, "mode tracker records")) ||
        (st = rbm__xcalloc(t->ctx, cap, sizeof *steps, &steps, "mode tracker records")) ||
        (st = rbm__xcalloc(t->ctx, cap, sizeof *edges, &edges, "mode tracker records")) ||
        (st = rbm__xcalloc(t->ctx, cap, sizeof *nouts, &nouts, "mode tracker records")) ||
        (st = rbm__xcalloc(t->ctx, cap * t->K, sizeof *ws, &ws, "mode tracker records"))) {
        rbm__free(t->ctx, steps);
        rbm__free(t->ctx, edges);
        rbm__free(t->ctx, nouts);
        rbm__free(t->ctx, ws);
        rbm__free(t->ctx, nsigs);
        return st;
    }
    if (t->n) {
        memcpy(nsigs, t->nsigs, t->n * sizeof *nsigs);
        memcpy(steps, t->steps, t->n * sizeof *steps);
        memcpy(edges, t->edges, t->n * sizeof *edges);
        memcpy(nouts, t->nouts, t->n * sizeof *nouts);
        memcpy(ws, t->ws, t->n * t->K * sizeof *ws);
    }
    rbm__free(t->ctx, t->steps);
    rbm__free(t->ctx, t->edges);
    rbm__free(t->ctx, t->nouts);
    rbm__free(t->ctx, t->ws);
    rbm__free(t->ctx, t->nsigs);
    t->nsigs = nsigs;
    t->steps = steps;
    t->edges = edges;
    t->nouts = nouts;
    t->ws = ws;
    t->cap = cap;
    return RBM_OK;
}

/* Greedy maximum-|overlap| matching of the K identities (Uid) against the
 * first Kc new modes (svd->U): t->match[id] = new mode. Pairs are ordered
 * by |overlap| (descending), then identity, then mode (ascending), a total
 * order. Greedy matching takes the pairs in that order, skipping those whose
 * identity or mode is taken; for distinct weights this equals repeatedly
 * taking every pair that is the best of both its row and its column among
 * the free ones (a locally dominant pair is in the greedy matching, and the
 * best remaining pair always is locally dominant). Each round costs one
 * scan of the free part of O, and no K x Kc sort is needed. */
static void tracker_match(rbm_mode_tracker *t)
{
    const size_t K = t->K, Kc = t->Kc, nv = t->svd->nv, r = t->svd->r;
    unsigned char *mode_used = t->used, *id_done = t->used + Kc;
    size_t *best_mode = t->best, *best_id = t->best + K;
    double *O = t->O;
    memset(t->used, 0, Kc + K);
    /* O = |Uid^T U_Kc| */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)Kc, (int)nv, 1.0, t->Uid,
                (int)K, t->svd->U, (int)r, 0.0, O, (int)Kc);
    for (size_t i = 0; i < K * Kc; i++)
        O[i] = fabs(O[i]);
    size_t left = K;
    while (left > 0) {
        /* best free mode of each free identity (ties: lower mode) */
        for (size_t id = 0; id < K; id++) {
            if (id_done[id])
                continue;
            const double *row = O + id * Kc;
            size_t bm = Kc;
            for (size_t b = 0; b < Kc; b++)
                if (!mode_used[b] && (bm == Kc || row[b] > row[bm]))
                    bm = b;
            best_mode[id] = bm;
        }
        /* best free identity of each free mode (ties: lower identity) */
        for (size_t b = 0; b < Kc; b++)
            best_id[b] = K;
        for (size_t id = 0; id < K; id++) {
            if (id_done[id])
                continue;
            const double *row = O + id * Kc;
            for (size_t b = 0; b < Kc; b++)
                if (!mode_used[b] && (best_id[b] == K || row[b] > O[best_id[b] * Kc + b]))
                    best_id[b] = id;
        }
        /* take the mutually best pairs */
        for (size_t id = 0; id < K; id++) {
            if (id_done[id])
                continue;
            size_t b = best_mode[id];
            if (best_id[b] == id) {
                t->match[id] = b;
                id_done[id] = 1;
                mode_used[b] = 1;
                left--;
            }
        }
    }
}

rbm_status rbm_mode_tracker_record(rbm_mode_tracker *t, uint64_t step)
{
    if (!t)
        return RBM_ERR_NULL;
    const rbm__machine_view *mv = rbm__machine_view_of(t->m);
    rbm_status st;
    if ((st = tracker_reserve(t)) || (st = rbm__svd_compute(t->svd, mv->W)))
        return st;
    const rbm_svd *s = t->svd;
    const size_t K = t->K, nv = s->nv, r = s->r;
    if (t->n == 0) {
        for (size_t id = 0; id < K; id++)
            t->match[id] = id;
    } else {
        tracker_match(t);
    }
    double *wrec = t->ws + t->n * K;
    for (size_t id = 0; id < K; id++) {
        size_t a = t->match[id];
        wrec[id] = s->w[a];
        for (size_t i = 0; i < nv; i++)
            t->Uid[i * K + id] = s->U[i * r + a];
    }
    double sigma;
    rbm__svd_bulk(s->w, r, s->nv, s->nh, &sigma, &t->edges[t->n], &t->nouts[t->n]);
    t->nsigs[t->n] = 0;
    if (t->census) {
        rbm__census_overlaps(t->census, s->U, r, t->q);
        t->nsigs[t->n] = rbm__census_count(t->q, t->nouts[t->n], NULL, r);
    }
    t->steps[t->n] = step;
    t->n++;
    return RBM_OK;
}

size_t rbm_mode_tracker_record_count(const rbm_mode_tracker *t)
{
    return t ? t->n : 0;
}

size_t rbm_mode_tracker_mode_count(const rbm_mode_tracker *t)
{
    return t ? t->K : 0;
}

rbm_status rbm_mode_tracker_get_record(const rbm_mode_tracker *t, size_t k, uint64_t *step,
                                       double *w, size_t w_len, double *edge, size_t *n_outside)
{
    if (!t)
        return RBM_ERR_NULL;
    if (k >= t->n)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_mode_tracker_get_record: record %zu requested, %zu recorded", k,
                         t->n);
    if (w) {
        rbm_status st = rbm__check_array(t->ctx, w, w_len, t->K, "singular value buffer");
        if (st)
            return st;
        memcpy(w, t->ws + k * t->K, t->K * sizeof(double));
    }
    if (step)
        *step = t->steps[k];
    if (edge)
        *edge = t->edges[k];
    if (n_outside)
        *n_outside = t->nouts[k];
    return RBM_OK;
}

rbm_status rbm_mode_tracker_set_census(rbm_mode_tracker *t, const rbm_census *c)
{
    if (!t)
        return RBM_ERR_NULL;
    if (t->n > 0)
        return rbm__fail(t->ctx, RBM_ERR_STATE,
                         "rbm_mode_tracker_set_census: %zu records exist already", t->n);
    if (!c) {
        t->census = NULL;
        return RBM_OK;
    }
    const rbm_svd *s = t->svd;
    if (rbm_census_cols(c) != s->nv)
        return rbm__fail(t->ctx, RBM_ERR_SHAPE,
                         "rbm_mode_tracker_set_census: the census has %zu columns, the machine "
                         "%zu visible units",
                         rbm_census_cols(c), s->nv);
    if (!t->q) {
        rbm_status st = rbm__xcalloc(t->ctx, s->r, sizeof(double), &t->q, "mode tracker census");
        if (st)
            return st;
    }
    t->census = c;
    return RBM_OK;
}

rbm_status rbm_mode_tracker_get_significant(const rbm_mode_tracker *t, size_t k,
                                            size_t *n_significant)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!t->census)
        return rbm__fail(t->ctx, RBM_ERR_STATE,
                         "rbm_mode_tracker_get_significant: the tracker has no census");
    if (k >= t->n)
        return rbm__fail(t->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_mode_tracker_get_significant: record %zu requested, %zu recorded",
                         k, t->n);
    if (n_significant)
        *n_significant = t->nsigs[k];
    return RBM_OK;
}

/* Append one printf-formatted field to w (fields are far below 64 bytes). */
static void csv_put(rbm__fout *w, const char *fmt, ...) RBM__PRINTF(2, 3);

static void csv_put(rbm__fout *w, const char *fmt, ...)
{
    char field[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(field, sizeof field, fmt, ap);
    va_end(ap);
    if (n > 0)
        rbm__fout_write(w, field, (size_t)n < sizeof field ? (size_t)n : sizeof field - 1);
}

rbm_status rbm_mode_tracker_write_csv(const rbm_mode_tracker *t, const char *path)
{
    if (!t)
        return RBM_ERR_NULL;
    if (!path)
        return rbm__fail(t->ctx, RBM_ERR_NULL, "rbm_mode_tracker_write_csv: path is NULL");
    rbm__fout w;
    rbm_status st = rbm__fout_open(t->ctx, path, &w);
    if (st != RBM_OK)
        return st;
    /* numbers always use '.', whatever LC_NUMERIC the program has set */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old_loc = cloc ? uselocale(cloc) : (locale_t)0;
    csv_put(&w, "step,edge,n_outside");
    for (size_t id = 0; id < t->K; id++)
        csv_put(&w, ",w%zu", id);
    if (t->census)
        csv_put(&w, ",n_significant");
    csv_put(&w, "\n");
    for (size_t k = 0; k < t->n; k++) {
        csv_put(&w, "%" PRIu64 ",%.17g,%zu", t->steps[k], t->edges[k], t->nouts[k]);
        const double *row = t->ws + k * t->K;
        for (size_t id = 0; id < t->K; id++)
            csv_put(&w, ",%.17g", row[id]);
        if (t->census)
            csv_put(&w, ",%zu", t->nsigs[k]);
        csv_put(&w, "\n");
    }
    if (cloc) {
        uselocale(old_loc);
        freelocale(cloc);
    }
    return rbm__fout_commit(t->ctx, &w, path);
}
