/* librbm — reweight: the similarity weights of the rows of a uint8
 * dataset, w_s = 1 / #{s' : identity(s, s') >= theta} (s' = s included),
 * identity = the fraction of the L columns where two rows hold the same
 * value (a gap is a state like any other, as in the rbms package).
 *
 * All pairs are compared (n^2 / 2 of them), so speed is everything here:
 * rows are copied into a zero-padded buffer whose stride is a multiple of
 * 64 bytes, compared 64 bytes at a time (an AVX-512BW compare to a bit mask
 * and a popcount where the CPU has them; else SSE2 byte compares and a sum
 * of absolute differences for the count; a plain loop elsewhere), and a
 * pair is abandoned once its mismatches exceed L - ceil(theta L), tested
 * from the second step on (FIRST): dissimilar pairs (the great majority in
 * a protein family) cost two steps.
 * Pairs are visited in tiles of TILE x TILE rows so that both rows of a
 * tile stay in cache, and tiles are dealt to the context's threads
 * round-robin; each thread counts into its own array. */
#include "data/dataset.h"
#include "data/dataset_impl.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* An AVX-512BW variant chosen at run time where the CPU has it (GCC and
 * clang on x86-64; not under ThreadSanitizer, as numeric/vec4d.h). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_THREAD__)
#define RBM__REWEIGHT_AVX512 1
#include <immintrin.h>
#else
#define RBM__REWEIGHT_AVX512 0
#endif

#define TILE 128
#define STEP 64 /* bytes compared per step */
/* Steps before the first early-exit test. After one step about half of the
 * dissimilar pairs of a protein family are known to be out (at theta 0.8),
 * after two nearly all: a test that goes either way at random costs a
 * mispredicted branch, more than the second step. */
#define FIRST 2

typedef struct {
    const uint8_t *rows; /* n rows of stride bytes, zero padded */
    size_t n, stride, steps;
    size_t max_mis;   /* a pair is similar when its mismatches are <= max_mis */
    uint32_t *counts; /* parts x n similar-pair counts */
} reweight_job;

/* Mismatches of two rows, or a number > max_mis once they are known to
 * exceed it. The zero padding matches itself, so it adds no mismatch. */
#if defined(__SSE2__)
static size_t mismatches(const uint8_t *a, const uint8_t *b, size_t steps, size_t max_mis)
{
    const __m128i zero = _mm_setzero_si128();
    size_t mis = 0;
    for (size_t s = 0; s < steps; s++, a += STEP, b += STEP) {
        __m128i e = _mm_setzero_si128();
        for (int k = 0; k < STEP; k += 16) /* equal lanes add 0xff = -1 */
            e = _mm_add_epi8(e, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(a + k)),
                                               _mm_loadu_si128((const __m128i *)(b + k))));
        /* 0 - e: matches per lane (<= 4); psadbw sums each half's bytes */
        __m128i sad = _mm_sad_epu8(_mm_sub_epi8(zero, e), zero);
        size_t match = (size_t)_mm_cvtsi128_si32(sad) +
                       (size_t)_mm_cvtsi128_si32(_mm_unpackhi_epi64(sad, sad));
        mis += STEP - match;
        if (s + 1 >= FIRST && mis > max_mis)
            return mis;
    }
    return mis;
}
#else
static size_t mismatches(const uint8_t *a, const uint8_t *b, size_t steps, size_t max_mis)
{
    size_t mis = 0;
    for (size_t s = 0; s < steps; s++, a += STEP, b += STEP) {
        unsigned m = 0;
        for (int k = 0; k < STEP; k++)
            m += a[k] != b[k];
        mis += m;
        if (s + 1 >= FIRST && mis > max_mis)
            return mis;
    }
    return mis;
}
#endif

/* The pairs of the tiles dealt to `part`, counted with the mismatch
 * function MIS: the body of each reweight_part variant. */
#define REWEIGHT_PART(NAME, MIS)                                                               \
    static void NAME(void *arg, size_t part, size_t parts)                                    \
    {                                                                                          \
        reweight_job *J = arg;                                                                 \
        uint32_t *cnt = J->counts + part * J->n;                                               \
        size_t tiles = (J->n + TILE - 1) / TILE, t = 0;                                        \
        for (size_t bi = 0; bi < tiles; bi++)                                                  \
            for (size_t bj = bi; bj < tiles; bj++, t++) {                                      \
                if (t % parts != part)                                                         \
                    continue;                                                                  \
                size_t i_end = (bi + 1) * TILE < J->n ? (bi + 1) * TILE : J->n;                \
                size_t j_end = (bj + 1) * TILE < J->n ? (bj + 1) * TILE : J->n;                \
                for (size_t i = bi * TILE; i < i_end; i++) {                                   \
                    const uint8_t *a = J->rows + i * J->stride;                                \
                    for (size_t j = bi == bj ? i + 1 : bj * TILE; j < j_end; j++)              \
                        if (MIS(a, J->rows + j * J->stride, J->steps, J->max_mis) <=           \
                            J->max_mis) {                                                      \
                            cnt[i]++;                                                          \
                            cnt[j]++;                                                          \
                        }                                                                      \
                }                                                                              \
            }                                                                                  \
    }

