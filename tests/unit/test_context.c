/* Tests for contexts: custom allocator, error detail, log callback, NULLs.
 *
 * The allocator used here records every live block it handed out, so the
 * test can tell that (a) the library allocates through it, (b) it frees
 * only blocks it got from it, (c) nothing is left after the objects and the
 * context are freed, and (d) an allocation failure at any point is reported
 * as RBM_ERR_NO_MEMORY without leaks. */
#include <unistd.h>

#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- recording allocator ---- */

#define MAX_LIVE 4096

typedef struct {
    void *live[MAX_LIVE];
    size_t n_live;
    long n_alloc, n_free, bad_free, wrong_user;
    long fail_at; /* the fail_at-th allocation (0-based) fails; -1: never */
    long n_fail;
} counter;

static void *count_alloc(void *user, size_t size)
{
    counter *c = user;
    if (!c || c->n_live >= MAX_LIVE) {
        if (c)
            c->wrong_user++;
        return NULL;
    }
    if (c->fail_at >= 0 && c->n_alloc + c->n_fail == c->fail_at) {
        c->n_fail++;
        return NULL;
    }
    void *p = malloc(size ? size : 1);
    if (!p)
        return NULL;
    c->live[c->n_live++] = p;
    c->n_alloc++;
    return p;
}

static void count_free(void *user, void *p)
{
    counter *c = user;
    if (!c) {
        return;
    }
    if (!p)
        return; /* tolerated, like free(NULL) */
    for (size_t i = 0; i < c->n_live; i++) {
        if (c->live[i] == p) {
            c->live[i] = c->live[--c->n_live];
            c->n_free++;
            free(p);
            return;
        }
    }
    c->bad_free++;
}

static void counter_init(counter *c, long fail_at)
{
    memset(c, 0, sizeof *c);
    c->fail_at = fail_at;
}

/* ---- log recorder ---- */

typedef struct {
    int calls;
    rbm_log_level level;
    char last[1024];
} log_rec;

static void record_log(void *user, rbm_log_level level, const char *message)
{
    log_rec *r = user;
    r->calls++;
    r->level = level;
    snprintf(r->last, sizeof r->last, "%s", message ? message : "(null)");
}

/* ---- tests ---- */

static void test_allocator_is_used(void **state)
{
    (void)state;
    counter c;
    counter_init(&c, -1);
    rbm_context *ctx = NULL;
    assert_int_equal(rbm_context_new_with_allocator(count_alloc, count_free, &c, &ctx), RBM_OK);
    assert_non_null(ctx);
    size_t base_live = c.n_live;

    rbm_rng *rng = NULL;
    RBM_OKAY(ctx, rbm_rng_new(ctx, 1, &rng));
    assert_true(c.n_live > base_live);

    rbm_machine *m = NULL, *cl = NULL, *cv = NULL;
    long before = c.n_alloc;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 5, RBM_UNIT_BERNOULLI, RBM_UNIT_ISING, &m));
    assert_true(c.n_alloc > before);
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, 3));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    before = c.n_alloc;
    RBM_OKAY(ctx, rbm_machine_clone(m, &cl));
    assert_true(c.n_alloc > before);
    RBM_OKAY(ctx, rbm_machine_convert(m, RBM_UNIT_ISING, &cv, NULL));

    /* a few computations: any scratch memory must come back */
    double v[2 * 6] = {1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1}, f[2], h[2 * 5];
    RBM_OKAY(ctx, rbm_machine_free_energy(m, 2, v, 12, f, 2));
    RBM_OKAY(ctx, rbm_machine_sample_hidden(m, rng, 2, v, 12, h, 10));
    RBM_OKAY(ctx, rbm_machine_hidden_mean(cl, 2, v, 12, h, 10));

    rbm_machine_free(cv);
    rbm_machine_free(cl);
    rbm_machine_free(m);
    rbm_rng_free(rng);
    /* only what the context itself holds is still live */
    assert_int_equal(c.n_live, base_live);
    rbm_context_free(ctx);
    assert_int_equal(c.n_live, 0);
    assert_int_equal(c.bad_free, 0);
    assert_int_equal(c.wrong_user, 0);
    assert_int_equal(c.n_alloc, c.n_free);
    assert_true(c.n_alloc >= 4);
}

/* Fail the k-th allocation for every k until the whole sequence succeeds:
 * every failure must be RBM_ERR_NO_MEMORY, leave *out NULL and leak nothing. */
