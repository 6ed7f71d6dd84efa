/* cli_training.c — the step loop of 'rbm train': one minibatch update per
 * rbm_trainer_step, the reconstruction error averaged over each epoch, the
 * progress display, the exact log-likelihood and the spectrum record after
 * every epoch, checkpoints, and a clean stop on SIGINT/SIGTERM. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* State of one run of the loop. */
struct loop {
    struct cli_progress p;
    size_t batches;        /* per epoch */
    size_t rows;           /* of the data */
    size_t batch_size;
    size_t every;          /* monitoring interval of the reconstruction error */
    double total_steps;    /* steps this run is to make */
    size_t batch_in_epoch; /* minibatches done in the current epoch */
    double latest;         /* the last reconstruction error */
    double epoch_sum;      /* of the errors measured in this epoch */
    size_t epoch_n;
    double t0, epoch_start;
    double extra_seconds;  /* log-likelihoods, records and checkpoints */
    char *ckpt;            /* checkpoint path, or NULL */
    struct cli_fp_track *fp_track; /* the plan's, or NULL */
};

/* Reconstruction error: one monitored minibatch costs two extra matrix
 * products, about 40% of a PCD-1 step; monitoring every 10th to 20th
 * minibatch keeps that at 2-4% of the run while giving at least ten values
 * per epoch to average (every minibatch on small data sets). */
static size_t monitor_interval(size_t batches)
{
    size_t every = batches / 10;
    if (every < 1)
        every = 1;
    if (every > 20)
        every = 20;
    return every;
}

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

/* After a successful step: the trainer recomputes the reconstruction error
 * in a step whose count of earlier steps is a multiple of the monitoring
 * interval (lib/train/trainer.c), so the value is new when the step count
 * after the step, less one, is. */
static void take_recon(struct loop *L, const rbm_trainer *t)
{
    if ((rbm_trainer_step_count(t) - 1) % L->every != 0)
        return;
    double r = rbm_trainer_reconstruction_error(t);
    if (isnan(r))
        return;
    L->latest = r;
    L->epoch_sum += r;
    L->epoch_n++;
}

/* The exact log-likelihood after an epoch; a failure turns it off. */
static void epoch_log_likelihood(rbm_context *ctx, rbm_trainer *t, const rbm_dataset *data,
                                 const struct cli_training_plan *plan, struct cli_train_result *res,
                                 struct loop *L)
{
    double ll = NAN;
    rbm_status st = rbm_exact_log_likelihood(rbm_trainer_machine(t), data, &ll, NULL);
    if (st != RBM_OK) {
        cli_progress_close(&L->p);
        if (!plan->quiet)
            fprintf(stderr,
                    "rbm: note: no log-likelihood after epoch %zu: %s (%s); not computed any "
                    "more\n",
                    res->epochs_done, rbm_context_last_error(ctx), rbm_status_name(st));
        res->ll_enabled = 0;
        ll = NAN;
    }
    res->ll_last = ll;
    if (res->ll_enabled)
        push_value(&res->ll_history, &res->ll_len, &res->ll_cap, ll);
}

static int checkpoint_due(const struct cli_training_plan *plan, const struct loop *L,
                          const struct cli_train_result *res)
{
    return L->ckpt && res->epochs_done % plan->checkpoint_every == 0;
}

