/* tap_fixed_points.c — TAP fixed points of an RBM over training on the
 * synthetic clusters: how many distinct states the machine has, against the
 * number of clusters in the data, and where they sit in the space of the
 * first singular modes of W (docs/theory.md §4.5, §5.5, §6.3).
 *
 * Data: 1000 rows of the synthetic clusters (11 clusters in 5 dimensions
 * embedded in N_v = 100, stored as +-1). Machine: Ising visible and hidden
 * units, N_h = 20, W(0) = 0.01 N(0,1), trained with PCD-5 (SGD, learning
 * rate 0.01, minibatches of 100, biases trained too).
 * Every 2 epochs: TAP2 fixed points from 200 data rows and 50 random +-1
 * starts (tolerance 1e-9, dedup at mean |dm| < 1e-4), counted (distinct,
 * stable), with the TAP estimate of log Z (log-sum-exp of -Gamma over the
 * stable states) and the TAP log-likelihood <-F(v)>_data - log Z_TAP,
 * beside the exact log Z and log-likelihood (enumerating the 2^20 hidden
 * states).
 * At the end, the stable states' visible magnetisations and the data are
 * projected on the first 3 left singular vectors of W.
 *
 * Writes to the directory argv[1] (default "."):
 *   tap_fixed_points_count.csv   epoch,distinct,stable,failed,w1..w5,log_z_tap,ll_tap,
 *                                log_z_exact,ll_exact
 *   tap_fixed_points_states.csv  state,gamma,multiplicity,stable,s1,s2,s3
 *   tap_fixed_points_data.csv    s1,s2,s3 of every data row
 *   tap_fixed_points_count.png, tap_fixed_points_modes.png (gnuplot)
 * Exits 1 when something is clearly wrong (no stable state at the end, a
 * non-finite value, a single state after training: the trained machine
 * must have several, or a TAP log Z off the exact one by more than
 * 1 + 1%).
 * Build:  cc tap_fixed_points.c example_util.c $(pkg-config --cflags --libs rbm) -lm */
#include <rbm/rbm.h>

#define EX_CHECK_ACCEPTS_DONE 1 /* CHECK lets RBM_DONE pass */
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    M = 1000,
    NV = 100,
    NH = 20,
    CLUSTERS = 11,
    EPOCHS = 30,
    EVERY = 2,
    DATA_STARTS = 200,
    RANDOM_STARTS = 50,
    MODES = 3
};

/* All starts: DATA_STARTS data rows then RANDOM_STARTS random +-1 rows. */
static void make_starts(const double *X, double *starts, uint64_t seed)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int r = 0; r < DATA_STARTS; r++)
        memcpy(starts + (size_t)r * NV, X + (size_t)(r * (M / DATA_STARTS)) * NV,
               NV * sizeof(double));
    for (int r = 0; r < RANDOM_STARTS; r++)
        for (int i = 0; i < NV; i++) {
            z ^= z << 13, z ^= z >> 7, z ^= z << 17;
            starts[(size_t)(DATA_STARTS + r) * NV + i] = (z >> 33) & 1 ? 1.0 : -1.0;
        }
}

