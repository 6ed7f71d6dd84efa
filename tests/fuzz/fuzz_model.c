/* librbm fuzz target: model files (rbm_machine_load).
 *
 * Each input is loaded as it is, and again with its CRC-32 fields
 * recomputed (fz_fix_crcs) so that mutations reach the field checks behind
 * the checksums. Checked: a failed load returns a documented status, leaves
 * *out NULL and a non-empty detail with the same status in the context; a
 * successful load gives a machine with finite parameters and sigmas, whose
 * free energy of one visible row (a pattern in the visible units' support)
 * returns a documented status, and which rbm_machine_save writes and
 * rbm_machine_load reads back bit for bit. */
#include "fuzz_common.h"

static const char *in_path, *fixed_path, *save_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_context();
    in_path = fz_new_path("model", ".rbm");
    fixed_path = fz_new_path("model", "-crc.rbm");
    save_path = fz_new_path("model", "-saved.rbm");
    return 0;
}

/* F(v) of one row v in the support of the visible units: Bernoulli
 * 0,1,0,1,..., Ising -1,+1,-1,..., Gaussian 0.5 everywhere. The call must
 * return a documented status, and a value returned with RBM_OK must be
 * finite whatever the parameters (sigmas are limited to the range of
 * rbm_machine_sigma, and a term that overflows gives RBM_ERR_NUMERICAL). */
static void free_energy_one(const rbm_machine *m, const fz_params *p)
{
    static const rbm_status allowed[] = {RBM_ERR_NOT_FINITE, RBM_ERR_NUMERICAL,
                                         RBM_ERR_NO_MEMORY};
    size_t nv = p->nv;
    double *v = malloc(nv * sizeof(double));
    if (!v)
        fz_fail("harness: out of memory for a row of %zu", nv);
    rbm_unit_kind k = rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE);
    for (size_t i = 0; i < nv; i++)
        v[i] = k == RBM_UNIT_BERNOULLI ? (double)(i % 2)
               : k == RBM_UNIT_ISING   ? (i % 2 ? 1.0 : -1.0)
                                       : 0.5;
    double f = NAN;
    fz_clear();
    rbm_status st = rbm_machine_free_energy(m, 1, v, nv, &f, 1);
    fz_check_error("rbm_machine_free_energy", st, allowed, sizeof allowed / sizeof allowed[0]);
    if (st == RBM_OK && !isfinite(f))
        fz_fail("rbm_machine_free_energy: RBM_OK with a non-finite value");
    free(v);
}

static void load_one(const char *path)
{
    static const rbm_status allowed[] = {RBM_ERR_IO, RBM_ERR_BAD_FORMAT, RBM_ERR_TOO_LARGE,
                                         RBM_ERR_NO_MEMORY, RBM_ERR_NOT_NORMALIZABLE};
    rbm_machine *m = NULL;
    fz_clear();
    rbm_status st = rbm_machine_load(fz_context(), path, &m);
    fz_check_status("rbm_machine_load", st, m, allowed, sizeof allowed / sizeof allowed[0]);
    if (st != RBM_OK)
        return;
    fz_params p = fz_check_machine("rbm_machine_load", m);
    free_energy_one(m, &p);
    fz_params_free(&p);
    if (rbm_machine_save(m, save_path) != RBM_OK)
        fz_fail("rbm_machine_save of a loaded machine failed: %s",
                rbm_context_last_error(fz_context()));
    rbm_machine *back = NULL;
    st = rbm_machine_load(fz_context(), save_path, &back);
    if (st != RBM_OK)
        fz_fail("a saved machine does not load: %s: %s", rbm_status_name(st),
                rbm_context_last_error(fz_context()));
    fz_same_machine("save + load", m, back);
    rbm_machine_free(back);
    rbm_machine_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write_file(in_path, data, size);
    load_one(in_path);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (fz_fix_crcs(copy, size)) {
        fz_write_file(fixed_path, copy, size);
        load_one(fixed_path);
    }
    free(copy);
    return 0;
}
