/* cmd_train.c — 'rbm train': train an RBM on synthetic data, Fashion-MNIST
 * or a file (or continue a checkpointed run), save it, and print a report
 * (or one JSON object) followed by the spectral and thermodynamic report
 * of cli_report.c. The step loop is cli_training.c. */
#include "cli.h"
#include "cli_parallel.h"
#include "cli_tempering.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The first half of the usage: data, machine and training options. */
static void usage_training(FILE *f)
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
          CLI_DATA_READ_HELP,
          f);
    cli_usage_alignment(f);
    fputs("\n"
          "machine:\n"
          "  --visible bernoulli|ising|gaussian|potts   (default ising for synthetic\n"
          "                        data, potts for an alignment, bernoulli otherwise)\n"
          "  --hidden bernoulli|ising|gaussian    (default: the visible kind, or\n"
          "                                        bernoulli for gaussian/potts visible)\n"
          "  --sigma-v S, --sigma-h S   standard deviation of a gaussian layer (default 1)\n"
          "  --n-hidden N          hidden units (default 50; 500 for fashion-mnist;\n"
          "                        10 with --estimator exact)\n"
          "  --precision float32|float64   arithmetic of the training kernels\n"
          "                        (default float64)\n"
          "\n"
          "training:\n",
          f);
    cli_usage_train_estimators(f);
    fputs("  --epochs E            passes over the data (default 50 for synthetic\n"
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
}

