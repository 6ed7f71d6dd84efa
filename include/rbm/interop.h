/* librbm — interop: HDF5 archives of the `rbms` package and HDF5 data sets
 * (docs/interop.md).
 *
 * `rbms` (the Decelle-Seoane group's PyTorch RBM package) saves a training
 * run as one HDF5 file: `model_type` (a string), `parallel_chains` (the
 * persistent chains' visible states, n_chains x N_v), `hyperparameters/...`,
 * and one group `update_N` per saved update N with `params/weight_matrix`
 * (N_v x N_h, W), `params/vbias` (a), `params/hbias` (b) -- `rbms` 0.2.1
 * keeps hbias only beside params, as `update_N/hbias`; both places are
 * read -- and `time` (seconds since the run started). The energy is
 * E(v, h) = -v^T W h - a.v - b.h (+ the Gaussian confinement), the same as
 * librbm's (docs/theory.md §1.1).
 *
 * Model types read (`model_type`):
 *   BBRBM  Bernoulli visible, Bernoulli hidden
 *   IIRBM  Ising (+-1) visible, Ising hidden
 *   BGRBM  Bernoulli visible, Gaussian hidden with energy term
 *          (N_v/2) h_j^2, i.e. sigma_h = 1/sqrt(N_v)
 *   IGRBM  Ising visible, Gaussian hidden, sigma_h = 1/sqrt(N_v)
 * Refused with RBM_ERR_UNSUPPORTED naming the type: PBRBM (Potts visible
 * units, which librbm does not have) and every other type.
 *
 * Precision: parameters are read as double (float32 archives are widened
 * exactly). The machine's compute precision follows the archive:
 * a float32 archive gives a RBM_PRECISION_FLOAT32 machine, a float64 one a
 * FLOAT64 machine (rbm_machine_set_precision changes it). The batch
 * functions, log Z and likelihoods compute in double either way.
 *
 * Build: these functions need libhdf5 (meson option hdf5, on when libhdf5
 * is found). Without it every one returns RBM_ERR_UNSUPPORTED with the
 * detail "librbm was built without HDF5 (meson option hdf5)";
 * rbm_hdf5_available tells which build this is.
 *
 * Files: a path is opened only when it is a regular file (directories,
 * FIFOs, devices: RBM_ERR_IO); a file that is not HDF5 gives
 * RBM_ERR_BAD_FORMAT. Trust boundary: the structure of an HDF5 file
 * (missing or extra objects, ranks, dimensions, types, strings, values) is
 * validated here and every refusal is a status; the bytes of the HDF5
 * container itself are decoded by libhdf5, which this library does not
 * harden -- a byte-corrupted HDF5 file from an untrusted source can crash
 * libhdf5 1.10 (docs/reliability.md "HDF5").
 *
 * THREAD SAFETY: libhdf5 (Debian's build) is not thread-safe, so every HDF5
 * call of librbm holds one process-wide lock: these functions may be called
 * from several threads (different contexts) but run one at a time. They
 * also replace libhdf5's process-global error printer while they run;
 * another library in the process that uses libhdf5 at the same time from
 * another thread may see its error printing switched off meanwhile. */
#ifndef RBM_INTEROP_H
#define RBM_INTEROP_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* update argument of rbm_machine_load_rbms: the last saved update. */
#define RBM_RBMS_LAST UINT64_MAX

/* 1 when this librbm was built with HDF5, 0 otherwise. */
RBM_API int rbm_hdf5_available(void);

/* The checkpoints of an `rbms` archive: update numbers (ascending) into
 * updates[0..cap) and their `time` (seconds; NaN when the group has none)
 * into times[0..cap) (either may be NULL); *count receives the number of
 * checkpoints, which may exceed cap (call with cap 0 to size the buffers).
 * A checkpoint is a root group named update_N, N a decimal integer without
 * sign or leading zeros below 2^63; other links are ignored.
 * model_type (may be NULL; cap model_type_cap bytes, >= 32 advised)
 * receives the archive's model type string.
 * Errors: RBM_ERR_NULL, RBM_ERR_IO, RBM_ERR_BAD_FORMAT (not HDF5, no
 * model_type, no checkpoint), RBM_ERR_UNSUPPORTED (no HDF5). */
RBM_API rbm_status rbm_rbms_list(rbm_context *ctx, const char *path, uint64_t *updates,
                                 double *times, size_t cap, size_t *count, char *model_type,
                                 size_t model_type_cap);

/* Load the machine saved at `update` (or the last one: RBM_RBMS_LAST) of an
 * `rbms` archive into a new machine owned by the caller (unit kinds from
 * the model type, precision from the archive's dtype; see above).
 * Errors: RBM_ERR_NULL, RBM_ERR_IO, RBM_ERR_BAD_FORMAT (missing update
 * -- the detail lists the updates present --, missing or malformed
 * parameters), RBM_ERR_SHAPE (W, vbias, hbias disagree), RBM_ERR_NOT_FINITE,
 * RBM_ERR_UNSUPPORTED (model type, no HDF5), RBM_ERR_TOO_LARGE,
 * RBM_ERR_NO_MEMORY. On error *out is NULL. */
