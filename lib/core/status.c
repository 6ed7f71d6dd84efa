/* librbm — status names and messages. */
#include "core/internal.h"

const char *rbm_status_name(rbm_status status)
{
    switch (status) {
    case RBM_OK: return "RBM_OK";
    case RBM_DONE: return "RBM_DONE";
    case RBM_STOPPED: return "RBM_STOPPED";
    case RBM_ERR_NULL: return "RBM_ERR_NULL";
    case RBM_ERR_INVALID_ARGUMENT: return "RBM_ERR_INVALID_ARGUMENT";
    case RBM_ERR_SHAPE: return "RBM_ERR_SHAPE";
    case RBM_ERR_NOT_FINITE: return "RBM_ERR_NOT_FINITE";
    case RBM_ERR_OUT_OF_RANGE: return "RBM_ERR_OUT_OF_RANGE";
    case RBM_ERR_UNSUPPORTED: return "RBM_ERR_UNSUPPORTED";
    case RBM_ERR_TOO_LARGE: return "RBM_ERR_TOO_LARGE";
    case RBM_ERR_STATE: return "RBM_ERR_STATE";
    case RBM_ERR_NO_MEMORY: return "RBM_ERR_NO_MEMORY";
    case RBM_ERR_IO: return "RBM_ERR_IO";
    case RBM_ERR_BAD_FORMAT: return "RBM_ERR_BAD_FORMAT";
    case RBM_ERR_NOT_NORMALIZABLE: return "RBM_ERR_NOT_NORMALIZABLE";
    case RBM_ERR_NOT_CONVERGED: return "RBM_ERR_NOT_CONVERGED";
    case RBM_ERR_NUMERICAL: return "RBM_ERR_NUMERICAL";
    case RBM_ERR_COLLECTIVE: return "RBM_ERR_COLLECTIVE";
    case RBM_ERR_INTERNAL: return "RBM_ERR_INTERNAL";
    }
    return "RBM_UNKNOWN_STATUS";
}

const char *rbm_status_message(rbm_status status)
{
    switch (status) {
    case RBM_OK: return "success";
    case RBM_DONE: return "success; the epoch (or iteration) is complete";
    case RBM_STOPPED: return "stopped at the request of an observer";
    case RBM_ERR_NULL: return "a required pointer argument is NULL";
    case RBM_ERR_INVALID_ARGUMENT: return "an argument is outside its allowed range";
    case RBM_ERR_SHAPE: return "array, dataset or machine sizes do not agree";
    case RBM_ERR_NOT_FINITE: return "input contains NaN or infinity";
    case RBM_ERR_OUT_OF_RANGE: return "data values lie outside the support of the units";
    case RBM_ERR_UNSUPPORTED: return "operation not supported for these unit kinds or sizes";
    case RBM_ERR_TOO_LARGE: return "a size overflows or exceeds a limit";
    case RBM_ERR_STATE: return "call not valid in the object's current state";
    case RBM_ERR_NO_MEMORY: return "out of memory";
    case RBM_ERR_IO: return "file could not be opened, read or written";
    case RBM_ERR_BAD_FORMAT: return "file content is malformed, truncated or unsupported";
    case RBM_ERR_NOT_NORMALIZABLE: return "the Gaussian model has no finite partition function";
    case RBM_ERR_NOT_CONVERGED: return "an iterative method did not converge";
    case RBM_ERR_NUMERICAL: return "a computation produced NaN or infinity or a LAPACK routine failed";
    case RBM_ERR_COLLECTIVE: return "a collective operation between workers failed";
    case RBM_ERR_INTERNAL: return "internal error in librbm (please report)";
    }
    return "unknown status code";
}

uint32_t rbm_version_number(void)
{
    return (uint32_t)RBM_VERSION_NUMBER;
}

const char *rbm_version_string(void)
{
    return RBM_VERSION_STRING;
}
