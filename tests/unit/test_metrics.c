/* Tests for metrics.h (docs/theory.md §1.3, §1.4, §1.5, §8, §9 items 5, 6, 17).
 *
 * Every expected value is computed here, independently of lib/metrics.c:
 *   - log Z by brute force: a log-sum-exp (long double) over every joint
 *     state of two discrete layers, or over every state of the discrete layer
 *     with the Gaussian layer integrated analytically,
 *       log int exp(x s - s^2/(2 sigma^2)) ds = sigma^2 x^2/2 + log(2 pi sigma^2)/2
 *     (this formula is itself checked against a numerical integral here);
 *   - Gauss-Gauss log Z by 3-D trapezoid quadrature of exp(-E) and by the
 *     visible-marginal formula (hidden layer integrated out, then a Gaussian
 *     integral with precision I/sigma_v^2 - sigma_h^2 W W^T, Cholesky here);
 *   - log p(v) by summing exp(-E(v,h)) over the hidden states;
 *   - pseudo-likelihood from a free energy written here, evaluated at v and
 *     at each single flip of v;
 *   - reconstruction error and free-energy gap by plain double loops;
 *   - AIS is compared with exact log Z; with W = 0 and a base equal to the
 *     target it must be exact.
 * Parameters come from a generator written here (splitmix64 + Box-Muller),
 * or from brief training with the library's trainer (they are then read back
 * and used as inputs of the references). */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PI_L 3.14159265358979323846264338327950288L

/* ---------------------------------------------------------------------- */
/* test-local helpers (random numbers: r_seed, r_unif, r_norm of testutil.h) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* reference model and its formulas                                       */

typedef struct {
    size_t nv, nh;
    rbm_unit_kind vk, hk;
    double sv, sh; /* standard deviations of Gaussian layers */
    double *W;     /* nv x nh, row-major */
    double *a, *b;
} ref_rbm;

static const char *kn(rbm_unit_kind k)
{
    return k == RBM_UNIT_BERNOULLI ? "B" : k == RBM_UNIT_ISING ? "I" : "G";
}

static int is_discrete(rbm_unit_kind k)
{
    return k != RBM_UNIT_GAUSSIAN;
}

static double low_value(rbm_unit_kind k)
{
    return k == RBM_UNIT_ISING ? -1.0 : 0.0;
}

static ref_rbm ref_alloc(size_t nv, size_t nh, rbm_unit_kind vk, rbm_unit_kind hk)
{
    ref_rbm R = {nv, nh, vk, hk, 1.0, 1.0, NULL, NULL, NULL};
    R.W = xzalloc(nv * nh * sizeof(double));
    R.a = xzalloc(nv * sizeof(double));
    R.b = xzalloc(nh * sizeof(double));
    return R;
}

static ref_rbm ref_random(size_t nv, size_t nh, rbm_unit_kind vk, rbm_unit_kind hk, double wstd,
                          double bstd, uint64_t seed)
{
    ref_rbm R = ref_alloc(nv, nh, vk, hk);
    r_seed(seed);
    for (size_t x = 0; x < nv * nh; x++)
        R.W[x] = wstd * r_norm();
    for (size_t i = 0; i < nv; i++)
        R.a[i] = bstd * r_norm();
    for (size_t j = 0; j < nh; j++)
        R.b[j] = bstd * r_norm();
    if (vk == RBM_UNIT_GAUSSIAN)
        R.sv = 0.6 + 0.8 * r_unif();
    if (hk == RBM_UNIT_GAUSSIAN)
        R.sh = 0.6 + 0.8 * r_unif();
    return R;
}

static void ref_free(ref_rbm *R)
{
    free(R->W);
    free(R->a);
    free(R->b);
    R->W = R->a = R->b = NULL;
}

static rbm_machine *ref_to_machine(rbm_context *ctx, const ref_rbm *R)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, R->nv, R->nh, R->vk, R->hk, &m));
    if (R->vk == RBM_UNIT_GAUSSIAN)
        RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, R->sv));
    if (R->hk == RBM_UNIT_GAUSSIAN)
        RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, R->sh));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, R->W, R->nv * R->nh));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, R->a, R->nv));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, R->b, R->nh));
    return m;
}

static ref_rbm ref_from_machine(rbm_context *ctx, const rbm_machine *m)
{
    ref_rbm R = ref_alloc(rbm_machine_n_visible(m), rbm_machine_n_hidden(m),
                          rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE),
                          rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN));
    RBM_OKAY(ctx, rbm_machine_get_weights(m, R.W, R.nv * R.nh));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, R.a, R.nv));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, R.b, R.nh));
    if (R.vk == RBM_UNIT_GAUSSIAN)
        R.sv = rbm_machine_sigma(m, RBM_LAYER_VISIBLE);
    if (R.hk == RBM_UNIT_GAUSSIAN)
        R.sh = rbm_machine_sigma(m, RBM_LAYER_HIDDEN);
    return R;
}

/* One-unit log-partition log sum_x' exp(x x' - phi(x')) (docs/theory.md §1.1). */
static long double lam(rbm_unit_kind k, double sigma, long double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: /* log(1 + e^x) */
        return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x));
    case RBM_UNIT_ISING: { /* log(e^x + e^-x) */
        long double ax = fabsl(x);
        return ax + log1pl(expl(-2.0L * ax));
    }
    case RBM_UNIT_GAUSSIAN: { /* int exp(x s - s^2/(2 s2)) ds = sqrt(2 pi s2) exp(s2 x^2 / 2) */
        long double s2 = (long double)sigma * sigma;
        return 0.5L * s2 * x * x + 0.5L * logl(2.0L * PI_L * s2);
    }
    case RBM_UNIT_POTTS: break;
    }
    fail_msg("bad unit kind");
    return 0;
}

static long double confine(rbm_unit_kind k, double sigma, long double x)
{
    return k == RBM_UNIT_GAUSSIAN ? x * x / (2.0L * (long double)sigma * sigma) : 0.0L;
}

/* Conditional mean f = Lambda'. */
static long double unit_mean(rbm_unit_kind k, double sigma, long double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return 1.0L / (1.0L + expl(-x));
    case RBM_UNIT_ISING: return tanhl(x);
    default: return (long double)sigma * sigma * x;
    }
}

/* Energy E(v, h) of §1.1, term by term. */
static long double energy(const ref_rbm *R, const double *v, const double *h)
{
    long double e = 0;
    for (size_t i = 0; i < R->nv; i++)
        for (size_t j = 0; j < R->nh; j++)
            e -= (long double)v[i] * R->W[i * R->nh + j] * h[j];
    for (size_t i = 0; i < R->nv; i++)
        e += -(long double)R->a[i] * v[i] + confine(R->vk, R->sv, v[i]);
    for (size_t j = 0; j < R->nh; j++)
        e += -(long double)R->b[j] * h[j] + confine(R->hk, R->sh, h[j]);
    return e;
}

/* Free energy F(v) with the hidden layer summed / integrated out in closed
 * form per unit. */
static long double free_energy(const ref_rbm *R, const double *v)
{
    long double f = 0;
    for (size_t i = 0; i < R->nv; i++)
        f += -(long double)R->a[i] * v[i] + confine(R->vk, R->sv, v[i]);
    for (size_t j = 0; j < R->nh; j++) {
        long double x = R->b[j];
        for (size_t i = 0; i < R->nv; i++)
            x += (long double)v[i] * R->W[i * R->nh + j];
        f -= lam(R->hk, R->sh, x);
    }
    return f;
}

/* log-sum-exp accumulator */
typedef struct {
    long double m, s;
} lse_t;

static void lse_init(lse_t *A)
{
    A->m = -INFINITY;
    A->s = 0;
}

static void lse_add(lse_t *A, long double x)
{
    if (x > A->m) {
        A->s = A->s * expl(A->m - x) + 1.0L;
        A->m = x;
    } else {
        A->s += expl(x - A->m);
    }
}

static long double lse_get(const lse_t *A)
{
    return A->m + logl(A->s);
}

static void bits_to_state(uint64_t bits, size_t n, rbm_unit_kind k, double *s)
{
    for (size_t u = 0; u < n; u++)
        s[u] = (bits >> u) & 1 ? 1.0 : low_value(k);
}

/* log Z over every joint state (both layers discrete, nv + nh <= 24). */
static long double ref_log_z_joint(const ref_rbm *R)
{
    assert_true(is_discrete(R->vk) && is_discrete(R->hk) && R->nv + R->nh <= 24);
    double v[32], h[32];
    lse_t A;
    lse_init(&A);
    for (uint64_t s = 0; s < (UINT64_C(1) << (R->nv + R->nh)); s++) {
        bits_to_state(s, R->nv, R->vk, v);
        bits_to_state(s >> R->nv, R->nh, R->hk, h);
        lse_add(&A, -energy(R, v, h));
    }
    return lse_get(&A);
}

/* log Z enumerating layer `hidden` (1: hidden, 0: visible; must be
 * discrete), the other layer summed / integrated in closed form. */
static long double ref_log_z_marg(const ref_rbm *R, int hidden)
{
    size_t n = hidden ? R->nh : R->nv, o = hidden ? R->nv : R->nh;
    rbm_unit_kind ek = hidden ? R->hk : R->vk, ok = hidden ? R->vk : R->hk;
    double osig = hidden ? R->sv : R->sh;
    const double *eb = hidden ? R->b : R->a, *ob = hidden ? R->a : R->b;
    assert_true(is_discrete(ek) && n <= 24);
    double *s = xzalloc(n * sizeof(double));
    lse_t A;
    lse_init(&A);
    for (uint64_t t = 0; t < (UINT64_C(1) << n); t++) {
        bits_to_state(t, n, ek, s);
        long double lw = 0;
        for (size_t u = 0; u < n; u++)
            lw += (long double)eb[u] * s[u];
        for (size_t q = 0; q < o; q++) {
            long double x = ob[q];
            for (size_t u = 0; u < n; u++) {
                double w = hidden ? R->W[q * R->nh + u] : R->W[u * R->nh + q];
                x += (long double)w * s[u];
            }
            lw += lam(ok, osig, x);
        }
        lse_add(&A, lw);
    }
    free(s);
    return lse_get(&A);
}

/* Brute-force log Z: joint enumeration when both layers are discrete and
 * small, otherwise enumerate the (smaller) discrete layer. */
static long double ref_log_z(const ref_rbm *R)
{
    if (is_discrete(R->vk) && is_discrete(R->hk) && R->nv + R->nh <= 16)
        return ref_log_z_joint(R);
    if (is_discrete(R->vk) && (!is_discrete(R->hk) || R->nv < R->nh))
        return ref_log_z_marg(R, 0);
    return ref_log_z_marg(R, 1);
}

