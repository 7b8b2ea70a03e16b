"""The HTML report (issue 15): a 2048^2 pair reported in < 5 s on 2 cores.

The pair is a 2048^2 float32 photo mosaic and a Fourier-shifted (3.3, -5.7) px noisy copy. The
report runs every ``compare`` metric, the shift with its surface, the local correlation map, all
seven sections' figures and the viewer images (displayed at 1024 px), and writes the file. There
is no peer that writes such a report, so the goal is absolute: the case's baseline is a row that
sleeps the 5 s budget, and the goal is a ratio <= 1 to it. The accuracy column is the report's r
against ``np.corrcoef`` (float64).
"""

from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path

import numpy as np

import imcorr

from ._data import fourier_shift, photo_mosaic
from ._harness import Case, Impl

BUDGET_S = 5.0
_OUT = Path(tempfile.gettempdir()) / "imcorr-bench-report.html"


@functools.cache
def _pair():
    a = photo_mosaic((2048, 2048), np.float32, seed=3)
    b = fourier_shift(a.astype(np.float64), (3.3, -5.7)) + np.random.default_rng(0).normal(0, 0.02, a.shape)
    return a, b.astype(np.float32)


def _setup():
    a, b = _pair()
    r = float(np.corrcoef(a.ravel().astype(np.float64), b.ravel().astype(np.float64))[0, 1])
    return {"a": a, "b": b, "r": r, "data_range": float(np.ptp(a))}


def _report(d, basic=False):
    return imcorr.report(d["a"], d["b"], path=_OUT, data_range=d["data_range"], basic=basic)


def _budget(d):
    time.sleep(BUDGET_S)


def _err(out, d) -> float:
    if out is None:  # the budget row
        return 0.0
    return abs(out.results["summary"]["pearson_r"] - d["r"])


CASES = [
    Case(
        name="report 2048^2 pair, all sections",
        setup=_setup,
        impls=[
            Impl("imcorr.report", _report, peer=False),
            Impl("imcorr.report basic=True", lambda d: _report(d, basic=True), peer=False, goal=False),
            Impl(f"budget: {BUDGET_S:g} s (sleep)", _budget),
        ],
        error=_err,
        goal=1.0,
        goal_text=f"< {BUDGET_S:g} s",
        repeat=3,
        accuracy_label="|r - corrcoef|",
        baseline=f"budget: {BUDGET_S:g} s (sleep)",
    ),
]
