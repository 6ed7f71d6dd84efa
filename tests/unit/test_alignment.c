/* Alignment readers (alignment.h) on hand-written FASTA and Stockholm files:
 * the decoded states are compared with states written out by hand from the
 * alphabets' orderings; inserts, unknown symbols, gzip, the choice of
 * format, hostile input and the FASTA writer's round trip. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char *put_file(const char *name, const void *text, size_t n)
{
    const char *path = rbm_test_tmp_path(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

static const char *put_text(const char *name, const char *text)
{
    return put_file(name, text, strlen(text));
}

static const char *put_gz(const char *name, const char *text)
{
    const char *path = rbm_test_tmp_path(name);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, text, (unsigned)strlen(text)), (int)strlen(text));
    assert_int_equal(gzclose(gz), Z_OK);
    return path;
}

/* ds holds rows x cols states equal to want. */
static void assert_states(const rbm_dataset *ds, const uint8_t *want, size_t rows, size_t cols)
{
    assert_non_null(ds);
    assert_int_equal(rbm_dataset_rows(ds), rows);
    assert_int_equal(rbm_dataset_cols(ds), cols);
    assert_int_equal(rbm_dataset_dtype(ds), RBM_DTYPE_UINT8);
    double *got = xzalloc(rows * cols * sizeof(double));
    assert_int_equal(rbm_dataset_get_rows(ds, 0, rows, got, rows * cols), RBM_OK);
    for (size_t i = 0; i < rows * cols; i++)
        if (got[i] != (double)want[i])
            fail_msg("row %zu column %zu: state %g, expected %u", i / cols, i % cols, got[i],
                     (unsigned)want[i]);
    free(got);
}

static void assert_detail(rbm_context *ctx, const char *part)
{
    const char *e = rbm_context_last_error(ctx);
    if (!strstr(e, part))
        fail_msg("detail \"%s\" does not contain \"%s\"", e, part);
}

static void test_named_alphabets(void **state)
{
    (void)state;
    assert_string_equal(rbm_alphabet_symbols("protein"), "-ACDEFGHIKLMNPQRSTVWY");
    assert_string_equal(rbm_alphabet_symbols("dna"), "-ACGT");
    assert_string_equal(rbm_alphabet_symbols("rna"), "-ACGU");
    assert_null(rbm_alphabet_symbols("Protein"));
    assert_null(rbm_alphabet_symbols(NULL));
}

/* Protein FASTA: a record over two lines, a description, lowercase and '.'
 * read as aligned columns, blank and ';' lines, CRLF line ends. */
static void test_fasta_protein(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = put_text("p.fasta", ";comment\n\n>s1 first sequence\r\nACDEF\r\nGHIK-\r\n"
                                           ">s2\nLMNPQ RSTVW\n\n>s3\nyacde.ghik\n");
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "protein", 0, &ds));
    /* -ACDEFGHIKLMNPQRSTVWY: A=1 C=2 D=3 E=4 F=5 G=6 H=7 I=8 K=9 L=10 M=11
     * N=12 P=13 Q=14 R=15 S=16 T=17 V=18 W=19 Y=20 */
    const uint8_t want[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  0,  /* ACDEFGHIK- */
                            10, 11, 12, 13, 14, 15, 16, 17, 18, 19, /* LMNPQRSTVW */
                            20, 1,  2,  3,  4,  0,  6,  7,  8,  9}; /* yacde.ghik */
    assert_states(ds, want, 3, 10);
    assert_int_equal(rbm_dataset_n_states(ds), 21);
    assert_string_equal(rbm_dataset_alphabet(ds), "-ACDEFGHIKLMNPQRSTVWY");
    assert_int_equal(rbm_alignment_unknown_symbols(ds), 0);
    rbm_dataset_free(ds);
    /* NULL alphabet is protein */
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds));
    assert_states(ds, want, 3, 10);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* A2M: lowercase letters and '.' are inserts, removed with DROP_INSERTS. */