/* log of the unnormalised marginal of v: sum over hidden states of
 * exp(-E(v,h)) when the hidden layer is discrete, -F(v) otherwise. */
static long double ref_log_pstar(const ref_rbm *R, const double *v)
{
    if (!is_discrete(R->hk))
        return -free_energy(R, v);
    double h[32];
    assert_true(R->nh <= 20);
    lse_t A;
    lse_init(&A);
    for (uint64_t t = 0; t < (UINT64_C(1) << R->nh); t++) {
        bits_to_state(t, R->nh, R->hk, h);
        lse_add(&A, -energy(R, v, h));
    }
    return lse_get(&A);
}

/* ---- small dense linear algebra (long double, SPD) ---- */

/* In-place Cholesky A = L L^T of an n x n SPD matrix (lower triangle). */
static void chol(size_t n, long double *A)
{
    for (size_t j = 0; j < n; j++) {
        long double d = A[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= A[j * n + k] * A[j * n + k];
        assert_true(d > 0);
        A[j * n + j] = sqrtl(d);
        for (size_t i = j + 1; i < n; i++) {
            long double s = A[i * n + j];
            for (size_t k = 0; k < j; k++)
                s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / A[j * n + j];
        }
    }
}

/* Solve L L^T x = y (x may alias y). */
static void chol_solve(size_t n, const long double *L, const long double *y, long double *x)
{
    long double z[16];
    for (size_t i = 0; i < n; i++) {
        long double s = y[i];
        for (size_t k = 0; k < i; k++)
            s -= L[i * n + k] * z[k];
        z[i] = s / L[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        long double s = z[i];
        for (size_t k = i + 1; k < n; k++)
            s -= L[k * n + i] * x[k];
        x[i] = s / L[i * n + i];
    }
}

/* Gauss-Gauss log Z via the visible marginal: integrating the hidden layer
 * gives exp(-v^T A v / 2 + c.v + sigma_h^2 |b|^2 / 2) (2 pi sigma_h^2)^{N_h/2}
 * with A = I/sigma_v^2 - sigma_h^2 W W^T and c = a + sigma_h^2 W b. */
static long double gg_log_z_formula(const ref_rbm *R)
{
    size_t nv = R->nv, nh = R->nh;
    assert_true(nv <= 16);
    long double A[256] = {0}, c[16] = {0}, x[16] = {0};
    long double sv2 = (long double)R->sv * R->sv, sh2 = (long double)R->sh * R->sh;
    for (size_t i = 0; i < nv; i++) {
        c[i] = R->a[i];
        for (size_t j = 0; j < nh; j++)
            c[i] += sh2 * R->W[i * nh + j] * R->b[j];
        for (size_t k = 0; k < nv; k++) {
            long double s = 0;
            for (size_t j = 0; j < nh; j++)
                s += (long double)R->W[i * nh + j] * R->W[k * nh + j];
            A[i * nv + k] = (i == k ? 1.0L / sv2 : 0.0L) - sh2 * s;
        }
    }
    chol(nv, A);
    chol_solve(nv, A, c, x);
    long double logdet = 0, quad = 0, bb = 0;
    for (size_t i = 0; i < nv; i++) {
        logdet += 2.0L * logl(A[i * nv + i]);
        quad += c[i] * x[i];
    }
    for (size_t j = 0; j < nh; j++)
        bb += (long double)R->b[j] * R->b[j];
    return 0.5L * (long double)nh * logl(2.0L * PI_L * sh2) + 0.5L * sh2 * bb +
           0.5L * (long double)nv * logl(2.0L * PI_L) - 0.5L * logdet + 0.5L * quad;
}

/* Trapezoid quadrature of exp(g(x)) over R^n (n <= 3), on an axis-aligned
 * grid centred at mu, step sd_k/3 over +-13 sd_k. For a Gaussian-like
 * integrand with marginal standard deviations sd_k the aliasing error is
 * ~exp(-2 pi^2 * 9) and the truncation error ~exp(-84). */
typedef long double (*logf_fn)(const void *ctx, const double *x);

static long double quad_log(size_t n, const long double *mu, const long double *sd, logf_fn g,
                            const void *gctx)
{
    const int K = 39; /* points on each side of the centre */
    double x[3];
    long double hstep[3], ref;
    for (size_t k = 0; k < n; k++) {
        hstep[k] = sd[k] / 3.0L;
        x[k] = (double)mu[k];
    }
    ref = g(gctx, x);
    long double sum = 0;
    int idx[3] = {-K, -K, -K};
    for (;;) {
        for (size_t k = 0; k < n; k++)
            x[k] = (double)(mu[k] + idx[k] * hstep[k]);
        sum += expl(g(gctx, x) - ref);
        size_t k = 0;
        while (k < n && ++idx[k] > K)
            idx[k++] = -K;
        if (k == n)
            break;
    }
    long double vol = 1;
    for (size_t k = 0; k < n; k++)
        vol *= hstep[k];
    return ref + logl(sum * vol);
}

/* ---------------------------------------------------------------------- */
/* datasets                                                               */

static rbm_dataset *ds_from(rbm_context *ctx, const double *x, size_t rows, size_t cols)
{
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, rows, cols, RBM_COPY, &d));
    return d;
}

/* rows x cols values in the support of kind k (Gaussian: N(0.3, 1)). */
static double *random_rows(size_t rows, size_t cols, rbm_unit_kind k, uint64_t seed)
{
    double *x = xzalloc(rows * cols * sizeof(double));
    r_seed(seed);
    for (size_t t = 0; t < rows * cols; t++)
        x[t] = k == RBM_UNIT_GAUSSIAN ? 0.3 + r_norm() : (r_unif() < 0.4 ? 1.0 : low_value(k));
    return x;
}

static void expect_error(rbm_context *ctx, rbm_status got, rbm_status want, const char *what)
{
    if (got != want)
        fail_msg("%s: got %s, expected %s (%s)", what, rbm_status_name(got), rbm_status_name(want),
                 rbm_context_last_error(ctx));
    if (rbm_context_last_status(ctx) != want)
        fail_msg("%s: last status %s, expected %s", what,
                 rbm_status_name(rbm_context_last_status(ctx)), rbm_status_name(want));
    if (strlen(rbm_context_last_error(ctx)) == 0)
        fail_msg("%s: empty error detail", what);
    rbm_context_clear_error(ctx);
}

/* ====================================================================== */
/* exact log Z                                                            */

static void test_log_z_discrete(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const size_t shapes[][2] = {{3, 7}, {7, 3}, {5, 5}, {1, 9}, {9, 1}, {2, 2}, {6, 8}};
    static const rbm_unit_kind dk[2] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING};
    uint64_t seed = 100;
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                ref_rbm R = ref_random(shapes[s][0], shapes[s][1], dk[x], dk[y], 0.8, 0.6, seed++);
                rbm_machine *m = ref_to_machine(ctx, &R);
                long double joint = ref_log_z_joint(&R);
                /* self-check of the references: both marginal enumerations agree */
                char what[96];
                snprintf(what, sizeof what, "reference enumeration %s%s %zux%zu", kn(R.vk),
                         kn(R.hk), R.nv, R.nh);
                rbm_assert_close((double)ref_log_z_marg(&R, 0), (double)joint, 1e-14, 1e-14, what);
                rbm_assert_close((double)ref_log_z_marg(&R, 1), (double)joint, 1e-14, 1e-14, what);
                double lz = NAN;
                RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
                snprintf(what, sizeof what, "exact log Z %s%s %zux%zu", kn(R.vk), kn(R.hk), R.nv,
                         R.nh);
                rbm_assert_close(lz, (double)joint, 1e-12, 1e-13, what);
                rbm_machine_free(m);
                ref_free(&R);
            }
    /* strong couplings and fields (|field| up to ~100): overflow-free
     * log-partitions and log-sum-exp */
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++) {
            ref_rbm R = ref_random(x ? 5 : 9, x ? 9 : 5, dk[x], dk[y], 8.0, 4.0, seed++);
            rbm_machine *m = ref_to_machine(ctx, &R);
            double lz = NAN;
            RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
            char what[96];
            snprintf(what, sizeof what, "exact log Z, strong couplings %s%s", kn(R.vk), kn(R.hk));
            rbm_assert_close(lz, (double)ref_log_z_joint(&R), 1e-12, 0, what);
            rbm_machine_free(m);
            ref_free(&R);
        }
    rbm_context_free(ctx);
}

/* log of exp(-E) for the 1-D check of the Gaussian integral: one Gaussian
 * visible unit, hidden states summed explicitly. */
typedef struct {
    const ref_rbm *R;
} one_ctx;

static long double logp_v_sum_h(const void *c, const double *v)
{
    const ref_rbm *R = ((const one_ctx *)c)->R;
    return ref_log_pstar(R, v);
}

/* A machine shape of the table-driven tests. */
typedef struct shape_case {
    size_t nv, nh;
    rbm_unit_kind vk, hk;
} shape_case;

