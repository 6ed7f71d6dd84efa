/* cmd_sample.c — 'rbm sample MODEL': persistent Gibbs chains of a saved
 * model, written as a PNG grid of images (image-shaped models), a NumPy
 * .npy file (rbm_dataset_save_npy), a text file, or for a Potts model
 * sequences as FASTA (cli_seq.c). */
#include "cli.h"
#include "cli_tempering.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_DEFAULT_N 64
#define SAMPLE_DEFAULT_STEPS 1000
#define SAMPLE_MAX_N 1000000
#define PNG_MAX_SIDE 1000000 /* libpng's limit on the width and height */

enum sample_format { FORMAT_PNG, FORMAT_NPY, FORMAT_TXT, FORMAT_FASTA };

struct sample_opts {
    const char *model;
    const char *data; /* NULL: chains start from random states */
    const char *out;  /* NULL: the default for the shape */
    size_t n, steps;
    uint64_t seed, data_seed;
    int means;
    size_t pt;        /* --pt R: replicas of a tempering ladder (0: Gibbs) */
    int ptt;          /* --ptt: MODEL is a training archive, PTT over its models */
    int diagnostics;  /* --diagnostics */
    int json, quiet, help;
    double t0; /* start of the command */
};

void cli_usage_sample(FILE *f)
{
    fputs("usage: rbm sample MODEL [options]\n"
          "\n"
          "Run persistent Gibbs chains of a saved model and write the samples: an image\n"
          "grid (PNG) when the visible layer is image-shaped (the data's image shape,\n"
          "or a perfect square number of units such as 784 = 28 x 28), otherwise a\n"
          "NumPy .npy file (float64, N x N_v) or a text file (one sample per line).\n"
          "\n"
          "  -n N                  number of chains (default 64, at most 1000000)\n"
          "  --steps K             Gibbs steps per chain (default 1000; 0 keeps the\n"
          "                        starting states)\n"
          "  --seed S              seeds the chains (default 1)\n"
          "  --data synthetic|fashion-mnist|FILE   start the chains from data rows\n"
          "                        drawn at random (prepared as 'rbm train' does);\n"
          "                        default: random states\n"
          "  --data-seed S         the --seed of 'rbm train' for synthetic data\n"
          "                        (default 1)\n"
          CLI_DATA_READ_HELP,
          f);
    cli_usage_alignment(f);
    fputs(CLI_MODEL_READ_HELP
          "  --out FILE.png|FILE.npy|FILE.txt|FILE.fasta   (default rbm-samples.png\n"
          "                        for image-shaped models, rbm-samples.fasta for\n"
          "                        Potts models, rbm-samples.npy otherwise); FASTA: the\n"
          "                        sequences of a Potts model in its alphabet (the one\n"
          "                        recorded by 'rbm train', or --alphabet)\n"
          "  --pt R                parallel tempering with R >= 2 replicas (betas from 0 to\n"
          "                        1, tuned to equal swap acceptance first); the samples\n"
          "                        are the beta = 1 replica's; a step is one PT sweep;\n"
          "                        the chains start from the independent beta = 0 model\n"
          "  --ptt                 MODEL is a librbm training archive (rbm train\n"
          "                        --archive): tempering along its models, those kept\n"
          "                        chosen for swap acceptance 0.3; samples of the last\n"
          "  --diagnostics         integrated autocorrelation time (Sokal windowing) and\n"
          "                        effective sample size of the free energy and of the\n"
          "                        projections on the first two SVD modes of W, and with\n"
          "                        --pt the swap acceptances and round trips; and the\n"
          "                        rate of moves between the basins of the stable TAP2\n"
          "                        fixed points (largest normalised overlap; from\n"
          "                        100 random starts) when there are two or more\n"
          "  --means               write the means E[v|h] of the last step to .npy/.txt\n"
          "                        instead of the sampled states (PNG images always\n"
          "                        show the means)\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "  --quiet               no progress display on stderr\n"
          "  -h, --help            show this help\n"
          "\n"
          "PNG grey levels: 255 x E[v|h] for bernoulli units, 255 x (E[v|h] + 1) / 2\n"
          "for ising units, the range of the means mapped to 0..255 for gaussian ones;\n"
          "the images are tiled in a near-square grid with 1-pixel grey borders.\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

static int parse_sample_opts(int argc, char **argv, struct sample_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n = SAMPLE_DEFAULT_N;
    o->steps = SAMPLE_DEFAULT_STEPS;
    o->seed = 1;
    o->data_seed = 1;
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o->json, &o->quiet, &o->help),
        CLI_DATA_OPTIONS(&o->data, &o->data_seed),
        {"--means", .type = OPT_FLAG, .dst = &o->means},
        {"--pt", .type = OPT_SIZE, .dst = &o->pt, .min = 2, .max = RBM_TEMPERING_MAX_REPLICAS},
        {"--ptt", .type = OPT_FLAG, .dst = &o->ptt},
        {"--diagnostics", .type = OPT_FLAG, .dst = &o->diagnostics},
        {"-n", .type = OPT_SIZE, .dst = &o->n, .min = 1, .max = SAMPLE_MAX_N},
        {"--steps", .type = OPT_SIZE, .dst = &o->steps, .min = 0},
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--out", .type = OPT_STRING, .dst = &o->out,
         .expected = "expected FILE.png, FILE.npy, FILE.txt or FILE.fasta"},
    };
    const struct cli_args args = {.cmd = "sample", .opts = opts, .n_opts = ARRAY_LEN(opts),
                                  .model = &o->model};
    if (cli_parse_args(&args, argc, argv) != 0)
        return EXIT_USAGE;
    if (!o->help && cli_need_model("sample", o->model) != 0)
        return EXIT_USAGE;
    return 0;
}

