"""``imcorr match SCENE TEMPLATE``: where does TEMPLATE occur in SCENE?"""

from __future__ import annotations

from pathlib import Path

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

METHODS = ("zncc", "ncc", "ccorr", "ccoeff", "sqdiff", "sqdiff_normed")
#: the range of each method's score, for validating --threshold
SCORE_RANGES = {
    "zncc": (-1.0, 1.0),
    "ncc": (-1.0, 1.0),
    "ccorr": (float("-inf"), float("inf")),
    "ccoeff": (float("-inf"), float("inf")),
    "sqdiff": (0.0, float("inf")),
    "sqdiff_normed": (0.0, float("inf")),
}


def _method(ctx, param, value):
    """click callback: imcorr or OpenCV method names (TM_CCOEFF_NORMED, cv2 codes 0..5), any case."""
    from imcorr.errors import InputError
    from imcorr.match.template import canonical_method

    try:
        return canonical_method(int(value) if str(value).strip().isdigit() else value)
    except InputError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[1]) from None


def _to_uint8(x, lo=None, hi=None):
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    if lo is None or hi is None:
        lo = float(x[finite].min()) if finite.any() else 0.0
        hi = float(x[finite].max()) if finite.any() else 1.0
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.clip(np.where(finite, (x - lo) * scale, 0), 0, 255).round().astype(np.uint8)


def save_map(path: str, scores, method: str) -> None:
    """Write a score map: float for .tif/.npy, an 8-bit PNG/JPEG otherwise."""
    from imcorr.io import save

    suffix = Path(path).suffix.lower()
    if suffix in (".tif", ".tiff", ".npy"):
        save(path, scores)
        return
    lohi = (-1.0, 1.0) if method in ("zncc", "ncc") else (None, None)
    save(path, _to_uint8(scores, *lohi))


def draw_boxes(path: str, scene, matches, template_shape) -> None:
    """Draw each match's rectangle (rank 0 red, others yellow) on the scene."""
    import numpy as np
    from PIL import Image, ImageDraw

    img = scene if scene.dtype == np.uint8 else _to_uint8(scene)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    pil = Image.fromarray(np.ascontiguousarray(img[..., :3]))
    draw = ImageDraw.Draw(pil)
    h, w = template_shape
    for k, m in enumerate(matches):
        y, x = m.top_left
        colour = (255, 0, 0) if k == 0 else (255, 220, 0)
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=colour, width=2)
        draw.text((x + 2, y + 2), f"{k}:{m.score:.2f}", fill=colour)
    pil.save(path)


@app.command("match")
@click.argument("scene", type=click.Path(dir_okay=False))
@click.argument("template", type=click.Path(dir_okay=False))
@click.option("--method", default="zncc", show_default=True, callback=_method, metavar="METHOD",
              help="Score: zncc, ncc, ccorr, ccoeff, sqdiff, sqdiff_normed, or an OpenCV name such as "
                   "TM_CCOEFF_NORMED (OpenCV's TM_* definitions; sqdiff*: lower is better).")
@click.option("--threshold", type=float, default=None,
              help="Keep matches scoring at least this (at most, for sqdiff*), e.g. 0.8 for zncc.")
@click.option("--max", "max_matches", type=click.IntRange(min=1), default=1, show_default=True,
              help="Maximum number of matches.")
@click.option("--min-distance", type=click.IntRange(min=0), default=None,
              help="Minimum spacing of matches in pixels (default: half the template).")
@click.option("--gray", is_flag=True, help="Convert colour images to gray (else channels are summed, like OpenCV).")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Binary template mask image: non-zero pixels of TEMPLATE are used.")
@click.option("--image-mask", "image_mask_path", type=click.Path(dir_okay=False), default=None,
              help="Binary scene mask image: non-zero pixels of SCENE are used (NaN pixels need it).")
