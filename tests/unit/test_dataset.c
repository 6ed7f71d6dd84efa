/* Tests for datasets: loaders (IDX plain/gzip, CSV, NPY) against hand-built
 * files, synthetic clusters, transforms, statistics, batch iteration,
 * allocation-failure cleanup. */
#include "testutil.h"
#include "reference.h" /* ref_rotate */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ------------------------------------------------------------------------ */
/* fixtures: a temp directory and byte buffers                               */
/* ------------------------------------------------------------------------ */

static char g_dir[256];
static char *g_files[512];
static size_t g_nfiles;

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/rbm_test_dataset_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_nfiles; i++) {
        unlink(g_files[i]);
        free(g_files[i]);
    }
    g_nfiles = 0;
    rmdir(g_dir);
    return 0;
}

/* Path of a fixture file name in the temp dir (registered for cleanup). */
static const char *fixture_path(const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", g_dir, name);
    for (size_t i = 0; i < g_nfiles; i++)
        if (strcmp(g_files[i], buf) == 0)
            return g_files[i];
    assert_true(g_nfiles < sizeof g_files / sizeof g_files[0]);
    g_files[g_nfiles] = strdup(buf);
    assert_non_null(g_files[g_nfiles]);
    return g_files[g_nfiles++];
}

static const char *write_file(const char *name, const void *data, size_t len)
{
    const char *path = fixture_path(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

typedef tbuf bytes; /* testutil.h */

static void put_u8(bytes *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    tbuf_put(b, &c, 1);
}

/* The low n bytes of v, most significant first when big (else least). */
static void put_uint(bytes *b, uint64_t v, int n, int big)
{
    unsigned char c[8];
    for (int k = 0; k < n; k++)
        c[big ? n - 1 - k : k] = (unsigned char)(v >> (8 * k));
    tbuf_put(b, c, (size_t)n);
}

static void put_be32(bytes *b, uint32_t v)
{
    put_uint(b, v, 4, 1);
}

static void put_le32(bytes *b, uint32_t v)
{
    put_uint(b, v, 4, 0);
}

static void put_str(bytes *b, const char *s)
{
    tbuf_put(b, s, strlen(s));
}

static void bytes_free(bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* Big- and little-endian encodings of floats for IDX and NPY data (the bits
 * as they are: no conversion between float and double). */
static void put_f32(bytes *b, float v, int big)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_uint(b, u, 4, big);
}

static void put_f64(bytes *b, double v, int big)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_uint(b, u, 8, big);
}
#define put_be_f32(b, v) put_f32(b, v, 1)
#define put_be_f64(b, v) put_f64(b, v, 1)
#define put_le_f32(b, v) put_f32(b, v, 0)
#define put_le_f64(b, v) put_f64(b, v, 0)

/* ---- an independent gzip writer: RFC 1952 member holding RFC 1951
 * "stored" (uncompressed) deflate blocks, CRC-32 computed bitwise ---- */
static uint32_t crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static bytes gzip_stored(const unsigned char *data, size_t n)
{
    bytes g = {0};
    const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    tbuf_put(&g, hdr, sizeof hdr);
    size_t off = 0;
    do {
        size_t len = n - off > 65535 ? 65535 : n - off;
        int final = off + len == n;
        put_u8(&g, final ? 1 : 0); /* BFINAL, BTYPE = 00, rest of byte padding */
        put_u8(&g, len & 0xFF);
        put_u8(&g, len >> 8);
        put_u8(&g, ~len & 0xFF);
        put_u8(&g, (~len >> 8) & 0xFF);
        if (len)
            tbuf_put(&g, data + off, len);
        off += len;
    } while (off < n);
    put_le32(&g, crc32_bitwise(data, n));
    put_le32(&g, (uint32_t)n);
    return g;
}

/* IDX header */
static void idx_header(bytes *b, unsigned type, unsigned ndim, const uint32_t *dims)
{
    put_u8(b, 0);
    put_u8(b, 0);
    put_u8(b, type);
    put_u8(b, ndim);
    for (unsigned k = 0; k < ndim; k++)
        put_be32(b, dims[k]);
}

/* ---- counting allocator (leak and failure-injection checks) ---- */
typedef struct alloc_stats {
    size_t live;     /* outstanding allocations */
    size_t calls;    /* allocation calls so far */
    size_t fail_at;  /* fail the call with this number (1-based); 0 never */
    size_t max_size; /* largest request */
} alloc_stats;

static void *count_alloc(void *user, size_t size)
{
    alloc_stats *s = user;
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return NULL;
    if (size > s->max_size)
        s->max_size = size;
    void *p = malloc(size);
    if (p)
        s->live++;
    return p;
}

static void count_free(void *user, void *p)
{
    alloc_stats *s = user;
    if (p) {
        s->live--;
        free(p);
    }
}

static rbm_context *counting_context(alloc_stats *s)
{
    memset(s, 0, sizeof *s);
    rbm_context *ctx = NULL;
    assert_int_equal(rbm_context_new_with_allocator(count_alloc, count_free, s, &ctx), RBM_OK);
    return ctx; /* s->live == 1: the context */
}

static void assert_detail(rbm_context *ctx, const char *needle)
{
    const char *msg = rbm_context_last_error(ctx);
    if (!strstr(msg, needle))
        fail_msg("error detail \"%s\" does not contain \"%s\"", msg, needle);
}

/* All values of a dataset as doubles (malloc'ed). */
static double *all_rows(rbm_context *ctx, const rbm_dataset *ds)
{
    size_t n = rbm_dataset_rows(ds) * rbm_dataset_cols(ds);
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, rbm_dataset_rows(ds), x, n));
    return x;
}

/* ds has `rows` rows of `cols` columns. */
#define expect_shape(ds, rows, cols)                                                          \
    do {                                                                                      \
        assert_int_equal(rbm_dataset_rows(ds), rows);                                         \
        assert_int_equal(rbm_dataset_cols(ds), cols);                                         \
    } while (0)

/* Every value of ds (read back as double) equals (double)(T)want[i] for
 * i < n; frees ds. */
#define expect_values_free(ctx, ds, n, want, T)                                              \
    do {                                                                                      \
        double *x_ = all_rows(ctx, ds);                                                       \
        for (int i_ = 0; i_ < (n); i_++)                                                      \
            assert_true(x_[i_] == (double)(T)(want)[i_]);                                     \
        free(x_);                                                                             \
        rbm_dataset_free(ds);                                                                 \
    } while (0)

/* ---- symmetric eigenvalues by cyclic Jacobi (independent of LAPACK);
 * A (n x n) is destroyed, eigenvalues sorted descending into w ---- */
static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static void jacobi_eigenvalues(double *A, size_t n, double *w)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, diag = 0.0;
        for (size_t i = 0; i < n; i++) {
            diag += A[i * n + i] * A[i * n + i];
            for (size_t j = i + 1; j < n; j++)
                off += A[i * n + j] * A[i * n + j];
        }
        if (off <= 1e-30 * diag || off == 0.0)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (fabs(apq) < 1e-300)
                    continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                ref_rotate(A + p, A + q, n, n, c, s); /* columns p, q */
                ref_rotate(A + p * n, A + q * n, n, 1, c, s); /* rows p, q */
            }
    }
    for (size_t i = 0; i < n; i++)
        w[i] = A[i * n + i];
    qsort(w, n, sizeof *w, cmp_desc);
}

/* ------------------------------------------------------------------------ */
/* from memory, queries                                                      */
/* ------------------------------------------------------------------------ */

static void test_from_memory(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const uint8_t u8[6] = {0, 1, 2, 250, 254, 255};
    const float f32[6] = {0.5f, -1.25f, 3.0f, 1e-3f, -7.0f, 2.5f};
    const double f64[6] = {0.1, -0.2, 1e300, -1e-300, 42.0, -3.5};
    const void *src[3] = {u8, f32, f64};
    rbm_dtype types[3] = {RBM_DTYPE_UINT8, RBM_DTYPE_FLOAT32, RBM_DTYPE_FLOAT64};
    for (int t = 0; t < 3; t++)
        for (int own = 0; own < 2; own++) {
            rbm_dataset *ds = NULL;
            RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, src[t], types[t], 2, 3,
                                                  own ? RBM_BORROW : RBM_COPY, &ds));
            expect_shape(ds, 2, 3);
            assert_int_equal(rbm_dataset_dtype(ds), types[t]);
            size_t h = 9, w = 9;
            rbm_dataset_image_shape(ds, &h, &w);
            assert_int_equal(h, 0);
            assert_int_equal(w, 0);
            double x[6];
            RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, 2, x, 6));
            for (int i = 0; i < 6; i++) {
                double want = t == 0 ? u8[i] : t == 1 ? (double)f32[i] : f64[i];
                assert_true(x[i] == want);
            }
            /* second row only, larger buffer accepted */
            double y[10];
            RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 1, 1, y, 10));
            assert_true(y[0] == x[3] && y[2] == x[5]);
            RBM_OKAY(ctx, rbm_dataset_set_image_shape(ds, 1, 3));
            rbm_dataset_image_shape(ds, &h, NULL);
            assert_int_equal(h, 1);
            RBM_CHECK(ctx, rbm_dataset_set_image_shape(ds, 2, 2), RBM_ERR_SHAPE);
            rbm_dataset_free(ds);
        }
    /* errors */
    rbm_dataset *ds = (rbm_dataset *)&ds;
    assert_int_equal(rbm_dataset_from_memory(NULL, u8, RBM_DTYPE_UINT8, 2, 3, RBM_COPY, &ds),
                     RBM_ERR_NULL);
    assert_null(ds);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, NULL, RBM_DTYPE_UINT8, 2, 3, RBM_COPY, &ds),
              RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, u8, RBM_DTYPE_UINT8, 2, 3, RBM_COPY, NULL),
              RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, u8, RBM_DTYPE_UINT8, 0, 3, RBM_COPY, &ds),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, u8, RBM_DTYPE_UINT8, 2, 0, RBM_COPY, &ds),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, u8, (rbm_dtype)7, 2, 3, RBM_COPY, &ds),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, u8, RBM_DTYPE_UINT8, 2, 3, (rbm_ownership)5, &ds),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, u8, RBM_DTYPE_FLOAT64, SIZE_MAX / 4, 3,
                                           RBM_BORROW, &ds),
              RBM_ERR_TOO_LARGE);
    float bad[6] = {0, 1, 2, 3, 4, 5};
    bad[5] = NAN;
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, bad, RBM_DTYPE_FLOAT32, 2, 3, RBM_BORROW, &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "row 1, column 2");
    assert_detail(ctx, "NaN");
    double badd[4] = {0, 1, INFINITY, 3};
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, badd, RBM_DTYPE_FLOAT64, 2, 2, RBM_COPY, &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "row 1, column 0");
    assert_detail(ctx, "infinite");
    assert_null(ds);
    /* NULL handles */
    expect_shape(NULL, 0, 0);
    size_t h = 5, w = 5;
    rbm_dataset_image_shape(NULL, &h, &w);
    assert_int_equal(h + w, 0);
    assert_int_equal(rbm_dataset_set_image_shape(NULL, 1, 1), RBM_ERR_NULL);
    double mn;
    assert_int_equal(rbm_dataset_range(NULL, &mn, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_get_rows(NULL, 0, 1, &mn, 1), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_mean(NULL, &mn, 1), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_covariance(NULL, &mn, 1), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_slice(NULL, 0, 1, &ds), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_transform(NULL, RBM_TRANSFORM_BINARIZE, 0.5, &ds), RBM_ERR_NULL);
    rbm_batch_iter *it = NULL;
    assert_int_equal(rbm_batch_iter_new(NULL, 1, 0, 1, &it), RBM_ERR_NULL);
    assert_int_equal(rbm_batch_iter_batches_per_epoch(NULL), 0);
    size_t r;
    assert_int_equal(rbm_batch_iter_next(NULL, &mn, 1, &r), RBM_ERR_NULL);
    rbm_dataset_free(NULL);
    rbm_batch_iter_free(NULL);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* IDX                                                                       */
/* ------------------------------------------------------------------------ */

/* 3 images of 2 x 4 pixels, value 10*r + c */
static bytes idx_u8_3x2x4(void)
{
    bytes b = {0};
    uint32_t dims[3] = {3, 2, 4};
    idx_header(&b, 0x08, 3, dims);
    for (unsigned r = 0; r < 3; r++)
        for (unsigned c = 0; c < 8; c++)
            put_u8(&b, 10 * r + c + (r == 2 && c == 7 ? 200 : 0));
    return b;
}

static void check_u8_3x2x4(rbm_context *ctx, const rbm_dataset *ds)
{
    expect_shape(ds, 3, 8);
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_UINT8);
    size_t h, w;
    rbm_dataset_image_shape(ds, &h, &w);
    assert_int_equal(h, 2);
    assert_int_equal(w, 4);
    double *x = all_rows(ctx, ds);
    for (unsigned r = 0; r < 3; r++)
        for (unsigned c = 0; c < 8; c++)
            assert_true(x[r * 8 + c] == 10.0 * r + c + (r == 2 && c == 7 ? 200 : 0));
    free(x);
}

