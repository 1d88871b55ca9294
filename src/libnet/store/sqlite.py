"""The controller's state in one SQLite file (stdlib sqlite3, WAL).

Three kinds of record, each a row keyed by (kind, id) with its fields as
JSON: networks, endpoints and sandboxes, in one table without rowid, so a
write touches one b-tree (schema 1 had a table per kind, each with a rowid
b-tree, a primary-key index and a unique-name index: about three times the
pages written per commit).  Names are unique per kind (and per network for
endpoints); the controller checks that before it writes, and is the only
writer.  Listing order is creation order (``seq``).  IPAM allocations are not stored apart:
they are derived from the networks' pools and the endpoints' addresses on
restore, so the two can never disagree.  Every controller change is one
transaction (``with store.transaction():``, or a single statement, which
SQLite commits on its own); a crash before its commit leaves the previous
state, which the controller reconciles with the kernel at start.

The file is opened in exclusive locking mode: the controller that opened it
holds it until it closes the store.  A second controller on the same data
directory is refused (``StoreInUseError``) instead of both managing the same
kernel objects; and with no other reader to coordinate with, a commit takes
no file locks and no shared-memory index (about half its cost).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import UnavailableError

__all__ = ["SQLiteStore", "StoreRecord", "StoreInUseError"]


class StoreInUseError(UnavailableError):
    """Another process holds the store (a controller runs on this data dir)."""

_KINDS = ("network", "endpoint", "sandbox")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS record (
    kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
    parent TEXT, data TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
"""
SCHEMA_VERSION = "2"
# How much WAL to gather before a checkpoint.  A checkpoint runs inside the
# commit that crosses the line and, with synchronous=NORMAL, costs two
# fsyncs: on ext4, 5-9 ms every ~90 containers (three commits each) with
# SQLite's default of 1,000 frames (4 MiB), which was most of libnet's
# setup p99 in the density benchmark.  Every 16 MiB, for 2,000 containers'
# records on ext4 (two runs each): 2 checkpoints instead of 11, of 16-19
# ms instead of 7-9, and 261-268 ms in all instead of 264-359 (a page
# rewritten many times in the WAL is copied back once).  1 KiB pages (a
# commit writes less) did no better: every record then overflows its leaf,
# and deletes took 38-63 us instead of 26-37.
WAL_CHECKPOINT_BYTES = 16 << 20
# An upsert keeps the row's seq (its place in listings) where INSERT OR
# REPLACE would give it a new one.
_UPSERT = ("INSERT INTO record VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET "
           "name = excluded.name, parent = excluded.parent, data = excluded.data")
_DELETE = "DELETE FROM record WHERE kind = ? AND id = ?"


# Records as compact JSON: no spaces after separators (a tenth of an
# endpoint's bytes) and no check for cycles (a record is a tree of plain
# values), 9 us instead of 13 for an endpoint with four published ports.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _delete_many_sql(n: int) -> str:
    """Deletes ``n`` records by key.  Written as ORs of key equalities, which
    SQLite answers with one primary-key search each; a row-value
    ``(kind, id) IN (...)`` would scan the whole table."""
    return "DELETE FROM record WHERE " + " OR ".join(["(kind = ? AND id = ?)"] * n)


def _migrate_1(db: sqlite3.Connection) -> None:
    """Schema 1 (a table per kind) to 2, in the caller's transaction."""
    for kind in _KINDS:
        parent = "parent" if kind == "endpoint" else "NULL"
        db.execute(f"INSERT INTO record SELECT '{kind}', id, rowid, name, {parent}, data "
                   f"FROM {kind}")
        db.execute(f"DROP TABLE {kind}")


@dataclass(frozen=True)
class StoreRecord:
    kind: str
    id: str
    name: str
    data: dict[str, Any]
    parent: str | None = None


class SQLiteStore:
    """A SQLite file under ``data_dir`` (``libnet.db``)."""

    def __init__(self, data_dir: str, filename: str = "libnet.db"):
        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(data_dir, filename)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE).
        # timeout=0: a store held by another controller is refused at once.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=0)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            # Before WAL is entered, so that its index lives in this
            # process's memory; the first write below takes the lock.
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as e:
            self._db.close()
            if "locked" in str(e) or "busy" in str(e):
                raise StoreInUseError(f"{self.path} is in use by another libnet controller") from None
            raise
        # NORMAL in WAL mode: a power loss may lose the last commits, never
        # corrupt the file; the reconcile pass covers a lost commit.
        self._db.execute("PRAGMA synchronous=NORMAL")
        page = self._db.execute("PRAGMA page_size").fetchone()[0]
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page}")
        try:
            self._open_schema()
        except BaseException:
            self._db.close()
            raise

    def _open_schema(self) -> None:
        """Create, check or migrate the schema; set the listing counter."""
        with self.transaction():
            for stmt in _SCHEMA.strip().split(";\n"):
                self._db.execute(stmt)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] == "1":
                _migrate_1(self._db)
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'",
                                 (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema {row[0]}, this libnet reads "
                                   f"{SCHEMA_VERSION}")
        self._seq = self._db.execute("SELECT coalesce(max(seq), 0) FROM record").fetchone()[0]

    @contextlib.contextmanager
    def transaction(self) -> Iterator["SQLiteStore"]:
        """One atomic change; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                # The original error wins, even if there is nothing left to
                # roll back (an interruption can land anywhere).
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _check(self, kind: str) -> None:
        if kind not in _KINDS:
            raise ValueError(f"unknown record kind {kind!r}")

    def put(self, rec: StoreRecord) -> None:
        self._check(rec.kind)
        data = _encode(rec.data)
        # One statement: atomic by itself (committed at once outside a
        # transaction).  An upsert keeps the row (and its rowid: listing
        # order is creation order) where INSERT OR REPLACE would re-insert it.
        with self._lock:
            self._seq += 1
            self._db.execute(_UPSERT, (rec.kind, rec.id, self._seq, rec.name, rec.parent, data))

    def delete(self, kind: str, id: str) -> None:
        self._check(kind)
        with self._lock:
            self._db.execute(_DELETE, (kind, id))

    def delete_many(self, keys: list[tuple[str, str]]) -> None:
        """Delete records by (kind, id) in one statement: atomic by itself,
        without a BEGIN / COMMIT around it."""
        for kind, _ in keys:
            self._check(kind)
        if not keys:
            return
        with self._lock:
            self._db.execute(_delete_many_sql(len(keys)), [x for key in keys for x in key])

    def get(self, kind: str, id: str) -> StoreRecord | None:
        self._check(kind)
        with self._lock:
            row = self._db.execute("SELECT id, name, data, parent FROM record "
                                   "WHERE kind = ? AND id = ?", (kind, id)).fetchone()
        return None if row is None else StoreRecord(kind, row[0], row[1], json.loads(row[2]), row[3])

    def list(self, kind: str) -> list[StoreRecord]:
        self._check(kind)
        with self._lock:
            rows = self._db.execute("SELECT id, name, data, parent FROM record WHERE kind = ? "
                                    "ORDER BY seq", (kind,)).fetchall()
        return [StoreRecord(kind, r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
