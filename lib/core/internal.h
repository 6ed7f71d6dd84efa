/* librbm — internal declarations shared by the modules (not installed). */
#ifndef RBM_INTERNAL_H
#define RBM_INTERNAL_H

#include <rbm/rbm.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RBM__ERRBUF 512

#if defined(__GNUC__)
#define RBM__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RBM__PRINTF(a, b)
#endif

struct rbm_context {
    rbm_alloc_fn alloc;
    rbm_free_fn dealloc;
    void *alloc_user;
    rbm_log_fn log;
    void *log_user;
    rbm_log_level log_level;
    rbm_status last_status;
    char last_error[RBM__ERRBUF];
    size_t threads; /* 0: online processors */
    uint64_t max_data_bytes; /* largest dataset a loader builds; 0: no limit */
};

struct rbm_rng {
    rbm_context *ctx;
    uint64_t s[4];
    int has_spare;
    double spare;
};

/* What every folder may read of a machine. struct rbm_machine itself is laid
 * out in model/machine_impl.h, known to lib/model only; other folders read
 * through this view and write through the mutators of model/machine.h. The
 * view of a machine lives as long as the machine, and its fields change only
 * when the machine does (it is no snapshot). */
typedef struct rbm__machine_view {
    rbm_context *ctx;
    size_t nv, nh;
    rbm_unit_kind vk, hk;
    double sigma_v, sigma_h;
    rbm_precision prec;
    size_t nq;  /* states per visible unit: q for a Potts layer, 1 otherwise */
    size_t nvw; /* rows of W and length of a: nv * nq (one-hot width of the visible layer) */
    const double *W, *a, *b; /* nvw x nh, nvw, nh */
    const float *Wf, *af, *bf; /* float32 mirror (prec == FLOAT32), else NULL */
} rbm__machine_view;

/* ---- errors, logging, memory (context.c) ---- */
rbm_status rbm__fail(rbm_context *ctx, rbm_status st, const char *fmt, ...) RBM__PRINTF(3, 4);
void rbm__log(rbm_context *ctx, rbm_log_level level, const char *fmt, ...) RBM__PRINTF(3, 4);
void *rbm__alloc(rbm_context *ctx, size_t size);                 /* uninitialised */
void *rbm__calloc(rbm_context *ctx, size_t count, size_t size);  /* zeroed; overflow -> NULL */
void rbm__free(rbm_context *ctx, void *p);
/* Allocation that reports RBM_ERR_TOO_LARGE / RBM_ERR_NO_MEMORY into ctx. */
rbm_status rbm__xcalloc(rbm_context *ctx, size_t count, size_t size, void *out_ptr,
                        const char *what);

static inline bool rbm__mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* Check a caller array: non-NULL and len == expected. */
rbm_status rbm__check_array(rbm_context *ctx, const void *p, size_t len, size_t expected,
                            const char *what);
/* Check finiteness of n doubles; reports index. */
rbm_status rbm__check_finite(rbm_context *ctx, const double *x, size_t n, const char *what);

/* ---- parallel loops (parallel.c) ----
 * Runs fn(arg, part, n_parts) for part = 0..n_parts-1 on up to n_parts
 * threads (n_parts = rbm__threads(ctx) capped by max_parts); a part whose
 * thread cannot be started runs on the calling thread. */
size_t rbm__threads(const rbm_context *ctx);
void rbm__parallel(const rbm_context *ctx, size_t max_parts, void (*fn)(void *, size_t, size_t),
                   void *arg);

/* ---- rng (rng.c) ---- */
void rbm__rng_seed(rbm_rng *r, uint64_t seed);
uint64_t rbm__rng_next(rbm_rng *r);
double rbm__rng_uniform(rbm_rng *r);
double rbm__rng_normal(rbm_rng *r);
/* An rng living inside another object (no allocation). */
void rbm__rng_init(rbm_rng *r, rbm_context *ctx, uint64_t seed);

