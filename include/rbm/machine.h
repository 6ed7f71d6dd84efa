/* librbm — machines: shapes, unit kinds, parameters, energies, conditionals.
 *
 * A machine has N_v visible and N_h hidden units, one unit kind per layer,
 * couplings W (N_v x N_h), visible biases a (N_v) and hidden biases b (N_h),
 * and for Gaussian layers a standard deviation sigma (one per layer). The
 * energy is (docs/theory.md §1.1, beta = 1)
 *   E(v, h) = -v^T W h - a.v - b.h + sum_i phi_v(v_i) + sum_j phi_h(h_j)
 * and the free energy of a visible configuration is
 *   F(v) = -a.v + sum_i phi_v(v_i) - sum_j Lambda_h(b_j + (W^T v)_j),
 * so that p(v) = exp(-F(v)) / Z.
 *
 * Arrays: every matrix is row-major and dense. W is exchanged as an N_v x N_h
 * array (w_ij at W[i*N_h + j]); a batch of B visible states is a B x N_v
 * array; a batch of hidden states is B x N_h. Every array argument comes
 * with its length in elements, which must equal the documented size
 * (RBM_ERR_SHAPE otherwise, with the expected size in the error detail).
 *
 * Potts machines (rbm_machine_new_potts): the visible layer has N sites,
 * each in one of q states c = 0..q-1 (2 <= q <= 255). A visible
 * configuration is N numbers per row, the state index of each site stored as
 * a double (integral, in [0, q); anything else is RBM_ERR_INVALID_ARGUMENT),
 * so a visible batch is B x N and rbm_machine_n_visible returns N. The
 * parameters act on the one-hot encoding sigma_ic = [v_i == c]: W has
 * rbm_machine_weight_rows = N*q rows, row i*q + c (site-major) for site i
 * in state c, so W is exchanged as an (N*q) x N_h array and a as N*q
 * fields a_ic at a[i*q + c]; b is N_h as usual. Then
 *   E(v, h) = -sum_i a_{i,v_i} - sum_ij W_{i v_i, j} h_j - b.h + sum_j phi_h(h_j),
 *   F(v) = -sum_i a_{i,v_i} - sum_j Lambda_h(b_j + sum_i W_{i v_i, j}),
 *   p(v_i = c | h) = exp(a_ic + (W h)_ic) / sum_c' exp(a_ic' + (W h)_ic'),
 * and the free energy of a hidden state sums log sum_c exp(...) over sites,
 * evaluated max-shifted (finite for finite fields). rbm_machine_visible_mean
 * of a Potts machine writes the B x (N*q) probabilities p(v_i = c | h);
 * rbm_machine_sample_visible writes B x N sampled states (one uniform per
 * site, in site order). The hidden layer is bernoulli, ising or gaussian.
 * The parametrisation has a gauge freedom (rbm_machine_set_gauge).
 *
 * Precision: parameters are stored in double. rbm_machine_set_precision()
 * selects the arithmetic of the heavy training kernels (samplers,
 * estimators, trainers): float64 (default) or float32. The batch functions
 * of this header always compute in double.
 *
 * Gauss-Gauss machines (both layers Gaussian) are normalisable only when
 * sigma_v^2 sigma_h^2 w_1^2 < 1 (w_1 the top singular value of W); every
 * setter refuses parameters violating it with RBM_ERR_NOT_NORMALIZABLE and
 * leaves the machine unchanged.
 *
 * THREAD SAFETY: a machine belongs to its context's threading domain. Const
 * functions on one machine may run concurrently with each other but not with
 * a setter, sampler, estimator or trainer using the machine. */
#ifndef RBM_MACHINE_H
#define RBM_MACHINE_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create a machine with all parameters zero and sigma = 1 on Gaussian layers.
 * Sizes must be >= 1 and N_v * N_h must not overflow (RBM_ERR_TOO_LARGE).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (size 0, unknown kind),
 * RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. The caller owns *out. */
RBM_API rbm_status rbm_machine_new(rbm_context *ctx, size_t n_visible, size_t n_hidden,
                                   rbm_unit_kind visible, rbm_unit_kind hidden,
                                   rbm_machine **out);

