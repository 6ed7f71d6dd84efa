/* Tests for phase.h (docs/theory.md §5, §9 items 12, 14, 15, 16).
 *
 * Reference values come from the tables of docs/theory.md §5.4 (adaptive
 * quadrature at 1e-12 there) and from computations written here,
 * independently of lib/phase.c:
 *   - sigma = 0 magnetisations of Laplace and ternary components by a
 *     trapezoid rule / a closed form iterated here;
 *   - the annealed free energy at m = q = 0;
 *   - naive mean field of a finite rank-K machine (N = 3000) iterated here
 *     for the compositional criterion (item 16);
 *   - the linearised-TAP spectral radius of a pure-noise W at m = 0 and the
 *     top singular value of W by Lanczos with full reorthogonalisation and
 *     a Sturm-bisection eigenvalue of the tridiagonal matrix (item 12);
 *   - machines built as K strong modes + Gaussian noise (rbm_machine_phase).
 * Random numbers: splitmix64 + Box-Muller written here. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* test-local random numbers (r_seed, r_unif, r_norm: testutil.h)           */

/* unit-variance Laplace: scale 1/sqrt(2) */
static double r_laplace(void)
{
    double u = r_unif() - 0.5;
    double s = u < 0 ? -1.0 : 1.0;
    return -s * log(1.0 - 2.0 * fabs(u)) / sqrt(2.0);
}

static double r_sign(void)
{
    return (r_u64() >> 63) ? 1.0 : -1.0;
}

/* ---------------------------------------------------------------------- */
/* names and laws                                                          */

static void test_names_and_laws(void **state)
{
    (void)state;
    assert_string_equal(rbm_phase_name(RBM_PHASE_PARAMAGNETIC), "paramagnetic");
    assert_string_equal(rbm_phase_name(RBM_PHASE_FERROMAGNETIC), "ferromagnetic");
    assert_string_equal(rbm_phase_name(RBM_PHASE_SPIN_GLASS), "spin_glass");
    assert_string_equal(rbm_phase_name((rbm_phase)7), "unknown");
    const char *names[4] = {"rademacher", "gaussian", "laplace", "ternary"};
    for (int i = 0; i < 4; i++) {
        rbm_component_law law;
        assert_int_equal(rbm_component_law_parse(names[i], &law), RBM_OK);
        assert_int_equal((int)law, i);
        assert_string_equal(rbm_component_law_name(law), names[i]);
    }
    rbm_component_law law;
    assert_int_equal(rbm_component_law_parse("cauchy", &law), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_component_law_parse(NULL, &law), RBM_ERR_NULL);
    assert_string_equal(rbm_component_law_name((rbm_component_law)9), "unknown");
    rbm_assert_close(rbm_component_law_kurtosis(RBM_LAW_RADEMACHER, 0), 1, 0, 0, "K rademacher");
    rbm_assert_close(rbm_component_law_kurtosis(RBM_LAW_GAUSSIAN, 0), 3, 0, 0, "K gaussian");
    rbm_assert_close(rbm_component_law_kurtosis(RBM_LAW_LAPLACE, 0), 6, 0, 0, "K laplace");
    rbm_assert_close(rbm_component_law_kurtosis(RBM_LAW_TERNARY, 0.25), 4, 0, 1e-15,
                     "K ternary");
    assert_true(isnan(rbm_component_law_kurtosis(RBM_LAW_TERNARY, 0)));
    assert_true(isnan(rbm_component_law_kurtosis((rbm_component_law)5, 1)));
}

/* ---------------------------------------------------------------------- */
/* item 14: transition lines                                              */

static const struct {
    double kappa, T, q, qbar, wc;
} FSG_TABLE[] = {
    {1, 0.1, 0.917051, 0.917051, 1.205565}, {1, 0.2, 0.827975, 0.827975, 1.162620},
    {1, 0.4, 0.633754, 0.633754, 1.092161}, {1, 0.5, 0.530368, 0.530368, 1.064664},
    {1, 0.6, 0.424253, 0.424253, 1.042124}, {1, 0.8, 0.208937, 0.208937, 1.011297},
    {1, 0.9, 0.102701, 0.102701, 1.003010}, {4, 0.1, 0.940153, 0.884626, 1.203445},
    {4, 0.2, 0.872498, 0.766860, 1.160013}, {4, 0.5, 0.612092, 0.431209, 1.064460},
    {4, 0.8, 0.263938, 0.150606, 1.011762}, {4, 0.9, 0.133426, 0.071257, 1.003210},
};

static void test_fsg_line_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof FSG_TABLE / sizeof FSG_TABLE[0]; i++) {
        double wc, q, qb;
        char what[96];
        assert_int_equal(rbm_phase_line_fsg(FSG_TABLE[i].kappa, 1.0, FSG_TABLE[i].T, &wc, &q, &qb),
                         RBM_OK);
        snprintf(what, sizeof what, "q (kappa %g, T %g)", FSG_TABLE[i].kappa, FSG_TABLE[i].T);
        rbm_assert_close(q, FSG_TABLE[i].q, 0, 1e-5, what);
        snprintf(what, sizeof what, "qbar (kappa %g, T %g)", FSG_TABLE[i].kappa, FSG_TABLE[i].T);
        rbm_assert_close(qb, FSG_TABLE[i].qbar, 0, 1e-5, what);
        snprintf(what, sizeof what, "w_c (kappa %g, T %g)", FSG_TABLE[i].kappa, FSG_TABLE[i].T);
        rbm_assert_close(wc, FSG_TABLE[i].wc, 0, 1e-5, what);
        /* scaling: everything is in units of sigma */
        double wc2, q2;
        assert_int_equal(rbm_phase_line_fsg(FSG_TABLE[i].kappa, 2.5, 2.5 * FSG_TABLE[i].T, &wc2,
                                            &q2, NULL),
                         RBM_OK);
        rbm_assert_close(wc2, 2.5 * wc, 1e-9, 0, "w_c scales with sigma");
        rbm_assert_close(q2, q, 0, 1e-9, "q depends on T / sigma");
    }
    /* near T = sigma: q ~ 1 - T/sigma */
    double wc, q, qb;
    assert_int_equal(rbm_phase_line_fsg(1, 1, 0.99, &wc, &q, &qb), RBM_OK);
    rbm_assert_close(q, 0.01003, 0, 5e-6, "q(T = 0.99)");
    /* T -> 0: w_c -> sigma sqrt(pi/2) = 1.2533 sigma, for any kappa */
    const double kap[3] = {1, 4, 0.25};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(rbm_phase_line_fsg(kap[k], 1, 0, &wc, &q, &qb), RBM_OK);
        rbm_assert_close(wc, 1.2533141373155, 0, 1e-12, "w_c(T = 0)");
        rbm_assert_close(q, 1, 0, 0, "q(T = 0)");
        double prev = 0;
        const double Ts[3] = {0.01, 0.003, 0.001};
        for (int t = 0; t < 3; t++) {
            assert_int_equal(rbm_phase_line_fsg(kap[k], 1, Ts[t], &wc, &q, &qb), RBM_OK);
            assert_true(wc > prev); /* increases towards the limit */
            prev = wc;
        }
        rbm_assert_close(wc, 1.2533, 0, 1e-3, "w_c(T = 0.001)");
    }
    /* T >= sigma: P-F line, q = 0 */
    assert_int_equal(rbm_phase_line_fsg(1, 1, 1.3, &wc, &q, &qb), RBM_OK);
    rbm_assert_close(wc, 1.3, 0, 0, "w_c above T = sigma");
    rbm_assert_close(q + qb, 0, 0, 0, "q above T = sigma");
    assert_int_equal(rbm_phase_line_fsg(1, 0, 0.5, &wc, NULL, NULL), RBM_OK);
    rbm_assert_close(wc, 0.5, 0, 0, "w_c at sigma = 0");
    /* closed forms */
    assert_int_equal(rbm_phase_line_pf(1, 1.5, &wc), RBM_OK);
    rbm_assert_close(wc, 1.5, 0, 0, "P-F line");
    assert_int_equal(rbm_phase_line_psg(1, 0.5, &wc), RBM_OK);
    rbm_assert_close(wc, 1.0, 0, 0, "P-SG line");
    /* bad input */
    assert_int_equal(rbm_phase_line_pf(1, 0.5, &wc), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_pf(1, 1.5, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_phase_line_pf(-1, 1.5, &wc), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_psg(1, 1.5, &wc), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_psg(0, 0, &wc), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_psg(NAN, 0, &wc), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_fsg(0, 1, 0.5, &wc, NULL, NULL), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_fsg(1, -1, 0.5, &wc, NULL, NULL), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_fsg(1, 1, -0.5, &wc, NULL, NULL), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_fsg(1, 1, INFINITY, &wc, NULL, NULL),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_fsg(1, 0, 0, &wc, NULL, NULL), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_phase_line_fsg(1, 1, 0.5, NULL, NULL, NULL), RBM_ERR_NULL);
}

