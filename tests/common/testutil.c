#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static uint64_t g_rs = 1;

void r_seed_offset(uint64_t s, uint64_t c)
{
    g_rs = s * UINT64_C(0x2545F4914F6CDD1D) + c;
}

void r_set_state(uint64_t s)
{
    g_rs = s;
}

void r_seed(uint64_t s)
{
    r_seed_offset(s, 12345);
}

uint64_t r_u64(void)
{
    uint64_t z = (g_rs += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double r_unif(void)
{
    return ((double)(r_u64() >> 11) + 0.5) / 9007199254740992.0;
}

double r_norm(void)
{
    double u1 = r_unif(), u2 = r_unif();
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void *xzalloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p)
        fail_msg("test: out of memory");
    return p;
}

void tbuf_put(tbuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

rbm_status rbm_test_estimator(rbm_machine *m, rbm_estimator_kind kind, size_t k, size_t chains,
                              size_t max_batch, uint64_t seed, rbm_estimator **out)
{
    rbm_status st = rbm_estimator_new(m, kind, max_batch, seed, out);
    if (st)
        return st;
    if ((k > 0 && (st = rbm_estimator_set_int(*out, RBM_ESTIMATOR_K, (int64_t)k)) != RBM_OK) ||
        (chains > 0 && kind != RBM_ESTIMATOR_CD && kind != RBM_ESTIMATOR_EXACT &&
         (st = rbm_estimator_set_int(*out, RBM_ESTIMATOR_CHAINS, (int64_t)chains)) != RBM_OK)) {
        rbm_estimator_free(*out);
        *out = NULL;
    }
    return st;
}

uint32_t rbm_test_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

unsigned char *rbm_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static char test_tmpdir[128];

int rbm_test_tmpdir_new(const char *name)
{
    snprintf(test_tmpdir, sizeof test_tmpdir, "/tmp/rbm-test-%s-XXXXXX", name);
    return mkdtemp(test_tmpdir) ? 0 : -1;
}

const char *rbm_test_tmpdir(void)
{
    return test_tmpdir;
}

const char *rbm_test_tmp_path(const char *file)
{
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir, file);
    return buf[k];
}

int rbm_test_tmpdir_remove(void)
{
    char cmd[192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir);
    return test_tmpdir[0] && system(cmd) == 0 ? 0 : -1;
}

void rbm_assert_same_machine(const rbm_machine *x, const rbm_machine *y)
{
    /* nv: the rows of W and length of a (N*q for a Potts visible layer) */
    size_t nv = rbm_machine_weight_rows(x), nh = rbm_machine_n_hidden(x);
    assert_int_equal(rbm_machine_n_visible(x), rbm_machine_n_visible(y));
    assert_int_equal(nv, rbm_machine_weight_rows(y));
    assert_int_equal(nh, rbm_machine_n_hidden(y));
    assert_int_equal(rbm_machine_unit_kind(x, RBM_LAYER_VISIBLE),
                     rbm_machine_unit_kind(y, RBM_LAYER_VISIBLE));
    assert_int_equal(rbm_machine_unit_kind(x, RBM_LAYER_HIDDEN),
                     rbm_machine_unit_kind(y, RBM_LAYER_HIDDEN));
    assert_int_equal(rbm_machine_precision(x), rbm_machine_precision(y));
    for (int l = 0; l < 2; l++) {
        rbm_layer layer = (rbm_layer)l;
        if (rbm_machine_unit_kind(x, layer) == RBM_UNIT_GAUSSIAN) {
            double sx = rbm_machine_sigma(x, layer), sy = rbm_machine_sigma(y, layer);
            assert_memory_equal(&sx, &sy, sizeof sx);
        }
    }
    rbm_context *cx = rbm_machine_context(x), *cy = rbm_machine_context(y);
    double *wx = malloc(nv * nh * sizeof(double)), *wy = malloc(nv * nh * sizeof(double));
    double *vx = malloc((nv + nh) * sizeof(double)), *vy = malloc((nv + nh) * sizeof(double));
    assert_true(wx && wy && vx && vy);
    RBM_OKAY(cx, rbm_machine_get_weights(x, wx, nv * nh));
    RBM_OKAY(cy, rbm_machine_get_weights(y, wy, nv * nh));
    assert_memory_equal(wx, wy, nv * nh * sizeof(double));
    RBM_OKAY(cx, rbm_machine_get_visible_bias(x, vx, nv));
    RBM_OKAY(cy, rbm_machine_get_visible_bias(y, vy, nv));
    RBM_OKAY(cx, rbm_machine_get_hidden_bias(x, vx + nv, nh));
    RBM_OKAY(cy, rbm_machine_get_hidden_bias(y, vy + nv, nh));
    assert_memory_equal(vx, vy, (nv + nh) * sizeof(double));
    free(wx);
    free(wy);
    free(vx);
    free(vy);
}

void rbm_test_steps(rbm_context *ctx, rbm_trainer *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE)
            fail_msg("step %zu: %s (%s)", i, rbm_status_name(st), rbm_context_last_error(ctx));
    }
}

rbm_ensemble *rbm_test_ensemble(rbm_context *ctx, double kappa, double sigma, double T,
                                const double *w, size_t k, rbm_component_law law, double p)
{
    rbm_ensemble *e = NULL;
    RBM_OKAY(ctx, rbm_ensemble_new(ctx, &e));
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_KAPPA, kappa));
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_SIGMA, sigma));
    RBM_OKAY(ctx, rbm_ensemble_set_real(e, RBM_ENSEMBLE_TEMPERATURE, T));
    RBM_OKAY(ctx, rbm_ensemble_set_modes(e, w, k));
    RBM_OKAY(ctx, rbm_ensemble_set_law(e, RBM_LAYER_VISIBLE, law, p));
    RBM_OKAY(ctx, rbm_ensemble_set_law(e, RBM_LAYER_HIDDEN, law, p));
    return e;
}

rbm_dataset *rbm_test_prototype_data(rbm_context *ctx, size_t rows, size_t nv, size_t n_proto,
                                     int (*bit)(size_t proto, size_t j), double flip,
                                     uint64_t seed)
{
    double *X = xzalloc(rows * nv * sizeof(double));
    r_seed(seed);
    for (size_t i = 0; i < rows; i++) {
        size_t proto = (size_t)(r_unif() * (double)n_proto);
        for (size_t j = 0; j < nv; j++) {
            int b = bit(proto, j);
            if (r_unif() < flip)
                b ^= 1;
            X[i * nv + j] = b;
        }
    }
    rbm_dataset *d = NULL;
    RBM_OKAY(ctx, rbm_dataset_from_memory(ctx, X, RBM_DTYPE_FLOAT64, rows, nv, RBM_COPY, &d));
    free(X);
    return d;
}