/* The format of --out by its suffix; EXIT_USAGE after the error. */
static int format_of(const char *out, enum sample_format *fmt)
{
    if (cli_has_suffix(out, ".png"))
        *fmt = FORMAT_PNG;
    else if (cli_has_suffix(out, ".npy"))
        *fmt = FORMAT_NPY;
    else if (cli_has_suffix(out, ".txt"))
        *fmt = FORMAT_TXT;
    else if (cli_has_suffix(out, ".fasta") || cli_has_suffix(out, ".fa"))
        *fmt = FORMAT_FASTA;
    else {
        cli_errorf("unknown output type for --out '%s' (expected FILE.png, FILE.npy, FILE.txt "
                   "or FILE.fasta)",
                   out);
        return EXIT_USAGE;
    }
    return 0;
}

/* Everything a run of 'rbm sample' holds (freed by free_run but the
 * context). */
struct sample_run {
    struct sample_opts o;
    enum sample_format fmt;
    rbm_context *ctx;
    rbm_machine *m;
    rbm_dataset *data;
    struct cli_chains c;
    double *v, *h, *mean; /* n x N_v states, n x N_h states, n x N_v means */
    struct cli_data_info di;
    struct cli_grid g;
    double sample_seconds;
    char alphabet[260]; /* FASTA: the symbols of the states */
};

static void free_run(struct sample_run *r)
{
    free(r->v);
    free(r->h);
    free(r->mean);
    cli_chains_free(&r->c);
    rbm_dataset_free(r->data);
    rbm_machine_free(r->m);
}

/* Image shape of the visible layer: the data's, or a square (0: none). */
static size_t image_side(const struct sample_run *r, size_t *ih, size_t *iw)
{
    size_t nv = rbm_machine_n_visible(r->m);
    *ih = *iw = 0;
    if (r->data)
        rbm_dataset_image_shape(r->data, ih, iw);
    if (*ih * *iw != nv || *ih == 0) {
        size_t s = (size_t)llround(sqrt((double)nv));
        while (s * s > nv)
            s--;
        while ((s + 1) * (s + 1) <= nv)
            s++;
        *ih = *iw = s * s == nv ? s : 0;
    }
    return *ih;
}

/* The output path and format (defaults from the shape), and the grid of a
 * PNG. 0 or an exit status after the error. */
