"""imcorr.report: the self-contained HTML page (content, JSON, basic variant), bad input, and the CLI."""

from __future__ import annotations

import html
import json
import os
import re

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage, stats

import imcorr
from imcorr.cli import main
from imcorr.errors import InputError, OutputError, ShapeMismatchError

skimage_data = pytest.importorskip("skimage.data")

TRUE_SHIFT = (2.5, -4.0)


def make_pair():
    """Reference, and a copy shifted by TRUE_SHIFT with noise and a bright square (a visible defect)."""
    a = skimage_data.camera()[::2, ::2].astype(np.float64)
    b = ndimage.shift(a, TRUE_SHIFT, mode="reflect", order=3)
    b += np.random.default_rng(0).normal(0, 4, a.shape)
    b[40:80, 150:200] = 250.0
    return np.clip(a, 0, 255).astype(np.uint8), np.clip(b, 0, 255).astype(np.uint8)


def embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="imcorr-results">(.*?)</script>', page, re.S)
    assert m, "no embedded JSON"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def pair():
    return make_pair()


@pytest.fixture(scope="module")
def page(pair, tmp_path_factory):
    path = tmp_path_factory.mktemp("rep") / "r.html"
    res = imcorr.report(*pair, path=path, names=("cam.png", "moved.png"), title="T <1>", seed=7)
    return res, path.read_text(encoding="utf-8")


def test_page_is_self_contained(page):
    res, text = page
    assert res.bytes == len(text.encode())
    srcs = re.findall(r'\b(?:src|href)="([^"]*)"', text)
    assert srcs and all(s.startswith("data:") for s in srcs), [s[:40] for s in srcs if not s.startswith("data:")]
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert "default-src 'none'" in text  # the CSP forbids any fetch
    assert "<script src" not in text and "<link rel=\"stylesheet\"" not in text


def test_header_and_json(page, pair):
    res, text = page
    d = embedded(text)
    assert d == res.results
    assert d["title"] == "T <1>" and "<title>T &lt;1&gt;</title>" in text
    assert d["imcorr_version"] == imcorr.__version__ and d["seed"] == 7
    assert d["inputs"]["a"] == {"name": "cam.png", "shape": [256, 256], "dtype": "uint8"}
    for token in ("cam.png", "moved.png", "256 × 256", "uint8", imcorr.__version__, d["created"]):
        assert token in text


def test_summary_has_every_metric_r_and_shift(page, pair):
    res, text = page
    a, b = pair
    r = stats.pearsonr(a.ravel().astype(float), b.ravel().astype(float)).statistic
    assert res.results["summary"]["pearson_r"] == pytest.approx(r, abs=1e-12)
    assert re.search(r'<td id="summary-r">([^<]*)</td>', text).group(1) == f"{r:.4f}"
    shown = re.findall(r'<tr data-metric="([^"]+)">', text)
    assert shown == list(imcorr.COMPARE_METRICS)
    assert 'data-metric="ssim"><th>ssim</th><td>' in text and "higher = more similar" in text
    s = res.results["summary"]["shift"]
    assert (s["dy"], s["dx"]) == pytest.approx(TRUE_SHIFT, abs=0.15)
    cell = re.search(r'<td id="summary-shift">([^<]*)</td>', html.unescape(text)).group(1)
    assert cell.startswith(f"({s['dy']:.3f}, {s['dx']:.3f}) ± ")
    assert any("shifted by more than half a pixel" in w for w in res.warnings)


def test_every_section_and_the_viewer(page):
    _, text = page
    for name in imcorr.REPORT_SECTIONS:
        assert f'id="sec-{name}"' in text
    for mode in ("side", "swipe", "onion", "flicker"):
        assert f'data-mode="{mode}"' in text
    assert 'id="vw-swipe"' in text and 'id="vw-opacity"' in text and 'id="vw-zoom"' in text


def test_images_are_valid_pngs_of_the_declared_size(page):
    import base64
    import io

    _, text = page
    imgs = re.findall(r'<img src="data:image/png;base64,([^"]+)" width="(\d+)" height="(\d+)"', text)
    assert len(imgs) >= 10
    for b64, w, h in imgs:
        with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
            assert im.format == "PNG" and im.size == (int(w), int(h))


