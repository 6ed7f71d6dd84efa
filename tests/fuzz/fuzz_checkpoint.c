/* librbm fuzz target: training checkpoints (rbm_trainer_load_checkpoint).
 *
 * The seed checkpoints (tests/data/checkpoints/) were made on
 * rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, vk, 11) with vk the
 * visible kind of the run; the three datasets are made once. Each input is
 * loaded as it is and with its CRC-32 fields recomputed (fz_fix_crcs). The
 * file is first read as a model (rbm_machine_load), whose visible kind picks
 * the dataset. Checked:
 * - a failed load returns a documented status, leaves both outputs NULL and
 *   a non-empty detail with the same status in the context;
 * - a checkpoint that loads also loads as a model, with the same machine;
 * - its machine has finite parameters; 3 trainer steps return documented
 *   statuses and leave finite parameters; the trainer then saves, the saved
 *   file loads, and saving that again gives the same bytes.
 * Bounded work: a checkpoint may validly ask for up to 2^31 - 1 Gibbs sweeps
 * or fixed-point iterations per step (RBM_ESTIMATOR_K) and as many chains;
 * the steps are skipped (load, save and reload are still checked) when
 * K x max(chains, batch) x hidden units exceeds FZ_MAX_STEP_WORK, which
 * keeps one input well under 50 ms. */
#include "fuzz_common.h"

static const char *in_path, *fixed_path, *save_path, *resave_path;
static rbm_dataset *datasets[3]; /* by visible kind */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rbm_context *ctx = fz_context();
    in_path = fz_new_path("checkpoint", ".ckpt");
    fixed_path = fz_new_path("checkpoint", "-crc.ckpt");
    save_path = fz_new_path("checkpoint", "-saved.ckpt");
    resave_path = fz_new_path("checkpoint", "-resaved.ckpt");
    static const rbm_unit_kind kinds[3] = {RBM_UNIT_BERNOULLI, RBM_UNIT_ISING,
                                           RBM_UNIT_GAUSSIAN};
    for (int i = 0; i < 3; i++)
        if (rbm_dataset_synthetic(ctx, 100, 0, 0, 12, 0.1, kinds[i], 11,
                                  &datasets[(int)kinds[i]]) != RBM_OK)
            fz_fail("harness: rbm_dataset_synthetic: %s", rbm_context_last_error(ctx));
    return 0;
}

static void same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    uint8_t *x = fz_read_file(a, &na), *y = fz_read_file(b, &nb);
    if (na != nb || memcmp(x, y, na) != 0)
        fz_fail("a loaded checkpoint saves to other bytes (%zu and %zu bytes)", na, nb);
    free(x);
    free(y);
}

/* Gibbs sweeps (or fixed-point iterations) x rows x hidden units per step. */
enum { FZ_MAX_STEP_WORK = 64 * 128 * 32 };

/* Whether 3 steps of t stay within FZ_MAX_STEP_WORK each. */
static int cheap_to_step(rbm_trainer *t, const rbm_machine *m)
{
    int64_t k = 1, chains = 0;
    const rbm_estimator *e = rbm_trainer_estimator(t);
    if (rbm_estimator_get_int(e, RBM_ESTIMATOR_K, &k) != RBM_OK)
        fz_fail("rbm_estimator_get_int(K) of a loaded trainer: %s",
                rbm_context_last_error(fz_context()));
    if (rbm_estimator_get_int(e, RBM_ESTIMATOR_CHAINS, &chains) != RBM_OK)
        fz_fail("rbm_estimator_get_int(CHAINS) of a loaded trainer: %s",
                rbm_context_last_error(fz_context()));
    double rows = (double)rbm_trainer_batch_size(t);
    if ((double)chains > rows)
        rows = (double)chains;
    if (rbm_estimator_kind_of(e) == RBM_ESTIMATOR_EXACT)
        k = 1;
    return (double)k * rows * (double)rbm_machine_n_hidden(m) <= FZ_MAX_STEP_WORK;
}

static void train_and_save(rbm_trainer *t, rbm_machine *m)
{
    rbm_context *ctx = fz_context();
    int steps = cheap_to_step(t, m) ? 3 : 0;
    for (int i = 0; i < steps; i++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE && st != RBM_ERR_NUMERICAL &&
            st != RBM_ERR_NOT_NORMALIZABLE)
            fz_fail("rbm_trainer_step on a loaded checkpoint: %s: %s", rbm_status_name(st),
                    rbm_context_last_error(ctx));
    }
    fz_params p = fz_check_machine("after 3 steps", m);
    fz_params_free(&p);
    if (rbm_trainer_save_checkpoint(t, save_path) != RBM_OK)
        fz_fail("rbm_trainer_save_checkpoint: %s", rbm_context_last_error(ctx));

    rbm_machine *m2 = NULL;
    rbm_trainer *t2 = NULL;
    const rbm_dataset *d = datasets[(int)rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE)];
    rbm_status st = rbm_trainer_load_checkpoint(ctx, save_path, d, &m2, &t2);
    if (st != RBM_OK)
        fz_fail("a saved checkpoint does not load: %s: %s", rbm_status_name(st),
                rbm_context_last_error(ctx));
    fz_same_machine("saved checkpoint", m, m2);
    if (rbm_trainer_step_count(t2) != rbm_trainer_step_count(t) ||
        rbm_trainer_epoch_count(t2) != rbm_trainer_epoch_count(t) ||
        rbm_trainer_batch_index(t2) != rbm_trainer_batch_index(t))
        fz_fail("a saved checkpoint reloads with other counters");
    if (rbm_trainer_save_checkpoint(t2, resave_path) != RBM_OK)
        fz_fail("rbm_trainer_save_checkpoint of a reloaded trainer: %s",
                rbm_context_last_error(ctx));
    same_file(save_path, resave_path);
    rbm_trainer_free(t2);
    rbm_machine_free(m2);
}

static void load_one(const char *path)
{
    static const rbm_status model_errors[] = {RBM_ERR_IO, RBM_ERR_BAD_FORMAT,
                                              RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY,
                                              RBM_ERR_NOT_NORMALIZABLE};
    static const rbm_status ckpt_errors[] = {RBM_ERR_IO,        RBM_ERR_BAD_FORMAT,
                                             RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY,
                                             RBM_ERR_SHAPE,     RBM_ERR_NOT_NORMALIZABLE};
    rbm_context *ctx = fz_context();
    rbm_machine *model = NULL;
    fz_clear();
    rbm_status st = rbm_machine_load(ctx, path, &model);
    fz_check_status("rbm_machine_load", st, model, model_errors,
                    sizeof model_errors / sizeof model_errors[0]);
    rbm_unit_kind vk = model ? rbm_machine_unit_kind(model, RBM_LAYER_VISIBLE)
                             : RBM_UNIT_BERNOULLI;

    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    fz_clear();
    st = rbm_trainer_load_checkpoint(ctx, path, datasets[(int)vk], &m, &t);
    fz_check_status("rbm_trainer_load_checkpoint (machine)", st, m, ckpt_errors,
                    sizeof ckpt_errors / sizeof ckpt_errors[0]);
    fz_check_status("rbm_trainer_load_checkpoint (trainer)", st, t, ckpt_errors,
                    sizeof ckpt_errors / sizeof ckpt_errors[0]);
    if (st == RBM_OK) {
        if (!model)
            fz_fail("a file loads as a checkpoint but not as a model");
        fz_same_machine("checkpoint and model", m, model);
        if (rbm_trainer_machine(t) != m)
            fz_fail("rbm_trainer_machine is not the machine loaded with it");
        train_and_save(t, m);
    }
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_machine_free(model);
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
