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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    axes[0].imshow(ref, cmap="gray")
    axes[0].set_title("reference")
    axes[1].imshow(mov, cmap="gray")
    axes[1].set_title("moving")
    im = axes[2].imshow(z, cmap="RdBu_r", vmin=-1, vmax=1)
    axes[2].set_title("ZNCC (same mode)")
    fig.colorbar(im, ax=axes[2])
    for ax in axes:
        ax.set_axis_off()
    path = ctx.out_dir / "correlation.png"
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    ctx.figures.append(path)
