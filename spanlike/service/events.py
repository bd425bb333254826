"""Events with sequence numbers, and the live stream a client resumes from its last number.

Every status change (and account creation/deletion, market and parameter-set
change) becomes an :class:`~spanlike.service.storage.Event` numbered 1, 2, ...
in commit order. Numbers are reserved before the store transaction and handed
back if it fails, so the stored sequence has no gaps; events are published to
live subscribers only after their transaction commits, so a client never sees
an event the store does not hold.

A subscriber resumes after sequence number ``n``: the stored events after
``n`` are replayed, then live ones follow. Replay and subscription happen in
one synchronous step of the event loop (no ``await`` between them), so no
event falls between the two.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any, AsyncIterator, Callable, Mapping

from spanlike.service.storage import Event, SqlStore

__all__ = ["EventLog", "format_sse", "utc_now"]

#: Events queued for one slow subscriber before it is cut off (it resumes by sequence number).
QUEUE_LIMIT = 100_000


def utc_now() -> str:
    """Now, ISO-8601 UTC with microseconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat()


def format_sse(event: Event) -> bytes:
    """One server-sent event: ``id`` = sequence number, ``event`` = kind, ``data`` = JSON."""
    data = json.dumps(event.to_dict(), allow_nan=False, separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n".encode()


class EventLog:
    """Sequence numbers and live subscribers (one per service process)."""

    def __init__(self, store: SqlStore, last_seq: int) -> None:
        self.store = store
        self.last_seq = last_seq
        self._subscribers: set[asyncio.Queue[Event | None]] = set()

    def draft(self, items: list[tuple[str | None, str, Mapping[str, Any]]]) -> list[Event]:
        """Number ``(account, kind, data)`` items; call :meth:`release` if their transaction fails."""
        at = utc_now()
        out = [Event(self.last_seq + 1 + i, at, a, k, dict(d)) for i, (a, k, d) in enumerate(items)]
        self.last_seq += len(out)
        return out

    def release(self, events: list[Event]) -> None:
        """Hand back the numbers of events whose transaction failed (they were the last reserved)."""
        if events:
            self.last_seq = events[0].seq - 1

    def publish(self, events: list[Event]) -> None:
        """Send committed events to every live subscriber."""
        if not events or not self._subscribers:
            return
        for q in list(self._subscribers):
            if q.qsize() + len(events) > QUEUE_LIMIT:
                self._subscribers.discard(q)
                q.put_nowait(None)  # cut off: the client resumes from its last sequence number
                continue
            for e in events:
                q.put_nowait(e)

    async def stream(self, *, after: int, visible: Callable[[Event], bool], follow: bool,
                     keepalive_s: float = 15.0) -> AsyncIterator[bytes]:
        """SSE bytes: stored events after ``after``, then (if ``follow``) live ones, as they commit."""
        q: asyncio.Queue[Event | None] = asyncio.Queue()
        last = after
        # Replay in pages; the final page and the subscription share one loop step (no await between).
        while True:
            page = self.store.events_after(last, limit=1000)
            if len(page) < 1000:
                if follow:
                    self._subscribers.add(q)
                break
            for e in page:
                last = e.seq
                if visible(e):
                    yield format_sse(e)
        try:
            for e in page:
                last = e.seq
                if visible(e):
                    yield format_sse(e)
            if not follow:
                return
            yield b": live\n\n"
            while True:
                try:
                    e = await asyncio.wait_for(q.get(), timeout=keepalive_s)
                except asyncio.TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if e is None:
                    return
                if e.seq <= last:
                    continue
                last = e.seq
                if visible(e):
                    yield format_sse(e)
        finally:
            self._subscribers.discard(q)
