/* librbm fuzz targets — shared harness (header only, public API only).
 *
 * Every target keeps one context per process (with a log callback that
 * discards), writes each input to one per-process temporary file under
 * /dev/shm (or $TMPDIR, or /tmp) and calls a path-taking loader on it. The
 * library's promises that can be checked cheaply are checked after every
 * call; a violation prints one line to stderr and calls abort(), which
 * libFuzzer reports as a crash with the input saved. Nothing is written to
 * stdout. See docs/reliability.md. */
#ifndef RBM_FUZZ_COMMON_H
#define RBM_FUZZ_COMMON_H

#include <rbm/rbm.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Every helper is static; a target uses only some of them. */
#if defined(__GNUC__) || defined(__clang__)
#define FZ_FN static __attribute__((unused))
#else
#define FZ_FN static
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Up to 4 temporary paths per process: input, variants, saved copies. */
enum { FZ_MAX_PATHS = 4 };
static char fz_paths[FZ_MAX_PATHS][512];
static int fz_n_paths;
static rbm_context *fz_ctx;

/* A broken promise: say which and abort so that the fuzzer keeps the input. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
FZ_FN void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: broken promise: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

FZ_FN void fz_discard_log(void *user, rbm_log_level level, const char *message)
{
    (void)user;
    (void)level;
    (void)message;
}

FZ_FN void fz_cleanup(void)
{
    for (int i = 0; i < fz_n_paths; i++)
        unlink(fz_paths[i]);
    rbm_context_free(fz_ctx);
    fz_ctx = NULL;
}

FZ_FN const char *fz_tmp_dir(void)
{
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    const char *t = getenv("TMPDIR");
    return (t && *t) ? t : "/tmp";
}

/* A new per-process temporary path "<dir>/rbm-fuzz-<name>-<pid>-<i><ext>",
 * removed at exit. */
FZ_FN const char *fz_new_path(const char *name, const char *ext)
{
    if (fz_n_paths >= FZ_MAX_PATHS)
        fz_fail("harness: too many temporary paths");
    char *p = fz_paths[fz_n_paths];
    int n = snprintf(p, sizeof fz_paths[0], "%s/rbm-fuzz-%s-%ld-%d%s", fz_tmp_dir(), name,
                     (long)getpid(), fz_n_paths, ext);
    if (n < 0 || (size_t)n >= sizeof fz_paths[0])
        fz_fail("harness: temporary path too long");
    fz_n_paths++;
    return p;
}

/* Create the context once; returns it. */
FZ_FN rbm_context *fz_context(void)
{
    if (fz_ctx)
        return fz_ctx;
    if (rbm_context_new(&fz_ctx) != RBM_OK)
        fz_fail("harness: rbm_context_new failed");
    if (rbm_context_set_log(fz_ctx, fz_discard_log, NULL, RBM_LOG_DEBUG) != RBM_OK)
        fz_fail("harness: rbm_context_set_log failed");
    atexit(fz_cleanup);
    return fz_ctx;
}

/* Replace the file at path by exactly size bytes of data. */
FZ_FN void fz_write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        fz_fail("harness: cannot create %s: %s", path, strerror(errno));
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fz_fail("harness: cannot write %s: %s", path, strerror(errno));
        done += (size_t)w;
    }
    if (close(fd) != 0)
        fz_fail("harness: cannot close %s: %s", path, strerror(errno));
}

/* Read a whole (small) file into a malloc'd buffer; *size gets its length. */
FZ_FN uint8_t *fz_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fz_fail("harness: cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            fz_fail("harness: out of memory reading %s", path);
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        uint8_t *nb = realloc(buf, cap);
        if (!nb)
            free(buf);
        buf = nb;
    }
    fclose(f);
    *size = n;
    return buf;
}

/* Before a call whose failure is checked: forget earlier errors. */
FZ_FN void fz_clear(void)
{
    rbm_context_clear_error(fz_context());
}

/* A call that has no output pointer returned st. If it failed: st is one of
 * allowed[0..n) (the documented errors) and the context holds a non-empty
 * detail and the same status. */
