/* cli_interop.c — models and data from elsewhere (docs/interop.md): the one
 * model loader of eval, sample, spectrum and analyze (librbm model files,
 * librbm training archives, `rbms` HDF5 archives; --update N), HDF5 data
 * (--data file.h5[:/group/name]), train's --init ARCHIVE[:N] and --archive
 * FILE, and 'rbm spectrum --history ARCHIVE'. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cli_model_read_opts cli_model_read;

enum cli_model_format cli_model_format_of(const char *path)
{
    unsigned char m[8] = {0};
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, m, sizeof m);
        close(fd);
        if (n == 8 && memcmp(m, "RBMARCH1", 8) == 0)
            return MODEL_FORMAT_ARCHIVE;
        if (n == 8 && memcmp(m, "\x89HDF\r\n\x1a\n", 8) == 0)
            return MODEL_FORMAT_RBMS;
    }
    if (cli_has_suffix(path, ".h5") || cli_has_suffix(path, ".hdf5"))
        return MODEL_FORMAT_RBMS;
    return MODEL_FORMAT_RBM;
}

/* The model of a librbm archive saved at step (has_step) or the last. */
static int load_from_archive(rbm_context *ctx, const char *path, int has_step, uint64_t step,
                             rbm_machine **out)
{
    rbm_archive *a = NULL;
    rbm_status st = rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot open the archive '%s'", path);
        return EXIT_RUNTIME;
    }
    size_t n = rbm_archive_count(a), pick = n;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = 0;
        rbm_archive_info(a, i, &s, NULL);
        if (!has_step || s == step)
            pick = i; /* the last one saved at that step */
    }
    if (pick == n) {
        if (n == 0)
            cli_errorf("the archive '%s' holds no model", path);
        else
            cli_errorf("the archive '%s' has no model saved at step %" PRIu64
                       " (see 'rbm spectrum --history %s' for its steps)",
                       path, step, path);
        rbm_archive_free(a);
        return EXIT_RUNTIME;
    }
    st = rbm_archive_load_machine(a, pick, out);
    if (st != RBM_OK)
        cli_lib_errorf(ctx, st, "cannot load model %zu of the archive '%s'", pick, path);
    rbm_archive_free(a);
    return st == RBM_OK ? 0 : EXIT_RUNTIME;
}

