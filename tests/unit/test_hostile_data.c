/* Hostile data files: decompression bombs, the context's data size limit,
 * single allocation at the final size, CSV header modes, non-regular files,
 * trailing bytes, duplicate NPY keys, and the file names and escaping in the
 * messages. Files are built byte by byte here (gzip through zlib) and sizes
 * are checked through the allocator hook. */
#define _GNU_SOURCE
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- fixtures ---- */

static char g_dir[256];

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/rbm_test_hostile_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static const char *write_file(const char *name, const void *p, size_t n)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* gzip (level 9) of n bytes into a file; returns the compressed size. */
static size_t write_gz(const char *path, const void *p, size_t n)
{
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    const unsigned char *b = p;
    while (n > 0) {
        unsigned take = n > (1u << 30) ? 1u << 30 : (unsigned)n;
        assert_int_equal(gzwrite(g, b, take), (int)take);
        b += take;
        n -= take;
    }
    assert_int_equal(gzclose(g), Z_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (size_t)sb.st_size;
}

static void put_be32(tbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    tbuf_put(b, x, 4);
}

static void idx_header(tbuf *b, unsigned type, unsigned ndim, const uint32_t *dims)
{
    unsigned char h[4] = {0, 0, (unsigned char)type, (unsigned char)ndim};
    tbuf_put(b, h, 4);
    for (unsigned k = 0; k < ndim; k++)
        put_be32(b, dims[k]);
}

static void assert_detail(rbm_context *ctx, const char *needle)
{
    const char *msg = rbm_context_last_error(ctx);
    if (!strstr(msg, needle))
        fail_msg("error detail \"%s\" does not contain \"%s\"", msg, needle);
}

static void assert_no_detail(rbm_context *ctx, const char *needle)
{
    const char *msg = rbm_context_last_error(ctx);
    if (strstr(msg, needle))
        fail_msg("error detail \"%s\" contains \"%s\"", msg, needle);
}

/* ---- an allocator that records sizes, the live total and its peak ---- */

typedef struct alloc_rec {
    size_t live, calls, fail_at;
    size_t max_size;               /* largest single request */
    size_t live_bytes, peak_bytes; /* bytes outstanding, and their maximum */
} alloc_rec;

static void *rec_alloc(void *user, size_t size)
{
    alloc_rec *s = user;
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return NULL;
    if (size > s->max_size)
        s->max_size = size;
    size_t *p = malloc(size + 16);
    if (!p)
        return NULL;
    p[0] = size;
    s->live++;
    s->live_bytes += size;
    if (s->live_bytes > s->peak_bytes)
        s->peak_bytes = s->live_bytes;
    return (char *)p + 16;
}

static void rec_free(void *user, void *q)
{
    alloc_rec *s = user;
    if (!q)
        return;
    size_t *p = (size_t *)((char *)q - 16);
    s->live--;
    s->live_bytes -= p[0];
    free(p);
}

static rbm_context *rec_context(alloc_rec *s)
{
    memset(s, 0, sizeof *s);
    rbm_context *ctx = NULL;
    assert_int_equal(rbm_context_new_with_allocator(rec_alloc, rec_free, s, &ctx), RBM_OK);
    return ctx;
}

/* Reset the peak and size records (the context itself stays live). */
static void rec_reset(alloc_rec *s)
{
    s->max_size = 0;
    s->peak_bytes = s->live_bytes;
    s->calls = 0;
}

/* ======================================================================== */

static void test_limit_api(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    assert_true(rbm_context_max_data_bytes(ctx) == (uint64_t)8 << 30);
    assert_true(RBM_MAX_DATA_BYTES_DEFAULT == (uint64_t)8 << 30);
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, 12345));
    assert_true(rbm_context_max_data_bytes(ctx) == 12345);
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, 0));
    assert_true(rbm_context_max_data_bytes(ctx) == 0);
    assert_int_equal(rbm_context_set_max_data_bytes(NULL, 1), RBM_ERR_NULL);
    assert_true(rbm_context_max_data_bytes(NULL) == 0);
    rbm_context_free(ctx);
}

