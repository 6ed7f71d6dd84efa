/* cli.h — the parts of the rbm program that its commands share.
 *
 * tools/rbm.c holds main() and the command table; each command lives in
 * cmd_<name>.c (cli_cmd_<name>, cli_usage_<name>). The helpers below are
 * grouped by the file that defines them:
 *
 *   cli_error.c     error lines on stderr, notes, the librbm context
 *   cli_options.c   the table-driven option parser, value parsers, enum names,
 *                   seeds derived from --seed
 *   cli_format.c    JSON writers, numbers, durations, rates, stdout flushing
 *   cli_progress.c  the progress display on stderr, SIGINT/SIGTERM handling
 *   cli_data.c      data specs (--data), loading and transforms, saved models
 *   cli_files.c     paths, directories, checks of output paths, atomic output
 *                   files (PNG, text; NPY files are the library's) and the
 *                   text writer of samples
 *   cli_analysis.c  spectrum of W, TAP fixed points (with damping retries) and
 *                   the phase of a machine: train's report, spectrum, analyze
 *   cli_plots.c     the report's gnuplot plots, the PNG grid of samples
 *   cli_report.c    the spectral and thermodynamic report after 'rbm train'
 *   cli_logo.c      its modes of a Potts machine per site, sequence logos
 *   cli_training.c  train's step loop (progress, log-likelihood, checkpoints)
 *   cli_interop.c   the model loader of every command (model files, librbm
 *                   and rbms archives, --update), HDF5 --data, train's
 *                   --init and --archive (docs/interop.md)
 *   cli_history.c   spectrum --history
 *   cli_seq.c       alignments (--data FILE.sto --visible potts), Potts machines
 *
 * Uses only the public librbm API (<rbm/rbm.h>). Output conventions
 * (README.md, "The `rbm` program"): results on stdout (a report, or with
 * --json exactly one JSON object), progress and errors on stderr, errors as
 * one line "rbm: error: ...". */
#ifndef RBM_CLI_H
#define RBM_CLI_H

#include <rbm/rbm.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1, /* I/O, library failure, training diverged */
    EXIT_USAGE = 2    /* bad option or value */
};

#define FASHION_MNIST_TRAIN "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define DEFAULT_MODEL_PATH "rbm-model.rbm"

/* Modes tracked by --track-spectrum: all of them, up to 512. The tracker
 * follows identities from the first record, where (random initial weights)
 * every mode is noise; the modes that grow later are only followed when
 * the tracker holds them all. The plot shows the PLOT_MODES largest at the
 * end. */
#define TRACK_MODES 512
#define PLOT_MODES 10
/* Modes compared with the data's principal directions by default. */
#define PCA_MODES 5

#define ARRAY_LEN(a) (sizeof(a) / sizeof(a)[0])

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#include "cli_seq.h"

#endif

/* ---- commands (cmd_*.c): argv after the command name ---- */

int cli_cmd_train(int argc, char **argv);
int cli_cmd_eval(int argc, char **argv);
int cli_cmd_sample(int argc, char **argv);
int cli_cmd_spectrum(int argc, char **argv);
int cli_cmd_analyze(int argc, char **argv);
int cli_cmd_phase(int argc, char **argv);
int cli_cmd_linear(int argc, char **argv);
void cli_usage_train(FILE *f);
void cli_usage_eval(FILE *f);
void cli_usage_sample(FILE *f);
void cli_usage_spectrum(FILE *f);
void cli_usage_analyze(FILE *f);
void cli_usage_phase(FILE *f);
void cli_usage_linear(FILE *f);

/* ---- cli_error.c ---- */

/* "rbm: error: MESSAGE" on one line of stderr (control characters become
 * spaces). */
PRINTF_LIKE(1, 2) void cli_errorf(const char *fmt, ...);
/* A failed library call: "<what>: <context detail> (RBM_ERR_...)". */
PRINTF_LIKE(3, 4)
void cli_lib_errorf(const rbm_context *ctx, rbm_status st, const char *fmt, ...);
/* The same text written into note (for parts of a report that may fail
 * without failing the command). */
void cli_lib_note(char *note, size_t n, const rbm_context *ctx, rbm_status st, const char *what);
/* A new librbm context; 0, or -1 after the error. */
int cli_new_context(rbm_context **ctx);
/* Run fn(ctx, arg) with a new context, freed afterwards: fn's exit status,
 * or EXIT_RUNTIME (printed) when no context could be made. */
int cli_run_in_context(int (*fn)(rbm_context *ctx, void *arg), void *arg);

/* ---- cli_options.c ---- */

/* What an enumerated option accepts: "unknown WHAT 'VALUE' for OPT
 * (expected EXPECTED)" otherwise. parse stores the value named s into dst
 * (0), or returns -1 without printing. */
