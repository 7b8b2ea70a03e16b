"""Template matching: where does a small image occur in a large one?

:func:`match_template` returns a score map for one of six methods (OpenCV's, with the
same definitions), :func:`find_peaks` turns any score map into a list of peaks
(non-maximum suppression, subpixel refinement) and :func:`find_template` does both in
one call.

Methods (``T`` template, ``I`` the image window under it, sums over the template
pixels and, for colour, over channels as OpenCV does)::

    method          OpenCV alias         definition
    zncc            TM_CCOEFF_NORMED     sum T'I' / sqrt(sum T'^2 sum I'^2)   T' = T - mean T, I' = I - mean I
    ncc             TM_CCORR_NORMED      sum T I / sqrt(sum T^2 sum I^2)
    ccorr           TM_CCORR             sum T I
    ccoeff          TM_CCOEFF            sum T' I'
    sqdiff          TM_SQDIFF            sum (T - I)^2
    sqdiff_normed   TM_SQDIFF_NORMED     sum (T - I)^2 / sqrt(sum T^2 sum I^2)

``zncc`` is also MATLAB's ``normxcorr2`` over the valid region. Higher is better
except for the two ``sqdiff`` methods.

Output geometry (``h`` = template height, ``w`` = width; 3-D adds a leading axis)::

    pad=False ('valid', default)           pad=True (image-sized, template-centred)
    scores.shape = (H - h + 1, W - w + 1)  scores.shape = (H, W)
    scores[i, j] <-> template top-left     scores[i, j] <-> template pixel (h//2, w//2)
                     at image[i, j]                         at image[i, j], i.e. top-left
                                                            at (i - h//2, j - w//2)
    +---------------+                      +---------------+
    |T T T . . . . .|  i=0, j=0            |T T . . . . . .|  i=0, j=0 (h=w=3): only the
    |T T T . . . . .|                      |T T . . . . . .|  in-image 2x2 part is scored
    |T T T . . . . .|                      |. . . . . . . .|
    +---------------+                      +---------------+

With ``pad=True`` the template pixels that fall outside the image are excluded (as if
``image_mask`` were False there), so border scores use the overlapping part only.

Documented values (where OpenCV differs)
----------------------------------------
* A flat template, or a flat image window, has no zncc: the score is **0** (MATLAB's
  normxcorr2 convention) and ``MatchResult.defined`` is False there. OpenCV returns 1
  for a flat template and noise for flat windows of float input.
* ``ncc`` of an all-zero template or window is 0 (undefined, ``defined`` False).
* ``sqdiff_normed`` is **not clipped**: it ranges over ``[0, inf)``
  (``a/b + b/a - 2 ncc`` with ``a, b`` the window and template norms). OpenCV clips
  it to ``[0, 1]``. Where a norm is zero it is set to 1 (``defined`` False).
* ``zncc`` and ``ncc`` are guaranteed to lie in ``[-1, 1]``.
* Integer input in ``precision="float64"``: ``sqdiff`` and ``ccorr`` are integer sums
  and are returned exactly (rounded), so identical uint8 images give ``sqdiff == 0``.
  OpenCV's float32 arithmetic leaves non-zero residues.
* Offset data (e.g. ``60000 +- 5``): means are removed before the FFT and the window
  sums are taken in float64, so peaks and the ``[-1, 1]`` range survive. OpenCV's float32
  path and scikit-image both fail there.

Masks
-----
``mask`` weights the template pixels (bool or non-negative weights); ``image_mask``
excludes image pixels (False = invalid, NaN allowed there). At each position the
weights are ``mask[n] * image_mask[p + n]`` and every method becomes its weighted
version (weighted means and variances for zncc/ccoeff: Padfield's masked NCC). The
masked path always computes in float64.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from imcorr._core import fft as _fft
from imcorr._core.results import Result, axis_names, no_json
from imcorr._core.scale import pow2_unit
from imcorr._core.validate import as_image, as_mask, check_memory, format_bytes, has_nonfinite
from imcorr.errors import InputError, MaskError, NonFiniteError, ShapeMismatchError
from imcorr.match.peaks import find_peaks
from imcorr.match.scores import masked_scores, unmasked_scores
from imcorr.match.subpixel import refine_offset
from imcorr.match.valid_correlation import DIRECT_MAX, plan_tiles

__all__ = [
    "METHODS",
    "MatchResult",
    "Match",
    "TemplateMatchResult",
    "match_template",
    "find_template",
]

METHODS = ("zncc", "ncc", "ccorr", "ccoeff", "sqdiff", "sqdiff_normed")
_ALIASES = {
    "tm_ccoeff_normed": "zncc",
    "ccoeff_normed": "zncc",
    "normxcorr2": "zncc",
    "tm_ccorr_normed": "ncc",
    "ccorr_normed": "ncc",
    "tm_ccorr": "ccorr",
    "tm_ccoeff": "ccoeff",
    "tm_sqdiff": "sqdiff",
    "tm_sqdiff_normed": "sqdiff_normed",
}
ZNCC_SAFE_EXPONENT = 30  # zncc inputs beyond 2**+-30 are scaled (float32 FFTs keep their products finite)
# cv2.TM_* integer codes
_CV_CODES = {0: "sqdiff", 1: "sqdiff_normed", 2: "ccorr", 3: "ncc", 4: "ccoeff", 5: "zncc"}
LOWER_IS_BETTER = ("sqdiff", "sqdiff_normed")


def canonical_method(method: Any) -> str:
    """Canonical method name for ``method`` (a name, an OpenCV name or a cv2.TM_* code)."""
    if isinstance(method, (int, np.integer)) and not isinstance(method, bool):
        if int(method) in _CV_CODES:
            return _CV_CODES[int(method)]
    elif isinstance(method, str):
        key = method.strip().lower()
        if key in METHODS:
            return key
        if key in _ALIASES:
            return _ALIASES[key]
    raise InputError(
        f"method: unknown matching method {method!r}; use one of {', '.join(METHODS)} "
        "(or an OpenCV name such as 'TM_CCOEFF_NORMED')"
    )


@dataclasses.dataclass(frozen=True)
class MatchResult(Result):
    """Score map of :func:`match_template`.

    Attributes
    ----------
    method : str
        Canonical method name (``zncc``, ``ncc``, ``ccorr``, ``ccoeff``, ``sqdiff``,
        ``sqdiff_normed``).
    scores : ndarray
        The score map (float32 for ``precision="float32"``, else float64). Shape
        ``image - template + 1`` per axis, or the image's shape with ``pad=True``.
    defined : ndarray of bool or None
        False where a normalized score is undefined (flat template or window, no valid
        pixels) and the documented fill value was used; None for unnormalized methods.
    template_shape : tuple of int
        Spatial shape of the template.
    origin : tuple of int
        Image position of the template's top-left corner for ``scores[0, 0]``:
        zeros, or ``-(template_shape // 2)`` with ``pad=True``.
    higher_is_better : bool
        False for ``sqdiff`` and ``sqdiff_normed``.
    precision : str
        ``float32`` or ``float64``.
    algorithm : str
        ``direct``, ``fft`` (one whole-image FFT), ``overlap-save FxF`` or ``masked-fft``.
    """

    method: str
    scores: np.ndarray = no_json()
    defined: np.ndarray | None = no_json()
    template_shape: tuple = ()
    origin: tuple = ()
    higher_is_better: bool = True
    precision: str = "float32"
    algorithm: str = ""
    shape: tuple = ()

    @property
    def best_index(self) -> tuple[int, ...]:
        """Index of the best score in ``scores`` (NaN-safe)."""
        s = self.scores
        flat = np.nanargmax(s) if self.higher_is_better else np.nanargmin(s)
        return tuple(int(v) for v in np.unravel_index(flat, s.shape))

    @property
    def best_score(self) -> float:
        return float(self.scores[self.best_index])

    def top_left(self, index) -> tuple[int, ...]:
        """Image position of the template's top-left corner for a score index."""
        return tuple(int(i) + o for i, o in zip(index, self.origin))

    def center(self, index) -> tuple[float, ...]:
        """Image position of the template's centre, ``top_left + (shape - 1) / 2``."""
        return tuple(t + (n - 1) / 2 for t, n in zip(self.top_left(index), self.template_shape))


# --------------------------------------------------------------------------- validate
def _prepare(image, template, mask, image_mask, channel_axis):
    img = as_image(image, "image")
    tpl = as_image(template, "template")
    if img.ndim != tpl.ndim:
        raise ShapeMismatchError(
            f"image and template differ in ndim: {img.shape} vs {tpl.shape}; both need the same axes "
            "(pass channel_axis for colour, or convert both to gray)"
        )
    if channel_axis is not None:
        if not isinstance(channel_axis, (int, np.integer)) or isinstance(channel_axis, bool):
            raise InputError(f"channel_axis: must be an integer or None, got {channel_axis!r}")
        if not -img.ndim <= channel_axis < img.ndim:
            raise InputError(f"channel_axis: {channel_axis} is out of range for image with shape {img.shape}")
        img = np.moveaxis(img, channel_axis, -1)
        tpl = np.moveaxis(tpl, channel_axis, -1)
        if img.shape[-1] != tpl.shape[-1]:
            raise ShapeMismatchError(
                f"image has {img.shape[-1]} channels but template has {tpl.shape[-1]}; convert both to the same"
            )
    else:
        img = img[..., None]
        tpl = tpl[..., None]
    sp, tsp = img.shape[:-1], tpl.shape[:-1]
    if len(sp) < 1:
        raise InputError("image: needs at least one spatial axis besides channel_axis")
    if any(t > s for t, s in zip(tsp, sp)):
        raise ShapeMismatchError(
            f"template {tsp} is larger than image {sp} on at least one axis; the template must fit inside "
            "the image (swap the arguments, or crop the template)"
        )
    w = None
    if mask is not None:
        mk = np.asarray(mask)
        if mk.shape != tsp:
            raise MaskError(f"mask: shape {mk.shape} does not match the template's spatial shape {tsp}")
        if mk.dtype.kind not in "biuf":
            raise MaskError(f"mask: must be bool or non-negative weights, got dtype {mk.dtype}")
        w = mk.astype(np.float64)
        if not np.isfinite(w).all() or (w < 0).any():
            raise MaskError("mask: weights must be finite and >= 0 (True/1 = use the template pixel)")
        if not w.any():
            raise MaskError("mask: selects no template pixels (all zero); nothing to match")
    m = None
    if image_mask is not None:
        m = as_mask(image_mask, sp, "image_mask")
    # non-finite values
    if has_nonfinite(tpl):
        bad = ~np.isfinite(tpl).all(axis=-1)
        if w is None:
            raise NonFiniteError(
                f"template: contains {int(bad.sum())} NaN/Inf pixel(s); pass mask= (False there) to exclude them"
            )
        w = np.where(bad, 0.0, w)
        if not w.any():
            raise MaskError("mask: no finite template pixels remain")
        tpl = np.where(bad[..., None], 0, tpl)
    if has_nonfinite(img):
        bad = ~np.isfinite(img).all(axis=-1)
        if m is None:
            raise NonFiniteError(
                f"image: contains {int(bad.sum())} NaN/Inf pixel(s); pass image_mask= (False at invalid pixels) "
                "to exclude them"
            )
        m = m & ~bad
        if not m.any():
            raise MaskError("image_mask: no finite image pixels remain")
    if w is not None and np.all(w == 1):
        w = None
    if m is not None and m.all():
        m = None
    return img, tpl, w, m


def match_template(
    image,
    template,
    *,
    method: str = "zncc",
    mask=None,
    image_mask=None,
    pad: bool = False,
    channel_axis: int | None = None,
    precision: str = "float32",
) -> MatchResult:
    """Score every placement of ``template`` inside ``image`` (2-D or 3-D).

    Parameters
    ----------
    image, template : array_like
        Real arrays with the same number of axes (bool and complex are refused). The
        template must fit inside the image on every spatial axis.
    method : str or int
        ``zncc`` (default), ``ncc``, ``ccorr``, ``ccoeff``, ``sqdiff``,
        ``sqdiff_normed``; OpenCV names (``"TM_CCOEFF_NORMED"``) and ``cv2.TM_*`` codes
        are accepted. See the module docstring for the definitions.
    mask : array_like, optional
        Template weights (bool or >= 0) with the template's spatial shape.
    image_mask : array_like of bool, optional
        Valid image pixels (False = exclude; NaN/Inf are allowed there).
    pad : bool
        False: 'valid' output ``image - template + 1``. True: image-sized output,
        ``scores[i]`` is the score with the template centre (``shape // 2``) on pixel
        ``i``; template pixels outside the image are excluded.
    channel_axis : int, optional
        Colour axis of both arrays; scores sum over channels (OpenCV's definition).
    precision : {'float32', 'float64'}
        FFT working precision and output dtype. ``float32`` (default) is fast and
        accurate to ~1e-5 for zncc; ``float64`` agrees with a direct float64
        computation to ~1e-12. Window sums are float64 in both. Masked and padded
        matching always computes in float64.

    Returns
    -------
    MatchResult
        ``scores`` map plus geometry (``origin``, ``template_shape``) and ``defined``.

    Notes
    -----
    Unmasked: a correlation with the mean-removed template (direct for templates of
    at most 16 pixels, else real FFTs by overlap-save blocks, see
    :mod:`imcorr.match.valid_correlation`), plus window sums of ``I`` and ``I**2`` by the shared
    O(N) box-sum kernel [2]_. Masked: the weighted sums come from six FFT correlations
    (Padfield's masked NCC [3]_).

    References
    ----------
    .. [1] Lewis, J. P. (1995). Fast normalized cross-correlation. Vision Interface 95,
       120-123.
    .. [2] Crow, F. C. (1984). Summed-area tables for texture mapping. SIGGRAPH 84,
       207-212. doi:10.1145/800031.808600
    .. [3] Padfield, D. (2012). Masked object registration in the Fourier domain. IEEE
       Transactions on Image Processing 21(5), 2706-2718. doi:10.1109/TIP.2011.2181402

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> scene = np.random.default_rng(0).random((40, 50))
    >>> res = imcorr.match_template(scene, scene[10:18, 20:32])  # zncc over every valid position
    >>> res.scores.shape, np.unravel_index(int(np.argmax(res.scores)), res.scores.shape)
    ((33, 39), (np.int64(10), np.int64(20)))
    """
    meth = canonical_method(method)
    if precision not in ("float32", "float64"):
        raise InputError(f"precision: must be 'float32' or 'float64', got {precision!r}")
    img, tpl, w, m = _prepare(image, template, mask, image_mask, channel_axis)
    if meth == "zncc":  # scale-free score: keep far-from-1 data (1e200, 1e-190) in range, exactly
        img, tpl = pow2_unit(img, safe=ZNCC_SAFE_EXPONENT), pow2_unit(tpl, safe=ZNCC_SAFE_EXPONENT)
    sp, tsp = img.shape[:-1], tpl.shape[:-1]
    dtype = np.float32 if precision == "float32" else np.float64
    origin = (0,) * len(sp)
    if pad:
        lo = [t // 2 for t in tsp]
        hi = [t - 1 - t // 2 for t in tsp]
        pw = [(a, b) for a, b in zip(lo, hi)] + [(0, 0)]
        base = m if m is not None else np.ones(sp, dtype=bool)
        img = np.pad(np.where(base[..., None], img, 0), pw)
        m = np.pad(base, pw[:-1])
        origin = tuple(-v for v in lo)
    nelem = int(np.prod(_fft.fast_shape(img.shape[:-1])))
    masked = w is not None or m is not None
    work = nelem * 8 * (14 if masked else 6)
    check_memory(work, f"match_template of {img.shape[:-1]} and {tsp} (~{format_bytes(work)})")
    if masked:
        wts = w if w is not None else np.ones(tsp)
        mm = m if m is not None else np.ones(img.shape[:-1], dtype=bool)
        scores, defined = masked_scores(img, tpl, wts, mm, meth)
        algorithm = "masked-fft"
    else:
        exact_int = precision == "float64" and img.dtype.kind in "ui" and tpl.dtype.kind in "ui"
        scores, defined = unmasked_scores(img, tpl, meth, dtype, exact_int=exact_int)
        algorithm = _algorithm_name(img.shape[:-1], tsp)
    if scores.dtype != dtype:
        scores = scores.astype(dtype)
    return MatchResult(
        method=meth,
        scores=scores,
        defined=defined,
        template_shape=tuple(int(t) for t in tsp),
        origin=origin,
        higher_is_better=meth not in LOWER_IS_BETTER,
        precision=precision,
        algorithm=algorithm,
        shape=tuple(scores.shape),
    )


def _algorithm_name(sp, tsp) -> str:
    if int(np.prod(tsp)) <= DIRECT_MAX:
        return "direct"
    tile, ntiles = plan_tiles(sp, tsp)
    if ntiles == 1:
        return "fft"
    return "overlap-save " + "x".join(str(t) for t in tile)


# ------------------------------------------------------------------------ one call
@dataclasses.dataclass(frozen=True)
class Match(Result):
    """One match of :func:`find_template`.

    Attributes
    ----------
    top_left : tuple of int
        Image index of the template's top-left pixel (integer peak).
    center : tuple of float
        Image position of the template centre, ``top_left + (shape - 1) / 2``, including
        the subpixel offset.
    score : float
        Score at the integer peak.
    offset : tuple of float
        Subpixel offset of the peak (each in [-0.5, 0.5] for a well-formed peak).
    position : tuple of float
        Subpixel top-left position, ``top_left + offset``.
    """

    top_left: tuple
    center: tuple
    score: float
    offset: tuple
    position: tuple


@dataclasses.dataclass(frozen=True)
class TemplateMatchResult(Result):
    """Result of :func:`find_template`: the best match(es) and the score map.

    ``matches`` are ordered best first; ``best`` is the first (None when no score
    passes the threshold). ``to_records()`` gives one flat dict per match.
    """

    method: str
    matches: tuple = ()
    template_shape: tuple = ()
    scores: MatchResult | None = no_json()

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_records(self) -> list[dict[str, Any]]:
        names = axis_names(len(self.template_shape))
        recs = []
        for k, mt in enumerate(self.matches):
            r: dict[str, Any] = {"rank": k, "score": mt.score}
            for i, nm in enumerate(names):
                r[nm] = mt.top_left[i]
            for i, nm in enumerate(names):
                r[f"c{nm}"] = mt.center[i]
            for i, nm in enumerate(names):
                r[f"d{nm}"] = mt.offset[i]
            recs.append(r)
        return recs


def find_template(
    image,
    template,
    *,
    method: str = "zncc",
    max_matches: int = 1,
    threshold: float | None = None,
    min_distance: int | None = None,
    subpixel: bool = True,
    mask=None,
    image_mask=None,
    channel_axis: int | None = None,
    precision: str = "float32",
) -> TemplateMatchResult:
    """Find the best match (or the ``max_matches`` best) of ``template`` in ``image``.

    One call of :func:`match_template` (valid geometry) followed by :func:`find_peaks`.
    ``min_distance`` defaults to half the smallest template side, so two reported
    matches overlap by at most about half a template. ``threshold`` (e.g. 0.8 for zncc;
    an upper bound for the sqdiff methods) drops weak matches. Parameters otherwise
    as in :func:`match_template`.

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> scene = np.random.default_rng(1).random((40, 50))
    >>> best = imcorr.find_template(scene, scene[10:18, 20:32]).best
    >>> best.top_left, round(best.score, 6)
    ((10, 20), 1.0)
    """
    res = match_template(
        image, template, method=method, mask=mask, image_mask=image_mask, channel_axis=channel_axis,
        precision=precision,
    )
    if min_distance is None:
        min_distance = max(1, min(res.template_shape) // 2)
    peaks = find_peaks(
        res, threshold=threshold, max_peaks=max_matches, min_distance=min_distance, subpixel=subpixel,
    )
    matches = []
    arrays = None
    for idx, sub, sc in zip(peaks.indices, peaks.positions, peaks.scores):
        tl = res.top_left(idx)
        off = tuple(float(s - i) for s, i in zip(sub, idx))
        if subpixel and mask is None and image_mask is None:
            if arrays is None:
                arrays = _prepare(image, template, None, None, channel_axis)[:2]
            fit = refine_offset(arrays[0], arrays[1], tl, off)
            if fit is not None:
                off = fit
        pos = tuple(t + o for t, o in zip(tl, off))
        ctr = tuple(p + (n - 1) / 2 for p, n in zip(pos, res.template_shape))
        matches.append(Match(top_left=tl, center=ctr, score=float(sc), offset=off, position=pos))
    return TemplateMatchResult(method=res.method, matches=tuple(matches), template_shape=res.template_shape,
                               scores=res)