/* A few kB of gzip whose header honestly describes 65536 x 65536 bytes
 * (4 GiB) but holds 1 MiB of zeros: refused from the header and the file
 * size, before any large allocation, under the default limit. */
static void test_gz_bomb_refused_up_front(void **state)
{
    (void)state;
    alloc_rec as;
    rbm_context *ctx = rec_context(&as);
    tbuf b = {0};
    uint32_t dims[2] = {65536, 65536};
    idx_header(&b, 0x08, 2, dims);
    size_t body = (size_t)1 << 20;
    unsigned char *zeros = calloc(body, 1);
    assert_non_null(zeros);
    tbuf_put(&b, zeros, body);
    free(zeros);
    const char *path = path_of("bomb-ubyte.gz");
    size_t gz = write_gz(path, b.p, b.n);
    assert_true(gz < 8192);
    rec_reset(&as);
    rbm_dataset *ds = (rbm_dataset *)0x1;
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, path, &ds), RBM_ERR_BAD_FORMAT);
    assert_null(ds);
    assert_detail(ctx, "bomb-ubyte.gz");
    assert_detail(ctx, "65536 rows x 65536 columns");
    assert_detail(ctx, "(4294967296 bytes), but a gzip file of");
    assert_true(as.max_size < 65536); /* nothing near the claim was allocated */
    assert_int_equal(as.live, 1);
    free(b.p);
    rbm_context_free(ctx);
}

/* gzip IDX of rows x 1024 bytes with structured (compressible) content. */
static const char *gz_idx(const char *name, size_t rows, size_t *gz_size)
{
    tbuf b = {0};
    uint32_t dims[2] = {(uint32_t)rows, 1024};
    idx_header(&b, 0x08, 2, dims);
    unsigned char row[1024];
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < sizeof row; j++)
            row[j] = (unsigned char)((r * 7 + j / 16) & 0xFF);
        tbuf_put(&b, row, sizeof row);
    }
    const char *path = path_of(name);
    size_t gz = write_gz(path, b.p, b.n);
    if (gz_size)
        *gz_size = gz;
    free(b.p);
    return path;
}

/* With a 1 MiB limit an honest 2 MiB file is refused before its buffer is
 * allocated, a 0.5 MiB one loads; every format obeys the limit. */