def test_sections_subset_and_basic_variant(pair, tmp_path):
    res = imcorr.report(*pair, path=tmp_path / "b.html", sections=["joint_histogram", "ssim"], basic=True)
    text = (tmp_path / "b.html").read_text()
    assert res.sections == ("joint_histogram", "ssim") and res.basic
    assert 'id="sec-joint_histogram"' in text and 'id="sec-histograms"' not in text
    assert "<script" not in text.lower() and "script-src" not in text and " on" + "click" not in text
    pre = re.search(r'<pre id="imcorr-results">(.*?)</pre>', text, re.S).group(1)
    assert json.loads(html.unescape(pre)) == res.results


def test_bad_input(pair, tmp_path):
    a, b = pair
    with pytest.raises(InputError, match=r"sections: unknown \['nope'\]"):
        imcorr.report(a, b, path=tmp_path / "x.html", sections=["inputs", "nope"])
    with pytest.raises(OutputError, match="does not exist"):
        imcorr.report(a, b, path=tmp_path / "missing" / "x.html")
    (tmp_path / "dir.html").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        imcorr.report(a, b, path=tmp_path / "dir.html")
    with pytest.raises(InputError, match=r"\.html"):
        imcorr.report(a, b, path=tmp_path / "x.pdf")
    with pytest.raises(ShapeMismatchError):
        imcorr.report(a, b[:-1], path=tmp_path / "x.html")
    with pytest.raises(InputError, match="2-D"):
        imcorr.report(np.zeros((5, 6, 7)), np.zeros((5, 6, 7)), path=tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_unwritable_file(pair, tmp_path):
    p = tmp_path / "ro.html"
    p.write_text("")
    p.chmod(0o444)
    with pytest.raises(OutputError, match="not writable"):
        imcorr.report(*pair, path=p)


def test_write_failure_is_an_output_error(pair, tmp_path, monkeypatch):
    from pathlib import Path

    def refuse(self, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        imcorr.report(*pair, path=tmp_path / "x.html", sections=["histograms"])


def test_large_images_are_downsampled_with_a_notice(tmp_path):
    rng = np.random.default_rng(1)
    a = ndimage.gaussian_filter(rng.normal(size=(300, 500)), 3)
    res = imcorr.report(a, a + 0.01 * rng.normal(size=a.shape), path=tmp_path / "l.html", max_side=128,
                        sections=["inputs", "ssim"], data_range=float(np.ptp(a)))
    text = (tmp_path / "l.html").read_text()
    w, h = re.search(r'id="vw-img-a"', text) and re.search(
        r'width="(\d+)" height="(\d+)" alt="reference" id="vw-img-a"', text).groups()
    assert (int(w), int(h)) == (125, 75)  # 500x300 block-averaged 4x
    assert "downsampled 4x" in text
    assert res.results["summary"]["ssim"] > 0.9


def test_rgb_pair(tmp_path):
    a = skimage_data.astronaut()[::4, ::4]
    b = np.roll(a, 3, axis=1)
    res = imcorr.report(a, b, path=tmp_path / "c.html", sections=["histograms"])
    assert res.results["parameters"]["channel_axis"] == -1
    assert res.results["summary"]["shift"]["dx"] == pytest.approx(3, abs=0.2)
    assert "a R" not in (tmp_path / "c.html").read_text()  # labels are reference/moving


def test_cli_report_json_equals_the_embedded_json(pair, tmp_path, capsys):
    a, b = pair
    pa, pb = tmp_path / "a.png", tmp_path / "b.png"
    imcorr.save(pa, a)
    imcorr.save(pb, b)
    out = tmp_path / "cli.html"
    assert main(["report", str(pa), str(pb), "-o", str(out), "--json", "--title", "cli"]) == 0
    cap = capsys.readouterr()
    printed = json.loads(cap.out)
    assert printed == embedded(out.read_text()) and printed["title"] == "cli"
    assert f"wrote {out}" in cap.err
    assert main(["report", str(pa), str(pb), "-o", str(tmp_path / "basic.html"), "--basic"]) == 0
    assert "<script" not in (tmp_path / "basic.html").read_text()
    assert main(["report", str(pa), str(pb), "-o", str(tmp_path / "no" / "x.html")]) == 1
    assert "-o/--output" in capsys.readouterr().err
    assert main(["report", str(pa), str(pb), "-o", str(out), "--sections", "inputs,bogus"]) == 2
    assert "--sections" in capsys.readouterr().err
    assert main(["report", str(pa), str(pb), "-o", str(out), "--coloc", "--sections", "inputs"]) == 0
    assert embedded(out.read_text())["colocalization"]["pearson"] is not None


@pytest.mark.parametrize("kind", ["joint", "surface", "overlay", "ssim", "localmap"])
def test_cli_plot(pair, tmp_path, capsys, kind):
    a, b = pair
    pa, pb = tmp_path / "a.png", tmp_path / "b.png"
    imcorr.save(pa, a)
    imcorr.save(pb, b)
    out = tmp_path / f"{kind}.png"
    assert main(["plot", kind, str(pa), str(pb), "-o", str(out), "--dpi", "50"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 100 and im.height > 100
    if kind == "joint":
        assert im.size == (250, 210)  # the 5.0 x 4.2 in figure at 50 dpi


def test_cli_plot_bad_output(pair, tmp_path, capsys):
    pa = tmp_path / "a.png"
    imcorr.save(pa, pair[0])
    assert main(["plot", "joint", str(pa), str(pa), "-o", str(tmp_path / "x.jpg")]) == 1
    assert "-o/--output" in capsys.readouterr().err


def test_unwritable_file_seen_by_access(pair, tmp_path, monkeypatch):
    p = tmp_path / "ro.html"
    p.write_text("")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(OutputError, match="not writable"):
        imcorr.report(*pair, path=p)


def test_report_compare_equals_imcorr_compare(page, pair):
    res, _ = page
    a, b = pair
    assert res.results["compare"] == imcorr.compare(a, b).to_dict()


def test_undefined_shift_is_reported_not_drawn(tmp_path):
    flat = np.zeros((64, 64))
    rng = np.random.default_rng(0)
    res = imcorr.report(flat, rng.random((64, 64)), path=tmp_path / "f.html", data_range=1.0,
                        sections=["overlay", "correlation_surface"])
    text = (tmp_path / "f.html").read_text()
    assert res.results["summary"]["pearson_r"] is None
    assert any(w.startswith("pearson is not reported") for w in res.warnings)
    assert 'id="summary-r">undefined<' in text


def test_coloc_section(pair, tmp_path):
    """coloc=True adds the fluorogram and Coloc 2's numbers; Pearson equals numpy's on the gray pair."""
    a, b = pair
    res = imcorr.report(a, b, path=tmp_path / "c.html", sections=["inputs"], coloc=True)
    text = (tmp_path / "c.html").read_text()
    assert res.sections == ("inputs", "colocalization")
    assert 'id="sec-colocalization"' in text and "fluorogram" in text
    col = embedded(text)["colocalization"]
    ga, gb = (np.asarray(x, np.float64) for x in (a, b))
    assert ga.ndim == 2  # the fixture pair is gray: the channels are the images themselves
    assert col["pearson"] == pytest.approx(np.corrcoef(ga.ravel(), gb.ravel())[0, 1], abs=1e-9)
    assert col == imcorr.colocalization(a, b).to_dict()


def test_imcorr_report_is_callable_whichever_was_imported_first(tmp_path):
    """`imcorr.report` names the subpackage and the function: both spellings call report()."""
    import subprocess
    import sys

    code = (
        "import imcorr.report, imcorr, numpy as np, sys\n"
        "a = np.random.default_rng(0).random((32, 32))\n"
        "r = imcorr.report(a, a, path=sys.argv[1], data_range=1.0, sections=['inputs'])\n"
        "print(r.sections)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.html")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "('inputs',)" and (tmp_path / "r.html").stat().st_size > 0