static void test_idx_plain_and_gzip(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    bytes b = idx_u8_3x2x4();
    const char *plain = write_file("img.idx", b.p, b.n);
    bytes g = gzip_stored(b.p, b.n);
    /* gzip content under a plain name and plain content under a .gz name:
     * detection must go by content */
    const char *gz = write_file("img-ubyte", g.p, g.n);
    const char *plain_gzname = write_file("plain-ubyte.gz", b.p, b.n);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, plain, &ds));
    check_u8_3x2x4(ctx, ds);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, gz, &ds));
    check_u8_3x2x4(ctx, ds);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load(ctx, gz, &ds));
    check_u8_3x2x4(ctx, ds);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load(ctx, plain_gzname, &ds));
    check_u8_3x2x4(ctx, ds);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load(ctx, plain, &ds));
    check_u8_3x2x4(ctx, ds);
    rbm_dataset_free(ds);
    /* bytes after the data of a plain file are refused */
    put_u8(&b, 0xAB);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("trail.idx", b.p, b.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "trail.idx: 1 trailing bytes after the data");
    assert_null(ds);
    bytes_free(&g);
    bytes_free(&b);
    rbm_context_free(ctx);
}

static void test_idx_types(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    uint32_t dims2[2] = {2, 3};
    /* signed byte */
    bytes b = {0};
    idx_header(&b, 0x09, 2, dims2);
    const int8_t sb[6] = {-128, -1, 0, 1, 127, -5};
    tbuf_put(&b, sb, 6);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, write_file("sb.idx", b.p, b.n), &ds));
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_FLOAT64);
    size_t h = 1, w = 1;
    rbm_dataset_image_shape(ds, &h, &w);
    assert_int_equal(h + w, 0); /* 2-D file: no image shape */
    expect_values_free(ctx, ds, 6, sb, double);
    bytes_free(&b);
    /* short */
    idx_header(&b, 0x0B, 2, dims2);
    const int16_t sh[6] = {-32768, -2, 0, 300, 32767, -1000};
    for (int i = 0; i < 6; i++) {
        put_u8(&b, ((uint16_t)sh[i]) >> 8);
        put_u8(&b, ((uint16_t)sh[i]) & 0xFF);
    }
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, write_file("sh.idx", b.p, b.n), &ds));
    expect_values_free(ctx, ds, 6, sh, double);
    bytes_free(&b);
    /* int */
    idx_header(&b, 0x0C, 2, dims2);
    const int32_t in[6] = {INT32_MIN, -70000, 0, 1, INT32_MAX, 123456};
    for (int i = 0; i < 6; i++)
        put_be32(&b, (uint32_t)in[i]);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, write_file("in.idx", b.p, b.n), &ds));
    expect_values_free(ctx, ds, 6, in, double);
    bytes_free(&b);
    /* float, 1-D: 6 rows of 1 column */
    uint32_t dims1[1] = {6};
    idx_header(&b, 0x0D, 1, dims1);
    const float fl[6] = {1.5f, -0.25f, 3e38f, -1e-38f, 0.0f, 7.0f};
    for (int i = 0; i < 6; i++)
        put_be_f32(&b, fl[i]);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, write_file("fl.idx", b.p, b.n), &ds));
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_FLOAT32);
    expect_shape(ds, 6, 1);
    expect_values_free(ctx, ds, 6, fl, double);
    bytes_free(&b);
    /* double, 4-D: 2 x 1 x 3 x 1 -> 2 rows of 3, no image shape */
    uint32_t dims4[4] = {2, 1, 3, 1};
    idx_header(&b, 0x0E, 4, dims4);
    const double db[6] = {0.1, -2.5, 1e-300, -1e300, 3.0, 4.0};
    for (int i = 0; i < 6; i++)
        put_be_f64(&b, db[i]);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, write_file("db.idx", b.p, b.n), &ds));
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_FLOAT64);
    expect_shape(ds, 2, 3);
    rbm_dataset_image_shape(ds, &h, &w);
    assert_int_equal(h + w, 0);
    expect_values_free(ctx, ds, 6, db, double);
    bytes_free(&b);
    /* NaN in a float file: row 1, column 2 */
    idx_header(&b, 0x0D, 2, dims2);
    for (int i = 0; i < 6; i++)
        put_be_f32(&b, i == 5 ? NAN : (float)i);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("nan.idx", b.p, b.n), &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "row 1, column 2");
    assert_null(ds);
    bytes_free(&b);
    idx_header(&b, 0x0E, 2, dims2);
    for (int i = 0; i < 6; i++)
        put_be_f64(&b, i == 1 ? -INFINITY : (double)i);
    bytes g = gzip_stored(b.p, b.n);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("inf.idx.gz", g.p, g.n), &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "row 0, column 1");
    bytes_free(&g);
    bytes_free(&b);
    rbm_context_free(ctx);
}

static void test_idx_bad_headers(void **state)
{
    (void)state;
    alloc_stats as;
    rbm_context *ctx = counting_context(&as);
    rbm_dataset *ds = NULL;
    bytes b = {0};
    /* wrong magic */
    const unsigned char magic[] = {1, 0, 8, 1, 0, 0, 0, 1, 7};
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("magic.idx", magic, sizeof magic), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "magic");
    /* unknown type code */
    const unsigned char type[] = {0, 0, 0x0A, 1, 0, 0, 0, 1, 7};
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("type.idx", type, sizeof type), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "0x0a");
    /* ndim 0 */
    const unsigned char nd0[] = {0, 0, 8, 0, 1, 2, 3};
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("nd0.idx", nd0, sizeof nd0), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "0 dimensions");
    /* a zero dimension */
    const unsigned char zd[] = {0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 0};
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("zd.idx", zd, sizeof zd), &ds),
              RBM_ERR_BAD_FORMAT);
    /* empty file */
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("empty.idx", "", 0), &ds),
              RBM_ERR_BAD_FORMAT);
    /* overflowing dims: (2^32-1) x (2^32-1) x 16 */
    uint32_t big[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 16};
    idx_header(&b, 0x08, 3, big);
    put_u8(&b, 1);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("ovf.idx", b.p, b.n), &ds),
              RBM_ERR_TOO_LARGE);
    bytes g = gzip_stored(b.p, b.n);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("ovf.idx.gz", g.p, g.n), &ds),
              RBM_ERR_TOO_LARGE);
    bytes_free(&g);
    bytes_free(&b);
    /* rows x cols fits, x 8 bytes (doubles) overflows */
    uint32_t big2[2] = {0xFFFFFFFFu, 0x7FFFFFFFu};
    idx_header(&b, 0x0E, 2, big2);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("ovf2.idx", b.p, b.n), &ds),
              RBM_ERR_TOO_LARGE);
    bytes_free(&b);
    /* hostile: 2^31 rows of 784 bytes claimed, 2 rows present */
    uint32_t huge[3] = {0x80000000u, 28, 28};
    idx_header(&b, 0x08, 3, huge);
    for (int i = 0; i < 2 * 784; i++)
        put_u8(&b, i & 0xFF);
    as.max_size = 0;
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("huge.idx", b.p, b.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "header says 2147483648 rows of 784 bytes, file ends after 2 rows");
    assert_true(as.max_size < 4096); /* checked against the file size before allocating */
    g = gzip_stored(b.p, b.n);
    as.max_size = 0;
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("huge.idx.gz", g.p, g.n), &ds),
              RBM_ERR_BAD_FORMAT);
    /* more than deflate can decode from the file: refused before allocating */
    char want[160];
    snprintf(want, sizeof want, "(1683627180032 bytes), but a gzip file of %zu bytes decodes to "
             "at most %zu bytes", g.n, 1032 * g.n + 4096);
    assert_detail(ctx, want);
    assert_true(as.max_size < 4096);
    bytes_free(&g);
    /* same, with 5 MB of data present in the gzip stream: still refused up
     * front */
    for (int i = 0; i < 6700 * 784; i++)
        put_u8(&b, (i * 7) & 0xFF);
    g = gzip_stored(b.p, b.n);
    as.max_size = 0;
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("huge2.idx.gz", g.p, g.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "decodes to at most");
    assert_true(as.max_size < 4096);
    bytes_free(&g);
    bytes_free(&b);
    assert_null(ds);
    assert_int_equal(as.live, 1); /* only the context */
    /* I/O errors */
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, fixture_path("does-not-exist.idx"), &ds),
              RBM_ERR_IO);
    assert_detail(ctx, strerror(ENOENT));
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, g_dir, &ds), RBM_ERR_IO);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, NULL, &ds), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, g_dir, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_load_idx(NULL, g_dir, &ds), RBM_ERR_NULL);
    assert_int_equal(as.live, 1);
    rbm_context_free(ctx);
}

