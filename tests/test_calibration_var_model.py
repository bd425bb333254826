"""VaR/ES margin model: hand-computed quantiles, a vollib revaluation, joint aggregation, validation, building.

Quantile convention (spanlike.methodology.tail_measures): with n losses at
confidence a, m = n (1 - a), j = floor(m): VaR = the (j + 1)-th largest loss,
ES = (sum of the j largest + (m - j) x VaR) / m.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vollib.black import black

from spanlike import params
import spanlike
from spanlike.params.errors import ParameterSetError
from spanlike.calibration.history import PriceHistory, VolHistory, load_history
from spanlike.calibration.var_model import build_var_parameter_set
from spanlike.engine import margin, margin_positions, prepare
from spanlike.errors import InvalidInputError
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio

SYNTHETIC = Path(spanlike.__file__).parent / "data" / "synthetic_history.csv"
DATA = Path(spanlike.__file__).parent / "data"
VALUATION = "2026-11-24T08:00:00Z"


def _hand_var_es(losses: list[float], confidence: float) -> tuple[float, float]:
    """The project's convention written out in plain Python."""
    ordered = sorted(losses, reverse=True)
    m = round(len(losses) * (1 - confidence), 9)
    j = math.floor(m)
    var = ordered[j]
    es = (sum(ordered[:j]) + (m - j) * var) / m
    return var, es


def _dates(n: int) -> list[str]:
    return [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(n)]


