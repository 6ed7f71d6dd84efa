/* Tests for the random number generator.
 *
 * Reference: splitmix64 and xoshiro256** written here from the published
 * algorithm descriptions (Steele, Lea & Flood 2014; Blackman & Vigna 2018),
 * seeded as rng.h documents (four splitmix64 outputs fill s[0..3]). The
 * distribution tests use bounds of 5 standard errors computed from the exact
 * moments of U(0,1) and N(0,1). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- independent reference generator ---- */

typedef struct {
    uint64_t s[4];
} ref_xoshiro;

static uint64_t ref_splitmix64(uint64_t *x)
{
    *x += UINT64_C(0x9E3779B97F4A7C15);
    uint64_t z = *x;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t ref_rotl(uint64_t x, unsigned k)
{
    return (x << k) | (x >> (64u - k));
}

static void ref_seed(ref_xoshiro *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = ref_splitmix64(&x);
}

static uint64_t ref_next(ref_xoshiro *r)
{
    uint64_t *s = r->s;
    uint64_t out = ref_rotl(s[1] * 5u, 7) * 9u;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return out;
}

/* ---- fixtures ---- */

static int setup_ctx(void **state)
{
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown_ctx(void **state)
{
    rbm_context_free(*state);
    return 0;
}

static rbm_rng *new_rng(rbm_context *ctx, uint64_t seed)
{
    rbm_rng *r = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, seed, &r));
    assert_non_null(r);
    return r;
}

/* ---- tests ---- */

/* The reference itself against the published first output of splitmix64
 * from state 0, so that a typo in the constants above cannot go unnoticed. */
static void test_reference_self_check(void **state)
{
    (void)state;
    uint64_t x = 0;
    assert_true(ref_splitmix64(&x) == UINT64_C(0xE220A8397B1DCDAF));
}

static void check_stream(rbm_context *ctx, uint64_t seed, int n)
{
    ref_xoshiro ref;
    ref_seed(&ref, seed);
    rbm_rng *r = new_rng(ctx, seed);
    for (int i = 0; i < n; i++) {
        uint64_t want = ref_next(&ref);
        uint64_t got = rbm_rng_next_u64(r);
        if (got != want)
            fail_msg("seed %llu output %d: got 0x%016llx, expected 0x%016llx",
                     (unsigned long long)seed, i, (unsigned long long)got,
                     (unsigned long long)want);
    }
    rbm_rng_free(r);
}

static void test_reference_stream(void **state)
{
    rbm_context *ctx = *state;
    check_stream(ctx, 0, 1000);
    check_stream(ctx, 12345, 1000);
    check_stream(ctx, UINT64_MAX, 100);
    check_stream(ctx, UINT64_C(0x0123456789ABCDEF), 100);
}

/* rbm_rng_seed restarts the documented stream. */
static void test_reseed(void **state)
{
    rbm_context *ctx = *state;
    rbm_rng *r = new_rng(ctx, 1);
    for (int i = 0; i < 17; i++)
        (void)rbm_rng_next_u64(r);
    (void)rbm_rng_normal(r); /* leaves a cached deviate */
    RBM_OKAY(ctx, rbm_rng_seed(r, 12345));
    ref_xoshiro ref;
    ref_seed(&ref, 12345);
    for (int i = 0; i < 100; i++)
        assert_true(rbm_rng_next_u64(r) == ref_next(&ref));

    /* the cached normal does not survive a reseed */
    rbm_rng *fresh = new_rng(ctx, 77);
    RBM_OKAY(ctx, rbm_rng_seed(r, 77));
    (void)rbm_rng_normal(r);
    RBM_OKAY(ctx, rbm_rng_seed(r, 77));
    for (int i = 0; i < 50; i++) {
        double a = rbm_rng_normal(r), b = rbm_rng_normal(fresh);
        if (memcmp(&a, &b, sizeof a) != 0)
            fail_msg("normal %d after reseed: %.17g vs fresh %.17g", i, a, b);
    }
    rbm_rng_free(fresh);
    rbm_rng_free(r);
}

