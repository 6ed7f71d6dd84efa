/* cmd_phase.c — 'rbm phase': the replica-symmetric solution of the RBM
 * ensemble at one point (kappa, sigma, strong modes w, temperature, law of
 * the components): the phase, the order parameters, the free energy and
 * the transition lines (docs/phase.md). */
#include "cli.h"

#include <math.h>
#include <string.h>

static int parse_axis(const char *s, void *dst)
{
    if (strcmp(s, "temperature") == 0)
        *(int *)dst = 0;
    else if (strcmp(s, "sigma") == 0)
        *(int *)dst = 1;
    else
        return -1;
    return 0;
}

static const struct cli_choice AXIS_CHOICE = {"grid axis", "temperature or sigma", parse_axis};

struct phase_opts {
    double kappa, sigma, temp, sparsity;
    double w[RBM_ENSEMBLE_MAX_MODES];
    size_t k; /* modes given */
    int json, help, quiet, sparsity_set;
    const char *grid; /* --grid DIR, or NULL */
    size_t grid_n;    /* --grid-points */
    int grid_sigma;   /* --grid-axis sigma */
    rbm_component_law law;
    double t0; /* start of the command */
};

void cli_usage_phase(FILE *f)
{
    fputs("usage: rbm phase [options]\n"
          "\n"
          "The replica-symmetric solution of the RBM ensemble (docs/phase.md): +-1 units,\n"
          "no fields, W = sum_a w_a u^a v^a' + noise of strength sigma, at temperature T.\n"
          "Prints the phase (paramagnetic, ferromagnetic, spin_glass), the order\n"
          "parameters m, mbar (one per mode), q, qbar, the free energy, and the\n"
          "transition lines at this T and kappa.\n"
          "\n"
          "  --kappa K             N_h / N_v (default 1)\n"
          "  --sigma S             noise strength (default 1)\n"
          "  --w W                 strength of a strong mode; repeat for several modes\n"
          "                        (at most 8; default one mode of 1.5)\n"
          "  --temperature T       (default 0.5)\n"
          "  --law rademacher|gaussian|laplace|ternary   law of the components of the\n"
          "                        modes on both layers (default rademacher)\n"
          "  --sparsity P          P in (0, 1] for --law ternary (default 0.5)\n"
          "  --grid DIR            the phase diagram over (T, w_1) at this sigma and kappa\n"
          "                        instead of one point: phase_grid.csv, lines.csv (P-F,\n"
          "                        F-SG, P-SG), at_line.csv (de Almeida-Thouless line of\n"
          "                        the RS solution), phase_diagram.gp and .png (gnuplot)\n"
          "  --grid-points N       N x N grid points (default 40)\n"
          "  --grid-axis temperature|sigma   (T, w_1) at --sigma (default), or\n"
          "                        (sigma, w_1) at --temperature\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "  -h, --help            show this help\n"
          "\n"
          "The default point (kappa 1, sigma 1, w 1.5, T 0.5) is ferromagnetic: the mode\n"
          "beats both the temperature and the spin-glass line w_c(T = 0.5). Lines (RS):\n"
          "P-F at w = T (T >= sigma), P-SG at T = sigma (w <= sigma), F-SG at w = w_c(T),\n"
          "from w_c = sigma at T = sigma to sigma sqrt(pi/2) at T = 0.\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

static int parse_law(const char *s, void *dst)
{
    return rbm_component_law_parse(s, (rbm_component_law *)dst) == RBM_OK ? 0 : -1;
}

static const struct cli_choice LAW_CHOICE = {
    "law", "rademacher, gaussian, laplace or ternary", parse_law};

static int parse_phase_opts(int argc, char **argv, struct phase_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kappa = 1;
    o->sigma = 1;
    o->temp = 0.5;
    o->sparsity = 0.5;
    o->law = RBM_LAW_RADEMACHER;
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o->json, &o->quiet, &o->help), /* nothing goes to stderr anyway */
        {"--kappa", .type = OPT_POSITIVE, .dst = &o->kappa},
        {"--sigma", .type = OPT_REAL, .dst = &o->sigma},
        {"--temperature", .type = OPT_POSITIVE, .dst = &o->temp},
        {"--sparsity", .type = OPT_FRACTION, .dst = &o->sparsity, .set = &o->sparsity_set},
        {"--w", .type = OPT_REAL_LIST, .dst = o->w, .count = &o->k,
         .max = RBM_ENSEMBLE_MAX_MODES, .expected = "modes"},
        {"--law", .type = OPT_CHOICE, .choice = &LAW_CHOICE, .dst = &o->law},
        {"--grid", .type = OPT_STRING, .dst = &o->grid, .expected = "expected a directory"},
        {"--grid-points", .type = OPT_SIZE, .dst = &o->grid_n, .min = 3, .max = 400},
        {"--grid-axis", .type = OPT_CHOICE, .choice = &AXIS_CHOICE, .dst = &o->grid_sigma},
    };
    const struct cli_args args = {.cmd = "phase", .opts = opts, .n_opts = ARRAY_LEN(opts)};
    return cli_parse_args(&args, argc, argv);
}

