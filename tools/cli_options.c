/* cli_options.c — the command line of every command: one table-driven
 * parser (struct cli_option, cli_parse_args), the parsers of whole numbers,
 * reals and enumerated values with their error messages, the names of the
 * enumerations, and the seeds derived from --seed. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ---- */

/* Parse a decimal unsigned integer: digits only (no sign, no blanks, no
 * trailing characters), no overflow, at least min, at most max. */
static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (*s == '\0') {
        cli_errorf("empty value for %s (expected a whole number)", opt);
        return -1;
    }
    if (*s == '-') {
        cli_errorf("invalid value '%s' for %s: must not be negative", s, opt);
        return -1;
    }
    if (*s < '0' || *s > '9') {
        cli_errorf("invalid value '%s' for %s: not a whole number", s, opt);
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        cli_errorf("invalid value '%s' for %s: not a whole number", s, opt);
        return -1;
    }
    if (errno == ERANGE || v > max) {
        cli_errorf("invalid value '%s' for %s: too large (at most %llu)", s, opt,
                   (unsigned long long)max);
        return -1;
    }
    if (v < min) {
        cli_errorf("invalid value '%s' for %s: must be at least %llu", s, opt,
                   (unsigned long long)min);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* A byte count: a whole number with an optional binary suffix K, M, G or T
 * (either case; 1K = 1024). */
static int parse_bytes(const char *opt, const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    unsigned shift = 0;
    if (n > 1) {
        switch (s[n - 1]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: break;
        }
    }
    char digits[32];
    size_t nd = shift ? n - 1 : n;
    if (nd >= sizeof digits) {
        cli_errorf("invalid value '%s' for %s: too large", s, opt);
        return -1;
    }
    memcpy(digits, s, nd);
    digits[nd] = '\0';
    uint64_t v = 0;
    if (parse_u64(opt, digits, 0, UINT64_MAX >> shift, &v) != 0)
        return -1;
    *out = v << shift;
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

int cli_parse_real(const char *opt, const char *s, int positive, double *out)
{
    if (*s == '\0') {
        cli_errorf("empty value for %s (expected a number)", opt);
        return -1;
    }
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v') {
        cli_errorf("invalid value '%s' for %s: not a number", s, opt);
        return -1;
    }
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') {
        cli_errorf("invalid value '%s' for %s: not a number", s, opt);
        return -1;
    }
    if (!isfinite(v)) {
        cli_errorf("invalid value '%s' for %s: must be a finite number", s, opt);
        return -1;
    }
    if (positive && !(v > 0)) {
        cli_errorf("invalid value '%s' for %s: must be greater than 0", s, opt);
        return -1;
    }
    if (!positive && v < 0) {
        cli_errorf("invalid value '%s' for %s: must not be negative", s, opt);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- enumerations: names on the command line and in the output ---- */

struct enum_name {
    const char *name;
    int value;
};

static const struct enum_name UNIT_NAMES[] = {
    {"bernoulli", RBM_UNIT_BERNOULLI},
    {"ising", RBM_UNIT_ISING},
    {"gaussian", RBM_UNIT_GAUSSIAN},
    {"potts", RBM_UNIT_POTTS},
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

static int find_name(const struct enum_name *t, size_t n, const char *s, int *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].value;
            return 0;
        }
    return -1;
}

static const char *name_of(const struct enum_name *t, size_t n, int value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return "?";
}

static int parse_unit(const char *s, void *dst)
{
    int v;
    if (find_name(UNIT_NAMES, ARRAY_LEN(UNIT_NAMES), s, &v) != 0)
        return -1;
    *(rbm_unit_kind *)dst = (rbm_unit_kind)v;
    return 0;
}

static int parse_estimator(const char *s, void *dst)
{
    return rbm_estimator_kind_parse(s, (rbm_estimator_kind *)dst) == RBM_OK ? 0 : -1;
}

static int parse_optimizer(const char *s, void *dst)
{
    int v;
    if (find_name(OPTIMIZER_NAMES, ARRAY_LEN(OPTIMIZER_NAMES), s, &v) != 0)
        return -1;
    *(rbm_optimizer *)dst = (rbm_optimizer)v;
    return 0;
}

static int parse_precision(const char *s, void *dst)
{
    int v;
    if (find_name(PRECISION_NAMES, ARRAY_LEN(PRECISION_NAMES), s, &v) != 0)
        return -1;
    *(rbm_precision *)dst = (rbm_precision)v;
    return 0;
}

const struct cli_choice CLI_UNIT_CHOICE = {"unit kind", "bernoulli, ising, gaussian or potts",
                                           parse_unit};
const struct cli_choice CLI_ESTIMATOR_CHOICE = {
    "estimator", "cd, pcd, exact, mf, tap, tap2, tap3 or pt", parse_estimator};
const struct cli_choice CLI_OPTIMIZER_CHOICE = {"optimizer", "sgd, momentum or adam",
                                                parse_optimizer};
static int parse_csv_header(const char *s, void *dst)
{
    static const struct enum_name names[] = {
        {"auto", RBM_CSV_HEADER_AUTO},
        {"yes", RBM_CSV_HEADER_YES},
        {"no", RBM_CSV_HEADER_NO},
    };
    int v;
    if (find_name(names, ARRAY_LEN(names), s, &v) != 0)
        return -1;
    *(uint32_t *)dst = (uint32_t)v;
    return 0;
}

const struct cli_choice CLI_CSV_HEADER_CHOICE = {"CSV header mode", "auto, yes or no",
                                                 parse_csv_header};
const struct cli_choice CLI_PRECISION_CHOICE = {"precision", "float32 or float64",
                                                parse_precision};

const char *cli_unit_name(rbm_unit_kind k)
{
    return name_of(UNIT_NAMES, ARRAY_LEN(UNIT_NAMES), (int)k);
}

const char *cli_estimator_name(rbm_estimator_kind k)
{
    const char *name = rbm_estimator_kind_name(k);
    return name ? name : "?";
}

const char *cli_optimizer_name(rbm_optimizer o)
{
    return name_of(OPTIMIZER_NAMES, ARRAY_LEN(OPTIMIZER_NAMES), (int)o);
}

const char *cli_precision_name(rbm_precision p)
{
    return p == RBM_PRECISION_FLOAT32 ? "float32" : "float64";
}

void cli_fmt_estimator(char *buf, size_t n, rbm_estimator_kind kind, size_t k)
{
    if (kind == RBM_ESTIMATOR_EXACT) {
        snprintf(buf, n, "exact");
        return;
    }
    char up[16];
    const char *name = cli_estimator_name(kind);
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof up; i++)
        up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
    up[i] = '\0';
    snprintf(buf, n, "%s-%zu", up, k);
}