void cli_usage_train(FILE *f)
{
    usage_training(f);
    fputs("checkpoints:\n"
          "  --checkpoint-every E  every E epochs (and when interrupted) write a\n"
          "                        checkpoint MODEL.ckpt (the --out path + \".ckpt\"): the\n"
          "                        model plus the complete training state; a model file\n"
          "                        for every reader\n"
          "  --resume CKPT         continue the run saved in CKPT, bit for bit, up to\n"
          "                        --epochs epochs in total; give the same --data and\n"
          "                        --seed (the machine and training options come from\n"
          "                        the checkpoint)\n"
          "\n",
          f);
    cli_usage_train_parallel(f);
    cli_usage_train_archives(f);
    fputs("output:\n"
          "  --out MODEL           where to save the model (default " DEFAULT_MODEL_PATH ")\n"
          "  --json                print one JSON object on stdout instead of the report\n"
          "                        (no spectral/thermodynamic report, no plots)\n"
          "  --quiet               no progress display on stderr\n"
          "  -h, --help            show this help\n"
          "\n"
          "spectrum, report and plots:\n"
          "  --track-spectrum      record the singular values of W (all modes up to 512,\n"
          "                        followed by identity), the Marchenko-Pastur bulk edge\n"
          "                        and the number of modes outside the bulk and of\n"
          "                        significant modes (the census of docs/spectral.md\n"
          "                        against the training data) at the start and after\n"
          "                        every epoch; written to MODEL.spectrum.csv\n"
          "                        (step,edge,n_outside,w0,w1,...,n_significant). On by\n"
          "                        default with the report\n"
          "  --track-every STEPS   also record every STEPS minibatch steps (implies\n"
          "                        --track-spectrum; the linear regime can end inside\n"
          "                        the first epoch)\n"
          "  --track-fixed-points  count the TAP2 states (20 random starts and 20 data\n"
          "                        rows) at every spectrum record: MODEL.fixed_points.csv\n"
          "                        (step,n_fixed_points,n_stable; implies --track-spectrum)\n"
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

/* ---- options ---- */

struct train_opts {
    const char *data;
    enum cli_data_source source;
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
    size_t track_every;      /* --track-every STEPS (0: once per epoch) */
    int track_fp;            /* --track-fixed-points */
    int track_given;         /* one of the three --track-* options was given */
    double sigma_v, sigma_h; /* --sigma-v, --sigma-h (NaN: not given) */
    int no_report;           /* --no-report */
    const char *plots;       /* --plots DIR, or NULL: beside the model */
    int no_plots;            /* --no-plots */
    int report;              /* the spectral/thermodynamic report is printed */
    const char *archive, *init; /* --archive FILE, --init ARCHIVE[:N] (or NULL) */
    size_t archive_saves;       /* --archive-saves (0: the default) */
    int archive_every_epoch;    /* --archive-every-epoch */
    int argc;                   /* the command line, for the archive */
    char **argv;
};

static void default_train_opts(struct train_opts *o)
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
    o->sigma_v = o->sigma_h = NAN;
}

/* Data-dependent defaults. The synthetic data of the papers is +-1
 * (docs/theory.md §7) and the physics is written for +-1 units: Ising there.
 * Images are conventionally modelled with {0,1} units (as in bench/):
 * Bernoulli elsewhere. */
static void data_defaults(struct train_opts *o)
{
    o->source = cli_data_source_of(o->data);
    if (!o->visible_set)
        o->visible = o->source == DATA_SYNTHETIC ? RBM_UNIT_ISING : RBM_UNIT_BERNOULLI;
    if (!o->hidden_set)
        o->hidden = o->visible == RBM_UNIT_GAUSSIAN || o->visible == RBM_UNIT_POTTS
                        ? RBM_UNIT_BERNOULLI
                        : o->visible;
    if (!o->n_hidden_set) {
        if (o->estimator == RBM_ESTIMATOR_EXACT)
            o->n_hidden = 10; /* 2^10 states per gradient: about 1 s per epoch */
        else
            o->n_hidden = o->source == DATA_FASHION_MNIST ? 500 : 50;
    }
    if (!o->epochs_set)
        o->epochs = o->source == DATA_SYNTHETIC ? 50 : 5;
}

/* Returns 0 on success, EXIT_USAGE after printing an error. */
static int parse_train_opts(int argc, char **argv, struct train_opts *o)
{
    default_train_opts(o);
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o->json, &o->quiet, &o->help),
        {"--log-likelihood", .type = OPT_FLAG, .dst = &o->log_likelihood},
        {"--track-spectrum", .type = OPT_FLAG, .dst = &o->track_spectrum},
        {"--track-every", .type = OPT_SIZE, .dst = &o->track_every, .min = 1},
        {"--track-fixed-points", .type = OPT_FLAG, .dst = &o->track_fp},
        {"--sigma-v", .type = OPT_POSITIVE, .dst = &o->sigma_v, .config = 1},
        {"--sigma-h", .type = OPT_POSITIVE, .dst = &o->sigma_h, .config = 1},
        {"--no-report", .type = OPT_FLAG, .dst = &o->no_report},
        {"--no-plots", .type = OPT_FLAG, .dst = &o->no_plots},
        {"--data", .type = OPT_STRING, .dst = &o->data, .expected = DATA_EXPECTED},
        CLI_DATA_READ_OPTIONS,
        {"--visible", .type = OPT_CHOICE, .choice = &CLI_UNIT_CHOICE, .dst = &o->visible,
         .set = &o->visible_set, .config = 1},
        {"--hidden", .type = OPT_CHOICE, .choice = &CLI_UNIT_CHOICE, .dst = &o->hidden,
         .set = &o->hidden_set, .config = 1},
        {"--n-hidden", .type = OPT_SIZE, .dst = &o->n_hidden, .min = 1, .set = &o->n_hidden_set,
         .config = 1},
        {"--estimator", .type = OPT_CHOICE, .choice = &CLI_ESTIMATOR_CHOICE,
         .dst = &o->estimator, .config = 1},
        {"-k", .type = OPT_SIZE, .dst = &o->k, .min = 1, .config = 1},
        CLI_TRAIN_TEMPERING_OPTIONS,
        CLI_TRAIN_PARALLEL_OPTIONS,
        {"--epochs", .type = OPT_SIZE, .dst = &o->epochs, .min = 1, .set = &o->epochs_set},
        {"--batch", .type = OPT_SIZE, .dst = &o->batch, .min = 1, .set = &o->batch_set,
         .config = 1},
        {"--lr", .type = OPT_POSITIVE, .dst = &o->lr, .config = 1},
        {"--optimizer", .type = OPT_CHOICE, .choice = &CLI_OPTIMIZER_CHOICE,
         .dst = &o->optimizer, .config = 1},
        {"--l2", .type = OPT_REAL, .dst = &o->l2, .config = 1},
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--precision", .type = OPT_CHOICE, .choice = &CLI_PRECISION_CHOICE,
         .dst = &o->precision, .config = 1},
        {"--checkpoint-every", .type = OPT_SIZE, .dst = &o->checkpoint_every, .min = 1},
        {"--resume", .type = OPT_STRING, .dst = &o->resume,
         .expected = "expected a checkpoint file"},
        {"--out", .type = OPT_STRING, .dst = &o->out, .expected = "expected a file name"},
        {"--plots", .type = OPT_STRING, .dst = &o->plots, .expected = "expected a directory"},
        {"--archive", .type = OPT_STRING, .dst = &o->archive, .expected = "expected a file"},
        {"--archive-saves", .type = OPT_SIZE, .dst = &o->archive_saves, .min = 2},
        {"--archive-every-epoch", .type = OPT_FLAG, .dst = &o->archive_every_epoch},
        {"--init", .type = OPT_STRING, .dst = &o->init, .expected = "expected ARCHIVE[:N]",
         .config = 1},
    };
    const struct cli_args args = {.cmd = "train",
                                  .opts = opts,
                                  .n_opts = ARRAY_LEN(opts),
                                  .stray_hint = "use --data FILE to train on a file; ",
                                  .version_hint = 1,
                                  .config_opt = &o->config_opt};
    int rc = cli_parse_args(&args, argc, argv);
    if (rc != 0)
        return rc;
    data_defaults(o);
    /* the report (text output only) needs the spectrum history */
    o->report = !o->json && !o->no_report;
    o->track_given = o->track_spectrum || o->track_every > 0 || o->track_fp;
    if (o->report || o->track_every > 0 || o->track_fp)
        o->track_spectrum = 1;
    if (o->plots && (o->no_plots || !o->report)) {
        cli_errorf("--plots needs the report (it is off with %s)",
                   o->no_plots ? "--no-plots" : o->json ? "--json" : "--no-report");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- one run ---- */

/* Everything a run of 'rbm train' holds (freed by free_run but the
 * context). */
struct train_run {
    struct train_opts o;
    rbm_context *ctx;
    rbm_dataset *data;
    rbm_machine *m;
    rbm_trainer *t;
    rbm_mode_tracker *tracker;
    rbm_census *census; /* of the training data, for the tracker */
    struct cli_fp_track fpt; /* --track-fixed-points */
    char *spec_csv;
    rbm_machine *init_m;               /* --init's model until new_machine takes it */
    struct cli_archive_run *archive;   /* --archive */
    struct cli_data_info di;
    struct cli_train_result res;
    struct cli_track_summary ts;
};

static void free_run(struct train_run *r)
{
    free(r->res.history);
    free(r->res.ll_history);
    free(r->spec_csv);
    rbm_mode_tracker_free(r->tracker);
    rbm_census_free(r->census);
    cli_fp_track_free(&r->fpt);
    cli_archive_free(r->archive);
    rbm_machine_free(r->init_m);
    rbm_trainer_free(r->t);
    rbm_machine_free(r->m);
    rbm_dataset_free(r->data);
}

/* The machine of the checkpoint decides the data transform: its kinds and
 * sizes into the options; *nv its visible units. */
static int probe_checkpoint(struct train_run *r, size_t *nv)
{
    rbm_machine *probe = NULL;
    rbm_status st = rbm_machine_load(r->ctx, r->o.resume, &probe);
    if (st != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot load the checkpoint '%s'", r->o.resume);
        return EXIT_RUNTIME;
    }
    r->o.visible = rbm_machine_unit_kind(probe, RBM_LAYER_VISIBLE);
    r->o.hidden = rbm_machine_unit_kind(probe, RBM_LAYER_HIDDEN);
    r->o.n_hidden = rbm_machine_n_hidden(probe);
    r->o.precision = rbm_machine_precision(probe);
    *nv = rbm_machine_n_visible(probe);
    rbm_machine_free(probe);
    return 0;
}

/* The machine and trainer of the checkpoint; the training configuration
 * it holds, as the library reports it, into the options. */
static int resume_trainer(struct train_run *r, size_t ckpt_nv)
{
    struct train_opts *o = &r->o;
    if (r->di.cols != ckpt_nv) {
        cli_errorf("the checkpoint '%s' has %zu visible units but the data has %zu columns",
                   o->resume, ckpt_nv, r->di.cols);
        return EXIT_RUNTIME;
    }
    rbm_status st = rbm_trainer_load_checkpoint(r->ctx, o->resume, r->data, &r->m, &r->t);
    if (st != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot resume from '%s'%s", o->resume,
                       st == RBM_ERR_SHAPE
                           ? " (give the --data and --seed of the run that wrote it)"
                           : "");
        return EXIT_RUNTIME;
    }
    size_t done_epochs = (size_t)rbm_trainer_epoch_count(r->t);
    if (done_epochs >= o->epochs) {
        cli_errorf("the checkpoint '%s' has completed %zu epoch%s already; ask for more with "
                   "--epochs (the total number of epochs)",
                   o->resume, done_epochs, done_epochs == 1 ? "" : "s");
        return EXIT_USAGE;
    }
    int rc = cli_train_parallel_apply(r->ctx, r->t);
    if (rc != 0)
        return rc;
    o->batch = rbm_trainer_batch_size(r->t);
    rbm_trainer_get_real(r->t, RBM_TRAINER_LEARNING_RATE, &o->lr);
    rbm_trainer_get_real(r->t, RBM_TRAINER_L2, &o->l2);
    const rbm_estimator *e = rbm_trainer_estimator(r->t);
    o->estimator = rbm_estimator_kind_of(e);
    int64_t k = 0;
    rbm_estimator_get_int(e, RBM_ESTIMATOR_K, &k);
    o->k = (size_t)k;
    o->optimizer = rbm_trainer_optimizer(r->t);
    return 0;
}

