/* Tests for model files: rbm_machine_save / rbm_machine_load and the byte
 * layout of docs/file-format.md.
 *
 * The file layout is re-implemented here independently from the spec (own
 * little-endian helpers, own bitwise CRC-32), so the documentation, the
 * writer and the reader are checked against each other. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <float.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* helpers: scratch directory, files                                       */
/* ---------------------------------------------------------------------- */

static char g_dir[512];

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/rbm-test-io-XXXXXX", base);
    return mkdtemp(g_dir) ? 0 : -1;
}

static void remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int teardown_dir(void **state)
{
    (void)state;
    remove_tree(g_dir);
    return 0;
}

static void path_in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static void write_all(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    if (n > 0 && fwrite(p, 1, n, f) != n)
        fail_msg("cannot write %s", path);
    if (fclose(f) != 0)
        fail_msg("cannot close %s", path);
}

/* Number of entries in g_dir whose name contains s. */
static int count_entries_containing(const char *s)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, s))
            n++;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------------- */
/* helpers: spec re-implementation                                         */
/* ---------------------------------------------------------------------- */

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint16_t rd_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint64_t rd_u64(const unsigned char *p)
{
    return (uint64_t)rd_u32(p) | ((uint64_t)rd_u32(p + 4) << 32);
}

static uint64_t bits_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* A byte buffer that builds files from the spec. */
typedef tbuf bbuf; /* testutil.h */

static void bb_u16(bbuf *b, uint16_t v)
{
    unsigned char c[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    tbuf_put(b, c, 2);
}

static void bb_u32(bbuf *b, uint32_t v)
{
    unsigned char c[4];
    for (int i = 0; i < 4; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    tbuf_put(b, c, 4);
}

static void bb_u64(bbuf *b, uint64_t v)
{
    bb_u32(b, (uint32_t)v);
    bb_u32(b, (uint32_t)(v >> 32));
}

static void bb_f64(bbuf *b, double x)
{
    bb_u64(b, bits_of(x));
}

static void bb_patch_u32(bbuf *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->p[at + i] = (unsigned char)(v >> (8 * i));
}

static void bb_patch_u64(bbuf *b, size_t at, uint64_t v)
{
    bb_patch_u32(b, at, (uint32_t)v);
    bb_patch_u32(b, at + 4, (uint32_t)(v >> 32));
}

static const unsigned char spec_magic[8] = {0x89, 0x52, 0x42, 0x4D, 0x0D, 0x0A, 0x1A, 0x0A};

/* File header: magic, major, minor, section count, flags, CRC of bytes 0..19. */
static void bb_header(bbuf *b, uint16_t major, uint16_t minor, uint32_t count)
{
    size_t at = b->n;
    tbuf_put(b, spec_magic, 8);
    bb_u16(b, major);
    bb_u16(b, minor);
    bb_u32(b, count);
    bb_u32(b, 0);
    bb_u32(b, rbm_test_crc32(0, b->p + at, 20));
}

/* Section header: tag, flags, length (patched by bb_end), reserved, CRC. */
static size_t bb_begin(bbuf *b, const char *tag, uint32_t flags)
{
    size_t at = b->n;
    tbuf_put(b, tag, 4);
    bb_u32(b, flags);
    bb_u64(b, 0);
    bb_u32(b, 0);
    bb_u32(b, 0);
    return at;
}

/* Close a section: store its payload length (or claim when != UINT64_MAX)
 * and the CRC of header bytes 0..19 followed by the payload. */
static void bb_end_claim(bbuf *b, size_t at, uint64_t claim)
{
    uint64_t len = b->n - at - 24;
    bb_patch_u64(b, at + 8, claim == UINT64_MAX ? len : claim);
    uint32_t crc = rbm_test_crc32(0, b->p + at, 20);
    crc = rbm_test_crc32(crc, b->p + at + 24, (size_t)len);
    bb_patch_u32(b, at + 20, crc);
}

static void bb_end(bbuf *b, size_t at)
{
    bb_end_claim(b, at, UINT64_MAX);
}

static void bb_model(bbuf *b, uint64_t nv, uint64_t nh, uint32_t vk, uint32_t hk, double sv,
                     double sh, uint32_t prec)
{
    size_t at = bb_begin(b, "MODL", 1);
    bb_u64(b, nv);
    bb_u64(b, nh);
    bb_u32(b, vk);
    bb_u32(b, hk);
    bb_f64(b, sv);
    bb_f64(b, sh);
    bb_u32(b, prec);
    bb_u32(b, 0);
    bb_end(b, at);
}

/* 'params' with value k*0.125 - 1 at flat index k, except index bad_at
 * (when < count) which gets bad_value. */
static void bb_params(bbuf *b, size_t count, size_t bad_at, double bad_value)
{
    size_t at = bb_begin(b, "PARM", 1);
    for (size_t k = 0; k < count; k++)
        bb_f64(b, k == bad_at ? bad_value : (double)k * 0.125 - 1.0);
    bb_end(b, at);
}

/* Load the buffer as a file and return the status; *out receives the
 * machine on success (else must stay NULL). */
static rbm_status load_bytes(rbm_context *ctx, const bbuf *b, rbm_machine **out)
{
    char path[600];
    path_in_dir(path, sizeof path, "crafted.rbm");
    write_all(path, b->p, b->n);
    rbm_machine *m = (rbm_machine *)0x1;
    rbm_status st = rbm_machine_load(ctx, path, &m);
    if (st != RBM_OK)
        assert_null(m);
    if (out)
        *out = m;
    else
        rbm_machine_free(m);
    return st;
}

/* ---------------------------------------------------------------------- */
/* helpers: machines                                                       */
/* ---------------------------------------------------------------------- */

static rbm_machine *random_machine(rbm_context *ctx, size_t nv, size_t nh, rbm_unit_kind vk,
                                   rbm_unit_kind hk, uint64_t seed)
{
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, nv, nh, vk, hk, &m));
    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, seed, &rng));
    double *w = malloc(nv * nh * sizeof *w), *a = malloc(nv * sizeof *a),
           *b = malloc(nh * sizeof *b);
    assert_true(w && a && b);
    /* Small couplings keep Gauss-Gauss machines normalisable. */
    double scale = (vk == RBM_UNIT_GAUSSIAN && hk == RBM_UNIT_GAUSSIAN) ? 0.3 / (double)(nv + nh)
                                                                        : 2.0;
    for (size_t k = 0; k < nv * nh; k++)
        w[k] = scale * rbm_rng_normal(rng);
    for (size_t i = 0; i < nv; i++)
        a[i] = rbm_rng_normal(rng);
    for (size_t j = 0; j < nh; j++)
        b[j] = rbm_rng_normal(rng);
    if (vk == RBM_UNIT_GAUSSIAN)
        RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, 0.5 + rbm_rng_uniform(rng)));
    if (hk == RBM_UNIT_GAUSSIAN)
        RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, 0.5 + rbm_rng_uniform(rng)));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w, nv * nh));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, nv));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, nh));
    free(w);
    free(a);
    free(b);
    rbm_rng_free(rng);
    return m;
}

