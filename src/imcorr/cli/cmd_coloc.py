"""``imcorr coloc CH1 CH2``: Coloc 2-style colocalization, per ROI / per slice, with a Costes p-value."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option, print_table

_SUMMARY = ("label", "slice_index", "n_pixels", "threshold1", "threshold2", "pearson", "tm1", "tm2",
            "tm1_foreground", "tm2_foreground", "pvalue")


def _parse_threshold(text: str):
    if "," in text:
        try:
            parts = [float(v) for v in text.split(",")]
        except ValueError as exc:
            raise click.BadParameter(f"expected two numbers T1,T2, got {text!r}", param_hint="--threshold") from exc
        return tuple(parts)  # the library checks the length
    if text.lower() == "none":
        return None
    return text


def _channel_pair(path1: str, path2: str | None, channels: str | None, channel_axis: int | None):
    import numpy as np

    from imcorr.io import load

    if path2 is not None:
        if channels:
            raise click.UsageError("--channels picks two channels of ONE multichannel file; drop CH2 or --channels")
        return load(path1), load(path2)
    if not channels:
        raise click.UsageError(f"give CH2, or --channels I,J to take two channels of {path1}")
    try:
        i, j = (int(v) for v in channels.split(","))
    except ValueError as exc:
        raise click.BadParameter(f"expected two channel indices I,J, got {channels!r}", param_hint="--channels") \
            from exc
    data = load(path1)
    if channel_axis is None:
        small = [ax for ax, n in enumerate(data.shape) if n <= 8]
        if not small or data.ndim < 3:
            raise click.UsageError(f"{path1} has shape {data.shape}: no channel axis found; pass --channel-axis")
        channel_axis = small[0]
    if not -data.ndim <= channel_axis < data.ndim:
        raise click.BadParameter(f"{channel_axis} is out of range for {path1} with shape {data.shape}",
                                 param_hint="--channel-axis")
    n = data.shape[channel_axis]
    if not (0 <= i < n and 0 <= j < n):
        raise click.BadParameter(f"{path1} has {n} channels on axis {channel_axis}; got {channels}",
                                 param_hint="--channels")
    return np.take(data, i, axis=channel_axis), np.take(data, j, axis=channel_axis)


@app.command("coloc")
@click.argument("ch1", type=click.Path(dir_okay=False))
@click.argument("ch2", type=click.Path(dir_okay=False), required=False)
@click.option("--channels", default=None, help="Two channel indices I,J of one multichannel file (instead of CH2).")
@click.option("--channel-axis", type=int, default=None, help="Channel axis of that file (default: first axis <= 8).")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Mask image: non-zero pixels are analysed.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False), default=None,
              help="Label image: one row per label (0 = background).")
@click.option("--threshold", default="costes", show_default=True,
              help="costes, bisection, otsu, li, triangle, none, or manual T1,T2.")
@click.option("--randomizations", type=int, default=0, show_default=True, help="Costes randomizations (0 = none).")
@click.option("--psf", type=int, default=3, show_default=True, help="PSF size in pixels (block edge and sigma).")
@click.option("--within", type=click.Choice(["mask", "bbox"]), default="mask", show_default=True,
              help="Shuffle blocks inside the mask/ROI (ours) or its bounding box (Coloc 2).")
@click.option("--per-slice", is_flag=True, help="3-D input: one row per z-slice.")
@click.option("--exclude-saturated", is_flag=True, help="Leave out pixels at the dtype maximum in either channel.")
@click.option("--seed", type=int, default=None, help="Seed of the randomizations.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Write one row per ROI / slice (Coloc 2 column names where they exist).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Write the fluorogram (2-D histogram, regression line, thresholds), e.g. out.png.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def coloc(ch1, ch2, channels, channel_axis, mask_path, labels_path, threshold, randomizations, psf, within, per_slice,
          exclude_saturated, seed, csv_path, plot_path, quiet, as_json):
    """Colocalization of channels CH1 and CH2 as Fiji Coloc 2 reports it (Pearson, Manders tM1/tM2, ICQ,
    ranks, Costes thresholds and p-value), one row per ROI or slice.

    The p-value is a true p-value (small = significant); "coloc2_pvalue" is Coloc 2's "Costes P-Value"
    (near 1 = significant).
    """
    import csv
    import sys
    import threading

    import numpy as np

    import imcorr
    from imcorr.io import load

    a, b = _channel_pair(ch1, ch2, channels, channel_axis)
    mask = None if mask_path is None else load(mask_path, gray=True) != 0
    labels = None
    if labels_path is not None:
        labels = load(labels_path)
        if labels.dtype.kind == "f":
            if not np.all(labels == np.round(labels)):
                raise click.BadParameter(f"{labels_path} holds non-integer values", param_hint="--labels")
            labels = labels.astype(np.int64)
    for arr, path, hint in ((mask, mask_path, "--mask"), (labels, labels_path, "--labels")):
        if arr is not None and arr.shape != a.shape:
            raise click.BadParameter(f"{path} has shape {arr.shape} but the channels have shape {a.shape}",
                                     param_hint=hint)
    n_regions = 0
    if labels is not None:
        n_regions = int(np.count_nonzero(np.unique(labels))) * (a.shape[0] if per_slice and a.ndim == 3 else 1)
    elif per_slice and a.ndim == 3:
        n_regions = a.shape[0]
    show = randomizations > 0 and not quiet and not as_json and sys.stderr.isatty()
    kwargs = dict(mask=mask, labels=labels, threshold=_parse_threshold(threshold), randomizations=randomizations,
                  psf=psf, per_slice=per_slice, seed=seed, exclude_saturated=exclude_saturated,
                  randomize_within=within)
    if show:
        lock = threading.Lock()
        with click.progressbar(length=randomizations * (1 + n_regions), label="randomizations",
                               file=sys.stderr) as bar:
            def tick(k: int) -> None:
                with lock:
                    bar.update(k)

            res = imcorr.colocalization(a, b, progress=tick, **kwargs)
    else:
        res = imcorr.colocalization(a, b, **kwargs)
    if csv_path:
        rows = res.to_rows(coloc2_names=True)
        with open(csv_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        click.echo(f"wrote {csv_path}", err=as_json)
    if plot_path:
        from imcorr.plot import fluorogram

        fluorogram(a, b, res, mask=mask, path=plot_path)
        click.echo(f"wrote {plot_path}", err=as_json)
    if as_json:
        echo_json(res.to_dict())
        return
    print_table(f"colocalization ({res.threshold_method} thresholds)", [
        ("pixels", res.n_pixels), ("thresholds ch1, ch2", (res.threshold1, res.threshold2)),
        ("walked channel", res.walked_channel or "-"), ("Pearson r (all / below / above)",
                                                         (res.pearson, res.pearson_below, res.pearson_above)),
        ("Manders M1, M2", (res.m1, res.m2)), ("Coloc 2 tM1, tM2", (res.tm1, res.tm2)),
        ("tM1, tM2 over foreground", (res.tm1_foreground, res.tm2_foreground)),
        ("Li ICQ", res.li_icq), ("Spearman, Kendall", (res.spearman, res.kendall)),
        ("regression slope, intercept", (res.slope, res.intercept)),
        ("p-value (randomizations)", (res.pvalue, res.randomizations)),
        ("Coloc 2 'Costes P-Value'", res.coloc2_pvalue),
        ("note", res.reason or ""),
    ])
    for w in res.warnings:
        click.echo(f"warning: {w}", err=True)
    if res.regions:
        rows = res.to_rows()
        print_table("per ROI / slice", [tuple(r[k] for k in _SUMMARY) for r in rows], columns=_SUMMARY)
