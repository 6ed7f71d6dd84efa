/* cli_tempering.c — the chains of 'rbm sample' (plain Gibbs or parallel
 * tempering, tempering.h) with their mixing diagnostics (diagnostics.h),
 * and log Z from a tuned temperature ladder for 'rbm eval --method pt'. */
#include "cli.h"
#include "cli_tempering.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIAG_MODES 2                 /* SVD modes whose projections are followed */
#define DIAG_MAX_VALUES 200000000.0  /* recorded values (8 bytes each) at most */
#define PT_TARGET 0.3                /* swap acceptance the ladder is tuned to */
#define TAP_STARTS 100               /* random starts of the TAP2 fixed-point search */

void cli_chains_free(struct cli_chains *c)
{
    rbm_sampler_free(c->s);
    rbm_tempering_free(c->t);
    rbm_svd_free(c->svd);
    free(c->series);
    free(c->v);
    free(c->f);
    free(c->p);
    free(c->basin_mv);
    free(c->basin);
    memset(c, 0, sizeof *c);
}

/* The stable TAP2 fixed points of m (from TAP_STARTS random starts) as the
 * basins chains move between; none (n_basins 0) when the solver does not
 * apply to the units or finds fewer than two. 0 or EXIT_RUNTIME. */
static int find_basins(rbm_context *ctx, rbm_machine *m, struct cli_chains *c)
{
    rbm_mf *s = NULL;
    rbm_mf_points *p = NULL;
    int rc = 0;
    if (rbm_mf_new(m, RBM_MF_TAP2, &s) != RBM_OK ||
        rbm_mf_fixed_points_random(s, TAP_STARTS, 17, &p) != RBM_OK)
        goto done; /* no TAP states for these units: no basin rate */
    size_t total = rbm_mf_points_count(p), stable = 0;
    c->basin_mv = malloc((total ? total : 1) * c->nv * sizeof *c->basin_mv);
    c->basin = calloc(c->n, sizeof *c->basin);
    if (!c->basin_mv || !c->basin) {
        cli_errorf("out of memory for the TAP basins");
        rc = EXIT_RUNTIME;
        goto done;
    }
    for (size_t k = 0; k < total; k++) {
        int st = 0;
        if (rbm_mf_points_properties(p, k, NULL, NULL, &st, NULL) == RBM_OK && st &&
            rbm_mf_points_get_magnetizations(p, k, c->basin_mv + stable * c->nv, c->nv, NULL,
                                             0) == RBM_OK)
            stable++;
    }
    c->n_basins = stable >= 2 ? stable : 0;
done:
    (void)ctx;
    rbm_mf_points_free(p);
    rbm_mf_free(s);
    return rc;
}

/* The basin of state v: the stable fixed point whose visible magnetisation
 * m has the largest normalised overlap v.m / |m| (a point with m = 0 never
 * wins). */
static size_t basin_of(const struct cli_chains *c, const double *v)
{
    size_t best = 0;
    double bd = -INFINITY;
    for (size_t k = 0; k < c->n_basins; k++) {
        const double *mk = c->basin_mv + k * c->nv;
        double dot = 0, norm = 0;
        for (size_t i = 0; i < c->nv; i++)
            dot += v[i] * mk[i], norm += mk[i] * mk[i];
        double o = norm > 0 ? dot / sqrt(norm) : -INFINITY;
        if (o > bd)
            bd = o, best = k;
    }
    return best;
}

