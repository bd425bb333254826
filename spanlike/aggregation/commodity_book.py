"""One account's positions in one combined commodity, as arrays.

Built by the engine from the revalued universe; every aggregation step of a
combined commodity reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spanlike.params.parameter_set import CombinedCommodity
from spanlike.risk_arrays.scenarios import ScenarioArrays

__all__ = ["CommodityBook"]


@dataclass(frozen=True, eq=False)
class CommodityBook:
    """Positions of one account in one combined commodity (``k`` rows).

    Attributes
    ----------
    commodity : CombinedCommodity
    scenarios : ScenarioArrays
    names : tuple of str, length k
    quantity : ndarray, shape (k,)
        Net quantity in contract units, non-zero.
    risk_arrays : ndarray, shape (k, m)
        Loss of one long unit per scenario, settlement currency, weighted.
    composite_delta : ndarray, shape (k,)
        Delta of one long unit in underlying units (coin).
    tier : ndarray of int, shape (k,)
        Intra-spread tier number per row (0 where the commodity has no tiers).
    in_delivery : ndarray of bool, shape (k,)
        Row expires within the delivery window (never a perpetual).
    is_option, is_call : ndarray of bool, shape (k,)
    multiplier : ndarray, shape (k,)
        Underlying units per unit of quantity.
    mark_value : ndarray, shape (k,)
        Current value of one unit, settlement currency (0 for futures).
    t_years, days_to_expiry : ndarray, shape (k,)
        Time to expiry (0 for perpetuals).
    index_price : float
        USD index price of the underlying.
    unit_value : float
        Value of one unit of underlying in the settlement currency: 1.0 coin
        for coin-settled commodities, the index price for linear ones.
    usd_per_unit : float
        USD per unit of settlement currency: the index price for coin, 1.0 for
        a USD stablecoin.
    """

    commodity: CombinedCommodity
    scenarios: ScenarioArrays
    names: tuple[str, ...]
    quantity: NDArray[np.float64]
    risk_arrays: NDArray[np.float64]
    composite_delta: NDArray[np.float64]
    tier: NDArray[np.int64]
    in_delivery: NDArray[np.bool_]
    is_option: NDArray[np.bool_]
    is_call: NDArray[np.bool_]
    multiplier: NDArray[np.float64]
    mark_value: NDArray[np.float64]
    t_years: NDArray[np.float64]
    days_to_expiry: NDArray[np.float64]
    index_price: float
    unit_value: float
    usd_per_unit: float

    def scenario_losses(self) -> NDArray[np.float64]:
        """Portfolio loss per scenario, ``sum_i q_i R[i, j]``, settlement currency.

        Products are formed first and summed without fused multiply-adds (BLAS
        ``q @ R`` may fuse), so a long and a short of one array cancel exactly.
        """
        return (self.quantity[:, None] * self.risk_arrays).sum(axis=0)

    def net_delta(self) -> float:
        """Net composite delta, underlying units."""
        return float((self.quantity * self.composite_delta).sum())

    def rate_value(self, rate: float, rate_kind: str) -> float:
        """A charge rate per unit of delta (or per option) in the settlement currency."""
        return rate * self.unit_value if rate_kind == "relative" else rate
