"""``imcorr xcorr A B``: N-D cross-correlation (raw or ZNCC) of two arrays, its peak and lag."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, echo_written, json_option, name_arguments, print_table


@app.command("xcorr")
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("--mode", type=click.Choice(("full", "same", "valid")), default="full", show_default=True,
              help="Output extent, as scipy.signal.correlate.")
@click.option("--normalize", type=click.Choice(("none", "zncc")), default="zncc", show_default=True,
              help="zncc: Pearson r of the overlaps at every lag (in [-1, 1]); none: raw sum a[n + k] b[n].")
@click.option("--gray", is_flag=True, help="Convert colour images to gray (ITU-R 601-2 luma).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the correlation array (.npy or .tif, float).")
@json_option
def xcorr(image_a, image_b, mode, normalize, gray, out_path, as_json):
    """Cross-correlation out[k] = sum_n A[n + k] B[n] of IMAGE_A and IMAGE_B (sizes may differ).

    Prints the peak and its lag k = (dy, dx): at the peak, A[n + k] ~ B[n].
    """
    from pathlib import Path

    import numpy as np

    import imcorr
    from imcorr._core.fft import correlation_slices
    from imcorr.io import read, save

    if out_path and Path(out_path).suffix.lower() not in (".npy", ".tif", ".tiff"):
        raise click.UsageError("-o/--output takes a .npy or .tif file (the float correlation array)")
    name_arguments({"a": image_a, "b": image_b})
    a = read(image_a, gray=gray).data
    b = read(image_b, gray=gray).data
    for arr, path in ((a, image_a), (b, image_b)):
        if arr.ndim == 3 and arr.shape[-1] in (3, 4) and not gray and not str(path).lower().endswith(".npy"):
            raise click.UsageError(f"{path} is a colour image (shape {arr.shape}); add --gray")
    out = imcorr.cross_correlate(a, b, mode, normalize=None if normalize == "none" else "zncc")
    sl = correlation_slices(a.shape, b.shape, mode)
    finite = np.isfinite(out)
    if finite.any():
        flat = int(np.argmax(np.where(finite, out, -np.inf)))
        index = tuple(int(i) for i in np.unravel_index(flat, out.shape))
        peak = float(out[index])
        lag = tuple(s.start + i - (m - 1) for s, i, m in zip(sl, index, b.shape))
    else:
        index, peak, lag = None, float("nan"), None
    if out_path:
        save(out_path, out)
    summary = {
        "mode": mode,
        "normalize": normalize,
        "shape": list(out.shape),
        "peak": peak,
        "peak_index": list(index) if index else None,
        "lag": list(lag) if lag else None,
        "reason": None if finite.any() else "no lag has a defined correlation (zero variance everywhere)",
    }
    if out_path:
        summary["output"] = out_path
    if as_json:
        echo_json(summary)
        return
    axes = imcorr._core.results.axis_names(out.ndim, "d")
    rows = [("output shape", tuple(out.shape)), ("peak", peak), ("peak index", index)]
    rows += [(f"lag {n}", v) for n, v in zip(axes, lag or (None,) * out.ndim)]
    if summary["reason"]:
        rows.append(("note", summary["reason"]))
    print_table(f"cross-correlation ({mode}, {normalize}): out[k] = sum A[n + k] B[n]", rows)
    if out_path:
        echo_written("output", out_path, as_json)
