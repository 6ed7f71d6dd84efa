/* librbm benchmark: one epoch of PCD-1 on binarised Fashion-MNIST, timed
 * against the bound given by the CBLAS GEMMs of the same epoch alone.
 *
 *   bench_train [--data PATH] [--hidden N] [--batch B] [--lr X] [--repeat R]
 *               [--batches N] [--precision f32|f64|both] [--what all|librbm|gemm]
 *               [--seed S] [--recon-rows N] [--threads N]
 *
 * --threads N (default 0: leave both as they are) sets librbm's context
 * threads (rbm_context_set_threads) and OpenBLAS's thread count
 * (openblas_set_num_threads, looked up at run time so that another CBLAS
 * still links) to N.
 *
 * librbm part (public API only): load the IDX file, binarise at 127 into
 * {0,1}, machine Bernoulli-Bernoulli N_v x N_h, init_normal(0.01),
 * rbm_machine_set_precision, trainer (batch B, PCD k=1, SGD, learning rate
 * lr, monitor_every 0). Only the loop of rbm_trainer_step() calls of one
 * epoch is timed (machine and trainer are rebuilt for every repeat, outside
 * the clock). The mean-field reconstruction error mean (v - E[v|E[h|v]])^2
 * over the first --recon-rows rows (default 10000; 0 = all) is computed in
 * double from the parameters (read back, dgemm) before and after the epoch;
 * the program fails if it did not decrease, so that a broken trainer cannot
 * look fast.
 *
 * GEMM bound: the five products of one PCD-1 step, for every minibatch of
 * the epoch (rows / B of them), with W stored row-major N_v x N_h as librbm
 * stores it:
 *   1. H  = V  W        (B x N_v)(N_v x N_h)   positive hidden field
 *   2. V' = H  W^T      (B x N_h)(N_h x N_v)   visible field of the chains
 *   3. H' = V' W        (B x N_v)(N_v x N_h)   negative hidden field
 *   4. G  = V^T H       (N_v x B)(B x N_h)     positive statistics
 *   5. G -= V'^T H'     (N_v x B)(B x N_h)     negative statistics
 * in sgemm and dgemm, nothing else (no sampling, no update).
 *
 * Output: human-readable lines on stderr, one JSON object per measurement
 * on stdout (read by bench/run.py).
 *
 * Build without librbm (GEMM bound only):
 *   cc -O2 -DBENCH_GEMM_ONLY bench/bench_train.c -lopenblas -o bench_gemm
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_GEMM_ONLY
#include <rbm/rbm.h>
#endif

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define BENCH_NAME "bench_train"
#include "bench_util.h"

typedef struct options {
    const char *data;
    size_t nv, nh, batch, rows, repeat, batches, recon_rows, threads;
    double lr, threshold;
    int do_f32, do_f64, do_librbm, do_gemm;
    uint64_t seed;
} options;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) * 0x1.0p-53;
}

/* ---------------------------------------------------------------- GEMM bound */

/* Buffers of one precision for the five products. Random {0,1} data for V
 * and H (density 0.31, as binarised Fashion-MNIST), W ~ N(0, 0.01^2)
 * surrogate (uniform of the same scale; values do not change GEMM time). */
#define GEMM_BOUND(NAME, REAL, GEMM)                                                           \
    static double NAME(const options *o, size_t nbatches, double *cpu)                       \
    {                                                                                          \
        const int B = (int)o->batch, nv = (int)o->nv, nh = (int)o->nh;                         \
        REAL *V = xmalloc(o->batch * o->nv * sizeof(REAL));                                    \
        REAL *Vn = xmalloc(o->batch * o->nv * sizeof(REAL));                                   \
        REAL *H = xmalloc(o->batch * o->nh * sizeof(REAL));                                    \
        REAL *Hn = xmalloc(o->batch * o->nh * sizeof(REAL));                                   \
        REAL *W = xmalloc(o->nv * o->nh * sizeof(REAL));                                       \
        REAL *G = xmalloc(o->nv * o->nh * sizeof(REAL));                                       \
        uint64_t s = o->seed;                                                                  \
        for (size_t i = 0; i < o->batch * o->nv; i++)                                          \
            V[i] = uniform01(&s) < 0.31 ? (REAL)1 : (REAL)0;                                   \
        for (size_t i = 0; i < o->nv * o->nh; i++)                                             \
            W[i] = (REAL)(0.0173 * (2 * uniform01(&s) - 1));                                   \
        const REAL one = 1, zero = 0, mone = -1;                                               \
        double t0 = now_seconds(), c0 = cpu_seconds();                                         \
        for (size_t it = 0; it < nbatches; it++) {                                             \
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, nh, nv, one, V, nv, W, nh, zero, \
                 H, nh);                                                                       \
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, nv, nh, one, H, nh, W, nh, zero,  \
                 Vn, nv);                                                                      \
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, nh, nv, one, Vn, nv, W, nh,     \
                 zero, Hn, nh);                                                                \
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, nv, nh, B, one, V, nv, H, nh, zero,  \
                 G, nh);                                                                       \
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, nv, nh, B, mone, Vn, nv, Hn, nh,     \
                 one, G, nh);                                                                  \
        }                                                                                      \
        double t = now_seconds() - t0;                                                         \
        *cpu = cpu_seconds() - c0;                                                             \
        volatile REAL sink = G[0] + G[o->nv * o->nh - 1];                                      \
        (void)sink;                                                                            \
        free(V);                                                                               \
        free(Vn);                                                                              \
        free(H);                                                                               \
        free(Hn);                                                                              \
        free(W);                                                                               \
        free(G);                                                                               \
        return t;                                                                              \
    }

