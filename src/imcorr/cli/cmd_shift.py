"""``imcorr shift REF MOVING...``: subpixel shift (masked too), optional rotation/scale, overlay; frame stacks.

Several MOVING files (or a quoted glob such as ``'frames/*.tif'``), or ``--csv``, switch to stack mode:
every frame is registered against REF with :func:`imcorr.estimate_shifts` (the reference spectrum is
computed once, frames run on both cores), with a progress bar on a terminal and one row per frame.
"""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import (
    combine_masks,
    echo_json,
    echo_written,
    json_option,
    load_mask,
    name_arguments,
    print_table,
    warn,
)

OVERLAY_KINDS = ("blend", "checker", "diff", "falsecolor")


@app.command("shift")
@click.argument("reference", type=click.Path(dir_okay=False))
@click.argument("moving", nargs=-1, required=True)
@click.option("--upsample", type=click.IntRange(1, 10**6), default=100, show_default=True,
              help="Subpixel precision 1/UPSAMPLE px (1 = integer shifts).")
@click.option("--mask-ref", "mask_ref", type=click.Path(dir_okay=False), default=None,
              help="Binary mask image for REFERENCE: non-zero pixels are valid (NaN pixels need a mask).")
@click.option("--mask-moving", "mask_moving", type=click.Path(dir_okay=False), default=None,
              help="Binary mask image for MOVING: non-zero pixels are valid (NaN pixels need a mask).")
@click.option("--no-window", is_flag=True, help="No apodization window (non-periodic images may lock to 0).")
@click.option("--rotation", is_flag=True, help="Also estimate rotation and scale (log-polar Fourier-Mellin).")
@click.option("--overlay", "overlay_path", type=click.Path(dir_okay=False), default=None,
              help="Write an RGB overlay of REFERENCE and the aligned MOVING (PNG).")
@click.option("--overlay-kind", type=click.Choice(OVERLAY_KINDS), default="falsecolor", show_default=True)
@click.option("--aligned", "aligned_path", type=click.Path(dir_okay=False), default=None,
              help="Write MOVING resampled onto REFERENCE (.tif/.npy keep float; PNG is rescaled).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Stack mode: write one row per frame (file, dy, dx, peak, uncertainty, reliable...) to CSV.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Stack mode: frames registered at once.")
@json_option
def shift(reference, moving, upsample, mask_ref, mask_moving, no_window, rotation, overlay_path, overlay_kind,
          aligned_path, csv_path, workers, as_json):
    """Shift of MOVING relative to REFERENCE: MOVING ~= ndimage.shift(REFERENCE, (dy, dx)).

    Colour images are converted to gray. With --rotation, the angle (degrees,
    counter-clockwise as displayed) and scale are estimated too.
    """
    import numpy as np

    import imcorr
    from imcorr._core.results import axis_names
    from imcorr._core.validate import has_nonfinite
    from imcorr.errors import NonFiniteError
    from imcorr.io import read

    files = _expand(moving)
    if len(files) > 1 or csv_path:
        return _stack(reference, files, upsample, no_window, csv_path, workers, as_json,
                      bool(mask_ref or mask_moving or rotation or overlay_path or aligned_path))
    moving = files[0]
    if rotation and (mask_ref or mask_moving):
        raise click.UsageError("--rotation does not take masks (--mask-ref/--mask-moving)")
    name_arguments({"reference": reference, "moving": moving})
    ri = read(reference, gray=True)
    mi = read(moving, gray=True)
    ref = ri.data.astype(np.float64)
    mov = mi.data.astype(np.float64)
    mr = combine_masks(load_mask(mask_ref, ref.shape, option="--mask-ref"), ri.mask)
    mm = combine_masks(load_mask(mask_moving, mov.shape, option="--mask-moving"), mi.mask)
    for img, path in ((ri, reference), (mi, moving)):
        if img.mask is not None:
            warn(f"{path}: its alpha channel is used as a mask (transparent pixels are left out)")
    # the NaN policy of every command: NaN/Inf pixels are an error unless a mask says which pixels to use
    # (then they are left out too)
    for arr, path, m, opt in ((ref, reference, mr, "--mask-ref"), (mov, moving, mm, "--mask-moving")):
        if m is None and has_nonfinite(arr):
            bad = int(np.count_nonzero(~np.isfinite(arr)))
            raise NonFiniteError(f"{path}: contains {bad} NaN/Inf pixel(s); pass {opt} (a mask image) to say which "
                                 "pixels are valid; NaN pixels are then left out too")
    if rotation:
        if mr is not None or mm is not None:
            raise click.UsageError("--rotation does not take masks; the files' alpha channels are masks: drop them")
        res = imcorr.estimate_similarity(ref, mov)  # reports its steps: a progress bar on a terminal
        rows = [("angle (deg, ccw)", res.angle_deg), ("scale", res.scale), ("dy", res.shift[0]),
                ("dx", res.shift[1]), ("peak (zncc)", res.peak), ("refined", res.refined)]
    else:
        res = imcorr.estimate_shift(
            ref, mov, upsample=upsample, window=None if no_window else "hann", reference_mask=mr, moving_mask=mm
        )
        names = axis_names(len(res.shift), "d")
        rows = [(n, v) for n, v in zip(names, res.shift)]
        rows += [("peak (zncc)", res.peak), ("peak-to-sidelobe", res.peak_to_sidelobe),
                 ("uncertainty (px)", res.uncertainty), ("overlap", res.overlap), ("method", res.method),
                 ("reliable", res.reliable), ("inverted contrast", res.inverted)]
        if not res.reliable and res.reason:
            warn(f"shift not reliable: {res.reason}")
        if res.inverted:
            warn("contrast-inverted match: the moving image looks like a negative of the reference")
    if res.reason:
        rows.append(("note", res.reason))
    aligned = None
    if overlay_path or aligned_path:
        aligned = imcorr.align(mov, res, order=3, mode="constant", cval=np.nan)
    if aligned_path:
        _save_aligned(aligned_path, aligned)
    if overlay_path:
        imcorr.save(overlay_path, imcorr.overlay(ref, aligned, overlay_kind))
    if as_json:
        d = res.to_dict()
        if overlay_path:
            d["overlay"] = overlay_path
        if aligned_path:
            d["aligned"] = aligned_path
        echo_json(d)
        return
    print_table("shift of MOVING relative to REFERENCE (moving ~= shift(reference, (dy, dx)))", rows)
    if aligned_path:
        echo_written("aligned", aligned_path, as_json)
    if overlay_path:
        echo_written("overlay", overlay_path, as_json)


