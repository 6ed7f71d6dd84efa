/* librbm — unit kinds: log-partitions, means, variances, sampling. */
#include "core/internal.h"

#include <math.h>
#include <string.h>

static const double LOG_2PI = 1.8378770664093454835606594728112;

double rbm__softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

double rbm__log2cosh(double x)
{
    double ax = fabs(x);
    return ax + log1p(exp(-2.0 * ax));
}

double rbm__sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

float rbm__softplusf(float x)
{
    return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

float rbm__log2coshf(float x)
{
    float ax = fabsf(x);
    return ax + log1pf(expf(-2.0f * ax));
}

float rbm__sigmoidf(float x)
{
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

bool rbm__unit_kind_valid(rbm_unit_kind k)
{
    return k == RBM_UNIT_BERNOULLI || k == RBM_UNIT_ISING || k == RBM_UNIT_GAUSSIAN;
}

void rbm__sigma_range(rbm_precision prec, double *lo, double *hi)
{
    /* sigma = 2^e: sigma^2 = 2^(2e) and 1/sigma^2 = 2^(-2e) are normal when
     * 2e <= 1022 (float64: DBL_MIN = 2^-1022) or 2e <= 126 (float32). */
    int e = prec == RBM_PRECISION_FLOAT32 ? 63 : 511;
    *lo = ldexp(1.0, -e);
    *hi = ldexp(1.0, e);
}

bool rbm__sigma_ok(double sigma, rbm_precision prec)
{
    double lo, hi;
    rbm__sigma_range(prec, &lo, &hi);
    return sigma >= lo && sigma <= hi; /* false for NaN */
}

double rbm__unit_logpart(rbm_unit_kind k, double sigma, double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return rbm__softplus(x);
    case RBM_UNIT_ISING: return rbm__log2cosh(x);
    case RBM_UNIT_GAUSSIAN:
        return 0.5 * sigma * sigma * x * x + 0.5 * (LOG_2PI + 2.0 * log(sigma));
    case RBM_UNIT_POTTS: break; /* q fields: numeric/potts.c */
    }
    return NAN;
}

double rbm__unit_mean(rbm_unit_kind k, double sigma, double x)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return rbm__sigmoid(x);
    case RBM_UNIT_ISING: return tanh(x);
    case RBM_UNIT_GAUSSIAN: return sigma * sigma * x;
    case RBM_UNIT_POTTS: break;
    }
    return NAN;
}

double rbm__unit_var(rbm_unit_kind k, double sigma, double x)
{
    switch (k) {
    /* Products of factors that each keep relative accuracy: 1 - p and
     * 1 - tanh^2 cancel catastrophically once the unit saturates. */
    case RBM_UNIT_BERNOULLI: return rbm__sigmoid(x) * rbm__sigmoid(-x);
    case RBM_UNIT_ISING: {
        double e = exp(-2.0 * fabs(x)); /* sech^2 x = 4 e / (1 + e)^2 */
        return 4.0 * e / ((1.0 + e) * (1.0 + e));
    }
    case RBM_UNIT_GAUSSIAN: return sigma * sigma;
    case RBM_UNIT_POTTS: break;
    }
    return NAN;
}

double rbm__unit_phi(rbm_unit_kind k, double sigma, double x)
{
    return k == RBM_UNIT_GAUSSIAN ? x * x / (2.0 * sigma * sigma) : 0.0;
}

double rbm__unit_sample(rbm_unit_kind k, double sigma, double x, rbm_rng *rng)
{
    switch (k) {
    case RBM_UNIT_BERNOULLI: return rbm__rng_uniform(rng) < rbm__sigmoid(x) ? 1.0 : 0.0;
    case RBM_UNIT_ISING: return rbm__rng_uniform(rng) < rbm__sigmoid(2.0 * x) ? 1.0 : -1.0;
    case RBM_UNIT_GAUSSIAN: return sigma * sigma * x + sigma * rbm__rng_normal(rng);
    case RBM_UNIT_POTTS: break;
    }
    return NAN;
}

