/* cli_seq.c — sequence alignments for Potts machines (docs/sequences.md):
 * the alignment options of --data (alphabet, inserts, unknown symbols,
 * reweighting), the lines they add to the data reports and to a model's
 * provenance, the settings a saved Potts model records, and the machine
 * made for the data. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The usual identity threshold of sequence reweighting. */
#define DEFAULT_THETA 0.8

int cli_alignment_options_given(void)
{
    const struct cli_data_read_opts *o = &cli_data_read;
    return o->alphabet || o->drop_inserts || o->strict_symbols || o->reweight_set ||
           o->no_reweight;
}

static uint32_t alignment_flags(void)
{
    return (cli_data_read.drop_inserts ? RBM_ALIGNMENT_DROP_INSERTS : 0u) |
           (cli_data_read.strict_symbols ? RBM_ALIGNMENT_STRICT_SYMBOLS : 0u);
}

int cli_load_alignment(rbm_context *ctx, const char *path, rbm_dataset **ds,
                       struct cli_data_info *info)
{
    *ds = NULL;
    uint32_t flags = alignment_flags();
    rbm_status st = rbm_dataset_load_alignment(ctx, path, cli_data_read.alphabet, flags, ds);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot read the alignment '%s'", path);
        return st == RBM_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_RUNTIME;
    }
    int rc = cli_prepare_alignment(ctx, path, *ds, info);
    info->flags = flags;
    return rc;
}

/* The weights of the reweighting at theta installed on ds. 0, or an exit
 * status after the error. */
static int reweight(rbm_context *ctx, const char *path, rbm_dataset *ds, double theta)
{
    size_t rows = rbm_dataset_rows(ds);
    double *w = malloc(rows * sizeof *w);
    if (!w) {
        cli_errorf("out of memory for %zu sequence weights", rows);
        return EXIT_RUNTIME;
    }
    rbm_status st = rbm_dataset_sequence_weights(ds, theta, w, rows);
    if (st == RBM_OK)
        st = rbm_dataset_set_weights(ds, w, rows);
    free(w);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot reweight the sequences of '%s' at identity %g", path,
                       theta);
        return EXIT_RUNTIME;
    }
    return 0;
}

int cli_prepare_alignment(rbm_context *ctx, const char *path, rbm_dataset *ds,
                          struct cli_data_info *info)
{
    const struct cli_data_read_opts *o = &cli_data_read;
    const char *alpha = rbm_dataset_alphabet(ds);
    info->n_states = rbm_dataset_n_states(ds);
    snprintf(info->alphabet, sizeof info->alphabet, "%s", alpha ? alpha : "");
    info->flags = 0;
    info->unknown = rbm_alignment_unknown_symbols(ds);
    info->theta = o->no_reweight ? NAN : o->reweight_set ? o->reweight : DEFAULT_THETA;
    info->m_eff = (double)rbm_dataset_rows(ds);
    if (o->no_reweight && o->reweight_set) {
        cli_errorf("--reweight and --no-reweight exclude each other");
        return EXIT_USAGE;
    }
    if (!isnan(info->theta)) {
        double t0 = cli_now_seconds();
        int rc = reweight(ctx, path, ds, info->theta);
        if (rc != 0)
            return rc;
        info->reweight_seconds = cli_now_seconds() - t0;
        info->m_eff = rbm_dataset_weight_sum(ds);
    }
    return 0;
}

/* "protein", "dna", "rna" when the symbols are those of a named alphabet. */
static const char *alphabet_name(const char *symbols)
{
    static const char *const names[] = {"protein", "dna", "rna"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(rbm_alphabet_symbols(names[i]), symbols) == 0)
            return names[i];
    return NULL;
}

void cli_print_alignment_info(const struct cli_data_info *di)
{
    const char *name = alphabet_name(di->alphabet);
    printf(" (alignment, %u states: %s%s\"%s\"", di->n_states, name ? name : "",
           name ? " " : "", di->alphabet);
    if (di->flags & RBM_ALIGNMENT_DROP_INSERTS)
        printf(", inserts dropped");
    printf(")\n            %llu unknown symbol%s read as the gap", (unsigned long long)di->unknown,
           di->unknown == 1 ? "" : "s");
    if (isnan(di->theta))
        printf("; not reweighted\n");
    else
        printf("; reweighted at identity %g: M_eff = %.2f of %zu sequences\n", di->theta,
               di->m_eff, di->rows);
}

void cli_json_alignment(FILE *f, int *first, const struct cli_data_info *di)
{
    if (di->n_states == 0)
        return;
    cli_json_size(f, first, "n_states", di->n_states);
    cli_json_str(f, first, "alphabet", di->alphabet);
    cli_json_bool(f, first, "drop_inserts", (di->flags & RBM_ALIGNMENT_DROP_INSERTS) != 0);
    cli_json_bool(f, first, "strict_symbols", (di->flags & RBM_ALIGNMENT_STRICT_SYMBOLS) != 0);
    cli_json_u64(f, first, "unknown_symbols", di->unknown);
    cli_json_real(f, first, "reweight_theta", di->theta);
    cli_json_real(f, first, "effective_sequences", di->m_eff);
}

