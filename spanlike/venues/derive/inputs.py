"""What a Derive user has: a subaccount (options, perpetual, collateral) and a market snapshot, from JSON.

Portfolio (close to the ``result`` of Derive's ``private/get_subaccount``;
numbers may be JSON numbers or decimal strings, as Derive's API sends them)::

    {"currency": "BTC",
     "cash": "1000.0",                                   # USDC cash balance (optional, default 0)
     "collaterals": [{"asset_name": "BTC", "amount": "1.0"}],
     "positions": [
       {"instrument_name": "BTC-20250228-100000-C", "amount": "-1"},
       {"instrument_name": "BTC-PERP", "amount": "-0.5",
        "unrealized_pnl": "12.5", "pending_funding": "-0.3"}]}

A ``collaterals`` entry named ``USDC`` adds to ``cash``. Option names are
Derive's ``{CCY}-{YYYYMMDD}-{STRIKE}-{C|P}``, expiring at 08:00 UTC.

Market snapshot (the feeds Derive's manager reads: spot, perp, stable,
collateral and per-expiry forward, rate and SVI vol feeds, each with its
confidence)::

    {"currency": "BTC", "timestamp": 1739934748,         # unix seconds of valuation
     "spot": {"price": 95663.5, "confidence": 1.0},
     "perp": {"price": 95700.0, "confidence": 1.0},      # needed when a perpetual is held
     "stable": {"price": 1.0002, "confidence": 1.0},     # USDC in USD (peg-loss contingency)
     "collaterals": {"BTC": {"price": 95663.5, "confidence": 1.0}},
     "expiries": [
       {"expiry": 1740729600, "forward": 95776.67, "forward_fixed": 0.0,
        "forward_confidence": 1.0, "rate": 0.15, "rate_confidence": 1.0,
        "svi": {"a": 0.0021, "b": 0.0416, "rho": -0.29, "m": -0.026, "sigma": 0.0626,
                "forward": 95776.67, "tau": 0.0252},
        "vol_confidence": 0.95,
        "mark_vols": {"BTC-20250228-100000-C": 0.4538}}]}

``forward`` is the expiry's whole forward; ``forward_fixed`` the part already
fixed by the settlement average in the last 30 minutes (Derive's forward feed
gives both portions; 0 before the window). An option's vol is read from its
expiry's SVI slice when ``svi`` is given (as Derive's vol feed does), else
from ``mark_vols`` [our choice]. Every bad or missing field is an
:class:`~spanlike.params.errors.InvalidInputError` (portfolio) or
:class:`~spanlike.params.errors.MarketDataError` (market) naming it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from spanlike.loaders import load_json, parse_decimal, show_value
from spanlike.params.errors import InvalidInputError, MarketDataError

__all__ = ["DeriveOption", "DerivePortfolio", "DeriveExpiry", "DeriveSvi", "DeriveFeed", "DeriveMarket",
           "read_portfolio", "read_market", "parse_option_name", "EXPIRY_HOUR_UTC"]

EXPIRY_HOUR_UTC = 8
_OPTION = re.compile(r"^([A-Z0-9]+)-(\d{8})-(\d+(?:\.\d+)?)-([CP])$")
_PERP = re.compile(r"^([A-Z0-9]+)-PERP$")
_MAX_ABS = 1e12

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class DeriveOption:
    """One option holding: expiry (unix seconds), strike (USDC), call or put, signed amount (coins)."""

    name: str
    expiry: int
    strike: float
    is_call: bool
    amount: float


@dataclass(frozen=True)
class DerivePortfolio:
    """A Derive subaccount for one currency (module docstring). Amounts signed, long > 0."""

    currency: str
    cash: float
    options: tuple[DeriveOption, ...]
    perp_amount: float = 0.0
    perp_unrealised_pnl: float = 0.0
    perp_funding: float = 0.0
    collaterals: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class DeriveSvi:
    """Raw SVI slice ``w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))`` with its reference forward and tau (years)."""

    a: float
    b: float
    rho: float
    m: float
    sigma: float
    forward: float
    tau: float


@dataclass(frozen=True)
class DeriveExpiry:
    """One expiry's feeds (module docstring)."""

    expiry: int
    forward: float
    forward_fixed: float
    forward_confidence: float
    rate: float
    rate_confidence: float
    vol_confidence: float
    svi: DeriveSvi | None
    mark_vols: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DeriveFeed:
    """A price with its feed confidence in [0, 1]."""

    price: float
    confidence: float


@dataclass(frozen=True)
class DeriveMarket:
    """Derive's feeds at one valuation time (module docstring)."""

    currency: str
    timestamp: int
    spot: DeriveFeed
    stable: DeriveFeed
    perp: DeriveFeed | None
    collaterals: Mapping[str, DeriveFeed]
    expiries: Mapping[int, DeriveExpiry]


