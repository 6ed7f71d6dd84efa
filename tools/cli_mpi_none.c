/* cli_mpi_none.c — the MPI layer of 'rbm train --mpi' when rbm was built
 * without Open MPI (meson option mpi disabled or libopenmpi-dev missing). */
#include "cli.h"
#include "cli_parallel.h"

int cli_mpi_init(double timeout, size_t *rank, size_t *size)
{
    (void)timeout;
    *rank = 0;
    *size = 1;
    cli_errorf("--mpi: this rbm was built without MPI (install Debian's libopenmpi-dev and "
               "rebuild; meson option -Dmpi=enabled)");
    return EXIT_USAGE;
}

const rbm_collective_ops *cli_mpi_collective(void)
{
    return NULL;
}

void cli_mpi_finalize(void)
{
}

void cli_mpi_abort(int rc)
{
    (void)rc;
}
