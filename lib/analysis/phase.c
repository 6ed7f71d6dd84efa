/* librbm — phase: the RBM ensemble handle (parameters, laws, RS solve and
 * phase), the phase diagram over a grid, and a machine placed on the
 * diagram from the spectrum of its W (docs/theory.md §5). The equations are
 * phase_rs.c. */
#include "analysis/phase_rs.h"
#include "core/params.h"

#include <math.h>
#include <string.h>

#define KMAX RBM_ENSEMBLE_MAX_MODES

struct rbm_ensemble {
    rbm_context *ctx;
    rbm__rs_params p;
    rbm__rs_solution sol;
    bool have_sol;
    double kurt_machine[2];
};

/* ------------------------------------------------------------------------ */
/* names and laws                                                           */

const char *rbm_phase_name(rbm_phase phase)
{
    switch (phase) {
    case RBM_PHASE_PARAMAGNETIC:
        return "paramagnetic";
    case RBM_PHASE_FERROMAGNETIC:
        return "ferromagnetic";
    case RBM_PHASE_SPIN_GLASS:
        return "spin_glass";
    }
    return "unknown";
}

static const struct {
    rbm_component_law law;
    const char *name;
} LAWS[] = {{RBM_LAW_RADEMACHER, "rademacher"},
            {RBM_LAW_GAUSSIAN, "gaussian"},
            {RBM_LAW_LAPLACE, "laplace"},
            {RBM_LAW_TERNARY, "ternary"}};
#define N_LAWS (sizeof LAWS / sizeof LAWS[0])

/* The name of a known law, NULL for a value that is no rbm_component_law. */
static const char *law_name(rbm_component_law law)
{
    for (size_t i = 0; i < N_LAWS; i++)
        if (LAWS[i].law == law)
            return LAWS[i].name;
    return NULL;
}

const char *rbm_component_law_name(rbm_component_law law)
{
    const char *name = law_name(law);
    return name ? name : "unknown";
}

rbm_status rbm_component_law_parse(const char *name, rbm_component_law *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    for (size_t i = 0; i < N_LAWS; i++)
        if (strcmp(name, LAWS[i].name) == 0) {
            *out = LAWS[i].law;
            return RBM_OK;
        }
    return RBM_ERR_INVALID_ARGUMENT;
}

static bool law_valid(rbm_component_law law, double p)
{
    if (!law_name(law))
        return false;
    return law != RBM_LAW_TERNARY || (p > 0 && p <= 1);
}

double rbm_component_law_kurtosis(rbm_component_law law, double sparsity)
{
    if (!law_valid(law, sparsity))
        return NAN;
    switch (law) {
    case RBM_LAW_RADEMACHER:
        return 1;
    case RBM_LAW_GAUSSIAN:
        return 3;
    case RBM_LAW_LAPLACE:
        return 6;
    case RBM_LAW_TERNARY:
        return 1.0 / sparsity;
    }
    return NAN;
}

/* ------------------------------------------------------------------------ */
/* the handle                                                               */

rbm_status rbm_ensemble_new(rbm_context *ctx, rbm_ensemble **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "out is NULL");
    rbm_ensemble *e;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *e, &e, "ensemble");
    if (st)
        return st;
    e->ctx = ctx;
    e->p = (rbm__rs_params){.kappa = 1, .sigma = 1, .T = 1, .damping = 1, .tol = 1e-12,
                            .qtol = 1e-12, .m_thr = 1e-6, .q_thr = 1e-6, .max_iter = 100000,
                            .K = 1};
    e->p.law[0] = e->p.law[1] = (rbm__rs_law){RBM_LAW_RADEMACHER, 1};
    e->kurt_machine[0] = e->kurt_machine[1] = NAN;
    *out = e;
    return RBM_OK;
}

void rbm_ensemble_free(rbm_ensemble *e)
{
    if (e)
        rbm__free(e->ctx, e);
}

