/* librbm — save_npy: a dataset written as a NumPy .npy file.
 *
 * Format version 1.0: the magic "\x93NUMPY", version 1 0, the header length
 * as little-endian u16, then an ASCII dict literal padded with spaces and
 * ended by '\n' so that the data starts at a multiple of 64 bytes; then the
 * rows x cols values as little-endian float64 in C order. Written through
 * core/file_out (a temporary in the same directory, fsynced, renamed), so
 * the target is either the old file or the complete new one. */
#include "core/bytes.h"
#include "core/file_out.h"
#include "data/dataset_impl.h"

#include <stdio.h>

enum { NPY_PRELUDE = 10, NPY_ALIGN = 64, NPY_CHUNK = 512 };

/* The prelude and the padded header of a rows x cols '<f8' array. */
static void write_header(rbm__fout *w, size_t rows, size_t cols)
{
    char dict[160];
    int dn = snprintf(dict, sizeof dict,
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                      cols);
    size_t hlen = (NPY_PRELUDE + (size_t)dn + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN -
                  NPY_PRELUDE;
    unsigned char pre[NPY_PRELUDE] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    rbm__put_u16(pre + 8, (uint16_t)hlen);
    rbm__fout_write(w, pre, sizeof pre);
    rbm__fout_write(w, dict, (size_t)dn);
    for (size_t i = (size_t)dn; i + 1 < hlen; i++)
        rbm__fout_write(w, " ", 1);
    rbm__fout_write(w, "\n", 1);
}

rbm_status rbm_dataset_save_npy(const rbm_dataset *ds, const char *path)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = rbm__dataset_ctx(ds);
    if (!path)
        return rbm__fail(ctx, RBM_ERR_NULL, "rbm_dataset_save_npy: path is NULL");
    rbm__fout w;
    rbm_status st = rbm__fout_open(ctx, path, &w);
    if (st != RBM_OK)
        return st;
    size_t rows = rbm__dataset_rows(ds), cols = rbm__dataset_cols(ds);
    write_header(&w, rows, cols);
    unsigned char buf[8 * NPY_CHUNK];
    size_t n = rows * cols, k = 0;
    for (size_t i = 0; i < n; i++) {
        rbm__put_f64(buf + 8 * k, rbm__elem_value(ds->data, ds->dtype, i));
        if (++k == NPY_CHUNK || i + 1 == n) {
            rbm__fout_write(&w, buf, 8 * k);
            k = 0;
        }
    }
    return rbm__fout_commit(ctx, &w, path);
}
