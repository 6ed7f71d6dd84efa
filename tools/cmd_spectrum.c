/* cmd_spectrum.c — 'rbm spectrum MODEL': the singular values of a saved
 * model's W, the Marchenko-Pastur bulk and the modes outside it, and the
 * overlaps of the first modes with the data's principal directions
 * (docs/spectral.md). */
#include "cli.h"

#include <string.h>

struct spectrum_opts {
    const char *model;
    const char *data;
    size_t modes;
    int modes_set;
    uint64_t data_seed;
    int json, quiet, help;
    double t0; /* start of the command */
    const char *compare[CLI_MAX_COMPARE]; /* --compare OTHER (repeatable) */
    size_t n_compare;
    struct cli_history_opts history; /* --history ARCHIVE (cli_history.c) */
};

void cli_usage_spectrum(FILE *f)
{
    fputs("usage: rbm spectrum MODEL [options]\n"
          "\n"
          "The singular value decomposition of a saved model's W (docs/spectral.md): the\n"
          "singular values, the Marchenko-Pastur edge of the noise bulk with the noise\n"
          "sigma estimated from the bulk, the modes outside the bulk, the significant\n"
          "modes (outside the bulk and mostly in the data's significant principal\n"
          "subspace, found by a column-shuffle null: the count that holds after\n"
          "training; JSON n_significant_modes and per-mode evidence), and the overlaps\n"
          "|u_a . e_b| of the first modes with the data's principal directions (and the\n"
          "covariance eigenvalues).\n"
          "\n"
          "  --data synthetic|fashion-mnist|FILE   the data for the PCA, prepared for the\n"
          "                        model's visible units as 'rbm train' does (default\n"
          "                        synthetic: the built-in data of the model's visible\n"
          "                        kind and size, generated with --data-seed)\n"
          "  --data-seed S         the --seed of 'rbm train' for synthetic data (default 1)\n"
          CLI_DATA_READ_HELP,
          f);
    cli_usage_alignment(f);
    fputs(CLI_MODEL_READ_HELP
          "  --modes K             modes compared with the top K principal directions\n"
          "                        (default 5, at most min(N_v, N_h))\n"
          "  --compare OTHER       (repeatable, up to 16) per-mode reproducibility: the\n"
          "                        share of each mode's u_a in the span of OTHER's\n"
          "                        significant modes (other training seeds or chains on\n"
          "                        the same data, same visible units; the smallest\n"
          "                        over the models given) and the best single overlap;\n"
          "                        JSON: per mode reproducibility and best_overlap,\n"
          "                        n_reproducible_modes (significant and reproduced:\n"
          "                        share > 1/2)\n"
          "  --history ARCHIVE     instead of MODEL: the singular values of W at every\n"
          "                        checkpoint of an archive (rbms HDF5 or librbm) with\n"
          "                        the bulk edge, and their figure (spectrum_history.png\n"
          "                        in --plots DIR, default ARCHIVE without suffix +\n"
          "                        \".history\"; --no-plots: none; --plot-modes K: the K\n"
          "                        largest, default 10)\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "  --quiet               nothing on stderr but errors\n"
          "  -h, --help            show this help\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

static int parse_spectrum_opts(int argc, char **argv, struct spectrum_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = "synthetic";
    o->modes = PCA_MODES;
    o->data_seed = 1;
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o->json, &o->quiet, &o->help),
        CLI_DATA_OPTIONS(&o->data, &o->data_seed),
        {"--modes", .type = OPT_SIZE, .dst = &o->modes, .min = 1, .set = &o->modes_set},
        {"--history", .type = OPT_STRING, .dst = &o->history.archive,
         .expected = "expected an archive"},
        {"--plots", .type = OPT_STRING, .dst = &o->history.plots, .expected = "a directory"},
        {"--no-plots", .type = OPT_FLAG, .dst = &o->history.no_plots},
        {"--plot-modes", .type = OPT_SIZE, .dst = &o->history.n_plot, .min = 1},
        {"--compare", .type = OPT_STRING_LIST, .dst = o->compare, .count = &o->n_compare,
         .max = CLI_MAX_COMPARE, .expected = "models"},
    };
    const struct cli_args args = {.cmd = "spectrum", .opts = opts, .n_opts = ARRAY_LEN(opts),
                                  .model = &o->model};
    return cli_parse_args(&args, argc, argv);
}