void cli_alignment_provenance(char *text, size_t cap, const struct cli_data_info *di)
{
    size_t len = strlen(text);
    if (di->n_states == 0 || len >= cap)
        return;
    char theta[32];
    if (isnan(di->theta))
        snprintf(theta, sizeof theta, "none");
    else
        snprintf(theta, sizeof theta, "%.17g", di->theta);
    snprintf(text + len, cap - len,
             "alphabet=%s\ndrop_inserts=%d\nstrict_symbols=%d\nreweight=%s\n"
             "unknown_symbols=%llu\nm_eff=%.17g\n",
             di->alphabet, (di->flags & RBM_ALIGNMENT_DROP_INSERTS) != 0,
             (di->flags & RBM_ALIGNMENT_STRICT_SYMBOLS) != 0, theta,
             (unsigned long long)di->unknown, di->m_eff);
}

/* A flag recorded as "1". */
static int recorded_flag(const char *prov, const char *key)
{
    char buf[8];
    const char *v = cli_provenance_value(prov, key, buf, sizeof buf);
    return v && strcmp(v, "1") == 0;
}

void cli_alignment_defaults_from(const rbm_machine *m)
{
    static char alphabet[260];
    struct cli_data_read_opts *o = &cli_data_read;
    const char *prov = rbm_machine_provenance(m);
    if (rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) != RBM_UNIT_POTTS || !prov)
        return;
    if (!o->alphabet)
        o->alphabet = cli_provenance_value(prov, "alphabet", alphabet, sizeof alphabet);
    o->drop_inserts |= recorded_flag(prov, "drop_inserts");
    o->strict_symbols |= recorded_flag(prov, "strict_symbols");
    char buf[64];
    const char *t = cli_provenance_value(prov, "reweight", buf, sizeof buf);
    if (o->reweight_set || o->no_reweight || !t)
        return;
    char *end;
    double theta = strtod(t, &end);
    if (strcmp(t, "none") == 0) {
        o->no_reweight = 1;
    } else if (*end == '\0' && theta > 0 && theta <= 1) {
        o->reweight = theta;
        o->reweight_set = 1;
    }
}

const char *cli_model_alphabet(const rbm_machine *m, char *buf, size_t n)
{
    const char *a = cli_data_read.alphabet;
    if (a) {
        const char *named = rbm_alphabet_symbols(a);
        snprintf(buf, n, "%s", named ? named : a);
        return buf;
    }
    const char *prov = rbm_machine_provenance(m);
    return prov ? cli_provenance_value(prov, "alphabet", buf, n) : NULL;
}

rbm_status cli_new_machine(rbm_context *ctx, const struct cli_data_info *di, size_t n_hidden,
                           rbm_unit_kind visible, rbm_unit_kind hidden, rbm_machine **m)
{
    if (visible == RBM_UNIT_POTTS)
        return rbm_machine_new_potts(ctx, di->cols, di->n_states, n_hidden, hidden, m);
    return rbm_machine_new(ctx, di->cols, n_hidden, visible, hidden, m);
}

int cli_potts_refuse_tracking(void)
{
    cli_errorf("--track-spectrum, --track-every and --track-fixed-points do not take a Potts "
               "machine yet (the mode tracker refuses one; docs/potts.md)");
    return EXIT_USAGE;
}

void cli_usage_alignment(FILE *f)
{
    fputs(CLI_ALIGNMENT_HELP, f);
}

int cli_sample_alphabet(const rbm_machine *m, char *buf, size_t n)
{
    size_t q = rbm_machine_n_states(m, RBM_LAYER_VISIBLE);
    const char *a = cli_model_alphabet(m, buf, n);
    if (!a) {
        cli_errorf("the model records no alphabet of its %zu states (it was not trained on an "
                   "alignment by 'rbm train'): give --alphabet protein|dna|rna|SYMBOLS",
                   q);
        return EXIT_USAGE;
    }
    if (strlen(a) != q) {
        cli_errorf("the alphabet \"%s\" has %zu symbols, the model has %zu states per site", a,
                   strlen(a), q);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_write_fasta(rbm_context *ctx, const rbm_machine *m, const double *states, size_t n,
                    const char *alphabet, const char *path)
{
    size_t nv = rbm_machine_n_visible(m), q = rbm_machine_n_states(m, RBM_LAYER_VISIBLE);
    unsigned char *u = malloc(n * nv);
    if (!u) {
        cli_errorf("out of memory for %zu sequences of %zu sites", n, nv);
        return EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n * nv; i++) /* states of the sampler: integers in [0, q) */
        u[i] = (unsigned char)(states[i] >= 0 && states[i] < (double)q ? states[i] : 0);
    rbm_dataset *ds = NULL;
    rbm_status st = rbm_dataset_from_memory(ctx, u, RBM_DTYPE_UINT8, n, nv, RBM_BORROW, &ds);
    if (st == RBM_OK)
        st = rbm_dataset_set_categories(ds, (uint32_t)q, alphabet);
    if (st == RBM_OK)
        st = rbm_dataset_save_fasta(ds, path, "sample");
    if (st != RBM_OK)
        cli_lib_errorf(ctx, st, "cannot write the sequences to '%s'", path);
    rbm_dataset_free(ds);
    free(u);
    return st == RBM_OK ? 0 : EXIT_RUNTIME;
}
