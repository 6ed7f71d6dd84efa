/* White-box tests of the blocked exact log Z (model/enumerate_block.c):
 * on random machines of every unit pair with a discrete layer, enumerating
 * either layer, rbm__enum_log_z agrees with the Gray-code enumeration
 * (rbm__enum_log_z_gray) and with a long-double enumeration written here
 * within the error bound of docs/likelihoods.md ("Exact log Z"), and gives
 * the same bits with 1, 2 and 3 threads. The machines cover one high state
 * or many (task counts above one group), couplings strong enough that fewer
 * low bits are taken, fields beyond the clamp of the factors, and the
 * overflow edge of the products. */
#include "testutil.h"

#include "model/enumerate.h" /* white-box: rbm__enum_log_z, rbm__enum_log_z_gray */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mcase {
    size_t nv, nh;
    rbm_unit_kind vk, hk;
    double wstd, bstd, sigma;
} mcase;

static const char *kn(rbm_unit_kind k)
{
    return k == RBM_UNIT_ISING ? "I" : k == RBM_UNIT_GAUSSIAN ? "G" : "B";
}

static long double lam(rbm_unit_kind k, double sigma, long double x)
{
    long double a = fabsl(x);
    switch (k) {
    case RBM_UNIT_ISING: return a + log1pl(expl(-2 * a));
    case RBM_UNIT_GAUSSIAN:
        return 0.5L * sigma * sigma * x * x + 0.5L * logl(2 * 3.14159265358979323846264338L) +
               logl((long double)sigma);
    default: return (x > 0 ? x : 0) + log1pl(expl(-a));
    }
}

typedef struct view {
    size_t n, o;
    rbm_unit_kind ek, ok;
    double osig;
    const double *W, *eb, *ob;
    int hid;
} view;

static double coupling(const view *V, size_t u, size_t q)
{
    return V->hid ? V->W[q * V->n + u] : V->W[u * V->o + q];
}

/* long-double log Z by enumerating the layer of V */
static long double ref_log_z(const view *V)
{
    long double M = -INFINITY, S = 0;
    double lo = V->ek == RBM_UNIT_ISING ? -1.0 : 0.0;
    for (uint64_t t = 0; t < ((uint64_t)1 << V->n); t++) {
        long double lw = 0;
        for (size_t u = 0; u < V->n; u++)
            lw += (long double)V->eb[u] * ((t >> u) & 1 ? 1.0 : lo);
        for (size_t q = 0; q < V->o; q++) {
            long double z = V->ob[q];
            for (size_t u = 0; u < V->n; u++)
                z += (long double)coupling(V, u, q) * ((t >> u) & 1 ? 1.0 : lo);
            lw += lam(V->ok, V->osig, z);
        }
        if (lw > M) {
            S = S * expl(M - lw) + 1;
            M = lw;
        } else {
            S += expl(lw - M);
        }
    }
    return M + logl(S);
}

/* The bound of docs/likelihoods.md: u [(o + n + 16)(sum |e| + k sum zeta)
 * + 16 o + 6000], zeta_q = |d_q| + sum_u |c_uq|, k = 1 (Bernoulli), 3
 * (Ising); Gaussian: sigma^2 sum zeta^2 in place of k sum zeta. */
static double bound(const view *V)
{
    const double u = 0x1p-53;
    double es = 0, zs = 0;
    for (size_t e = 0; e < V->n; e++)
        es += fabs(V->eb[e]);
    for (size_t q = 0; q < V->o; q++) {
        double z = fabs(V->ob[q]);
        for (size_t e = 0; e < V->n; e++)
            z += fabs(coupling(V, e, q));
        zs += V->ok == RBM_UNIT_GAUSSIAN   ? V->osig * V->osig * z * z
              : V->ok == RBM_UNIT_ISING ? 3 * z
                                         : z;
    }
    return u * ((double)(V->o + V->n + 16) * (es + zs) + 16.0 * (double)V->o + 6000.0);
}

static void fill(double *x, size_t n, double sd)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sd * r_norm();
}

