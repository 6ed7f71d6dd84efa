/* cmd_eval.c — 'rbm eval MODEL': log Z of a saved model (exact enumeration
 * or forward and reverse AIS), the mean log-likelihood of data under it and
 * the exact pseudo-log-likelihood (docs/likelihoods.md). */
#include "cli.h"
#include "cli_tempering.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AIS_DEFAULT_RUNS 100
#define AIS_DEFAULT_BETAS 14501 /* the schedule of docs/theory.md §8 */
#define AIS_REVERSE_BURN_IN 1000

#define STR_(x) #x
#define STR(x) STR_(x) /* the help text quotes the library's limits */

enum eval_method { METHOD_AUTO, METHOD_EXACT, METHOD_AIS, METHOD_PT, METHOD_PTT };

#define PT_SWEEPS 1000 /* recorded sweeps of --method pt */
/* AIS base visible biases: the data's base rate, zero (uniform), or the
 * machine's own visible biases; AUTO: uniform for ising visible units,
 * the data's base rate otherwise (docs/likelihoods.md) */
enum ais_base { BASE_AUTO, BASE_DATA, BASE_UNIFORM, BASE_MODEL };

static int parse_base(const char *s, void *dst)
{
    int *out = dst;
    if (strcmp(s, "data") == 0)
        *out = BASE_DATA;
    else if (strcmp(s, "uniform") == 0)
        *out = BASE_UNIFORM;
    else if (strcmp(s, "model") == 0)
        *out = BASE_MODEL;
    else
        return -1;
    return 0;
}

static const struct cli_choice BASE_CHOICE = {"AIS base", "data, uniform or model", parse_base};

static const char *base_name(int b)
{
    return b == BASE_DATA ? "data" : b == BASE_UNIFORM ? "uniform" : "model";
}

struct eval_opts {
    const char *model;
    const char *data;
    enum eval_method method;
    size_t runs, betas;
    int runs_set, betas_set, ais_opt_set;
    uint64_t seed, data_seed;
    int json, quiet, help;
    int no_pl;             /* --no-pl: skip the pseudo-likelihood */
    double tolerance;      /* --ais-tolerance: widest bracket called converged */
    size_t adaptive;       /* --adaptive MAX_BETAS (0: fixed schedule) */
    size_t burn_in;        /* --burn-in: reverse chains' sweeps when not exact */
    int base;              /* --ais-base (enum ais_base) */
    size_t exact_units;    /* --exact-start-units */
    double t0; /* start of the command */
};

