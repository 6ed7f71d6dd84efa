/* librbm — status codes.
 *
 * Every fallible librbm function returns an rbm_status. Values are explicit
 * and never reused: 0 is success, small positive values are non-error
 * outcomes, errors are >= 100 and grouped by cause. The detail of the last
 * error (which argument, which row, which size) is kept by the context:
 * see rbm_context_last_error().
 *
 * THREAD SAFETY: all functions here are pure and may be called from any
 * thread at any time. */
#ifndef RBM_STATUS_H
#define RBM_STATUS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rbm_status {
    RBM_OK = 0,                   /* success                                   */
    RBM_DONE = 1,                 /* success, and an iteration ended (epoch)   */
    RBM_STOPPED = 2,              /* an observer callback asked to stop        */

    /* caller errors: 100-199 */
    RBM_ERR_NULL = 100,           /* a required pointer argument was NULL      */
    RBM_ERR_INVALID_ARGUMENT = 101, /* an argument is outside its domain       */
    RBM_ERR_SHAPE = 102,          /* sizes of arrays/datasets/machines disagree */
    RBM_ERR_NOT_FINITE = 103,     /* NaN or infinity in input                  */
    RBM_ERR_OUT_OF_RANGE = 104,   /* data values outside the unit's support    */
    RBM_ERR_UNSUPPORTED = 105,    /* operation not available for these units   */
    RBM_ERR_TOO_LARGE = 106,      /* a size overflows or exceeds a limit       */
    RBM_ERR_STATE = 107,          /* call not valid in the object's state      */

    /* resources: 200-299 */
    RBM_ERR_NO_MEMORY = 200,      /* allocation failed                         */

    /* files: 300-399 */
    RBM_ERR_IO = 300,             /* open/read/write failed (see detail)       */
    RBM_ERR_BAD_FORMAT = 301,     /* file content is malformed or truncated    */

    /* numerics: 400-499 */
    RBM_ERR_NOT_NORMALIZABLE = 400, /* Gaussian model has no finite Z          */
    RBM_ERR_NOT_CONVERGED = 401,  /* iterative method hit its cap              */
    RBM_ERR_NUMERICAL = 402,      /* a computation produced NaN/Inf or a LAPACK
                                     routine failed                            */

    /* distributed training: 500-599 */
    RBM_ERR_COLLECTIVE = 500,     /* a caller-supplied collective operation
                                     (rbm_trainer_set_collective) failed     */

    RBM_ERR_INTERNAL = 900        /* a librbm bug: please report               */
} rbm_status;

/* Symbolic name of a status ("RBM_ERR_SHAPE"); "RBM_UNKNOWN_STATUS" for values
 * not listed above. Static storage; never NULL. */
RBM_API const char *rbm_status_name(rbm_status status);

/* One-line English description of a status. Static storage; never NULL. */
RBM_API const char *rbm_status_message(rbm_status status);

#ifdef __cplusplus
}
#endif
#endif /* RBM_STATUS_H */