/* Two machines identical, bit for bit (tests/common/testutil.c). */
#define assert_same_machine rbm_assert_same_machine

/* ---------------------------------------------------------------------- */
/* round trips                                                             */
/* ---------------------------------------------------------------------- */

static void test_roundtrip_all_kinds(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    char path[600];
    path_in_dir(path, sizeof path, "roundtrip.rbm");
    int combo = 0;
    for (int vk = 0; vk < 3; vk++) {
        for (int hk = 0; hk < 3; hk++, combo++) {
            size_t nv = 3 + (size_t)combo % 4, nh = 2 + (size_t)combo % 3;
            rbm_machine *m = random_machine(ctx, nv, nh, (rbm_unit_kind)vk, (rbm_unit_kind)hk,
                                            1000 + (uint64_t)combo);
            if (combo % 2)
                RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
            RBM_OKAY(ctx, rbm_machine_save(m, path));
            rbm_machine *back = NULL;
            RBM_OKAY(ctx, rbm_machine_load(ctx, path, &back));
            assert_non_null(back);
            assert_ptr_equal(rbm_machine_context(back), ctx);
            assert_same_machine(m, back);
            rbm_machine_free(back);
            rbm_machine_free(m);
        }
    }
    assert_int_equal(count_entries_containing(".rbm-tmp."), 0);
    rbm_context_free(ctx);
}

/* Values whose bits a text or float32 format would lose. */
static void test_roundtrip_special_values(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 2, 4, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, &m));
    double w[8] = {-0.0, 4.9406564584124654e-324, DBL_MAX, -DBL_MAX, DBL_MIN, 0.1, -1.0 / 3.0,
                   1e300};
    double a[2] = {DBL_EPSILON, -2.2250738585072009e-308};
    double b[4] = {0.0, -0.0, 1.0 + DBL_EPSILON, 123456789.123456789};
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w, 8));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, 2));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, 4));
    char path[600];
    path_in_dir(path, sizeof path, "special.rbm");
    RBM_OKAY(ctx, rbm_machine_save(m, path));
    rbm_machine *back = NULL;
    RBM_OKAY(ctx, rbm_machine_load(ctx, path, &back));
    assert_same_machine(m, back);
    double got[8];
    RBM_OKAY(ctx, rbm_machine_get_weights(back, got, 8));
    assert_memory_equal(got, w, sizeof w);
    rbm_machine_free(back);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* A larger machine crosses the 8 KiB I/O buffer boundaries. */