REWEIGHT_PART(reweight_part, mismatches)

#if RBM__REWEIGHT_AVX512
/* With AVX-512BW one compare gives the 64-bit mask of equal bytes and a
 * popcount its matches: two instructions a step instead of eleven. */
__attribute__((target("avx512bw,popcnt"), always_inline)) static inline size_t
mismatches_avx512(const uint8_t *a, const uint8_t *b, size_t steps, size_t max_mis)
{
    size_t mis = 0;
    for (size_t s = 0; s < steps; s++, a += STEP, b += STEP) {
        __mmask64 eq = _mm512_cmpeq_epi8_mask(_mm512_loadu_si512((const void *)a),
                                              _mm512_loadu_si512((const void *)b));
        mis += STEP - (size_t)__builtin_popcountll((unsigned long long)eq);
        if (s + 1 >= FIRST && mis > max_mis)
            return mis;
    }
    return mis;
}

__attribute__((target("avx512bw,popcnt"))) REWEIGHT_PART(reweight_part_avx512, mismatches_avx512)
#endif

/* The pair counter for this CPU. */
static void (*pick_part(void))(void *, size_t, size_t)
{
#if RBM__REWEIGHT_AVX512
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("popcnt"))
        return reweight_part_avx512;
#endif
    return reweight_part;
}

/* The fewest matching columns of L for identity >= theta, with the
 * comparison made in double as a direct evaluation of m / L >= theta. */
static size_t min_matches(size_t L, double theta)
{
    size_t m = (size_t)floor(theta * (double)L);
    while (m > 0 && (double)(m - 1) / (double)L >= theta)
        m--;
    while (m <= L && (double)m / (double)L < theta)
        m++;
    return m;
}

rbm_status rbm_dataset_sequence_weights(const rbm_dataset *ds, double theta, double *out,
                                        size_t len)
{
    if (!ds)
        return RBM_ERR_NULL;
    rbm_context *ctx = ds->ctx;
    const char *fn = "rbm_dataset_sequence_weights";
    rbm_status st = rbm__check_array(ctx, out, len, ds->rows, "rbm_dataset_sequence_weights: out");
    if (st)
        return st;
    if (!(theta >= 0.0 && theta <= 1.0))
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "%s: theta %g is not in [0, 1]", fn, theta);
    if (ds->dtype != RBM_DTYPE_UINT8)
        return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                         "%s: the dataset holds %s; sequence identity compares uint8 rows "
                         "(alignments, binarised data)",
                         fn, rbm__dtype_name(ds->dtype));
    size_t n = ds->rows, L = ds->cols, steps = (L + STEP - 1) / STEP;
    size_t parts = rbm__threads(ctx), stride, bytes, cbytes;
    if (parts > 64)
        parts = 64;
    if (!rbm__mul_ok(steps, STEP, &stride) || !rbm__mul_ok(n, stride, &bytes) ||
        !rbm__mul_ok(n, parts * sizeof(uint32_t), &cbytes) || bytes > RBM__DS_MAX_BYTES)
        return rbm__fail(ctx, RBM_ERR_TOO_LARGE, "%s: %zu rows x %zu columns exceed the size limit",
                         fn, n, L);
    size_t need = min_matches(L, theta);
    reweight_job J = {NULL, n, stride, steps, need > L ? 0 : L - need, NULL};
    uint8_t *rows = rbm__calloc(ctx, bytes, 1);
    J.counts = rbm__calloc(ctx, cbytes, 1);
    if (!rows || !J.counts) {
        rbm__free(ctx, rows);
        rbm__free(ctx, J.counts);
        return rbm__fail(ctx, RBM_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", fn,
                         bytes + cbytes);
    }
    for (size_t i = 0; i < n; i++)
        memcpy(rows + i * stride, (const uint8_t *)ds->data + i * L, L);
    J.rows = rows;
    if (need <= L) /* theta > 1 cannot happen; need > L would mean no pair is similar */
        rbm__parallel(ctx, parts, pick_part(), &J);
    for (size_t i = 0; i < n; i++) {
        uint64_t c = 1; /* the row itself */
        for (size_t p = 0; p < parts; p++)
            c += J.counts[p * n + i];
        out[i] = 1.0 / (double)c;
    }
    rbm__free(ctx, rows);
    rbm__free(ctx, J.counts);
    return RBM_OK;
}