struct cli_choice {
    const char *what;
    const char *expected;
    int (*parse)(const char *s, void *dst);
};
extern const struct cli_choice CLI_UNIT_CHOICE;      /* rbm_unit_kind */
extern const struct cli_choice CLI_ESTIMATOR_CHOICE; /* rbm_estimator_kind */
extern const struct cli_choice CLI_OPTIMIZER_CHOICE; /* rbm_optimizer */
extern const struct cli_choice CLI_PRECISION_CHOICE; /* rbm_precision */
extern const struct cli_choice CLI_CSV_HEADER_CHOICE; /* uint32_t RBM_CSV_HEADER_* */

enum cli_opt_type {
    OPT_FLAG,      /* no value: *(int *)dst = 1 */
    OPT_STRING,    /* non-empty string: *(const char **)dst */
    OPT_SIZE,      /* size_t >= min (and <= max when max is not 0) */
    OPT_U64,       /* uint64_t */
    OPT_BYTES,     /* uint64_t byte count, optional suffix K/M/G/T (x 1024^n) */
    OPT_REAL,      /* double >= 0 */
    OPT_POSITIVE,  /* double > 0 */
    OPT_FRACTION,  /* double in (0, 1] */
    OPT_REAL_LIST, /* repeatable double >= 0 appended to dst[*count], at most max */
    OPT_STRING_LIST, /* repeatable non-empty string appended to ((const char **)dst)[*count] */
    OPT_CHOICE     /* one of the names of *choice */
};

struct cli_option {
    const char *name;     /* "--epochs", "-k" */
    const char *alias;    /* OPT_FLAG: another spelling ("-q"), or NULL */
    enum cli_opt_type type;
    void *dst;
    int *set;             /* set to 1 when the option is given, or NULL */
    size_t min, max;      /* OPT_SIZE bounds (max 0: none); OPT_*_LIST capacity */
    const char *expected; /* OPT_STRING: what the value should be, for an empty one;
                             OPT_*_LIST: what max counts ("modes") */
    const struct cli_choice *choice; /* OPT_CHOICE */
    size_t *count;        /* OPT_*_LIST: values stored so far */
    int config;           /* a machine/training option (train's --resume check) */
};

/* Rows of an option table: the output flags of every command, and the data
 * options of the commands that read a model's data. */
#define CLI_OUTPUT_FLAGS(json, quiet, help)                                    \
    {"--json", .type = OPT_FLAG, .dst = (json)},                               \
        {"--quiet", .alias = "-q", .type = OPT_FLAG, .dst = (quiet)},          \
        {"--help", .alias = "-h", .type = OPT_FLAG, .dst = (help)}
#define CLI_DATA_OPTIONS(data_dst, seed_dst)                                   \
    {"--data", .type = OPT_STRING, .dst = (data_dst), .expected = DATA_EXPECTED, \
     .set = &cli_data_given.data},                                             \
        {"--data-seed", .type = OPT_U64, .dst = (seed_dst),                    \
         .set = &cli_data_given.seed},                                         \
        CLI_DATA_READ_OPTIONS, CLI_MODEL_READ_OPTIONS
/* Whether --data / --data-seed were given in this run (CLI_DATA_OPTIONS):
 * if not, cli_load_model_data takes them from the model's provenance. */
struct cli_data_given {
    int data, seed;
};
extern struct cli_data_given cli_data_given;

/* How data files are read (every command that reads data): the settings of
 * this run, in cli_data_read (cli_data.c). */
#define CLI_DATA_READ_OPTIONS                                                   \
    {"--max-data-bytes", .type = OPT_BYTES, .dst = &cli_data_read.max_bytes},   \
        {"--csv-header", .type = OPT_CHOICE, .choice = &CLI_CSV_HEADER_CHOICE,  \
         .dst = &cli_data_read.csv_header},                                     \
        CLI_ALIGNMENT_OPTIONS
/* Their lines of --help. */
#define CLI_DATA_READ_HELP                                                      \
    "  --max-data-bytes N    refuse a data file that decodes to more than N\n"  \
    "                        bytes (suffix K, M, G, T: powers of 1024; 0: no\n" \
    "                        limit; default 8G), checked before reading it\n"   \
    "  --csv-header auto|yes|no   whether the first line of a CSV file is a\n"  \
    "                        header: yes skips it, no reads it as data, auto\n" \
    "                        (default) skips it when none of its fields is a\n" \
    "                        number\n"                                        \
    "  --data FILE.h5[:/group/name]   a 2-D dataset of an HDF5 file (default\n"   \
    "                        'samples', the rbms convention)\n"

/* The command line of one command: its options and what it does with the
 * other arguments. */
