/* cmd_linear.c — 'rbm linear': the exact learning dynamics of a
 * Gauss-Gauss RBM on a data set (docs/spectral.md, docs/theory.md §3): the
 * gradient flow dW/dt = sigma_h^2 (C - C_model) W integrated from a small
 * random W, its singular values over time, and the closed-form fixed
 * points w*_a of the data's covariance eigenvalues. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LINEAR_SHOWN 8 /* singular values per line of the report */

struct linear_opts {
    const char *data;
    uint64_t seed;
    size_t n_hidden, records;
    double sigma_v, sigma_h, time, init;
    int json, quiet, help;
    double t0;
};

void cli_usage_linear(FILE *f)
{
    fputs("usage: rbm linear [options]\n"
          "\n"
          "The exact learning dynamics of a gauss-gauss RBM (docs/spectral.md): the\n"
          "gradient flow dW/dt = sigma_h^2 (C - C_model) W of the data's covariance C,\n"
          "integrated (Dormand-Prince 5(4)) from W(0) = INIT N(0, 1), the singular\n"
          "values of W at equally spaced times, and the closed-form fixed points\n"
          "w*_a = sqrt((lambda_a - sigma_v^2) / (sigma_v^2 sigma_h^2 lambda_a)) of the\n"
          "covariance eigenvalues lambda_a > sigma_v^2 (0 below).\n"
          "\n"
          "  --data synthetic|fashion-mnist|FILE   the data, prepared for gaussian\n"
          "                        units as 'rbm train' does (default synthetic)\n"
          "  --seed S              seeds the synthetic data and W(0) (default 1)\n"
          "  --n-hidden N          hidden units (default 5)\n"
          "  --sigma-v S, --sigma-h S   standard deviations (default 1)\n"
          "  --time T              flow time to integrate to (default 20)\n"
          "  --records K           times recorded, 0 to T (default 11, at least 2)\n"
          "  --init X              standard deviation of W(0) (default 0.01)\n" CLI_DATA_READ_HELP
          "  --json                print one JSON object on stdout instead of the report\n"
          "  --quiet               nothing on stderr but errors\n"
          "  -h, --help            show this help\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

static int parse_linear_opts(int argc, char **argv, struct linear_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = "synthetic";
    o->seed = 1;
    o->n_hidden = 5;
    o->records = 11;
    o->sigma_v = o->sigma_h = 1.0;
    o->time = 20.0;
    o->init = 0.01;
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o->json, &o->quiet, &o->help),
        {"--data", .type = OPT_STRING, .dst = &o->data, .expected = DATA_EXPECTED},
        CLI_DATA_READ_OPTIONS,
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--n-hidden", .type = OPT_SIZE, .dst = &o->n_hidden, .min = 1},
        {"--records", .type = OPT_SIZE, .dst = &o->records, .min = 2},
        {"--sigma-v", .type = OPT_POSITIVE, .dst = &o->sigma_v},
        {"--sigma-h", .type = OPT_POSITIVE, .dst = &o->sigma_h},
        {"--time", .type = OPT_POSITIVE, .dst = &o->time},
        {"--init", .type = OPT_POSITIVE, .dst = &o->init},
    };
    const struct cli_args args = {.cmd = "linear", .opts = opts, .n_opts = ARRAY_LEN(opts)};
    int rc = cli_parse_args(&args, argc, argv);
    if (rc == 0 && o->records > 100000) {
        cli_errorf("invalid value '%zu' for --records: too large (at most 100000)", o->records);
        return EXIT_USAGE;
    }
    return rc;
}

/* What one run computes. */
struct linear_run {
    rbm_dataset *data;
    rbm_machine *m;
    struct cli_data_info di;
    size_t nv, r;
    double *C;      /* nv x nv centred covariance */
    double *lambda; /* r top eigenvalues, descending */
    double *wstar;  /* r fixed points */
    double *times;  /* records */
    double *w;      /* records x r */
};

static void linear_free(struct linear_run *L)
{
    rbm_dataset_free(L->data);
    rbm_machine_free(L->m);
    free(L->C);
    free(L->lambda);
    free(L->wstar);
    free(L->times);
    free(L->w);
}

/* The machine with W(0), the covariance and its top r eigenvalues (through
 * the PCA of the data, rbm_svd_pca_overlaps). 0, or an exit status. */
