/* librbm — phase_rs: the replica-symmetric quenched mean field of the RBM
 * ensemble (docs/theory.md §5.3): Gaussian expectations by adaptive
 * quadrature, the order parameters of one layer under each component law,
 * the damped RS iteration, the pure spin-glass solution and the
 * transition lines (§5.4), and the phase of one parameter set. */
#include "analysis/phase_rs.h"
#include "numeric/quadrature.h"

#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846
#define INV_SQRT_2PI 0.39894228040143267794
#define Z_MAX 38.5 /* phi(38.5) underflows: the z range is exact in double */
#define KMAX RBM_ENSEMBLE_MAX_MODES

/* ------------------------------------------------------------------------ */
/* Gaussian expectations E_z g(c + B z), g = tanh, tanh^2, ln 2cosh, sech^4 */

typedef struct {
    double c, B;
    int nf; /* 2: tanh, tanh^2; 3: + ln 2cosh; 4: + sech^4 */
} gz_ctx;

static void gz_fun(double z, double *out, void *vctx)
{
    const gz_ctx *g = vctx;
    double w = INV_SQRT_2PI * exp(-0.5 * z * z);
    double x = g->c + g->B * z;
    double t = tanh(x);
    out[0] = w * t;
    out[1] = w * t * t;
    if (g->nf > 2)
        out[2] = w * rbm__log2cosh(x);
    if (g->nf > 3)
        out[3] = w * (1 - t * t) * (1 - t * t);
}

typedef struct {
    double tol;
    bool ok;     /* every quadrature met its tolerance */
    bool want_l; /* compute E ln 2cosh */
    bool want_s4; /* compute E sech^4 (and E ln 2cosh with it) */
} qopts;

/* r[0] = E tanh(c + Bz), r[1] = E tanh^2, r[2] = E ln 2cosh (if want_l or
 * want_s4), r[3] = E sech^4 (if want_s4). */
static void gauss_expect(double c, double B, qopts *o, double r[4])
{
    if (!(B > 1e-300)) {
        double t = tanh(c);
        r[0] = t;
        r[1] = t * t;
        r[2] = o->want_l ? rbm__log2cosh(c) : 0;
        r[3] = (1 - t * t) * (1 - t * t);
        return;
    }
    gz_ctx g = {c, B, o->want_s4 ? 4 : o->want_l ? 3 : 2};
    double z0 = -c / B;
    double brk[9];
    size_t nb = 0;
    const double fixed[7] = {-Z_MAX, -10, -3, 0, 3, 10, Z_MAX};
    bool put = !(z0 > -10 && z0 < 10) || z0 == -3 || z0 == 0 || z0 == 3;
    for (int i = 0; i < 7; i++) {
        if (!put && z0 < fixed[i]) {
            brk[nb++] = z0;
            put = true;
        }
        brk[nb++] = fixed[i];
    }
    double out[4] = {0, 0, 0, 0};
    if (c == 0) {
        /* symmetric: E tanh = 0, even parts from [0, Z_MAX] */
        const double half[4] = {0, 3, 10, Z_MAX};
        if (!rbm__quad(gz_fun, &g, (size_t)g.nf, half, 4, 0.5 * o->tol, out))
            o->ok = false;
        r[0] = 0;
        r[1] = 2 * out[1];
        r[2] = o->want_l ? 2 * out[2] : 0;
        r[3] = 2 * out[3];
        return;
    }
    if (!rbm__quad(gz_fun, &g, (size_t)g.nf, brk, nb, o->tol, out))
        o->ok = false;
    r[0] = out[0];
    r[1] = out[1];
    r[2] = o->want_l ? out[2] : 0;
    r[3] = out[3];
}

/* ------------------------------------------------------------------------ */
/* one layer: M_a = E[x_a tanh H], Q = E tanh^2 H, Lg = E ln 2cosh H and    */
/* (with want_s4) S4 = E sech^4 H, H = sum_g A_g x_g + B z, x_g iid from the */
/* layer's law                                                               */

