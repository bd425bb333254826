"""Instrument parsing (default-venue names, read by spanlike.venues.deribit.naming), explicit construction and time to expiry."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE, KIND_PUT
from spanlike.errors import InvalidInputError, InvalidInstrumentError
from spanlike.instruments import Instrument, make_instrument, parse_instrument

UTC = dt.timezone.utc


def _at8(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "name, underlying, kind, right, expiry, strike, settlement, ccy",
    [
        ("BTC-PERPETUAL", "BTC", "perpetual", None, None, None, "coin", "BTC"),
        ("BTC-27DEC24", "BTC", "future", None, _at8(2024, 12, 27), None, "coin", "BTC"),
        ("BTC-3JAN25", "BTC", "future", None, _at8(2025, 1, 3), None, "coin", "BTC"),
        ("BTC-27DEC24-60000-C", "BTC", "option", "call", _at8(2024, 12, 27), 60000.0, "coin", "BTC"),
        ("ETH-5JAN25-3300-P", "ETH", "option", "put", _at8(2025, 1, 5), 3300.0, "coin", "ETH"),
        ("ETH_USDC-27DEC24-3000-P", "ETH", "option", "put", _at8(2024, 12, 27), 3000.0, "linear", "USDC"),
        ("SOL_USDC-PERPETUAL", "SOL", "perpetual", None, None, None, "linear", "USDC"),
        ("BTC_USDC-28MAR25", "BTC", "future", None, _at8(2025, 3, 28), None, "linear", "USDC"),
        ("XRP_USDC-30JUN25-0d625-C", "XRP", "option", "call", _at8(2025, 6, 30), 0.625, "linear", "USDC"),
        ("BTC-29FEB28-100000-P", "BTC", "option", "put", _at8(2028, 2, 29), 100000.0, "coin", "BTC"),
    ],
)
def test_parse_every_name_form(name, underlying, kind, right, expiry, strike, settlement, ccy) -> None:
    ins = parse_instrument(name)
    assert (ins.name, ins.underlying, ins.kind, ins.right, ins.expiry, ins.strike) == (
        name, underlying, kind, right, expiry, strike
    )
    assert (ins.settlement, ins.settlement_currency, ins.multiplier) == (settlement, ccy, 1.0)
    assert ins.is_option == (kind == "option")
    assert ins.is_call == (right == "call")
    assert ins.is_inverse == (settlement == "coin")


def test_kernel_kind() -> None:
    assert parse_instrument("BTC-PERPETUAL").kernel_kind == KIND_FUTURE
    assert parse_instrument("BTC-27DEC24").kernel_kind == KIND_FUTURE
    assert parse_instrument("BTC-27DEC24-60000-C").kernel_kind == KIND_CALL
    assert parse_instrument("BTC-27DEC24-60000-P").kernel_kind == KIND_PUT


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("", "empty or has surrounding spaces"),
        (" BTC-PERPETUAL", "empty or has surrounding spaces"),
        ("BTC", "no '-' separated expiry or PERPETUAL part"),
        ("btc-27dec24", "Did you mean 'BTC-27DEC24'?"),
        ("BTC-27XYZ24", "month 'XYZ' is not one of"),
        ("BTC-2024DEC27", "is not a Deribit date DMMMYY"),
        ("BTC-27DEC2024", "is not a Deribit date DMMMYY"),
        ("BTC-07DEC24", "leading zero"),
        ("BTC-31FEB25-1-C", "'31FEB25' is not a calendar date"),
        ("BTC-27DEC24-6.5-C", "Deribit writes the decimal point as 'd'"),
        ("BTC-27DEC24-abc-C", "the strike 'abc'"),
        ("BTC-27DEC24-0-C", "the strike '0' must be positive"),
        ("BTC-27DEC24-60000-X", "right 'X' must be 'C' (call) or 'P' (put)"),
        ("BTC-27DEC24-60000", "has 3 '-' separated parts"),
        ("BTC-27DEC24-60000-C-X", "has 5 '-' separated parts"),
        ("BTC_BTC-PERPETUAL", "without the '_BTC' suffix"),
        ("BTC_-PERPETUAL", "must be UNDERLYING or UNDERLYING_SETTLEMENT"),
        ("BTC_USDC_X-PERPETUAL", "must be UNDERLYING or UNDERLYING_SETTLEMENT"),
        ("BTC-FS-27DEC24_PERP", "combination instruments (FS) are not supported"),
        ("BTC-PERP", "is not a Deribit date DMMMYY"),
    ],
)
def test_malformed_names(name: str, fragment: str) -> None:
    with pytest.raises(InvalidInstrumentError) as info:
        parse_instrument(name)
    msg = str(info.value)
    assert fragment in msg
    assert repr(name) in msg
    if name.strip():
        assert "Expected" in msg  # every message shows the expected form


def test_parse_rejects_non_string() -> None:
    with pytest.raises(InvalidInstrumentError, match="must be a string"):
        parse_instrument(123)  # type: ignore[arg-type]


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        parse_instrument("nonsense")


# --------------------------------------------------------------------------- make_instrument


def test_make_instrument_derives_deribit_name_and_settlement() -> None:
    ins = make_instrument(underlying="BTC", kind="option", expiry=_at8(2024, 12, 27), strike=60000,
                          right="call", settlement_currency="BTC")
    assert ins == parse_instrument("BTC-27DEC24-60000-C")
    lin = make_instrument(underlying="XRP", kind="option", expiry=_at8(2025, 6, 30), strike=0.625,
                          right="call", settlement_currency="USDC")
    assert lin == parse_instrument("XRP_USDC-30JUN25-0d625-C")
    perp = make_instrument(underlying="SOL", kind="perpetual", expiry=None, settlement_currency="USDC")
    assert perp == parse_instrument("SOL_USDC-PERPETUAL")
    assert make_instrument(underlying="ETH", kind="future", expiry=_at8(2025, 1, 3),
                           settlement_currency="ETH").name == "ETH-3JAN25"


def test_make_instrument_converts_to_utc_and_names_off_hour_expiry() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    ins = make_instrument(underlying="BTC", kind="future", expiry=dt.datetime(2024, 12, 27, 17, 0, tzinfo=cet),
                          settlement_currency="USD", multiplier=5)
    assert ins.expiry == dt.datetime(2024, 12, 27, 16, 0, tzinfo=UTC)
    assert ins.name == "BTC_USD-27DEC24T160000Z"
    assert ins.settlement == "linear"
    assert ins.multiplier == 5.0 and isinstance(ins.multiplier, float)


def test_make_instrument_keeps_given_name() -> None:
    ins = make_instrument(underlying="BTC", kind="future", expiry=_at8(2025, 3, 28), settlement_currency="USD",
                          name="CME-BTC-MAR25")
    assert ins.name == "CME-BTC-MAR25"


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(kind="option", strike=None, right="call"), "needs a positive finite 'strike'"),
        (dict(kind="option", strike=-1.0, right="call"), "needs a positive finite 'strike'"),
        (dict(kind="option", strike=float("nan"), right="call"), "needs a positive finite 'strike'"),
        (dict(kind="option", strike=100.0, right=None), "needs 'right' 'call' or 'put'"),
        (dict(kind="option", strike=100.0, right="C"), "needs 'right' 'call' or 'put'"),
        (dict(kind="future", strike=100.0), "only options have a 'strike'"),
        (dict(kind="future", right="call"), "only options have a 'right'"),
        (dict(kind="perpetual"), "a perpetual has no expiry"),
        (dict(kind="future", expiry=None), "needs 'expiry' as a timezone-aware datetime"),
        (dict(kind="future", expiry=dt.datetime(2024, 12, 27, 8)), "must be timezone-aware"),
        (dict(kind="future", expiry="2024-12-27"), "must be a timezone-aware datetime"),
        (dict(kind="swap"), "'kind' must be 'future', 'perpetual' or 'option'"),
        (dict(kind="future", multiplier=0.0), "'multiplier' must be a positive finite"),
        (dict(kind="future", multiplier=float("inf")), "'multiplier' must be a positive finite"),
        (dict(kind="future", underlying="btc"), "'underlying' must be an upper-case currency code"),
        (dict(kind="future", settlement_currency=""), "'settlement_currency' must be an upper-case"),
    ],
)
def test_make_instrument_validation(kwargs: dict, fragment: str) -> None:
    base = dict(underlying="BTC", expiry=_at8(2024, 12, 27), settlement_currency="BTC")
    base.update(kwargs)
    with pytest.raises(InvalidInstrumentError) as info:
        make_instrument(**base)
    assert fragment in str(info.value)


def test_constructor_checks_settlement_consistency() -> None:
    with pytest.raises(InvalidInstrumentError, match="coin-settled exactly when"):
        Instrument("X-PERPETUAL", "BTC", "perpetual", None, None, None, "coin", "USDC")
    with pytest.raises(InvalidInstrumentError, match="must be in UTC"):
        Instrument("X", "BTC", "future", None, dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                   None, "coin", "BTC")


def test_instrument_is_frozen_and_hashable() -> None:
    ins = parse_instrument("BTC-PERPETUAL")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ins.name = "x"  # type: ignore[misc]
    assert {ins: 1}[parse_instrument("BTC-PERPETUAL")] == 1


# --------------------------------------------------------------------------- time to expiry


def test_time_to_expiry_act365_to_the_second() -> None:
    ins = parse_instrument("BTC-27DEC24-60000-C")
    t0 = dt.datetime(2024, 11, 24, 13, 45, 17, tzinfo=UTC)
    # Hand count: 24 Nov 13:45:17 -> 27 Dec 08:00:00 = 32 days 18 h 14 min 43 s.
    seconds = 32 * 86400 + 18 * 3600 + 14 * 60 + 43
    assert ins.days_to_expiry(t0) == pytest.approx(seconds / 86400, rel=0, abs=1e-12)
    assert ins.years_to_expiry(t0) == pytest.approx(seconds / (365 * 86400), rel=0, abs=1e-15)
    # Other offsets give the same instant.
    t0_ny = t0.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert ins.years_to_expiry(t0_ny) == ins.years_to_expiry(t0)


def test_time_to_expiry_negative_after_expiry_and_zero_for_perpetual() -> None:
    ins = parse_instrument("BTC-27DEC24")
    assert ins.days_to_expiry(dt.datetime(2024, 12, 28, 8, tzinfo=UTC)) == -1.0
    assert parse_instrument("BTC-PERPETUAL").years_to_expiry(dt.datetime(2030, 1, 1, tzinfo=UTC)) == 0.0


def test_time_to_expiry_rejects_naive_time() -> None:
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        parse_instrument("BTC-27DEC24").days_to_expiry(dt.datetime(2024, 11, 24))
