"""Honest significance for image correlations, and comparing correlations.

Neighbouring pixels are correlated, so the classical (iid) p-value of Pearson's r is
far too small for images. :func:`imcorr.pearson` takes ``pvalue_method``:

* ``"iid"``: the classical t-test (naive for images);
* ``"effective_n"``: Dutilleul's (1993) modified t-test, with the effective sample
  size from both images' autocorrelation functions (:mod:`imcorr.stats.effective_sample`);
* ``"block_permutation"``: shuffles blocks of ``b`` (block size from the
  autocorrelation length, or given) and compares r with the scrambled r's
  (:mod:`imcorr.stats.permutation`), with a boundary correction (see
  :func:`block_permutation_test`).

Also here: :func:`compare_correlations` (two independent samples, Fisher z),
:func:`compare_dependent_correlations` (Steiger 1980, "is A more correlated with B
than with C on the same pixels?") and :func:`bootstrap_ci` (moving-block bootstrap).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from imcorr._core.moments import pair_moments
from imcorr._core.results import Result, no_json
from imcorr._core.validate import as_image, as_mask, channel_last, check_same_shape, has_nonfinite
from imcorr.errors import EmptyInputError, InputError
from imcorr.stats import effective_sample as _en
from imcorr.stats.effective_sample import (
    modified_t_pvalue,
)
from imcorr.stats.permutation import BlockScrambler, normalize_block

__all__ = [
    "BlockPermutationResult",
    "ComparisonResult",
    "PVALUE_METHODS",
    "block_permutation_test",
    "compare_correlations",
    "compare_dependent_correlations",
]

PVALUE_METHODS = ("iid", "effective_n", "block_permutation")  # "iid" plus the keys of _PVALUE_STRATEGIES
MIN_BLOCKS = 16


# ------------------------------------------------------------- block permutation
@dataclasses.dataclass(frozen=True)
class BlockPermutationResult(Result):
    """Result of :func:`block_permutation_test`.

    Attributes
    ----------
    r : float
        Pearson r of the (unscrambled) images.
    pvalue : float
        Two-sided permutation p-value ``(1 + #{|r*| >= |r|}) / (1 + permutations)``.
    permutations, seed : int
        Number of scrambles and the seed of the generator.
    block_size : tuple of int
        Block shape.
    n_blocks : int
        Number of full blocks that were permuted.
    boundary_factor : float
        ``kappa >= 1`` by which the scrambled r's were scaled (1 without the correction).
    n_effective : float
        ``1 + 1 / mean(r*^2)``: the effective sample size implied by the null spread.
    reason : str or None
        Why ``pvalue`` is NaN.
    null : ndarray
        The (scaled) scrambled r's.
    """

    r: float
    pvalue: float
    permutations: int
    seed: int | None
    block_size: tuple
    n_blocks: int
    boundary_factor: float = 1.0
    n_effective: float | None = None
    reason: str | None = None
    null: np.ndarray = no_json()


def _within_block_class_counts(block, grid, lags) -> np.ndarray:
    """Pixel pairs at each distance class that lie inside one block: B * prod(s_d - |k_d|)_+."""
    c0, c1, nc = _en._half_classes(tuple(lags))
    cnt = np.full((1,) * len(lags), float(math.prod(grid)))
    for ax, (s, lag) in enumerate(zip(block, lags)):
        k = np.arange(0 if ax == 0 else -lag, lag + 1)
        sh = [1] * len(lags)
        sh[ax] = k.size
        cnt = cnt * np.maximum(s - np.abs(k), 0).reshape(sh)
    out = np.bincount(c0, weights=cnt[0].ravel(), minlength=nc)
    if cnt.shape[0] > 1:
        out += 2.0 * np.bincount(c1, weights=cnt[1:].ravel(), minlength=nc)
    return out


def default_block(sa, sb, sn, shape, lags) -> tuple[int, ...]:
    """About twice the larger 1/e autocorrelation length, leaving >= MIN_BLOCKS blocks.

    The block count per axis is ``round(n / size)`` and the block ``n // count``, so the
    tiling leaves a remainder of fewer than ``count`` pixels per axis.
    """
    lengths = []
    for s in (sa, sb):
        with np.errstate(invalid="ignore", divide="ignore"):
            acf = s / (sn * (s[0] / sn[0]))
        keep = sn > 0
        dist = _en._class_distances(tuple(lags))[keep]
        lengths.append(_en._crossing(acf[keep], math.exp(-1.0), dist))
    finite = [v for v in lengths if math.isfinite(v)]
    ell = max(finite) if len(finite) == len(lengths) else math.inf
    size = max(2, math.ceil(2.0 * ell)) if math.isfinite(ell) else max(shape)
    counts = [max(1, round(n / min(size, n))) for n in shape]
    # keep enough blocks to permute: add blocks along the axis with the largest ones
    while math.prod(counts) < MIN_BLOCKS and any(c < n for c, n in zip(counts, shape)):
        i = max(range(len(shape)), key=lambda ax: shape[ax] / counts[ax] if counts[ax] < shape[ax] else 0)
        counts[i] += 1
    return tuple(n // c for n, c in zip(shape, counts))


def _preserved_class_counts(block, grid, shape, lags) -> np.ndarray:
    """Pixel pairs per distance class that a block scramble keeps: inside one block, or both in the
    remainder strips (which never move)."""
    nw = _within_block_class_counts(block, grid, lags)
    core = tuple(slice(0, g * s) for g, s in zip(grid, block))
    rem = np.ones(shape, dtype=np.float32)
    rem[core] = 0.0
    if rem.any():
        nw = nw + _en._class_autocov(rem, tuple(lags))
    return nw


def _block_permutation_centred(
    ac, bc, m, lags, r_obs_exact, *, block_size, permutations, seed, correct_boundaries, channels=False
):
    sa, sb, sn = _en._class_acfs(ac, bc, m, lags)
    if block_size is None and channels:  # spatial blocks that carry every channel along
        block = default_block(sa, sb, sn, ac.shape[:-1], lags) + (ac.shape[-1],)
    elif block_size is None:
        block = default_block(sa, sb, sn, ac.shape, lags)
    else:
        block = normalize_block(block_size, ac.shape)
    if math.prod(n // s for n, s in zip(ac.shape, block)) < 2:
        raise InputError(f"block_size: block {block} leaves fewer than 2 full blocks in the image {ac.shape}")
    a64 = ac.astype(np.float64)
    b64 = bc.astype(np.float64)
    a64 -= a64.mean()
    b64 -= b64.mean()
    den = math.sqrt(float(np.vdot(a64, a64)) * float(np.vdot(b64, b64)))
    sc = BlockScrambler(a64, b64, block)
    rng = np.random.default_rng(seed)
    null = sc.null_sums(permutations, rng) / den
    r_obs = sc.observed / den
    kappa = 1.0
    if correct_boundaries:
        keep = sn > 0.5
        v_full = float(np.sum(sa[keep] * sb[keep] / sn[keep]))
        nw = _preserved_class_counts(block, sc.grid, ac.shape, lags)
        v_within = float(np.sum(sa[keep] * sb[keep] * nw[keep] / (sn[keep] * sn[keep])))
        if v_within > 0 and v_full > v_within:
            kappa = math.sqrt(v_full / v_within)
        null = null * kappa
    tol = 1e-12 * max(1.0, abs(r_obs))
    count = int(np.count_nonzero(np.abs(null) >= abs(r_obs) - tol))
    pvalue = (1.0 + count) / (1.0 + permutations)
    msq = float(np.mean(null * null))
    n_eff = 1.0 + 1.0 / msq if msq > 0 else None
    if n_eff is not None:
        n_eff = min(n_eff, float(ac.size))
    return BlockPermutationResult(
        r=r_obs_exact if r_obs_exact is not None else r_obs,
        pvalue=pvalue,
        permutations=int(permutations),
        seed=seed,
        block_size=block,
        n_blocks=sc.n_blocks,
        boundary_factor=kappa,
        n_effective=n_eff,
        null=null,
    )


def _check_permutations(permutations) -> int:
    if isinstance(permutations, (bool, np.bool_)) or not float(permutations).is_integer() or permutations < 1:
        raise InputError(f"permutations: must be a positive integer, got {permutations!r}")
    return int(permutations)


def block_permutation_test(
    a,
    b,
    *,
    block_size: int | Sequence[int] | None = None,
    permutations: int = 999,
    seed: int | None = 0,
    correct_boundaries: bool = True,
    max_lag=None,
) -> BlockPermutationResult:
    """Block-permutation test of the Pearson correlation of two images (2-D or 3-D).

    Parameters
    ----------
    a, b : array_like
        Finite images of the same shape.
    block_size : int or sequence of int, optional
        Block shape; default: about twice the larger 1/e autocorrelation length of ``a``
        and ``b`` (at least 2 pixels), adjusted per axis to ``n // round(n / size)`` so the
        tiling leaves almost no remainder, and smaller if fewer than 16 blocks would fit.
    permutations : int
        Number of scrambles (999 gives p-values in steps of 0.001).
    seed : int, optional
        Seed of :func:`numpy.random.default_rng` (the result is reproducible).
    correct_boundaries : bool
        Shuffling blocks destroys the correlation of pixel pairs that straddle block
        borders, so the scrambled r's are too narrow and the raw test rejects too often
        unless the blocks are much larger than the correlation length. With the
        correction (default) the scrambled r's are scaled by
        ``kappa = sqrt(V_all / V_kept)``, where ``V = sum_k N(k) rho_a(k) rho_b(k)``
        over all pixel pairs, or over the pairs a scramble keeps (inside one block, or
        both in the unmoved remainder strips), from the distance-class
        ACFs of :mod:`imcorr.stats.effective_sample`. ``False`` gives the plain (Costes-style) test.
    max_lag : int or sequence of int, optional
        Largest ACF lag (see :func:`effective_n`).

    Returns
    -------
    BlockPermutationResult

    References
    ----------
    .. [1] Costes, S. V. et al. (2004). Biophysical Journal 86, 3993-4003.
       doi:10.1529/biophysj.103.038422
    .. [2] Dutilleul, P. (1993). Biometrics 49, 305-314. doi:10.2307/2532625

    Examples
    --------
    >>> import imcorr
    >>> a, b = imcorr.gaussian_random_field_pair((64, 64), 3.0, rho=0.0, seed=2)
    >>> res = imcorr.block_permutation_test(a, b, permutations=99, seed=0)
    >>> bool(0.0 < res.pvalue <= 1.0)
    True
    """
    a, b, m, n = _en._prepare(a, b, None)
    permutations = _check_permutations(permutations)
    lags = _en._max_lags(a.shape, max_lag)
    if block_size is not None:
        normalize_block(block_size, a.shape)
    ac = _en._centre(a, None)
    bc = _en._centre(b, None)
    for x, name in ((ac, "a"), (bc, "b")):
        if not np.any(x):
            blk = normalize_block(block_size, a.shape) if block_size is not None else ()
            return BlockPermutationResult(
                math.nan, math.nan, permutations, seed, blk, 0, reason=f"zero variance in {name}",
                null=np.empty(0),
            )
    r_exact = _exact_r(a, b)  # exact float64 r; the scrambles use the same (float32-centred) data
    return _block_permutation_centred(
        ac, bc, None, lags, r_exact, block_size=block_size, permutations=permutations, seed=seed,
        correct_boundaries=correct_boundaries,
    )


# ------------------------------------------------------------ pearson integration
def _spatial_pair(a, b, mask, channel_axis):
    a = channel_last(as_image(a, "a"), channel_axis, "a")
    b = channel_last(as_image(b, "b"), channel_axis, "b")
    check_same_shape(a, b)
    m = None
    if mask is not None:
        mm = np.asarray(mask)
        spatial = a.shape[:-1] if channel_axis is not None else a.shape
        if channel_axis is not None and mm.shape == spatial:
            m = np.broadcast_to(as_mask(mm, spatial)[..., None], a.shape)
        else:
            if channel_axis is not None:
                mm = channel_last(mm, channel_axis, "mask")
            m = as_mask(mm, a.shape)
        if has_nonfinite(a) or has_nonfinite(b):
            m = m & np.isfinite(a) & np.isfinite(b)
    return a, b, m


def _one_pvalue(res, a, b, m, *, method, block_size, permutations, seed, max_lag, channels: bool):
    """Replace the p-value of one CorrelationResult (a, b spatial, channel last if ``channels``)."""
    if not math.isfinite(res.r):
        return dataclasses.replace(res, pvalue_method=method)
    lags = _en._max_lags(a.shape, max_lag)
    if channels:  # the channel axis: every lag between channels, blocks span all channels
        lags = lags[:-1] + (a.shape[-1] - 1,)
    _en._check_acf_memory(a.shape, lags, f"pvalue_method={method!r}")
    strategy = _PVALUE_STRATEGIES[method]
    return strategy(res, a, b, m, lags, block_size=block_size, permutations=permutations, seed=seed,
                    channels=channels)


def _effective_n_pvalue(res, a, b, m, lags, *, block_size, permutations, seed, channels):
    """Dutilleul's modified t-test with the effective sample size of both images."""
    en = _en.effective_n_images(a, b, m, res.n, lags)
    reason = en.reason
    p = modified_t_pvalue(res.r, en.n_effective)
    if reason is None and not en.n_effective >= _en.MIN_PIXELS:
        reason = f"effective sample size {en.n_effective:.3g} < 3: no p-value"
    return dataclasses.replace(res, pvalue=p, pvalue_method="effective_n", n_effective=en.n_effective, reason=reason)


def _block_permutation_pvalue(res, a, b, m, lags, *, block_size, permutations, seed, channels):
    """Permutation p-value from block-scrambled copies of ``b``."""
    ac = _en._centre(a, m)
    bc = _en._centre(b, m)
    block = block_size
    if block is not None and channels:
        block = (tuple(block) if np.ndim(block) else (block,) * (a.ndim - 1)) + (a.shape[-1],)
    bp = _block_permutation_centred(
        ac, bc, m, lags, res.r, block_size=block, permutations=permutations, seed=seed, correct_boundaries=True,
        channels=channels,
    )
    return dataclasses.replace(
        res,
        pvalue=bp.pvalue,
        pvalue_method="block_permutation",
        n_effective=bp.n_effective,
        permutations=bp.permutations,
        seed=seed,
        block_size=bp.block_size,
    )


#: pvalue_method name -> strategy(result, a, b, mask, lags, **options) -> result with its p-value ("iid" keeps
#: the t-test p-value the coefficient already has). A new method is one function and one entry here.
_PVALUE_STRATEGIES = {
    "effective_n": _effective_n_pvalue,
    "block_permutation": _block_permutation_pvalue,
}


def _exact_r(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two arrays from exact float64 central moments (nan without variance)."""
    mo = pair_moments(a, b)
    if not (mo.saa > 0 and mo.sbb > 0):
        return math.nan
    return min(1.0, max(-1.0, mo.sab / math.sqrt(mo.saa * mo.sbb)))


def with_pvalue_method(
    res,
    a,
    b,
    *,
    mask=None,
    channel_axis=None,
    pvalue_method: str = "iid",
    block_size=None,
    permutations: int = 999,
    seed: int | None = 0,
    max_lag=None,
):
    """Return ``res`` (a Pearson CorrelationResult) with its p-value from ``pvalue_method``.

    Called by :func:`imcorr.pearson`; see there and the module docstring.
    """
    if pvalue_method not in PVALUE_METHODS:
        raise InputError(f"pvalue_method: must be one of {', '.join(PVALUE_METHODS)}; got {pvalue_method!r}")
    if pvalue_method == "iid":
        return res
    if pvalue_method == "block_permutation":
        permutations = _check_permutations(permutations)
        if mask is not None:
            raise InputError(
                "mask: pvalue_method='block_permutation' needs a full rectangular image (blocks move); crop to the "
                "region of interest or use pvalue_method='effective_n'"
            )
    a, b, m = _spatial_pair(a, b, mask, channel_axis)
    kw = dict(method=pvalue_method, block_size=block_size, permutations=permutations, seed=seed, max_lag=max_lag)
    per = tuple(
        _one_pvalue(
            cres, a[..., c], b[..., c], None if m is None else np.ascontiguousarray(m[..., c]), channels=False, **kw
        )
        for c, cres in enumerate(res.channels)
    )
    top = _one_pvalue(res, a, b, m, channels=channel_axis is not None, **kw)
    return dataclasses.replace(top, channels=per) if per else top


# ----------------------------------------------------------- comparing correlations
@dataclasses.dataclass(frozen=True)
class ComparisonResult(Result):
    """z statistic and two-sided p-value of a difference between correlations."""

    z: float
    pvalue: float
    method: str
    reason: str | None = None


def _check_r(r, name):
    try:
        v = float(r)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: must be a number in [-1, 1], got {r!r}") from exc
    if not -1.0 <= v <= 1.0:
        raise InputError(f"{name}: must be in [-1, 1], got {r!r}")
    return v


def _check_n(n, name, minimum=4):
    try:
        v = float(n)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: must be a sample size > 3, got {n!r}") from exc
    if not math.isfinite(v) or v < minimum:
        raise EmptyInputError(
            f"{name}: the sample size must be at least {minimum} (Fisher z has variance 1/(n - 3)), got {n!r}"
        )
    return v


def _two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))  # 2 * Phi(-|z|), stdlib


def compare_correlations(r1: float, n1: float, r2: float, n2: float) -> ComparisonResult:
    """Test whether two correlations from *independent* samples differ (Fisher z).

    ``z = (atanh r1 - atanh r2) / sqrt(1/(n1 - 3) + 1/(n2 - 3))``, two-sided normal
    p-value. For images, pass ``n_effective`` (from ``pearson(...,
    pvalue_method="effective_n")``) rather than the pixel count: n may be fractional.

    References
    ----------
    .. [1] Fisher, R. A. (1921). On the probable error of a coefficient of correlation
       deduced from a small sample. Metron 1, 3-32.

    Examples
    --------
    >>> import imcorr
    >>> res = imcorr.compare_correlations(0.5, 100, 0.5, 100)  # equal correlations: z = 0, p = 1
    >>> (res.z, res.pvalue)
    (0.0, 1.0)
    """
    r1, r2 = _check_r(r1, "r1"), _check_r(r2, "r2")
    n1, n2 = _check_n(n1, "n1"), _check_n(n2, "n2")
    if abs(r1) == 1.0 or abs(r2) == 1.0:
        return ComparisonResult(math.nan, math.nan, "fisher-z", "|r| = 1: Fisher z is infinite")
    z = (math.atanh(r1) - math.atanh(r2)) / math.sqrt(1.0 / (n1 - 3.0) + 1.0 / (n2 - 3.0))
    return ComparisonResult(z, _two_sided(z), "fisher-z")


def compare_dependent_correlations(r12: float, r13: float, r23: float, n: float) -> ComparisonResult:
    """Steiger's (1980) test of ``rho12 = rho13`` for correlations sharing variable 1.

    "Is image 1 more correlated with image 2 than with image 3, on the same pixels?"
    Steiger's Z1* (eq. 14/15, pooled r):

    ``z = (atanh r12 - atanh r13) sqrt(n - 3) / sqrt(2 - 2 s)``, with
    ``rbar = (r12 + r13) / 2``,
    ``psi = r23 (1 - 2 rbar^2) - rbar^2 (1 - 2 rbar^2 - r23^2) / 2`` and
    ``s = psi / (1 - rbar^2)^2``. Positive z means r12 > r13. For images pass an
    effective n.

    References
    ----------
    .. [1] Steiger, J. H. (1980). Tests for comparing elements of a correlation matrix.
       Psychological Bulletin 87, 245-251. doi:10.1037/0033-2909.87.2.245

    Examples
    --------
    >>> import imcorr
    >>> res = imcorr.compare_dependent_correlations(0.4, 0.4, 0.3, 50)  # r12 == r13: no difference
    >>> (res.z, res.pvalue)
    (0.0, 1.0)
    """
    r12, r13, r23 = _check_r(r12, "r12"), _check_r(r13, "r13"), _check_r(r23, "r23")
    n = _check_n(n, "n")
    det = 1 - r12 * r12 - r13 * r13 - r23 * r23 + 2 * r12 * r13 * r23
    if det < -1e-12:
        raise InputError(
            f"r12, r13, r23: ({r12}, {r13}, {r23}) is not a valid correlation matrix (negative determinant)"
        )
    if max(abs(r12), abs(r13)) == 1.0:
        return ComparisonResult(math.nan, math.nan, "steiger-1980", "|r| = 1: Fisher z is infinite")
    rbar = 0.5 * (r12 + r13)
    psi = r23 * (1 - 2 * rbar**2) - 0.5 * rbar**2 * (1 - 2 * rbar**2 - r23**2)
    s = psi / (1 - rbar**2) ** 2
    if 2 - 2 * s <= 0:
        return ComparisonResult(math.nan, math.nan, "steiger-1980", "degenerate covariance (r23 = 1)")
    z = (math.atanh(r12) - math.atanh(r13)) * math.sqrt(n - 3.0) / math.sqrt(2.0 - 2.0 * s)
    return ComparisonResult(z, _two_sided(z), "steiger-1980")
