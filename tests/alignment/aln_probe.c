/* aln_probe: load an alignment with librbm and print what the reader made,
 * for tests/alignment/test_hmmer.py to compare with its own parse.
 *
 *   aln_probe FILE ALPHABET FLAGS [THETA]
 *
 * FLAGS: "-" or letters s (RBM_ALIGNMENT_STRICT_SYMBOLS), d
 * (RBM_ALIGNMENT_DROP_INSERTS). Prints "rows R", "cols L", "q Q",
 * "alphabet A", "unknown U", then with THETA "meff M" (sum of
 * rbm_dataset_sequence_weights, %.17g), then one line "row" followed by
 * the states of each row separated by spaces. On failure prints "error
 * STATUS DETAIL" and exits 1. */
#include <rbm/rbm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: aln_probe FILE ALPHABET FLAGS [THETA]\n");
        return 2;
    }
    uint32_t flags = 0;
    if (strchr(argv[3], 's'))
        flags |= RBM_ALIGNMENT_STRICT_SYMBOLS;
    if (strchr(argv[3], 'd'))
        flags |= RBM_ALIGNMENT_DROP_INSERTS;
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        return 2;
    rbm_dataset *ds = NULL;
    rbm_status st = rbm_dataset_load_alignment(ctx, argv[1], argv[2], flags, &ds);
    if (st != RBM_OK) {
        printf("error %s %s\n", rbm_status_name(st), rbm_context_last_error(ctx));
        rbm_context_free(ctx);
        return 1;
    }
    size_t rows = rbm_dataset_rows(ds), cols = rbm_dataset_cols(ds);
    printf("rows %zu\ncols %zu\nq %u\nalphabet %s\nunknown %llu\n", rows, cols,
           (unsigned)rbm_dataset_n_states(ds), rbm_dataset_alphabet(ds),
           (unsigned long long)rbm_alignment_unknown_symbols(ds));
    double *buf = malloc(rows * (cols > 1 ? cols : 1) * sizeof(double));
    if (!buf)
        return 2;
    int rc = 0;
    if (argc > 4) {
        if (rbm_dataset_sequence_weights(ds, atof(argv[4]), buf, rows) != RBM_OK) {
            printf("error %s\n", rbm_context_last_error(ctx));
            rc = 1;
        } else {
            double m = 0;
            for (size_t r = 0; r < rows; r++)
                m += buf[r];
            printf("meff %.17g\n", m);
        }
    }
    if (rc == 0 && rbm_dataset_get_rows(ds, 0, rows, buf, rows * cols) == RBM_OK) {
        for (size_t r = 0; r < rows; r++) {
            fputs("row", stdout);
            for (size_t c = 0; c < cols; c++)
                printf(" %d", (int)buf[r * cols + c]);
            fputc('\n', stdout);
        }
    }
    free(buf);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
    return rc;
}
