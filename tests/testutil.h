/* Shared helpers for the cmocka tests. */
#ifndef RBM_TESTUTIL_H
#define RBM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <rbm/rbm.h>

/* Fail the test with the context's detail when st != want. */
#define RBM_CHECK(ctx, st, want)                                                              \
    do {                                                                                      \
        rbm_status st_ = (st);                                                                \
        if (st_ != (want))                                                                    \
            fail_msg("%s returned %s (%s), expected %s", #st, rbm_status_name(st_),           \
                     rbm_context_last_error(ctx), rbm_status_name(want));                     \
    } while (0)
#define RBM_OKAY(ctx, st) RBM_CHECK(ctx, st, RBM_OK)

/* |a - b| <= atol + rtol * |b|, with a message naming the quantity. */
void rbm_assert_close(double a, double b, double rtol, double atol, const char *what);

/* A context that fails the test on creation failure. */
rbm_context *rbm_test_context(void);

#endif