/* Create a Potts machine (see the top of this header): n_sites sites of
 * n_states states, n_hidden hidden units of kind hidden; all parameters
 * zero. Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (a size 0, n_states
 * outside [2, 255], hidden RBM_UNIT_POTTS or unknown), RBM_ERR_TOO_LARGE
 * (N*q*N_h overflows or N*q or N_h exceeds INT_MAX), RBM_ERR_NO_MEMORY.
 * rbm_machine_new refuses RBM_UNIT_POTTS (it has no q). The caller owns *out. */
RBM_API rbm_status rbm_machine_new_potts(rbm_context *ctx, size_t n_sites, size_t n_states,
                                         size_t n_hidden, rbm_unit_kind hidden,
                                         rbm_machine **out);

/* A planted Potts machine, the source of synthetic alignments with known
 * modes (docs/potts.md, "Planted alignments"): n_sites sites of n_states
 * states and n_modes hidden units of kind hidden, with
 *   W = sum_alpha strengths[alpha] u^alpha e_alpha^T,
 * so the singular values of W are the strengths (in any order) with the
 * hidden units e_alpha as right singular vectors. Mode alpha owns
 * sites_per_mode sites, disjoint between modes, and at each of them two
 * distinct states A_i, B_i: u^alpha_{i,A_i} = +1/sqrt(2 S),
 * u^alpha_{i,B_i} = -1/sqrt(2 S) (S = sites_per_mode), 0 elsewhere, so the
 * u^alpha are orthonormal and every site is in the zero-sum gauge. The
 * sites no mode owns get zero-sum fields a_ic = background * (x_ic -
 * mean_c x_ic), x_ic ~ N(0, 1); mode sites get a = 0, and b = 0. With
 * Ising hidden units p(v) is then symmetric under A_i <-> B_i on each
 * mode's sites (two states per mode); with Bernoulli units a mode is on
 * (h = 1) or off. Sites, states and fields come from one rbm_rng seeded
 * with seed (same arguments, same machine). The machine's provenance
 * records the arguments. Sample it with rbm_sampler_draw_dataset.
 * Errors: RBM_ERR_NULL (ctx, strengths or out), RBM_ERR_INVALID_ARGUMENT
 * (n_modes or sites_per_mode 0, n_modes * sites_per_mode > n_sites, a
 * strength not in (0, 1e6], background not in [0, 1e6], and the errors of
 * rbm_machine_new_potts), RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. The caller
 * owns *out (NULL on error). */
RBM_API rbm_status rbm_machine_new_planted_potts(rbm_context *ctx, size_t n_sites,
                                                 size_t n_states, const double *strengths,
                                                 size_t n_modes, size_t sites_per_mode,
                                                 double background, rbm_unit_kind hidden,
                                                 uint64_t seed, rbm_machine **out);

/* q of a Potts layer; 0 for any other layer (and for a NULL machine). */
RBM_API size_t rbm_machine_n_states(const rbm_machine *m, rbm_layer layer);

/* Rows of W and length of a: N_v, or N*q for a Potts machine (0 for NULL). */
RBM_API size_t rbm_machine_weight_rows(const rbm_machine *m);

/* Gauges of a Potts layer. The energy is unchanged by W_icj -> W_icj - r_ij,
 * b_j -> b_j + sum_i r_ij (any r), and a_ic -> a_ic - s_i changes it by the
 * constant sum_i s_i; a gauge fixes r and s:
 *   ZERO_SUM:    r_ij = mean_c W_icj, s_i = mean_c a_ic, so that
 *                sum_c W_icj = 0 and sum_c a_ic = 0 (the choice of rbms and
 *                PGM);
 *   FIRST_STATE: r_ij = W_i0j, s_i = a_i0, so that W_i0j = a_i0 = 0. */
typedef enum rbm_gauge {
    RBM_GAUGE_ZERO_SUM = 0,
    RBM_GAUGE_FIRST_STATE = 1
} rbm_gauge;

/* Bring a Potts machine's W, a and b to a gauge. p(v, h), hence p(v), every
 * conditional and every free-energy difference, is unchanged; log Z
 * changes: log Z(before) = log Z(after) + *log_z_shift (log_z_shift may be
 * NULL). Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (not a Potts machine,
 * unknown gauge, a float32 machine whose new parameters exceed FLT_MAX),
 * RBM_ERR_NUMERICAL, RBM_ERR_NO_MEMORY; on error nothing changes. */
RBM_API rbm_status rbm_machine_set_gauge(rbm_machine *m, rbm_gauge gauge, double *log_z_shift);

