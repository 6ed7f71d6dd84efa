/* librbm — load_csv: CSV files of numbers.
 *
 * Lines are read through the shared text reader of data/load.h (plain or
 * gzip; a line may be any length up to the dataset size limit) and split
 * at commas; every field must parse as a
 * number in the C locale, whatever LC_NUMERIC the program has set. The
 * first non-blank line is a header by the caller's choice (flags
 * RBM_CSV_HEADER_YES / _NO) or, by default, only when none of its fields is
 * a number (a row with one bad number is an error naming line and field);
 * blank lines are ignored; every row must have as many fields as the first.
 * The values are collected as float64 in one buffer that doubles as it
 * fills, never beyond the context's data size limit. */
#include "core/bytes.h"
#include "core/file_in.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"
#include "data/load.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The largest buffer the reader may hold: the context's data size limit
 * (it bounds the line buffer and the values alike), or the address space. */
static size_t csv_max_bytes(const rbm_context *ctx)
{
    uint64_t lim = ctx->max_data_bytes;
    return lim != 0 && lim < (uint64_t)RBM__DS_MAX_BYTES ? (size_t)lim : RBM__DS_MAX_BYTES;
}

/* A buffer of cap bytes holding the first `used` bytes of old, which is
 * freed; NULL (old kept, *st set) when out of memory. */
static void *csv_regrow(rbm_context *ctx, void *old, size_t used, size_t cap, const char *path,
                        rbm_status *st)
{
    char what[300];
    snprintf(what, sizeof what, "csv file %s", path);
    void *p = rbm__data_alloc(ctx, cap, what, st);
    if (!p)
        return NULL;
    if (used)
        memcpy(p, old, used);
    rbm__free(ctx, old);
    return p;
}

/* ------------------------------------------------------------------------ */
/* fields                                                                    */
/* ------------------------------------------------------------------------ */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parse one field [s, e) (e is writable, used as terminator). */
static bool parse_field(char *s, char *e, double *v)
{
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if (s == e)
        return false;
    char save = *e;
    *e = '\0';
    char *end;
    *v = strtod(s, &end);
    *e = save;
    return end == e;
}

/* Parse a line's fields into vals (at most maxf; *nf = number of fields).
 * Returns the 1-based index of the first bad field, or 0. */
static size_t parse_line(char *line, size_t len, double *vals, size_t maxf, size_t *nf,
                         char **bad_s, size_t *bad_len)
{
    size_t k = 0;
    char *p = line, *end = line + len;
    for (;;) {
        char *c = memchr(p, ',', (size_t)(end - p));
        char *fe = c ? c : end;
        double v;
        if (!parse_field(p, fe, &v)) {
            *bad_s = p;
            *bad_len = (size_t)(fe - p);
            *nf = k + 1;
            return k + 1;
        }
        if (k < maxf)
            vals[k] = v;
        k++;
        if (!c)
            break;
        p = c + 1;
    }
    *nf = k;
    return 0;
}

static size_t count_fields(const char *line, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += line[i] == ',';
    return n;
}

static bool line_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_blank(line[i]))
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* rows                                                                      */
/* ------------------------------------------------------------------------ */

/* The values read so far and where the reader is. */
typedef struct csv_rows {
    rbm_context *ctx;
    const char *path;
    double *vals;
    size_t vcap, nvals, rows, cols;
    size_t lineno, cols_line; /* current line; the line that fixed cols */
    bool first;               /* no non-blank line seen yet */
    uint32_t flags;           /* RBM_CSV_HEADER_* */
    size_t header_rows;       /* lines skipped as a header */
} csv_rows;

/* Room for nf more values: the buffer doubles, capped by the data size
 * limit, which the values may not exceed. */
static rbm_status csv_reserve(csv_rows *cr, size_t nf)
{
    if (cr->vcap - cr->nvals >= nf)
        return RBM_OK;
    size_t maxv = csv_max_bytes(cr->ctx) / sizeof(double);
    size_t need;
    if (__builtin_add_overflow(cr->nvals, nf, &need) || need > maxv) {
        uint64_t lim = cr->ctx->max_data_bytes;
        if (lim != 0 && lim <= (uint64_t)RBM__DS_MAX_BYTES)
            return rbm__fail(cr->ctx, RBM_ERR_TOO_LARGE,
                             "csv file %s: line %zu: the values read so far are more than the "
                             "data size limit of %" PRIu64
                             " bytes (rbm_context_set_max_data_bytes)",
                             cr->path, cr->lineno, lim);
        return rbm__fail(cr->ctx, RBM_ERR_TOO_LARGE, "csv file %s: too many values (line %zu)",
                         cr->path, cr->lineno);
    }
    size_t ncap = cr->vcap ? cr->vcap : 4096;
    while (ncap < need)
        ncap = ncap > maxv / 2 ? maxv : 2 * ncap;
    if (ncap > maxv)
        ncap = maxv;
    rbm_status st;
    double *nv = csv_regrow(cr->ctx, cr->vals, cr->nvals * sizeof(double), ncap * sizeof(double),
                            cr->path, &st);
    if (!nv)
        return st;
    cr->vals = nv;
    cr->vcap = ncap;
    return RBM_OK;
}