/* A new machine: N(0, 0.01^2) weights, visible biases from the data. */
static int new_machine(struct train_run *r)
{
    const struct train_opts *o = &r->o;
    if (r->init_m)
        return cli_take_init(&r->init_m, r->di.cols, &r->m);
    rbm_status st = cli_new_machine(r->ctx, &r->di, o->n_hidden, o->visible, o->hidden, &r->m);
    if (st != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot create a %zu x %zu machine", r->di.cols, o->n_hidden);
        return EXIT_RUNTIME;
    }
    if (cli_train_set_sigmas(r->ctx, r->m, o->sigma_v, o->sigma_h) != 0)
        return EXIT_USAGE;
    if ((st = rbm_machine_set_precision(r->m, o->precision)) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot set precision %s", cli_precision_name(o->precision));
        return EXIT_RUNTIME;
    }
    if ((st = rbm_machine_init_normal(r->m, 0.01, cli_derive_seed(o->seed, 1))) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot initialise the weights");
        return EXIT_RUNTIME;
    }
    if ((st = rbm_machine_init_visible_bias_from_data(r->m, r->data)) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot initialise the visible biases from the data");
        return EXIT_RUNTIME;
    }
    return 0;
}

/* A usage error for invalid values the library refused, else a runtime one. */
static int refused(rbm_status st)
{
    return st == RBM_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_RUNTIME;
}