static void test_roundtrip_large(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = random_machine(ctx, 97, 61, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, 7);
    char path[600];
    path_in_dir(path, sizeof path, "large.rbm");
    RBM_OKAY(ctx, rbm_machine_save(m, path));
    size_t len = 0;
    free(rbm_test_read_file(path, &len));
    assert_int_equal(len, 24 + 24 + 48 + 24 + 8 * (97 * 61 + 97 + 61));
    rbm_machine *back = NULL;
    RBM_OKAY(ctx, rbm_machine_load(ctx, path, &back));
    assert_same_machine(m, back);
    rbm_machine_free(back);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* the documented layout, read by hand                                     */
/* ---------------------------------------------------------------------- */

static void test_documented_layout(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 2, 3, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, &m));
    double w[6] = {0.5, -0.25, 1.0, 2.0, -3.5, 0.125};
    double a[2] = {0.75, -1.5};
    double b[3] = {0.0625, -2.0, 4.0};
    RBM_OKAY(ctx, rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, 0.5));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w, 6));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, 2));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, 3));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    char path[600];
    path_in_dir(path, sizeof path, "layout.rbm");
    RBM_OKAY(ctx, rbm_machine_save(m, path));
    size_t n = 0;
    unsigned char *f = rbm_test_read_file(path, &n);

    /* file header, 24 bytes */
    assert_int_equal(n, 24 + 24 + 48 + 24 + 8 * 11);
    assert_memory_equal(f, spec_magic, 8);
    assert_int_equal(rd_u16(f + 8), 1);  /* major */
    assert_int_equal(rd_u16(f + 10), 0); /* minor */
    assert_int_equal(rd_u32(f + 12), 2); /* section count */
    assert_int_equal(rd_u32(f + 16), 0); /* flags */
    assert_int_equal(rd_u32(f + 20), rbm_test_crc32(0, f, 20));

    /* section 1: 'model' at offset 24 */
    const unsigned char *s = f + 24;
    assert_memory_equal(s, "MODL", 4);
    assert_int_equal(rd_u32(s + 4), 1);  /* required */
    assert_int_equal(rd_u64(s + 8), 48); /* payload length */
    assert_int_equal(rd_u32(s + 16), 0); /* reserved */
    assert_int_equal(rd_u32(s + 20), rbm_test_crc32(rbm_test_crc32(0, s, 20), s + 24, 48));
    const unsigned char *p = s + 24;
    assert_int_equal(rd_u64(p + 0), 2);  /* n_visible */
    assert_int_equal(rd_u64(p + 8), 3);  /* n_hidden */
    assert_int_equal(rd_u32(p + 16), 1); /* visible kind: Ising */
    assert_int_equal(rd_u32(p + 20), 2); /* hidden kind: Gaussian */
    assert_true(rd_u64(p + 32) == bits_of(0.5)); /* sigma_h */
    double sv = rbm_machine_sigma(m, RBM_LAYER_VISIBLE); /* unused for Ising */
    if (isfinite(sv) && sv > 0)
        assert_true(rd_u64(p + 24) == bits_of(sv));
    else
        assert_true(rd_u64(p + 24) == bits_of(1.0));
    assert_int_equal(rd_u32(p + 40), 1); /* precision float32 */
    assert_int_equal(rd_u32(p + 44), 0); /* reserved */

    /* section 2: 'params' at offset 96 */
    s = f + 96;
    assert_memory_equal(s, "PARM", 4);
    assert_int_equal(rd_u32(s + 4), 1);
    assert_int_equal(rd_u64(s + 8), 88);
    assert_int_equal(rd_u32(s + 16), 0);
    assert_int_equal(rd_u32(s + 20), rbm_test_crc32(rbm_test_crc32(0, s, 20), s + 24, 88));
    p = s + 24;
    for (int k = 0; k < 6; k++) /* W row-major: w_ij at i*N_h + j */
        assert_true(rd_u64(p + 8 * k) == bits_of(w[k]));
    for (int i = 0; i < 2; i++)
        assert_true(rd_u64(p + 48 + 8 * i) == bits_of(a[i]));
    for (int j = 0; j < 3; j++)
        assert_true(rd_u64(p + 64 + 8 * j) == bits_of(b[j]));
    /* spot check the byte order of one value: 0.5 = 0x3FE0000000000000 */
    static const unsigned char half[8] = {0, 0, 0, 0, 0, 0, 0xE0, 0x3F};
    assert_memory_equal(p, half, 8);

    /* And the reverse: a file built from the spec loads to the same machine. */
    bbuf bb = {0};
    bb_header(&bb, 1, 0, 2);
    bb_model(&bb, 2, 3, 1, 2, 1.0, 0.5, 1);
    size_t at = bb_begin(&bb, "PARM", 1);
    for (int k = 0; k < 6; k++)
        bb_f64(&bb, w[k]);
    for (int i = 0; i < 2; i++)
        bb_f64(&bb, a[i]);
    for (int j = 0; j < 3; j++)
        bb_f64(&bb, b[j]);
    bb_end(&bb, at);
    rbm_machine *back = NULL;
    RBM_OKAY(ctx, load_bytes(ctx, &bb, &back));
    assert_same_machine(m, back);
    rbm_machine_free(back);
    free(bb.p);
    free(f);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* The hex example of docs/file-format.md, byte for byte. */
static void test_documented_example(void **state)
{
    (void)state;
    static const unsigned char example[] = {
        0x89, 0x52, 0x42, 0x4d, 0x0d, 0x0a, 0x1a, 0x0a,
        0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x0f, 0xce, 0xd8, 0x7f,
        0x4d, 0x4f, 0x44, 0x4c, 0x01, 0x00, 0x00, 0x00,
        0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xe3, 0x18, 0xe8, 0x73,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x41, 0x52, 0x4d, 0x01, 0x00, 0x00, 0x00,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x19, 0x98, 0x86, 0xd9,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xbf,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x3f,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
    };
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 2, 1, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    double w[2] = {0.5, -1.0}, a[2] = {0.25, 0.0}, b[1] = {-2.0};
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w, 2));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, 2));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, b, 1));
    char path[600];
    path_in_dir(path, sizeof path, "example.rbm");
    RBM_OKAY(ctx, rbm_machine_save(m, path));
    size_t n = 0;
    unsigned char *f = rbm_test_read_file(path, &n);
    assert_int_equal(n, sizeof example);
    assert_memory_equal(f, example, sizeof example);
    /* and the documented bytes load to the documented machine */
    bbuf bb = {(unsigned char *)(uintptr_t)example, sizeof example, sizeof example};
    rbm_machine *back = NULL;
    RBM_OKAY(ctx, load_bytes(ctx, &bb, &back));
    assert_same_machine(m, back);
    rbm_machine_free(back);
    free(f);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* damaged files                                                           */
/* ---------------------------------------------------------------------- */

