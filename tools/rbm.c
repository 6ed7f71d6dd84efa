/* rbm — the librbm command-line program.
 *
 *   rbm train [options]     train an RBM, save it, print a report
 *   rbm eval MODEL [...]    log Z, log-likelihood, pseudo-likelihood
 *   rbm sample MODEL [...]  Gibbs samples as a PNG grid, NPY or text
 *   rbm help [COMMAND]      usage
 *   rbm --version           version of the program and of the loaded library
 *
 * Uses only the public librbm API (<rbm/rbm.h>).
 *
 * Output conventions (DESIGN.md, "The rbm program"): results go to stdout
 * (a short report, or with --json exactly one JSON object and nothing else);
 * progress and errors go to stderr. Errors are one line "rbm: error: ...".
 * Exit status: 0 success, 1 runtime error (I/O, library failure, training
 * diverged), 2 usage error (bad option or value), 128 + signal number when
 * SIGINT (130) or SIGTERM (143) stopped training (the model trained so far is
 * still saved and reported). */
#include <rbm/rbm.h>

#include <png.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__) || defined(__APPLE__) || defined(__unix__)
#include <sys/ioctl.h>
#endif

enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,
    EXIT_USAGE = 2
};

#define FASHION_MNIST_TRAIN "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define DEFAULT_MODEL_PATH "rbm-model.rbm"

/* Built-in synthetic data (SCIENCE.md §7): 11 clusters in 5 dimensions
 * embedded in 100, cluster noise 0.1. */
#define SYNTH_SAMPLES 10000
#define SYNTH_NOISE 0.1

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/* Print s with control characters replaced by spaces, so that an error
 * stays on one line whatever the detail text or a file name contains. */
static void put_one_line(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
    }
}

PRINTF_LIKE(1, 2) static void errorf(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("rbm: error: ", stderr);
    put_one_line(stderr, buf);
    fputc('\n', stderr);
}

/* Report a failed library call: "<what>: <context detail> (RBM_ERR_...)". */
PRINTF_LIKE(3, 4)
static void lib_errorf(const rbm_context *ctx, rbm_status st, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *detail = ctx ? rbm_context_last_error(ctx) : "";
    if (!detail || !*detail)
        detail = rbm_status_message(st);
    errorf("%s: %s (%s)", what, detail, rbm_status_name(st));
}

/* A new librbm context; 0, or -1 after the error. */
static int new_context(rbm_context **ctx)
{
    rbm_status st = rbm_context_new(ctx);
    if (st != RBM_OK) {
        lib_errorf(NULL, st, "cannot create a librbm context");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Help
 * ------------------------------------------------------------------------ */

static void print_usage(FILE *f)
{
    fprintf(f,
            "usage: rbm <command> [options]\n"
            "\n"
            "Restricted Boltzmann Machines from the command line (librbm %s).\n"
            "\n"
            "commands:\n"
            "  train      train an RBM on synthetic data, Fashion-MNIST or a file,\n"
            "             save the model and print a report\n"
            "  eval       log Z (exact or AIS), log-likelihood and pseudo-likelihood\n"
            "             of data under a saved model\n"
            "  sample     run Gibbs chains of a saved model; write an image grid (PNG)\n"
            "             or the samples (NPY, text)\n"
            "  spectrum   singular values of a saved model's W, the noise bulk, the modes\n"
            "             outside it, overlaps with the data's principal directions\n"
            "  analyze    TAP fixed points of a saved model, TAP log Z, its phase\n"
            "  phase      replica-symmetric phase of the RBM ensemble at one point\n"
            "  help       show this help, or 'rbm help COMMAND' for one command\n"
            "\n"
            "options:\n"
            "  -h, --help     show this help\n"
            "  --version      print the version and exit\n"
            "\n"
            "Run 'rbm train' with no arguments for a complete run on the built-in\n"
            "synthetic data: training with a progress display, then a spectral and\n"
            "thermodynamic report of the trained machine with plots.\n",
            rbm_version_string());
}

static void print_train_usage(FILE *f)
{
    fputs("usage: rbm train [options]\n"
          "\n"
          "Train an RBM, showing progress on stderr, save it and print a report on\n"
          "stdout. With no options: the built-in synthetic data set (10000 samples\n"
          "of 11 clusters in 5 dimensions embedded in 100, as +-1 spins), an\n"
          "Ising-Ising RBM with 50 hidden units, PCD-1, and a run of a few seconds.\n"
          "\n"
          "data:\n"
          "  --data synthetic|fashion-mnist|FILE   (default synthetic)\n"
          "      synthetic      generated in the library, of the kind of the visible\n"
          "                     units ({0,1}, +-1 or real)\n"
          "      fashion-mnist  the 60000 training images of Fashion-MNIST, from\n"
          "                     " FASHION_MNIST_TRAIN "\n"
          "                     (Debian package dataset-fashion-mnist); pixels are\n"
          "                     binarised at 127 for bernoulli/ising visible units,\n"
          "                     scaled to [0,1] for gaussian ones\n"
          "      FILE           .csv, .npy or IDX (*-ubyte, *.idx*, optionally .gz),\n"
          "                     one sample per row. Values inside the support of\n"
          "                     the visible units are used as they are (fractional\n"
          "                     values in [0,1] as probabilities for bernoulli);\n"
          "                     otherwise bernoulli/ising data is binarised at the\n"
          "                     midpoint of its range (127 for 8-bit data) and 8-bit\n"
          "                     data for gaussian units is scaled to [0,1]. Data in\n"
          "                     [0,1] for ising units is mapped to 2x-1.\n"
          "\n"
          "machine:\n"
          "  --visible bernoulli|ising|gaussian   (default ising for synthetic data,\n"
          "                                        bernoulli otherwise)\n"
          "  --hidden bernoulli|ising|gaussian    (default: the visible kind, or\n"
          "                                        bernoulli for gaussian visible)\n"
          "  --n-hidden N          hidden units (default 50; 500 for fashion-mnist;\n"
          "                        10 with --estimator exact)\n"
          "  --precision float32|float64   arithmetic of the training kernels\n"
          "                        (default float64)\n"
          "\n"
          "training:\n"
          "  --estimator cd|pcd|exact|mf|tap|tap2|tap3   gradient estimator (default\n"
          "                        pcd); exact enumerates a discrete layer of at most 24\n"
          "                        units; mf, tap2 (= tap) and tap3 are the deterministic\n"
          "                        mean-field/TAP (EMF) estimators with persistent\n"
          "                        magnetisations (docs/meanfield.md)\n"
          "  -k K                  Gibbs sweeps per step for cd/pcd, fixed-point\n"
          "                        iterations per step for mf/tap (default 1)\n"
          "  --epochs E            passes over the data (default 50 for synthetic\n"
          "                        data, 5 otherwise)\n"
          "  --batch B             minibatch size (default 100)\n"
          "  --lr X                learning rate (default 0.01)\n"
          "  --optimizer sgd|momentum|adam   (default sgd)\n"
          "  --l2 X                L2 weight decay on W (default 0)\n"
          "  --seed S              seeds data generation, initialisation and\n"
          "                        training (default 1)\n"
          "  --log-likelihood      compute the exact log-likelihood of the data after\n"
          "                        every epoch even when it is not cheap (it is computed\n"
          "                        anyway when the smaller bernoulli/ising layer has at\n"
          "                        most 16 units and the data at most 100000 rows)\n"
          "\n",
          f);
    fputs("checkpoints:\n"
          "  --checkpoint-every E  every E epochs (and when interrupted) write a\n"
          "                        checkpoint MODEL.ckpt (the --out path + \".ckpt\"): the\n"
          "                        model plus the complete training state; a model file\n"
          "                        for every reader\n"
          "  --resume CKPT         continue the run saved in CKPT, bit for bit, up to\n"
          "                        --epochs epochs in total; give the same --data and\n"
          "                        --seed (the machine and training options come from\n"
          "                        the checkpoint)\n"
          "\n"
          "output:\n"
          "  --out MODEL           where to save the model (default " DEFAULT_MODEL_PATH ")\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "                        (no spectral/thermodynamic report, no plots)\n"
          "  --quiet               no progress display on stderr\n"
          "  -h, --help            show this help\n"
          "\n"
          "spectrum, report and plots:\n"
          "  --track-spectrum      record the singular values of W (all modes up to 512,\n"
          "                        followed by identity), the Marchenko-Pastur bulk edge\n"
          "                        and the number of modes outside the bulk at the start\n"
          "                        and after every epoch; written to MODEL.spectrum.csv\n"
          "                        (step,edge,n_outside,w0,w1,...). On by default with\n"
          "                        the report\n"
          "  --no-report           no spectral and thermodynamic report after training\n"
          "                        (the report is on by default unless --json): the\n"
          "                        spectrum and its history, overlaps with the data's\n"
          "                        principal directions, the TAP2 fixed points reached\n"
          "                        from data rows, the TAP log Z (and the exact one when\n"
          "                        the smaller layer has at most 20 units), the phase of\n"
          "                        the machine, and plots\n"
          "  --plots DIR           where the report's plots go (default: beside the\n"
          "                        model, MODEL without .rbm + \".plots\", e.g.\n"
          "                        rbm-model.plots/): spectrum.png (singular values over\n"
          "                        training with the bulk edge), fixed_points.png (fixed\n"
          "                        points and data on the first two modes), their CSV\n"
          "                        data and the gnuplot script plots.gp; needs gnuplot\n"
          "  --no-plots            the report without plots\n"
          "\n"
          "The reconstruction error is the mean over units and samples of\n"
          "(v - E[v|h])^2 with h = E[h|v], measured on every 10th to 20th minibatch\n"
          "(every one on small data sets) and averaged over each epoch. Weights\n"
          "start from N(0, 0.01^2), visible biases from the data means. Ctrl-C\n"
          "(or SIGTERM) stops after the current minibatch and saves the model\n"
          "trained so far.\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error, 130 (SIGINT) or\n"
          "143 (SIGTERM) when interrupted.\n",
          f);
}

/* ------------------------------------------------------------------------
 * Option values
 * ------------------------------------------------------------------------ */

/* Parse a decimal unsigned integer: digits only (no sign, no blanks, no
 * trailing characters), no overflow, at least min, at most max. */
static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (*s == '\0') {
        errorf("empty value for %s (expected a whole number)", opt);
        return -1;
    }
    if (*s == '-') {
        errorf("invalid value '%s' for %s: must not be negative", s, opt);
        return -1;
    }
    if (*s < '0' || *s > '9') {
        errorf("invalid value '%s' for %s: not a whole number", s, opt);
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        errorf("invalid value '%s' for %s: not a whole number", s, opt);
        return -1;
    }
    if (errno == ERANGE || v > max) {
        errorf("invalid value '%s' for %s: too large (at most %llu)", s, opt,
               (unsigned long long)max);
        return -1;
    }
    if (v < min) {
        errorf("invalid value '%s' for %s: must be at least %llu", s, opt,
               (unsigned long long)min);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int parse_size(const char *opt, const char *s, size_t min, size_t *out)
{
    uint64_t v = 0;
    uint64_t max = (uint64_t)SIZE_MAX < UINT64_MAX ? (uint64_t)SIZE_MAX : UINT64_MAX;
    if (parse_u64(opt, s, min, max, &v) != 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Parse a finite real number; positive requires > 0, otherwise >= 0. */
static int parse_real(const char *opt, const char *s, int positive, double *out)
{
    if (*s == '\0') {
        errorf("empty value for %s (expected a number)", opt);
        return -1;
    }
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v') {
        errorf("invalid value '%s' for %s: not a number", s, opt);
        return -1;
    }
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') {
        errorf("invalid value '%s' for %s: not a number", s, opt);
        return -1;
    }
    if (!isfinite(v)) {
        errorf("invalid value '%s' for %s: must be a finite number", s, opt);
        return -1;
    }
    if (positive && !(v > 0)) {
        errorf("invalid value '%s' for %s: must be greater than 0", s, opt);
        return -1;
    }
    if (!positive && v < 0) {
        errorf("invalid value '%s' for %s: must not be negative", s, opt);
        return -1;
    }
    *out = v;
    return 0;
}

/* Names of the enum values on the command line and in the output. */
struct enum_name {
    const char *name;
    int value;
};

static const struct enum_name UNIT_NAMES[] = {
    {"bernoulli", RBM_UNIT_BERNOULLI},
    {"ising", RBM_UNIT_ISING},
    {"gaussian", RBM_UNIT_GAUSSIAN},
};
static const struct enum_name OPTIMIZER_NAMES[] = {
    {"sgd", RBM_OPTIMIZER_SGD},
    {"momentum", RBM_OPTIMIZER_MOMENTUM},
    {"adam", RBM_OPTIMIZER_ADAM},
};
static const struct enum_name PRECISION_NAMES[] = {
    {"float64", RBM_PRECISION_FLOAT64},
    {"float32", RBM_PRECISION_FLOAT32},
};
#define ARRAY_LEN(a) (sizeof(a) / sizeof(a)[0])

/* The value named s (0), or -1 after "unknown WHAT 's' for OPT (expected
 * EXPECTED)". */
static int parse_enum(const struct enum_name *t, size_t n, const char *what, const char *expected,
                      const char *opt, const char *s, int *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].value;
            return 0;
        }
    errorf("unknown %s '%s' for %s (expected %s)", what, s, opt, expected);
    return -1;
}

static const char *enum_name_of(const struct enum_name *t, size_t n, int value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return "?";
}

static int parse_unit_kind(const char *opt, const char *s, rbm_unit_kind *out)
{
    int v;
    if (parse_enum(UNIT_NAMES, ARRAY_LEN(UNIT_NAMES), "unit kind", "bernoulli, ising or gaussian",
                   opt, s, &v) != 0)
        return -1;
    *out = (rbm_unit_kind)v;
    return 0;
}

static int parse_estimator(const char *opt, const char *s, rbm_estimator_kind *out)
{
    if (rbm_estimator_kind_parse(s, out) != RBM_OK) {
        errorf("unknown estimator '%s' for %s (expected cd, pcd, exact, mf, tap, tap2 or tap3)",
               s, opt);
        return -1;
    }
    return 0;
}

static int parse_optimizer(const char *opt, const char *s, rbm_optimizer *out)
{
    int v;
    if (parse_enum(OPTIMIZER_NAMES, ARRAY_LEN(OPTIMIZER_NAMES), "optimizer",
                   "sgd, momentum or adam", opt, s, &v) != 0)
        return -1;
    *out = (rbm_optimizer)v;
    return 0;
}

static int parse_precision(const char *opt, const char *s, rbm_precision *out)
{
    int v;
    if (parse_enum(PRECISION_NAMES, ARRAY_LEN(PRECISION_NAMES), "precision", "float32 or float64",
                   opt, s, &v) != 0)
        return -1;
    *out = (rbm_precision)v;
    return 0;
}

static const char *unit_name(rbm_unit_kind k)
{
    return enum_name_of(UNIT_NAMES, ARRAY_LEN(UNIT_NAMES), (int)k);
}

static const char *estimator_name(rbm_estimator_kind k)
{
    const char *name = rbm_estimator_kind_name(k);
    return name ? name : "?";
}

/* "PCD-1", "CD-3", "TAP2-1", "exact" */
static void fmt_estimator(char *buf, size_t n, rbm_estimator_kind kind, size_t k)
{
    if (kind == RBM_ESTIMATOR_EXACT) {
        snprintf(buf, n, "exact");
        return;
    }
    char up[16];
    const char *name = estimator_name(kind);
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof up; i++)
        up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
    up[i] = '\0';
    snprintf(buf, n, "%s-%zu", up, k);
}

static const char *optimizer_name(rbm_optimizer o)
{
    return enum_name_of(OPTIMIZER_NAMES, ARRAY_LEN(OPTIMIZER_NAMES), (int)o);
}

static const char *precision_name(rbm_precision p)
{
    return p == RBM_PRECISION_FLOAT32 ? "float32" : "float64";
}

/* ------------------------------------------------------------------------
 * rbm train: options
 * ------------------------------------------------------------------------ */

enum data_source { DATA_SYNTHETIC, DATA_FASHION_MNIST, DATA_FILE };

static enum data_source data_source_of(const char *data)
{
    if (strcmp(data, "synthetic") == 0)
        return DATA_SYNTHETIC;
    if (strcmp(data, "fashion-mnist") == 0)
        return DATA_FASHION_MNIST;
    return DATA_FILE;
}

struct train_opts {
    const char *data;
    enum data_source source;
    rbm_unit_kind visible, hidden;
    int visible_set, hidden_set;
    size_t n_hidden;
    int n_hidden_set;
    rbm_estimator_kind estimator;
    size_t k;
    size_t epochs;
    int epochs_set;
    size_t batch;
    int batch_set;
    double lr;
    rbm_optimizer optimizer;
    double l2;
    uint64_t seed;
    rbm_precision precision;
    const char *out;
    int json, quiet, help;
    size_t checkpoint_every; /* 0: no checkpoints */
    const char *resume;      /* checkpoint to continue from, or NULL */
    int log_likelihood;      /* --log-likelihood: exact log-likelihood every epoch */
    const char *config_opt;  /* first machine/training option given (for --resume) */
    int track_spectrum;      /* --track-spectrum (or implied by the report) */
    int no_report;           /* --no-report */
    const char *plots;       /* --plots DIR, or NULL: beside the model */
    int no_plots;            /* --no-plots */
    int report;              /* the spectral/thermodynamic report is printed */
};

/* Match argv[*i] against option name `name` (e.g. "--epochs"), accepting
 * "--epochs VALUE" and "--epochs=VALUE" (and "-kK" for short options).
 * Returns 1 and sets *value on a match, 0 if the argument is another
 * option, -1 (after printing the error) if the value is missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0') {
        /* short option with attached value: -k3 */
        if (name[1] != '-') {
            *value = arg + n;
            return 1;
        }
        return 0; /* a longer option name with the same prefix */
    }
    if (*i + 1 >= argc) {
        errorf("option '%s' requires a value", name);
        return -1;
    }
    const char *next = argv[*i + 1];
    if (next[0] == '-' && next[1] == '-' && next[2] != '\0') {
        errorf("option '%s' requires a value (got option '%s')", name, next);
        return -1;
    }
    *value = next;
    *i += 1;
    return 1;
}

static int is_flag(const char *arg, const char *name)
{
    return strcmp(arg, name) == 0;
}

/* Table-driven options: each subcommand lists its flags and valued options;
 * take_option matches argv[*i] against the table and stores the value. */
enum opt_type {
    OPT_FLAG,      /* no value: *(int *)dst = 1 */
    OPT_STRING,    /* non-empty string: *(const char **)dst */
    OPT_SIZE,      /* size_t >= min (and <= max when max is not 0) */
    OPT_U64,       /* uint64_t */
    OPT_REAL,      /* double >= 0 */
    OPT_POSITIVE,  /* double > 0 */
    OPT_FRACTION,  /* double in (0, 1] */
    OPT_UNIT,      /* rbm_unit_kind */
    OPT_ESTIMATOR, /* rbm_estimator_kind */
    OPT_OPTIMIZER, /* rbm_optimizer */
    OPT_PRECISION  /* rbm_precision */
};

struct option_spec {
    const char *name;     /* "--epochs", "-k" */
    const char *alias;    /* OPT_FLAG: another spelling ("-q"), or NULL */
    enum opt_type type;
    void *dst;
    int *set;             /* set to 1 when the option is given, or NULL */
    size_t min, max;      /* OPT_SIZE bounds (max 0: none) */
    const char *expected; /* OPT_STRING: what the value should be, for an empty one */
    int config;           /* a machine/training option (train's --resume check) */
};

static int store_option(const struct option_spec *s, const char *v)
{
    switch (s->type) {
    case OPT_FLAG:
        break;
    case OPT_STRING:
        if (*v == '\0') {
            errorf("empty value for %s (%s)", s->name, s->expected);
            return -1;
        }
        *(const char **)s->dst = v;
        return 0;
    case OPT_SIZE:
        if (parse_size(s->name, v, s->min, (size_t *)s->dst) != 0)
            return -1;
        if (s->max && *(size_t *)s->dst > s->max) {
            errorf("invalid value '%s' for %s: too large (at most %zu)", v, s->name, s->max);
            return -1;
        }
        return 0;
    case OPT_U64:
        return parse_u64(s->name, v, 0, UINT64_MAX, (uint64_t *)s->dst);
    case OPT_REAL:
    case OPT_POSITIVE:
    case OPT_FRACTION:
        if (parse_real(s->name, v, s->type != OPT_REAL, (double *)s->dst) != 0)
            return -1;
        if (s->type == OPT_FRACTION && *(double *)s->dst > 1) {
            errorf("invalid value '%s' for %s: must be in (0, 1]", v, s->name);
            return -1;
        }
        return 0;
    case OPT_UNIT:
        return parse_unit_kind(s->name, v, (rbm_unit_kind *)s->dst);
    case OPT_ESTIMATOR:
        return parse_estimator(s->name, v, (rbm_estimator_kind *)s->dst);
    case OPT_OPTIMIZER:
        return parse_optimizer(s->name, v, (rbm_optimizer *)s->dst);
    case OPT_PRECISION:
        return parse_precision(s->name, v, (rbm_precision *)s->dst);
    }
    return 0;
}

/* Match argv[*i] against the n options of the table. Returns 1 if it was one
 * of them (its value consumed and stored), 0 if none, -1 after printing the
 * error of a missing or invalid value. config_opt (or NULL) keeps the first
 * configuration option given. */
static int take_option(int argc, char **argv, int *i, const struct option_spec *table, size_t n,
                       const char **config_opt)
{
    const char *arg = argv[*i];
    for (size_t j = 0; j < n; j++) {
        const struct option_spec *s = &table[j];
        if (s->type == OPT_FLAG &&
            (is_flag(arg, s->name) || (s->alias && is_flag(arg, s->alias)))) {
            *(int *)s->dst = 1;
            return 1;
        }
    }
    for (size_t j = 0; j < n; j++) {
        const struct option_spec *s = &table[j];
        const char *v = NULL;
        int r;
        if (s->type == OPT_FLAG || (r = take_value(argc, argv, i, s->name, &v)) == 0)
            continue;
        if (s->config && config_opt && !*config_opt)
            *config_opt = s->name;
        if (r < 0 || store_option(s, v) != 0)
            return -1;
        if (s->set)
            *s->set = 1;
        return 1;
    }
    return 0;
}