/* A new machine and its trainer configured from the options. */
static int new_trainer(struct train_run *r)
{
    struct train_opts *o = &r->o;
    /* a small data set and the default batch size: use the whole set */
    if (!o->batch_set && o->batch > r->di.rows)
        o->batch = r->di.rows;
    int rc = cli_train_check_combination(o->estimator, o->visible, o->hidden, r->di.cols,
                                         r->di.n_states, o->n_hidden, o->batch, r->di.rows);
    if (rc != 0 || (rc = new_machine(r)) != 0)
        return rc;
    rbm_status st = rbm_trainer_new(r->m, r->data, o->batch, cli_derive_seed(o->seed, 2), &r->t);
    if (st != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot create the trainer");
        return EXIT_RUNTIME;
    }
    if ((st = rbm_trainer_set_estimator(r->t, o->estimator, o->k)) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot use estimator %s", cli_estimator_name(o->estimator));
        return st == RBM_ERR_UNSUPPORTED ? EXIT_USAGE : refused(st);
    }
    if (cli_train_tempering_apply(r->ctx, r->t) != 0)
        return EXIT_USAGE;
    if ((st = rbm_trainer_set_optimizer(r->t, o->optimizer)) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot use optimizer %s", cli_optimizer_name(o->optimizer));
        return EXIT_RUNTIME;
    }
    if ((st = rbm_trainer_set_real(r->t, RBM_TRAINER_LEARNING_RATE, o->lr)) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot set learning rate %g", o->lr);
        return refused(st);
    }
    if ((st = rbm_trainer_set_real(r->t, RBM_TRAINER_L2, o->l2)) != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot set L2 weight decay %g", o->l2);
        return refused(st);
    }
    if ((rc = cli_train_parallel_apply(r->ctx, r->t)) != 0)
        return rc;
    return o->init ? cli_train_init_chains(r->ctx, o->init, r->t, o->quiet) : 0;
}

