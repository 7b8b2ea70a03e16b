"""``imcorr corr A B``: correlation coefficient of two images."""

from __future__ import annotations

import click

from ._app import app
from ._common import echo_json, json_option, load_mask, load_pair, pair_options, print_table

METHODS = ("pearson", "spearman", "kendall")


@app.command("corr")
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Mask image: non-zero pixels are used.")
@click.option("--method", type=click.Choice(METHODS), default="pearson", show_default=True)
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the CI.")
@pair_options
@json_option
def corr(image_a, image_b, mask_path, method, level, gray, crop, resize, channel_axis, as_json):
    """Correlation coefficient (r, p, CI) of IMAGE_A and IMAGE_B."""
    import imcorr

    a, b, channel_axis = load_pair(image_a, image_b, gray=gray, crop=crop, resize=resize, channel_axis=channel_axis)
    spatial = a.shape if channel_axis is None else tuple(n for i, n in enumerate(a.shape) if i != channel_axis % a.ndim)
    mask = load_mask(mask_path, spatial, crop=crop)
    fn = getattr(imcorr, method)
    res = fn(a, b, mask=mask, channel_axis=channel_axis)
    if as_json:
        d = res.to_dict()
        d["confidence_interval"] = res.confidence_interval(level).to_dict()
        echo_json(d)
        return
    rows = []
    for label, r in [("all", res)] + [(f"channel {i}", c) for i, c in enumerate(res.channels)]:
        ci = r.confidence_interval(level)
        rows.append((label, r.r, r.pvalue, (ci.low, ci.high), r.n, r.reason or ""))
    print_table(
        f"{method} correlation ({res.pvalue_method} p-value)",
        rows,
        columns=("pixels", "r", "p", f"{level:.0%} CI", "n", "note"),
    )
