"""Risk-array and composite-delta kernels against their plain-Python twins and properties.

References and tolerances
-------------------------
* :mod:`spanlike.risk_arrays.reference` (loops over vollib's Black-76 and ``math``):
  every entry of :data:`spanlike.risk_arrays.registry.COMPARISONS` within its tolerance
  (1e-12 of forward x multiplier for USD cells, of the multiplier for coin
  cells; 1e-12 absolute for prices at forward 1, 1e-10 for Greeks).
* Serial and parallel kernels: bit-identical.
* Hand calculations written out below (Deribit-style inverse future, expiry).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanlike.params.errors import InvalidInputError
from spanlike.risk_arrays.contracts import KIND_CALL, KIND_FUTURE, KIND_PUT, make_contract_arrays
from spanlike.risk_arrays.pricing import black76_greeks, black76_price
from spanlike.risk_arrays.registry import COMPARISONS, Comparison, make_risk_array_inputs, scaled_max_difference
from spanlike.risk_arrays.revaluation import composite_delta, compute_risk_arrays
from spanlike.risk_arrays.scenarios import ScenarioArrays


def _scenarios(
    price_move: list[float],
    vol_shift_rel: list[float] | None = None,
    *,
    vol_shift_abs: list[float] | None = None,
    vol_floor: list[float] | None = None,
    price_shift_abs: list[float] | None = None,
    weight: list[float] | None = None,
    time_advance_years: float = 0.0,
    delta_price_move: list[float] | None = None,
    delta_weight: list[float] | None = None,
) -> ScenarioArrays:
    """A ScenarioArrays from plain lists (defaults: no vol move, weight 1, same moves for futures)."""
    m = len(price_move)

    def arr(values: list[float] | None, default: float) -> np.ndarray:
        return np.full(m, default) if values is None else np.asarray(values, dtype=float)

    delta_moves = [0.0] if delta_price_move is None else delta_price_move
    return ScenarioArrays(
        price_move_option=np.asarray(price_move, dtype=float),
        price_move_future=np.asarray(price_move, dtype=float),
        price_shift_abs=arr(price_shift_abs, 0.0),
        vol_shift_abs=arr(vol_shift_abs, 0.0),
        vol_shift_rel=arr(vol_shift_rel, 0.0),
        vol_floor=arr(vol_floor, 0.0),
        weight=arr(weight, 1.0),
        time_advance_years=time_advance_years,
        labels=tuple(f"s{j}" for j in range(m)),
        paired=np.full(m, -1, dtype=np.int64),
        is_extended=np.zeros(m, dtype=bool),
        delta_price_move=np.asarray(delta_moves, dtype=float),
        delta_price_shift_abs=np.zeros(len(delta_moves)),
        delta_weight=np.asarray([1.0] * len(delta_moves) if delta_weight is None else delta_weight, dtype=float),
    )


# ---------------------------------------------------------------------------
# Registry: fast == reference


@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_equals_reference(comparison: Comparison, seed: int) -> None:
    inputs = comparison.make_inputs(np.random.default_rng(seed), 300)
    difference = scaled_max_difference(
        comparison, inputs, comparison.fast(**inputs), comparison.reference(**inputs)
    )
    assert difference <= comparison.tolerance


def test_serial_equals_parallel_bit_for_bit() -> None:
    # Several chunks of contracts, so the parallel kernel really splits the work.
    for absolute_shifts in (False, True):
        inputs = make_risk_array_inputs(np.random.default_rng(5), 3000, absolute_shifts=absolute_shifts, n_scenarios=21)
        serial = compute_risk_arrays(**inputs)
        parallel = compute_risk_arrays(**inputs, parallel=True)
        assert np.array_equal(serial, parallel)


def test_empty_inputs() -> None:
    inputs = make_risk_array_inputs(np.random.default_rng(0), 3)
    contracts = inputs["contracts"].subset([])
    assert compute_risk_arrays(contracts=contracts, scenarios=inputs["scenarios"]).shape == (0, 16)


# ---------------------------------------------------------------------------
# Sign conventions against independent valuations


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from([KIND_CALL, KIND_PUT]),
    inverse=st.booleans(),
    moneyness=st.floats(-0.8, 0.8),
    t_years=st.floats(1.0 / 365.0, 2.0),
    vol=st.floats(0.1, 1.5),
    moves=st.lists(st.floats(-0.5, 1.0), min_size=1, max_size=9),
    vol_move=st.floats(-0.4, 0.4),
    quantity=st.floats(0.1, 50.0),
)
def test_short_position_loss_is_minus_the_long_array(
    kind: int, inverse: bool, moneyness: float, t_years: float, vol: float, moves: list[float], vol_move: float,
    quantity: float,
) -> None:
    """A short of q units loses q (V' - V) (coin: V'/F' - V/F): that must be -q R, R from the kernel."""
    forward, strike = 40_000.0, 40_000.0 * math.exp(moneyness)
    contracts = make_contract_arrays(forward=forward, strike=strike, t_years=t_years, vol=vol, kind=kind, inverse=inverse)
    scenarios = _scenarios(moves, [vol_move] * len(moves))
    long_array = compute_risk_arrays(contracts=contracts, scenarios=scenarios)[0]
    is_call = kind == KIND_CALL
    scenario_forward = forward * (1.0 + np.asarray(moves))
    base = float(black76_price(forward=forward, strike=strike, t_years=t_years, vol=vol, rate=0.0, is_call=is_call))
    moved = black76_price(
        forward=scenario_forward, strike=strike, t_years=t_years, vol=vol * (1.0 + vol_move), rate=0.0, is_call=is_call
    )
    short_loss = quantity * ((moved / scenario_forward - base / forward) if inverse else (moved - base))
    scale = 1.0 if inverse else forward
    assert np.max(np.abs(-quantity * long_array - short_loss)) <= 1e-12 * quantity * scale


def test_inverse_future_matches_deribit_formula() -> None:
    # Methodology 1: a long of 1 coin gains s/(1+s) coin; loss = -s/(1+s). Moves of Deribit's BTC grid.
    moves = [-0.16, -0.08, 0.0, 0.08, 0.16]
    contracts = make_contract_arrays(forward=65_000.0, strike=0.0, t_years=0.0, vol=0.0, kind=KIND_FUTURE, inverse=True)
    array = compute_risk_arrays(contracts=contracts, scenarios=_scenarios(moves))[0]
    assert array.tolist() == pytest.approx([-s / (1.0 + s) for s in moves], abs=1e-16)


def test_linear_future_and_weights() -> None:
    contracts = make_contract_arrays(forward=2_000.0, strike=0.0, t_years=0.5, vol=0.0, kind=KIND_FUTURE, multiplier=10.0)
    array = compute_risk_arrays(contracts=contracts, scenarios=_scenarios([0.1, -0.3], weight=[1.0, 0.35]))[0]
    # 10 x (2000 - 2200) = -2000; 0.35 x 10 x (2000 - 1400) = 2100
    assert array.tolist() == pytest.approx([-2000.0, 2100.0], rel=1e-15)


def test_expired_option_uses_intrinsic_value() -> None:
    contracts = make_contract_arrays(
        forward=[100.0] * 3, strike=[100.0, 95.0, 105.0], t_years=0.0, vol=0.5, kind=[KIND_CALL, KIND_CALL, KIND_PUT], rate=0.05
    )
    array = compute_risk_arrays(contracts=contracts, scenarios=_scenarios([-0.1, 0.0, 0.2], [0.5, -0.5, 0.0]))
    # base intrinsic 0, 5, 5; scenario forwards 90, 100, 120
    expected = [[0.0, 0.0, -20.0], [5.0, 0.0, -20.0], [-10.0, 0.0, 5.0]]
    np.testing.assert_allclose(array, expected, rtol=0.0, atol=1e-12)


def test_time_advance_past_expiry_values_at_intrinsic() -> None:
    contracts = make_contract_arrays(forward=100.0, strike=90.0, t_years=1.0 / 365.0, vol=0.8, kind=KIND_CALL)
    base = float(black76_price(forward=100.0, strike=90.0, t_years=1.0 / 365.0, vol=0.8, rate=0.0, is_call=True))
    array = compute_risk_arrays(contracts=contracts, scenarios=_scenarios([0.05], time_advance_years=2.0 / 365.0))
    assert float(array[0, 0]) == pytest.approx(base - 15.0, abs=1e-12)


def test_vol_floor_and_scale() -> None:
    contracts = make_contract_arrays(forward=[100.0, 100.0], strike=100.0, t_years=0.25, vol=0.2, kind=KIND_CALL)
    scenarios = _scenarios([0.0], [-0.5], vol_shift_abs=[0.01], vol_floor=[0.15])
    array = compute_risk_arrays(contracts=contracts, scenarios=scenarios, vol_scale=np.array([1.0, 0.2]))
    base = float(black76_price(forward=100.0, strike=100.0, t_years=0.25, vol=0.2, rate=0.0, is_call=True))
    # contract 0: 0.2 (1 - 0.5) + 0.01 = 0.11 -> floored at 0.15; contract 1: 0.2 (1 - 0.1) + 0.01 = 0.19
    for i, vol in enumerate((0.15, 0.19)):
        moved = float(black76_price(forward=100.0, strike=100.0, t_years=0.25, vol=vol, rate=0.0, is_call=True))
        assert float(array[i, 0]) == pytest.approx(base - moved, abs=1e-12)


# ---------------------------------------------------------------------------
# Composite delta


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from([KIND_CALL, KIND_PUT, KIND_FUTURE]),
    inverse=st.booleans(),
    moneyness=st.floats(-0.5, 0.5),
    t_years=st.floats(2.0 / 365.0, 2.0),
    vol=st.floats(0.1, 1.5),
    weights=st.lists(st.floats(0.01, 1.0), min_size=7, max_size=7),
)
def test_composite_delta_lies_between_extreme_point_deltas(
    kind: int, inverse: bool, moneyness: float, t_years: float, vol: float, weights: list[float]
) -> None:
    # Linear options, linear and inverse futures have deltas monotone in the price,
    # so the weighted mean lies between the deltas at the lowest and highest point.
    if kind != KIND_FUTURE and inverse:
        inverse = False  # premium-adjusted coin delta is not monotone in general
    forward = 50_000.0
    moves = list(np.linspace(-1.0, 1.0, 7) * 0.15)
    contracts = make_contract_arrays(
        forward=forward, strike=forward * math.exp(moneyness), t_years=t_years, vol=vol, kind=kind, inverse=inverse
    )
    scenarios = _scenarios([0.0], delta_price_move=moves, delta_weight=weights)
    composite = float(composite_delta(contracts=contracts, scenarios=scenarios)[0])
    ends = []
    for move in (moves[0], moves[-1]):
        one_point = _scenarios([0.0], delta_price_move=[move])
        ends.append(float(composite_delta(contracts=contracts, scenarios=one_point)[0]))
    assert min(ends) - 1e-12 <= composite <= max(ends) + 1e-12


