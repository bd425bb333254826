"""Scenario grids from a parameter set's grid section (methodology section 2).

:func:`scenario_arrays` turns a :class:`~spanlike.params.grids.SpanGrid` or
:class:`~spanlike.params.grids.ExchangeGrid` into the plain arrays the revaluation
kernels read (:class:`~spanlike.risk_arrays.scenarios.ScenarioArrays`), and
:func:`vol_term_scale` gives the per-contract scaling of relative vol shocks.

SPAN 16 (2.1): scenario ``j`` moves the price by ``price_fraction_j x PSR``
(relative or absolute) and the vol by ``vol_fraction_j x VSR`` (absolute vol
points or relative); its value counts at ``weight_j`` (the cover fraction for
the extreme moves). A vol-down move is floored at ``min_scenario_vol``.

Exchange style (2.2): price points ``k / n x price_range`` for
``k = -n .. n``, each with vol up (``sigma (1 + up x scale)``, at least
``min_vol_for_shock_up``), unchanged and down (``sigma (1 - down x scale)``,
at least ``min_scenario_vol``), in that order; then the extended moves with
vol up, weighted ``price_range / |move|``, where futures move only to the edge
``sign(move) x price_range``. ``scale = (pivot / max(DTE, floor)) ** p`` with
``p = short_power`` below the pivot (30 days) and ``long_power`` from it.

Historical (VaR/ES model, :mod:`spanlike.params.var_model`): scenario ``j`` is row ``j``
of the set's scenario set, read in the column of the commodity's underlying:
price move ``s_j`` for options and futures alike, vol move ``v_j`` relative
(``sigma (1 + v_j)``) or absolute (``sigma + v_j``) as the scenario set says,
floored at ``min_scenario_vol`` where ``v_j < 0``, weight 1, time advanced by
the grid's ``time_advance_days`` (the MPOR). The stress scenarios follow,
each move multiplied by the stress ``scale`` and flagged ``is_extended``.
Delta points are relative price moves.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..params.errors import InvalidInputError
from ..params.grids import ExchangeGrid, HistoricalGrid, SpanGrid
from ..params.var_model import ScenarioSet, VarModel
from .scenarios import ScenarioArrays

__all__ = ["scenario_arrays", "vol_term_scale", "term_scale", "DAYS_PER_YEAR"]

DAYS_PER_YEAR = 365.0


def _fraction_text(x: float) -> str:
    frac = Fraction(x).limit_denominator(12)
    if abs(float(frac) - x) > 1e-12:
        return f"{x:+g}"
    if frac.denominator == 1:
        return f"{frac.numerator:+d}"
    return f"{'+' if frac > 0 else '-'}{abs(frac.numerator)}/{frac.denominator}"


def _vol_word(fraction: float) -> str:
    if fraction > 0:
        return "vol up"
    if fraction < 0:
        return "vol down"
    return "vol unchanged"


def _span_arrays(grid: SpanGrid) -> ScenarioArrays:
    points = grid.points()
    m = len(points)
    price_fraction = np.array([p.price_fraction for p in points], dtype=np.float64)
    vol_fraction = np.array([p.vol_fraction for p in points], dtype=np.float64)
    relative_price = grid.price_scan_kind == "relative"
    move = price_fraction * grid.price_scan_range if relative_price else np.zeros(m)
    shift = np.zeros(m) if relative_price else price_fraction * grid.price_scan_range
    if grid.vol_scan_kind == "absolute":
        vol_abs, vol_rel = vol_fraction * grid.vol_scan_range, np.zeros(m)
    else:
        vol_abs, vol_rel = np.zeros(m), vol_fraction * grid.vol_scan_range
    # Only a vol-down move can push vol towards zero; the other scenarios keep sigma >= base.
    floor = np.where(vol_fraction < 0, grid.min_scenario_vol, 0.0)
    weight = np.array([p.weight for p in points], dtype=np.float64)
    labels = []
    for j, p in enumerate(points):
        if relative_price:
            price_text = f"price {move[j] * 100:+.4g}%"
        else:
            price_text = f"price {shift[j]:+,.6g} USD"
        text = f"{price_text} ({_fraction_text(p.price_fraction)} PSR), {_vol_word(p.vol_fraction)}"
        if p.weight < 1.0:
            text += f", {p.weight:.0%} counted"
        labels.append(text)
    paired = np.array([(p.paired_point - 1) if p.paired_point else -1 for p in points], dtype=np.int64)
    dp_fraction = np.array([d.price_fraction for d in grid.delta_points], dtype=np.float64)
    return ScenarioArrays(
        price_move_option=move,
        price_move_future=move.copy(),
        price_shift_abs=shift,
        vol_shift_abs=vol_abs,
        vol_shift_rel=vol_rel,
        vol_floor=floor,
        weight=weight,
        time_advance_years=grid.time_advance_days / DAYS_PER_YEAR,
        labels=tuple(labels),
        paired=paired,
        is_extended=np.abs(price_fraction) > 1.0 + 1e-12,
        delta_price_move=dp_fraction * grid.price_scan_range if relative_price else np.zeros(len(dp_fraction)),
        delta_price_shift_abs=np.zeros(len(dp_fraction)) if relative_price else dp_fraction * grid.price_scan_range,
        delta_weight=np.array([d.weight for d in grid.delta_points], dtype=np.float64),
        price_fraction=price_fraction,
    )


def _exchange_arrays(grid: ExchangeGrid) -> ScenarioArrays:
    n = grid.buckets_count
    up_floor = max(grid.min_vol_for_shock_up, grid.min_scenario_vol)
    vol_states = (
        ("vol up", grid.vol_shock_up, up_floor),
        ("vol unchanged", 0.0, 0.0),
        ("vol down", -grid.vol_shock_down, grid.min_scenario_vol),
    )
    opt_move: list[float] = []
    fut_move: list[float] = []
    vol_rel: list[float] = []
    floor: list[float] = []
    weight: list[float] = []
    labels: list[str] = []
    extended: list[bool] = []
    fraction: list[float] = []
    for k in range(-n, n + 1):
        move = grid.price_range * k / n
        for word, rel, flo in vol_states:
            fraction.append(k / n)
            opt_move.append(move)
            fut_move.append(move)
            vol_rel.append(rel)
            floor.append(flo)
            weight.append(1.0)
            labels.append(f"price {move * 100:+.4g}%, {word}")
            extended.append(False)
    for move in grid.extended_moves:
        w = grid.price_range / abs(move)
        opt_move.append(move)
        fut_move.append(np.copysign(grid.price_range, move))
        vol_rel.append(grid.vol_shock_up)
        floor.append(up_floor)
        weight.append(w)
        labels.append(f"extended price {move * 100:+.4g}%, vol up, weight {w:.3g}")
        extended.append(True)
        fraction.append(move / grid.price_range)
    m = len(weight)
    dp_fraction = np.array([d.price_fraction for d in grid.delta_points], dtype=np.float64)
    return ScenarioArrays(
        price_move_option=np.array(opt_move, dtype=np.float64),
        price_move_future=np.array(fut_move, dtype=np.float64),
        price_shift_abs=np.zeros(m),
        vol_shift_abs=np.zeros(m),
        vol_shift_rel=np.array(vol_rel, dtype=np.float64),
        vol_floor=np.array(floor, dtype=np.float64),
        weight=np.array(weight, dtype=np.float64),
        time_advance_years=grid.time_advance_days / DAYS_PER_YEAR,
        labels=tuple(labels),
        paired=np.full(m, -1, dtype=np.int64),
        is_extended=np.array(extended, dtype=np.bool_),
        delta_price_move=dp_fraction * grid.price_range,
        delta_price_shift_abs=np.zeros(len(dp_fraction)),
        delta_weight=np.array([d.weight for d in grid.delta_points], dtype=np.float64),
        price_fraction=np.array(fraction, dtype=np.float64),
    )


def _scenario_rows(
    scenarios: ScenarioSet, underlying: str, scale: float, mpor_days: float, stress: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Price moves, relative and absolute vol moves and labels of one underlying's column."""
    try:
        col = scenarios.column(underlying)
    except KeyError:
        raise InvalidInputError(
            f"The scenario set '{scenarios.name}' has no column for underlying {underlying!r} "
            f"(it has {list(scenarios.underlyings)}); add its moves to the parameter set."
        ) from None
    price = scale * scenarios.price_array()[:, col]
    vol = scale * scenarios.vol_array()[:, col]
    relative = scenarios.vol_move_kind == "relative"
    vol_rel = vol if relative else np.zeros_like(vol)
    vol_abs = np.zeros_like(vol) if relative else vol
    labels = []
    for date, s, v in zip(scenarios.dates, price, vol):
        vol_text = "vol unchanged" if v == 0.0 else (f"vol {v * 100:+.3g}%" if relative else f"vol {v * 100:+.3g} pts")
        head = f"stress {scenarios.name} {date}" if stress else f"{date}"
        text = f"{head}: {underlying} {s * 100:+.4g}% over {mpor_days:g} d, {vol_text}"
        if stress and scale != 1.0:
            text += f" (x{scale:g})"
        labels.append(text)
    return price, vol_rel, vol_abs, labels


