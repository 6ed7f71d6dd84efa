/* cli_phase_grid.c — 'rbm phase --grid DIR': the replica-symmetric phase
 * diagram over (T, w) at fixed sigma and kappa (docs/phase.md): the phase
 * of every grid point (rbm_ensemble_diagram), the three transition lines
 * (P-F: T = w; P-SG: T = sigma; F-SG: rbm_phase_line_fsg) and the de
 * Almeida-Thouless line of the RS solution, where the replicon eigenvalue
 * of rbm_ensemble_replicon (docs/theory.md §5.4, by analogy with SK)
 * crosses 1, for any component law, as CSV files, a gnuplot script and,
 * when gnuplot is installed, phase_diagram.png. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AT_BISECT 14

/* lambda_AT at (T, w) for one mode of the ensemble's laws: the RS state of
 * rbm_ensemble_phase there and its replicon eigenvalue. NaN when the solve
 * fails. */
static double at_lambda(rbm_ensemble *e, double sigma, double T, double w)
{
    double lambda;
    rbm_phase ph;
    if (rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, T) != RBM_OK ||
        rbm_ensemble_set_real(e, RBM_ENSEMBLE_SIGMA, sigma) != RBM_OK ||
        rbm_ensemble_set_modes(e, &w, 1) != RBM_OK)
        return NAN;
    rbm_status st = rbm_ensemble_phase(e, &ph, NULL, NULL);
    if ((st != RBM_OK && st != RBM_ERR_NOT_CONVERGED) ||
        rbm_ensemble_replicon(e, &lambda) != RBM_OK)
        return NAN;
    return lambda;
}

/* lambda_AT - 1 at parameter p: the temperature (vary_sigma 0) or sigma
 * (vary_sigma 1), the other fixed at `fixed`. */
static double at_excess(rbm_ensemble *e, int vary_sigma, double fixed, double p, double w)
{
    return vary_sigma ? at_lambda(e, p, fixed, w) - 1 : at_lambda(e, fixed, p, w) - 1;
}

/* The first p from `from` towards `to` where lambda_AT reaches 1 (scan of
 * `scan` steps, then bisection); NaN if none. */
static double at_crossing(rbm_ensemble *e, int vary_sigma, double fixed, double w, double from,
                          double to, size_t scan)
{
    double prev_p = from, prev = at_excess(e, vary_sigma, fixed, from, w);
    for (size_t k = 1; k <= scan; k++) {
        double p = from + (to - from) * (double)k / (double)scan;
        double v = at_excess(e, vary_sigma, fixed, p, w);
        if (!isnan(prev) && !isnan(v) && prev < 0 && v >= 0) {
            double a = p, b = prev_p; /* lambda - 1 >= 0 at a, < 0 at b */
            for (int i = 0; i < AT_BISECT; i++) {
                double mid = 0.5 * (a + b), fm = at_excess(e, vary_sigma, fixed, mid, w);
                if (isnan(fm))
                    break;
                if (fm >= 0)
                    a = mid;
                else
                    b = mid;
            }
            return 0.5 * (a + b);
        }
        prev = v;
        prev_p = p;
    }
    return NAN;
}

static FILE *open_in(const char *dir, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        cli_errorf("cannot write '%s'", path);
    return f;
}

static void write_script(FILE *f, double sigma, double kappa, int have_at, int sig_axis)
{
    const char *u = sig_axis ? "T" : "sigma";
    fprintf(f,
            "# rbm phase --grid: the RS phase diagram (%s %g, kappa %g)\n"
            "set terminal pngcairo size 900,700\nset output 'phase_diagram.png'\n"
            "set datafile separator ','\nset xlabel 'w_1 / %s'\nset ylabel '%s / %s'\n",
            u, sigma, kappa, u, sig_axis ? "sigma" : "T", u);
    fprintf(f,
            "set title 'RBM ensemble, replica-symmetric phases (0 P, 1 F, 2 SG)'\n"
            "set palette defined (0 '#f0f0f0', 1 '#9ecae1', 2 '#fdae6b')\nset cbrange [0:2]\n"
            "plot 'phase_grid.csv' skip 1 using ($2/%g):($1/%g):3 with image notitle, \\\n"
            "     'lines.csv' skip 1 using ($2/%g):($1/%g) with lines lw 2 lc 'black' "
            "title 'P-F (w = T)', \\\n"
            "     'lines.csv' skip 1 using ($3/%g):($1/%g) with lines lw 2 lc 'red' "
            "title 'F-SG (RS)', \\\n"
            "     'lines.csv' skip 1 using ($4/%g):($1/%g) with lines lw 2 lc 'blue' "
            "title 'P-SG (T = sigma)'",
            sigma, sigma, sigma, sigma, sigma, sigma, sigma, sigma);
    if (have_at)
        fprintf(f, ", \\\n     'at_line.csv' skip 1 using ($1/%g):($2/%g) with linespoints "
                   "lw 2 dt 2 lc 'dark-green' title 'de Almeida-Thouless'",
                sigma, sigma);
    fputc('\n', f);
}

