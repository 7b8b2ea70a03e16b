import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def camera():
    from skimage import data

    return data.camera()


@pytest.fixture(scope="session")
def astronaut_gray():
    from skimage import color, data

    return (color.rgb2gray(data.astronaut()) * 255).astype(np.float64)


def _native_or_skip(monkeypatch) -> None:
    from imcorr import _native

    monkeypatch.setenv("IMCORR_NATIVE", "1")
    ok, why = _native.available()
    if not ok:
        pytest.skip(f"native kernels not built ({why}); test_native.py::test_native_kernels_are_built reports it")


@pytest.fixture(params=["native", "numpy"])
def both_paths(request, monkeypatch):
    """Run the test twice: on the native kernels (``IMCORR_NATIVE=1``) and on their NumPy twins (``=0``).

    The value is ``"native"`` or ``"numpy"``. The native case skips, with the reason, when the
    library is not built; it runs whatever ``IMCORR_NATIVE`` the suite was started with, so
    ``IMCORR_NATIVE=0 pytest`` still checks both paths.
    """
    if request.param == "native":
        _native_or_skip(monkeypatch)
    else:
        monkeypatch.setenv("IMCORR_NATIVE", "0")
    return request.param


@pytest.fixture
def native_only(monkeypatch):
    """The native kernels on (``IMCORR_NATIVE=1``), for tests that call them directly; skips if not built."""
    _native_or_skip(monkeypatch)
