/* spectral_synthetic.c — the spectral story of RBM learning on the synthetic
 * clusters (docs/theory.md §5.1, §6.4, §7), a re-implementation (the papers'
 * exact settings are not known: these results are ours, not the papers').
 *
 * Data: rbm_dataset_synthetic, 11 clusters in d = 5 dimensions embedded in
 * D = 100, noise 0.1, stored as +-1 (Ising). M = 4000 samples.
 * Machine: +-1 visible (100) and +-1 hidden (50) units, W(0) = 1e-5 N(0,1)
 * (the linear regime is scale-free: with zero biases both gradient terms and
 * their noise are proportional to W, so a tiny start lengthens it), all
 * biases zero and kept at zero (only W is trained: the symmetric
 * s -> -s model whose linear regime §6.4 describes exactly).
 * Training: PCD-10 (200 persistent chains, Rao-Blackwellised negative
 * statistics), plain SGD on W in a hand-written loop (rbm_estimator_compute,
 * then W += eps dLik/dW), minibatches of 200 rows.
 * Time convention (docs/theory.md §0.2): one SGD step with learning rate eps
 * advances the learning time t by eps. The learning rate is 0.002 up to
 * t = 1 (the fast early growth is resolved step by step, a record every
 * step) and 0.01 after, up to t = 12 (a record every 5 steps): 1600 steps.
 *
 * Linear-regime prediction (§6.4): for small W, +-1 units and zero biases,
 * dW/dt ~ (C - I) W with C = <s s^T>_data the UNCENTRED second moment, so
 * the component of W along an eigenvector e_a of C (eigenvalue lambda_a)
 * grows as exp((lambda_a - 1) t), and the top singular values follow once
 * they dominate the rest. Measured here:
 *   - the growth rate of each of the top K singular values w_a(t) (sorted),
 *     fitted as the least-squares slope of ln w_a against t from when it
 *     stands out of the initial noise (w_a > 3 w_1(0)) to the end of the
 *     linear window (when w_1 reaches W_LINEAR = 0.1: all modes still small);
 *   - the growth rate of the projected amplitude |W^T e_a| (the quantity the
 *     linear theory predicts directly) over the whole linear window, and
 *     over the very early window (until w_1 has grown 10-fold: later, any
 *     small misalignment of u^1 lets the fast mode leak into the
 *     projections on the slow directions);
 *   - the overlaps |u^a . e_b| of the left singular vectors with the
 *     eigenvectors of C (and, through rbm_svd_pca_overlaps, with the
 *     principal directions of the centred covariance) during training;
 *   - the bulk edge (rbm_svd_bulk via rbm_mode_tracker) and the step at
 *     which the number of modes outside the bulk first reaches 1, 2, ...
 *
 * Writes to the directory argv[1] (default "."):
 *   spectral_synthetic_tracker.csv   rbm_mode_tracker_write_csv (identities)
 *   spectral_synthetic_sv.csv        step,t,edge,n_outside,w1..w50 (sorted)
 *   spectral_synthetic_proj.csv      step,t,|W^T e_1|..|W^T e_K|
 *   spectral_synthetic_overlaps.csv  step,t,|u^a.e_a| (a <= K), the same with
 *                                    the centred-covariance PCA, subspace5
 *   spectral_synthetic_overlap_matrix.csv  alpha,beta,|u^a.e_b|,|u^a.f_b|
 *                                    (at the end of the linear window)
 *   spectral_synthetic_rates.csv     mode,lambda,predicted,measured_sv,
 *                                    measured_proj,t_from,t_to,
 *                                    measured_proj_early,t_to_early
 *   spectral_synthetic_crossings.csv n_outside,step,t,overlap,t_linear_theory
 *   spectral_synthetic_*.gp / *.png  gnuplot scripts and figures (when
 *                                    gnuplot is on PATH)
 * Exits 1 when a qualitative claim fails (CHECK section; docs/spectral.md
 * gives the measured values): growth rates of w_1..w_3 within 15% of
 * lambda_a - 1, of |W^T e_1..3| within 10% over the linear window, of
 * |W^T e_1..8| within 10% over the very early window; |u^1 . e_1| > 0.9 at
 * the end of the linear window; at least 5 modes outside the bulk at the
 * end; the first and third bulk crossings at distinct steps, in order.
 * Over seeds offset 0..4 (cc -DSEED_OFFSET=n) the largest deviations were
 * 6.2%, 5.6% and 3.9%, the overlap 1.000 (3 decimals). Run as a test (~10 s).
 * Build:  cc spectral_synthetic.c example_util.c $(pkg-config --cflags --libs rbm) -lm */
