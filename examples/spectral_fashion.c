/* spectral_fashion.c — the spectral story of RBM learning on Fashion-MNIST
 * (docs/theory.md §5.1, §6.4, §7), a re-implementation (the papers' settings are
 * not known: these results are ours, not the papers').
 *
 * Data: the first M = 10000 training images of Fashion-MNIST, binarised
 * (pixel > 127) to +-1 (RBM_TRANSFORM_BINARIZE_ISING).
 * Machine: 784 +-1 visible and N_h = 100 +-1 hidden units, visible biases matched to the data (rbm_machine_init_visible_bias_
 * from_data: a_i = atanh <s_i>), hidden biases 0. W(0) = 1e-6 N(0,1): the
 * linear regime is scale-free (see below), so a tiny start lengthens it. All parameters are trained
 * (rbm_trainer, PCD-10 with 100 persistent chains, plain SGD, minibatches of
 * 100).
 * Time convention (docs/theory.md §0.2): one SGD step with learning rate eps
 * advances t by eps; the learning rate is 2e-4 until t = 0.08 (the fast early
 * growth is resolved), 2e-3 until t = 0.6 and 1e-2 until t = 3.
 *
 * Why +-1 units: with zero hidden biases E[sigma_j|s] = tanh((W^T s)_j) has
 * no constant part, so the minibatch and chain noise of the gradient is
 * proportional to W (for {0,1} hidden units the constant sigm(b) multiplies
 * the fluctuating chain mean and adds an O(1) rank-one noise that swamps a
 * small W).
 *
 * Linear-regime prediction [DERIVED here like docs/theory.md §6.4's Bernoulli
 * case]: for small W, matched visible biases (model means m_i = tanh a_i)
 * and zero hidden biases,
 *   data term  <s tanh(W^T s)^T>_data  ~ (Cov_data + <s><s>^T) W,
 *   model term <s tanh(W^T s)^T>_model ~ (D_v + m m^T) W,
 * so dW/dt ~ (Cov_data - D_v) W with D_v = diag(1 - m_i^2): the component of
 * W along an eigenvector e_a of A = Cov_data - D_v (eigenvalue mu_a) grows
 * at rate mu_a. (This is the +-1 form of (Cov_data - D_v) W D_h with
 * D_h = tanh'(0) = 1.) The top eigenpairs of A are computed by subspace
 * iteration (A is 784 x 784).
 *
 * Measured: singular values over training with the bulk edge (rbm_mode_
 * tracker), the steps at which the modes leave the bulk, the growth rates
 * of |W^T e_a| and of the sorted singular values over the early window
 * (until w_1 reaches W_LINEAR) against mu_a, the overlaps of u^a with the
 * e_a and with the data's principal directions (rbm_svd_pca_overlaps, the
 * centred covariance), and the first modes u^a drawn as 28 x 28 images.
 *
 * Usage: spectral_fashion [DIR [IDX_FILE]]; DIR (default ".") receives
 *   spectral_fashion_tracker.csv, _sv.csv, _proj.csv, _overlaps.csv,
 *   _pca_overlaps.csv, _rates.csv, _crossings.csv, _modes.csv and the
 *   gnuplot scripts / figures spectral_fashion_{sv,rates,overlaps,modes}.png.
 * IDX_FILE defaults to
 *   /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
 * Exits 77 (skip) when the data file is absent, 1 on an error, else 0. It is
 * built but not run as a test (about a minute or two of training).
 * Build:  cc spectral_fashion.c example_util.c $(pkg-config --cflags --libs rbm) -lm */
#include <rbm/rbm.h>

#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

enum {
    M = 10000, /* images used                   */
    NV = 784,
    NH = 100,
    R = NH,    /* rank of W                     */
    BATCH = 100,
    PCD_K = 10,
    K = 8,     /* modes analysed in detail      */
    KB = 24,   /* subspace-iteration block      */
    MAX_REC = 2000
};
static const double W0_STD = 1e-6;
/* learning-rate schedule: eps PHASE_EPS[p] until t = PHASE_END[p], a record
 * every PHASE_EVERY[p] steps */
