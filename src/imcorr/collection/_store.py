"""The SQLite file behind :class:`imcorr.collection.Index`: schema, version check, transactions.

Schema (version :data:`SCHEMA_VERSION`)::

    schema_version(version INTEGER)                       -- one row
    settings(key TEXT PRIMARY KEY, value TEXT)            -- hash_size, words, exact, created, generation
    files(id INTEGER PRIMARY KEY, path TEXT UNIQUE, size INTEGER, mtime_ns INTEGER,
          digest TEXT, width INTEGER, height INTEGER, invariant INTEGER, added REAL)
    hashes(file_id INTEGER, method TEXT, variant INTEGER, h0 INTEGER[, h1, ...],
           PRIMARY KEY (file_id, method, variant))        -- h_i: 64-bit words, signed
    failures(path TEXT PRIMARY KEY, kind TEXT, reason TEXT, size INTEGER, mtime_ns INTEGER, time REAL)
    packed(method TEXT PRIMARY KEY, generation INTEGER, n INTEGER, items BLOB, codes BLOB)

``packed`` is a cache: the file ids and hash words of one method as little-endian int64
arrays, valid while its ``generation`` equals the ``generation`` setting, which every
write of files or hashes increments (:func:`bump_generation`). Opening a large index
then reads two blobs instead of a million rows; a stale or missing cache is rebuilt
from ``hashes``.

A hash of ``B`` bits is stored as ``W = ceil(B / 64)`` columns ``h0..h{W-1}``: word ``i``
holds bits ``64 i .. 64 i + 63`` of imagehash's flattened bit string, big-endian
(so ``h0`` of a 64-bit hash is ``int(str(h), 16)``), reinterpreted as a signed 64-bit
integer (SQLite integers are signed).

Writes run in ``BEGIN IMMEDIATE`` transactions in WAL mode; a locked database is waited
for (``busy_timeout``) and the transaction retried with a back-off.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from imcorr.errors import ImcorrError

__all__ = [
    "IndexDatabaseError",
    "IndexVersionError",
    "SCHEMA_VERSION",
    "bump_generation",
    "generation",
    "open_database",
    "write_transaction",
]

#: Version of the on-disk layout; a database of another version is refused.
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
RETRIES = 5

T = TypeVar("T")


class IndexDatabaseError(ImcorrError, OSError):
    """The index database cannot be opened, read or written (the message says what to do)."""


class IndexVersionError(IndexDatabaseError):
    """The file is not an imcorr index of this schema version: migrate it or use a new path."""


IndexDatabaseError.__module__ = "imcorr.collection"
IndexVersionError.__module__ = "imcorr.collection"

_HINT = "migrate it (rebuild with `imcorr index DIR --db NEW.sqlite`) or use a new path"


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}?mode=rwc"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _create(conn: sqlite3.Connection, words: int, settings: dict[str, Any]) -> None:
    cols = ", ".join(f"h{i} INTEGER NOT NULL" for i in range(words))

    def body():
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        if conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0]:
            return  # another process created it first
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany("INSERT INTO settings VALUES (?, ?)", [(k, str(v)) for k, v in settings.items()])
        conn.execute(
            "CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
            " mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,"
            " invariant INTEGER NOT NULL, added REAL NOT NULL)"
        )
        conn.execute(
            f"CREATE TABLE hashes (file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
            f" method TEXT NOT NULL, variant INTEGER NOT NULL, {cols}, PRIMARY KEY (file_id, method, variant))"
            " WITHOUT ROWID"
        )
        conn.execute("CREATE INDEX hashes_by_method ON hashes (method, variant)")
        conn.execute(
            "CREATE TABLE failures (path TEXT PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL,"
            " size INTEGER, mtime_ns INTEGER, time REAL NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE packed (method TEXT PRIMARY KEY, generation INTEGER NOT NULL, n INTEGER NOT NULL,"
            " items BLOB NOT NULL, codes BLOB NOT NULL)"
        )

    write_transaction(conn, body)


def open_database(path: str | os.PathLike, *, readonly: bool, settings: dict[str, Any], words: int):
    """Open (or create) the index at ``path``; returns ``(connection, settings dict)``.

    Raises :class:`IndexVersionError` for a file that is not an imcorr index of this
    version and :class:`IndexDatabaseError` for a directory or file that cannot be
    written or read.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise IndexDatabaseError(f"db: {p} is a directory; pass a file path such as {p / 'imcorr.sqlite'}")
    exists = p.exists()
    if not exists:
        if readonly:
            raise IndexDatabaseError(f"db: {p} does not exist; build it first with `imcorr index DIR --db {p}`")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise IndexDatabaseError(f"db: directory {parent} does not exist; create it or choose another --db path")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise IndexDatabaseError(
                f"db: directory {parent} is read-only, the index cannot be created there; "
                "choose a --db path in a writable directory"
            )
    elif not os.access(p, os.R_OK):
        raise IndexDatabaseError(f"db: {p} is not readable (permissions); fix them or use a new path")
    elif not readonly and not (os.access(p, os.W_OK) and os.access(p.parent, os.W_OK | os.X_OK)):
        raise IndexDatabaseError(
            f"db: {p} (or its directory, which needs room for the -wal and -shm journal files) is read-only; "
            "open it with Index(path, readonly=True) to query, or copy it to a writable directory"
        )
    try:
        conn = _connect(p, readonly)
        if not readonly:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. some network file systems
                raise IndexDatabaseError(f"db: {p}: SQLite refused WAL mode ({mode}); use a local disk")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise IndexVersionError(f"db: {p} is not an imcorr index or is unreadable ({exc}); {_HINT}") from exc
    if not tables:
        if readonly:
            raise IndexVersionError(f"db: {p} is an empty SQLite file, not an imcorr index; {_HINT}")
        try:
            _create(conn, words, settings)
        except sqlite3.DatabaseError as exc:
            raise IndexDatabaseError(f"db: cannot create the index in {p} ({exc}); use a new path") from exc
        tables = {"schema_version"}
    if "schema_version" not in tables:
        conn.close()
        raise IndexVersionError(f"db: {p} is an SQLite file but not an imcorr index (no schema_version); {_HINT}")
    try:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            conn.close()
            raise IndexVersionError(
                f"db: {p} has index schema version {None if row is None else row[0]}, this imcorr reads version "
                f"{SCHEMA_VERSION}; {_HINT}"
            )
        stored = dict(conn.execute("SELECT key, value FROM settings").fetchall())
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise IndexVersionError(f"db: {p}: cannot read the index tables ({exc}); {_HINT}") from exc
    return conn, stored


def bump_generation(conn: sqlite3.Connection) -> None:
    """Mark the packed caches stale (call inside the write transaction that changes files or hashes)."""
    conn.execute("UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")


def generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM settings WHERE key = 'generation'").fetchone()
    return int(row[0]) if row else 0


def write_transaction(conn: sqlite3.Connection, body: Callable[[], T]) -> T:
    """Run ``body()`` inside ``BEGIN IMMEDIATE ... COMMIT``; retried when another writer holds the lock."""
    delay = 0.05
    for attempt in range(RETRIES + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                if attempt == RETRIES:
                    raise IndexDatabaseError(
                        f"db: still locked by another process after {RETRIES} retries ({exc}); try again later"
                    ) from exc
                time.sleep(delay)
                delay *= 2
                continue
            raise IndexDatabaseError(f"db: cannot write ({exc})") from exc
        try:
            out = body()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out
    raise AssertionError("unreachable")  # pragma: no cover
