/* cmd_analyze.c — 'rbm analyze MODEL': the mean-field/TAP fixed points of a
 * saved model from random and data starts, the TAP estimate of log Z, the
 * spectrum of W and the phase of the machine (docs/meanfield.md,
 * docs/phase.md). */
#include "cli.h"

#include <math.h>
#include <string.h>

#define ANALYZE_DEFAULT_STARTS 100

struct analyze_opts {
    const char *model;
    const char *data;
    uint64_t data_seed, seed;
    int json, quiet, help, no_data, modes_set;
    int magnetizations; /* --magnetizations: every point's m^v, m^h in the JSON */
    size_t starts, modes;
    double damping; /* NaN: automatic */
    rbm_mf_method method;
    double t0; /* start of the command */
};

void cli_usage_analyze(FILE *f)
{
    fputs("usage: rbm analyze MODEL [options]\n"
          "\n"
          "The thermodynamics of a saved model (docs/meanfield.md, docs/phase.md): its\n"
          "mean-field/TAP fixed points (count, free energy Gamma, stability, how many\n"
          "starts reached each, projections on the first singular modes of W), the TAP\n"
          "estimate of log Z, and where the machine sits on the phase diagram of its\n"
          "ensemble (noise sigma from the bulk of W's spectrum, strong modes above it,\n"
          "component kurtosis, compositional or not).\n"
          "\n"
          "  --data synthetic|fashion-mnist|FILE   data rows used as starts, prepared\n"
          "                        for the model's visible units as 'rbm train' does\n"
          "                        (default synthetic: the built-in data of the model's\n"
          "                        visible kind and size, generated with --data-seed)\n"
          "  --no-data             random starts only\n"
          "  --data-seed S         the --seed of 'rbm train' for synthetic data (default 1)\n"
          CLI_DATA_READ_HELP
          CLI_MODEL_READ_HELP
          "  --starts N            N random starts plus N data rows (default 100)\n"
          "  --order mf|tap2|tap3  order of the expansion of the free energy (default\n"
          "                        tap2; 'tap' is tap2, 'mf' naive mean field)\n"
          "  --modes K             projections on the first K modes (default 5)\n"
          "  --magnetizations      list every fixed point's magnetisations m^v and m^h\n"
          "                        in the JSON (keys \"mv\", \"mh\")\n"
          "  --damping L           damping of the fixed-point iteration, m <- (1-L) m +\n"
          "                        L F(m), in (0, 1]. Default: 0.5, and when more than a\n"
          "                        tenth of the starts do not converge (the iteration\n"
          "                        oscillates where couplings are strong) 0.1, then\n"
          "                        0.02, keeping the run with the fewest failures\n"
          "  --seed S              seeds the random starts and the choice of rows\n"
          "                        (default 1)\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "  --quiet               nothing on stderr but errors\n"
          "  -h, --help            show this help\n"
          "\n"
          "Random starts are uniform {0,1} (bernoulli), +-1 (ising) or N(0, sigma^2)\n"
          "(gaussian) visible states; each start iterates the damped fixed-point\n"
          "equations to a residual below 1e-10 (at most 5000 iterations), and points\n"
          "closer than 1e-4 (mean absolute difference) are merged. log Z (TAP) is\n"
          "the log-sum-exp of -Gamma over the distinct stable points. The phase is\n"
          "the replica-symmetric phase at T = 1 of the ensemble matching the machine\n"
          "(bernoulli layers mapped to +-1); gaussian layers have none.\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

static int parse_order(const char *s, void *dst)
{
    return rbm_mf_method_parse(s, (rbm_mf_method *)dst) == RBM_OK ? 0 : -1;
}

static const struct cli_choice ORDER_CHOICE = {"order", "mf, tap, tap2 or tap3", parse_order};

static int parse_analyze_opts(int argc, char **argv, struct analyze_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = "synthetic";
    o->data_seed = o->seed = 1;
    o->starts = ANALYZE_DEFAULT_STARTS;
    o->modes = 5;
    o->damping = NAN;
    o->method = RBM_MF_TAP2;
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o->json, &o->quiet, &o->help),
        CLI_DATA_OPTIONS(&o->data, &o->data_seed),
        {"--no-data", .type = OPT_FLAG, .dst = &o->no_data},
        {"--magnetizations", .type = OPT_FLAG, .dst = &o->magnetizations},
        {"--starts", .type = OPT_SIZE, .dst = &o->starts, .min = 1, .max = 1000000},
        {"--modes", .type = OPT_SIZE, .dst = &o->modes, .min = 1, .set = &o->modes_set},
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--damping", .type = OPT_FRACTION, .dst = &o->damping},
        {"--order", .type = OPT_CHOICE, .choice = &ORDER_CHOICE, .dst = &o->method},
    };
    const struct cli_args args = {.cmd = "analyze", .opts = opts, .n_opts = ARRAY_LEN(opts),
                                  .model = &o->model};
    return cli_parse_args(&args, argc, argv);
}