int cli_load_model_at(rbm_context *ctx, const char *path, int has_update, uint64_t update,
                      rbm_machine **out)
{
    rbm_status st;
    switch (cli_model_format_of(path)) {
    case MODEL_FORMAT_ARCHIVE:
        return load_from_archive(ctx, path, has_update, update, out);
    case MODEL_FORMAT_RBMS:
        st = rbm_machine_load_rbms(ctx, path, has_update ? update : RBM_RBMS_LAST, out);
        if (st != RBM_OK) {
            cli_lib_errorf(ctx, st, "cannot load the rbms archive '%s'", path);
            return EXIT_RUNTIME;
        }
        return 0;
    case MODEL_FORMAT_RBM:
        break;
    }
    if (has_update) {
        cli_errorf("--update applies to archives (librbm's or rbms' HDF5); '%s' is a model file",
                   path);
        return EXIT_USAGE;
    }
    st = rbm_machine_load(ctx, path, out);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot load the model '%s'", path);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* ---- --data file.h5[:/group/name] ---- */

/* The file part of an HDF5 data spec into file (cap bytes) and the dataset
 * path (NULL: the rbms default 'samples'); 0 when data is no HDF5 spec. */
static int hdf5_spec(const char *data, char *file, size_t cap, const char **dataset)
{
    const char *colon = strstr(data, ":/");
    size_t n = colon ? (size_t)(colon - data) : strlen(data);
    if (n == 0 || n >= cap)
        return 0;
    memcpy(file, data, n);
    file[n] = '\0';
    if (!cli_has_suffix(file, ".h5") && !cli_has_suffix(file, ".hdf5") &&
        !cli_has_suffix(file, ".he5"))
        return 0;
    *dataset = colon ? colon + 1 : NULL;
    return 1;
}

int cli_data_is_hdf5(const char *data)
{
    char file[4096];
    const char *ds;
    return hdf5_spec(data, file, sizeof file, &ds);
}

rbm_status cli_load_hdf5_data(rbm_context *ctx, const char *data, rbm_dataset **out)
{
    char file[4096];
    const char *ds = NULL;
    hdf5_spec(data, file, sizeof file, &ds);
    return rbm_dataset_load_hdf5(ctx, file, ds, out);
}

/* ---- train --init ARCHIVE[:N] ---- */

int cli_load_init(rbm_context *ctx, const char *spec, rbm_machine **out, int *from_rbms,
                  char *file, size_t cap)
{
    const char *colon = strrchr(spec, ':');
    int has_n = 0;
    uint64_t n = 0;
    size_t len = strlen(spec);
    if (colon && colon[1] != '\0') {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(colon + 1, &end, 10);
        if (*end == '\0' && errno == 0 && colon[1] >= '0' && colon[1] <= '9') {
            has_n = 1;
            n = v;
            len = (size_t)(colon - spec);
        }
    }
    if (len == 0 || len >= cap) {
        cli_errorf("invalid value '%s' for --init: expected ARCHIVE or ARCHIVE:N", spec);
        return EXIT_USAGE;
    }
    memcpy(file, spec, len);
    file[len] = '\0';
    enum cli_model_format f = cli_model_format_of(file);
    *from_rbms = f == MODEL_FORMAT_RBMS;
    return cli_load_model_at(ctx, file, has_n, n, out);
}

/* ---- train --archive FILE ---- */

struct cli_archive_run {
    rbm_archive *a;
    const char *path;
    uint64_t *steps; /* the schedule */
    size_t n_steps, next;
    uint64_t last_saved; /* step of the last model appended, UINT64_MAX: none */
    double seconds0;     /* training seconds recorded before this run */
    double t0;
    size_t saved;        /* models appended by this run */
};

/* The command line as the configuration text. */
static char *config_text(int argc, char **argv)
{
    size_t n = 64;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 3;
    char *s = malloc(n);
    if (!s)
        return NULL;
    size_t off = (size_t)snprintf(s, n, "librbm %s\ncommand: rbm train", rbm_version_string());
    for (int i = 0; i < argc; i++)
        off += (size_t)snprintf(s + off, n - off, " %s", argv[i]);
    snprintf(s + off, n - off, "\n");
    return s;
}

/* Add the end of every epoch (multiples of per_epoch up to total) to the
 * sorted schedule r->steps, keeping it sorted and without repeats. */
static rbm_status add_epoch_ends(struct cli_archive_run *r, uint64_t per_epoch, uint64_t total)
{
    size_t extra = per_epoch ? (size_t)(total / per_epoch) : 0, n = 0, i = 0;
    uint64_t *m = calloc(r->n_steps + extra + 1, sizeof *m);
    if (!m)
        return RBM_ERR_NO_MEMORY;
    for (size_t e = 1; e <= extra || i < r->n_steps;) {
        uint64_t x;
        if (e <= extra && (i >= r->n_steps || (uint64_t)e * per_epoch <= r->steps[i]))
            x = (uint64_t)e++ * per_epoch;
        else
            x = r->steps[i++];
        if (n == 0 || m[n - 1] != x)
            m[n++] = x;
    }
    free(r->steps);
    r->steps = m;
    r->n_steps = n;
    return RBM_OK;
}

int cli_archive_start(rbm_context *ctx, const char *path, rbm_trainer *t, size_t epochs,
                      size_t n_saves, int every_epoch, int argc, char **argv,
                      struct cli_archive_run **out)
{
    struct cli_archive_run *r = calloc(1, sizeof *r);
    char *cfg = config_text(argc, argv);
    if (!r || !cfg) {
        free(r), free(cfg);
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    r->path = path;
    r->last_saved = UINT64_MAX;
    rbm_status st = rbm_archive_open(ctx, path, RBM_ARCHIVE_APPEND, &r->a);
    if (st == RBM_OK && rbm_archive_count(r->a) > 0)
        st = rbm_archive_info(r->a, rbm_archive_count(r->a) - 1, NULL, &r->seconds0);
    if (st == RBM_OK)
        st = rbm_archive_set_config(r->a, cfg);
    free(cfg);
    uint64_t total = (uint64_t)epochs * rbm_trainer_batches_per_epoch(t);
    if (n_saves == 0)
        n_saves = 20;
    size_t n = 0;
    if (st == RBM_OK && total >= 1)
        st = rbm_archive_log_schedule(ctx, total, n_saves < 2 ? 2 : n_saves, NULL, 0, &n);
    if (st == RBM_OK && n) {
        r->steps = calloc(n, sizeof *r->steps);
        st = r->steps ? rbm_archive_log_schedule(ctx, total, n_saves < 2 ? 2 : n_saves, r->steps,
                                                 n, &r->n_steps)
                      : RBM_ERR_NO_MEMORY;
    }
    if (st == RBM_OK && every_epoch)
        st = add_epoch_ends(r, rbm_trainer_batches_per_epoch(t), total);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot use the archive '%s'", path);
        cli_archive_free(r);
        return EXIT_RUNTIME;
    }
    uint64_t done = rbm_trainer_step_count(t);
    while (r->next < r->n_steps && r->steps[r->next] <= done)
        r->next++; /* a resumed run: the saves already made */
    r->t0 = cli_now_seconds();
    *out = r;
    return 0;
}

static int save_model(rbm_context *ctx, struct cli_archive_run *r, rbm_trainer *t)
{
    uint64_t step = rbm_trainer_step_count(t);
    double secs = r->seconds0 + (cli_now_seconds() - r->t0);
    rbm_status st = rbm_archive_append_machine(r->a, rbm_trainer_machine(t), step, secs);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot append the model at step %" PRIu64 " to '%s'", step,
                       r->path);
        return EXIT_RUNTIME;
    }
    r->last_saved = step;
    r->saved++;
    return 0;
}

