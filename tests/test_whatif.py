"""Pre-trade what-if and the largest order within equity, against full recomputes.

Reference: :func:`spanlike.engine.margin_positions` of the book with the
order(s) netted in. What-if updates the kept per-commodity sums
incrementally, so "after" agrees to rounding: tolerance 1e-9 relative
(absolute floor 1e-9 x max(1, sum of requirements) USD). "Before" is built
in the reference summation order and must be equal exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanlike.batch.prepared import PreparedEngine, prepare_engine
from spanlike.batch.whatif import Order, PreparedAccount, prepare_account
from spanlike.cli import main
from spanlike.engine import margin_positions
from spanlike.errors import InvalidInputError, InvalidPositionError, UnknownInstrumentError
from spanlike.market import MarketSnapshot
from spanlike.portfolio import NET_ZERO_RELATIVE_TOLERANCE

DATA = Path(__file__).parent / "data"
MARKET = DATA / "batch_market.json"
REL = 1e-9


@pytest.fixture(scope="module")
def engines() -> dict[str, PreparedEngine]:
    market = MarketSnapshot.from_file(MARKET)
    out = {}
    for name in ("crypto-span", "deribit-style"):
        names = [n for n in sorted(market.quotes) if name == "crypto-span" or "_USDC" not in n]
        out[name] = prepare_engine(instruments=names, market=market, parameter_set=name)
    return out


def _unit(engine: PreparedEngine, row: int) -> str | None:
    ins = engine.universe.table.instruments[row]
    return "coin" if ins.is_inverse and not ins.is_option else None


def _after_reference(engine: PreparedEngine, account: PreparedAccount, orders: list[Order]) -> float:
    """IM of the book with the orders netted in, by a full margin_positions recompute."""
    held = dict(zip(account.rows.tolist(), account.quantity.tolist()))
    legs: dict[int, list[float]] = {}
    for o in orders:
        row = engine.row_of(o.instrument)
        legs.setdefault(row, []).append(engine.contract_quantity(row, o.quantity, o.unit, where="test"))
    for row, qs in legs.items():
        all_legs = [held.get(row, 0.0), *qs]
        net = math.fsum(all_legs)
        if abs(net) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(x) for x in all_legs):
            held.pop(row, None)
        else:
            held[row] = net
    rows = np.array(sorted(held), dtype=np.intp)
    qty = np.array([held[r] for r in rows.tolist()])
    return margin_positions(engine.universe, rows=rows, quantity=qty).initial_margin_usd


def _close(a: float, b: float, floor: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b), floor)


def _random_account(engine: PreparedEngine, rng: np.random.Generator, k: int) -> PreparedAccount:
    rows = np.sort(rng.choice(engine.packed.n_rows, size=k, replace=False))
    qty = rng.normal(size=k) * 10.0 ** rng.integers(-1, 2, size=k)
    return prepare_account(engine, rows=rows, quantity=qty)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(["crypto-span", "deribit-style"]),
       k=st.integers(0, 30), n_orders=st.integers(1, 4), close_one=st.booleans())
def test_what_if_equals_full_recompute(engines: dict[str, PreparedEngine], seed: int, name: str, k: int,
                                       n_orders: int, close_one: bool) -> None:
    engine = engines[name]
    rng = np.random.default_rng(seed)
    account = _random_account(engine, rng, k)
    before = margin_positions(engine.universe, rows=account.rows.astype(np.intp), quantity=account.quantity)
    assert account.initial_margin_usd == before.initial_margin_usd
    assert account.maintenance_margin_usd == before.maintenance_margin_usd
    orders = []
    for _ in range(n_orders):
        row = int(rng.integers(engine.packed.n_rows))
        orders.append(Order(engine.instrument_names[row], float(rng.normal() * 5), _unit(engine, row)))
    if close_one and k:
        row = int(account.rows[0])
        orders.append(Order(engine.instrument_names[row], -float(account.quantity[0]), _unit(engine, row)))
    result = account.what_if(orders)
    want = _after_reference(engine, account, orders)
    floor = 1e-9 * max(1.0, before.sum_of_requirements_usd)
    assert _close(result.initial_margin_after_usd, want, floor), (result, want)
    assert result.incremental_initial_margin_usd == result.initial_margin_after_usd - account.initial_margin_usd
    # apply() then gives the same book as the reference and the same "after".
    applied = account.apply(orders)
    assert _close(applied.initial_margin_usd, want, floor)


def test_single_order_paths_agree(engines: dict[str, PreparedEngine]) -> None:
    engine = engines["crypto-span"]
    account = _random_account(engine, np.random.default_rng(1), 200 if engine.packed.n_rows >= 200 else 60)
    name = "BTC-25DEC26-100000-C"
    a = account.what_if([Order(name, -3.0)])
    b = account.what_if_quantity(name, -3.0)
    c = account.what_if([(name, -1.0), (name, -2.0)])
    assert a == b
    assert _close(c.initial_margin_after_usd, a.initial_margin_after_usd, 1e-9)
    assert _close(a.initial_margin_after_usd, _after_reference(engine, account, [Order(name, -3.0)]), 1e-9)


def test_closing_every_position_gives_zero(engines: dict[str, PreparedEngine]) -> None:
    engine = engines["crypto-span"]
    account = _random_account(engine, np.random.default_rng(5), 12)
    orders = [Order(engine.instrument_names[r], -q, _unit(engine, r))
              for r, q in zip(account.rows.tolist(), account.quantity.tolist())]
    result = account.what_if(orders)
    assert result.initial_margin_after_usd == 0.0 and result.maintenance_margin_after_usd == 0.0


def test_usd_sized_order_converts_at_the_futures_price(engines: dict[str, PreparedEngine]) -> None:
    engine = engines["deribit-style"]
    account = _random_account(engine, np.random.default_rng(9), 10)
    row = engine.row_of("BTC-PERPETUAL")
    forward = float(engine.universe.table.contracts.forward[row])
    usd = account.what_if([Order("BTC-PERPETUAL", 2 * forward, "usd")])
    coin = account.what_if([Order("BTC-PERPETUAL", 2.0, "coin")])
    assert _close(usd.initial_margin_after_usd, coin.initial_margin_after_usd, 1e-9)


@pytest.mark.parametrize("name,instrument,side", [
    ("crypto-span", "BTC-25DEC26-110000-C", -1),
    ("crypto-span", "ETH_USDC-25DEC26", 1),
    ("deribit-style", "BTC-25DEC26-90000-P", -1),
    ("deribit-style", "ETH-PERPETUAL", 1),
])
def test_max_quantity_verified_by_recompute(engines: dict[str, PreparedEngine], name: str, instrument: str,
                                            side: int) -> None:
    """At the answer the recomputed IM is within equity; one tolerance above it, it is not."""
    engine = engines[name]
    account = _random_account(engine, np.random.default_rng(11), 8)
    unit = _unit(engine, engine.row_of(instrument))
    equity = account.initial_margin_usd + 250_000.0
    res = account.max_order_quantity(instrument, equity_usd=equity, side=side, unit=unit)  # type: ignore[arg-type]
    assert res.bounded and res.within_equity_now and res.quantity > 0.0
    assert res.tolerance <= max(1e-9 * (res.quantity + res.tolerance), 1e-9)
    at = _after_reference(engine, account, [Order(instrument, side * res.quantity, unit)])
    above = _after_reference(engine, account, [Order(instrument, side * (res.quantity + res.tolerance), unit)])
    assert at <= equity
    assert above > equity
    assert _close(res.margin_at_quantity_usd, at, 1e-9 * equity)


def test_max_quantity_edge_cases(engines: dict[str, PreparedEngine]) -> None:
    engine = engines["crypto-span"]
    account = _random_account(engine, np.random.default_rng(3), 6)
    already = account.max_order_quantity("BTC-PERPETUAL", equity_usd=account.initial_margin_usd - 1.0, unit="usd")
    assert not already.within_equity_now and already.quantity == 0.0
    empty = prepare_account(engine, rows=[], quantity=[])
    long_call = empty.max_order_quantity("BTC-25DEC26-110000-C", equity_usd=0.0, cap=1e6)
    assert not long_call.bounded  # a long option under SPAN needs no margin beyond its premium (NOV)
    with pytest.raises(InvalidInputError, match="side"):
        account.max_order_quantity("BTC-PERPETUAL", equity_usd=1.0, side=2, unit="usd")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="finite"):
        account.max_order_quantity("BTC-PERPETUAL", equity_usd=math.nan, unit="usd")


def test_bad_orders(engines: dict[str, PreparedEngine]) -> None:
    account = _random_account(engines["crypto-span"], np.random.default_rng(2), 4)
    with pytest.raises(UnknownInstrumentError, match="BTC-1JAN27"):
        account.what_if([Order("BTC-1JAN27", 1.0, "usd")])
    with pytest.raises(InvalidPositionError, match="finite"):
        account.what_if([Order("BTC-25DEC26-110000-C", math.nan)])
    with pytest.raises(InvalidPositionError, match="needs a unit"):
        account.what_if([Order("BTC-PERPETUAL", 1.0)])
    with pytest.raises(InvalidPositionError, match="INSTRUMENT:QTY"):
        Order.parse("BTC-PERPETUAL")
    assert Order.parse("BTC-PERPETUAL:-5e4:usd") == Order("BTC-PERPETUAL", -50_000.0, "usd")


def test_cli_what_if(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "book.csv"
    book.write_text("instrument,quantity,unit\nBTC-25DEC26-110000-C,-5,coin\nBTC-PERPETUAL,-150000,usd\n")
    args = ["what-if", "--portfolio", str(book), "--market", str(MARKET), "--params", "crypto-span",
            "--order", "BTC-25DEC26-80000-P:-5", "--order", "BTC-PERPETUAL:50000:usd",
            "--max-quantity", "BTC-25DEC26-80000-P", "--side", "sell", "--equity", "60000", "--format", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    engine = prepare_engine(instruments=["BTC-25DEC26-110000-C", "BTC-PERPETUAL", "BTC-25DEC26-80000-P"],
                            market=MarketSnapshot.from_file(MARKET), parameter_set="crypto-span")
    row_c, row_p = engine.row_of("BTC-25DEC26-110000-C"), engine.row_of("BTC-PERPETUAL")
    f = float(engine.universe.table.contracts.forward[row_p])
    rows, qty = [row_c, row_p], [-5.0, -150_000 / f]
    account = prepare_account(engine, rows=rows, quantity=qty)
    assert out["initial_margin_before_usd"] == account.initial_margin_usd
    want = _after_reference(engine, account, [Order("BTC-25DEC26-80000-P", -5.0),
                                              Order("BTC-PERPETUAL", 50_000.0, "usd")])
    assert _close(out["initial_margin_after_usd"], want, 1e-9)
    mq = out["max_quantity"]
    assert mq["bounded"] and mq["quantity"] > 0
    assert _after_reference(engine, account, [Order("BTC-25DEC26-80000-P", -mq["quantity"])]) <= 60_000.0
    assert main(args[:-2]) == 0 and "incremental initial margin" in capsys.readouterr().out
    assert main(["what-if", "--portfolio", str(book), "--market", str(MARKET), "--order", "NOPE"]) == 2
    assert "INSTRUMENT:QTY" in capsys.readouterr().err


def test_overflowing_order_is_a_named_error() -> None:
    """An order of 1e308 coins must not report an infinite margin as if it were a number."""
    from spanlike.cli import main

    data = Path(__file__).resolve().parents[1] / "spanlike" / "data"
    code = main(["what-if", "--portfolio", str(data / "demo_portfolio.csv"), "--market", str(data / "demo_market.json"),
                 "--params", "crypto-span", "--order", "BTC-PERPETUAL:1e308:coin"])
    assert code == 2
