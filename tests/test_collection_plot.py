"""The clustered similarity-matrix heatmap."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import imcorr
from imcorr.cli import main

skdata = pytest.importorskip("skimage.data")
pytest.importorskip("matplotlib")


def test_cluster_order_puts_groups_together():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 0, 2, 1, 2, 0, 1, 2])
    v = np.where(labels[:, None] == labels[None, :], 0.9, 0.1) + rng.normal(0, 0.01, (9, 9))
    v = (v + v.T) / 2
    np.fill_diagonal(v, 1)
    order = imcorr.cluster_order(v)
    assert sorted(order.tolist()) == list(range(9))
    runs = labels[order]
    assert sum(runs[1:] != runs[:-1]) == 2  # three contiguous groups


def test_heatmap_png_and_cli(tmp_path):
    imgs = [skdata.camera(), skdata.camera()[::2, ::2], skdata.moon(), skdata.coins()]
    m = imcorr.similarity_matrix(imgs, metric="phash")
    out = imcorr.plot_similarity_matrix(m, tmp_path / "h.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 100
    with pytest.raises(imcorr.InputError, match="SimilarityMatrix"):
        imcorr.plot_similarity_matrix(m.values, tmp_path / "x.png")
    d = tmp_path / "d"
    d.mkdir()
    for i, a in enumerate(imgs):
        Image.fromarray(a).save(d / f"{i}.png")
    assert main(["matrix", str(d), "--heatmap", str(tmp_path / "cli.png")]) == 0
    assert (tmp_path / "cli.png").stat().st_size > 1000
