/* cli_analysis.c — what the rbm program computes about a trained machine:
 * the spectrum of W (bulk, modes outside it, overlaps with the data's
 * principal directions), its TAP fixed points (with retries at smaller
 * damping) and its phase on the diagram of its ensemble. Shared by train's
 * report, 'rbm spectrum' and 'rbm analyze'. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- spectrum ---- */

void cli_spectrum_free(struct cli_spectrum *si)
{
    free(si->w);
    free(si->overlaps);
    free(si->eig);
    free(si->q);
    free(si->sig);
    memset(si, 0, sizeof *si);
}

/* The overlaps of the first k modes with the data's top k principal
 * directions into si. 0, or -1 with note. */
static int pca_overlaps(rbm_context *ctx, const rbm_svd *svd, const rbm_dataset *data, size_t k,
                        struct cli_spectrum *si, char *note, size_t note_len)
{
    if (k > si->r)
        k = si->r;
    si->overlaps = malloc(k * k * sizeof *si->overlaps);
    si->eig = malloc(k * sizeof *si->eig);
    if (!si->overlaps || !si->eig) {
        snprintf(note, note_len, "out of memory");
        return -1;
    }
    rbm_status st = rbm_svd_pca_overlaps(svd, data, k, si->overlaps, k * k, si->eig, k);
    if (st != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot compare the modes with the data's PCA");
        return -1;
    }
    si->k = k;
    return 0;
}

/* The census of svd against data into si. 0, or -1 with note. */
static int census(rbm_context *ctx, const rbm_svd *svd, const rbm_dataset *data,
                  struct cli_spectrum *si, char *note, size_t note_len)
{
    si->q = malloc((si->r ? si->r : 1) * sizeof *si->q);
    si->sig = malloc((si->r ? si->r : 1) * sizeof *si->sig);
    if (!si->q || !si->sig) {
        snprintf(note, note_len, "out of memory");
        return -1;
    }
    rbm_census *c = NULL;
    rbm_status st = rbm_census_new(data, CLI_CENSUS_NULLS, CLI_CENSUS_SEED, &c);
    if (st == RBM_OK)
        st = rbm_svd_significance(svd, c, si->q, si->r, si->sig, si->r, &si->n_significant);
    if (st != RBM_OK) {
        rbm_census_free(c);
        cli_lib_note(note, note_len, ctx, st, "cannot run the census of the modes");
        return -1;
    }
    si->n_components = rbm_census_n_components(c);
    si->have_census = 1;
    rbm_census_free(c);
    return 0;
}

int cli_compute_spectrum(rbm_context *ctx, const rbm_machine *m, const rbm_dataset *data,
                         size_t k, struct cli_spectrum *si, rbm_svd **svd_out, char *note,
                         size_t note_len)
{
    memset(si, 0, sizeof *si);
    if (svd_out)
        *svd_out = NULL;
    rbm_svd *svd = NULL;
    rbm_machine *gauged = NULL;
    rbm_status st = RBM_OK;
    if (rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) == RBM_UNIT_POTTS) {
        /* modes are read in the zero-sum gauge (docs/potts.md); the PCA
         * overlaps and the census compare with real-valued columns */
        data = NULL;
        if ((st = rbm_machine_clone(m, &gauged)) == RBM_OK)
            st = rbm_machine_set_gauge(gauged, RBM_GAUGE_ZERO_SUM, NULL);
    }
    if (st == RBM_OK)
        st = rbm_svd_new(gauged ? gauged : m, &svd);
    rbm_machine_free(gauged);
    if (st != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot decompose W");
        return -1;
    }
    si->r = rbm_svd_rank(svd);
    si->w = malloc((si->r ? si->r : 1) * sizeof *si->w);
    if (!si->w) {
        snprintf(note, note_len, "out of memory");
        goto fail;
    }
    if ((st = rbm_svd_get_singular_values(svd, si->w, si->r)) != RBM_OK ||
        (st = rbm_svd_bulk(svd, &si->sigma, &si->edge, &si->n_outside)) != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot analyse the spectrum of W");
        goto fail;
    }
    if (data && k > 0 && pca_overlaps(ctx, svd, data, k, si, note, note_len) != 0)
        goto fail;
    if (data && census(ctx, svd, data, si, note, note_len) != 0)
        goto fail;
    if (svd_out)
        *svd_out = svd;
    else
        rbm_svd_free(svd);
    return 0;