struct cli_args {
    const char *cmd;                /* "train": named in the error messages */
    const struct cli_option *opts;
    size_t n_opts;
    const char **model;             /* the one MODEL argument, or NULL: none taken */
    const char *stray_hint;         /* no MODEL: put before "see 'rbm help CMD'" in
                                       the error for an argument ("" or NULL: none) */
    int version_hint;               /* --version: point at 'rbm --version' */
    const char **config_opt;        /* receives the first config option, or NULL */
};

/* Parse argv (the arguments after the command name) with a. Returns 0, or
 * EXIT_USAGE after printing the error. */
int cli_parse_args(const struct cli_args *a, int argc, char **argv);
/* 0 when a MODEL was given, else EXIT_USAGE after the error. */
int cli_need_model(const char *cmd, const char *model);

/* A finite real number; positive requires > 0, otherwise >= 0. 0, or -1
 * after "invalid value 'S' for OPT: ...". */
int cli_parse_real(const char *opt, const char *s, int positive, double *out);

const char *cli_unit_name(rbm_unit_kind k);
const char *cli_estimator_name(rbm_estimator_kind k);
const char *cli_optimizer_name(rbm_optimizer o);
const char *cli_precision_name(rbm_precision p);
/* "PCD-1", "CD-3", "TAP2-1", "exact" */
void cli_fmt_estimator(char *buf, size_t n, rbm_estimator_kind kind, size_t k);

/* Independent seeds for the consumers of --seed (stream 0 synthetic data,
 * 1 initial weights, 2 trainer, 3 AIS, 4 sampler chains, 5 analyze's
 * starts), derived with splitmix64. */
uint64_t cli_derive_seed(uint64_t seed, uint64_t stream);

/* ---- cli_format.c ---- */

double cli_now_seconds(void);
void cli_fmt_rate(char *buf, size_t n, double x);     /* "812", "45.6k", "1.23M" */
void cli_fmt_duration(char *buf, size_t n, double s); /* "0:07", "1:02:03", "--:--" */
void cli_fmt_seconds(char *buf, size_t n, double s);  /* "12.35 s", "0.412 s" */
void cli_fmt_recon(char *buf, size_t n, double r);    /* "%.4g" or "-" */
void cli_fmt_ll(char *buf, size_t n, double ll);      /* "%.4f" or "-" */
void cli_print_time_line(double seconds);             /* "time        <duration>" */
/* 0 when what was printed reached standard output, else -1 (printed). */
int cli_flush_stdout(void);
int cli_cmp_desc(const void *a, const void *b); /* qsort: doubles, largest first */

/* JSON: one object written member by member; *first is 1 before the first
 * member. Close it with "\n}\n". Numbers round-trip; NaN and infinities are
 * null. */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double x);
void cli_json_numbers(FILE *f, const double *x, size_t n); /* [x0, x1, ...] */
void cli_json_key(FILE *f, int *first, const char *key);
void cli_json_real(FILE *f, int *first, const char *key, double x);
void cli_json_str(FILE *f, int *first, const char *key, const char *s);
void cli_json_str_or_null(FILE *f, int *first, const char *key, const char *s);
void cli_json_size(FILE *f, int *first, const char *key, size_t n);
void cli_json_u64(FILE *f, int *first, const char *key, uint64_t n);
void cli_json_bool(FILE *f, int *first, const char *key, int b);
void cli_json_header(FILE *f, int *first, const char *command); /* command, version */

/* ---- cli_progress.c ---- */

enum cli_progress_mode { PROGRESS_NONE, PROGRESS_TTY, PROGRESS_LINES };

struct cli_progress {
    enum cli_progress_mode mode;
    int columns;       /* terminal width */
    double last_draw;  /* time of the last redraw (tty) */
    size_t last_len;   /* length of the line drawn last (tty) */
    int line_open;     /* a redrawn line is on screen without newline */
};

/* No display with quiet; a redrawn line on a terminal; plain lines else. */
void cli_progress_init(struct cli_progress *p, int quiet);
/* Redraw the status line as LEFT [bar] RIGHT, the bar showing fraction. */
void cli_progress_show(struct cli_progress *p, const char *left, double fraction,
                       const char *right);
/* A terminal's redraw is due: 0.1 s after the last one, or when final. */
int cli_progress_due(const struct cli_progress *p, double now, int final);
/* End the redrawn line (before printing anything else on stderr). */
void cli_progress_close(struct cli_progress *p);

/* First SIGINT/SIGTERM: stop at the next check (the handler is reset, so a
 * second one ends the program at once). A signal ignored when the program
 * started stays ignored. */
void cli_install_signal_handlers(void);
void cli_restore_signal_handlers(void);
int cli_interrupted(void); /* the signal received, or 0 */
const char *cli_signal_verb(int sig); /* "interrupted" (SIGINT), "terminated" */

/* ---- cli_data.c ---- */

