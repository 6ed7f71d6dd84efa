/* sequences_fn3.c — a Potts RBM on a real protein alignment, end to end
 * (docs/sequences.md, "Example: fibronectin type III domains").
 *
 * Data: Pfam's seed alignment of the fibronectin type III domain, fn3.sto
 * of Debian's hmmer-examples (98 sequences of 117 columns), read with the
 * protein alphabet ("-ACDEFGHIKLMNPQRSTVWY", q = 21) and reweighted at
 * identity 0.8 (M_eff = sum of the weights).
 * Machine: 117 Potts sites x 8 Bernoulli hidden units, W(0) = N(0, 0.01^2),
 * fields from the weighted site frequencies; PCD-1, minibatches of 10,
 * SGD at 0.05, 30 epochs (300 updates, about a second).
 * Measured:
 *   - the exact mean log-likelihood (2^8 hidden states enumerated) of the
 *     trained machine against that of the independent-site model (W = 0,
 *     the same fields: what the hidden units add);
 *   - the leading mode of W in the zero-sum gauge read per site: its
 *     effective number of sites 1 / sum_i ||u_i||^4 and the sites of
 *     largest norm with their strongest state;
 *   - 20 sequences sampled by 1000 Gibbs sweeps, written as FASTA
 *     (DIR/fn3_samples.fasta) and read back.
 * Exits 77 (skipped) without hmmer-examples; 1 when the trained machine
 * does not beat the independent-site model.
 *
 *   ./sequences_fn3 [DIR]        (default DIR ".")
 *
 * The same with the rbm program:
 *   rbm train --data fn3.sto --n-hidden 8 --batch 10 --lr 0.05 --epochs 30
 *   rbm eval rbm-model.rbm; rbm sample rbm-model.rbm -n 20 --out s.fasta */
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FN3 "/usr/share/doc/hmmer/examples/tutorial/fn3.sto"
#define N_HIDDEN 8
#define N_SAMPLES 20

/* The leading mode per site: effective sites and the five largest. */
static int print_mode(rbm_context *ctx, const rbm_machine *m, const char *alphabet)
{
    rbm_machine *g = NULL;
    rbm_svd *s = NULL;
    double *norms = NULL, *u = NULL;
    size_t n = 0, q = 0;
    int rc = -1;
    CHECK(rbm_machine_clone(m, &g));
    CHECK(rbm_machine_set_gauge(g, RBM_GAUGE_ZERO_SUM, NULL));
    CHECK(rbm_svd_new(g, &s));
    CHECK(rbm_svd_site_shape(s, &n, &q));
    norms = malloc(n * sizeof *norms);
    u = malloc(n * q * sizeof *u);
    if (!norms || !u)
        goto done;
    CHECK(rbm_svd_site_norms(s, 1, norms, n));
    CHECK(rbm_svd_site_weights(s, 0, u, n * q));
    double wv[N_HIDDEN], s4 = 0; /* rank min(N q, N_h) = N_h */
    CHECK(rbm_svd_get_singular_values(s, wv, N_HIDDEN));
    double w1 = wv[0];
    for (size_t i = 0; i < n; i++)
        s4 += pow(norms[i], 4);
    printf("mode 1      w = %.3f, on %.1f of %zu sites; largest:", w1, 1 / s4, n);
    for (int t = 0; t < 5; t++) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (norms[i] > norms[best])
                best = i;
        size_t c = 0;
        for (size_t k = 1; k < q; k++)
            if (fabs(u[best * q + k]) > fabs(u[best * q + c]))
                c = k;
        printf(" site %zu %c%c (%.2f)", best + 1, u[best * q + c] > 0 ? '+' : '-', alphabet[c],
               norms[best]);
        norms[best] = -1;
    }
    printf("\n");
    rc = 0;
done:
    free(norms);
    free(u);
    rbm_svd_free(s);
    rbm_machine_free(g);
    return rc;
}

