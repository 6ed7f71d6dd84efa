/* Tests of <rbm/interop.h>: `rbms` archives (the real archive written by
 * rbms 0.2.1 in tests/data/interop/, hand-made hostile ones written with
 * libhdf5 here), HDF5 data sets, and the writer read back.
 *
 * References: the fixture's README (log Z and mean log-likelihood computed
 * by rbms' own exact enumeration in float64), h5py's reading of the fixture
 * (update numbers and times), and a direct double-precision evaluation of
 * the free energy in this file. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURE RBM_TEST_DATA "/interop/rbms-0.2.1_bbrbm_fmnist5k_h20.h5"
#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

#ifdef RBM_HAVE_HDF5
#include <hdf5.h>
#include <pthread.h>

#define tmp_path rbm_test_tmp_path
#define tmpdir rbm_test_tmpdir()

static int setup_dir(void **state)
{
    (void)state;
    return rbm_test_tmpdir_new("rbms");
}

static int teardown_dir(void **state)
{
    (void)state;
    return rbm_test_tmpdir_remove();
}

/* ---- the real archive ---- */

static void test_list_fixture(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    uint64_t u[8];
    double t[8];
    size_t n = 0;
    char type[32];
    RBM_OKAY(ctx, rbm_rbms_list(ctx, FIXTURE, u, t, 8, &n, type, sizeof type));
    const uint64_t want[6] = {1, 3, 9, 30, 95, 300};
    /* the times as h5py reads them (float64 scalars update_N/time) */
    const double want_t[6] = {0.0, 0.21725964546203613, 0.7584948539733887, 2.581273317337036,
                              8.08673644065857, 25.15449619293213};
    assert_int_equal(n, 6);
    assert_string_equal(type, "BBRBM");
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(u[i], want[i]);
        assert_true(t[i] == want_t[i]);
    }
    /* sizing call */
    n = 0;
    RBM_OKAY(ctx, rbm_rbms_list(ctx, FIXTURE, NULL, NULL, 0, &n, NULL, 0));
    assert_int_equal(n, 6);
    rbm_context_free(ctx);
}

/* Mean over the rows of data of the free energy's softplus terms computed
 * directly; *cut receives the mean of what rbms' cut-off (softplus(x) = x
 * for x >= 10) drops. */
static double direct_mean_neg_free_energy(const rbm_machine *m, const rbm_dataset *d, double *cut)
{
    size_t nv = rbm_machine_n_visible(m), nh = rbm_machine_n_hidden(m), n = rbm_dataset_rows(d);
    double *W = xzalloc(nv * nh * sizeof *W), *a = xzalloc(nv * sizeof *a),
           *b = xzalloc(nh * sizeof *b), *v = xzalloc(nv * sizeof *v);
    rbm_machine_get_weights(m, W, nv * nh);
    rbm_machine_get_visible_bias(m, a, nv);
    rbm_machine_get_hidden_bias(m, b, nh);
    double sum = 0, drop = 0;
    for (size_t r = 0; r < n; r++) {
        rbm_dataset_get_rows(d, r, 1, v, nv);
        double s = 0;
        for (size_t i = 0; i < nv; i++)
            s += a[i] * v[i];
        for (size_t j = 0; j < nh; j++) {
            double x = b[j];
            for (size_t i = 0; i < nv; i++)
                x += v[i] * W[i * nh + j];
            double sp = x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
            s += sp;
            if (x >= 10)
                drop += sp - x;
        }
        sum += s;
    }
    free(W), free(a), free(b), free(v);
    *cut = drop / (double)n;
    return sum / (double)n;
}

