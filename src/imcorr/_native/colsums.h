/* Running column sums of d = x - g and d^2 down a 2-D array: the one implementation shared by
 * boxsum.c (window moments) and zncc.c (fused ZNCC normalisation).
 *
 * c1[j], c2[j] (j < nx) hold the sums over the ty rows of the current window; START fills them
 * for rows [0, ty), SLIDE moves them from rows [i - 1, i - 1 + ty) to [i, i + ty) (one row in,
 * one out; Crow 1984). T is the element type, x the array with a row stride of `stride`
 * elements. Integer-valued d are summed exactly; otherwise the float64 rounding stays within
 * the running-sum bound documented in boxsum.c.
 */
#ifndef IMCORR_COLSUMS_H
#define IMCORR_COLSUMS_H

#include <stddef.h>

#define IMCORR_COLSUMS_START(T, x, stride, ty, nx, g, c1, c2)                                                     \
    for (ptrdiff_t cs_r = 0; cs_r < (ty); cs_r++) {                                                               \
        const T *restrict cs_xr = (x) + cs_r * (stride);                                                          \
        for (ptrdiff_t cs_j = 0; cs_j < (nx); cs_j++) {                                                           \
            const double cs_d = (double)cs_xr[cs_j] - (g);                                                        \
            (c1)[cs_j] += cs_d;                                                                                   \
            (c2)[cs_j] += cs_d * cs_d;                                                                            \
        }                                                                                                         \
    }

#define IMCORR_COLSUMS_SLIDE(T, x, stride, i, ty, nx, g, c1, c2)                                                  \
    do {                                                                                                          \
        const T *restrict cs_xi = (x) + ((i) + (ty) - 1) * (stride), *restrict cs_xo = (x) + ((i) - 1) * (stride); \
        for (ptrdiff_t cs_j = 0; cs_j < (nx); cs_j++) {                                                           \
            const double cs_d = (double)cs_xi[cs_j] - (g), cs_e = (double)cs_xo[cs_j] - (g);                      \
            (c1)[cs_j] += cs_d - cs_e;                                                                            \
            (c2)[cs_j] += cs_d * cs_d - cs_e * cs_e;                                                              \
        }                                                                                                         \
    } while (0)

#endif