/* ---- units (units.c): scalar, numerically stable ---- */
double rbm__softplus(double x);
double rbm__log2cosh(double x);
double rbm__sigmoid(double x);
float rbm__softplusf(float x);
float rbm__log2coshf(float x);
float rbm__sigmoidf(float x);
double rbm__unit_logpart(rbm_unit_kind k, double sigma, double x);
double rbm__unit_mean(rbm_unit_kind k, double sigma, double x);
double rbm__unit_var(rbm_unit_kind k, double sigma, double x);
double rbm__unit_phi(rbm_unit_kind k, double sigma, double x); /* confinement */
double rbm__unit_sample(rbm_unit_kind k, double sigma, double x, rbm_rng *rng);
bool rbm__unit_kind_valid(rbm_unit_kind k);
/* The sigmas a machine of precision prec accepts: [*lo, *hi] = [2^-511, 2^511]
 * for float64, [2^-63, 2^63] for float32, so that sigma^2, 1/sigma^2 and
 * 2 sigma^2 are finite normal numbers of that type (and log sigma, hence the
 * Gaussian log-partition constant, is finite). */
void rbm__sigma_range(rbm_precision prec, double *lo, double *hi);
bool rbm__sigma_ok(double sigma, rbm_precision prec);
/* ---- Potts units (potts.c): q states c in fields x[0..q), q >= 1 ----
 * log sum_c exp(x_c) overflow-free (max-shifted), its sum over n_sites
 * consecutive blocks of q, the softmax p_c (p may alias x), one
 * inverse-CDF draw with the uniform u, and a check that n values are states
 * in {0..q-1} (RBM_ERR_INVALID_ARGUMENT naming what and the index). */
double rbm__potts_lse(size_t q, const double *x);
float rbm__potts_lsef(size_t q, const float *x);
double rbm__potts_lse_sum(size_t n_sites, size_t q, const double *x);
void rbm__potts_softmax(size_t q, const double *x, double *p);
void rbm__potts_softmaxf(size_t q, const float *x, float *p);
size_t rbm__potts_draw(size_t q, const double *x, double u);
size_t rbm__potts_drawf(size_t q, const float *x, double u);
rbm_status rbm__potts_check_states(rbm_context *ctx, const double *x, size_t n, size_t q,
                                   const char *what);
/* The n states x[0..n) (checked states) expanded in place into their n q
 * one-hot indicators (x has room for n q): from the last down, so each
 * state is read before its block is written. */
void rbm__potts_one_hot_in_place(double *x, size_t n, size_t q);
/* sum_i Lambda(scale * x[i]) (vecmath.c: vectorised, |error| < 1e-15 per term) */
double rbm__logpart_sum(rbm_unit_kind k, double sigma, size_t n, const double *x, double scale);
/* x[i] += delta col[i] for i < n (stored), then rbm__logpart_sum(k, sigma,
 * n, x, 1): the Gray-code step of exact enumeration in one pass. */
double rbm__logpart_sum_update(rbm_unit_kind k, double sigma, size_t n, double *x, double delta,
                               const double *col);
/* For r < 4: out[r] = sum_{j<n} log f_rj with f_rj = beta_r[j] + alpha_r[j]
 * G_r[j] (ising 0) or alpha_r[j] G_r[j] + beta_r[j] Ginv_r[j] (ising 1;
 * Ginv unused otherwise): the log-partition change of a Bernoulli or Ising
 * hidden layer when one visible unit flips (metrics.c, pseudo-likelihood).
 * Products of f are taken `chunk` factors per lane at a time: the caller
 * guarantees every f lies in [e^-c, e^c] with chunk c <= 700. */
void rbm__log_mix_sums4(int ising, size_t n, const double *const G[4],
                        const double *const Ginv[4], const double *const alpha[4],
                        const double *const beta[4], size_t chunk, double out[4]);