static void test_inserts(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = put_text("i.a2m", ">a\nAcD-e\n>b\nA.D-.\n");
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "protein", 0, &ds));
    const uint8_t keep[] = {1, 2, 3, 0, 4, 1, 0, 3, 0, 0};
    assert_states(ds, keep, 2, 5);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "protein", RBM_ALIGNMENT_DROP_INSERTS, &ds));
    const uint8_t drop[] = {1, 3, 0, 1, 3, 0};
    assert_states(ds, drop, 2, 3);
    rbm_dataset_free(ds);
    /* inserts of different lengths: ragged unless dropped */
    path = put_text("r.a2m", ">a\nAcDE\n>b\nADE\n");
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, "protein", 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_null(ds);
    assert_detail(ctx, "ragged alignment: sequence 'b' (number 2, line 3) has 3 columns, "
                       "sequence 'a' (number 1) has 4");
    assert_detail(ctx, "RBM_ALIGNMENT_DROP_INSERTS");
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "protein", RBM_ALIGNMENT_DROP_INSERTS, &ds));
    const uint8_t d2[] = {1, 3, 4, 1, 3, 4};
    assert_states(ds, d2, 2, 3);
    rbm_dataset_free(ds);
    /* everything dropped */
    path = put_text("e.a2m", ">a\nacd\n");
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, "protein", RBM_ALIGNMENT_DROP_INSERTS, &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "is empty");
    rbm_context_free(ctx);
}

/* Unknown symbols: the gap by default (counted), refused when strict or when
 * the alphabet has no gap. */
static void test_unknown_symbols(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = put_text("u.fa", ">x desc\nAX\nB*W\n>y\nWWWWW\n");
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "protein", 0, &ds));
    const uint8_t want[] = {1, 0, 0, 0, 19, 19, 19, 19, 19, 19};
    assert_states(ds, want, 2, 5);
    assert_int_equal(rbm_alignment_unknown_symbols(ds), 3);
    rbm_dataset_free(ds);
    RBM_CHECK(ctx,
              rbm_dataset_load_fasta(ctx, path, "protein", RBM_ALIGNMENT_STRICT_SYMBOLS, &ds),
              RBM_ERR_BAD_FORMAT);
    assert_null(ds);
    assert_detail(ctx, "sequence 'x' (number 1), line 2, column 2: symbol 'X' is not in the "
                       "alphabet \"-ACDEFGHIKLMNPQRSTVWY\"");
    /* the column counts the earlier lines of the record */
    path = put_text("u2.fa", ">x\nAC\nDZ\n");
    RBM_CHECK(ctx,
              rbm_dataset_load_fasta(ctx, path, "protein", RBM_ALIGNMENT_STRICT_SYMBOLS, &ds),
              RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 3, column 4: symbol 'Z'");
    /* a caller alphabet without a gap refuses unknowns even when not strict */
    path = put_text("ab.fa", ">x\nabba\n>y\nabca\n");
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, "ab", 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "sequence 'y' (number 2), line 4, column 3: symbol 'c'");
    assert_detail(ctx, "no gap");
    rbm_context_free(ctx);
}

static void test_nucleotides_and_custom(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = put_text("n.fa", ">a\nACGT-N\n>b\nacgu.u\n");
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "dna", 0, &ds));
    const uint8_t dna[] = {1, 2, 3, 4, 0, 0, 1, 2, 3, 0, 0, 0}; /* -ACGT; N, u unknown */
    assert_states(ds, dna, 2, 6);
    assert_int_equal(rbm_dataset_n_states(ds), 5);
    assert_string_equal(rbm_dataset_alphabet(ds), "-ACGT");
    assert_int_equal(rbm_alignment_unknown_symbols(ds), 3);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "rna", 0, &ds));
    const uint8_t rna[] = {1, 2, 3, 0, 0, 0, 1, 2, 3, 4, 0, 4}; /* -ACGU; T, N unknown */
    assert_states(ds, rna, 2, 6);
    rbm_dataset_free(ds);
    /* a caller alphabet, with its own order and a lowercase symbol of its own */
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, "TGCA-Nu", 0, &ds));
    const uint8_t own[] = {3, 2, 1, 0, 4, 5, 3, 2, 1, 6, 4, 6};
    assert_states(ds, own, 2, 6);
    assert_string_equal(rbm_dataset_alphabet(ds), "TGCA-Nu");
    rbm_dataset_free(ds);
    /* bad alphabets */
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, "A", 0, &ds), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, "ACA", 0, &ds), RBM_ERR_INVALID_ARGUMENT);
    assert_detail(ctx, "repeated");
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, "A C", 0, &ds), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, "dna", 1u << 5, &ds),
              RBM_ERR_INVALID_ARGUMENT);
    assert_null(ds);
    rbm_context_free(ctx);
}