static void test_allocation_failures(void **state)
{
    (void)state;
    int completed = 0;
    for (long k = 0; k < 200 && !completed; k++) {
        counter c;
        counter_init(&c, k);
        rbm_context *ctx = (rbm_context *)&c;
        rbm_status st = rbm_context_new_with_allocator(count_alloc, count_free, &c, &ctx);
        if (st != RBM_OK) {
            assert_int_equal(st, RBM_ERR_NO_MEMORY);
            assert_null(ctx);
            assert_int_equal(c.n_live, 0);
            continue;
        }
        rbm_machine *m = NULL, *cl = NULL, *cv = NULL;
        rbm_rng *rng = NULL;
        int ok = 0;
        st = rbm_machine_new(ctx, 4, 3, RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN, &m);
        if (st == RBM_OK) {
            double w[12];
            for (int i = 0; i < 12; i++)
                w[i] = 0.01 * (i - 6);
            st = rbm_machine_set_weights(m, w, 12);
            if (st == RBM_OK)
                st = rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32);
            if (st == RBM_OK) {
                cl = NULL;
                st = rbm_machine_clone(m, &cl);
                if (st != RBM_OK)
                    assert_null(cl);
            }
            if (st == RBM_OK) {
                cv = NULL;
                st = rbm_machine_convert(m, RBM_UNIT_BERNOULLI, &cv, NULL);
                if (st != RBM_OK)
                    assert_null(cv);
            }
            if (st == RBM_OK) {
                rng = NULL;
                st = rbm_rng_new(ctx, 9, &rng);
                if (st != RBM_OK)
                    assert_null(rng);
            }
            if (st == RBM_OK)
                ok = 1;
        } else {
            assert_null(m);
        }
        if (!ok) {
            if (st != RBM_ERR_NO_MEMORY)
                fail_msg("allocation %ld failing: got %s (%s), expected RBM_ERR_NO_MEMORY", k,
                         rbm_status_name(st), rbm_context_last_error(ctx));
            assert_int_equal(rbm_context_last_status(ctx), RBM_ERR_NO_MEMORY);
            assert_true(strlen(rbm_context_last_error(ctx)) > 0);
        }
        rbm_rng_free(rng);
        rbm_machine_free(cv);
        rbm_machine_free(cl);
        rbm_machine_free(m);
        rbm_context_free(ctx);
        if (c.n_live != 0)
            fail_msg("allocation %ld failing: %zu blocks leaked", k, c.n_live);
        assert_int_equal(c.bad_free, 0);
        completed = ok;
    }
    assert_true(completed);
}

static int contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static void test_last_error_detail(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    assert_string_equal(rbm_context_last_error(ctx), "");
    assert_int_equal(rbm_context_last_status(ctx), RBM_OK);

    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 7, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    double buf[64];
    memset(buf, 0, sizeof buf);

    /* weights: 6 x 7 = 42 expected, 40 given */
    assert_int_equal(rbm_machine_set_weights(m, buf, 40), RBM_ERR_SHAPE);
    assert_int_equal(rbm_context_last_status(ctx), RBM_ERR_SHAPE);
    const char *e = rbm_context_last_error(ctx);
    if (!contains(e, "42") || !contains(e, "40"))
        fail_msg("weights shape error detail lacks the sizes 42 and 40: \"%s\"", e);

    /* visible bias: 6 expected, 11 given */
    assert_int_equal(rbm_machine_set_visible_bias(m, buf, 11), RBM_ERR_SHAPE);
    e = rbm_context_last_error(ctx);
    if (!contains(e, "6") || !contains(e, "11"))
        fail_msg("visible bias shape error detail lacks 6 and 11: \"%s\"", e);

    /* hidden bias: 7 expected, 19 given */
    assert_int_equal(rbm_machine_get_hidden_bias(m, buf, 19), RBM_ERR_SHAPE);
    e = rbm_context_last_error(ctx);
    if (!contains(e, "7") || !contains(e, "19"))
        fail_msg("hidden bias shape error detail lacks 7 and 19: \"%s\"", e);

    /* NaN at index 37 of W: the index is in the detail */
    buf[37] = NAN;
    assert_int_equal(rbm_machine_set_weights(m, buf, 42), RBM_ERR_NOT_FINITE);
    assert_int_equal(rbm_context_last_status(ctx), RBM_ERR_NOT_FINITE);
    e = rbm_context_last_error(ctx);
    if (!contains(e, "37"))
        fail_msg("NaN error detail lacks the index 37: \"%s\"", e);
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", e);

    /* successful calls do not clear it */
    buf[37] = 0.0;
    RBM_OKAY(ctx, rbm_machine_get_weights(m, buf, 42));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, buf, 42));
    assert_string_equal(rbm_context_last_error(ctx), saved);
    assert_int_equal(rbm_context_last_status(ctx), RBM_ERR_NOT_FINITE);

    rbm_context_clear_error(ctx);
    assert_string_equal(rbm_context_last_error(ctx), "");
    assert_int_equal(rbm_context_last_status(ctx), RBM_OK);

    /* a second context does not see the first one's errors */
    rbm_context *other = rbm_test_context();
    assert_int_equal(rbm_machine_set_weights(m, buf, 1), RBM_ERR_SHAPE);
    assert_string_equal(rbm_context_last_error(other), "");
    assert_int_equal(rbm_context_last_status(other), RBM_OK);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);

    /* an error on a machine is reported into the machine's context */
    assert_ptr_equal(rbm_machine_context(m), ctx);

    rbm_machine_free(m);
    rbm_context_free(other);
    rbm_context_free(ctx);
}

