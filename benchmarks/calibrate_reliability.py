"""Calibration of ``ShiftResult.reliable`` (docs/registration.md, "Reliability"); not part of the test suite.

Unrelated pairs: crops of two different scikit-image photographs (random regions). Shifted pairs:
a crop and the same region Fourier-shifted by a uniform (-10, 10) px shift (exact translation
of the reflect-free padded region), both with independent Gaussian noise of sigma uniform in
[0, 20] grey levels, from the textured photographs (see ``TEXTURED``).

Run: ``python -m benchmarks.calibrate_reliability [--masked] [--seed S] [pairs] [size ...]`` (default 200
pairs, 64 128 256; ``--masked``: the masked path, ``method="masked"``; unrelated pairs use seed ``S``
(default 0), shifted pairs ``S + 1``).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import ndimage

import imcorr

ALL = ("camera", "moon", "coins", "astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel",
       "page", "clock", "horse", "hubble_deep_field", "retina", "immunohistochemistry", "text")
#: photographs with texture over most of the frame (the binary, mostly flat or mostly black ones, horse,
#: page, text, clock, hubble_deep_field, retina, are only used as unrelated partners)
TEXTURED = ("camera", "coins", "astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel",
            "immunohistochemistry", "moon")


def images():
    from skimage import color, data

    out = {}
    for name in ALL:
        x = np.asarray(getattr(data, name)())
        if x.ndim == 3:
            x = color.rgb2gray(x[..., :3]) * 255
        out[name] = x.astype(np.float64)
    return out


def crop(rng, img, n):
    y = rng.integers(0, img.shape[0] - n + 1)
    x = rng.integers(0, img.shape[1] - n + 1)
    return img[y:y + n, x:x + n]


def unrelated_pairs(imgs, n, count, seed=0):
    rng = np.random.default_rng(seed)
    names = [k for k, v in imgs.items() if min(v.shape) >= n]
    for _ in range(count):
        a, b = rng.choice(len(names), 2, replace=False)
        yield crop(rng, imgs[names[a]], n), crop(rng, imgs[names[b]], n), (names[a], names[b])


def shifted_pairs(imgs, n, count, seed=1, sigma_max=20.0, pad=16):
    rng = np.random.default_rng(seed)
    names = [k for k in TEXTURED if min(imgs[k].shape) >= n + 2 * pad]
    for _ in range(count):
        name = names[rng.integers(len(names))]
        big = crop(rng, imgs[name], n + 2 * pad)
        s = rng.uniform(-10, 10, 2)
        mov = np.fft.ifftn(ndimage.fourier_shift(np.fft.fftn(big), s)).real[pad:pad + n, pad:pad + n]
        sig = rng.uniform(0, sigma_max)
        ref = big[pad:pad + n, pad:pad + n] + rng.normal(0, sig, (n, n))
        yield ref, mov + rng.normal(0, sig, (n, n)), (name, s, sig)


def rates(n, count, method="auto", seed=0):
    imgs = images()
    false = [imcorr.estimate_shift(a, b, method=method).reliable
             for a, b, _ in unrelated_pairs(imgs, n, count, seed)]
    true, wrong = [], []
    for a, b, (_, s, _) in shifted_pairs(imgs, n, count, seed + 1):
        r = imcorr.estimate_shift(a, b, method=method)
        # right: within 1 px (a real match; its accuracy is what ``uncertainty`` describes)
        (true if np.all(np.abs(np.asarray(r.shift) - s) < 1.0) else wrong).append(r.reliable)
    return float(np.mean(false)), true, wrong


def main(argv):
    method = "auto"
    if "--masked" in argv:
        argv = [a for a in argv if a != "--masked"]
        method = "masked"
    seed = 0
    if "--seed" in argv:
        i = argv.index("--seed")
        seed = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    count = int(argv[0]) if argv else 200
    sizes = [int(v) for v in argv[1:]] or [64, 128, 256]
    print("| size | unrelated pairs called reliable | shifted pairs registered right (< 1 px) | "
          "right ones called reliable | wrong ones called reliable |")
    print("|---|---:|---:|---:|---:|")
    for n in sizes:
        f, t, w = rates(n, count, method, seed)
        print(f"| {n}² | {100 * f:.1f}% | {len(t)}/{len(t) + len(w)} | {100 * np.mean(t):.1f}% | "
              f"{sum(w)}/{len(w)} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
