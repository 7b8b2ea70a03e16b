/* Paired moment sums of d = x * f - c over two arrays: the native path of
 * imcorr._core.moments (Pearson r, and Spearman through ranks).
 *
 * For i < n: da = a[i] * fa - ca, db = b[i] * fb - cb (fa, fb powers of two, so the product is
 * exact; ca, cb provisional means), and out = (sum da, sum db, sum da^2, sum db^2, sum da db),
 * the same arithmetic as the NumPy twin (a widening cast, the scale, the shift, then the
 * sums). Summation is blocked: each block of PM_BLOCK elements is summed in 4 independent
 * lanes (one vector register), then added to the totals, so the rounding grows with PM_BLOCK / 4 + n / PM_BLOCK
 * terms instead of n (the NumPy twin's chunked BLAS dot products are blocked the same way).
 * Non-finite sums are the caller's signal to rescale (overflow) or refuse (NaN/Inf data).
 * Written with GCC/Clang vector extensions (as the rest of the kernels, GCC or Clang is assumed;
 * without them the optional extension does not build and the NumPy twin runs).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#define PM_BLOCK 1024

/* 4 lanes of doubles (GCC/Clang vector extension): lane k sums the elements i = k mod 4 of a
 * block, exactly as 4 scalar accumulators would, in one AVX2 register where available. */
typedef double pm_v4 __attribute__((vector_size(4 * sizeof(double))));

typedef float pm_f32x4 __attribute__((vector_size(4 * sizeof(float))));
typedef double pm_f64x4 __attribute__((vector_size(4 * sizeof(double))));
typedef uint8_t pm_u8x4 __attribute__((vector_size(4 * sizeof(uint8_t))));
typedef uint16_t pm_u16x4 __attribute__((vector_size(4 * sizeof(uint16_t))));
typedef int32_t pm_i32x4 __attribute__((vector_size(4 * sizeof(int32_t))));

/* Widening to double, through int32 for the integer types (the conversion x86 vectorises). */
#define PM_WIDEN_f32(v) __builtin_convertvector(v, pm_v4)
#define PM_WIDEN_f64(v) (v)
#define PM_WIDEN_int(v) __builtin_convertvector(__builtin_convertvector(v, pm_i32x4), pm_v4)

static inline double pm_hsum(pm_v4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

#define PM_DEFINE(NAME, T, VT, W)                                                                                        \
    IMCORR_HOT void NAME(const T *a, const T *b, ptrdiff_t n, double fa, double fb, double ca, double cb,          \
                         double *out)                                                                             \
    {                                                                                                             \
        double sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0;                                               \
        const pm_v4 vfa = {fa, fa, fa, fa}, vfb = {fb, fb, fb, fb}, vca = {ca, ca, ca, ca}, vcb = {cb, cb, cb, cb}; \
        for (ptrdiff_t i0 = 0; i0 < n; i0 += PM_BLOCK) {                                                          \
            const ptrdiff_t i1 = n - i0 > PM_BLOCK ? i0 + PM_BLOCK : n;                                           \
            pm_v4 la = {0}, lb = {0}, laa = {0}, lbb = {0}, lab = {0};                                            \
            ptrdiff_t i = i0;                                                                                     \
            for (; i + 4 <= i1; i += 4) {                                                                         \
                VT ra, rb; /* 4 elements, unaligned, widened exactly to double */                                 \
                memcpy(&ra, a + i, sizeof ra);                                                                    \
                memcpy(&rb, b + i, sizeof rb);                                                                    \
                const pm_v4 da = PM_WIDEN_##W(ra) * vfa - vca, db = PM_WIDEN_##W(rb) * vfb - vcb;                 \
                la += da;                                                                                         \
                lb += db;                                                                                         \
                laa += da * da;                                                                                   \
                lbb += db * db;                                                                                   \
                lab += da * db;                                                                                   \
            }                                                                                                     \
            double ta = pm_hsum(la), tb = pm_hsum(lb), taa = pm_hsum(laa), tbb = pm_hsum(lbb), tab = pm_hsum(lab); \
            for (; i < i1; i++) {                                                                                 \
                const double da = (double)a[i] * fa - ca, db = (double)b[i] * fb - cb;                            \
                ta += da;                                                                                         \
                tb += db;                                                                                         \
                taa += da * da;                                                                                   \
                tbb += db * db;                                                                                   \
                tab += da * db;                                                                                   \
            }                                                                                                     \
            sa += ta, sb += tb, saa += taa, sbb += tbb, sab += tab;                                               \
        }                                                                                                         \
        out[0] = sa, out[1] = sb, out[2] = saa, out[3] = sbb, out[4] = sab;                                       \
    }

PM_DEFINE(imcorr_pair_sums_f32, float, pm_f32x4, f32)
PM_DEFINE(imcorr_pair_sums_f64, double, pm_f64x4, f64)
PM_DEFINE(imcorr_pair_sums_u8, uint8_t, pm_u8x4, int)
PM_DEFINE(imcorr_pair_sums_u16, uint16_t, pm_u16x4, int)