/* The solver (not the line function) on the lines of item 14. */
static void test_solver_lines(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double one = 1, m, mb, q, qb;
    /* m = 0 for beta w_1 < 1, from a magnetised start, several kappa and laws */
    const double kap[3] = {1, 4, 0.25};
    const rbm_component_law laws[3] = {RBM_LAW_RADEMACHER, RBM_LAW_GAUSSIAN, RBM_LAW_TERNARY};
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < 3; l++) {
            double w = 0.9;
            rbm_ensemble *e = rbm_test_ensemble(ctx, kap[k], 0.5, 1.0, &w, 1, laws[l], 0.3);
            RBM_OKAY(ctx, rbm_ensemble_solve(e, &one, 1, &one, 1, 1, 1));
            RBM_OKAY(ctx, rbm_ensemble_get_solution(e, &m, 1, &mb, 1, &q, &qb, NULL));
            assert_true(fabs(m) < 1e-9 && fabs(mb) < 1e-9);
            assert_true(q < 1e-9 && qb < 1e-9); /* beta sigma = 0.5 < 1 */
            rbm_phase ph;
            RBM_OKAY(ctx, rbm_ensemble_phase(e, &ph, NULL, NULL));
            assert_int_equal(ph, RBM_PHASE_PARAMAGNETIC);
            /* just above beta w = 1: magnetised */
            w = 1.05;
            RBM_OKAY(ctx, rbm_ensemble_set_modes(e, &w, 1));
            RBM_OKAY(ctx, rbm_ensemble_phase(e, &ph, NULL, NULL));
            assert_int_equal(ph, RBM_PHASE_FERROMAGNETIC);
            rbm_ensemble_free(e);
        }
    /* q = 0 for beta sigma < 1 (w = 0) */
    double w0 = 0;
    rbm_ensemble *e = rbm_test_ensemble(ctx, 1, 0.9, 1.0, &w0, 1, RBM_LAW_RADEMACHER, 1);
    RBM_OKAY(ctx, rbm_ensemble_solve(e, NULL, 0, NULL, 0, 1, 1));
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, &q, &qb, NULL));
    assert_true(q < 1e-9 && qb < 1e-9);
    /* T = 0.9 sigma, kappa = 1: q = 0.102701 from the iteration itself */
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_SIGMA, 1.0));
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, 0.9));
    RBM_OKAY(ctx, rbm_ensemble_solve(e, NULL, 0, NULL, 0, 1, 1));
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, &q, &qb, NULL));
    rbm_assert_close(q, 0.102701, 0, 1e-5, "solver q(T = 0.9)");
    rbm_assert_close(qb, 0.102701, 0, 1e-5, "solver qbar(T = 0.9)");
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, 0.99));
    RBM_OKAY(ctx, rbm_ensemble_solve(e, NULL, 0, NULL, 0, 1, 1));
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, &q, NULL, NULL));
    rbm_assert_close(q, 0.01003, 0, 5e-6, "solver q(T = 0.99)");
    /* kappa = 4, T = 0.5: the table's (q, qbar) */
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_KAPPA, 4));
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, 0.5));
    RBM_OKAY(ctx, rbm_ensemble_solve(e, NULL, 0, NULL, 0, 1, 1));
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, &q, &qb, NULL));
    rbm_assert_close(q, 0.612092, 0, 1e-5, "solver q(kappa 4, T 0.5)");
    rbm_assert_close(qb, 0.431209, 0, 1e-5, "solver qbar(kappa 4, T 0.5)");
    rbm_ensemble_free(e);

    /* phases on both sides of every line (sigma = 1) */
    const struct {
        double kappa, T, w;
        rbm_phase want;
    } pts[] = {
        {1, 1.5, 0.5, RBM_PHASE_PARAMAGNETIC},  {1, 1.5, 1.4, RBM_PHASE_PARAMAGNETIC},
        {1, 1.5, 1.6, RBM_PHASE_FERROMAGNETIC}, {1, 0.95, 0.5, RBM_PHASE_SPIN_GLASS},
        {1, 1.05, 0.5, RBM_PHASE_PARAMAGNETIC}, {1, 0.5, 1.05, RBM_PHASE_SPIN_GLASS},
        {1, 0.5, 1.08, RBM_PHASE_FERROMAGNETIC}, {1, 0.2, 1.15, RBM_PHASE_SPIN_GLASS},
        {1, 0.2, 1.175, RBM_PHASE_FERROMAGNETIC}, {4, 0.5, 1.055, RBM_PHASE_SPIN_GLASS},
        {4, 0.5, 1.075, RBM_PHASE_FERROMAGNETIC}, {0.25, 0.8, 1.0, RBM_PHASE_SPIN_GLASS},
        {0.25, 0.8, 1.025, RBM_PHASE_FERROMAGNETIC},
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        e = rbm_test_ensemble(ctx, pts[i].kappa, 1.0, pts[i].T, &pts[i].w, 1,
                              RBM_LAW_RADEMACHER, 1);
        rbm_phase ph;
        double mix = -1;
        int comp = -1;
        RBM_OKAY(ctx, rbm_ensemble_phase(e, &ph, &mix, &comp));
        if (ph != pts[i].want)
            fail_msg("kappa %g T %g w %g: phase %s, expected %s", pts[i].kappa, pts[i].T,
                     pts[i].w, rbm_phase_name(ph), rbm_phase_name(pts[i].want));
        assert_true(mix == 0 && comp == 0);
        RBM_OKAY(ctx, rbm_ensemble_get_solution(e, &m, 1, &mb, 1, &q, &qb, NULL));
        if (ph == RBM_PHASE_FERROMAGNETIC)
            assert_true(fabs(m) > 1e-3);
        else
            assert_true(fabs(m) < 1e-6);
        if (ph == RBM_PHASE_PARAMAGNETIC)
            assert_true(q < 1e-6);
        else
            assert_true(q > 1e-3);
        rbm_ensemble_free(e);
    }
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* item 15: single-mode ferromagnet at sigma = 0                          */