void cli_usage_eval(FILE *f)
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
          "  --method exact|ais|pt|ptt   exact: enumerate the smaller bernoulli/ising layer\n"
          "                        (at most " STR(RBM_EXACT_LOG_Z_MAX_UNITS)
          " units; closed form for gauss-gauss\n"
          "                        machines). ais: annealed importance sampling, forward\n"
          "                        (a stochastic lower bound of log Z) and reverse (an\n"
          "                        upper bound), each with its standard error.\n"
          "                        Default: exact when that layer has at most "
          STR(RBM_EXACT_MAX_UNITS) " units\n"
          "                        and neither --runs nor --betas is given, ais otherwise\n"
          "                        pt: Bennett's acceptance ratio between the replicas\n"
          "                        of a parallel-tempering ladder (betas 0 to 1, placed\n"
          "                        automatically for swap acceptance 0.3), summed from\n"
          "                        the exact log Z of the beta = 0 model, with its\n"
          "                        standard error; " STR(PT_SWEEPS) " recorded sweeps.\n"
          "                        ptt: the same along the models of MODEL, a librbm\n"
          "                        training archive (rbm train --archive)\n"
          "  --runs R              AIS runs, or PT chains per replica (default 100, at\n"
          "                        least 2)\n"
          "  --betas N             AIS with N equally spaced inverse temperatures\n"
          "                        (default: 14501 temperatures, 0 to 0.5 step 1e-3, to\n"
          "                        0.9 step 1e-4, to 1 step 1e-5)\n"
          "  --seed S              seeds AIS (default 1)\n",
          f);
    fputs("  --ais-tolerance T     widest forward/reverse bracket (nats) that counts as\n"
          "                        converged (default 1); see 'converged' below\n"
          "  --adaptive MAX        while not converged, refine the temperatures where\n"
          "                        the log-weight variance concentrates (2K-1 of them\n"
          "                        each round) and run both directions again, up to MAX\n"
          "                        temperatures\n"
          "  --burn-in N           Gibbs sweeps of the reverse chains from data rows\n"
          "                        (default 1000; unused with exact starts, see\n"
          "                        --exact-start-units)\n"
          "  --ais-base data|uniform|model   base visible biases: the data's base rate,\n"
          "                        zero, or the model's own (default: uniform for ising\n"
          "                        visible units, data otherwise)\n"
          "  --exact-start-units N exact reverse starts when a bernoulli/ising layer has\n"
          "                        at most N units (default 20, at most 30; beyond 20\n"
          "                        the layer is enumerated twice in blocks; 0: always\n"
          "                        burn in)\n"
          "  --no-pl               skip the pseudo-likelihood\n"
          "  --data-seed S         the --seed the synthetic data was made with in 'rbm\n"
          "                        train' (default 1, its default)\n"
          CLI_DATA_READ_HELP,
          f);
    cli_usage_alignment(f);
    fputs(CLI_MODEL_READ_HELP
          "  --json                print one JSON object on stdout instead of the report\n"
          "  --quiet               no progress display on stderr\n"
          "  -h, --help            show this help\n"
          "\n",
          f);
    fputs("AIS starts from a base model with W = 0 (--ais-base); the reverse chains\n"
          "start from exact samples when a layer has at most 20 units, otherwise from\n"
          "data rows after --burn-in Gibbs sweeps. Every AIS result comes with its\n"
          "convergence evidence: the forward/reverse bracket, the effective sample\n"
          "size of the importance weights and the variance of the log-weights;\n"
          "'converged' (JSON) is false and a warning is printed when the bracket is\n"
          "wider than --ais-tolerance, inverted beyond the errors, or an ESS is below\n"
          "10% of the runs: the standard errors are then not to be trusted.\n"
          "The pseudo-likelihood is exact (every unit of every row) and needs binary\n"
          "data; it is skipped for gaussian visible units and with --no-pl.\n"
          "\n"
          "Exit status: 0 success, 1 runtime error, 2 usage error, 130 (SIGINT) or\n"
          "143 (SIGTERM) when interrupted.\n",
          f);
}

static int parse_method(const char *s, void *dst)
{
    if (strcmp(s, "exact") == 0)
        *(enum eval_method *)dst = METHOD_EXACT;
    else if (strcmp(s, "ais") == 0)
        *(enum eval_method *)dst = METHOD_AIS;
    else if (strcmp(s, "pt") == 0)
        *(enum eval_method *)dst = METHOD_PT;
    else if (strcmp(s, "ptt") == 0)
        *(enum eval_method *)dst = METHOD_PTT;
    else
        return -1;
    return 0;
}

static const struct cli_choice METHOD_CHOICE = {"method", "exact, ais, pt or ptt", parse_method};