const char *rbm_unit_kind_name(rbm_unit_kind kind)
{
    switch (kind) {
    case RBM_UNIT_BERNOULLI: return "bernoulli";
    case RBM_UNIT_ISING: return "ising";
    case RBM_UNIT_GAUSSIAN: return "gaussian";
    case RBM_UNIT_POTTS: return "potts";
    }
    return NULL;
}

rbm_status rbm_unit_kind_parse(const char *name, rbm_unit_kind *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    for (int k = 0; k <= (int)RBM_UNIT_POTTS; k++)
        if (strcmp(name, rbm_unit_kind_name((rbm_unit_kind)k)) == 0) {
            *out = (rbm_unit_kind)k;
            return RBM_OK;
        }
    return RBM_ERR_INVALID_ARGUMENT;
}

/* ctx may be NULL (rbm_unit_eval has none): then only the status. */
static rbm_status check_unit_args(rbm_context *ctx, const char *fn, rbm_unit_kind kind,
                                  double sigma, size_t n, const double *field)
{
    if (kind == RBM_UNIT_POTTS)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: a Potts unit has q states, not one field: evaluate it through a "
                         "Potts machine (rbm_machine_new_potts)", fn);
    if (!rbm__unit_kind_valid(kind))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s: unknown unit kind %d", fn, (int)kind);
    if (kind == RBM_UNIT_GAUSSIAN && !rbm__sigma_ok(sigma, RBM_PRECISION_FLOAT64)) {
        double lo, hi;
        rbm__sigma_range(RBM_PRECISION_FLOAT64, &lo, &hi);
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: Gaussian sigma %g is outside [%.17g, %.17g] (2^-511 to 2^511)", fn,
                         sigma, lo, hi);
    }
    if (n > 0 && !field)
        return rbm__fail(ctx, RBM_ERR_NULL, "%s: field is NULL", fn);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(field[i]))
            return rbm__fail(ctx, RBM_ERR_NOT_FINITE, "%s: field[%zu] = %g is not finite", fn, i,
                             field[i]);
    return RBM_OK;
}

/* An optional output: NULL, or exactly n elements. */
static rbm_status check_optional_out(rbm_context *ctx, const double *p, size_t len, size_t n,
                                     const char *what)
{
    return p ? rbm__check_array(ctx, p, len, n, what) : RBM_OK;
}

rbm_status rbm_unit_eval(rbm_unit_kind kind, double sigma, size_t n, const double *field,
                         double *mean, size_t mean_len, double *variance, size_t variance_len,
                         double *log_partition, size_t log_partition_len)
{
    rbm_status st = check_unit_args(NULL, "rbm_unit_eval", kind, sigma, n, field);
    if (st || (st = check_optional_out(NULL, mean, mean_len, n, "mean")) ||
        (st = check_optional_out(NULL, variance, variance_len, n, "variance")) ||
        (st = check_optional_out(NULL, log_partition, log_partition_len, n, "log_partition")))
        return st;
    for (size_t i = 0; i < n; i++) {
        double x = field[i];
        double mu = rbm__unit_mean(kind, sigma, x);
        double va = rbm__unit_var(kind, sigma, x);
        double lp = rbm__unit_logpart(kind, sigma, x);
        if (mean)
            mean[i] = mu;
        if (variance)
            variance[i] = va;
        if (log_partition)
            log_partition[i] = lp;
    }
    return RBM_OK;
}

rbm_status rbm_unit_sample(rbm_unit_kind kind, double sigma, size_t n, const double *field,
                           rbm_rng *rng, double *out, size_t out_len)
{
    if (!rng)
        return RBM_ERR_NULL;
    rbm_status st = check_unit_args(rng->ctx, "rbm_unit_sample", kind, sigma, n, field);
    if (st)
        return st;
    if (n > 0 && !out)
        return rbm__fail(rng->ctx, RBM_ERR_NULL, "rbm_unit_sample: out is NULL");
    if ((st = rbm__check_array(rng->ctx, out, out_len, n, "rbm_unit_sample: out")))
        return st;
    for (size_t i = 0; i < n; i++)
        out[i] = rbm__unit_sample(kind, sigma, field[i], rng);
    return RBM_OK;
}