static const rbm__param_spec ensemble_specs[] = {
    {RBM_ENSEMBLE_KAPPA, "RBM_ENSEMBLE_KAPPA", RBM__PARAM_REAL, 0, INFINITY, true, true},
    {RBM_ENSEMBLE_SIGMA, "RBM_ENSEMBLE_SIGMA", RBM__PARAM_REAL, 0, INFINITY, false, true},
    {RBM_ENSEMBLE_TEMPERATURE, "RBM_ENSEMBLE_TEMPERATURE", RBM__PARAM_REAL, 0, INFINITY, true,
     true},
    {RBM_ENSEMBLE_DAMPING, "RBM_ENSEMBLE_DAMPING", RBM__PARAM_REAL, 0, 1, true, false},
    {RBM_ENSEMBLE_TOLERANCE, "RBM_ENSEMBLE_TOLERANCE", RBM__PARAM_REAL, 0, INFINITY, true, true},
    {RBM_ENSEMBLE_QUAD_TOLERANCE, "RBM_ENSEMBLE_QUAD_TOLERANCE", RBM__PARAM_REAL, 0, INFINITY,
     true, true},
    {RBM_ENSEMBLE_M_THRESHOLD, "RBM_ENSEMBLE_M_THRESHOLD", RBM__PARAM_REAL, 0, INFINITY, true,
     true},
    {RBM_ENSEMBLE_Q_THRESHOLD, "RBM_ENSEMBLE_Q_THRESHOLD", RBM__PARAM_REAL, 0, INFINITY, true,
     true},
    {RBM_ENSEMBLE_MAX_ITERATIONS, "RBM_ENSEMBLE_MAX_ITERATIONS", RBM__PARAM_INT, 1, 1e9, false,
     false},
};

static const rbm__param_table ensemble_params = {
    "ensemble", "rbm_ensemble", 400, ensemble_specs,
    sizeof ensemble_specs / sizeof ensemble_specs[0]};

/* The slot of a real key (NULL for the integer one). */
static double *real_slot(rbm__rs_params *P, rbm_ensemble_param key)
{
    switch (key) {
    case RBM_ENSEMBLE_KAPPA: return &P->kappa;
    case RBM_ENSEMBLE_SIGMA: return &P->sigma;
    case RBM_ENSEMBLE_TEMPERATURE: return &P->T;
    case RBM_ENSEMBLE_DAMPING: return &P->damping;
    case RBM_ENSEMBLE_TOLERANCE: return &P->tol;
    case RBM_ENSEMBLE_QUAD_TOLERANCE: return &P->qtol;
    case RBM_ENSEMBLE_M_THRESHOLD: return &P->m_thr;
    case RBM_ENSEMBLE_Q_THRESHOLD: return &P->q_thr;
    case RBM_ENSEMBLE_MAX_ITERATIONS: break;
    }
    return NULL;
}

rbm_status rbm_ensemble_set_real(rbm_ensemble *e, rbm_ensemble_param key, double v)
{
    if (!e)
        return RBM_ERR_NULL;
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(e->ctx, &ensemble_params, "rbm_ensemble_set_real",
                                     (int32_t)key, RBM__PARAM_REAL, v, &spec);
    if (st)
        return st;
    *real_slot(&e->p, key) = v;
    /* the model itself changed: the solution no longer describes it */
    if (key == RBM_ENSEMBLE_KAPPA || key == RBM_ENSEMBLE_SIGMA || key == RBM_ENSEMBLE_TEMPERATURE)
        e->have_sol = false;
    return RBM_OK;
}

rbm_status rbm_ensemble_get_real(const rbm_ensemble *e, rbm_ensemble_param key, double *out)
{
    if (!e)
        return RBM_ERR_NULL;
    rbm_status st = rbm__param_get_check(e->ctx, &ensemble_params, "rbm_ensemble_get_real",
                                         (int32_t)key, RBM__PARAM_REAL, out);
    if (st)
        return st;
    *out = *real_slot((rbm__rs_params *)&e->p, key);
    return RBM_OK;
}

rbm_status rbm_ensemble_set_int(rbm_ensemble *e, rbm_ensemble_param key, int64_t v)
{
    if (!e)
        return RBM_ERR_NULL;
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(e->ctx, &ensemble_params, "rbm_ensemble_set_int",
                                     (int32_t)key, RBM__PARAM_INT, (double)v, &spec);
    if (st)
        return st;
    e->p.max_iter = (size_t)v; /* the only integer key */
    return RBM_OK;
}