/* Uniform doubles are the top 53 bits of one output times 2^-53. */
static void test_uniform_from_bits(void **state)
{
    rbm_context *ctx = *state;
    ref_xoshiro ref;
    ref_seed(&ref, 12345);
    rbm_rng *r = new_rng(ctx, 12345);
    for (int i = 0; i < 1000; i++) {
        double want = (double)(ref_next(&ref) >> 11) * ldexp(1.0, -53);
        double got = rbm_rng_uniform(r);
        if (got != want)
            fail_msg("uniform %d: got %.17g expected %.17g", i, got, want);
    }
    /* uniform and u64 share one stream */
    for (int i = 0; i < 100; i++) {
        assert_true(rbm_rng_next_u64(r) == ref_next(&ref));
        double want = (double)(ref_next(&ref) >> 11) * ldexp(1.0, -53);
        assert_true(rbm_rng_uniform(r) == want);
    }
    rbm_rng_free(r);
}

static void test_determinism(void **state)
{
    rbm_context *ctx = *state;
    rbm_rng *a = new_rng(ctx, 2024), *b = new_rng(ctx, 2024);
    for (int i = 0; i < 10000; i++) {
        switch (i % 3) {
        case 0: assert_true(rbm_rng_next_u64(a) == rbm_rng_next_u64(b)); break;
        case 1: {
            double x = rbm_rng_uniform(a), y = rbm_rng_uniform(b);
            assert_memory_equal(&x, &y, sizeof x);
            break;
        }
        default: {
            double x = rbm_rng_normal(a), y = rbm_rng_normal(b);
            assert_memory_equal(&x, &y, sizeof x);
        }
        }
    }
    rbm_rng_free(a);
    rbm_rng_free(b);

    /* different seeds give different streams (no equal output in 1000
     * positions; a coincidence has probability ~1e-16) */
    const uint64_t pairs[][2] = {{0, 1}, {12345, 12346}, {1, UINT64_C(1) << 63}};
    for (size_t p = 0; p < 3; p++) {
        rbm_rng *x = new_rng(ctx, pairs[p][0]), *y = new_rng(ctx, pairs[p][1]);
        int same = 0;
        for (int i = 0; i < 1000; i++)
            same += rbm_rng_next_u64(x) == rbm_rng_next_u64(y);
        if (same)
            fail_msg("seeds %llu and %llu: %d equal outputs", (unsigned long long)pairs[p][0],
                     (unsigned long long)pairs[p][1], same);
        rbm_rng_free(x);
        rbm_rng_free(y);
    }
}

static void check_within(double got, double want, double se, const char *what)
{
    if (!(fabs(got - want) <= 5.0 * se))
        fail_msg("%s: got %.8g, expected %.8g +- 5 x %.3g", what, got, want, se);
}

static void test_uniform_statistics(void **state)
{
    rbm_context *ctx = *state;
    rbm_rng *r = new_rng(ctx, 31337);
    const int n = 1000000;
    enum { NB = 64 };
    long bins[NB] = {0};
    long double s1 = 0, s2 = 0;
    double lo = 1.0, hi = 0.0;
    for (int i = 0; i < n; i++) {
        double u = rbm_rng_uniform(r);
        if (!(u >= 0.0 && u < 1.0))
            fail_msg("draw %d = %.17g is outside [0,1)", i, u);
        /* exactly k 2^-53 */
        double k = u * 9007199254740992.0;
        if (k != floor(k))
            fail_msg("draw %d = %.17g is not a multiple of 2^-53", i, u);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        s1 += u;
        s2 += ((long double)u - 0.5L) * ((long double)u - 0.5L);
        bins[(int)(u * NB)]++;
    }
    double mean = (double)(s1 / n);
    double var = (double)(s2 / n);
    /* Var(U) = 1/12; Var((U-1/2)^2) = 1/80 - 1/144 = 1/180 */
    check_within(mean, 0.5, sqrt(1.0 / 12.0 / n), "uniform mean");
    check_within(var, 1.0 / 12.0, sqrt(1.0 / 180.0 / n), "uniform variance");
    assert_true(lo < 1e-4 && hi > 1.0 - 1e-4);
    /* chi-square with 63 degrees of freedom: mean 63, sd sqrt(126) */
    double chi2 = 0, e = (double)n / NB;
    for (int b = 0; b < NB; b++)
        chi2 += (bins[b] - e) * (bins[b] - e) / e;
    if (chi2 > 63.0 + 5.0 * sqrt(126.0))
        fail_msg("uniform histogram chi2 = %.2f with 63 dof", chi2);

    /* every bit of the raw output is fair */
    const int nb = 200000;
    long ones[64] = {0};
    for (int i = 0; i < nb; i++) {
        uint64_t x = rbm_rng_next_u64(r);
        for (int k = 0; k < 64; k++)
            ones[k] += (long)((x >> k) & 1u);
    }
    for (int k = 0; k < 64; k++) {
        char what[32];
        snprintf(what, sizeof what, "bit %d frequency", k);
        check_within((double)ones[k] / nb, 0.5, 0.5 / sqrt(nb), what);
    }
    rbm_rng_free(r);
}

