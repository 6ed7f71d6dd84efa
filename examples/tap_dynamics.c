/* tap_dynamics.c — learning dynamics of W driven by TAP states (the seed's
 * "integration of the mean-field equations", docs/theory.md §6.3, §6.6) beside
 * PCD training of the same machine.
 *
 * Data: the synthetic clusters (11 clusters in 5 dimensions embedded in
 * N_v = 100, stored as +-1). Machine: Ising visible and hidden units
 * (N_h = 20), zero biases kept fixed, W(0) = 0.01 N(0, 1).
 *
 *   TAP runs: W += dt (<v E[h|v]>_data - G_model) with rbm_mf_dynamics_step:
 *             G_model from the distinct stable TAP2 fixed points reached from
 *             20 data rows, weighted by exp(-Gamma) (weights RECALLED, not
 *             verified); when a single (paramagnetic) state is found, either
 *             its linear response ("TAP-LR", docs/theory.md §6.3) or the explicit
 *             d log Z_TAP/dW at that state ("TAP-EMF");
 *   PCD run:  the same W(0), minibatches of 100 rows, PCD-5 with 100
 *             persistent chains, W += lr dW (biases untouched) with
 *             lr = dt, so both runs share the learning time t.
 * The singular values w_1..w_5 of W are recorded along both runs.
 *
 * Writes to the directory argv[1] (default "."):
 *   tap_dynamics.csv          t,states_lr,states_emf,lr_w1..lr_w5,emf_w1..emf_w5,
 *                             pcd_w1..pcd_w5
 *   tap_dynamics.gp / .png    gnuplot script and figure (if gnuplot runs)
 * Exits 1 when something is clearly wrong: a non-finite value, a top mode
 * that does not grow in a run (w_1(T) < 5 w_1(0)), final top singular
 * values of TAP-EMF and PCD more than 50% apart, or a TAP-LR top mode
 * above 2 (the linear response must hold it near the paramagnetic
 * threshold).
 * Build:  cc tap_dynamics.c example_util.c $(pkg-config --cflags --libs rbm) -lm */
#include <rbm/rbm.h>

#define EX_CHECK_ACCEPTS_DONE 1 /* CHECK lets RBM_DONE pass */
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    M = 1000,     /* rows of the synthetic data             */
    NV = 100,     /* visible units (the data's dimension)    */
    NH = 20,      /* hidden units                            */
    K = 5,        /* recorded modes                          */
    BATCH = 100,  /* PCD minibatch = persistent chains       */
    STARTS = 20,  /* TAP: data rows used as starts per step  */
    STEPS = 300,  /* steps of each run                       */
    RECORD = 5    /* steps between records                   */
};
static const double DT = 0.01;

static int top_singular_values(rbm_context *ctx, const rbm_machine *m, double *w)
{
    rbm_svd *s = NULL;
    double all[NH]; /* rank min(N_v, N_h) = N_h */
    int ok = rbm_svd_new(m, &s) == RBM_OK && rbm_svd_get_singular_values(s, all, NH) == RBM_OK;
    if (ok)
        memcpy(w, all, K * sizeof(double));
    else
        fprintf(stderr, "svd failed: %s\n", rbm_context_last_error(ctx));
    rbm_svd_free(s);
    return ok;
}