/* Buffers of the diagnostics: steps x n values per observable. */
static int start_diagnostics(rbm_context *ctx, rbm_machine *m, struct cli_chains *c, size_t steps)
{
    rbm_status st = rbm_svd_new(m, &c->svd);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot take the SVD of W for the diagnostics");
        return EXIT_RUNTIME;
    }
    size_t rank = rbm_svd_rank(c->svd);
    c->modes = rank < DIAG_MODES ? rank : DIAG_MODES;
    c->n_obs = 1 + c->modes;
    if ((double)steps * (double)c->n * (double)c->n_obs > DIAG_MAX_VALUES) {
        cli_errorf("--diagnostics would record %zu steps x %zu chains x %zu observables, more "
                   "than %.0f values; use fewer steps or chains",
                   steps, c->n, c->n_obs, DIAG_MAX_VALUES);
        return EXIT_USAGE;
    }
    c->cap = steps;
    c->series = malloc((steps ? steps : 1) * c->n * c->n_obs * sizeof *c->series);
    c->v = malloc(c->n * c->nv * sizeof *c->v);
    c->f = malloc(c->n * sizeof *c->f);
    c->p = malloc(c->n * (c->modes ? c->modes : 1) * sizeof *c->p);
    if (!c->series || !c->v || !c->f || !c->p) {
        cli_errorf("out of memory for the diagnostics");
        return EXIT_RUNTIME;
    }
    return find_basins(ctx, m, c);
}

/* The trajectory ladder of the models of the librbm archive at path, n
 * chains per rung, reduced by the automatic selection. */
static int ptt_ladder(rbm_context *ctx, const char *path, size_t n, uint64_t seed,
                      rbm_tempering **out, size_t *n_models, size_t *n_kept)
{
    rbm_archive *a = NULL;
    rbm_machine **ms = NULL;
    size_t K = 0;
    rbm_status st = rbm_archive_open(ctx, path, RBM_ARCHIVE_READ, &a);
    if (st == RBM_OK && (K = rbm_archive_count(a)) == 0) {
        cli_errorf("'%s' holds no models: PTT needs a librbm training archive (rbm train "
                   "--archive)", path);
        rbm_archive_free(a);
        return EXIT_USAGE;
    }
    if (st == RBM_OK && !(ms = calloc(K, sizeof *ms)))
        st = RBM_ERR_NO_MEMORY;
    for (size_t i = 0; st == RBM_OK && i < K; i++)
        st = rbm_archive_load_machine(a, i, &ms[i]);
    if (st == RBM_OK)
        st = rbm_tempering_new_models((const rbm_machine *const *)ms, K, n, seed, out);
    if (st == RBM_OK)
        st = rbm_tempering_select_models(*out, PT_TARGET, 100, NULL, 0, n_kept);
    for (size_t i = 0; ms && i < K; i++)
        rbm_machine_free(ms[i]);
    free(ms);
    rbm_archive_free(a);
    *n_models = K;
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot build the trajectory ladder of '%s' (a librbm training "
                       "archive is needed)", path);
        return st == RBM_ERR_BAD_FORMAT ? EXIT_USAGE : EXIT_RUNTIME;
    }
    return 0;
}

int cli_chains_start(rbm_context *ctx, rbm_machine *m, const rbm_dataset *data, size_t n,
                     size_t replicas, const char *ptt, uint64_t seed, int diagnostics,
                     size_t steps, struct cli_chains *c)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->n = n;
    c->nv = rbm_machine_n_visible(m);
    c->nh = rbm_machine_n_hidden(m);
    rbm_status st;
    if (ptt) {
        int rc = ptt_ladder(ctx, ptt, n, seed, &c->t, &c->ptt_models, &c->ptt_kept);
        if (rc != 0)
            return rc;
        st = RBM_OK;
    } else if (replicas) {
        st = rbm_tempering_new(m, replicas, NULL, n, seed, &c->t);
        if (st == RBM_OK) /* fixed R: re-space the betas to equal acceptance */
            st = rbm_tempering_tune(c->t, PT_TARGET, 0, 4, 100, NULL);
    } else {
        st = rbm_sampler_new(m, n, seed, &c->s);
        if (st == RBM_OK && data)
            st = rbm_sampler_init_from_data(c->s, data);
    }
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot start %zu chains", n);
        return EXIT_RUNTIME;
    }
    return diagnostics ? start_diagnostics(ctx, m, c, steps) : 0;
}

