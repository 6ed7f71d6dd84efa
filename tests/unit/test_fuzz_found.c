/* librbm — test_fuzz_found: regressions for inputs the fuzz targets found
 * (tests/fuzz/, docs/reliability.md "Fuzzing"). Each input is rebuilt here
 * from a fixture, so the test does not depend on the fuzz corpus.
 *
 * - A checkpoint whose TRNS section holds k = 21467205614960642 Gibbs sweeps
 *   (far above the documented bound 2^31 - 1 of RBM_ESTIMATOR_K) loaded,
 *   and its first rbm_trainer_step ran "forever" (fuzz_checkpoint timeout).
 *   The loader must refuse it with RBM_ERR_BAD_FORMAT, and
 *   rbm_trainer_set_estimator, which the loader goes through, must refuse
 *   such a k with RBM_ERR_INVALID_ARGUMENT and keep its estimator.
 * - A checkpoint of an Adam run with a negative second moment (a running
 *   mean of squares) loaded, and its next step returned RBM_OK with a NaN
 *   weight (sqrt of a negative number): the cheap bound that lets Adam skip
 *   the dry run of an update assumes moments built from zero. The loader
 *   must refuse negative second moments and finite moments no run can
 *   reach (m = 1e308 beside s = 1e-300), with RBM_ERR_BAD_FORMAT.
 * - A checkpoint of a float32 run whose persistent chain held a visible
 *   state of 1.08e219 (finite as the f64 of the file, Inf as the float the
 *   run keeps) loaded, and the trainer could then never be saved
 *   (rbm_trainer_save_checkpoint: RBM_ERR_STATE, "chain visible state[73]
 *   is not finite"). The loader must refuse it with RBM_ERR_BAD_FORMAT.
 * - A checkpoint whose TRNS section had the required bit set loaded as a
 *   checkpoint but not as a model; both loaders must refuse it. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    unsigned char *b = malloc((size_t)len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

typedef struct patch {
    size_t at;      /* offset in the TRNS payload */
    uint64_t bits;  /* little-endian u64 (or the bits of an f64) written there */
} patch;

static uint64_t f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* pcd.ckpt with n patches applied to its TRNS section and the section's
 * CRC-32 recomputed, written to path. */