/* A spectrum record now. 0, or EXIT_RUNTIME after the error. */
static int track_record(rbm_context *ctx, rbm_trainer *t, struct cli_train_result *res,
                        rbm_mode_tracker *tracker, struct loop *L)
{
    double tt = cli_now_seconds();
    rbm_status st = rbm_mode_tracker_record(tracker, rbm_trainer_step_count(t));
    res->track_seconds += cli_now_seconds() - tt;
    if (st != RBM_OK) {
        cli_progress_close(&L->p);
        cli_lib_errorf(ctx, st, "cannot record the spectrum at step %llu",
                       (unsigned long long)rbm_trainer_step_count(t));
        return EXIT_RUNTIME;
    }
    if (L->fp_track && cli_fp_track_record(ctx, rbm_trainer_machine(t), rbm_trainer_step_count(t),
                                           L->fp_track) != 0) {
        cli_progress_close(&L->p);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* The spectrum record and the checkpoint after an epoch. 0, or
 * EXIT_RUNTIME after the error. */
static int epoch_records(rbm_context *ctx, rbm_trainer *t, const struct cli_training_plan *plan,
                         struct cli_train_result *res, rbm_mode_tracker *tracker, struct loop *L)
{
    rbm_status st;
    if (tracker && track_record(ctx, t, res, tracker, L) != 0)
        return EXIT_RUNTIME;
    if (checkpoint_due(plan, L, res)) {
        st = rbm_trainer_save_checkpoint(t, L->ckpt);
        if (st != RBM_OK) {
            cli_progress_close(&L->p);
            cli_lib_errorf(ctx, st, "cannot write the checkpoint '%s' after epoch %zu", L->ckpt,
                           res->epochs_done);
            return EXIT_RUNTIME;
        }
        res->checkpoints++;
    }
    return 0;
}

/* "epoch 3/50  0.12 s  81234 samples/s  recon 0.2 ..." (not on a terminal). */
static void epoch_line(const struct cli_training_plan *plan, const struct cli_train_result *res,
                       const struct loop *L, double mean, double dt)
{
    char recon_s[32], dt_s[32], ll_s[64] = "";
    cli_fmt_recon(recon_s, sizeof recon_s, mean);
    cli_fmt_seconds(dt_s, sizeof dt_s, dt);
    if (res->ll_enabled) {
        char v[32];
        cli_fmt_ll(v, sizeof v, res->ll_last);
        snprintf(ll_s, sizeof ll_s, "  log-lik %s", v);
    }
    fprintf(stderr, "epoch %zu/%zu  %s  %.0f samples/s  recon %s%s%s\n", res->epochs_done,
            plan->epochs, dt_s, dt > 0 ? (double)L->rows / dt : 0.0, recon_s, ll_s,
            checkpoint_due(plan, L, res) ? "  (checkpoint)" : "");
    fflush(stderr);
}

/* The step completed an epoch: its mean error, log-likelihood, spectrum,
 * checkpoint and progress line. Returns 0 or EXIT_RUNTIME (printed); *now
 * moves past the time spent here. */
static int end_epoch(rbm_context *ctx, rbm_trainer *t, const rbm_dataset *data,
                     const struct cli_training_plan *plan, struct cli_train_result *res,
                     rbm_mode_tracker *tracker, struct loop *L, double *now)
{
    double dt = *now - L->epoch_start;
    res->epochs_done++;
    res->samples += L->rows;
    double mean = L->epoch_n ? L->epoch_sum / (double)L->epoch_n : L->latest;
    if (res->epochs_done == res->start_epoch + 1)
        res->recon_first = mean;
    res->recon_last = mean;
    push_value(&res->history, &res->history_len, &res->history_cap, mean);
    if (res->ll_enabled)
        epoch_log_likelihood(ctx, t, data, plan, res, L);
    int status = epoch_records(ctx, t, plan, res, tracker, L);
    if (status != 0)
        return status;
    double after = cli_now_seconds();
    L->extra_seconds += after - *now;
    if (L->p.mode == PROGRESS_LINES)
        epoch_line(plan, res, L, mean, dt);
    *now = after;
    L->epoch_start = after;
    L->epoch_sum = 0;
    L->epoch_n = 0;
    L->batch_in_epoch = 0;
    return 0;
}

/* Redraw the single status line: epoch, batch, bar of the whole run,
 * samples/s, reconstruction error, log-likelihood, ETA. */
static void draw_progress(struct loop *L, const struct cli_training_plan *plan,
                          const struct cli_train_result *res, double now)
{
    double elapsed = now - L->t0 - L->extra_seconds;
    double done_samples =
        (double)res->samples + (double)L->batch_in_epoch * (double)L->batch_size;
    if (done_samples > (double)res->samples + (double)L->rows)
        done_samples = (double)res->samples + (double)L->rows;
    double rate = elapsed > 0 ? done_samples / elapsed : NAN;
    double fraction = (double)res->steps / L->total_steps;
    double eta = (now - L->t0) / (double)res->steps * (L->total_steps - (double)res->steps);
    size_t epoch = res->epochs_done + (L->batch_in_epoch > 0 ? 1 : 0);
    if (epoch == 0)
        epoch = 1;
    size_t batch = L->batch_in_epoch > 0 || res->epochs_done == res->start_epoch
                       ? L->batch_in_epoch
                       : L->batches;
    double recon = L->latest, ll = res->ll_enabled ? res->ll_last : NAN;

    char rate_s[32], recon_s[32], eta_s[32], ll_s[48] = "", left[96], right[160];
    cli_fmt_rate(rate_s, sizeof rate_s, rate);
    if (isnan(recon))
        snprintf(recon_s, sizeof recon_s, "-");
    else if (fabs(recon) < 10)
        snprintf(recon_s, sizeof recon_s, "%.4f", recon);
    else
        snprintf(recon_s, sizeof recon_s, "%.4g", recon);
    cli_fmt_duration(eta_s, sizeof eta_s, eta);
    /* fixed-width fields, so that the line does not jitter between redraws */
    int ew = snprintf(NULL, 0, "%zu", plan->epochs);
    int bw = snprintf(NULL, 0, "%zu", L->batches);
    snprintf(left, sizeof left, "epoch %*zu/%zu batch %*zu/%zu ", ew, epoch, plan->epochs, bw,
             batch, L->batches);
    if (!isnan(ll))
        snprintf(ll_s, sizeof ll_s, " log-lik %.4g", ll);
    snprintf(right, sizeof right, " %6s samples/s recon %-6s%s ETA %5s", rate_s, recon_s, ll_s,
             eta_s);
    cli_progress_show(&L->p, left, fraction, right);
    L->p.last_draw = now;
}

/* Stopped by a signal: the partial epoch's samples, and a checkpoint to
 * continue with --resume. Returns 0 or EXIT_RUNTIME (printed). */
static int stop_interrupted(rbm_context *ctx, rbm_trainer *t, const struct cli_training_plan *plan,
                            struct cli_train_result *res, const struct loop *L)
{
    if (res->steps > 0 && res->epochs_done == res->start_epoch)
        res->recon_last = L->latest;
    if (!plan->quiet)
        fprintf(stderr, "rbm: %s: stopped during epoch %zu (minibatch %zu/%zu); saving the model "
                        "trained so far\n",
                cli_signal_verb(res->interrupted), res->epochs_done + 1, L->batch_in_epoch,
                L->batches);
    uint64_t extra = (uint64_t)L->batch_in_epoch * L->batch_size;
    res->samples += extra < L->rows ? extra : L->rows;
    if (!L->ckpt || res->steps == 0)
        return 0;
    rbm_status st = rbm_trainer_save_checkpoint(t, L->ckpt);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot write the checkpoint '%s'", L->ckpt);
        return EXIT_RUNTIME;
    }
    res->checkpoints++;
    if (!plan->quiet)
        fprintf(stderr, "rbm: checkpoint written to '%s' (continue with --resume)\n", L->ckpt);
    return 0;
}

/* The loop's state at the start; 0, or EXIT_RUNTIME after the error. */
static int start_loop(rbm_context *ctx, rbm_trainer *t, const rbm_dataset *data,
                      const struct cli_training_plan *plan, struct cli_train_result *res,
                      struct loop *L)
{
    memset(L, 0, sizeof *L);
    cli_progress_init(&L->p, plan->quiet);
    L->batches = rbm_trainer_batches_per_epoch(t);
    L->rows = rbm_dataset_rows(data);
    L->batch_size = rbm_trainer_batch_size(t);
    L->batch_in_epoch = rbm_trainer_batch_index(t);
    size_t start_epoch = (size_t)rbm_trainer_epoch_count(t);
    L->total_steps =
        (double)(plan->epochs - start_epoch) * (double)L->batches - (double)L->batch_in_epoch;
    L->latest = NAN;
    L->every = monitor_interval(L->batches);
    L->fp_track = plan->fp_track;
    rbm_status st = rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, L->every);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot configure the reconstruction monitor");
        return EXIT_RUNTIME;
    }
    if (plan->checkpoint_every > 0 && !(L->ckpt = cli_path_suffix(plan->out, ".ckpt"))) {
        cli_errorf("out of memory");
        return EXIT_RUNTIME;
    }
    int ll_enabled = res->ll_enabled;
    double track0 = res->track_seconds;
    memset(res, 0, sizeof *res);
    res->track_seconds = track0;
    res->ll_enabled = ll_enabled;
    res->recon_first = res->recon_last = NAN;
    res->ll_last = NAN;
    res->start_epoch = res->epochs_done = start_epoch;
    return 0;
}

