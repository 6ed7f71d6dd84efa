/* cli_tempering.h — chains of 'rbm sample' (Gibbs or parallel tempering)
 * with mixing diagnostics, and log Z by parallel tempering for 'rbm eval'
 * (cli_tempering.c). */
#ifndef RBM_CLI_TEMPERING_H
#define RBM_CLI_TEMPERING_H

#include <rbm/rbm.h>
#include <stdio.h>

#define CLI_MAX_OBS 3 /* free energy and two SVD modes */

struct cli_chains {
    rbm_machine *m;       /* borrowed */
    rbm_sampler *s;       /* Gibbs chains, or NULL */
    rbm_tempering *t;     /* PT chains (the top replica is sampled), or NULL */
    size_t n, nv, nh;
    /* diagnostics (series NULL when off): observable o of chain k at sweep
     * s is series[(o * cap + s) * n + k] */
    rbm_svd *svd;
    size_t modes, n_obs, cap, rec;
    double *series, *v, *f, *p;
    double tau[CLI_MAX_OBS], ess[CLI_MAX_OBS];
    int tau_short[CLI_MAX_OBS];
    /* TAP basins: the stable TAP2 fixed points (n_basins x nv visible
     * magnetisations), each chain's current basin, and the basin changes */
    size_t n_basins;
    double *basin_mv;
    size_t *basin;
    uint64_t basin_changes;
    /* PTT: the archive's models and the rungs kept (0 for other samplers) */
    size_t ptt_models, ptt_kept;
};

/* n chains: Gibbs (replicas 0; from random states, or data rows when data
 * is given) or a temperature ladder of `replicas` rungs with its betas
 * tuned (R fixed) to equal swap acceptance; diagnostics record the free
 * energy and the first SVD projections after each of up to `steps` sweeps.
 * 0, or an exit status after the error. */
/* ptt (non-NULL: replicas ignored): a librbm training archive whose models
 * make a trajectory ladder (PTT), the rungs kept by the automatic selection
 * at swap acceptance 0.3; m is then its last model. */
int cli_chains_start(rbm_context *ctx, rbm_machine *m, const rbm_dataset *data, size_t n,
                     size_t replicas, const char *ptt, uint64_t seed, int diagnostics,
                     size_t steps, struct cli_chains *c);
int cli_chains_run(rbm_context *ctx, struct cli_chains *c, size_t k);
/* Final visible (n x nv) and hidden (n x nh) states of the sampled chains. */
int cli_chains_states(rbm_context *ctx, const struct cli_chains *c, double *v, double *h);
/* tau_int and ESS of every recorded observable. */
void cli_chains_diagnose(rbm_context *ctx, struct cli_chains *c);
void cli_chains_report(const struct cli_chains *c);
void cli_chains_json(FILE *f, int *first, const struct cli_chains *c);
void cli_chains_free(struct cli_chains *c);

/* 'rbm train' options of the PT estimator and the centred gradient (one
 * run per process, like cli_data_read), their help (the estimator lines of
 * 'rbm train --help') and their application to a trainer whose estimator is
 * set: 0, or an exit status after the error. */
struct cli_train_tempering {
    size_t replicas; /* --replicas R (pt), 0: the library's default */
    int centered;    /* --centered */
};
extern struct cli_train_tempering cli_train_tempering;
#define CLI_TRAIN_TEMPERING_OPTIONS                                                         \
    {"--replicas", .type = OPT_SIZE, .dst = &cli_train_tempering.replicas, .min = 2,        \
     .max = RBM_TEMPERING_MAX_REPLICAS, .config = 1},                                        \
        {"--centered", .type = OPT_FLAG, .dst = &cli_train_tempering.centered, .config = 1}
void cli_usage_train_estimators(FILE *f);
int cli_train_tempering_apply(rbm_context *ctx, rbm_trainer *t);

struct cli_pt_log_z {
    double log_z, log_z_se, exp_forward, exp_reverse, base_log_z;
    double exp_forward_se, exp_reverse_se; /* jackknife errors of the exponential averages */
    size_t replicas;
    int reached; /* every pair reached the target acceptance */
};
/* log Z of m by BAR on an automatically tuned temperature ladder of
 * `chains` chains per replica, `sweeps` recorded sweeps. */
int cli_pt_log_z(rbm_context *ctx, rbm_machine *m, size_t chains, size_t sweeps, uint64_t seed,
                 struct cli_pt_log_z *out);
/* The same on the trajectory ladder of the librbm training archive at path
 * (its models, selected automatically; replicas = rungs kept). */
int cli_ptt_log_z(rbm_context *ctx, const char *path, size_t chains, size_t sweeps,
                  uint64_t seed, struct cli_pt_log_z *out);

#endif