def _var_set(
    *,
    moves: dict[str, list[float]],
    vol_moves: dict[str, list[float]] | None = None,
    commodities: tuple[tuple[str, str, str], ...] = (("BTC_USDC", "BTC", "linear"),),
    measure: str = "var",
    confidence: float = 0.9,
    mpor_days: int = 2,
    stress: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    underlyings = list(moves)
    n = len(moves[underlyings[0]])
    scenarios: dict[str, Any] = {
        "name": "hs",
        "underlyings": underlyings,
        "dates": _dates(n),
        "price_moves": [[moves[u][j] for u in underlyings] for j in range(n)],
    }
    if vol_moves is not None:
        scenarios["vol_moves"] = [[vol_moves[u][j] for u in underlyings] for j in range(n)]
    ccs = []
    for name, u, settlement in commodities:
        ccs.append({
            "name": name, "underlying": u, "settlement": settlement,
            "settlement_currency": u if settlement == "coin" else "USDC",
            "grid": {"family": "historical", "scenario_set": "hs", "scenario_count": n,
                     "time_advance_days": float(mpor_days), "min_scenario_vol": 0.05},
        })
    data: dict[str, Any] = {
        "metadata": {"name": "test-var", "version": "1", "as_of": "2026-11-24"},
        "combined_commodities": ccs,
        "var_model": {"measure": measure, "confidence": confidence, "mpor_days": mpor_days, "scenarios": scenarios},
    }
    if stress is not None:
        data["var_model"]["stress"] = stress
    if extra:
        data.update(extra)
    return data


def _perp_market(prices: dict[str, float]) -> MarketSnapshot:
    rows = [{"instrument": f"{u}_USDC-PERPETUAL", "mark_price": p} for u, p in prices.items()]
    return MarketSnapshot.from_mapping({"valuation_time": VALUATION, "index_prices": prices, "instruments": rows})


# 20 scenarios; at 0.9 the tail holds m = 2 observations, so VaR is the 3rd largest loss.
BTC_MOVES = [0.01, -0.12, 0.03, -0.05, 0.07, 0.0, -0.01, 0.02, -0.08, 0.15,
             -0.02, 0.04, -0.03, 0.05, 0.06, -0.04, 0.08, -0.06, 0.1, 0.09]


@pytest.mark.parametrize("measure", ["var", "es"])
@pytest.mark.parametrize("quantity", [2.0, -2.0])
def test_linear_position_is_return_quantile_times_value(measure: str, quantity: float) -> None:
    """Linear perpetual of q coins at F: loss_j = -q F s_j, so the margin is the loss quantile (exact arithmetic)."""
    ps = params.from_mapping(_var_set(moves={"BTC": BTC_MOVES}, measure=measure))
    f = 50_000.0
    result = margin(Portfolio.from_positions([("BTC_USDC-PERPETUAL", quantity)]), _perp_market({"BTC": f}), ps)
    cc = result.commodity("BTC_USDC")
    # Long 2: losses 2 x 50,000 x (-s): the three largest are 12,000 (-12 %), 8,000 (-8 %), 6,000 (-6 %)
    # -> VaR 6,000, ES (12,000 + 8,000) / 2 = 10,000. Short 2: 15,000, 10,000, 9,000 -> VaR 9,000, ES 12,500.
    var, es = (6_000.0, 10_000.0) if quantity > 0 else (9_000.0, 12_500.0)
    hand_var, hand_es = _hand_var_es([-quantity * f * s for s in BTC_MOVES], 0.9)
    assert (hand_var, hand_es) == pytest.approx((var, es), rel=1e-12)
    expected = var if measure == "var" else es
    assert cc.method == "var"
    assert cc.scan_risk == pytest.approx(expected, rel=1e-12)
    assert cc.requirement == pytest.approx(expected, rel=1e-12)
    assert result.requirement_usd == pytest.approx(expected, rel=1e-12)
    assert result.correlation_offset_usd == 0.0
    # the scenario vector is the per-scenario loss; the worst scenario carries its date
    assert cc.scenario_losses == pytest.approx([-quantity * f * s for s in BTC_MOVES], rel=1e-12, abs=1e-9)
    worst = 1 if quantity > 0 else 9
    assert cc.worst_scenario.index == worst
    assert cc.worst_scenario.label.startswith(_dates(20)[worst])
    assert cc.to_dict()["components"]["stress_charge"] == 0.0


def test_es_is_at_least_var_on_random_books() -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        moves = {"BTC": (rng.standard_t(4, 50) * 0.04).tolist(), "ETH": (rng.standard_t(4, 50) * 0.05).tolist()}
        book = Portfolio.from_positions([
            ("BTC_USDC-PERPETUAL", float(rng.normal(0, 3))), ("ETH_USDC-PERPETUAL", float(rng.normal(0, 30))),
        ])
        market = _perp_market({"BTC": 60_000.0, "ETH": 3_000.0})
        ccs = (("BTC_USDC", "BTC", "linear"), ("ETH_USDC", "ETH", "linear"))
        var = margin(book, market, params.from_mapping(_var_set(moves=moves, commodities=ccs, measure="var",
                                                                  confidence=0.95)))
        es = margin(book, market, params.from_mapping(_var_set(moves=moves, commodities=ccs, measure="es",
                                                                 confidence=0.95)))
        assert es.requirement_usd >= var.requirement_usd
        for c in es.commodities:
            assert c.scan_risk >= var.commodity(c.name).scan_risk
        # ES is subadditive: its diversification offset is never negative
        assert es.correlation_offset_usd >= -1e-9


def test_option_book_equals_plain_vollib_revaluation() -> None:
    """Coin-settled BTC options + inverse perpetual over joint price/vol scenarios, revalued with vollib by hand."""
    rng = np.random.default_rng(11)
    n = 40
    s = (rng.standard_normal(n) * 0.06).tolist()
    v = (rng.standard_normal(n) * 0.15).tolist()
    v[3] = -0.95  # vol 0.6 x 0.05 = 0.03 < 0.05: the floor binds in this scenario
    ps = params.from_mapping(_var_set(moves={"BTC": s}, vol_moves={"BTC": v}, commodities=(("BTC", "BTC", "coin"),),
                                      measure="es", confidence=0.9, mpor_days=2))
    f, index = 96_000.0, 95_000.0
    call_k, put_k, vol_c, vol_p = 100_000.0, 90_000.0, 0.6, 0.65
    market = MarketSnapshot.from_mapping({
        "valuation_time": VALUATION, "index_prices": {"BTC": index},
        "instruments": [
            {"instrument": "BTC-25DEC26-100000-C", "mark_iv": vol_c, "underlying_price": f},
            {"instrument": "BTC-25DEC26-90000-P", "mark_iv": vol_p, "underlying_price": f},
            {"instrument": "BTC-PERPETUAL", "mark_price": f},
        ],
    })
    book = Portfolio.from_positions([
        ("BTC-25DEC26-100000-C", -3.0), ("BTC-25DEC26-90000-P", 2.0), ("BTC-PERPETUAL", 1.5, "coin"),
    ])
    cc = margin(book, market, ps).commodity("BTC")
    t, t_after = 31 / 365, 29 / 365  # 2026-11-24 -> 2026-12-25 08:00; 2 days pass in every scenario
    hand = []
    for sj, vj in zip(s, v):
        f1 = f * (1 + sj)
        c0, c1 = black("c", f, call_k, t, 0.0, vol_c) / f, black("c", f1, call_k, t_after, 0.0,
                                                                 max(vol_c * (1 + vj), 0.05) if vj < 0 else vol_c * (1 + vj)) / f1
        p0, p1 = black("p", f, put_k, t, 0.0, vol_p) / f, black("p", f1, put_k, t_after, 0.0,
                                                                max(vol_p * (1 + vj), 0.05) if vj < 0 else vol_p * (1 + vj)) / f1
        perp = -1.5 * (f1 - f) / f1  # inverse perpetual of 1.5 coin loses -(F' - F)/F' per coin
        hand.append(-3.0 * (c0 - c1) + 2.0 * (p0 - p1) + perp)
    assert cc.scenario_losses == pytest.approx(hand, rel=1e-9, abs=1e-12)
    _, hand_es = _hand_var_es(hand, 0.9)
    assert cc.scan_risk == pytest.approx(max(hand_es, 0.0), rel=1e-9)
    assert cc.requirement_usd == pytest.approx(max(hand_es, 0.0) * index, rel=1e-9)


def test_joint_account_measure_and_offset_identity() -> None:
    """Long BTC, short ETH: the joint VaR of summed USD losses is below the sum; offset = sum - joint."""
    rng = np.random.default_rng(3)
    common = rng.standard_normal(30)
    btc = (0.05 * common + 0.01 * rng.standard_normal(30)).tolist()
    eth = (0.06 * common + 0.01 * rng.standard_normal(30)).tolist()
    ccs = (("BTC_USDC", "BTC", "linear"), ("ETH", "ETH", "coin"))
    ps = params.from_mapping(_var_set(moves={"BTC": btc, "ETH": eth}, commodities=ccs, confidence=0.9))
    market = MarketSnapshot.from_mapping({
        "valuation_time": VALUATION, "index_prices": {"BTC": 60_000.0, "ETH": 3_000.0},
        "instruments": [{"instrument": "BTC_USDC-PERPETUAL", "mark_price": 60_000.0},
                        {"instrument": "ETH-PERPETUAL", "mark_price": 3_000.0}],
    })
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 1.0), ("ETH-PERPETUAL", -20.0, "coin")])
    result = margin(book, market, ps)
    btc_loss = [-60_000.0 * x for x in btc]                      # USDC = USD
    eth_coin = [20.0 * x / (1 + x) for x in eth]                 # short 20 coin of an inverse perpetual, in ETH
    eth_usd = [3_000.0 * x for x in eth_coin]                    # at today's index
    joint = [a + b for a, b in zip(btc_loss, eth_usd)]
    k_btc, _ = _hand_var_es(btc_loss, 0.9)
    k_eth, _ = _hand_var_es(eth_coin, 0.9)
    j_var, _ = _hand_var_es(joint, 0.9)
    assert result.commodity("ETH").scan_risk == pytest.approx(k_eth, rel=1e-12)
    assert result.sum_of_requirements_usd == pytest.approx(k_btc + 3_000.0 * k_eth, rel=1e-12)
    assert result.requirement_usd == pytest.approx(j_var, rel=1e-12)
    assert result.sum_of_requirements_usd - result.correlation_offset_usd == pytest.approx(
        result.requirement_usd, rel=1e-15)
    assert result.correlation_offset_usd > 0.0
    universe, rows, quantity, _ = prepare(portfolio=book, market=market, parameter_set=ps)
    per_underlying = margin_positions(universe, rows=rows, quantity=quantity, cross_commodity=False)
    assert per_underlying.requirement_usd == pytest.approx(result.sum_of_requirements_usd, rel=1e-15)
    assert per_underlying.correlation_offset_usd == 0.0


