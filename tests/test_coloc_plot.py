"""fluorogram() and ccf_plot(): what is drawn is what the result says."""

from __future__ import annotations

import numpy as np
import pytest

from _coloc_data import blob_pair
from imcorr.coloc import colocalization, van_steensel_ccf
from imcorr.plot import ccf_plot, fluorogram

pytest.importorskip("matplotlib")


def test_fluorogram_draws_regression_and_thresholds(tmp_path):
    a, b, _ = blob_pair(shape=(96, 96), n_objects=12, seed=0)
    res = colocalization(a, b)
    out = tmp_path / "f.png"
    fig = fluorogram(a, b, res, path=out)
    assert out.stat().st_size > 1000
    ax = fig.axes[0]
    reg, v, h = ax.lines
    xs, ys = reg.get_data()
    np.testing.assert_allclose(ys, res.slope * np.asarray(xs) + res.intercept)
    assert v.get_xdata()[0] == res.threshold1 and h.get_ydata()[0] == res.threshold2
    # the histogram counts every pixel once
    assert ax.images[0].get_array().sum() == a.size


def test_ccf_plot(tmp_path):
    a, b, _ = blob_pair(shape=(96, 96), n_objects=12, seed=0)
    ccf = van_steensel_ccf(a, np.roll(a, 2, axis=1), max_shift=5)
    fig = ccf_plot(ccf, path=tmp_path / "c.png")
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), ccf.r)
    assert (tmp_path / "c.png").exists()
