/* custom_loop.c — a training loop written by hand with the public API.
 *
 * rbm_trainer does all of this for you (rbm_trainer_step). This example
 * shows the pieces it is made of, for when you want your own loop: your own
 * learning-rate schedule, your own monitoring, your own stopping rule.
 *
 *   1. a context (errors, allocator) and a synthetic data set;
 *   2. a Bernoulli-Bernoulli machine with small random couplings;
 *   3. a minibatch iterator, a gradient estimator (CD-1) and a gradient;
 *   4. per minibatch: estimate the gradient, apply  theta += lr * g;
 *   5. per epoch: measure the reconstruction error on the whole data set.
 *
 * Exits 0 when training lowered the reconstruction error, 1 otherwise (it is
 * run as a test). Build:  cc custom_loop.c $(pkg-config --cflags --libs rbm)
 */
#include <rbm/rbm.h>

#include <stdio.h>
#include <stdlib.h>

/* Every fallible librbm call returns an rbm_status; on failure the context
 * holds a specific message. */
#define CHECK(call)                                                               \
    do {                                                                          \
        rbm_status st_ = (call);                                                  \
        if (st_ != RBM_OK) {                                                      \
            fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__,     \
                    #call, rbm_status_name(st_), rbm_context_last_error(ctx));    \
            goto done;                                                            \
        }                                                                         \
    } while (0)

enum {
    N_SAMPLES = 1000, /* rows of the synthetic data set                 */
    N_VISIBLE = 100,  /* its default dimension D                        */
    N_HIDDEN = 32,
    BATCH = 50,
    EPOCHS = 15
};

/* Mean squared difference between the data and its mean-field
 * reconstruction E[v | h = E[h|v]], over all rows and units. */
static rbm_status reconstruction_error(const rbm_machine *m, const double *v, size_t rows,
                                       double *h, double *v_rec, double *err)
{
    rbm_status st = rbm_machine_hidden_mean(m, rows, v, rows * N_VISIBLE, h, rows * N_HIDDEN);
    if (st == RBM_OK)
        st = rbm_machine_visible_mean(m, rows, h, rows * N_HIDDEN, v_rec, rows * N_VISIBLE);
    if (st != RBM_OK)
        return st;
    double sum = 0.0;
    for (size_t i = 0; i < rows * N_VISIBLE; i++) {
        double d = v[i] - v_rec[i];
        sum += d * d;
    }
    *err = sum / (double)(rows * N_VISIBLE);
    return RBM_OK;
}

int main(void)
{
    int exit_code = 1;
    rbm_context *ctx = NULL;
    rbm_dataset *data = NULL;
    rbm_machine *m = NULL;
    rbm_batch_iter *batches = NULL;
    rbm_estimator *est = NULL;
    rbm_gradient *grad = NULL;
    double *all = NULL, *batch = NULL, *h = NULL, *v_rec = NULL;

    printf("librbm %s: custom training loop\n", rbm_version_string());
    CHECK(rbm_context_new(&ctx));

    /* 1. Data: 11 clusters in 5 dimensions embedded in 100, binarised to
     *    {0,1} (0 selects the defaults), noise 0.5, seed 7. */
    CHECK(rbm_dataset_synthetic(ctx, N_SAMPLES, 0, 0, N_VISIBLE, 0.5, RBM_UNIT_BERNOULLI, 7,
                                &data));

    /* 2. Machine: W ~ N(0, 0.01^2), visible biases matching the data means. */
    CHECK(rbm_machine_new(ctx, N_VISIBLE, N_HIDDEN, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    CHECK(rbm_machine_init_normal(m, 0.01, 1));
    CHECK(rbm_machine_init_visible_bias_from_data(m, data));

    /* 3. Shuffled minibatches (seed 2), a CD-1 estimator for batches of up
     *    to BATCH rows (seed 3), and a gradient shaped like the machine. */
    CHECK(rbm_batch_iter_new(data, BATCH, RBM_BATCH_SHUFFLE, 2, &batches));
    CHECK(rbm_estimator_new(m, RBM_ESTIMATOR_CD, BATCH, 3, &est));
    CHECK(rbm_gradient_new(m, &grad));

    /* Buffers are ours: arrays are row-major doubles, lengths in elements. */
    all = malloc(sizeof(double) * N_SAMPLES * N_VISIBLE);
    batch = malloc(sizeof(double) * BATCH * N_VISIBLE);
    h = malloc(sizeof(double) * N_SAMPLES * N_HIDDEN);
    v_rec = malloc(sizeof(double) * N_SAMPLES * N_VISIBLE);
    if (!all || !batch || !h || !v_rec) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    CHECK(rbm_dataset_get_rows(data, 0, N_SAMPLES, all, N_SAMPLES * N_VISIBLE));

    double err0, err;
    CHECK(reconstruction_error(m, all, N_SAMPLES, h, v_rec, &err0));
    printf("epoch %2d  reconstruction error %.5f\n", 0, err0);
    err = err0;

    for (int epoch = 1; epoch <= EPOCHS; epoch++) {
        /* A simple schedule: the learning rate decays over the epochs. */
        double lr = 0.1 / (1.0 + 0.1 * epoch);
        rbm_status st;
        do {
            size_t rows = 0;
            /* 4. Next minibatch: RBM_OK, or RBM_DONE for the last one of
             *    the epoch (which still holds rows). */
            st = rbm_batch_iter_next(batches, batch, BATCH * N_VISIBLE, &rows);
            if (st != RBM_OK && st != RBM_DONE) {
                fprintf(stderr, "rbm_batch_iter_next: %s\n", rbm_context_last_error(ctx));
                goto done;
            }
            /* Gradient ascent on the log-likelihood: theta += lr * g. */
            CHECK(rbm_estimator_compute(est, rows, batch, rows * N_VISIBLE, grad));
            CHECK(rbm_gradient_apply(grad, m, lr));
        } while (st == RBM_OK);

        /* 5. Monitor once per epoch. */
        CHECK(reconstruction_error(m, all, N_SAMPLES, h, v_rec, &err));
        printf("epoch %2d  lr %.4f  reconstruction error %.5f\n", epoch, lr, err);
        fflush(stdout);
    }

    if (err < err0) {
        printf("OK: reconstruction error %.5f -> %.5f\n", err0, err);
        exit_code = 0;
    } else {
        printf("FAIL: reconstruction error did not decrease (%.5f -> %.5f)\n", err0, err);
    }

done:
    /* Free in reverse order of creation; every _free accepts NULL. */
    free(all);
    free(batch);
    free(h);
    free(v_rec);
    rbm_gradient_free(grad);
    rbm_estimator_free(est);
    rbm_batch_iter_free(batches);
    rbm_machine_free(m);
    rbm_dataset_free(data);
    rbm_context_free(ctx);
    return exit_code;
}
