/* librbm — optimizer: the update rule of a trainer (trainer.h has the
 * formulas). An update is first proved finite by a cheap bound
 * (update_provably_finite); when the bound fails it is computed dry, without
 * storing anything, and refused if any new parameter or moment would be
 * NaN or infinite, so a refused step changes nothing. */
#include "core/internal.h"
#include "train/gradient_impl.h"
#include "model/machine.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct rbm__optimizer {
    rbm_context *ctx;
    rbm_machine *m;
    rbm_optimizer kind;
    double lr, mom, b1, b2, eps, l1, l2;
    double *uW, *ua, *ub; /* momentum velocity / Adam first moment */
    double *sW, *sa, *sb; /* Adam second moment */
    double b1t, b2t;      /* b1^t, b2^t */
    double maxu;          /* max |u| after the last momentum update */
    double *candW;        /* Gauss-Gauss: candidate weights before the bound check */
    rbm__singular_ws sws; /* Gauss-Gauss: workspace of the bound check */
};

const char *rbm_optimizer_name(rbm_optimizer opt)
{
    switch (opt) {
    case RBM_OPTIMIZER_SGD: return "sgd";
    case RBM_OPTIMIZER_MOMENTUM: return "momentum";
    case RBM_OPTIMIZER_ADAM: return "adam";
    }
    return NULL;
}

rbm_status rbm_optimizer_parse(const char *name, rbm_optimizer *out)
{
    if (!name || !out)
        return RBM_ERR_NULL;
    for (int k = 0; k <= RBM_OPTIMIZER_ADAM; k++)
        if (strcmp(name, rbm_optimizer_name((rbm_optimizer)k)) == 0) {
            *out = (rbm_optimizer)k;
            return RBM_OK;
        }
    return RBM_ERR_INVALID_ARGUMENT;
}

/* ---------------- lifetime and configuration ---------------- */

static void free_moments(rbm__optimizer *o)
{
    double **all[] = {&o->uW, &o->ua, &o->ub, &o->sW, &o->sa, &o->sb};
    for (size_t i = 0; i < 6; i++) {
        rbm__free(o->ctx, *all[i]);
        *all[i] = NULL;
    }
}

void rbm__optimizer_free(rbm__optimizer *o)
{
    if (!o)
        return;
    free_moments(o);
    rbm__free(o->ctx, o->candW);
    rbm__singular_ws_free(o->ctx, &o->sws);
    rbm__free(o->ctx, o);
}

rbm_status rbm__optimizer_new(rbm_machine *m, rbm__optimizer **out)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    rbm__optimizer *o;
    rbm_status st = rbm__xcalloc(mv->ctx, 1, sizeof *o, &o, "optimiser");
    if (st)
        return st;
    o->ctx = mv->ctx;
    o->m = m;
    o->kind = RBM_OPTIMIZER_SGD;
    o->lr = 0.01;
    o->mom = 0.9;
    o->b1 = 0.9;
    o->b2 = 0.999;
    o->eps = 1e-8;
    o->b1t = o->b2t = 1.0;
    if (mv->vk == RBM_UNIT_GAUSSIAN && mv->hk == RBM_UNIT_GAUSSIAN &&
        ((st = rbm__xcalloc(mv->ctx, mv->nvw * mv->nh, sizeof(double), &o->candW,
                            "candidate weights")) ||
         (st = rbm__singular_ws_init(m, &o->sws)))) {
        rbm__optimizer_free(o);
        return st;
    }
    *out = o;
    return RBM_OK;
}

static rbm_status alloc_moments(rbm__optimizer *o, double **W, double **a, double **b)
{
    const rbm__machine_view *mv = rbm__machine_view_of(o->m);
    rbm_status st;
    if ((st = rbm__xcalloc(o->ctx, mv->nvw * mv->nh, sizeof(double), W, "optimiser state")) ||
        (st = rbm__xcalloc(o->ctx, mv->nvw, sizeof(double), a, "optimiser state")) ||
        (st = rbm__xcalloc(o->ctx, mv->nh, sizeof(double), b, "optimiser state")))
        return st;
    return RBM_OK;
}

