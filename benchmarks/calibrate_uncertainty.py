"""Calibration of ``ShiftResult.uncertainty`` (docs/registration.md, "Uncertainty"); not part of the test suite.

256² crops of astronaut (gray), exact translations (Fourier shift of the reflect-padded crop), shifts
uniform in (-10, 10) px, independent Gaussian noise of sigma on both images. Prints the fraction of
pairs with ``|error| <= uncertainty`` and ``<= 2 uncertainty`` (for a 2-D isotropic Gaussian error
with ``E|error|^2 = uncertainty^2``: 63% and 98%).

Run: ``python benchmarks/calibrate_uncertainty.py [pairs]`` (default 200). Seed 3; the crop position
and the shift are drawn before the noise of each pair.
"""
import sys

import numpy as np
from scipy import fft, ndimage
from skimage import color, data

import imcorr

img = color.rgb2gray(data.astronaut()) * 255
rng = np.random.default_rng(3)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
for sig in (0.25, 0.5, 1, 5, 10, 20):
    q = []
    for _ in range(n):
        y, x = rng.integers(0, 512 - 288, 2)
        big = img[y:y+288, x:x+288]
        s = rng.uniform(-10, 10, 2)
        pb = np.pad(big, 32, mode='reflect')
        mov = fft.ifftn(ndimage.fourier_shift(fft.fftn(pb), s)).real[48:-48, 48:-48]
        mov = mov + rng.normal(0, sig, (256, 256))
        ref = big[16:-16, 16:-16] + rng.normal(0, sig, (256, 256))
        r = imcorr.estimate_shift(ref, mov)
        q.append(np.hypot(*(np.subtract(r.shift, s))) / r.uncertainty)
    q = np.array(q)
    print(f"sigma {sig}: within 1u {np.mean(q <= 1):.2f} within 2u {np.mean(q <= 2):.2f} "
          f"median ratio {np.median(q):.2f}")
