"""Exchange-style (Deribit-like) charges of one combined commodity (methodology 2.2 and 4).

* A scenario's loss after gains offset: a gain (``L_j < 0``) counts at
  ``pnl_offset x L_j``, and at most ``max_offsetable_pnl`` of gain is credited.
* Extended cells [inferred from Deribit's examples]: a gain counts 0 (no
  ``pnl_offset``), and a loss counts only where its USD value exceeds
  ``extended_dampener`` (the threshold is our choice; smaller extended losses
  count as 0).
* Futures and perpetuals in extended cells: the edge cell of the standard
  grid, whole (``futures_extended = "unscaled"``, Deribit) or times the
  cell's weight (``"scaled"``); a coin-settled future's cell is
  ``-(m / (1 + m))`` per coin, in that floating-point order (Deribit's).
* Worst case ``= max(0, max_j L'_j)``; the worst cell is the first largest,
  moved to the middle (vol unchanged) scenario of its price bucket where
  that one ties (Deribit reports ``index = 3 x bucket + 1``).
* Rounding (``round_decimals``, applied by Deribit's layout, spanlike.venues.deribit.simulate):
  the worst case rounded half up to ``d``
  decimals before the shocks are added, and initial margin to ``d`` decimals.
* Roll shock move of an expiry: ``max(min_annualised_move,
  annualised_move_risk x T)``, charged on the |delta| of the expiry's futures
  and perpetuals [our choice: options' delta is not shocked].
* Delta shock [our choice] ``= rate x max(0, |net delta x index| - threshold)``
  USD, in the settlement currency.
* Requirement (risk-matrix margin) ``= worst case + roll shock + delta shock``.

Written once for every driver: the engine calls these functions, the batch
kernels inline them.
"""

from __future__ import annotations

import math

from spanlike.risk_arrays._numba import njit_inline

__all__ = [
    "offset_loss", "dampened_loss", "roll_move", "delta_shock", "exchange_requirement", "middle_vol_on_tie",
    "round_half_up", "inverse_future_cell", "VOL_STATES",
]

#: Vol states per price point of an exchange grid (up, unchanged, down), in that order.
VOL_STATES = 3


@njit_inline
def offset_loss(loss, pnl_offset, has_cap, max_offsetable):  # type: ignore[no-untyped-def]
    """A scenario loss with gains scaled by ``pnl_offset`` and capped at ``max_offsetable`` (if ``has_cap``)."""
    x = loss * pnl_offset if loss < 0.0 else loss
    if has_cap:
        x = max(x, -max_offsetable)
    return x


@njit_inline
def dampened_loss(loss, is_extended, usd_per_unit, dampener):  # type: ignore[no-untyped-def]
    """An extended cell counts no gain, and no loss of at most ``dampener`` USD (standard cells unchanged)."""
    if not is_extended:
        return loss
    if loss <= 0.0:
        return 0.0
    if dampener > 0.0 and loss * usd_per_unit <= dampener:
        return 0.0
    return loss


@njit_inline
def middle_vol_on_tie(losses, worst):  # type: ignore[no-untyped-def]
    """The middle (vol unchanged) cell of standard cell ``worst``'s price bucket if it ties, else ``worst``."""
    middle = (worst // VOL_STATES) * VOL_STATES + VOL_STATES // 2
    if losses[middle] == losses[worst]:
        return middle
    return worst


@njit_inline
def round_half_up(x, decimals):  # type: ignore[no-untyped-def]
    """``x`` rounded half up to ``decimals`` decimals (``decimals < 0``: unrounded); same bits compiled or not."""
    if decimals < 0:
        return x
    scale = 10.0 ** decimals
    return math.floor(x * scale + 0.5) / scale


@njit_inline
def inverse_future_cell(move, multiplier):  # type: ignore[no-untyped-def]
    """Loss of one long coin-settled future under a relative move, coin: ``-(m / (1 + m)) x mult``."""
    return -(move / (1.0 + move)) * multiplier


@njit_inline
def roll_move(min_annualised_move, annualised_move_risk, t_years):  # type: ignore[no-untyped-def]
    """Roll-shock move per unit of an expiry's futures delta (a fraction of the underlying)."""
    return max(min_annualised_move, annualised_move_risk * t_years)


@njit_inline
def delta_shock(net_delta, index_price, threshold_usd, rate, usd_per_unit):  # type: ignore[no-untyped-def]
    """Charge on net delta beyond a USD threshold, settlement currency."""
    excess_usd = max(0.0, abs(net_delta) * index_price - threshold_usd)
    return rate * excess_usd / usd_per_unit


@njit_inline
def exchange_requirement(worst_case, roll_shock, delta_shock_charge):  # type: ignore[no-untyped-def]
    """Risk-matrix margin: worst case + roll shock + delta shock (settlement currency)."""
    return worst_case + roll_shock + delta_shock_charge
