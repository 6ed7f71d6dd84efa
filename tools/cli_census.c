/* cli_census.c — the provenance of a model's training data: the text 'rbm
 * train' records in the model file (rbm_machine_set_provenance) and the
 * lookup of its keys by the analysis commands (cli_data.c). */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
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
    cli_alignment_provenance(text, sizeof text, di);
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
                                rbm_unit_kind hidden, size_t n_visible, size_t n_states,
                                size_t n_hidden, size_t batch, size_t rows)
{
    int gauss_gauss = visible == RBM_UNIT_GAUSSIAN && hidden == RBM_UNIT_GAUSSIAN;
    if (hidden == RBM_UNIT_POTTS) {
        cli_errorf("--hidden potts: Potts units are visible units only (docs/potts.md); use "
                   "bernoulli, ising or gaussian hidden units");
        return EXIT_USAGE;
    }
    /* the enumerated visible layer of a Potts machine has q^N states */
    double v_bits = n_states > 1 ? (double)n_visible * log2((double)n_states) : (double)n_visible;
    if (est == RBM_ESTIMATOR_EXACT && !gauss_gauss) {
        int v_ok = visible != RBM_UNIT_GAUSSIAN && v_bits <= RBM_EXACT_MAX_UNITS + 1e-9;
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

int cli_fp_track_record(rbm_context *ctx, const rbm_machine *m, uint64_t step,
                        struct cli_fp_track *ft)
{
    if (ft->n == ft->cap) {
        size_t cap = ft->cap ? 2 * ft->cap : 64;
        uint64_t *s = realloc(ft->steps, cap * sizeof *s);
        if (s)
            ft->steps = s;
        size_t *c = realloc(ft->count, cap * sizeof *c);
        if (c)
            ft->count = c;
        size_t *b = realloc(ft->stable, cap * sizeof *b);
        if (b)
            ft->stable = b;
        if (!s || !c || !b) {
            cli_errorf("out of memory");
            return -1;
        }
        ft->cap = cap;
    }
    double t0 = cli_now_seconds();
    int gg = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_GAUSSIAN &&
             rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN) == RBM_UNIT_GAUSSIAN;
    size_t n_data = ft->data ? rbm_dataset_rows(ft->data) : 0;
    if (n_data > CLI_FP_TRACK_STARTS)
        n_data = CLI_FP_TRACK_STARTS;
    struct cli_fp_search q = {gg ? RBM_MF_NAIVE : RBM_MF_TAP2, NAN, ft->data,
                              CLI_FP_TRACK_STARTS, n_data, ft->seed, NULL, 0, 0};
    struct cli_fixed_points fi;
    memset(&fi, 0, sizeof fi);
    double damping;
    char note[1024];
    if (cli_find_fixed_points(ctx, m, &q, &fi, &damping, note, sizeof note) != 0) {
        cli_errorf("cannot track the fixed points at step %" PRIu64 ": %s", step, note);
        return -1;
    }
    ft->steps[ft->n] = step;
    ft->count[ft->n] = fi.count;
    ft->stable[ft->n] = fi.n_stable;
    ft->n++;
    cli_fixed_points_free(&fi);
    ft->seconds += cli_now_seconds() - t0;
    return 0;
}

void cli_fp_track_put(FILE *f, const struct cli_fp_track *ft)
{
    fputs("step,n_fixed_points,n_stable\n", f);
    for (size_t k = 0; k < ft->n; k++)
        fprintf(f, "%" PRIu64 ",%zu,%zu\n", ft->steps[k], ft->count[k], ft->stable[k]);
}

int cli_fp_track_write_csv(const struct cli_fp_track *ft, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_errorf("cannot write '%s'", path);
        return -1;
    }
    cli_fp_track_put(f, ft);
    if (fclose(f) != 0) {
        cli_errorf("cannot write '%s'", path);
        return -1;
    }
    return 0;
}