static int plan_output(struct sample_run *r)
{
    size_t ih, iw, nv = rbm_machine_n_visible(r->m);
    int potts = rbm_machine_unit_kind(r->m, RBM_LAYER_VISIBLE) == RBM_UNIT_POTTS;
    int image = !potts && image_side(r, &ih, &iw) > 0;
    int rc;
    if (potts && !r->o.out) {
        r->o.out = "rbm-samples.fasta";
        r->fmt = FORMAT_FASTA;
        if ((rc = cli_check_output_path(r->o.out, "the samples")) != 0)
            return rc;
    }
    if (r->fmt == FORMAT_FASTA && !potts) {
        cli_errorf("FASTA output holds the sequences of a Potts model; this model's visible "
                   "units are %s (use FILE.npy or FILE.txt)",
                   cli_unit_name(rbm_machine_unit_kind(r->m, RBM_LAYER_VISIBLE)));
        return EXIT_USAGE;
    }
    if (potts && (r->fmt == FORMAT_PNG || r->o.means)) {
        cli_errorf("%s a Potts model's samples: they are sequences (use FILE.fasta, or FILE.npy "
                   "or FILE.txt for the state indices)",
                   r->o.means ? "--means does not apply to" : "no PNG image of");
        return EXIT_USAGE;
    }
    if (r->fmt == FORMAT_FASTA)
        return cli_sample_alphabet(r->m, r->alphabet, sizeof r->alphabet);
    if (!r->o.out) {
        r->o.out = image ? "rbm-samples.png" : "rbm-samples.npy";
        r->fmt = image ? FORMAT_PNG : FORMAT_NPY;
        if ((rc = cli_check_output_path(r->o.out, "the samples")) != 0)
            return rc;
    }
    if (r->fmt != FORMAT_PNG)
        return 0;
    if (!image) {
        cli_errorf("cannot write a PNG: the model's %zu visible units are not an image (not a "
                   "perfect square, and no image shape from --data); use FILE.npy or FILE.txt",
                   nv);
        return EXIT_USAGE;
    }
    cli_grid_layout(&r->g, r->o.n, ih, iw);
    if (r->g.width > PNG_MAX_SIDE || r->g.height > PNG_MAX_SIDE) {
        cli_errorf("a grid of %zu images of %zu x %zu pixels is %zu x %zu pixels, more than a "
                   "PNG may have (%d per side); use fewer chains",
                   r->o.n, ih, iw, r->g.height, r->g.width, PNG_MAX_SIDE);
        return EXIT_USAGE;
    }
    return 0;
}

