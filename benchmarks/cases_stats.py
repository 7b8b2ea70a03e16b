"""Statistics cases: effective-n p-value cost, block permutations, delay; and the calibration study.

``python -m benchmarks.cases_stats [--pairs 500] [--size 256] [--permutations 999]`` runs the
calibration study of the README / docs/statistics.md (rejection rates at alpha = 0.05 for
independent Gaussian random fields, and the power at rho = 0.3); it is not part of the timed
table because it takes minutes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.fft as sfft

import imcorr

from ._data import photo_mosaic
from ._harness import Case, Impl


# --------------------------------------------------------------------- timed cases
def _effn_setup(dtype):
    def setup():
        a = photo_mosaic((2048, 2048), dtype, seed=0)
        rng = np.random.default_rng(0)
        b = (0.5 * np.roll(a, (7, 3), axis=(0, 1)) + rng.normal(0, 30, a.shape)).astype(dtype)
        return {"a": a, "b": b}

    return setup


def _fft_pair(d):
    x = d["a"]
    return sfft.irfftn(sfft.rfftn(x, workers=-1), s=x.shape, workers=-1)


def _effn(d):
    return imcorr.pearson(d["a"], d["b"], pvalue_method="effective_n")


def _effn_error(out, d):
    if isinstance(out, np.ndarray):  # the baseline: round-trip error
        return float(np.abs(out - d["a"]).max() / np.abs(d["a"]).max())
    # accuracy: n_effective vs the float64, every-lag-in-the-box estimate
    from imcorr.stats import effective_sample as en

    if "ref" not in d:
        a64, b64 = d["a"].astype(np.float64), d["b"].astype(np.float64)
        ac, bc = a64 - a64.mean(), b64 - b64.mean()
        lags = en._max_lags(a64.shape, None)
        sa, sb = (en._class_sums(_acf64(x, lags), en._acf_fshape(x.shape, lags), lags) for x in (ac, bc))
        sn = en._pair_class_counts(a64.shape, lags)
        k = sn > 0.5
        d["ref"] = 1 + 1 / (np.sum(sa[k] * sb[k] / sn[k]) / (sa[0] * sb[0]))
    return abs(out.n_effective - d["ref"]) / d["ref"]


def _acf64(x, lags):
    fshape = [sfft.next_fast_len(n + lag, real=True) for n, lag in zip(x.shape, lags)]
    spec = sfft.rfftn(x, fshape, workers=-1)
    return sfft.irfftn(spec * spec.conj(), fshape, workers=-1)


def _perm_setup():
    a, b = imcorr.gaussian_random_field_pair((512, 512), 4.0, rho=0.1, seed=0)
    return {"a": a, "b": b}


def _perm(d):
    return imcorr.block_permutation_test(d["a"], d["b"], permutations=999, seed=0)


def _perm_numpy(d):
    """Plain numpy: scramble the blocks of b explicitly for each permutation (block 16)."""
    a, b = d["a"], d["b"]
    s = 16
    g = a.shape[0] // s
    ab = a.reshape(g, s, g, s).transpose(0, 2, 1, 3).reshape(g * g, s * s)
    bb = b.reshape(g, s, g, s).transpose(0, 2, 1, 3).reshape(g * g, s * s)
    rng = np.random.default_rng(0)
    out = np.empty(999)
    for i in range(999):
        out[i] = np.corrcoef(ab.ravel(), bb[rng.permutation(g * g)].ravel())[0, 1]
    return out


def _perm_error(out, d):
    if isinstance(out, np.ndarray):
        return float("nan")
    return abs(out.r - np.corrcoef(d["a"].ravel(), d["b"].ravel())[0, 1])


def _delay_setup():
    rng = np.random.default_rng(0)
    from scipy import ndimage

    x = ndimage.gaussian_filter1d(rng.standard_normal(1 << 16), 3, mode="wrap")
    f = np.fft.rfftfreq(x.size)
    y = np.fft.irfft(np.fft.rfft(x) * np.exp(-2j * np.pi * f * 123.4), x.size) + 0.05 * rng.standard_normal(x.size)
    return {"x": x, "y": y, "true": 123.4}


def _delay_numpy(d):
    c = np.correlate(d["y"], d["x"], "full")
    return float(np.argmax(c) - (d["x"].size - 1))


def _delay_scipy(d):
    from scipy import signal

    c = signal.correlate(d["y"], d["x"], "full", method="fft")
    return float(np.argmax(c) - (d["x"].size - 1))


CASES = [
    Case(
        name=f"effective_n p-value 2048^2 {np.dtype(dt).name}",
        setup=_effn_setup(dt),
        impls=[
            Impl("imcorr.pearson(pvalue_method='effective_n')", _effn, peer=False),
            Impl("one rfft2+irfft2 (baseline)", _fft_pair),
        ],
        error=_effn_error,
        goal=3.0,
        baseline="one rfft2+irfft2 (baseline)",
        repeat=5,
        accuracy_label="rel err n_eff",
    )
    for dt in (np.float64, np.float32)
]
CASES += [
    Case(
        name="block permutation 999x 512^2",
        setup=_perm_setup,
        impls=[
            Impl("imcorr.block_permutation_test", _perm, peer=False),
            Impl("numpy explicit scrambles (block 16)", _perm_numpy),
        ],
        error=_perm_error,
        goal=None,
        goal_text="< 2 s (absolute)",
        repeat=3,
        accuracy_label="|r - corrcoef|",
    ),
    Case(
        name="estimate_delay 65536 samples",
        setup=_delay_setup,
        impls=[
            Impl("imcorr.estimate_delay", lambda d: imcorr.estimate_delay(d["x"], d["y"]).lag, peer=False),
            Impl("np.correlate argmax", _delay_numpy),
            Impl("scipy.signal.correlate fft argmax", _delay_scipy),
        ],
        error=lambda out, d: abs(out - d["true"]),
        goal=None,
        goal_text="report (numpy/scipy give integer lags)",
        repeat=3,
        accuracy_label="|lag error| samples",
    ),
]


# ----------------------------------------------------------------- calibration study
def calibration(pairs: int = 500, size: int = 256, permutations: int = 999, seed: int = 2026, ells=(2, 8, 16)):
    """Rejection rates at alpha = 0.05 for independent fields, and power at rho = 0.3 (l = 8)."""
    rows = []
    methods = ("iid", "effective_n", "block_permutation")
    for ell in ells:
        for rho in (0.0, 0.3) if ell == 8 else (0.0,):
            rng = np.random.default_rng([seed, ell, int(rho * 10)])
            rej = dict.fromkeys(methods, 0)
            raw = 0
            neff = []
            t0 = time.perf_counter()
            for i in range(pairs):
                a, b = imcorr.gaussian_random_field_pair((size, size), ell, rho=rho, seed=rng)
                for m in methods:
                    res = imcorr.pearson(a, b, pvalue_method=m, permutations=permutations, seed=i)
                    rej[m] += res.pvalue < 0.05
                    if m == "effective_n":
                        neff.append(res.n_effective)
                raw += imcorr.block_permutation_test(
                    a, b, permutations=permutations, seed=i, correct_boundaries=False
                ).pvalue < 0.05
            row = {"ell": ell, "rho": rho, "pairs": pairs, **{m: rej[m] / pairs for m in methods}}
            row["block_permutation_uncorrected"] = raw / pairs
            row["median_n_effective"] = float(np.median(neff))
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            print(
                f"| {ell} | {rho} | {pairs} | {row['iid']:.3f} | {row['effective_n']:.3f} | "
                f"{row['block_permutation']:.3f} | {row['block_permutation_uncorrected']:.3f} | "
                f"{row['median_n_effective']:.0f} | {row['seconds']:.0f} s |",
                flush=True,
            )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.cases_stats", description=__doc__)
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    print(f"calibration: {args.pairs} pairs of {args.size}^2 Gaussian random fields, alpha = 0.05")
    print("| l (px) | rho | pairs | iid | effective_n | block_permutation | block perm. uncorrected | "
          "median n_eff | time |")
    print("|---|---|---|---|---|---|---|---|---|")
    calibration(args.pairs, args.size, args.permutations, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
