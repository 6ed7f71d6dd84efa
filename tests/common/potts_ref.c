/* Reference computations for tests of Potts machines (potts_ref.h). */
#include "potts_ref.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

void random_params(params *p, size_t nh, uint64_t seed, double scale)
{
    r_seed(seed);
    p->nh = nh;
    for (size_t k = 0; k < NA * nh; k++)
        p->W[k] = scale * r_norm();
    for (size_t k = 0; k < NA; k++)
        p->a[k] = scale * r_norm();
    for (size_t k = 0; k < nh; k++)
        p->b[k] = scale * r_norm();
}

rbm_machine *potts_machine(rbm_context *ctx, const params *p)
{
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new_potts(ctx, N, Q, p->nh, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_set_weights(m, p->W, NA * p->nh));
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, p->a, NA));
    RBM_OKAY(ctx, rbm_machine_set_hidden_bias(m, p->b, p->nh));
    return m;
}

void params_of(rbm_context *ctx, const rbm_machine *m, params *p)
{
    p->nh = rbm_machine_n_hidden(m);
    RBM_OKAY(ctx, rbm_machine_get_weights(m, p->W, NA * p->nh));
    RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, p->a, NA));
    RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, p->b, p->nh));
}

void state_of(int code, double *v)
{
    for (int i = 0; i < N; i++, code /= Q)
        v[i] = code % Q;
}

/* -E(v, h) from the definition: one-hot row i*Q + v_i */
long double neg_energy(const params *p, const double *v, unsigned hbits)
{
    long double e = 0;
    for (int i = 0; i < N; i++) {
        int row = i * Q + (int)v[i];
        e += p->a[row];
        for (size_t j = 0; j < p->nh; j++)
            if ((hbits >> j) & 1)
                e += p->W[row * p->nh + j];
    }
    for (size_t j = 0; j < p->nh; j++)
        if ((hbits >> j) & 1)
            e += p->b[j];
    return e;
}


/* Every statistic by enumerating all Q^N x 2^nh pairs. */
void enumerate_model(const params *p, model_stats *s)
{
    long double z = 0, vh[NA * MAXH] = {0}, va[NA] = {0}, ha[MAXH] = {0}, pv[NVS] = {0};
    double v[N];
    for (int c = 0; c < NVS; c++) {
        state_of(c, v);
        for (unsigned t = 0; t < (1u << p->nh); t++) {
            long double w = expl(neg_energy(p, v, t));
            z += w;
            pv[c] += w;
            for (size_t j = 0; j < p->nh; j++)
                if ((t >> j) & 1)
                    ha[j] += w;
            for (int i = 0; i < N; i++) {
                int row = i * Q + (int)v[i];
                va[row] += w;
                for (size_t j = 0; j < p->nh; j++)
                    if ((t >> j) & 1)
                        vh[row * p->nh + j] += w;
            }
        }
    }
    s->log_z = logl(z);
    for (size_t k = 0; k < NA * p->nh; k++)
        s->vh[k] = (double)(vh[k] / z);
    for (size_t k = 0; k < NA; k++)
        s->v[k] = (double)(va[k] / z);
    for (size_t j = 0; j < p->nh; j++)
        s->h[j] = (double)(ha[j] / z);
    for (int c = 0; c < NVS; c++)
        s->pv[c] = (double)(pv[c] / z);
}

void exact_samples(const model_stats *ms, size_t R, uint8_t *out)
{
    for (size_t r = 0; r < R; r++) {
        double u = r_unif(), cum = 0;
        int c = 0;
        for (; c < NVS - 1; c++) {
            cum += ms->pv[c];
            if (u < cum)
                break;
        }
        double v[N];
        state_of(c, v);
        for (int i = 0; i < N; i++)
            out[r * N + i] = (uint8_t)v[i];
    }
}

/* R exact samples of a random planted machine (2 hidden units). */
uint8_t *planted_samples(uint64_t seed, double scale, size_t R, params *planted)
{
    random_params(planted, 2, seed, scale);
    model_stats ms;
    enumerate_model(planted, &ms);
    uint8_t *X = xzalloc(R * N);
    exact_samples(&ms, R, X);
    return X;
}

int code_of(const uint8_t *x)
{
    int code = 0;
    for (int i = N - 1; i >= 0; i--)
        code = code * Q + x[i];
    return code;
}

double mean_ll(const params *p, size_t R, const uint8_t *X)
{
    model_stats ms;
    enumerate_model(p, &ms);
    double acc = 0;
    for (size_t r = 0; r < R; r++)
        acc += log(ms.pv[code_of(X + r * N)]);
    return acc / (double)R;
}

rbm_dataset *categorical(rbm_context *ctx, const uint8_t *X, size_t R)
{
    rbm_dataset *d;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, X, RBM_DTYPE_UINT8, R, N, RBM_COPY, &d));
    RBM_OKAY(ctx, rbm_dataset_set_categories(d, Q, "ACG"));
    return d;
}
