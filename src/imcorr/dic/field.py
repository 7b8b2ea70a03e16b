"""The :class:`DisplacementField` result: a grid of window-centre displacements with their trust flags."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr.errors import ImageReadError, InputError

__all__ = ["DisplacementField", "STATUS_VALUES"]

#: Every value a vector's ``status`` can take.
STATUS_VALUES = ("ok", "replaced", "invalid", "outside_roi")

_ARRAY_FIELDS = ("z", "y", "x", "dz", "dy", "dx", "quality", "peak_ratio", "status", "reason", "valid")


@dataclasses.dataclass(frozen=True)
class DisplacementField(Result):
    """Subset displacements on a grid of window centres (DIC / PIV).

    Arrays all have the grid's shape (rows, cols) in 2-D or (planes, rows, cols) in 3-D.

    Attributes
    ----------
    y, x : ndarray
        Window-centre coordinates in pixels (origin at the centre of the top-left pixel, rows down);
        ``z`` too for volumes (else None).
    dy, dx : ndarray
        Displacement of ``deformed``'s content relative to ``reference`` at each centre:
        ``deformed ~= scipy.ndimage.shift(reference, (dy, dx))`` locally (``dz`` too for volumes).
        NaN where ``status`` is ``invalid`` or ``outside_roi``.
    quality : ndarray
        Zero-normalised cross-correlation at the peak (1 = perfect match; for ``icgn``, ``1 - ZNSSD / 2``
        of the converged affine subset).
    peak_ratio : ndarray
        Primary ZNCC peak over the highest other local maximum in the search area (inf if none > 0).
    status : ndarray of str
        ``ok`` (measured), ``replaced`` (an outlier replaced by the median of its valid neighbours),
        ``invalid`` (no trustworthy value; ``dy``/``dx`` NaN) or ``outside_roi``.
    reason : ndarray of str
        Why a vector is not ``ok`` ("" when it is).
    valid : ndarray of bool
        ``status == "ok"``: measured vectors that passed validation (replaced ones are not counted).
    window, step, search : tuple of int
        Final window size, grid step and search half-range (+- pixels per axis) of the first pass.
    passes : tuple of int
        Window size of each pass (one entry for a single pass).
    criterion, subpixel : str
        Matching criterion and subpixel method.
    n_vectors, n_valid, n_replaced, n_invalid, n_outside_roi : int
        Counts per status.
    n_subpixel_fallback : int
        Vectors whose 3-point subpixel fit fell back (``gaussian``/``centroid`` -> ``parabolic`` when a
        neighbour of the peak is <= 0; any method -> integer peak when the fit is degenerate; ``icgn`` ->
        the correlation-peak estimate when Gauss-Newton did not converge).
    image_shape : tuple of int
        Shape of the images (spatial axes).
    """

    y: np.ndarray = no_json()
    x: np.ndarray = no_json()
    dy: np.ndarray = no_json()
    dx: np.ndarray = no_json()
    quality: np.ndarray = no_json()
    peak_ratio: np.ndarray = no_json()
    status: np.ndarray = no_json()
    reason: np.ndarray = no_json()
    valid: np.ndarray = no_json()
    z: np.ndarray | None = no_json()
    dz: np.ndarray | None = no_json()
    window: tuple = ()
    step: tuple = ()
    search: tuple = ()
    passes: tuple = ()
    criterion: str = "zncc"
    subpixel: str = "gaussian"
    n_vectors: int = 0
    n_valid: int = 0
    n_replaced: int = 0
    n_invalid: int = 0
    n_outside_roi: int = 0
    n_subpixel_fallback: int = 0
    image_shape: tuple = ()

    @property
    def ndim(self) -> int:
        """2 for images, 3 for volumes."""
        return 3 if self.z is not None else 2

    @property
    def grid_shape(self) -> tuple[int, ...]:
        return tuple(self.dy.shape)

    @property
    def fraction_valid(self) -> float:
        return self.n_valid / self.n_vectors if self.n_vectors else 0.0

    @property
    def magnitude(self) -> np.ndarray:
        """Displacement magnitude per vector (NaN where invalid)."""
        comps = [self.dy, self.dx] + ([self.dz] if self.dz is not None else [])
        return np.sqrt(sum(c * c for c in comps))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["grid_shape"] = list(self.grid_shape)
        out["fraction_valid"] = self.fraction_valid
        ok = self.valid
        out["median_dy"] = float(np.median(self.dy[ok])) if ok.any() else None
        out["median_dx"] = float(np.median(self.dx[ok])) if ok.any() else None
        if self.dz is not None:
            out["median_dz"] = float(np.median(self.dz[ok])) if ok.any() else None
        return out

    def _columns(self) -> list[str]:
        coords = ["z", "y", "x"] if self.ndim == 3 else ["y", "x"]
        comps = ["dz", "dy", "dx"] if self.ndim == 3 else ["dy", "dx"]
        return coords + comps + ["quality", "peak_ratio", "status", "reason", "valid"]

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per vector (coordinates, displacement, quality, status, reason)."""
        cols = self._columns()
        flat = {c: np.asarray(getattr(self, c)).ravel() for c in cols}
        rows = []
        for i in range(self.n_vectors):
            row = {}
            for c in cols:
                v = flat[c][i]
                if isinstance(v, np.floating):
                    v = float(v)
                    v = v if np.isfinite(v) or c == "peak_ratio" else None
                elif isinstance(v, np.bool_):
                    v = bool(v)
                elif isinstance(v, np.str_):
                    v = str(v)
                row[c] = v
            rows.append(row)
        return rows

    def _metadata(self) -> dict[str, Any]:
        meta = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _ARRAY_FIELDS}
        meta["grid_shape"] = self.grid_shape
        return meta

    def to_csv(self, path) -> Path:
        """Write one row per vector (header line first; NaN for undefined values); returns the path."""
        path = Path(path)
        cols = self._columns()
        flat = {c: np.asarray(getattr(self, c)).ravel() for c in cols}
        with open(path, "w", newline="") as fh:
            fh.write("# imcorr DisplacementField " + json.dumps(_jsonable(self._metadata())) + "\n")
            w = csv.writer(fh)
            w.writerow(cols)
            for i in range(self.n_vectors):
                w.writerow([_csv_value(flat[c][i]) for c in cols])
        return path

    def to_npz(self, path) -> Path:
        """Save every array and the settings to a ``.npz`` file (read back with :meth:`load`)."""
        path = Path(path)
        arrays = {c: np.asarray(getattr(self, c)) for c in _ARRAY_FIELDS if getattr(self, c) is not None}
        arrays["status"] = arrays["status"].astype("U16")
        arrays["reason"] = arrays["reason"].astype("U64")
        np.savez_compressed(path, metadata=np.array(json.dumps(_jsonable(self._metadata()))), **arrays)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path) -> DisplacementField:
        """Read a field written by :meth:`to_npz` or :meth:`to_csv`."""
        path = Path(path)
        if not path.is_file():
            raise ImageReadError(f"{path}: no such file")
        if path.suffix.lower() == ".csv":
            return _load_csv(cls, path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["metadata"]))
                meta.pop("grid_shape", None)
                arrays = {k: data[k] for k in data.files if k != "metadata"}
        except (OSError, ValueError, KeyError) as exc:
            raise ImageReadError(f"{path}: not a DisplacementField .npz file ({exc})") from exc
        return cls(**arrays, **_from_meta(meta))


