"""The instrument table and position resolution.

References: times are hand-counted seconds (written out below); option values
come from vollib's Black-76 (``vollib.black.black``), independent of
``risk_arrays.pricing``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from vollib.black import black

from spanlike import params
from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE
from spanlike.errors import (
    ExpiredInstrumentError,
    InvalidInstrumentError,
    MarketDataError,
    MissingMarketDataError,
    UnknownInstrumentError,
)
from spanlike.instruments import make_instrument, parse_instrument
from spanlike.market import InstrumentQuote, MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.universe import build_instrument_table, resolve_positions, table_for_portfolio

DATA = Path(__file__).parent / "data"
DEMO = Path(__file__).parents[1] / "spanlike" / "data"
UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 24, 8, tzinfo=UTC)
CRYPTO_SPAN = params.load("crypto-span")
DERIBIT_STYLE = params.load("deribit-style")


def _market(quotes: dict[str, InstrumentQuote], *, t: dt.datetime = T0, index: dict | None = None) -> MarketSnapshot:
    return MarketSnapshot(valuation_time=t, index_prices=index if index is not None else {"BTC": 95000.0, "ETH": 3400.0,
                                                                                         "SOL": 180.0}, quotes=quotes)


@pytest.fixture(scope="module")
def demo_market() -> MarketSnapshot:
    return MarketSnapshot.from_json(DEMO / "demo_market.json")


@pytest.fixture(scope="module")
def demo_book() -> Portfolio:
    return Portfolio.from_csv(DEMO / "demo_portfolio.csv")


# --------------------------------------------------------------------------- ordering and rows


def test_rows_sorted_by_commodity_expiry_strike_right_and_deduplicated() -> None:
    market = MarketSnapshot.from_json(DATA / "linear_market.json")
    names = ["SOL_USDC-PERPETUAL", "ETH_USDC-25DEC26-3400-C", "BTC_USDC-26MAR27", "ETH-25DEC26-3400-C",
             "ETH_USDC-25DEC26-3000-P", "ETH_USDC-25DEC26-3400-C", parse_instrument("SOL_USDC-PERPETUAL")]
    table = build_instrument_table(instruments=names, market=market, parameter_set=CRYPTO_SPAN)
    # crypto-span orders BTC, ETH, BTC_USDC, ETH_USDC, SOL_USDC.
    assert table.names == ("ETH-25DEC26-3400-C", "BTC_USDC-26MAR27", "ETH_USDC-25DEC26-3000-P",
                           "ETH_USDC-25DEC26-3400-C", "SOL_USDC-PERPETUAL")
    assert table.commodity == ("ETH", "BTC_USDC", "ETH_USDC", "ETH_USDC", "SOL_USDC")
    assert len(table) == 5 and table.index_of("SOL_USDC-PERPETUAL") == 4
    assert table.rows_of_commodity("ETH_USDC").tolist() == [2, 3]


def test_demo_order_within_commodity(demo_market: MarketSnapshot, demo_book: Portfolio) -> None:
    table = table_for_portfolio(demo_book, market=demo_market, parameter_set=CRYPTO_SPAN)
    btc = [n for n, c in zip(table.names, table.commodity) if c == "BTC"]
    assert btc == [
        "BTC-PERPETUAL",  # perpetual first
        "BTC-27NOV26-95000-C", "BTC-27NOV26-95000-P",  # same strike: call before put
        "BTC-25DEC26", "BTC-25DEC26-80000-P", "BTC-25DEC26-110000-C",  # future first, then by strike
        "BTC-29JAN27-100000-C", "BTC-29JAN27-115000-C",
        "BTC-26MAR27", "BTC-26MAR27-85000-P",
        "BTC-25JUN27", "BTC-25JUN27-130000-C",
    ]
    assert table.commodity.index("ETH") == len(btc)  # BTC rows before ETH rows


def test_row_contents_inverse_and_linear() -> None:
    market = MarketSnapshot.from_json(DATA / "linear_market.json")
    table = build_instrument_table(instruments=["ETH-25DEC26-3400-C", "ETH_USDC-25DEC26-3400-C", "SOL_USDC-PERPETUAL",
                                                "BTC_USDC-26MAR27"], market=market, parameter_set=CRYPTO_SPAN)
    c = table.contracts
    i_inv, i_lin = table.index_of("ETH-25DEC26-3400-C"), table.index_of("ETH_USDC-25DEC26-3400-C")
    i_sol, i_btc = table.index_of("SOL_USDC-PERPETUAL"), table.index_of("BTC_USDC-26MAR27")
    assert c.inverse.tolist() == [True, False, False, False]
    assert c.kind[[i_inv, i_lin, i_sol, i_btc]].tolist() == [KIND_CALL, KIND_CALL, KIND_FUTURE, KIND_FUTURE]
    assert c.forward[[i_inv, i_lin, i_sol, i_btc]].tolist() == [3415.9, 3415.9, 180.05, 96925.0]
    assert c.strike[[i_inv, i_lin, i_sol, i_btc]].tolist() == [3400.0, 3400.0, 0.0, 0.0]
    assert c.vol[[i_inv, i_lin]].tolist() == [0.68, 0.68]
    # mark_value: coin for the inverse option, USDC for the linear one, 0 for futures.
    assert table.mark_value.tolist()[i_inv] == 0.0811
    assert table.mark_value[[i_lin, i_sol, i_btc]].tolist() == [277.0, 0.0, 0.0]
    assert table.index_price[[i_inv, i_lin, i_sol, i_btc]].tolist() == [3400.0, 3400.0, 180.0, 95000.0]
    assert table.days_to_expiry[i_sol] == 0.0 and c.t_years[i_sol] == 0.0
    assert table.days_to_expiry[i_btc] == 122.0
    assert c.rate.tolist() == [0.0] * 4 and c.multiplier.tolist() == [1.0] * 4
    assert table.implied_vol_rows == ()
    with pytest.raises(ValueError):
        table.mark_value[0] = 1.0  # read-only: the table is shared across accounts


def test_time_in_years_to_the_second() -> None:
    t = dt.datetime(2026, 11, 24, 13, 45, 17, tzinfo=UTC)
    market = _market({"BTC-25DEC26": InstrumentQuote(mark_price=95485.0),
                      "BTC-25DEC26-80000-P": InstrumentQuote(mark_price=0.0133, mark_iv=0.6, underlying_price=95485.0)}, t=t)
    table = build_instrument_table(instruments=["BTC-25DEC26-80000-P", "BTC-25DEC26"], market=market,
                                   parameter_set=DERIBIT_STYLE)
    # 24 Nov 13:45:17 -> 25 Dec 08:00:00 = 30 days 18 h 14 min 43 s.
    seconds = 30 * 86400 + 18 * 3600 + 14 * 60 + 43
    np.testing.assert_allclose(table.contracts.t_years, seconds / (365 * 86400), rtol=0, atol=1e-15)
    np.testing.assert_allclose(table.days_to_expiry, seconds / 86400, rtol=0, atol=1e-12)
    assert table.valuation_time == t


def test_model_mark_value_when_only_mark_iv_is_quoted() -> None:
    f, k, vol = 95485.0, 110000.0, 0.5047
    seconds = 31 * 86400
    market = _market({"BTC-25DEC26-110000-C": InstrumentQuote(mark_iv=vol, underlying_price=f),
                      "ETH_USDC-25DEC26-3000-P": InstrumentQuote(mark_iv=0.74, underlying_price=3415.9)})
    table = build_instrument_table(instruments=["BTC-25DEC26-110000-C", "ETH_USDC-25DEC26-3000-P"], market=market,
                                   parameter_set=CRYPTO_SPAN)
    t = seconds / (365 * 86400)
    expected_coin = black("c", f, k, t, 0.0, vol) / f  # inverse: USD value / forward
    expected_usdc = black("p", 3415.9, 3000.0, t, 0.0, 0.74)
    np.testing.assert_allclose(table.mark_value, [expected_coin, expected_usdc], rtol=1e-10)


# --------------------------------------------------------------------------- implied vol


def test_implied_vol_round_trip_inverse_and_linear() -> None:
    pytest.importorskip("spanlike.risk_arrays.implied_vol")
    t = 31 / 365
    f_btc, f_eth = 95485.0, 3415.9
    vols = {"BTC-25DEC26-80000-P": 0.6123456789, "BTC-25DEC26-110000-C": 0.4987654321,
            "ETH_USDC-25DEC26-3000-P": 0.7411111111}
    # Marks generated at known vols (vollib Black-76, unrounded): coin for inverse, USDC for linear.
    quotes = {
        "BTC-25DEC26-80000-P": InstrumentQuote(mark_price=black("p", f_btc, 80000.0, t, 0.0, vols["BTC-25DEC26-80000-P"]) / f_btc,
                                               underlying_price=f_btc),
        "BTC-25DEC26-110000-C": InstrumentQuote(mark_price=black("c", f_btc, 110000.0, t, 0.0, vols["BTC-25DEC26-110000-C"]) / f_btc,
                                                underlying_price=f_btc),
        "ETH_USDC-25DEC26-3000-P": InstrumentQuote(mark_price=black("p", f_eth, 3000.0, t, 0.0, vols["ETH_USDC-25DEC26-3000-P"]),
                                                   underlying_price=f_eth),
        "BTC-25DEC26": InstrumentQuote(mark_price=f_btc),
    }
    table = build_instrument_table(instruments=list(quotes), market=_market(quotes), parameter_set=CRYPTO_SPAN)
    for name, vol in vols.items():
        assert table.contracts.vol[table.index_of(name)] == pytest.approx(vol, abs=1e-8)
    assert set(table.implied_vol_rows) == set(vols)
    # The quoted mark stays the mark value (no re-pricing).
    assert table.mark_value[table.index_of("BTC-25DEC26-80000-P")] == quotes["BTC-25DEC26-80000-P"].mark_price


def test_implied_vol_from_linear_fixture() -> None:
    pytest.importorskip("spanlike.risk_arrays.implied_vol")
    market = MarketSnapshot.from_json(DATA / "linear_market.json")
    table = build_instrument_table(instruments=["ETH_USDC-25DEC26-3000-P"], market=market, parameter_set=CRYPTO_SPAN)
    # The fixture's mark 115.7 USDC is Black-76 at 74 % rounded to 0.1 USDC: the implied vol is within 0.01 %.
    assert table.contracts.vol[0] == pytest.approx(0.74, abs=1e-4)
    assert table.implied_vol_rows == ("ETH_USDC-25DEC26-3000-P",)


def test_implied_vol_impossible_price_is_an_error() -> None:
    pytest.importorskip("spanlike.risk_arrays.implied_vol")
    from spanlike.errors import ImpliedVolatilityError

    # A 60,000 call with the forward at 95,485 is worth at least 35,485 USD = 0.3716 BTC: 0.1 BTC is below intrinsic.
    market = _market({"BTC-25DEC26-60000-C": InstrumentQuote(mark_price=0.1, underlying_price=95485.0)})
    with pytest.raises(ImpliedVolatilityError, match="BTC-25DEC26-60000-C"):
        build_instrument_table(instruments=["BTC-25DEC26-60000-C"], market=market, parameter_set=CRYPTO_SPAN)


# --------------------------------------------------------------------------- commodity assignment


@pytest.mark.parametrize("parameter_set", [CRYPTO_SPAN, DERIBIT_STYLE], ids=["crypto-span", "deribit-style"])
def test_demo_book_under_both_bundled_sets(parameter_set, demo_market: MarketSnapshot, demo_book: Portfolio) -> None:
    table = table_for_portfolio(demo_book, market=demo_market, parameter_set=parameter_set)
    assert len(table) == 19
    for ins, cc in zip(table.instruments, table.commodity):
        assert cc == ins.underlying  # coin-settled BTC and ETH -> combined commodities "BTC" and "ETH"
    assert set(table.commodity) == {"BTC", "ETH"}
    assert table.contracts.inverse.all()


def test_linear_instrument_outside_the_parameter_set() -> None:
    market = MarketSnapshot.from_json(DATA / "linear_market.json")
    with pytest.raises(InvalidInstrumentError) as info:
        build_instrument_table(instruments=["SOL_USDC-PERPETUAL"], market=market, parameter_set=DERIBIT_STYLE)
    msg = str(info.value)
    assert "SOL_USDC-PERPETUAL (SOL settled in USDC)" in msg and "deribit-style@" in msg
    assert "BTC (BTC/BTC), ETH (ETH/ETH)" in msg


def test_one_name_two_definitions() -> None:
    a = parse_instrument("BTC-25DEC26")
    b = make_instrument(underlying="BTC", kind="future", expiry=a.expiry, settlement_currency="BTC", multiplier=10,
                        name="BTC-25DEC26")
    with pytest.raises(InvalidInstrumentError, match="Two different instruments are both named 'BTC-25DEC26'"):
        build_instrument_table(instruments=[a, b], market=_market({}), parameter_set=CRYPTO_SPAN)


# --------------------------------------------------------------------------- bad inputs


def test_expired_instrument() -> None:
    market = _market({"BTC-27NOV26": InstrumentQuote(mark_price=95000.0)}, t=dt.datetime(2026, 11, 27, 8, tzinfo=UTC))
    with pytest.raises(ExpiredInstrumentError) as info:
        build_instrument_table(instruments=["BTC-27NOV26"], market=market, parameter_set=CRYPTO_SPAN)
    assert str(info.value) == (
        "Instrument BTC-27NOV26 expired at 2026-11-27T08:00:00+00:00, at or before the valuation time "
        "2026-11-27T08:00:00+00:00. Remove the position or use market data from before the expiry."
    )


@pytest.mark.parametrize(
    "name, quote, index, fragment",
    [
        ("BTC-25DEC26-80000-P", None, None, "No market data for BTC-25DEC26-80000-P"),
        ("BTC-25DEC26", None, None, "Add a quote with mark_price"),
        ("BTC-25DEC26-80000-P", InstrumentQuote(mark_price=0.0133, mark_iv=0.6), None,
         "The 'underlying_price' of BTC-25DEC26-80000-P is absent"),
        ("BTC-25DEC26-80000-P", InstrumentQuote(underlying_price=95485.0), None,
         "Both 'mark_iv' and 'mark_price' of BTC-25DEC26-80000-P are absent"),
        ("BTC-PERPETUAL", InstrumentQuote(mark_iv=0.5), None, "The 'mark_price' of BTC-PERPETUAL is absent"),
        ("BTC-PERPETUAL", InstrumentQuote(mark_price=95010.0), {"ETH": 3400.0},
         "The index price of BTC is absent (needed for BTC-PERPETUAL)"),
    ],
)
def test_missing_market_data(name: str, quote: InstrumentQuote | None, index: dict | None, fragment: str) -> None:
    market = _market({name: quote} if quote is not None else {}, index=index)
    with pytest.raises(MissingMarketDataError) as info:
        build_instrument_table(instruments=[name], market=market, parameter_set=CRYPTO_SPAN)
    assert fragment in str(info.value)
    assert isinstance(info.value, KeyError) and isinstance(info.value, MarketDataError)


def test_unknown_instrument() -> None:
    market = _market({"BTC-PERPETUAL": InstrumentQuote(mark_price=95010.0)})
    table = build_instrument_table(instruments=["BTC-PERPETUAL"], market=market, parameter_set=CRYPTO_SPAN)
    with pytest.raises(UnknownInstrumentError, match="'BTC-25DEC26' is not in the instrument table"):
        table.index_of("BTC-25DEC26")
    with pytest.raises(UnknownInstrumentError):
        resolve_positions(Portfolio.from_positions([("BTC-25DEC26", 1, "coin")]), table=table)


# --------------------------------------------------------------------------- resolve_positions


def test_resolve_converts_usd_futures_to_coin_and_sorts(demo_market: MarketSnapshot, demo_book: Portfolio) -> None:
    table = table_for_portfolio(demo_book, market=demo_market, parameter_set=DERIBIT_STYLE)
    rows, qty, notes = resolve_positions(demo_book, table=table)
    assert rows.dtype == np.intp and qty.dtype == np.float64 and notes == ()
    assert rows.tolist() == sorted(rows.tolist()) == list(range(19))
    by_name = dict(zip((table.names[i] for i in rows), qty.tolist()))
    # USD notional / futures mark (USD): -250,000 / 95,485 BTC; the perpetual at its mark 95,010.
    assert by_name["BTC-25DEC26"] == pytest.approx(-250000 / 95485.0, rel=1e-15)
    assert by_name["BTC-PERPETUAL"] == pytest.approx(-150000 / 95010.0, rel=1e-15)
    assert by_name["BTC-25JUN27"] == pytest.approx(295160 / 98385.0, rel=1e-15)  # the covered call's ~3 BTC
    assert by_name["ETH-PERPETUAL"] == pytest.approx(100000 / 3400.35, rel=1e-15)
    assert by_name["BTC-25DEC26-80000-P"] == -5.0  # options stay in coin


def test_resolve_nets_usd_and_coin_rows_of_one_future() -> None:
    market = _market({"BTC-PERPETUAL": InstrumentQuote(mark_price=95010.0),
                      "BTC-25DEC26": InstrumentQuote(mark_price=95485.0),
                      "BTC-25DEC26-80000-P": InstrumentQuote(mark_price=0.0133, mark_iv=0.6054, underlying_price=95485.0)})
    book = Portfolio.from_positions([
        ("BTC-25DEC26-80000-P", -5),
        ("BTC-PERPETUAL", -95010.0, "usd"),  # exactly -1 BTC at the mark ...
        ("BTC-PERPETUAL", 1.0, "coin"),  # ... so these two net to zero
        ("BTC-25DEC26", -190970.0, "usd"),  # -2 BTC
        ("BTC-25DEC26", 0.5, "coin"),
    ])
    assert len(book) == 5  # different units do not net in the portfolio
    table = table_for_portfolio(book, market=market, parameter_set=CRYPTO_SPAN)
    rows, qty, notes = resolve_positions(book, table=table)
    assert [table.names[i] for i in rows] == ["BTC-25DEC26", "BTC-25DEC26-80000-P"]
    np.testing.assert_allclose(qty, [-1.5, -5.0], rtol=1e-15)
    assert len(notes) == 1 and notes[0].startswith("BTC-PERPETUAL: the positions in USD and coin net to zero")


def test_resolve_uses_the_multiplier_for_usd_sizes() -> None:
    expiry = dt.datetime(2027, 3, 26, 8, tzinfo=UTC)
    ins = make_instrument(underlying="BTC", kind="future", expiry=expiry, settlement_currency="BTC", multiplier=0.1,
                          name="BTC-MINI-MAR27")
    market = _market({"BTC-MINI-MAR27": InstrumentQuote(mark_price=96925.0)})
    book = Portfolio.from_positions([(ins, 96925.0, "usd")])
    table = table_for_portfolio(book, market=market, parameter_set=CRYPTO_SPAN)
    _, qty, _ = resolve_positions(book, table=table)
    assert qty.tolist() == [10.0]  # 1 BTC of notional = 10 contracts of 0.1 BTC


def test_resolve_rejects_a_differently_defined_instrument() -> None:
    market = _market({"BTC-25DEC26": InstrumentQuote(mark_price=95485.0)})
    table = build_instrument_table(instruments=["BTC-25DEC26"], market=market, parameter_set=CRYPTO_SPAN)
    other = make_instrument(underlying="BTC", kind="future", expiry=parse_instrument("BTC-25DEC26").expiry,
                            settlement_currency="BTC", multiplier=2.0, name="BTC-25DEC26")
    with pytest.raises(UnknownInstrumentError, match="defined differently"):
        resolve_positions(Portfolio.from_positions([(other, 1, "coin")]), table=table)


def test_empty_portfolio() -> None:
    book = Portfolio.from_positions([])
    table = table_for_portfolio(book, market=_market({}), parameter_set=CRYPTO_SPAN)
    rows, qty, notes = resolve_positions(book, table=table)
    assert len(table) == 0 and rows.shape == (0,) and qty.shape == (0,) and notes == ()
