/* cli_mpi.c — the MPI layer of 'rbm train --mpi' (Open MPI): the
 * collective the trainer sums its workers' gradients with, in a fixed
 * order, and the watchdog that aborts the job when a rank stops answering.
 *
 * allreduce_sum (trainer.h): the buffer is cut into P chunks; chunk j of
 * every rank goes to rank j (MPI_Ialltoallv), which sums the P copies in
 * rank order, starting from rank 0's, and the sums go back to every rank
 * (MPI_Iallgatherv). So every rank gets ((b_0 + b_1) + b_2) + ... bit for
 * bit as virtual workers compute it, with the traffic of a ring allreduce.
 * Every exchange is non-blocking and polled: when it has not completed
 * after the timeout, the rank prints why and calls MPI_Abort. */
#include "cli.h"
#include "cli_parallel.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int rank_, size_;
static double timeout_;
static double *scratch;  /* P x the largest chunk */
static size_t scratch_n; /* doubles allocated */
static int *counts;      /* 4 x P: send counts, send offsets, receive counts, offsets */

/* Wait for req, polling; abort the job after the timeout. */
static int wait_for(MPI_Request *req, const char *what)
{
    double t0 = MPI_Wtime();
    const struct timespec pause = {0, 200000}; /* 0.2 ms: leave the cores to the others */
    for (;;) {
        int done = 0;
        if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (done)
            return 0;
        if (MPI_Wtime() - t0 > timeout_) {
            fprintf(stderr,
                    "rbm: rank %d: no answer from the other ranks for %g s (%s): a rank died "
                    "or stopped responding; aborting the job\n",
                    rank_, timeout_, what);
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
            return -1;
        }
        nanosleep(&pause, NULL);
    }
}

/* Chunk j of n: [j n / P, (j+1) n / P). */
static size_t chunk_at(size_t n, int j)
{
    return (size_t)((unsigned long long)j * n / (unsigned long long)size_);
}

static int mpi_allreduce(void *user, double *buf, size_t n)
{
    (void)user;
    const int P = size_;
    const size_t mine = chunk_at(n, rank_ + 1) - chunk_at(n, rank_);
    if (n > INT_MAX || (size_t)P * mine > INT_MAX)
        return -2;
    if ((size_t)P * mine > scratch_n) {
        double *s = realloc(scratch, (size_t)P * mine * sizeof *s);
        if (!s)
            return -3;
        scratch = s;
        scratch_n = (size_t)P * mine;
    }
    int *sc = counts, *sd = counts + P, *rc = counts + 2 * P, *rd = counts + 3 * P;
    for (int j = 0; j < P; j++) {
        sd[j] = (int)chunk_at(n, j);
        sc[j] = (int)(chunk_at(n, j + 1) - chunk_at(n, j));
        rc[j] = (int)mine;
        rd[j] = (int)((size_t)j * mine);
    }
    MPI_Request req;
    if (MPI_Ialltoallv(buf, sc, sd, MPI_DOUBLE, scratch, rc, rd, MPI_DOUBLE, MPI_COMM_WORLD,
                       &req) != MPI_SUCCESS ||
        wait_for(&req, "summing the gradients") != 0)
        return -1;
    double *out = buf + chunk_at(n, rank_);
    memcpy(out, scratch, mine * sizeof *out);
    for (int r = 1; r < P; r++)
        for (size_t i = 0; i < mine; i++)
            out[i] += scratch[(size_t)r * mine + i];
    if (MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DOUBLE, buf, sc, sd, MPI_DOUBLE, MPI_COMM_WORLD,
                        &req) != MPI_SUCCESS ||
        wait_for(&req, "sharing the summed gradients") != 0)
        return -1;
    return 0;
}

static int mpi_gather(void *user, const void *send, size_t n, void *recv)
{
    (void)user;
    if (n > INT_MAX)
        return -2;
    MPI_Request req;
    if (MPI_Igather(send, (int)n, MPI_BYTE, recv, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD, &req) !=
            MPI_SUCCESS ||
        wait_for(&req, "gathering the checkpoint") != 0)
        return -1;
    return 0;
}

static const rbm_collective_ops mpi_ops = {mpi_allreduce, mpi_gather};

int cli_mpi_init(double timeout, size_t *rank, size_t *size)
{
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        cli_errorf("--mpi: MPI_Init failed");
        return EXIT_RUNTIME;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    timeout_ = timeout;
    counts = calloc(4 * (size_t)size_, sizeof *counts);
    if (!counts) {
        cli_errorf("out of memory");
        MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
        return EXIT_RUNTIME;
    }
    *rank = (size_t)rank_;
    *size = (size_t)size_;
    return 0;
}

const rbm_collective_ops *cli_mpi_collective(void)
{
    return &mpi_ops;
}

void cli_mpi_finalize(void)
{
    free(scratch);
    free(counts);
    scratch = NULL;
    counts = NULL;
    MPI_Finalize();
}

void cli_mpi_abort(int rc)
{
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, rc);
}
