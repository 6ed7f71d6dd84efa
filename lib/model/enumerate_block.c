/* librbm — enumerate_block: exact log Z by enumerating one discrete layer in
 * blocks of states (the method is in model/enumerate.h, the error bound in
 * docs/likelihoods.md, "Exact log Z").
 *
 * A state s of the n enumerated units is split into its low b bits L and
 * its high bits H; the other layer's fields are z = x_H + y_L with
 * x_H = d + sum_{u >= b} s_u c_u and y_L = sum_{u < b} s_u c_u. The 2^b
 * vectors y_L (and their exponentials) are a table made once; the fields
 * x_H of GROUP high states at a time are summed from scratch. With
 * Lambda(z) = softplus(z) (Bernoulli), softplus(2z) - z (Ising) or
 * sigma^2 z^2 / 2 + const (Gaussian),
 *   softplus(x + y) = max(x, 0) + log(beta + alpha e^y),
 *   alpha = e^min(x, 0), beta = e^-max(x, 0),
 * so the sum over the other layer is a product of positive factors
 * (rbm__logpart_block) for every (H, L) pair of a block. */
#include "core/internal.h"
#include "model/enumerate.h"
#include "model/machine_impl.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

enum { GROUP = 16 };          /* high states per kernel call (a multiple of 4) */
#define FACTOR_RANGE 300.0    /* largest |exponent| of a table entry */
#define MAX_TASKS 4096        /* partial sums kept for the fixed-order reduction */
#define HALF_LOG_2PI 0.91893853320467274178

typedef struct block_plan {
    rbm__enum_view V;
    const double *cols;        /* n x o couplings (rbm__enum_columns) */
    int kind;                  /* 0 Bernoulli, 1 Ising, 2 Gaussian (other layer) */
    size_t b, B, strips;       /* low bits, 2^b, ceil(2^b / 8) */
    double *T;                 /* strips x o x 8: e^y, e^2y or y (Gaussian) */
    double *BL;                /* 2^b: linear part of each low state */
    double clamp;              /* of rbm__softplus_factors */
    size_t chunk;              /* factors per renormalisation */
    double lin_const;          /* Gaussian: o (log(2 pi) / 2 + log sigma) */
    uint64_t high, groups;     /* 2^(n-b) high states, in ceil(/GROUP) groups */
    uint64_t per_task, tasks;  /* consecutive groups per task */
    atomic_uint_fast64_t next; /* next task to take */
    double *work;              /* per part: work_len doubles */
    size_t work_len;
    double *tm, *ts;           /* per task: log-sum-exp maximum and scaled sum */
    atomic_int bad;            /* a log weight was not finite */
} block_plan;

/* (M, S) += (m, s): two scaled sums of exponentials. */
static void lse_merge(double *M, double *S, double m, double s)
{
    if (m > *M) {
        *S = *S * exp(*M - m) + s;
        *M = m;
    } else if (s > 0) {
        *S += s * exp(m - *M);
    }
}

/* Low bits: the largest b <= RBM__ENUM_LOW_BITS whose table exponents stay
 * within FACTOR_RANGE (always, for the Gaussian), then the table. */
static rbm_status plan_table(block_plan *P)
{
    const rbm__enum_view *V = &P->V;
    const size_t o = V->o;
    const double kappa = P->kind == 1 ? 2.0 : 1.0;
    size_t b = V->n < RBM__ENUM_LOW_BITS ? V->n : RBM__ENUM_LOW_BITS;
    double R = 0;
    for (;; b--) {
        R = 0;
        for (size_t q = 0; q < o; q++) {
            double r = 0;
            for (size_t u = 0; u < b; u++)
                r += fabs(P->cols[u * o + q]);
            R = kappa * r > R ? kappa * r : R;
        }
        if (P->kind == 2 || R <= FACTOR_RANGE || b == 0)
            break;
    }
    P->b = b;
    P->B = (size_t)1 << b;
    P->strips = (P->B + 7) / 8;
    P->clamp = 690.0 - R;
    P->chunk = (size_t)(700.0 / (R + 1.0));
    rbm_status st;
    if ((st = rbm__xcalloc(V->m->ctx, P->strips * 8 * (o + 1), sizeof(double), &P->T,
                           "enumeration table")))
        return st;
    P->BL = P->T + P->strips * 8 * o;
    for (size_t l = 0; l < P->strips * 8; l++) {
        double *t = P->T + (l / 8) * o * 8 + l % 8, lin = 0, ysum = 0;
        for (size_t q = 0; q < o; q++) {
            double y = 0;
            for (size_t u = 0; u < b && l < P->B; u++) {
                double s = (l >> u) & 1 ? 1.0 : V->lo;
                y += s * P->cols[u * o + q];
            }
            ysum += y;
            t[q * 8] = P->kind == 2 ? y : exp(kappa * y);
        }
        for (size_t u = 0; u < b && l < P->B; u++)
            lin += V->ebias[u] * ((l >> u) & 1 ? 1.0 : V->lo);
        P->BL[l] = P->kind == 1 ? lin - ysum : lin;
    }
    return RBM_OK;
}

/* Rows of a group: fields of high state hi (x: o values), its factors
 * (alpha, beta) and its linear part. */