/* Blocked enumeration (model/enumerate_block.c). rbm__softplus_factors:
 * for i < n, alpha[i] = e^max(min(x_i, 0), -clamp), beta[i] =
 * e^-min(max(x_i, 0), clamp); returns sum_i max(x_i, 0) (clamp <= 700).
 * rbm__logpart_block: for rows h < `rows` (a multiple of 4) of alpha, beta
 * (row h at alpha + h o) and the 8 strips-columns l of the table T (strip s,
 * row q, lane k at T[(s o + q) 8 + k], column l = 8 s + k), out[h (8 strips)
 * + l] = sum_{q<o} log(beta_hq + alpha_hq T_ql), or with gaussian set
 * sum_q (alpha_hq + T_ql)^2 (beta unused). Products are renormalised by
 * powers of two every `chunk` factors: the caller guarantees every factor
 * lies in [e^-c, 2 e^c] with chunk (c + 1) <= 700. rbm__exp_sum_shifted:
 * sum_i exp(max(x_i - M, -700)) in a fixed order. */
double rbm__softplus_factors(size_t n, const double *x, double clamp, double *alpha,
                             double *beta);
void rbm__logpart_block(int gaussian, size_t o, size_t rows, const double *alpha,
                        const double *beta, size_t strips, const double *T, size_t chunk,
                        double *out);
double rbm__exp_sum_shifted(size_t n, const double *x, double M);
/* out[i] = sigm(scale * x[i]) (vectorised; out may alias x) */
void rbm__sigmoid_d(size_t n, const double *x, double scale, double *out);
void rbm__sigmoid_f(size_t n, const float *x, float scale, float *out);
/* theta += lr (g - l2 theta - l1 sign(theta)) (vectorised SGD step) */
void rbm__sgd_update(size_t n, double *theta, const double *g, double lr, double l1, double l2);
/* max |x[i]|, or +Inf when any element is NaN or infinite (vectorised) */
double rbm__max_abs(size_t n, const double *x);

/* Largest |parameter| a training step (optimiser, rbm_gradient_apply) may
 * produce for precision p: RBM_TRAIN_PARAM_MAX_F32 / _F64 of machine.h. */
static inline double rbm__param_limit(rbm_precision p)
{
    return p == RBM_PRECISION_FLOAT32 ? RBM_TRAIN_PARAM_MAX_F32 : RBM_TRAIN_PARAM_MAX_F64;
}

/* ---- machine (machine.c) ---- */
/* The read-only view of m (NULL for a NULL m). */
const rbm__machine_view *rbm__machine_view_of(const rbm_machine *m);
/* RBM_ERR_INVALID_ARGUMENT (named after fn) for a machine with a Potts
 * visible layer: for the entry points that do not handle one (yet). */
static inline rbm_status rbm__refuse_potts(const rbm_machine *m, const char *fn)
{
    const rbm__machine_view *v = rbm__machine_view_of(m);
    if (v && v->vk == RBM_UNIT_POTTS)
        return rbm__fail(v->ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: machines with a Potts visible layer are not supported here", fn);
    return RBM_OK;
}
/* x[0..n) finite (RBM_ERR_NOT_FINITE) and, for FLOAT32, representable as a
 * float (RBM_ERR_INVALID_ARGUMENT), the detail naming what[i]. */
rbm_status rbm__machine_check_params(rbm_context *ctx, rbm_precision prec, const double *x,
                                     size_t n, const char *what);
/* Refresh the float32 mirror after a parameter change. */
void rbm__machine_sync(rbm_machine *m);
/* Largest singular value of W (LAPACK). */
rbm_status rbm__machine_top_singular(const rbm_machine *m, const double *W, double *out);
/* RBM_ERR_NOT_NORMALIZABLE if Gauss-Gauss and the bound fails for (W, sigmas). */
rbm_status rbm__machine_check_normalizable(const rbm_machine *m, const double *W,
                                           double sigma_v, double sigma_h);
static inline double rbm__sigma(const rbm_machine *m, rbm_layer l)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    return l == RBM_LAYER_VISIBLE ? mv->sigma_v : mv->sigma_h;
}

