/* phase_diagram.c — the replica-symmetric phase diagram of the RBM ensemble
 * (docs/theory.md §5): K = 1 strong mode of strength w plus Gaussian noise of
 * strength sigma, kappa = N_h / N_v = 1, Rademacher components.
 *
 *   1. solve the RS equations at every point of a grid over
 *      (w / sigma, T / sigma) in (0, 2] x (0, 2] (rbm_ensemble_diagram: a
 *      pure spin-glass solve plus a magnetised solve per point);
 *   2. compute the transition lines: P-F (w = T, T >= sigma), P-SG
 *      (T = sigma, w <= sigma) and the RS F-SG line
 *      beta^2 w^2 (1 - q)(1 - qbar) = 1 (rbm_phase_line_fsg);
 *   3. check that every grid point lies on the side of the lines its phase
 *      says (the solver and the closed forms are independent computations:
 *      the grid solves the full equations, the lines only the m = 0 ones);
 *   4. print the diagram as text and draw it with gnuplot.
 *
 * Writes to the directory argv[1] (default "."):
 *   phase_diagram.csv    w,T,phase,m,q   (phase 0 P, 1 F, 2 SG)
 *   phase_lines.csv      T,w_c           (the F-SG RS line, then the P-F line)
 *   phase_diagram.gp / .png  gnuplot script and figure, when gnuplot is on PATH
 * Exits 1 when a grid point contradicts the lines, when a solve did not
 * converge, or when the line limits are off (w_c(0) = sigma sqrt(pi/2),
 * w_c(sigma) = sigma). Run as a test (a few seconds).
 * Build:  cc phase_diagram.c example_util.c $(pkg-config --cflags --libs rbm) -lm */
#include <rbm/rbm.h>

#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { NX = 60, NW = 59, NLINE = 400 };
static const double SIGMA = 1.0, KAPPA = 1.0;

/* Boundary of the ferromagnet at temperature T (closed forms + the RS
 * F-SG line). */
static int critical_w(double T, double *wc)
{
    return rbm_phase_line_fsg(KAPPA, SIGMA, T, wc, NULL, NULL) == RBM_OK ? 0 : -1;
}

