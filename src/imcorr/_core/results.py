"""Base class for result objects.

Results are frozen dataclasses with named fields, in the spirit of scipy.stats
results. ``to_dict()`` returns plain, JSON-safe Python values: numpy scalars become
Python numbers, tuples and small arrays become lists, NaN and +-Inf become ``None``
(JSON has no NaN; the accompanying ``reason`` field says why a value is missing).

Fields declared with ``field(metadata={"json": False})`` (large arrays such as maps
and surfaces) are left out of ``to_dict()``.
"""

from __future__ import annotations

import dataclasses
import html
import math
from typing import Any

import numpy as np

__all__ = ["Result", "axis_names", "format_value", "json_safe", "no_json"]

_MAX_JSON_ARRAY = 4096


def no_json(default: Any = None) -> Any:
    """A dataclass field that ``to_dict()`` leaves out (for big arrays)."""
    return dataclasses.field(default=default, metadata={"json": False}, repr=False, compare=False)


def json_safe(value: Any) -> Any:
    """Convert numpy/Python values into JSON-serialisable plain Python values."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.size > _MAX_JSON_ARRAY:
            return {"shape": list(value.shape), "dtype": str(value.dtype)}
        return [json_safe(v) for v in value.tolist()] if value.ndim else json_safe(value.item())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.str_,)):
        return str(value)
    return value


@dataclasses.dataclass(frozen=True)
class Result:
    """Frozen result base class with a JSON-friendly :meth:`to_dict`."""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a dict of plain, JSON-safe Python values."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("json", True) is False:
                continue
            out[f.name] = json_safe(getattr(self, f.name))
        return out

    def _repr_html_(self) -> str:
        """A compact HTML table of the JSON fields (Jupyter shows it); big arrays as their shape."""
        rows = []
        for name, value in self.to_dict().items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                value = f"{len(value)} rows"
            elif isinstance(value, dict) and set(value) == {"shape", "dtype"}:
                value = f"array {tuple(value['shape'])} {value['dtype']}"
            rows.append(f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                        f"<td style='text-align:left'>{html.escape(format_value(value))}</td></tr>")
        table = f"<table><caption>{html.escape(type(self).__name__)}</caption>{''.join(rows)}</table>"
        thumb = _thumbnail_html(getattr(self, "map", None))
        return table if not thumb else f"<div style='display:flex;gap:12px;align-items:flex-start'>{table}{thumb}</div>"

    def to_rows(self) -> list[dict[str, Any]]:
        """The result as table rows (one row here; results with per-item rows override it)."""
        return [self.to_dict()]

    def to_frame(self):
        """:meth:`to_rows` as a pandas DataFrame (pandas is optional: without it, the list of dicts)."""
        rows = self.to_rows()
        try:
            import pandas as pd  # optional dependency, imported only here
        except ImportError:
            return rows
        return pd.DataFrame(rows)


_THUMB_SIDE = 160


def _thumbnail_html(m: Any) -> str:
    """A small inline PNG (viridis, NaN gray) of a 2-D map field, or "" (no map, not 2-D, or no PIL)."""
    if not isinstance(m, np.ndarray) or m.ndim not in (2, 3) or m.size == 0 or m.dtype.kind not in "fiub":
        return ""
    a = np.asarray(m, dtype=np.float64)
    if a.ndim == 3:  # per-channel maps: their mean
        a = a.mean(axis=-1)
    step = max(1, -(-max(a.shape) // _THUMB_SIDE))
    a = a[::step, ::step]
    finite = np.isfinite(a)
    try:
        import base64
        import io

        from matplotlib import colormaps
        from PIL import Image
    except ImportError:  # pragma: no cover - both are dependencies
        return ""
    lo, hi = (float(a[finite].min()), float(a[finite].max())) if finite.any() else (0.0, 1.0)
    scaled = (np.where(finite, a, lo) - lo) / ((hi - lo) or 1.0)
    rgb = (colormaps["viridis"](scaled)[..., :3] * 255).round().astype(np.uint8)
    rgb[~finite] = 153
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"<figure style='margin:0'><img src='{src}' alt='map' width='{rgb.shape[1]}' height='{rgb.shape[0]}'>"
            f"<figcaption style='font-size:smaller'>map {html.escape(str(tuple(m.shape)))}, "
            f"{lo:.3g} .. {hi:.3g} (gray: undefined)</figcaption></figure>")


def axis_names(ndim: int, prefix: str = "") -> tuple[str, ...]:
    """Names of the axes of an ``ndim``-D array in imcorr's (z, y, x) order, e.g. ``("dy", "dx")`` with prefix "d".

    More than three axes are called ``axis0, axis1, ...`` (no prefix).
    """
    if ndim <= 3:
        return tuple(prefix + n for n in ("z", "y", "x")[3 - ndim:])
    return tuple(f"axis{i}" for i in range(ndim))


def format_value(v: Any) -> str:
    """A number, flag or text as a short human-readable string (tables of the CLI and the demo)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if np.isnan(v):
            return "nan"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
            return f"{v:.4g}"
        return f"{v:.6f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:.4g}"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(format_value(x) for x in v) + ")"
    return str(v)
