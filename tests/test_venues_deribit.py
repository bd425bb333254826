"""The Deribit venue: its naming adapter, payload readers and standard margin behind the core's names.

Name forms and their fields are Deribit's published naming (see
spanlike/venues/deribit/naming.py); the old public entry points
(``parse_instrument``, ``make_instrument``, ``Portfolio.from_deribit_positions``,
``MarketSnapshot.from_deribit_book_summary``, ``spanlike.efficiency.standard_margin``)
must give exactly what the venue module gives. The format-specific cases
(every name form, every payload error) are in test_instruments.py,
test_portfolio.py and test_market.py, which call the public wrappers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from spanlike.efficiency.isolated import standard_margin as efficiency_standard_margin
from spanlike.instruments import make_instrument, parse_instrument
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.venues import get_venue
from spanlike.venues.deribit import VENUE, format_name, parse_name, standard_margin
from spanlike.venues.deribit.book_summary import is_book_summary_payload, read_book_summary
from spanlike.venues.deribit.naming import EXPIRY_HOUR_UTC
from spanlike.venues.deribit.positions import is_positions_payload, read_positions

DATA = Path(__file__).parent / "data"
UTC = dt.timezone.utc

NAMES = [
    "BTC-PERPETUAL", "BTC-27DEC24", "BTC-3JAN25", "BTC-27DEC24-60000-C", "ETH_USDC-27DEC24-3000-P",
    "SOL_USDC-PERPETUAL", "BTC_USDC-28MAR25", "XRP_USDC-30JUN25-0d625-C", "BTC-29FEB28-100000-P",
]


def test_venue_declares_its_conventions() -> None:
    assert get_venue("deribit") is VENUE
    assert VENUE.expiry_time_utc == dt.time(8, 0) and EXPIRY_HOUR_UTC == 8
    assert VENUE.standard_margin is standard_margin
    assert efficiency_standard_margin is standard_margin


@pytest.mark.parametrize("name", NAMES)
def test_parse_and_format_round_trip(name: str) -> None:
    ins = parse_name(name)
    assert ins == parse_instrument(name) == parse_instrument(name, venue="deribit")
    assert format_name(ins) == name
    assert make_instrument(underlying=ins.underlying, kind=ins.kind, expiry=ins.expiry, strike=ins.strike,
                           right=ins.right, settlement_currency=ins.settlement_currency, venue="deribit") == ins


def test_expiry_at_eight_utc() -> None:
    assert parse_name("BTC-27DEC24").expiry == dt.datetime(2024, 12, 27, EXPIRY_HOUR_UTC, tzinfo=UTC)


def test_old_constant_still_importable() -> None:
    from spanlike.instruments import DERIBIT_EXPIRY_HOUR_UTC

    assert DERIBIT_EXPIRY_HOUR_UTC == EXPIRY_HOUR_UTC


def test_payload_shapes() -> None:
    assert is_positions_payload({"jsonrpc": "2.0", "result": []})
    assert is_positions_payload([{"instrument_name": "BTC-PERPETUAL", "size": 1.0}])
    assert not is_positions_payload({"account": "a", "positions": []})
    assert not is_positions_payload([])
    assert is_book_summary_payload({"result": []})
    assert not is_book_summary_payload([{"instrument_name": "BTC-PERPETUAL"}])


def test_readers_behind_the_old_entry_points() -> None:
    f = DATA / "deribit_positions_btc.json"
    assert read_positions(f, account="main") == Portfolio.from_deribit_positions(f, account="main")
    options, futures = DATA / "deribit_book_summary_btc_options.json", DATA / "deribit_book_summary_btc_futures.json"
    a, b = read_book_summary(options, futures), MarketSnapshot.from_deribit_book_summary(options, futures)
    assert (a.valuation_time, dict(a.index_prices), dict(a.quotes)) == (b.valuation_time, dict(b.index_prices), dict(b.quotes))


def test_standard_margin_short_put_by_hand() -> None:
    from spanlike import params

    rules = params.load("deribit-style").isolated.rules_for("BTC")  # type: ignore[union-attr]
    # Coin-settled short put, S 95,485, K 80,000 (OTM 15,485 -> 0.15 - 0.162 < 0.10 floor), mark 0.0133 BTC, 2 coins:
    # MM per coin max(0.075, 0.075 x 0.0133) + 0.0133 = 0.0883; IM per coin max(0.10 + 0.0133, 0.0883) = 0.1133.
    im, mm = standard_margin(rule="short put", size=2.0, unit_value=1.0, underlying_price=95_485.0,
                             strike=80_000.0, mark=0.0133, options=rules.options)  # type: ignore[union-attr]
    assert im == pytest.approx(2 * 0.1133, rel=1e-12)
    assert mm == pytest.approx(2 * 0.0883, rel=1e-12)
