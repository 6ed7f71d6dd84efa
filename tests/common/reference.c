/* Independent reference (no librbm arithmetic): a copy of the parameters and
 * brute-force enumeration written from docs/theory.md §1.1-§1.3. See reference.h. */
#include "reference.h"
#include "testutil.h" /* r_norm */

#include <math.h>
#include <stdlib.h>

uint64_t t_sm_state;

uint64_t t_next(void)
{
    uint64_t z = (t_sm_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
double t_unif(void) { return (double)(t_next() >> 11) * 0x1.0p-53; }
double t_normal(void)
{
    double u1 = t_unif(), u2 = t_unif();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * T_PI * u2);
}

double ref_lambda(rbm_unit_kind k, double sigma, double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case RBM_UNIT_ISING: return fabs(x) + log1p(exp(-2.0 * fabs(x)));
    default: return 0.5 * sigma * sigma * x * x + 0.5 * log(2.0 * T_PI * sigma * sigma);
    }
}
double ref_mean(rbm_unit_kind k, double sigma, double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return 1.0 / (1.0 + exp(-x));
    case RBM_UNIT_ISING: return tanh(x);
    default: return sigma * sigma * x;
    }
}
double ref_phi(rbm_unit_kind k, double sigma, double x)
{
    return k == RBM_UNIT_GAUSSIAN ? x * x / (2.0 * sigma * sigma) : 0.0;
}
/* Unit value of bit `bit` for a discrete kind. */
double ref_bitval(rbm_unit_kind k, int bit)
{
    return k == RBM_UNIT_ISING ? (bit ? 1.0 : -1.0) : (bit ? 1.0 : 0.0);
}
void ref_state(rbm_unit_kind k, size_t n, uint64_t idx, double *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ref_bitval(k, (int)((idx >> i) & 1u));
}

ref_rbm *ref_new(size_t nv, size_t nh, rbm_unit_kind vk, rbm_unit_kind hk)
{
    ref_rbm *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->nv = nv;
    r->nh = nh;
    r->vk = vk;
    r->hk = hk;
    r->sv = r->sh = 1.0;
    r->W = calloc(nv * nh, sizeof(double));
    r->a = calloc(nv, sizeof(double));
    r->b = calloc(nh, sizeof(double));
    assert_true(r->W && r->a && r->b);
    return r;
}
void ref_free(ref_rbm *r)
{
    if (!r) return;
    free(r->W);
    free(r->a);
    free(r->b);
    free(r);
}
void ref_randomize(ref_rbm *r, uint64_t seed, double wstd, double bstd)
{
    t_sm_state = seed;
    for (size_t k = 0; k < r->nv * r->nh; k++) r->W[k] = wstd * t_normal();
    for (size_t i = 0; i < r->nv; i++) r->a[i] = bstd * t_normal();
    for (size_t j = 0; j < r->nh; j++) r->b[j] = bstd * t_normal();
}
/* Build a librbm machine holding the parameters of r. */
rbm_machine *ref_to_machine(rbm_context *ctx, const ref_rbm *r)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, r->nv, r->nh, r->vk, r->hk, &m));
    if (r->vk == RBM_UNIT_GAUSSIAN) RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, r->sv));
    if (r->hk == RBM_UNIT_GAUSSIAN) RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, r->sh));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, r->W, r->nv * r->nh));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, r->a, r->nv));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, r->b, r->nh));
    return m;
}
/* Copy the parameters of m into r (shapes must agree). */
void ref_from_machine(rbm_context *ctx, ref_rbm *r, const rbm_machine *m)
{
    RBM_OKAY(ctx, rbm_machine_get_weights(m, r->W, r->nv * r->nh));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, r->a, r->nv));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, r->b, r->nh));
}
/* F(v) = -a.v + sum phi_v(v_i) - sum_j Lambda_h(b_j + (W^T v)_j) */
double ref_free_energy_v(const ref_rbm *r, const double *v)
{
    double f = 0.0;
    for (size_t i = 0; i < r->nv; i++) f += -r->a[i] * v[i] + ref_phi(r->vk, r->sv, v[i]);
    for (size_t j = 0; j < r->nh; j++) {
        double x = r->b[j];
        for (size_t i = 0; i < r->nv; i++) x += v[i] * r->W[i * r->nh + j];
        f -= ref_lambda(r->hk, r->sh, x);
    }
    return f;
}
/* F_h(h) = -b.h + sum phi_h(h_j) - sum_i Lambda_v(a_i + (W h)_i) */
double ref_free_energy_h(const ref_rbm *r, const double *h)
{
    double f = 0.0;
    for (size_t j = 0; j < r->nh; j++) f += -r->b[j] * h[j] + ref_phi(r->hk, r->sh, h[j]);
    for (size_t i = 0; i < r->nv; i++) {
        double x = r->a[i];
        for (size_t j = 0; j < r->nh; j++) x += r->W[i * r->nh + j] * h[j];
        f -= ref_lambda(r->vk, r->sv, x);
    }
    return f;
}
/* log Z by enumerating a discrete layer: visible when `layer` is
 * RBM_LAYER_VISIBLE, hidden otherwise. */