static void print_spectrum_json(const struct spectrum_opts *o, const rbm_machine *m,
                                const struct cli_data_info *di, const struct cli_spectrum *si,
                                const struct cli_compare *cmp, double kappa, double seconds)
{
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "spectrum");
    cli_json_model(f, &first, o->model, m);
    cli_json_str(f, &first, "data", o->data);
    cli_json_size(f, &first, "n_rows", di->rows);
    cli_json_size(f, &first, "rank", si->r);
    cli_json_real(f, &first, "kappa", kappa);
    cli_json_key(f, &first, "singular_values");
    cli_json_numbers(f, si->w, si->r);
    cli_json_real(f, &first, "bulk_edge", si->edge);
    cli_json_real(f, &first, "sigma", si->sigma);
    cli_json_size(f, &first, "n_modes_outside_bulk", si->n_outside);
    cli_json_size(f, &first, "n_significant_modes", si->n_significant);
    cli_json_size(f, &first, "n_data_components", si->n_components);
    cli_json_key(f, &first, "modes");
    fputc('[', f);
    for (size_t a = 0; a < si->r; a++) {
        fprintf(f, "%s{\"w\": %.17g, \"outside_bulk\": %s", a ? ", " : "", si->w[a],
                a < si->n_outside ? "true" : "false");
        if (si->have_census) /* not for a Potts machine */
            fprintf(f, ", \"subspace_overlap\": %.17g, \"significant\": %s", si->q[a],
                    si->sig[a] ? "true" : "false");
        if (cmp->n_models)
            fprintf(f, ", \"reproducibility\": %.17g, \"best_overlap\": %.17g", cmp->repro[a],
                    cmp->best[a]);
        fputc('}', f);
    }
    fputc(']', f);
    if (cmp->n_models) {
        cli_json_size(f, &first, "n_reproducible_modes", cmp->n_reproducible);
        cli_json_key(f, &first, "compared");
        fputc('[', f);
        for (size_t i = 0; i < cmp->n_models; i++) {
            fputs(i ? ", {\"model\": " : "{\"model\": ", f);
            cli_json_string(f, o->compare[i]);
            fprintf(f, ", \"n_significant_modes\": %zu}", cmp->n_b[i]);
        }
        fputc(']', f);
    }
    cli_json_size(f, &first, "pca_modes", si->k);
    cli_json_key(f, &first, "pca_overlaps");
    fputc('[', f);
    for (size_t a = 0; a < si->k; a++) {
        fputs(a ? ", " : "", f);
        cli_json_numbers(f, si->overlaps + a * si->k, si->k);
    }
    fputc(']', f);
    cli_json_key(f, &first, "pca_eigenvalues");
    cli_json_numbers(f, si->eig, si->k);
    cli_json_real(f, &first, "seconds", seconds);
    fputs("\n}\n", f);
}