/* ---- the option table ---- */

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
        cli_errorf("option '%s' requires a value", name);
        return -1;
    }
    const char *next = argv[*i + 1];
    if (next[0] == '-' && next[1] == '-' && next[2] != '\0') {
        cli_errorf("option '%s' requires a value (got option '%s')", name, next);
        return -1;
    }
    *value = next;
    *i += 1;
    return 1;
}

static int store_real(const struct cli_option *s, const char *v)
{
    if (s->type == OPT_REAL_LIST) {
        if (*s->count == s->max) {
            cli_errorf("too many %s values (at most %zu %s)", s->name, s->max, s->expected);
            return -1;
        }
        if (cli_parse_real(s->name, v, 0, (double *)s->dst + *s->count) != 0)
            return -1;
        *s->count += 1;
        return 0;
    }
    if (cli_parse_real(s->name, v, s->type != OPT_REAL, (double *)s->dst) != 0)
        return -1;
    if (s->type == OPT_FRACTION && *(double *)s->dst > 1) {
        cli_errorf("invalid value '%s' for %s: must be in (0, 1]", v, s->name);
        return -1;
    }
    return 0;
}

static int store_option(const struct cli_option *s, const char *v)
{
    switch (s->type) {
    case OPT_FLAG:
        break;
    case OPT_STRING:
        if (*v == '\0') {
            cli_errorf("empty value for %s (%s)", s->name, s->expected);
            return -1;
        }
        *(const char **)s->dst = v;
        return 0;
    case OPT_STRING_LIST:
        if (*v == '\0') {
            cli_errorf("empty value for %s (expected a file)", s->name);
            return -1;
        }
        if (*s->count == s->max) {
            cli_errorf("too many %s values (at most %zu %s)", s->name, s->max, s->expected);
            return -1;
        }
        ((const char **)s->dst)[(*s->count)++] = v;
        return 0;
    case OPT_SIZE:
        if (parse_size(s->name, v, s->min, (size_t *)s->dst) != 0)
            return -1;
        if (s->max && *(size_t *)s->dst > s->max) {
            cli_errorf("invalid value '%s' for %s: too large (at most %zu)", v, s->name, s->max);
            return -1;
        }
        return 0;
    case OPT_U64:
        return parse_u64(s->name, v, 0, UINT64_MAX, (uint64_t *)s->dst);
    case OPT_BYTES:
        return parse_bytes(s->name, v, (uint64_t *)s->dst);
    case OPT_REAL:
    case OPT_POSITIVE:
    case OPT_FRACTION:
    case OPT_REAL_LIST:
        return store_real(s, v);
    case OPT_CHOICE:
        if (s->choice->parse(v, s->dst) != 0) {
            cli_errorf("unknown %s '%s' for %s (expected %s)", s->choice->what, v, s->name,
                       s->choice->expected);
            return -1;
        }
        return 0;
    }
    return 0;
}