static void test_ferromagnet_table(void **state)
{
    (void)state;
    const struct {
        rbm_component_law law;
        double kappa, bw, m, mbar;
    } tab[] = {
        {RBM_LAW_RADEMACHER, 1, 1.2, 0.658570, 0.658570},
        {RBM_LAW_RADEMACHER, 1, 1.5, 0.858560, 0.858560},
        {RBM_LAW_RADEMACHER, 1, 2.0, 0.957504, 0.957504},
        {RBM_LAW_RADEMACHER, 4, 1.2, 0.781736, 0.437425},
        {RBM_LAW_RADEMACHER, 4, 1.5, 0.950555, 0.612502},
        {RBM_LAW_RADEMACHER, 4, 2.0, 0.995422, 0.759665},
        {RBM_LAW_GAUSSIAN, 1, 1.2, 0.405235, 0.405235},
        {RBM_LAW_GAUSSIAN, 1, 1.5, 0.562278, 0.562278},
        {RBM_LAW_GAUSSIAN, 1, 2.0, 0.668554, 0.668554},
        {RBM_LAW_GAUSSIAN, 4, 1.2, 0.491734, 0.272981},
        {RBM_LAW_GAUSSIAN, 4, 1.5, 0.650061, 0.405981},
        {RBM_LAW_GAUSSIAN, 4, 2.0, 0.734808, 0.524448},
    };
    rbm_context *ctx = rbm_test_context();
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        /* beta w = bw at T = 0.5 (w = bw / 2): only beta w matters */
        double w = 0.5 * tab[i].bw, one = 1, m, mb, q, qb, f;
        rbm_ensemble *e = rbm_test_ensemble(ctx, tab[i].kappa, 0.0, 0.5, &w, 1, tab[i].law, 1);
        RBM_OKAY(ctx, rbm_ensemble_solve(e, &one, 1, &one, 1, 0, 0));
        RBM_OKAY(ctx, rbm_ensemble_get_solution(e, &m, 1, &mb, 1, &q, &qb, &f));
        char what[96];
        snprintf(what, sizeof what, "m (%s, kappa %g, beta w %g)",
                 rbm_component_law_name(tab[i].law), tab[i].kappa, tab[i].bw);
        rbm_assert_close(m, tab[i].m, 0, 1e-6, what);
        snprintf(what, sizeof what, "mbar (%s, kappa %g, beta w %g)",
                 rbm_component_law_name(tab[i].law), tab[i].kappa, tab[i].bw);
        rbm_assert_close(mb, tab[i].mbar, 0, 1e-6, what);
        /* a negative start gives the mirror state */
        double mone = -1, m2, mb2;
        RBM_OKAY(ctx, rbm_ensemble_solve(e, &mone, 1, &mone, 1, 0, 0));
        RBM_OKAY(ctx, rbm_ensemble_get_solution(e, &m2, 1, &mb2, 1, NULL, NULL, NULL));
        rbm_assert_close(m2, -m, 0, 1e-12, "mirror state");
        assert_true(rbm_ensemble_iteration_count(e) > 0);
        /* ferromagnet below the paramagnet: f < -(1/beta)(kappa^-1/2 + kappa^1/2) ln 2 */
        double fp = -0.5 * (1 / sqrt(tab[i].kappa) + sqrt(tab[i].kappa)) * log(2.0);
        assert_true(f < fp);
        rbm_ensemble_free(e);
    }
    rbm_context_free(ctx);
}

/* Laplace and ternary at sigma = 0 against references computed here:
 * m = E[x tanh(beta sqrt(kappa) w x mbar)], mbar likewise. */
static double laplace_mtanh(double A)
{
    /* E[x tanh(A x)] for unit-variance Laplace, trapezoid on [0, 60] */
    const double b = 1 / sqrt(2.0), h = 1e-4;
    double s = 0;
    for (double x = h; x < 60; x += h)
        s += x * tanh(A * x) * exp(-x / b) / b;
    return s * h; /* density on x > 0 is exp(-x/b)/(2b), doubled by symmetry */
}

static void test_other_laws_sigma0(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double kappa = 4, bw = 1.5;
    /* ternary p = 0.2: E[x tanh(Ax)] = sqrt(p) tanh(A / sqrt(p)) */
    const double p = 0.2;
    double mr = 1, mbr = 1;
    for (int it = 0; it < 20000; it++) {
        mr = sqrt(p) * tanh(bw * sqrt(kappa) * mbr / sqrt(p));
        mbr = sqrt(p) * tanh(bw / sqrt(kappa) * mr / sqrt(p));
    }
    double w = bw, one = 1, m, mb;
    rbm_ensemble *e = rbm_test_ensemble(ctx, kappa, 0.0, 1.0, &w, 1, RBM_LAW_TERNARY, p);
    RBM_OKAY(ctx, rbm_ensemble_solve(e, &one, 1, &one, 1, 0, 0));
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, &m, 1, &mb, 1, NULL, NULL, NULL));
    rbm_assert_close(m, mr, 0, 1e-9, "ternary m");
    rbm_assert_close(mb, mbr, 0, 1e-9, "ternary mbar");
    rbm_ensemble_free(e);
    /* Laplace, kappa = 1: m = E[x tanh(bw x m)] */
    mr = 0.5;
    for (int it = 0; it < 60; it++)
        mr = laplace_mtanh(bw * mr);
    e = rbm_test_ensemble(ctx, 1, 0.0, 1.0, &w, 1, RBM_LAW_LAPLACE, 1);
    RBM_OKAY(ctx, rbm_ensemble_solve(e, &one, 1, &one, 1, 0, 0));
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, &m, 1, &mb, 1, NULL, NULL, NULL));
    rbm_assert_close(m, mr, 0, 2e-6, "laplace m");
    rbm_assert_close(mb, mr, 0, 2e-6, "laplace mbar");
    rbm_ensemble_free(e);
    rbm_context_free(ctx);
}

/* The free energy at m = q = 0 is the annealed one; with noise and modes
 * every law gives the same paramagnet. */
static void test_free_energy(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const rbm_component_law laws[4] = {RBM_LAW_RADEMACHER, RBM_LAW_GAUSSIAN, RBM_LAW_LAPLACE,
                                       RBM_LAW_TERNARY};
    for (int l = 0; l < 4; l++) {
        double w[2] = {0.4, 0.3}, f, T = 1.25, sigma = 0.8, kappa = 2.5, beta = 1 / T;
        rbm_ensemble *e = rbm_test_ensemble(ctx, kappa, sigma, T, w, 2, laws[l], 0.5);
        assert_int_equal(rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, NULL, NULL, &f),
                         RBM_ERR_STATE);
        RBM_OKAY(ctx, rbm_ensemble_solve(e, NULL, 0, NULL, 0, 0, 0));
        RBM_OKAY(ctx, rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, NULL, NULL, &f));
        double mbf = 0.5 * beta * beta * sigma * sigma + (1 / sqrt(kappa) + sqrt(kappa)) * log(2.0);
        rbm_assert_close(f, -mbf / beta, 0, 1e-11, "annealed free energy");
        rbm_ensemble_free(e);
    }
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* item 16: compositional criterion                                        */

