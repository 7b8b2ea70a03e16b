/* Body of one local-Pearson kernel, included by localmap.c once per input type.
 *
 * Before including, define LP_T (the input element type) and LP_NAME (the function name).
 * See localmap.c for the algorithm and the contract. The loops are written so that GCC
 * vectorises them (restrict pointers, no branches in the bodies); the row sliding sums
 * are serial by nature and interleave their five chains instead.
 */

/* col[k][j] += f(row rin) - f(row rout), without mask. Returns LP_NONINT_A / LP_NONINT_B if
 * `check_int` and a value of a / b (minus its centre) read from row rin is not an integer of
 * magnitude <= lim (then that image's sums may be inexact), and LP_OVER_A / LP_OVER_B if one
 * is not <= ba / bb in magnitude (larger, or NaN/Inf: the caller looks closer). */
LP_INLINE int LP_CAT(LP_NAME, _rows)(const LP_T *restrict a, const LP_T *restrict b, ptrdiff_t nx, ptrdiff_t rin,
                                     ptrdiff_t rout, double ga, double gb, int check_int, double lim, double ba,
                                     double bb, double *restrict c0, double *restrict c1, double *restrict c2,
                                     double *restrict c3, double *restrict c4)
{
    int na = 0, nb = 0, oa = 0, ob = 0;
    if (rin >= 0) {
        const LP_T *restrict ai = a + rin * nx, *restrict bi = b + rin * nx;
        const LP_T *restrict ao = a + (rout >= 0 ? rout : rin) * nx, *restrict bo = b + (rout >= 0 ? rout : rin) * nx;
        const double keep = rout >= 0 ? 1.0 : 0.0; /* 0: nothing leaves (u, v are zeroed) */
#define LP_ROWS_BODY(CHECKS)                                                           \
    for (ptrdiff_t j = 0; j < nx; j++) {                                               \
        const double x = (double)ai[j] - ga, y = (double)bi[j] - gb;                   \
        const double u = keep * ((double)ao[j] - ga), v = keep * ((double)bo[j] - gb); \
        oa |= !(fabs(x) <= ba);                                                        \
        ob |= !(fabs(y) <= bb);                                                        \
        CHECKS                                                                         \
        c0[j] += x - u;                                                                \
        c1[j] += y - v;                                                                \
        c2[j] += x * x - u * u;                                                        \
        c3[j] += y * y - v * v;                                                        \
        c4[j] += x * y - u * v;                                                        \
    }
        if (check_int) {
            LP_ROWS_BODY(na |= (LP_ROUND(x) != x) | (fabs(x) > lim); nb |= (LP_ROUND(y) != y) | (fabs(y) > lim);)
        } else {
            LP_ROWS_BODY(;)
        }
#undef LP_ROWS_BODY
    } else if (rout >= 0) {
        const LP_T *restrict ao = a + rout * nx, *restrict bo = b + rout * nx;
        for (ptrdiff_t j = 0; j < nx; j++) {
            const double u = (double)ao[j] - ga, v = (double)bo[j] - gb;
            c0[j] -= u;
            c1[j] -= v;
            c2[j] -= u * u;
            c3[j] -= v * v;
            c4[j] -= u * v;
        }
    }
    return (na ? LP_NONINT_A : 0) | (nb ? LP_NONINT_B : 0) | (oa ? LP_OVER_A : 0) | (ob ? LP_OVER_B : 0);
}

/* The same with a mask: excluded pixels count as 0 (a select, so a NaN under a False
 * mask never leaks into the sums), and c5 counts the valid pixels. Adds row r with
 * sign +1 or -1, and reports non-integers like the unmasked version. */
