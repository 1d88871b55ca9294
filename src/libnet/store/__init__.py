"""State persistence.  The embedded default is SQLite (``SQLiteStore``)."""

from .sqlite import SQLiteStore, StoreRecord

__all__ = ["SQLiteStore", "StoreRecord"]
