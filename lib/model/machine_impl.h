/* librbm — machine_impl: the layout of struct rbm_machine (private to
 * lib/model).
 *
 * Other folders read a machine through rbm__machine_view (core/internal.h)
 * and write its parameters through the mutators of model/machine.h. The
 * machine begins with its view, so rbm__machine_view_of is &m->view:
 *
 * - the scalars are the view's own fields, also reachable by name (m->nv,
 *   m->sigma_v, ...) through the anonymous struct, which has the view's
 *   leading fields with the same types (a common initial sequence);
 * - the parameter arrays are the writable W, a, b, Wf, af, bf below; the
 *   view's const pointers are the same arrays. machine.c publishes them into
 *   the view whenever it (re)allocates one (rbm__machine_publish); no other
 *   file assigns these pointers. */
#ifndef RBM_MODEL_MACHINE_IMPL_H
#define RBM_MODEL_MACHINE_IMPL_H

#include "core/internal.h"

struct rbm_machine {
    union {
        rbm__machine_view view;
        struct {
            rbm_context *ctx;
            size_t nv, nh;
            rbm_unit_kind vk, hk;
            double sigma_v, sigma_h;
            rbm_precision prec;
            size_t nq, nvw;
        };
    };
    double *W; /* nvw x nh (row i*nq + c for site i, state c) */
    double *a; /* nvw */
    double *b; /* nh */
    float *Wf, *af, *bf; /* float32 mirror (prec == FLOAT32), else NULL */
    char *provenance; /* rbm_machine_set_provenance text, or NULL (model_file.c) */
};
_Static_assert(offsetof(struct rbm_machine, prec) == offsetof(rbm__machine_view, prec) &&
                   offsetof(struct rbm_machine, nvw) == offsetof(rbm__machine_view, nvw),
               "the named scalars of a machine are its view's");

/* Copy the array pointers into the view (after any of them changes). */
static inline void rbm__machine_publish(rbm_machine *m)
{
    m->view.W = m->W;
    m->view.a = m->a;
    m->view.b = m->b;
    m->view.Wf = m->Wf;
    m->view.af = m->af;
    m->view.bf = m->bf;
}

#endif /* RBM_MODEL_MACHINE_IMPL_H */