static void write_pcd_patched(const char *path, const patch *p, size_t np)
{
    size_t n;
    unsigned char *b = slurp(RBM_TEST_DATA "/checkpoints/pcd.ckpt", &n);
    size_t off = 24; /* first section */
    for (;;) {
        assert_true(off + 24 <= n);
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | b[off + 8 + (size_t)i];
        if (memcmp(b + off, "TRNS", 4) == 0) {
            for (size_t i = 0; i < np; i++) {
                assert_true(p[i].at + 8 <= len);
                put_u64(b + off + 24 + p[i].at, p[i].bits);
            }
            uint32_t c = rbm_test_crc32(0, b + off, 20);
            c = rbm_test_crc32(c, b + off + 24, (size_t)len);
            for (int i = 0; i < 4; i++)
                b[off + 20 + (size_t)i] = (unsigned char)(c >> (8 * i));
            break;
        }
        off += 24 + (size_t)len;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(b);
}

/* pcd.ckpt with the k field of its TRNS section (payload offset 64,
 * docs/file-format.md) set to k. */
static void write_pcd_with_k(const char *path, uint64_t k)
{
    const patch p = {64, k};
    write_pcd_patched(path, &p, 1);
}

/* TRNS payload offsets of pcd.ckpt (M = 100 rows, n = 12 x 6 + 12 + 6 = 90
 * parameters; docs/file-format.md): the first moments of W start after the
 * row order and the 'present' flag, the second moments after those. */
enum {
    PCD_FIRST_W0 = 284 + 8 * 100 + 4,
    PCD_SECOND_W0 = PCD_FIRST_W0 + 8 * 90 + 4,
    PCD_CHAINS = PCD_SECOND_W0 + 8 * 90, /* C, then the chains' rng (48 bytes) */
    PCD_CHAIN_V0 = PCD_CHAINS + 8 + 48   /* C x 12 visible states */
};

/* A TRNS section with the required bit set loaded as a checkpoint, while
 * rbm_machine_load refuses the same file ("required but not supported"):
 * the format makes TRNS optional so that every model reader can read a
 * checkpoint as its model. Both loaders must refuse it. */
static void test_trns_required_bit(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, RBM_UNIT_BERNOULLI, 11, &d));
    char dir[] = "/tmp/rbm-fuzz-found-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/flags.ckpt", dir);
    size_t n;
    unsigned char *b = slurp(RBM_TEST_DATA "/checkpoints/pcd.ckpt", &n);
    const size_t off = 840; /* pcd.ckpt's TRNS section header */
    assert_memory_equal(b + off, "TRNS", 4);
    assert_int_equal(b[off + 4], 0);
    b[off + 4] = 1; /* the required bit */
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | b[off + 8 + (size_t)i];
    uint32_t c = rbm_test_crc32(rbm_test_crc32(0, b + off, 20), b + off + 24, (size_t)len);
    for (int i = 0; i < 4; i++)
        b[off + 20 + (size_t)i] = (unsigned char)(c >> (8 * i));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(b);

    rbm_machine *model = NULL;
    RBM_CHECK(ctx, rbm_machine_load(ctx, path, &model), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "required"));
    rbm_machine *m = (rbm_machine *)1;
    rbm_trainer *t = (rbm_trainer *)1;
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t), RBM_ERR_BAD_FORMAT);
    assert_null(m);
    assert_null(t);
    assert_non_null(strstr(rbm_context_last_error(ctx), "required bit"));
    unlink(path);
    rmdir(dir);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_float32_chain_range(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, RBM_UNIT_BERNOULLI, 11, &d));
    char dir[] = "/tmp/rbm-fuzz-found-XXXXXX", path[256], again[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/chain.ckpt", dir);
    snprintf(again, sizeof again, "%s/again.ckpt", dir);

    /* The offsets are right: pcd.ckpt is a float32 run with 16 chains, and
     * visible state 73 (chain 6, unit 1) set to 1 loads and saves back. */
    size_t n;
    unsigned char *b = slurp(RBM_TEST_DATA "/checkpoints/pcd.ckpt", &n);
    assert_int_equal(b[840 + 24 + PCD_CHAINS], 16);
    free(b);
    const patch one = {PCD_CHAIN_V0 + 8 * 73, f64_bits(1.0)};
    write_pcd_patched(path, &one, 1);
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t));
    assert_int_equal(rbm_machine_precision(m), RBM_PRECISION_FLOAT32);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, again));
    rbm_trainer_free(t);
    rbm_machine_free(m);

    /* The value the fuzzer found, and the first double above FLT_MAX. */
    const double bad[] = {1.0788590662033708e+219, 3.4028234663852886e+38 * (1 + 1e-15)};
    for (size_t i = 0; i < 2; i++) {
        const patch p = {PCD_CHAIN_V0 + 8 * 73, f64_bits(bad[i])};
        write_pcd_patched(path, &p, 1);
        m = (rbm_machine *)1;
        t = (rbm_trainer *)1;
        RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t), RBM_ERR_BAD_FORMAT);
        assert_null(m);
        assert_null(t);
        assert_non_null(strstr(rbm_context_last_error(ctx), "chain visible state[73]"));
    }
    unlink(path);
    unlink(again);
    rmdir(dir);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_adam_moments(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, RBM_UNIT_BERNOULLI, 11, &d));
    char dir[] = "/tmp/rbm-fuzz-found-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/adam.ckpt", dir);

    /* The 'present' flags sit where the offsets above say. */
    size_t n;
    unsigned char *b = slurp(RBM_TEST_DATA "/checkpoints/pcd.ckpt", &n);
    assert_true(n == 5764);
    const size_t trns = 840 + 24; /* payload of pcd.ckpt's TRNS section */
    assert_memory_equal(b + 840, "TRNS", 4);
    assert_int_equal(b[trns + PCD_FIRST_W0 - 4], 1);
    assert_int_equal(b[trns + PCD_SECOND_W0 - 4], 1);
    free(b);

    /* A negative second moment: refused by the loader. */
    const patch neg = {PCD_SECOND_W0 + 8 * 32, f64_bits(-42463.0)};
    write_pcd_patched(path, &neg, 1);
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t), RBM_ERR_BAD_FORMAT);
    assert_null(m);
    assert_null(t);
    assert_non_null(strstr(rbm_context_last_error(ctx), "second moment W[32]"));

    /* m = 1e308 beside s = 1e-300 for W[0], learning rate 1 (payload offset
     * 76): all finite, s >= 0, the rate within its bounds, but no Adam run
     * grown from zero has |m| > K sqrt(s) (the bound that lets an update skip
     * its dry run; with it the step would write an infinite weight): the
     * loader refuses it. */
    const patch big[3] = {{PCD_FIRST_W0, f64_bits(1e308)},
                          {PCD_SECOND_W0, f64_bits(1e-300)},
                          {76, f64_bits(1.0)}};
    write_pcd_patched(path, big, 3);
    m = (rbm_machine *)1;
    t = (rbm_trainer *)1;
    RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t), RBM_ERR_BAD_FORMAT);
    assert_null(m);
    assert_null(t);
    assert_non_null(strstr(rbm_context_last_error(ctx), "first moment W[0]"));

    unlink(path);
    rmdir(dir);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_checkpoint_k_bound(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, RBM_UNIT_BERNOULLI, 11, &d));
    char dir[] = "/tmp/rbm-fuzz-found-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k.ckpt", dir);

    /* The rewriting itself is sound: k = 3 (and the bound itself) loads and
     * reads back. */
    const uint64_t good[] = {3, 2147483647u};
    for (size_t i = 0; i < 2; i++) {
        write_pcd_with_k(path, good[i]);
        rbm_machine *m = NULL;
        rbm_trainer *t = NULL;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t));
        int64_t k = 0;
        RBM_OKAY(ctx, rbm_estimator_get_int(rbm_trainer_estimator(t), RBM_ESTIMATOR_K, &k));
        assert_int_equal(k, (int64_t)good[i]);
        rbm_trainer_free(t);
        rbm_machine_free(m);
    }

    /* The value the fuzzer found, and the first one past the bound. */
    const uint64_t bad[] = {21467205614960642u, 2147483648u, UINT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        write_pcd_with_k(path, bad[i]);
        rbm_machine *m = (rbm_machine *)1;
        rbm_trainer *t = (rbm_trainer *)1;
        RBM_CHECK(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m, &t), RBM_ERR_BAD_FORMAT);
        assert_null(m);
        assert_null(t);
        assert_non_null(strstr(rbm_context_last_error(ctx), "exceeds"));
    }
    unlink(path);
    rmdir(dir);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