fail:
    rbm_svd_free(svd);
    cli_spectrum_free(si);
    return -1;
}

void cli_print_pca_lines(const struct cli_spectrum *si)
{
    printf("PCA         overlap |u_a . e_b| of each of the first %zu modes with the closest of "
           "the data's\n            top %zu principal directions:",
           si->k, si->k);
    double in_span_min = 1;
    for (size_t a = 0; a < si->k; a++) {
        size_t best = 0;
        double ss = 0;
        for (size_t b = 0; b < si->k; b++) {
            double x = si->overlaps[a * si->k + b];
            ss += x * x;
            if (x > si->overlaps[a * si->k + best])
                best = b;
        }
        if (ss < in_span_min)
            in_span_min = ss;
        printf(" %.2f (PC%zu)", si->overlaps[a * si->k + best], best + 1);
    }
    printf("\n            each mode's weight in the span of those directions >= %.2f; "
           "eigenvalues",
           in_span_min);
    for (size_t b = 0; b < si->k; b++)
        printf(" %.3g", si->eig[b]);
    printf("\n");
}

/* ---- TAP fixed points ---- */

void cli_fixed_points_free(struct cli_fixed_points *fi)
{
    free(fi->gamma);
    free(fi->min_eig);
    free(fi->mult);
    free(fi->stable);
    free(fi->proj);
    free(fi->mv);
    free(fi->mh);
    memset(fi, 0, sizeof *fi);
}

/* n_data distinct row indices of rows drawn with rng into idx[0..n_data)
 * (partial Fisher-Yates; every row in order when n_data == rows). */