int cli_archive_step(rbm_context *ctx, struct cli_archive_run *r, rbm_trainer *t,
                     double *extra_seconds)
{
    uint64_t step = rbm_trainer_step_count(t);
    if (r->next >= r->n_steps || step < r->steps[r->next])
        return 0;
    while (r->next < r->n_steps && r->steps[r->next] <= step)
        r->next++;
    double t0 = cli_now_seconds();
    int rc = save_model(ctx, r, t);
    double dt = cli_now_seconds() - t0;
    *extra_seconds += dt;
    r->t0 += dt; /* the archive's seconds are training seconds */
    return rc;
}

int cli_archive_finish(rbm_context *ctx, struct cli_archive_run *r, rbm_trainer *t)
{
    int rc = 0;
    if (r->last_saved != rbm_trainer_step_count(t))
        rc = save_model(ctx, r, t);
    rbm_status st = rc ? RBM_OK : rbm_archive_append_checkpoint(r->a, t);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot append the final checkpoint to '%s'", r->path);
        rc = EXIT_RUNTIME;
    }
    return rc;
}

size_t cli_archive_saved(const struct cli_archive_run *r)
{
    return r ? r->saved : 0;
}

void cli_archive_free(struct cli_archive_run *r)
{
    if (!r)
        return;
    rbm_archive_free(r->a);
    free(r->steps);
    free(r);
}

int cli_train_init(rbm_context *ctx, const char *spec, rbm_machine **m, rbm_unit_kind *visible,
                   rbm_unit_kind *hidden, size_t *n_hidden, rbm_precision *prec)
{
    char file[4096];
    int from_rbms = 0;
    int rc = cli_load_init(ctx, spec, m, &from_rbms, file, sizeof file);
    if (rc != 0)
        return rc;
    *visible = rbm_machine_unit_kind(*m, RBM_LAYER_VISIBLE);
    *hidden = rbm_machine_unit_kind(*m, RBM_LAYER_HIDDEN);
    *n_hidden = rbm_machine_n_hidden(*m);
    *prec = rbm_machine_precision(*m);
    return 0;
}