static void plot_body(FILE *f, int attempt, const void *user)
{
    (void)user;
    (void)attempt;
    fprintf(f, "set title 'Ising RBM on 11 synthetic clusters (N_v = 100, N_h = 20): "
               "TAP-state dynamics vs PCD-5'\n");
    fprintf(f, "set xlabel 'learning time t'\n");
    fprintf(f, "set ylabel 'singular values w_{/Symbol a} of W'\n");
    fprintf(f, "set key outside right top\nset grid\n");
    fprintf(f, "plot ");
    static const char *colors[K] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"};
    for (int a = 0; a < K; a++)
        fprintf(f,
                "'tap_dynamics.csv' using 1:%d with lines lw 2 lc rgb '%s' title "
                "'w_%d TAP-EMF', 'tap_dynamics.csv' using 1:%d with lines dt 2 lw 2 "
                "lc rgb '%s' title 'w_%d TAP-LR', 'tap_dynamics.csv' using 1:%d with points "
                "pt 7 ps 0.5 lc rgb '%s' title 'w_%d PCD-5'%s",
                a + 4 + K, colors[a], a + 1, a + 4, colors[a], a + 1, a + 4 + 2 * K,
                colors[a], a + 1, a + 1 < K ? ", " : "\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int rc = 1;
    rbm_context *ctx = NULL;
    rbm_dataset *ds = NULL;
    rbm_machine *tap = NULL, *emf = NULL, *pcd = NULL;
    rbm_mf *mf = NULL, *mf2 = NULL;
    rbm_estimator *est = NULL;
    rbm_gradient *g = NULL;
    rbm_batch_iter *it = NULL;
    FILE *csv = NULL;
    double *batch = malloc(sizeof(double) * BATCH * NV);
    double *W = malloc(sizeof(double) * NV * NH), *dW = malloc(sizeof(double) * NV * NH);
    double w_tap[K], w_emf[K], w_pcd[K], w0[K];
    char path[4096];
    if (!batch || !W || !dW)
        goto done;
    if (rbm_context_new(&ctx) != RBM_OK)
        goto done;
    CHECK(rbm_dataset_synthetic(ctx, M, 11, 5, NV, 0.3, RBM_UNIT_ISING, 1, &ds));
    CHECK(rbm_machine_new(ctx, NV, NH, RBM_UNIT_ISING, RBM_UNIT_ISING, &tap));
    CHECK(rbm_machine_init_normal(tap, 0.01, 2));
    CHECK(rbm_machine_clone(tap, &pcd));
    CHECK(rbm_machine_clone(tap, &emf));
    CHECK(rbm_mf_new(tap, RBM_MF_TAP2, &mf));
    CHECK(rbm_mf_set_real(mf, RBM_MF_TOLERANCE, 1e-8));
    CHECK(rbm_mf_set_int(mf, RBM_MF_MAX_ITERATIONS, 3000));
    CHECK(rbm_mf_new(emf, RBM_MF_TAP2, &mf2));
    CHECK(rbm_mf_set_real(mf2, RBM_MF_TOLERANCE, 1e-8));
    CHECK(rbm_mf_set_int(mf2, RBM_MF_MAX_ITERATIONS, 3000));
    CHECK(rbm_mf_set_int(mf2, RBM_MF_LINEAR_RESPONSE, 0));
    CHECK(rbm_estimator_new(pcd, RBM_ESTIMATOR_PCD, BATCH, 3, &est)); /* BATCH chains */
    CHECK(rbm_estimator_set_int(est, RBM_ESTIMATOR_K, 5));
    CHECK(rbm_gradient_new(pcd, &g));
    CHECK(rbm_batch_iter_new(ds, BATCH, RBM_BATCH_SHUFFLE, 4, &it));
    snprintf(path, sizeof path, "%s/tap_dynamics.csv", dir);
    csv = fopen(path, "w");
    if (!csv) {
        perror(path);
        goto done;
    }
    fprintf(csv, "t,states_lr,states_emf");
    for (int a = 0; a < K; a++)
        fprintf(csv, ",lr_w%d", a + 1);
    for (int a = 0; a < K; a++)
        fprintf(csv, ",emf_w%d", a + 1);
    for (int a = 0; a < K; a++)
        fprintf(csv, ",pcd_w%d", a + 1);
    fprintf(csv, "\n");
    if (!top_singular_values(ctx, tap, w0))
        goto done;
    size_t states = 1, states2 = 1;
    for (int step = 0; step <= STEPS; step++) {
        if (step % RECORD == 0) {
            if (!top_singular_values(ctx, tap, w_tap) || !top_singular_values(ctx, pcd, w_pcd) ||
                !top_singular_values(ctx, emf, w_emf))
                goto done;
            fprintf(csv, "%.4f,%zu,%zu", step * DT, states, states2);
            for (int a = 0; a < K; a++)
                fprintf(csv, ",%.6f", w_tap[a]);
            for (int a = 0; a < K; a++)
                fprintf(csv, ",%.6f", w_emf[a]);
            for (int a = 0; a < K; a++)
                fprintf(csv, ",%.6f", w_pcd[a]);
            fprintf(csv, "\n");
            if (step % (RECORD * 10) == 0)
                printf("t = %.2f  TAP-LR: %zu state(s) w = %.3f %.3f  TAP-EMF: %zu state(s) "
                       "w = %.3f %.3f  PCD: w = %.3f %.3f\n",
                       step * DT, states, w_tap[0], w_tap[1], states2, w_emf[0], w_emf[1],
                       w_pcd[0], w_pcd[1]);
        }
        if (step == STEPS)
            break;
        /* TAP-state dynamics: one Euler step */
        CHECK(rbm_mf_dynamics_step(mf, tap, ds, STARTS, (uint64_t)step, DT, &states));
        CHECK(rbm_mf_dynamics_step(mf2, emf, ds, STARTS, (uint64_t)step, DT, &states2));
        /* PCD: one minibatch, couplings only */
        size_t rows = 0;
        rbm_status st = rbm_batch_iter_next(it, batch, BATCH * NV, &rows);
        if (st != RBM_OK && st != RBM_DONE)
            CHECK(st);
        CHECK(rbm_estimator_compute(est, rows, batch, rows * NV, g));
        CHECK(rbm_gradient_get_weights(g, dW, NV * NH));
        CHECK(rbm_machine_get_weights(pcd, W, NV * NH));
        for (size_t i = 0; i < NV * NH; i++)
            W[i] += DT * dW[i];
        CHECK(rbm_machine_set_weights(pcd, W, NV * NH));
    }
    fclose(csv);
    csv = NULL;
    printf("data: %s/tap_dynamics.csv\n", dir);
    ex_figure(dir, "tap_dynamics", "900,560", plot_body, NULL);
    rc = 0;
    for (int a = 0; a < K; a++)
        if (!isfinite(w_tap[a]) || !isfinite(w_pcd[a]) || !isfinite(w_emf[a]))
            rc = 1;
    if (!(w_tap[0] > 5 * w0[0]) || !(w_pcd[0] > 5 * w0[0]) || !(w_emf[0] > 5 * w0[0])) {
        fprintf(stderr, "the top mode did not grow: w_1(0) = %.4f, TAP-LR %.4f, TAP-EMF %.4f, "
                        "PCD %.4f\n",
                w0[0], w_tap[0], w_emf[0], w_pcd[0]);
        rc = 1;
    }
    if (!(fabs(w_emf[0] - w_pcd[0]) < 0.5 * w_pcd[0])) {
        fprintf(stderr, "final w_1 disagree: TAP-EMF %.4f, PCD %.4f\n", w_emf[0], w_pcd[0]);
        rc = 1;
    }
    if (!(w_tap[0] < 2.0)) {
        fprintf(stderr, "TAP-LR top mode %.4f left the paramagnetic threshold\n", w_tap[0]);
        rc = 1;
    }
    printf("final w_1..w_%d  TAP-LR:", K);
    for (int a = 0; a < K; a++)
        printf(" %.3f", w_tap[a]);
    printf("  TAP-EMF:");
    for (int a = 0; a < K; a++)
        printf(" %.3f", w_emf[a]);
    printf("  PCD:");
    for (int a = 0; a < K; a++)
        printf(" %.3f", w_pcd[a]);
    printf("\n%s\n", rc ? "FAILED" : "ok");
done:
    if (csv)
        fclose(csv);
    rbm_batch_iter_free(it);
    rbm_gradient_free(g);
    rbm_estimator_free(est);
    rbm_mf_free(mf);
    rbm_mf_free(mf2);
    rbm_machine_free(tap);
    rbm_machine_free(emf);
    rbm_machine_free(pcd);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
    free(batch);
    free(W);
    free(dW);
    return rc;
}