/* The RS solution and the lines at the point. */
struct phase_result {
    rbm_phase ph;
    double mixing;
    int comp, converged;
    double m[RBM_ENSEMBLE_MAX_MODES], mbar[RBM_ENSEMBLE_MAX_MODES], q, qbar, fe;
    double w_c, q_sg, qbar_sg;
    double crit;       /* kurtosis criterion */
    size_t iterations; /* of the RS solver */
};

/* The ensemble of the options; EXIT_USAGE for values the library refuses. */
static int set_up(rbm_context *ctx, const struct phase_opts *o, rbm_ensemble **e)
{
    rbm_status st = rbm_ensemble_new(ctx, e);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot create the ensemble");
        return EXIT_RUNTIME;
    }
    if ((st = rbm_ensemble_set_real(*e, RBM_ENSEMBLE_KAPPA, o->kappa)) != RBM_OK ||
        (st = rbm_ensemble_set_real(*e, RBM_ENSEMBLE_SIGMA, o->sigma)) != RBM_OK ||
        (st = rbm_ensemble_set_real(*e, RBM_ENSEMBLE_TEMPERATURE, o->temp)) != RBM_OK ||
        (st = rbm_ensemble_set_modes(*e, o->w, o->k)) != RBM_OK ||
        (st = rbm_ensemble_set_law(*e, RBM_LAYER_VISIBLE, o->law, o->sparsity)) != RBM_OK ||
        (st = rbm_ensemble_set_law(*e, RBM_LAYER_HIDDEN, o->law, o->sparsity)) != RBM_OK) {
        cli_lib_errorf(ctx, st, "invalid ensemble");
        return st == RBM_ERR_INVALID_ARGUMENT || st == RBM_ERR_NOT_FINITE ? EXIT_USAGE
                                                                          : EXIT_RUNTIME;
    }
    return 0;
}

/* Solve the RS equations and read the solution and the F-SG line. */
static int solve(rbm_context *ctx, rbm_ensemble *e, const struct phase_opts *o,
                 struct phase_result *r)
{
    r->ph = RBM_PHASE_PARAMAGNETIC;
    r->q = r->qbar = r->fe = r->w_c = r->q_sg = r->qbar_sg = r->crit = NAN;
    rbm_status st = rbm_ensemble_phase(e, &r->ph, &r->mixing, &r->comp);
    r->converged = st == RBM_OK;
    if (st != RBM_OK && st != RBM_ERR_NOT_CONVERGED) {
        cli_lib_errorf(ctx, st, "cannot solve the RS equations");
        return EXIT_RUNTIME;
    }
    if (!r->converged) {
        fprintf(stderr, "rbm: warning: the RS iteration did not converge (too close to a "
                        "transition line?); the phase is read from the last iterate\n");
        fflush(stderr);
    }
    st = rbm_ensemble_get_solution(e, r->m, o->k, r->mbar, o->k, &r->q, &r->qbar, &r->fe);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot read the RS solution");
        return EXIT_RUNTIME;
    }
    st = rbm_phase_line_fsg(o->kappa, o->sigma, o->temp, &r->w_c, &r->q_sg, &r->qbar_sg);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot compute the F-SG line");
        return EXIT_RUNTIME;
    }
    rbm_ensemble_kurtosis_criterion(e, &r->crit);
    r->iterations = rbm_ensemble_iteration_count(e);
    return 0;
}

