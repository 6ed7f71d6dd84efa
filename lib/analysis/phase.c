/* librbm — RS quenched mean field of the RBM ensemble, transition lines,
 * phase diagram, a machine on the diagram (docs/theory.md §5). */
#include "core/internal.h"

#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846
#define INV_SQRT_2PI 0.39894228040143267794
#define Z_MAX 38.5     /* phi(38.5) underflows: the z range is exact in double */
#define QUAD_NF 12     /* components of a vector integrand                  */
#define QUAD_SEGS 200  /* segments of one adaptive integral (~20 KB of stack) */
#define KMAX RBM_ENSEMBLE_MAX_MODES

/* ------------------------------------------------------------------------ */
/* adaptive Gauss-Kronrod 7/15 on a finite interval, vector integrand       */

typedef void (*qfun)(double x, double *out, void *ctx);

static const double XGK[8] = {
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.0};
static const double WGK[8] = {
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
/* Gauss 7-point weights at XGK[1], XGK[3], XGK[5], XGK[7] */
static const double WG[4] = {0.129484966168869693270611432679082,
                             0.279705391489276667901467771423780,
                             0.381830050505118944950369775488975,
                             0.417959183673469387755102040816327};

typedef struct {
    double a, b, err;
    double val[QUAD_NF];
} qseg;

static void gk15(qfun f, void *ctx, size_t nf, double a, double b, qseg *s)
{
    double c = 0.5 * (a + b), h = 0.5 * (b - a);
    double k[QUAD_NF] = {0}, g[QUAD_NF] = {0}, y1[QUAD_NF], y2[QUAD_NF];
    f(c, y1, ctx);
    for (size_t r = 0; r < nf; r++) {
        k[r] = WGK[7] * y1[r];
        g[r] = WG[3] * y1[r];
    }
    for (int j = 0; j < 7; j++) {
        double dx = h * XGK[j];
        f(c - dx, y1, ctx);
        f(c + dx, y2, ctx);
        for (size_t r = 0; r < nf; r++) {
            double sum = y1[r] + y2[r];
            k[r] += WGK[j] * sum;
            if (j & 1)
                g[r] += WG[j >> 1] * sum;
        }
    }
    s->a = a;
    s->b = b;
    s->err = 0;
    for (size_t r = 0; r < nf; r++) {
        s->val[r] = h * k[r];
        double e = fabs(h * (k[r] - g[r]));
        if (e > s->err)
            s->err = e;
    }
}

/* Integrate over the partition brk[0] < ... < brk[nb-1] until the summed
 * (max-component) error estimate is below tol. Returns false when the
 * segment budget ran out first (the result is then the best estimate). */
static bool quad(qfun f, void *ctx, size_t nf, const double *brk, size_t nb, double tol,
                 double *out)
{
    qseg seg[QUAD_SEGS];
    size_t n = 0;
    for (size_t i = 0; i + 1 < nb; i++)
        if (brk[i + 1] > brk[i])
            gk15(f, ctx, nf, brk[i], brk[i + 1], &seg[n++]);
    bool ok = true;
    for (;;) {
        double tot = 0, worst = -1;
        size_t wi = 0;
        for (size_t i = 0; i < n; i++) {
            tot += seg[i].err;
            if (seg[i].err > worst) {
                worst = seg[i].err;
                wi = i;
            }
        }
        if (tot <= tol || n == 0)
            break;
        if (n + 1 > QUAD_SEGS) {
            ok = false;
            break;
        }
        double a = seg[wi].a, b = seg[wi].b, mid = 0.5 * (a + b);
        if (!(mid > a && mid < b)) { /* cannot split further */
            ok = tot <= 1e3 * tol;
            break;
        }
        gk15(f, ctx, nf, a, mid, &seg[wi]);
        gk15(f, ctx, nf, mid, b, &seg[n++]);
    }
    for (size_t r = 0; r < nf; r++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += seg[i].val[r];
        out[r] = s;
    }
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Gaussian expectations E_z g(c + B z), g = tanh, tanh^2, ln 2cosh         */

static double log2cosh(double x)
{
    double ax = fabs(x);
    return ax + log1p(exp(-2.0 * ax));
}

typedef struct {
    double c, B;
    int nf; /* 2: tanh, tanh^2; 3: + ln 2cosh */
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
        out[2] = w * log2cosh(x);
}

typedef struct {
    double tol;
    bool ok;     /* every quadrature met its tolerance */
    bool want_l; /* compute E ln 2cosh */
} qopts;

/* r[0] = E tanh(c + Bz), r[1] = E tanh^2, r[2] = E ln 2cosh (if want_l). */
static void gauss_expect(double c, double B, qopts *o, double r[3])
{
    if (!(B > 1e-300)) {
        double t = tanh(c);
        r[0] = t;
        r[1] = t * t;
        r[2] = o->want_l ? log2cosh(c) : 0;
        return;
    }
    gz_ctx g = {c, B, o->want_l ? 3 : 2};
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
    double out[3] = {0, 0, 0};
    if (c == 0) {
        /* symmetric: E tanh = 0, even parts from [0, Z_MAX] */
        const double half[4] = {0, 3, 10, Z_MAX};
        if (!quad(gz_fun, &g, (size_t)g.nf, half, 4, 0.5 * o->tol, out))
            o->ok = false;
        r[0] = 0;
        r[1] = 2 * out[1];
        r[2] = o->want_l ? 2 * out[2] : 0;
        return;
    }
    if (!quad(gz_fun, &g, (size_t)g.nf, brk, nb, o->tol, out))
        o->ok = false;
    r[0] = out[0];
    r[1] = out[1];
    r[2] = o->want_l ? out[2] : 0;
}

/* ------------------------------------------------------------------------ */
/* one layer: M_a = E[x_a tanh H], Q = E tanh^2 H, Lg = E ln 2cosh H with    */
/* H = sum_g A_g x_g + B z, x_g iid from the layer's law                     */

typedef struct {
    rbm_component_law law;
    double p; /* ternary sparsity */
} law_t;

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
    size_t nf = L->n + 2;
    if (L->lev + 1 < L->n) {
        L->lev++;
        if (!quad(lap_fun, L, nf, U_BRK, 5, L->o->tol, out))
            L->o->ok = false;
        L->lev--;
        for (size_t r = 0; r < nf; r++)
            out[r] *= wt;
        return;
    }
    double S = L->B * L->B;
    for (size_t g = 0; g < L->n; g++)
        S += L->A[g] * L->A[g] * L->V[g];
    double r[3];
    gauss_expect(0, sqrt(S), L->o, r);
    for (size_t g = 0; g < L->n; g++)
        out[g] = wt * L->V[g] * (1.0 - r[1]);
    out[L->n] = wt * r[1];
    out[L->n + 1] = wt * r[2];
}

static void layer_expect(const law_t *law, size_t K, const double *A, double B, qopts *o,
                         double *M, double *Q, double *Lg)
{
    size_t act[KMAX], n = 0;
    for (size_t g = 0; g < K; g++) {
        M[g] = 0;
        if (A[g] != 0)
            act[n++] = g;
    }
    double r[3];
    if (n == 0) {
        gauss_expect(0, B, o, r);
        *Q = r[1];
        *Lg = r[2];
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
        return;
    }
    case RBM_LAW_LAPLACE: {
        lap_ctx L = {.n = n, .B = B, .lev = 0, .o = o};
        for (size_t i = 0; i < n; i++)
            L.A[i] = A[act[i]];
        double out[KMAX + 2];
        if (!quad(lap_fun, &L, n + 2, U_BRK, 5, o->tol, out))
            o->ok = false;
        for (size_t i = 0; i < n; i++)
            M[act[i]] = A[act[i]] * out[i];
        *Q = out[n];
        *Lg = out[n + 1];
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
        double q = 0, lg = 0;
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
        }
        *Q = q;
        *Lg = lg;
        return;
    }
    }
}