int cli_run_training(rbm_context *ctx, rbm_trainer *t, const rbm_dataset *data,
                     const struct cli_training_plan *plan, struct cli_train_result *res,
                     rbm_mode_tracker *tracker)
{
    struct loop L;
    int status = start_loop(ctx, t, data, plan, res, &L);
    if (status != 0)
        return status;
    L.t0 = L.epoch_start = cli_now_seconds();
    cli_install_signal_handlers();
    while (res->epochs_done < plan->epochs) {
        if ((res->interrupted = cli_interrupted()) != 0)
            break;
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE) {
            cli_progress_close(&L.p);
            cli_lib_errorf(ctx, st, "training failed at epoch %zu, minibatch %zu",
                           res->epochs_done + 1, L.batch_in_epoch + 1);
            status = EXIT_RUNTIME;
            break;
        }
        res->steps++;
        L.batch_in_epoch++;
        take_recon(&L, t);
        if (st != RBM_DONE && tracker && plan->track_every > 0 &&
            rbm_trainer_step_count(t) % plan->track_every == 0) {
            double t_in = cli_now_seconds();
            if ((status = track_record(ctx, t, res, tracker, &L)) != 0)
                break;
            L.extra_seconds += cli_now_seconds() - t_in;
        }
        if (plan->archive &&
            (status = cli_archive_step(ctx, plan->archive, t, &L.extra_seconds)) != 0)
            break;
        double now = cli_now_seconds();
        if (st == RBM_DONE &&
            (status = end_epoch(ctx, t, data, plan, res, tracker, &L, &now)) != 0)
            break;
        if (cli_progress_due(&L.p, now, res->epochs_done == plan->epochs))
            draw_progress(&L, plan, res, now);
    }
    res->seconds = cli_now_seconds() - L.t0;
    res->train_seconds = res->seconds - L.extra_seconds;
    cli_restore_signal_handlers();
    cli_progress_close(&L.p);
    if (res->interrupted && status == 0)
        status = stop_interrupted(ctx, t, plan, res, &L);
    free(L.ckpt);
    return status;
}

