/* librbm — alignments: multiple sequence alignments (FASTA, Stockholm) read
 * as categorical datasets for Potts visible units, and written as FASTA.
 *
 * An alignment of M sequences of L columns becomes an M x L uint8 dataset
 * of state indices 0..q-1 (rbm_dataset_n_states() = q, the alphabet's
 * length; rbm_dataset_alphabet() = the alphabet), ready for
 * rbm_machine_new_potts(ctx, L, q, ...) and the trainer. Sequence names are
 * not kept (the dataset holds no per-row strings); the rows are in file
 * order. docs/sequences.md has the rules below with examples.
 *
 * ALPHABETS. `alphabet` is one of the names "protein" (21 states:
 * "-ACDEFGHIKLMNPQRSTVWY", the gap as state 0 and the 20 amino acids in
 * alphabetical order of their one-letter codes, the ordering of the rbms
 * package), "dna" ("-ACGT"), "rna" ("-ACGU"), or NULL (= "protein"); any
 * other string is the alphabet itself: 2..255 distinct printable ASCII
 * symbols, the symbol of state c at position c (rbm_alphabet_symbols()).
 *
 * SYMBOLS. Each residue of a sequence is decoded as follows.
 *   1. A symbol of the alphabet is its state (exact match, so an alphabet
 *      may hold lowercase symbols of its own).
 *   2. Insert states: a lowercase letter not in the alphabet, and '.' when
 *      the alphabet has no '.', mark insert states in A2M and Stockholm.
 *      By default they are read as aligned columns: the lowercase letter as
 *      its uppercase symbol, '.' as the gap '-'. With
 *      RBM_ALIGNMENT_DROP_INSERTS they are removed from every sequence
 *      (A2M's convention: the columns that remain are the match columns).
 *   3. Any other printable symbol (e.g. X, B, Z, '*', '~') is unknown: it
 *      becomes the gap state (the alphabet's '-') by default, and is
 *      refused with RBM_ERR_BAD_FORMAT under RBM_ALIGNMENT_STRICT_SYMBOLS
 *      or when the alphabet has no '-'. rbm_alignment_unknown_symbols()
 *      tells how many were mapped to the gap.
 *   4. Spaces and tabs inside FASTA sequence lines are skipped; a control
 *      byte (NUL included) or a byte >= 0x80 anywhere in the file is
 *      refused (RBM_ERR_BAD_FORMAT naming the line).
 * The message of a refused symbol names the file, the sequence (its name
 * and number, 1-based), the line and the column (1-based, after the
 * dropped inserts).
 *
 * FASTA: a record starts with a line '>' NAME [description]; the lines up
 * to the next '>' hold its residues. Blank lines and lines starting with
 * ';' are skipped. The first other line must start with '>'.
 * STOCKHOLM: the first non-blank line starts with "# STOCKHOLM"; sequence
 * lines are NAME SEQUENCE (two fields, whitespace-separated); a sequence
 * may be split over blocks separated by blank lines, its pieces joined in
 * order; markup (#=GF, #=GS, #=GR, #=GC) and other '#' lines are skipped;
 * the line "//" ends the alignment and must be there (else the file is
 * truncated). A file holding a second alignment after "//" is refused (one
 * alignment is one dataset; split the file).
 * Both: plain or gzip (told from the content), regular files only.
 *
 * LIMITS and hostile input (RBM_ERR_BAD_FORMAT unless said otherwise):
 * no sequence; sequences of zero columns; sequences of different lengths
 * ("ragged", naming the first sequence whose length differs from the first
 * one's); a line longer than RBM_ALIGNMENT_MAX_LINE bytes
 * (RBM_ERR_TOO_LARGE); decoded states more than the context's data size
 * limit or M x L overflowing (RBM_ERR_TOO_LARGE); a corrupt gzip stream.
 * A failed load returns no dataset and sets the detail in ctx.
 *
 * THREAD SAFETY: the readers use only their context (one thread at a time
 * per context); rbm_alphabet_symbols is thread safe. */
