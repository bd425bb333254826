"""The public one-call API and the CLI's first-hour surface (issue 15).

References: what-if amounts against the full engine (``spanlike.margin`` of the
book with the orders added, 1e-9 relative: the prepared path sums
incrementally) and against the plumbing it replaces (prepare_engine ->
resolve_positions -> prepare_account, exact).
"""

from __future__ import annotations

import math
import re

import pytest

import spanlike
from spanlike import params
from spanlike.batch.prepared import prepare_engine
from spanlike.batch.whatif import prepare_account
from spanlike.cli import main
from spanlike.errors import InvalidPositionError, UnknownInstrumentError
from spanlike.portfolio import Portfolio
from spanlike.universe import resolve_positions

FILES = spanlike.demo_files()
ORDERS = [("BTC-25DEC26-80000-P", 5.0), ("BTC-PERPETUAL", -20_000.0, "usd")]


def test_demo_files_exist_and_margin():
    for path in (FILES.portfolio, FILES.market, FILES.history):
        assert path.is_file(), path
    result = spanlike.margin(FILES.portfolio, FILES.market, "crypto-span")
    assert result.initial_margin_usd == pytest.approx(65_126.86, abs=0.005)


def test_what_if_one_call_equals_the_plumbing_and_the_engine():
    got = spanlike.what_if(FILES.portfolio, FILES.market, "deribit-style", orders=ORDERS)
    # The plumbing it replaces, step by step: identical numbers.
    book = Portfolio.from_file(FILES.portfolio)
    ps = params.load("deribit-style")
    names = list(dict.fromkeys([i.name for i in book.instruments] + [o[0] for o in ORDERS]))
    engine = prepare_engine(instruments=names, market=spanlike.MarketSnapshot.from_file(FILES.market),
                            parameter_set=ps)
    rows, qty, _ = resolve_positions(book, table=engine.universe.table)
    ref = prepare_account(engine, rows=rows, quantity=qty).what_if(ORDERS)
    assert got == ref
    # And the full engine on the book with the orders filled.
    after = Portfolio.from_positions(
        [(p.instrument, p.quantity, p.unit) for p in book.positions] + ORDERS)
    full = spanlike.margin(after, FILES.market, ps)
    assert got.initial_margin_after_usd == pytest.approx(full.initial_margin_usd, rel=1e-9)
    assert got.maintenance_margin_after_usd == pytest.approx(full.maintenance_margin_usd, rel=1e-9)
    assert got.incremental_initial_margin_usd == got.initial_margin_after_usd - got.initial_margin_before_usd


def test_what_if_accepts_command_line_strings_and_a_bare_order():
    a = spanlike.what_if(FILES.portfolio, FILES.market, "crypto-span",
                         orders=["BTC-25DEC26-80000-P:5", "BTC-PERPETUAL:-20000:usd"])
    b = spanlike.what_if(FILES.portfolio, FILES.market, "crypto-span", orders=ORDERS)
    assert a == b
    one = spanlike.what_if(FILES.portfolio, FILES.market, "crypto-span", orders="BTC-PERPETUAL:-20000:usd")
    two = spanlike.what_if(FILES.portfolio, FILES.market, "crypto-span", orders=("BTC-PERPETUAL", -20_000, "usd"))
    assert one == two


def test_what_if_positions_as_tuples():
    book = [("BTC-25DEC26-80000-P", -5.0), ("BTC-PERPETUAL", 50_000.0, "usd")]
    r = spanlike.what_if(book, FILES.market, "crypto-span", orders=[("BTC-25DEC26-80000-P", 5.0)])
    only_perp = spanlike.margin(Portfolio.from_positions([("BTC-PERPETUAL", 50_000.0, "usd")]), FILES.market,
                                "crypto-span")
    assert r.initial_margin_after_usd == pytest.approx(only_perp.initial_margin_usd, rel=1e-9)