rbm_status rbm__optimizer_set_kind(rbm__optimizer *o, rbm_optimizer kind)
{
    if (kind != RBM_OPTIMIZER_SGD && kind != RBM_OPTIMIZER_MOMENTUM && kind != RBM_OPTIMIZER_ADAM)
        return rbm__fail(o->ctx, RBM_ERR_INVALID_ARGUMENT, "unknown optimiser %d", (int)kind);
    free_moments(o);
    rbm_status st = RBM_OK;
    if (kind != RBM_OPTIMIZER_SGD)
        st = alloc_moments(o, &o->uW, &o->ua, &o->ub);
    if (!st && kind == RBM_OPTIMIZER_ADAM)
        st = alloc_moments(o, &o->sW, &o->sa, &o->sb);
    if (st) {
        free_moments(o);
        o->kind = RBM_OPTIMIZER_SGD;
        return st;
    }
    o->kind = kind;
    o->b1t = o->b2t = 1.0;
    o->maxu = 0.0;
    return RBM_OK;
}

rbm_optimizer rbm__optimizer_kind(const rbm__optimizer *o)
{
    return o->kind;
}

static const rbm__param_spec trainer_specs[] = {
    {RBM_TRAINER_LEARNING_RATE, "RBM_TRAINER_LEARNING_RATE", RBM__PARAM_REAL, 0, INFINITY, true,
     true},
    {RBM_TRAINER_MOMENTUM, "RBM_TRAINER_MOMENTUM", RBM__PARAM_REAL, 0, 1, false, true},
    {RBM_TRAINER_ADAM_BETA1, "RBM_TRAINER_ADAM_BETA1", RBM__PARAM_REAL, 0, 1, false, true},
    {RBM_TRAINER_ADAM_BETA2, "RBM_TRAINER_ADAM_BETA2", RBM__PARAM_REAL, 0, 1, false, true},
    {RBM_TRAINER_ADAM_EPSILON, "RBM_TRAINER_ADAM_EPSILON", RBM__PARAM_REAL, 0, INFINITY, true,
     true},
    {RBM_TRAINER_L1, "RBM_TRAINER_L1", RBM__PARAM_REAL, 0, INFINITY, false, true},
    {RBM_TRAINER_L2, "RBM_TRAINER_L2", RBM__PARAM_REAL, 0, INFINITY, false, true},
    {RBM_TRAINER_CENTERING_RATE, "RBM_TRAINER_CENTERING_RATE", RBM__PARAM_REAL, 0, 1, true,
     false},
    {RBM_TRAINER_MONITOR_EVERY, "RBM_TRAINER_MONITOR_EVERY", RBM__PARAM_INT, 0, INT32_MAX, false,
     false},
    {RBM_TRAINER_CENTERED, "RBM_TRAINER_CENTERED", RBM__PARAM_BOOL, 0, 1, false, false},
};

const rbm__param_table rbm__trainer_params = {"trainer", "rbm_trainer", 100, trainer_specs,
                                              sizeof trainer_specs / sizeof trainer_specs[0]};

/* The slot of a real key; NULL for the trainer's own integer key. */
static double *real_slot(rbm__optimizer *o, rbm_trainer_param key)
{
    switch (key) {
    case RBM_TRAINER_LEARNING_RATE: return &o->lr;
    case RBM_TRAINER_MOMENTUM: return &o->mom;
    case RBM_TRAINER_ADAM_BETA1: return &o->b1;
    case RBM_TRAINER_ADAM_BETA2: return &o->b2;
    case RBM_TRAINER_ADAM_EPSILON: return &o->eps;
    case RBM_TRAINER_L1: return &o->l1;
    case RBM_TRAINER_L2: return &o->l2;
    case RBM_TRAINER_CENTERING_RATE:
    case RBM_TRAINER_CENTERED:
    case RBM_TRAINER_MONITOR_EVERY: break;
    }
    return NULL;
}