static void test_normal_statistics(void **state)
{
    rbm_context *ctx = *state;
    rbm_rng *r = new_rng(ctx, 4242);
    const int n = 1000000;
    long double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    long in1 = 0, below = 0;
    for (int i = 0; i < n; i++) {
        double z = rbm_rng_normal(r);
        if (!isfinite(z))
            fail_msg("normal draw %d is not finite", i);
        long double zl = z, z2 = zl * zl;
        m1 += zl;
        m2 += z2;
        m3 += z2 * zl;
        m4 += z2 * z2;
        in1 += fabs(z) < 1.0;
        below += z < -1.959963984540054;
    }
    double mean = (double)(m1 / n), e2 = (double)(m2 / n), e3 = (double)(m3 / n),
           e4 = (double)(m4 / n);
    double var = e2 - mean * mean;
    /* moments of N(0,1): E z^2 = 1 (Var z^2 = 2), E z^3 = 0 (Var 15),
     * E z^4 = 3 (Var 96); kurtosis m4/m2^2 has asymptotic sd sqrt(24/n) */
    check_within(mean, 0.0, 1.0 / sqrt(n), "normal mean");
    check_within(var, 1.0, sqrt(2.0 / n), "normal variance");
    check_within(e3, 0.0, sqrt(15.0 / n), "normal third moment");
    check_within(e4, 3.0, sqrt(96.0 / n), "normal fourth moment");
    check_within(e4 / (e2 * e2), 3.0, sqrt(24.0 / n), "normal kurtosis");
    const double p1 = 0.6826894921370859; /* erf(1/sqrt 2) */
    check_within((double)in1 / n, p1, sqrt(p1 * (1 - p1) / n), "P(|z| < 1)");
    check_within((double)below / n, 0.025, sqrt(0.025 * 0.975 / n), "P(z < -1.96)");
    rbm_rng_free(r);
}

/* get_state/set_state: the restored generator continues the identical
 * stream, including a pending cached normal deviate. */
static void test_state_round_trip(void **state)
{
    rbm_context *ctx = *state;
    enum { N = 300 };
    rbm_rng *a = new_rng(ctx, 5);
    for (int i = 0; i < 11; i++)
        (void)rbm_rng_next_u64(a);
    (void)rbm_rng_normal(a); /* polar method: the second deviate is now cached */

    uint8_t buf[RBM_RNG_STATE_BYTES + 8];
    memset(buf, 0xAB, sizeof buf);
    RBM_OKAY(ctx, rbm_rng_get_state(a, buf, RBM_RNG_STATE_BYTES));
    for (size_t i = RBM_RNG_STATE_BYTES; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAB); /* no write past the documented size */

    double rec[N];
    for (int i = 0; i < N; i++) {
        switch (i % 4) {
        case 0:
        case 1: rec[i] = rbm_rng_normal(a); break;
        case 2: rec[i] = rbm_rng_uniform(a); break;
        default: rec[i] = (double)(rbm_rng_next_u64(a) >> 11);
        }
    }

    rbm_rng *b = new_rng(ctx, 999);
    (void)rbm_rng_normal(b); /* b has its own cached deviate, which must be replaced */
    RBM_OKAY(ctx, rbm_rng_set_state(b, buf, RBM_RNG_STATE_BYTES));
    for (int i = 0; i < N; i++) {
        double x;
        switch (i % 4) {
        case 0:
        case 1: x = rbm_rng_normal(b); break;
        case 2: x = rbm_rng_uniform(b); break;
        default: x = (double)(rbm_rng_next_u64(b) >> 11);
        }
        if (memcmp(&x, &rec[i], sizeof x) != 0)
            fail_msg("restored stream differs at %d: %.17g vs %.17g", i, x, rec[i]);
    }

    /* The first normal after the restore is the cached one: it consumes no
     * raw output. */
    rbm_rng *c = new_rng(ctx, 1), *d = new_rng(ctx, 2);
    RBM_OKAY(ctx, rbm_rng_set_state(c, buf, sizeof buf));
    RBM_OKAY(ctx, rbm_rng_set_state(d, buf, sizeof buf));
    double cached = rbm_rng_normal(c);
    assert_memory_equal(&cached, &rec[0], sizeof cached);
    assert_true(rbm_rng_next_u64(c) == rbm_rng_next_u64(d));

    /* A state taken with no pending deviate restores the same way. */
    rbm_rng *e = new_rng(ctx, 12345), *f = new_rng(ctx, 0);
    RBM_OKAY(ctx, rbm_rng_get_state(e, buf, RBM_RNG_STATE_BYTES));
    RBM_OKAY(ctx, rbm_rng_set_state(f, buf, RBM_RNG_STATE_BYTES));
    ref_xoshiro ref;
    ref_seed(&ref, 12345);
    for (int i = 0; i < 100; i++)
        assert_true(rbm_rng_next_u64(f) == ref_next(&ref));

    /* get_state is const: the stream of the source is not disturbed */
    rbm_rng *g = new_rng(ctx, 12345);
    ref_seed(&ref, 12345);
    for (int i = 0; i < 10; i++) {
        RBM_OKAY(ctx, rbm_rng_get_state(g, buf, RBM_RNG_STATE_BYTES));
        assert_true(rbm_rng_next_u64(g) == ref_next(&ref));
    }

    rbm_rng_free(a);
    rbm_rng_free(b);
    rbm_rng_free(c);
    rbm_rng_free(d);
    rbm_rng_free(e);
    rbm_rng_free(f);
    rbm_rng_free(g);
}

