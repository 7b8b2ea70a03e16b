"""Demo section: correlation coefficients and the cross-correlation surface."""

from __future__ import annotations

import numpy as np


def run(ctx) -> None:
    import imcorr

    ref, mov = ctx.reference, ctx.moving
    res = imcorr.pearson(ref, mov)
    ci = res.confidence_interval()
    rows = [("pearson r", res.r), ("naive iid p", res.pvalue), ("95% CI", (ci.low, ci.high)), ("n", res.n)]
    for name in ("spearman", "kendall"):
        fn = getattr(imcorr, name, None)
        if fn is not None:
            rows.append((f"{name}", fn(ref, mov).r))
    ctx.table("correlation of reference and moving", rows)

    z = imcorr.cross_correlate(ref, mov, "same", normalize="zncc")
    peak = np.unravel_index(np.nanargmax(z), z.shape)
    lag = tuple(int(p - n // 2) for p, n in zip(peak, mov.shape))
    ctx.table(
        "zero-normalized cross-correlation (integer lag of the peak)",
        [("peak zncc", float(np.nanmax(z))), ("lag (dy, dx) of moving content", tuple(-v for v in lag))],
    )
    fig, axes = ctx.subplots(3, figsize=(12, 4))
    axes[0].imshow(ref, cmap="gray")
    axes[0].set_title("reference")
    axes[1].imshow(mov, cmap="gray")
    axes[1].set_title("moving")
    im = axes[2].imshow(z, cmap="RdBu_r", vmin=-1, vmax=1)
    axes[2].set_title("ZNCC (same mode)")
    fig.colorbar(im, ax=axes[2])
    ctx.save_figure(fig, axes, "correlation.png")