typedef struct {
    size_t n;          /* active modes */
    double A[KMAX];    /* their coefficients */
    double V[KMAX];
    double B;
    size_t lev;
    qopts *o;
} lap_ctx;

/* V ~ Exp(1) written V = u^2, u in [0, U_MAX], density 2u exp(-u^2). */
#define U_MAX 6.5
static const double U_BRK[5] = {0, 1, 2, 3, U_MAX};

static void lap_fun(double u, double *out, void *vctx)
{
    lap_ctx *L = vctx;
    double wt = 2 * u * exp(-u * u);
    L->V[L->lev] = u * u;
    size_t nf = L->n + (L->o->want_s4 ? 3 : 2);
    if (L->lev + 1 < L->n) {
        L->lev++;
        if (!rbm__quad(lap_fun, L, nf, U_BRK, 5, L->o->tol, out))
            L->o->ok = false;
        L->lev--;
        for (size_t r = 0; r < nf; r++)
            out[r] *= wt;
        return;
    }
    double S = L->B * L->B;
    for (size_t g = 0; g < L->n; g++)
        S += L->A[g] * L->A[g] * L->V[g];
    double r[4];
    gauss_expect(0, sqrt(S), L->o, r);
    for (size_t g = 0; g < L->n; g++)
        out[g] = wt * L->V[g] * (1.0 - r[1]);
    out[L->n] = wt * r[1];
    out[L->n + 1] = wt * r[2];
    if (L->o->want_s4)
        out[L->n + 2] = wt * r[3];
}

static void layer_expect(const rbm__rs_law *law, size_t K, const double *A, double B, qopts *o,
                         double *M, double *Q, double *Lg, double *S4)
{
    size_t act[KMAX], n = 0;
    for (size_t g = 0; g < K; g++) {
        M[g] = 0;
        if (A[g] != 0)
            act[n++] = g;
    }
    double r[4];
    *S4 = 0;
    if (n == 0) {
        gauss_expect(0, B, o, r);
        *Q = r[1];
        *Lg = r[2];
        *S4 = r[3];
        return;
    }
    switch (law->law) {
    case RBM_LAW_GAUSSIAN: {
        double S = B * B;
        for (size_t i = 0; i < n; i++)
            S += A[act[i]] * A[act[i]];
        gauss_expect(0, sqrt(S), o, r);
        for (size_t i = 0; i < n; i++)
            M[act[i]] = A[act[i]] * (1.0 - r[1]);
        *Q = r[1];
        *Lg = r[2];
        *S4 = r[3];
        return;
    }
    case RBM_LAW_LAPLACE: {
        lap_ctx L = {.n = n, .B = B, .lev = 0, .o = o};
        for (size_t i = 0; i < n; i++)
            L.A[i] = A[act[i]];
        double out[KMAX + 3];
        if (!rbm__quad(lap_fun, &L, n + (o->want_s4 ? 3 : 2), U_BRK, 5, o->tol, out))
            o->ok = false;
        for (size_t i = 0; i < n; i++)
            M[act[i]] = A[act[i]] * out[i];
        *Q = out[n];
        *Lg = out[n + 1];
        *S4 = o->want_s4 ? out[n + 2] : 0;
        return;
    }
    case RBM_LAW_RADEMACHER:
    case RBM_LAW_TERNARY:
    default: {
        bool tern = law->law == RBM_LAW_TERNARY;
        double amp = tern ? 1.0 / sqrt(law->p) : 1.0;
        double pz = tern ? 1.0 - law->p : 0.0, pn = tern ? 0.5 * law->p : 0.5;
        size_t base = tern ? 3 : 2, total = 1;
        for (size_t i = 0; i < n; i++)
            total *= base;
        double q = 0, lg = 0, s4 = 0;
        int digit[KMAX];
        for (size_t code = 0; code < total; code++) {
            /* digits: Rademacher 0 -> +1, 1 -> -1; ternary 0 -> 0, 1 -> +, 2 -> - */
            size_t c = code;
            int first = 0; /* sign of the first non-zero component */
            double prob = 1, field = 0;
            for (size_t i = 0; i < n; i++) {
                size_t d = c % base;
                c /= base;
                int s = tern ? (d == 0 ? 0 : d == 1 ? 1 : -1) : (d == 0 ? 1 : -1);
                digit[i] = s;
                if (!first && s)
                    first = s;
                prob *= s ? pn : pz;
                field += A[act[i]] * amp * s;
            }
            if (first < 0)
                continue; /* the mirror pattern counts it */
            double wgt = first > 0 ? 2.0 * prob : prob;
            gauss_expect(field, B, o, r);
            for (size_t i = 0; i < n; i++)
                M[act[i]] += wgt * amp * digit[i] * r[0];
            q += wgt * r[1];
            lg += wgt * r[2];
            s4 += wgt * r[3];
        }
        *Q = q;
        *Lg = lg;
        *S4 = s4;
        return;
    }
    }
}

