"""The account book's netting (one sort, pairs added in numpy) against a plain-Python twin.

Reference: dictionaries and ``math.fsum``, the rules of
:class:`spanlike.portfolio.Portfolio` then :func:`spanlike.universe.resolve_positions`
written out one row at a time: net per (account, instrument, unit), drop a
net zero (relative test), USD to contracts at forward x multiplier, net per
(account, universe row), drop a net zero. Compared exactly (``array_equal``
on the bytes of the quantities), on books built to repeat instruments in
groups of one, two and many rows, with exact cancellations.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from spanlike.batch.accounts import PositionRecord, build_account_book
from spanlike.batch.prepared import PreparedEngine, prepare_engine
from spanlike.market import MarketSnapshot
from spanlike.portfolio import NET_ZERO_RELATIVE_TOLERANCE

DATA = Path(__file__).parent / "data"
#: (instrument, unit) pairs the rules accept: coin-settled futures in USD or coin, options and USDC in coin.
LEGS = [
    ("BTC-PERPETUAL", "usd"), ("BTC-PERPETUAL", "coin"), ("BTC-25DEC26", "usd"), ("BTC-25DEC26", "coin"),
    ("BTC-25DEC26-100000-C", None), ("BTC-25DEC26-90000-P", None), ("ETH-PERPETUAL", "usd"),
    ("BTC_USDC-PERPETUAL", None), ("ETH-25DEC26-3400-C", None), ("SOL_USDC-PERPETUAL", None),
]


@pytest.fixture(scope="module")
def engine() -> PreparedEngine:
    market = MarketSnapshot.from_file(DATA / "batch_market.json")
    return prepare_engine(instruments=sorted(market.quotes), market=market, parameter_set="crypto-span")


def _zero(total: float, qs: list[float]) -> bool:
    return abs(total) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(x) for x in qs)


def _twin(records: list[PositionRecord], engine: PreparedEngine) -> dict[str, dict[int, float]]:
    """account -> universe row -> net contracts, one row at a time."""
    stage1: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    accounts: dict[str, None] = {}
    for r in records:
        accounts.setdefault(r.account, None)
        stage1[(r.account, r.instrument, r.unit or "coin")].append(r.quantity)
    c = engine.universe.table.contracts
    stage2: dict[tuple[str, int], list[float]] = defaultdict(list)
    for (account, name, unit), qs in stage1.items():
        total = math.fsum(qs)
        if _zero(total, qs):
            continue
        row = engine.row_of(name)
        stage2[(account, row)].append(total / (c.forward[row] * c.multiplier[row]) if unit == "usd" else total)
    out: dict[str, dict[int, float]] = {a: {} for a in accounts}
    for (account, row), qs in stage2.items():
        total = math.fsum(qs)
        if not _zero(total, qs):
            out[account][row] = total
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_book_equals_the_plain_python_twin(engine: PreparedEngine, seed: int) -> None:
    rng = np.random.default_rng(seed)
    records: list[PositionRecord] = []
    for i in range(3000):
        account = f"acc-{int(rng.integers(0, 200))}"
        name, unit = LEGS[int(rng.integers(0, len(LEGS)))]
        q = float(rng.normal(0.0, 50_000.0 if unit == "usd" else 5.0))
        records.append(PositionRecord(account, name, q, unit, f"row {i}"))
        if rng.random() < 0.1:  # an exact cancellation of the row just written
            records.append(PositionRecord(account, name, -q, unit, f"row {i}b"))
    book = build_account_book(records, engine=engine)
    want = _twin(records, engine)
    assert book.accounts == tuple(want)
    for account in book.accounts:
        rows, qty = book.positions(account)
        expect = sorted(want[account].items())
        np.testing.assert_array_equal(rows, [r for r, _ in expect])
        assert qty.tobytes() == np.array([q for _, q in expect], dtype=np.float64).tobytes()


def test_pairs_and_longer_groups_net_like_fsum(engine: PreparedEngine) -> None:
    """0.1 + 0.2 is one rounding (a pair); 1e3, 0.1, -1e3 needs fsum (left to right gives 0.10000000000002274)."""
    recs = [PositionRecord("a", "BTC-25DEC26-100000-C", 0.1), PositionRecord("a", "BTC-25DEC26-100000-C", 0.2),
            PositionRecord("b", "BTC-25DEC26-100000-C", 1e3), PositionRecord("b", "BTC-25DEC26-100000-C", 0.1),
            PositionRecord("b", "BTC-25DEC26-100000-C", -1e3)]
    book = build_account_book(recs, engine=engine)
    assert book.positions("a")[1].tolist() == [math.fsum([0.1, 0.2])]
    assert book.positions("b")[1].tolist() == [0.1]


def test_equity_lookup_in_any_order_equals_the_mapping_path() -> None:
    """Equity accounts found in the book by tuple equality, by pyarrow's hash lookup (>= 1000 names) or per name."""
    from spanlike.batch.accounts import AccountBook, EquityTable, equity_usd
    from spanlike.errors import UnknownAccountError

    rng = np.random.default_rng(4)
    names = tuple(f"acc-{i}" for i in range(3000))
    book = AccountBook(accounts=names, offsets=np.zeros(len(names) + 1, dtype=np.int64),
                       rows=np.zeros(0, dtype=np.int64), quantity=np.zeros(0), notes={})
    prices = {"BTC": 90_000.0}
    for order in (np.arange(len(names)), rng.permutation(len(names)), rng.permutation(len(names))[:500]):
        eq_names = tuple(names[i] for i in order)
        amount = rng.gamma(1.0, 1.0, len(eq_names))
        table = EquityTable(eq_names, ("BTC",), np.arange(len(eq_names), dtype=np.int64),
                            np.zeros(len(eq_names), dtype=np.int64), amount)
        want = equity_usd({a: {"BTC": float(x)} for a, x in zip(eq_names, amount)}, book=book, index_prices=prices)
        assert equity_usd(table, book=book, index_prices=prices).tobytes() == want.tobytes()
    stranger = EquityTable(names + ("nobody",), ("BTC",), np.arange(len(names) + 1, dtype=np.int64),
                           np.zeros(len(names) + 1, dtype=np.int64), np.ones(len(names) + 1))
    with pytest.raises(UnknownAccountError, match="account 'nobody' has equity but no row in the positions"):
        equity_usd(stranger, book=book, index_prices=prices)
