/* librbm fuzz target: CSV files (rbm_dataset_load_csv).
 *
 * Checked: a failed load returns a documented status, leaves *out NULL and
 * a non-empty detail with the same status in the context; a loaded dataset
 * is float64 and passes fz_check_dataset (finite values, NPY save + load
 * round trip); loading the same file twice gives the same dataset. */
#include "fuzz_common.h"

static const char *in_path, *npy_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_context();
    in_path = fz_new_path("csv", ".csv");
    npy_path = fz_new_path("csv", ".npy");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rbm_status allowed[] = {RBM_ERR_IO, RBM_ERR_BAD_FORMAT, RBM_ERR_TOO_LARGE,
                                         RBM_ERR_NO_MEMORY, RBM_ERR_NOT_FINITE};
    fz_write_file(in_path, data, size);
    rbm_dataset *ds = NULL;
    fz_clear();
    rbm_status st = rbm_dataset_load_csv(fz_context(), in_path, &ds);
    fz_check_status("rbm_dataset_load_csv", st, ds, allowed, sizeof allowed / sizeof allowed[0]);
    if (st != RBM_OK)
        return 0;
    if (rbm_dataset_dtype(ds) != RBM_DTYPE_FLOAT64)
        fz_fail("rbm_dataset_load_csv: dtype %d, not float64", (int)rbm_dataset_dtype(ds));
    fz_check_dataset("rbm_dataset_load_csv", ds, npy_path);
    rbm_dataset *again = NULL;
    if (rbm_dataset_load_csv(fz_context(), in_path, &again) != RBM_OK)
        fz_fail("rbm_dataset_load_csv: a file that loaded once does not load again");
    fz_same_dataset("CSV loaded twice", ds, again);
    rbm_dataset_free(again);
    rbm_dataset_free(ds);
    return 0;
}