/* N_SAMPLES sequences of 1000 sweeps as FASTA at path, read back. */
static int sample_fasta(rbm_context *ctx, rbm_machine *m, const char *alphabet, const char *path)
{
    rbm_sampler *s = NULL;
    rbm_dataset *ds = NULL, *back = NULL;
    size_t n = rbm_machine_n_visible(m), q = rbm_machine_n_states(m, RBM_LAYER_VISIBLE);
    double *v = malloc(N_SAMPLES * n * sizeof *v);
    unsigned char *u = malloc(N_SAMPLES * n);
    int rc = -1;
    if (!v || !u)
        goto done;
    CHECK(rbm_sampler_new(m, N_SAMPLES, 7, &s));
    CHECK(rbm_sampler_run(s, 1000));
    CHECK(rbm_sampler_get_visible(s, v, N_SAMPLES * n));
    for (size_t i = 0; i < N_SAMPLES * n; i++)
        u[i] = (unsigned char)v[i];
    CHECK(rbm_dataset_from_memory(ctx, u, RBM_DTYPE_UINT8, N_SAMPLES, n, RBM_BORROW, &ds));
    CHECK(rbm_dataset_set_categories(ds, (uint32_t)q, alphabet));
    CHECK(rbm_dataset_save_fasta(ds, path, "sample"));
    CHECK(rbm_dataset_load_fasta(ctx, path, alphabet, RBM_ALIGNMENT_STRICT_SYMBOLS, &back));
    printf("samples     %zu x %zu written to %s and read back; the first: ",
           rbm_dataset_rows(back), rbm_dataset_cols(back), path);
    for (size_t i = 0; i < n; i++)
        putchar(alphabet[u[i]]);
    printf("\n");
    rc = rbm_dataset_rows(back) == N_SAMPLES && rbm_dataset_cols(back) == n ? 0 : -1;
done:
    rbm_dataset_free(back);
    rbm_dataset_free(ds);
    rbm_sampler_free(s);
    free(u);
    free(v);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    if (access(FN3, R_OK) != 0) {
        printf("skipped: %s missing (Debian package hmmer-examples)\n", FN3);
        return 77;
    }
    rbm_context *ctx = NULL;
    rbm_dataset *data = NULL;
    rbm_machine *m = NULL, *ind = NULL;
    rbm_trainer *t = NULL;
    double *w = NULL;
    int rc = 1;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 1;
    CHECK(rbm_dataset_load_alignment(ctx, FN3, "protein", 0, &data));
    size_t rows = rbm_dataset_rows(data), n = rbm_dataset_cols(data);
    size_t q = rbm_dataset_n_states(data);
    const char *alphabet = rbm_dataset_alphabet(data);
    w = malloc(rows * sizeof *w);
    if (!w)
        goto done;
    CHECK(rbm_dataset_sequence_weights(data, 0.8, w, rows));
    CHECK(rbm_dataset_set_weights(data, w, rows));
    printf("data        %s: %zu sequences x %zu sites, q = %zu, M_eff = %.2f, %llu unknown "
           "symbols read as gaps\n",
           FN3, rows, n, q, rbm_dataset_weight_sum(data),
           (unsigned long long)rbm_alignment_unknown_symbols(data));

    /* the independent-site model: W = 0, fields from the site frequencies */
    CHECK(rbm_machine_new_potts(ctx, n, q, N_HIDDEN, RBM_UNIT_BERNOULLI, &ind));
    CHECK(rbm_machine_init_visible_bias_from_data(ind, data));
    double ll_ind = NAN, ll = NAN, log_z = NAN;
    CHECK(rbm_exact_log_likelihood(ind, data, &ll_ind, NULL));

    CHECK(rbm_machine_clone(ind, &m));
    CHECK(rbm_machine_init_normal(m, 0.01, 1));
    CHECK(rbm_machine_init_visible_bias_from_data(m, data));
    CHECK(rbm_trainer_new(m, data, 10, 2, &t));
    CHECK(rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.05));
    CHECK(rbm_trainer_run_epochs(t, 30));
    CHECK(rbm_exact_log_likelihood(m, data, &ll, &log_z));
    printf("machine     %zu Potts sites x %d bernoulli hidden, PCD-1, 30 epochs of %zu "
           "minibatches\n",
           n, N_HIDDEN, rbm_trainer_batches_per_epoch(t));
    printf("log-lik     %.3f nats (exact, log Z %.3f) against %.3f for the independent-site "
           "model: %+.3f per sequence\n",
           ll, log_z, ll_ind, ll - ll_ind);
    if (print_mode(ctx, m, alphabet) != 0)
        goto done;
    char path[4096];
    snprintf(path, sizeof path, "%s/fn3_samples.fasta", dir);
    if (sample_fasta(ctx, m, alphabet, path) != 0)
        goto done;
    rc = ll > ll_ind ? 0 : 1;
    if (rc)
        printf("FAILED: the trained machine does not beat the independent-site model\n");
done:
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_machine_free(ind);
    rbm_dataset_free(data);
    free(w);
    rbm_context_free(ctx);
    return rc;
}