/* Multi-block Stockholm with markup; the second block lists the sequences
 * in another order. */
static const char STO[] = "# STOCKHOLM 1.0\n"
                          "#=GF ID   test\n"
                          "#=GS seq1 AC P00001.1\n"
                          "\n"
                          "seq1    ACDE.F\n"
                          "#=GR seq1 SS  HHHH.C\n"
                          "seq2    AC-EgF\n"
                          "#=GC SS_cons HHHH.C\n"
                          "\n"
                          "seq2    WY\n"
                          "seq1    K-\n"
                          "#=GC RF xx\n"
                          "//\n"
                          "\n";

static void test_stockholm(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = put_text("a.sto", STO);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_stockholm(ctx, path, "protein", 0, &ds));
    const uint8_t want[] = {1, 2, 3, 4, 0, 5, 9, 0, 1, 2, 0, 4, 6, 5, 19, 20};
    assert_states(ds, want, 2, 8);
    rbm_dataset_free(ds);
    RBM_OKAY(ctx, rbm_dataset_load_stockholm(ctx, path, "protein", RBM_ALIGNMENT_DROP_INSERTS,
                                             &ds));
    const uint8_t drop[] = {1, 2, 3, 4, 5, 9, 0, 1, 2, 0, 4, 5, 19, 20};
    assert_states(ds, drop, 2, 7);
    rbm_dataset_free(ds);
    /* rbm_dataset_load reads it by its name, with the protein alphabet */
    RBM_OKAY(ctx, rbm_dataset_load(ctx, path, &ds));
    assert_states(ds, want, 2, 8);
    rbm_dataset_free(ds);
    /* gzip, and the choice by name and by content */
    const char *gz = put_gz("a.sto.gz", STO);
    RBM_OKAY(ctx, rbm_dataset_load_alignment(ctx, gz, NULL, 0, &ds));
    assert_states(ds, want, 2, 8);
    rbm_dataset_free(ds);
    const char *anon = put_gz("a.txt", STO);
    RBM_OKAY(ctx, rbm_dataset_load_alignment(ctx, anon, NULL, 0, &ds));
    assert_states(ds, want, 2, 8);
    rbm_dataset_free(ds);
    const char *fa = put_text("b.txt", "\n>q\nAC\n");
    RBM_OKAY(ctx, rbm_dataset_load_alignment(ctx, fa, NULL, 0, &ds));
    const uint8_t two[] = {1, 2};
    assert_states(ds, two, 1, 2);
    rbm_dataset_free(ds);
    const char *csv = put_text("c.txt", "1,2\n");
    RBM_CHECK(ctx, rbm_dataset_load_alignment(ctx, csv, NULL, 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "neither FASTA");
    /* a Stockholm file named .fasta is refused as FASTA */
    const char *mis = put_text("m.fasta", STO);
    RBM_CHECK(ctx, rbm_dataset_load_alignment(ctx, mis, NULL, 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "not a FASTA file: line 1 does not start with '>'");
    rbm_context_free(ctx);
}

/* One hostile Stockholm text: the status and a part of the detail. */
static void refuse_sto(rbm_context *ctx, const char *text, rbm_status want, const char *part)
{
    const char *path = put_text("h.sto", text);
    rbm_dataset *ds = (rbm_dataset *)&ds;
    RBM_CHECK(ctx, rbm_dataset_load_stockholm(ctx, path, NULL, 0, &ds), want);
    assert_null(ds);
    assert_detail(ctx, part);
}

static void test_stockholm_hostile(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    refuse_sto(ctx, "", RBM_ERR_BAD_FORMAT, "no '# STOCKHOLM' header");
    refuse_sto(ctx, "seq1 ACD\n//\n", RBM_ERR_BAD_FORMAT, "not a Stockholm file: line 1");
    refuse_sto(ctx, "# STOCKHOLM 1.0\n//\n", RBM_ERR_BAD_FORMAT, "no sequence");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1 ACD\n", RBM_ERR_BAD_FORMAT,
               "without the '//' line that closes the alignment");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1 ACD\nseq2 AC\n//\n", RBM_ERR_BAD_FORMAT,
               "sequence 'seq2' (number 2, line 3) has 2 columns");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1 ACD\nseq2 ACD\n\nseq1 A\n//\n", RBM_ERR_BAD_FORMAT,
               "sequence 'seq2' (number 2, line 3) has 3 columns, sequence 'seq1' (number 1) "
               "has 4");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1 ACD E\n//\n", RBM_ERR_BAD_FORMAT,
               "line 2 has more than two fields");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1\n//\n", RBM_ERR_BAD_FORMAT, "line 2 has one of two");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1 ACD\n//\n# STOCKHOLM 1.0\nseq1 ACD\n//\n",
               RBM_ERR_BAD_FORMAT, "a second alignment starts on line 4");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1 ACD\n//\nseq2 ACD\n", RBM_ERR_BAD_FORMAT,
               "text after the '//'");
    refuse_sto(ctx, "# STOCKHOLM 1.0\nseq1 A\xc3\xa9\n//\n", RBM_ERR_BAD_FORMAT,
               "line 2, byte 7 is 0xc3");
    /* a NUL byte */
    const char nul[] = "# STOCKHOLM 1.0\nseq1 AC\0D\n//\n";
    const char *path = put_file("nul.sto", nul, sizeof nul - 1);
    rbm_dataset *ds = NULL;
    RBM_CHECK(ctx, rbm_dataset_load_stockholm(ctx, path, NULL, 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "line 2, byte 8 is 0x00 (a NUL byte)");
    /* corrupt gzip: a valid header, then garbage */
    const unsigned char bad_gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff};
    path = put_file("bad.sto.gz", bad_gz, sizeof bad_gz);
    RBM_CHECK(ctx, rbm_dataset_load_stockholm(ctx, path, NULL, 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "corrupt gzip data");
    /* not a regular file */
    RBM_CHECK(ctx, rbm_dataset_load_stockholm(ctx, rbm_test_tmpdir(), NULL, 0, &ds),
              RBM_ERR_IO);
    assert_detail(ctx, "not a regular file (directory)");
    RBM_CHECK(ctx, rbm_dataset_load_stockholm(ctx, NULL, NULL, 0, &ds), RBM_ERR_NULL);
    RBM_CHECK(ctx, rbm_dataset_load_stockholm(ctx, path, NULL, 0, NULL), RBM_ERR_NULL);
    assert_int_equal(rbm_dataset_load_fasta(NULL, path, NULL, 0, &ds), RBM_ERR_NULL);
    rbm_context_free(ctx);
}

