/* Native kernels of translation registration (imcorr.register, imcorr.register.refine).
 *
 * Plain C99 functions called through ctypes (imcorr._native.register_kernels); every one has a NumPy
 * twin that computes the same quantity (the tests run both against independent references).
 * Images are 2-D, single channel, float64 (dtype 0) or float32 (dtype 1), with arbitrary
 * element strides (s0, s1), so strided views (e.g. the real part of a complex array) are read
 * in place. Complex spectra are complex64 arrays (interleaved float pairs), rfft layout
 * (n0 rows of m1 = n1 // 2 + 1 half-axis columns), C-contiguous. The refinement's Gauss-Newton and
 * peak/uncertainty kernels are in register_gn.c.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "kernels.h"
#include "register_simd.h"

/* one row of a strided float64/float32 image as doubles */
RG_INLINE void load_row(const void *x, int dtype, ptrdiff_t s0, ptrdiff_t s1, int i, int n1, double *row) {
    if (dtype == 0) {
        const double *p = (const double *)x + (ptrdiff_t)i * s0;
        if (s1 == 1) {
            for (int j = 0; j < n1; j++) row[j] = p[j];
        } else {
            for (int j = 0; j < n1; j++) row[j] = p[(ptrdiff_t)j * s1];
        }
    } else {
        const float *p = (const float *)x + (ptrdiff_t)i * s0;
        if (s1 == 1) { /* contiguous float32 rows (a frame of a stack): a vectorised conversion */
            for (int j = 0; j < n1; j++) row[j] = (double)p[j];
        } else {
            for (int j = 0; j < n1; j++) row[j] = (double)p[(ptrdiff_t)j * s1];
        }
    }
}

/* In place: M <- M * conj(R) (complex64, n elements); with phase != 0 then M <- M / (|M| + eps),
 * eps = max|M| * 1e-12 + FLT_MIN (the NumPy path's phase normalization). */
IMCORR_HOT void imcorr_reg_crosspower(float *M, const float *R, ptrdiff_t n, int phase) {
    for (ptrdiff_t k = 0; k < n; k++) { /* no reduction here: vectorizable */
        float a = M[2 * k], b = M[2 * k + 1], c = R[2 * k], d = R[2 * k + 1];
        M[2 * k] = a * c + b * d;
        M[2 * k + 1] = b * c - a * d;
    }
    if (!phase) return;
    /* max |M|^2 in float64 (exact max: the lanes' order does not change it), 4 independent lanes */
    double mx4[4] = {0.0, 0.0, 0.0, 0.0};
    ptrdiff_t k = 0;
    for (; k + 4 <= n; k += 4) {
        for (int l = 0; l < 4; l++) {
            double re = M[2 * (k + l)], im = M[2 * (k + l) + 1], m = re * re + im * im;
            mx4[l] = m > mx4[l] ? m : mx4[l];
        }
    }
    for (; k < n; k++) {
        double re = M[2 * k], im = M[2 * k + 1], m = re * re + im * im;
        mx4[0] = m > mx4[0] ? m : mx4[0];
    }
    double mx = mx4[0];
    for (int l = 1; l < 4; l++) mx = mx4[l] > mx ? mx4[l] : mx; /* NaN is never taken, as in a plain scan */
    if (!(mx > 0.0) || !isfinite(mx)) { /* all zero (or non-finite): the plain formula */
        for (ptrdiff_t k = 0; k < 2 * n; k++) M[k] = (float)(M[k] / ((double)fabsf(M[k]) + FLT_MIN));
        return;
    }
    /* M / (|M| + eps) = M' / (|M'| + eps') with M' = M / max|M| (float32 arithmetic, no overflow) */
    double top = sqrt(mx);
    float scale = (float)(1.0 / top), eps = (float)(1e-12 + FLT_MIN / top);
    for (ptrdiff_t k = 0; k < n; k++) { /* no branch, no reduction: vectorizable */
        float re = M[2 * k] * scale, im = M[2 * k + 1] * scale;
        float inv = 1.0f / (sqrtf(re * re + im * im) + eps);
        M[2 * k] = re * inv;
        M[2 * k + 1] = im * inv;
    }
}

/* Argmax (first maximum) of an n0 x n1 float32 surface and its peak-to-sidelobe ratio outside a
 * periodic (2 * exclude + 1)^2 box: out[0] = flat index, out[1] = PSR (NaN for a flat surface). */
