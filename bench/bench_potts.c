/* librbm benchmark: one epoch of PCD-1 of a Potts RBM on a planted
 * alignment (docs/performance.md, "Potts"), timed against the one dense
 * product a Potts step cannot avoid.
 *
 *   bench_potts [--rows M] [--sites N] [--states Q] [--hidden NH] [--batch B]
 *               [--lr X] [--repeat R] [--batches N] [--precision f32|f64|both]
 *               [--what all|librbm|bound] [--seed S] [--threads N]
 *               [--write-data PATH.npy] [--data PATH.npy]
 *
 * Defaults: 10000 sequences of 100 sites, q = 21, N_h = 200, batch 100,
 * learning rate 0.01. The data: a planted Potts machine
 * (rbm_machine_new_planted_potts: 5 modes of 10 sites, strengths 12 down to
 * 6, background 1, Ising hidden units, seed S) sampled with one chain per
 * sequence after 50 sweeps (rbm_sampler_draw_dataset); --write-data saves
 * it as NPY (uint8, M x N) for the NumPy and PyTorch loops of
 * bench/potts_peers.py, which then train on the same rows; --data reads
 * such a file instead of generating (q from --states).
 *
 * librbm (public API only): Potts machine N x q -> N_h Bernoulli,
 * init_normal(0.01, seed), fields from the site frequencies, trainer (batch
 * B, PCD k = 1, SGD, monitor_every 0); only the loop of rbm_trainer_step()
 * calls of one epoch is timed. The free-energy gap between the first 2000
 * rows and the same rows with their sites shuffled between rows (gap()
 * below) is computed here from the parameters read back, before and after;
 * the program fails unless it grew, so that a broken trainer cannot look
 * fast.
 *
 * Bound: the visible-field product of the chains, F = H W^T ((B x N_h) by
 * (N_h x N q)), for every minibatch: with one-hot visible units the hidden
 * fields and the statistics are gathers and scatter-adds of N rows of W
 * (N N_h per row), but the q-state fields of every site need all of W.
 *
 * Output: progress on stderr, one JSON object per measurement on stdout
 * (read by bench/potts_run.py). --threads N sets librbm's context threads
 * and OpenBLAS's thread count (openblas_set_num_threads, looked up at run
 * time). */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <rbm/rbm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_NAME "bench_potts"
#include "bench_util.h"

typedef struct options {
    size_t rows, sites, q, nh, batch, repeat, batches, threads;
    double lr;
    int do_f32, do_f64, do_librbm, do_bound;
    uint64_t seed;
    const char *write_data, *data;
} options;

/* ---------------------------------------------------------------- data */

static rbm_dataset *planted_alignment(rbm_context *ctx, const options *o)
{
    const double w[5] = {12, 10.5, 9, 7.5, 6};
    size_t modes = o->sites >= 50 ? 5 : 1, per = o->sites >= 50 ? 10 : o->sites / 2;
    rbm_machine *pl;
    rbm_sampler *s;
    rbm_dataset *d;
    check(ctx,
          rbm_machine_new_planted_potts(ctx, o->sites, o->q, w, modes, per ? per : 1, 1.0,
                                        RBM_UNIT_ISING, o->seed, &pl),
          "planted machine");
    check(ctx, rbm_sampler_new(pl, o->rows, o->seed + 1, &s), "sampler");
    check(ctx, rbm_sampler_draw_dataset(s, o->rows, 50, 1, &d), "draw");
    rbm_sampler_free(s);
    rbm_machine_free(pl);
    return d;
}

/* An NPY file of state indices (rbm_dataset_save_npy writes float64) as a
 * categorical uint8 dataset of q states. */