static void test_fixture_log_z_and_ll(void **state)
{
    (void)state;
    /* 2^20 hidden states: seconds natively, a quarter of an hour under
     * valgrind (`meson test --setup valgrind` sets RBM_UNDER_VALGRIND) */
    if (access(FMNIST, R_OK) != 0 || getenv("RBM_UNDER_VALGRIND"))
        skip();
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_load_rbms(ctx, FIXTURE, 300, &m));
    assert_int_equal(rbm_machine_n_visible(m), 784);
    assert_int_equal(rbm_machine_n_hidden(m), 20);
    assert_int_equal(rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), RBM_UNIT_BERNOULLI);
    assert_int_equal(rbm_machine_precision(m), RBM_PRECISION_FLOAT32); /* float32 archive */
    double lz;
    RBM_OKAY(ctx, rbm_exact_log_z(m, &lz));
    rbm_assert_close(lz, 417.673071444077, 1e-11, 0, "log Z at update 300 (rbms)");

    rbm_dataset *all = NULL, *first = NULL, *bin = NULL;
    RBM_OKAY(ctx, rbm_dataset_load_idx(ctx, FMNIST, &all));
    RBM_OKAY(ctx, rbm_dataset_slice(all, 0, 5000, &first));
    RBM_OKAY(ctx, rbm_dataset_transform(first, RBM_TRANSFORM_BINARIZE, 127, &bin));
    double ll, lz2;
    RBM_OKAY(ctx, rbm_exact_log_likelihood(m, bin, &ll, &lz2));
    double cut;
    double direct = direct_mean_neg_free_energy(m, bin, &cut) - lz;
    /* librbm agrees with the exact formula evaluated directly */
    rbm_assert_close(ll, direct, 1e-12, 0, "mean LL vs direct evaluation");
    /* rbms' reference, -326.9460532721899, drops log1p(exp(-x)) for every
     * hidden field x >= 10 (rbms/bernoulli_bernoulli/implement.py); that
     * accounts for the whole difference of ~5.7e-8 relative: */
    rbm_assert_close(ll - cut, -326.9460532721899, 1e-12, 0, "LL with rbms' cut-off");
    assert_true(fabs(ll / -326.9460532721899 - 1) > 5e-8); /* the cut-off's size */
    assert_true(cut > 3e-6 && cut < 3e-5);
    rbm_dataset_free(all), rbm_dataset_free(first), rbm_dataset_free(bin);
    rbm_machine_free(m);
    rbm_context_free(ctx);
}

static void test_last_and_missing_update(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *last = NULL, *u300 = NULL, *u1 = NULL, *bad = (rbm_machine *)1;
    RBM_OKAY(ctx, rbm_machine_load_rbms(ctx, FIXTURE, RBM_RBMS_LAST, &last));
    RBM_OKAY(ctx, rbm_machine_load_rbms(ctx, FIXTURE, 300, &u300));
    RBM_OKAY(ctx, rbm_machine_load_rbms(ctx, FIXTURE, 1, &u1));
    static double w1[784 * 20], w2[784 * 20];
    rbm_machine_get_weights(last, w1, 784 * 20);
    rbm_machine_get_weights(u300, w2, 784 * 20);
    assert_memory_equal(w1, w2, sizeof w1);
    rbm_machine_get_weights(u1, w2, 784 * 20);
    assert_memory_not_equal(w1, w2, sizeof w1);
    /* W at update 1 is the init N(0, 1e-4^2) plus one step: small */
    double mx = 0;
    for (size_t i = 0; i < 784 * 20; i++)
        mx = fmax(mx, fabs(w2[i]));
    assert_true(mx < 0.1);
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, FIXTURE, 7, &bad), RBM_ERR_BAD_FORMAT);
    assert_null(bad);
    assert_non_null(strstr(rbm_context_last_error(ctx), "no update 7 (updates: 1, 3, 9, 30, 95, 300)"));
    rbm_machine_free(last), rbm_machine_free(u300), rbm_machine_free(u1);
    rbm_context_free(ctx);
}