static void test_fasta_hostile(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ds = NULL;
    const char *path = put_text("e.fa", "\n\n");
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "no sequence (an empty alignment)");
    path = put_text("z.fa", ">a\n>b\n");
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "sequence 'a' (number 1, line 1) is empty");
    path = put_text("n.fa", "ACD\n");
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds), RBM_ERR_BAD_FORMAT);
    assert_detail(ctx, "not a FASTA file");
    /* a line over the limit, and one exactly at it */
    size_t n = RBM_ALIGNMENT_MAX_LINE + 1;
    char *big = xzalloc(n + 8);
    memcpy(big, ">a\n", 3);
    memset(big + 3, 'A', n);
    big[3 + n] = '\n';
    path = put_file("long.fa", big, n + 4);
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds), RBM_ERR_TOO_LARGE);
    assert_detail(ctx, "line 2 is longer than 1048576 bytes (RBM_ALIGNMENT_MAX_LINE)");
    big[3 + n - 1] = '\n';
    path = put_file("max.fa", big, n + 3);
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds));
    assert_int_equal(rbm_dataset_cols(ds), RBM_ALIGNMENT_MAX_LINE);
    rbm_dataset_free(ds);
    free(big);
    /* the context's data size limit bounds the states held */
    path = put_text("lim.fa", ">a\nACDEFGHIKL\n>b\nACDEFGHIKL\n>c\nACDEFGHIKL\n");
    rbm_context_set_max_data_bytes(ctx, 25);
    RBM_CHECK(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds), RBM_ERR_TOO_LARGE);
    assert_detail(ctx, "line 6: the sequences hold more than the data size limit of 25");
    rbm_context_set_max_data_bytes(ctx, 30);
    RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, path, NULL, 0, &ds));
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

