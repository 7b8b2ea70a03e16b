"""``imcorr corr A B``: correlation coefficient of two images."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import (
    combine_masks,
    echo_json,
    json_option,
    load_mask,
    load_pair_alpha,
    pair_options,
    print_table,
)

METHODS = ("pearson", "spearman", "kendall")


@app.command("corr")
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Mask image: non-zero pixels are used.")
@click.option("--method", type=click.Choice(METHODS), default="pearson", show_default=True)
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the CI.")
@click.option("--pvalue", "pvalue_method", type=click.Choice(("iid", "effective_n", "block_permutation")),
              default="iid", show_default=True, help="p-value method (pearson only); iid is naive for images.")
@click.option("--permutations", type=click.IntRange(min=1), default=999, show_default=True,
              help="Scrambles for --pvalue block_permutation.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for --pvalue block_permutation.")
@click.option("--block-size", type=click.IntRange(min=1), default=None,
              help="Block size (pixels) for --pvalue block_permutation; default from the autocorrelation length.")
@pair_options
@json_option
def corr(image_a, image_b, mask_path, method, level, pvalue_method, permutations, seed, block_size,
         gray, crop, resize, channel_axis, as_json):
    """Correlation coefficient (r, p, CI) of IMAGE_A and IMAGE_B."""
    import imcorr

    a, b, channel_axis, alpha = load_pair_alpha(image_a, image_b, gray=gray, crop=crop, resize=resize,
                                                channel_axis=channel_axis)
    spatial = a.shape if channel_axis is None else tuple(n for i, n in enumerate(a.shape) if i != channel_axis % a.ndim)
    mask = combine_masks(load_mask(mask_path, spatial, crop=crop), alpha)
    fn = getattr(imcorr, method)
    if pvalue_method != "iid":
        if method != "pearson":
            raise click.UsageError(f"--pvalue {pvalue_method} is available for --method pearson only")
        res = fn(a, b, mask=mask, channel_axis=channel_axis, pvalue_method=pvalue_method,
                 permutations=permutations, seed=seed, block_size=block_size)
    else:
        res = fn(a, b, mask=mask, channel_axis=channel_axis)
    if as_json:
        d = res.to_dict()
        d["confidence_interval"] = res.confidence_interval(level).to_dict()
        echo_json(d)
        return
    rows = []
    for label, r in [("all", res)] + [(f"channel {i}", c) for i, c in enumerate(res.channels)]:
        ci = r.confidence_interval(level)
        rows.append((label, r.r, r.pvalue, (ci.low, ci.high), r.n, r.n_effective, r.reason or ""))
    extra = f", {res.permutations} permutations, seed {res.seed}" if res.permutations else ""
    print_table(
        f"{method} correlation ({res.pvalue_method} p-value{extra})",
        rows,
        columns=("pixels", "r", "p", f"{level:.0%} CI", "n", "n effective", "note"),
    )
