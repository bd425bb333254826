"""The methodology layer: one home per rule, drivers that agree, imports that point down.

* The SPAN-file path and the engine margin the same futures book alike: the
  hand-written fixture ``tests/data/spn/futures.spn`` (4 scan points: +1/3
  PSR vol up/down, +-2 PSR at 35 %; the March future at 101.25 with a price
  scan of 150 per contract of 10 units) against a parameter set with the same
  scan points, an absolute price scan range of 15 USD per unit and contract
  multiplier 10. Hand check: a long contract loses 30 x 10 x 0.35 = 105 at -2
  PSR, so 2 contracts have scan risk 210 and, futures only, requirement 210.
  Tolerance 1e-12 relative (the same rules on the same numbers).
* Batch equals the engine: tests/test_batch.py and tests/test_cross_soundness.py.
* Every method is registered and read from the registry; an unknown one is a named error.
* Imports point down: params imports nothing of the other packages,
  risk_arrays nothing of spanlike but spanlike.params, the rule layer nothing
  of the drivers and analyses (read from the source with ``ast``).
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from spanlike import params
from spanlike.aggregation.methods import METHODS, method_of
from spanlike.engine import margin
from spanlike.errors import ParameterSetError
from spanlike.instruments import make_instrument
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio
from spanlike.results import COMPONENT_KEYS, ExchangeComponents, SpanComponents, VarComponents
from spanlike.spn import margin_file

ROOT = Path(__file__).resolve().parents[1]
FUTURES_SPN = ROOT / "tests" / "data" / "spn" / "futures.spn"


def _file_like_set() -> params.ParameterSet:
    """A one-commodity set whose grid is the fixture's pointDef, nothing else charged."""
    base = params.load("crypto-span").model_dump(mode="python")
    cc = dict(next(c for c in base["combined_commodities"] if c["settlement"] == "linear"))
    grid = dict(cc["grid"])
    grid.update(
        price_scan_range=15.0, price_scan_kind="absolute", vol_scan_range=0.0, time_advance_days=0.0,
        scan_points=[
            {"price_fraction": 1 / 3, "vol_fraction": 1.0, "weight": 1.0, "paired_point": 2},
            {"price_fraction": 1 / 3, "vol_fraction": -1.0, "weight": 1.0, "paired_point": 1},
            {"price_fraction": 2.0, "vol_fraction": 0.0, "weight": 0.35, "paired_point": None},
            {"price_fraction": -2.0, "vol_fraction": 0.0, "weight": 0.35, "paired_point": None},
        ],
        delta_points=[{"price_fraction": -0.5, "weight": 0.5}, {"price_fraction": 0.5, "weight": 0.5}],
    )
    span = dict(cc["span"])
    span.update(intra_spreads=[], delivery=None, short_option_minimum=None)
    cc.update(name="IDX_USD", underlying="IDX", settlement="linear", settlement_currency="USD", grid=grid, span=span)
    data = dict(base)
    data.update(combined_commodities=[cc], inter_spreads=[], correlation=None, joint_move_floor=None,
                cross_offsets={"positions": "all"}, isolated=None, margin_relation={"mm_factor": 1.0, "im_factor": 1.0})
    return params.from_mapping(data, source="the futures.spn fixture's grid")


@pytest.mark.parametrize("contracts", [2.0, -3.0, 7.5])
def test_span_file_path_and_engine_agree_on_a_futures_book(contracts: float, tmp_path: Path) -> None:
    future = make_instrument(underlying="IDX", kind="future", expiry=dt.datetime(2024, 3, 15, tzinfo=dt.timezone.utc),
                             settlement_currency="USD", multiplier=10.0, name="IDX-MAR24")
    market = MarketSnapshot.from_mapping({
        "valuation_time": "2024-01-02T18:00:00Z", "index_prices": {"IDX": 100.0},
        "instruments": [{"instrument": "IDX-MAR24", "mark_price": 101.25}],
    })
    engine = margin(Portfolio.from_positions([(future, contracts)]), market, _file_like_set())
    book = tmp_path / "book.csv"
    book.write_text(f"exchange,product,type,period,strike,put_call,quantity\nTX,IDX,FUT,202403,,,{contracts}\n")
    file_path = margin_file(spn=FUTURES_SPN, portfolio=book)
    e, f = engine.commodities[0], file_path.commodities[0]
    for key in ("scan_risk", "time_risk", "vol_risk", "price_risk", "intra_spread_charge", "short_option_minimum",
                "net_option_value"):
        assert e.component(key) == pytest.approx(f.component(key), rel=1e-12, abs=1e-12), key
    assert e.worst_scenario.index == f.worst_scenario.index
    assert e.requirement == pytest.approx(f.requirement, rel=1e-12)
    assert engine.initial_margin_usd == pytest.approx(file_path.initial_margin_usd, rel=1e-12)
    if contracts == 2.0:
        assert e.scan_risk == pytest.approx(210.0, rel=1e-12)  # 2 x 30 x 10 x 0.35, worked above


