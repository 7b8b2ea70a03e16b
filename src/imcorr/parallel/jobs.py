"""More batch jobs on the same engine: perceptual hashes of many files (and into an index), displacement
fields of many pairs.

Each is one entry of :data:`~imcorr.parallel.JOB_KINDS` (kind ``"hash"`` and ``"displacement"``), so it runs
on any scheduler :func:`~imcorr.parallel.run_batch` takes (local threads or processes, a Dask cluster), streams
one row per task to a crash-safe CSV journal and resumes with ``resume=True``; a failing file is an error
row and the rest run.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from imcorr.collection import AddReport, Index
from imcorr.collection._files import Decoded, Failure, Hashed, HashSpec, hash_file
from imcorr.dic import displacement_field
from imcorr.errors import InputError, ShapeMismatchError
from imcorr.hashing import HASH_METHODS, hash_image
from imcorr.io import load
from imcorr.parallel.engine import BatchResult, register_job, run_batch
from imcorr.parallel.pairs import _as_pairs

__all__ = ["hash_files", "displacement_fields", "index_add"]


# ------------------------------------------------------------------------------------ hashes
# With ``options["spec"]`` (a collection HashSpec: :func:`index_add`) a hash task decodes and hashes the file
# exactly as Index.add does and returns what the index stores; else the imagehash-compatible hex per method.
_INDEX_COLUMNS = (("record", str), ("size", int), ("mtime_ns", int), ("digest", str), ("width", int),
                  ("height", int), ("failure_kind", str), ("failure_reason", str))


def _hash_columns(options: dict) -> tuple:
    if options.get("spec") is not None:
        return _INDEX_COLUMNS + tuple((f"words_{m}", str) for m in options["methods"])
    return tuple((method, str) for method in options["methods"])


def _encode_words(words: np.ndarray) -> str:
    """(n_variants, W) int64 -> ``"w,w;w,w"`` (decimal: exact for int64, readable in the CSV journal)."""
    return ";".join(",".join(str(int(w)) for w in row) for row in np.atleast_2d(words))


def _decode_words(text: str) -> np.ndarray:
    return np.array([[int(w) for w in row.split(",")] for row in text.split(";")], dtype=np.int64)


def _run_hash(task: dict, options: dict) -> dict:
    spec = options.get("spec")
    if spec is None:
        return {method: str(hash_image(task["path"], method, draft=options["draft"]))
                for method in options["methods"]}
    r = hash_file(task["path"], spec)
    row = {"record": type(r).__name__.lower(), "size": r.size, "mtime_ns": r.mtime_ns}
    if isinstance(r, Failure):
        return {**row, "failure_kind": r.kind, "failure_reason": r.reason}
    row.update(digest=r.digest, width=r.width, height=r.height)
    if isinstance(r, Hashed):
        row.update({f"words_{m}": _encode_words(w) for m, w in r.words.items()})
    return row


def _index_record(row: dict, methods: Sequence[str]) -> Hashed | Decoded | Failure:
    """A hash row (from any worker) back into what Index.add stores."""
    if row["status"] != "ok":  # the task itself failed (a worker died): recorded, retried by the next add
        return Failure(row["path"], "error", str(row.get("error")))
    if row["record"] == "failure":
        return Failure(row["path"], row["failure_kind"], row["failure_reason"], row["size"], row["mtime_ns"])
    if row["record"] == "decoded":  # same content digest as stored: only size/mtime change
        return Decoded(row["path"], row["size"], row["mtime_ns"], row["digest"])
    return Hashed(row["path"], row["size"], row["mtime_ns"], row["digest"], row["width"], row["height"],
                  {m: _decode_words(row[f"words_{m}"]) for m in methods})


def _batch_hasher(paths: list[str], spec: HashSpec, deliver: Callable, *, scheduler, workers, progress) -> None:
    """An Index.add hasher: the ``hash`` job on any scheduler; each completed chunk is delivered to the index
    (stored by the calling process) as it arrives."""
    run_batch("hash", ({"path": p} for p in paths), options={"methods": spec.methods, "spec": spec},
              scheduler=scheduler, workers=workers, progress=progress,
              on_rows=lambda rows: deliver([_index_record(r, spec.methods) for r in rows]))


def index_add(index: Index, paths_or_dir, *, hashes=("phash", "dhash"), recursive: bool = True,
              invariant: bool = False, scheduler=None, workers: int | None = None,
              progress: bool | None = None) -> AddReport:
    """:meth:`imcorr.Index.add` with the files read and hashed on any scheduler (e.g. a Dask cluster).

    The workers decode and hash (the batch engine's ``hash`` job, with the index's hash size, JPEG draft
    size and dihedral variants); only this process writes the SQLite index, one transaction per completed
    chunk, so a killed run keeps every chunk that arrived and a new ``add`` / ``index_add`` skips those files.

    Parameters
    ----------
    index : imcorr.Index
        An index opened writable.
    paths_or_dir, hashes, recursive, invariant :
        As in :meth:`imcorr.Index.add`.
    scheduler, workers, progress :
        As in :func:`~imcorr.parallel.run_batch` (on a cluster the paths must be readable by the workers).

    Returns
    -------
    imcorr.collection.AddReport
        As :meth:`imcorr.Index.add`; a file whose task failed (a worker died) is a failure of kind ``error``.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import imcorr
    >>> d = tempfile.mkdtemp()
    >>> img = (np.add.outer(np.arange(64), np.arange(64)) * 2).astype(np.uint8)
    >>> _ = imcorr.save(os.path.join(d, "a.png"), img); _ = imcorr.save(os.path.join(d, "b.png"), img.T[::-1])
    >>> with imcorr.Index(os.path.join(d, "idx.sqlite")) as index:
    ...     report = imcorr.index_add(index, d, scheduler="synchronous")
    ...     hit = index.query(os.path.join(d, "a.png"), k=1)
    >>> report.added, hit.matches[0].path.endswith("a.png"), hit.matches[0].distance
    (2, True, 0)
    """
    hasher = functools.partial(_batch_hasher, scheduler=scheduler, workers=workers, progress=progress)
    return index.add(paths_or_dir, hashes=hashes, recursive=recursive, invariant=invariant, hasher=hasher)


register_job("hash", inputs=("path",), columns=_hash_columns, run=_run_hash)


def hash_files(paths, *, methods: Sequence[str] = ("phash",), draft: bool = True, scheduler=None, out=None,
               resume: bool = False, workers: int | None = None, progress: bool | None = None) -> BatchResult:
    """Perceptual hashes (imagehash-compatible hex) of many files, on a local pool or a Dask cluster.

    Parameters
    ----------
    paths : iterable of str or Path
        Image files.
    methods : sequence of str
        Names in :data:`imcorr.hashing.HASH_METHODS`; one column each.
    draft : bool
        Draft JPEG decoding (faster; ``False`` is bit-identical to imagehash).
    scheduler, out, resume, workers, progress
        As in :func:`~imcorr.parallel.run_batch`.

    Returns
    -------
    BatchResult
        One row per file: ``index, path, status, error``, one hex column per method, ``seconds``.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import imcorr
    >>> d = tempfile.mkdtemp()
    >>> img = np.tile(np.r_[np.zeros(32), np.full(32, 255)].astype(np.uint8), (64, 1))
    >>> p = str(imcorr.save(os.path.join(d, "x.png"), img))
    >>> res = imcorr.hash_files([p, os.path.join(d, "missing.png")], methods=["ahash"], scheduler="synchronous")
    >>> [(r["status"], r["ahash"]) for r in res.to_rows()]
    [('ok', '0f0f0f0f0f0f0f0f'), ('error', None)]
    """
    methods = tuple(methods)
    unknown = [m for m in methods if m not in HASH_METHODS]
    if unknown or not methods:
        raise InputError(f"methods: {unknown or 'none given'}; choose from {list(HASH_METHODS)}")
    tasks = ({"path": os.fspath(p)} for p in paths)
    return run_batch("hash", tasks, options={"methods": methods, "draft": bool(draft)}, scheduler=scheduler,
                     out=out, resume=resume, workers=workers, progress=progress)


# ------------------------------------------------------------------------------ displacement
_FIELD_COLUMNS = (("n_vectors", int), ("valid_fraction", float), ("median_dy", float), ("median_dx", float),
                  ("rms_displacement", float), ("field", str))


def _run_displacement(task: dict, options: dict) -> dict:
    ref = load(task["reference"], gray=True)
    deformed = load(task["deformed"], gray=True)
    if ref.shape != deformed.shape:
        raise ShapeMismatchError(f"{task['deformed']} has shape {deformed.shape}, {task['reference']} has "
                                 f"{ref.shape}; a pair must match")
    field = displacement_field(ref, deformed, **options["field"])
    ok = np.asarray(field.valid, bool)
    dy, dx = np.asarray(field.dy)[ok], np.asarray(field.dx)[ok]
    saved = None
    if options["fields_dir"] is not None:  # every field on disk: a killed run loses none that finished
        name = f"{Path(task['reference']).stem}__{Path(task['deformed']).stem}.npz"
        saved = str(field.to_npz(Path(options["fields_dir"]) / name))
    return {
        "n_vectors": int(ok.size),
        "valid_fraction": float(ok.mean()) if ok.size else math.nan,
        "median_dy": float(np.median(dy)) if dy.size else math.nan,
        "median_dx": float(np.median(dx)) if dx.size else math.nan,
        "rms_displacement": float(np.sqrt(np.mean(dy**2 + dx**2))) if dy.size else math.nan,
        "field": saved,
    }


register_job("displacement", inputs=("reference", "deformed"), columns=lambda options: _FIELD_COLUMNS,
             run=_run_displacement)


def displacement_fields(pairs, *, fields_dir=None, scheduler=None, out=None, resume: bool = False,
                        workers: int | None = None, progress: bool | None = None,
                        **field_options: Any) -> BatchResult:
    """:func:`imcorr.displacement_field` of many (reference, deformed) pairs, on a local pool or a Dask cluster.

    Parameters
    ----------
    pairs : str, Path, DataFrame or iterable of (reference, deformed)
        As in :func:`~imcorr.parallel.compare_pairs` (a CSV with columns ``a,b``: ``a`` is the reference).
    fields_dir : str or Path, optional
        An existing folder: each whole field is written there as ``<ref>__<deformed>.npz``
        (:meth:`imcorr.dic.DisplacementField.load` reads it); the row names the file.
    scheduler, out, resume, workers, progress
        As in :func:`~imcorr.parallel.run_batch`.
    **field_options
        Passed to :func:`imcorr.displacement_field` (``window``, ``step``, ``subpixel``...).

    Returns
    -------
    BatchResult
        One row per pair: ``index, reference, deformed, status, error``, the number of vectors, the valid
        fraction, the median valid ``dy``/``dx``, the RMS displacement and the field file.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import imcorr
    >>> d = tempfile.mkdtemp()
    >>> ref = imcorr.gaussian_random_field((128, 128), 3.0, seed=0)
    >>> np.save(os.path.join(d, "ref.npy"), ref)
    >>> np.save(os.path.join(d, "def.npy"), np.roll(ref, (1, -2), axis=(0, 1)))  # content moved by (1, -2)
    >>> res = imcorr.displacement_fields([(os.path.join(d, "ref.npy"), os.path.join(d, "def.npy"))],
    ...                                  window=32, step=32, scheduler="synchronous")
    >>> row = res.to_rows()[0]
    >>> round(row["median_dy"], 1), round(row["median_dx"], 1)
    (1.0, -2.0)
    """
    if fields_dir is not None and not Path(fields_dir).is_dir():
        raise InputError(f"fields_dir: {fields_dir} is not an existing folder; create it first")
    table, base = _as_pairs(pairs)

    def resolve(p: str) -> str:
        return p if base is None or os.path.isabs(p) else os.path.join(base, p)

    tasks = ({"reference": resolve(a), "deformed": resolve(b)} for a, b in table)
    options = {"field": dict(field_options), "fields_dir": None if fields_dir is None else os.fspath(fields_dir)}
    return run_batch("displacement", tasks, options=options, scheduler=scheduler, out=out, resume=resume,
                     workers=workers, progress=progress)
