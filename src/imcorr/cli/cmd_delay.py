"""``imcorr delay A B``: time delay between two 1-D signals (CSV or .npy)."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from imcorr.cli._app import app
from imcorr.cli._common import cli_message, echo_json, json_option, name_arguments, print_table, warn


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_signal(path: str, column: str | None = None):
    """Read a 1-D signal from ``.npy`` (1-D, or 2-D with ``column`` as index) or CSV.

    CSV: comma, semicolon or tab separated; an optional header row names the columns.
    ``column`` is a header name or a 0-based index; a file with one column needs none.
    Empty cells become NaN (and are then refused by :func:`imcorr.estimate_delay`).
    """
    import numpy as np

    from imcorr.errors import ImageFormatError, ImageReadError, InputError

    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{path}: no such file")
    if p.suffix.lower() == ".npy":
        from imcorr.io import load

        arr = load(p)
        if arr.ndim == 2 and column is not None:
            if not column.isdigit() or int(column) >= arr.shape[1]:
                raise InputError(f"--column: {column!r} is not a column index of {path} (shape {arr.shape})")
            arr = arr[:, int(column)]
        return arr
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImageReadError(f"{path}: cannot read as a text CSV file ({exc})") from exc
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ImageFormatError(f"{path}: the CSV file has no data rows")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
        rows = list(csv.reader(lines, dialect))
    except csv.Error:
        rows = [[cell] for cell in lines]
    header = None
    if not all(_is_number(c) for c in rows[0] if c.strip()):
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    if not rows:
        raise ImageFormatError(f"{path}: the CSV file has a header but no data rows")
    ncol = max(len(r) for r in rows)
    if column is None:
        if ncol != 1:
            names = ", ".join(header) if header else ", ".join(str(i) for i in range(ncol))
            raise InputError(f"{path}: has {ncol} columns ({names}); choose one with --column")
        idx = 0
    elif header is not None and column in header:
        idx = header.index(column)
    elif column.isdigit() and int(column) < ncol:
        idx = int(column)
    else:
        names = ", ".join(header) if header else f"0..{ncol - 1}"
        raise InputError(f"--column: {column!r} is not a column of {path} (columns: {names})")
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        cell = r[idx].strip() if idx < len(r) else ""
        if not cell:
            out[i] = np.nan
        elif _is_number(cell):
            out[i] = float(cell)
        else:
            raise ImageFormatError(f"{path}: row {i + 1 + (header is not None)} column {idx}: {cell!r} is not a number")
    return out


@app.command("delay")
@click.argument("signal_a", type=click.Path(dir_okay=False))
@click.argument("signal_b", type=click.Path(dir_okay=False))
@click.option("--column", "columns", multiple=True, metavar="COLUMN",
              help="CSV column (header name or 0-based index): once for both files, or twice (first for "
                   "SIGNAL_A, then for SIGNAL_B).")
@click.option("--fs", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="Sampling frequency (samples per second).")
@click.option("--max-lag", type=click.FloatRange(0), default=None,
              help="Largest |lag| searched, in samples (a peak on this bound is flagged).")
@click.option("--raw", is_flag=True, help="Raw cross-correlation instead of the normalized one (in [-1, 1]).")
@json_option
def delay(signal_a, signal_b, columns, fs, max_lag, raw, as_json):
    """Delay of SIGNAL_B relative to SIGNAL_A (positive: B is later), from CSV or .npy files."""
    from imcorr.correlation.delay import estimate_delay

    if len(columns) > 2:
        raise click.BadParameter(f"given {len(columns)} times; give it once (both files) or twice (A, then B)",
                                 param_hint="--column")
    col_a, col_b = (columns * 2)[:2] if columns else (None, None)
    name_arguments({"x": signal_a, "y": signal_b})
    x = read_signal(signal_a, col_a)
    y = read_signal(signal_b, col_b)
    res = estimate_delay(x, y, fs=fs, max_lag=max_lag, normalize=not raw)
    if res.at_bound:
        warn(res.reason)
    if as_json:
        echo_json(res.to_dict())
        return
    print_table(
        "delay of B relative to A: B(t) = A(t - lag)",
        [
            ("lag (samples)", res.lag),
            ("lag (seconds)", res.lag_seconds),
            ("integer lag", res.integer_lag),
            ("peak " + ("ZNCC" if res.normalized else "correlation"), res.peak),
            ("fs", res.fs),
            ("note", cli_message(res.reason) if res.reason else ""),
        ],
    )