static void test_log_z_gaussian_layer(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();

    /* self-check of the analytic Gaussian integral: N_v = 1 Gaussian visible,
     * 2 Bernoulli hidden; numerical 1-D quadrature of sum_h exp(-E(v,h)). */
    {
        ref_rbm R = ref_random(1, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, 0.7, 0.5, 7);
        R.sv = 1.3;
        one_ctx c = {&R};
        long double mu = 0, sd = R.sv * 1.5L; /* a mixture of 4 Gaussians, sd sigma_v each */
        long double q = quad_log(1, &mu, &sd, logp_v_sum_h, &c);
        rbm_assert_close((double)ref_log_z_marg(&R, 1), (double)q, 1e-13, 1e-13,
                         "analytic Gaussian integral vs 1-D quadrature");
        ref_free(&R);
    }

    static const shape_case cases[] = {
        {6, 4, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI}, /* hidden enumerated, larger visible */
        {3, 8, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING},     /* hidden enumerated, smaller visible */
        {12, 1, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI},
        {5, 7, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN}, /* visible enumerated, larger hidden */
        {9, 2, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN},     /* visible enumerated, smaller hidden */
        {1, 6, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN},
        {40, 8, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING},    /* other layer > 30 units */
        {8, 40, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ref_rbm R = ref_random(cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk, 0.25, 0.5,
                               200 + c);
        rbm_machine *m = ref_to_machine(ctx, &R);
        long double ref = ref_log_z_marg(&R, is_discrete(R.hk));
        double lz = NAN;
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
        char what[96];
        snprintf(what, sizeof what, "exact log Z %s%s %zux%zu sigma %.3f/%.3f", kn(R.vk),
                 kn(R.hk), R.nv, R.nh, R.sv, R.sh);
        rbm_assert_close(lz, (double)ref, 1e-12, 1e-13, what);
        rbm_machine_free(m);
        ref_free(&R);
    }
    rbm_context_free(ctx);
}

static void test_log_z_threads(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const shape_case cases[] = {
        {20, 16, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI}, /* 65536 hidden states */
        {14, 22, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI},     /* 16384 visible states */
        {15, 30, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},  /* 32768 visible states */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ref_rbm R = ref_random(cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk, 0.3, 0.5,
                               300 + c);
        rbm_machine *m = ref_to_machine(ctx, &R);
        double lz1 = NAN, lz2 = NAN, lz3 = NAN;
        RBM_OKAY(ctx, rbm_context_set_threads(ctx, 1));
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz1));
        RBM_OKAY(ctx, rbm_context_set_threads(ctx, 2));
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz2));
        RBM_OKAY(ctx, rbm_context_set_threads(ctx, 3));
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz3));
        RBM_OKAY(ctx, rbm_context_set_threads(ctx, 0));
        long double ref = ref_log_z(&R);
        char what[96];
        snprintf(what, sizeof what, "log Z %s%s %zux%zu", kn(R.vk), kn(R.hk), R.nv, R.nh);
        rbm_assert_close(lz1, (double)ref, 1e-12, 0, what);
        /* partial sums reduced in a fixed order: the same bits */
        if (memcmp(&lz1, &lz2, sizeof lz1) || memcmp(&lz1, &lz3, sizeof lz1))
            fail_msg("%s: log Z with 1, 2, 3 threads: %.17g %.17g %.17g", what, lz1, lz2, lz3);
        rbm_machine_free(m);
        ref_free(&R);
    }
    rbm_context_free(ctx);
}

/* 2^20 hidden states: the reference is the direct sum of exp(-F_h(h)) over
 * every hidden state, F_h from rbm_machine_free_energy_hidden (a different
 * code path: no Gray code, no threads). */
static void test_log_z_2p20(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 50, nh = 20, B = 4096;
    ref_rbm R = ref_random(nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 0.1, 0.3, 400);
    rbm_machine *m = ref_to_machine(ctx, &R);
    RBM_OKAY(ctx, rbm_context_set_threads(ctx, 2));
    double t0 = now_s(), lz = NAN;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
    double t1 = now_s();

    double *h = xzalloc(B * nh * sizeof(double)), *f = xzalloc(B * sizeof(double));
    lse_t A;
    lse_init(&A);
    for (uint64_t s0 = 0; s0 < (UINT64_C(1) << nh); s0 += B) {
        for (size_t r = 0; r < B; r++)
            bits_to_state(s0 + r, nh, RBM_UNIT_BERNOULLI, h + r * nh);
        RBM_OKAY(ctx, rbm_machine_free_energy_hidden(m, B, h, B * nh, f, B));
        for (size_t r = 0; r < B; r++)
            lse_add(&A, -(long double)f[r]);
    }
    /* spot-check F_h against the formula written here */
    {
        double hh[20];
        bits_to_state(0xA5A5A, nh, RBM_UNIT_BERNOULLI, hh);
        long double fh = 0;
        for (size_t j = 0; j < nh; j++)
            fh -= (long double)R.b[j] * hh[j];
        for (size_t i = 0; i < nv; i++) {
            long double x = R.a[i];
            for (size_t j = 0; j < nh; j++)
                x += (long double)R.W[i * nh + j] * hh[j];
            fh -= lam(RBM_UNIT_BERNOULLI, 1, x);
        }
        double got;
        RBM_OKAY(ctx, rbm_machine_free_energy_hidden(m, 1, hh, nh, &got, 1));
        rbm_assert_close(got, (double)fh, 1e-13, 1e-13, "F_h spot check");
    }
    print_message("# exact log Z over 2^20 hidden states (2 threads): %.3f s\n", t1 - t0);
    rbm_assert_close(lz, (double)lse_get(&A), 1e-12, 0, "log Z, 2^20 states");
    free(h);
    free(f);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

static void test_log_z_unsupported(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    double lz;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 31, 31, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, &m));
    expect_error(ctx, rbm_exact_log_z(m, &lz), RBM_ERR_UNSUPPORTED, "31 x 31 discrete");
    rbm_machine_free(m);
    RBM_OKAY(ctx, rbm_machine_new(ctx, 5, 31, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, &m));
    expect_error(ctx, rbm_exact_log_z(m, &lz), RBM_ERR_UNSUPPORTED, "gaussian x 31 discrete");
    rbm_machine_free(m);
    RBM_OKAY(ctx, rbm_machine_new(ctx, 33, 2, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, &m));
    expect_error(ctx, rbm_exact_log_z(m, &lz), RBM_ERR_UNSUPPORTED, "33 discrete x gaussian");
    expect_error(ctx, rbm_exact_log_z(m, NULL), RBM_ERR_NULL, "NULL log_z");
    assert_int_equal(rbm_exact_log_z(NULL, &lz), RBM_ERR_NULL);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---- Gauss-Gauss ---- */

typedef struct {
    const ref_rbm *R;
} gg_ctx;

/* -E(v1, v2, h) for the N_v = 2, N_h = 1 machine: x = (v1, v2, h). */
static long double gg_neg_energy_21(const void *c, const double *x)
{
    const ref_rbm *R = ((const gg_ctx *)c)->R;
    return -energy(R, x, x + 2);
}

/* -F(v) for a Gauss-Gauss machine (hidden integrated in closed form). */
static long double gg_neg_free_energy(const void *c, const double *v)
{
    return -free_energy(((const gg_ctx *)c)->R, v);
}

static void gg_quad_grid(size_t n, const long double *P, const long double *lin, long double *mu,
                         long double *sd)
{
    /* mode and marginal standard deviations of exp(-x^T P x / 2 + lin.x) */
    long double L[16], e[4], col[4];
    memcpy(L, P, n * n * sizeof(long double));
    chol(n, L);
    chol_solve(n, L, lin, mu);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < n; i++)
            e[i] = i == k;
        chol_solve(n, L, e, col);
        sd[k] = sqrtl(col[k]);
    }
}

static void test_gauss_gauss_item5(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = ref_alloc(2, 1, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN);
    R.sv = sqrt(0.8);
    R.sh = sqrt(1.3);
    R.W[0] = 0.5;
    R.W[1] = -0.3;
    R.a[0] = 0.2;
    R.a[1] = -0.1;
    R.b[0] = 0.4;
    rbm_machine *m = ref_to_machine(ctx, &R);
    double lz = NAN;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
    rbm_assert_close(lz, 3.15845325949, 0, 1e-9, "Gauss-Gauss log Z (docs/theory.md §9 item 5)");

    /* 3-D quadrature of exp(-E(v, h)) */
    long double P[9] = {1 / 0.8L, 0, -0.5L, 0, 1 / 0.8L, 0.3L, -0.5L, 0.3L, 1 / 1.3L};
    long double lin[3] = {0.2L, -0.1L, 0.4L}, mu[3], sd[3];
    gg_quad_grid(3, P, lin, mu, sd);
    gg_ctx c = {&R};
    long double q = quad_log(3, mu, sd, gg_neg_energy_21, &c);
    rbm_assert_close((double)q, 3.15845325949, 0, 1e-9, "3-D quadrature vs item 5 value");
    rbm_assert_close(lz, (double)q, 0, 1e-10, "Gauss-Gauss log Z vs 3-D quadrature");
    rbm_assert_close(lz, (double)gg_log_z_formula(&R), 1e-13, 1e-13,
                     "Gauss-Gauss log Z vs visible-marginal formula");

    /* AIS refuses Gauss-Gauss machines */
    rbm_ais *ais = (rbm_ais *)&c; /* non-NULL sentinel */
    expect_error(ctx, rbm_ais_new(m, 1, &ais), RBM_ERR_UNSUPPORTED, "AIS on Gauss-Gauss");
    assert_null(ais);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

static void test_gauss_gauss_3x2(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = ref_alloc(3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN);
    static const double W[6] = {0.4, -0.2, 0.1, 0.5, -0.3, 0.2};
    memcpy(R.W, W, sizeof W);
    R.a[0] = 0.3;
    R.a[1] = -0.2;
    R.a[2] = 0.1;
    R.b[0] = 0.2;
    R.b[1] = -0.4;
    R.sv = 0.9;
    R.sh = 1.1;
    rbm_machine *m = ref_to_machine(ctx, &R);
    double lz = NAN;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
    long double formula = gg_log_z_formula(&R);
    rbm_assert_close(lz, (double)formula, 1e-12, 0, "Gauss-Gauss 3x2 log Z vs formula");

    /* 3-D quadrature over v of exp(-F(v)) */
    long double A[9], cv[3], mu[3], sd[3];
    long double sv2 = R.sv * R.sv, sh2 = R.sh * R.sh;
    for (size_t i = 0; i < 3; i++) {
        cv[i] = R.a[i];
        for (size_t j = 0; j < 2; j++)
            cv[i] += sh2 * R.W[i * 2 + j] * R.b[j];
        for (size_t k = 0; k < 3; k++)
            A[i * 3 + k] = (i == k ? 1 / sv2 : 0) - sh2 * ((long double)R.W[i * 2] * R.W[k * 2] +
                                                            (long double)R.W[i * 2 + 1] * R.W[k * 2 + 1]);
    }
    gg_quad_grid(3, A, cv, mu, sd);
    gg_ctx c = {&R};
    long double q = quad_log(3, mu, sd, gg_neg_free_energy, &c);
    rbm_assert_close((double)q, (double)formula, 0, 1e-10, "3x2 quadrature vs formula");
    rbm_assert_close(lz, (double)q, 0, 1e-10, "Gauss-Gauss 3x2 log Z vs quadrature");

    /* a 2 x 4 machine (more hidden than visible) */
    ref_rbm R2 = ref_random(2, 4, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, 0.2, 0.5, 77);
    rbm_machine *m2 = ref_to_machine(ctx, &R2);
    RBM_OKAY(ctx, rbm_exact_log_z(m2, &lz));
    rbm_assert_close(lz, (double)gg_log_z_formula(&R2), 1e-12, 0, "Gauss-Gauss 2x4 log Z");
    rbm_machine_free(m2);
    ref_free(&R2);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

/* ---- Bernoulli <-> Ising (docs/theory.md §1.4) ---- */

static void test_convert_shift(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const struct {
        size_t nv, nh;
        rbm_unit_kind vk, hk, to;
    } cases[] = {
        {4, 6, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING},
        {7, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING},
        {5, 5, RBM_UNIT_ISING, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI},
        {4, 6, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_ISING},
        {6, 4, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI},
        {6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING},
        {5, 3, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING},
        {5, 3, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ref_rbm R = ref_random(cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk, 0.7, 0.6,
                               500 + c);
        rbm_machine *m = ref_to_machine(ctx, &R), *o = NULL;
        double shift = NAN, lz_m = NAN, lz_o = NAN;
        RBM_OKAY(ctx, rbm_machine_convert(m, cases[c].to, &o, &shift));
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz_m));
        RBM_OKAY(ctx, rbm_exact_log_z(o, &lz_o));
        char what[96];
        snprintf(what, sizeof what, "log Z %s%s = log Z converted + shift", kn(R.vk), kn(R.hk));
        rbm_assert_close(lz_m, lz_o + shift, 1e-12, 1e-13, what);
        /* the same relation between brute-force values */
        ref_rbm Ro = ref_from_machine(ctx, o);
        snprintf(what, sizeof what, "brute log Z %s%s vs converted %s%s + shift", kn(R.vk),
                 kn(R.hk), kn(Ro.vk), kn(Ro.hk));
        rbm_assert_close((double)ref_log_z(&R), (double)ref_log_z(&Ro) + shift, 1e-12, 1e-13,
                         what);
        if (R.vk == RBM_UNIT_BERNOULLI && R.hk == RBM_UNIT_BERNOULLI) {
            long double C = 0;
            for (size_t x = 0; x < R.nv * R.nh; x++)
                C += R.W[x] / 4.0L;
            for (size_t i = 0; i < R.nv; i++)
                C += R.a[i] / 2.0L;
            for (size_t j = 0; j < R.nh; j++)
                C += R.b[j] / 2.0L;
            rbm_assert_close(shift, (double)C, 1e-12, 1e-14, "shift C of docs/theory.md §1.4");
        }
        ref_free(&Ro);
        rbm_machine_free(o);
        rbm_machine_free(m);
        ref_free(&R);
    }
    rbm_context_free(ctx);
}

/* ---- exact log-likelihood ---- */

static void test_exact_log_likelihood(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const shape_case cases[] = {
        {6, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI}, {5, 6, RBM_UNIT_ISING, RBM_UNIT_ISING},
        {7, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING},     {4, 7, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI},
        {5, 6, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI},  {6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},
        {3, 5, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING},      {6, 3, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN},
        {3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN},   {2, 4, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN},
    };
    const size_t rows = 25;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int gg = cases[c].vk == RBM_UNIT_GAUSSIAN && cases[c].hk == RBM_UNIT_GAUSSIAN;
        ref_rbm R = ref_random(cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk,
                               gg ? 0.2 : 0.5, 0.5, 600 + c);
        rbm_machine *m = ref_to_machine(ctx, &R);
        double *x = random_rows(rows, R.nv, R.vk, 650 + c);
        rbm_dataset *d = ds_from(ctx, x, rows, R.nv);
        long double lz = gg ? gg_log_z_formula(&R) : ref_log_z(&R), ll = 0, mf = 0;
        for (size_t r = 0; r < rows; r++) {
            ll += ref_log_pstar(&R, x + r * R.nv) - lz;
            mf += free_energy(&R, x + r * R.nv);
        }
        ll /= rows;
        mf /= rows;
        double got_ll = NAN, got_lz = NAN, got = NAN;
        char what[96];
        snprintf(what, sizeof what, "exact mean log-likelihood %s%s", kn(R.vk), kn(R.hk));
        RBM_OKAY(ctx, rbm_exact_log_likelihood(m, d, &got_ll, &got_lz));
        rbm_assert_close(got_ll, (double)ll, 1e-12, 1e-12, what);
        rbm_assert_close(got_lz, (double)lz, 1e-12, 1e-12, "log Z output");
        RBM_OKAY(ctx, rbm_exact_log_likelihood(m, d, &got, NULL));
        assert_true(got == got_ll);
        RBM_OKAY(ctx, rbm_mean_free_energy(m, d, &got));
        rbm_assert_close(got, (double)mf, 1e-12, 1e-12, "mean free energy");
        RBM_OKAY(ctx, rbm_log_likelihood(m, d, 1.75, &got));
        rbm_assert_close(got, (double)(-mf - 1.75L), 1e-12, 1e-12, "log-likelihood given log Z");
        rbm_dataset_free(d);
        free(x);
        rbm_machine_free(m);
        ref_free(&R);
    }
    rbm_context_free(ctx);
}