rbm_status rbm_ensemble_get_int(const rbm_ensemble *e, rbm_ensemble_param key, int64_t *out)
{
    if (!e)
        return RBM_ERR_NULL;
    rbm_status st = rbm__param_get_check(e->ctx, &ensemble_params, "rbm_ensemble_get_int",
                                         (int32_t)key, RBM__PARAM_INT, out);
    if (st)
        return st;
    *out = (int64_t)e->p.max_iter;
    return RBM_OK;
}

rbm_status rbm_ensemble_param_bounds(rbm_ensemble_param key, rbm_param_bounds *out)
{
    return rbm__param_bounds(&ensemble_params, (int32_t)key, out);
}

rbm_status rbm_ensemble_set_modes(rbm_ensemble *e, const double *w, size_t k)
{
    if (!e)
        return RBM_ERR_NULL;
    if (!w)
        return rbm__fail(e->ctx, RBM_ERR_NULL, "w is NULL");
    if (k < 1 || k > KMAX)
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "%zu modes: expected 1 to %d", k,
                         KMAX);
    for (size_t g = 0; g < k; g++) {
        if (!isfinite(w[g]))
            return rbm__fail(e->ctx, RBM_ERR_NOT_FINITE, "w[%zu] is not finite", g);
        if (w[g] < 0)
            return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "w[%zu] = %g is negative", g,
                             w[g]);
    }
    e->p.K = k;
    memset(e->p.w, 0, sizeof e->p.w);
    memcpy(e->p.w, w, k * sizeof(double));
    e->have_sol = false;
    return RBM_OK;
}

size_t rbm_ensemble_mode_count(const rbm_ensemble *e)
{
    return e ? e->p.K : 0;
}

rbm_status rbm_ensemble_get_modes(const rbm_ensemble *e, double *w, size_t len)
{
    if (!e)
        return RBM_ERR_NULL;
    rbm_status st = rbm__check_array(e->ctx, w, len, e->p.K, "w");
    if (st)
        return st;
    memcpy(w, e->p.w, e->p.K * sizeof(double));
    return RBM_OK;
}

rbm_status rbm_ensemble_set_law(rbm_ensemble *e, rbm_layer layer, rbm_component_law law,
                                double sparsity)
{
    if (!e)
        return RBM_ERR_NULL;
    if (layer != RBM_LAYER_VISIBLE && layer != RBM_LAYER_HIDDEN)
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown layer %d", (int)layer);
    if (!law_name(law))
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown component law %d", (int)law);
    if (law == RBM_LAW_TERNARY && !(sparsity > 0 && sparsity <= 1))
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "ternary sparsity %g is not in (0, 1]", sparsity);
    e->p.law[layer] = (rbm__rs_law){law, law == RBM_LAW_TERNARY ? sparsity : 1};
    e->have_sol = false;
    return RBM_OK;
}

rbm_status rbm_ensemble_law(const rbm_ensemble *e, rbm_layer layer, rbm_component_law *law,
                            double *sparsity)
{
    if (!e)
        return RBM_ERR_NULL;
    if (layer != RBM_LAYER_VISIBLE && layer != RBM_LAYER_HIDDEN)
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown layer %d", (int)layer);
    if (law)
        *law = e->p.law[layer].law;
    if (sparsity)
        *sparsity = e->p.law[layer].p;
    return RBM_OK;
}

rbm_status rbm_ensemble_kurtosis_criterion(const rbm_ensemble *e, double *criterion)
{
    if (!e)
        return RBM_ERR_NULL;
    if (!criterion)
        return rbm__fail(e->ctx, RBM_ERR_NULL, "criterion is NULL");
    double ku = rbm_component_law_kurtosis(e->p.law[0].law, e->p.law[0].p);
    double kv = rbm_component_law_kurtosis(e->p.law[1].law, e->p.law[1].p);
    *criterion = e->p.kappa * (ku - 3) + (kv - 3);
    return RBM_OK;
}

static rbm_status quad_missed(const rbm_ensemble *e)
{
    return rbm__fail(e->ctx, RBM_ERR_NOT_CONVERGED,
                     "a quadrature missed its tolerance %g (raise RBM_ENSEMBLE_QUAD_TOLERANCE)",
                     e->p.qtol);
}

/* RBM_OK when e holds a solution, else RBM_ERR_STATE with its message. */
static rbm_status need_solution(const rbm_ensemble *e)
{
    if (e->have_sol)
        return RBM_OK;
    return rbm__fail(e->ctx, RBM_ERR_STATE, "no solution: call rbm_ensemble_solve or "
                                            "rbm_ensemble_phase after the last change");
}

