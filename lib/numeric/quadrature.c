/* librbm — quadrature: adaptive Gauss-Kronrod 7/15 integration of a
 * vector-valued integrand over a finite interval (see quadrature.h). */
#include "numeric/quadrature.h"

#include <math.h>

/* Kronrod nodes (the positive half, descending, then 0) and weights; the
 * Gauss 7-point nodes are XGK[1], XGK[3], XGK[5], XGK[7]. */
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
static const double WG[4] = {0.129484966168869693270611432679082,
                             0.279705391489276667901467771423780,
                             0.381830050505118944950369775488975,
                             0.417959183673469387755102040816327};

typedef struct {
    double a, b, err;
    double val[RBM__QUAD_MAX_NF];
} qseg;

/* The 15-point Kronrod estimate of every component over [a, b]; err is the
 * largest |Kronrod - Gauss| of the components. */
static void gk15(rbm__quad_fn f, void *ctx, size_t nf, double a, double b, qseg *s)
{
    double c = 0.5 * (a + b), h = 0.5 * (b - a);
    double k[RBM__QUAD_MAX_NF] = {0}, g[RBM__QUAD_MAX_NF] = {0}, y1[RBM__QUAD_MAX_NF],
           y2[RBM__QUAD_MAX_NF];
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

bool rbm__quad(rbm__quad_fn f, void *ctx, size_t nf, const double *brk, size_t nb, double tol,
               double *out)
{
    if (nf == 0 || nf > RBM__QUAD_MAX_NF || nb > RBM__QUAD_MAX_SEGS + 1)
        return false;
    qseg seg[RBM__QUAD_MAX_SEGS];
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
        if (n + 1 > RBM__QUAD_MAX_SEGS) {
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