static void print_spectrum_report(const struct spectrum_opts *o, const rbm_machine *m,
                                  const struct cli_data_info *di, const struct cli_spectrum *si,
                                  const struct cli_compare *cmp, double kappa, double seconds)
{
    cli_print_model_line(o->model, m);
    cli_print_data_line(o->data, cli_data_source_of(o->data),
                        rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), di);
    printf("singular    %zu values (kappa = N_h/N_v = %.3g), largest first:\n", si->r, kappa);
    for (size_t i = 0; i < si->r; i++)
        printf("%s%8.4f%s", i % 8 == 0 ? "           " : "", si->w[i],
               i % 8 == 7 || i + 1 == si->r ? "\n" : "");
    printf("bulk        Marchenko-Pastur edge %.4f, noise sigma %.4f\n", si->edge, si->sigma);
    printf("outside     %zu mode%s outside the bulk", si->n_outside, si->n_outside == 1 ? "" : "s");
    if (si->n_outside > 0) {
        printf(":");
        for (size_t i = 0; i < si->n_outside && i < 16; i++)
            printf(" %.4g", si->w[i]);
        if (si->n_outside > 16)
            printf(" ...");
    }
    printf("\n");
    if (si->have_census) {
        printf("significant %zu mode%s: outside the bulk with more than half of u_a in the data's "
               "%zu significant principal directions (docs/spectral.md)\n",
               si->n_significant, si->n_significant == 1 ? "" : "s", si->n_components);
        printf("            share of u_a in them:");
        for (size_t a = 0; a < si->r && a < 16; a++)
            printf(" %.2f%s", si->q[a], si->sig[a] ? "*" : "");
        printf("%s\n", si->r > 16 ? " ..." : "");
    }
    if (cmp->n_models) {
        printf("reproduced  %zu of the significant modes: more than half of u_a in the span of "
               "the significant\n            modes of each of %zu other model%s; share "
               "(smallest over them):",
               cmp->n_reproducible, cmp->n_models, cmp->n_models == 1 ? "" : "s");
        for (size_t a = 0; a < si->r && a < 16; a++)
            printf(" %.2f", cmp->repro[a]);
        printf("%s\n", si->r > 16 ? " ..." : "");
    }
    if (si->k > 0) {
        cli_print_pca_lines(si);
        printf("            |u_a . e_b| (rows: modes a, columns: principal directions b):\n");
        for (size_t a = 0; a < si->k; a++) {
            printf("            %3zu ", a + 1);
            for (size_t b = 0; b < si->k; b++)
                printf(" %5.3f", si->overlaps[a * si->k + b]);
            printf("\n");
        }
    }
    cli_print_time_line(seconds);
}

/* Model, data, the decomposition and the output. */
static int spectrum(rbm_context *ctx, void *arg)
{
    struct spectrum_opts *o = arg;
    rbm_machine *m = NULL;
    rbm_dataset *data = NULL;
    struct cli_data_info di;
    struct cli_spectrum si;
    memset(&si, 0, sizeof si);
    struct cli_compare cmp;
    memset(&cmp, 0, sizeof cmp);
    rbm_svd *svd = NULL;
    char note[1024];
    int rc;
    if ((rc = cli_load_model(ctx, o->model, &m)) != 0)
        goto done;
    /* the rows of W: N q for a Potts machine */
    size_t nv = rbm_machine_weight_rows(m), nh = rbm_machine_n_hidden(m);
    size_t r = nv < nh ? nv : nh;
    if (o->modes > r) {
        if (o->modes_set) {
            cli_errorf("--modes %zu is more than the model's %zu modes (min(N_v, N_h))", o->modes,
                       r);
            rc = EXIT_USAGE;
            goto done;
        }
        o->modes = r;
    }
    if ((rc = cli_load_model_data(ctx, m, &o->data, &o->data_seed, &data, &di)) != 0)
        goto done;
    if (cli_compute_spectrum(ctx, m, data, o->modes, &si, &svd, note, sizeof note) != 0) {
        cli_errorf("%s", note);
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (o->n_compare &&
        (rc = cli_compare_modes(ctx, svd, m, data, o->compare, o->n_compare, &si, &cmp)) != 0)
        goto done;
    double kappa = (double)nh / (double)nv;
    double seconds = cli_now_seconds() - o->t0;
    if (o->json)
        print_spectrum_json(o, m, &di, &si, &cmp, kappa, seconds);
    else
        print_spectrum_report(o, m, &di, &si, &cmp, kappa, seconds);
    rc = cli_flush_stdout() != 0 ? EXIT_RUNTIME : EXIT_OK;
done:
    cli_compare_free(&cmp);
    rbm_svd_free(svd);
    cli_spectrum_free(&si);
    rbm_dataset_free(data);
    rbm_machine_free(m);
    return rc;
}

static int history_run(rbm_context *ctx, void *arg)
{
    return cli_spectrum_history(ctx, arg);
}

int cli_cmd_spectrum(int argc, char **argv)
{
    struct spectrum_opts o;
    int rc = parse_spectrum_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cli_usage_spectrum(stdout);
        return EXIT_OK;
    }
    if (o.history.archive) {
        o.history.json = o.json;
        if (o.history.n_plot == 0)
            o.history.n_plot = PLOT_MODES;
        return cli_run_in_context(history_run, &o.history);
    }
    if (cli_need_model("spectrum", o.model) != 0)
        return EXIT_USAGE;
    o.t0 = cli_now_seconds();
    return cli_run_in_context(spectrum, &o);
}