rbm_status rbm__optimizer_set_real(rbm__optimizer *o, rbm_trainer_param key, double value)
{
    const rbm__param_spec *spec;
    rbm_status st = rbm__param_check(o->ctx, &rbm__trainer_params, "rbm_trainer_set_real",
                                     (int32_t)key, RBM__PARAM_REAL, value, &spec);
    if (st)
        return st;
    *real_slot(o, key) = value;
    return RBM_OK;
}

rbm_status rbm__optimizer_get_real(const rbm__optimizer *o, rbm_trainer_param key, double *out)
{
    rbm_status st = rbm__param_get_check(o->ctx, &rbm__trainer_params, "rbm_trainer_get_real",
                                         (int32_t)key, RBM__PARAM_REAL, out);
    if (st)
        return st;
    *out = *real_slot((rbm__optimizer *)o, key);
    return RBM_OK;
}

/* ---------------- the update ---------------- */

static inline double sgn(double x)
{
    return (double)((x > 0) - (x < 0));
}

/* What update() does with the new values it computes. */
typedef enum upd_mode {
    UPD_CHECK,     /* store nothing; report whether every new value is finite */
    UPD_CANDIDATE, /* store the new parameters in cand only (moments untouched) */
    UPD_APPLY      /* store parameters and moments in place */
} upd_mode;

/* theta[i] += update of direction d[i] = g[i] - l2 theta - l1 sign(theta),
 * with Adam bias corrections c1, c2. Returns whether every new parameter and
 * moment is finite and every new parameter within the precision's limit
 * (UPD_CHECK, UPD_CANDIDATE; true for UPD_APPLY). The
 * three modes compute the same values bit for bit. */
static bool update(const rbm__optimizer *o, size_t n, double *theta, const double *g, double *u,
                   double *s, double l1, double l2, double c1, double c2, upd_mode mode,
                   double *cand)
{
    if (mode == UPD_APPLY && o->kind == RBM_OPTIMIZER_SGD) {
        rbm__sgd_update(n, theta, g, o->lr, l1, l2);
        return true;
    }
    const double lim = rbm__param_limit(rbm__machine_view_of(o->m)->prec);
    double acc = 0.0; /* NaN/Inf in any candidate makes acc NaN */
    bool within = true;
    for (size_t i = 0; i < n; i++) {
        double d = g[i] - l2 * theta[i] - l1 * sgn(theta[i]);
        double th, ui = 0, si = 0;
        switch (o->kind) {
        case RBM_OPTIMIZER_SGD:
            th = theta[i] + o->lr * d;
            break;
        case RBM_OPTIMIZER_MOMENTUM:
            ui = o->mom * u[i] + o->lr * d;
            th = theta[i] + ui;
            break;
        default: /* Adam */
            ui = o->b1 * u[i] + (1 - o->b1) * d;
            si = o->b2 * s[i] + (1 - o->b2) * d * d;
            th = theta[i] + o->lr * (ui / c1) / (sqrt(si / c2) + o->eps);
            break;
        }
        if (mode != UPD_APPLY) {
            acc += (th + ui + si) * 0.0;
            within &= fabs(th) <= lim;
            if (mode == UPD_CANDIDATE)
                cand[i] = th;
            continue;
        }
        theta[i] = th;
        if (o->kind != RBM_OPTIMIZER_SGD)
            u[i] = ui;
        if (o->kind == RBM_OPTIMIZER_ADAM)
            s[i] = si;
    }
    return acc == 0.0 && within;
}

/* max |x| over a parameter-shaped triple (W, a, b); +Inf if any is not finite */
static double max_abs_params(const rbm_machine *m, const double *W, const double *a,
                             const double *b)
{
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    return fmax(rbm__max_abs(mv->nvw * mv->nh, W),
                fmax(rbm__max_abs(mv->nvw, a), rbm__max_abs(mv->nh, b)));
}

/* The Cauchy-Schwarz constant of Adam: for b1^2 < b2 and moments grown from
 * zero (or loaded within the bound, see rbm__optimizer_read_state),
 * |m_t| <= K sqrt(s_t) with K = (1-b1) / sqrt((1-b2)(1 - b1^2/b2)) -- in
 * exact arithmetic. In floating point d^2 underflows for |d| below about
 * 1e-154 while d does not, so s can be 0 with m as large as about 1e-155:
 * the bound used is |m| <= K sqrt(s) + ADAM_TINY_MOMENT. */
