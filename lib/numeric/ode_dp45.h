/* librbm — ode_dp45: the adaptive Dormand-Prince 5(4) integrator of
 * dy/dt = f(t, y) for a state vector y of n doubles.
 *
 * A stepper object advances (t, y) one accepted step at a time towards a
 * target time, landing exactly on it, so a caller gets the solution at
 * every output time it asks for. The right-hand side may refuse a point
 * (return false: outside the domain where f is defined); the step is then
 * shrunk and retried. No allocation: the caller provides the workspace. */
#ifndef RBM_NUMERIC_ODE_DP45_H
#define RBM_NUMERIC_ODE_DP45_H

#include <stdbool.h>
#include <stddef.h>

/* dydt = f(t, y); false when y is outside the domain of f. */
typedef bool (*rbm__ode_rhs)(void *user, double t, const double *y, double *dydt);

typedef struct rbm__dp45 {
    size_t n;
    double rtol, atol; /* error weights atol + rtol |y| */
    rbm__ode_rhs f;
    void *user;
    double t;                     /* time of y */
    double h;                     /* the next step size to try */
    double *y;                    /* the state at t (n doubles in the workspace) */
    double *yn, *yt, *k[7], *err; /* the rest of the workspace; k[0] = f(t, y) */
    size_t accepted, rejected;    /* steps so far (rejected: error or domain) */
} rbm__dp45;

typedef enum rbm__dp45_status {
    RBM__DP45_OK = 0,            /* one step accepted */
    RBM__DP45_UNDERFLOW = 1,     /* the step size underflowed (error control) */
    RBM__DP45_LEFT_DOMAIN = 2    /* the step size underflowed at the edge of the domain */
} rbm__dp45_status;

/* Workspace of a stepper for n unknowns: 11 n doubles. */
size_t rbm__dp45_ws_len(size_t n);

/* Start at (t0, y0) (y0 is copied) with tolerances rtol, atol > 0 and
 * workspace ws; evaluates f(t0, y0). False when y0 is outside the domain.
 * The first step size is 0: set it with rbm__dp45_initial_step. */
bool rbm__dp45_start(rbm__dp45 *S, size_t n, double t0, const double *y0, rbm__ode_rhs f,
                     void *user, double rtol, double atol, double *ws);

/* Choose the first step size for integrating over `span` > 0 (Hairer,
 * Norsett & Wanner, Solving ODEs I, §II.4), at most span. */
void rbm__dp45_initial_step(rbm__dp45 *S, double span);

/* Advance towards target > S->t by one accepted step (rejected trials are
 * retried with a smaller step); a step reaching within 1e-14 |target| of
 * the target is shortened to land on it exactly (S->t = target). */
rbm__dp45_status rbm__dp45_step(rbm__dp45 *S, double target);

#endif /* RBM_NUMERIC_ODE_DP45_H */
