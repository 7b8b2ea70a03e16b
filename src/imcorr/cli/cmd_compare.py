"""``imcorr compare A B``: several similarity metrics of two images in one call."""

from __future__ import annotations

import math

import click

from imcorr.cli._app import app
from imcorr.cli._common import (
    cli_message,
    combine_masks,
    echo_json,
    json_option,
    load_mask,
    load_pair_alpha,
    pair_options,
    print_table,
)


def _parse_metrics(text: str | None):
    from imcorr.similarity.compare import COMPARE_METRICS

    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in COMPARE_METRICS]
    if bad or not names:
        raise click.UsageError(f"--metrics: unknown {bad or text!r}; choose from {','.join(COMPARE_METRICS)}")
    return names


def _to_u8(x, lo: float, hi: float):
    import numpy as np

    y = (np.nan_to_num(x.astype(np.float64), nan=lo) - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)


@app.command("compare")
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("--metrics", default=None, metavar="LIST",
              help="Comma-separated subset of pearson,ssim,ms_ssim,psnr,mse,rmse,nrmse,nmi,hist_correl,"
                   "phash_distance,shift (default: all).")
@click.option("--data-range", type=click.FloatRange(0, min_open=True), default=None,
              help="Data range for SSIM/MS-SSIM/PSNR (required for float images; default: the dtype's range; "
                   "a warning says when the data span more than 1.25 times it).")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Binary mask image (0 = excluded): used by the mask-aware metrics; the others say "
                   "'whole image' in the note column.")
@click.option("--ssim-map", "ssim_map_path", type=click.Path(dir_okay=False), default=None,
              help="Write the SSIM map as an 8-bit image (0 = SSIM -1 or less, 255 = SSIM 1).")
@click.option("--diff", "diff_path", type=click.Path(dir_okay=False), default=None,
              help="Write |A - B| as an 8-bit image (scaled to the largest difference).")
@pair_options
@json_option
def compare_cmd(image_a, image_b, metrics, data_range, mask_path, ssim_map_path, diff_path, gray, crop, resize,
                channel_axis, as_json):
    """Similarity of IMAGE_A (reference) and IMAGE_B: SSIM, MS-SSIM, PSNR, (N)RMSE, NMI, histogram, pHash, shift."""
    import numpy as np

    from imcorr.io import save
    from imcorr.similarity import compare, difference

    names = _parse_metrics(metrics)
    if ssim_map_path and names is not None and "ssim" not in names:
        names.append("ssim")
    a, b, channel_axis, alpha = load_pair_alpha(image_a, image_b, gray=gray, crop=crop, resize=resize,
                                                channel_axis=channel_axis)
    spatial = a.shape if channel_axis is None else tuple(n for i, n in enumerate(a.shape) if i != channel_axis % a.ndim)
    mask = combine_masks(load_mask(mask_path, spatial, crop=crop), alpha)
    res = compare(a, b, metrics=names, data_range=data_range, channel_axis=channel_axis, mask=mask,
                  ssim_map=bool(ssim_map_path))
    written = {}
    if ssim_map_path:
        if res.ssim_map is None:
            raise click.UsageError(f"--ssim-map: SSIM could not be computed ({_reason(res, 'ssim')})")
        m = res.ssim_map
        if m.ndim == 3 and channel_axis is not None:
            m = np.nanmean(np.moveaxis(m, channel_axis, -1), axis=-1)
        written["ssim_map"] = str(save(ssim_map_path, _to_u8(m, -1.0, 1.0)))  # echoed below
    if diff_path:
        d = difference(a, b, channel_axis=channel_axis)
        written["diff"] = str(save(diff_path, _to_u8(d.map, 0.0, d.max_abs)))
        written["diff_bbox"] = d.bbox
        written["identical"] = d.identical
    if as_json:
        out = res.to_dict()
        out.update(written)
        echo_json(out)
        return
    rows = []
    for m in res.metrics:
        lo, hi = m.range
        rng = f"[{_num(lo)}, {_num(hi)}]"
        note = cli_message(m.reason) if m.reason else ""
        if m.mask_applied is False:
            note = "; ".join(x for x in ("whole image (not mask-aware)", note) if x)
        rows.append((m.name, m.value, rng, "higher" if m.higher_is_better else "lower", note))
    print_table(f"similarity of {image_a} and {image_b}", rows,
                columns=("metric", "value", "range", "more similar", "note"))
    for k, v in written.items():
        click.echo(f"{k}: {v}")


def _num(v: float) -> str:
    return "inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:g}"


def _reason(res, name: str) -> str:
    for m in res.metrics:
        if m.name == name:
            return m.reason or "unknown reason"
    return "not computed"