def test_methods_are_registered_with_their_records() -> None:
    records = {"span": SpanComponents, "exchange": ExchangeComponents, "var": VarComponents}
    for name, record in records.items():
        method = method_of(name)
        assert method.name == name and method is METHODS[name]
        fields = set(record.__dataclass_fields__)
        assert fields <= set(COMPONENT_KEYS), fields - set(COMPONENT_KEYS)
        assert {key for key, _ in method.report_rows} <= fields
    with pytest.raises(ParameterSetError, match="No margin method 'no-such-method' is registered; the methods are"):
        method_of("no-such-method")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                out.add(node.module)
    return out


@pytest.mark.parametrize("folder, forbidden", [
    ("params", ("spanlike", "risk_arrays")),
    ("risk_arrays", ("spanlike",)),
    ("spanlike/methodology", ("spanlike.batch", "spanlike.spn", "spanlike.efficiency", "spanlike.calibration",
                              "spanlike.cli", "spanlike.service", "spanlike.engine", "spanlike.aggregation",
                              "spanlike.venues")),
    ("spanlike/aggregation", ("spanlike.batch", "spanlike.spn", "spanlike.efficiency", "spanlike.calibration",
                              "spanlike.cli", "spanlike.service", "spanlike.engine")),
])
def test_imports_point_down(folder: str, forbidden: tuple[str, ...]) -> None:
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in _imports(path):
            # risk_arrays may use the parameter models (relative import ..params); params uses only itself.
            if folder == "risk_arrays" and name.startswith("params"):
                continue
            assert not any(name == f or name.startswith(f + ".") for f in forbidden), (path.name, name)


def _random_ladders(seed: int, n: int):  # type: ignore[no-untyped-def]
    """Ladders of 3 buckets with zeros, tiny values, equal magnitudes and both signs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pool = np.array([0.0, 1e-13, -1e-13, 1.0, -1.0, 2.5, -2.5, 1e-9, 3.0, -0.75, 1e6, -1e6])
    for _ in range(n):
        ladder = np.where(rng.random(3) < 0.5, rng.choice(pool, 3), rng.normal(0.0, 5.0, 3))
        b0, b1 = (int(x) for x in rng.integers(0, 3, 2))  # may share a bucket
        sides = (int(rng.choice([-1, 1])), int(rng.choice([-1, 1])))
        ratios = (float(rng.choice([1.0, 0.5, 2.0, 1.0 / 3.0])), float(rng.choice([1.0, 0.25, 3.0])))
        yield ladder, (b0, b1), sides, ratios


def test_two_leg_spread_twin_equals_the_general_rule_bit_for_bit() -> None:
    """The batch kernels' two-leg twin (compiled) and the general rule (Python body, as the engine
    calls it) give the same count, consumed deltas and ladder, bit for bit, on 20,000 ladders."""
    import numpy as np

    from spanlike.methodology.spreads import form_spread, form_two_leg_spread

    formed = 0
    for ladder, buckets, sides, ratios in _random_ladders(7, 20_000):
        general, twin = ladder.copy(), ladder.copy()
        taken = np.zeros(2)
        count = form_spread.py_func(general, np.array(buckets), np.array(ratios), np.array(sides), 2, taken)
        got = form_two_leg_spread(twin, buckets[0], buckets[1], sides[0], sides[1], ratios[0], ratios[1])
        assert got[0] == count
        if count > 0.0:
            formed += 1
            assert (got[1], got[2]) == (taken[0], taken[1])
        assert general.tobytes() == twin.tobytes()
    assert formed > 2_000  # the comparison covers spreads that form, not only ones that do not