static rbm_dataset *load_states(rbm_context *ctx, const char *path, size_t q)
{
    rbm_dataset *raw, *d;
    check(ctx, rbm_dataset_load_npy(ctx, path, &raw), path);
    size_t n = rbm_dataset_rows(raw) * rbm_dataset_cols(raw);
    double *x = xmalloc(n * sizeof *x);
    uint8_t *u = xmalloc(n);
    check(ctx, rbm_dataset_get_rows(raw, 0, rbm_dataset_rows(raw), x, n), "get_rows");
    for (size_t i = 0; i < n; i++)
        u[i] = (uint8_t)x[i];
    check(ctx,
          rbm_dataset_from_memory(ctx, u, RBM_DTYPE_UINT8, rbm_dataset_rows(raw),
                                  rbm_dataset_cols(raw), RBM_COPY, &d),
          "from_memory");
    check(ctx, rbm_dataset_set_categories(d, (uint32_t)q, NULL), "categories");
    rbm_dataset_free(raw);
    free(x);
    free(u);
    return d;
}

/* ---------------------------------------------------------------- bound */

#define BOUND(NAME, REAL, GEMM)                                                                \
    static double NAME(const options *o, size_t nbatches, double *cpu)                       \
    {                                                                                          \
        size_t nq = o->sites * o->q;                                                           \
        REAL *H = xmalloc(o->batch * o->nh * sizeof(REAL));                                    \
        REAL *W = xmalloc(nq * o->nh * sizeof(REAL));                                          \
        REAL *F = xmalloc(o->batch * nq * sizeof(REAL));                                       \
        for (size_t i = 0; i < o->batch * o->nh; i++)                                          \
            H[i] = (REAL)(i % 3 == 0);                                                         \
        for (size_t i = 0; i < nq * o->nh; i++)                                                \
            W[i] = (REAL)(0.01 * (double)(i % 7) - 0.03);                                      \
        double t0 = now_seconds(), c0 = cpu_seconds();                                         \
        for (size_t it = 0; it < nbatches; it++)                                               \
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)o->batch, (int)nq, (int)o->nh, \
                 (REAL)1, H, (int)o->nh, W, (int)o->nh, (REAL)0, F, (int)nq);                  \
        double t = now_seconds() - t0;                                                         \
        *cpu = cpu_seconds() - c0;                                                             \
        volatile REAL sink = F[0];                                                             \
        (void)sink;                                                                            \
        free(H);                                                                               \
        free(W);                                                                               \
        free(F);                                                                               \
        return t;                                                                              \
    }
BOUND(bound_f32, float, cblas_sgemm)
BOUND(bound_f64, double, cblas_dgemm)

static void run_bound(const options *o, int f32)
{
    double *t = xmalloc(o->repeat * sizeof *t), *c = xmalloc(o->repeat * sizeof *c), c_;
    (void)(f32 ? bound_f32(o, 5, &c_) : bound_f64(o, 5, &c_)); /* warm-up */
    for (size_t r = 0; r < o->repeat; r++)
        t[r] = f32 ? bound_f32(o, o->batches, &c[r]) : bound_f64(o, o->batches, &c[r]);
    fprintf(stderr, "  bound %s: %zu visible-field GEMMs: %.3f s\n", f32 ? "float32" : "float64",
            o->batches, t[0]);
    printf("{\"name\": \"bound\", \"precision\": \"%s\", \"batches\": %zu, ",
           f32 ? "float32" : "float64", o->batches);
    print_times_json(t, o->repeat, c);
    printf("}\n");
    fflush(stdout);
    free(t);
    free(c);
}

/* ---------------------------------------------------------------- librbm */

/* The free-energy gap <F(v')> - <F(v)> over the first `rows` rows v and
 * the same rows with site i taken from row (r + 1 + 37 i) mod rows (v':
 * the site frequencies kept, the correlations between sites destroyed),
 * with F(v) = -sum_i a_{i v_i} - sum_j softplus(b_j + sum_i W_{i v_i, j}):
 * about 0 at initialisation, positive once the couplings are learned. */
