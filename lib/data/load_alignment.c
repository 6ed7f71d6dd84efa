/* librbm — load_alignment: the FASTA and Stockholm parsers, and the reader
 * that picks one by the file's name or content. They turn lines into
 * sequences through data/alignment_impl.h; the rules are those of
 * include/rbm/alignment.h. */
#include "rbm/alignment.h"

#include "data/alignment_impl.h"

#include <string.h>

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool line_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!blank(s[i]))
            return false;
    return true;
}

/* The next whitespace-separated token of [*p, end): its start and length
 * (0 when none); *p moves past it. */
static const char *next_token(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    while (s < end && blank(*s))
        s++;
    const char *t = s;
    while (t < end && !blank(*t))
        t++;
    *len = (size_t)(t - s);
    *p = t;
    return s;
}

/* ------------------------------------------------------------------------ */
/* FASTA                                                                     */
/* ------------------------------------------------------------------------ */

static rbm_status fasta_read(aln_reader *r)
{
    bool in_record = false;
    size_t cur = 0;
    for (;;) {
        char *line;
        size_t len;
        rbm_status st = rbm__text_next_line(&r->tr, &line, &len);
        if (st == RBM_DONE)
            return RBM_OK;
        if (st)
            return st;
        if ((st = aln_check_text(r, line, len)))
            return st;
        if (line_blank(line, len) || line[0] == ';')
            continue;
        if (line[0] == '>') {
            const char *p = line + 1;
            size_t nlen;
            const char *name = next_token(&p, line + len, &nlen);
            if ((st = aln_add(r, name, nlen, &cur)))
                return st;
            in_record = true;
            continue;
        }
        if (!in_record)
            return aln_fail(r, RBM_ERR_BAD_FORMAT,
                            "not a FASTA file: line %zu does not start with '>'", r->tr.lineno);
        if ((st = aln_append(r, cur, line, len)))
            return st;
    }
}

rbm_status rbm_dataset_load_fasta(rbm_context *ctx, const char *path, const char *alphabet,
                                  uint32_t flags, rbm_dataset **out)
{
    aln_reader r;
    rbm_status st = aln_begin(&r, ctx, path, "fasta", alphabet, flags, out);
    if (!st)
        st = fasta_read(&r);
    if (!st)
        st = aln_finish(&r, out);
    aln_end(&r);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Stockholm                                                                 */
/* ------------------------------------------------------------------------ */

static bool starts_with(const char *s, size_t n, const char *prefix)
{
    size_t m = strlen(prefix);
    return n >= m && memcmp(s, prefix, m) == 0;
}

/* One line NAME SEQUENCE. */
static rbm_status sto_sequence_line(aln_reader *r, const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    size_t nlen, slen, xlen;
    const char *name = next_token(&p, end, &nlen);
    const char *seq = next_token(&p, end, &slen);
    next_token(&p, end, &xlen);
    if (slen == 0 || xlen != 0)
        return aln_fail(r, RBM_ERR_BAD_FORMAT,
                        "line %zu has %s fields; a sequence line is NAME SEQUENCE", r->tr.lineno,
                        slen == 0 ? "one of two" : "more than two");
    size_t idx;
    rbm_status st = aln_find_or_add(r, name, nlen, &idx);
    if (!st)
        st = aln_append(r, idx, seq, slen);
    return st;
}

/* What follows the "//" line: blank lines only. */
static rbm_status sto_after_end(aln_reader *r, const char *line, size_t len, size_t end_line)
{
    if (line_blank(line, len))
        return RBM_OK;
    if (starts_with(line, len, "# STOCKHOLM"))
        return aln_fail(r, RBM_ERR_BAD_FORMAT,
                        "a second alignment starts on line %zu (the first ended on line %zu); "
                        "one file is one alignment: split it",
                        r->tr.lineno, end_line);
    return aln_fail(r, RBM_ERR_BAD_FORMAT,
                    "line %zu: text after the '//' that ended the alignment on line %zu",
                    r->tr.lineno, end_line);
}

static rbm_status sto_read(aln_reader *r)
{
    bool header = false;
    size_t end_line = 0;
    for (;;) {
        char *line;
        size_t len;
        rbm_status st = rbm__text_next_line(&r->tr, &line, &len);
        if (st == RBM_DONE)
            break;
        if (st)
            return st;
        if ((st = aln_check_text(r, line, len)))
            return st;
        if (end_line) {
            if ((st = sto_after_end(r, line, len, end_line)))
                return st;
            continue;
        }
        if (line_blank(line, len))
            continue;
        if (!header) {
            if (!starts_with(line, len, "# STOCKHOLM"))
                return aln_fail(r, RBM_ERR_BAD_FORMAT,
                                "not a Stockholm file: line %zu does not start with "
                                "'# STOCKHOLM'",
                                r->tr.lineno);
            header = true;
            continue;
        }
        while (len > 0 && blank(line[len - 1]))
            len--;
        if (len == 2 && line[0] == '/' && line[1] == '/') {
            end_line = r->tr.lineno;
            continue;
        }
        if (line[0] == '#') /* #=GF, #=GS, #=GR, #=GC markup and comments */
            continue;
        if ((st = sto_sequence_line(r, line, len)))
            return st;
    }
    if (!header)
        return aln_fail(r, RBM_ERR_BAD_FORMAT, "no '# STOCKHOLM' header (an empty file)");
    if (!end_line)
        return aln_fail(r, RBM_ERR_BAD_FORMAT,
                        "ends on line %zu without the '//' line that closes the alignment "
                        "(truncated?)",
                        r->tr.lineno);
    return RBM_OK;
}

rbm_status rbm_dataset_load_stockholm(rbm_context *ctx, const char *path, const char *alphabet,
                                      uint32_t flags, rbm_dataset **out)
{
    aln_reader r;
    rbm_status st = aln_begin(&r, ctx, path, "stockholm", alphabet, flags, out);
    if (!st)
        st = sto_read(&r);
    if (!st)
        st = aln_finish(&r, out);
    aln_end(&r);
    return st;
}

/* ------------------------------------------------------------------------ */
/* by name or content                                                        */
/* ------------------------------------------------------------------------ */

enum aln_format { ALN_UNSURE, ALN_FASTA, ALN_STOCKHOLM };

static bool ext_is(const char *base, size_t n, const char *ext)
{
    size_t m = strlen(ext);
    if (n <= m)
        return false;
    for (size_t i = 0; i < m; i++) {
        char c = base[n - m + i];
        if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != ext[i])
            return false;
    }
    return true;
}