LP_INLINE int LP_CAT(LP_NAME, _mrow)(const LP_T *restrict a, const LP_T *restrict b, const uint8_t *restrict mask,
                                   ptrdiff_t nx, ptrdiff_t r, double sign, double ga, double gb, double lim,
                                   double ba, double bb, double *restrict c0, double *restrict c1, double *restrict c2,
                                   double *restrict c3, double *restrict c4, double *restrict c5)
{
    const LP_T *restrict ar = a + r * nx, *restrict br = b + r * nx;
    const uint8_t *restrict mr = mask + r * nx;
    int na = 0, nb = 0, oa = 0, ob = 0;
    for (ptrdiff_t j = 0; j < nx; j++) {
        const double x = mr[j] ? (double)ar[j] - ga : 0.0, y = mr[j] ? (double)br[j] - gb : 0.0;
        na |= (LP_ROUND(x) != x) | (fabs(x) > lim);
        nb |= (LP_ROUND(y) != y) | (fabs(y) > lim);
        oa |= !(fabs(x) <= ba);
        ob |= !(fabs(y) <= bb);
        c0[j] += sign * x;
        c1[j] += sign * y;
        c2[j] += sign * (x * x);
        c3[j] += sign * (y * y);
        c4[j] += sign * (x * y);
        c5[j] += sign * (double)mr[j];
    }
    return (na ? LP_NONINT_A : 0) | (nb ? LP_NONINT_B : 0) | (oa ? LP_OVER_A : 0) | (ob ? LP_OVER_B : 0);
}

/* Largest |value - centre| of row r of x (valid pixels only); +Inf if a value is NaN/Inf. */
LP_INLINE double LP_CAT(LP_NAME, _rowmax)(const LP_T *x, const uint8_t *mask, ptrdiff_t nx, ptrdiff_t r, double c)
{
    double m = 0.0;
    for (ptrdiff_t j = 0; j < nx; j++) {
        const double d = fabs((double)x[r * nx + j] - c);
        if (mask == NULL || mask[r * nx + j]) m = (d > m || d != d) ? (d != d ? INFINITY : d) : m;
    }
    return m;
}

/* Pearson r of the clipped window around (i, j) by a one-pass sum of the values shifted
 * by one of the window's own values (the centre, or the first valid pixel): a constant
 * window gives exact zeros, and a flat window loses no digits to its offset (Chan, Golub
 * & LeVeque 1983, shifted data). NAN if < 3 valid pixels or zero variance. */
LP_INLINE double LP_CAT(LP_NAME, _window)(const LP_T *a, const LP_T *b, const uint8_t *mask, ptrdiff_t ny,
                                          ptrdiff_t nx, ptrdiff_t ry, ptrdiff_t rx, ptrdiff_t i, ptrdiff_t j)
{
    const ptrdiff_t i0 = i - ry < 0 ? 0 : i - ry, i1 = i + ry >= ny ? ny - 1 : i + ry;
    const ptrdiff_t j0 = j - rx < 0 ? 0 : j - rx, j1 = j + rx >= nx ? nx - 1 : j + rx;
    ptrdiff_t k0 = i * nx + j;
    if (mask != NULL && !mask[k0]) { /* shift by the first valid pixel instead */
        k0 = -1;
        for (ptrdiff_t y = i0; y <= i1 && k0 < 0; y++)
            for (ptrdiff_t x = j0; x <= j1; x++)
                if (mask[y * nx + x]) {
                    k0 = y * nx + x;
                    break;
                }
        if (k0 < 0) return NAN;
    }
    const double ca = (double)a[k0], cb = (double)b[k0];
    double n = 0.0, dx = 0.0, dy = 0.0, xx = 0.0, yy = 0.0, xy = 0.0;
    for (ptrdiff_t y = i0; y <= i1; y++) {
        const LP_T *restrict ar = a + y * nx, *restrict br = b + y * nx;
        if (mask == NULL) { /* four partial sums per quantity: independent chains, SIMD lanes */
            double p[5][4] = {{0.0}};
            ptrdiff_t x = j0;
            for (; x + 3 <= j1; x += 4)
                for (int q = 0; q < 4; q++) {
                    const double u = (double)ar[x + q] - ca, v = (double)br[x + q] - cb;
                    p[0][q] += u, p[1][q] += v, p[2][q] += u * u, p[3][q] += v * v, p[4][q] += u * v;
                }
            for (; x <= j1; x++) {
                const double u = (double)ar[x] - ca, v = (double)br[x] - cb;
                dx += u, dy += v, xx += u * u, yy += v * v, xy += u * v;
            }
            dx += (p[0][0] + p[0][1]) + (p[0][2] + p[0][3]);
            dy += (p[1][0] + p[1][1]) + (p[1][2] + p[1][3]);
            xx += (p[2][0] + p[2][1]) + (p[2][2] + p[2][3]);
            yy += (p[3][0] + p[3][1]) + (p[3][2] + p[3][3]);
            xy += (p[4][0] + p[4][1]) + (p[4][2] + p[4][3]);
            n += (double)(j1 - j0 + 1);
        } else {
            const uint8_t *restrict mr = mask + y * nx;
            for (ptrdiff_t x = j0; x <= j1; x++) {
                const double u = mr[x] ? (double)ar[x] - ca : 0.0, v = mr[x] ? (double)br[x] - cb : 0.0;
                dx += u, dy += v, xx += u * u, yy += v * v, xy += u * v, n += (double)mr[x];
            }
        }
    }
    if (n < 3.0) return NAN;
    xx -= dx * dx / n;
    yy -= dy * dy / n;
    xy -= dx * dy / n;
    if (!(xx > 0.0) || !(yy > 0.0)) return NAN;
    const double r = xy / sqrt(xx * yy);
    return r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
}