static int parse_eval_opts(int argc, char **argv, struct eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = "synthetic";
    o->method = METHOD_AUTO;
    o->runs = AIS_DEFAULT_RUNS;
    o->betas = AIS_DEFAULT_BETAS;
    o->seed = 1;
    o->data_seed = 1;
    o->tolerance = 1.0;
    o->burn_in = AIS_REVERSE_BURN_IN;
    o->exact_units = RBM_AIS_EXACT_START_UNITS;
    const struct cli_option opts[] = {
        CLI_OUTPUT_FLAGS(&o->json, &o->quiet, &o->help),
        CLI_DATA_OPTIONS(&o->data, &o->data_seed),
        {"--runs", .type = OPT_SIZE, .dst = &o->runs, .min = 2, .set = &o->runs_set},
        {"--betas", .type = OPT_SIZE, .dst = &o->betas, .min = 2, .set = &o->betas_set},
        {"--seed", .type = OPT_U64, .dst = &o->seed},
        {"--method", .type = OPT_CHOICE, .choice = &METHOD_CHOICE, .dst = &o->method},
        {"--no-pl", .type = OPT_FLAG, .dst = &o->no_pl},
        {"--ais-base", .type = OPT_CHOICE, .choice = &BASE_CHOICE, .dst = &o->base,
         .set = &o->ais_opt_set},
        {"--ais-tolerance", .type = OPT_POSITIVE, .dst = &o->tolerance, .set = &o->ais_opt_set},
        {"--adaptive", .type = OPT_SIZE, .dst = &o->adaptive, .min = 2, .set = &o->ais_opt_set},
        {"--burn-in", .type = OPT_SIZE, .dst = &o->burn_in, .set = &o->ais_opt_set},
        {"--exact-start-units", .type = OPT_SIZE, .dst = &o->exact_units,
         .set = &o->ais_opt_set},
    };
    const struct cli_args args = {.cmd = "eval", .opts = opts, .n_opts = ARRAY_LEN(opts),
                                  .model = &o->model};
    if (cli_parse_args(&args, argc, argv) != 0)
        return EXIT_USAGE;
    if (!o->help && cli_need_model("eval", o->model) != 0)
        return EXIT_USAGE;
    if (o->runs > (size_t)INT32_MAX) {
        cli_errorf("invalid value '%zu' for --runs: too large (at most %d)", o->runs, INT32_MAX);
        return EXIT_USAGE;
    }
    if (o->betas > 100000000) {
        cli_errorf("invalid value '%zu' for --betas: too large (at most 100000000)", o->betas);
        return EXIT_USAGE;
    }
    if ((o->method == METHOD_EXACT && (o->runs_set || o->betas_set || o->ais_opt_set)) ||
        ((o->method == METHOD_PT || o->method == METHOD_PTT) &&
         (o->betas_set || o->ais_opt_set))) {
        cli_errorf("%s applies to --method ais only",
                   o->runs_set && o->method == METHOD_EXACT ? "--runs"
                   : o->betas_set                           ? "--betas"
                                                            : "an AIS option");
        return EXIT_USAGE;
    }
    if (o->adaptive > 100000000) {
        cli_errorf("invalid value '%zu' for --adaptive: too large (at most 100000000)",
                   o->adaptive);
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- AIS ---- */

/* Progress of the two AIS runs: one bar over both (forward, then reverse,
 * weighted by their numbers of transitions). */
struct ais_progress {
    struct cli_progress p;
    const char *phase;
    double base, weight; /* this phase covers [base, base + weight] of the bar */
    double t0, phase_t0;
    int next_line;       /* next quarter reported in plain-line mode */
};

static int ais_progress_cb(void *user, double fraction)
{
    struct ais_progress *ap = user;
    double now = cli_now_seconds();
    if (cli_progress_due(&ap->p, now, fraction >= 1)) {
        double total = ap->base + ap->weight * fraction;
        double elapsed = now - ap->t0;
        double eta = total > 0 ? elapsed / total * (1 - total) : NAN;
        char left[64], right[96], eta_s[32], el_s[32];
        cli_fmt_duration(eta_s, sizeof eta_s, eta);
        cli_fmt_duration(el_s, sizeof el_s, elapsed);
        snprintf(left, sizeof left, "AIS %-7s %3.0f%% ", ap->phase, 100 * fraction);
        snprintf(right, sizeof right, " elapsed %s ETA %5s", el_s, eta_s);
        cli_progress_show(&ap->p, left, total, right);
        ap->p.last_draw = now;
    } else if (ap->p.mode == PROGRESS_LINES) {
        while (ap->next_line <= 3 && fraction >= 0.25 * ap->next_line) {
            char el_s[32];
            cli_fmt_seconds(el_s, sizeof el_s, now - ap->phase_t0);
            fprintf(stderr, "AIS %s %d%%  %s\n", ap->phase, 25 * ap->next_line, el_s);
            fflush(stderr);
            ap->next_line++;
        }
    }
    return cli_interrupted() ? 1 : 0;
}

struct eval_result {
    enum eval_method method;
    double log_z, log_z_se, ll;
    double log_z_rev, log_z_rev_se, ll_rev;
    double base_log_z;
    double ess, ess_rev, lwvar, lwvar_rev; /* AIS convergence evidence */
    size_t betas_used;                     /* temperatures of the last pair */
    int base;                              /* enum ais_base used */
    int exact_start;                       /* reverse chains start exact */
    double *zeros;                         /* N_v zeros (uniform base) */
    int converged;
    double pll;
    char pll_note[512];
    double seconds, seconds_log_z, seconds_reverse;
    double seconds_data, seconds_ll, seconds_pll;
    size_t enum_units;
    struct cli_pt_log_z pt;
};

/* An AIS estimator configured from the options and the data's base rate;
 * NULL after the error. */
static rbm_ais *new_ais(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                        const struct eval_opts *o, struct eval_result *r)
{
    rbm_ais *ais = NULL;
    rbm_status st = rbm_ais_new(m, cli_derive_seed(o->seed, 3), &ais);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot set up AIS");
        return NULL;
    }
    if ((st = rbm_ais_set_runs(ais, o->runs)) != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot use %zu AIS runs", o->runs);
    } else if (o->betas_set && (st = rbm_ais_set_uniform_schedule(ais, o->betas)) != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot use %zu AIS temperatures", o->betas);
    } else if ((st = rbm_ais_set_base_from_data(ais, data)) != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot set the AIS base rate from the data");
    } else if (r->base != BASE_DATA &&
               (st = rbm_ais_set_base_biases(ais, r->base == BASE_UNIFORM ? r->zeros : NULL,
                                             rbm_machine_weight_rows(m))) != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot set the AIS base biases");
    } else {
        rbm_ais_set_reverse_burn_in(ais, o->burn_in);
        if ((st = rbm_ais_set_exact_start_units(ais, o->exact_units)) != RBM_OK) {
            cli_lib_errorf(ctx, st, "invalid --exact-start-units");
            rbm_ais_free(ais);
            return NULL;
        }
        r->exact_start = rbm_ais_reverse_start_is_exact(ais);
        r->base_log_z = rbm_ais_base_log_z(ais);
        return ais;
    }
    rbm_ais_free(ais);
    return NULL;
}

/* One direction of AIS into r. 0, an exit status after an error, or 128 +
 * signal when interrupted. */
static int ais_direction(rbm_context *ctx, rbm_ais *ais, int reverse, struct ais_progress *ap,
                         const struct eval_opts *o, struct eval_result *r)
{
    double fwd = (double)(o->betas - 1);
    double rev = (double)((r->exact_start ? 0 : o->burn_in) + o->betas - 1);
    ap->phase = reverse ? "reverse" : "forward";
    ap->base = reverse ? fwd / (fwd + rev) : 0;
    ap->weight = (reverse ? rev : fwd) / (fwd + rev);
    ap->phase_t0 = cli_now_seconds();
    ap->next_line = 1;
    double lz = NAN, se = NAN;
    rbm_status st = rbm_ais_run(ais, reverse, &lz, &se);
    double dt = cli_now_seconds() - ap->phase_t0;
    if (st == RBM_STOPPED || (st == RBM_OK && cli_interrupted())) {
        cli_progress_close(&ap->p);
        int sig = cli_interrupted();
        if (!o->quiet)
            fprintf(stderr, "rbm: %s during %s AIS; no result\n", cli_signal_verb(sig),
                    ap->phase);
        return 128 + sig;
    }
    if (st != RBM_OK) {
        cli_progress_close(&ap->p);
        cli_lib_errorf(ctx, st, "%s AIS failed", ap->phase);
        return EXIT_RUNTIME;
    }
    *(reverse ? &r->log_z_rev : &r->log_z) = lz;
    rbm_ais_diagnostics(ais, reverse ? &r->ess_rev : &r->ess,
                        reverse ? &r->lwvar_rev : &r->lwvar);
    *(reverse ? &r->log_z_rev_se : &r->log_z_se) = se;
    *(reverse ? &r->seconds_reverse : &r->seconds_log_z) = dt;
    if (ap->p.mode == PROGRESS_LINES) {
        char dt_s[32];
        cli_fmt_seconds(dt_s, sizeof dt_s, dt);
        fprintf(stderr, "AIS %s: log Z = %.6f +- %.6f (%s)\n", ap->phase, lz, se, dt_s);
        fflush(stderr);
    }
    return 0;
}

/* Forward and reverse AIS. Returns 0, an exit status after an error, or
 * 128 + signal when interrupted. */
static int eval_ais(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                    const struct eval_opts *o, struct eval_result *r)
{
    r->base = o->base != BASE_AUTO ? o->base
              : rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_ISING ? BASE_UNIFORM
                                                                             : BASE_DATA;
    r->zeros = calloc(rbm_machine_weight_rows(m), sizeof *r->zeros);
    if (!r->zeros) {
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    rbm_ais *ais = new_ais(ctx, m, data, o, r);
    free(r->zeros);
    r->zeros = NULL;
    if (!ais)
        return EXIT_RUNTIME;
    struct ais_progress ap;
    memset(&ap, 0, sizeof ap);
    cli_progress_init(&ap.p, o->quiet);
    ap.t0 = cli_now_seconds();
    rbm_ais_set_progress(ais, ais_progress_cb, &ap);
    if (!o->quiet && ap.p.mode == PROGRESS_LINES) {
        fprintf(stderr, "rbm: AIS, %zu runs x %zu temperatures, forward then reverse\n", o->runs,
                o->betas);
        fflush(stderr);
    }
    cli_install_signal_handlers();
    int rc = 0;
    for (int round = 0; rc == 0; round++) {
        for (int reverse = 0; rc == 0 && reverse <= 1; reverse++)
            rc = ais_direction(ctx, ais, reverse, &ap, o, r);
        r->betas_used = rbm_ais_schedule_length(ais);
        if (rc != 0)
            break;
        r->converged = rbm_ais_bracket_converged(r->log_z, r->log_z_se, r->ess, r->log_z_rev,
                                                 r->log_z_rev_se, r->ess_rev, o->runs,
                                                 o->tolerance);
        size_t next = 2 * r->betas_used - 1;
        if (r->converged || o->adaptive == 0 || next > o->adaptive)
            break;
        rbm_status st = rbm_ais_adapt_schedule(ais, next);
        if (st != RBM_OK) {
            cli_progress_close(&ap.p);
            cli_lib_errorf(ctx, st, "cannot adapt the AIS schedule");
            rc = EXIT_RUNTIME;
            break;
        }
        if (!o->quiet)
            fprintf(stderr, "rbm: AIS not converged (bracket %.4g nats); adapting the schedule to "
                            "%zu temperatures\n",
                    r->log_z_rev - r->log_z, next);
    }
    if (rc == 0)
        cli_progress_close(&ap.p);
    cli_restore_signal_handlers();
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

/* ---- the numbers ---- */

/* The method of the options, or the default for the model; EXIT_USAGE
 * after the error when it cannot be used. */
static int choose_method(const rbm_machine *m, const struct eval_opts *o, struct eval_result *r)
{
    size_t eu = cli_enum_units(m);
    rbm_unit_kind vk = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE);
    rbm_unit_kind hk = rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN);
    int gauss_gauss = vk == RBM_UNIT_GAUSSIAN && hk == RBM_UNIT_GAUSSIAN;
    r->method = o->method;
    if (r->method == METHOD_AUTO)
        r->method = gauss_gauss || (eu <= RBM_EXACT_MAX_UNITS && cli_exact_is_cheap(m) &&
                                    !o->runs_set && !o->betas_set)
                        ? METHOD_EXACT
                        : METHOD_AIS;
    if (r->method == METHOD_EXACT && eu > RBM_EXACT_LOG_Z_MAX_UNITS) {
        cli_errorf("--method exact enumerates a bernoulli or ising layer of at most %d units, "
                   "but the model has %zu %s visible and %zu %s hidden units (use --method ais)",
                   RBM_EXACT_LOG_Z_MAX_UNITS, rbm_machine_n_visible(m), cli_unit_name(vk),
                   rbm_machine_n_hidden(m), cli_unit_name(hk));
        return EXIT_USAGE;
    }
    if (r->method == METHOD_AIS && gauss_gauss) {
        cli_errorf("AIS is not available for gauss-gauss machines: their log Z has a closed "
                   "form (use --method exact)");
        return EXIT_USAGE;
    }
    r->enum_units = eu;
    return 0;
}

/* log Z by the chosen method (and with AIS the reverse log-likelihood). */
static int eval_log_z(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                      const struct eval_opts *o, struct eval_result *r)
{
    rbm_status st;
    if (r->method == METHOD_EXACT) {
        if (!o->quiet && r->enum_units >= 20) {
            fprintf(stderr, "rbm: exact log Z: enumerating 2^%zu states\n", r->enum_units);
            fflush(stderr);
        }
        double t1 = cli_now_seconds();
        st = rbm_exact_log_z(m, &r->log_z);
        r->seconds_log_z = cli_now_seconds() - t1;
        if (st != RBM_OK) {
            cli_lib_errorf(ctx, st, "cannot compute the exact log Z");
            return EXIT_RUNTIME;
        }
        r->log_z_se = 0;
        return 0;
    }
    if (r->method == METHOD_PT || r->method == METHOD_PTT) {
        double t1 = cli_now_seconds();
        int prc = r->method == METHOD_PT
                      ? cli_pt_log_z(ctx, (rbm_machine *)m, o->runs, PT_SWEEPS, o->seed, &r->pt)
                      : cli_ptt_log_z(ctx, o->model, o->runs, PT_SWEEPS, o->seed, &r->pt);
        r->seconds_log_z = cli_now_seconds() - t1;
        r->log_z = r->pt.log_z;
        r->log_z_se = r->pt.log_z_se;
        if (prc == 0 && !o->quiet &&
            (!r->pt.reached || !(r->log_z_se < 1.0) ||
             !(fabs(r->pt.exp_forward - r->pt.exp_reverse) < 1.0 + 3 * r->log_z_se))) {
            fprintf(stderr,
                    "rbm: warning: the %s ladder is not converged (%s; BAR %.4f +- %.4g, "
                    "exponential averages %.4f forward, %.4f reverse): log Z is not reliable%s "
                    "(docs/sampling.md)\n",
                    r->method == METHOD_PT ? "temperature" : "trajectory",
                    r->pt.reached ? "every pair reached the target acceptance"
                                  : "some neighbour pairs stay below the target acceptance",
                    r->log_z, r->log_z_se, r->pt.exp_forward, r->pt.exp_reverse,
                    r->method == METHOD_PTT ? "; an archive with more saves (rbm train "
                                              "--archive-saves N) gives closer neighbours"
                                            : "");
            fflush(stderr);
        }
        return prc;
    }
    int rc = eval_ais(ctx, m, data, o, r);
    if (rc != 0)
        return rc;
    if (!o->quiet && !r->converged)
        fprintf(stderr,
                "rbm: warning: AIS has not converged: forward %.4f +- %.4f (ESS %.1f of %zu), "
                "reverse %.4f +- %.4f (ESS %.1f), bracket %.4g nats against the tolerance %g; "
                "the standard errors do not cover the error then (docs/likelihoods.md)\n",
                r->log_z, r->log_z_se, r->ess, o->runs, r->log_z_rev, r->log_z_rev_se,
                r->ess_rev, r->log_z_rev - r->log_z, o->tolerance);
    if (!o->quiet && !ais_bracket_ok(r)) {
        fprintf(stderr,
                "rbm: warning: reverse AIS (%.4f +- %.4f) is below forward AIS (%.4f +- "
                "%.4f): the chains do not mix or miss modes, so at least one estimate is off\n",
                r->log_z_rev, r->log_z_rev_se, r->log_z, r->log_z_se);
        fflush(stderr);
    }
    st = rbm_log_likelihood(m, data, r->log_z_rev, &r->ll_rev);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot compute the log-likelihood of the data");
        return EXIT_RUNTIME;
    }
    return 0;
}