/* ---- the sane parameter range ---- */

/* max |x[i]|, +Inf when any is NaN. */
static double max_abs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(x[i]);
        if (isnan(a))
            return INFINITY;
        if (a > m)
            m = a;
    }
    return m;
}

int cli_warn_parameter_range(const rbm_machine *m, double lr)
{
    size_t nv = rbm_machine_weight_rows(m), nh = rbm_machine_n_hidden(m);
    if (nv == 0 || nh == 0 || nv > SIZE_MAX / nh)
        return 0;
    size_t nw = nv * nh;
    double *buf = malloc(sizeof(double) * (nw + nv + nh));
    if (!buf)
        return 0;
    int out = 0;
    if (rbm_machine_get_weights(m, buf, nw) == RBM_OK &&
        rbm_machine_get_visible_bias(m, buf + nw, nv) == RBM_OK &&
        rbm_machine_get_hidden_bias(m, buf + nw + nv, nh) == RBM_OK) {
        double w = max_abs(buf, nw), a = max_abs(buf + nw, nv), b = max_abs(buf + nw + nv, nh);
        if (!(w <= CLI_SANE_PARAM_MAX && a <= CLI_SANE_PARAM_MAX && b <= CLI_SANE_PARAM_MAX)) {
            fprintf(stderr,
                    "rbm: warning: the trained parameters leave the sane range |W|, |a|, |b| "
                    "<= %g (max |W| = %.3g, max |a| = %.3g, max |b| = %.3g): every conditional "
                    "is saturated: training has probably diverged (learning rate %g too large?); see "
                    "docs/reliability.md\n",
                    CLI_SANE_PARAM_MAX, w, a, b, lr);
            out = 1;
        }
    }
    free(buf);
    return out;
}
