/* cli_compare.c — 'rbm spectrum MODEL --compare OTHER ...': how far each
 * mode of MODEL is reproduced by other models of the same visible units
 * (other training seeds or chains on the same data), per mode, beside the
 * census (docs/spectral.md, "Reproducibility across runs"). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_compare_free(struct cli_compare *c)
{
    free(c->repro);
    free(c->best);
    free(c->n_b);
    memset(c, 0, sizeof *c);
}

/* The reproducibility of svd's modes in the model at path: share[a] in the
 * span of that model's significant modes (its modes outside the bulk when
 * none is significant, at least one), best[a] the largest single overlap.
 * 0, or an exit status after printing the error. */
static int compare_one(rbm_context *ctx, const rbm_svd *svd, const rbm_machine *m,
                       const rbm_dataset *data, const char *path, double *share, double *best,
                       size_t *n_b)
{
    rbm_machine *other = NULL;
    rbm_svd *osvd = NULL;
    struct cli_spectrum osi;
    memset(&osi, 0, sizeof osi);
    char note[1024];
    int rc = cli_load_model(ctx, path, &other);
    if (rc != 0)
        return rc;
    if (rbm_machine_n_visible(other) != rbm_machine_n_visible(m)) {
        cli_errorf("--compare %s: %zu visible units, the model has %zu", path,
                   rbm_machine_n_visible(other), rbm_machine_n_visible(m));
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (cli_compute_spectrum(ctx, other, data, 0, &osi, &osvd, note, sizeof note) != 0) {
        cli_errorf("--compare %s: %s", path, note);
        rc = EXIT_RUNTIME;
        goto done;
    }
    *n_b = osi.n_significant ? osi.n_significant : osi.n_outside ? osi.n_outside : 1;
    rbm_status st = rbm_svd_mode_overlaps(svd, osvd, *n_b, share, rbm_svd_rank(svd), best,
                                          rbm_svd_rank(svd), NULL, 0);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "--compare %s: cannot compare the modes", path);
        rc = EXIT_RUNTIME;
    }
done:
    cli_spectrum_free(&osi);
    rbm_svd_free(osvd);
    rbm_machine_free(other);
    return rc;
}

int cli_compare_modes(rbm_context *ctx, const rbm_svd *svd, const rbm_machine *m,
                      const rbm_dataset *data, const char *const *paths, size_t n_paths,
                      const struct cli_spectrum *si, struct cli_compare *out)
{
    memset(out, 0, sizeof *out);
    size_t r = rbm_svd_rank(svd);
    out->repro = malloc((r ? r : 1) * sizeof *out->repro);
    out->best = malloc((r ? r : 1) * sizeof *out->best);
    out->n_b = malloc((n_paths ? n_paths : 1) * sizeof *out->n_b);
    double *share = malloc((r ? r : 1) * 2 * sizeof *share);
    if (!out->repro || !out->best || !out->n_b || !share) {
        free(share);
        cli_compare_free(out);
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    for (size_t a = 0; a < r; a++)
        out->repro[a] = out->best[a] = 1;
    for (size_t i = 0; i < n_paths; i++) {
        int rc = compare_one(ctx, svd, m, data, paths[i], share, share + r, &out->n_b[i]);
        if (rc != 0) {
            free(share);
            cli_compare_free(out);
            return rc;
        }
        for (size_t a = 0; a < r; a++) {
            if (share[a] < out->repro[a])
                out->repro[a] = share[a];
            if (share[r + a] < out->best[a])
                out->best[a] = share[r + a];
        }
    }
    free(share);
    out->n_models = n_paths;
    out->r = r;
    for (size_t a = 0; a < r; a++)
        out->n_reproducible += si->sig && si->sig[a] && out->repro[a] > CLI_REPRODUCED_SHARE;
    return 0;
}
