/* Native Gauss-Newton and peak/uncertainty kernels of the translation refinement
 * (imcorr.register.refine; ctypes wrappers in imcorr._native.register_kernels). Spectra are C-contiguous
 * complex64 arrays in rfft layout (n0 rows of m1 = n1 // 2 + 1 half-axis columns). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "kernels.h"
#include "register_simd.h"

/* exp(-i om[k] r) = c[k] + i s[k] for k < n, float64. A rotation recurrence e[k] = e[k-1] exp(-i d r)
 * along runs of equal spacing d = om[k] - om[k-1] (the rfft grids have one or two runs), re-seeded by
 * cos/sin where the spacing changes and every 32 elements: ~n/16 cos/sin pairs instead of n, and a
 * drift from the exact phases of ~1e-15 (tests/test_register_native.py bounds it by 1e-12). */
static void phases(const double *om, int n, double r, double *c, double *s) {
    double step = 0.0, rc = 1.0, rs = 0.0;
    int run = 0; /* whether (rc, rs) rotates by the current spacing */
    for (int k = 0; k < n; k++) {
        double d = k > 0 ? om[k] - om[k - 1] : 0.0;
        int same = run && fabs(d - step) <= 1e-12 * fabs(step);
        if (same && k % 32 != 0) {
            c[k] = c[k - 1] * rc - s[k - 1] * rs;
            s[k] = c[k - 1] * rs + s[k - 1] * rc;
            continue;
        }
        c[k] = cos(om[k] * r);
        s[k] = -sin(om[k] * r);
        if (k > 0 && !same) {
            step = d;
            rc = cos(d * r);
            rs = -sin(d * r);
            run = 1;
        }
    }
}