/* p_a = (t^a . m) / sqrt(N) for the K rows t^a of T (K x N). */
static void mf_project(size_t N, size_t K, double sN, const double *T, const double *m, double *p)
{
    for (size_t a = 0; a < K; a++) {
        double s = 0;
        for (size_t i = 0; i < N; i++)
            s += T[a * N + i] * m[i];
        p[a] = s / sN;
    }
}

/* m_i = tanh(bw sum_a T[a, i] / sqrt(N) p_a); returns max(change, max |dm_i|). */
static double mf_update(size_t N, size_t K, double sN, double bw, const double *T, const double *p,
                        double *m, double change)
{
    for (size_t i = 0; i < N; i++) {
        double x = 0;
        for (size_t a = 0; a < K; a++)
            x += T[a * N + i] / sN * p[a];
        double n = tanh(bw * x);
        change = fmax(change, fabs(n - m[i]));
        m[i] = n;
    }
    return change;
}

/* Naive MF of W = w sum_a u^a v^a^T (u = ut / sqrt(N), kappa = 1) at
 * beta w; returns the ratio min|m_a| / max|m_a| of the converged state. */
static double naive_mf_ratio(size_t N, size_t K, const double *ut, const double *vt, double bw,
                             double *mv, double *mh, int *converged)
{
    double pv[8], ph[8];
    const double sN = sqrt((double)N);
    *converged = 0;
    for (int it = 0; it < 20000; it++) {
        /* projections of the hidden state: v^a . m_h */
        mf_project(N, K, sN, vt, mh, ph);
        double change = mf_update(N, K, sN, bw, ut, ph, mv, 0);
        mf_project(N, K, sN, ut, mv, pv);
        change = mf_update(N, K, sN, bw, vt, pv, mh, change);
        if (change < 1e-10) {
            *converged = 1;
            break;
        }
    }
    double lo = INFINITY, hi = 0;
    for (size_t a = 0; a < K; a++) {
        double s = 0;
        for (size_t i = 0; i < N; i++)
            s += ut[a * N + i] * mv[i];
        s = fabs(s / (double)N); /* m_a = (1/N) sum_i ut_i m_i */
        lo = fmin(lo, s);
        hi = fmax(hi, s);
    }
    return hi > 0 ? lo / hi : 0;
}

/* Gram-Schmidt on K rows of length N, each scaled to squared norm N. */
static void orthonormalise(double *x, size_t K, size_t N)
{
    for (size_t a = 0; a < K; a++) {
        double *xa = x + a * N;
        for (size_t b = 0; b < a; b++) {
            const double *xb = x + b * N;
            double d = 0;
            for (size_t i = 0; i < N; i++)
                d += xa[i] * xb[i];
            for (size_t i = 0; i < N; i++)
                xa[i] -= d / (double)N * xb[i];
        }
        double n2 = 0;
        for (size_t i = 0; i < N; i++)
            n2 += xa[i] * xa[i];
        double sc = sqrt((double)N / n2);
        for (size_t i = 0; i < N; i++)
            xa[i] *= sc;
    }
}

static void compositional_case(rbm_component_law law, int want_mixed, uint64_t seed)
{
    const size_t N = 3000, K = 2;
    const int starts = 40;
    double *ut = xzalloc(K * N * sizeof(double)), *vt = xzalloc(K * N * sizeof(double));
    double *mv = xzalloc(N * sizeof(double)), *mh = xzalloc(N * sizeof(double));
    r_seed(seed);
    for (size_t x = 0; x < K * N; x++) {
        ut[x] = law == RBM_LAW_LAPLACE ? r_laplace() : r_sign();
        vt[x] = law == RBM_LAW_LAPLACE ? r_laplace() : r_sign();
    }
    /* equal modes: u^a = ut^a / sqrt(N) orthonormal (Gram-Schmidt), so
     * that both singular values are exactly w */
    orthonormalise(ut, K, N);
    orthonormalise(vt, K, N);
    int bad = 0, unconv = 0;
    double worst = want_mixed ? 1 : 0;
    for (int s = 0; s < starts; s++) {
        for (size_t i = 0; i < N; i++) {
            mv[i] = 2 * r_unif() - 1;
            mh[i] = 2 * r_unif() - 1;
        }
        int conv;
        double r = naive_mf_ratio(N, K, ut, vt, 1.2, mv, mh, &conv);
        unconv += !conv;
        if (want_mixed ? !(r > 0.8) : !(r < 0.2))
            bad++;
        worst = want_mixed ? fmin(worst, r) : fmax(worst, r);
    }
    print_message("# %s: %d/%d states off (worst ratio %.3f), %d not converged\n",
                  rbm_component_law_name(law), bad, starts, worst, unconv);
    if (bad > 1)
        fail_msg("%s components: %d of %d naive-MF states have the wrong mixing (worst ratio %g)",
                 rbm_component_law_name(law), bad, starts, worst);
    free(ut);
    free(vt);
    free(mv);
    free(mh);
}

static void test_compositional_naive_mf(void **state)
{
    (void)state;
    compositional_case(RBM_LAW_RADEMACHER, 0, 16);
    compositional_case(RBM_LAW_LAPLACE, 1, 16);
}

/* The same question in the RS theory: K = 2 equal modes, sigma = 0,
 * beta w = 1.2; the criterion's sign decides. */
static void test_compositional_rs(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const struct {
        rbm_component_law u, v;
        double p, kappa;
        int comp;
    } cases[] = {
        {RBM_LAW_RADEMACHER, RBM_LAW_RADEMACHER, 1, 1, 0},
        {RBM_LAW_TERNARY, RBM_LAW_TERNARY, 0.2, 1, 1},
        {RBM_LAW_LAPLACE, RBM_LAW_LAPLACE, 1, 1, 1},
        /* kappa = 4: the visible kurtosis weighs 4 times more */
        {RBM_LAW_TERNARY, RBM_LAW_RADEMACHER, 0.25, 4, 1},  /* 4 (4 - 3) + (1 - 3) = 2 */
        {RBM_LAW_RADEMACHER, RBM_LAW_TERNARY, 0.25, 4, 0},  /* 4 (1 - 3) + (4 - 3) = -7 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double w[2] = {1.2, 1.2}, crit, mix, m[2];
        rbm_ensemble *e =
            rbm_test_ensemble(ctx, cases[i].kappa, 0.0, 1.0, w, 2, cases[i].u, cases[i].p);
        RBM_OKAY(ctx, rbm_ensemble_set_law(e, RBM_LAYER_HIDDEN, cases[i].v, cases[i].p));
        if (cases[i].u == RBM_LAW_LAPLACE)
            RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_QUAD_TOLERANCE, 1e-7));
        RBM_OKAY(ctx, rbm_ensemble_kurtosis_criterion(e, &crit));
        assert_true((crit > 0) == (cases[i].comp != 0));
        rbm_phase ph;
        int comp;
        RBM_OKAY(ctx, rbm_ensemble_phase(e, &ph, &mix, &comp));
        assert_int_equal(ph, RBM_PHASE_FERROMAGNETIC);
        RBM_OKAY(ctx, rbm_ensemble_get_solution(e, m, 2, NULL, 0, NULL, NULL, NULL));
        if (comp != cases[i].comp)
            fail_msg("case %zu (criterion %g): compositional %d, mixing %g, m = (%g, %g)", i, crit,
                     comp, mix, m[0], m[1]);
        if (comp)
            rbm_assert_close(mix, 1, 0, 1e-6, "symmetric mixture");
        else
            rbm_assert_close(mix, 0, 0, 1e-9, "pure state");
        rbm_ensemble_free(e);
    }
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* item 12: TAP marginality on a pure-noise W                              */

/* Largest eigenvalue of the symmetric tridiagonal (alpha, beta) of size k by
 * Sturm bisection. */
static double tridiag_top(const double *al, const double *be, int k)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < k; i++) {
        double r = (i > 0 ? fabs(be[i - 1]) : 0) + (i + 1 < k ? fabs(be[i]) : 0);
        lo = fmin(lo, al[i] - r);
        hi = fmax(hi, al[i] + r);
    }
    for (int it = 0; it < 200; it++) {
        double x = 0.5 * (lo + hi);
        /* number of eigenvalues > x */
        int above = 0;
        double d = 1;
        for (int i = 0; i < k; i++) {
            d = al[i] - x - (i > 0 ? be[i - 1] * be[i - 1] / d : 0);
            if (d == 0)
                d = -1e-300;
            if (d > 0)
                above++;
        }
        if (above >= 1)
            lo = x;
        else
            hi = x;
    }
    return 0.5 * (lo + hi);
}