static void test_set_estimator_k_bound(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 40, 0, 0, 8, 0.1, RBM_UNIT_BERNOULLI, 5, &d));
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 8, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, d, 8, 1, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_CD, 2147483647u));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 4));
    const rbm_estimator *before = rbm_trainer_estimator(t);
    const rbm_estimator_kind kinds[] = {RBM_ESTIMATOR_CD, RBM_ESTIMATOR_PCD, RBM_ESTIMATOR_EXACT,
                                        RBM_ESTIMATOR_MF, RBM_ESTIMATOR_TAP2};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        RBM_CHECK(ctx, rbm_trainer_set_estimator(t, kinds[i], (size_t)2147483648u),
                  RBM_ERR_INVALID_ARGUMENT);
        RBM_CHECK(ctx, rbm_trainer_set_estimator(t, kinds[i], (size_t)21467205614960642u),
                  RBM_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(rbm_context_last_error(ctx), "exceeds the limit"));
    }
    /* A refused call keeps the estimator. */
    assert_ptr_equal(rbm_trainer_estimator(t), before);
    assert_int_equal(rbm_estimator_kind_of(before), RBM_ESTIMATOR_PCD);
    int64_t k = 0;
    RBM_OKAY(ctx, rbm_estimator_get_int(before, RBM_ESTIMATOR_K, &k));
    assert_int_equal(k, 4);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_k_bound),
        cmocka_unit_test(test_set_estimator_k_bound),
        cmocka_unit_test(test_adam_moments),
        cmocka_unit_test(test_float32_chain_range),
        cmocka_unit_test(test_trns_required_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
