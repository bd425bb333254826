"""Request bodies of the JSON API (frozen, strict, unknown fields refused).

Field checks beyond the JSON types (instrument names, units, finite
quantities, market values) are the library's, so a bad value gets the same
message as on the command line. Quantities are signed (positive long / buy,
negative short / sell) in ``unit``: ``coin`` (default for options and linear
contracts) or ``usd`` (coin-settled futures and perpetuals, where a unit is
required).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountCreate", "Balances", "FillIn", "Fills", "KeyCreate", "MarginRequest", "MarketUpdate", "MaxOrderRequest",
    "OrderIn", "ParameterSetChange", "PositionIn", "Positions", "WhatIfRequest",
]

_ID = r"^[A-Za-z0-9_.:@-]{1,64}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class PositionIn(_Model):
    """A position: instrument name, signed quantity, unit."""

    instrument: str = Field(min_length=1, max_length=64, description="a venue instrument name, e.g. BTC-PERPETUAL")
    quantity: float = Field(description="signed quantity in unit (positive long, negative short)")
    unit: Literal["coin", "usd"] | None = Field(None, description="coin or usd (usd for coin-settled futures)")


class OrderIn(PositionIn):
    """An order: like a position, positive buys and negative sells."""


class FillIn(PositionIn):
    """A fill with the client's id (a fill id is applied at most once per account)."""

    fill_id: str = Field(pattern=_ID, description="the client's fill id: 1-64 of A-Z a-z 0-9 _ . : @ -")


class AccountCreate(_Model):
    """A new account with optional positions and balances."""

    account: str = Field(pattern=_ID, description="account id: 1-64 of A-Z a-z 0-9 _ . : @ -")
    positions: list[PositionIn] = Field(default_factory=list, max_length=10_000)
    balances: dict[str, float] = Field(default_factory=dict, description="currency -> amount, e.g. {\"USDC\": 25000}")


class Positions(_Model):
    """Every position of an account (replaces the ones held)."""

    positions: list[PositionIn] = Field(max_length=10_000)


class Balances(_Model):
    """Equity/collateral balances, currency -> amount (replaces the ones held)."""

    balances: dict[str, float] = Field(description="currency -> amount; USD/USDC count at 1, coins at the index")


class Fills(_Model):
    """Fills to apply, in order."""

    fills: list[FillIn] = Field(min_length=1, max_length=1_000)


class WhatIfRequest(_Model):
    """Orders to check before they are sent."""

    orders: list[OrderIn] = Field(min_length=1, max_length=100)


class MaxOrderRequest(_Model):
    """Largest order of one instrument and side within equity."""

    instrument: str = Field(min_length=1, max_length=64)
    side: Literal["buy", "sell"] = "buy"
    unit: Literal["coin", "usd"] | None = None
    measure: Literal["initial", "maintenance"] = "initial"


class MarginRequest(_Model):
    """A book to margin without storing it."""

    account: str = Field("default", pattern=_ID)
    positions: list[PositionIn] = Field(max_length=10_000)
    market: dict[str, Any] | None = Field(None, description="a snapshot in our JSON form; default: the one in force")
    parameter_set: str | None = Field(None, description="a bundled parameter set name; default: the one in force")


class MarketUpdate(_Model):
    """A market snapshot (``mode="full"``) or the changed instruments and index prices (``"changes"``)."""

    mode: Literal["full", "changes"] = "changes"
    valuation_time: str | None = Field(None, description="ISO-8601 with offset, e.g. 2026-11-24T08:05:00Z; not "
                                       "before the current one (changes: default the current one)")
    index_prices: dict[str, float] = Field(default_factory=dict, description="underlying -> USD per coin")
    instruments: list[dict[str, Any]] = Field(default_factory=list, max_length=200_000,
                                              description="quotes: instrument, mark_price, mark_iv, underlying_price")


class ParameterSetChange(_Model):
    """Switch the service to another bundled parameter set."""

    parameter_set: str = Field(min_length=1, max_length=64)


class KeyCreate(_Model):
    """A new API key."""

    role: Literal["read", "trade", "admin"]
    accounts: list[str] | None = Field(None, description="limit the key to these accounts (read and trade keys)")
    label: str = Field("", max_length=200)
