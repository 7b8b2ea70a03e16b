"""Registration cases: subpixel translation, masked translation, rotation + scale.

Inputs are non-repeating photo mosaics (random 256-px tiles of several scikit-image
photos, randomly flipped/rotated: a periodic tiling would give the correlation several
equal peaks) moved by an exact Fourier shift, so the ground truth is known exactly.
Errors are the largest per-axis error in px (angle error in degrees for rotation).
"""

from __future__ import annotations

import functools
import math

import numpy as np

import imcorr

from ._data import fourier_shift
from ._harness import Case, Impl

TRUE_SHIFT = (3.3737, -7.8162)  # off the 0.01 grid of usf=100


@functools.cache
def _sources() -> tuple[np.ndarray, ...]:
    from skimage import color, data

    imgs = [data.camera(), color.rgb2gray(data.astronaut()) * 255, data.moon(), data.coins(),
            color.rgb2gray(data.coffee()) * 255, color.rgb2gray(data.chelsea()) * 255,
            color.rgb2gray(data.rocket()) * 255]
    return tuple(np.asarray(i, dtype=np.float64) for i in imgs)


def random_mosaic(shape, seed=0, tile=256) -> np.ndarray:
    """A non-periodic mosaic of random ``tile``-px photo crops (random flips and 90-degree turns)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    out = np.empty((-(-h // tile) * tile, -(-w // tile) * tile))
    src = _sources()
    for ty in range(0, out.shape[0], tile):
        for tx in range(0, out.shape[1], tile):
            img = src[rng.integers(len(src))]
            y = rng.integers(0, img.shape[0] - tile + 1)
            x = rng.integers(0, img.shape[1] - tile + 1)
            t = np.rot90(img[y:y + tile, x:x + tile], rng.integers(4))
            if rng.integers(2):
                t = t[:, ::-1]
            out[ty:ty + tile, tx:tx + tile] = t
    return np.ascontiguousarray(out[:h, :w])


def _translation_setup(n):
    def setup():
        ref = random_mosaic((n, n), seed=n)
        mov = fourier_shift(ref, TRUE_SHIFT)
        return {"ref": ref, "mov": mov, "truth": np.array(TRUE_SHIFT)}

    return setup


def _imcorr_shift(d):
    return imcorr.estimate_shift(d["ref"], d["mov"]).shift


def _cv2_shift(d):
    import cv2

    (x, y), _ = cv2.phaseCorrelate(d["ref"], d["mov"])
    return (y, x)


def _skimage_shift(d):
    from skimage.registration import phase_cross_correlation

    return tuple(-phase_cross_correlation(d["ref"], d["mov"], upsample_factor=100)[0])


def _shift_error(out, d):
    return float(np.abs(np.asarray(out, dtype=np.float64) - d["truth"]).max())


def _masked_setup():
    n = 1024
    rng = np.random.default_rng(5)
    ref = random_mosaic((n, n), seed=77)
    truth = np.array((-12.35, 21.6))  # subpixel: the masked peers are integer-only
    mov = fourier_shift(ref, truth)
    mr = np.ones((n, n), bool)
    mm = np.ones((n, n), bool)
    for m in (mr, mm):  # 20% invalid: one rectangular block each
        bh, bw = 400, int(0.2 * n * n / 400)
        y, x = rng.integers(0, n - bh), rng.integers(0, n - bw)
        m[y:y + bh, x:x + bw] = False
    ref = np.where(mr, ref, 0.0)
    mov = np.where(mm, mov, 0.0)
    return {"ref": ref, "mov": mov, "mr": mr, "mm": mm, "truth": truth}


def _imcorr_masked(d):
    return imcorr.estimate_shift(d["ref"], d["mov"], reference_mask=d["mr"], moving_mask=d["mm"]).shift


def _imcorr_masked_int(d):
    return imcorr.estimate_shift(d["ref"], d["mov"], reference_mask=d["mr"], moving_mask=d["mm"], upsample=1).shift


def _skimage_masked(d):
    from skimage.registration import phase_cross_correlation

    return tuple(-phase_cross_correlation(d["ref"], d["mov"], reference_mask=d["mr"], moving_mask=d["mm"])[0])


def _pairs40_setup():
    """The issue's real non-periodic benchmark: 40 noisy 256^2 astronaut crops, exact ground truth."""
    from scipy import fft, ndimage
    from skimage import color, data

    img = color.rgb2gray(data.astronaut()) * 255
    rng = np.random.default_rng(0)
    pad = 32
    spec = fft.fftn(np.pad(img, pad, mode="reflect"))
    pairs, truth = [], []
    for _ in range(40):
        s = rng.uniform(-10, 10, 2)
        moved = fft.ifftn(ndimage.fourier_shift(spec, s)).real[pad:-pad, pad:-pad]
        y, x = rng.integers(20, 512 - 256 - 20, 2)
        a = img[y:y + 256, x:x + 256] + rng.normal(0, 5, (256, 256))
        b = moved[y:y + 256, x:x + 256] + rng.normal(0, 5, (256, 256))
        pairs.append((a, b))
        truth.append(s)
    return {"pairs": pairs, "truth": np.array(truth)}


def _rms_error(out, d):
    e = np.asarray(out, dtype=np.float64) - d["truth"]
    return float(np.sqrt((e**2).sum(axis=1).mean()))


def _pairs_imcorr(d):
    return [imcorr.estimate_shift(a, b).shift for a, b in d["pairs"]]


def _pairs_skimage(d):
    from skimage.registration import phase_cross_correlation

    return [tuple(-phase_cross_correlation(a, b, upsample_factor=100)[0]) for a, b in d["pairs"]]


