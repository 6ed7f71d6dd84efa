/* cli_report.c — the spectral and thermodynamic report printed after 'rbm
 * train' (docs/spectral.md, docs/meanfield.md, docs/phase.md): the spectrum
 * of W and its history, overlaps with the data's principal directions, the
 * TAP2 fixed points reached from data rows, log Z (TAP, and exact when
 * cheap), the phase of the machine, and the plots. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Print the top singular values of tracker record k, sorted. */
static void print_record(const rbm_mode_tracker *tr, size_t k, size_t bpe, size_t top)
{
    size_t nm = rbm_mode_tracker_mode_count(tr);
    double w[TRACK_MODES], edge = NAN;
    size_t n_out = 0;
    uint64_t step = 0;
    if (nm > TRACK_MODES ||
        rbm_mode_tracker_get_record(tr, k, &step, w, nm, &edge, &n_out) != RBM_OK)
        return;
    qsort(w, nm, sizeof *w, cli_cmp_desc);
    char ep[32];
    if (bpe > 0 && step % bpe == 0)
        snprintf(ep, sizeof ep, "%llu", (unsigned long long)(step / bpe));
    else
        snprintf(ep, sizeof ep, "%.2f", bpe ? (double)step / (double)bpe : (double)step);
    printf("            epoch %5s:", ep);
    for (size_t i = 0; i < top && i < nm; i++)
        printf(" %6.3f", w[i]);
    printf("   edge %.3f, %zu outside", edge, n_out);
    size_t n_sig;
    if (rbm_mode_tracker_get_significant(tr, k, &n_sig) == RBM_OK)
        printf(", %zu significant", n_sig);
    printf("\n");
}

/* The spectrum now, up to six records of its history, the PCA overlaps. */
static void report_spectrum(int have_spec, const struct cli_spectrum *si, const char *note,
                            const struct cli_report_input *in)
{
    if (have_spec) {
        size_t top = si->r < 8 ? si->r : 8;
        printf("spectrum    w =");
        for (size_t i = 0; i < top; i++)
            printf(" %.3f", si->w[i]);
        printf("%s (largest %zu of %zu singular values of W)\n", si->r > top ? " ..." : "", top,
               si->r);
        printf("            Marchenko-Pastur bulk edge %.4f (noise sigma %.4f): %zu mode%s "
               "outside the bulk\n",
               si->edge, si->sigma, si->n_outside, si->n_outside == 1 ? "" : "s");
        if (si->have_census)
            printf("            significant modes %zu: outside the bulk with more than half of u_a "
                   "in the data's %zu significant principal directions (docs/spectral.md)\n",
                   si->n_significant, si->n_components);
    } else {
        printf("spectrum    - (%s)\n", note);
    }
    size_t nrec = in->tracker ? rbm_mode_tracker_record_count(in->tracker) : 0;
    if (nrec > 0) {
        printf("            during training (largest tracked singular values):\n");
        size_t shown = nrec < 6 ? nrec : 6;
        size_t last = (size_t)-1;
        for (size_t i = 0; i < shown; i++) {
            size_t k = shown == 1 ? 0 : i * (nrec - 1) / (shown - 1);
            if (k == last)
                continue;
            print_record(in->tracker, k, in->batches_per_epoch, 5);
            last = k;
        }
    }
    if (have_spec && si->k > 0)
        cli_print_pca_lines(si);
}

static void report_fixed_points(int have_fp, const struct cli_fixed_points *fi, double damping,
                                int gg, const char *note, const struct cli_report_input *in)
{
    if (!have_fp) {
        printf("TAP states  - (%s)\n", note);
        return;
    }
    printf("TAP states  %zu distinct %s fixed point%s from %zu data rows (%zu stable", fi->count,
           gg ? "naive mean-field" : "TAP2", fi->count == 1 ? "" : "s", fi->n_data, fi->n_stable);
    if (fi->n_failed)
        printf(", %zu start%s did not converge", fi->n_failed, fi->n_failed == 1 ? "" : "s");
    if (damping != 0.5)
        printf(", damping %g", damping);
    printf(")%s\n", in->synthetic ? "; the data has 11 clusters" : "");
    if (fi->count > 0) {
        printf("            starts per state:");
        for (size_t k = 0; k < fi->count && k < 16; k++)
            printf(" %zu", fi->mult[k]);
        printf("%s; Gamma %.4g to %.4g\n", fi->count > 16 ? " ..." : "", fi->gamma[0],
               fi->gamma[fi->count - 1]);
    }
}

