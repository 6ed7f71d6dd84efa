/* ckpt_check — the small checker of test_kill9.sh.
 *   ckpt_check load FILE...     every FILE loads with rbm_machine_load (which
 *                               verifies every section's CRC-32, the
 *                               training-state section of a checkpoint too)
 *   ckpt_check export CKPT OUT  save the machine of checkpoint CKPT to OUT as
 *                               rbm train saves its model (rbm_machine_save)
 * Exit 0 on success, 1 with the library's message on stderr otherwise. */
#include <rbm/rbm.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    rbm_context *ctx = NULL;
    if (argc < 3 || rbm_context_new(&ctx) != RBM_OK) {
        fprintf(stderr, "usage: ckpt_check load FILE... | export CKPT OUT\n");
        return 2;
    }
    int export = strcmp(argv[1], "export") == 0;
    if (export && argc != 4)
        return 2;
    int bad = 0;
    for (int i = 2; i < (export ? 3 : argc); i++) {
        rbm_machine *m = NULL;
        rbm_status st = rbm_machine_load(ctx, argv[i], &m);
        if (st == RBM_OK && export)
            st = rbm_machine_save(m, argv[3]);
        if (st != RBM_OK) {
            fprintf(stderr, "ckpt_check: %s: %s: %s\n", argv[i], rbm_status_name(st),
                    rbm_context_last_error(ctx));
            bad = 1;
        }
        rbm_machine_free(m);
    }
    rbm_context_free(ctx);
    return bad;
}