def test_what_if_bad_orders_are_named():
    with pytest.raises(InvalidPositionError, match="at least one order"):
        spanlike.what_if(FILES.portfolio, FILES.market, "crypto-span", orders=[])
    with pytest.raises(InvalidPositionError, match="INSTRUMENT:QTY"):
        spanlike.what_if(FILES.portfolio, FILES.market, "crypto-span", orders=[42])
    with pytest.raises(InvalidPositionError, match="must be a number"):
        spanlike.what_if(FILES.portfolio, FILES.market, "crypto-span", orders=["BTC-PERPETUAL:lots"])


def test_prepared_what_if_takes_names_and_keeps_the_fast_path():
    acc = spanlike.prepare_what_if(FILES.portfolio, FILES.market, "deribit-style",
                                   instruments=["BTC-25DEC26-80000-P", "BTC-PERPETUAL"])
    assert acc.what_if(ORDERS) == spanlike.what_if(FILES.portfolio, FILES.market, "deribit-style", orders=ORDERS)
    fast = acc.what_if_quantity("BTC-PERPETUAL", -20_000.0, "usd")
    assert fast == acc.what_if(["BTC-PERPETUAL:-20000:usd"])
    with pytest.raises(UnknownInstrumentError, match="BTC-26MAR27-60000-C"):
        acc.what_if(["BTC-26MAR27-60000-C:1"])
    # The prepared account's repr is one short line, not its arrays.
    text = repr(acc)
    assert len(text) < 200 and "positions=19" in text and f"{acc.initial_margin_usd:,.2f}" in text


def test_prepare_what_if_empty_book_without_instruments_is_named():
    with pytest.raises(InvalidPositionError, match="instruments="):
        spanlike.prepare_what_if([], FILES.market, "crypto-span")


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"spanlike {spanlike.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", spanlike.__version__)


def test_risk_array_table_labels_scenarios_and_prints_zeros(capsys):
    assert main(["risk-arrays", "--instrument", "BTC-PERPETUAL", "--instrument", "BTC-25DEC26-80000-P",
                 "--market", str(FILES.market)]) == 0
    out = capsys.readouterr().out
    # Scenario 1 (price unchanged, vol up) of a perpetual is an exact zero: printed as 0, not +0 or -0.
    line1 = next(x for x in out.splitlines() if x.strip().startswith("1  price +0% (+0 PSR), vol up"))
    assert line1.split()[-2] == "0"
    values = [tok for line in out.splitlines() if re.match(r"^\s+\d+  ", line) for tok in line.split()[-2:]]
    assert values and not any(v in ("+0", "-0", "0.0", "-0.0") for v in values)
    # Every scenario row is numbered from 1 and carries its move and vol.
    assert re.search(r"^\s+16  price -36% \(-3 PSR\), vol unchanged, 32% counted\s+\+0\.18\s", out, re.M)
    assert "Risk arrays of BTC: loss of one long unit per scenario, BTC (positive = loss):" in out


def test_margin_report_says_which_margin_the_sum_is_and_counts_spreads(capsys):
    assert main(["margin", "--portfolio", str(FILES.portfolio), "--market", str(FILES.market),
                 "--params", "crypto-span"]) == 0
    out = capsys.readouterr().out
    assert "sum over combined commodities 62,234.51 USD (maintenance-margin requirements)" in out
    assert "(priority 2): 0.8933 spreads, charge 0.003573 BTC" in out
    assert " x, charge" not in out
    assert main(["margin", "--portfolio", str(FILES.portfolio), "--market", str(FILES.market),
                 "--params", "deribit-style"]) == 0
    assert re.search(r"sum over combined commodities [\d,.]+ USD \(initial-margin requirements\)",
                     capsys.readouterr().out)


def test_commodity_of_a_missing_name_lists_the_names():
    result = spanlike.margin(FILES.portfolio, FILES.market, "crypto-span")
    with pytest.raises(KeyError) as exc:
        result.commodity("SOL")
    assert "SOL" in str(exc.value) and "BTC" in str(exc.value) and "ETH" in str(exc.value)
    assert not math.isnan(result.commodity("ETH").initial_margin)
