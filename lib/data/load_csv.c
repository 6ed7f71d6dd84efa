/* librbm — load_csv: CSV files of numbers.
 *
 * Lines are read through a growing buffer (a line may be any length up to
 * the dataset size limit) and split at commas; every field must parse as a
 * number in the C locale, whatever LC_NUMERIC the program has set. A first
 * non-blank line that does not parse is a header and is skipped; blank
 * lines are ignored; every row must have as many fields as the first. The
 * values are collected as float64 in one buffer that doubles as it fills. */
#include "core/bytes.h"
#include "data/dataset.h"
#include "data/dataset_impl.h"
#include "data/load.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* lines                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct line_reader {
    rbm_context *ctx;
    FILE *f;
    const char *path;
    char *buf;
    size_t cap, len, pos;
    bool eof;
} line_reader;

/* Next line (without its '\n' and any '\r'), NUL-terminated in the reader's
 * buffer. Returns RBM_OK with *line set, RBM_DONE at the end, or an error. */
static rbm_status next_line(line_reader *lr, char **line, size_t *linelen)
{
    for (;;) {
        char *start = lr->buf + lr->pos;
        size_t avail = lr->len - lr->pos;
        char *nl = avail ? memchr(start, '\n', avail) : NULL;
        if (nl || (lr->eof && avail > 0)) {
            size_t n = nl ? (size_t)(nl - start) : avail;
            lr->pos += nl ? n + 1 : n;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            start[n] = '\0'; /* buf has one spare byte beyond len */
            *line = start;
            *linelen = n;
            return RBM_OK;
        }
        if (lr->eof)
            return RBM_DONE;
        /* move the partial line to the front, grow if full, read more */
        if (lr->pos > 0) {
            memmove(lr->buf, start, avail);
            lr->len = avail;
            lr->pos = 0;
        }
        if (lr->len + 1 >= lr->cap) {
            if (lr->cap > RBM__DS_MAX_BYTES / 2)
                return rbm__fail(lr->ctx, RBM_ERR_TOO_LARGE, "csv file %s: line too long",
                                 lr->path);
            rbm_status st;
            char *nb = rbm__data_regrow(lr->ctx, lr->buf, lr->len, lr->cap * 2, "csv file", &st);
            if (!nb)
                return st;
            lr->buf = nb;
            lr->cap *= 2;
        }
        size_t n = fread(lr->buf + lr->len, 1, lr->cap - 1 - lr->len, lr->f);
        lr->len += n;
        if (n == 0) {
            if (ferror(lr->f)) {
                char why[128];
                rbm__errno_text(errno, why, sizeof why);
                return rbm__fail(lr->ctx, RBM_ERR_IO, "csv file %s: read failed: %s", lr->path,
                                 why);
            }
            lr->eof = true;
        }
    }
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
} csv_rows;

/* Room for nf more values. */
static rbm_status csv_reserve(csv_rows *cr, size_t nf)
{
    if (cr->vcap - cr->nvals >= nf)
        return RBM_OK;
    size_t need;
    if (__builtin_add_overflow(cr->nvals, nf, &need) || need > RBM__DS_MAX_BYTES / sizeof(double))
        return rbm__fail(cr->ctx, RBM_ERR_TOO_LARGE, "csv file %s: too many values (line %zu)",
                         cr->path, cr->lineno);
    size_t ncap = cr->vcap ? cr->vcap : 4096;
    while (ncap < need)
        ncap = ncap > RBM__DS_MAX_BYTES / sizeof(double) / 2 ? need : 2 * ncap;
    rbm_status st;
    double *nv = rbm__data_regrow(cr->ctx, cr->vals, cr->nvals * sizeof(double),
                                  ncap * sizeof(double), "csv file", &st);
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
    return rbm__fail(cr->ctx, RBM_ERR_BAD_FORMAT,
                     "csv file %s: line %zu, field %zu: \"%.*s\" is not a number", cr->path,
                     cr->lineno, bad, (int)(len > 40 ? 40 : len), s);
}

/* Append the nf fields of a non-blank line as a row (or skip it as the
 * header). */
static rbm_status csv_add_line(csv_rows *cr, char *line, size_t len)
{
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
    if (bad) {
        if (cr->first) { /* a header line */
            cr->first = false;
            return RBM_OK;
        }
        return csv_bad_field(cr, bad, bad_s, bad_len);
    }
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
static rbm_status csv_read_rows(line_reader *lr, csv_rows *cr)
{
    for (;;) {
        char *line = NULL;
        size_t len = 0;
        rbm_status st = next_line(lr, &line, &len);
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

rbm_status rbm_dataset_load_csv(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    FILE *f;
    struct stat sb;
    rbm_status st = rbm__data_open_stream(ctx, path, out, "csv", &f, &sb);
    if (st)
        return st;

    line_reader lr = {ctx, f, path, NULL, 1u << 16, 0, 0, false};
    csv_rows cr = {ctx, path, NULL, 0, 0, 0, 0, 0, 0, true};
    /* numbers always use '.', whatever LC_NUMERIC the program has set */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old_loc = cloc ? uselocale(cloc) : (locale_t)0;
    lr.buf = rbm__data_alloc(ctx, lr.cap, "csv file", &st);
    if (lr.buf)
        st = csv_read_rows(&lr, &cr);
    if (!st) {
        st = rbm__dataset_wrap(ctx, cr.rows, cr.cols, RBM_DTYPE_FLOAT64, cr.vals, NULL, out);
        cr.vals = NULL;
    }
    if (cloc) {
        uselocale(old_loc);
        freelocale(cloc);
    }
    rbm__free(ctx, cr.vals);
    rbm__free(ctx, lr.buf);
    fclose(f);
    return st;
}