/* Returns 0 on success, EXIT_USAGE after printing an error. */
static int parse_train_opts(int argc, char **argv, struct train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = "synthetic";
    o->estimator = RBM_ESTIMATOR_PCD;
    o->k = 1;
    o->batch = 100;
    o->lr = 0.01;
    o->optimizer = RBM_OPTIMIZER_SGD;
    o->l2 = 0.0;
    o->seed = 1;
    o->precision = RBM_PRECISION_FLOAT64;
    o->out = DEFAULT_MODEL_PATH;

    const struct option_spec opts[] = {
        {"--json", .type = OPT_FLAG, .dst = &o->json},
        {"--quiet", .alias = "-q", .type = OPT_FLAG, .dst = &o->quiet},
        {"--help", .alias = "-h", .type = OPT_FLAG, .dst = &o->help},
        {"--log-likelihood", .type = OPT_FLAG, .dst = &o->log_likelihood},
        {"--track-spectrum", .type = OPT_FLAG, .dst = &o->track_spectrum},
        {"--no-report", .type = OPT_FLAG, .dst = &o->no_report},
        {"--no-plots", .type = OPT_FLAG, .dst = &o->no_plots},
        {"--data", .type = OPT_STRING, .dst = &o->data,
         .expected = "expected synthetic, fashion-mnist or a file"},
        {"--visible", .type = OPT_UNIT, .dst = &o->visible, .set = &o->visible_set, .config = 1},
        {"--hidden", .type = OPT_UNIT, .dst = &o->hidden, .set = &o->hidden_set, .config = 1},
        {"--n-hidden", .type = OPT_SIZE, .dst = &o->n_hidden, .min = 1, .set = &o->n_hidden_set,
         .config = 1},
        {"--estimator", .type = OPT_ESTIMATOR, .dst = &o->estimator, .config = 1},
        {"-k", .type = OPT_SIZE, .dst = &o->k, .min = 1, .config = 1},
        {"--epochs", .type = OPT_SIZE, .dst = &o->epochs, .min = 1, .set = &o->epochs_set},
        {"--batch", .type = OPT_SIZE, .dst = &o->batch, .min = 1, .set = &o->batch_set,
         .config = 1},
        {"--lr", .type = OPT_POSITIVE, .dst = &o->lr, .config = 1},
        {"--optimizer", .type = OPT_OPTIMIZER, .dst = &o->optimizer, .config = 1},
        {"--l2", .type = OPT_REAL, .dst = &o->l2, .config = 1},
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--precision", .type = OPT_PRECISION, .dst = &o->precision, .config = 1},
        {"--checkpoint-every", .type = OPT_SIZE, .dst = &o->checkpoint_every, .min = 1},
        {"--resume", .type = OPT_STRING, .dst = &o->resume,
         .expected = "expected a checkpoint file"},
        {"--out", .type = OPT_STRING, .dst = &o->out, .expected = "expected a file name"},
        {"--plots", .type = OPT_STRING, .dst = &o->plots, .expected = "expected a directory"},
    };
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] == '-' && arg[1] != '\0') {
            int r = take_option(argc, argv, &i, opts, ARRAY_LEN(opts), &o->config_opt);
            if (r < 0)
                return EXIT_USAGE;
            if (r > 0)
                continue;
            if (is_flag(arg, "--version"))
                errorf("'--version' is not an option of 'rbm train' (use 'rbm --version')");
            else
                errorf("unknown option '%s' for 'rbm train' (see 'rbm help train')", arg);
            return EXIT_USAGE;
        }
        errorf("unexpected argument '%s' for 'rbm train' (use --data FILE to train on "
               "a file; see 'rbm help train')",
               arg);
        return EXIT_USAGE;
    }

    o->source = data_source_of(o->data);

    /* Data-dependent defaults. The synthetic data of the papers is +-1
     * (SCIENCE.md §7) and the physics is written for +-1 units: Ising there.
     * Images are conventionally modelled with {0,1} units (and the benchmark
     * of issue 2 uses them): Bernoulli elsewhere. */
    if (!o->visible_set)
        o->visible = o->source == DATA_SYNTHETIC ? RBM_UNIT_ISING : RBM_UNIT_BERNOULLI;
    if (!o->hidden_set)
        o->hidden = o->visible == RBM_UNIT_GAUSSIAN ? RBM_UNIT_BERNOULLI : o->visible;
    if (!o->n_hidden_set) {
        if (o->estimator == RBM_ESTIMATOR_EXACT)
            o->n_hidden = 10; /* 2^10 states per gradient: about 1 s per epoch */
        else
            o->n_hidden = o->source == DATA_FASHION_MNIST ? 500 : 50;
    }
    if (!o->epochs_set)
        o->epochs = o->source == DATA_SYNTHETIC ? 50 : 5;
    /* the report (text output only) needs the spectrum history */
    o->report = !o->json && !o->no_report;
    if (o->report)
        o->track_spectrum = 1;
    if (o->plots && (o->no_plots || !o->report)) {
        errorf("--plots needs the report (it is off with %s)",
               o->no_plots ? "--no-plots" : o->json ? "--json" : "--no-report");
        return EXIT_USAGE;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Data
 * ------------------------------------------------------------------------ */

/* Independent seeds for the data, the initial weights and the trainer,
 * derived from --seed with splitmix64 (so equal --seed values never make
 * two consumers draw the same stream). */
static uint64_t derive_seed(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

struct data_info {
    char transform[160]; /* what was done to the raw values ("none" if nothing) */
    size_t rows, cols;
    double min, max; /* range after the transform */
};

static int apply_transform(rbm_context *ctx, rbm_dataset **ds, rbm_transform tr, double thr,
                           const char *what)
{
    rbm_dataset *t = NULL;
    rbm_status st = rbm_dataset_transform(*ds, tr, thr, &t);
    if (st != RBM_OK) {
        lib_errorf(ctx, st, "cannot transform the data (%s)", what);
        return -1;
    }
    rbm_dataset_free(*ds);
    *ds = t;
    return 0;
}

/* Where data comes from and for which units: the --data value, its kind,
 * the visible unit kind (which decides the transform), --seed (which seeds
 * the synthetic data) and the dimension of synthetic data (0: the default
 * 100). */
struct data_spec {
    const char *data;
    enum data_source source;
    rbm_unit_kind visible;
    uint64_t seed;
    size_t synth_dims;
};

/* Load or generate the data of spec and bring it into the support of the
 * visible units (the transforms of 'rbm train'; 'rbm eval' and 'rbm sample'
 * use the same). Returns 0 or an exit status after printing the error. */
static int load_data_spec(rbm_context *ctx, const struct data_spec *o, rbm_dataset **out,
                          struct data_info *info)
{
    rbm_dataset *ds = NULL;
    rbm_status st;
    *out = NULL;
    memset(info, 0, sizeof *info);
    snprintf(info->transform, sizeof info->transform, "none");

    if (o->source == DATA_SYNTHETIC) {
        size_t dims = o->synth_dims, intrinsic = 0;
        if (dims > 0 && dims < 5)
            intrinsic = dims;
        st = rbm_dataset_synthetic(ctx, SYNTH_SAMPLES, 0, intrinsic, dims, SYNTH_NOISE,
                                   o->visible, derive_seed(o->seed, 0), &ds);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot generate the synthetic data");
            return EXIT_RUNTIME;
        }
    } else if (o->source == DATA_FASHION_MNIST) {
        st = rbm_dataset_load_idx(ctx, FASHION_MNIST_TRAIN, &ds);
        if (st != RBM_OK) {
            lib_errorf(ctx, st,
                       "cannot load fashion-mnist from " FASHION_MNIST_TRAIN
                       " (Debian package dataset-fashion-mnist)");
            return EXIT_RUNTIME;
        }
        int r = 0;
        switch (o->visible) {
        case RBM_UNIT_BERNOULLI:
            r = apply_transform(ctx, &ds, RBM_TRANSFORM_BINARIZE, 127, "binarise at 127");
            snprintf(info->transform, sizeof info->transform, "binarize>127");
            break;
        case RBM_UNIT_ISING:
            r = apply_transform(ctx, &ds, RBM_TRANSFORM_BINARIZE_ISING, 127,
                                "binarise to +-1 at 127");
            snprintf(info->transform, sizeof info->transform, "binarize_ising>127");
            break;
        case RBM_UNIT_GAUSSIAN:
            r = apply_transform(ctx, &ds, RBM_TRANSFORM_SCALE01, 0, "scale to [0,1]");
            snprintf(info->transform, sizeof info->transform, "scale01");
            break;
        }
        if (r != 0) {
            rbm_dataset_free(ds);
            return EXIT_RUNTIME;
        }
    } else {
        st = rbm_dataset_load(ctx, o->data, &ds);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot load data from '%s'", o->data);
            return EXIT_RUNTIME;
        }
        double lo = 0, hi = 0;
        st = rbm_dataset_range(ds, &lo, &hi);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot read the range of '%s'", o->data);
            rbm_dataset_free(ds);
            return EXIT_RUNTIME;
        }
        int is_u8 = rbm_dataset_dtype(ds) == RBM_DTYPE_UINT8;
        double mid = is_u8 ? 127.0 : lo + 0.5 * (hi - lo);
        int r = 0;
        switch (o->visible) {
        case RBM_UNIT_BERNOULLI:
            if (!(lo >= 0 && hi <= 1)) {
                r = apply_transform(ctx, &ds, RBM_TRANSFORM_BINARIZE, mid, "binarise");
                snprintf(info->transform, sizeof info->transform, "binarize>%.17g", mid);
            }
            break;
        case RBM_UNIT_ISING:
            if (!(lo >= -1 && hi <= 1)) {
                r = apply_transform(ctx, &ds, RBM_TRANSFORM_BINARIZE_ISING, mid,
                                    "binarise to +-1");
                snprintf(info->transform, sizeof info->transform, "binarize_ising>%.17g", mid);
            } else if (lo >= 0) {
                /* no negative value: {0,1} or [0,1] data, mapped to +-1 */
                r = apply_transform(ctx, &ds, RBM_TRANSFORM_TO_ISING, 0, "map to 2x-1");
                snprintf(info->transform, sizeof info->transform, "to_ising");
            }
            break;
        case RBM_UNIT_GAUSSIAN:
            if (is_u8) {
                r = apply_transform(ctx, &ds, RBM_TRANSFORM_SCALE01, 0, "scale to [0,1]");
                snprintf(info->transform, sizeof info->transform, "scale01");
            }
            break;
        }
        if (r != 0) {
            rbm_dataset_free(ds);
            return EXIT_RUNTIME;
        }
    }

    info->rows = rbm_dataset_rows(ds);
    info->cols = rbm_dataset_cols(ds);
    if (rbm_dataset_range(ds, &info->min, &info->max) != RBM_OK)
        info->min = info->max = NAN;
    *out = ds;
    return 0;
}

/* The training data of 'rbm train'. */
static int load_data(rbm_context *ctx, const struct train_opts *o, rbm_dataset **out,
                     struct data_info *info)
{
    struct data_spec spec = {o->data, o->source, o->visible, o->seed, 0};
    return load_data_spec(ctx, &spec, out, info);
}

/* ------------------------------------------------------------------------
 * Time and formatting
 * ------------------------------------------------------------------------ */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "812", "45.6k", "1.23M" */
static void fmt_rate(char *buf, size_t n, double x)
{
    if (!(x >= 0) || !isfinite(x))
        snprintf(buf, n, "-");
    else if (x < 1e4)
        snprintf(buf, n, "%.0f", x);
    else if (x < 1e6)
        snprintf(buf, n, "%.1fk", x / 1e3);
    else if (x < 1e9)
        snprintf(buf, n, "%.2fM", x / 1e6);
    else
        snprintf(buf, n, "%.2fG", x / 1e9);
}

