"""``imcorr dic REF DEF``: displacement field (DIC / PIV) between two images, optional strain."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option, print_table


def _passes(value: str | None):
    if value is None:
        return None
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError as exc:
        raise click.UsageError(f"--passes: expected window sizes like 64,32,16, got {value!r}") from exc


@app.command("dic")
@click.argument("reference", type=click.Path(dir_okay=False), required=False)
@click.argument("deformed", type=click.Path(dir_okay=False), required=False)
@click.option("--window", type=int, default=32, show_default=True, help="Window (subset) size in pixels.")
@click.option("--step", type=int, default=16, show_default=True, help="Grid step in pixels.")
@click.option("--search", type=int, default=None, help="Largest displacement searched (+- px; default 2 windows).")
@click.option("--passes", "passes", default=None, help="Multipass window sizes, e.g. 64,32,16.")
@click.option("--subpixel", type=click.Choice(["gaussian", "parabolic", "centroid", "icgn"]), default="gaussian",
              show_default=True, help="Subpixel method.")
@click.option("--roi", "roi_path", type=click.Path(dir_okay=False), default=None,
              help="ROI mask image (non-zero = inside).")
@click.option("--no-validate", is_flag=True, help="Skip the median / peak-ratio validation.")
@click.option("--strain", "with_strain", is_flag=True, help="Also compute Green-Lagrange strain (5x5 gauge).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write one row per vector.")
@click.option("--npz", "npz_path", type=click.Path(dir_okay=False), default=None, help="Write the field (.npz).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Write a PNG of the field (arrows over REFERENCE).")
@click.option("--plot-kind", type=click.Choice(["quiver", "magnitude", "dx", "dy", "exx", "eyy", "exy", "quality"]),
              default="quiver", show_default=True, help="What --plot draws.")
@click.option("--series", "series_glob", default=None,
              help="Process a sequence instead: a quoted glob such as 'frames/*.tif' (sorted by name).")
@click.option("--series-reference", type=click.Choice(["first", "previous"]), default="first", show_default=True,
              help="With --series: each frame against the first, or against the previous (accumulated).")
@json_option
def dic(reference, deformed, window, step, search, passes, subpixel, roi_path, no_validate, with_strain, csv_path,
        npz_path, plot_path, plot_kind, series_glob, series_reference, as_json):
    """Displacement of DEFORMED's content relative to REFERENCE on a grid of windows (DIC / PIV).

    dy, dx follow imcorr's convention: DEFORMED ~= scipy.ndimage.shift(REFERENCE, (dy, dx)) locally.
    Colour images are converted to gray. With --series 'frames/*.tif' no REFERENCE/DEFORMED are given.
    """
    import numpy as np

    import imcorr
    from imcorr.cli._common import load_mask, load_pair

    if series_glob is not None:
        _run_series(series_glob, series_reference, reference, deformed, as_json, csv_path,
                    dict(window=window, step=step, search=search, passes=_passes(passes), subpixel=subpixel,
                         validate=not no_validate))
        return
    if reference is None or deformed is None:
        raise click.UsageError("give REFERENCE and DEFORMED images, or --series 'frames/*.tif'")
    ref, dfm, _ = load_pair(reference, deformed, gray=True, crop=False, resize=False, channel_axis=None)
    roi = load_mask(roi_path)
    if roi is not None and roi.shape != ref.shape:
        raise click.UsageError(f"--roi: {roi_path} has shape {roi.shape}, the images {ref.shape}")
    field = imcorr.displacement_field(ref, dfm, window=window, step=step, search=search, passes=_passes(passes),
                                      subpixel=subpixel, roi=roi, validate=not no_validate)
    out = field.to_dict()
    if with_strain:
        s = imcorr.strain(field, kind="green-lagrange", window=5)
        out["strain"] = s.to_dict()
    written = []
    if csv_path:
        written.append(str(field.to_csv(csv_path)))
    if npz_path:
        written.append(str(field.to_npz(npz_path)))
    if plot_path:
        written.append(str(imcorr.plot_field(field, plot_path, kind=plot_kind, background=ref)))
    if as_json:
        out["written"] = written
        echo_json(out)
        return
    ok = field.valid
    rows = [("grid", "x".join(map(str, field.grid_shape))), ("window / step", (field.window[0], field.step[0])),
            ("passes", field.passes), ("subpixel", field.subpixel),
            ("valid / replaced / invalid", (field.n_valid, field.n_replaced, field.n_invalid)),
            ("outside ROI", field.n_outside_roi), ("subpixel fallbacks", field.n_subpixel_fallback),
            ("median dy, dx (px)", (out["median_dy"], out["median_dx"])),
            ("max |d| (px)", float(np.nanmax(field.magnitude[ok])) if ok.any() else None),
            ("median quality (ZNCC)", float(np.median(field.quality[ok])) if ok.any() else None)]
    if with_strain:
        st = out["strain"]
        rows += [(f"median {k} ({st['kind']})", st[f"median_{k}"]) for k in ("exx", "eyy", "exy")]
    print_table("displacement field", rows)
    for path in written:
        click.echo(f"wrote {path}")


def _run_series(pattern, reference, ref_arg, def_arg, as_json, csv_path, kwargs) -> None:
    import glob

    import imcorr

    if ref_arg is not None or def_arg is not None:
        raise click.UsageError("--series takes its frames from the glob; drop REFERENCE/DEFORMED")
    files = sorted(glob.glob(pattern))
    if len(files) < 2:
        raise click.UsageError(f"--series: {pattern!r} matches {len(files)} file(s); a series needs at least 2")
    result = imcorr.series(files, reference=reference, progress=not as_json, **kwargs)
    written = []
    if csv_path:
        import csv

        rows = result.to_rows()
        with open(csv_path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        written.append(csv_path)
    if as_json:
        out = result.to_dict()
        out["written"] = written
        echo_json(out)
        return
    print_table(f"displacement series ({reference}), {result.n_frames} frames",
                [(f["name"], f["n_valid"], f["median_dy"], f["median_dx"]) for f in result.to_dict()["frames"]],
                columns=("frame", "valid vectors", "median dy", "median dx"))
    for path in written:
        click.echo(f"wrote {path}")