static double high_row(const block_plan *P, uint64_t hi, double *x, double *alpha, double *beta)
{
    const rbm__enum_view *V = &P->V;
    const size_t o = V->o;
    memcpy(x, V->obias, o * sizeof(double));
    double lin = 0;
    for (size_t u = P->b; u < V->n; u++) {
        double s = (hi >> (u - P->b)) & 1 ? 1.0 : V->lo;
        lin += V->ebias[u] * s;
        if (s != 0) {
            const double *c = P->cols + u * o;
            for (size_t q = 0; q < o; q++)
                x[q] += s * c[q];
        }
    }
    if (P->kind == 2) {
        memcpy(alpha, x, o * sizeof(double));
        return lin + P->lin_const;
    }
    if (P->kind == 1) { /* log 2cosh z = softplus(2z) - z */
        for (size_t q = 0; q < o; q++) {
            lin -= x[q];
            x[q] *= 2.0;
        }
    }
    return lin + rbm__softplus_factors(o, x, P->clamp, alpha, beta);
}

/* One task: its groups in order, into tm/ts[task]. */
static void block_task(block_plan *P, uint64_t task, double *w)
{
    const size_t o = P->V.o, B = P->B, ldo = 8 * P->strips;
    double *x = w, *alpha = x + o, *beta = alpha + GROUP * o, *out = beta + GROUP * o,
           *lw = out + GROUP * ldo, *AH = lw + GROUP * B;
    const double half_s2 = 0.5 * P->V.osig * P->V.osig;
    double M = -INFINITY, S = 0;
    uint64_t g1 = (task + 1) * P->per_task < P->groups ? (task + 1) * P->per_task : P->groups;
    for (uint64_t g = task * P->per_task; g < g1; g++) {
        uint64_t h0 = g * GROUP;
        size_t rows = P->high - h0 < GROUP ? (size_t)(P->high - h0) : GROUP;
        for (size_t r = 0; r < GROUP; r++) /* rows past the last state repeat it */
            AH[r] = high_row(P, h0 + (r < rows ? r : rows - 1), x, alpha + r * o, beta + r * o);
        rbm__logpart_block(P->kind == 2, o, GROUP, alpha, beta, P->strips, P->T, P->chunk, out);
        double m = -INFINITY;
        bool finite = true;
        for (size_t r = 0; r < rows; r++)
            for (size_t l = 0; l < B; l++) {
                double v = out[r * ldo + l];
                double y = AH[r] + P->BL[l] + (P->kind == 2 ? half_s2 * v : v);
                finite &= isfinite(y);
                m = y > m ? y : m;
                lw[r * B + l] = y;
            }
        if (!finite) {
            atomic_store(&P->bad, 1);
            return;
        }
        lse_merge(&M, &S, m, rbm__exp_sum_shifted(rows * B, lw, m));
    }
    P->tm[task] = M;
    P->ts[task] = S;
}

static void block_part(void *arg, size_t part, size_t parts)
{
    (void)parts;
    block_plan *P = arg;
    double *w = P->work + part * P->work_len;
    for (;;) {
        uint64_t t = atomic_fetch_add(&P->next, 1);
        if (t >= P->tasks || atomic_load(&P->bad))
            return;
        block_task(P, t, w);
    }
}

/* The tasks' partial sums [t0, t1) by halves: a fixed order. */
static void reduce_tasks(const block_plan *P, uint64_t t0, uint64_t t1, double *M, double *S)
{
    if (t1 - t0 == 1) {
        *M = P->tm[t0];
        *S = P->ts[t0];
        return;
    }
    uint64_t mid = t0 + (t1 - t0) / 2;
    double m2, s2;
    reduce_tasks(P, t0, mid, M, S);
    reduce_tasks(P, mid, t1, &m2, &s2);
    lse_merge(M, S, m2, s2);
}

rbm_status rbm__enum_log_z(const rbm_machine *m, rbm_layer layer, double *log_z)
{
    block_plan P = {.V = rbm__enum_view_of(m, layer)};
    const size_t o = P.V.o;
    P.kind = P.V.ok == RBM_UNIT_ISING ? 1 : P.V.ok == RBM_UNIT_GAUSSIAN ? 2 : 0;
    P.lin_const = (double)o * (HALF_LOG_2PI + log(P.V.osig > 0 ? P.V.osig : 1.0));
    double *cols_mem = NULL;
    rbm_status st = rbm__enum_columns(m, &P.V, &cols_mem, &P.cols);
    if (st)
        return st;
    if ((st = plan_table(&P)))
        goto done;
    P.high = (uint64_t)1 << (P.V.n - P.b);
    P.groups = (P.high + GROUP - 1) / GROUP;
    P.per_task = (P.groups + MAX_TASKS - 1) / MAX_TASKS;
    P.tasks = (P.groups + P.per_task - 1) / P.per_task;
    size_t parts = rbm__threads(m->ctx);
    parts = parts > P.tasks ? (size_t)P.tasks : parts > 64 ? 64 : parts;
    P.work_len = o + 2 * GROUP * o + GROUP * 8 * P.strips + GROUP * P.B + GROUP;
    if ((st = rbm__xcalloc(m->ctx, parts * P.work_len + 2 * P.tasks, sizeof(double), &P.work,
                           "enumeration workspace")))
        goto done;
    P.tm = P.work + parts * P.work_len;
    P.ts = P.tm + P.tasks;
    atomic_init(&P.next, 0);
    atomic_init(&P.bad, 0);
    rbm__parallel(m->ctx, parts, block_part, &P);
    double M, S;
    if (atomic_load(&P.bad)) {
        st = rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "enumeration produced a non-finite weight");
        goto done;
    }
    reduce_tasks(&P, 0, P.tasks, &M, &S);
    double lz = M + log(S);
    if (!isfinite(lz)) {
        st = rbm__fail(m->ctx, RBM_ERR_NUMERICAL, "exact log Z is not finite");
        goto done;
    }
    *log_z = lz;
done:
    rbm__free(m->ctx, P.work);
    rbm__free(m->ctx, P.T);
    rbm__free(m->ctx, cols_mem);
    return st;
}