/* "0:07", "12:34", "1:02:03", "--:--" */
static void fmt_duration(char *buf, size_t n, double s)
{
    if (!(s >= 0) || !isfinite(s) || s > 1e8) {
        snprintf(buf, n, "--:--");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    unsigned long h = t / 3600, m = (t / 60) % 60, sec = t % 60;
    if (h > 0)
        snprintf(buf, n, "%lu:%02lu:%02lu", h, m, sec);
    else
        snprintf(buf, n, "%lu:%02lu", m, sec);
}

/* "12.35 s", "0.412 s", "0.000123 s" */
static void fmt_seconds(char *buf, size_t n, double s)
{
    if (s >= 1)
        snprintf(buf, n, "%.2f s", s);
    else if (s >= 0.01)
        snprintf(buf, n, "%.3f s", s);
    else
        snprintf(buf, n, "%.3g s", s);
}

/* "time        <duration>" */
static void print_time_line(double seconds)
{
    char time_s[32];
    fmt_seconds(time_s, sizeof time_s, seconds);
    printf("time        %s\n", time_s);
}

/* 0 when what was printed reached standard output, else -1 (printed). */
static int flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        errorf("cannot write to standard output: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void fmt_recon(char *buf, size_t n, double r)
{
    if (isnan(r))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.4g", r);
}

/* ------------------------------------------------------------------------
 * Progress display
 * ------------------------------------------------------------------------ */

enum progress_mode { PROGRESS_NONE, PROGRESS_TTY, PROGRESS_LINES };

struct progress {
    enum progress_mode mode;
    int columns;       /* terminal width */
    double last_draw;  /* time of the last redraw (tty) */
    size_t last_len;   /* length of the line drawn last (tty) */
    int line_open;     /* a redrawn line is on screen without newline */
};

static int terminal_columns(void)
{
    int cols = 0;
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
#endif
    if (cols <= 0) {
        const char *c = getenv("COLUMNS");
        if (c && *c) {
            long v = strtol(c, NULL, 10);
            if (v > 0 && v < 10000)
                cols = (int)v;
        }
    }
    if (cols <= 0)
        cols = 80;
    return cols;
}

static void progress_init(struct progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->last_draw = -1e300;
    if (quiet)
        p->mode = PROGRESS_NONE;
    else if (isatty(STDERR_FILENO))
        p->mode = PROGRESS_TTY;
    else
        p->mode = PROGRESS_LINES;
    if (p->mode == PROGRESS_TTY)
        p->columns = terminal_columns();
}

static void progress_show(struct progress *p, const char *left, double fraction,
                          const char *right);

/* Redraw the single status line: epoch, batch, bar of the whole run,
 * samples/s, reconstruction error, ETA. */
static void progress_draw(struct progress *p, size_t epoch, size_t epochs, size_t batch,
                          size_t batches, double fraction, double rate, double recon, double ll,
                          double eta)
{
    char rate_s[32], recon_s[32], eta_s[32], ll_s[48] = "", left[96], right[160];
    fmt_rate(rate_s, sizeof rate_s, rate);
    if (isnan(recon))
        snprintf(recon_s, sizeof recon_s, "-");
    else if (fabs(recon) < 10)
        snprintf(recon_s, sizeof recon_s, "%.4f", recon);
    else
        snprintf(recon_s, sizeof recon_s, "%.4g", recon);
    fmt_duration(eta_s, sizeof eta_s, eta);
    /* fixed-width fields, so that the line does not jitter between redraws */
    int ew = snprintf(NULL, 0, "%zu", epochs);
    int bw = snprintf(NULL, 0, "%zu", batches);
    snprintf(left, sizeof left, "epoch %*zu/%zu batch %*zu/%zu ", ew, epoch, epochs, bw, batch,
             batches);
    if (!isnan(ll))
        snprintf(ll_s, sizeof ll_s, " log-lik %.4g", ll);
    snprintf(right, sizeof right, " %6s samples/s recon %-6s%s ETA %5s", rate_s, recon_s, ll_s,
             eta_s);
    progress_show(p, left, fraction, right);
}

/* Redraw the status line as LEFT [bar] RIGHT, the bar showing fraction. */
static void progress_show(struct progress *p, const char *left, double fraction,
                          const char *right)
{
    char line[512];
    /* the bar of the whole run takes what is left of the width, up to 30 */
    int avail = p->columns - 1 - (int)strlen(left) - (int)strlen(right) - 2;
    if (avail > 30)
        avail = 30;
    if (!(fraction >= 0))
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    if (avail >= 8) {
        char bar[64];
        int fill = (int)(fraction * avail + 1e-9);
        for (int i = 0; i < avail; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[avail] = '\0';
        snprintf(line, sizeof line, "%s[%s]%s", left, bar, right);
    } else {
        snprintf(line, sizeof line, "%s%3d%%%s", left, (int)(fraction * 100), right);
    }
    size_t len = strlen(line);
    if (p->columns > 1 && len > (size_t)(p->columns - 1)) {
        len = (size_t)(p->columns - 1);
        line[len] = '\0';
    }
    fputc('\r', stderr);
    fputs(line, stderr);
    /* blank out what remains of a longer previous line */
    for (size_t i = len; i < p->last_len; i++)
        fputc(' ', stderr);
    fflush(stderr);
    p->last_len = len;
    p->line_open = 1;
}

/* End the redrawn line (before printing anything else on stderr). */
static void progress_close(struct progress *p)
{
    if (p->line_open) {
        fputc('\n', stderr);
        fflush(stderr);
        p->line_open = 0;
    }
}

/* ------------------------------------------------------------------------
 * JSON output
 * ------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

/* Finite numbers with round-trip precision; NaN and infinities as null. */
static void json_number(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.17g", x);
    else
        fputs("null", f);
}

static void json_key(FILE *f, int *first, const char *key)
{
    fputs(*first ? "{" : ",", f);
    *first = 0;
    fputs("\n  ", f);
    json_string(f, key);
    fputs(": ", f);
}

/* One member "key": value of an object being written (json_key's first). */
static void json_real(FILE *f, int *first, const char *key, double x)
{
    json_key(f, first, key);
    json_number(f, x);
}

static void json_str(FILE *f, int *first, const char *key, const char *s)
{
    json_key(f, first, key);
    json_string(f, s);
}

static void json_size(FILE *f, int *first, const char *key, size_t n)
{
    json_key(f, first, key);
    fprintf(f, "%zu", n);
}

static void json_u64(FILE *f, int *first, const char *key, uint64_t n)
{
    json_key(f, first, key);
    fprintf(f, "%llu", (unsigned long long)n);
}

/* [x0, x1, ...] */
static void json_numbers(FILE *f, const double *x, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        json_number(f, x[i]);
    }
    fputc(']', f);
}

/* ------------------------------------------------------------------------
 * Interruption
 * ------------------------------------------------------------------------ */

static volatile sig_atomic_t g_interrupted = 0; /* number of the signal received */

static void on_signal(int sig)
{
    g_interrupted = sig;
}

/* First SIGINT/SIGTERM: stop after the current minibatch (the handler is
 * reset, so a second one ends the program at once). A signal ignored when
 * the program started (nohup, background jobs of a script) stays ignored. */
static void install_signal_handlers(void)
{
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(sigs[i], &sa, NULL);
    }
}

static void restore_signal_handlers(void)
{
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) != 0 || cur.sa_handler != on_signal)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ------------------------------------------------------------------------
 * Spectral and thermodynamic analysis (train's report, spectrum, analyze)
 * ------------------------------------------------------------------------ */

/* Modes tracked by --track-spectrum: all of them, up to 512. The tracker
 * follows identities from the first record, where (random initial weights)
 * every mode is noise; the modes that grow later are only followed when
 * the tracker holds them all. The plot shows the PLOT_MODES largest at the
 * end. */
#define TRACK_MODES 512
#define PLOT_MODES 10
/* Modes compared with the data's principal directions by default. */
#define PCA_MODES 5

/* Write "what: detail (RBM_ERR_...)" into note (for parts of a report that
 * may fail without failing the command). */
static void lib_note(char *note, size_t n, const rbm_context *ctx, rbm_status st, const char *what)
{
    const char *detail = ctx ? rbm_context_last_error(ctx) : "";
    if (!detail || !*detail)
        detail = rbm_status_message(st);
    snprintf(note, n, "%s: %s (%s)", what, detail, rbm_status_name(st));
}

struct spectrum_info {
    size_t r;          /* min(N_v, N_h) */
    double *w;         /* the r singular values, descending */
    double sigma;      /* noise sigma estimated from the bulk */
    double edge;       /* Marchenko-Pastur bulk edge */
    size_t n_outside;  /* modes above the edge */
    size_t k;          /* modes compared with the data's PCA (0: none) */
    double *overlaps;  /* k x k, |u^a . e_b| */
    double *eig;       /* k covariance eigenvalues, descending */
};

static void spectrum_info_free(struct spectrum_info *si)
{
    free(si->w);
    free(si->overlaps);
    free(si->eig);
    memset(si, 0, sizeof *si);
}

/* SVD of W, bulk analysis and (data not NULL, k > 0) overlaps of the first
 * k modes with the data's top principal directions. *svd_out (may be NULL)
 * receives the decomposition. Returns 0, or -1 with the reason in note. */
static int compute_spectrum(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                            size_t k, struct spectrum_info *si, rbm_svd **svd_out, char *note,
                            size_t note_len)
{
    memset(si, 0, sizeof *si);
    if (svd_out)
        *svd_out = NULL;
    rbm_svd *svd = NULL;
    rbm_status st = rbm_svd_new(m, &svd);
    if (st != RBM_OK) {
        lib_note(note, note_len, ctx, st, "cannot decompose W");
        return -1;
    }
    si->r = rbm_svd_rank(svd);
    si->w = malloc((si->r ? si->r : 1) * sizeof *si->w);
    if (!si->w) {
        snprintf(note, note_len, "out of memory");
        goto fail;
    }
    if ((st = rbm_svd_singular_values(svd, si->w, si->r)) != RBM_OK ||
        (st = rbm_svd_bulk(svd, &si->sigma, &si->edge, &si->n_outside)) != RBM_OK) {
        lib_note(note, note_len, ctx, st, "cannot analyse the spectrum of W");
        goto fail;
    }
    if (data && k > 0) {
        if (k > si->r)
            k = si->r;
        si->overlaps = malloc(k * k * sizeof *si->overlaps);
        si->eig = malloc(k * sizeof *si->eig);
        if (!si->overlaps || !si->eig) {
            snprintf(note, note_len, "out of memory");
            goto fail;
        }
        st = rbm_svd_pca_overlaps(svd, data, k, si->overlaps, k * k, si->eig, k);
        if (st != RBM_OK) {
            lib_note(note, note_len, ctx, st, "cannot compare the modes with the data's PCA");
            goto fail;
        }
        si->k = k;
    }
    if (svd_out)
        *svd_out = svd;
    else
        rbm_svd_free(svd);
    return 0;
fail:
    rbm_svd_free(svd);
    spectrum_info_free(si);
    return -1;
}

/* TAP fixed points of a machine from random and data starts. */
struct fp_info {
    rbm_mf_method method;
    size_t n_random, n_data; /* starts of each kind */
    size_t count, n_failed, n_stable;
    double *gamma, *min_eig;
    size_t *mult;
    int *stable;
    size_t kp;     /* modes projected on */
    double *proj;  /* count x kp: u^a . m^v */
    double log_z, best;
    size_t n_used;
    double seconds;
};

static void fp_info_free(struct fp_info *fi)
{
    free(fi->gamma);
    free(fi->min_eig);
    free(fi->mult);
    free(fi->stable);
    free(fi->proj);
    memset(fi, 0, sizeof *fi);
}

/* Run the TAP solver of the given order from n_random random visible starts
 * (uniform {0,1} for bernoulli, +-1 for ising, N(0, sigma^2) for gaussian
 * units) followed by n_data distinct data rows drawn with seed (every row
 * when the data has no more), all in one call so that the library merges
 * the points they reach. Projections on the first kp modes of svd (kp 0 or
 * svd NULL: none). Returns 0, or -1 with the reason in note. */
static int find_fixed_points(rbm_context *ctx, const rbm_machine *m, rbm_mf_method method,
                             double damping, const rbm_dataset *data, size_t n_random,
                             size_t n_data, uint64_t seed, const rbm_svd *svd, size_t kp,
                             struct fp_info *fi, char *note, size_t note_len)
{
    memset(fi, 0, sizeof *fi);
    fi->method = method;
    fi->log_z = fi->best = NAN;
    const double t0 = now_seconds();
    size_t nv = rbm_machine_n_visible(m);
    size_t rows = data ? rbm_dataset_rows(data) : 0;
    if (!data)
        n_data = 0;
    if (n_data > rows)
        n_data = rows;
    size_t n = n_random + n_data;
    int rc = -1;
    double *mv0 = NULL;
    size_t *idx = NULL;
    rbm_rng *rng = NULL;
    rbm_mf *s = NULL;
    rbm_mf_points *p = NULL;
    rbm_status st;
    if (n == 0) {
        snprintf(note, note_len, "no starts");
        return -1;
    }
    mv0 = malloc(n * nv * sizeof *mv0);
    if (!mv0) {
        snprintf(note, note_len, "out of memory for %zu starts", n);
        return -1;
    }
    if ((st = rbm_rng_new(ctx, seed, &rng)) != RBM_OK) {
        lib_note(note, note_len, ctx, st, "cannot create a random generator");
        goto out;
    }
    rbm_unit_kind vk = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE);
    double vsig = vk == RBM_UNIT_GAUSSIAN ? rbm_machine_sigma(m, RBM_LAYER_VISIBLE) : 1.0;
    for (size_t i = 0; i < n_random * nv; i++) {
        if (vk == RBM_UNIT_GAUSSIAN)
            mv0[i] = vsig * rbm_rng_normal(rng);
        else if (vk == RBM_UNIT_ISING)
            mv0[i] = rbm_rng_uniform(rng) < 0.5 ? -1.0 : 1.0;
        else
            mv0[i] = rbm_rng_uniform(rng) < 0.5 ? 0.0 : 1.0;
    }
    if (n_data > 0) {
        idx = malloc(rows * sizeof *idx);
        if (!idx) {
            snprintf(note, note_len, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < rows; i++)
            idx[i] = i;
        if (n_data < rows) { /* partial Fisher-Yates: n_data distinct rows */
            for (size_t i = 0; i < n_data; i++) {
                size_t j = i + (size_t)(rbm_rng_uniform(rng) * (double)(rows - i));
                if (j >= rows)
                    j = rows - 1;
                size_t t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
        }
        for (size_t i = 0; i < n_data; i++) {
            st = rbm_dataset_get_rows(data, idx[i], 1, mv0 + (n_random + i) * nv, nv);
            if (st != RBM_OK) {
                lib_note(note, note_len, ctx, st, "cannot read the data rows");
                goto out;
            }
        }
    }
    if ((st = rbm_mf_new(m, method, &s)) != RBM_OK) {
        lib_note(note, note_len, ctx, st, "cannot set up the TAP solver");
        goto out;
    }
    if (!isnan(damping) && (st = rbm_mf_set_real(s, RBM_MF_PARAM_DAMPING, damping)) != RBM_OK) {
        lib_note(note, note_len, ctx, st, "cannot set the damping");
        goto out;
    }
    st = rbm_mf_fixed_points(s, n, mv0, n * nv, NULL, 0, &p);
    if (st != RBM_OK) {
        lib_note(note, note_len, ctx, st, "cannot find the TAP fixed points");
        goto out;
    }
    fi->n_random = n_random;
    fi->n_data = n_data;
    fi->count = rbm_mf_points_count(p);
    fi->n_failed = rbm_mf_points_n_failed(p);
    size_t c = fi->count ? fi->count : 1;
    fi->gamma = malloc(c * sizeof *fi->gamma);
    fi->min_eig = malloc(c * sizeof *fi->min_eig);
    fi->mult = malloc(c * sizeof *fi->mult);
    fi->stable = malloc(c * sizeof *fi->stable);
    if (!fi->gamma || !fi->min_eig || !fi->mult || !fi->stable) {
        snprintf(note, note_len, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < fi->count; k++) {
        st = rbm_mf_points_get(p, k, &fi->gamma[k], &fi->mult[k], &fi->stable[k],
                               &fi->min_eig[k]);
        if (st != RBM_OK) {
            lib_note(note, note_len, ctx, st, "cannot read a fixed point");
            goto out;
        }
        fi->n_stable += fi->stable[k] ? 1 : 0;
    }
    if (fi->count > 0) {
        st = rbm_mf_points_log_z(p, &fi->log_z, &fi->best, &fi->n_used);
        if (st != RBM_OK) {
            lib_note(note, note_len, ctx, st, "cannot compute the TAP log Z");
            goto out;
        }
        if (svd && kp > 0) {
            if (kp > rbm_svd_rank(svd))
                kp = rbm_svd_rank(svd);
            fi->proj = malloc(fi->count * kp * sizeof *fi->proj);
            if (!fi->proj) {
                snprintf(note, note_len, "out of memory");
                goto out;
            }
            st = rbm_mf_points_project(p, svd, kp, fi->proj, fi->count * kp, NULL, 0);
            if (st != RBM_OK) {
                lib_note(note, note_len, ctx, st, "cannot project the fixed points on the modes");
                goto out;
            }
            fi->kp = kp;
        }
    }
    fi->seconds = now_seconds() - t0;
    rc = 0;
out:
    if (rc != 0) {
        fp_info_free(fi);
        fi->log_z = fi->best = NAN;
    }
    rbm_mf_points_free(p);
    rbm_mf_free(s);
    rbm_rng_free(rng);
    free(idx);
    free(mv0);
    return rc;
}

/* find_fixed_points with the damping chosen automatically (damping NaN):
 * the library's 0.5 first; when more than a tenth of the starts do not
 * converge (the damped iteration oscillates where the couplings are
 * strong), again with 0.1 and then 0.02, keeping the run with the fewest
 * failures. *used receives the damping of the result. */
static int find_fixed_points_auto(rbm_context *ctx, const rbm_machine *m, rbm_mf_method method,
                                  double damping, const rbm_dataset *data, size_t n_random,
                                  size_t n_data, uint64_t seed, const rbm_svd *svd, size_t kp,
                                  struct fp_info *fi, double *used, char *note, size_t note_len)
{
    if (!isnan(damping)) {
        *used = damping;
        return find_fixed_points(ctx, m, method, damping, data, n_random, n_data, seed, svd, kp,
                                 fi, note, note_len);
    }
    const double tries[3] = {0.5, 0.1, 0.02};
    *used = tries[0];
    if (find_fixed_points(ctx, m, method, tries[0], data, n_random, n_data, seed, svd, kp, fi, note,
                          note_len) != 0)
        return -1;
    for (int t = 1; t < 3; t++) {
        size_t n = fi->n_random + fi->n_data;
        if (fi->n_failed * 10 <= n)
            break;
        struct fp_info other;
        char note2[512];
        if (find_fixed_points(ctx, m, method, tries[t], data, n_random, n_data, seed, svd, kp,
                              &other, note2, sizeof note2) != 0)
            break;
        if (other.n_failed < fi->n_failed) {
            other.seconds += fi->seconds;
            fp_info_free(fi);
            *fi = other;
            *used = tries[t];
        } else {
            fi->seconds += other.seconds;
            fp_info_free(&other);
        }
    }
    return 0;
}

/* A machine on the phase diagram of its ensemble (rbm_machine_phase). */
struct phase_info {
    int ok;            /* computed (possibly not converged) */
    int not_converged;
    rbm_phase phase;
    double sigma, kappa;
    size_t n_modes;
    double w[RBM_ENSEMBLE_MAX_MODES];
    double kurtosis[2];
    int compositional;
    double w_c;        /* F-SG (P-F) line at T = 1 and the machine's kappa */
    char note[512];
};

static void machine_phase_info(rbm_context *ctx, const rbm_machine *m, struct phase_info *pi)
{
    memset(pi, 0, sizeof *pi);
    pi->sigma = pi->w_c = NAN;
    pi->kurtosis[0] = pi->kurtosis[1] = NAN;
    pi->kappa = (double)rbm_machine_n_hidden(m) / (double)rbm_machine_n_visible(m);
    rbm_status st = rbm_machine_phase(m, RBM_ENSEMBLE_MAX_MODES, &pi->phase, &pi->sigma,
                                      &pi->n_modes, pi->w, RBM_ENSEMBLE_MAX_MODES, pi->kurtosis,
                                      2, &pi->compositional);
    if (st == RBM_ERR_NOT_CONVERGED) {
        pi->not_converged = 1;
    } else if (st != RBM_OK) {
        lib_note(pi->note, sizeof pi->note, ctx, st, "no phase");
        return;
    }
    pi->ok = 1;
    double wc = NAN;
    if (isfinite(pi->sigma) && rbm_phase_line_fsg(pi->kappa, pi->sigma, 1.0, &wc, NULL, NULL) ==
                                   RBM_OK)
        pi->w_c = wc;
}

/* n_outside: modes outside the bulk (shown when more than the strong modes
 * the ensemble takes), 0 if not known. */
static void print_phase_line(const struct phase_info *pi, size_t n_outside)
{
    if (!pi->ok) {
        printf("phase       - (%s)\n", pi->note);
        return;
    }
    printf("phase       %s at T = 1%s: noise sigma %.4g, %zu strong mode%s", rbm_phase_name(pi->phase),
           pi->not_converged ? " (RS solver not converged)" : "", pi->sigma, pi->n_modes,
           pi->n_modes == 1 ? "" : "s");
    if (pi->n_modes > 0) {
        if (n_outside > pi->n_modes)
            printf(" (the largest of the %zu outside the bulk; de-biased w =", n_outside);
        else
            printf(" (de-biased w =");
        for (size_t i = 0; i < pi->n_modes; i++)
            printf(" %.3g", pi->w[i]);
        printf(")");
    }
    printf("\n");
    if (pi->n_modes > 0)
        printf("            component kurtosis %.3g (visible) %.3g (hidden): %s\n",
               pi->kurtosis[0], pi->kurtosis[1],
               pi->phase == RBM_PHASE_FERROMAGNETIC
                   ? (pi->compositional ? "compositional (magnetisation shared by several modes)"
                                        : "not compositional (one mode carries the state)")
                   : "no magnetised state");
    if (isfinite(pi->w_c)) {
        printf("            on the RS diagram: T/sigma = %.3g", pi->sigma > 0 ? 1 / pi->sigma : INFINITY);
        if (pi->n_modes > 0 && pi->sigma > 0)
            printf(", w_1/sigma = %.3g", pi->w[0] / pi->sigma);
        printf("; ferromagnetic above w_c = %.4g (F-SG/P-F line at T = 1, kappa %.3g)\n",
               pi->w_c, pi->kappa);
    }
}

static void json_phase(FILE *f, int *first, const struct phase_info *pi)
{
    json_key(f, first, "phase");
    if (pi->ok)
        json_string(f, rbm_phase_name(pi->phase));
    else
        fputs("null", f);
    json_real(f, first, "sigma", pi->ok ? pi->sigma : NAN);
    json_key(f, first, "modes");
    fputc('[', f);
    for (size_t i = 0; pi->ok && i < pi->n_modes; i++) {
        if (i)
            fputs(", ", f);
        json_number(f, pi->w[i]);
    }
    fputc(']', f);
    json_key(f, first, "kurtosis");
    if (pi->ok && pi->n_modes > 0) {
        fputc('[', f);
        json_number(f, pi->kurtosis[0]);
        fputs(", ", f);
        json_number(f, pi->kurtosis[1]);
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    json_key(f, first, "compositional");
    fputs(pi->ok && pi->compositional ? "true" : "false", f);
    json_key(f, first, "phase_converged");
    fputs(pi->ok && !pi->not_converged ? "true" : "false", f);
    json_real(f, first, "w_c", pi->w_c);
    if (!pi->ok) {
        json_str(f, first, "phase_note", pi->note);
    }
}

/* ---- plots with gnuplot ---- */

/* "DIR/name" (malloc'd) */
static char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* mkdir -p of one level (the parent must exist). Returns 0 or -1 with note. */
static int make_dir(const char *dir, char *note, size_t n)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        snprintf(note, n, "'%s' exists and is not a directory", dir);
        return -1;
    }
    if (mkdir(dir, 0777) != 0) {
        snprintf(note, n, "cannot create the directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Run "gnuplot SCRIPT" in dir with its output in dir/gnuplot.log.
 * Returns 0, 127 when gnuplot cannot be run, another value on failure. */
/* dir/name opened for writing (*path: its path, to free), or NULL with the
 * reason in note. */
static FILE *open_plot_file(const char *dir, const char *name, char **path, char *note, size_t nn)
{
    *path = path_join(dir, name);
    FILE *f = *path ? fopen(*path, "w") : NULL;
    if (!f)
        snprintf(note, nn, "cannot write '%s': %s", *path ? *path : name, strerror(errno));
    return f;
}

/* Close *f (then NULL), written to path: 0, or -1 with the reason in note. */
static int close_plot_file(FILE **f, const char *path, char *note, size_t nn)
{
    int r = fclose(*f);
    *f = NULL;
    if (r == 0)
        return 0;
    snprintf(note, nn, "cannot write '%s'", path);
    return -1;
}

static int run_gnuplot(const char *dir, const char *script)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        int fd = open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) {
            dup2(in, STDIN_FILENO);
            close(in);
        }
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return 1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 1;
}

/* What the plots show. */
struct plot_input {
    const rbm_mode_tracker *tracker; /* may be NULL */
    size_t batches_per_epoch;
    double edge;                     /* final bulk edge */
    const struct fp_info *fp;        /* may be NULL or without projections */
    const double *data_proj;         /* n_data_proj x 2: data rows on the first two modes */
    size_t n_data_proj;
    const char *title;               /* e.g. the data and machine */
};

/* Write the CSV files, the gnuplot script and the PNGs into dir. On
 * success *n_png PNGs were made (names in pngs); note says why not. */
static int write_plots(const char *dir, const struct plot_input *in, char pngs[2][64],
                       size_t *n_png, char *note, size_t nn)
{
    *n_png = 0;
    if (make_dir(dir, note, nn) != 0)
        return -1;
    int have_spec = in->tracker && rbm_mode_tracker_records(in->tracker) > 0;
    int have_fp = in->fp && in->fp->count > 0 && in->fp->kp >= 2;
    if (!have_spec && !have_fp) {
        snprintf(note, nn, "nothing to plot");
        return -1;
    }
    char *p = NULL;
    FILE *f = NULL;
    int rc = -1;
    if (have_spec) {
        p = path_join(dir, "spectrum.csv");
        if (!p || rbm_mode_tracker_write_csv(in->tracker, p) != RBM_OK) {
            snprintf(note, nn, "cannot write '%s'", p ? p : "spectrum.csv");
            goto out;
        }
        free(p);
        p = NULL;
    }
    if (have_fp) {
        if (!(f = open_plot_file(dir, "fixed_points.csv", &p, note, nn)))
            goto out;
        fprintf(f, "index,gamma,multiplicity,stable,s1,s2\n");
        for (size_t k = 0; k < in->fp->count; k++)
            fprintf(f, "%zu,%.10g,%zu,%d,%.10g,%.10g\n", k + 1, in->fp->gamma[k], in->fp->mult[k],
                    in->fp->stable[k], in->fp->proj[k * in->fp->kp],
                    in->fp->proj[k * in->fp->kp + 1]);
        if (close_plot_file(&f, p, note, nn) != 0)
            goto out;
        free(p);
        if (!(f = open_plot_file(dir, "data_projections.csv", &p, note, nn)))
            goto out;
        fprintf(f, "s1,s2\n");
        for (size_t k = 0; k < in->n_data_proj; k++)
            fprintf(f, "%.8g,%.8g\n", in->data_proj[2 * k], in->data_proj[2 * k + 1]);
        if (close_plot_file(&f, p, note, nn) != 0)
            goto out;
        free(p);
        p = NULL;
    }

    if (!(f = open_plot_file(dir, "plots.gp", &p, note, nn)))
        goto out;
    fprintf(f, "# Written by 'rbm train' (librbm %s); run 'gnuplot plots.gp' in this directory.\n",
            rbm_version_string());
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
               "    set terminal pngcairo size 1000,650 enhanced font \"sans,11\"\n"
               "} else {\n"
               "    set terminal png size 1000,650\n"
               "}\n"
               "set datafile separator \",\"\n"
               "set grid lc rgb \"#dddddd\"\n"
               "# ten distinguishable colours for the modes\n"
               "array C[10] = [\"#1f77b4\", \"#ff7f0e\", \"#2ca02c\", \"#d62728\", \"#9467bd\", "
               "\"#8c564b\", \"#e377c2\", \"#7f7f7f\", \"#bcbd22\", \"#17becf\"]\n"
               "do for [i=1:10] { set linetype i lc rgb C[i] lw 2 }\n");
    if (have_spec) {
        /* the identities (CSV columns 4...) of the largest modes at the end */
        size_t nm = rbm_mode_tracker_n_modes(in->tracker);
        double last[TRACK_MODES];
        size_t order[TRACK_MODES];
        if (nm > TRACK_MODES)
            nm = TRACK_MODES;
        if (rbm_mode_tracker_get(in->tracker, rbm_mode_tracker_records(in->tracker) - 1, NULL,
                                 last, nm, NULL, NULL) != RBM_OK) {
            snprintf(note, nn, "cannot read the spectrum history");
            goto out;
        }
        for (size_t i = 0; i < nm; i++)
            order[i] = i;
        for (size_t i = 0; i < nm; i++) /* selection sort, descending */
            for (size_t j = i + 1; j < nm; j++)
                if (last[order[j]] > last[order[i]]) {
                    size_t t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
        size_t np = nm < PLOT_MODES ? nm : PLOT_MODES;
        fprintf(f, "cols = \"");
        for (size_t i = 0; i < np; i++)
            fprintf(f, "%s%zu", i ? " " : "", order[i] + 4);
        fprintf(f, "\"\n");
        fprintf(f,
                "\n# singular values of W over training (spectrum.csv: step,edge,n_outside,w0,...)\n"
                "bpe = %zu.0\n"
                "set output \"spectrum.png\"\n"
                "set multiplot layout 2,1 title \"%s\" font \",13\"\n"
                "set size 1,0.68; set origin 0,0.30\n"
                "set lmargin 10; set rmargin 22\n"
                "set title \"Singular values of W during training (the %zu largest at the end, "
                "followed by identity)\"\n"
                "set xlabel \"\"\n"
                "set ylabel \"singular value w_{/Symbol a} (log scale)\"\n"
                "set logscale y\n"
                "set key outside right top title \"rank at the end\"\n"
                "plot for [i=1:words(cols)] \"spectrum.csv\" skip 1 using ($1/bpe):(column(int(word(cols, i)))) "
                "with %s lw 2 title sprintf(\"w_{%%d}\", i), \\\n"
                "     \"spectrum.csv\" skip 1 using ($1/bpe):2 with lines lw 3 dt 2 lc rgb \"black\" "
                "title \"bulk edge\"\n"
                "set size 1,0.30; set origin 0,0\n"
                "set title \"Modes outside the Marchenko-Pastur bulk\"\n"
                "set xlabel \"epoch\"\n"
                "unset logscale y\n"
                "set ylabel \"modes\"\n"
                "set yrange [0:*]\n"
                "set key off\n"
                "plot \"spectrum.csv\" skip 1 using ($1/bpe):3 with steps lw 2 lc rgb \"#c0392b\"\n"
                "unset multiplot\n"
                "set yrange [*:*]; set lmargin -1; set rmargin -1; set key title \"\"\n",
                in->batches_per_epoch ? in->batches_per_epoch : (size_t)1,
                in->title ? in->title : "", np,
                rbm_mode_tracker_records(in->tracker) <= 20 ? "linespoints pt 7 ps 0.7" : "lines");
    }
    if (have_fp) {
        const char *mname = in->fp->method == RBM_MF_NAIVE  ? "Naive mean-field"
                            : in->fp->method == RBM_MF_TAP3 ? "TAP3"
                                                            : "TAP2";
        fprintf(f,
                "\n# TAP fixed points and data projected on the first two modes of W\n"
                "set output \"fixed_points.png\"\n"
                "set size square\n"
                "set title \"%s fixed points of the trained machine (%zu distinct, from %zu starts)\\n"
                "and the data, projected on the first two left singular vectors of W\"\n"
                "set xlabel \"s_1 = u^1 . v\"\n"
                "set ylabel \"s_2 = u^2 . v\"\n"
                "set key outside right top\n"
                "plot \"data_projections.csv\" skip 1 using 1:2 with points pt 7 ps 0.3 "
                "lc rgb \"#b0b0b0\" title \"data rows\", \\\n"
                "     \"fixed_points.csv\" skip 1 using ($4==1 ? $5 : 1/0):6 with points pt 7 ps 2.2 "
                "lc rgb \"#c0392b\" title \"stable fixed point\", \\\n"
                "     \"fixed_points.csv\" skip 1 using ($4==0 ? $5 : 1/0):6 with points pt 6 ps 2.2 "
                "lw 2 lc rgb \"#2471a3\" title \"unstable fixed point\", \\\n"
                "     \"fixed_points.csv\" skip 1 using 5:6:(sprintf(\"%%d\", $3)) with labels "
                "offset 1.6,1.0 font \",9\" title \"(number: starts reaching it)\"\n",
                mname, in->fp->count, in->fp->n_random + in->fp->n_data);
    }
    if (close_plot_file(&f, p, note, nn) != 0)
        goto out;
    int g = run_gnuplot(dir, "plots.gp");
    if (g == 127) {
        snprintf(note, nn, "skipped: gnuplot not found (Debian package gnuplot-nox); the data "
                           "and plots.gp are in %s",
                 dir);
        goto out;
    }
    if (g != 0) {
        snprintf(note, nn, "gnuplot failed (exit %d), see %s/gnuplot.log", g, dir);
        goto out;
    }
    const char *names[2] = {have_spec ? "spectrum.png" : NULL, have_fp ? "fixed_points.png" : NULL};
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        char *q = path_join(dir, names[i]);
        struct stat sb;
        if (q && stat(q, &sb) == 0 && sb.st_size > 0)
            snprintf(pngs[(*n_png)++], 64, "%s", names[i]);
        free(q);
    }
    if (*n_png == 0) {
        snprintf(note, nn, "gnuplot wrote no PNG, see %s/gnuplot.log", dir);
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    free(p);
    return rc;
}

/* ------------------------------------------------------------------------
 * rbm train
 * ------------------------------------------------------------------------ */

struct train_result {
    size_t start_epoch;  /* epochs completed before this run (--resume) */
    size_t epochs_done;  /* epochs completed in total */
    uint64_t steps;      /* updates made by this run */
    uint64_t total_steps; /* updates made in total (with those before --resume) */
    uint64_t samples;    /* samples visited by this run */
    double seconds;      /* wall time of the run */
    double train_seconds; /* the same without log-likelihoods and checkpoints */
    double recon_first, recon_last;
    double *history; /* mean reconstruction error per epoch */
    size_t history_len, history_cap;
    int ll_enabled;    /* the exact log-likelihood is computed after every epoch */
    double ll_last;    /* log-likelihood after the last epoch (NaN: none) */
    double *ll_history;
    size_t ll_len, ll_cap;
    size_t checkpoints; /* checkpoints written */
    int interrupted; /* the signal that stopped training, or 0 */
    double track_seconds; /* time spent recording the spectrum */
};

static void push_value(double **buf, size_t *len, size_t *cap, double x)
{
    if (*len == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        double *h = realloc(*buf, c * sizeof *h);
        if (!h)
            return; /* the history is optional output: drop values on OOM */
        *buf = h;
        *cap = c;
    }
    (*buf)[(*len)++] = x;
}

static void history_push(struct train_result *res, double x)
{
    push_value(&res->history, &res->history_len, &res->history_cap, x);
}

/* Path of the checkpoint written next to the model: MODEL + ".ckpt". */
static char *checkpoint_path(const char *model)
{
    size_t n = strlen(model);
    char *p = malloc(n + 6);
    if (p) {
        memcpy(p, model, n);
        memcpy(p + n, ".ckpt", 6);
    }
    return p;
}

static void fmt_ll(char *buf, size_t n, double ll)
{
    if (isnan(ll))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.4f", ll);
}

/* The step loop, with progress on stderr, the exact log-likelihood after
 * every epoch when res->ll_enabled, and a checkpoint every
 * o->checkpoint_every epochs (and when interrupted). Returns 0 or an exit
 * status after printing the error. */
static int run_training(rbm_context *ctx, rbm_trainer *t, const rbm_dataset *data,
                        const struct train_opts *o, size_t rows, struct train_result *res,
                        rbm_mode_tracker *tracker)
{
    struct progress p;
    progress_init(&p, o->quiet);
    rbm_machine *m = rbm_trainer_machine(t);

    const size_t batches = rbm_trainer_batches_per_epoch(t);
    const size_t start_epoch = (size_t)rbm_trainer_epochs(t);
    const size_t start_batch = rbm_trainer_batch_index(t);
    const double total_steps =
        (double)(o->epochs - start_epoch) * (double)batches - (double)start_batch;

    /* Reconstruction error: one monitored minibatch costs two extra matrix
     * products, about 40% of a PCD-1 step; monitoring every 10th to 20th
     * minibatch keeps that at 2-4% of the run while giving at least ten
     * values per epoch to average (every minibatch on small data sets). */
    size_t every = batches / 10;
    if (every < 1)
        every = 1;
    if (every > 20)
        every = 20;
    rbm_status st = rbm_trainer_set_monitor_every(t, every);
    if (st != RBM_OK) {
        lib_errorf(ctx, st, "cannot configure the reconstruction monitor");
        return EXIT_RUNTIME;
    }
    char *ckpt = NULL;
    if (o->checkpoint_every > 0) {
        ckpt = checkpoint_path(o->out);
        if (!ckpt) {
            errorf("out of memory");
            return EXIT_RUNTIME;
        }
    }

    double seen_bits = NAN; /* last reconstruction error read, to detect new ones */
    double latest = NAN, epoch_sum = 0;
    size_t epoch_n = 0, batch_in_epoch = start_batch;
    int ll_enabled = res->ll_enabled;
    double track0 = res->track_seconds;
    memset(res, 0, sizeof *res);
    res->track_seconds = track0;
    res->ll_enabled = ll_enabled;
    res->recon_first = res->recon_last = NAN;
    res->ll_last = NAN;
    res->start_epoch = res->epochs_done = start_epoch;

    const double t0 = now_seconds();
    double epoch_start = t0, extra_seconds = 0;
    int status = 0;

    install_signal_handlers();
    while (res->epochs_done < o->epochs) {
        if (g_interrupted) {
            res->interrupted = (int)g_interrupted;
            break;
        }
        st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE) {
            progress_close(&p);
            lib_errorf(ctx, st, "training failed at epoch %zu, minibatch %zu",
                       res->epochs_done + 1, batch_in_epoch + 1);
            status = EXIT_RUNTIME;
            break;
        }
        res->steps++;
        batch_in_epoch++;

        double r = rbm_trainer_reconstruction_error(t);
        if (!isnan(r) && (isnan(seen_bits) || memcmp(&r, &seen_bits, sizeof r) != 0)) {
            seen_bits = r;
            latest = r;
            epoch_sum += r;
            epoch_n++;
        }

        double now = now_seconds();
        if (st == RBM_DONE) {
            double dt = now - epoch_start;
            res->epochs_done++;
            res->samples += rows;
            double mean = epoch_n ? epoch_sum / (double)epoch_n : latest;
            if (res->epochs_done == res->start_epoch + 1)
                res->recon_first = mean;
            res->recon_last = mean;
            history_push(res, mean);
            if (res->ll_enabled) {
                double ll = NAN;
                st = rbm_exact_log_likelihood(m, data, &ll, NULL);
                if (st != RBM_OK) {
                    progress_close(&p);
                    if (!o->quiet)
                        fprintf(stderr,
                                "rbm: note: no log-likelihood after epoch %zu: %s (%s); not "
                                "computed any more\n",
                                res->epochs_done, rbm_context_last_error(ctx),
                                rbm_status_name(st));
                    res->ll_enabled = 0;
                    ll = NAN;
                }
                res->ll_last = ll;
                if (res->ll_enabled)
                    push_value(&res->ll_history, &res->ll_len, &res->ll_cap, ll);
            }
            if (tracker) {
                double tt = now_seconds();
                st = rbm_mode_tracker_record(tracker, rbm_trainer_steps(t));
                res->track_seconds += now_seconds() - tt;
                if (st != RBM_OK) {
                    progress_close(&p);
                    lib_errorf(ctx, st, "cannot record the spectrum after epoch %zu",
                               res->epochs_done);
                    status = EXIT_RUNTIME;
                    break;
                }
            }
            if (ckpt && res->epochs_done % o->checkpoint_every == 0) {
                st = rbm_trainer_save_checkpoint(t, ckpt);
                if (st != RBM_OK) {
                    progress_close(&p);
                    lib_errorf(ctx, st, "cannot write the checkpoint '%s' after epoch %zu", ckpt,
                               res->epochs_done);
                    status = EXIT_RUNTIME;
                    break;
                }
                res->checkpoints++;
            }
            double after = now_seconds();
            extra_seconds += after - now;
            if (p.mode == PROGRESS_LINES) {
                char recon_s[32], dt_s[32], ll_s[64] = "";
                fmt_recon(recon_s, sizeof recon_s, mean);
                fmt_seconds(dt_s, sizeof dt_s, dt);
                if (res->ll_enabled) {
                    char v[32];
                    fmt_ll(v, sizeof v, res->ll_last);
                    snprintf(ll_s, sizeof ll_s, "  log-lik %s", v);
                }
                fprintf(stderr, "epoch %zu/%zu  %s  %.0f samples/s  recon %s%s%s\n",
                        res->epochs_done, o->epochs, dt_s, dt > 0 ? (double)rows / dt : 0.0,
                        recon_s, ll_s,
                        ckpt && res->epochs_done % o->checkpoint_every == 0 ? "  (checkpoint)"
                                                                            : "");
                fflush(stderr);
            }
            now = after;
            epoch_start = now;
            epoch_sum = 0;
            epoch_n = 0;
            batch_in_epoch = 0;
        }
        if (p.mode == PROGRESS_TTY &&
            (now - p.last_draw >= 0.1 || res->epochs_done == o->epochs)) {
            double elapsed = now - t0 - extra_seconds;
            double done_samples =
                (double)res->samples + (double)batch_in_epoch * (double)rbm_trainer_batch_size(t);
            if (done_samples > (double)res->samples + (double)rows)
                done_samples = (double)res->samples + (double)rows;
            double rate = elapsed > 0 ? done_samples / elapsed : NAN;
            double fraction = (double)res->steps / total_steps;
            double eta = (now - t0) / (double)res->steps * (total_steps - (double)res->steps);
            size_t shown_epoch = res->epochs_done + (batch_in_epoch > 0 ? 1 : 0);
            if (shown_epoch == 0)
                shown_epoch = 1;
            size_t shown_batch =
                batch_in_epoch > 0 || res->epochs_done == res->start_epoch ? batch_in_epoch
                                                                           : batches;
            progress_draw(&p, shown_epoch, o->epochs, shown_batch, batches, fraction, rate,
                          latest, res->ll_enabled ? res->ll_last : NAN, eta);
            p.last_draw = now;
        }
    }
    res->seconds = now_seconds() - t0;
    res->train_seconds = res->seconds - extra_seconds;
    restore_signal_handlers();
    progress_close(&p);
    if (res->interrupted && status == 0) {
        if (res->steps > 0 && res->epochs_done == res->start_epoch)
            res->recon_last = latest;
        if (!o->quiet) {
            fprintf(stderr, "rbm: %s: stopped during epoch %zu (minibatch %zu/%zu); saving "
                            "the model trained so far\n",
                    res->interrupted == SIGINT ? "interrupted" : "terminated",
                    res->epochs_done + 1, batch_in_epoch, batches);
        }
        /* count the samples of the partial epoch */
        uint64_t extra = (uint64_t)batch_in_epoch * rbm_trainer_batch_size(t);
        res->samples += extra < rows ? extra : rows;
        /* a checkpoint of the interrupted run, to continue it with --resume */
        if (ckpt && res->steps > 0) {
            st = rbm_trainer_save_checkpoint(t, ckpt);
            if (st != RBM_OK) {
                lib_errorf(ctx, st, "cannot write the checkpoint '%s'", ckpt);
                status = EXIT_RUNTIME;
            } else {
                res->checkpoints++;
                if (!o->quiet)
                    fprintf(stderr, "rbm: checkpoint written to '%s' (continue with --resume)\n",
                            ckpt);
            }
        }
    }
    free(ckpt);
    return status;
}

/* The "data" line of the reports of train, eval and sample. */
static void print_data_line(const char *data, enum data_source source, rbm_unit_kind visible,
                            const struct data_info *di)
{
    printf("data        ");
    if (source == DATA_SYNTHETIC)
        printf("synthetic, %zu x %zu (11 clusters in %zu of %zu dimensions, %s)\n", di->rows,
               di->cols, di->cols < 5 ? di->cols : (size_t)5, di->cols, unit_name(visible));
    else if (source == DATA_FASHION_MNIST)
        printf("fashion-mnist, %zu x %zu", di->rows, di->cols);
    else
        printf("%s, %zu x %zu", data, di->rows, di->cols);
    if (source != DATA_SYNTHETIC) {
        if (strcmp(di->transform, "none") == 0)
            printf(" (values used as they are)\n");
        else
            printf(" (transform %s)\n", di->transform);
    }
}

/* What --track-spectrum recorded. */
struct track_summary {
    const char *csv;    /* the history beside the model, or NULL (no tracking) */
    size_t records;
    size_t n_modes;     /* tracked modes */
    size_t n_outside;   /* modes outside the bulk at the last record */
    double edge;        /* bulk edge at the last record */
    double top[TRACK_MODES]; /* tracked singular values at the last record, descending */
    double seconds;     /* time spent recording */
};

static void print_report(const struct train_opts *o, const struct data_info *di,
                         const struct train_result *res, double rate,
                         const struct track_summary *ts)
{
    char rate_s[32], time_s[32];
    fmt_rate(rate_s, sizeof rate_s, rate);
    fmt_seconds(time_s, sizeof time_s, res->seconds);
    print_data_line(o->data, o->source, o->visible, di);
    printf("machine     %zu %s visible x %zu %s hidden, %s\n", di->cols, unit_name(o->visible),
           o->n_hidden, unit_name(o->hidden), precision_name(o->precision));
    char est[32];
    fmt_estimator(est, sizeof est, o->estimator, o->k);
    printf("estimator   %s", est);
    printf(", %s lr %g", optimizer_name(o->optimizer), o->lr);
    if (o->l2 > 0)
        printf(", l2 %g", o->l2);
    printf(", batch %zu, seed %llu\n", o->batch, (unsigned long long)o->seed);
    printf("epochs      %zu of %zu (%llu steps)%s\n", res->epochs_done, o->epochs,
           (unsigned long long)res->total_steps, res->interrupted ? ", interrupted" : "");
    if (o->resume)
        printf("resumed     from %s after epoch %zu\n", o->resume, res->start_epoch);
    printf("time        %s, %s samples/s\n", time_s, rate_s);
    char a[32], b[32];
    fmt_recon(a, sizeof a, res->recon_first);
    fmt_recon(b, sizeof b, res->recon_last);
    printf("recon error %s -> %s (first -> last epoch)\n", a, b);
    if (res->ll_len > 0) {
        fmt_ll(a, sizeof a, res->ll_history[0]);
        fmt_ll(b, sizeof b, res->ll_last);
        printf("log-lik     %s -> %s (exact mean log-likelihood of the data, nats; first -> "
               "last epoch)\n",
               a, b);
    }
    if (o->checkpoint_every > 0)
        printf("checkpoint  %s.ckpt (every %zu epoch%s, %zu written)\n", o->out,
               o->checkpoint_every, o->checkpoint_every == 1 ? "" : "s", res->checkpoints);
    if (ts->csv && ts->records > 0) {
        printf("spectrum    %zu mode%s outside the bulk at the end (edge %.4f); top singular "
               "values",
               ts->n_outside, ts->n_outside == 1 ? "" : "s", ts->edge);
        for (size_t i = 0; i < ts->n_modes && i < 5; i++)
            printf(" %.3f", ts->top[i]);
        printf("\n");
        fmt_seconds(time_s, sizeof time_s, ts->seconds);
        printf("            history of %zu records in %s (%s, %.1f%% of the training time)\n",
               ts->records, ts->csv, time_s,
               res->train_seconds > 0 ? 100 * ts->seconds / res->train_seconds : 0.0);
    }
    printf("model       %s\n", o->out);
}

static void print_json(const struct train_opts *o, const struct data_info *di,
                       const struct train_result *res, double rate,
                       const struct track_summary *ts)
{
    FILE *f = stdout;
    int first = 1;
    json_str(f, &first, "command", "train");
    json_str(f, &first, "version", rbm_version_string());
    json_str(f, &first, "data", o->data);
    json_str(f, &first, "transform", di->transform);
    json_size(f, &first, "n_samples", di->rows);
    json_size(f, &first, "n_visible", di->cols);
    json_size(f, &first, "n_hidden", o->n_hidden);
    json_str(f, &first, "visible", unit_name(o->visible));
    json_str(f, &first, "hidden", unit_name(o->hidden));
    json_str(f, &first, "precision", precision_name(o->precision));
    json_str(f, &first, "estimator", estimator_name(o->estimator));
    json_size(f, &first, "k", o->k);
    json_str(f, &first, "optimizer", optimizer_name(o->optimizer));
    json_real(f, &first, "learning_rate", o->lr);
    json_real(f, &first, "l2", o->l2);
    json_size(f, &first, "batch", o->batch);
    json_u64(f, &first, "seed", o->seed);
    json_size(f, &first, "epochs", res->epochs_done);
    json_size(f, &first, "epochs_requested", o->epochs);
    json_u64(f, &first, "steps", res->total_steps);
    json_size(f, &first, "start_epoch", res->start_epoch);
    json_key(f, &first, "resumed_from");
    if (o->resume)
        json_string(f, o->resume);
    else
        fputs("null", f);
    json_real(f, &first, "seconds", res->seconds);
    json_real(f, &first, "samples_per_second", rate);
    json_real(f, &first, "reconstruction_error", res->recon_last);
    json_real(f, &first, "reconstruction_error_first", res->recon_first);
    json_key(f, &first, "reconstruction_error_history");
    json_numbers(f, res->history, res->history_len);
    json_real(f, &first, "log_likelihood", res->ll_len > 0 ? res->ll_last : NAN);
    json_key(f, &first, "log_likelihood_per_epoch");
    json_numbers(f, res->ll_history, res->ll_len);
    json_size(f, &first, "checkpoint_every", o->checkpoint_every);
    json_key(f, &first, "checkpoint_path");
    if (o->checkpoint_every > 0) {
        char *c = checkpoint_path(o->out);
        json_string(f, c ? c : "");
        free(c);
    } else {
        fputs("null", f);
    }
    json_key(f, &first, "interrupted");
    fputs(res->interrupted ? "true" : "false", f);
    if (res->interrupted) {
        json_str(f, &first, "signal", res->interrupted == SIGINT ? "SIGINT" : "SIGTERM");
    }
    json_key(f, &first, "spectrum_history");
    if (ts->csv)
        json_string(f, ts->csv);
    else
        fputs("null", f);
    json_size(f, &first, "spectrum_records", ts->records);
    json_key(f, &first, "n_modes_outside_bulk");
    if (ts->csv && ts->records > 0)
        fprintf(f, "%zu", ts->n_outside);
    else
        fputs("null", f);
    json_real(f, &first, "bulk_edge", ts->csv && ts->records > 0 ? ts->edge : NAN);
    json_key(f, &first, "top_singular_values");
    fputc('[', f);
    for (size_t i = 0; ts->csv && ts->records > 0 && i < ts->n_modes; i++) {
        if (i)
            fputs(", ", f);
        json_number(f, ts->top[i]);
    }
    fputc(']', f);
    json_real(f, &first, "spectrum_seconds", ts->seconds);
    json_str(f, &first, "model_path", o->out);
    fputs("\n}\n", f);
}

/* Before building anything: combinations the library would refuse, turned
 * into usage errors with a specific message. */
static int check_combination(const struct train_opts *o, size_t n_visible, size_t rows)
{
    if (o->estimator == RBM_ESTIMATOR_EXACT) {
        int v_ok = o->visible != RBM_UNIT_GAUSSIAN && n_visible <= RBM_EXACT_MAX_UNITS;
        int h_ok = o->hidden != RBM_UNIT_GAUSSIAN && o->n_hidden <= RBM_EXACT_MAX_UNITS;
        if (!v_ok && !h_ok) {
            errorf("--estimator exact enumerates a bernoulli or ising layer of at most %d "
                   "units, but the machine has %zu %s visible and %zu %s hidden units "
                   "(try --n-hidden 10)",
                   RBM_EXACT_MAX_UNITS, n_visible, unit_name(o->visible), o->n_hidden,
                   unit_name(o->hidden));
            return EXIT_USAGE;
        }
    }
    if (o->batch > rows) {
        errorf("--batch %zu is larger than the data set (%zu samples)", o->batch, rows);
        return EXIT_USAGE;
    }
    return 0;
}

/* Fail early (before a long training run) when the model cannot be written:
 * the path is a directory, or its directory does not exist or is not
 * writable. rbm_machine_save() reports anything else at the end. */
static int check_output_path(const char *path, const char *what)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        errorf("cannot save %s to '%s': it is a directory", what, path);
        return EXIT_RUNTIME;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return 0; /* too long to check here; the save reports it */
    if (stat(dir, &sb) != 0) {
        errorf("cannot save %s to '%s': directory '%s': %s", what, path, dir, strerror(errno));
        return EXIT_RUNTIME;
    }
    if (!S_ISDIR(sb.st_mode)) {
        errorf("cannot save %s to '%s': '%s' is not a directory", what, path, dir);
        return EXIT_RUNTIME;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        errorf("cannot save %s to '%s': directory '%s': %s", what, path, dir, strerror(errno));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Units of the smaller discrete (bernoulli or ising) layer of m, the layer
 * exact computations enumerate; 0 for a Gauss-Gauss machine (closed form). */
static size_t enum_units(const rbm_machine *m)
{
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    int vd = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) != RBM_UNIT_GAUSSIAN;
    int hd = rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN) != RBM_UNIT_GAUSSIAN;
    if (vd && hd)
        return nv < nh ? nv : nh;
    if (vd)
        return nv;
    if (hd)
        return nh;
    return 0;
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Read k and the optimiser from the training-state section 'TRNS' of a
 * checkpoint (docs/file-format.md), which the library has validated
 * already: the library has no getters for them. Returns 0 on success. */
static int read_checkpoint_config(const char *path, uint64_t *k, uint32_t *optimizer)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char h[24];
    int rc = -1;
    if (fread(h, 1, sizeof h, f) == sizeof h) {
        uint32_t count = get_le32(h + 12);
        uint64_t off = 24;
        for (uint32_t i = 0; i < count && off <= (uint64_t)LONG_MAX; i++) {
            unsigned char sh[24], pl[76];
            if (fseek(f, (long)off, SEEK_SET) != 0 || fread(sh, 1, sizeof sh, f) != sizeof sh)
                break;
            uint64_t len = get_le64(sh + 8);
            if (memcmp(sh, "TRNS", 4) == 0) {
                if (len >= sizeof pl && fread(pl, 1, sizeof pl, f) == sizeof pl) {
                    *k = get_le64(pl + 64);
                    *optimizer = get_le32(pl + 72);
                    rc = 0;
                }
                break;
            }
            if (len > UINT64_MAX - 24 - off)
                break;
            off += 24 + len;
        }
    }
    fclose(f);
    return rc;
}

/* ---- the spectral and thermodynamic report after 'rbm train' ---- */

/* Data rows used as TAP starts by the report: 200, fewer for big machines
 * (each start costs iterations of two N_v x N_h products, each distinct
 * point a dense eigenvalue problem of order N_v + N_h). */
static size_t report_data_starts(const rbm_machine *m)
{
    double cost = (double)rbm_machine_n_visible(m) * (double)rbm_machine_n_hidden(m);
    double n = 200.0 * 20000.0 / (cost > 1 ? cost : 1);
    if (n > 200)
        n = 200;
    if (n < 20)
        n = 20;
    return (size_t)n;
}

/* The plots directory beside the model: MODEL without ".rbm" + ".plots". */
static char *default_plots_dir(const char *model)
{
    size_t n = strlen(model);
    if (n > 4 && strcmp(model + n - 4, ".rbm") == 0)
        n -= 4;
    char *p = malloc(n + 7);
    if (p) {
        memcpy(p, model, n);
        memcpy(p + n, ".plots", 7);
    }
    return p;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Print the top singular values of tracker record k, sorted. */
static void print_record(const rbm_mode_tracker *tr, size_t k, size_t bpe, size_t top)
{
    size_t nm = rbm_mode_tracker_n_modes(tr);
    double w[TRACK_MODES], edge = NAN;
    size_t n_out = 0;
    uint64_t step = 0;
    if (nm > TRACK_MODES || rbm_mode_tracker_get(tr, k, &step, w, nm, &edge, &n_out) != RBM_OK)
        return;
    qsort(w, nm, sizeof *w, cmp_desc);
    char ep[32];
    if (bpe > 0 && step % bpe == 0)
        snprintf(ep, sizeof ep, "%llu", (unsigned long long)(step / bpe));
    else
        snprintf(ep, sizeof ep, "%.2f", bpe ? (double)step / (double)bpe : (double)step);
    printf("            epoch %5s:", ep);
    for (size_t i = 0; i < top && i < nm; i++)
        printf(" %6.3f", w[i]);
    printf("   edge %.3f, %zu outside\n", edge, n_out);
}

/* Each of the first k modes: its largest overlap with one of the data's top
 * k principal directions. */
static void print_pca_lines(const struct spectrum_info *si)
{
    printf("PCA         overlap |u_a . e_b| of each of the first %zu modes with the closest of "
           "the data's\n            top %zu principal directions:",
           si->k, si->k);
    double in_span_min = 1;
    for (size_t a = 0; a < si->k; a++) {
        size_t best = 0;
        double ss = 0;
        for (size_t b = 0; b < si->k; b++) {
            double x = si->overlaps[a * si->k + b];
            ss += x * x;
            if (x > si->overlaps[a * si->k + best])
                best = b;
        }
        if (ss < in_span_min)
            in_span_min = ss;
        printf(" %.2f (PC%zu)", si->overlaps[a * si->k + best], best + 1);
    }
    printf("\n            each mode's weight in the span of those directions >= %.2f; "
           "eigenvalues",
           in_span_min);
    for (size_t b = 0; b < si->k; b++)
        printf(" %.3g", si->eig[b]);
    printf("\n");
}

struct report_result {
    int done;
    size_t n_outside;
    size_t n_fixed_points;
    double log_z_tap;
    struct phase_info phase;
    char plots_dir[1024];
    size_t n_png;
};

static void train_report(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                         int synthetic, int quiet, const rbm_mode_tracker *tr, size_t bpe,
                         const char *plots_dir, const char *title, struct report_result *rr)
{
    char note[1024];
    struct spectrum_info si;
    struct fp_info fi;
    rbm_svd *svd = NULL;
    double *dproj = NULL;
    size_t n_dproj = 0;
    memset(&fi, 0, sizeof fi);
    memset(rr, 0, sizeof *rr);
    rr->log_z_tap = NAN;

    size_t n_data = report_data_starts(m);
    if (n_data > rbm_dataset_rows(data))
        n_data = rbm_dataset_rows(data);
    if (!quiet) {
        fprintf(stderr, "rbm: report: spectrum, TAP2 fixed points from %zu data rows, phase%s\n",
                n_data, plots_dir ? ", plots" : "");
        fflush(stderr);
    }
    printf("\n-- spectral and thermodynamic report (docs/spectral.md, docs/meanfield.md, "
           "docs/phase.md) --\n");
    /* the spectrum now */
    int have_spec = compute_spectrum(ctx, m, data, PCA_MODES, &si, &svd, note, sizeof note) == 0;
    if (have_spec) {
        size_t top = si.r < 8 ? si.r : 8;
        printf("spectrum    w =");
        for (size_t i = 0; i < top; i++)
            printf(" %.3f", si.w[i]);
        printf("%s (largest %zu of %zu singular values of W)\n", si.r > top ? " ..." : "", top,
               si.r);
        printf("            Marchenko-Pastur bulk edge %.4f (noise sigma %.4f): %zu mode%s "
               "outside the bulk\n",
               si.edge, si.sigma, si.n_outside, si.n_outside == 1 ? "" : "s");
        rr->n_outside = si.n_outside;
    } else {
        printf("spectrum    - (%s)\n", note);
    }
    /* its history */
    size_t nrec = tr ? rbm_mode_tracker_records(tr) : 0;
    if (nrec > 0) {
        printf("            during training (largest tracked singular values):\n");
        size_t shown = nrec < 6 ? nrec : 6;
        size_t last = (size_t)-1;
        for (size_t i = 0; i < shown; i++) {
            size_t k = shown == 1 ? 0 : i * (nrec - 1) / (shown - 1);
            if (k == last)
                continue;
            print_record(tr, k, bpe, 5);
            last = k;
        }
    }
    if (have_spec && si.k > 0) {
        print_pca_lines(&si);
    }

    /* TAP fixed points from data rows */
    size_t kp = have_spec ? (si.r < 5 ? si.r : 5) : 0;
    /* TAP needs a discrete layer; naive mean field is exact on Gauss-Gauss machines */
    int gg = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_GAUSSIAN &&
             rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN) == RBM_UNIT_GAUSSIAN;
    double damping = NAN;
    int have_fp = find_fixed_points_auto(ctx, m, gg ? RBM_MF_NAIVE : RBM_MF_TAP2, NAN, data, 0,
                                         n_data, 11, svd, kp, &fi, &damping, note,
                                         sizeof note) == 0;
    if (have_fp) {
        rr->n_fixed_points = fi.count;
        rr->log_z_tap = fi.log_z;
        printf("TAP states  %zu distinct %s fixed point%s from %zu data rows (%zu stable",
               fi.count, gg ? "naive mean-field" : "TAP2", fi.count == 1 ? "" : "s", fi.n_data,
               fi.n_stable);
        if (fi.n_failed)
            printf(", %zu start%s did not converge", fi.n_failed, fi.n_failed == 1 ? "" : "s");
        if (damping != 0.5)
            printf(", damping %g", damping);
        printf(")%s\n", synthetic ? "; the data has 11 clusters" : "");
        if (fi.count > 0) {
            printf("            starts per state:");
            for (size_t k = 0; k < fi.count && k < 16; k++)
                printf(" %zu", fi.mult[k]);
            printf("%s; Gamma %.4g to %.4g\n", fi.count > 16 ? " ..." : "", fi.gamma[0],
                   fi.gamma[fi.count - 1]);
        }
    } else {
        printf("TAP states  - (%s)\n", note);
    }

    /* log Z */
    if (have_fp && fi.count > 0)
        printf("log Z       %s %.4f (log-sum-exp of -Gamma over %zu state%s; best single state "
               "%.4f)\n",
               gg ? "mean-field" : "TAP", fi.log_z, fi.n_used, fi.n_used == 1 ? "" : "s",
               fi.best);
    else
        printf("log Z       TAP - (no fixed point)\n");
    size_t eu = enum_units(m);
    if (eu <= 20) {
        double lz = NAN;
        rbm_status st = rbm_exact_log_z(m, &lz);
        if (st == RBM_OK)
            printf("            exact %.4f (%s)\n", lz,
                   eu == 0 ? "gauss-gauss closed form" : "enumeration of the smaller layer");
        else {
            lib_note(note, sizeof note, ctx, st, "exact log Z");
            printf("            %s\n", note);
        }
    } else {
        printf("            exact: not cheap (the smaller layer has %zu units); 'rbm eval "
               "--method ais' estimates it\n",
               eu);
    }

    /* phase */
    machine_phase_info(ctx, m, &rr->phase);
    print_phase_line(&rr->phase, have_spec ? si.n_outside : 0);

    /* plots */
    if (plots_dir) {
        snprintf(rr->plots_dir, sizeof rr->plots_dir, "%s", plots_dir);
        if (have_spec && si.r >= 2) {
            size_t rows = rbm_dataset_rows(data);
            double *all = malloc(rows * 2 * sizeof *all);
            if (all && rbm_svd_project_dataset(svd, data, 2, all, rows * 2) == RBM_OK) {
                size_t stride = rows > 3000 ? (rows + 2999) / 3000 : 1;
                dproj = malloc(((rows + stride - 1) / stride) * 2 * sizeof *dproj);
                if (dproj)
                    for (size_t i = 0; i < rows; i += stride, n_dproj++) {
                        dproj[2 * n_dproj] = all[2 * i];
                        dproj[2 * n_dproj + 1] = all[2 * i + 1];
                    }
            }
            free(all);
        }
        struct plot_input in = {tr, bpe, have_spec ? si.edge : NAN, have_fp ? &fi : NULL,
                                dproj, n_dproj, title};
        char pngs[2][64];
        size_t n_png = 0;
        if (write_plots(plots_dir, &in, pngs, &n_png, note, sizeof note) == 0) {
            printf("plots       ");
            for (size_t i = 0; i < n_png; i++)
                printf("%s%s/%s", i ? ", " : "", plots_dir, pngs[i]);
            printf("\n");
            rr->n_png = n_png;
        } else {
            printf("plots       - (%s)\n", note);
        }
    }
    rr->done = 1;
    free(dproj);
    fp_info_free(&fi);
    if (have_spec)
        spectrum_info_free(&si);
    rbm_svd_free(svd);
}

static int cmd_train(int argc, char **argv)
{
    struct train_opts o;
    int rc = parse_train_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        print_train_usage(stdout);
        return EXIT_OK;
    }
    if (o.resume && o.config_opt) {
        errorf("%s cannot be combined with --resume: the checkpoint holds the machine and the "
               "training configuration (give only --data, --seed, --epochs and output options)",
               o.config_opt);
        return EXIT_USAGE;
    }

    rc = check_output_path(o.out, "the model");
    if (rc != 0)
        return rc;

    rbm_context *ctx = NULL;
    rbm_dataset *data = NULL;
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    rbm_mode_tracker *tracker = NULL;
    char *spec_csv = NULL, *plots_dir = NULL;
    struct data_info di;
    struct train_result res;
    struct track_summary ts;
    memset(&res, 0, sizeof res);
    memset(&ts, 0, sizeof ts);
    rbm_status st;

    if (new_context(&ctx) != 0)
        return EXIT_RUNTIME;

    size_t ckpt_nv = 0;
    if (o.resume) {
        /* the machine of the checkpoint decides the data transform */
        rbm_machine *probe = NULL;
        st = rbm_machine_load(ctx, o.resume, &probe);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot load the checkpoint '%s'", o.resume);
            rc = EXIT_RUNTIME;
            goto done;
        }
        o.visible = rbm_machine_unit_kind(probe, RBM_LAYER_VISIBLE);
        o.hidden = rbm_machine_unit_kind(probe, RBM_LAYER_HIDDEN);
        o.n_hidden = rbm_machine_n_hidden(probe);
        o.precision = rbm_machine_precision(probe);
        ckpt_nv = rbm_machine_n_visible(probe);
        rbm_machine_free(probe);
    }

    rc = load_data(ctx, &o, &data, &di);
    if (rc != 0)
        goto done;

    if (o.resume) {
        rc = EXIT_RUNTIME;
        if (di.cols != ckpt_nv) {
            errorf("the checkpoint '%s' has %zu visible units but the data has %zu columns",
                   o.resume, ckpt_nv, di.cols);
            goto done;
        }
        st = rbm_trainer_load_checkpoint(ctx, o.resume, data, &m, &t);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot resume from '%s'%s", o.resume,
                       st == RBM_ERR_SHAPE
                           ? " (give the --data and --seed of the run that wrote it)"
                           : "");
            goto done;
        }
        size_t done_epochs = (size_t)rbm_trainer_epochs(t);
        if (done_epochs >= o.epochs) {
            errorf("the checkpoint '%s' has completed %zu epoch%s already; ask for more with "
                   "--epochs (the total number of epochs)",
                   o.resume, done_epochs, done_epochs == 1 ? "" : "s");
            rc = EXIT_USAGE;
            goto done;
        }
        o.batch = rbm_trainer_batch_size(t);
        rbm_trainer_get_real(t, RBM_PARAM_LEARNING_RATE, &o.lr);
        rbm_trainer_get_real(t, RBM_PARAM_L2, &o.l2);
        o.estimator = rbm_estimator_get_kind(rbm_trainer_estimator(t));
        uint64_t k = 0;
        uint32_t opt = 0;
        if (read_checkpoint_config(o.resume, &k, &opt) == 0) {
            o.k = (size_t)k;
            o.optimizer = (rbm_optimizer)opt;
        }
    } else {
        /* a small data set and the default batch size: use the whole set */
        if (!o.batch_set && o.batch > di.rows)
            o.batch = di.rows;
        rc = check_combination(&o, di.cols, di.rows);
        if (rc != 0)
            goto done;

        rc = EXIT_RUNTIME;
        st = rbm_machine_new(ctx, di.cols, o.n_hidden, o.visible, o.hidden, &m);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot create a %zu x %zu machine", di.cols, o.n_hidden);
            goto done;
        }
        st = rbm_machine_set_precision(m, o.precision);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot set precision %s", precision_name(o.precision));
            goto done;
        }
        st = rbm_machine_init_normal(m, 0.01, derive_seed(o.seed, 1));
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot initialise the weights");
            goto done;
        }
        st = rbm_machine_init_visible_bias_from_data(m, data);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot initialise the visible biases from the data");
            goto done;
        }
        st = rbm_trainer_new(m, data, o.batch, derive_seed(o.seed, 2), &t);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot create the trainer");
            goto done;
        }
        st = rbm_trainer_set_estimator(t, o.estimator, o.k);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot use estimator %s", estimator_name(o.estimator));
            rc = st == RBM_ERR_INVALID_ARGUMENT || st == RBM_ERR_UNSUPPORTED ? EXIT_USAGE
                                                                              : EXIT_RUNTIME;
            goto done;
        }
        st = rbm_trainer_set_optimizer(t, o.optimizer);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot use optimizer %s", optimizer_name(o.optimizer));
            goto done;
        }
        st = rbm_trainer_set_real(t, RBM_PARAM_LEARNING_RATE, o.lr);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot set learning rate %g", o.lr);
            rc = st == RBM_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_RUNTIME;
            goto done;
        }
        st = rbm_trainer_set_real(t, RBM_PARAM_L2, o.l2);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot set L2 weight decay %g", o.l2);
            rc = st == RBM_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_RUNTIME;
            goto done;
        }
    }

    /* the exact log-likelihood after every epoch: when cheap, or forced */
    size_t eu = enum_units(m);
    if (o.log_likelihood) {
        if (eu > RBM_EXACT_LOG_Z_MAX_UNITS) {
            errorf("--log-likelihood enumerates a bernoulli or ising layer of at most %d units, "
                   "but the machine has %zu %s visible and %zu %s hidden units",
                   RBM_EXACT_LOG_Z_MAX_UNITS, di.cols, unit_name(o.visible), o.n_hidden,
                   unit_name(o.hidden));
            rc = EXIT_USAGE;
            goto done;
        }
        res.ll_enabled = 1;
    } else {
        res.ll_enabled = eu <= 16 && di.rows <= 100000 && (eu > 0 || di.cols + o.n_hidden <= 2000);
    }

    if (!o.quiet) {
        char est[32];
        if (o.estimator == RBM_ESTIMATOR_EXACT)
            snprintf(est, sizeof est, "exact gradient");
        else
            fmt_estimator(est, sizeof est, o.estimator, o.k);
        fprintf(stderr,
                "rbm: %s (%zu x %zu), %s-%s RBM with %zu hidden, %s, %zu epoch%s x %zu "
                "batches%s\n",
                o.data, di.rows, di.cols, unit_name(o.visible), unit_name(o.hidden), o.n_hidden,
                est, o.epochs, o.epochs == 1 ? "" : "s", rbm_trainer_batches_per_epoch(t),
                res.ll_enabled ? ", exact log-likelihood every epoch" : "");
        if (o.resume)
            fprintf(stderr, "rbm: resuming from '%s' after epoch %llu (minibatch %zu)\n",
                    o.resume, (unsigned long long)rbm_trainer_epochs(t),
                    rbm_trainer_batch_index(t));
        fflush(stderr);
    }

    if (o.track_spectrum) {
        size_t r = di.cols < o.n_hidden ? di.cols : o.n_hidden;
        size_t nm = r < TRACK_MODES ? r : TRACK_MODES;
        size_t n = strlen(o.out);
        spec_csv = malloc(n + 14);
        if (!spec_csv) {
            errorf("out of memory");
            rc = EXIT_RUNTIME;
            goto done;
        }
        memcpy(spec_csv, o.out, n);
        memcpy(spec_csv + n, ".spectrum.csv", 14);
        st = rbm_mode_tracker_new(m, nm, &tracker);
        if (st == RBM_OK) {
            double tt = now_seconds();
            st = rbm_mode_tracker_record(tracker, rbm_trainer_steps(t));
            res.track_seconds = now_seconds() - tt;
        }
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot track the spectrum of W");
            rc = EXIT_RUNTIME;
            goto done;
        }
    }

    rc = run_training(ctx, t, data, &o, di.rows, &res, tracker);
    if (rc != 0)
        goto done;
    res.total_steps = rbm_trainer_steps(t);

    st = rbm_machine_save(m, o.out);
    if (st != RBM_OK) {
        lib_errorf(ctx, st, "cannot save the model to '%s'", o.out);
        rc = EXIT_RUNTIME;
        goto done;
    }

    if (tracker) {
        st = rbm_mode_tracker_write_csv(tracker, spec_csv);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot write the spectrum history '%s'", spec_csv);
            rc = EXIT_RUNTIME;
            goto done;
        }
        ts.csv = spec_csv;
        ts.records = rbm_mode_tracker_records(tracker);
        ts.n_modes = rbm_mode_tracker_n_modes(tracker);
        ts.seconds = res.track_seconds;
        if (ts.records > 0 &&
            rbm_mode_tracker_get(tracker, ts.records - 1, NULL, ts.top, ts.n_modes, &ts.edge,
                                 &ts.n_outside) == RBM_OK)
            qsort(ts.top, ts.n_modes, sizeof ts.top[0], cmp_desc);
    }

    double rate = res.train_seconds > 0 ? (double)res.samples / res.train_seconds : NAN;
    if (o.json)
        print_json(&o, &di, &res, rate, &ts);
    else
        print_report(&o, &di, &res, rate, &ts);
    if (o.report && !res.interrupted) {
        if (!o.no_plots) {
            plots_dir = o.plots ? strdup(o.plots) : default_plots_dir(o.out);
            if (!plots_dir) {
                errorf("out of memory");
                rc = EXIT_RUNTIME;
                goto done;
            }
        }
        char title[256], est[32];
        fmt_estimator(est, sizeof est, o.estimator, o.k);
        snprintf(title, sizeof title, "%s RBM %zu x %zu, %s, %zu epochs on %s data",
                 unit_name(o.visible), di.cols, o.n_hidden, est, res.epochs_done,
                 o.source == DATA_SYNTHETIC ? "synthetic" : o.source == DATA_FASHION_MNIST
                                                                ? "fashion-mnist"
                                                                : "file");
        struct report_result rr;
        fflush(stdout);
        train_report(ctx, m, data, o.source == DATA_SYNTHETIC, o.quiet, tracker,
                     rbm_trainer_batches_per_epoch(t), plots_dir, title, &rr);
    }
    if (flush_stdout() != 0) {
        rc = EXIT_RUNTIME;
        goto done;
    }
    rc = res.interrupted ? 128 + res.interrupted : EXIT_OK;

