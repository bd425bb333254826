"""Columnar batch I/O: pyarrow readers equal the row-by-row reader; named errors; outputs; --out checks.

Reference: the row-by-row reader (``spanlike.batch.io.slow_rows`` plus the
netting rules of :class:`spanlike.portfolio.Portfolio`), which the CSV and
parquet paths must reproduce exactly (books compared with ``array_equal``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spanlike.batch.accounts import (
    PositionRecord,
    build_account_book,
    equity_usd,
    read_equity,
    read_equity_csv,
    read_positions,
    read_positions_csv,
)
from spanlike.batch.batch import margin_batch
from spanlike.batch.io import check_output_path, slow_rows
from spanlike.batch.prepared import PreparedEngine, prepare_engine
from spanlike.cli import main
from spanlike.errors import InputFileError, InvalidPositionError, UnknownInstrumentError
from spanlike.market import MarketSnapshot
from spanlike.risk_arrays.contracts import DefaultNames, make_contract_arrays

DATA = Path(__file__).parent / "data"
MARKET = DATA / "batch_market.json"
ACCOUNTS = DATA / "batch_accounts.csv"
EQUITY = DATA / "batch_equity.csv"


@pytest.fixture(scope="module")
def engine() -> PreparedEngine:
    market = MarketSnapshot.from_file(MARKET)
    return prepare_engine(instruments=sorted(market.quotes), market=market, parameter_set="crypto-span")


def _same_book(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.accounts == b.accounts
    for f in ("offsets", "rows", "quantity"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert dict(a.notes) == dict(b.notes)


def _slow_records(path: Path) -> list[PositionRecord]:
    """The reference: every row through Python's csv module, where named as the fast path names it."""
    rows = list(slow_rows(path))
    header = [c.lower() for c in rows[0][1]]
    out = []
    for line, cells in rows[1:]:
        row = dict(zip(header, cells))
        out.append(PositionRecord(row["account"], row["instrument"], float(row["quantity"]), row.get("unit") or None,
                                  f"{path} line {line}"))
    return out


def test_fixture_book_equals_row_reader(engine: PreparedEngine) -> None:
    fast = build_account_book(read_positions(ACCOUNTS), engine=engine)
    slow = build_account_book(_slow_records(ACCOUNTS), engine=engine)
    _same_book(fast, slow)
    assert "line 27" in fast.notes["netted"][0]  # the comment line counts: lines are the file's


def test_irregular_csv_equals_row_reader(tmp_path: Path, engine: PreparedEngine) -> None:
    """Quotes, blank and comment lines, rows of blank cells, padded cells, CRLF, a BOM."""
    text = ("\ufeff# comment\r\n\r\n Account , instrument,quantity,UNIT\r\n"
            "\"a,1\", BTC-PERPETUAL ,100,usd\r\n,,,\r\n# another\r\n"
            "b,BTC-PERPETUAL,5,coin\r\n\"a,1\",BTC-PERPETUAL,-100,usd\r\nb,ETH-PERPETUAL, 2 ,coin\r\n")
    path = tmp_path / "irregular.csv"
    path.write_bytes(text.encode("utf-8"))
    fast = build_account_book(read_positions(path), engine=engine)
    slow = build_account_book(_slow_records(path), engine=engine)
    _same_book(fast, slow)
    assert fast.accounts == ("a,1", "b")
    assert fast.notes["a,1"] == (f"BTC-PERPETUAL (usd) at {path} line 4, {path} line 8 nets to zero and was dropped.",)


def test_parquet_input_equals_csv(tmp_path: Path, engine: PreparedEngine) -> None:
    records = read_positions_csv(ACCOUNTS)
    table = pa.table({"account": [r.account for r in records], "instrument": [r.instrument for r in records],
                      "quantity": [r.quantity for r in records], "unit": [r.unit for r in records]})
    path = tmp_path / "positions.parquet"
    pq.write_table(table, path)
    a = build_account_book(read_positions(path), engine=engine)
    b = build_account_book(read_positions(ACCOUNTS), engine=engine)
    np.testing.assert_array_equal(a.quantity, b.quantity)
    np.testing.assert_array_equal(a.rows, b.rows)
    assert a.accounts == b.accounts and "row 25" in a.notes["netted"][0]
    eq = pa.table({"account": ["calendar", "delivery"], "currency": ["btc", "USDC"], "amount": [0.5, 1000.0]})
    pq.write_table(eq, tmp_path / "equity.parquet")
    assert read_equity(tmp_path / "equity.parquet").as_mapping() == {"calendar": {"BTC": 0.5}, "delivery": {"USDC": 1000.0}}


