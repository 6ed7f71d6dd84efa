/* Tests for the accepted range of sigma and for non-finite results.
 *
 * A sigma is accepted when sigma^2 and 1/sigma^2 are normal numbers of the
 * machine's precision: [2^-511, 2^511] for float64 (DBL_MIN = 2^-1022),
 * [2^-63, 2^63] for float32 (FLT_MIN = 2^-126). The bounds are exact powers
 * of two, so the tests use the bounds themselves (accepted) and their
 * neighbours nextafter(bound, outwards) (refused), and the values reported
 * as accepted before the range existed (1e200 and 5e-324, the smallest
 * subnormal), for every setter and the loader. The expected results at the
 * extreme sigmas are computed here from the closed forms of docs/theory.md
 * §1.1 (Gaussian layer: phi(x) = x^2/(2 sigma^2), Lambda(u) = sigma^2 u^2/2 +
 * log(2 pi sigma^2)/2, mean sigma^2 u). */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const double LOG_2PI = 1.8378770664093454835606594728112;

#define F64_LO 0x1p-511
#define F64_HI 0x1p+511
#define F32_LO 0x1p-63
#define F32_HI 0x1p+63

static rbm_machine *gauss_machine(rbm_context *ctx, rbm_unit_kind hidden)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_GAUSSIAN, hidden, &m));
    return m;
}

/* set_sigma(layer, s) must give want; on refusal the sigma is unchanged and
 * the detail gives the accepted range. */
static void expect_set(rbm_context *ctx, rbm_machine *m, rbm_layer layer, double s,
                       rbm_status want, const char *range)
{
    double before = rbm_machine_sigma(m, layer);
    rbm_status st = rbm_machine_set_sigma(m, layer, s);
    if (st != want)
        fail_msg("set_sigma(%s, %.17g) returned %s (%s), expected %s",
                 layer == RBM_LAYER_VISIBLE ? "visible" : "hidden", s, rbm_status_name(st),
                 rbm_context_last_error(ctx), rbm_status_name(want));
    if (want == RBM_OK) {
        assert_true(rbm_machine_sigma(m, layer) == s);
    } else {
        assert_true(rbm_machine_sigma(m, layer) == before);
        if (!strstr(rbm_context_last_error(ctx), range))
            fail_msg("detail '%s' does not give the range '%s'", rbm_context_last_error(ctx),
                     range);
    }
}