static unsigned char *small_model_file(rbm_context *ctx, size_t *n)
{
    rbm_machine *m = random_machine(ctx, 3, 2, RBM_UNIT_GAUSSIAN, RBM_UNIT_ISING, 42);
    char path[600];
    path_in_dir(path, sizeof path, "small.rbm");
    RBM_OKAY(ctx, rbm_machine_save(m, path));
    rbm_machine_free(m);
    return rbm_test_read_file(path, n);
}

static void test_truncation_every_offset(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    size_t n = 0;
    unsigned char *f = small_model_file(ctx, &n);
    assert_int_equal(n, 24 + 24 + 48 + 24 + 8 * 11);
    for (size_t len = 0; len < n; len++) {
        bbuf b = {f, len, len};
        rbm_status st = load_bytes(ctx, &b, NULL);
        if (st != RBM_ERR_BAD_FORMAT)
            fail_msg("truncated to %zu of %zu bytes: %s (%s)", len, n, rbm_status_name(st),
                     rbm_context_last_error(ctx));
        if (!strstr(rbm_context_last_error(ctx), "truncated"))
            fail_msg("truncated to %zu bytes: detail '%s' does not say so", len,
                     rbm_context_last_error(ctx));
    }
    /* The whole file still loads. */
    bbuf whole = {f, n, n};
    RBM_OKAY(ctx, load_bytes(ctx, &whole, NULL));
    free(f);
    rbm_context_free(ctx);
}

static void test_truncation_message(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    size_t n = 0;
    unsigned char *f = small_model_file(ctx, &n);
    bbuf b = {f, 130, 130};
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    /* params payload: 88 bytes starting at offset 120 */
    assert_non_null(strstr(rbm_context_last_error(ctx),
                           "truncated: section 'params' needs 88 bytes at offset 120, "
                           "file has 130"));
    free(f);
    rbm_context_free(ctx);
}

static void test_flip_every_byte(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    size_t n = 0;
    unsigned char *f = small_model_file(ctx, &n);
    static const unsigned char masks[] = {0xFF, 0x01, 0x80, 0x10};
    for (size_t mi = 0; mi < sizeof masks; mi++) {
        for (size_t i = 0; i < n; i++) {
            f[i] ^= masks[mi];
            bbuf b = {f, n, n};
            rbm_status st = load_bytes(ctx, &b, NULL);
            f[i] ^= masks[mi];
            if (st != RBM_ERR_BAD_FORMAT)
                fail_msg("byte %zu ^ 0x%02x: %s (%s)", i, masks[mi], rbm_status_name(st),
                         rbm_context_last_error(ctx));
        }
    }
    free(f);
    rbm_context_free(ctx);
}

static void test_crc_message_names_section(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    size_t n = 0;
    unsigned char *f = small_model_file(ctx, &n);
    bbuf b = {f, n, n};
    f[130] ^= 0x04; /* inside the params payload */
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "checksum"));
    assert_non_null(strstr(rbm_context_last_error(ctx), "'params'"));
    f[130] ^= 0x04;
    f[60] ^= 0x04; /* inside the model payload */
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "'model'"));
    free(f);
    rbm_context_free(ctx);
}

static void test_not_a_model_file(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *text = "v1,v2,v3\n0,1,0\n1,1,0\n1,0,1\n";
    bbuf b = {(unsigned char *)(uintptr_t)text, strlen(text), strlen(text)};
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "magic"));
    bbuf tiny = {(unsigned char *)(uintptr_t)"PK", 2, 2};
    RBM_CHECK(ctx, load_bytes(ctx, &tiny, NULL), RBM_ERR_BAD_FORMAT);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* hand-crafted files                                                      */
/* ---------------------------------------------------------------------- */

/* A valid 2 x 1 Bernoulli file with an extra section (tag, flags, payload
 * length extra_len) inserted at position where (0: before 'model', 1:
 * between, 2: after 'params'). */
static void build_with_extra(bbuf *b, int where, const char *tag, uint32_t flags,
                             size_t extra_len, uint16_t minor)
{
    b->n = 0;
    bb_header(b, 1, minor, 3);
    for (int pos = 0; pos < 3; pos++) {
        if (pos == where) {
            size_t at = bb_begin(b, tag, flags);
            for (size_t k = 0; k < extra_len; k++) {
                unsigned char c = (unsigned char)(k * 7 + 1);
                tbuf_put(b, &c, 1);
            }
            bb_end(b, at);
        }
        if (pos == 0)
            bb_model(b, 2, 1, 0, 0, 1.0, 1.0, 0);
        if (pos == 1)
            bb_params(b, 5, SIZE_MAX, 0);
    }
}

static void test_unknown_sections(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    bbuf b = {0};
    for (int where = 0; where < 3; where++) {
        /* optional: skipped, including one larger than the reader's buffer */
        size_t lens[] = {0, 13, 20000};
        for (size_t li = 0; li < 3; li++) {
            build_with_extra(&b, where, "XTRA", 0, lens[li], 0);
            rbm_machine *m = NULL;
            RBM_OKAY(ctx, load_bytes(ctx, &b, &m));
            double w[2];
            RBM_OKAY(ctx, rbm_machine_get_weights(m, w, 2));
            assert_true(w[0] == -1.0 && w[1] == -0.875);
            rbm_machine_free(m);
        }
        /* required: refused, naming it */
        build_with_extra(&b, where, "XTRA", 1, 16, 0);
        RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
        assert_non_null(strstr(rbm_context_last_error(ctx), "'XTRA'"));
        /* optional but corrupted: its CRC is still checked */
        build_with_extra(&b, where, "XTRA", 0, 16, 0);
        size_t extra_at = where == 0 ? 24 : where == 1 ? 24 + 72 : 24 + 72 + 24 + 40;
        b.p[extra_at + 24 + 3] ^= 0x20;
        RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
        assert_non_null(strstr(rbm_context_last_error(ctx), "checksum"));
    }
    /* A later minor version (more optional sections) is still read. */
    build_with_extra(&b, 2, "STEP", 0, 8, 9);
    RBM_OKAY(ctx, load_bytes(ctx, &b, NULL));
    free(b.p);
    rbm_context_free(ctx);
}