double ref_log_z_layer(const ref_rbm *r, rbm_layer layer)
{
    size_t n = layer == RBM_LAYER_VISIBLE ? r->nv : r->nh;
    rbm_unit_kind k = layer == RBM_LAYER_VISIBLE ? r->vk : r->hk;
    assert_true(k != RBM_UNIT_GAUSSIAN && n <= 24);
    double *x = malloc(n * sizeof(double));
    assert_non_null(x);
    uint64_t ns = (uint64_t)1 << n;
    double mx = -INFINITY, s = 0.0;
    for (uint64_t idx = 0; idx < ns; idx++) {
        ref_state(k, n, idx, x);
        double lw = layer == RBM_LAYER_VISIBLE ? -ref_free_energy_v(r, x) : -ref_free_energy_h(r, x);
        if (lw > mx) {
            s = s * exp(mx - lw) + 1.0;
            mx = lw;
        } else {
            s += exp(lw - mx);
        }
    }
    free(x);
    return mx + log(s);
}
double ref_log_z(const ref_rbm *r)
{
    int vd = r->vk != RBM_UNIT_GAUSSIAN, hd = r->hk != RBM_UNIT_GAUSSIAN;
    if (vd && (!hd || r->nv <= r->nh)) return ref_log_z_layer(r, RBM_LAYER_VISIBLE);
    return ref_log_z_layer(r, RBM_LAYER_HIDDEN);
}
/* Mean log-likelihood of M rows: mean(-F(v)) - log Z. */
double ref_mean_ll(const ref_rbm *r, size_t M, const double *data)
{
    double s = 0.0;
    for (size_t mu = 0; mu < M; mu++) s -= ref_free_energy_v(r, data + mu * r->nv);
    return s / (double)M - ref_log_z(r);
}

void ref_rotate(double *x, double *y, size_t n, size_t inc, double c, double s)
{
    for (size_t k = 0; k < n; k++) {
        double xk = x[k * inc], yk = y[k * inc];
        x[k * inc] = c * xk - s * yk;
        y[k * inc] = s * xk + c * yk;
    }
}

/* ---- statistics of samples against exact distributions ---- */

/* Upper-tail standard normal quantile: z with P(Z > z) = alpha (bisection on
 * erfc). */
double ref_upper_normal_quantile(double alpha)
{
    double lo = -10.0, hi = 40.0;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(mid / sqrt(2.0)) > alpha) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Chi-square critical value for df degrees of freedom at upper-tail
 * probability alpha (Wilson-Hilferty). */
double ref_chi2_critical(double df, double alpha)
{
    double z = ref_upper_normal_quantile(alpha);
    double c = 2.0 / (9.0 * df);
    double t = 1.0 - c + z * sqrt(c);
    return df * t * t * t;
}

/* Pearson chi-square of counts against probabilities p over nb bins, after
 * pooling bins whose expected count is below 5 into one bin. Returns the
 * statistic and stores the degrees of freedom. */
double ref_chi2_stat(size_t nb, const double *p, const size_t *count, size_t n, double *df)
{
    double stat = 0.0, pool_e = 0.0, pool_o = 0.0;
    size_t bins = 0;
    for (size_t k = 0; k < nb; k++) {
        double e = p[k] * (double)n;
        if (e < 5.0) {
            pool_e += e;
            pool_o += (double)count[k];
            continue;
        }
        stat += ((double)count[k] - e) * ((double)count[k] - e) / e;
        bins++;
    }
    if (pool_e > 0.0) {
        if (pool_e >= 1.0) {
            stat += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
            bins++;
        } else if (pool_o > 5.0) {
            stat += 1e300; /* many hits where almost nothing is expected */
        }
    }
    *df = (double)(bins - 1);
    return stat;
}

/* Index of a discrete configuration; fails if a value is outside the
 * support. */
uint64_t ref_config_index(rbm_unit_kind k, size_t n, const double *x)
{
    uint64_t idx = 0;
    for (size_t i = 0; i < n; i++) {
        int bit = 0;
        if (x[i] == ref_bitval(k, 1)) bit = 1;
        else if (x[i] == ref_bitval(k, 0)) bit = 0;
        else fail_msg("unit %zu has value %.17g outside the support of %s", i, x[i],
                      rbm_unit_kind_name(k));
        idx |= (uint64_t)bit << i;
    }
    return idx;
}

/* Exact distribution of a discrete layer (2^n states) from its free energy. */
void ref_exact_layer_probs(const ref_rbm *r, rbm_layer layer, double *p)
{
    size_t n = layer == RBM_LAYER_VISIBLE ? r->nv : r->nh;
    rbm_unit_kind k = layer == RBM_LAYER_VISIBLE ? r->vk : r->hk;
    double lz = ref_log_z(r);
    double x[32];
    double tot = 0.0;
    for (uint64_t idx = 0; idx < ((uint64_t)1 << n); idx++) {
        ref_state(k, n, idx, x);
        double f = layer == RBM_LAYER_VISIBLE ? ref_free_energy_v(r, x) : ref_free_energy_h(r, x);
        p[idx] = exp(-f - lz);
        tot += p[idx];
    }
    rbm_assert_close(tot, 1.0, 1e-10, 0.0, "exact probabilities sum to one");
}


void ref_random_orthonormal(size_t d, size_t n, double *Q)
{
    for (size_t i = 0; i < d * n; i++)
        Q[i] = r_norm();
    for (size_t a = 0; a < n; a++) {
        for (int pass = 0; pass < 2; pass++) {
            for (size_t b = 0; b < a; b++) {
                double dot = 0;
                for (size_t i = 0; i < d; i++)
                    dot += Q[i * n + a] * Q[i * n + b];
                for (size_t i = 0; i < d; i++)
                    Q[i * n + a] -= dot * Q[i * n + b];
            }
        }
        double nrm = 0;
        for (size_t i = 0; i < d; i++)
            nrm += Q[i * n + a] * Q[i * n + a];
        nrm = sqrt(nrm);
        for (size_t i = 0; i < d; i++)
            Q[i * n + a] /= nrm;
    }
}