done:
    free(res.history);
    free(res.ll_history);
    free(spec_csv);
    free(plots_dir);
    rbm_mode_tracker_free(tracker);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(data);
    rbm_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------
 * Shared by eval and sample: the model and the data it is evaluated on
 * ------------------------------------------------------------------------ */

static int load_model(rbm_context *ctx, const char *path, rbm_machine **out)
{
    rbm_status st = rbm_machine_load(ctx, path, out);
    if (st != RBM_OK) {
        lib_errorf(ctx, st, "cannot load the model '%s'", path);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* The data of --data (or the default synthetic data, generated with the
 * model's number of visible units: 'rbm train's default data for a
 * 100-unit model) in the support of the model's visible units, as 'rbm
 * train' prepares it. */
static int load_model_data(rbm_context *ctx, const rbm_machine *m, const char *data,
                           uint64_t seed, rbm_dataset **out, struct data_info *di)
{
    size_t nv = rbm_machine_n_visible(m);
    struct data_spec spec = {data, data_source_of(data),
                             rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), seed, nv};
    int rc = load_data_spec(ctx, &spec, out, di);
    if (rc != 0)
        return rc;
    if (di->cols != nv) {
        errorf("the data '%s' has %zu columns, the model has %zu visible units", data, di->cols,
               nv);
        rbm_dataset_free(*out);
        *out = NULL;
        return EXIT_RUNTIME;
    }
    return 0;
}

static void print_model_line(const char *path, const rbm_machine *m)
{
    printf("model       %s (%zu %s visible x %zu %s hidden)\n", path, rbm_machine_n_visible(m),
           unit_name(rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE)), rbm_machine_n_hidden(m),
           unit_name(rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN)));
}

