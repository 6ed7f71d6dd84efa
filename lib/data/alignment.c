/* librbm — alignment: the symbol table, the sequences and the dataset that
 * the FASTA and Stockholm readers (load_alignment.c) share, the named
 * alphabets, and the FASTA writer. The decoding rules are those of
 * include/rbm/alignment.h. */
#include "rbm/alignment.h"

#include "core/file_in.h"
#include "core/file_out.h"
#include "data/alignment_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The alphabets of the rbms package (DsysDML/rbms,
 * rbms/dataset/fasta_utils.py: TOKENS_PROTEIN, TOKENS_DNA, TOKENS_RNA). */
static const char ALPHABET_PROTEIN[] = "-ACDEFGHIKLMNPQRSTVWY";
static const char ALPHABET_DNA[] = "-ACGT";
static const char ALPHABET_RNA[] = "-ACGU";

const char *rbm_alphabet_symbols(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "protein") == 0)
        return ALPHABET_PROTEIN;
    if (strcmp(name, "dna") == 0)
        return ALPHABET_DNA;
    if (strcmp(name, "rna") == 0)
        return ALPHABET_RNA;
    return NULL;
}

uint64_t rbm_alignment_unknown_symbols(const rbm_dataset *ds)
{
    return ds ? ds->unknown_symbols : 0;
}

rbm_status aln_fail(aln_reader *r, rbm_status st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rbm__fail(r->ctx, st, "%s file %s: %s", r->kind, r->path, msg);
}

/* ------------------------------------------------------------------------ */
/* the symbol table                                                          */
/* ------------------------------------------------------------------------ */

static void build_map(aln_reader *r)
{
    for (int c = 0; c < 256; c++)
        r->map[c] = c > 0x20 && c < 0x7f ? ALN_UNKNOWN : ALN_BAD;
    r->map[' '] = r->map['\t'] = ALN_SKIP;
    r->gap = -1;
    for (size_t s = 0; s < r->q; s++) {
        unsigned char c = (unsigned char)r->alphabet[s];
        r->map[c] = (int16_t)s;
        if (c == '-')
            r->gap = (int)s;
    }
    bool drop = (r->flags & RBM_ALIGNMENT_DROP_INSERTS) != 0;
    for (int l = 'a'; l <= 'z'; l++)
        if (r->map[l] == ALN_UNKNOWN)
            r->map[l] = drop ? ALN_DROP : r->map[l - 'a' + 'A'] >= 0 ? r->map[l - 'a' + 'A']
                                                                     : ALN_UNKNOWN;
    if (r->map['.'] == ALN_UNKNOWN)
        r->map['.'] = drop ? ALN_DROP : r->gap >= 0 ? (int16_t)r->gap : ALN_UNKNOWN;
}

rbm_status aln_begin(aln_reader *r, rbm_context *ctx, const char *path, const char *kind,
                     const char *alphabet, uint32_t flags, rbm_dataset **out)
{
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->kind = kind;
    r->path = path;
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!out || !path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load_%s: %s is NULL", kind,
                         !out ? "out" : "path");
    const uint32_t known = RBM_ALIGNMENT_STRICT_SYMBOLS | RBM_ALIGNMENT_DROP_INSERTS;
    if (flags & ~known)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "rbm_dataset_load_%s: unknown flag bits 0x%x", kind,
                         (unsigned)(flags & ~known));
    const char *sym = alphabet ? rbm_alphabet_symbols(alphabet) : ALPHABET_PROTEIN;
    if (!sym)
        sym = alphabet;
    char fn[64];
    snprintf(fn, sizeof fn, "rbm_dataset_load_%s", kind);
    size_t q = strlen(sym);
    rbm_status st = rbm__alphabet_check(ctx, fn, q, sym);
    if (st)
        return st;
    memcpy(r->alphabet, sym, q + 1);
    r->q = q;
    r->flags = flags;
    build_map(r);
    uint64_t lim = ctx->max_data_bytes;
    r->limit = lim != 0 && lim < (uint64_t)RBM__DS_MAX_BYTES ? lim : (uint64_t)RBM__DS_MAX_BYTES;
    return rbm__text_open(ctx, path, out, kind, RBM_ALIGNMENT_MAX_LINE, "RBM_ALIGNMENT_MAX_LINE",
                          &r->tr);
}

