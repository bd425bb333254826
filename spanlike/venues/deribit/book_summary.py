"""Deribit ``public/get_book_summary_by_currency`` responses, read as they come.

Unit conversions to :mod:`spanlike.market`'s: ``mark_iv`` is divided by 100
(Deribit quotes percent); ``creation_timestamp`` is milliseconds since the
epoch (UTC); the index price of an underlying is the ``estimated_delivery_price``
of its latest entry. Options keep ``underlying_price`` (the USD forward);
futures and perpetuals are valued at their ``mark_price`` (USD).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Mapping

from spanlike.loaders import PathLike, load_json, show_value
from spanlike.market import PLAUSIBLE_IV, InstrumentQuote, MarketSnapshot, check_index_price, check_quote_value
from spanlike.params.errors import InputFileError, InvalidInstrumentError, MarketDataError
from spanlike.venues.deribit.naming import parse_name

__all__ = ["read_book_summary", "is_book_summary_payload"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

#: Plausible ``creation_timestamp`` range, ms since the epoch: 2000-01-01 to
#: 2200-01-01 UTC (Deribit opened in 2016; seconds or microseconds given by
#: mistake fall outside).
TIMESTAMP_RANGE_MS: tuple[int, int] = (946_684_800_000, 7_258_118_400_000)


def is_book_summary_payload(data: Any) -> bool:
    """True for decoded JSON in a JSON-RPC envelope (``jsonrpc`` or ``result`` keys)."""
    return isinstance(data, dict) and ("result" in data or "jsonrpc" in data)


def read_book_summary(
    path_or_obj: PathLike | Mapping[str, Any] | list[Any],
    *more: PathLike | Mapping[str, Any] | list[Any],
) -> MarketSnapshot:
    """Read one or several Deribit ``public/get_book_summary_by_currency`` responses.

    Parameters
    ----------
    path_or_obj, *more : path, dict or list
        JSON files or decoded responses ``{"jsonrpc": "2.0", "result":
        [{"instrument_name", "mark_price", "mark_iv", "underlying_price",
        "estimated_delivery_price", "creation_timestamp", ...}]}`` (a bare
        ``result`` list is accepted), e.g. BTC options and BTC futures.

    Returns
    -------
    MarketSnapshot
        ``mark_iv`` divided by 100 (Deribit quotes percent); the index
        price of each underlying is the ``estimated_delivery_price`` of its
        latest entry (largest ``creation_timestamp``); the valuation time
        is the largest ``creation_timestamp`` (ms since the epoch, UTC).
        Options keep ``underlying_price``; futures and perpetuals are
        valued at their ``mark_price`` and get no ``underlying_price``.

    Raises
    ------
    InputFileError
        Wrong shape, an ``error`` response, missing fields, an instrument
        quoted twice or a name that is not a Deribit instrument.
    MarketDataError
        Invalid values.
    """
    quotes: dict[str, InstrumentQuote] = {}
    seen: dict[str, str] = {}
    index: dict[str, tuple[int, float]] = {}
    latest: int | None = None
    for obj in (path_or_obj, *more):
        if isinstance(obj, (str, os.PathLike)):
            src = str(obj)
            data = load_json(Path(obj), what="Market")
        else:
            src, data = "<deribit>", obj
        if isinstance(data, Mapping):
            if "error" in data:
                raise InputFileError(
                    f"Deribit book summary {src} is an error response: {show_value(data['error'], limit=200)}. "
                    "Fetch it again."
                )
            items = data.get("result")
        else:
            items = data
        if not isinstance(items, list):
            raise InputFileError(
                f"Deribit book summary {src}: expected {{\"jsonrpc\": \"2.0\", \"result\": [...]}} as returned by "
                "public/get_book_summary_by_currency."
            )
        for i, item in enumerate(items):
            where = f"Deribit book summary {src} result[{i}]"
            if not isinstance(item, Mapping):
                raise InputFileError(f"{where}: each entry must be an object. Got {show_value(item)}.")
            missing = [k for k in ("instrument_name", "mark_price", "estimated_delivery_price", "creation_timestamp")
                       if k not in item]
            if missing:
                raise InputFileError(f"{where}: missing field(s) {missing}.")
            name = item["instrument_name"]
            try:
                ins = parse_name(name)
            except InvalidInstrumentError as err:
                raise InputFileError(f"{where}: {err} Fetch the summary with kind=option or kind=future.") from None
            if name in seen:
                raise InputFileError(f"{where}: {name} is also in {seen[name]}; give each instrument once.")
            seen[name] = where
            ts = item["creation_timestamp"]
            if isinstance(ts, bool) or not isinstance(ts, int) or not TIMESTAMP_RANGE_MS[0] <= ts <= TIMESTAMP_RANGE_MS[1]:
                raise InputFileError(
                    f"{where}: 'creation_timestamp' of {name} must be integer milliseconds since 1970 between "
                    f"{TIMESTAMP_RANGE_MS[0]} (2000-01-01) and {TIMESTAMP_RANGE_MS[1]} (2200-01-01). Got {show_value(ts)}."
                )
            iv = item.get("mark_iv") if ins.is_option else None
            if iv is not None:
                if isinstance(iv, bool) or not isinstance(iv, (int, float)):
                    raise MarketDataError(
                        f"{where}: the 'mark_iv' of {name} must be a number in percent. Got {show_value(iv)}."
                    )
                lo, hi = (100.0 * b for b in PLAUSIBLE_IV)
                # Only the top is checked in percent (the reader's own unit); the rest after the
                # division, by check_quote_value, like every other reader's.
                if (not isinstance(iv, float) and abs(iv) > 10**6) or iv > hi:
                    raise MarketDataError(
                        f"{where}: the 'mark_iv' of {name} is {show_value(iv)} percent (Deribit quotes percent), "
                        f"outside the plausible range [{lo:g}, {hi:g}] %. Check the number."
                    )
                iv = iv / 100.0
            try:
                quotes[name] = InstrumentQuote(
                    mark_price=check_quote_value(name, "mark_price", item["mark_price"]),
                    mark_iv=check_quote_value(name, "mark_iv", iv),
                    underlying_price=check_quote_value(name, "underlying_price", item.get("underlying_price")) if ins.is_option else None,
                )
                idx = check_index_price(ins.underlying, item["estimated_delivery_price"])
            except MarketDataError as err:
                raise MarketDataError(f"{where}: {err}") from None
            if ins.underlying not in index or ts >= index[ins.underlying][0]:
                index[ins.underlying] = (ts, idx)
            latest = ts if latest is None else max(latest, ts)
    if latest is None:
        raise InputFileError("Deribit book summary: no instruments in the given response(s).")
    vt = _EPOCH + dt.timedelta(milliseconds=latest)
    return MarketSnapshot(valuation_time=vt, index_prices={k: v[1] for k, v in index.items()}, quotes=quotes)