static void test_idx_truncated(void **state)
{
    (void)state;
    alloc_stats as;
    rbm_context *ctx = counting_context(&as);
    rbm_dataset *ds = NULL;
    bytes b = idx_u8_3x2x4(); /* 16-byte header + 24 bytes */
    assert_int_equal(b.n, 40);
    const size_t cuts[] = {1, 2, 3, 4, 5, 8, 15, 16, 17, 23, 24, 31, 32, 39};
    char name[64];
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t cut = cuts[i];
        snprintf(name, sizeof name, "cut%zu.idx", cut);
        RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file(name, b.p, cut), &ds),
                  RBM_ERR_BAD_FORMAT);
        assert_null(ds);
        if (cut >= 16) {
            char want[128];
            snprintf(want, sizeof want, "header says 3 rows of 8 bytes, file ends after %zu rows",
                     (cut - 16) / 8);
            assert_detail(ctx, want);
        }
        /* the same truncated content inside a well-formed gzip stream */
        bytes g = gzip_stored(b.p, cut);
        snprintf(name, sizeof name, "cut%zu.idx.gz", cut);
        RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file(name, g.p, g.n), &ds),
                  RBM_ERR_BAD_FORMAT);
        if (cut >= 16) {
            char want[128];
            snprintf(want, sizeof want, "file ends after %zu rows", (cut - 16) / 8);
            assert_detail(ctx, want);
        }
        bytes_free(&g);
    }
    /* a complete idx payload in a gzip stream that is itself cut short:
     * inside the gzip header, inside the stored block, in the trailer */
    bytes g = gzip_stored(b.p, b.n);
    for (size_t cut = 1; cut < g.n; cut += (cut < 12 ? 1 : 3)) {
        snprintf(name, sizeof name, "gzcut%zu.idx", cut);
        RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file(name, g.p, cut), &ds),
                  RBM_ERR_BAD_FORMAT);
    }
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("gzcutlast.idx", g.p, g.n - 1), &ds),
              RBM_ERR_BAD_FORMAT);
    /* corrupt CRC */
    g.p[g.n - 6] ^= 0x55;
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, write_file("crc.idx.gz", g.p, g.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "gzip");
    g.p[g.n - 6] ^= 0x55;
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, write_file("ok.idx.gz", g.p, g.n), &ds));
    check_u8_3x2x4(ctx, ds);
    rbm_dataset_free(ds);
    bytes_free(&g);
    bytes_free(&b);
    assert_int_equal(as.live, 1);
    rbm_context_free(ctx);
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    const char *images = FASHION_DIR "/train-images-idx3-ubyte.gz";
    const char *labels = FASHION_DIR "/train-labels-idx1-ubyte.gz";
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0)
        skip();
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL, *lb = NULL, *sc = NULL;
    RBM_OKAY(ctx, rbm_dataset_load(ctx, images, &ds));
    expect_shape(ds, 60000, 784);
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_UINT8);
    size_t h, w;
    rbm_dataset_image_shape(ds, &h, &w);
    assert_int_equal(h, 28);
    assert_int_equal(w, 28);
    double mn, mx;
    RBM_OKAY(ctx, rbm_dataset_range(ds, &mn, &mx));
    assert_true(mn == 0.0 && mx == 255.0);
    /* labels: 60000 x 1, classes 0..9, 6000 each (Fashion-MNIST is balanced) */
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, labels, &lb));
    expect_shape(lb, 60000, 1);
    double *y = all_rows(ctx, lb);
    size_t count[10] = {0};
    for (size_t i = 0; i < 60000; i++) {
        assert_true(y[i] >= 0 && y[i] <= 9 && y[i] == floor(y[i]));
        count[(size_t)y[i]]++;
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(count[k], 6000);
    free(y);
    /* scaled copy */
    RBM_OKAY(ctx, rbm_dataset_transform(ds, RBM_TRANSFORM_SCALE01, 0.0, &sc));
    assert_int_equal(rbm_dataset_dtype(sc), RBM_DTYPE_FLOAT32);
    RBM_OKAY(ctx, rbm_dataset_range(sc, &mn, &mx));
    assert_true(mn == 0.0 && mx == 1.0);
    rbm_dataset_image_shape(sc, &h, &w);
    assert_int_equal(h * w, 784);
    double r0[784], s0[784];
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 12345, 1, r0, 784));
    RBM_OKAY(ctx, rbm_dataset_get_rows(sc, 12345, 1, s0, 784));
    for (int j = 0; j < 784; j++)
        assert_true(s0[j] == (double)(float)(r0[j] / 255.0));
    rbm_dataset_free(sc);
    rbm_dataset_free(lb);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */
/* ------------------------------------------------------------------------ */

static void test_csv(void **state)
{
    (void)state;
    alloc_stats as;
    rbm_context *ctx = counting_context(&as);
    rbm_dataset *ds = NULL;
    /* header, blank lines, CRLF, spaces, exponent forms, no final newline */
    const char *text = "x, y ,z\r\n"
                       "\n"
                       "1, 2.5 ,-3\r\n"
                       "   \n"
                       "4e2,-0.125,+7\n"
                       "\t\n"
                       "1e-3,0,  9";
    RBM_OKAY(ctx, rbm_dataset_load_csv(ctx, write_file("a.csv", text, strlen(text)), &ds));
    expect_shape(ds, 3, 3);
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_FLOAT64);
    const double want[9] = {1, 2.5, -3, 400, -0.125, 7, 1e-3, 0, 9};
    expect_values_free(ctx, ds, 9, want, double);
    /* no header, single column */
    const char *one = "5\n6\n7\n";
    RBM_OKAY(ctx, rbm_dataset_load(ctx, write_file("one.CSV", one, strlen(one)), &ds));
    expect_shape(ds, 3, 1);
    rbm_dataset_free(ds);
    /* round trip of awkward doubles written with %.17g, 257 rows x 5 */
    FILE *f = fopen(fixture_path("rt.csv"), "w");
    assert_non_null(f);
    double *ref = malloc(257 * 5 * sizeof *ref);
    assert_non_null(ref);
    fprintf(f, "a,b,c,d,e\n");
    for (int r = 0; r < 257; r++)
        for (int c = 0; c < 5; c++) {
            double v = sin(r * 5.0 + c) * pow(10.0, (r % 13) - 6);
            ref[r * 5 + c] = v;
            fprintf(f, "%.17g%s", v, c < 4 ? "," : "\n");
        }
    fclose(f);
    RBM_OKAY(ctx, rbm_dataset_load_csv(ctx, fixture_path("rt.csv"), &ds));
    assert_int_equal(rbm_dataset_rows(ds), 257);
    double *x = all_rows(ctx, ds);
    for (int i = 0; i < 257 * 5; i++)
        assert_true(x[i] == ref[i]);
    free(x);
    free(ref);
    rbm_dataset_free(ds);
    /* a long line (beyond the reader's initial buffer) */
    bytes lb = {0};
    for (int c = 0; c < 20000; c++) {
        char num[32];
        snprintf(num, sizeof num, "%s%d", c ? "," : "", c % 97);
        put_str(&lb, num);
    }
    put_str(&lb, "\n");
    bytes lb2 = {0};
    tbuf_put(&lb2, lb.p, lb.n);
    tbuf_put(&lb2, lb.p, lb.n);
    RBM_OKAY(ctx, rbm_dataset_load_csv(ctx, write_file("long.csv", lb2.p, lb2.n), &ds));
    expect_shape(ds, 2, 20000);
    double v[20000];
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 1, 1, v, 20000));
    assert_true(v[19999] == 19999 % 97);
    rbm_dataset_free(ds);
    bytes_free(&lb);
    bytes_free(&lb2);

    /* errors, with line and field */
    const char *ragged = "a,b\n1,2\n3,4\n\n5\n";
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("ragged.csv", ragged, strlen(ragged)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 5 has 1 fields, expected 2");
    const char *ragged2 = "1,2\n3,4,5\n";
    RBM_CHECK(ctx,
              rbm_dataset_load_csv(ctx, write_file("ragged2.csv", ragged2, strlen(ragged2)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 2");
    const char *word = "h1,h2,h3\n1,2,3\n4,five,6\n";
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("word.csv", word, strlen(word)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 3, field 2");
    assert_detail(ctx, "five");
    const char *partial = "1,2\n3,4x\n";
    RBM_CHECK(ctx,
              rbm_dataset_load_csv(ctx, write_file("partial.csv", partial, strlen(partial)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 2, field 2");
    const char *emptyf = "1,2\n3,\n";
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("emptyf.csv", emptyf, strlen(emptyf)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 2, field 2");
    const char *nan = "1,2\n3,4\nnan,5\n";
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("nan.csv", nan, strlen(nan)), &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "line 3 (row 2), field 1");
    const char *inf = "1,-inf\n";
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("inf.csv", inf, strlen(inf)), &ds),
              RBM_ERR_NOT_FINITE);
    const char *huge = "1,1e999\n";
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("huge.csv", huge, strlen(huge)), &ds),
              RBM_ERR_NOT_FINITE);
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("empty.csv", "", 0), &ds),
              RBM_ERR_BAD_FORMAT);
    const char *hdr = "a,b\n\n";
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, write_file("hdr.csv", hdr, strlen(hdr)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "no data rows");
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, fixture_path("missing.csv"), &ds), RBM_ERR_IO);
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, g_dir, &ds), RBM_ERR_IO);
    assert_null(ds);
    assert_int_equal(as.live, 1);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* NPY                                                                       */
/* ------------------------------------------------------------------------ */

/* An NPY file of the given version with the dict text and payload; the
 * header is space-padded to a multiple of 64 bytes and ends in '\n'. */