static void json_model(FILE *f, int *first, const char *path, const rbm_machine *m)
{
    json_str(f, first, "model", path);
    json_size(f, first, "n_visible", rbm_machine_n_visible(m));
    json_size(f, first, "n_hidden", rbm_machine_n_hidden(m));
    json_str(f, first, "visible", unit_name(rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE)));
    json_str(f, first, "hidden", unit_name(rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN)));
}

/* The MODEL argument of eval and sample: exactly one non-option argument. */
static int take_model_arg(const char *cmd, const char *arg, const char **model)
{
    if (*model) {
        errorf("unexpected argument '%s' for 'rbm %s' (one MODEL only; see 'rbm help %s')", arg,
               cmd, cmd);
        return -1;
    }
    if (*arg == '\0') {
        errorf("empty MODEL argument for 'rbm %s'", cmd);
        return -1;
    }
    *model = arg;
    return 0;
}

#define DATA_EXPECTED "expected synthetic, fashion-mnist or a file"

/* The arguments of eval, sample, spectrum and analyze: the options of the
 * table and one MODEL. Returns 1 if argv[*i] was one of them (consumed), 0
 * if not, -1 on a usage error (printed). */
static int take_model_option(int argc, char **argv, int *i, const char *cmd, const char **model,
                             const struct option_spec *table, size_t n)
{
    const char *arg = argv[*i];
    if (arg[0] != '-' || arg[1] == '\0')
        return take_model_arg(cmd, arg, model) == 0 ? 1 : -1;
    return take_option(argc, argv, i, table, n, NULL);
}