static void plot_body(FILE *f, int attempt, const void *user)
{
    (void)user;
    (void)attempt;
    fprintf(f, "set title 'RBM ensemble, RS phase diagram ({/Symbol k} = 1, Rademacher "
               "modes, K = 1)'\n");
    fprintf(f, "set xlabel 'w / {/Symbol s}  (strength of the mode)'\n");
    fprintf(f, "set ylabel 'T / {/Symbol s}'\n");
    fprintf(f, "set xrange [0:2]\nset yrange [0:2]\nset size ratio 1\n");
    fprintf(f, "set palette defined (0 '#fdd49e', 1 '#9ecae1', 2 '#c7e9c0')\n");
    fprintf(f, "set cbrange [-0.5:2.5]\nset cbtics ('P' 0, 'F' 1, 'SG' 2)\n");
    fprintf(f, "unset colorbox\n");
    fprintf(f, "set label 'P' at 0.5,1.3 font ',16' front\n");
    fprintf(f, "set label 'F' at 1.6,0.6 font ',16' front\n");
    fprintf(f, "set label 'SG' at 0.4,0.5 font ',16' front\n");
    fprintf(f, "set key left top opaque box\n");
    fprintf(f, "plot 'phase_diagram.csv' skip 1 using 1:2:3 with image notitle, \\\n");
    fprintf(f, "     'phase_lines.csv' skip 1 using 2:1 with lines lw 2.5 lc rgb "
               "'#08306b' title 'transition lines (closed forms, RS F-SG line)', \\\n");
    fprintf(f, "     '-' using 1:2 with lines lw 2.5 lc rgb '#08306b' notitle, \\\n");
    fprintf(f, "     '-' using 1:2 with points pt 7 ps 1.3 lc rgb '#a50f15' title "
               "'triple point T = w = {/Symbol s}'\n");
    fprintf(f, "0,1\n1,1\ne\n1,1\ne\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int rc = 1;
    rbm_context *ctx = NULL;
    rbm_ensemble *e = NULL;
    double T[NX], W[NW], m[NX * NW], q[NX * NW];
    int32_t ph[NX * NW];
    char path[4096];
    /* cell centres; 60 T cells against 59 w cells: w = T never happens
     * (60 (2i+1) is even, 59 (2j+1) odd), so no point lies on the P-F line */
    for (int i = 0; i < NX; i++)
        T[i] = 2.0 * (i + 0.5) / NX;
    for (int i = 0; i < NW; i++)
        W[i] = 2.0 * (i + 0.5) / NW;

    CHECK(rbm_context_new(&ctx));
    CHECK(rbm_ensemble_new(ctx, &e));
    CHECK(rbm_ensemble_set_real(e, RBM_ENSEMBLE_KAPPA, KAPPA));
    CHECK(rbm_ensemble_set_real(e, RBM_ENSEMBLE_SIGMA, SIGMA));
    CHECK(rbm_ensemble_set_real(e, RBM_ENSEMBLE_TOLERANCE, 1e-11));
    CHECK(rbm_ensemble_set_real(e, RBM_ENSEMBLE_QUAD_TOLERANCE, 1e-10));
    double w1 = 1.0;
    CHECK(rbm_ensemble_set_modes(e, &w1, 1));
    CHECK(rbm_ensemble_set_law(e, RBM_LAYER_VISIBLE, RBM_LAW_RADEMACHER, 1));
    CHECK(rbm_ensemble_set_law(e, RBM_LAYER_HIDDEN, RBM_LAW_RADEMACHER, 1));
    size_t unconverged = 0;
    CHECK(rbm_ensemble_diagram(e, RBM_DIAGRAM_TEMPERATURE, T, NX, W, NW, ph, NX * NW, m,
                               NX * NW, q, NX * NW, &unconverged));

    /* the lines */
    snprintf(path, sizeof path, "%s/phase_lines.csv", dir);
    FILE *fl = fopen(path, "w");
    if (!fl) {
        perror(path);
        goto done;
    }
    fprintf(fl, "T,w_c\n");
    int bad_lines = 0;
    for (int k = 0; k <= NLINE; k++) {
        double t = 2.0 * k / NLINE, wc;
        if (critical_w(t, &wc) != 0)
            bad_lines++;
        fprintf(fl, "%.6f,%.8f\n", t, wc);
    }
    fclose(fl);
    double wc0, wc1, wcm;
    if (critical_w(0, &wc0) || critical_w(1, &wc1) || critical_w(1 - 1e-9, &wcm))
        bad_lines++;
    if (fabs(wc0 - sqrt(acos(-1.0) / 2)) > 1e-9 || fabs(wc1 - 1) > 1e-12 || fabs(wcm - 1) > 1e-6)
        bad_lines++;
    printf("F-SG RS line: w_c(T=0) = %.6f (sigma sqrt(pi/2) = %.6f), w_c(T=0.5) = ", wc0,
           sqrt(acos(-1.0) / 2));
    double wch;
    critical_w(0.5, &wch);
    printf("%.6f, w_c(T -> sigma) = %.6f\n", wch, wcm);

    /* the grid: CSV, text picture, consistency with the lines */
    snprintf(path, sizeof path, "%s/phase_diagram.csv", dir);
    FILE *fd = fopen(path, "w");
    if (!fd) {
        perror(path);
        goto done;
    }
    fprintf(fd, "w,T,phase,m,q\n");
    int contradictions = 0;
    printf("\n  T/sigma   (P = paramagnet, F = ferromagnet, S = spin glass; w/sigma -> 0..2)\n");
    for (int ix = NX - 1; ix >= 0; ix--) {
        double wc;
        if (critical_w(T[ix], &wc) != 0)
            bad_lines++;
        printf("  %5.3f  ", T[ix]);
        for (int iw = 0; iw < NW; iw++) {
            int at = iw * NX + ix;
            rbm_phase want = W[iw] > wc        ? RBM_PHASE_FERROMAGNETIC
                             : T[ix] < SIGMA ? RBM_PHASE_SPIN_GLASS
                                             : RBM_PHASE_PARAMAGNETIC;
            putchar(ph[at] == RBM_PHASE_FERROMAGNETIC ? 'F'
                    : ph[at] == RBM_PHASE_SPIN_GLASS  ? 'S'
                                                      : 'P');
            if (ph[at] != (int32_t)want) {
                contradictions++;
                fprintf(stderr, "T %.3f w %.3f: solved %s, lines say %s (w_c %.6f)\n", T[ix],
                        W[iw], rbm_phase_name((rbm_phase)ph[at]), rbm_phase_name(want), wc);
            }
        }
        putchar('\n');
    }
    for (int iw = 0; iw < NW; iw++) {
        for (int ix = 0; ix < NX; ix++) {
            int at = iw * NX + ix;
            fprintf(fd, "%.4f,%.4f,%d,%.8f,%.8f\n", W[iw], T[ix], (int)ph[at], m[at], q[at]);
        }
        fprintf(fd, "\n");
    }
    fclose(fd);
    printf("\n%d grid points, %zu not converged, %d contradict the lines, %d line failures\n",
           NX * NW, unconverged, contradictions, bad_lines);
    ex_figure(dir, "phase_diagram", "760,640", plot_body, NULL);
    rc = (contradictions || unconverged || bad_lines) ? 1 : 0;
done:
    rbm_ensemble_free(e);
    rbm_context_free(ctx);
    return rc;
}