/* ---- precision-generic kernels (kernels_impl.h, compiled for f32/f64) ----
 * Buffers are arrays of the machine's compute type ("real"). */
typedef struct rbm__kern {
    size_t elem; /* sizeof(real) */
    /* H (B x nh) = X (B x nv) W + b; for a Potts visible layer X holds
     * state indices and H = b + the sum of the rows i*nq + X[r,i] of W */
    void (*hidden_field)(const rbm__machine_view *m, size_t B, const void *X, void *H);
    /* F (B x nvw) = Y (B x nh) W^T + a */
    void (*visible_field)(const rbm__machine_view *m, size_t B, const void *Y, void *F);
    /* out[i] = mean of unit in field[i] (out may alias field) */
    void (*mean)(rbm_unit_kind k, double sigma, size_t n, const void *field, void *out);
    /* out[i] = sample of unit in field[i] (out may alias field) */
    void (*sample)(rbm_unit_kind k, double sigma, size_t n, const void *field, void *out,
                   rbm_rng *rng);
    /* G (nv x nh, double) = alpha * X^T Y + beta * G, X: B x nv, Y: B x nh, via
     * the real-typed scratch Gr (nv x nh real) */
    void (*outer)(size_t B, size_t nv, size_t nh, double alpha, const void *X, const void *Y,
                  double beta, void *Gr);
    /* out[j] (double) = alpha * sum_rows X[r, j] + beta * out[j] */
    void (*colsum)(size_t B, size_t n, double alpha, const void *X, double beta, double *out);
    /* The visible layer of any kind (Potts included), B rows; fields are
     * B x nvw. visible_mean: B x nv means, or for Potts B x nvw state
     * probabilities (out may alias field). visible_sample: B x nv values,
     * Potts state indices (out may alias field). visible_outer: G (nvw x nh,
     * real) = alpha onehot(X)^T Y + beta G. visible_colsum: out (nvw) =
     * alpha column sums of onehot(X) + beta out. onehot is the identity
     * for a scalar kind. */
    void (*visible_mean)(const rbm__machine_view *m, size_t B, const void *field, void *out);
    void (*visible_sample)(const rbm__machine_view *m, size_t B, const void *field, void *out,
                           rbm_rng *rng);
    void (*visible_outer)(const rbm__machine_view *m, size_t B, double alpha, const void *X,
                          const void *Y, double beta, void *G);
    void (*visible_colsum)(const rbm__machine_view *m, size_t B, double alpha, const void *X,
                           double beta, double *out);
    /* conversions */
    void (*from_f64)(size_t n, const double *src, void *dst);
    void (*to_f64)(size_t n, const void *src, double *dst);
    /* mean squared difference of n elements */
    double (*msd)(size_t n, const void *x, const void *y);
    /* true when every element is finite */
    bool (*all_finite)(size_t n, const void *x);
} rbm__kern;

extern const rbm__kern rbm__kern_f32;
extern const rbm__kern rbm__kern_f64;
static inline const rbm__kern *rbm__kern_for(rbm_precision p)
{
    return p == RBM_PRECISION_FLOAT32 ? &rbm__kern_f32 : &rbm__kern_f64;
}

/* ---- files (io.c) ----
 * Save m plus, when extra_tag (4 bytes) is non-NULL, one optional section
 * with that tag and payload. Load a machine and, when extra is non-NULL, the
 * payload of the first section tagged want_tag (allocated with the context's
 * allocator; *extra stays NULL when the file has none). */
rbm_status rbm__io_save(const rbm_machine *m, const char *path, const char *extra_tag,
                        const unsigned char *extra, size_t extra_len);
rbm_status rbm__io_load(rbm_context *ctx, const char *path, rbm_machine **out,
                        const char *want_tag, unsigned char **extra, size_t *extra_len);

#endif /* RBM_INTERNAL_H */
