"""State persistence.  The embedded default is SQLite (``SQLiteStore``)."""

from .sqlite import SQLiteStore, StoreInUseError, StoreRecord

__all__ = ["SQLiteStore", "StoreInUseError", "StoreRecord"]