/* 0 when a MODEL was given, else EXIT_USAGE after the error. */
static int need_model(const char *cmd, const char *model)
{
    if (model)
        return 0;
    errorf("'rbm %s' needs a MODEL file (see 'rbm help %s')", cmd, cmd);
    return EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * rbm eval
 * ------------------------------------------------------------------------ */

#define AIS_DEFAULT_RUNS 100
#define AIS_DEFAULT_BETAS 14501 /* the schedule of SCIENCE.md §8 */
#define AIS_REVERSE_BURN_IN 1000

enum eval_method { METHOD_AUTO, METHOD_EXACT, METHOD_AIS };

struct eval_opts {
    const char *model;
    const char *data;
    enum eval_method method;
    size_t runs, betas;
    int runs_set, betas_set;
    uint64_t seed, data_seed;
    int json, quiet, help;
};

static void print_eval_usage(FILE *f)
{
    fputs("usage: rbm eval MODEL [options]\n"
          "\n"
          "Estimate log Z of a saved model and the mean log-likelihood of data under it,\n"
          "and compute the mean exact pseudo-log-likelihood (docs/likelihoods.md says\n"
          "which number to trust when). Log-likelihoods are in nats per sample (log\n"
          "densities for gaussian visible units).\n"
          "\n"
          "  --data synthetic|fashion-mnist|FILE   the data, prepared for the model's\n"
          "                        visible units as 'rbm train' does (default synthetic:\n"
          "                        the built-in synthetic data of the model's visible\n"
          "                        kind and size, generated with --data-seed)\n"
          "  --method exact|ais    exact: enumerate the smaller bernoulli/ising layer\n"
          "                        (at most 30 units; closed form for gauss-gauss\n"
          "                        machines). ais: annealed importance sampling, forward\n"
          "                        (a stochastic lower bound of log Z) and reverse (an\n"
          "                        upper bound), each with its standard error.\n"
          "                        Default: exact when that layer has at most 24 units\n"
          "                        and neither --runs nor --betas is given, ais otherwise\n"
          "  --runs R              AIS runs (default 100, at least 2)\n"
          "  --betas N             AIS with N equally spaced inverse temperatures\n"
          "                        (default: 14501 temperatures, 0 to 0.5 step 1e-3, to\n"
          "                        0.9 step 1e-4, to 1 step 1e-5)\n"
          "  --seed S              seeds AIS (default 1)\n"
          "  --data-seed S         the --seed the synthetic data was made with in 'rbm\n"
          "                        train' (default 1, its default)\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "  --quiet               no progress display on stderr\n"
          "  -h, --help            show this help\n"
          "\n"
          "AIS starts from the base-rate model of the data (visible biases matching\n"
          "the data means, W = 0); the reverse chains start from data rows and run\n"
          "1000 Gibbs sweeps first. The pseudo-likelihood is exact (every unit of\n"
          "every row) and needs binary data; it is skipped for gaussian visible\n"
          "units.\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error, 130 (SIGINT) or\n"
          "143 (SIGTERM) when interrupted.\n",
          f);
}

static int parse_eval_opts(int argc, char **argv, struct eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = "synthetic";
    o->method = METHOD_AUTO;
    o->runs = AIS_DEFAULT_RUNS;
    o->betas = AIS_DEFAULT_BETAS;
    o->seed = 1;
    o->data_seed = 1;
    const struct option_spec opts[] = {
        {"--json", .type = OPT_FLAG, .dst = &o->json},
        {"--quiet", .alias = "-q", .type = OPT_FLAG, .dst = &o->quiet},
        {"--help", .alias = "-h", .type = OPT_FLAG, .dst = &o->help},
        {"--data", .type = OPT_STRING, .dst = &o->data, .expected = DATA_EXPECTED},
        {"--runs", .type = OPT_SIZE, .dst = &o->runs, .min = 2, .set = &o->runs_set},
        {"--betas", .type = OPT_SIZE, .dst = &o->betas, .min = 2, .set = &o->betas_set},
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--data-seed", .type = OPT_U64, .dst = &o->data_seed},
    };
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *v = NULL;
        int r = take_model_option(argc, argv, &i, "eval", &o->model, opts, ARRAY_LEN(opts));
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        if ((r = take_value(argc, argv, &i, "--method", &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            if (strcmp(v, "exact") == 0)
                o->method = METHOD_EXACT;
            else if (strcmp(v, "ais") == 0)
                o->method = METHOD_AIS;
            else {
                errorf("unknown method '%s' for --method (expected exact or ais)", v);
                return EXIT_USAGE;
            }
        } else {
            errorf("unknown option '%s' for 'rbm eval' (see 'rbm help eval')", arg);
            return EXIT_USAGE;
        }
    }
    if (!o->help && need_model("eval", o->model) != 0)
        return EXIT_USAGE;
    if (o->runs > (size_t)INT32_MAX) {
        errorf("invalid value '%zu' for --runs: too large (at most %d)", o->runs, INT32_MAX);
        return EXIT_USAGE;
    }
    if (o->betas > 100000000) {
        errorf("invalid value '%zu' for --betas: too large (at most 100000000)", o->betas);
        return EXIT_USAGE;
    }
    if (o->method == METHOD_EXACT && (o->runs_set || o->betas_set)) {
        errorf("%s applies to --method ais only", o->runs_set ? "--runs" : "--betas");
        return EXIT_USAGE;
    }
    return 0;
}

/* Progress of the two AIS runs: one bar over both (forward, then reverse,
 * weighted by their numbers of transitions). */
struct ais_progress {
    struct progress p;
    const char *phase;
    double base, weight; /* this phase covers [base, base + weight] of the bar */
    double t0, phase_t0;
    int next_line;       /* next quarter reported in plain-line mode */
};

static int ais_progress_cb(void *user, double fraction)
{
    struct ais_progress *ap = user;
    double now = now_seconds();
    if (ap->p.mode == PROGRESS_TTY && (now - ap->p.last_draw >= 0.1 || fraction >= 1)) {
        double total = ap->base + ap->weight * fraction;
        double elapsed = now - ap->t0;
        double eta = total > 0 ? elapsed / total * (1 - total) : NAN;
        char left[64], right[96], eta_s[32], el_s[32];
        fmt_duration(eta_s, sizeof eta_s, eta);
        fmt_duration(el_s, sizeof el_s, elapsed);
        snprintf(left, sizeof left, "AIS %-7s %3.0f%% ", ap->phase, 100 * fraction);
        snprintf(right, sizeof right, " elapsed %s ETA %5s", el_s, eta_s);
        progress_show(&ap->p, left, total, right);
        ap->p.last_draw = now;
    } else if (ap->p.mode == PROGRESS_LINES) {
        while (ap->next_line <= 3 && fraction >= 0.25 * ap->next_line) {
            char el_s[32];
            fmt_seconds(el_s, sizeof el_s, now - ap->phase_t0);
            fprintf(stderr, "AIS %s %d%%  %s\n", ap->phase, 25 * ap->next_line, el_s);
            fflush(stderr);
            ap->next_line++;
        }
    }
    return g_interrupted ? 1 : 0;
}

struct eval_result {
    enum eval_method method;
    double log_z, log_z_se, ll;
    double log_z_rev, log_z_rev_se, ll_rev;
    double base_log_z;
    double pll;
    char pll_note[512];
    double seconds, seconds_log_z, seconds_reverse;
    double seconds_data, seconds_ll, seconds_pll;
    size_t enum_units;
};

/* Forward and reverse AIS. Returns 0, an exit status after an error, or
 * 128 + signal when interrupted. */
static int eval_ais(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                    const struct eval_opts *o, struct eval_result *r)
{
    rbm_ais *ais = NULL;
    rbm_status st = rbm_ais_new(m, derive_seed(o->seed, 3), &ais);
    if (st != RBM_OK) {
        lib_errorf(ctx, st, "cannot set up AIS");
        return EXIT_RUNTIME;
    }
    int rc = EXIT_RUNTIME;
    if ((st = rbm_ais_set_runs(ais, o->runs)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot use %zu AIS runs", o->runs);
        goto out;
    }
    if (o->betas_set && (st = rbm_ais_set_uniform_schedule(ais, o->betas)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot use %zu AIS temperatures", o->betas);
        goto out;
    }
    if ((st = rbm_ais_set_base_from_data(ais, data)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot set the AIS base rate from the data");
        goto out;
    }
    rbm_ais_set_reverse_burn_in(ais, AIS_REVERSE_BURN_IN);
    r->base_log_z = rbm_ais_base_log_z(ais);

    struct ais_progress ap;
    memset(&ap, 0, sizeof ap);
    progress_init(&ap.p, o->quiet);
    double fwd = (double)(o->betas - 1), rev = (double)(AIS_REVERSE_BURN_IN + o->betas - 1);
    ap.t0 = now_seconds();
    rbm_ais_set_progress(ais, ais_progress_cb, &ap);
    if (!o->quiet && ap.p.mode == PROGRESS_LINES) {
        fprintf(stderr, "rbm: AIS, %zu runs x %zu temperatures, forward then reverse\n", o->runs,
                o->betas);
        fflush(stderr);
    }

    install_signal_handlers();
    for (int reverse = 0; reverse <= 1; reverse++) {
        ap.phase = reverse ? "reverse" : "forward";
        ap.base = reverse ? fwd / (fwd + rev) : 0;
        ap.weight = (reverse ? rev : fwd) / (fwd + rev);
        ap.phase_t0 = now_seconds();
        ap.next_line = 1;
        double lz = NAN, se = NAN;
        st = rbm_ais_run(ais, reverse, &lz, &se);
        double dt = now_seconds() - ap.phase_t0;
        if (st == RBM_STOPPED || (st == RBM_OK && g_interrupted)) {
            progress_close(&ap.p);
            int sig = (int)g_interrupted;
            if (!o->quiet)
                fprintf(stderr, "rbm: %s during %s AIS; no result\n",
                        sig == SIGINT ? "interrupted" : "terminated", ap.phase);
            rc = 128 + sig;
            goto out_signals;
        }
        if (st != RBM_OK) {
            progress_close(&ap.p);
            lib_errorf(ctx, st, "%s AIS failed", ap.phase);
            goto out_signals;
        }
        if (reverse) {
            r->log_z_rev = lz;
            r->log_z_rev_se = se;
            r->seconds_reverse = dt;
        } else {
            r->log_z = lz;
            r->log_z_se = se;
            r->seconds_log_z = dt;
        }
        if (ap.p.mode == PROGRESS_LINES) {
            char dt_s[32];
            fmt_seconds(dt_s, sizeof dt_s, dt);
            fprintf(stderr, "AIS %s: log Z = %.6f +- %.6f (%s)\n", ap.phase, lz, se, dt_s);
            fflush(stderr);
        }
    }
    progress_close(&ap.p);
    rc = 0;
out_signals:
    restore_signal_handlers();
out:
    rbm_ais_free(ais);
    return rc;
}

/* Forward AIS is a stochastic lower bound and reverse AIS an upper one:
 * a reverse estimate clearly below the forward one means that at least
 * one of them is far off (chains that do not mix, missed modes). */
static int ais_bracket_ok(const struct eval_result *r)
{
    double se = sqrt(r->log_z_se * r->log_z_se + r->log_z_rev_se * r->log_z_rev_se);
    return !(r->log_z_rev < r->log_z - 3 * se);
}

static void print_eval_report(const struct eval_opts *o, const rbm_machine *m,
                              const struct data_info *di, const struct eval_result *r)
{
    print_model_line(o->model, m);
    print_data_line(o->data, data_source_of(o->data),
                    rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), di);
    if (r->method == METHOD_EXACT) {
        if (r->enum_units == 0)
            printf("method      exact (gauss-gauss closed form)\n");
        else
            printf("method      exact (enumeration of %zu units, 2^%zu states)\n", r->enum_units,
                   r->enum_units);
        printf("log Z       %.6f\n", r->log_z);
        printf("log-lik     %.6f nats (mean over %zu rows)\n", r->ll, di->rows);
    } else {
        printf("method      AIS (%zu runs, %zu temperatures%s, base rate from the data, "
               "log Z_A = %.4f)\n",
               o->runs, o->betas, o->betas_set ? " uniform" : "", r->base_log_z);
        printf("log Z       %.6f +- %.6f forward (stochastic lower bound)\n", r->log_z,
               r->log_z_se);
        printf("            %.6f +- %.6f reverse (stochastic upper bound)\n", r->log_z_rev,
               r->log_z_rev_se);
        if (!ais_bracket_ok(r))
            printf("            inverted bracket: reverse below forward by %.3g nats, so at "
                   "least one is off (see docs/likelihoods.md)\n",
                   r->log_z - r->log_z_rev);
        printf("log-lik     %.6f nats with the forward log Z, %.6f with the reverse "
               "(mean over %zu rows)\n",
               r->ll, r->ll_rev, di->rows);
    }
    if (isnan(r->pll))
        printf("pseudo-lik  - (%s)\n", r->pll_note);
    else
        printf("pseudo-lik  %.6f nats (exact, all %zu units)\n", r->pll,
               rbm_machine_n_visible(m));
    print_time_line(r->seconds);
}

static void print_eval_json(const struct eval_opts *o, const rbm_machine *m,
                            const struct data_info *di, const struct eval_result *r)
{
    FILE *f = stdout;
    int first = 1;
    json_str(f, &first, "command", "eval");
    json_str(f, &first, "version", rbm_version_string());
    json_model(f, &first, o->model, m);
    json_str(f, &first, "data", o->data);
    json_str(f, &first, "transform", di->transform);
    json_size(f, &first, "n_rows", di->rows);
    json_str(f, &first, "method", r->method == METHOD_EXACT ? "exact" : "ais");
    json_real(f, &first, "log_z", r->log_z);
    json_real(f, &first, "log_z_stderr", r->method == METHOD_EXACT ? 0.0 : r->log_z_se);
    json_real(f, &first, "log_likelihood", r->ll);
    if (r->method == METHOD_AIS) {
        json_real(f, &first, "log_z_reverse", r->log_z_rev);
        json_real(f, &first, "log_z_reverse_stderr", r->log_z_rev_se);
        json_real(f, &first, "log_likelihood_reverse", r->ll_rev);
        json_key(f, &first, "ais_bracket_consistent");
        fputs(ais_bracket_ok(r) ? "true" : "false", f);
        json_size(f, &first, "ais_runs", o->runs);
        json_size(f, &first, "ais_betas", o->betas);
        json_str(f, &first, "ais_schedule", o->betas_set ? "uniform" : "default");
        json_real(f, &first, "ais_base_log_z", r->base_log_z);
        json_key(f, &first, "ais_reverse_burn_in");
        fprintf(f, "%d", AIS_REVERSE_BURN_IN);
        json_real(f, &first, "seconds_reverse", r->seconds_reverse);
    } else {
        json_size(f, &first, "enumerated_units", r->enum_units);
    }
    json_real(f, &first, "pseudo_likelihood", r->pll);
    if (isnan(r->pll)) {
        json_str(f, &first, "pseudo_likelihood_note", r->pll_note);
    }
    json_u64(f, &first, "seed", o->seed);
    json_u64(f, &first, "data_seed", o->data_seed);
    json_real(f, &first, "seconds_data", r->seconds_data);
    json_real(f, &first, "seconds_log_z", r->seconds_log_z);
    json_real(f, &first, "seconds_log_likelihood", r->seconds_ll);
    json_real(f, &first, "seconds_pseudo_likelihood", r->seconds_pll);
    json_real(f, &first, "seconds", r->seconds);
    fputs("\n}\n", f);
}

static int cmd_eval(int argc, char **argv)
{
    struct eval_opts o;
    int rc = parse_eval_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        print_eval_usage(stdout);
        return EXIT_OK;
    }
    const double t0 = now_seconds();
    rbm_context *ctx = NULL;
    rbm_machine *m = NULL;
    rbm_dataset *data = NULL;
    struct data_info di;
    struct eval_result r;
    memset(&r, 0, sizeof r);
    r.log_z = r.log_z_se = r.ll = r.log_z_rev = r.log_z_rev_se = r.ll_rev = r.pll = NAN;
    if (new_context(&ctx) != 0)
        return EXIT_RUNTIME;
    rbm_status st = RBM_OK;
    if ((rc = load_model(ctx, o.model, &m)) != 0)
        goto done;

    /* the method */
    size_t eu = enum_units(m);
    rbm_unit_kind vk = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE);
    rbm_unit_kind hk = rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN);
    int gauss_gauss = vk == RBM_UNIT_GAUSSIAN && hk == RBM_UNIT_GAUSSIAN;
    r.method = o.method;
    if (r.method == METHOD_AUTO)
        r.method = gauss_gauss || (eu <= RBM_EXACT_MAX_UNITS && !o.runs_set && !o.betas_set)
                       ? METHOD_EXACT
                       : METHOD_AIS;
    if (r.method == METHOD_EXACT && eu > RBM_EXACT_LOG_Z_MAX_UNITS) {
        errorf("--method exact enumerates a bernoulli or ising layer of at most %d units, but "
               "the model has %zu %s visible and %zu %s hidden units (use --method ais)",
               RBM_EXACT_LOG_Z_MAX_UNITS, rbm_machine_n_visible(m), unit_name(vk),
               rbm_machine_n_hidden(m), unit_name(hk));
        rc = EXIT_USAGE;
        goto done;
    }
    if (r.method == METHOD_AIS && gauss_gauss) {
        errorf("AIS is not available for gauss-gauss machines: their log Z has a closed form "
               "(use --method exact)");
        rc = EXIT_USAGE;
        goto done;
    }
    r.enum_units = eu;

    double tl = now_seconds();
    if ((rc = load_model_data(ctx, m, o.data, o.data_seed, &data, &di)) != 0)
        goto done;
    r.seconds_data = now_seconds() - tl;

    rc = EXIT_RUNTIME;
    if (r.method == METHOD_EXACT) {
        if (!o.quiet && eu >= 20) {
            fprintf(stderr, "rbm: exact log Z: enumerating 2^%zu states\n", eu);
            fflush(stderr);
        }
        double t1 = now_seconds();
        st = rbm_exact_log_z(m, &r.log_z);
        r.seconds_log_z = now_seconds() - t1;
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot compute the exact log Z");
            goto done;
        }
        r.log_z_se = 0;
    } else {
        rc = eval_ais(ctx, m, data, &o, &r);
        if (rc != 0)
            goto done;
        rc = EXIT_RUNTIME;
        if (!o.quiet && !ais_bracket_ok(&r)) {
            fprintf(stderr,
                    "rbm: warning: reverse AIS (%.4f +- %.4f) is below forward AIS (%.4f +- "
                    "%.4f): the chains do not mix or miss modes, so at least one estimate is off\n",
                    r.log_z_rev, r.log_z_rev_se, r.log_z, r.log_z_se);
            fflush(stderr);
        }
        st = rbm_log_likelihood(m, data, r.log_z_rev, &r.ll_rev);
        if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot compute the log-likelihood of the data");
            goto done;
        }
    }
    tl = now_seconds();
    st = rbm_log_likelihood(m, data, r.log_z, &r.ll);
    r.seconds_ll = now_seconds() - tl;
    if (st != RBM_OK) {
        lib_errorf(ctx, st, "cannot compute the log-likelihood of the data");
        goto done;
    }
    tl = now_seconds();

    if (vk == RBM_UNIT_GAUSSIAN) {
        snprintf(r.pll_note, sizeof r.pll_note,
                 "not computed: gaussian visible units have no pseudo-likelihood over "
                 "discrete values");
    } else {
        st = rbm_pseudo_log_likelihood(m, data, &r.pll);
        if (st == RBM_ERR_OUT_OF_RANGE || st == RBM_ERR_UNSUPPORTED) {
            r.pll = NAN;
            snprintf(r.pll_note, sizeof r.pll_note, "not computed: %s",
                     rbm_context_last_error(ctx));
        } else if (st != RBM_OK) {
            lib_errorf(ctx, st, "cannot compute the pseudo-likelihood");
            goto done;
        }
    }
    r.seconds_pll = now_seconds() - tl;
    if (!o.quiet && isnan(r.pll)) {
        fprintf(stderr, "rbm: note: pseudo-likelihood %s\n", r.pll_note);
        fflush(stderr);
    }
    r.seconds = now_seconds() - t0;

    if (o.json)
        print_eval_json(&o, m, &di, &r);
    else
        print_eval_report(&o, m, &di, &r);
    if (flush_stdout() != 0) {
        rc = EXIT_RUNTIME;
        goto done;
    }
    rc = EXIT_OK;