#define ADAM_TINY_MOMENT 1e-150
static double adam_ratio_bound(const rbm__optimizer *o)
{
    return (1 - o->b1) / sqrt((1 - o->b2) * (1 - o->b1 * o->b1 / o->b2));
}

/* A cheap bound proving that the in-place update cannot leave the
 * parameters' limit for the machine's precision (rbm__param_limit); when it
 * fails the step is first computed without storing (UPD_CHECK). */
static bool update_provably_finite(const rbm__optimizer *o, double maxg, double c1, double c2)
{
    const rbm_machine *m = o->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    double maxth = max_abs_params(m, mv->W, mv->a, mv->b);
    double dmax = maxg + o->l2 * maxth + o->l1;
    double step;
    switch (o->kind) {
    case RBM_OPTIMIZER_SGD:
        step = o->lr * dmax;
        break;
    case RBM_OPTIMIZER_MOMENTUM:
        step = o->mom * o->maxu + o->lr * dmax;
        break;
    default:
        if (o->b1 * o->b1 >= o->b2 || !(c1 > 0))
            return false;
        /* |m/c1| / (sqrt(s/c2) + eps) <= (K sqrt(c2) + ADAM_TINY_MOMENT / eps) / c1 */
        step = o->lr * (adam_ratio_bound(o) * sqrt(c2) + ADAM_TINY_MOMENT / o->eps) / c1;
        if (!(dmax < 1e150)) /* d^2 must not overflow */
            return false;
        break;
    }
    return isfinite(step) && maxth + step < rbm__param_limit(mv->prec);
}

/* Whether every new value of W, a and b stays finite and within the
 * precision's limit: by the bound, or else by computing them unstored. */
static bool update_finite(const rbm__optimizer *o, const rbm_gradient *g, double maxg, double c1,
                          double c2)
{
    const rbm__machine_view *mv = rbm__machine_view_of(o->m);
    if (update_provably_finite(o, maxg, c1, c2))
        return true;
    double *W, *a, *b; /* UPD_CHECK writes nothing */
    rbm__machine_params_mut(o->m, &W, &a, &b);
    return update(o, mv->nvw * mv->nh, W, g->dW, o->uW, o->sW, o->l1, o->l2, c1, c2, UPD_CHECK,
                  NULL) &&
           update(o, mv->nvw, a, g->da, o->ua, o->sa, 0, 0, c1, c2, UPD_CHECK, NULL) &&
           update(o, mv->nh, b, g->db, o->ub, o->sb, 0, 0, c1, c2, UPD_CHECK, NULL);
}

/* b^t from b^(t-1): exactly 0 once 1 - b^t rounds to 1, so the power never
 * underflows into subnormals and a checkpoint can always store it. The bias
 * correction 1 - b^t is the same either way. */
static double next_power(double pt, double b)
{
    double q = pt * b;
    return 1.0 - q == 1.0 ? 0.0 : q;
}

