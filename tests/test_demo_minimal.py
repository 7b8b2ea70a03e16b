"""`make demo` installs only the runtime dependencies: the demo must run without the extras."""

import sys

import imcorr.cli


def test_demo_runs_without_optional_extras(tmp_path, monkeypatch, capsys):
    # None in sys.modules makes `import cv2` / `import pywt` raise ImportError.
    for name in ("cv2", "pywt", "skimage", "imagehash"):
        monkeypatch.setitem(sys.modules, name, None)
    code = imcorr.cli.main(["demo", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "imcorr[opencv]" in out  # keypoints skipped with the install hint, brackets not eaten by rich
    assert "imcorr[hashing]" in out  # whash skipped the same way
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "correlation.png",
        "dic_field.png",
        "matching.png",
        "registration.png",
        "report.html",
        "similarity.png",
    ]
    # the demo prints the report's path (rich may wrap it: compare without whitespace)
    assert f"HTMLreport:{tmp_path / 'out' / 'report.html'}".replace(" ", "") in "".join(out.split())