enum cli_data_source { DATA_SYNTHETIC, DATA_FASHION_MNIST, DATA_FILE };
#define DATA_EXPECTED "expected synthetic, fashion-mnist or a file"

enum cli_data_source cli_data_source_of(const char *data);

struct cli_data_info {
    char transform[160]; /* what was done to the raw values ("none" if nothing) */
    size_t rows, cols;
    double min, max; /* range after the transform */
    /* an alignment (n_states > 0: categorical data for Potts units) */
    uint32_t n_states;
    char alphabet[256];   /* the q symbols */
    uint32_t flags;       /* rbm_alignment_flag bits it was read with */
    uint64_t unknown;     /* unknown symbols read as gaps */
    double theta;         /* reweighting threshold (NaN: not reweighted) */
    double m_eff;         /* sum of the weights (rows when not reweighted) */
    double reweight_seconds;
};

/* Where data comes from and for which units: the --data value, its kind,
 * the visible unit kind (which decides the transform), --seed (which seeds
 * the synthetic data) and the dimension of synthetic data (0: the default
 * 100). */
/* The data-reading options of this run (--max-data-bytes, --csv-header),
 * applied by cli_load_data. */
struct cli_data_read_opts {
    uint64_t max_bytes; /* RBM_MAX_DATA_BYTES_DEFAULT unless given */
    uint32_t csv_header; /* RBM_CSV_HEADER_* */
    /* alignments (cli_seq.c): --alphabet, --drop-inserts, --strict-symbols,
     * --reweight THETA, --no-reweight; *_set: given in this run */
    const char *alphabet; /* a name or the symbols; NULL: not given */
    int drop_inserts, strict_symbols, no_reweight;
    double reweight;
    int reweight_set;
};
extern struct cli_data_read_opts cli_data_read;

struct cli_data_spec {
    const char *data;
    enum cli_data_source source;
    rbm_unit_kind visible;
    uint64_t seed;
    size_t synth_dims;
    int visible_auto; /* visible not chosen: an alignment file makes it potts */
};

/* Load or generate the data of spec and bring it into the support of the
 * visible units. Returns 0 or an exit status after printing the error. */
int cli_load_data(rbm_context *ctx, const struct cli_data_spec *spec, rbm_dataset **out,
                  struct cli_data_info *info);
/* The "data" line of the reports of train, eval, sample, spectrum, analyze. */
void cli_print_data_line(const char *data, enum cli_data_source source, rbm_unit_kind visible,
                         const struct cli_data_info *di);

/* The saved model of eval, sample, spectrum and analyze. */
int cli_load_model(rbm_context *ctx, const char *path, rbm_machine **out);
/* The data of --data (default synthetic: generated with the model's number
 * of visible units) prepared for the model's visible units. When --data
 * (--data-seed) was not given and the model records its data's provenance,
 * *data (*seed) is replaced by the recorded one first (a note on stderr). */
int cli_load_model_data(rbm_context *ctx, const rbm_machine *m, const char **data,
                        uint64_t *seed, rbm_dataset **out, struct cli_data_info *di);
/* The provenance text 'rbm train' records in a model (cli_census.c):
 * "librbm-provenance 1" then key=value lines: data, data_seed, rows,
 * cols, visible, transform. */
void cli_record_provenance(rbm_machine *m, const char *data, uint64_t seed,
                           rbm_unit_kind visible, const struct cli_data_info *di);
/* 'rbm train' (cli_census.c): combinations the library would refuse as
 * usage errors (EXIT_USAGE after the message, else 0); the sigmas of
 * --sigma-v/--sigma-h (NaN: not given) on a new machine (0, or -1 after
 * the message). */
int cli_train_check_combination(rbm_estimator_kind est, rbm_unit_kind visible,
                                rbm_unit_kind hidden, size_t n_visible, size_t n_states,
                                size_t n_hidden, size_t batch, size_t rows);
int cli_train_set_sigmas(rbm_context *ctx, rbm_machine *m, double sigma_v, double sigma_h);
/* --track-spectrum's start: the tracker of the first n_modes modes with the
 * census of the training data, its first record at step, and (fpt not
 * NULL) the first fixed-point record; *seconds gets the time taken.
 * 0, or EXIT_RUNTIME after the message. */
/* What --track-spectrum recorded (rbm train). */
struct cli_track_summary {
    const char *csv;    /* the history beside the model, or NULL (no tracking) */
    size_t records;
    size_t n_modes;     /* tracked modes */
    size_t n_outside;   /* modes outside the bulk at the last record */
    size_t n_significant; /* significant modes at the last record (census) */
    double edge;        /* bulk edge at the last record */
    double top[TRACK_MODES]; /* tracked singular values at the last record, descending */
    double seconds;     /* time spent recording */
};

