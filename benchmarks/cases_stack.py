"""Frame stack: register 1,000 frames of 512^2 against one reference (video stabilisation, time series).

Frames are 512^2 crops of a 640^2 photo mosaic moved by an exact Fourier shift (so the
content moves non-periodically inside the crop, as in a real video) plus Gaussian noise
(sigma 2 on 0..255), float32. The reference is the unshifted crop. Errors are against the
known shifts: the largest per-axis error over all frames (and the RMS in the note).

imcorr: :func:`imcorr.estimate_shifts` (one reference spectrum, frames on every core).
Peer: a ``cv2.phaseCorrelate`` loop, plain and with the Hanning window OpenCV documents for
non-periodic images; the faster of the two in its fastest state is the reference time.
"""

from __future__ import annotations

import numpy as np

import imcorr

from ._harness import Case, Impl
from .cases_register import random_mosaic

N_FRAMES, SIZE, PAD = 1000, 512, 64


def _stack_setup():
    from scipy import fft

    big = random_mosaic((SIZE + 2 * PAD,) * 2, seed=11)
    spec = fft.rfft2(big)
    n = big.shape[0]
    ky, kx = fft.fftfreq(n)[:, None], fft.rfftfreq(n)[None, :]
    rng = np.random.default_rng(18)
    truth = rng.uniform(-20, 20, (N_FRAMES, 2))
    frames = np.empty((N_FRAMES, SIZE, SIZE), np.float32)
    for i, (dy, dx) in enumerate(truth):
        moved = fft.irfft2(spec * np.exp(-2j * np.pi * (ky * dy + kx * dx)), s=big.shape)
        frames[i] = moved[PAD:PAD + SIZE, PAD:PAD + SIZE] + rng.normal(0, 2.0, (SIZE, SIZE))
    ref = np.ascontiguousarray(big[PAD:PAD + SIZE, PAD:PAD + SIZE], dtype=np.float32)
    return {"ref": ref, "frames": frames, "truth": truth}


def _imcorr_stack(d):
    return imcorr.estimate_shifts(d["ref"], d["frames"]).shift


def _cv2_loop(window: bool):
    def run(d):
        import cv2

        ref = d["ref"]
        win = cv2.createHanningWindow(ref.shape[::-1], cv2.CV_32F) if window else None
        out = np.empty((len(d["frames"]), 2))
        for i, f in enumerate(d["frames"]):
            (x, y), _ = cv2.phaseCorrelate(ref, f, win) if window else cv2.phaseCorrelate(ref, f)
            out[i] = y, x
        return out

    return run


def _max_error(out, d):
    return float(np.abs(np.asarray(out, dtype=np.float64) - d["truth"]).max())


CASES = [
    Case(
        name=f"stack {N_FRAMES} frames {SIZE}^2 float32",
        setup=_stack_setup,
        impls=[
            Impl("imcorr.estimate_shifts", _imcorr_stack, peer=False),
            Impl("cv2.phaseCorrelate loop", _cv2_loop(False), requires="cv2"),
            Impl("cv2.phaseCorrelate loop + Hanning window", _cv2_loop(True), requires="cv2"),
        ],
        error=_max_error,
        goal=1 / 3,
        goal_text="goal: >= 3x the frames/s of the cv2 loop",
        repeat=3,
        accuracy_label="max err px",
    ),
]