static bytes npy_file(unsigned major, const char *dict)
{
    bytes b = {0};
    put_str(&b, "\x93NUMPY");
    put_u8(&b, major);
    put_u8(&b, 0);
    size_t pre = 8 + (major == 1 ? 2 : 4);
    size_t len = strlen(dict) + 1;
    while ((pre + len) % 64)
        len++;
    if (major == 1) {
        put_u8(&b, len & 0xFF);
        put_u8(&b, len >> 8);
    } else {
        put_le32(&b, (uint32_t)len);
    }
    put_str(&b, dict);
    for (size_t i = strlen(dict) + 1; i < len; i++)
        put_u8(&b, ' ');
    put_u8(&b, '\n');
    return b;
}

static void test_npy(void **state)
{
    (void)state;
    alloc_stats as;
    rbm_context *ctx = counting_context(&as);
    rbm_dataset *ds = NULL;
    const double vals[6] = {1.5, -2.25, 1e-30, 3e30, 0.0, -7.0};
    /* v1, <f4, 2 x 3 */
    bytes b = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    for (int i = 0; i < 6; i++)
        put_le_f32(&b, (float)vals[i]);
    RBM_OKAY(ctx, rbm_dataset_load_npy(ctx, write_file("a.npy", b.p, b.n), &ds));
    expect_shape(ds, 2, 3);
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_FLOAT32);
    expect_values_free(ctx, ds, 6, vals, float);
    bytes_free(&b);
    /* v2, >f8, 3 x 2, double-quoted keys, no trailing comma */
    b = npy_file(2, "{\"descr\": \">f8\", \"fortran_order\": False, \"shape\": (3,2)}");
    for (int i = 0; i < 6; i++)
        put_be_f64(&b, vals[i]);
    RBM_OKAY(ctx, rbm_dataset_load(ctx, write_file("b.npy", b.p, b.n), &ds));
    expect_shape(ds, 3, 2);
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_FLOAT64);
    expect_values_free(ctx, ds, 6, vals, double);
    bytes_free(&b);
    /* v3, |u1, 1-D of 5 -> one row; keys in another order */
    b = npy_file(3, "{'shape': (5,), 'fortran_order': False, 'descr': '|u1'}");
    const uint8_t u[5] = {0, 1, 128, 254, 255};
    tbuf_put(&b, u, 5);
    RBM_OKAY(ctx, rbm_dataset_load_npy(ctx, write_file("c.npy", b.p, b.n), &ds));
    expect_shape(ds, 1, 5);
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_UINT8);
    expect_values_free(ctx, ds, 5, u, double);
    bytes_free(&b);
    /* v1, <f8, 1-D; >f4 2-D */
    b = npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }");
    for (int i = 0; i < 6; i++)
        put_le_f64(&b, vals[i]);
    RBM_OKAY(ctx, rbm_dataset_load_npy(ctx, write_file("d.npy", b.p, b.n), &ds));
    expect_values_free(ctx, ds, 6, vals, double);
    bytes_free(&b);
    b = npy_file(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 6), }");
    for (int i = 0; i < 6; i++)
        put_be_f32(&b, (float)vals[i]);
    RBM_OKAY(ctx, rbm_dataset_load_npy(ctx, write_file("e.npy", b.p, b.n), &ds));
    expect_values_free(ctx, ds, 6, vals, float);
    bytes_free(&b);

    /* rejected */
    struct {
        const char *dict;
        size_t payload;
        rbm_status want;
        const char *detail;
    } bad[] = {
        {"{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", 48, RBM_ERR_BAD_FORMAT,
         "fortran_order"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", 24, RBM_ERR_BAD_FORMAT,
         "'<i4'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 1), }", 48,
         RBM_ERR_BAD_FORMAT, "3 dimensions"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8, RBM_ERR_BAD_FORMAT,
         "0 dimensions"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", 0, RBM_ERR_BAD_FORMAT,
         "empty"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 47, RBM_ERR_BAD_FORMAT,
         "truncated"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2000000000, 3), }", 48,
         RBM_ERR_BAD_FORMAT, "truncated"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 48,
         RBM_ERR_TOO_LARGE, "size limit"},
        {"{'descr': '<f8', 'shape': (2, 3), }", 48, RBM_ERR_BAD_FORMAT, "fortran_order"},
        {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", 16,
         RBM_ERR_BAD_FORMAT, "descr"},
        {"['descr']", 16, RBM_ERR_BAD_FORMAT, "dictionary"},
    };
    char name[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = npy_file(1, bad[i].dict);
        for (size_t k = 0; k < bad[i].payload; k++)
            put_u8(&b, 0);
        snprintf(name, sizeof name, "bad%zu.npy", i);
        RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file(name, b.p, b.n), &ds), bad[i].want);
        assert_detail(ctx, bad[i].detail);
        assert_null(ds);
        bytes_free(&b);
    }
    /* bad magic, unknown version, truncated preamble/header */
    const char *notnpy = "\x93NUMPX\x01\x00\x10\x00";
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file("magic.npy", notnpy, 10), &ds),
              RBM_ERR_BAD_FORMAT);
    const char *v9 = "\x93NUMPY\x09\x00\x10\x00";
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file("v9.npy", v9, 10), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "version 9.0");
    b = npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }");
    for (size_t cut = 0; cut < b.n; cut += 7) {
        snprintf(name, sizeof name, "cut%zu.npy", cut);
        RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file(name, b.p, cut), &ds),
                  RBM_ERR_BAD_FORMAT);
    }
    /* NaN at row 1, column 0 */
    for (int i = 0; i < 6; i++)
        put_le_f64(&b, i == 3 ? NAN : 1.0);
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file("nan.npy", b.p, b.n), &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "row 1, column 0");
    bytes_free(&b);
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, fixture_path("missing.npy"), &ds), RBM_ERR_IO);
    assert_int_equal(as.live, 1);
    rbm_context_free(ctx);
}

/* No file in the fixture directory whose name starts with prefix. */
static void assert_no_file_with_prefix(const char *prefix)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '^%s'", g_dir, prefix);
    assert_int_not_equal(system(cmd), 0);
}

/* rbm_dataset_save_npy: float64, float32 and uint8 data round-trip through
 * the NPY loader as float64 with identical values; the bytes are NPY 1.0
 * '<f8' with the data at a multiple of 64 bytes; an existing file is replaced; a bad
 * path gives RBM_ERR_IO with the path in the detail and leaves no
 * temporary. */
static void test_save_npy(void **state)
{
    (void)state;
    alloc_stats as;
    rbm_context *ctx = counting_context(&as);
    const double vals[6] = {1.5, -2.25, 1e-300, 3e300, -0.0, 0.1};
    const float fvals[6] = {1.5f, -2.25f, 1e-30f, 3e30f, 0.0f, 0.1f};
    const uint8_t uvals[6] = {0, 1, 127, 128, 254, 255};
    const void *bufs[3] = {vals, fvals, uvals};
    const rbm_dtype types[3] = {RBM_DTYPE_FLOAT64, RBM_DTYPE_FLOAT32, RBM_DTYPE_UINT8};
    const char *path = fixture_path("saved.npy");
    for (int t = 0; t < 3; t++) {
        rbm_dataset *ds = NULL, *back = NULL;
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, bufs[t], types[t], 2, 3, RBM_BORROW, &ds));
        RBM_OKAY(ctx, rbm_dataset_save_npy(ds, path)); /* replaces the file of the last turn */
        RBM_OKAY(ctx, rbm_dataset_load_npy(ctx, path, &back));
        expect_shape(back, 2, 3);
        assert_int_equal(rbm_dataset_dtype(back), RBM_DTYPE_FLOAT64);
        double *want = all_rows(ctx, ds), *got = all_rows(ctx, back);
        for (int i = 0; i < 6; i++) {
            assert_true(got[i] == want[i]);
            assert_int_equal(signbit(got[i]), signbit(want[i]));
        }
        free(want);
        free(got);
        rbm_dataset_free(back);
        rbm_dataset_free(ds);
    }
    /* the bytes of the last (uint8) file */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char b[128 + 48 + 1];
    assert_int_equal(fread(b, 1, sizeof b, f), 128 + 48); /* header, 6 values */
    fclose(f);
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    assert_memory_equal(b, "\x93NUMPY\x01\x00\x76\x00", 10); /* header length 118 */
    assert_memory_equal(b + 10, dict, strlen(dict));
    for (size_t i = 10 + strlen(dict); i < 127; i++)
        assert_int_equal(b[i], ' ');
    assert_int_equal(b[127], '\n');
    double x;
    memcpy(&x, b + 128 + 8 * 5, 8); /* little-endian host (x86-64, arm64) */
    assert_true(x == 255.0);
    assert_no_file_with_prefix("saved.npy.tmp");

    /* errors */
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, vals, RBM_DTYPE_FLOAT64, 2, 3, RBM_BORROW, &ds));
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.npy", g_dir);
    assert_int_equal(rbm_dataset_save_npy(ds, bad), RBM_ERR_IO);
    assert_detail(ctx, "no-such-dir/x.npy");
    assert_int_equal(rbm_dataset_save_npy(ds, g_dir), RBM_ERR_IO); /* a directory */
    assert_detail(ctx, g_dir);
    assert_no_file_with_prefix(".tmp");
    assert_int_equal(rbm_dataset_save_npy(ds, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_save_npy(NULL, path), RBM_ERR_NULL);
    rbm_dataset_free(ds);
    assert_int_equal(as.live, 1); /* nothing but the context */
    rbm_context_free(ctx);
}

