/* librbm fuzz target: the HDF5 readers (rbm_rbms_list, rbm_machine_load_rbms,
 * rbm_rbms_load_chains, rbm_dataset_load_hdf5), structure-aware.
 *
 * libhdf5 1.10 is known to crash on byte-corrupted files, so mutating the
 * bytes of an HDF5 file would fuzz libhdf5, not librbm (docs/reliability.md
 * "HDF5"). Here the fuzzer's bytes are a *description* of a file instead:
 * which objects an `rbms` archive or a data set has (model_type, update_N
 * groups, params/weight_matrix, vbias, hbias, time, parallel_chains,
 * samples, /g/x), and for each its kind (dataset, group, missing), rank
 * (0..3), dimensions (small, zero, or huge with nothing stored), type
 * (integers and floats of every size and byte order, strings, compounds,
 * half floats) and values (NaN/Inf included). The harness writes that file
 * with libhdf5 -- always a well-formed HDF5 file -- and the readers open it:
 * every refusal must be a documented status with a message, every load a
 * valid machine or dataset, and nothing may crash, leak or hit UB.
 *
 * Input layout: byte 0 selects what to build and read; then a stream of
 * bytes consumed by the builders below (missing bytes read as 0). */
#include "fuzz_common.h"

#include <hdf5.h>

static const char *h5_path, *npy_path;

/* The fuzzer's bytes as a stream. */
typedef struct fz_in {
    const uint8_t *p;
    size_t n, off;
} fz_in;

static unsigned take(fz_in *in)
{
    return in->off < in->n ? in->p[in->off++] : 0;
}

static double take_value(fz_in *in)
{
    unsigned c = take(in);
    switch (c % 16) {
    case 0:
        return NAN;
    case 1:
        return INFINITY;
    case 2:
        return 1e300;
    case 3:
        return -3.4e38;
    default:
        return ((double)take(in) - 128.0) / 16.0;
    }
}

/* A file type (owned by the caller: close it with H5Tclose). */
static hid_t take_type(fz_in *in)
{
    unsigned c = take(in) % 16;
    switch (c) {
    case 0: return H5Tcopy(H5T_STD_U8LE);
    case 1: return H5Tcopy(H5T_STD_I8LE);
    case 2: return H5Tcopy(H5T_STD_U16BE);
    case 3: return H5Tcopy(H5T_STD_I16LE);
    case 4: return H5Tcopy(H5T_STD_I32BE);
    case 5: return H5Tcopy(H5T_STD_U32LE);
    case 6: return H5Tcopy(H5T_STD_I64LE);
    case 7: return H5Tcopy(H5T_STD_U64BE);
    case 8: return H5Tcopy(H5T_IEEE_F32LE);
    case 9: return H5Tcopy(H5T_IEEE_F32BE);
    case 10: return H5Tcopy(H5T_IEEE_F64LE);
    case 11: return H5Tcopy(H5T_IEEE_F64BE);
    default: break;
    }
    if (c == 12) { /* a variable-length string */
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        return t;
    }
    if (c == 13) { /* a compound of two doubles */
        hid_t t = H5Tcreate(H5T_COMPOUND, 16);
        H5Tinsert(t, "re", 0, H5T_NATIVE_DOUBLE);
        H5Tinsert(t, "im", 8, H5T_NATIVE_DOUBLE);
        return t;
    }
    if (c == 14) { /* a 2-byte float (IEEE half) */
        hid_t t = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(t, 15, 10, 5, 0, 10);
        H5Tset_ebias(t, 15);
        H5Tset_size(t, 2);
        return t;
    }
    return H5Tcopy(H5T_STD_U8LE); /* an enum-like byte: like h5py's bool base */
}

/* One dataset `name` under loc as the bytes describe it (or a group, or
 * nothing). want_rank/want_dims: the shape a valid file has. */