/* ------------------------------------------------------------------------ */
/* the RS solver on plain parameters                                        */

static void visible_side(const rbm__rs_params *P, const double *mbar, double qbar, qopts *o,
                         double *m, double *q, double *lg, double *s4)
{
    double beta = 1.0 / P->T, A[KMAX];
    double sk = sqrt(P->kappa);
    for (size_t g = 0; g < P->K; g++)
        A[g] = beta * sk * P->w[g] * mbar[g];
    double B = beta * P->sigma * pow(P->kappa, 0.25) * sqrt(fmax(qbar, 0));
    layer_expect(&P->law[0], P->K, A, B, o, m, q, lg, s4);
}

static void hidden_side(const rbm__rs_params *P, const double *m, double q, qopts *o, double *mbar,
                        double *qbar, double *lg, double *s4)
{
    double beta = 1.0 / P->T, A[KMAX];
    double sk = 1.0 / sqrt(P->kappa);
    for (size_t g = 0; g < P->K; g++)
        A[g] = beta * sk * P->w[g] * m[g];
    double B = beta * P->sigma * pow(P->kappa, -0.25) * sqrt(fmax(q, 0));
    layer_expect(&P->law[1], P->K, A, B, o, mbar, qbar, lg, s4);
}

static double free_energy(const rbm__rs_params *P, const rbm__rs_solution *s, qopts *o)
{
    double beta = 1.0 / P->T, mv[KMAX], mh[KMAX], qv, qh, lv, lh, s4;
    o->want_l = true;
    visible_side(P, s->mbar, s->qbar, o, mv, &qv, &lv, &s4);
    hidden_side(P, s->m, s->q, o, mh, &qh, &lh, &s4);
    o->want_l = false;
    double mb = 0;
    for (size_t g = 0; g < P->K; g++)
        mb += P->w[g] * s->m[g] * s->mbar[g];
    double mbf = -beta * mb + 0.5 * beta * beta * P->sigma * P->sigma * (1 - s->q) * (1 - s->qbar) +
                 lv / sqrt(P->kappa) + sqrt(P->kappa) * lh;
    return -mbf / beta;
}

/* Iterate from the state in s; returns true on convergence. quad_ok
 * reports whether every quadrature met its tolerance. */
/* Damped update of one side, m <- (1 - d) m + d nm and q likewise; returns
 * the largest change so far (change: the one before). */
static double damp(size_t K, double d, const double *nm, double nq, double *m, double *q,
                   double change)
{
    for (size_t g = 0; g < K; g++) {
        double v = (1 - d) * m[g] + d * nm[g];
        change = fmax(change, fabs(v - m[g]));
        m[g] = v;
    }
    nq = (1 - d) * *q + d * nq;
    change = fmax(change, fabs(nq - *q));
    *q = nq;
    return change;
}