FZ_FN void fz_check_error(const char *what, rbm_status st, const rbm_status *allowed, size_t n)
{
    rbm_context *ctx = fz_context();
    if (st == RBM_OK)
        return;
    int known = 0;
    for (size_t i = 0; i < n; i++)
        known |= (allowed[i] == st);
    if (!known)
        fz_fail("%s: undocumented status %s (%d): %s", what, rbm_status_name(st), (int)st,
                rbm_context_last_error(ctx));
    const char *msg = rbm_context_last_error(ctx);
    if (!msg || !*msg)
        fz_fail("%s: failed with %s but rbm_context_last_error is empty", what,
                rbm_status_name(st));
    if (rbm_context_last_status(ctx) != st)
        fz_fail("%s: returned %s but rbm_context_last_status is %s", what, rbm_status_name(st),
                rbm_status_name(rbm_context_last_status(ctx)));
}

/* A constructor returned st and *out: as fz_check_error, and besides: on
 * failure *out was left NULL, on success it is set. */
FZ_FN void fz_check_status(const char *what, rbm_status st, const void *out,
                            const rbm_status *allowed, size_t n)
{
    if (st == RBM_OK) {
        if (!out)
            fz_fail("%s: RBM_OK but *out is NULL", what);
        return;
    }
    fz_check_error(what, st, allowed, n);
    if (out)
        fz_fail("%s: failed with %s but *out is not NULL", what, rbm_status_name(st));
}

FZ_FN void fz_check_finite(const char *what, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            fz_fail("%s: element %zu is %g", what, i, x[i]);
}

/* Parameters of a machine: W, a, b as arrays of doubles (malloc'd). */
typedef struct fz_params {
    size_t nv, nh;
    double *w, *a, *b;
} fz_params;

FZ_FN void fz_params_free(fz_params *p)
{
    free(p->w);
    free(p->a);
    free(p->b);
    memset(p, 0, sizeof *p);
}

/* Read a loaded machine's parameters and check what a load promises:
 * sizes >= 1, known unit kinds and precision, finite parameters, finite
 * positive sigmas. */
FZ_FN fz_params fz_check_machine(const char *what, const rbm_machine *m)
{
    fz_params p = {rbm_machine_n_visible(m), rbm_machine_n_hidden(m), NULL, NULL, NULL};
    if (p.nv < 1 || p.nh < 1)
        fz_fail("%s: machine of %zu x %zu units", what, p.nv, p.nh);
    if (p.nv > SIZE_MAX / sizeof(double) / p.nh)
        fz_fail("%s: machine of %zu x %zu units overflows", what, p.nv, p.nh);
    for (int l = 0; l < 2; l++) {
        rbm_unit_kind k = rbm_machine_unit_kind(m, (rbm_layer)l);
        if (k != RBM_UNIT_BERNOULLI && k != RBM_UNIT_ISING && k != RBM_UNIT_GAUSSIAN)
            fz_fail("%s: unknown unit kind %d on layer %d", what, (int)k, l);
        double s = rbm_machine_sigma(m, (rbm_layer)l);
        if (!(isfinite(s) && s > 0))
            fz_fail("%s: sigma of layer %d is %g", what, l, s);
    }
    rbm_precision pr = rbm_machine_precision(m);
    if (pr != RBM_PRECISION_FLOAT64 && pr != RBM_PRECISION_FLOAT32)
        fz_fail("%s: unknown precision %d", what, (int)pr);
    p.w = malloc(p.nv * p.nh * sizeof(double));
    p.a = malloc(p.nv * sizeof(double));
    p.b = malloc(p.nh * sizeof(double));
    if (!p.w || !p.a || !p.b)
        fz_fail("%s: harness out of memory for %zu x %zu parameters", what, p.nv, p.nh);
    if (rbm_machine_get_weights(m, p.w, p.nv * p.nh) != RBM_OK ||
        rbm_machine_get_visible_bias(m, p.a, p.nv) != RBM_OK ||
        rbm_machine_get_hidden_bias(m, p.b, p.nh) != RBM_OK)
        fz_fail("%s: reading the parameters of a loaded machine failed: %s", what,
                rbm_context_last_error(fz_context()));
    fz_check_finite("weights", p.w, p.nv * p.nh);
    fz_check_finite("visible bias", p.a, p.nv);
    fz_check_finite("hidden bias", p.b, p.nh);
    return p;
}

