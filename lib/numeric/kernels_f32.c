/* librbm — float32 instance of the training kernels. */
#define REAL float
#define SUFFIX _f32
#define GEMM cblas_sgemm
#define MW(m) ((m)->Wf)
#define MA(m) ((m)->af)
#define MB(m) ((m)->bf)
#define SIGMOID_ARRAY rbm__sigmoid_f
#define POTTS_SOFTMAX rbm__potts_softmaxf
#define POTTS_DRAW rbm__potts_drawf
#include "numeric/kernels_impl.h"