@click.option("--precision", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--map", "map_path", type=click.Path(dir_okay=False), default=None,
              help="Write the score map (.tif/.npy keep floats; PNG is scaled to 8 bits).")
@click.option("--boxes", "boxes_path", type=click.Path(dir_okay=False), default=None,
              help="Write the scene with the matches drawn as rectangles (PNG).")
@json_option
def match(scene, template, method, threshold, max_matches, min_distance, gray, mask_path, image_mask_path, precision,
          map_path, boxes_path, as_json):
    """Find TEMPLATE in SCENE: position (top-left and centre, (y, x)), score, subpixel offset."""
    import numpy as np

    import imcorr
    from imcorr.io import read

    lo, hi = SCORE_RANGES[method]
    if threshold is not None and not lo <= threshold <= hi:
        raise click.BadParameter(f"{threshold:g} is outside the range of {method} scores [{lo:g}, {hi:g}]",
                                 param_hint="--threshold")
    name_arguments({"image": scene, "template": template})
    s = read(scene, gray=gray)
    t = read(template, gray=gray)
    a, b = s.data, t.data
    channel_axis = None
    if a.ndim != b.ndim:
        raise click.UsageError(f"{scene} has shape {a.shape} and {template} has shape {b.shape}: add --gray")
    if a.ndim == 3 and not gray and a.shape[-1] in (3, 4) and b.shape[-1] == a.shape[-1]:
        channel_axis = -1
    if boxes_path is not None and (a.ndim - (channel_axis is not None)) != 2:
        raise click.UsageError("--boxes needs 2-D images")
    spatial = a.shape[:-1] if channel_axis is not None else a.shape
    tspatial = b.shape[:-1] if channel_axis is not None else b.shape
    mask = combine_masks(load_mask(mask_path, tspatial), t.mask)
    image_mask = combine_masks(load_mask(image_mask_path, spatial, option="--image-mask"), s.mask)
    for img, path in ((s, scene), (t, template)):
        if img.mask is not None:
            warn(f"{path}: its alpha channel is used as a mask (transparent pixels are left out)")
    res = imcorr.find_template(
        a, b, method=method, max_matches=max_matches, threshold=threshold, min_distance=min_distance,
        mask=mask, image_mask=image_mask, channel_axis=channel_axis, precision=precision,
    )
    defined = res.scores.defined
    if defined is not None and not defined.any():
        from imcorr.errors import InputError

        flat_t = all(np.ptp(b[..., c] if channel_axis is not None else b) == 0
                     for c in range(b.shape[-1] if channel_axis is not None else 1))
        if flat_t and method in ("zncc", "ccoeff"):
            raise InputError(f"template: is flat (constant), so {method} is undefined at every position; "
                             "use a template with some contrast, or --method sqdiff")
        raise InputError(f"image: every window is flat (or masked out), so {method} is undefined everywhere")
    if map_path:
        save_map(map_path, res.scores.scores, res.method)
    if boxes_path:
        draw_boxes(boxes_path, a, res.matches, res.template_shape)
    if as_json:
        d = res.to_dict()
        d["scene_shape"] = list(a.shape)
        d["algorithm"] = res.scores.algorithm
        if map_path:
            d["map"] = map_path
        if boxes_path:
            d["boxes"] = boxes_path
        echo_json(d)
        return
    rows = [(k, m.top_left, m.center, m.score, m.offset) for k, m in enumerate(res.matches)]
    print_table(
        f"{res.method} matches of {template} in {scene} ({res.scores.algorithm})",
        rows,
        columns=("rank", "top-left (y, x)", "centre (y, x)", "score", "subpixel offset"),
    )
    if not rows:
        side = "at most" if method.startswith("sqdiff") else "at least"
        click.echo(f"no match scores {side} --threshold {threshold:g}" if threshold is not None else "no match found")
    if map_path:
        echo_written("map", map_path, as_json)
    if boxes_path:
        echo_written("boxes", boxes_path, as_json)
