/* librbm — load: what the file readers of lib/data share (private to the
 * folder): the one open prologue, byte order, buffers that grow as data
 * arrives. */
#ifndef RBM_DATA_LOAD_H
#define RBM_DATA_LOAD_H

#include "data/dataset_impl.h"

#include <stdio.h>
#include <sys/stat.h>

/* The common start of a file loader rbm_dataset_load_<kind>: argument checks
 * (*dsout cleared), then open path for reading (rbm__fin_open: regular
 * files only, never blocking on a FIFO). *fd receives the descriptor (the
 * caller closes it), *sb the file's status. `kind` names the format in
 * messages ("idx", "csv", "npy"). */
rbm_status rbm__data_open(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                          const char *kind, int *fd, struct stat *sb);
/* The same, as a stdio stream (the caller fcloses it). */
rbm_status rbm__data_open_stream(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                                 const char *kind, FILE **f, struct stat *sb);

/* RBM_ERR_TOO_LARGE unless `bytes` of decoded data fit the context's data
 * size limit (rbm_context_set_max_data_bytes) and the address space:
 * "<kind> file <path>: <claim> is N bytes, over the data size limit of L
 * bytes". Called before the data buffer is allocated. */
rbm_status rbm__data_check_limit(rbm_context *ctx, const char *kind, const char *path,
                                 uint64_t bytes, const char *claim);

bool rbm__host_little_endian(void);
/* Reverse the bytes of each of n elements of width bytes, in place. */
void rbm__swap_bytes(void *p, size_t n, size_t width);

#endif /* RBM_DATA_LOAD_H */