static enum aln_format format_of_name(const char *path)
{
    static const char *const fasta[] = {".fa", ".fas", ".fasta", ".afa", ".a2m", ".mfa"};
    static const char *const sto[] = {".sto", ".stk", ".sth", ".stockholm"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (ext_is(base, n, ".gz"))
        n -= 3;
    for (size_t i = 0; i < sizeof fasta / sizeof fasta[0]; i++)
        if (ext_is(base, n, fasta[i]))
            return ALN_FASTA;
    for (size_t i = 0; i < sizeof sto / sizeof sto[0]; i++)
        if (ext_is(base, n, sto[i]))
            return ALN_STOCKHOLM;
    return ALN_UNSURE;
}

bool rbm__alignment_name(const char *path)
{
    return format_of_name(path) != ALN_UNSURE;
}

/* The format told by the first non-blank line. */
static rbm_status format_of_content(rbm_context *ctx, const char *path, rbm_dataset **out,
                                    enum aln_format *fmt)
{
    rbm__text_reader tr;
    rbm_status st = rbm__text_open(ctx, path, out, "alignment", RBM_ALIGNMENT_MAX_LINE,
                                   "RBM_ALIGNMENT_MAX_LINE", &tr);
    if (st)
        return st;
    char *line;
    size_t len;
    while ((st = rbm__text_next_line(&tr, &line, &len)) == RBM_OK && line_blank(line, len))
        ;
    if (st == RBM_OK && len > 0 && line[0] == '>')
        *fmt = ALN_FASTA;
    else if (st == RBM_OK && starts_with(line, len, "# STOCKHOLM"))
        *fmt = ALN_STOCKHOLM;
    else if (st == RBM_OK || st == RBM_DONE)
        st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT,
                       "alignment file %s: neither FASTA (a first line '>') nor Stockholm (a "
                       "first line '# STOCKHOLM'), and the name (.fasta, .sto, ...) does not "
                       "tell",
                       path);
    rbm__text_close(&tr); /* line points into its buffer */
    return st;
}

rbm_status rbm_dataset_load_alignment(rbm_context *ctx, const char *path, const char *alphabet,
                                      uint32_t flags, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out || !path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load_alignment: %s is NULL",
                         !out ? "out" : "path");
    enum aln_format fmt = format_of_name(path);
    if (fmt == ALN_UNSURE) {
        rbm_status st = format_of_content(ctx, path, out, &fmt);
        if (st)
            return st;
    }
    return fmt == ALN_FASTA ? rbm_dataset_load_fasta(ctx, path, alphabet, flags, out)
                            : rbm_dataset_load_stockholm(ctx, path, alphabet, flags, out);
}