IMCORR_HOT void imcorr_reg_peak(const float *s, int n0, int n1, int exclude, double *out) {
    ptrdiff_t n = (ptrdiff_t)n0 * n1, best = 0;
    float bv = s[0];
    double total = 0.0, sq = 0.0;
    for (int i = 0; i < n0; i++) {
        const float *r = s + (ptrdiff_t)i * n1;
        /* the row's sums (4 float64 lanes) and maximum (8 float32 lanes; NaN is never taken): vectorizable */
        double rs4[4] = {0.0, 0.0, 0.0, 0.0}, rq4[4] = {0.0, 0.0, 0.0, 0.0};
        float mx8[8];
        for (int l = 0; l < 8; l++) mx8[l] = r[0];
        int j = 0;
        for (; j + 8 <= n1; j += 8) {
            for (int l = 0; l < 8; l++) {
                double v = r[j + l];
                rs4[l & 3] += v;
                rq4[l & 3] += v * v;
                mx8[l] = r[j + l] > mx8[l] ? r[j + l] : mx8[l];
            }
        }
        double rs = (rs4[0] + rs4[1]) + (rs4[2] + rs4[3]), rq = (rq4[0] + rq4[1]) + (rq4[2] + rq4[3]);
        float m = mx8[0];
        for (int l = 1; l < 8; l++) m = mx8[l] > m ? mx8[l] : m;
        for (; j < n1; j++) {
            double v = r[j];
            rs += v;
            rq += v * v;
            m = r[j] > m ? r[j] : m;
        }
        total += rs;
        sq += rq;
        if (m > bv) { /* the first maximum in row-major order: this row's first element equal to m */
            int k = 0;
            while (r[k] != m) k++;
            bv = m;
            best = (ptrdiff_t)i * n1 + k;
        }
    }
    out[0] = (double)best;
    int p0 = (int)(best / n1), p1 = (int)(best % n1);
    double bs = 0.0, bq = 0.0;
    int w = 2 * exclude + 1;
    for (int a = -exclude; a <= exclude; a++) {
        int i = ((p0 + a) % n0 + n0) % n0;
        for (int b = -exclude; b <= exclude; b++) {
            int j = ((p1 + b) % n1 + n1) % n1;
            double v = s[(ptrdiff_t)i * n1 + j];
            bs += v;
            bq += v * v;
        }
    }
    ptrdiff_t m = n - (ptrdiff_t)w * w;
    if (m < 2) {
        out[1] = NAN;
        return;
    }
    double mean = (total - bs) / (double)m;
    double var = (sq - bq) / (double)m - mean * mean;
    out[1] = var > 0 ? ((double)bv - mean) / sqrt(var) : NAN;
}

/* Gradient-energy marginals of a strided n0 x n1 sample: m0[i] = sum_j of the squared forward
 * differences along both axes at row i (zero past the last index), m1 likewise per column. */
int imcorr_reg_grad_marginals(const void *x, int dtype, ptrdiff_t s0, ptrdiff_t s1, int n0, int n1, double *m0,
                              double *m1) {
    double *row = (double *)malloc(sizeof(double) * (size_t)n1 * 2);
    if (!row) return -1;
    double *nxt = row + n1;
    for (int i = 0; i < n0; i++) m0[i] = 0.0;
    for (int j = 0; j < n1; j++) m1[j] = 0.0;
    load_row(x, dtype, s0, s1, 0, n1, row);
    for (int i = 0; i < n0; i++) {
        if (i + 1 < n0) {
            load_row(x, dtype, s0, s1, i + 1, n1, nxt);
            double acc = 0.0;
            for (int j = 0; j < n1; j++) {
                double d = nxt[j] - row[j];
                d *= d;
                acc += d;
                m1[j] += d;
            }
            m0[i] += acc;
        }
        double acc = 0.0;
        for (int j = 0; j + 1 < n1; j++) {
            double d = row[j + 1] - row[j];
            d *= d;
            acc += d;
            m1[j] += d;
        }
        m0[i] += acc;
        double *t = row;
        row = nxt;
        nxt = t;
    }
    free(row < nxt ? row : nxt);
    return 0;
}

/* h[j] = (float)(0.25 * ((p0[2j] + p0[2j+1]) + (p1[2j] + p1[2j+1]))), j < g (contiguous float64 rows;
 * the same sums in the same order as the scalar loop, so both builds give identical values). */