def _number(value: object, where: str, err: type[Exception], *, positive: bool = False, unit: bool = False,
            finite_any: bool = False) -> float:
    if isinstance(value, bool) or value is None:
        x = None
    elif isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str):
        x = parse_decimal(value.strip())
    else:
        x = None
    if x is None or not math.isfinite(x) or abs(x) > _MAX_ABS:
        raise err(f"{where} must be a finite number (a JSON number or a decimal string). Got {show_value(value)}.")
    if positive and x <= 0.0:
        raise err(f"{where} must be positive. Got {show_value(value)}.")
    if unit and not 0.0 <= x <= 1.0:
        raise err(f"{where} is a feed confidence and must lie in [0, 1]. Got {show_value(value)}.")
    return x


def _get(obj: Mapping[str, Any], key: str, where: str, err: type[Exception]) -> Any:
    if not isinstance(obj, Mapping):
        raise err(f"{where} must be a JSON object. Got {show_value(obj)}.")
    if key not in obj or obj[key] is None:
        raise err(f"{where} has no '{key}'; add it (see spanlike.venues.derive.inputs for the format).")
    return obj[key]


def parse_option_name(name: str, *, where: str) -> tuple[str, int, float, bool]:
    """``BTC-20250228-100000-C`` -> (currency, expiry unix seconds at 08:00 UTC, strike, is_call)."""
    m = _OPTION.match(name)
    if m is None:
        raise InvalidInputError(
            f"{where}: {show_value(name)} is not a Derive option name such as 'BTC-20250228-100000-C'."
        )
    try:
        day = dt.datetime.strptime(m.group(2), "%Y%m%d").replace(hour=EXPIRY_HOUR_UTC, tzinfo=dt.timezone.utc)
    except ValueError:
        raise InvalidInputError(f"{where}: {name!r} has no valid date (YYYYMMDD).") from None
    strike = float(m.group(3))
    if strike <= 0.0:
        raise InvalidInputError(f"{where}: {name!r} has a strike of 0; strikes are positive.")
    return m.group(1), int(day.timestamp()), strike, m.group(4) == "C"


def read_portfolio(path_or_obj: PathLike | Mapping[str, Any]) -> DerivePortfolio:
    """A :class:`DerivePortfolio` from a file or a decoded mapping (module docstring).

    Raises
    ------
    InvalidInputError
        A missing or bad field, named with the position index.
    """
    data = path_or_obj if isinstance(path_or_obj, Mapping) else load_json(path_or_obj, what="Derive portfolio")
    err = InvalidInputError
    currency = _get(data, "currency", "The Derive portfolio", err)
    if not isinstance(currency, str) or not currency.isalnum():
        raise err(f"The Derive portfolio's 'currency' must be a name such as 'BTC'. Got {show_value(currency)}.")
    cash = _number(data.get("cash", 0.0), "The Derive portfolio's 'cash'", err)
    collaterals: dict[str, float] = {}
    raw_coll = data.get("collaterals", [])
    if not isinstance(raw_coll, list):
        raise err(f"The Derive portfolio's 'collaterals' must be a list. Got {show_value(raw_coll)}.")
    for i, c in enumerate(raw_coll):
        where = f"collaterals[{i}]"
        asset = _get(c, "asset_name", where, err)
        if not isinstance(asset, str) or not asset:
            raise err(f"{where}.asset_name must be an asset name such as 'BTC'. Got {show_value(asset)}.")
        amount = _number(_get(c, "amount", where, err), f"{where}.amount", err)
        if asset == "USDC":
            cash += amount
            continue
        if amount < 0.0:
            raise err(f"{where}.amount of {asset} is {amount!r}; a collateral balance cannot be negative.")
        if asset in collaterals:
            raise err(f"{where}: {asset} is listed twice; give one balance per asset.")
        collaterals[asset] = amount
    positions = _get(data, "positions", "The Derive portfolio", err)
    if not isinstance(positions, list):
        raise err(f"The Derive portfolio's 'positions' must be a list. Got {show_value(positions)}.")
    options: dict[str, DeriveOption] = {}
    perp = perp_pnl = perp_funding = 0.0
    seen_perp = False
    for i, p in enumerate(positions):
        where = f"positions[{i}]"
        name = _get(p, "instrument_name", where, err)
        if not isinstance(name, str):
            raise err(f"{where}.instrument_name must be a string. Got {show_value(name)}.")
        amount = _number(_get(p, "amount", where, err), f"{where}.amount", err)
        pm = _PERP.match(name)
        if pm is not None:
            if pm.group(1) != currency:
                raise err(f"{where}: {name} is not a {currency} perpetual; margin one currency per portfolio.")
            if seen_perp:
                raise err(f"{where}: {name} is listed twice; give its net amount once.")
            seen_perp = True
            perp = amount
            perp_pnl = _number(p.get("unrealized_pnl", 0.0), f"{where}.unrealized_pnl", err)
            perp_funding = _number(p.get("pending_funding", 0.0), f"{where}.pending_funding", err)
            continue
        ccy, expiry, strike, is_call = parse_option_name(name, where=f"{where}.instrument_name")
        if ccy != currency:
            raise err(f"{where}: {name} is not a {currency} option; margin one currency per portfolio.")
        if name in options:
            raise err(f"{where}: {name} is listed twice; give its net amount once.")
        if amount != 0.0:
            options[name] = DeriveOption(name=name, expiry=expiry, strike=strike, is_call=is_call, amount=amount)
    return DerivePortfolio(currency=currency, cash=cash, options=tuple(options.values()), perp_amount=perp,
                           perp_unrealised_pnl=perp_pnl, perp_funding=perp_funding,
                           collaterals=tuple(collaterals.items()))