done:
    rbm_dataset_free(data);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------
 * rbm sample
 * ------------------------------------------------------------------------ */

#define SAMPLE_DEFAULT_N 64
#define SAMPLE_DEFAULT_STEPS 1000
#define SAMPLE_MAX_N 1000000
#define PNG_MAX_SIDE 1000000 /* libpng's limit on the width and height */

enum sample_format { FORMAT_PNG, FORMAT_NPY, FORMAT_TXT };

struct sample_opts {
    const char *model;
    const char *data; /* NULL: chains start from random states */
    const char *out;  /* NULL: the default for the shape */
    size_t n, steps;
    uint64_t seed, data_seed;
    int means;
    int json, quiet, help;
};

static void print_sample_usage(FILE *f)
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
          "  --out FILE.png|FILE.npy|FILE.txt   (default rbm-samples.png for image-\n"
          "                        shaped models, rbm-samples.npy otherwise)\n"
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
    const struct option_spec opts[] = {
        {"--json", .type = OPT_FLAG, .dst = &o->json},
        {"--quiet", .alias = "-q", .type = OPT_FLAG, .dst = &o->quiet},
        {"--help", .alias = "-h", .type = OPT_FLAG, .dst = &o->help},
        {"--means", .type = OPT_FLAG, .dst = &o->means},
        {"--data", .type = OPT_STRING, .dst = &o->data, .expected = DATA_EXPECTED},
        {"-n", .type = OPT_SIZE, .dst = &o->n, .min = 1, .max = SAMPLE_MAX_N},
        {"--steps", .type = OPT_SIZE, .dst = &o->steps, .min = 0},
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--data-seed", .type = OPT_U64, .dst = &o->data_seed},
        {"--out", .type = OPT_STRING, .dst = &o->out,
         .expected = "expected FILE.png, FILE.npy or FILE.txt"},
    };
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int r = take_model_option(argc, argv, &i, "sample", &o->model, opts, ARRAY_LEN(opts));
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0) {
            errorf("unknown option '%s' for 'rbm sample' (see 'rbm help sample')", arg);
            return EXIT_USAGE;
        }
    }
    if (!o->help && need_model("sample", o->model) != 0)
        return EXIT_USAGE;
    return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n <= k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[n - k + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != suffix[i])
            return 0;
    }
    return 1;
}

/* Atomic output: a temporary file next to path (mode 0666 less the umask),
 * renamed over path by finish_output after a complete write. */
struct outfile {
    FILE *f;
    char *tmp;
    const char *path;
};

static int start_output(struct outfile *of, const char *path)
{
    size_t n = strlen(path);
    of->f = NULL;
    of->path = path;
    of->tmp = malloc(n + 12);
    if (!of->tmp) {
        errorf("out of memory");
        return -1;
    }
    memcpy(of->tmp, path, n);
    memcpy(of->tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(of->tmp);
    if (fd < 0) {
        errorf("cannot create '%s': %s", of->tmp, strerror(errno));
        free(of->tmp);
        of->tmp = NULL;
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        /* best effort: the file stays private */
    }
    of->f = fdopen(fd, "wb");
    if (!of->f) {
        errorf("cannot write '%s': %s", of->tmp, strerror(errno));
        close(fd);
        unlink(of->tmp);
        free(of->tmp);
        of->tmp = NULL;
        return -1;
    }
    return 0;
}

/* ok: the content was written completely. Returns 0 on success. */
static int finish_output(struct outfile *of, int ok)
{
    int err = 0;
    if (ok && (fflush(of->f) != 0 || ferror(of->f) || fsync(fileno(of->f)) != 0))
        err = errno ? errno : EIO;
    if (fclose(of->f) != 0 && ok && !err)
        err = errno ? errno : EIO;
    of->f = NULL;
    if (ok && !err && rename(of->tmp, of->path) != 0)
        err = errno;
    int rc = 0;
    if (!ok || err) {
        unlink(of->tmp);
        if (ok)
            errorf("cannot write '%s': %s", of->path, strerror(err));
        rc = -1;
    }
    free(of->tmp);
    of->tmp = NULL;
    return rc;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* NPY format version 1.0: magic "\x93NUMPY", version 1 0, a little-endian
 * u16 header length, an ASCII dict literal padded with spaces and ended by
 * '\n' so that the data starts at a multiple of 64 bytes; then the values,
 * here little-endian float64 in C order. */
static int write_npy(FILE *f, const double *x, size_t rows, size_t cols)
{
    char dict[256];
    int dn = snprintf(dict, sizeof dict,
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                      cols);
    size_t total = 10 + (size_t)dn + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, sizeof pre, f) != sizeof pre || fwrite(dict, 1, (size_t)dn, f) != (size_t)dn)
        return -1;
    for (size_t i = (size_t)dn; i + 1 < hlen; i++)
        fputc(' ', f);
    fputc('\n', f);
    unsigned char buf[8 * 512];
    size_t n = rows * cols, k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &x[i], 8);
        put_le64(buf + 8 * k, u);
        if (++k == 512 || i + 1 == n) {
            if (fwrite(buf, 8, k, f) != k)
                return -1;
            k = 0;
        }
    }
    return ferror(f) ? -1 : 0;
}

