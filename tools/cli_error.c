/* cli_error.c — errors of the rbm program: one line "rbm: error: ..." on
 * stderr, the library's detail of a failed call, and the librbm context
 * every command runs in. */
#include "cli.h"

#include <stdarg.h>

/* Print s with control characters replaced by spaces, so that an error
 * stays on one line whatever the detail text or a file name contains. */
static void put_one_line(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
    }
}

void cli_errorf(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("rbm: error: ", stderr);
    put_one_line(stderr, buf);
    fputc('\n', stderr);
}

void cli_lib_note(char *note, size_t n, const rbm_context *ctx, rbm_status st, const char *what)
{
    const char *detail = ctx ? rbm_context_last_error(ctx) : "";
    if (!detail || !*detail)
        detail = rbm_status_message(st);
    snprintf(note, n, "%s: %s (%s)", what, detail, rbm_status_name(st));
}

void cli_lib_errorf(const rbm_context *ctx, rbm_status st, const char *fmt, ...)
{
    char what[1024], line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cli_lib_note(line, sizeof line, ctx, st, what);
    cli_errorf("%s", line);
}

int cli_new_context(rbm_context **ctx)
{
    rbm_status st = rbm_context_new(ctx);
    if (st != RBM_OK) {
        cli_lib_errorf(NULL, st, "cannot create a librbm context");
        return -1;
    }
    return 0;
}

int cli_run_in_context(int (*fn)(rbm_context *ctx, void *arg), void *arg)
{
    rbm_context *ctx = NULL;
    if (cli_new_context(&ctx) != 0)
        return EXIT_RUNTIME;
    int rc = fn(ctx, arg);
    rbm_context_free(ctx);
    return rc;
}