RG_INLINE void bin2_row(const double *p0, const double *p1, int g, float *h) {
    int j = 0;
#if RG_VECTOR && (defined(__clang__) || __GNUC__ >= 12)
    typedef double rg_vd __attribute__((vector_size(32)));
    typedef double rg_vdu __attribute__((vector_size(32), aligned(8)));
    typedef float rg_vf4 __attribute__((vector_size(16)));
    typedef float rg_vf4u __attribute__((vector_size(16), aligned(4)));
    for (; j + 4 <= g; j += 4) {
        rg_vd a0 = *(const rg_vdu *)(p0 + 2 * j), a1 = *(const rg_vdu *)(p0 + 2 * j + 4);
        rg_vd b0 = *(const rg_vdu *)(p1 + 2 * j), b1 = *(const rg_vdu *)(p1 + 2 * j + 4);
        rg_vd ea = __builtin_shufflevector(a0, a1, 0, 2, 4, 6), oa = __builtin_shufflevector(a0, a1, 1, 3, 5, 7);
        rg_vd eb = __builtin_shufflevector(b0, b1, 0, 2, 4, 6), ob = __builtin_shufflevector(b0, b1, 1, 3, 5, 7);
        *(rg_vf4u *)(h + j) = __builtin_convertvector(0.25 * ((ea + oa) + (eb + ob)), rg_vf4);
    }
#endif
    for (; j < g; j++) h[j] = (float)(0.25 * ((p0[2 * j] + p0[2 * j + 1]) + (p1[2 * j] + p1[2 * j + 1])));
}

/* Sums of (v[j] - c) and (v[j] - c)^2 over a float32 row (RG_LANES-lane float partial sums). */
RG_INLINE void centred_sums(const float *v, int n, float c, double *s, double *q) {
    int j = 0;
    double ss = 0.0, qq = 0.0;
#if RG_VECTOR
    rg_vf a = {0}, b = {0};
    for (; j + RG_LANES <= n; j += RG_LANES) {
        rg_vf d = RG_LOAD(v + j) - c;
        a += d;
        b += d * d;
    }
    ss = rg_hsum(&a);
    qq = rg_hsum(&b);
#endif
    for (; j < n; j++) {
        double d = (double)v[j] - (double)c;
        ss += d;
        qq += d * d;
    }
    *s = ss;
    *q = qq;
}

/* Coarse-stage input: optional 2x2 or 4x4 binning (mean; odd edges dropped), then (x - mean) * f0[i] * f1[j].
 *
 * bin == 2 or 4: binned (h0 x h1 float32, h = n // bin) receives the binned image, out its
 * mean-removed, windowed copy. bin == 1: out = (x - mean) * window (binned unused). f0/f1 may be
 * NULL (no window). stats[0..2] = sum, min, max of the (binned) values. bin == 4 also gives
 * stats[3] = var of the 2x2-binned values and stats[4] = var of the 4x4-binned ones (over the
 * area the 4x4 bins cover; 4x4 binning is 2x2 binning applied twice, in float32 like the NumPy
 * twin), so the caller can tell how much of the image's variance the coarser level keeps.
 * Returns 1 if a value is NaN/Inf (the outputs are then undefined), 0 otherwise, -1 on
 * allocation failure.
 */
