#include "testutil.h"

#include <math.h>
#include <stdio.h>

void rbm_assert_close(double a, double b, double rtol, double atol, const char *what)
{
    double tol = atol + rtol * fabs(b);
    if (!(fabs(a - b) <= tol))
        fail_msg("%s: got %.17g, expected %.17g (|diff| %.3g > tol %.3g)", what, a, b,
                 fabs(a - b), tol);
}

rbm_context *rbm_test_context(void)
{
    rbm_context *ctx = NULL;
    if (rbm_context_new(&ctx) != RBM_OK || !ctx)
        fail_msg("cannot create a context");
    return ctx;
}
