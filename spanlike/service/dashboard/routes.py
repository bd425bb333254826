"""The dashboard's page and JSON routes, mounted on the service app by :func:`mount_dashboard`.

Page: ``GET /`` (HTML), ``GET /dashboard/app.js`` and ``/dashboard/app.css``;
no key needed to load them (they hold no data). When the server was started
in demo mode (``app.state.demo_key`` set by the launcher) the page carries
that key, so the local demo works without a login; otherwise the user pastes
a key and every call below checks it and its role as the rest of the API does.

JSON (amounts USD unless a field names a currency; losses loss-positive):

* ``GET /v1/parameter-sets`` (read): every bundled set, its version and grids;
* ``GET /v1/instruments`` (read): the snapshot's instruments and their units;
* ``POST /v1/books/parse`` (read): positions of an uploaded file or pasted rows;
* ``POST /v1/margin/detail`` (read): breakdown, heatmaps, efficiency of a book;
* ``POST /v1/margin/sets`` (read): the book under every bundled set;
* ``POST /v1/margin/what-if`` (read for a posted book, trade for a stored
  account): incremental IM/MM and the pre-trade decision under any set.

A book is a stored ``account`` (positions and equity from the store) or
posted ``positions`` with optional ``balances``; exactly one of the two.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from importlib.resources import files
from typing import Any, Callable, Iterator, Literal

from fastapi import Request, Security
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from spanlike.service import core
from spanlike.service import models as M
from spanlike.service.core import errors
from spanlike.service.dashboard import analysis
from spanlike.service.dashboard.books import PASTED_NAME, read_book_text
from spanlike.service.dashboard.engines import EngineCache, book_sets

__all__ = ["BookRequest", "BookWhatIfRequest", "ParseRequest", "mount_dashboard"]

_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer sl_...")
_ID = r"^[A-Za-z0-9_.:@-]{1,64}$"

#: The page runs only its own script and style; nothing inline, nothing from elsewhere.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class BookRequest(_Model):
    """A book: a stored ``account``, or posted ``positions`` (with optional ``balances``); and a parameter set."""

    account: str | None = Field(None, pattern=_ID, description="a stored account (its positions and equity)")
    positions: list[M.PositionIn] | None = Field(None, max_length=10_000, description="a posted book instead")
    balances: dict[str, float] | None = Field(None, description="with positions: currency -> amount for equity")
    parameter_set: str | None = Field(None, max_length=64, description="a bundled set name; default: the one in force")


class BookWhatIfRequest(BookRequest):
    """A book and orders to check against its equity."""

    orders: list[M.OrderIn] = Field(min_length=1, max_length=100)


class ParseRequest(_Model):
    """An uploaded file's name and text, or pasted rows (``filename`` = ``"pasted rows"``)."""

    filename: str = Field(min_length=1, max_length=255)
    content: str = Field(max_length=1_000_000, description="the file's text (UTF-8)")


_FIELD = re.compile(r"^((?:orders|positions)\[\d+\])")


def _field_of(err: Exception, default: str) -> str:
    """The request field a library message is about (``orders[0].quantity``, ...), else ``default``."""
    text = str(err)
    m = _FIELD.match(text)
    if m is None:
        return default
    if isinstance(err, errors.UnknownInstrumentError) or ".instrument" in text[:len(m.group(1)) + 12]:
        return m.group(1) + ".instrument"
    return m.group(1) + (".unit" if "unit" in text.lower() else ".quantity")


def _static(name: str) -> str:
    return (files("spanlike.service.dashboard") / "static" / name).read_text(encoding="utf-8")


