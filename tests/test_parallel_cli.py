"""``imcorr pairs`` and ``imcorr localmap --chunks``, through ``imcorr.cli.main([...])``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

import imcorr
from imcorr.cli import main

pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from skimage import data

    d = tmp_path_factory.mktemp("pcli")
    cam = data.camera()[100:164, 200:264]
    Image.fromarray(cam).save(d / "a.png")
    Image.fromarray(np.roll(cam, (1, -2), axis=(0, 1))).save(d / "b.png")
    (d / "pairs.csv").write_text("a,b\na.png,b.png\na.png,missing.png\n")
    big = data.camera()[:150, :170].astype(np.float32)
    np.save(d / "big_a.npy", big)
    np.save(d / "big_b.npy", big + np.random.default_rng(0).normal(0, 9, big.shape).astype(np.float32))
    return d


def test_pairs_command_writes_rows(files, capsys):
    out = files / "res.csv"
    assert main(["pairs", str(files / "pairs.csv"), "--metrics", "pearson", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_ok"], summary["n_error"], summary["out"]) == (1, 1, str(out))
    rows = sorted(csv.DictReader(open(out)), key=lambda r: int(r["index"]))
    a, b = imcorr.load(files / "a.png"), imcorr.load(files / "b.png")
    assert float(rows[0]["pearson"]) == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], abs=1e-12)
    assert rows[1]["status"] == "error" and "missing.png" in rows[1]["error"]
    assert main(["pairs", str(files / "pairs.csv"), "--metrics", "pearson", "-o", str(out), "--resume",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_skipped"] == 2


def test_pairs_command_errors_are_one_line(files, capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    assert main(["pairs", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("imcorr: error:") and "lacks column(s) a, b" in err and err.count("\n") == 1
    assert main(["pairs", str(files / "pairs.csv"), "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "tcp://127.0.0.1:1" in capsys.readouterr().err


def test_localmap_chunks_to_zarr(files, capsys, tmp_path):
    out = tmp_path / "map.zarr"
    assert main(["localmap", str(files / "big_a.npy"), str(files / "big_b.npy"), "--window", "11",
                 "--chunks", "64", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    ref = imcorr.local_correlation(np.load(files / "big_a.npy"), np.load(files / "big_b.npy"), window=11)
    stored = zarr.open_array(str(out), mode="r")[...]
    np.testing.assert_allclose(stored, ref.map, rtol=0, atol=1e-10)
    assert summary["n_valid"] == ref.n_valid and summary["mean"] == pytest.approx(ref.mean, abs=1e-10)
    assert main(["localmap", str(files / "big_a.npy"), str(files / "big_b.npy"), "--chunks", "64",
                 "-o", str(tmp_path / "m.npy")]) == 2
    assert "Zarr" in capsys.readouterr().err
