/* Tests for Potts visible layers (machine.h, docs/potts.md).
 *
 * References computed here: the energy E(v, h) evaluated from W, a, b by the
 * test's own loops in long double, and every free energy, conditional and
 * log Z obtained from it by exact enumeration of the q^N visible and 2^N_h
 * hidden configurations of a small machine; sample frequencies within 5
 * standard errors of the enumerated probabilities. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 3, Q = 3, NH = 2, NW = N * Q * NH, NA = N * Q };

typedef struct {
    double W[NW], a[NA], b[NH];
} params;

static void random_params(params *p, uint64_t seed, double scale)
{
    r_seed(seed);
    for (int k = 0; k < NW; k++)
        p->W[k] = scale * r_norm();
    for (int k = 0; k < NA; k++)
        p->a[k] = scale * r_norm();
    for (int k = 0; k < NH; k++)
        p->b[k] = scale * r_norm();
}

static rbm_machine *potts_machine(rbm_context *ctx, const params *p)
{
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, N, Q, NH, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, p->W, NW));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, p->a, NA));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, p->b, NH));
    return m;
}

/* E(v, h) straight from the definition (one-hot row i*Q + v_i) */
static long double ref_energy(const params *p, const double *v, const double *h)
{
    long double e = 0;
    for (int i = 0; i < N; i++) {
        int row = i * Q + (int)v[i];
        e -= p->a[row];
        for (int j = 0; j < NH; j++)
            e -= (long double)p->W[row * NH + j] * h[j];
    }
    for (int j = 0; j < NH; j++)
        e -= (long double)p->b[j] * h[j];
    return e;
}

static void state_of(int code, double *v)
{
    for (int i = 0; i < N; i++, code /= Q)
        v[i] = code % Q;
}

static void hid_of(int code, double *h)
{
    for (int j = 0; j < NH; j++)
        h[j] = (code >> j) & 1;
}

#define NVS 27 /* Q^N */

static long double ref_log_z(const params *p)
{
    long double z = 0;
    double v[N], h[NH];
    for (int s = 0; s < NVS; s++)
        for (int t = 0; t < (1 << NH); t++) {
            state_of(s, v);
            hid_of(t, h);
            z += expl(-ref_energy(p, v, h));
        }
    return logl(z);
}

static void test_energies_and_free_energies(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params p;
    random_params(&p, 11, 0.8);
    rbm_machine *m = potts_machine(ctx, &p);
    assert_int_equal(rbm_machine_n_visible(m), N);
    assert_int_equal(rbm_machine_n_states(m, RBM_LAYER_VISIBLE), Q);
    assert_int_equal(rbm_machine_n_states(m, RBM_LAYER_HIDDEN), 0);
    assert_int_equal(rbm_machine_weight_rows(m), N * Q);
    double V[NVS * N], F[NVS];
    for (int s = 0; s < NVS; s++)
        state_of(s, V + s * N);
    RBM_OKAY(ctx, rbm_machine_free_energy(m, NVS, V, NVS * N, F, NVS));
    for (int s = 0; s < NVS; s++) {
        long double z = 0;
        double h[NH], e;
        for (int t = 0; t < (1 << NH); t++) {
            hid_of(t, h);
            z += expl(-ref_energy(&p, V + s * N, h));
            RBM_OKAY(ctx, rbm_machine_energy(m, 1, V + s * N, N, h, NH, &e, 1));
            rbm_assert_close(e, (double)ref_energy(&p, V + s * N, h), 1e-13, 1e-13, "energy");
        }
        rbm_assert_close(F[s], (double)-logl(z), 1e-13, 1e-13, "free energy F(v)");
    }
    /* F(h) = -log sum_v exp(-E) */
    double H[4 * NH], Fh[4];
    for (int t = 0; t < 4; t++)
        hid_of(t, H + t * NH);
    RBM_OKAY(ctx, rbm_machine_free_energy_hidden(m, 4, H, 4 * NH, Fh, 4));
    for (int t = 0; t < 4; t++) {
        long double z = 0;
        double v[N];
        for (int s = 0; s < NVS; s++) {
            state_of(s, v);
            z += expl(-ref_energy(&p, v, H + t * NH));
        }
        rbm_assert_close(Fh[t], (double)-logl(z), 1e-13, 1e-13, "free energy F(h)");
    }
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* p(v_i = c | h) and p(h_j = 1 | v) against ratios of enumerated weights */
static void test_conditionals(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params p;
    random_params(&p, 12, 1.1);
    rbm_machine *m = potts_machine(ctx, &p);
    double h[NH] = {1, 0}, P[NA];
    RBM_OKAY(ctx, rbm_machine_visible_mean(m, 1, h, NH, P, NA));
    for (int i = 0; i < N; i++) {
        double v[N] = {0, 0, 0};
        long double w[Q], z = 0;
        for (int c = 0; c < Q; c++) {
            v[i] = c;
            z += w[c] = expl(-ref_energy(&p, v, h));
        }
        for (int c = 0; c < Q; c++)
            rbm_assert_close(P[i * Q + c], (double)(w[c] / z), 1e-14, 1e-15, "p(v_i=c|h)");
    }
    double v[N] = {2, 0, 1}, ph[NH];
    RBM_OKAY(ctx, rbm_machine_hidden_mean(m, 1, v, N, ph, NH));
    for (int j = 0; j < NH; j++) {
        double h1[NH] = {0, 0};
        long double e0 = ref_energy(&p, v, h1);
        h1[j] = 1;
        long double e1 = ref_energy(&p, v, h1); /* other units cancel: fields are additive */
        rbm_assert_close(ph[j], (double)(1 / (1 + expl(e1 - e0))), 1e-14, 1e-15, "p(h_j=1|v)");
    }
    /* sampling: frequencies of each site's state within 5 standard errors */
    enum { R = 20000 };
    double *Hb = xzalloc(sizeof(double) * R * NH), *S = xzalloc(sizeof(double) * R * N);
    for (int r = 0; r < R; r++)
        memcpy(Hb + r * NH, h, sizeof h);
    rbm_rng *rng;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 5, &rng));
    RBM_OKAY(ctx, rbm_machine_sample_visible(m, rng, R, Hb, R * NH, S, R * N));
    for (int i = 0; i < N; i++)
        for (int c = 0; c < Q; c++) {
            double n = 0;
            for (int r = 0; r < R; r++)
                n += S[r * N + i] == c;
            double pc = P[i * Q + c], se = sqrt(pc * (1 - pc) / R);
            if (fabs(n / R - pc) > 5 * se)
                fail_msg("site %d state %d: frequency %g, p %g", i, c, n / R, pc);
        }
    free(Hb);
    free(S);
    rbm_rng_free(rng);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* the gauges leave p(v) unchanged and move log Z by the reported shift */
