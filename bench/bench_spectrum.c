/* librbm benchmark: the cost of spectrum tracking during training.
 *
 *   bench_spectrum [--data PATH] [--hidden N] [--batch B] [--lr X]
 *                  [--epochs E] [--modes K] [--precision f32|f64] [--seed S]
 *
 * Trains a Bernoulli-Bernoulli RBM on binarised Fashion-MNIST (threshold
 * 127, 60000 x 784) with PCD-1, SGD, learning rate lr, minibatch B, in the
 * chosen precision (default float32), as bench_train does, and records the
 * spectrum with an rbm_mode_tracker (K tracked modes, default all
 * r = min(784, N_h)) once before training and after every epoch, as
 * `rbm train --track-spectrum` would. Each epoch (the rbm_trainer_step loop)
 * and each rbm_mode_tracker_record call is timed separately, in wall-clock
 * and in process CPU time (all threads), so that both are measured under
 * the same machine load.
 *
 * Output: one line per epoch and a summary on stderr; one JSON object on
 * stdout with the times, the overhead ratio (total record time / total
 * training time over the E epochs; the record before training is reported
 * but not counted) and whether it is below the 5% target. */
#define _POSIX_C_SOURCE 200809L
#include <rbm/rbm.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

typedef struct {
    double wall, cpu;
} stamp;

static stamp now(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    return (stamp){(double)a.tv_sec + 1e-9 * (double)a.tv_nsec,
                   (double)b.tv_sec + 1e-9 * (double)b.tv_nsec};
}

static stamp since(stamp t0)
{
    stamp t = now();
    return (stamp){t.wall - t0.wall, t.cpu - t0.cpu};
}

