"""Demo section: a displacement field (DIC / PIV) of the moving image relative to the reference."""

from __future__ import annotations

import numpy as np


def run(ctx) -> None:
    import imcorr

    field = imcorr.displacement_field(ctx.reference, ctx.moving, window=32, step=32, search=8,
                                      subpixel="icgn")
    ok = field.valid
    err_y = field.dy[ok] - ctx.true_shift[0]
    err_x = field.dx[ok] - ctx.true_shift[1]
    ctx.table(
        "displacement field (window 32, step 32, search +-8, icgn subpixel)",
        [("true shift (dy, dx)", ctx.true_shift), ("grid", field.grid_shape),
         ("valid / replaced / invalid", (field.n_valid, field.n_replaced, field.n_invalid)),
         ("median (dy, dx)", (float(np.median(field.dy[ok])), float(np.median(field.dx[ok])))),
         ("median |error| (px)", float(np.median(np.hypot(err_y, err_x)))),
         ("valid vectors within 0.1 px of the truth", int(np.sum(np.hypot(err_y, err_x) <= 0.1))),
         ("median ZNCC quality", float(np.median(field.quality[ok])))],
    )
    try:
        path = imcorr.plot_field(field, ctx.out_dir / "dic_field.png", kind="magnitude", background=ctx.reference)
        ctx.figures.append(path)
    except ImportError:  # matplotlib is optional
        pass