typedef struct {
    size_t nv, nh;
    const double *W, *dv, *dh; /* dv, dh: diagonal scalings (sqrt for dv) */
    double *tmp;               /* nh */
} gram_op;

/* y = Dv^{1/2} W Dh W^T Dv^{1/2} x (nv) */
static void gram_apply(const gram_op *G, const double *x, double *y)
{
    for (size_t j = 0; j < G->nh; j++)
        G->tmp[j] = 0;
    for (size_t i = 0; i < G->nv; i++) {
        double xi = x[i] * G->dv[i];
        const double *row = G->W + i * G->nh;
        for (size_t j = 0; j < G->nh; j++)
            G->tmp[j] += row[j] * xi;
    }
    for (size_t j = 0; j < G->nh; j++)
        G->tmp[j] *= G->dh[j];
    for (size_t i = 0; i < G->nv; i++) {
        const double *row = G->W + i * G->nh;
        double s = 0;
        for (size_t j = 0; j < G->nh; j++)
            s += row[j] * G->tmp[j];
        y[i] = s * G->dv[i];
    }
}

/* Top eigenvalue of the Gram operator by Lanczos (k steps, full
 * reorthogonalisation). */
static double lanczos_top(const gram_op *G, int k, uint64_t seed)
{
    size_t n = G->nv;
    double *Q = xzalloc((size_t)(k + 1) * n * sizeof(double)), *w = xzalloc(n * sizeof(double));
    double al[400], be[400];
    r_seed(seed);
    double nr = 0;
    for (size_t i = 0; i < n; i++) {
        Q[i] = r_norm();
        nr += Q[i] * Q[i];
    }
    for (size_t i = 0; i < n; i++)
        Q[i] /= sqrt(nr);
    int steps = k;
    for (int j = 0; j < k; j++) {
        gram_apply(G, Q + (size_t)j * n, w);
        for (int pass = 0; pass < 2; pass++)
            for (int l = 0; l <= j; l++) {
                double d = 0;
                const double *ql = Q + (size_t)l * n;
                for (size_t i = 0; i < n; i++)
                    d += ql[i] * w[i];
                if (pass == 0 && l == j)
                    al[j] = d;
                for (size_t i = 0; i < n; i++)
                    w[i] -= d * ql[i];
            }
        double b = 0;
        for (size_t i = 0; i < n; i++)
            b += w[i] * w[i];
        b = sqrt(b);
        if (b < 1e-12) {
            steps = j + 1;
            break;
        }
        be[j] = b;
        double *qn = Q + (size_t)(j + 1) * n;
        for (size_t i = 0; i < n; i++)
            qn[i] = w[i] / b;
    }
    double top = tridiag_top(al, be, steps);
    free(Q);
    free(w);
    return top;
}

static void test_tap_marginality(void **state)
{
    (void)state;
    const size_t nv = 1000;
    const double kaps[3] = {1, 4, 0.25};
    const double sig[5] = {0.7, 0.85, 1.0, 1.15, 1.3};
    for (int k = 0; k < 3; k++) {
        double kappa = kaps[k];
        size_t nh = (size_t)(kappa * (double)nv + 0.5);
        double L = sqrt((double)nv * (double)nh);
        double *R = xzalloc(nv * nh * sizeof(double));
        double *Sv = xzalloc(nv * sizeof(double)), *Sh = xzalloc(nh * sizeof(double));
        double *dv = xzalloc(nv * sizeof(double)), *dh = xzalloc(nh * sizeof(double));
        double *tmp = xzalloc(nh * sizeof(double)), *W = xzalloc(nv * nh * sizeof(double));
        r_seed(1200 + (uint64_t)k);
        for (size_t x = 0; x < nv * nh; x++)
            R[x] = r_norm() / sqrt(L); /* sigma = 1 */
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nh; j++) {
                double r2 = R[i * nh + j] * R[i * nh + j];
                Sv[i] += r2;
                Sh[j] += r2;
            }
        /* s_max of R (sigma = 1) against the MP edge */
        for (size_t i = 0; i < nv; i++)
            dv[i] = 1;
        for (size_t j = 0; j < nh; j++)
            dh[j] = 1;
        gram_op G = {nv, nh, R, dv, dh, tmp};
        double smax = sqrt(lanczos_top(&G, 120, 7));
        double edge = pow(kappa, 0.25) + pow(kappa, -0.25);
        print_message("# kappa %g: s_max %.4f, MP edge %.4f\n", kappa, smax, edge);
        rbm_assert_close(smax, edge, 0.02, 0, "s_max(W) vs the MP edge");
        /* linearised TAP at m = 0, beta = 1, W = sigma R:
         * dm_v = W dm_h / (1 + S_v), dm_h = W^T dm_v / (1 + S_h),
         * rho^2 = top eigenvalue of Dv^{1/2} W Dh W^T Dv^{1/2} */
        double rho[5], best = -1;
        int arg = -1;
        for (int s = 0; s < 5; s++) {
            double sg = sig[s];
            for (size_t x = 0; x < nv * nh; x++)
                W[x] = sg * R[x];
            for (size_t i = 0; i < nv; i++)
                dv[i] = 1 / sqrt(1 + sg * sg * Sv[i]);
            for (size_t j = 0; j < nh; j++)
                dh[j] = 1 / (1 + sg * sg * Sh[j]);
            gram_op Gs = {nv, nh, W, dv, dh, tmp};
            rho[s] = sqrt(lanczos_top(&Gs, 120, 11));
            double formula = sg * edge / sqrt((1 + sg * sg * sqrt(kappa)) * (1 + sg * sg / sqrt(kappa)));
            print_message("# kappa %g sigma %.2f: rho %.4f, formula %.4f\n", kappa, sg, rho[s],
                          formula);
            rbm_assert_close(rho[s], formula, 0.03, 0, "TAP spectral radius vs §5.6");
            assert_true(rho[s] <= 1.02);
            if (rho[s] > best) {
                best = rho[s];
                arg = s;
            }
        }
        assert_int_equal(arg, 2); /* the peak is at sigma = 1 = T */
        free(R);
        free(Sv);
        free(Sh);
        free(dv);
        free(dh);
        free(tmp);
        free(W);
    }
}