def _historical_arrays(grid: HistoricalGrid, var_model: VarModel | None, underlying: str | None) -> ScenarioArrays:
    if var_model is None or underlying is None:
        raise InvalidInputError(
            "A historical grid takes its scenarios from the parameter set's var_model: pass "
            "scenario_arrays(grid, var_model=parameter_set.var_model, underlying=commodity.underlying)."
        )
    if grid.scenario_set != var_model.scenarios.name or grid.scenario_count != var_model.scenarios.n_scenarios:
        raise InvalidInputError(
            f"The historical grid names scenario set '{grid.scenario_set}' with {grid.scenario_count} scenarios but "
            f"the var_model holds '{var_model.scenarios.name}' with {var_model.scenarios.n_scenarios}; "
            "use the grid and var_model of one parameter set."
        )
    parts = [_scenario_rows(var_model.scenarios, underlying, 1.0, grid.time_advance_days, False)]
    if var_model.stress is not None:
        st = var_model.stress
        parts.append(_scenario_rows(st.scenarios, underlying, st.scale, grid.time_advance_days, True))
    price = np.concatenate([p[0] for p in parts])
    vol_rel = np.concatenate([p[1] for p in parts])
    vol_abs = np.concatenate([p[2] for p in parts])
    labels = tuple(label for p in parts for label in p[3])
    m = price.shape[0]
    extended = np.zeros(m, dtype=np.bool_)
    extended[var_model.scenarios.n_scenarios :] = True
    # Only a falling vol can approach zero; a rising one keeps sigma >= base (as in SPAN grids).
    floor = np.where((vol_rel < 0.0) | (vol_abs < 0.0), grid.min_scenario_vol, 0.0)
    dp_move = np.array([d.price_fraction for d in grid.delta_points], dtype=np.float64)
    return ScenarioArrays(
        price_move_option=price,
        price_move_future=price.copy(),
        price_shift_abs=np.zeros(m),
        vol_shift_abs=vol_abs,
        vol_shift_rel=vol_rel,
        vol_floor=floor,
        weight=np.ones(m),
        time_advance_years=grid.time_advance_days / DAYS_PER_YEAR,
        labels=labels,
        paired=np.full(m, -1, dtype=np.int64),
        is_extended=extended,
        delta_price_move=dp_move,
        delta_price_shift_abs=np.zeros(dp_move.shape[0]),
        delta_weight=np.array([d.weight for d in grid.delta_points], dtype=np.float64),
    )