static int write_txt(FILE *f, const double *x, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            if (c)
                fputc(' ', f);
            fprintf(f, "%.17g", x[r * cols + c] == 0 ? 0.0 : x[r * cols + c]);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

struct grid {
    size_t img_h, img_w;   /* one sample */
    size_t rows, cols;     /* tiles */
    size_t height, width;  /* pixels */
};

static void grid_layout(struct grid *g, size_t n, size_t h, size_t w)
{
    g->img_h = h;
    g->img_w = w;
    size_t c = (size_t)ceil(sqrt((double)n));
    while (c > 1 && (c - 1) * (c - 1) >= n)
        c--;
    while (c * c < n)
        c++;
    g->cols = c;
    g->rows = (n + c - 1) / c;
    g->width = g->cols * (w + 1) + 1;
    g->height = g->rows * (h + 1) + 1;
}

/* The libpng part of write_png_grid (no local changes after setjmp). */
static int png_tiles(FILE *f, const char *path, const double *means, size_t n, double lo,
                     double hi, const struct grid *g, unsigned char *row)
{
    size_t nv = g->img_h * g->img_w;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        errorf("cannot write the PNG '%s': libpng initialisation failed", path);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        errorf("cannot write the PNG '%s': libpng error", path);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)g->width, (png_uint_32)g->height, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < g->height; y++) {
        memset(row, 128, g->width);
        size_t ty = y / (g->img_h + 1), iy = y % (g->img_h + 1);
        if (iy != 0) {
            for (size_t tx = 0; tx < g->cols; tx++) {
                size_t s = ty * g->cols + tx;
                if (s >= n)
                    break;
                const double *img = means + s * nv + (iy - 1) * g->img_w;
                unsigned char *px = row + tx * (g->img_w + 1) + 1;
                for (size_t x = 0; x < g->img_w; x++) {
                    double t = (img[x] - lo) / (hi - lo);
                    t = t < 0 ? 0 : t > 1 ? 1 : t;
                    px[x] = (unsigned char)lround(255.0 * t);
                }
            }
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/* Grey image of the means (n x N_v) tiled in the grid: 1-pixel borders of
 * level 128. Returns 0 or -1 after printing the error. */
static int write_png_grid(FILE *f, const char *path, const double *means, size_t n,
                          rbm_unit_kind kind, const struct grid *g)
{
    size_t nv = g->img_h * g->img_w;
    double lo = 0, hi = 1;
    if (kind == RBM_UNIT_ISING) {
        lo = -1;
        hi = 1;
    } else if (kind == RBM_UNIT_GAUSSIAN) {
        lo = INFINITY;
        hi = -INFINITY;
        for (size_t i = 0; i < n * nv; i++) {
            if (means[i] < lo)
                lo = means[i];
            if (means[i] > hi)
                hi = means[i];
        }
        if (!(hi > lo))
            hi = lo + 1;
    }
    unsigned char *row = malloc(g->width);
    if (!row) {
        errorf("out of memory for a %zu-pixel row", g->width);
        return -1;
    }
    int rc = png_tiles(f, path, means, n, lo, hi, g, row);
    free(row);
    return rc;
}

static int cmd_sample(int argc, char **argv)
{
    struct sample_opts o;
    int rc = parse_sample_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        print_sample_usage(stdout);
        return EXIT_OK;
    }
    enum sample_format fmt = FORMAT_PNG;
    if (o.out) {
        if (has_suffix(o.out, ".png"))
            fmt = FORMAT_PNG;
        else if (has_suffix(o.out, ".npy"))
            fmt = FORMAT_NPY;
        else if (has_suffix(o.out, ".txt"))
            fmt = FORMAT_TXT;
        else {
            errorf("unknown output type for --out '%s' (expected FILE.png, FILE.npy or "
                   "FILE.txt)",
                   o.out);
            return EXIT_USAGE;
        }
        if ((rc = check_output_path(o.out, "the samples")) != 0)
            return rc;
    }

    const double t0 = now_seconds();
    rbm_context *ctx = NULL;
    rbm_machine *m = NULL;
    rbm_dataset *data = NULL;
    rbm_sampler *s = NULL;
    double *v = NULL, *h = NULL, *mean = NULL;
    struct data_info di;
    memset(&di, 0, sizeof di);
    struct outfile of = {NULL, NULL, NULL};
    if (new_context(&ctx) != 0)
        return EXIT_RUNTIME;
    rbm_status st = RBM_OK;
    if ((rc = load_model(ctx, o.model, &m)) != 0)
        goto done;
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    rbm_unit_kind vk = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE);
    if (o.data && (rc = load_model_data(ctx, m, o.data, o.data_seed, &data, &di)) != 0)
        goto done;

    /* image shape: the data's, or a square */
    size_t ih = 0, iw = 0;
    if (data)
        rbm_dataset_image_shape(data, &ih, &iw);
    if (ih * iw != nv || ih == 0) {
        size_t r = (size_t)llround(sqrt((double)nv));
        while (r * r > nv)
            r--;
        while ((r + 1) * (r + 1) <= nv)
            r++;
        ih = iw = r * r == nv ? r : 0;
    }
    int image = ih > 0;
    if (!o.out) {
        o.out = image ? "rbm-samples.png" : "rbm-samples.npy";
        fmt = image ? FORMAT_PNG : FORMAT_NPY;
        if ((rc = check_output_path(o.out, "the samples")) != 0)
            goto done;
    }
    struct grid g;
    memset(&g, 0, sizeof g);
    if (fmt == FORMAT_PNG) {
        if (!image) {
            errorf("cannot write a PNG: the model's %zu visible units are not an image (not a "
                   "perfect square, and no image shape from --data); use FILE.npy or FILE.txt",
                   nv);
            rc = EXIT_USAGE;
            goto done;
        }
        grid_layout(&g, o.n, ih, iw);
        if (g.width > PNG_MAX_SIDE || g.height > PNG_MAX_SIDE) {
            errorf("a grid of %zu images of %zu x %zu pixels is %zu x %zu pixels, more than a "
                   "PNG may have (%d per side); use fewer chains",
                   o.n, ih, iw, g.height, g.width, PNG_MAX_SIDE);
            rc = EXIT_USAGE;
            goto done;
        }
    }

    rc = EXIT_RUNTIME;
    st = rbm_sampler_new(m, o.n, derive_seed(o.seed, 4), &s);
    if (st != RBM_OK) {
        lib_errorf(ctx, st, "cannot create %zu chains", o.n);
        goto done;
    }
    if (data && (st = rbm_sampler_init_from_data(s, data)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot start the chains from the data");
        goto done;
    }
    v = malloc(o.n * nv * sizeof *v);
    h = malloc(o.n * nh * sizeof *h);
    mean = malloc(o.n * nv * sizeof *mean);
    if (!v || !h || !mean) {
        errorf("out of memory for %zu chains of %zu + %zu units", o.n, nv, nh);
        goto done;
    }

    /* the steps, in chunks for the progress display (the same chains) */
    struct progress p;
    progress_init(&p, o.quiet);
    size_t chunk = o.steps / 100 ? o.steps / 100 : 1;
    const double ts = now_seconds();
    install_signal_handlers();
    for (size_t done_steps = 0; done_steps < o.steps;) {
        if (g_interrupted)
            break;
        size_t k = o.steps - done_steps < chunk ? o.steps - done_steps : chunk;
        st = rbm_sampler_run(s, k);
        if (st != RBM_OK) {
            progress_close(&p);
            restore_signal_handlers();
            lib_errorf(ctx, st, "Gibbs sampling failed");
            goto done;
        }
        done_steps += k;
        double now = now_seconds();
        if (p.mode == PROGRESS_TTY && (now - p.last_draw >= 0.1 || done_steps == o.steps)) {
            double el = now - ts, frac = (double)done_steps / (double)o.steps;
            char left[96], right[64], eta_s[32];
            fmt_duration(eta_s, sizeof eta_s, el / frac * (1 - frac));
            snprintf(left, sizeof left, "sampling step %zu/%zu ", done_steps, o.steps);
            snprintf(right, sizeof right, " ETA %5s", eta_s);
            progress_show(&p, left, frac, right);
            p.last_draw = now;
        }
    }
    restore_signal_handlers();
    progress_close(&p);
    if (g_interrupted) {
        int sig = (int)g_interrupted;
        if (!o.quiet)
            fprintf(stderr, "rbm: %s while sampling; nothing written\n",
                    sig == SIGINT ? "interrupted" : "terminated");
        rc = 128 + sig;
        goto done;
    }
    double sample_seconds = now_seconds() - ts;

    if ((st = rbm_sampler_get_visible(s, v, o.n * nv)) != RBM_OK ||
        (st = rbm_sampler_get_hidden(s, h, o.n * nh)) != RBM_OK ||
        (st = rbm_machine_visible_mean(m, o.n, h, o.n * nh, mean, o.n * nv)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot read the chains");
        goto done;
    }

    if (start_output(&of, o.out) != 0)
        goto done;
    int wrc;
    if (fmt == FORMAT_PNG)
        wrc = write_png_grid(of.f, o.out, mean, o.n, vk, &g);
    else if (fmt == FORMAT_NPY)
        wrc = write_npy(of.f, o.means ? mean : v, o.n, nv);
    else
        wrc = write_txt(of.f, o.means ? mean : v, o.n, nv);
    if (wrc != 0 && fmt != FORMAT_PNG)
        errorf("cannot write '%s': %s", o.out, strerror(errno ? errno : EIO));
    if (finish_output(&of, wrc == 0) != 0)
        goto done;

    double seconds = now_seconds() - t0;
    const char *fmt_name = fmt == FORMAT_PNG ? "png" : fmt == FORMAT_NPY ? "npy" : "txt";
    const char *values = fmt == FORMAT_PNG || o.means ? "means" : "states";
    if (o.json) {
        FILE *f = stdout;
        int first = 1;
        json_str(f, &first, "command", "sample");
        json_str(f, &first, "version", rbm_version_string());
        json_model(f, &first, o.model, m);
        json_size(f, &first, "n", o.n);
        json_size(f, &first, "steps", o.steps);
        json_u64(f, &first, "seed", o.seed);
        json_str(f, &first, "init", data ? "data" : "random");
        json_key(f, &first, "data");
        if (data)
            json_string(f, o.data);
        else
            fputs("null", f);
        json_str(f, &first, "out", o.out);
        json_str(f, &first, "format", fmt_name);
        json_str(f, &first, "values", values);
        if (fmt == FORMAT_PNG) {
            json_size(f, &first, "image_height", g.img_h);
            json_size(f, &first, "image_width", g.img_w);
            json_size(f, &first, "grid_rows", g.rows);
            json_size(f, &first, "grid_cols", g.cols);
            json_size(f, &first, "png_height", g.height);
            json_size(f, &first, "png_width", g.width);
        } else {
            json_key(f, &first, "shape");
            fprintf(f, "[%zu, %zu]", o.n, nv);
        }
        json_real(f, &first, "sampling_seconds", sample_seconds);
        json_real(f, &first, "seconds", seconds);
        fputs("\n}\n", f);
    } else {
        print_model_line(o.model, m);
        printf("chains      %zu, %zu Gibbs step%s from %s (seed %llu)\n", o.n, o.steps,
               o.steps == 1 ? "" : "s", data ? "data rows" : "random states",
               (unsigned long long)o.seed);
        if (data)
            print_data_line(o.data, data_source_of(o.data), vk, &di);
        if (fmt == FORMAT_PNG)
            printf("output      %s: %zu x %zu grid of %zu x %zu images (%zu x %zu pixels, grey "
                   "levels from E[v|h])\n",
                   o.out, g.rows, g.cols, g.img_h, g.img_w, g.height, g.width);
        else
            printf("output      %s: %zu x %zu %s (%s)\n", o.out, o.n, nv,
                   fmt == FORMAT_NPY ? "float64 NPY" : "text", values);
        print_time_line(seconds);
    }
    if (flush_stdout() != 0)
        goto done;
    rc = EXIT_OK;
done:
    free(v);
    free(h);
    free(mean);
    rbm_sampler_free(s);
    rbm_dataset_free(data);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------
 * rbm spectrum
 * ------------------------------------------------------------------------ */

struct spectrum_opts {
    const char *model;
    const char *data;
    size_t modes;
    uint64_t data_seed;
    int json, quiet, help;
};

static void print_spectrum_usage(FILE *f)
{
    fputs("usage: rbm spectrum MODEL [options]\n"
          "\n"
          "The singular value decomposition of a saved model's W (docs/spectral.md): the\n"
          "singular values, the Marchenko-Pastur edge of the noise bulk with the noise\n"
          "sigma estimated from the bulk, the modes outside the bulk, and the overlaps\n"
          "|u_a . e_b| of the first modes with the data's principal directions (and the\n"
          "covariance eigenvalues).\n"
          "\n"
          "  --data synthetic|fashion-mnist|FILE   the data for the PCA, prepared for the\n"
          "                        model's visible units as 'rbm train' does (default\n"
          "                        synthetic: the built-in data of the model's visible\n"
          "                        kind and size, generated with --data-seed)\n"
          "  --data-seed S         the --seed of 'rbm train' for synthetic data (default 1)\n"
          "  --modes K             modes compared with the top K principal directions\n"
          "                        (default 5, at most min(N_v, N_h))\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "  --quiet               nothing on stderr but errors\n"
          "  -h, --help            show this help\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

static int cmd_spectrum(int argc, char **argv)
{
    struct spectrum_opts o;
    memset(&o, 0, sizeof o);
    o.data = "synthetic";
    o.modes = PCA_MODES;
    o.data_seed = 1;
    int modes_set = 0;
    const struct option_spec opts[] = {
        {"--json", .type = OPT_FLAG, .dst = &o.json},
        {"--quiet", .alias = "-q", .type = OPT_FLAG, .dst = &o.quiet},
        {"--help", .alias = "-h", .type = OPT_FLAG, .dst = &o.help},
        {"--data", .type = OPT_STRING, .dst = &o.data, .expected = DATA_EXPECTED},
        {"--data-seed", .type = OPT_U64, .dst = &o.data_seed},
        {"--modes", .type = OPT_SIZE, .dst = &o.modes, .min = 1, .set = &modes_set},
    };
    for (int i = 0; i < argc; i++) {
        int r = take_model_option(argc, argv, &i, "spectrum", &o.model, opts, ARRAY_LEN(opts));
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0) {
            errorf("unknown option '%s' for 'rbm spectrum' (see 'rbm help spectrum')", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (o.help) {
        print_spectrum_usage(stdout);
        return EXIT_OK;
    }
    if (need_model("spectrum", o.model) != 0)
        return EXIT_USAGE;
    const double t0 = now_seconds();
    rbm_context *ctx = NULL;
    rbm_machine *m = NULL;
    rbm_dataset *data = NULL;
    struct data_info di;
    struct spectrum_info si;
    memset(&si, 0, sizeof si);
    char note[1024];
    int rc;
    if (new_context(&ctx) != 0)
        return EXIT_RUNTIME;
    if ((rc = load_model(ctx, o.model, &m)) != 0)
        goto done;
    size_t r = rbm_machine_n_visible(m) < rbm_machine_n_hidden(m) ? rbm_machine_n_visible(m)
                                                                   : rbm_machine_n_hidden(m);
    if (o.modes > r) {
        if (modes_set) {
            errorf("--modes %zu is more than the model's %zu modes (min(N_v, N_h))", o.modes, r);
            rc = EXIT_USAGE;
            goto done;
        }
        o.modes = r;
    }
    if ((rc = load_model_data(ctx, m, o.data, o.data_seed, &data, &di)) != 0)
        goto done;
    if (compute_spectrum(ctx, m, data, o.modes, &si, NULL, note, sizeof note) != 0) {
        errorf("%s", note);
        rc = EXIT_RUNTIME;
        goto done;
    }
    double kappa = (double)rbm_machine_n_hidden(m) / (double)rbm_machine_n_visible(m);
    double seconds = now_seconds() - t0;
    if (o.json) {
        FILE *f = stdout;
        int first = 1;
        json_str(f, &first, "command", "spectrum");
        json_str(f, &first, "version", rbm_version_string());
        json_model(f, &first, o.model, m);
        json_str(f, &first, "data", o.data);
        json_size(f, &first, "n_rows", di.rows);
        json_size(f, &first, "rank", si.r);
        json_real(f, &first, "kappa", kappa);
        json_key(f, &first, "singular_values");
        json_numbers(f, si.w, si.r);
        json_real(f, &first, "bulk_edge", si.edge);
        json_real(f, &first, "sigma", si.sigma);
        json_size(f, &first, "n_modes_outside_bulk", si.n_outside);
        json_size(f, &first, "pca_modes", si.k);
        json_key(f, &first, "pca_overlaps");
        fputc('[', f);
        for (size_t a = 0; a < si.k; a++) {
            fputs(a ? ", [" : "[", f);
            for (size_t b = 0; b < si.k; b++) {
                if (b)
                    fputs(", ", f);
                json_number(f, si.overlaps[a * si.k + b]);
            }
            fputc(']', f);
        }
        fputc(']', f);
        json_key(f, &first, "pca_eigenvalues");
        json_numbers(f, si.eig, si.k);
        json_real(f, &first, "seconds", seconds);
        fputs("\n}\n", f);
    } else {
        print_model_line(o.model, m);
        print_data_line(o.data, data_source_of(o.data),
                        rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), &di);
        printf("singular    %zu values (kappa = N_h/N_v = %.3g), largest first:\n", si.r, kappa);
        for (size_t i = 0; i < si.r; i++)
            printf("%s%8.4f%s", i % 8 == 0 ? "           " : "", si.w[i],
                   i % 8 == 7 || i + 1 == si.r ? "\n" : "");
        printf("bulk        Marchenko-Pastur edge %.4f, noise sigma %.4f\n", si.edge, si.sigma);
        printf("outside     %zu mode%s outside the bulk", si.n_outside, si.n_outside == 1 ? "" : "s");
        if (si.n_outside > 0) {
            printf(":");
            for (size_t i = 0; i < si.n_outside && i < 16; i++)
                printf(" %.4g", si.w[i]);
            if (si.n_outside > 16)
                printf(" ...");
        }
        printf("\n");
        if (si.k > 0) {
            print_pca_lines(&si);
            printf("            |u_a . e_b| (rows: modes a, columns: principal directions b):\n");
            for (size_t a = 0; a < si.k; a++) {
                printf("            %3zu ", a + 1);
                for (size_t b = 0; b < si.k; b++)
                    printf(" %5.3f", si.overlaps[a * si.k + b]);
                printf("\n");
            }
        }
        print_time_line(seconds);
    }
    if (flush_stdout() != 0) {
        rc = EXIT_RUNTIME;
        goto done;
    }
    rc = EXIT_OK;
done:
    spectrum_info_free(&si);
    rbm_dataset_free(data);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------
 * rbm analyze
 * ------------------------------------------------------------------------ */

#define ANALYZE_DEFAULT_STARTS 100

static void print_analyze_usage(FILE *f)
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
          "  --starts N            N random starts plus N data rows (default 100)\n"
          "  --order mf|tap2|tap3  order of the expansion of the free energy (default\n"
          "                        tap2; 'tap' is tap2, 'mf' naive mean field)\n"
          "  --modes K             projections on the first K modes (default 5)\n"
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

static int cmd_analyze(int argc, char **argv)
{
    const char *model = NULL, *data_name = "synthetic";
    uint64_t data_seed = 1, seed = 1;
    int json = 0, quiet = 0, help = 0, no_data = 0, modes_set = 0;
    size_t starts = ANALYZE_DEFAULT_STARTS, modes = 5;
    double damping = NAN; /* automatic */
    rbm_mf_method method = RBM_MF_TAP2;
    const struct option_spec opts[] = {
        {"--json", .type = OPT_FLAG, .dst = &json},
        {"--quiet", .alias = "-q", .type = OPT_FLAG, .dst = &quiet},
        {"--help", .alias = "-h", .type = OPT_FLAG, .dst = &help},
        {"--no-data", .type = OPT_FLAG, .dst = &no_data},
        {"--data", .type = OPT_STRING, .dst = &data_name, .expected = DATA_EXPECTED},
        {"--data-seed", .type = OPT_U64, .dst = &data_seed},
        {"--starts", .type = OPT_SIZE, .dst = &starts, .min = 1, .max = 1000000},
        {"--modes", .type = OPT_SIZE, .dst = &modes, .min = 1, .set = &modes_set},
        {"--seed", .type = OPT_U64, .dst = &seed},
        {"--damping", .type = OPT_FRACTION, .dst = &damping},
    };
    for (int i = 0; i < argc; i++) {
        int r = take_model_option(argc, argv, &i, "analyze", &model, opts, ARRAY_LEN(opts));
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        const char *v = NULL;
        if ((r = take_value(argc, argv, &i, "--order", &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            if (rbm_mf_method_parse(v, &method) != RBM_OK) {
                errorf("unknown order '%s' for --order (expected mf, tap, tap2 or tap3)", v);
                return EXIT_USAGE;
            }
        } else {
            errorf("unknown option '%s' for 'rbm analyze' (see 'rbm help analyze')", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (help) {
        print_analyze_usage(stdout);
        return EXIT_OK;
    }
    if (need_model("analyze", model) != 0)
        return EXIT_USAGE;
    const double t0 = now_seconds();
    rbm_context *ctx = NULL;
    rbm_machine *m = NULL;
    rbm_dataset *data = NULL;
    rbm_svd *svd = NULL;
    struct data_info di;
    memset(&di, 0, sizeof di);
    struct spectrum_info si;
    struct fp_info fi;
    struct phase_info pi;
    memset(&si, 0, sizeof si);
    memset(&fi, 0, sizeof fi);
    char note[1024];
    int rc;
    if (new_context(&ctx) != 0)
        return EXIT_RUNTIME;
    if ((rc = load_model(ctx, model, &m)) != 0)
        goto done;
    if (method != RBM_MF_NAIVE &&
        rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_GAUSSIAN &&
        rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN) == RBM_UNIT_GAUSSIAN) {
        errorf("--order %s needs a bernoulli or ising layer, and '%s' is gauss-gauss (use --order "
               "mf: naive mean field is exact there)",
               rbm_mf_method_name(method), model);
        rc = EXIT_USAGE;
        goto done;
    }
    if (!no_data && (rc = load_model_data(ctx, m, data_name, data_seed, &data, &di)) != 0)
        goto done;
    rc = EXIT_RUNTIME;
    if (compute_spectrum(ctx, m, NULL, 0, &si, &svd, note, sizeof note) != 0) {
        errorf("%s", note);
        goto done;
    }
    if (modes > si.r) {
        if (modes_set) {
            errorf("--modes %zu is more than the model's %zu modes (min(N_v, N_h))", modes, si.r);
            rc = EXIT_USAGE;
            goto done;
        }
        modes = si.r;
    }
    size_t n_data = data ? (starts < di.rows ? starts : di.rows) : 0;
    if (!quiet) {
        fprintf(stderr, "rbm: %s fixed points from %zu random starts%s", rbm_mf_method_name(method),
                starts, n_data ? " and " : "\n");
        if (n_data)
            fprintf(stderr, "%zu data rows\n", n_data);
        fflush(stderr);
    }
    if (find_fixed_points_auto(ctx, m, method, damping, data, starts, n_data, derive_seed(seed, 5),
                               svd, modes, &fi, &damping, note, sizeof note) != 0) {
        errorf("%s", note);
        goto done;
    }
    machine_phase_info(ctx, m, &pi);
    double seconds = now_seconds() - t0;

    if (json) {
        FILE *f = stdout;
        int first = 1;
        json_str(f, &first, "command", "analyze");
        json_str(f, &first, "version", rbm_version_string());
        json_model(f, &first, model, m);
        json_key(f, &first, "data");
        if (data)
            json_string(f, data_name);
        else
            fputs("null", f);
        json_str(f, &first, "order", rbm_mf_method_name(method));
        json_real(f, &first, "damping", damping);
        json_size(f, &first, "n_starts", fi.n_random + fi.n_data);
        json_size(f, &first, "n_random_starts", fi.n_random);
        json_size(f, &first, "n_data_starts", fi.n_data);
        json_size(f, &first, "n_failed", fi.n_failed);
        json_size(f, &first, "n_fixed_points", fi.count);
        json_size(f, &first, "n_stable", fi.n_stable);
        json_key(f, &first, "fixed_points");
        fputc('[', f);
        for (size_t k = 0; k < fi.count; k++) {
            fputs(k ? ",\n    {" : "\n    {", f);
            fputs("\"gamma\": ", f);
            json_number(f, fi.gamma[k]);
            fprintf(f, ", \"stable\": %s, \"multiplicity\": %zu, \"min_eigenvalue\": ",
                    fi.stable[k] ? "true" : "false", fi.mult[k]);
            json_number(f, fi.min_eig[k]);
            fputs(", \"projections\": [", f);
            for (size_t a = 0; a < fi.kp; a++) {
                if (a)
                    fputs(", ", f);
                json_number(f, fi.proj[k * fi.kp + a]);
            }
            fputs("]}", f);
        }
        fputs(fi.count ? "\n  ]" : "]", f);
        json_real(f, &first, "log_z_tap", fi.log_z);
        json_real(f, &first, "log_z_tap_best", fi.best);
        json_size(f, &first, "log_z_tap_states", fi.n_used);
        json_key(f, &first, "singular_values");
        json_numbers(f, si.w, si.r < modes ? si.r : modes);
        json_real(f, &first, "bulk_edge", si.edge);
        json_size(f, &first, "n_modes_outside_bulk", si.n_outside);
        json_phase(f, &first, &pi);
        json_u64(f, &first, "seed", seed);
        json_real(f, &first, "seconds_fixed_points", fi.seconds);
        json_real(f, &first, "seconds", seconds);
        fputs("\n}\n", f);
    } else {
        print_model_line(model, m);
        if (data)
            print_data_line(data_name, data_source_of(data_name),
                            rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), &di);
        printf("starts      %zu random%s", fi.n_random, fi.n_data ? ", " : "");
        if (fi.n_data)
            printf("%zu data rows", fi.n_data);
        printf(" (seed %llu, damping %g); %zu did not converge\n", (unsigned long long)seed, damping,
               fi.n_failed);
        printf("fixed pts   %zu distinct %s fixed point%s, %zu stable\n", fi.count,
               rbm_mf_method_name(method), fi.count == 1 ? "" : "s", fi.n_stable);
        if (fi.count > 0) {
            printf("            %4s %14s %6s %7s  projections u_a . m^v on modes 1..%zu\n", "#",
                   "Gamma", "starts", "stable", fi.kp);
            for (size_t k = 0; k < fi.count && k < 30; k++) {
                printf("            %4zu %14.6f %6zu %7s ", k + 1, fi.gamma[k], fi.mult[k],
                       fi.stable[k] ? "yes" : "no");
                for (size_t a = 0; a < fi.kp; a++)
                    printf(" %7.3f", fi.proj[k * fi.kp + a]);
                printf("\n");
            }
            if (fi.count > 30)
                printf("            ... (%zu more; --json lists them all)\n", fi.count - 30);
            printf("log Z       TAP %.6f (log-sum-exp of -Gamma over %zu state%s); best single "
                   "state %.6f\n",
                   fi.log_z, fi.n_used, fi.n_used == 1 ? "" : "s", fi.best);
        } else {
            printf("log Z       TAP - (no start converged)\n");
        }
        printf("spectrum    bulk edge %.4f, %zu mode%s outside; w =", si.edge, si.n_outside,
               si.n_outside == 1 ? "" : "s");
        for (size_t i = 0; i < si.r && i < modes; i++)
            printf(" %.4g", si.w[i]);
        printf("%s\n", si.r > modes ? " ..." : "");
        print_phase_line(&pi, si.n_outside);
        print_time_line(seconds);
    }
    if (flush_stdout() != 0)
        goto done;
    rc = EXIT_OK;
done:
    fp_info_free(&fi);
    spectrum_info_free(&si);
    rbm_svd_free(svd);
    rbm_dataset_free(data);
    rbm_machine_free(m);
    rbm_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------
 * rbm phase
 * ------------------------------------------------------------------------ */

static void print_phase_usage(FILE *f)
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

static int cmd_phase(int argc, char **argv)
{
    double kappa = 1, sigma = 1, temp = 0.5, sparsity = 0.5;
    double w[RBM_ENSEMBLE_MAX_MODES];
    size_t k = 0;
    int json = 0, help = 0, sparsity_set = 0;
    rbm_component_law law = RBM_LAW_RADEMACHER;
    int quiet = 0; /* nothing goes to stderr anyway */
    const struct option_spec opts[] = {
        {"--json", .type = OPT_FLAG, .dst = &json},
        {"--help", .alias = "-h", .type = OPT_FLAG, .dst = &help},
        {"--quiet", .alias = "-q", .type = OPT_FLAG, .dst = &quiet},
        {"--kappa", .type = OPT_POSITIVE, .dst = &kappa},
        {"--sigma", .type = OPT_REAL, .dst = &sigma},
        {"--temperature", .type = OPT_POSITIVE, .dst = &temp},
        {"--sparsity", .type = OPT_FRACTION, .dst = &sparsity, .set = &sparsity_set},
    };
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *v = NULL;
        int r;
        if (arg[0] != '-' || arg[1] == '\0') {
            errorf("unexpected argument '%s' for 'rbm phase' (see 'rbm help phase')", arg);
            return EXIT_USAGE;
        }
        if ((r = take_option(argc, argv, &i, opts, ARRAY_LEN(opts), NULL)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
        } else if ((r = take_value(argc, argv, &i, "--w", &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            if (k == RBM_ENSEMBLE_MAX_MODES) {
                errorf("too many --w values (at most %d modes)", RBM_ENSEMBLE_MAX_MODES);
                return EXIT_USAGE;
            }
            if (parse_real("--w", v, 0, &w[k]) != 0)
                return EXIT_USAGE;
            k++;
        } else if ((r = take_value(argc, argv, &i, "--law", &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            if (rbm_component_law_parse(v, &law) != RBM_OK) {
                errorf("unknown law '%s' for --law (expected rademacher, gaussian, laplace or "
                       "ternary)",
                       v);
                return EXIT_USAGE;
            }
        } else {
            errorf("unknown option '%s' for 'rbm phase' (see 'rbm help phase')", arg);
            return EXIT_USAGE;
        }
    }
    if (help) {
        print_phase_usage(stdout);
        return EXIT_OK;
    }
    if (sparsity_set && law != RBM_LAW_TERNARY) {
        errorf("--sparsity applies to --law ternary only");
        return EXIT_USAGE;
    }
    if (k == 0)
        w[k++] = 1.5;

    const double t0 = now_seconds();
    rbm_context *ctx = NULL;
    rbm_ensemble *e = NULL;
    int rc = EXIT_RUNTIME;
    if (new_context(&ctx) != 0)
        return EXIT_RUNTIME;
    rbm_status st = RBM_OK;
    if ((st = rbm_ensemble_new(ctx, &e)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot create the ensemble");
        goto done;
    }
    if ((st = rbm_ensemble_set_real(e, RBM_ENSEMBLE_KAPPA, kappa)) != RBM_OK ||
        (st = rbm_ensemble_set_real(e, RBM_ENSEMBLE_SIGMA, sigma)) != RBM_OK ||
        (st = rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, temp)) != RBM_OK ||
        (st = rbm_ensemble_set_modes(e, w, k)) != RBM_OK ||
        (st = rbm_ensemble_set_law(e, RBM_LAYER_VISIBLE, law, sparsity)) != RBM_OK ||
        (st = rbm_ensemble_set_law(e, RBM_LAYER_HIDDEN, law, sparsity)) != RBM_OK) {
        lib_errorf(ctx, st, "invalid ensemble");
        rc = st == RBM_ERR_INVALID_ARGUMENT || st == RBM_ERR_NOT_FINITE ? EXIT_USAGE : EXIT_RUNTIME;
        goto done;
    }
    rbm_phase ph = RBM_PHASE_PARAMAGNETIC;
    double mixing = 0;
    int comp = 0;
    st = rbm_ensemble_phase(e, &ph, &mixing, &comp);
    int converged = st == RBM_OK;
    if (st != RBM_OK && st != RBM_ERR_NOT_CONVERGED) {
        lib_errorf(ctx, st, "cannot solve the RS equations");
        goto done;
    }
    if (!converged) {
        fprintf(stderr, "rbm: warning: the RS iteration did not converge (too close to a "
                        "transition line?); the phase is read from the last iterate\n");
        fflush(stderr);
    }
    double m[RBM_ENSEMBLE_MAX_MODES], mbar[RBM_ENSEMBLE_MAX_MODES], q = NAN, qbar = NAN, fe = NAN;
    if ((st = rbm_ensemble_solution(e, m, k, mbar, k, &q, &qbar, &fe)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot read the RS solution");
        goto done;
    }
    double w_c = NAN, q_sg = NAN, qbar_sg = NAN;
    if ((st = rbm_phase_line_fsg(kappa, sigma, temp, &w_c, &q_sg, &qbar_sg)) != RBM_OK) {
        lib_errorf(ctx, st, "cannot compute the F-SG line");
        goto done;
    }
    double crit = NAN;
    rbm_ensemble_kurtosis_criterion(e, &crit);
    double wmax = 0;
    for (size_t i = 0; i < k; i++)
        wmax = w[i] > wmax ? w[i] : wmax;
    double seconds = now_seconds() - t0;
    const char *lawname = rbm_component_law_name(law);

    if (json) {
        FILE *f = stdout;
        int first = 1;
        json_str(f, &first, "command", "phase");
        json_str(f, &first, "version", rbm_version_string());
        json_real(f, &first, "kappa", kappa);
        json_real(f, &first, "sigma", sigma);
        json_real(f, &first, "temperature", temp);
        json_key(f, &first, "w");
        json_numbers(f, w, k);
        json_str(f, &first, "law", lawname ? lawname : "?");
        if (law == RBM_LAW_TERNARY) {
            json_real(f, &first, "sparsity", sparsity);
        }
        json_str(f, &first, "phase", rbm_phase_name(ph));
        json_key(f, &first, "m");
        json_numbers(f, m, k);
        json_key(f, &first, "mbar");
        json_numbers(f, mbar, k);
        json_real(f, &first, "q", q);
        json_real(f, &first, "qbar", qbar);
        json_real(f, &first, "free_energy", fe);
        json_real(f, &first, "w_c", w_c);
        json_real(f, &first, "q_spin_glass", q_sg);
        json_real(f, &first, "qbar_spin_glass", qbar_sg);
        json_real(f, &first, "t_c_spin_glass", sigma);
        json_real(f, &first, "mixing", mixing);
        json_key(f, &first, "compositional");
        fputs(comp ? "true" : "false", f);
        json_real(f, &first, "kurtosis_criterion", crit);
        json_key(f, &first, "converged");
        fputs(converged ? "true" : "false", f);
        json_size(f, &first, "iterations", rbm_ensemble_iterations(e));
        json_real(f, &first, "seconds", seconds);
        fputs("\n}\n", f);
    } else {
        printf("ensemble    kappa %g, sigma %g, T %g, %zu mode%s w =", kappa, sigma, temp, k,
               k == 1 ? "" : "s");
        for (size_t i = 0; i < k; i++)
            printf(" %g", w[i]);
        printf(", %s components", lawname ? lawname : "?");
        if (law == RBM_LAW_TERNARY)
            printf(" (p = %g)", sparsity);
        printf("\n");
        printf("phase       %s%s\n", rbm_phase_name(ph),
               converged ? "" : " (from the last iterate: not converged)");
        printf("m           ");
        for (size_t i = 0; i < k; i++)
            printf("%s%.6f", i ? " " : "", m[i]);
        printf("   mbar ");
        for (size_t i = 0; i < k; i++)
            printf("%s%.6f", i ? " " : "", mbar[i]);
        printf("\n");
        printf("q           %.6f   qbar %.6f   free energy per sqrt(N_v N_h) %.6f\n", q, qbar, fe);
        if (ph == RBM_PHASE_FERROMAGNETIC && k > 1)
            printf("            %s (mixing %.3f; kurtosis criterion %.3g)\n",
                   comp ? "compositional: the magnetisation is shared by several modes"
                        : "pure: one mode carries the magnetisation",
                   mixing, crit);
        printf("lines       at T = %g: ferromagnetic for w_1 > w_c = %.6f (%s line)\n", temp, w_c,
               temp >= sigma ? "P-F" : "F-SG");
        printf("            spin glass below T = sigma = %g where w_1 < w_c; here w_1 = %g\n",
               sigma, wmax);
        print_time_line(seconds);
    }
    if (flush_stdout() != 0)
        goto done;
    rc = EXIT_OK;
done:
    rbm_ensemble_free(e);
    rbm_context_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------ */

static int cmd_version(void)
{
    printf("rbm %s (librbm %s)\n", RBM_VERSION_STRING, rbm_version_string());
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

static int cmd_help(int argc, char **argv)
{
    if (argc == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    if (argc > 1) {
        errorf("'rbm help' takes at most one command name");
        return EXIT_USAGE;
    }
    if (strcmp(argv[0], "train") == 0)
        print_train_usage(stdout);
    else if (strcmp(argv[0], "eval") == 0)
        print_eval_usage(stdout);
    else if (strcmp(argv[0], "sample") == 0)
        print_sample_usage(stdout);
    else if (strcmp(argv[0], "spectrum") == 0)
        print_spectrum_usage(stdout);
    else if (strcmp(argv[0], "analyze") == 0)
        print_analyze_usage(stdout);
    else if (strcmp(argv[0], "phase") == 0)
        print_phase_usage(stdout);
    else if (strcmp(argv[0], "help") == 0)
        print_usage(stdout);
    else {
        errorf("unknown command '%s' (see 'rbm help')", argv[0]);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        errorf("no command given (try 'rbm train', or 'rbm help')");
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        if (argc != 2) {
            errorf("'%s' takes no arguments", cmd);
            return EXIT_USAGE;
        }
        return cmd_version();
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return cmd_help(argc - 2, argv + 2);
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 2, argv + 2);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 2, argv + 2);
    if (strcmp(cmd, "sample") == 0)
        return cmd_sample(argc - 2, argv + 2);
    if (strcmp(cmd, "spectrum") == 0)
        return cmd_spectrum(argc - 2, argv + 2);
    if (strcmp(cmd, "analyze") == 0)
        return cmd_analyze(argc - 2, argv + 2);
    if (strcmp(cmd, "phase") == 0)
        return cmd_phase(argc - 2, argv + 2);
    if (cmd[0] == '-')
        errorf("unknown option '%s' (see 'rbm help')", cmd);
    else
        errorf("unknown command '%s' (see 'rbm help')", cmd);
    return EXIT_USAGE;
}