static void test_data_size_limit(void **state)
{
    (void)state;
    alloc_rec as;
    rbm_context *ctx = rec_context(&as);
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, (uint64_t)1 << 20));
    rbm_dataset *ds = NULL;
    const char *big = gz_idx("big-ubyte.gz", 2048, NULL); /* 2 MiB */
    rec_reset(&as);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, big, &ds), RBM_ERR_TOO_LARGE);
    assert_null(ds);
    assert_detail(ctx, "big-ubyte.gz");
    assert_detail(ctx, "2048 rows x 1024 columns");
    assert_detail(ctx, "is 2097152 bytes, over the data size limit of 1048576 bytes");
    assert_true(as.max_size < 65536);
    const char *half = gz_idx("half-ubyte.gz", 512, NULL); /* 0.5 MiB */
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, half, &ds));
    assert_int_equal(rbm_dataset_rows(ds), 512);
    double x[1024];
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 511, 1, x, 1024));
    assert_true(x[100] == (double)((511 * 7 + 100 / 16) & 0xFF));
    rbm_dataset_free(ds);
    /* exactly at the limit loads; 0 lifts it */
    const char *one = gz_idx("one-ubyte.gz", 1024, NULL);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, one, &ds));
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, 0));
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, big, &ds));
    assert_int_equal(rbm_dataset_rows(ds), 2048);
    rbm_dataset_free(ds);

    /* the limit is on the decoded size: 100 x 100 int32 -> 80000 bytes of
     * float64 (the file holds 40000) */
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, 60000));
    tbuf b = {0};
    uint32_t dims[2] = {100, 100};
    idx_header(&b, 0x0C, 2, dims);
    for (int i = 0; i < 10000; i++)
        put_be32(&b, (uint32_t)i);
    const char *ints = write_file("ints.idx", b.p, b.n);
    free(b.p);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, ints, &ds), RBM_ERR_TOO_LARGE);
    assert_detail(ctx, "(loaded as float64) is 80000 bytes, over the data size limit of 60000");

    /* NPY: 100 x 100 f8 = 80000 bytes */
    b = (tbuf){0};
    char hdr[128];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (100, "
                                       "100), }");
    size_t pad = 64 - (10 + (size_t)hl + 1) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)((size_t)hl + pad + 1), 0};
    tbuf_put(&b, pre, 10);
    tbuf_put(&b, hdr, (size_t)hl);
    for (size_t i = 0; i < pad; i++)
        tbuf_put(&b, " ", 1);
    tbuf_put(&b, "\n", 1);
    for (int i = 0; i < 10000; i++) {
        double v = i * 0.5;
        tbuf_put(&b, &v, 8);
    }
    const char *npy = write_file("lim.npy", b.p, b.n);
    free(b.p);
    rec_reset(&as);
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, npy, &ds), RBM_ERR_TOO_LARGE);
    assert_detail(ctx, "lim.npy: the header's 100 x 100 array of float64 is 80000 bytes, over "
                       "the data size limit of 60000 bytes");
    assert_true(as.max_size < 4096);
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, 80000));
    RBM_OKAY(ctx, rbm_dataset_load_npy(ctx, npy, &ds));
    rbm_dataset_free(ds);

    /* CSV: 2000 rows x 10 values = 160000 bytes of float64 */
    FILE *f = fopen(path_of("lim.csv"), "w");
    assert_non_null(f);
    for (int r = 0; r < 2000; r++)
        for (int j = 0; j < 10; j++)
            fprintf(f, "%d%c", r + j, j == 9 ? '\n' : ',');
    fclose(f);
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, 100000));
    rec_reset(&as);
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, path_of("lim.csv"), &ds), RBM_ERR_TOO_LARGE);
    assert_detail(ctx, "lim.csv: line 1251: the values read so far are more than the data size "
                       "limit of 100000 bytes");
    assert_true(as.peak_bytes < 2 * 100000 + 70000); /* growth stopped at the limit */
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, 160000));
    RBM_OKAY(ctx, rbm_dataset_load_csv(ctx, path_of("lim.csv"), &ds));
    assert_int_equal(rbm_dataset_rows(ds), 2000);
    rbm_dataset_free(ds);
    assert_int_equal(as.live, 1);
    rbm_context_free(ctx);
}

/* The dataset buffer is allocated once, at its final size: the peak of all
 * live allocations stays near the data size (not twice it), for gzip IDX,
 * plain IDX with conversion to float64, and NPY. */
static void test_peak_is_data_size(void **state)
{
    (void)state;
    alloc_rec as;
    rbm_context *ctx = rec_context(&as);
    rbm_dataset *ds = NULL;
    /* 6 MiB of uint8 in a small gzip */
    size_t gz = 0;
    const char *p = gz_idx("six-ubyte.gz", 6144, &gz);
    assert_true(gz < ((size_t)1 << 20));
    rec_reset(&as);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, p, &ds));
    size_t data = (size_t)6144 * 1024;
    print_message("# gzip idx: data %zu bytes, largest allocation %zu, peak live %zu\n", data,
                  as.max_size, as.peak_bytes);
    assert_true(as.max_size == data);
    assert_true(as.peak_bytes <= data + 65536);
    rbm_dataset_free(ds);
    /* int32 -> float64: 8 bytes per element in one buffer, widened in place */
    tbuf b = {0};
    uint32_t dims[2] = {1000, 250};
    idx_header(&b, 0x0C, 2, dims);
    for (int i = 0; i < 250000; i++)
        put_be32(&b, (uint32_t)(i * 37 - 4000000));
    const char *ints = write_file("ints2.idx", b.p, b.n);
    free(b.p);
    rec_reset(&as);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, ints, &ds));
    print_message("# int32 idx: data %zu bytes, largest allocation %zu, peak live %zu\n",
                  (size_t)2000000, as.max_size, as.peak_bytes);
    assert_true(as.peak_bytes <= 2000000 + 65536);
    double x[250];
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 999, 1, x, 250));
    for (int j = 0; j < 250; j++)
        assert_true(x[j] == (double)(int32_t)(uint32_t)((999 * 250 + j) * 37 - 4000000));
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, 1, x, 250));
    assert_true(x[0] == -4000000.0 && x[1] == -4000000.0 + 37);
    rbm_dataset_free(ds);
    assert_int_equal(as.live, 1);
    rbm_context_free(ctx);
}

