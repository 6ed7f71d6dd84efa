/* cli_data.c — the data of --data (built-in synthetic data, Fashion-MNIST
 * or a file) brought into the support of the visible units, and the saved
 * models that eval, sample, spectrum and analyze read with their data. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Built-in synthetic data (docs/theory.md §7): 11 clusters in 5 dimensions
 * embedded in 100, cluster noise 0.1. */
#define SYNTH_SAMPLES 10000
#define SYNTH_NOISE 0.1

enum cli_data_source cli_data_source_of(const char *data)
{
    if (strcmp(data, "synthetic") == 0)
        return DATA_SYNTHETIC;
    if (strcmp(data, "fashion-mnist") == 0)
        return DATA_FASHION_MNIST;
    return DATA_FILE;
}

/* Replace *ds by its transform; records `name` as the transform done. */
static int apply_transform(rbm_context *ctx, rbm_dataset **ds, rbm_transform tr, double thr,
                           const char *what, struct cli_data_info *info, const char *name)
{
    rbm_dataset *t = NULL;
    rbm_status st = rbm_dataset_transform(*ds, tr, thr, &t);
    snprintf(info->transform, sizeof info->transform, "%s", name);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot transform the data (%s)", what);
        return -1;
    }
    rbm_dataset_free(*ds);
    *ds = t;
    return 0;
}

static int load_synthetic(rbm_context *ctx, const struct cli_data_spec *o, rbm_dataset **ds)
{
    size_t dims = o->synth_dims, intrinsic = 0;
    if (dims > 0 && dims < 5)
        intrinsic = dims;
    rbm_status st = rbm_dataset_synthetic(ctx, SYNTH_SAMPLES, 0, intrinsic, dims, SYNTH_NOISE,
                                          o->visible, cli_derive_seed(o->seed, 0), ds);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot generate the synthetic data");
        return -1;
    }
    return 0;
}

struct cli_data_read_opts cli_data_read = {.max_bytes = RBM_MAX_DATA_BYTES_DEFAULT,
                                           .csv_header = RBM_CSV_HEADER_AUTO};

static int ends_with_csv(const char *s)
{
    size_t n = strlen(s);
    return n >= 4 && s[n - 4] == '.' && (s[n - 3] | 0x20) == 'c' && (s[n - 2] | 0x20) == 's' &&
           (s[n - 1] | 0x20) == 'v';
}

/* Pixels binarised at 127 for bernoulli/ising units, scaled to [0,1] for
 * gaussian ones. */
static int load_fashion_mnist(rbm_context *ctx, const struct cli_data_spec *o, rbm_dataset **ds,
                              struct cli_data_info *info)
{
    rbm_status st = rbm_dataset_load_idx(ctx, FASHION_MNIST_TRAIN, ds);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st,
                       "cannot load fashion-mnist from " FASHION_MNIST_TRAIN
                       " (Debian package dataset-fashion-mnist)");
        return -1;
    }
    switch (o->visible) {
    case RBM_UNIT_BERNOULLI:
        return apply_transform(ctx, ds, RBM_TRANSFORM_BINARIZE, 127, "binarise at 127", info,
                               "binarize>127");
    case RBM_UNIT_ISING:
        return apply_transform(ctx, ds, RBM_TRANSFORM_BINARIZE_ISING, 127,
                               "binarise to +-1 at 127", info, "binarize_ising>127");
    case RBM_UNIT_GAUSSIAN:
        return apply_transform(ctx, ds, RBM_TRANSFORM_SCALE01, 0, "scale to [0,1]", info,
                               "scale01");
    case RBM_UNIT_POTTS: break; /* state indices, used as they are */
    }
    return 0;
}

/* Values inside the support of the units are used as they are; otherwise
 * binary units get the data binarised at the midpoint of its range (127
 * for 8-bit data), gaussian units 8-bit data scaled to [0,1]; [0,1] data
 * for ising units is mapped to 2x-1. */
