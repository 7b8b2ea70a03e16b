"""imcorr.estimate_delay and the ``imcorr delay`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage, signal

import imcorr
from imcorr.cli import main
from imcorr.errors import EmptyInputError, ImageFormatError, InputError, NonFiniteError


def _fourier_delay(x, d):
    """Exact (periodic, band-limited) delay: y[n] = x(n - d)."""
    f = np.fft.rfftfreq(x.size)
    return np.fft.irfft(np.fft.rfft(x) * np.exp(-2j * np.pi * f * d), x.size)


def _smooth_noise(rng, n, sigma=3.0):
    return ndimage.gaussian_filter1d(rng.standard_normal(n), sigma, mode="wrap")


def _chirp(n=4096, fs=1000.0):
    t = np.arange(n) / fs
    return signal.chirp(t, f0=5, t1=t[-1], f1=60) * np.hanning(n)


@pytest.mark.parametrize("d", [0.0, 0.25, 0.5, 3.3, -7.75, 12.4, 40.0])
@pytest.mark.parametrize("kind", ["random", "chirp"])
def test_recovers_known_subpixel_delays_on_noisy_signals(kind, d, rng):
    x = _smooth_noise(rng, 4096) if kind == "random" else _chirp()
    y = _fourier_delay(x, d) + 0.05 * x.std() * rng.standard_normal(x.size)
    res = imcorr.estimate_delay(x, y, fs=1000.0)
    assert res.lag == pytest.approx(d, abs=0.05)
    assert res.lag_seconds == pytest.approx(res.lag / 1000.0)
    assert 0.9 < res.peak <= 1.0


@pytest.mark.parametrize("d", [5, -13, 0, 101])
def test_sign_convention_matches_np_roll_and_ndimage_shift(d, rng):
    x = _smooth_noise(rng, 1000)
    # np.roll(x, d): y[n] = x[n - d] -> lag = +d (y is later)
    assert imcorr.estimate_delay(x, np.roll(x, d)).lag == pytest.approx(d, abs=0.01)
    # scipy.ndimage.shift(x, d) is the imcorr shift convention; a subpixel shift too
    y = ndimage.shift(x, d + 0.3, order=3, mode="wrap")
    assert imcorr.estimate_delay(x, y).lag == pytest.approx(d + 0.3, abs=0.05)


def test_integer_lag_equals_np_correlate_argmax(rng):
    for _ in range(10):
        n, m = rng.integers(50, 400, size=2)
        x = rng.standard_normal(m)
        y = rng.standard_normal(n)
        k = int(rng.integers(-m // 3, n // 3))
        # plant x into y at offset k (y[i + k] = x[i]) with noise
        for i in range(m):
            if 0 <= i + k < n:
                y[i + k] += 3 * x[i]
        expected = int(np.argmax(np.correlate(y, x, "full"))) - (m - 1)
        raw = imcorr.estimate_delay(x, y, normalize=False)
        assert raw.integer_lag == expected
        assert raw.peak == pytest.approx(np.max(np.correlate(y, x, "full")))
        assert imcorr.estimate_delay(x, y).integer_lag == expected  # the normalized peak agrees here


def test_different_lengths_and_curve(rng):
    x = _smooth_noise(rng, 3000)
    y = x[200:1200]  # y[n] = x[n + 200]: y is 200 samples *earlier*
    res = imcorr.estimate_delay(x, y)
    assert res.lag == pytest.approx(-200, abs=0.01) and res.integer_lag == -200
    assert res.curve.shape == (x.size + y.size - 1,) and res.lags[0] == -(x.size - 1)
    assert res.peak == pytest.approx(1.0)
    zncc = imcorr.cross_correlate(y, x, "full", normalize="zncc")
    ok = np.isfinite(res.curve)
    assert res.curve[ok] == pytest.approx(zncc[ok])
    d = json.loads(json.dumps(res.to_dict()))
    assert d["integer_lag"] == -200 and "curve" not in d


def test_max_lag_restricts_the_search(rng):
    x = _smooth_noise(rng, 2000)
    y = np.roll(x, 300)
    assert imcorr.estimate_delay(x, y).lag == pytest.approx(300, abs=0.01)
    res = imcorr.estimate_delay(x, y, max_lag=100)
    assert abs(res.integer_lag) <= 100 and np.isnan(res.curve[np.abs(res.lags) > 100]).all()


def test_bad_input():
    with pytest.raises(EmptyInputError):
        imcorr.estimate_delay([], [1.0, 2.0, 3.0])
    with pytest.raises(EmptyInputError):
        imcorr.estimate_delay([1.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="1-D"):
        imcorr.estimate_delay(np.ones((4, 5)), np.ones(20))
    with pytest.raises(NonFiniteError, match="y: contains 1 NaN"):
        imcorr.estimate_delay(np.arange(10.0), np.r_[np.arange(9.0), np.nan])
    with pytest.raises(InputError, match="fs"):
        imcorr.estimate_delay(np.arange(10.0), np.arange(10.0), fs=0)
    with pytest.raises(InputError, match="max_lag"):
        imcorr.estimate_delay(np.arange(10.0), np.arange(10.0), max_lag=-1)
    with pytest.raises(InputError, match="no finite correlation"):
        imcorr.estimate_delay(np.ones(10), np.arange(10.0))


# -------------------------------------------------------------------------- CLI
def test_cli_delay_csv_with_header_and_json(tmp_path, capsys, rng):
    x = _smooth_noise(rng, 800)
    y = np.roll(x, 25)
    pa, pb = tmp_path / "a.csv", tmp_path / "b.csv"
    pa.write_text("time,volts\n" + "\n".join(f"{i / 1000},{v}" for i, v in enumerate(x)))
    pb.write_text("time,volts\n" + "\n".join(f"{i / 1000},{v}" for i, v in enumerate(y)))
    assert main(["delay", str(pa), str(pb), "--column", "volts", "--fs", "1000", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["lag"] == pytest.approx(25, abs=0.01) and d["lag_seconds"] == pytest.approx(0.025, abs=1e-5)
    assert main(["delay", str(pa), str(pb), "--column", "1"]) == 0
    assert "25" in capsys.readouterr().out
    # two columns and no --column: a clear error (exit 1)
    assert main(["delay", str(pa), str(pb)]) == 1
    assert "--column" in capsys.readouterr().err


def test_cli_delay_npy_and_single_column_csv(tmp_path, capsys, rng):
    x = _smooth_noise(rng, 500)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "y.csv").write_text("\n".join(str(v) for v in np.roll(x, -7)))
    assert main(["delay", str(tmp_path / "x.npy"), str(tmp_path / "y.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["integer_lag"] == -7


def test_cli_delay_bad_files(tmp_path, capsys):
    from imcorr.cli.cmd_delay import read_signal

    (tmp_path / "bad.csv").write_text("a\n1\nfoo\n")
    with pytest.raises(ImageFormatError, match="not a number"):
        read_signal(str(tmp_path / "bad.csv"))
    (tmp_path / "nan.csv").write_text("1\n2\n\n3\nnan\n")
    np.save(tmp_path / "ok.npy", np.arange(5.0))
    assert main(["delay", str(tmp_path / "ok.npy"), str(tmp_path / "nan.csv")]) == 1
    assert "NaN" in capsys.readouterr().err
    np.save(tmp_path / "two.npy", np.ones((5, 5)))
    assert main(["delay", str(tmp_path / "two.npy"), str(tmp_path / "ok.npy")]) == 1
    assert "1-D" in capsys.readouterr().err
    assert main(["delay", str(tmp_path / "missing.csv"), str(tmp_path / "ok.npy")]) == 1