static double gap(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *d, size_t rows)
{
    size_t N = rbm_machine_n_visible(m), q = rbm_machine_n_states(m, RBM_LAYER_VISIBLE);
    size_t nh = rbm_machine_n_hidden(m), nq = N * q;
    double *W = xmalloc(nq * nh * sizeof *W), *a = xmalloc(nq * sizeof *a);
    double *b = xmalloc(nh * sizeof *b), *V = xmalloc(rows * N * sizeof *V);
    check(ctx, rbm_machine_get_weights(m, W, nq * nh), "get_weights");
    check(ctx, rbm_machine_get_visible_bias(m, a, nq), "get_visible_bias");
    check(ctx, rbm_machine_get_hidden_bias(m, b, nh), "get_hidden_bias");
    check(ctx, rbm_dataset_get_rows(d, 0, rows, V, rows * N), "get_rows");
    double acc = 0;
    for (size_t r = 0; r < rows; r++)
        for (int shuffled = 0; shuffled < 2; shuffled++) {
            double F = 0;
            for (size_t j = 0; j < nh; j++) {
                double x = b[j];
                for (size_t i = 0; i < N; i++) {
                    size_t src = shuffled ? (r + 1 + 37 * i) % rows : r;
                    x += W[(i * q + (size_t)V[src * N + i]) * nh + j];
                }
                F -= x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
            }
            for (size_t i = 0; i < N; i++) {
                size_t src = shuffled ? (r + 1 + 37 * i) % rows : r;
                F -= a[i * q + (size_t)V[src * N + i]];
            }
            acc += shuffled ? F : -F;
        }
    free(W);
    free(a);
    free(b);
    free(V);
    return acc / (double)rows;
}

static void run_librbm(const options *o, rbm_context *ctx, const rbm_dataset *d, int f32)
{
    const char *pname = f32 ? "float32" : "float64";
    double *t = xmalloc(o->repeat * sizeof *t), *c = xmalloc(o->repeat * sizeof *c);
    double err = NAN, err0 = NAN;
    size_t rows = o->rows < 2000 ? o->rows : 2000, steps = 0;
    for (size_t r = 0; r < o->repeat; r++) {
        rbm_machine *m;
        rbm_trainer *tr;
        check(ctx, rbm_machine_new_potts(ctx, o->sites, o->q, o->nh, RBM_UNIT_BERNOULLI, &m),
              "machine");
        check(ctx, rbm_machine_init_normal(m, 0.01, o->seed), "init_normal");
        check(ctx, rbm_machine_init_visible_bias_from_data(m, d), "fields");
        check(ctx,
              rbm_machine_set_precision(m, f32 ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64),
              "precision");
        tr = pcd1_trainer(ctx, m, d, o->batch, o->seed, o->lr);
        if (r == 0)
            err0 = gap(ctx, m, d, rows);
        rbm_status st = timed_steps(tr, o->batches, &steps, &t[r], &c[r]);
        check(ctx, st, "trainer_step");
        fprintf(stderr, "  librbm %s: %zu steps: %.3f s wall, %.3f s CPU\n", pname, steps, t[r],
                c[r]);
        if (r + 1 == o->repeat)
            err = gap(ctx, m, d, rows);
        rbm_trainer_free(tr);
        rbm_machine_free(m);
    }
    fprintf(stderr, "  librbm %s: free-energy gap %.5f (at init %.5f)\n", pname, err, err0);
    printf("{\"name\": \"librbm\", \"precision\": \"%s\", \"batches\": %zu, ", pname, steps);
    print_times_json(t, o->repeat, c);
    printf(", \"gap\": %.6f, \"gap_init\": %.6f}\n", err, err0);
    fflush(stdout);
    if (!(err > err0))
        die("the free-energy gap did not grow: the trainer is broken");
    free(t);
    free(c);
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr, "usage: bench_potts [--rows M] [--sites N] [--states Q] [--hidden NH] "
                    "[--batch B] [--lr X]\n  [--repeat R] [--batches N] "
                    "[--precision f32|f64|both] [--what all|librbm|bound]\n  [--seed S] "
                    "[--threads N] [--write-data PATH.npy] [--data PATH.npy]\n");
    exit(2);
}

