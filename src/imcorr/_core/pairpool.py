"""A one-worker thread pool that lets registration run two independent branches at once.

The two coarse-stage inputs (reference and moving: binning, window, FFT) and the refinement's
first two crop spectra are independent; the native kernels (ctypes) and scipy.fft release the
GIL, so on a machine with two or more cores one branch runs on the worker while the caller runs
the other. The results do not depend on whether the pool is used.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["pair", "set_enabled"]

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_PARALLEL = (os.cpu_count() or 1) >= 2


def set_enabled(enabled: bool) -> bool:
    """Turn the two-branch split on or off for this process (a batch worker that already fills its
    core runs both branches inline); returns the previous setting."""
    global _PARALLEL
    old, _PARALLEL = _PARALLEL, bool(enabled) and (os.cpu_count() or 1) >= 2
    return old


def _executor() -> ThreadPoolExecutor | None:
    global _pool, _pool_pid
    if not _PARALLEL:
        return None
    pid = os.getpid()
    if _pool is None or _pool_pid != pid:  # a forked child inherits no worker thread: make a new pool
        with _lock:
            if _pool is None or _pool_pid != pid:
                _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imcorr-register")
                _pool_pid = pid
    return _pool


def pair(f, g, parallel: bool = True):
    """``(f(), g())``, with ``f`` on the worker thread while ``g`` runs here (when ``parallel``).

    Exceptions propagate as from a plain call. Calls from several threads at once are safe (the
    worker runs their ``f`` one after another).
    """
    pool = _executor() if parallel else None
    if pool is None or threading.current_thread().name.startswith("imcorr-register"):
        return f(), g()
    fut = pool.submit(f)
    try:
        b = g()
    except BaseException:
        fut.exception()  # wait: f must not outlive the call (it may share buffers with g)
        raise
    return fut.result(), b
