/* Reference helpers for the Potts mean-field tests (mf_potts_ref.h). */
#include "mf_potts_ref.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

/* Independent Gaussian couplings of unit scale and fields of scale fs. */
void mfp_random_model(pmodel *p, size_t n, size_t q, size_t nh, rbm_unit_kind hk,
                          uint64_t seed, double fs)
{
    r_seed_offset(seed, 4242);
    *p = (pmodel){.n = n, .q = q, .nh = nh, .hk = hk};
    double *arrays[3] = {p->W, p->a, p->b};
    const size_t lens[3] = {n * q * nh, n * q, nh};
    const double scales[3] = {1.0, fs, fs};
    for (size_t t = 0; t < 3; t++)
        for (size_t k = 0; k < lens[t]; k++)
            arrays[t][k] = scales[t] * r_norm();
}

/* The machine of p with couplings eps W. */
rbm_machine *mfp_machine(rbm_context *ctx, const pmodel *p, double eps)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, p->n, p->q, p->nh, p->hk, &m));
    double w[MAXW * MAXH];
    for (size_t k = 0; k < p->n * p->q * p->nh; k++)
        w[k] = eps * p->W[k];
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w, p->n * p->q * p->nh));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, p->a, p->n * p->q));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, p->b, p->nh));
    return m;
}

/* log of the hidden partition of one unit in field x (sigma = 1; Bernoulli
 * or Gaussian) and its mean (also Ising) */
double mfp_hid_logpart(rbm_unit_kind k, double x)
{
    if (k == RBM_UNIT_GAUSSIAN)
        return 0.5 * x * x + 0.91893853320467274178 /* log(2 pi) / 2 */;
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}
double mfp_hid_mean(rbm_unit_kind k, double x)
{
    if (k == RBM_UNIT_ISING)
        return tanh(x);
    return k == RBM_UNIT_GAUSSIAN ? x : 1.0 / (1.0 + exp(-x));
}

/* Enumerate the q^N configurations of p with couplings eps W. */
void mfp_enumerate(const pmodel *p, double eps, mfp_exact *e)
{
    size_t total = 1;
    for (size_t i = 0; i < p->n; i++)
        total *= p->q;
    double *lw = xzalloc(total * sizeof(double));
    
    double mx = -INFINITY;
    for (size_t code = 0; code < total; code++) {
        size_t v[MAXN], c = code;
        for (size_t i = 0; i < p->n; i++, c /= p->q)
            v[i] = c % p->q;
        double l = 0;
        for (size_t i = 0; i < p->n; i++)
            l += p->a[i * p->q + v[i]];
        for (size_t j = 0; j < p->nh; j++) {
            double x = p->b[j];
            for (size_t i = 0; i < p->n; i++)
                x += eps * p->W[(i * p->q + v[i]) * p->nh + j];
            l += mfp_hid_logpart(p->hk, x);
        }
        lw[code] = l;
        if (l > mx)
            mx = l;
    }
    long double z = 0;
    long double pv[MAXW] = {0}, mh[MAXH] = {0};
    for (size_t code = 0; code < total; code++) {
        size_t v[MAXN], c = code;
        for (size_t i = 0; i < p->n; i++, c /= p->q)
            v[i] = c % p->q;
        long double w = expl((long double)(lw[code] - mx));
        z += w;
        for (size_t i = 0; i < p->n; i++)
            pv[i * p->q + v[i]] += w;
        for (size_t j = 0; j < p->nh; j++) {
            double x = p->b[j];
            for (size_t i = 0; i < p->n; i++)
                x += eps * p->W[(i * p->q + v[i]) * p->nh + j];
            mh[j] += w * mfp_hid_mean(p->hk, x);
        }
    }
    e->log_z = mx + (double)logl(z);
    for (size_t k = 0; k < p->n * p->q; k++)
        e->pv[k] = (double)(pv[k] / z);
    for (size_t j = 0; j < p->nh; j++)
        e->mh[j] = (double)(mh[j] / z);
    free(lw);
}

/* Solve from the uniform start; returns Gamma, mags in mv (N q), mh. */
double mfp_solve(rbm_context *ctx, rbm_mf *s, const pmodel *p, double *mv, double *mh)
{
    for (size_t k = 0; k < p->n * p->q; k++)
        mv[k] = 1.0 / (double)p->q;
    size_t it = 0;
    double res = 0;
    RBM_OKAY(ctx, rbm_mf_solve(s, mv, p->n * p->q, NULL, 0, &it, &res));
    for (size_t j = 0; j < p->nh; j++)
        mh[j] = p->hk == RBM_UNIT_GAUSSIAN ? 0.0 : 0.5;
    RBM_OKAY(ctx, rbm_mf_solve(s, mv, p->n * p->q, mh, p->nh, &it, &res));
    assert_true(res < 1e-10);
    double g;
    RBM_OKAY(ctx, rbm_mf_free_energy(s, mv, p->n * p->q, mh, p->nh, &g));
    return g;
}

/* A random interior point: site distributions and hidden means. */
void mfp_random_point(const pmodel *p, double *mv, double *mh)
{
    for (size_t i = 0; i < p->n; i++) {
        double sum = 0;
        for (size_t c = 0; c < p->q; c++)
            sum += (mv[i * p->q + c] = 0.2 + r_unif());
        for (size_t c = 0; c < p->q; c++)
            mv[i * p->q + c] /= sum;
    }
    for (size_t j = 0; j < p->nh; j++)
        mh[j] = p->hk == RBM_UNIT_GAUSSIAN ? r_norm() : 0.1 + 0.8 * r_unif();
}

double mfp_gamma(rbm_context *ctx, rbm_mf *s, const pmodel *p, const double *mv,
                       const double *mh)
{
    double g;
    RBM_OKAY(ctx, rbm_mf_free_energy(s, mv, p->n * p->q, mh, p->nh, &g));
    return g;
}


void mfp_site_center(const pmodel *p, double *x)
{
    for (size_t i = 0; i < p->n; i++) {
        double mean = 0;
        for (size_t c = 0; c < p->q; c++)
            mean += x[i * p->q + c] / (double)p->q;
        for (size_t c = 0; c < p->q; c++)
            x[i * p->q + c] -= mean;
    }
}

void mfp_direction(const pmodel *p, double *d)
{
    for (size_t k = 0; k < p->n * p->q + p->nh; k++)
        d[k] = r_norm();
    mfp_site_center(p, d);
}

void mfp_shift(const pmodel *p, const double *mv, const double *mh, const double *d, double t,
               double *x, double *y)
{
    const size_t nw = p->n * p->q;
    for (size_t k = 0; k < nw; k++)
        x[k] = mv[k] + t * d[k];
    for (size_t j = 0; j < p->nh; j++)
        y[j] = mh[j] + t * d[nw + j];
}

void mfp_fixture_new(mfp_fixture *f, size_t n, size_t q, size_t nh, rbm_unit_kind hk,
                     uint64_t seed, double fs, double eps, rbm_mf_method method)
{
    f->ctx = rbm_test_context();
    mfp_random_model(&f->p, n, q, nh, hk, seed, fs);
    f->m = mfp_machine(f->ctx, &f->p, eps);
    f->s = NULL;
    RBM_OKAY(f->ctx, rbm_mf_new(f->m, method, &f->s));
}

void mfp_fixture_free(mfp_fixture *f)
{
    rbm_mf_free(f->s);
    rbm_machine_free(f->m);
    rbm_context_free(f->ctx);
}