static rbm_status not_converged(rbm_ensemble *e, const rbm__rs_solution *s, bool quad_ok)
{
    if (!quad_ok)
        return quad_missed(e);
    return rbm__fail(e->ctx, RBM_ERR_NOT_CONVERGED,
                     "RS iteration not converged after %zu sweeps (tolerance %g)", s->iters,
                     e->p.tol);
}

rbm_status rbm_ensemble_solve(rbm_ensemble *e, const double *m0, size_t m0_len,
                              const double *mbar0, size_t mbar0_len, double q0, double qbar0)
{
    if (!e)
        return RBM_ERR_NULL;
    size_t K = e->p.K;
    rbm_status st;
    if (m0 && (st = rbm__check_array(e->ctx, m0, m0_len, K, "m0")))
        return st;
    if (mbar0 && (st = rbm__check_array(e->ctx, mbar0, mbar0_len, K, "mbar0")))
        return st;
    if (m0 && (st = rbm__check_finite(e->ctx, m0, K, "m0")))
        return st;
    if (mbar0 && (st = rbm__check_finite(e->ctx, mbar0, K, "mbar0")))
        return st;
    if (!(q0 >= 0 && q0 <= 1) || !(qbar0 >= 0 && qbar0 <= 1))
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "q0 = %g and qbar0 = %g must be in [0, 1]", q0, qbar0);
    rbm__rs_solution s = {.q = q0, .qbar = qbar0};
    for (size_t g = 0; g < K; g++) {
        s.m[g] = m0 ? m0[g] : 0;
        s.mbar[g] = mbar0 ? mbar0[g] : 0;
    }
    bool qok;
    bool ok = rbm__rs_solve(&e->p, &s, &qok);
    e->sol = s;
    e->have_sol = true;
    if (!ok)
        return not_converged(e, &s, qok);
    return RBM_OK;
}

rbm_status rbm_ensemble_get_solution(const rbm_ensemble *e, double *m, size_t m_len, double *mbar,
                                     size_t mbar_len, double *q, double *qbar, double *free_energy)
{
    if (!e)
        return RBM_ERR_NULL;
    rbm_status st = need_solution(e);
    if (st)
        return st;
    size_t K = e->p.K;
    if (m && (st = rbm__check_array(e->ctx, m, m_len, K, "m")))
        return st;
    if (mbar && (st = rbm__check_array(e->ctx, mbar, mbar_len, K, "mbar")))
        return st;
    if (m)
        memcpy(m, e->sol.m, K * sizeof(double));
    if (mbar)
        memcpy(mbar, e->sol.mbar, K * sizeof(double));
    if (q)
        *q = e->sol.q;
    if (qbar)
        *qbar = e->sol.qbar;
    if (free_energy)
        *free_energy = e->sol.f;
    return RBM_OK;
}

size_t rbm_ensemble_iteration_count(const rbm_ensemble *e)
{
    return e && e->have_sol ? e->sol.iters : 0;
}

rbm_status rbm_ensemble_phase(rbm_ensemble *e, rbm_phase *phase, double *mixing,
                              int *compositional)
{
    if (!e)
        return RBM_ERR_NULL;
    rbm__rs_phase R;
    rbm__rs_phase_of(&e->p, &R);
    e->sol = R.sol;
    e->have_sol = true;
    if (phase)
        *phase = R.phase;
    if (mixing)
        *mixing = R.mixing;
    if (compositional)
        *compositional = R.compositional;
    if (!R.converged)
        return rbm__fail(e->ctx, RBM_ERR_NOT_CONVERGED,
                         "a solve did not converge (cap %zu sweeps, tolerance %g, quadrature "
                         "tolerance %g); the phase is from the last iterates",
                         e->p.max_iter, e->p.tol, e->p.qtol);
    return RBM_OK;
}

rbm_status rbm_ensemble_replicon(const rbm_ensemble *e, double *lambda)
{
    if (!e || !lambda)
        return RBM_ERR_NULL;
    rbm_status st = need_solution(e);
    if (st)
        return st;
    bool ok;
    *lambda = rbm__rs_replicon(&e->p, &e->sol, &ok);
    return ok ? RBM_OK : quad_missed(e);
}