static void plot_body(FILE *f, int attempt, const void *user)
{
    (void)user;
    const char *term = attempt == 0 ? "pngcairo size 900,520 font 'sans,11'" : "png size 900,520";
    fprintf(f, "set datafile separator ','\nset grid\n");
    fprintf(f, "set terminal %s\nset output 'tap_fixed_points_count.png'\n", term);
    fprintf(f, "set title 'TAP2 states of an Ising RBM during PCD-5 training "
               "(synthetic data, %d clusters)'\n", CLUSTERS);
    fprintf(f, "set xlabel 'epoch'\nset ylabel 'number of TAP fixed points'\n");
    fprintf(f, "set y2label 'top singular value w_1'\nset y2tics\nset ytics nomirror\n");
    fprintf(f, "set key left top\n");
    fprintf(f, "plot 'tap_fixed_points_count.csv' using 1:3 with linespoints lw 2 pt 7 "
               "title 'distinct stable states', "
               "'tap_fixed_points_count.csv' using 1:2 with linespoints dt 2 pt 6 "
               "title 'distinct fixed points', "
               "%d with lines lc rgb 'gray40' dt 3 title 'clusters in the data', "
               "'tap_fixed_points_count.csv' using 1:5 axes x1y2 with lines lw 1 "
               "lc rgb '#7570b3' title 'w_1 (right axis)'\n",
               CLUSTERS);
    fprintf(f, "unset y2label\nunset y2tics\nset ytics mirror\n");
    fprintf(f, "set terminal %s\nset output 'tap_fixed_points_modes.png'\n", term);
    fprintf(f, "set title 'Data and TAP2 states projected on the first two modes of W "
               "(end of training)'\n");
    fprintf(f, "set xlabel 's_1 = u^1 . m'\nset ylabel 's_2 = u^2 . m'\nset key right top\n");
    fprintf(f, "plot 'tap_fixed_points_data.csv' using 1:2 every ::1 with points pt 7 ps 0.4 "
               "lc rgb '#bbbbbb' title 'data rows', "
               "'tap_fixed_points_states.csv' using 5:6:(0.6+0.15*sqrt($3)) every ::1 "
               "with points pt 6 ps variable lw 2 lc rgb '#d95f02' title 'TAP2 states (size: "
               "multiplicity)'\n");
}

