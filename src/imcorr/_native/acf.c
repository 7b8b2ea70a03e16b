/* Memory-bound steps of the 2-D autocorrelation pipeline (imcorr._core.fft._autocorrelation_head_2d
 * and imcorr.stats.effective_sample); a tiled C transpose was measured slower than the NumPy blocked one
 * (memory-bound), so there is none: the native paths of
 *
 *   imcorr_acf_power_c64       dst[i] = re(src[i])^2 + im(src[i])^2 (float32, like the NumPy
 *                              square-and-add: the same float32 operations, so the same values)
 *   imcorr_acf_centre_{f32,f64} out[i, j] = x[i, j] - mean (float32), out[i, nx:ostride] = 0;
 *                              the mean is accumulated in float64; returns 1 if any output is
 *                              nonzero, else 0
 *   imcorr_acf_class_sums_2d   distance-class sums of a 2-D lag-symmetric head (the folded box
 *                              of imcorr.stats.effective_sample._class_sums), float64 accumulation
 *
 * Every function has a NumPy twin in the callers; the tests run both against independent
 * references.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

IMCORR_HOT void imcorr_acf_power_c64(const float *restrict src, float *restrict dst, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const float re = src[2 * i], im = src[2 * i + 1];
        const float r2 = re * re, i2 = im * im;
        dst[i] = r2 + i2;
    }
}

#define ACF_CENTRE(NAME, T)                                                                                       \
    IMCORR_HOT int NAME(const T *x, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t xstride, float *out, ptrdiff_t ostride) \
    {                                                                                                             \
        double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};                                                 \
        double tot = 0.0;                                                                                         \
        for (ptrdiff_t i = 0; i < ny; i++) {                                                                      \
            const T *restrict xr = x + i * xstride;                                                               \
            ptrdiff_t j = 0;                                                                                      \
            for (; j + 8 <= nx; j += 8)                                                                           \
                for (int k = 0; k < 8; k++) acc[k] += (double)xr[j + k];                                          \
            double r = 0.0;                                                                                       \
            for (; j < nx; j++) r += (double)xr[j];                                                               \
            tot += r;                                                                                             \
        }                                                                                                         \
        for (int k = 0; k < 8; k++) tot += acc[k];                                                                \
        const double mean = tot / ((double)ny * (double)nx);                                                      \
        uint32_t nz = 0;                                                                                          \
        for (ptrdiff_t i = 0; i < ny; i++) {                                                                      \
            const T *restrict xr = x + i * xstride;                                                               \
            float *restrict o = out + i * ostride;                                                                \
            ACF_SUB_##T                                                                                           \
            for (ptrdiff_t j = nx; j < ostride; j++) o[j] = 0.0f;                                                 \
        }                                                                                                         \
        return (nz & 0x7fffffffu) != 0;                                                                           \
    }

/* float32 input: float32 subtraction of the float32 mean (NumPy's float32 - Python float). */
#define ACF_SUB_float                                                                                             \
    {                                                                                                             \
        const float mf = (float)mean;                                                                             \
        for (ptrdiff_t j = 0; j < nx; j++) {                                                                      \
            const float d = xr[j] - mf;                                                                           \
            uint32_t u;                                                                                           \
            memcpy(&u, &d, sizeof u);                                                                             \
            o[j] = d;                                                                                             \
            nz |= u;                                                                                              \
        }                                                                                                         \
    }
/* float64 input: float64 subtraction, rounded to float32 (NumPy's casting="unsafe" output). */
#define ACF_SUB_double                                                                                            \
    {                                                                                                             \
        for (ptrdiff_t j = 0; j < nx; j++) {                                                                      \
            const float d = (float)(xr[j] - mean);                                                                \
            uint32_t u;                                                                                           \
            memcpy(&u, &d, sizeof u);                                                                             \
            o[j] = d;                                                                                             \
            nz |= u;                                                                                              \
        }                                                                                                         \
    }

ACF_CENTRE(imcorr_acf_centre_f32, float)
ACF_CENTRE(imcorr_acf_centre_f64, double)

/* h: rows x p float32, C-contiguous, lags 0 .. rows - 1 on axis 0 and every circular lag (period p)
 * on axis 1. out[c] (nc entries, zeroed here) = sum over the box |k0| <= lag0, |k1| <= lag1 of
 * h[|k0|, k1 mod p] over the lags of class c = ceil(|k|) (the k0 < 0 half is the k0 > 0 half by lag
 * symmetry), as in imcorr.stats.effective_sample._class_sums. For integer k, ceil(|k| - 1e-9) there is the
 * smallest integer c with c^2 >= |k|^2, found here in exact integer arithmetic (c only grows along a
 * row). Returns -1 if a class is out of range. */
int imcorr_acf_class_sums_2d(const float *h, ptrdiff_t p, ptrdiff_t lag0, ptrdiff_t lag1, double *out, ptrdiff_t nc)
{
    for (ptrdiff_t c = 0; c < nc; c++) out[c] = 0.0;
    for (ptrdiff_t k0 = 0; k0 <= lag0; k0++) {
        const float *restrict r = h + k0 * p;
        const double w = k0 ? 2.0 : 1.0;
        const int64_t d0 = (int64_t)k0 * k0;
        int64_t c = k0;
        if (c >= nc) return -1;
        double s = (double)r[0];
        for (ptrdiff_t j = 1; j <= lag1; j++) {
            const int64_t d2 = d0 + (int64_t)j * j;
            if (c * c < d2) {
                out[c] += w * s;
                s = 0.0;
                while (c * c < d2) c++;
                if (c >= nc) return -1;
            }
            s += (double)r[j] + (double)r[p - j];
        }
        out[c] += w * s;
    }
    return 0;
}