static int load_file(rbm_context *ctx, const struct cli_data_spec *o, rbm_dataset **ds,
                     struct cli_data_info *info)
{
    if (o->visible == RBM_UNIT_POTTS || (o->visible_auto && cli_alignment_options_given()))
        return cli_load_alignment(ctx, o->data, ds, info);
    if (cli_alignment_options_given()) {
        cli_errorf("the alignment options (--alphabet, --drop-inserts, --strict-symbols, "
                   "--reweight, --no-reweight) apply to alignments read for potts visible "
                   "units, not to %s ones",
                   cli_unit_name(o->visible));
        return EXIT_USAGE;
    }
    rbm_status st = cli_data_is_hdf5(o->data) ? cli_load_hdf5_data(ctx, o->data, ds)
                    : ends_with_csv(o->data)
                        ? rbm_dataset_load_csv_ex(ctx, o->data, cli_data_read.csv_header, ds)
                        : rbm_dataset_load(ctx, o->data, ds);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot load data from '%s'", o->data);
        return EXIT_RUNTIME;
    }
    if (rbm_dataset_n_states(*ds) > 0) { /* an alignment, told by its name */
        if (o->visible_auto)
            return cli_prepare_alignment(ctx, o->data, *ds, info);
        cli_errorf("'%s' is an alignment of %u states: it needs potts visible units "
                   "(--visible potts), not %s ones",
                   o->data, rbm_dataset_n_states(*ds), cli_unit_name(o->visible));
        return EXIT_USAGE;
    }
    double lo = 0, hi = 0;
    st = rbm_dataset_range(*ds, &lo, &hi);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot read the range of '%s'", o->data);
        return EXIT_RUNTIME;
    }
    int is_u8 = rbm_dataset_dtype(*ds) == RBM_DTYPE_UINT8;
    double mid = is_u8 ? 127.0 : lo + 0.5 * (hi - lo);
    char name[64];
    switch (o->visible) {
    case RBM_UNIT_BERNOULLI:
        if (lo >= 0 && hi <= 1)
            return 0;
        snprintf(name, sizeof name, "binarize>%.17g", mid);
        return apply_transform(ctx, ds, RBM_TRANSFORM_BINARIZE, mid, "binarise", info, name);
    case RBM_UNIT_ISING:
        if (!(lo >= -1 && hi <= 1)) {
            snprintf(name, sizeof name, "binarize_ising>%.17g", mid);
            return apply_transform(ctx, ds, RBM_TRANSFORM_BINARIZE_ISING, mid, "binarise to +-1",
                                   info, name);
        }
        if (lo >= 0) /* no negative value: {0,1} or [0,1] data, mapped to +-1 */
            return apply_transform(ctx, ds, RBM_TRANSFORM_TO_ISING, 0, "map to 2x-1", info,
                                   "to_ising");
        return 0;
    case RBM_UNIT_GAUSSIAN:
        if (!is_u8)
            return 0;
        return apply_transform(ctx, ds, RBM_TRANSFORM_SCALE01, 0, "scale to [0,1]", info,
                               "scale01");
    case RBM_UNIT_POTTS: break; /* state indices, used as they are */
    }
    return 0;
}

int cli_load_data(rbm_context *ctx, const struct cli_data_spec *spec, rbm_dataset **out,
                  struct cli_data_info *info)
{
    rbm_dataset *ds = NULL;
    *out = NULL;
    memset(info, 0, sizeof *info);
    snprintf(info->transform, sizeof info->transform, "none");
    rbm_context_set_max_data_bytes(ctx, cli_data_read.max_bytes);
    int r;
    if (spec->visible == RBM_UNIT_POTTS &&
        (spec->source != DATA_FILE || cli_data_is_hdf5(spec->data))) {
        cli_errorf("potts visible units read an alignment (--data FILE.fasta or FILE.sto, "
                   "docs/sequences.md), not %s",
                   spec->source == DATA_FILE ? "an HDF5 dataset" : spec->data);
        return EXIT_USAGE;
    }
    if (spec->source != DATA_FILE && cli_alignment_options_given()) {
        cli_errorf("the alignment options (--alphabet, --drop-inserts, --strict-symbols, "
                   "--reweight, --no-reweight) apply to alignment files, not to %s data",
                   spec->data);
        return EXIT_USAGE;
    }
    if (spec->source == DATA_SYNTHETIC)
        r = load_synthetic(ctx, spec, &ds);
    else if (spec->source == DATA_FASHION_MNIST)
        r = load_fashion_mnist(ctx, spec, &ds, info);
    else
        r = load_file(ctx, spec, &ds, info);
    if (r != 0) {
        rbm_dataset_free(ds);
        return r < 0 ? EXIT_RUNTIME : r;
    }
    info->rows = rbm_dataset_rows(ds);
    info->cols = rbm_dataset_cols(ds);
    if (rbm_dataset_range(ds, &info->min, &info->max) != RBM_OK)
        info->min = info->max = NAN;
    *out = ds;
    return 0;
}

void cli_print_data_line(const char *data, enum cli_data_source source, rbm_unit_kind visible,
                         const struct cli_data_info *di)
{
    printf("data        ");
    if (source == DATA_SYNTHETIC)
        printf("synthetic, %zu x %zu (11 clusters in %zu of %zu dimensions, %s)\n", di->rows,
               di->cols, di->cols < 5 ? di->cols : (size_t)5, di->cols, cli_unit_name(visible));
    else if (source == DATA_FASHION_MNIST)
        printf("fashion-mnist, %zu x %zu", di->rows, di->cols);
    else
        printf("%s, %zu x %zu", data, di->rows, di->cols);
    if (di->n_states > 0)
        cli_print_alignment_info(di);
    else if (source != DATA_SYNTHETIC) {
        if (strcmp(di->transform, "none") == 0)
            printf(" (values used as they are)\n");
        else
            printf(" (transform %s)\n", di->transform);
    }
}