rbm_status aln_check_text(aln_reader *r, const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c >= 0x7f)
            return aln_fail(r, RBM_ERR_BAD_FORMAT,
                            "line %zu, byte %zu is 0x%02x (%s): an alignment is printable ASCII "
                            "text",
                            r->tr.lineno, i + 1, c, c == 0 ? "a NUL byte" : "not text");
    }
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* the sequences                                                             */
/* ------------------------------------------------------------------------ */

/* The name of sequence s, quoted for a message. */
static const char *seq_name(const aln_reader *r, const aln_seq *s, char *buf, size_t cap)
{
    if (s->name_len == 0)
        return "(no name)";
    return rbm__quote_bytes(r->names + s->name_off, s->name_len, buf, cap);
}

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

/* p (elem-sized items, *cap of them) grown to hold need items: p itself
 * when it does, a new buffer holding p's items (p freed), or NULL with *st
 * set. */
static void *grow(aln_reader *r, void *p, size_t *cap, size_t need, size_t elem,
                  const char *what, rbm_status *st)
{
    *st = RBM_OK;
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 4 / elem) {
            *st = aln_fail(r, RBM_ERR_TOO_LARGE, "too many %s", what);
            return NULL;
        }
        ncap *= 2;
    }
    void *np = rbm__alloc(r->ctx, ncap * elem);
    if (!np) {
        *st = aln_fail(r, RBM_ERR_NO_MEMORY, "cannot allocate %zu bytes for the %s", ncap * elem,
                       what);
        return NULL;
    }
    if (*cap)
        memcpy(np, p, *cap * elem);
    rbm__free(r->ctx, p);
    *cap = ncap;
    return np;
}

static void slot_insert(aln_reader *r, size_t idx)
{
    const aln_seq *s = &r->seqs[idx];
    size_t mask = r->nslots - 1;
    size_t h = (size_t)name_hash(r->names + s->name_off, s->name_len) & mask;
    while (r->slots[h])
        h = (h + 1) & mask;
    r->slots[h] = idx + 1;
}

/* Keep the hash table at most half full. */
static rbm_status rehash(aln_reader *r)
{
    if (2 * (r->n + 1) <= r->nslots)
        return RBM_OK;
    size_t ns = r->nslots ? 2 * r->nslots : 64;
    size_t *slots;
    rbm_status st = rbm__xcalloc(r->ctx, ns, sizeof *slots, &slots, "alignment names");
    if (st)
        return aln_fail(r, st, "cannot index %zu sequence names", r->n + 1);
    rbm__free(r->ctx, r->slots);
    r->slots = slots;
    r->nslots = ns;
    for (size_t i = 0; i < r->n; i++)
        slot_insert(r, i);
    return RBM_OK;
}

rbm_status aln_add(aln_reader *r, const char *name, size_t len, size_t *idx)
{
    rbm_status st;
    aln_seq *seqs = grow(r, r->seqs, &r->cap, r->n + 1, sizeof *r->seqs, "sequences", &st);
    if (!seqs)
        return st;
    r->seqs = seqs;
    char *names = grow(r, r->names, &r->names_cap, r->names_len + len + 1, 1, "sequence names", &st);
    if (!names)
        return st;
    r->names = names;
    aln_seq *s = &r->seqs[r->n];
    memset(s, 0, sizeof *s);
    s->name_off = r->names_len;
    s->name_len = len;
    s->number = r->n + 1;
    s->line = r->tr.lineno;
    if (len)
        memcpy(r->names + r->names_len, name, len);
    r->names_len += len;
    *idx = r->n++;
    return RBM_OK;
}

