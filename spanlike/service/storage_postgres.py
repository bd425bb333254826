"""PostgreSQL backend of the store (psycopg 3), for service instances that share state.

Each change is one transaction (``conn.transaction()``); the driver's
``executemany`` pipelines the rows of a change in one round trip.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from spanlike.service.storage import SqlStore

__all__ = ["PostgresStore"]


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database given by URL."""

    backend = "postgresql"
    float_type = "DOUBLE PRECISION"
    placeholder = "%s"

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield cur