/* ------------------------------------------------------------------------ */
/* the RS solver on plain parameters                                        */

typedef struct {
    double kappa, sigma, T, damping, tol, qtol, m_thr, q_thr;
    size_t max_iter, K;
    double w[KMAX];
    law_t law[2]; /* visible, hidden */
} ens_par;

typedef struct {
    double m[KMAX], mbar[KMAX], q, qbar, f;
    size_t iters;
    bool converged;
} ens_sol;

struct rbm_ensemble {
    rbm_context *ctx;
    ens_par p;
    ens_sol sol;
    bool have_sol;
    double kurt_machine[2];
};

static void visible_side(const ens_par *P, const double *mbar, double qbar, qopts *o,
                         double *m, double *q, double *lg)
{
    double beta = 1.0 / P->T, A[KMAX];
    double sk = sqrt(P->kappa);
    for (size_t g = 0; g < P->K; g++)
        A[g] = beta * sk * P->w[g] * mbar[g];
    double B = beta * P->sigma * pow(P->kappa, 0.25) * sqrt(fmax(qbar, 0));
    layer_expect(&P->law[0], P->K, A, B, o, m, q, lg);
}

static void hidden_side(const ens_par *P, const double *m, double q, qopts *o, double *mbar,
                        double *qbar, double *lg)
{
    double beta = 1.0 / P->T, A[KMAX];
    double sk = 1.0 / sqrt(P->kappa);
    for (size_t g = 0; g < P->K; g++)
        A[g] = beta * sk * P->w[g] * m[g];
    double B = beta * P->sigma * pow(P->kappa, -0.25) * sqrt(fmax(q, 0));
    layer_expect(&P->law[1], P->K, A, B, o, mbar, qbar, lg);
}