/* The chains and the buffers for their states. */
static int start_chains(struct sample_run *r)
{
    size_t n = r->o.n, nv = rbm_machine_n_visible(r->m), nh = rbm_machine_n_hidden(r->m);
    if (r->o.pt && r->o.ptt) {
        cli_errorf("--pt and --ptt exclude each other");
        return EXIT_USAGE;
    }
    int rc = cli_chains_start(r->ctx, r->m, r->data, n, r->o.pt, r->o.ptt ? r->o.model : NULL,
                              cli_derive_seed(r->o.seed, 4),
                              r->o.diagnostics, r->o.steps, &r->c);
    if (rc != 0)
        return rc;
    r->v = malloc(n * nv * sizeof *r->v);
    r->h = malloc(n * nh * sizeof *r->h);
    r->mean = malloc(n * rbm_machine_weight_rows(r->m) * sizeof *r->mean); /* N q for Potts */
    if (!r->v || !r->h || !r->mean) {
        cli_errorf("out of memory for %zu chains of %zu + %zu units", n, nv, nh);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* The Gibbs steps, in chunks for the progress display (the same chains).
 * 0, EXIT_RUNTIME after an error, or 128 + signal when interrupted. */
static int run_chains(struct sample_run *r)
{
    const size_t steps = r->o.steps;
    struct cli_progress p;
    cli_progress_init(&p, r->o.quiet);
    size_t chunk = steps / 100 ? steps / 100 : 1;
    const double ts = cli_now_seconds();
    int rc = 0;
    cli_install_signal_handlers();
    for (size_t done = 0; done < steps && !cli_interrupted();) {
        size_t k = steps - done < chunk ? steps - done : chunk;
        if (cli_chains_run(r->ctx, &r->c, k) != 0) {
            cli_progress_close(&p);
            cli_restore_signal_handlers();
            return EXIT_RUNTIME;
        }
        done += k;
        double now = cli_now_seconds();
        if (cli_progress_due(&p, now, done == steps)) {
            double el = now - ts, frac = (double)done / (double)steps;
            char left[96], right[64], eta_s[32];
            cli_fmt_duration(eta_s, sizeof eta_s, el / frac * (1 - frac));
            snprintf(left, sizeof left, "sampling step %zu/%zu ", done, steps);
            snprintf(right, sizeof right, " ETA %5s", eta_s);
            cli_progress_show(&p, left, frac, right);
            p.last_draw = now;
        }
    }
    cli_restore_signal_handlers();
    cli_progress_close(&p);
    int sig = cli_interrupted();
    if (sig) {
        if (!r->o.quiet)
            fprintf(stderr, "rbm: %s while sampling; nothing written\n", cli_signal_verb(sig));
        rc = 128 + sig;
    }
    r->sample_seconds = cli_now_seconds() - ts;
    return rc;
}

/* The n x N_v values x as an NPY file, written by the library (atomic). */
static int write_npy(const struct sample_run *r, const double *x)
{
    rbm_dataset *ds = NULL;
    rbm_status st = rbm_dataset_from_memory(r->ctx, x, RBM_DTYPE_FLOAT64, r->o.n,
                                            rbm_machine_n_visible(r->m), RBM_BORROW, &ds);
    if (st == RBM_OK)
        st = rbm_dataset_save_npy(ds, r->o.out);
    if (st != RBM_OK)
        cli_lib_errorf(r->ctx, st, "cannot write the samples to '%s'", r->o.out);
    rbm_dataset_free(ds);
    return st == RBM_OK ? 0 : EXIT_RUNTIME;
}

/* The states and means of the last step into the buffers, then the file. */
static int write_samples(struct sample_run *r)
{
    size_t n = r->o.n, nv = rbm_machine_n_visible(r->m), nh = rbm_machine_n_hidden(r->m);
    rbm_status st;
    if (cli_chains_states(r->ctx, &r->c, r->v, r->h) != 0)
        return EXIT_RUNTIME;
    size_t nm = n * rbm_machine_weight_rows(r->m);
    if ((st = rbm_machine_visible_mean(r->m, n, r->h, n * nh, r->mean, nm)) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot read the chains");
        return EXIT_RUNTIME;
    }
    const double *x = r->o.means ? r->mean : r->v;
    if (r->fmt == FORMAT_NPY)
        return write_npy(r, x);
    if (r->fmt == FORMAT_FASTA)
        return cli_write_fasta(r->ctx, r->m, r->v, n, r->alphabet, r->o.out);
    struct cli_outfile of;
    if (cli_start_output(&of, r->o.out) != 0)
        return EXIT_RUNTIME;
    int wrc;
    if (r->fmt == FORMAT_PNG)
        wrc = cli_write_png_grid(of.f, r->o.out, r->mean, n,
                                 rbm_machine_unit_kind(r->m, RBM_LAYER_VISIBLE), &r->g);
    else if ((wrc = cli_write_txt(of.f, x, n, nv)) != 0)
        cli_errorf("cannot write '%s': %s", r->o.out, strerror(errno ? errno : EIO));
    return cli_finish_output(&of, wrc == 0) != 0 ? EXIT_RUNTIME : 0;
}

/* ---- output ---- */

static const char *values_name(const struct sample_run *r)
{
    return r->fmt == FORMAT_PNG || r->o.means ? "means" : "states";
}

static void print_sample_json(const struct sample_run *r, double seconds)
{
    const struct sample_opts *o = &r->o;
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "sample");
    cli_json_model(f, &first, o->model, r->m);
    cli_json_size(f, &first, "n", o->n);
    cli_json_size(f, &first, "steps", o->steps);
    cli_json_u64(f, &first, "seed", o->seed);
    cli_json_str(f, &first, "init", o->pt || o->ptt ? "beta0" : r->data ? "data" : "random");
    cli_json_str_or_null(f, &first, "data", r->data ? o->data : NULL);
    cli_json_str(f, &first, "out", o->out);
    cli_json_str(f, &first, "format",
                 r->fmt == FORMAT_PNG     ? "png"
                 : r->fmt == FORMAT_NPY   ? "npy"
                 : r->fmt == FORMAT_FASTA ? "fasta"
                                          : "txt");
    if (r->fmt == FORMAT_FASTA)
        cli_json_str(f, &first, "alphabet", r->alphabet);
    cli_json_str(f, &first, "values", values_name(r));
    if (r->fmt == FORMAT_PNG) {
        cli_json_size(f, &first, "image_height", r->g.img_h);
        cli_json_size(f, &first, "image_width", r->g.img_w);
        cli_json_size(f, &first, "grid_rows", r->g.rows);
        cli_json_size(f, &first, "grid_cols", r->g.cols);
        cli_json_size(f, &first, "png_height", r->g.height);
        cli_json_size(f, &first, "png_width", r->g.width);
    } else {
        cli_json_key(f, &first, "shape");
        fprintf(f, "[%zu, %zu]", o->n, rbm_machine_n_visible(r->m));
    }
    cli_chains_json(f, &first, &r->c);
    cli_json_real(f, &first, "sampling_seconds", r->sample_seconds);
    cli_json_real(f, &first, "seconds", seconds);
    fputs("\n}\n", f);
}

static void print_sample_report(const struct sample_run *r, double seconds)
{
    const struct sample_opts *o = &r->o;
    const struct cli_grid *g = &r->g;
    cli_print_model_line(o->model, r->m);
    printf("chains      %zu, %zu %s step%s from %s (seed %llu)\n", o->n, o->steps,
           o->ptt ? "PTT" : o->pt ? "PT" : "Gibbs", o->steps == 1 ? "" : "s",
           o->pt || o->ptt ? "the independent model" : r->data ? "data rows" : "random states",
           (unsigned long long)o->seed);
    cli_chains_report(&r->c);
    if (r->data)
        cli_print_data_line(o->data, cli_data_source_of(o->data),
                            rbm_machine_unit_kind(r->m, RBM_LAYER_VISIBLE), &r->di);
    if (r->fmt == FORMAT_PNG)
        printf("output      %s: %zu x %zu grid of %zu x %zu images (%zu x %zu pixels, grey "
               "levels from E[v|h])\n",
               o->out, g->rows, g->cols, g->img_h, g->img_w, g->height, g->width);
    else if (r->fmt == FORMAT_FASTA)
        printf("output      %s: %zu sequences of %zu sites (FASTA, alphabet \"%s\")\n", o->out,
               o->n, rbm_machine_n_visible(r->m), r->alphabet);
    else
        printf("output      %s: %zu x %zu %s (%s)\n", o->out, o->n, rbm_machine_n_visible(r->m),
               r->fmt == FORMAT_NPY ? "float64 NPY" : "text", values_name(r));
    cli_print_time_line(seconds);
}

/* ---- the command ---- */

static int run_sample(struct sample_run *r)
{
    int rc;
    if ((rc = cli_load_model(r->ctx, r->o.model, &r->m)) != 0)
        return rc;
    if (r->o.data && (rc = cli_load_model_data(r->ctx, r->m, &r->o.data, &r->o.data_seed, &r->data,
                                               &r->di)) != 0)
        return rc;
    if ((rc = plan_output(r)) != 0 || (rc = start_chains(r)) != 0 || (rc = run_chains(r)) != 0 ||
        (rc = write_samples(r)) != 0)
        return rc;
    cli_chains_diagnose(r->ctx, &r->c);
    double seconds = cli_now_seconds() - r->o.t0;
    if (r->o.json)
        print_sample_json(r, seconds);
    else
        print_sample_report(r, seconds);
    return cli_flush_stdout() != 0 ? EXIT_RUNTIME : EXIT_OK;
}

static int sample(rbm_context *ctx, void *arg)
{
    struct sample_run *r = arg;
    r->ctx = ctx;
    int rc = run_sample(r);
    free_run(r);
    return rc;
}

int cli_cmd_sample(int argc, char **argv)
{
    struct sample_run r;
    memset(&r, 0, sizeof r);
    int rc = parse_sample_opts(argc, argv, &r.o);
    if (rc != 0)
        return rc;
    if (r.o.help) {
        cli_usage_sample(stdout);
        return EXIT_OK;
    }
    r.fmt = FORMAT_PNG;
    if (r.o.out && ((rc = format_of(r.o.out, &r.fmt)) != 0 ||
                    (rc = cli_check_output_path(r.o.out, "the samples")) != 0))
        return rc;
    r.o.t0 = cli_now_seconds();
    return cli_run_in_context(sample, &r);
}