/* The report lines and the JSON members of the summary (cli_census.c). */
struct cli_train_result;
void cli_print_track_summary(const struct cli_track_summary *ts,
                             const struct cli_train_result *res);
void cli_json_track_summary(FILE *f, int *first, const struct cli_track_summary *ts);
struct cli_fp_track;
int cli_start_tracking(rbm_context *ctx, rbm_machine *m, const rbm_dataset *data, size_t n_modes,
                       uint64_t step, rbm_mode_tracker **tracker, rbm_census **census,
                       struct cli_fp_track *fpt, double *seconds);
/* --track-fixed-points (cli_census.c): the number of TAP states (TAP2, or
 * naive mean field for gauss-gauss machines; CLI_FP_TRACK_STARTS random
 * starts and as many data rows) at every spectrum record. */
#define CLI_FP_TRACK_STARTS 20
struct cli_fp_track {
    const rbm_dataset *data;
    uint64_t seed;
    size_t n, cap;
    uint64_t *steps;
    size_t *count, *stable;
    double seconds;
    char *csv; /* where cli_fp_track_save wrote the history */
};
/* One record for the machine now. 0, or -1 after the error message. */
int cli_fp_track_record(rbm_context *ctx, const rbm_machine *m, uint64_t step,
                        struct cli_fp_track *ft);
/* CSV "step,n_fixed_points,n_stable" into f (put) or path (write: 0, or -1
 * after the error message). */
void cli_fp_track_put(FILE *f, const struct cli_fp_track *ft);
int cli_fp_track_write_csv(const struct cli_fp_track *ft, const char *path);
void cli_fp_track_free(struct cli_fp_track *ft);
/* OUT.fixed_points.csv (0, or EXIT_RUNTIME after the message); the report
 * line and the JSON members (nothing without records). */
int cli_fp_track_save(struct cli_fp_track *ft, const char *out);
void cli_fp_track_print(const struct cli_fp_track *ft);
void cli_fp_track_json(FILE *f, int *first, const struct cli_fp_track *ft);
/* The value of key in the provenance text (NULL if absent) into buf. */
const char *cli_provenance_value(const char *prov, const char *key, char *buf, size_t len);
void cli_print_model_line(const char *path, const rbm_machine *m);
void cli_json_model(FILE *f, int *first, const char *path, const rbm_machine *m);
/* Units of the smaller discrete (bernoulli or ising) layer of m, the layer
 * exact computations enumerate; 0 for a Gauss-Gauss machine (closed form).
 * A Potts layer of N sites of q states counts as ceil(N log2 q) units. */
size_t cli_enum_units(const rbm_machine *m);


/* cli_seq.c and cli_logo.c (alignments, Potts machines): cli_seq.h. */

/* ---- cli_interop.c, cli_history.c, cmd_export.c (docs/interop.md) ---- */

int cli_cmd_export(int argc, char **argv);
void cli_usage_export(FILE *f);
/* The archive options' part of 'rbm help train'. */
void cli_usage_train_archives(FILE *f);

/* --update N of the commands that read a model (cli_load_model). */
struct cli_model_read_opts {
    uint64_t update;
    int update_set;
};
extern struct cli_model_read_opts cli_model_read;
#define CLI_MODEL_READ_OPTIONS                                                  \
    {"--update", .type = OPT_U64, .dst = &cli_model_read.update,                \
     .set = &cli_model_read.update_set}
#define CLI_MODEL_READ_HELP                                                     \
    "  --update N            MODEL is an archive (an rbms HDF5 file or a librbm\n" \
    "                        training archive): the model saved at update/step N\n" \
    "                        (default: the last)\n"

/* What a model path holds, by its first bytes (HDF5 signature, librbm
 * archive magic) or, for files that cannot be read yet, by its suffix. */
enum cli_model_format { MODEL_FORMAT_RBM, MODEL_FORMAT_ARCHIVE, MODEL_FORMAT_RBMS };
enum cli_model_format cli_model_format_of(const char *path);
/* A model file, or the model of an archive at update (has_update) or the
 * last. 0, or an exit status after the error. */
int cli_load_model_at(rbm_context *ctx, const char *path, int has_update, uint64_t update,
                      rbm_machine **out);
/* --data file.h5 (the rbms dataset 'samples') or file.h5:/group/name. */
int cli_data_is_hdf5(const char *data);
rbm_status cli_load_hdf5_data(rbm_context *ctx, const char *data, rbm_dataset **out);
/* --init ARCHIVE[:N]: the model (file receives ARCHIVE; *from_rbms when it
 * is an rbms archive). 0, or an exit status after the error. */
int cli_load_init(rbm_context *ctx, const char *spec, rbm_machine **out, int *from_rbms,
                  char *file, size_t cap);