RBM_API rbm_status rbm_machine_load_rbms(rbm_context *ctx, const char *path, uint64_t update,
                                         rbm_machine **out);

/* The persistent chains of an `rbms` archive (`parallel_chains`,
 * n_chains x N_v) as a new dataset owned by the caller (float32 or float64
 * as stored). Errors as rbm_dataset_load_hdf5. */
RBM_API rbm_status rbm_rbms_load_chains(rbm_context *ctx, const char *path, rbm_dataset **out);

/* A sampler for m with one chain per row of the archive's
 * `parallel_chains`, its visible states set to those rows and its hidden
 * states drawn from p(h|v) with the sampler's rng (seeded with seed): the
 * `rbms` run's persistent chains, continued by librbm. The caller owns
 * *out; m must outlive it. Errors: as rbm_rbms_load_chains, plus
 * RBM_ERR_SHAPE (chains have other than N_v columns) and those of
 * rbm_sampler_new / rbm_sampler_set_visible. */
RBM_API rbm_status rbm_rbms_load_sampler(rbm_context *ctx, const char *path, rbm_machine *m,
                                         uint64_t seed, rbm_sampler **out);

/* Write an `rbms` archive that `rbms` 0.2 loads (rbms.io.load_model): the
 * n machines models[k] as checkpoints update_{updates[k]} with time
 * times[k] (times may be NULL: 0), `parallel_chains` (chains: n_chains x
 * N_v, chains_len elements, n_chains >= 1: `rbms` reads it on every load),
 * `model_type`, and `hyperparameters` (batch_size, gibbs_steps,
 * learning_rate, num_chains, num_hiddens, num_visibles, filename, L1 = L2 =
 * 0), laid out as `rbms` 0.2.1 writes them (params/... and the copies beside
 * them, time, flags/checkpoint). Parameters are stored as float32 when f32
 * is non-zero (what `rbms` trains with by default), else float64. All
 * machines must have the same shape and unit kinds: Bernoulli-Bernoulli
 * (BBRBM), Ising-Ising (IIRBM), Bernoulli-Gaussian or Ising-Gaussian with
 * sigma_h = 1/sqrt(N_v) (BGRBM, IGRBM); updates strictly increasing. The
 * write is atomic (a temporary renamed over path, as rbm_machine_save).
 * The random-number states of `rbms` are not written: load the archive
 * there with restore=False.
 * Errors: RBM_ERR_NULL (models NULL, n 0 or models[0] NULL: returned without
 * a message, there is no context to report in; updates, chains or path
 * NULL), RBM_ERR_INVALID_ARGUMENT (n_chains 0, updates not increasing, machines of different shapes or kinds, a parameter
 * beyond FLT_MAX with f32), RBM_ERR_UNSUPPORTED (unit kinds or a sigma no
 * `rbms` type has; no HDF5), RBM_ERR_SHAPE (chains_len != n_chains * N_v),
 * RBM_ERR_NOT_FINITE (chains), RBM_ERR_IO. */
RBM_API rbm_status rbm_rbms_save(const rbm_machine *const *models, const uint64_t *updates,
                                 const double *times, size_t n, const double *chains,
                                 size_t n_chains, size_t chains_len, size_t batch_size,
                                 size_t gibbs_steps, double learning_rate, int f32,
                                 const char *path);

/* Load a 2-D numeric dataset (rows x columns) of an HDF5 file: any integer
 * type of 1, 2, 4 or 8 bytes or float32/float64, contiguous or chunked and
 * compressed (the filters libhdf5 has, e.g. gzip, shuffle). dataset is the
 * path inside the file ("/group/name"); NULL means `samples`, the `rbms`
 * convention (an optional `labels` dataset beside it is not read: librbm
 * datasets carry no labels). One-byte unsigned data is kept as uint8, 4-byte
 * floats as float32, everything else converted to float64 (integers beyond
 * 2^53 are rounded). The decoded size is checked against the context's data
 * limit (rbm_context_set_max_data_bytes) before allocation.
 * Errors: RBM_ERR_NULL, RBM_ERR_IO, RBM_ERR_BAD_FORMAT (not HDF5, no such
 * dataset, unreadable), RBM_ERR_SHAPE (rank other than 2, or zero rows or
 * columns), RBM_ERR_UNSUPPORTED (other type classes: strings, compounds,
 * ...; no HDF5), RBM_ERR_TOO_LARGE, RBM_ERR_NOT_FINITE (NaN/Inf, with the
 * element), RBM_ERR_NO_MEMORY. On error *out is NULL. */
RBM_API rbm_status rbm_dataset_load_hdf5(rbm_context *ctx, const char *path,
                                         const char *dataset, rbm_dataset **out);

#ifdef __cplusplus
}
#endif
#endif /* RBM_INTEROP_H */
