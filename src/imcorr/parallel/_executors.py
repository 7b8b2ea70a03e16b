"""Where a batch runs: one small interface over a local pool and a Dask cluster.

The engine only needs ``submit``, ``wait_first`` (the futures that finished), ``result`` and ``close``:
``concurrent.futures`` pools and ``dask.distributed`` clients both provide them, so the batch loop is one
code path for every scheduler.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any

from imcorr.errors import InputError, MissingDependencyError, SchedulerError

__all__ = ["CONNECT_TIMEOUT", "Executor", "open_executor", "usable_cores"]

CONNECT_TIMEOUT = 4.0  # seconds for the TCP connect, then again for the Dask handshake: SchedulerError within ~8 s


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Executor:
    """A pool of ``slots`` task slots; ``describe`` says what it is (``threads x2``, ``tcp://...``).

    ``inner_threads``: the threads each task may use inside imcorr (FFT, BLAS...) when it runs in a
    worker process of its own; None leaves the process's settings alone (threads of the caller's process).
    """

    describe: str = ""
    slots: int = 1
    inner_threads: int | None = None

    def submit(self, fn: Callable, *args: Any) -> Any:
        raise NotImplementedError

    def wait_first(self, pending: set) -> tuple[set, set]:
        raise NotImplementedError

    def result(self, future: Any) -> Any:
        return future.result()

    def cancel(self, futures: set) -> None:
        for f in futures:
            f.cancel()

    def close(self) -> None:
        pass


class _Synchronous(Executor):
    """Runs each task at submit time in the calling thread (debugging, and the serial baseline)."""

    def __init__(self) -> None:
        self.describe, self.slots = "synchronous", 1

    def submit(self, fn, *args):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # the engine turns it into error rows
            fut.set_exception(exc)
        return fut

    def wait_first(self, pending):
        return set(pending), set()


class _Pool(Executor):
    def __init__(self, kind: str, workers: int) -> None:
        self.slots = workers
        self.describe = f"local {kind} x{workers}"
        if kind == "threads":
            self._pool: cf.Executor = cf.ThreadPoolExecutor(workers, thread_name_prefix="imcorr-batch")
        else:
            # spawn: the parent may run threads (progress bar, BLAS), which fork would copy mid-lock
            self._pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            self.inner_threads = max(1, usable_cores() // workers)

    def submit(self, fn, *args):
        return self._pool.submit(fn, *args)

    def wait_first(self, pending):
        done, rest = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        return set(done), set(rest)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Dask(Executor):
    def __init__(self, client: Any, own: bool, address: str) -> None:
        self.client = client
        self._own = own
        self.describe = f"dask {address}"
        info = client.scheduler_info()
        workers = info.get("workers", {})
        self.slots = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        # a Dask worker runs ``nthreads`` tasks at once and Dask sizes nthreads to its cores: one core per
        # task, so imcorr's own thread pools are held to one thread in the worker processes
        self.inner_threads = 1
        self._wait = None

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def wait_first(self, pending):
        from distributed import wait  # optional dependency

        with self.client.as_current():
            res = wait(list(pending), return_when="FIRST_COMPLETED")
        return set(res.done), set(res.not_done)

    def cancel(self, futures: set) -> None:
        if futures:
            self.client.cancel(list(futures))

    def close(self) -> None:
        if self._own:
            self.client.close()


def _preflight(address: str, timeout: float) -> None:
    """A plain TCP connect first: a refused or unroutable address fails at once, named, not after retries."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls"):
        return  # inproc://, ucx://...: left to distributed
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise SchedulerError(f"scheduler: {address} has no valid port ({exc})") from exc
    if not host or port is None:
        raise SchedulerError(f"scheduler: {address} must be scheme://host:port, e.g. tcp://127.0.0.1:8786")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise SchedulerError(
            f"scheduler: cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); "
            "start one (dask scheduler) or check the address and port"
        ) from exc


def _connect(address: str, timeout: float):
    try:
        from distributed import Client
    except ImportError as exc:
        raise MissingDependencyError(
            f"scheduler: {address} needs dask.distributed (pip install 'imcorr[dask]')"
        ) from exc
    _preflight(address, timeout)
    # distributed's own timeout covers the TCP connect, not a peer that accepts and never answers the
    # handshake: connect in a daemon thread and give up after ``timeout`` seconds whatever happens there
    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=connect, name="imcorr-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if "client" in box:
        return box["client"]
    exc = box.get("error")
    why = f"{type(exc).__name__}: {exc}" if exc is not None else f"no handshake within {timeout + 1.0:g} s"
    raise SchedulerError(
        f"scheduler: no Dask scheduler answered at {address} ({why}); "
        "start one (dask scheduler) or check the address and port"
    ) from exc


_LOCAL = ("threads", "processes", "synchronous")


def open_executor(scheduler: Any, *, workers: int | None, prefer: str) -> Executor:
    """An executor for ``scheduler``: None (the local pool of kind ``prefer``), ``"threads"``,
    ``"processes"``, ``"synchronous"``, a scheduler address or a ``distributed.Client``."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers: must be a positive integer, got {workers!r}")
    if scheduler is None:
        scheduler = prefer
    if isinstance(scheduler, str):
        if scheduler == "synchronous":
            return _Synchronous()
        if scheduler in _LOCAL:
            return _Pool(scheduler, workers or usable_cores())
        if "://" in scheduler:
            if workers is not None:
                raise InputError("workers: a cluster has its own workers; drop workers= with scheduler=")
            return _Dask(_connect(scheduler, CONNECT_TIMEOUT), True, scheduler)
        raise InputError(
            f"scheduler: {scheduler!r} is not one of {_LOCAL} nor an address such as tcp://host:8786"
        )
    if type(scheduler).__name__ == "Client" and hasattr(scheduler, "submit"):
        if workers is not None:
            raise InputError("workers: a cluster has its own workers; drop workers= with scheduler=")
        return _Dask(scheduler, False, str(getattr(scheduler.scheduler, "address", "client")))
    raise InputError(
        f"scheduler: expected None, 'threads', 'processes', 'synchronous', an address or a "
        f"distributed.Client, got {type(scheduler).__name__}"
    )