static void check_case(rbm_context *ctx, const mcase *c, uint64_t seed)
{
    r_seed(seed);
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new(ctx, c->nv, c->nh, c->vk, c->hk, &m));
    double *W = xzalloc(c->nv * c->nh * sizeof(double)), *a = xzalloc(c->nv * sizeof(double)),
           *b = xzalloc(c->nh * sizeof(double));
    fill(W, c->nv * c->nh, c->wstd);
    fill(a, c->nv, c->bstd);
    fill(b, c->nh, c->bstd);
    if (c->vk == RBM_UNIT_GAUSSIAN)
        RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, c->sigma));
    if (c->hk == RBM_UNIT_GAUSSIAN)
        RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, c->sigma));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, c->nv * c->nh));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, c->nv));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, c->nh));
    for (int hid = 0; hid < 2; hid++) {
        rbm_unit_kind ek = hid ? c->hk : c->vk;
        if (ek == RBM_UNIT_GAUSSIAN)
            continue;
        view V = {.n = hid ? c->nh : c->nv,
                  .o = hid ? c->nv : c->nh,
                  .ek = ek,
                  .ok = hid ? c->vk : c->hk,
                  .osig = c->sigma,
                  .W = W,
                  .eb = hid ? b : a,
                  .ob = hid ? a : b,
                  .hid = hid};
        if (V.n > 20)
            continue;
        rbm_layer layer = hid ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
        double lz[3], gray;
        for (size_t t = 0; t < 3; t++) {
            RBM_OKAY(ctx, rbm_context_set_threads(ctx, t + 1));
            RBM_OKAY(ctx, rbm__enum_log_z(m, layer, &lz[t]));
        }
        RBM_OKAY(ctx, rbm__enum_log_z_gray(m, layer, NULL, &gray));
        RBM_OKAY(ctx, rbm_context_set_threads(ctx, 0));
        char what[128];
        snprintf(what, sizeof what, "%s%s %zux%zu w %g b %g, %s enumerated", kn(c->vk), kn(c->hk),
                 c->nv, c->nh, c->wstd, c->bstd, hid ? "hidden" : "visible");
        double bd = bound(&V);
        if (V.n <= 14) {
            double ref = (double)ref_log_z(&V);
            rbm_assert_close(lz[0], ref, 0, bd, what);
        }
        rbm_assert_close(lz[0], gray, 0, 2 * bd + 1e-12 * fabs(gray), what);
        if (memcmp(&lz[0], &lz[1], sizeof(double)) || memcmp(&lz[0], &lz[2], sizeof(double)))
            fail_msg("%s: log Z differs across thread counts: %.17g %.17g %.17g", what, lz[0],
                     lz[1], lz[2]);
    }
    free(W);
    free(a);
    free(b);
    rbm_machine_free(m);
}

static void test_blocked_every_kind(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const rbm_unit_kind K[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN};
    /* (n enumerated, o other) shapes: one low block (n <= 8), a partial
     * group of high states, several groups */
    const size_t shapes[][2] = {{3, 7}, {8, 13}, {9, 5}, {13, 21}, {17, 40}};
    uint64_t seed = 1;
    for (size_t vk = 0; vk < 3; vk++)
        for (size_t hk = 0; hk < 3; hk++) {
            if (vk == 2 && hk == 2)
                continue;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                double wstd = K[vk] == RBM_UNIT_GAUSSIAN || K[hk] == RBM_UNIT_GAUSSIAN ? 0.1 : 0.7;
                mcase c = {shapes[s][1], shapes[s][0], K[vk], K[hk], wstd, 1.0, 0.8};
                if (K[hk] == RBM_UNIT_GAUSSIAN) { /* enumerate the visible layer */
                    c.nv = shapes[s][0];
                    c.nh = shapes[s][1];
                }
                check_case(ctx, &c, seed++);
            }
        }
    rbm_context_free(ctx);
}

/* Strong couplings (fewer low bits: the table's exponents would pass 300),
 * fields far beyond the clamp of the factors, and products at the edge of
 * the renormalisation. */
static void test_blocked_extremes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const mcase cases[] = {
        {30, 12, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 60.0, 1.0, 1.0},
        {25, 11, RBM_UNIT_ISING, RBM_UNIT_ISING, 45.0, 2.0, 1.0},
        {40, 10, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, 1.0, 900.0, 1.0},
        {33, 12, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 8.0, 300.0, 1.0},
        {20, 14, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING, 3.0, 5.0, 0.1},
        {300, 9, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 30.0, 30.0, 1.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(ctx, &cases[i], 100 + i);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_every_kind),
        cmocka_unit_test(test_blocked_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
