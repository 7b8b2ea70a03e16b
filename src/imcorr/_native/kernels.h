/* The native boundary of imcorr: every function the shared library imcorr._native._kernels
 * exports, the ABI number and the CPU-dispatch macro.
 *
 * Every .c file of this folder includes this header, so the compiler checks each definition
 * against its declaration here. The Python side binds the same functions through ctypes from
 * one table, imcorr._native.signatures.SIGNATURES; tests/test_native_signatures.py parses the
 * prototypes below and fails when the table and this header disagree (names, argument and
 * return types, ABI number). Keep one prototype per declaration, on consecutive lines, with the
 * types the parser knows (void, int, double, size_t, ptrdiff_t, pointers to float, double,
 * void, uint8_t, uint16_t; const where the kernel only reads).
 *
 * Change IMCORR_ABI_VERSION (and imcorr._native.ABI_VERSION) whenever a signature changes:
 * imcorr._native refuses a library of another version (a stale build) and uses NumPy.
 */
#ifndef IMCORR_KERNELS_H
#define IMCORR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define IMCORR_ABI_VERSION 3

/* IMCORR_HOT: AVX2 and baseline builds of a kernel, picked at load time by the dynamic loader
 * (GCC/Clang on x86-64 ELF, target_clones); other compilers and platforms get one plain build of
 * the same code. Put it on the definitions of the hot kernels, not on these declarations. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__)
#define IMCORR_HOT __attribute__((target_clones("avx2", "default")))
#else
#define IMCORR_HOT
#endif

/* module.c */
int imcorr_abi_version(void);

/* acf.c: the autocorrelation steps of imcorr._core.fft and imcorr.stats.effective_sample */
void imcorr_acf_power_c64(const float *src, float *dst, ptrdiff_t n);
int imcorr_acf_centre_f32(const float *x, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t xstride, float *out, ptrdiff_t ostride);
int imcorr_acf_centre_f64(const double *x, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t xstride, float *out, ptrdiff_t ostride);
int imcorr_acf_class_sums_2d(const float *h, ptrdiff_t p, ptrdiff_t lag0, ptrdiff_t lag1, double *out, ptrdiff_t nc);

/* moments.c: paired moment sums of x * f - c (imcorr._core.moments, Pearson r) */
void imcorr_pair_sums_f32(const float *a, const float *b, ptrdiff_t n, double fa, double fb, double ca, double cb, double *out);
void imcorr_pair_sums_f64(const double *a, const double *b, ptrdiff_t n, double fa, double fb, double ca, double cb, double *out);
void imcorr_pair_sums_u8(const uint8_t *a, const uint8_t *b, ptrdiff_t n, double fa, double fb, double ca, double cb, double *out);
void imcorr_pair_sums_u16(const uint16_t *a, const uint16_t *b, ptrdiff_t n, double fa, double fb, double ca, double cb, double *out);

/* boxsum.c: valid window sums of x - g and (x - g)^2 (imcorr._core.boxsum.box_moments_native) */
int imcorr_box_moments_f32(const float *x, ptrdiff_t stride, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, double *s1, double *s2);
int imcorr_box_moments_f64(const double *x, ptrdiff_t stride, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, double *s1, double *s2);
int imcorr_box_moments_u8(const uint8_t *x, ptrdiff_t stride, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, double *s1, double *s2);
int imcorr_box_moments_u16(const uint16_t *x, ptrdiff_t stride, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, double *s1, double *s2);

/* zncc.c: fused ZNCC normalisation, window moments and division in one pass (imcorr.match.zncc) */
ptrdiff_t imcorr_zncc_f32_f32(const float *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const float *num, ptrdiff_t ns, double stt, double tol, double rscale, float *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);
ptrdiff_t imcorr_zncc_f64_f32(const double *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const float *num, ptrdiff_t ns, double stt, double tol, double rscale, float *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);
ptrdiff_t imcorr_zncc_u8_f32(const uint8_t *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const float *num, ptrdiff_t ns, double stt, double tol, double rscale, float *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);
ptrdiff_t imcorr_zncc_u16_f32(const uint16_t *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const float *num, ptrdiff_t ns, double stt, double tol, double rscale, float *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);
ptrdiff_t imcorr_zncc_f32_f64(const float *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const double *num, ptrdiff_t ns, double stt, double tol, double rscale, double *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);
ptrdiff_t imcorr_zncc_f64_f64(const double *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const double *num, ptrdiff_t ns, double stt, double tol, double rscale, double *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);
ptrdiff_t imcorr_zncc_u8_f64(const uint8_t *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const double *num, ptrdiff_t ns, double stt, double tol, double rscale, double *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);
ptrdiff_t imcorr_zncc_u16_f64(const uint16_t *x, ptrdiff_t xs, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ty, ptrdiff_t tx, double g, const double *num, ptrdiff_t ns, double stt, double tol, double rscale, double *out, ptrdiff_t os, uint8_t *defined, uint8_t *risky, ptrdiff_t ms);

