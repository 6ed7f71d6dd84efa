/* librbm — float32 instance of the training kernels. */
#define REAL float
#define SUFFIX _f32
#define GEMM cblas_sgemm
#define MW(m) ((m)->Wf)
#define MA(m) ((m)->af)
#define MB(m) ((m)->bf)
#define SIGMOID_ARRAY rbm__sigmoid_f
#define POTTS_SOFTMAX rbm__potts_softmaxf
#define AXPY rbm__axpy_f
#define POTTS_DRAW_SITES rbm__potts_draw_sites_f
#include "numeric/kernels_impl.h"
