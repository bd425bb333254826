"""Risk arrays and composite deltas: validated public wrappers over the numba kernels.

The revaluation formula is the one in the :mod:`spanlike.risk_arrays.scenarios` module
docstring; the loss of each contract type is listed in
:func:`compute_risk_arrays`. Kernels live in :mod:`spanlike.risk_arrays.kernels`, their
plain-Python twins in :mod:`spanlike.risk_arrays.reference`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..params.errors import InvalidInputError, NumericalError
from .contracts import KIND_FUTURE, ContractArrays
from .kernels import _composite_delta_kernel, _risk_array_kernel, _risk_array_kernel_parallel
from .scenarios import ScenarioArrays

__all__ = ["compute_risk_arrays", "composite_delta"]

_SCENARIO_FIELDS = (
    "price_move_option",
    "price_move_future",
    "price_shift_abs",
    "vol_shift_abs",
    "vol_shift_rel",
    "vol_floor",
    "weight",
)
_DELTA_FIELDS = ("delta_price_move", "delta_price_shift_abs", "delta_weight")


def _float_field(owner: object, field: str, length: int | None) -> NDArray[np.float64]:
    values = np.ascontiguousarray(np.asarray(getattr(owner, field), dtype=np.float64))
    if values.ndim != 1 or (length is not None and values.shape[0] != length):
        expected = f"({length},)" if length is not None else "one-dimensional"
        raise InvalidInputError(f"'{field}' must have shape {expected}. Got {values.shape}.")
    bad = ~np.isfinite(values)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"'{field}' must be finite. Got {values[j]!r} at index {j}.")
    return values


def _contract_inputs(contracts: ContractArrays) -> dict[str, np.ndarray]:
    if not isinstance(contracts, ContractArrays):
        raise InvalidInputError(
            f"'contracts' must be a ContractArrays (build it with make_contract_arrays). Got {type(contracts).__name__}."
        )
    n = len(contracts)
    arrays: dict[str, np.ndarray] = {
        field: _float_field(contracts, field, n)
        for field in ("forward", "strike", "t_years", "vol", "rate", "multiplier")
    }
    arrays["kind"] = np.ascontiguousarray(contracts.kind, dtype=np.int8)
    arrays["inverse"] = np.ascontiguousarray(contracts.inverse, dtype=np.bool_)
    for field in ("kind", "inverse"):
        if arrays[field].shape != (n,):
            raise InvalidInputError(f"'{field}' must have shape ({n},). Got {arrays[field].shape}.")
    return arrays


def _time_advance(scenarios: ScenarioArrays) -> float:
    advance = float(scenarios.time_advance_years)
    if not (np.isfinite(advance) and advance >= 0.0):
        raise InvalidInputError(f"'time_advance_years' must be a finite time >= 0 in years. Got {advance!r}.")
    return advance


def _check_positive_scenario_prices(
    contracts: ContractArrays, forward: NDArray[np.float64], needs_positive: NDArray[np.bool_],
    move: NDArray[np.float64], shift: NDArray[np.float64], move_field: str,
) -> None:
    """Every scenario price F (1 + move_j) + shift_j must be > 0 where ``needs_positive``.

    The scenario price is affine in F, so checking the smallest and largest
    forward of the group covers every contract in O(n + m).
    """
    if not needs_positive.any() or move.size == 0:
        return
    group = np.flatnonzero(needs_positive)
    for i in (group[np.argmin(forward[group])], group[np.argmax(forward[group])]):
        prices = forward[i] * (1.0 + move) + shift
        if (prices <= 0.0).any():
            j = int(np.flatnonzero(prices <= 0.0)[0])
            raise InvalidInputError(
                f"Scenario {j} moves the price of {contracts.names[i]} (contract #{i}, forward {forward[i]!r}) "
                f"to {prices[j]!r} <= 0 ({move_field}={move[j]!r}, price_shift_abs={shift[j]!r}). "
                "Options and coin-settled contracts need positive scenario prices; reduce the down move."
            )


def _explain_non_finite(
    out: NDArray[np.float64], contracts: ContractArrays, scenarios: ScenarioArrays, vol_scale: NDArray[np.float64]
) -> None:
    bad = ~np.isfinite(out)
    if not bad.any():
        return
    i, j = (int(x) for x in np.argwhere(bad)[0])
    if contracts.kind[i] != KIND_FUTURE:
        shocked = max(
            float(contracts.vol[i]) * (1.0 + float(scenarios.vol_shift_rel[j]) * float(vol_scale[i]))
            + float(scenarios.vol_shift_abs[j]),
            float(scenarios.vol_floor[j]),
        )
        if shocked < 0.0:
            raise InvalidInputError(
                f"Scenario {j} shocks the vol of {contracts.names[i]} (contract #{i}, vol {float(contracts.vol[i])!r}, "
                f"vol_scale {float(vol_scale[i])!r}) to {shocked!r} < 0 (vol_shift_rel={float(scenarios.vol_shift_rel[j])!r}, "
                f"vol_shift_abs={float(scenarios.vol_shift_abs[j])!r}, vol_floor={float(scenarios.vol_floor[j])!r}). "
                "Set a vol_floor >= 0 for that scenario or a smaller down shock."
            )
    raise NumericalError(
        f"The risk array of {contracts.names[i]} (contract #{i}) is {out[i, j]!r} in scenario {j} for valid inputs; "
        "please report the contract and the grid."
    )


def compute_risk_arrays(
    *,
    contracts: ContractArrays,
    scenarios: ScenarioArrays,
    vol_scale: ArrayLike | None = None,
    parallel: bool = False,
) -> NDArray[np.float64]:
    """Risk arrays: the weighted loss of one long unit of each contract in each scenario.

    Parameters
    ----------
    contracts : ContractArrays
        ``n`` validated contracts (:func:`spanlike.risk_arrays.contracts.make_contract_arrays`).
    scenarios : ScenarioArrays
        ``m`` scenarios; the revaluation formula is in the :mod:`spanlike.risk_arrays.scenarios` docstring.
    vol_scale : array_like, shape (n,), optional
        Per-contract multiplier of the relative vol shocks (term scaling of
        exchange-style grids), finite and >= 0. Default 1 for every contract.
    parallel : bool, optional
        Use the multi-threaded kernel (``prange`` over contracts). Same numbers.

    Returns
    -------
    ndarray of float64, shape (n, m)
        ``R[i, j] = weight_j * loss``, positive = loss to a long, in the settlement currency:

        * linear option: ``mult (V(F, T, sigma) - V(F', T', sigma'))`` USD, V discounted Black-76;
        * inverse option: ``mult (V(F, T, sigma)/F - V(F', T', sigma')/F')`` coin;
        * linear future: ``mult (F - F')`` USD;
        * inverse future: ``-mult (F' - F)/F'`` coin.

        A short position contributes ``quantity * R[i]`` with negative quantity.

    Raises
    ------
    InvalidInputError
        Shape mismatches, non-finite scenario fields, a negative time advance, a
        bad ``vol_scale``, a scenario that makes an option's or a coin-settled
        contract's price <= 0, or a scenario vol below 0 (naming contract and scenario).
    NumericalError
        A non-finite result from valid inputs.
    """
    arrays = _contract_inputs(contracts)
    n = len(contracts)
    m = int(np.asarray(scenarios.weight).shape[0])
    fields = {field: _float_field(scenarios, field, m) for field in _SCENARIO_FIELDS}
    advance = _time_advance(scenarios)
    if vol_scale is None:
        scale = np.ones(n)
    else:
        scale = np.ascontiguousarray(np.asarray(vol_scale, dtype=np.float64))
        if scale.shape != (n,):
            raise InvalidInputError(f"'vol_scale' must have one entry per contract, shape ({n},). Got {scale.shape}.")
        bad = ~np.isfinite(scale) | (scale < 0.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"The 'vol_scale' of {contracts.names[i]} (contract #{i}) must be finite and >= 0. Got {scale[i]!r}."
            )
    is_option = arrays["kind"] != KIND_FUTURE
    _check_positive_scenario_prices(
        contracts, arrays["forward"], is_option, fields["price_move_option"], fields["price_shift_abs"], "price_move_option"
    )
    _check_positive_scenario_prices(
        contracts, arrays["forward"], ~is_option & arrays["inverse"], fields["price_move_future"],
        fields["price_shift_abs"], "price_move_future",
    )
    out = np.empty((n, m), dtype=np.float64)
    kernel = _risk_array_kernel_parallel if parallel else _risk_array_kernel
    kernel(
        arrays["forward"], arrays["strike"], arrays["t_years"], arrays["vol"], arrays["rate"],
        arrays["kind"], arrays["inverse"], arrays["multiplier"], scale,
        fields["price_move_option"], fields["price_move_future"], fields["price_shift_abs"],
        fields["vol_shift_abs"], fields["vol_shift_rel"], fields["vol_floor"], fields["weight"],
        advance, out,
    )
    _explain_non_finite(out, contracts, scenarios, scale)
    return out


def composite_delta(*, contracts: ContractArrays, scenarios: ScenarioArrays) -> NDArray[np.float64]:
    """Composite delta per long unit: the weighted mean of the deltas at the grid's delta points.

    Parameters
    ----------
    contracts : ContractArrays
        ``n`` validated contracts.
    scenarios : ScenarioArrays
        Supplies ``delta_price_move``, ``delta_price_shift_abs``, ``delta_weight``
        (``k`` points, weights >= 0 with a positive sum) and ``time_advance_years``.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``sum_k w_k delta_k / sum_k w_k`` in underlying-equivalent units (coins),
        at ``F_k = F (1 + move_k) + abs_k``, vol unchanged, ``T' = max(T - advance, 0)``:
        linear option ``mult dV/dF`` (discounted Black-76 delta); inverse option
        ``mult (dV/dF - V/F_k)`` (premium-adjusted); linear future ``mult``;
        inverse future ``mult F/F_k``. At ``T' = 0`` an option's delta is its
        payoff's slope (half of it exactly at the money).

    Raises
    ------
    InvalidInputError
        No delta points, negative or all-zero weights, non-finite fields, or a
        delta point that makes a price <= 0.
    NumericalError
        A non-finite result from valid inputs.
    """
    arrays = _contract_inputs(contracts)
    weights = _float_field(scenarios, "delta_weight", None)
    k = weights.shape[0]
    moves = _float_field(scenarios, "delta_price_move", k)
    shifts = _float_field(scenarios, "delta_price_shift_abs", k)
    if k == 0:
        raise InvalidInputError("The grid has no delta points; composite delta needs at least one 'delta_weight'.")
    if (weights < 0.0).any() or weights.sum() <= 0.0:
        raise InvalidInputError(
            f"'delta_weight' must be >= 0 with a positive sum. Got {weights.tolist()!r}."
        )
    advance = _time_advance(scenarios)
    is_option = arrays["kind"] != KIND_FUTURE
    _check_positive_scenario_prices(
        contracts, arrays["forward"], is_option | arrays["inverse"], moves, shifts, "delta_price_move"
    )
    out = np.empty(len(contracts), dtype=np.float64)
    _composite_delta_kernel(
        arrays["forward"], arrays["strike"], arrays["t_years"], arrays["vol"], arrays["rate"],
        arrays["kind"], arrays["inverse"], arrays["multiplier"], moves, shifts, weights, advance, out,
    )
    if not np.isfinite(out).all():
        i = int(np.flatnonzero(~np.isfinite(out))[0])
        raise NumericalError(
            f"The composite delta of {contracts.names[i]} (contract #{i}) is {out[i]!r} for valid inputs; "
            "please report the contract and the grid."
        )
    return out
