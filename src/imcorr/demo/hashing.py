"""Demo section: perceptual hashes (imagehash-identical) and keypoint similarity."""

from __future__ import annotations

import numpy as np


def run(ctx) -> None:
    import imcorr

    ref = np.clip(np.rint(ctx.reference), 0, 255).astype(np.uint8)
    mov = np.clip(np.rint(ctx.moving), 0, 255).astype(np.uint8)
    flipped = np.ascontiguousarray(np.rot90(ref)[:, ::-1])
    inv = imcorr.phash(ref, invariant=True)
    rows = []
    for method in ("phash", "ahash", "dhash", "whash"):
        try:
            h = imcorr.hash_image(ref, method)
        except imcorr.MissingDependencyError as exc:  # whash needs the `hashing` extra
            rows.append((method, f"skipped: {exc}", None, None))
            continue
        rows.append((method, str(h), h - imcorr.hash_image(mov, method), h - imcorr.hash_image(flipped, method)))
    ctx.table(
        "perceptual hashes of the reference (Hamming distance to moving / to a rotated+flipped copy)",
        rows,
        columns=("method", "hex", "moving", "rotated+flipped"),
    )
    d, name = inv.closest_variant(imcorr.phash(flipped))
    kp_rows = [("invariant pHash distance to the rotated+flipped copy", d), ("matching variant", name)]
    try:
        crop = np.ascontiguousarray(np.rot90(ref[64:448, 64:448]))
        same = imcorr.keypoint_similarity(ref, crop)
        from imcorr.demo import sample

        other = imcorr.keypoint_similarity(ref, sample("coins.png"))
        kp_rows += [
            ("keypoints: reference vs rotated crop (score, inliers)", (same.score, same.n_inliers)),
            ("keypoints: reference vs unrelated coins image (score)", other.score),
        ]
    except imcorr.MissingDependencyError as exc:
        kp_rows.append(("keypoint similarity", f"skipped: {exc}"))
    ctx.table("invariant hash and keypoint similarity", kp_rows)
