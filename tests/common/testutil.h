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

/* Test-local random numbers (splitmix64 + Box-Muller), independent of the
 * library's generator. r_seed(s) sets the state to s * 0x2545F4914F6CDD1D +
 * 12345; r_seed_offset(s, c) to s * 0x2545F4914F6CDD1D + c. r_unif is in
 * (0, 1). */
void r_seed(uint64_t s);
void r_seed_offset(uint64_t s, uint64_t c);
/* Set the state itself to s. */
void r_set_state(uint64_t s);
uint64_t r_u64(void);
double r_unif(void);
double r_norm(void);

/* rbm_estimator_new followed by RBM_ESTIMATOR_K = k (when k > 0) and
 * RBM_ESTIMATOR_CHAINS = chains (when chains > 0 and the kind keeps
 * chains; 0.1 ignored the count for CD and EXACT): the estimator 0.1 made
 * with rbm_estimator_new(m, kind, k, chains, max_batch, seed, out). On
 * failure *out is NULL and the first failing status is returned. */
rbm_status rbm_test_estimator(rbm_machine *m, rbm_estimator_kind kind, size_t k, size_t chains,
                              size_t max_batch, uint64_t seed, rbm_estimator **out);

/* An ensemble (phase.h) at (kappa, sigma, T) with the k modes w and the
 * same component law (sparsity p) on both layers; fails the test on error. */
rbm_ensemble *rbm_test_ensemble(rbm_context *ctx, double kappa, double sigma, double T,
                                const double *w, size_t k, rbm_component_law law, double p);

/* n trainer steps; fails the test (with the context's detail) unless each
 * returns RBM_OK or RBM_DONE. */
void rbm_test_steps(rbm_context *ctx, rbm_trainer *t, size_t n);

/* Noisy prototype data, rows x nv in {0, 1} (a float64 copy): each row
 * draws its prototype p = floor(u n_proto), u ~ U(0, 1) from r_unif after
 * r_seed(seed), then bit j = bit(p, j), flipped with probability flip. */
rbm_dataset *rbm_test_prototype_data(rbm_context *ctx, size_t rows, size_t nv, size_t n_proto,
                                     int (*bit)(size_t proto, size_t j), double flip,
                                     uint64_t seed);

/* calloc of n bytes (at least one) that fails the test when out of memory. */
void *xzalloc(size_t n);

/* A growing byte buffer for building files in the tests ({0} is empty). */
typedef struct tbuf {
    unsigned char *p;
    size_t n, cap;
} tbuf;
/* Append n bytes of src (fails the test when out of memory). */
void tbuf_put(tbuf *b, const void *src, size_t n);

/* The whole file at path in a malloc'd buffer (*len bytes; free it); fails
 * the test when the file cannot be read. */
unsigned char *rbm_test_read_file(const char *path, size_t *len);

/* Assert that two machines are identical, bit for bit: shapes, unit kinds,
 * precision, Gaussian sigmas, W, a and b. */
void rbm_assert_same_machine(const rbm_machine *x, const rbm_machine *y);

/* A temporary directory for one test program: rbm_test_tmpdir_new makes
 * /tmp/rbm-test-<name>-XXXXXX (0, or -1: use as a cmocka group setup's
 * result), rbm_test_tmp_path names a file in it (one of 8 rotating
 * buffers), rbm_test_tmpdir_remove deletes it with its contents. */
int rbm_test_tmpdir_new(const char *name);
const char *rbm_test_tmpdir(void);
const char *rbm_test_tmp_path(const char *file);
int rbm_test_tmpdir_remove(void);

/* CRC-32 as docs/file-format.md specifies it (ISO-HDLC / zlib: reflected
 * polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF); crc is the
 * CRC of the preceding bytes (0 to start), as with zlib's crc32(). */
uint32_t rbm_test_crc32(uint32_t crc, const unsigned char *p, size_t n);

#endif