/* ssim.c: SSIM over the valid windows, one band of output rows (imcorr.similarity.structural) */
int imcorr_ssim_rows_f32(const float *a, const float *b, ptrdiff_t sa, ptrdiff_t sb, ptrdiff_t ny, ptrdiff_t nx, const double *wy, ptrdiff_t ty, const double *wx, ptrdiff_t tx, double cov_norm, double c1, double c2, ptrdiff_t r0, ptrdiff_t r1, double *map, ptrdiff_t map_stride, double *sums);
int imcorr_ssim_rows_f64(const double *a, const double *b, ptrdiff_t sa, ptrdiff_t sb, ptrdiff_t ny, ptrdiff_t nx, const double *wy, ptrdiff_t ty, const double *wx, ptrdiff_t tx, double cov_norm, double c1, double c2, ptrdiff_t r0, ptrdiff_t r1, double *map, ptrdiff_t map_stride, double *sums);
int imcorr_ssim_rows_u8(const uint8_t *a, const uint8_t *b, ptrdiff_t sa, ptrdiff_t sb, ptrdiff_t ny, ptrdiff_t nx, const double *wy, ptrdiff_t ty, const double *wx, ptrdiff_t tx, double cov_norm, double c1, double c2, ptrdiff_t r0, ptrdiff_t r1, double *map, ptrdiff_t map_stride, double *sums);
int imcorr_ssim_rows_u16(const uint16_t *a, const uint16_t *b, ptrdiff_t sa, ptrdiff_t sb, ptrdiff_t ny, ptrdiff_t nx, const double *wy, ptrdiff_t ty, const double *wx, ptrdiff_t tx, double cov_norm, double c1, double c2, ptrdiff_t r0, ptrdiff_t r1, double *map, ptrdiff_t map_stride, double *sums);

/* localmap.c (body in localmap_impl.h): local Pearson map, one row band per call
 * (imcorr.correlation.localmap_native.local_pearson_native) */
int imcorr_local_pearson_f32(const float *a, const float *b, const uint8_t *mask, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ry, ptrdiff_t rx, double ga, double gb, int integral, double lim, double ba, double bb, double flag, ptrdiff_t r0, ptrdiff_t r1, double *out, uint8_t *valid, double *totals);
int imcorr_local_pearson_f64(const double *a, const double *b, const uint8_t *mask, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ry, ptrdiff_t rx, double ga, double gb, int integral, double lim, double ba, double bb, double flag, ptrdiff_t r0, ptrdiff_t r1, double *out, uint8_t *valid, double *totals);
int imcorr_local_pearson_u8(const uint8_t *a, const uint8_t *b, const uint8_t *mask, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ry, ptrdiff_t rx, double ga, double gb, int integral, double lim, double ba, double bb, double flag, ptrdiff_t r0, ptrdiff_t r1, double *out, uint8_t *valid, double *totals);
int imcorr_local_pearson_u16(const uint16_t *a, const uint16_t *b, const uint8_t *mask, ptrdiff_t ny, ptrdiff_t nx, ptrdiff_t ry, ptrdiff_t rx, double ga, double gb, int integral, double lim, double ba, double bb, double flag, ptrdiff_t r0, ptrdiff_t r1, double *out, uint8_t *valid, double *totals);

/* register.c: translation registration, coarse stage and refinement inputs
 * (imcorr._native.register_kernels) */
void imcorr_reg_crosspower(float *M, const float *R, ptrdiff_t n, int phase);
void imcorr_reg_peak(const float *s, int n0, int n1, int exclude, double *out);
int imcorr_reg_grad_marginals(const void *x, int dtype, ptrdiff_t s0, ptrdiff_t s1, int n0, int n1, double *m0, double *m1);
int imcorr_reg_prepare(const void *x, int dtype, ptrdiff_t s0, ptrdiff_t s1, int n0, int n1, int bin, float *binned, const float *f0, const float *f1, float *out, double *stats);
int imcorr_reg_crop(const void *x, int dtype, ptrdiff_t s0, ptrdiff_t s1, int n0, int n1, const double *f0, const double *f1, float *out);
void imcorr_reg_tukey(int n, double offset, double lo, double hi, double alpha, double *out);

/* register_gn.c: Gauss-Newton refinement and its peak/uncertainty sums (imcorr._native.register_kernels).
 * work: caller scratch of work_bytes >= 64 + 8 (2 n0 + 2 m1) + 4 (5 mp + 2 n0 mp) bytes (mp: m1 rounded up to
 * a multiple of 8; imcorr_reg_stats needs 1 row instead of n0), reused across calls; NULL or smaller:
 * the kernel allocates its own. */
int imcorr_reg_newton(const float *A, const float *B, int n0, int m1, const double *om0, const double *om1, const double *wl, double *r, double *Hi, int compute_hi, int steps, const double *bw0, int m, double *stats, void *work, size_t work_bytes);
int imcorr_reg_stats(const float *A, const float *B, int n0, int m1, const double *om0, const double *om1, const double *wl, const double *bw0, int m, const double *r, double *out, void *work, size_t work_bytes);

#endif