/* ====================================================================== */
/* AIS                                                                    */

static void run_ais(rbm_context *ctx, const rbm_machine *m, uint64_t seed, size_t runs,
                    size_t n_betas, const rbm_dataset *base, int reverse, double *lz, double *se)
{
    rbm_ais *ais = NULL;
    RBM_OKAY(ctx, rbm_ais_new(m, seed, &ais));
    if (runs)
        RBM_OKAY(ctx, rbm_ais_set_runs(ais, runs));
    if (n_betas)
        RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, n_betas));
    if (base)
        RBM_OKAY(ctx, rbm_ais_set_base_from_data(ais, base));
    RBM_OKAY(ctx, rbm_ais_run(ais, reverse, lz, se));
    rbm_ais_free(ais);
}

static void check_ais(double lz, double se, double exact, const char *what)
{
    double err = lz - exact;
    print_message("# %s: AIS %.6f exact %.6f error %+.5f stderr %.5f\n", what, lz, exact, err, se);
    if (!(isfinite(lz) && isfinite(se) && se >= 0))
        fail_msg("%s: AIS returned %g +- %g", what, lz, se);
    if (!(fabs(err) < 0.05))
        fail_msg("%s: |AIS - exact| = %.4g >= 0.05 nats", what, fabs(err));
    if (!(fabs(err) < 3 * se + 0.01))
        fail_msg("%s: |AIS - exact| = %.4g exceeds 3 stderr (%.4g) + 0.01", what, fabs(err), se);
}

/* docs/theory.md §8 item 10 / §9 item 17: N_v = 24, N_h = 10 Bernoulli,
 * W ~ N(0, 0.3^2), a, b ~ N(0, 0.5^2). */
static ref_rbm sanity_rbm(uint64_t seed)
{
    ref_rbm R = ref_alloc(24, 10, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI);
    r_seed(seed);
    for (size_t x = 0; x < 240; x++)
        R.W[x] = 0.3 * r_norm();
    for (size_t i = 0; i < 24; i++)
        R.a[i] = 0.5 * r_norm();
    for (size_t j = 0; j < 10; j++)
        R.b[j] = 0.5 * r_norm();
    return R;
}

static void test_ais_sanity_full_schedule(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = sanity_rbm(17);
    rbm_machine *m = ref_to_machine(ctx, &R);
    double exact = (double)ref_log_z_marg(&R, 1), lz_lib = NAN;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &lz_lib));
    rbm_assert_close(lz_lib, exact, 1e-12, 0, "exact log Z of the sanity machine");
    double lz, se;
    run_ais(ctx, m, 2024, 0, 0, NULL, 0, &lz, &se); /* defaults: 100 runs, 14,501 betas */
    check_ais(lz, se, exact, "sanity RBM 24x10, forward, uniform base, full schedule");

    /* the ais handle reports the uniform base log Z = (N_v + N_h) log 2 */
    rbm_ais *ais = NULL;
    RBM_OKAY(ctx, rbm_ais_new(m, 1, &ais));
    rbm_assert_close(rbm_ais_base_log_z(ais), 34 * log(2.0), 1e-14, 0, "uniform base log Z");
    rbm_ais_free(ais);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

/* Train an N_v = 24, N_h = 10 machine briefly on synthetic data. */
static rbm_machine *train_small(rbm_context *ctx, rbm_unit_kind vk, double sigma_v,
                                rbm_estimator_kind est, double lr, size_t epochs,
                                rbm_dataset **data_out)
{
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 400, 4, 3, 24, 0.6, vk, 91 + vk, &d));
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 24, 10, vk, RBM_UNIT_BERNOULLI, &m));
    if (vk == RBM_UNIT_GAUSSIAN)
        RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, sigma_v));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.05, 5 + vk));
    RBM_OKAY(ctx, rbm_machine_init_visible_bias_from_data(m, d));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, d, 40, 11 + vk, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, est, 1));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, lr));
    RBM_OKAY(ctx, rbm_trainer_set_int(t, RBM_TRAINER_MONITOR_EVERY, 0));
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, epochs));
    rbm_trainer_free(t);
    *data_out = d;
    return m;
}

static double max_abs(const double *x, size_t n)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(x[i]));
    return mx;
}

static void ais_trained(rbm_unit_kind vk, double sigma_v, rbm_estimator_kind est, double lr,
                        size_t epochs)
{
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    rbm_machine *m = train_small(ctx, vk, sigma_v, est, lr, epochs, &d);
    ref_rbm R = ref_from_machine(ctx, m);
    double exact = (double)ref_log_z_marg(&R, 1), lz_lib = NAN;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &lz_lib));
    rbm_assert_close(lz_lib, exact, 1e-12, 0, "exact log Z of the trained machine");
    double wmax = max_abs(R.W, R.nv * R.nh);
    print_message("# trained %s-visible machine: max|w| = %.3f, log Z = %.6f\n", kn(vk), wmax, exact);
    assert_true(wmax > 0.2); /* training moved the weights: the test is not W ~ 0 */

    double lz, se;
    char what[128];
    run_ais(ctx, m, 31 + vk, 0, 0, d, 0, &lz, &se);
    snprintf(what, sizeof what, "trained %s-visible 24x10, forward, data base, full schedule",
             kn(vk));
    check_ais(lz, se, exact, what);

    run_ais(ctx, m, 41 + vk, 0, 0, NULL, 0, &lz, &se);
    snprintf(what, sizeof what, "trained %s-visible 24x10, forward, uniform base, full schedule",
             kn(vk));
    check_ais(lz, se, exact, what);

    run_ais(ctx, m, 51 + vk, 0, 2000, d, 1, &lz, &se);
    snprintf(what, sizeof what, "trained %s-visible 24x10, reverse, data base, 2000 betas",
             kn(vk));
    check_ais(lz, se, exact, what);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    ref_free(&R);
    rbm_context_free(ctx);
}

static void test_ais_trained_bernoulli(void **state)
{
    (void)state;
    ais_trained(RBM_UNIT_BERNOULLI, 1.0, RBM_ESTIMATOR_PCD, 0.05, 15);
}

static void test_ais_trained_ising(void **state)
{
    (void)state;
    ais_trained(RBM_UNIT_ISING, 1.0, RBM_ESTIMATOR_EXACT, 0.03, 10);
}