static void test_set_sigma_bounds_float64(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = gauss_machine(ctx, RBM_UNIT_GAUSSIAN); /* W = 0: normalisable */
    const char *range = "[1.4916681462400413e-154, 6.7039039649712985e+153]";
    for (int l = 0; l < 2; l++) {
        rbm_layer layer = l ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
        expect_set(ctx, m, layer, F64_HI, RBM_OK, range);
        expect_set(ctx, m, layer, nextafter(F64_HI, INFINITY), RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, 1e200, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, F64_LO, RBM_OK, range);
        expect_set(ctx, m, layer, nextafter(F64_LO, 0.0), RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, 5e-324, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, 0.0, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, -1.0, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, INFINITY, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, NAN, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, 1e100, RBM_OK, range); /* inside float64, outside float32 */
        expect_set(ctx, m, layer, 1.0, RBM_OK, range);
    }
    /* the same range on a discrete layer (its sigma is stored and saved) */
    rbm_machine *b = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 2, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &b));
    expect_set(ctx, b, RBM_LAYER_HIDDEN, F64_HI, RBM_OK, range);
    expect_set(ctx, b, RBM_LAYER_HIDDEN, 1e200, RBM_ERR_INVALID_ARGUMENT, range);
    rbm_machine_free(b);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_set_sigma_bounds_float32(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = gauss_machine(ctx, RBM_UNIT_BERNOULLI);
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    const char *range = "[1.0842021724855044e-19, 9.2233720368547758e+18]";
    for (int l = 0; l < 2; l++) {
        rbm_layer layer = l ? RBM_LAYER_HIDDEN : RBM_LAYER_VISIBLE;
        expect_set(ctx, m, layer, F32_HI, RBM_OK, range);
        expect_set(ctx, m, layer, nextafter(F32_HI, INFINITY), RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, 1e30, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, F32_LO, RBM_OK, range);
        expect_set(ctx, m, layer, nextafter(F32_LO, 0.0), RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, 1e-30, RBM_ERR_INVALID_ARGUMENT, range);
        expect_set(ctx, m, layer, 1.0, RBM_OK, range);
    }

    /* switching to float32 refuses sigmas outside its range and keeps float64 */
    rbm_machine *d = gauss_machine(ctx, RBM_UNIT_GAUSSIAN);
    RBM_OKAY(ctx, rbm_machine_set_sigma(d, RBM_LAYER_HIDDEN, nextafter(F32_HI, INFINITY)));
    RBM_CHECK(ctx, rbm_machine_set_precision(d, RBM_PRECISION_FLOAT32), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_machine_precision(d), RBM_PRECISION_FLOAT64);
    assert_non_null(strstr(rbm_context_last_error(ctx), range));
    RBM_OKAY(ctx, rbm_machine_set_sigma(d, RBM_LAYER_HIDDEN, F32_HI));
    RBM_OKAY(ctx, rbm_machine_set_sigma(d, RBM_LAYER_VISIBLE, nextafter(F32_LO, 0.0)));
    RBM_CHECK(ctx, rbm_machine_set_precision(d, RBM_PRECISION_FLOAT32), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_machine_set_sigma(d, RBM_LAYER_VISIBLE, F32_LO));
    RBM_OKAY(ctx, rbm_machine_set_precision(d, RBM_PRECISION_FLOAT32));
    assert_int_equal(rbm_machine_precision(d), RBM_PRECISION_FLOAT32);
    /* a clone keeps the extreme sigmas and the precision */
    rbm_machine *c = NULL;
    RBM_OKAY(ctx, rbm_machine_clone(d, &c));
    assert_true(rbm_machine_sigma(c, RBM_LAYER_VISIBLE) == F32_LO);
    assert_true(rbm_machine_sigma(c, RBM_LAYER_HIDDEN) == F32_HI);
    rbm_machine_free(c);
    rbm_machine_free(d);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---- the loader: a saved file with its sigma bytes rewritten ---- */

static void put_le(unsigned char *p, uint64_t x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

/* Model file of a 3 x 2 Gauss-Gauss machine whose 'model' section holds
 * sigma_v = sv, sigma_h = sh and precision prec (docs/file-format.md: the
 * MODL section header at offset 24, its 48-byte payload at 48, the sigmas at
 * payload offsets 24 and 32, the precision at 40, the CRC at 24 + 20 over the
 * section header bytes 0..19 and the payload). */
static void write_file(rbm_context *ctx, const char *path, double sv, double sh, uint32_t prec)
{
    rbm_machine *m = gauss_machine(ctx, RBM_UNIT_GAUSSIAN);
    RBM_OKAY(ctx, rbm_machine_save(m, path));
    rbm_machine_free(m);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    unsigned char buf[96];
    assert_int_equal(fread(buf, 1, sizeof buf, f), sizeof buf);
    assert_memory_equal(buf + 24, "MODL", 4);
    uint64_t bits;
    memcpy(&bits, &sv, 8);
    put_le(buf + 48 + 24, bits, 8);
    memcpy(&bits, &sh, 8);
    put_le(buf + 48 + 32, bits, 8);
    put_le(buf + 48 + 40, prec, 4);
    uint32_t crc = rbm_test_crc32(rbm_test_crc32(0, buf + 24, 20), buf + 48, 48);
    put_le(buf + 24 + 20, crc, 4);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(buf, 1, sizeof buf, f), sizeof buf);
    assert_int_equal(fclose(f), 0);
}

static void expect_load(rbm_context *ctx, const char *path, double sv, double sh, uint32_t prec,
                        rbm_status want)
{
    write_file(ctx, path, sv, sh, prec);
    rbm_machine *m = NULL;
    rbm_status st = rbm_machine_load(ctx, path, &m);
    if (st != want)
        fail_msg("load with sigma_v %.17g, sigma_h %.17g, precision %u returned %s (%s), "
                 "expected %s",
                 sv, sh, (unsigned)prec, rbm_status_name(st), rbm_context_last_error(ctx),
                 rbm_status_name(want));
    if (want == RBM_OK) {
        assert_true(rbm_machine_sigma(m, RBM_LAYER_VISIBLE) == sv);
        assert_true(rbm_machine_sigma(m, RBM_LAYER_HIDDEN) == sh);
        assert_int_equal(rbm_machine_precision(m), (int)prec);
    } else {
        assert_null(m);
        assert_non_null(strstr(rbm_context_last_error(ctx), "is outside ["));
    }
    rbm_machine_free(m);
}

static void test_load_sigma_bounds(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/rbm-test-sigma-%ld.rbm", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    const uint32_t f64 = RBM_PRECISION_FLOAT64, f32 = RBM_PRECISION_FLOAT32;
    expect_load(ctx, path, 1.0, 1.0, f64, RBM_OK); /* the rewrite itself is sound */
    expect_load(ctx, path, F64_HI, F64_LO, f64, RBM_OK);
    expect_load(ctx, path, nextafter(F64_HI, INFINITY), 1.0, f64, RBM_ERR_BAD_FORMAT);
    expect_load(ctx, path, 1.0, nextafter(F64_LO, 0.0), f64, RBM_ERR_BAD_FORMAT);
    expect_load(ctx, path, 1e200, 1.0, f64, RBM_ERR_BAD_FORMAT);
    expect_load(ctx, path, 1.0, 5e-324, f64, RBM_ERR_BAD_FORMAT);
    expect_load(ctx, path, F32_LO, F32_HI, f32, RBM_OK);
    expect_load(ctx, path, nextafter(F32_HI, INFINITY), 1.0, f32, RBM_ERR_BAD_FORMAT);
    expect_load(ctx, path, 1.0, nextafter(F32_LO, 0.0), f32, RBM_ERR_BAD_FORMAT);
    remove(path);
    rbm_context_free(ctx);
}

/* ---- results at the extreme accepted sigmas ---- */

static void test_extreme_sigma_results(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 3, nh = 2;
    /* Gaussian visible, Bernoulli hidden, sigma_v = 2^511, small W and b. */
    rbm_machine *m = gauss_machine(ctx, RBM_UNIT_BERNOULLI);
    const double W[6] = {1e-150, -2e-150, 0.5e-150, 0, 3e-150, -1e-150};
    const double bh[2] = {0.25, -0.5};
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, 6));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, bh, 2));
    RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, F64_HI));
    const double s2 = 0x1p+1022;
    const double v[3] = {1e150, -2e150, 0.5e150}, h[2] = {1, 0};
    double out[6], want;

    /* E(v,h) = -v.W h - b.h + |v|^2/(2 s^2) */
    RBM_OKAY(ctx, rbm_machine_energy(m, 1, v, 3, h, 2, out, 1));
    want = -(v[0] * W[0] + v[1] * W[2] + v[2] * W[4]) - bh[0] +
           (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) / (2 * s2);
    rbm_assert_close(out[0], want, 1e-14, 0, "energy at sigma_v = 2^511");
    /* F(v) = |v|^2/(2 s^2) - sum_j softplus(b_j + (W^T v)_j) */
    RBM_OKAY(ctx, rbm_machine_free_energy(m, 1, v, 3, out, 1));
    want = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) / (2 * s2);
    for (size_t j = 0; j < nh; j++) {
        double u = bh[j] + v[0] * W[j] + v[1] * W[2 + j] + v[2] * W[4 + j];
        want -= log1p(exp(u));
    }
    rbm_assert_close(out[0], want, 1e-14, 0, "free energy at sigma_v = 2^511");
    /* F_h(h) = -b.h - sum_i Lambda_v((W h)_i), Lambda_v(u) = s^2 u^2/2 + log(2 pi s^2)/2 */
    RBM_OKAY(ctx, rbm_machine_free_energy_hidden(m, 1, h, 2, out, 1));
    want = -bh[0];
    for (size_t i = 0; i < nv; i++) {
        double u = W[i * nh];
        want -= s2 * u * u / 2 + 0.5 * (LOG_2PI + 1022 * log(2.0));
    }
    rbm_assert_close(out[0], want, 1e-13, 0, "hidden free energy at sigma_v = 2^511");
    assert_true(isfinite(out[0]));
    /* E[v|h] = s^2 W h: finite (about 4.5e157) */
    RBM_OKAY(ctx, rbm_machine_visible_mean(m, 1, h, 2, out, 3));
    for (size_t i = 0; i < nv; i++)
        rbm_assert_close(out[i], s2 * W[i * nh], 1e-15, 0, "visible mean at sigma_v = 2^511");
    /* samples s^2 W h + s z: finite, and within 10 s of the mean */
    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 7, &rng));
    RBM_OKAY(ctx, rbm_machine_sample_visible(m, rng, 1, h, 2, out, 3));
    for (size_t i = 0; i < nv; i++) {
        assert_true(isfinite(out[i]));
        assert_true(fabs(out[i] - s2 * W[i * nh]) < 10 * F64_HI);
    }

    /* Beyond what double holds the functions refuse with RBM_ERR_NUMERICAL
     * and leave out (and the generator) as they were. */
    const double hbig[2] = {1e151, 0}; /* (W h)_0 = 10: s^2 10 > DBL_MAX */
    for (size_t i = 0; i < 6; i++)
        out[i] = 42.0;
    RBM_CHECK(ctx, rbm_machine_visible_mean(m, 1, hbig, 2, out, 3), RBM_ERR_NUMERICAL);
    uint8_t st0[RBM_RNG_STATE_BYTES], st1[RBM_RNG_STATE_BYTES];
    RBM_OKAY(ctx, rbm_rng_get_state(rng, st0, sizeof st0));
    RBM_CHECK(ctx, rbm_machine_sample_visible(m, rng, 1, hbig, 2, out, 3), RBM_ERR_NUMERICAL);
    RBM_OKAY(ctx, rbm_rng_get_state(rng, st1, sizeof st1));
    assert_memory_equal(st0, st1, sizeof st0);
    for (size_t i = 0; i < 6; i++)
        out[i] = 42.0;
    RBM_CHECK(ctx, rbm_machine_free_energy_hidden(m, 1, hbig, 2, out, 1), RBM_ERR_NUMERICAL);
    assert_true(out[0] == 42.0);
    assert_non_null(strstr(rbm_context_last_error(ctx), "infinite"));

    /* sigma_v = 2^-511: phi(v) = v^2 2^1021 is finite for |v| <= 2 (2^1023)
     * and overflows for |v| = 4 */
    RBM_OKAY(ctx, rbm_machine_set_weights(m, (const double[6]){0}, 6));
    RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, F64_LO));
    const double v2[3] = {2, 0, 0}, v4[6] = {1, 0, 0, 4, 0, 0}, h0[4] = {0, 0, 0, 0};
    RBM_OKAY(ctx, rbm_machine_energy(m, 1, v2, 3, h0, 2, out, 1));
    assert_true(out[0] == 0x1p+1023);
    RBM_OKAY(ctx, rbm_machine_free_energy(m, 1, v2, 3, out, 1));
    rbm_assert_close(out[0], 0x1p+1023, 1e-15, 0, "free energy at sigma_v = 2^-511");
    out[0] = out[1] = 42.0;
    RBM_CHECK(ctx, rbm_machine_energy(m, 2, v4, 6, h0, 4, out, 2), RBM_ERR_NUMERICAL);
    assert_true(out[0] == 42.0 && out[1] == 42.0); /* row 0 is finite, still not written */
    RBM_CHECK(ctx, rbm_machine_free_energy(m, 2, v4, 6, out, 2), RBM_ERR_NUMERICAL);
    assert_true(out[0] == 42.0 && out[1] == 42.0);
    assert_non_null(strstr(rbm_context_last_error(ctx), "row 1"));

    /* float32 machine at sigma = 2^63 / 2^-63: the batch functions compute
     * in double and give the closed forms */
    rbm_machine *g = gauss_machine(ctx, RBM_UNIT_GAUSSIAN);
    RBM_OKAY(ctx, rbm_machine_set_precision(g, RBM_PRECISION_FLOAT32));
    RBM_OKAY(ctx, rbm_machine_set_sigma(g, RBM_LAYER_VISIBLE, F32_HI));
    RBM_OKAY(ctx, rbm_machine_set_sigma(g, RBM_LAYER_HIDDEN, F32_LO));
    const double hh[2] = {3, -1};
    RBM_OKAY(ctx, rbm_machine_free_energy_hidden(g, 1, hh, 2, out, 1));
    want = (9 + 1) / (2 * 0x1p-126) - 3 * 0.5 * (LOG_2PI + 126 * log(2.0));
    rbm_assert_close(out[0], want, 1e-15, 0, "float32 machine hidden free energy");
    RBM_OKAY(ctx, rbm_machine_hidden_mean(g, 1, v, 3, out, 2));
    assert_true(out[0] == 0 && out[1] == 0);

    rbm_rng_free(rng);
    rbm_machine_free(g);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* rbm_unit_eval / rbm_unit_sample take a Gaussian sigma too (computed in
 * double): the float64 range. */