rbm_status aln_find_or_add(aln_reader *r, const char *name, size_t len, size_t *idx)
{
    rbm_status st = rehash(r);
    if (st)
        return st;
    size_t mask = r->nslots - 1;
    size_t h = (size_t)name_hash(name, len) & mask;
    for (; r->slots[h]; h = (h + 1) & mask) {
        const aln_seq *s = &r->seqs[r->slots[h] - 1];
        if (s->name_len == len && memcmp(r->names + s->name_off, name, len) == 0) {
            *idx = r->slots[h] - 1;
            return RBM_OK;
        }
    }
    st = aln_add(r, name, len, idx);
    if (st)
        return st;
    r->slots[h] = *idx + 1;
    return RBM_OK;
}

/* The refusal of symbol c at the next column of sequence s. */
static rbm_status bad_symbol(aln_reader *r, const aln_seq *s, unsigned char c)
{
    char nb[80];
    return aln_fail(r, RBM_ERR_BAD_FORMAT,
                    "sequence '%s' (number %zu), line %zu, column %zu: symbol '%c' is not in the "
                    "alphabet \"%s\"%s",
                    seq_name(r, s, nb, sizeof nb), s->number, r->tr.lineno, s->len + 1, c,
                    r->alphabet,
                    r->gap < 0 ? " (which has no gap '-' to map it to)"
                               : " (RBM_ALIGNMENT_STRICT_SYMBOLS)");
}

rbm_status aln_append(aln_reader *r, size_t idx, const char *str, size_t n)
{
    aln_seq *s = &r->seqs[idx];
    if (s->len + n > s->cap) {
        if (r->total + n > r->limit)
            return aln_fail(r, RBM_ERR_TOO_LARGE,
                            "line %zu: the sequences hold more than the data size limit of %llu "
                            "states (rbm_context_set_max_data_bytes)",
                            r->tr.lineno, (unsigned long long)r->limit);
        rbm_status st;
        uint8_t *states = grow(r, s->states, &s->cap, s->len + n, 1, "sequence states", &st);
        if (!states)
            return st;
        s->states = states;
    }
    bool strict = (r->flags & RBM_ALIGNMENT_STRICT_SYMBOLS) != 0 || r->gap < 0;
    size_t before = s->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)str[i];
        int m = r->map[c];
        if (m >= 0) {
            s->states[s->len++] = (uint8_t)m;
        } else if (m == ALN_UNKNOWN) {
            if (strict)
                return bad_symbol(r, s, c);
            s->states[s->len++] = (uint8_t)r->gap;
            r->unknown++;
        } else if (m == ALN_BAD) {
            return aln_check_text(r, str, n); /* names the byte */
        }
    }
    r->total += s->len - before;
    return RBM_OK;
}

/* ------------------------------------------------------------------------ */
/* the dataset                                                               */
/* ------------------------------------------------------------------------ */

rbm_status aln_finish(aln_reader *r, rbm_dataset **out)
{
    char nb[80], nb2[80];
    if (r->n == 0)
        return aln_fail(r, RBM_ERR_BAD_FORMAT, "no sequence (an empty alignment)");
    const aln_seq *first = &r->seqs[0];
    size_t L = first->len;
    if (L == 0)
        return aln_fail(r, RBM_ERR_BAD_FORMAT, "sequence '%s' (number 1, line %zu) is empty%s",
                        seq_name(r, first, nb, sizeof nb), first->line,
                        r->flags & RBM_ALIGNMENT_DROP_INSERTS
                            ? " (RBM_ALIGNMENT_DROP_INSERTS removed every residue)"
                            : "");
    for (size_t i = 1; i < r->n; i++) {
        const aln_seq *s = &r->seqs[i];
        if (s->len != L)
            return aln_fail(r, RBM_ERR_BAD_FORMAT,
                            "ragged alignment: sequence '%s' (number %zu, line %zu) has %zu "
                            "columns, sequence '%s' (number 1) has %zu%s",
                            seq_name(r, s, nb, sizeof nb), s->number, s->line, s->len,
                            seq_name(r, first, nb2, sizeof nb2), L,
                            r->flags & RBM_ALIGNMENT_DROP_INSERTS
                                ? ""
                                : " (for A2M files, whose lowercase letters and '.' are "
                                  "inserts, use RBM_ALIGNMENT_DROP_INSERTS)");
    }
    size_t bytes;
    char what[300];
    snprintf(what, sizeof what, "%s file %s", r->kind, r->path);
    rbm_status st = rbm__dataset_size(r->ctx, r->n, L, 1, &bytes, what);
    if (st)
        return st;
    uint8_t *buf = rbm__data_alloc(r->ctx, bytes, what, &st);
    if (!buf)
        return st;
    for (size_t i = 0; i < r->n; i++) {
        memcpy(buf + i * L, r->seqs[i].states, L);
        rbm__free(r->ctx, r->seqs[i].states);
        r->seqs[i].states = NULL;
    }
    rbm_dataset *ds = NULL;
    st = rbm__dataset_wrap(r->ctx, r->n, L, RBM_DTYPE_UINT8, buf, NULL, &ds);
    if (st)
        return st;
    st = rbm_dataset_set_categories(ds, (uint32_t)r->q, r->alphabet);
    if (st) {
        rbm_dataset_free(ds);
        return st;
    }
    ds->unknown_symbols = r->unknown;
    *out = ds;
    return RBM_OK;
}

