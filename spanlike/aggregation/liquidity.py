"""Liquidity/concentration add-on of one combined commodity (formulas in :mod:`spanlike.params.liquidity`).

Per instrument group ``g`` (futures and perpetuals; options) with liquidity
value ``L_g`` and size ``q_g`` in underlying units, index price ``P`` (USD):

* ladder: ``charge_usd = P x sum_k rate_k x max(0, q_g - above_k x L_g)``;
* square root: ``charge_usd = k x P x q_g x sqrt(q_g / L_g)``;

summed over groups and divided by ``usd_per_unit`` (the index price for coin
commodities, 1 for USD stablecoins) to give the settlement currency.
"""

from __future__ import annotations

import math

import numpy as np

from spanlike.params.liquidity import LiquidityCharge, SizeLadder, SquareRootImpact
from spanlike.aggregation.commodity_book import CommodityBook

__all__ = ["group_size", "liquidity_charge_usd", "liquidity_charge"]


def group_size(book: CommodityBook, spec: LiquidityCharge, *, options: bool) -> float:
    """Size of the option or the futures group of ``book``, underlying units (>= 0).

    ``net_delta``: ``|sum q_i delta_i|`` (composite deltas); ``gross``:
    ``sum |q_i| x multiplier_i``.
    """
    rows = book.is_option if options else ~book.is_option
    if not rows.any():
        return 0.0
    if spec.size == "net_delta":
        return abs(math.fsum((book.quantity[rows] * book.composite_delta[rows]).tolist()))
    return math.fsum((np.abs(book.quantity[rows]) * book.multiplier[rows]).tolist())


def liquidity_charge_usd(*, size: float, liquidity: float, price: float, charge: SizeLadder | SquareRootImpact) -> float:
    """Charge of one group in USD.

    Parameters
    ----------
    size : float
        ``q_g``, underlying units, >= 0.
    liquidity : float
        ``L_g``, underlying units (per day for ADV), > 0.
    price : float
        Index price ``P``, USD per unit of underlying.
    charge : SizeLadder or SquareRootImpact

    Returns
    -------
    float
        USD, >= 0; 0 for a zero size.
    """
    if size <= 0.0:
        return 0.0
    if isinstance(charge, SquareRootImpact):
        return charge.k * price * size * math.sqrt(size / liquidity)
    return price * math.fsum(step.rate * max(0.0, size - step.above * liquidity) for step in charge.steps)


def liquidity_charge(book: CommodityBook) -> float:
    """The commodity's liquidity charge in its settlement currency (0 without a liquidity section)."""
    spec = book.commodity.liquidity
    if spec is None:
        return 0.0
    total_usd = 0.0
    for options, liquidity in ((False, spec.futures), (True, spec.options)):
        if liquidity is None:
            continue  # the set charges only the groups it gives a liquidity value for
        size = group_size(book, spec, options=options)
        total_usd += liquidity_charge_usd(size=size, liquidity=liquidity, price=book.index_price, charge=spec.charge)
    return total_usd / book.usd_per_unit