/* ------------------------------------------------------------------------ */
/* phase diagram                                                            */

typedef struct {
    const rbm__rs_params *P;
    rbm_diagram_axis axis;
    const double *x, *w1;
    size_t nx, nw;
    int32_t *phase;
    double *m, *q;
    size_t *unconv; /* per part */
} diag_job;

static void diag_part(void *arg, size_t part, size_t parts)
{
    diag_job *J = arg;
    double wmax = 0;
    for (size_t g = 0; g < J->P->K; g++)
        wmax = fmax(wmax, J->P->w[g]);
    size_t bad = 0;
    for (size_t ix = part; ix < J->nx; ix += parts) {
        rbm__rs_params P = *J->P;
        if (J->axis == RBM_DIAGRAM_TEMPERATURE)
            P.T = J->x[ix];
        else
            P.sigma = J->x[ix];
        for (size_t iw = 0; iw < J->nw; iw++) {
            for (size_t g = 0; g < P.K; g++)
                P.w[g] = wmax > 0 ? J->P->w[g] * (J->w1[iw] / wmax) : J->w1[iw];
            rbm__rs_phase R;
            rbm__rs_phase_of(&P, &R);
            size_t at = iw * J->nx + ix;
            J->phase[at] = (int32_t)R.phase;
            if (J->m) {
                double top, second;
                rbm__rs_top2(R.sol.m, P.K, &top, &second);
                J->m[at] = top;
            }
            if (J->q)
                J->q[at] = R.sol.q;
            if (!R.converged)
                bad++;
        }
    }
    J->unconv[part] = bad;
}

rbm_status rbm_ensemble_diagram(rbm_ensemble *e, rbm_diagram_axis axis, const double *x,
                                size_t nx, const double *w1, size_t nw, int32_t *phase,
                                size_t phase_len, double *m, size_t m_len, double *q, size_t q_len,
                                size_t *n_unconverged)
{
    if (!e)
        return RBM_ERR_NULL;
    rbm_context *ctx = e->ctx;
    if (axis != RBM_DIAGRAM_TEMPERATURE && axis != RBM_DIAGRAM_SIGMA)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "unknown diagram axis %d", (int)axis);
    if (!x || !w1)
        return rbm__fail(ctx, RBM_ERR_NULL, "grid axis is NULL");
    if (nx == 0 || nw == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "empty grid (%zu x %zu)", nx, nw);
    size_t n;
    if (!rbm__mul_ok(nx, nw, &n))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "grid %zu x %zu overflows", nx, nw);
    rbm_status st;
    if ((st = rbm__check_finite(ctx, x, nx, "x")) || (st = rbm__check_finite(ctx, w1, nw, "w1")))
        return st;
    for (size_t i = 0; i < nx; i++)
        if (axis == RBM_DIAGRAM_TEMPERATURE ? !(x[i] > 0) : !(x[i] >= 0))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "x[%zu] = %g is outside the %s axis",
                             i, x[i], axis == RBM_DIAGRAM_TEMPERATURE ? "temperature" : "sigma");
    for (size_t i = 0; i < nw; i++)
        if (!(w1[i] >= 0))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "w1[%zu] = %g is negative", i, w1[i]);
    if ((st = rbm__check_array(ctx, phase, phase_len, n, "phase")))
        return st;
    if (m && (st = rbm__check_array(ctx, m, m_len, n, "m")))
        return st;
    if (q && (st = rbm__check_array(ctx, q, q_len, n, "q")))
        return st;
    size_t parts = rbm__threads(ctx);
    if (parts > nx)
        parts = nx;
    if (parts > 64)
        parts = 64;
    size_t unconv[64] = {0};
    diag_job J = {&e->p, axis, x, w1, nx, nw, phase, m, q, unconv};
    rbm__parallel(ctx, parts, diag_part, &J);
    size_t bad = 0;
    for (size_t p = 0; p < 64; p++)
        bad += unconv[p];
    if (n_unconverged)
        *n_unconverged = bad;
    e->have_sol = false;
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* a machine on the diagram                                                 */

double rbm_ensemble_machine_kurtosis(const rbm_ensemble *e, rbm_layer layer)
{
    if (!e || (layer != RBM_LAYER_VISIBLE && layer != RBM_LAYER_HIDDEN))
        return NAN;
    return e->kurt_machine[layer];
}

