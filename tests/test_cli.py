"""The ``imcorr`` command line, through ``imcorr.cli.main([...])``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

import imcorr
from imcorr.cli import app, main


def ref_r(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, float).ravel(), np.asarray(b, float).ravel())[0, 1])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from skimage import data

    d = tmp_path_factory.mktemp("cli")
    cam = data.camera()[::2, ::2]  # (256, 256)
    moved = np.roll(cam, (2, -3), axis=(0, 1))
    rgb = data.astronaut()[::4, ::4]  # (128, 128, 3)
    rgb2 = np.roll(rgb, 2, axis=1)
    paths = {
        "a": d / "a.png",
        "b": d / "b.png",
        "small": d / "small.png",
        "const": d / "const.png",
        "mask": d / "mask.png",
        "rgb": d / "rgb.png",
        "rgb2": d / "rgb2.png",
        "text": d / "text.png",
        "npy_c0": d / "c0.npy",
        "npy_c0b": d / "c0b.npy",
    }
    Image.fromarray(cam).save(paths["a"])
    Image.fromarray(moved).save(paths["b"])
    Image.fromarray(moved[:200, :180]).save(paths["small"])
    Image.fromarray(np.full(cam.shape, 9, np.uint8)).save(paths["const"])
    mask = np.zeros(cam.shape, np.uint8)
    mask[40:200, 30:220] = 255
    Image.fromarray(mask).save(paths["mask"])
    Image.fromarray(rgb).save(paths["rgb"])
    Image.fromarray(rgb2).save(paths["rgb2"])
    paths["text"].write_text("not an image")
    np.save(paths["npy_c0"], np.moveaxis(rgb, -1, 0).astype(np.float64))
    np.save(paths["npy_c0b"], np.moveaxis(rgb2, -1, 0).astype(np.float64))
    arrays = {"a": cam, "b": moved, "small": moved[:200, :180], "mask": mask > 0, "rgb": rgb, "rgb2": rgb2}
    return {k: str(v) for k, v in paths.items()}, arrays


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("imcorr: error: ")
    assert "Traceback" not in err


# ------------------------------------------------------------------------------ corr
def test_corr_table(capsys, files):
    p, arr = files
    code, out, err = run(capsys, "corr", p["a"], p["b"])
    assert code == 0, err
    r = ref_r(arr["a"], arr["b"])
    assert "pearson" in out and "iid" in out and "95% CI" in out
    assert f"{r:.6f}".rstrip("0") in out
    assert str(arr["a"].size) in out


def test_corr_json(capsys, files):
    p, arr = files
    code, out, err = run(capsys, "corr", p["a"], p["b"], "--json")
    assert code == 0, err
    d = json.loads(out)
    from scipy import stats

    sp = stats.pearsonr(arr["a"].ravel().astype(float), arr["b"].ravel().astype(float))
    assert d["method"] == "pearson" and d["n"] == arr["a"].size
    assert d["r"] == pytest.approx(sp.statistic, abs=1e-12)
    assert d["pvalue"] == pytest.approx(sp.pvalue, rel=1e-9, abs=1e-300)
    z, half = math.atanh(d["r"]), 1.959963984540054 / math.sqrt(d["n"] - 3)
    assert d["confidence_interval"]["low"] == pytest.approx(math.tanh(z - half), abs=1e-12)
    assert d["confidence_interval"]["high"] == pytest.approx(math.tanh(z + half), abs=1e-12)


def test_corr_json_level(capsys, files):
    p, _ = files
    code, out, _ = run(capsys, "corr", p["a"], p["b"], "--json", "--level", "0.5")
    d = json.loads(out)
    z, half = math.atanh(d["r"]), 0.6744897501960817 / math.sqrt(d["n"] - 3)
    assert code == 0 and d["confidence_interval"]["level"] == 0.5
    assert d["confidence_interval"]["low"] == pytest.approx(math.tanh(z - half), abs=1e-12)


def test_corr_json_nan_is_null(capsys, files):
    p, _ = files
    code, out, _ = run(capsys, "corr", p["const"], p["b"], "--json")
    assert code == 0
    assert "NaN" not in out
    d = json.loads(out)
    assert d["r"] is None and d["pvalue"] is None and d["reason"] == "zero variance in a"
    assert d["confidence_interval"]["low"] is None


def test_corr_table_nan_shows_reason(capsys, files):
    p, _ = files
    code, out, _ = run(capsys, "corr", p["a"], p["const"])
    assert code == 0 and "nan" in out and "zero variance in b" in out


def test_corr_mask(capsys, files):
    p, arr = files
    code, out, _ = run(capsys, "corr", p["a"], p["b"], "--mask", p["mask"], "--json")
    m = arr["mask"]
    d = json.loads(out)
    assert code == 0 and d["n"] == m.sum()
    assert d["r"] == pytest.approx(ref_r(arr["a"][m], arr["b"][m]), abs=1e-12)


def test_corr_crop(capsys, files):
    p, arr = files
    code, out, _ = run(capsys, "corr", p["a"], p["small"], "--crop", "--json")
    d = json.loads(out)
    assert code == 0 and d["n"] == 200 * 180
    assert d["r"] == pytest.approx(ref_r(arr["a"][:200, :180], arr["small"]), abs=1e-12)


def test_corr_crop_with_mask_of_the_first_image(capsys, files):
    p, arr = files
    code, out, err = run(capsys, "corr", p["a"], p["small"], "--crop", "--mask", p["mask"], "--json")
    assert code == 0, err
    m = arr["mask"][:200, :180]
    d = json.loads(out)
    assert d["n"] == m.sum()
    assert d["r"] == pytest.approx(ref_r(arr["a"][:200, :180][m], arr["small"][m]), abs=1e-12)


def test_corr_resize(capsys, files):
    from skimage.transform import resize

    p, arr = files
    code, out, _ = run(capsys, "corr", p["a"], p["small"], "--resize", "--json")
    d = json.loads(out)
    ref_b = np.rint(resize(arr["small"].astype(float), arr["a"].shape, order=1, mode="edge", anti_aliasing=False))
    assert code == 0 and d["n"] == arr["a"].size
    assert d["r"] == pytest.approx(ref_r(arr["a"], ref_b), abs=1e-6)


def test_corr_colour_per_channel(capsys, files):
    p, arr = files
    code, out, _ = run(capsys, "corr", p["rgb"], p["rgb2"], "--json")
    d = json.loads(out)
    assert code == 0 and len(d["channels"]) == 3
    for c in range(3):
        assert d["channels"][c]["r"] == pytest.approx(ref_r(arr["rgb"][..., c], arr["rgb2"][..., c]), abs=1e-12)
    assert d["r"] == pytest.approx(ref_r(arr["rgb"], arr["rgb2"]), abs=1e-12)
    code, out, _ = run(capsys, "corr", p["rgb"], p["rgb2"])
    assert code == 0 and "channel 2" in out


def test_corr_gray(capsys, files):
    p, arr = files
    code, out, _ = run(capsys, "corr", p["rgb"], p["rgb2"], "--gray", "--json")
    d = json.loads(out)
    ga = np.array(Image.fromarray(arr["rgb"]).convert("L"))
    gb = np.array(Image.fromarray(arr["rgb2"]).convert("L"))
    assert code == 0 and d["channels"] == [] and d["n"] == ga.size
    assert d["r"] == pytest.approx(ref_r(ga, gb), abs=1e-12)


def test_corr_channel_axis_option(capsys, files):
    p, arr = files
    code, out, _ = run(capsys, "corr", p["npy_c0"], p["npy_c0b"], "--channel-axis", "0", "--json")
    d = json.loads(out)
    assert code == 0 and len(d["channels"]) == 3
    assert d["channels"][1]["r"] == pytest.approx(ref_r(arr["rgb"][..., 1], arr["rgb2"][..., 1]), abs=1e-12)


# ---------------------------------------------------------------------------- errors
def test_shape_mismatch_is_data_error(capsys, files):
    p, _ = files
    code, out, err = run(capsys, "corr", p["a"], p["small"])
    assert code == 1 and out == ""
    assert_one_error_line(err)
    assert "(256, 256)" in err and "(200, 180)" in err and "--crop" in err and "--resize" in err


def test_colour_vs_gray_is_usage_error(capsys, files):
    p, _ = files
    code, _, err = run(capsys, "corr", p["a"], p["rgb"])
    assert code == 2
    assert_one_error_line(err)
    assert "--gray" in err


@pytest.mark.parametrize("which", ["missing", "text", "dir"])
def test_bad_files(capsys, files, tmp_path, which):
    p, _ = files
    bad = {"missing": str(tmp_path / "nope.png"), "text": p["text"], "dir": str(tmp_path)}[which]
    code, _, err = run(capsys, "corr", p["a"], bad)
    assert code in (1, 2) if which == "dir" else code == 1
    assert_one_error_line(err)


def test_bad_mask_is_data_error(capsys, files):
    p, _ = files
    code, _, err = run(capsys, "corr", p["a"], p["b"], "--mask", p["small"])
    assert code == 1
    assert_one_error_line(err)
    assert "mask" in err


@pytest.mark.parametrize(
    "args",
    [
        ["corr", "A"],
        ["corr", "A", "B", "--no-such-option"],
        ["no-such-command"],
        ["corr", "A", "B", "--method", "magic"],
        ["corr", "A", "B", "--level", "high"],
        ["corr", "A", "B", "--level", "1.5"],
    ],
)
def test_usage_errors_exit_2(capsys, args):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert_one_error_line(err)


def test_crop_and_resize_exclusive(capsys, files):
    p, _ = files
    code, _, err = run(capsys, "corr", p["a"], p["small"], "--crop", "--resize")
    assert code == 2
    assert_one_error_line(err)


def test_debug_shows_traceback(capsys, files, tmp_path):
    p, _ = files
    missing = str(tmp_path / "nope.png")
    code, _, err = run(capsys, "--debug", "corr", p["a"], missing)
    assert code == 1
    assert "Traceback" in err and "ImageReadError" in err
    assert err.strip().splitlines()[-1].startswith("imcorr: error: ")
    # --debug is also accepted after the command
    code, _, err = run(capsys, "corr", p["a"], missing, "--debug")
    assert code == 1 and "Traceback" in err


def test_internal_error_is_one_line(capsys, files, monkeypatch):
    p, _ = files

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(imcorr, "pearson", boom)
    code, _, err = run(capsys, "corr", p["a"], p["b"])
    assert code == 1
    assert_one_error_line(err)
    assert "kaboom" in err and "--debug" in err


# ---------------------------------------------------------------- version and help
def test_version(capsys):
    from importlib.metadata import version

    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert imcorr.__version__ in out and version("imcorr") == imcorr.__version__


def test_help_root(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "Usage: imcorr" in out
    for name in app.commands:
        assert name in out


def test_no_arguments_prints_help(capsys):
    code, out, err = run(capsys)
    assert code == 0 and "Usage: imcorr" in out and "error" not in err


@pytest.mark.parametrize("name", sorted(app.commands))
def test_help_every_command(capsys, name):
    code, out, err = run(capsys, name, "--help")
    assert code == 0, err
    assert f"Usage: imcorr {name}" in out
    assert len(out.splitlines()) >= 3


def test_main_without_argv_exits(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["imcorr", "--version"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 0
    assert imcorr.__version__ in capsys.readouterr().out


# ------------------------------------------------------------------------------ demo
@pytest.mark.slow
def test_demo_writes_figures(capsys, tmp_path):
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "demo", "--out", out_dir)
    assert code == 0, err
    figs = sorted(out_dir.glob("*.png"))
    assert figs, out
    for f in figs:
        with Image.open(f) as im:
            assert im.size[0] > 50 and im.size[1] > 50
    assert "pearson r" in out and "figures written" in out


def test_corr_tiff_stacks(capsys, tmp_path):
    import tifffile

    rng = np.random.default_rng(3)
    a = rng.integers(0, 4000, (6, 20, 24), dtype=np.uint16)
    b = (a // 2 + rng.integers(0, 500, a.shape)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", a)
    tifffile.imwrite(tmp_path / "b.tif", b)
    code, out, _ = run(capsys, "corr", tmp_path / "a.tif", tmp_path / "b.tif", "--json")
    d = json.loads(out)
    assert code == 0 and d["n"] == a.size and d["channels"] == []
    assert d["r"] == pytest.approx(ref_r(a, b), abs=1e-12)
    # a stack against a 2-D image: a data error about ndim, not a colour hint
    Image.fromarray(a[0]).save(tmp_path / "one.png")
    code, _, err = run(capsys, "corr", tmp_path / "a.tif", tmp_path / "one.png")
    assert code == 1
    assert_one_error_line(err)
    assert "ndim" in err and "--gray" not in err


def test_demo_correlation_section_finds_the_known_shift(tmp_path):
    from rich.console import Console

    from imcorr.demo import correlation, make_context

    console = Console(record=True, width=200, file=open(tmp_path / "log.txt", "w"))  # noqa: SIM115
    ctx = make_context(tmp_path, seed=1, console=console)
    correlation.run(ctx)
    console.file.close()
    text = console.export_text()
    dy, dx = (int(round(s)) for s in ctx.true_shift)  # moving = shift(reference, true_shift)
    assert f"({dy}, {dx})" in text
    assert f"{ref_r(ctx.reference, ctx.moving):.6f}".rstrip("0") in text
    assert (tmp_path / "correlation.png").exists() and ctx.figures


def test_python_dash_m_entry_point_exit_codes(tmp_path):
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "imcorr", "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and imcorr.__version__ in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "imcorr", "corr", str(tmp_path / "x.png"), str(tmp_path / "y.png")],
        capture_output=True, text=True,
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert_one_error_line(bad.stderr)
