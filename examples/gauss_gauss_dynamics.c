/* gauss_gauss_dynamics.c — the learning dynamics of a Gauss-Gauss RBM:
 * the exact gradient flow (an ODE) against stochastic training.
 *
 * Setting of docs/theory.md §9 item 1: N_v = 12 Gaussian visible units
 * (sigma_v^2 = 1), N_h = 5 Gaussian hidden units (sigma_h^2 = 0.8), data
 * covariance C with eigenvalues 6, 4, 3, 2, 1.5, 1.2, 0.9, 0.8, 0.7, 0.5,
 * 0.4, 0.3 in a random orthonormal basis, W(0) = 0.01 N(0, 1).
 *
 *   1. draw M = 20000 samples x ~ N(0, C) and take their covariance C^;
 *   2. integrate dW/dt = sigma_h^2 (C^ - C_model) W with the adaptive
 *      Dormand-Prince solver (rbm_linear_integrate), recording the singular
 *      values w_1..w_5 of W;
 *   3. train the same machine from the same W(0) on the samples with PCD-1
 *      (persistent Gibbs chains: a genuinely stochastic negative phase) and
 *      plain SGD, recording w_1..w_5 along the way (one SGD step with
 *      learning rate eps advances the flow time by eps);
 *   4. compare both with the closed-form fixed points
 *      w_a^2 = (lambda_a - sigma_v^2) / (sigma_v^2 sigma_h^2 lambda_a).
 *
 * Writes to the directory argv[1] (default "."):
 *   gauss_gauss_ode.csv            time,w1..w5 (ODE)
 *   gauss_gauss_train.csv          time,w1..w5 (PCD-1 training)
 *   gauss_gauss_fixed_points.csv   mode,lambda,w_star,lambda_sample,w_star_sample
 *   gauss_gauss_dynamics.gp / .png a gnuplot script and its figure, when
 *                                  gnuplot is on PATH
 * Exits 1 when the stochastic run and the ODE disagree: |w_train - w_ode| >
 * 0.06 at any recorded time after the growth phase (t >= 20), or a final
 * singular value more than 4% from its closed-form fixed point. It is run
 * as a test (a few seconds).
 * Build:  cc gauss_gauss_dynamics.c example_util.c $(pkg-config --cflags --libs rbm) -lm */
#include <rbm/rbm.h>

#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    NV = 12,
    NH = 5,
    M = 20000,       /* samples                                      */
    BATCH = 500,     /* minibatch = number of persistent chains      */
    RECORD = 25,     /* training steps between records               */
    N_REC = 161      /* records: steps 0, 25, ..., 4000 (t = 0..40)  */
};
static const double LAMBDA[NV] = {6, 4, 3, 2, 1.5, 1.2, 0.9, 0.8, 0.7, 0.5, 0.4, 0.3};
static const double SV2 = 1.0, SH2 = 0.8;
static const double LR = 0.01; /* SGD learning rate: flow time per step */
static const double TOL_TRAJ = 0.06, TOL_FIXED = 0.04, T_GROWTH = 20.0;

/* Singular values of a machine's W, recorded by the trainer's observer. */
typedef struct recorder {
    rbm_svd *svd;
    double w[N_REC][NH];
    size_t n;
    rbm_status st;
} recorder;

static int record(void *user, const rbm_trainer *t)
{
    recorder *r = user;
    uint64_t step = rbm_trainer_step_count(t);
    if (step % RECORD != 0 || r->n >= N_REC)
        return 0;
    r->st = rbm_svd_update(r->svd, rbm_trainer_machine(t));
    if (r->st == RBM_OK)
        r->st = rbm_svd_get_singular_values(r->svd, r->w[r->n], NH);
    r->n++;
    return r->st != RBM_OK;
}

static int write_curves(const char *path, const double *times, const double (*w)[NH], size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "time,w1,w2,w3,w4,w5\n");
    for (size_t k = 0; k < n; k++) {
        fprintf(f, "%.6f", times[k]);
        for (size_t a = 0; a < NH; a++)
            fprintf(f, ",%.10f", w[k][a]);
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Jacobi eigenvalues of a symmetric matrix (descending), to report the
 * fixed points of the sample covariance. */
static void eigenvalues(size_t n, const double *S, double *ev)
{
    double A[NV * NV];
    memcpy(A, S, n * n * sizeof(double));
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++)
                off += A[p * n + q] * A[p * n + q];
        if (off < 1e-28)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0)
                    continue;
                double th = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) {
                    double x = A[k * n + p], y = A[k * n + q];
                    A[k * n + p] = c * x - s * y;
                    A[k * n + q] = s * x + c * y;
                }
                for (size_t k = 0; k < n; k++) {
                    double x = A[p * n + k], y = A[q * n + k];
                    A[p * n + k] = c * x - s * y;
                    A[q * n + k] = s * x + c * y;
                }
            }
    }
    for (size_t i = 0; i < n; i++)
        ev[i] = A[i * n + i];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (ev[j] > ev[i]) {
                double t = ev[i];
                ev[i] = ev[j];
                ev[j] = t;
            }
}