static void test_chains_into_sampler(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *ch = NULL;
    RBM_OKAY(ctx, rbm_rbms_load_chains(ctx, FIXTURE, &ch));
    assert_int_equal(rbm_dataset_rows(ch), 500);
    assert_int_equal(rbm_dataset_cols(ch), 784);
    assert_int_equal(rbm_dataset_dtype(ch), RBM_DTYPE_FLOAT32);
    double lo, hi;
    RBM_OKAY(ctx, rbm_dataset_range(ch, &lo, &hi));
    assert_true(lo == 0.0 && hi == 1.0);
    rbm_machine *m = NULL;
    RBM_OKAY(ctx, rbm_machine_load_rbms(ctx, FIXTURE, RBM_RBMS_LAST, &m));
    rbm_sampler *s = NULL;
    RBM_OKAY(ctx, rbm_rbms_load_sampler(ctx, FIXTURE, m, 5, &s));
    assert_int_equal(rbm_sampler_chain_count(s), 500);
    double *v = xzalloc(500 * 784 * sizeof *v), *c = xzalloc(500 * 784 * sizeof *c);
    RBM_OKAY(ctx, rbm_sampler_get_visible(s, v, 500 * 784));
    RBM_OKAY(ctx, rbm_dataset_get_rows(ch, 0, 500, c, 500 * 784));
    assert_memory_equal(v, c, 500 * 784 * sizeof *v);
    /* a machine of another width is refused */
    rbm_machine *small = NULL;
    rbm_sampler *s2 = (rbm_sampler *)1;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 10, 3, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &small));
    RBM_CHECK(ctx, rbm_rbms_load_sampler(ctx, FIXTURE, small, 5, &s2), RBM_ERR_SHAPE);
    assert_null(s2);
    free(v), free(c);
    rbm_sampler_free(s);
    rbm_machine_free(m), rbm_machine_free(small);
    rbm_dataset_free(ch);
    rbm_context_free(ctx);
}

/* ---- hand-made archives ---- */

static hid_t h5_new(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

static void h5_string(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) >= 0);
    H5Dclose(d), H5Sclose(sp), H5Tclose(t);
}

/* A dataset of file type ft with rank dims, data given as doubles (or NULL:
 * nothing written, fill values), chunked + gzip when chunk is non-zero. */