def mount_dashboard(app: Any, *, state: Any, auth: Callable[[Any, str], Any],
                    visible: Callable[[Any, str], str]) -> None:
    """Add the page and its JSON routes to the FastAPI ``app`` serving ``state``.

    Parameters
    ----------
    app : FastAPI
    state : ServiceState
    auth : callable
        ``auth(credentials, role) -> Principal`` of the app (401/403/429 as elsewhere).
    visible : callable
        ``visible(principal, account) -> account`` or 404.
    """
    from spanlike.service.app import ApiError

    engines = EngineCache(state)
    app.state.demo_key = getattr(app.state, "demo_key", None)

    @contextmanager
    def named(field: str) -> Iterator[None]:
        """Library errors as 422 naming the request field they are about (the page highlights it)."""
        try:
            yield
        except (ApiError,):
            raise
        except errors.SpanlikeError as err:
            if type(err).__name__ in ("NotFound", "Conflict"):
                raise
            raise ApiError(422, type(err).__name__, str(err), field=_field_of(err, field)) from None

    def book_of(body: BookRequest, principal: Any, engine: Any) -> tuple[str, dict[tuple[str, str], float],
                                                                         float | None, str]:
        if (body.account is None) == (body.positions is None):
            raise ApiError(422, "ValidationError", "Give either 'account' (a stored account) or 'positions' "
                           "(a posted book), not both and not neither.", field="account")
        if body.account is not None:
            if body.balances is not None:
                raise ApiError(422, "ValidationError", "'balances' goes with posted 'positions'; a stored "
                               "account's equity comes from the store. Drop 'balances'.", field="balances")
            acc = state.get(visible(principal, body.account))
            return acc.account, dict(acc.legs), acc.equity_usd, "account"
        assert body.positions is not None
        with named("positions"):
            legs = analysis.legs_of([(p.instrument, p.quantity, p.unit) for p in body.positions], engine,
                                    where="positions")
        equity = None
        if body.balances is not None:
            with named("balances"):
                equity = _equity(body.balances, engine, legs)
        return "book", legs, equity, "positions"

    def _equity(balances: dict[str, float], engine: Any, legs: dict[tuple[str, str], float]) -> float:
        for currency, amount in balances.items():
            if not currency or amount != amount or amount in (float("inf"), float("-inf")):
                raise errors.InvalidInputError(
                    f"balances: the amount of {currency!r} must be a finite number in that currency "
                    f"(e.g. {{\"USDC\": 25000}}). Got {amount!r}.")
        book = core.account_book(engine, {"book": legs}, accounts=["book"])
        return float(core.account_equity_usd({"book": balances}, book=book, market=state.market)[0])

    def reply(data: dict[str, Any]) -> JSONResponse:
        return JSONResponse({**state.context(), **data})

    # ----------------------------------------------------------------- the page

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        key = app.state.demo_key or ""
        html = _static("index.html").replace("__DEMO_KEY__", key)
        return HTMLResponse(html, headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store",
                                           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    @app.get("/dashboard/{name}", include_in_schema=False)
    async def asset(name: Literal["app.js", "app.css"]) -> Response:
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(_static(name), media_type=f"{kind}; charset=utf-8",
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    # ----------------------------------------------------------------- reference data

    @app.get("/v1/parameter-sets", tags=["dashboard"], summary="Bundled parameter sets, versions and grids")
    async def parameter_sets(creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        auth(creds, "read")
        now = engines.in_force()
        return reply({"in_force": now, "parameter_sets": [analysis.parameter_set_info(n, in_force=n == now)
                                                          for n in book_sets()]})

    @app.get("/v1/instruments", tags=["dashboard"], summary="Instruments of the snapshot in force, with units")
    async def instruments(creds: HTTPAuthorizationCredentials | None = Security(_bearer)) -> JSONResponse:
        auth(creds, "read")
        rows = []
        for ins in state.engine.universe.table.instruments:
            coin_settled_linear = ins.is_inverse and not ins.is_option
            rows.append({"instrument": ins.name, "underlying": ins.underlying, "kind": ins.kind,
                         "right": getattr(ins, "right", None), "strike": getattr(ins, "strike", None),
                         "expiry": ins.expiry.isoformat() if getattr(ins, "expiry", None) else None,
                         "settlement_currency": ins.settlement_currency,
                         "units": ["usd", "coin"] if coin_settled_linear else ["coin"],
                         "default_unit": "usd" if coin_settled_linear else "coin"})
        return reply({"instruments": rows})

    # ----------------------------------------------------------------- books

    @app.post("/v1/books/parse", tags=["dashboard"], summary="Positions of an uploaded file or pasted rows")
    async def parse_book(body: ParseRequest, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                         ) -> JSONResponse:
        auth(creds, "read")
        field = "rows" if body.filename == PASTED_NAME else "file"
        with named(field):
            out = read_book_text(filename=body.filename, content=body.content)
            analysis.legs_of([(p["instrument"], p["quantity"], p["unit"]) for p in out["positions"]],
                             state.engine, where=body.filename)
        return reply(out)

    @app.post("/v1/margin/detail", tags=["dashboard"],
              summary="A book's margin breakdown, scenario heatmaps and efficiency levels (nothing stored)")
    async def margin_detail(body: BookRequest, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                            ) -> JSONResponse:
        p = auth(creds, "read")
        with named("parameter_set"):
            engine = engines.get(body.parameter_set)
        account, legs, equity, _ = book_of(body, p, engine)
        with named("positions"):
            out = analysis.book_detail(engine, legs, account=account, equity_usd=equity)
        return reply({**out, "parameter_set": out["parameter_set"]})

    @app.post("/v1/margin/sets", tags=["dashboard"], summary="A book's margin under every bundled parameter set")
    async def margin_sets(body: BookRequest, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                          ) -> JSONResponse:
        p = auth(creds, "read")
        first = engines.get(None)
        account, legs, _, _ = book_of(body, p, first)
        pairs = []
        for name in book_sets():
            with named("parameter_set"):
                pairs.append((name, engines.get(name)))
        return reply({"account": account, "sets": analysis.sets_side_by_side(pairs, legs, account=account)})

    @app.post("/v1/margin/what-if", tags=["dashboard"],
              summary="Pre-trade check of a posted book or an account under any bundled set (nothing stored)")
    async def book_what_if(body: BookWhatIfRequest, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
                           ) -> JSONResponse:
        p = auth(creds, "trade" if body.account is not None else "read")
        with named("parameter_set"):
            engine = engines.get(body.parameter_set)
        account, legs, equity, _ = book_of(body, p, engine)
        with named("orders"):
            out = analysis.what_if_book(engine, legs, [(o.instrument, o.quantity, o.unit) for o in body.orders],
                                        account=account, equity_usd=equity)
        return reply(out)
