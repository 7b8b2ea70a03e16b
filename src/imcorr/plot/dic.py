"""``plot_field``: a displacement or strain field as a PNG with a colour bar and labelled units."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imcorr.dic import DisplacementField, StrainField, strain
from imcorr.errors import InputError, MissingDependencyError

__all__ = ["PLOT_KINDS", "plot_field"]

#: What ``plot_field`` can draw.
PLOT_KINDS = ("quiver", "magnitude", "dx", "dy", "exx", "eyy", "exy", "quality")
_STRAIN = ("exx", "eyy", "exy")


def plot_field(field: DisplacementField, path, *, kind: str = "quiver", background=None,
               strain_field: StrainField | None = None, strain_kind: str = "green-lagrange",
               strain_window: int = 5, dpi: int = 120) -> Path:
    """Write a PNG of a 2-D displacement field (or its strain) over an optional background image.

    Parameters
    ----------
    field : DisplacementField
        A 2-D field.
    path : str or Path
        Output PNG.
    kind : {'quiver', 'magnitude', 'dx', 'dy', 'exx', 'eyy', 'exy', 'quality'}
        Arrows (coloured by magnitude), a displacement component (px), a strain component (computed with
        ``strain(field, kind=strain_kind, window=strain_window)`` unless ``strain_field`` is given; the
        strain kind is in the title) or the ZNCC quality. Invalid vectors are left blank.
    background : array_like, optional
        Image drawn in gray below the field (same coordinates).

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import os, tempfile
    >>> from scipy import ndimage
    >>> import imcorr
    >>> ref = imcorr.gaussian_random_field((96, 96), 2.0, seed=0)
    >>> field = imcorr.displacement_field(ref, ndimage.shift(ref, (1.0, 2.0), mode="wrap"), window=32, step=32)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     os.path.getsize(imcorr.plot_field(field, os.path.join(d, "f.png"), kind="magnitude")) > 0
    True
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dev dependency
        raise MissingDependencyError("plot_field needs matplotlib: pip install matplotlib") from exc
    if not isinstance(field, DisplacementField) or field.ndim != 2:
        raise InputError("field: plot_field draws a 2-D DisplacementField")
    if kind not in PLOT_KINDS:
        raise InputError(f"kind: unknown {kind!r}; choose one of {', '.join(PLOT_KINDS)}")
    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 7 * field.image_shape[0] / max(field.image_shape[1], 1) + 0.6))
    try:
        if background is not None:
            ax.imshow(np.asarray(background), cmap="gray", interpolation="nearest")
        ok = field.valid | (field.status == "replaced")
        step = field.step[0] if field.step else 1
        extent = (field.x[0, 0] - step / 2, field.x[0, -1] + step / 2, field.y[-1, 0] + step / 2,
                  field.y[0, 0] - step / 2)
        if kind == "quiver":
            mag = np.where(ok, field.magnitude, np.nan)
            q = ax.quiver(field.x[ok], field.y[ok], field.dx[ok], field.dy[ok], mag[ok], cmap="viridis",
                          angles="xy", scale_units="xy", scale=None)
            fig.colorbar(q, ax=ax, label="|d| (px)")
            title = "displacement (arrows: dx, dy; rows down)"
        else:
            if kind in _STRAIN:
                sf = strain_field or strain(field, kind=strain_kind, window=strain_window)
                values, label = getattr(sf, kind), f"{kind} ({sf.kind} strain, gauge {sf.window} points)"
                title = f"{kind}, {sf.kind} strain"
            elif kind == "quality":
                values, label, title = np.where(ok, field.quality, np.nan), "ZNCC at the peak", "quality"
            else:
                comp = field.magnitude if kind == "magnitude" else getattr(field, kind)
                values, label, title = np.where(ok, comp, np.nan), f"{kind} (px)", f"{kind}"
            im = ax.imshow(values, extent=extent, cmap="RdBu_r" if kind in _STRAIN + ("dx", "dy") else "viridis",
                           alpha=0.75 if background is not None else 1.0, interpolation="nearest")
            fig.colorbar(im, ax=ax, label=label)
        ax.set_xlabel("x (px)")
        ax.set_ylabel("y (px)")
        ax.set_title(f"{title}\nwindow {field.window[0]} px, step {step} px, {field.n_valid}/{field.n_vectors} valid")
        ax.set_xlim(0, field.image_shape[1])
        ax.set_ylim(field.image_shape[0], 0)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