@pytest.mark.parametrize("combine", ["max", "add"])
def test_stress_component(combine: str) -> None:
    stress = {"scenarios": {"name": "crash", "underlyings": ["BTC"], "dates": ["2020-03-12", "2020-03-13"],
                            "price_moves": [[-0.3], [0.1]]},
              "scale": 1.5, "weight": 0.5, "combine": combine}
    ps = params.from_mapping(_var_set(moves={"BTC": BTC_MOVES}, stress=stress))
    cc = margin(Portfolio.from_positions([("BTC_USDC-PERPETUAL", 2.0)]), _perp_market({"BTC": 50_000.0}), ps).commodity(
        "BTC_USDC")
    # stressed moves -45 % and +15 %: worst loss 2 x 50,000 x 0.45 = 45,000; weighted 22,500; VaR 6,000
    assert cc.scan_risk == pytest.approx(6_000.0, rel=1e-12)
    expected_stress = 22_500.0 - 6_000.0 if combine == "max" else 22_500.0
    assert cc.stress_charge == pytest.approx(expected_stress, rel=1e-12)
    assert cc.requirement == pytest.approx(6_000.0 + expected_stress, rel=1e-12)
    assert len(cc.scenario_losses) == 22
    assert cc.worst_scenario.label.startswith("stress crash 2020-03-12")


