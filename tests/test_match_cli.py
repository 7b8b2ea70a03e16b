"""CLI: imcorr match / imcorr localmap through imcorr.cli.main."""

import json

import numpy as np
import pytest
from skimage import data

from imcorr import load, save
from imcorr.cli import main


@pytest.fixture
def files(tmp_path):
    cam = data.camera()
    scene = cam.copy()
    tpl = cam[200:240, 250:300].copy()
    # plant a second copy of the template
    scene[400:440, 50:100] = tpl
    p = {"scene": tmp_path / "scene.png", "tpl": tmp_path / "tpl.png", "ast": tmp_path / "ast.png",
         "ast_t": tmp_path / "ast_t.png"}
    save(p["scene"], scene)
    save(p["tpl"], tpl)
    ast = data.astronaut()
    save(p["ast"], ast)
    save(p["ast_t"], ast[100:150, 200:260].copy())
    return p


def test_match_json_finds_both_copies(files, capsys, tmp_path):
    code = main(["match", str(files["scene"]), str(files["tpl"]), "--max", "10", "--threshold", "0.8", "--json",
                 "--map", str(tmp_path / "map.png"), "--boxes", str(tmp_path / "boxes.png")])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    tls = sorted(tuple(m["top_left"]) for m in d["matches"])
    assert tls == [(200, 250), (400, 50)]
    assert all(m["score"] > 0.99 for m in d["matches"])
    m = load(tmp_path / "map.png")
    assert m.shape == (512 - 40 + 1, 512 - 50 + 1) and m.dtype == np.uint8
    assert load(tmp_path / "boxes.png").shape == (512, 512, 3)


def test_match_table_colour_and_float_map(files, capsys, tmp_path):
    code = main(["match", str(files["ast"]), str(files["ast_t"]), "--map", str(tmp_path / "m.tif")])
    assert code == 0
    out = capsys.readouterr().out
    assert "(100, 200)" in out
    m = load(tmp_path / "m.tif")
    assert m.dtype == np.float32 and np.nanmax(m) == pytest.approx(1.0, abs=1e-5)


def test_match_sqdiff_method(files, capsys):
    assert main(["match", str(files["scene"]), str(files["tpl"]), "--method", "sqdiff", "--json",
                 "--precision", "float64"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["matches"][0]["score"] == 0.0


def test_match_errors(files, capsys):
    assert main(["match", str(files["tpl"]), str(files["scene"])]) == 1  # template larger than scene
    assert "larger" in capsys.readouterr().err
    assert main(["match", str(files["scene"]), str(files["ast_t"])]) == 2  # colour vs gray
    assert main(["match", str(files["scene"]), str(files["tpl"]), "--max", "0"]) == 2


def test_localmap_json_and_outputs(files, capsys, tmp_path):
    code = main(["localmap", str(files["scene"]), str(files["scene"]), "--window", "9", "-o",
                 str(tmp_path / "lm.tif"), "--png", str(tmp_path / "lm.png"), "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["window"] == [9, 9] and d["mean"] == pytest.approx(1.0, abs=1e-9)
    m = load(tmp_path / "lm.tif")
    assert m.shape == (512, 512)
    assert load(tmp_path / "lm.png").shape == (512, 512, 3)


def test_localmap_table_and_errors(files, capsys, tmp_path):
    a = data.camera().astype(np.float64)
    b = a + np.random.default_rng(0).normal(0, 20, a.shape)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    assert main(["localmap", str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]) == 0
    assert "local Pearson" in capsys.readouterr().out
    assert main(["localmap", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--window", "4"]) == 2  # usage
    assert "odd" in capsys.readouterr().err
    assert main(["localmap", str(files["scene"]), str(files["tpl"])]) == 1  # shape mismatch
    assert main(["localmap", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "-o", str(tmp_path / "x.png")]) == 2