def scenario_arrays(
    grid: SpanGrid | ExchangeGrid | HistoricalGrid,
    *,
    var_model: VarModel | None = None,
    underlying: str | None = None,
) -> ScenarioArrays:
    """The scenarios of ``grid`` as kernel-ready arrays.

    Parameters
    ----------
    grid : SpanGrid, ExchangeGrid or HistoricalGrid
        A validated grid section of a parameter set.
    var_model : VarModel, optional
        The set's ``var_model``; required for a historical grid.
    underlying : str, optional
        The combined commodity's underlying (the scenario-set column); required
        for a historical grid.

    Returns
    -------
    ScenarioArrays
        SPAN: 16 scenarios (or the grid's explicit scan points) in CME order.
        Exchange: ``3 x (2n + 1)`` standard cells (price-major; vol up,
        unchanged, down) followed by the extended moves.
        Historical: the scenario set's rows in date order, then the stress
        scenarios (``is_extended`` True).

    Raises
    ------
    InvalidInputError
        A historical grid without ``var_model``/``underlying``, a grid that does
        not match the var_model, or an underlying the scenario sets lack.
    """
    if isinstance(grid, SpanGrid):
        return _span_arrays(grid)
    if isinstance(grid, ExchangeGrid):
        return _exchange_arrays(grid)
    if isinstance(grid, HistoricalGrid):
        return _historical_arrays(grid, var_model, underlying)
    raise TypeError(f"unsupported grid type {type(grid).__name__}")


