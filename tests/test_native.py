"""The native kernels are built by `make test` (a C compiler is on every machine of this project).

The NumPy fallbacks are tested by the callers' tests under ``IMCORR_NATIVE=0``
(monkeypatched); this file checks the library itself is there and can be turned off.
"""

import os

import pytest

from imcorr import _native


def test_native_kernels_are_built(monkeypatch):
    if os.environ.get("IMCORR_ALLOW_NO_NATIVE") == "1":
        pytest.skip("IMCORR_ALLOW_NO_NATIVE=1: the NumPy fallbacks are in use")
    monkeypatch.setenv("IMCORR_NATIVE", "1")  # built, whatever IMCORR_NATIVE the suite runs with
    ok, why = _native.available()
    assert ok, f"native kernels missing ({why}); `make test` should build them (pip install -e . with gcc)"
    assert _native.library().imcorr_abi_version() == _native.ABI_VERSION
    assert _native.kernel("imcorr_abi_version")() == _native.ABI_VERSION


def test_native_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("IMCORR_NATIVE", "0")
    assert _native.library() is None
    assert _native.kernel("imcorr_abi_version") is None
    ok, why = _native.available()
    assert not ok and "IMCORR_NATIVE" in why
