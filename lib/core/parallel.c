/* librbm — a minimal parallel-for over pthreads. */
#include "core/internal.h"

#include <pthread.h>
#include <unistd.h>

size_t rbm__threads(const rbm_context *ctx)
{
    if (ctx && ctx->threads)
        return ctx->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

typedef struct {
    void (*fn)(void *, size_t, size_t);
    void *arg;
    size_t part, parts;
} job;

static void *run_job(void *p)
{
    job *j = p;
    j->fn(j->arg, j->part, j->parts);
    return NULL;
}

#define MAX_THREADS 64

void rbm__parallel(const rbm_context *ctx, size_t max_parts, void (*fn)(void *, size_t, size_t),
                   void *arg)
{
    size_t parts = rbm__threads(ctx);
    if (parts > max_parts)
        parts = max_parts;
    if (parts > MAX_THREADS)
        parts = MAX_THREADS;
    if (parts <= 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_t tid[MAX_THREADS];
    job jobs[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (size_t p = 1; p < parts; p++) {
        jobs[p] = (job){fn, arg, p, parts};
        started[p] = pthread_create(&tid[p], NULL, run_job, &jobs[p]) == 0;
    }
    fn(arg, 0, parts);
    for (size_t p = 1; p < parts; p++) {
        if (started[p])
            pthread_join(tid[p], NULL);
        else
            fn(arg, p, parts); /* could not start a thread: do its part here */
    }
}