rbm_status rbm__optimizer_step(rbm__optimizer *o, const rbm_gradient *g, double maxg,
                               uint64_t step)
{
    rbm_machine *m = o->m;
    const rbm__machine_view *mv = rbm__machine_view_of(m);
    /* Everything is computed before anything is stored: a refused step
     * leaves parameters, moments and powers exactly as they were. */
    double b1t = o->b1t, b2t = o->b2t, c1 = 1, c2 = 1;
    if (o->kind == RBM_OPTIMIZER_ADAM) {
        b1t = next_power(o->b1t, o->b1);
        b2t = next_power(o->b2t, o->b2);
        c1 = 1 - b1t;
        c2 = 1 - b2t;
    }
    size_t nw = mv->nvw * mv->nh;
    double *mW, *ma, *mb;
    rbm__machine_params_mut(m, &mW, &ma, &mb);
    if (!update_finite(o, g, maxg, c1, c2))
        return rbm__fail(o->ctx, RBM_ERR_NUMERICAL,
                         "update at step %llu would overflow or leave the %s parameter limit "
                         "%g (learning rate %g too large?); parameters, optimiser state, chains "
                         "and rng streams left as they were",
                         (unsigned long long)step,
                         mv->prec == RBM_PRECISION_FLOAT32 ? "float32" : "float64",
                         rbm__param_limit(mv->prec), o->lr);
    if (o->candW) { /* Gauss-Gauss: the candidate weights must keep Z finite */
        update(o, nw, mW, g->dW, o->uW, o->sW, o->l1, o->l2, c1, c2, UPD_CANDIDATE, o->candW);
        rbm_status st =
            rbm__machine_check_normalizable_ws(m, o->candW, mv->sigma_v, mv->sigma_h, &o->sws);
        if (st)
            return st;
    }
    update(o, nw, mW, g->dW, o->uW, o->sW, o->l1, o->l2, c1, c2, UPD_APPLY, NULL);
    update(o, mv->nvw, ma, g->da, o->ua, o->sa, 0, 0, c1, c2, UPD_APPLY, NULL);
    update(o, mv->nh, mb, g->db, o->ub, o->sb, 0, 0, c1, c2, UPD_APPLY, NULL);
    o->b1t = b1t;
    o->b2t = b2t;
    if (o->kind == RBM_OPTIMIZER_MOMENTUM)
        o->maxu = max_abs_params(m, o->uW, o->ua, o->ub);
    rbm__machine_sync(m);
    return RBM_OK;
}

/* ---------------- checkpoints ---------------- */

/* The seven real tunables in the order a checkpoint stores them. */
static const rbm_trainer_param tunables[7] = {
    RBM_TRAINER_LEARNING_RATE, RBM_TRAINER_MOMENTUM, RBM_TRAINER_ADAM_BETA1,
    RBM_TRAINER_ADAM_BETA2,    RBM_TRAINER_ADAM_EPSILON, RBM_TRAINER_L1,
    RBM_TRAINER_L2,
};

void rbm__optimizer_write_config(const rbm__optimizer *o, rbm__wbuf *w)
{
    rbm__wbuf_u32(w, (uint32_t)o->kind);
    for (size_t i = 0; i < 7; i++) {
        double x = 0.0;
        rbm__optimizer_get_real(o, tunables[i], &x);
        rbm__wbuf_f64(w, x);
    }
}

void rbm__optimizer_write_powers(const rbm__optimizer *o, rbm__wbuf *w)
{
    rbm__wbuf_f64(w, o->b1t);
    rbm__wbuf_f64(w, o->b2t);
}

/* u32 present, then W, a, b when present. */
static void write_moments(const rbm__optimizer *o, const double *W, const double *a,
                          const double *b, rbm__wbuf *w)
{
    const rbm__machine_view *mv = rbm__machine_view_of(o->m);
    rbm__wbuf_u32(w, W ? 1 : 0);
    if (W) {
        rbm__wbuf_f64s(w, W, mv->nvw * mv->nh);
        rbm__wbuf_f64s(w, a, mv->nvw);
        rbm__wbuf_f64s(w, b, mv->nh);
    }
}

void rbm__optimizer_write_state(const rbm__optimizer *o, rbm__wbuf *w)
{
    write_moments(o, o->uW, o->ua, o->ub, w);
    write_moments(o, o->sW, o->sa, o->sb, w);
}

void rbm__optimizer_read_config(rbm__ckpt_in *in, rbm__optimizer_config *c)
{
    c->kind = rbm__rbuf_u32(&in->r);
    for (size_t i = 0; i < 7; i++)
        c->reals[i] = rbm__rbuf_f64(&in->r);
}

void rbm__optimizer_read_powers(rbm__ckpt_in *in, rbm__optimizer_config *c)
{
    c->b1t = rbm__rbuf_f64(&in->r);
    c->b2t = rbm__rbuf_f64(&in->r);
}

