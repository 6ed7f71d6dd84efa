/* librbm — context: allocator, logging, error detail. */
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void default_free(void *user, void *p)
{
    (void)user;
    free(p);
}

rbm_status rbm_context_new_with_allocator(rbm_alloc_fn alloc, rbm_free_fn free_fn, void *user,
                                          rbm_context **out)
{
    if (!out)
        return RBM_ERR_NULL;
    *out = NULL;
    if (!alloc || !free_fn)
        return RBM_ERR_NULL;
    rbm_context *ctx = alloc(user, sizeof *ctx);
    if (!ctx)
        return RBM_ERR_NO_MEMORY;
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = alloc;
    ctx->dealloc = free_fn;
    ctx->alloc_user = user;
    ctx->log_level = RBM_LOG_ERROR;
    ctx->max_data_bytes = RBM_MAX_DATA_BYTES_DEFAULT;
    *out = ctx;
    return RBM_OK;
}

rbm_status rbm_context_new(rbm_context **out)
{
    return rbm_context_new_with_allocator(default_alloc, default_free, NULL, out);
}

void rbm_context_free(rbm_context *ctx)
{
    if (ctx)
        ctx->dealloc(ctx->alloc_user, ctx);
}

rbm_status rbm_context_set_log(rbm_context *ctx, rbm_log_fn fn, void *user, rbm_log_level max_level)
{
    if (!ctx)
        return RBM_ERR_NULL;
    if ((int)max_level < RBM_LOG_ERROR || (int)max_level > RBM_LOG_DEBUG)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "log level %d is not in [0, 3]",
                         (int)max_level);
    ctx->log = fn;
    ctx->log_user = user;
    ctx->log_level = max_level;
    return RBM_OK;
}

const char *rbm_context_last_error(const rbm_context *ctx)
{
    return ctx ? ctx->last_error : "";
}

rbm_status rbm_context_last_status(const rbm_context *ctx)
{
    return ctx ? ctx->last_status : RBM_OK;
}

void rbm_context_clear_error(rbm_context *ctx)
{
    if (ctx) {
        ctx->last_status = RBM_OK;
        ctx->last_error[0] = '\0';
    }
}

rbm_status rbm__fail(rbm_context *ctx, rbm_status st, const char *fmt, ...)
{
    if (!ctx)
        return st;
    /* format into a local buffer first: an argument may be the context's own
     * last error (e.g. wrapping a message from a lower-level call) */
    char msg[RBM__ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(ctx->last_error, msg, sizeof msg);
    ctx->last_status = st;
    if (ctx->log && ctx->log_level >= RBM_LOG_ERROR)
        ctx->log(ctx->log_user, RBM_LOG_ERROR, ctx->last_error);
    return st;
}

void rbm__log(rbm_context *ctx, rbm_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->log || level > ctx->log_level)
        return;
    char buf[RBM__ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, buf);
}

void *rbm__alloc(rbm_context *ctx, size_t size)
{
    if (size == 0)
        size = 1;
    return ctx->alloc(ctx->alloc_user, size);
}

void *rbm__calloc(rbm_context *ctx, size_t count, size_t size)
{
    size_t total;
    if (!rbm__mul_ok(count, size, &total))
        return NULL;
    void *p = rbm__alloc(ctx, total);
    if (p)
        memset(p, 0, total ? total : 1);
    return p;
}

void rbm__free(rbm_context *ctx, void *p)
{
    if (p)
        ctx->dealloc(ctx->alloc_user, p);
}

rbm_status rbm__xcalloc(rbm_context *ctx, size_t count, size_t size, void *out_ptr, const char *what)
{
    size_t total;
    *(void **)out_ptr = NULL;
    if (!rbm__mul_ok(count, size, &total) || total > (SIZE_MAX >> 2))
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%s: %zu x %zu bytes overflows", what, count, size);
    void *p = rbm__calloc(ctx, count, size);
    if (!p)
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", what, total);
    *(void **)out_ptr = p;
    return RBM_OK;
}

rbm_status rbm__check_array(rbm_context *ctx, const void *p, size_t len, size_t expected,
                            const char *what)
{
    if (!p && expected > 0)
        return rbm__fail(ctx, RBM_ERR_NULL, "%s is NULL", what);
    if (len != expected)
        return rbm__fail(ctx, RBM_ERR_SHAPE, "%s has %zu elements, expected %zu", what, len,
                         expected);
    return RBM_OK;
}

rbm_status rbm__check_finite(rbm_context *ctx, const double *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return rbm__fail(ctx, RBM_ERR_NOT_FINITE, "%s[%zu] is %s", what, i,
                             isnan(x[i]) ? "NaN" : "infinite");
    return RBM_OK;
}

rbm_status rbm_context_set_threads(rbm_context *ctx, size_t n)
{
    if (!ctx)
        return RBM_ERR_NULL;
    ctx->threads = n;
    return RBM_OK;
}

size_t rbm_context_threads(const rbm_context *ctx)
{
    return ctx ? ctx->threads : 0;
}

size_t rbm_context_effective_threads(const rbm_context *ctx)
{
    return ctx ? rbm__threads(ctx) : 0;
}

rbm_status rbm_context_set_max_data_bytes(rbm_context *ctx, uint64_t max_bytes)
{
    if (!ctx)
        return RBM_ERR_NULL;
    ctx->max_data_bytes = max_bytes;
    return RBM_OK;
}

uint64_t rbm_context_max_data_bytes(const rbm_context *ctx)
{
    return ctx ? ctx->max_data_bytes : 0;
}
