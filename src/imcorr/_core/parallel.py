"""Thread-pool control for BLAS inside hot loops of small (cache-sized) products."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from imcorr._core import fft, pairpool

__all__ = ["limit_threads", "single_blas_thread"]

_controller = None


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (cheap after the first call)."""
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        ctx = _controller.limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or broken
        ctx = contextlib.nullcontext()
    with ctx:
        yield


def limit_threads(n: int) -> None:
    """Hold every internal thread pool of this process to ``n`` threads (process-wide, not undone).

    For a process that is one of several workers sharing the cores (a Dask worker, a process-pool
    worker): scipy.fft's ``workers``, the box-sum bands (``IMCORR_BOXSUM_WORKERS``), registration's
    two-branch split (:mod:`imcorr._core.pairpool`, off when ``n == 1``) and BLAS / OpenMP (threadpoolctl).
    """
    n = max(1, int(n))
    fft.set_workers(n)
    os.environ["IMCORR_BOXSUM_WORKERS"] = str(n)
    pairpool.set_enabled(n > 1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)
    except Exception:  # pragma: no cover - threadpoolctl missing or broken
        pass
