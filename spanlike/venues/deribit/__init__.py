"""Deribit: instrument names, payload readers, standard margin, expiry convention.

=====================  ========================================================
naming                 :mod:`.naming` (``BTC-27DEC24-60000-C``, ``ETH_USDC-PERPETUAL``)
expiry convention      08:00 UTC (:data:`.naming.EXPIRY_TIME_UTC`)
positions payload      ``private/get_positions`` (:mod:`.positions`)
market payload         ``public/get_book_summary_by_currency``, IV in percent
                       (:mod:`.book_summary`)
standard margin        :mod:`.standard_margin` (numbers: a parameter set's
                       ``[isolated]`` section, e.g. ``deribit-style``)
=====================  ========================================================

The registry (:mod:`spanlike.venues`) finds this package by its ``VENUE``.
Readers import :mod:`spanlike.portfolio` and :mod:`spanlike.market`, so they
are imported on first use, not with the package.
"""

from __future__ import annotations

from typing import Any

from spanlike.venues import Venue
from spanlike.venues.deribit.naming import EXPIRY_TIME_UTC, format_name, parse_name
from spanlike.venues.deribit.standard_margin import standard_margin

__all__ = ["VENUE", "parse_name", "format_name", "standard_margin"]


def _read_positions(path_or_obj: Any, *, account: str = "default", source: str | None = None) -> Any:
    from spanlike.venues.deribit.positions import read_positions

    return read_positions(path_or_obj, account=account, source=source)


def _is_positions_payload(data: Any) -> bool:
    from spanlike.venues.deribit.positions import is_positions_payload

    return is_positions_payload(data)


def _read_market(*paths_or_objs: Any) -> Any:
    from spanlike.venues.deribit.book_summary import read_book_summary

    return read_book_summary(*paths_or_objs)


def _is_market_payload(data: Any) -> bool:
    from spanlike.venues.deribit.book_summary import is_book_summary_payload

    return is_book_summary_payload(data)


VENUE = Venue(
    name="deribit",
    title="Deribit",
    name_example="BTC-27DEC24-60000-C",
    parse_name=parse_name,
    format_name=format_name,
    expiry_time_utc=EXPIRY_TIME_UTC,
    positions_format="a Deribit get_positions response",
    is_positions_payload=_is_positions_payload,
    read_positions=_read_positions,
    market_format="a Deribit book summary",
    is_market_payload=_is_market_payload,
    read_market=_read_market,
    standard_margin=standard_margin,
)