static void parse(options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t *sz = !v                          ? NULL
                     : !strcmp(a, "--rows")      ? &o->rows
                     : !strcmp(a, "--sites")     ? &o->sites
                     : !strcmp(a, "--states")    ? &o->q
                     : !strcmp(a, "--hidden")    ? &o->nh
                     : !strcmp(a, "--batch")     ? &o->batch
                     : !strcmp(a, "--repeat")    ? &o->repeat
                     : !strcmp(a, "--batches")   ? &o->batches
                     : !strcmp(a, "--threads")   ? &o->threads
                                                 : NULL;
        if (!v)
            usage();
        else if (sz)
            *sz = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--lr"))
            o->lr = strtod(v, NULL);
        else if (!strcmp(a, "--seed"))
            o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--write-data"))
            o->write_data = v;
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--precision")) {
            o->do_f32 = !strcmp(v, "f32") || !strcmp(v, "both");
            o->do_f64 = !strcmp(v, "f64") || !strcmp(v, "both");
        } else if (!strcmp(a, "--what")) {
            o->do_librbm = !strcmp(v, "librbm") || !strcmp(v, "all");
            o->do_bound = !strcmp(v, "bound") || !strcmp(v, "all");
        } else
            usage();
    }
    if (!o->rows || !o->sites || o->q < 2 || o->q > 255 || !o->nh || !o->batch || !o->repeat ||
        !(o->lr > 0) || !(o->do_f32 || o->do_f64))
        usage();
}

int main(int argc, char **argv)
{
    options o = {.rows = 10000, .sites = 100, .q = 21, .nh = 200, .batch = 100, .repeat = 1,
                 .lr = 0.01, .do_f32 = 1, .do_f64 = 1, .do_librbm = 1, .do_bound = 1,
                 .seed = 1234};
    parse(&o, argc, argv);
    if (o.threads && !set_blas_threads(o.threads))
        fprintf(stderr, "bench_potts: the CBLAS is not OpenBLAS: BLAS threads left as they are\n");
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        die("rbm_context_new failed");
    if (o.threads)
        check(ctx, rbm_context_set_threads(ctx, o.threads), "threads");
    size_t per_epoch = (o.rows + o.batch - 1) / o.batch, asked = o.batches;
    if (!o.batches || o.batches > per_epoch)
        o.batches = per_epoch;
    rbm_dataset *d = NULL;
    if (o.data) {
        d = load_states(ctx, o.data, o.q);
        o.rows = rbm_dataset_rows(d);
        o.sites = rbm_dataset_cols(d);
        per_epoch = (o.rows + o.batch - 1) / o.batch;
        o.batches = asked && asked < per_epoch ? asked : per_epoch;
    } else if (o.do_librbm || o.write_data) {
        double t0 = now_seconds();
        d = planted_alignment(ctx, &o);
        fprintf(stderr, "bench_potts: planted alignment %zu x %zu (q = %zu) in %.1f s\n", o.rows,
                o.sites, o.q, now_seconds() - t0);
    }
    if (o.write_data) {
        check(ctx, rbm_dataset_save_npy(d, o.write_data), o.write_data);
        fprintf(stderr, "bench_potts: wrote %s\n", o.write_data);
    }
    fprintf(stderr, "bench_potts: N = %zu, q = %zu, N_h = %zu, batch %zu, %zu minibatches, lr %g\n",
            o.sites, o.q, o.nh, o.batch, o.batches, o.lr);
    for (int p = 0; p < 2; p++) {
        int f32 = p == 0;
        if (f32 ? !o.do_f32 : !o.do_f64)
            continue;
        if (o.do_librbm)
            run_librbm(&o, ctx, d, f32);
        if (o.do_bound)
            run_bound(&o, f32);
    }
    rbm_dataset_free(d);
    rbm_context_free(ctx);
    return 0;
}