IMCORR_HOT int imcorr_reg_prepare(const void *x, int dtype, ptrdiff_t s0, ptrdiff_t s1, int n0, int n1, int bin,
                       float *binned, const float *f0, const float *f1, float *out, double *stats) {
    int h0 = bin > 1 ? n0 / bin : n0, h1 = bin > 1 ? n1 / bin : n1;
    double *row = (double *)malloc(sizeof(double) * (size_t)n1 * 2 + sizeof(float) * (size_t)n1);
    if (!row) return -1;
    double *row2 = row + n1;
    float *half = (float *)(row2 + n1); /* bin == 4: two 2x2-binned rows of n1 / 2 */
    double sum = 0.0, lo = INFINITY, hi = -INFINITY;
    if (bin == 4) {
        int g1 = 2 * h1; /* 2x2-binned columns covered by the 4x4 bins */
        float *ha = half, *hb = half + n1 / 2;
        int direct = dtype == 0 && s1 == 1; /* contiguous float64 rows are read in place */
        /* variances from sums of (v - c), c = the first binned value (no cancellation for offset data) */
        float c = 0.0f, lof = INFINITY, hif = -INFINITY;
        double s2 = 0.0, q2 = 0.0, s4 = 0.0, q4 = 0.0, rs, rq;
        for (int i = 0; i < h0; i++) {
#if defined(__GNUC__)
            if (direct && i + 1 < h0) { /* the next 4 rows: each row may be its own page (no HW stream) */
                for (int r = 0; r < 4; r++) {
                    const char *q = (const char *)((const double *)x + (ptrdiff_t)(4 * i + 4 + r) * s0);
                    for (int k = 0; k < n1 * 8; k += 64) __builtin_prefetch(q + k);
                }
            }
#endif
            for (int r = 0; r < 2; r++) {
                float *h = r ? hb : ha;
                const double *p0 = row, *p1 = row2;
                if (direct) {
                    p0 = (const double *)x + (ptrdiff_t)(4 * i + 2 * r) * s0;
                    p1 = p0 + s0;
                } else {
                    load_row(x, dtype, s0, s1, 4 * i + 2 * r, n1, row);
                    load_row(x, dtype, s0, s1, 4 * i + 2 * r + 1, n1, row2);
                }
                bin2_row(p0, p1, g1, h);
                if (i == 0 && r == 0) c = h[0];
                centred_sums(h, g1, c, &rs, &rq);
                s2 += rs;
                q2 += rq;
            }
            float *b = binned + (ptrdiff_t)i * h1;
            for (int j = 0; j < h1; j++) b[j] = ((ha[2 * j] + hb[2 * j]) + (ha[2 * j + 1] + hb[2 * j + 1])) * 0.25f;
            for (int j = 0; j < h1; j++) {
                lof = b[j] < lof ? b[j] : lof;
                hif = b[j] > hif ? b[j] : hif;
            }
            centred_sums(b, h1, c, &rs, &rq);
            s4 += rs;
            q4 += rq;
        }
        double c2 = 4.0 * (double)h0 * (double)h1, c4 = (double)h0 * (double)h1;
        double m2 = s2 / c2, m4 = s4 / c4;
        sum = s4 + (double)c * c4;
        lo = lof;
        hi = hif;
        stats[3] = q2 / c2 - m2 * m2;
        stats[4] = q4 / c4 - m4 * m4;
    } else if (bin == 2) {
        for (int i = 0; i < h0; i++) {
            load_row(x, dtype, s0, s1, 2 * i, n1, row);
            load_row(x, dtype, s0, s1, 2 * i + 1, n1, row2);
            float *b = binned + (ptrdiff_t)i * h1;
            double rs = 0.0;
            for (int j = 0; j < h1; j++) {
                float v = (float)(0.25 * ((row[2 * j] + row[2 * j + 1]) + (row2[2 * j] + row2[2 * j + 1])));
                b[j] = v;
                rs += v;
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            sum += rs;
        }
    } else {
        for (int i = 0; i < n0; i++) {
            load_row(x, dtype, s0, s1, i, n1, row);
            double rs = 0.0;
            for (int j = 0; j < n1; j++) {
                double v = row[j];
                rs += v;
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            sum += rs;
        }
    }
    stats[0] = sum;
    stats[1] = lo;
    stats[2] = hi;
    if (!isfinite(sum)) {
        free(row);
        return 1;
    }
    double mean = sum / ((double)h0 * (double)h1);
    float meanf = (float)mean;
    for (int i = 0; i < h0; i++) {
        float *o = out + (ptrdiff_t)i * h1;
        float a = f0 ? f0[i] : 1.0f;
        if (bin > 1) {
            const float *b = binned + (ptrdiff_t)i * h1;
            for (int j = 0; j < h1; j++) {
                float v = (b[j] - meanf) * a;
                o[j] = f1 ? v * f1[j] : v;
            }
        } else {
            load_row(x, dtype, s0, s1, i, n1, row);
            for (int j = 0; j < n1; j++) {
                float v = (float)(row[j] - mean) * a;
                o[j] = f1 ? v * f1[j] : v;
            }
        }
    }
    free(row);
    return 0;
}

/* sum_j x[j] * w[j] over a contiguous float64 row (4-lane partial sums when vectorised). */
RG_INLINE double weighted_row_sum(const double *x, const double *w, int n) {
    int j = 0;
    double s = 0.0;
#if RG_VECTOR
    typedef double rg_vd __attribute__((vector_size(32)));
    typedef double rg_vdu __attribute__((vector_size(32), aligned(8)));
    rg_vd s0 = {0}, s1 = {0};
    for (; j + 8 <= n; j += 8) {
        s0 += *(const rg_vdu *)(x + j) * *(const rg_vdu *)(w + j);
        s1 += *(const rg_vdu *)(x + j + 4) * *(const rg_vdu *)(w + j + 4);
    }
    s0 += s1;
    s = (s0[0] + s0[1]) + (s0[2] + s0[3]);
#endif
    for (; j < n; j++) s += x[j] * w[j];
    return s;
}

/* sum_j x[j] * w[j] over a contiguous float32 row, in float64 (4-lane partial sums when vectorised). */
RG_INLINE double weighted_row_sum_f32(const float *x, const double *w, int n) {
    int j = 0;
    double s = 0.0;
#if RG_SHUFFLE
    rg_vd4 s0 = {0}, s1 = {0};
    for (; j + 8 <= n; j += 8) { /* widened 4 at a time, two independent sums */
        s0 += __builtin_convertvector(*(const rg_vf4u *)(x + j), rg_vd4) * *(const rg_vd4u *)(w + j);
        s1 += __builtin_convertvector(*(const rg_vf4u *)(x + j + 4), rg_vd4) * *(const rg_vd4u *)(w + j + 4);
    }
    s0 += s1;
    s = (s0[0] + s0[1]) + (s0[2] + s0[3]);
#endif
    for (; j < n; j++) s += (double)x[j] * w[j];
    return s;
}

/* Refinement crop: out = (x - mean) * f0[i] * f1[j] (float32), mean weighted by f0^2 f1^2. */
IMCORR_HOT int imcorr_reg_crop(const void *x, int dtype, ptrdiff_t s0, ptrdiff_t s1, int n0, int n1,
                              const double *f0, const double *f1, float *out) {
    double *row = (double *)malloc(sizeof(double) * (size_t)n1 * 2);
    if (!row) return -1;
    double *sq1 = row + n1;
    double num = 0.0, w0 = 0.0, w1 = 0.0;
    for (int j = 0; j < n1; j++) {
        sq1[j] = f1[j] * f1[j];
        w1 += sq1[j];
    }
    int direct = dtype == 0 && s1 == 1; /* contiguous float64 rows are read in place */
    int direct32 = dtype == 1 && s1 == 1; /* contiguous float32 rows too (widened in registers) */
    for (int i = 0; i < n0; i++) {
        double a = f0[i] * f0[i];
        w0 += a;
        if (a == 0.0) continue;
        if (direct32) {
            num += a * weighted_row_sum_f32((const float *)x + (ptrdiff_t)i * s0, sq1, n1);
            continue;
        }
        const double *r = row;
        if (direct)
            r = (const double *)x + (ptrdiff_t)i * s0;
        else
            load_row(x, dtype, s0, s1, i, n1, row);
        num += a * weighted_row_sum(r, sq1, n1);
    }
    double mean = w0 * w1 > 0 ? num / (w0 * w1) : 0.0;
    float *g1 = (float *)row; /* the float32 column factors fit in the row buffer */
    for (int j = 0; j < n1; j++) g1[j] = (float)f1[j];
    for (int i = 0; i < n0; i++) {
        float *o = out + (ptrdiff_t)i * n1;
        float a = (float)f0[i];
        if (a == 0.0f) {
            for (int j = 0; j < n1; j++) o[j] = 0.0f;
            continue;
        }
        const char *p = (const char *)x + (ptrdiff_t)i * s0 * (dtype == 0 ? 8 : 4);
        if (direct) {
            const double *q = (const double *)p;
            for (int j = 0; j < n1; j++) o[j] = ((float)(q[j] - mean) * a) * g1[j];
        } else if (direct32) { /* a unit-stride loop: vectorised */
            const float *q = (const float *)p;
            for (int j = 0; j < n1; j++) o[j] = ((float)((double)q[j] - mean) * a) * g1[j];
        } else if (dtype == 0) {
            const double *q = (const double *)p;
            for (int j = 0; j < n1; j++) o[j] = ((float)(q[(ptrdiff_t)j * s1] - mean) * a) * g1[j];
        } else {
            const float *q = (const float *)p;
            for (int j = 0; j < n1; j++) o[j] = ((float)((double)q[(ptrdiff_t)j * s1] - mean) * a) * g1[j];
        }
    }
    free(row);
    return 0;
}

/* The refinement's Tukey window factor (imcorr.register.dft.window_1d("tukey", j - offset, lo, hi,
 * alpha) for j = 0..n-1): sin^2(pi/2 * clip(min(u, 1 - u) * 2 / alpha, 0, 1)), u = (t - lo) / (hi - lo). */
void imcorr_reg_tukey(int n, double offset, double lo, double hi, double alpha, double *out) {
    double inv = 1.0 / (hi - lo), k = 2.0 / alpha, h = 0.5 * 3.14159265358979323846;
    for (int j = 0; j < n; j++) {
        double u = ((double)j - offset - lo) * inv;
        double v = (u < 1.0 - u ? u : 1.0 - u) * k;
        if (!(v > 0.0)) { /* outside the support: 0 (a NaN v stays NaN, as through sin before) */
            out[j] = v == v ? 0.0 : NAN;
            continue;
        }
        if (v >= 1.0) { /* the flat top: sin(pi/2)^2 is exactly 1.0 in float64, no sin call needed */
            out[j] = 1.0;
            continue;
        }
        double s = sin(h * v);
        out[j] = s * s;
    }
}