/* ---- saved models ---- */

int cli_load_model(rbm_context *ctx, const char *path, rbm_machine **out)
{
    return cli_load_model_at(ctx, path, cli_model_read.update_set, cli_model_read.update, out);
}

/* The default synthetic data is generated with the model's number of
 * visible units: 'rbm train's default data for a 100-unit model. */
struct cli_data_given cli_data_given;

/* --data / --data-seed from the model's provenance when not given. */
static void data_from_provenance(const rbm_machine *m, const char **data, uint64_t *seed)
{
    static char recorded[4096];
    char buf[64];
    const char *prov = rbm_machine_provenance(m);
    if (!prov)
        return;
    const char *d = cli_data_given.data ? NULL
                                        : cli_provenance_value(prov, "data", recorded,
                                                               sizeof recorded);
    const char *sd = cli_data_given.seed ? NULL
                                         : cli_provenance_value(prov, "data_seed", buf, sizeof buf);
    int changed = 0;
    if (d) {
        changed = strcmp(d, *data) != 0;
        *data = d;
    }
    if (sd && cli_data_source_of(*data) == DATA_SYNTHETIC) {
        char *end;
        unsigned long long v = strtoull(sd, &end, 10);
        if (*end == '\0' && end != sd) {
            changed |= (uint64_t)v != *seed;
            *seed = (uint64_t)v;
        }
    }
    if (changed) {
        fprintf(stderr, "rbm: note: data from the model's provenance: %s", *data);
        if (cli_data_source_of(*data) == DATA_SYNTHETIC)
            fprintf(stderr, ", seed %llu", (unsigned long long)*seed);
        fputs(" (give --data / --data-seed to override)\n", stderr);
    }
}

int cli_load_model_data(rbm_context *ctx, const rbm_machine *m, const char **data,
                        uint64_t *seed, rbm_dataset **out, struct cli_data_info *di)
{
    size_t nv = rbm_machine_n_visible(m), q = rbm_machine_n_states(m, RBM_LAYER_VISIBLE);
    data_from_provenance(m, data, seed);
    cli_alignment_defaults_from(m);
    struct cli_data_spec spec = {*data, cli_data_source_of(*data),
                                 rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), *seed, nv, 0};
    int rc = cli_load_data(ctx, &spec, out, di);
    if (rc != 0)
        return rc;
    if (di->cols != nv || di->n_states != q) {
        if (di->cols != nv)
            cli_errorf("the data '%s' has %zu columns, the model has %zu visible units", *data,
                       di->cols, nv);
        else
            cli_errorf("the alignment '%s' has %u states per site (alphabet \"%s\"), the model "
                       "has %zu (give the model's --alphabet)",
                       *data, di->n_states, di->alphabet, q);
        rbm_dataset_free(*out);
        *out = NULL;
        return EXIT_RUNTIME;
    }
    return 0;
}

void cli_print_model_line(const char *path, const rbm_machine *m)
{
    printf("model       %s (%zu %s visible x %zu %s hidden)\n", path, rbm_machine_n_visible(m),
           cli_unit_name(rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE)), rbm_machine_n_hidden(m),
           cli_unit_name(rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN)));
}

void cli_json_model(FILE *f, int *first, const char *path, const rbm_machine *m)
{
    cli_json_str(f, first, "model", path);
    cli_json_size(f, first, "n_visible", rbm_machine_n_visible(m));
    cli_json_size(f, first, "n_hidden", rbm_machine_n_hidden(m));
    cli_json_str(f, first, "visible", cli_unit_name(rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE)));
    cli_json_str(f, first, "hidden", cli_unit_name(rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN)));
}

int cli_exact_is_cheap(const rbm_machine *m)
{
    if (rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) != RBM_UNIT_POTTS)
        return 1;
    size_t eu = cli_enum_units(m);
    return eu <= 62 && ldexp((double)rbm_machine_weight_rows(m) * (double)rbm_machine_n_hidden(m),
                             (int)eu) <= CLI_POTTS_EXACT_OPS;
}

size_t cli_enum_units(const rbm_machine *m)
{
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m);
    size_t q = rbm_machine_n_states(m, RBM_LAYER_VISIBLE);
    if (q > 1) /* q^N visible states */
        nv = (size_t)ceil((double)nv * log2((double)q) - 1e-9);
    int vd = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE) != RBM_UNIT_GAUSSIAN;
    int hd = rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN) != RBM_UNIT_GAUSSIAN;
    if (vd && hd)
        return nv < nh ? nv : nh;
    if (vd)
        return nv;
    if (hd)
        return nh;
    return 0;
}