/* train's --init: the model, and the units and size it decides. */
int cli_train_init(rbm_context *ctx, const char *spec, rbm_machine **m, rbm_unit_kind *visible,
                   rbm_unit_kind *hidden, size_t *n_hidden, rbm_precision *prec);
/* Move the --init model *init into *m when it has cols visible units. */
int cli_take_init(rbm_machine **init, size_t cols, rbm_machine **m);
/* With PCD and an rbms archive: the persistent chains start from its
 * parallel_chains (one chain per row). */
int cli_train_init_chains(rbm_context *ctx, const char *spec, rbm_trainer *t, int quiet);

/* train --archive FILE: models at log-spaced steps (n_saves over the run's
 * epochs), the command line as configuration, the final model and
 * checkpoint (n_saves 0: 20). An existing archive is appended to. */
struct cli_archive_run;
int cli_archive_start(rbm_context *ctx, const char *path, rbm_trainer *t, size_t epochs,
                      size_t n_saves, int every_epoch, int argc, char **argv,
                      struct cli_archive_run **out);
/* After a step: append the model when the schedule says so. */
int cli_archive_step(rbm_context *ctx, struct cli_archive_run *r, rbm_trainer *t,
                     double *extra_seconds);
/* After the run: the final model (unless just saved) and checkpoint. */
int cli_archive_finish(rbm_context *ctx, struct cli_archive_run *r, rbm_trainer *t);
size_t cli_archive_saved(const struct cli_archive_run *r);
void cli_archive_free(struct cli_archive_run *r);

/* rbm spectrum --history ARCHIVE */
struct cli_history_opts {
    const char *archive;
    const char *plots; /* NULL: ARCHIVE without its suffix + ".history" */
    int no_plots;
    size_t n_plot;     /* singular values drawn */
    int json;
};
int cli_spectrum_history(rbm_context *ctx, const struct cli_history_opts *o);

/* ---- cli_files.c ---- */

char *cli_path_join(const char *dir, const char *name);      /* "DIR/name", malloc'd */
char *cli_path_suffix(const char *path, const char *suffix); /* path + suffix, malloc'd */
/* The plots directory beside the model: MODEL without ".rbm" + ".plots". */
char *cli_default_plots_dir(const char *model);
int cli_has_suffix(const char *s, const char *suffix);       /* ASCII case-insensitive */
/* mkdir of one level (the parent must exist). 0, or -1 with note. */
int cli_make_dir(const char *dir, char *note, size_t n);
/* Fail early when `what` cannot be written to path (not a regular file --
 * a directory, FIFO, device, socket, or a link to one --, or in a missing
 * or unwritable directory): 0, or EXIT_RUNTIME after the error. */
int cli_check_output_path(const char *path, const char *what);

/* Atomic output of the files the library does not write: a temporary file
 * "<target>.rbm-tmp.<pid>.XXXXXX" next to path (mode 0666 less the umask),
 * renamed over path by cli_finish_output after a complete write; only a
 * regular file, or the regular file a symbolic link at path names, is
 * replaced (as by the library's saves). */
struct cli_outfile {
    FILE *f;
    char *tmp;
    char *target; /* path, or the realpath of the link at path */
    const char *path;
};
int cli_start_output(struct cli_outfile *of, const char *path); /* 0, or -1 (printed) */
/* ok: the content was written completely. 0, or -1 (printed when ok). */
int cli_finish_output(struct cli_outfile *of, int ok);
/* rows x cols values as text, one row per line (%.17g): 0 or -1. */
int cli_write_txt(FILE *f, const double *x, size_t rows, size_t cols);

/* ---- cli_analysis.c ---- */

struct cli_spectrum {
    size_t r;          /* min(N_v, N_h) */
    double *w;         /* the r singular values, descending */
    double sigma;      /* noise sigma estimated from the bulk */
    double edge;       /* Marchenko-Pastur bulk edge */
    size_t n_outside;  /* modes above the edge */
    size_t k;          /* modes compared with the data's PCA (0: none) */
    double *overlaps;  /* k x k, |u^a . e_b| */
    double *eig;       /* k covariance eigenvalues, descending */
    /* the census (data given; rbm_census_new, rbm_svd_significance) */
    int have_census;
    size_t n_components;  /* the data's significant principal components */
    size_t n_significant; /* significant modes of W */
    double *q;            /* r: share of u^a in the significant subspace */
    uint8_t *sig;         /* r: mode a significant */
};

/* ---- cli_compare.c: reproducibility of modes across models ---- */

/* A mode counts as reproduced by another model when more than this share of
 * its left singular vector lies in the span of that model's significant
 * modes. */
#define CLI_REPRODUCED_SHARE 0.5
/* At most this many --compare models. */
#define CLI_MAX_COMPARE 16