static void test_ais_trained_gaussian_visible(void **state)
{
    (void)state;
    /* sigma_v = 0.5 (model variance below the data variance, so the
     * weights must grow); the trained couplings sigma_v^2 |w| stay < 0.5 */
    ais_trained(RBM_UNIT_GAUSSIAN, 0.5, RBM_ESTIMATOR_PCD, 0.2, 30);
}

/* Forward AIS is a stochastic lower bound of log Z, reverse AIS an upper
 * bound: on average over seeds they bracket the truth. */
static void test_ais_reverse_brackets(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = sanity_rbm(18);
    for (size_t x = 0; x < 240; x++)
        R.W[x] *= 2.0; /* stronger couplings: a visible bias on a short schedule */
    rbm_machine *m = ref_to_machine(ctx, &R);
    double exact = (double)ref_log_z_marg(&R, 1);

    /* 2000 betas: both directions accurate; the spread over seeds matches
     * the reported standard errors */
    enum { S = 6 };
    double f[S], r[S], sef[S], ser[S], mf = 0, mr = 0, msef = 0;
    for (int s = 0; s < S; s++) {
        run_ais(ctx, m, 1000 + s, 100, 2000, NULL, 0, &f[s], &sef[s]);
        run_ais(ctx, m, 2000 + s, 100, 2000, NULL, 1, &r[s], &ser[s]);
        mf += f[s] / S;
        mr += r[s] / S;
        msef += sef[s] / S;
        char what[64];
        snprintf(what, sizeof what, "forward AIS seed %d, 2000 betas", s);
        check_ais(f[s], sef[s], exact, what);
        snprintf(what, sizeof what, "reverse AIS seed %d, 2000 betas", s);
        check_ais(r[s], ser[s], exact, what);
    }
    double sd = 0;
    for (int s = 0; s < S; s++)
        sd += (f[s] - mf) * (f[s] - mf) / (S - 1);
    sd = sqrt(sd);
    print_message("# 2000 betas: mean forward %+.5f, mean reverse %+.5f (vs exact); "
                  "spread of forward %.5f, mean stderr %.5f\n",
                  mf - exact, mr - exact, sd, msef);
    assert_true(mr >= mf - 0.01);
    assert_true(sd < 3 * msef + 1e-4 && sd > msef / 3);

    /* A very short schedule (10 betas) and 2 runs per estimate: the
     * Jensen gaps are large, so the forward estimates must lie below log Z
     * and the reverse ones above it on average over many seeds. */
    enum { S2 = 200 };
    long double sf = 0, sf2 = 0, sr = 0, sr2 = 0;
    for (int s = 0; s < S2; s++) {
        double lz, se;
        run_ais(ctx, m, 5000 + s, 2, 10, NULL, 0, &lz, &se);
        sf += lz - exact;
        sf2 += (lz - exact) * (lz - exact);
        run_ais(ctx, m, 7000 + s, 2, 10, NULL, 1, &lz, &se);
        sr += lz - exact;
        sr2 += (lz - exact) * (lz - exact);
    }
    double ef = (double)(sf / S2), er = (double)(sr / S2);
    double uf = sqrt((double)(sf2 / S2) - ef * ef) / sqrt(S2 - 1.0);
    double ur = sqrt((double)(sr2 / S2) - er * er) / sqrt(S2 - 1.0);
    print_message("# 10 betas, 2 runs, %d seeds: mean forward %+.4f +- %.4f, mean reverse %+.4f "
                  "+- %.4f (vs exact)\n",
                  S2, ef, uf, er, ur);
    if (!(ef <= 2 * uf && er >= -2 * ur && er - ef > 3 * sqrt(uf * uf + ur * ur)))
        fail_msg("forward (%+.4f +- %.4f) and reverse (%+.4f +- %.4f) AIS do not bracket log Z",
                 ef, uf, er, ur);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

/* Two temperatures {0, 1} and one visible unit: a forward run draws v from
 * the base and its weight is w(v) = p*_1(v) / p*_0(v), one of two known
 * values; a reverse run draws v near the model and its weight is 1 / w(v).
 * The estimate is then log Z_A +- log of a mean of R values taken from
 * {w(lo), w(1)} (or their inverses): the count k of one value can be read
 * off the estimate, must be an integer, and fixes the standard error
 * std(w) / (sqrt(R) mean(w)) exactly (sample or population std). */
static void test_ais_two_betas_exact_weights(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const rbm_unit_kind vks[2] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING};
    static const rbm_unit_kind hks[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
    const size_t R_runs = 1000;
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 3; y++) {
            ref_rbm R = ref_alloc(1, 1, vks[x], hks[y]);
            R.W[0] = 0.9;
            R.a[0] = -0.4;
            R.b[0] = 0.3;
            R.sh = 1.2;
            rbm_machine *m = ref_to_machine(ctx, &R);
            /* uniform base: a_A = 0, log Z_A = Lambda_v(0) + Lambda_h(0) */
            long double lza = lam(R.vk, 1, 0) + lam(R.hk, R.sh, 0);
            long double w[2];
            for (int t = 0; t < 2; t++) {
                long double v = t ? 1.0L : low_value(R.vk);
                /* log p*_beta(v) = beta a v + Lambda_h(beta (b + w v)) */
                w[t] = expl(R.a[0] * v + lam(R.hk, R.sh, R.b[0] + R.W[0] * v) -
                            lam(R.hk, R.sh, 0));
            }
            for (int reverse = 0; reverse < 2; reverse++) {
                rbm_ais *ais = NULL;
                RBM_OKAY(ctx, rbm_ais_new(m, 400 + 10 * x + y, &ais));
                RBM_OKAY(ctx, rbm_ais_set_runs(ais, R_runs));
                RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 2));
                RBM_OKAY(ctx, rbm_ais_set_reverse_burn_in(ais, 20));
                rbm_assert_close(rbm_ais_base_log_z(ais), (double)lza, 1e-14, 1e-14,
                                 "uniform base log Z");
                double lz = NAN, se = NAN;
                RBM_OKAY(ctx, rbm_ais_run(ais, reverse, &lz, &se));
                rbm_ais_free(ais);
                long double u0 = reverse ? 1 / w[0] : w[0], u1 = reverse ? 1 / w[1] : w[1];
                long double mean = reverse ? expl(lza - lz) : expl(lz - lza);
                long double k = (mean - u0) / (u1 - u0) * R_runs; /* runs that drew v = 1 */
                long double kr = roundl(k);
                char what[128];
                snprintf(what, sizeof what, "%s%s %s, 2 betas: %.6Lf of %zu runs drew v = 1",
                         kn(R.vk), kn(R.hk), reverse ? "reverse" : "forward", k, R_runs);
                if (!(fabsl(k - kr) < 1e-6 && kr > 0 && kr < R_runs))
                    fail_msg("%s: not an integer in (0, R): the estimate %.17g is not "
                             "log Z_A %s log mean(w)",
                             what, lz, reverse ? "-" : "+");
                long double f = kr / R_runs, m1 = f * u1 + (1 - f) * u0;
                long double pop = sqrtl(f * (1 - f)) * fabsl(u1 - u0);
                long double se_pop = pop / sqrtl((long double)R_runs) / m1;
                long double se_smp = se_pop * sqrtl((long double)R_runs / (R_runs - 1));
                if (!(fabsl(se - se_pop) < 1e-9 * se_pop || fabsl(se - se_smp) < 1e-9 * se_smp))
                    fail_msg("%s: stderr %.12g, expected %.12Lg (population std) or %.12Lg "
                             "(sample std)",
                             what, se, se_pop, se_smp);
                if (reverse) { /* chains at equilibrium: k / R is near p(v = 1) */
                    long double l0 = R.a[0] * low_value(R.vk) +
                                     lam(R.hk, R.sh, R.b[0] + R.W[0] * low_value(R.vk));
                    long double l1 = R.a[0] + lam(R.hk, R.sh, R.b[0] + R.W[0]);
                    long double p1 = 1 / (1 + expl(l0 - l1));
                    long double sd = sqrtl(p1 * (1 - p1) / R_runs);
                    if (!(fabsl(f - p1) < 4 * sd))
                        fail_msg("%s: fraction %.4Lf, model probability %.4Lf", what, f, p1);
                }
            }
            rbm_machine_free(m);
            ref_free(&R);
        }
    rbm_context_free(ctx);
}

/* Gaussian hidden units (a Hopfield model on the visible layer, docs/theory.md
 * §1.6): the confinement is not annealed, only the couplings and biases. */
static void test_ais_gaussian_hidden(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const rbm_unit_kind vks[2] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING};
    for (int c = 0; c < 2; c++) {
        ref_rbm R = ref_random(16, 6, vks[c], RBM_UNIT_GAUSSIAN, 0.25, 0.4, 1500 + c);
        R.sh = 0.9;
        rbm_machine *m = ref_to_machine(ctx, &R);
        double exact = (double)ref_log_z_marg(&R, 0), lz_lib = NAN;
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz_lib));
        rbm_assert_close(lz_lib, exact, 1e-12, 0, "exact log Z, Gaussian hidden");
        double lz, se;
        char what[96];
        run_ais(ctx, m, 60 + c, 100, 4000, NULL, 0, &lz, &se);
        snprintf(what, sizeof what, "%s-visible Gaussian-hidden 16x6, forward, 4000 betas",
                 kn(vks[c]));
        check_ais(lz, se, exact, what);
        run_ais(ctx, m, 70 + c, 100, 2000, NULL, 1, &lz, &se);
        snprintf(what, sizeof what, "%s-visible Gaussian-hidden 16x6, reverse, 2000 betas",
                 kn(vks[c]));
        check_ais(lz, se, exact, what);
        rbm_machine_free(m);
        ref_free(&R);
    }
    rbm_context_free(ctx);
}

/* Same seed, same result; AIS arithmetic is float64 whatever the machine's
 * kernel precision (metrics.h). */
static void test_ais_reproducible(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = sanity_rbm(19);
    rbm_machine *m = ref_to_machine(ctx, &R);
    for (int reverse = 0; reverse < 2; reverse++) {
        double l1, s1, l2, s2, l3, s3, l4, s4;
        run_ais(ctx, m, 77, 20, 500, NULL, reverse, &l1, &s1);
        run_ais(ctx, m, 77, 20, 500, NULL, reverse, &l2, &s2);
        run_ais(ctx, m, 78, 20, 500, NULL, reverse, &l3, &s3);
        assert_true(l1 == l2 && s1 == s2);
        assert_true(l1 != l3);
        RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
        run_ais(ctx, m, 77, 20, 500, NULL, reverse, &l4, &s4);
        RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT64));
        if (!(l4 == l1 && s4 == s1))
            fail_msg("AIS (%s) on a float32 machine: %.17g +- %.3g, float64: %.17g +- %.3g",
                     reverse ? "reverse" : "forward", l4, s4, l1, s1);
    }
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

