/* librbm — float64 instance of the training kernels. */
#define REAL double
#define SUFFIX _f64
#define GEMM cblas_dgemm
#define MW(m) ((m)->W)
#define MA(m) ((m)->a)
#define MB(m) ((m)->b)
#define SIGMOID_ARRAY rbm__sigmoid_d
#define POTTS_SOFTMAX rbm__potts_softmax
#define AXPY rbm__axpy_d
#define POTTS_DRAW_SITES rbm__potts_draw_sites_d
#include "numeric/kernels_impl.h"
