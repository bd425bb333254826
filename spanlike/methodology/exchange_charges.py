"""Exchange-style (Deribit-like) charges of one combined commodity (methodology 2.2 and 4).

* A scenario's loss after gains offset: a gain (``L_j < 0``) counts at
  ``pnl_offset x L_j``, and at most ``max_offsetable_pnl`` of gain is credited.
* Dampener [our choice]: an extended cell's loss counts only where its USD
  value exceeds ``extended_dampener``; smaller extended losses count as 0.
* Worst case ``= max(0, max_j L'_j)``.
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

from spanlike.risk_arrays._numba import njit_inline

__all__ = ["offset_loss", "dampened_loss", "roll_move", "delta_shock", "exchange_requirement"]


@njit_inline
def offset_loss(loss, pnl_offset, has_cap, max_offsetable):  # type: ignore[no-untyped-def]
    """A scenario loss with gains scaled by ``pnl_offset`` and capped at ``max_offsetable`` (if ``has_cap``)."""
    x = loss * pnl_offset if loss < 0.0 else loss
    if has_cap:
        x = max(x, -max_offsetable)
    return x


@njit_inline
def dampened_loss(loss, is_extended, usd_per_unit, dampener):  # type: ignore[no-untyped-def]
    """An extended cell's loss of at most ``dampener`` USD counts as 0 (no dampener when it is 0)."""
    if dampener > 0.0 and is_extended and loss > 0.0 and loss * usd_per_unit <= dampener:
        return 0.0
    return loss


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
