"""Demo section: template matching and a local correlation map."""

from __future__ import annotations

import numpy as np


def run(ctx) -> None:
    import imcorr

    ref, mov = ctx.reference, ctx.moving
    H, W = ref.shape
    # the camera operator's head and camera: a textured patch, placed relative to the image size
    y0, x0, h, w = int(0.22 * H), int(0.40 * W), int(0.2 * H), int(0.22 * W)
    tpl = ref[y0 : y0 + h, x0 : x0 + w]
    h, w = tpl.shape
    res = imcorr.find_template(mov, tpl, max_matches=3, threshold=0.5)
    best = res.best
    expected = (y0 + ctx.true_shift[0], x0 + ctx.true_shift[1])
    err = tuple(p - e for p, e in zip(best.position, expected))
    rows = [
        ("template cut from reference at (y, x)", (y0, x0)),
        ("template shape", (h, w)),
        ("expected top-left in moving", expected),
        ("found top-left (subpixel)", best.position),
        ("error (px)", err),
        ("zncc score", best.score),
        ("matches with zncc >= 0.5", len(res.matches)),
        ("algorithm", res.scores.algorithm),
    ]
    ctx.table("template matching: find a reference patch in the moving image", rows)

    # local agreement: moving vs the reference moved by the integer part of the true shift
    iy, ix = (int(round(s)) for s in ctx.true_shift)
    aligned = np.roll(ref, (iy, ix), axis=(0, 1))
    loc = imcorr.local_correlation(aligned, mov, window=15)
    raw = imcorr.local_correlation(ref, mov, window=15)
    ctx.table(
        "local Pearson correlation (window 15)",
        [("mean r, reference vs moving", raw.mean), ("mean r, integer-aligned reference vs moving", loc.mean),
         ("fraction valid", loc.fraction_valid)],
    )
    from matplotlib.patches import Rectangle

    fig, axes = ctx.subplots(3, figsize=(13, 4.2))
    axes[0].imshow(mov, cmap="gray")
    for k, m in enumerate(res.matches):
        axes[0].add_patch(Rectangle((m.top_left[1], m.top_left[0]), w, h, fill=False,
                                    edgecolor="red" if k == 0 else "yellow", linewidth=1.5))
    axes[0].set_title("moving, matches of the template")
    im1 = axes[1].imshow(res.scores.scores, cmap="RdBu_r", vmin=-1, vmax=1)
    axes[1].set_title("zncc score map (valid)")
    fig.colorbar(im1, ax=axes[1], fraction=0.046)
    im2 = axes[2].imshow(loc.map, cmap="RdBu_r", vmin=-1, vmax=1)
    axes[2].set_title("local correlation, window 15")
    fig.colorbar(im2, ax=axes[2], fraction=0.046)
    ctx.save_figure(fig, axes, "matching.png")
