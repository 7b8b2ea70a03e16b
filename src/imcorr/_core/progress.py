"""Progress reporting for long operations, shared by every capability.

A capability wraps a long loop in :func:`task` and calls :meth:`Task.advance` once per
chunk of work; nothing is shown (and almost nothing is spent: one attribute test per
call) unless someone installed a sink with :func:`reporting`. The CLI installs
:func:`rich_progress`, a progress bar on stderr, when stderr is a terminal and ``--quiet``
was not given. Library users can install any callback::

    from imcorr._core.progress import reporting
    with reporting(lambda t: print(t.description, t.done, t.total)):
        imcorr.kendall(a, b)

The sink is process-wide (not per thread), so work running on thread pools reports too.
Operations that report: Kendall's tau on large inputs, block-permutation p-values, batch
hashing, rotation and scale search (steps done / total).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Task", "task", "reporting", "rich_progress", "active"]

_sinks: list[Callable[[Task], None]] = []
_lock = threading.Lock()


class Task:
    """One reported operation: ``description``, ``done`` out of ``total`` (None: unknown)."""

    __slots__ = ("description", "total", "done", "finished", "started", "_sink")

    def __init__(self, description: str, total: float | None, sink: Callable[[Task], None] | None):
        self.description = description
        self.total = total
        self.done = 0.0
        self.finished = False
        self.started = time.monotonic()
        self._sink = sink

    def advance(self, amount: float = 1) -> None:
        """Count ``amount`` more units of work as done and tell the sink."""
        if self._sink is None:
            return
        with _lock:  # the sink sees each count once, also when pool threads report
            self.done += amount
            self._sink(self)

    def __enter__(self) -> Task:
        if self._sink is not None:
            self._sink(self)
        return self

    def __exit__(self, *exc) -> None:
        if self._sink is None:
            return
        self.finished = True
        if self.total is not None:
            self.done = self.total
        self._sink(self)


def active() -> bool:
    """True when a sink is installed (capabilities may skip the bookkeeping otherwise)."""
    return bool(_sinks)


def task(description: str, total: float | None = None) -> Task:
    """A :class:`Task` reporting to the current sink (a no-op without one); use it with ``with``."""
    return Task(description, total, _sinks[-1] if _sinks else None)


@contextmanager
def reporting(callback: Callable[[Task], None]) -> Iterator[None]:
    """Send every :class:`Task` event to ``callback(task)`` inside the block."""
    _sinks.append(callback)
    try:
        yield
    finally:
        _sinks.remove(callback)


@contextmanager
def rich_progress(delay: float = 0.5, stream=None) -> Iterator[None]:
    """A rich progress bar on ``stream`` (stderr) for tasks running longer than ``delay`` seconds.

    Quick operations print nothing; the bar disappears when its task ends (transient).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(file=stream or sys.stderr)
    bar = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, transient=True,
    )
    ids: dict[int, int] = {}
    timers: dict[int, threading.Timer] = {}
    state = {"live": False}
    guard = threading.Lock()

    def sink(t: Task) -> None:
        with guard:
            key = id(t)
            if t.finished:
                timer = timers.pop(key, None)
                if timer is not None:
                    timer.cancel()
                if key in ids:
                    bar.remove_task(ids.pop(key))
                return
            if key not in ids:
                wait = delay - (time.monotonic() - t.started)
                if wait > 0:
                    if key not in timers:  # show it later if it is still running then
                        timers[key] = threading.Timer(wait, sink, (t,))
                        timers[key].daemon = True
                        timers[key].start()
                    return
                if not state["live"]:
                    bar.start()
                    state["live"] = True
                ids[key] = bar.add_task(t.description, total=t.total)
            bar.update(ids[key], completed=t.done)

    try:
        with reporting(sink):
            yield
    finally:
        for timer in timers.values():
            timer.cancel()
        if state["live"]:
            bar.stop()