/* ---- CSV header modes ---- */

static const char *text_file(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

static void test_csv_header_modes(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    const char *named = text_file("named.csv", "a,b,c\n1,2,3\n4,5,6\n");
    RBM_OKAY(ctx, rbm_dataset_load_csv(ctx, named, &ds));
    assert_int_equal(rbm_dataset_rows(ds), 2);
    assert_int_equal(rbm_dataset_header_rows(ds), 1);
    rbm_dataset_free(ds);
    /* one bad number in an otherwise numeric first row: an error, not a
     * header */
    const char *typo = text_file("typo.csv", "1,2x,3\n4,5,6\n7,8,9\n");
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, typo, &ds), RBM_ERR_BAD_FORMAT);
    assert_null(ds);
    assert_detail(ctx, "typo.csv: line 1, field 2: \"2x\" is not a number");
    RBM_CHECK(ctx, rbm_dataset_load_csv_ex(ctx, typo, RBM_CSV_HEADER_AUTO, &ds),
              RBM_ERR_BAD_FORMAT);
    /* YES skips the first line whatever it holds */
    RBM_OKAY(ctx, rbm_dataset_load_csv_ex(ctx, typo, RBM_CSV_HEADER_YES, &ds));
    assert_int_equal(rbm_dataset_rows(ds), 2);
    assert_int_equal(rbm_dataset_header_rows(ds), 1);
    double x[6];
    RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, 2, x, 6));
    assert_true(x[0] == 4 && x[5] == 9);
    rbm_dataset_free(ds);
    const char *nums = text_file("nums.csv", "\n  \n1,2\n3,4\n");
    RBM_OKAY(ctx, rbm_dataset_load_csv_ex(ctx, nums, RBM_CSV_HEADER_YES, &ds));
    assert_int_equal(rbm_dataset_rows(ds), 1);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load_csv(ctx, nums, &ds));
    assert_int_equal(rbm_dataset_rows(ds), 2);
    assert_int_equal(rbm_dataset_header_rows(ds), 0);
    rbm_dataset_free(ds);
    /* NO: a header is an error naming line and field */
    RBM_CHECK(ctx, rbm_dataset_load_csv_ex(ctx, named, RBM_CSV_HEADER_NO, &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "named.csv: line 1, field 1: \"a\" is not a number");
    RBM_OKAY(ctx, rbm_dataset_load_csv_ex(ctx, nums, RBM_CSV_HEADER_NO, &ds));
    assert_int_equal(rbm_dataset_header_rows(ds), 0);
    rbm_dataset_free(ds);
    /* a header with no data */
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, text_file("only.csv", "x,y\n"), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "no data rows");
    /* bad flags */
    RBM_CHECK(ctx,
              rbm_dataset_load_csv_ex(ctx, nums, RBM_CSV_HEADER_YES | RBM_CSV_HEADER_NO, &ds),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_load_csv_ex(ctx, nums, 1u << 5, &ds), RBM_ERR_INVALID_ARGUMENT);
    assert_detail(ctx, "0x20");
    assert_null(ds);
    assert_int_equal(rbm_dataset_header_rows(NULL), 0);
    rbm_context_free(ctx);
}

/* The values buffer of CSV grows geometrically: few allocations for many
 * rows. */
