/* librbm — lapack_calls: the LAPACK routines analysis/ uses (see
 * lapack_calls.h). */
#include "analysis/lapack_calls.h"

lapack_int rbm__lapack_svd(bool vectors, size_t nv, size_t nh, double *A, double *s, double *Vt,
                           double *U, double *work, lapack_int lwork, lapack_int *iwork)
{
    size_t r = nv < nh ? nv : nh;
    return LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, vectors ? 'S' : 'N', (lapack_int)nh,
                               (lapack_int)nv, A, (lapack_int)nh, s, Vt,
                               vectors ? (lapack_int)nh : 1, U, vectors ? (lapack_int)r : 1, work,
                               lwork, iwork);
}

lapack_int rbm__lapack_sym_eigenvalues(size_t N, double *H, double *eig)
{
    return LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)N, H, (lapack_int)N, eig);
}

lapack_int rbm__lapack_sym_top(size_t n, double *C, size_t K, lapack_int *found, double *ev,
                               double *Z, lapack_int *isuppz)
{
    return LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int)n, C, (lapack_int)n, 0.0,
                          0.0, (lapack_int)(n - K + 1), (lapack_int)n, 0.0, found, ev, Z,
                          (lapack_int)K, isuppz);
}

lapack_int rbm__lapack_spd_inverse(size_t N, double *H)
{
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)N, H, (lapack_int)N);
    if (info == 0)
        info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (lapack_int)N, H, (lapack_int)N);
    return info;
}