static void h5_array(hid_t loc, const char *name, hid_t ft, int rank, const hsize_t *dims,
                     const double *x, hsize_t chunk)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunk) {
        hsize_t c[4] = {chunk, chunk, chunk, chunk};
        for (int i = 0; i < rank; i++)
            if (c[i] > dims[i])
                c[i] = dims[i] ? dims[i] : 1;
        H5Pset_chunk(dcpl, rank, c);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 6);
    }
    hid_t d = H5Dcreate2(loc, name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    if (x)
        assert_true(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(d), H5Pclose(dcpl), H5Sclose(sp);
}

/* A small archive of type `type`: W (nv x nh), vbias, hbias at update_5. */
static void write_small_archive(const char *path, const char *type, size_t nv, size_t nh,
                                const double *W, const double *a, const double *b, hid_t ft)
{
    hid_t f = h5_new(path);
    h5_string(f, "model_type", type);
    hid_t g = H5Gcreate2(f, "update_5", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t p = H5Gcreate2(g, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dw[2] = {nv, nh}, da[1] = {nv}, db[1] = {nh};
    h5_array(p, "weight_matrix", ft, 2, dw, W, 0);
    h5_array(p, "vbias", ft, 1, da, a, 0);
    h5_array(p, "hbias", ft, 1, db, b, 0);
    H5Gclose(p), H5Gclose(g), H5Fclose(f);
}

static void test_model_types(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const size_t nv = 4, nh = 3;
    double W[12], a[4], b[3];
    for (size_t i = 0; i < 12; i++)
        W[i] = 0.1 * (double)i - 0.5;
    for (size_t i = 0; i < 4; i++)
        a[i] = 0.2 * (double)i - 0.3;
    for (size_t j = 0; j < 3; j++)
        b[j] = 0.05 * (double)j;
    const struct {
        const char *type;
        rbm_unit_kind vk, hk;
    } ok[] = {{"BBRBM", RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI},
              {"IIRBM", RBM_UNIT_ISING, RBM_UNIT_ISING},
              {"BGRBM", RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},
              {"IGRBM", RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN}};
    for (size_t k = 0; k < 4; k++) {
        const char *path = tmp_path("types.h5");
        write_small_archive(path, ok[k].type, nv, nh, W, a, b, H5T_IEEE_F64LE);
        rbm_machine *m = NULL;
        RBM_OKAY(ctx, rbm_machine_load_rbms(ctx, path, 5, &m));
        assert_int_equal(rbm_machine_unit_kind(m, RBM_LAYER_VISIBLE), ok[k].vk);
        assert_int_equal(rbm_machine_unit_kind(m, RBM_LAYER_HIDDEN), ok[k].hk);
        assert_int_equal(rbm_machine_precision(m), RBM_PRECISION_FLOAT64);
        double w2[12];
        RBM_OKAY(ctx, rbm_machine_get_weights(m, w2, 12));
        assert_memory_equal(W, w2, sizeof W);
        if (ok[k].hk == RBM_UNIT_GAUSSIAN) {
            rbm_assert_close(rbm_machine_sigma(m, RBM_LAYER_HIDDEN), 0.5, 1e-15, 0, "sigma_h");
            /* the free energy of rbms' BGRBM/IGRBM: -a.v - |b + W^T v|^2 / (2 N_v)
             * + (N_h / 2) (log N_v - log 2 pi) */
            double v[4] = {1, ok[k].vk == RBM_UNIT_ISING ? -1 : 0, 1, 1}, fe;
            RBM_OKAY(ctx, rbm_machine_free_energy(m, 1, v, 4, &fe, 1));
            double want = 0, q = 0;
            for (size_t i = 0; i < 4; i++)
                want -= a[i] * v[i];
            for (size_t j = 0; j < 3; j++) {
                double t = b[j];
                for (size_t i = 0; i < 4; i++)
                    t += v[i] * W[i * 3 + j];
                q += t * t;
            }
            want += -q / 8 + 1.5 * (log(4.0) - log(2 * 3.14159265358979323846));
            rbm_assert_close(fe, want, 1e-13, 1e-14, "Gaussian-hidden free energy");
        }
        rbm_machine_free(m);
    }
    /* Potts and others: refused, naming the type */
    const char *path = tmp_path("potts.h5");
    write_small_archive(path, "PBRBM", nv, nh, W, a, b, H5T_IEEE_F32LE);
    rbm_machine *m = NULL;
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 5, &m), RBM_ERR_UNSUPPORTED);
    assert_non_null(strstr(rbm_context_last_error(ctx), "PBRBM"));
    assert_non_null(strstr(rbm_context_last_error(ctx), "Potts"));
    write_small_archive(path, "BEBM", nv, nh, W, a, b, H5T_IEEE_F32LE);
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 5, &m), RBM_ERR_UNSUPPORTED);
    assert_non_null(strstr(rbm_context_last_error(ctx), "'BEBM'"));
    assert_null(m);
    rbm_context_free(ctx);
}

