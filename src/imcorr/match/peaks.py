"""Peak finding on score maps: non-maximum suppression and subpixel refinement."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from imcorr._core.results import Result, axis_names
from imcorr._core.validate import as_image
from imcorr.errors import InputError

__all__ = [
    "PeaksResult",
    "find_peaks",
]

_MAX_CANDIDATES = 100_000


@dataclasses.dataclass(frozen=True)
class PeaksResult(Result):
    """Peaks of a score map, best first.

    Attributes
    ----------
    indices : tuple of tuple of int
        Integer index of each peak in the score map.
    positions : tuple of tuple of float
        Subpixel position of each peak (``indices`` plus the fitted offset; equal to
        ``indices`` with ``subpixel=False``).
    scores : tuple of float
        Score at each integer peak.
    kind : str
        ``max`` or ``min``.
    """

    indices: tuple = ()
    positions: tuple = ()
    scores: tuple = ()
    kind: str = "max"

    def __len__(self) -> int:
        return len(self.indices)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per peak (``pandas.DataFrame(result.to_records())``)."""
        if not self.indices:
            return []
        nd = len(self.indices[0])
        names = axis_names(nd)
        recs = []
        for k, (idx, pos, sc) in enumerate(zip(self.indices, self.positions, self.scores)):
            r: dict[str, Any] = {"rank": k, "score": float(sc)}
            r.update({n: int(v) for n, v in zip(names, idx)})
            r.update({f"{n}_sub": float(v) for n, v in zip(names, pos)})
            recs.append(r)
        return recs


def _subpixel(s: np.ndarray, idx: tuple[int, ...], sign: float) -> tuple[float, ...]:
    """Quadratic fit on the 3x3(x3) neighbourhood: one Newton step on the fitted paraboloid.

    Gradient and Hessian come from central differences (the mixed terms from the
    corners), which is the exact least-squares quadratic through the centre's
    neighbours for a sampled paraboloid. Axes at the border, or a fit whose step leaves
    the centre pixel, fall back to independent 1-D parabolas (clipped to +-0.5).
    """
    nd = s.ndim
    inner = all(0 < i < n - 1 for i, n in zip(idx, s.shape))
    f0 = sign * float(s[idx])

    def val(off):
        return sign * float(s[tuple(i + o for i, o in zip(idx, off))])

    if inner:
        g = np.zeros(nd)
        h = np.zeros((nd, nd))
        for a in range(nd):
            e = [0] * nd
            e[a] = 1
            fp, fm = val(e), val([-v for v in e])
            g[a] = (fp - fm) / 2
            h[a, a] = fp - 2 * f0 + fm
            for b in range(a + 1, nd):
                def corner(sa, sb, a=a, b=b):
                    o = [0] * nd
                    o[a], o[b] = sa, sb
                    return val(o)

                h[a, b] = h[b, a] = (corner(1, 1) - corner(1, -1) - corner(-1, 1) + corner(-1, -1)) / 4
        if np.all(np.isfinite(h)) and np.all(np.isfinite(g)):
            try:
                evals = np.linalg.eigvalsh(h)
                if np.all(evals < 0):
                    step = -np.linalg.solve(h, g)
                    if np.all(np.abs(step) <= 0.5 + 1e-9):
                        return tuple(float(i + d) for i, d in zip(idx, step))
            except np.linalg.LinAlgError:  # pragma: no cover - singular Hessian
                pass
    out = []
    for a in range(nd):
        i = idx[a]
        if 0 < i < s.shape[a] - 1:
            e = [0] * nd
            e[a] = 1
            fp, fm = val(e), val([-v for v in e])
            den = fp - 2 * f0 + fm
            d = 0.5 * (fm - fp) / den if den < 0 and np.isfinite(den) else 0.0
            out.append(i + float(np.clip(d, -0.5, 0.5)))
        else:
            out.append(float(i))
    return tuple(out)