static void test_load_by_name(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    const char *t = "1,2\n";
    RBM_CHECK(ctx, rbm_dataset_load(ctx, write_file("data.txt", t, strlen(t)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, ".csv");
    assert_detail(ctx, ".npy");
    /* a CSV named like IDX is parsed as IDX and rejected */
    RBM_CHECK(ctx, rbm_dataset_load(ctx, write_file("data.idx3", t, strlen(t)), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "idx");
    RBM_CHECK(ctx, rbm_dataset_load(ctx, NULL, &ds), RBM_ERR_NULL);
    assert_null(ds);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* synthetic clusters                                                        */
/* ------------------------------------------------------------------------ */

static void test_synthetic_basic(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *a = NULL, *b = NULL, *c = NULL, *is = NULL;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 500, 0, 0, 0, 0.1, RBM_UNIT_BERNOULLI, 42, &a));
    expect_shape(a, 500, 100);
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 500, 11, 5, 100, 0.1, RBM_UNIT_BERNOULLI, 42, &b));
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 500, 11, 5, 100, 0.1, RBM_UNIT_BERNOULLI, 43, &c));
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 500, 11, 5, 100, 0.1, RBM_UNIT_ISING, 42, &is));
    assert_int_equal(rbm_dataset_dtype(is), RBM_DTYPE_FLOAT32);
    double *xa = all_rows(ctx, a), *xb = all_rows(ctx, b), *xc = all_rows(ctx, c);
    double *xi = all_rows(ctx, is);
    size_t n = 500 * 100, ndiff = 0, ones = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(xa[i] == 0.0 || xa[i] == 1.0);
        assert_true(xi[i] == -1.0 || xi[i] == 1.0);
        assert_true(xa[i] == xb[i]); /* defaults == 11, 5, 100; same seed */
        assert_true(xi[i] == 2.0 * xa[i] - 1.0); /* same draws, other encoding */
        ndiff += xa[i] != xc[i];
        ones += xa[i] == 1.0;
    }
    assert_true(ndiff > n / 10);               /* another seed: other data */
    assert_true(ones > n / 5 && ones < 4 * n / 5); /* signs of a centred variable */
    free(xa);
    free(xb);
    free(xc);
    free(xi);
    rbm_dataset_free(a);
    rbm_dataset_free(b);
    rbm_dataset_free(c);
    rbm_dataset_free(is);
    /* noise 0, Gaussian: every row is one of the 11 points E c_k, and all 11
     * appear in 2000 draws */
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 2000, 11, 5, 30, 0.0, RBM_UNIT_GAUSSIAN, 7, &a));
    assert_int_equal(rbm_dataset_dtype(a), RBM_DTYPE_FLOAT64);
    xa = all_rows(ctx, a);
    double pts[11][30];
    size_t npts = 0, hits[11] = {0};
    for (size_t r = 0; r < 2000; r++) {
        size_t k = 0;
        for (; k < npts; k++)
            if (memcmp(pts[k], xa + r * 30, sizeof pts[k]) == 0)
                break;
        if (k == npts) {
            assert_true(npts < 11);
            memcpy(pts[npts++], xa + r * 30, sizeof pts[0]);
        }
        hits[k]++;
    }
    assert_int_equal(npts, 11);
    for (size_t k = 0; k < 11; k++) /* uniform cluster choice: ~182 each */
        assert_true(hits[k] > 110 && hits[k] < 260);
    free(xa);
    rbm_dataset_free(a);
    /* errors */
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 0, 0, 0, 0, 0.1, RBM_UNIT_ISING, 1, &a),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 10, 0, 0, 0, -0.1, RBM_UNIT_ISING, 1, &a),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 10, 0, 0, 0, NAN, RBM_UNIT_ISING, 1, &a),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 10, 0, 0, 0, INFINITY, RBM_UNIT_ISING, 1, &a),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 10, 3, 8, 7, 0.1, RBM_UNIT_ISING, 1, &a),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 10, 3, 0, 4, 0.1, RBM_UNIT_ISING, 1, &a),
              RBM_ERR_INVALID_ARGUMENT); /* default d = 5 > 4 */
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 10, 3, 2, 4, 0.1, (rbm_unit_kind)9, 1, &a),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, SIZE_MAX / 2, 3, 2, 4, 0.1, RBM_UNIT_ISING, 1, &a),
              RBM_ERR_TOO_LARGE);
    RBM_CHECK(ctx, rbm_dataset_synthetic(ctx, 10, 3, 2, 4, 0.1, RBM_UNIT_ISING, 1, NULL),
              RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_synthetic(NULL, 10, 3, 2, 4, 0.1, RBM_UNIT_ISING, 1, &a),
                     RBM_ERR_NULL);
    assert_null(a);
    rbm_context_free(ctx);
}

/* Eigenvalues (descending) of a dataset's covariance. */
static double *cov_eigenvalues(rbm_context *ctx, const rbm_dataset *ds)
{
    size_t D = rbm_dataset_cols(ds);
    double *C = malloc(D * D * sizeof *C), *w = malloc(D * sizeof *w);
    assert_non_null(C);
    assert_non_null(w);
    RBM_OKAY(ctx, rbm_dataset_covariance(ds, C, D * D));
    jacobi_eigenvalues(C, D, w);
    free(C);
    return w;
}

static void test_synthetic_structure(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    /* Gaussian kind: x = E z lies in the 5-dim column space of E, so the
     * covariance has exactly 5 non-zero eigenvalues */
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 3000, 11, 5, 100, 0.1, RBM_UNIT_GAUSSIAN, 3, &ds));
    double *w = cov_eigenvalues(ctx, ds);
    double tr = 0.0, top = 0.0;
    for (size_t i = 0; i < 100; i++) {
        tr += w[i];
        if (i < 5)
            top += w[i];
    }
    assert_true(top / tr > 1.0 - 1e-10);
    assert_true(w[4] > 1e-3 * w[0]);
    assert_true(fabs(w[5]) < 1e-10 * w[0]);
    free(w);
    rbm_dataset_free(ds);
    /* noise-dominated: Cov ~ E (noise^2 I + Cov_centres) E^T. With E
     * orthonormal its 5 eigenvalues are noise^2 (1 + O(1e-3 + 1/sqrt(M)));
     * a non-normalised or non-orthogonal E would be far off. */
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 20000, 11, 5, 60, 30.0, RBM_UNIT_GAUSSIAN, 5, &ds));
    w = cov_eigenvalues(ctx, ds);
    for (size_t i = 0; i < 5; i++)
        rbm_assert_close(w[i] / 900.0, 1.0, 0.0, 0.06, "noise eigenvalue / noise^2");
    assert_true(fabs(w[5]) < 1e-9 * w[0]);
    free(w);
    rbm_dataset_free(ds);
    /* Bernoulli kind (the default data set): binarisation spreads the
     * spectrum, but about 5 directions still dominate, unlike the same
     * columns with their correlations destroyed */
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 4000, 0, 0, 0, 0.1, RBM_UNIT_BERNOULLI, 11, &ds));
    w = cov_eigenvalues(ctx, ds);
    tr = top = 0.0;
    for (size_t i = 0; i < 100; i++) {
        tr += w[i];
        if (i < 5)
            top += w[i];
    }
    double frac = top / tr;
    free(w);
    double *x = all_rows(ctx, ds);
    /* independent column permutations (a fixed LCG) */
    uint64_t s = 12345;
    for (size_t j = 0; j < 100; j++)
        for (size_t i = 4000 - 1; i > 0; i--) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t k = (size_t)((s >> 33) % (i + 1));
            double t = x[i * 100 + j];
            x[i * 100 + j] = x[k * 100 + j];
            x[k * 100 + j] = t;
        }
    rbm_dataset *sh = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, 4000, 100, RBM_BORROW, &sh));
    w = cov_eigenvalues(ctx, sh);
    double tr2 = 0.0, top2 = 0.0;
    for (size_t i = 0; i < 100; i++) {
        tr2 += w[i];
        if (i < 5)
            top2 += w[i];
    }
    free(w);
    print_message("# bernoulli synthetic: top-5 covariance trace fraction %.3f (shuffled %.3f)\n",
                  frac, top2 / tr2);
    assert_true(frac > 0.6);
    assert_true(top2 / tr2 < 0.15);
    rbm_dataset_free(sh);
    free(x);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* transforms, slices, statistics                                            */
/* ------------------------------------------------------------------------ */

static void test_transforms(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const uint8_t u8[6] = {0, 100, 127, 128, 200, 255};
    const double f64[6] = {-1.0, 0.0, 0.25, 0.5, 0.75, 3.0};
    rbm_dataset *du = NULL, *dd = NULL, *df = NULL, *t = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, u8, RBM_DTYPE_UINT8, 2, 3, RBM_BORROW, &du));
    RBM_OKAY(ctx, rbm_dataset_set_image_shape(du, 3, 1));
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, f64, RBM_DTYPE_FLOAT64, 3, 2, RBM_COPY, &dd));
    float f32[6];
    for (int i = 0; i < 6; i++)
        f32[i] = (float)f64[i];
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, f32, RBM_DTYPE_FLOAT32, 3, 2, RBM_COPY, &df));
    double y[6];
    size_t h, w;
    /* uint8 */
    RBM_OKAY(ctx, rbm_dataset_transform(du, RBM_TRANSFORM_BINARIZE, 127, &t));
    assert_int_equal(rbm_dataset_dtype(t), RBM_DTYPE_UINT8); /* 0/1 held exactly in uint8 */
    rbm_dataset_image_shape(t, &h, &w);
    assert_true(h == 3 && w == 1);
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 2, y, 6));
    const double bin[6] = {0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == bin[i]);
    rbm_dataset_free(t);
    RBM_OKAY(ctx, rbm_dataset_transform(du, RBM_TRANSFORM_BINARIZE_ISING, 127, &t));
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 2, y, 6));
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == 2 * bin[i] - 1);
    rbm_dataset_free(t);
    RBM_OKAY(ctx, rbm_dataset_transform(du, RBM_TRANSFORM_SCALE01, NAN, &t));
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 2, y, 6));
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == (double)(float)(u8[i] / 255.0)); /* /255, not /(max-min) */
    rbm_dataset_free(t);
    /* float64 stays float64; SCALE01 uses min/max */
    RBM_OKAY(ctx, rbm_dataset_transform(dd, RBM_TRANSFORM_SCALE01, 0, &t));
    assert_int_equal(rbm_dataset_dtype(t), RBM_DTYPE_FLOAT64);
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 3, y, 6));
    for (int i = 0; i < 6; i++)
        rbm_assert_close(y[i], (f64[i] + 1.0) / 4.0, 1e-15, 1e-15, "scale01");
    rbm_dataset_free(t);
    RBM_OKAY(ctx, rbm_dataset_transform(dd, RBM_TRANSFORM_TO_ISING, 0, &t));
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 3, y, 6));
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == 2 * f64[i] - 1);
    rbm_dataset_free(t);
    RBM_OKAY(ctx, rbm_dataset_transform(dd, RBM_TRANSFORM_BINARIZE, 0.5, &t));
    assert_int_equal(rbm_dataset_dtype(t), RBM_DTYPE_UINT8);
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 3, y, 6));
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == (f64[i] > 0.5 ? 1.0 : 0.0));
    rbm_dataset_free(t);
    /* float32 */
    RBM_OKAY(ctx, rbm_dataset_transform(df, RBM_TRANSFORM_SCALE01, 0, &t));
    assert_int_equal(rbm_dataset_dtype(t), RBM_DTYPE_FLOAT32);
    double mn, mx;
    RBM_OKAY(ctx, rbm_dataset_range(t, &mn, &mx));
    assert_true(mn == 0.0 && mx == 1.0);
    rbm_dataset_free(t);
    RBM_OKAY(ctx, rbm_dataset_transform(df, RBM_TRANSFORM_BINARIZE_ISING, 0.0, &t));
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 3, y, 6));
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == (f64[i] > 0.0 ? 1.0 : -1.0));
    rbm_dataset_free(t);
    /* extreme range: hi - lo overflows a double */
    const double ext[3] = {-1e308, 0.0, 1e308};
    rbm_dataset *de = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, ext, RBM_DTYPE_FLOAT64, 1, 3, RBM_BORROW, &de));
    RBM_OKAY(ctx, rbm_dataset_transform(de, RBM_TRANSFORM_SCALE01, 0, &t));
    RBM_OKAY(ctx, rbm_dataset_get_rows(t, 0, 1, y, 3));
    assert_true(y[0] == 0.0 && y[1] == 0.5 && y[2] == 1.0);
    rbm_dataset_free(t);
    rbm_dataset_free(de);
    /* constant data maps to 0 */
    const double cst[4] = {2.5, 2.5, 2.5, 2.5};
    rbm_dataset *dc = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, cst, RBM_DTYPE_FLOAT64, 2, 2, RBM_BORROW, &dc));
    RBM_OKAY(ctx, rbm_dataset_transform(dc, RBM_TRANSFORM_SCALE01, 0, &t));
    RBM_OKAY(ctx, rbm_dataset_range(t, &mn, &mx));
    assert_true(mn == 0.0 && mx == 0.0);
    rbm_dataset_free(t);
    rbm_dataset_free(dc);
    /* errors; the input is unchanged */
    RBM_CHECK(ctx, rbm_dataset_transform(dd, (rbm_transform)17, 0, &t), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_transform(dd, RBM_TRANSFORM_BINARIZE, NAN, &t),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_transform(dd, RBM_TRANSFORM_BINARIZE_ISING, INFINITY, &t),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_transform(dd, RBM_TRANSFORM_BINARIZE, 0, NULL), RBM_ERR_NULL);
    assert_null(t);
    RBM_OKAY(ctx, rbm_dataset_get_rows(dd, 0, 3, y, 6));
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == f64[i]);
    rbm_dataset_free(du);
    rbm_dataset_free(dd);
    rbm_dataset_free(df);
    rbm_context_free(ctx);
}