static void test_structure_errors(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    bbuf b = {0};

    /* unsupported major versions */
    for (uint16_t major = 0; major < 4; major++) {
        if (major == 1)
            continue;
        b.n = 0;
        bb_header(&b, major, 0, 2);
        bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
        bb_params(&b, 5, SIZE_MAX, 0);
        RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
        assert_non_null(strstr(rbm_context_last_error(ctx), "version"));
    }
    /* params before model */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_params(&b, 5, SIZE_MAX, 0);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    /* model twice */
    b.n = 0;
    bb_header(&b, 1, 0, 3);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    /* params twice */
    b.n = 0;
    bb_header(&b, 1, 0, 3);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    /* params missing */
    b.n = 0;
    bb_header(&b, 1, 0, 1);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "missing section 'params'"));
    /* no sections at all */
    b.n = 0;
    bb_header(&b, 1, 0, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    /* trailing bytes after the declared sections */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_OKAY(ctx, load_bytes(ctx, &b, NULL));
    bb_u64(&b, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    /* params of the wrong length for the model */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    bb_params(&b, 6, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    /* model section of the wrong length (valid CRC) */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    size_t at = bb_begin(&b, "MODL", 1);
    bb_u64(&b, 2);
    bb_u64(&b, 1);
    bb_end(&b, at);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    free(b.p);
    rbm_context_free(ctx);
}

static void test_bad_field_values(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    bbuf b = {0};
    struct {
        uint64_t nv, nh;
        uint32_t vk, hk;
        double sv, sh;
        uint32_t prec;
        const char *expect;
    } cases[] = {
        {0, 1, 0, 0, 1, 1, 0, "n_visible"},
        {1, 0, 0, 0, 1, 1, 0, "n_hidden"},
        {2, 1, 4, 0, 1, 1, 0, "visible unit kind 4"},
        {2, 1, 3, 0, 1, 1, 0, "0 Potts states"}, /* Potts without q (offset 44 is 0) */
        {2, 1, 0, 3, 1, 1, 0, "hidden unit kind 3"}, /* Potts hidden units */
        {2, 1, 0, 0xFFFFFFFFu, 1, 1, 0, "hidden unit kind"},
        {2, 1, 2, 0, 0.0, 1, 0, "sigma_v"},
        {2, 1, 2, 0, -1.0, 1, 0, "sigma_v"},
        {2, 1, 0, 2, 1, NAN, 0, "sigma_h"},
        {2, 1, 0, 2, 1, INFINITY, 0, "sigma_h"},
        {2, 1, 0, 0, 1, 1, 2, "precision"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        b.n = 0;
        bb_header(&b, 1, 0, 2);
        bb_model(&b, cases[c].nv, cases[c].nh, cases[c].vk, cases[c].hk, cases[c].sv,
                 cases[c].sh, cases[c].prec);
        bb_params(&b, (size_t)(cases[c].nv * cases[c].nh + cases[c].nv + cases[c].nh),
                  SIZE_MAX, 0);
        rbm_status st = load_bytes(ctx, &b, NULL);
        if (st != RBM_ERR_BAD_FORMAT)
            fail_msg("case %zu: %s (%s)", c, rbm_status_name(st), rbm_context_last_error(ctx));
        if (!strstr(rbm_context_last_error(ctx), cases[c].expect))
            fail_msg("case %zu: detail '%s' lacks '%s'", c, rbm_context_last_error(ctx),
                     cases[c].expect);
    }
    /* non-finite parameters (valid CRC) */
    struct {
        size_t index;
        double value;
        const char *expect;
    } pcases[] = {
        {0, NAN, "W[0]"}, {1, INFINITY, "W[1]"}, {3, -INFINITY, "a[1]"}, {4, NAN, "b[0]"},
    };
    for (size_t c = 0; c < sizeof pcases / sizeof pcases[0]; c++) {
        b.n = 0;
        bb_header(&b, 1, 0, 2);
        bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
        bb_params(&b, 5, pcases[c].index, pcases[c].value);
        RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
        if (!strstr(rbm_context_last_error(ctx), pcases[c].expect))
            fail_msg("param case %zu: detail '%s' lacks '%s'", c, rbm_context_last_error(ctx),
                     pcases[c].expect);
    }
    /* A Gauss-Gauss machine beyond the normalisability bound:
     * sigma_v = sigma_h = 1, W = [[2]] -> sigma_v^2 sigma_h^2 w_1^2 = 4. */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, 1, 1, 2, 2, 1.0, 1.0, 0);
    size_t at = bb_begin(&b, "PARM", 1);
    bb_f64(&b, 2.0);
    bb_f64(&b, 0.0);
    bb_f64(&b, 0.0);
    bb_end(&b, at);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_NOT_NORMALIZABLE);
    /* the detail names the file */
    if (!strstr(rbm_context_last_error(ctx), "crafted.rbm"))
        fail_msg("detail '%s' does not name the file", rbm_context_last_error(ctx));
    /* ... and within it (w = 0.5) it loads */
    bb_patch_u64(&b, at + 24, bits_of(0.5));
    bb_end(&b, at);
    RBM_OKAY(ctx, load_bytes(ctx, &b, NULL));
    free(b.p);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* hostile sizes                                                           */
/* ---------------------------------------------------------------------- */

typedef struct alloc_stats {
    size_t calls, big;
} alloc_stats;

#define BIG_ALLOC ((size_t)64 << 20)

static void *counting_alloc(void *user, size_t size)
{
    alloc_stats *s = user;
    s->calls++;
    if (size > BIG_ALLOC) {
        s->big++;
        return NULL;
    }
    return malloc(size);
}

static void counting_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static void test_hostile_sizes(void **state)
{
    (void)state;
    alloc_stats stats = {0, 0};
    rbm_context *ctx = NULL;
    assert_int_equal(rbm_context_new_with_allocator(counting_alloc, counting_free, &stats, &ctx),
                     RBM_OK);
    bbuf b = {0};
    const uint64_t G = (uint64_t)1 << 30;

    /* N_v * N_h overflows 64 bits */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, (uint64_t)1 << 32, (uint64_t)1 << 32, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_TOO_LARGE);

    /* 8 * (N_v N_h + N_v + N_h) overflows */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, (uint64_t)1 << 61, 1, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_TOO_LARGE);

    /* UINT64_MAX sizes */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, UINT64_MAX, UINT64_MAX, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_TOO_LARGE);

    /* huge but representable: params section of the honest small size */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, G, G, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);

    /* huge and the params section claims the matching length */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, G, G, 0, 0, 1, 1, 0);
    size_t at = bb_begin(&b, "PARM", 1);
    bb_f64(&b, 0.0);
    bb_end_claim(&b, at, 8 * (G * G + 2 * G));
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "truncated"));

    /* 100 MB of parameters claimed (above the allocator limit), 8 present */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, 5000, 2500, 0, 0, 1, 1, 0);
    at = bb_begin(&b, "PARM", 1);
    bb_f64(&b, 0.0);
    bb_end_claim(&b, at, 8 * ((uint64_t)5000 * 2500 + 7500));
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);

    /* a section length of 2^64 - 1 */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    at = bb_begin(&b, "MODL", 1);
    bb_end_claim(&b, at, UINT64_MAX);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);

    /* an unknown optional section claiming 2^62 bytes */
    b.n = 0;
    bb_header(&b, 1, 0, 3);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    at = bb_begin(&b, "HUGE", 0);
    bb_end_claim(&b, at, (uint64_t)1 << 62);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);

    /* 2^32 - 1 sections declared */
    b.n = 0;
    bb_header(&b, 1, 0, UINT32_MAX);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);

    assert_int_equal(stats.big, 0);
    /* The same context still loads a good file. */
    b.n = 0;
    bb_header(&b, 1, 0, 2);
    bb_model(&b, 2, 1, 0, 0, 1, 1, 0);
    bb_params(&b, 5, SIZE_MAX, 0);
    size_t before = stats.calls;
    RBM_OKAY(ctx, load_bytes(ctx, &b, NULL));
    assert_true(stats.calls > before); /* the allocator was really in use */
    assert_int_equal(stats.big, 0);
    free(b.p);
    rbm_context_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* atomic save, I/O errors                                                 */