def find_peaks(
    score_map,
    *,
    threshold: float | None = None,
    max_peaks: int | None = 1,
    min_distance: int | None = None,
    subpixel: bool = True,
    kind: str | None = None,
) -> PeaksResult:
    """Peaks of a score map with non-maximum suppression and subpixel positions.

    Parameters
    ----------
    score_map : ndarray or MatchResult
        Any real N-D map. A :class:`~imcorr.MatchResult` supplies its ``scores``, its
        ``kind`` (``min`` for the sqdiff methods) and its ``defined`` mask (undefined
        positions are never peaks).
    threshold : float, optional
        Keep peaks with ``score >= threshold`` (``<=`` for ``kind="min"``).
    max_peaks : int or None
        Maximum number of peaks (None: all).
    min_distance : int, optional
        Two peaks are at least ``min_distance + 1`` apart on some axis (Chebyshev
        distance > ``min_distance``); default 1 (strict local maxima).
    subpixel : bool
        Refine each peak with a quadratic fit on its 3x3(x3) neighbourhood.
    kind : {'max', 'min'}, optional
        Look for maxima (default) or minima.

    Returns
    -------
    PeaksResult
        Peaks ordered best first; ``to_records()`` for a DataFrame.

    Notes
    -----
    Candidates are the points equal to the maximum of their ``(2 d + 1)`` neighbourhood
    (``scipy.ndimage.maximum_filter``) and above the minimum of their 3x3(x3)
    neighbourhood (a flat plateau is not a peak), then a greedy pass keeps the best and drops every
    candidate within ``min_distance`` of a kept one (non-maximum suppression, as in
    ``skimage.feature.peak_local_max``). NaN scores are ignored.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> m = np.zeros((9, 9)); m[2, 3] = 1.0; m[6, 6] = 0.5
    >>> res = imcorr.find_peaks(m, max_peaks=2, subpixel=False)
    >>> [tuple(int(v) for v in p) for p in res.indices], [float(s) for s in res.scores]
    ([(2, 3), (6, 6)], [1.0, 0.5])
    """
    defined = None
    default_kind = "max"
    if hasattr(score_map, "scores") and hasattr(score_map, "higher_is_better"):
        defined = score_map.defined
        default_kind = "max" if score_map.higher_is_better else "min"
        score_map = score_map.scores
    kind = kind or default_kind
    if kind not in ("max", "min"):
        raise InputError(f"kind: must be 'max' or 'min', got {kind!r}")
    s = as_image(score_map, "score_map")
    if max_peaks is not None and (int(max_peaks) != max_peaks or max_peaks < 1):
        raise InputError(f"max_peaks: must be a positive integer or None, got {max_peaks!r}")
    d = 1 if min_distance is None else int(min_distance)
    if d < 0:
        raise InputError(f"min_distance: must be >= 0, got {min_distance}")
    sign = 1.0 if kind == "max" else -1.0
    work = np.asarray(s, dtype=np.float64) * sign
    bad = ~np.isfinite(work)
    if defined is not None:
        bad |= ~np.asarray(defined, dtype=bool)
    if bad.any():
        work = np.where(bad, -np.inf, work)
    thr = None if threshold is None else sign * float(threshold)
    if max_peaks == 1 and d >= 0:
        flat = int(np.argmax(work))
        best = float(work.flat[flat])
        keep = [] if (not np.isfinite(best) or (thr is not None and best < thr)) else [flat]
    else:
        from scipy import ndimage

        if d > 0:
            mx = ndimage.maximum_filter(work, size=2 * d + 1, mode="constant", cval=-np.inf)
            cand = (work == mx) & np.isfinite(work)
            # a flat neighbourhood (plateau of equal values) is not a peak
            cand &= work > ndimage.minimum_filter(work, size=3, mode="nearest")
        else:
            cand = np.isfinite(work)
        if thr is not None:
            cand &= work >= thr
        flat_c = np.flatnonzero(cand)
        vals = work.ravel()[flat_c]
        if flat_c.size > _MAX_CANDIDATES:
            part = np.argpartition(-vals, _MAX_CANDIDATES)[:_MAX_CANDIDATES]
            flat_c, vals = flat_c[part], vals[part]
        order = np.argsort(-vals, kind="stable")
        flat_c = flat_c[order]
        coords = np.stack(np.unravel_index(flat_c, s.shape), axis=1) if flat_c.size else np.empty((0, s.ndim))
        keep = []
        kept_coords: list[np.ndarray] = []
        for k in range(flat_c.size):
            c = coords[k]
            if d > 0 and kept_coords:
                kc = np.asarray(kept_coords)
                if np.any(np.max(np.abs(kc - c), axis=1) <= d):
                    continue
            keep.append(int(flat_c[k]))
            kept_coords.append(c)
            if max_peaks is not None and len(keep) >= max_peaks:
                break
    indices, positions, scores = [], [], []
    for f in keep:
        idx = tuple(int(v) for v in np.unravel_index(f, s.shape))
        indices.append(idx)
        scores.append(float(s[idx]))
        positions.append(_subpixel(work, idx, 1.0) if subpixel else tuple(float(v) for v in idx))
    return PeaksResult(indices=tuple(indices), positions=tuple(positions), scores=tuple(scores), kind=kind)