def _pairs_cv2(d):
    import cv2

    return [cv2.phaseCorrelate(a, b)[0][::-1] for a, b in d["pairs"]]


def _pairs_cv2_iterative(d):
    import cv2

    out = []
    for a, b in d["pairs"]:
        x, y = cv2.phaseCorrelateIterative(a.astype(np.float32), b.astype(np.float32))
        out.append((y, x))
    return out


TRUE_ANGLE, TRUE_SCALE = 17.3, 1.12


def _similarity_setup():
    from scipy import ndimage
    from skimage import color, data

    ref = color.rgb2gray(data.astronaut()) * 255
    h, w = ref.shape
    c = np.array([(h - 1) / 2, (w - 1) / 2])
    t = np.deg2rad(TRUE_ANGLE)
    A = TRUE_SCALE * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    Ai = np.linalg.inv(A)
    shift = np.array((2.5, -4.0))
    mov = ndimage.affine_transform(ref, Ai, offset=c - Ai @ (c + shift), order=3, mode="reflect")
    return {"ref": ref, "mov": mov, "angle": TRUE_ANGLE, "scale": TRUE_SCALE}


def _imcorr_similarity(d):
    r = imcorr.estimate_similarity(d["ref"], d["mov"])
    return r.angle_deg, r.scale


def _cv2_logpolar(d):
    """The usual OpenCV recipe: log-magnitude spectra, warpPolar(log), phaseCorrelate.

    Radii below 5 px (the rotation-invariant blob around DC, ~30% of the log-radius columns)
    are dropped, else the correlation locks to zero rotation.
    """
    import cv2

    def logmag(img):
        win = cv2.createHanningWindow(img.shape[::-1], cv2.CV_64F)
        f = cv2.dft((img - img.mean()) * win, flags=cv2.DFT_COMPLEX_OUTPUT)
        return np.log1p(np.fft.fftshift(cv2.magnitude(f[..., 0], f[..., 1])))

    a, b = logmag(d["ref"]), logmag(d["mov"])
    h, w = a.shape
    radius = min(h, w) / 2
    flags = cv2.WARP_POLAR_LOG + cv2.INTER_LINEAR + cv2.WARP_FILL_OUTLIERS
    pa = cv2.warpPolar(a, (w, h), (w / 2, h / 2), radius, flags)
    pb = cv2.warpPolar(b, (w, h), (w / 2, h / 2), radius, flags)
    j0 = int(w * math.log(5.0) / math.log(radius))
    (dx, dy), _ = cv2.phaseCorrelate(np.ascontiguousarray(pa[:, j0:]), np.ascontiguousarray(pb[:, j0:]))
    angle = -dy * 360.0 / h  # rows span 360 degrees; the spectrum turns opposite to our display convention
    scale = math.exp(-dx * math.log(radius) / w)
    angle = (angle + 90) % 180 - 90  # the magnitude spectrum cannot tell angle from angle + 180
    return angle, scale


def _angle_error(out, d):
    err = abs(out[0] - d["angle"]) % 180
    return float(min(err, 180 - err))


CASES = []
for _n, _rep, _peers in ((512, 7, True), (2048, 3, True), (4096, 2, False)):
    _impls = [
        Impl("imcorr.estimate_shift", _imcorr_shift, peer=False),
        Impl("cv2.phaseCorrelate", _cv2_shift, requires="cv2"),
    ]
    if _peers:
        _impls.append(Impl("skimage phase_cross_correlation usf=100", _skimage_shift, requires="skimage"))
    CASES.append(
        Case(
            name=f"subpixel shift {_n}^2 float64",
            setup=_translation_setup(_n),
            impls=_impls,
            error=_shift_error,
            goal=0.5,
            repeat=_rep,
            accuracy_label="max err px",
            baseline="cv2.phaseCorrelate",
        )
    )
CASES.append(
    Case(
        name="subpixel shift 40 noisy 256^2 astronaut crops (RMS)",
        setup=_pairs40_setup,
        impls=[
            Impl("imcorr.estimate_shift", _pairs_imcorr, peer=False),
            Impl("skimage phase_cross_correlation usf=100", _pairs_skimage, requires="skimage"),
            Impl("cv2.phaseCorrelate", _pairs_cv2, requires="cv2"),
            Impl("cv2.phaseCorrelateIterative", _pairs_cv2_iterative, requires="cv2"),
        ],
        error=_rms_error,
        goal=None,
        goal_text="accuracy goal: RMS <= 0.005 px (time is for all 40 pairs)",
        repeat=3,
        accuracy_label="RMS err px",
    )
)
CASES.append(
    Case(
        name="masked shift 1024^2, 20% invalid",
        setup=_masked_setup,
        impls=[
            Impl("imcorr.estimate_shift masked", _imcorr_masked, peer=False),
            Impl("imcorr masked upsample=1", _imcorr_masked_int, peer=False, goal=False),
            Impl("skimage masked phase_cross_correlation", _skimage_masked, requires="skimage"),
        ],
        error=_shift_error,
        goal=0.15,
        repeat=3,
        accuracy_label="max err px",
        baseline="skimage masked phase_cross_correlation",
    )
)
CASES.append(
    Case(
        name="rotation+scale 512^2",
        setup=_similarity_setup,
        impls=[
            Impl("imcorr.estimate_similarity", _imcorr_similarity, peer=False),
            Impl("OpenCV log-polar (warpPolar+phaseCorrelate)", _cv2_logpolar, requires="cv2"),
            Impl("imreg_dft", lambda d: __import__("imreg_dft").similarity(d["ref"], d["mov"]), requires="imreg_dft"),
        ],
        error=_angle_error,
        goal=None,
        goal_text="report only (imreg_dft not installed)",
        repeat=5,
        accuracy_label="angle err deg",
    )
)