static void report_exact_log_z(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                               const char *lead);

/* log Z from the fixed points, and the exact one when the smaller layer
 * has at most 20 units. */
static void report_log_z(rbm_context *ctx, const rbm_machine *m, int have_fp,
                         const struct cli_fixed_points *fi, int gg)
{
    if (have_fp && fi->count > 0)
        printf("log Z       %s %.4f (log-sum-exp of -Gamma over %zu state%s; best single state "
               "%.4f)\n",
               gg ? "mean-field" : "TAP", fi->log_z, fi->n_used, fi->n_used == 1 ? "" : "s",
               fi->best);
    else
        printf("log Z       TAP - (no fixed point)\n");
    report_exact_log_z(ctx, m, NULL, "            ");
}

/* The exact log Z when the smaller layer has at most 20 units (and with
 * data, the exact mean log-likelihood). */
static void report_exact_log_z(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                               const char *lead)
{
    size_t eu = cli_enum_units(m);
    if (eu > 20 || !cli_exact_is_cheap(m)) {
        printf("%sexact: not cheap (the smaller layer has %zu units%s); 'rbm eval "
               "--method ais' estimates it\n",
               lead, eu, eu > 20 ? "" : " of N q N_h operations each");
        return;
    }
    double lz = NAN;
    rbm_status st = rbm_exact_log_z(m, &lz);
    double ll = NAN;
    if (st == RBM_OK && data)
        st = rbm_log_likelihood(m, data, lz, &ll);
    if (st == RBM_OK) {
        printf("%sexact %.4f (%s)", lead, lz,
               eu == 0 ? "gauss-gauss closed form" : "enumeration of the smaller layer");
        if (data)
            printf("; mean log-likelihood of the data %.4f nats", ll);
        printf("\n");
    } else {
        char note[1024];
        cli_lib_note(note, sizeof note, ctx, st, "exact log Z");
        printf("%s%s\n", lead, note);
    }
}

/* At most 3000 data rows (every stride-th) on the first two modes of svd,
 * malloc'd (NULL when it cannot be computed). */
static double *project_data(const rbm_svd *svd, const rbm_dataset *data, size_t *n)
{
    size_t rows = rbm_dataset_rows(data);
    double *all = malloc(rows * 2 * sizeof *all);
    double *dproj = NULL;
    *n = 0;
    if (all && rbm_svd_project_dataset(svd, data, 2, all, rows * 2) == RBM_OK) {
        size_t stride = rows > 3000 ? (rows + 2999) / 3000 : 1;
        dproj = malloc(((rows + stride - 1) / stride) * 2 * sizeof *dproj);
        if (dproj)
            for (size_t i = 0; i < rows; i += stride, (*n)++) {
                dproj[2 * *n] = all[2 * i];
                dproj[2 * *n + 1] = all[2 * i + 1];
            }
    }
    free(all);
    return dproj;
}

static void report_plots(const struct cli_report_input *in, const rbm_svd *svd,
                         const struct cli_spectrum *si, int have_spec,
                         const struct cli_fixed_points *fi)
{
    size_t n_dproj = 0;
    double *dproj = have_spec && si->r >= 2 ? project_data(svd, in->data, &n_dproj) : NULL;
    struct cli_plot_input pin = {in->tracker, in->batches_per_epoch, have_spec ? si->edge : NAN,
                                 fi, dproj, n_dproj, in->title, in->fp_track};
    char pngs[2][64], note[1024];
    size_t n_png = 0;
    if (cli_write_plots(in->plots_dir, &pin, pngs, &n_png, note, sizeof note) == 0) {
        printf("plots       ");
        for (size_t i = 0; i < n_png; i++)
            printf("%s%s/%s", i ? ", " : "", in->plots_dir, pngs[i]);
        printf("\n");
    } else {
        printf("plots       - (%s)\n", note);
    }
    free(dproj);
}

