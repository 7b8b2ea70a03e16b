"""Collections: a persistent near-duplicate index (SQLite + multi-index hashing), similarity matrices
and duplicated blocks."""

from imcorr.collection._store import IndexDatabaseError, IndexVersionError
from imcorr.collection.blocks import DuplicatedBlocks, duplicated_blocks
from imcorr.collection.index import INDEX_HASHES, Index
from imcorr.collection.matrix import SIMILARITY_METRICS, SimilarityMatrix, similarity_matrix
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
    "duplicated_blocks",
    "DuplicatedBlocks",
    "similarity_matrix",
    "SimilarityMatrix",
    "SIMILARITY_METRICS",
]
