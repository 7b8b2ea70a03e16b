"""``imcorr dic`` command line."""

from __future__ import annotations

import json

import numpy as np
from scipy import ndimage

from imcorr import save
from imcorr.cli import main
from imcorr.dic import DisplacementField


def _pair(tmp_path):
    rng = np.random.default_rng(1)
    ref = ndimage.gaussian_filter(rng.random((96, 96)), 1.5).astype(np.float32)
    dfm = ndimage.shift(ref, (1.25, -0.5), order=3, mode="nearest").astype(np.float32)
    a, b = tmp_path / "ref.tif", tmp_path / "def.tif"
    save(a, ref)
    save(b, dfm)
    return str(a), str(b)


def test_cli_json_csv_and_strain(tmp_path, capsys):
    a, b = _pair(tmp_path)
    csv = tmp_path / "out.csv"
    rc = main(["dic", a, b, "--window", "32", "--step", "16", "--search", "4", "--strain", "--csv", str(csv),
               "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["median_dy"] - 1.25) < 0.05 and abs(out["median_dx"] + 0.5) < 0.05
    assert out["strain"]["kind"] == "green-lagrange"
    assert out["written"] == [str(csv)]
    f = DisplacementField.load(csv)
    assert f.grid_shape == tuple(out["grid_shape"])


def test_cli_errors_name_the_option(tmp_path, capsys):
    a, b = _pair(tmp_path)
    assert main(["dic", a, b, "--step", "0"]) == 1
    assert "step" in capsys.readouterr().err
    assert main(["dic", a, b, "--passes", "64,x"]) != 0
    assert "--passes" in capsys.readouterr().err
    mask = tmp_path / "roi.png"
    save(mask, np.ones((10, 10), np.uint8) * 255)
    assert main(["dic", a, b, "--roi", str(mask)]) != 0
    assert "--roi" in capsys.readouterr().err


def test_cli_plot_and_series(tmp_path, capsys):
    a, b = _pair(tmp_path)
    png = tmp_path / "f.png"
    assert main(["dic", a, b, "--search", "4", "--plot", str(png), "--plot-kind", "exx"]) == 0
    assert png.stat().st_size > 1000 and str(png) in capsys.readouterr().out
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(2)
    base = ndimage.gaussian_filter(rng.random((96, 96)), 1.5).astype(np.float32)
    for k in range(3):
        save(frames / f"f{k}.tif", ndimage.shift(base, (0.0, 1.5 * k), order=3, mode="nearest").astype(np.float32))
    rc = main(["dic", "--series", str(frames / "*.tif"), "--series-reference", "previous", "--search", "4",
               "--step", "32", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert np.allclose([f["median_dx"] for f in out["frames"]], [1.5, 3.0], atol=0.1)
    save(frames / "f3.tif", np.zeros((50, 50), np.float32))
    assert main(["dic", "--series", str(frames / "*.tif"), "--search", "4"]) == 1
    assert "f3.tif" in capsys.readouterr().err


def test_demo_dic_section_finds_the_known_shift(tmp_path):
    from imcorr.demo import dic as dic_section
    from imcorr.demo import make_context

    ctx = make_context(tmp_path)
    dic_section.run(ctx)
    import imcorr

    f = imcorr.displacement_field(ctx.reference, ctx.moving, window=32, step=32, search=8, subpixel="icgn")
    err = np.hypot(f.dy - ctx.true_shift[0], f.dx - ctx.true_shift[1])[f.valid]
    assert np.median(err) < 0.1  # the Fourier-shifted camera image: exact ground truth