static void test_csv_growth_geometric(void **state)
{
    (void)state;
    alloc_rec as;
    rbm_context *ctx = rec_context(&as);
    FILE *f = fopen(path_of("grow.csv"), "w");
    assert_non_null(f);
    for (int r = 0; r < 100000; r++)
        fprintf(f, "%d,%d,%d,%d\n", r, r + 1, r + 2, r + 3);
    fclose(f);
    rec_reset(&as);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_csv(ctx, path_of("grow.csv"), &ds));
    assert_int_equal(rbm_dataset_rows(ds), 100000);
    print_message("# csv of 400000 values: %zu allocations, peak live %zu bytes\n", as.calls,
                  as.peak_bytes);
    assert_true(as.calls <= 16);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* ---- non-regular files ---- */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "a reader blocked on a FIFO without a writer\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static void test_fifo_model_and_checkpoint(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    signal(SIGALRM, on_alarm);
    alarm(10);
    const char *fifo = path_of("model.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    rbm_machine *m = NULL;
    RBM_CHECK(ctx, rbm_machine_load(ctx, fifo, &m), RBM_ERR_IO);
    assert_null(m);
    assert_detail(ctx, "model.fifo is not a regular file (FIFO)");
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, fifo, &(rbm_dataset *){NULL}), RBM_ERR_IO);
    assert_detail(ctx, "npy file");
    assert_detail(ctx, "is not a regular file (FIFO)");
    RBM_CHECK(ctx, rbm_machine_load(ctx, g_dir, &m), RBM_ERR_IO);
    assert_detail(ctx, "is not a regular file (directory)");
    alarm(0);
    signal(SIGALRM, SIG_DFL);
    unlink(fifo);
    rbm_context_free(ctx);
}

/* ---- trailing bytes, duplicate keys ---- */

static tbuf npy_bytes(const char *dict, size_t n_f8)
{
    tbuf b = {0};
    size_t hl = strlen(dict);
    size_t pad = 64 - (10 + hl + 1) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)((hl + pad + 1) & 0xFF),
                             (unsigned char)((hl + pad + 1) >> 8)};
    tbuf_put(&b, pre, 10);
    tbuf_put(&b, dict, hl);
    for (size_t i = 0; i < pad; i++)
        tbuf_put(&b, " ", 1);
    tbuf_put(&b, "\n", 1);
    for (size_t i = 0; i < n_f8; i++) {
        double v = (double)i;
        tbuf_put(&b, &v, 8);
    }
    return b;
}

static void test_trailing_bytes_and_duplicate_keys(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    tbuf b = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 6);
    RBM_OKAY(ctx, rbm_dataset_load_npy(ctx, write_file("ok.npy", b.p, b.n), &ds));
    rbm_dataset_free(ds);
    tbuf_put(&b, "junkjunk!", 9);
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file("trail.npy", b.p, b.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "trail.npy: 9 trailing bytes after the data");
    assert_null(ds);
    free(b.p);
    b = npy_bytes("{'descr': '<f8', 'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }",
                  6);
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file("dup.npy", b.p, b.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "dup.npy: header has the key 'descr' twice");
    free(b.p);
    b = npy_bytes("{'shape': (2, 3), 'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)}", 6);
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file("dup2.npy", b.p, b.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "header has the key 'shape' twice");
    free(b.p);
    /* gzip IDX with bytes after the data inside the stream */
    b = (tbuf){0};
    uint32_t dims[2] = {2, 4};
    idx_header(&b, 0x08, 2, dims);
    tbuf_put(&b, "abcdefgh", 8);
    const char *gzp = path_of("okgz-ubyte.gz");
    write_gz(gzp, b.p, b.n);
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, gzp, &ds));
    rbm_dataset_free(ds);
    tbuf_put(&b, "XYZ", 3);
    gzp = path_of("trailgz-ubyte.gz");
    write_gz(gzp, b.p, b.n);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, gzp, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "trailgz-ubyte.gz: 3 trailing bytes after the data");
    free(b.p);
    rbm_context_free(ctx);
}

/* ---- messages: file names, zlib's "<fd:N>", escaped content ---- */