/* Pseudo-count lambda of rbm_machine_init_visible_bias_from_data on a Potts
 * machine: site frequencies f_ic = (1 - lambda) n_ic / n + lambda / q (n_ic,
 * n weighted by the dataset's sample weights). */
#define RBM_POTTS_PSEUDO_COUNT 1e-3

/* Deep copy (parameters, sigmas, precision) into a new machine owned by the
 * caller. Errors: RBM_ERR_NULL, RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_machine_clone(const rbm_machine *m, rbm_machine **out);

/* Release a machine; NULL is a no-op. Samplers, estimators and trainers
 * using it must be freed first. */
RBM_API void rbm_machine_free(rbm_machine *m);

/* Shape and kind queries (0 / RBM_UNIT_BERNOULLI for a NULL machine). */
RBM_API size_t rbm_machine_n_visible(const rbm_machine *m);
RBM_API size_t rbm_machine_n_hidden(const rbm_machine *m);
RBM_API rbm_unit_kind rbm_machine_unit_kind(const rbm_machine *m, rbm_layer layer);
RBM_API rbm_context *rbm_machine_context(const rbm_machine *m);

/* Standard deviation of a Gaussian layer (1 by default; NaN for a NULL
 * machine; for discrete layers the stored value is unused).
 * Accepted sigmas (every layer) are those whose sigma^2 and 1/sigma^2 are
 * finite normal numbers of the machine's precision:
 *   float64 machine: 2^-511 <= sigma <= 2^511 (about 1.49e-154 to 6.70e153),
 *   float32 machine: 2^-63 <= sigma <= 2^63 (about 1.08e-19 to 9.22e18).
 * set_sigma errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (bad layer, or
 * sigma outside the range, NaN or infinite; the detail gives the range),
 * RBM_ERR_NOT_NORMALIZABLE (Gauss-Gauss). On error nothing changes. */
RBM_API double rbm_machine_sigma(const rbm_machine *m, rbm_layer layer);
RBM_API rbm_status rbm_machine_set_sigma(rbm_machine *m, rbm_layer layer, double sigma);

/* Compute precision of the training kernels. Errors: RBM_ERR_NULL,
 * RBM_ERR_INVALID_ARGUMENT (unknown precision; a sigma outside the range of
 * the new precision, see rbm_machine_sigma; or FLOAT32 for a machine holding
 * a parameter above FLT_MAX), RBM_ERR_NO_MEMORY. Changing it while a sampler,
 * estimator or trainer uses the machine is allowed; they pick it up on
 * their next call only if they were created after the change
 * (RBM_ERR_STATE is returned by them otherwise). */
RBM_API rbm_status rbm_machine_set_precision(rbm_machine *m, rbm_precision precision);
RBM_API rbm_precision rbm_machine_precision(const rbm_machine *m);

/* Parameter magnitudes. A machine holds any parameter its compute type
 * represents: every finite double for FLOAT64, |x| up to FLT_MAX for FLOAT32
 * (the set_* functions, rbm_machine_set_precision(FLOAT32) and model files
 * refuse values a float cannot hold). A training step (trainer or
 * rbm_gradient_apply) is refused when it would move a parameter beyond
 * RBM_TRAIN_PARAM_MAX_F32 / _F64 for the machine's precision: about 1e-8 of
 * the largest finite float / double, so that fields (sums of products of
 * parameters and unit values) and later updates have room before they
 * overflow. */
#define RBM_TRAIN_PARAM_MAX_F32 1e30
#define RBM_TRAIN_PARAM_MAX_F64 1e300

/* Parameters. get_* copy into caller buffers; set_* copy from them and
 * validate: lengths (RBM_ERR_SHAPE), finiteness (RBM_ERR_NOT_FINITE, with the
 * index in the detail), for a FLOAT32 machine magnitude (RBM_ERR_INVALID_ARGUMENT
 * above FLT_MAX), Gauss-Gauss
 * normalisability. On error nothing changes. W has weight_rows*n_hidden
 * elements, a weight_rows, b n_hidden (weight_rows = n_visible, or N*q for
 * a Potts machine). */
RBM_API rbm_status rbm_machine_get_weights(const rbm_machine *m, double *w, size_t len);
RBM_API rbm_status rbm_machine_set_weights(rbm_machine *m, const double *w, size_t len);
RBM_API rbm_status rbm_machine_get_visible_bias(const rbm_machine *m, double *a, size_t len);
RBM_API rbm_status rbm_machine_set_visible_bias(rbm_machine *m, const double *a, size_t len);
RBM_API rbm_status rbm_machine_get_hidden_bias(const rbm_machine *m, double *b, size_t len);
RBM_API rbm_status rbm_machine_set_hidden_bias(rbm_machine *m, const double *b, size_t len);