static void test_hostile_archives(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    double W[12] = {0}, a[4] = {0}, b[3] = {0};
    const char *path = tmp_path("hostile.h5");
    /* vbias of the wrong length */
    write_small_archive(path, "BBRBM", 4, 3, W, a, b, H5T_IEEE_F64LE);
    {
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        H5Ldelete(f, "update_5/params/vbias", H5P_DEFAULT);
        hsize_t d[1] = {5};
        double x[5] = {0};
        hid_t p = H5Gopen2(f, "update_5/params", H5P_DEFAULT);
        h5_array(p, "vbias", H5T_IEEE_F64LE, 1, d, x, 0);
        H5Gclose(p), H5Fclose(f);
    }
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 5, &m), RBM_ERR_SHAPE);
    /* W of rank 3 */
    {
        hid_t f = h5_new(path);
        h5_string(f, "model_type", "BBRBM");
        hid_t g = H5Gcreate2(f, "update_2", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t d[3] = {2, 2, 2};
        double x[8] = {0};
        h5_array(g, "weight_matrix", H5T_IEEE_F64LE, 3, d, x, 0);
        H5Gclose(g), H5Fclose(f);
    }
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 2, &m), RBM_ERR_SHAPE);
    /* huge W declared (chunked, nothing stored): refused before allocation */
    {
        hid_t f = h5_new(path);
        h5_string(f, "model_type", "BBRBM");
        hid_t g = H5Gcreate2(f, "update_2", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t d[2] = {(hsize_t)1 << 31, (hsize_t)1 << 31};
        h5_array(g, "weight_matrix", H5T_IEEE_F32LE, 2, d, NULL, 64);
        H5Gclose(g), H5Fclose(f);
    }
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 2, &m), RBM_ERR_TOO_LARGE);
    /* NaN in W */
    double Wn[12] = {0};
    Wn[7] = NAN;
    write_small_archive(path, "BBRBM", 4, 3, Wn, a, b, H5T_IEEE_F32LE);
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 5, &m), RBM_ERR_NOT_FINITE);
    assert_non_null(strstr(rbm_context_last_error(ctx), "element 7"));
    /* model_type of the wrong type, missing, no checkpoints */
    {
        hid_t f = h5_new(path);
        hsize_t d[1] = {1};
        double x = 1;
        h5_array(f, "model_type", H5T_IEEE_F64LE, 1, d, &x, 0);
        H5Fclose(f);
    }
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 5, &m), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "not a string"));
    {
        hid_t f = h5_new(path);
        h5_string(f, "model_type", "BBRBM");
        hid_t g = H5Gcreate2(f, "update_07", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Gclose(g), H5Fclose(f);
    }
    size_t n = 9;
    RBM_CHECK(ctx, rbm_rbms_list(ctx, path, NULL, NULL, 0, &n, NULL, 0), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "no checkpoint"));
    assert_int_equal(n, 9);
    /* not HDF5, a directory, missing */
    FILE *f = fopen(path, "wb");
    fputs("BBRBM but not an HDF5 file\n", f);
    fclose(f);
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, path, 5, &m), RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "not an HDF5 file"));
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, tmpdir, 5, &m), RBM_ERR_IO);
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, tmp_path("none.h5"), 5, &m), RBM_ERR_IO);
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, NULL, 5, &m), RBM_ERR_NULL);
    assert_null(m);
    rbm_context_free(ctx);
}

/* ---- HDF5 data sets ---- */

