/* bench_util.h — the helpers the C benchmarks share: clocks, a fatal
 * error, allocation, best/median summaries and their JSON fields, and
 * OpenBLAS's thread count. Define BENCH_NAME (the program name used in
 * messages) before including it; it needs <dlfcn.h> with _GNU_SOURCE
 * (RTLD_DEFAULT), <stdio.h>, <stdlib.h>, <string.h>, <time.h> and, unless
 * BENCH_GEMM_ONLY is defined, <rbm/rbm.h>. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, BENCH_NAME ": %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Summary of repeated timings: best and median. */
static void summarise(const double *t, size_t n, double *best, double *median)
{
    double *s = xmalloc(n * sizeof *s);
    memcpy(s, t, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    *best = s[0];
    *median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
}

/* Wall times t and process CPU times c (user + system, all threads) of n runs. */
static void print_times_json(const double *t, size_t n, const double *c)
{
    double best, median, cbest, cmedian;
    summarise(t, n, &best, &median);
    summarise(c, n, &cbest, &cmedian);
    printf("\"seconds\": %.6f, \"seconds_median\": %.6f, \"seconds_all\": [", best, median);
    for (size_t i = 0; i < n; i++)
        printf("%s%.6f", i ? ", " : "", t[i]);
    printf("], \"cpu_seconds\": %.6f, \"cpu_seconds_median\": %.6f", cbest, cmedian);
}

/* OpenBLAS's thread count, where the CBLAS is OpenBLAS; returns whether it
 * could be set. */
static int set_blas_threads(size_t n)
{
    void (*set)(int) = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    memcpy(&set, &sym, sizeof set);
    if (!set)
        return 0;
    set((int)n);
    return 1;
}

#ifndef BENCH_GEMM_ONLY
static void check(rbm_context *ctx, rbm_status st, const char *what)
{
    if (st != RBM_OK && st != RBM_DONE) {
        fprintf(stderr, BENCH_NAME ": %s: %s (%s)\n", what, rbm_status_name(st),
                rbm_context_last_error(ctx));
        exit(1);
    }
}

/* The trainer of both benchmarks: batch B, PCD-1, plain SGD at lr, no
 * monitoring (no reconstruction error on the clock). */
static rbm_trainer *pcd1_trainer(rbm_context *ctx, rbm_machine *m, const rbm_dataset *d,
                                 size_t batch, uint64_t seed, double lr)
{
    rbm_trainer *tr = NULL;
    check(ctx, rbm_trainer_new(m, d, batch, seed, &tr), "trainer_new");
    check(ctx, rbm_trainer_set_estimator(tr, RBM_ESTIMATOR_PCD, 1), "set_estimator");
    check(ctx, rbm_trainer_set_optimizer(tr, RBM_OPTIMIZER_SGD), "set_optimizer");
    check(ctx, rbm_trainer_set_real(tr, RBM_TRAINER_LEARNING_RATE, lr), "set_real");
    check(ctx, rbm_trainer_set_int(tr, RBM_TRAINER_MONITOR_EVERY, 0), "set_monitor_every");
    return tr;
}

/* Up to `batches` rbm_trainer_step() calls, timed (wall into *wall, process
 * CPU into *cpu); returns the last status (RBM_DONE at the epoch's end) and
 * the steps made in *steps. */
static rbm_status timed_steps(rbm_trainer *tr, size_t batches, size_t *steps, double *wall,
                              double *cpu)
{
    rbm_status st = RBM_OK;
    size_t n = 0;
    double t0 = now_seconds(), c0 = cpu_seconds();
    while (st == RBM_OK && n < batches) {
        st = rbm_trainer_step(tr);
        n++;
    }
    *wall = now_seconds() - t0;
    *cpu = cpu_seconds() - c0;
    *steps = n;
    return st;
}
#endif

#endif
