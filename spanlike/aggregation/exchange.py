"""Exchange-style (Deribit-like) margin of one combined commodity, applied to a :class:`CommodityBook`.

This module gathers what the rules need from a book (the loss vector ``q @ R``
with extended cells already weighted, futures delta per expiry, net delta)
and calls them. Futures' and perpetuals' cells are first rewritten by
:func:`exchange_risk_arrays` (coin-settled futures by Deribit's formula; the
edge value, whole or weighted, in the extended cells), which the batch
packing calls as well; the rules (gains offset, dampener, roll and delta shock, the
risk-matrix margin) live once in :mod:`spanlike.methodology.exchange_charges`
(methodology 2.2 and 4). The directional component for correlation offsets
is the worst loss over the standard vol-unchanged cells [our choice].
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from spanlike.params.charges import ExchangeAddOns
from spanlike.params.grids import ExchangeGrid
from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.aggregation.liquidity import liquidity_charge
from spanlike.aggregation.methods import BATCH_EXCHANGE, CommodityStage, MarginMethod, register_method
from spanlike.params.parameter_set import ParameterSet
from spanlike.results import ExchangeComponents
from spanlike.methodology.exchange_charges import (
    VOL_STATES, dampened_loss, exchange_requirement, inverse_future_cell, middle_vol_on_tie, offset_loss, roll_move,
)
from spanlike.methodology.exchange_charges import delta_shock as delta_shock_rule
from spanlike.methodology.scan import worst_scenario
from spanlike.risk_arrays.scenarios import ScenarioArrays

__all__ = ["ExchangeResult", "exchange_margin", "exchange_risk_arrays", "offset_gains", "roll_shock", "delta_shock"]


@dataclass(frozen=True)
class ExchangeResult:
    """Components of the exchange-style path, settlement currency."""

    raw_losses: NDArray[np.float64]
    losses: NDArray[np.float64]
    worst: int
    worst_case: float
    price_risk: float
    roll_shock: float
    delta_shock: float

    @property
    def risk_matrix_margin(self) -> float:
        """Worst case + roll shock + delta shock."""
        return float(exchange_requirement.py_func(self.worst_case, self.roll_shock, self.delta_shock))


def exchange_risk_arrays(
    risk_arrays: NDArray[np.float64],
    *,
    is_option: NDArray[np.bool_],
    multiplier: NDArray[np.float64],
    coin_settled: bool,
    grid: ExchangeGrid,
    scenarios: ScenarioArrays,
) -> NDArray[np.float64]:
    """Risk arrays with futures' and perpetuals' cells as the exchange-style method counts them.

    Parameters
    ----------
    risk_arrays : ndarray, shape (k, m)
        Loss of one long unit per scenario from the revaluation (loss positive,
        settlement currency); options' rows are returned unchanged.
    is_option : ndarray of bool, shape (k,)
    multiplier : ndarray, shape (k,)
        Underlying units per unit of quantity.
    coin_settled : bool
        The commodity settles in coin (its futures are inverse).
    grid : ExchangeGrid
    scenarios : ScenarioArrays
        The grid's scenarios (``price_move_future`` is the edge move in extended cells).

    Returns
    -------
    ndarray, shape (k, m)
        A new array. Coin-settled futures: every cell ``-(m / (1 + m)) x mult``
        (Deribit's order of operations, methodology 2.2), linear futures: the
        revaluation's cells; in extended cells the edge value times the cell's
        weight (``futures_extended = "scaled"``) or whole (``"unscaled"``).
    """
    out = np.array(risk_arrays, dtype=np.float64, copy=True)
    futures = np.flatnonzero(~np.asarray(is_option, dtype=bool))
    if futures.size == 0:
        return out
    moves = np.asarray(scenarios.price_move_future, dtype=np.float64)
    extended = np.asarray(scenarios.is_extended, dtype=bool)
    weight = np.where(extended & (grid.futures_extended == "scaled"), scenarios.weight, 1.0)
    n_standard = VOL_STATES * (2 * grid.buckets_count + 1)
    # The standard cell at the grid's edge (vol up) that each extended cell's future moves to.
    edge = np.where(moves < 0.0, 0, n_standard - VOL_STATES)
    for i in futures:
        if coin_settled:
            cells = inverse_future_cell.py_func(moves, float(multiplier[i]))
        else:
            cells = np.where(extended, out[i, edge], out[i])
        out[i] = cells * weight
    return out


def offset_gains(
    losses: NDArray[np.float64], *, pnl_offset: float, max_offsetable_pnl: float | None
) -> NDArray[np.float64]:
    """Scale gains (negative losses) by ``pnl_offset``, crediting at most ``max_offsetable_pnl``."""
    has_cap = max_offsetable_pnl is not None
    cap = max_offsetable_pnl if has_cap else 0.0
    return np.array([offset_loss.py_func(float(x), pnl_offset, has_cap, cap) for x in losses])


def roll_shock(book: CommodityBook, addons: ExchangeAddOns) -> float:
    """Basis/roll charge over expiries, settlement currency (see module docstring)."""
    spec = addons.roll_shock
    if spec is None:
        return 0.0
    # Futures and perpetuals only (module notes); zeros in place keep the sums' order.
    delta_by_row = np.where(book.is_option, 0.0, book.quantity * book.composite_delta)
    total = 0.0
    for days in np.unique(book.days_to_expiry):
        rows = book.days_to_expiry == days
        t_years = float(book.t_years[rows][0])
        move = roll_move.py_func(spec.min_annualised_move, spec.annualised_move_risk, t_years)
        total += abs(float(delta_by_row[rows].sum())) * move
    return total * book.unit_value


def delta_shock(book: CommodityBook, addons: ExchangeAddOns) -> float:
    """Charge on net delta beyond a USD threshold, settlement currency [our choice]."""
    spec = addons.delta_shock
    if spec is None:
        return 0.0
    return float(delta_shock_rule.py_func(book.net_delta(), book.index_price, spec.threshold_usd, spec.rate,
                                          book.usd_per_unit))


def exchange_book(book: CommodityBook, grid: ExchangeGrid) -> CommodityBook:
    """``book`` with its futures' cells as the exchange-style method counts them (:func:`exchange_risk_arrays`)."""
    arrays = exchange_risk_arrays(book.risk_arrays, is_option=book.is_option, multiplier=book.multiplier,
                                  coin_settled=book.commodity.settlement == "coin", grid=grid,
                                  scenarios=book.scenarios)
    return replace(book, risk_arrays=arrays)


def exchange_margin(book: CommodityBook, grid: ExchangeGrid, addons: ExchangeAddOns) -> ExchangeResult:
    """Risk-matrix margin of one combined commodity on an exchange-style grid.

    ``book`` must hold the exchange-style cells already (:func:`exchange_book`).
    """
    raw = book.scenario_losses()
    losses = offset_gains(raw, pnl_offset=addons.pnl_offset, max_offsetable_pnl=addons.offset_cap(book.usd_per_unit))
    losses = np.array([
        dampened_loss.py_func(float(x), bool(ext), book.usd_per_unit, grid.extended_dampener)
        for x, ext in zip(losses, book.scenarios.is_extended)
    ])
    worst, best = worst_scenario.py_func(losses, losses.shape[0])
    worst = int(worst)
    if not book.scenarios.is_extended[worst]:
        # Deribit reports the middle vol scenario of the worst price bucket where the vol scenarios tie.
        worst = int(middle_vol_on_tie.py_func(losses, worst))
    worst_case = max(0.0, float(best))
    # Directional component for correlation offsets [our choice]: the worst loss over
    # the standard vol-unchanged cells, i.e. price moves alone.
    pure_price = ~book.scenarios.is_extended & (book.scenarios.vol_shift_rel == 0.0) & (
        book.scenarios.vol_shift_abs == 0.0
    )
    price_risk = max(0.0, float(losses[pure_price].max())) if pure_price.any() else worst_case
    return ExchangeResult(
        raw_losses=raw,
        losses=losses,
        worst=worst,
        worst_case=worst_case,
        price_risk=min(price_risk, worst_case),
        roll_shock=roll_shock(book, addons),
        delta_shock=delta_shock(book, addons),
    )


# --- the exchange-style method --------------------------------------------------------------------


def exchange_stage(book: CommodityBook, parameter_set: ParameterSet) -> CommodityStage:
    """Exchange style over one commodity's book: worst case, roll shock, delta shock (no inter credits)."""
    grid = book.commodity.grid
    addons = book.commodity.exchange
    assert isinstance(grid, ExchangeGrid) and addons is not None
    book = exchange_book(book, grid)
    res = exchange_margin(book, grid, addons)
    liquidity = liquidity_charge(book)

    def finish(credit: float) -> tuple[ExchangeComponents, float]:
        record = ExchangeComponents(scan_risk=res.worst_case, price_risk=res.price_risk, roll_shock=res.roll_shock,
                                    delta_shock=res.delta_shock, liquidity_charge=liquidity)
        return record, res.risk_matrix_margin + liquidity

    return CommodityStage(
        book=book, raw_losses=res.raw_losses, losses=res.losses, worst=res.worst, price_risk=res.price_risk,
        net_option_value=0.0, available_delta=0.0, spreads=(), finish=finish,
    )


def _exchange_requirement_with(c: ExchangeComponents, short_value: float, on: frozenset[str]) -> float:
    """The exchange-style requirement with only the components in ``on`` switched on (savings attribution)."""
    total = c.scan_risk
    if "roll_shock" in on:
        total += c.roll_shock
    if "delta_shock" in on:
        total += c.delta_shock
    return total + (c.liquidity_charge if "liquidity" in on else 0.0)


EXCHANGE = register_method(MarginMethod(
    name="exchange",
    description="exchange style (Deribit-like): worst case over a term-scaled grid, roll and delta shock "
                "(methodology 2.2, 4)",
    stage=exchange_stage,
    takes_inter_credit=False,
    scan_label="scan risk",
    report_rows=(("roll_shock", "roll shock"), ("delta_shock", "delta shock")),
    requirement_with=_exchange_requirement_with,
    batch_code=BATCH_EXCHANGE,
))