#ifndef RBM_ALIGNMENT_H
#define RBM_ALIGNMENT_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest line the alignment readers accept, in bytes without the
 * newline (1 MiB: a one-line FASTA sequence of a million columns). */
#define RBM_ALIGNMENT_MAX_LINE 1048576u

/* Flags of the alignment readers (bitwise or). */
typedef enum rbm_alignment_flag {
    RBM_ALIGNMENT_STRICT_SYMBOLS = 1u << 0, /* an unknown symbol is an error, not a gap  */
    RBM_ALIGNMENT_DROP_INSERTS = 1u << 1    /* lowercase letters and '.' are insert
                                               states, removed (A2M)                      */
} rbm_alignment_flag;

/* The symbols of a named alphabet ("protein", "dna", "rna"), a static
 * string; NULL for any other name (including NULL). */
RBM_API const char *rbm_alphabet_symbols(const char *name);

/* Read an aligned FASTA file (see above). alphabet: a name, the symbols, or
 * NULL for "protein". flags: rbm_alignment_flag bits. The caller owns *out.
 * Errors: RBM_ERR_NULL (ctx, path or out NULL), RBM_ERR_INVALID_ARGUMENT
 * (unknown flag bits; a bad alphabet: fewer than 2 or more than 255
 * symbols, repeated or non-printable ones), RBM_ERR_IO (cannot open or
 * read; not a regular file), RBM_ERR_BAD_FORMAT, RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_dataset_load_fasta(rbm_context *ctx, const char *path,
                                          const char *alphabet, uint32_t flags,
                                          rbm_dataset **out);

/* Read a Stockholm file (see above). Arguments and errors as
 * rbm_dataset_load_fasta. */
RBM_API rbm_status rbm_dataset_load_stockholm(rbm_context *ctx, const char *path,
                                              const char *alphabet, uint32_t flags,
                                              rbm_dataset **out);

/* Read an alignment, the format told by the name (after a final ".gz"):
 * .fa .fas .fasta .afa .a2m .mfa -> FASTA; .sto .stk .sth .stockholm ->
 * Stockholm; any other name by the content: a first non-blank line starting
 * with '>' is FASTA, one starting with "# STOCKHOLM" is Stockholm, anything
 * else is RBM_ERR_BAD_FORMAT. Arguments and errors as
 * rbm_dataset_load_fasta. */
RBM_API rbm_status rbm_dataset_load_alignment(rbm_context *ctx, const char *path,
                                              const char *alphabet, uint32_t flags,
                                              rbm_dataset **out);

/* How many unknown symbols the reader that made ds mapped to the gap state
 * (0 for any other dataset, for slices and transforms, and for NULL). */
RBM_API uint64_t rbm_alignment_unknown_symbols(const rbm_dataset *ds);

/* Write the rows of a categorical dataset as FASTA: record r is the line
 * ">" prefix (r + 1) (prefix NULL: "seq") and its L symbols on one line,
 * symbol of state c = rbm_dataset_alphabet()[c]; reading the file back
 * with the same alphabet gives the same states. The file is replaced
 * atomically (as rbm_dataset_save_npy). Only reads ds.
 * Errors: RBM_ERR_NULL (ds or path NULL), RBM_ERR_INVALID_ARGUMENT (ds not
 * categorical or without an alphabet; a prefix with whitespace or control
 * bytes, or longer than 200 bytes; a row whose first symbol is '>' or ';',
 * which FASTA reads as a header or comment line), RBM_ERR_TOO_LARGE (more
 * than RBM_ALIGNMENT_MAX_LINE columns), RBM_ERR_IO; nothing is written
 * then. */
RBM_API rbm_status rbm_dataset_save_fasta(const rbm_dataset *ds, const char *path,
                                          const char *prefix);

#ifdef __cplusplus
}
#endif

#endif /* RBM_ALIGNMENT_H */