def test_equity_table_equals_mapping(engine: PreparedEngine) -> None:
    book = build_account_book(read_positions(ACCOUNTS), engine=engine)
    prices = engine.market.index_prices
    np.testing.assert_array_equal(
        equity_usd(read_equity(EQUITY), book=book, index_prices=prices),
        equity_usd(read_equity_csv(EQUITY), book=book, index_prices=prices),
    )


@pytest.mark.parametrize("text, error, pattern", [
    ("account,instrument,quantity\n# c\nacc,BTC-PERPETUAL,lots\n", InputFileError, r"line 3: the quantity .*'lots'"),
    ("account,instrument,quantity\nacc,,1\n", InputFileError, r"line 2: the 'instrument' cell is empty"),
    ("account,instrument,quantity\nacc,BTC-PERPETUAL,1,usd\n", InputFileError, r"line 2: expected 3 cells"),
    ("account,instrument\n", InputFileError, r"line 1: the header must be"),
    ("# only a comment\n", InputFileError, r"is empty"),
    ("account,instrument,quantity,unit\n\nacc,BTC-PERPETUAL,1,usd\nacc,NOPE-1,1,\n", UnknownInstrumentError,
     r"line 4: .*'NOPE-1'"),
    ("account,instrument,quantity,unit\nacc,BTC-PERPETUAL,1,usd\nacc,BTC-25DEC26,inf,usd\n", InvalidPositionError,
     r"line 3: the quantity of BTC-25DEC26 in account 'acc'.*inf"),
    ("account,instrument,quantity,unit\nacc,ETH-PERPETUAL,1,usd\n\"x\",BTC-PERPETUAL,1,\n", InvalidPositionError,
     r"line 3: BTC-PERPETUAL.*needs a unit"),
])
def test_bad_rows_name_file_and_line(tmp_path: Path, engine: PreparedEngine, text: str, error: type, pattern: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(error, match=pattern):
        build_account_book(read_positions(path), engine=engine)


def test_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("account,instrument,quantity\ncaf\xe9,BTC-PERPETUAL,1\n".encode("latin-1"))
    with pytest.raises(InputFileError, match=r"latin1.csv line 2 is not UTF-8 text .*byte 4 of the line, 0xe9"):
        read_positions(path)


def test_out_path_checked_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for out, message in ((tmp_path / "x.txt", "must end in .csv, .parquet or .jsonl"),
                         (tmp_path / "missing" / "x.csv", "does not exist"),
                         (tmp_path, "is a directory")):
        with pytest.raises(InputFileError, match=message):
            check_output_path(out)
        # A positions file that does not exist: the --out error comes first, so nothing was read.
        code = main(["batch", "--accounts", str(tmp_path / "absent.csv"), "--market", str(MARKET),
                     "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and str(out) in err


def test_outputs_agree_and_are_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outs = {}
    for suffix in ("csv", "parquet", "jsonl"):
        for k in range(2):
            out = tmp_path / f"m{k}.{suffix}"
            code = main(["batch", "--accounts", str(ACCOUNTS), "--equity", str(EQUITY), "--market", str(MARKET),
                         "--components", "--out", str(out)])
            assert code == 0, capsys.readouterr().err
        assert (tmp_path / f"m0.{suffix}").read_bytes() == (tmp_path / f"m1.{suffix}").read_bytes()
        outs[suffix] = tmp_path / f"m0.{suffix}"
    table = pq.read_table(outs["parquet"])
    rows = [json.loads(line) for line in outs["jsonl"].read_text().splitlines()]
    from pyarrow import csv as pcsv

    csv_table = pcsv.read_csv(outs["csv"])
    assert list(rows[0]) == table.column_names == csv_table.column_names
    for name in ("initial_margin_usd", "maintenance_margin_usd", "excess_usd", "BTC.scan_risk_btc"):
        exact = table.column(name).to_pylist()
        assert [r[name] for r in rows] == exact  # shortest round-trip text: equal floats
        assert csv_table.column(name).to_pylist() == exact
    assert table.schema.field("BTC.present").type == pa.bool_()
    assert table.schema.field("BTC.worst_scenario_index").type == pa.int64()


def test_without_equity_status_is_na(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["batch", "--accounts", str(ACCOUNTS), "--market", str(MARKET), "--out", str(tmp_path / "m.jsonl")])
    captured = capsys.readouterr()
    assert code == 0 and "no equity given" in captured.out
    rows = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert {r["status"] for r in rows} == {"n/a"}
    assert all(r["equity_usd"] is None and r["excess_usd"] is None for r in rows)


def test_stdout_csv(capsys: pytest.CaptureFixture[bytes]) -> None:
    code = main(["batch", "--accounts", str(ACCOUNTS), "--market", str(MARKET), "--equity", str(EQUITY)])
    captured = capsys.readouterr()
    assert code == 0 and "10 accounts" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("account,initial_margin_usd,") and len(lines) == 11


def test_contract_arrays_default_names_are_lazy() -> None:
    n = 5
    ca = make_contract_arrays(forward=np.full(n, 100.0), strike=np.full(n, 90.0), t_years=np.full(n, 0.5),
                              vol=np.full(n, 0.5), kind=np.ones(n, dtype=np.int64))
    assert isinstance(ca.names, DefaultNames) and len(ca.names) == n
    assert list(ca.names) == [f"contract[{i}]" for i in range(n)]
    assert list(ca.subset([3, 1]).names) == ["contract[3]", "contract[1]"]
    with pytest.raises(Exception, match=r"contract\[2\]"):
        make_contract_arrays(forward=[1.0, 1.0, -1.0], strike=1.0, t_years=1.0, vol=0.5, kind=1)


def test_batch_numbers_unchanged_by_columnar_reader(engine: PreparedEngine) -> None:
    """The book from columns margins exactly as the book from records."""
    a = margin_batch(engine, build_account_book(read_positions(ACCOUNTS), engine=engine), components=True)
    b = margin_batch(engine, build_account_book(read_positions_csv(ACCOUNTS), engine=engine), components=True)
    np.testing.assert_array_equal(a.initial_margin_usd, b.initial_margin_usd)
    np.testing.assert_array_equal(a.components, b.components)


@pytest.mark.parametrize("text, line", [
    ("account,instrument,quantity\na,BTC-PERPETUAL-X,1\n", 2),  # regular file
    ("account,instrument,quantity\nb,ETH-25DEC26-3400-C,1\n\na,BTC-PERPETUAL-X,1\n", 4),  # a blank line before
    ("account,instrument,quantity\nb,ETH-25DEC26-3400-C,1\na,BTC-PERPETUAL-X,1", 3),  # no final newline
    ("account,instrument,quantity\r\nb,ETH-25DEC26-3400-C,1\r\n\r\na,BTC-PERPETUAL-X,1\r\n", 4),  # CRLF, blank line
    ("\naccount,instrument,quantity\nb,ETH-25DEC26-3400-C,1\na,BTC-PERPETUAL-X,1\n", 4),  # blank line before header
])
def test_bad_row_named_by_its_file_line(tmp_path: Path, engine: PreparedEngine, text: str, line: int) -> None:
    """Line numbers come from arithmetic for regular files and from the csv module otherwise: the same lines."""
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode())
    with pytest.raises(UnknownInstrumentError, match=rf"^{path} line {line}: "):
        build_account_book(read_positions(path), engine=engine)
    with pytest.raises(UnknownInstrumentError, match=rf"^{path} line {line}: "):
        build_account_book(_slow_records(path), engine=engine)
