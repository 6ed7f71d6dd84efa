/* librbm example: which of the 11 clusters of the synthetic data the chains
 * of a trained Ising machine reach, under Gibbs, PT and PTT.
 *
 *   tempering_clusters [OUTDIR] [SWEEPS] [EPOCHS]
 *
 * Data: the papers' synthetic clusters (rbm_dataset_synthetic: 11 centres in
 * 5 dimensions embedded in 100, as +-1 spins) at noise 0.3; the 11 cluster
 * patterns are the distinct rows of the same data at noise 0. A 100 x 20
 * Ising machine is trained with PCD-10 (SGD, learning rate 0.01, batch 100,
 * EPOCHS epochs, default 20), with copies kept at steps 0, 1, 2, 4, ... for
 * PTT. Then 1000 chains of each sampler start from random states and run
 * SWEEPS sweeps (default 100): Gibbs, PT on a tuned temperature ladder, and
 * PTT on the automatically selected models. A chain is in the cluster whose
 * pattern is nearest (Hamming distance). Printed: how many of the 11
 * clusters the 1000 chains occupy, and the largest and smallest share of
 * chains per cluster, against the data's shares and against 1000 exact
 * samples of the machine (its 2^20 hidden states enumerated). Writes
 * OUTDIR/tempering_clusters.csv (cluster, data share, exact, Gibbs, PT, PTT)
 * and, when gnuplot runs, tempering_clusters.png (the shares as bars). */
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NV = 100, NH = 20, K = 11, CHAINS = 1000, MAXM = 24 };

static size_t nearest(const double *v, const double *P)
{
    size_t best = 0, bd = NV + 1;
    for (size_t k = 0; k < K; k++) {
        size_t d = 0;
        for (size_t j = 0; j < NV; j++)
            d += (v[j] > 0) != (P[k * NV + j] > 0);
        if (d < bd)
            bd = d, best = k;
    }
    return best;
}

/* The K distinct rows of the noise-free data (0 when fewer were found). */
static size_t patterns(rbm_context *ctx, double *P)
{
    rbm_dataset *d0 = NULL;
    double row[NV];
    size_t found = 0;
    if (rbm_dataset_synthetic(ctx, 2000, K, 5, NV, 0.0, RBM_UNIT_ISING, 1, &d0) != RBM_OK)
        return 0;
    for (size_t i = 0; i < 2000 && found < K; i++) {
        if (rbm_dataset_get_rows(d0, i, 1, row, NV) != RBM_OK)
            break;
        int seen = 0;
        for (size_t k = 0; k < found && !seen; k++)
            seen = memcmp(row, P + k * NV, sizeof row) == 0;
        if (!seen)
            memcpy(P + found++ * NV, row, sizeof row);
    }
    rbm_dataset_free(d0);
    return found;
}

/* n exact samples of the visible layer into V: every hidden state h (2^NH
 * Ising states) weighted by exp(-F_h(h)), h drawn by inverse CDF, then
 * v ~ p(v | h). The reference the samplers are compared with. */