struct cli_compare {
    size_t n_models;       /* models compared with */
    size_t r;              /* modes of the model */
    double *repro;         /* r: the smallest share over the other models */
    double *best;          /* r: the smallest best single overlap over them */
    size_t *n_b;           /* n_models: significant modes of each other model */
    size_t n_reproducible; /* significant modes with repro > CLI_REPRODUCED_SHARE */
};
/* Compare svd (of m, with its spectrum si against data) with the models at
 * paths (same visible units; their census uses data too). 0, or an exit
 * status after printing the error. */
int cli_compare_modes(rbm_context *ctx, const rbm_svd *svd, const rbm_machine *m,
                      const rbm_dataset *data, const char *const *paths, size_t n_paths,
                      const struct cli_spectrum *si, struct cli_compare *out);
void cli_compare_free(struct cli_compare *c);

/* Column-shuffled copies of the data in the census (a 5% test per rank),
 * and the seed of the shuffles. */
#define CLI_CENSUS_NULLS 19
#define CLI_CENSUS_SEED 1

/* SVD of W, bulk analysis and (data not NULL, k > 0) overlaps of the first
 * k modes with the data's top principal directions. *svd_out (may be NULL)
 * receives the decomposition. A Potts machine is decomposed in the
 * zero-sum gauge, without overlaps or census. Returns 0, or -1 with the
 * reason in note. */
int cli_compute_spectrum(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                         size_t k, struct cli_spectrum *si, rbm_svd **svd_out, char *note,
                         size_t note_len);
void cli_spectrum_free(struct cli_spectrum *si);
/* Each of the first k modes: its largest overlap with one of the data's
 * top k principal directions. */
void cli_print_pca_lines(const struct cli_spectrum *si);

/* TAP fixed points of a machine from random and data starts. */
struct cli_fixed_points {
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
    double *mv, *mh;        /* count x N_v, count x N_h when asked for, else NULL */
    size_t nv, nh;
};

/* What to search: the solver's order, starts, projections. */
struct cli_fp_search {
    rbm_mf_method method;
    double damping;         /* NaN: automatic (cli_find_fixed_points) */
    const rbm_dataset *data; /* rows used as starts, or NULL */
    size_t n_random, n_data;
    uint64_t seed;          /* random starts and the choice of rows */
    const rbm_svd *svd;     /* projections on its first kp modes, or NULL */
    size_t kp;
    int magnetizations;     /* keep every point's m^v, m^h (fi->mv, fi->mh) */
};

/* Run the solver from the random starts (uniform {0,1} for bernoulli, +-1
 * for ising, N(0, sigma^2) for gaussian units) and distinct data rows, in
 * one call so that the library merges the points they reach. With damping
 * NaN: the library's 0.5 first; when more than a tenth of the starts do not
 * converge, again with 0.1 and then 0.02, keeping the run with the fewest
 * failures. *used receives the damping of the result. Returns 0, or -1 with
 * the reason in note. */
int cli_find_fixed_points(rbm_context *ctx, const rbm_machine *m, const struct cli_fp_search *q,
                          struct cli_fixed_points *fi, double *used, char *note, size_t note_len);
void cli_fixed_points_free(struct cli_fixed_points *fi);