/* The exact log-likelihood after every epoch: when cheap, or forced. */
static int plan_log_likelihood(struct train_run *r)
{
    const struct train_opts *o = &r->o;
    size_t eu = cli_enum_units(r->m);
    if (!o->log_likelihood) {
        r->res.ll_enabled = eu <= 16 && r->di.rows <= 100000 && cli_exact_is_cheap(r->m) &&
                            (eu > 0 || r->di.cols + o->n_hidden <= 2000);
        return 0;
    }
    if (eu > RBM_EXACT_LOG_Z_MAX_UNITS) {
        cli_errorf("--log-likelihood enumerates a bernoulli or ising layer of at most %d units, "
                   "but the machine has %zu %s visible and %zu %s hidden units",
                   RBM_EXACT_LOG_Z_MAX_UNITS, r->di.cols, cli_unit_name(o->visible), o->n_hidden,
                   cli_unit_name(o->hidden));
        return EXIT_USAGE;
    }
    r->res.ll_enabled = 1;
    return 0;
}

/* "rbm: synthetic (10000 x 100), ising-ising RBM with 50 hidden, ..." */
static void announce(const struct train_run *r)
{
    const struct train_opts *o = &r->o;
    char est[32];
    if (o->estimator == RBM_ESTIMATOR_EXACT)
        snprintf(est, sizeof est, "exact gradient");
    else
        cli_fmt_estimator(est, sizeof est, o->estimator, o->k);
    fprintf(stderr,
            "rbm: %s (%zu x %zu), %s-%s RBM with %zu hidden, %s, %zu epoch%s x %zu "
            "batches%s\n",
            o->data, r->di.rows, r->di.cols, cli_unit_name(o->visible), cli_unit_name(o->hidden),
            o->n_hidden, est, o->epochs, o->epochs == 1 ? "" : "s",
            rbm_trainer_batches_per_epoch(r->t),
            r->res.ll_enabled ? ", exact log-likelihood every epoch" : "");
    if (o->resume)
        fprintf(stderr, "rbm: resuming from '%s' after epoch %llu (minibatch %zu)\n", o->resume,
                (unsigned long long)rbm_trainer_epoch_count(r->t), rbm_trainer_batch_index(r->t));
    fflush(stderr);
}

