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
        rg_vf a = RG_LOAD(x + j), b = RG_LOAD(y + j), m;
        rg_vf q = a * a + b * b;
        for (int l = 0; l < RG_LANES; l++) m[l] = sqrtf(q[l]);
        s0 += m;
        s1 += m * RG_LOAD(o1 + j);
        s2 += m * RG_LOAD(o2 + j);
    }
    out[0] = rg_hsum(&s0);
    out[1] = rg_hsum(&s1);
    out[2] = rg_hsum(&s2);
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
    out[0] = rg_hsum(&ur);
    out[1] = rg_hsum(&ui);
    out[2] = rg_hsum(&vr);
    out[3] = rg_hsum(&vi);
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
    out0[0] = rg_hsum(&ur);
    out0[1] = rg_hsum(&ui);
    out0[2] = rg_hsum(&vr);
    out0[3] = rg_hsum(&vi);
    out1[0] = rg_hsum(&ur1);
    out1[1] = rg_hsum(&ui1);
    out1[2] = rg_hsum(&vr1);
    out1[3] = rg_hsum(&vi1);
}
#endif

/* One row of C * wl into float32 planes: pr + i pi = A conj(B) wl over [0, m1). */
RG_INLINE void cross_row(const float *a, const float *b, const float *w1, int m1, float *pr, float *pi) {
    int j = 0;
#if RG_SHUFFLE
    for (; j + RG_LANES <= m1; j += RG_LANES) { /* deinterleaved vector loads instead of scalar gathers */
        rg_vf ar, ai, br, bi, w = RG_LOAD(w1 + j);
        rg_deinterleave(a + 2 * j, &ar, &ai);
        rg_deinterleave(b + 2 * j, &br, &bi);
        RG_STORE(pr + j, (ar * br + ai * bi) * w);
        RG_STORE(pi + j, (ai * br - ar * bi) * w);
    }
#endif
    for (; j < m1; j++) {
        float ar = a[2 * j], ai = a[2 * j + 1], br = b[2 * j], bi = b[2 * j + 1];
        pr[j] = (ar * br + ai * bi) * w1[j];
        pi[j] = (ai * br - ar * bi) * w1[j];
    }
}

/* Gauss-Newton maximisation of f(r) = sum_k wl * Re(C exp(-i w.r)), C = A conj(B) (see
 * imcorr.register.refine._newton, which this reproduces). With compute_hi the inverse of the
 * curvature -sum |C| w w^T wl is computed into Hi (row-major 2x2); returns -1 if it is singular
 * (r unchanged) or on allocation failure, else the number of steps taken. C * wl is formed once
 * (float32 real/imaginary planes, rows zero-padded to a multiple of RG_LANES); each step is then
 * one pass of 12 flops per frequency. Steps stop below 1e-6 px. */