int cli_fp_track_save(struct cli_fp_track *ft, const char *out)
{
    free(ft->csv);
    ft->csv = cli_path_suffix(out, ".fixed_points.csv");
    if (!ft->csv) {
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    return cli_fp_track_write_csv(ft, ft->csv) == 0 ? 0 : EXIT_RUNTIME;
}

void cli_fp_track_print(const struct cli_fp_track *ft)
{
    if (ft->n == 0 || !ft->csv)
        return;
    printf("TAP states ");
    for (size_t k = 0; k < ft->n && k < 12; k++)
        printf(" %zu", ft->count[k]);
    printf("%s over training (TAP2 fixed points at each record; %s, %.3g s)\n",
           ft->n > 12 ? " ..." : "", ft->csv, ft->seconds);
}

void cli_fp_track_json(FILE *f, int *first, const struct cli_fp_track *ft)
{
    if (ft->n == 0 || !ft->csv)
        return;
    cli_json_str(f, first, "fixed_points_history", ft->csv);
    cli_json_key(f, first, "n_fixed_points_per_record");
    fputc('[', f);
    for (size_t k = 0; k < ft->n; k++)
        fprintf(f, "%s%zu", k ? ", " : "", ft->count[k]);
    fputc(']', f);
    cli_json_real(f, first, "fixed_points_seconds", ft->seconds);
}

void cli_fp_track_free(struct cli_fp_track *ft)
{
    free(ft->csv);
    free(ft->steps);
    free(ft->count);
    free(ft->stable);
    memset(ft, 0, sizeof *ft);
}

int cli_start_tracking(rbm_context *ctx, rbm_machine *m, const rbm_dataset *data, size_t n_modes,
                       uint64_t step, rbm_mode_tracker **tracker, rbm_census **census,
                       struct cli_fp_track *fpt, double *seconds)
{
    double tt = cli_now_seconds();
    rbm_status st = rbm_mode_tracker_new(m, n_modes, tracker);
    if (st == RBM_OK)
        st = rbm_census_new(data, CLI_CENSUS_NULLS, CLI_CENSUS_SEED, census);
    if (st == RBM_OK)
        st = rbm_mode_tracker_set_census(*tracker, *census);
    if (st == RBM_OK) {
        st = rbm_mode_tracker_record(*tracker, step);
        *seconds = cli_now_seconds() - tt;
    }
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot track the spectrum of W");
        return EXIT_RUNTIME;
    }
    if (fpt && cli_fp_track_record(ctx, m, step, fpt) != 0)
        return EXIT_RUNTIME;
    return 0;
}

void cli_print_track_summary(const struct cli_track_summary *ts,
                             const struct cli_train_result *res)
{
    char time_s[32];
    printf("spectrum    %zu significant mode%s, %zu outside the bulk at the end (edge %.4f); "
           "top singular values",
           ts->n_significant, ts->n_significant == 1 ? "" : "s", ts->n_outside, ts->edge);
    for (size_t i = 0; i < ts->n_modes && i < 5; i++)
        printf(" %.3f", ts->top[i]);
    printf("\n");
    cli_fmt_seconds(time_s, sizeof time_s, ts->seconds);
    printf("            history of %zu records in %s (%s, %.1f%% of the training time)\n",
           ts->records, ts->csv, time_s,
           res->train_seconds > 0 ? 100 * ts->seconds / res->train_seconds : 0.0);
}

void cli_json_track_summary(FILE *f, int *first, const struct cli_track_summary *ts)
{
    int have = ts->csv && ts->records > 0;
    cli_json_str_or_null(f, first, "spectrum_history", ts->csv);
    cli_json_size(f, first, "spectrum_records", ts->records);
    cli_json_key(f, first, "n_modes_outside_bulk");
    if (have)
        fprintf(f, "%zu", ts->n_outside);
    else
        fputs("null", f);
    cli_json_real(f, first, "bulk_edge", have ? ts->edge : NAN);
    cli_json_key(f, first, "n_significant_modes");
    if (have)
        fprintf(f, "%zu", ts->n_significant);
    else
        fputs("null", f);
    cli_json_key(f, first, "top_singular_values");
    cli_json_numbers(f, ts->top, have ? ts->n_modes : 0);
    cli_json_real(f, first, "spectrum_seconds", ts->seconds);
}
