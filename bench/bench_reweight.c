/* bench_reweight: sequence reweighting (rbm_dataset_sequence_weights) on a
 * synthetic protein-like alignment, against the naive O(n^2 L) byte loop
 * run side by side on a subset, then at the full size.
 *
 *   bench_reweight [n [L [threads]]]    defaults 100000 300 0 (automatic)
 *
 * The alignment: 200 ancestors over 21 states, each sequence a copy of one
 * with every site redrawn with probability U(0, 0.6), so that pairs of the
 * same family are often above theta = 0.8 and the rest far below. */
#include <rbm/rbm.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t st = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    st += 0x9E3779B97F4A7C15ull;
    uint64_t z = st;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double unif(void)
{
    return (double)(next() >> 11) * 0x1p-53;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void naive(const uint8_t *v, size_t n, size_t L, double theta, double *w)
{
    for (size_t s = 0; s < n; s++) {
        size_t c = 0;
        for (size_t t = 0; t < n; t++) {
            size_t m = 0;
            for (size_t k = 0; k < L; k++)
                m += v[s * L + k] == v[t * L + k];
            c += (double)m / (double)L >= theta;
        }
        w[s] = 1.0 / (double)c;
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    size_t L = argc > 2 ? strtoul(argv[2], NULL, 10) : 300;
    size_t threads = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
    size_t sub = n < 4000 ? n : 4000;
    uint8_t *v = malloc(n * L), *anc = malloc(200 * L);
    double *w = malloc(n * sizeof(double)), *ref = malloc(sub * sizeof(double));
    if (!v || !anc || !w || !ref)
        return 1;
    for (size_t k = 0; k < 200 * L; k++)
        anc[k] = (uint8_t)(next() % 21);
    for (size_t s = 0; s < n; s++) {
        size_t a = next() % 200;
        double mu = 0.6 * unif();
        for (size_t k = 0; k < L; k++)
            v[s * L + k] = unif() < mu ? (uint8_t)(next() % 21) : anc[a * L + k];
    }
    rbm_context *ctx = NULL;
    rbm_dataset *all = NULL, *part = NULL;
    if (rbm_context_new(&ctx) || rbm_context_set_threads(ctx, threads) ||
        rbm_dataset_from_memory(ctx, v, RBM_DTYPE_UINT8, n, L, RBM_BORROW, &all) ||
        rbm_dataset_from_memory(ctx, v, RBM_DTYPE_UINT8, sub, L, RBM_BORROW, &part)) {
        fprintf(stderr, "bench_reweight: %s\n", ctx ? rbm_context_last_error(ctx) : "no context");
        return 1;
    }
    double t0 = now();
    naive(v, sub, L, 0.8, ref);
    double t_naive = now() - t0;
    t0 = now();
    rbm_dataset_sequence_weights(part, 0.8, w, sub);
    double t_lib = now() - t0;
    for (size_t s = 0; s < sub; s++)
        if (w[s] != ref[s]) {
            fprintf(stderr, "bench_reweight: w[%zu] differs from the naive count\n", s);
            return 1;
        }
    printf("subset %zu x %zu: naive %.3f s, librbm %.4f s, ratio %.1fx (threads %zu)\n", sub, L,
           t_naive, t_lib, t_naive / t_lib, rbm_context_threads(ctx));
    t0 = now();
    if (rbm_dataset_sequence_weights(all, 0.8, w, n)) {
        fprintf(stderr, "bench_reweight: %s\n", rbm_context_last_error(ctx));
        return 1;
    }
    double t_all = now() - t0, meff = 0;
    for (size_t s = 0; s < n; s++)
        meff += w[s];
    printf("full %zu x %zu: librbm %.2f s (M_eff %.1f); the naive loop would take about %.0f s\n",
           n, L, t_all, meff, t_naive * ((double)n / (double)sub) * ((double)n / (double)sub));
    rbm_dataset_free(part);
    rbm_dataset_free(all);
    rbm_context_free(ctx);
    free(v);
    free(anc);
    free(w);
    free(ref);
    return 0;
}
