"""One list of (fast, reference) implementations, checked in tests and timed in benchmarks.

Like numbagg's ``COMPARISONS``: each :class:`Comparison` names a fast public
function, its plain-Python twin from :mod:`spanlike.risk_arrays.reference`, a generator
of random keyword inputs and the tolerance the two must meet. Both
``tests/test_risk_array_kernel.py`` and ``benchmarks/`` iterate over
:data:`COMPARISONS`, so a new kernel is tested and benchmarked by adding one
entry here.

Tolerances are absolute after dividing each output by its natural scale
(:attr:`Comparison.scale`): the forward times the multiplier for USD amounts,
the multiplier for coin amounts, 1 for Greeks computed at forward 1.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from .contracts import KIND_CALL, KIND_FUTURE, KIND_PUT, ContractArrays, make_contract_arrays
from .pricing import (
    Greeks,
    black76_greeks,
    black76_price,
    bsm_greeks,
    bsm_price,
    inverse_option_value,
)
from .reference import (
    reference_black76_price,
    reference_bsm_greeks,
    reference_bsm_price,
    reference_composite_delta,
    reference_greeks,
    reference_inverse_option_value,
    reference_risk_arrays,
)
from .revaluation import composite_delta, compute_risk_arrays
from .scenarios import ScenarioArrays

__all__ = [
    "Comparison",
    "COMPARISONS",
    "as_array",
    "scaled_max_difference",
    "make_option_inputs",
    "make_bsm_inputs",
    "make_contracts",
    "make_scenarios",
    "make_risk_array_inputs",
]

Inputs = dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """A fast implementation, its reference twin, an input generator and a tolerance.

    Attributes
    ----------
    name : str
        Workload name used in test ids and benchmark tables.
    fast, reference : callable
        Called as ``f(**inputs)``; return an array or a :class:`Greeks`.
    make_inputs : callable
        ``make_inputs(rng, size)`` returns the keyword inputs for ``size`` items.
    scale : callable
        ``scale(inputs)`` returns an array broadcastable to the output: the
        natural size of each output (see the module docstring).
    tolerance : float
        Largest allowed ``|fast - reference| / scale``.
    """

    name: str
    fast: Callable[..., Any]
    reference: Callable[..., Any]
    make_inputs: Callable[[np.random.Generator, int], Inputs]
    scale: Callable[[Inputs], NDArray[np.float64]]
    tolerance: float


def as_array(result: Any) -> NDArray[np.float64]:
    """An output as one float array: Greeks are stacked (6, ...) in field order."""
    if isinstance(result, Greeks):
        return np.stack([np.asarray(getattr(result, f.name), dtype=np.float64) for f in fields(result)])
    return np.asarray(result, dtype=np.float64)


def scaled_max_difference(comparison: Comparison, inputs: Inputs, fast_result: Any, reference_result: Any) -> float:
    """``max |fast - reference| / scale`` over all outputs."""
    fast_values, reference_values = as_array(fast_result), as_array(reference_result)
    if fast_values.shape != reference_values.shape:
        raise AssertionError(f"{comparison.name}: shapes differ, {fast_values.shape} vs {reference_values.shape}")
    if fast_values.size == 0:
        return 0.0
    return float(np.max(np.abs(fast_values - reference_values) / comparison.scale(inputs)))


# ---------------------------------------------------------------------------
# Input generators


def make_option_inputs(rng: np.random.Generator, size: int, forward: float = 1.0) -> Inputs:
    """Random Black-76 inputs: deep ITM to deep OTM, 1 day to 3 years, vol 5-200 %.

    ``forward`` sets the price level (1 = normalised, as the tolerances assume).
    """
    return {
        "forward": np.full(size, forward),
        "strike": forward * np.exp(rng.uniform(-1.5, 1.5, size)),
        "t_years": np.exp(rng.uniform(np.log(1.0 / 365.0), np.log(3.0), size)),
        "vol": rng.uniform(0.05, 2.0, size),
        "rate": rng.uniform(-0.02, 0.10, size),
        "is_call": rng.random(size) < 0.5,
    }


def make_bsm_inputs(rng: np.random.Generator, size: int) -> Inputs:
    """Random generalised-BSM inputs at spot 1: carry = rate - q with q in [-5 %, 10 %]."""
    inputs = make_option_inputs(rng, size)
    spot = inputs.pop("forward")
    return {"spot": spot, **inputs, "carry": inputs["rate"] - rng.uniform(-0.05, 0.10, size)}


def make_contracts(rng: np.random.Generator, size: int) -> ContractArrays:
    """Random contracts of all four types (linear/inverse x option/future).

    Forwards span 1e-2 to 1e5 USD, a tenth of the options are at expiry
    (``t_years = 0``), others expire from 1 day to 3 years.
    """
    kind = rng.choice(np.array([KIND_FUTURE, KIND_CALL, KIND_PUT]), size=size, p=[0.2, 0.4, 0.4])
    forward = np.exp(rng.uniform(np.log(1e-2), np.log(1e5), size))
    t_years = np.exp(rng.uniform(np.log(1.0 / 365.0), np.log(3.0), size))
    t_years[rng.random(size) < 0.1] = 0.0
    return make_contract_arrays(
        forward=forward,
        strike=forward * np.exp(rng.uniform(-1.0, 1.0, size)),
        t_years=t_years,
        vol=rng.uniform(0.05, 2.0, size),
        kind=kind,
        rate=rng.uniform(-0.02, 0.10, size),
        inverse=rng.random(size) < 0.5,
        multiplier=np.exp(rng.uniform(np.log(0.1), np.log(10.0), size)),
    )


def make_scenarios(
    rng: np.random.Generator,
    n_scenarios: int = 16,
    *,
    absolute_shifts: bool = False,
    reference_forward: float = 100.0,
    time_advance_years: float | None = None,
    n_delta_points: int = 7,
) -> ScenarioArrays:
    """Random scenario grid: moves -60 %..+300 %, relative and absolute vol shocks, floors, weights.

    With ``absolute_shifts`` each price also moves by up to +-5 % of
    ``reference_forward`` in USD (callers keep every scenario price positive).
    """
    m = n_scenarios
    move = rng.uniform(-0.6, 3.0, m)
    move_future = np.clip(move, -0.6, 0.5)  # a grid may cap futures' extended moves at the edge
    shift = rng.uniform(-0.05, 0.05, m) * reference_forward if absolute_shifts else np.zeros(m)
    k = n_delta_points
    return ScenarioArrays(
        price_move_option=move,
        price_move_future=move_future,
        price_shift_abs=shift,
        vol_shift_abs=rng.uniform(-0.1, 0.1, m),
        vol_shift_rel=rng.uniform(-0.6, 0.6, m),
        vol_floor=np.where(rng.random(m) < 0.3, rng.uniform(0.0, 0.5, m), 0.0),
        weight=rng.uniform(0.1, 1.0, m),
        time_advance_years=float(rng.uniform(0.0, 10.0 / 365.0)) if time_advance_years is None else time_advance_years,
        labels=tuple(f"scenario {j}" for j in range(m)),
        paired=np.full(m, -1, dtype=np.int64),
        is_extended=np.zeros(m, dtype=bool),
        delta_price_move=np.linspace(-0.3, 0.3, k),
        delta_price_shift_abs=np.zeros(k),
        delta_weight=rng.uniform(0.01, 0.3, k),
    )


def make_risk_array_inputs(
    rng: np.random.Generator, size: int, *, absolute_shifts: bool = False, n_scenarios: int = 16
) -> Inputs:
    """Contracts of all types, a random grid and per-contract vol scales in [0, 2].

    With ``absolute_shifts`` the forwards are kept near 100 so that a shift of
    up to 5 USD after a -60 % move leaves every price positive.
    """
    contracts = make_contracts(rng, size)
    if absolute_shifts:
        forward = np.exp(rng.uniform(np.log(50.0), np.log(200.0), size))
        moneyness = np.where(contracts.is_option, contracts.strike / contracts.forward, 1.0)
        contracts = make_contract_arrays(
            forward=forward,
            strike=moneyness * forward,
            t_years=contracts.t_years, vol=np.where(contracts.is_option, contracts.vol, 0.2),
            kind=contracts.kind, rate=contracts.rate, inverse=contracts.inverse, multiplier=contracts.multiplier,
        )
    return {
        "contracts": contracts,
        "scenarios": make_scenarios(rng, n_scenarios, absolute_shifts=absolute_shifts),
        "vol_scale": rng.uniform(0.0, 2.0, size),
    }


def _settlement_scale(inputs: Inputs) -> NDArray[np.float64]:
    contracts: ContractArrays = inputs["contracts"]
    scale = contracts.multiplier * np.where(contracts.inverse, 1.0, contracts.forward)
    return scale[:, None]


def _delta_scale(inputs: Inputs) -> NDArray[np.float64]:
    return np.asarray(inputs["contracts"].multiplier)


def _ones(inputs: Inputs) -> NDArray[np.float64]:
    return np.ones(1)


def _forward_scale(inputs: Inputs) -> NDArray[np.float64]:
    return np.asarray(inputs["forward"])


def _fast_risk_arrays_parallel(**inputs: Any) -> NDArray[np.float64]:
    return compute_risk_arrays(**inputs, parallel=True)


def _make_risk_array_inputs_abs(rng: np.random.Generator, size: int) -> Inputs:
    return make_risk_array_inputs(rng, size, absolute_shifts=True)


def _make_composite_delta_inputs(rng: np.random.Generator, size: int) -> Inputs:
    inputs = make_risk_array_inputs(rng, size)
    return {"contracts": inputs["contracts"], "scenarios": inputs["scenarios"]}


COMPARISONS: tuple[Comparison, ...] = (
    Comparison("black76_price", black76_price, reference_black76_price, make_option_inputs, _forward_scale, 1e-12),
    Comparison("inverse_option_value", inverse_option_value, reference_inverse_option_value, make_option_inputs, _ones, 1e-12),
    Comparison("bsm_price", bsm_price, reference_bsm_price, make_bsm_inputs, _ones, 1e-12),
    # Greeks at forward 1: gamma of a 1-day option is O(100), so 1e-10 absolute is ~1e-12 relative.
    Comparison("black76_greeks", black76_greeks, reference_greeks, make_option_inputs, _ones, 1e-10),
    Comparison("bsm_greeks", bsm_greeks, reference_bsm_greeks, make_bsm_inputs, _ones, 1e-10),
    Comparison("risk_arrays", compute_risk_arrays, reference_risk_arrays, make_risk_array_inputs, _settlement_scale, 1e-12),
    Comparison(
        "risk_arrays_abs_shift", compute_risk_arrays, reference_risk_arrays, _make_risk_array_inputs_abs,
        _settlement_scale, 1e-12,
    ),
    Comparison(
        "risk_arrays_parallel", _fast_risk_arrays_parallel, reference_risk_arrays, make_risk_array_inputs,
        _settlement_scale, 1e-12,
    ),
    Comparison(
        "composite_delta", composite_delta, reference_composite_delta, _make_composite_delta_inputs, _delta_scale, 1e-12
    ),
)