static void test_dataset_hdf5(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    const char *path = tmp_path("data.h5");
    enum { R = 37, C = 11 };
    static double x[R * C];
    for (size_t i = 0; i < R * C; i++)
        x[i] = (double)((i * 7919) % 251);
    hid_t f = h5_new(path);
    hsize_t d[2] = {R, C};
    h5_array(f, "samples", H5T_STD_U8LE, 2, d, x, 8); /* chunked + gzip + shuffle */
    hid_t g = H5Gcreate2(f, "grp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5_array(g, "i16", H5T_STD_I16BE, 2, d, x, 0);
    h5_array(g, "f32", H5T_IEEE_F32LE, 2, d, x, 5);
    h5_array(g, "f64", H5T_IEEE_F64BE, 2, d, x, 0);
    h5_array(g, "i64", H5T_STD_I64LE, 2, d, x, 16);
    hsize_t d1[1] = {R}, d3[3] = {2, 2, 2}, big[2] = {(hsize_t)1 << 40, 3}, zero[2] = {0, 3};
    h5_array(g, "rank1", H5T_IEEE_F64LE, 1, d1, x, 0);
    h5_array(g, "rank3", H5T_IEEE_F64LE, 3, d3, x, 0);
    h5_array(g, "big", H5T_STD_U8LE, 2, big, NULL, 1024);
    h5_array(g, "empty", H5T_STD_U8LE, 2, zero, NULL, 0);
    h5_string(g, "text", "hello");
    H5Gclose(g);
    H5Fclose(f);

    const char *names[] = {NULL, "/grp/i16", "grp/f32", "/grp/f64", "/grp/i64"};
    const rbm_dtype want_dt[] = {RBM_DTYPE_UINT8, RBM_DTYPE_FLOAT64, RBM_DTYPE_FLOAT32,
                                 RBM_DTYPE_FLOAT64, RBM_DTYPE_FLOAT64};
    static double got[R * C];
    for (size_t k = 0; k < 5; k++) {
        rbm_dataset *ds = NULL;
        RBM_OKAY(ctx, rbm_dataset_load_hdf5(ctx, path, names[k], &ds));
        assert_int_equal(rbm_dataset_rows(ds), R);
        assert_int_equal(rbm_dataset_cols(ds), C);
        assert_int_equal(rbm_dataset_dtype(ds), want_dt[k]);
        RBM_OKAY(ctx, rbm_dataset_get_rows(ds, 0, R, got, R * C));
        assert_memory_equal(got, x, sizeof x);
        rbm_dataset_free(ds);
    }
    rbm_dataset *ds = (rbm_dataset *)1;
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, "/grp/rank1", &ds), RBM_ERR_SHAPE);
    assert_null(ds);
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, "/grp/rank3", &ds), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, "/grp/big", &ds), RBM_ERR_TOO_LARGE);
    assert_non_null(strstr(rbm_context_last_error(ctx), "data size limit"));
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, "/grp/empty", &ds), RBM_ERR_SHAPE);
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, "/grp/text", &ds), RBM_ERR_UNSUPPORTED);
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, "/grp", &ds), RBM_ERR_BAD_FORMAT);
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, "/grp/nothing/deeper", &ds),
              RBM_ERR_BAD_FORMAT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "no dataset '/grp/nothing/deeper'"));
    /* the context's size limit applies to what the data decodes to */
    RBM_OKAY(ctx, rbm_context_set_max_data_bytes(ctx, R * C - 1));
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, path, NULL, &ds), RBM_ERR_TOO_LARGE);
    rbm_context_free(ctx);
}

/* ---- writer ---- */

static void test_writer_roundtrip(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 4, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m[k]));
        RBM_OKAY(ctx, rbm_machine_init_normal(m[k], 0.3, 10 + (uint64_t)k));
        double a[6] = {0.1, -0.2, 0.3, -0.4, 0.5, 1.0 / 3.0};
        RBM_OKAY(ctx, rbm_machine_set_visible_bias(m[k], a, 6));
    }
    double chains[3 * 6];
    for (int i = 0; i < 18; i++)
        chains[i] = (i * 5) % 3 == 0;
    uint64_t upd[2] = {10, 100};
    double times[2] = {1.5, 12.25};
    const char *path = tmp_path("out.h5");
    for (int f32 = 0; f32 < 2; f32++) {
        RBM_OKAY(ctx, rbm_rbms_save((const rbm_machine *const *)m, upd, times, 2, chains, 3, 18,
                                    50, 10, 0.01, f32, path));
        uint64_t u[4];
        double t[4];
        size_t n;
        char type[16];
        RBM_OKAY(ctx, rbm_rbms_list(ctx, path, u, t, 4, &n, type, sizeof type));
        assert_int_equal(n, 2);
        assert_int_equal(u[1], 100);
        assert_true(t[1] == 12.25);
        assert_string_equal(type, "BBRBM");
        rbm_machine *back = NULL;
        RBM_OKAY(ctx, rbm_machine_load_rbms(ctx, path, 10, &back));
        double w0[24], w1[24];
        rbm_machine_get_weights(m[0], w0, 24);
        rbm_machine_get_weights(back, w1, 24);
        for (int i = 0; i < 24; i++)
            assert_true(w1[i] == (f32 ? (double)(float)w0[i] : w0[i]));
        assert_int_equal(rbm_machine_precision(back),
                         f32 ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64);
        rbm_machine_free(back);
        rbm_dataset *ch = NULL;
        RBM_OKAY(ctx, rbm_rbms_load_chains(ctx, path, &ch));
        double c2[18];
        rbm_dataset_get_rows(ch, 0, 3, c2, 18);
        assert_memory_equal(c2, chains, sizeof c2);
        rbm_dataset_free(ch);
    }
    /* refusals: decreasing updates, unsupported units, chains shape */
    uint64_t bad[2] = {5, 5};
    RBM_CHECK(ctx, rbm_rbms_save((const rbm_machine *const *)m, bad, NULL, 2, chains, 3, 18, 1,
                                 1, 0.1, 1, tmp_path("bad.h5")),
              RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(ctx, rbm_rbms_save((const rbm_machine *const *)m, upd, NULL, 2, chains, 3, 17, 1,
                                 1, 0.1, 1, tmp_path("bad.h5")),
              RBM_ERR_SHAPE);
    rbm_machine *gg = NULL;
    RBM_OKAY(ctx, rbm_machine_new(ctx, 6, 4, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, &gg));
    const rbm_machine *one[1] = {gg};
    RBM_CHECK(ctx, rbm_rbms_save(one, upd, NULL, 1, chains, 3, 18, 1, 1, 0.1, 1,
                                 tmp_path("bad.h5")),
              RBM_ERR_UNSUPPORTED);
    assert_int_equal(access(tmp_path("bad.h5"), F_OK), -1);
    rbm_machine_free(gg);
    rbm_machine_free(m[0]), rbm_machine_free(m[1]);
    rbm_context_free(ctx);
}

