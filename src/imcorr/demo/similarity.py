"""Demo section: SSIM / MS-SSIM / PSNR / NMI of the reference and the moving image, SSIM map figure."""

from __future__ import annotations

import numpy as np


def run(ctx) -> None:
    import imcorr

    ref, mov = ctx.reference, ctx.moving
    dr = 255.0
    s = imcorr.ssim(ref, mov, data_range=dr, full=True)
    rows = [
        ("SSIM (skimage preset)", s.ssim),
        ("SSIM (wang2004 preset)", imcorr.ssim(ref, mov, data_range=dr, preset="wang2004").ssim),
        ("SSIM (matlab preset)", imcorr.ssim(ref, mov, data_range=dr, preset="matlab").ssim),
        ("MS-SSIM", imcorr.ms_ssim(ref, mov, data_range=dr).ms_ssim),
        ("PSNR dB", imcorr.psnr(ref, mov, data_range=dr)),
        ("NMI (256 bins)", imcorr.mutual_information(ref, mov, normalized=True).value),
        ("histogram correl", imcorr.compare_histograms(ref, mov, range=(0, 256)).value),
    ]
    # undo the known shift (integer part) to show how much of the dissimilarity it explains
    dy, dx = (int(round(v)) for v in ctx.true_shift)
    back = np.roll(mov, (-dy, -dx), axis=(0, 1))
    crop = (slice(8, -8), slice(8, -8))
    rows.append(("SSIM after undoing the integer shift", imcorr.ssim(ref[crop], back[crop], data_range=dr).ssim))
    ctx.table("similarity of reference and moving", rows)

    fig, axes = ctx.subplots(2, figsize=(9, 4))
    im = axes[0].imshow(s.map, cmap="viridis", vmin=-1, vmax=1)
    axes[0].set_title(f"SSIM map (mean {s.ssim:.3f})")
    fig.colorbar(im, ax=axes[0])
    d = imcorr.difference(ref, mov)
    im2 = axes[1].imshow(d.map, cmap="magma")
    axes[1].set_title("|reference - moving|")
    fig.colorbar(im2, ax=axes[1])
    ctx.save_figure(fig, axes, "similarity.png")