/* --track-spectrum: the tracker and its first record. */
static int start_tracking(struct train_run *r)
{
    if (r->o.visible == RBM_UNIT_POTTS) /* the mode tracker refuses Potts machines */
        return r->o.track_given ? cli_potts_refuse_tracking() : 0;
    size_t rk = r->di.cols < r->o.n_hidden ? r->di.cols : r->o.n_hidden;
    size_t nm = rk < TRACK_MODES ? rk : TRACK_MODES;
    r->spec_csv = cli_path_suffix(r->o.out, ".spectrum.csv");
    if (!r->spec_csv) {
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    r->fpt.data = r->data;
    r->fpt.seed = cli_derive_seed(r->o.seed, 6);
    return cli_start_tracking(r->ctx, r->m, r->data, nm, rbm_trainer_step_count(r->t),
                              &r->tracker, &r->census, r->o.track_fp ? &r->fpt : NULL,
                              &r->res.track_seconds);
}

/* The model, and the spectrum history beside it with its summary. */
static int save_results(struct train_run *r)
{
    int rc_fp;
    cli_record_provenance(r->m, r->o.data, r->o.seed, r->o.visible, &r->di);
    rbm_status st = rbm_machine_save(r->m, r->o.out);
    if (st != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot save the model to '%s'", r->o.out);
        return EXIT_RUNTIME;
    }
    if (!r->tracker)
        return 0;
    st = rbm_mode_tracker_write_csv(r->tracker, r->spec_csv);
    if (st != RBM_OK) {
        cli_lib_errorf(r->ctx, st, "cannot write the spectrum history '%s'", r->spec_csv);
        return EXIT_RUNTIME;
    }
    if (r->o.track_fp && (rc_fp = cli_fp_track_save(&r->fpt, r->o.out)) != 0)
        return rc_fp;
    struct cli_track_summary *ts = &r->ts;
    ts->csv = r->spec_csv;
    ts->records = rbm_mode_tracker_record_count(r->tracker);
    ts->n_modes = rbm_mode_tracker_mode_count(r->tracker);
    ts->seconds = r->res.track_seconds;
    if (ts->records > 0 &&
        rbm_mode_tracker_get_record(r->tracker, ts->records - 1, NULL, ts->top, ts->n_modes,
                                    &ts->edge, &ts->n_outside) == RBM_OK)
        qsort(ts->top, ts->n_modes, sizeof ts->top[0], cli_cmp_desc);
    if (ts->records > 0)
        rbm_mode_tracker_get_significant(r->tracker, ts->records - 1, &ts->n_significant);
    return 0;
}

/* ---- output ---- */

static void print_report(const struct train_run *r, double rate)
{
    const struct train_opts *o = &r->o;
    const struct cli_train_result *res = &r->res;
    char rate_s[32], time_s[32], est[32], a[32], b[32];
    cli_fmt_rate(rate_s, sizeof rate_s, rate);
    cli_fmt_seconds(time_s, sizeof time_s, res->seconds);
    cli_print_data_line(o->data, o->source, o->visible, &r->di);
    printf("machine     %zu %s visible x %zu %s hidden, %s\n", r->di.cols,
           cli_unit_name(o->visible), o->n_hidden, cli_unit_name(o->hidden),
           cli_precision_name(o->precision));
    cli_fmt_estimator(est, sizeof est, o->estimator, o->k);
    printf("estimator   %s, %s lr %g", est, cli_optimizer_name(o->optimizer), o->lr);
    if (o->l2 > 0)
        printf(", l2 %g", o->l2);
    printf(", batch %zu, seed %llu", o->batch, (unsigned long long)o->seed);
    if (rbm_trainer_worker_count(r->t) > 1)
        printf(", %zu workers", rbm_trainer_worker_count(r->t));
    printf("\n");
    printf("epochs      %zu of %zu (%llu steps)%s\n", res->epochs_done, o->epochs,
           (unsigned long long)res->total_steps, res->interrupted ? ", interrupted" : "");
    if (o->resume)
        printf("resumed     from %s after epoch %zu\n", o->resume, res->start_epoch);
    printf("time        %s, %s samples/s\n", time_s, rate_s);
    cli_fmt_recon(a, sizeof a, res->recon_first);
    cli_fmt_recon(b, sizeof b, res->recon_last);
    printf("recon error %s -> %s (first -> last epoch)\n", a, b);
    if (res->ll_len > 0) {
        cli_fmt_ll(a, sizeof a, res->ll_history[0]);
        cli_fmt_ll(b, sizeof b, res->ll_last);
        printf("log-lik     %s -> %s (exact mean log-likelihood of the data, nats; first -> "
               "last epoch)\n",
               a, b);
    }
    if (o->checkpoint_every > 0)
        printf("checkpoint  %s.ckpt (every %zu epoch%s, %zu written)\n", o->out,
               o->checkpoint_every, o->checkpoint_every == 1 ? "" : "s", res->checkpoints);
    if (r->ts.csv && r->ts.records > 0)
        cli_print_track_summary(&r->ts, res);
    cli_fp_track_print(&r->fpt);
    printf("model       %s\n", o->out);
}

/* The configuration members of the JSON object. */
static void json_config(FILE *f, int *first, const struct train_run *r)
{
    const struct train_opts *o = &r->o;
    cli_json_str(f, first, "data", o->data);
    cli_json_str(f, first, "transform", r->di.transform);
    cli_json_size(f, first, "n_samples", r->di.rows);
    cli_json_size(f, first, "n_visible", r->di.cols);
    cli_json_alignment(f, first, &r->di);
    cli_json_size(f, first, "n_hidden", o->n_hidden);
    cli_json_str(f, first, "visible", cli_unit_name(o->visible));
    cli_json_str(f, first, "hidden", cli_unit_name(o->hidden));
    cli_json_real(f, first, "sigma_v", rbm_machine_sigma(r->m, RBM_LAYER_VISIBLE));
    cli_json_real(f, first, "sigma_h", rbm_machine_sigma(r->m, RBM_LAYER_HIDDEN));
    cli_json_str(f, first, "precision", cli_precision_name(o->precision));
    cli_json_str(f, first, "estimator", cli_estimator_name(o->estimator));
    cli_json_size(f, first, "k", o->k);
    cli_json_bool(f, first, "centered", cli_train_tempering.centered);
    cli_json_str(f, first, "optimizer", cli_optimizer_name(o->optimizer));
    cli_json_real(f, first, "learning_rate", o->lr);
    cli_json_real(f, first, "l2", o->l2);
    cli_json_size(f, first, "batch", o->batch);
    cli_json_u64(f, first, "seed", o->seed);
    cli_json_size(f, first, "workers", rbm_trainer_worker_count(r->t));
}

static void print_json(const struct train_run *r, double rate)
{
    const struct train_opts *o = &r->o;
    const struct cli_train_result *res = &r->res;
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "train");
    json_config(f, &first, r);
    cli_json_size(f, &first, "epochs", res->epochs_done);
    cli_json_size(f, &first, "epochs_requested", o->epochs);
    cli_json_u64(f, &first, "steps", res->total_steps);
    cli_json_size(f, &first, "start_epoch", res->start_epoch);
    cli_json_str_or_null(f, &first, "resumed_from", o->resume);
    cli_json_real(f, &first, "seconds", res->seconds);
    cli_json_real(f, &first, "samples_per_second", rate);
    cli_json_real(f, &first, "reconstruction_error", res->recon_last);
    cli_json_real(f, &first, "reconstruction_error_first", res->recon_first);
    cli_json_key(f, &first, "reconstruction_error_history");
    cli_json_numbers(f, res->history, res->history_len);
    cli_json_real(f, &first, "log_likelihood", res->ll_len > 0 ? res->ll_last : NAN);
    cli_json_key(f, &first, "log_likelihood_per_epoch");
    cli_json_numbers(f, res->ll_history, res->ll_len);
    cli_json_size(f, &first, "checkpoint_every", o->checkpoint_every);
    char *c = o->checkpoint_every > 0 ? cli_path_suffix(o->out, ".ckpt") : NULL;
    cli_json_str_or_null(f, &first, "checkpoint_path",
                         o->checkpoint_every > 0 ? (c ? c : "") : NULL);
    free(c);
    cli_json_bool(f, &first, "interrupted", res->interrupted);
    if (res->interrupted)
        cli_json_str(f, &first, "signal", res->interrupted == SIGINT ? "SIGINT" : "SIGTERM");
    cli_json_track_summary(f, &first, &r->ts);
    cli_fp_track_json(f, &first, &r->fpt);
    cli_json_str(f, &first, "model_path", o->out);
    fputs("\n}\n", f);
}