static void plot_body(FILE *f, int attempt, const void *user)
{
    const double *wstar = user;
    (void)attempt;
    fprintf(f, "set title 'Gauss-Gauss RBM (N_v = 12, N_h = 5): exact gradient flow vs "
               "PCD-1 training'\n");
    fprintf(f, "set xlabel 'learning time t (SGD steps x learning rate)'\n");
    fprintf(f, "set ylabel 'singular values w_{/Symbol a} of W'\n");
    fprintf(f, "set key right bottom\nset grid\nset yrange [0:1.15]\n");
    for (int a = 0; a < NH; a++)
        fprintf(f, "set arrow from graph 0, first %.6f to graph 1, first %.6f nohead dt 2 "
                   "lc rgb 'gray40'\n",
                wstar[a], wstar[a]);
    fprintf(f, "plot ");
    static const char *colors[NH] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"};
    for (int a = 0; a < NH; a++)
        fprintf(f,
                "'gauss_gauss_ode.csv' using 1:%d with lines lw 2 lc rgb '%s' title "
                "'w_%d ODE', 'gauss_gauss_train.csv' using 1:%d every 4 with points pt 7 "
                "ps 0.5 lc rgb '%s' title 'w_%d PCD-1'%s",
                a + 2, colors[a], a + 1, a + 2, colors[a], a + 1, a + 1 < NH ? ", " : "\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int rc = 1;
    rbm_context *ctx = NULL;
    rbm_rng *rng = NULL;
    rbm_dataset *ds = NULL;
    rbm_machine *m = NULL, *ode = NULL;
    rbm_trainer *t = NULL;
    recorder rec = {0};
    double *X = malloc(sizeof(double) * M * NV);
    static double Q[NV * NV], C_hat[NV * NV], W0[NV * NH];
    static double t_ode[N_REC], w_ode[N_REC][NH], t_rec[N_REC];
    double wstar[NV], lam_hat[NV], wstar_hat[NV];
    char path[4096];
    if (!X)
        return 1;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;
    CHECK(rbm_rng_new(ctx, 2024, &rng));

    /* a random orthonormal basis (Gram-Schmidt) and samples x = Q diag(sqrt(lambda)) z */
    for (size_t i = 0; i < NV * NV; i++)
        Q[i] = rbm_rng_normal(rng);
    for (size_t c = 0; c < NV; c++)
        for (int pass = 0; pass < 2; pass++) {
            for (size_t p = 0; p < c; p++) {
                double d = 0;
                for (size_t i = 0; i < NV; i++)
                    d += Q[i * NV + c] * Q[i * NV + p];
                for (size_t i = 0; i < NV; i++)
                    Q[i * NV + c] -= d * Q[i * NV + p];
            }
            double s = 0;
            for (size_t i = 0; i < NV; i++)
                s += Q[i * NV + c] * Q[i * NV + c];
            for (size_t i = 0; i < NV; i++)
                Q[i * NV + c] /= sqrt(s);
        }
    for (size_t r = 0; r < M; r++) {
        double z[NV];
        for (size_t k = 0; k < NV; k++)
            z[k] = sqrt(LAMBDA[k]) * rbm_rng_normal(rng);
        for (size_t i = 0; i < NV; i++) {
            double x = 0;
            for (size_t k = 0; k < NV; k++)
                x += Q[i * NV + k] * z[k];
            X[r * NV + i] = x;
        }
    }
    CHECK(rbm_dataset_from_memory(ctx, X, RBM_DTYPE_FLOAT64, M, NV, RBM_BORROW, &ds));
    CHECK(rbm_dataset_covariance(ds, C_hat, NV * NV));
    for (size_t i = 0; i < NV; i++) /* exactly symmetric */
        for (size_t j = 0; j < i; j++)
            C_hat[i * NV + j] = C_hat[j * NV + i];
    eigenvalues(NV, C_hat, lam_hat);
    CHECK(rbm_linear_fixed_points(LAMBDA, NV, sqrt(SV2), sqrt(SH2), wstar, NV));
    CHECK(rbm_linear_fixed_points(lam_hat, NV, sqrt(SV2), sqrt(SH2), wstar_hat, NV));

    /* the machine and its copy for the ODE, from the same W(0) */
    CHECK(rbm_machine_new(ctx, NV, NH, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, &m));
    CHECK(rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, sqrt(SV2)));
    CHECK(rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, sqrt(SH2)));
    CHECK(rbm_machine_init_normal(m, 0.01, 7));
    CHECK(rbm_machine_get_weights(m, W0, NV * NH));
    CHECK(rbm_machine_clone(m, &ode));

    /* 1. the ODE on the sample covariance, at the training record times */
    const double T = LR * RECORD * (N_REC - 1);
    CHECK(rbm_linear_integrate(ode, C_hat, NV * NV, T, 1e-9, 1e-12, N_REC, t_ode, N_REC,
                               &w_ode[0][0], N_REC * NH, NULL, NULL));

    /* 2. PCD-1 training, SGD with learning rate LR; record every RECORD steps */
    CHECK(rbm_svd_new(m, &rec.svd));
    CHECK(rbm_svd_get_singular_values(rec.svd, rec.w[0], NH));
    rec.n = 1;
    CHECK(rbm_trainer_new(m, ds, BATCH, 99, &t));
    CHECK(rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 1));
    CHECK(rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, LR));
    CHECK(rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 0));
    CHECK(rbm_trainer_set_observer(t, record, &rec));
    while (rec.n < N_REC) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE) {
            if (rec.st != RBM_OK)
                st = rec.st;
            fprintf(stderr, "training step failed: %s: %s\n", rbm_status_name(st),
                    rbm_context_last_error(ctx));
            goto done;
        }
    }
    for (size_t k = 0; k < N_REC; k++)
        t_rec[k] = LR * RECORD * (double)k;

    /* 3. files */
    snprintf(path, sizeof path, "%s/gauss_gauss_ode.csv", dir);
    if (write_curves(path, t_ode, (const double(*)[NH])w_ode, N_REC))
        goto done;
    snprintf(path, sizeof path, "%s/gauss_gauss_train.csv", dir);
    if (write_curves(path, t_rec, (const double(*)[NH])rec.w, N_REC))
        goto done;
    snprintf(path, sizeof path, "%s/gauss_gauss_fixed_points.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        goto done;
    }
    fprintf(f, "mode,lambda,w_star,lambda_sample,w_star_sample\n");
    for (size_t a = 0; a < NV; a++)
        fprintf(f, "%zu,%.6f,%.10f,%.6f,%.10f\n", a + 1, LAMBDA[a], wstar[a], lam_hat[a],
                wstar_hat[a]);
    if (fclose(f) != 0)
        goto done;
    ex_figure(dir, "gauss_gauss_dynamics", "900,560", plot_body, wstar);

    /* 4. agreement */
    double max_traj = 0, max_fixed = 0, max_all = 0;
    for (size_t k = 0; k < N_REC; k++)
        for (size_t a = 0; a < NH; a++) {
            double d = fabs(rec.w[k][a] - w_ode[k][a]);
            max_all = fmax(max_all, d);
            if (t_rec[k] >= T_GROWTH)
                max_traj = fmax(max_traj, d);
        }
    printf("t = %.0f   w_train     w_ode       w*(C)       w*(sample)\n", T);
    for (size_t a = 0; a < NH; a++) {
        double wt = rec.w[N_REC - 1][a];
        max_fixed = fmax(max_fixed, fabs(wt / wstar[a] - 1));
        printf("w_%zu       %.6f    %.6f    %.6f    %.6f\n", a + 1, wt, w_ode[N_REC - 1][a],
               wstar[a], wstar_hat[a]);
    }
    printf("max |w_train - w_ode|: %.4f over the whole run, %.4f for t >= %.0f (tolerance %.2f)\n",
           max_all, max_traj, T_GROWTH, TOL_TRAJ);
    printf("max relative distance of trained w to w*(C): %.4f (tolerance %.2f)\n", max_fixed,
           TOL_FIXED);
    rc = (max_traj <= TOL_TRAJ && max_fixed <= TOL_FIXED) ? 0 : 1;
    if (rc)
        fprintf(stderr, "stochastic training and the ODE disagree\n");
done:
    rbm_trainer_free(t);
    rbm_svd_free(rec.svd);
    rbm_machine_free(m);
    rbm_machine_free(ode);
    rbm_dataset_free(ds);
    rbm_rng_free(rng);
    rbm_context_free(ctx);
    free(X);
    return rc;
}
