"""A direct request path for the hot calls, in front of the FastAPI app.

The pre-trade check is the call an order gateway makes before every order.
Profiled under load (py-spy on the server, 16 clients), FastAPI's
per-request machinery (routing, dependency solving, its middleware layers,
the response class) took about three quarters of the server's CPU per check,
the check itself about a tenth (``benchmarks/bench_service.py`` has the
figures). This ASGI layer answers a listed ``POST
/v1/accounts/{account}/<action>`` itself and hands every other request,
untouched, to the app.

Behaviour stays the app's. The body is parsed as FastAPI parses it
(:func:`json.loads`, then the route's own pydantic model), and a request
this path would not take whole (another method or path, a content type
other than JSON, a body that is not JSON or fails the model, a client that
went away) goes to the app with its body replayed, so the 422 messages, the
routing answers and the OpenAPI schema are the FastAPI route's. A taken
request is answered by the handler the route itself calls (authentication,
roles, rate limit, account visibility), and its errors by the app's error
mapping, so status codes and bodies are the same on both paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

__all__ = ["DirectRoute", "DirectRoutes", "bearer_credentials"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PREFIX = "/v1/accounts/"


@dataclass(frozen=True)
class DirectRoute:
    """``POST /v1/accounts/{account}/<action>`` answered directly.

    ``handler(account, body, credentials)`` gets the path's account, the
    body validated by ``model`` and the bearer credentials (None when
    absent), and returns ``(status, JSON-ready content)``; it raises for
    errors (mapped by :class:`DirectRoutes`' ``on_error``).
    """

    action: str
    model: type[BaseModel]
    handler: Callable[[str, Any, HTTPAuthorizationCredentials | None], tuple[int, Any]]


def bearer_credentials(authorization: str | None) -> HTTPAuthorizationCredentials | None:
    """The ``Authorization`` header read as FastAPI's ``HTTPBearer(auto_error=False)`` reads it."""
    if not authorization:
        return None
    scheme, _, param = authorization.partition(" ")
    credentials = param.strip()
    if not (scheme and credentials) or scheme.lower() != "bearer":
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


def _is_json(content_type: bytes) -> bool:
    # Only the plain form; anything else (+json types, odd parameters) is left to the app's own rule.
    return content_type.split(b";", 1)[0].strip().lower() == b"application/json"


def json_body(content: Any) -> bytes:
    """Bytes of ``content`` exactly as Starlette's ``JSONResponse`` renders them (non-finite floats refused)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


class DirectRoutes:
    """ASGI middleware: answer the listed routes directly, pass everything else to ``app``.

    Parameters
    ----------
    app : ASGI application
        The FastAPI app; it keeps every route, including the direct ones
        (for the schema and for the requests passed on).
    routes : sequence of DirectRoute
    on_error : callable
        ``on_error(exception) -> Response``, the app's mapping of an
        exception to its error response.
    """

    def __init__(self, app: Any, *, routes: list[DirectRoute], on_error: Callable[[Exception], Any]) -> None:
        self.app = app
        self.routes: Mapping[str, DirectRoute] = {r.action: r for r in routes}
        self.on_error = on_error

    def _match(self, scope: Scope) -> tuple[str, DirectRoute] | None:
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):  # as Starlette's router strips a proxy's prefix
            path = path[len(root):]
        if not path.startswith(_PREFIX):
            return None
        account, sep, action = path[len(_PREFIX):].partition("/")
        route = self.routes.get(action) if sep else None
        return (account, route) if route is not None and account else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        hit = self._match(scope)
        if hit is None:
            await self.app(scope, receive, send)
            return
        account, route = hit
        content_type = authorization = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"authorization" and authorization is None:
                authorization = value
        if content_type is None or not _is_json(content_type):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":  # the client went away: the app handles it as it would
                await self._pass_on(scope, received, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            parsed = route.model.model_validate(json.loads(body))
        except Exception:  # not JSON or not the model: the app gives its own 422 (or whatever it gives)
            await self._pass_on(scope, received, receive, send)
            return
        try:
            creds = bearer_credentials(authorization.decode("latin-1") if authorization is not None else None)
            status, content = route.handler(account, parsed, creds)
            data = json_body(content)
        except Exception as err:  # every error as the app's handlers answer it (a 500 without a trace)
            await self.on_error(err)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(data)).encode()), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})

    async def _pass_on(self, scope: Scope, received: list[Message], receive: Receive, send: Send) -> None:
        """Run the app on the request, replaying the messages already read."""
        pending = list(received)

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)
