"""Result objects of the near-duplicate index: add/sync reports, query matches, duplicate groups."""

from __future__ import annotations

import dataclasses
from typing import Any

from imcorr._core.results import Result

__all__ = ["AddReport", "SyncReport", "QueryMatch", "QueryResult", "DuplicateGroup", "DuplicateGroups"]


@dataclasses.dataclass(frozen=True)
class AddReport(Result):
    """What :meth:`Index.add` did.

    Attributes
    ----------
    found : int
        Image files found (after the extension filter of directories).
    added, updated : int
        Files hashed for the first time / re-hashed because their content changed.
    unchanged : int
        Files skipped: same path, size and mtime (or same content digest after a touch),
        with every requested hash already stored.
    failed : int
        Files (and directories) that could not be used in this run; see ``failures``.
    failures : tuple of dict
        ``{"path", "kind", "reason"}`` per failure of this run (kinds: not-image, empty,
        truncated, corrupt, unreadable, missing, symlink-loop, broken-link, too-large).
    total : int
        Files in the index after the run.
    """

    found: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: tuple = ()
    total: int = 0

    def to_rows(self) -> list[dict[str, Any]]:
        return [dict(f) for f in self.failures]


@dataclasses.dataclass(frozen=True)
class SyncReport(Result):
    """What :meth:`Index.sync` pruned: files no longer on disk (and their hashes)."""

    removed: int = 0
    removed_failures: int = 0
    removed_paths: tuple = ()
    total: int = 0


@dataclasses.dataclass(frozen=True)
class QueryMatch(Result):
    """One indexed file near the query: its path and Hamming distance (0..bits)."""

    path: str = ""
    distance: int = 0
    file_id: int = 0
    width: int = 0
    height: int = 0


@dataclasses.dataclass(frozen=True)
class QueryResult(Result):
    """The ``k`` indexed files nearest the query within ``max_distance``.

    Attributes
    ----------
    query : str
        The query file name (``"<array>"`` for in-memory images).
    hash : str
        The query's hash (imagehash hex).
    method : str
        The hash used (``phash``, ``dhash``...).
    k, max_distance : int
        The request.
    matches : tuple of QueryMatch
        Sorted by distance, then by file id (the order files entered the index); ties at
        the k-th distance are cut by that order.
    search : str
        ``"mih"`` (multi-index hashing) or ``"brute"`` (linear scan); both give the same
        answer.
    n_indexed : int
        Files with this hash in the index.
    invariant : bool
        True if some matched files were indexed with their flipped / rotated variants
        (their distance is the minimum over the variants).
    """

    query: str = ""
    hash: str = ""
    method: str = "phash"
    k: int = 10
    max_distance: int = 10
    matches: tuple = ()
    search: str = "mih"
    n_indexed: int = 0
    invariant: bool = False

    def __len__(self) -> int:
        return len(self.matches)

    @property
    def paths(self) -> list[str]:
        return [m.path for m in self.matches]

    @property
    def distances(self) -> list[int]:
        return [m.distance for m in self.matches]

    def to_rows(self) -> list[dict[str, Any]]:
        return [{"query": self.query, "rank": i + 1, **m.to_dict()} for i, m in enumerate(self.matches)]


@dataclasses.dataclass(frozen=True)
class DuplicateGroup(Result):
    """One connected component of near-duplicates.

    ``files`` are sorted with ``keep`` first; ``distances[i]`` is the Hamming distance
    of ``files[i]`` to ``keep`` (members of a component may be farther from ``keep``
    than ``max_distance``: they are linked through other members).
    """

    files: tuple = ()
    keep: str = ""
    distances: tuple = ()
    sizes: tuple = ()

    def __len__(self) -> int:
        return len(self.files)


@dataclasses.dataclass(frozen=True)
class DuplicateGroups(Result):
    """Groups of near-duplicates (connected components of the graph "distance <= max_distance").

    ``keep`` of each group is the file with the largest resolution (width x height),
    then the oldest modification time, then the smallest path. :meth:`to_remove` lists
    the other members, like imagededup's ``find_duplicates_to_remove``.
    """

    groups: tuple = ()
    method: str = "phash"
    max_distance: int = 6
    n_files: int = 0

    def __len__(self) -> int:
        return len(self.groups)

    def to_remove(self) -> list[str]:
        """Every file of every group except its ``keep``."""
        return [f for g in self.groups for f in g.files if f != g.keep]

    def to_rows(self) -> list[dict[str, Any]]:
        rows = []
        for gi, g in enumerate(self.groups):
            for f, d, s in zip(g.files, g.distances, g.sizes):
                rows.append({"group": gi, "path": f, "keep": f == g.keep, "distance_to_keep": d,
                             "width": s[0], "height": s[1]})
        return rows
