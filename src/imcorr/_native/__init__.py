"""Access to the optional native kernels (the ``imcorr._native._kernels`` shared library).

The C kernels in ``src/imcorr/_native/`` are built by ``pip install`` when a C compiler is
available (setup.py marks the extension optional). They are plain C functions called
through :mod:`ctypes`, which releases the GIL during each call, so callers can run row
bands on a thread pool.

Every caller keeps its NumPy path, and the tests run both paths against the same
independent references. ``IMCORR_NATIVE=0`` in the environment turns the native
kernels off (the NumPy paths are used); :func:`available` tells which is in use.

The C prototypes are in ``kernels.h``; their ctypes twins in one table,
:data:`imcorr._native.signatures.SIGNATURES`, which ``tests/test_native_signatures.py``
checks against the header. Callers get a kernel, configured from that table, by
:func:`kernel`.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os

from imcorr._native.signatures import ABI_VERSION, SIGNATURES

__all__ = ["ABI_VERSION", "available", "enabled", "kernel", "library"]

_kernels: dict[str, ctypes._CFuncPtr] = {}  # name -> function with its signature set, filled on first use
_lib: ctypes.CDLL | None = None
_tried = False
_why = ""


def _load() -> ctypes.CDLL | None:
    global _lib, _tried, _why
    if _tried:
        return _lib
    _tried = True
    try:
        spec = importlib.util.find_spec("imcorr._native._kernels")
    except (ImportError, ValueError):  # pragma: no cover - broken install
        spec = None
    if spec is None or not spec.origin:
        _why = "imcorr._native._kernels was not built (no C compiler at install time?)"
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
        version = lib.imcorr_abi_version()
    except (OSError, AttributeError) as exc:  # pragma: no cover - broken build
        _why = f"imcorr._native._kernels could not be loaded: {exc}"
        return None
    if version != ABI_VERSION:  # pragma: no cover - stale build
        _why = f"imcorr._native._kernels has ABI {version}, expected {ABI_VERSION}: reinstall imcorr"
        return None
    _lib = lib
    return lib


_env_seen: tuple[str | None, bool] = (None, True)  # (last raw IMCORR_NATIVE value, what it meant)


def enabled() -> bool:
    """True unless ``IMCORR_NATIVE`` is set to ``0``/``false``/``no``/``off`` (read on every call).

    The raw value is compared with the last one seen: while it does not change, a call is the
    ``os.environ`` read and one string comparison.
    """
    global _env_seen
    raw = os.environ.get("IMCORR_NATIVE")
    seen = _env_seen
    if raw == seen[0]:
        return seen[1]
    on = raw is None or raw.strip().lower() not in ("0", "false", "no", "off")
    _env_seen = (raw, on)  # one tuple: threads read a consistent pair
    return on


def library() -> ctypes.CDLL | None:
    """The loaded native library, or None (not built, or turned off by ``IMCORR_NATIVE=0``)."""
    if not enabled():
        return None
    return _load()


def available() -> tuple[bool, str]:
    """``(True, "")`` when the native kernels are in use, else ``(False, reason)``."""
    if not enabled():
        return False, "turned off by IMCORR_NATIVE=0"
    lib = _load()
    return lib is not None, "" if lib is not None else _why


def kernel(name: str) -> ctypes._CFuncPtr | None:
    """The native kernel ``name`` with its signature from :data:`~imcorr._native.signatures.SIGNATURES`, or None.

    None when the library is not built or (read on every call) turned off by ``IMCORR_NATIVE=0``.
    The configured function objects are cached. ``name`` must be in the table (KeyError otherwise,
    also when the kernels are off).
    """
    fn = _kernels.get(name)
    if fn is not None:  # configured before: the library is loaded, only the switch is read
        return fn if enabled() else None
    restype, argtypes = SIGNATURES[name]  # KeyError for a name missing from the table, on both paths
    lib = library()
    if lib is None:
        return None
    fn = getattr(lib, name, None)
    if fn is None:  # pragma: no cover - stale build
        return None
    fn.restype = restype
    fn.argtypes = argtypes
    _kernels[name] = fn
    return fn