/* The spectral and thermodynamic report with plots beside the model. */
static int report(struct train_run *r)
{
    const struct train_opts *o = &r->o;
    char *plots_dir = NULL;
    if (!o->no_plots) {
        plots_dir = o->plots ? strdup(o->plots) : cli_default_plots_dir(o->out);
        if (!plots_dir) {
            cli_errorf("out of memory");
            return EXIT_RUNTIME;
        }
    }
    char title[256], est[32];
    cli_fmt_estimator(est, sizeof est, o->estimator, o->k);
    snprintf(title, sizeof title, "%s RBM %zu x %zu, %s, %zu epochs on %s data",
             cli_unit_name(o->visible), r->di.cols, o->n_hidden, est, r->res.epochs_done,
             o->source == DATA_SYNTHETIC        ? "synthetic"
             : o->source == DATA_FASHION_MNIST ? "fashion-mnist"
                                                : "file");
    fflush(stdout);
    struct cli_report_input in = {r->m, r->data, o->source == DATA_SYNTHETIC, o->quiet,
                                  r->tracker, rbm_trainer_batches_per_epoch(r->t), plots_dir,
                                  title, r->o.track_fp ? &r->fpt : NULL};
    cli_train_report(r->ctx, &in);
    free(plots_dir);
    return 0;
}

/* ---- the command ---- */

