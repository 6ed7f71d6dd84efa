/* Writes the model fixtures of tests/data/models with the library it is
 * linked against. Parameters follow closed formulas (see fixture_params in
 * tests/unit/test_io.c), so a reader can check every value. */
#include <rbm/rbm.h>
#include <math.h>
#include <stdio.h>
static void params(size_t nv, size_t nh, double *W, double *a, double *b)
{
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < nh; j++)
            W[i * nh + j] = sin(1.0 + (double)i * 0.7 + (double)j * 1.3) / 4.0;
    for (size_t i = 0; i < nv; i++) a[i] = cos((double)i) / 8.0 - 0.1;
    for (size_t j = 0; j < nh; j++) b[j] = 0.05 * (double)j - 0.1;
}
static int one(rbm_context *ctx, rbm_unit_kind vk, rbm_unit_kind hk, double sv, double sh, int f32, const char *path)
{
    enum { NV = 12, NH = 6 };
    double W[NV * NH], a[NV], b[NH];
    rbm_machine *m;
    if (rbm_machine_new(ctx, NV, NH, vk, hk, &m)) return 1;
    params(NV, NH, W, a, b);
    if (vk == RBM_UNIT_GAUSSIAN) rbm_machine_set_sigma(m, RBM_LAYER_VISIBLE, sv);
    if (hk == RBM_UNIT_GAUSSIAN) rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, sh);
    if (f32) rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32);
    if (rbm_machine_set_weights(m, W, NV * NH) || rbm_machine_set_visible_bias(m, a, NV) ||
        rbm_machine_set_hidden_bias(m, b, NH) || rbm_machine_save(m, path)) {
        fprintf(stderr, "%s: %s\n", path, rbm_context_last_error(ctx));
        return 1;
    }
    rbm_machine_free(m);
    return 0;
}
int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char p[4096];
    rbm_context *ctx;
    rbm_context_new(&ctx);
    printf("librbm %s\n", rbm_version_string());
    int rc = 0;
    snprintf(p, sizeof p, "%s/bernoulli_bernoulli_12x6.rbm", dir);
    rc |= one(ctx, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, 1, 1, 0, p);
    snprintf(p, sizeof p, "%s/ising_bernoulli_12x6_f32.rbm", dir);
    rc |= one(ctx, RBM_UNIT_ISING, RBM_UNIT_BERNOULLI, 1, 1, 1, p);
    snprintf(p, sizeof p, "%s/gaussian_gaussian_12x6.rbm", dir);
    rc |= one(ctx, RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, 0.5, 0.4, 0, p);
    rbm_context_free(ctx);
    return rc;
}
