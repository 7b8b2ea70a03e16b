"""Demo section: subpixel shift, masked shift, rotation + scale, and an overlay figure."""

from __future__ import annotations

import numpy as np


def run(ctx) -> None:
    import imcorr

    ref, mov = ctx.reference, ctx.moving
    true = np.asarray(ctx.true_shift, dtype=np.float64)
    res = imcorr.estimate_shift(ref, mov)
    err = np.asarray(res.shift) - true
    rows = [
        ("true shift (dy, dx)", tuple(true)),
        ("recovered shift (dy, dx)", res.shift),
        ("error (px)", float(np.hypot(*err))),
        ("estimated uncertainty (px)", res.uncertainty),
        ("peak (zncc of the overlap)", res.peak),
        ("peak-to-sidelobe", res.peak_to_sidelobe),
    ]
    # the same with 20% of the moving image invalid (NaN = masked)
    holed = mov.copy()
    h, w = holed.shape
    holed[h // 4: h // 4 + int(0.4 * h), w // 3: w // 3 + int(0.5 * w)] = np.nan
    masked = imcorr.estimate_shift(ref, holed, moving_mask=np.isfinite(holed))  # NaN needs a mask (one NaN rule)
    rows.append(("masked (20% NaN) shift", masked.shift))
    rows.append(("masked error (px)", float(np.hypot(*(np.asarray(masked.shift) - true)))))
    ctx.table("registration: moving ~= ndimage.shift(reference, shift)", rows)

    # rotation + scale: rotate the reference by 9 degrees and scale by 1.07 about its centre
    from scipy import ndimage

    angle, scale = 9.0, 1.07
    t = np.deg2rad(angle)
    A = scale * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    c = (np.asarray(ref.shape) - 1) / 2
    Ai = np.linalg.inv(A)
    rot = ndimage.affine_transform(ref, Ai, offset=c - Ai @ c, order=3, mode="reflect")
    sim = imcorr.estimate_similarity(ref, rot)
    ctx.table(
        "rotation and scale (log-polar Fourier-Mellin + Gauss-Newton)",
        [("true angle / scale", (angle, scale)), ("recovered angle / scale", (sim.angle_deg, sim.scale)),
         ("shift after rotation", sim.shift)],
    )

    aligned = imcorr.align(mov, res, mode="nearest")
    fig, axes = ctx.subplots(3, figsize=(12, 4.2))
    axes[0].imshow(imcorr.overlay(ref, mov, "falsecolor"))
    axes[0].set_title("before (reference magenta, moving green)")
    axes[1].imshow(imcorr.overlay(ref, aligned, "falsecolor"))
    axes[1].set_title(f"after align: shift ({res.shift[0]:.3f}, {res.shift[1]:.3f})")
    axes[2].imshow(imcorr.overlay(ref, imcorr.align(rot, sim, mode="nearest"), "checker"))
    axes[2].set_title(f"rotation {sim.angle_deg:.3f} deg, scale {sim.scale:.4f} undone")
    ctx.save_figure(fig, axes, "registration.png")