static void test_state_errors(void **state)
{
    rbm_context *ctx = *state;
    rbm_rng *r = new_rng(ctx, 12345);
    uint8_t buf[RBM_RNG_STATE_BYTES];
    uint8_t zero[RBM_RNG_STATE_BYTES];
    memset(zero, 0, sizeof zero);

    rbm_context_clear_error(ctx);
    assert_int_equal(rbm_rng_get_state(r, buf, RBM_RNG_STATE_BYTES - 1), RBM_ERR_SHAPE);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    assert_int_equal(rbm_rng_get_state(r, NULL, RBM_RNG_STATE_BYTES), RBM_ERR_NULL);
    assert_int_equal(rbm_rng_get_state(NULL, buf, RBM_RNG_STATE_BYTES), RBM_ERR_NULL);
    assert_int_equal(rbm_rng_set_state(NULL, buf, RBM_RNG_STATE_BYTES), RBM_ERR_NULL);
    assert_int_equal(rbm_rng_set_state(r, NULL, RBM_RNG_STATE_BYTES), RBM_ERR_NULL);

    RBM_OKAY(ctx, rbm_rng_get_state(r, buf, RBM_RNG_STATE_BYTES));
    rbm_context_clear_error(ctx);
    assert_int_equal(rbm_rng_set_state(r, buf, RBM_RNG_STATE_BYTES - 1), RBM_ERR_SHAPE);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);

    /* all-zero generator state: xoshiro would output zeros forever */
    rbm_context_clear_error(ctx);
    assert_int_equal(rbm_rng_set_state(r, zero, sizeof zero), RBM_ERR_BAD_FORMAT);
    assert_int_equal(rbm_context_last_status(ctx), RBM_ERR_BAD_FORMAT);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);

    /* the failed calls left the generator untouched */
    ref_xoshiro ref;
    ref_seed(&ref, 12345);
    for (int i = 0; i < 100; i++)
        assert_true(rbm_rng_next_u64(r) == ref_next(&ref));
    rbm_rng_free(r);
}

static void test_null_handling(void **state)
{
    rbm_context *ctx = *state;
    assert_true(rbm_rng_next_u64(NULL) == 0);
    assert_true(rbm_rng_uniform(NULL) == 0.0);
    assert_true(rbm_rng_normal(NULL) == 0.0);
    assert_int_equal(rbm_rng_seed(NULL, 1), RBM_ERR_NULL);
    assert_int_equal(rbm_rng_new(ctx, 1, NULL), RBM_ERR_NULL);
    rbm_rng *r = NULL;
    assert_int_equal(rbm_rng_new(NULL, 1, &r), RBM_ERR_NULL);
    assert_null(r);
    rbm_rng_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_self_check),
        cmocka_unit_test_setup_teardown(test_reference_stream, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_reseed, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_uniform_from_bits, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_determinism, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_uniform_statistics, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_normal_statistics, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_state_round_trip, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_state_errors, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_null_handling, setup_ctx, teardown_ctx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