void aln_end(aln_reader *r)
{
    for (size_t i = 0; i < r->n; i++)
        rbm__free(r->ctx, r->seqs[i].states);
    rbm__free(r->ctx, r->seqs);
    rbm__free(r->ctx, r->names);
    rbm__free(r->ctx, r->slots);
    r->seqs = NULL;
    r->names = NULL;
    r->slots = NULL;
    r->n = 0;
    rbm__text_close(&r->tr);
}

/* ------------------------------------------------------------------------ */
/* writing FASTA                                                             */
/* ------------------------------------------------------------------------ */

rbm_status rbm_dataset_save_fasta(const rbm_dataset *ds, const char *path, const char *prefix)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    const char *fn = "rbm_dataset_save_fasta";
    if (!path)
        return rbm__fail(ctx, RBM_ERR_NULL, "%s: path is NULL", fn);
    if (!prefix)
        prefix = "seq";
    size_t plen = strlen(prefix);
    if (plen > 200)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s: the prefix is %zu bytes, over 200",
                         fn, plen);
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)prefix[i] <= 0x20 || (unsigned char)prefix[i] >= 0x7f)
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "%s: the prefix holds byte 0x%02x at %zu (whitespace or not text)",
                             fn, (unsigned char)prefix[i], i);
    if (ds->n_states == 0 || !ds->alphabet[0])
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: the dataset is not categorical with an alphabet "
                         "(rbm_dataset_set_categories)",
                         fn);
    /* what the FASTA reader would not give back: a line too long for it, a
     * sequence line that starts like a header or a comment */
    if (ds->cols > RBM_ALIGNMENT_MAX_LINE)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE,
                         "%s: %zu columns, more than the %u of a line the FASTA reader takes "
                         "(RBM_ALIGNMENT_MAX_LINE)",
                         fn, ds->cols, RBM_ALIGNMENT_MAX_LINE);
    const uint8_t *v = ds->data;
    for (size_t r = 0; r < ds->rows; r++) {
        char first = ds->alphabet[v[r * ds->cols]];
        if (first == '>' || first == ';')
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "%s: row %zu starts with the symbol '%c' of state %u, which FASTA "
                             "reads as the start of a %s line",
                             fn, r, first, (unsigned)v[r * ds->cols],
                             first == '>' ? "header" : "comment");
    }
    rbm__fout w;
    rbm_status st = rbm__fout_open(ctx, path, &w);
    if (st)
        return st;
    char head[240], line[4096];
    for (size_t r = 0; r < ds->rows; r++) {
        int hn = snprintf(head, sizeof head, ">%s%zu\n", prefix, r + 1);
        rbm__fout_write(&w, head, (size_t)hn);
        size_t k = 0;
        for (size_t c = 0; c < ds->cols; c++) {
            line[k++] = ds->alphabet[v[r * ds->cols + c]];
            if (k == sizeof line) {
                rbm__fout_write(&w, line, k);
                k = 0;
            }
        }
        line[k++] = '\n';
        rbm__fout_write(&w, line, k);
    }
    return rbm__fout_commit(ctx, &w, path);
}