#include <rbm/rbm.h>

#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SEED_OFFSET /* cc -DSEED_OFFSET=n: other seeds, to check robustness */
#define SEED_OFFSET 0
#endif

enum {
    M = 4000,   /* samples                                 */
    NV = 100,   /* D                                       */
    NH = 50,    /* hidden units                            */
    R = NH,     /* rank of W                               */
    BATCH = 200,
    PCD_K = 10,
    K = 8,      /* modes analysed in detail                */
    KFIT = 5,   /* modes whose growth rate is fitted       */
    MAX_REC = 4000
};
static const double NOISE = 0.1;
static const double W0_STD = 1e-5;
static const double EPS1 = 0.002, EPS2 = 0.01; /* learning rates      */
static const double T_SWITCH = 1.0, T_END = 12.0;
static const int EVERY1 = 1, EVERY2 = 5;       /* record periods     */
static const double W_LINEAR = 0.1; /* the linear window ends when w_1 reaches it */
/* tolerances of the checks (see the CHECK section) */
static const double TOL_RATE_SV = 0.15, TOL_RATE_PROJ = 0.10, TOL_RATE_EARLY = 0.10;
static const double MIN_OVERLAP = 0.9;
static const size_t MIN_OUTSIDE = 5;

/* Records, filled during training. */
typedef struct records {
    size_t n;
    uint64_t step[MAX_REC];
    double t[MAX_REC], edge[MAX_REC];
    size_t n_out[MAX_REC];
    double w[MAX_REC][R];     /* sorted singular values              */
    double proj[MAX_REC][K];  /* |W^T e_a|                            */
    double ovl[MAX_REC][K];   /* |u^a . e_a| (eigenvectors of C)     */
    double ovl_c[MAX_REC][K]; /* |u^a . f_a| (centred covariance PCA) */
    double sub5[MAX_REC];     /* (1/5) sum_{a,b<=5} (u^a . e_b)^2     */
} records;

/* Fit ln y against t over the records in [k0, k1). */
static double fit_log(const records *r, const double (*y)[K], const double (*ys)[R], size_t a,
                      size_t k0, size_t k1)
{
    static double xs[MAX_REC], ls[MAX_REC];
    size_t n = 0;
    for (size_t k = k0; k < k1; k++) {
        xs[n] = r->t[k];
        ls[n] = log(y ? y[k][a] : ys[k][a]);
        n++;
    }
    return n >= 3 ? ex_slope(xs, ls, n) : NAN;
}

/* The early window of a growing quantity q(t) (record k): from the first
 * record where q exceeds lo to the first where it exceeds hi. */
static void fit_window(const records *r, const double (*y)[K], const double (*ys)[R], size_t a,
                       double lo, double hi, size_t *k0, size_t *k1)
{
    size_t k = 0;
    while (k < r->n && (y ? y[k][a] : ys[k][a]) <= lo)
        k++;
    *k0 = k;
    while (k < r->n && (y ? y[k][a] : ys[k][a]) < hi)
        k++;
    *k1 = k;
}

static records rec;