/* Two machines hold the same model: shapes, kinds, sigmas, precision and
 * parameters bit for bit. */
FZ_FN void fz_same_machine(const char *what, const rbm_machine *x, const rbm_machine *y)
{
    fz_params p = fz_check_machine(what, x), q = fz_check_machine(what, y);
    if (p.nv != q.nv || p.nh != q.nh)
        fz_fail("%s: shapes %zu x %zu and %zu x %zu differ", what, p.nv, p.nh, q.nv, q.nh);
    for (int l = 0; l < 2; l++) {
        double s = rbm_machine_sigma(x, (rbm_layer)l), t = rbm_machine_sigma(y, (rbm_layer)l);
        if (rbm_machine_unit_kind(x, (rbm_layer)l) != rbm_machine_unit_kind(y, (rbm_layer)l) ||
            memcmp(&s, &t, sizeof s) != 0)
            fz_fail("%s: layer %d differs (kind or sigma)", what, l);
    }
    if (rbm_machine_precision(x) != rbm_machine_precision(y))
        fz_fail("%s: precisions differ", what);
    if (memcmp(p.w, q.w, p.nv * p.nh * sizeof(double)) != 0 ||
        memcmp(p.a, q.a, p.nv * sizeof(double)) != 0 ||
        memcmp(p.b, q.b, p.nh * sizeof(double)) != 0)
        fz_fail("%s: parameters differ", what);
    fz_params_free(&p);
    fz_params_free(&q);
}

/* Datasets larger than this many elements are checked for shape only. */
enum { FZ_MAX_CHECKED_ELEMENTS = 1 << 20 };

/* All values of a dataset (rows x cols doubles, malloc'd), NULL when the
 * dataset is too large to check cheaply. */
FZ_FN double *fz_dataset_values(const char *what, const rbm_dataset *ds)
{
    size_t rows = rbm_dataset_rows(ds), cols = rbm_dataset_cols(ds);
    if (rows < 1 || cols < 1)
        fz_fail("%s: dataset of %zu x %zu", what, rows, cols);
    if (rows > FZ_MAX_CHECKED_ELEMENTS / cols)
        return NULL;
    double *v = malloc(rows * cols * sizeof(double));
    if (!v)
        fz_fail("%s: harness out of memory", what);
    if (rbm_dataset_get_rows(ds, 0, rows, v, rows * cols) != RBM_OK)
        fz_fail("%s: rbm_dataset_get_rows of all %zu rows failed: %s", what, rows,
                rbm_context_last_error(fz_context()));
    return v;
}

/* What every successful dataset load promises: rows and cols >= 1, a known
 * dtype, image shape consistent with cols, finite values (NaN/Inf give
 * RBM_ERR_NOT_FINITE), uint8 values in 0..255 as integers; and that
 * rbm_dataset_save_npy + rbm_dataset_load_npy give back the same values.
 * npy_path is a scratch path. */
