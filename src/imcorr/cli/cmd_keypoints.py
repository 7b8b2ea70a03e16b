"""``imcorr keypoints A B``: keypoint (ORB/SIFT + RANSAC) similarity of two images."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, echo_written, json_option, name_arguments, print_table


@app.command("keypoints")
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("--detector", type=click.Choice(("orb", "sift")), default="orb", show_default=True,
              help="ORB (binary, fast) or SIFT (more robust to scale).")
@click.option("--ratio", type=click.FloatRange(0, 1, min_open=True), default=0.75, show_default=True,
              help="Lowe's ratio test threshold.")
@click.option("--max-features", type=click.IntRange(min=8), default=2000, show_default=True,
              help="Keypoints per image at most.")
@click.option("--ransac-threshold", type=click.FloatRange(0, min_open=True), default=5.0, show_default=True,
              help="RANSAC reprojection threshold (pixels).")
@click.option("--draw", "draw_path", type=click.Path(dir_okay=False), default=None,
              help="Write both images side by side with the inlier matches drawn (PNG).")
@json_option
def keypoints(image_a, image_b, detector, ratio, max_features, ransac_threshold, draw_path, as_json):
    """How much of IMAGE_B is a (rotated, scaled, perspective) view of IMAGE_A? Needs OpenCV."""
    import imcorr
    from imcorr.io import load, save

    name_arguments({"a": image_a, "b": image_b}, {"detector": "--detector", "ransac_threshold": "--ransac-threshold"})
    a = load(image_a, gray=True)
    b = load(image_b, gray=True)
    res = imcorr.keypoint_similarity(a, b, detector=detector, ratio=ratio, draw=bool(draw_path),
                                     max_features=max_features, ransac_threshold=ransac_threshold)
    if draw_path:
        save(draw_path, res.matches_image)
    if as_json:
        d = res.to_dict()
        if draw_path:
            d["draw"] = draw_path
        echo_json(d)
        return
    rows = [("score", res.score), ("keypoints A", res.n_keypoints_a), ("keypoints B", res.n_keypoints_b),
            ("matches (ratio test)", res.n_matches), ("inliers (RANSAC)", res.n_inliers),
            ("match ratio", res.match_ratio)]
    if res.reason:
        rows.append(("note", res.reason))
    print_table(f"keypoint similarity ({detector}): inliers / min(keypoints)", rows)
    if draw_path:
        echo_written("draw", draw_path, as_json)
