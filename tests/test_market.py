"""Market snapshots: each format (incl. Deribit's percent IV) and every bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from spanlike.errors import InputFileError, MarketDataError
from spanlike.market import InstrumentQuote, MarketSnapshot

DATA = Path(__file__).parent / "data"
DEMO = Path(__file__).parents[1] / "spanlike" / "data"
UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 24, 8, tzinfo=UTC)


def test_demo_json() -> None:
    m = MarketSnapshot.from_json(DEMO / "demo_market.json")
    assert m.valuation_time == T0
    assert dict(m.index_prices) == {"BTC": 95000.0, "ETH": 3400.0}
    q = m.quotes["BTC-25DEC26-80000-P"]
    assert q == InstrumentQuote(mark_price=0.0133, mark_iv=0.6054, underlying_price=95485.0)
    assert m.quotes["BTC-PERPETUAL"] == InstrumentQuote(mark_price=95010.0)
    assert m.quote("BTC-1JAN27") is None
    assert MarketSnapshot.from_file(DEMO / "demo_market.json").quotes == m.quotes


def test_snapshot_is_read_only() -> None:
    m = MarketSnapshot.from_json(DATA / "linear_market.json")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.valuation_time = T0  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.index_prices["BTC"] = 1.0  # type: ignore[index]


def test_from_mapping_accepts_datetime_offsets_and_null_fields() -> None:
    m = MarketSnapshot.from_mapping({
        "valuation_time": "2026-11-24T09:00:00+01:00",
        "index_prices": {"BTC": 95000},
        "instruments": [{"instrument": "BTC-25DEC26-80000-P", "mark_price": None, "mark_iv": 0.6,
                         "underlying_price": 95485}],
    })
    assert m.valuation_time == T0 and m.valuation_time.tzinfo == UTC
    assert m.quotes["BTC-25DEC26-80000-P"] == InstrumentQuote(None, 0.6, 95485.0)
    m2 = MarketSnapshot.from_mapping({"valuation_time": T0, "index_prices": {"BTC": 1.0},
                                      "instruments": {"BTC-PERPETUAL": {"mark_price": 2.0}}})
    assert m2.quotes["BTC-PERPETUAL"].mark_price == 2.0


# --------------------------------------------------------------------------- CSV


def test_csv(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text(
        "instrument,mark_price,mark_iv,underlying_price,index_price,valuation_time\n"
        "BTC-25DEC26-80000-P,0.0133,0.6054,95485,95000,2026-11-24T08:00:00Z\n"
        "BTC-25DEC26-110000-C,,0.5047,95485,95000,2026-11-24T08:00:00+00:00\n"
        "BTC-PERPETUAL,95010,,,95000,2026-11-24T08:00:00Z\n"
        "ETH-PERPETUAL,3400.35,,,3400,2026-11-24T08:00:00Z\n"
    )
    m = MarketSnapshot.from_csv(f)
    assert m.valuation_time == T0
    assert dict(m.index_prices) == {"BTC": 95000.0, "ETH": 3400.0}
    assert m.quotes["BTC-25DEC26-110000-C"] == InstrumentQuote(None, 0.5047, 95485.0)
    assert m.quotes["BTC-PERPETUAL"] == InstrumentQuote(95010.0, None, None)
    assert MarketSnapshot.from_file(f).quotes == m.quotes


_HEADER = "instrument,mark_price,mark_iv,underlying_price,index_price,valuation_time\n"


@pytest.mark.parametrize(
    "rows, fragment, error",
    [
        ("", "has a header but no rows", InputFileError),
        ("BTC-PERPETUAL,95010,,,95000\n", "line 2: expected 6 cells", InputFileError),
        ("BTC-PERPETUAL,95010,,,95000,2026-11-24T08:00:00Z\nBTC-25DEC26,95485,,,95001,2026-11-24T08:00:00Z\n",
         "line 3: index price 95001.0 of BTC disagrees with 95000.0 on line 2", InputFileError),
        ("BTC-PERPETUAL,95010,,,95000,2026-11-24T08:00:00Z\nBTC-25DEC26,95485,,,95000,2026-11-24T08:00:01Z\n",
         "line 3: valuation time 2026-11-24T08:00:01+00:00 disagrees", InputFileError),
        ("BTC-PERPETUAL,95010,,,95000,2026-11-24T08:00:00Z\nBTC-PERPETUAL,95010,,,95000,2026-11-24T08:00:00Z\n",
         "line 3: BTC-PERPETUAL appears twice", InputFileError),
        ("BTC-PERPETUAL,abc,,,95000,2026-11-24T08:00:00Z\n", "the 'mark_price' of BTC-PERPETUAL must be a number or empty. Got 'abc'", InputFileError),
        ("BTC-PERP,1,,,95000,2026-11-24T08:00:00Z\n", "line 2: Instrument 'BTC-PERP'", InputFileError),
        ("BTC-PERPETUAL,95010,,,,2026-11-24T08:00:00Z\n", "index price of BTC is empty", MarketDataError),
        ("BTC-PERPETUAL,-1,,,95000,2026-11-24T08:00:00Z\n", "The 'mark_price' of BTC-PERPETUAL must be a positive finite price", MarketDataError),
        ("BTC-PERPETUAL,95010,,,95000,2026-11-24 08:00\n", "has no UTC offset", MarketDataError),
    ],
)
def test_csv_errors(tmp_path: Path, rows: str, fragment: str, error: type) -> None:
    f = tmp_path / "m.csv"
    f.write_text(_HEADER + rows)
    with pytest.raises(error) as info:
        MarketSnapshot.from_csv(f)
    assert fragment in str(info.value)


def test_csv_bad_header(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("instrument,mark_price\nBTC-PERPETUAL,1\n")
    with pytest.raises(InputFileError, match="line 1: the header must have the columns instrument,mark_price,mark_iv"):
        MarketSnapshot.from_csv(f)


# --------------------------------------------------------------------------- Deribit


def test_deribit_book_summary_options_and_futures() -> None:
    m = MarketSnapshot.from_deribit_book_summary(
        DATA / "deribit_book_summary_btc_options.json", DATA / "deribit_book_summary_btc_futures.json"
    )
    # Valuation time = the largest creation_timestamp (ms): 1795507200000 = 2026-11-24T08:00:00Z.
    assert m.valuation_time == T0
    # Index = estimated_delivery_price of the latest entry (the futures file's).
    assert dict(m.index_prices) == {"BTC": 95000.0}
    # mark_iv is in percent at Deribit: 60.54 -> 0.6054.
    assert m.quotes["BTC-25DEC26-80000-P"] == InstrumentQuote(0.0133, pytest.approx(0.6054, abs=1e-15), 95485.0)
    assert m.quotes["BTC-25DEC26-110000-C"].mark_iv == pytest.approx(0.5047, abs=1e-15)
    # Futures keep their mark price only.
    assert m.quotes["BTC-25DEC26"] == InstrumentQuote(95485.0, None, None)
    assert m.quotes["BTC-PERPETUAL"] == InstrumentQuote(95010.0, None, None)
    assert len(m.quotes) == 7


def test_deribit_book_summary_single_file_and_dispatch() -> None:
    m = MarketSnapshot.from_file(DATA / "deribit_book_summary_btc_options.json")
    assert m.valuation_time == dt.datetime(2026, 11, 24, 7, 59, 59, 871000, tzinfo=UTC)
    assert dict(m.index_prices) == {"BTC": 94998.21}
    obj = json.loads((DATA / "deribit_book_summary_btc_options.json").read_text())
    assert MarketSnapshot.from_deribit_book_summary(obj["result"]).quotes == m.quotes


def _summary(**fields: object) -> dict:
    entry = {"instrument_name": "BTC-25DEC26-80000-P", "mark_price": 0.0133, "mark_iv": 60.54,
             "underlying_price": 95485.0, "estimated_delivery_price": 95000.0, "creation_timestamp": 1795507200000}
    entry.update(fields)
    return {"jsonrpc": "2.0", "result": [{k: v for k, v in entry.items() if v is not ...}]}


@pytest.mark.parametrize(
    "obj, fragment, error",
    [
        ({"jsonrpc": "2.0", "error": {"code": 10009, "message": "x"}}, "is an error response", InputFileError),
        ({"jsonrpc": "2.0", "result": {}}, "public/get_book_summary_by_currency", InputFileError),
        ({"jsonrpc": "2.0", "result": []}, "no instruments", InputFileError),
        (_summary(creation_timestamp=...), "missing field(s) ['creation_timestamp']", InputFileError),
        (_summary(creation_timestamp=1.5), "integer milliseconds", InputFileError),
        (_summary(instrument_name="BTC-FS-25DEC26_PERP"), "kind=option or kind=future", InputFileError),
        (_summary(mark_iv=-3.0), "The 'mark_iv' of BTC-25DEC26-80000-P must be a positive annual vol", MarketDataError),
        (_summary(mark_iv="60"), "must be a number in percent", MarketDataError),
        (_summary(mark_price=0.0), "The 'mark_price' of BTC-25DEC26-80000-P must be a positive finite price", MarketDataError),
        (_summary(estimated_delivery_price=None), "The index price of BTC must be a positive finite USD price", MarketDataError),
    ],
)
def test_deribit_errors(obj: dict, fragment: str, error: type) -> None:
    with pytest.raises(error) as info:
        MarketSnapshot.from_deribit_book_summary(obj)
    assert fragment in str(info.value)


def test_deribit_duplicate_across_files() -> None:
    f = DATA / "deribit_book_summary_btc_futures.json"
    with pytest.raises(InputFileError, match="BTC-PERPETUAL is also in"):
        MarketSnapshot.from_deribit_book_summary(f, f)


def test_deribit_absent_mark_iv_stays_absent() -> None:
    m = MarketSnapshot.from_deribit_book_summary(_summary(mark_iv=None))
    assert m.quotes["BTC-25DEC26-80000-P"].mark_iv is None


# --------------------------------------------------------------------------- validation


def test_negative_iv_file_has_exact_message() -> None:
    with pytest.raises(MarketDataError) as info:
        MarketSnapshot.from_json(DATA / "bad_market_negative_iv.json")
    assert str(info.value) == (
        "The 'mark_iv' of BTC-25DEC26-60000-C must be a positive annual vol as a decimal (0.55 = 55%). Got -0.5."
    )


def test_naive_valuation_time_file() -> None:
    with pytest.raises(MarketDataError) as info:
        MarketSnapshot.from_json(DATA / "bad_market_naive_time.json")
    assert "'valuation_time' has no UTC offset" in str(info.value)
    assert "2026-11-24T08:00:00Z" in str(info.value)  # the fix


def test_naive_datetime_in_constructor() -> None:
    with pytest.raises(MarketDataError, match="has no UTC offset"):
        MarketSnapshot(valuation_time=dt.datetime(2026, 11, 24, 8), index_prices={}, quotes={})


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("mark_price", -0.01, "The 'mark_price' of X-PERPETUAL must be a positive finite price"),
        ("mark_price", 0.0, "Got 0.0."),
        ("mark_price", float("nan"), "Got nan."),
        ("mark_iv", 0.0, "The 'mark_iv' of X-PERPETUAL must be a positive annual vol as a decimal (0.55 = 55%). Got 0.0."),
        ("mark_iv", float("inf"), "Got inf."),
        ("underlying_price", -1.0, "The 'underlying_price' of X-PERPETUAL must be a positive finite USD forward price. Got -1.0."),
        ("mark_price", "1", "Got '1'."),
    ],
)
def test_quote_values_are_validated(field: str, value: object, fragment: str) -> None:
    with pytest.raises(MarketDataError) as info:
        MarketSnapshot(valuation_time=T0, index_prices={}, quotes={"X-PERPETUAL": InstrumentQuote(**{field: value})})
    assert fragment in str(info.value)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), None])
def test_index_prices_are_validated(value: object) -> None:
    with pytest.raises(MarketDataError, match="The index price of BTC must be a positive finite USD price per coin"):
        MarketSnapshot(valuation_time=T0, index_prices={"BTC": value}, quotes={})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"valuation_time": "2026-11-24T08:00:00Z", "index_prices": {}}, "missing ['instruments']"),
        ({"valuation_time": "2026-11-24T08:00:00Z", "index_prices": {}, "instruments": [], "x": 1}, "unknown ['x']"),
        ({"valuation_time": "2026-11-24T08:00:00Z", "index_prices": [], "instruments": []}, "'index_prices' must be an object"),
        ({"valuation_time": "2026-11-24T08:00:00Z", "index_prices": {}, "instruments": [{"mark_price": 1}]},
         "instruments[0]: each entry must be an object with a string 'instrument'"),
        ({"valuation_time": "2026-11-24T08:00:00Z", "index_prices": {},
          "instruments": [{"instrument": "A", "iv": 1}]}, "unknown key(s) ['iv']"),
        ({"valuation_time": "2026-11-24T08:00:00Z", "index_prices": {},
          "instruments": [{"instrument": "A"}, {"instrument": "A"}]}, "A is quoted twice"),
    ],
)
def test_json_shape_errors(tmp_path: Path, payload: dict, fragment: str) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps(payload))
    with pytest.raises(InputFileError) as info:
        MarketSnapshot.from_json(f)
    assert fragment in str(info.value) and "m.json" in str(info.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        MarketSnapshot.from_file(tmp_path / "none.json")
    with pytest.raises(InputFileError, match="not valid JSON: .* line 2"):
        MarketSnapshot.from_file(DATA / "bad_syntax.json")
    f = tmp_path / "m.xml"
    f.write_text("<x/>")
    with pytest.raises(InputFileError, match="unknown suffix"):
        MarketSnapshot.from_file(f)
