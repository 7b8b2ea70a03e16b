"""Rotation, scale and translation: log-polar Fourier-Mellin plus a Gauss-Newton polish.

Model (2-D, (row, col) coordinates, ``c = (shape - 1) / 2`` the image centre)::

    moving(c + scale * R(angle) @ (x - c) + shift) = reference(x)
    R(angle) = [[cos, -sin], [sin, cos]]

``angle_deg > 0`` is a counter-clockwise rotation *as displayed* (rows pointing down),
the direction of ``skimage.transform.rotate`` and ``scipy.ndimage.rotate``;
``scale > 1`` magnifies the moving content; ``shift`` is the translation left after
rotating and scaling about the centre (for ``angle = 0, scale = 1`` it is the
:func:`~imcorr.estimate_shift` shift).

Method
------
1. The magnitude of the Fourier transform is translation invariant; rotating the image
   rotates it, scaling by ``s`` scales it by ``1/s``. Both images are apodized (Hann),
   their log-magnitude spectra high-pass emphasised (Reddy & Chatterji 1996) and resampled
   on a log-polar grid (angles over 180 degrees, the spectrum being centrosymmetric).
2. Phase correlation of the log-polar images (periodic in angle, windowed in log-radius)
   with DFT upsampling gives angle and scale to a fraction of a grid cell.
3. The magnitude spectrum cannot tell ``angle`` from ``angle + 180``: both candidates are
   undone and translated by :func:`~imcorr.estimate_shift`; the higher correlation wins.
4. Gauss-Newton (Lucas-Kanade) on the four similarity parameters ``(s cos, s sin, ty, tx)``
   plus gain and offset, on Gaussian-smoothed then original images with cubic-spline
   interpolation, removes the log-polar grid's quantisation.

References
----------
.. [1] Reddy, B. S., Chatterji, B. N. (1996). An FFT-based technique for translation,
   rotation, and scale-invariant image registration. IEEE Trans. Image Processing 5(8),
   1266-1271. doi:10.1109/83.506761
.. [2] Guizar-Sicairos, M., Thurman, S. T., Fienup, J. R. (2008). Efficient subpixel image
   registration algorithms. Optics Letters 33(2), 156-158. doi:10.1364/OL.33.000156
.. [3] Baker, S., Matthews, I. (2004). Lucas-Kanade 20 years on: a unifying framework.
   IJCV 56(3), 221-255. doi:10.1023/B:VISI.0000011205.11775.fd
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import ndimage

from imcorr._core import fft as _fft
from imcorr._core.parallel import single_blas_thread
from imcorr._core.progress import task
from imcorr._core.results import Result
from imcorr._core.validate import as_image, channel_last, check_memory, check_same_shape, has_nonfinite
from imcorr.errors import EmptyInputError, InputError, NonFiniteError
from imcorr.register.dft import separable_window, upsampled_dft
from imcorr.register.overlay import align, similarity_matrix
from imcorr.register.results import overlap_slices
from imcorr.register.translation import estimate_shift

__all__ = [
    "estimate_similarity",
    "SimilarityResult",
]

_MIN = 32


@dataclasses.dataclass(frozen=True)
class SimilarityResult(Result):
    """Result of :func:`estimate_similarity`.

    Attributes
    ----------
    angle_deg : float
        Counter-clockwise (as displayed) rotation of the moving content, degrees in (-180, 180].
    scale : float
        Magnification of the moving content.
    shift : tuple of float
        (dy, dx) translation after rotation and scaling about the image centre.
    peak : float
        Zero-normalized correlation of the reference and the aligned moving image over
        their overlap, in [-1, 1].
    refined : bool
        Whether the Gauss-Newton polish converged.
    reason : str or None
        Why values are NaN, else None.
    """

    angle_deg: float
    scale: float
    shift: tuple
    peak: float
    refined: bool = False
    reason: str | None = None

    def to_dict(self):
        d = super().to_dict()
        d["dy"], d["dx"] = d["shift"]
        return d

    @property
    def matrix(self) -> np.ndarray:
        """``scale * R(angle)`` in (row, col) coordinates."""
        return similarity_matrix(self.angle_deg, self.scale)


def _prepare(x, name, channel_axis):
    arr = as_image(x, name)
    if channel_axis is not None:
        arr = channel_last(arr, channel_axis, name).astype(np.float64).mean(axis=-1)
    if arr.ndim != 2:
        raise InputError(f"{name}: estimate_similarity needs 2-D images, got shape {arr.shape} (use channel_axis)")
    if min(arr.shape) < _MIN:
        raise EmptyInputError(
            f"{name}: shape {arr.shape} is too small; rotation/scale needs at least {_MIN} px per axis"
        )
    if has_nonfinite(arr):
        raise NonFiniteError(f"{name}: contains NaN/Inf; fill or crop them before estimate_similarity")
    return arr.astype(np.float64)


def _logpolar_spectrum(img, n_ang, n_rad, rho_min, rho_max):
    """High-passed log-magnitude spectrum on a log-polar grid (angles over [-90, 90) deg)."""
    h, w = img.shape
    fac = separable_window("hann", img.shape)
    x = (img - img.mean()) * np.outer(fac[0], fac[1])
    spec = np.abs(_fft.rfftn(x, dtype=np.float64))  # (h, w//2+1), rows in FFT order
    spec = np.fft.fftshift(spec, axes=0)
    fy = (np.arange(h) - h // 2) / h
    fx = np.arange(w // 2 + 1) / w
    hp = (1 - np.cos(np.pi * fy)[:, None] * np.cos(np.pi * fx)[None, :]) * (2 - np.cos(np.pi * fy)[:, None] * np.cos(
        np.pi * fx)[None, :])
    mag = np.log1p(spec) * hp
    theta = -np.pi / 2 + np.pi * np.arange(n_ang) / n_ang
    rho = rho_min * (rho_max / rho_min) ** (np.arange(n_rad) / n_rad)
    # frequency position (fy, fx) of a polar point; fx < 0 maps to its centrosymmetric twin
    py = np.outer(np.sin(theta), rho)
    px = np.outer(np.cos(theta), rho)
    flip = px < 0
    py = np.where(flip, -py, py)
    px = np.abs(px)
    rows = py * h + h // 2
    cols = px * w
    return ndimage.map_coordinates(mag, [rows, cols], order=1, mode="nearest")


def _rot_scale(ref, mov, n_ang=512, n_rad=256, step=lambda: None):
    """Log-polar phase correlation: (angle_deg in [-90, 90), scale); ``step()`` after each of 3 stages."""
    rho_min, rho_max = 0.03, 0.45
    lp_r = _logpolar_spectrum(ref, n_ang, n_rad, rho_min, rho_max)
    step()
    lp_m = _logpolar_spectrum(mov, n_ang, n_rad, rho_min, rho_max)
    step()
    win = separable_window("hann", (n_rad,))[0]
    lp_r = (lp_r - lp_r.mean()) * win
    lp_m = (lp_m - lp_m.mean()) * win
    shape = (n_ang, n_rad)
    prod = _fft.rfftn(lp_m, shape) * np.conj(_fft.rfftn(lp_r, shape))
    prod /= np.abs(prod) + 1e-12 * np.abs(prod).max()
    surf = _fft.irfftn(prod.copy(), shape)
    idx = np.unravel_index(int(np.argmax(surf)), shape)
    k = np.array([i if i <= n // 2 else i - n for i, n in zip(idx, shape)], dtype=np.float64)
    vals, offs = upsampled_dft(prod, shape, k, 20)
    j = np.unravel_index(int(np.argmax(vals)), vals.shape)
    k = k + offs[list(j)]
    angle = -k[0] * 180.0 / n_ang  # spectrum angle runs clockwise in (row, col) display terms
    log_step = math.log(rho_max / rho_min) / n_rad
    scale = math.exp(-k[1] * log_step)
    step()
    return angle, scale


def _wrap_angle(a):
    a = (a + 180.0) % 360.0
    return a - 180.0 if a != 0 else 180.0


def _translation(ref, mov, angle, scale):
    """Undo rotation/scale of ``mov`` then estimate the translation; returns (shift, peak).

    The corners that the warp leaves empty are filled with the valid mean (the Hann
    window of the phase correlation suppresses them); ``peak`` is the Pearson correlation
    of the jointly valid overlap at the integer shift.
    """

    tmp = SimilarityResult(angle, scale, (0.0, 0.0), math.nan)
    und = align(mov, tmp, order=1, mode="constant", cval=np.nan)
    valid = np.isfinite(und)
    if valid.sum() < 64:
        return np.zeros(2), -math.inf
    filled = np.where(valid, und, und[valid].mean())
    res = estimate_shift(ref, filled, upsample=1)
    k = np.round(np.asarray(res.shift)).astype(int)
    sl = overlap_slices(ref.shape, und.shape, k)
    peak = -math.inf
    if sl is not None:
        v = valid[sl[1]]
        a, b = ref[sl[0]][v], und[sl[1]][v]
        if a.size > 16 and np.ptp(a) > 0 and np.ptp(b) > 0:
            peak = float(np.corrcoef(a, b)[0, 1])
    # und(x) = mov(c + A(x - c)) = ref(x - A^-1 t), and und ~ shift(ref, s)  =>  t = A s
    shift = similarity_matrix(angle, scale) @ np.asarray(res.shift)
    return shift, peak


def _gn_polish(ref, mov, angle, scale, shift, sigmas=(2.0, 0.0), iterations=30, progress=None):
    """Lucas-Kanade on (a, b, ty, tx) with gain/offset; returns (angle, scale, shift, peak, ok).

    ``progress``: a :class:`~imcorr._core.progress.Task` advanced by 1 per smoothing level (in
    ``1/iterations`` steps per iteration, the rest when the level converges).
    """
    tick = progress.advance if progress is not None else (lambda amount=1: None)
    h, w = ref.shape
    c = np.array([(h - 1) / 2, (w - 1) / 2])
    A = similarity_matrix(angle, scale)
    p = np.array([A[0, 0], A[1, 0], shift[0], shift[1]])  # a = s cos, b = s sin
    step_px = max(1, int(math.ceil(math.sqrt(h * w / 65536.0))))
    yy, xx = np.mgrid[0:h:step_px, 0:w:step_px]
    dy = (yy - c[0]).ravel().astype(np.float64)
    dx = (xx - c[1]).ravel().astype(np.float64)
    ok = False
    peak = math.nan
    for sigma in sigmas:
        r_s = ndimage.gaussian_filter(ref, sigma) if sigma else ref
        m_s = ndimage.gaussian_filter(mov, sigma) if sigma else mov
        coeffs = ndimage.spline_filter(m_s, order=3, mode="mirror")
        gy, gx = np.gradient(r_s)
        rv_all = r_s[yy, xx].ravel()
        gy_all = gy[yy, xx].ravel()
        gx_all = gx[yy, xx].ravel()
        ok = False
        used = 0
        for _ in range(iterations):
            used += 1
            tick(1.0 / iterations)
            a, b, ty, tx = p
            wy = c[0] + a * dy - b * dx + ty
            wx = c[1] + b * dy + a * dx + tx
            inside = (wy >= 3) & (wy <= h - 4) & (wx >= 3) & (wx <= w - 4)
            if inside.sum() < 64:
                return angle, scale, shift, math.nan, False
            mv = ndimage.map_coordinates(coeffs, [wy[inside], wx[inside]], order=3, mode="mirror", prefilter=False)
            rv = rv_all[inside]
            X = np.stack([rv, np.ones_like(rv)], axis=1)
            (gain, off), *_ = np.linalg.lstsq(X, mv, rcond=None)
            e = mv - gain * rv - off
            # grad of mov at the warped point ~ gain * A^-T grad ref(x)
            Ainv_T = np.linalg.inv(np.array([[a, -b], [b, a]])).T
            g = gain * (Ainv_T @ np.stack([gy_all[inside], gx_all[inside]]))
            ddy, ddx = dy[inside], dx[inside]
            J = np.stack(
                [g[0] * ddy + g[1] * ddx, -g[0] * ddx + g[1] * ddy, g[0], g[1], -rv, -np.ones_like(rv)], axis=1
            )
            try:
                delta = -np.linalg.solve(J.T @ J, J.T @ e)
            except np.linalg.LinAlgError:
                return angle, scale, shift, math.nan, False
            p = p + delta[:4]
            mvc = mv - mv.mean()
            rvc = rv - rv.mean()
            den = math.sqrt(float(mvc @ mvc) * float(rvc @ rvc))
            peak = float(mvc @ rvc) / den if den > 0 else math.nan
            if abs(delta[0]) + abs(delta[1]) < 1e-7 and np.max(np.abs(delta[2:4])) < 1e-4:
                ok = True
                break
        tick((iterations - used) / iterations)  # the level's unused iterations
    a, b, ty, tx = p
    return math.degrees(math.atan2(b, a)), math.hypot(a, b), (float(ty), float(tx)), peak, ok


def estimate_similarity(
    reference,
    moving,
    *,
    channel_axis: int | None = None,
    refine: bool = True,
    scale_range: tuple[float, float] = (0.5, 2.0),
) -> SimilarityResult:
    """Rotation, scale and translation of ``moving`` relative to ``reference`` (2-D).

    Parameters
    ----------
    reference, moving : array_like
        2-D images of the same shape, at least 32 px per axis (colour: ``channel_axis``,
        channels are averaged).
    channel_axis : int, optional
        Axis of colour channels.
    refine : bool
        Run the Gauss-Newton polish (default). Without it, angle and scale have the
        log-polar grid's accuracy (about 0.1 degree and 0.5%).
    scale_range : (float, float)
        Accepted scale interval; estimates outside it are reported as NaN with a reason.

    Returns
    -------
    SimilarityResult
        ``moving(c + scale R(angle) (x - c) + shift) ~= reference(x)``; :func:`align` undoes it.

    Notes
    -----
    See :mod:`imcorr.register.similarity` for the method and the references.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import imcorr
    >>> ref = imcorr.gaussian_random_field((128, 128), 3.0, seed=5)
    >>> mov = ndimage.rotate(ref, 10.0, reshape=False, mode="reflect")
    >>> res = imcorr.estimate_similarity(ref, mov)
    >>> bool(abs(abs(res.angle_deg) - 10.0) < 0.5)
    True
    """
    ref = _prepare(reference, "reference", channel_axis)
    mov = _prepare(moving, "moving", channel_axis)
    check_same_shape(ref, mov, ("reference", "moving"))
    check_memory(ref.size * 8 * 24.0, "estimate_similarity")
    if np.ptp(ref) == 0 or np.ptp(mov) == 0:
        which = "reference" if np.ptp(ref) == 0 else "moving"
        return SimilarityResult(math.nan, math.nan, (math.nan, math.nan), math.nan, False,
                                f"{which} is constant: no transform is defined")
    # progress (imcorr._core.progress; the CLI shows a bar): 2 log-polar spectra, their correlation,
    # 2 translation candidates, and 2 polish levels with refine
    with single_blas_thread(), task(f"rotation and scale search {ref.shape[0]}x{ref.shape[1]}",
                                    total=5 + 2 * bool(refine)) as progress:
        angle0, scale = _rot_scale(ref, mov, step=progress.advance)
        if not scale_range[0] <= scale <= scale_range[1]:
            return SimilarityResult(math.nan, math.nan, (math.nan, math.nan), math.nan, False,
                                    f"estimated scale {scale:.3g} is outside scale_range={scale_range}")
        best = None
        for angle in (angle0, _wrap_angle(angle0 + 180.0)):
            shift, peak = _translation(ref, mov, angle, scale)
            progress.advance()
            if best is None or peak > best[3]:
                best = (angle, scale, shift, peak)
        angle, scale, shift, peak = best
        refined = False
        if refine:
            a2, s2, t2, p2, ok = _gn_polish(ref, mov, angle, scale, shift, progress=progress)
            if ok and abs(a2 - angle) < 2.0 and abs(math.log(s2 / scale)) < 0.05:
                angle, scale, shift, peak, refined = a2, s2, t2, p2, True
    return SimilarityResult(float(_wrap_angle(angle)), float(scale), tuple(float(v) for v in shift), float(peak),
                            refined, None)