static void test_log_callback(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    log_rec rec;
    memset(&rec, 0, sizeof rec);
    RBM_OKAY(ctx, rbm_context_set_log(ctx, record_log, &rec, RBM_LOG_ERROR));

    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_ISING, RBM_UNIT_ISING, &m));
    assert_int_equal(rec.calls, 0); /* success logs nothing at level ERROR */

    double w[6] = {0};
    assert_int_equal(rbm_machine_set_weights(m, w, 5), RBM_ERR_SHAPE);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.level, RBM_LOG_ERROR);
    assert_true(strlen(rec.last) > 0);
    assert_null(strchr(rec.last, '\n'));
    assert_string_equal(rec.last, rbm_context_last_error(ctx));

    /* more verbose levels still deliver errors */
    RBM_OKAY(ctx, rbm_context_set_log(ctx, record_log, &rec, RBM_LOG_DEBUG));
    int calls = rec.calls;
    assert_int_equal(rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, -1.0), RBM_ERR_INVALID_ARGUMENT);
    assert_true(rec.calls > calls);
    assert_string_equal(rec.last, rbm_context_last_error(ctx));

    /* removed callback: no more calls */
    RBM_OKAY(ctx, rbm_context_set_log(ctx, NULL, NULL, RBM_LOG_ERROR));
    calls = rec.calls;
    assert_int_equal(rbm_machine_set_weights(m, w, 7), RBM_ERR_SHAPE);
    assert_int_equal(rec.calls, calls);

    /* invalid levels */
    assert_int_equal(rbm_context_set_log(ctx, record_log, &rec, (rbm_log_level)4),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_context_set_log(ctx, record_log, &rec, (rbm_log_level)-1),
                     RBM_ERR_INVALID_ARGUMENT);
    assert_true(strlen(rbm_context_last_error(ctx)) > 0);
    /* the refused call did not install the callback */
    calls = rec.calls;
    assert_int_equal(rbm_machine_set_weights(m, w, 7), RBM_ERR_SHAPE);
    assert_int_equal(rec.calls, calls);

    assert_int_equal(rbm_context_set_log(NULL, record_log, &rec, RBM_LOG_ERROR), RBM_ERR_NULL);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_null_handling(void **state)
{
    (void)state;
    counter c;
    counter_init(&c, -1);
    assert_int_equal(rbm_context_new(NULL), RBM_ERR_NULL);

    rbm_context *ctx = (rbm_context *)&c;
    assert_int_equal(rbm_context_new_with_allocator(NULL, count_free, &c, &ctx), RBM_ERR_NULL);
    assert_null(ctx);
    ctx = (rbm_context *)&c;
    assert_int_equal(rbm_context_new_with_allocator(count_alloc, NULL, &c, &ctx), RBM_ERR_NULL);
    assert_null(ctx);
    assert_int_equal(rbm_context_new_with_allocator(count_alloc, count_free, &c, NULL),
                     RBM_ERR_NULL);
    assert_int_equal(c.n_live, 0);

    /* the allocator cannot even give the context: */
    counter_init(&c, 0);
    ctx = (rbm_context *)&c;
    assert_int_equal(rbm_context_new_with_allocator(count_alloc, count_free, &c, &ctx),
                     RBM_ERR_NO_MEMORY);
    assert_null(ctx);
    assert_int_equal(c.n_live, 0);

    rbm_context_free(NULL);
    assert_non_null(rbm_context_last_error(NULL));
    assert_string_equal(rbm_context_last_error(NULL), "");
    assert_int_equal(rbm_context_last_status(NULL), RBM_OK);
    rbm_context_clear_error(NULL);

    /* the plain constructor works and starts clean */
    ctx = NULL;
    assert_int_equal(rbm_context_new(&ctx), RBM_OK);
    assert_non_null(ctx);
    assert_string_equal(rbm_context_last_error(ctx), "");
    assert_int_equal(rbm_context_last_status(ctx), RBM_OK);
    rbm_context_free(ctx);
}

/* A new context reports the documented setting 0 (automatic); the effective
 * count is the processors online; an explicit setting is reported as given. */
static void test_threads_setting(void **state)
{
    (void)state;
    rbm_context *ctx = NULL;
    assert_int_equal(rbm_context_new(&ctx), RBM_OK);
    assert_int_equal(rbm_context_threads(ctx), 0);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(rbm_context_effective_threads(ctx), online > 0 ? (size_t)online : 1);
    assert_int_equal(rbm_context_set_threads(ctx, 3), RBM_OK);
    assert_int_equal(rbm_context_threads(ctx), 3);
    assert_int_equal(rbm_context_effective_threads(ctx), 3);
    assert_int_equal(rbm_context_set_threads(ctx, 0), RBM_OK);
    assert_int_equal(rbm_context_threads(ctx), 0);
    assert_int_equal(rbm_context_threads(NULL), 0);
    assert_int_equal(rbm_context_effective_threads(NULL), 0);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocator_is_used),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_last_error_detail),
        cmocka_unit_test(test_log_callback),
        cmocka_unit_test(test_null_handling),
        cmocka_unit_test(test_threads_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