/* A Potts machine: the spectrum in the zero-sum gauge, its modes per site
 * (cli_logo.c) and log Z; no TAP fixed points yet. */
static void potts_report(rbm_context *ctx, const struct cli_report_input *in)
{
    char note[1024];
    struct cli_spectrum si;
    rbm_svd *svd = NULL;
    if (!in->quiet) {
        fprintf(stderr, "rbm: report: spectrum, modes per site%s\n",
                in->plots_dir ? ", plots" : "");
        fflush(stderr);
    }
    printf("\n-- spectral report of a Potts machine (docs/potts.md, docs/spectral.md) --\n");
    int have_spec = cli_compute_spectrum(ctx, in->m, NULL, 0, &si, &svd, note, sizeof note) == 0;
    report_spectrum(have_spec, &si, note, in);
    if (have_spec)
        cli_potts_modes(ctx, in, svd, &si);
    printf("TAP states  - (not searched for a Potts machine by this report yet)\n");
    report_exact_log_z(ctx, in->m, in->data, "log Z       ");
    if (have_spec)
        cli_spectrum_free(&si);
    rbm_svd_free(svd);
}

void cli_train_report(rbm_context *ctx, const struct cli_report_input *in)
{
    const rbm_machine *m = in->m;
    if (rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_POTTS) {
        potts_report(ctx, in);
        return;
    }
    char note[1024], fp_note[1024];
    struct cli_spectrum si;
    struct cli_fixed_points fi;
    struct cli_phase phase;
    rbm_svd *svd = NULL;
    memset(&fi, 0, sizeof fi);

    size_t n_data = report_data_starts(m);
    if (n_data > rbm_dataset_rows(in->data))
        n_data = rbm_dataset_rows(in->data);
    if (!in->quiet) {
        fprintf(stderr, "rbm: report: spectrum, TAP2 fixed points from %zu data rows, phase%s\n",
                n_data, in->plots_dir ? ", plots" : "");
        fflush(stderr);
    }
    printf("\n-- spectral and thermodynamic report (docs/spectral.md, docs/meanfield.md, "
           "docs/phase.md) --\n");
    int have_spec =
        cli_compute_spectrum(ctx, m, in->data, PCA_MODES, &si, &svd, note, sizeof note) == 0;
    report_spectrum(have_spec, &si, note, in);

    /* TAP needs a discrete layer; naive mean field is exact on Gauss-Gauss machines */
    int gg = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_GAUSSIAN &&
             rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN) == RBM_UNIT_GAUSSIAN;
    struct cli_fp_search q = {gg ? RBM_MF_NAIVE : RBM_MF_TAP2, NAN, in->data, 0, n_data, 11, svd,
                              have_spec ? (si.r < 5 ? si.r : 5) : 0, 0};
    double damping = NAN;
    int have_fp = cli_find_fixed_points(ctx, m, &q, &fi, &damping, fp_note, sizeof fp_note) == 0;
    report_fixed_points(have_fp, &fi, damping, gg, fp_note, in);
    report_log_z(ctx, m, have_fp, &fi, gg);

    cli_machine_phase(ctx, m, &phase);
    cli_print_phase_line(&phase, have_spec ? si.n_outside : 0);

    if (in->plots_dir)
        report_plots(in, svd, &si, have_spec, have_fp ? &fi : NULL);
    cli_fixed_points_free(&fi);
    if (have_spec)
        cli_spectrum_free(&si);
    rbm_svd_free(svd);
}
