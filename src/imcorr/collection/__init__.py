"""Collections: a persistent near-duplicate index (SQLite + multi-index hashing), similarity matrices
and duplicated blocks."""

from imcorr.collection._store import IndexDatabaseError, IndexVersionError
from imcorr.collection.index import INDEX_HASHES, Index
from imcorr.collection.mih import MultiIndexHash, brute_force_search, hamming_distances
from imcorr.collection.results import (
    AddReport,
    DuplicateGroup,
    DuplicateGroups,
    QueryMatch,
    QueryResult,
    SyncReport,
)

__all__ = [
    "Index",
    "INDEX_HASHES",
    "IndexDatabaseError",
    "IndexVersionError",
    "MultiIndexHash",
    "brute_force_search",
    "hamming_distances",
    "AddReport",
    "SyncReport",
    "QueryMatch",
    "QueryResult",
    "DuplicateGroup",
    "DuplicateGroups",
]