/* ---------------------------------------------------------------------- */
/* a machine on the diagram                                                */

static rbm_machine *spiked_machine(rbm_context *ctx, size_t nv, size_t nh, rbm_unit_kind kind,
                                   double sigma, const double *w, size_t K,
                                   rbm_component_law law, uint64_t seed)
{
    double L = sqrt((double)nv * (double)nh);
    double *W = xzalloc(nv * nh * sizeof(double));
    double *u = xzalloc(K * nv * sizeof(double)), *v = xzalloc(K * nh * sizeof(double));
    r_seed(seed);
    for (size_t x = 0; x < K * nv; x++)
        u[x] = (law == RBM_LAW_LAPLACE ? r_laplace() : r_sign()) / sqrt((double)nv);
    for (size_t x = 0; x < K * nh; x++)
        v[x] = (law == RBM_LAW_LAPLACE ? r_laplace() : r_sign()) / sqrt((double)nh);
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++) {
            double s = sigma * r_norm() / sqrt(L);
            for (size_t a = 0; a < K; a++)
                s += w[a] * u[a * nv + i] * v[a * nh + j];
            /* Bernoulli: W_B = 4 W_Ising gives the same +-1 machine */
            W[i * nh + j] = kind == RBM_UNIT_BERNOULLI ? 4 * s : s;
        }
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, kind, kind, &m));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, nv * nh));
    free(W);
    free(u);
    free(v);
    return m;
}

