/* librbm benchmark: the cost of a parallel-tempering sweep.
 *
 *   bench_tempering [--visible N] [--hidden N] [--replicas R] [--chains n]
 *                   [--sweeps S] [--seed S]
 *
 * For a random Bernoulli machine (W ~ N(0, 0.05^2), default 784 x 100),
 * times S sweeps of (a) plain Gibbs chains, R * n of them in one sampler
 * (the cost of R Gibbs sweeps of n chains), and (b) a temperature ladder of
 * R replicas of n chains (tempering.h): R Gibbs sweeps plus the swaps, whose
 * free energies reuse the sweep's fields (one extra product for the beta = 0
 * replica only). Reports replica x chain x sweeps per second for both and
 * their ratio: the overhead of the exchanges.
 *
 * Output: a summary on stderr and one JSON object on stdout. */
#define _POSIX_C_SOURCE 200809L
#include <rbm/rbm.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    return (double)a.tv_sec + 1e-9 * (double)a.tv_nsec;
}

static void check(rbm_context *ctx, rbm_status st, const char *what)
{
    if (st != RBM_OK) {
        fprintf(stderr, "bench_tempering: %s: %s (%s)\n", what, rbm_status_name(st),
                rbm_context_last_error(ctx));
        exit(1);
    }
}

static size_t arg_size(int argc, char **argv, const char *name, size_t def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return (size_t)strtoull(argv[i + 1], NULL, 10);
    return def;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs("usage: bench_tempering [--visible N] [--hidden N] [--replicas R] "
                  "[--chains n] [--sweeps S] [--seed S]\n",
                  stdout);
            return 0;
        }
    size_t nv = arg_size(argc, argv, "--visible", 784), nh = arg_size(argc, argv, "--hidden", 100);
    size_t R = arg_size(argc, argv, "--replicas", 16), n = arg_size(argc, argv, "--chains", 100);
    size_t S = arg_size(argc, argv, "--sweeps", 200);
    uint64_t seed = arg_size(argc, argv, "--seed", 1);
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;
    rbm_machine *m = NULL;
    check(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m), "machine");
    check(ctx, rbm_machine_init_normal(m, 0.05, seed), "init");

    rbm_sampler *s = NULL;
    check(ctx, rbm_sampler_new(m, R * n, seed, &s), "sampler");
    check(ctx, rbm_sampler_run(s, 2), "warm-up");
    double t0 = now();
    check(ctx, rbm_sampler_run(s, S), "gibbs");
    double gibbs = now() - t0;
    rbm_sampler_free(s);

    rbm_tempering *t = NULL;
    check(ctx, rbm_tempering_new(m, R, NULL, n, seed, &t), "tempering");
    check(ctx, rbm_tempering_run(t, 2), "warm-up");
    t0 = now();
    check(ctx, rbm_tempering_run(t, S), "pt");
    double pt = now() - t0;
    double acc[1024];
    uint64_t trips = 0;
    check(ctx, rbm_tempering_swap_stats(t, acc, R - 1, &trips, NULL), "stats");
    rbm_tempering_free(t);

    double work = (double)R * (double)n * (double)S;
    fprintf(stderr,
            "bench_tempering: %zu x %zu, %zu replicas x %zu chains, %zu sweeps: Gibbs %.3f s "
            "(%.3g replica-chain-sweeps/s), PT %.3f s (%.3g /s), PT/Gibbs time %.3f\n",
            nv, nh, R, n, S, gibbs, work / gibbs, pt, work / pt, pt / gibbs);
    printf("{\"benchmark\": \"tempering\", \"n_visible\": %zu, \"n_hidden\": %zu, "
           "\"replicas\": %zu, \"chains\": %zu, \"sweeps\": %zu, \"gibbs_seconds\": %.6f, "
           "\"pt_seconds\": %.6f, \"gibbs_rate\": %.6g, \"pt_rate\": %.6g, "
           "\"pt_over_gibbs\": %.6f, \"round_trips\": %llu}\n",
           nv, nh, R, n, S, gibbs, pt, work / gibbs, work / pt, pt / gibbs,
           (unsigned long long)trips);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    return 0;
}