/* Recompute the flagged pixels [js, je) of row i, in chunks of up to LP_CHUNK pixels: per
 * chunk, the values are shifted by one value of the chunk's first window (so a flat
 * window loses no digits to its level, and a constant one gives exact zeros), summed over
 * the window rows for the chunk's columns, and slid along the chunk. A pixel that is
 * still ill-conditioned (its window not flat around that shift) gets its own window pass.
 * `scratch` holds 6 * (LP_CHUNK + 2 rx) doubles. */
LP_INLINE void LP_CAT(LP_NAME, _redo)(const LP_T *a, const LP_T *b, const uint8_t *mask, ptrdiff_t ny,
                                      ptrdiff_t nx, ptrdiff_t ry, ptrdiff_t rx, ptrdiff_t i, ptrdiff_t js,
                                      ptrdiff_t je, double flag, double *o, double *scratch)
{
    const ptrdiff_t i0 = i - ry < 0 ? 0 : i - ry, i1 = i + ry >= ny ? ny - 1 : i + ry;
    const ptrdiff_t span = LP_CHUNK + 2 * rx;
    double *restrict c0 = scratch, *restrict c1 = c0 + span, *restrict c2 = c1 + span, *restrict c3 = c2 + span;
    double *restrict c4 = c3 + span, *restrict c5 = c4 + span;
    for (ptrdiff_t k0 = js; k0 < je; k0 += LP_CHUNK) {
        const ptrdiff_t k1 = k0 + LP_CHUNK < je ? k0 + LP_CHUNK : je;
        const ptrdiff_t p0 = k0 - rx < 0 ? 0 : k0 - rx, p1 = k1 - 1 + rx >= nx ? nx - 1 : k1 - 1 + rx;
        const ptrdiff_t np = p1 - p0 + 1;
        ptrdiff_t ks = i * nx + k0; /* the shift: this pixel's value, or a valid one nearby */
        if (mask != NULL && !mask[ks]) {
            ks = -1;
            for (ptrdiff_t y = i0; y <= i1 && ks < 0; y++)
                for (ptrdiff_t x = p0; x <= p1; x++)
                    if (mask[y * nx + x]) {
                        ks = y * nx + x;
                        break;
                    }
            if (ks < 0) { /* no valid pixel anywhere near: undefined */
                for (ptrdiff_t j = k0; j < k1; j++) o[j] = NAN;
                continue;
            }
        }
        const double sa = (double)a[ks], sb = (double)b[ks];
        for (ptrdiff_t q = 0; q < np; q++) c0[q] = c1[q] = c2[q] = c3[q] = c4[q] = c5[q] = 0.0;
        for (ptrdiff_t y = i0; y <= i1; y++) {
            const LP_T *restrict ar = a + y * nx + p0, *restrict br = b + y * nx + p0;
            if (mask == NULL) {
                for (ptrdiff_t q = 0; q < np; q++) {
                    const double u = (double)ar[q] - sa, v = (double)br[q] - sb;
                    c0[q] += u, c1[q] += v, c2[q] += u * u, c3[q] += v * v, c4[q] += u * v;
                }
            } else {
                const uint8_t *restrict mr = mask + y * nx + p0;
                for (ptrdiff_t q = 0; q < np; q++) {
                    const double u = mr[q] ? (double)ar[q] - sa : 0.0, v = mr[q] ? (double)br[q] - sb : 0.0;
                    c0[q] += u, c1[q] += v, c2[q] += u * u, c3[q] += v * v, c4[q] += u * v;
                    c5[q] += (double)mr[q];
                }
            }
        }
        const double rows = (double)(i1 - i0 + 1);
        for (ptrdiff_t j = k0; j < k1; j++) { /* direct sums (no sliding: no residues) */
            const ptrdiff_t wlo = (j - rx < 0 ? 0 : j - rx) - p0, whi = (j + rx >= nx ? nx - 1 : j + rx) - p0;
            double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0;
            for (ptrdiff_t q = wlo; q <= whi; q++)
                s0 += c0[q], s1 += c1[q], s2 += c2[q], s3 += c3[q], s4 += c4[q], s5 += c5[q];
            const double n = mask != NULL ? s5 : rows * (double)(whi - wlo + 1);
            const double qxx = n * s2, qyy = n * s3;
            const double cxx = qxx - s0 * s0, cyy = qyy - s1 * s1, cxy = n * s4 - s0 * s1;
            if (n < 3.0 || (qxx == 0.0 || qyy == 0.0)) { /* too few pixels, or every value equals the shift */
                o[j] = NAN;
            } else if ((cxx > flag * qxx) & (cyy > flag * qyy)) {
                const double r = cxy / sqrt(cxx * cyy);
                o[j] = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
            } else {
                o[j] = LP_CAT(LP_NAME, _window)(a, b, mask, ny, nx, ry, rx, i, j);
            }
        }
    }
}

