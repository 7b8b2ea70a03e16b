"""The batch engine: run one kind of job over a table of tasks, on any scheduler, streaming rows to disk.

A *job kind* is one function registered in :data:`JOB_KINDS` (see :func:`register_job`): it takes one
task (a dict of the task's input columns, e.g. ``{"a": path, "b": path}``) and the run's options, and
returns the task's output columns (a dict), or raises. The engine does everything else, the same way for
every kind and every scheduler:

* numbers the tasks (``index``: the row of the input table) and skips, with ``resume=True``, those whose
  row is already in the output journal;
* sends them in chunks of about 0.2 s of work (:class:`_ChunkSizer`) to the executor (local threads or
  processes, or a Dask cluster), keeping at most ``2 x slots`` chunks in flight, so memory stays bounded
  on 100,000 tasks and a crash loses at most the in-flight chunks;
* holds imcorr's thread pools to ``Executor.inner_threads`` in worker processes (one per task on Dask);
* turns a task's exception into a row with ``status="error"`` and ``error="Type: message"`` (the rest run);
* writes each completed chunk's rows to the CSV journal at once (flush per chunk, fsync every 0.5 s);
* shows a rich progress bar on stderr when stderr is a terminal.

Adding a kind, e.g. ``displacement_field`` over a frame series (tasks ``{"reference": path, "frame":
path}``, columns ``dy_mean, dx_mean, ..., field_path`` written per frame) or hashing a folder into an index
(tasks ``{"path": ...}``, columns ``ahash, phash, ...``), is one call::

    register_job("hash", inputs=("path",), columns=(("phash", str),), run=_hash_one)

and a thin public wrapper (like :func:`~imcorr.parallel.compare_pairs`) that builds the tasks and calls
:func:`run_batch`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from imcorr._core.parallel import limit_threads
from imcorr._core.results import Result, no_json
from imcorr.errors import InputError
from imcorr.parallel._executors import Executor, open_executor
from imcorr.parallel._sink import (
    JournalSink,
    check_output,
    journal_path,
    read_rows,
    wants_parquet,
    write_parquet,
)

__all__ = ["BatchJob", "BatchResult", "JOB_KINDS", "register_job", "run_batch"]

ENGINE_COLUMNS = (("index", int), ("status", str), ("error", str), ("seconds", float))


@dataclasses.dataclass(frozen=True)
class BatchJob:
    """One kind of batch job (an entry of :data:`JOB_KINDS`).

    Attributes
    ----------
    name : str
        Registry key.
    inputs : tuple of str
        The task's input columns, written first in every row.
    columns : callable
        ``columns(options) -> tuple of (name, type)``: the output columns for these options.
    run : callable
        ``run(task, options) -> dict`` for one task; raises on failure. Must be importable (pickled by
        reference) to run on a cluster.
    prefer : str
        Local pool kind for these options, ``prefer(options) -> "threads" | "processes"``.
    """

    name: str
    inputs: tuple
    columns: Callable[[dict], tuple]
    run: Callable[[dict, dict], dict]
    prefer: Callable[[dict], str]


JOB_KINDS: dict[str, BatchJob] = {}


def register_job(name: str, *, inputs: Sequence[str], columns: Callable[[dict], tuple],
                 run: Callable[[dict, dict], dict], prefer: Callable[[dict], str] | None = None) -> BatchJob:
    """Register a batch job kind under ``name`` (see the module docstring) and return it.

    Examples
    --------
    >>> import imcorr
    >>> from imcorr.parallel.engine import JOB_KINDS
    >>> job = imcorr.register_job("norm", inputs=("a",), columns=lambda options: (("norm", float),),
    ...                           run=lambda task, options: {"norm": float(task["a"]) ** 2})
    >>> "norm" in JOB_KINDS
    True
    >>> del JOB_KINDS["norm"]
    """
    job = BatchJob(name=name, inputs=tuple(inputs), columns=columns, run=run,
                   prefer=prefer or (lambda options: "threads"))
    JOB_KINDS[name] = job
    return job


@dataclasses.dataclass(frozen=True)
class BatchResult(Result):
    """Summary of a batch run (:func:`run_batch`, :func:`~imcorr.parallel.compare_pairs`).

    Attributes
    ----------
    kind : str
        The job kind.
    n_tasks : int
        Tasks in the input table.
    n_run : int
        Tasks run by this call.
    n_skipped : int
        Tasks already in the output journal (``resume=True``), not run again.
    n_ok, n_error : int
        Rows of the whole output (this call and the resumed part) with ``status`` ok / error.
    out : str or None
        The output file (CSV or Parquet); None when the rows are kept in memory only.
    scheduler : str
        Where it ran (``local threads x2``, ``dask tcp://...``, ``synchronous``).
    seconds : float
        Wall time of this call.
    columns : tuple of str
        The output columns.
    """

    kind: str = ""
    n_tasks: int = 0
    n_run: int = 0
    n_skipped: int = 0
    n_ok: int = 0
    n_error: int = 0
    out: str | None = None
    scheduler: str = ""
    seconds: float = 0.0
    columns: tuple = ()
    rows: list | None = no_json()
    types: dict | None = no_json()

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per task (read back from ``out`` when the rows went to a file), in index order."""
        if self.rows is not None:
            return sorted(self.rows, key=lambda r: r["index"])
        path = Path(self.out)
        if wants_parquet(path):
            import pyarrow.parquet as pq  # optional: only Parquet output gets here

            rows = pq.read_table(path).to_pylist()
        else:
            rows = read_rows(path, self.types or {})
        return sorted(rows, key=lambda r: r["index"])


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters (malloc.h)
_malloc_tuned = False


def tune_malloc() -> bool:
    """Keep freed memory for reuse in a process that runs batch tasks (glibc only; once per process).

    Each pair allocates dozens of 0.1-1 MB temporaries; with glibc's defaults (and even more with the
    ``MALLOC_TRIM_THRESHOLD_=65536`` that dask's nanny sets for its workers) every one of them is a fresh
    ``mmap`` whose pages fault in again: measured 27-44 ms per 256^2 pair (pearson+ssim+shift), 50-68 ms
    with dask's setting, 18-20 ms with these thresholds (32 MiB mmap, 64 MiB trim). The cost is up to
    that much freed memory kept per malloc arena. ``IMCORR_BATCH_MALLOC=0`` turns it off.
    """
    global _malloc_tuned
    if _malloc_tuned or os.environ.get("IMCORR_BATCH_MALLOC", "1").lower() in ("0", "false", "no", "off"):
        return _malloc_tuned
    _malloc_tuned = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass
    return True


_pinned_threads: int | None = None


def _run_chunk(run: Callable, options: dict, tasks: list[dict], threads: int | None = None,
               client_pid: int = 0) -> list[dict]:
    """Run ``tasks`` one by one (on a worker); an exception becomes that task's error row.

    ``threads``: hold this worker process's internal thread pools to that many threads (once per
    process; never in the client's own process, whose settings belong to the user).
    """
    global _pinned_threads
    tune_malloc()
    if threads is not None and os.getpid() != client_pid and _pinned_threads != threads:
        limit_threads(threads)
        _pinned_threads = threads
    rows = []
    for task in tasks:
        t0 = time.perf_counter()
        try:
            values = run(task, options)
            row = {**task, "status": "ok", "error": None, **values}
        except Exception as exc:  # every failure of one task is a row, the rest run
            row = {**task, "status": "error", "error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
    return rows


TARGET_CHUNK_SECONDS = 0.2  # work per submitted chunk once the per-task time is known
MAX_CHUNK = 256


class _ChunkSizer:
    """Tasks per chunk: fixed (``chunk_size=``), or adaptive.

    Adaptive: the first ``2 x slots`` chunks hold one task each (they measure the per-task time); then each
    chunk holds about :data:`TARGET_CHUNK_SECONDS` of work at the running mean time per task, so a 10 ms
    task goes 20 to a chunk and the scheduler's per-chunk cost (a few ms on Dask) is paid once per 20 tasks,
    while a 5 s task goes alone. A chunk never takes more than ``remaining / (2 x slots)`` tasks, so the
    last chunks shrink and every slot finishes at about the same time.
    """

    def __init__(self, fixed: int | None, slots: int) -> None:
        self.fixed, self.slots = fixed, slots
        self.seconds = 0.0
        self.measured = 0

    def observe(self, rows: list[dict]) -> None:
        for r in rows:
            if r.get("seconds") is not None:
                self.seconds += float(r["seconds"])
                self.measured += 1

    def next_size(self, remaining: int) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.measured == 0:
            return 1
        per_task = max(self.seconds / self.measured, 1e-6)
        size = int(round(TARGET_CHUNK_SECONDS / per_task))
        return max(1, min(size, MAX_CHUNK, remaining // (2 * self.slots)))


def _progress(enabled: bool | None, total: int, kind: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or total == 0:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(f"[bold]{kind}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=False)
    bar.start()
    return bar, bar.add_task(kind, total=total)


def _resume_state(path: Path, tasks: list[dict], inputs: tuple, types: dict) -> tuple[set, int, int]:
    """Indices already done in the journal (checked against the table), and their ok / error counts."""
    done: set[int] = set()
    n_ok = n_err = 0
    for row in read_rows(path, types):
        i = row.get("index")
        if i is None or i in done:
            continue
        if not 0 <= i < len(tasks) or any(str(row.get(c)) != str(tasks[i][c]) for c in inputs):
            raise InputError(
                f"out: {path} row index {i} does not match the input table (another table?); resume with the "
                "same table, or write to a new file"
            )
        done.add(i)
        n_ok += row.get("status") == "ok"
        n_err += row.get("status") != "ok"
    return done, n_ok, n_err


def run_batch(kind: str, tasks: Iterable[dict], *, options: dict | None = None, scheduler=None,
              out=None, resume: bool = False, workers: int | None = None, chunk_size: int | None = None,
              progress: bool | None = None, on_rows: Callable[[list[dict]], None] | None = None) -> BatchResult:
    """Run the job kind ``kind`` over ``tasks``; see the module docstring.

    Parameters
    ----------
    kind : str
        A key of :data:`JOB_KINDS`.
    tasks : iterable of dict
        One dict of input columns per task (``JOB_KINDS[kind].inputs``).
    options : dict, optional
        Passed to every task (must pickle, for processes and clusters).
    scheduler : None, str or distributed.Client
        None: a local pool (threads, or processes when the job prefers them for these options);
        ``"threads"``, ``"processes"``, ``"synchronous"``; an address such as ``"tcp://host:8786"``
        (:class:`~imcorr.errors.SchedulerError` within ~8 s when unreachable) or a ``distributed.Client``.
    out : str or Path, optional
        ``.csv`` (or ``.parquet`` with pyarrow) file the rows stream to. None keeps them in memory.
    resume : bool
        Keep the rows already in ``out`` and run only the missing tasks.
    workers : int, optional
        Size of the local pool (default: the usable cores).
    chunk_size : int, optional
        Tasks per submitted chunk. Default: adaptive (one task per chunk until the time per task is
        known, then about 0.2 s of work per chunk, shrinking towards the end; see ``_ChunkSizer``).
    progress : bool, optional
        Progress bar on stderr (default: when stderr is a terminal).
    on_rows : callable, optional
        ``on_rows(rows)`` in the calling process after each completed chunk, once its rows are in the
        journal (e.g. to store them in a database as they arrive).

    Returns
    -------
    BatchResult

    Examples
    --------
    >>> import imcorr
    >>> from imcorr.parallel.engine import JOB_KINDS
    >>> _ = imcorr.register_job("square", inputs=("a",), columns=lambda options: (("square", float),),
    ...                         run=lambda task, options: {"square": float(task["a"]) ** 2})
    >>> res = imcorr.run_batch("square", [{"a": 2}, {"a": 3}], scheduler="synchronous")
    >>> res.n_ok, sorted(row["square"] for row in res.rows)
    (2, [4.0, 9.0])
    >>> del JOB_KINDS["square"]
    """
    if kind not in JOB_KINDS:
        raise InputError(f"kind: {kind!r} is not a registered job kind; choose from {sorted(JOB_KINDS)}")
    job = JOB_KINDS[kind]
    options = dict(options or {})
    tasks = [dict(t) for t in tasks]
    for i, t in enumerate(tasks):
        missing = [c for c in job.inputs if c not in t]
        if missing:
            raise InputError(f"tasks: task {i} lacks {missing}")
    out_cols = tuple(job.columns(options))
    types = {**dict(ENGINE_COLUMNS), **{c: str for c in job.inputs}, **dict(out_cols)}
    columns = ("index",) + job.inputs + ("status", "error") + tuple(c for c, _ in out_cols) + ("seconds",)
    tasks = [{"index": i, **{c: t[c] for c in job.inputs}} for i, t in enumerate(tasks)]
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise InputError(f"chunk_size: must be a positive integer, got {chunk_size!r}")

    out_path = journal = None
    done: set[int] = set()
    n_ok = n_err = 0
    if out is not None:
        out_path = Path(out)
        check_output(out_path)
        journal = journal_path(out_path)
        if resume and wants_parquet(out_path) and out_path.exists() and not journal.exists():
            import pyarrow.parquet as pq  # a finished Parquet run: nothing left to do unless the table grew

            rows = pq.read_table(out_path).to_pylist()
            JournalSink(journal, columns, resume=False).write(rows)
        if resume and journal.exists():
            done, n_ok, n_err = _resume_state(journal, tasks, job.inputs, types)
    elif resume:
        raise InputError("resume: needs out= (the file of a previous run)")
    todo = [t for t in tasks if t["index"] not in done]

    t0 = time.perf_counter()
    executor: Executor = open_executor(scheduler, workers=workers, prefer=job.prefer(options))
    sizer = _ChunkSizer(chunk_size, executor.slots)
    sink = JournalSink(journal, columns, resume=resume) if journal is not None else None
    kept: list[dict] | None = [] if sink is None else None
    bar = _progress(progress, len(tasks), kind)
    if bar is not None:
        bar[0].update(bar[1], completed=len(done))
    pending: set = set()
    owner: dict = {}
    nxt = 0
    window = 2 * executor.slots
    client_pid = os.getpid()
    try:
        while nxt < len(todo) or pending:
            while nxt < len(todo) and len(pending) < window:
                chunk = todo[nxt: nxt + sizer.next_size(len(todo) - nxt)]
                fut = executor.submit(_run_chunk, job.run, options, chunk, executor.inner_threads, client_pid)
                owner[fut] = chunk
                pending.add(fut)
                nxt += len(chunk)
            finished, pending = executor.wait_first(pending)
            for fut in finished:
                chunk = owner.pop(fut)
                try:
                    rows = executor.result(fut)
                except Exception as exc:  # the worker died or the task could not be shipped: error rows
                    msg = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
                    rows = [{**t, "status": "error", "error": f"worker failed: {msg}"} for t in chunk]
                sizer.observe(rows)
                if sink is not None:
                    sink.write(rows)
                else:
                    kept.extend({c: r.get(c) for c in columns} for r in rows)
                if on_rows is not None:
                    on_rows(rows)
                ok = sum(r["status"] == "ok" for r in rows)
                n_ok += ok
                n_err += len(rows) - ok
                if bar is not None:
                    bar[0].advance(bar[1], len(rows))
    except BaseException:
        executor.cancel(pending)
        raise
    finally:
        if bar is not None:
            bar[0].stop()
        if sink is not None:
            sink.close()
        executor.close()
    if out_path is not None and wants_parquet(out_path):
        write_parquet(journal, out_path, types)
    return BatchResult(
        kind=kind, n_tasks=len(tasks), n_run=len(todo), n_skipped=len(done), n_ok=n_ok, n_error=n_err,
        out=None if out_path is None else str(out_path), scheduler=executor.describe,
        seconds=time.perf_counter() - t0, columns=columns, rows=kept, types=types,
    )