/* What the command found. */
struct analysis {
    rbm_machine *m;
    rbm_dataset *data; /* NULL with --no-data */
    rbm_svd *svd;
    struct cli_data_info di;
    struct cli_spectrum si;
    struct cli_fixed_points fi;
    struct cli_phase pi;
    double damping; /* used */
};

static void free_analysis(struct analysis *a)
{
    cli_fixed_points_free(&a->fi);
    cli_spectrum_free(&a->si);
    rbm_svd_free(a->svd);
    rbm_dataset_free(a->data);
    rbm_machine_free(a->m);
}

/* TAP needs a bernoulli or ising layer: EXIT_USAGE for a gauss-gauss
 * model unless the order is mf. */
static int check_order(const struct analyze_opts *o, const rbm_machine *m)
{
    if (o->method == RBM_MF_NAIVE ||
        rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) != RBM_UNIT_GAUSSIAN ||
        rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN) != RBM_UNIT_GAUSSIAN)
        return 0;
    cli_errorf("--order %s needs a bernoulli or ising layer, and '%s' is gauss-gauss (use --order "
               "mf: naive mean field is exact there)",
               rbm_mf_method_name(o->method), o->model);
    return EXIT_USAGE;
}

/* Model, data, spectrum, fixed points and phase into a. */
static int analyze(rbm_context *ctx, struct analyze_opts *o, struct analysis *a)
{
    char note[1024];
    int rc;
    if ((rc = cli_load_model(ctx, o->model, &a->m)) != 0 || (rc = check_order(o, a->m)) != 0)
        return rc;
    if (!o->no_data &&
        (rc = cli_load_model_data(ctx, a->m, &o->data, &o->data_seed, &a->data, &a->di)) != 0)
        return rc;
    if (cli_compute_spectrum(ctx, a->m, NULL, 0, &a->si, &a->svd, note, sizeof note) != 0) {
        cli_errorf("%s", note);
        return EXIT_RUNTIME;
    }
    if (o->modes > a->si.r) {
        if (o->modes_set) {
            cli_errorf("--modes %zu is more than the model's %zu modes (min(N_v, N_h))", o->modes,
                       a->si.r);
            return EXIT_USAGE;
        }
        o->modes = a->si.r;
    }
    size_t n_data = a->data ? (o->starts < a->di.rows ? o->starts : a->di.rows) : 0;
    if (!o->quiet) {
        fprintf(stderr, "rbm: %s fixed points from %zu random starts%s",
                rbm_mf_method_name(o->method), o->starts, n_data ? " and " : "\n");
        if (n_data)
            fprintf(stderr, "%zu data rows\n", n_data);
        fflush(stderr);
    }
    struct cli_fp_search q = {o->method, o->damping, a->data, o->starts, n_data,
                              cli_derive_seed(o->seed, 5), a->svd, o->modes,
                              o->magnetizations};
    if (cli_find_fixed_points(ctx, a->m, &q, &a->fi, &a->damping, note, sizeof note) != 0) {
        cli_errorf("%s", note);
        return EXIT_RUNTIME;
    }
    cli_machine_phase(ctx, a->m, &a->pi);
    return 0;
}

/* ---- output ---- */

static void json_fixed_points(FILE *f, int *first, const struct cli_fixed_points *fi)
{
    cli_json_key(f, first, "fixed_points");
    fputc('[', f);
    for (size_t k = 0; k < fi->count; k++) {
        fputs(k ? ",\n    {" : "\n    {", f);
        fputs("\"gamma\": ", f);
        cli_json_number(f, fi->gamma[k]);
        fprintf(f, ", \"stable\": %s, \"multiplicity\": %zu, \"min_eigenvalue\": ",
                fi->stable[k] ? "true" : "false", fi->mult[k]);
        cli_json_number(f, fi->min_eig[k]);
        fputs(", \"projections\": ", f);
        cli_json_numbers(f, fi->proj ? fi->proj + k * fi->kp : NULL, fi->kp);
        if (fi->mv) {
            fputs(", \"mv\": ", f);
            cli_json_numbers(f, fi->mv + k * fi->nv, fi->nv);
            fputs(", \"mh\": ", f);
            cli_json_numbers(f, fi->mh + k * fi->nh, fi->nh);
        }
        fputs("}", f);
    }
    fputs(fi->count ? "\n  ]" : "]", f);
}

