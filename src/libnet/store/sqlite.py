"""The controller's state in one SQLite file (stdlib sqlite3, WAL).

Three kinds of record, each a row keyed by id with its fields as JSON:
networks, endpoints and sandboxes.  IPAM allocations are not stored apart:
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
CREATE TABLE IF NOT EXISTS network (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoint (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT NOT NULL, data TEXT NOT NULL,
    UNIQUE (parent, name));
CREATE TABLE IF NOT EXISTS sandbox (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
"""
SCHEMA_VERSION = "1"
_UPSERT_ENDPOINT = ("INSERT INTO endpoint VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "name = excluded.name, parent = excluded.parent, data = excluded.data")
_UPSERT = {k: f"INSERT INTO {k} VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
              "name = excluded.name, data = excluded.data" for k in ("network", "sandbox")}
_DELETE = {k: f"DELETE FROM {k} WHERE id = ?" for k in _KINDS}


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
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: schema {row[0]}, this libnet reads {SCHEMA_VERSION}")

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
        data = json.dumps(rec.data)
        # One statement: atomic by itself (committed at once outside a
        # transaction).  An upsert keeps the row (and its rowid: listing
        # order is creation order) where INSERT OR REPLACE would re-insert it.
        with self._lock:
            if rec.kind == "endpoint":
                self._db.execute(_UPSERT_ENDPOINT, (rec.id, rec.name, rec.parent, data))
            else:
                self._db.execute(_UPSERT[rec.kind], (rec.id, rec.name, data))

    def delete(self, kind: str, id: str) -> None:
        self._check(kind)
        with self._lock:
            self._db.execute(_DELETE[kind], (id,))

    def get(self, kind: str, id: str) -> StoreRecord | None:
        self._check(kind)
        with self._lock:
            cols = "id, name, data, parent" if kind == "endpoint" else "id, name, data, NULL"
            row = self._db.execute(f"SELECT {cols} FROM {kind} WHERE id = ?", (id,)).fetchone()
        return None if row is None else StoreRecord(kind, row[0], row[1], json.loads(row[2]), row[3])

    def list(self, kind: str) -> list[StoreRecord]:
        self._check(kind)
        cols = "id, name, data, parent" if kind == "endpoint" else "id, name, data, NULL"
        with self._lock:
            rows = self._db.execute(f"SELECT {cols} FROM {kind} ORDER BY rowid").fetchall()
        return [StoreRecord(kind, r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