static void check(rbm_context *ctx, rbm_status st, const char *what)
{
    if (st != RBM_OK && st != RBM_DONE) {
        fprintf(stderr, "bench_spectrum: %s: %s (%s)\n", what, rbm_status_name(st),
                rbm_context_last_error(ctx));
        exit(1);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_spectrum [--data PATH] [--hidden N] [--batch B] [--lr X]\n"
                    "                      [--epochs E] [--modes K] [--precision f32|f64] "
                    "[--seed S]\n");
    exit(2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *x, size_t n)
{
    double *s = malloc(n * sizeof *s);
    if (!s)
        exit(1);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

int main(int argc, char **argv)
{
    const char *path = DEFAULT_DATA;
    size_t nh = 500, batch = 100, epochs = 3, modes = 0;
    double lr = 0.01;
    int f32 = 1;
    uint64_t seed = 1234;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--data"))
            path = v;
        else if (!strcmp(a, "--hidden"))
            nh = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--batch"))
            batch = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--lr"))
            lr = strtod(v, NULL);
        else if (!strcmp(a, "--epochs"))
            epochs = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--modes"))
            modes = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--precision")) {
            if (strcmp(v, "f32") && strcmp(v, "f64"))
                usage();
            f32 = !strcmp(v, "f32");
        } else
            usage();
    }
    if (!nh || !batch || !epochs || !(lr > 0))
        usage();

    rbm_context *ctx = NULL;
    rbm_dataset *raw = NULL, *data = NULL;
    rbm_machine *m = NULL;
    rbm_trainer *tr = NULL;
    rbm_mode_tracker *trk = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;
    check(ctx, rbm_dataset_load_idx(ctx, path, &raw), path);
    check(ctx, rbm_dataset_transform(raw, RBM_TRANSFORM_BINARIZE, 127, &data), "transform");
    rbm_dataset_free(raw);
    size_t nv = rbm_dataset_cols(data), r = nv < nh ? nv : nh;
    if (!modes || modes > r)
        modes = r;
    check(ctx, rbm_machine_new(ctx, nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m),
          "machine_new");
    check(ctx, rbm_machine_init_normal(m, 0.01, seed), "init_normal");
    check(ctx, rbm_machine_set_precision(m, f32 ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64),
          "set_precision");
    check(ctx, rbm_trainer_new(m, data, batch, seed, &tr), "trainer_new");
    check(ctx, rbm_trainer_set_estimator(tr, RBM_ESTIMATOR_PCD, 1), "set_estimator");
    check(ctx, rbm_trainer_set_optimizer(tr, RBM_OPTIMIZER_SGD), "set_optimizer");
    check(ctx, rbm_trainer_set_real(tr, RBM_TRAINER_LEARNING_RATE, lr), "set_real");
    check(ctx, rbm_trainer_set_int(tr, RBM_TRAINER_MONITOR_EVERY, 0), "set_monitor_every");
    check(ctx, rbm_mode_tracker_new(m, modes, &trk), "mode_tracker_new");
    fprintf(stderr,
            "bench_spectrum: %zu x %zu, N_h = %zu, batch %zu, PCD-1, %s, %zu epoch(s), %zu "
            "tracked mode(s), %zu thread(s)\n",
            rbm_dataset_rows(data), nv, nh, batch, f32 ? "float32" : "float64", epochs, modes,
            rbm_context_effective_threads(ctx));

    double *tw = calloc(epochs, sizeof *tw), *tc = calloc(epochs, sizeof *tc);
    double *rw = calloc(epochs, sizeof *rw), *rc = calloc(epochs, sizeof *rc);
    double *w = calloc(modes, sizeof *w);
    if (!tw || !tc || !rw || !rc || !w)
        return 1;
    stamp t0 = now();
    check(ctx, rbm_mode_tracker_record(trk, 0), "record");
    stamp r0 = since(t0);
    fprintf(stderr, "  record before training: %.3f s wall, %.3f s cpu\n", r0.wall, r0.cpu);
    double sum_tw = 0, sum_tc = 0, sum_rw = 0, sum_rc = 0;
    for (size_t e = 0; e < epochs; e++) {
        t0 = now();
        check(ctx, rbm_trainer_run_epochs(tr, 1), "run_epochs");
        stamp te = since(t0);
        t0 = now();
        check(ctx, rbm_mode_tracker_record(trk, rbm_trainer_step_count(tr)), "record");
        stamp re = since(t0);
        tw[e] = te.wall;
        tc[e] = te.cpu;
        rw[e] = re.wall;
        rc[e] = re.cpu;
        sum_tw += te.wall;
        sum_tc += te.cpu;
        sum_rw += re.wall;
        sum_rc += re.cpu;
        double edge;
        size_t nout;
        uint64_t step;
        check(ctx, rbm_mode_tracker_get_record(trk, e + 1, &step, w, modes, &edge, &nout), "get");
        fprintf(stderr,
                "  epoch %zu: train %.3f s wall (%.3f cpu), record %.3f s wall (%.3f cpu) = "
                "%.2f%% wall, %.2f%% cpu; w_0 %.3f, edge %.3f, %zu mode(s) outside the bulk\n",
                e + 1, te.wall, te.cpu, re.wall, re.cpu, 100 * re.wall / te.wall,
                100 * re.cpu / te.cpu, w[0], edge, nout);
    }
    double ratio_wall = sum_rw / sum_tw, ratio_cpu = sum_rc / sum_tc;
    int ok = ratio_wall < 0.05 && ratio_cpu < 0.05;
    fprintf(stderr,
            "bench_spectrum: one epoch %.3f s wall (median; %.3f cpu), one record %.3f s wall "
            "(median; %.3f cpu); tracking every epoch costs %.2f%% of training time (wall), "
            "%.2f%% (cpu): %s the 5%% budget\n",
            median(tw, epochs), median(tc, epochs), median(rw, epochs), median(rc, epochs),
            100 * ratio_wall, 100 * ratio_cpu, ok ? "within" : "OVER");
    printf("{\"name\": \"spectrum_tracking\", \"n_visible\": %zu, \"n_hidden\": %zu, "
           "\"batch\": %zu, \"precision\": \"%s\", \"epochs\": %zu, \"modes\": %zu, "
           "\"epoch_seconds\": %.6f, \"epoch_cpu_seconds\": %.6f, "
           "\"record_seconds\": %.6f, \"record_cpu_seconds\": %.6f, "
           "\"record_before_training_seconds\": %.6f, "
           "\"overhead_wall\": %.6f, \"overhead_cpu\": %.6f, \"within_5_percent\": %s}\n",
           nv, nh, batch, f32 ? "float32" : "float64", epochs, modes, median(tw, epochs),
           median(tc, epochs), median(rw, epochs), median(rc, epochs), r0.wall, ratio_wall,
           ratio_cpu, ok ? "true" : "false");
    free(tw);
    free(tc);
    free(rw);
    free(rc);
    free(w);
    rbm_mode_tracker_free(trk);
    rbm_trainer_free(tr);
    rbm_machine_free(m);
    rbm_dataset_free(data);
    rbm_context_free(ctx);
    return 0;
}