int cli_chains_states(rbm_context *ctx, const struct cli_chains *c, double *v, double *h)
{
    rbm_status st;
    if (c->t) {
        size_t top = rbm_tempering_replica_count(c->t) - 1;
        if ((st = rbm_tempering_get_visible(c->t, top, v, c->n * c->nv)) == RBM_OK)
            st = rbm_tempering_get_hidden(c->t, top, h, c->n * c->nh);
    } else if ((st = rbm_sampler_get_visible(c->s, v, c->n * c->nv)) == RBM_OK) {
        st = rbm_sampler_get_hidden(c->s, h, c->n * c->nh);
    }
    if (st != RBM_OK)
        cli_lib_errorf(ctx, st, "cannot read the chains");
    return st == RBM_OK ? 0 : EXIT_RUNTIME;
}

/* Free energy and SVD projections of every chain, as row c->rec. */
static int record(rbm_context *ctx, struct cli_chains *c)
{
    const size_t n = c->n;
    rbm_status st;
    if (c->t)
        st = rbm_tempering_get_visible(c->t, rbm_tempering_replica_count(c->t) - 1, c->v,
                                       n * c->nv);
    else
        st = rbm_sampler_get_visible(c->s, c->v, n * c->nv);
    if (st == RBM_OK)
        st = rbm_machine_free_energy(c->m, n, c->v, n * c->nv, c->f, n);
    if (st == RBM_OK && c->modes)
        st = rbm_svd_project_visible(c->svd, n, c->v, n * c->nv, c->modes, c->p, n * c->modes);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot record the diagnostics");
        return EXIT_RUNTIME;
    }
    for (size_t k = 0; k < n && c->n_basins; k++) {
        size_t b = basin_of(c, c->v + k * c->nv);
        if (c->rec > 0 && b != c->basin[k])
            c->basin_changes++;
        c->basin[k] = b;
    }
    for (size_t k = 0; k < n; k++) {
        c->series[(0 * c->cap + c->rec) * n + k] = c->f[k];
        for (size_t a = 0; a < c->modes; a++)
            c->series[((1 + a) * c->cap + c->rec) * n + k] = c->p[k * c->modes + a];
    }
    c->rec++;
    return 0;
}

int cli_chains_run(rbm_context *ctx, struct cli_chains *c, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        rbm_status st = c->t ? rbm_tempering_run(c->t, 1) : rbm_sampler_run(c->s, 1);
        if (st != RBM_OK) {
            cli_lib_errorf(ctx, st, "sampling failed");
            return EXIT_RUNTIME;
        }
        if (c->series && c->rec < c->cap && record(ctx, c) != 0)
            return EXIT_RUNTIME;
    }
    return 0;
}

void cli_chains_diagnose(rbm_context *ctx, struct cli_chains *c)
{
    for (size_t o = 0; o < c->n_obs && o < CLI_MAX_OBS; o++) {
        c->tau[o] = c->ess[o] = NAN;
        c->tau_short[o] = 0;
        if (!c->series || c->rec < 2)
            continue;
        rbm_status st = rbm_autocorr_time(ctx, c->series + o * c->cap * c->n, c->rec, c->n, 5.0,
                                          &c->tau[o], &c->ess[o], NULL);
        c->tau_short[o] = st == RBM_ERR_NOT_CONVERGED;
        if (!(c->tau[o] > 0)) { /* a window closed on tau <= 0: no estimate at all */
            c->tau[o] = c->ess[o] = NAN;
            c->tau_short[o] = 0;
        }
    }
}

/* Basin changes per 10^4 sweeps per chain. */
static double basin_rate(const struct cli_chains *c)
{
    return c->rec > 1 ? (double)c->basin_changes / (double)c->n * 1e4 / (double)(c->rec - 1)
                      : 0.0;
}

static const char *obs_name(size_t o)
{
    static const char *names[] = {"free_energy", "mode_1", "mode_2"};
    return o < 3 ? names[o] : "mode";
}

