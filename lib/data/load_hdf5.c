/* librbm — load_hdf5: a dataset from a 2-D numeric dataset of an HDF5 file,
 * and the persistent chains of an `rbms` archive (<rbm/interop.h>). */
#include "core/file_in.h"
#include "core/h5io.h"
#include "data/load.h"

#include <string.h>

#ifdef RBM_HAVE_HDF5

static rbm_dtype dtype_of(rbm__h5_mem m)
{
    return m == RBM__H5_U8 ? RBM_DTYPE_UINT8 : m == RBM__H5_F32 ? RBM_DTYPE_FLOAT32
                                                                : RBM_DTYPE_FLOAT64;
}

/* The dataset `name` of path as a new dataset; what names the file kind. */
static rbm_status load_2d(rbm_context *ctx, const char *path, const char *name, const char *what,
                          rbm_dataset **out)
{
    rbm__h5 h;
    rbm_status st = rbm__h5_open(ctx, path, what, &h);
    if (st)
        return st;
    rbm__h5_array a;
    st = rbm__h5_read_numeric(&h, h.file, name, 2, RBM__H5_AUTO, &a);
    rbm__h5_close(&h);
    if (st)
        return st;
    if (a.rank != 2 || a.dims[0] == 0 || a.dims[1] == 0) {
        rbm__free(ctx, a.data);
        return rbm__fail(ctx, RBM_ERR_SHAPE,
                         "%s %s: dataset '%s' is %u-dimensional (%zu x %zu), expected rows x "
                         "columns with at least one of each",
                         what, path, name, a.rank, a.dims[0], a.dims[1]);
    }
    st = rbm__dataset_wrap(ctx, a.dims[0], a.dims[1], dtype_of(a.mem), a.data, NULL, out);
    return rbm__fin_name_error(ctx, st, what, path);
}

rbm_status rbm_dataset_load_hdf5(rbm_context *ctx, const char *path, const char *dataset,
                                 rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!path || !out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_load_hdf5: %s is NULL",
                         !path ? "path" : "out");
    return load_2d(ctx, path, dataset ? dataset : "samples", "hdf5 file", out);
}

rbm_status rbm_rbms_load_chains(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!path || !out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_rbms_load_chains: %s is NULL",
                         !path ? "path" : "out");
    return load_2d(ctx, path, "parallel_chains", "rbms archive", out);
}

#else

rbm_status rbm_dataset_load_hdf5(rbm_context *ctx, const char *path, const char *dataset,
                                 rbm_dataset **out)
{
    (void)path, (void)dataset;
    if (out)
        *out = NULL;
    return ctx ? rbm__h5_unsupported(ctx, "rbm_dataset_load_hdf5") : RBM_ERR_NULL;
}

rbm_status rbm_rbms_load_chains(rbm_context *ctx, const char *path, rbm_dataset **out)
{
    (void)path;
    if (out)
        *out = NULL;
    return ctx ? rbm__h5_unsupported(ctx, "rbm_rbms_load_chains") : RBM_ERR_NULL;
}
#endif

rbm_status rbm_rbms_load_sampler(rbm_context *ctx, const char *path, rbm_machine *m,
                                 uint64_t seed, rbm_sampler **out)
{
    if (out)
        *out = NULL;
    rbm_status potts_st = rbm__refuse_potts(m, "rbm_rbms_load_sampler");
    if (potts_st)
        return potts_st;
    if (!ctx)
        return RBM_ERR_NULL;
    if (!m || !out)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_rbms_load_sampler: %s is NULL",
                         !m ? "m" : "out");
    rbm_dataset *ch = NULL;
    rbm_status st = rbm_rbms_load_chains(ctx, path, &ch);
    if (st)
        return st;
    size_t rows = rbm__dataset_rows(ch), cols = rbm__dataset_cols(ch);
    size_t nv = rbm_machine_n_visible(m);
    double *v = NULL;
    rbm_sampler *s = NULL;
    if (cols != nv)
        st = rbm__fail(ctx, RBM_ERR_SHAPE,
                       "rbms archive %s: parallel_chains has %zu columns, the machine %zu "
                       "visible units",
                       path, cols, nv);
    if (!st)
        st = rbm__xcalloc(ctx, rows * cols, sizeof *v, &v, "rbm_rbms_load_sampler");
    if (!st)
        st = rbm_dataset_get_rows(ch, 0, rows, v, rows * cols);
    if (!st)
        st = rbm_sampler_new(m, rows, seed, &s);
    if (!st)
        st = rbm_sampler_set_visible(s, v, rows * cols);
    rbm__free(ctx, v);
    rbm_dataset_free(ch);
    if (st) {
        rbm_sampler_free(s);
        return st;
    }
    *out = s;
    return RBM_OK;
}
