"""Exchange-style (Deribit-like) margin of one combined commodity (methodology 2.2 and 4).

* The portfolio vector ``L = q @ R`` (standard cells, then the extended cells
  already weighted by ``price_range / |move|``).
* Gains offset: a cell with a gain (``L_j < 0``) counts at ``pnl_offset x L_j``,
  and the credited gain is at most ``max_offsetable_pnl``.
* Dampener [our choice]: an extended cell's loss counts only where its USD
  value exceeds ``extended_dampener``; smaller extended losses count as 0.
* Worst case ``= max(0, max_j L'_j)``.
* Roll shock ``= sum over expiries |delta_e| x max(min_annualised_move,
  annualised_move_risk x T_e)`` in underlying units, times the value of one
  unit in the settlement currency; a perpetual is its own expiry with T = 0.
  ``delta_e`` is the delta of the expiry's futures (and perpetuals) only
  [our choice: Deribit's published examples hold futures alone, so whether
  options' delta is shocked is not published; shocking it would let a long
  option need more margin than its premium, which it can never lose].
* Delta shock [our choice] ``= rate x max(0, |net delta x index| - threshold)``
  USD, converted to the settlement currency.
* Risk-matrix margin ``= worst case + roll shock + delta shock``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spanlike.params.charges import ExchangeAddOns
from spanlike.params.grids import ExchangeGrid
from spanlike.aggregation.commodity_book import CommodityBook

__all__ = ["ExchangeResult", "exchange_margin", "offset_gains", "roll_shock", "delta_shock"]


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
        return self.worst_case + self.roll_shock + self.delta_shock


def offset_gains(
    losses: NDArray[np.float64], *, pnl_offset: float, max_offsetable_pnl: float | None
) -> NDArray[np.float64]:
    """Scale gains (negative losses) by ``pnl_offset``, crediting at most ``max_offsetable_pnl``."""
    out = np.where(losses < 0.0, losses * pnl_offset, losses)
    if max_offsetable_pnl is not None:
        out = np.maximum(out, -max_offsetable_pnl)
    return out


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
        move = max(spec.min_annualised_move, spec.annualised_move_risk * t_years)
        total += abs(float(delta_by_row[rows].sum())) * move
    return total * book.unit_value


def delta_shock(book: CommodityBook, addons: ExchangeAddOns) -> float:
    """Charge on net delta beyond a USD threshold, settlement currency [our choice]."""
    spec = addons.delta_shock
    if spec is None:
        return 0.0
    delta_usd = abs(book.net_delta()) * book.index_price
    excess_usd = max(0.0, delta_usd - spec.threshold_usd)
    return spec.rate * excess_usd / book.usd_per_unit


def exchange_margin(book: CommodityBook, grid: ExchangeGrid, addons: ExchangeAddOns) -> ExchangeResult:
    """Risk-matrix margin of one combined commodity on an exchange-style grid."""
    raw = book.scenario_losses()
    losses = offset_gains(raw, pnl_offset=addons.pnl_offset, max_offsetable_pnl=addons.max_offsetable_pnl)
    if grid.extended_dampener > 0.0:
        small = book.scenarios.is_extended & (losses * book.usd_per_unit <= grid.extended_dampener)
        losses = np.where(small & (losses > 0.0), 0.0, losses)
    worst = int(np.argmax(losses))
    worst_case = max(0.0, float(losses[worst]))
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
