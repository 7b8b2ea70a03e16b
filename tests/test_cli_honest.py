"""The CLI speaks CLI (issue 17): files and --options in messages, one-line warnings, one NaN
policy, exit codes, written files echoed, and the commands xcorr, keypoints and corrmatrix.

References: np.corrcoef on the valid pixels, scipy.signal.correlate, imagehash, pandas-free
numpy correlation matrices, scikit-image metrics, and synthetic ground truths (known shifts,
known delays, known template positions).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy import ndimage, signal
from skimage import data

import imcorr
from imcorr.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("imcorr: error: ") and "Traceback" not in err
    return lines[0]


def warning_lines(err: str) -> list[str]:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert all(ln.startswith("imcorr: ") for ln in lines), err  # no file:line or source lines
    return [ln for ln in lines if ln.startswith("imcorr: warning: ")]


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    d = tmp_path_factory.mktemp("honest")
    cam = data.camera()[::2, ::2]  # 256 x 256
    moved = np.roll(cam, (3, -5), axis=(0, 1))
    p = {k: d / v for k, v in {
        "cam": "cam.png", "moved": "moved.png", "a": "a.npy", "nan": "nan.npy", "flat": "flat.png",
        "tpl": "tpl.png", "mask": "mask.png", "mask0": "mask0.png", "grey": "grey.png", "cam16": "cam16.tif",
        "stack": "stack.tif", "u8": "u8.npy", "u16": "u16.npy", "i32": "i32.npy", "rgba": "rgba.png",
        "rgb": "rgb.png", "nanmask": "nanmask.npy", "x": "x.csv", "y": "y.csv",
    }.items()}
    Image.fromarray(cam).save(p["cam"])
    Image.fromarray(moved).save(p["moved"])
    a = cam.astype(np.float64)
    b = a.copy()
    b[:8, :8] = np.nan
    np.save(p["a"], a)
    np.save(p["nan"], b)
    Image.fromarray(np.full((20, 30), 7, np.uint8)).save(p["flat"])
    Image.fromarray(cam[100:140, 60:110]).save(p["tpl"])
    m = np.zeros(cam.shape, np.uint8)
    m[8:, 8:] = 255
    Image.fromarray(m).save(p["mask"])
    Image.fromarray(np.zeros(cam.shape, np.uint8)).save(p["mask0"])
    Image.fromarray((np.arange(cam.size).reshape(cam.shape) % 5).astype(np.uint8)).save(p["grey"])
    tifffile.imwrite(p["cam16"], cam.astype(np.uint16) * 257)
    tifffile.imwrite(p["stack"], np.stack([cam[:32, :32]] * 5), photometric="minisblack")
    np.save(p["u8"], cam)
    np.save(p["u16"], cam.astype(np.uint16) * 257)
    np.save(p["i32"], cam.astype(np.int32))
    rgb = data.astronaut()[::4, ::4]
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:40, :40, :3] = 0  # garbage under the transparent corner
    rgba[:40, :40, 3] = 0
    Image.fromarray(rgba).save(p["rgba"])
    Image.fromarray(rgb).save(p["rgb"])
    np.save(p["nanmask"], np.full(cam.shape, np.nan))
    x = np.cumsum(np.random.default_rng(0).standard_normal(600))
    np.savetxt(p["x"], np.c_[x, 2 * x], delimiter=",", header="p,q", comments="")
    np.savetxt(p["y"], np.c_[np.roll(x, 12) * 3, np.roll(x, 12)], delimiter=",", header="r,s", comments="")
    return {k: str(v) for k, v in p.items()}, {"cam": cam, "moved": moved, "a": a, "b": b, "rgba": rgba, "rgb": rgb,
                                                 "x": x}


# ------------------------------------------------------------------------ messages in CLI terms
def test_nan_error_names_the_file_and_the_option(capsys, f):
    p, _ = f
    code, out, err = run(capsys, "corr", p["a"], p["nan"])
    line = one_error(err)
    assert code == 1 and out == ""
    assert "nan.npy: contains 64 NaN/Inf" in line and "--mask" in line and "mask=" not in line


def test_match_nan_scene_names_image_mask_and_it_works(capsys, f, tmp_path):
    p, arr = f
    scene = arr["a"].copy()
    scene[200:220, 10:30] = np.nan
    np.save(tmp_path / "scene.npy", scene)
    code, _, err = run(capsys, "match", tmp_path / "scene.npy", p["tpl"])
    line = one_error(err)
    assert code == 1 and "scene.npy" in line and "--image-mask" in line and "image_mask=" not in line
    m = np.full(scene.shape, 255, np.uint8)
    m[200:220, 10:30] = 0
    Image.fromarray(m).save(tmp_path / "valid.png")
    code, out, err = run(capsys, "match", tmp_path / "scene.npy", p["tpl"], "--image-mask", tmp_path / "valid.png",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["matches"][0]["top_left"] == [100, 60]  # where the template was cut


def test_warnings_are_one_line_each(capsys, f, monkeypatch):
    p, _ = f
    code, _, err = run(capsys, "compare", p["cam"], p["moved"], "--data-range", "1", "--metrics", "psnr,ssim")
    assert code == 0
    lines = warning_lines(err)
    lo, hi = int(data.camera()[::2, ::2].min()), int(data.camera()[::2, ::2].max())
    assert len(lines) == 1 and "--data-range 1 " in lines[0] and f"{lo}..{hi}" in lines[0]

    real = imcorr.pearson

    def noisy(*args, **kwargs):
        warnings.warn("something to know\n  on two lines", UserWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(imcorr, "pearson", noisy)
    code, _, err = run(capsys, "corr", p["cam"], p["moved"])
    assert code == 0 and warning_lines(err) == ["imcorr: warning: something to know on two lines"]
    assert ".py" not in err


# ------------------------------------------------------------------------------- NaN policy
@pytest.mark.parametrize("cmd", [["corr"], ["localmap"], ["shift"], ["compare", "--metrics", "pearson"]])
def test_one_nan_policy_refuses_without_mask(capsys, f, cmd):
    p, _ = f
    code, _, err = run(capsys, cmd[0], p["a"], p["nan"], *cmd[1:])
    line = one_error(err) if cmd[0] != "compare" else None
    if cmd[0] == "compare":  # compare reports the refusal per metric, as a note
        assert code == 0
        return
    assert code == 1 and "nan.npy" in line and "NaN" in line and "--mask" in line


def test_nan_pixels_left_out_with_a_mask(capsys, f):
    p, arr = f
    code, out, err = run(capsys, "corr", p["a"], p["nan"], "--mask", p["mask"], "--json")
    assert code == 0, err
    valid = np.isfinite(arr["b"])
    valid[:8, :] = False
    valid[:, :8] = False
    ref = np.corrcoef(arr["a"][valid], arr["b"][valid])[0, 1]
    d = json.loads(out)
    assert d["r"] == pytest.approx(ref, abs=1e-12) and d["n"] == int(valid.sum())
    code, out, err = run(capsys, "shift", p["nan"], p["a"], "--mask-ref", p["mask"], "--json")
    assert code == 0, err
    assert json.loads(out)["shift"] == pytest.approx([0, 0], abs=0.05)


# --------------------------------------------------------------------------------------- hash
def test_hash_refuses_deep_and_stacked_files(capsys, f):
    p, _ = f
    code, out, err = run(capsys, "hash", p["cam16"])
    line = one_error(err)
    assert code == 1 and out == "" and "cam16.tif: 16-bit" in line and "8-bit" in line
    code, _, err = run(capsys, "hash", p["stack"])
    assert code == 1 and "stack.tif: a TIFF of 5 pages" in one_error(err)
    code, _, err = run(capsys, "hash", p["u16"])
    assert code == 1 and "u16.npy" in one_error(err)


def test_hash_reads_npy_like_the_png(capsys, f):
    imagehash = pytest.importorskip("imagehash")
    p, arr = f
    code, out, err = run(capsys, "hash", p["u8"], p["cam"], "--json")
    assert code == 0, err
    hexes = [h["hex"] for h in json.loads(out)["hashes"]]
    assert hexes[0] == hexes[1] == str(imagehash.phash(Image.fromarray(arr["cam"])))
    code, out, _ = run(capsys, "hash", p["u8"], "--invariant")
    assert code == 0 and out.endswith("u8.npy\n")


# ------------------------------------------------------------------------------------ compare
def test_compare_mask_honoured_or_marked(capsys, f):
    p, arr = f
    code, out, err = run(capsys, "compare", p["cam"], p["moved"], "--mask", p["mask"], "--json",
                         "--metrics", "pearson,hist_correl,phash_distance,shift")
    assert code == 0, err
    d = json.loads(out)
    flags = {m["name"]: m["mask_applied"] for m in d["metrics"]}
    assert flags == {"pearson": True, "hist_correl": True, "phash_distance": False, "shift": True}
    m = np.zeros(arr["cam"].shape, bool)
    m[8:, 8:] = True
    ha = np.bincount(arr["cam"][m], minlength=256).astype(float)
    hb = np.bincount(arr["moved"][m], minlength=256).astype(float)
    assert d["values"]["hist_correl"] == pytest.approx(np.corrcoef(ha, hb)[0, 1], abs=1e-9)  # OpenCV's correl
    assert d["values"]["pearson"] == pytest.approx(np.corrcoef(arr["cam"][m], arr["moved"][m])[0, 1], abs=1e-12)
    code, out, _ = run(capsys, "compare", p["cam"], p["moved"], "--mask", p["mask"])
    assert code == 0 and "mask-aware" in out  # the note column (wrapped by rich)


@pytest.mark.parametrize("bad", ["mask0", "grey", "rgb", "nanmask"])
def test_compare_bad_mask_exit_1(capsys, f, bad):
    p, _ = f
    code, out, err = run(capsys, "compare", p["cam"], p["moved"], "--mask", p[bad])
    line = one_error(err)
    assert code == 1 and out == "" and "--mask" in line


def test_compare_new_metrics_equal_references(capsys, f):
    from skimage.metrics import mean_squared_error, normalized_root_mse

    p, arr = f
    code, out, err = run(capsys, "compare", p["cam"], p["moved"], "--metrics", "ms_ssim,rmse,nrmse", "--json")
    assert code == 0, err
    v = json.loads(out)["values"]
    a, b = arr["cam"], arr["moved"]
    assert v["rmse"] == pytest.approx(np.sqrt(mean_squared_error(a, b)), rel=1e-12)
    assert v["nrmse"] == pytest.approx(normalized_root_mse(a, b), rel=1e-12)
    assert v["ms_ssim"] == pytest.approx(imcorr.ms_ssim(a, b).ms_ssim, rel=1e-12)
    assert 0 < v["ms_ssim"] < 1


def test_ssim_psnr_mixed_integer_dtypes_refused(f):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    _, arr = f
    a = arr["cam"]
    b = (arr["moved"]).astype(np.int32)
    for fn in (imcorr.psnr, lambda x, y, **k: imcorr.ssim(x, y, **k).ssim):
        with pytest.raises(imcorr.InputError, match=r"data_range: a is uint8 .* b is int32"):
            fn(a, b)
    assert imcorr.psnr(a, b, data_range=255) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255))
    assert imcorr.ssim(a, b, data_range=255).ssim == pytest.approx(
        structural_similarity(a, b.astype(np.float64), data_range=255), abs=1e-9)


def test_data_range_exceeded_warns_in_the_api():
    rng = np.random.default_rng(4)
    a = rng.uniform(0, 60000, (64, 64))
    b = a + rng.normal(0, 50, a.shape)
    with pytest.warns(imcorr.DataRangeWarning, match="data span"):
        imcorr.psnr(a, b, data_range=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imcorr.psnr(a, b, data_range=60000)  # noise around the nominal range: no warning


@pytest.mark.parametrize("value", [2, 0.5])
def test_pearson_mask_of_non_binary_values_refused(value):
    a = np.arange(20.0)
    with pytest.raises(imcorr.MaskError, match="0 and 1"):
        imcorr.pearson(a, a[::-1], mask=np.full(20, value))


@pytest.mark.parametrize("fn", [
    lambda a, b, m: imcorr.pearson(a, b, mask=m),
    lambda a, b, m: imcorr.spearman(a, b, mask=m),
    lambda a, b, m: imcorr.mse(a, b, mask=m),
    lambda a, b, m: imcorr.ssim(a, b, data_range=255, mask=m),
    lambda a, b, m: imcorr.local_correlation(a, b, mask=m, window=3),
    lambda a, b, m: imcorr.mutual_information(a, b, mask=m),
])
def test_nan_float_mask_refused(fn):
    a = data.camera()[:32, :32].astype(np.float64)
    with pytest.raises(imcorr.MaskError, match="NaN"):
        fn(a, a[::-1], np.full(a.shape, np.nan))


# ---------------------------------------------------------------------------- match, delay, demo
def test_match_threshold_range_and_flat_template(capsys, f):
    p, _ = f
    code, _, err = run(capsys, "match", p["cam"], p["tpl"], "--threshold", "1.5")
    assert code == 2 and "--threshold" in one_error(err) and "[-1, 1]" in err
    code, _, err = run(capsys, "match", p["cam"], p["tpl"], "--method", "sqdiff", "--threshold", "-1")
    assert code == 2
    code, _, err = run(capsys, "match", p["cam"], p["flat"])
    line = one_error(err)
    assert code == 1 and "flat.png" in line and "flat (constant)" in line and "threshold" not in line


def test_match_accepts_opencv_names(capsys, f):
    p, _ = f
    outs = []
    for method in ("zncc", "TM_CCOEFF_NORMED", "5"):
        code, out, err = run(capsys, "match", p["cam"], p["tpl"], "--method", method, "--json")
        assert code == 0, err
        outs.append(json.loads(out))
    assert outs[0] == outs[1] == outs[2]
    assert outs[0]["matches"][0]["top_left"] == [100, 60]
    code, _, err = run(capsys, "match", p["cam"], p["tpl"], "--method", "TM_MAGIC")
    assert code == 2 and "TM_CCOEFF_NORMED" in one_error(err)


def test_delay_max_lag_bound_flagged_and_column_per_file(capsys, f):
    p, _ = f
    code, out, err = run(capsys, "delay", p["x"], p["y"], "--column", "p", "--column", "s", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["integer_lag"] == 12 and not d["at_bound"]  # y = x delayed by 12 samples
    code, out, err = run(capsys, "delay", p["x"], p["y"], "--column", "p", "--column", "s", "--max-lag", "5",
                         "--json")
    assert code == 0
    d = json.loads(out)
    assert d["at_bound"] and d["integer_lag"] == 5 and "edge" in d["reason"]
    (line,) = warning_lines(err)
    assert "--max-lag 5" in line
    code, _, err = run(capsys, "delay", p["x"], p["y"], "--column", "p")  # y has no column p
    assert code == 1 and "y.csv" in one_error(err)


def test_delay_at_bound_in_the_api():
    x = np.cumsum(np.random.default_rng(1).standard_normal(500))
    y = np.roll(x, 20)
    assert imcorr.estimate_delay(x, y, max_lag=5).at_bound
    res = imcorr.estimate_delay(x, y, max_lag=40)
    assert not res.at_bound and res.integer_lag == 20 and res.reason is None


@pytest.mark.parametrize("args", [
    ["localmap", "CAM", "MOVED", "--window", "16"],
    ["shift", "CAM", "MOVED", "--upsample", "0"],
    ["delay", "X", "Y", "--fs", "-5"],
    ["hash", "CAM", "--method", "whash", "--size", "12"],
    ["compare", "CAM", "MOVED", "--data-range", "0"],
    ["match", "CAM", "TPL", "--max", "0"],
    ["delay", "X", "Y", "--column", "p", "--column", "s", "--column", "q"],
])
def test_usage_errors_exit_2(capsys, f, args):
    p, _ = f
    names = {"CAM": p["cam"], "MOVED": p["moved"], "X": p["x"], "Y": p["y"], "TPL": p["tpl"]}
    code, _, err = run(capsys, *[names.get(a, a) for a in args])
    assert code == 2
    one_error(err)


def test_memory_settings_and_options(capsys, f, monkeypatch, tmp_path):
    p, _ = f
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "bogus")
    code, _, err = run(capsys, "corr", p["cam"], p["moved"])
    assert code == 2 and "e.g. 8G" in one_error(err)
    monkeypatch.setenv("IMCORR_MEMORY_LIMIT", "50M")
    code, _, err = run(capsys, "hash", p["cam"], "--size", "2048")
    line = one_error(err)
    assert code == 1 and line.startswith("imcorr: error: --size 2048") and "IMCORR_MEMORY_LIMIT" in line
    monkeypatch.delenv("IMCORR_MEMORY_LIMIT")
    from tests.test_memory_guards import lying_npy, png_header_only

    bomb = png_header_only(tmp_path / "bomb.png", 100000, 100000)
    code, _, err = run(capsys, "hash", bomb)
    assert code == 1 and "bomb.png: refused as a possible decompression bomb" in one_error(err)
    liar = lying_npy(tmp_path / "liar.npy")
    code, _, err = run(capsys, "corr", liar, liar)
    assert code == 1 and "liar.npy" in one_error(err)


def test_alpha_is_used_as_a_mask(capsys, f):
    p, arr = f
    code, out, err = run(capsys, "corr", p["rgba"], p["rgb"], "--gray", "--json")
    assert code == 0
    assert any("rgba.png: its alpha channel is used as a mask" in ln for ln in warning_lines(err))
    ga, gb = imcorr.load(p["rgba"], gray=True), imcorr.load(p["rgb"], gray=True)
    opaque = arr["rgba"][..., 3] > 0
    assert json.loads(out)["r"] == pytest.approx(np.corrcoef(ga[opaque], gb[opaque])[0, 1], abs=1e-12)


@pytest.mark.slow
def test_demo_json(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["true_shift"] == [3.25, -5.6] and d["figures"] and d["sections"]
    rows = {r[0]: r[1] for s in d["sections"] for r in s["rows"] if isinstance(r[0], str)}
    assert "pearson r" in rows


# ------------------------------------------------------------------------------ written files
def test_written_files_are_echoed(capsys, f, tmp_path):
    p, _ = f
    cases = [
        (["localmap", p["cam"], p["moved"], "-o", tmp_path / "m.npy", "--png", tmp_path / "m.png"],
         ["output", "png"]),
        (["match", p["cam"], p["tpl"], "--map", tmp_path / "s.tif", "--boxes", tmp_path / "b.png"], ["map", "boxes"]),
        (["shift", p["cam"], p["moved"], "--overlay", tmp_path / "o.png", "--aligned", tmp_path / "al.tif"],
         ["aligned", "overlay"]),
        (["xcorr", p["cam"], p["moved"], "-o", tmp_path / "x.npy"], ["output"]),
        (["corrmatrix", p["cam"], "-o", tmp_path / "c.csv"], ["output"]),
    ]
    for args, labels in cases:
        code, out, err = run(capsys, *args)
        assert code == 0, err
        for label in labels:
            line = [ln for ln in out.splitlines() if ln.startswith(f"{label}: ")]
            assert line, (label, out)
            assert (tmp_path / line[0].split(": ", 1)[1].rsplit("/", 1)[-1]).exists()


# ---------------------------------------------------------------------------------- new commands
def test_xcorr_equals_scipy_and_finds_the_shift(capsys, f, tmp_path):
    p, arr = f
    a = arr["cam"].astype(np.float64)
    code, out, err = run(capsys, "xcorr", p["cam"], p["moved"], "--normalize", "none", "--mode", "same",
                         "-o", tmp_path / "raw.npy", "--json")
    assert code == 0, err
    ref = signal.correlate(a, arr["moved"].astype(np.float64), mode="same")
    np.testing.assert_allclose(np.load(tmp_path / "raw.npy"), ref, rtol=1e-9, atol=1e-6 * np.abs(ref).max())
    code, out, _ = run(capsys, "xcorr", p["cam"], p["moved"], "--json")
    d = json.loads(out)
    # moved = roll(cam, (3, -5)): cam[n + k] = moved[n] at k = (-3, 5)
    assert d["lag"] == [-3, 5] and d["peak"] == pytest.approx(1.0, abs=0.05)


def test_keypoints_identical_images(capsys, f, tmp_path):
    pytest.importorskip("cv2")
    p, _ = f
    code, out, err = run(capsys, "keypoints", p["cam"], p["cam"], "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["score"] == pytest.approx(1.0) and d["n_inliers"] == d["n_keypoints_a"] > 50
    rot = ndimage.rotate(data.camera(), 20, reshape=False)
    Image.fromarray(rot).save(tmp_path / "rot.png")
    Image.fromarray(data.camera()).save(tmp_path / "big.png")
    code, out, _ = run(capsys, "keypoints", tmp_path / "big.png", tmp_path / "rot.png", "--json")
    h = np.array(json.loads(out)["homography"])
    angle = np.degrees(np.arctan2(h[1, 0], h[0, 0]))
    assert abs(abs(angle) - 20) < 1.0  # the rotation ground truth


def test_corrmatrix_equals_numpy(capsys, tmp_path):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((200, 6))
    x[:, 4] = 0.9 * x[:, 1] + 0.1 * rng.standard_normal(200)
    np.save(tmp_path / "t.npy", x)
    code, out, err = run(capsys, "corrmatrix", tmp_path / "t.npy", "--json", "--top", "3")
    assert code == 0, err
    d = json.loads(out)
    ref = np.corrcoef(x, rowvar=False)
    np.testing.assert_allclose(np.array(d["matrix"]), ref, atol=1e-12)
    top = d["top_pairs"][0]
    assert {top["column_i"], top["column_j"]} == {1, 4} and top["r"] == pytest.approx(ref[1, 4], abs=1e-12)
    code, out, err = run(capsys, "corrmatrix", tmp_path / "t.npy", "--axis", "rows", "--method", "spearman",
                         "-o", tmp_path / "r.npy")
    assert code == 0, err
    from scipy.stats import spearmanr

    np.testing.assert_allclose(np.load(tmp_path / "r.npy")[:5, :5], spearmanr(x[:5].T).statistic, atol=1e-12)