def vol_term_scale(grid: SpanGrid | ExchangeGrid | HistoricalGrid, days_to_expiry: ArrayLike) -> NDArray[np.float64]:
    """Per-contract multiplier of the relative vol shocks.

    Parameters
    ----------
    grid : SpanGrid, ExchangeGrid or HistoricalGrid
    days_to_expiry : array_like, shape (n,)
        Calendar days to expiry, >= 0 (0 for perpetuals).

    Returns
    -------
    ndarray, shape (n,)
        SPAN and historical grids: ones (historical vol moves are observed,
        not scaled). Exchange grids:
        ``(term_pivot_days / max(DTE, dte_floor_days)) ** p`` with
        ``p = short_power`` where ``DTE < term_pivot_days``, else ``long_power``.

    Raises
    ------
    InvalidInputError
        A days-to-expiry entry is NaN or negative.
    """
    dte = np.asarray(days_to_expiry, dtype=np.float64)
    bad = ~np.isfinite(dte) | (dte < 0.0)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise InvalidInputError(
            f"days_to_expiry[{i}] must be a non-negative number of days. Got {dte.ravel()[i]!r}."
        )
    if not isinstance(grid, ExchangeGrid):
        return np.ones_like(dte)
    return term_scale(dte, pivot_days=grid.term_pivot_days, floor_days=grid.dte_floor_days,
                      short_power=grid.short_power, long_power=grid.long_power)


def term_scale(
    days_to_expiry: NDArray[np.float64], *, pivot_days: float, floor_days: float, short_power: float,
    long_power: float,
) -> NDArray[np.float64]:
    """The term scaling of relative vol shocks, ``(pivot / max(DTE, floor)) ** p`` (methodology 2.2).

    One rule for every term-scaled grid: the exchange-style grid
    (:func:`vol_term_scale`) and Derive's vol shocks
    (:mod:`spanlike.methodology.derive`, ``_addVolShocks`` of Derive's
    ``PMRMLib_2``) call it.

    Parameters
    ----------
    days_to_expiry : ndarray
        Calendar days to expiry, >= 0 (checked by the callers).
    pivot_days, floor_days : float
        Pivot (30 for Deribit and Derive) and floor of the days to expiry, > 0.
    short_power, long_power : float
        ``p`` below the pivot and from it. At ``DTE = pivot`` the base is 1,
        so the power used there does not matter: Derive takes the short power
        up to and including 30 days, this takes the long one; both give 1.

    Returns
    -------
    ndarray
        Multiplier of the relative vol shocks, same shape as ``days_to_expiry``.
    """
    dte = np.asarray(days_to_expiry, dtype=np.float64)
    power = np.where(dte < pivot_days, short_power, long_power)
    return (pivot_days / np.maximum(dte, floor_days)) ** power
