/* librbm benchmark: exact log Z by enumeration of the smaller layer.
 *
 *   bench_exact [--visible N] [--hidden LIST] [--threads LIST] [--seed S]
 *
 * For each N_h in LIST (default 16,20; 24 on request) and each thread count
 * (default 1,2), times rbm_exact_log_z on a Bernoulli-Bernoulli machine of
 * N_v visible units (default 784, Fashion-MNIST's size) with W ~ N(0, 0.05^2)
 * and biases N(0, 0.5^2), in wall-clock and process CPU time, and prints the
 * cost per state and per state-element (2^N_h states x N_v fields), the
 * speed-up of the thread counts against the first one measured in the same
 * run, and whether 2^20 states on 2 threads take <= 1 s and 2^24 <= 16 s
 * (docs/performance.md, "Exact log Z"). One JSON object per measurement on
 * stdout, the table on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <rbm/rbm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void now(double *wall, double *cpu)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    *wall = (double)a.tv_sec + 1e-9 * (double)a.tv_nsec;
    *cpu = (double)b.tv_sec + 1e-9 * (double)b.tv_nsec;
}

static size_t parse_list(const char *s, size_t *out, size_t cap)
{
    size_t n = 0;
    char *end;
    while (*s && n < cap) {
        unsigned long v = strtoul(s, &end, 10);
        if (end == s)
            break;
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static int die(rbm_context *ctx, const char *what)
{
    fprintf(stderr, "bench_exact: %s: %s\n", what, rbm_context_last_error(ctx));
    return 1;
}

int main(int argc, char **argv)
{
    size_t nv = 784, hidden[8] = {16, 20}, threads[8] = {1, 2}, nh_n = 2, th_n = 2;
    unsigned long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--visible") && i + 1 < argc)
            nv = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--hidden") && i + 1 < argc)
            nh_n = parse_list(argv[++i], hidden, 8);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            th_n = parse_list(argv[++i], threads, 8);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_exact [--visible N] [--hidden 16,20,24] "
                            "[--threads 1,2] [--seed S]\n");
            return 2;
        }
    }
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;
    fprintf(stderr, "%6s %4s %8s %10s %10s %12s %14s %8s\n", "N_v", "N_h", "threads", "wall s",
            "cpu s", "us/state", "ns/state-elem", "speedup");
    for (size_t a = 0; a < nh_n; a++) {
        rbm_machine *m = NULL;
        if (rbm_machine_new(ctx, nv, hidden[a], RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m) ||
            rbm_machine_init_normal(m, 0.05, seed))
            return die(ctx, "machine");
        double *bias = malloc(nv * sizeof *bias);
        rbm_rng *rng = NULL;
        if (!bias || rbm_rng_new(ctx, seed + 1, &rng) != RBM_OK)
            return 1;
        for (size_t i = 0; i < nv; i++)
            bias[i] = 0.5 * rbm_rng_normal(rng);
        if (rbm_machine_set_visible_bias(m, bias, nv))
            return die(ctx, "bias");
        double first_wall = 0;
        for (size_t b = 0; b < th_n; b++) {
            if (rbm_context_set_threads(ctx, threads[b]))
                return die(ctx, "threads");
            double w0, c0, w1, c1, lz;
            now(&w0, &c0);
            if (rbm_exact_log_z(m, &lz) != RBM_OK)
                return die(ctx, "exact log Z");
            now(&w1, &c1);
            double states = (double)(1ULL << hidden[a]), wall = w1 - w0, cpu = c1 - c0;
            if (b == 0)
                first_wall = wall;
            fprintf(stderr, "%6zu %4zu %8zu %10.3f %10.3f %12.3f %14.3f %8.2f\n", nv, hidden[a],
                    threads[b], wall, cpu, 1e6 * cpu / states, 1e9 * cpu / (states * (double)nv),
                    first_wall / wall);
            printf("{\"n_visible\": %zu, \"n_hidden\": %zu, \"threads\": %zu, \"wall_s\": %.4f, "
                   "\"cpu_s\": %.4f, \"log_z\": %.12f}\n",
                   nv, hidden[a], threads[b], wall, cpu, lz);
            if (threads[b] == 2 && hidden[a] == 20)
                fprintf(stderr, "  2^20 states, 2 threads: %.3f s (target <= 1 s): %s\n", wall,
                        wall <= 1.0 ? "met" : "NOT met");
            if (threads[b] == 2 && hidden[a] == 24)
                fprintf(stderr, "  2^24 states, 2 threads: %.3f s (target <= 16 s): %s\n", wall,
                        wall <= 16.0 ? "met" : "NOT met");
        }
        free(bias);
        rbm_rng_free(rng);
        rbm_machine_free(m);
    }
    rbm_context_free(ctx);
    return 0;
}
