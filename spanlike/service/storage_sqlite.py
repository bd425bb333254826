"""SQLite backend of the store: one file, WAL journal, one transaction per change.

``synchronous=FULL`` makes a commit durable before the service acknowledges
it (WAL's default NORMAL may lose the last commits on power loss; a killed
process loses nothing either way). ``BEGIN IMMEDIATE`` takes the write lock
at the start of a transaction, so two processes on one file wait on each
other instead of failing halfway (``busy_timeout``).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from spanlike.service.storage import SqlStore

__all__ = ["SqliteStore"]


class SqliteStore(SqlStore):
    """The store in a SQLite file."""

    backend = "sqlite"
    float_type = "REAL"
    placeholder = "?"

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        super().__init__(f"sqlite:///{path}")

    def _connect(self) -> Any:
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"the directory {self.path.parent} does not exist")
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
