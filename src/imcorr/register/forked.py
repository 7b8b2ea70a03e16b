"""Register the frames of an in-memory stack in forked worker processes (see :func:`register_forked`).

Why processes, and why fork
---------------------------
One frame costs ~1.2-1.4 ms of CPU, of which ~0.35 ms is Python (crop choice, convergence
bookkeeping, verdicts) and the rest ~15 separate FFT and native calls. Threads share one GIL: each
of those calls hands it over, and on a 2-core virtual machine the hand-overs cost so much that two
threads ran a stack only 1.13-1.36x faster than one (measured: the CPU time per frame rose from 1.44
to 1.96 ms), while two processes ran it 1.80x faster. A stack held in memory (or a memmap) reaches
the workers without a copy only by ``fork``: the children see the parent's pages copy-on-write,
including the :class:`~imcorr.register.translation.Registrar` with its reference spectrum, so nothing
is pickled but the results. ``spawn`` would copy the stack (about as long as registering it).

What makes the fork safe here: a child runs only imcorr's registration of its frames, inline (the
two-branch thread split is off, BLAS keeps the caller's one-thread limit), takes
no lock another thread of the parent could hold (the work counter's lock is created before the fork
and used only by the children), prints nothing and leaves through ``os._exit`` (multiprocessing's
fork start method). On Python 3.12+ CPython warns about any fork of a multi-threaded process; that
warning is silenced for these forks only, for the reasons above.

Work is shared dynamically: the children take chunks of consecutive frames from a shared counter, so
a slower core takes fewer. Results come back per chunk through a pipe; the parent reports progress in
frame order. A child that raises sends its exception (re-raised in the parent, the other children
stopped); a child that dies without a word (killed, crashed) is reported as
:class:`~imcorr.errors.ImcorrError` with its exit code.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from multiprocessing.connection import wait

import numpy as np

from imcorr._core import pairpool
from imcorr.errors import ImcorrError
from imcorr.register.results import ShiftResult
from imcorr.register.translation import Registrar

__all__: list[str] = []

#: frames per chunk handed to a child at most (small enough for progress, large enough to amortise the pipe)
MAX_CHUNK = 16


def fork_available() -> bool:
    """Whether this platform can start processes by ``fork`` (Linux and most POSIX systems)."""
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


def chunk_size(n_frames: int, workers: int) -> int:
    """Frames per chunk: about 8 chunks per worker, at most :data:`MAX_CHUNK`, at least 1."""
    return max(1, min(MAX_CHUNK, n_frames // (8 * workers)))


def _child(registrar: Registrar, frames: np.ndarray, counter, lock, conn, chunk: int) -> None:
    """Worker body: take chunks of frames from ``counter`` until none is left; send ``(start, results)``."""
    # this process is one of several sharing the cores: both branches of a frame inline. BLAS keeps the
    # one-thread limit the caller entered before the fork; limiting it again here (threadpoolctl after
    # a fork) left a thread spinning in OpenBLAS: +0.25 ms of CPU per frame, measured
    pairpool.set_enabled(False)
    n = len(frames)
    try:
        while True:
            with lock:
                start = counter.value
                counter.value = start + chunk
            if start >= n:
                break
            out = [registrar.estimate(frames[i]) for i in range(start, min(n, start + chunk))]
            conn.send((start, out))
        conn.send((None, None))
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent, which re-raises it
        try:
            conn.send(("error", exc))
        except Exception:  # an exception that does not pickle: its text
            conn.send(("error", ImcorrError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def register_forked(registrar: Registrar, frames: np.ndarray, workers: int, progress) -> list[ShiftResult]:
    """``[registrar.estimate(f) for f in frames]`` computed by ``workers`` forked processes.

    ``progress(n_done)`` is called in the parent, in frame order, as results arrive. Call it inside
    :func:`imcorr._core.parallel.single_blas_thread` (as :func:`~imcorr.register.stack.estimate_shifts`
    does): the children keep that limit.
    """
    ctx = multiprocessing.get_context("fork")
    n = len(frames)
    chunk = chunk_size(n, workers)
    counter, lock = ctx.RawValue("q", 0), ctx.Lock()
    procs, conns = [], []
    results: list[ShiftResult | None] = [None] * n
    try:
        with warnings.catch_warnings():  # Python 3.12+: "This process ... is multi-threaded" (see module notes)
            warnings.filterwarnings("ignore", message=".*multi-threaded.*fork", category=DeprecationWarning)
            for _ in range(workers):
                recv, send = ctx.Pipe(duplex=False)
                p = ctx.Process(target=_child, args=(registrar, frames, counter, lock, send, chunk),
                                name="imcorr-register-stack", daemon=True)
                p.start()
                send.close()
                procs.append(p)
                conns.append(recv)
        _collect(procs, conns, results, progress)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
        for c in conns:
            c.close()
    return results  # type: ignore[return-value] - every slot is filled when _collect returns


def _collect(procs, conns, results, progress) -> None:
    """Receive every child's chunks into ``results``; report progress over the finished prefix."""
    live = dict(zip(conns, procs))
    done = 0
    while live:
        for conn in wait(list(live)):
            try:
                start, out = conn.recv()
            except EOFError:  # the child died without its closing message
                proc = live.pop(conn)
                proc.join()
                raise ImcorrError(
                    f"estimate_shifts: a worker process ended unexpectedly (exit code {proc.exitcode}); "
                    "run with processes=False to register the frames on threads"
                ) from None
            if start is None:
                del live[conn]
            elif start == "error":
                raise out
            else:
                results[start:start + len(out)] = out
                while done < len(results) and results[done] is not None:
                    done += 1
                    if progress is not None:
                        progress(done)