# ----------------------------------------------------------------------------- validation


def _cc(data: dict[str, Any]) -> dict[str, Any]:
    return data["combined_commodities"][0]


def _vm(data: dict[str, Any]) -> dict[str, Any]:
    return data["var_model"]


INVALID = [
    ("row count", lambda d: _vm(d)["scenarios"]["price_moves"].pop(), r"price_moves has 19 rows but there are 20 dates"),
    ("column count", lambda d: _vm(d)["scenarios"]["price_moves"][4].append(0.1),
     r"price_moves\[4\] has 2 values but there are 1 underlyings"),
    ("not finite", lambda d: _vm(d)["scenarios"]["price_moves"][2].__setitem__(0, float("nan")),
     r"price_moves\[2\]\[0\] must be a finite number"),
    ("move to zero", lambda d: _vm(d)["scenarios"]["price_moves"][2].__setitem__(0, -1.0),
     r"price_moves\[2\]\[0\] \(BTC on 2024-01-03\) is -1.0; a relative price move must be above -1"),
    ("dates unordered", lambda d: _vm(d)["scenarios"]["dates"].__setitem__(3, "2023-01-01"),
     r"dates must be strictly increasing"),
    ("undefined underlying", lambda d: _cc(d).update(underlying="SOL", name="SOL_USDC"),
     r"underlying 'SOL', which the scenario set 'hs' does not define"),
    ("count mismatch", lambda d: _cc(d)["grid"].update(scenario_count=21),
     r"grid.scenario_count is 21 but the scenario set 'hs' has 20 scenarios"),
    ("set name mismatch", lambda d: _cc(d)["grid"].update(scenario_set="other"),
     r"grid.scenario_set is 'other' but the var_model's scenario set is called 'hs'"),
    ("time advance", lambda d: _cc(d)["grid"].update(time_advance_days=1.0),
     r"time_advance_days is 1.0 but var_model.mpor_days is 2"),
    ("too few scenarios", lambda d: _vm(d).update(confidence=0.99),
     r"20 scenarios leave no observation in the 0.01 tail at confidence 0.99; give at least 100"),
    ("no var_model", lambda d: d.pop("var_model"), r"has a historical grid, which needs the set's 'var_model'"),
    ("correlation", lambda d: d.update(correlation={"combined_commodities": ["BTC_USDC"], "matrix": [[1.0]]}),
     r"remove 'correlation'"),
    ("span section", lambda d: _cc(d).update(span={}), r"historical grid \(VaR/ES model\): remove its 'span'"),
    ("vol shape", lambda d: _vm(d)["scenarios"].update(vol_moves=[[0.1]] * 19), r"vol_moves has 19 rows"),
    ("stress scale", lambda d: _vm(d).update(stress={"scenarios": {"name": "s", "underlyings": ["BTC"],
                                                                   "dates": ["2020-03-12"], "price_moves": [[-0.5]]},
                                                     "scale": 2.0}),
     r"scale 2.0 x price move -0.5 \(BTC on 2020-03-12\) = -1.0 is not above -1"),
]


