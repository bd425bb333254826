"""The ASGI application: routes of the versioned JSON API over one :class:`ServiceState`.

Every response carries the parameter set and market version in force (JSON
fields ``parameter_set``/``market_version`` and headers
``X-Spanlike-Parameter-Set``/``X-Spanlike-Market-Version``). Errors are JSON
``{"error": {"type", "message", "field", "value"}}``: 401 no valid key, 403
role too low, 404 unknown account (or one the key may not see), 409 conflict
with stored state, 413 body too large, 422 bad input (the library's message
naming the field, the value and the fix), 429 rate limit; an unexpected
failure is a 500 with a reference id and no trace.

Handlers are ``async`` and do not ``await`` between reading and changing an
account (store writes are synchronous), so requests on one account are
serialised by the event loop.
"""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any, Literal

from fastapi import FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from spanlike import __version__
from spanlike.service import models as M
from spanlike.service.auth import Principal, hash_key, new_key, role_allows
from spanlike.service.core import errors
from spanlike.service.direct_routes import DirectRoute, DirectRoutes
from spanlike.service.limits import BodySizeLimit, TokenBuckets
from spanlike.service.state import Conflict, NotFound, ServiceState

__all__ = ["ApiError", "create_app"]

log = logging.getLogger("spanlike.service")
_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer sl_...")