/* The grid and its CSV file. 0, or an exit status after the message. */
static int grid_csv(rbm_context *ctx, rbm_ensemble *e, const char *dir, const double *T,
                    const double *w, size_t n, size_t *counts, int sig_axis)
{
    int32_t *ph = malloc(n * n * sizeof *ph);
    double *m = malloc(n * n * sizeof *m), *q = malloc(n * n * sizeof *q);
    char path[4200];
    int rc = EXIT_RUNTIME;
    if (!ph || !m || !q) {
        cli_errorf("out of memory");
        goto done;
    }
    rbm_status st = rbm_ensemble_diagram(e, sig_axis ? RBM_DIAGRAM_SIGMA : RBM_DIAGRAM_TEMPERATURE,
                                         T, n, w, n, ph, n * n, m,
                                         n * n, q, n * n, NULL);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot compute the phase diagram");
        goto done;
    }
    FILE *f = open_in(dir, "phase_grid.csv", path, sizeof path);
    if (!f)
        goto done;
    fputs(sig_axis ? "sigma,w,phase,m,q\n" : "T,w,phase,m,q\n", f);
    for (size_t iw = 0; iw < n; iw++)
        for (size_t it = 0; it < n; it++) {
            size_t k = iw * n + it;
            fprintf(f, "%.10g,%.10g,%d,%.10g,%.10g\n", T[it], w[iw], (int)ph[k], m[k], q[k]);
            if (ph[k] >= 0 && ph[k] <= 2)
                counts[ph[k]]++;
        }
    rc = fclose(f) == 0 ? 0 : EXIT_RUNTIME;
done:
    free(ph);
    free(m);
    free(q);
    return rc;
}

/* lines.csv: per T, the P-F w (T itself, above sigma), the F-SG w_c (below
 * sigma) and the P-SG line's w range (w = 0 .. sigma at T = sigma). */
static int lines_csv(const char *dir, double kappa, double s, const double *x, size_t n,
                     int sig_axis)
{
    char path[4200];
    FILE *f = open_in(dir, "lines.csv", path, sizeof path);
    if (!f)
        return EXIT_RUNTIME;
    fputs(sig_axis ? "sigma,w_pf,w_fsg,w_psg\n" : "T,w_pf,w_fsg,w_psg\n", f);
    for (size_t i = 0; i < n; i++) {
        double T = sig_axis ? s : x[i], sigma = sig_axis ? x[i] : s, wc = NAN;
        if (T < sigma && rbm_phase_line_fsg(kappa, sigma, T, &wc, NULL, NULL) != RBM_OK)
            wc = NAN;
        fprintf(f, "%.10g,%.10g,%.10g,nan\n", x[i], T >= sigma ? T : NAN, wc);
    }
    /* the P-SG line: T = sigma for w from 0 to there */
    fprintf(f, "%.10g,nan,nan,0\n%.10g,nan,nan,%.10g\n", s, s, s);
    return fclose(f) == 0 ? 0 : EXIT_RUNTIME;
}