/* ---------------------------------------------------------------------- */

static void test_save_missing_directory(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = random_machine(ctx, 3, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 1);
    char path[600];
    path_in_dir(path, sizeof path, "no/such/dir/model.rbm");
    RBM_CHECK(ctx, rbm_machine_save(m, path), RBM_ERR_IO);
    assert_non_null(strstr(rbm_context_last_error(ctx), strerror(ENOENT)));
    assert_non_null(strstr(rbm_context_last_error(ctx), "no/such/dir/model.rbm"));
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_save_failure_leaves_no_trace(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m1 = random_machine(ctx, 4, 3, RBM_UNIT_ISING, RBM_UNIT_ISING, 11);
    rbm_machine *m2 = random_machine(ctx, 5, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN, 12);
    char keep[600], dirpath[600];
    path_in_dir(keep, sizeof keep, "keep.rbm");
    path_in_dir(dirpath, sizeof dirpath, "a-directory");
    RBM_OKAY(ctx, rbm_machine_save(m1, keep));
    size_t n0 = 0;
    unsigned char *before = rbm_test_read_file(keep, &n0);
    assert_int_equal(mkdir(dirpath, 0755), 0);

    /* The target is a directory: the rename fails after a complete write. */
    RBM_CHECK(ctx, rbm_machine_save(m2, dirpath), RBM_ERR_IO);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    struct stat sb;
    assert_int_equal(stat(dirpath, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(count_entries_containing(".rbm-tmp."), 0);

    size_t n1 = 0;
    unsigned char *after = rbm_test_read_file(keep, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(after);

    /* Loading a directory is an I/O error, not a format error. */
    rbm_machine *x = NULL;
    RBM_CHECK(ctx, rbm_machine_load(ctx, dirpath, &x), RBM_ERR_IO);
    assert_null(x);
    free(before);
    rbm_machine_free(m1);
    rbm_machine_free(m2);
    rbm_context_free(ctx);
}

/* A write that fails half way (file size limit, EFBIG) over an existing
 * file: the old file stays intact and the temporary file is removed. This
 * works as root too, unlike permission tricks. */
static void test_save_write_error_keeps_old_file(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *small = random_machine(ctx, 2, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 21);
    rbm_machine *big = random_machine(ctx, 64, 40, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 22);
    char path[600];
    path_in_dir(path, sizeof path, "model.rbm");
    RBM_OKAY(ctx, rbm_machine_save(small, path));
    size_t n0 = 0;
    unsigned char *before = rbm_test_read_file(path, &n0);

    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = 4096; /* the big machine needs ~21 KB */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rbm_status st = rbm_machine_save(big, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    RBM_CHECK(ctx, st, RBM_ERR_IO);
    assert_non_null(strstr(rbm_context_last_error(ctx), strerror(EFBIG)));

    size_t n1 = 0;
    unsigned char *after = rbm_test_read_file(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_int_equal(count_entries_containing(".rbm-tmp."), 0);
    rbm_machine *back = NULL;
    RBM_OKAY(ctx, rbm_machine_load(ctx, path, &back));
    assert_same_machine(small, back);
    rbm_machine_free(back);
    free(before);
    free(after);
    rbm_machine_free(small);
    rbm_machine_free(big);
    rbm_context_free(ctx);
}

static void test_overwrite(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m1 = random_machine(ctx, 6, 4, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, 31);
    rbm_machine *m2 = random_machine(ctx, 3, 5, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, 32);
    char path[600];
    path_in_dir(path, sizeof path, "over.rbm");
    RBM_OKAY(ctx, rbm_machine_save(m1, path));
    RBM_OKAY(ctx, rbm_machine_save(m2, path));
    rbm_machine *back = NULL;
    RBM_OKAY(ctx, rbm_machine_load(ctx, path, &back));
    assert_same_machine(m2, back);
    rbm_machine_free(back);
    /* and back again, over a larger file */
    RBM_OKAY(ctx, rbm_machine_save(m1, path));
    RBM_OKAY(ctx, rbm_machine_load(ctx, path, &back));
    assert_same_machine(m1, back);
    rbm_machine_free(back);
    assert_int_equal(count_entries_containing(".rbm-tmp."), 0);
    rbm_machine_free(m1);
    rbm_machine_free(m2);
    rbm_context_free(ctx);
}

static void test_null_and_missing(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = random_machine(ctx, 2, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 1);
    char path[600];
    path_in_dir(path, sizeof path, "null.rbm");
    assert_int_equal(rbm_machine_save(NULL, path), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_machine_save(m, NULL), RBM_ERR_NULL);
    rbm_machine *out = (rbm_machine *)0x1;
    assert_int_equal(rbm_machine_load(NULL, path, &out), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_machine_load(ctx, NULL, &out), RBM_ERR_NULL);
    assert_null(out);
    RBM_CHECK(ctx, rbm_machine_load(ctx, path, NULL), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_machine_save(m, ""), RBM_ERR_IO);
    /* a file that does not exist */
    out = (rbm_machine *)0x1;
    RBM_CHECK(ctx, rbm_machine_load(ctx, path, &out), RBM_ERR_IO);
    assert_null(out);
    assert_non_null(strstr(rbm_context_last_error(ctx), strerror(ENOENT)));
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

/* Model files written by librbm 0.1 (tests/data/models/README.md) load with
 * every field and parameter as written, and saving them again gives the same
 * bytes: the format is stable across releases. */
static void fixture_params(size_t nv, size_t nh, double *W, double *a, double *b)
{
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++)
            W[i * nh + j] = sin(1.0 + (double)i * 0.7 + (double)j * 1.3) / 4.0;
    for (size_t i = 0; i < nv; i++)
        a[i] = cos((double)i) / 8.0 - 0.1;
    for (size_t j = 0; j < nh; j++)
        b[j] = 0.05 * (double)j - 0.1;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_fixtures_from_0_1(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        rbm_unit_kind vk, hk;
        double sv, sh;
        rbm_precision prec;
    } cases[] = {
        {"bernoulli_bernoulli_12x6.rbm", RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 1, 1,
         RBM_PRECISION_FLOAT64},
        {"ising_bernoulli_12x6_f32.rbm", RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 1, 1,
         RBM_PRECISION_FLOAT32},
        {"gaussian_gaussian_12x6.rbm", RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, 0.5, 0.4,
         RBM_PRECISION_FLOAT64},
    };
    enum { NV = 12, NH = 6 };
    rbm_context *ctx = NULL;
    assert_int_equal(rbm_context_new(&ctx), RBM_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[4096], again[4096];
        snprintf(path, sizeof path, "%s/models/%s", RBM_TEST_DATA, cases[c].file);
        rbm_machine *m = NULL;
        if (rbm_machine_load(ctx, path, &m) != RBM_OK)
            fail_msg("%s: %s", path, rbm_context_last_error(ctx));
        assert_int_equal(rbm_machine_n_visible(m), NV);
        assert_int_equal(rbm_machine_n_hidden(m), NH);
        assert_int_equal(rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), cases[c].vk);
        assert_int_equal(rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN), cases[c].hk);
        assert_int_equal(rbm_machine_precision(m), cases[c].prec);
        if (cases[c].vk == RBM_UNIT_GAUSSIAN) {
            assert_true(rbm_machine_sigma(m, RBM_LAYER_VISIBLE) == cases[c].sv);
            assert_true(rbm_machine_sigma(m, RBM_LAYER_HIDDEN) == cases[c].sh);
        }
        double W[NV * NH], a[NV], b[NH], Wr[NV * NH], ar[NV], br[NH];
        fixture_params(NV, NH, Wr, ar, br);
        assert_int_equal(rbm_machine_get_weights(m, W, NV * NH), RBM_OK);
        assert_int_equal(rbm_machine_get_visible_bias(m, a, NV), RBM_OK);
        assert_int_equal(rbm_machine_get_hidden_bias(m, b, NH), RBM_OK);
        for (size_t i = 0; i < NV * NH; i++)
            rbm_assert_close(W[i], Wr[i], 1e-15, 0, "fixture W");
        for (size_t i = 0; i < NV; i++)
            rbm_assert_close(a[i], ar[i], 1e-15, 1e-17, "fixture a");
        for (size_t j = 0; j < NH; j++)
            rbm_assert_close(b[j], br[j], 1e-15, 1e-17, "fixture b");
        snprintf(again, sizeof again, "%s/fixture-again-%zu.rbm", g_dir, c);
        assert_int_equal(rbm_machine_save(m, again), RBM_OK);
        size_t n1, n2;
        unsigned char *b1 = slurp(path, &n1), *b2 = slurp(again, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        assert_null(rbm_machine_provenance(m)); /* files before provenance */
        free(b1);
        free(b2);
        remove(again);
        rbm_machine_free(m);
    }
    rbm_context_free(ctx);
}

/* The optional provenance section: round trip, clone, hand-built files. */
static void test_provenance(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL, *l = NULL, *c = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, &m));
    assert_null(rbm_machine_provenance(m));
    const char *text = "librbm-provenance 1\ndata=synthetic\ndata_seed=3\n";
    RBM_OKAY(ctx, rbm_machine_set_provenance(m, text));
    assert_string_equal(rbm_machine_provenance(m), text);
    char path[4096], plain[4096];
    snprintf(path, sizeof path, "%s/prov.rbm", g_dir);
    snprintf(plain, sizeof plain, "%s/plain.rbm", g_dir);
    RBM_OKAY(ctx, rbm_machine_save(m, path));
    RBM_OKAY(ctx, rbm_machine_load(ctx, path, &l));
    assert_string_equal(rbm_machine_provenance(l), text);
    RBM_OKAY(ctx, rbm_machine_clone(l, &c));
    assert_string_equal(rbm_machine_provenance(c), text);
    /* removed: the file is exactly the one without the section */
    RBM_OKAY(ctx, rbm_machine_set_provenance(c, NULL));
    assert_null(rbm_machine_provenance(c));
    RBM_OKAY(ctx, rbm_machine_save(c, plain));
    size_t n1, n2;
    unsigned char *b1 = slurp(path, &n1), *b2 = slurp(plain, &n2);
    assert_int_equal(n1, n2 + 24 + strlen(text));
    assert_int_equal(b2[12], 2); /* two sections */
    assert_int_equal(b1[12], 3);
    free(b1);
    free(b2);
    RBM_OKAY(ctx, rbm_machine_set_provenance(c, ""));
    assert_null(rbm_machine_provenance(c));
    char *big = malloc(RBM_PROVENANCE_MAX + 2);
    memset(big, 'x', RBM_PROVENANCE_MAX + 1);
    big[RBM_PROVENANCE_MAX + 1] = '\0';
    RBM_CHECK(ctx, rbm_machine_set_provenance(c, big), RBM_ERR_TOO_LARGE);
    big[RBM_PROVENANCE_MAX] = '\0';
    RBM_OKAY(ctx, rbm_machine_set_provenance(c, big));
    free(big);
    assert_int_equal(rbm_machine_set_provenance(NULL, text), RBM_ERR_NULL);
    assert_null(rbm_machine_provenance(NULL));
    /* hand-built files */
    bbuf b = {0};
    build_with_extra(&b, 2, "PROV", 0, 13, 0); /* after params: read */
    rbm_machine *h = NULL;
    RBM_OKAY(ctx, load_bytes(ctx, &b, &h));
    assert_int_equal(strlen(rbm_machine_provenance(h)), 13);
    assert_int_equal((unsigned char)rbm_machine_provenance(h)[1], 8);
    rbm_machine_free(h);
    build_with_extra(&b, 0, "PROV", 0, 13, 0); /* before the machine */
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "before section 'params'"));
    build_with_extra(&b, 2, "PROV", 0, 80, 0); /* byte 73 is 73 * 7 + 1 = 0 mod 256 */
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "NUL"));
    build_with_extra(&b, 2, "PROV", 0, 0, 0);
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    build_with_extra(&b, 2, "PROV", 1, 13, 0); /* required bit: refused as unknown */
    RBM_CHECK(ctx, load_bytes(ctx, &b, NULL), RBM_ERR_BAD_FORMAT);
    free(b.p);
    remove(path);
    remove(plain);
    rbm_machine_free(c);
    rbm_machine_free(l);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_from_0_1),
        cmocka_unit_test(test_roundtrip_all_kinds),
        cmocka_unit_test(test_roundtrip_special_values),
        cmocka_unit_test(test_roundtrip_large),
        cmocka_unit_test(test_documented_layout),
        cmocka_unit_test(test_documented_example),
        cmocka_unit_test(test_truncation_every_offset),
        cmocka_unit_test(test_truncation_message),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_crc_message_names_section),
        cmocka_unit_test(test_not_a_model_file),
        cmocka_unit_test(test_unknown_sections),
        cmocka_unit_test(test_provenance),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_bad_field_values),
        cmocka_unit_test(test_hostile_sizes),
        cmocka_unit_test(test_save_missing_directory),
        cmocka_unit_test(test_save_failure_leaves_no_trace),
        cmocka_unit_test(test_save_write_error_keeps_old_file),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_null_and_missing),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
