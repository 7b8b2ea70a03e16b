"""imcorr._core.results: frozen results whose to_dict() is JSON-safe."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from imcorr._core.results import Result, json_safe, no_json


@dataclasses.dataclass(frozen=True)
class Inner(Result):
    value: float


@dataclasses.dataclass(frozen=True)
class Outer(Result):
    r: float
    n: int
    shift: tuple
    flag: bool
    name: str
    inner: Inner
    per: tuple = ()
    small: np.ndarray | None = None
    big_map: np.ndarray | None = no_json()


def _outer(**kw):
    base = dict(
        r=np.float64(0.5),
        n=np.int64(7),
        shift=(np.float32(1.5), -2.0),
        flag=np.bool_(True),
        name=np.str_("x"),
        inner=Inner(np.float32(np.nan)),
        per=(Inner(1.0), Inner(np.inf)),
        small=np.array([1.0, np.nan, -np.inf]),
        big_map=np.zeros((100, 100)),
    )
    base.update(kw)
    return Outer(**base)


def test_to_dict_is_plain_json():
    d = _outer().to_dict()
    text = json.dumps(d, allow_nan=False)  # NaN/Inf would raise
    back = json.loads(text)
    assert back == {
        "r": 0.5,
        "n": 7,
        "shift": [1.5, -2.0],
        "flag": True,
        "name": "x",
        "inner": {"value": None},
        "per": [{"value": 1.0}, {"value": None}],
        "small": [1.0, None, None],
    }
    assert type(d["n"]) is int and type(d["r"]) is float and type(d["flag"]) is bool and type(d["name"]) is str


def test_no_json_fields_left_out_but_kept_on_the_object():
    res = _outer()
    assert "big_map" not in res.to_dict()
    assert res.big_map.shape == (100, 100)
    assert "big_map" not in repr(res)


def test_frozen():
    res = _outer()
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.r = 1.0  # type: ignore[misc]


def test_json_safe_values():
    assert json_safe(np.float32(2.5)) == 2.5
    assert json_safe(float("nan")) is None
    assert json_safe(-math.inf) is None
    assert json_safe(np.uint16(9)) == 9 and type(json_safe(np.uint16(9))) is int
    assert json_safe({1: np.int8(2), "k": (np.nan,)}) == {"1": 2, "k": [None]}
    assert json_safe(np.array(3.0)) == 3.0  # 0-d array
    assert json_safe(np.arange(6).reshape(2, 3)) == [[0, 1, 2], [3, 4, 5]]
    assert json_safe(None) is None and json_safe("s") == "s"


def test_big_arrays_summarised():
    big = np.zeros((80, 80), np.float32)
    assert json_safe(big) == {"shape": [80, 80], "dtype": "float32"}


def test_correlation_result_round_trip():
    from imcorr.correlation.coefficients import ConfidenceInterval, CorrelationResult

    res = CorrelationResult("pearson", 0.5, 28, 0.0067)
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["r"] == 0.5 and d["n"] == 28 and d["channels"] == []
    ci = d["confidence_interval"]
    z, half = math.atanh(0.5), 1.959963984540054 / 5.0
    assert ci["low"] == pytest.approx(math.tanh(z - half), abs=1e-12)
    assert ci["high"] == pytest.approx(math.tanh(z + half), abs=1e-12)
    assert isinstance(res.confidence_interval(), ConfidenceInterval)
    perfect = CorrelationResult("pearson", 1.0, 28, 0.0).confidence_interval()
    assert perfect.low == perfect.high == 1.0


def test_result_html_and_frame_show_the_json_fields():
    import html as _html

    import pandas as pd

    import imcorr

    a = np.arange(12.0).reshape(3, 4)
    res = imcorr.pearson(a, 2 * a + 1)  # closed form: r = 1 for an exact linear relation
    page = res._repr_html_()
    assert page.startswith("<table>") and "CorrelationResult" in page
    for name in res.to_dict():
        assert f">{_html.escape(name)}<" in page
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 1
    assert frame.loc[0, "r"] == 1.0 and frame.loc[0, "n"] == 12
