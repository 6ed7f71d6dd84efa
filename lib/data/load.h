/* librbm — load: what the file readers of lib/data share (private to the
 * folder): the one open prologue, byte order, buffers that grow as data
 * arrives. */
#ifndef RBM_DATA_LOAD_H
#define RBM_DATA_LOAD_H

#include "data/dataset_impl.h"

#include <stdio.h>
#include <sys/stat.h>
#include <zlib.h>

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

/* ---- reading through zlib (plain or gzip, told from the content) ---- */

/* Read up to len bytes. Returns Z_OK with *got < len only at the end of the
 * data (or of a truncated gzip stream), or a zlib error code. */
int rbm__gz_read_some(gzFile gz, void *buf, size_t len, size_t *got);
/* The error of a failed gzread as a status and message "<kind> file <path>:
 * read failed: <reason>" (Z_ERRNO, with saved_errno), "zlib is out of
 * memory" or "corrupt gzip data: <zlib's message>". */
rbm_status rbm__gz_fail(rbm_context *ctx, gzFile gz, int zerr, int saved_errno, const char *kind,
                        const char *path);

/* A text file read line by line through zlib, so a gzip-compressed file
 * reads as its content. Lines end at '\n'; a '\r' before it is dropped. A
 * line longer than max_line bytes gives RBM_ERR_TOO_LARGE "<kind> file
 * <path>: line N is longer than <max_line> bytes (<limit_name>)". */
typedef struct rbm__text_reader {
    rbm_context *ctx;
    gzFile gz;
    const char *kind;       /* "csv", "fasta", ... */
    const char *path;
    const char *limit_name; /* what sets max_line, for the message */
    char *buf;              /* cap bytes: [pos, len) not yet returned */
    size_t cap, len, pos;
    size_t max_line;        /* longest line accepted, without its newline */
    size_t lineno;          /* number of the line last returned (1-based) */
    bool eof;
} rbm__text_reader;

/* rbm__data_open, then a reader over the file. On failure nothing is left
 * open. */
rbm_status rbm__text_open(rbm_context *ctx, const char *path, rbm_dataset **dsout,
                          const char *kind, size_t max_line, const char *limit_name,
                          rbm__text_reader *tr);
/* The next line, NUL-terminated in the reader's buffer (valid until the
 * next call; the caller may modify it in place), its length in *len.
 * RBM_OK, RBM_DONE at the end of the file, or an error. */
rbm_status rbm__text_next_line(rbm__text_reader *tr, char **line, size_t *len);
/* Close the file and free the buffer (a reader that was never opened, or
 * closed already, is left alone). */
void rbm__text_close(rbm__text_reader *tr);

bool rbm__host_little_endian(void);
/* Reverse the bytes of each of n elements of width bytes, in place. */
void rbm__swap_bytes(void *p, size_t n, size_t width);

#endif /* RBM_DATA_LOAD_H */
