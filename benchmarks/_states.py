"""The process states a benchmark is timed in: allocator (stock / tuned) x threads (default / pinned).

Why: a peer can be much faster in another state of the same machine. OpenCV's
``matchTemplate`` on a 2048^2 scene spends half its time faulting in the fresh pages of
its output when glibc returns freed blocks to the kernel (the stock allocator: blocks
above the dynamic mmap threshold are unmapped on free); told to keep freed memory
(``mallopt(M_MMAP_THRESHOLD, 1 GiB)``, ``mallopt(M_TRIM_THRESHOLD, 2 GiB - 1)``) it runs about
twice as fast. Thread counts matter the same way (BLAS, OpenCV's pool, scipy.fft workers).

* allocator ``stock``: glibc as the process starts; ``tuned``: the two ``mallopt`` calls
  above through ctypes. ``mallopt`` is process-wide and one-way (no call restores glibc's
  *dynamic* threshold), so a process measures every stock state first and then the tuned
  ones (:func:`order_states`); ``python -m benchmarks`` runs each case in its own
  subprocess so that every case starts stock.
* threads ``default``: each library as it starts (OpenCV's pool size, BLAS's thread count,
  ``scipy.fft`` ``workers=1``, imcorr's ``IMCORR_FFT_WORKERS``/all cores); ``pinned``:
  all of them set to the core count (``cv2.setNumThreads``, ``threadpoolctl`` for BLAS and
  OpenMP, ``scipy.fft.set_workers``, ``imcorr._core.fft.set_workers``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import os
from collections.abc import Callable, Iterator

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
TUNED_MMAP_THRESHOLD = 1 << 30
TUNED_TRIM_THRESHOLD = 2**31 - 1  # "never give the top of the heap back" in practice


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------- allocator
_tuned = False


def allocator_tuned() -> bool:
    """Whether this process already switched glibc to the tuned state."""
    return _tuned


def tune_glibc_allocator() -> bool:
    """Tell glibc to keep freed memory (one-way, process-wide). False if not glibc."""
    global _tuned
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(M_MMAP_THRESHOLD, TUNED_MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TUNED_TRIM_THRESHOLD))
    _tuned = _tuned or ok
    return ok


def _enter_stock() -> None:
    if _tuned:
        raise RuntimeError("allocator: this process is already tuned (mallopt is one-way); "
                           "measure the stock states first (order_states) or in a fresh process")


def _enter_tuned() -> None:
    if not _tuned and not tune_glibc_allocator():
        raise RuntimeError("allocator: mallopt is not available (not glibc)")


ALLOCATORS: dict[str, Callable[[], None]] = {"stock": _enter_stock, "tuned": _enter_tuned}


# ------------------------------------------------------------------------ threads
@contextlib.contextmanager
def _default_threads() -> Iterator[None]:
    yield


@contextlib.contextmanager
def _pinned_threads() -> Iterator[None]:
    n = cores()
    with contextlib.ExitStack() as stack:
        try:
            import cv2

            before = cv2.getNumThreads()
            cv2.setNumThreads(n)
            stack.callback(cv2.setNumThreads, before)
        except ImportError:
            pass
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=n))
        except ImportError:  # pragma: no cover
            pass
        try:
            import scipy.fft

            stack.enter_context(scipy.fft.set_workers(n))
        except ImportError:  # pragma: no cover
            pass
        from imcorr._core import fft as _ifft

        before_w = _ifft.get_workers()
        _ifft.set_workers(n)
        stack.callback(_ifft.set_workers, before_w)
        yield


THREADS: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
    "default": _default_threads,
    "pinned": _pinned_threads,
}


@dataclasses.dataclass(frozen=True)
class State:
    allocator: str
    threads: str

    @property
    def name(self) -> str:
        return f"{self.allocator}/{self.threads}"


ALL_STATES = tuple(State(a, t) for a in ALLOCATORS for t in THREADS)


def parse_states(text: str | None) -> tuple[State, ...]:
    """``"stock/default,tuned/pinned"`` -> states; None or ``"all"`` -> every state."""
    if not text or text == "all":
        return ALL_STATES
    out = []
    for part in text.split(","):
        a, _, t = part.strip().partition("/")
        if a not in ALLOCATORS or t not in THREADS:
            raise ValueError(f"--states: unknown state {part!r}; use e.g. stock/default,tuned/pinned")
        out.append(State(a, t))
    return tuple(out)


def order_states(states, allocators=ALLOCATORS) -> list:
    """Stock states before tuned ones (the allocator switch is one-way), order kept otherwise."""
    rank = {name: i for i, name in enumerate(allocators)}
    return sorted(states, key=lambda s: rank[s.allocator])


def thread_report() -> dict:
    """Thread counts and BLAS kernel in force (threadpoolctl), for the results file."""
    info: dict = {"cores": cores()}
    try:
        import cv2

        info["cv2_threads"] = cv2.getNumThreads()
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "architecture", "version")}
                        for p in threadpool_info()]
    except ImportError:  # pragma: no cover
        pass
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    return info


# ------------------------------------------------------------------------- memory
def rss_reset_peak() -> int | None:
    """Reset the kernel's peak-RSS mark of this process (``/proc/self/clear_refs``); current RSS in bytes."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return _status("VmRSS")


def rss_peak() -> int | None:
    return _status("VmHWM")


def _status(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:  # pragma: no cover
        return "?"