static void print_phase_json(const struct phase_opts *o, const struct phase_result *r,
                             double seconds)
{
    const char *lawname = rbm_component_law_name(o->law);
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "phase");
    cli_json_real(f, &first, "kappa", o->kappa);
    cli_json_real(f, &first, "sigma", o->sigma);
    cli_json_real(f, &first, "temperature", o->temp);
    cli_json_key(f, &first, "w");
    cli_json_numbers(f, o->w, o->k);
    cli_json_str(f, &first, "law", lawname ? lawname : "?");
    if (o->law == RBM_LAW_TERNARY)
        cli_json_real(f, &first, "sparsity", o->sparsity);
    cli_json_str(f, &first, "phase", rbm_phase_name(r->ph));
    cli_json_key(f, &first, "m");
    cli_json_numbers(f, r->m, o->k);
    cli_json_key(f, &first, "mbar");
    cli_json_numbers(f, r->mbar, o->k);
    cli_json_real(f, &first, "q", r->q);
    cli_json_real(f, &first, "qbar", r->qbar);
    cli_json_real(f, &first, "free_energy", r->fe);
    cli_json_real(f, &first, "w_c", r->w_c);
    cli_json_real(f, &first, "q_spin_glass", r->q_sg);
    cli_json_real(f, &first, "qbar_spin_glass", r->qbar_sg);
    cli_json_real(f, &first, "t_c_spin_glass", o->sigma);
    cli_json_real(f, &first, "mixing", r->mixing);
    cli_json_bool(f, &first, "compositional", r->comp);
    cli_json_real(f, &first, "kurtosis_criterion", r->crit);
    cli_json_bool(f, &first, "converged", r->converged);
    cli_json_size(f, &first, "iterations", r->iterations);
    cli_json_real(f, &first, "seconds", seconds);
    fputs("\n}\n", f);
}

/* "x0 x1 ..." with %.6f */
static void print_values(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%.6f", i ? " " : "", x[i]);
}

static void print_phase_report(const struct phase_opts *o, const struct phase_result *r,
                               double seconds)
{
    const char *lawname = rbm_component_law_name(o->law);
    printf("ensemble    kappa %g, sigma %g, T %g, %zu mode%s w =", o->kappa, o->sigma, o->temp,
           o->k, o->k == 1 ? "" : "s");
    double wmax = 0;
    for (size_t i = 0; i < o->k; i++) {
        printf(" %g", o->w[i]);
        wmax = o->w[i] > wmax ? o->w[i] : wmax;
    }
    printf(", %s components", lawname ? lawname : "?");
    if (o->law == RBM_LAW_TERNARY)
        printf(" (p = %g)", o->sparsity);
    printf("\n");
    printf("phase       %s%s\n", rbm_phase_name(r->ph),
           r->converged ? "" : " (from the last iterate: not converged)");
    printf("m           ");
    print_values(r->m, o->k);
    printf("   mbar ");
    print_values(r->mbar, o->k);
    printf("\n");
    printf("q           %.6f   qbar %.6f   free energy per sqrt(N_v N_h) %.6f\n", r->q, r->qbar,
           r->fe);
    if (r->ph == RBM_PHASE_FERROMAGNETIC && o->k > 1)
        printf("            %s (mixing %.3f; kurtosis criterion %.3g)\n",
               r->comp ? "compositional: the magnetisation is shared by several modes"
                       : "pure: one mode carries the magnetisation",
               r->mixing, r->crit);
    printf("lines       at T = %g: ferromagnetic for w_1 > w_c = %.6f (%s line)\n", o->temp,
           r->w_c, o->temp >= o->sigma ? "P-F" : "F-SG");
    printf("            spin glass below T = sigma = %g where w_1 < w_c; here w_1 = %g\n",
           o->sigma, wmax);
    cli_print_time_line(seconds);
}

/* Solve at the point of the options and print. */
static int phase(rbm_context *ctx, void *arg)
{
    const struct phase_opts *o = arg;
    rbm_ensemble *e = NULL;
    struct phase_result r;
    memset(&r, 0, sizeof r);
    int rc;
    if (o->grid) {
        if ((rc = set_up(ctx, o, &e)) == 0)
            rc = cli_phase_grid(ctx, e, o->kappa, o->sigma, o->temp, o->grid_sigma, o->law,
                                o->grid, o->grid_n ? o->grid_n : 40, o->json);
        if (rc == 0)
            rc = cli_flush_stdout() != 0 ? EXIT_RUNTIME : EXIT_OK;
    } else if ((rc = set_up(ctx, o, &e)) == 0 && (rc = solve(ctx, e, o, &r)) == 0) {
        double seconds = cli_now_seconds() - o->t0;
        if (o->json)
            print_phase_json(o, &r, seconds);
        else
            print_phase_report(o, &r, seconds);
        rc = cli_flush_stdout() != 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    rbm_ensemble_free(e);
    return rc;
}

int cli_cmd_phase(int argc, char **argv)
{
    struct phase_opts o;
    int rc = parse_phase_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cli_usage_phase(stdout);
        return EXIT_OK;
    }
    if (o.sparsity_set && o.law != RBM_LAW_TERNARY) {
        cli_errorf("--sparsity applies to --law ternary only");
        return EXIT_USAGE;
    }
    if (o.k == 0)
        o.w[o.k++] = 1.5;
    o.t0 = cli_now_seconds();
    return cli_run_in_context(phase, &o);
}