/* W = 0, b = 0 and the visible biases equal to the base biases computed from
 * the data as metrics.h documents: every importance weight is 1. */
static void test_ais_exact_when_base_is_target(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 8, nh = 5, rows = 40;
    static const rbm_unit_kind vks[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
    for (int c = 0; c < 3; c++) {
        rbm_unit_kind vk = vks[c];
        double *x = random_rows(rows, nv, vk, 700 + c);
        if (vk != RBM_UNIT_GAUSSIAN)
            for (size_t r = 0; r < rows; r++) {
                x[r * nv + 0] = 1.0;           /* mean 1: clipped */
                x[r * nv + 1] = low_value(vk); /* mean 0 / -1: clipped */
                x[r * nv + 2] = r == 0 ? 1.0 : low_value(vk);
            }
        rbm_dataset *d = ds_from(ctx, x, rows, nv);
        ref_rbm R = ref_alloc(nv, nh, vk, RBM_UNIT_BERNOULLI);
        R.sv = 0.8;
        long double exact = 0;
        for (size_t i = 0; i < nv; i++) {
            long double mean = 0;
            for (size_t r = 0; r < rows; r++)
                mean += x[r * nv + i];
            mean /= rows;
            long double ai;
            if (vk == RBM_UNIT_BERNOULLI) {
                long double p = fminl(fmaxl(mean, 1e-3L), 1 - 1e-3L);
                ai = logl(p / (1 - p));
            } else if (vk == RBM_UNIT_ISING) {
                long double p = fminl(fmaxl((1 + mean) / 2, 1e-3L), 1 - 1e-3L);
                ai = 0.5L * logl(p / (1 - p)); /* atanh(2p - 1) */
            } else {
                ai = mean / ((long double)R.sv * R.sv);
            }
            R.a[i] = (double)ai;
            exact += lam(vk, R.sv, R.a[i]);
        }
        exact += nh * logl(2.0L);
        rbm_machine *m = ref_to_machine(ctx, &R);
        double lz_lib = NAN;
        RBM_OKAY(ctx, rbm_exact_log_z(m, &lz_lib));
        rbm_assert_close(lz_lib, (double)exact, 1e-13, 1e-13, "exact log Z with W = 0");

        rbm_ais *ais = NULL;
        RBM_OKAY(ctx, rbm_ais_new(m, 99, &ais));
        RBM_OKAY(ctx, rbm_ais_set_base_from_data(ais, d));
        rbm_assert_close(rbm_ais_base_log_z(ais), (double)exact, 1e-12, 1e-12,
                         "base log Z from data");
        double lz = NAN, se = NAN;
        RBM_OKAY(ctx, rbm_ais_run(ais, 0, &lz, &se)); /* full default schedule */
        print_message("# W = 0, %s visible: |AIS - exact| = %.3g, stderr %.3g\n", kn(vk),
                      fabs(lz - (double)exact), se);
        if (!(fabs(lz - (double)exact) < 1e-10 && se < 1e-10))
            fail_msg("%s: forward AIS %.17g +- %.3g, exact %.17g", kn(vk), lz, se, (double)exact);
        RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 300));
        RBM_OKAY(ctx, rbm_ais_run(ais, 1, &lz, &se));
        if (!(fabs(lz - (double)exact) < 1e-10 && se < 1e-10))
            fail_msg("%s: reverse AIS %.17g +- %.3g, exact %.17g", kn(vk), lz, se, (double)exact);
        /* back to the uniform base: no longer exact for this target */
        RBM_OKAY(ctx, rbm_ais_set_base_from_data(ais, NULL));
        double ub = (vk == RBM_UNIT_GAUSSIAN ? nv * (double)lam(vk, R.sv, 0) : nv * log(2.0)) +
                    nh * log(2.0);
        rbm_assert_close(rbm_ais_base_log_z(ais), ub, 1e-13, 1e-13, "uniform base log Z");
        rbm_ais_free(ais);
        rbm_machine_free(m);
        ref_free(&R);
        rbm_dataset_free(d);
        free(x);
    }
    rbm_context_free(ctx);
}

typedef struct {
    int calls, cancel_at, bad;
    double first, last;
} progress_rec;

static int progress_cb(void *user, double frac)
{
    progress_rec *p = user;
    if (p->calls == 0)
        p->first = frac;
    else if (frac < p->last)
        p->bad = 1;
    if (!(frac >= 0 && frac <= 1))
        p->bad = 1;
    p->last = frac;
    p->calls++;
    return p->cancel_at && p->calls >= p->cancel_at;
}

static void test_ais_progress(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = ref_random(6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 0.3, 0.3, 800);
    rbm_machine *m = ref_to_machine(ctx, &R);
    rbm_ais *ais = NULL;
    RBM_OKAY(ctx, rbm_ais_new(m, 5, &ais));
    RBM_OKAY(ctx, rbm_ais_set_runs(ais, 10));
    RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 1001));
    RBM_OKAY(ctx, rbm_ais_set_reverse_burn_in(ais, 200));
    for (int reverse = 0; reverse < 2; reverse++) {
        progress_rec p = {0};
        RBM_OKAY(ctx, rbm_ais_set_progress(ais, progress_cb, &p));
        double lz;
        RBM_OKAY(ctx, rbm_ais_run(ais, reverse, &lz, NULL));
        if (p.calls < 20 || p.calls > 2000 || p.bad || p.last != 1.0)
            fail_msg("progress (%s): %d calls, first %g last %g, bad %d",
                     reverse ? "reverse" : "forward", p.calls, p.first, p.last, p.bad);
        /* cancel */
        progress_rec q = {0};
        q.cancel_at = 3;
        RBM_OKAY(ctx, rbm_ais_set_progress(ais, progress_cb, &q));
        assert_int_equal(rbm_ais_run(ais, reverse, &lz, NULL), RBM_STOPPED);
        assert_int_equal(q.calls, 3);
        assert_true(q.last < 1.0);
        /* removed callback: not called; the handle still works */
        RBM_OKAY(ctx, rbm_ais_set_progress(ais, NULL, NULL));
        double se = NAN;
        RBM_OKAY(ctx, rbm_ais_run(ais, reverse, &lz, &se));
        assert_int_equal(q.calls, 3);
        rbm_assert_close(lz, (double)ref_log_z(&R), 0, 0.05, "AIS after a cancelled run");
    }
    /* outputs may be NULL */
    RBM_OKAY(ctx, rbm_ais_run(ais, 0, NULL, NULL));
    rbm_ais_free(ais);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

