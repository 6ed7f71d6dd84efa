/* librbm example: sampling a two-mode machine with plain Gibbs, parallel
 * tempering (PT) and tempering along the training trajectory (PTT).
 *
 *   tempering_modes [OUTDIR] [SWEEPS]
 *
 * Trains a 20 x 4 Bernoulli machine with the exact gradient on data made of
 * two complementary prototypes with 5% noise, keeping copies of the machine
 * at steps 0, 1, 2, 4, ... (the trajectory). The trained machine puts half
 * its mass near each prototype with a wide barrier between them. Then, from
 * the same random start, 20 chains of each sampler run SWEEPS sweeps
 * (default 10000): Gibbs, PT on a temperature ladder tuned to swap
 * acceptance 0.3, and PTT on the trajectory's models kept by the automatic
 * selection. For each it prints the number of mode switches per 10^4 sweeps
 * per chain (the mode of a chain is the prototype its state is closer to)
 * and a chi-square of 2000 final states against the exact law of their
 * Hamming distance to prototype 0 (0..20), obtained by enumerating the 2^20
 * visible states: exp(-F(v)) / Z with the exact log Z.
 *
 * Writes OUTDIR/tempering_modes.csv (sweep, mode overlap of chain 0 under
 * each sampler) and, when gnuplot runs, tempering_modes.png. */
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NV = 20, NH = 4, N_MODELS = 14, CHAINS = 20, BIG = 2000 };

/* Prototype 0: alternating bits; prototype 1 its complement. */
static int proto_bit(size_t j, int p)
{
    return (int)(j % 2 == 0) ^ p;
}

static rbm_dataset *two_mode_data(rbm_context *ctx, size_t rows)
{
    double *X = calloc(rows * NV, sizeof(double));
    rbm_rng *r = NULL;
    rbm_dataset *d = NULL;
    if (!X || rbm_rng_new(ctx, 5, &r) != RBM_OK)
        goto done;
    for (size_t i = 0; i < rows; i++) {
        int p = rbm_rng_uniform(r) < 0.5;
        for (size_t j = 0; j < NV; j++)
            X[i * NV + j] = proto_bit(j, p) ^ (rbm_rng_uniform(r) < 0.05);
    }
    rbm_dataset_from_memory(ctx, X, RBM_DTYPE_FLOAT64, rows, NV, RBM_COPY, &d);
done:
    rbm_rng_free(r);
    free(X);
    return d;
}

/* Hamming distance of v to prototype 0. */
static size_t distance0(const double *v)
{
    size_t d = 0;
    for (size_t j = 0; j < NV; j++)
        d += (v[j] > 0.5) != proto_bit(j, 0);
    return d;
}

/* Exact law of the distance to prototype 0: p(d) = sum over states at
 * distance d of exp(-F(v)) / Z, by enumeration of the 2^20 states in
 * chunks. */
static int exact_distance_law(rbm_context *ctx, const rbm_machine *m, double *p)
{
    enum { CHUNK = 4096 };
    double log_z, *V = malloc(CHUNK * NV * sizeof(double)), F[CHUNK];
    int rc = -1;
    if (!V)
        return -1;
    CHECK(rbm_exact_log_z(m, &log_z));
    for (size_t d = 0; d <= NV; d++)
        p[d] = 0;
    for (uint64_t s0 = 0; s0 < (1u << NV); s0 += CHUNK) {
        for (size_t k = 0; k < CHUNK; k++)
            for (size_t j = 0; j < NV; j++)
                V[k * NV + j] = (double)(((s0 + k) >> j) & 1);
        CHECK(rbm_machine_free_energy(m, CHUNK, V, CHUNK * NV, F, CHUNK));
        for (size_t k = 0; k < CHUNK; k++)
            p[distance0(V + k * NV)] += exp(-F[k] - log_z);
    }
    rc = 0;
done:
    free(V);
    return rc;
}

/* Pearson chi-square of the distances of n states against the law p,
 * pooling classes with expected count < 5; *df the degrees of freedom. */
