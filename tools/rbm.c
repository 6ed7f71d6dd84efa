/* rbm — the librbm command-line program.
 *
 *   rbm train [options]        train an RBM, save it, print a report
 *   rbm eval MODEL [...]       log Z, log-likelihood, pseudo-likelihood
 *   rbm sample MODEL [...]     Gibbs samples as a PNG grid, NPY or text
 *   rbm spectrum MODEL [...]   singular values of W, noise bulk, PCA overlaps
 *   rbm analyze MODEL [...]    TAP fixed points, TAP log Z, phase of a model
 *   rbm phase [options]        replica-symmetric phase of the RBM ensemble
 *   rbm export MODEL FILE      a model or archive as an rbms HDF5 archive
 *   rbm help [COMMAND]         usage
 *   rbm --version              version of the program and of the loaded library
 *
 * This file holds main(), the command table and the top-level help; each
 * command is in cmd_<name>.c, the parts they share are declared in cli.h.
 * Uses only the public librbm API (<rbm/rbm.h>).
 *
 * Output conventions (README.md, "The `rbm` program"): results go to stdout
 * (a short report, or with --json exactly one JSON object and nothing else);
 * progress and errors go to stderr. Errors are one line "rbm: error: ...".
 * Exit status: 0 success, 1 runtime error (I/O, library failure, training
 * diverged), 2 usage error (bad option or value), 128 + signal number when
 * SIGINT (130) or SIGTERM (143) stopped a command (training still saves and
 * reports the model trained so far). */
#include "cli.h"

#include <string.h>

static int cmd_help(int argc, char **argv);
static void print_usage(FILE *f);

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *f);
    const char *summary; /* for 'rbm help'; lines after the first are indented */
};

static const struct command COMMANDS[] = {
    {"train", cli_cmd_train, cli_usage_train,
     "train an RBM on synthetic data, Fashion-MNIST or a file,\n"
     "save the model and print a report"},
    {"eval", cli_cmd_eval, cli_usage_eval,
     "log Z (exact or AIS), log-likelihood and pseudo-likelihood\n"
     "of data under a saved model"},
    {"sample", cli_cmd_sample, cli_usage_sample,
     "run Gibbs chains of a saved model; write an image grid (PNG)\n"
     "or the samples (NPY, text)"},
    {"spectrum", cli_cmd_spectrum, cli_usage_spectrum,
     "singular values of a saved model's W, the noise bulk, the modes\n"
     "outside it, overlaps with the data's principal directions"},
    {"analyze", cli_cmd_analyze, cli_usage_analyze,
     "TAP fixed points of a saved model, TAP log Z, its phase"},
    {"phase", cli_cmd_phase, cli_usage_phase,
     "replica-symmetric phase of the RBM ensemble at one point"},
    {"linear", cli_cmd_linear, cli_usage_linear,
     "exact learning dynamics of a gauss-gauss RBM on a data set"},
    {"export", cli_cmd_export, cli_usage_export,
     "write a model or archive as an rbms HDF5 archive or a librbm model"},
    {"help", cmd_help, print_usage,
     "show this help, or 'rbm help COMMAND' for one command"},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(COMMANDS); i++)
        if (strcmp(name, COMMANDS[i].name) == 0)
            return &COMMANDS[i];
    return NULL;
}

/* "  NAME       SUMMARY", continuation lines indented under the summary. */
static void print_command_line(FILE *f, const struct command *c)
{
    fprintf(f, "  %-10s ", c->name);
    for (const char *s = c->summary; *s; s++) {
        fputc(*s, f);
        if (*s == '\n')
            fputs("             ", f);
    }
    fputc('\n', f);
}

static void print_usage(FILE *f)
{
    fprintf(f,
            "usage: rbm <command> [options]\n"
            "\n"
            "Restricted Boltzmann Machines from the command line (librbm %s).\n"
            "\n"
            "commands:\n",
            rbm_version_string());
    for (size_t i = 0; i < ARRAY_LEN(COMMANDS); i++)
        print_command_line(f, &COMMANDS[i]);
    fputs("\n"
          "options:\n"
          "  -h, --help     show this help\n"
          "  --version      print the version and exit\n"
          "\n"
          "Run 'rbm train' with no arguments for a complete run on the built-in\n"
          "synthetic data: training with a progress display, then a spectral and\n"
          "thermodynamic report of the trained machine with plots.\n",
          f);
}

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
        cli_errorf("'rbm help' takes at most one command name");
        return EXIT_USAGE;
    }
    const struct command *c = find_command(argv[0]);
    if (!c) {
        cli_errorf("unknown command '%s' (see 'rbm help')", argv[0]);
        return EXIT_USAGE;
    }
    c->usage(stdout);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_errorf("no command given (try 'rbm train', or 'rbm help')");
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        if (argc != 2) {
            cli_errorf("'%s' takes no arguments", cmd);
            return EXIT_USAGE;
        }
        return cmd_version();
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cmd_help(argc - 2, argv + 2);
    const struct command *c = find_command(cmd);
    if (c)
        return c->run(argc - 2, argv + 2);
    if (cmd[0] == '-')
        cli_errorf("unknown option '%s' (see 'rbm help')", cmd);
    else
        cli_errorf("unknown command '%s' (see 'rbm help')", cmd);
    return EXIT_USAGE;
}