/* Initialisation. init_zero sets W, a, b to 0. init_normal draws every w_ij
 * from N(0, std^2) with a fresh rbm_rng seeded with seed (row-major order)
 * and zeroes a and b. init_visible_bias_from_data sets a_i so that a free
 * visible unit has the data mean <v_i> of column i:
 * Bernoulli logit(p) (p clipped to [1e-3, 1-1e-3]), Ising atanh(m) (m clipped
 * to [-1+2e-3, 1-2e-3]), Gaussian mean/sigma_v^2; Potts (the dataset holds
 * state indices) a_ic = log f_ic - mean_c log f_ic with the site
 * frequencies f_ic of RBM_POTTS_PSEUDO_COUNT, n_ic and n counted with the
 * dataset's sample weights when it has them (a value that is no state:
 * RBM_ERR_INVALID_ARGUMENT).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (std < 0 or not finite),
 * RBM_ERR_SHAPE (dataset columns != n_visible), RBM_ERR_NOT_NORMALIZABLE. */
RBM_API rbm_status rbm_machine_init_zero(rbm_machine *m);
RBM_API rbm_status rbm_machine_init_normal(rbm_machine *m, double std, uint64_t seed);
RBM_API rbm_status rbm_machine_init_visible_bias_from_data(rbm_machine *m, const rbm_dataset *data);

/* Energy E(v,h) of `batch` joint configurations: v is batch x N_v, h is
 * batch x N_h, out receives batch values (out_len must be batch). Inputs are
 * not required to lie in the units' support (the formula is evaluated as
 * written). On error out is unchanged.
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE (a length other than the expected
 * one; the detail names the argument, the expected and the given length),
 * RBM_ERR_NOT_FINITE, RBM_ERR_NO_MEMORY, RBM_ERR_TOO_LARGE (batch),
 * RBM_ERR_NUMERICAL (a result would not be finite in double, e.g. a
 * Gaussian v^2/(2 sigma^2) beyond DBL_MAX; the detail names the row): a
 * value returned with RBM_OK is always finite. */
RBM_API rbm_status rbm_machine_energy(const rbm_machine *m, size_t batch, const double *v,
                                      size_t v_len, const double *h, size_t h_len, double *out,
                                      size_t out_len);

/* Free energy F(v) (hidden layer summed/integrated out) of batch visible
 * configurations; out receives batch values (out_len must be batch).
 * Errors as rbm_machine_energy. */
RBM_API rbm_status rbm_machine_free_energy(const rbm_machine *m, size_t batch, const double *v,
                                           size_t v_len, double *out, size_t out_len);

/* Free energy of hidden configurations, F_h(h) = -b.h + sum_j phi_h(h_j)
 * - sum_i Lambda_v(a_i + (W h)_i), so that p(h) = exp(-F_h(h))/Z; out
 * receives batch values (out_len must be batch). Errors as
 * rbm_machine_energy. */
RBM_API rbm_status rbm_machine_free_energy_hidden(const rbm_machine *m, size_t batch,
                                                  const double *h, size_t h_len, double *out,
                                                  size_t out_len);

/* Conditional means: hidden_mean writes E[h|v] (batch x N_h) for batch
 * visible states; visible_mean writes E[v|h] (batch x N_v).
 * Errors: RBM_ERR_NULL, RBM_ERR_SHAPE, RBM_ERR_NOT_FINITE,
 * RBM_ERR_NUMERICAL (a mean would not be finite in double, e.g. a Gaussian
 * sigma^2 u beyond DBL_MAX): a value returned with RBM_OK is always finite;
 * after RBM_ERR_NUMERICAL the contents of out are unspecified. */
RBM_API rbm_status rbm_machine_hidden_mean(const rbm_machine *m, size_t batch, const double *v,
                                           size_t v_len, double *out, size_t out_len);
RBM_API rbm_status rbm_machine_visible_mean(const rbm_machine *m, size_t batch, const double *h,
                                            size_t h_len, double *out, size_t out_len);