int cli_phase_grid(rbm_context *ctx, rbm_ensemble *e, double kappa, double sigma,
                   double temperature, int sig_axis, rbm_component_law law, const char *dir,
                   size_t n, int json)
{
    /* s: the fixed quantity, sigma over (T, w) or T over (sigma, w) */
    const double s = sig_axis ? temperature : sigma;
    char note[4200];
    if (cli_make_dir(dir, note, sizeof note) != 0) {
        cli_errorf("%s", note);
        return EXIT_RUNTIME;
    }
    double *T = malloc(n * sizeof *T), *w = malloc(n * sizeof *w);
    double *t_at = malloc(n * sizeof *t_at);
    size_t counts[3] = {0, 0, 0}, n_at = 0;
    int rc = EXIT_RUNTIME;
    char path[4200];
    if (!T || !w || !t_at) {
        cli_errorf("out of memory");
        goto done;
    }
    const double x_hi = sig_axis ? 2.5 : 1.6;
    for (size_t k = 0; k < n; k++) {
        T[k] = s * (0.05 + (x_hi - 0.05) * (double)k / (double)(n - 1));
        w[k] = s * (2.0 * (double)k / (double)(n - 1));
    }
    if ((rc = grid_csv(ctx, e, dir, T, w, n, counts, sig_axis)) != 0 ||
        (rc = lines_csv(dir, kappa, s, T, n, sig_axis)) != 0)
        goto done;
    rc = EXIT_RUNTIME;
    /* the AT line (one mode of the ensemble's laws): from the triple point down */
    {
        FILE *f = open_in(dir, "at_line.csv", path, sizeof path);
        if (!f)
            goto done;
        fputs(sig_axis ? "w,sigma_AT\n" : "w,T_AT\n", f);
        for (size_t iw = 0; iw < n; iw++) {
            /* w <= s: the paramagnet is the RS state up to T = sigma, where
             * lambda_AT = (sigma / T)^4 reaches 1: the AT line is the P-SG
             * line there; beyond, from the stable side (high T or small
             * sigma) towards the unstable one */
            t_at[iw] = w[iw] <= s ? s
                       : sig_axis ? at_crossing(e, 1, s, w[iw], 0.05 * s, x_hi * s, 24)
                                  : at_crossing(e, 0, s, w[iw], s, 0.05 * s, 12);
            if (!isnan(t_at[iw])) {
                fprintf(f, "%.10g,%.10g\n", w[iw], t_at[iw]);
                n_at++;
            }
        }
        if (fclose(f) != 0)
            goto done;
    }
    FILE *g = open_in(dir, "phase_diagram.gp", path, sizeof path);
    if (!g)
        goto done;
    write_script(g, s, kappa, n_at > 0, sig_axis);
    if (fclose(g) != 0)
        goto done;
    int png = cli_run_gnuplot(dir, "phase_diagram.gp") == 0;
    if (json) {
        int first = 1;
        cli_json_header(stdout, &first, "phase");
        cli_json_str(stdout, &first, "grid_dir", dir);
        cli_json_size(stdout, &first, "grid_points", n * n);
        cli_json_str(stdout, &first, "grid_axis", sig_axis ? "sigma" : "temperature");
        cli_json_size(stdout, &first, "n_paramagnetic", counts[0]);
        cli_json_size(stdout, &first, "n_ferromagnetic", counts[1]);
        cli_json_size(stdout, &first, "n_spin_glass", counts[2]);
        cli_json_size(stdout, &first, "at_line_points", n_at);
        cli_json_bool(stdout, &first, "png", png);
        fputs("\n}\n", stdout);
    } else {
        printf("grid        %zu x %zu points over %s in [0.05, %g], w_1/%s in [0, 2] "
               "(kappa %g, law %s): %zu P, %zu F, %zu SG\n",
               n, n, sig_axis ? "sigma/T" : "T/sigma", x_hi, sig_axis ? "T" : "sigma", kappa,
               rbm_component_law_name(law), counts[0], counts[1], counts[2]);
        printf("lines       P-F, F-SG (RS), P-SG in %s/lines.csv", dir);
        printf("; de Almeida-Thouless line (%zu points) in %s/at_line.csv", n_at, dir);
        printf("\nfigure      %s/phase_diagram.%s\n", dir, png ? "png" : "gp (gnuplot not found)");
    }
    rc = 0;
done:
    free(T);
    free(w);
    free(t_at);
    return rc;
}