class ApiError(Exception):
    """An HTTP error with our JSON body."""

    def __init__(self, status: int, kind: str, message: str, *, field: str | None = None, value: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.field, self.value, self.headers = (
            status, kind, message, field, value, headers)


def _error(status: int, kind: str, message: str, *, field: str | None = None, value: Any = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": kind, "message": message}
    if field is not None:
        body["field"] = field
    if value is not None:
        body["value"] = _shown(value)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _shown(value: Any) -> Any:
    """A value as echoed in an error: JSON scalars as they are, anything else as a short repr."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _validation_response(err: RequestValidationError) -> JSONResponse:
    """422 naming each bad field, the value and the fix."""
    problems = []
    for e in err.errors():
        field = ""
        for x in e.get("loc", ()):
            if x in ("body", "query", "path", "header"):
                continue
            field += f"[{x}]" if isinstance(x, int) else (("." if field else "") + str(x))
        field = field or "body"
        got = e.get("input")
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if isinstance(got, (bytes, bytearray)) and field == "body":
            field, got = "body", None
            msg = "must be a JSON object sent with 'Content-Type: application/json'"
        elif e.get("type") == "json_invalid":
            field, msg = "body", f"is not valid JSON ({e.get('ctx', {}).get('error', 'parse error')})"
            got = None
        elif e.get("type") == "extra_forbidden":
            msg = "is not a field of this request; remove it (see the OpenAPI schema for the fields)"
        elif e.get("type") == "missing":
            msg = "is required"
        problems.append({"field": field, "value": _shown(got), "message": f"'{field}' {msg[0].lower() + msg[1:]}."
                         + ("" if got is None or e.get("type") == "missing" else f" Got {_shown(got)!r}.")})
    first = problems[0] if problems else {"field": "body", "value": None, "message": "invalid request"}
    return JSONResponse({"error": {"type": "ValidationError", "message": first["message"], "field": first["field"],
                                   "value": first["value"], "problems": problems}}, status_code=422)


def create_app(state: ServiceState, *, max_body_bytes: int = 1_048_576, rate_per_second: float = 500.0,
               rate_burst: float = 1000.0) -> Any:
    """The ASGI application serving ``state``.

    Parameters
    ----------
    state : ServiceState
        Rebuilt from the store (:meth:`ServiceState.open`).
    max_body_bytes : int
        Largest request body; larger ones get 413.
    rate_per_second, rate_burst : float
        Per-key token bucket.

    Returns
    -------
    ASGI application (FastAPI behind the direct path of the pre-trade check, in the size-limit middleware).
    """
    app = FastAPI(
        title="spanlike margin service", version=__version__,
        description="Portfolio margin (SPAN-style) for accounts that persist: pre-trade checks, fills, market "
                    "updates and status events. Amounts in USD unless a field says otherwise.",
        docs_url="/docs", redoc_url=None, openapi_url="/v1/openapi.json",
    )
    keys: dict[str, Any] = {k.key_hash: k for k in state.store.load().keys}
    buckets = TokenBuckets(rate=rate_per_second, burst=rate_burst)
    app.state.service = state
    app.state.keys = keys

    def ctx() -> dict[str, Any]:
        return state.context()

    def auth(creds: HTTPAuthorizationCredentials | None, need: str) -> Principal:
        if creds is None or not creds.credentials:
            raise ApiError(401, "Unauthorized", "Send an API key: 'Authorization: Bearer sl_...'.",
                           headers={"WWW-Authenticate": "Bearer"})
        rec = keys.get(hash_key(creds.credentials))
        if rec is None:
            raise ApiError(401, "Unauthorized", "The API key is not valid (unknown or revoked).",
                           headers={"WWW-Authenticate": "Bearer"})
        wait = buckets.take(rec.key_id)
        if wait > 0.0:
            raise ApiError(429, "RateLimited", f"Rate limit of this key reached; retry in {wait:.3f} s.",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if not role_allows(rec.role, need):
            raise ApiError(403, "Forbidden", f"This key has role '{rec.role}'; this call needs '{need}'.")
        return Principal(rec.key_id, rec.role, frozenset(rec.accounts) if rec.accounts is not None else None)

    def visible(p: Principal, account: str) -> str:
        if not p.may_see(account):
            raise NotFound(f"Account {account!r} does not exist. List accounts with GET /v1/accounts.")
        return account

    # ----------------------------------------------------------------- errors

    def error_response(err: Exception) -> JSONResponse:
        """The response to an exception raised while answering (the handlers below and the direct path)."""
        if isinstance(err, ApiError):
            return _error(err.status, err.kind, err.message, field=err.field, value=err.value, headers=err.headers)
        if isinstance(err, errors.SpanlikeError):
            status = 404 if isinstance(err, NotFound) else 409 if isinstance(err, Conflict) else 422
            return _error(status, type(err).__name__, str(err))
        ref = secrets.token_hex(6)
        log.error("unexpected error (reference %s)", ref, exc_info=err)
        return _error(500, "InternalError", f"Internal error (reference {ref}); the request was not applied.")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, err: ApiError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, err: RequestValidationError) -> JSONResponse:
        return _validation_response(err)

    @app.exception_handler(errors.SpanlikeError)
    async def _library(_: Request, err: errors.SpanlikeError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        message = {404: "No such endpoint; see /v1/openapi.json.", 405: "Method not allowed on this endpoint."}
        return _error(err.status_code, "HTTPError", message.get(err.status_code, str(err.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, err: Exception) -> JSONResponse:
        return error_response(err)

    # ----------------------------------------------------------------- health

    @app.get("/v1/health", tags=["health"], summary="Liveness: the process answers")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", **ctx()})

    @app.get("/v1/ready", tags=["health"], summary="Readiness: engine built and store reachable")
    async def ready() -> JSONResponse:
        try:
            state.store.events_after(state.log.last_seq, limit=1)
        except Exception:
            log.exception("store not reachable")
            return _error(503, "NotReady", "The store is not reachable; the service cannot record changes.")
        return JSONResponse({"status": "ready", "store": state.store.backend, "accounts": len(state.accounts),
                             "last_event_seq": state.log.last_seq, **ctx()})

    # ----------------------------------------------------------------- stateless margin

    @app.post("/v1/margin", tags=["margin"], summary="Margin a posted book (nothing stored)")
    async def margin_book(body: M.MarginRequest, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                          ) -> JSONResponse:
        auth(creds, "read")
        from spanlike.service import core

        portfolio = core.Portfolio.from_mapping(
            {"account": body.account, "positions": [p.model_dump(exclude_none=True) for p in body.positions]},
            source="request body")
        market = core.market_from_mapping(body.market, source="request body 'market'") if body.market else state.market
        if body.parameter_set is not None and body.parameter_set not in core.params.available():
            raise errors.UnknownParameterSetError(
                f"'parameter_set' must be a bundled set name: {', '.join(core.params.available())}. "
                f"Got {body.parameter_set!r}.")
        ps = core.params.load(body.parameter_set) if body.parameter_set else state.engine.parameter_set
        result = core.margin(portfolio, market, ps)
        return JSONResponse({**ctx(), "parameter_set": result.parameter_set, "result": result.to_dict()})

    # ----------------------------------------------------------------- accounts

    @app.get("/v1/accounts", tags=["accounts"], summary="Accounts, optionally by status")
    async def list_accounts(
        status: Literal["ok", "margin call", "margin_call", "liquidation"] | None = Query(
            None, description="ok, margin call (or margin_call) or liquidation"),
        limit: int = Query(1000, ge=1, le=100_000), offset: int = Query(0, ge=0),
        creds: HTTPAuthorizationCredentials | None = Security(_bearer),
    ) -> JSONResponse:
        p = auth(creds, "read")
        want = status.replace("_", " ") if status else None
        rows = [a.summary() for name, a in state.accounts.items()
                if (want is None or a.status == want) and p.may_see(name)]
        return JSONResponse({**ctx(), "total": len(rows), "accounts": rows[offset:offset + limit]})

    @app.post("/v1/accounts", tags=["accounts"], status_code=201, summary="Create an account")
    async def create_account(body: M.AccountCreate, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                             ) -> JSONResponse:
        auth(creds, "admin")
        acc, _ = state.create_account(body.account, positions=[(x.instrument, x.quantity, x.unit) for x in body.positions],
                                      balances=dict(body.balances))
        return JSONResponse({**ctx(), **acc.summary()}, status_code=201)

    @app.get("/v1/accounts/{account}", tags=["accounts"], summary="One account: status, balances, positions")
    async def get_account(account: str, creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        p = auth(creds, "read")
        acc = state.get(visible(p, account))
        return JSONResponse({**ctx(), **acc.summary(), "balances": acc.balances, "created_at": acc.created_at,
                             "positions": [{"instrument": i, "unit": u, "quantity": q}
                                           for (i, u), q in sorted(acc.legs.items())]})

    @app.delete("/v1/accounts/{account}", tags=["accounts"], summary="Delete an account and its history")
    async def delete_account(account: str, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                             ) -> JSONResponse:
        p = auth(creds, "admin")
        events = state.delete_account(visible(p, account))
        return JSONResponse({**ctx(), "deleted": account, "event_seq": events[-1].seq})

    @app.put("/v1/accounts/{account}/positions", tags=["accounts"], summary="Set every position (bulk)")
    async def put_positions(account: str, body: M.Positions,
                            creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        p = auth(creds, "admin")
        acc = state.set_positions(visible(p, account), [(x.instrument, x.quantity, x.unit) for x in body.positions])
        return JSONResponse({**ctx(), **acc.summary()})

    @app.put("/v1/accounts/{account}/balances", tags=["accounts"], summary="Set equity/collateral balances")
    async def put_balances(account: str, body: M.Balances,
                           creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        p = auth(creds, "admin")
        acc = state.set_balances(visible(p, account), dict(body.balances))
        return JSONResponse({**ctx(), **acc.summary(), "balances": acc.balances})

    @app.post("/v1/accounts/{account}/fills", tags=["trading"], summary="Apply fills (idempotent by fill_id)")
    async def post_fills(account: str, body: M.Fills, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                         ) -> JSONResponse:
        p = auth(creds, "trade")
        out = state.apply_fills(visible(p, account), [(f.fill_id, f.instrument, f.quantity, f.unit) for f in body.fills])
        return JSONResponse({**ctx(), **out})

    @app.get("/v1/accounts/{account}/fills", tags=["trading"], summary="Fills applied to an account")
    async def get_fills(account: str, creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        p = auth(creds, "read")
        state.get(visible(p, account))
        rows = state.store.fills_of(account)
        return JSONResponse({**ctx(), "fills": [{"fill_id": f, "instrument": i, "unit": u, "quantity": q,
                                                 "received_at": t} for f, i, u, q, t in rows]})

    @app.get("/v1/accounts/{account}/margin", tags=["margin"], summary="Margin with components and worst scenarios")
    async def get_margin(account: str, creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        p = auth(creds, "read")
        return JSONResponse({**ctx(), **state.margin_detail(visible(p, account))})

    @app.post("/v1/accounts/{account}/what-if", tags=["trading"], summary="Pre-trade check: accept or reject orders")
    async def what_if(account: str, body: M.WhatIfRequest,
                      creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        return JSONResponse(what_if_content(account, body, creds)[1])

    def what_if_content(account: str, body: M.WhatIfRequest, creds: HTTPAuthorizationCredentials | None
                        ) -> tuple[int, dict[str, Any]]:
        # Shared by the route above and the direct path (spanlike.service.direct_routes) that answers it under load.
        p = auth(creds, "trade")
        out = state.what_if(visible(p, account), [(o.instrument, o.quantity, o.unit) for o in body.orders])
        return 200, {**ctx(), **out}

    @app.post("/v1/accounts/{account}/max-order", tags=["trading"], summary="Largest order within equity")
    async def max_order(account: str, body: M.MaxOrderRequest,
                        creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        p = auth(creds, "trade")
        out = state.max_order(visible(p, account), instrument=body.instrument, side=1 if body.side == "buy" else -1,
                              unit=body.unit, measure=body.measure)
        return JSONResponse({**ctx(), **out})

    # ----------------------------------------------------------------- market, parameter set

    @app.get("/v1/market", tags=["market"], summary="The snapshot in force")
    async def get_market(full: bool = Query(False, description="include every quote"),
                         creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        auth(creds, "read")
        from spanlike.service import core

        data = core.market_to_mapping(state.market)
        out: dict[str, Any] = {**ctx(), "index_prices": data["index_prices"], "instruments": len(data["instruments"])}
        if full:
            out["snapshot"] = data
        return JSONResponse(out)

    @app.put("/v1/market", tags=["market"], summary="Apply a snapshot or changed instruments; re-margin every account")
    async def put_market(body: M.MarketUpdate, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                         ) -> JSONResponse:
        auth(creds, "admin")
        data = {"valuation_time": body.valuation_time, "index_prices": dict(body.index_prices),
                "instruments": list(body.instruments)}
        out = state.apply_market(data, mode=body.mode)
        return JSONResponse({**ctx(), **out})

    @app.get("/v1/parameter-set", tags=["market"], summary="The parameter set in force")
    async def get_parameter_set(creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        auth(creds, "read")
        from spanlike.service import core

        return JSONResponse({**ctx(), "source": state.parameter_set_source, "available": core.params.available()})

    @app.put("/v1/parameter-set", tags=["market"], summary="Switch to a bundled parameter set")
    async def put_parameter_set(body: M.ParameterSetChange,
                                creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        auth(creds, "admin")
        return JSONResponse({**ctx(), **state.set_parameter_set(body.parameter_set)})

    # ----------------------------------------------------------------- events

    @app.get("/v1/events", tags=["events"], summary="Status events as server-sent events, resumable by sequence number",
             response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "id: <seq>, event: <kind>, data: JSON of the event"}})
    async def events(request: Request, after: int | None = Query(None, ge=0, description="resume after this seq"),
                     follow: bool = Query(True, description="false: send the stored events and close"),
                     creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> StreamingResponse:
        p = auth(creds, "read")
        start = after
        if start is None:
            last = request.headers.get("last-event-id", "0")
            if not last.isdigit():
                raise ApiError(422, "ValidationError", f"'Last-Event-ID' must be a sequence number (0, 1, ...). "
                                                      f"Got {last!r}.", field="Last-Event-ID", value=last)
            start = int(last)
        stream = state.log.stream(after=start, visible=lambda e: p.may_see(e.account), follow=follow)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # ----------------------------------------------------------------- keys

    @app.post("/v1/keys", tags=["keys"], status_code=201, summary="Create an API key (shown once)")
    async def create_key(body: M.KeyCreate, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                         ) -> JSONResponse:
        auth(creds, "admin")
        if body.role == "admin" and body.accounts is not None:
            raise ApiError(422, "ValidationError", "'accounts' limits read and trade keys; an admin key manages "
                           "every account. Drop 'accounts' or choose role read or trade.", field="accounts",
                           value=body.accounts)
        key, rec = new_key(role=body.role, accounts=tuple(body.accounts) if body.accounts is not None else None,
                           label=body.label)
        state.store.add_key(rec)
        keys[rec.key_hash] = rec
        return JSONResponse({**ctx(), "key": key, "key_id": rec.key_id, "role": rec.role,
                             "accounts": list(rec.accounts) if rec.accounts is not None else None}, status_code=201)

    @app.delete("/v1/keys/{key_id}", tags=["keys"], summary="Revoke an API key")
    async def delete_key(key_id: str, creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        auth(creds, "admin")
        if not state.store.delete_key(key_id):
            raise ApiError(404, "NotFound", f"No API key has id {key_id!r}.", field="key_id", value=key_id)
        for h, rec in list(keys.items()):
            if rec.key_id == key_id:
                del keys[h]
        return JSONResponse({**ctx(), "revoked": key_id})

    # ----------------------------------------------------------------- desk dashboard (page at /)

    from spanlike.service.dashboard import mount_dashboard

    mount_dashboard(app, state=state, auth=auth, visible=visible)

    def headers() -> list[tuple[bytes, bytes]]:
        return [(b"x-spanlike-parameter-set", state.parameter_set.encode("latin-1", "replace")),
                (b"x-spanlike-market-version", str(state.market_version).encode())]

    direct = DirectRoutes(app, routes=[DirectRoute("what-if", M.WhatIfRequest, what_if_content)],
                          on_error=error_response)
    wrapped = BodySizeLimit(direct, max_bytes=max_body_bytes, headers=headers)
    wrapped.fastapi = app  # type: ignore[attr-defined]  # tests and the schema writer reach the app through it
    return wrapped