static void test_ais_schedule(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = ref_random(8, 5, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 0.3, 0.3, 900);
    rbm_machine *m = ref_to_machine(ctx, &R);
    rbm_ais *ais = NULL;
    RBM_OKAY(ctx, rbm_ais_new(m, 5, &ais));
    static const double not_increasing[] = {0, 0.5, 0.4, 1};
    static const double repeated[] = {0, 0.5, 0.5, 1};
    static const double bad_start[] = {0.1, 0.5, 1};
    static const double bad_end[] = {0, 0.5, 0.9};
    static const double beyond_end[] = {0, 0.5, 1.2};
    static const double negative[] = {-0.1, 0, 1};
    const double with_nan[] = {0, NAN, 1};
    static const double one[] = {0};
    expect_error(ctx, rbm_ais_set_schedule(ais, not_increasing, 4), RBM_ERR_INVALID_ARGUMENT,
                 "decreasing schedule");
    expect_error(ctx, rbm_ais_set_schedule(ais, repeated, 4), RBM_ERR_INVALID_ARGUMENT,
                 "repeated beta");
    expect_error(ctx, rbm_ais_set_schedule(ais, bad_start, 3), RBM_ERR_INVALID_ARGUMENT,
                 "schedule not starting at 0");
    expect_error(ctx, rbm_ais_set_schedule(ais, bad_end, 3), RBM_ERR_INVALID_ARGUMENT,
                 "schedule not ending at 1");
    expect_error(ctx, rbm_ais_set_schedule(ais, beyond_end, 3), RBM_ERR_INVALID_ARGUMENT,
                 "schedule ending above 1");
    expect_error(ctx, rbm_ais_set_schedule(ais, negative, 3), RBM_ERR_INVALID_ARGUMENT,
                 "negative beta");
    expect_error(ctx, rbm_ais_set_schedule(ais, with_nan, 3), RBM_ERR_INVALID_ARGUMENT,
                 "NaN beta");
    expect_error(ctx, rbm_ais_set_schedule(ais, one, 1), RBM_ERR_INVALID_ARGUMENT, "n = 1");
    expect_error(ctx, rbm_ais_set_schedule(ais, one, 0), RBM_ERR_INVALID_ARGUMENT, "n = 0");
    expect_error(ctx, rbm_ais_set_schedule(ais, NULL, 3), RBM_ERR_NULL, "NULL schedule");
    expect_error(ctx, rbm_ais_set_uniform_schedule(ais, 1), RBM_ERR_INVALID_ARGUMENT,
                 "uniform n = 1");
    expect_error(ctx, rbm_ais_set_uniform_schedule(ais, 0), RBM_ERR_INVALID_ARGUMENT,
                 "uniform n = 0");
    expect_error(ctx, rbm_ais_set_runs(ais, 1), RBM_ERR_INVALID_ARGUMENT, "1 run");

    /* a valid non-uniform schedule (quadratic in the index, 3000 betas) and
     * the minimum of 2 runs and 2 betas */
    double lz, se, exact = (double)ref_log_z(&R);
    size_t n = 3000;
    double *betas = xzalloc(n * sizeof(double));
    for (size_t k = 0; k < n; k++)
        betas[k] = ((double)k / (double)(n - 1)) * ((double)k / (double)(n - 1));
    RBM_OKAY(ctx, rbm_ais_set_schedule(ais, betas, n));
    free(betas);
    RBM_OKAY(ctx, rbm_ais_set_runs(ais, 200));
    RBM_OKAY(ctx, rbm_ais_run(ais, 0, &lz, &se));
    check_ais(lz, se, exact, "Ising 8x5, quadratic schedule");
    static const double two[] = {0, 1};
    RBM_OKAY(ctx, rbm_ais_set_schedule(ais, two, 2));
    RBM_OKAY(ctx, rbm_ais_set_runs(ais, 2));
    RBM_OKAY(ctx, rbm_ais_run(ais, 0, &lz, &se));
    assert_true(isfinite(lz) && isfinite(se));

    /* a failed resize keeps the previous configuration usable */
    RBM_OKAY(ctx, rbm_ais_set_runs(ais, 50));
    RBM_OKAY(ctx, rbm_ais_set_uniform_schedule(ais, 500));
    rbm_status st = rbm_ais_set_runs(ais, (size_t)INT32_MAX); /* ~ 100 GB of states */
    if (st == RBM_OK) {
        RBM_OKAY(ctx, rbm_ais_set_runs(ais, 50)); /* overcommitting system: nothing to test */
    } else {
        assert_int_equal(st, RBM_ERR_NO_MEMORY);
        assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    }
    RBM_OKAY(ctx, rbm_ais_run(ais, 0, &lz, &se));
    check_ais(lz, se, exact, "Ising 8x5 after a failed resize");
    rbm_ais_free(ais);

    /* other argument errors */
    assert_int_equal(rbm_ais_new(NULL, 1, &ais), RBM_ERR_NULL);
    expect_error(ctx, rbm_ais_new(m, 1, NULL), RBM_ERR_NULL, "rbm_ais_new out NULL");
    assert_int_equal(rbm_ais_run(NULL, 0, &lz, &se), RBM_ERR_NULL);
    assert_int_equal(rbm_ais_set_runs(NULL, 10), RBM_ERR_NULL);
    assert_int_equal(rbm_ais_set_uniform_schedule(NULL, 10), RBM_ERR_NULL);
    assert_true(isnan(rbm_ais_base_log_z(NULL)));
    rbm_ais_free(NULL);
    RBM_OKAY(ctx, rbm_ais_new(m, 1, &ais));
    double *x = random_rows(10, 7, RBM_UNIT_ISING, 5);
    rbm_dataset *d = ds_from(ctx, x, 10, 7);
    expect_error(ctx, rbm_ais_set_base_from_data(ais, d), RBM_ERR_SHAPE, "base data shape");
    rbm_dataset_free(d);
    free(x);
    rbm_ais_free(ais);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

/* ====================================================================== */
/* pseudo-likelihood                                                      */

static long double ref_pll(const ref_rbm *R, const double *rows, size_t n_rows)
{
    double v[64];
    long double acc = 0;
    for (size_t r = 0; r < n_rows; r++) {
        memcpy(v, rows + r * R->nv, R->nv * sizeof(double));
        long double f = free_energy(R, v);
        for (size_t i = 0; i < R->nv; i++) {
            double keep = v[i];
            v[i] = keep == 1.0 ? low_value(R->vk) : 1.0;
            long double f2 = free_energy(R, v);
            v[i] = keep;
            /* log p(v_i | v_-i) = -F(v) - log(exp(-F(v)) + exp(-F(v'))) */
            long double mx = fmaxl(-f, -f2);
            acc += -f - (mx + logl(expl(-f - mx) + expl(-f2 - mx)));
        }
    }
    return acc / n_rows;
}

static void test_pseudo_likelihood(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const shape_case cases[] = {
        {9, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI}, {9, 5, RBM_UNIT_ISING, RBM_UNIT_ISING},
        {7, 6, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING},     {6, 8, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI},
        {8, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},  {5, 3, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN},
        {30, 12, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI},
        {10, 6, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI}, /* strong couplings (below) */
        {10, 6, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING},
        /* many hidden units with couplings of std 40: the fast path's products
         * are renormalised every few factors, and N_h % 4 != 0 */
        {12, 301, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING},
        {12, 258, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI},
        /* couplings beyond the fast path's e^350 bound: the direct path */
        {10, 7, RBM_UNIT_ISING, RBM_UNIT_ISING},
    };
    const size_t rows = 37;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double wstd = c >= 11 ? 150.0 : c >= 9 ? 40.0 : c >= 7 ? 6.0 : 0.6;
        ref_rbm R = ref_random(cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk, wstd, 0.5,
                               1000 + c);
        rbm_machine *m = ref_to_machine(ctx, &R);
        double *x = random_rows(rows, R.nv, R.vk, 1050 + c);
        rbm_dataset *d = ds_from(ctx, x, rows, R.nv);
        long double ref = ref_pll(&R, x, rows);
        double p1 = NAN, p2 = NAN;
        RBM_OKAY(ctx, rbm_context_set_threads(ctx, 1));
        RBM_OKAY(ctx, rbm_pseudo_log_likelihood(m, d, &p1));
        RBM_OKAY(ctx, rbm_context_set_threads(ctx, 2));
        RBM_OKAY(ctx, rbm_pseudo_log_likelihood(m, d, &p2));
        char what[96];
        snprintf(what, sizeof what, "pseudo-log-likelihood %s%s %zux%zu", kn(R.vk), kn(R.hk),
                 R.nv, R.nh);
        rbm_assert_close(p1, (double)ref, 1e-12, 1e-13, what);
        rbm_assert_close(p2, p1, 1e-13, 1e-14, "pseudo-likelihood, 2 threads vs 1");
        assert_true(p1 < 0);
        { /* a single row, 2 threads requested */
            rbm_dataset *d1 = NULL;
            RBM_OKAY(ctx, rbm_dataset_slice(d, 5, 1, &d1));
            RBM_OKAY(ctx, rbm_pseudo_log_likelihood(m, d1, &p2));
            rbm_assert_close(p2, (double)ref_pll(&R, x + 5 * R.nv, 1), 1e-12, 1e-13,
                             "pseudo-likelihood of one row");
            rbm_dataset_free(d1);
        }
        if (R.vk == RBM_UNIT_BERNOULLI) { /* the same data as uint8 */
            uint8_t *u = xzalloc(rows * R.nv);
            for (size_t t = 0; t < rows * R.nv; t++)
                u[t] = (uint8_t)x[t];
            rbm_dataset *du = NULL;
            RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, u, RBM_DTYPE_UINT8, rows, R.nv, RBM_COPY,
                                                  &du));
            RBM_OKAY(ctx, rbm_pseudo_log_likelihood(m, du, &p2));
            rbm_assert_close(p2, p1, 1e-13, 1e-14, "pseudo-likelihood of uint8 data");
            rbm_dataset_free(du);
            free(u);
        }
        rbm_dataset_free(d);
        free(x);
        rbm_machine_free(m);
        ref_free(&R);
    }
    RBM_OKAY(ctx, rbm_context_set_threads(ctx, 0));
    rbm_context_free(ctx);
}

static void test_pseudo_likelihood_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double p;
    /* Gaussian visible */
    ref_rbm G = ref_random(4, 3, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, 0.3, 0.3, 1100);
    rbm_machine *mg = ref_to_machine(ctx, &G);
    double *xg = random_rows(5, 4, RBM_UNIT_GAUSSIAN, 1);
    rbm_dataset *dg = ds_from(ctx, xg, 5, 4);
    expect_error(ctx, rbm_pseudo_log_likelihood(mg, dg, &p), RBM_ERR_UNSUPPORTED,
                 "pseudo-likelihood with Gaussian visible units");
    /* Bernoulli machine, fractional value */
    ref_rbm B = ref_random(4, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 0.3, 0.3, 1101);
    rbm_machine *mb = ref_to_machine(ctx, &B);
    double *xb = random_rows(5, 4, RBM_UNIT_BERNOULLI, 2);
    xb[3 * 4 + 2] = 0.5;
    rbm_dataset *db = ds_from(ctx, xb, 5, 4);
    expect_error(ctx, rbm_pseudo_log_likelihood(mb, db, &p), RBM_ERR_OUT_OF_RANGE,
                 "Bernoulli data 0.5");
    xb[3 * 4 + 2] = -1.0;
    rbm_dataset *db2 = ds_from(ctx, xb, 5, 4);
    rbm_context_clear_error(ctx);
    assert_int_equal(rbm_pseudo_log_likelihood(mb, db2, &p), RBM_ERR_OUT_OF_RANGE);
    const char *detail = rbm_context_last_error(ctx);
    if (!strstr(detail, "row") || !strstr(detail, "column"))
        fail_msg("out-of-range detail should give row and column: \"%s\"", detail);
    /* Ising machine, {0,1} data */
    ref_rbm I = ref_random(4, 3, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 0.3, 0.3, 1102);
    rbm_machine *mi = ref_to_machine(ctx, &I);
    double *xi = random_rows(5, 4, RBM_UNIT_BERNOULLI, 3);
    xi[0] = 1.0;
    xi[1] = 0.0;
    rbm_dataset *di = ds_from(ctx, xi, 5, 4);
    expect_error(ctx, rbm_pseudo_log_likelihood(mi, di, &p), RBM_ERR_OUT_OF_RANGE,
                 "Ising machine with {0,1} data");
    /* shape, NULL */
    double *x5 = random_rows(5, 5, RBM_UNIT_BERNOULLI, 4);
    rbm_dataset *d5 = ds_from(ctx, x5, 5, 5);
    expect_error(ctx, rbm_pseudo_log_likelihood(mb, d5, &p), RBM_ERR_SHAPE, "PLL shape");
    expect_error(ctx, rbm_pseudo_log_likelihood(mb, NULL, &p), RBM_ERR_NULL, "PLL NULL data");
    expect_error(ctx, rbm_pseudo_log_likelihood(mb, db2, NULL), RBM_ERR_NULL, "PLL NULL output");
    assert_int_equal(rbm_pseudo_log_likelihood(NULL, db2, &p), RBM_ERR_NULL);
    rbm_dataset_free(d5);
    rbm_dataset_free(di);
    rbm_dataset_free(db2);
    rbm_dataset_free(db);
    rbm_dataset_free(dg);
    free(x5);
    free(xi);
    free(xb);
    free(xg);
    rbm_machine_free(mi);
    rbm_machine_free(mb);
    rbm_machine_free(mg);
    ref_free(&I);
    ref_free(&B);
    ref_free(&G);
    rbm_context_free(ctx);
}

/* ====================================================================== */
/* reconstruction error and free-energy gap                              */

