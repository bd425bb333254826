"""Portfolios: units, netting, zero-drop notes, every file format and every bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from spanlike.errors import InputFileError, InvalidInstrumentError, InvalidPositionError
from spanlike.instruments import parse_instrument
from spanlike.portfolio import Portfolio, Position

DATA = Path(__file__).parent / "data"
DEMO = Path(__file__).parents[1] / "spanlike" / "data"


def _as_tuples(p: Portfolio) -> list[tuple[str, float, str]]:
    return [(x.instrument.name, x.quantity, x.unit) for x in p.positions]


# --------------------------------------------------------------------------- units


def test_units_default_and_required() -> None:
    p = Portfolio.from_positions([
        ("BTC-25DEC26-110000-C", -5),
        ("ETH_USDC-25DEC26-3400-C", 2),
        ("SOL_USDC-PERPETUAL", -10),
        ("BTC-PERPETUAL", -150000, "usd"),
        ("BTC-25DEC26", 1.5, "coin"),
    ])
    assert _as_tuples(p) == [
        ("BTC-25DEC26-110000-C", -5.0, "coin"),
        ("ETH_USDC-25DEC26-3400-C", 2.0, "coin"),
        ("SOL_USDC-PERPETUAL", -10.0, "coin"),
        ("BTC-PERPETUAL", -150000.0, "usd"),
        ("BTC-25DEC26", 1.5, "coin"),
    ]


def test_missing_unit_for_inverse_future_is_an_error() -> None:
    with pytest.raises(InvalidPositionError) as info:
        Portfolio.from_positions([("BTC-25DEC26-110000-C", -5), ("BTC-PERPETUAL", -150000)])
    msg = str(info.value)
    assert "position #1" in msg and "BTC-PERPETUAL" in msg
    assert "'usd'" in msg and "'coin'" in msg


@pytest.mark.parametrize("name", ["BTC-25DEC26-110000-C", "ETH_USDC-25DEC26-3400-C", "SOL_USDC-PERPETUAL"])
def test_usd_unit_is_invalid_for_options_and_linear(name: str) -> None:
    with pytest.raises(InvalidPositionError, match="unit 'usd' applies only to coin-settled futures and perpetuals"):
        Portfolio.from_positions([(name, 1, "usd")])


def test_unknown_unit() -> None:
    with pytest.raises(InvalidPositionError, match="must be 'coin' or 'usd'. Got 'contracts'"):
        Portfolio.from_positions([("BTC-PERPETUAL", 10, "contracts")])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_quantity(bad: float) -> None:
    with pytest.raises(InvalidPositionError) as info:
        Portfolio.from_positions([("BTC-25DEC26-110000-C", 1), ("BTC-29JAN27-100000-C", bad)])
    assert "position #1" in str(info.value) and "BTC-29JAN27-100000-C" in str(info.value)
    assert "finite" in str(info.value)


def test_non_numeric_quantity() -> None:
    with pytest.raises(InvalidPositionError, match="must be a number. Got '5'"):
        Portfolio.from_positions([("BTC-25DEC26-110000-C", "5")])
    with pytest.raises(InvalidPositionError, match="must be a number. Got True"):
        Portfolio.from_positions([("BTC-25DEC26-110000-C", True)])


def test_position_constructor_validates() -> None:
    ins = parse_instrument("BTC-25DEC26")
    with pytest.raises(InvalidPositionError, match="'usd' .* or 'coin'"):
        Position(ins, 1.0, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidPositionError, match="finite"):
        Position(ins, float("nan"), "usd")
    pos = Position(ins, 3, "usd")
    assert pos.quantity == 3.0 and isinstance(pos.quantity, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pos.quantity = 1.0  # type: ignore[misc]


def test_bad_position_entries() -> None:
    with pytest.raises(InvalidPositionError, match="expected a Position or a tuple"):
        Portfolio.from_positions([("BTC-PERPETUAL",)])
    with pytest.raises(InvalidInstrumentError, match="position #0: Instrument 'BTC-XYZ'"):
        Portfolio.from_positions([("BTC-XYZ", 1)])


# --------------------------------------------------------------------------- netting


def test_duplicates_net_and_zero_is_dropped_with_note() -> None:
    p = Portfolio.from_positions([
        ("BTC-25DEC26-110000-C", -5),
        ("BTC-PERPETUAL", -100000, "usd"),
        ("BTC-25DEC26-110000-C", -2.5),
        ("BTC-25DEC26-80000-P", 0.1),
        ("BTC-25DEC26-80000-P", 0.2),
        ("BTC-25DEC26-80000-P", -0.3),  # 0.1 + 0.2 - 0.3 is 5.6e-17 in floats: still zero
        ("BTC-PERPETUAL", 2, "coin"),  # another unit: netted later, at the futures price
    ], account="desk-1")
    assert p.account == "desk-1"
    assert _as_tuples(p) == [
        ("BTC-25DEC26-110000-C", -7.5, "coin"),
        ("BTC-PERPETUAL", -100000.0, "usd"),
        ("BTC-PERPETUAL", 2.0, "coin"),
    ]
    assert len(p.notes) == 1
    assert "BTC-25DEC26-80000-P (coin): 3 positions at position #3, position #4, position #5 net to zero" in p.notes[0]
    assert [i.name for i in p.instruments] == ["BTC-25DEC26-110000-C", "BTC-PERPETUAL"]


def test_single_zero_position_is_dropped_with_note() -> None:
    p = Portfolio.from_positions([("BTC-25DEC26-110000-C", 0.0), ("BTC-25DEC26-80000-P", 1)])
    assert len(p) == 1
    assert p.notes == ("BTC-25DEC26-110000-C (coin) at position #0 has quantity 0 and was dropped.",)


def test_one_name_two_definitions_is_an_error() -> None:
    from spanlike.instruments import make_instrument

    a = parse_instrument("BTC-25DEC26")
    b = make_instrument(underlying="BTC", kind="future", expiry=a.expiry, settlement_currency="BTC",
                        multiplier=2.0, name="BTC-25DEC26")
    with pytest.raises(InvalidPositionError, match="one name must mean one contract"):
        Portfolio.from_positions([(a, 1, "coin"), (b, 1, "coin")])


def test_constructor_rejects_duplicates() -> None:
    pos = Position(parse_instrument("BTC-25DEC26-110000-C"), 1.0, "coin")
    with pytest.raises(InvalidPositionError, match="appears twice"):
        Portfolio(account="a", positions=(pos, pos))


# --------------------------------------------------------------------------- CSV


def test_demo_csv() -> None:
    p = Portfolio.from_csv(DEMO / "demo_portfolio.csv")
    assert len(p) == 19 and p.notes == ()
    assert ("BTC-PERPETUAL", -150000.0, "usd") in _as_tuples(p)
    assert ("ETH-25DEC26-2800-P", -50.0, "coin") in _as_tuples(p)
    assert Portfolio.from_file(DEMO / "demo_portfolio.csv") == p


def test_csv_without_unit_column_and_empty_unit_cells(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("Instrument, Quantity\n\nBTC-25DEC26-110000-C,-5\n# comment\nSOL_USDC-PERPETUAL,10\n")
    assert _as_tuples(Portfolio.from_csv(f)) == [("BTC-25DEC26-110000-C", -5.0, "coin"), ("SOL_USDC-PERPETUAL", 10.0, "coin")]
    assert _as_tuples(Portfolio.from_csv(DATA / "linear_portfolio.csv"))[0] == ("ETH_USDC-25DEC26-3400-C", -12.5, "coin")


def test_csv_account_column_is_rejected() -> None:
    with pytest.raises(InputFileError) as info:
        Portfolio.from_csv(DATA / "bad_portfolio_account_column.csv")
    msg = str(info.value)
    assert "bad_portfolio_account_column.csv line 1" in msg and "['account']" in msg
    assert "one account" in msg and "instrument,quantity,unit" in msg


def test_csv_missing_unit_names_line() -> None:
    with pytest.raises(InvalidPositionError) as info:
        Portfolio.from_csv(DATA / "bad_portfolio_missing_unit.csv")
    msg = str(info.value)
    assert "bad_portfolio_missing_unit.csv line 3" in msg and "BTC-25DEC26" in msg and "'usd'" in msg


def test_csv_nan_quantity_names_line_and_instrument() -> None:
    with pytest.raises(InvalidPositionError) as info:
        Portfolio.from_csv(DATA / "bad_portfolio_nan.csv")
    assert "line 3" in str(info.value) and "BTC-29JAN27-100000-C" in str(info.value) and "nan" in str(info.value)


@pytest.mark.parametrize(
    "text, fragment, error",
    [
        ("", "is empty", InputFileError),
        ("instrument\nBTC-PERPETUAL\n", "must name each of 'instrument' and 'quantity'", InputFileError),
        ("instrument,quantity,quantity\nBTC-PERPETUAL,1,2\n", "must name each of", InputFileError),
        ("instrument,quantity,unit\nBTC-PERPETUAL,1\n", "line 2: expected 3 cells", InputFileError),
        ("instrument,quantity,unit\nBTC-PERPETUAL,ten,usd\n", "line 2: the quantity of BTC-PERPETUAL must be a number like -2.5. Got 'ten'", InputFileError),
        ("instrument,quantity,unit\nBTC-PERP,1,usd\n", "line 2: Instrument 'BTC-PERP'", InvalidInstrumentError),
        ("instrument,quantity,unit\nBTC-PERPETUAL,inf,usd\n", "line 2: the quantity of BTC-PERPETUAL must be a finite number", InvalidPositionError),
    ],
)
def test_csv_errors(tmp_path: Path, text: str, fragment: str, error: type) -> None:
    f = tmp_path / "p.csv"
    f.write_text(text)
    with pytest.raises(error) as info:
        Portfolio.from_csv(f)
    assert fragment in str(info.value)


def test_missing_file_and_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        Portfolio.from_csv(tmp_path / "nope.csv")
    f = tmp_path / "book.txt"
    f.write_text("x")
    with pytest.raises(InputFileError, match=r"unknown suffix '\.txt'"):
        Portfolio.from_file(f)


# --------------------------------------------------------------------------- JSON


def test_json_our_form_with_explicit_instrument(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({
        "account": "desk-7",
        "positions": [
            {"instrument": "BTC-25DEC26-110000-C", "quantity": -5},
            {"instrument": "BTC-PERPETUAL", "quantity": -150000, "unit": "usd"},
            {"instrument": {"underlying": "BTC", "kind": "future", "expiry": "2027-03-26T08:00:00Z",
                            "settlement_currency": "USDC"}, "quantity": 2},
            {"instrument": {"underlying": "ETH", "kind": "option", "expiry": "2026-12-25T09:00:00+01:00",
                            "strike": 3400, "right": "put", "settlement_currency": "ETH"}, "quantity": 1},
        ],
    }))
    p = Portfolio.from_json(f)
    assert p.account == "desk-7"
    assert _as_tuples(p) == [
        ("BTC-25DEC26-110000-C", -5.0, "coin"),
        ("BTC-PERPETUAL", -150000.0, "usd"),
        ("BTC_USDC-26MAR27", 2.0, "coin"),
        ("ETH-25DEC26-3400-P", 1.0, "coin"),
    ]
    assert p.positions[3].instrument == parse_instrument("ETH-25DEC26-3400-P")
    assert Portfolio.from_file(f) == p


def test_json_bare_list(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text('[{"instrument": "ETH-PERPETUAL", "quantity": 100, "unit": "usd"}]')
    p = Portfolio.from_json(f)
    assert p.account == "default" and _as_tuples(p) == [("ETH-PERPETUAL", 100.0, "usd")]


@pytest.mark.parametrize(
    "payload, fragment, error",
    [
        ({"account": "a", "positions": [], "extra": 1}, "Unknown keys: ['extra']", InputFileError),
        ({"account": "a"}, "'positions' present: False", InputFileError),
        ({"account": "", "positions": []}, "'account' must be a non-empty string", InputFileError),
        ({"positions": {"a": 1}}, "'positions' must be a list", InputFileError),
        ({"positions": ["BTC-PERPETUAL"]}, "positions[0]: each position must be an object", InputFileError),
        ({"positions": [{"instrument": "BTC-PERPETUAL", "qty": 1}]}, "unknown ['qty'], missing ['quantity']", InputFileError),
        ({"positions": [{"instrument": "BTC-PERPETUAL", "quantity": None, "unit": "usd"}]}, "must be a number. Got None", InvalidPositionError),
        ({"positions": [{"instrument": 5, "quantity": 1}]}, "positions[0]: an instrument must be a Deribit name", InvalidInstrumentError),
        ({"positions": [{"instrument": {"underlying": "BTC", "kind": "future", "expiry": "2027-03-26T08:00:00",
                                        "settlement_currency": "BTC"}, "quantity": 1, "unit": "coin"}]},
         "has no UTC offset", InvalidInstrumentError),
        ({"positions": [{"instrument": {"underlying": "BTC", "kind": "option", "expiry": "2027-03-26T08:00:00Z",
                                        "settlement_currency": "BTC", "right": "call"}, "quantity": 1}]},
         "needs a positive finite 'strike'", InvalidInstrumentError),
        ({"positions": [{"instrument": {"underlying": "BTC", "kind": "future", "maturity": "x",
                                        "settlement_currency": "BTC"}, "quantity": 1}]},
         "unknown instrument key(s) ['maturity']", InvalidInstrumentError),
    ],
)
def test_json_errors(tmp_path: Path, payload: object, fragment: str, error: type) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps(payload))
    with pytest.raises(error) as info:
        Portfolio.from_json(f)
    assert fragment in str(info.value)
    assert "p.json" in str(info.value)


def test_json_syntax_error_names_line_and_column() -> None:
    with pytest.raises(InputFileError, match=r"bad_syntax.json is not valid JSON: .* at line 2, column"):
        Portfolio.from_json(DATA / "bad_syntax.json")


# --------------------------------------------------------------------------- Deribit


def test_deribit_positions() -> None:
    p = Portfolio.from_deribit_positions(DATA / "deribit_positions_btc.json", account="main")
    assert p.account == "main"
    assert _as_tuples(p) == [
        ("BTC-25DEC26-110000-C", -5.0, "coin"),
        ("BTC-29JAN27-100000-C", 10.0, "coin"),
        ("BTC-25DEC26", -250000.0, "usd"),  # Deribit's size of a coin-settled future is USD
        ("BTC-PERPETUAL", -150000.0, "usd"),
    ]
    assert len(p.notes) == 1 and "BTC-26MAR27-85000-P" in p.notes[0]


def test_from_file_detects_deribit_shape() -> None:
    via_file = Portfolio.from_file(DATA / "deribit_positions_btc.json")
    assert _as_tuples(via_file) == _as_tuples(Portfolio.from_deribit_positions(DATA / "deribit_positions_btc.json"))


def test_deribit_linear_future_and_bare_list() -> None:
    p = Portfolio.from_deribit_positions([
        {"instrument_name": "SOL_USDC-PERPETUAL", "size": -40.0, "kind": "future", "direction": "sell"},
        {"instrument_name": "ETH_USDC-25DEC26-3400-C", "size": 2.0, "kind": "option", "direction": "buy"},
    ])
    assert _as_tuples(p) == [("SOL_USDC-PERPETUAL", -40.0, "coin"), ("ETH_USDC-25DEC26-3400-C", 2.0, "coin")]


@pytest.mark.parametrize(
    "obj, fragment, error",
    [
        ({"jsonrpc": "2.0", "error": {"code": 13009, "message": "unauthorized"}}, "is an error response", InputFileError),
        ({"jsonrpc": "2.0", "result": {"x": 1}}, "with a list 'result'", InputFileError),
        ({"result": [{"instrument_name": "BTC-PERPETUAL"}]}, "result[0]: each entry needs 'instrument_name' and 'size'", InputFileError),
        ({"result": [{"instrument_name": "BTC-PERPETUAL", "size": "10"}]}, "'size' of BTC-PERPETUAL must be a number", InputFileError),
        ({"result": [{"instrument_name": "BTC-PERPETUAL", "size": 10.0, "kind": "option"}]}, "'kind' 'option' contradicts", InputFileError),
        ({"result": [{"instrument_name": "BTC-PERPETUAL", "size": 10.0, "direction": "sell"}]}, "does not match the signed 'size'", InputFileError),
        ({"result": [{"instrument_name": "BTC-PERPETUAL", "size": float("nan")}]}, "finite", InvalidPositionError),
        ({"result": [{"instrument_name": "BTC-FS-25DEC26_PERP", "size": 10.0}]}, "combination instruments", InvalidInstrumentError),
    ],
)
def test_deribit_errors(obj: object, fragment: str, error: type) -> None:
    with pytest.raises(error) as info:
        Portfolio.from_deribit_positions(obj)  # type: ignore[arg-type]
    assert fragment in str(info.value)
