"""``imcorr shift`` command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import fft, ndimage

import imcorr
from imcorr.cli import main


@pytest.fixture
def pair(tmp_path, camera):
    ref = camera.astype(np.float64)
    s = (3.25, -5.5)
    mov = fft.ifftn(ndimage.fourier_shift(fft.fftn(ref), s)).real
    a = tmp_path / "ref.tif"
    b = tmp_path / "mov.tif"
    imcorr.save(a, ref.astype(np.float32))
    imcorr.save(b, mov.astype(np.float32))
    return str(a), str(b), s, tmp_path


def test_shift_json(pair, capsys):
    a, b, s, _ = pair
    assert main(["shift", a, b, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["dy"] == pytest.approx(s[0], abs=0.005)
    assert d["dx"] == pytest.approx(s[1], abs=0.005)
    assert d["method"] == "phase" and -1 <= d["peak"] <= 1


def test_shift_table_and_options(pair, capsys):
    a, b, s, _ = pair
    assert main(["shift", a, b, "--upsample", "1", "--no-window"]) == 0
    out = capsys.readouterr().out
    assert "dy" in out and "dx" in out and "peak" in out
    assert main(["shift", a, b, "--upsample", "0"]) == 2  # a bad option value is a usage error (issue 17)
    assert "upsample" in capsys.readouterr().err


def test_shift_overlay_and_aligned(pair, capsys):
    a, b, s, tmp = pair
    ov = tmp / "ov.png"
    al = tmp / "al.tif"
    assert main(["shift", a, b, "--json", "--overlay", str(ov), "--aligned", str(al)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["overlay"] == str(ov)
    img = imcorr.load(ov)
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    back = imcorr.load(al)
    ref = imcorr.load(a)
    inner = (slice(20, -20), slice(20, -20))
    assert np.corrcoef(back[inner].ravel(), ref[inner].ravel())[0, 1] > 0.999


def test_shift_masks(pair, capsys):
    a, b, s, tmp = pair
    m = np.full((512, 512), 255, np.uint8)
    m[100:300, 50:250] = 0
    mp = tmp / "mask.png"
    imcorr.save(mp, m)
    assert main(["shift", a, b, "--mask-ref", str(mp), "--mask-moving", str(mp), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "masked"
    assert d["dy"] == pytest.approx(s[0], abs=0.05) and d["dx"] == pytest.approx(s[1], abs=0.05)


def test_shift_rotation(tmp_path, astronaut_gray, capsys):
    from skimage import transform

    a = tmp_path / "a.tif"
    b = tmp_path / "b.tif"
    imcorr.save(a, astronaut_gray.astype(np.float32))
    rot = transform.rotate(astronaut_gray, 8.0, order=3, mode="reflect", preserve_range=True)
    imcorr.save(b, rot.astype(np.float32))
    assert main(["shift", str(a), str(b), "--rotation", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["angle_deg"] == pytest.approx(8.0, abs=0.05)
    assert d["scale"] == pytest.approx(1.0, abs=1e-3)
    assert main(["shift", str(a), str(b), "--rotation", "--mask-ref", str(a)]) == 2


def test_shift_missing_file(pair, capsys):
    a, _, _, tmp = pair
    assert main(["shift", a, str(tmp / "nope.png")]) == 1
    assert "nope.png" in capsys.readouterr().err


def test_cli_warns_when_the_shift_is_not_reliable(tmp_path, capsys):
    """Unrelated images (camera vs moon): one warning line with the reason, and reliable false in JSON."""
    from skimage import data

    from imcorr.cli import main

    pa, pb = tmp_path / "camera.png", tmp_path / "moon.png"
    imcorr.save(pa, data.camera())
    imcorr.save(pb, data.moon())
    assert main(["shift", str(pa), str(pb)]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("imcorr: warning: shift not reliable")]
    assert len(lines) == 1 and "significant" in lines[0]
    assert main(["shift", str(pa), str(pb), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reliable"] is False


def test_cli_stack_mode_registers_every_frame(tmp_path, capsys):
    """A quoted glob of frames: one row per frame, each against its Fourier-shift ground truth."""
    import csv

    from skimage import data

    ref = data.camera()[100:228, 150:278].astype(np.float64)
    truths = [(1.25, -2.5), (-3.0, 0.75), (0.0, 4.5)]
    np.save(tmp_path / "ref.npy", ref)
    for i, s in enumerate(truths):
        np.save(tmp_path / f"frame_{i}.npy", fft.ifftn(ndimage.fourier_shift(fft.fftn(ref), s)).real)
    out = tmp_path / "shifts.csv"
    assert main(["shift", str(tmp_path / "ref.npy"), str(tmp_path / "frame_*.npy"), "--csv", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [f["file"] for f in d["frames"]] == [str(tmp_path / f"frame_{i}.npy") for i in range(3)]
    for f, s in zip(d["frames"], truths):
        assert f["dy"] == pytest.approx(s[0], abs=0.01) and f["dx"] == pytest.approx(s[1], abs=0.01)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and float(rows[2]["dx"]) == pytest.approx(4.5, abs=0.01)
    # options that need one MOVING file are refused in stack mode; a pattern that matches nothing too
    assert main(["shift", str(tmp_path / "ref.npy"), str(tmp_path / "frame_*.npy"), "--rotation"]) == 2
    assert "stack" in capsys.readouterr().err
    assert main(["shift", str(tmp_path / "ref.npy"), str(tmp_path / "none_*.npy")]) == 2
    assert "matches no file" in capsys.readouterr().err
    np.save(tmp_path / "frame_9.npy", ref[:64])
    assert main(["shift", str(tmp_path / "ref.npy"), str(tmp_path / "frame_*.npy")]) == 1
    assert "frame_9.npy" in capsys.readouterr().err