IMCORR_HOT
int LP_NAME(const LP_T *a, const LP_T *b, const uint8_t *mask, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ry,
            ptrdiff_t rx, double ga, double gb, int integral, double lim, double ba, double bb, double flag,
            ptrdiff_t r0, ptrdiff_t r1, double *out, uint8_t *valid, double *totals)
{
    const ptrdiff_t W = nx + 2 * rx + 1; /* column j sits at padded index j + rx + 1 */
    const ptrdiff_t w = 2 * rx + 1;
    const int nsum = mask != NULL ? 6 : 5;
    const double f2 = flag * flag;
    /* worst-case rounding residue of a float window sum of squares, per unit bound^2 */
    const double resid = LP_FLOOR * DBL_EPSILON * (double)((2 * ry + 1) * (2 * rx + 1)) *
                         (double)(2 * LP_RESTART + (ry > rx ? 2 * ry + 1 : 2 * rx + 1));
    double *buf = (double *)calloc((size_t)(nsum * W + 7 * nx + 6 * (LP_CHUNK + 2 * rx)), sizeof(double));
    if (buf == NULL) return -1;
    double *pc[6], *col[6], *h[6];
    for (int k = 0; k < 6; k++) {
        pc[k] = buf + (size_t)(k < nsum ? k : nsum - 1) * W; /* without mask, slot 5 is unused */
        col[k] = pc[k] + rx + 1;
        h[k] = buf + (size_t)nsum * W + (size_t)k * nx;
    }
    double *restrict cnt = buf + (size_t)nsum * W + 6 * (size_t)nx; /* clipped columns per window */
    double *redo = cnt + nx; /* scratch of the recompute */
    for (ptrdiff_t j = 0; j < nx; j++)
        cnt[j] = (double)((j + rx >= nx ? nx - 1 : j + rx) - (j - rx < 0 ? 0 : j - rx) + 1);
    double total = 0.0, count = 0.0;
    int state = (integral & 1 ? 0 : LP_NONINT_A) | (integral & 2 ? 0 : LP_NONINT_B);
    for (ptrdiff_t i = r0; i < r1 && !(state & LP_NONFINITE); i++) {
        /* 1. column sums over rows [i - ry, i + ry] (clipped). While both images have only
         *    read integers (exact sums) there is nothing to drift; otherwise restart every
         *    LP_RESTART rows */
        const int inexact = (state & (LP_NONINT_A | LP_NONINT_B)) != 0;
        const int check = (state & (LP_NONINT_A | LP_NONINT_B)) != (LP_NONINT_A | LP_NONINT_B);
        const int restart = i == r0 || (inexact && (i - r0) % LP_RESTART == 0);
        const ptrdiff_t lo = i - ry < 0 ? 0 : i - ry, hi = i + ry >= ny ? ny - 1 : i + ry;
        if (restart)
            for (int k = 0; k < nsum; k++) memset(col[k], 0, (size_t)nx * sizeof(double));
        if (mask == NULL) {
            if (restart)
                for (ptrdiff_t q = lo; q <= hi; q++)
                    state |= LP_CAT(LP_NAME, _rows)(a, b, nx, q, -1, ga, gb, check, lim, ba, bb, col[0], col[1], col[2], col[3],
                                                    col[4]);
            else
                state |= LP_CAT(LP_NAME, _rows)(a, b, nx, i + ry < ny ? i + ry : -1, i - ry - 1, ga, gb, check, lim, ba, bb,
                                                col[0], col[1], col[2], col[3], col[4]);
        } else {
            if (restart)
                for (ptrdiff_t q = lo; q <= hi; q++)
                    state |= LP_CAT(LP_NAME, _mrow)(a, b, mask, nx, q, 1.0, ga, gb, lim, ba, bb, col[0], col[1], col[2],
                                                    col[3], col[4], col[5]);
            else {
                if (i + ry < ny)
                    state |= LP_CAT(LP_NAME, _mrow)(a, b, mask, nx, i + ry, 1.0, ga, gb, lim, ba, bb, col[0], col[1],
                                                    col[2], col[3], col[4], col[5]);
                if (i - ry - 1 >= 0)
                    LP_CAT(LP_NAME, _mrow)(a, b, mask, nx, i - ry - 1, -1.0, ga, gb, lim, ba, bb, col[0], col[1], col[2],
                                           col[3], col[4], col[5]);
            }
        }
        if (state & (LP_OVER_A | LP_OVER_B)) { /* a value beyond the bound: raise it (rare) */
            for (ptrdiff_t q = lo; q <= hi; q++) {
                const double ma = LP_CAT(LP_NAME, _rowmax)(a, mask, nx, q, ga);
                const double mb = LP_CAT(LP_NAME, _rowmax)(b, mask, nx, q, gb);
                ba = ma > ba ? ma : ba;
                bb = mb > bb ? mb : bb;
            }
            state &= ~(LP_OVER_A | LP_OVER_B);
            if (!(ba < INFINITY && bb < INFINITY)) state |= LP_NONFINITE; /* a NaN/Inf was read */
        }
        const int ea = !(state & LP_NONINT_A), eb = !(state & LP_NONINT_B); /* exact sums of a / b */
        /* 2. sliding sums along the row (zero padding at both ends), the five sums
         *    interleaved so that their dependency chains overlap */
        const ptrdiff_t seg = (ea && eb) ? nx : LP_RESTART;
        for (ptrdiff_t j0 = 0; j0 < nx; j0 += seg) {
            const ptrdiff_t j1 = j0 + seg < nx ? j0 + seg : nx;
            for (int k0 = 0; k0 < nsum; k0 += 5) {
                if (nsum - k0 >= 5) {
                    const double *p0 = pc[k0], *p1 = pc[k0 + 1], *p2 = pc[k0 + 2], *p3 = pc[k0 + 3], *p4 = pc[k0 + 4];
                    double *o0 = h[k0], *o1 = h[k0 + 1], *o2 = h[k0 + 2], *o3 = h[k0 + 3], *o4 = h[k0 + 4];
                    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0;
                    for (ptrdiff_t p = j0 + 1; p <= j0 + w; p++)
                        s0 += p0[p], s1 += p1[p], s2 += p2[p], s3 += p3[p], s4 += p4[p];
                    o0[j0] = s0, o1[j0] = s1, o2[j0] = s2, o3[j0] = s3, o4[j0] = s4;
                    for (ptrdiff_t j = j0 + 1; j < j1; j++) {
                        s0 += p0[j + w] - p0[j];
                        s1 += p1[j + w] - p1[j];
                        s2 += p2[j + w] - p2[j];
                        s3 += p3[j + w] - p3[j];
                        s4 += p4[j + w] - p4[j];
                        o0[j] = s0, o1[j] = s1, o2[j] = s2, o3[j] = s3, o4[j] = s4;
                    }
                } else {
                    const double *p0 = pc[k0];
                    double *o0 = h[k0];
                    double s0 = 0.0;
                    for (ptrdiff_t p = j0 + 1; p <= j0 + w; p++) s0 += p0[p];
                    o0[j0] = s0;
                    for (ptrdiff_t j = j0 + 1; j < j1; j++) {
                        s0 += p0[j + w] - p0[j];
                        o0[j] = s0;
                    }
                }
            }
        }
        /* 3. Pearson r from the sums, in the n-scaled form (n S_xx - S_x^2 is exact when
         *    the image's sums are). Output: r in [-1, 1]; NaN where undefined (zero
         *    variance known exactly, or n < 3); LP_REDO where rounding could cost more
         *    than ~1/flag in relative accuracy (recomputed in step 4) */
        {
            const double rows = (double)(hi - lo + 1);
            const double *restrict sx = h[0], *restrict sy = h[1], *restrict sxx = h[2], *restrict syy = h[3];
            const double *restrict sxy = h[4], *restrict sn = mask != NULL ? h[5] : cnt;
            const double scale = mask != NULL ? 1.0 : rows;
            const double fa = ea ? 0.0 : flag, fb = eb ? 0.0 : flag, fab = (ea && eb) ? 0.0 : f2;
            const double ra = ea ? 0.0 : resid * ba * ba, rb = eb ? 0.0 : resid * bb * bb;
            double *restrict o = out + i * nx;
            for (ptrdiff_t j = 0; j < nx; j++) {
                const double n = scale * sn[j];
                const double qxx = n * sxx[j], qyy = n * syy[j];
                const double cxx = qxx - sx[j] * sx[j], cyy = qyy - sy[j] * sy[j];
                const double cxy = n * sxy[j] - sx[j] * sy[j];
                const int undef = (n < 3.0) | (ea & !(cxx > 0.0)) | (eb & !(cyy > 0.0));
                const int good = (cxx > fa * qxx) & (cyy > fb * qyy) & (cxx * cyy > fab * (qxx * qyy)) &
                                 (cxx > n * ra) & (cyy > n * rb);
                double r = cxy / sqrt(cxx * cyy); /* garbage unless good: replaced */
                r = r < 1.0 ? r : 1.0;
                r = r > -1.0 ? r : -1.0;
                r = good ? r : LP_REDO;
                o[j] = undef ? NAN : r;
            }
        }
        /* 4. valid flags and totals; recompute the flagged pixels directly */
        {
            double *o = out + i * nx;
            uint8_t *v = valid + i * nx;
            double t0 = 0.0, t1 = 0.0, m0 = 0.0, m1 = 0.0;
            ptrdiff_t j = 0;
            for (; j + 1 < nx; j += 2) {
                if (!((o[j] <= 1.0) & (o[j + 1] <= 1.0))) break; /* NaN or LP_REDO */
                t0 += o[j], t1 += o[j + 1], m0 += 1.0, m1 += 1.0;
                v[j] = 1, v[j + 1] = 1;
            }
            for (; j < nx; j++) {
                if (o[j] == LP_REDO) { /* the whole run of flagged pixels at once */
                    ptrdiff_t je = j + 1;
                    while (je < nx && o[je] == LP_REDO) je++;
                    LP_CAT(LP_NAME, _redo)(a, b, mask, ny, nx, ry, rx, i, j, je, flag, o, redo);
                }
                const double r = o[j];
                v[j] = r == r;
                if (r == r) t0 += r, m0 += 1.0;
            }
            total += t0 + t1;
            count += m0 + m1;
        }
    }
    free(buf);
    totals[0] = total;
    totals[1] = count;
    return (state & LP_NONFINITE) ? 1 : 0;
}