@pytest.mark.parametrize("label, edit, message", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_var_sets_name_field_value_and_fix(label: str, edit: Any, message: str) -> None:
    data = _var_set(moves={"BTC": list(BTC_MOVES)})
    edit(data)
    with pytest.raises(ParameterSetError, match=message):
        params.from_mapping(data, source="test")


def test_mixing_models_is_rejected() -> None:
    data = params.load("crypto-span").model_dump(mode="json")
    data["var_model"] = _var_set(moves={"BTC": BTC_MOVES})["var_model"]
    data["inter_spreads"], data["correlation"] = [], None
    with pytest.raises(ParameterSetError, match=r"combined commodity BTC has a span16 grid; give every combined"):
        params.from_mapping(data)


# ----------------------------------------------------------------------------- building from history


def test_build_from_synthetic_history_matches_hand_moves() -> None:
    history = load_history(SYNTHETIC)
    ps = build_var_parameter_set(history=history, base=params.load("crypto-span"), measure="es", confidence=0.99,
                                 mpor_days=2, lookback_days=400)
    vm = ps.var_model
    assert vm is not None and vm.measure == "es" and vm.mpor_days == 2
    s = vm.scenarios
    assert s.underlyings == ("BTC", "ETH", "SOL") and s.n_scenarios == 399 and not s.filtered
    closes = history.closes[-401:]
    # scenario 0: the window of closes 0..2 of the look-back, dated by its last day
    assert s.dates[0] == dt.date.fromisoformat(str(history.timestamps[-399])[:10])
    assert s.price_moves[0][1] == pytest.approx(closes[2, 1] / closes[0, 1] - 1, rel=1e-12)
    assert s.price_moves[-1][0] == pytest.approx(closes[-1, 0] / closes[-3, 0] - 1, rel=1e-12)
    assert [cc.method for cc in ps.combined_commodities] == ["var"] * 5
    assert ps.inter_spreads == () and ps.correlation is None
    assert ps.metadata.name == "crypto-span-var" and ps.metadata.version == "2026.12.1+var.20241231"
    assert ps.margin_relation == params.load("crypto-span").margin_relation
    # the set round-trips through TOML and margins the demo book
    assert params.from_mapping(__import__("tomllib").loads(params.dumps_toml(ps))) == ps
    result = margin(DATA / "demo_portfolio.csv", DATA / "demo_market.json", ps)
    assert result.requirement_usd > 0


def test_build_filtered_stress_and_implied_vols() -> None:
    history = load_history(SYNTHETIC)
    ts = history.timestamps
    iv = VolHistory(timestamps=ts, vols=np.column_stack([np.linspace(0.5, 0.7, ts.size)]), names=("BTC",))
    ps = build_var_parameter_set(history=history, base=params.load("crypto-span"), measure="var", confidence=0.95,
                                 mpor_days=1, lookback_days=200, filtered=True, iv_history=iv,
                                 stress_period=("2020-03-01", "2020-03-10"), stress_scale=1.2)
    vm = ps.var_model
    assert vm is not None and vm.scenarios.filtered and vm.scenarios.name.startswith("fhs_")
    btc, eth = vm.scenarios.column("BTC"), vm.scenarios.column("ETH")
    vols = iv.vols[-201:, 0]
    assert vm.scenarios.vol_moves[5][btc] == pytest.approx(vols[6] / vols[5] - 1, rel=1e-12)
    assert vm.scenarios.vol_moves[5][eth] == 0.0  # not in the implied-vol history: unchanged
    assert "ETH, SOL vol unchanged" in vm.scenarios.provenance["vol_moves"]
    assert vm.stress is not None and vm.stress.scale == 1.2 and vm.stress.scenarios.n_scenarios == 10
    assert vm.stress.scenarios.dates[0] == dt.date(2020, 3, 1)


def test_build_errors() -> None:
    history = load_history(SYNTHETIC)
    base = params.load("crypto-span")
    two = PriceHistory(timestamps=history.timestamps, closes=history.closes[:, :2], names=("BTC", "ETH"))
    with pytest.raises(InvalidInputError, match=r"no closes for \['SOL'\].*drop_uncovered=True"):
        build_var_parameter_set(history=two, base=base, measure="es", confidence=0.99, mpor_days=2)
    ps = build_var_parameter_set(history=two, base=base, measure="es", confidence=0.99, mpor_days=2,
                                 drop_uncovered=True)
    assert [cc.name for cc in ps.combined_commodities] == ["BTC", "ETH", "BTC_USDC", "ETH_USDC"]
    assert ps.metadata.provenance["dropped_combined_commodities"] == "SOL_USDC"
    with pytest.raises(InvalidInputError, match=r"gives 49 2-day scenarios, which leave no observation .* need at least 100"):
        build_var_parameter_set(history=history, base=base, measure="es", confidence=0.99, mpor_days=2,
                                lookback_days=50)
    with pytest.raises(InvalidInputError, match=r"measure must be 'var' or 'es'; got 'cvar'"):
        build_var_parameter_set(history=history, base=base, measure="cvar", confidence=0.99, mpor_days=2)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"confidence must lie strictly between 0 and 1"):
        build_var_parameter_set(history=history, base=base, measure="es", confidence=99, mpor_days=2)
    with pytest.raises(InvalidInputError, match=r"ends inside the stress period 2030-01-01..2030-02-01"):
        build_var_parameter_set(history=history, base=base, measure="es", confidence=0.99, mpor_days=2,
                                stress_period=("2030-01-01", "2030-02-01"))