static int exact_samples(rbm_context *ctx, const rbm_machine *m, size_t n, double *V)
{
    enum { CHUNK = 4096 };
    const size_t total = (size_t)1 << NH;
    double *lw = malloc(total * sizeof(double)), *H = malloc(CHUNK * NH * sizeof(double));
    double *Hs = malloc(n * NH * sizeof(double));
    rbm_rng *r = NULL;
    int rc = -1;
    if (!lw || !H || !Hs || rbm_rng_new(ctx, 99, &r) != RBM_OK)
        goto done;
    for (size_t s0 = 0; s0 < total; s0 += CHUNK) {
        for (size_t k = 0; k < CHUNK; k++)
            for (size_t j = 0; j < NH; j++)
                H[k * NH + j] = (((s0 + k) >> j) & 1) ? 1.0 : -1.0;
        CHECK(rbm_machine_free_energy_hidden(m, CHUNK, H, CHUNK * NH, lw + s0, CHUNK));
    }
    double mx = INFINITY, sum = 0;
    for (size_t t = 0; t < total; t++)
        mx = fmin(mx, lw[t]);
    for (size_t t = 0; t < total; t++)
        sum += (lw[t] = exp(-(lw[t] - mx)));
    for (size_t t = 1; t < total; t++)
        lw[t] += lw[t - 1]; /* cumulative weights */
    for (size_t c = 0; c < n; c++) {
        double u = rbm_rng_uniform(r) * sum;
        size_t lo = 0, hi = total - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (lw[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        for (size_t j = 0; j < NH; j++)
            Hs[c * NH + j] = ((lo >> j) & 1) ? 1.0 : -1.0;
    }
    CHECK(rbm_machine_sample_visible(m, r, n, Hs, n * NH, V, n * NV));
    rc = 0;
done:
    rbm_rng_free(r);
    free(lw);
    free(H);
    free(Hs);
    return rc;
}

/* Shares of the n states V per cluster into share[K]. */
static void shares(const double *V, size_t n, const double *P, double *share)
{
    for (size_t k = 0; k < K; k++)
        share[k] = 0;
    for (size_t c = 0; c < n; c++)
        share[nearest(V + c * NV, P)] += 1.0 / (double)n;
}

static void report(const char *name, const double *s, const double *data)
{
    size_t occupied = 0;
    double lo = 1, hi = 0, dev = 0;
    for (size_t k = 0; k < K; k++) {
        occupied += s[k] > 0;
        lo = fmin(lo, s[k]);
        hi = fmax(hi, s[k]);
        dev = fmax(dev, fabs(s[k] - data[k]));
    }
    printf("%-6s clusters occupied %2zu of %d, share per cluster %.3f .. %.3f, largest "
           "|share - data share| %.3f\n",
           name, occupied, K, lo, hi, dev);
}

/* Grouped bars: the share of chains per cluster for every sampler. */
static void plot_body(FILE *f, int attempt, const void *user)
{
    (void)attempt;
    (void)user;
    fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
               "set key top right\nset xlabel 'cluster (nearest pattern)'\n"
               "set ylabel 'share of the 1000 chains'\nset yrange [0:1.05]\n"
               "set title 'Chains per cluster after the same budget of sweeps'\n"
               "plot 'tempering_clusters.csv' every ::1 using 3:xtic(1) title 'exact samples', "
               "'' every ::1 using 4 title 'Gibbs', '' every ::1 using 5 title 'PT', "
               "'' every ::1 using 6 title 'PTT', '' every ::1 using 2 title 'data'\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    size_t sweeps = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 100;
    size_t epochs = argc > 3 ? (size_t)strtoull(argv[3], NULL, 10) : 20;
    rbm_context *ctx = NULL;
    rbm_dataset *d = NULL;
    rbm_machine *m = NULL, *models[MAXM] = {0};
    rbm_trainer *tr = NULL;
    rbm_sampler *g = NULL;
    rbm_tempering *pt = NULL, *ptt = NULL;
    double *P = calloc(K * NV, sizeof(double)), *V = calloc(CHAINS * NV, sizeof(double));
    double data_share[K], sg[K], sp[K], sq[K], *X = NULL;
    size_t nm = 0;
    int rc = 1;
    if (rbm_context_new(&ctx) != RBM_OK || !P || !V)
        goto done;
    if (patterns(ctx, P) != K) {
        fprintf(stderr, "could not find the %d cluster patterns\n", K);
        goto done;
    }
    CHECK(rbm_dataset_synthetic(ctx, 10000, K, 5, NV, 0.3, RBM_UNIT_ISING, 1, &d));
    X = calloc(10000 * NV, sizeof(double));
    if (!X)
        goto done;
    CHECK(rbm_dataset_get_rows(d, 0, 10000, X, 10000 * NV));
    shares(X, 10000, P, data_share);
    CHECK(rbm_machine_new(ctx, NV, NH, RBM_UNIT_ISING, RBM_UNIT_ISING, &m));
    CHECK(rbm_machine_init_normal(m, 0.01, 2));
    CHECK(rbm_trainer_new(m, d, 100, 3, &tr));
    CHECK(rbm_trainer_set_estimator(tr, RBM_ESTIMATOR_PCD, 10));
    const size_t total = epochs * rbm_trainer_batches_per_epoch(tr);
    for (size_t step = 0, next = 0; step <= total; step++) {
        if ((step == next || step == total) && nm < MAXM) {
            CHECK(rbm_machine_clone(m, &models[nm++]));
            next = next ? 2 * next : 1;
        }
        if (step < total) {
            rbm_status st = rbm_trainer_step(tr);
            if (st != RBM_OK && st != RBM_DONE)
                CHECK(st);
        }
    }
    rbm_machine *final = models[nm - 1];
    CHECK(rbm_sampler_new(final, CHAINS, 5, &g));
    CHECK(rbm_tempering_new(final, 2, NULL, CHAINS, 5, &pt));
    int32_t ok = 0;
    CHECK(rbm_tempering_tune(pt, 0.3, 64, 10, 100, &ok));
    CHECK(rbm_tempering_new_models((const rbm_machine *const *)models, nm, CHAINS, 5, &ptt));
    size_t keep[MAXM + 1], nk = 0;
    CHECK(rbm_tempering_select_models(ptt, 0.3, 50, keep, MAXM + 1, &nk));
    printf("trained %zu steps; PT ladder %zu replicas (target %s), PTT kept %zu of %zu rungs\n",
           total, rbm_tempering_replica_count(pt), ok ? "reached" : "not reached", nk, nm + 1);
    /* the tuning and selection sweeps are not counted: the budget starts
     * from fresh chains on the ladders they chose */
    {
        size_t R = rbm_tempering_replica_count(pt);
        double betas[65];
        const rbm_machine *kept[MAXM];
        CHECK(rbm_tempering_get_betas(pt, betas, R));
        rbm_tempering_free(pt);
        pt = NULL;
        CHECK(rbm_tempering_new(final, R, betas, CHAINS, 6, &pt));
        for (size_t i = 1; i < nk; i++)
            kept[i - 1] = models[keep[i] - 1];
        rbm_tempering_free(ptt);
        ptt = NULL;
        CHECK(rbm_tempering_new_models(kept, nk - 1, CHAINS, 6, &ptt));
    }
    CHECK(rbm_sampler_run(g, sweeps));
    CHECK(rbm_sampler_get_visible(g, V, CHAINS * NV));
    shares(V, CHAINS, P, sg);
    CHECK(rbm_tempering_run(pt, sweeps));
    CHECK(rbm_tempering_get_visible(pt, rbm_tempering_replica_count(pt) - 1, V, CHAINS * NV));
    shares(V, CHAINS, P, sp);
    CHECK(rbm_tempering_run(ptt, sweeps));
    CHECK(rbm_tempering_get_visible(ptt, rbm_tempering_replica_count(ptt) - 1, V, CHAINS * NV));
    shares(V, CHAINS, P, sq);
    double sx[K];
    if (exact_samples(ctx, final, CHAINS, V) != 0)
        goto done;
    shares(V, CHAINS, P, sx);
    report("data", data_share, data_share);
    report("exact", sx, data_share);
    report("Gibbs", sg, data_share);
    report("PT", sp, data_share);
    report("PTT", sq, data_share);
    char path[512];
    FILE *f = ex_csv_open(path, sizeof path, dir, "tempering_clusters.csv");
    if (!f)
        goto done;
    fprintf(f, "cluster,data,exact,gibbs,pt,ptt\n");
    for (size_t k = 0; k < K; k++)
        fprintf(f, "%zu,%.4f,%.4f,%.4f,%.4f,%.4f\n", k, data_share[k], sx[k], sg[k], sp[k],
                sq[k]);
    fclose(f);
    if (!ex_gnuplot_missing("figure"))
        ex_figure(dir, "tempering_clusters", "900,500", plot_body, NULL);
    rc = 0;
done:
    rbm_sampler_free(g);
    rbm_tempering_free(pt);
    rbm_tempering_free(ptt);
    for (size_t i = 0; i < nm; i++)
        rbm_machine_free(models[i]);
    rbm_trainer_free(tr);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    free(P);
    free(V);
    free(X);
    rbm_context_free(ctx);
    return rc;
}
