"""``strain``: in-plane strain from a displacement field by local plane fits (virtual strain gauge)."""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from imcorr._core.results import Result, no_json
from imcorr.dic.field import DisplacementField
from imcorr.errors import InputError

__all__ = ["StrainField", "strain", "STRAIN_KINDS"]

STRAIN_KINDS = ("green-lagrange", "engineering")


@dataclasses.dataclass(frozen=True)
class StrainField(Result):
    """Strain on the displacement grid.

    Attributes
    ----------
    y, x : ndarray
        Grid coordinates (pixels).
    exx, eyy, exy : ndarray
        Normal strains along x (columns) and y (rows) and the shear component (tensor shear, half the
        engineering shear angle); NaN where fewer than 3 valid vectors lie in the gauge or the fit is
        singular.
    dudx, dudy, dvdx, dvdy : ndarray
        Displacement gradients (u = dx, v = dy).
    kind : str
        ``green-lagrange`` (E = (F^T F - I) / 2) or ``engineering`` (small-strain, (grad u + grad u^T) / 2).
    window : int
        Gauge size in grid points (odd): the local plane fit uses ``window x window`` vectors.
    gauge_px : tuple of float
        The gauge size in pixels (window - 1) * step + subset size, per axis.
    """

    y: np.ndarray = no_json()
    x: np.ndarray = no_json()
    exx: np.ndarray = no_json()
    eyy: np.ndarray = no_json()
    exy: np.ndarray = no_json()
    dudx: np.ndarray = no_json()
    dudy: np.ndarray = no_json()
    dvdx: np.ndarray = no_json()
    dvdy: np.ndarray = no_json()
    kind: str = "green-lagrange"
    window: int = 5
    gauge_px: tuple = ()
    n_defined: int = 0

    def to_dict(self):
        out = super().to_dict()
        for name in ("exx", "eyy", "exy"):
            v = getattr(self, name)
            ok = np.isfinite(v)
            out[f"median_{name}"] = float(np.median(v[ok])) if ok.any() else None
        return out

    def to_rows(self):
        cols = ("y", "x", "exx", "eyy", "exy")
        flat = {c: np.asarray(getattr(self, c)).ravel() for c in cols}
        return [{c: (float(flat[c][i]) if np.isfinite(flat[c][i]) else None) for c in cols}
                for i in range(flat["y"].size)]


def _plane_gradients(values: np.ndarray, valid: np.ndarray, window: int, spacing: tuple[float, float]):
    """Least-squares plane a + b*dy + c*dx over each window x window neighbourhood: (d/dy, d/dx)."""
    h = window // 2
    v = np.pad(np.where(valid, values, 0.0), h)
    w = np.pad(valid.astype(float), h)
    off = (np.arange(window) - h).astype(float)
    oy, ox = np.meshgrid(off * spacing[0], off * spacing[1], indexing="ij")
    vw = sliding_window_view(v, (window, window))
    ww = sliding_window_view(w, (window, window))
    # weighted normal equations of the plane fit, per point
    s = lambda a: np.einsum("ijkl,kl->ij", ww, a)  # noqa: E731
    one = np.ones_like(oy)
    m = np.stack([np.stack([s(one), s(oy), s(ox)], -1), np.stack([s(oy), s(oy * oy), s(oy * ox)], -1),
                  np.stack([s(ox), s(ox * oy), s(ox * ox)], -1)], -2)
    r = np.stack([np.einsum("ijkl,ijkl->ij", ww, vw), np.einsum("ijkl,ijkl,kl->ij", ww, vw, oy),
                  np.einsum("ijkl,ijkl,kl->ij", ww, vw, ox)], -1)
    det = np.linalg.det(m)
    good = (ww.sum(axis=(2, 3)) >= 3) & (np.abs(det) > 1e-9 * np.maximum(np.abs(m[..., 0, 0]), 1) ** 3)
    m[~good] = np.eye(3)
    coef = np.linalg.solve(m, r[..., None])[..., 0]
    coef[~good] = np.nan
    return coef[..., 1], coef[..., 2]