static void test_slice_rows_range(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    float x[5 * 4];
    for (int i = 0; i < 20; i++)
        x[i] = (float)(i * i) - 50.0f;
    rbm_dataset *ds = NULL, *s = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT32, 5, 4, RBM_BORROW, &ds));
    RBM_OKAY(ctx, rbm_dataset_set_image_shape(ds, 2, 2));
    RBM_OKAY(ctx, rbm_dataset_slice(ds, 1, 3, &s));
    expect_shape(s, 3, 4);
    assert_int_equal(rbm_dataset_dtype(s), RBM_DTYPE_FLOAT32);
    size_t h, w;
    rbm_dataset_image_shape(s, &h, &w);
    assert_true(h == 2 && w == 2);
    double y[12];
    RBM_OKAY(ctx, rbm_dataset_get_rows(s, 0, 3, y, 12));
    for (int i = 0; i < 12; i++)
        assert_true(y[i] == x[4 + i]);
    double mn = 0, mx = 0;
    RBM_OKAY(ctx, rbm_dataset_range(s, &mn, &mx));
    assert_true(mn == x[4] && mx == x[15]);
    RBM_OKAY(ctx, rbm_dataset_range(ds, &mn, NULL));
    assert_true(mn == -50.0);
    RBM_OKAY(ctx, rbm_dataset_range(ds, NULL, &mx));
    assert_true(mx == 311.0);
    rbm_dataset_free(s);
    RBM_OKAY(ctx, rbm_dataset_slice(ds, 4, 1, &s));
    rbm_dataset_free(s);
    RBM_CHECK(ctx, rbm_dataset_slice(ds, 4, 2, &s), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_slice(ds, 0, 0, &s), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_slice(ds, 5, 1, &s), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_slice(ds, 2, SIZE_MAX, &s), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_slice(ds, 0, 1, NULL), RBM_ERR_NULL);
    assert_null(s);
    RBM_CHECK(ctx, rbm_dataset_get_rows(ds, 3, 3, y, 12), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_get_rows(ds, 0, 3, y, 11), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_dataset_get_rows(ds, 0, 3, NULL, 12), RBM_ERR_NULL);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* mean and covariance against direct double loops (covariance entries
 * (i, j) with i, j multiples of stride) */
static void check_stats(rbm_context *ctx, const rbm_dataset *ds, size_t stride)
{
    size_t M = rbm_dataset_rows(ds), D = rbm_dataset_cols(ds);
    double *x = all_rows(ctx, ds);
    double *mu = calloc(D, sizeof *mu), *ref = calloc(D, sizeof *ref);
    double *C = malloc(D * D * sizeof *C);
    assert_true(mu && ref && C);
    RBM_OKAY(ctx, rbm_dataset_mean(ds, mu, D));
    for (size_t r = 0; r < M; r++)
        for (size_t j = 0; j < D; j++)
            ref[j] += x[r * D + j];
    for (size_t j = 0; j < D; j++) {
        ref[j] /= (double)M;
        rbm_assert_close(mu[j], ref[j], 1e-12, 1e-12, "column mean");
    }
    RBM_OKAY(ctx, rbm_dataset_covariance(ds, C, D * D));
    for (size_t i = 0; i < D; i += stride)
        for (size_t j = 0; j <= i; j += stride) {
            double s = 0.0;
            for (size_t r = 0; r < M; r++)
                s += x[r * D + i] * x[r * D + j];
            double cij = s / (double)M - ref[i] * ref[j]; /* <x x^T> - <x><x>^T */
            double scale = sqrt(fabs(s / (double)M)) + 1e-300;
            rbm_assert_close(C[i * D + j], cij, 1e-9, 1e-11 * scale * scale + 1e-13,
                             "covariance");
        }
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < i; j++)
            assert_true(C[i * D + j] == C[j * D + i]);
    free(x);
    free(mu);
    free(ref);
    free(C);
}

static void test_mean_covariance(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    size_t M = 1001, D = 7;
    uint8_t *u = malloc(M * D);
    float *f = malloc(M * D * sizeof *f);
    double *d = malloc(M * D * sizeof *d);
    assert_true(u && f && d);
    for (size_t i = 0; i < M * D; i++) {
        u[i] = (uint8_t)((i * 37 + i / D) % 256);
        f[i] = (float)sin((double)i * 0.37) + (float)(i % D);
        d[i] = cos((double)i * 1.3) * (double)(1 + i % D) + 100.0;
    }
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, u, RBM_DTYPE_UINT8, M, D, RBM_BORROW, &ds));
    check_stats(ctx, ds, 1);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, f, RBM_DTYPE_FLOAT32, M, D, RBM_BORROW, &ds));
    check_stats(ctx, ds, 1);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, d, RBM_DTYPE_FLOAT64, M, D, RBM_BORROW, &ds));
    check_stats(ctx, ds, 1);
    /* errors */
    double out[49];
    RBM_CHECK(ctx, rbm_dataset_mean(ds, out, 6), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_dataset_mean(ds, NULL, 7), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_dataset_covariance(ds, out, 48), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_dataset_covariance(ds, NULL, 49), RBM_ERR_NULL);
    rbm_dataset_free(ds);
    free(u);
    free(f);
    free(d);
    /* several row blocks (wide data), single row */
    M = 700;
    D = 1500;
    d = malloc(M * D * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < M * D; i++)
        d[i] = (double)((i * 2654435761u) % 1000) / 1000.0 + (double)(i % D) * 1e-3;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, d, RBM_DTYPE_FLOAT64, M, D, RBM_BORROW, &ds));
    check_stats(ctx, ds, 13);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, d, RBM_DTYPE_FLOAT64, 1, 9, RBM_BORROW, &ds));
    double c1[81];
    RBM_OKAY(ctx, rbm_dataset_covariance(ds, c1, 81));
    for (int i = 0; i < 81; i++)
        assert_true(c1[i] == 0.0);
    rbm_dataset_free(ds);
    free(d);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* batch iterator                                                            */
/* ------------------------------------------------------------------------ */

/* Run one epoch; rows are identified by column 0 (= row index). Checks the
 * batch sizes and returns the visiting order in order[] (count in *n). */
static void run_epoch(rbm_context *ctx, rbm_batch_iter *it, size_t M, size_t B, int drop_last,
                      size_t *order, size_t *n)
{
    double buf[64 * 2];
    size_t nb = rbm_batch_iter_batches_per_epoch(it);
    size_t want_nb = drop_last ? M / B : (M + B - 1) / B;
    assert_int_equal(nb, want_nb);
    *n = 0;
    for (size_t k = 0; k < nb; k++) {
        size_t rows = 0;
        rbm_status st = rbm_batch_iter_next(it, buf, B * 2, &rows);
        RBM_CHECK(ctx, st, k + 1 == nb ? RBM_DONE : RBM_OK);
        size_t want_rows = (!drop_last && k + 1 == nb && M % B) ? M % B : B;
        assert_int_equal(rows, want_rows);
        for (size_t r = 0; r < rows; r++) {
            assert_true(buf[r * 2 + 1] == 1000.0 + buf[r * 2]);
            order[(*n)++] = (size_t)buf[r * 2];
        }
    }
}