static void test_unit_functions_sigma(void **state)
{
    (void)state;
    const double x[1] = {0.5};
    double mean[1], var[1], lp[1];
    assert_int_equal(rbm_unit_eval(RBM_UNIT_GAUSSIAN, F64_HI, 1, x, mean, 1, var, 1, lp, 1),
                     RBM_OK);
    assert_true(var[0] == 0x1p+1022 && mean[0] == 0x1p+1021);
    rbm_assert_close(lp[0], 0x1p+1022 * 0.125 + 0.5 * (LOG_2PI + 1022 * log(2.0)), 1e-15, 0,
                     "unit log-partition at 2^511");
    assert_int_equal(rbm_unit_eval(RBM_UNIT_GAUSSIAN, 1e200, 1, x, mean, 1, NULL, 0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_unit_eval(RBM_UNIT_GAUSSIAN, 5e-324, 1, x, mean, 1, NULL, 0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_unit_eval(RBM_UNIT_GAUSSIAN, nextafter(F64_LO, 0), 1, x, mean, 1, NULL,
                                   0, NULL, 0),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_unit_eval(RBM_UNIT_GAUSSIAN, F64_LO, 1, x, mean, 1, NULL, 0, NULL, 0),
                     RBM_OK);
    /* a discrete kind ignores sigma */
    assert_int_equal(rbm_unit_eval(RBM_UNIT_BERNOULLI, 1e200, 1, x, mean, 1, NULL, 0, NULL, 0),
                     RBM_OK);
    rbm_context *ctx = rbm_test_context();
    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 1, &rng));
    RBM_CHECK(ctx, rbm_unit_sample(RBM_UNIT_GAUSSIAN, 1e200, 1, x, rng, mean, 1),
              RBM_ERR_INVALID_ARGUMENT);
    rbm_rng_free(rng);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_sigma_bounds_float64),
        cmocka_unit_test(test_set_sigma_bounds_float32),
        cmocka_unit_test(test_load_sigma_bounds),
        cmocka_unit_test(test_extreme_sigma_results),
        cmocka_unit_test(test_unit_functions_sigma),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