/* Data, machine and trainer (new, or from --resume). */
static int prepare(struct train_run *r)
{
    size_t ckpt_nv = 0;
    int rc;
    if (r->o.resume && (rc = probe_checkpoint(r, &ckpt_nv)) != 0)
        return rc;
    if (r->o.init && (rc = cli_train_init(r->ctx, r->o.init, &r->init_m, &r->o.visible,
                                          &r->o.hidden, &r->o.n_hidden,
                                          &r->o.precision)) != 0)
        return rc;
    struct cli_data_spec spec = {r->o.data, r->o.source, r->o.visible, r->o.seed, 0,
                                 !r->o.visible_set && !r->o.resume && !r->o.init};
    if ((rc = cli_load_data(r->ctx, &spec, &r->data, &r->di)) != 0)
        return rc;
    if (r->di.n_states > 0)
        r->o.visible = RBM_UNIT_POTTS;
    return r->o.resume ? resume_trainer(r, ckpt_nv) : new_trainer(r);
}

/* Train, save and print; the exit status. */
static int run_train(struct train_run *r)
{
    int rc = prepare(r);
    if (rc != 0 || (rc = plan_log_likelihood(r)) != 0)
        return rc;
    if (!r->o.quiet)
        announce(r);
    if (r->o.track_spectrum && (rc = start_tracking(r)) != 0)
        return rc;
    if (r->o.archive && (rc = cli_archive_start(r->ctx, r->o.archive, r->t, r->o.epochs,
                                                r->o.archive_saves,
                                                r->o.archive_every_epoch, r->o.argc, r->o.argv,
                                                &r->archive)) != 0)
        return rc;
    const struct cli_training_plan plan = {r->o.epochs, r->o.checkpoint_every, r->o.out,
                                           r->o.quiet, r->archive, r->o.track_every,
                                           r->o.track_fp ? &r->fpt : NULL};
    if ((rc = cli_run_training(r->ctx, r->t, r->data, &plan, &r->res, r->tracker)) != 0)
        return rc;
    if (!cli_train_parallel_root()) /* MPI rank > 0: rank 0 saves and reports */
        return r->res.interrupted ? 128 + r->res.interrupted : EXIT_OK;
    if (r->archive && (rc = cli_archive_finish(r->ctx, r->archive, r->t)) != 0)
        return rc;
    r->res.total_steps = rbm_trainer_step_count(r->t);
    if ((rc = save_results(r)) != 0)
        return rc;
    cli_warn_parameter_range(r->m, r->o.lr); /* a warning only: the exit status stays */
    double rate =
        r->res.train_seconds > 0 ? (double)r->res.samples / r->res.train_seconds : NAN;
    if (r->o.json)
        print_json(r, rate);
    else
        print_report(r, rate);
    if (r->o.report && !r->res.interrupted && (rc = report(r)) != 0)
        return rc;
    if (cli_flush_stdout() != 0)
        return EXIT_RUNTIME;
    return r->res.interrupted ? 128 + r->res.interrupted : EXIT_OK;
}

static int train(rbm_context *ctx, void *arg)
{
    struct train_run *r = arg;
    r->ctx = ctx;
    int rc = run_train(r);
    free_run(r);
    return rc;
}

int cli_cmd_train(int argc, char **argv)
{
    struct train_run r;
    memset(&r, 0, sizeof r);
    int rc = parse_train_opts(argc, argv, &r.o);
    if (rc != 0)
        return rc;
    r.o.argc = argc;
    r.o.argv = argv;
    if (r.o.help) {
        cli_usage_train(stdout);
        return EXIT_OK;
    }
    if (r.o.resume && r.o.config_opt) {
        cli_errorf("%s cannot be combined with --resume: the checkpoint holds the machine and "
                   "the training configuration (give only --data, --seed, --epochs and output "
                   "options)",
                   r.o.config_opt);
        return EXIT_USAGE;
    }
    if ((rc = cli_check_output_path(r.o.out, "the model")) != 0)
        return rc;
    if (r.o.checkpoint_every > 0) {
        char *ckpt = cli_path_suffix(r.o.out, ".ckpt");
        rc = ckpt ? cli_check_output_path(ckpt, "the checkpoint") : 0;
        free(ckpt);
        if (rc != 0)
            return rc;
    }
    if ((rc = cli_train_parallel_start(r.o.archive, r.o.init)) != 0)
        return rc;
    if (!cli_train_parallel_root()) { /* MPI rank > 0: a silent worker */
        r.o.quiet = 1;
        r.o.json = r.o.report = r.o.track_spectrum = r.o.track_fp = r.o.log_likelihood = 0;
    }
    return cli_train_parallel_finish(cli_run_in_context(train, &r));
}