/* w from the observed outlier s (rectangular BBP inverted); s at or below
 * the edge gives sigma (the threshold). */
static double debias(double s, double sigma, double kappa)
{
    double a = sigma * sigma * sqrt(kappa), b = sigma * sigma / sqrt(kappa);
    double c = s * s - a - b, disc = c * c - 4 * a * b;
    if (c <= 0 || disc < 0)
        return sigma;
    return sqrt(0.5 * (c + sqrt(disc)));
}

/* Squared overlaps of the observed singular vectors with the planted ones
 * (rectangular spiked model, Benaych-Georges & Nadakuditi): with
 * s^2 = sigma^2 kappa^{1/2}, theta^2 = w^2 / s^2 and c = N_v / N_h,
 *   a_u^2 = 1 - c (1 + theta^2) / (theta^2 (theta^2 + c)),
 *   a_v^2 = 1 - (c + theta^2) / (theta^2 (theta^2 + 1)). */
static void bbp_overlaps(double w, double sigma, double kappa, double *au2, double *av2)
{
    *au2 = *av2 = 1;
    double s2 = sigma * sigma * sqrt(kappa);
    if (!(s2 > 0))
        return;
    double t2 = w * w / s2, c = 1 / kappa;
    *au2 = fmin(1, fmax(0, 1 - c * (1 + t2) / (t2 * (t2 + c))));
    *av2 = fmin(1, fmax(0, 1 - (c + t2) / (t2 * (t2 + 1))));
}

/* Kurtosis of x from that of a x + sqrt(1 - a^2) g (g ~ N(0,1)):
 * K_obs = a^4 K + 6 a^2 (1 - a^2) + 3 (1 - a^2)^2; left as observed when
 * the overlap is too small to invert reliably. */
static double denoise_kurtosis(double k_obs, double a2)
{
    if (!(a2 >= 0.25))
        return k_obs;
    double b2 = 1 - a2;
    double k = (k_obs - 6 * a2 * b2 - 3 * b2 * b2) / (a2 * a2);
    return fmax(k, 1.0); /* no law has kurtosis below 1 */
}

static rbm__rs_law law_from_kurtosis(double k)
{
    if (!(k >= 2))
        return (rbm__rs_law){RBM_LAW_RADEMACHER, 1};
    if (k <= 4)
        return (rbm__rs_law){RBM_LAW_GAUSSIAN, 1};
    return (rbm__rs_law){RBM_LAW_TERNARY, 1.0 / k};
}

