"""Request size limit and per-key rate limit.

Size: a pure ASGI middleware refuses a body whose ``Content-Length`` exceeds
the limit before reading it, and stops reading a chunked body at the limit
(413 either way), so a client cannot make the service buffer more.

Rate: a token bucket per API key, ``rate`` requests per second with bursts
of ``burst``; an empty bucket answers 429 with ``Retry-After`` (seconds).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Awaitable, Callable

__all__ = ["BodySizeLimit", "TokenBuckets"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: 413 for request bodies above ``max_bytes``; adds the context headers to every response."""

    def __init__(self, app: Any, *, max_bytes: int, headers: Callable[[], list[tuple[bytes, bytes]]]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *self.headers()]}
            await send(message)

        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    n = int(value)
                except ValueError:
                    n = self.max_bytes + 1
                if n > self.max_bytes:
                    await self._refuse(send_with_headers, n)
                    return
        seen = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            if not started:
                await self._refuse(send_with_headers, seen)

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps({"error": {
            "type": "RequestTooLarge", "field": "body", "value": size,
            "message": f"The request body is {size:,} bytes; the limit is {self.max_bytes:,} bytes. "
                       "Send fewer items per request (e.g. split the fills or positions)."}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class TokenBuckets:
    """Per-key token buckets: ``rate`` tokens per second, at most ``burst`` stored."""

    def __init__(self, *, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Take one token; 0.0 if granted, else the seconds until one is available."""
        now = time.monotonic()
        tokens, last = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return max(1e-3, (1.0 - tokens) / self.rate) if self.rate > 0 else math.inf