static void test_machine_phase(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double w[2] = {2.0, 1.5}, sigma = 0.6;
    const rbm_unit_kind kinds[2] = {RBM_UNIT_ISING, RBM_UNIT_BERNOULLI};
    for (int k = 0; k < 2; k++) {
        rbm_machine *m = spiked_machine(ctx, 400, 600, kinds[k], sigma, w, 2, RBM_LAW_RADEMACHER, 5);
        rbm_phase ph;
        double s, ws[4], kurt[2];
        size_t n;
        int comp;
        RBM_OKAY(ctx, rbm_machine_phase(m, 4, &ph, &s, &n, ws, 4, kurt, 2, &comp));
        print_message("# %s: sigma %.4f, %zu modes (%.4f, %.4f), kurtosis %.3f %.3f, %s\n",
                      rbm_unit_kind_name(kinds[k]), s, n, ws[0], ws[1], kurt[0], kurt[1],
                      rbm_phase_name(ph));
        rbm_assert_close(s, sigma, 0.05, 0, "machine sigma");
        assert_int_equal(n, 2);
        rbm_assert_close(ws[0], w[0], 0.05, 0, "machine w_1");
        rbm_assert_close(ws[1], w[1], 0.05, 0, "machine w_2");
        assert_true(ws[2] == 0 && ws[3] == 0);
        /* Rademacher components: kurtosis 1 once the noise mixed into the
         * observed singular vectors is accounted for (raw values 1.44, 1.57) */
        rbm_assert_close(kurt[0], 1, 0, 0.2, "visible kurtosis");
        rbm_assert_close(kurt[1], 1, 0, 0.2, "hidden kurtosis");
        assert_int_equal(ph, RBM_PHASE_FERROMAGNETIC);
        assert_int_equal(comp, 0);
        /* the ensemble behind it */
        rbm_ensemble *e = NULL;
        RBM_OKAY(ctx, rbm_ensemble_from_machine(m, 4, &e));
        double kappa, T;
        RBM_OKAY(ctx, rbm_ensemble_get_real(e, RBM_ENSEMBLE_KAPPA, &kappa));
        RBM_OKAY(ctx, rbm_ensemble_get_real(e, RBM_ENSEMBLE_TEMPERATURE, &T));
        rbm_assert_close(kappa, 1.5, 0, 1e-15, "machine kappa");
        rbm_assert_close(T, 1, 0, 0, "machine T");
        assert_int_equal(rbm_ensemble_mode_count(e), 2);
        rbm_component_law law;
        RBM_OKAY(ctx, rbm_ensemble_law(e, RBM_LAYER_VISIBLE, &law, NULL));
        assert_int_equal(law, RBM_LAW_RADEMACHER);
        rbm_assert_close(rbm_ensemble_machine_kurtosis(e, RBM_LAYER_HIDDEN), kurt[1], 0, 0,
                         "kurtosis getter");
        rbm_ensemble_free(e);
        rbm_machine_free(m);
    }
    /* Laplace components: leptokurtic, compositional by the criterion */
    rbm_machine *m = spiked_machine(ctx, 500, 500, RBM_UNIT_ISING, 0.5, w, 1, RBM_LAW_LAPLACE, 9);
    double kurt[2];
    size_t n;
    RBM_OKAY(ctx, rbm_machine_phase(m, 3, NULL, NULL, &n, NULL, 0, kurt, 2, NULL));
    print_message("# laplace machine: kurtosis %.3f %.3f\n", kurt[0], kurt[1]);
    assert_int_equal(n, 1);
    assert_true(kurt[0] > 4 && kurt[1] > 4);
    rbm_ensemble *e = NULL;
    RBM_OKAY(ctx, rbm_ensemble_from_machine(m, 3, &e));
    rbm_component_law law;
    double p;
    RBM_OKAY(ctx, rbm_ensemble_law(e, RBM_LAYER_HIDDEN, &law, &p));
    assert_int_equal(law, RBM_LAW_TERNARY);
    rbm_assert_close(p, 1 / kurt[1], 1e-12, 0, "ternary p from kurtosis");
    rbm_ensemble_free(e);
    rbm_machine_free(m);
    /* weak machine: pure noise with sigma < 1 is paramagnetic at T = 1; no modes */
    m = spiked_machine(ctx, 300, 300, RBM_UNIT_ISING, 0.5, w, 0, RBM_LAW_RADEMACHER, 3);
    rbm_phase ph;
    double s, ws[2];
    RBM_OKAY(ctx, rbm_machine_phase(m, 2, &ph, &s, &n, ws, 2, kurt, 2, NULL));
    assert_int_equal(ph, RBM_PHASE_PARAMAGNETIC);
    assert_int_equal(n, 0);
    assert_true(isnan(kurt[0]));
    rbm_assert_close(s, 0.5, 0.05, 0, "noise-only sigma");
    rbm_machine_free(m);
    /* strong noise: spin glass at T = 1 */
    m = spiked_machine(ctx, 300, 300, RBM_UNIT_ISING, 1.5, w, 0, RBM_LAW_RADEMACHER, 4);
    RBM_OKAY(ctx, rbm_machine_phase(m, 2, &ph, &s, &n, NULL, 0, NULL, 0, NULL));
    assert_int_equal(ph, RBM_PHASE_SPIN_GLASS);
    /* bad input */
    assert_int_equal(rbm_machine_phase(NULL, 2, &ph, NULL, NULL, NULL, 0, NULL, 0, NULL),
                     RBM_ERR_NULL);
    assert_int_equal(rbm_machine_phase(m, 0, &ph, NULL, NULL, NULL, 0, NULL, 0, NULL),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_machine_phase(m, 2, &ph, NULL, NULL, ws, 1, NULL, 0, NULL),
                     RBM_ERR_SHAPE);
    assert_int_equal(rbm_machine_phase(m, 2, &ph, NULL, NULL, NULL, 0, kurt, 1, NULL),
                     RBM_ERR_SHAPE);
    assert_int_equal(rbm_ensemble_from_machine(m, 2, NULL), RBM_ERR_NULL);
    rbm_machine_free(m);
    RBM_OKAY(ctx, rbm_machine_new(ctx, 5, 4, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING, &m));
    assert_int_equal(rbm_ensemble_from_machine(m, 2, &e), RBM_ERR_UNSUPPORTED);
    assert_null(e);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* diagram                                                                  */

static void test_diagram(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double w1 = 1;
    rbm_ensemble *e = rbm_test_ensemble(ctx, 1, 1.0, 1.0, &w1, 1, RBM_LAW_RADEMACHER, 1);
    const double T[4] = {0.3, 0.7, 1.2, 1.6};
    const double W[4] = {0.4, 1.0, 1.3, 1.8};
    int32_t ph[16];
    double m[16], q[16];
    size_t bad = 99;
    RBM_OKAY(ctx, rbm_ensemble_diagram(e, RBM_DIAGRAM_TEMPERATURE, T, 4, W, 4, ph, 16, m, 16, q,
                                       16, &bad));
    assert_int_equal(bad, 0);
    for (int iw = 0; iw < 4; iw++)
        for (int ix = 0; ix < 4; ix++) {
            double wc;
            assert_int_equal(rbm_phase_line_fsg(1, 1, T[ix], &wc, NULL, NULL), RBM_OK);
            rbm_phase want = W[iw] > wc ? RBM_PHASE_FERROMAGNETIC
                             : T[ix] < 1 ? RBM_PHASE_SPIN_GLASS
                                         : RBM_PHASE_PARAMAGNETIC;
            int at = iw * 4 + ix;
            if (ph[at] != (int32_t)want)
                fail_msg("T %g w %g: %s, expected %s", T[ix], W[iw], rbm_phase_name(ph[at]),
                         rbm_phase_name(want));
            assert_true((m[at] > 1e-3) == (want == RBM_PHASE_FERROMAGNETIC));
            assert_true((q[at] > 1e-3) == (want != RBM_PHASE_PARAMAGNETIC));
            /* the same point through rbm_ensemble_phase */
            if (iw == 2) {
                rbm_ensemble *e2 =
                    rbm_test_ensemble(ctx, 1, 1.0, T[ix], &W[iw], 1, RBM_LAW_RADEMACHER, 1);
                rbm_phase p2;
                RBM_OKAY(ctx, rbm_ensemble_phase(e2, &p2, NULL, NULL));
                assert_int_equal((int32_t)p2, ph[at]);
                rbm_ensemble_free(e2);
            }
        }
    /* settings unchanged, solution discarded */
    double t, wk;
    RBM_OKAY(ctx, rbm_ensemble_get_real(e, RBM_ENSEMBLE_TEMPERATURE, &t));
    RBM_OKAY(ctx, rbm_ensemble_get_modes(e, &wk, 1));
    assert_true(t == 1.0 && wk == 1.0);
    assert_int_equal(rbm_ensemble_get_solution(e, NULL, 0, NULL, 0, NULL, NULL, NULL),
                     RBM_ERR_STATE);
    /* sigma axis at T = 1: sigma = 0.5 and 1.5, w = 0.5 -> P and SG */
    const double S[2] = {0.5, 1.5}, W2[1] = {0.5};
    int32_t ph2[2];
    RBM_OKAY(ctx, rbm_ensemble_diagram(e, RBM_DIAGRAM_SIGMA, S, 2, W2, 1, ph2, 2, NULL, 0, NULL,
                                       0, NULL));
    assert_int_equal(ph2[0], RBM_PHASE_PARAMAGNETIC);
    assert_int_equal(ph2[1], RBM_PHASE_SPIN_GLASS);
    /* bad input */
    assert_int_equal(rbm_ensemble_diagram(e, RBM_DIAGRAM_TEMPERATURE, T, 4, W, 4, ph, 15, NULL, 0,
                                          NULL, 0, NULL),
                     RBM_ERR_SHAPE);
    assert_int_equal(rbm_ensemble_diagram(e, RBM_DIAGRAM_TEMPERATURE, T, 0, W, 4, ph, 0, NULL, 0,
                                          NULL, 0, NULL),
                     RBM_ERR_INVALID_ARGUMENT);
    const double Tbad[1] = {0};
    assert_int_equal(rbm_ensemble_diagram(e, RBM_DIAGRAM_TEMPERATURE, Tbad, 1, W, 1, ph, 1, NULL,
                                          0, NULL, 0, NULL),
                     RBM_ERR_INVALID_ARGUMENT);
    const double Wnan[1] = {NAN};
    assert_int_equal(rbm_ensemble_diagram(e, RBM_DIAGRAM_TEMPERATURE, T, 1, Wnan, 1, ph, 1, NULL,
                                          0, NULL, 0, NULL),
                     RBM_ERR_NOT_FINITE);
    assert_int_equal(rbm_ensemble_diagram(e, (rbm_diagram_axis)5, T, 1, W, 1, ph, 1, NULL, 0,
                                          NULL, 0, NULL),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_diagram(e, RBM_DIAGRAM_TEMPERATURE, NULL, 1, W, 1, ph, 1, NULL,
                                          0, NULL, 0, NULL),
                     RBM_ERR_NULL);
    rbm_ensemble_free(e);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* settings and bad input                                                   */

static void test_settings_and_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_ensemble *e = NULL;
    assert_int_equal(rbm_ensemble_new(NULL, &e), RBM_ERR_NULL);
    assert_int_equal(rbm_ensemble_new(ctx, NULL), RBM_ERR_NULL);
    RBM_OKAY(ctx, rbm_ensemble_new(ctx, &e));
    /* defaults */
    const struct {
        rbm_ensemble_param key;
        double def, good, bad;
    } keys[] = {
        {RBM_ENSEMBLE_KAPPA, 1, 2, 0},          {RBM_ENSEMBLE_SIGMA, 1, 0, -1},
        {RBM_ENSEMBLE_TEMPERATURE, 1, 0.3, 0},  {RBM_ENSEMBLE_DAMPING, 1, 0.5, 1.5},
        {RBM_ENSEMBLE_TOLERANCE, 1e-12, 1e-9, 0},
        {RBM_ENSEMBLE_QUAD_TOLERANCE, 1e-12, 1e-8, -1},
        {RBM_ENSEMBLE_M_THRESHOLD, 1e-6, 1e-4, 0}, {RBM_ENSEMBLE_Q_THRESHOLD, 1e-6, 1e-4, NAN},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double v;
        RBM_OKAY(ctx, rbm_ensemble_get_real(e, keys[i].key, &v));
        rbm_assert_close(v, keys[i].def, 0, 0, "default");
        RBM_OKAY(ctx, rbm_ensemble_set_real(e, keys[i].key, keys[i].good));
        assert_int_equal(rbm_ensemble_set_real(e, keys[i].key, keys[i].bad),
                         RBM_ERR_INVALID_ARGUMENT);
        assert_int_equal(rbm_ensemble_set_real(e, keys[i].key, INFINITY),
                         RBM_ERR_INVALID_ARGUMENT);
        RBM_OKAY(ctx, rbm_ensemble_get_real(e, keys[i].key, &v));
        rbm_assert_close(v, keys[i].good, 0, 0, "value kept after a refused set");
    }
    /* the integer key: set through the integer setter only */
    int64_t iters = 0;
    RBM_OKAY(ctx, rbm_ensemble_get_int(e, RBM_ENSEMBLE_MAX_ITERATIONS, &iters));
    assert_true(iters == 100000);
    RBM_OKAY(ctx, rbm_ensemble_set_int(e, RBM_ENSEMBLE_MAX_ITERATIONS, 50));
    assert_int_equal(rbm_ensemble_set_int(e, RBM_ENSEMBLE_MAX_ITERATIONS, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_set_real(e, RBM_ENSEMBLE_MAX_ITERATIONS, 2.5),
                     RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_ensemble_get_int(e, RBM_ENSEMBLE_MAX_ITERATIONS, &iters));
    assert_true(iters == 50);
    assert_int_equal(rbm_ensemble_set_real(e, (rbm_ensemble_param)99, 1),
                     RBM_ERR_INVALID_ARGUMENT);
    double v;
    assert_int_equal(rbm_ensemble_get_real(e, (rbm_ensemble_param)99, &v),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_get_real(e, RBM_ENSEMBLE_KAPPA, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_ensemble_get_real(NULL, RBM_ENSEMBLE_KAPPA, &v), RBM_ERR_NULL);
    assert_int_equal(rbm_ensemble_set_real(NULL, RBM_ENSEMBLE_KAPPA, 1), RBM_ERR_NULL);
    /* modes */
    assert_int_equal(rbm_ensemble_mode_count(e), 1);
    assert_int_equal(rbm_ensemble_mode_count(NULL), 0);
    double w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(rbm_ensemble_set_modes(e, w, 0), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_set_modes(e, w, 9), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_set_modes(e, NULL, 1), RBM_ERR_NULL);
    double wneg[2] = {1, -1}, wnan[2] = {1, NAN};
    assert_int_equal(rbm_ensemble_set_modes(e, wneg, 2), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_set_modes(e, wnan, 2), RBM_ERR_NOT_FINITE);
    RBM_OKAY(ctx, rbm_ensemble_set_modes(e, w, 8));
    double got[8];
    assert_int_equal(rbm_ensemble_get_modes(e, got, 7), RBM_ERR_SHAPE);
    RBM_OKAY(ctx, rbm_ensemble_get_modes(e, got, 8));
    assert_memory_equal(got, w, sizeof got);
    /* laws */
    assert_int_equal(rbm_ensemble_set_law(e, (rbm_layer)3, RBM_LAW_GAUSSIAN, 1),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_set_law(e, RBM_LAYER_VISIBLE, (rbm_component_law)8, 1),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_set_law(e, RBM_LAYER_VISIBLE, RBM_LAW_TERNARY, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_set_law(e, RBM_LAYER_VISIBLE, RBM_LAW_TERNARY, 1.5),
                     RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_ensemble_set_law(e, RBM_LAYER_VISIBLE, RBM_LAW_TERNARY, 0.1));
    RBM_OKAY(ctx, rbm_ensemble_set_law(e, RBM_LAYER_HIDDEN, RBM_LAW_LAPLACE, 0));
    rbm_component_law law;
    double p;
    RBM_OKAY(ctx, rbm_ensemble_law(e, RBM_LAYER_VISIBLE, &law, &p));
    assert_int_equal(law, RBM_LAW_TERNARY);
    rbm_assert_close(p, 0.1, 0, 0, "sparsity");
    double crit;
    RBM_OKAY(ctx, rbm_ensemble_kurtosis_criterion(e, &crit));
    rbm_assert_close(crit, 2 * (10 - 3) + (6 - 3), 1e-12, 0, "criterion");
    assert_int_equal(rbm_ensemble_kurtosis_criterion(e, NULL), RBM_ERR_NULL);
    assert_true(isnan(rbm_ensemble_machine_kurtosis(e, RBM_LAYER_VISIBLE)));
    /* solve */
    RBM_OKAY(ctx, rbm_ensemble_set_modes(e, w, 2));
    double m0[2] = {0.5, 0.5};
    assert_int_equal(rbm_ensemble_solve(e, m0, 1, NULL, 0, 0, 0), RBM_ERR_SHAPE);
    assert_int_equal(rbm_ensemble_solve(e, m0, 2, NULL, 0, 1.5, 0), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_ensemble_solve(e, m0, 2, NULL, 0, 0, NAN), RBM_ERR_INVALID_ARGUMENT);
    double mnan[2] = {NAN, 0};
    assert_int_equal(rbm_ensemble_solve(e, mnan, 2, NULL, 0, 0, 0), RBM_ERR_NOT_FINITE);
    assert_int_equal(rbm_ensemble_solve(NULL, NULL, 0, NULL, 0, 0, 0), RBM_ERR_NULL);
    assert_int_equal(rbm_ensemble_iteration_count(e), 0);
    /* iteration cap: reported, last iterate kept */
    RBM_OKAY(ctx, rbm_ensemble_set_law(e, RBM_LAYER_HIDDEN, RBM_LAW_RADEMACHER, 0));
    RBM_OKAY(ctx, rbm_ensemble_set_int(e, RBM_ENSEMBLE_MAX_ITERATIONS, 3));
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_QUAD_TOLERANCE, 1e-12));
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_TOLERANCE, 1e-12));
    assert_int_equal(rbm_ensemble_solve(e, m0, 2, m0, 2, 0.5, 0.5), RBM_ERR_NOT_CONVERGED);
    assert_int_equal(rbm_context_last_status(ctx), RBM_ERR_NOT_CONVERGED);
    assert_int_equal(rbm_ensemble_iteration_count(e), 3);
    double m[2];
    assert_int_equal(rbm_ensemble_get_solution(e, m, 1, NULL, 0, NULL, NULL, NULL), RBM_ERR_SHAPE);
    RBM_OKAY(ctx, rbm_ensemble_get_solution(e, m, 2, NULL, 0, NULL, NULL, NULL));
    assert_true(isfinite(m[0]) && isfinite(m[1]));
    rbm_phase ph;
    assert_int_equal(rbm_ensemble_phase(e, &ph, NULL, NULL), RBM_ERR_NOT_CONVERGED);
    assert_int_equal(rbm_ensemble_phase(NULL, &ph, NULL, NULL), RBM_ERR_NULL);
    rbm_ensemble_free(e);
    rbm_ensemble_free(NULL);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_laws),
        cmocka_unit_test(test_fsg_line_table),
        cmocka_unit_test(test_solver_lines),
        cmocka_unit_test(test_ferromagnet_table),
        cmocka_unit_test(test_other_laws_sigma0),
        cmocka_unit_test(test_free_energy),
        cmocka_unit_test(test_compositional_naive_mf),
        cmocka_unit_test(test_compositional_rs),
        cmocka_unit_test(test_tap_marginality),
        cmocka_unit_test(test_machine_phase),
        cmocka_unit_test(test_diagram),
        cmocka_unit_test(test_settings_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