IMCORR_HOT int imcorr_reg_newton(const float *A, const float *B, int n0, int m1, const double *om0,
                                const double *om1, const double *wl, double *r, double *Hi, int compute_hi,
                                int steps, const double *bw0, int m, double *stats) {
    int mp = (m1 + RG_LANES - 1) / RG_LANES * RG_LANES;
    ptrdiff_t n = (ptrdiff_t)n0 * mp;
    /* one block: row and column phases (float64), then the C * wl planes and column vectors (float32) */
    double *pc = (double *)malloc(sizeof(double) * (size_t)(2 * n0 + 2 * m1) + sizeof(float) * (size_t)(2 * n + 5 * mp));
    if (!pc) return -1;
    double *ps = pc + n0, *cc = ps + n0, *cs = cc + m1;
    float *cr = (float *)(cs + m1), *ci = cr + n, *er = ci + n, *ei = er + mp, *o1 = ei + mp, *w1 = o1 + mp, *o2 = w1 + mp;
    for (int j = 0; j < mp; j++) {
        er[j] = ei[j] = 0.0f;
        o1[j] = j < m1 ? (float)om1[j] : 0.0f;
        w1[j] = j < m1 ? (float)wl[j] : 0.0f;
        o2[j] = o1[j] * o1[j];
    }
    double h00 = 0.0, h01 = 0.0, h11 = 0.0, rs[4];
    for (int i = 0; i < n0; i++) {
        float *pr = cr + (ptrdiff_t)i * mp, *pi = ci + (ptrdiff_t)i * mp;
        cross_row(A + (ptrdiff_t)2 * i * m1, B + (ptrdiff_t)2 * i * m1, w1, m1, pr, pi);
        for (int j = m1; j < mp; j++) pr[j] = pi[j] = 0.0f;
        if (compute_hi) { /* |C| wl = |C wl| (wl >= 0) */
            curvature_row(pr, pi, o1, o2, mp, rs);
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
            free(pc);
            return -1;
        }
    }
    int it = 0;
    for (; it < steps; it++) {
        phases(om1, m1, r[1], cc, cs);
        phases(om0, n0, r[0], pc, ps);
        for (int j = 0; j < m1; j++) {
            er[j] = (float)cc[j];
            ei[j] = (float)cs[j];
        }
        double g0 = 0.0, g1 = 0.0, rs1[4];
        int i = 0;
#if RG_VECTOR
        for (; i + 1 < n0; i += 2) {
            phase_rows2(cr + (ptrdiff_t)i * mp, ci + (ptrdiff_t)i * mp, er, ei, o1, mp, rs, rs1);
            g0 += (pc[i] * rs[1] + ps[i] * rs[0]) * om0[i];
            g1 += pc[i] * rs[3] + ps[i] * rs[2];
            g0 += (pc[i + 1] * rs1[1] + ps[i + 1] * rs1[0]) * om0[i + 1];
            g1 += pc[i + 1] * rs1[3] + ps[i + 1] * rs1[2];
        }
#endif
        for (; i < n0; i++) {
            phase_row(cr + (ptrdiff_t)i * mp, ci + (ptrdiff_t)i * mp, er, ei, o1, mp, rs);
            g0 += (pc[i] * rs[1] + ps[i] * rs[0]) * om0[i];
            g1 += pc[i] * rs[3] + ps[i] * rs[2];
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
    free(pc);
    /* stats != NULL: the peak/uncertainty sums at the final r, while A and B are still cached */
    if (stats && imcorr_reg_stats(A, B, n0, m1, om0, om1, wl, bw0, m, r, stats) < 0) return -1;
    return it;
}

/* One row of the second stats pass (see imcorr_reg_stats) over columns [0, m1): acc receives
 * (Re num, Im num, sum wl |A|^2, sum wl |B|^2, t0..t5). er, ei: the column phase; wf, of, qf: wl,
 * om1, om1^2, all float32. */
RG_INLINE void stats_row(const float *a, const float *b, const float *er, const float *ei, const float *wf,
                         const float *of, const float *qf, int m1, double half, double *acc) {
    int j = 0;
    for (int k = 0; k < 10; k++) acc[k] = 0.0;
#if RG_SHUFFLE
    rg_vf nr = {0}, ni = {0}, sa = {0}, sb = {0}, t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0}, t4 = {0}, t5 = {0};
    float hf = (float)half;
    for (; j + RG_LANES <= m1; j += RG_LANES) {
        rg_vf ar, ai, br, bi, e = RG_LOAD(er + j), f = RG_LOAD(ei + j);
        rg_deinterleave(a + 2 * j, &ar, &ai); /* vector loads + shuffles, not scalar gathers */
        rg_deinterleave(b + 2 * j, &br, &bi);
        rg_vf w = RG_LOAD(wf + j), o = RG_LOAD(of + j), q = RG_LOAD(qf + j);
        rg_vf cr = ar * br + ai * bi, ci = ai * br - ar * bi;
        nr += (cr * e - ci * f) * w;
        ni += (cr * f + ci * e) * w;
        rg_vf a2 = ar * ar + ai * ai, b2 = br * br + bi * bi;
        sa += a2 * w;
        sb += b2 * w;
        /* unclipped (an unbiased |S|^2 estimate: see refine._uncertainty); as the tail: NaN -> 0 */
        rg_vf s2 = 0.5f * (a2 + b2) - hf;
        s2 = RG_NAN_TO_ZERO(s2);
        rg_vf sw = s2 * w, sww = sw * w;
        t0 += sw;
        t1 += sw * o;
        t2 += sw * q;
        t3 += sww;
        t4 += sww * o;
        t5 += sww * q;
    }
    acc[0] = rg_hsum(&nr);
    acc[1] = rg_hsum(&ni);
    acc[2] = rg_hsum(&sa);
    acc[3] = rg_hsum(&sb);
    acc[4] = rg_hsum(&t0);
    acc[5] = rg_hsum(&t1);
    acc[6] = rg_hsum(&t2);
    acc[7] = rg_hsum(&t3);
    acc[8] = rg_hsum(&t4);
    acc[9] = rg_hsum(&t5);
#endif
    for (; j < m1; j++) {
        double ar = a[2 * j], ai = a[2 * j + 1], br = b[2 * j], bi = b[2 * j + 1];
        double cr = ar * br + ai * bi, ci = ai * br - ar * bi, w = wf[j], o = of[j];
        acc[0] += (cr * er[j] - ci * ei[j]) * w;
        acc[1] += (cr * ei[j] + ci * er[j]) * w;
        double a2 = ar * ar + ai * ai, b2 = br * br + bi * bi;
        acc[2] += a2 * w;
        acc[3] += b2 * w;
        double s2 = 0.5 * (a2 + b2) - half;
        if (s2 != s2) continue; /* NaN */
        double sw = s2 * w, sww = sw * w;
        acc[4] += sw;
        acc[5] += sw * o;
        acc[6] += sw * o * o;
        acc[7] += sww;
        acc[8] += sww * o;
        acc[9] += sww * o * o;
    }
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

/* Peak and uncertainty sums of the refinement at crop shift r (see register.refine._uncertainty).
 * out: [0] num = Re sum wl C e, [1] sum wl |A|^2, [2] sum wl |B|^2, [3] n_tot (noise power),
 * [4..6] H00, H01, H11, [7..9] V00, V01, V11. bw0 is the 0/1 low-band weight of axis 0 and m the
 * band's length on the half axis. Two passes: the noise power on the low band (float64), then the
 * rest (float32 products, float64 row sums). */
IMCORR_HOT int imcorr_reg_stats(const float *A, const float *B, int n0, int m1, const double *om0, const double *om1,
                               const double *wl, const double *bw0, int m, const double *r, double *out) {
    double *pc = (double *)malloc(sizeof(double) * (size_t)(2 * n0 + 2 * m1) + sizeof(float) * (size_t)m1 * 5);
    if (!pc) return -1;
    double *ps = pc + n0, *cc = ps + n0, *cs = cc + m1;
    float *er = (float *)(cs + m1), *ei = er + m1, *wf = ei + m1, *of = wf + m1, *qf = of + m1;
    phases(om0, n0, r[0], pc, ps); /* row and column phases, once for both passes */
    phases(om1, m1, r[1], cc, cs);
    for (int j = 0; j < m1; j++) {
        er[j] = (float)cc[j];
        ei[j] = (float)cs[j];
        wf[j] = (float)wl[j];
        of[j] = (float)om1[j];
        qf[j] = (float)(om1[j] * om1[j]);
    }
    double res = 0.0, bws = 0.0, wls = 0.0;
    for (int j = 0; j < m; j++) wls += wl[j];
    for (int i = 0; i < n0; i++) {
        if (bw0[i] == 0.0) continue;
        bws += bw0[i];
        res += bw0[i] * lowband_row(A + (ptrdiff_t)2 * i * m1, B + (ptrdiff_t)2 * i * m1, cc, cs, pc[i], ps[i], wl, m);
    }
    double count = bws * wls;
    double n_tot = count > 0 ? res / count : NAN, half = n_tot / 2;
    double num = 0.0, ea = 0.0, eb = 0.0;
    double h00 = 0.0, h01 = 0.0, h11 = 0.0, v00 = 0.0, v01 = 0.0, v11 = 0.0;
    double l3 = 0.0, l4 = 0.0, l5 = 0.0, so0 = 0.0, so1 = 0.0, acc[10];
    for (int j = 0; j < m1; j++) {
        double w2 = wl[j] * wl[j];
        l3 += w2;
        l4 += w2 * om1[j];
        l5 += w2 * om1[j] * om1[j];
    }
    for (int i = 0; i < n0; i++) {
        stats_row(A + (ptrdiff_t)2 * i * m1, B + (ptrdiff_t)2 * i * m1, er, ei, wf, of, qf, m1, half, acc);
        num += pc[i] * acc[0] - ps[i] * acc[1];
        ea += acc[2];
        eb += acc[3];
        double o0 = om0[i];
        so0 += o0;
        so1 += o0 * o0;
        h00 += o0 * o0 * acc[4];
        h01 += o0 * acc[5];
        h11 += acc[6];
        v00 += o0 * o0 * acc[7];
        v01 += o0 * acc[8];
        v11 += acc[9];
    }
    double q = 0.5 * half * half;
    out[0] = num;
    out[1] = ea;
    out[2] = eb;
    out[3] = n_tot;
    out[4] = h00;
    out[5] = h01;
    out[6] = h11;
    out[7] = 0.5 * n_tot * v00 + q * so1 * l3;
    out[8] = 0.5 * n_tot * v01 + q * so0 * l4;
    out[9] = 0.5 * n_tot * v11 + q * (double)n0 * l5;
    free(pc);
    return 0;
}
