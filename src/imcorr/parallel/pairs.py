"""``compare_pairs``: metrics over a table of image pairs, on a local pool or a Dask cluster.

The pair job is one entry of the engine's job table (:data:`~imcorr.parallel.JOB_KINDS`, kind
``"pairs"``); its metrics are a registry of their own, :data:`PAIR_METRICS`, so a new metric is one
decorated function (:func:`register_pair_metric`).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from imcorr.correlation import pearson
from imcorr.errors import ImageReadError, InputError, ShapeMismatchError
from imcorr.io import load
from imcorr.parallel.engine import BatchResult, register_job, run_batch
from imcorr.register import estimate_shift
from imcorr.similarity import ssim

__all__ = ["PAIR_METRICS", "PairMetric", "compare_pairs", "read_pairs", "register_pair_metric"]


@dataclasses.dataclass(frozen=True)
class PairMetric:
    """One metric of :func:`compare_pairs` (an entry of :data:`PAIR_METRICS`).

    Attributes
    ----------
    name : str
        The name given in ``metrics=``.
    columns : tuple of (str, type)
        The output columns it fills.
    compute : callable
        ``compute(a, b, options) -> dict`` of those columns, for two loaded gray images of one shape.
    holds_gil : bool
        True when threads would not speed it up: most of its time is Python holding the GIL, or many
        short calls whose GIL hand-overs cost more than they overlap (the local pool then uses processes).
    """

    name: str
    columns: tuple
    compute: Callable[[np.ndarray, np.ndarray, dict], dict]
    holds_gil: bool = False


PAIR_METRICS: dict[str, PairMetric] = {}


def register_pair_metric(name: str, columns: Sequence[tuple[str, type]], *, holds_gil: bool = False):
    """Decorator: register ``compute(a, b, options) -> dict`` as the pair metric ``name``.

    Examples
    --------
    >>> import imcorr
    >>> from imcorr.parallel.pairs import PAIR_METRICS
    >>> @imcorr.register_pair_metric("max_abs", [("max_abs", float)])
    ... def _max_abs(a, b, options):
    ...     return {"max_abs": float(abs(a.astype(float) - b).max())}
    >>> "max_abs" in PAIR_METRICS
    True
    >>> del PAIR_METRICS["max_abs"]
    """

    def deco(fn):
        PAIR_METRICS[name] = PairMetric(name=name, columns=tuple(columns), compute=fn, holds_gil=holds_gil)
        return fn

    return deco


@register_pair_metric("pearson", (("pearson", float), ("pearson_reason", str)))
def _pearson(a, b, options):
    res = pearson(a, b)
    return {"pearson": float(res.r), "pearson_reason": res.reason}


@register_pair_metric("ssim", (("ssim", float), ("ssim_reason", str)))
def _ssim(a, b, options):
    res = ssim(a, b, data_range=options.get("data_range"))
    return {"ssim": float(res.ssim), "ssim_reason": res.reason}


# holds_gil: a registration is ~20 short native/FFT calls with Python between them; each GIL hand-over
# costs CPU, so two threads were no faster than the serial loop (docs/parallel.md, measured 2026-12-07)
@register_pair_metric("shift", (("dy", float), ("dx", float), ("shift_uncertainty", float),
                                ("shift_reason", str)), holds_gil=True)
def _shift(a, b, options):
    res = estimate_shift(a, b)
    dy, dx = (float(v) for v in res.shift[-2:])
    return {"dy": dy, "dx": dx, "shift_uncertainty": float(res.uncertainty), "shift_reason": res.reason}


def _load_pair(a_path: str, b_path: str) -> tuple[np.ndarray, np.ndarray]:
    a = load(a_path, gray=True)
    b = load(b_path, gray=True)
    if a.shape != b.shape:
        raise ShapeMismatchError(f"{a_path} has shape {a.shape}, {b_path} has shape {b.shape}; a pair must match")
    return a, b


def _run_pair(task: dict, options: dict) -> dict:
    """The ``pairs`` job: load both images (gray) once, then every requested metric."""
    a, b = _load_pair(task["a"], task["b"])
    out: dict[str, Any] = {}
    for name in options["metrics"]:
        out.update(PAIR_METRICS[name].compute(a, b, options))
    return out


def _run_pair_task(task: dict, options: dict) -> dict:
    base = options.get("base")
    a, b = task["a"], task["b"]
    if base is not None:
        a, b = (p if os.path.isabs(p) else os.path.join(base, p) for p in (a, b))
    return _run_pair({"a": a, "b": b}, options)


def _columns(options: dict) -> tuple:
    return tuple(col for name in options["metrics"] for col in PAIR_METRICS[name].columns)


def _prefer(options: dict) -> str:
    return "processes" if any(PAIR_METRICS[m].holds_gil for m in options["metrics"]) else "threads"


register_job("pairs", inputs=("a", "b"), columns=_columns, run=_run_pair_task, prefer=_prefer)


def read_pairs(path) -> list[tuple[str, str]]:
    """The (a, b) rows of a pairs CSV (header with columns ``a`` and ``b``; other columns are ignored).

    Raises
    ------
    InputError
        When the file lacks a column ``a`` or ``b`` (the message names the missing and the present columns).

    Examples
    --------
    >>> import os, tempfile
    >>> import imcorr
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "pairs.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("a,b,note\\nx.png,y.png,first\\n")
    ...     imcorr.read_pairs(path)
    [('x.png', 'y.png')]
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"pairs: {p} does not exist (a CSV with columns a,b)")
    with open(p, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("a", "b") if c not in header]
        if missing:
            raise InputError(
                f"pairs: {p} lacks column(s) {', '.join(missing)} (it has: {', '.join(header) or 'no header'}); "
                "the first line must name the columns a,b"
            )
        reader.fieldnames = header
        rows = []
        for k, row in enumerate(reader, start=2):
            a, b = (row.get("a") or "").strip(), (row.get("b") or "").strip()
            if not a or not b:
                raise InputError(f"pairs: {p} line {k} has an empty a or b")
            rows.append((a, b))
    return rows