static void plots(const char *dir, const double *lam, const double *p0, double t_lin)
{
    if (ex_gnuplot_missing("figures"))
        return;
    static const char *colors[K] = {"#e41a1c", "#377eb8", "#4daf4a", "#984ea3",
                                    "#ff7f00", "#a65628", "#f781bf", "#666666"};
    static char body[32768];
    size_t o = 0;
#define ADD(...) o += (size_t)snprintf(body + o, sizeof body - o, __VA_ARGS__)
    /* 1. singular values over training with the bulk edge */
    ADD("set multiplot layout 1,2 title 'Synthetic clusters (11 clusters, d = 5, D = 100), "
        "+-1 RBM with N_h = 50, PCD-10 - re-implementation'\n");
    ADD("set xlabel 'learning time t (sum of learning rates)'\nset ylabel 'singular values "
        "w_{/Symbol a} of W'\n");
    ADD("set logscale y\nset format y '10^{%%L}'\nset grid\nset key right bottom "
        "opaque\nset xrange [0:%g]\nset yrange [1e-6:10]\n",
        T_SWITCH);
    ADD("set title 'early training (log scale); grey: all 50 singular values'\n");
    ADD("set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb 'gray30'\n", t_lin, t_lin);
    ADD("plot for [c=5:%d] 'spectral_synthetic_sv.csv' using 2:c with lines lc rgb '#cccccc' "
        "notitle, ",
        4 + R);
    for (int a = 0; a < K; a++)
        ADD("'spectral_synthetic_sv.csv' using 2:%d with lines lw 2 lc rgb '%s' title 'w_%d', ",
            5 + a, colors[a], a + 1);
    ADD("'spectral_synthetic_sv.csv' using 2:($3*1.03) with lines lw 2 dt 2 lc rgb 'black' "
        "title 'bulk edge x 1.03'\n");
    ADD("unset arrow\nset xrange [0:%g]\nset yrange [1e-5:10]\nset title 'whole run "
        "(log scale)'\nset key right bottom opaque\nset y2range [0:%d]\nset y2tics 10\n"
        "set ytics nomirror\nset y2label 'modes outside the bulk'\n",
        T_END, R);
    ADD("plot for [c=5:%d] 'spectral_synthetic_sv.csv' using 2:c with lines lc rgb '#cccccc' "
        "notitle, ",
        4 + R);
    for (int a = 0; a < K; a++)
        ADD("'spectral_synthetic_sv.csv' using 2:%d with lines lw 2 lc rgb '%s' notitle, ",
            5 + a, colors[a]);
    ADD("'spectral_synthetic_sv.csv' using 2:3 with lines lw 2 dt 2 lc rgb 'black' title "
        "'bulk edge', 'spectral_synthetic_sv.csv' using 2:4 axes x1y2 with steps lw 1 lc rgb "
        "'#1b7837' title 'modes outside (right axis)'\nunset multiplot\n");
    ex_figure_script(dir, "spectral_synthetic", "spectral_synthetic_sv", "900,600", body);

    /* 2. measured vs predicted growth rates */
    o = 0;
    ADD("set multiplot layout 1,2 title 'Early growth: measured vs the linear regime "
        "dw/dt = ({/Symbol l}_{/Symbol a} - 1) w - re-implementation'\n");
    ADD("set title 'projections |W^T e_{/Symbol a}| (lines) and predicted slopes (dashed)'\n"
        "set xlabel 'learning time t'\nset ylabel '|W^T e_{/Symbol a}|'\nset logscale y\n"
        "set format y '10^{%%L}'\nset grid\nset key left top\nset xrange [0:%g]\n",
        1.3 * t_lin);
    ADD("set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb 'gray30'\n", t_lin, t_lin);
    ADD("plot ");
    for (int a = 0; a < 5; a++)
        ADD("'spectral_synthetic_proj.csv' using 2:%d with lines lw 2 lc rgb '%s' title "
            "'{/Symbol a} = %d', ",
            3 + a, colors[a], a + 1);
    for (int a = 0; a < 5; a++)
        ADD("%.8g*exp(%.8g*x) with lines dt 2 lw 1.5 lc rgb '%s' notitle%s", p0[a],
            lam[a] - 1, colors[a], a < 4 ? ", " : "\n");
    ADD("unset arrow\nunset logscale y\nset format y '%%g'\n");
    double hi = 0;
    for (int a = 0; a < K; a++)
        hi = fmax(hi, lam[a] - 1);
    ADD("set title 'fitted growth rates'\nset xlabel 'predicted rate "
        "{/Symbol l}_{/Symbol a} - 1 (eigenvalues of <s s^T>_{data})'\nset ylabel 'measured "
        "d ln(.)/dt'\nset key right bottom font ',10'\n");
    ADD("set xrange [0:%g]\nset yrange [0:%g]\nset size ratio 1\n", 1.1 * hi, 1.1 * hi);
    ADD("plot x with lines dt 2 lc rgb 'black' title 'measured = predicted', "
        "'spectral_synthetic_rates.csv' using 3:4 with points pt 7 ps 1.5 lc rgb '#e41a1c' "
        "title 'singular values w_{/Symbol a}', "
        "'spectral_synthetic_rates.csv' using 3:5 with points pt 6 ps 2 lw 2 lc rgb '#377eb8' "
        "title '|W^T e_{/Symbol a}|, linear window', "
        "'spectral_synthetic_rates.csv' using 3:8 with points pt 5 ps 1 lc rgb '#4daf4a' "
        "title '|W^T e_{/Symbol a}|, until w_1 grows 10-fold', "
        "'spectral_synthetic_rates.csv' using 3:5:(sprintf('%%d',$1)) with labels offset "
        "1.5,-0.5 notitle\nunset multiplot\n");
    ex_figure_script(dir, "spectral_synthetic", "spectral_synthetic_rates", "900,600", body);

    /* 3. overlaps vs time, and the overlap matrix; 'top-5 subspace' is
     * (1/5) sum_{a,b <= 5} (u^a . e_b)^2 */
    o = 0;
    ADD("set multiplot layout 1,2 title 'Alignment of the modes u^{/Symbol a} with the "
        "eigenvectors e_{/Symbol b} of <s s^T>_{data} - re-implementation'\n");
    ADD("set title '|u^{/Symbol a} . e_{/Symbol a}| over training'\nset xlabel 'learning time "
        "t (log scale)'\nset ylabel 'overlap'\nset yrange [0:1.05]\n"
        "set grid\nset key outside below horizontal maxcols 3 font ',9'\nset logscale x\n"
        "set xrange [0.005:%g]\n",
        T_END);
    ADD("set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb 'gray30'\n", t_lin, t_lin);
    ADD("plot ");
    for (int a = 0; a < 5; a++)
        ADD("'spectral_synthetic_overlaps.csv' using 2:%d with lines lw 2 lc rgb '%s' title "
            "'{/Symbol a} = %d'%s",
            3 + a, colors[a], a + 1, ", ");
    ADD("'spectral_synthetic_overlaps.csv' using 2:%d with lines lw 2.5 lc rgb 'black' title "
        "'top-5 subspace'\n", 3 + 2 * K);
    ADD("unset arrow\nunset logscale x\nunset grid\nset title '|u^{/Symbol a} . "
        "e_{/Symbol b}| at t = %.3f (end of the linear window)'\n"
        "set xlabel 'data eigenvector {/Symbol b}'\nset ylabel 'mode {/Symbol a}'\n"
        "set xrange [0.5:%d.5]\nset yrange [%d.5:0.5]\nset cbrange [0:1]\nset size ratio 1\n"
        "set palette defined (0 'white', 1 '#08306b')\nset xtics 1\nset ytics 1\n",
        t_lin, K, K);
    ADD("plot 'spectral_synthetic_overlap_matrix.csv' using 2:1:3 with image notitle, "
        "'spectral_synthetic_overlap_matrix.csv' using 2:1:(sprintf('%%.2f',$3)) with labels "
        "font ',8' tc rgb '#cc4400' notitle\nunset multiplot\n");
    ex_figure_script(dir, "spectral_synthetic", "spectral_synthetic_overlaps", "900,600", body);
#undef ADD
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int rc = 1;
    rbm_context *ctx = NULL;
    rbm_dataset *ds = NULL;
    rbm_machine *m = NULL;
    rbm_batch_iter *it = NULL;
    rbm_estimator *est = NULL;
    rbm_gradient *g = NULL;
    rbm_svd *svd = NULL;
    rbm_mode_tracker *tr = NULL;
    double *X = malloc(sizeof(double) * M * NV);
    double *C = malloc(sizeof(double) * NV * NV);
    double *E = malloc(sizeof(double) * NV * NV);
    double *batch = malloc(sizeof(double) * BATCH * NV);
    static double W[NV * NH], gW[NV * NH], U[NV * R], lam[NV], mean[NV], ovl_mat[K * K],
        ovl_c[K * K], Cov[NV * NV], lam_c[NV], Ec[NV * NV];
    char path[4096];
    if (!X || !C || !E || !batch)
        return 1;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;

    /* data and its uncentred second moment */
    CHECK(rbm_dataset_synthetic(ctx, M, 11, 5, NV, NOISE, RBM_UNIT_ISING, 2025 + SEED_OFFSET, &ds));
    CHECK(rbm_dataset_get_rows(ds, 0, M, X, M * NV));
    for (size_t i = 0; i < NV; i++)
        for (size_t j = i; j < NV; j++) {
            double s = 0;
            for (size_t r = 0; r < M; r++)
                s += X[r * NV + i] * X[r * NV + j];
            C[i * NV + j] = C[j * NV + i] = s / M;
        }
    ex_jacobi(NV, C, lam, E);
    CHECK(rbm_dataset_mean(ds, mean, NV));
    CHECK(rbm_dataset_covariance(ds, Cov, NV * NV));
    for (size_t i = 0; i < NV; i++)
        for (size_t j = 0; j < i; j++)
            Cov[i * NV + j] = Cov[j * NV + i];
    ex_jacobi(NV, Cov, lam_c, Ec);
    double msq = 0;
    for (size_t i = 0; i < NV; i++)
        msq += mean[i] * mean[i];
    printf("data: M = %d, |<s>|^2 = %.3f; eigenvalues of <s s^T>:", M, msq);
    for (int a = 0; a < 14; a++)
        printf(" %.3f", lam[a]);
    printf("\n      eigenvalues of the centred covariance:");
    for (int a = 0; a < 14; a++)
        printf(" %.3f", lam_c[a]);
    printf("\n");

    /* machine, chains, loop */
    CHECK(rbm_machine_new(ctx, NV, NH, RBM_UNIT_ISING, RBM_UNIT_ISING, &m));
    CHECK(rbm_machine_init_normal(m, W0_STD, 11 + SEED_OFFSET));
    CHECK(rbm_batch_iter_new(ds, BATCH, RBM_BATCH_SHUFFLE, 12 + SEED_OFFSET, &it));
    CHECK(rbm_estimator_new(m, RBM_ESTIMATOR_PCD, BATCH, 13 + SEED_OFFSET, &est)); /* BATCH chains */
    CHECK(rbm_estimator_set_int(est, RBM_ESTIMATOR_K, PCD_K));
    CHECK(rbm_gradient_new(m, &g));
    CHECK(rbm_svd_new(m, &svd));
    CHECK(rbm_mode_tracker_new(m, R, &tr));

    uint64_t step = 0;
    double t = 0;
    int ovl_done = 0;
    for (;;) {
        int every = t < T_SWITCH - 1e-12 ? EVERY1 : EVERY2;
        if (step % (uint64_t)every == 0 || t >= T_END - 1e-9) {
            if (rec.n >= MAX_REC) {
                fprintf(stderr, "too many records\n");
                goto done;
            }
            size_t k = rec.n++;
            CHECK(rbm_mode_tracker_record(tr, step));
            CHECK(rbm_mode_tracker_get_record(tr, rbm_mode_tracker_record_count(tr) - 1, NULL, NULL,
                                              0, &rec.edge[k], &rec.n_out[k]));
            CHECK(rbm_svd_update(svd, m));
            CHECK(rbm_svd_get_singular_values(svd, rec.w[k], R));
            CHECK(rbm_svd_get_left_vectors(svd, U, NV * R));
            CHECK(rbm_machine_get_weights(m, W, NV * NH));
            rec.step[k] = step;
            rec.t[k] = t;
            for (size_t a = 0; a < K; a++) {
                double p2 = 0;
                for (size_t j = 0; j < NH; j++) {
                    double s = 0;
                    for (size_t i = 0; i < NV; i++)
                        s += E[i * NV + a] * W[i * NH + j];
                    p2 += s * s;
                }
                rec.proj[k][a] = sqrt(p2);
                double o1 = 0, o2 = 0;
                for (size_t i = 0; i < NV; i++) {
                    o1 += U[i * R + a] * E[i * NV + a];
                    o2 += U[i * R + a] * Ec[i * NV + a];
                }
                rec.ovl[k][a] = fabs(o1);
                rec.ovl_c[k][a] = fabs(o2);
            }
            double q = 0;
            for (size_t a = 0; a < 5; a++)
                for (size_t b = 0; b < 5; b++) {
                    double o1 = 0;
                    for (size_t i = 0; i < NV; i++)
                        o1 += U[i * R + a] * E[i * NV + b];
                    q += o1 * o1;
                }
            rec.sub5[k] = q / 5;
            if (!ovl_done && rec.w[k][0] >= W_LINEAR) {
                for (size_t a = 0; a < K; a++)
                    for (size_t b = 0; b < K; b++) {
                        double o1 = 0;
                        for (size_t i = 0; i < NV; i++)
                            o1 += U[i * R + a] * E[i * NV + b];
                        ovl_mat[a * K + b] = fabs(o1);
                    }
                CHECK(rbm_svd_pca_overlaps(svd, ds, K, ovl_c, K * K, NULL, 0));
                ovl_done = 1;
            }
        }
        if (t >= T_END - 1e-9)
            break;
        double eps = t < T_SWITCH - 1e-12 ? EPS1 : EPS2;
        size_t rows = 0;
        rbm_status st = rbm_batch_iter_next(it, batch, BATCH * NV, &rows);
        if (st != RBM_OK && st != RBM_DONE) {
            fprintf(stderr, "batch: %s\n", rbm_context_last_error(ctx));
            goto done;
        }
        CHECK(rbm_estimator_compute(est, rows, batch, rows * NV, g));
        CHECK(rbm_gradient_get_weights(g, gW, NV * NH));
        CHECK(rbm_machine_get_weights(m, W, NV * NH));
        for (size_t i = 0; i < NV * NH; i++)
            W[i] += eps * gW[i];
        CHECK(rbm_machine_set_weights(m, W, NV * NH));
        step++;
        t += eps;
    }
    printf("trained %llu steps to t = %.3f, %zu records\n", (unsigned long long)step, t, rec.n);

    /* The linear window: from t = 0 until the largest singular value first
     * reaches W_LINEAR (all modes still small, §6.4). */
    size_t k_lin = 0;
    while (k_lin < rec.n && rec.w[k_lin][0] < W_LINEAR)
        k_lin++;
    if (k_lin >= rec.n) {
        fprintf(stderr, "the top mode never left the linear regime\n");
        goto done;
    }
    double t_lin = rec.t[k_lin];
    printf("linear window: t in [0, %.3f] (step %llu, w_1 reaches %.2f)\n", t_lin,
           (unsigned long long)rec.step[k_lin], W_LINEAR);

    /* growth rates: singular values from when they stand out of the initial
     * noise (3 x the initial top singular value) to the end of the linear
     * window; projections |W^T e_a| over the whole window. */
    /* the very early window: until w_1 has grown 10-fold. Later on, any small
     * misalignment eps of u^1 (minibatch and chain noise) adds ~eps w_1 to
     * the projections on the slow directions, which then follow w_1 */
    size_t k_early = 0;
    while (k_early < k_lin && rec.w[k_early][0] < 10 * rec.w[0][0])
        k_early++;
    double t_early = rec.t[k_early];
    double rate_sv[K], rate_proj[K], rate_early[K], tf0[K], tf1[K];
    size_t npts[K];
    for (size_t a = 0; a < K; a++) {
        size_t k0, k1;
        fit_window(&rec, NULL, (const double(*)[R])rec.w, a, 3 * rec.w[0][0], INFINITY, &k0,
                   &k1);
        k1 = k_lin + 1;
        npts[a] = k0 < k1 ? k1 - k0 : 0;
        rate_sv[a] = npts[a] >= 5 ? fit_log(&rec, NULL, (const double(*)[R])rec.w, a, k0, k1)
                                  : NAN;
        tf0[a] = npts[a] >= 5 ? rec.t[k0] : NAN;
        tf1[a] = npts[a] >= 5 ? rec.t[k1 - 1] : NAN;
        rate_proj[a] = fit_log(&rec, (const double(*)[K])rec.proj, NULL, a, 0, k_lin + 1);
        rate_early[a] = fit_log(&rec, (const double(*)[K])rec.proj, NULL, a, 0, k_early + 1);
    }
    printf("very early window: t in [0, %.3f] (w_1 grown 10-fold)\n", t_early);
    printf("mode  lambda   predicted  measured(w_a)      |W^T e_a| (linear window)  |W^T e_a| "
           "(very early)\n");
    for (size_t a = 0; a < K; a++)
        printf("%4zu  %7.3f  %7.3f    %7.3f (%+5.1f%%)   %7.3f (%+5.1f%%)          %7.3f "
               "(%+5.1f%%)   w-fit t in [%.3f, %.3f], %zu records\n",
               a + 1, lam[a], lam[a] - 1, rate_sv[a], 100 * (rate_sv[a] / (lam[a] - 1) - 1),
               rate_proj[a], 100 * (rate_proj[a] / (lam[a] - 1) - 1), rate_early[a],
               100 * (rate_early[a] / (lam[a] - 1) - 1), tf0[a], tf1[a], npts[a]);

    /* crossings of the bulk edge: first record with n_outside >= a */
    uint64_t cross_step[K];
    double cross_t[K], cross_ovl[K], cross_pred[K];
    /* linear-theory estimate: the time at which |W^T e_a|(0) exp((lambda_a - 1) t)
     * reaches (1 + margin) x the edge measured at the crossing (margin as
     * documented in svd.h) */
    double margin = fmax(0.02, 1.01 * cbrt(1 / sqrt((double)NV) + 1 / sqrt((double)NH)) /
                                   (sqrt((double)NV) + sqrt((double)NH)));
    for (size_t a = 0; a < K; a++) {
        cross_step[a] = UINT64_MAX;
        cross_t[a] = NAN;
        cross_ovl[a] = NAN;
        cross_pred[a] = NAN;
        for (size_t k = 0; k < rec.n; k++)
            if (rec.n_out[k] >= a + 1) {
                cross_step[a] = rec.step[k];
                cross_t[a] = rec.t[k];
                cross_ovl[a] = rec.ovl[k][a];
                cross_pred[a] =
                    log((1 + margin) * rec.edge[k] / rec.proj[0][a]) / (lam[a] - 1);
                break;
            }
    }
    printf("bulk crossings (first record with n_outside >= a):\n");
    for (size_t a = 0; a < K; a++)
        printf("  %zu modes outside: step %llu, t = %.3f (|u^%zu . e_%zu| then %.3f; linear "
               "theory: t = %.3f)\n",
               a + 1, (unsigned long long)cross_step[a], cross_t[a], a + 1, a + 1, cross_ovl[a],
               cross_pred[a]);
    size_t n_out_end = rec.n_out[rec.n - 1];
    printf("end (t = %.2f): %zu modes outside the bulk (edge %.4f); top singular values:",
           rec.t[rec.n - 1], n_out_end, rec.edge[rec.n - 1]);
    for (size_t a = 0; a < 12; a++)
        printf(" %.3f", rec.w[rec.n - 1][a]);
    printf("\n");
    printf("overlaps |u^a . e_a| at the end of the linear window (t = %.3f):", t_lin);
    for (size_t a = 0; a < K; a++)
        printf(" %.3f", rec.ovl[k_lin][a]);
    printf("\n  with the centred-covariance PCA directions:");
    for (size_t a = 0; a < K; a++)
        printf(" %.3f", rec.ovl_c[k_lin][a]);
    printf("\n");
    printf("overlap matrix |u^a . e_b| at t = %.3f (rows a, columns b):\n", t_lin);
    for (size_t a = 0; a < K; a++) {
        printf("  ");
        for (size_t b = 0; b < K; b++)
            printf(" %.3f", ovl_mat[a * K + b]);
        printf("\n");
    }

    /* files */
    FILE *f;
    snprintf(path, sizeof path, "%s/spectral_synthetic_tracker.csv", dir);
    CHECK(rbm_mode_tracker_write_csv(tr, path));
    if (ex_write_series(path, sizeof path, dir, "spectral_synthetic_sv.csv", "w", R, rec.n, rec.step, rec.t,
                        rec.edge, rec.n_out, rec.w[0]) != 0 ||
        ex_write_series(path, sizeof path, dir, "spectral_synthetic_proj.csv", "p", K, rec.n, rec.step, rec.t,
                        NULL, NULL, rec.proj[0]) != 0)
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_synthetic_overlaps.csv")))
        goto io;
    fprintf(f, "step,t");
    ex_csv_columns(f, "", "ovl", K, "");
    ex_csv_columns(f, "", "ovl_centred", K, "");
    fprintf(f, ",subspace5\n");
    for (size_t k = 0; k < rec.n; k++) {
        fprintf(f, "%llu,%.6f", (unsigned long long)rec.step[k], rec.t[k]);
        ex_csv_values(f, 'f', 6, rec.ovl[k], K, "");
        ex_csv_values(f, 'f', 6, rec.ovl_c[k], K, "");
        fprintf(f, ",%.6f\n", rec.sub5[k]);
    }
    if (fclose(f))
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_synthetic_overlap_matrix.csv")))
        goto io;
    fprintf(f, "alpha,beta,overlap,overlap_centred_pca\n");
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++)
            fprintf(f, "%zu,%zu,%.6f,%.6f\n", a + 1, b + 1, ovl_mat[a * K + b], ovl_c[a * K + b]);
    if (fclose(f))
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_synthetic_rates.csv")))
        goto io;
    fprintf(f, "mode,lambda,predicted,measured_sv,measured_proj,t_from,t_to,"
               "measured_proj_early,t_to_early\n");
    for (size_t a = 0; a < K; a++)
        fprintf(f, "%zu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", a + 1, lam[a], lam[a] - 1,
                rate_sv[a], rate_proj[a], tf0[a], tf1[a], rate_early[a], t_early);
    if (fclose(f))
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_synthetic_crossings.csv")))
        goto io;
    fprintf(f, "n_outside,step,t,overlap,t_linear_theory\n");
    for (size_t a = 0; a < K; a++)
        if (cross_step[a] != UINT64_MAX)
            fprintf(f, "%zu,%llu,%.6f,%.6f,%.6f\n", a + 1, (unsigned long long)cross_step[a],
                    cross_t[a], cross_ovl[a], cross_pred[a]);
    if (fclose(f))
        goto io;
    plots(dir, lam, rec.proj[0], t_lin);

    /* CHECK: the qualitative claims */
    int ok = 1;
    for (size_t a = 0; a < 3; a++) {
        double rel = fabs(rate_sv[a] / (lam[a] - 1) - 1);
        double relp = fabs(rate_proj[a] / (lam[a] - 1) - 1);
        if (!(rel <= TOL_RATE_SV)) {
            printf("FAIL: growth rate of w_%zu off by %.1f%% (tolerance %.0f%%)\n", a + 1,
                   100 * rel, 100 * TOL_RATE_SV);
            ok = 0;
        }
        if (!(relp <= TOL_RATE_PROJ)) {
            printf("FAIL: growth rate of |W^T e_%zu| off by %.1f%% (tolerance %.0f%%)\n", a + 1,
                   100 * relp, 100 * TOL_RATE_PROJ);
            ok = 0;
        }
    }
    for (size_t a = 0; a < K; a++) {
        double rel = fabs(rate_early[a] / (lam[a] - 1) - 1);
        if (!(rel <= TOL_RATE_EARLY)) {
            printf("FAIL: very early growth rate of |W^T e_%zu| off by %.1f%% (tolerance "
                   "%.0f%%)\n",
                   a + 1, 100 * rel, 100 * TOL_RATE_EARLY);
            ok = 0;
        }
    }
    if (!(rec.ovl[k_lin][0] > MIN_OVERLAP)) {
        printf("FAIL: |u^1 . e_1| = %.3f at t = %.3f (need > %.2f)\n", rec.ovl[k_lin][0], t_lin,
               MIN_OVERLAP);
        ok = 0;
    }
    if (n_out_end < MIN_OUTSIDE) {
        printf("FAIL: %zu modes outside the bulk at the end (need >= %zu)\n", n_out_end,
               MIN_OUTSIDE);
        ok = 0;
    }
    if (!(cross_step[0] < cross_step[2] && cross_step[2] != UINT64_MAX)) {
        printf("FAIL: the first modes did not leave the bulk one after another\n");
        ok = 0;
    }
    printf(ok ? "OK: the spectral story holds (re-implementation)\n" : "FAILED\n");
    rc = ok ? 0 : 1;
    goto done;
io:
    perror(path);
done:
    rbm_mode_tracker_free(tr);
    rbm_svd_free(svd);
    rbm_gradient_free(g);
    rbm_estimator_free(est);
    rbm_batch_iter_free(it);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
    free(X);
    free(C);
    free(E);
    free(batch);
    return rc;
}