/* The pseudo-likelihood, or NaN with the reason in r->pll_note. */
static int eval_pll(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                    const struct eval_opts *o, struct eval_result *r)
{
    double tl = cli_now_seconds();
    if (o->no_pl) {
        snprintf(r->pll_note, sizeof r->pll_note, "not computed: --no-pl");
        r->pll = NAN;
        return 0;
    }
    if (rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_GAUSSIAN) {
        snprintf(r->pll_note, sizeof r->pll_note,
                 "not computed: gaussian visible units have no pseudo-likelihood over "
                 "discrete values");
    } else {
        rbm_status st = rbm_pseudo_log_likelihood(m, data, &r->pll);
        if (st == RBM_ERR_OUT_OF_RANGE || st == RBM_ERR_UNSUPPORTED) {
            r->pll = NAN;
            snprintf(r->pll_note, sizeof r->pll_note, "not computed: %s",
                     rbm_context_last_error(ctx));
        } else if (st != RBM_OK) {
            cli_lib_errorf(ctx, st, "cannot compute the pseudo-likelihood");
            return EXIT_RUNTIME;
        }
    }
    r->seconds_pll = cli_now_seconds() - tl;
    if (!o->quiet && isnan(r->pll)) {
        fprintf(stderr, "rbm: note: pseudo-likelihood %s\n", r->pll_note);
        fflush(stderr);
    }
    return 0;
}

