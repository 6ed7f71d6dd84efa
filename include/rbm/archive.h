/* librbm — training archives: the trajectory of a run in one append-only
 * file (docs/interop.md "librbm's training archive", layout in
 * docs/file-format.md "Training archive").
 *
 * An archive holds, in the order they were appended:
 *   - models: a machine (shapes, unit kinds, sigmas, precision, W, a, b in
 *     float64) with the training step it was saved at and the seconds of
 *     training until then;
 *   - spectra: the singular values of W at a step (one is recorded with
 *     every model; more may be appended between models);
 *   - the training configuration (free text, e.g. the command line and the
 *     settings; the last one appended is current);
 *   - checkpoints: the complete training state (a librbm checkpoint file,
 *     rbm_trainer_save_checkpoint) so that a run can be resumed.
 * Each record is framed (tag, length, CRC-32) and written with one write()
 * followed by fdatasync(): a process killed while appending (kill -9, power
 * loss after the data reached the disk) leaves a torn last record, which
 * readers ignore; everything appended before stays readable. The first
 * record that is incomplete or fails its CRC ends the archive: readers stop
 * there (rbm_archive_ignored_bytes says how much was skipped) and opening
 * for append cuts it off before adding new records.
 *
 * Python reads archives without h5py or librbm: tools/rbm_archive.py.
 *
 * THREAD SAFETY: an archive belongs to its context's threading domain. One
 * process at a time may hold an archive open for append (an exclusive
 * advisory lock; a second gets RBM_ERR_IO "in use"); readers may open it
 * meanwhile and see the records complete at the time they opened it. */
#ifndef RBM_ARCHIVE_H
#define RBM_ARCHIVE_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rbm_archive rbm_archive;

/* Open flags. READ: an existing archive, read-only. APPEND: read it and
 * append to it; the file is created (empty archive) when missing. */
#define RBM_ARCHIVE_READ 0u
#define RBM_ARCHIVE_APPEND 1u

/* Open path. The records are indexed at open (payloads are read on demand).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (unknown flags),
 * RBM_ERR_IO (missing with READ, not a regular file, locked by another
 * appender, OS errors), RBM_ERR_BAD_FORMAT (not a librbm archive: wrong
 * magic or version), RBM_ERR_NO_MEMORY. The caller owns *out. */
RBM_API rbm_status rbm_archive_open(rbm_context *ctx, const char *path, unsigned flags,
                                    rbm_archive **out);
/* Close the file and release the archive; NULL is a no-op. */
RBM_API void rbm_archive_free(rbm_archive *a);

/* Bytes at the end of the file that were not a complete, valid record when
 * the archive was opened (a torn tail; with APPEND they have been cut off). */
RBM_API uint64_t rbm_archive_ignored_bytes(const rbm_archive *a);

/* ---- models ---- */

/* Number of models stored (0 for NULL). */
RBM_API size_t rbm_archive_count(const rbm_archive *a);
/* Step and training seconds of model i (either pointer may be NULL).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (i >= count). */
RBM_API rbm_status rbm_archive_info(const rbm_archive *a, size_t i, uint64_t *step,
                                    double *seconds);
/* Model i as a new machine owned by the caller (in the archive's context).
 * Errors: RBM_ERR_NULL, RBM_ERR_INVALID_ARGUMENT (i), RBM_ERR_IO,
 * RBM_ERR_BAD_FORMAT (a record changed on disk since open, or inconsistent
 * sizes), RBM_ERR_NO_MEMORY, and the machine checks of rbm_machine_load. */
RBM_API rbm_status rbm_archive_load_machine(const rbm_archive *a, size_t i, rbm_machine **out);
/* Append m (saved at training step `step`, after `seconds` of training),
 * followed by a spectrum record of W's singular values at the same step.
 * Errors: RBM_ERR_NULL, RBM_ERR_STATE (archive opened READ),
 * RBM_ERR_INVALID_ARGUMENT (seconds negative or not finite), RBM_ERR_IO
 * (write or sync failed: the archive is unchanged for readers, the torn
 * record is cut off at the next append), RBM_ERR_NO_MEMORY,
 * RBM_ERR_NUMERICAL (the SVD failed: nothing appended). */
