/* Shared by register.c and register_gn.c: RG_LANES-wide float32 vector types. */
#ifndef IMCORR_REGISTER_SIMD_H
#define IMCORR_REGISTER_SIMD_H

#include <stddef.h>

#include "kernels.h"

/* The registration kernels are built for AVX2 and the baseline (IMCORR_HOT, kernels.h). Their
 * row loops keep RG_LANES independent float32 partial sums per quantity (GCC/Clang vector types:
 * one AVX register, two SSE registers in the baseline clone), so they vectorise without
 * reassociation; the partial sums are added in float64 per row. Rows are zero-padded to a multiple
 * of RG_LANES. Other compilers get the same arithmetic as plain loops. */
#define RG_LANES 8
#if defined(__GNUC__)
#define RG_VECTOR 1
typedef float rg_vf __attribute__((vector_size(4 * RG_LANES)));
typedef float rg_vfu __attribute__((vector_size(4 * RG_LANES), aligned(4)));
typedef int rg_vi __attribute__((vector_size(4 * RG_LANES)));
typedef float rg_vf4 __attribute__((vector_size(16)));
typedef float rg_vf4u __attribute__((vector_size(16), aligned(4)));
typedef double rg_vd4 __attribute__((vector_size(32)));
typedef double rg_vd4u __attribute__((vector_size(32), aligned(8)));
#define RG_LOAD(p) (*(const rg_vfu *)(p))
#define RG_STORE(p, v) (*(rg_vfu *)(p) = (v))
#define RG_INLINE static inline __attribute__((always_inline))
/* Lane shuffles and conversions (__builtin_shufflevector, __builtin_convertvector: GCC >= 12 and
 * Clang); RG_SHUFFLE is 0 elsewhere and the kernels that need them run their scalar loops. */
#if defined(__clang__) || __GNUC__ >= 12
#define RG_SHUFFLE 1
#define RG_SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define RG_SHUFFLE 0
#endif
#if RG_SHUFFLE
/* (re, im) planes of RG_LANES interleaved complex64 values at p: two loads and two shuffles,
 * instead of 2 * RG_LANES scalar loads. */
RG_INLINE void rg_deinterleave(const float *p, rg_vf *re, rg_vf *im) {
    rg_vf lo = RG_LOAD(p), hi = RG_LOAD(p + RG_LANES);
    *re = RG_SHUF(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
    *im = RG_SHUF(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15);
}
/* the same for 4 complex64 values, widened to float64 */
RG_INLINE void rg_deinterleave_f64(const float *p, rg_vd4 *re, rg_vd4 *im) {
    rg_vf4 lo = *(const rg_vf4u *)p, hi = *(const rg_vf4u *)(p + 4);
    *re = __builtin_convertvector(RG_SHUF(lo, hi, 0, 2, 4, 6), rg_vd4);
    *im = __builtin_convertvector(RG_SHUF(lo, hi, 1, 3, 5, 7), rg_vd4);
}
#endif
/* The float64 sum of the lanes of a float32 vector (nearly always exact: 8 floats fit a double). */
RG_INLINE double rg_hsum(const rg_vf *v) {
#if RG_SHUFFLE /* widened to two float64 vectors and added as vectors: no 8-long scalar chain */
    rg_vd4 lo = __builtin_convertvector(RG_SHUF(*v, *v, 0, 1, 2, 3), rg_vd4);
    lo += __builtin_convertvector(RG_SHUF(*v, *v, 4, 5, 6, 7), rg_vd4);
    return (lo[0] + lo[1]) + (lo[2] + lo[3]);
#else
    double s = 0.0;
    for (int l = 0; l < RG_LANES; l++) s += (*v)[l];
    return s;
#endif
}
/* rg_hsum of four vectors at once, into out[0..3]: widened to float64 halves, then a 4x4
 * transpose-and-add (shuffles) instead of four scalar chains (the per-row cost of the row loops). */
RG_INLINE void rg_hsum4(const rg_vf *a, const rg_vf *b, const rg_vf *c, const rg_vf *d, double *out) {
#if RG_SHUFFLE
#define RG_HALVES(v) (__builtin_convertvector(RG_SHUF(*(v), *(v), 0, 1, 2, 3), rg_vd4) + \
                      __builtin_convertvector(RG_SHUF(*(v), *(v), 4, 5, 6, 7), rg_vd4))
    rg_vd4 x = RG_HALVES(a), y = RG_HALVES(b), z = RG_HALVES(c), w = RG_HALVES(d);
#undef RG_HALVES
    rg_vd4 xy = RG_SHUF(x, y, 0, 4, 2, 6) + RG_SHUF(x, y, 1, 5, 3, 7); /* x0+x1, y0+y1, x2+x3, y2+y3 */
    rg_vd4 zw = RG_SHUF(z, w, 0, 4, 2, 6) + RG_SHUF(z, w, 1, 5, 3, 7);
    rg_vd4 s = RG_SHUF(xy, zw, 0, 1, 4, 5) + RG_SHUF(xy, zw, 2, 3, 6, 7);
    out[0] = s[0];
    out[1] = s[1];
    out[2] = s[2];
    out[3] = s[3];
#else
    out[0] = rg_hsum(a);
    out[1] = rg_hsum(b);
    out[2] = rg_hsum(c);
    out[3] = rg_hsum(d);
#endif
}
/* x with its NaN lanes set to 0 (a bit mask: no branch). */
#define RG_NAN_TO_ZERO(x) ((rg_vf)((rg_vi)(x) & (rg_vi)((x) == (x))))
#else
#define RG_VECTOR 0
#define RG_SHUFFLE 0
#define RG_INLINE static inline
#endif

#endif
