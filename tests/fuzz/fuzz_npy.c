/* librbm fuzz target: NPY files (rbm_dataset_load_npy).
 *
 * Checked: a failed load returns a documented status, leaves *out NULL and
 * a non-empty detail with the same status in the context; a loaded dataset
 * passes fz_check_dataset (finite values, consistent shape, and
 * rbm_dataset_save_npy + rbm_dataset_load_npy give back the same values). */
#include "fuzz_common.h"

static const char *in_path, *npy_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_context();
    in_path = fz_new_path("npy", ".npy");
    npy_path = fz_new_path("npy", "-saved.npy");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rbm_status allowed[] = {RBM_ERR_IO, RBM_ERR_BAD_FORMAT, RBM_ERR_TOO_LARGE,
                                         RBM_ERR_NO_MEMORY, RBM_ERR_NOT_FINITE};
    fz_write_file(in_path, data, size);
    rbm_dataset *ds = NULL;
    fz_clear();
    rbm_status st = rbm_dataset_load_npy(fz_context(), in_path, &ds);
    fz_check_status("rbm_dataset_load_npy", st, ds, allowed, sizeof allowed / sizeof allowed[0]);
    if (st != RBM_OK)
        return 0;
    fz_check_dataset("rbm_dataset_load_npy", ds, npy_path);
    rbm_dataset_free(ds);
    return 0;
}