/* ARCHIVE of ARCHIVE[:N] into file. */
static void init_file(const char *spec, char *file, size_t cap)
{
    const char *colon = strrchr(spec, ':');
    size_t n = strlen(spec);
    if (colon && colon[1] >= '0' && colon[1] <= '9' &&
        strspn(colon + 1, "0123456789") == strlen(colon + 1))
        n = (size_t)(colon - spec);
    snprintf(file, cap, "%.*s", (int)n, spec);
}

int cli_train_init_chains(rbm_context *ctx, const char *spec, rbm_trainer *t, int quiet)
{
    char file[4096];
    init_file(spec, file, sizeof file);
    rbm_estimator *e = rbm_trainer_estimator(t);
    if (cli_model_format_of(file) != MODEL_FORMAT_RBMS || !rbm_estimator_sampler(e))
        return 0; /* only PCD keeps chains, and only rbms archives have them */
    rbm_dataset *ch = NULL;
    rbm_status st = rbm_rbms_load_chains(ctx, file, &ch);
    size_t rows = rbm_dataset_rows(ch), cols = rbm_dataset_cols(ch);
    double *v = NULL;
    if (st == RBM_OK && cols != rbm_machine_n_visible(rbm_trainer_machine(t))) {
        cli_errorf("the parallel_chains of '%s' have %zu columns, the model %zu visible units",
                   file, cols, rbm_machine_n_visible(rbm_trainer_machine(t)));
        rbm_dataset_free(ch);
        return EXIT_RUNTIME;
    }
    if (st == RBM_OK)
        st = rbm_estimator_set_int(e, RBM_ESTIMATOR_CHAINS, (int64_t)rows);
    if (st == RBM_OK && !(v = malloc(rows * cols * sizeof *v)))
        st = RBM_ERR_NO_MEMORY;
    if (st == RBM_OK)
        st = rbm_dataset_get_rows(ch, 0, rows, v, rows * cols);
    if (st == RBM_OK)
        st = rbm_sampler_set_visible(rbm_estimator_sampler(e), v, rows * cols);
    free(v);
    rbm_dataset_free(ch);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot start the chains from the parallel_chains of '%s'",
                       file);
        return EXIT_RUNTIME;
    }
    if (!quiet)
        fprintf(stderr, "rbm: %zu persistent chains continue from the parallel_chains of '%s'\n",
                rows, file);
    return 0;
}

void cli_usage_train_archives(FILE *f)
{
    fputs("archives (docs/interop.md):\n"
          "  --archive FILE        also write the run's trajectory to the librbm training\n"
          "                        archive FILE: the model at --archive-saves log-spaced\n"
          "                        steps (default 20, as rbms saves), their spectra, the\n"
          "                        command line, the final model and checkpoint; an\n"
          "                        existing archive is appended to (a resumed run)\n"
          "  --archive-saves N     models saved along the run (at least 2)\n"
          "  --archive-every-epoch also save the model at the end of every epoch\n"
          "  --init ARCHIVE[:N]    start from the model saved at update/step N (default the\n"
          "                        last) of an rbms HDF5 archive, a librbm archive or a\n"
          "                        model file; it decides the units, sizes and precision\n"
          "\n",
          f);
}

int cli_take_init(rbm_machine **init, size_t cols, rbm_machine **m)
{
    if (rbm_machine_n_visible(*init) != cols) {
        cli_errorf("the --init model has %zu visible units, the data %zu columns",
                   rbm_machine_n_visible(*init), cols);
        return EXIT_RUNTIME;
    }
    *m = *init;
    *init = NULL;
    return 0;
}