static void draw_rows(rbm_rng *rng, size_t rows, size_t n_data, size_t *idx)
{
    for (size_t i = 0; i < rows; i++)
        idx[i] = i;
    if (n_data >= rows)
        return;
    for (size_t i = 0; i < n_data; i++) {
        size_t j = i + (size_t)(rbm_rng_uniform(rng) * (double)(rows - i));
        if (j >= rows)
            j = rows - 1;
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* The q->n_random random visible states followed by n_data data rows into
 * mv0. 0, or -1 with note. */
static int make_starts(rbm_context *ctx, const rbm_machine *m, const struct cli_fp_search *q,
                       size_t n_data, double *mv0, char *note, size_t note_len)
{
    size_t nv = rbm_machine_n_visible(m);
    rbm_rng *rng = NULL;
    size_t *idx = NULL;
    rbm_status st = rbm_rng_new(ctx, q->seed, &rng);
    if (st != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot create a random generator");
        return -1;
    }
    rbm_unit_kind vk = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE);
    double vsig = vk == RBM_UNIT_GAUSSIAN ? rbm_machine_sigma(m, RBM_LAYER_VISIBLE) : 1.0;
    for (size_t i = 0; i < q->n_random * nv; i++) {
        if (vk == RBM_UNIT_GAUSSIAN)
            mv0[i] = vsig * rbm_rng_normal(rng);
        else if (vk == RBM_UNIT_ISING)
            mv0[i] = rbm_rng_uniform(rng) < 0.5 ? -1.0 : 1.0;
        else
            mv0[i] = rbm_rng_uniform(rng) < 0.5 ? 0.0 : 1.0;
    }
    int rc = 0;
    if (n_data > 0) {
        size_t rows = rbm_dataset_rows(q->data);
        idx = malloc(rows * sizeof *idx);
        if (!idx) {
            snprintf(note, note_len, "out of memory");
            rc = -1;
        } else {
            draw_rows(rng, rows, n_data, idx);
        }
        for (size_t i = 0; rc == 0 && i < n_data; i++) {
            st = rbm_dataset_get_rows(q->data, idx[i], 1, mv0 + (q->n_random + i) * nv, nv);
            if (st != RBM_OK) {
                cli_lib_note(note, note_len, ctx, st, "cannot read the data rows");
                rc = -1;
            }
        }
    }
    free(idx);
    rbm_rng_free(rng);
    return rc;
}

/* The points of p into fi (count, failures, Gamma, multiplicities,
 * stability). 0, or -1 with note. */
static int read_points(rbm_context *ctx, const rbm_mf_points *p, struct cli_fixed_points *fi,
                       char *note, size_t note_len)
{
    fi->count = rbm_mf_points_count(p);
    fi->n_failed = rbm_mf_points_failed_count(p);
    size_t c = fi->count ? fi->count : 1;
    fi->gamma = malloc(c * sizeof *fi->gamma);
    fi->min_eig = malloc(c * sizeof *fi->min_eig);
    fi->mult = malloc(c * sizeof *fi->mult);
    fi->stable = malloc(c * sizeof *fi->stable);
    if (!fi->gamma || !fi->min_eig || !fi->mult || !fi->stable) {
        snprintf(note, note_len, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < fi->count; k++) {
        rbm_status st = rbm_mf_points_properties(p, k, &fi->gamma[k], &fi->mult[k], &fi->stable[k],
                                                 &fi->min_eig[k]);
        if (st != RBM_OK) {
            cli_lib_note(note, note_len, ctx, st, "cannot read a fixed point");
            return -1;
        }
        fi->n_stable += fi->stable[k] ? 1 : 0;
    }
    return 0;
}

/* Every point's magnetisations into fi->mv, fi->mh. 0, or -1 with note. */
static int keep_magnetizations(rbm_context *ctx, const rbm_machine *m, const rbm_mf_points *p,
                               struct cli_fixed_points *fi, char *note, size_t note_len)
{
    fi->nv = rbm_machine_n_visible(m);
    fi->nh = rbm_machine_n_hidden(m);
    size_t c = fi->count ? fi->count : 1;
    fi->mv = malloc(c * fi->nv * sizeof *fi->mv);
    fi->mh = malloc(c * fi->nh * sizeof *fi->mh);
    if (!fi->mv || !fi->mh) {
        snprintf(note, note_len, "out of memory");
        return -1;
    }
    if (fi->count == 0)
        return 0;
    rbm_status st = rbm_mf_points_get_all_visible(p, fi->mv, fi->count * fi->nv);
    if (st == RBM_OK)
        st = rbm_mf_points_get_all_hidden(p, fi->mh, fi->count * fi->nh);
    if (st != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot read the magnetisations");
        return -1;
    }
    return 0;
}

/* TAP log Z over the points and their projections on the first q->kp modes
 * of q->svd. 0, or -1 with note. */
static int summarize_points(rbm_context *ctx, const rbm_mf_points *p,
                            const struct cli_fp_search *q, struct cli_fixed_points *fi,
                            char *note, size_t note_len)
{
    rbm_status st = rbm_mf_points_log_z(p, &fi->log_z, &fi->best, &fi->n_used);
    if (st != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot compute the TAP log Z");
        return -1;
    }
    size_t kp = q->kp;
    if (!q->svd || kp == 0)
        return 0;
    if (kp > rbm_svd_rank(q->svd))
        kp = rbm_svd_rank(q->svd);
    fi->proj = malloc(fi->count * kp * sizeof *fi->proj);
    if (!fi->proj) {
        snprintf(note, note_len, "out of memory");
        return -1;
    }
    st = rbm_mf_points_project(p, q->svd, kp, fi->proj, fi->count * kp, NULL, 0);
    if (st != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot project the fixed points on the modes");
        return -1;
    }
    fi->kp = kp;
    return 0;
}

/* One run of the solver with the given damping. 0, or -1 with note. */
static int find_once(rbm_context *ctx, const rbm_machine *m, const struct cli_fp_search *q,
                     double damping, struct cli_fixed_points *fi, char *note, size_t note_len)
{
    memset(fi, 0, sizeof *fi);
    fi->method = q->method;
    fi->log_z = fi->best = NAN;
    const double t0 = cli_now_seconds();
    size_t nv = rbm_machine_n_visible(m);
    size_t rows = q->data ? rbm_dataset_rows(q->data) : 0;
    size_t n_data = q->data ? q->n_data : 0;
    if (n_data > rows)
        n_data = rows;
    size_t n = q->n_random + n_data;
    if (n == 0) {
        snprintf(note, note_len, "no starts");
        return -1;
    }
    double *mv0 = malloc(n * nv * sizeof *mv0);
    if (!mv0) {
        snprintf(note, note_len, "out of memory for %zu starts", n);
        return -1;
    }
    int rc = -1;
    rbm_mf *s = NULL;
    rbm_mf_points *p = NULL;
    rbm_status st;
    if (make_starts(ctx, m, q, n_data, mv0, note, note_len) != 0)
        goto out;
    if ((st = rbm_mf_new(m, q->method, &s)) != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot set up the TAP solver");
        goto out;
    }
    if (!isnan(damping) && (st = rbm_mf_set_real(s, RBM_MF_DAMPING, damping)) != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot set the damping");
        goto out;
    }
    if ((st = rbm_mf_fixed_points(s, n, mv0, n * nv, NULL, 0, &p)) != RBM_OK) {
        cli_lib_note(note, note_len, ctx, st, "cannot find the TAP fixed points");
        goto out;
    }
    fi->n_random = q->n_random;
    fi->n_data = n_data;
    if (read_points(ctx, p, fi, note, note_len) != 0 ||
        (fi->count > 0 && summarize_points(ctx, p, q, fi, note, note_len) != 0) ||
        (q->magnetizations && keep_magnetizations(ctx, m, p, fi, note, note_len) != 0))
        goto out;
    fi->seconds = cli_now_seconds() - t0;
    rc = 0;
out:
    if (rc != 0) {
        cli_fixed_points_free(fi);
        fi->log_z = fi->best = NAN;
    }
    rbm_mf_points_free(p);
    rbm_mf_free(s);
    free(mv0);
    return rc;
}

int cli_find_fixed_points(rbm_context *ctx, const rbm_machine *m, const struct cli_fp_search *q,
                          struct cli_fixed_points *fi, double *used, char *note, size_t note_len)
{
    if (!isnan(q->damping)) {
        *used = q->damping;
        return find_once(ctx, m, q, q->damping, fi, note, note_len);
    }
    const double tries[3] = {0.5, 0.1, 0.02};
    *used = tries[0];
    if (find_once(ctx, m, q, tries[0], fi, note, note_len) != 0)
        return -1;
    for (int t = 1; t < 3; t++) {
        size_t n = fi->n_random + fi->n_data;
        if (fi->n_failed * 10 <= n)
            break;
        struct cli_fixed_points other;
        char note2[512];
        if (find_once(ctx, m, q, tries[t], &other, note2, sizeof note2) != 0)
            break;
        if (other.n_failed < fi->n_failed) {
            other.seconds += fi->seconds;
            cli_fixed_points_free(fi);
            *fi = other;
            *used = tries[t];
        } else {
            fi->seconds += other.seconds;
            cli_fixed_points_free(&other);
        }
    }
    return 0;
}

/* ---- phase ---- */

void cli_machine_phase(rbm_context *ctx, const rbm_machine *m, struct cli_phase *pi)
{
    memset(pi, 0, sizeof *pi);
    pi->sigma = pi->w_c = NAN;
    pi->kurtosis[0] = pi->kurtosis[1] = NAN;
    pi->kappa = (double)rbm_machine_n_hidden(m) / (double)rbm_machine_n_visible(m);
    rbm_status st = rbm_machine_phase(m, RBM_ENSEMBLE_MAX_MODES, &pi->phase, &pi->sigma,
                                      &pi->n_modes, pi->w, RBM_ENSEMBLE_MAX_MODES, pi->kurtosis,
                                      2, &pi->compositional);
    if (st == RBM_ERR_NOT_CONVERGED) {
        pi->not_converged = 1;
    } else if (st != RBM_OK) {
        cli_lib_note(pi->note, sizeof pi->note, ctx, st, "no phase");
        return;
    }
    pi->ok = 1;
    double wc = NAN;
    if (isfinite(pi->sigma) && rbm_phase_line_fsg(pi->kappa, pi->sigma, 1.0, &wc, NULL, NULL) ==
                                   RBM_OK)
        pi->w_c = wc;
}

void cli_print_phase_line(const struct cli_phase *pi, size_t n_outside)
{
    if (!pi->ok) {
        printf("phase       - (%s)\n", pi->note);
        return;
    }
    printf("phase       %s at T = 1%s: noise sigma %.4g, %zu strong mode%s", rbm_phase_name(pi->phase),
           pi->not_converged ? " (RS solver not converged)" : "", pi->sigma, pi->n_modes,
           pi->n_modes == 1 ? "" : "s");
    if (pi->n_modes > 0) {
        if (n_outside > pi->n_modes)
            printf(" (the largest of the %zu outside the bulk; de-biased w =", n_outside);
        else
            printf(" (de-biased w =");
        for (size_t i = 0; i < pi->n_modes; i++)
            printf(" %.3g", pi->w[i]);
        printf(")");
    }
    printf("\n");
    if (pi->n_modes > 0)
        printf("            component kurtosis %.3g (visible) %.3g (hidden): %s\n",
               pi->kurtosis[0], pi->kurtosis[1],
               pi->phase == RBM_PHASE_FERROMAGNETIC
                   ? (pi->compositional ? "compositional (magnetisation shared by several modes)"
                                        : "not compositional (one mode carries the state)")
                   : "no magnetised state");
    if (isfinite(pi->w_c)) {
        printf("            on the RS diagram: T/sigma = %.3g", pi->sigma > 0 ? 1 / pi->sigma : INFINITY);
        if (pi->n_modes > 0 && pi->sigma > 0)
            printf(", w_1/sigma = %.3g", pi->w[0] / pi->sigma);
        printf("; ferromagnetic above w_c = %.4g (F-SG/P-F line at T = 1, kappa %.3g)\n",
               pi->w_c, pi->kappa);
    }
}

void cli_json_phase(FILE *f, int *first, const struct cli_phase *pi)
{
    cli_json_str_or_null(f, first, "phase", pi->ok ? rbm_phase_name(pi->phase) : NULL);
    cli_json_real(f, first, "sigma", pi->ok ? pi->sigma : NAN);
    cli_json_key(f, first, "modes");
    cli_json_numbers(f, pi->w, pi->ok ? pi->n_modes : 0);
    cli_json_key(f, first, "kurtosis");
    if (pi->ok && pi->n_modes > 0)
        cli_json_numbers(f, pi->kurtosis, 2);
    else
        fputs("null", f);
    cli_json_bool(f, first, "compositional", pi->ok && pi->compositional);
    cli_json_bool(f, first, "phase_converged", pi->ok && !pi->not_converged);
    cli_json_real(f, first, "w_c", pi->w_c);
    if (!pi->ok)
        cli_json_str(f, first, "phase_note", pi->note);
}