def test_composite_delta_single_point_equals_black76_delta() -> None:
    contracts = make_contract_arrays(forward=[100.0, 100.0], strike=[90.0, 110.0], t_years=0.5, vol=0.6, kind=[KIND_CALL, KIND_PUT], rate=0.03, multiplier=2.0)
    delta = composite_delta(contracts=contracts, scenarios=_scenarios([0.0], delta_price_move=[0.0]))
    expected = black76_greeks(forward=100.0, strike=[90.0, 110.0], t_years=0.5, vol=0.6, rate=0.03, is_call=[True, False]).delta
    assert delta.tolist() == pytest.approx((2.0 * expected).tolist(), abs=1e-14)


def test_inverse_composite_delta_is_premium_adjusted() -> None:
    f, k = 60_000.0, 65_000.0
    contracts = make_contract_arrays(forward=f, strike=k, t_years=0.1, vol=0.6, kind=KIND_CALL, inverse=True)
    delta = float(composite_delta(contracts=contracts, scenarios=_scenarios([0.0], delta_price_move=[0.0]))[0])
    greeks = black76_greeks(forward=f, strike=k, t_years=0.1, vol=0.6, rate=0.0, is_call=True)
    assert delta == pytest.approx(float(greeks.delta) - float(greeks.price) / f, abs=1e-15)


