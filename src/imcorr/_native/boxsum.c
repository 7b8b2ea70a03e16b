/* Valid-mode window sums of d = x - g and d^2 over a 2-D array: the native path of
 * imcorr._core.boxsum.box_moments_native (template matching's local moments).
 *
 * x is ny x nx with a row stride of `stride` elements; the outputs s1, s2 are
 * (ny - ty + 1) x (nx - tx + 1), C-contiguous; element (i, j) sums rows [i, i + ty) and
 * columns [j, j + tx). Column sums slide down the rows (one row in, one out) and row sums
 * slide along each row, so the cost does not depend on the window (Crow 1984). The float64
 * sums are never restarted: their rounding stays within the running-sum bound the callers
 * use (16 eps (ny + nx) n max d^2, imcorr.match.valid_correlation.box_tolerance), and integer-valued
 * d (integer data, integer g) are summed exactly.
 *
 * Returns 0, or -1 if memory could not be allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "colsums.h"
#include "kernels.h"

#define BM_DEFINE(NAME, T)                                                                                        \
    IMCORR_HOT int NAME(const T *x, ptrdiff_t stride, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx,      \
                       double g, double *s1, double *s2)                                                          \
    {                                                                                                             \
        const ptrdiff_t oy = ny - ty + 1, ox = nx - tx + 1;                                                       \
        if (oy <= 0 || ox <= 0) return 0;                                                                         \
        double *buf = (double *)calloc(2 * (size_t)nx, sizeof(double));                                           \
        if (buf == NULL) return -1;                                                                               \
        double *restrict c1 = buf, *restrict c2 = buf + nx;                                                       \
        IMCORR_COLSUMS_START(T, x, stride, ty, nx, g, c1, c2);                                                    \
        for (ptrdiff_t i = 0; i < oy; i++) {                                                                      \
            if (i > 0) IMCORR_COLSUMS_SLIDE(T, x, stride, i, ty, nx, g, c1, c2);                                  \
            double *restrict o1 = s1 + i * ox, *restrict o2 = s2 + i * ox;                                        \
            double a1 = 0.0, a2 = 0.0;                                                                            \
            for (ptrdiff_t j = 0; j < tx; j++) a1 += c1[j], a2 += c2[j];                                          \
            o1[0] = a1, o2[0] = a2;                                                                               \
            for (ptrdiff_t j = 1; j < ox; j++) {                                                                  \
                a1 += c1[j + tx - 1] - c1[j - 1];                                                                 \
                a2 += c2[j + tx - 1] - c2[j - 1];                                                                 \
                o1[j] = a1, o2[j] = a2;                                                                           \
            }                                                                                                     \
        }                                                                                                         \
        free(buf);                                                                                                \
        return 0;                                                                                                 \
    }

BM_DEFINE(imcorr_box_moments_f32, float)
BM_DEFINE(imcorr_box_moments_f64, double)
BM_DEFINE(imcorr_box_moments_u8, uint8_t)
BM_DEFINE(imcorr_box_moments_u16, uint16_t)
