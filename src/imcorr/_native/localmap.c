/* Local (windowed) Pearson correlation map of two 2-D images, one pass per row band.
 *
 * For output rows [r0, r1) of a C-contiguous ny x nx image pair, each pixel gets the
 * Pearson r of a and b over the clipped centred window of (2 ry + 1) x (2 rx + 1) pixels
 * (Crow 1984, summed-area idea, as separable running sums):
 *   1. five column sums (x, y, x^2, y^2, xy of the centred values; plus the mask count)
 *      over the window's rows, updated by one added and one removed image row per output
 *      row, so the cost does not depend on the window;
 *   2. sliding sums of those along the row;
 *   3. r = (S_xy - S_x S_y / n) / sqrt((S_xx - S_x^2 / n)(S_yy - S_y^2 / n)).
 *
 * Accuracy: the values are centred by the caller's centres (ga, gb). While every value an
 * image has contributed is an integer of magnitude <= lim (`integral` & 1 / & 2: the centre
 * of a / b is an integer; the caller picks lim so that n^2 lim^2 < 2^53), that image's sums
 * and n S_xx - S_x^2 are exact: zero variance is detected exactly and nothing drifts.
 * Otherwise the sums are float64, restarted every LP_RESTART rows and columns to bound
 * drift, and a pixel is recomputed when its window variance is below `flag` times its mean
 * square about the centre (cancellation would cost too many digits), or below LP_FLOOR
 * times the worst-case rounding residue of the sums (eps * bound^2 * window * (2 LP_RESTART
 * + window side), bound = the largest |value - centre| read so far, from ba / bb up): runs
 * of such pixels are summed again with the values shifted by one of their windows' own
 * values. Zero variance, or fewer than 3 valid pixels, gives NaN and valid = 0.
 *
 * Returns 0, 1 if a non-finite value was read without a mask (the caller reports it),
 * or -1 if memory could not be allocated. totals[0] = sum of valid r, totals[1] = count.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define LP_RESTART 64
#define LP_CHUNK 32 /* pixels per shift in the recompute of flagged runs */
#define LP_REDO 2.0 /* marks a pixel for the direct recompute (r itself is in [-1, 1]) */
#define LP_NONFINITE 1
#define LP_NONINT_A 2
#define LP_NONINT_B 4
#define LP_OVER_A 8
#define LP_OVER_B 16
/* a float-mode window variance must exceed LP_FLOOR times the worst-case rounding residue
 * of its sums, else it is recomputed (flat windows near the centre value) */
#define LP_FLOOR 1e3
/* x rounded to an integer for |x| < 2^51 (round-to-nearest), vectorisable without SSE4.1 */
#define LP_ROUND(x) (((x) + 6755399441055744.0) - 6755399441055744.0)
#define LP_CAT_(a, b) a##b
#define LP_CAT(a, b) LP_CAT_(a, b)

/* helpers are inlined into each clone, so they are vectorised for its target; the window
 * recompute may reassociate its sums (any order is as accurate) */
#if defined(__GNUC__)
#define LP_INLINE static inline __attribute__((always_inline))
#else
#define LP_INLINE static inline
#endif

#define LP_T float
#define LP_NAME imcorr_local_pearson_f32
#include "localmap_impl.h"
#undef LP_T
#undef LP_NAME

#define LP_T double
#define LP_NAME imcorr_local_pearson_f64
#include "localmap_impl.h"
#undef LP_T
#undef LP_NAME

#define LP_T uint8_t
#define LP_NAME imcorr_local_pearson_u8
#include "localmap_impl.h"
#undef LP_T
#undef LP_NAME

#define LP_T uint16_t
#define LP_NAME imcorr_local_pearson_u16
#include "localmap_impl.h"
#undef LP_T
#undef LP_NAME