def test_historical_grid_needs_its_var_model() -> None:
    from spanlike.risk_arrays.grids import scenario_arrays

    ps = params.from_mapping(_var_set(moves={"BTC": BTC_MOVES}))
    with pytest.raises(InvalidInputError, match=r"takes its scenarios from the parameter set's var_model"):
        scenario_arrays(ps.combined_commodities[0].grid)
    arrays = scenario_arrays(ps.combined_commodities[0].grid, var_model=ps.var_model, underlying="BTC")
    assert arrays.n_scenarios == 20 and arrays.time_advance_years == pytest.approx(2 / 365, rel=1e-15)
    assert arrays.price_move_option.tolist() == BTC_MOVES


def test_efficiency_attribution_refuses_a_var_model_clearly() -> None:
    """A VaR/ES requirement is one quantile: there is no component chain to attribute savings to."""
    from spanlike.efficiency.attribution import attribute_savings
    from spanlike.efficiency.levels import margin_levels
    from spanlike.engine import prepare

    isolated = params.load("crypto-span").model_dump(mode="json")["isolated"]
    isolated["underlyings"] = [u for u in isolated["underlyings"] if u["underlying"] == "BTC"]
    ps = params.from_mapping(_var_set(moves={"BTC": BTC_MOVES}, extra={"isolated": isolated}))
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 2.0)])
    universe, rows, qty, _ = prepare(portfolio=book, market=_perp_market({"BTC": 50_000.0}), parameter_set=ps)
    with pytest.raises(InvalidInputError, match="is a VaR/ES model, whose requirement is one quantile"):
        attribute_savings(margin_levels(universe, rows=rows, quantity=qty), universe=universe, rows=rows,
                          quantity=qty)