# ---------------------------------------------------------------------------
# Invalid inputs


@pytest.fixture()
def small_book() -> dict:
    return make_risk_array_inputs(np.random.default_rng(3), 5)


@pytest.mark.parametrize("bad", [np.array([1.0, 1.0]), np.array([1.0, np.nan, 1.0, 1.0, 1.0]), np.array([1.0, -0.5, 1.0, 1.0, 1.0])])
def test_bad_vol_scale(small_book: dict, bad: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match="'vol_scale'"):
        compute_risk_arrays(contracts=small_book["contracts"], scenarios=small_book["scenarios"], vol_scale=bad)


@pytest.mark.parametrize("field", ["price_move_option", "vol_shift_rel", "vol_floor", "weight", "price_shift_abs"])
def test_non_finite_scenario_field(small_book: dict, field: str) -> None:
    scenarios = small_book["scenarios"]
    values = np.array(getattr(scenarios, field), dtype=float)
    values[3] = np.nan
    broken = ScenarioArrays(**{**scenarios.__dict__, field: values})
    with pytest.raises(InvalidInputError, match=f"'{field}'"):
        compute_risk_arrays(contracts=small_book["contracts"], scenarios=broken)


def test_scenario_shape_mismatch(small_book: dict) -> None:
    scenarios = small_book["scenarios"]
    broken = ScenarioArrays(**{**scenarios.__dict__, "vol_floor": np.zeros(3)})
    with pytest.raises(InvalidInputError, match="'vol_floor'"):
        compute_risk_arrays(contracts=small_book["contracts"], scenarios=broken)