bool rbm__rs_solve(const rbm__rs_params *P, rbm__rs_solution *s, bool *quad_ok)
{
    qopts o = {.tol = P->qtol, .ok = true, .want_l = false};
    double d = P->damping;
    double nm[KMAX], nq, lg, s4;
    s->converged = false;
    s->iters = 0;
    while (s->iters < P->max_iter) {
        double change = 0;
        visible_side(P, s->mbar, s->qbar, &o, nm, &nq, &lg, &s4);
        change = damp(P->K, d, nm, nq, s->m, &s->q, change);
        hidden_side(P, s->m, s->q, &o, nm, &nq, &lg, &s4);
        change = damp(P->K, d, nm, nq, s->mbar, &s->qbar, change);
        s->iters++;
        if (!isfinite(change))
            break;
        if (change <= P->tol) {
            s->converged = true;
            break;
        }
    }
    s->f = free_energy(P, s, &o);
    *quad_ok = o.ok;
    return s->converged && o.ok;
}

/* Pure spin glass (m = 0): q = E tanh^2(b_v sqrt(qbar) z), qbar =
 * E tanh^2(b_h sqrt(q) z) with b_v = beta sigma kappa^{1/4}, b_h = beta sigma
 * kappa^{-1/4}; reduced to the root of h(q) = F(G(q)) - q on (0, 1], found
 * by bisection-secant (Illinois). Law independent. */
typedef struct {
    double bv, bh;
    qopts o;
} sg_ctx;

static double sg_qbar(sg_ctx *c, double q)
{
    double r[4];
    gauss_expect(0, c->bh * sqrt(q), &c->o, r);
    return r[1];
}

static double sg_h(sg_ctx *c, double q)
{
    double r[4];
    gauss_expect(0, c->bv * sqrt(sg_qbar(c, q)), &c->o, r);
    return r[1] - q;
}

static bool sg_solve(double kappa, double sigma, double T, double qtol, double *q, double *qbar)
{
    *q = *qbar = 0;
    if (sigma == 0 || T >= sigma)
        return true;
    if (T == 0) {
        *q = *qbar = 1;
        return true;
    }
    sg_ctx c = {.bv = sigma / T * pow(kappa, 0.25), .bh = sigma / T * pow(kappa, -0.25),
                .o = {.tol = qtol, .ok = true, .want_l = false}};
    /* bracket: h > 0 near 0 (beta sigma > 1), h(1) < 0 */
    double a = 1e-3, ha = sg_h(&c, a);
    while (ha <= 0 && a > 1e-14) {
        a *= 0.1;
        ha = sg_h(&c, a);
    }
    if (ha <= 0) /* so close to T = sigma that q < 1e-14 */
        return c.o.ok;
    double b = 1.0, hb = sg_h(&c, b);
    int side = 0;
    double x = a;
    for (int it = 0; it < 300; it++) {
        x = (a * hb - b * ha) / (hb - ha);
        if (!(x > a && x < b))
            x = 0.5 * (a + b);
        double hx = sg_h(&c, x);
        if (hx == 0 || (b - a) < 1e-15)
            break;
        if ((hx > 0) == (ha > 0)) {
            a = x;
            ha = hx;
            if (side == 1)
                hb *= 0.5;
            side = 1;
        } else {
            b = x;
            hb = hx;
            if (side == -1)
                ha *= 0.5;
            side = -1;
        }
        if (b - a < 1e-15)
            break;
    }
    *q = x;
    *qbar = sg_qbar(&c, x);
    return c.o.ok;
}

/* ------------------------------------------------------------------------ */
/* phase of one parameter set                                               */

void rbm__rs_top2(const double *m, size_t K, double *top, double *second)
{
    *top = *second = 0;
    for (size_t g = 0; g < K; g++) {
        double a = fabs(m[g]);
        if (a > *top) {
            *second = *top;
            *top = a;
        } else if (a > *second) {
            *second = a;
        }
    }
}