/* Match argv[*i] against the n options of the table. Returns 1 if it was one
 * of them (its value consumed and stored), 0 if none, -1 after printing the
 * error of a missing or invalid value. config_opt (or NULL) keeps the first
 * configuration option given. */
static int take_option(int argc, char **argv, int *i, const struct cli_option *table, size_t n,
                       const char **config_opt)
{
    const char *arg = argv[*i];
    for (size_t j = 0; j < n; j++) {
        const struct cli_option *s = &table[j];
        if (s->type == OPT_FLAG &&
            (strcmp(arg, s->name) == 0 || (s->alias && strcmp(arg, s->alias) == 0))) {
            *(int *)s->dst = 1;
            return 1;
        }
    }
    for (size_t j = 0; j < n; j++) {
        const struct cli_option *s = &table[j];
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

/* The MODEL argument: exactly one non-option argument. */
static int take_model_arg(const char *cmd, const char *arg, const char **model)
{
    if (*model) {
        cli_errorf("unexpected argument '%s' for 'rbm %s' (one MODEL only; see 'rbm help %s')",
                   arg, cmd, cmd);
        return -1;
    }
    if (*arg == '\0') {
        cli_errorf("empty MODEL argument for 'rbm %s'", cmd);
        return -1;
    }
    *model = arg;
    return 0;
}

int cli_parse_args(const struct cli_args *a, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] == '-' && arg[1] != '\0') {
            int r = take_option(argc, argv, &i, a->opts, a->n_opts, a->config_opt);
            if (r < 0)
                return EXIT_USAGE;
            if (r > 0)
                continue;
            if (a->version_hint && strcmp(arg, "--version") == 0)
                cli_errorf("'--version' is not an option of 'rbm %s' (use 'rbm --version')",
                           a->cmd);
            else
                cli_errorf("unknown option '%s' for 'rbm %s' (see 'rbm help %s')", arg, a->cmd,
                           a->cmd);
            return EXIT_USAGE;
        }
        if (a->model) {
            if (take_model_arg(a->cmd, arg, a->model) != 0)
                return EXIT_USAGE;
            continue;
        }
        cli_errorf("unexpected argument '%s' for 'rbm %s' (%ssee 'rbm help %s')", arg, a->cmd,
                   a->stray_hint ? a->stray_hint : "", a->cmd);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_need_model(const char *cmd, const char *model)
{
    if (model)
        return 0;
    cli_errorf("'rbm %s' needs a MODEL file (see 'rbm help %s')", cmd, cmd);
    return EXIT_USAGE;
}

/* ---- seeds ---- */

/* splitmix64 of seed and the stream number, so that equal --seed values
 * never make two consumers draw the same stream. */
uint64_t cli_derive_seed(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