/* Conditional samples h ~ p(h|v) and v ~ p(v|h), drawn with rng (unit
 * order: row by row, unit by unit, one deviate each).
 * Errors: as the means, plus RBM_ERR_NULL for rng. After RBM_ERR_NUMERICAL
 * rng is left in the state it had before the call. */
RBM_API rbm_status rbm_machine_sample_hidden(const rbm_machine *m, rbm_rng *rng, size_t batch,
                                             const double *v, size_t v_len, double *out,
                                             size_t out_len);
RBM_API rbm_status rbm_machine_sample_visible(const rbm_machine *m, rbm_rng *rng, size_t batch,
                                              const double *h, size_t h_len, double *out,
                                              size_t out_len);

/* Exact change of variables between {0,1} and +-1 units (docs/theory.md §1.4):
 * creates a new machine (owned by the caller) in which every Bernoulli layer
 * of m becomes Ising (to == RBM_UNIT_ISING) or every Ising layer becomes
 * Bernoulli (to == RBM_UNIT_BERNOULLI); Gaussian layers are kept. The
 * distribution over mapped states is identical:
 *   log p_m(x) = log p_out(map(x)) for all x,
 *   log Z_m = log Z_out + *log_z_shift.
 * log_z_shift may be NULL. Layers that already have kind `to` are copied.
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (to is Gaussian),
 * RBM_ERR_NO_MEMORY. */
RBM_API rbm_status rbm_machine_convert(const rbm_machine *m, rbm_unit_kind to, rbm_machine **out,
                                       double *log_z_shift);

/* Save a machine (shapes, unit kinds, sigmas, precision, W, a, b) to path
 * in the librbm model format (docs/file-format.md: little-endian whatever
 * the host, a CRC-32 per section). The write is atomic: the data goes to a
 * temporary file "<path>.rbm-tmp.<pid>.XXXXXX" in the same directory which
 * is renamed over path only after a successful write and flush, so a failed
 * save leaves any previous file intact and no temporary behind; temporaries
 * of the same path left by processes that no longer exist (killed between
 * write and rename) are removed first. Only a regular file is replaced: a
 * directory, FIFO, device or socket at path is refused with RBM_ERR_IO
 * naming path and its type; a symbolic link to a regular file is followed
 * (that file is replaced, the link stays), any other link is refused.
 * docs/reliability.md "Atomic saves" has the details. Errors: RBM_ERR_NULL,
 * RBM_ERR_IO (with the OS reason). */
RBM_API rbm_status rbm_machine_save(const rbm_machine *m, const char *path);

/* Load a machine saved by rbm_machine_save into a new machine owned by the
 * caller. Every size is validated before allocation; truncated, corrupted
 * (checksum mismatch) or hostile files give RBM_ERR_BAD_FORMAT with the
 * offset and field in the detail; sizes beyond what the file can hold give
 * RBM_ERR_BAD_FORMAT, products that overflow RBM_ERR_TOO_LARGE.
 * A stored sigma outside the range of the stored precision (see
 * rbm_machine_sigma) gives RBM_ERR_BAD_FORMAT.
 * Errors also: RBM_ERR_NULL, RBM_ERR_IO, RBM_ERR_NO_MEMORY,
 * RBM_ERR_NOT_NORMALIZABLE (a stored Gauss-Gauss machine that violates the
 * bound). */
RBM_API rbm_status rbm_machine_load(rbm_context *ctx, const char *path, rbm_machine **out);

/* Provenance: a free-form text (e.g. "key=value" lines) describing where
 * the machine's training data came from (source, generator parameters and
 * seed, transform), saved with the machine in the optional 'provenance'
 * section (docs/file-format.md; files without it load as before, and older
 * readers skip it) and copied by rbm_machine_clone. text is copied; NULL or
 * "" removes it; at most RBM_PROVENANCE_MAX bytes. The library does not
 * interpret it ('rbm train' writes it and the analysis commands read their
 * default data from it). rbm_machine_provenance returns the machine's copy
 * (valid until the next set or free) or NULL when there is none.
 * Errors: RBM_ERR_NULL, RBM_ERR_TOO_LARGE, RBM_ERR_NO_MEMORY. */
#define RBM_PROVENANCE_MAX 65536
RBM_API rbm_status rbm_machine_set_provenance(rbm_machine *m, const char *text);
RBM_API const char *rbm_machine_provenance(const rbm_machine *m);

#ifdef __cplusplus
}
#endif
#endif /* RBM_MACHINE_H */
