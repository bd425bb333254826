"""The store: accounts, positions, fills, balances, status events, market snapshots and API keys.

One interface (:class:`Store`) over two SQL backends, SQLite (a file; WAL;
the default) and PostgreSQL (a URL; several readers can share it). Every
change the service makes is one call here and one database transaction, so a
crash leaves either all of a change or none of it: an acknowledged fill is
committed with its position change, status and events before the reply.

Quantities and amounts are stored as IEEE doubles (SQLite REAL, PostgreSQL
DOUBLE PRECISION) and read back bit for bit; positions are the net legs
``(account, instrument, unit) -> quantity`` as a user writes them (USD-sized
legs stay in USD: their contract quantity follows the futures price).
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

__all__ = ["Event", "KeyRecord", "Snapshot", "Store", "StoredState", "open_store"]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS api_keys (key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
    " accounts TEXT, label TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, created_at TEXT NOT NULL, status TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS balances (account TEXT NOT NULL, currency TEXT NOT NULL, amount {float} NOT NULL,"
    " PRIMARY KEY (account, currency))",
    "CREATE TABLE IF NOT EXISTS positions (account TEXT NOT NULL, instrument TEXT NOT NULL, unit TEXT NOT NULL,"
    " quantity {float} NOT NULL, PRIMARY KEY (account, instrument, unit))",
    "CREATE TABLE IF NOT EXISTS fills (account TEXT NOT NULL, fill_id TEXT NOT NULL, instrument TEXT NOT NULL,"
    " unit TEXT NOT NULL, quantity {float} NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (account, fill_id))",
    "CREATE TABLE IF NOT EXISTS events (seq BIGINT PRIMARY KEY, at TEXT NOT NULL, account TEXT, kind TEXT NOT NULL,"
    " data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS markets (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL,"
    " valuation_time TEXT NOT NULL, snapshot TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Event:
    """A recorded event: ``seq`` (1, 2, ... in commit order), UTC time, account (None for market-wide), kind, data."""

    seq: int
    at: str
    account: str | None
    kind: str
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"seq", "at", "account", "kind", **data}``."""
        return {"seq": self.seq, "at": self.at, "account": self.account, "kind": self.kind, **dict(self.data)}


@dataclass(frozen=True)
class KeyRecord:
    """An API key as stored: id, SHA-256 of the key (hex), role, the accounts it is limited to (None: all)."""

    key_id: str
    key_hash: str
    role: str
    accounts: tuple[str, ...] | None
    label: str
    created_at: str


@dataclass(frozen=True)
class Snapshot:
    """A market snapshot as applied: version (1, 2, ...), when, its valuation time and our JSON form."""

    version: int
    applied_at: str
    valuation_time: str
    snapshot: Mapping[str, Any]


@dataclass
class StoredState:
    """Everything the service rebuilds its engine from."""

    meta: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # account -> status
    created_at: dict[str, str] = field(default_factory=dict)
    balances: dict[str, dict[str, float]] = field(default_factory=dict)
    positions: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)
    fills: dict[str, dict[str, tuple[str, str, float]]] = field(default_factory=dict)
    last_seq: int = 0
    market: Snapshot | None = None
    keys: list[KeyRecord] = field(default_factory=list)