FZ_FN void fz_check_dataset(const char *what, const rbm_dataset *ds, const char *npy_path)
{
    rbm_dtype dt = rbm_dataset_dtype(ds);
    if (dt != RBM_DTYPE_UINT8 && dt != RBM_DTYPE_FLOAT32 && dt != RBM_DTYPE_FLOAT64)
        fz_fail("%s: unknown dtype %d", what, (int)dt);
    if (rbm_dataset_context(ds) != fz_context())
        fz_fail("%s: dataset has another context", what);
    size_t rows = rbm_dataset_rows(ds), cols = rbm_dataset_cols(ds), h = 7, w = 7;
    rbm_dataset_image_shape(ds, &h, &w);
    if ((h || w) && (h == 0 || w == 0 || h > cols / w || h * w != cols))
        fz_fail("%s: image shape %zu x %zu for %zu columns", what, h, w, cols);
    double *v = fz_dataset_values(what, ds);
    if (!v)
        return;
    fz_check_finite(what, v, rows * cols);
    if (dt == RBM_DTYPE_UINT8)
        for (size_t i = 0; i < rows * cols; i++)
            if (!(v[i] >= 0 && v[i] <= 255 && v[i] == (double)(int)v[i]))
                fz_fail("%s: uint8 element %zu is %g", what, i, v[i]);
    double lo = NAN, hi = NAN;
    if (rbm_dataset_range(ds, &lo, &hi) != RBM_OK || !(lo <= hi))
        fz_fail("%s: rbm_dataset_range gave %g..%g", what, lo, hi);
    for (size_t i = 0; i < rows * cols; i++)
        if (v[i] < lo || v[i] > hi)
            fz_fail("%s: element %zu = %g outside the range %g..%g", what, i, v[i], lo, hi);

    if (rbm_dataset_save_npy(ds, npy_path) != RBM_OK)
        fz_fail("%s: rbm_dataset_save_npy failed: %s", what,
                rbm_context_last_error(fz_context()));
    rbm_dataset *back = NULL;
    rbm_status st = rbm_dataset_load_npy(fz_context(), npy_path, &back);
    if (st != RBM_OK)
        fz_fail("%s: reloading the saved NPY failed: %s: %s", what, rbm_status_name(st),
                rbm_context_last_error(fz_context()));
    if (rbm_dataset_rows(back) != rows || rbm_dataset_cols(back) != cols)
        fz_fail("%s: saved NPY reloads as %zu x %zu, not %zu x %zu", what,
                rbm_dataset_rows(back), rbm_dataset_cols(back), rows, cols);
    double *u = fz_dataset_values(what, back);
    if (u && memcmp(u, v, rows * cols * sizeof(double)) != 0)
        fz_fail("%s: saved NPY reloads with other values", what);
    free(u);
    rbm_dataset_free(back);
    free(v);
}

/* Two datasets hold the same values and shape. */
FZ_FN void fz_same_dataset(const char *what, const rbm_dataset *x, const rbm_dataset *y)
{
    if (rbm_dataset_rows(x) != rbm_dataset_rows(y) || rbm_dataset_cols(x) != rbm_dataset_cols(y) ||
        rbm_dataset_dtype(x) != rbm_dataset_dtype(y))
        fz_fail("%s: shapes or dtypes differ", what);
    double *u = fz_dataset_values(what, x), *v = fz_dataset_values(what, y);
    if (u && v &&
        memcmp(u, v, rbm_dataset_rows(x) * rbm_dataset_cols(x) * sizeof(double)) != 0)
        fz_fail("%s: values differ", what);
    free(u);
    free(v);
}

/* ---- model files (docs/file-format.md) ---- */

FZ_FN uint32_t fz_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

FZ_FN void fz_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A mutated model file almost always fails its CRC-32 checks, which hides
 * the field validation behind them from the fuzzer. When buf starts with
 * the model-file magic, recompute the header CRC and the CRC of every
 * section that lies inside the buffer, walking the sections by their
 * length fields. Returns 1 when a byte changed. */
FZ_FN int fz_fix_crcs(uint8_t *buf, size_t size)
{
    static const uint8_t magic[8] = {0x89, 'R', 'B', 'M', 0x0d, 0x0a, 0x1a, 0x0a};
    if (size < 24 || memcmp(buf, magic, 8) != 0)
        return 0;
    int changed = 0;
    uint32_t c = (uint32_t)crc32(0L, buf, 20);
    changed |= fz_get_u32(buf + 20) != c;
    fz_put_u32(buf + 20, c);
    size_t off = 24;
    while (size - off >= 24) {
        uint8_t *sec = buf + off;
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | sec[8 + i];
        if (len > size - off - 24)
            break;
        c = (uint32_t)crc32(0L, sec, 20);
        c = (uint32_t)crc32(c, sec + 24, (uInt)len);
        changed |= fz_get_u32(sec + 20) != c;
        fz_put_u32(sec + 20, c);
        off += 24 + (size_t)len;
    }
    return changed;
}

#endif /* RBM_FUZZ_COMMON_H */