RBM_API rbm_status rbm_archive_append_machine(rbm_archive *a, const rbm_machine *m,
                                              uint64_t step, double seconds);

/* ---- spectra (the spectrum history) ---- */

RBM_API size_t rbm_archive_spectrum_count(const rbm_archive *a);
/* Step and number of singular values (min(N_v, N_h)) of spectrum i. */
RBM_API rbm_status rbm_archive_spectrum_info(const rbm_archive *a, size_t i, uint64_t *step,
                                             size_t *n_values);
/* The singular values of spectrum i, descending, into out (len must be its
 * n_values; RBM_ERR_SHAPE otherwise). */
RBM_API rbm_status rbm_archive_get_spectrum(const rbm_archive *a, size_t i, double *out,
                                            size_t len);
/* Append singular values sv[0..n) (n >= 1, finite, >= 0) at step. */
RBM_API rbm_status rbm_archive_append_spectrum(rbm_archive *a, uint64_t step, const double *sv,
                                               size_t n);

/* ---- configuration ---- */

/* Append the training configuration text (UTF-8, NUL-terminated, at most
 * 1 MiB). Errors: RBM_ERR_NULL, RBM_ERR_STATE (READ), RBM_ERR_TOO_LARGE,
 * RBM_ERR_IO. */
RBM_API rbm_status rbm_archive_set_config(rbm_archive *a, const char *text);
/* The last configuration appended into buf (cap bytes, NUL-terminated); *len
 * (may be NULL) receives its length without the NUL, which may be >= cap
 * (then buf holds a cut copy: call again with cap *len + 1). No
 * configuration gives "" and *len 0. buf may be NULL when cap is 0. */
RBM_API rbm_status rbm_archive_get_config(const rbm_archive *a, char *buf, size_t cap,
                                          size_t *len);

/* ---- checkpoints ---- */

/* Append the complete training state of t (rbm_trainer_save_checkpoint
 * written to a temporary file beside the archive, then copied in as one
 * record; the temporary is removed). Errors: those of
 * rbm_trainer_save_checkpoint, RBM_ERR_STATE (READ), RBM_ERR_IO. */
RBM_API rbm_status rbm_archive_append_checkpoint(rbm_archive *a, const rbm_trainer *t);
/* Number of checkpoints stored; the step of the last one into *step (may be
 * NULL; 0 when there is none). */
RBM_API size_t rbm_archive_checkpoint_count(const rbm_archive *a, uint64_t *step);
/* Write the last checkpoint to path (atomically, as rbm_machine_save), for
 * rbm_trainer_load_checkpoint. Errors: RBM_ERR_NULL, RBM_ERR_STATE (no
 * checkpoint), RBM_ERR_IO, RBM_ERR_BAD_FORMAT. */
RBM_API rbm_status rbm_archive_extract_checkpoint(const rbm_archive *a, const char *path);

/* ---- when to save ---- */

/* Log-spaced save steps for a run of total_steps updates, as `rbms` saves
 * them: the distinct values of floor(10^(k log10(total_steps) / (n - 1))),
 * k = 0..n-1 (so 1 and total_steps are always included), ascending.
 * steps[0..cap) receives them, *count their number (<= n_saves; may exceed
 * cap; steps may be NULL when cap is 0). Errors: RBM_ERR_NULL (ctx,
 * count), RBM_ERR_INVALID_ARGUMENT (total_steps 0 or n_saves < 2). */
RBM_API rbm_status rbm_archive_log_schedule(rbm_context *ctx, uint64_t total_steps,
                                            size_t n_saves, uint64_t *steps, size_t cap,
                                            size_t *count);

#ifdef __cplusplus
}
#endif
#endif /* RBM_ARCHIVE_H */