def strain(field: DisplacementField, *, kind: str = "green-lagrange", window: int = 5) -> StrainField:
    """Strain components from the displacement gradients of a 2-D field.

    At every grid point a plane is fitted by least squares to the valid displacements (status ``ok``)
    of the ``window x window`` neighbouring vectors (the virtual strain gauge); its slopes are the
    gradients. Works on a field read back with :meth:`DisplacementField.load`.

    Parameters
    ----------
    field : DisplacementField
        A 2-D displacement field.
    kind : {'green-lagrange', 'engineering'}
        ``green-lagrange``: ``Exx = du/dx + (du/dx^2 + dv/dx^2) / 2``, ``Eyy = dv/dy + (du/dy^2 + dv/dy^2) / 2``,
        ``Exy = (du/dy + dv/dx + du/dx du/dy + dv/dx dv/dy) / 2``; ``engineering``: small-strain
        ``exx = du/dx``, ``eyy = dv/dy``, ``exy = (du/dy + dv/dx) / 2``.
    window : int
        Odd gauge size in grid points (>= 3).

    Returns
    -------
    StrainField

    Examples
    --------
    >>> import numpy as np
    >>> import imcorr
    >>> from imcorr.dic import strain
    >>> y, x = np.meshgrid(np.arange(5) * 16.0, np.arange(6) * 16.0, indexing="ij")
    >>> ok = np.ones(y.shape, bool)
    >>> f = imcorr.DisplacementField(y=y, x=x, dy=0.0 * y, dx=0.01 * x, quality=ok * 1.0, peak_ratio=ok * 2.0,
    ...                              status=np.full(y.shape, "ok"), reason=np.full(y.shape, ""), valid=ok,
    ...                              step=(16, 16), window=(32, 32), n_vectors=30, n_valid=30)
    >>> s = strain(f, kind="engineering", window=3)
    >>> round(float(np.median(s.exx)), 4), round(float(np.median(s.eyy)), 4)
    (0.01, 0.0)
    """
    if not isinstance(field, DisplacementField):
        raise InputError(f"field: must be a DisplacementField, got {type(field).__name__}")
    if field.ndim != 2:
        raise InputError("field: strain is implemented for 2-D fields only")
    if kind not in STRAIN_KINDS:
        raise InputError(f"kind: unknown {kind!r}; choose one of {', '.join(STRAIN_KINDS)}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 3 or window % 2 == 0:
        raise InputError(f"window: must be an odd integer >= 3 (grid points), got {window!r}")
    if min(field.grid_shape) < 2:
        raise InputError(f"field: the grid {field.grid_shape} needs at least 2 points per axis for gradients")
    y, x = np.asarray(field.y, float), np.asarray(field.x, float)
    sy = float(np.median(np.diff(y[:, 0]))) if y.shape[0] > 1 else 1.0
    sx = float(np.median(np.diff(x[0, :]))) if x.shape[1] > 1 else 1.0
    valid = np.asarray(field.valid, bool) & np.isfinite(field.dx) & np.isfinite(field.dy)
    dudy, dudx = _plane_gradients(np.asarray(field.dx, float), valid, window, (sy, sx))
    dvdy, dvdx = _plane_gradients(np.asarray(field.dy, float), valid, window, (sy, sx))
    if kind == "engineering":
        exx, eyy, exy = dudx, dvdy, 0.5 * (dudy + dvdx)
    else:
        exx = dudx + 0.5 * (dudx**2 + dvdx**2)
        eyy = dvdy + 0.5 * (dudy**2 + dvdy**2)
        exy = 0.5 * (dudy + dvdx + dudx * dudy + dvdx * dvdy)
    win = field.window[0] if field.window else 0
    gauge = ((window - 1) * sy + win, (window - 1) * sx + win)
    return StrainField(y=y, x=x, exx=exx, eyy=eyy, exy=exy, dudx=dudx, dudy=dudy, dvdx=dvdx, dvdy=dvdy,
                       kind=kind, window=int(window), gauge_px=gauge, n_defined=int(np.isfinite(exx).sum()))