static void test_messages(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    /* corrupt deflate data: the message names the path, not "<fd:3>" */
    tbuf b = {0};
    uint32_t dims[2] = {64, 64};
    idx_header(&b, 0x08, 2, dims);
    for (int i = 0; i < 4096; i++) {
        unsigned char c = (unsigned char)(i * 31 + (i >> 5));
        tbuf_put(&b, &c, 1);
    }
    const char *gzp = path_of("corrupt-ubyte.gz");
    size_t n = write_gz(gzp, b.p, b.n);
    free(b.p);
    FILE *f = fopen(gzp, "r+b");
    assert_non_null(f);
    for (long off = 20; off < (long)n - 12; off += 7) {
        fseek(f, off, SEEK_SET);
        fputc(0xFF, f);
    }
    fclose(f);
    RBM_CHECK(ctx, rbm_dataset_load_idx(ctx, gzp, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "corrupt-ubyte.gz");
    assert_no_detail(ctx, "<fd:");
    /* bytes >= 0x80 and control bytes from the file are escaped */
    const char *bin = text_file("bin.csv", "1,2\n3,\xff\xfe\x01z\n");
    RBM_CHECK(ctx, rbm_dataset_load_csv(ctx, bin, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 2, field 2: \"\\xff\\xfe\\x01z\" is not a number");
    const char *msg = rbm_context_last_error(ctx);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    b = npy_bytes("{'descr': '<\xe9\x07', 'fortran_order': False, 'shape': (2, 3), }", 6);
    RBM_CHECK(ctx, rbm_dataset_load_npy(ctx, write_file("esc.npy", b.p, b.n), &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "dtype '<\\xe9\\x07' is not supported");
    free(b.p);
    rbm_context_free(ctx);
}

/* Every allocation of a load, failed in turn: RBM_ERR_NO_MEMORY whose
 * detail names the file, nothing leaked, no dataset or machine. */
static void test_alloc_failures_name_the_file(void **state)
{
    (void)state;
    /* the files */
    const char *csv = text_file("am.csv", "h1,h2\n1,2\n3,4\n");
    tbuf b = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 6);
    const char *npy = write_file("am.npy", b.p, b.n);
    free(b.p);
    b = (tbuf){0};
    uint32_t dims[2] = {3, 2};
    idx_header(&b, 0x0C, 2, dims);
    for (int i = 0; i < 6; i++)
        put_be32(&b, (uint32_t)i);
    const char *idx = write_file("am.idx", b.p, b.n);
    const char *gz = path_of("am-ubyte.gz");
    write_gz(gz, b.p, b.n);
    free(b.p);
    const char *model = path_of("am.rbm");
    {
        rbm_context *c0 = rbm_test_context();
        rbm_machine *m = NULL;
        RBM_OKAY(c0, rbm_machine_new(c0, 3, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
        RBM_OKAY(c0, rbm_machine_save(m, model));
        rbm_machine_free(m);
        rbm_context_free(c0);
    }
    const char *paths[] = {csv, npy, idx, gz, model};
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        size_t points = 0;
        for (size_t fail = 1;; fail++) {
            alloc_rec as;
            rbm_context *ctx = rec_context(&as);
            as.calls = 0;
            as.fail_at = fail;
            rbm_status st;
            rbm_dataset *ds = NULL;
            rbm_machine *m = NULL;
            if (k == 4)
                st = rbm_machine_load(ctx, paths[k], &m);
            else
                st = rbm_dataset_load(ctx, paths[k], &ds);
            if (st == RBM_OK) {
                assert_true(as.calls < fail);
                rbm_dataset_free(ds);
                rbm_machine_free(m);
                rbm_context_free(ctx);
                break;
            }
            points++;
            RBM_CHECK(ctx, st, RBM_ERR_NO_MEMORY);
            assert_null(ds);
            assert_null(m);
            const char *base = strrchr(paths[k], '/') + 1;
            assert_detail(ctx, base);
            assert_detail(ctx, "cannot allocate");
            assert_int_equal(as.live, 1);
            rbm_context_free(ctx);
        }
        assert_true(points >= 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_api),
        cmocka_unit_test(test_gz_bomb_refused_up_front),
        cmocka_unit_test(test_data_size_limit),
        cmocka_unit_test(test_peak_is_data_size),
        cmocka_unit_test(test_csv_header_modes),
        cmocka_unit_test(test_csv_growth_geometric),
        cmocka_unit_test(test_fifo_model_and_checkpoint),
        cmocka_unit_test(test_trailing_bytes_and_duplicate_keys),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_alloc_failures_name_the_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