static void build_array(fz_in *in, hid_t loc, const char *name, int want_rank,
                        const hsize_t *want_dims)
{
    unsigned kind = take(in) % 8;
    if (kind == 0)
        return; /* missing */
    if (kind == 1) {
        hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0)
            H5Gclose(g);
        return;
    }
    int rank = want_rank;
    hsize_t dims[3] = {want_dims[0], want_rank > 1 ? want_dims[1] : 1, 1};
    int huge = 0;
    if (kind == 2)
        rank = (int)(take(in) % 4);
    if (kind == 3)
        for (int i = 0; i < rank; i++)
            dims[i] = take(in) % 9;
    if (kind == 4) {
        huge = 1;
        dims[0] = (hsize_t)1 << (20 + take(in) % 24);
    }
    hid_t t = (kind == 5) ? take_type(in) : H5Tcopy(H5T_IEEE_F32LE);
    hid_t sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if ((huge || (kind == 6 && rank > 0)) && dims[0] > 0) {
        hsize_t c[3] = {1, 1, 1};
        for (int i = 0; i < rank; i++)
            c[i] = dims[i] < 8 ? (dims[i] ? dims[i] : 1) : 8;
        H5Pset_chunk(dcpl, rank, c);
        if (take(in) & 1)
            H5Pset_deflate(dcpl, 1);
    }
    hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : 0;
    if (ds >= 0 && !huge && n > 0 && n <= 4096 && H5Tget_class(t) != H5T_STRING &&
        H5Tget_class(t) != H5T_COMPOUND) {
        double *x = calloc((size_t)n, sizeof *x);
        for (hssize_t i = 0; x && i < n; i++)
            x[i] = take_value(in);
        if (x)
            H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
        free(x);
    }
    if (ds >= 0)
        H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(t);
}