static void print_analyze_json(const struct analyze_opts *o, const struct analysis *a,
                               double seconds)
{
    const struct cli_fixed_points *fi = &a->fi;
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "analyze");
    cli_json_model(f, &first, o->model, a->m);
    cli_json_str_or_null(f, &first, "data", a->data ? o->data : NULL);
    cli_json_str(f, &first, "order", rbm_mf_method_name(o->method));
    cli_json_real(f, &first, "damping", a->damping);
    cli_json_size(f, &first, "n_starts", fi->n_random + fi->n_data);
    cli_json_size(f, &first, "n_random_starts", fi->n_random);
    cli_json_size(f, &first, "n_data_starts", fi->n_data);
    cli_json_size(f, &first, "n_failed", fi->n_failed);
    cli_json_size(f, &first, "n_fixed_points", fi->count);
    cli_json_size(f, &first, "n_stable", fi->n_stable);
    json_fixed_points(f, &first, fi);
    cli_json_real(f, &first, "log_z_tap", fi->log_z);
    cli_json_real(f, &first, "log_z_tap_best", fi->best);
    cli_json_size(f, &first, "log_z_tap_states", fi->n_used);
    cli_json_key(f, &first, "singular_values");
    cli_json_numbers(f, a->si.w, a->si.r < o->modes ? a->si.r : o->modes);
    cli_json_real(f, &first, "bulk_edge", a->si.edge);
    cli_json_size(f, &first, "n_modes_outside_bulk", a->si.n_outside);
    cli_json_phase(f, &first, &a->pi);
    cli_json_u64(f, &first, "seed", o->seed);
    cli_json_real(f, &first, "seconds_fixed_points", fi->seconds);
    cli_json_real(f, &first, "seconds", seconds);
    fputs("\n}\n", f);
}

/* The table of fixed points (at most 30) and the TAP log Z. */
static void print_fixed_points(const struct cli_fixed_points *fi)
{
    if (fi->count == 0) {
        printf("log Z       TAP - (no start converged)\n");
        return;
    }
    printf("            %4s %14s %6s %7s  projections u_a . m^v on modes 1..%zu\n", "#", "Gamma",
           "starts", "stable", fi->kp);
    for (size_t k = 0; k < fi->count && k < 30; k++) {
        printf("            %4zu %14.6f %6zu %7s ", k + 1, fi->gamma[k], fi->mult[k],
               fi->stable[k] ? "yes" : "no");
        for (size_t a = 0; a < fi->kp; a++)
            printf(" %7.3f", fi->proj[k * fi->kp + a]);
        printf("\n");
    }
    if (fi->count > 30)
        printf("            ... (%zu more; --json lists them all)\n", fi->count - 30);
    printf("log Z       TAP %.6f (log-sum-exp of -Gamma over %zu state%s); best single "
           "state %.6f\n",
           fi->log_z, fi->n_used, fi->n_used == 1 ? "" : "s", fi->best);
}

static void print_analyze_report(const struct analyze_opts *o, const struct analysis *a,
                                 double seconds)
{
    const struct cli_fixed_points *fi = &a->fi;
    const struct cli_spectrum *si = &a->si;
    cli_print_model_line(o->model, a->m);
    if (a->data)
        cli_print_data_line(o->data, cli_data_source_of(o->data),
                            rbm_machine_unit_kind(a->m, RBM_LAYER_VISIBLE), &a->di);
    printf("starts      %zu random%s", fi->n_random, fi->n_data ? ", " : "");
    if (fi->n_data)
        printf("%zu data rows", fi->n_data);
    printf(" (seed %llu, damping %g); %zu did not converge\n", (unsigned long long)o->seed,
           a->damping, fi->n_failed);
    printf("fixed pts   %zu distinct %s fixed point%s, %zu stable\n", fi->count,
           rbm_mf_method_name(o->method), fi->count == 1 ? "" : "s", fi->n_stable);
    print_fixed_points(fi);
    printf("spectrum    bulk edge %.4f, %zu mode%s outside; w =", si->edge, si->n_outside,
           si->n_outside == 1 ? "" : "s");
    for (size_t i = 0; i < si->r && i < o->modes; i++)
        printf(" %.4g", si->w[i]);
    printf("%s\n", si->r > o->modes ? " ..." : "");
    cli_print_phase_line(&a->pi, si->n_outside);
    cli_print_time_line(seconds);
}

/* ---- the command ---- */

static int analyze_and_print(rbm_context *ctx, void *arg)
{
    struct analyze_opts *o = arg;
    struct analysis a;
    memset(&a, 0, sizeof a);
    int rc = analyze(ctx, o, &a);
    if (rc == 0) {
        double seconds = cli_now_seconds() - o->t0;
        if (o->json)
            print_analyze_json(o, &a, seconds);
        else
            print_analyze_report(o, &a, seconds);
        rc = cli_flush_stdout() != 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    free_analysis(&a);
    return rc;
}

int cli_cmd_analyze(int argc, char **argv)
{
    struct analyze_opts o;
    int rc = parse_analyze_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cli_usage_analyze(stdout);
        return EXIT_OK;
    }
    if (cli_need_model("analyze", o.model) != 0)
        return EXIT_USAGE;
    o.t0 = cli_now_seconds();
    return cli_run_in_context(analyze_and_print, &o);
}
