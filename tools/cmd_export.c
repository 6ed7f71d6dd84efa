/* cmd_export.c — 'rbm export MODEL FILE': a model or a whole archive in
 * another format: an `rbms` HDF5 archive (that package's load_model reads
 * it back) or a librbm model file (docs/interop.md). */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct export_opts {
    const char *args[2]; /* MODEL FILE */
    size_t n_args;
    const char *format;
    uint64_t update;
    int update_set;
    size_t chains, gibbs, batch;
    double lr;
    uint64_t seed;
    const char *dtype;
    int json, quiet, help;
};

void cli_usage_export(FILE *f)
{
    fputs("usage: rbm export [options] MODEL FILE\n"
          "\n"
          "Write MODEL (a librbm model file, a librbm training archive or an rbms HDF5\n"
          "archive) to FILE in another format (docs/interop.md):\n"
          "  rbms   an HDF5 archive of the rbms package (BBRBM, IIRBM, BGRBM, IGRBM): one\n"
          "         checkpoint update_N per model -- every model of an archive, or the one\n"
          "         chosen with --update --, parallel_chains, hyperparameters, model_type.\n"
          "         rbms loads it with rbms.io.load_model(FILE, N, ..., restore=False).\n"
          "  rbm    the librbm model file of one model (the last, or --update N).\n"
          "\n"
          "  --format rbms|rbm     the output format (default rbms)\n"
          "  --update N            only the model saved at step/update N of an archive\n"
          "  --dtype float32|float64   parameter type in an rbms archive (default: the\n"
          "                        model's precision)\n"
          "  --chains N            persistent chains written (default 100): drawn from the\n"
          "                        last model by --gibbs Gibbs sweeps from random states\n"
          "  --gibbs K             sweeps for the chains, also written as gibbs_steps\n"
          "                        (default 100)\n"
          "  --batch B, --lr X     written as batch_size and learning_rate (default 100, 0.01)\n"
          "  --seed S              seeds the chains (default 1)\n"
          "  --json                print one JSON object on stdout\n"
          "  --quiet               nothing on stderr but errors\n"
          "  -h, --help            show this help\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

/* The models to write: every model of an archive (steps increasing), or one. */
struct export_set {
    rbm_machine **m;
    uint64_t *update;
    double *seconds;
    size_t n;
};

static void set_free(struct export_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        rbm_machine_free(s->m[i]);
    free(s->m), free(s->update), free(s->seconds);
}

static int set_alloc(struct export_set *s, size_t n)
{
    s->m = calloc(n ? n : 1, sizeof *s->m);
    s->update = calloc(n ? n : 1, sizeof *s->update);
    s->seconds = calloc(n ? n : 1, sizeof *s->seconds);
    if (!s->m || !s->update || !s->seconds) {
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    return 0;
}

static int collect_archive(rbm_context *ctx, const char *path, struct export_set *s)
{
    rbm_archive *a = NULL;
    rbm_status st = rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a);
    size_t n = rbm_archive_count(a);
    int rc = st != RBM_OK ? EXIT_RUNTIME : set_alloc(s, n);
    for (size_t i = 0; rc == 0 && st == RBM_OK && i < n; i++) {
        uint64_t step;
        double secs;
        st = rbm_archive_info(a, i, &step, &secs);
        if (st == RBM_OK && s->n && step <= s->update[s->n - 1])
            continue; /* rbms needs increasing updates: a resumed run's repeats */
        if (st == RBM_OK && (st = rbm_archive_load_machine(a, i, &s->m[s->n])) == RBM_OK) {
            s->update[s->n] = step ? step : 1;
            s->seconds[s->n++] = secs;
        }
    }
    if (st != RBM_OK)
        cli_lib_errorf(ctx, st, "cannot read the archive '%s'", path);
    rbm_archive_free(a);
    if (rc == 0 && st == RBM_OK && s->n == 0) {
        cli_errorf("the archive '%s' holds no model", path);
        rc = EXIT_RUNTIME;
    }
    return st != RBM_OK ? EXIT_RUNTIME : rc;
}

static int collect_rbms(rbm_context *ctx, const char *path, struct export_set *s)
{
    size_t n = 0;
    rbm_status st = rbm_rbms_list(ctx, path, NULL, NULL, 0, &n, NULL, 0);
    int rc = st != RBM_OK ? EXIT_RUNTIME : set_alloc(s, n);
    if (rc == 0)
        st = rbm_rbms_list(ctx, path, s->update, s->seconds, n, &n, NULL, 0);
    for (size_t i = 0; rc == 0 && st == RBM_OK && i < n; i++, s->n++)
        st = rbm_machine_load_rbms(ctx, path, s->update[i], &s->m[i]);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot read the rbms archive '%s'", path);
        rc = EXIT_RUNTIME;
    }
    return rc;
}

static int collect(rbm_context *ctx, const struct export_opts *o, struct export_set *s)
{
    const char *path = o->args[0];
    enum cli_model_format f = cli_model_format_of(path);
    if (f != MODEL_FORMAT_RBM && !o->update_set)
        return f == MODEL_FORMAT_ARCHIVE ? collect_archive(ctx, path, s)
                                         : collect_rbms(ctx, path, s);
    int rc = set_alloc(s, 1);
    if (rc == 0 && (rc = cli_load_model_at(ctx, path, o->update_set, o->update, &s->m[0])) == 0) {
        s->n = 1;
        s->update[0] = o->update_set && o->update ? o->update : 1;
    }
    return rc;
}

/* Chains drawn from the last model. */
static int make_chains(rbm_context *ctx, const struct export_opts *o, rbm_machine *m,
                       double **out)
{
    rbm_sampler *s = NULL;
    size_t len = o->chains * rbm_machine_n_visible(m);
    *out = malloc(len * sizeof **out);
    rbm_status st = *out ? rbm_sampler_new(m, o->chains, cli_derive_seed(o->seed, 4), &s)
                         : RBM_ERR_NO_MEMORY;
    if (st == RBM_OK)
        st = rbm_sampler_run(s, o->gibbs);
    if (st == RBM_OK)
        st = rbm_sampler_get_visible(s, *out, len);
    rbm_sampler_free(s);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot sample the chains");
        return EXIT_RUNTIME;
    }
    return 0;
}