rbm_status rbm_ensemble_from_machine(const rbm_machine *mach, size_t max_modes, rbm_ensemble **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(mach);
    if (out)
        *out = NULL;
    rbm_status potts_st = rbm__refuse_potts(mach, "rbm_ensemble_from_machine");
    if (potts_st)
        return potts_st;
    if (!mach)
        return RBM_ERR_NULL;
    rbm_context *ctx = mv->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "out is NULL");
    if (max_modes == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "max_modes is 0");
    if (mv->vk == RBM_UNIT_GAUSSIAN || mv->hk == RBM_UNIT_GAUSSIAN)
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "the ensemble has +-1 units; this machine has a Gaussian layer");
    rbm_status st;
    rbm_machine *ising = NULL;
    const rbm_machine *src = mach;
    if (mv->vk == RBM_UNIT_BERNOULLI || mv->hk == RBM_UNIT_BERNOULLI) {
        if ((st = rbm_machine_convert(mach, RBM_UNIT_ISING, &ising, NULL)))
            return st;
        src = ising;
    }
    rbm_svd *svd = NULL;
    double *w = NULL, *U = NULL, *V = NULL;
    rbm_ensemble *e = NULL;
    size_t nv = mv->nv, nh = mv->nh;
    if ((st = rbm_svd_new(src, &svd)))
        goto done;
    size_t r = rbm_svd_rank(svd);
    double sigma, edge;
    size_t n_out;
    if ((st = rbm__xcalloc(ctx, r, sizeof(double), &w, "singular values")) ||
        (st = rbm__xcalloc(ctx, nv * r, sizeof(double), &U, "left vectors")) ||
        (st = rbm__xcalloc(ctx, nh * r, sizeof(double), &V, "right vectors")))
        goto done;
    if ((st = rbm_svd_get_singular_values(svd, w, r)) ||
        (st = rbm_svd_get_left_vectors(svd, U, nv * r)) ||
        (st = rbm_svd_get_right_vectors(svd, V, nh * r)) ||
        (st = rbm_svd_bulk(svd, &sigma, &edge, &n_out)))
        goto done;
    if (!isfinite(sigma)) {
        st = rbm__fail(ctx, RBM_ERR_NUMERICAL, "noise sigma estimate is not finite");
        goto done;
    }
    if ((st = rbm_ensemble_new(ctx, &e)))
        goto done;
    double kappa = (double)nh / (double)nv;
    size_t K = n_out;
    if (K > max_modes)
        K = max_modes;
    if (K > KMAX)
        K = KMAX;
    double ws[KMAX] = {0}, ku = 0, kv = 0;
    for (size_t a = 0; a < K; a++) {
        ws[a] = debias(w[a], sigma, kappa);
        double su = 0, sv = 0;
        for (size_t i = 0; i < nv; i++) {
            double u = U[i * r + a];
            su += u * u * u * u;
        }
        for (size_t j = 0; j < nh; j++) {
            double v = V[j * r + a];
            sv += v * v * v * v;
        }
        /* the observed vector is a u + sqrt(1 - a^2) g with g Gaussian noise:
         * undo its pull of the kurtosis towards 3 */
        double au2, av2;
        bbp_overlaps(ws[a], sigma, kappa, &au2, &av2);
        ku += denoise_kurtosis((double)nv * su, au2);
        kv += denoise_kurtosis((double)nh * sv, av2);
    }
    e->p.kappa = kappa;
    e->p.sigma = sigma;
    e->p.T = 1;
    if (K > 0) {
        ku /= (double)K;
        kv /= (double)K;
        e->p.K = K;
        memcpy(e->p.w, ws, sizeof ws);
        e->p.law[0] = law_from_kurtosis(ku);
        e->p.law[1] = law_from_kurtosis(kv);
        e->kurt_machine[0] = ku;
        e->kurt_machine[1] = kv;
    }
    *out = e;
    e = NULL;
done:
    rbm_ensemble_free(e);
    rbm__free(ctx, w);
    rbm__free(ctx, U);
    rbm__free(ctx, V);
    rbm_svd_free(svd);
    rbm_machine_free(ising);
    return st;
}

rbm_status rbm_machine_phase(const rbm_machine *mach, size_t max_modes, rbm_phase *phase,
                             double *sigma, size_t *n_modes, double *w, size_t w_len,
                             double *kurtosis, size_t kurtosis_len, int *compositional)
{
    rbm_status potts_st = rbm__refuse_potts(mach, "rbm_machine_phase");
    if (potts_st)
        return potts_st;
    const rbm__machine_view *mv = rbm__machine_view_of(mach);
    if (!mach)
        return RBM_ERR_NULL;
    rbm_context *ctx = mv->ctx;
    size_t cap = max_modes < KMAX ? max_modes : KMAX;
    if (w && w_len < cap)
        return rbm__fail(ctx, RBM_ERR_SHAPE, "w has %zu elements, expected at least %zu", w_len,
                         cap);
    if (kurtosis && kurtosis_len < 2)
        return rbm__fail(ctx, RBM_ERR_SHAPE, "kurtosis has %zu elements, expected 2",
                         kurtosis_len);
    rbm_ensemble *e;
    rbm_status st = rbm_ensemble_from_machine(mach, max_modes, &e);
    if (st)
        return st;
    rbm_phase ph;
    int comp;
    st = rbm_ensemble_phase(e, &ph, NULL, &comp);
    if (st == RBM_OK || st == RBM_ERR_NOT_CONVERGED) {
        bool strong = !isnan(e->kurt_machine[0]);
        size_t K = strong ? e->p.K : 0;
        if (phase)
            *phase = ph;
        if (sigma)
            *sigma = e->p.sigma;
        if (n_modes)
            *n_modes = K;
        if (w) {
            for (size_t a = 0; a < w_len; a++)
                w[a] = a < K ? e->p.w[a] : 0;
        }
        if (kurtosis) {
            kurtosis[0] = e->kurt_machine[0];
            kurtosis[1] = e->kurt_machine[1];
        }
        if (compositional)
            *compositional = comp;
    }
    rbm_ensemble_free(e);
    return st;
}