GEMM_BOUND(gemm_bound_f32, float, cblas_sgemm)
GEMM_BOUND(gemm_bound_f64, double, cblas_dgemm)

static void run_gemm(const options *o, int f32)
{
    size_t nb = o->batches;
    double *t = xmalloc(o->repeat * sizeof *t), *c = xmalloc(o->repeat * sizeof *c), c_;
    /* warm-up: start the BLAS thread pool, touch the code paths */
    (void)(f32 ? gemm_bound_f32(o, 10, &c_) : gemm_bound_f64(o, 10, &c_));
    for (size_t r = 0; r < o->repeat; r++) {
        t[r] = f32 ? gemm_bound_f32(o, nb, &c[r]) : gemm_bound_f64(o, nb, &c[r]);
        fprintf(stderr, "  gemm bound %s: %zu minibatches x 5 GEMMs: %.3f s\n",
                f32 ? "float32" : "float64", nb, t[r]);
    }
    double flops = 5.0 * 2.0 * (double)o->batch * (double)o->nv * (double)o->nh * (double)nb;
    double best, median;
    summarise(t, o->repeat, &best, &median);
    printf("{\"name\": \"gemm\", \"precision\": \"%s\", \"batches\": %zu, ",
           f32 ? "float32" : "float64", nb);
    print_times_json(t, o->repeat, c);
    printf(", \"gflops\": %.2f}\n", flops / best * 1e-9);
    fflush(stdout);
    free(t);
    free(c);
}

/* ---------------------------------------------------------------- librbm */

#ifndef BENCH_GEMM_ONLY
static double sigmoid(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

/* Mean-field reconstruction error mean (v - s(s(v W + b) W^T + a))^2 over
 * the first `rows` rows, in double. Computed here from the parameters read
 * back through the API, with dgemm, independently of librbm's kernels. */
static double recon_error(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *ds,
                          size_t rows)
{
    const size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m), chunk = 1000;
    double *W = xmalloc(nv * nh * sizeof *W), *a = xmalloc(nv * sizeof *a),
           *b = xmalloc(nh * sizeof *b);
    double *v = xmalloc(chunk * nv * sizeof *v), *h = xmalloc(chunk * nh * sizeof *h),
           *r = xmalloc(chunk * nv * sizeof *r);
    check(ctx, rbm_machine_get_weights(m, W, nv * nh), "get_weights");
    check(ctx, rbm_machine_get_visible_bias(m, a, nv), "get_visible_bias");
    check(ctx, rbm_machine_get_hidden_bias(m, b, nh), "get_hidden_bias");
    double acc = 0;
    for (size_t s = 0; s < rows; s += chunk) {
        size_t n = rows - s < chunk ? rows - s : chunk;
        check(ctx, rbm_dataset_get_rows(ds, s, n, v, n * nv), "dataset_get_rows");
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)nh, (int)nv, 1.0, v,
                    (int)nv, W, (int)nh, 0.0, h, (int)nh);
        for (size_t i = 0; i < n * nh; i++)
            h[i] = sigmoid(h[i] + b[i % nh]);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nv, (int)nh, 1.0, h,
                    (int)nh, W, (int)nh, 0.0, r, (int)nv);
        for (size_t i = 0; i < n * nv; i++) {
            double d = v[i] - sigmoid(r[i] + a[i % nv]);
            acc += d * d;
        }
    }
    free(W);
    free(a);
    free(b);
    free(v);
    free(h);
    free(r);
    return acc / ((double)rows * (double)nv);
}