static void test_gauge(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params p;
    random_params(&p, 13, 0.9);
    long double lz0 = ref_log_z(&p);
    double V[NVS * N], F0[NVS], F1[NVS];
    for (int s = 0; s < NVS; s++)
        state_of(s, V + s * N);
    rbm_gauge gauges[2] = {RBM_GAUGE_ZERO_SUM, RBM_GAUGE_FIRST_STATE};
    for (int g = 0; g < 2; g++) {
        rbm_machine *m = potts_machine(ctx, &p);
        RBM_OKAY(ctx, rbm_machine_free_energy(m, NVS, V, NVS * N, F0, NVS));
        double shift = NAN;
        RBM_OKAY(ctx, rbm_machine_set_gauge(m, gauges[g], &shift));
        params q;
        RBM_OKAY(ctx, rbm_machine_get_weights(m, q.W, NW));
        RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, q.a, NA));
        RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, q.b, NH));
        for (int i = 0; i < N; i++) {
            double sa = 0;
            for (int c = 0; c < Q; c++)
                sa += q.a[i * Q + c];
            if (g == 0)
                rbm_assert_close(sa, 0, 0, 1e-14, "zero-sum a");
            else
                rbm_assert_close(q.a[i * Q], 0, 0, 0, "first-state a");
            for (int j = 0; j < NH; j++) {
                double sw = 0;
                for (int c = 0; c < Q; c++)
                    sw += q.W[(i * Q + c) * NH + j];
                if (g == 0)
                    rbm_assert_close(sw, 0, 0, 1e-14, "zero-sum W");
                else
                    rbm_assert_close(q.W[i * Q * NH + j], 0, 0, 0, "first-state W");
            }
        }
        long double lz1 = ref_log_z(&q);
        rbm_assert_close((double)lz0, (double)(lz1 + shift), 1e-13, 1e-13, "log Z shift");
        RBM_OKAY(ctx, rbm_machine_free_energy(m, NVS, V, NVS * N, F1, NVS));
        for (int s = 0; s < NVS; s++) /* log p(v) = -F(v) - log Z */
            rbm_assert_close(-F1[s] - (double)lz1, -F0[s] - (double)lz0, 1e-12, 1e-12, "log p(v)");
        rbm_machine_free(m);
    }
    rbm_context_free(ctx);
}