#define N_PHASES 3
static const double PHASE_END[N_PHASES] = {0.08, 0.6, 3.0};
static const double PHASE_EPS[N_PHASES] = {2e-4, 2e-3, 1e-2};
static const int PHASE_EVERY[N_PHASES] = {2, 5, 5};
#define T_END (PHASE_END[N_PHASES - 1])
static const double W_LINEAR = 0.1;

/* Orthonormalise the KB columns of X (n x KB, X[i*KB + c]) by modified
 * Gram-Schmidt, twice. */
static void orthonormalise(size_t n, double *X)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t c = 0; c < KB; c++) {
            for (size_t p = 0; p < c; p++) {
                double d = 0;
                for (size_t i = 0; i < n; i++)
                    d += X[i * KB + c] * X[i * KB + p];
                for (size_t i = 0; i < n; i++)
                    X[i * KB + c] -= d * X[i * KB + p];
            }
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += X[i * KB + c] * X[i * KB + c];
            s = sqrt(s);
            for (size_t i = 0; i < n; i++)
                X[i * KB + c] /= s;
        }
}

/* Top K eigenpairs of the symmetric n x n matrix A by subspace iteration on
 * A + shift I (shift makes it positive semi-definite) with a Rayleigh-Ritz
 * step; returns the largest residual |A e - mu e| of the K pairs. E gets
 * the eigenvectors as columns (E[i*K + a]). */
static double top_eigen(size_t n, const double *A, double shift, double *mu, double *E,
                        unsigned seed)
{
    double *X = malloc(n * KB * sizeof(double)), *Y = malloc(n * KB * sizeof(double));
    double H[KB * KB], lam[KB], Z[KB * KB];
    if (!X || !Y)
        abort();
    unsigned long long s = seed * 2654435761ull + 12345;
    for (size_t i = 0; i < n * KB; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        X[i] = (double)(s >> 11) / 9007199254740992.0 - 0.5;
    }
    orthonormalise(n, X);
    for (int it = 0; it < 300; it++) {
        for (size_t i = 0; i < n; i++) {
            double *y = Y + i * KB;
            for (size_t c = 0; c < KB; c++)
                y[c] = shift * X[i * KB + c];
            for (size_t j = 0; j < n; j++) {
                double aij = A[i * n + j];
                const double *x = X + j * KB;
                for (size_t c = 0; c < KB; c++)
                    y[c] += aij * x[c];
            }
        }
        memcpy(X, Y, n * KB * sizeof(double));
        orthonormalise(n, X);
    }
    /* Rayleigh-Ritz: H = X^T A X */
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < KB; c++) {
            double acc = 0;
            for (size_t j = 0; j < n; j++)
                acc += A[i * n + j] * X[j * KB + c];
            Y[i * KB + c] = acc;
        }
    for (size_t a = 0; a < KB; a++)
        for (size_t b = 0; b < KB; b++) {
            double acc = 0;
            for (size_t i = 0; i < n; i++)
                acc += X[i * KB + a] * Y[i * KB + b];
            H[a * KB + b] = acc;
        }
    for (size_t a = 0; a < KB; a++)
        for (size_t b = 0; b < a; b++)
            H[a * KB + b] = H[b * KB + a] = 0.5 * (H[a * KB + b] + H[b * KB + a]);
    ex_jacobi(KB, H, lam, Z);
    double res = 0;
    for (size_t a = 0; a < K; a++) {
        mu[a] = lam[a];
        for (size_t i = 0; i < n; i++) {
            double acc = 0;
            for (size_t c = 0; c < KB; c++)
                acc += X[i * KB + c] * Z[c * KB + a];
            E[i * K + a] = acc;
        }
        double r2 = 0;
        for (size_t i = 0; i < n; i++) {
            double acc = -mu[a] * E[i * K + a];
            for (size_t j = 0; j < n; j++)
                acc += A[i * n + j] * E[j * K + a];
            r2 += acc * acc;
        }
        res = fmax(res, sqrt(r2));
    }
    free(X);
    free(Y);
    return res;
}

typedef struct records {
    size_t n;
    uint64_t step[MAX_REC];
    double t[MAX_REC], edge[MAX_REC];
    size_t n_out[MAX_REC];
    double w[MAX_REC][R];    /* sorted singular values */
    double proj[MAX_REC][K]; /* |W^T e_a|              */
    double ovl[MAX_REC][K];  /* |u^a . e_a|            */
    double sub[MAX_REC];     /* (1/K) sum_{a,b<K} (u^a . e_b)^2 */
} records;
static records rec;

