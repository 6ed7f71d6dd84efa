/* librbm — float32 instance of the training kernels. */
#define REAL float
#define SUFFIX _f32
#define GEMM cblas_sgemm
#define MW(m) ((m)->Wf)
#define MA(m) ((m)->af)
#define MB(m) ((m)->bf)
#define SIGMOID rbm__sigmoidf
#define TANH tanhf
#include "kernels_impl.h"