/* A machine on the phase diagram of its ensemble (rbm_machine_phase). */
struct cli_phase {
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

void cli_machine_phase(rbm_context *ctx, const rbm_machine *m, struct cli_phase *pi);
/* n_outside: modes outside the bulk (shown when more than the strong modes
 * the ensemble takes), 0 if not known. */
void cli_print_phase_line(const struct cli_phase *pi, size_t n_outside);
void cli_json_phase(FILE *f, int *first, const struct cli_phase *pi);

/* ---- cli_plots.c ---- */

/* Run "gnuplot SCRIPT" in dir with its output in dir/gnuplot.log.
 * Returns 0, 127 when gnuplot cannot be run, another value on failure. */
int cli_run_gnuplot(const char *dir, const char *script);
/* The same for "PROGRAM SCRIPT" (found on PATH) with its output in dir/log. */
int cli_run_plotter(const char *dir, const char *program, const char *script, const char *log);

/* What the report's plots show. */
struct cli_plot_input {
    const rbm_mode_tracker *tracker;   /* may be NULL */
    size_t batches_per_epoch;
    double edge;                       /* final bulk edge */
    const struct cli_fixed_points *fp; /* may be NULL or without projections */
    const double *data_proj;           /* n_data_proj x 2: data rows on the first two modes */
    size_t n_data_proj;
    const char *title;                 /* e.g. the data and machine */
    const struct cli_fp_track *fp_track; /* TAP states over training, or NULL */
};

/* 'rbm phase --grid DIR' (cli_phase_grid.c): the diagram over (T, w) at
 * sigma (sig_axis 0) or over (sigma, w) at the temperature (sig_axis 1),
 * kappa fixed, on an n x n grid, its lines and the AT line;
 * 0 or an exit status after the message. */
int cli_phase_grid(rbm_context *ctx, rbm_ensemble *e, double kappa, double sigma,
                   double temperature, int sig_axis, rbm_component_law law, const char *dir,
                   size_t n, int json);
/* Write the CSV files, the gnuplot script and the PNGs into dir. On
 * success *n_png PNGs were made (names in pngs); note says why not. */
int cli_write_plots(const char *dir, const struct cli_plot_input *in, char pngs[2][64],
                    size_t *n_png, char *note, size_t nn);

/* Tiles of the PNG grid of samples. */
struct cli_grid {
    size_t img_h, img_w;   /* one sample */
    size_t rows, cols;     /* tiles */
    size_t height, width;  /* pixels */
};
/* A near-square grid of n images of h x w pixels with 1-pixel borders. */
void cli_grid_layout(struct cli_grid *g, size_t n, size_t h, size_t w);
/* Grey image of the means (n x N_v) tiled in the grid (borders of level
 * 128). Returns 0 or -1 after printing the error. */
int cli_write_png_grid(FILE *f, const char *path, const double *means, size_t n,
                       rbm_unit_kind kind, const struct cli_grid *g);

/* ---- cli_report.c ---- */

/* What the report after training looks at. */
struct cli_report_input {
    const rbm_machine *m;
    const rbm_dataset *data;
    int synthetic;               /* the built-in data (11 clusters) */
    int quiet;
    const rbm_mode_tracker *tracker; /* the spectrum history, or NULL */
    size_t batches_per_epoch;
    const char *plots_dir;       /* NULL: no plots */
    const char *title;           /* of the plots */
    const struct cli_fp_track *fp_track; /* --track-fixed-points history, or NULL */
};

/* Print the spectral and thermodynamic report of a trained machine (of a
 * Potts machine: the spectrum, its modes per site, log Z). */
void cli_train_report(rbm_context *ctx, const struct cli_report_input *in);


/* ---- cli_training.c ---- */

/* The sane parameter range (docs/reliability.md "Sane parameter range"):
 * trained weights and biases with |value| <= CLI_SANE_PARAM_MAX. */
#define CLI_SANE_PARAM_MAX 1e3
/* When a weight or bias of m is outside the sane range (or not finite),
 * print one warning line on stderr naming the largest |W|, |a| and |b|;
 * returns 1 then, 0 when all are inside (or m cannot be read). Never
 * changes the exit status of a command. */
int cli_warn_parameter_range(const rbm_machine *m, double lr);

/* What the step loop is asked to do. */
struct cli_training_plan {
    size_t epochs;           /* total, counting those before --resume */
    size_t checkpoint_every; /* 0: no checkpoints */
    const char *out;         /* the model path (checkpoints go to OUT.ckpt) */
    int quiet;
    struct cli_archive_run *archive; /* --archive, or NULL */
    size_t track_every;      /* also record the spectrum every this many steps (0: epochs only) */
    struct cli_fp_track *fp_track; /* --track-fixed-points at every record, or NULL */
};

struct cli_train_result {
    size_t start_epoch;   /* epochs completed before this run (--resume) */
    size_t epochs_done;   /* epochs completed in total */
    uint64_t steps;       /* updates made by this run */
    uint64_t total_steps; /* updates made in total (with those before --resume) */
    uint64_t samples;     /* samples visited by this run */
    double seconds;       /* wall time of the run */
    double train_seconds; /* the same without log-likelihoods and checkpoints */
    double recon_first, recon_last;
    double *history;      /* mean reconstruction error per epoch */
    size_t history_len, history_cap;
    int ll_enabled;       /* the exact log-likelihood is computed after every epoch */
    double ll_last;       /* log-likelihood after the last epoch (NaN: none) */
    double *ll_history;
    size_t ll_len, ll_cap;
    size_t checkpoints;   /* checkpoints written */
    int interrupted;      /* the signal that stopped training, or 0 */
    double track_seconds; /* time spent recording the spectrum */
};

/* The step loop, with progress on stderr, the exact log-likelihood after
 * every epoch when res->ll_enabled, a spectrum record after every epoch
 * (tracker not NULL) and a checkpoint every plan->checkpoint_every epochs
 * (and when interrupted). res->ll_enabled and res->track_seconds are
 * inputs; the rest is reset. Returns 0 or an exit status after printing the
 * error. */
int cli_run_training(rbm_context *ctx, rbm_trainer *t, const rbm_dataset *data,
                     const struct cli_training_plan *plan, struct cli_train_result *res,
                     rbm_mode_tracker *tracker);

#include "cli_seq.h"

#endif
