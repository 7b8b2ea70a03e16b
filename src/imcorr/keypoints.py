"""Keypoint similarity: local features, Lowe's ratio test and a RANSAC homography.

:func:`keypoint_similarity` answers "does ``b`` show (part of) the same scene as ``a``,
possibly rotated, scaled or in perspective?" It detects ORB or SIFT keypoints in both
images, matches their descriptors with a brute-force matcher, keeps matches that pass
Lowe's ratio test, fits a homography with RANSAC and counts its inliers. The score is

``score = n_inliers / min(n_keypoints_a, n_keypoints_b)``, in [0, 1],

the fraction of the keypoints of the image with fewer keypoints that map consistently
onto the other image. Unrelated images keep only a handful of chance inliers (the
homography needs 4 matches, RANSAC always explains some), so their score stays near 0.

OpenCV is an optional dependency: ``pip install 'imcorr[opencv]'``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, channel_last, check_finite
from imcorr.errors import InputError, MissingDependencyError
from imcorr.io import to_gray

__all__ = ["KeypointResult", "keypoint_similarity"]

_DETECTORS = ("orb", "sift")


@dataclasses.dataclass(frozen=True)
class KeypointResult(Result):
    """Result of :func:`keypoint_similarity`.

    Attributes
    ----------
    score : float
        ``n_inliers / min(n_keypoints_a, n_keypoints_b)`` in [0, 1] (higher = more
        similar); NaN when an image has no keypoints (see ``reason``).
    n_keypoints_a, n_keypoints_b : int
        Keypoints detected in each image.
    n_matches : int
        Matches that passed Lowe's ratio test.
    n_inliers : int
        Matches consistent with the RANSAC homography (0 with fewer than 4 matches).
    match_ratio : float
        ``n_matches / min(n_keypoints_a, n_keypoints_b)`` (before RANSAC).
    homography : ndarray (3, 3) or None
        Maps pixel coordinates ``(x, y, 1)`` of ``a`` to ``b`` (OpenCV convention:
        x = column, y = row).
    detector : str
    ratio : float
        The ratio-test threshold used.
    reason : str or None
        Why the score is NaN or 0, else None.
    matches_image : ndarray or None
        With ``draw=True``: an RGB uint8 image of both inputs side by side with the
        inlier matches drawn (not in ``to_dict``).
    """

    score: float
    n_keypoints_a: int
    n_keypoints_b: int
    n_matches: int
    n_inliers: int
    match_ratio: float
    homography: np.ndarray | None
    detector: str
    ratio: float
    reason: str | None = None
    matches_image: np.ndarray | None = no_json()


def _cv2():
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependencyError(
            "keypoint_similarity needs OpenCV; install it with: pip install 'imcorr[opencv]'"
        ) from exc
    return cv2


def _to_u8(x, name: str, channel_axis: int | None) -> np.ndarray:
    """2-D uint8 gray: colour -> luma, uint8 kept, other dtypes min-max scaled to 0..255."""
    arr = as_image(x, name)
    if channel_axis is not None:
        arr = channel_last(arr, channel_axis, name)
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise InputError(f"{name}: with channel_axis, expected (H, W, 3|4) after moving channels, got {arr.shape}")

        arr = to_gray(arr, -1)
    if arr.ndim != 2:
        raise InputError(
            f"{name}: keypoints need a 2-D image, got shape {arr.shape}; pass channel_axis for colour images"
        )
    if min(arr.shape) < 16:
        raise InputError(f"{name}: image {arr.shape} is too small for keypoint detection (need >= 16 px a side)")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    check_finite(arr, name, "replace NaN/Inf before detecting keypoints")
    a64 = arr.astype(np.float64)
    lo, hi = float(a64.min()), float(a64.max())
    if hi == lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return np.rint((a64 - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def keypoint_similarity(
    a,
    b,
    *,
    detector: str = "orb",
    ratio: float = 0.75,
    draw: bool = False,
    max_features: int = 2000,
    ransac_threshold: float = 5.0,
    channel_axis: int | None = None,
) -> KeypointResult:
    """How much of ``b`` is a (rotated, scaled, perspective) view of ``a``?

    Parameters
    ----------
    a, b : ndarray
        2-D images (or colour with ``channel_axis``); shapes may differ. uint8 is used as
        is; other dtypes are min-max scaled to 0..255 per image.
    detector : {'orb', 'sift'}
        ORB (binary descriptors, Hamming distance; fast) or SIFT (float descriptors,
        L2 distance; more robust to scale).
    ratio : float
        Lowe's ratio test: keep a match if its distance is below ``ratio`` times the
        distance of the second-best candidate (0 < ratio <= 1).
    draw : bool
        Also return ``matches_image`` with the inlier matches drawn.
    max_features : int
        Maximum number of keypoints per image.
    ransac_threshold : float
        RANSAC reprojection threshold in pixels.
    channel_axis : int, optional
        Colour axis; colour images are converted to gray (ITU-R 601-2 luma).

    Returns
    -------
    KeypointResult
        ``score`` in [0, 1] with the keypoint, match and inlier counts.

    Raises
    ------
    MissingDependencyError
        OpenCV is not installed (``pip install 'imcorr[opencv]'``).
    InputError
        Unknown detector, ratio outside (0, 1], images that are not 2-D or too small.

    References
    ----------
    .. [1] D. G. Lowe, "Distinctive Image Features from Scale-Invariant Keypoints",
           IJCV 60(2), 91-110, 2004. doi:10.1023/B:VISI.0000029664.99615.94
    .. [2] E. Rublee, V. Rabaud, K. Konolige, G. Bradski, "ORB: An efficient
           alternative to SIFT or SURF", ICCV 2011. doi:10.1109/ICCV.2011.6126544
    .. [3] M. A. Fischler, R. C. Bolles, "Random Sample Consensus", Commun. ACM 24(6),
           381-395, 1981. doi:10.1145/358669.358692

    Examples
    --------
    >>> import imcorr
    >>> from skimage import data
    >>> res = imcorr.keypoint_similarity(data.camera(), data.camera())  # needs OpenCV (the opencv extra)
    >>> res.score, res.n_inliers == res.n_matches  # an image against itself: every match is an inlier
    (1.0, True)
    """
    if detector not in _DETECTORS:
        raise InputError(f"detector: unknown {detector!r}; choose 'orb' or 'sift'")
    if not (isinstance(ratio, (int, float)) and 0.0 < float(ratio) <= 1.0):
        raise InputError(f"ratio: must be in (0, 1], got {ratio!r}; Lowe recommends 0.7-0.8")
    if not (isinstance(max_features, (int, np.integer)) and max_features >= 8):
        raise InputError(f"max_features: must be an integer >= 8, got {max_features!r}")
    if not (ransac_threshold > 0):
        raise InputError(f"ransac_threshold: must be > 0 pixels, got {ransac_threshold!r}")
    cv2 = _cv2()
    ga = _to_u8(a, "a", channel_axis)
    gb = _to_u8(b, "b", channel_axis)
    if detector == "orb":
        det = cv2.ORB_create(nfeatures=int(max_features))
        norm = cv2.NORM_HAMMING
    else:
        det = cv2.SIFT_create(nfeatures=int(max_features))
        norm = cv2.NORM_L2
    kpa, da = det.detectAndCompute(ga, None)
    kpb, db = det.detectAndCompute(gb, None)
    na, nb = len(kpa), len(kpb)

    def result(score, n_matches, n_inliers, H, reason, image=None):
        denom = min(na, nb)
        mr = n_matches / denom if denom else math.nan
        return KeypointResult(
            float(score), na, nb, int(n_matches), int(n_inliers), float(mr), H, detector, float(ratio), reason, image
        )

    if na == 0 or nb == 0 or da is None or db is None:
        which = "a" if (na == 0 or da is None) else "b"
        return result(math.nan, 0, 0, None, f"no keypoints detected in {which} (flat or tiny image)")
    good = []
    if na >= 2 and nb >= 2:
        for pair in cv2.BFMatcher(norm).knnMatch(da, db, k=2):
            if len(pair) == 2 and pair[0].distance < ratio * pair[1].distance:
                good.append(pair[0])
    H = None
    inlier_matches = []
    if len(good) >= 4:
        src = np.float32([kpa[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
        dst = np.float32([kpb[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
        H, mask = cv2.findHomography(src, dst, cv2.RANSAC, float(ransac_threshold))
        if H is not None and mask is not None:
            inlier_matches = [m for m, keep in zip(good, mask.ravel()) if keep]
        else:
            H = None
    n_in = len(inlier_matches)
    reason = None if n_in else ("fewer than 4 matches passed the ratio test" if len(good) < 4 else "no homography")
    image = None
    if draw:
        flags = cv2.DrawMatchesFlags_NOT_DRAW_SINGLE_POINTS
        canvas = cv2.drawMatches(ga, kpa, gb, kpb, inlier_matches, None, flags=flags)
        image = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
    return result(n_in / min(na, nb), len(good), n_in, H, reason, image)
