"""``imcorr coloc``: two files or one multichannel TIFF, labels, CSV, JSON, one-line errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tifffile

from _coloc_data import blob_pair
from imcorr.cli import main
from imcorr.coloc import colocalization


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("coloc")
    a, b, _ = blob_pair(shape=(128, 128), n_objects=20, fraction=0.5, seed=0)
    tifffile.imwrite(d / "c1.tif", a)
    tifffile.imwrite(d / "c2.tif", b)
    tifffile.imwrite(d / "both.tif", np.stack([a, b]), imagej=True, metadata={"axes": "CYX"})
    lab = np.zeros(a.shape, np.uint8)
    lab[:, :64], lab[:, 64:] = 1, 2
    tifffile.imwrite(d / "lab.tif", lab)
    return d, a, b, lab


def run(capsys, *args):
    code = main([str(v) for v in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_matches_the_api(capsys, files):
    d, a, b, _ = files
    code, out, _ = run(capsys, "coloc", d / "c1.tif", d / "c2.tif", "--json", "--randomizations", "5", "--seed", "1")
    assert code == 0
    got = json.loads(out)
    want = colocalization(a, b, randomizations=5, seed=1)
    assert got["tm1"] == pytest.approx(want.tm1) and got["pvalue"] == pytest.approx(want.pvalue)


def test_multichannel_file_and_labels_csv(capsys, files, tmp_path):
    d, a, b, lab = files
    out_csv = tmp_path / "rows.csv"
    code, out, err = run(capsys, "coloc", d / "both.tif", "--channels", "0,1", "--labels", d / "lab.tif",
                         "--threshold", "otsu", "--csv", out_csv)
    assert code == 0 and str(out_csv) in out + err
    rows = list(csv.DictReader(open(out_csv)))
    want = colocalization(a, b, labels=lab, threshold="otsu").to_rows()
    assert [int(r["label"]) for r in rows] == [1, 2]
    for r, w in zip(rows, want):
        assert float(r["Manders' tM1 (Above autothreshold of Ch2)"]) == pytest.approx(w["tm1"])


def test_plot_option(capsys, files, tmp_path):
    d, *_ = files
    png = tmp_path / "fluorogram.png"
    code, out, _ = run(capsys, "coloc", d / "c1.tif", d / "c2.tif", "--plot", png)
    assert code == 0 and png.stat().st_size > 1000 and str(png) in out


def test_errors_are_one_line(capsys, files):
    d, *_ = files
    code, _, err = run(capsys, "coloc", d / "c1.tif", d / "c2.tif", "--threshold", "1,2,3")
    assert code == 2 and err.startswith("imcorr: error: --threshold")  # a value the library refuses: usage error
    code, _, err = run(capsys, "coloc", d / "both.tif", "--channels", "0,7")
    assert code == 2 and "--channels" in err
    code, _, err = run(capsys, "coloc", d / "c1.tif")
    assert code == 2 and "CH2" in err
    tifffile.imwrite(d / "small.tif", np.ones((10, 10), np.uint8))
    code, _, err = run(capsys, "coloc", d / "c1.tif", d / "c2.tif", "--labels", d / "small.tif")
    assert code == 2 and "--labels" in err and "small.tif" in err
