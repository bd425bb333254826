"""Scenario grids from a parameter set's grid section (methodology section 2).

:func:`scenario_arrays` turns a :class:`~params.grids.SpanGrid` or
:class:`~params.grids.ExchangeGrid` into the plain arrays the revaluation
kernels read (:class:`~risk_arrays.scenarios.ScenarioArrays`), and
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
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from params.errors import InvalidInputError
from params.grids import ExchangeGrid, SpanGrid
from risk_arrays.scenarios import ScenarioArrays

__all__ = ["scenario_arrays", "vol_term_scale", "DAYS_PER_YEAR"]

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
    for k in range(-n, n + 1):
        move = grid.price_range * k / n
        for word, rel, flo in vol_states:
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
    )


def scenario_arrays(grid: SpanGrid | ExchangeGrid) -> ScenarioArrays:
    """The scenarios of ``grid`` as kernel-ready arrays.

    Parameters
    ----------
    grid : SpanGrid or ExchangeGrid
        A validated grid section of a parameter set.

    Returns
    -------
    ScenarioArrays
        SPAN: 16 scenarios (or the grid's explicit scan points) in CME order.
        Exchange: ``3 x (2n + 1)`` standard cells (price-major; vol up,
        unchanged, down) followed by the extended moves.
    """
    if isinstance(grid, SpanGrid):
        return _span_arrays(grid)
    if isinstance(grid, ExchangeGrid):
        return _exchange_arrays(grid)
    raise TypeError(f"unsupported grid type {type(grid).__name__}")


def vol_term_scale(grid: SpanGrid | ExchangeGrid, days_to_expiry: ArrayLike) -> NDArray[np.float64]:
    """Per-contract multiplier of the relative vol shocks.

    Parameters
    ----------
    grid : SpanGrid or ExchangeGrid
    days_to_expiry : array_like, shape (n,)
        Calendar days to expiry, >= 0 (0 for perpetuals).

    Returns
    -------
    ndarray, shape (n,)
        SPAN grids: ones. Exchange grids:
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
    if isinstance(grid, SpanGrid):
        return np.ones_like(dte)
    power = np.where(dte < grid.term_pivot_days, grid.short_power, grid.long_power)
    return (grid.term_pivot_days / np.maximum(dte, grid.dte_floor_days)) ** power