static int linear_setup(rbm_context *ctx, const struct linear_opts *o, struct linear_run *L)
{
    struct cli_data_spec spec = {o->data, cli_data_source_of(o->data), RBM_UNIT_GAUSSIAN,
                                 o->seed, 0, 0};
    int rc = cli_load_data(ctx, &spec, &L->data, &L->di);
    if (rc != 0)
        return rc;
    L->nv = L->di.cols;
    L->r = L->nv < o->n_hidden ? L->nv : o->n_hidden;
    L->C = malloc(L->nv * L->nv * sizeof *L->C);
    L->lambda = malloc(L->r * sizeof *L->lambda);
    L->wstar = malloc(L->r * sizeof *L->wstar);
    L->times = malloc(o->records * sizeof *L->times);
    L->w = malloc(o->records * L->r * sizeof *L->w);
    double *ov = malloc(L->r * L->r * sizeof *ov);
    if (!L->C || !L->lambda || !L->wstar || !L->times || !L->w || !ov) {
        free(ov);
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    rbm_svd *svd = NULL;
    rbm_status st;
    if ((st = rbm_machine_new(ctx, L->nv, o->n_hidden, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN,
                              &L->m)) != RBM_OK ||
        (st = rbm_machine_set_sigma(L->m, RBM_LAYER_VISIBLE, o->sigma_v)) != RBM_OK ||
        (st = rbm_machine_set_sigma(L->m, RBM_LAYER_HIDDEN, o->sigma_h)) != RBM_OK ||
        (st = rbm_machine_init_normal(L->m, o->init, cli_derive_seed(o->seed, 1))) != RBM_OK ||
        (st = rbm_dataset_covariance(L->data, L->C, L->nv * L->nv)) != RBM_OK ||
        (st = rbm_svd_new(L->m, &svd)) != RBM_OK ||
        (st = rbm_svd_pca_overlaps(svd, L->data, L->r, ov, L->r * L->r, L->lambda, L->r)) !=
            RBM_OK ||
        (st = rbm_linear_fixed_points(L->lambda, L->r, o->sigma_v, o->sigma_h, L->wstar,
                                      L->r)) != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot set up the gauss-gauss machine and the covariance");
        rc = st == RBM_ERR_INVALID_ARGUMENT || st == RBM_ERR_NOT_NORMALIZABLE ? EXIT_USAGE
                                                                              : EXIT_RUNTIME;
    }
    rbm_svd_free(svd);
    free(ov);
    return rc;
}

static void print_linear_json(const struct linear_opts *o, const struct linear_run *L,
                              double seconds)
{
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "linear");
    cli_json_str(f, &first, "data", o->data);
    cli_json_size(f, &first, "n_rows", L->di.rows);
    cli_json_size(f, &first, "n_visible", L->nv);
    cli_json_size(f, &first, "n_hidden", o->n_hidden);
    cli_json_real(f, &first, "sigma_v", o->sigma_v);
    cli_json_real(f, &first, "sigma_h", o->sigma_h);
    cli_json_real(f, &first, "init", o->init);
    cli_json_key(f, &first, "eigenvalues");
    cli_json_numbers(f, L->lambda, L->r);
    cli_json_key(f, &first, "fixed_points");
    cli_json_numbers(f, L->wstar, L->r);
    cli_json_key(f, &first, "times");
    cli_json_numbers(f, L->times, o->records);
    cli_json_key(f, &first, "singular_values");
    fputc('[', f);
    for (size_t k = 0; k < o->records; k++) {
        fputs(k ? ", " : "", f);
        cli_json_numbers(f, L->w + k * L->r, L->r);
    }
    fputc(']', f);
    cli_json_u64(f, &first, "seed", o->seed);
    cli_json_real(f, &first, "seconds", seconds);
    fputs("\n}\n", f);
}

static void print_linear_report(const struct linear_opts *o, const struct linear_run *L,
                                double seconds)
{
    size_t shown = L->r < LINEAR_SHOWN ? L->r : LINEAR_SHOWN;
    printf("data        %s, %zu x %zu (covariance eigenvalues:", o->data, L->di.rows, L->nv);
    for (size_t a = 0; a < shown; a++)
        printf(" %.4g", L->lambda[a]);
    printf("%s)\n", L->r > shown ? " ..." : "");
    printf("machine     gauss-gauss %zu x %zu, sigma_v %g, sigma_h %g, W(0) = %g N(0, 1)\n",
           L->nv, o->n_hidden, o->sigma_v, o->sigma_h, o->init);
    printf("flow        dW/dt = sigma_h^2 (C - C_model) W; singular values:\n");
    for (size_t k = 0; k < o->records; k++) {
        printf("            t %8.3f:", L->times[k]);
        for (size_t a = 0; a < shown; a++)
            printf(" %8.5f", L->w[k * L->r + a]);
        printf("\n");
    }
    printf("fixed pts   w* =");
    for (size_t a = 0; a < shown; a++)
        printf(" %8.5f", L->wstar[a]);
    printf("  (closed form; 0 where lambda <= sigma_v^2)\n");
    cli_print_time_line(seconds);
}

static int run_linear(rbm_context *ctx, void *arg)
{
    const struct linear_opts *o = arg;
    struct linear_run L;
    memset(&L, 0, sizeof L);
    int rc = linear_setup(ctx, o, &L);
    if (rc == 0) {
        rbm_status st = rbm_linear_integrate(L.m, L.C, L.nv * L.nv, o->time, 1e-8, 1e-10,
                                             o->records, L.times, o->records, L.w,
                                             o->records * L.r, NULL, NULL);
        if (st != RBM_OK) {
            cli_lib_errorf(ctx, st, "cannot integrate the gauss-gauss flow");
            rc = EXIT_RUNTIME;
        }
    }
    if (rc == 0) {
        double seconds = cli_now_seconds() - o->t0;
        if (o->json)
            print_linear_json(o, &L, seconds);
        else
            print_linear_report(o, &L, seconds);
        rc = cli_flush_stdout() != 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    linear_free(&L);
    return rc;
}

int cli_cmd_linear(int argc, char **argv)
{
    struct linear_opts o;
    int rc = parse_linear_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cli_usage_linear(stdout);
        return EXIT_OK;
    }
    o.t0 = cli_now_seconds();
    return cli_run_in_context(run_linear, &o);
}