static void test_batch_iter(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t M = 10;
    double x[10 * 2];
    for (size_t i = 0; i < M; i++) {
        x[2 * i] = (double)i;
        x[2 * i + 1] = 1000.0 + (double)i;
    }
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, M, 2, RBM_BORROW, &ds));
    size_t order[3][10], n;
    /* shuffled, keep the last partial batch: 3,3,3,1 */
    rbm_batch_iter *it = NULL, *it2 = NULL, *it3 = NULL;
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 3, RBM_BATCH_SHUFFLE, 99, &it));
    for (int e = 0; e < 3; e++) {
        run_epoch(ctx, it, M, 3, 0, order[e], &n);
        assert_int_equal(n, M);
        int seen[10] = {0};
        for (size_t i = 0; i < n; i++)
            seen[order[e][i]]++;
        for (size_t i = 0; i < M; i++)
            assert_int_equal(seen[i], 1); /* every row exactly once */
    }
    /* new order each epoch */
    assert_true(memcmp(order[0], order[1], sizeof order[0]) != 0 ||
                memcmp(order[1], order[2], sizeof order[0]) != 0);
    /* same seed: the same sequence; another seed: another one */
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 3, RBM_BATCH_SHUFFLE, 99, &it2));
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 3, RBM_BATCH_SHUFFLE, 100, &it3));
    size_t o2[10], o3[10];
    int differs = 0;
    for (int e = 0; e < 3; e++) {
        run_epoch(ctx, it2, M, 3, 0, o2, &n);
        assert_memory_equal(o2, order[e], sizeof o2);
        run_epoch(ctx, it3, M, 3, 0, o3, &n);
        differs |= memcmp(o3, order[e], sizeof o3) != 0;
    }
    assert_true(differs);
    rbm_batch_iter_free(it);
    rbm_batch_iter_free(it2);
    rbm_batch_iter_free(it3);
    /* drop_last: 3 batches of 3, 9 distinct rows, DONE on the third */
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 3, RBM_BATCH_SHUFFLE | RBM_BATCH_DROP_LAST, 5, &it));
    int missing_total = 0;
    for (int e = 0; e < 4; e++) {
        run_epoch(ctx, it, M, 3, 1, order[0], &n);
        assert_int_equal(n, 9);
        int seen[10] = {0};
        for (size_t i = 0; i < n; i++)
            seen[order[0][i]]++;
        for (size_t i = 0; i < M; i++) {
            assert_true(seen[i] <= 1);
            missing_total += seen[i] == 0;
        }
    }
    assert_int_equal(missing_total, 4);
    rbm_batch_iter_free(it);
    /* no shuffle: file order; batch = M: one batch, DONE each call */
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 4, 0, 5, &it));
    for (int e = 0; e < 2; e++) {
        run_epoch(ctx, it, M, 4, 0, order[0], &n);
        for (size_t i = 0; i < M; i++)
            assert_int_equal(order[0][i], i);
    }
    rbm_batch_iter_free(it);
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 10, RBM_BATCH_SHUFFLE | RBM_BATCH_DROP_LAST, 5, &it));
    assert_int_equal(rbm_batch_iter_batches_per_epoch(it), 1);
    double buf[20];
    size_t rows;
    RBM_CHECK(ctx, rbm_batch_iter_next(it, buf, 20, &rows), RBM_DONE);
    assert_int_equal(rows, 10);
    RBM_CHECK(ctx, rbm_batch_iter_next(it, buf, 20, &rows), RBM_DONE);
    /* errors */
    RBM_CHECK(ctx, rbm_batch_iter_next(it, buf, 19, &rows), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_batch_iter_next(it, NULL, 20, &rows), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_batch_iter_next(it, buf, 20, NULL), RBM_ERR_NULL);
    rbm_batch_iter_free(it);
    it = (rbm_batch_iter *)&it;
    RBM_CHECK(ctx, rbm_batch_iter_new(ds, 0, RBM_BATCH_SHUFFLE, 1, &it), RBM_ERR_INVALID_ARGUMENT);
    assert_null(it);
    RBM_CHECK(ctx, rbm_batch_iter_new(ds, 11, RBM_BATCH_SHUFFLE, 1, &it), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_batch_iter_new(ds, 2, RBM_BATCH_SHUFFLE, 1, NULL), RBM_ERR_NULL);
    /* flags: bits other than the rbm_batch_flag values are rejected, with
     * the unknown bits in the detail; *out stays NULL */
    const uint32_t bad_flags[] = {1u << 2, RBM_BATCH_SHUFFLE | (1u << 5), 1u << 31, 0xffffffffu};
    const char *bad_bits[] = {"0x4", "0x20", "0x80000000", "0xfffffffc"};
    for (int t = 0; t < 4; t++) {
        it = (rbm_batch_iter *)&it;
        rbm_context_clear_error(ctx);
        RBM_CHECK(ctx, rbm_batch_iter_new(ds, 3, bad_flags[t], 1, &it), RBM_ERR_INVALID_ARGUMENT);
        assert_null(it);
        char want[64];
        snprintf(want, sizeof want, "unknown flag bits %s ", bad_bits[t]);
        if (!strstr(rbm_context_last_error(ctx), want))
            fail_msg("detail \"%s\" lacks \"%s\"", rbm_context_last_error(ctx), want);
    }
    /* RBM_BATCH_DROP_LAST alone: file order, 3 full batches, rows 0..8 */
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 3, RBM_BATCH_DROP_LAST, 5, &it));
    assert_int_equal(rbm_batch_iter_batches_per_epoch(it), 3);
    for (int e = 0; e < 2; e++) {
        run_epoch(ctx, it, M, 3, 1, order[0], &n);
        assert_int_equal(n, 9);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(order[0][i], i);
    }
    rbm_batch_iter_free(it);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* Shuffling is uniform enough: over many epochs each row appears at each
 * position about equally often. */
static void test_batch_iter_uniform(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    double x[8];
    for (int i = 0; i < 8; i++)
        x[i] = i;
    rbm_dataset *ds = NULL;
    rbm_batch_iter *it = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x, RBM_DTYPE_FLOAT64, 8, 1, RBM_BORROW, &ds));
    size_t counts[8][8] = {{0}}, counts2[8][8] = {{0}};
    const int runs = 8000;
    /* first epochs of fresh iterators (one seed each), and successive
     * epochs of one iterator */
    rbm_batch_iter *one = NULL;
    RBM_OKAY(ctx, rbm_batch_iter_new(ds, 8, RBM_BATCH_SHUFFLE, 2024, &one));
    for (int e = 0; e < runs; e++) {
        double buf[8];
        size_t rows;
        RBM_OKAY(ctx, rbm_batch_iter_new(ds, 8, RBM_BATCH_SHUFFLE, (uint64_t)e * 7919u + 1u, &it));
        RBM_CHECK(ctx, rbm_batch_iter_next(it, buf, 8, &rows), RBM_DONE);
        for (int p = 0; p < 8; p++)
            counts[(size_t)buf[p]][p]++;
        rbm_batch_iter_free(it);
        RBM_CHECK(ctx, rbm_batch_iter_next(one, buf, 8, &rows), RBM_DONE);
        for (int p = 0; p < 8; p++)
            counts2[(size_t)buf[p]][p]++;
    }
    /* expected 1000 per cell, sd ~ 30: allow 6 sd */
    for (int r = 0; r < 8; r++)
        for (int p = 0; p < 8; p++) {
            assert_true(counts[r][p] > 820 && counts[r][p] < 1180);
            assert_true(counts2[r][p] > 820 && counts2[r][p] < 1180);
        }
    rbm_batch_iter_free(one);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* non-regular files: refused by every loader, without blocking              */
/* ------------------------------------------------------------------------ */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "a loader blocked on a FIFO without a writer\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static void test_fifo_inputs(void **state)
{
    (void)state;
    alloc_stats as;
    rbm_context *ctx = counting_context(&as);
    rbm_dataset *ds = NULL;
    /* a FIFO with no writer: a blocking open() would never return, so a
     * watchdog turns a hang into a failure */
    signal(SIGALRM, on_alarm);
    alarm(10);
    static const char *const names[] = {"fifo.idx", "fifo-ubyte.gz", "fifo.csv", "fifo.npy"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *path = fixture_path(names[i]);
        unlink(path);
        assert_int_equal(mkfifo(path, 0600), 0);
        RBM_CHECK(ctx, rbm_dataset_load(ctx, path, &ds), RBM_ERR_IO);
        assert_detail(ctx, "is not a regular file (FIFO)");
        assert_detail(ctx, names[i]);
        assert_null(ds);
        unlink(path);
    }
    /* a directory and a character device likewise */
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, "/dev/null", &ds), RBM_ERR_IO);
    assert_detail(ctx, "csv file /dev/null is not a regular file (character device)");
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, "/", &ds), RBM_ERR_IO);
    assert_detail(ctx, "idx file / is not a regular file (directory)");
    alarm(0);
    signal(SIGALRM, SIG_DFL);
    assert_null(ds);
    assert_int_equal(as.live, 1);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* element reads: every dtype reads back exactly, as double and as float     */
/* ------------------------------------------------------------------------ */

/* 3 rows x 700 columns (more than any internal block) of each dtype, with
 * extremes, signed zeros and the largest and smallest values late in the
 * data; row r starts with the value r + 1 so that rows can be told apart. */
#define ER_ROWS 3
#define ER_COLS 700
#define ER_N (ER_ROWS * ER_COLS)

