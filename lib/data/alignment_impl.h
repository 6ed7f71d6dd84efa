/* librbm — alignment_impl: what the FASTA and Stockholm readers share
 * (private to lib/data): the symbol table of an alphabet, the sequences
 * read so far (by name for Stockholm's blocks), and the dataset they make.
 *
 * A reader calls aln_begin (arguments, alphabet, open the file), feeds
 * lines to its parser, which calls aln_add / aln_find_or_add and
 * aln_append, then aln_finish (checks and the dataset) and aln_end (frees
 * everything, whatever happened). */
#ifndef RBM_DATA_ALIGNMENT_IMPL_H
#define RBM_DATA_ALIGNMENT_IMPL_H

#include "data/dataset_impl.h"
#include "data/load.h"

/* Meaning of a byte in a sequence (aln_reader.map), besides a state >= 0. */
enum { ALN_UNKNOWN = -1, ALN_DROP = -2, ALN_SKIP = -3, ALN_BAD = -4 };

typedef struct aln_seq {
    size_t name_off, name_len; /* the name in aln_reader.names */
    size_t number;             /* 1-based, in file order */
    size_t line;               /* line where it first appeared */
    uint8_t *states;           /* len decoded states (cap allocated) */
    size_t len, cap;
} aln_seq;

typedef struct aln_reader {
    rbm_context *ctx;
    const char *kind; /* "fasta" or "stockholm" */
    const char *path;
    rbm__text_reader tr;
    uint32_t flags;
    char alphabet[256];
    size_t q;
    int gap;         /* state of '-', -1 when the alphabet has none */
    int16_t map[256]; /* byte -> state or ALN_* */
    aln_seq *seqs;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    size_t *slots; /* hash table of names: sequence index + 1, 0 = empty */
    size_t nslots;
    uint64_t total;   /* states held by all sequences */
    uint64_t limit;   /* most states the reader may hold */
    uint64_t unknown; /* unknown symbols mapped to the gap */
} aln_reader;

/* Check the arguments (ctx, path, out, flags, alphabet), build the symbol
 * table and open path. On failure nothing is left to free but aln_end may
 * still be called. */
rbm_status aln_begin(aln_reader *r, rbm_context *ctx, const char *path, const char *kind,
                     const char *alphabet, uint32_t flags, rbm_dataset **out);
/* RBM_ERR_BAD_FORMAT naming the line unless every byte of it is printable
 * ASCII or a tab. */
rbm_status aln_check_text(aln_reader *r, const char *line, size_t len);
/* A new sequence named [name, name + len) at the current line; its index
 * into *idx. */
rbm_status aln_add(aln_reader *r, const char *name, size_t len, size_t *idx);
/* The sequence of that name, added when new. */
rbm_status aln_find_or_add(aln_reader *r, const char *name, size_t len, size_t *idx);
/* Decode the n residues s[0..n) onto sequence idx (rules of alignment.h). */
rbm_status aln_append(aln_reader *r, size_t idx, const char *s, size_t n);
/* The dataset of the sequences read (checks: some, equal, non-zero
 * lengths, size). */
rbm_status aln_finish(aln_reader *r, rbm_dataset **out);
/* Free everything and close the file. */
void aln_end(aln_reader *r);
/* rbm_status of st with "<kind> file <path>: " before a message made
 * below the reader (allocation failures). */
rbm_status aln_fail(aln_reader *r, rbm_status st, const char *fmt, ...) RBM__PRINTF(3, 4);

/* True when the name of path tells an alignment format (.fasta, .sto, ...,
 * optionally followed by .gz): rbm_dataset_load reads it as one. */
bool rbm__alignment_name(const char *path);

#endif /* RBM_DATA_ALIGNMENT_IMPL_H */
