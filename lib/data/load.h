/* librbm — load: what the file readers of lib/data share (private to the
 * folder): the one open prologue, byte order, buffers that grow as data
 * arrives. */
#ifndef RBM_DATA_LOAD_H
#define RBM_DATA_LOAD_H

#include "data/dataset_impl.h"

#include <stdio.h>
#include <sys/stat.h>

/* First allocation when the data size cannot be checked against the file
 * (gzip, pipes): the buffer then doubles as data actually arrives. */
#define RBM__DS_GROW_START ((size_t)1 << 20)

/* The common start of a file loader rbm_dataset_load_<kind>: argument checks
 * (*dsout cleared), then open path for reading, refusing directories. *fd
 * receives the descriptor (the caller closes it), *sb the file's status.
 * `kind` names the format in messages ("idx", "csv", "npy"). */
rbm_status rbm__data_open(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                          const char *kind, int *fd, struct stat *sb);
/* The same, as a stdio stream (the caller fcloses it). */
rbm_status rbm__data_open_stream(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                                 const char *kind, FILE **f, struct stat *sb);

/* A buffer of cap bytes holding the first `used` bytes of old, which is
 * freed; NULL (old kept, *st set as rbm__data_alloc) when out of memory. */
void *rbm__data_regrow(rbm_context *ctx, void *old, size_t used, size_t cap, const char *what,
                       rbm_status *st);

bool rbm__host_little_endian(void);
/* Reverse the bytes of each of n elements of width bytes, in place. */
void rbm__swap_bytes(void *p, size_t n, size_t width);

#endif /* RBM_DATA_LOAD_H */
