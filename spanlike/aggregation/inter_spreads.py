"""Inter-commodity spread credits (methodology section 3, CME pubspan "Inter Spreads").

Each combined commodity offers its net composite delta left after intra
spreads, as far as it points the way the commodity's scenario losses do
(:func:`spanlike.methodology.direction.offsetting_delta`: a short-gamma book
whose delta is negative but which loses on falls offers none). Its weighted futures price risk is ``WFPR = price_risk / |net delta|``
(price risk from the paired-scenario decomposition, net delta over all its
contracts). Spreads form in priority order between commodities whose deltas
have opposite signs on sides A and B (:mod:`spread_forming`); each leg
receives ``delta consumed x WFPR x credit_rate``, so the credits of a
commodity never exceed its price risk.

Delta basis: ``"underlying"`` counts deltas in coins, ``"notional_usd"``
in USD (delta x index price) so that one BTC-delta and 30 ETH-delta of equal
value form one spread [our choice for crypto]. The credit amount depends only
on the delta consumed, in either basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from spanlike.params.cross import InterSpread
from spanlike.aggregation.spread_forming import SpreadLegs, form_spreads
from spanlike.methodology.span_charges import capped_credit, inter_credit_amount
from spanlike.results import SpreadFormed

__all__ = ["InterSpreadInput", "inter_spread_credits"]


@dataclass(frozen=True)
class InterSpreadInput:
    """What one combined commodity brings to inter-commodity spreading.

    Attributes
    ----------
    name : str
    available_delta : float
        Net delta left after intra spreads that the commodity's direction
        lets it offer (:func:`~spanlike.methodology.direction.offsetting_delta`),
        underlying units.
    net_delta : float
        Net delta of the whole commodity, underlying units (WFPR denominator).
    price_risk : float
        Price risk, settlement currency (>= 0 counts; negative gives no credit).
    index_price : float
        USD per unit of underlying, for the notional basis.
    """

    name: str
    available_delta: float
    net_delta: float
    price_risk: float
    index_price: float


def inter_spread_credits(
    *, inputs: Sequence[InterSpreadInput], spreads: Sequence[InterSpread]
) -> dict[str, tuple[float, tuple[SpreadFormed, ...]]]:
    """Credit per combined commodity (settlement currency) and the spreads formed.

    Returns
    -------
    dict
        ``name -> (credit, spreads)`` for every input, credit >= 0.
    """
    by_name = {c.name: i for i, c in enumerate(inputs)}
    remaining = np.array([c.available_delta for c in inputs], dtype=np.float64)
    credit = {c.name: 0.0 for c in inputs}
    formed_by_name: dict[str, list[SpreadFormed]] = {c.name: [] for c in inputs}
    for spread in sorted(spreads, key=lambda s: s.priority):
        if any(leg.combined_commodity not in by_name for leg in spread.legs):
            continue
        idx = [by_name[leg.combined_commodity] for leg in spread.legs]
        scale = np.array(
            [inputs[i].index_price if spread.delta_basis == "notional_usd" else 1.0 for i in idx]
        )
        local = remaining[idx] * scale
        legs = SpreadLegs(
            buckets=tuple(range(len(idx))),
            ratios=tuple(leg.delta_ratio for leg in spread.legs),
            sides=tuple(1 if leg.side == "A" else -1 for leg in spread.legs),
        )
        formed, after = form_spreads(deltas=local, spreads=[legs])
        if not formed:
            continue
        f = formed[0]
        remaining[idx] = after / scale
        leg_names = tuple(f"{leg.combined_commodity} ({leg.side})" for leg in spread.legs)
        for k, i in enumerate(idx):
            c = inputs[i]
            consumed_underlying = f.consumed[k] / scale[k]
            amount = float(inter_credit_amount.py_func(consumed_underlying, c.price_risk, c.net_delta,
                                                       spread.credit_rate))
            credit[c.name] += amount
            formed_by_name[c.name].append(
                SpreadFormed(kind="inter", name=spread.name, priority=spread.priority, legs=leg_names,
                             count=f.count, amount=amount,
                             count_unit="usd" if spread.delta_basis == "notional_usd" else "")
            )
    return {
        name: (float(capped_credit.py_func(credit[name], inputs[by_name[name]].price_risk)), tuple(formed_by_name[name]))
        for name in credit
    }
