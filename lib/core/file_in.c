/* librbm — file_in: the open prologue of every file reader, and quoting of
 * file content in messages. */
#include "core/file_in.h"

#include "core/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const char *rbm__file_type_name(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFDIR: return "directory";
    case S_IFIFO: return "FIFO";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFSOCK: return "socket";
#ifdef S_IFLNK
    case S_IFLNK: return "symbolic link";
#endif
    }
    return "unknown file type";
}

rbm_status rbm__fin_open(rbm_context *ctx, const char *path, const char *what, int *fd,
                         struct stat *sb)
{
    char why[128];
    *fd = -1;
    int d = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (d < 0) {
        rbm__errno_text(errno, why, sizeof why);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot open %s %s: %s", what, path, why);
    }
    if (fstat(d, sb) != 0) {
        rbm__errno_text(errno, why, sizeof why);
        close(d);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot stat %s %s: %s", what, path, why);
    }
    if (!S_ISREG(sb->st_mode)) {
        close(d);
        return rbm__fail(ctx, RBM_ERR_IO, "%s %s is not a regular file (%s)", what, path,
                         rbm__file_type_name((unsigned)sb->st_mode));
    }
    int fl = fcntl(d, F_GETFL);
    if (fl < 0 || fcntl(d, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        rbm__errno_text(errno, why, sizeof why);
        close(d);
        return rbm__fail(ctx, RBM_ERR_IO, "cannot read %s %s: %s", what, path, why);
    }
    *fd = d;
    return RBM_OK;
}

rbm_status rbm__fin_name_error(rbm_context *ctx, rbm_status st, const char *what,
                               const char *path)
{
    if (st == RBM_OK || !ctx || !path || ctx->last_status != st ||
        strstr(ctx->last_error, path) != NULL)
        return st;
    return rbm__fail(ctx, st, "%s %s: %s", what, path, ctx->last_error);
}

char *rbm__quote_bytes(const void *s, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = s;
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < len; i++) {
        unsigned c = p[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '\\';
        size_t need = plain ? 1 : 4;
        /* keep room for "..." and the NUL when more follows */
        size_t reserve = i + 1 < len ? 4 : 1;
        if (o + need + reserve > cap) {
            if (cap >= 4 && o + 4 <= cap) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}