static double free_energy(const ens_par *P, const ens_sol *s, qopts *o)
{
    double beta = 1.0 / P->T, mv[KMAX], mh[KMAX], qv, qh, lv, lh;
    o->want_l = true;
    visible_side(P, s->mbar, s->qbar, o, mv, &qv, &lv);
    hidden_side(P, s->m, s->q, o, mh, &qh, &lh);
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
static bool solve_rs(const ens_par *P, ens_sol *s, bool *quad_ok)
{
    qopts o = {.tol = P->qtol, .ok = true, .want_l = false};
    double d = P->damping;
    double nm[KMAX], nq, lg;
    s->converged = false;
    s->iters = 0;
    while (s->iters < P->max_iter) {
        double change = 0;
        visible_side(P, s->mbar, s->qbar, &o, nm, &nq, &lg);
        for (size_t g = 0; g < P->K; g++) {
            double v = (1 - d) * s->m[g] + d * nm[g];
            change = fmax(change, fabs(v - s->m[g]));
            s->m[g] = v;
        }
        nq = (1 - d) * s->q + d * nq;
        change = fmax(change, fabs(nq - s->q));
        s->q = nq;
        hidden_side(P, s->m, s->q, &o, nm, &nq, &lg);
        for (size_t g = 0; g < P->K; g++) {
            double v = (1 - d) * s->mbar[g] + d * nm[g];
            change = fmax(change, fabs(v - s->mbar[g]));
            s->mbar[g] = v;
        }
        nq = (1 - d) * s->qbar + d * nq;
        change = fmax(change, fabs(nq - s->qbar));
        s->qbar = nq;
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
    double r[3];
    gauss_expect(0, c->bh * sqrt(q), &c->o, r);
    return r[1];
}

static double sg_h(sg_ctx *c, double q)
{
    double r[3];
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

typedef struct {
    rbm_phase phase;
    double mixing;
    int compositional;
    ens_sol sol;
    bool converged;
} phase_res;

static void sort_abs_top2(const double *m, size_t K, double *top, double *second)
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

static void phase_of(const ens_par *P, phase_res *R)
{
    bool all_ok = true;
    double q, qbar;
    if (!sg_solve(P->kappa, P->sigma, P->T, P->qtol, &q, &qbar))
        all_ok = false;
    ens_sol sg = {.q = q, .qbar = qbar, .converged = true};
    qopts o = {.tol = P->qtol, .ok = true, .want_l = false};
    sg.f = free_energy(P, &sg, &o);
    bool have_f = false;
    ens_sol best = sg;
    size_t starts = P->K > 1 ? P->K + 1 : 1;
    for (size_t s = 0; s < starts; s++) {
        ens_sol x = {.q = 1, .qbar = 1};
        if (s < P->K) {
            if (P->w[s] == 0)
                continue;
            x.m[s] = x.mbar[s] = 1;
        } else {
            for (size_t g = 0; g < P->K; g++)
                x.m[g] = x.mbar[g] = 1;
        }
        bool qok;
        bool ok = solve_rs(P, &x, &qok);
        double top, second;
        sort_abs_top2(x.m, P->K, &top, &second);
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
        sort_abs_top2(best.m, P->K, &top, &second);
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
/* names, laws, lines                                                       */

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

static const char *const LAW_NAMES[4] = {"rademacher", "gaussian", "laplace", "ternary"};

const char *rbm_component_law_name(rbm_component_law law)
{
    if ((unsigned)law < 4)
        return LAW_NAMES[law];
    return "unknown";
}

rbm_status rbm_component_law_parse(const char *name, rbm_component_law *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(name, LAW_NAMES[i]) == 0) {
            *out = (rbm_component_law)i;
            return RBM_OK;
        }
    return RBM_ERR_INVALID_ARGUMENT;
}

static bool law_valid(rbm_component_law law, double p)
{
    if ((unsigned)law >= 4)
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
/* the handle                                                               */

rbm_status rbm_ensemble_new(rbm_context *ctx, rbm_ensemble **out)
{
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "out is NULL");
    *out = NULL;
    rbm_ensemble *e;
    rbm_status st = rbm__xcalloc(ctx, 1, sizeof *e, &e, "ensemble");
    if (st)
        return st;
    e->ctx = ctx;
    e->p = (ens_par){.kappa = 1, .sigma = 1, .T = 1, .damping = 1, .tol = 1e-12, .qtol = 1e-12,
                     .m_thr = 1e-6, .q_thr = 1e-6, .max_iter = 100000, .K = 1};
    e->p.law[0] = e->p.law[1] = (law_t){RBM_LAW_RADEMACHER, 1};
    e->kurt_machine[0] = e->kurt_machine[1] = NAN;
    *out = e;
    return RBM_OK;
}

void rbm_ensemble_free(rbm_ensemble *e)
{
    if (e)
        rbm__free(e->ctx, e);
}

rbm_status rbm_ensemble_set_real(rbm_ensemble *e, rbm_ensemble_param key, double v)
{
    if (!e)
        return RBM_ERR_NULL;
    ens_par *P = &e->p;
    bool fin = isfinite(v);
    switch (key) {
    case RBM_ENSEMBLE_KAPPA:
        if (!(fin && v > 0))
            break;
        P->kappa = v;
        goto changed;
    case RBM_ENSEMBLE_SIGMA:
        if (!(fin && v >= 0))
            break;
        P->sigma = v;
        goto changed;
    case RBM_ENSEMBLE_TEMPERATURE:
        if (!(fin && v > 0))
            break;
        P->T = v;
        goto changed;
    case RBM_ENSEMBLE_DAMPING:
        if (!(fin && v > 0 && v <= 1))
            break;
        P->damping = v;
        return RBM_OK;
    case RBM_ENSEMBLE_TOLERANCE:
        if (!(fin && v > 0))
            break;
        P->tol = v;
        return RBM_OK;
    case RBM_ENSEMBLE_MAX_ITERATIONS:
        if (!(fin && v >= 1 && v <= 1e9 && v == floor(v)))
            break;
        P->max_iter = (size_t)v;
        return RBM_OK;
    case RBM_ENSEMBLE_QUAD_TOLERANCE:
        if (!(fin && v > 0))
            break;
        P->qtol = v;
        return RBM_OK;
    case RBM_ENSEMBLE_M_THRESHOLD:
        if (!(fin && v > 0))
            break;
        P->m_thr = v;
        return RBM_OK;
    case RBM_ENSEMBLE_Q_THRESHOLD:
        if (!(fin && v > 0))
            break;
        P->q_thr = v;
        return RBM_OK;
    default:
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown ensemble parameter %d",
                         (int)key);
    }
    return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "ensemble parameter %d: %g is outside its domain",
                     (int)key, v);
changed:
    e->have_sol = false;
    return RBM_OK;
}

rbm_status rbm_ensemble_get_real(const rbm_ensemble *e, rbm_ensemble_param key, double *out)
{
    if (!e)
        return RBM_ERR_NULL;
    if (!out)
        return rbm__fail(e->ctx, RBM_ERR_NULL, "out is NULL");
    const ens_par *P = &e->p;
    switch (key) {
    case RBM_ENSEMBLE_KAPPA:
        *out = P->kappa;
        return RBM_OK;
    case RBM_ENSEMBLE_SIGMA:
        *out = P->sigma;
        return RBM_OK;
    case RBM_ENSEMBLE_TEMPERATURE:
        *out = P->T;
        return RBM_OK;
    case RBM_ENSEMBLE_DAMPING:
        *out = P->damping;
        return RBM_OK;
    case RBM_ENSEMBLE_TOLERANCE:
        *out = P->tol;
        return RBM_OK;
    case RBM_ENSEMBLE_MAX_ITERATIONS:
        *out = (double)P->max_iter;
        return RBM_OK;
    case RBM_ENSEMBLE_QUAD_TOLERANCE:
        *out = P->qtol;
        return RBM_OK;
    case RBM_ENSEMBLE_M_THRESHOLD:
        *out = P->m_thr;
        return RBM_OK;
    case RBM_ENSEMBLE_Q_THRESHOLD:
        *out = P->q_thr;
        return RBM_OK;
    }
    return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown ensemble parameter %d", (int)key);
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

size_t rbm_ensemble_n_modes(const rbm_ensemble *e)
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
    if ((unsigned)law >= 4)
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown component law %d", (int)law);
    if (law == RBM_LAW_TERNARY && !(sparsity > 0 && sparsity <= 1))
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "ternary sparsity %g is not in (0, 1]", sparsity);
    e->p.law[layer] = (law_t){law, law == RBM_LAW_TERNARY ? sparsity : 1};
    e->have_sol = false;
    return RBM_OK;
}

rbm_status rbm_ensemble_get_law(const rbm_ensemble *e, rbm_layer layer, rbm_component_law *law,
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

static rbm_status not_converged(rbm_ensemble *e, const ens_sol *s, bool quad_ok)
{
    if (!quad_ok)
        return rbm__fail(e->ctx, RBM_ERR_NOT_CONVERGED,
                         "a quadrature missed its tolerance %g (raise RBM_ENSEMBLE_QUAD_TOLERANCE)",
                         e->p.qtol);
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
        return rbm__fail(e->ctx, RBM_ERR_INVALID_ARGUMENT, "q0 = %g and qbar0 = %g must be in [0, 1]",
                         q0, qbar0);
    ens_sol s = {.q = q0, .qbar = qbar0};
    for (size_t g = 0; g < K; g++) {
        s.m[g] = m0 ? m0[g] : 0;
        s.mbar[g] = mbar0 ? mbar0[g] : 0;
    }
    bool qok;
    bool ok = solve_rs(&e->p, &s, &qok);
    e->sol = s;
    e->have_sol = true;
    if (!ok)
        return not_converged(e, &s, qok);
    return RBM_OK;
}

rbm_status rbm_ensemble_solution(const rbm_ensemble *e, double *m, size_t m_len, double *mbar,
                                 size_t mbar_len, double *q, double *qbar, double *free_energy)
{
    if (!e)
        return RBM_ERR_NULL;
    if (!e->have_sol)
        return rbm__fail(e->ctx, RBM_ERR_STATE, "no solution: call rbm_ensemble_solve or "
                                                "rbm_ensemble_phase after the last change");
    size_t K = e->p.K;
    rbm_status st;
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

size_t rbm_ensemble_iterations(const rbm_ensemble *e)
{
    return e && e->have_sol ? e->sol.iters : 0;
}

rbm_status rbm_ensemble_phase(rbm_ensemble *e, rbm_phase *phase, double *mixing,
                              int *compositional)
{
    if (!e)
        return RBM_ERR_NULL;
    phase_res R;
    phase_of(&e->p, &R);
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

/* ------------------------------------------------------------------------ */
/* phase diagram                                                            */

typedef struct {
    const ens_par *P;
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
        ens_par P = *J->P;
        if (J->axis == RBM_DIAGRAM_TEMPERATURE)
            P.T = J->x[ix];
        else
            P.sigma = J->x[ix];
        for (size_t iw = 0; iw < J->nw; iw++) {
            for (size_t g = 0; g < P.K; g++)
                P.w[g] = wmax > 0 ? J->P->w[g] * (J->w1[iw] / wmax) : J->w1[iw];
            phase_res R;
            phase_of(&P, &R);
            size_t at = iw * J->nx + ix;
            J->phase[at] = (int32_t)R.phase;
            if (J->m) {
                double top, second;
                sort_abs_top2(R.sol.m, P.K, &top, &second);
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

static law_t law_from_kurtosis(double k)
{
    if (!(k >= 2))
        return (law_t){RBM_LAW_RADEMACHER, 1};
    if (k <= 4)
        return (law_t){RBM_LAW_GAUSSIAN, 1};
    return (law_t){RBM_LAW_TERNARY, 1.0 / k};
}

rbm_status rbm_ensemble_from_machine(const rbm_machine *mach, size_t max_modes, rbm_ensemble **out)
{
    if (!mach)
        return RBM_ERR_NULL;
    rbm_context *ctx = mach->ctx;
    if (!out)
        return rbm__fail(ctx, RBM_ERR_NULL, "out is NULL");
    *out = NULL;
    if (max_modes == 0)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "max_modes is 0");
    if (mach->vk == RBM_UNIT_GAUSSIAN || mach->hk == RBM_UNIT_GAUSSIAN)
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "the ensemble has +-1 units; this machine has a Gaussian layer");
    rbm_status st;
    rbm_machine *ising = NULL;
    const rbm_machine *src = mach;
    if (mach->vk == RBM_UNIT_BERNOULLI || mach->hk == RBM_UNIT_BERNOULLI) {
        if ((st = rbm_machine_convert(mach, RBM_UNIT_ISING, &ising, NULL)))
            return st;
        src = ising;
    }
    rbm_svd *svd = NULL;
    double *w = NULL, *U = NULL, *V = NULL;
    rbm_ensemble *e = NULL;
    size_t nv = mach->nv, nh = mach->nh;
    if ((st = rbm_svd_new(src, &svd)))
        goto done;
    size_t r = rbm_svd_rank(svd);
    double sigma, edge;
    size_t n_out;
    if ((st = rbm__xcalloc(ctx, r, sizeof(double), &w, "singular values")) ||
        (st = rbm__xcalloc(ctx, nv * r, sizeof(double), &U, "left vectors")) ||
        (st = rbm__xcalloc(ctx, nh * r, sizeof(double), &V, "right vectors")))
        goto done;
    if ((st = rbm_svd_singular_values(svd, w, r)) || (st = rbm_svd_left_vectors(svd, U, nv * r)) ||
        (st = rbm_svd_right_vectors(svd, V, nh * r)) ||
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
    if (!mach)
        return RBM_ERR_NULL;
    rbm_context *ctx = mach->ctx;
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