def _jsonable(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in meta.items()}


def _from_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in meta.items()}


def _csv_value(v) -> str:
    if isinstance(v, (np.bool_, bool)):
        return "1" if v else "0"
    if isinstance(v, (np.floating, float)):
        return repr(float(v))
    return str(v)


def _load_csv(cls, path: Path) -> DisplacementField:
    with open(path, newline="") as fh:
        first = fh.readline()
        if not first.startswith("# imcorr DisplacementField "):
            raise ImageReadError(f"{path}: not a DisplacementField CSV (first line must be its '# imcorr' header)")
        meta = _from_meta(json.loads(first[len("# imcorr DisplacementField "):]))
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    shape = tuple(int(v) for v in meta.pop("grid_shape", ())) or None
    cols = {h: [r[i] for r in body] for i, h in enumerate(header)}
    n = len(body)
    if shape is None:
        shape = _grid_shape_from_coords(cols, header)
    if int(np.prod(shape)) != n:
        raise InputError(f"{path}: {n} rows do not fill the grid {shape}")
    arrays: dict[str, Any] = {}
    for c in header:
        if c in ("status", "reason"):
            arrays[c] = np.array(cols[c], dtype="U64").reshape(shape)
        elif c == "valid":
            arrays[c] = np.array([v == "1" for v in cols[c]]).reshape(shape)
        else:
            arrays[c] = np.array([float(v) for v in cols[c]]).reshape(shape)
    return cls(**arrays, **meta)


def _grid_shape_from_coords(cols, header) -> tuple[int, ...]:
    axes = [c for c in ("z", "y", "x") if c in header]
    return tuple(len(set(cols[a])) for a in axes)