void rbm__rs_phase_of(const rbm__rs_params *P, rbm__rs_phase *R)
{
    bool all_ok = true;
    double q, qbar;
    if (!sg_solve(P->kappa, P->sigma, P->T, P->qtol, &q, &qbar))
        all_ok = false;
    rbm__rs_solution sg = {.q = q, .qbar = qbar, .converged = true};
    qopts o = {.tol = P->qtol, .ok = true, .want_l = false};
    sg.f = free_energy(P, &sg, &o);
    bool have_f = false;
    rbm__rs_solution best = sg;
    size_t starts = P->K > 1 ? P->K + 1 : 1;
    for (size_t s = 0; s < starts; s++) {
        rbm__rs_solution x = {.q = 1, .qbar = 1};
        if (s < P->K) {
            if (P->w[s] == 0)
                continue;
            x.m[s] = x.mbar[s] = 1;
        } else {
            for (size_t g = 0; g < P->K; g++)
                x.m[g] = x.mbar[g] = 1;
        }
        bool qok;
        bool ok = rbm__rs_solve(P, &x, &qok);
        double top, second;
        rbm__rs_top2(x.m, P->K, &top, &second);
        if (!(top > P->m_thr))
            continue; /* relaxed to m = 0 */
        if (!ok)
            all_ok = false;
        if (!have_f || x.f < best.f - 1e-12 * fmax(1.0, fabs(best.f))) {
            best = x;
            have_f = true;
        }
    }
    R->mixing = 0;
    R->compositional = 0;
    if (have_f) {
        double top, second;
        rbm__rs_top2(best.m, P->K, &top, &second);
        R->phase = RBM_PHASE_FERROMAGNETIC;
        R->mixing = top > 0 ? second / top : 0;
        R->compositional = R->mixing > 0.5;
    } else {
        R->phase = q > P->q_thr ? RBM_PHASE_SPIN_GLASS : RBM_PHASE_PARAMAGNETIC;
    }
    R->sol = best;
    R->converged = all_ok && o.ok;
}

/* ------------------------------------------------------------------------ */
/* transition lines                                                         */

rbm_status rbm_phase_line_pf(double sigma, double temperature, double *w_c)
{
    if (!w_c)
        return RBM_ERR_NULL;
    if (!(sigma >= 0) || !isfinite(sigma) || !(temperature > 0) || !isfinite(temperature) ||
        temperature < sigma)
        return RBM_ERR_INVALID_ARGUMENT;
    *w_c = temperature;
    return RBM_OK;
}

rbm_status rbm_phase_line_psg(double sigma, double w1, double *t_c)
{
    if (!t_c)
        return RBM_ERR_NULL;
    if (!(sigma > 0) || !isfinite(sigma) || !(w1 >= 0) || !isfinite(w1) || w1 > sigma)
        return RBM_ERR_INVALID_ARGUMENT;
    *t_c = sigma;
    return RBM_OK;
}

rbm_status rbm_phase_line_fsg(double kappa, double sigma, double temperature, double *w_c,
                              double *q, double *qbar)
{
    if (!w_c)
        return RBM_ERR_NULL;
    if (!(kappa > 0) || !isfinite(kappa) || !(sigma >= 0) || !isfinite(sigma) ||
        !(temperature >= 0) || !isfinite(temperature))
        return RBM_ERR_INVALID_ARGUMENT;
    if (sigma == 0 && temperature == 0)
        return RBM_ERR_INVALID_ARGUMENT;
    double qq, qb;
    bool ok = sg_solve(kappa, sigma, temperature, 1e-12, &qq, &qb);
    if (temperature == 0)
        *w_c = sigma * sqrt(0.5 * PI);
    else
        *w_c = temperature / sqrt((1 - qq) * (1 - qb));
    if (q)
        *q = qq;
    if (qbar)
        *qbar = qb;
    return ok ? RBM_OK : RBM_ERR_NOT_CONVERGED;
}

/* ------------------------------------------------------------------------ */
/* replicon (de Almeida-Thouless) eigenvalue of an RS solution (§5.4)       */

double rbm__rs_replicon(const rbm__rs_params *P, const rbm__rs_solution *s, bool *quad_ok)
{
    qopts o = {.tol = P->qtol, .ok = true, .want_l = false, .want_s4 = true};
    double mv[KMAX], mh[KMAX], qv, qh, lv, lh, sv, sh;
    visible_side(P, s->mbar, s->qbar, &o, mv, &qv, &lv, &sv);
    hidden_side(P, s->m, s->q, &o, mh, &qh, &lh, &sh);
    double bs = P->sigma / P->T;
    *quad_ok = o.ok;
    return bs * bs * bs * bs * sv * sh;
}
