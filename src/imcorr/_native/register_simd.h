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
#define RG_LOAD(p) (*(const rg_vfu *)(p))
#define RG_INLINE static inline __attribute__((always_inline))
RG_INLINE double rg_hsum(const rg_vf *v) {
    double s = 0.0;
    for (int l = 0; l < RG_LANES; l++) s += (*v)[l];
    return s;
}
#else
#define RG_VECTOR 0
#define RG_INLINE static inline
#endif

#endif