static int export_run(rbm_context *ctx, void *arg)
{
    const struct export_opts *o = arg;
    struct export_set s = {0};
    int rc = collect(ctx, o, &s);
    int rbms = strcmp(o->format, "rbms") == 0;
    double *chains = NULL;
    rbm_status st = RBM_OK;
    int f32 = 0;
    if (rc == 0 && rbms) {
        f32 = o->dtype ? strcmp(o->dtype, "float32") == 0
                       : rbm_machine_precision(s.m[s.n - 1]) == RBM_PRECISION_FLOAT32;
        rc = make_chains(ctx, o, s.m[s.n - 1], &chains);
    }
    if (rc == 0) {
        st = rbms ? rbm_rbms_save((const rbm_machine *const *)s.m, s.update, s.seconds, s.n,
                                  chains, o->chains, o->chains * rbm_machine_n_visible(s.m[0]),
                                  o->batch, o->gibbs, o->lr, f32, o->args[1])
                  : rbm_machine_save(s.m[s.n - 1], o->args[1]);
        if (st != RBM_OK) {
            cli_lib_errorf(ctx, st, "cannot export to '%s'", o->args[1]);
            rc = EXIT_RUNTIME;
        }
    }
    if (rc == 0 && o->json) {
        int first = 1;
        cli_json_header(stdout, &first, "export");
        cli_json_str(stdout, &first, "model", o->args[0]);
        cli_json_str(stdout, &first, "out", o->args[1]);
        cli_json_str(stdout, &first, "format", o->format);
        cli_json_size(stdout, &first, "models", rbms ? s.n : 1);
        cli_json_key(stdout, &first, "updates");
        fputc('[', stdout);
        for (size_t i = rbms ? 0 : s.n - 1; i < s.n; i++)
            printf("%s%" PRIu64, i && rbms ? ", " : "", s.update[i]);
        fputc(']', stdout);
        if (rbms)
            cli_json_str(stdout, &first, "dtype", f32 ? "float32" : "float64");
        fputs("\n}\n", stdout);
    } else if (rc == 0) {
        printf("exported    %s -> %s (%s, %zu model%s)\n", o->args[0], o->args[1], o->format,
               rbms ? s.n : (size_t)1, rbms && s.n != 1 ? "s" : "");
    }
    if (rc == 0 && cli_flush_stdout() != 0)
        rc = EXIT_RUNTIME;
    free(chains);
    set_free(&s);
    return rc;
}

int cli_cmd_export(int argc, char **argv)
{
    struct export_opts o;
    memset(&o, 0, sizeof o);
    o.format = "rbms";
    o.chains = 100;
    o.gibbs = 100;
    o.batch = 100;
    o.lr = 0.01;
    o.seed = 1;
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o.json, &o.quiet, &o.help),
        {"--format", .type = OPT_STRING, .dst = &o.format, .expected = "expected rbms or rbm"},
        {"--update", .type = OPT_U64, .dst = &o.update, .set = &o.update_set},
        {"--dtype", .type = OPT_STRING, .dst = &o.dtype, .expected = "float32 or float64"},
        {"--chains", .type = OPT_SIZE, .dst = &o.chains, .min = 1},
        {"--gibbs", .type = OPT_SIZE, .dst = &o.gibbs},
        {"--batch", .type = OPT_SIZE, .dst = &o.batch, .min = 1},
        {"--lr", .type = OPT_POSITIVE, .dst = &o.lr},
        {"--seed", .type = OPT_U64, .dst = &o.seed},
    };
    /* two positional arguments: take them out before the option parser */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nr = 0;
    if (!rest) {
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    for (int i = 0; i < argc; i++) {
        int takes_value = 0;
        for (size_t k = 0; k < ARRAY_LEN(opts); k++)
            if (strcmp(argv[i], opts[k].name) == 0 && opts[k].type != OPT_FLAG)
                takes_value = 1;
        if (argv[i][0] != '-' && o.n_args < 2) {
            o.args[o.n_args++] = argv[i];
            continue;
        }
        rest[nr++] = argv[i];
        if (takes_value && i + 1 < argc)
            rest[nr++] = argv[++i];
    }
    const struct cli_args args = {.cmd = "export", .opts = opts, .n_opts = ARRAY_LEN(opts)};
    int rc = cli_parse_args(&args, nr, rest);
    free(rest);
    if (rc != 0)
        return rc;
    if (o.help) {
        cli_usage_export(stdout);
        return EXIT_OK;
    }
    if (o.n_args != 2) {
        cli_errorf("export needs MODEL and FILE (see 'rbm help export')");
        return EXIT_USAGE;
    }
    if (strcmp(o.format, "rbms") != 0 && strcmp(o.format, "rbm") != 0) {
        cli_errorf("unknown format '%s' for --format (expected rbms or rbm)", o.format);
        return EXIT_USAGE;
    }
    if (o.dtype && strcmp(o.dtype, "float32") != 0 && strcmp(o.dtype, "float64") != 0) {
        cli_errorf("unknown type '%s' for --dtype (expected float32 or float64)", o.dtype);
        return EXIT_USAGE;
    }
    if ((rc = cli_check_output_path(o.args[1], "the export")) != 0)
        return rc;
    return cli_run_in_context(export_run, &o);
}