/* ---- output ---- */

static void print_eval_report(const struct eval_opts *o, const rbm_machine *m,
                              const struct cli_data_info *di, const struct eval_result *r)
{
    cli_print_model_line(o->model, m);
    cli_print_data_line(o->data, cli_data_source_of(o->data),
                        rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), di);
    if (r->method == METHOD_EXACT) {
        if (r->enum_units == 0)
            printf("method      exact (gauss-gauss closed form)\n");
        else
            printf("method      exact (enumeration of %zu units, 2^%zu states)\n", r->enum_units,
                   r->enum_units);
        printf("log Z       %.6f\n", r->log_z);
        printf("log-lik     %.6f nats (mean over %zu rows)\n", r->ll, di->rows);
    } else if (r->method == METHOD_PT || r->method == METHOD_PTT) {
        printf("method      %s + BAR (%zu replicas%s, %zu chains each, %d "
               "sweeps, log Z_0 = %.4f)\n",
               r->method == METHOD_PT ? "parallel tempering" : "PTT (archive models)",
               r->pt.replicas, r->pt.reached ? "" : ", target acceptance not reached", o->runs,
               PT_SWEEPS, r->pt.base_log_z);
        printf("log Z       %.6f +- %.6f (BAR); exponential averages %.6f +- %.6f forward, "
               "%.6f +- %.6f reverse (jackknife errors over chains)\n",
               r->log_z, r->log_z_se, r->pt.exp_forward, r->pt.exp_forward_se,
               r->pt.exp_reverse, r->pt.exp_reverse_se);
        printf("log-lik     %.6f nats (mean over %zu rows)\n", r->ll, di->rows);
    } else {
        printf("method      AIS (%zu runs, %zu temperatures%s, %s base, log Z_A = %.4f)\n",
               o->runs, r->betas_used,
               r->betas_used != o->betas ? " adapted" : o->betas_set ? " uniform" : "",
               base_name(r->base), r->base_log_z);
        printf("log Z       %.6f +- %.6f forward (stochastic lower bound)\n", r->log_z,
               r->log_z_se);
        printf("            %.6f +- %.6f reverse (stochastic upper bound)\n", r->log_z_rev,
               r->log_z_rev_se);
        printf("evidence    bracket %.4g nats (tolerance %g): %s; ESS %.1f / %.1f of %zu "
               "runs, Var(log w) %.3g / %.3g (forward / reverse)\n",
               r->log_z_rev - r->log_z, o->tolerance,
               r->converged ? "converged" : "NOT converged, the errors do not cover the error",
               r->ess, r->ess_rev, o->runs, r->lwvar, r->lwvar_rev);
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
    cli_print_time_line(r->seconds);
}