rbm_status rbm__optimizer_restore(rbm__optimizer *o, const rbm__optimizer_config *c,
                                  rbm__ckpt_in *in)
{
    rbm_status st = rbm__optimizer_set_kind(o, (rbm_optimizer)c->kind);
    if (st == RBM_ERR_NO_MEMORY)
        return st;
    if (st)
        return rbm__ckpt_bad(in, "training state: invalid optimiser (%u)", c->kind);
    for (size_t i = 0; i < 7; i++)
        if (rbm__optimizer_set_real(o, tunables[i], c->reals[i]) != RBM_OK)
            return rbm__ckpt_bad(in, "training state: tunable %zu has invalid value %g", i,
                                 c->reals[i]);
    if (!(c->b1t >= 0 && c->b1t <= 1 && c->b2t >= 0 && c->b2t <= 1))
        return rbm__ckpt_bad(in, "training state: invalid Adam bias-correction powers (%g, %g)",
                             c->b1t, c->b2t);
    o->b1t = c->b1t;
    o->b2t = c->b2t;
    o->maxu = INFINITY; /* unknown until the next momentum update: dry-run first */
    return RBM_OK;
}

static rbm_status read_moments(rbm__optimizer *o, double *W, double *a, double *b,
                               const char *which, rbm__ckpt_in *in)
{
    const rbm__machine_view *mv = rbm__machine_view_of(o->m);
    uint32_t present = rbm__rbuf_u32(&in->r);
    if (present != (W ? 1u : 0u))
        return rbm__ckpt_bad(in, "training state: optimiser moments do not match the optimiser");
    if (!W)
        return RBM_OK;
    char what[3][32];
    snprintf(what[0], sizeof what[0], "%s moment W", which);
    snprintf(what[1], sizeof what[1], "%s moment a", which);
    snprintf(what[2], sizeof what[2], "%s moment b", which);
    rbm_status st;
    if ((st = rbm__ckpt_get_f64s(in, W, mv->nvw * mv->nh, what[0])) ||
        (st = rbm__ckpt_get_f64s(in, a, mv->nvw, what[1])) ||
        (st = rbm__ckpt_get_f64s(in, b, mv->nh, what[2])))
        return st;
    return RBM_OK;
}

/* The invariants the update relies on, over one parameter block: second
 * moments >= 0, and for Adam with b1^2 < b2 the Cauchy-Schwarz bound
 * |m| <= K sqrt(s) + ADAM_TINY_MOMENT of adam_ratio_bound (moments grown
 * from zero satisfy it; a relative slack of 1e-9 covers rounding), which
 * update_provably_finite trusts. */
static rbm_status check_moments(const rbm__optimizer *o, size_t n, const double *u,
                                const double *s, const char *block, rbm__ckpt_in *in)
{
    const bool bounded = o->b1 * o->b1 < o->b2;
    const double K = bounded ? adam_ratio_bound(o) : 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(s[i] >= 0))
            return rbm__ckpt_bad(in, "training state: Adam second moment %s[%zu] is %g (< 0)",
                                 block, i, s[i]);
        if (bounded && !(fabs(u[i]) <= K * sqrt(s[i]) * (1 + 1e-9) + ADAM_TINY_MOMENT))
            return rbm__ckpt_bad(in,
                                 "training state: Adam first moment %s[%zu] = %g exceeds "
                                 "%g sqrt(second moment %g), impossible for these betas",
                                 block, i, u[i], K, s[i]);
    }
    return RBM_OK;
}

rbm_status rbm__optimizer_read_state(rbm__optimizer *o, rbm__ckpt_in *in)
{
    const rbm__machine_view *mv = rbm__machine_view_of(o->m);
    rbm_status st;
    if ((st = read_moments(o, o->uW, o->ua, o->ub, "first", in)) ||
        (st = read_moments(o, o->sW, o->sa, o->sb, "second", in)))
        return st;
    if (o->kind != RBM_OPTIMIZER_ADAM)
        return RBM_OK;
    if ((st = check_moments(o, mv->nvw * mv->nh, o->uW, o->sW, "W", in)) ||
        (st = check_moments(o, mv->nvw, o->ua, o->sa, "a", in)) ||
        (st = check_moments(o, mv->nh, o->ub, o->sb, "b", in)))
        return st;
    return RBM_OK;
}