def _as_pairs(pairs) -> tuple[list[tuple[str, str]], str | None]:
    if isinstance(pairs, (str, os.PathLike)):
        return read_pairs(pairs), str(Path(pairs).resolve().parent)
    if hasattr(pairs, "columns") and hasattr(pairs, "itertuples"):  # a DataFrame
        missing = [c for c in ("a", "b") if c not in pairs.columns]
        if missing:
            raise InputError(f"pairs: the table lacks column(s) {', '.join(missing)} (it has: {list(pairs.columns)})")
        return [(str(a), str(b)) for a, b in zip(pairs["a"], pairs["b"])], None
    out = []
    for k, item in enumerate(pairs):
        try:
            a, b = item
        except (TypeError, ValueError) as exc:
            raise InputError(f"pairs: item {k} is {item!r}, expected a pair (a, b) of paths") from exc
        out.append((os.fspath(a), os.fspath(b)))
    return out, None


def compare_pairs(pairs, *, metrics: Sequence[str] = ("pearson", "ssim", "shift"), scheduler=None, out=None,
                  resume: bool = False, workers: int | None = None, data_range=None,
                  chunk_size: int | None = None, progress: bool | None = None) -> BatchResult:
    """Compare many image pairs, on a local pool or a Dask cluster, streaming one row per pair.

    Parameters
    ----------
    pairs : str, Path, DataFrame or iterable of (a, b)
        A CSV file whose header names columns ``a`` and ``b`` (relative paths are relative to the CSV's
        folder), a table with those columns, or an iterable of path pairs (relative to the working folder).
        Images are read with :func:`imcorr.io.load` as gray.
    metrics : sequence of str
        Keys of :data:`PAIR_METRICS`: ``pearson`` (r), ``ssim``, ``shift`` (``dy``, ``dx``: the displacement
        of ``b``'s content relative to ``a``, :func:`imcorr.estimate_shift`). Each fills its columns and a
        ``<metric>_reason`` when undefined.
    scheduler : None, str or distributed.Client
        None: a local pool, of processes if a chosen metric holds the GIL (``shift`` does), else of
        threads (docs/parallel.md, "Schedulers and the GIL"). ``"threads"``,
        ``"processes"``, ``"synchronous"`` choose explicitly. ``"tcp://host:8786"`` or a
        ``distributed.Client`` run on that Dask cluster; an unreachable address raises
        :class:`~imcorr.errors.SchedulerError` naming it within ~8 s.
    out : str or Path, optional
        ``.csv`` file the rows stream to as pairs complete (``.parquet`` if pyarrow is installed; it is
        converted from a CSV journal at the end). An existing file is overwritten unless ``resume``.
        None keeps the rows in memory.
    resume : bool
        Keep the rows already in ``out`` (finished or failed pairs) and run only the others.
    workers : int, optional
        Local pool size (default: the usable cores).
    data_range : float, optional
        SSIM's ``data_range`` for float images (integer images use their dtype's range).
    chunk_size : int, optional
        Pairs per submitted task. Default: adaptive, about 0.2 s of work per task once the time per pair
        is measured (see :func:`~imcorr.parallel.run_batch`).
    progress : bool, optional
        Progress bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    BatchResult
        Counts (``n_ok``, ``n_error``, ``n_skipped``...), ``out``; ``to_frame()`` gives one row per pair:
        ``index, a, b, status, error``, the metric columns and ``seconds``. A failing pair (missing file,
        shape mismatch, unreadable image) is a row with ``status="error"`` and the error; the rest run.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from imcorr.parallel import compare_pairs
    >>> d = tempfile.mkdtemp()
    >>> rng = np.random.default_rng(0)
    >>> img = (rng.random((32, 32)) * 255).astype(np.uint8)
    >>> np.save(os.path.join(d, "x.npy"), img)
    >>> res = compare_pairs([(os.path.join(d, "x.npy"), os.path.join(d, "x.npy")),
    ...                      (os.path.join(d, "x.npy"), os.path.join(d, "missing.npy"))],
    ...                     metrics=("pearson",), scheduler="synchronous")
    >>> res.n_ok, res.n_error
    (1, 1)
    >>> [round(r["pearson"], 3) if r["pearson"] is not None else r["status"] for r in res.to_rows()]
    [1.0, 'error']
    """
    if isinstance(metrics, str):
        metrics = tuple(m.strip() for m in metrics.split(",") if m.strip())
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in PAIR_METRICS]
    if unknown or not metrics:
        raise InputError(f"metrics: {unknown or 'none given'}; choose from {sorted(PAIR_METRICS)}")
    if len(set(metrics)) != len(metrics):
        raise InputError(f"metrics: {list(metrics)} names a metric twice")
    table, base = _as_pairs(pairs)
    options = {"metrics": metrics, "data_range": data_range, "base": base}
    return run_batch("pairs", ({"a": a, "b": b} for a, b in table), options=options, scheduler=scheduler,
                     out=out, resume=resume, workers=workers, chunk_size=chunk_size, progress=progress)

