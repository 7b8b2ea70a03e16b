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

#include "colsums.h"
#include "kernels.h"

/* v[j] = S2 - S1^2 / n over the row windows [j, j + tx) of the column sums c1, c2 (j < ox).
 * A running sum is one long dependency chain (an add's latency per output); the row is
 * cut into 4 segments whose running sums advance side by side (each restarts with a
 * direct sum of tx column sums), so the adds overlap. */
#define ZN_SEG 4
static IMCORR_HOT void zn_window_variance(const double *restrict c1, const double *restrict c2, ptrdiff_t ox,
                                          ptrdiff_t tx, double inv_n, double *restrict v)
{
    ptrdiff_t start[ZN_SEG], len[ZN_SEG];
    double a1[ZN_SEG], a2[ZN_SEG];
    const ptrdiff_t seg = ox >= 16 * ZN_SEG ? ZN_SEG : 1;
    const ptrdiff_t step = (ox + seg - 1) / seg;
    for (ptrdiff_t s = 0; s < seg; s++) {
        start[s] = s * step;
        len[s] = s + 1 < seg ? step : ox - s * step;
        double b1 = 0.0, b2 = 0.0;
        for (ptrdiff_t j = start[s]; j < start[s] + tx; j++) b1 += c1[j], b2 += c2[j];
        a1[s] = b1, a2[s] = b2;
        v[start[s]] = b2 - b1 * b1 * inv_n;
    }
    if (seg == ZN_SEG) {
        const ptrdiff_t common = len[ZN_SEG - 1]; /* the last segment is the shortest */
        for (ptrdiff_t j = 1; j < common; j++) {
            for (ptrdiff_t s = 0; s < ZN_SEG; s++) {
                const ptrdiff_t p = start[s] + j;
                a1[s] += c1[p + tx - 1] - c1[p - 1];
                a2[s] += c2[p + tx - 1] - c2[p - 1];
                v[p] = a2[s] - a1[s] * a1[s] * inv_n;
            }
        }
        for (ptrdiff_t s = 0; s < ZN_SEG - 1; s++) {
            for (ptrdiff_t j = common > 1 ? common : 1; j < len[s]; j++) {
                const ptrdiff_t p = start[s] + j;
                a1[s] += c1[p + tx - 1] - c1[p - 1];
                a2[s] += c2[p + tx - 1] - c2[p - 1];
                v[p] = a2[s] - a1[s] * a1[s] * inv_n;
            }
        }
        return;
    }
    for (ptrdiff_t j = 1; j < ox; j++) {
        a1[0] += c1[j + tx - 1] - c1[j - 1];
        a2[0] += c2[j + tx - 1] - c2[j - 1];
        v[j] = a2[0] - a1[0] * a1[0] * inv_n;
    }
}

#define ZN_DEFINE(NAME, T, O, W, SQRT)                                                                                     \
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
        IMCORR_COLSUMS_START(T, x, xs, ty, nx, g, c1, c2);                                                        \
        for (ptrdiff_t i = 0; i < oy; i++) {                                                                      \
            if (i > 0) IMCORR_COLSUMS_SLIDE(T, x, xs, i, ty, nx, g, c1, c2);                                      \
            zn_window_variance(c1, c2, ox, tx, inv_n, v);                                                         \
            const O *restrict nr = num + i * ns;                                                                  \
            O *restrict orow = out + i * os;                                                                      \
            uint8_t *restrict dr = defined + i * ms;                                                              \
            for (ptrdiff_t j = 0; j < ox; j++) {                                                                  \
                const double vj = v[j];                                                                           \
                const int ok = vj > tol;                                                                          \
                W q = (W)nr[j] / SQRT((W)(vj * stt));                                                             \
                q = q > (W)1 ? (W)1 : q;                                                                          \
                q = q < (W)-1 ? (W)-1 : q;                                                                        \
                orow[j] = (O)(ok ? q : (W)0);                                                                     \
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

/* float32 output: the square root and division in float (relative error ~1e-7, below the
 * float32 numerator's); V itself is always formed in double (S2 - S1^2/n cancels). */
ZN_DEFINE(imcorr_zncc_f32_f32, float, float, float, __builtin_sqrtf)
ZN_DEFINE(imcorr_zncc_f64_f32, double, float, float, __builtin_sqrtf)
ZN_DEFINE(imcorr_zncc_u8_f32, uint8_t, float, float, __builtin_sqrtf)
ZN_DEFINE(imcorr_zncc_u16_f32, uint16_t, float, float, __builtin_sqrtf)
ZN_DEFINE(imcorr_zncc_f32_f64, float, double, double, __builtin_sqrt)
ZN_DEFINE(imcorr_zncc_f64_f64, double, double, double, __builtin_sqrt)
ZN_DEFINE(imcorr_zncc_u8_f64, uint8_t, double, double, __builtin_sqrt)
ZN_DEFINE(imcorr_zncc_u16_f64, uint16_t, double, double, __builtin_sqrt)