/* RBM_ERR_BAD_FORMAT for field number `bad`, text [s, s+len). */
static rbm_status csv_bad_field(const csv_rows *cr, size_t bad, const char *s, size_t len)
{
    while (len > 0 && is_blank(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_blank(s[len - 1]))
        len--;
    if (len == 0)
        return rbm__fail(cr->ctx, RBM_ERR_BAD_FORMAT, "csv file %s: line %zu, field %zu is empty",
                         cr->path, cr->lineno, bad);
    char q[64];
    rbm__quote_bytes(s, len, q, sizeof q);
    return rbm__fail(cr->ctx, RBM_ERR_BAD_FORMAT,
                     "csv file %s: line %zu, field %zu: \"%s\" is not a number", cr->path,
                     cr->lineno, bad, q);
}

/* True when no field of the line is a number. */
static bool csv_no_numbers(char *line, size_t len)
{
    char *p = line, *end = line + len;
    for (;;) {
        char *c = memchr(p, ',', (size_t)(end - p));
        char *fe = c ? c : end;
        double v;
        if (parse_field(p, fe, &v))
            return false;
        if (!c)
            return true;
        p = c + 1;
    }
}

/* Append the nf fields of a non-blank line as a row (or skip it as the
 * header). */
static rbm_status csv_add_line(csv_rows *cr, char *line, size_t len)
{
    if (cr->first && ((cr->flags & RBM_CSV_HEADER_YES) ||
                      (!(cr->flags & RBM_CSV_HEADER_NO) && csv_no_numbers(line, len)))) {
        cr->first = false;
        cr->header_rows = 1;
        return RBM_OK;
    }
    size_t nf = count_fields(line, len);
    if (cr->cols != 0 && nf != cr->cols)
        return rbm__fail(cr->ctx, RBM_ERR_BAD_FORMAT,
                         "csv file %s: line %zu has %zu fields, expected %zu (as on line %zu)",
                         cr->path, cr->lineno, nf, cr->cols, cr->cols_line);
    rbm_status st = csv_reserve(cr, nf);
    if (st)
        return st;
    double *row = cr->vals + cr->nvals;
    char *bad_s = NULL;
    size_t bad_len = 0, got;
    size_t bad = parse_line(line, len, row, nf, &got, &bad_s, &bad_len);
    if (bad)
        return csv_bad_field(cr, bad, bad_s, bad_len);
    cr->first = false;
    for (size_t j = 0; j < nf; j++)
        if (!isfinite(row[j]))
            return rbm__fail(cr->ctx, RBM_ERR_NOT_FINITE,
                             "csv file %s: line %zu (row %zu), field %zu is %s", cr->path,
                             cr->lineno, cr->rows, j + 1, isnan(row[j]) ? "NaN" : "infinite");
    if (cr->cols == 0) {
        cr->cols = nf;
        cr->cols_line = cr->lineno;
    }
    cr->nvals += nf;
    cr->rows++;
    return RBM_OK;
}

/* Every line of the file into cr. */
static rbm_status csv_read_rows(rbm__text_reader *lr, csv_rows *cr)
{
    for (;;) {
        char *line = NULL;
        size_t len = 0;
        rbm_status st = rbm__text_next_line(lr, &line, &len);
        if (st == RBM_DONE)
            break;
        if (st)
            return st;
        cr->lineno++;
        if (line_blank(line, len))
            continue;
        st = csv_add_line(cr, line, len);
        if (st)
            return st;
    }
    if (cr->rows == 0)
        return rbm__fail(cr->ctx, RBM_ERR_BAD_FORMAT, "csv file %s: no data rows", cr->path);
    return RBM_OK;
}

rbm_status rbm_dataset_load_csv_ex(rbm_context *ctx, const char *path, uint32_t flags,
                                   rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    const uint32_t known = RBM_CSV_HEADER_YES | RBM_CSV_HEADER_NO;
    if (flags & ~known)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_load_csv_ex: unknown flag bits 0x%" PRIx32, flags & ~known);
    if ((flags & known) == known)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_load_csv_ex: RBM_CSV_HEADER_YES and RBM_CSV_HEADER_NO "
                         "together");
    rbm__text_reader lr;
    /* even under a tiny data size limit a short line is read, and the
     * values it holds are refused by csv_reserve instead */
    size_t max_line = csv_max_bytes(ctx) < 62 ? 62 : csv_max_bytes(ctx);
    rbm_status st = rbm__text_open(ctx, path, out, "csv", max_line,
                                   "the data size limit, rbm_context_set_max_data_bytes", &lr);
    if (st)
        return st;
    csv_rows cr = {ctx, path, NULL, 0, 0, 0, 0, 0, 0, true, flags, 0};
    /* numbers always use '.', whatever LC_NUMERIC the program has set */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old_loc = cloc ? uselocale(cloc) : (locale_t)0;
    st = csv_read_rows(&lr, &cr);
    if (!st) {
        rbm_dataset *ds = NULL;
        st = rbm__dataset_wrap(ctx, cr.rows, cr.cols, RBM_DTYPE_FLOAT64, cr.vals, NULL, &ds);
        cr.vals = NULL;
        if (!st) {
            ds->header_rows = cr.header_rows;
            *out = ds;
        }
    }
    if (cloc) {
        uselocale(old_loc);
        freelocale(cloc);
    }
    rbm__free(ctx, cr.vals);
    rbm__text_close(&lr);
    return rbm__fin_name_error(ctx, st, "csv file", path);
}

rbm_status rbm_dataset_load_csv(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    return rbm_dataset_load_csv_ex(ctx, path, RBM_CSV_HEADER_AUTO, out);
}