static void plot(const char *dir)
{
    if (ex_gnuplot_missing("figure"))
        return;
    int r = ex_gnuplot(dir, "tap_fixed_points", "tap_fixed_points", NULL, plot_body, NULL);
    if (r == 0)
        printf("figures: %s/tap_fixed_points_count.png, %s/tap_fixed_points_modes.png\n", dir,
               dir);
    else if (r > 0)
        printf("gnuplot failed: no figure\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int rc = 1;
    rbm_context *ctx = NULL;
    rbm_dataset *ds = NULL;
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    rbm_mf *mf = NULL;
    rbm_mf_points *p = NULL;
    rbm_svd *svd = NULL;
    FILE *fc = NULL, *fs = NULL, *fd = NULL;
    const size_t NS = DATA_STARTS + RANDOM_STARTS;
    double *X = malloc(sizeof(double) * M * NV);
    double *starts = malloc(sizeof(double) * NS * NV);
    double *mv = malloc(sizeof(double) * NS * NV);
    double *proj = malloc(sizeof(double) * M * MODES);
    char path[4096];
    size_t n_stable = 0, n_distinct = 0;
    if (!X || !starts || !mv || !proj)
        goto done;
    if (rbm_context_new(&ctx) != RBM_OK)
        goto done;
    CHECK(rbm_dataset_synthetic(ctx, M, CLUSTERS, 5, NV, 0.3, RBM_UNIT_ISING, 1, &ds));
    CHECK(rbm_dataset_get_rows(ds, 0, M, X, (size_t)M * NV));
    CHECK(rbm_machine_new(ctx, NV, NH, RBM_UNIT_ISING, RBM_UNIT_ISING, &m));
    CHECK(rbm_machine_init_normal(m, 0.01, 2));
    CHECK(rbm_trainer_new(m, ds, 100, 3, &t));
    CHECK(rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 5));
    CHECK(rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.01));
    CHECK(rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 0));
    CHECK(rbm_mf_new(m, RBM_MF_TAP2, &mf));
    CHECK(rbm_mf_set_real(mf, RBM_MF_TOLERANCE, 1e-9));
    CHECK(rbm_mf_set_int(mf, RBM_MF_MAX_ITERATIONS, 5000));
    make_starts(X, starts, 5);
    snprintf(path, sizeof path, "%s/tap_fixed_points_count.csv", dir);
    if (!(fc = fopen(path, "w"))) {
        perror(path);
        goto done;
    }
    fprintf(fc, "epoch,distinct,stable,failed,w1,w2,w3,w4,w5,log_z_tap,ll_tap,log_z_exact,"
                "ll_exact\n");
    for (int epoch = 0; epoch <= EPOCHS; epoch++) {
        if (epoch > 0)
            CHECK(rbm_trainer_run_epochs(t, 1));
        if (epoch % EVERY)
            continue;
        rbm_mf_points_free(p);
        p = NULL;
        CHECK(rbm_mf_fixed_points(mf, NS, starts, NS * NV, NULL, 0, &p));
        n_distinct = rbm_mf_points_count(p);
        n_stable = 0;
        for (size_t k = 0; k < n_distinct; k++) {
            int s = 0;
            CHECK(rbm_mf_points_properties(p, k, NULL, NULL, &s, NULL));
            n_stable += (size_t)s;
        }
        double lz = NAN, ll = NAN, w[NH], lz_ex, ll_ex;
        CHECK(rbm_exact_log_likelihood(m, ds, &ll_ex, &lz_ex));
        if (n_distinct) {
            CHECK(rbm_mf_points_log_z(p, &lz, NULL, NULL));
            CHECK(rbm_log_likelihood(m, ds, lz, &ll));
        }
        rbm_svd_free(svd);
        svd = NULL;
        CHECK(rbm_svd_new(m, &svd));
        CHECK(rbm_svd_get_singular_values(svd, w, NH));
        fprintf(fc, "%d,%zu,%zu,%zu,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f\n", epoch,
                n_distinct, n_stable, rbm_mf_points_failed_count(p), w[0], w[1], w[2], w[3], w[4],
                lz, ll, lz_ex, ll_ex);
        printf("epoch %2d: %3zu distinct TAP2 fixed points, %3zu stable, %3zu starts failed; "
               "w_1 = %.3f; log Z: TAP %.3f, exact %.3f; log-likelihood: TAP %.3f, exact "
               "%.3f\n",
               epoch, n_distinct, n_stable, rbm_mf_points_failed_count(p), w[0], lz, lz_ex, ll,
               ll_ex);
        if (!isfinite(w[0]) || (n_distinct && (!isfinite(lz) || !isfinite(ll))))
            goto done;
        if (n_distinct && !(fabs(lz - lz_ex) < 1.0 + 0.01 * fabs(lz_ex))) {
            fprintf(stderr, "TAP log Z %.3f is far from the exact %.3f\n", lz, lz_ex);
            goto done;
        }
    }
    fclose(fc);
    fc = NULL;
    /* projections at the end of training */
    snprintf(path, sizeof path, "%s/tap_fixed_points_states.csv", dir);
    if (!(fs = fopen(path, "w"))) {
        perror(path);
        goto done;
    }
    fprintf(fs, "state,gamma,multiplicity,stable,s1,s2,s3\n");
    if (n_distinct) {
        CHECK(rbm_mf_points_get_all_visible(p, mv, n_distinct * NV));
        CHECK(rbm_svd_project_visible(svd, n_distinct, mv, n_distinct * NV, MODES, proj,
                                      n_distinct * MODES));
    }
    for (size_t k = 0; k < n_distinct; k++) {
        double g;
        size_t mult;
        int s;
        CHECK(rbm_mf_points_properties(p, k, &g, &mult, &s, NULL));
        if (!s)
            continue;
        fprintf(fs, "%zu,%.6f,%zu,%d,%.5f,%.5f,%.5f\n", k, g, mult, s, proj[k * MODES],
                proj[k * MODES + 1], proj[k * MODES + 2]);
    }
    fclose(fs);
    fs = NULL;
    CHECK(rbm_svd_project_dataset(svd, ds, MODES, proj, (size_t)M * MODES));
    snprintf(path, sizeof path, "%s/tap_fixed_points_data.csv", dir);
    if (!(fd = fopen(path, "w"))) {
        perror(path);
        goto done;
    }
    fprintf(fd, "s1,s2,s3\n");
    for (int r = 0; r < M; r++)
        fprintf(fd, "%.5f,%.5f,%.5f\n", proj[r * MODES], proj[r * MODES + 1],
                proj[r * MODES + 2]);
    fclose(fd);
    fd = NULL;
    plot(dir);
    if (n_stable < 2) {
        fprintf(stderr, "only %zu stable TAP state(s) after training\n", n_stable);
        goto done;
    }
    printf("final: %zu stable TAP2 states for %d clusters\nok\n", n_stable, CLUSTERS);
    rc = 0;
done:
    if (fc)
        fclose(fc);
    if (fs)
        fclose(fs);
    if (fd)
        fclose(fd);
    rbm_svd_free(svd);
    rbm_mf_points_free(p);
    rbm_mf_free(mf);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
    free(X);
    free(starts);
    free(mv);
    free(proj);
    return rc;
}
