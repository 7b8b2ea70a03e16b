"""``imcorr match SCENE TEMPLATE``: where does TEMPLATE occur in SCENE?"""

from __future__ import annotations

from pathlib import Path

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option, load_mask, print_table

METHODS = ("zncc", "ncc", "ccorr", "ccoeff", "sqdiff", "sqdiff_normed")


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
@click.option("--method", type=click.Choice(METHODS), default="zncc", show_default=True,
              help="Score (OpenCV's TM_* definitions; sqdiff*: lower is better).")
@click.option("--threshold", type=float, default=None,
              help="Keep matches scoring at least this (at most, for sqdiff*), e.g. 0.8 for zncc.")
@click.option("--max", "max_matches", type=int, default=1, show_default=True, help="Maximum number of matches.")
@click.option("--min-distance", type=int, default=None,
              help="Minimum spacing of matches in pixels (default: half the template).")
@click.option("--gray", is_flag=True, help="Convert colour images to gray (else channels are summed, like OpenCV).")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Template mask image: non-zero pixels are used.")
@click.option("--precision", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--map", "map_path", type=click.Path(dir_okay=False), default=None,
              help="Write the score map (.tif/.npy keep floats; PNG is scaled to 8 bits).")
@click.option("--boxes", "boxes_path", type=click.Path(dir_okay=False), default=None,
              help="Write the scene with the matches drawn as rectangles (PNG).")
@json_option
def match(scene, template, method, threshold, max_matches, min_distance, gray, mask_path, precision, map_path,
          boxes_path, as_json):
    """Find TEMPLATE in SCENE: position (top-left and centre, (y, x)), score, subpixel offset."""
    import imcorr
    from imcorr.io import read

    if max_matches < 1:
        raise click.UsageError("--max must be >= 1")
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
    mask = load_mask(mask_path)
    if mask is None and t.mask is not None:
        mask = t.mask
    res = imcorr.find_template(
        a, b, method=method, max_matches=max_matches, threshold=threshold, min_distance=min_distance,
        mask=mask, image_mask=s.mask, channel_axis=channel_axis, precision=precision,
    )
    if map_path:
        save_map(map_path, res.scores.scores, res.method)
    if boxes_path:
        draw_boxes(boxes_path, a, res.matches, res.template_shape)
    if as_json:
        d = res.to_dict()
        d["scene_shape"] = list(a.shape)
        d["algorithm"] = res.scores.algorithm
        echo_json(d)
        return
    rows = [(k, m.top_left, m.center, m.score, m.offset) for k, m in enumerate(res.matches)]
    print_table(
        f"{res.method} matches of {template} in {scene} ({res.scores.algorithm})",
        rows,
        columns=("rank", "top-left (y, x)", "centre (y, x)", "score", "subpixel offset"),
    )
    if not rows:
        click.echo("no match passes the threshold")
