/* cli_parallel.c — data-parallel training in 'rbm train': --workers P
 * (virtual workers, one process) and --mpi (one worker per MPI rank,
 * through cli_mpi.c). Both partition every minibatch exactly alike, so the
 * two give bit-identical models and checkpoints (docs/scaling.md). */
#include "cli.h"
#include "cli_parallel.h"
#include "cli_tempering.h"

struct cli_train_parallel cli_train_parallel;

#define DEFAULT_MPI_TIMEOUT 300.0

static size_t mpi_rank, mpi_size;
static int mpi_started;

void cli_usage_train_parallel(FILE *f)
{
    fputs("parallel training (docs/scaling.md):\n"
          "  --workers P           split every minibatch over P workers simulated in this\n"
          "                        process (each its own share of rows and chains, the\n"
          "                        gradients summed in worker order): the same model, bit\n"
          "                        for bit, as --mpi on P ranks; with --resume, continue a\n"
          "                        checkpoint written at the end of an epoch on P workers\n"
          "  --mpi                 one worker per MPI rank (mpirun -np P rbm train ... --mpi;\n"
          "                        only when rbm was built with Open MPI): rank 0 writes the\n"
          "                        model, checkpoints and report and shows the progress;\n"
          "                        every rank reads the whole data file\n"
          "  --mpi-timeout S       abort the job (MPI_Abort) when an exchange between ranks\n"
          "                        waits more than S seconds, e.g. for a rank that died or\n"
          "                        stopped (default 300)\n"
          "\n",
          f);
}

int cli_train_parallel_start(const char *archive, const char *init)
{
    const struct cli_train_parallel *o = &cli_train_parallel;
    const int split = o->mpi || o->workers > 1;
    if (o->mpi && o->workers) {
        cli_errorf("--workers cannot be combined with --mpi: the number of workers is the "
                   "number of MPI ranks (mpirun -np P)");
        return EXIT_USAGE;
    }
    if (o->mpi_timeout > 0 && !o->mpi) {
        cli_errorf("--mpi-timeout needs --mpi");
        return EXIT_USAGE;
    }
    const char *clash = !split                        ? NULL
                        : archive                     ? "--archive"
                        : init                        ? "--init"
                        : cli_train_tempering.replicas ? "--replicas"
                                                       : NULL;
    if (clash) {
        cli_errorf("%s cannot be combined with %s", clash, o->mpi ? "--mpi" : "--workers");
        return EXIT_USAGE;
    }
    if (!o->mpi)
        return 0;
    int rc = cli_mpi_init(o->mpi_timeout > 0 ? o->mpi_timeout : DEFAULT_MPI_TIMEOUT, &mpi_rank,
                          &mpi_size);
    mpi_started = rc == 0;
    return rc;
}

int cli_train_parallel_apply(rbm_context *ctx, rbm_trainer *t)
{
    const struct cli_train_parallel *o = &cli_train_parallel;
    size_t P = o->mpi ? mpi_size : o->workers;
    rbm_status st = RBM_OK;
    if (P && P != rbm_trainer_worker_count(t))
        st = rbm_trainer_set_workers(t, P);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot split the training over %zu workers", P);
        return st == RBM_ERR_STATE || st == RBM_ERR_INVALID_ARGUMENT ||
                       st == RBM_ERR_UNSUPPORTED
                   ? EXIT_USAGE
                   : EXIT_RUNTIME;
    }
    if (o->mpi && (st = rbm_trainer_set_collective(t, cli_mpi_collective(), NULL, mpi_rank))) {
        cli_lib_errorf(ctx, st, "cannot join the MPI ranks");
        return EXIT_RUNTIME;
    }
    return 0;
}

int cli_train_parallel_root(void)
{
    return !mpi_started || mpi_rank == 0;
}

int cli_train_parallel_finish(int rc)
{
    if (!mpi_started)
        return rc;
    if (rc != 0)
        cli_mpi_abort(rc);
    cli_mpi_finalize();
    return rc;
}