static void json_ais(FILE *f, int *first, const struct eval_opts *o, const struct eval_result *r)
{
    cli_json_real(f, first, "log_z_reverse", r->log_z_rev);
    cli_json_real(f, first, "log_z_reverse_stderr", r->log_z_rev_se);
    cli_json_real(f, first, "log_likelihood_reverse", r->ll_rev);
    cli_json_bool(f, first, "ais_bracket_consistent", ais_bracket_ok(r));
    cli_json_size(f, first, "ais_runs", o->runs);
    cli_json_size(f, first, "ais_betas", r->betas_used);
    cli_json_str(f, first, "ais_schedule",
                 r->betas_used != o->betas ? "adapted" : o->betas_set ? "uniform" : "default");
    cli_json_bool(f, first, "converged", r->converged);
    cli_json_real(f, first, "ais_tolerance", o->tolerance);
    cli_json_real(f, first, "ais_bracket_width", r->log_z_rev - r->log_z);
    cli_json_real(f, first, "ais_ess", r->ess);
    cli_json_real(f, first, "ais_ess_reverse", r->ess_rev);
    cli_json_real(f, first, "ais_log_weight_variance", r->lwvar);
    cli_json_real(f, first, "ais_log_weight_variance_reverse", r->lwvar_rev);
    cli_json_real(f, first, "ais_base_log_z", r->base_log_z);
    cli_json_str(f, first, "ais_base", base_name(r->base));
    cli_json_key(f, first, "ais_reverse_burn_in");
    fprintf(f, "%zu", r->exact_start ? (size_t)0 : o->burn_in);
    cli_json_str(f, first, "ais_reverse_start", r->exact_start ? "exact" : "burn-in");
    cli_json_real(f, first, "seconds_reverse", r->seconds_reverse);
}

