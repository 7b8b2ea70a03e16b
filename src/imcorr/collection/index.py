"""A persistent near-duplicate image index: SQLite on disk, multi-index hashing in memory.

See :class:`Index`. The storage layout is described in :mod:`imcorr.collection._store`,
the search in :mod:`imcorr.collection.mih`, the file rules in
:mod:`imcorr.collection._files`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

import imcorr.collection._files as _files
from imcorr.collection._files import (
    Decoded,
    Failure,
    Hashed,
    HashSpec,
    decode_bytes,
    draft_size,
    file_stat,
    hash_gray,
    pack_bits,
    walk_images,
)
from imcorr.collection._store import (
    IndexDatabaseError,
    bump_generation,
    generation,
    open_database,
    write_transaction,
)
from imcorr.collection.mih import MultiIndexHash, brute_force_search
from imcorr.collection.results import (
    AddReport,
    DuplicateGroup,
    DuplicateGroups,
    QueryMatch,
    QueryResult,
    SyncReport,
)
from imcorr.errors import ImageReadError, InputError
from imcorr.hashing import ImageHash, hash_batch
from imcorr.hashing.types import bits_to_hex

__all__ = ["Index", "INDEX_HASHES"]

#: Hashes an :class:`Index` can store (square bit arrays of ``hash_size**2`` bits).
INDEX_HASHES = ("phash", "dhash", "ahash")

_CHUNK = 256  # files per transaction
_BLOCKED_PAIRS = 5_000_000_000  # duplicates(): all pairs by vectorized blocks up to this many (about 70k files)


def _check_methods(hashes: Any) -> tuple[str, ...]:
    if isinstance(hashes, str):
        hashes = tuple(h.strip() for h in hashes.split(",") if h.strip())
    hashes = tuple(hashes)
    bad = [h for h in hashes if h not in INDEX_HASHES]
    if bad or not hashes:
        raise InputError(f"hashes: {bad or 'nothing'} not indexable; choose from {', '.join(INDEX_HASHES)}")
    return tuple(dict.fromkeys(hashes))


class Index:
    """A near-duplicate index of image files, kept in an SQLite database.

    Parameters
    ----------
    path : str or path
        The database file (created if missing). An existing file of another schema
        version, or one that is not an imcorr index, raises :class:`IndexVersionError`;
        a directory where the file cannot be written raises :class:`IndexDatabaseError`.
    hash_size : int, optional
        Side of the hashes (``hash_size**2`` bits), fixed when the index is created
        (default 8: 64-bit hashes). Ignored (must match) for an existing index.
    exact : bool, optional
        Decode JPEGs fully: hashes bit-identical to imagehash's. The default (False)
        decodes JPEGs at reduced size (Pillow draft mode), several times faster, with
        hashes a few bits from imagehash's. Fixed when the index is created; queries
        use the same rule.
    readonly : bool
        Open an existing index for queries only (works in a read-only directory).

    Notes
    -----
    The index is safe against crashes (each batch of files is one transaction in WAL
    mode; a killed run leaves a consistent database and the next ``add`` resumes) and
    against concurrent writers (busy timeout and retry). Queries load the hashes of one
    method into multi-index hash tables on first use (and again after any write).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> img = (np.add.outer(np.arange(64), np.arange(64)) * 2).astype(np.uint8)
    >>> Image.fromarray(img).save(os.path.join(d, "a.png"))
    >>> Image.fromarray(img[:, ::-1]).save(os.path.join(d, "b.png"))
    >>> with Index(os.path.join(d, "idx.sqlite")) as index:
    ...     report = index.add(d)
    ...     hit = index.query(os.path.join(d, "a.png"), k=1)
    >>> report.added, hit.matches[0].path.endswith("a.png"), hit.matches[0].distance
    (2, True, 0)
    """

    def __init__(self, path: str | os.PathLike = "imcorr.sqlite", *, hash_size: int | None = None,
                 exact: bool | None = None, readonly: bool = False):
        hs = 8 if hash_size is None else hash_size
        if isinstance(hs, bool) or not isinstance(hs, (int, np.integer)) or hs < 2:
            raise InputError(f"hash_size: expected an integer >= 2, got {hash_size!r}")
        words = -(-int(hs) ** 2 // 64)
        self.path = str(Path(path).expanduser())
        self.readonly = bool(readonly)
        settings = {"hash_size": int(hs), "words": words, "exact": int(bool(exact)), "created": time.time(),
                    "generation": 0}
        self._conn, stored = open_database(self.path, readonly=self.readonly, settings=settings, words=words)
        self.hash_size = int(stored["hash_size"])
        self.words = int(stored["words"])
        self.exact = bool(int(stored["exact"]))
        if hash_size is not None and int(hash_size) != self.hash_size:
            self._conn.close()
            raise InputError(f"hash_size: {self.path} was built with hash_size={self.hash_size}, not {hash_size}; "
                             "omit hash_size or use a new path")
        if exact is not None and bool(exact) != self.exact:
            self._conn.close()
            raise InputError(f"exact: {self.path} was built with exact={self.exact}; omit exact or use a new path")
        self.bits = self.hash_size**2
        self._cache: dict[str, tuple[MultiIndexHash | None, np.ndarray]] = {}
        self._cache_version: tuple[int, int] | None = None
        self._writes = 0

    # ------------------------------------------------------------------ housekeeping
    def close(self) -> None:
        """Close the database (the index object is unusable afterwards)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def __repr__(self) -> str:
        return f"Index({self.path!r}, hash_size={self.hash_size}, exact={self.exact})"

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise IndexDatabaseError(f"db: {self.path}: the index was closed; open it again with Index(path)")
        return self._conn

    def _writable(self) -> sqlite3.Connection:
        if self.readonly:
            raise IndexDatabaseError(f"db: {self.path} was opened with readonly=True; open it writable to change it")
        return self._db()

    def failures(self) -> list[dict[str, Any]]:
        """The failures table: ``{"path", "kind", "reason"}`` per file that could not be indexed."""
        rows = self._db().execute("SELECT path, kind, reason FROM failures ORDER BY path").fetchall()
        return [{"path": p, "kind": k, "reason": r} for p, k, r in rows]

    def files(self) -> list[str]:
        """Indexed paths, in the order they entered the index."""
        return [r[0] for r in self._db().execute("SELECT path FROM files ORDER BY id")]

    # --------------------------------------------------------------------------- add
    def add(self, paths_or_dir: str | os.PathLike | Iterable[str | os.PathLike], *,
            hashes: Iterable[str] | str = ("phash", "dhash"), recursive: bool = True,
            workers: int | None = None, invariant: bool = False,
            progress: Callable[[int, int], None] | None = None, hasher: Callable | None = None) -> AddReport:
        """Hash new and changed image files into the index.

        Parameters
        ----------
        paths_or_dir : path or iterable of paths
            Directories (image files by extension, see docs/collection.md) and/or files.
        hashes : iterable of str
            Hashes to store, from :data:`INDEX_HASHES`. Files that are (re-)hashed also get
            every hash the index already holds, so no stored hash goes stale.
        recursive : bool
            Walk sub-directories (symlinks followed; a directory reached twice is
            skipped and recorded as a ``symlink-loop`` failure).
        workers : int, optional
            Threads that read and decode files (default: CPU count, at most 8).
        invariant : bool
            Also store the hashes of the 8 dihedral variants of each image (rotations by
            0/90/180/270 degrees, flips, transposes; :data:`imcorr.hashing.types.DIHEDRAL_NAMES`
            order). A query is hashed as is and matches a file at the minimum distance
            over the file's variants, so a flipped or rotated copy is found. About 8x
            the hashing time and storage.
        progress : callable, optional
            ``progress(done, total)`` after every batch (the CLI draws a bar with it).
        hasher : callable, optional
            Who reads and hashes the files: ``hasher(paths, spec, deliver)`` with the files to (re-)hash, a
            :class:`~imcorr.collection._files.HashSpec` (methods, hash size, invariant, JPEG draft size,
            stored digests), and ``deliver(records)`` to call, in this process, with each batch of
            :func:`~imcorr.collection._files.hash_file` results as they complete (each batch is stored in
            its own transaction, so a killed run keeps what was delivered). Default: a thread pool here.
            :func:`imcorr.parallel.index_add` passes one that runs on any scheduler (a Dask cluster).

        Returns
        -------
        AddReport
            Counts and this run's failures (also stored in the ``failures`` table). A
            file is skipped when its path, size and mtime are unchanged and every
            requested hash is stored; a file whose size or mtime changed is read again
            and re-hashed only if its content digest (BLAKE2b) changed.
        """
        methods = _check_methods(hashes)
        conn = self._writable()
        sources = [paths_or_dir] if isinstance(paths_or_dir, (str, os.PathLike)) else list(paths_or_dir)
        walk_failures: list[Failure] = []
        paths = walk_images(sources, recursive=recursive, failures=walk_failures)
        n_variants = 8 if invariant else 1
        known = {p: (fid, size, mtime, digest) for fid, p, size, mtime, digest in
                 conn.execute("SELECT id, path, size, mtime_ns, digest FROM files")}
        have: dict[int, dict[str, int]] = {}
        for fid, m, c in conn.execute("SELECT file_id, method, COUNT(*) FROM hashes GROUP BY file_id, method"):
            have.setdefault(fid, {})[m] = c
        failed_before = {p: (s, t) for p, s, t in conn.execute("SELECT path, size, mtime_ns FROM failures")}
        todo: list[str] = []
        digests: dict[str, str] = {}
        unchanged = 0
        for p in paths:
            st = file_stat(p)
            old = known.get(p)
            complete = old is not None and all(have.get(old[0], {}).get(m, 0) >= n_variants for m in methods)
            if st is not None and old is not None and complete and (old[1], old[2]) == st:
                unchanged += 1
                continue
            if st is not None and p in failed_before and failed_before[p] == st:
                unchanged += 1  # the same bytes failed before: still recorded in failures
                continue
            if complete:
                digests[p] = old[3]  # size/mtime changed: re-hash only if the content did
            todo.append(p)
        # a file is always hashed with every method the index holds, so no stored hash goes stale
        stored_methods = [m for (m,) in conn.execute("SELECT DISTINCT method FROM hashes")]
        methods = tuple(dict.fromkeys(methods + tuple(m for m in stored_methods if m in INDEX_HASHES)))
        draft = None if self.exact else draft_size(methods, self.hash_size)
        n_workers = min(8, os.cpu_count() or 1) if workers is None else max(1, int(workers))
        counts = {"added": 0, "updated": 0, "unchanged": unchanged}
        run_failures = list(walk_failures)
        if walk_failures:
            self._record_failures(walk_failures)
        done = 0

        def deliver(results) -> None:
            nonlocal done
            self._store_chunk(list(results), methods, invariant, known, counts, run_failures)
            done += len(results)
            if progress is not None:
                progress(done, len(todo))

        if hasher is not None:
            if todo:
                hasher(list(todo), HashSpec(methods, self.hash_size, bool(invariant), draft, dict(digests)), deliver)
        else:
            chunks = [todo[c0 : c0 + _CHUNK] for c0 in range(0, len(todo), _CHUNK)]
            with ThreadPoolExecutor(n_workers) as pool:
                # pipelined: the next batch decodes on the pool while this one is hashed and stored
                def submit(chunk):
                    return [pool.submit(_files.decode_file, p, draft, digests.get(p)) for p in chunk]

                pending = submit(chunks[0]) if chunks else []
                for ci in range(len(chunks)):
                    results = [f.result() for f in pending]
                    pending = submit(chunks[ci + 1]) if ci + 1 < len(chunks) else []
                    deliver(results)
        self._writes += 1
        return AddReport(
            found=len(paths), added=counts["added"], updated=counts["updated"], unchanged=counts["unchanged"],
            failed=len(run_failures),
            failures=tuple({"path": f.path, "kind": f.kind, "reason": f.reason} for f in run_failures),
            total=len(self),
        )

    def _record_failures(self, failures: list[Failure]) -> None:
        conn = self._db()
        now = time.time()
        write_transaction(conn, lambda: conn.executemany(
            "INSERT INTO failures (path, kind, reason, size, mtime_ns, time) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, reason=excluded.reason, size=excluded.size, "
            "mtime_ns=excluded.mtime_ns, time=excluded.time",
            [(f.path, f.kind, f.reason, f.size, f.mtime_ns, now) for f in failures]))

    def _store_chunk(self, results, methods, invariant, known, counts, run_failures) -> None:
        conn = self._db()
        pixels = [r for r in results if isinstance(r, Decoded) and r.gray is not None]
        touched = [r for r in results if isinstance(r, Decoded) and r.gray is None]
        fails = [r for r in results if isinstance(r, Failure)]
        hashed = [r for r in results if isinstance(r, Hashed)]
        words: dict[str, list[np.ndarray]] = {m: [r.words[m] for r in hashed] for m in methods}
        if pixels:
            for m in methods:  # one batched hash of the decoded pixels
                words[m] += hash_gray([r.gray for r in pixels], m, self.hash_size, invariant)
        decoded = hashed + pixels
        cols = ", ".join(f"h{i}" for i in range(self.words))
        marks = ", ".join("?" * (3 + self.words))
        now = time.time()

        def body():
            if decoded:
                bump_generation(conn)
            for r in touched:
                conn.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (r.size, r.mtime_ns, r.path))
            for i, r in enumerate(decoded):
                row = conn.execute(
                    "INSERT INTO files (path, size, mtime_ns, digest, width, height, invariant, added) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size=excluded.size, "
                    "mtime_ns=excluded.mtime_ns, digest=excluded.digest, width=excluded.width, "
                    "height=excluded.height, invariant=excluded.invariant RETURNING id",
                    (r.path, r.size, r.mtime_ns, r.digest, r.width, r.height, int(invariant), now)).fetchone()
                fid = int(row[0])
                conn.execute("DELETE FROM hashes WHERE file_id = ?", (fid,))
                conn.executemany(
                    f"INSERT INTO hashes (file_id, method, variant, {cols}) VALUES ({marks})",
                    [(fid, m, v, *map(int, words[m][i][v])) for m in methods for v in range(words[m][i].shape[0])])
            if decoded or touched:
                conn.executemany("DELETE FROM failures WHERE path = ?", [(r.path,) for r in decoded + touched])
            if fails:
                conn.executemany(
                    "INSERT INTO failures (path, kind, reason, size, mtime_ns, time) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, reason=excluded.reason, "
                    "size=excluded.size, mtime_ns=excluded.mtime_ns, time=excluded.time",
                    [(f.path, f.kind, f.reason, f.size, f.mtime_ns, now) for f in fails])

        write_transaction(conn, body)
        for r in decoded:
            counts["updated" if r.path in known else "added"] += 1
        counts["unchanged"] += len(touched)
        run_failures.extend(fails)

    # -------------------------------------------------------------------------- sync
    def sync(self) -> SyncReport:
        """Remove files that no longer exist on disk (and failures of vanished paths)."""
        conn = self._writable()
        gone = [(fid, p) for fid, p in conn.execute("SELECT id, path FROM files") if not os.path.isfile(p)]
        gone_f = [p for (p,) in conn.execute("SELECT path FROM failures") if not os.path.lexists(p)]

        def body():
            if gone:
                bump_generation(conn)
            conn.executemany("DELETE FROM hashes WHERE file_id = ?", [(fid,) for fid, _ in gone])
            conn.executemany("DELETE FROM files WHERE id = ?", [(fid,) for fid, _ in gone])
            conn.executemany("DELETE FROM failures WHERE path = ?", [(p,) for p in gone_f])

        write_transaction(conn, body)
        self._writes += 1
        return SyncReport(removed=len(gone), removed_failures=len(gone_f),
                          removed_paths=tuple(p for _, p in gone), total=len(self))

    # ------------------------------------------------------------------------- query
    def _codes(self, method: str) -> tuple[MultiIndexHash | None, np.ndarray, np.ndarray]:
        """(MIH tables, codes (N, W) uint64, file id per code) of one hash, cached until the DB changes."""
        conn = self._db()
        version = (int(conn.execute("PRAGMA data_version").fetchone()[0]), self._writes)
        if version != self._cache_version:
            self._cache.clear()
            self._cache_version = version
        if method not in self._cache:
            codes, items = self._load_packed(method)
            mih = MultiIndexHash(codes, bits=self.bits, items=items) if items.size else None
            self._cache[method] = (mih, codes, items)
        return self._cache[method]

    def _load_packed(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes (N, W) uint64, file ids (N,)) of one method, sorted by (file id, variant).

        Read from the ``packed`` cache when it is current, else from ``hashes`` (and the
        cache is rewritten when the index is writable).
        """
        conn = self._db()
        gen = generation(conn)
        row = conn.execute("SELECT generation, n, items, codes FROM packed WHERE method = ?", (method,)).fetchone()
        if row is not None and int(row[0]) == gen:
            n = int(row[1])
            items = np.frombuffer(row[2], dtype="<i8").astype(np.int64)
            codes = np.frombuffer(row[3], dtype="<i8").astype(np.int64).reshape(n, self.words).view(np.uint64)
            return codes, items
        cols = ", ".join(f"h{i}" for i in range(self.words))
        rows = conn.execute(f"SELECT file_id, variant, {cols} FROM hashes WHERE method = ?", (method,)).fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(len(rows), 2 + self.words)
        arr = arr[np.lexsort((arr[:, 1], arr[:, 0]))]
        items = np.ascontiguousarray(arr[:, 0])
        codes = np.ascontiguousarray(arr[:, 2:])
        if not self.readonly:
            def body():
                if generation(conn) == gen:  # nobody wrote in between
                    conn.execute(
                        "INSERT OR REPLACE INTO packed (method, generation, n, items, codes) VALUES (?, ?, ?, ?, ?)",
                        (method, gen, len(rows), items.astype("<i8").tobytes(), codes.astype("<i8").tobytes()))

            write_transaction(conn, body)
        return codes.view(np.uint64), items

    def _query_words(self, image: Any, method: str) -> tuple[np.ndarray, str, str]:
        """(W,) uint64 words of the query's hash, its hex, and a display name."""
        if isinstance(image, ImageHash):
            if image.bits.size != self.bits:
                raise InputError(f"image: a {image.bits.size}-bit hash cannot query a {self.bits}-bit index")
            if image.method and image.method != method:
                raise InputError(f"image: a {image.method} hash cannot query the {method} hashes; pass hash=...")
            words, name = pack_bits(np.asarray(image.bits)[None])[0], "<hash>"
        elif isinstance(image, (str, os.PathLike)):
            name = str(image)
            if not os.path.isfile(name):
                raise ImageReadError(f"image: {name}: no such file; check the path")
            with open(name, "rb") as fh:
                data = fh.read()
            draft = None if self.exact else draft_size((method,), self.hash_size)
            try:
                gray = decode_bytes(data, name, draft)[0]
            except Exception as exc:  # noqa: BLE001 - one typed error for any decoder failure
                raise ImageReadError(f"image: {name}: cannot decode ({exc})") from exc
            words = hash_gray([gray], method, self.hash_size, False)[0][0]
        else:  # an array or a PIL image: hash_batch converts it like the hash functions do
            words, name = pack_bits(hash_batch([image], method, self.hash_size).bits)[0], "<array>"
        return words.view(np.uint64), _hex_of_words(words, self.bits), name

    def query(self, image_or_path: Any, *, k: int = 10, max_distance: int = 10, hash: str = "phash",
              search: str = "mih") -> QueryResult:
        """The ``k`` indexed files nearest an image, within ``max_distance`` bits.

        Parameters
        ----------
        image_or_path : path, ndarray, PIL image or ImageHash
            The query; files are decoded with the index's rule (``exact``).
        k : int
            Number of matches (files) returned at most.
        max_distance : int
            Largest Hamming distance reported (0..bits).
        hash : str
            Which stored hash to search.
        search : {'mih', 'brute'}
            Multi-index hashing (sublinear, exact) or the reference linear scan; the
            answers are identical.

        Returns
        -------
        QueryResult
            Matches sorted by distance, then by file id.
        """
        if hash not in INDEX_HASHES:
            raise InputError(f"hash: {hash!r} is not an indexed hash; choose from {', '.join(INDEX_HASHES)}")
        if search not in ("mih", "brute"):
            raise InputError(f"search: expected 'mih' or 'brute', got {search!r}")
        q, hx, name = self._query_words(image_or_path, hash)
        mih, codes, items = self._codes(hash)
        if mih is None and len(self):
            raise InputError(f"hash: the index holds no {hash} hashes; add them with "
                             f"index.add(DIR, hashes=({hash!r},)) or `imcorr index DIR --hash {hash}`")
        if mih is None:
            ids, dists = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        elif search == "mih":
            ids, dists = mih.search(q, k=k, max_distance=max_distance)
        else:
            ids, dists = brute_force_search(codes, q, k=k, max_distance=max_distance, items=items, bits=self.bits)
        info = self._file_info(ids)
        matches = tuple(QueryMatch(path=info[i][0], distance=int(d), file_id=int(i), width=info[i][1],
                                   height=info[i][2]) for i, d in zip(ids.tolist(), dists.tolist()))
        n_idx = 0 if mih is None else mih.n_items
        return QueryResult(query=name, hash=hx, method=hash, k=int(k), max_distance=int(max_distance),
                           matches=matches, search=search, n_indexed=n_idx,
                           invariant=any(info[i][4] for i in ids.tolist()))

    def _file_info(self, ids) -> dict[int, tuple]:
        ids = [int(i) for i in ids]
        out: dict[int, tuple] = {}
        conn = self._db()
        for c0 in range(0, len(ids), 500):
            part = ids[c0 : c0 + 500]
            marks = ", ".join("?" * len(part))
            for row in conn.execute(
                f"SELECT id, path, width, height, mtime_ns, invariant FROM files WHERE id IN ({marks})", part
            ):
                out[int(row[0])] = (row[1], int(row[2]), int(row[3]), int(row[4]), bool(row[5]))
        return out

    # -------------------------------------------------------------------- duplicates
    def duplicates(self, max_distance: int = 6, *, hash: str = "phash") -> DuplicateGroups:
        """Groups of near-duplicate files: connected components of "distance <= max_distance".

        Each file's plain hash is compared with every stored code (variants too, for files
        indexed with ``invariant=True``): by vectorized blocks of XOR + popcount up to about
        70,000 files, by one multi-index range query per file beyond; an edge joins two
        files within ``max_distance``. ``keep`` per group: the largest
        resolution, then the oldest mtime, then the smallest path.
        """
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        if hash not in INDEX_HASHES:
            raise InputError(f"hash: {hash!r} is not an indexed hash; choose from {', '.join(INDEX_HASHES)}")
        if isinstance(max_distance, bool) or not isinstance(max_distance, (int, np.integer)) or max_distance < 0:
            raise InputError(f"max_distance: expected an integer >= 0, got {max_distance!r}")
        mih, codes, items = self._codes(hash)
        if mih is None:
            return DuplicateGroups(groups=(), method=hash, max_distance=int(max_distance), n_files=0)
        # the plain hash of each file is its variant 0 (the first row of the file)
        first = np.ones(items.size, dtype=bool)
        first[1:] = items[1:] != items[:-1]
        file_ids, plain = items[first], codes[first]
        pos = {int(f): i for i, f in enumerate(file_ids)}
        n = file_ids.size
        if n * codes.shape[0] <= _BLOCKED_PAIRS:
            src, dst = _blocked_edges(plain, codes, np.searchsorted(file_ids, items), int(max_distance))
        else:  # one multi-index range query per file
            src_l, dst_l = [], []
            for i in range(n):
                ids, _ = mih.search(plain[i], k=n, max_distance=int(max_distance))
                if ids.size > 1:
                    src_l.extend([i] * ids.size)
                    dst_l.extend(pos[int(j)] for j in ids)
            src, dst = np.asarray(src_l, dtype=np.int64), np.asarray(dst_l, dtype=np.int64)
        graph = coo_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
        n_comp, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels, minlength=n_comp)
        info = self._file_info(file_ids[sizes[labels] > 1]) if n_comp < n else {}
        groups = []
        for comp in np.flatnonzero(sizes > 1):
            members = [int(file_ids[i]) for i in np.flatnonzero(labels == comp)]
            members.sort(key=lambda f: (-info[f][1] * info[f][2], info[f][3], info[f][0]))
            keep = members[0]
            kw = plain[pos[keep]]
            dist = [int(np.bitwise_count(np.bitwise_xor(plain[pos[f]], kw)).sum()) for f in members]
            groups.append(DuplicateGroup(files=tuple(info[f][0] for f in members), keep=info[keep][0],
                                         distances=tuple(dist), sizes=tuple((info[f][1], info[f][2]) for f in members)))
        groups.sort(key=lambda g: (-len(g), g.keep))
        return DuplicateGroups(groups=tuple(groups), method=hash, max_distance=int(max_distance), n_files=int(n))


def _blocked_edges(plain: np.ndarray, codes: np.ndarray, code_pos: np.ndarray, radius: int):
    """Edges (i, code_pos[j]) with popcount(plain[i] ^ codes[j]) <= radius, by blocks of rows (vectorized)."""
    src, dst = [], []
    rows = max(1, (1 << 22) // max(1, codes.shape[0]))
    for r0 in range(0, plain.shape[0], rows):
        x = np.bitwise_xor(plain[r0 : r0 + rows, None, :], codes[None, :, :])
        d = np.bitwise_count(x).sum(axis=2, dtype=np.int32) if x.shape[2] > 1 else np.bitwise_count(x[..., 0])
        i, j = np.nonzero(d <= radius)
        src.append(i + r0)
        dst.append(code_pos[j])
    return np.concatenate(src).astype(np.int64), np.concatenate(dst).astype(np.int64)


def _hex_of_words(words: np.ndarray, bits: int) -> str:
    raw = np.unpackbits(np.asarray(words, dtype=np.int64).astype(">i8").view(np.uint8))[:bits]
    return bits_to_hex(raw.astype(bool))