def test_negative_time_advance(small_book: dict) -> None:
    broken = ScenarioArrays(**{**small_book["scenarios"].__dict__, "time_advance_years": -0.1})
    with pytest.raises(InvalidInputError, match="'time_advance_years'"):
        compute_risk_arrays(contracts=small_book["contracts"], scenarios=broken)


def test_non_positive_scenario_price() -> None:
    contracts = make_contract_arrays(forward=100.0, strike=100.0, t_years=0.5, vol=0.5, kind=KIND_PUT, names=["ETH-P"])
    with pytest.raises(InvalidInputError, match=r"ETH-P.*<= 0"):
        compute_risk_arrays(contracts=contracts, scenarios=_scenarios([-0.5], price_shift_abs=[-60.0]))


def test_negative_scenario_vol_names_contract_and_scenario() -> None:
    # With a floor >= 0 the max() in the formula keeps the vol >= 0; a negative floor
    # ("no floor") lets a large down shock through, which has no Black-76 value.
    contracts = make_contract_arrays(forward=100.0, strike=100.0, t_years=0.5, vol=0.5, kind=KIND_CALL, names=["BTC-C"])
    with pytest.raises(InvalidInputError, match=r"Scenario 1 shocks the vol of BTC-C.*vol_floor"):
        compute_risk_arrays(contracts=contracts, scenarios=_scenarios([0.0, 0.0], [0.0, -1.5], vol_floor=[-1.0, -1.0]))


def test_contracts_must_be_contract_arrays(small_book: dict) -> None:
    with pytest.raises(InvalidInputError, match="ContractArrays"):
        compute_risk_arrays(contracts={"forward": [1.0]}, scenarios=small_book["scenarios"])  # type: ignore[arg-type]


def test_composite_delta_needs_positive_weights() -> None:
    contracts = make_contract_arrays(forward=100.0, strike=100.0, t_years=0.5, vol=0.5, kind=KIND_CALL)
    with pytest.raises(InvalidInputError, match="'delta_weight'"):
        composite_delta(contracts=contracts, scenarios=_scenarios([0.0], delta_price_move=[0.0, 0.1], delta_weight=[0.0, 0.0]))
    with pytest.raises(InvalidInputError, match="'delta_weight'"):
        composite_delta(contracts=contracts, scenarios=_scenarios([0.0], delta_price_move=[0.0, 0.1], delta_weight=[1.0, -0.5]))
