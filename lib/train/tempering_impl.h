/* librbm — tempering_impl: the layout of a tempering sampler (tempering*.c
 * only). */
#ifndef RBM_TRAIN_TEMPERING_IMPL_H
#define RBM_TRAIN_TEMPERING_IMPL_H

#include "core/internal.h"

/* Walker phases for round-trip counting. */
enum { WALK_NONE = 0, WALK_FROM_BOTTOM = 1, WALK_AT_TOP = 2 };

struct rbm_tempering {
    rbm_context *ctx;
    rbm_machine *m;        /* temperature ladder: the target (borrowed); else NULL */
    size_t R, n, nv, nh;
    rbm_unit_kind vk, hk;
    double sigma_v, sigma_h;
    rbm_machine **rung;    /* R machines, owned, float64 */
    double *beta;          /* R (temperature ladder), NULL for a trajectory */
    double *abase;         /* nv: base visible biases (temperature ladder) */
    double log_z0;         /* exact log Z of rung 0 */
    rbm_rng rng;
    uint64_t sweeps;
    /* chain state, rung r at offset r * n * (nv | nh | 1) */
    double *v, *h, *fh;    /* fh: field of v under its own rung */
    uint64_t *walker;      /* R * n labels */
    uint8_t *wphase;       /* per walker label: WALK_* */
    uint64_t *wstart;      /* per walker label: sweep of the last visit to rung 0 */
    /* statistics since the last reset */
    uint64_t *acc, *prop;  /* R - 1 */
    double *psum;          /* R - 1: sum of min(1, exp(Delta)) */
    uint64_t trips;
    double trip_sum;
    /* scratch */
    double *fv;            /* n x nv */
    double *xu, *xd;       /* n x nh: fields of v_r under r+1, of v_{r+1} under r */
    double *Fs, *Fx;       /* n each: F_r(v_r) + F_{r+1}(v_{r+1}), cross sum */
    double *wf, *wr;       /* n each: last work values of a pair */
    double *bscratch;      /* R: betas being placed */
};

#endif /* RBM_TRAIN_TEMPERING_IMPL_H */