static double chi2(const double *V, size_t n, const double *p, double *df)
{
    double count[NV + 1] = {0}, stat = 0, pe = 0, po = 0;
    size_t bins = 0;
    for (size_t c = 0; c < n; c++)
        count[distance0(V + c * NV)]++;
    for (size_t d = 0; d <= NV; d++) {
        double e = p[d] * (double)n;
        if (e < 5) {
            pe += e, po += count[d];
            continue;
        }
        stat += (count[d] - e) * (count[d] - e) / e;
        bins++;
    }
    if (pe > 0) {
        stat += (po - pe) * (po - pe) / fmax(pe, 1e-300);
        bins++;
    }
    *df = (double)bins - 1;
    return stat;
}

typedef struct sampler {
    const char *name;
    rbm_sampler *gibbs;
    rbm_tempering *pt;
} sampler;

static rbm_status run1(sampler *s)
{
    return s->gibbs ? rbm_sampler_run(s->gibbs, 1) : rbm_tempering_run(s->pt, 1);
}

static rbm_status states(const sampler *s, size_t n, double *V)
{
    return s->gibbs ? rbm_sampler_get_visible(s->gibbs, V, n * NV)
                    : rbm_tempering_get_visible(s->pt, rbm_tempering_replica_count(s->pt) - 1, V,
                                                n * NV);
}

/* Mode switches per 1e4 sweeps per chain, and the overlap trace of chain 0
 * (1 - 2 d/NV: +1 at prototype 0, -1 at prototype 1) into trace. */
static int count_switches(rbm_context *ctx, sampler *s, size_t sweeps, double *trace,
                          double *rate)
{
    double V[CHAINS * NV];
    int mode[CHAINS] = {0};
    size_t switches = 0;
    int rc = -1;
    for (size_t t = 0; t < sweeps; t++) {
        CHECK(run1(s));
        CHECK(states(s, CHAINS, V));
        for (size_t c = 0; c < CHAINS; c++) {
            size_t d = distance0(V + c * NV);
            int md = d < NV / 2 ? 1 : d > NV / 2 ? -1 : 0;
            if (md && mode[c] && md != mode[c])
                switches++;
            if (md)
                mode[c] = md;
        }
        trace[t] = 1.0 - 2.0 * (double)distance0(V) / NV;
    }
    *rate = (double)switches / (double)CHAINS * 1e4 / (double)sweeps;
    rc = 0;
done:
    return rc;
}