static void plots(const char *dir, const double *mu, const double *p0, double t_lin,
                  double t_8)
{
    if (ex_gnuplot_missing("figures"))
        return;
    static const char *colors[K] = {"#e41a1c", "#377eb8", "#4daf4a", "#984ea3",
                                    "#ff7f00", "#a65628", "#f781bf", "#666666"};
    static char body[32768];
    size_t o = 0;
#define ADD(...) o += (size_t)snprintf(body + o, sizeof body - o, __VA_ARGS__)
    /* 1. singular values with the bulk edge */
    ADD("set multiplot layout 1,2 title 'Fashion-MNIST (10000 images, +-1), +-1 RBM with "
        "N_h = 100, PCD-10 - re-implementation'\n");
    ADD("set xlabel 'learning time t (sum of learning rates)'\nset ylabel 'singular values "
        "w_{/Symbol a} of W'\nset logscale y\nset format y '10^{%%L}'\nset grid\n"
        "set key right bottom opaque\nset xrange [0:%g]\nset yrange [1e-6:30]\n",
        0.3);
    ADD("set title 'early training (log scale); grey: all 100 singular values'\n");
    ADD("set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb 'gray30'\n", t_lin, t_lin);
    ADD("plot for [c=5:%d] 'spectral_fashion_sv.csv' using 2:c with lines lc rgb '#cccccc' "
        "notitle, ",
        4 + R);
    for (int a = 0; a < K; a++)
        ADD("'spectral_fashion_sv.csv' using 2:%d with lines lw 2 lc rgb '%s' title 'w_%d', ",
            5 + a, colors[a], a + 1);
    ADD("'spectral_fashion_sv.csv' using 2:3 with lines lw 2 dt 2 lc rgb 'black' title 'bulk "
        "edge'\n");
    ADD("unset arrow\nset xrange [0:%g]\nset title 'whole run (log scale)'\nset y2range [0:%d]\n"
        "set y2tics 10\nset ytics nomirror\nset y2label 'modes outside the bulk'\n",
        T_END, R);
    ADD("plot for [c=5:%d] 'spectral_fashion_sv.csv' using 2:c with lines lc rgb '#cccccc' "
        "notitle, ",
        4 + R);
    for (int a = 0; a < K; a++)
        ADD("'spectral_fashion_sv.csv' using 2:%d with lines lw 2 lc rgb '%s' notitle, ", 5 + a,
            colors[a]);
    ADD("'spectral_fashion_sv.csv' using 2:3 with lines lw 2 dt 2 lc rgb 'black' title 'bulk "
        "edge', 'spectral_fashion_sv.csv' using 2:4 axes x1y2 with steps lc rgb '#1b7837' "
        "title 'modes outside (right axis)'\nunset multiplot\n");
    ex_figure_script(dir, "spectral_fashion", "spectral_fashion_sv", "900,600", body);

    /* 2. growth rates */
    o = 0;
    ADD("set multiplot layout 1,2 title 'Fashion-MNIST, early growth vs the linear regime "
        "dW/dt = (Cov - D_v) W - re-implementation'\n");
    ADD("set title '|W^T e_{/Symbol a}| (lines), predicted slopes {/Symbol m}_{/Symbol a} "
        "(dashed)'\nset xlabel 'learning time t'\nset ylabel '|W^T e_{/Symbol a}|'\n"
        "set logscale y\nset format y '10^{%%L}'\nset grid\nset key left top\n"
        "set xrange [0:%g]\n",
        1.3 * t_lin);
    ADD("set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb 'gray30'\nplot ", t_lin,
        t_lin);
    for (int a = 0; a < 5; a++)
        ADD("'spectral_fashion_proj.csv' using 2:%d with lines lw 2 lc rgb '%s' title "
            "'{/Symbol a} = %d', ",
            3 + a, colors[a], a + 1);
    for (int a = 0; a < 5; a++)
        ADD("%.8g*exp(%.8g*x) with lines dt 2 lw 1.5 lc rgb '%s' notitle%s", p0[a], mu[a],
            colors[a], a < 4 ? ", " : "\n");
    double hi = mu[0];
    ADD("unset arrow\nunset logscale y\nset format y '%%g'\n");
    ADD("set title 'fitted growth rates'\nset xlabel 'predicted rate "
        "{/Symbol m}_{/Symbol a} (eigenvalues of Cov_{data} - D_v)'\nset ylabel 'measured "
        "d ln(.)/dt'\nset key right bottom font ',10'\nset xrange [0:%g]\nset yrange [0:%g]\n"
        "set size ratio 1\n",
        1.1 * hi, 1.1 * hi);
    ADD("plot x with lines dt 2 lc rgb 'black' title 'measured = predicted', "
        "'spectral_fashion_rates.csv' using 3:4 with points pt 7 ps 1.5 lc rgb '#e41a1c' "
        "title 'singular values w_{/Symbol a}', "
        "'spectral_fashion_rates.csv' using 3:5 with points pt 6 ps 2 lw 2 lc rgb '#377eb8' "
        "title '|W^T e_{/Symbol a}|, linear window', "
        "'spectral_fashion_rates.csv' using 3:8 with points pt 5 ps 1 lc rgb '#4daf4a' "
        "title '|W^T e_{/Symbol a}|, until w_1 grows 10-fold', "
        "'spectral_fashion_rates.csv' using 3:5:(sprintf('%%d',$1)) with labels offset "
        "1.5,-0.5 notitle\nunset multiplot\n");
    ex_figure_script(dir, "spectral_fashion", "spectral_fashion_rates", "900,600", body);

    /* 3. overlaps */
    o = 0;
    ADD("set multiplot layout 1,3 title 'Fashion-MNIST: alignment of the modes u^{/Symbol a} - "
        "re-implementation'\n");
    ADD("set title '|u^{/Symbol a} . e_{/Symbol a}| (e: eigenvectors of Cov - D_v)'\n"
        "set xlabel 'learning time t (log scale)'\nset ylabel 'overlap'\nset yrange [0:1.05]\n"
        "set grid\nset key outside below horizontal maxcols 3 font ',9'\nset logscale x\n"
        "set xrange [0.004:%g]\n",
        T_END);
    ADD("set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb 'gray30'\nplot ", t_lin,
        t_lin);
    for (int a = 0; a < 5; a++)
        ADD("'spectral_fashion_overlaps.csv' using 2:%d with lines lw 2 lc rgb '%s' title "
            "'{/Symbol a} = %d', ",
            3 + a, colors[a], a + 1);
    ADD("'spectral_fashion_overlaps.csv' using 2:%d with lines lw 2.5 lc rgb 'black' title "
        "'top-%d subspace'\n",
        3 + K, K);
    ADD("unset arrow\nunset logscale x\nunset grid\nset title '|u^{/Symbol a} . "
        "f_{/Symbol b}| at t = %.3f (w_1 = %.1f)'\nset xlabel 'data PCA direction "
        "{/Symbol b}'\nset ylabel 'mode {/Symbol a}'\n"
        "set xrange [0.5:%d.5]\nset yrange [%d.5:0.5]\nset cbrange [0:1]\nset size ratio 1\n"
        "set palette defined (0 'white', 1 '#08306b')\nset xtics 1\nset ytics 1\n",
        t_lin, W_LINEAR, K, K);
    ADD("plot 'spectral_fashion_pca_overlaps.csv' using 2:1:3 with image notitle, "
        "'spectral_fashion_pca_overlaps.csv' using 2:1:(sprintf('%%.2f',$3)) with labels "
        "font ',7' tc rgb '#cc4400' notitle\n");
    ADD("set title '... at t = %.3f (w_%d = %.1f)'\n", t_8, K, W_LINEAR);
    ADD("plot 'spectral_fashion_pca_overlaps.csv' using 2:1:4 with image notitle, "
        "'spectral_fashion_pca_overlaps.csv' using 2:1:(sprintf('%%.2f',$4)) with labels "
        "font ',7' tc rgb '#cc4400' notitle\nunset multiplot\n");
    ex_figure_script(dir, "spectral_fashion", "spectral_fashion_overlaps", "1300,520", body);

    /* 4. the first modes as images, next to the eigenvectors e_a */
    o = 0;
    ADD("set multiplot layout 2,%d title 'Fashion-MNIST: top: modes u^{/Symbol a} of W at "
        "t = %.3f (w_%d = %.1f); bottom: eigenvectors e_{/Symbol a} of Cov - D_v - "
        "re-implementation'\n",
        K, t_8, K, W_LINEAR);
    ADD("unset key\nunset xtics\nunset ytics\nunset colorbox\nset size ratio 1\n"
        "set xrange [-0.5:27.5]\nset yrange [27.5:-0.5]\nset palette defined (-1 '#2166ac', "
        "0 'white', 1 '#b2182b')\nset cbrange [-1:1]\nset margins 1,1,1,2\n");
    for (int row = 0; row < 2; row++)
        for (int a = 0; a < K; a++)
            ADD("set title '%s_%d'\nplot 'spectral_fashion_modes.csv' using 2:1:($%d) with "
                "image\n",
                row == 0 ? "u" : "e", a + 1, 3 + row * K + a);
    ADD("unset multiplot\n");
    ex_figure_script(dir, "spectral_fashion", "spectral_fashion_modes", "1200,380", body);
#undef ADD
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    const char *data_path = argc > 2 ? argv[2] : DEFAULT_DATA;
    FILE *probe = fopen(data_path, "rb");
    if (!probe) {
        printf("SKIP: %s not found\n", data_path);
        return 77;
    }
    fclose(probe);

    int rc = 1;
    rbm_context *ctx = NULL;
    rbm_dataset *raw = NULL, *sub = NULL, *ds = NULL;
    rbm_machine *m = NULL;
    rbm_trainer *tr = NULL;
    rbm_svd *svd = NULL;
    rbm_mode_tracker *mt = NULL;
    double *X = malloc(sizeof(double) * (size_t)M * NV);
    double *A = malloc(sizeof(double) * NV * NV);
    static double E[NV * K], mu[K], mean[NV], a_bias[NV], W[NV * NH], U[NV * R],
        pca[K * K], U_8[NV * K], pca_8[K * K];
    char path[4096];
    if (!X || !A)
        return 1;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;

    /* data: first M images, binarised to +-1 */
    CHECK(rbm_dataset_load_idx(ctx, data_path, &raw));
    CHECK(rbm_dataset_slice(raw, 0, M, &sub));
    CHECK(rbm_dataset_transform(sub, RBM_TRANSFORM_BINARIZE_ISING, 127, &ds));
    rbm_dataset_free(raw);
    raw = NULL;
    rbm_dataset_free(sub);
    sub = NULL;
    CHECK(rbm_dataset_get_rows(ds, 0, M, X, (size_t)M * NV));
    CHECK(rbm_dataset_mean(ds, mean, NV));
    CHECK(rbm_dataset_covariance(ds, A, NV * NV));

    /* machine with matched visible biases */
    CHECK(rbm_machine_new(ctx, NV, NH, RBM_UNIT_ISING, RBM_UNIT_ISING, &m));
    CHECK(rbm_machine_init_normal(m, W0_STD, 21));
    CHECK(rbm_machine_init_visible_bias_from_data(m, ds));
    CHECK(rbm_machine_get_visible_bias(m, a_bias, NV));

    /* A = Cov - D_v with the model's variances 1 - tanh^2 a_i */
    double trace_cov = 0;
    for (size_t i = 0; i < NV; i++) {
        for (size_t j = 0; j < i; j++)
            A[i * NV + j] = A[j * NV + i];
        trace_cov += A[i * NV + i];
        double mi = tanh(a_bias[i]);
        A[i * NV + i] -= 1 - mi * mi;
    }
    double res = top_eigen(NV, A, 1.0, mu, E, 5);
    printf("data: %d images, trace Cov = %.2f; top eigenvalues mu of Cov - D_v:", M, trace_cov);
    for (size_t a = 0; a < K; a++)
        printf(" %.3f", mu[a]);
    printf(" (largest residual %.1e)\n", res);
    if (!(res < 1e-6 * mu[0])) {
        fprintf(stderr, "subspace iteration did not converge\n");
        goto done;
    }

    CHECK(rbm_trainer_new(m, ds, BATCH, 22, &tr));
    CHECK(rbm_trainer_set_estimator(tr, RBM_ESTIMATOR_PCD, PCD_K));
    CHECK(rbm_trainer_set_int(tr, RBM_TRAINER_MONITOR_EVERY, 0));
    CHECK(rbm_svd_new(m, &svd));
    CHECK(rbm_mode_tracker_new(m, R, &mt));

    uint64_t step = 0;
    double t = 0, t_rec_cost = 0;
    int lin_done = 0, snap8_done = 0;
    double t_lin = NAN, t_8 = NAN;
    for (;;) {
        int phase = 0;
        while (phase < N_PHASES - 1 && t >= PHASE_END[phase] - 1e-9)
            phase++;
        int every = PHASE_EVERY[phase];
        if (step % (uint64_t)every == 0 || t >= T_END - 1e-9) {
            if (rec.n >= MAX_REC) {
                fprintf(stderr, "too many records\n");
                goto done;
            }
            size_t k = rec.n++;
            CHECK(rbm_mode_tracker_record(mt, step));
            CHECK(rbm_mode_tracker_get_record(mt, rbm_mode_tracker_record_count(mt) - 1, NULL, NULL,
                                              0, &rec.edge[k], &rec.n_out[k]));
            CHECK(rbm_svd_update(svd, m));
            CHECK(rbm_svd_get_singular_values(svd, rec.w[k], R));
            CHECK(rbm_svd_get_left_vectors(svd, U, NV * R));
            CHECK(rbm_machine_get_weights(m, W, NV * NH));
            rec.step[k] = step;
            rec.t[k] = t;
            double q = 0;
            for (size_t a = 0; a < K; a++) {
                double p2 = 0;
                for (size_t j = 0; j < NH; j++) {
                    double s = 0;
                    for (size_t i = 0; i < NV; i++)
                        s += E[i * K + a] * W[i * NH + j];
                    p2 += s * s;
                }
                rec.proj[k][a] = sqrt(p2);
                for (size_t b = 0; b < K; b++) {
                    double ov = 0;
                    for (size_t i = 0; i < NV; i++)
                        ov += U[i * R + a] * E[i * K + b];
                    q += ov * ov;
                    if (a == b)
                        rec.ovl[k][a] = fabs(ov);
                }
            }
            rec.sub[k] = q / K;
            if (!lin_done && rec.w[k][0] >= W_LINEAR) {
                lin_done = 1;
                t_lin = t;
                CHECK(rbm_svd_pca_overlaps(svd, ds, K, pca, K * K, NULL, 0));
            }
            if (!snap8_done && rec.w[k][K - 1] >= W_LINEAR) {
                snap8_done = 1;
                t_8 = t;
                for (size_t i = 0; i < NV; i++)
                    for (size_t a = 0; a < K; a++)
                        U_8[i * K + a] = U[i * R + a];
                CHECK(rbm_svd_pca_overlaps(svd, ds, K, pca_8, K * K, NULL, 0));
            }
        }
        if (t >= T_END - 1e-9)
            break;
        double eps = PHASE_EPS[phase];
        CHECK(rbm_trainer_set_real(tr, RBM_TRAINER_LEARNING_RATE, eps));
        rbm_status st = rbm_trainer_step(tr);
        if (st != RBM_OK && st != RBM_DONE) {
            fprintf(stderr, "training step: %s: %s\n", rbm_status_name(st),
                    rbm_context_last_error(ctx));
            goto done;
        }
        step++;
        t += eps;
    }
    (void)t_rec_cost;
    printf("trained %llu steps (%.1f epochs) to t = %.2f, %zu records\n",
           (unsigned long long)step, (double)step * BATCH / M, t, rec.n);
    if (!lin_done || !snap8_done) {
        fprintf(stderr, "w_1 or w_%d never reached %.2f\n", K, W_LINEAR);
        goto done;
    }
    size_t k_lin = 0;
    while (rec.t[k_lin] < t_lin)
        k_lin++;
    printf("linear window: t in [0, %.3f] (step %llu, w_1 reaches %.2f)\n", t_lin,
           (unsigned long long)rec.step[k_lin], W_LINEAR);

    /* rates */
    /* the very early window: until w_1 has grown 10-fold. Later on, any small
     * misalignment eps of u^1 (minibatch and chain noise) adds ~eps w_1 to
     * the projections on the slow directions, which then follow w_1 */
    size_t k_early = 0;
    while (k_early < k_lin && rec.w[k_early][0] < 10 * rec.w[0][0])
        k_early++;
    double t_early = rec.t[k_early];
    double rate_sv[K], rate_proj[K], rate_early[K], tf0[K];
    size_t npts[K];
    static double xs[MAX_REC], ys[MAX_REC];
    for (size_t a = 0; a < K; a++) {
        size_t k0 = 0;
        while (k0 < k_lin && rec.w[k0][a] <= 3 * rec.w[0][0])
            k0++;
        npts[a] = k_lin + 1 - k0;
        rate_sv[a] = NAN;
        tf0[a] = NAN;
        if (npts[a] >= 5) {
            for (size_t k = k0; k <= k_lin; k++) {
                xs[k - k0] = rec.t[k];
                ys[k - k0] = log(rec.w[k][a]);
            }
            rate_sv[a] = ex_slope(xs, ys, npts[a]);
            tf0[a] = rec.t[k0];
        }
        for (size_t k = 0; k <= k_lin; k++) {
            xs[k] = rec.t[k];
            ys[k] = log(rec.proj[k][a]);
        }
        rate_proj[a] = ex_slope(xs, ys, k_lin + 1);
        rate_early[a] = ex_slope(xs, ys, k_early + 1);
    }
    printf("very early window: t in [0, %.4f] (w_1 grown 10-fold)\n", t_early);
    printf("mode  mu (predicted)  measured(w_a)       |W^T e_a| (linear window)  |W^T e_a| "
           "(very early)\n");
    for (size_t a = 0; a < K; a++)
        printf("%4zu  %8.3f        %8.3f (%+5.1f%%)   %8.3f (%+5.1f%%)         %8.3f (%+5.1f%%)"
               "   w-fit from t = %.3f, %zu records\n",
               a + 1, mu[a], rate_sv[a], 100 * (rate_sv[a] / mu[a] - 1), rate_proj[a],
               100 * (rate_proj[a] / mu[a] - 1), rate_early[a],
               100 * (rate_early[a] / mu[a] - 1), tf0[a], npts[a]);

    /* crossings */
    uint64_t cross_step[K];
    double cross_t[K];
    for (size_t a = 0; a < K; a++) {
        cross_step[a] = UINT64_MAX;
        cross_t[a] = NAN;
        for (size_t k = 0; k < rec.n; k++)
            if (rec.n_out[k] >= a + 1) {
                cross_step[a] = rec.step[k];
                cross_t[a] = rec.t[k];
                break;
            }
    }
    printf("bulk crossings (first record with n_outside >= a):");
    for (size_t a = 0; a < K; a++)
        printf(" %zu: step %llu (t = %.3f);", a + 1, (unsigned long long)cross_step[a],
               cross_t[a]);
    printf("\n");
    size_t n_end = rec.n - 1;
    printf("end (t = %.2f): %zu modes outside the bulk (edge %.4f); top singular values:",
           rec.t[n_end], rec.n_out[n_end], rec.edge[n_end]);
    for (size_t a = 0; a < 10; a++)
        printf(" %.3f", rec.w[n_end][a]);
    printf("\n");
    printf("|u^a . e_a| at the end of the linear window:");
    for (size_t a = 0; a < K; a++)
        printf(" %.3f", rec.ovl[k_lin][a]);
    printf("; subspace %.3f\n", rec.sub[k_lin]);
    printf("|u^a . f_b| with the data PCA (centred covariance) at t = %.3f:\n", t_lin);
    for (size_t a = 0; a < K; a++) {
        printf("  ");
        for (size_t b = 0; b < K; b++)
            printf(" %.3f", pca[a * K + b]);
        printf("\n");
    }

    printf("|u^a . f_b| with the data PCA when w_%d reaches %.2f (t = %.3f):\n", K, W_LINEAR,
           t_8);
    for (size_t a = 0; a < K; a++) {
        printf("  ");
        for (size_t b = 0; b < K; b++)
            printf(" %.3f", pca_8[a * K + b]);
        printf("\n");
    }
    {
        size_t k8 = 0;
        while (rec.t[k8] < t_8)
            k8++;
        printf("|u^a . e_a| (Cov - D_v) then:");
        for (size_t a = 0; a < K; a++)
            printf(" %.3f", rec.ovl[k8][a]);
        printf("; subspace %.3f\n", rec.sub[k8]);
    }

    /* files */
    FILE *f;
    snprintf(path, sizeof path, "%s/spectral_fashion_tracker.csv", dir);
    CHECK(rbm_mode_tracker_write_csv(mt, path));
    if (ex_write_series(path, sizeof path, dir, "spectral_fashion_sv.csv", "w", R, rec.n, rec.step, rec.t,
                        rec.edge, rec.n_out, rec.w[0]) != 0 ||
        ex_write_series(path, sizeof path, dir, "spectral_fashion_proj.csv", "p", K, rec.n, rec.step, rec.t,
                        NULL, NULL, rec.proj[0]) != 0)
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_fashion_overlaps.csv")))
        goto io;
    ex_csv_columns(f, "step,t", "ovl", K, ",subspace\n");
    for (size_t k = 0; k < rec.n; k++) {
        fprintf(f, "%llu,%.6f", (unsigned long long)rec.step[k], rec.t[k]);
        ex_csv_values(f, 'f', 6, rec.ovl[k], K, "");
        fprintf(f, ",%.6f\n", rec.sub[k]);
    }
    if (fclose(f))
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_fashion_pca_overlaps.csv")))
        goto io;
    fprintf(f, "alpha,beta,overlap_t_lin,overlap_t_%d\n", K);
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++)
            fprintf(f, "%zu,%zu,%.6f,%.6f\n", a + 1, b + 1, pca[a * K + b], pca_8[a * K + b]);
    if (fclose(f))
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_fashion_rates.csv")))
        goto io;
    fprintf(f, "mode,mu,predicted,measured_sv,measured_proj,t_from_sv,t_to,"
               "measured_proj_early,t_to_early\n");
    for (size_t a = 0; a < K; a++)
        fprintf(f, "%zu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", a + 1, mu[a], mu[a],
                rate_sv[a], rate_proj[a], tf0[a], t_lin, rate_early[a], t_early);
    if (fclose(f))
        goto io;
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_fashion_crossings.csv")))
        goto io;
    fprintf(f, "n_outside,step,t\n");
    for (size_t a = 0; a < K; a++)
        if (cross_step[a] != UINT64_MAX)
            fprintf(f, "%zu,%llu,%.6f\n", a + 1, (unsigned long long)cross_step[a], cross_t[a]);
    if (fclose(f))
        goto io;
    /* modes as images: row, col, u_1..u_K (sign fixed to match e_a), e_1..e_K,
     * each scaled to max |.| = 1 */
    if (!(f = ex_csv_open(path, sizeof path, dir, "spectral_fashion_modes.csv")))
        goto io;
    double su[K], se[K];
    for (size_t a = 0; a < K; a++) {
        double d = 0, mu_ = 0, me = 0;
        for (size_t i = 0; i < NV; i++) {
            d += U_8[i * K + a] * E[i * K + a];
            mu_ = fmax(mu_, fabs(U_8[i * K + a]));
            me = fmax(me, fabs(E[i * K + a]));
        }
        su[a] = (d < 0 ? -1 : 1) / mu_;
        se[a] = 1 / me;
    }
    fprintf(f, "row,col");
    ex_csv_columns(f, "", "u", K, "");
    ex_csv_columns(f, "", "e", K, "");
    fprintf(f, "\n");
    for (size_t i = 0; i < NV; i++) {
        fprintf(f, "%zu,%zu", i / 28, i % 28);
        for (size_t a = 0; a < K; a++)
            fprintf(f, ",%.5f", su[a] * U_8[i * K + a]);
        for (size_t a = 0; a < K; a++)
            fprintf(f, ",%.5f", se[a] * E[i * K + a]);
        fprintf(f, "\n");
    }
    if (fclose(f))
        goto io;
    plots(dir, mu, rec.proj[0], t_lin, t_8);
    (void)X;
    rc = 0;
    goto done;
io:
    perror(path);
done:
    rbm_mode_tracker_free(mt);
    rbm_svd_free(svd);
    rbm_trainer_free(tr);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_dataset_free(sub);
    rbm_dataset_free(raw);
    rbm_context_free(ctx);
    free(X);
    free(A);
    return rc;
}