/* A categorical dataset written as FASTA reads back to the same states. */
static void test_save_fasta_round_trip(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    uint8_t v[3 * 7];
    for (size_t i = 0; i < sizeof v; i++)
        v[i] = (uint8_t)((i * 5 + 3) % 21);
    rbm_dataset *ds = NULL, *back = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, v, RBM_DTYPE_UINT8, 3, 7, RBM_COPY, &ds));
    const char *path = rbm_test_tmp_path("out.fasta");
    RBM_CHECK(ctx, rbm_dataset_save_fasta(ds, path, NULL), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_dataset_set_categories(ds, 21, rbm_alphabet_symbols("protein")));
    RBM_CHECK(ctx, rbm_dataset_save_fasta(ds, path, "a b"), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(ctx, rbm_dataset_save_fasta(ds, path, "gen_"));
    size_t len;
    unsigned char *text = rbm_test_read_file(path, &len);
    /* states 3, 8, 13, 18, 2, 7, 12 | 17, 1, 6, 11, 16, 0, 5 | ... */
    const char *expect = ">gen_1\nDIPVCHN\n>gen_2\nTAGMS-F\n>gen_3\n";
    assert_int_equal(len, 3 * 15);
    assert_memory_equal(text, expect, strlen(expect));
    free(text);
    RBM_OKAY(ctx, rbm_dataset_load_alignment(ctx, path, "protein", RBM_ALIGNMENT_STRICT_SYMBOLS,
                                             &back));
    assert_states(back, v, 3, 7);
    rbm_dataset_free(back);
    rbm_dataset_free(ds);
    /* a row starting with '>' or ';' would read back as a header or a
     * comment (found by fuzz_alignment): refused, nothing written */
    const char *gt = ">;AB-";
    for (int first = 0; first < 2; first++) {
        uint8_t w[2 * 3] = {2, 0, 4, (uint8_t)first, 3, 2};
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, w, RBM_DTYPE_UINT8, 2, 3, RBM_COPY, &ds));
        RBM_OKAY(ctx, rbm_dataset_set_categories(ds, 5, gt));
        const char *p2 = rbm_test_tmp_path(first ? "semi.fasta" : "gt.fasta");
        RBM_CHECK(ctx, rbm_dataset_save_fasta(ds, p2, NULL), RBM_ERR_INVALID_ARGUMENT);
        assert_detail(ctx, first ? "row 1 starts with the symbol ';' of state 1, which FASTA "
                                   "reads as the start of a comment line"
                                 : "row 1 starts with the symbol '>' of state 0, which FASTA "
                                   "reads as the start of a header line");
        assert_int_equal(access(p2, F_OK), -1);
        /* inside a row they are plain symbols */
        w[3] = 2;
        rbm_dataset_free(ds);
        RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, w, RBM_DTYPE_UINT8, 2, 3, RBM_COPY, &ds));
        RBM_OKAY(ctx, rbm_dataset_set_categories(ds, 5, gt));
        RBM_OKAY(ctx, rbm_dataset_save_fasta(ds, p2, NULL));
        RBM_OKAY(ctx, rbm_dataset_load_fasta(ctx, p2, gt, RBM_ALIGNMENT_STRICT_SYMBOLS, &back));
        assert_states(back, w, 2, 3);
        rbm_dataset_free(back);
        rbm_dataset_free(ds);
    }
    rbm_context_free(ctx);
}

/* The dataset trains a Potts machine: states 0..q-1 as the trainer wants. */
static void test_potts_machine_takes_it(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = put_text("t.sto", STO);
    rbm_dataset *ds = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_stockholm(ctx, path, NULL, 0, &ds));
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, rbm_dataset_cols(ds), rbm_dataset_n_states(ds), 3,
                                        RBM_UNIT_BERNOULLI, &m));
    rbm_trainer *t = NULL;
    RBM_OKAY(ctx, rbm_trainer_new(m, ds, 2, 1, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_PCD, 1));
    rbm_test_steps(ctx, t, 3);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(ds);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_alphabets),
        cmocka_unit_test(test_fasta_protein),
        cmocka_unit_test(test_inserts),
        cmocka_unit_test(test_unknown_symbols),
        cmocka_unit_test(test_nucleotides_and_custom),
        cmocka_unit_test(test_stockholm),
        cmocka_unit_test(test_stockholm_hostile),
        cmocka_unit_test(test_fasta_hostile),
        cmocka_unit_test(test_save_fasta_round_trip),
        cmocka_unit_test(test_potts_machine_takes_it),
    };
    if (rbm_test_tmpdir_new("alignment") != 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rbm_test_tmpdir_remove();
    return rc;
}