def _feed(obj: Any, where: str) -> DeriveFeed:
    err = MarketDataError
    return DeriveFeed(price=_number(_get(obj, "price", where, err), f"{where}.price", err, positive=True),
                      confidence=_number(obj.get("confidence", 1.0), f"{where}.confidence", err, unit=True))


def read_market(path_or_obj: PathLike | Mapping[str, Any]) -> DeriveMarket:
    """A :class:`DeriveMarket` from a file or a decoded mapping (module docstring).

    Raises
    ------
    MarketDataError
        A missing or bad field, named with its expiry index.
    """
    data = path_or_obj if isinstance(path_or_obj, Mapping) else load_json(path_or_obj, what="Derive market")
    err = MarketDataError
    currency = _get(data, "currency", "The Derive market", err)
    if not isinstance(currency, str) or not currency.isalnum():
        raise err(f"The Derive market's 'currency' must be a name such as 'BTC'. Got {show_value(currency)}.")
    ts = _number(_get(data, "timestamp", "The Derive market", err), "The Derive market's 'timestamp'", err,
                 positive=True)
    if ts > 1e11:  # milliseconds, as Derive's API stamps its tickers
        ts /= 1000.0
    spot = _feed(_get(data, "spot", "The Derive market", err), "spot")
    stable = _feed(data["stable"], "stable") if data.get("stable") is not None else DeriveFeed(1.0, 1.0)
    perp = _feed(data["perp"], "perp") if data.get("perp") is not None else None
    raw_coll = data.get("collaterals", {})
    if not isinstance(raw_coll, Mapping):
        raise err(f"The Derive market's 'collaterals' must be an object keyed by asset. Got {show_value(raw_coll)}.")
    collaterals = {str(k): _feed(v, f"collaterals.{k}") for k, v in raw_coll.items()}
    raw_exp = data.get("expiries", [])
    if not isinstance(raw_exp, list):
        raise err(f"The Derive market's 'expiries' must be a list. Got {show_value(raw_exp)}.")
    expiries: dict[int, DeriveExpiry] = {}
    for i, e in enumerate(raw_exp):
        where = f"expiries[{i}]"
        expiry = int(_number(_get(e, "expiry", where, err), f"{where}.expiry", err, positive=True))
        if expiry in expiries:
            raise err(f"{where}: expiry {expiry} is listed twice.")
        forward = _number(_get(e, "forward", where, err), f"{where}.forward", err, positive=True)
        fixed = _number(e.get("forward_fixed", 0.0), f"{where}.forward_fixed", err)
        if not 0.0 <= fixed <= forward:
            raise err(f"{where}.forward_fixed must lie in [0, forward={forward!r}]. Got {fixed!r}.")
        svi = None
        if e.get("svi") is not None:
            s = e["svi"]
            w = f"{where}.svi"
            svi = DeriveSvi(
                a=_number(_get(s, "a", w, err), f"{w}.a", err),
                b=_number(_get(s, "b", w, err), f"{w}.b", err),
                rho=_number(_get(s, "rho", w, err), f"{w}.rho", err),
                m=_number(_get(s, "m", w, err), f"{w}.m", err),
                sigma=_number(_get(s, "sigma", w, err), f"{w}.sigma", err),
                forward=_number(_get(s, "forward", w, err), f"{w}.forward", err, positive=True),
                tau=_number(_get(s, "tau", w, err), f"{w}.tau", err, positive=True),
            )
            if svi.b < 0.0 or not -1.0 < svi.rho < 1.0 or svi.sigma <= 0.0:
                raise err(f"{w}: SVI needs b >= 0, -1 < rho < 1 and sigma > 0. Got b={svi.b!r}, rho={svi.rho!r}, "
                          f"sigma={svi.sigma!r}.")
        marks = e.get("mark_vols", {})
        if not isinstance(marks, Mapping):
            raise err(f"{where}.mark_vols must be an object keyed by instrument name. Got {show_value(marks)}.")
        mark_vols = {str(k): _number(v, f"{where}.mark_vols.{k}", err, positive=True) for k, v in marks.items()}
        expiries[expiry] = DeriveExpiry(
            expiry=expiry, forward=forward, forward_fixed=fixed,
            forward_confidence=_number(e.get("forward_confidence", 1.0), f"{where}.forward_confidence", err, unit=True),
            rate=_number(e.get("rate", 0.0), f"{where}.rate", err),
            rate_confidence=_number(e.get("rate_confidence", 1.0), f"{where}.rate_confidence", err, unit=True),
            vol_confidence=_number(e.get("vol_confidence", 1.0), f"{where}.vol_confidence", err, unit=True),
            svi=svi, mark_vols=mark_vols,
        )
    return DeriveMarket(currency=currency, timestamp=int(round(ts)), spot=spot, stable=stable, perp=perp,
                        collaterals=collaterals, expiries=expiries)