static void print_eval_json(const struct eval_opts *o, const rbm_machine *m,
                            const struct cli_data_info *di, const struct eval_result *r)
{
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "eval");
    cli_json_model(f, &first, o->model, m);
    cli_json_str(f, &first, "data", o->data);
    cli_json_str(f, &first, "transform", di->transform);
    cli_json_size(f, &first, "n_rows", di->rows);
    cli_json_alignment(f, &first, di);
    cli_json_str(f, &first, "method",
                 r->method == METHOD_EXACT ? "exact"
                 : r->method == METHOD_PT  ? "pt"
                 : r->method == METHOD_PTT ? "ptt"
                                           : "ais");
    cli_json_real(f, &first, "log_z", r->log_z);
    cli_json_real(f, &first, "log_z_stderr", r->method == METHOD_EXACT ? 0.0 : r->log_z_se);
    cli_json_real(f, &first, "log_likelihood", r->ll);
    if (r->method == METHOD_AIS)
        json_ais(f, &first, o, r);
    else if (r->method == METHOD_PT || r->method == METHOD_PTT) {
        cli_json_size(f, &first, "pt_replicas", r->pt.replicas);
        cli_json_size(f, &first, "pt_chains", o->runs);
        cli_json_bool(f, &first, "pt_target_reached", r->pt.reached);
        cli_json_real(f, &first, "log_z_exp_forward", r->pt.exp_forward);
        cli_json_real(f, &first, "log_z_exp_reverse", r->pt.exp_reverse);
        cli_json_real(f, &first, "log_z_exp_forward_stderr", r->pt.exp_forward_se);
        cli_json_real(f, &first, "log_z_exp_reverse_stderr", r->pt.exp_reverse_se);
    } else
        cli_json_size(f, &first, "enumerated_units", r->enum_units);
    cli_json_real(f, &first, "pseudo_likelihood", r->pll);
    if (isnan(r->pll))
        cli_json_str(f, &first, "pseudo_likelihood_note", r->pll_note);
    cli_json_u64(f, &first, "seed", o->seed);
    cli_json_u64(f, &first, "data_seed", o->data_seed);
    cli_json_real(f, &first, "seconds_data", r->seconds_data);
    cli_json_real(f, &first, "seconds_log_z", r->seconds_log_z);
    cli_json_real(f, &first, "seconds_log_likelihood", r->seconds_ll);
    cli_json_real(f, &first, "seconds_pseudo_likelihood", r->seconds_pll);
    cli_json_real(f, &first, "seconds", r->seconds);
    fputs("\n}\n", f);
}

