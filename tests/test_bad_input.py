"""Issue 16 (non-SPAN readers): each class of bad input found by fuzzing, as a minimal reproducer.

Every case failed before the fix (a traceback, a NaN/inf margin, exit 1, or
a silent guess); each now gets a typed error naming the file or field, the
value and the fix, or (where documented) a note.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import pytest

from spanlike import load_market, load_portfolio, margin
from spanlike.calibration.history import load_history
from spanlike.errors import (
    InputFileError,
    InvalidInstrumentError,
    InvalidPositionError,
    MarketDataError,
    NumericalError,
    ParameterSetError,
)
from spanlike.guards import check_result_finite
from spanlike.loaders import check_output_path, loads_json, show_value
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.universe import resolve_positions, table_for_portfolio

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "spanlike" / "data"
DATA = ROOT / "tests" / "data"
MARKET = DEMO / "demo_market.json"


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


# --------------------------------------------------------------------------- encodings and limits


@pytest.mark.parametrize("name", ["p.csv", "p.json"])
def test_non_utf8_byte_names_file_line_column_and_byte(tmp_path: Path, name: str) -> None:
    body = "instrument,quantity,unit\nBTC-PERPETUAL,1\xff,usd\n" if name.endswith("csv") else '{"positions": [\n"\xff"]}'
    p = _write(tmp_path, name, body.encode("latin-1"))
    with pytest.raises(InputFileError, match=r"line 2, column \d+: byte\(s\) 0xff are not UTF-8.*Save the file as UTF-8"):
        load_portfolio(p)


def test_csv_cell_over_field_limit_names_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.csv", "instrument,quantity,unit\n" + '"' + "x" * 140_000 + '",1,coin\n')
    with pytest.raises(InputFileError, match=r"p.csv line 2: .*longer than 131,072 characters"):
        load_portfolio(p)


def test_market_csv_cell_over_field_limit(tmp_path: Path) -> None:
    p = _write(tmp_path, "m.csv", "instrument,mark_price,mark_iv,underlying_price,index_price,valuation_time\n"
               + "x" * 140_000 + ",1,0.5,1,1,2026-01-01T00:00:00Z\n")
    with pytest.raises(InputFileError, match="m.csv line 2"):
        load_market(p)


@pytest.mark.parametrize("blob", ["[" * 100_000, '{"a":' * 100_000])
def test_json_nested_100000_deep(tmp_path: Path, blob: str) -> None:
    p = _write(tmp_path, "p.json", blob)
    with pytest.raises(InputFileError, match="nests arrays or objects too deeply"):
        load_portfolio(p)


def test_json_5000_digit_integer(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.json", '{"positions": [{"instrument": "BTC-PERPETUAL", "quantity": ' + "9" * 5000 + ', "unit": "usd"}]}')
    with pytest.raises(InputFileError, match=r"p.json: an integer of 5,000 digits \(99999"):
        load_portfolio(p)


def test_huge_integer_quantity_from_python_is_typed() -> None:
    with pytest.raises(InvalidPositionError, match="quantity of BTC-PERPETUAL.*an integer of about 401 digits"):
        Portfolio.from_mapping({"positions": [{"instrument": "BTC-PERPETUAL", "quantity": 10**400, "unit": "usd"}]})


def test_huge_integer_market_values_and_multiplier_are_typed() -> None:
    with pytest.raises(MarketDataError, match="index price of BTC"):
        MarketSnapshot.from_mapping({"valuation_time": "2026-01-01T00:00:00Z", "index_prices": {"BTC": 10**400},
                                     "instruments": []})
    with pytest.raises(InvalidInstrumentError, match="'multiplier' must be a positive finite number"):
        Portfolio.from_mapping({"positions": [{"instrument": {"underlying": "BTC", "kind": "perpetual",
                                                              "settlement_currency": "USDC", "multiplier": 10**400},
                                               "quantity": 1}]})


def test_show_value_never_fails_on_huge_ints() -> None:
    assert "digits" in show_value(10**5000)  # repr() would raise ValueError past 4,300 digits


def test_deribit_timestamp_out_of_range(tmp_path: Path) -> None:
    d = json.loads((DATA / "deribit_book_summary_btc_options.json").read_text())
    d["result"][0]["creation_timestamp"] = 10**20
    p = _write(tmp_path, "b.json", json.dumps(d))
    with pytest.raises(InputFileError, match=r"result\[0\]: 'creation_timestamp'.*between"):
        load_market([p, DATA / "deribit_book_summary_btc_futures.json"])


def test_expiry_past_year_9999_in_utc() -> None:
    with pytest.raises(InvalidInstrumentError, match="out of the range of dates"):
        Portfolio.from_mapping({"positions": [{"instrument": {"underlying": "BTC", "kind": "future",
                                                              "expiry": "9999-12-31T23:00:00-05:00",
                                                              "settlement_currency": "USDC"}, "quantity": 1}]})


# --------------------------------------------------------------------------- non-finite and out of range


def _market(**quote: float) -> dict:
    d = json.loads(MARKET.read_text())
    d["instruments"][0].update(quote)
    return d


def test_mark_of_1e_300_is_refused_with_the_range() -> None:
    with pytest.raises(MarketDataError, match=r"'mark_price' of .* is 1e-300, outside the plausible range \[1e-12, 1e\+12\]"):
        MarketSnapshot.from_mapping(_market(mark_price=1e-300))


def test_underlying_price_1e308_is_bad_input_not_numerical() -> None:
    with pytest.raises(MarketDataError, match="'underlying_price'.*1e\\+308.*plausible range") as info:
        MarketSnapshot.from_mapping(_market(underlying_price=1e308))
    assert not isinstance(info.value, NumericalError)


def test_quantity_near_1e308_is_refused_where_read(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.csv", "instrument,quantity,unit\nBTC-PERPETUAL,1e307,usd\n")
    with pytest.raises(InvalidPositionError, match=r"p.csv line 2: the quantity of BTC-PERPETUAL is 1e\+307, beyond"):
        load_portfolio(p)


def test_json_nan_and_infinity_refused(tmp_path: Path) -> None:
    p = _write(tmp_path, "m.json", MARKET.read_text().replace("95000.0", "Infinity", 1))
    with pytest.raises(InputFileError, match="m.json: Infinity is not a number JSON allows"):
        load_market(p)


def test_parameter_inf_delta_ratio_refused(tmp_path: Path) -> None:
    text = (ROOT / "params" / "sets" / "crypto-span.toml").read_text().replace("delta_ratio = 1.0", "delta_ratio = inf", 1)
    p = _write(tmp_path, "x.toml", text)
    from spanlike import params

    with pytest.raises(ParameterSetError, match=r"legs\[0\]\.delta_ratio must be a finite number \(got inf\)"):
        params.load(p)


# --------------------------------------------------------------------------- silent guesses


@pytest.mark.parametrize("key", ["quantity", "instrument"])
def test_duplicate_json_key_refused(tmp_path: Path, key: str) -> None:
    item = '{"instrument": "BTC-PERPETUAL", "quantity": -1000, "unit": "usd", ' + (
        '"quantity": 5}' if key == "quantity" else '"instrument": "ETH-PERPETUAL"}')
    p = _write(tmp_path, "p.json", '{"positions": [' + item + "]}")
    with pytest.raises(InputFileError, match=f"p.json: key '{key}' appears twice"):
        load_portfolio(p)


def test_duplicate_key_refused_in_deribit_and_params(tmp_path: Path) -> None:
    p = _write(tmp_path, "d.json", '{"jsonrpc": "2.0", "result": [], "result": []}')
    with pytest.raises(InputFileError, match="key 'result' appears twice"):
        load_portfolio(p)
    with pytest.raises(InputFileError, match="key 'a' appears twice"):
        loads_json('{"a": 1, "a": 2}', source="x", what="Market")


@pytest.mark.parametrize(
    "old, new, field",
    [("cover_fraction = 0.32", 'cover_fraction = "0.32"', "cover_fraction"),
     ("net_option_value = true", 'net_option_value = "yes"', "net_option_value")],
)
def test_parameters_are_not_coerced(tmp_path: Path, old: str, new: str, field: str) -> None:
    from spanlike import params

    text = (ROOT / "params" / "sets" / "crypto-span.toml").read_text()
    assert old in text
    p = _write(tmp_path, "x.toml", text.replace(old, new))
    with pytest.raises(ParameterSetError, match=rf"{field}: .*got '.*'\); write .* without quotes"):
        params.load(p)


def test_yahoo_file_without_close_is_refused_naming_it(tmp_path: Path) -> None:
    p = _write(tmp_path, "BTC-USD.csv", "Date,Open,High,Low,Adj Close,Volume\n2024-01-01,1,2,0.5,1.5,10\n"
               "2024-01-02,1,2,0.5,1.5,10\n")
    with pytest.raises(InputFileError, match="lacks the column 'Close'"):
        load_history(p)


def test_plain_date_close_history_is_read(tmp_path: Path) -> None:
    p = _write(tmp_path, "ETH.csv", "Date,Close\n2024-01-01,2300.5\n2024-01-02,2310\n")
    h = load_history(p)
    assert h.names == ("ETH",) and h.closes[:, 0].tolist() == [2300.5, 2310.0] and h.notes == ()


# --------------------------------------------------------------------------- odd files


def test_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match=r"is not a regular file \(a FIFO"):
        load_portfolio(fifo)


def test_symlink_to_dev_zero_is_not_reported_missing(tmp_path: Path) -> None:
    link = tmp_path / "m.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputFileError, match=r"a link to /dev/zero\) is not a regular file \(a character device\)"):
        load_market(link)


def test_dangling_symlink_says_so(tmp_path: Path) -> None:
    link = tmp_path / "p.csv"
    link.symlink_to(tmp_path / "gone.csv")
    with pytest.raises(InputFileError, match="symbolic link to .*gone.csv.*which does not exist"):
        load_portfolio(link)


def test_size_bound_is_named_and_overridable(tmp_path: Path) -> None:
    from spanlike.loaders import read_text

    p = _write(tmp_path, "p.csv", "x" * 100)
    with pytest.raises(InputFileError, match="larger than 10 bytes.*max_bytes="):
        read_text(p, what="Portfolio", max_bytes=10)
    assert read_text(p, what="Portfolio", max_bytes=100) == "x" * 100


def test_parameter_file_fifo_refused(tmp_path: Path) -> None:
    from spanlike import params

    fifo = tmp_path / "x.toml"
    os.mkfifo(fifo)
    with pytest.raises(ParameterSetError, match="not a regular file"):
        params.load(fifo)


# --------------------------------------------------------------------------- wrong numbers (issue 15)


def test_percent_iv_is_refused_with_the_fix() -> None:
    with pytest.raises(MarketDataError, match=r"'mark_iv' .* is 60.54, which can only be a percent.*Divide it by 100"):
        MarketSnapshot.from_mapping(_market(mark_iv=60.54))


def test_mark_inconsistent_with_iv_is_refused() -> None:
    d = json.loads((DATA / "linear_market.json").read_text())
    d["instruments"][0]["mark_price"] = 2.77  # the 277 USDC mark divided by 100
    with pytest.raises(MarketDataError, match="quote of ETH_USDC-25DEC26-3400-C is inconsistent"):
        margin(DATA / "linear_portfolio.csv", MarketSnapshot.from_mapping(d), "crypto-span")


def test_unit_slip_coin_for_usd_is_refused_with_the_hint(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.csv", "instrument,quantity,unit\nBTC-PERPETUAL,-150000,coin\n")
    with pytest.raises(InvalidPositionError, match=r"beyond the plausible 1,000,000,000 USD.*Did you mean unit 'usd'\?"):
        margin(p, MARKET, "crypto-span")


def test_notional_bound_is_overridable(tmp_path: Path) -> None:
    from spanlike import params

    p = _write(tmp_path, "p.csv", "instrument,quantity,unit\nBTC-PERPETUAL,-150000,coin\n")
    pf = load_portfolio(p)
    table = table_for_portfolio(pf, market=load_market(MARKET), parameter_set=params.load("crypto-span"))
    rows, qty, _ = resolve_positions(pf, table=table, max_notional_usd=None)
    assert qty.tolist() == [-150000.0]


def test_header_only_portfolio_is_noted(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.csv", "instrument,quantity,unit\n")
    r = margin(p, MARKET, "crypto-span")
    assert r.initial_margin_usd == 0.0
    assert any("no positions" in n for n in r.notes)


# --------------------------------------------------------------------------- output paths


def test_output_path_checks(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "x.toml", what="--out")
    f = _write(tmp_path, "afile", "")
    with pytest.raises(InputFileError, match="is an existing file, not a directory"):
        check_output_path(f, what="--plot", directory=True)
    with pytest.raises(InputFileError, match="5,000 characters, longer than the file system allows"):
        check_output_path(tmp_path / ("a" * 5000), what="--out")
    with pytest.raises(InputFileError, match="is a directory"):
        check_output_path(tmp_path, what="--out")
    assert check_output_path(tmp_path / "new" / "deeper", what="--plot", directory=True)


def test_calibrate_out_missing_dir_exits_2_before_work(capsys: pytest.CaptureFixture[str]) -> None:
    from spanlike.cli import main

    code = main(["calibrate", "--history", str(DATA / "history" / "BTC-USD.csv"), "--method", "var",
                 "--out", "/nonexistent-dir/x.toml"])
    assert code == 2 and "directory /nonexistent-dir does not exist" in capsys.readouterr().err


def test_efficiency_plot_onto_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from spanlike.cli import main

    f = _write(tmp_path, "chart.png", "")
    code = main(["efficiency", "--portfolio", str(DEMO / "demo_portfolio.csv"), "--market", str(MARKET), "--plot", str(f)])
    assert code == 2 and "is an existing file, not a directory" in capsys.readouterr().err


# --------------------------------------------------------------------------- the final guard


def test_guard_passes_a_real_result_and_names_a_bad_component() -> None:
    r = margin(DEMO / "demo_portfolio.csv", MARKET, "crypto-span")
    check_result_finite(r)
    first = r.commodities[0]
    cm = dataclasses.replace(first, components=dataclasses.replace(first.components, scan_risk=math.nan))
    bad = dataclasses.replace(r, commodities=(cm, *r.commodities[1:]))
    with pytest.raises(NumericalError, match=rf"account '{r.account}', commodity {cm.name} has components.scan_risk = nan"):
        check_result_finite(bad)
    neg = dataclasses.replace(r, initial_margin_usd=-1.0)
    with pytest.raises(NumericalError, match="initial_margin_usd = -1.0, which must be >= 0"):
        check_result_finite(neg)
    inf_loss = dataclasses.replace(r.commodities[0], scenario_losses=(math.inf,) + r.commodities[0].scenario_losses[1:])
    with pytest.raises(NumericalError, match=r"scenario_losses\[0\] = inf"):
        check_result_finite(dataclasses.replace(r, commodities=(inf_loss, *r.commodities[1:])))


@pytest.mark.parametrize(
    "old, new",
    [('{ tier = 3, delta_ratio = 1.0, side = "B" }', '{ tier = 3, delta_ratio = 1e-320, side = "B" }'),
     ("weight = 0.217 }", "weight = 1.7976931348623157e308 }")],
)
def test_fuzz_found_parameter_overflows_are_refused_at_load(tmp_path: Path, old: str, new: str) -> None:
    # Found by the long fuzz run: these margined with a numpy overflow warning or a NumericalError (exit 1).
    from spanlike import params

    text = (ROOT / "params" / "sets" / "crypto-span.toml").read_text()
    assert old in text
    with pytest.raises(ParameterSetError, match="should be (greater|less) than or equal to"):
        params.load(_write(tmp_path, "x.toml", text.replace(old, new, 1)))
