"""``imcorr localmap A B``: per-pixel windowed Pearson correlation map."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import (
    combine_masks,
    echo_json,
    echo_written,
    json_option,
    load_mask,
    odd_window,
    pair_options,
    print_table,
)


def save_png(path: str, cmap_values) -> None:
    """Colour-map r in [-1, 1] (RdBu_r; NaN black) and save as PNG."""
    import matplotlib
    import numpy as np

    from imcorr.io import save

    cm = matplotlib.colormaps["RdBu_r"]
    v = np.asarray(cmap_values, dtype=np.float64)
    rgba = cm((np.nan_to_num(v, nan=0.0) + 1.0) / 2.0)
    rgb = (rgba[..., :3] * 255).round().astype(np.uint8)
    rgb[~np.isfinite(v)] = 0
    save(path, rgb)


@app.command("localmap")
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("--window", type=int, default=15, show_default=True, callback=odd_window,
              help="Odd window size (pixels per axis).")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Binary mask image: non-zero pixels are used (0 = excluded).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the float map (.tif or .npy; NaN where undefined).")
@click.option("--chunks", type=int, default=None,
              help="Compute chunk by chunk (Dask) with chunks of this size; inputs may be .npy (memory-mapped) "
                   "or .zarr; -o must be a .zarr store. For images larger than memory.")
@click.option("--png", "png_path", type=click.Path(dir_okay=False), default=None,
              help="Write a colour-mapped PNG (blue -1 .. red +1, black undefined).")
@pair_options
@json_option
def localmap(image_a, image_b, window, mask_path, out_path, chunks, png_path, gray, crop, resize, channel_axis,
             as_json):
    """Local (windowed) Pearson correlation of IMAGE_A and IMAGE_B at every pixel.

    Colour images are converted to gray (ITU-R 601-2 luma).
    """
    from pathlib import Path

    import numpy as np

    import imcorr
    from imcorr.cli._common import load_pair_alpha
    from imcorr.io import save

    if channel_axis is not None:
        raise click.UsageError("localmap works on gray images; drop --channel-axis")
    if chunks is not None:
        return _tiled(image_a, image_b, window, mask_path, out_path, chunks, png_path, crop or resize, as_json)
    if out_path and Path(out_path).suffix.lower() not in (".tif", ".tiff", ".npy"):
        raise click.UsageError("-o/--output takes a .tif or .npy file (float map); use --png for a picture")
    a, b, _, alpha = load_pair_alpha(image_a, image_b, gray=True, crop=crop, resize=resize, channel_axis=None)
    mask = combine_masks(load_mask(mask_path, a.shape, crop=crop), alpha)
    res = imcorr.local_correlation(a, b, window=window, mask=mask)
    if out_path:
        save(out_path, res.map)
    if png_path:
        save_png(png_path, res.map)
    vals = res.map[res.valid]
    q = np.percentile(vals, [5, 25, 50, 75, 95]) if vals.size else [float("nan")] * 5
    summary = res.to_dict()
    summary.update({"median": float(q[2]), "p05": float(q[0]), "p95": float(q[4]),
                    "fraction_above_0.5": float(np.mean(vals > 0.5)) if vals.size else None})
    if out_path:
        summary["output"] = out_path
    if png_path:
        summary["png"] = png_path
    if as_json:
        echo_json(summary)
        return
    print_table(
        f"local Pearson correlation, window {res.window}",
        [("mean r", res.mean), ("median r", q[2]), ("5% / 95%", (q[0], q[4])), ("valid pixels", res.n_valid),
         ("fraction valid", res.fraction_valid), ("fraction r > 0.5", summary["fraction_above_0.5"]),
         ("note", res.reason or "")],
    )
    if out_path:
        echo_written("output", out_path, as_json)
    if png_path:
        echo_written("png", png_path, as_json)


def _tiled(image_a, image_b, window, mask_path, out_path, chunks, png_path, crop_or_resize, as_json):
    """--chunks: local_correlation_tiled from lazily opened inputs to a Zarr store, with a streamed summary."""
    from pathlib import Path

    from imcorr.parallel import local_correlation_tiled

    if chunks < 1:
        raise click.UsageError("--chunks must be a positive number of pixels")
    if not out_path or Path(out_path).suffix.lower() != ".zarr":
        raise click.UsageError("--chunks writes the map to a Zarr store: give -o/--output OUT.zarr")
    if png_path or crop_or_resize:
        raise click.UsageError("--png, --crop and --resize read whole images; drop them with --chunks")
    mask = load_mask(mask_path)
    stored = local_correlation_tiled(image_a, image_b, window=window, mask=mask, chunks=chunks, out=out_path)
    import dask.array as da

    valid = ~da.isnan(stored)
    n_valid, total = da.compute(valid.sum(), da.where(valid, stored, 0.0).sum())
    n_valid = int(n_valid)
    summary = {"window": window, "chunks": chunks, "shape": list(stored.shape), "n_valid": n_valid,
               "fraction_valid": n_valid / stored.size, "mean": float(total) / n_valid if n_valid else None,
               "output": str(out_path)}
    if as_json:
        echo_json(summary)
        return
    print_table(f"local Pearson correlation, window {window}, chunks {chunks}",
                [("mean r", summary["mean"]), ("valid pixels", n_valid),
                 ("fraction valid", summary["fraction_valid"]), ("shape", tuple(stored.shape))])
    echo_written("output", out_path, as_json)
