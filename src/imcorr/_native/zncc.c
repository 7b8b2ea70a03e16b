/* Fused ZNCC normalisation: window moments and the division in one pass
 * (imcorr.match.zncc, the native path of the hot loop of imcorr.match_template).
 *
 * x is the image region whose valid windows (ty x tx) give the output rows: ny x nx with a
 * row stride of xs elements. num is the valid correlation with the mean-removed template
 * T' (oy x ox, row stride ns), out/defined/risky the outputs (strides os and ms). For each
 * output position, with d = x - g:
 *
 *   S1 = sum d, S2 = sum d^2 (window sums, float64 running column and row sums: the
 *        arithmetic of boxsum.c, so the same running-sum rounding bound applies),
 *   V = S2 - S1^2 / n,   defined = V > tol,
 *   out = defined ? clip(num / sqrt(V * stt), -1, 1) : 0,   stt = sum T'^2,
 *   risky = defined && V < rscale  (the float32 refinement's candidates; risky may be NULL).
 *
 * The row sums go to a row buffer first and the division runs as a separate loop over the
 * row, which the compiler vectorises (sqrt and divide on 4 doubles at a time with AVX2).
 *
 * Returns the number of risky positions (0 when risky is NULL), or -1 if the column and
 * row buffers (3 rows of doubles) could not be allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels.h"

#define ZN_DEFINE(NAME, T, O)                                                                                     \
    IMCORR_HOT ptrdiff_t NAME(const T *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx,  \
                              double g, const O *num, ptrdiff_t ns, double stt, double tol, double rscale,       \
                              O *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms)              \
    {                                                                                                             \
        const ptrdiff_t oy = ny - ty + 1, ox = nx - tx + 1;                                                       \
        if (oy <= 0 || ox <= 0) return 0;                                                                         \
        double *buf = (double *)calloc(2 * (size_t)nx + (size_t)ox, sizeof(double));                              \
        if (buf == NULL) return -1;                                                                               \
        double *restrict c1 = buf, *restrict c2 = buf + nx, *restrict v = buf + 2 * nx;                           \
        const double inv_n = 1.0 / ((double)ty * (double)tx);                                                     \
        ptrdiff_t count = 0;                                                                                      \
        for (ptrdiff_t r = 0; r < ty; r++) {                                                                      \
            const T *restrict xr = x + r * xs;                                                                    \
            for (ptrdiff_t j = 0; j < nx; j++) {                                                                  \
                const double d = (double)xr[j] - g;                                                               \
                c1[j] += d;                                                                                       \
                c2[j] += d * d;                                                                                   \
            }                                                                                                     \
        }                                                                                                         \
        for (ptrdiff_t i = 0; i < oy; i++) {                                                                      \
            if (i > 0) {                                                                                          \
                const T *restrict xi = x + (i + ty - 1) * xs, *restrict xo = x + (i - 1) * xs;                    \
                for (ptrdiff_t j = 0; j < nx; j++) {                                                              \
                    const double d = (double)xi[j] - g, e = (double)xo[j] - g;                                    \
                    c1[j] += d - e;                                                                               \
                    c2[j] += d * d - e * e;                                                                       \
                }                                                                                                 \
            }                                                                                                     \
            double a1 = 0.0, a2 = 0.0;                                                                            \
            for (ptrdiff_t j = 0; j < tx; j++) a1 += c1[j], a2 += c2[j];                                          \
            v[0] = a2 - a1 * a1 * inv_n;                                                                          \
            for (ptrdiff_t j = 1; j < ox; j++) {                                                                  \
                a1 += c1[j + tx - 1] - c1[j - 1];                                                                 \
                a2 += c2[j + tx - 1] - c2[j - 1];                                                                 \
                v[j] = a2 - a1 * a1 * inv_n;                                                                      \
            }                                                                                                     \
            const O *restrict nr = num + i * ns;                                                                  \
            O *restrict orow = out + i * os;                                                                      \
            uint8_t *restrict dr = defined + i * ms;                                                              \
            for (ptrdiff_t j = 0; j < ox; j++) {                                                                  \
                const double vj = v[j];                                                                           \
                const int ok = vj > tol;                                                                          \
                double q = (double)nr[j] / __builtin_sqrt(vj * stt);                                              \
                q = q > 1.0 ? 1.0 : q;                                                                            \
                q = q < -1.0 ? -1.0 : q;                                                                          \
                orow[j] = (O)(ok ? q : 0.0);                                                                      \
                dr[j] = (uint8_t)ok;                                                                              \
            }                                                                                                     \
            if (risky != NULL) {                                                                                  \
                uint8_t *restrict rr = risky + i * ms;                                                            \
                ptrdiff_t c = 0;                                                                                  \
                for (ptrdiff_t j = 0; j < ox; j++) {                                                              \
                    const uint8_t k = (uint8_t)((v[j] > tol) & (v[j] < rscale));                                  \
                    rr[j] = k;                                                                                    \
                    c += k;                                                                                       \
                }                                                                                                 \
                count += c;                                                                                       \
            }                                                                                                     \
        }                                                                                                         \
        free(buf);                                                                                                \
        return count;                                                                                             \
    }

ZN_DEFINE(imcorr_zncc_f32_f32, float, float)
ZN_DEFINE(imcorr_zncc_f64_f32, double, float)
ZN_DEFINE(imcorr_zncc_u8_f32, uint8_t, float)
ZN_DEFINE(imcorr_zncc_u16_f32, uint16_t, float)
ZN_DEFINE(imcorr_zncc_f32_f64, float, double)
ZN_DEFINE(imcorr_zncc_f64_f64, double, double)
ZN_DEFINE(imcorr_zncc_u8_f64, uint8_t, double)
ZN_DEFINE(imcorr_zncc_u16_f64, uint16_t, double)