/* Threads, each with its own context, reading the fixture at once: libhdf5
 * is not thread-safe, librbm serialises its calls (core/h5io.c). */
struct reader_arg {
    int ok;
};

static void *reader_thread(void *p)
{
    struct reader_arg *r = p;
    rbm_context *ctx = NULL;
    r->ok = rbm_context_new(&ctx) == RBM_OK;
    for (int i = 0; r->ok && i < 10; i++) {
        rbm_machine *m = NULL;
        rbm_dataset *ch = NULL;
        size_t n = 0;
        r->ok = rbm_machine_load_rbms(ctx, FIXTURE, i % 2 ? 95 : RBM_RBMS_LAST, &m) == RBM_OK &&
                rbm_rbms_load_chains(ctx, FIXTURE, &ch) == RBM_OK &&
                rbm_rbms_list(ctx, FIXTURE, NULL, NULL, 0, &n, NULL, 0) == RBM_OK && n == 6 &&
                rbm_machine_n_hidden(m) == 20 && rbm_dataset_rows(ch) == 500;
        rbm_machine_free(m);
        rbm_dataset_free(ch);
    }
    rbm_context_free(ctx);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    struct reader_arg r[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &r[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(r[i].ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_list_fixture),
        cmocka_unit_test(test_fixture_log_z_and_ll),
        cmocka_unit_test(test_last_and_missing_update),
        cmocka_unit_test(test_chains_into_sampler),
        cmocka_unit_test(test_model_types),
        cmocka_unit_test(test_hostile_archives),
        cmocka_unit_test(test_dataset_hdf5),
        cmocka_unit_test(test_writer_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

#else /* built without HDF5: every function says so */

static void test_unsupported(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m = NULL;
    rbm_dataset *d = NULL;
    size_t n;
    assert_int_equal(rbm_hdf5_available(), 0);
    RBM_CHECK(ctx, rbm_machine_load_rbms(ctx, FIXTURE, RBM_RBMS_LAST, &m), RBM_ERR_UNSUPPORTED);
    assert_non_null(strstr(rbm_context_last_error(ctx), "built without HDF5 (meson option hdf5)"));
    RBM_CHECK(ctx, rbm_rbms_list(ctx, FIXTURE, NULL, NULL, 0, &n, NULL, 0), RBM_ERR_UNSUPPORTED);
    RBM_CHECK(ctx, rbm_dataset_load_hdf5(ctx, FIXTURE, NULL, &d), RBM_ERR_UNSUPPORTED);
    RBM_CHECK(ctx, rbm_rbms_load_chains(ctx, FIXTURE, &d), RBM_ERR_UNSUPPORTED);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_unsupported)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