class Store:
    """The storage interface; :class:`SqlStore` implements it for SQLite and PostgreSQL.

    Every method that changes data runs in one transaction (all or nothing).
    """

    url: str
    backend: str

    def load(self) -> StoredState:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class SqlStore(Store):
    """SQL implementation shared by both backends; the subclass supplies the connection and dialect.

    Statements are written with ``?`` placeholders and rewritten once for
    drivers that use ``%s``. Calls are serialised by a lock: the service calls
    from its event loop, tests and tools from threads.
    """

    float_type = "DOUBLE PRECISION"
    placeholder = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._conn = self._connect()
        with self._tx() as cur:
            for ddl in SCHEMA:
                cur.execute(ddl.format(float=self.float_type))

    # ----------------------------------------------------------------- backend hooks

    def _connect(self) -> Any:  # pragma: no cover - backend hook
        raise NotImplementedError

    @contextmanager
    def _tx(self) -> Iterator[Any]:  # pragma: no cover - backend hook
        raise NotImplementedError
        yield

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def _run(self, cur: Any, statement: str, args: Sequence[Any] = ()) -> None:
        cur.execute(self._sql(statement), tuple(args))

    def _many(self, cur: Any, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cur.executemany(self._sql(statement), [tuple(r) for r in rows])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ----------------------------------------------------------------- reads

    def load(self) -> StoredState:
        """Every account, balance, position, fill id, the last event number, the latest market and the keys."""
        st = StoredState()
        with self._tx() as cur:
            cur.execute("SELECT key, value FROM meta")
            st.meta = {k: v for k, v in cur.fetchall()}
            cur.execute("SELECT account, status, created_at FROM accounts ORDER BY account")
            for a, s, c in cur.fetchall():
                st.accounts[a] = s
                st.created_at[a] = c
            cur.execute("SELECT account, currency, amount FROM balances")
            for a, c, x in cur.fetchall():
                st.balances.setdefault(a, {})[c] = float(x)
            cur.execute("SELECT account, instrument, unit, quantity FROM positions ORDER BY account, instrument, unit")
            for a, i, u, q in cur.fetchall():
                st.positions.setdefault(a, {})[(i, u)] = float(q)
            cur.execute("SELECT account, fill_id, instrument, unit, quantity FROM fills")
            for a, f, i, u, q in cur.fetchall():
                st.fills.setdefault(a, {})[f] = (i, u, float(q))
            cur.execute("SELECT MAX(seq) FROM events")
            row = cur.fetchone()
            st.last_seq = int(row[0]) if row and row[0] is not None else 0
            cur.execute("SELECT version, applied_at, valuation_time, snapshot FROM markets ORDER BY version DESC LIMIT 1")
            row = cur.fetchone()
            if row:
                st.market = Snapshot(int(row[0]), row[1], row[2], json.loads(row[3]))
            cur.execute("SELECT key_id, key_hash, role, accounts, label, created_at FROM api_keys")
            st.keys = [
                KeyRecord(k, h, r, tuple(json.loads(a)) if a is not None else None, lbl, c)
                for k, h, r, a, lbl, c in cur.fetchall()
            ]
        return st

    def events_after(self, seq: int, *, limit: int = 1000) -> list[Event]:
        """Events with a sequence number above ``seq``, oldest first, at most ``limit``."""
        with self._tx() as cur:
            self._run(cur, "SELECT seq, at, account, kind, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                      (int(seq), int(limit)))
            return [Event(int(s), at, a, k, json.loads(d)) for s, at, a, k, d in cur.fetchall()]

    def fills_of(self, account: str) -> list[tuple[str, str, str, float, str]]:
        """``(fill_id, instrument, unit, quantity, received_at)`` of an account in arrival order."""
        with self._tx() as cur:
            self._run(cur, "SELECT fill_id, instrument, unit, quantity, received_at FROM fills WHERE account = ?"
                      " ORDER BY received_at, fill_id", (account,))
            return [(f, i, u, float(q), t) for f, i, u, q, t in cur.fetchall()]

    # ----------------------------------------------------------------- writes (one transaction each)

    def _events(self, cur: Any, events: Sequence[Event]) -> None:
        self._many(cur, "INSERT INTO events (seq, at, account, kind, data) VALUES (?, ?, ?, ?, ?)",
                   [(e.seq, e.at, e.account, e.kind, json.dumps(dict(e.data), allow_nan=False)) for e in events])

    def _statuses(self, cur: Any, statuses: Mapping[str, str]) -> None:
        self._many(cur, "UPDATE accounts SET status = ? WHERE account = ?", [(s, a) for a, s in statuses.items()])

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Upsert meta keys (parameter set, schema version)."""
        with self._tx() as cur:
            self._many(cur, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       list(values.items()))

    def add_key(self, key: KeyRecord) -> None:
        """Store an API key (its hash only)."""
        with self._tx() as cur:
            self._run(cur, "INSERT INTO api_keys (key_id, key_hash, role, accounts, label, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (key.key_id, key.key_hash, key.role,
                       json.dumps(list(key.accounts)) if key.accounts is not None else None, key.label, key.created_at))

    def delete_key(self, key_id: str) -> bool:
        """Remove an API key; False if there was none."""
        with self._tx() as cur:
            self._run(cur, "DELETE FROM api_keys WHERE key_id = ?", (key_id,))
            return bool(cur.rowcount)

    def create_account(self, account: str, *, created_at: str, status: str, balances: Mapping[str, float],
                       legs: Mapping[tuple[str, str], float], events: Sequence[Event]) -> None:
        """A new account with its balances and positions."""
        with self._tx() as cur:
            self._run(cur, "INSERT INTO accounts (account, created_at, status) VALUES (?, ?, ?)",
                      (account, created_at, status))
            self._many(cur, "INSERT INTO balances (account, currency, amount) VALUES (?, ?, ?)",
                       [(account, c, x) for c, x in balances.items()])
            self._many(cur, "INSERT INTO positions (account, instrument, unit, quantity) VALUES (?, ?, ?, ?)",
                       [(account, i, u, q) for (i, u), q in legs.items()])
            self._events(cur, events)

    def delete_account(self, account: str, *, events: Sequence[Event]) -> None:
        """Remove an account, its balances, positions and fills."""
        with self._tx() as cur:
            for table in ("balances", "positions", "fills", "accounts"):
                self._run(cur, f"DELETE FROM {table} WHERE account = ?", (account,))
            self._events(cur, events)

    def replace_positions(self, account: str, legs: Mapping[tuple[str, str], float], *, status: str,
                          events: Sequence[Event]) -> None:
        """Set an account's positions in bulk (replacing all)."""
        with self._tx() as cur:
            self._run(cur, "DELETE FROM positions WHERE account = ?", (account,))
            self._many(cur, "INSERT INTO positions (account, instrument, unit, quantity) VALUES (?, ?, ?, ?)",
                       [(account, i, u, q) for (i, u), q in legs.items()])
            self._statuses(cur, {account: status})
            self._events(cur, events)

    def replace_balances(self, account: str, balances: Mapping[str, float], *, status: str,
                         events: Sequence[Event]) -> None:
        """Set an account's balances (replacing all)."""
        with self._tx() as cur:
            self._run(cur, "DELETE FROM balances WHERE account = ?", (account,))
            self._many(cur, "INSERT INTO balances (account, currency, amount) VALUES (?, ?, ?)",
                       [(account, c, x) for c, x in balances.items()])
            self._statuses(cur, {account: status})
            self._events(cur, events)

    def apply_fills(self, account: str, fills: Sequence[tuple[str, str, str, float]], *,
                    legs: Mapping[tuple[str, str], float], received_at: str, status: str,
                    events: Sequence[Event]) -> None:
        """Record fills ``(fill_id, instrument, unit, quantity)`` and the legs they moved (0 = closed).

        The primary key ``(account, fill_id)`` refuses a fill id twice even if
        two service instances race on it.
        """
        with self._tx() as cur:
            self._many(cur, "INSERT INTO fills (account, fill_id, instrument, unit, quantity, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                       [(account, f, i, u, q, received_at) for f, i, u, q in fills])
            closed = [(account, i, u) for (i, u), q in legs.items() if q == 0.0]
            kept = [(account, i, u, q) for (i, u), q in legs.items() if q != 0.0]
            self._many(cur, "DELETE FROM positions WHERE account = ? AND instrument = ? AND unit = ?", closed)
            self._many(cur, "INSERT INTO positions (account, instrument, unit, quantity) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT (account, instrument, unit) DO UPDATE SET quantity = excluded.quantity", kept)
            self._statuses(cur, {account: status})
            self._events(cur, events)

    def apply_revaluation(self, *, market: Snapshot | None, meta: Mapping[str, str], statuses: Mapping[str, str],
                          events: Sequence[Event]) -> None:
        """A market snapshot and/or parameter set applied, with every status it changed and their events."""
        with self._tx() as cur:
            if market is not None:
                self._run(cur, "INSERT INTO markets (version, applied_at, valuation_time, snapshot) VALUES (?, ?, ?, ?)",
                          (market.version, market.applied_at, market.valuation_time,
                           json.dumps(dict(market.snapshot), allow_nan=False)))
            self._many(cur, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       list(meta.items()))
            self._statuses(cur, statuses)
            self._events(cur, events)

    def bulk_load(self, *, accounts: Mapping[str, str], created_at: str, balances: Mapping[str, Mapping[str, float]],
                  positions: Mapping[str, Mapping[tuple[str, str], float]]) -> None:
        """Insert many accounts at once (benchmarks and migrations; no events)."""
        with self._tx() as cur:
            self._many(cur, "INSERT INTO accounts (account, created_at, status) VALUES (?, ?, ?)",
                       [(a, created_at, s) for a, s in accounts.items()])
            self._many(cur, "INSERT INTO balances (account, currency, amount) VALUES (?, ?, ?)",
                       [(a, c, x) for a, b in balances.items() for c, x in b.items()])
            self._many(cur, "INSERT INTO positions (account, instrument, unit, quantity) VALUES (?, ?, ?, ?)",
                       [(a, i, u, q) for a, legs in positions.items() for (i, u), q in legs.items()])


def open_store(url: str) -> SqlStore:
    """Open (and create the tables of) a store.

    Parameters
    ----------
    url : str
        ``postgresql://...`` / ``postgres://...`` for PostgreSQL (psycopg
        conninfo, e.g. ``postgresql:///spanlike?host=/run/postgresql``);
        ``sqlite:///path/to/file.db`` or a plain file path for SQLite.

    Raises
    ------
    InputFileError
        The store cannot be opened (missing directory, no server, bad URL).
    """
    from spanlike.service.core import errors

    try:
        if url.startswith(("postgresql://", "postgres://")):
            from spanlike.service.storage_postgres import PostgresStore

            return PostgresStore(url)
        from spanlike.service.storage_sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url)
    except errors.SpanlikeError:
        raise
    except Exception as err:  # the driver's own error types differ; say which store and why
        raise errors.InputFileError(f"Cannot open the store {_redact(url)}: {err}. "
                                    "Give a writable SQLite file path or a reachable postgresql:// URL.") from None


def _redact(url: str) -> str:
    """The URL without a password (``user:***@host``)."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        user = cred.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in cred else url
    return url
