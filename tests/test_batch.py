"""Batch margining equals one-by-one margin_positions; readers, equity, status, errors, intraday, CLI.

Reference: :func:`spanlike.engine.margin_positions` on each account's rows and
quantities (the engine every single-account margin uses). Tolerance: 1e-9
relative (absolute floor 1e-9 of the commodity's scale) on every component
and total. The batch kernel reproduces numpy's summation order, so in
practice the numbers are equal to the last bit; the tolerance only keeps the
test honest about what is promised.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanlike import params
from spanlike.batch.accounts import (
    AccountBook,
    PositionRecord,
    build_account_book,
    equity_usd,
    read_equity_csv,
    read_positions_csv,
)
from spanlike.batch.batch import COMPONENT_NAMES, account_detail, margin_batch, scan_risk_batch
from spanlike.batch.intraday import update_engine
from spanlike.batch.prepared import PreparedEngine, prepare_engine
from spanlike.batch.whatif import prepare_account
from spanlike.cli import main
from spanlike.engine import margin_positions
from spanlike.errors import (
    InputFileError,
    InvalidPositionError,
    MissingMarketDataError,
    UnknownAccountError,
    UnknownInstrumentError,
)
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.revalue import revalue
from spanlike.universe import resolve_positions

DATA = Path(__file__).parent / "data"
MARKET = DATA / "batch_market.json"
ACCOUNTS = DATA / "batch_accounts.csv"
EQUITY = DATA / "batch_equity.csv"
REL = 1e-9


@pytest.fixture(scope="module")
def market() -> MarketSnapshot:
    return MarketSnapshot.from_file(MARKET)


def _engine(market: MarketSnapshot, name: str) -> PreparedEngine:
    ps = params.load(name)
    covered = [
        n for n in sorted(market.quotes)
        if name == "crypto-span" or "_USDC" not in n  # deribit-style defines BTC and ETH coin-settled only
    ]
    assert ps is not None
    return prepare_engine(instruments=covered, market=market, parameter_set=ps)


@pytest.fixture(scope="module")
def engines(market: MarketSnapshot) -> dict[str, PreparedEngine]:
    return {name: _engine(market, name) for name in ("crypto-span", "deribit-style")}


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b), scale)


def assert_batch_equals_reference(engine: PreparedEngine, book: AccountBook, *, cross: bool = True) -> None:
    """Every total and every component of every account against margin_positions."""
    result = margin_batch(engine, book, components=True, cross_commodity=cross)
    serial = margin_batch(engine, book, components=True, cross_commodity=cross, parallel=False)
    np.testing.assert_array_equal(result.initial_margin_usd, serial.initial_margin_usd)
    np.testing.assert_array_equal(result.components, serial.components)
    for a, account in enumerate(book.accounts):
        rows, qty = book.positions(account)
        ref = margin_positions(engine.universe, rows=rows.astype(np.intp), quantity=qty, cross_commodity=cross)
        scale = 1e-9 * max(1.0, ref.sum_of_requirements_usd)
        for got, want in (
            (result.initial_margin_usd[a], ref.initial_margin_usd),
            (result.maintenance_margin_usd[a], ref.maintenance_margin_usd),
            (result.requirement_usd[a], ref.requirement_usd),
            (result.sum_of_requirements_usd[a], ref.sum_of_requirements_usd),
            (result.correlation_offset_usd[a], ref.correlation_offset_usd),
            (result.joint_move_floor_usd[a], ref.joint_move_floor_usd),
            (result.joint_move_addon_usd[a], ref.joint_move_addon_usd),
        ):
            assert _close(got, want, scale), (account, got, want)
        from spanlike.methodology.joint_move import JOINT_LABELS

        k = int(result.joint_move_scenario[a])
        assert (JOINT_LABELS[k] if k >= 0 else None) == ref.joint_move_scenario, account
        present = result.components[a, :, COMPONENT_NAMES.index("present")]
        assert int(present.sum()) == len(ref.commodities)
        for cm in ref.commodities:
            c = engine.commodity_names.index(cm.name)
            comp = dict(zip(COMPONENT_NAMES, result.components[a, c]))
            cscale = 1e-9 * max(1.0, cm.scan_risk, abs(cm.net_option_value), cm.short_option_minimum)
            for name in ("scan_risk", "time_risk", "vol_risk", "price_risk", "net_delta", "intra_spread_charge",
                         "delivery_charge", "inter_spread_credit", "short_option_minimum", "net_option_value",
                         "roll_shock", "delta_shock", "requirement", "direction"):
                assert _close(comp[name], getattr(cm, name), cscale), (account, cm.name, name, comp[name],
                                                                        getattr(cm, name))
            assert bool(comp["short_option_minimum_binding"]) == cm.short_option_minimum_binding
            assert int(comp["worst_scenario"]) == cm.worst_scenario.index
        if ref.commodities:
            worst = max(ref.commodities, key=lambda cm: cm.requirement_usd)
            assert result.worst_scenario_labels[a] == worst.worst_scenario.label
        else:
            assert result.worst_scenario[a] == -1 and result.initial_margin_usd[a] == 0.0


# --- fixtures that trigger every component ------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_book(market: MarketSnapshot) -> tuple[PreparedEngine, AccountBook]:
    records = read_positions_csv(ACCOUNTS)
    engine = prepare_engine(instruments=sorted({r.instrument for r in records}), market=market,
                            parameter_set="crypto-span")
    return engine, build_account_book(records, engine=engine)


def test_fixture_books_trigger_every_component(fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    engine, book = fixture_book
    result = margin_batch(engine, book, components=True)

    def comp(account: str, cc: str, name: str) -> float:
        return float(result.components[book.accounts.index(account), engine.commodity_names.index(cc),
                                       COMPONENT_NAMES.index(name)])

    assert comp("calendar", "BTC", "intra_spread_charge") > 0.0
    assert comp("delivery", "BTC", "delivery_charge") > 0.0 and comp("delivery", "BTC", "intra_spread_charge") > 0.0
    assert comp("delivery", "BTC_USDC", "delivery_charge") > 0.0
    assert comp("som", "BTC", "short_option_minimum_binding") == 1.0
    assert comp("coin_vs_usdc", "BTC", "inter_spread_credit") > 0.0
    assert comp("coin_vs_usdc", "BTC_USDC", "inter_spread_credit") > 0.0
    assert comp("btc_vs_eth", "ETH", "inter_spread_credit") > 0.0
    assert comp("per_month", "SOL_USDC", "intra_spread_charge") > 0.0
    assert result.correlation_offset_usd[book.accounts.index("correlation")] > 0.0
    assert comp("options", "ETH", "net_option_value") > 0.0
    assert_batch_equals_reference(engine, book)
    assert_batch_equals_reference(engine, book, cross=False)


def test_reader_netting_matches_portfolio_and_resolve_positions(fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    """The CSR rows/quantities of each account equal Portfolio + resolve_positions of its rows."""
    engine, book = fixture_book
    records = read_positions_csv(ACCOUNTS)
    for account in book.accounts:
        mine = [(r.instrument, r.quantity, r.unit) for r in records if r.account == account]
        portfolio = Portfolio.from_positions(mine, account=account)
        rows, qty, _ = resolve_positions(portfolio, table=engine.universe.table)
        got_rows, got_qty = book.positions(account)
        np.testing.assert_array_equal(got_rows, rows)
        np.testing.assert_array_equal(got_qty, qty)
    assert "netted" in book.notes and "empty" in book.notes


def test_empty_account_margins_to_zero(fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    engine, book = fixture_book
    result = margin_batch(engine, book)
    empty = result.account("empty")
    assert empty.initial_margin_usd == 0.0 and empty.maintenance_margin_usd == 0.0
    # No equity given: no status (not "liquidation" for every account); with equity 0 the empty account is ok.
    assert empty.status == "n/a" and empty.equity_usd is None and empty.excess_usd is None
    assert empty.worst_scenario == "" and empty.worst_commodity == ""
    assert margin_batch(engine, book, equity_usd=np.zeros(len(book))).account("empty").status == "ok"
    declared = build_account_book([], engine=engine, accounts=["nobody"])
    assert margin_batch(engine, declared).initial_margin_usd.tolist() == [0.0]


def test_equity_conversion_and_status(market: MarketSnapshot, fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    engine, book = fixture_book
    eq = equity_usd(read_equity_csv(EQUITY), book=book, index_prices=market.index_prices)
    idx = book.accounts.index
    btc, eth = market.index_prices["BTC"], market.index_prices["ETH"]
    assert eq[idx("calendar")] == 0.5 * btc
    assert eq[idx("delivery")] == 1000.0 + 0.001 * btc  # USDC at 1, BTC at its index
    assert eq[idx("btc_vs_eth")] == 3 * eth
    assert eq[idx("per_month")] == 0.0  # no equity row: 0
    result = margin_batch(engine, book, equity_usd=eq)
    for a, account in enumerate(book.accounts):
        im, mm, e = result.initial_margin_usd[a], result.maintenance_margin_usd[a], eq[a]
        expected = "liquidation" if e < mm else "margin call" if e < im else "ok"
        assert result.account(account).status == expected
        assert result.account(account).excess_usd == e - im
    s = result.summary()
    codes = result.status_code
    assert (s.margin_calls, s.liquidations) == (int((codes == 1).sum()), int((codes == 2).sum()))
    assert s.liquidations >= 1 and s.initial_margin_usd == pytest.approx(result.initial_margin_usd.sum())


def test_margin_call_between_mm_and_im(fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    """crypto-span IM = 1.1 x MM: equity just above MM is a margin call, just below MM liquidation."""
    engine, book = fixture_book
    base = margin_batch(engine, book)
    a = book.accounts.index("options")
    mm, im = base.maintenance_margin_usd[a], base.initial_margin_usd[a]
    for equity, status in ((im, "ok"), (0.5 * (im + mm), "margin call"), (0.99 * mm, "liquidation")):
        eq = np.zeros(len(book))
        eq[a] = equity
        assert margin_batch(engine, book, equity_usd=eq).account("options").status == status


# --- random books, both parameter sets ------------------------------------------------------------

def _random_book(engine: PreparedEngine, rng: np.random.Generator, n_accounts: int, max_positions: int) -> AccountBook:
    n = engine.packed.n_rows
    accounts, offsets, rows, qty = [], [0], [], []
    for a in range(n_accounts):
        k = int(rng.integers(0, min(max_positions, n) + 1))
        r = np.sort(rng.choice(n, size=k, replace=False))
        q = rng.normal(size=k) * 10.0 ** rng.integers(-1, 2, size=k)
        accounts.append(f"acc-{a}")
        rows.extend(r.tolist())
        qty.extend(q.tolist())
        offsets.append(len(rows))
    return AccountBook.from_arrays(accounts=accounts, offsets=offsets, rows=rows, quantity=qty, n_rows=n)


@pytest.mark.parametrize("name", ["crypto-span", "deribit-style"])
def test_random_books_equal_reference(engines: dict[str, PreparedEngine], name: str) -> None:
    engine = engines[name]
    book = _random_book(engine, np.random.default_rng(20261124), n_accounts=120, max_positions=25)
    assert_batch_equals_reference(engine, book)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(["crypto-span", "deribit-style"]),
       max_positions=st.integers(1, 40))
def test_random_books_property(engines: dict[str, PreparedEngine], seed: int, name: str, max_positions: int) -> None:
    engine = engines[name]
    book = _random_book(engine, np.random.default_rng(seed), n_accounts=8, max_positions=max_positions)
    assert_batch_equals_reference(engine, book)


def test_three_leg_intra_spreads_equal_reference(market: MarketSnapshot) -> None:
    """The kernel's general spread path (more than two legs) against the reference.

    Two-leg spreads take a separate branch-light path in the kernel; this set
    puts a three-leg spread (tiers 1 + 2 against tier 4, ratios 1, 0.5, 1.5)
    first, so that both paths form spreads on the same books.
    """
    data = params.load("crypto-span").model_dump(mode="json")
    for cc in data["combined_commodities"]:
        for spread in cc["span"]["intra_spreads"]:
            spread["priority"] += 1
        cc["span"]["intra_spreads"].insert(0, {
            "priority": 1, "rate": 0.006, "rate_kind": "relative", "method": "flat",
            "legs": [{"tier": 1, "delta_ratio": 1.0, "side": "A"}, {"tier": 2, "delta_ratio": 0.5, "side": "A"},
                     {"tier": 4, "delta_ratio": 1.5, "side": "B"}],
        })
    ps = params.from_mapping(data)
    engine = prepare_engine(instruments=sorted(market.quotes), market=market, parameter_set=ps)
    assert int(engine.packed.spr_i[:, 0, 0].max()) == 3
    book = _random_book(engine, np.random.default_rng(7), n_accounts=150, max_positions=30)
    assert_batch_equals_reference(engine, book)
    result = margin_batch(engine, book, components=True)
    assert (result.component("intra_spread_charge") > 0).sum() > 20  # spreads do form


def test_scan_risk_batch_is_the_scan_component(engines: dict[str, PreparedEngine]) -> None:
    engine = engines["crypto-span"]
    book = _random_book(engine, np.random.default_rng(7), n_accounts=60, max_positions=30)
    scan = scan_risk_batch(engine, book)
    full = margin_batch(engine, book, components=True).component("scan_risk")
    np.testing.assert_array_equal(scan, full)
    np.testing.assert_array_equal(scan, scan_risk_batch(engine, book, parallel=False))


def test_account_detail_is_the_reference_tree(fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    engine, book = fixture_book
    detail = account_detail(engine, book, "calendar")
    assert detail.account == "calendar" and detail.commodity("BTC").spreads
    assert margin_batch(engine, book).account("calendar").initial_margin_usd == detail.initial_margin_usd


# --- bad input -------------------------------------------------------------------------------------

def test_unknown_account_in_equity(fixture_book: tuple[PreparedEngine, AccountBook], market: MarketSnapshot) -> None:
    engine, book = fixture_book
    with pytest.raises(UnknownAccountError, match="'ghost'.*no row in the positions"):
        equity_usd({"ghost": {"USD": 1.0}}, book=book, index_prices=market.index_prices)


def test_equity_in_a_currency_without_price(fixture_book: tuple[PreparedEngine, AccountBook], market: MarketSnapshot) -> None:
    engine, book = fixture_book
    with pytest.raises(MissingMarketDataError, match="DOGE"):
        equity_usd({"calendar": {"DOGE": 1.0}}, book=book, index_prices=market.index_prices)


def test_unknown_instrument(fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    engine, _ = fixture_book
    with pytest.raises(UnknownInstrumentError, match="line 7.*BTC-25DEC26-999-C"):
        build_account_book([PositionRecord("a", "BTC-25DEC26-999-C", 1.0, None, "f.csv line 7")], engine=engine)


def test_nan_quantity_names_the_line(tmp_path: Path, fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    engine, _ = fixture_book
    path = tmp_path / "pos.csv"
    path.write_text("account,instrument,quantity,unit\nacc,BTC-PERPETUAL,100,usd\nacc,BTC-25DEC26,nan,usd\n")
    with pytest.raises(InvalidPositionError, match=r"line 3: the quantity of BTC-25DEC26 in account 'acc'.*nan"):
        build_account_book(read_positions_csv(path), engine=engine)


def test_missing_unit_for_coin_future(fixture_book: tuple[PreparedEngine, AccountBook]) -> None:
    engine, _ = fixture_book
    with pytest.raises(InvalidPositionError, match="line 2: BTC-PERPETUAL.*needs a unit"):
        build_account_book([PositionRecord("a", "BTC-PERPETUAL", 1.0, None, "f.csv line 2")], engine=engine)


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("account,instrument,qty\n")
    with pytest.raises(InputFileError, match="header"):
        read_positions_csv(bad)
    bad.write_text("account,instrument,quantity\nacc,BTC-PERPETUAL,lots\n")
    with pytest.raises(InputFileError, match="line 2.*'lots'"):
        read_positions_csv(bad)
    bad.write_text("account,currency,amount\nacc,BTC,inf\n")
    with pytest.raises(InputFileError, match="finite"):
        read_equity_csv(bad)
    with pytest.raises(InputFileError, match="cannot be read"):
        read_positions_csv(tmp_path / "absent.csv")


def test_from_arrays_validates(engines: dict[str, PreparedEngine]) -> None:
    n = engines["crypto-span"].packed.n_rows
    with pytest.raises(InvalidPositionError, match="finite"):
        AccountBook.from_arrays(accounts=["a"], offsets=[0, 1], rows=[0], quantity=[math.nan], n_rows=n)
    with pytest.raises(InvalidPositionError, match="strictly increasing"):
        AccountBook.from_arrays(accounts=["a"], offsets=[0, 2], rows=[3, 3], quantity=[1.0, 2.0], n_rows=n)
    with pytest.raises(InvalidPositionError, match="universe rows"):
        AccountBook.from_arrays(accounts=["a"], offsets=[0, 1], rows=[n], quantity=[1.0], n_rows=n)


# --- intraday -------------------------------------------------------------------------------------

def _shifted_market(market_path: Path, *, vol_bump: float, hours: int, prefix: str) -> MarketSnapshot:
    data = json.loads(market_path.read_text())
    data = copy.deepcopy(data)
    for q in data["instruments"]:
        if q["instrument"].startswith(prefix) and q.get("mark_iv"):
            q["mark_iv"] = q["mark_iv"] + vol_bump
    data["valuation_time"] = f"2026-11-24T{8 + hours:02d}:00:00Z"
    return MarketSnapshot.from_mapping(data)


@pytest.mark.parametrize("hours", [0, 5])
def test_intraday_update_equals_fresh_revalue(engines: dict[str, PreparedEngine], hours: int) -> None:
    engine = engines["crypto-span"]
    new_market = _shifted_market(MARKET, vol_bump=0.02, hours=hours, prefix="ETH-25DEC26")
    update = update_engine(engine, new_market)
    fresh = revalue(update.engine.universe.table, engine.parameter_set)
    for a, b in zip(fresh.commodities, update.engine.universe.commodities):
        np.testing.assert_array_equal(a.risk_arrays, b.risk_arrays)
        np.testing.assert_array_equal(a.composite_delta, b.composite_delta)
        np.testing.assert_array_equal(a.tier, b.tier)
    names = engine.instrument_names
    revalued = {names[r] for r in update.revalued_rows}
    if hours == 0:
        assert revalued == {n for n in names if n.startswith("ETH-25DEC26-")}
    else:
        # The clock revalues every option, never a future or perpetual.
        ins = engine.universe.table.instruments
        assert revalued == {i.name for i in ins if i.is_option}
    # Prepared accounts follow: rebased == prepared afresh on the new engine; batch equals the reference.
    book = _random_book(update.engine, np.random.default_rng(hours), n_accounts=30, max_positions=15)
    for account in book.accounts[:15]:
        rows, qty = book.positions(account)
        old = prepare_account(engine, rows=rows, quantity=qty)
        rebased = old.rebase(update.engine, changed_rows=update.changed_rows)
        again = prepare_account(update.engine, rows=rows, quantity=qty)
        assert rebased.initial_margin_usd == again.initial_margin_usd
        np.testing.assert_array_equal(rebased.state, again.state)
    assert_batch_equals_reference(update.engine, book)


# --- CLI ------------------------------------------------------------------------------------------

def test_cli_batch_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "margins.csv"
    code = main(["batch", "--accounts", str(ACCOUNTS), "--equity", str(EQUITY), "--market", str(MARKET),
                 "--params", "crypto-span", "--out", str(out), "--components"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "10 accounts" in captured.out
    assert "in margin call" in captured.out and "in liquidation" in captured.out
    assert "\r" not in captured.err  # no bar when stderr is not a terminal
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:6] == ["account", "initial_margin_usd", "maintenance_margin_usd", "equity_usd", "excess_usd",
                          "status"]
    assert "BTC.intra_spread_charge_btc" in header and "BTC_USDC.scan_risk_usdc" in header
    assert "BTC_USDC.net_delta_btc" in header and "BTC.short_option_minimum_binding" in header
    assert len(lines) == 1 + 10


def test_cli_batch_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    equity = tmp_path / "equity.csv"
    equity.write_text("account,currency,amount\nghost,USD,1\n")
    code = main(["batch", "--accounts", str(ACCOUNTS), "--equity", str(equity), "--market", str(MARKET),
                 "--params", "crypto-span", "--no-progress", "--out", str(tmp_path / "x.csv")])
    assert code == 2
    assert "ghost" in capsys.readouterr().err
    code = main(["batch", "--accounts", str(ACCOUNTS), "--market", str(MARKET), "--no-progress",
                 "--out", str(tmp_path / "x.txt")])
    assert code == 2
    assert ".csv, .parquet or .jsonl" in capsys.readouterr().err


def test_batch_refuses_sets_it_cannot_compute() -> None:
    """A liquidity add-on (or a VaR model) is not in the packed kernels: a named error, never a wrong number."""
    from spanlike import params
    from spanlike.batch import prepare_engine
    from spanlike.errors import ParameterSetError
    from spanlike.market import MarketSnapshot

    data = params.load("crypto-span").model_dump(mode="json")
    data["combined_commodities"][0]["liquidity"] = {
        "futures": 100.0, "charge": {"model": "ladder", "steps": [{"above": 0.1, "rate": 0.01}]}}
    ps = params.from_mapping(data)
    market = MarketSnapshot.from_mapping({"valuation_time": "2026-11-24T08:00:00Z", "index_prices": {"BTC": 95_000.0},
                                          "instruments": [{"instrument": "BTC-PERPETUAL", "mark_price": 95_000.0}]})
    with pytest.raises(ParameterSetError, match=r"uses liquidity add-ons \(BTC\).*one by one"):
        prepare_engine(instruments=["BTC-PERPETUAL"], market=market, parameter_set=ps)


def test_cli_batch_parquet_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out x.parquet writes the same columns as the CSV (pyarrow is in the dev extra)."""
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow (the parquet extra) is not installed")
    csv_out, pq_out = tmp_path / "m.csv", tmp_path / "m.parquet"
    for out in (csv_out, pq_out):
        code = main(["batch", "--accounts", str(ACCOUNTS), "--equity", str(EQUITY), "--market", str(MARKET),
                     "--params", "crypto-span", "--no-progress", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
    table = pq.read_table(pq_out).to_pydict()
    lines = csv_out.read_text().splitlines()
    header = lines[0].split(",")
    assert list(table) == header
    first = dict(zip(header, lines[1].split(",")))
    assert table["account"][0] == first["account"]
    assert table["initial_margin_usd"][0] == pytest.approx(float(first["initial_margin_usd"]), rel=1e-15)


def test_equity_past_any_finite_usd_names_the_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """1e308 BTC of equity is no finite USD amount: the account and the amount are named, exit 2, no warning."""
    equity = tmp_path / "equity.csv"
    equity.write_text("account,currency,amount\ncalendar,BTC,1e308\n")
    code = main(["batch", "--accounts", str(ACCOUNTS), "--equity", str(equity), "--market", str(MARKET),
                 "--params", "crypto-span", "--out", str(tmp_path / "m.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "account 'calendar' holds 1e+308 BTC, which is not a finite amount in USD" in err
    assert "Traceback" not in err and "RuntimeWarning" not in err


def test_a_position_past_the_notional_bound_is_named(market: MarketSnapshot, tmp_path: Path) -> None:
    """As for one account (universe.MAX_POSITION_NOTIONAL_USD): 150,000 BTC of perpetual is 14 bn USD."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account,instrument,quantity,unit\nslip,BTC-PERPETUAL,-150000,coin\n")
    engine = prepare_engine(instruments=["BTC-PERPETUAL"], market=market, parameter_set="crypto-span")
    book = build_account_book(read_positions_csv(accounts), engine=engine)
    with pytest.raises(InvalidPositionError, match=r"Account 'slip': BTC-PERPETUAL .* did you mean unit 'usd'\?"):
        margin_batch(engine, book)
    assert margin_batch(engine, book, max_notional_usd=None).initial_margin_usd[0] > 1e9
