"""keypoint_similarity: a rotated/scaled crop scores high, unrelated images low; errors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from skimage import data

import imcorr
from imcorr.errors import InputError, MissingDependencyError

cv2 = pytest.importorskip("cv2")

ANGLE, SCALE = 30.0, 0.8


@pytest.fixture(scope="module")
def scene():
    """camera, and a 300-px crop of it rotated by 30 degrees and scaled by 0.8 (known affine map)."""
    cam = data.camera()
    y0, x0 = 100, 120
    crop = cam[y0 : y0 + 300, x0 : x0 + 300]
    M = cv2.getRotationMatrix2D((150.0, 150.0), ANGLE, SCALE)  # maps crop (x, y) -> moved (x, y)
    moved = cv2.warpAffine(crop, M, (300, 300))
    # ground truth a -> b: translate camera coordinates into the crop, then apply M
    T = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    truth = np.vstack([M, [0.0, 0.0, 1.0]]) @ T
    return cam, moved, truth


@pytest.mark.parametrize("detector", ["orb", "sift"])
def test_rotated_scaled_crop_scores_high_and_unrelated_low(scene, detector):
    cam, moved, truth = scene
    same = imcorr.keypoint_similarity(cam, moved, detector=detector)
    assert same.score > 0.3 and same.n_inliers >= 50 and same.reason is None
    assert 0 <= same.score <= 1 and same.n_inliers <= same.n_matches <= min(same.n_keypoints_a, same.n_keypoints_b)
    # the fitted homography is the known similarity transform (checked on crop points)
    pts = np.array([[150.0, 200.0, 1.0], [300.0, 250.0, 1.0], [220.0, 330.0, 1.0]]).T  # camera (x, y, 1)
    est = same.homography @ pts
    est = est[:2] / est[2]
    np.testing.assert_allclose(est, (truth @ pts)[:2], atol=2.0)
    for other in (data.coffee()[:, :, 1], data.moon(), data.coins()):
        low = imcorr.keypoint_similarity(cam, other, detector=detector)
        assert low.score < 0.05 and low.score < same.score / 8, other.shape


def test_draw_and_json(scene):
    cam, moved, _ = scene
    res = imcorr.keypoint_similarity(cam, moved, draw=True)
    assert res.matches_image.shape == (512, 512 + 300, 3) and res.matches_image.dtype == np.uint8
    d = json.loads(json.dumps(res.to_dict()))
    assert "matches_image" not in d and len(d["homography"]) == 3 and d["detector"] == "orb"
    assert imcorr.keypoint_similarity(cam, moved).matches_image is None


def test_colour_and_float_input(scene):
    astro = data.astronaut()
    res = imcorr.keypoint_similarity(astro, astro[50:450, 60:460], channel_axis=-1)
    assert res.score > 0.5
    cam, moved, _ = scene
    f = imcorr.keypoint_similarity(cam / 255.0, moved.astype(np.float32) / 255.0)
    assert f.score > 0.3


def test_undefined_and_weak_cases():
    cam = data.camera()
    flat = np.full((128, 128), 7, np.uint8)
    r = imcorr.keypoint_similarity(cam, flat)
    assert np.isnan(r.score) and "no keypoints" in r.reason and r.n_keypoints_b == 0
    assert json.loads(json.dumps(r.to_dict()))["score"] is None


def test_bad_input():
    cam = data.camera()
    with pytest.raises(InputError, match="detector"):
        imcorr.keypoint_similarity(cam, cam, detector="surf")
    with pytest.raises(InputError, match="ratio"):
        imcorr.keypoint_similarity(cam, cam, ratio=1.5)
    with pytest.raises(InputError, match="2-D"):
        imcorr.keypoint_similarity(data.astronaut(), cam)
    with pytest.raises(InputError, match="too small"):
        imcorr.keypoint_similarity(cam, cam[:8, :8])


def test_missing_opencv_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    cam = data.camera()
    with pytest.raises(MissingDependencyError, match=r"imcorr\[opencv\]"):
        imcorr.keypoint_similarity(cam, cam)
    with pytest.raises(ImportError):  # also an ImportError for callers that catch that
        imcorr.keypoint_similarity(cam, cam)
