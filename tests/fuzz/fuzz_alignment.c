/* librbm fuzz target: alignments (rbm_dataset_load_fasta,
 * rbm_dataset_load_stockholm, rbm_dataset_load_alignment; alignment.h).
 *
 * The first byte of the input chooses the reader (bits 0-1: FASTA,
 * Stockholm, by content), the flags (bit 2: RBM_ALIGNMENT_STRICT_SYMBOLS,
 * bit 3: RBM_ALIGNMENT_DROP_INSERTS) and the alphabet (bits 4-6: protein,
 * dna, rna, and caller alphabets, among them ones holding '.', lowercase
 * letters, '>' and ';'); the rest is the file.
 *
 * Checked: a failed load returns a documented status, leaves *out NULL and
 * a non-empty detail with the same status in the context; a loaded dataset
 * is uint8 with n_states = q and the alphabet's symbols, every value a
 * state below q, passes fz_check_dataset, holds no unknown symbol under
 * the strict flag and at most rows x cols otherwise; loading the same file
 * again gives the same dataset and count; rbm_dataset_save_fasta writes
 * it, or refuses with RBM_ERR_INVALID_ARGUMENT / RBM_ERR_TOO_LARGE, and
 * what it writes reads back (FASTA, same alphabet, strict) as the same
 * states. */
#include "fuzz_common.h"

static const char *in_path, *npy_path, *fasta_path;

static const char *const ALPHABETS[8] = {
    "protein", "dna", "rna", NULL, /* NULL: protein */
    "-ab", ".-ACGTacgt", "-AB>;", "xyz",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_context();
    in_path = fz_new_path("aln", ".txt"); /* no alignment suffix: told by the content */
    npy_path = fz_new_path("aln", ".npy");
    fasta_path = fz_new_path("aln", ".fasta");
    return 0;
}

typedef rbm_status (*aln_loader)(rbm_context *, const char *, const char *, uint32_t,
                                 rbm_dataset **);

/* The written FASTA reads back as the same states and alphabet. */
static void check_round_trip(const rbm_dataset *ds, const char *alphabet)
{
    static const rbm_status save_allowed[] = {RBM_ERR_INVALID_ARGUMENT, RBM_ERR_TOO_LARGE,
                                              RBM_ERR_IO, RBM_ERR_NO_MEMORY};
    fz_clear();
    rbm_status st = rbm_dataset_save_fasta(ds, fasta_path, NULL);
    fz_check_error("rbm_dataset_save_fasta", st, save_allowed,
                   sizeof save_allowed / sizeof save_allowed[0]);
    if (st != RBM_OK)
        return;
    rbm_dataset *back = NULL;
    st = rbm_dataset_load_fasta(fz_context(), fasta_path, alphabet,
                                RBM_ALIGNMENT_STRICT_SYMBOLS, &back);
    if (st != RBM_OK)
        fz_fail("rbm_dataset_save_fasta wrote a file that does not read back: %s: %s",
                rbm_status_name(st), rbm_context_last_error(fz_context()));
    fz_same_dataset("FASTA written and read back", ds, back);
    if (rbm_dataset_n_states(back) != rbm_dataset_n_states(ds) ||
        strcmp(rbm_dataset_alphabet(back), rbm_dataset_alphabet(ds)) != 0)
        fz_fail("FASTA read back with another alphabet");
    rbm_dataset_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rbm_status allowed[] = {RBM_ERR_IO, RBM_ERR_BAD_FORMAT, RBM_ERR_TOO_LARGE,
                                         RBM_ERR_NO_MEMORY};
    static const aln_loader loaders[4] = {rbm_dataset_load_fasta, rbm_dataset_load_stockholm,
                                          rbm_dataset_load_alignment, rbm_dataset_load_alignment};
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    aln_loader load = loaders[mode & 3];
    uint32_t flags = ((mode & 4) ? RBM_ALIGNMENT_STRICT_SYMBOLS : 0u) |
                     ((mode & 8) ? RBM_ALIGNMENT_DROP_INSERTS : 0u);
    const char *alphabet = ALPHABETS[(mode >> 4) & 7];
    const char *symbols = rbm_alphabet_symbols(alphabet ? alphabet : "protein");
    if (!symbols)
        symbols = alphabet;
    fz_write_file(in_path, data + 1, size - 1);

    rbm_dataset *ds = NULL;
    fz_clear();
    rbm_status st = load(fz_context(), in_path, alphabet, flags, &ds);
    fz_check_status("alignment reader", st, ds, allowed, sizeof allowed / sizeof allowed[0]);
    if (st != RBM_OK)
        return 0;
    size_t rows = rbm_dataset_rows(ds), cols = rbm_dataset_cols(ds), q = strlen(symbols);
    if (rbm_dataset_dtype(ds) != RBM_DTYPE_UINT8)
        fz_fail("alignment reader: dtype %d, not uint8", (int)rbm_dataset_dtype(ds));
    if (rbm_dataset_n_states(ds) != q || !rbm_dataset_alphabet(ds) ||
        strcmp(rbm_dataset_alphabet(ds), symbols) != 0)
        fz_fail("alignment reader: %u states, alphabet \"%s\"; asked for \"%s\"",
                rbm_dataset_n_states(ds), rbm_dataset_alphabet(ds) ? rbm_dataset_alphabet(ds) : "",
                symbols);
    fz_check_dataset("alignment reader", ds, npy_path);
    double lo = 0, hi = 0;
    if (rbm_dataset_range(ds, &lo, &hi) != RBM_OK || lo < 0 || hi >= (double)q)
        fz_fail("alignment reader: values %g..%g outside the %zu states", lo, hi, q);
    uint64_t unknown = rbm_alignment_unknown_symbols(ds);
    if ((flags & RBM_ALIGNMENT_STRICT_SYMBOLS) ? unknown != 0 : unknown > (uint64_t)rows * cols)
        fz_fail("alignment reader: %llu unknown symbols in %zu x %zu%s",
                (unsigned long long)unknown, rows, cols,
                (flags & RBM_ALIGNMENT_STRICT_SYMBOLS) ? " under the strict flag" : "");

    rbm_dataset *again = NULL;
    if (load(fz_context(), in_path, alphabet, flags, &again) != RBM_OK)
        fz_fail("alignment reader: a file that loaded once does not load again");
    fz_same_dataset("alignment loaded twice", ds, again);
    if (rbm_alignment_unknown_symbols(again) != unknown)
        fz_fail("alignment reader: another unknown count the second time");
    rbm_dataset_free(again);
    check_round_trip(ds, symbols);
    rbm_dataset_free(ds);
    return 0;
}