static void er_fill(uint8_t *u8, float *f32, double *f64)
{
    r_seed(77);
    for (size_t i = 0; i < ER_N; i++) {
        double x = r_norm() * 100.0;
        u8[i] = (uint8_t)(r_u64() % 250 + 1);
        f32[i] = (float)x;
        f64[i] = x * 1e-3 + 1e-17 * (double)i; /* not representable as float */
    }
    for (size_t r = 0; r < ER_ROWS; r++) {
        u8[r * ER_COLS] = (uint8_t)(r + 1);
        f32[r * ER_COLS] = (float)(r + 1);
        f64[r * ER_COLS] = (double)(r + 1);
    }
    f32[5] = -0.0f;
    f64[5] = -0.0;
    f32[6] = 1e-40f; /* subnormal */
    f64[6] = 5e-324;
    u8[ER_N - 2] = 0;
    u8[ER_N - 1] = 255;
    f32[ER_N - 2] = -3.0e38f;
    f32[ER_N - 1] = 3.0e38f;
    f64[ER_N - 2] = -1.5e308;
    f64[ER_N - 1] = 1.5e308;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void test_element_reads(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    static uint8_t u8[ER_N];
    static float f32[ER_N];
    static double f64[ER_N], want[ER_N], got[ER_N];
    er_fill(u8, f32, f64);
    const void *src[3] = {u8, f32, f64};
    rbm_dtype types[3] = {RBM_DTYPE_UINT8, RBM_DTYPE_FLOAT32, RBM_DTYPE_FLOAT64};
    for (int t = 0; t < 3; t++) {
        for (size_t i = 0; i < ER_N; i++)
            want[i] = t == 0 ? (double)u8[i] : t == 1 ? (double)f32[i] : f64[i];
        rbm_dataset *ds = NULL;
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, src[t], types[t], ER_ROWS, ER_COLS,
                                              RBM_BORROW, &ds));
        /* all rows, and each row alone */
        RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, ER_ROWS, got, ER_N));
        for (size_t i = 0; i < ER_N; i++)
            assert_true(same_bits(got[i], want[i]));
        for (size_t r = 0; r < ER_ROWS; r++) {
            RBM_OKAY(ctx, rbm_dataset_get_rows(ds, r, 1, got, ER_COLS));
            assert_memory_equal(got, want + r * ER_COLS, ER_COLS * sizeof(double));
        }
        /* extremes sit at the very end */
        double lo, hi;
        RBM_OKAY(ctx, rbm_dataset_range(ds, &lo, &hi));
        assert_true(lo == want[ER_N - 2] && hi == want[ER_N - 1]);
        /* column means: the rows summed in order */
        static double mean[ER_COLS];
        RBM_OKAY(ctx, rbm_dataset_mean(ds, mean, ER_COLS));
        for (size_t j = 0; j < ER_COLS; j++) {
            double s = 0.0;
            for (size_t r = 0; r < ER_ROWS; r++)
                s += want[r * ER_COLS + j];
            assert_true(same_bits(mean[j], s / ER_ROWS));
        }
        /* shuffled batches deliver whole rows, each exactly */
        rbm_batch_iter *it = NULL;
        RBM_OKAY(ctx, rbm_batch_iter_new(ds, 2, RBM_BATCH_SHUFFLE, 5, &it));
        size_t rows = 0, seen = 0;
        rbm_status st;
        do {
            st = rbm_batch_iter_next(it, got, 2 * ER_COLS, &rows);
            assert_true(st == RBM_OK || st == RBM_DONE);
            for (size_t k = 0; k < rows; k++) {
                size_t r = (size_t)got[k * ER_COLS] - 1;
                assert_true(r < ER_ROWS);
                assert_memory_equal(got + k * ER_COLS, want + r * ER_COLS,
                                    ER_COLS * sizeof(double));
                seen |= (size_t)1 << r;
            }
        } while (st == RBM_OK);
        assert_int_equal(seen, (1u << ER_ROWS) - 1);
        rbm_batch_iter_free(it);
        rbm_dataset_free(ds);
    }
    /* the first NaN or infinity is named by row and column, past the first
     * few hundred values */
    static float bad32[ER_N];
    static double bad64[ER_N];
    memcpy(bad32, f32, sizeof bad32);
    memcpy(bad64, f64, sizeof bad64);
    bad32[1000] = NAN;
    bad32[2000] = INFINITY;
    bad64[1999] = -INFINITY;
    rbm_dataset *ds = NULL;
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, bad32, RBM_DTYPE_FLOAT32, ER_ROWS, ER_COLS,
                                           RBM_COPY, &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "row 1, column 300 is NaN");
    RBM_CHECK(ctx, rbm_dataset_from_memory(ctx, bad64, RBM_DTYPE_FLOAT64, ER_ROWS, ER_COLS,
                                           RBM_COPY, &ds),
              RBM_ERR_NOT_FINITE);
    assert_detail(ctx, "row 2, column 599 is infinite");
    assert_null(ds);
    rbm_context_free(ctx);
}

/* Training in float32 reads the data as float: a float64 dataset trains
 * exactly as the same values rounded to float32, and binary data trains
 * the same whichever dtype holds it. */
static void train_f32(rbm_context *ctx, const rbm_dataset *ds, rbm_unit_kind visible, double *w)
{
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, rbm_dataset_cols(ds), 4, visible, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 8, 11, &t));
    RBM_OKAY(ctx, rbm_trainer_run_epochs(t, 3));
    RBM_OKAY(ctx, rbm_machine_get_weights(m, w, rbm_dataset_cols(ds) * 4));
    rbm_trainer_free(t);
    rbm_machine_free(m);
}

static void test_element_reads_f32(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    enum { R = 40, C = 12 };
    static double x64[R * C];
    static float x32[R * C];
    static uint8_t b8[R * C];
    static float b32[R * C];
    static double b64[R * C];
    r_seed(3);
    for (size_t i = 0; i < R * C; i++) {
        x64[i] = r_norm() + 1e-12 * r_unif(); /* most are not floats */
        x32[i] = (float)x64[i];
        b8[i] = r_unif() < 0.4;
        b32[i] = b8[i];
        b64[i] = b8[i];
    }
    double w1[C * 4], w2[C * 4], w3[C * 4];
    rbm_dataset *d64 = NULL, *d32 = NULL, *d8 = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x64, RBM_DTYPE_FLOAT64, R, C, RBM_BORROW, &d64));
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, x32, RBM_DTYPE_FLOAT32, R, C, RBM_BORROW, &d32));
    train_f32(ctx, d64, RBM_UNIT_GAUSSIAN, w1);
    train_f32(ctx, d32, RBM_UNIT_GAUSSIAN, w2);
    assert_memory_equal(w1, w2, sizeof w1);
    rbm_dataset_free(d64);
    rbm_dataset_free(d32);
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, b8, RBM_DTYPE_UINT8, R, C, RBM_BORROW, &d8));
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, b32, RBM_DTYPE_FLOAT32, R, C, RBM_BORROW, &d32));
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, b64, RBM_DTYPE_FLOAT64, R, C, RBM_BORROW, &d64));
    train_f32(ctx, d8, RBM_UNIT_BERNOULLI, w1);
    train_f32(ctx, d32, RBM_UNIT_BERNOULLI, w2);
    train_f32(ctx, d64, RBM_UNIT_BERNOULLI, w3);
    assert_memory_equal(w1, w2, sizeof w1);
    assert_memory_equal(w1, w3, sizeof w1);
    rbm_dataset_free(d8);
    rbm_dataset_free(d32);
    rbm_dataset_free(d64);
    rbm_context_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* allocation failures: every path frees what it took                        */
/* ------------------------------------------------------------------------ */

typedef rbm_status (*alloc_case_fn)(rbm_context *ctx, void *arg);

static void run_alloc_failures(alloc_case_fn fn, void *arg, const char *what)
{
    alloc_stats as;
    for (size_t fail = 1; fail < 200; fail++) {
        rbm_context *ctx = counting_context(&as);
        as.fail_at = fail + as.calls; /* count from after the context */
        rbm_status st = fn(ctx, arg);
        char detail[512];
        snprintf(detail, sizeof detail, "%s", rbm_context_last_error(ctx));
        size_t live = as.live;
        rbm_context_free(ctx);
        if (live != 1)
            fail_msg("%s: %zu allocation(s) leaked when allocation %zu failed (status %s)", what,
                     live - 1, fail, rbm_status_name(st));
        if (st == RBM_OK)
            return; /* the case needs fewer allocations: all paths covered */
        if (st != RBM_ERR_NO_MEMORY)
            fail_msg("%s: allocation %zu failed gave %s (%s)", what, fail, rbm_status_name(st),
                     detail);
    }
    fail_msg("%s: never succeeded", what);
}

static rbm_status case_load(rbm_context *ctx, void *arg)
{
    rbm_dataset *ds = NULL;
    rbm_status st = rbm_dataset_load(ctx, arg, &ds);
    rbm_dataset_free(ds);
    return st;
}

static rbm_status case_ops(rbm_context *ctx, void *arg)
{
    (void)arg;
    rbm_dataset *ds = NULL, *t = NULL, *s = NULL;
    rbm_batch_iter *it = NULL;
    double cov[100 * 100], mean[100];
    rbm_status st = rbm_dataset_synthetic(ctx, 300, 0, 0, 0, 0.2, RBM_UNIT_ISING, 1, &ds);
    if (!st)
        st = rbm_dataset_transform(ds, RBM_TRANSFORM_TO_ISING, 0, &t);
    if (!st)
        st = rbm_dataset_slice(t, 10, 20, &s);
    if (!st)
        st = rbm_dataset_mean(s, mean, 100);
    if (!st)
        st = rbm_dataset_covariance(s, cov, 100 * 100);
    if (!st)
        st = rbm_batch_iter_new(s, 7, RBM_BATCH_SHUFFLE, 3, &it);
    if (!st) {
        size_t rows;
        st = rbm_batch_iter_next(it, cov, 700, &rows);
    }
    rbm_batch_iter_free(it);
    rbm_dataset_free(s);
    rbm_dataset_free(t);
    rbm_dataset_free(ds);
    return st;
}

static rbm_status case_copy(rbm_context *ctx, void *arg)
{
    rbm_dataset *ds = NULL;
    rbm_status st = rbm_dataset_from_memory(ctx, arg, RBM_DTYPE_UINT8, 2, 2, RBM_COPY, &ds);
    rbm_dataset_free(ds);
    return st;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    bytes b = idx_u8_3x2x4();
    bytes g = gzip_stored(b.p, b.n);
    run_alloc_failures(case_load, (void *)write_file("af.idx", b.p, b.n), "idx");
    run_alloc_failures(case_load, (void *)write_file("af-ubyte.gz", g.p, g.n), "idx gzip");
    bytes_free(&g);
    bytes_free(&b);
    /* idx with conversion (short -> float64) */
    uint32_t dims[2] = {2, 2};
    idx_header(&b, 0x0B, 2, dims);
    for (int i = 0; i < 8; i++)
        put_u8(&b, i);
    run_alloc_failures(case_load, (void *)write_file("af2.idx", b.p, b.n), "idx short");
    bytes_free(&b);
    /* csv long enough to grow its buffers */
    FILE *f = fopen(fixture_path("af.csv"), "w");
    assert_non_null(f);
    fprintf(f, "a,b,c\n");
    for (int r = 0; r < 3000; r++)
        fprintf(f, "%d,%d.5,%d\n", r, r, -r);
    fclose(f);
    run_alloc_failures(case_load, (void *)fixture_path("af.csv"), "csv");
    b = npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }");
    for (int i = 0; i < 4; i++)
        put_le_f64(&b, i);
    run_alloc_failures(case_load, (void *)write_file("af.npy", b.p, b.n), "npy");
    bytes_free(&b);
    const uint8_t u[4] = {1, 2, 3, 4};
    run_alloc_failures(case_copy, (void *)u, "from_memory");
    run_alloc_failures(case_ops, NULL, "synthetic/transform/slice/stats/iter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_memory),
        cmocka_unit_test(test_idx_plain_and_gzip),
        cmocka_unit_test(test_idx_types),
        cmocka_unit_test(test_idx_bad_headers),
        cmocka_unit_test(test_idx_truncated),
        cmocka_unit_test(test_fashion_mnist),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_npy),
        cmocka_unit_test(test_save_npy),
        cmocka_unit_test(test_load_by_name),
        cmocka_unit_test(test_synthetic_basic),
        cmocka_unit_test(test_synthetic_structure),
        cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_slice_rows_range),
        cmocka_unit_test(test_mean_covariance),
        cmocka_unit_test(test_batch_iter),
        cmocka_unit_test(test_batch_iter_uniform),
        cmocka_unit_test(test_fifo_inputs),
        cmocka_unit_test(test_element_reads),
        cmocka_unit_test(test_element_reads_f32),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
