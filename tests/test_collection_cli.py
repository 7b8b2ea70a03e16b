"""CLI: imcorr index / query / dupes / blocks / matrix."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from imcorr.cli import main

skdata = pytest.importorskip("skimage.data")
imagehash = pytest.importorskip("imagehash")


@pytest.fixture
def imgs(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(skdata.camera()).save(d / "cam.png")
    Image.fromarray(skdata.camera()[::2, ::2]).save(d / "cam_small.png")
    Image.fromarray(skdata.moon()).save(d / "moon.png")
    (d / "bad.jpg").write_bytes(b"not a jpeg")
    return d


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_index_query_dupes(imgs, tmp_path, capsys):
    db = str(tmp_path / "x.sqlite")
    assert main(["index", str(imgs), "--db", db, "--json"]) == 0
    rep = _json(capsys)
    assert rep["added"] == 3 and rep["failed"] == 1 and rep["failures"][0]["kind"] == "not-image"
    assert main(["query", str(imgs / "cam.png"), "--db", db, "-k", "2", "--json"]) == 0
    q = _json(capsys)
    assert q["hash"] == str(imagehash.phash(Image.open(imgs / "cam.png")))
    assert [m["path"].rsplit("/", 1)[1] for m in q["matches"]] == ["cam.png", "cam_small.png"]
    out_csv = tmp_path / "d.csv"
    assert main(["dupes", "--db", db, "--max-distance", "6", "--csv", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "keep" in text and "cam_small.png" in text and str(out_csv) in text
    rows = list(csv.DictReader(open(out_csv)))
    assert {r["path"].rsplit("/", 1)[1]: r["keep"] for r in rows} == {"cam.png": "True", "cam_small.png": "False"}


def test_index_on_a_scheduler_equals_local(imgs, tmp_path, capsys):
    """`imcorr index --scheduler` (the batch engine's hash job) stores what the local path stores, and the
    stored phash is imagehash's."""
    pytest.importorskip("dask")
    import sqlite3

    stored = []
    for extra in ([], ["--scheduler", "synchronous"]):
        db = str(tmp_path / f"x{len(stored)}.sqlite")
        assert main(["index", str(imgs), "--db", db, "--json", *extra]) == 0
        rep = _json(capsys)
        assert rep["added"] == 3 and rep["failed"] == 1
        with sqlite3.connect(db) as con:
            stored.append(sorted(con.execute(
                "SELECT f.path, f.digest, f.width, f.height, h.method, h.variant, h.h0 "
                "FROM files f JOIN hashes h ON h.file_id = f.id").fetchall()))
    assert stored[0] == stored[1] and len(stored[0]) == 6  # 3 files x (phash, dhash)
    phash = {p.rsplit("/", 1)[1]: h0 for p, _, _, _, m, _, h0 in stored[1] if m == "phash"}
    for name, h0 in phash.items():
        assert f"{h0 & (2**64 - 1):016x}" == str(imagehash.phash(Image.open(imgs / name)))


def test_index_scheduler_unreachable_is_one_line(imgs, tmp_path, capsys):
    rc = main(["index", str(imgs), "--db", str(tmp_path / "u.sqlite"), "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert rc != 0 and "tcp://127.0.0.1:1" in err and "Traceback" not in err


def test_dupes_on_directory_and_matrix(imgs, tmp_path, capsys):
    db = str(tmp_path / "y.sqlite")
    assert main(["dupes", str(imgs), "--db", db, "--json"]) == 0
    g = _json(capsys)
    assert len(g["groups"]) == 1 and g["groups"][0]["keep"].endswith("cam.png")
    out = tmp_path / "m.csv"
    assert main(["matrix", str(imgs), "--metric", "phash", "--csv", str(out)]) == 0
    rows = list(csv.reader(open(out)))
    assert rows[0] == ["name", "cam.png", "cam_small.png", "moon.png"]
    ref = 1 - (imagehash.phash(Image.open(imgs / "cam.png")) - imagehash.phash(Image.open(imgs / "moon.png"))) / 64
    assert float(rows[1][3]) == pytest.approx(ref, abs=1e-6)


def test_blocks_cli(tmp_path, capsys):
    v = np.random.default_rng(0).normal(size=(60, 32, 32))
    v[30:, 16:, 16:] = v[:30, :16, :16]
    np.save(tmp_path / "v.npy", v)
    assert main(["blocks", str(tmp_path / "v.npy"), "--json"]) == 0
    res = _json(capsys)
    assert res["n_pairs"] == 1 and res["pairs"][0]["dz"] == 30 and res["pairs"][0]["zncc"] == pytest.approx(1.0)


def test_cli_errors(imgs, tmp_path, capsys):
    (tmp_path / "junk.sqlite").write_text("junk")
    assert main(["query", str(imgs / "cam.png"), "--db", str(tmp_path / "junk.sqlite")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("imcorr: error:") and "migrate" in err
    assert main(["query", str(imgs / "cam.png"), "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "--db" in capsys.readouterr().err
    assert main(["matrix", str(imgs / "cam.png")]) == 2
    assert main(["blocks", str(imgs / "cam.png"), "--block", "a,b"]) == 2
    assert "--block" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["index", str(tmp_path / "empty"), "--db", str(tmp_path / "e.sqlite")]) == 0
    assert "no image files found" in capsys.readouterr().out
