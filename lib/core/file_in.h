/* librbm — file_in: opening a file for reading, the one way every reader of
 * the library does it, and quoting file content in messages.
 *
 * rbm__fin_open opens with O_NONBLOCK | O_CLOEXEC (so that a FIFO without a
 * writer cannot block the caller, and no descriptor leaks into a child
 * process), fstat()s the descriptor, refuses anything but a regular file
 * with RBM_ERR_IO "<what> <path> is not a regular file (<type>)", then
 * clears O_NONBLOCK. */
#ifndef RBM_CORE_FILE_IN_H
#define RBM_CORE_FILE_IN_H

#include "core/internal.h"

#include <sys/stat.h>

/* Open path for reading. *fd receives the descriptor (the caller closes it),
 * *sb the file's status. `what` starts the messages ("idx file", "model
 * file"): RBM_ERR_IO "cannot open <what> <path>: <reason>", or "<what> <path>
 * is not a regular file (directory)". */
rbm_status rbm__fin_open(rbm_context *ctx, const char *path, const char *what, int *fd,
                         struct stat *sb);

/* For a failed read of path: when the context's detail does not name path
 * yet (an error from a lower layer, e.g. "dataset: cannot allocate N bytes"
 * or a machine check), prefix it with "<what> <path>: ". Returns st. */
rbm_status rbm__fin_name_error(rbm_context *ctx, rbm_status st, const char *what,
                               const char *path);

/* A short name of the file type of mode ("directory", "FIFO", ...). */
const char *rbm__file_type_name(unsigned mode);

/* len bytes of file content s as printable text for a message: bytes below
 * 0x20, 0x7f, bytes >= 0x80 and backslash become \xNN; the text is cut
 * (ending in "...") to fit cap bytes including the NUL. Returns out. */
char *rbm__quote_bytes(const void *s, size_t len, char *out, size_t cap);

#endif /* RBM_CORE_FILE_IN_H */