def _save_aligned(path, aligned):
    import numpy as np

    import imcorr

    suffix = str(path).lower().rsplit(".", 1)[-1]
    if suffix in ("tif", "tiff", "npy"):
        imcorr.save(path, aligned.astype(np.float32))
    else:
        a = np.nan_to_num(aligned, nan=0.0)
        imcorr.save(path, np.clip(np.rint(a), 0, 255).astype(np.uint8))


def _expand(patterns: tuple[str, ...]) -> list[str]:
    """MOVING arguments with quoted globs expanded (sorted); a pattern that matches nothing is an error."""
    import glob

    files: list[str] = []
    for pat in patterns:
        if any(c in pat for c in "*?["):
            hits = sorted(glob.glob(pat))
            if not hits:
                raise click.UsageError(f"MOVING: the pattern {pat!r} matches no file")
            files.extend(hits)
        else:
            files.append(pat)
    return files


def _stack(reference, files, upsample, no_window, csv_path, workers, as_json, single_only):
    """Register every file against REFERENCE (imcorr.estimate_shifts); a table, CSV or JSON of the frames."""
    import csv

    import numpy as np

    import imcorr
    from imcorr._core.progress import task
    from imcorr.io import load

    if single_only:
        raise click.UsageError("--mask-ref/--mask-moving, --rotation, --overlay and --aligned take one MOVING "
                               "file; drop them to register a stack")
    name_arguments({"reference": reference})
    ref = load(reference, gray=True).astype(np.float64)

    def frames():
        for path in files:
            name_arguments({"reference": reference, "moving": path})
            frame = load(path, gray=True)
            if frame.shape != ref.shape:
                raise imcorr.ShapeMismatchError(
                    f"{path}: shape {frame.shape} differs from {reference}'s {ref.shape}; a stack needs frames of "
                    "the reference's shape"
                )
            yield frame.astype(np.float64)

    with task(f"registering {len(files)} frames", total=len(files)) as t:
        series = imcorr.estimate_shifts(ref, frames(), workers=workers, upsample=upsample,
                                        window=None if no_window else "hann", progress=lambda n: t.advance())
    rows = series.to_rows()
    for row, path in zip(rows, files):
        row["file"] = path
    if csv_path:
        with open(csv_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["file", *[k for k in rows[0] if k != "file"]])
            writer.writeheader()
            writer.writerows(rows)
    undefined = int(np.count_nonzero(~np.isfinite(series.shift).all(axis=1)))
    if undefined:
        warn(f"{undefined} of {len(files)} frames have no shift (see their reason)")
    if as_json:
        d = series.to_dict()
        d["frames"] = rows
        if csv_path:
            d["csv"] = csv_path
        echo_json(d)
        return
    finite = series.shift[np.isfinite(series.shift).all(axis=1)]
    summary = [("frames", len(files)), ("undefined", undefined)]
    if len(finite):
        summary += [("median (dy, dx)", tuple(float(v) for v in np.median(finite, axis=0))),
                    ("max |shift| (px)", float(np.abs(finite).max()))]
    print_table(f"shifts of {len(files)} frames relative to {reference}", summary)
    if csv_path:
        echo_written("csv", csv_path, as_json)
