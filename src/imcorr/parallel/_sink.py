"""The results journal of a batch: a CSV file appended row by row, flushed per completed task and fsynced
at least every ``FSYNC_SECONDS``, read back by ``resume=True``.

A process killed mid-run (SIGKILL, OOM killer, a lost node) leaves every row that was written before the
kill in the file: rows are written and flushed (handed to the OS) as soon as their task completes, so only
the tasks still in flight are lost. ``fsync`` bounds what a power loss can take to ``FSYNC_SECONDS``. A
torn last line (the process died inside a ``write``) is cut off when the journal is reopened.

Parquet output is written from the finished journal (a Parquet file without its footer is unreadable, so
it cannot be the crash-safe journal itself): ``out.parquet`` journals to ``out.parquet.partial.csv``.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from imcorr.errors import InputError, MissingDependencyError

__all__ = ["FSYNC_SECONDS", "JournalSink", "journal_path", "parse_value", "read_rows"]

FSYNC_SECONDS = 0.5

_PARQUET = (".parquet", ".pq")


def journal_path(out: Path) -> Path:
    """The CSV journal that backs ``out`` (``out`` itself for CSV)."""
    return out.with_name(out.name + ".partial.csv") if out.suffix.lower() in _PARQUET else out


def wants_parquet(out: Path) -> bool:
    return out.suffix.lower() in _PARQUET


def check_output(out: Path) -> None:
    """Refuse an output format we cannot write before any work is done."""
    suffix = out.suffix.lower()
    if suffix in _PARQUET:
        try:
            import pyarrow  # noqa: F401  (optional, only for Parquet output)
        except ImportError as exc:
            raise MissingDependencyError(
                f"out: {out} asks for Parquet, which needs pyarrow (pip install pyarrow); or write .csv"
            ) from exc
    elif suffix != ".csv":
        raise InputError(f"out: {out} must end in .csv (or .parquet with pyarrow installed)")
    if out.is_dir():
        raise InputError(f"out: {out} is a directory; give a file name ending in .csv")


def _format(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else repr(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def parse_value(text: str, kind: type) -> Any:
    """A CSV cell back as ``kind`` (float, int, bool or str); the empty string is None."""
    if text == "":
        return None
    if kind is float:
        return float(text)
    if kind is int:
        return int(text)
    if kind is bool:
        return text == "true"
    return text


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (no newline: the writer died inside a write)."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        step = min(size, 1 << 16)
        pos = size
        while pos > 0:
            start = max(0, pos - step)
            fh.seek(start)
            chunk = fh.read(pos - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                fh.truncate(start + cut + 1)
                return
            pos = start
        fh.truncate(0)


def read_rows(path: Path, types: dict[str, type]) -> list[dict[str, Any]]:
    """Every complete row of a journal, typed (a torn last line is ignored)."""
    with open(path, newline="", encoding="utf-8") as fh:
        text = fh.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(text.splitlines())
    return [{k: parse_value(v if v is not None else "", types.get(k, str)) for k, v in row.items()} for row in reader]


class JournalSink:
    """Append-only CSV journal with a fixed header; see the module docstring."""

    def __init__(self, path: Path, columns: Sequence[str], *, resume: bool) -> None:
        self.path = path
        self.columns = list(columns)
        fresh = not (resume and path.exists() and path.stat().st_size > 0)
        if not fresh:
            _repair_tail(path)
            with open(path, newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh), None)
            if header is None:
                fresh = True
            elif header != self.columns:
                raise InputError(
                    f"out: {path} has columns {header}, this run writes {self.columns} (other metrics or job?); "
                    "resume with the same options, or write to a new file"
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "w" if fresh else "a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        if fresh:
            self._writer.writerow(self.columns)
            self._sync(force=True)
        self._last_sync = time.monotonic()

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows (one completed task's batch), flush them to the OS, fsync when due."""
        for row in rows:
            self._writer.writerow([_format(row.get(c)) for c in self.columns])
        self._sync()

    def _sync(self, force: bool = False) -> None:
        self._fh.flush()
        now = time.monotonic()
        if force or now - getattr(self, "_last_sync", 0.0) >= FSYNC_SECONDS:
            os.fsync(self._fh.fileno())
            self._last_sync = now

    def close(self) -> None:
        if not self._fh.closed:
            self._sync(force=True)
            self._fh.close()


def write_parquet(journal: Path, out: Path, types: dict[str, type]) -> None:
    """Convert a finished journal to Parquet (typed columns) and remove the journal."""
    import pyarrow as pa  # optional, checked by check_output
    import pyarrow.parquet as pq

    rows = read_rows(journal, types)
    arrow_types = {float: pa.float64(), int: pa.int64(), bool: pa.bool_(), str: pa.string()}
    with open(journal, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    schema = pa.schema([(c, arrow_types[types.get(c, str)]) for c in header])
    table = pa.Table.from_pylist(rows, schema=schema)
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out)
    journal.unlink()
