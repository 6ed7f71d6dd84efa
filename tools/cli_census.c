/* cli_census.c — the provenance of a model's training data: the text 'rbm
 * train' records in the model file (rbm_machine_set_provenance) and the
 * lookup of its keys by the analysis commands (cli_data.c). */
#include "cli.h"

#include <math.h>
#include <string.h>

void cli_record_provenance(rbm_machine *m, const char *data, uint64_t seed,
                           rbm_unit_kind visible, const struct cli_data_info *di)
{
    char text[4096 + 512];
    snprintf(text, sizeof text,
             "librbm-provenance 1\ndata=%s\ndata_seed=%llu\nrows=%zu\ncols=%zu\nvisible=%s\n"
             "transform=%s\n",
             data, (unsigned long long)seed, di->rows, di->cols, cli_unit_name(visible),
             di->transform);
    /* optional metadata: a failure only loses it */
    rbm_machine_set_provenance(m, text);
}

const char *cli_provenance_value(const char *prov, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    for (const char *line = prov; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        if (ll > kl && memcmp(line, key, kl) == 0 && line[kl] == '=') {
            size_t vl = ll - kl - 1;
            if (vl == 0 || vl >= len)
                return NULL;
            memcpy(buf, line + kl + 1, vl);
            buf[vl] = '\0';
            return buf;
        }
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

int cli_train_check_combination(rbm_estimator_kind est, rbm_unit_kind visible,
                                rbm_unit_kind hidden, size_t n_visible, size_t n_hidden,
                                size_t batch, size_t rows)
{
    int gauss_gauss = visible == RBM_UNIT_GAUSSIAN && hidden == RBM_UNIT_GAUSSIAN;
    if (est == RBM_ESTIMATOR_EXACT && !gauss_gauss) {
        int v_ok = visible != RBM_UNIT_GAUSSIAN && n_visible <= RBM_EXACT_MAX_UNITS;
        int h_ok = hidden != RBM_UNIT_GAUSSIAN && n_hidden <= RBM_EXACT_MAX_UNITS;
        if (!v_ok && !h_ok) {
            cli_errorf("--estimator exact enumerates a bernoulli or ising layer of at most %d "
                       "units (gauss-gauss machines use the closed form), but the machine has "
                       "%zu %s visible and %zu %s hidden units (try --n-hidden 10)",
                       RBM_EXACT_MAX_UNITS, n_visible, cli_unit_name(visible), n_hidden,
                       cli_unit_name(hidden));
            return EXIT_USAGE;
        }
    }
    if (batch > rows) {
        cli_errorf("--batch %zu is larger than the data set (%zu samples)", batch, rows);
        return EXIT_USAGE;
    }
    return 0;
}

/* One layer's --sigma-*: only for a gaussian layer. */
static int set_sigma(rbm_context *ctx, rbm_machine *m, rbm_layer layer, double sigma,
                     const char *opt)
{
    if (isnan(sigma))
        return 0;
    if (rbm_machine_unit_kind(m, layer) != RBM_UNIT_GAUSSIAN) {
        cli_errorf("%s applies to a gaussian layer only (the %s layer is %s)", opt,
                   layer == RBM_LAYER_VISIBLE ? "visible" : "hidden",
                   cli_unit_name(rbm_machine_unit_kind(m, layer)));
        return -1;
    }
    rbm_status st = rbm_machine_set_sigma(m, layer, sigma);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "invalid value %g for %s", sigma, opt);
        return -1;
    }
    return 0;
}

int cli_train_set_sigmas(rbm_context *ctx, rbm_machine *m, double sigma_v, double sigma_h)
{
    if (set_sigma(ctx, m, RBM_LAYER_VISIBLE, sigma_v, "--sigma-v") != 0 ||
        set_sigma(ctx, m, RBM_LAYER_HIDDEN, sigma_h, "--sigma-h") != 0)
        return -1;
    return 0;
}