/* ---- the command ---- */

/* Model, data, log Z, log-likelihood, pseudo-likelihood, output. */
static int evaluate(rbm_context *ctx, void *arg)
{
    struct eval_opts *o = arg;
    rbm_machine *m = NULL;
    rbm_dataset *data = NULL;
    struct cli_data_info di;
    struct eval_result r;
    memset(&r, 0, sizeof r);
    r.log_z = r.log_z_se = r.ll = r.log_z_rev = r.log_z_rev_se = r.ll_rev = r.pll = NAN;
    int rc;
    if ((rc = cli_load_model(ctx, o->model, &m)) != 0 || (rc = choose_method(m, o, &r)) != 0)
        goto done;
    double tl = cli_now_seconds();
    if ((rc = cli_load_model_data(ctx, m, &o->data, &o->data_seed, &data, &di)) != 0)
        goto done;
    r.seconds_data = cli_now_seconds() - tl;
    if ((rc = eval_log_z(ctx, m, data, o, &r)) != 0)
        goto done;
    tl = cli_now_seconds();
    rbm_status st = rbm_log_likelihood(m, data, r.log_z, &r.ll);
    r.seconds_ll = cli_now_seconds() - tl;
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot compute the log-likelihood of the data");
        rc = EXIT_RUNTIME;
        goto done;
    }
    if ((rc = eval_pll(ctx, m, data, o, &r)) != 0)
        goto done;
    r.seconds = cli_now_seconds() - o->t0;
    if (o->json)
        print_eval_json(o, m, &di, &r);
    else
        print_eval_report(o, m, &di, &r);
    rc = cli_flush_stdout() != 0 ? EXIT_RUNTIME : EXIT_OK;
done:
    rbm_dataset_free(data);
    rbm_machine_free(m);
    return rc;
}

int cli_cmd_eval(int argc, char **argv)
{
    struct eval_opts o;
    int rc = parse_eval_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cli_usage_eval(stdout);
        return EXIT_OK;
    }
    o.t0 = cli_now_seconds();
    return cli_run_in_context(evaluate, &o);
}
