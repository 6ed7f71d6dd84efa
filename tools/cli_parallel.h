/* cli_parallel.h — 'rbm train --workers P' (virtual data-parallel workers
 * in one process) and 'rbm train --mpi' (one worker per MPI rank), over the
 * library's rbm_trainer_set_workers / rbm_trainer_set_collective
 * (trainer.h, docs/scaling.md). The MPI code is cli_mpi.c, built only with
 * Open MPI (meson option mpi); cli_mpi_none.c stands in otherwise. */
#ifndef RBM_CLI_PARALLEL_H
#define RBM_CLI_PARALLEL_H

#include <rbm/rbm.h>

#include <stdio.h>

struct cli_train_parallel {
    size_t workers;     /* --workers P (0: not given) */
    int mpi;            /* --mpi */
    double mpi_timeout; /* --mpi-timeout S (0: not given: the default) */
};
extern struct cli_train_parallel cli_train_parallel;

#define CLI_TRAIN_PARALLEL_OPTIONS                                                            \
    {"--workers", .type = OPT_SIZE, .dst = &cli_train_parallel.workers, .min = 1},            \
        {"--mpi", .type = OPT_FLAG, .dst = &cli_train_parallel.mpi},                          \
        {"--mpi-timeout", .type = OPT_POSITIVE, .dst = &cli_train_parallel.mpi_timeout}

void cli_usage_train_parallel(FILE *f);

/* After parsing: check the combination with the other options that matter
 * (archive and init: NULL when not given) and start MPI for --mpi. 0, or an
 * exit status after the message. */
int cli_train_parallel_start(const char *archive, const char *init);
/* The workers of the options into t (new or loaded from a checkpoint). 0,
 * or an exit status after the message. */
int cli_train_parallel_apply(rbm_context *ctx, rbm_trainer *t);
/* 1 when this process writes the model, checkpoints and the report (not an
 * MPI rank other than 0). */
int cli_train_parallel_root(void);
/* The end of the command with exit status rc: MPI_Finalize, or, when rc is
 * not 0 under --mpi, MPI_Abort so that no other rank waits for this one. */
int cli_train_parallel_finish(int rc);

/* ---- the MPI layer (cli_mpi.c, or cli_mpi_none.c without MPI) ---- */

/* MPI_Init; this process's rank and the number of ranks. timeout: seconds
 * any exchange may wait before the job is aborted. 0, or EXIT_USAGE after
 * the message when rbm was built without MPI. */
int cli_mpi_init(double timeout, size_t *rank, size_t *size);
/* The collective over MPI_COMM_WORLD (valid after cli_mpi_init). */
const rbm_collective_ops *cli_mpi_collective(void);
void cli_mpi_finalize(void);
void cli_mpi_abort(int rc);

#endif /* RBM_CLI_PARALLEL_H */