void cli_chains_report(const struct cli_chains *c)
{
    if (c->t) {
        size_t R = rbm_tempering_replica_count(c->t);
        double acc[RBM_TEMPERING_MAX_REPLICAS], trip = NAN;
        uint64_t trips = 0;
        rbm_tempering_swap_stats(c->t, acc, R - 1, &trips, &trip);
        if (c->ptt_models)
            printf("tempering   PTT: %zu rungs kept of the independent model and %zu archive "
                   "models, %llu round trips (mean %.1f sweeps)\n",
                   R, c->ptt_models, (unsigned long long)trips, trip);
        else
            printf("tempering   %zu replicas (betas tuned to equal swap acceptance), %llu round "
                   "trips (mean %.1f sweeps)\n",
                   R, (unsigned long long)trips, trip);
        printf("swap acc.  ");
        for (size_t r = 0; r + 1 < R; r++)
            printf(" %.2f", acc[r]);
        printf("\n");
    }
    for (size_t o = 0; c->series && o < c->n_obs; o++)
        if (isnan(c->tau[o]))
            printf("tau_int     %-12s no estimate (the window closed on tau <= 0: too few "
                   "sweeps for an anticorrelated series)\n",
                   obs_name(o));
        else
            printf("tau_int     %-12s %.2f sweeps%s, ESS %.0f of %zu\n", obs_name(o),
                   c->tau[o],
                   c->tau_short[o] ? " (lower bound: chain too short for the window)" : "",
                   c->ess[o], c->rec * c->n);
    if (c->series && c->n_basins)
        printf("TAP basins  %zu stable TAP2 fixed points; %.2f basin changes per 10^4 sweeps "
               "per chain\n",
               c->n_basins, basin_rate(c));
    else if (c->series)
        printf("TAP basins  fewer than two stable TAP2 fixed points: no basin rate\n");
}

void cli_chains_json(FILE *f, int *first, const struct cli_chains *c)
{
    cli_json_str(f, first, "sampler", c->ptt_models ? "ptt" : c->t ? "pt" : "gibbs");
    if (c->ptt_models)
        cli_json_size(f, first, "ptt_archive_models", c->ptt_models);
    if (c->t) {
        size_t R = rbm_tempering_replica_count(c->t);
        double acc[RBM_TEMPERING_MAX_REPLICAS], trip = NAN;
        uint64_t trips = 0;
        rbm_tempering_swap_stats(c->t, acc, R - 1, &trips, &trip);
        cli_json_size(f, first, "replicas", R);
        cli_json_key(f, first, "swap_acceptance");
        cli_json_numbers(f, acc, R - 1);
        cli_json_u64(f, first, "round_trips", trips);
        cli_json_real(f, first, "mean_round_trip", trip);
    }
    if (!c->series)
        return;
    const char *keys[2] = {"tau_int", "ess"};
    for (int k = 0; k < 2; k++) {
        cli_json_key(f, first, keys[k]);
        fputs("{", f);
        for (size_t o = 0; o < c->n_obs; o++) {
            fprintf(f, "%s", o ? ", " : "");
            cli_json_string(f, obs_name(o));
            fputs(": ", f);
            cli_json_number(f, k == 0 ? c->tau[o] : c->ess[o]);
        }
        fputs("}", f);
    }
    cli_json_bool(f, first, "tau_int_lower_bound", c->tau_short[0]);
    cli_json_size(f, first, "tap_basins", c->n_basins);
    if (c->n_basins)
        cli_json_real(f, first, "tap_basin_changes_per_1e4_sweeps", basin_rate(c));
}

/* ---- rbm train: the PT estimator and the centred gradient ---- */

struct cli_train_tempering cli_train_tempering;