static void test_reconstruction_error(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const shape_case cases[] = {
        {7, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI}, {7, 4, RBM_UNIT_ISING, RBM_UNIT_ISING},
        {6, 5, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI},  {5, 6, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},
        {4, 3, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING},      {3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN},
    };
    const size_t rows = 300; /* more than one internal block of rows */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ref_rbm R = ref_random(cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk, 0.3, 0.5,
                               1200 + c);
        rbm_machine *m = ref_to_machine(ctx, &R);
        double *x = random_rows(rows, R.nv, R.vk, 1250 + c);
        rbm_dataset *d = ds_from(ctx, x, rows, R.nv);
        long double acc = 0, hm[16];
        for (size_t r = 0; r < rows; r++) {
            const double *v = x + r * R.nv;
            for (size_t j = 0; j < R.nh; j++) {
                long double f = R.b[j];
                for (size_t i = 0; i < R.nv; i++)
                    f += (long double)v[i] * R.W[i * R.nh + j];
                hm[j] = unit_mean(R.hk, R.sh, f);
            }
            for (size_t i = 0; i < R.nv; i++) {
                long double f = R.a[i];
                for (size_t j = 0; j < R.nh; j++)
                    f += (long double)R.W[i * R.nh + j] * hm[j];
                long double e = v[i] - unit_mean(R.vk, R.sv, f);
                acc += e * e;
            }
        }
        acc /= (long double)(rows * R.nv);
        double got = NAN;
        RBM_OKAY(ctx, rbm_reconstruction_error(m, d, &got));
        char what[96];
        snprintf(what, sizeof what, "reconstruction error %s%s", kn(R.vk), kn(R.hk));
        rbm_assert_close(got, (double)acc, 1e-12, 1e-15, what);
        rbm_dataset_free(d);
        free(x);
        rbm_machine_free(m);
        ref_free(&R);
    }
    rbm_context_free(ctx);
}

static void test_free_energy_gap(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static const shape_case cases[] = {
        {7, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI}, {7, 4, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI},
        {6, 5, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING},      {5, 6, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},
        {3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ref_rbm R = ref_random(cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk, 0.3, 0.5,
                               1300 + c);
        rbm_machine *m = ref_to_machine(ctx, &R);
        size_t nt = 30, nho = 17;
        double *xt = random_rows(nt, R.nv, R.vk, 1350 + c);
        double *xh = random_rows(nho, R.nv, R.vk, 1380 + c);
        rbm_dataset *dt = ds_from(ctx, xt, nt, R.nv), *dh = ds_from(ctx, xh, nho, R.nv);
        long double ft = 0, fh = 0;
        for (size_t r = 0; r < nt; r++)
            ft += free_energy(&R, xt + r * R.nv);
        for (size_t r = 0; r < nho; r++)
            fh += free_energy(&R, xh + r * R.nv);
        long double gap = fh / nho - ft / nt;
        double got = NAN;
        RBM_OKAY(ctx, rbm_free_energy_gap(m, dt, dh, &got));
        char what[96];
        snprintf(what, sizeof what, "free-energy gap %s%s", kn(R.vk), kn(R.hk));
        rbm_assert_close(got, (double)gap, 1e-12,
                         1e-13 * (double)(fabsl(ft / nt) + fabsl(fh / nho)), what);
        /* swapping the roles changes the sign */
        double back = NAN;
        RBM_OKAY(ctx, rbm_free_energy_gap(m, dh, dt, &back));
        rbm_assert_close(back, -got, 1e-13, 1e-13, "gap with the roles swapped");
        /* the same training set as held-out: zero */
        RBM_OKAY(ctx, rbm_free_energy_gap(m, dt, dt, &back));
        assert_true(back == 0.0);
        rbm_dataset_free(dt);
        rbm_dataset_free(dh);
        free(xt);
        free(xh);
        rbm_machine_free(m);
        ref_free(&R);
    }
    rbm_context_free(ctx);
}

/* ====================================================================== */
/* argument errors                                                        */

static void test_argument_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    ref_rbm R = ref_random(5, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 0.3, 0.3, 1400);
    rbm_machine *m = ref_to_machine(ctx, &R);
    double *x = random_rows(6, 5, RBM_UNIT_BERNOULLI, 1), *y = random_rows(6, 4, RBM_UNIT_BERNOULLI, 2);
    rbm_dataset *d = ds_from(ctx, x, 6, 5), *bad = ds_from(ctx, y, 6, 4);
    double out, lz;

    /* NULL machine: no context to report into */
    assert_int_equal(rbm_mean_free_energy(NULL, d, &out), RBM_ERR_NULL);
    assert_int_equal(rbm_log_likelihood(NULL, d, 1.0, &out), RBM_ERR_NULL);
    assert_int_equal(rbm_exact_log_likelihood(NULL, d, &out, &lz), RBM_ERR_NULL);
    assert_int_equal(rbm_reconstruction_error(NULL, d, &out), RBM_ERR_NULL);
    assert_int_equal(rbm_free_energy_gap(NULL, d, d, &out), RBM_ERR_NULL);

    /* NULL dataset / output */
    expect_error(ctx, rbm_mean_free_energy(m, NULL, &out), RBM_ERR_NULL, "mean F, NULL data");
    expect_error(ctx, rbm_mean_free_energy(m, d, NULL), RBM_ERR_NULL, "mean F, NULL output");
    expect_error(ctx, rbm_log_likelihood(m, NULL, 1.0, &out), RBM_ERR_NULL, "LL, NULL data");
    expect_error(ctx, rbm_exact_log_likelihood(m, NULL, &out, &lz), RBM_ERR_NULL,
                 "exact LL, NULL data");
    expect_error(ctx, rbm_exact_log_likelihood(m, d, NULL, &lz), RBM_ERR_NULL,
                 "exact LL, NULL output");
    expect_error(ctx, rbm_reconstruction_error(m, NULL, &out), RBM_ERR_NULL,
                 "reconstruction, NULL data");
    expect_error(ctx, rbm_reconstruction_error(m, d, NULL), RBM_ERR_NULL,
                 "reconstruction, NULL output");
    expect_error(ctx, rbm_free_energy_gap(m, NULL, d, &out), RBM_ERR_NULL, "gap, NULL train");
    expect_error(ctx, rbm_free_energy_gap(m, d, NULL, &out), RBM_ERR_NULL, "gap, NULL held-out");
    expect_error(ctx, rbm_free_energy_gap(m, d, d, NULL), RBM_ERR_NULL, "gap, NULL output");

    /* shapes */
    expect_error(ctx, rbm_mean_free_energy(m, bad, &out), RBM_ERR_SHAPE, "mean F shape");
    expect_error(ctx, rbm_log_likelihood(m, bad, 1.0, &out), RBM_ERR_SHAPE, "LL shape");
    expect_error(ctx, rbm_exact_log_likelihood(m, bad, &out, &lz), RBM_ERR_SHAPE,
                 "exact LL shape");
    expect_error(ctx, rbm_reconstruction_error(m, bad, &out), RBM_ERR_SHAPE,
                 "reconstruction shape");
    expect_error(ctx, rbm_free_energy_gap(m, bad, d, &out), RBM_ERR_SHAPE, "gap train shape");
    expect_error(ctx, rbm_free_energy_gap(m, d, bad, &out), RBM_ERR_SHAPE, "gap held-out shape");

    /* a non-finite log Z cannot give a log-likelihood */
    rbm_context_clear_error(ctx);
    assert_int_not_equal(rbm_log_likelihood(m, d, NAN, &out), RBM_OK);
    assert_int_not_equal(rbm_log_likelihood(m, d, INFINITY, &out), RBM_OK);

    /* exact log-likelihood of a machine too large to enumerate */
    rbm_machine *big = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 5, 40, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, &big));
    double *g = random_rows(6, 5, RBM_UNIT_GAUSSIAN, 3);
    rbm_dataset *dg = ds_from(ctx, g, 6, 5);
    expect_error(ctx, rbm_exact_log_likelihood(big, dg, &out, &lz), RBM_ERR_UNSUPPORTED,
                 "exact LL, nothing to enumerate");
    rbm_dataset_free(dg);
    free(g);
    rbm_machine_free(big);

    rbm_dataset_free(d);
    rbm_dataset_free(bad);
    free(x);
    free(y);
    rbm_machine_free(m);
    ref_free(&R);
    rbm_context_free(ctx);
}

/* A free energy that overflows (Gaussian visible data beyond ~1e154, where
 * v^2 / (2 sigma^2) is +inf) must not come back as a successful +inf:
 * metrics.h lists RBM_ERR_NOT_FINITE for rbm_mean_free_energy, and the
 * quantities built on it must not report success with a non-finite value. */
static void test_non_finite_results(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 2, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, &m));
    const double x[4] = {1e200, 0.0, 1.0, 2.0};
    rbm_dataset *d = ds_from(ctx, x, 2, 2);
    double out = 0;
    rbm_context_clear_error(ctx);
    rbm_status st = rbm_mean_free_energy(m, d, &out);
    if (st != RBM_ERR_NOT_FINITE)
        fail_msg("rbm_mean_free_energy with an overflowing free energy: %s, value %g "
                 "(expected RBM_ERR_NOT_FINITE)",
                 rbm_status_name(st), out);
    out = 0;
    st = rbm_log_likelihood(m, d, 1.0, &out);
    if (st == RBM_OK && !isfinite(out))
        fail_msg("rbm_log_likelihood: RBM_OK with %g", out);
    out = 0;
    st = rbm_exact_log_likelihood(m, d, &out, NULL);
    if (st == RBM_OK && !isfinite(out))
        fail_msg("rbm_exact_log_likelihood: RBM_OK with %g", out);
    out = 0;
    st = rbm_free_energy_gap(m, d, d, &out);
    if (st == RBM_OK && !isfinite(out))
        fail_msg("rbm_free_energy_gap: RBM_OK with %g", out);
    rbm_dataset_free(d);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_z_discrete),
        cmocka_unit_test(test_log_z_gaussian_layer),
        cmocka_unit_test(test_log_z_threads),
        cmocka_unit_test(test_log_z_2p20),
        cmocka_unit_test(test_log_z_unsupported),
        cmocka_unit_test(test_gauss_gauss_item5),
        cmocka_unit_test(test_gauss_gauss_3x2),
        cmocka_unit_test(test_convert_shift),
        cmocka_unit_test(test_exact_log_likelihood),
        cmocka_unit_test(test_ais_sanity_full_schedule),
        cmocka_unit_test(test_ais_trained_bernoulli),
        cmocka_unit_test(test_ais_trained_ising),
        cmocka_unit_test(test_ais_trained_gaussian_visible),
        cmocka_unit_test(test_ais_reverse_brackets),
        cmocka_unit_test(test_ais_two_betas_exact_weights),
        cmocka_unit_test(test_ais_gaussian_hidden),
        cmocka_unit_test(test_ais_reproducible),
        cmocka_unit_test(test_ais_exact_when_base_is_target),
        cmocka_unit_test(test_ais_progress),
        cmocka_unit_test(test_ais_schedule),
        cmocka_unit_test(test_pseudo_likelihood),
        cmocka_unit_test(test_pseudo_likelihood_errors),
        cmocka_unit_test(test_reconstruction_error),
        cmocka_unit_test(test_free_energy_gap),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_non_finite_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
