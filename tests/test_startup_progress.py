"""Feels fast (issue 17): lazy imports keep `import imcorr` and `imcorr --help` light; long operations
report progress through imcorr._core.progress (a rich bar on a terminal, nothing otherwise).

Start-up is checked by what gets imported (deterministic), not by timing; docs/cli.md has the timings.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import numpy as np
import pytest

import imcorr
from imcorr._core import progress

HEAVY = ("numpy", "scipy", "rich", "PIL", "matplotlib", "cv2", "tifffile", "pywt")


def _modules_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_imcorr_loads_nothing_heavy():
    assert _modules_after("import imcorr") == []


def test_cli_help_loads_nothing_heavy():
    assert _modules_after("from imcorr.cli import main\nimport contextlib, io\n"
                          "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])") == []


def test_pearson_with_pvalue_and_ci_does_not_import_scipy():
    # the t p-value and the CI are computed without scipy; FFT users import scipy.fft when they run
    loaded = _modules_after("import imcorr, numpy as np\nr = imcorr.pearson(np.arange(9.0), np.arange(9.0) ** 2)\n"
                            "assert 0 < r.pvalue < 1e-3\nr.confidence_interval()\nimcorr.local_correlation")
    assert "scipy" not in loaded and "numpy" in loaded


@pytest.mark.parametrize("df", [0.5, 1.5, 2, 3, 3.7, 5, 10, 30, 123.4, 1000, 1e4, 1e5, 262142, 1e6, 1e7, 1e8])
def test_t_pvalue_equals_scipy(df):
    from scipy import special

    from imcorr.stats.student import t_two_sided_pvalue

    for t in np.r_[1e-3, np.linspace(0.05, 12, 60), 15, 20, 30, 50, 100, 1e3, 1e5]:
        ref = 2 * special.stdtr(df, -t)
        got = t_two_sided_pvalue(t, df)
        if ref > 1e-290:
            assert got == pytest.approx(ref, rel=2e-12, abs=0), (df, t)
        else:
            assert got < 1e-280
    assert t_two_sided_pvalue(0.0, df) == 1.0 and t_two_sided_pvalue(np.inf, df) == 0.0


def test_t_pvalue_closed_forms():
    from imcorr.stats.student import t_two_sided_pvalue

    for t in (1e-8, 0.3, 1.0, 3.0, 40.0):
        assert t_two_sided_pvalue(t, 1) == pytest.approx(1 - 2 / np.pi * np.arctan(t), rel=1e-14)  # Cauchy
        assert t_two_sided_pvalue(t, 2) == pytest.approx(1 - t / np.sqrt(2 + t * t), rel=1e-12)


def test_every_public_name_resolves_lazily():
    for name in imcorr.__all__:
        assert getattr(imcorr, name) is not None, name
    assert set(imcorr.__all__) <= set(dir(imcorr))
    with pytest.raises(AttributeError):
        imcorr.no_such_name  # noqa: B018
    from imcorr import pearson, ssim  # from-imports go through the same lazy lookup

    assert pearson is imcorr.correlation.pearson and ssim is imcorr.similarity.ssim


def test_confidence_interval_without_scipy_matches_scipy():
    from scipy import stats

    res = imcorr.pearson(np.arange(50.0), np.arange(50.0) ** 1.5 + np.sin(np.arange(50.0)))
    ci = res.confidence_interval(0.9)
    z, se = np.arctanh(res.r), 1 / np.sqrt(50 - 3)
    zc = stats.norm.ppf(0.95)
    assert ci.low == pytest.approx(np.tanh(z - zc * se), rel=1e-13)
    assert ci.high == pytest.approx(np.tanh(z + zc * se), rel=1e-13)


# ------------------------------------------------------------------------------------- progress
class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, t):
        self.events.append((t.description, t.done, t.total, t.finished))

    def finished(self, word):
        return [e for e in self.events if word in e[0] and e[3]]


def test_no_sink_no_cost():
    assert not progress.active()
    with progress.task("nothing", 10) as t:
        t.advance(3)
    assert t.done == 0  # not even counted without a sink


def test_kendall_reports_progress():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(200_000)
    rec = Recorder()
    with progress.reporting(rec):
        imcorr.kendall(a, a + rng.standard_normal(a.size))
    (last,) = rec.finished("Kendall")
    assert last[1] == last[2] == 3 and "200000 pixel pairs" in last[0]


def test_permutations_report_progress():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 64))
    rec = Recorder()
    with progress.reporting(rec):
        res = imcorr.block_permutation_test(a, a + rng.standard_normal(a.shape), block_size=8, permutations=499)
    (last,) = rec.finished("block permutations")
    assert last[1] == last[2] == 499 == res.permutations
    assert not progress.active()  # the sink is removed on exit


def test_batch_hashing_reports_progress(tmp_path):
    from PIL import Image
    from skimage import data

    paths = []
    for i in range(5):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.roll(data.camera(), 7 * i, axis=1)).save(p)
        paths.append(p)
    rec = Recorder()
    with progress.reporting(rec):
        imcorr.hash_batch(paths)
    counts = [e[1] for e in rec.events if "hashing" in e[0] and not e[3]]
    assert sorted(counts) == [0, 1, 2, 3, 4, 5]  # the start, then one per file


def test_rich_sink_runs_and_stays_quiet_for_quick_tasks():
    stream = io.StringIO()
    with progress.rich_progress(delay=0.5, stream=stream):
        with progress.task("quick", 3) as t:
            t.advance(3)
    assert stream.getvalue() == ""
    with progress.rich_progress(delay=0.0, stream=stream):
        with progress.task("slow", 2) as t:
            time.sleep(0.05)
            t.advance(2)
    assert not progress.active()


def test_cli_shows_no_progress_when_stderr_is_not_a_terminal(tmp_path, capsys):
    from imcorr.cli import main

    rng = np.random.default_rng(2)
    np.save(tmp_path / "a.npy", rng.standard_normal((300, 300)))
    np.save(tmp_path / "b.npy", rng.standard_normal((300, 300)))
    assert main(["corr", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--method", "kendall", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and json.loads(out)["method"] == "kendall-tau-b"
    assert main(["--quiet", "corr", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "-q"]) == 0


def test_rotation_search_reports_steps_done_of_total():
    # a real bar (steps done / total), not a spinner: every event has a total, the counts only grow and end at it
    from scipy import ndimage

    ref = imcorr.gaussian_random_field((128, 128), 3.0, seed=5)
    mov = ndimage.rotate(ref, 10.0, reshape=False, mode="reflect")
    rec = Recorder()
    with progress.reporting(rec):
        res = imcorr.estimate_similarity(ref, mov)
    events = [e for e in rec.events if "rotation and scale" in e[0]]
    assert abs(abs(res.angle_deg) - 10.0) < 0.5
    assert events and all(e[2] == 7 for e in events)  # 2 spectra, correlation, 2 candidates, 2 polish levels
    done = [e[1] for e in events]
    assert done == sorted(done) and done[-1] == 7 and events[-1][3]
    assert len(set(done)) >= 6  # it advances step by step
    rec = Recorder()
    with progress.reporting(rec):
        imcorr.estimate_similarity(ref, mov, refine=False)
    assert {e[2] for e in rec.events if "rotation" in e[0]} == {5}