static void run_librbm(const options *o, rbm_context *ctx, const rbm_dataset *data, int f32)
{
    const char *pname = f32 ? "float32" : "float64";
    double *t = xmalloc(o->repeat * sizeof *t), *c = xmalloc(o->repeat * sizeof *c);
    double err = NAN, err0 = NAN;
    size_t steps = 0;
    for (size_t r = 0; r < o->repeat; r++) {
        rbm_machine *m = NULL;
        rbm_trainer *tr = NULL;
        check(ctx,
              rbm_machine_new(ctx, o->nv, o->nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m),
              "machine_new");
        check(ctx, rbm_machine_init_normal(m, 0.01, o->seed), "init_normal");
        check(ctx,
              rbm_machine_set_precision(m, f32 ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64),
              "set_precision");
        tr = pcd1_trainer(ctx, m, data, o->batch, o->seed, o->lr);
        if (r == 0)
            err0 = recon_error(ctx, m, data, o->recon_rows);
        rbm_status st = timed_steps(tr, o->batches, &steps, &t[r], &c[r]);
        check(ctx, st, "trainer_step");
        if (o->batches >= rbm_trainer_batches_per_epoch(tr) && st != RBM_DONE)
            die("the epoch did not end where expected");
        fprintf(stderr, "  librbm %s: %zu steps: %.3f s\n", pname, steps, t[r]);
        if (r + 1 == o->repeat)
            err = recon_error(ctx, m, data, o->recon_rows);
        rbm_trainer_free(tr);
        rbm_machine_free(m);
    }
    fprintf(stderr, "  librbm %s: reconstruction error %.5f (at init %.5f)\n", pname, err,
            err0);
    printf("{\"name\": \"librbm\", \"precision\": \"%s\", \"batches\": %zu, ", pname, steps);
    print_times_json(t, o->repeat, c);
    printf(", \"recon_error\": %.6f, \"recon_error_init\": %.6f, \"recon_rows\": %zu}\n", err,
           err0, o->recon_rows);
    fflush(stdout);
    if (!(err < err0))
        die("reconstruction error did not decrease: the trainer is broken");
    free(t);
    free(c);
}
#endif

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_train [--data PATH] [--hidden N] [--batch B] [--lr X] [--repeat R]\n"
            "                   [--batches N] [--precision f32|f64|both] "
            "[--what all|librbm|gemm]\n                   [--seed S] [--recon-rows N] "
            "[--threads N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    options o = {.data = DEFAULT_DATA,
                 .nv = 784,
                 .nh = 500,
                 .batch = 100,
                 .rows = 60000,
                 .repeat = 1,
                 .batches = 0,
                 .recon_rows = 10000,
                 .lr = 0.01,
                 .threshold = 127,
                 .do_f32 = 1,
                 .do_f64 = 1,
                 .do_librbm = 1,
                 .do_gemm = 1,
                 .seed = 1234};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--data"))
            o.data = v;
        else if (!strcmp(a, "--hidden"))
            o.nh = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--batch"))
            o.batch = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--lr"))
            o.lr = strtod(v, NULL);
        else if (!strcmp(a, "--repeat"))
            o.repeat = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--batches"))
            o.batches = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--recon-rows"))
            o.recon_rows = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--threads"))
            o.threads = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--precision")) {
            o.do_f32 = !strcmp(v, "f32") || !strcmp(v, "both");
            o.do_f64 = !strcmp(v, "f64") || !strcmp(v, "both");
        } else if (!strcmp(a, "--what")) {
            o.do_librbm = !strcmp(v, "librbm") || !strcmp(v, "all");
            o.do_gemm = !strcmp(v, "gemm") || !strcmp(v, "all");
        } else
            usage();
        i++;
    }
    if (!o.nh || !o.batch || !o.repeat || !(o.lr > 0) || !(o.do_f32 || o.do_f64) ||
        !(o.do_librbm || o.do_gemm))
        usage();

    if (o.threads && !set_blas_threads(o.threads))
        fprintf(stderr, "bench_train: the CBLAS is not OpenBLAS: BLAS threads left as they are\n");
#ifdef BENCH_GEMM_ONLY
    if (o.do_librbm && !o.do_gemm)
        die("built with BENCH_GEMM_ONLY: no librbm part");
    o.do_librbm = 0;
#else
    rbm_context *ctx = NULL;
    rbm_dataset *raw = NULL, *data = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        die("rbm_context_new failed");
    if (o.threads)
        check(ctx, rbm_context_set_threads(ctx, o.threads), "context_set_threads");
    check(ctx, rbm_dataset_load_idx(ctx, o.data, &raw), o.data);
    check(ctx, rbm_dataset_transform(raw, RBM_TRANSFORM_BINARIZE, o.threshold, &data),
          "dataset_transform");
    rbm_dataset_free(raw);
    o.rows = rbm_dataset_rows(data);
    o.nv = rbm_dataset_cols(data);
    if (!o.recon_rows || o.recon_rows > o.rows)
        o.recon_rows = o.rows;
#endif
    size_t per_epoch = (o.rows + o.batch - 1) / o.batch;
    if (!o.batches || o.batches > per_epoch)
        o.batches = per_epoch;
    fprintf(stderr,
            "bench_train: %zu x %zu, N_h = %zu, batch %zu, %zu minibatches, lr %g, "
            "%zu repeat(s), %zu thread(s) (0: defaults)\n",
            o.rows, o.nv, o.nh, o.batch, o.batches, o.lr, o.repeat, o.threads);

    for (int p = 0; p < 2; p++) {
        int f32 = p == 0;
        if (f32 ? !o.do_f32 : !o.do_f64)
            continue;
#ifndef BENCH_GEMM_ONLY
        if (o.do_librbm)
            run_librbm(&o, ctx, data, f32);
#endif
        if (o.do_gemm)
            run_gemm(&o, f32);
    }

#ifndef BENCH_GEMM_ONLY
    rbm_dataset_free(data);
    rbm_context_free(ctx);
#endif
    return 0;
}
