/* SSIM over the valid windows of a 2-D image pair, one band of output rows per call: the native
 * path of imcorr.similarity.structural (its NumPy twin is _ssim_rows, banded BLAS products).
 *
 * a, b are ny x nx with row strides sa, sb (elements; columns contiguous). wy (ty taps) and wx
 * (tx taps) are the separable window weights (all 1/w for the uniform window). Output row i
 * (r0 <= i < r1) covers input rows [i, i + ty); output column j input columns [j, j + tx).
 * Per window, in float64:
 *   mx = sum w a, my = sum w b, s2 = sum w (a^2 + b^2), sxy = sum w a b
 *   A1 = 2 mx my + C1, B1 = mx^2 + my^2 + C1, A2 = 2 cov_norm (sxy - mx my) + C2,
 *   B2 = cov_norm (s2 - mx^2 - my^2) + C2, SSIM = A1 A2 / (B1 B2), CS = A2 / B2,
 * the same formula and order of operations as the NumPy twin. Each input row is converted to the
 * four float64 quantities once, into a ring of ty rows; the vertical then the horizontal weighted
 * sums are plain multiply-add loops over contiguous rows (vectorised by the compiler).
 *
 * map (or NULL): row i of the SSIM map is written at map + (i - r0) * map_stride.
 * sums[0] += sum of SSIM, sums[1] += sum of CS over the band.
 * Returns 0, or -1 if the ring buffer (4 (ty + 2) nx doubles) could not be allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels.h"

#define SSIM_DEFINE(NAME, T)                                                                                      \
    IMCORR_HOT int NAME(const T *a, const T *b, ptrdiff_t sa, ptrdiff_t sb, ptrdiff_t ny, ptrdiff_t nx,          \
                        const double *wy, ptrdiff_t ty, const double *wx, ptrdiff_t tx, double cov_norm,          \
                        double c1, double c2, ptrdiff_t r0, ptrdiff_t r1, double *map, ptrdiff_t map_stride,      \
                        double *sums)                                                                             \
    {                                                                                                             \
        const ptrdiff_t ox = nx - tx + 1;                                                                         \
        if (ox <= 0 || r1 <= r0 || r1 > ny - ty + 1) return 0;                                                    \
        double *buf = (double *)malloc(4 * (size_t)(ty + 2) * (size_t)nx * sizeof(double));                       \
        if (buf == NULL) return -1;                                                                               \
        double *ring = buf, *v = buf + 4 * (size_t)ty * nx, *h = v + 4 * (size_t)nx;                              \
        double s_ssim = 0.0, s_cs = 0.0;                                                                          \
        for (ptrdiff_t r = r0; r < r1 + ty - 1; r++) {                                                            \
            /* convert input row r into its ring slot */                                                          \
            double *restrict q = ring + 4 * (size_t)(r % ty) * nx;                                                \
            const T *restrict ra = a + r * sa, *restrict rb = b + r * sb;                                         \
            for (ptrdiff_t j = 0; j < nx; j++) {                                                                  \
                const double x = (double)ra[j], y = (double)rb[j];                                                \
                q[j] = x;                                                                                         \
                q[nx + j] = y;                                                                                    \
                q[2 * nx + j] = x * x + y * y;                                                                    \
                q[3 * nx + j] = x * y;                                                                            \
            }                                                                                                     \
            const ptrdiff_t i = r - ty + 1; /* the output row this input row completes */                        \
            if (i < r0) continue;                                                                                 \
            /* vertical weighted sums of the 4 quantities (4 rows of nx, contiguous) */                           \
            for (ptrdiff_t k = 0; k < ty; k++) {                                                                  \
                const double w = wy[k];                                                                           \
                const double *restrict src = ring + 4 * (size_t)((i + k) % ty) * nx;                              \
                double *restrict dst = v;                                                                         \
                if (k == 0)                                                                                       \
                    for (ptrdiff_t j = 0; j < 4 * nx; j++) dst[j] = w * src[j];                                   \
                else                                                                                              \
                    for (ptrdiff_t j = 0; j < 4 * nx; j++) dst[j] += w * src[j];                                  \
            }                                                                                                     \
            /* horizontal weighted sums */                                                                        \
            for (int qn = 0; qn < 4; qn++) {                                                                      \
                const double *restrict src = v + qn * nx;                                                         \
                double *restrict dst = h + qn * nx;                                                               \
                const double w0 = wx[0];                                                                          \
                for (ptrdiff_t j = 0; j < ox; j++) dst[j] = w0 * src[j];                                          \
                for (ptrdiff_t k = 1; k < tx; k++) {                                                              \
                    const double w = wx[k];                                                                       \
                    const double *restrict s = src + k;                                                           \
                    for (ptrdiff_t j = 0; j < ox; j++) dst[j] += w * s[j];                                        \
                }                                                                                                 \
            }                                                                                                     \
            double *restrict out = map ? map + (i - r0) * map_stride : NULL;                                      \
            const double *restrict mx = h, *restrict my = h + nx, *restrict s2 = h + 2 * nx,                      \
                                   *restrict sxy = h + 3 * nx;                                                    \
            double acc = 0.0, acc_cs = 0.0;                                                                       \
            for (ptrdiff_t j = 0; j < ox; j++) {                                                                  \
                const double p = mx[j] * my[j], qq = mx[j] * mx[j] + my[j] * my[j];                               \
                const double a2 = (sxy[j] - p) * (2.0 * cov_norm) + c2;                                           \
                const double b2 = (s2[j] - qq) * cov_norm + c2;                                                   \
                const double val = ((2.0 * p + c1) * a2) / ((qq + c1) * b2);                                      \
                acc += val;                                                                                       \
                acc_cs += a2 / b2;                                                                                \
                if (out) out[j] = val;                                                                            \
            }                                                                                                     \
            s_ssim += acc;                                                                                        \
            s_cs += acc_cs;                                                                                       \
        }                                                                                                         \
        sums[0] += s_ssim;                                                                                        \
        sums[1] += s_cs;                                                                                          \
        free(buf);                                                                                                \
        return 0;                                                                                                 \
    }

SSIM_DEFINE(imcorr_ssim_rows_f32, float)
SSIM_DEFINE(imcorr_ssim_rows_f64, double)
SSIM_DEFINE(imcorr_ssim_rows_u8, uint8_t)
SSIM_DEFINE(imcorr_ssim_rows_u16, uint16_t)