static void build_string(fz_in *in, hid_t loc, const char *name)
{
    static const char *const types[] = {"BBRBM", "IIRBM", "BGRBM", "IGRBM", "PBRBM",
                                        "BEBM",  "",      "BBRBM\xff\xfe"};
    unsigned c = take(in) % 12;
    if (c >= 10)
        return; /* missing */
    if (c == 9) { /* a number instead */
        hsize_t one = 1;
        build_array(in, loc, name, 1, &one);
        return;
    }
    char buf[600];
    const char *s = c < 8 ? types[c] : buf;
    if (c == 8) { /* a long string */
        memset(buf, 'B', sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    int fixed = take(in) & 1;
    H5Tset_size(t, fixed ? strlen(s) + 1 : H5T_VARIABLE);
    H5Tset_cset(t, (take(in) & 1) ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0)
        H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed ? (const void *)s : (const void *)&s);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
}

static void build_update(fz_in *in, hid_t f, hsize_t nv, hsize_t nh)
{
    static const char *const odd[] = {"update_007", "update_-1", "update_99999999999999999999",
                                      "update_", "update_9223372036854775807"};
    char name[64];
    unsigned c = take(in);
    if (c < 200)
        snprintf(name, sizeof name, "update_%u", c * 7 + 1);
    else
        snprintf(name, sizeof name, "%s", odd[c % 5]);
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return;
    hid_t p = (take(in) % 4) ? H5Gcreate2(g, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                             : H5I_INVALID_HID;
    hsize_t dw[2] = {nv, nh}, da[1] = {nv}, db[1] = {nh};
    build_array(in, p >= 0 ? p : g, "weight_matrix", 2, dw);
    build_array(in, p >= 0 ? p : g, "vbias", 1, da);
    build_array(in, (take(in) & 1) && p >= 0 ? p : g, "hbias", 1, db);
    hsize_t one = 1;
    build_array(in, g, "time", 0, &one);
    if (p >= 0)
        H5Gclose(p);
    H5Gclose(g);
}

/* Build the file; returns the update to load (or RBM_RBMS_LAST) for an
 * archive, and sets *dataset for a data set. */
static int build_file(fz_in *in, unsigned mode, uint64_t *update, const char **dataset)
{
    hid_t f = H5Fcreate(h5_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return -1;
    hsize_t nv = 1 + take(in) % 6, nh = 1 + take(in) % 4;
    if (mode == 0) {
        build_string(in, f, "model_type");
        unsigned nu = take(in) % 4;
        for (unsigned i = 0; i < nu; i++)
            build_update(in, f, nv, nh);
        hsize_t dc[2] = {1 + take(in) % 5, nv};
        build_array(in, f, "parallel_chains", 2, dc);
        unsigned u = take(in);
        *update = u >= 250 ? RBM_RBMS_LAST : (uint64_t)u * 7 + 1;
    } else {
        static const char *const paths[] = {NULL, "/g/x", "g/x", "/missing/x", "/g"};
        *dataset = paths[take(in) % 5];
        hsize_t d[2] = {1 + take(in) % 7, nv};
        hid_t g = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        build_array(in, f, "samples", 2, d);
        if (g >= 0) {
            build_array(in, g, "x", 2, d);
            H5Gclose(g);
        }
    }
    H5Fclose(f);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* the harness's own libhdf5 calls must not print either */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    rbm_context_set_max_data_bytes(fz_context(), (uint64_t)64 << 20);
    h5_path = fz_new_path("hdf5", ".h5");
    npy_path = fz_new_path("hdf5", "-saved.npy");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rbm_status allowed[] = {
        RBM_ERR_IO,          RBM_ERR_BAD_FORMAT, RBM_ERR_SHAPE,     RBM_ERR_UNSUPPORTED,
        RBM_ERR_TOO_LARGE,   RBM_ERR_NO_MEMORY,  RBM_ERR_NOT_FINITE, RBM_ERR_INVALID_ARGUMENT};
    const size_t n_allowed = sizeof allowed / sizeof allowed[0];
    fz_in in = {data, size, 0};
    unsigned mode = take(&in) % 2;
    uint64_t update = RBM_RBMS_LAST;
    const char *dataset = NULL;
    if (build_file(&in, mode, &update, &dataset) != 0)
        return 0;
    rbm_context *ctx = fz_context();
    if (mode == 0) {
        uint64_t u[8];
        double t[8];
        size_t count = 0;
        char type[32];
        fz_clear();
        rbm_status st = rbm_rbms_list(ctx, h5_path, u, t, 8, &count, type, sizeof type);
        if (st != RBM_OK)
            fz_check_error("rbm_rbms_list", st, allowed, n_allowed);
        for (size_t i = 1; st == RBM_OK && i < count && i < 8; i++)
            if (u[i] <= u[i - 1])
                fz_fail("rbm_rbms_list: updates not ascending");
        rbm_machine *m = NULL;
        fz_clear();
        st = rbm_machine_load_rbms(ctx, h5_path, update, &m);
        fz_check_status("rbm_machine_load_rbms", st, m, allowed, n_allowed);
        if (st == RBM_OK) {
            fz_params p = fz_check_machine("rbm_machine_load_rbms", m);
            fz_params_free(&p);
            rbm_machine_free(m);
        }
        rbm_dataset *ch = NULL;
        fz_clear();
        st = rbm_rbms_load_chains(ctx, h5_path, &ch);
        fz_check_status("rbm_rbms_load_chains", st, ch, allowed, n_allowed);
        if (st == RBM_OK)
            fz_check_dataset("rbm_rbms_load_chains", ch, npy_path);
        rbm_dataset_free(ch);
    } else {
        rbm_dataset *ds = NULL;
        fz_clear();
        rbm_status st = rbm_dataset_load_hdf5(ctx, h5_path, dataset, &ds);
        fz_check_status("rbm_dataset_load_hdf5", st, ds, allowed, n_allowed);
        if (st == RBM_OK)
            fz_check_dataset("rbm_dataset_load_hdf5", ds, npy_path);
        rbm_dataset_free(ds);
    }
    return 0;
}