/* fields of +-1e4: the site log-sum-exp stays finite and exact */
static void test_overflow_free(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    params p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < N; i++) {
        p.a[i * Q] = 1e4;
        p.a[i * Q + 1] = 1e4 - 1;
        p.a[i * Q + 2] = -1e4;
    }
    rbm_machine *m = potts_machine(ctx, &p);
    double h[NH] = {0, 0}, fh;
    RBM_OKAY(ctx, rbm_machine_free_energy_hidden(m, 1, h, NH, &fh, 1));
    double want = -N * (1e4 + log1p(exp(-1.0) + exp(-2e4)));
    rbm_assert_close(fh, want, 1e-15, 0, "F(h) with huge fields");
    double P[NA];
    RBM_OKAY(ctx, rbm_machine_visible_mean(m, 1, h, NH, P, NA));
    rbm_assert_close(P[0], 1 / (1 + exp(-1.0)), 1e-15, 0, "softmax with huge fields");
    rbm_assert_close(P[2], 0, 0, 0, "softmax of a -1e4 field");
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_site_frequencies(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const double X[4 * N] = {0, 1, 2, 0, 1, 1, 0, 2, 1, 2, 2, 1};
    rbm_dataset *ds;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, X, RBM_DTYPE_FLOAT64, 4, N, RBM_COPY, &ds));
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, N, Q, NH, RBM_UNIT_ISING, &m));
    RBM_OKAY(ctx, rbm_machine_init_visible_bias_from_data(m, ds));
    double h[NH] = {1, -1}, P[NA];
    RBM_OKAY(ctx, rbm_machine_visible_mean(m, 1, h, NH, P, NA));
    for (int i = 0; i < N; i++)
        for (int c = 0; c < Q; c++) {
            double n = 0;
            for (int r = 0; r < 4; r++)
                n += X[r * N + i] == c;
            double lam = RBM_POTTS_PSEUDO_COUNT;
            rbm_assert_close(P[i * Q + c], (1 - lam) * n / 4 + lam / Q, 1e-13, 0, "site freq");
        }
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

static void test_refusals(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    RBM_CHECK(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_POTTS, RBM_UNIT_BERNOULLI, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_potts(ctx, 3, 1, 2, RBM_UNIT_BERNOULLI, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_potts(ctx, 3, 256, 2, RBM_UNIT_BERNOULLI, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_potts(ctx, 3, 4, 2, RBM_UNIT_POTTS, &m),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_machine_new_potts(ctx, (size_t)1 << 40, 200, (size_t)1 << 20,
                                         RBM_UNIT_BERNOULLI, &m),
              RBM_ERR_TOO_LARGE);
    assert_null(m);
    rbm_unit_kind k;
    assert_int_equal(rbm_unit_kind_parse("potts", &k), RBM_OK);
    assert_int_equal(k, RBM_UNIT_POTTS);
    assert_int_equal(rbm_unit_eval(RBM_UNIT_POTTS, 1, 1, (double[]){0}, NULL, 0, NULL, 0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    params p;
    random_params(&p, 14, 0.5);
    m = potts_machine(ctx, &p);
    const double bad[3][N] = {{0, 1.5, 2}, {0, -1, 2}, {0, 3, 2}};
    double f = 7;
    for (int t = 0; t < 3; t++)
        RBM_CHECK(ctx, rbm_machine_free_energy(m, 1, bad[t], N, &f, 1), RBM_ERR_INVALID_ARGUMENT);
    assert_true(f == 7);
    RBM_CHECK(ctx, rbm_machine_set_weights(m, p.W, N * NH), RBM_ERR_SHAPE);
    rbm_machine *c = NULL;
    RBM_CHECK(ctx, rbm_machine_convert(m, RBM_UNIT_ISING, &c, NULL), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_machine_clone(m, &c));
    assert_int_equal(rbm_machine_n_states(c, RBM_LAYER_VISIBLE), Q);
    double W2[NW];
    RBM_OKAY(ctx, rbm_machine_get_weights(c, W2, NW));
    assert_memory_equal(W2, p.W, sizeof W2);
    rbm_machine_free(c);
    /* entry points without Potts support refuse instead of misreading W */
    rbm_mode_tracker *s = NULL;
    RBM_CHECK(ctx, rbm_mode_tracker_new(m, 2, &s), RBM_ERR_INVALID_ARGUMENT);
    assert_null(s);
    rbm_machine *g;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &g));
    RBM_CHECK(ctx, rbm_machine_set_gauge(g, RBM_GAUGE_ZERO_SUM, NULL), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_machine_n_states(g, RBM_LAYER_VISIBLE), 0);
    rbm_machine_free(g);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_energies_and_free_energies),
        cmocka_unit_test(test_conditionals),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_overflow_free),
        cmocka_unit_test(test_site_frequencies),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
