/* librbm — estimator_impl: the layout of an estimator and the table of
 * operations each estimator family implements.
 *
 * rbm_estimator_compute (estimator.c) runs, for every kind,
 *   positive phase   e->ph = E[h|v] of the batch (ops->positive, or the
 *                    default: hidden field, then its mean), then
 *                    G = <v ph^T>, da = <v>, db = <ph> over the batch;
 *   negative_real    the model term subtracted in the compute type from the
 *                    real-typed weight accumulator G (CD, PCD);
 *   G -> g->dW       conversion to double (float32 only);
 *   negative_f64     the model term subtracted in double from g (EXACT, EMF).
 * A family sets the negative op it needs and leaves the other NULL.
 * Family state lives in the union e->u; only the family's own ops touch its
 * member. */
#ifndef RBM_TRAIN_ESTIMATOR_IMPL_H
#define RBM_TRAIN_ESTIMATOR_IMPL_H

#include "core/internal.h"
#include "model/enumerate.h"
#include "train/checkpoint.h"
#include "train/estimator_emf.h"
#include "train/tempering.h"

typedef struct rbm__estimator_ops {
    /* What k counts ("Gibbs sweeps"), for the k >= 1 check; NULL when the
     * kind ignores k. */
    const char *k_counts;
    /* What RBM_ESTIMATOR_CHAINS counts ("persistent chains"), NULL when the
     * kind keeps none. */
    const char *chains_are;
    /* Allocate the family state; the common fields are set. n_chains: chains
     * or particles (0: max_batch); seed: the estimator's seed. */
    rbm_status (*init)(rbm_estimator *e, size_t n_chains, uint64_t seed);
    /* Release the family state (also after a failed init). */
    void (*release)(rbm_estimator *e);
    /* e->ph = E[h|v] for the batch v (B rows); NULL for the default. */
    void (*positive)(rbm_estimator *e, size_t B, const void *v);
    /* Subtract the model term from G (real nv x nh), g->da, g->db. */
    void (*negative_real)(rbm_estimator *e, size_t B, void *G, rbm_gradient *g);
    /* Subtract the model term from g (double), after G became g->dW. */
    rbm_status (*negative_f64)(rbm_estimator *e, size_t B, const void *v, rbm_gradient *g);
    /* A computation moves the persistent state (chains, particles)
     * tentatively; commit keeps the move, rollback restores the state as it
     * was before the computation, bit for bit. NULL: no persistent state
     * beyond the estimator's rng, which estimator.c keeps itself. */
    void (*commit)(rbm_estimator *e);
    void (*rollback)(rbm_estimator *e);
} rbm__estimator_ops;

extern const rbm__estimator_ops rbm__estimator_cd_ops;    /* estimator_gibbs.c */
extern const rbm__estimator_ops rbm__estimator_pcd_ops;   /* estimator_gibbs.c */
extern const rbm__estimator_ops rbm__estimator_exact_ops; /* estimator_exact.c */
extern const rbm__estimator_ops rbm__estimator_emf_ops;   /* estimator_mf_ops.c */
extern const rbm__estimator_ops rbm__estimator_pt_ops;    /* estimator_pt.c */

/* CD: chains restarted at every batch (max_batch rows), compute type. */
typedef struct rbm__cd_state {
    void *v, *h, *fv, *fh;
} rbm__cd_state;

/* PCD: persistent chains and E[h|v] of their states (n_chains x nh). */
typedef struct rbm__pcd_state {
    rbm_sampler *chains;
    void *h_mean;
} rbm__pcd_state;

/* EXACT: how the model statistics are computed. */
typedef enum rbm__exact_method {
    RBM__EXACT_ENUMERATE,  /* sum over the states of one discrete layer */
    RBM__EXACT_GAUSS_GAUSS, /* closed form of the joint Gaussian (linear.c) */
    RBM__EXACT_POTTS        /* a Potts visible layer: rbm__potts_exact_stats */
} rbm__exact_method;

typedef struct rbm__exact_state {
    rbm__exact_method method;
    rbm_layer layer;       /* ENUMERATE: the enumerated layer */
    rbm__enum_ws ws;       /* ENUMERATE: rbm__exact_stats workspace */
    double *gg_ws;         /* GAUSS_GAUSS: rbm__gauss_gauss_stats workspace; POTTS: its */
    double *vh, *v, *h;    /* model statistics <v h^T>, <v>, <h> */
} rbm__exact_state;

/* MF, TAP2, TAP3: persistent magnetisation particles. */
typedef struct rbm__emf_state {
    rbm__mf_emf *particles;
} rbm__emf_state;

/* PT: a temperature ladder of persistent replicas, its undo copy, E[h|v] of
 * the top replica's chains (n x nh, double), and the calls since creation
 * (before the call awaiting commit in calls_prev). */
typedef struct rbm__pt_state {
    rbm_tempering *pt;
    rbm__tempering_saved *undo;
    double *h_mean;
    uint64_t calls, calls_prev;
    bool saved; /* undo holds the state before the call awaiting commit */
} rbm__pt_state;

/* Checkpoint part of a PT estimator (estimator_pt.c): u64 retune period,
 * u64 calls, then the ladder (rbm__tempering_write_state). */
void rbm__estimator_pt_write_state(const rbm_estimator *e, rbm__wbuf *w);
rbm_status rbm__estimator_pt_read_state(rbm_estimator *e, rbm__ckpt_in *in);

struct rbm_estimator {
    rbm_context *ctx;
    rbm_machine *m;
    rbm_estimator_kind kind;
    const rbm__estimator_ops *ops;
    size_t k, max_batch;
    size_t chains;  /* RBM_ESTIMATOR_CHAINS as set (0: max_batch) */
    size_t replicas; /* RBM_ESTIMATOR_REPLICAS as set (0: the default; PT only) */
    size_t retune;   /* RBM_ESTIMATOR_RETUNE_EVERY (PT only; 0: never) */
    uint64_t seed;  /* the seed given at creation: chains are re-made from it */
    rbm_precision prec;
    const rbm__kern *kern;
    rbm_rng rng;
    rbm_rng rng_prev; /* the rng before the computation awaiting commit */
    bool pending;     /* a computation awaits commit or rollback */
    void *vin; /* max_batch x nv: input converted to the compute type */
    void *ph;  /* max_batch x nh: E[h|v] of the data */
    void *phw; /* max_batch x nh: E[h|v] times the normalised batch weights */
    const double *bw; /* weights of the next batch (borrowed), NULL: every row 1 */
    double *bwn;      /* max_batch: bw / sum(bw) */
    void *gw;  /* nv x nh weight accumulator in float32 (NULL for float64) */
    rbm_gradient *gs; /* rbm_estimator_compute's scratch: g is written only on success */
    union {
        rbm__cd_state cd;
        rbm__pcd_state pcd;
        rbm__exact_state exact;
        rbm__emf_state emf;
        rbm__pt_state pt;
    } u;
};

#endif /* RBM_TRAIN_ESTIMATOR_IMPL_H */
