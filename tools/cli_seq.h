/* cli_seq.h — the parts of the rbm program for sequence alignments and
 * Potts machines (docs/sequences.md, docs/potts.md), included by cli.h:
 * cli_seq.c (the alignment options of --data, the data and provenance
 * lines, the model's alphabet, FASTA samples), cli_logo.c (the modes of a
 * Potts machine in train's report, sequence logos). */
#ifndef RBM_CLI_SEQ_H
#define RBM_CLI_SEQ_H

/* The alignment options of every command that reads data (in
 * cli_data_read), and their help. */
#define CLI_ALIGNMENT_OPTIONS                                                   \
    {"--alphabet", .type = OPT_STRING, .dst = &cli_data_read.alphabet,          \
     .expected = "expected protein, dna, rna or the symbols"},                  \
        {"--drop-inserts", .type = OPT_FLAG, .dst = &cli_data_read.drop_inserts}, \
        {"--strict-symbols", .type = OPT_FLAG, .dst = &cli_data_read.strict_symbols}, \
        {"--reweight", .type = OPT_FRACTION, .dst = &cli_data_read.reweight,    \
         .set = &cli_data_read.reweight_set},                                   \
        {"--no-reweight", .type = OPT_FLAG, .dst = &cli_data_read.no_reweight}
/* Their lines of --help (train, eval, sample, spectrum). */
void cli_usage_alignment(FILE *f);
#define CLI_ALIGNMENT_HELP                                                      \
    "  alignments (FASTA .fa .fasta .afa .a2m, Stockholm .sto .stk, plain or .gz;\n" \
    "  read for --visible potts, docs/sequences.md):\n"                          \
    "  --alphabet protein|dna|rna|SYMBOLS   the states (default protein:\n"      \
    "                        -ACDEFGHIKLMNPQRSTVWY; the model's own for a saved\n" \
    "                        Potts model)\n"                                     \
    "  --drop-inserts        remove insert states (lowercase letters and '.')\n"  \
    "                        instead of reading them as aligned columns\n"       \
    "  --strict-symbols      refuse an unknown symbol instead of reading it as\n" \
    "                        the gap '-'\n"                                       \
    "  --reweight THETA      sequence weights 1 / #{neighbours with identity >=\n" \
    "                        THETA} (default 0.8); --no-reweight: weights 1\n"

/* True when one of the alignment options was given. */
int cli_alignment_options_given(void);
/* Read the alignment at path with the alignment options (flags and the
 * reweighting into info); *ds is replaced. 0, or an exit status after the
 * error. */
int cli_load_alignment(rbm_context *ctx, const char *path, rbm_dataset **ds,
                       struct cli_data_info *info);
/* A categorical dataset *ds read from path without options: its counts,
 * weights and info as cli_load_alignment gives them. */
int cli_prepare_alignment(rbm_context *ctx, const char *path, rbm_dataset *ds,
                          struct cli_data_info *info);
/* The part of the data line after "FILE, M x L": alphabet, unknown
 * symbols, weights. */
void cli_print_alignment_info(const struct cli_data_info *di);
void cli_json_alignment(FILE *f, int *first, const struct cli_data_info *di);
/* The provenance lines of an alignment (appended to text of size cap). */
void cli_alignment_provenance(char *text, size_t cap, const struct cli_data_info *di);
/* Before reading the data of a saved Potts model: the alignment settings
 * it records (alphabet, inserts, symbols, reweighting) become the defaults
 * of those not given. */
void cli_alignment_defaults_from(const rbm_machine *m);
/* The symbols of a Potts model's states: --alphabet, or the ones its
 * provenance records, into buf. NULL (nothing printed) when neither. */
const char *cli_model_alphabet(const rbm_machine *m, char *buf, size_t n);
/* A new machine for data of di: rbm_machine_new, or rbm_machine_new_potts
 * with di->n_states states for a Potts visible layer. */
rbm_status cli_new_machine(rbm_context *ctx, const struct cli_data_info *di, size_t n_hidden,
                           rbm_unit_kind visible, rbm_unit_kind hidden, rbm_machine **m);
/* train's --track-* options with a Potts machine: EXIT_USAGE after the
 * error. */
int cli_potts_refuse_tracking(void);
/* rbm sample: the alphabet of a Potts model (cli_model_alphabet) with one
 * symbol per state into buf; 0, or EXIT_USAGE after the error. */
int cli_sample_alphabet(const rbm_machine *m, char *buf, size_t n);
/* n sequences of states (n x N state indices of m) as FASTA records
 * ">sample1", ... in the symbols of alphabet, replaced atomically
 * (rbm_dataset_save_fasta). 0, or an exit status after the error. */
int cli_write_fasta(rbm_context *ctx, const rbm_machine *m, const double *states, size_t n,
                    const char *alphabet, const char *path);

/* Whether an exact computation on m is cheap enough to do unasked: always
 * for scalar machines (cli_enum_units decides), and for a Potts machine
 * when 2^units x N q N_h is at most CLI_POTTS_EXACT_OPS (each enumerated
 * state costs N q N_h operations). */
#define CLI_POTTS_EXACT_OPS 2e9
int cli_exact_is_cheap(const rbm_machine *m);

struct cli_report_input;
struct cli_spectrum;
/* cli_logo.c: the per-site norms of the leading modes of a Potts machine's
 * decomposition svd (spectrum si), and with in->plots_dir the plots
 * site_norms.png and logos.png (matplotlib). */
void cli_potts_modes(rbm_context *ctx, const struct cli_report_input *in, const rbm_svd *svd,
                     const struct cli_spectrum *si);

#endif