void cli_usage_train_estimators(FILE *f)
{
    fputs("  --estimator cd|pcd|exact|mf|tap|tap2|tap3|pt   gradient estimator (default\n"
          "                        pcd); exact enumerates a discrete layer of at most 24\n"
          "                        units; mf, tap2 (= tap) and tap3 are the deterministic\n"
          "                        mean-field/TAP (EMF) estimators with persistent\n"
          "                        magnetisations (docs/meanfield.md); pt is parallel\n"
          "                        tempering (docs/sampling.md)\n"
          "  --replicas R          replicas of the pt estimator (default 10, >= 2)\n"
          "  --centered            the centred gradient (offsets: running means of the\n"
          "                        data and model, rate 0.01; docs/theory.md)\n"
          "  -k K                  Gibbs sweeps per step for cd/pcd, PT sweeps for pt,\n"
          "                        fixed-point iterations per step for mf/tap (default 1)\n",
          f);
}

int cli_train_tempering_apply(rbm_context *ctx, rbm_trainer *t)
{
    const struct cli_train_tempering *o = &cli_train_tempering;
    rbm_status st;
    if (o->replicas && (st = rbm_estimator_set_int(rbm_trainer_estimator(t),
                                                   RBM_ESTIMATOR_REPLICAS,
                                                   (int64_t)o->replicas)) != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot use --replicas %zu", o->replicas);
        return EXIT_USAGE;
    }
    if (o->centered && (st = rbm_trainer_set_int(t, RBM_TRAINER_CENTERED, 1)) != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot use --centered");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- log Z from a tuned temperature ladder ---- */

/* Burn-in, then BAR on t (freed), into out. */
static int ladder_log_z(rbm_context *ctx, rbm_tempering *t, rbm_status st, size_t sweeps,
                        int reached, struct cli_pt_log_z *out)
{
    if (st == RBM_OK)
        st = rbm_tempering_run(t, sweeps / 4 + 1); /* burn-in on the final ladder */
    if (st == RBM_OK)
        st = rbm_tempering_log_z_estimates(t, sweeps, &out->log_z, &out->log_z_se,
                                           &out->exp_forward, &out->exp_forward_se,
                                           &out->exp_reverse, &out->exp_reverse_se);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "log Z by parallel tempering failed");
        rbm_tempering_free(t);
        return EXIT_RUNTIME;
    }
    out->replicas = rbm_tempering_replica_count(t);
    out->reached = reached;
    out->base_log_z = rbm_tempering_base_log_z(t);
    rbm_tempering_free(t);
    return 0;
}

int cli_pt_log_z(rbm_context *ctx, rbm_machine *m, size_t chains, size_t sweeps, uint64_t seed,
                 struct cli_pt_log_z *out)
{
    rbm_tempering *t = NULL;
    int32_t reached = 0;
    rbm_status st = rbm_tempering_new(m, 2, NULL, chains, seed, &t);
    if (st == RBM_OK)
        st = rbm_tempering_tune(t, PT_TARGET, 512, 10, 200, &reached);
    return ladder_log_z(ctx, t, st, sweeps, reached, out);
}

int cli_ptt_log_z(rbm_context *ctx, const char *path, size_t chains, size_t sweeps,
                  uint64_t seed, struct cli_pt_log_z *out)
{
    rbm_tempering *t = NULL;
    size_t models = 0, kept = 0;
    int rc = ptt_ladder(ctx, path, chains, seed, &t, &models, &kept);
    if (rc != 0)
        return rc;
    size_t R = rbm_tempering_replica_count(t);
    double acc[RBM_TEMPERING_MAX_REPLICAS];
    int reached = 1;
    rbm_status st = rbm_tempering_run(t, 200);
    if (st == RBM_OK)
        st = rbm_tempering_swap_stats(t, acc, R - 1, NULL, NULL);
    for (size_t r = 0; st == RBM_OK && r + 1 < R; r++)
        reached = reached && acc[r] >= PT_TARGET;
    return ladder_log_z(ctx, t, st, sweeps, reached, out);
}