/* Row sums of m = |x + iy| (x, y: one row of C * wl): out = (sum m, sum m o1, sum m o2). */
RG_INLINE void curvature_row(const float *x, const float *y, const float *o1, const float *o2, int mp,
                             double *out) {
#if RG_VECTOR
    rg_vf s0 = {0}, s1 = {0}, s2 = {0};
    for (int j = 0; j < mp; j += RG_LANES) {
        rg_vf a = RG_LOAD(x + j), b = RG_LOAD(y + j);
        rg_vf m = a * a + b * b;
        for (int l = 0; l < RG_LANES; l++) m[l] = sqrtf(m[l]); /* lane-wise: one vsqrtps */
        s0 += m;
        s1 += m * RG_LOAD(o1 + j);
        s2 += m * RG_LOAD(o2 + j);
    }
    rg_vf zero = {0};
    double o4[4];
    rg_hsum4(&s0, &s1, &s2, &zero, o4);
    out[0] = o4[0];
    out[1] = o4[1];
    out[2] = o4[2];
#else
    double s0 = 0.0, s1 = 0.0, s2 = 0.0;
    for (int j = 0; j < mp; j++) {
        float m = sqrtf(x[j] * x[j] + y[j] * y[j]);
        s0 += m;
        s1 += m * o1[j];
        s2 += m * o2[j];
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
#endif
}

/* Row sums of z = (x + iy)(c + id) and z * o1: out = (Re sum z, Im sum z, Re sum z o1, Im sum z o1). */
RG_INLINE void phase_row(const float *x, const float *y, const float *c, const float *d, const float *o1, int mp,
                         double *out) {
#if RG_VECTOR
    rg_vf ur = {0}, ui = {0}, vr = {0}, vi = {0};
    for (int j = 0; j < mp; j += RG_LANES) {
        rg_vf a = RG_LOAD(x + j), b = RG_LOAD(y + j), e = RG_LOAD(c + j), f = RG_LOAD(d + j), o = RG_LOAD(o1 + j);
        rg_vf zr = a * e - b * f, zi = a * f + b * e;
        ur += zr;
        ui += zi;
        vr += zr * o;
        vi += zi * o;
    }
    rg_hsum4(&ur, &ui, &vr, &vi, out);
#else
    double ur = 0.0, ui = 0.0, vr = 0.0, vi = 0.0;
    for (int j = 0; j < mp; j++) {
        float zr = x[j] * c[j] - y[j] * d[j], zi = x[j] * d[j] + y[j] * c[j];
        ur += zr;
        ui += zi;
        vr += zr * o1[j];
        vi += zi * o1[j];
    }
    out[0] = ur;
    out[1] = ui;
    out[2] = vr;
    out[3] = vi;
#endif
}

#if RG_VECTOR
/* phase_row on two consecutive rows (x, y and x + mp, y + mp) at once: the column vectors are
 * loaded once for both, and the two rows' accumulators are independent dependency chains. */
RG_INLINE void phase_rows2(const float *x, const float *y, const float *c, const float *d, const float *o1, int mp,
                           double *out0, double *out1) {
    rg_vf ur = {0}, ui = {0}, vr = {0}, vi = {0}, ur1 = {0}, ui1 = {0}, vr1 = {0}, vi1 = {0};
    for (int j = 0; j < mp; j += RG_LANES) {
        rg_vf e = RG_LOAD(c + j), f = RG_LOAD(d + j), o = RG_LOAD(o1 + j);
        rg_vf a = RG_LOAD(x + j), b = RG_LOAD(y + j);
        rg_vf zr = a * e - b * f, zi = a * f + b * e;
        ur += zr;
        ui += zi;
        vr += zr * o;
        vi += zi * o;
        a = RG_LOAD(x + mp + j);
        b = RG_LOAD(y + mp + j);
        zr = a * e - b * f;
        zi = a * f + b * e;
        ur1 += zr;
        ui1 += zi;
        vr1 += zr * o;
        vi1 += zi * o;
    }
    rg_hsum4(&ur, &ui, &vr, &vi, out0);
    rg_hsum4(&ur1, &ui1, &vr1, &vi1, out1);
}
#endif

/* Column vectors of a box, float32, zero-padded to mp: w = wl, o = om1, q = om1^2 */
typedef struct {
    const float *w, *o, *q;
} cols_t;

/* Running sums of the peak/uncertainty statistics that do not depend on the shift r: per row i,
 * ea += sum w|A|^2, eb += sum w|B|^2 and t_p += om0_i^k sum g w v_p (v_p = 1, o, q, w, w o, w q;
 * k = 2, 1, 0, 2, 1, 0; g = (|A|^2 + |B|^2) / 2). The uncertainty's s2 = g - half (half: the noise
 * power, known only at the end) enters linearly: imcorr_reg_stats subtracts the half parts then. */
typedef struct {
    double ea, eb, t[6], ab; /* ab: sum w^2 |A|^2 |B|^2, the null variance's sum (register.refine.null_std) */
} power_t;

/* One row of C * wl into float32 planes pr + i pi (A conj(B) wl over [0, m1)); with pw, the row's
 * power_t sums too (float32 lane sums, as every row sum here). */
RG_INLINE void cross_row(const float *a, const float *b, cols_t cv, int m1, double o0, float *pr, float *pi,
                         power_t *pw) {
    int j = 0;
    double p[8] = {0};
#if RG_SHUFFLE
    rg_vf sa = {0}, sb = {0}, t1 = {0}, t2 = {0}, t3 = {0}, t4 = {0}, t5 = {0}, ab = {0};
    for (; j + RG_LANES <= m1; j += RG_LANES) { /* deinterleaved vector loads instead of scalar gathers */
        rg_vf ar, ai, br, bi, w = RG_LOAD(cv.w + j);
        rg_deinterleave(a + 2 * j, &ar, &ai);
        rg_deinterleave(b + 2 * j, &br, &bi);
        RG_STORE(pr + j, (ar * br + ai * bi) * w);
        RG_STORE(pi + j, (ai * br - ar * bi) * w);
        if (pw) { /* a compile-time branch: the function is inlined with pw NULL or not */
            rg_vf a2 = (ar * ar + ai * ai) * w, b2 = (br * br + bi * bi) * w, o = RG_LOAD(cv.o + j);
            rg_vf gw = 0.5f * (a2 + b2), gww = gw * w;
            sa += a2;
            sb += b2;
            ab += a2 * b2;
            t1 += gw * o;
            t2 += gw * RG_LOAD(cv.q + j);
            t3 += gww;
            t4 += gww * o;
            t5 += gww * RG_LOAD(cv.q + j);
        }
    }
    if (pw) {
        rg_hsum4(&sa, &sb, &t1, &t2, p);
        rg_hsum4(&t3, &t4, &t5, &ab, p + 4);
    }
#endif
    for (; j < m1; j++) {
        float ar = a[2 * j], ai = a[2 * j + 1], br = b[2 * j], bi = b[2 * j + 1], w = cv.w[j];
        pr[j] = (ar * br + ai * bi) * w;
        pi[j] = (ai * br - ar * bi) * w;
        if (pw) {
            double a2 = ((double)ar * ar + (double)ai * ai) * w, b2 = ((double)br * br + (double)bi * bi) * w;
            double gw = 0.5 * (a2 + b2), gww = gw * w;
            p[0] += a2;
            p[1] += b2;
            p[2] += gw * cv.o[j];
            p[3] += gw * cv.q[j];
            p[4] += gww;
            p[5] += gww * cv.o[j];
            p[6] += gww * cv.q[j];
            p[7] += a2 * b2;
        }
    }
    if (pw) {
        pw->ea += p[0];
        pw->eb += p[1];
        pw->t[0] += o0 * o0 * 0.5 * (p[0] + p[1]); /* sum g w = (sum w|A|^2 + sum w|B|^2) / 2 */
        pw->t[1] += o0 * p[2];
        pw->t[2] += p[3];
        pw->t[3] += o0 * o0 * p[4];
        pw->t[4] += o0 * p[5];
        pw->t[5] += p[6];
        pw->ab += p[7];
    }
}

/* (Re, Im) of sum_j (x + iy)(c + id) over one zero-padded row of mp columns. */
RG_INLINE void num_row(const float *x, const float *y, const float *c, const float *d, int mp, double *out) {
#if RG_VECTOR
    rg_vf ur = {0}, ui = {0};
    for (int j = 0; j < mp; j += RG_LANES) {
        rg_vf a = RG_LOAD(x + j), b = RG_LOAD(y + j), e = RG_LOAD(c + j), f = RG_LOAD(d + j);
        ur += a * e - b * f;
        ui += a * f + b * e;
    }
    out[0] = rg_hsum(&ur);
    out[1] = rg_hsum(&ui);
#else
    double ur = 0.0, ui = 0.0;
    for (int j = 0; j < mp; j++) {
        ur += x[j] * c[j] - y[j] * d[j];
        ui += x[j] * d[j] + y[j] * c[j];
    }
    out[0] = ur;
    out[1] = ui;
#endif
}

/* sum_j wl[j] |b_j - a_j p_j|^2 over j < m, p_j = (ec + i es)(cc[j] + i cs[j]): one row of the
 * noise-power pass, float64. */
RG_INLINE double lowband_row(const float *a, const float *b, const double *cc, const double *cs, double ec,
                             double es, const double *wl, int m) {
    int j = 0;
    double sr = 0.0;
#if RG_SHUFFLE
    rg_vd4 acc = {0};
    for (; j + 4 <= m; j += 4) { /* 4 float64 lanes; the float32 inputs deinterleaved by shuffles */
        rg_vd4 ar, ai, br, bi, c = *(const rg_vd4u *)(cc + j), s = *(const rg_vd4u *)(cs + j);
        rg_deinterleave_f64(a + 2 * j, &ar, &ai);
        rg_deinterleave_f64(b + 2 * j, &br, &bi);
        rg_vd4 pr = ec * c - es * s, pi = ec * s + es * c;
        rg_vd4 dr = br - (ar * pr - ai * pi), di = bi - (ar * pi + ai * pr);
        acc += (dr * dr + di * di) * *(const rg_vd4u *)(wl + j);
    }
    sr = (acc[0] + acc[1]) + (acc[2] + acc[3]);
#endif
    for (; j < m; j++) {
        double pr = ec * cc[j] - es * cs[j], pi = ec * cs[j] + es * cc[j];
        double ar = a[2 * j], ai = a[2 * j + 1];
        double dr = b[2 * j] - (ar * pr - ai * pi), di = b[2 * j + 1] - (ar * pi + ai * pr);
        sr += (dr * dr + di * di) * wl[j];
    }
    return sr;
}

/* Scratch of one call: row phases pc + i ps (n0), column phases cc + i cs (m1), float64; the
 * column vectors and their phase er + i ei (float32, mp); with planes, C * wl (float32, n0 x mp);
 * else one row of it. In the caller's work block when it is large enough (no malloc, no page
 * faults of a fresh block per call), else one malloc returned in *owned (free it); -1 on failure. */
typedef struct {
    double *pc, *ps, *cc, *cs;
    float *er, *ei, *w, *o, *q, *cr, *ci;
    cols_t cv;
} scratch_t;

static int scratch(scratch_t *s, int n0, int m1, int mp, const double *om1, const double *wl, int planes, void *work,
                   size_t work_bytes, void **owned) {
    ptrdiff_t rows = planes ? n0 : 1, n = rows * mp;
    size_t need = 64 + sizeof(float) * (size_t)(5 * mp + 2 * n) + sizeof(double) * (size_t)(2 * n0 + 2 * m1);
    char *block = (char *)work;
    *owned = NULL;
    if (!work || work_bytes < need) {
        block = (char *)malloc(need);
        if (!block) return -1;
        *owned = block;
    }
    /* float32 rows first, from a 64-byte boundary: every row (mp floats, a multiple of 32 bytes)
     * then starts 32-byte aligned, so no vector load splits a cache line */
    s->cr = (float *)(block + (64 - (uintptr_t)block % 64) % 64);
    s->ci = s->cr + n;
    s->er = s->ci + n;
    s->ei = s->er + mp;
    s->w = s->ei + mp;
    s->o = s->w + mp;
    s->q = s->o + mp;
    s->pc = (double *)(s->q + mp);
    s->ps = s->pc + n0;
    s->cc = s->ps + n0;
    s->cs = s->cc + m1;
    for (int j = 0; j < mp; j++) {
        s->er[j] = s->ei[j] = 0.0f;
        s->w[j] = j < m1 ? (float)wl[j] : 0.0f;
        s->o[j] = j < m1 ? (float)om1[j] : 0.0f;
        s->q[j] = s->o[j] * s->o[j];
    }
    for (ptrdiff_t k = 0; k < rows; k++) /* the padding columns stay 0 */
        for (int j = m1; j < mp; j++) s->cr[k * mp + j] = s->ci[k * mp + j] = 0.0f;
    s->cv.w = s->w;
    s->cv.o = s->o;
    s->cv.q = s->q;
    return 0;
}

/* The phases of both axes at r (float64, and the column phase as float32). */
RG_INLINE void set_phases(scratch_t *s, int n0, int m1, const double *om0, const double *om1, const double *r) {
    phases(om0, n0, r[0], s->pc, s->ps);
    phases(om1, m1, r[1], s->cc, s->cs);
    for (int j = 0; j < m1; j++) {
        s->er[j] = (float)s->cc[j];
        s->ei[j] = (float)s->cs[j];
    }
}

/* The sums of imcorr_reg_stats from the shift-independent power_t sums, num = Re sum wl C e (at r)
 * and the phases at r: runs the low-band noise pass over A and B, then subtracts the noise parts. */
RG_INLINE void finish_stats(const float *A, const float *B, int n0, int m1, const double *om0, const double *om1,
                         const double *wl, const double *bw0, int m, const scratch_t *s, const power_t *pw,
                         double num, double *out) {
    double res = 0.0, bws = 0.0, wls = 0.0;
    for (int j = 0; j < m; j++) wls += wl[j];
    for (int i = 0; i < n0; i++) {
        if (bw0[i] == 0.0) continue;
        bws += bw0[i];
        res += bw0[i] * lowband_row(A + (ptrdiff_t)2 * i * m1, B + (ptrdiff_t)2 * i * m1, s->cc, s->cs, s->pc[i],
                                    s->ps[i], wl, m);
    }
    double count = bws * wls;
    double n_tot = count > 0 ? res / count : NAN, half = n_tot / 2;
    /* sum s2 w v_p = t_p - half * (sum over rows of om0^k) * (sum_j w v_p): the column sums of the
     * float32 weights, the row sums of om0^k */
    double cw[6] = {0}, so0 = 0.0, so1 = 0.0, l3 = 0.0, l4 = 0.0, l5 = 0.0;
    for (int j = 0; j < m1; j++) {
        double w = s->w[j], o = s->o[j], q = s->q[j];
        cw[0] += w;
        cw[1] += w * o;
        cw[2] += w * q;
        cw[3] += w * w;
        cw[4] += w * w * o;
        cw[5] += w * w * q;
        double w2 = wl[j] * wl[j];
        l3 += w2;
        l4 += w2 * om1[j];
        l5 += w2 * om1[j] * om1[j];
    }
    for (int i = 0; i < n0; i++) {
        so0 += om0[i];
        so1 += om0[i] * om0[i];
    }
    double rw[3] = {so1, so0, (double)n0}, t[6];
    for (int p = 0; p < 6; p++) t[p] = pw->t[p] - half * rw[p % 3] * cw[p];
    double q = 0.5 * half * half;
    out[0] = num;
    out[1] = pw->ea;
    out[2] = pw->eb;
    out[3] = n_tot;
    out[4] = t[0];
    out[5] = t[1];
    out[6] = t[2];
    out[7] = 0.5 * n_tot * t[3] + q * so1 * l3;
    out[8] = 0.5 * n_tot * t[4] + q * so0 * l4;
    out[9] = 0.5 * n_tot * t[5] + q * (double)n0 * l5;
    out[10] = pw->ab;
}

/* Re sum_i (pc_i + i ps_i) sum_j (C wl)_ij e_j over the planes (the peak's numerator at r). */
RG_INLINE double plane_num(const scratch_t *s, int n0, int mp) {
    double num = 0.0, u[2];
    for (int i = 0; i < n0; i++) {
        num_row(s->cr + (ptrdiff_t)i * mp, s->ci + (ptrdiff_t)i * mp, s->er, s->ei, mp, u);
        num += s->pc[i] * u[0] - s->ps[i] * u[1];
    }
    return num;
}

/* Gauss-Newton maximisation of f(r) = sum_k wl * Re(C exp(-i w.r)), C = A conj(B) (see
 * imcorr.register.refine._newton, which this reproduces). With compute_hi the inverse of the
 * curvature -sum |C| w w^T wl is computed into Hi (row-major 2x2); returns -1 if it is singular
 * (r unchanged) or on allocation failure, else the number of steps taken. C * wl is formed once
 * (float32 real/imaginary planes, rows zero-padded to a multiple of RG_LANES); each step is then
 * one pass of 12 flops per frequency. Steps stop below 1e-6 px. With stats (bw0, m: see
 * imcorr_reg_stats) the sums of imcorr_reg_stats at the final r are written there too (the same
 * arithmetic: the shift-independent sums ride along the forming pass). work: see kernels.h. */
IMCORR_HOT int imcorr_reg_newton(const float *A, const float *B, int n0, int m1, const double *om0,
                                const double *om1, const double *wl, double *r, double *Hi, int compute_hi,
                                int steps, const double *bw0, int m, double *stats, void *work, size_t work_bytes) {
    int mp = (m1 + RG_LANES - 1) / RG_LANES * RG_LANES;
    scratch_t s;
    void *block;
    if (scratch(&s, n0, m1, mp, om1, wl, 1, work, work_bytes, &block) < 0) return -1;
    double h00 = 0.0, h01 = 0.0, h11 = 0.0, rs[4], rs1[4];
    power_t pw = {0};
    for (int i = 0; i < n0; i++) {
        float *pr = s.cr + (ptrdiff_t)i * mp, *pi = s.ci + (ptrdiff_t)i * mp;
        if (stats)
            cross_row(A + (ptrdiff_t)2 * i * m1, B + (ptrdiff_t)2 * i * m1, s.cv, m1, om0[i], pr, pi, &pw);
        else
            cross_row(A + (ptrdiff_t)2 * i * m1, B + (ptrdiff_t)2 * i * m1, s.cv, m1, om0[i], pr, pi, NULL);
        if (compute_hi) { /* |C| wl = |C wl| (wl >= 0) */
            curvature_row(pr, pi, s.o, s.q, mp, rs);
            h00 -= rs[0] * om0[i] * om0[i];
            h01 -= rs[1] * om0[i];
            h11 -= rs[2];
        }
    }
    if (compute_hi) {
        double det = h00 * h11 - h01 * h01;
        Hi[0] = h11 / det;
        Hi[1] = Hi[2] = -h01 / det;
        Hi[3] = h00 / det;
        if (!(det != 0.0) || !isfinite(det) || !(isfinite(Hi[0]) && isfinite(Hi[1]) && isfinite(Hi[3]))) {
            free(block);
            return -1;
        }
    }
    int it = 0;
    for (; it < steps; it++) {
        set_phases(&s, n0, m1, om0, om1, r);
        double g0 = 0.0, g1 = 0.0;
        int i = 0;
#if RG_VECTOR
        for (; i + 1 < n0; i += 2) {
            phase_rows2(s.cr + (ptrdiff_t)i * mp, s.ci + (ptrdiff_t)i * mp, s.er, s.ei, s.o, mp, rs, rs1);
            g0 += (s.pc[i] * rs[1] + s.ps[i] * rs[0]) * om0[i];
            g1 += s.pc[i] * rs[3] + s.ps[i] * rs[2];
            g0 += (s.pc[i + 1] * rs1[1] + s.ps[i + 1] * rs1[0]) * om0[i + 1];
            g1 += s.pc[i + 1] * rs1[3] + s.ps[i + 1] * rs1[2];
        }
#endif
        for (; i < n0; i++) {
            phase_row(s.cr + (ptrdiff_t)i * mp, s.ci + (ptrdiff_t)i * mp, s.er, s.ei, s.o, mp, rs);
            g0 += (s.pc[i] * rs[1] + s.ps[i] * rs[0]) * om0[i];
            g1 += s.pc[i] * rs[3] + s.ps[i] * rs[2];
        }
        double st0 = -(Hi[0] * g0 + Hi[1] * g1), st1 = -(Hi[2] * g0 + Hi[3] * g1);
        if (!isfinite(st0) || !isfinite(st1)) break;
        st0 = st0 > 0.5 ? 0.5 : (st0 < -0.5 ? -0.5 : st0);
        st1 = st1 > 0.5 ? 0.5 : (st1 < -0.5 ? -0.5 : st1);
        r[0] += st0;
        r[1] += st1;
        if (fabs(st0) < 1e-6 && fabs(st1) < 1e-6) {
            it++;
            break;
        }
    }
    if (stats) { /* the peak/uncertainty sums at the final r, from the planes and the sums so far */
        set_phases(&s, n0, m1, om0, om1, r);
        finish_stats(A, B, n0, m1, om0, om1, wl, bw0, m, &s, &pw, plane_num(&s, n0, mp), stats);
    }
    free(block);
    return it;
}

/* Peak and uncertainty sums of the refinement at crop shift r (see register.refine._uncertainty).
 * out: [0] num = Re sum wl C e, [1] sum wl |A|^2, [2] sum wl |B|^2, [3] n_tot (noise power),
 * [4..6] H00, H01, H11, [7..9] V00, V01, V11, [10] sum wl^2 |A|^2 |B|^2 (the null variance of
 * the peak, see register.refine.null_std). bw0 is the 0/1 low-band weight of axis 0 and m the
 * band's length on the half axis. One pass forms each row of C * wl (float32, as imcorr_reg_newton),
 * its power_t sums and its phase sum; a second pass, the noise power on the low band (float64).
 * s2 = (|A|^2 + |B|^2) / 2 - n_tot / 2 is not clipped, nor are NaN terms skipped (NaN spectra give
 * NaN sums, as in the NumPy twin). work: see kernels.h. */
IMCORR_HOT int imcorr_reg_stats(const float *A, const float *B, int n0, int m1, const double *om0, const double *om1,
                               const double *wl, const double *bw0, int m, const double *r, double *out, void *work,
                               size_t work_bytes) {
    int mp = (m1 + RG_LANES - 1) / RG_LANES * RG_LANES;
    scratch_t s;
    void *block;
    if (scratch(&s, n0, m1, mp, om1, wl, 0, work, work_bytes, &block) < 0) return -1;
    set_phases(&s, n0, m1, om0, om1, r);
    power_t pw = {0};
    double num = 0.0, u[2];
    for (int i = 0; i < n0; i++) { /* one row buffer: the same float32 arithmetic as the planes */
        cross_row(A + (ptrdiff_t)2 * i * m1, B + (ptrdiff_t)2 * i * m1, s.cv, m1, om0[i], s.cr, s.ci, &pw);
        num_row(s.cr, s.ci, s.er, s.ei, mp, u);
        num += s.pc[i] * u[0] - s.ps[i] * u[1];
    }
    finish_stats(A, B, n0, m1, om0, om1, wl, bw0, m, &s, &pw, num, out);
    free(block);
    return 0;
}