static void plot_body(FILE *f, int attempt, const void *user)
{
    (void)attempt;
    (void)user;
    fprintf(f, "set multiplot layout 3,1\n"
               "set yrange [-1.1:1.1]\nset ylabel 'overlap'\nunset key\n");
    const char *titles[3] = {"Gibbs", "PT (tuned temperature ladder)", "PTT (trajectory)"};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "set title '%s: chain 0'\n", titles[k]);
        if (k == 2)
            fprintf(f, "set xlabel 'sweep'\n");
        fprintf(f, "plot 'tempering_modes.csv' every ::1 using 1:%d with lines lw 1\n", k + 2);
    }
    fprintf(f, "unset multiplot\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    size_t sweeps = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 10000;
    rbm_context *ctx = NULL;
    rbm_dataset *d = NULL;
    rbm_machine *m = NULL, *models[N_MODELS] = {0};
    rbm_trainer *tr = NULL;
    sampler S[3] = {{"Gibbs", NULL, NULL}, {"PT", NULL, NULL}, {"PTT", NULL, NULL}};
    double *trace = NULL, *V = NULL, law[NV + 1];
    int rc = 1;
    if (rbm_context_new(&ctx) != RBM_OK || sweeps == 0)
        return 1;
    trace = calloc(3 * sweeps, sizeof(double));
    V = calloc(BIG * NV, sizeof(double));
    if (!trace || !V || !(d = two_mode_data(ctx, 400)))
        goto done;
    CHECK(rbm_machine_new(ctx, NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    CHECK(rbm_machine_init_normal(m, 0.01, 3));
    CHECK(rbm_trainer_new(m, d, 400, 4, &tr));
    CHECK(rbm_trainer_set_estimator(tr, RBM_ESTIMATOR_EXACT, 1));
    CHECK(rbm_trainer_set_real(tr, RBM_TRAINER_LEARNING_RATE, 0.2));
    for (size_t step = 0, kept = 0, next = 0; kept < N_MODELS; step++) {
        if (step == next) {
            CHECK(rbm_machine_clone(m, &models[kept++]));
            next = next ? 2 * next : 1;
        }
        rbm_status st = rbm_trainer_step(tr);
        if (st != RBM_OK && st != RBM_DONE)
            CHECK(st);
    }
    rbm_machine *final = models[N_MODELS - 1];
    if (exact_distance_law(ctx, final, law) != 0)
        goto done;
    double near0 = 0, near1 = 0;
    for (size_t k = 0; k < NV / 2; k++)
        near0 += law[k], near1 += law[NV - k];
    printf("exact mass within distance 9 of prototype 0: %.3f, of prototype 1: %.3f\n", near0,
           near1);

    CHECK(rbm_sampler_new(final, CHAINS, 9, &S[0].gibbs));
    CHECK(rbm_tempering_new(final, 2, NULL, CHAINS, 9, &S[1].pt));
    int32_t reached = 0;
    CHECK(rbm_tempering_tune(S[1].pt, 0.3, 64, 10, 500, &reached));
    CHECK(rbm_tempering_new_models((const rbm_machine *const *)models, N_MODELS, CHAINS, 9,
                                   &S[2].pt));
    size_t keep[N_MODELS + 1], nk = 0;
    CHECK(rbm_tempering_select_models(S[2].pt, 0.3, 200, keep, N_MODELS + 1, &nk));
    printf("PT ladder: %zu replicas (target reached: %s); PTT: %zu of %d rungs kept\n",
           rbm_tempering_replica_count(S[1].pt), reached ? "yes" : "no", nk, N_MODELS + 1);
    for (int k = 0; k < 3; k++) {
        double rate;
        if (count_switches(ctx, &S[k], sweeps, trace + k * sweeps, &rate) != 0)
            goto done;
        printf("%-6s mode switches per 1e4 sweeps per chain: %8.2f\n", S[k].name, rate);
    }
    /* chi-square of BIG independent final states of each sampler */
    for (int k = 0; k < 3; k++) {
        sampler B = {S[k].name, NULL, NULL};
        if (k == 0)
            CHECK(rbm_sampler_new(final, BIG, 11, &B.gibbs));
        else if (k == 1) {
            size_t R = rbm_tempering_replica_count(S[1].pt);
            double *betas = calloc(R, sizeof(double));
            if (!betas)
                goto done;
            rbm_tempering_get_betas(S[1].pt, betas, R);
            rbm_status st = rbm_tempering_new(final, R, betas, BIG, 11, &B.pt);
            free(betas);
            CHECK(st);
        } else {
            const rbm_machine *kept[N_MODELS];
            for (size_t i = 1; i < nk; i++)
                kept[i - 1] = models[keep[i] - 1];
            CHECK(rbm_tempering_new_models(kept, nk - 1, BIG, 11, &B.pt));
        }
        for (int t = 0; t < 500; t++)
            CHECK(run1(&B));
        CHECK(states(&B, BIG, V));
        double df, x = chi2(V, BIG, law, &df);
        printf("%-6s chi-square of %d final states vs the exact law of the distance: %.1f "
               "(df %.0f)\n",
               B.name, BIG, x, df);
        rbm_sampler_free(B.gibbs);
        rbm_tempering_free(B.pt);
    }
    char path[512];
    FILE *f = ex_csv_open(path, sizeof path, dir, "tempering_modes.csv");
    if (!f)
        goto done;
    fprintf(f, "sweep,gibbs,pt,ptt\n");
    for (size_t t = 0; t < sweeps; t++)
        fprintf(f, "%zu,%.3f,%.3f,%.3f\n", t + 1, trace[t], trace[sweeps + t],
                trace[2 * sweeps + t]);
    fclose(f);
    if (!ex_gnuplot_missing("figure"))
        ex_figure(dir, "tempering_modes", "900,700", plot_body, NULL);
    rc = 0;
done:
    for (int k = 0; k < 3; k++) {
        rbm_sampler_free(S[k].gibbs);
        rbm_tempering_free(S[k].pt);
    }
    for (size_t i = 0; i < N_MODELS; i++)
        rbm_machine_free(models[i]);
    rbm_trainer_free(tr);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    free(trace);
    free(V);
    rbm_context_free(ctx);
    return rc;
}
